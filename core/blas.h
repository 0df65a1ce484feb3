/* The one wrapper over cblas_sgemm (row-major), and the BLAS thread knob. */
#ifndef NN_BLAS_H
#define NN_BLAS_H

#ifdef __cplusplus
extern "C" {
#endif

/* C[M x N] = alpha * op(A)[M x K] * op(B)[K x N] + beta * C, all row-major. */
void nn_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a,
              int lda, const float *b, int ldb, float beta, float *c, int ldc);

/* Number of threads OpenBLAS may use (1 = serial). */
void nn_blas_set_threads(int threads);
int nn_blas_get_threads(void);

#ifdef __cplusplus
}
#endif
#endif
