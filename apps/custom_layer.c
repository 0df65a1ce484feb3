/* custom_layer: adds a layer type to the library from outside it, then trains a net using it.
 *
 *   custom_layer MNIST_DIR [TRAIN_IMAGES [EPOCHS [TEST_IMAGES]]]   (defaults 2000, 3, 1000)
 *
 * The type is local_response_norm (Krizhevsky et al. 2012), normalising each unit by the
 * activity of the units at the same place in neighbouring maps:
 *     y_c = x_c / s_c^beta,   s_c = k + alpha/size * sum over |j - c| <= size/2 of x_j^2
 * It is one nn_layer_ops table, registered with nn_registry_add, and the YAML below names it
 * by `type:` like any built-in layer. Before training, its backward pass is checked against
 * finite differences through the public API. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nn.h>

/* ---- the layer ---------------------------------------------------------------------------- */

typedef struct lrn {
    int size;
    double alpha, beta, k;
} lrn;

static const char *const lrn_keys[] = {"size", "alpha", "beta", "k", NULL};

static int lrn_configure(nn_layer *l, const nn_node *cfg, nn_error *err)
{
    lrn *p = nn_layer_alloc(l, sizeof *p);
    if (!p)
        return nn_error_set(err, NN_E_NOMEM, "out of memory");
    char what[96];
    snprintf(what, sizeof what, "layer '%s'", l->name);
    long size;
    int rc = nn_map_long(cfg, "size", 0, 5, 1, 255, what, &size, err);
    if (!rc)
        rc = nn_map_double(cfg, "alpha", 0, 1e-4, 0, 1e6, what, &p->alpha, err);
    if (!rc)
        rc = nn_map_double(cfg, "beta", 0, 0.75, 0, 10, what, &p->beta, err);
    if (!rc)
        rc = nn_map_double(cfg, "k", 0, 2, 1e-6, 1e6, what, &p->k, err);
    if (!rc && size % 2 == 0)
        rc = nn_layer_error(l, err, NN_E_CONFIG, "key 'size': must be odd, got %ld", size);
    p->size = (int)size;
    l->priv = p;
    return rc;
}

static int lrn_infer(nn_layer *l, nn_layer_plan *plan, nn_error *err)
{
    (void)err;
    plan->out = l->in[0];
    plan->work_per_sample = nn_shape_size(l->in[0]); /* s for every unit */
    plan->connections = (double)nn_shape_size(l->in[0]) * (((lrn *)l->priv)->size + 1);
    snprintf(plan->kernel, sizeof plan->kernel, "%d maps", ((lrn *)l->priv)->size);
    return NN_OK;
}

/* s for every unit of the batch. */
static void lrn_scale(const nn_layer *l, const nn_pass *p)
{
    const lrn *q = l->priv;
    nn_shape s = l->in[0];
    size_t hw = (size_t)s.h * s.w;
    for (int b = 0; b < p->batch; b++) {
        const float *x = p->in[0] + (size_t)b * s.c * hw;
        float *sc = p->work + (size_t)b * s.c * hw;
        for (int c = 0; c < s.c; c++)
            for (size_t i = 0; i < hw; i++) {
                double sum = 0;
                for (int j = c - q->size / 2; j <= c + q->size / 2; j++)
                    if (j >= 0 && j < s.c)
                        sum += (double)x[j * hw + i] * x[j * hw + i];
                sc[c * hw + i] = (float)(q->k + q->alpha / q->size * sum);
            }
    }
}

static void lrn_forward(const nn_layer *l, const nn_pass *p)
{
    const lrn *q = l->priv;
    lrn_scale(l, p);
    size_t n = (size_t)p->batch * nn_shape_size(l->in[0]);
    for (size_t i = 0; i < n; i++)
        p->out[i] = p->in[0][i] * (float)pow(p->work[i], -q->beta);
}

/* dx_j = g_j s_j^-beta - 2 alpha beta / size * x_j * sum over |c - j| <= size/2 of
 *        g_c x_c s_c^(-beta-1) */
static void lrn_backward(const nn_layer *l, const nn_pass *p)
{
    const lrn *q = l->priv;
    if (!p->in_grad[0])
        return;
    lrn_scale(l, p);
    nn_shape s = l->in[0];
    size_t hw = (size_t)s.h * s.w;
    double f = 2 * q->alpha * q->beta / q->size;
    for (int b = 0; b < p->batch; b++) {
        size_t o = (size_t)b * s.c * hw;
        const float *x = p->in[0] + o, *g = p->out_grad + o, *sc = p->work + o;
        float *dx = p->in_grad[0] + o;
        for (int j = 0; j < s.c; j++)
            for (size_t i = 0; i < hw; i++) {
                double cross = 0;
                for (int c = j - q->size / 2; c <= j + q->size / 2; c++)
                    if (c >= 0 && c < s.c)
                        cross += (double)g[c * hw + i] * x[c * hw + i] *
                                 pow(sc[c * hw + i], -q->beta - 1);
                dx[j * hw + i] += (float)(g[j * hw + i] * pow(sc[j * hw + i], -q->beta) -
                                          f * x[j * hw + i] * cross);
            }
    }
}

static const nn_layer_ops lrn_ops = {
    .type = "local_response_norm",
    .doc = "normalise across neighbouring maps: size, alpha, beta, k",
    .keys = lrn_keys,
    .min_inputs = 1,
    .max_inputs = 1,
    .configure = lrn_configure,
    .infer = lrn_infer,
    .forward = lrn_forward,
    .backward = lrn_backward,
};

/* ---- checking it -------------------------------------------------------------------------- */

static const char check_yaml[] =
    "input: [6, 3, 2]\n"
    "layers: [{name: n, type: local_response_norm, size: 3, alpha: 2.0, beta: 0.75, k: 1}]\n"
    "train: {optimizer: sgd}\n"
    "data: {classes: 36}\n";

/* E = sum r_i y_i, so dE/dy = r. Returns the largest |analytic - numeric| over the largest
 * |gradient|, or -1 on error. */
static double gradient_check(const nn_registry *reg, nn_error *err)
{
    nn_net_opts opts = {.registry = reg};
    nn_net *net;
    if (nn_net_from_yaml(check_yaml, 0, "check", &opts, &net, err))
        return -1;
    nn_graph *g = nn_net_graph(net);
    size_t n = nn_net_input_size(net);
    float x[36], r[36];
    nn_rng rng;
    nn_rng_seed(&rng, 5);
    for (size_t i = 0; i < n; i++) {
        x[i] = nn_rng_uniform(&rng, -2, 2);
        r[i] = nn_rng_uniform(&rng, -1, 1);
    }
    const float *y;
    nn_graph_want_input_grad(g, 1);
    nn_net_forward(net, x, 1, &y, err);
    nn_graph_zero_grads(g);
    nn_graph_backward(g, 1, r, 0);
    double worst = 0, largest = 0;
    for (size_t i = 0; i < n; i++) {
        double e[2], h = 1e-2, xi = x[i];
        for (int s = 0; s < 2; s++) {
            x[i] = (float)(xi + (s ? -h : h));
            nn_net_forward(net, x, 1, &y, err);
            e[s] = 0;
            for (size_t k = 0; k < n; k++)
                e[s] += (double)r[k] * y[k];
        }
        x[i] = (float)xi;
        double numeric = (e[0] - e[1]) / (2 * h), analytic = nn_graph_input_grad(g)[i];
        worst = fmax(worst, fabs(numeric - analytic));
        largest = fmax(largest, fabs(analytic));
    }
    nn_net_free(net);
    return worst / largest;
}

/* ---- training with it --------------------------------------------------------------------- */

static const char net_yaml[] =
    "name: lrn_net\n"
    "input: [1, 28, 28]\n"
    "layers:\n"
    "  - {name: c1, type: conv, maps: 8, kernel: 5, activation: relu}\n"
    "  - {name: n1, type: local_response_norm, size: 5, alpha: 1.0, beta: 0.75, k: 1}\n"
    "  - {name: s2, type: subsample, size: 2, activation: tanh}\n"
    "  - {name: out, type: dense, units: 10, activation: softmax}\n"
    "data: {range: [0, 1]}\n"
    "train: {batch: 16, loss: cross_entropy, optimizer: {type: sgd, momentum: 0.9}, "
    "lr: 0.02, seed: 7}\n";

static int load(const char *dir, const char *images, const char *labels, size_t limit,
                nn_dataset *ds, nn_error *err)
{
    char ip[4096], lp[4096];
    snprintf(ip, sizeof ip, "%s/%s", dir, images);
    snprintf(lp, sizeof lp, "%s/%s", dir, labels);
    return nn_dataset_load_idx(ip, lp, 10, limit, ds, err);
}

static int train(nn_net *net, const nn_dataset *tr, const nn_dataset *te, long epochs,
                 nn_error *err)
{
    const nn_data_cfg *d = &nn_net_config(net)->data;
    int batch = (int)nn_net_config(net)->batch;
    size_t in = nn_net_input_size(net), n = tr->n;
    size_t *perm = malloc(sizeof *perm * (n > te->n ? n : te->n));
    float *x = malloc(sizeof *x * in * te->n), *xb = malloc(sizeof *xb * in * batch);
    uint8_t *yb = malloc((size_t)batch);
    int rc = perm && x && xb && yb ? NN_OK : nn_error_set(err, NN_E_NOMEM, "out of memory");
    for (size_t i = 0; !rc && i < te->n; i++)
        perm[i] = i;
    if (!rc)
        nn_dataset_to_float(te, perm, te->n, (int)d->pad, d->lo, d->hi, x);
    nn_rng rng;
    nn_rng_seed(&rng, nn_net_config(net)->seed);
    for (long e = 1; !rc && e <= epochs; e++) {
        for (size_t i = 0; i < n; i++)
            perm[i] = i;
        nn_rng_shuffle(&rng, perm, n);
        double sum = 0, loss, test_error;
        for (size_t i = 0; !rc && i < n; i += (size_t)batch) {
            int b = (int)(n - i < (size_t)batch ? n - i : (size_t)batch);
            nn_dataset_to_float(tr, perm + i, (size_t)b, (int)d->pad, d->lo, d->hi, xb);
            for (int k = 0; k < b; k++)
                yb[k] = tr->labels[perm[i + k]];
            rc = nn_net_train_step(net, xb, yb, b, &loss, err);
            sum += loss * b;
        }
        if (!rc)
            rc = nn_net_evaluate(net, x, te->labels, te->n, NULL, &test_error, err);
        if (!rc)
            printf("epoch %ld: train loss %.4f, test error %.2f%% (%zu images)\n", e, sum / n,
                   100 * test_error, te->n);
    }
    free(perm);
    free(x);
    free(xb);
    free(yb);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 5) {
        fprintf(stderr, "usage: custom_layer MNIST_DIR [TRAIN_IMAGES [EPOCHS [TEST_IMAGES]]]\n");
        return 2;
    }
    long n_train = argc > 2 ? strtol(argv[2], NULL, 10) : 2000;
    long epochs = argc > 3 ? strtol(argv[3], NULL, 10) : 3;
    long n_test = argc > 4 ? strtol(argv[4], NULL, 10) : 1000;
    if (n_train < 1 || epochs < 1 || n_test < 1) {
        fprintf(stderr, "custom_layer: TRAIN_IMAGES, EPOCHS and TEST_IMAGES must be positive integers\n");
        return 2;
    }
    nn_blas_set_threads(1); /* batches of 16-32 images: one BLAS thread is fastest */
    nn_error err = {0};
    nn_registry *reg = NULL;
    nn_net *net = NULL;
    nn_dataset tr = {0}, te = {0};
    int rc = nn_registry_new(&reg, &err);
    if (!rc)
        rc = nn_registry_add(reg, &lrn_ops, &err);
    double rel = rc ? -1 : gradient_check(reg, &err);
    if (rel < 0)
        rc = err.code ? err.code : NN_E_USAGE;
    else
        printf("local_response_norm: backward against finite differences: largest difference "
               "%.2e of the largest gradient\n",
               rel);
    nn_net_opts opts = {.registry = reg};
    if (!rc)
        rc = nn_net_from_yaml(net_yaml, 0, "lrn_net", &opts, &net, &err);
    if (!rc)
        rc = load(argv[1], "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                  (size_t)n_train, &tr, &err);
    if (!rc)
        rc = load(argv[1], "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", (size_t)n_test, &te,
                  &err);
    if (!rc) {
        printf("%s: %d layers, %zu parameters; training on %zu images\n",
               nn_graph_name(nn_net_graph(net)), nn_graph_layer_count(nn_net_graph(net)),
               nn_graph_param_count(nn_net_graph(net)), tr.n);
        rc = train(net, &tr, &te, epochs, &err);
    }
    if (rc)
        fprintf(stderr, "custom_layer: %s\n", err.msg);
    nn_dataset_free(&tr);
    nn_dataset_free(&te);
    nn_net_free(net);
    nn_registry_free(reg);
    return rc ? 2 : 0;
}
