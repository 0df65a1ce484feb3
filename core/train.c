/* The training loop: epochs over a shuffled permutation, the learning-rate schedule, the SDLM
 * Hessian estimate before each pass, test evaluation, checkpoints and metrics. */
#include "train.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#define NN_HAVE_MXCSR 1
#endif

/* Evaluation and the Hessian estimate run in batches of this many (or train.batch if larger):
 * larger batches only cost activation and scratch memory (peak of the paper run on 2 threads:
 * 70 MB with 100, 64.8 MiB with 16, 61.7 MiB with 8; the same time). */
#define EVAL_BATCH 8

/* The test pass of an epoch, run on a second thread while the next epoch trains: on a copy of
 * the graph (tg) holding that epoch's parameters, so that it computes exactly what the pass on
 * the training graph would. The epoch's last.ckpt, metrics row and report wait for it. */
typedef struct pending_test {
    int on;              /* started and not yet handled */
    pthread_t thread;
    atomic_int done;     /* set by the thread when its pass is over */
    nn_epoch_report r;
    uint8_t *ckpt;       /* the epoch's checkpoint, encoded when the epoch ended */
    size_t ckpt_len;
    nn_eval ev;
    int rc;
    nn_error err;
} pending_test;

struct nn_trainer {
    nn_train_cfg cfg;
    nn_graph *g;
    nn_optim *opt;
    nn_rng rng;            /* the run's generator; its state at an epoch's start is saved */
    nn_dataset train, test;
    int have_test;
    size_t *perm, *seq;
    uint8_t *labels;
    float *dout, *d2, *g1;
    long epoch;            /* epochs done */
    size_t resume_at;      /* samples of the current epoch already done (after a resume) */
    uint64_t steps;
    double best_error;
    char run_dir[PATH_MAX];
    char *config_yaml;
    nn_graph *tg;          /* the graph for the test pass beside training, or NULL */
    pending_test pt;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int mkdir_p(const char *path, nn_error *err)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return nn_error_set(err, NN_E_IO, "%s: path too long", path);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return nn_error_set(err, NN_E_IO, "%s: cannot create directory: %s", buf,
                                    strerror(errno));
            *p = c;
            if (!c)
                break;
        }
    }
    return NN_OK;
}

int nn_train_cfg_check_graph(const nn_train_cfg *cfg, nn_graph *g, nn_error *err)
{
    nn_activation act = nn_graph_output_activation(g);
    int n = nn_graph_layer_count(g);
    nn_layer_info info;
    nn_graph_layer_info(g, n - 1, &info);
    const char *loss = nn_loss_names[cfg->loss.kind];
    if (cfg->loss.kind == NN_LOSS_CROSS_ENTROPY && act != NN_ACT_SOFTMAX)
        return nn_error_set(err, NN_E_CONFIG,
                            "train: loss '%s' needs the output layer '%s' to have activation: "
                            "softmax",
                            loss, info.name);
    if (cfg->loss.kind != NN_LOSS_CROSS_ENTROPY && act == NN_ACT_SOFTMAX)
        return nn_error_set(err, NN_E_CONFIG,
                            "train: loss '%s' reads distances, but the output layer '%s' has "
                            "activation: softmax (use loss: cross_entropy)",
                            loss, info.name);
    if ((long)nn_shape_size(info.out) != cfg->data.classes)
        return nn_error_set(err, NN_E_SHAPE,
                            "the output layer '%s' has %zu units, the data has %ld classes",
                            info.name, nn_shape_size(info.out), cfg->data.classes);
    if (cfg->optim.kind == NN_OPT_SDLM)
        return nn_graph_supports_hdiag(g, err);
    return NN_OK;
}

static int alloc_buffers(nn_trainer *t, nn_error *err)
{
    size_t n = t->train.n, mb = (size_t)nn_graph_max_batch(t->g);
    size_t out = nn_shape_size(nn_graph_output_shape(t->g));
    t->perm = malloc(sizeof(size_t) * (n + 1));
    t->seq = malloc(sizeof(size_t) * (mb + 1));
    t->labels = malloc(mb + 1);
    t->dout = malloc(sizeof(float) * mb * out);
    t->d2 = malloc(sizeof(float) * mb * out);
    t->g1 = malloc(sizeof(float) * mb * out);
    if (!t->perm || !t->seq || !t->labels || !t->dout || !t->d2 || !t->g1)
        return nn_error_set(err, NN_E_NOMEM, "out of memory");
    return NN_OK;
}

/* Whether the test pass runs beside training: asked for, or by default when the run trains on
 * one thread and the machine has another CPU. */
static int test_alongside(const nn_train_opts *o)
{
    if (o->test_alongside < 0 || o->threads > 1)
        return 0;
    return o->test_alongside > 0 || sysconf(_SC_NPROCESSORS_ONLN) > 1;
}

/* Builds tg, the training graph's twin, its constants drawn from the generator state the training
 * graph's were. Left NULL, and the test pass run in line, when it cannot be built. */
static void make_test_graph(nn_trainer *t, const nn_node *root, const nn_registry *reg,
                            nn_rng rng)
{
    nn_graph *tg;
    nn_error ignored = {0};
    if (nn_graph_build(root, reg, nn_graph_max_batch(t->g), &tg, &ignored))
        return;
    nn_graph_init(tg, &rng);
    if (nn_graph_fingerprint(tg) != nn_graph_fingerprint(t->g)) {
        nn_graph_free(tg);
        return;
    }
    t->tg = tg;
}

static int setup(nn_trainer *t, const nn_doc *doc, const nn_registry *reg,
                 const nn_train_opts *o, nn_error *err)
{
    const nn_node *root = nn_doc_root(doc);
    int rc = nn_train_cfg_read(root, &t->cfg, err);
    if (rc)
        return rc;
    if (o->epochs > 0)
        t->cfg.epochs = o->epochs;
    if (o->have_seed)
        t->cfg.seed = o->seed;
    /* Built for the training batch, so that a graph too large for memory is reported for the
     * batch the config asks for; evaluation then runs EVAL_BATCH samples at a time if that fits,
     * else in training-sized batches. */
    rc = nn_graph_build(root, reg, (int)t->cfg.batch, &t->g, err);
    if (!rc && t->cfg.batch < EVAL_BATCH)
        (void)nn_graph_set_max_batch(t->g, EVAL_BATCH, NULL);
    if (!rc && o->threads > 1)
        rc = nn_graph_set_threads(t->g, o->threads, err);
    if (!rc)
        rc = nn_train_cfg_check_graph(&t->cfg, t->g, err);
    if (!rc)
        rc = nn_optim_new(&t->cfg.optim, nn_graph_param_count(t->g), &t->opt, err);
    if (rc)
        return rc;
    nn_rng_seed(&t->rng, t->cfg.seed);
    nn_rng at_init = t->rng;
    nn_graph_init(t->g, &t->rng);
    nn_shape in = nn_graph_input_shape(t->g);
    rc = nn_data_load_split(&t->cfg.data, &t->cfg.data.train, "train", in,
                            (size_t)o->limit_train, &t->train, err);
    if (!rc && t->cfg.data.test.images) {
        rc = nn_data_load_split(&t->cfg.data, &t->cfg.data.test, "test", in,
                                (size_t)o->limit_test, &t->test, err);
        t->have_test = !rc;
    }
    if (!rc)
        rc = alloc_buffers(t, err);
    if (!rc)
        rc = nn_doc_dump(doc, &t->config_yaml, err);
    if (!rc && t->have_test && test_alongside(o))
        make_test_graph(t, root, reg, at_init);
    return rc;
}

static int reset_metrics(const nn_trainer *t, long keep_epochs, double *best, nn_error *err);

static int resume(nn_trainer *t, nn_error *err)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/last.ckpt", t->run_dir);
    nn_checkpoint_meta m = {.fingerprint = nn_graph_fingerprint(t->g),
                            .n_params = nn_graph_param_count(t->g),
                            .n_state = nn_optim_state_count(t->opt)};
    int rc = nn_checkpoint_load(path, &m, nn_graph_params(t->g), t->opt->state, err);
    if (rc)
        return rc;
    if (m.optim_kind != (uint32_t)t->cfg.optim.kind)
        return nn_error_set(err, NN_E_CHECKPOINT,
                            "%s: written by the %s optimizer, the config now says %s", path,
                            nn_optim_names[m.optim_kind < NN_OPT_COUNT ? m.optim_kind : 0],
                            nn_optim_names[t->cfg.optim.kind]);
    t->epoch = (long)m.epoch;
    t->resume_at = (size_t)m.step;
    t->rng = m.rng;
    if (t->resume_at >= t->train.n)
        return nn_error_set(err, NN_E_CHECKPOINT,
                            "%s: stopped at sample %zu of an epoch of %zu (was the data limit "
                            "changed?)",
                            path, t->resume_at, t->train.n);
    return reset_metrics(t, t->epoch, &t->best_error, err); /* best.ckpt stays the best */
}

int nn_trainer_new(const nn_doc *doc, const nn_registry *reg, const nn_train_opts *opts,
                   nn_trainer **out, nn_error *err)
{
    *out = NULL;
    nn_trainer *t = calloc(1, sizeof *t);
    if (!t)
        return nn_error_set(err, NN_E_NOMEM, "out of memory");
    t->best_error = 2.0;
    int rc = setup(t, doc, reg, opts, err);
    if (!rc) {
        const char *dir = opts->run_dir;
        char def[PATH_MAX];
        if (!dir) {
            snprintf(def, sizeof def, "runs/%s", nn_graph_name(t->g));
            dir = def;
        }
        snprintf(t->run_dir, sizeof t->run_dir, "%s", dir);
        rc = mkdir_p(t->run_dir, err);
    }
    if (!rc) { /* a run killed while writing one of its files left a temporary copy */
        static const char *const files[] = {"last.ckpt", "best.ckpt", "config.yaml",
                                            "metrics.csv", NULL};
        nn_remove_stale_temps(t->run_dir, files);
    }
    if (!rc && opts->resume)
        rc = resume(t, err);
    if (!rc && !opts->resume)
        rc = reset_metrics(t, 0, &t->best_error, err);
    if (!rc) {
        char path[PATH_MAX + 16];
        snprintf(path, sizeof path, "%s/config.yaml", t->run_dir);
        rc = nn_write_file_atomic(path, t->config_yaml, strlen(t->config_yaml), err);
    }
    if (rc) {
        nn_trainer_free(t);
        return rc;
    }
    *out = t;
    return NN_OK;
}

void nn_trainer_free(nn_trainer *t)
{
    if (!t)
        return;
    if (t->pt.on) /* only after a failed run; its result no longer matters */
        pthread_join(t->pt.thread, NULL);
    free(t->pt.ckpt);
    nn_graph_free(t->g);
    nn_graph_free(t->tg);
    nn_optim_free(t->opt);
    nn_dataset_free(&t->train);
    nn_dataset_free(&t->test);
    free(t->perm);
    free(t->seq);
    free(t->labels);
    free(t->dout);
    free(t->d2);
    free(t->g1);
    free(t->config_yaml);
    free(t);
}

nn_graph *nn_trainer_graph(nn_trainer *t) { return t->g; }
const nn_train_cfg *nn_trainer_cfg(const nn_trainer *t) { return &t->cfg; }
const char *nn_trainer_run_dir(const nn_trainer *t) { return t->run_dir; }
long nn_trainer_epoch(const nn_trainer *t) { return t->epoch; }

/* ---- metrics and checkpoints --------------------------------------------------------------- */

static const char metrics_header[] =
    "epoch,lr,train_loss,train_error,test_loss,test_error,seconds,images_per_s\n";

/* Keeps the header and the rows of the first keep_epochs epochs (a resumed run rewrites the
 * rest); *best gets the lowest test error of the rows kept (2 when none has one). */
static int reset_metrics(const nn_trainer *t, long keep_epochs, double *best, nn_error *err)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/metrics.csv", t->run_dir);
    size_t cap = sizeof metrics_header + 128 * (size_t)(keep_epochs + 1), len = 0;
    char *out = malloc(cap);
    if (!out)
        return nn_error_set(err, NN_E_NOMEM, "out of memory");
    len = (size_t)snprintf(out, cap, "%s", metrics_header);
    FILE *f = keep_epochs ? fopen(path, "r") : NULL;
    char line[512];
    while (f && fgets(line, sizeof line, f)) {
        long e = strtol(line, NULL, 10);
        if (e >= 1 && e <= keep_epochs && len + strlen(line) < cap) {
            len += (size_t)snprintf(out + len, cap - len, "%s", line);
            const char *c = line;
            for (int k = 0; k < 5 && c; k++) /* to the test_error column */
                c = strchr(c, ',') ? strchr(c, ',') + 1 : NULL;
            double te = c ? strtod(c, NULL) : -1;
            if (te >= 0 && te < *best)
                *best = te;
        }
    }
    if (f)
        fclose(f);
    int rc = nn_write_file_atomic(path, out, len, err);
    free(out);
    return rc;
}

static int append_metrics(const nn_trainer *t, const nn_epoch_report *r, nn_error *err)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/metrics.csv", t->run_dir);
    FILE *f = fopen(path, "a");
    if (!f)
        return nn_error_set(err, NN_E_IO, "%s: cannot append: %s", path, strerror(errno));
    fprintf(f, "%ld,%g,%.6f,%.6f,%.6f,%.6f,%.3f,%.1f\n", r->epoch, r->lr, r->train_loss,
            r->train_error, r->test_loss, r->test_error, r->seconds, r->images_per_s);
    if (fclose(f) != 0)
        return nn_error_set(err, NN_E_IO, "%s: write failed", path);
    return NN_OK;
}

/* What a checkpoint of the run's current state says about itself. */
static nn_checkpoint_meta meta_of(nn_trainer *t, long epoch, size_t step, const nn_rng *rng)
{
    return (nn_checkpoint_meta){.fingerprint = nn_graph_fingerprint(t->g),
                                .optim_kind = (uint32_t)t->cfg.optim.kind,
                                .epoch = (uint32_t)epoch,
                                .step = step,
                                .rng = *rng,
                                .n_params = nn_graph_param_count(t->g),
                                .n_state = nn_optim_state_count(t->opt)};
}

static int encode(nn_trainer *t, long epoch, size_t step, const nn_rng *rng, uint8_t **buf,
                  size_t *len, nn_error *err)
{
    nn_checkpoint_meta m = meta_of(t, epoch, step, rng);
    return nn_checkpoint_encode(&m, nn_graph_params(t->g), t->opt->state, buf, len, err);
}

static int write_run_file(const nn_trainer *t, const char *file, const uint8_t *buf, size_t len,
                          nn_error *err)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/%s", t->run_dir, file);
    return nn_write_file_atomic(path, buf, len, err);
}

static int save(nn_trainer *t, const char *file, long epoch, size_t step, const nn_rng *rng,
                nn_error *err)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/%s", t->run_dir, file);
    nn_checkpoint_meta m = meta_of(t, epoch, step, rng);
    return nn_checkpoint_save(path, &m, nn_graph_params(t->g), t->opt->state, err);
}

/* The end of an epoch once its test error is known: the metrics row, best.ckpt when the test
 * error is the lowest yet, last.ckpt (the state encoded when the epoch ended), the report. In
 * that order: a run killed in between resumes from the previous last.ckpt, trains the epoch
 * again and rewrites its row, so metrics.csv never lacks an epoch that last.ckpt has. */
static int finish_epoch(nn_trainer *t, const nn_epoch_report *r, const uint8_t *ckpt, size_t len,
                        const nn_train_hooks *hooks, nn_error *err)
{
    int rc = append_metrics(t, r, err);
    if (!rc && t->have_test && r->test_error < t->best_error) {
        t->best_error = r->test_error;
        rc = write_run_file(t, "best.ckpt", ckpt, len, err);
    }
    if (!rc)
        rc = write_run_file(t, "last.ckpt", ckpt, len, err);
    if (!rc && hooks && hooks->epoch_done)
        hooks->epoch_done(hooks->user, r);
    return rc;
}

/* ---- the test pass beside the next epoch --------------------------------------------------- */

static void *test_pass(void *arg)
{
    nn_trainer *t = arg;
    unsigned saved = nn_denormals_off(); /* as on the training thread, so the same results */
    t->pt.rc = nn_evaluate(t->tg, &t->cfg.loss, &t->cfg.data, &t->test, &t->pt.ev, &t->pt.err);
    nn_denormals_restore(saved);
    atomic_store_explicit(&t->pt.done, 1, memory_order_release);
    return NULL;
}

/* Starts the test pass of the epoch just ended on tg, which takes the epoch's parameters; the
 * pending test owns ckpt from then on. 0 when no thread could be started. */
static int start_test(nn_trainer *t, const nn_epoch_report *r, uint8_t *ckpt, size_t len)
{
    pending_test *p = &t->pt;
    memcpy(nn_graph_params(t->tg), nn_graph_params(t->g),
           sizeof(float) * nn_graph_param_count(t->g));
    p->r = *r;
    p->ev = (nn_eval){0};
    p->rc = NN_OK;
    atomic_store_explicit(&p->done, 0, memory_order_relaxed);
    if (pthread_create(&p->thread, NULL, test_pass, t) != 0)
        return 0;
    p->ckpt = ckpt;
    p->ckpt_len = len;
    p->on = 1;
    return 1;
}

/* Finishes the epoch whose test pass is pending, once the pass is over: when `wait`, waits for
 * it; otherwise only if it is already done. */
static int settle_test(nn_trainer *t, const nn_train_hooks *hooks, int wait, nn_error *err)
{
    pending_test *p = &t->pt;
    if (!p->on || (!wait && !atomic_load_explicit(&p->done, memory_order_acquire)))
        return NN_OK;
    pthread_join(p->thread, NULL);
    p->on = 0;
    int rc = p->rc;
    if (rc) {
        *err = p->err;
    } else {
        p->r.test_loss = p->ev.loss;
        p->r.test_error = p->ev.error;
        p->r.test_n = p->ev.n;
        rc = finish_epoch(t, &p->r, p->ckpt, p->ckpt_len, hooks, err);
    }
    free(p->ckpt);
    p->ckpt = NULL;
    return rc;
}

/* ---- the loop ------------------------------------------------------------------------------ */

static void load_batch(nn_trainer *t, const nn_dataset *ds, const size_t *index, int b)
{
    nn_data_fill_input(&t->cfg.data, ds, index, (size_t)b, nn_graph_input(t->g));
    for (int i = 0; i < b; i++)
        t->labels[i] = ds->labels[index[i]];
}

/* The Gauss-Newton diagonal averaged over `hessian_samples` samples of this epoch's order from
 * position `from` (the last ones when fewer remain), then the steps it gives at rate lr. */
static void estimate_hessian(nn_trainer *t, size_t from, double lr)
{
    size_t n = (size_t)t->cfg.optim.hessian_samples;
    if (n > t->train.n)
        n = t->train.n;
    if (from > t->train.n - n)
        from = t->train.n - n;
    int mb = nn_graph_max_batch(t->g), out = (int)nn_shape_size(nn_graph_output_shape(t->g));
    float *h = t->opt->state;
    memset(h, 0, sizeof(float) * t->opt->n);
    int preact = nn_loss_grad_is_preact(&t->cfg.loss);
    for (size_t i = 0; i < n; i += (size_t)mb) {
        int b = (int)(n - i < (size_t)mb ? n - i : (size_t)mb);
        load_batch(t, &t->train, t->perm + from + i, b);
        const float *y = nn_graph_forward(t->g, b);
        nn_loss_hdiag(&t->cfg.loss, y, t->labels, b, out, t->d2, t->g1);
        nn_graph_hdiag(t->g, b, t->d2, t->g1, preact, h);
    }
    for (size_t k = 0; k < t->opt->n; k++)
        h[k] /= (float)n;
    nn_optim_set_lr(t->opt, lr);
}

/* With `hessian_every`, the estimate is renewed before the step at i whenever a multiple of it
 * falls in (i - batch, i]: positions fixed by the order alone, so a resumed run renews it where
 * an uninterrupted one does. */
static int hessian_due(const nn_trainer *t, size_t i)
{
    size_t every = (size_t)t->cfg.optim.hessian_every, batch = (size_t)t->cfg.batch;
    if (t->cfg.optim.kind != NN_OPT_SDLM || !every || i < batch) /* steps start at multiples */
        return 0;                                                  /* of the batch */
    return i / every != (i - batch) / every;
}

static int loss_not_finite(nn_trainer *t, int b, nn_error *err)
{
    int bad = nn_graph_find_nonfinite_output(t->g, b);
    nn_layer_info info;
    nn_graph_layer_info(t->g, bad >= 0 ? bad : nn_graph_layer_count(t->g) - 1, &info);
    return nn_error_set(err, NN_E_NUMERIC,
                        "epoch %ld, step %llu: the loss is not finite; first non-finite "
                        "output in layer '%s' (training stopped; the last checkpoint is "
                        "kept)",
                        t->epoch + 1, (unsigned long long)t->steps + 1, info.name);
}

/* The optimizer found a non-finite gradient; it has propagated into the parameters it touched,
 * so the first non-finite parameter names the layer. */
static int grad_not_finite(nn_trainer *t, nn_error *err)
{
    const float *p = nn_graph_params(t->g);
    size_t n = nn_graph_param_count(t->g), k = 0;
    while (k < n && isfinite(p[k]))
        k++;
    nn_layer_info info;
    int layer = k < n ? nn_graph_layer_of_param(t->g, k) : -1;
    nn_graph_layer_info(t->g, layer >= 0 ? layer : nn_graph_layer_count(t->g) - 1, &info);
    return nn_error_set(err, NN_E_NUMERIC,
                        "epoch %ld, step %llu: a gradient of layer '%s' is not finite "
                        "(training stopped; the last checkpoint is kept)",
                        t->epoch + 1, (unsigned long long)t->steps + 1, info.name);
}

typedef struct epoch_sums {
    double loss;
    size_t wrong, seen;
} epoch_sums;

static int train_step(nn_trainer *t, size_t i, int b, epoch_sums *s, nn_error *err)
{
    int out = (int)nn_shape_size(nn_graph_output_shape(t->g));
    load_batch(t, &t->train, t->perm + i, b);
    const nn_data_cfg *d = &t->cfg.data;
    if (d->distort.on)
        nn_distort_to_float(&d->distort, &t->train, t->perm + i, (size_t)b, (int)d->pad, d->lo,
                            d->hi, t->cfg.seed, (uint64_t)t->epoch, nn_graph_input(t->g));
    /* the gradients are zero here: the graph starts so and every step leaves them so */
    nn_slice_labels sl = {.loss = &t->cfg.loss, .labels = t->labels, .batch = b, .n_out = out};
    long wrong = 0;
    double loss = nn_graph_step(t->g, b, nn_loss_slice, &sl, t->dout,
                                nn_loss_grad_is_preact(&t->cfg.loss), &wrong);
    if (!isfinite(loss)) {
        nn_graph_zero_grads(t->g);
        return loss_not_finite(t, b, err);
    }
    if (nn_optim_step(t->opt, nn_graph_params(t->g), nn_graph_grads(t->g)))
        return grad_not_finite(t, err);
    t->steps++;
    s->loss += loss;
    s->wrong += (size_t)wrong;
    s->seen += (size_t)b;
    return NN_OK;
}

static int run_epoch(nn_trainer *t, const nn_train_hooks *hooks, nn_epoch_report *r,
                     nn_error *err)
{
    size_t n = t->train.n, start = t->resume_at;
    nn_rng at_start = t->rng;
    for (size_t i = 0; i < n; i++)
        t->perm[i] = i;
    if (t->cfg.shuffle)
        nn_rng_shuffle(&t->rng, t->perm, n);
    double lr = nn_train_cfg_lr(&t->cfg, t->epoch);
    nn_optim_set_lr(t->opt, lr);
    if (t->cfg.optim.kind == NN_OPT_SDLM && start == 0)
        estimate_hessian(t, 0, lr); /* a mid-epoch resume has the estimate from the checkpoint */
    epoch_sums s = {0, 0, 0};
    double t0 = now_s();
    size_t batch = (size_t)t->cfg.batch, next_report = start, every = n / 100 ? n / 100 : 1;
    for (size_t i = start; i < n; i += batch) {
        int b = (int)(n - i < batch ? n - i : batch);
        if (hessian_due(t, i))
            estimate_hessian(t, i, lr);
        int rc = train_step(t, i, b, &s, err);
        if (!rc)
            rc = settle_test(t, hooks, 0, err); /* the previous epoch's, when it is done */
        if (rc)
            return rc;
        if (hooks && hooks->progress && i + (size_t)b >= next_report) {
            hooks->progress(hooks->user, t->epoch + 1, i + (size_t)b, n, s.loss / s.seen,
                            (double)s.wrong / s.seen);
            next_report = i + (size_t)b + every;
        }
        if (hooks && hooks->stop && *hooks->stop && i + (size_t)b < n) {
            rc = settle_test(t, hooks, 1, err);
            if (!rc)
                rc = save(t, "last.ckpt", t->epoch, i + (size_t)b, &at_start, err);
            return rc ? rc
                      : nn_error_set(err, NN_E_INTERRUPTED,
                                     "stopped in epoch %ld after %zu of %zu samples; "
                                     "checkpoint written to %s/last.ckpt (continue with "
                                     "--resume)",
                                     t->epoch + 1, i + (size_t)b, n, t->run_dir);
        }
    }
    r->seconds = now_s() - t0;
    r->lr = lr;
    r->train_loss = s.seen ? s.loss / s.seen : 0;
    r->train_error = s.seen ? (double)s.wrong / s.seen : 0;
    r->images_per_s = r->seconds > 0 ? s.seen / r->seconds : 0;
    t->resume_at = 0;
    return NN_OK;
}

/* Gradients deep in a tanh network underflow into denormal floats, which the CPU handles tens of
 * times slower; flushing them to zero changes no result that matters and keeps a step's time
 * steady. The setting is the calling thread's, restored on return. */
unsigned nn_denormals_off(void)
{
#ifdef NN_HAVE_MXCSR
    unsigned old = _mm_getcsr();
    _mm_setcsr(old | 0x8040); /* FTZ | DAZ */
    return old;
#else
    return 0;
#endif
}

void nn_denormals_restore(unsigned old)
{
#ifdef NN_HAVE_MXCSR
    _mm_setcsr(old);
#else
    (void)old;
#endif
}

static int run_epochs(nn_trainer *t, const nn_train_hooks *hooks, nn_error *err);

int nn_trainer_run(nn_trainer *t, const nn_train_hooks *hooks, nn_error *err)
{
    unsigned saved = nn_denormals_off();
    int rc = run_epochs(t, hooks, err);
    nn_denormals_restore(saved);
    return rc;
}

static int run_epochs(nn_trainer *t, const nn_train_hooks *hooks, nn_error *err)
{
    double elapsed = 0;
    int rc = NN_OK;
    while (!rc && t->epoch < t->cfg.epochs) {
        nn_epoch_report r = {.epoch = t->epoch + 1, .epochs = t->cfg.epochs};
        rc = run_epoch(t, hooks, &r, err);
        if (!rc)
            rc = settle_test(t, hooks, 1, err); /* the previous epoch's, if not yet handled */
        if (rc)
            break;
        elapsed += r.seconds;
        r.elapsed = elapsed;
        r.test_loss = r.test_error = -1;
        t->epoch++;
        uint8_t *ckpt = NULL;
        size_t len = 0;
        rc = encode(t, t->epoch, 0, &t->rng, &ckpt, &len, err);
        if (rc)
            break;
        int stopping = hooks && hooks->stop && *hooks->stop;
        /* beside the next epoch; the last epoch's and a stopping run's have nothing beside */
        if (t->tg && t->epoch < t->cfg.epochs && !stopping && start_test(t, &r, ckpt, len))
            continue;
        if (t->have_test) {
            nn_eval ev = {0};
            rc = nn_evaluate(t->g, &t->cfg.loss, &t->cfg.data, &t->test, &ev, err);
            r.test_loss = ev.loss;
            r.test_error = ev.error;
            r.test_n = ev.n;
        }
        if (!rc)
            rc = finish_epoch(t, &r, ckpt, len, hooks, err);
        free(ckpt);
        if (!rc && stopping && t->epoch < t->cfg.epochs)
            rc = nn_error_set(err, NN_E_INTERRUPTED,
                              "stopped after epoch %ld; checkpoint written to %s/last.ckpt "
                              "(continue with --resume)",
                              t->epoch, t->run_dir);
    }
    if (t->pt.on) { /* a run that failed while a test pass was pending still records it */
        nn_error later = {0};
        int rc2 = settle_test(t, hooks, 1, rc ? &later : err);
        if (!rc)
            rc = rc2;
    }
    return rc;
}

int nn_trainer_test(nn_trainer *t, nn_eval *out, nn_error *err)
{
    if (!t->have_test)
        return nn_error_set(err, NN_E_CONFIG, "the config has no data: test: section");
    return nn_evaluate(t->g, &t->cfg.loss, &t->cfg.data, &t->test, out, err);
}

int nn_evaluate(nn_graph *g, const nn_loss *loss, const nn_data_cfg *d, const nn_dataset *ds,
                nn_eval *out, nn_error *err)
{
    int mb = nn_graph_max_batch(g), n_out = (int)nn_shape_size(nn_graph_output_shape(g));
    size_t *index = malloc(sizeof(size_t) * (size_t)mb);
    if (!index)
        return nn_error_set(err, NN_E_NOMEM, "out of memory");
    double total = 0;
    size_t wrong = 0;
    for (size_t i = 0; i < ds->n; i += (size_t)mb) {
        int b = (int)(ds->n - i < (size_t)mb ? ds->n - i : (size_t)mb), w;
        for (int k = 0; k < b; k++)
            index[k] = i + (size_t)k;
        nn_data_fill_input(d, ds, index, (size_t)b, nn_graph_input(g));
        const float *y = nn_graph_forward(g, b);
        total += nn_loss_eval(loss, y, ds->labels + i, b, n_out, NULL, &w);
        wrong += (size_t)w;
        for (int k = 0; (out->confusion || out->predicted) && k < b; k++) {
            int pred = nn_loss_predict(loss, y + (size_t)k * n_out, n_out);
            if (out->confusion)
                out->confusion[(size_t)ds->labels[i + k] * n_out + pred]++;
            if (out->predicted)
                out->predicted[i + k] = (uint8_t)pred;
        }
    }
    free(index);
    out->n = ds->n;
    out->loss = ds->n ? total / ds->n : 0;
    out->error = ds->n ? (double)wrong / ds->n : 0;
    return NN_OK;
}
