/* The public API of <nn.h>: nets from YAML in memory and in files, weights through memory and
 * files, layer types registered from outside, errors as values, and independence: two nets in
 * one process, or one in each of two threads, give the results of one alone. */
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn.h"

static const char tiny_yaml[] =
    "name: tiny\n"
    "input: [1, 6, 6]\n"
    "layers:\n"
    "  - {name: c1, type: conv, maps: 3, kernel: 3, activation: tanh}\n"
    "  - {name: out, type: dense, units: 4, activation: softmax}\n"
    "data: {classes: 4}\n"
    "train: {batch: 8, loss: cross_entropy, optimizer: {type: sgd, momentum: 0.9}, lr: 0.1, "
    "seed: 11}\n";

enum { IN = 36, N_SAMPLES = 64, BATCH = 8, STEPS = 40 };

/* Class c lights up quadrant c of the 6x6 image, with noise. */
static void make_data(uint64_t seed, float *x, uint8_t *labels)
{
    nn_rng rng;
    nn_rng_seed(&rng, seed);
    for (int i = 0; i < N_SAMPLES; i++) {
        int c = (int)nn_rng_below(&rng, 4);
        labels[i] = (uint8_t)c;
        for (int p = 0; p < IN; p++) {
            int quad = (p / 6 >= 3) * 2 + (p % 6 >= 3);
            x[i * IN + p] = (quad == c ? 1.0f : 0.0f) + nn_rng_uniform(&rng, -0.3f, 0.3f);
        }
    }
}

static nn_net *make_net(const char *yaml, const nn_net_opts *opts)
{
    nn_error err = {0};
    nn_net *net = NULL;
    int rc = nn_net_from_yaml(yaml, 0, "tiny", opts, &net, &err);
    cr_assert_eq(rc, NN_OK, "%s", err.msg);
    return net;
}

/* One training step over batch k of the data. */
static void step(nn_net *net, const float *x, const uint8_t *labels, int k, double *loss)
{
    nn_error err = {0};
    int off = (k * BATCH) % N_SAMPLES;
    cr_assert_eq(nn_net_train_step(net, x + off * IN, labels + off, BATCH, loss, &err), NN_OK,
                 "%s", err.msg);
}

/* Trains a fresh net STEPS steps on the data of seed; returns its parameters (malloc'd). */
static float *train_alone(uint64_t data_seed, size_t *n)
{
    float x[N_SAMPLES * IN];
    uint8_t labels[N_SAMPLES];
    make_data(data_seed, x, labels);
    nn_net *net = make_net(tiny_yaml, NULL);
    for (int k = 0; k < STEPS; k++)
        step(net, x, labels, k, NULL);
    *n = nn_graph_param_count(nn_net_graph(net));
    float *p = malloc(sizeof(float) * *n);
    memcpy(p, nn_graph_params(nn_net_graph(net)), sizeof(float) * *n);
    nn_net_free(net);
    return p;
}

Test(api, training_lowers_the_loss)
{
    nn_blas_set_threads(1);
    float x[N_SAMPLES * IN];
    uint8_t labels[N_SAMPLES];
    make_data(1, x, labels);
    nn_net *net = make_net(tiny_yaml, NULL);
    nn_error err = {0};
    double before, after, error;
    cr_assert_eq(nn_net_evaluate(net, x, labels, N_SAMPLES, &before, NULL, &err), NN_OK);
    for (int k = 0; k < STEPS; k++)
        step(net, x, labels, k, NULL);
    cr_assert_eq(nn_net_evaluate(net, x, labels, N_SAMPLES, &after, &error, &err), NN_OK);
    cr_expect_lt(after, 0.5 * before, "loss %g -> %g", before, after);
    cr_expect_lt(error, 0.1, "error %g after training on a separable set", error);
    nn_net_free(net);
}

Test(api, yaml_string_builds_the_same_net_as_the_file)
{
    nn_error err = {0};
    nn_net *a = NULL, *b = NULL;
    cr_assert_eq(nn_net_from_file(NN_SOURCE_DIR "/configs/lenet5.yaml", NULL, &a, &err), NN_OK,
                 "%s", err.msg);
    FILE *f = fopen(NN_SOURCE_DIR "/configs/lenet5.yaml", "rb");
    cr_assert(f);
    char text[16384];
    size_t len = fread(text, 1, sizeof text, f);
    fclose(f);
    cr_assert_eq(nn_net_from_yaml(text, len, "lenet5.yaml", NULL, &b, &err), NN_OK, "%s",
                 err.msg);
    nn_graph *ga = nn_net_graph(a), *gb = nn_net_graph(b);
    cr_expect_eq(nn_graph_fingerprint(ga), nn_graph_fingerprint(gb));
    cr_assert_eq(nn_graph_param_count(ga), 60000);
    cr_expect_eq(memcmp(nn_graph_params(ga), nn_graph_params(gb), 60000 * sizeof(float)), 0);
    float x[2 * 1024];
    for (int i = 0; i < 2 * 1024; i++)
        x[i] = (float)((i * 37) % 101) / 101.0f;
    int ca[2], cb[2];
    const float *y;
    cr_assert_eq(nn_net_forward(a, x, 2, &y, &err), NN_OK, "%s", err.msg);
    float ya[20];
    memcpy(ya, y, sizeof ya);
    cr_assert_eq(nn_net_forward(b, x, 2, &y, &err), NN_OK);
    cr_expect_eq(memcmp(ya, y, sizeof ya), 0);
    cr_assert_eq(nn_net_classify(a, x, 2, ca, &err), NN_OK);
    cr_assert_eq(nn_net_classify(b, x, 2, cb, &err), NN_OK);
    for (int s = 0; s < 2; s++) { /* RBF: the class is the nearest prototype */
        int best = 0;
        for (int i = 1; i < 10; i++)
            if (ya[s * 10 + i] < ya[s * 10 + best])
                best = i;
        cr_expect_eq(ca[s], best);
        cr_expect_eq(cb[s], best);
    }
    nn_net_free(a);
    nn_net_free(b);
}

Test(api, errors_name_the_place_and_leave_nothing)
{
    nn_error err = {0};
    nn_net *net = (nn_net *)&err; /* must be reset to NULL */
    const char *bad = "input: [1, 6, 6]\nlayers:\n  - {name: d, type: dense, unitz: 4}\n";
    cr_assert_eq(nn_net_from_yaml(bad, 0, "mine.yaml", NULL, &net, &err), NN_E_CONFIG);
    cr_expect_null(net);
    cr_expect(strncmp(err.msg, "mine.yaml:3:", 12) == 0, "%s", err.msg);
    cr_expect(strstr(err.msg, "unknown key 'unitz' (did you mean 'units'?)"), "%s", err.msg);

    cr_assert_eq(nn_net_from_yaml("input: [1, 6, 6]\nlayers: [{type: dense, units: 0}]\n", 0,
                                  NULL, NULL, &net, &err),
                 NN_E_CONFIG);
    cr_expect(strncmp(err.msg, "<string>:2:", 11) == 0, "%s", err.msg);
    cr_assert_eq(nn_net_from_yaml("input: [1, 6\n", 0, "broken", NULL, &net, &err),
                 NN_E_CONFIG);
    cr_assert_eq(nn_net_from_file("/nonexistent/x.yaml", NULL, &net, &err), NN_E_IO, "%s",
                 err.msg);
    /* A config nnrun would refuse is refused here too: cross_entropy needs a softmax. */
    const char *nosoft = "input: [1, 6, 6]\nlayers: [{type: dense, units: 10}]\n"
                         "train: {loss: cross_entropy, optimizer: sgd}\n";
    cr_assert_eq(nn_net_from_yaml(nosoft, 0, "s", NULL, &net, &err), NN_E_CONFIG);
    cr_expect(strstr(err.msg, "softmax"), "%s", err.msg);
}

Test(api, bad_calls_are_errors)
{
    nn_net *net = make_net(tiny_yaml, NULL);
    nn_graph *g = nn_net_graph(net);
    size_t n = nn_graph_param_count(g);
    float *before = malloc(sizeof(float) * n);
    memcpy(before, nn_graph_params(g), sizeof(float) * n);
    float x[N_SAMPLES * IN];
    uint8_t labels[N_SAMPLES];
    make_data(2, x, labels);
    nn_error err = {0};
    const float *y;
    cr_expect_eq(nn_net_forward(net, x, 0, &y, &err), NN_E_USAGE);
    cr_expect_eq(nn_net_forward(net, NULL, 1, &y, &err), NN_E_USAGE);
    cr_expect_eq(nn_net_train_step(net, x, NULL, 4, NULL, &err), NN_E_USAGE);
    labels[3] = 4; /* 4 classes: 0..3 */
    cr_expect_eq(nn_net_train_step(net, x, labels, 4, NULL, &err), NN_E_DATA);
    cr_expect(strstr(err.msg, "label 4 of sample 3"), "%s", err.msg);
    labels[3] = 0;
    x[5] = NAN;
    cr_expect_eq(nn_net_train_step(net, x, labels, 4, NULL, &err), NN_E_NUMERIC);
    cr_expect(strstr(err.msg, "layer 'c1'"), "%s", err.msg);
    cr_expect_eq(memcmp(before, nn_graph_params(g), sizeof(float) * n), 0,
                 "a failed step changed the parameters");
    uint8_t img[3 * 3] = {0};
    float sample[IN];
    cr_expect_eq(nn_net_image_to_input(net, img, 0, 3, sample, &err), NN_E_DATA);
    cr_expect(strstr(err.msg, "image is 0x3, expected at least 1x1"), "%s", err.msg);
    /* any other size is laid out as a cell: a blank 3x3 image gives a blank input */
    cr_expect_eq(nn_net_image_to_input(net, img, 3, 3, sample, &err), NN_OK, "%s", err.msg);
    for (int i = 0; i < IN; i++)
        cr_expect_eq(sample[i], sample[0], "a blank image gave a non-uniform input");
    /* a NULL error pointer is allowed */
    cr_expect_eq(nn_net_forward(net, x, -1, &y, NULL), NN_E_USAGE);
    free(before);
    nn_net_free(net);
}

Test(api, batches_larger_than_the_buffers_grow_them)
{
    nn_net_opts opts = {.max_batch = 2};
    nn_net *net = make_net(tiny_yaml, &opts);
    float x[N_SAMPLES * IN];
    uint8_t labels[N_SAMPLES];
    make_data(3, x, labels);
    nn_error err = {0};
    const float *y;
    float one[5][4];
    for (int s = 0; s < 5; s++) {
        cr_assert_eq(nn_net_forward(net, x + s * IN, 1, &y, &err), NN_OK);
        memcpy(one[s], y, sizeof one[s]);
    }
    cr_assert_eq(nn_net_forward(net, x, 5, &y, &err), NN_OK, "%s", err.msg);
    cr_expect_geq(nn_graph_max_batch(nn_net_graph(net)), 5);
    for (int s = 0; s < 5; s++)
        for (int i = 0; i < 4; i++)
            cr_expect_float_eq(y[s * 4 + i], one[s][i], 1e-6f);
    nn_net_free(net);
}

Test(api, weights_through_memory_and_files)
{
    float x[N_SAMPLES * IN];
    uint8_t labels[N_SAMPLES];
    make_data(4, x, labels);
    nn_net *a = make_net(tiny_yaml, NULL);
    for (int k = 0; k < 10; k++)
        step(a, x, labels, k, NULL);
    nn_net_opts other = {.have_seed = 1, .seed = 12345};
    nn_net *b = make_net(tiny_yaml, &other);
    nn_graph *ga = nn_net_graph(a), *gb = nn_net_graph(b);
    size_t n = nn_graph_param_count(ga), bytes = n * sizeof(float);
    cr_assert_neq(memcmp(nn_graph_params(ga), nn_graph_params(gb), bytes), 0);
    nn_error err = {0};
    uint8_t *buf;
    size_t len;
    cr_assert_eq(nn_graph_save_weights(ga, &buf, &len, &err), NN_OK);
    cr_expect_gt(len, bytes);

    /* every kind of damage is refused and leaves the graph as it was */
    float *kept = malloc(bytes);
    memcpy(kept, nn_graph_params(gb), bytes);
    buf[len / 2] ^= 0x10;
    cr_expect_eq(nn_graph_load_weights(gb, buf, len, &err), NN_E_CHECKPOINT);
    cr_expect(strstr(err.msg, "checksum"), "%s", err.msg);
    buf[len / 2] ^= 0x10;
    cr_expect_eq(nn_graph_load_weights(gb, buf, len - 1, &err), NN_E_CHECKPOINT);
    cr_expect(strstr(err.msg, "truncated"), "%s", err.msg);
    cr_expect_eq(nn_graph_load_weights(gb, buf, 4, &err), NN_E_CHECKPOINT);
    cr_expect_eq(memcmp(kept, nn_graph_params(gb), bytes), 0);

    cr_assert_eq(nn_graph_load_weights(gb, buf, len, &err), NN_OK, "%s", err.msg);
    cr_expect_eq(memcmp(nn_graph_params(ga), nn_graph_params(gb), bytes), 0);

    /* weights of another architecture */
    char wider[sizeof tiny_yaml + 8];
    snprintf(wider, sizeof wider, "%s", tiny_yaml);
    memcpy(strstr(wider, "maps: 3"), "maps: 4", 7);
    nn_net *c = make_net(wider, NULL);
    cr_expect_eq(nn_graph_load_weights(nn_net_graph(c), buf, len, &err), NN_E_CHECKPOINT);
    cr_expect(strstr(err.msg, "another graph"), "%s", err.msg);

    char path[] = "/tmp/nn_weights_XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    nn_net *d = make_net(tiny_yaml, &other);
    cr_assert_eq(nn_graph_save_weights_file(ga, path, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(nn_graph_load_weights_file(nn_net_graph(d), path, &err), NN_OK, "%s", err.msg);
    cr_expect_eq(memcmp(nn_graph_params(ga), nn_graph_params(nn_net_graph(d)), bytes), 0);
    /* the file holds exactly what the buffer holds */
    FILE *f = fopen(path, "rb");
    uint8_t *file = malloc(len + 1);
    cr_expect_eq(fread(file, 1, len + 1, f), len);
    fclose(f);
    cr_expect_eq(memcmp(file, buf, len), 0);
    unlink(path);
    cr_expect_eq(nn_graph_load_weights_file(nn_net_graph(d), path, &err), NN_E_USAGE);
    free(file);
    free(kept);
    free(buf);
    nn_net_free(a);
    nn_net_free(b);
    nn_net_free(c);
    nn_net_free(d);
}

Test(api, two_nets_in_one_process_are_independent)
{
    nn_blas_set_threads(1);
    size_t n1, n2;
    float *ref1 = train_alone(7, &n1), *ref2 = train_alone(8, &n2);
    cr_assert_neq(memcmp(ref1, ref2, n1 * sizeof(float)), 0);
    float x1[N_SAMPLES * IN], x2[N_SAMPLES * IN];
    uint8_t l1[N_SAMPLES], l2[N_SAMPLES];
    make_data(7, x1, l1);
    make_data(8, x2, l2);
    nn_net *a = make_net(tiny_yaml, NULL), *b = make_net(tiny_yaml, NULL);
    for (int k = 0; k < STEPS; k++) { /* interleaved */
        step(a, x1, l1, k, NULL);
        step(b, x2, l2, k, NULL);
    }
    cr_expect_eq(memcmp(nn_graph_params(nn_net_graph(a)), ref1, n1 * sizeof(float)), 0);
    cr_expect_eq(memcmp(nn_graph_params(nn_net_graph(b)), ref2, n2 * sizeof(float)), 0);
    nn_net_free(a);
    nn_net_free(b);
    free(ref1);
    free(ref2);
}

typedef struct job {
    uint64_t seed;
    float *params;
    size_t n;
} job;

static void *train_job(void *arg)
{
    job *j = arg;
    j->params = train_alone(j->seed, &j->n);
    return NULL;
}

Test(api, one_net_per_thread_gives_the_results_of_one_alone)
{
    nn_blas_set_threads(1);
    size_t n1, n2;
    float *ref1 = train_alone(7, &n1), *ref2 = train_alone(8, &n2);
    for (int round = 0; round < 3; round++) {
        job jobs[2] = {{.seed = 7}, {.seed = 8}};
        pthread_t th[2];
        for (int i = 0; i < 2; i++)
            cr_assert_eq(pthread_create(&th[i], NULL, train_job, &jobs[i]), 0);
        for (int i = 0; i < 2; i++)
            pthread_join(th[i], NULL);
        cr_expect_eq(memcmp(jobs[0].params, ref1, n1 * sizeof(float)), 0, "round %d", round);
        cr_expect_eq(memcmp(jobs[1].params, ref2, n2 * sizeof(float)), 0, "round %d", round);
        free(jobs[0].params);
        free(jobs[1].params);
    }
    free(ref1);
    free(ref2);
}

/* ---- a layer type from outside the library ------------------------------------------------ */

typedef struct scale {
    double factor;
} scale;

static const char *const scale_keys[] = {"factor", NULL};

static int scale_configure(nn_layer *l, const nn_node *cfg, nn_error *err)
{
    scale *s = nn_layer_alloc(l, sizeof *s);
    if (!s)
        return nn_error_set(err, NN_E_NOMEM, "out of memory");
    l->priv = s;
    return nn_map_double(cfg, "factor", 1, 0, -100, 100, "layer", &s->factor, err);
}

static int scale_infer(nn_layer *l, nn_layer_plan *plan, nn_error *err)
{
    (void)err;
    plan->out = l->in[0];
    return NN_OK;
}

static void scale_forward(const nn_layer *l, const nn_pass *p)
{
    const scale *s = l->priv;
    for (size_t i = 0; i < (size_t)p->batch * nn_shape_size(l->out); i++)
        p->out[i] = (float)s->factor * p->in[0][i];
}

static void scale_backward(const nn_layer *l, const nn_pass *p)
{
    const scale *s = l->priv;
    if (p->in_grad[0])
        for (size_t i = 0; i < (size_t)p->batch * nn_shape_size(l->out); i++)
            p->in_grad[0][i] += (float)s->factor * p->out_grad[i];
}

static const nn_layer_ops scale_ops = {
    .type = "scale",
    .keys = scale_keys,
    .min_inputs = 1,
    .max_inputs = 1,
    .configure = scale_configure,
    .infer = scale_infer,
    .forward = scale_forward,
    .backward = scale_backward,
};

Test(api, registered_layer_types_are_named_by_type)
{
    nn_error err = {0};
    nn_registry *reg;
    cr_assert_eq(nn_registry_new(&reg, &err), NN_OK);
    const char *yaml = "input: [1, 6, 6]\n"
                       "layers:\n"
                       "  - {name: d, type: dense, units: 4}\n"
                       "  - {name: s, type: scale, factor: -3}\n"
                       "train: {optimizer: sgd, loss: rbf_mse}\ndata: {classes: 4}\n";
    nn_net_opts opts = {.registry = reg};
    nn_net *net = NULL;
    cr_assert_eq(nn_net_from_yaml(yaml, 0, "s.yaml", &opts, &net, &err), NN_E_CONFIG);
    cr_expect(strstr(err.msg, "unknown layer type 'scale'") || strstr(err.msg, "'scale'"), "%s",
              err.msg);
    cr_assert_eq(nn_registry_add(reg, &scale_ops, &err), NN_OK, "%s", err.msg);
    cr_expect_neq(nn_registry_add(reg, &scale_ops, &err), NN_OK, "a second 'scale'");
    cr_assert_eq(nn_net_from_yaml(yaml, 0, "s.yaml", &opts, &net, &err), NN_OK, "%s", err.msg);
    nn_registry_free(reg); /* only needed while building */
    float x[IN];
    for (int i = 0; i < IN; i++)
        x[i] = (float)i / IN;
    const float *y;
    cr_assert_eq(nn_net_forward(net, x, 1, &y, &err), NN_OK);
    nn_graph *g = nn_net_graph(net);
    const float *d = nn_graph_layer_output(g, nn_graph_find_layer(g, "d"));
    for (int i = 0; i < 4; i++)
        cr_expect_float_eq(y[i], -3.0f * d[i], 1e-6f);
    uint8_t label = 2;
    double l0, l1;
    for (int k = 0; k < 20; k++)
        cr_assert_eq(nn_net_train_step(net, x, &label, 1, k ? &l1 : &l0, &err), NN_OK, "%s",
                     err.msg);
    cr_expect_lt(l1, l0, "training through the registered layer: %g -> %g", l0, l1);
    nn_net_free(net);
}

Test(api, sdlm_steps_use_the_hessian_estimate)
{
    nn_blas_set_threads(1);
    const char *yaml = "input: [1, 6, 6]\n"
                       "layers:\n"
                       "  - {name: c1, type: conv, maps: 3, kernel: 3, activation: lecun_tanh}\n"
                       "  - {name: out, type: dense, units: 4}\n"
                       "data: {classes: 4}\n"
                       "train: {batch: 8, loss: rbf_map, optimizer: {type: sdlm, mu: 0.1}, "
                       "lr: 0.01}\n";
    float x[N_SAMPLES * IN];
    uint8_t labels[N_SAMPLES];
    make_data(9, x, labels);
    nn_error err = {0};
    nn_net *a = make_net(yaml, NULL), *b = make_net(yaml, NULL);
    cr_assert_eq(nn_net_estimate_hessian(a, x, labels, N_SAMPLES, &err), NN_OK, "%s", err.msg);
    cr_expect_float_eq(nn_net_lr(a), 0.01, 1e-12);
    double la, lb;
    step(a, x, labels, 0, &la);
    step(b, x, labels, 0, &lb);
    cr_expect_eq(la, lb, "the same net before the first update");
    cr_expect_neq(memcmp(nn_graph_params(nn_net_graph(a)), nn_graph_params(nn_net_graph(b)),
                         nn_graph_param_count(nn_net_graph(a)) * sizeof(float)),
                  0, "the estimate changed nothing");
    nn_net_free(a);
    nn_net_free(b);
}

Test(api, version)
{
    cr_expect_str_eq(nn_version(), NN_VERSION);
    char parts[32];
    snprintf(parts, sizeof parts, "%d.%d.%d", NN_VERSION_MAJOR, NN_VERSION_MINOR,
             NN_VERSION_PATCH);
    cr_expect_str_eq(parts, NN_VERSION, "NN_VERSION_MAJOR/MINOR/PATCH say %s", parts);
    /* the shared library's file name carries the same version (lib.mk's NN_VERSION) */
    FILE *f = fopen(NN_SOURCE_DIR "/lib.mk", "r");
    cr_assert(f);
    char line[256], want[64];
    snprintf(want, sizeof want, "NN_VERSION  := %s\n", NN_VERSION);
    int seen = 0;
    while (fgets(line, sizeof line, f))
        seen |= !strcmp(line, want);
    fclose(f);
    cr_expect(seen, "lib.mk does not say %s", want);
    /* and so does the man page */
    f = fopen(NN_SOURCE_DIR "/docs/nnrun.1", "r");
    cr_assert(f);
    snprintf(want, sizeof want, "\"nnrun %s\"", NN_VERSION);
    cr_expect(fgets(line, sizeof line, f) && strstr(line, want), "docs/nnrun.1: %s", line);
    fclose(f);
}
