/* conv: a full convolution, `maps` output maps over every input map; im2col of the whole batch
 * into one matrix, then a single sgemm. Parameters: weights [maps][in_maps * k * k], then one
 * bias per map.
 *
 * With few maps (LeNet's C1 has 6), the sgemm has as few rows, far from the shape OpenBLAS's
 * kernels are made for. `compute: pairs` then takes two output rows per im2col column: a
 * (k + 1) x k window, 2 * maps rows of weights (each map's kernel twice, one row apart, zeros
 * elsewhere), half the columns. It multiplies 1/k more (some zeros, 20% for k = 5) in a product
 * twice as tall, from an im2col matrix (k + 1) / (2k) the size (60%). `auto` (the default) picks
 * it for at most 16 maps when the shape allows (stride 1, no padding, even output height):
 * `bench --profile` at batch 256 put C1's share of the training step at 28% instead of 32%,
 * a full C3's (16 maps) at 46% instead of 48%. */
#include <stdio.h>
#include <string.h>

#include "blas.h"
#include "layer.h"
#include "simd.h"

typedef struct conv {
    nn_conv_geom g;
    int maps, kk; /* kk = in_maps * k * k: one row of the weight matrix */
    int whole;    /* the kernel covers the whole unpadded input (LeNet's C5): then im2col is the
                     identity and the layer is a dense one, computed as such without copies */
    int compute;  /* COMPUTE_*, as configured */
    int pairs;    /* two output rows per column (compute: pairs, or auto's choice) */
    int pk, pp;   /* pairs: in_maps * (k + 1) * k rows of col, oh / 2 * ow columns per sample */
} conv;

enum { COMPUTE_AUTO, COMPUTE_PLAIN, COMPUTE_PAIRS };
/* Below 8 samples in a slice, the plain way: the paired product does more work (callgrind,
 * `bench/lenet5-full.yaml` for 1,024 images: +4% instructions at batch 4, +1% at 16), and
 * what it buys is an im2col matrix 60% the size, which matters once the plain one outgrows
 * the L2 cache (C1's: 78 KB per image; at 8 images 627 KB, the paired one 376 KB). A training
 * step's forward and backward see the same slice, so they agree on the layout of the kept
 * im2col matrix. */
enum { PAIRS_MIN_BATCH = 8 };
static const char *const compute_names[] = {"auto", "plain", "pairs", NULL};
static const char *const conv_keys[] = {"maps", "kernel", "stride", "padding", "compute", NULL};

static int conv_configure(nn_layer *l, const nn_node *cfg, nn_error *err)
{
    conv *c = nn_layer_alloc(l, sizeof *c);
    if (!c)
        return nn_error_set(err, NN_E_NOMEM, "out of memory");
    int rc = nn_conv_geom_read(l, cfg, &c->g, err);
    if (rc)
        return rc;
    c->maps = c->g.maps;
    char what[160];
    snprintf(what, sizeof what, "layer '%s'", l->name);
    rc = nn_map_choice(cfg, "compute", 0, COMPUTE_AUTO, compute_names, what, &c->compute, err);
    if (rc)
        return rc;
    l->priv = c;
    return NN_OK;
}

static int conv_infer(nn_layer *l, nn_layer_plan *plan, nn_error *err)
{
    conv *c = l->priv;
    nn_shape in = l->in[0];
    int rc = nn_conv_geom_infer(l, &c->g, err);
    if (rc)
        return rc;
    c->kk = in.c * c->g.k * c->g.k;
    c->whole = c->g.pad == 0 && c->g.k == in.h && c->g.k == in.w;
    int can_pair = !c->whole && c->g.stride == 1 && c->g.pad == 0 && c->g.oh % 2 == 0;
    if (c->compute == COMPUTE_PAIRS && !can_pair)
        return nn_layer_error(l, err, NN_E_SHAPE,
                              "compute: pairs needs stride 1, no padding, an even output height "
                              "and a kernel smaller than the input; here stride %d, padding %d, "
                              "output %dx%d (use compute: plain or auto)",
                              c->g.stride, c->g.pad, c->g.oh, c->g.ow);
    c->pairs = can_pair && (c->compute == COMPUTE_PAIRS ||
                            (c->compute == COMPUTE_AUTO && c->maps <= 16));
    size_t kk = (size_t)c->kk, p = (size_t)c->g.positions;
    plan->out = (nn_shape){c->maps, c->g.oh, c->g.ow};
    plan->n_params = (kk + 1) * (size_t)c->maps;
    /* col, dcol and the channel-major output or gradient, per sample */
    plan->work_per_sample = 2 * kk * p + (size_t)c->maps * p;
    plan->work_fixed = kk * (size_t)c->maps; /* squared weights for the Hessian pass */
    plan->keep_per_sample = c->whole ? 0 : kk * p; /* the im2col matrix, for the backward */
    if (c->pairs) { /* plain's sizes per sample are the larger ones, and a slice of one
                       sample still goes the plain way */
        c->pk = in.c * (c->g.k + 1) * c->g.k;
        c->pp = c->g.oh / 2 * c->g.ow;
        /* squared weights, the paired weights and their gradient */
        plan->work_fixed = kk * (size_t)c->maps + 2 * (2 * (size_t)c->maps * (size_t)c->pk);
    }
    plan->connections = (double)(kk + 1) * c->maps * p;
    snprintf(plan->kernel, sizeof plan->kernel, "%dx%d", c->g.k, c->g.k);
    if (c->g.stride != 1 || c->g.pad) {
        size_t len = strlen(plan->kernel);
        snprintf(plan->kernel + len, sizeof plan->kernel - len, " s%d p%d", c->g.stride,
                 c->g.pad);
    }
    return NN_OK;
}

static void conv_init(const nn_layer *l, float *params, float *fixed, nn_rng *rng)
{
    (void)fixed;
    const conv *c = l->priv;
    size_t nw = (size_t)c->kk * c->maps;
    nn_init_lecun_uniform(params, nw, (size_t)c->kk, rng);
    memset(params + nw, 0, sizeof(float) * c->maps);
}

/* The whole-input case: y[B][maps] = x[B][kk] W^T + bias, as a dense layer. */
static void whole_forward(const conv *c, const nn_pass *p)
{
    const float *bias = p->params + (size_t)c->kk * c->maps;
    for (int b = 0; b < p->batch; b++)
        memcpy(p->out + (size_t)b * c->maps, bias, sizeof(float) * c->maps);
    nn_sgemm(0, 1, p->batch, c->maps, c->kk, 1.0f, p->in[0], c->kk, p->params, c->kk, 1.0f,
             p->out, c->maps);
}

/* Work: squared inputs [B][kk] | squared weights, for the Hessian pass. */
static void whole_back(const conv *c, const nn_pass *p, int squared)
{
    size_t nw = (size_t)c->kk * c->maps, nx = (size_t)p->batch * c->kk;
    const float *x = p->in[0], *w = p->params, *dy = p->out_grad;
    if (squared) {
        float *x2 = p->work, *w2 = p->work + nx;
        for (size_t i = 0; i < nx; i++)
            x2[i] = x[i] * x[i];
        for (size_t i = 0; i < nw; i++)
            w2[i] = w[i] * w[i];
        x = x2;
        w = w2;
    }
    nn_sgemm(1, 0, c->maps, c->kk, p->batch, 1.0f, dy, c->maps, x, c->kk, 1.0f, p->grads, c->kk);
    float *db = p->grads + nw;
    for (int o = 0; o < c->maps; o++) {
        double sum = 0;
        for (int b = 0; b < p->batch; b++)
            sum += dy[(size_t)b * c->maps + o];
        db[o] += (float)sum;
    }
    if (p->in_grad[0])
        nn_sgemm(0, 0, p->batch, c->kk, c->maps, 1.0f, dy, c->maps, w, c->kk, 1.0f,
                 p->in_grad[0], c->kk);
}

/* The paired weights: row 2m + d is map m's kernel moved down by d rows in the (k + 1) x k
 * window of every input map, zeros elsewhere. */
static void pair_weights(const conv *c, const float *w, float *wp)
{
    int k = c->g.k, in_c = c->kk / (k * k);
    for (int m = 0; m < c->maps; m++)
        for (int d = 0; d < 2; d++) {
            float *row = wp + (size_t)(2 * m + d) * c->pk;
            for (int ch = 0; ch < in_c; ch++)
                for (int r = 0; r <= k; r++)
                    for (int x = 0; x < k; x++) {
                        int ky = r - d;
                        row[(ch * (k + 1) + r) * k + x] =
                            ky >= 0 && ky < k ? w[(size_t)m * c->kk + (ch * k + ky) * k + x] : 0;
                    }
        }
}

/* The adjoint of pair_weights, added into dw: each weight gets its two places' gradients. */
static void unpair_grads(const conv *c, const float *dwp, float *dw)
{
    int k = c->g.k, in_c = c->kk / (k * k);
    for (int m = 0; m < c->maps; m++) {
        const float *r0 = dwp + (size_t)(2 * m) * c->pk, *r1 = r0 + c->pk;
        for (int ch = 0; ch < in_c; ch++)
            for (int ky = 0; ky < k; ky++)
                for (int x = 0; x < k; x++)
                    dw[(size_t)m * c->kk + (ch * k + ky) * k + x] +=
                        r0[(ch * (k + 1) + ky) * k + x] + r1[(ch * (k + 1) + ky + 1) * k + x];
    }
}

/* Between the output [B][maps][oh][ow] and the paired product's [2 maps][B][oh / 2][ow]: row
 * 2m + d holds output rows 2y + d of map m. bias (or NULL) is added on the way out. */
static void from_pairs(const conv *c, const float *src, int batch, const float *bias, float *dst)
{
    size_t ld = (size_t)batch * c->pp;
    int ow = c->g.ow, oh2 = c->g.oh / 2;
    for (int b = 0; b < batch; b++)
        for (int m = 0; m < c->maps; m++) {
            float add = bias ? bias[m] : 0.0f;
            float *plane = dst + ((size_t)b * c->maps + m) * c->g.positions;
            for (int d = 0; d < 2; d++) {
                const float *s = src + (2 * m + d) * ld + (size_t)b * c->pp;
                for (int y = 0; y < oh2; y++) {
                    float *o = plane + (size_t)(2 * y + d) * ow;
                    for (int x = 0; x < ow; x++)
                        o[x] = s[y * ow + x] + add;
                }
            }
        }
}

static void to_pairs(const conv *c, const float *src, int batch, float *dst)
{
    size_t ld = (size_t)batch * c->pp;
    int ow = c->g.ow, oh2 = c->g.oh / 2;
    for (int b = 0; b < batch; b++)
        for (int m = 0; m < c->maps; m++) {
            const float *plane = src + ((size_t)b * c->maps + m) * c->g.positions;
            for (int d = 0; d < 2; d++) {
                float *o = dst + (2 * m + d) * ld + (size_t)b * c->pp;
                for (int y = 0; y < oh2; y++)
                    memcpy(o + y * ow, plane + (size_t)(2 * y + d) * ow, sizeof(float) * ow);
            }
        }
}

/* Work layout: col [pk][B*pp] | dcol [pk][B*pp] | y [2 maps][B*pp] | squared weights |
 * paired weights | their gradient. */
static float *pairs_fixed(const conv *c, const nn_pass *p)
{
    size_t bpp = (size_t)p->batch * c->pp;
    return p->work + 2 * (size_t)c->pk * bpp + (size_t)c->maps * c->g.positions * p->batch;
}

static void pairs_forward(const conv *c, const nn_layer *l, const nn_pass *p)
{
    int bpp = p->batch * c->pp, m2 = 2 * c->maps;
    float *col = p->keep ? p->keep : p->work;
    float *ycm = p->work + 2 * (size_t)c->pk * bpp;
    float *wp = pairs_fixed(c, p) + (size_t)c->kk * c->maps;
    pair_weights(c, p->params, wp);
    nn_im2col_pairs_batch(&c->g, l->in[0], p->in[0], p->batch, col);
    nn_sgemm(0, 0, m2, bpp, c->pk, 1.0f, wp, c->pk, col, bpp, 0.0f, ycm, bpp);
    from_pairs(c, ycm, p->batch, p->params + (size_t)c->kk * c->maps, p->out);
}

static void pairs_back(const conv *c, const nn_layer *l, const nn_pass *p, int squared)
{
    int bpp = p->batch * c->pp, m2 = 2 * c->maps;
    size_t nw = (size_t)c->kk * c->maps;
    float *col = p->work, *dcol = col + (size_t)c->pk * bpp, *dy = dcol + (size_t)c->pk * bpp;
    float *w2 = pairs_fixed(c, p), *wp = w2 + nw, *dwp = wp + (size_t)m2 * c->pk;
    const float *w = p->params;
    if (p->kept && !squared)
        col = p->keep;
    else
        nn_im2col_pairs_batch(&c->g, l->in[0], p->in[0], p->batch, col);
    if (squared) {
        for (size_t i = 0; i < nw; i++)
            w2[i] = w[i] * w[i];
        for (size_t i = 0; i < (size_t)c->pk * bpp; i++)
            col[i] *= col[i];
        w = w2;
    }
    to_pairs(c, p->out_grad, p->batch, dy);
    nn_sgemm(0, 1, m2, c->pk, bpp, 1.0f, dy, bpp, col, bpp, 0.0f, dwp, c->pk);
    unpair_grads(c, dwp, p->grads);
    float *db = p->grads + nw;
    for (int o = 0; o < c->maps; o++)
        db[o] += (float)(nn_sum(dy + (size_t)(2 * o) * bpp, (size_t)bpp) +
                         nn_sum(dy + (size_t)(2 * o + 1) * bpp, (size_t)bpp));
    if (!p->in_grad[0])
        return;
    pair_weights(c, w, wp);
    nn_sgemm(1, 0, c->pk, bpp, m2, 1.0f, wp, c->pk, dy, bpp, 0.0f, dcol, bpp);
    nn_col2im_pairs_batch(&c->g, l->in[0], dcol, p->batch, p->in_grad[0]);
}

/* Work layout: col [kk][B*P] | dcol [kk][B*P] | ycm [maps][B*P] | squared weights. */
static void conv_forward(const nn_layer *l, const nn_pass *p)
{
    const conv *c = l->priv;
    if (c->whole) {
        whole_forward(c, p);
        return;
    }
    if (c->pairs && p->batch >= PAIRS_MIN_BATCH) {
        pairs_forward(c, l, p);
        return;
    }
    int bp = p->batch * c->g.positions;
    float *ycm = p->work + 2 * (size_t)c->kk * bp;
    float *col = p->keep ? p->keep : p->work; /* a training step's backward reuses it */
    const float *w = p->params, *bias = p->params + (size_t)c->kk * c->maps;
    nn_im2col_batch(&c->g, l->in[0], p->in[0], p->batch, col);
    nn_sgemm(0, 0, c->maps, bp, c->kk, 1.0f, w, c->kk, col, bp, 0.0f, ycm, bp);
    nn_from_channel_major(ycm, p->batch, c->maps, c->g.positions, bias, p->out);
}

/* The gradient and the Hessian passes share their shape: weights and inputs enter the same way,
 * squared for the Hessian. */
static void conv_back(const nn_layer *l, const nn_pass *p, int squared)
{
    const conv *c = l->priv;
    if (c->whole) {
        whole_back(c, p, squared);
        return;
    }
    if (c->pairs && p->batch >= PAIRS_MIN_BATCH) {
        pairs_back(c, l, p, squared);
        return;
    }
    int bp = p->batch * c->g.positions;
    size_t nw = (size_t)c->kk * c->maps;
    float *col = p->work, *dcol = col + (size_t)c->kk * bp, *dy = dcol + (size_t)c->kk * bp;
    const float *w = p->params;
    if (p->kept && !squared) /* the forward of this step left its im2col matrix */
        col = p->keep;
    else
        nn_im2col_batch(&c->g, l->in[0], p->in[0], p->batch, col);
    if (squared) {
        float *w2 = dy + (size_t)c->maps * bp;
        for (size_t i = 0; i < nw; i++)
            w2[i] = w[i] * w[i];
        for (size_t i = 0; i < (size_t)c->kk * bp; i++)
            col[i] *= col[i];
        w = w2;
    }
    nn_to_channel_major(p->out_grad, p->batch, c->maps, c->g.positions, dy);
    nn_sgemm(0, 1, c->maps, c->kk, bp, 1.0f, dy, bp, col, bp, 1.0f, p->grads, c->kk);
    float *db = p->grads + nw;
    for (int o = 0; o < c->maps; o++)
        db[o] += (float)nn_sum(dy + (size_t)o * bp, (size_t)bp);
    if (!p->in_grad[0])
        return;
    nn_sgemm(1, 0, c->kk, bp, c->maps, 1.0f, w, c->kk, dy, bp, 0.0f, dcol, bp);
    nn_col2im_batch(&c->g, l->in[0], dcol, p->batch, p->in_grad[0]);
}

static void conv_backward(const nn_layer *l, const nn_pass *p) { conv_back(l, p, 0); }
static void conv_hdiag(const nn_layer *l, const nn_pass *p) { conv_back(l, p, 1); }

const nn_layer_ops nn_layer_conv = {
    .type = "conv",
    .doc = "convolution over all input maps: maps, kernel, stride (1), padding (0), compute (auto, "
           "plain or pairs: two output rows per im2col column)",
    .keys = conv_keys,
    .min_inputs = 1,
    .max_inputs = 1,
    .configure = conv_configure,
    .infer = conv_infer,
    .init = conv_init,
    .forward = conv_forward,
    .backward = conv_backward,
    .backward_hdiag = conv_hdiag,
};
