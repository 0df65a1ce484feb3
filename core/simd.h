/* Helpers for the elementwise and reduction loops that are not BLAS's. */
#ifndef NN_SIMD_H
#define NN_SIMD_H

#include <stddef.h>

/* NN_CLONES builds a function twice, for AVX2 and for the x86-64 baseline, and picks one when the
 * program starts. Both give the same bits: C is compiled in ISO mode, so no multiply-add is ever
 * contracted into an FMA, and the loops under it do no reassociation. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define NN_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define NN_CLONES
#endif

/* sum x[i] and sum x[i] y[i], in a fixed order: 8 float lanes over blocks of 512, each block's
 * total added in double. Vectorizes (unlike one long double chain) and stays accurate. */
double nn_sum(const float *x, size_t n);
double nn_dot(const float *x, const float *y, size_t n);

#endif
