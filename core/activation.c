#include "activation.h"
#include "simd.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

const char *const nn_activation_names[] = {"identity", "lecun_tanh", "tanh", "sigmoid",
                                           "relu",     "softmax",    NULL};

/* tanh without libm, written so that the compiler vectorizes the loops that call it (no
 * branches, no calls): relative error below 2e-7 over the whole range (libm's tanhf: 1.5e-7),
 * NaN passes through. Two pieces, as in Cephes: an odd polynomial below |x| = 0.625, else
 * 1 - 2 / (e^2|x| + 1), with e^y = 2^n p(r) for y in [0, 40]. */
static inline float bits_float(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline uint32_t float_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline float exp_0_40(float y)
{
    float n = (float)(int32_t)(y * 1.44269504f + 0.5f); /* y >= 0: truncation rounds */
    float r = y - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    return p * bits_float((uint32_t)((int32_t)n + 127) << 23);
}

static inline float fast_tanh(float x)
{
    uint32_t xb = float_bits(x), sign = xb & 0x80000000u;
    float a = bits_float(xb & 0x7fffffffu), z = x * x;
    float small = ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z +
                    1.33314422036e-1f) * z - 3.33332819422e-1f) * z * x + x;
    /* 2|x| clamped to 40 on its bits (a float >= 0 orders as its bits do): tanh is 1 there */
    int32_t yb = (int32_t)float_bits(a + a);
    yb = yb < 0x42200000 ? yb : 0x42200000;
    float big = 1.0f - 2.0f / (exp_0_40(bits_float((uint32_t)yb)) + 1.0f);
    uint32_t bb = float_bits(big) | sign;
    uint32_t use_small = 0u - (uint32_t)(a < 0.625f);
    uint32_t rb = (float_bits(small) & use_small) | (bb & ~use_small);
    uint32_t nan = 0u - (uint32_t)((int32_t)(xb & 0x7fffffffu) > 0x7f800000);
    return bits_float((xb & nan) | (rb & ~nan));
}

NN_CLONES void nn_lecun_tanh(float *restrict y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = NN_LECUN_A * fast_tanh(NN_LECUN_S * y[i]);
}

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
        nn_lecun_tanh(y, n);
        break;
    case NN_ACT_TANH:
        for (size_t i = 0; i < n; i++)
            y[i] = fast_tanh(y[i]);
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
        return NN_LECUN_S * NN_LECUN_A - y * y * (NN_LECUN_S / NN_LECUN_A);
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

NN_CLONES void nn_activation_backward(nn_activation act, const float *restrict y,
                                      float *restrict g, size_t per_sample, int batch)
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
    if (act == NN_ACT_LECUN_TANH) { /* the hot case, as a loop of its own so it vectorizes */
        for (size_t i = 0; i < n; i++)
            g[i] *= slope(NN_ACT_LECUN_TANH, y[i]);
        return;
    }
    for (size_t i = 0; i < n; i++)
        g[i] *= slope(act, y[i]);
}

NN_CLONES void nn_activation_hdiag(nn_activation act, const float *restrict y,
                                   float *restrict d2, size_t per_sample, int batch)
{
    size_t n = per_sample * (size_t)batch;
    if (act == NN_ACT_IDENTITY)
        return;
    if (act == NN_ACT_LECUN_TANH) {
        for (size_t i = 0; i < n; i++) {
            float s = slope(NN_ACT_LECUN_TANH, y[i]);
            d2[i] *= s * s;
        }
        return;
    }
    for (size_t i = 0; i < n; i++) {
        float s = slope(act, y[i]);
        d2[i] *= s * s;
    }
}
