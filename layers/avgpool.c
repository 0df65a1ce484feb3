/* avgpool: plain average pooling, the mean of each size x size window of one map, with no
 * parameters (LeCun's subsample without its coefficient and bias). */
#include <stdio.h>

#include "layer.h"

static const char *const avgpool_keys[] = {"size", "stride", NULL};

static int avgpool_configure(nn_layer *l, const nn_node *cfg, nn_error *err)
{
    nn_pool_geom *g = nn_layer_alloc(l, sizeof *g);
    if (!g)
        return nn_error_set(err, NN_E_NOMEM, "out of memory");
    l->priv = g;
    return nn_pool_geom_read(l, cfg, g, err);
}

static int avgpool_infer(nn_layer *l, nn_layer_plan *plan, nn_error *err)
{
    nn_pool_geom *g = l->priv;
    int rc = nn_pool_geom_infer(l, g, err);
    if (rc)
        return rc;
    plan->out = (nn_shape){l->in[0].c, g->oh, g->ow};
    plan->connections = (double)(g->size * g->size) * nn_shape_size(plan->out);
    snprintf(plan->kernel, sizeof plan->kernel, "%dx%d", g->size, g->size);
    return NN_OK;
}

static void avgpool_forward(const nn_layer *l, const nn_pass *p)
{
    const nn_pool_geom *g = l->priv;
    nn_shape in = l->in[0];
    float scale = 1.0f / (float)(g->size * g->size);
    float *out = p->out;
    for (int b = 0; b < p->batch; b++)
        for (int c = 0; c < in.c; c++) {
            const float *plane = p->in[0] + ((size_t)b * in.c + c) * in.h * in.w;
            for (int y = 0; y < g->oh; y++)
                for (int x = 0; x < g->ow; x++) {
                    const float *win = plane + (size_t)y * g->stride * in.w + x * g->stride;
                    float sum = 0;
                    for (int ky = 0; ky < g->size; ky++)
                        for (int kx = 0; kx < g->size; kx++)
                            sum += win[ky * in.w + kx];
                    *out++ = sum * scale;
                }
        }
}

/* Every input of a window sees the factor 1/size^2: the gradient spreads it, the Gauss-Newton
 * diagonal spreads its square. */
static void avgpool_spread(const nn_layer *l, const nn_pass *p, float factor)
{
    if (!p->in_grad[0])
        return;
    const nn_pool_geom *g = l->priv;
    nn_shape in = l->in[0];
    const float *dy = p->out_grad;
    for (int b = 0; b < p->batch; b++)
        for (int c = 0; c < in.c; c++) {
            float *plane = p->in_grad[0] + ((size_t)b * in.c + c) * in.h * in.w;
            for (int y = 0; y < g->oh; y++)
                for (int x = 0; x < g->ow; x++) {
                    float v = *dy++ * factor;
                    float *win = plane + (size_t)y * g->stride * in.w + x * g->stride;
                    for (int ky = 0; ky < g->size; ky++)
                        for (int kx = 0; kx < g->size; kx++)
                            win[ky * in.w + kx] += v;
                }
        }
}

static void avgpool_backward(const nn_layer *l, const nn_pass *p)
{
    const nn_pool_geom *g = l->priv;
    avgpool_spread(l, p, 1.0f / (float)(g->size * g->size));
}

static void avgpool_hdiag(const nn_layer *l, const nn_pass *p)
{
    const nn_pool_geom *g = l->priv;
    float f = 1.0f / (float)(g->size * g->size);
    avgpool_spread(l, p, f * f);
}

const nn_layer_ops nn_layer_avgpool = {
    .type = "avgpool",
    .doc = "average pooling, no parameters: size (2), stride (size)",
    .keys = avgpool_keys,
    .min_inputs = 1,
    .max_inputs = 1,
    .configure = avgpool_configure,
    .infer = avgpool_infer,
    .forward = avgpool_forward,
    .backward = avgpool_backward,
    .backward_hdiag = avgpool_hdiag,
};
