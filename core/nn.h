/* nn.h: the nnrun library. Neural networks as graphs of pluggable layers described in YAML,
 * trained and run on the CPU (OpenBLAS). This header is the manual; it includes the module
 * headers below it, so one `#include <nn.h>` gives the whole public API.
 *
 *     cc prog.c $(pkg-config --cflags --libs nn)            # shared libnn.so
 *     cc prog.c $(pkg-config --cflags nn) \
 *        $(pkg-config --static --libs nn | sed 's/-lnn /-l:libnn.a /')  # static libnn.a
 *
 * A tour
 * ------
 *     #include <nn.h>
 *
 *     nn_error err;
 *     nn_net *net = NULL;
 *
 *     // 1. Load a YAML config and build its graph: every key, shape and type is checked now,
 *     //    and the weights are initialised from train.seed. (nn_net_from_yaml does the same
 *     //    from a string in memory.)
 *     if (nn_net_from_file("configs/lenet5.yaml", NULL, &net, &err)) {
 *         fprintf(stderr, "%s\n", err.msg); // "x.yaml:3:37: layer 'c1': unknown key 'kernal'..."
 *         return 2;
 *     }
 *
 *     // 2. Load trained weights: a checkpoint written by `nnrun train`, by
 *     //    nn_graph_save_weights_file, or a buffer from nn_graph_save_weights.
 *     if (nn_graph_load_weights_file(nn_net_graph(net), "runs/lenet5/last.ckpt", &err)) ...
 *
 *     // 3. Inference on a batch. x holds batch * nn_net_input_size(net) floats, laid out
 *     //    [sample][channel][row][column]; nn_net_image_to_input fills one sample from an
 *     //    8-bit image (nn_pgm_load reads one) the way the config's data: section says.
 *     int classes[16];
 *     if (nn_net_classify(net, x, 16, classes, &err)) ...
 *     const float *y;                          // or the raw outputs, 16 * output size
 *     if (nn_net_forward(net, x, 16, &y, &err)) ...
 *
 *     // 4. Train a step: forward, the config's loss, backward, one update of the config's
 *     //    optimizer at the current learning rate (the schedule's first, or nn_net_set_lr).
 *     uint8_t labels[16] = {...};
 *     double loss;
 *     nn_net_estimate_hessian(net, x, labels, 16, &err);  // SDLM only: before each pass
 *     if (nn_net_train_step(net, x, labels, 16, &loss, &err)) ...
 *     nn_graph_save_weights_file(nn_net_graph(net), "mine.ckpt", &err);
 *
 *     nn_net_free(net);
 *
 * Conventions
 * -----------
 * Errors are values. Every function that can fail returns an int: NN_OK (0) or an nn_status
 * (error.h), and fills the caller's nn_error (which may be NULL) with a message naming the
 * file, line:column and what was expected. The library never prints, never exits and does
 * not crash on bad input. On failure the out-parameters are left NULL or unchanged and nothing
 * is leaked.
 *
 * Ownership. A function named *_new or *_from_* hands the caller an object to release with the
 * matching *_free (each accepts NULL). Buffers the library allocates for the caller (weights,
 * dumped YAML) are released with free(). Pointers the library returns into its objects (outputs,
 * names, parameters) stay valid until the object is freed or, for outputs, until the next call
 * on the same object. Strings and buffers the caller passes in are copied, with one exception
 * at the lower level: a graph from nn_graph_build and an nn_train_cfg from nn_train_cfg_read
 * point into their nn_doc, which must be kept until they are freed (nn_net_from_yaml and
 * nn_net_from_file keep their own).
 *
 * No global state: all state lives in the objects. Two nets in one process are independent;
 * two threads may each use their own nets at the same time (an nn_net is not to be shared
 * between threads without a lock). A registry may be shared read-only by several threads once
 * it is filled. The one process-wide setting is OpenBLAS's thread count (nn_blas_set_threads,
 * blas.h): results are bit-identical for a given seed and thread count.
 *
 * Your own layer types: fill an nn_layer_ops table (layer.h: configure -> infer -> init ->
 * forward -> backward, the same interface the built-in layers use), add it to a registry with
 * nn_registry_add, and pass the registry in nn_net_opts; the YAML then names it by `type:`.
 * apps/custom_layer.c is a complete example.
 *
 * Your own training loop on a graph: nn_graph_step (graph.h) runs forward, your loss and
 * backward slice by slice, which is what nn_net_train_step and the trainer do, and is faster
 * than nn_graph_forward + nn_graph_backward over the whole batch (the same gradients, bit for
 * bit); nn_graph_set_profile times each layer.
 *
 * What the lower-level calls return on failure, besides NN_E_NOMEM (any call that allocates)
 * and NN_E_USAGE (a NULL argument or a value outside its documented range):
 *   nn_doc_load_file, nn_doc_load_string   NN_E_IO (cannot read), NN_E_CONFIG (not YAML, too
 *                                          large or deep, anchors, duplicate keys, empty)
 *   nn_doc_set                             NN_E_USAGE (malformed KEY=VALUE, no such path)
 *   nn_node_*, nn_map_*, nn_node_check_keys NN_E_CONFIG (wrong kind, not a number, out of range,
 *                                          unknown key with a did-you-mean hint)
 *   nn_registry_add                        NN_E_USAGE (no configure/infer/forward, bad input
 *                                          counts, a type name already registered)
 *   nn_graph_build                         NN_E_CONFIG (keys, unknown type, cycles), NN_E_SHAPE
 *   nn_dataset_load_idx, nn_pgm_load,
 *   nn_read_file_maybe_gz                  NN_E_IO (missing or unreadable), NN_E_DATA (malformed)
 *   nn_checkpoint_*                        NN_E_IO, NN_E_CHECKPOINT (as nn_graph_load_weights)
 *   nn_train_cfg_read, _check_graph        NN_E_CONFIG, NN_E_SHAPE
 *   nn_trainer_new, nn_trainer_run         all of the above, NN_E_NUMERIC (divergence, with the
 *                                          layer named), NN_E_INTERRUPTED (hooks->stop was set)
 * Functions returning void or a value (nn_graph_forward, nn_rng_*, accessors) cannot fail;
 * their preconditions are in their headers.
 *
 * The modules, for lower-level use (all included here):
 *   error.h       nn_status, nn_error
 *   config.h      the YAML tree with positions (nn_doc_load_file/_string, nn_doc_set for
 *                 overrides, typed reads for layer configure functions)
 *   layer.h       the layer interface, the registry, helpers for convolutions
 *   graph.h       nn_graph: build from a config tree, forward, backward, the parameter block
 *   loss.h optim.h activation.h   losses, optimizers (SGD, SDLM), activations
 *   data.h        IDX datasets (raw or gzip) and PGM images
 *   image.h       PNG and PGM images as 8-bit grey (nn_image_load), fitting one to a cell
 *   printed.h     rendering characters with FreeType, for printed-character data sets
 *   checkpoint.h  the checkpoint format (weights, optimizer state, RNG), atomic writes
 *   train.h       the config's data:/train: sections and the file-based training loop that
 *                 `nnrun train` runs (nn_trainer)
 *   rng.h arena.h blas.h   the seeded RNG, the graph arena, the BLAS wrapper
 */
#ifndef NN_H
#define NN_H

#include <stddef.h>
#include <stdint.h>

#include "blas.h"
#include "checkpoint.h"
#include "config.h"
#include "data.h"
#include "error.h"
#include "graph.h"
#include "image.h"
#include "layer.h"
#include "printed.h"
#include "train.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 0.x: a minor version may change the public structs (0.3.0: nn_train_opts.test_alongside,
 * nn_epoch_report.test_n, nn_split_cfg's config positions), so a program is built against the
 * headers of the library it runs with. */
#define NN_VERSION_MAJOR 0
#define NN_VERSION_MINOR 3
#define NN_VERSION_PATCH 0
#define NN_VERSION "0.3.0"

/* The version of the library linked in, e.g. "0.3.0" (compare with NN_VERSION to catch a
 * header/library mismatch). Static string. */
const char *nn_version(void);

/* ---- nets: a graph with its training setup ------------------------------------------------ */

/* A graph built from a config together with what its `train:` and `data:` sections say: the
 * loss, the optimizer and its state, the learning rate, the input scaling. */
typedef struct nn_net nn_net;

typedef struct nn_net_opts {
    const nn_registry *registry; /* layer types; NULL: the built-in ones. Only read while the
                                    net is built, so it may be freed afterwards. */
    int max_batch;               /* buffers for this many samples up front (0: train.batch);
                                    larger batches grow them on first use */
    int have_seed;               /* when set, seed replaces train.seed for the initial weights */
    uint64_t seed;
} nn_net_opts;

/* Builds a net from YAML text in memory: len bytes of yaml (len 0: up to its NUL). name is
 * used in messages in place of a file name (NULL: "<string>"). The text is copied. opts may be
 * NULL.
 * Errors: NN_E_CONFIG (bad YAML, unknown or missing keys, bad values: "name:3:7: ..."),
 * NN_E_SHAPE (shapes that do not fit), NN_E_NOMEM. *out is NULL on failure. */
int nn_net_from_yaml(const char *yaml, size_t len, const char *name, const nn_net_opts *opts,
                     nn_net **out, nn_error *err);

/* The same from a YAML file. Errors as nn_net_from_yaml, plus NN_E_IO when the file cannot be
 * read. */
int nn_net_from_file(const char *path, const nn_net_opts *opts, nn_net **out, nn_error *err);

/* The same from a parsed document (e.g. after nn_doc_set overrides). The net borrows doc: it
 * must outlive the net. */
int nn_net_from_doc(const nn_doc *doc, const nn_net_opts *opts, nn_net **out, nn_error *err);

/* Frees the net, its graph and its buffers. NULL is allowed. */
void nn_net_free(nn_net *net);

/* The net's graph, owned by the net: for weights (below), introspection (nn_graph_layer_info)
 * and the parameter block. Do not free it. */
nn_graph *nn_net_graph(nn_net *net);
/* The config's data: and train: sections as read, owned by the net. */
const nn_train_cfg *nn_net_config(const nn_net *net);
/* Floats per sample of the input and of the output. */
size_t nn_net_input_size(const nn_net *net);
size_t nn_net_output_size(const nn_net *net);

/* Converts an 8-bit grey image (row-major, 0 = background) into one input sample x
 * (nn_net_input_size floats) as the config's data: section converts training images: an image
 * of the input size minus data.pad on every side is padded, one of the input size is taken
 * as it is, one of any other size is laid out as a character cell (scaled to fit, ink centred;
 * nn_image_fit_cell) and padded; byte 0 maps to data.range[0], 255 to data.range[1].
 * Errors: NN_E_SHAPE when the net's input has more than one channel, NN_E_DATA for an empty
 * image, NN_E_NOMEM. */
int nn_net_image_to_input(const nn_net *net, const uint8_t *pixels, int w, int h, float *x,
                          nn_error *err);

/* Runs a batch: x holds batch samples. *y receives batch * nn_net_output_size floats, owned by
 * the net and valid until the next call on it.
 * Errors: NN_E_USAGE (batch < 1, x or y NULL), NN_E_NOMEM (growing the buffers). */
int nn_net_forward(nn_net *net, const float *x, int batch, const float **y, nn_error *err);

/* Runs a batch and writes each sample's class into classes[0..batch): the nearest prototype
 * for RBF outputs (the smallest distance), the largest output otherwise. Errors as
 * nn_net_forward. */
int nn_net_classify(nn_net *net, const float *x, int batch, int *classes, nn_error *err);

/* One training step on a batch: forward, the config's loss against labels, backward, one
 * update of the parameters by the optimizer at the current learning rate. *loss (may be NULL)
 * receives the batch's mean loss, before the update. The parameters are left unchanged when
 * the step fails.
 * Errors: NN_E_USAGE (batch < 1, x or labels NULL), NN_E_DATA (a label not below the output
 * size or data.classes), NN_E_NUMERIC (a NaN or Inf in the loss or a gradient; the message
 * names the layer), NN_E_NOMEM. */
int nn_net_train_step(nn_net *net, const float *x, const uint8_t *labels, int batch,
                      double *loss, nn_error *err);

/* The learning rate of the next steps; starts at the rate of the schedule's first epoch (or
 * train.lr). nn_train_cfg_lr(nn_net_config(net), epoch) gives the schedule's rate for an
 * epoch. */
void nn_net_set_lr(nn_net *net, double lr);
double nn_net_lr(const nn_net *net);

/* SDLM only (does nothing for other optimizers): re-estimates the diagonal of the Gauss-Newton
 * Hessian as the mean over n samples (x: n samples, labels: n), which the following steps use
 * as lr / (mu + h_kk). The paper does this before each pass over the data on a few hundred
 * samples (train.optimizer.hessian_samples). Errors as nn_net_train_step. */
int nn_net_estimate_hessian(nn_net *net, const float *x, const uint8_t *labels, size_t n,
                            nn_error *err);

/* Mean loss and fraction misclassified over n samples, run in batches. loss or error may be
 * NULL. Errors as nn_net_train_step (NN_E_NUMERIC is not raised: a non-finite loss is
 * returned as it is). */
int nn_net_evaluate(nn_net *net, const float *x, const uint8_t *labels, size_t n, double *loss,
                    double *error, nn_error *err);

/* ---- weights, in memory and in files ------------------------------------------------------ */

/* The weights (the flat parameter block) of a graph in the checkpoint format (checkpoint.h):
 * tied to the graph's architecture by a fingerprint and sealed by a checksum. *buf is malloc'd
 * (free() it), *len its size in bytes. Errors: NN_E_NOMEM. */
int nn_graph_save_weights(const nn_graph *g, uint8_t **buf, size_t *len, nn_error *err);

/* Loads weights from len bytes at buf (the buffer is not kept). Accepts what
 * nn_graph_save_weights and nn_graph_save_weights_file write and the checkpoints of `nnrun
 * train` (their optimizer state is ignored). The graph is unchanged on failure.
 * Errors: NN_E_CHECKPOINT: not a checkpoint, truncated, corrupt (checksum), another format
 * version or byte order, or one of another graph (fingerprint or parameter count); each says
 * which. */
int nn_graph_load_weights(nn_graph *g, const uint8_t *buf, size_t len, nn_error *err);

/* The same with a file, written atomically (a temporary file, fsync, rename), so a crash
 * leaves any previous file intact. Errors: NN_E_IO (cannot write or read; a missing file when
 * loading is NN_E_USAGE), NN_E_CHECKPOINT as above, NN_E_NOMEM. */
int nn_graph_save_weights_file(const nn_graph *g, const char *path, nn_error *err);
int nn_graph_load_weights_file(nn_graph *g, const char *path, nn_error *err);

#ifdef __cplusplus
}
#endif
#endif
