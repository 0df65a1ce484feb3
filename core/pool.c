#include "pool.h"

#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#define NN_HAVE_MXCSR 1
#endif

typedef struct worker {
    nn_pool *pool;
    int part;
    pthread_t thread;
} worker;

struct nn_pool {
    int threads;
    pthread_mutex_t mu;
    pthread_cond_t start, done;
    unsigned long generation; /* bumped for every job */
    int parts, pending, quit;
    void (*fn)(void *, int);
    void *arg;
    unsigned csr;
    worker workers[NN_MAX_THREADS];
};

static void *worker_main(void *p)
{
    worker *w = p;
    nn_pool *pool = w->pool;
    unsigned long seen = 0;
    pthread_mutex_lock(&pool->mu);
    for (;;) {
        while (!pool->quit && pool->generation == seen)
            pthread_cond_wait(&pool->start, &pool->mu);
        if (pool->quit)
            break;
        seen = pool->generation;
        if (w->part >= pool->parts)
            continue;
        void (*fn)(void *, int) = pool->fn;
        void *arg = pool->arg;
#ifdef NN_HAVE_MXCSR
        _mm_setcsr(pool->csr);
#endif
        pthread_mutex_unlock(&pool->mu);
        fn(arg, w->part);
        pthread_mutex_lock(&pool->mu);
        if (--pool->pending == 0)
            pthread_cond_signal(&pool->done);
    }
    pthread_mutex_unlock(&pool->mu);
    return NULL;
}

int nn_pool_new(int threads, nn_pool **out, nn_error *err)
{
    *out = NULL;
    if (threads < 1 || threads > NN_MAX_THREADS)
        return nn_error_set(err, NN_E_USAGE, "threads must be 1 to %d, got %d", NN_MAX_THREADS,
                            threads);
    nn_pool *pool = calloc(1, sizeof *pool);
    if (!pool)
        return nn_error_set(err, NN_E_NOMEM, "out of memory");
    pthread_mutex_init(&pool->mu, NULL);
    pthread_cond_init(&pool->start, NULL);
    pthread_cond_init(&pool->done, NULL);
    pool->threads = 1;
    for (int i = 1; i < threads; i++) {
        worker *w = &pool->workers[i];
        w->pool = pool;
        w->part = i;
        int rc = pthread_create(&w->thread, NULL, worker_main, w);
        if (rc) {
            nn_pool_free(pool);
            return nn_error_set(err, NN_E_NOMEM, "cannot start thread %d of %d: %s", i + 1,
                                threads, strerror(rc));
        }
        pool->threads++;
    }
    *out = pool;
    return NN_OK;
}

void nn_pool_free(nn_pool *pool)
{
    if (!pool)
        return;
    pthread_mutex_lock(&pool->mu);
    pool->quit = 1;
    pthread_cond_broadcast(&pool->start);
    pthread_mutex_unlock(&pool->mu);
    for (int i = 1; i < pool->threads; i++)
        pthread_join(pool->workers[i].thread, NULL);
    pthread_mutex_destroy(&pool->mu);
    pthread_cond_destroy(&pool->start);
    pthread_cond_destroy(&pool->done);
    free(pool);
}

int nn_pool_threads(const nn_pool *pool) { return pool ? pool->threads : 1; }

void nn_pool_run(nn_pool *pool, int parts, void (*fn)(void *arg, int part), void *arg)
{
    if (!pool || parts <= 1) {
        for (int i = 0; i < parts; i++)
            fn(arg, i);
        return;
    }
    assert(parts <= pool->threads);
    pthread_mutex_lock(&pool->mu);
    pool->fn = fn;
    pool->arg = arg;
    pool->parts = parts;
    pool->pending = parts - 1;
#ifdef NN_HAVE_MXCSR
    pool->csr = _mm_getcsr();
#endif
    pool->generation++;
    pthread_cond_broadcast(&pool->start);
    pthread_mutex_unlock(&pool->mu);
    fn(arg, 0);
    pthread_mutex_lock(&pool->mu);
    while (pool->pending > 0)
        pthread_cond_wait(&pool->done, &pool->mu);
    pthread_mutex_unlock(&pool->mu);
}
