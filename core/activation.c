#include "activation.h"

#include <math.h>

const char *const nn_activation_names[] = {"identity", "lecun_tanh", "tanh", "sigmoid",
                                           "relu",     "softmax",    NULL};

static void softmax_row(float *y, size_t n)
{
    float m = y[0];
    for (size_t i = 1; i < n; i++)
        m = y[i] > m ? y[i] : m;
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        y[i] = expf(y[i] - m);
        s += y[i];
    }
    float inv = (float)(1.0 / s);
    for (size_t i = 0; i < n; i++)
        y[i] *= inv;
}

void nn_activation_forward(nn_activation act, float *y, size_t per_sample, int batch)
{
    size_t n = per_sample * (size_t)batch;
    switch (act) {
    case NN_ACT_IDENTITY:
        break;
    case NN_ACT_LECUN_TANH:
        for (size_t i = 0; i < n; i++)
            y[i] = NN_LECUN_A * tanhf(NN_LECUN_S * y[i]);
        break;
    case NN_ACT_TANH:
        for (size_t i = 0; i < n; i++)
            y[i] = tanhf(y[i]);
        break;
    case NN_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++)
            y[i] = 1.0f / (1.0f + expf(-y[i]));
        break;
    case NN_ACT_RELU:
        for (size_t i = 0; i < n; i++)
            y[i] = y[i] > 0 ? y[i] : 0;
        break;
    case NN_ACT_SOFTMAX:
        for (int b = 0; b < batch; b++)
            softmax_row(y + (size_t)b * per_sample, per_sample);
        break;
    }
}

/* f'(a) written in terms of y = f(a). */
static inline float slope(nn_activation act, float y)
{
    switch (act) {
    case NN_ACT_LECUN_TANH:
        return NN_LECUN_S * (NN_LECUN_A - y * y / NN_LECUN_A);
    case NN_ACT_TANH:
        return 1.0f - y * y;
    case NN_ACT_SIGMOID:
    case NN_ACT_SOFTMAX: /* the diagonal of the softmax Jacobian */
        return y * (1.0f - y);
    case NN_ACT_RELU:
        return y > 0 ? 1.0f : 0.0f;
    case NN_ACT_IDENTITY:
        break;
    }
    return 1.0f;
}

void nn_activation_backward(nn_activation act, const float *y, float *g, size_t per_sample,
                            int batch)
{
    size_t n = per_sample * (size_t)batch;
    if (act == NN_ACT_IDENTITY)
        return;
    if (act == NN_ACT_SOFTMAX) {
        for (int b = 0; b < batch; b++) {
            const float *yb = y + (size_t)b * per_sample;
            float *gb = g + (size_t)b * per_sample;
            double dot = 0;
            for (size_t i = 0; i < per_sample; i++)
                dot += (double)yb[i] * gb[i];
            for (size_t i = 0; i < per_sample; i++)
                gb[i] = yb[i] * (gb[i] - (float)dot);
        }
        return;
    }
    for (size_t i = 0; i < n; i++)
        g[i] *= slope(act, y[i]);
}

void nn_activation_hdiag(nn_activation act, const float *y, float *d2, size_t per_sample,
                         int batch)
{
    size_t n = per_sample * (size_t)batch;
    if (act == NN_ACT_IDENTITY)
        return;
    for (size_t i = 0; i < n; i++) {
        float s = slope(act, y[i]);
        d2[i] *= s * s;
    }
}
