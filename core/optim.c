#include "optim.h"
#include "simd.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const nn_optim_names[] = {"sgd", "sdlm", "adam", NULL};

int nn_optim_read(const nn_node *train, nn_optim_cfg *out, nn_error *err)
{
    static const char *const keys[] = {"type", "momentum", "weight_decay", "mu", "hessian_samples",
                                       "hessian_every", "beta1", "beta2", "eps", NULL};
    static const char *const what = "train: optimizer";
    memset(out, 0, sizeof *out);
    out->kind = NN_OPT_SDLM;
    out->mu = 0.02;
    out->hessian_samples = 500;
    out->beta1 = 0.9;
    out->beta2 = 0.999;
    out->eps = 1e-8;
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
    if (!rc)
        rc = nn_map_double(n, "beta1", 0, out->beta1, 0.0, 0.999999, what, &out->beta1, err);
    if (!rc)
        rc = nn_map_double(n, "beta2", 0, out->beta2, 0.0, 0.99999999, what, &out->beta2, err);
    if (!rc)
        rc = nn_map_double(n, "eps", 0, out->eps, 1e-12, 1.0, what, &out->eps, err);
    out->kind = (nn_optim_kind)kind;
    if (rc)
        return rc;
    /* Each key belongs to some optimizers; one given to another is a mistake worth naming. */
    static const struct {
        const char *key;
        unsigned kinds; /* bit per nn_optim_kind */
    } owners[] = {{"momentum", 1u << NN_OPT_SGD},
                  {"weight_decay", 1u << NN_OPT_SGD | 1u << NN_OPT_ADAM},
                  {"mu", 1u << NN_OPT_SDLM},
                  {"hessian_samples", 1u << NN_OPT_SDLM},
                  {"hessian_every", 1u << NN_OPT_SDLM},
                  {"beta1", 1u << NN_OPT_ADAM},
                  {"beta2", 1u << NN_OPT_ADAM},
                  {"eps", 1u << NN_OPT_ADAM}};
    for (size_t i = 0; i < sizeof owners / sizeof owners[0]; i++) {
        const nn_node *v = nn_node_get(n, owners[i].key);
        if (v && !(owners[i].kinds & (1u << out->kind))) {
            char list[64] = "";
            for (int k = 0; k < NN_OPT_COUNT; k++)
                if (owners[i].kinds & (1u << k))
                    snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
                             list[0] ? " and " : "", nn_optim_names[k]);
            return nn_node_error(err, NN_E_CONFIG, v, "%s: '%s' belongs to %s, not %s", what,
                                 owners[i].key, list, nn_optim_names[out->kind]);
        }
    }
    return NN_OK;
}

int nn_optim_new(const nn_optim_cfg *cfg, size_t n_params, nn_optim **out, nn_error *err)
{
    nn_optim *o = calloc(1, sizeof *o);
    if (!o)
        return nn_error_set(err, NN_E_NOMEM, "out of memory");
    o->cfg = *cfg;
    o->n = n_params;
    o->state = calloc(nn_optim_state_count(o) + 1, sizeof(float));
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

static uint64_t adam_count(const nn_optim *opt)
{
    const float *c = opt->state + 2 * opt->n;
    return (uint64_t)c[0] | (uint64_t)c[1] << 16;
}

static void adam_set_count(nn_optim *opt, uint64_t t)
{
    float *c = opt->state + 2 * opt->n;
    c[0] = (float)(t & 0xffff);
    c[1] = (float)(t >> 16);
}

static int adam_step(nn_optim *opt, float *restrict params, float *restrict grads)
{
    size_t n = opt->n;
    uint64_t t = adam_count(opt) + 1;
    adam_set_count(opt, t);
    double b1 = opt->cfg.beta1, b2 = opt->cfg.beta2;
    /* The bias corrections folded into the step size and epsilon, computed in double. */
    double c1 = 1.0 - pow(b1, (double)t), c2 = 1.0 - pow(b2, (double)t);
    float step = (float)(opt->lr * sqrt(c2) / c1), eps = (float)(opt->cfg.eps * sqrt(c2));
    float fb1 = (float)b1, fb2 = (float)b2, wd = (float)opt->cfg.weight_decay;
    float *restrict m = opt->state, *restrict v = opt->state + n;
    uint32_t bad = 0;
    for (size_t k = 0; k < n; k++) {
        bad |= nonfinite_bits(grads[k]);
        float g = grads[k] + wd * params[k];
        m[k] = fb1 * m[k] + (1 - fb1) * g;
        v[k] = fb2 * v[k] + (1 - fb2) * g * g;
        params[k] -= step * m[k] / (sqrtf(v[k]) + eps);
        grads[k] = 0.0f;
    }
    return bad != 0;
}

NN_CLONES int nn_optim_step(nn_optim *opt, float *restrict params, float *restrict grads)
{
    size_t n = opt->n;
    uint32_t bad = 0;
    if (opt->cfg.kind == NN_OPT_ADAM)
        return adam_step(opt, params, grads);
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

size_t nn_optim_state_count(const nn_optim *opt)
{
    return opt->cfg.kind == NN_OPT_ADAM ? 2 * opt->n + 2 : opt->n;
}
