#include "blas.h"

#include <cblas.h>
#include <string.h>

/* Clears the m x n block of C (row-major, leading dimension ldc). */
static void clear(float *c, int m, int n, int ldc)
{
    if (ldc == n) {
        memset(c, 0, sizeof(float) * (size_t)m * (size_t)n);
        return;
    }
    for (int i = 0; i < m; i++)
        memset(c + (size_t)i * ldc, 0, sizeof(float) * (size_t)n);
}

/* Products with few rows go to cblas_sgemv, one call per row of C: OpenBLAS 0.3.21 packs both
 * whole operands for its gemm kernel on every call, which for a batch of one through a dense
 * layer (LeNet-5's C5: 48,000 floats, three times per training step) or for C1's weight
 * gradient of one image (6 x 25 from K = 784) costs more than the product (OpenBLAS itself
 * forwards one-row products to gemv from 0.3.28 on). Measured on LeNet's shapes (docs/
 * performance.md): one row 4-8x faster, up to 8 rows as fast or faster while op(B) stays
 * within about 512 KB (the L2 cache), which the gemv calls then read once each. One column
 * likewise. K = 0 stays with sgemm, whose C = beta C a gemv's quick return would skip. */
enum { GEMV_MAX_ROWS = 8, GEMV_MAX_B = 1 << 17 /* floats */ };

static int as_gemv(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a,
                   int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
    if (k == 0)
        return 0;
    if (n == 1) { /* c[m][1] = op(a)[m][k] op(b)[k][1] */
        int inc_b = trans_b ? 1 : ldb;
        if (trans_a) /* a is [k][m] */
            cblas_sgemv(CblasRowMajor, CblasTrans, k, m, alpha, a, lda, b, inc_b, beta, c, ldc);
        else /* a is [m][k] */
            cblas_sgemv(CblasRowMajor, CblasNoTrans, m, k, alpha, a, lda, b, inc_b, beta, c,
                        ldc);
        return 1;
    }
    /* op(B) larger than the cache is read m times by the gemvs but packed once by the gemm,
     * which wins then, unless C is tiny (C1's weight gradient at 16 images, 6 x 25 from
     * K = 12,544: 330-400 us as six gemvs, 455-650 us as one gemm) */
    int fits = (size_t)n * (size_t)k <= GEMV_MAX_B || (n <= 32 && m <= 6);
    if (m > GEMV_MAX_ROWS || (m > 1 && !fits))
        return 0;
    /* row i of c = op(b)^T (row i of op(a)) */
    int inc_a = trans_a ? lda : 1;
    for (int i = 0; i < m; i++) {
        const float *ai = trans_a ? a + i : a + (size_t)i * lda;
        float *ci = c + (size_t)i * ldc;
        if (trans_b) /* b is [n][k] */
            cblas_sgemv(CblasRowMajor, CblasNoTrans, n, k, alpha, b, ldb, ai, inc_a, beta, ci,
                        1);
        else /* b is [k][n] */
            cblas_sgemv(CblasRowMajor, CblasTrans, k, n, alpha, b, ldb, ai, inc_a, beta, ci, 1);
    }
    return 1;
}

void nn_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a,
              int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
    if (m == 0 || n == 0)
        return;
    /* With beta = 0, OpenBLAS 0.3.21 first clears C in a loop of its own (sgemm_beta) that
     * costs more than the product for LeNet's shapes (C3's input gradient at 16 images: 233 us
     * against 150 us with beta = 1); memset does the same clearing faster, and the product is
     * then added to zeros, as it would have been. (A gemv with beta = 0 also stays clear of
     * 0 * NaN this way.) K = 0 keeps beta for sgemm's C = beta C. */
    if (beta == 0.0f && k > 0) {
        clear(c, m, n, ldc);
        beta = 1.0f;
    }
    if (as_gemv(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc))
        return;
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c,
                ldc);
}

void nn_blas_set_threads(int threads) { openblas_set_num_threads(threads < 1 ? 1 : threads); }

int nn_blas_get_threads(void) { return openblas_get_num_threads(); }
