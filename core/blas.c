#include "blas.h"

#include <cblas.h>

/* A product with one row (a batch of one through a dense layer) or one column is a
 * matrix-vector product: OpenBLAS 0.3.21 would still pack the whole matrix for its gemm kernel
 * on every call (for LeNet-5's C5, 48,000 floats, three times per training step), so such
 * calls go to cblas_sgemv, as OpenBLAS itself does from 0.3.28 on. K = 0 stays with sgemm,
 * whose C = beta C the gemv's quick return would skip. */
static int as_gemv(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a,
                   int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
    if (k == 0)
        return 0;
    if (m == 1) { /* c[1][n] = op(a)[1][k] op(b)[k][n]: c = op(b)^T a */
        int inc_a = trans_a ? lda : 1;
        if (trans_b) /* b is [n][k] */
            cblas_sgemv(CblasRowMajor, CblasNoTrans, n, k, alpha, b, ldb, a, inc_a, beta, c, 1);
        else /* b is [k][n] */
            cblas_sgemv(CblasRowMajor, CblasTrans, k, n, alpha, b, ldb, a, inc_a, beta, c, 1);
        return 1;
    }
    if (n == 1) { /* c[m][1] = op(a)[m][k] op(b)[k][1] */
        int inc_b = trans_b ? 1 : ldb;
        if (trans_a) /* a is [k][m] */
            cblas_sgemv(CblasRowMajor, CblasTrans, k, m, alpha, a, lda, b, inc_b, beta, c, ldc);
        else /* a is [m][k] */
            cblas_sgemv(CblasRowMajor, CblasNoTrans, m, k, alpha, a, lda, b, inc_b, beta, c,
                        ldc);
        return 1;
    }
    return 0;
}

void nn_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a,
              int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
    if (m == 0 || n == 0)
        return;
    if (as_gemv(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc))
        return;
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c,
                ldc);
}

void nn_blas_set_threads(int threads) { openblas_set_num_threads(threads < 1 ? 1 : threads); }

int nn_blas_get_threads(void) { return openblas_get_num_threads(); }
