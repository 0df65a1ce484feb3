/* Per-layer activations, applied by the core in place on a layer's output. Every derivative is
 * computed from the output y, so the pre-activation values need not be kept. */
#ifndef NN_ACTIVATION_H
#define NN_ACTIVATION_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum nn_activation {
    NN_ACT_IDENTITY,
    NN_ACT_LECUN_TANH, /* 1.7159 tanh(2x/3) */
    NN_ACT_TANH,
    NN_ACT_SIGMOID,
    NN_ACT_RELU,
    NN_ACT_SOFTMAX     /* over each sample's whole output */
} nn_activation;

#define NN_LECUN_A 1.7159f
#define NN_LECUN_S (2.0f / 3.0f)

/* NULL-terminated, indexed by nn_activation. */
extern const char *const nn_activation_names[];

/* y = 1.7159 tanh(2y/3) in place (vectorized; tanh's relative error below 4e-7). */
void nn_lecun_tanh(float *y, size_t n);

void nn_activation_forward(nn_activation act, float *y, size_t per_sample, int batch);
/* g holds dE/dy; replaced by dE/d(pre-activation). */
void nn_activation_backward(nn_activation act, const float *y, float *g, size_t per_sample,
                            int batch);
/* d2 holds d2E/dy2 (Gauss-Newton); replaced by f'(a)^2 * d2. */
void nn_activation_hdiag(nn_activation act, const float *y, float *d2, size_t per_sample,
                         int batch);

#ifdef __cplusplus
}
#endif
#endif
