/* A seeded random number generator owned by the run (xoshiro256**, seeded by splitmix64).
 * Its whole state is four words, saved in checkpoints so a resumed run draws the same numbers. */
#ifndef NN_RNG_H
#define NN_RNG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nn_rng {
    uint64_t s[4];
} nn_rng;

void nn_rng_seed(nn_rng *rng, uint64_t seed);
uint64_t nn_rng_next(nn_rng *rng);
/* Uniform in [0, 1). */
double nn_rng_uniform01(nn_rng *rng);
/* Uniform in [lo, hi). */
float nn_rng_uniform(nn_rng *rng, float lo, float hi);
/* Uniform integer in [0, n), without modulo bias; n > 0. */
uint64_t nn_rng_below(nn_rng *rng, uint64_t n);
/* Fisher-Yates shuffle of a permutation. */
void nn_rng_shuffle(nn_rng *rng, size_t *a, size_t n);

#ifdef __cplusplus
}
#endif
#endif
