/* nn_net: a graph with its loss, optimizer and input scaling, driven batch by batch by the
 * caller (the file-based epoch loop is nn_trainer, train.c). Also the weights in memory. */
#include "nn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct nn_net {
    nn_doc *own_doc;  /* the document, when the net parsed it; layers point into it */
    nn_train_cfg cfg;
    nn_graph *g;
    nn_optim *opt;
    int cap;          /* samples the buffers below hold */
    float *dout, *d2, *g1;
    double lr;
};

const char *nn_version(void) { return NN_VERSION; }

static int grow(nn_net *net, int batch, nn_error *err)
{
    if (batch <= net->cap)
        return NN_OK;
    if (batch > nn_graph_max_batch(net->g)) {
        int rc = nn_graph_set_max_batch(net->g, batch, err);
        if (rc)
            return rc;
    }
    size_t n = (size_t)batch * nn_net_output_size(net);
    float *b[3];
    for (int i = 0; i < 3; i++)
        b[i] = malloc(sizeof(float) * n);
    if (!b[0] || !b[1] || !b[2]) {
        for (int i = 0; i < 3; i++)
            free(b[i]);
        return nn_error_set(err, NN_E_NOMEM, "out of memory for a batch of %d", batch);
    }
    free(net->dout);
    free(net->d2);
    free(net->g1);
    net->dout = b[0], net->d2 = b[1], net->g1 = b[2];
    net->cap = batch;
    return NN_OK;
}

int nn_net_from_doc(const nn_doc *doc, const nn_net_opts *opts, nn_net **out, nn_error *err)
{
    *out = NULL;
    nn_net_opts o = {0};
    if (opts)
        o = *opts;
    if (o.max_batch < 0)
        return nn_error_set(err, NN_E_USAGE, "max_batch must not be negative, got %d",
                            o.max_batch);
    nn_net *net = calloc(1, sizeof *net);
    if (!net)
        return nn_error_set(err, NN_E_NOMEM, "out of memory");
    const nn_node *root = nn_doc_root(doc);
    nn_registry *own_reg = NULL;
    const nn_registry *reg = o.registry;
    int rc = nn_train_cfg_read(root, &net->cfg, err);
    if (!rc && o.have_seed)
        net->cfg.seed = o.seed;
    if (!rc && !reg && !(rc = nn_registry_new(&own_reg, err)))
        reg = own_reg;
    int mb = o.max_batch ? o.max_batch : (int)net->cfg.batch;
    if (!rc)
        rc = nn_graph_build(root, reg, mb, &net->g, err);
    nn_registry_free(own_reg);
    if (!rc)
        rc = nn_train_cfg_check_graph(&net->cfg, net->g, err);
    if (!rc)
        rc = nn_optim_new(&net->cfg.optim, nn_graph_param_count(net->g), &net->opt, err);
    if (!rc)
        rc = grow(net, mb, err);
    if (rc) {
        nn_net_free(net);
        return rc;
    }
    nn_rng rng;
    nn_rng_seed(&rng, net->cfg.seed);
    nn_graph_init(net->g, &rng);
    nn_net_set_lr(net, nn_train_cfg_lr(&net->cfg, 0));
    *out = net;
    return NN_OK;
}

static int from_own_doc(nn_doc *doc, const nn_net_opts *opts, nn_net **out, nn_error *err)
{
    int rc = nn_net_from_doc(doc, opts, out, err);
    if (rc)
        nn_doc_free(doc);
    else
        (*out)->own_doc = doc;
    return rc;
}

int nn_net_from_yaml(const char *yaml, size_t len, const char *name, const nn_net_opts *opts,
                     nn_net **out, nn_error *err)
{
    *out = NULL;
    if (!yaml)
        return nn_error_set(err, NN_E_USAGE, "no YAML text given");
    nn_doc *doc;
    int rc = nn_doc_load_string(yaml, len ? len : strlen(yaml), name ? name : "<string>", &doc,
                                err);
    return rc ? rc : from_own_doc(doc, opts, out, err);
}

int nn_net_from_file(const char *path, const nn_net_opts *opts, nn_net **out, nn_error *err)
{
    *out = NULL;
    nn_doc *doc;
    int rc = nn_doc_load_file(path, &doc, err);
    return rc ? rc : from_own_doc(doc, opts, out, err);
}

void nn_net_free(nn_net *net)
{
    if (!net)
        return;
    nn_graph_free(net->g);
    nn_optim_free(net->opt);
    free(net->dout);
    free(net->d2);
    free(net->g1);
    nn_doc_free(net->own_doc);
    free(net);
}

nn_graph *nn_net_graph(nn_net *net) { return net->g; }
const nn_train_cfg *nn_net_config(const nn_net *net) { return &net->cfg; }
size_t nn_net_input_size(const nn_net *net) { return nn_shape_size(nn_graph_input_shape(net->g)); }
size_t nn_net_output_size(const nn_net *net)
{
    return nn_shape_size(nn_graph_output_shape(net->g));
}

void nn_net_set_lr(nn_net *net, double lr)
{
    net->lr = lr;
    nn_optim_set_lr(net->opt, lr);
}

double nn_net_lr(const nn_net *net) { return net->lr; }

int nn_net_image_to_input(const nn_net *net, const uint8_t *pixels, int w, int h, float *x,
                          nn_error *err)
{
    return nn_data_image_to_input(&net->cfg.data, nn_graph_input_shape(net->g), pixels, w, h, x,
                                  err);
}

/* Puts a batch into the graph's input. */
static int load(nn_net *net, const float *x, int batch, nn_error *err)
{
    if (batch < 1 || !x)
        return nn_error_set(err, NN_E_USAGE, "a batch needs at least one sample, got %d",
                            x ? batch : 0);
    int rc = grow(net, batch, err);
    if (rc)
        return rc;
    memcpy(nn_graph_input(net->g), x, sizeof(float) * (size_t)batch * nn_net_input_size(net));
    return NN_OK;
}

static int run(nn_net *net, const float *x, int batch, const float **y, nn_error *err)
{
    int rc = load(net, x, batch, err);
    if (!rc)
        *y = nn_graph_forward(net->g, batch);
    return rc;
}

int nn_net_forward(nn_net *net, const float *x, int batch, const float **y, nn_error *err)
{
    if (!y)
        return nn_error_set(err, NN_E_USAGE, "no place for the output given");
    return run(net, x, batch, y, err);
}

int nn_net_classify(nn_net *net, const float *x, int batch, int *classes, nn_error *err)
{
    const float *y;
    if (!classes)
        return nn_error_set(err, NN_E_USAGE, "no place for the classes given");
    int rc = run(net, x, batch, &y, err);
    int n = (int)nn_net_output_size(net);
    for (int i = 0; !rc && i < batch; i++)
        classes[i] = nn_loss_predict(&net->cfg.loss, y + (size_t)i * n, n);
    return rc;
}

static int check_labels(const nn_net *net, const uint8_t *labels, size_t n, nn_error *err)
{
    if (!labels)
        return nn_error_set(err, NN_E_USAGE, "no labels given");
    size_t out = nn_net_output_size(net);
    for (size_t i = 0; i < n; i++)
        if (labels[i] >= out || labels[i] >= net->cfg.data.classes)
            return nn_error_set(err, NN_E_DATA,
                                "label %u of sample %zu is not below the %zu classes",
                                labels[i], i, out);
    return NN_OK;
}

static int layer_error(nn_net *net, int layer, const char *what, nn_error *err)
{
    nn_layer_info info;
    nn_graph_layer_info(net->g, layer >= 0 ? layer : nn_graph_layer_count(net->g) - 1, &info);
    return nn_error_set(err, NN_E_NUMERIC, "%s in layer '%s' (the parameters are unchanged)",
                        what, info.name);
}

int nn_net_train_step(nn_net *net, const float *x, const uint8_t *labels, int batch,
                      double *loss, nn_error *err)
{
    int rc = check_labels(net, labels, batch > 0 ? (size_t)batch : 0, err);
    if (!rc)
        rc = load(net, x, batch, err);
    if (rc)
        return rc;
    nn_slice_labels sl = {.loss = &net->cfg.loss, .labels = labels, .batch = batch,
                          .n_out = (int)nn_net_output_size(net)};
    nn_graph_zero_grads(net->g);
    double sum = nn_graph_step(net->g, batch, nn_loss_slice, &sl, net->dout,
                               nn_loss_grad_is_preact(&net->cfg.loss), NULL);
    if (!isfinite(sum)) {
        nn_graph_zero_grads(net->g);
        return layer_error(net, nn_graph_find_nonfinite_output(net->g, batch),
                           "the loss is not finite; the first non-finite output is", err);
    }
    float *g = nn_graph_grads(net->g);
    size_t n = nn_graph_param_count(net->g);
    for (size_t k = 0; k < n; k++)
        if (!isfinite(g[k]))
            return layer_error(net, nn_graph_layer_of_param(net->g, k),
                               "a gradient is not finite", err);
    nn_optim_step(net->opt, nn_graph_params(net->g), g);
    if (loss)
        *loss = sum / batch;
    return NN_OK;
}

int nn_net_estimate_hessian(nn_net *net, const float *x, const uint8_t *labels, size_t n,
                            nn_error *err)
{
    if (net->cfg.optim.kind != NN_OPT_SDLM)
        return NN_OK;
    int rc = check_labels(net, labels, n, err);
    if (!rc && (!x || n == 0))
        rc = nn_error_set(err, NN_E_USAGE, "the Hessian estimate needs at least one sample");
    if (rc)
        return rc;
    size_t in = nn_net_input_size(net), out = nn_net_output_size(net);
    size_t mb = (size_t)nn_graph_max_batch(net->g);
    float *h = net->opt->state;
    int preact = nn_loss_grad_is_preact(&net->cfg.loss);
    for (size_t i = 0; i < n; i += mb) {
        int b = (int)(n - i < mb ? n - i : mb);
        const float *y;
        if (i == 0)
            memset(h, 0, sizeof(float) * net->opt->n); /* after run's checks can no longer fail */
        if ((rc = run(net, x + i * in, b, &y, err)))
            return rc;
        nn_loss_hdiag(&net->cfg.loss, y, labels + i, b, (int)out, net->d2, net->g1);
        nn_graph_hdiag(net->g, b, net->d2, net->g1, preact, h);
    }
    for (size_t k = 0; k < net->opt->n; k++)
        h[k] /= (float)n;
    nn_optim_set_lr(net->opt, net->lr);
    return NN_OK;
}

int nn_net_evaluate(nn_net *net, const float *x, const uint8_t *labels, size_t n, double *loss,
                    double *error, nn_error *err)
{
    int rc = check_labels(net, labels, n, err);
    if (!rc && (!x || n == 0))
        rc = nn_error_set(err, NN_E_USAGE, "an evaluation needs at least one sample");
    if (rc)
        return rc;
    size_t in = nn_net_input_size(net), mb = (size_t)nn_graph_max_batch(net->g);
    double total = 0;
    size_t wrong = 0;
    for (size_t i = 0; i < n; i += mb) {
        int b = (int)(n - i < mb ? n - i : mb), w;
        const float *y;
        if ((rc = run(net, x + i * in, b, &y, err)))
            return rc;
        total += nn_loss_eval(&net->cfg.loss, y, labels + i, b, (int)nn_net_output_size(net),
                              NULL, &w);
        wrong += (size_t)w;
    }
    if (loss)
        *loss = total / (double)n;
    if (error)
        *error = (double)wrong / (double)n;
    return NN_OK;
}

/* ---- weights ------------------------------------------------------------------------------ */

static nn_checkpoint_meta weights_meta(const nn_graph *g)
{
    return (nn_checkpoint_meta){.fingerprint = nn_graph_fingerprint(g),
                                .n_params = nn_graph_param_count(g)};
}

/* The parameter block is only read; nn_graph_params has no const form. */
static const float *params_of(const nn_graph *g) { return nn_graph_params((nn_graph *)g); }

int nn_graph_save_weights(const nn_graph *g, uint8_t **buf, size_t *len, nn_error *err)
{
    nn_checkpoint_meta m = weights_meta(g);
    *buf = NULL;
    *len = 0;
    return nn_checkpoint_encode(&m, params_of(g), NULL, buf, len, err);
}

int nn_graph_load_weights(nn_graph *g, const uint8_t *buf, size_t len, nn_error *err)
{
    nn_checkpoint_meta m = weights_meta(g);
    if (!buf)
        return nn_error_set(err, NN_E_USAGE, "no weights buffer given");
    return nn_checkpoint_decode(buf, len, "weights buffer", &m, nn_graph_params(g), NULL, err);
}

int nn_graph_save_weights_file(const nn_graph *g, const char *path, nn_error *err)
{
    nn_checkpoint_meta m = weights_meta(g);
    return nn_checkpoint_save(path, &m, params_of(g), NULL, err);
}

int nn_graph_load_weights_file(nn_graph *g, const char *path, nn_error *err)
{
    nn_checkpoint_meta m = weights_meta(g);
    return nn_checkpoint_load(path, &m, nn_graph_params(g), NULL, err);
}
