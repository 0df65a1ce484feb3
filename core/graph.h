/* A graph of layers built from the `input:` and `layers:` sections of a config, in phases:
 * configure every layer, order them (inputs may name any layer; cycles are refused), infer shapes,
 * then allocate everything at once: one arena, all trainable parameters in one flat block and
 * their gradients in another, so optimizers, checkpoints and gradient checks see single arrays. */
#ifndef NN_GRAPH_H
#define NN_GRAPH_H

#include <stdint.h>

#include "activation.h"
#include "config.h"
#include "layer.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nn_graph nn_graph;

/* A graph that would need more memory than this for its largest batch (parameters, gradients,
 * optimizer state, activations, workspace) is refused when built, before anything is allocated.
 * A build may set it lower (the fuzz build does, to stay inside the fuzzer's memory limit). */
#ifndef NN_GRAPH_MAX_BYTES
#define NN_GRAPH_MAX_BYTES ((size_t)4 << 30)
#endif

typedef struct nn_layer_info {
    const char *name, *type;
    nn_shape in, out;          /* in: the first input's shape */
    int n_in;
    const char *in_names[NN_MAX_INPUTS];
    char kernel[32];
    size_t n_params, n_fixed;
    size_t param_offset;       /* where its parameters start in the flat block */
    size_t fixed_offset;       /* where its fixed constants start (nn_graph_fixed) */
    double connections;
    nn_activation act;
} nn_layer_info;

/* Builds a graph for batches of up to max_batch samples. Reads `name`, `input` and `layers` of
 * root and refuses top-level keys other than those and `data`, `train`. */
int nn_graph_build(const nn_node *root, const nn_registry *reg, int max_batch, nn_graph **out,
                   nn_error *err);
void nn_graph_free(nn_graph *g);

/* Reallocates the activation buffers for a new largest batch (not during a step). */
int nn_graph_set_max_batch(nn_graph *g, int max_batch, nn_error *err);
int nn_graph_max_batch(const nn_graph *g);

/* Runs every pass on `threads` threads of the graph's own (default 1): a batch of B is cut into
 * min(threads, B) contiguous slices, each run through every layer by one thread, and the
 * parameter gradients of the slices are summed in slice order. Results are identical from run to
 * run for a given thread count (they may differ in the last bits between thread counts). BLAS
 * should then run single-threaded (nn_blas_set_threads(1)), or the two kinds of threads compete
 * for the cores. Not during a step. */
int nn_graph_set_threads(nn_graph *g, int threads, nn_error *err);
int nn_graph_threads(const nn_graph *g);

/* Each thread takes its samples through the layers `slice` at a time (0: all at once), so that
 * the im2col matrices and activations of a run stay in the core's cache; the scratch space is
 * sized for one slice. Parameter gradients accumulate over the slices in order. */
#define NN_DEFAULT_SLICE 16
int nn_graph_set_slice(nn_graph *g, int slice, nn_error *err);

/* Per-layer timing: while on, every forward and backward (and Hessian) call of each layer,
 * with its activation, adds its wall-clock seconds to the layer's sums, summed over threads
 * (so with T threads the sums add up to about T times the wall time). Costs two clock reads
 * per layer call; nothing is allocated while it runs. */
int nn_graph_set_profile(nn_graph *g, int on, nn_error *err);
void nn_graph_profile_reset(nn_graph *g);
void nn_graph_profile(const nn_graph *g, int layer, double *forward_s, double *backward_s);

/* Fills parameters and fixed constants, drawing from rng in layer order. */
void nn_graph_init(nn_graph *g, nn_rng *rng);

const char *nn_graph_name(const nn_graph *g);
nn_shape nn_graph_input_shape(const nn_graph *g);
nn_shape nn_graph_output_shape(const nn_graph *g);
nn_activation nn_graph_output_activation(const nn_graph *g);
int nn_graph_layer_count(const nn_graph *g);
/* Layer i in execution order; the last one is the output. */
void nn_graph_layer_info(const nn_graph *g, int i, nn_layer_info *info);
/* Looks a layer up by name; -1 if absent. */
int nn_graph_find_layer(const nn_graph *g, const char *name);
/* Index of the layer whose parameters hold flat index k (for messages). */
int nn_graph_layer_of_param(const nn_graph *g, size_t k);

size_t nn_graph_param_count(const nn_graph *g);
size_t nn_graph_fixed_count(const nn_graph *g);
float *nn_graph_params(nn_graph *g);
float *nn_graph_grads(nn_graph *g);
/* The fixed constants of all layers (e.g. RBF prototypes), after nn_graph_init. */
const float *nn_graph_fixed(const nn_graph *g);
/* A hash of the architecture: layer types, shapes, connections, parameter counts, each layer's
 * settings and the fixed constants (so it is meant for after nn_graph_init). */
uint64_t nn_graph_fingerprint(const nn_graph *g);

/* The input buffer: [max_batch][input size] floats to fill before forward. */
float *nn_graph_input(nn_graph *g);
/* Runs the layers on the first `batch` samples of the input; returns the output
 * ([batch][output size]), valid until the next forward. */
const float *nn_graph_forward(nn_graph *g, int batch);
/* Output of layer i after forward. */
const float *nn_graph_layer_output(const nn_graph *g, int i);
/* Sets all parameter gradients to zero. */
void nn_graph_zero_grads(nn_graph *g);
/* Back-propagates dE/d(output) (or, when dout_is_preact, dE/d(the output layer's value before its
 * activation)) through the last forward, accumulating into the parameter gradients. */
void nn_graph_backward(nn_graph *g, int batch, const float *dout, int dout_is_preact);
/* A training step as one call, the same as nn_graph_forward, the loss and nn_graph_backward
 * give (the same gradients, bit for bit), but run slice by slice: each slice goes forward, then
 * `loss` gets its outputs y ([n][output size], samples b0..b0+n-1 of the batch) and writes
 * their dE/d(output) into dout (already offset to sample b0) and the count of misclassified
 * samples into *wrong, returning their loss sum; then the slice goes backward while its
 * activations are still in cache, and layers reuse what their forward kept (nn_pass.keep).
 * `loss` is called from the graph's threads, on disjoint slices, several at once. dout holds
 * [batch][output size]. Returns the sum of the slices' losses (per thread in order, then
 * threads in order); the gradients are accumulated as by nn_graph_backward. */
typedef double (*nn_slice_loss)(void *ctx, const float *y, int b0, int n, float *dout,
                                int *wrong);
double nn_graph_step(nn_graph *g, int batch, nn_slice_loss loss, void *ctx, float *dout,
                     int dout_is_preact, long *n_wrong);
/* When on, backward (and the Hessian pass) also fill dE/d(input), read with
 * nn_graph_input_grad ([max_batch][input size]); off by default, as training does not need it. */
void nn_graph_want_input_grad(nn_graph *g, int on);
const float *nn_graph_input_grad(const nn_graph *g);
/* Gauss-Newton diagonal pass: d2 is d2E/d(output)^2 (before the activation when preact), g1 is
 * dE/d(output) for the output layer's own curvature (may be NULL). Accumulates into hacc
 * (n_params floats). Needs every layer to implement backward_hdiag (see nn_graph_supports_hdiag). */
void nn_graph_hdiag(nn_graph *g, int batch, const float *d2, const float *g1, int preact,
                    float *hacc);
/* NN_OK if every layer with parameters or upstream of one can do the hdiag pass; otherwise names
 * the layer. */
int nn_graph_supports_hdiag(const nn_graph *g, nn_error *err);

/* The first layer whose output holds a NaN or Inf after forward, or -1. */
int nn_graph_find_nonfinite_output(const nn_graph *g, int batch);

#ifdef __cplusplus
}
#endif
#endif
