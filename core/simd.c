#include "simd.h"

enum { LANES = 8, BLOCK = 512 };

NN_CLONES double nn_sum(const float *restrict x, size_t n)
{
    double total = 0;
    size_t i = 0;
    while (i + LANES <= n) {
        float acc[LANES] = {0};
        size_t end = i + BLOCK < n ? i + BLOCK : n;
        for (; i + LANES <= end; i += LANES)
            for (int l = 0; l < LANES; l++)
                acc[l] += x[i + l];
        for (int l = 0; l < LANES; l++)
            total += acc[l];
    }
    for (; i < n; i++)
        total += x[i];
    return total;
}

NN_CLONES double nn_dot(const float *restrict x, const float *restrict y, size_t n)
{
    double total = 0;
    size_t i = 0;
    while (i + LANES <= n) {
        float acc[LANES] = {0};
        size_t end = i + BLOCK < n ? i + BLOCK : n;
        for (; i + LANES <= end; i += LANES)
            for (int l = 0; l < LANES; l++)
                acc[l] += x[i + l] * y[i + l];
        for (int l = 0; l < LANES; l++)
            total += acc[l];
    }
    for (; i < n; i++)
        total += (double)x[i] * y[i];
    return total;
}
