#include "blas.h"

#include <cblas.h>

void nn_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a,
              int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
    if (m == 0 || n == 0)
        return;
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c,
                ldc);
}

void nn_blas_set_threads(int threads) { openblas_set_num_threads(threads < 1 ? 1 : threads); }

int nn_blas_get_threads(void) { return openblas_get_num_threads(); }
