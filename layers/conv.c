/* conv: a full convolution, `maps` output maps over every input map; im2col of the whole batch
 * into one matrix, then a single sgemm. Parameters: weights [maps][in_maps * k * k], then one
 * bias per map. */
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
} conv;

static const char *const conv_keys[] = {"maps", "kernel", "stride", "padding", NULL};

static int conv_configure(nn_layer *l, const nn_node *cfg, nn_error *err)
{
    conv *c = nn_layer_alloc(l, sizeof *c);
    if (!c)
        return nn_error_set(err, NN_E_NOMEM, "out of memory");
    int rc = nn_conv_geom_read(l, cfg, &c->g, err);
    if (rc)
        return rc;
    c->maps = c->g.maps;
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
    size_t kk = (size_t)c->kk, p = (size_t)c->g.positions;
    plan->out = (nn_shape){c->maps, c->g.oh, c->g.ow};
    plan->n_params = (kk + 1) * (size_t)c->maps;
    /* col, dcol and the channel-major output or gradient, per sample */
    plan->work_per_sample = 2 * kk * p + (size_t)c->maps * p;
    plan->work_fixed = kk * (size_t)c->maps; /* squared weights for the Hessian pass */
    plan->keep_per_sample = c->whole ? 0 : kk * p; /* the im2col matrix, for the backward */
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

/* Work layout: col [kk][B*P] | dcol [kk][B*P] | ycm [maps][B*P] | squared weights. */
static void conv_forward(const nn_layer *l, const nn_pass *p)
{
    const conv *c = l->priv;
    if (c->whole) {
        whole_forward(c, p);
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
