/* concat: joins its inputs along the channel axis; they must agree in height and width. */
#include <string.h>

#include "layer.h"

static int concat_configure(nn_layer *l, const nn_node *cfg, nn_error *err)
{
    (void)l;
    (void)cfg;
    (void)err;
    return NN_OK;
}

static int concat_infer(nn_layer *l, nn_layer_plan *plan, nn_error *err)
{
    int c = 0;
    for (int i = 0; i < l->n_in; i++) {
        if (l->in[i].h != l->in[0].h || l->in[i].w != l->in[0].w)
            return nn_layer_error(l, err, NN_E_SHAPE,
                                  "inputs must agree in height and width: '%s' is %dx%dx%d, "
                                  "'%s' is %dx%dx%d",
                                  l->in_names[0], l->in[0].c, l->in[0].h, l->in[0].w,
                                  l->in_names[i], l->in[i].c, l->in[i].h, l->in[i].w);
        c += l->in[i].c;
    }
    plan->out = (nn_shape){c, l->in[0].h, l->in[0].w};
    return NN_OK;
}

static void concat_forward(const nn_layer *l, const nn_pass *p)
{
    size_t out_size = nn_shape_size(l->out), at = 0;
    for (int i = 0; i < l->n_in; i++) {
        size_t n = nn_shape_size(l->in[i]);
        for (int b = 0; b < p->batch; b++)
            memcpy(p->out + b * out_size + at, p->in[i] + b * n, sizeof(float) * n);
        at += n;
    }
}

static void concat_backward(const nn_layer *l, const nn_pass *p)
{
    size_t out_size = nn_shape_size(l->out), at = 0;
    for (int i = 0; i < l->n_in; i++) {
        size_t n = nn_shape_size(l->in[i]);
        if (p->in_grad[i])
            for (int b = 0; b < p->batch; b++) {
                const float *src = p->out_grad + b * out_size + at;
                float *dst = p->in_grad[i] + b * n;
                for (size_t k = 0; k < n; k++)
                    dst[k] += src[k];
            }
        at += n;
    }
}

const nn_layer_ops nn_layer_concat = {
    .type = "concat",
    .doc = "joins 2 or more inputs along the channel axis (same height and width)",
    .min_inputs = 2,
    .max_inputs = NN_MAX_INPUTS,
    .configure = concat_configure,
    .infer = concat_infer,
    .forward = concat_forward,
    .backward = concat_backward,
    .backward_hdiag = concat_backward, /* a copy: its Gauss-Newton pass is the same routing */
};
