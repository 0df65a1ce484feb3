/* maxpool: the largest value of each size x size window of one map, no parameters. Backward
 * finds the window's maximum again from the input (the first one on ties, as forward), so
 * nothing is kept between the passes. */
#include <stdio.h>

#include "layer.h"

static const char *const maxpool_keys[] = {"size", "stride", NULL};

static int maxpool_configure(nn_layer *l, const nn_node *cfg, nn_error *err)
{
    nn_pool_geom *g = nn_layer_alloc(l, sizeof *g);
    if (!g)
        return nn_error_set(err, NN_E_NOMEM, "out of memory");
    l->priv = g;
    return nn_pool_geom_read(l, cfg, g, err);
}

static int maxpool_infer(nn_layer *l, nn_layer_plan *plan, nn_error *err)
{
    nn_pool_geom *g = l->priv;
    int rc = nn_pool_geom_infer(l, g, err);
    if (rc)
        return rc;
    plan->out = (nn_shape){l->in[0].c, g->oh, g->ow};
    plan->connections = (double)(g->size * g->size) * nn_shape_size(plan->out);
    snprintf(plan->kernel, sizeof plan->kernel, "%dx%d max", g->size, g->size);
    return NN_OK;
}

/* Offset of the window's maximum from plane. */
static size_t argmax(const nn_pool_geom *g, const float *plane, int w, int y, int x)
{
    size_t best = (size_t)y * g->stride * w + (size_t)x * g->stride;
    for (int ky = 0; ky < g->size; ky++)
        for (int kx = 0; kx < g->size; kx++) {
            size_t at = (size_t)(y * g->stride + ky) * w + (size_t)(x * g->stride + kx);
            if (plane[at] > plane[best])
                best = at;
        }
    return best;
}

static void maxpool_forward(const nn_layer *l, const nn_pass *p)
{
    const nn_pool_geom *g = l->priv;
    nn_shape in = l->in[0];
    float *out = p->out;
    for (int b = 0; b < p->batch; b++)
        for (int c = 0; c < in.c; c++) {
            const float *plane = p->in[0] + ((size_t)b * in.c + c) * in.h * in.w;
            for (int y = 0; y < g->oh; y++)
                for (int x = 0; x < g->ow; x++)
                    *out++ = plane[argmax(g, plane, in.w, y, x)];
        }
}

/* The Jacobian is 1 at the maximum and 0 elsewhere, so the gradient and the Gauss-Newton
 * diagonal are routed the same way. */
static void maxpool_route(const nn_layer *l, const nn_pass *p)
{
    if (!p->in_grad[0])
        return;
    const nn_pool_geom *g = l->priv;
    nn_shape in = l->in[0];
    const float *dy = p->out_grad;
    for (int b = 0; b < p->batch; b++)
        for (int c = 0; c < in.c; c++) {
            size_t off = ((size_t)b * in.c + c) * in.h * in.w;
            const float *plane = p->in[0] + off;
            float *gplane = p->in_grad[0] + off;
            for (int y = 0; y < g->oh; y++)
                for (int x = 0; x < g->ow; x++)
                    gplane[argmax(g, plane, in.w, y, x)] += *dy++;
        }
}

const nn_layer_ops nn_layer_maxpool = {
    .type = "maxpool",
    .doc = "max pooling, no parameters: size (2), stride (size)",
    .keys = maxpool_keys,
    .min_inputs = 1,
    .max_inputs = 1,
    .configure = maxpool_configure,
    .infer = maxpool_infer,
    .forward = maxpool_forward,
    .backward = maxpool_route,
    .backward_hdiag = maxpool_route,
};
