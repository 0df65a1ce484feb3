/* conv: a full convolution, `maps` output maps over every input map; im2col of the whole batch
 * into one matrix, then a single sgemm. Parameters: weights [maps][in_maps * k * k], then one
 * bias per map. */
#include <stdio.h>
#include <string.h>

#include "blas.h"
#include "layer.h"

typedef struct conv {
    int maps, k, stride, pad;
    int kk;        /* in_maps * k * k: one row of the weight matrix */
    int oh, ow, positions;
} conv;

static const char *const conv_keys[] = {"maps", "kernel", "stride", "padding", NULL};

static int conv_configure(nn_layer *l, const nn_node *cfg, nn_error *err)
{
    conv *c = nn_layer_alloc(l, sizeof *c);
    if (!c)
        return nn_error_set(err, NN_E_NOMEM, "out of memory");
    char what[96];
    snprintf(what, sizeof what, "layer '%s'", l->name);
    long maps, k, stride, pad;
    int rc = nn_map_long(cfg, "maps", 1, 0, 1, 65536, what, &maps, err);
    if (!rc)
        rc = nn_map_long(cfg, "kernel", 1, 0, 1, 1024, what, &k, err);
    if (!rc)
        rc = nn_map_long(cfg, "stride", 0, 1, 1, 1024, what, &stride, err);
    if (!rc)
        rc = nn_map_long(cfg, "padding", 0, 0, 0, 1024, what, &pad, err);
    if (rc)
        return rc;
    c->maps = (int)maps;
    c->k = (int)k;
    c->stride = (int)stride;
    c->pad = (int)pad;
    l->priv = c;
    return NN_OK;
}

static int conv_infer(nn_layer *l, nn_layer_plan *plan, nn_error *err)
{
    conv *c = l->priv;
    nn_shape in = l->in[0];
    int span_h = in.h + 2 * c->pad, span_w = in.w + 2 * c->pad;
    if (c->k > span_h || c->k > span_w)
        return nn_layer_error(l, err, NN_E_SHAPE,
                              "kernel %dx%d is larger than its input %dx%d (padded by %d) from "
                              "layer '%s'",
                              c->k, c->k, in.h, in.w, c->pad, l->in_names[0]);
    c->oh = (span_h - c->k) / c->stride + 1;
    c->ow = (span_w - c->k) / c->stride + 1;
    c->positions = c->oh * c->ow;
    c->kk = in.c * c->k * c->k;
    size_t kk = (size_t)c->kk, p = (size_t)c->positions;
    plan->out = (nn_shape){c->maps, c->oh, c->ow};
    plan->n_params = (kk + 1) * (size_t)c->maps;
    /* col, dcol and the channel-major output or gradient, per sample */
    plan->work_per_sample = 2 * kk * p + (size_t)c->maps * p;
    plan->work_fixed = kk * (size_t)c->maps; /* squared weights for the Hessian pass */
    plan->connections = (double)(kk + 1) * c->maps * p;
    snprintf(plan->kernel, sizeof plan->kernel, "%dx%d", c->k, c->k);
    if (c->stride != 1 || c->pad) {
        size_t len = strlen(plan->kernel);
        snprintf(plan->kernel + len, sizeof plan->kernel - len, " s%d p%d", c->stride, c->pad);
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

/* Work layout: col [kk][B*P] | dcol [kk][B*P] | ycm [maps][B*P] | squared weights. */
static void im2col_batch(const conv *c, const nn_layer *l, const float *in, int batch, float *col)
{
    nn_shape s = l->in[0];
    size_t in_size = nn_shape_size(s);
    int ld = batch * c->positions;
    for (int b = 0; b < batch; b++)
        nn_im2col(in + b * in_size, s.c, s.h, s.w, c->k, c->stride, c->pad, c->oh, c->ow,
                  col + (size_t)b * c->positions, ld);
}

static void conv_forward(const nn_layer *l, const nn_pass *p)
{
    const conv *c = l->priv;
    int bp = p->batch * c->positions;
    float *col = p->work;
    float *ycm = col + 2 * (size_t)c->kk * bp;
    const float *w = p->params, *bias = p->params + (size_t)c->kk * c->maps;
    im2col_batch(c, l, p->in[0], p->batch, col);
    nn_sgemm(0, 0, c->maps, bp, c->kk, 1.0f, w, c->kk, col, bp, 0.0f, ycm, bp);
    nn_from_channel_major(ycm, p->batch, c->maps, c->positions, bias, p->out);
}

/* The gradient and the Hessian passes share their shape: weights and inputs enter the same way,
 * squared for the Hessian. */
static void conv_back(const nn_layer *l, const nn_pass *p, int squared)
{
    const conv *c = l->priv;
    int bp = p->batch * c->positions;
    size_t nw = (size_t)c->kk * c->maps;
    float *col = p->work, *dcol = col + (size_t)c->kk * bp, *dy = dcol + (size_t)c->kk * bp;
    const float *w = p->params;
    im2col_batch(c, l, p->in[0], p->batch, col);
    if (squared) {
        float *w2 = dy + (size_t)c->maps * bp;
        for (size_t i = 0; i < nw; i++)
            w2[i] = w[i] * w[i];
        for (size_t i = 0; i < (size_t)c->kk * bp; i++)
            col[i] *= col[i];
        w = w2;
    }
    nn_to_channel_major(p->out_grad, p->batch, c->maps, c->positions, dy);
    nn_sgemm(0, 1, c->maps, c->kk, bp, 1.0f, dy, bp, col, bp, 1.0f, p->grads, c->kk);
    float *db = p->grads + nw;
    for (int o = 0; o < c->maps; o++) {
        double s = 0;
        for (int i = 0; i < bp; i++)
            s += dy[(size_t)o * bp + i];
        db[o] += (float)s;
    }
    if (!p->in_grad[0])
        return;
    nn_sgemm(1, 0, c->kk, bp, c->maps, 1.0f, w, c->kk, dy, bp, 0.0f, dcol, bp);
    nn_shape s = l->in[0];
    size_t in_size = nn_shape_size(s);
    for (int b = 0; b < p->batch; b++)
        nn_col2im_add(dcol + (size_t)b * c->positions, bp, s.c, s.h, s.w, c->k, c->stride,
                      c->pad, c->oh, c->ow, p->in_grad[0] + b * in_size);
}

static void conv_backward(const nn_layer *l, const nn_pass *p) { conv_back(l, p, 0); }
static void conv_hdiag(const nn_layer *l, const nn_pass *p) { conv_back(l, p, 1); }

const nn_layer_ops nn_layer_conv = {
    .type = "conv",
    .doc = "convolution over all input maps: maps, kernel, stride (1), padding (0)",
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
