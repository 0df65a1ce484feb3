/* Optimizers over the flat parameter block: SGD (momentum, weight decay), LeCun's stochastic
 * diagonal Levenberg-Marquardt (per-parameter step lr / (mu + h_kk), h the Gauss-Newton diagonal
 * re-estimated on a few hundred samples before each pass) and Adam (Kingma & Ba 2015, with
 * bias correction; weight decay added to the gradient). */
#ifndef NN_OPTIM_H
#define NN_OPTIM_H

#include <stddef.h>

#include "config.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum nn_optim_kind { NN_OPT_SGD, NN_OPT_SDLM, NN_OPT_ADAM, NN_OPT_COUNT } nn_optim_kind;
extern const char *const nn_optim_names[];

typedef struct nn_optim_cfg {
    nn_optim_kind kind;
    double momentum, weight_decay; /* sgd (weight_decay also adam) */
    double mu;                     /* sdlm */
    double beta1, beta2, eps;      /* adam */
    long hessian_samples;          /* sdlm */
    long hessian_every;            /* sdlm: also re-estimate every this many samples (0: once a
                                      pass, as the paper) */
} nn_optim_cfg;

/* Reads `optimizer: sgd` or `optimizer: {type: sdlm, mu: 0.02, hessian_samples: 500,
 * hessian_every: 0}` or `optimizer: {type: adam, beta1: 0.9, beta2: 0.999, eps: 1e-8}`. */
int nn_optim_read(const nn_node *train, nn_optim_cfg *out, nn_error *err);

typedef struct nn_optim {
    nn_optim_cfg cfg;
    size_t n;
    double lr;
    float *state; /* sgd: velocity; sdlm: the Hessian diagonal estimate (n floats); adam: the
                     first moments, the second moments (n floats each), then the step count
                     as two floats holding its low 16 and high bits, exact as integers */
    float *step;  /* sdlm: lr / (mu + h), per parameter */
} nn_optim;

int nn_optim_new(const nn_optim_cfg *cfg, size_t n_params, nn_optim **out, nn_error *err);
void nn_optim_free(nn_optim *opt);
/* Sets the learning rate (and, for sdlm, recomputes the steps from the current estimate). */
void nn_optim_set_lr(nn_optim *opt, double lr);
/* One update from the gradient of the batch mean, in one pass that also sets the gradients back
 * to zero for the next step and checks them. Returns 0 when every gradient was finite; 1 when
 * one was not, in which case the parameters it touched are NaN or Inf too (a non-finite gradient
 * always propagates, even at lr 0), which tells where it was. params and grads do not overlap
 * (the definition says restrict; the declaration does not, so that C++ can read it). */
int nn_optim_step(nn_optim *opt, float *params, float *grads);
/* The state to save in a checkpoint (floats at opt->state): n, or 2n + 2 for adam. */
size_t nn_optim_state_count(const nn_optim *opt);

#ifdef __cplusplus
}
#endif
#endif
