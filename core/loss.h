/* Losses over a batch of outputs and integer labels. */
#ifndef NN_LOSS_H
#define NN_LOSS_H

#include <stdint.h>

#include "config.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum nn_loss_kind {
    NN_LOSS_RBF_MSE,       /* E = y_D: the distance to the correct class's prototype */
    NN_LOSS_RBF_MAP,       /* E = y_D + log(e^-j + sum_i e^-y_i), LeCun et al.'s MAP criterion */
    NN_LOSS_CROSS_ENTROPY  /* E = -log p_D over a softmax output */
} nn_loss_kind;

typedef struct nn_loss {
    nn_loss_kind kind;
    double map_j;          /* the MAP criterion's constant j */
} nn_loss;

extern const char *const nn_loss_names[]; /* NULL-terminated, indexed by nn_loss_kind */

/* Reads `loss: NAME` or `loss: {type: NAME, j: 10}` from the train section. */
int nn_loss_read(const nn_node *train, nn_loss *out, nn_error *err);

/* Sum over the batch of the per-sample loss; counts misclassified samples into *n_wrong. When
 * grad is not NULL writes dE/dy of the batch mean (for cross_entropy: with respect to the
 * softmax's input, see nn_loss_grad_is_preact). */
double nn_loss_eval(const nn_loss *loss, const float *y, const uint8_t *labels, int batch,
                    int n_out, float *grad, int *n_wrong);
/* The same for n samples of a batch of `batch` (the gradient is of the whole batch's mean). */
double nn_loss_eval_part(const nn_loss *loss, const float *y, const uint8_t *labels, int n,
                         int batch, int n_out, float *grad, int *n_wrong);
/* The loss of nn_graph_step for a batch of labels: ctx is an nn_slice_labels. */
typedef struct nn_slice_labels {
    const nn_loss *loss;
    const uint8_t *labels; /* the whole batch's */
    int batch, n_out;
} nn_slice_labels;
double nn_loss_slice(void *ctx, const float *y, int b0, int n, float *dout, int *wrong);
/* 1 when the gradient is with respect to the output layer's value before its activation. */
int nn_loss_grad_is_preact(const nn_loss *loss);
/* The predicted class of one output vector (argmin for RBF distances, argmax otherwise). */
int nn_loss_predict(const nn_loss *loss, const float *y, int n_out);
/* Score of class i for ranking, higher is better (-y for distances). */
float nn_loss_score(const nn_loss *loss, const float *y, int i);
/* Per sample (not averaged): the Gauss-Newton d2E/dy^2 into d2 and dE/dy into g1. */
void nn_loss_hdiag(const nn_loss *loss, const float *y, const uint8_t *labels, int batch,
                   int n_out, float *d2, float *g1);

#ifdef __cplusplus
}
#endif
#endif
