#include "bench.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blas.h"
#include "train.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b);

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double median_of(double *v, int n)
{
    qsort(v, (size_t)n, sizeof v[0], cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct bench {
    nn_train_cfg cfg;
    nn_graph *g;
    nn_optim *opt;
    nn_dataset ds;
    size_t *index;
    uint8_t *labels;
    float *dout;
    int batch, n_out;
    size_t next; /* the next image to use, cycling through ds */
} bench;

static void load_next(bench *b)
{
    for (int i = 0; i < b->batch; i++) {
        b->index[i] = b->next;
        b->labels[i] = b->ds.labels[b->next];
        b->next = b->next + 1 < b->ds.n ? b->next + 1 : 0;
    }
    nn_data_fill_input(&b->cfg.data, &b->ds, b->index, (size_t)b->batch, nn_graph_input(b->g));
}

/* One training step, the work of the trainer's: a non-finite loss or gradient is ignored here
 * (the step is timed all the same). */
static void train_step(bench *b)
{
    load_next(b);
    nn_slice_labels sl = {.loss = &b->cfg.loss, .labels = b->labels, .batch = b->batch,
                          .n_out = b->n_out};
    nn_graph_step(b->g, b->batch, nn_loss_slice, &sl, b->dout,
                  nn_loss_grad_is_preact(&b->cfg.loss), NULL);
    nn_optim_step(b->opt, nn_graph_params(b->g), nn_graph_grads(b->g));
}

static void infer_step(bench *b)
{
    load_next(b);
    nn_graph_forward(b->g, b->batch);
}

/* Warm-up of about one repeat, which also sizes the repeats; then the timed repeats. Each is
 * timed by the wall clock and by the CPU time of the whole process (all threads): on a shared
 * machine the second says what the work costs, the first what a user waits. */
typedef struct measured {
    double median, lo, hi, cpu;
} measured;

static measured measure(bench *b, void (*step)(bench *), const nn_bench_opts *o)
{
    long steps = 0;
    double t0 = now_s(), t;
    do {
        step(b);
        steps++;
        t = now_s() - t0;
    } while (t < o->seconds);
    long per_repeat = (long)(steps * o->seconds / t) + 1;
    double ips[NN_BENCH_MAX_REPEATS], cpu[NN_BENCH_MAX_REPEATS];
    for (int r = 0; r < o->repeats; r++) {
        t0 = now_s();
        double c0 = cpu_s();
        for (long s = 0; s < per_repeat; s++)
            step(b);
        double images = (double)per_repeat * b->batch, c = cpu_s() - c0;
        ips[r] = images / (now_s() - t0);
        cpu[r] = c > 0 ? images / c : 0;
    }
    measured m;
    m.median = median_of(ips, o->repeats);
    m.lo = ips[0];
    m.hi = ips[o->repeats - 1];
    m.cpu = median_of(cpu, o->repeats);
    return m;
}

/* The profiled run: the training step for as many steps as the timed repeats took, each
 * layer's time summed by the graph. */
static int profile(bench *b, const nn_bench_opts *o, nn_bench_result *out, nn_error *err)
{
    int n = nn_graph_layer_count(b->g);
    size_t chars = 0;
    for (int i = 0; i < n; i++) {
        nn_layer_info li;
        nn_graph_layer_info(b->g, i, &li);
        chars += strlen(li.name) + strlen(li.type) + 2;
    }
    out->layers = calloc((size_t)n, sizeof *out->layers);
    out->names = malloc(chars);
    if (!out->layers || !out->names)
        return nn_error_set(err, NN_E_NOMEM, "out of memory for the profile");
    int rc = nn_graph_set_profile(b->g, 1, err);
    if (rc)
        return rc;
    long steps = (long)(out->train_ips * o->seconds * o->repeats / b->batch) + 1;
    nn_graph_profile_reset(b->g);
    double t0 = now_s();
    for (long s = 0; s < steps; s++)
        train_step(b);
    double images = (double)steps * b->batch;
    out->step_us = (now_s() - t0) * 1e6 / images * nn_graph_threads(b->g);
    char *at = out->names;
    for (int i = 0; i < n; i++) {
        nn_layer_info li;
        nn_graph_layer_info(b->g, i, &li);
        nn_bench_layer *bl = &out->layers[i];
        size_t ln = strlen(li.name) + 1, lt = strlen(li.type) + 1;
        bl->name = memcpy(at, li.name, ln);
        bl->type = memcpy(at + ln, li.type, lt);
        at += ln + lt;
        bl->connections = li.connections;
        double f, bw;
        nn_graph_profile(b->g, i, &f, &bw);
        bl->forward_us = f * 1e6 / images;
        bl->backward_us = bw * 1e6 / images;
    }
    out->n_layers = n;
    return nn_graph_set_profile(b->g, 0, err);
}

static int setup(bench *b, const nn_doc *doc, const nn_registry *reg, nn_bench_opts *o,
                 nn_error *err)
{
    const nn_node *root = nn_doc_root(doc);
    int rc = nn_train_cfg_read(root, &b->cfg, err);
    if (rc)
        return rc;
    if (o->batch <= 0)
        o->batch = (int)b->cfg.batch;
    if (o->threads <= 0)
        o->threads = 1;
    if (o->repeats <= 0)
        o->repeats = 5;
    if (o->repeats > NN_BENCH_MAX_REPEATS)
        return nn_error_set(err, NN_E_USAGE, "at most %d repeats", NN_BENCH_MAX_REPEATS);
    if (o->seconds <= 0)
        o->seconds = 0.4;
    if (o->images <= 0)
        o->images = 8192;
    b->batch = o->batch;
    rc = nn_graph_build(root, reg, o->batch, &b->g, err);
    if (!rc && o->threads > 1)
        rc = nn_graph_set_threads(b->g, o->threads, err);
    if (!rc && o->slice >= 0)
        rc = nn_graph_set_slice(b->g, o->slice, err);
    if (!rc)
        rc = nn_train_cfg_check_graph(&b->cfg, b->g, err);
    if (!rc)
        rc = nn_optim_new(&b->cfg.optim, nn_graph_param_count(b->g), &b->opt, err);
    if (rc)
        return rc;
    nn_rng rng;
    nn_rng_seed(&rng, b->cfg.seed);
    nn_graph_init(b->g, &rng);
    nn_optim_set_lr(b->opt, nn_train_cfg_lr(&b->cfg, 0));
    rc = nn_data_load_split(&b->cfg.data, &b->cfg.data.train, "train", nn_graph_input_shape(b->g),
                            (size_t)o->images, &b->ds, err);
    if (rc)
        return rc;
    b->n_out = (int)nn_shape_size(nn_graph_output_shape(b->g));
    b->index = malloc(sizeof(size_t) * (size_t)o->batch);
    b->labels = malloc((size_t)o->batch);
    b->dout = malloc(sizeof(float) * (size_t)o->batch * (size_t)b->n_out);
    if (!b->index || !b->labels || !b->dout)
        return nn_error_set(err, NN_E_NOMEM, "out of memory");
    return NN_OK;
}

static void teardown(bench *b)
{
    nn_graph_free(b->g);
    nn_optim_free(b->opt);
    nn_dataset_free(&b->ds);
    free(b->index);
    free(b->labels);
    free(b->dout);
}

int nn_bench_run(const nn_doc *doc, const nn_registry *reg, const nn_bench_opts *opts,
                 nn_bench_result *out, nn_error *err)
{
    memset(out, 0, sizeof *out);
    nn_bench_opts o = *opts;
    bench b;
    memset(&b, 0, sizeof b);
    int rc = setup(&b, doc, reg, &o, err);
    if (rc) {
        teardown(&b);
        return rc;
    }
    unsigned csr = nn_denormals_off(); /* as training runs */
    out->batch = o.batch;
    out->threads = o.threads;
    out->repeats = o.repeats;
    for (int i = 0; i < nn_graph_layer_count(b.g); i++) {
        nn_layer_info li;
        nn_graph_layer_info(b.g, i, &li);
        out->connections += li.connections;
    }
    measured tr = measure(&b, train_step, &o), in = measure(&b, infer_step, &o);
    out->train_ips = tr.median;
    out->train_min = tr.lo;
    out->train_max = tr.hi;
    out->train_cpu = tr.cpu;
    out->infer_ips = in.median;
    out->infer_min = in.lo;
    out->infer_max = in.hi;
    out->infer_cpu = in.cpu;
    rc = o.profile ? profile(&b, &o, out, err) : NN_OK;
    nn_denormals_restore(csr);
    out->infer_gflops = out->infer_ips * 2 * out->connections * 1e-9;
    out->train_gflops = out->train_ips * 3 * 2 * out->connections * 1e-9;
    teardown(&b);
    return rc;
}

void nn_bench_result_free(nn_bench_result *r)
{
    free(r->layers);
    free(r->names);
    r->layers = NULL;
    r->names = NULL;
    r->n_layers = 0;
}

double nn_bench_sgemm_peak(int n, int threads, nn_error *err)
{
    size_t nn = (size_t)n * (size_t)n;
    float *a = malloc(sizeof(float) * nn), *bm = malloc(sizeof(float) * nn),
          *c = malloc(sizeof(float) * nn);
    if (!a || !bm || !c) {
        free(a);
        free(bm);
        free(c);
        nn_error_set(err, NN_E_NOMEM, "out of memory for a %dx%d sgemm", n, n);
        return 0;
    }
    for (size_t i = 0; i < nn; i++) {
        a[i] = (float)(i % 7) * 0.25f - 0.5f;
        bm[i] = (float)(i % 5) * 0.125f - 0.25f;
        c[i] = 0;
    }
    nn_blas_set_threads(threads);
    nn_sgemm(0, 0, n, n, n, 1.0f, a, n, bm, n, 0.0f, c, n); /* warm-up */
    double g[5];
    for (int r = 0; r < 5; r++) {
        double t0 = now_s();
        nn_sgemm(0, 0, n, n, n, 1.0f, a, n, bm, n, 0.0f, c, n);
        g[r] = 2.0 * n * (double)nn / (now_s() - t0) * 1e-9;
    }
    nn_blas_set_threads(1);
    double peak = median_of(g, 5);
    free(a);
    free(bm);
    free(c);
    return peak;
}
