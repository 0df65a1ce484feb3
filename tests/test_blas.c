/* nn_sgemm against a plain triple loop in double, for every transpose pair, including the
 * products of up to 8 rows and of one column it hands to cblas_sgemv, padded leading
 * dimensions, K = 0 (C = beta C) and beta = 0 over a C full of NaN (which must not leak). */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "blas.h"

static float value(int i, int salt) { return (float)((i * 37 + salt * 11) % 23) / 8.0f - 1.4f; }

/* element (r, c) of op(x), x stored row-major with leading dimension ld */
static float at(const float *x, int trans, int ld, int r, int c)
{
    return trans ? x[(size_t)c * ld + r] : x[(size_t)r * ld + c];
}

static void check(int ta, int tb, int m, int n, int k, float alpha, float beta, int nan_c)
{
    enum { PAD = 3 };
    int lda = (ta ? m : k) + PAD, ldb = (tb ? k : n) + PAD, ldc = n + PAD;
    int rows_a = ta ? k : m, rows_b = tb ? n : k;
    float a[64 * 64], b[64 * 64], c[64 * 64], want[64 * 64];
    cr_assert(rows_a * lda <= 64 * 64 && rows_b * ldb <= 64 * 64 && m * ldc <= 64 * 64);
    for (int i = 0; i < 64 * 64; i++) {
        a[i] = value(i, 1);
        b[i] = value(i, 2);
        c[i] = nan_c ? NAN : value(i, 3);
    }
    for (int r = 0; r < m; r++)
        for (int col = 0; col < n; col++) {
            double s = 0;
            for (int j = 0; j < k; j++)
                s += (double)at(a, ta, lda, r, j) * at(b, tb, ldb, j, col);
            double old = beta == 0 ? 0 : (double)beta * c[(size_t)r * ldc + col];
            want[(size_t)r * ldc + col] = (float)(alpha * s + old);
        }
    float before[64 * 64];
    memcpy(before, c, sizeof c);
    nn_sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    for (int r = 0; r < m; r++)
        for (int col = 0; col < ldc; col++) {
            size_t i = (size_t)r * ldc + col;
            if (col >= n) { /* the padding of C is never written */
                cr_assert(memcmp(&c[i], &before[i], sizeof(float)) == 0,
                          "ta %d tb %d m %d n %d k %d: padding (%d, %d) written", ta, tb, m, n, k,
                          r, col);
                continue;
            }
            cr_assert(isfinite(c[i]), "ta %d tb %d m %d n %d k %d: c(%d, %d) = %g", ta, tb, m, n,
                      k, r, col, c[i]);
            cr_assert(fabsf(c[i] - want[i]) <= 1e-4f * (1 + fabsf(want[i])),
                      "ta %d tb %d m %d n %d k %d: c(%d, %d) = %.7g, want %.7g", ta, tb, m, n, k,
                      r, col, c[i], want[i]);
        }
}

Test(blas, every_shape_and_transpose_matches_the_loop)
{
    static const int shapes[][3] = {{1, 7, 5},  {1, 1, 9}, {6, 1, 4},  {5, 8, 3},
                                    {1, 12, 1}, {9, 1, 1}, {4, 6, 0},  {1, 5, 0},
                                    {8, 3, 7},  {2, 12, 9}, {9, 6, 5}, {12, 9, 11}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
                check(ta, tb, m, n, k, 1.0f, 1.0f, 0);
                check(ta, tb, m, n, k, 0.5f, -2.0f, 0);
                if (k > 0)
                    check(ta, tb, m, n, k, 1.5f, 0.0f, 1);
            }
}
