/* The benchmark behind `nnrun CONFIG bench`: throughput of the training step (forward, loss,
 * backward, update) and of inference (forward), with the data already in memory as bytes and
 * converted per batch as training does; the median of several timed repeats after a warm-up.
 * Floating-point work is counted from the layer table: a forward pass is 2 x connections FLOPs
 * per image, a training step 3 forward passes' worth (forward, input gradients, weight
 * gradients). */
#ifndef NN_BENCH_H
#define NN_BENCH_H

#include "config.h"
#include "layer.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NN_BENCH_MAX_REPEATS 64

typedef struct nn_bench_opts {
    int batch;        /* images per step (default: the config's train.batch) */
    int threads;      /* the graph's threads (default 1) */
    int repeats;      /* timed repeats (default 5) */
    double seconds;   /* length of one repeat (default 0.4 s) */
    long images;      /* training images kept in memory (default 8192) */
    int slice;        /* nn_graph_set_slice; < 0 keeps the default */
} nn_bench_opts;

typedef struct nn_bench_result {
    int batch, threads, repeats;
    double connections;               /* multiply-adds of one image's forward pass */
    double train_ips, infer_ips;      /* images/s, medians */
    double train_min, train_max, infer_min, infer_max;
    double train_gflops, infer_gflops;
    double train_cpu, infer_cpu;      /* images per second of CPU time (all threads), medians */
} nn_bench_result;

int nn_bench_run(const nn_doc *doc, const nn_registry *reg, const nn_bench_opts *opts,
                 nn_bench_result *out, nn_error *err);

/* GFLOP/s of an n x n x n cblas_sgemm on `threads` OpenBLAS threads (median of 5), the
 * machine's practical peak for the figures above; BLAS is set back to one thread. */
double nn_bench_sgemm_peak(int n, int threads, nn_error *err);

#ifdef __cplusplus
}
#endif
#endif
