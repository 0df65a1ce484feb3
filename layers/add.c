/* add: element-wise sum of inputs of the same shape (a residual join). */
#include <string.h>

#include "layer.h"

static int add_configure(nn_layer *l, const nn_node *cfg, nn_error *err)
{
    (void)l;
    (void)cfg;
    (void)err;
    return NN_OK;
}

static int add_infer(nn_layer *l, nn_layer_plan *plan, nn_error *err)
{
    nn_shape s = l->in[0];
    for (int i = 1; i < l->n_in; i++)
        if (l->in[i].c != s.c || l->in[i].h != s.h || l->in[i].w != s.w)
            return nn_layer_error(l, err, NN_E_SHAPE,
                                  "inputs must have the same shape: '%s' is %dx%dx%d, '%s' is "
                                  "%dx%dx%d",
                                  l->in_names[0], s.c, s.h, s.w, l->in_names[i], l->in[i].c,
                                  l->in[i].h, l->in[i].w);
    plan->out = s;
    plan->connections = (double)(l->n_in - 1) * nn_shape_size(s);
    return NN_OK;
}

static void add_forward(const nn_layer *l, const nn_pass *p)
{
    size_t n = nn_shape_size(l->out) * (size_t)p->batch;
    memcpy(p->out, p->in[0], sizeof(float) * n);
    for (int i = 1; i < l->n_in; i++)
        for (size_t k = 0; k < n; k++)
            p->out[k] += p->in[i][k];
}

static void add_backward(const nn_layer *l, const nn_pass *p)
{
    size_t n = nn_shape_size(l->out) * (size_t)p->batch;
    for (int i = 0; i < l->n_in; i++)
        if (p->in_grad[i])
            for (size_t k = 0; k < n; k++)
                p->in_grad[i][k] += p->out_grad[k];
}

const nn_layer_ops nn_layer_add = {
    .type = "add",
    .doc = "element-wise sum of 2 or more inputs of the same shape",
    .min_inputs = 2,
    .max_inputs = NN_MAX_INPUTS,
    .configure = add_configure,
    .infer = add_infer,
    .forward = add_forward,
    .backward = add_backward,
    .backward_hdiag = add_backward, /* the Jacobian is 0/1, so squaring changes nothing */
};
