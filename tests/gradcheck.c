#include "gradcheck.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CHECKS 400
#define EPS 1e-2f
#define TOL 1e-2

nn_graph *gc_build(const char *yaml, int batch)
{
    nn_error err = {0};
    nn_doc *doc = NULL;
    nn_registry *reg = NULL;
    nn_graph *g = NULL;
    cr_assert_eq(nn_registry_new(&reg, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(nn_doc_load_string(yaml, strlen(yaml), "test.yaml", &doc, &err), NN_OK, "%s",
                 err.msg);
    cr_assert_eq(nn_graph_build(nn_doc_root(doc), reg, batch, &g, &err), NN_OK, "%s", err.msg);
    nn_doc_free(doc);
    nn_registry_free(reg);
    return g;
}

typedef struct fixture {
    nn_graph *g;
    int batch;
    size_t n_in, n_out, n_params;
    float *r;   /* projection (gradient) or curvature weights (hdiag) */
    double noise; /* what float32 rounding of the outputs can move a difference quotient by */
} fixture;

static fixture setup(const char *yaml, int batch, unsigned seed, int positive)
{
    fixture f = {.g = gc_build(yaml, batch), .batch = batch};
    nn_rng rng;
    nn_rng_seed(&rng, seed);
    nn_graph_init(f.g, &rng);
    f.n_params = nn_graph_param_count(f.g);
    float *p = nn_graph_params(f.g);
    for (size_t k = 0; k < f.n_params; k++)
        p[k] += nn_rng_uniform(&rng, -0.3f, 0.3f);
    f.n_in = nn_shape_size(nn_graph_input_shape(f.g)) * (size_t)batch;
    f.n_out = nn_shape_size(nn_graph_output_shape(f.g)) * (size_t)batch;
    float *x = nn_graph_input(f.g);
    for (size_t i = 0; i < f.n_in; i++)
        x[i] = nn_rng_uniform(&rng, -1.0f, 1.0f);
    f.r = malloc(sizeof(float) * f.n_out);
    for (size_t i = 0; i < f.n_out; i++)
        f.r[i] = positive ? nn_rng_uniform(&rng, 0.2f, 1.0f) : nn_rng_uniform(&rng, -1.0f, 1.0f);
    nn_graph_want_input_grad(f.g, 1);
    /* Outputs carry a relative rounding error of about 1e-7, so a central difference over a
     * step of EPS cannot resolve changes below sum |r y| * 1e-7 / EPS. */
    const float *y = nn_graph_forward(f.g, batch);
    double mag = 0;
    for (size_t i = 0; i < f.n_out; i++)
        mag += fabs(f.r[i] * y[i]);
    f.noise = 5e-4 + mag * 1e-7 / EPS;
    return f;
}

static double projected(fixture *f)
{
    const float *y = nn_graph_forward(f->g, f->batch);
    double s = 0;
    for (size_t i = 0; i < f->n_out; i++)
        s += (double)f->r[i] * y[i];
    return s;
}

static void compare(gc_report *rep, const fixture *f, double analytic, double numeric,
                    const char *what, size_t k)
{
    double e = fabs(analytic - numeric) / (1e-3 + fabs(numeric));
    int abs_ok = fabs(analytic - numeric) < f->noise;
    rep->checked++;
    if (e > TOL && !abs_ok)
        rep->failed++;
    if (e > rep->worst && !abs_ok) {
        rep->worst = e;
        snprintf(rep->where, sizeof rep->where, "%s[%zu]: analytic %.6g, numeric %.6g", what, k,
                 analytic, numeric);
    }
}

/* Indices to check: all when few, else an even spread. */
static size_t pick(size_t n, size_t i) { return n <= MAX_CHECKS ? i : i * n / MAX_CHECKS; }
static size_t count(size_t n) { return n <= MAX_CHECKS ? n : MAX_CHECKS; }

/* Central difference at two step sizes, the one closer to the analytic value: a large step
 * suffers the function's curvature, a small one float32 rounding; a wrong gradient is far from
 * both. */
static double central(fixture *f, float *v, double analytic)
{
    static const float steps[] = {EPS, EPS / 8};
    double best = 0;
    for (int s = 0; s < 2; s++) {
        float keep = *v;
        *v = keep + steps[s];
        double up = projected(f);
        *v = keep - steps[s];
        double down = projected(f);
        *v = keep;
        double d = (up - down) / (2.0 * steps[s]);
        if (s == 0 || fabs(d - analytic) < fabs(best - analytic))
            best = d;
    }
    return best;
}

gc_report gc_check_gradient(const char *yaml, int batch, unsigned seed)
{
    gc_report rep = {0};
    fixture f = setup(yaml, batch, seed, 0);
    nn_graph_forward(f.g, batch);
    nn_graph_zero_grads(f.g);
    nn_graph_backward(f.g, batch, f.r, 0);
    float *grads = malloc(sizeof(float) * (f.n_params + 1));
    float *xgrad = malloc(sizeof(float) * f.n_in);
    memcpy(grads, nn_graph_grads(f.g), sizeof(float) * f.n_params);
    memcpy(xgrad, nn_graph_input_grad(f.g), sizeof(float) * f.n_in);
    float *p = nn_graph_params(f.g), *x = nn_graph_input(f.g);
    for (size_t i = 0; i < count(f.n_params); i++) {
        size_t k = pick(f.n_params, i);
        compare(&rep, &f, grads[k], central(&f, &p[k], grads[k]), "param", k);
    }
    for (size_t i = 0; i < count(f.n_in); i++) {
        size_t k = pick(f.n_in, i);
        compare(&rep, &f, xgrad[k], central(&f, &x[k], xgrad[k]), "input", k);
    }
    free(grads);
    free(xgrad);
    free(f.r);
    nn_graph_free(f.g);
    return rep;
}

/* sum_o c_o (dy_o/dv)^2 with the Jacobian column from central differences of y, at two step
 * sizes as for the gradient (the one closer to the analytic value): a max-pooling window whose
 * two largest inputs lie closer than the large step needs the small one. */
static double gn_numeric(fixture *f, float *v, float *up, float *down, double analytic)
{
    static const float steps[] = {EPS, EPS / 8};
    double best = 0;
    for (int st = 0; st < 2; st++) {
        float keep = *v;
        *v = keep + steps[st];
        memcpy(up, nn_graph_forward(f->g, f->batch), sizeof(float) * f->n_out);
        *v = keep - steps[st];
        memcpy(down, nn_graph_forward(f->g, f->batch), sizeof(float) * f->n_out);
        *v = keep;
        double s = 0;
        for (size_t o = 0; o < f->n_out; o++) {
            double j = (up[o] - down[o]) / (2.0 * steps[st]);
            s += f->r[o] * j * j;
        }
        if (st == 0 || fabs(s - analytic) < fabs(best - analytic))
            best = s;
    }
    return best;
}

gc_report gc_check_hdiag(const char *yaml, int batch, unsigned seed)
{
    gc_report rep = {0};
    fixture f = setup(yaml, batch, seed, 1);
    float *h = calloc(f.n_params + 1, sizeof(float));
    nn_graph_forward(f.g, batch);
    nn_graph_hdiag(f.g, batch, f.r, NULL, 0, h);
    float *xh = malloc(sizeof(float) * f.n_in);
    memcpy(xh, nn_graph_input_grad(f.g), sizeof(float) * f.n_in);
    float *up = malloc(sizeof(float) * f.n_out), *down = malloc(sizeof(float) * f.n_out);
    float *p = nn_graph_params(f.g), *x = nn_graph_input(f.g);
    for (size_t i = 0; i < count(f.n_params); i++) {
        size_t k = pick(f.n_params, i);
        compare(&rep, &f, h[k], gn_numeric(&f, &p[k], up, down, h[k]), "param", k);
    }
    for (size_t i = 0; i < count(f.n_in); i++) {
        size_t k = pick(f.n_in, i);
        compare(&rep, &f, xh[k], gn_numeric(&f, &x[k], up, down, xh[k]), "input", k);
    }
    free(h);
    free(xh);
    free(up);
    free(down);
    free(f.r);
    nn_graph_free(f.g);
    return rep;
}
