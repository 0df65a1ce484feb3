#include "optim.h"
#include "simd.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

const char *const nn_optim_names[] = {"sgd", "sdlm", NULL};

int nn_optim_read(const nn_node *train, nn_optim_cfg *out, nn_error *err)
{
    static const char *const keys[] = {"type", "momentum", "weight_decay", "mu",
                                       "hessian_samples", "hessian_every", NULL};
    static const char *const what = "train: optimizer";
    memset(out, 0, sizeof *out);
    out->kind = NN_OPT_SDLM;
    out->mu = 0.02;
    out->hessian_samples = 500;
    const nn_node *n = nn_node_get(train, "optimizer");
    int kind = out->kind;
    if (!n || n->kind != NN_NODE_MAP) {
        int rc = nn_map_choice(train, "optimizer", 0, kind, nn_optim_names, "train", &kind, err);
        out->kind = (nn_optim_kind)kind;
        return rc;
    }
    int rc = nn_node_check_keys(n, keys, what, err);
    if (!rc)
        rc = nn_map_choice(n, "type", 1, 0, nn_optim_names, what, &kind, err);
    if (!rc)
        rc = nn_map_double(n, "momentum", 0, 0.0, 0.0, 0.999999, what, &out->momentum, err);
    if (!rc)
        rc = nn_map_double(n, "weight_decay", 0, 0.0, 0.0, 1.0, what, &out->weight_decay, err);
    if (!rc)
        rc = nn_map_double(n, "mu", 0, out->mu, 1e-12, 1e6, what, &out->mu, err);
    if (!rc)
        rc = nn_map_long(n, "hessian_samples", 0, out->hessian_samples, 1, 10000000, what,
                         &out->hessian_samples, err);
    if (!rc)
        rc = nn_map_long(n, "hessian_every", 0, 0, 0, 1000000000, what, &out->hessian_every,
                         err);
    out->kind = (nn_optim_kind)kind;
    static const char *const sdlm_only[] = {"mu", "hessian_samples", "hessian_every", NULL};
    for (int i = 0; !rc && out->kind == NN_OPT_SGD && sdlm_only[i]; i++) {
        const nn_node *v = nn_node_get(n, sdlm_only[i]);
        if (v)
            return nn_node_error(err, NN_E_CONFIG, v, "%s: '%s' belongs to sdlm, not sgd", what,
                                 sdlm_only[i]);
    }
    if (!rc && out->kind == NN_OPT_SDLM && nn_node_get(n, "momentum"))
        return nn_node_error(err, NN_E_CONFIG, nn_node_get(n, "momentum"),
                             "%s: 'momentum' belongs to sgd, not sdlm", what);
    return rc;
}

int nn_optim_new(const nn_optim_cfg *cfg, size_t n_params, nn_optim **out, nn_error *err)
{
    nn_optim *o = calloc(1, sizeof *o);
    if (!o)
        return nn_error_set(err, NN_E_NOMEM, "out of memory");
    o->cfg = *cfg;
    o->n = n_params;
    o->state = calloc(n_params + 1, sizeof(float));
    o->step = cfg->kind == NN_OPT_SDLM ? calloc(n_params + 1, sizeof(float)) : NULL;
    if (!o->state || (cfg->kind == NN_OPT_SDLM && !o->step)) {
        nn_optim_free(o);
        return nn_error_set(err, NN_E_NOMEM, "out of memory for the optimizer state");
    }
    *out = o;
    return NN_OK;
}

void nn_optim_free(nn_optim *opt)
{
    if (!opt)
        return;
    free(opt->state);
    free(opt->step);
    free(opt);
}

void nn_optim_set_lr(nn_optim *opt, double lr)
{
    opt->lr = lr;
    if (opt->cfg.kind != NN_OPT_SDLM)
        return;
    for (size_t k = 0; k < opt->n; k++)
        opt->step[k] = (float)(lr / (opt->cfg.mu + opt->state[k]));
}

/* A float is NaN or Inf exactly when its exponent bits are all ones; testing the bits keeps the
 * loop free of branches and floating-point reductions, so it vectorizes. */
static inline uint32_t nonfinite_bits(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return (u & 0x7f800000u) == 0x7f800000u;
}

NN_CLONES int nn_optim_step(nn_optim *opt, float *restrict params, float *restrict grads)
{
    size_t n = opt->n;
    uint32_t bad = 0;
    if (opt->cfg.kind == NN_OPT_SDLM) {
        const float *restrict step = opt->step;
        for (size_t k = 0; k < n; k++) {
            float g = grads[k];
            bad |= nonfinite_bits(g);
            params[k] -= step[k] * g;
            grads[k] = 0.0f;
        }
        return bad != 0;
    }
    float lr = (float)opt->lr, m = (float)opt->cfg.momentum, wd = (float)opt->cfg.weight_decay;
    float *restrict v = opt->state;
    for (size_t k = 0; k < n; k++) {
        float g = grads[k];
        bad |= nonfinite_bits(g);
        v[k] = m * v[k] - lr * (g + wd * params[k]);
        params[k] += v[k];
        grads[k] = 0.0f;
    }
    return bad != 0;
}

size_t nn_optim_state_count(const nn_optim *opt) { return opt->n; }
