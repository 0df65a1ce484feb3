/* subsample: LeCun's trainable subsampling. Each output unit sums a size x size window of one
 * map, multiplies by that map's trainable coefficient and adds its trainable bias: two
 * parameters per map, laid out [coefficients][biases]. */
#include <stdio.h>
#include <string.h>

#include "layer.h"
#include "simd.h"

/* The window geometry is all the layer keeps: size, stride and the output size. */
typedef nn_pool_geom subsample;

static const char *const subsample_keys[] = {"size", "stride", NULL};

static int subsample_configure(nn_layer *l, const nn_node *cfg, nn_error *err)
{
    subsample *s = nn_layer_alloc(l, sizeof *s);
    if (!s)
        return nn_error_set(err, NN_E_NOMEM, "out of memory");
    l->priv = s;
    return nn_pool_geom_read(l, cfg, s, err);
}

static int subsample_infer(nn_layer *l, nn_layer_plan *plan, nn_error *err)
{
    subsample *s = l->priv;
    nn_shape in = l->in[0];
    int rc = nn_pool_geom_infer(l, s, err);
    if (rc)
        return rc;
    plan->out = (nn_shape){in.c, s->oh, s->ow};
    plan->n_params = 2 * (size_t)in.c;
    plan->work_fixed = (size_t)s->oh * s->ow; /* one map's window sums, for backward */
    plan->connections = (double)(s->size * s->size + 1) * nn_shape_size(plan->out);
    snprintf(plan->kernel, sizeof plan->kernel, "%dx%d", s->size, s->size);
    return NN_OK;
}

static void subsample_init(const nn_layer *l, float *params, float *fixed, nn_rng *rng)
{
    (void)fixed;
    const subsample *s = l->priv;
    int c = l->in[0].c;
    nn_init_lecun_uniform(params, (size_t)c, (size_t)(s->size * s->size), rng);
    memset(params + c, 0, sizeof(float) * c);
}

static float window_sum(const subsample *s, const float *plane, int w, int y, int x)
{
    float sum = 0;
    for (int ky = 0; ky < s->size; ky++)
        for (int kx = 0; kx < s->size; kx++)
            sum += plane[(y * s->stride + ky) * w + x * s->stride + kx];
    return sum;
}

static void subsample_forward(const nn_layer *l, const nn_pass *p)
{
    const subsample *s = l->priv;
    nn_shape in = l->in[0];
    const float *coef = p->params, *bias = p->params + in.c;
    float *out = p->out;
    if (s->size == 2 && s->stride == 2) { /* LeNet's case, with the window unrolled */
        for (int b = 0; b < p->batch; b++)
            for (int c = 0; c < in.c; c++) {
                const float *plane = p->in[0] + ((size_t)b * in.c + c) * in.h * in.w;
                for (int y = 0; y < s->oh; y++) {
                    const float *r0 = plane + (size_t)2 * y * in.w, *r1 = r0 + in.w;
                    for (int x = 0; x < s->ow; x++)
                        out[x] = coef[c] * (r0[2 * x] + r0[2 * x + 1] + r1[2 * x] +
                                            r1[2 * x + 1]) + bias[c];
                    out += s->ow;
                }
            }
        return;
    }
    for (int b = 0; b < p->batch; b++)
        for (int c = 0; c < in.c; c++) {
            const float *plane = p->in[0] + ((size_t)b * in.c + c) * in.h * in.w;
            for (int y = 0; y < s->oh; y++)
                for (int x = 0; x < s->ow; x++)
                    *out++ = coef[c] * window_sum(s, plane, in.w, y, x) + bias[c];
        }
}

/* Gradient (squared = 0) and Gauss-Newton diagonal (squared = 1) share one walk: the
 * coefficient's input is the window sum, the window's inputs see the coefficient. */
/* size 2, stride 2: windows do not overlap, so each input gets exactly one term. The window
 * sums of a map go to the scratch first, so that the two reductions over the map vectorize. */
static NN_CLONES void back_2x2(const subsample *s, nn_shape in, const nn_pass *p, int squared)
{
    const float *coef = p->params;
    float *dcoef = p->grads, *dbias = p->grads + in.c;
    const float *dy = p->out_grad;
    size_t per_map = (size_t)s->oh * s->ow;
    float *sums = p->work;
    for (int b = 0; b < p->batch; b++)
        for (int c = 0; c < in.c; c++) {
            size_t plane_off = ((size_t)b * in.c + c) * in.h * in.w;
            const float *plane = p->in[0] + plane_off;
            float *gplane = p->in_grad[0] ? p->in_grad[0] + plane_off : NULL;
            float k = squared ? coef[c] * coef[c] : coef[c];
            for (int y = 0; y < s->oh; y++) {
                const float *r0 = plane + (size_t)2 * y * in.w, *r1 = r0 + in.w;
                float *sy = sums + (size_t)y * s->ow;
                for (int x = 0; x < s->ow; x++) {
                    float sum = r0[2 * x] + r0[2 * x + 1] + r1[2 * x] + r1[2 * x + 1];
                    sy[x] = squared ? sum * sum : sum;
                }
                if (gplane) {
                    const float *gy = dy + (size_t)y * s->ow;
                    float *g0 = gplane + (size_t)2 * y * in.w, *g1 = g0 + in.w;
                    for (int x = 0; x < s->ow; x++) {
                        float kg = k * gy[x];
                        g0[2 * x] += kg;
                        g0[2 * x + 1] += kg;
                        g1[2 * x] += kg;
                        g1[2 * x + 1] += kg;
                    }
                }
            }
            dcoef[c] += (float)nn_dot(dy, sums, per_map);
            dbias[c] += (float)nn_sum(dy, per_map);
            dy += per_map;
        }
}

static void subsample_back(const nn_layer *l, const nn_pass *p, int squared)
{
    const subsample *s = l->priv;
    if (s->size == 2 && s->stride == 2) {
        back_2x2(s, l->in[0], p, squared);
        return;
    }
    nn_shape in = l->in[0];
    const float *coef = p->params;
    float *dcoef = p->grads, *dbias = p->grads + in.c;
    const float *dy = p->out_grad;
    for (int b = 0; b < p->batch; b++)
        for (int c = 0; c < in.c; c++) {
            size_t plane_off = ((size_t)b * in.c + c) * in.h * in.w;
            const float *plane = p->in[0] + plane_off;
            float *gplane = p->in_grad[0] ? p->in_grad[0] + plane_off : NULL;
            float k = squared ? coef[c] * coef[c] : coef[c];
            double sc = 0, sb = 0;
            for (int y = 0; y < s->oh; y++)
                for (int x = 0; x < s->ow; x++) {
                    float g = *dy++;
                    float sum = window_sum(s, plane, in.w, y, x);
                    sc += (double)g * (squared ? sum * sum : sum);
                    sb += g;
                    if (!gplane)
                        continue;
                    for (int ky = 0; ky < s->size; ky++)
                        for (int kx = 0; kx < s->size; kx++)
                            gplane[(y * s->stride + ky) * in.w + x * s->stride + kx] += k * g;
                }
            dcoef[c] += (float)sc;
            dbias[c] += (float)sb;
        }
}

static void subsample_backward(const nn_layer *l, const nn_pass *p) { subsample_back(l, p, 0); }
static void subsample_hdiag(const nn_layer *l, const nn_pass *p) { subsample_back(l, p, 1); }

const nn_layer_ops nn_layer_subsample = {
    .type = "subsample",
    .doc = "LeCun's trainable subsampling: window sum x coefficient + bias per map: size (2), "
           "stride (size)",
    .keys = subsample_keys,
    .min_inputs = 1,
    .max_inputs = 1,
    .configure = subsample_configure,
    .infer = subsample_infer,
    .init = subsample_init,
    .forward = subsample_forward,
    .backward = subsample_backward,
    .backward_hdiag = subsample_hdiag,
};
