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
    int profile;      /* also time each layer (nn_graph_set_profile), in a run of its own
                         after the timed repeats, so that it cannot change their figures */
} nn_bench_opts;

/* One layer's share of a training step, from the profiled run: wall-clock microseconds per
 * image of its forward (with its activation) and of its backward (activation derivative,
 * input and parameter gradients), summed over threads. */
typedef struct nn_bench_layer {
    const char *name, *type; /* valid while the nn_bench_result is */
    double connections;
    double forward_us, backward_us;
} nn_bench_layer;

typedef struct nn_bench_result {
    int batch, threads, repeats;
    double connections;               /* multiply-adds of one image's forward pass */
    double train_ips, infer_ips;      /* images/s, medians */
    double train_min, train_max, infer_min, infer_max;
    double train_gflops, infer_gflops;
    double train_cpu, infer_cpu;      /* images per second of CPU time (all threads), medians */
    /* with opts.profile: every layer, then the step's wall-clock microseconds per image
     * times the threads (the layers' sums and the rest: data, loss, update, reduction) */
    int n_layers;
    nn_bench_layer *layers;
    double step_us;
    char *names;                      /* storage of the layers' names and types */
} nn_bench_result;

/* Fills out (release it with nn_bench_result_free, also after an error). */
int nn_bench_run(const nn_doc *doc, const nn_registry *reg, const nn_bench_opts *opts,
                 nn_bench_result *out, nn_error *err);
void nn_bench_result_free(nn_bench_result *r);

/* GFLOP/s of an n x n x n cblas_sgemm on `threads` OpenBLAS threads (median of 5), the
 * machine's practical peak for the figures above; BLAS is set back to one thread. */
double nn_bench_sgemm_peak(int n, int threads, nn_error *err);

#ifdef __cplusplus
}
#endif
#endif
