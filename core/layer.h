/* The layer interface. A layer type is one `const nn_layer_ops` table, found by its YAML `type:`
 * in a registry. The core builds a graph in phases, each layer taking part through its table:
 *
 *   configure  read and check the layer's own YAML keys; keep what it needs in private state
 *   infer      from the input shapes, the output shape; declare parameters, fixed constants,
 *              scratch space and connections. Every shape error surfaces here, before any data.
 *   init       fill the parameters (seeded) and the fixed constants
 *   forward    compute the output of a batch
 *   backward   given dE/d(output), accumulate (+=) into the parameter gradients, which the core
 *              zeroed, and into the input gradients that are not NULL
 *   backward_hdiag (optional, needed by the SDLM optimizer) the same pass for the diagonal of the
 *              Gauss-Newton Hessian: given d2E/d(output)^2, accumulate the diagonal for every
 *              parameter and for the inputs.
 *
 * The layer's activation (`activation:` key) is applied by the core after forward, and undone in
 * backward, so layers compute the plain linear or pooling part. Tensors are float arrays laid
 * out [batch][channels][height][width]. */
#ifndef NN_LAYER_H
#define NN_LAYER_H

#include <stddef.h>

#include "arena.h"
#include "config.h"
#include "error.h"
#include "rng.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NN_MAX_INPUTS 16
/* The most values one tensor (a layer's output, the input, an im2col row) may hold: 2^28, so
 * that sizes stay well inside int for BLAS. */
#define NN_MAX_VALUES ((size_t)1 << 28)

typedef struct nn_shape {
    int c, h, w;
} nn_shape;

static inline size_t nn_shape_size(nn_shape s) { return (size_t)s.c * (size_t)s.h * (size_t)s.w; }

typedef struct nn_layer nn_layer;
typedef struct nn_layer_ops nn_layer_ops;

/* What infer() declares about the layer. */
typedef struct nn_layer_plan {
    nn_shape out;
    size_t n_params;          /* trainable floats */
    size_t n_fixed;           /* constant floats, not trained (e.g. fixed RBF prototypes) */
    size_t work_per_sample;   /* scratch floats needed per sample of a batch */
    size_t work_fixed;        /* scratch floats needed whatever the batch */
    double connections;       /* multiply-adds per sample, bias counted as one */
    char kernel[32];          /* for the summary, e.g. "5x5/1" */
    size_t keep_per_sample;   /* floats per sample the forward may leave for the backward of a
                                 training step (nn_pass.keep), e.g. an im2col matrix */
} nn_layer_plan;

struct nn_layer {
    const nn_layer_ops *ops;
    const char *name;
    const char *file;         /* where the layer was declared, for messages */
    int line, col;
    int n_in;
    nn_shape in[NN_MAX_INPUTS];
    const char *in_names[NN_MAX_INPUTS]; /* names of the input layers ("input" for the graph's) */
    nn_shape out;
    size_t n_params, n_fixed;
    void *priv;               /* the layer type's private state, from nn_layer_alloc */
    nn_arena *arena;
};

/* One call's buffers. */
typedef struct nn_pass {
    int batch;                         /* samples in this call */
    const float *in[NN_MAX_INPUTS];    /* [batch][in size] each */
    float *in_grad[NN_MAX_INPUTS];     /* backward: accumulate here; NULL = not needed */
    float *out;                        /* forward: write [batch][out size] */
    const float *out_grad;             /* backward: dE/d(output); hdiag: d2E/d(output)^2 */
    const float *out_grad1;            /* hdiag only: dE/d(output) where known, else NULL */
    const float *params;               /* this layer's trainable parameters */
    float *grads;                      /* backward: accumulate (+=); hdiag: accumulate diagonal */
    const float *fixed;                /* this layer's fixed constants */
    float *work;                       /* scratch, as declared; contents not kept between calls */
    /* In a training step (nn_graph_step) each slice runs forward and then at once backward:
     * forward gets keep (plan.keep_per_sample floats per sample, the layer's own) to leave
     * what its backward needs, and that backward gets the same keep with kept = 1. Elsewhere
     * keep is NULL and kept 0, and the layer computes everything from its inputs. */
    float *keep;
    int kept;
} nn_pass;

struct nn_layer_ops {
    const char *type;         /* the YAML `type:` */
    const char *doc;          /* one line for `nnrun layers` */
    const char *const *keys;  /* keys the layer reads, NULL-terminated (besides name, type,
                                 inputs, activation); all but one named `compute`, which by
                                 convention picks how the layer computes and not what, enter
                                 the graph's fingerprint, so a checkpoint loads whatever its
                                 `compute` */
    int min_inputs, max_inputs;
    int (*configure)(nn_layer *l, const nn_node *cfg, nn_error *err);
    int (*infer)(nn_layer *l, nn_layer_plan *plan, nn_error *err);
    void (*init)(const nn_layer *l, float *params, float *fixed, nn_rng *rng);
    void (*forward)(const nn_layer *l, const nn_pass *p);
    void (*backward)(const nn_layer *l, const nn_pass *p);
    void (*backward_hdiag)(const nn_layer *l, const nn_pass *p); /* may be NULL */
};

/* Zeroed memory from the graph's arena, for a layer's private state; NULL when out of memory. */
void *nn_layer_alloc(nn_layer *l, size_t bytes);

/* "<file>:<line>:<col>: layer '<name>': " + message. */
int nn_layer_error(const nn_layer *l, nn_error *err, nn_status code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Uniform init in +-2.4/fan_in (LeCun 1998) for n floats. */
void nn_init_lecun_uniform(float *w, size_t n, size_t fan_in, nn_rng *rng);

/* im2col for one image (c,h,w): writes rows c*k*k, each of oh*ow columns, into col with row
 * stride ld (so that several images can sit side by side). Zero padding. */
void nn_im2col(const float *img, int c, int h, int w, int k, int stride, int pad, int oh, int ow,
               float *col, int ld);
/* The adjoint: accumulates col back into img. */
void nn_col2im_add(const float *col, int ld, int c, int h, int w, int k, int stride, int pad,
                   int oh, int ow, float *img);

/* The geometry convolutions share, read from `maps`, `kernel`, `stride` (1), `padding` (0). */
typedef struct nn_conv_geom {
    int maps, k, stride, pad;
    int oh, ow, positions; /* set by nn_conv_geom_infer */
} nn_conv_geom;

int nn_conv_geom_read(const nn_layer *l, const nn_node *cfg, nn_conv_geom *g, nn_error *err);
/* Checks the kernel fits the (padded) first input and sets the output size. */
int nn_conv_geom_infer(const nn_layer *l, nn_conv_geom *g, nn_error *err);
/* im2col of a whole batch into [in.c * k * k][batch * positions], and its adjoint, which
 * accumulates into dx. */
void nn_im2col_batch(const nn_conv_geom *g, nn_shape in, const float *x, int batch, float *col);
void nn_col2im_batch(const nn_conv_geom *g, nn_shape in, const float *dcol, int batch,
                     float *dx);

/* The same for two output rows per column (stride 1, no padding, an even output height): the
 * window is (k + 1) x k, rows (ch, ky < k + 1, kx), columns (b, y < oh / 2, x), and column
 * (b, y, x) holds the window under output rows 2y and 2y + 1 of image b. */
void nn_im2col_pairs_batch(const nn_conv_geom *g, nn_shape in, const float *x, int batch,
                           float *col);
void nn_col2im_pairs_batch(const nn_conv_geom *g, nn_shape in, const float *dcol, int batch,
                           float *dx);

/* Batched convolutions compute [channels][batch * positions] in one gemm; these move between
 * that layout and the tensors' [batch][channels][positions]. from_... adds bias[c] if not NULL. */
void nn_to_channel_major(const float *src, int batch, int c, int positions, float *dst);
void nn_from_channel_major(const float *src, int batch, int c, int positions, const float *bias,
                           float *dst);

/* The window geometry pooling layers share, read from `size` (2) and `stride` (size). */
typedef struct nn_pool_geom {
    int size, stride;
    int oh, ow; /* set by nn_pool_geom_infer */
} nn_pool_geom;

int nn_pool_geom_read(const nn_layer *l, const nn_node *cfg, nn_pool_geom *g, nn_error *err);
/* Checks the windows tile the first input exactly and sets the output size. */
int nn_pool_geom_infer(const nn_layer *l, nn_pool_geom *g, nn_error *err);

/* A registry of layer types by name: the built-in ones, plus any a program adds. */
typedef struct nn_registry nn_registry;

int nn_registry_new(nn_registry **out, nn_error *err);
/* Adds a type; refuses a name already present or a table without configure/infer/forward. */
int nn_registry_add(nn_registry *reg, const nn_layer_ops *ops, nn_error *err);
const nn_layer_ops *nn_registry_find(const nn_registry *reg, const char *type);
size_t nn_registry_count(const nn_registry *reg);
const nn_layer_ops *nn_registry_at(const nn_registry *reg, size_t i);
void nn_registry_free(nn_registry *reg);

/* The built-in layer list (layers/builtin.c): the one place that names every built-in type. */
extern const nn_layer_ops *const nn_builtin_layers[];

#ifdef __cplusplus
}
#endif
#endif
