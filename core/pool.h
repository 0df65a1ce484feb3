/* A small pool of worker threads owned by a graph: it runs one job on n threads at once and
 * waits for all of them. The job's part 0 runs on the calling thread. Workers sleep on a
 * condition variable between jobs (no spinning: the machine may be shared), and take the
 * caller's floating-point control word for each job (flush-to-zero and rounding), so every part
 * of a job computes exactly as the caller would. */
#ifndef NN_POOL_H
#define NN_POOL_H

#include "error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NN_MAX_THREADS 64

typedef struct nn_pool nn_pool;

/* Starts threads - 1 workers (none for 1). */
int nn_pool_new(int threads, nn_pool **out, nn_error *err);
void nn_pool_free(nn_pool *pool);
int nn_pool_threads(const nn_pool *pool);
/* Runs fn(arg, i) for i = 0..parts-1 (parts <= threads), i = 0 on the calling thread; returns
 * when every part is done. */
void nn_pool_run(nn_pool *pool, int parts, void (*fn)(void *arg, int part), void *arg);

#ifdef __cplusplus
}
#endif
#endif
