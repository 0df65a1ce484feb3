/* dense: fully connected, the whole batch in one sgemm. Any input shape is read flat.
 * Parameters: weights [units][inputs], then one bias per unit. */
#include <stdio.h>
#include <string.h>

#include "blas.h"
#include "layer.h"

typedef struct dense {
    int units, n_in;
} dense;

static const char *const dense_keys[] = {"units", NULL};

static int dense_configure(nn_layer *l, const nn_node *cfg, nn_error *err)
{
    dense *d = nn_layer_alloc(l, sizeof *d);
    if (!d)
        return nn_error_set(err, NN_E_NOMEM, "out of memory");
    char what[96];
    snprintf(what, sizeof what, "layer '%s'", l->name);
    long units;
    int rc = nn_map_long(cfg, "units", 1, 0, 1, 1 << 20, what, &units, err);
    if (rc)
        return rc;
    d->units = (int)units;
    l->priv = d;
    return NN_OK;
}

static int dense_infer(nn_layer *l, nn_layer_plan *plan, nn_error *err)
{
    dense *d = l->priv;
    size_t n_in = nn_shape_size(l->in[0]);
    if (n_in * (size_t)d->units > ((size_t)1 << 30))
        return nn_layer_error(l, err, NN_E_SHAPE, "%zu x %d weights are too many", n_in,
                              d->units);
    d->n_in = (int)n_in;
    plan->out = (nn_shape){d->units, 1, 1};
    plan->n_params = (n_in + 1) * (size_t)d->units;
    plan->work_per_sample = n_in;              /* squared inputs for the Hessian pass */
    plan->work_fixed = n_in * (size_t)d->units; /* squared weights */
    plan->connections = (double)(n_in + 1) * d->units;
    snprintf(plan->kernel, sizeof plan->kernel, "%zux%d", n_in, d->units);
    return NN_OK;
}

static void dense_init(const nn_layer *l, float *params, float *fixed, nn_rng *rng)
{
    (void)fixed;
    const dense *d = l->priv;
    size_t nw = (size_t)d->n_in * d->units;
    nn_init_lecun_uniform(params, nw, (size_t)d->n_in, rng);
    memset(params + nw, 0, sizeof(float) * d->units);
}

static void dense_forward(const nn_layer *l, const nn_pass *p)
{
    const dense *d = l->priv;
    const float *bias = p->params + (size_t)d->n_in * d->units;
    for (int b = 0; b < p->batch; b++)
        memcpy(p->out + (size_t)b * d->units, bias, sizeof(float) * d->units);
    nn_sgemm(0, 1, p->batch, d->units, d->n_in, 1.0f, p->in[0], d->n_in, p->params, d->n_in,
             1.0f, p->out, d->units);
}

static void dense_back(const nn_layer *l, const nn_pass *p, int squared)
{
    const dense *d = l->priv;
    size_t nw = (size_t)d->n_in * d->units;
    const float *x = p->in[0], *w = p->params;
    if (squared) {
        float *x2 = p->work, *w2 = p->work + (size_t)p->batch * d->n_in;
        for (size_t i = 0; i < (size_t)p->batch * d->n_in; i++)
            x2[i] = x[i] * x[i];
        for (size_t i = 0; i < nw; i++)
            w2[i] = w[i] * w[i];
        x = x2;
        w = w2;
    }
    nn_sgemm(1, 0, d->units, d->n_in, p->batch, 1.0f, p->out_grad, d->units, x, d->n_in, 1.0f,
             p->grads, d->n_in);
    float *db = p->grads + nw;
    for (int b = 0; b < p->batch; b++)
        for (int u = 0; u < d->units; u++)
            db[u] += p->out_grad[(size_t)b * d->units + u];
    if (p->in_grad[0])
        nn_sgemm(0, 0, p->batch, d->n_in, d->units, 1.0f, p->out_grad, d->units, w, d->n_in,
                 1.0f, p->in_grad[0], d->n_in);
}

static void dense_backward(const nn_layer *l, const nn_pass *p) { dense_back(l, p, 0); }
static void dense_hdiag(const nn_layer *l, const nn_pass *p) { dense_back(l, p, 1); }

const nn_layer_ops nn_layer_dense = {
    .type = "dense",
    .doc = "fully connected: units",
    .keys = dense_keys,
    .min_inputs = 1,
    .max_inputs = 1,
    .configure = dense_configure,
    .infer = dense_infer,
    .init = dense_init,
    .forward = dense_forward,
    .backward = dense_backward,
    .backward_hdiag = dense_hdiag,
};
