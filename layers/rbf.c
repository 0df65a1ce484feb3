/* rbf: Euclidean radial basis function units, y_i = sum_j (x_j - w_ij)^2 (LeNet-5's output).
 * The prototypes w are fixed by default, taken from 7x12 bitmaps of the characters
 * (prototypes: digits_7x12, the ten digits; ascii_7x12, the 95 printable ASCII characters of
 * layers/glyphs_ascii.txt, unit k for the character 32 + k; {file: PATH}, a glyph file of the same
 * form, units in file order) or drawn at random as +-1 (prototypes: random; when fixed, from a
 * generator seeded by the layer's name, the same for every train.seed);
 * `trainable: true` makes them parameters. Layout: [units][inputs]. */
#include <stdio.h>
#include <string.h>

#include "glyphs.h"
#include "layer.h"

enum { PROTO_DIGITS, PROTO_ASCII, PROTO_RANDOM, PROTO_FILE };

typedef struct rbf {
    int units, n_in, trainable, proto;
    nn_glyph_set *glyphs; /* ascii_7x12 and file prototypes */
} rbf;

static const char *const rbf_keys[] = {"units", "prototypes", "trainable", NULL};
static const char *const proto_names[] = {"digits_7x12", "ascii_7x12", "random", NULL};

static int read_prototypes(nn_layer *l, rbf *r, const nn_node *cfg, const char *what,
                           nn_error *err)
{
    const nn_node *p = nn_node_get(cfg, "prototypes");
    if (!p || p->kind != NN_NODE_MAP)
        return nn_map_choice(cfg, "prototypes", 0, PROTO_DIGITS, proto_names, what, &r->proto,
                             err);
    static const char *const file_keys[] = {"file", NULL};
    char pw[128];
    snprintf(pw, sizeof pw, "%s: key 'prototypes'", what);
    const char *path;
    int rc = nn_node_check_keys(p, file_keys, pw, err);
    if (!rc)
        rc = nn_map_string(p, "file", 1, NULL, pw, &path, err);
    if (rc)
        return rc;
    r->proto = PROTO_FILE;
    r->glyphs = nn_layer_alloc(l, sizeof *r->glyphs);
    if (!r->glyphs)
        return nn_error_set(err, NN_E_NOMEM, "out of memory");
    rc = nn_glyph_set_load(path, r->glyphs, err);
    if (rc) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        return nn_node_error(err, rc, nn_node_get(p, "file"), "%s: %s", pw, msg);
    }
    return NN_OK;
}

static int rbf_configure(nn_layer *l, const nn_node *cfg, nn_error *err)
{
    rbf *r = nn_layer_alloc(l, sizeof *r);
    if (!r)
        return nn_error_set(err, NN_E_NOMEM, "out of memory");
    char what[96];
    snprintf(what, sizeof what, "layer '%s'", l->name);
    long units;
    int rc = nn_map_long(cfg, "units", 1, 0, 1, 1 << 16, what, &units, err);
    if (!rc)
        rc = read_prototypes(l, r, cfg, what, err);
    if (!rc)
        rc = nn_map_bool(cfg, "trainable", 0, 0, what, &r->trainable, err);
    if (!rc && r->proto == PROTO_ASCII) {
        r->glyphs = nn_layer_alloc(l, sizeof *r->glyphs);
        rc = r->glyphs ? nn_glyph_set_ascii(r->glyphs, err)
                       : nn_error_set(err, NN_E_NOMEM, "out of memory");
    }
    if (rc)
        return rc;
    r->units = (int)units;
    int have = r->proto == PROTO_DIGITS ? 10 : r->glyphs ? r->glyphs->n : r->units;
    if (r->units > have) {
        const nn_node *p = nn_node_get(cfg, "prototypes");
        const char *name = r->proto == PROTO_FILE ? nn_node_get(p, "file")->value
                                                  : proto_names[r->proto];
        return nn_node_error(err, NN_E_CONFIG, nn_node_get(cfg, "units"),
                             "%s: prototypes '%s' has %d characters, %d units asked", what, name,
                             have, r->units);
    }
    l->priv = r;
    return NN_OK;
}

static int rbf_infer(nn_layer *l, nn_layer_plan *plan, nn_error *err)
{
    rbf *r = l->priv;
    size_t n_in = nn_shape_size(l->in[0]);
    if (r->proto != PROTO_RANDOM && n_in != NN_GLYPH_W * NN_GLYPH_H)
        return nn_layer_error(l, err, NN_E_SHAPE,
                              "prototypes '%s' have %d values (7x12) but the input from "
                              "layer '%s' has %zu",
                              r->proto == PROTO_FILE ? "file" : proto_names[r->proto],
                              NN_GLYPH_W * NN_GLYPH_H, l->in_names[0], n_in);
    if (n_in * (size_t)r->units > ((size_t)1 << 28))
        return nn_layer_error(l, err, NN_E_SHAPE, "too many prototype values");
    r->n_in = (int)n_in;
    size_t nw = n_in * (size_t)r->units;
    plan->out = (nn_shape){r->units, 1, 1};
    plan->n_params = r->trainable ? nw : 0;
    plan->n_fixed = r->trainable ? 0 : nw;
    plan->connections = (double)nw;
    snprintf(plan->kernel, sizeof plan->kernel, "%zux%d rbf", n_in, r->units);
    return NN_OK;
}

static void rbf_init(const nn_layer *l, float *params, float *fixed, nn_rng *rng)
{
    const rbf *r = l->priv;
    float *w = r->trainable ? params : fixed;
    /* Fixed random prototypes are not in a checkpoint, so they must come out the same whatever
     * train.seed or --seed was: they are drawn from a generator seeded by the layer's name. */
    nn_rng own;
    if (!r->trainable && r->proto == PROTO_RANDOM) {
        uint64_t h = 0xcbf29ce484222325ULL;
        for (const char *c = l->name; *c; c++)
            h = (h ^ (unsigned char)*c) * 0x100000001b3ULL;
        nn_rng_seed(&own, h);
        rng = &own;
    }
    for (int u = 0; u < r->units; u++) {
        float *row = w + (size_t)u * r->n_in;
        if (r->proto == PROTO_DIGITS) {
            const char *const *g = nn_glyph_rows((char)('0' + u));
            for (int y = 0; y < NN_GLYPH_H; y++)
                for (int x = 0; x < NN_GLYPH_W; x++)
                    row[y * NN_GLYPH_W + x] = g[y][x] == '#' ? 1.0f : -1.0f;
        } else if (r->glyphs) {
            for (int j = 0; j < r->n_in; j++)
                row[j] = r->glyphs->ink[u][j] ? 1.0f : -1.0f;
        } else {
            for (int j = 0; j < r->n_in; j++)
                row[j] = nn_rng_below(rng, 2) ? 1.0f : -1.0f;
        }
    }
}

static const float *prototypes(const rbf *r, const nn_pass *p)
{
    return r->trainable ? p->params : p->fixed;
}

static void rbf_forward(const nn_layer *l, const nn_pass *p)
{
    const rbf *r = l->priv;
    const float *w = prototypes(r, p);
    for (int b = 0; b < p->batch; b++) {
        const float *x = p->in[0] + (size_t)b * r->n_in;
        for (int u = 0; u < r->units; u++) {
            const float *wu = w + (size_t)u * r->n_in;
            float s = 0;
            for (int j = 0; j < r->n_in; j++) {
                float d = x[j] - wu[j];
                s += d * d;
            }
            p->out[(size_t)b * r->units + u] = s;
        }
    }
}

static void rbf_backward(const nn_layer *l, const nn_pass *p)
{
    const rbf *r = l->priv;
    const float *w = prototypes(r, p);
    for (int b = 0; b < p->batch; b++) {
        const float *x = p->in[0] + (size_t)b * r->n_in;
        const float *dy = p->out_grad + (size_t)b * r->units;
        float *dx = p->in_grad[0] ? p->in_grad[0] + (size_t)b * r->n_in : NULL;
        for (int u = 0; u < r->units; u++) {
            const float *wu = w + (size_t)u * r->n_in;
            float *dw = r->trainable ? p->grads + (size_t)u * r->n_in : NULL;
            for (int j = 0; j < r->n_in; j++) {
                float g = 2.0f * dy[u] * (x[j] - wu[j]);
                if (dx)
                    dx[j] += g;
                if (dw)
                    dw[j] -= g;
            }
        }
    }
}

/* Gauss-Newton through the squares: (dy_i/dx_j)^2 = 4 (x_j - w_ij)^2, plus the curvature of the
 * squares themselves, 2 dE/dy_i, kept where it is positive so the estimate stays positive. */
static void rbf_hdiag(const nn_layer *l, const nn_pass *p)
{
    const rbf *r = l->priv;
    const float *w = prototypes(r, p);
    for (int b = 0; b < p->batch; b++) {
        const float *x = p->in[0] + (size_t)b * r->n_in;
        const float *d2 = p->out_grad + (size_t)b * r->units;
        const float *g1 = p->out_grad1 ? p->out_grad1 + (size_t)b * r->units : NULL;
        float *hx = p->in_grad[0] ? p->in_grad[0] + (size_t)b * r->n_in : NULL;
        for (int u = 0; u < r->units; u++) {
            const float *wu = w + (size_t)u * r->n_in;
            float *hw = r->trainable ? p->grads + (size_t)u * r->n_in : NULL;
            float curv = g1 && g1[u] > 0 ? 2.0f * g1[u] : 0.0f;
            for (int j = 0; j < r->n_in; j++) {
                float dd = x[j] - wu[j];
                float h = 4.0f * d2[u] * dd * dd + curv;
                if (hx)
                    hx[j] += h;
                if (hw)
                    hw[j] += h;
            }
        }
    }
}

const nn_layer_ops nn_layer_rbf = {
    .type = "rbf",
    .doc = "Euclidean RBF output units y_i = sum_j (x_j - w_ij)^2: units, prototypes "
           "(digits_7x12 | ascii_7x12 | random | {file: PATH}), trainable (false)",
    .keys = rbf_keys,
    .min_inputs = 1,
    .max_inputs = 1,
    .configure = rbf_configure,
    .infer = rbf_infer,
    .init = rbf_init,
    .forward = rbf_forward,
    .backward = rbf_backward,
    .backward_hdiag = rbf_hdiag,
};
