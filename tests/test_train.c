/* Losses, checkpoints, resuming, and short training runs on real MNIST. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "train.h"

/* Test errors the short runs below must reach (measured: see the README). */
#define NN_TEST_LENET5_SUBSET_ERROR 0.12
#define NN_TEST_SOFTMAX_SUBSET_ERROR 0.15

/* ---- losses ----------------------------------------------------------------------------------- */

static void check_loss_gradient(nn_loss_kind kind)
{
    nn_loss loss = {.kind = kind, .map_j = 3.0};
    float y[2 * 5] = {2.0f, 0.5f, 3.0f, 1.0f, 4.0f, 0.2f, 2.5f, 1.5f, 0.7f, 3.3f};
    uint8_t labels[2] = {3, 1};
    if (kind == NN_LOSS_CROSS_ENTROPY) /* a softmax output: its gradient is w.r.t. the logits */
        for (int b = 0; b < 2; b++) {
            double s = 0;
            for (int i = 0; i < 5; i++)
                s += exp(y[b * 5 + i]);
            for (int i = 0; i < 5; i++)
                y[b * 5 + i] = (float)(exp(y[b * 5 + i]) / s);
        }
    float g[10];
    nn_loss_eval(&loss, y, labels, 2, 5, g, NULL);
    for (int k = 0; k < 10; k++) {
        double numeric;
        float z[10];
        memcpy(z, y, sizeof z);
        if (kind == NN_LOSS_CROSS_ENTROPY) {
            /* perturb logit k: recompute the softmax of its sample */
            double logits[10], up, down;
            for (int i = 0; i < 10; i++)
                logits[i] = log(y[i]);
            double e = 1e-3, vals[2];
            for (int sgn = 0; sgn < 2; sgn++) {
                double l2[10];
                memcpy(l2, logits, sizeof l2);
                l2[k] += sgn ? -e : e;
                int b = k / 5;
                double s = 0;
                for (int i = 0; i < 5; i++)
                    s += exp(l2[b * 5 + i]);
                for (int i = 0; i < 5; i++)
                    z[b * 5 + i] = (float)(exp(l2[b * 5 + i]) / s);
                vals[sgn] = nn_loss_eval(&loss, z, labels, 2, 5, NULL, NULL) / 2;
            }
            up = vals[0];
            down = vals[1];
            numeric = (up - down) / (2 * e);
        } else {
            z[k] = y[k] + 1e-3f;
            double up = nn_loss_eval(&loss, z, labels, 2, 5, NULL, NULL) / 2;
            z[k] = y[k] - 1e-3f;
            double down = nn_loss_eval(&loss, z, labels, 2, 5, NULL, NULL) / 2;
            numeric = (up - down) / 2e-3;
        }
        cr_assert_float_eq(g[k], numeric, 2e-3, "%s: output %d: analytic %g numeric %g",
                           nn_loss_names[kind], k, g[k], numeric);
    }
}

Test(loss, rbf_mse_gradient) { check_loss_gradient(NN_LOSS_RBF_MSE); }
Test(loss, rbf_map_gradient) { check_loss_gradient(NN_LOSS_RBF_MAP); }
Test(loss, cross_entropy_gradient) { check_loss_gradient(NN_LOSS_CROSS_ENTROPY); }

Test(loss, rbf_map_curvature_is_the_exact_second_derivative)
{
    nn_loss loss = {.kind = NN_LOSS_RBF_MAP, .map_j = 2.0};
    float y[4] = {1.0f, 2.5f, 0.3f, 1.7f}, d2[4], g1[4];
    uint8_t label = 2;
    nn_loss_hdiag(&loss, y, &label, 1, 4, d2, g1);
    for (int k = 0; k < 4; k++) {
        float z[4];
        memcpy(z, y, sizeof z);
        double e = 1e-2, f0 = nn_loss_eval(&loss, z, &label, 1, 4, NULL, NULL);
        z[k] = (float)(y[k] + e);
        double fu = nn_loss_eval(&loss, z, &label, 1, 4, NULL, NULL);
        z[k] = (float)(y[k] - e);
        double fd = nn_loss_eval(&loss, z, &label, 1, 4, NULL, NULL);
        cr_assert_float_eq(d2[k], (fu - 2 * f0 + fd) / (e * e), 2e-3, "output %d", k);
    }
}

Test(loss, map_is_stable_for_huge_distances)
{
    nn_loss loss = {.kind = NN_LOSS_RBF_MAP, .map_j = 10.0};
    float y[3] = {1e4f, 2e4f, 3e4f}, g[3];
    uint8_t label = 0;
    double e = nn_loss_eval(&loss, y, &label, 1, 3, g, NULL);
    cr_assert(isfinite(e));
    cr_assert_float_eq(e, 1e4 - 10.0, 1e-3); /* y_D + log(e^-j) */
    cr_assert_float_eq(g[0], 1.0f, 1e-6);
}

Test(loss, predictions)
{
    nn_loss rbf = {.kind = NN_LOSS_RBF_MAP, .map_j = 10}, ce = {.kind = NN_LOSS_CROSS_ENTROPY};
    float y[4] = {3, 1, 2, 5};
    cr_assert_eq(nn_loss_predict(&rbf, y, 4), 1); /* nearest prototype */
    cr_assert_eq(nn_loss_predict(&ce, y, 4), 3);  /* most probable */
}

/* ---- checkpoints ---------------------------------------------------------------------------- */

static char tmpdir[64];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/nn_test_XXXXXX");
    cr_assert(mkdtemp(tmpdir));
}

static void remove_tmpdir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    cr_assert_eq(system(cmd), 0);
}

static nn_checkpoint_meta sample_meta(void)
{
    nn_checkpoint_meta m = {.fingerprint = 0x1234, .optim_kind = 1, .epoch = 3, .step = 77,
                            .n_params = 5, .n_state = 5};
    nn_rng_seed(&m.rng, 9);
    return m;
}

Test(checkpoint, round_trip_and_atomic_replace, .init = make_tmpdir, .fini = remove_tmpdir)
{
    nn_error err = {0};
    char path[128];
    snprintf(path, sizeof path, "%s/a.ckpt", tmpdir);
    float p[5] = {1, 2, 3, 4, 5}, s[5] = {0.5f, 0, 0, 0, -1};
    nn_checkpoint_meta m = sample_meta();
    cr_assert_eq(nn_checkpoint_save(path, &m, p, s, &err), NN_OK, "%s", err.msg);
    p[0] = 42;
    cr_assert_eq(nn_checkpoint_save(path, &m, p, s, &err), NN_OK, "%s", err.msg);
    float q[5], t[5];
    nn_checkpoint_meta r = {.fingerprint = 0x1234, .n_params = 5, .n_state = 5};
    cr_assert_eq(nn_checkpoint_load(path, &r, q, t, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(memcmp(p, q, sizeof p), 0);
    cr_assert_eq(memcmp(s, t, sizeof s), 0);
    cr_assert_eq(r.epoch, 3);
    cr_assert_eq(r.step, 77);
    cr_assert_eq(memcmp(r.rng.s, m.rng.s, sizeof m.rng.s), 0);
    /* no temporary file is left behind */
    char cmd[160];
    snprintf(cmd, sizeof cmd, "test $(ls '%s' | wc -l) -eq 1", tmpdir);
    cr_assert_eq(system(cmd), 0);
}

static void expect_refused(const uint8_t *buf, size_t len, nn_checkpoint_meta want,
                           const char *needle)
{
    nn_error err = {0};
    float q[8], t[8];
    int rc = nn_checkpoint_decode(buf, len, "x.ckpt", &want, q, t, &err);
    cr_assert_eq(rc, NN_E_CHECKPOINT, "accepted; wanted '%s'", needle);
    cr_assert(strstr(err.msg, needle), "message '%s' lacks '%s'", err.msg, needle);
    cr_assert(!strncmp(err.msg, "x.ckpt: ", 8), "%s", err.msg);
}

Test(checkpoint, corrupt_truncated_foreign_are_refused)
{
    nn_error err = {0};
    float p[5] = {1, 2, 3, 4, 5}, s[5] = {0};
    nn_checkpoint_meta m = sample_meta();
    uint8_t *buf;
    size_t len;
    cr_assert_eq(nn_checkpoint_encode(&m, p, s, &buf, &len, &err), NN_OK);
    nn_checkpoint_meta want = {.fingerprint = 0x1234, .n_params = 5, .n_state = 5};
    for (size_t cut = 0; cut < len; cut++) /* every truncation */
        expect_refused(buf, cut, want, cut < 8 ? "bad magic" : "truncated");
    for (size_t i = 8 + 8; i < len; i++) { /* every byte after the version flipped */
        buf[i] ^= 0x40;
        nn_checkpoint_meta w2 = want;
        float q[8], t[8];
        cr_assert_neq(nn_checkpoint_decode(buf, len, "x.ckpt", &w2, q, t, &err), NN_OK,
                      "flip at %zu accepted", i);
        buf[i] ^= 0x40;
    }
    buf[len - 20] ^= 1;
    expect_refused(buf, len, want, "checksum mismatch");
    buf[len - 20] ^= 1;
    nn_checkpoint_meta other = want;
    other.fingerprint = 0x9999;
    expect_refused(buf, len, other, "belongs to another graph");
    nn_checkpoint_meta bigger = want;
    bigger.n_params = 6;
    expect_refused(buf, len, bigger, "has 5 parameters, the graph has 6");
    buf[8] = 9; /* version */
    expect_refused(buf, len, want, "format version 9");
    free(buf);
}

/* ---- training -------------------------------------------------------------------------------- */

/* A trainer writing to run_dir, with opts.test_alongside = alongside. */
static nn_trainer *trainer_in(const char *config, const char *const *sets, long epochs,
                              long limit_train, long limit_test, int resume, const char *run_dir,
                              int alongside)
{
    nn_error err = {0};
    nn_doc *doc = NULL;
    nn_registry *reg = NULL;
    cr_assert_eq(chdir(NN_SOURCE_DIR), 0);
    cr_assert_eq(nn_registry_new(&reg, &err), NN_OK);
    cr_assert_eq(nn_doc_load_file(config, &doc, &err), NN_OK, "%s", err.msg);
    for (int i = 0; sets && sets[i]; i++)
        cr_assert_eq(nn_doc_set(doc, sets[i], &err), NN_OK, "%s", err.msg);
    nn_train_opts o = {.epochs = epochs, .limit_train = limit_train, .limit_test = limit_test,
                       .run_dir = run_dir, .resume = resume, .test_alongside = alongside};
    nn_trainer *t = NULL;
    int rc = nn_trainer_new(doc, reg, &o, &t, &err);
    cr_assert_eq(rc, NN_OK, "%s (run `make data` if MNIST is missing)", err.msg);
    nn_doc_free(doc);
    nn_registry_free(reg);
    return t;
}

static nn_trainer *trainer(const char *config, const char *const *sets, long epochs,
                           long limit_train, long limit_test, int resume)
{
    return trainer_in(config, sets, epochs, limit_train, limit_test, resume, tmpdir, 0);
}

static float *params_after(nn_trainer *t)
{
    nn_graph *g = nn_trainer_graph(t);
    size_t n = nn_graph_param_count(g);
    float *p = malloc(sizeof(float) * n);
    memcpy(p, nn_graph_params(g), sizeof(float) * n);
    return p;
}

typedef struct stopper {
    volatile sig_atomic_t flag;
    size_t at;
} stopper;

static void stop_midway(void *user, long epoch, size_t done, size_t total, double loss,
                        double error)
{
    (void)epoch, (void)total, (void)loss, (void)error;
    stopper *s = user;
    if (done >= s->at)
        s->flag = 1;
}

/* A resumed run, stopped mid-epoch or between epochs, ends with the same weights, bit for bit,
 * as one that ran straight through. Returns the straight run's weights. */
static float *check_resume(const char *config, const char *const *sets)
{
    nn_error err = {0};
    nn_trainer *t = trainer(config, sets, 3, 400, 100, 0);
    cr_assert_eq(nn_trainer_run(t, NULL, &err), NN_OK, "%s", err.msg);
    float *straight = params_after(t);
    size_t n = nn_graph_param_count(nn_trainer_graph(t));
    nn_trainer_free(t);

    /* a finished run, resumed, has nothing left to do */
    t = trainer(config, sets, 3, 400, 100, 1);
    cr_assert_eq(nn_trainer_epoch(t), 3);
    nn_trainer_free(t);

    /* epoch 1 in one process; then a stop in the middle of epoch 2, as SIGINT does; then the
     * rest */
    t = trainer(config, sets, 1, 400, 100, 0);
    cr_assert_eq(nn_trainer_run(t, NULL, &err), NN_OK, "%s", err.msg);
    nn_trainer_free(t);
    t = trainer(config, sets, 3, 400, 100, 1);
    cr_assert_eq(nn_trainer_epoch(t), 1);
    stopper s2 = {.flag = 0, .at = 150};
    nn_train_hooks h2 = {.progress = stop_midway, .user = &s2, .stop = &s2.flag};
    cr_assert_eq(nn_trainer_run(t, &h2, &err), NN_E_INTERRUPTED, "%s", err.msg);
    cr_assert(strstr(err.msg, "--resume"), "%s", err.msg);
    nn_trainer_free(t);
    t = trainer(config, sets, 3, 400, 100, 1);
    cr_assert_eq(nn_trainer_epoch(t), 1);
    cr_assert_eq(nn_trainer_run(t, NULL, &err), NN_OK, "%s", err.msg);
    float *resumed = params_after(t);
    nn_trainer_free(t);
    cr_assert_eq(memcmp(straight, resumed, sizeof(float) * n), 0,
                 "%s: resumed weights differ from the straight run", config);
    free(resumed);
    return straight;
}

/* With hessian_every the estimate is renewed within a pass (the weights differ from a run that
 * renews it once a pass), and a resume renews it at the same places. */
Test(train, hessian_renewal_changes_the_run_and_resumes_bit_identical, .init = make_tmpdir,
     .fini = remove_tmpdir, .timeout = 180)
{
    static const char *const once[] = {"train.batch=4", "train.optimizer.hessian_samples=40",
                                       NULL};
    static const char *const renewed[] = {"train.batch=4", "train.optimizer.hessian_samples=40",
                                          "train.optimizer.hessian_every=100", NULL};
    nn_error err = {0};
    nn_trainer *t = trainer("configs/lenet5.yaml", once, 3, 400, 100, 0);
    cr_assert_eq(nn_trainer_run(t, NULL, &err), NN_OK, "%s", err.msg);
    float *a = params_after(t);
    size_t n = nn_graph_param_count(nn_trainer_graph(t));
    nn_trainer_free(t);
    float *b = check_resume("configs/lenet5.yaml", renewed);
    cr_assert_neq(memcmp(a, b, sizeof(float) * n), 0, "hessian_every changed nothing");
    free(a);
    free(b);
}

Test(train, resume_is_bit_identical, .init = make_tmpdir, .fini = remove_tmpdir, .timeout = 120)
{
    static const char *const sets[] = {"train.batch=4", NULL};
    free(check_resume("configs/lenet5.yaml", sets));
}

/* Adam's moments and step count, the cosine schedule's position and the distortions (drawn
 * from seed, epoch and sample) all survive a stop. */
Test(train, resume_with_adam_cosine_distortions_is_bit_identical, .init = make_tmpdir,
     .fini = remove_tmpdir, .timeout = 120)
{
    static const char *const sets[] = {"train.batch=4", "train.optimizer={type: adam}",
                                       "train.schedule={type: cosine, lr: 0.001}", NULL};
    free(check_resume("configs/lenet5-distort.yaml", sets));
}

static char *read_all(const char *dir, const char *file, size_t *len)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "rb");
    cr_assert(f, "%s missing", path);
    char *buf = malloc(1 << 20);
    *len = fread(buf, 1, (1 << 20) - 1, f);
    buf[*len] = 0;
    fclose(f);
    return buf;
}

static void same_file(const char *a, const char *b, const char *file)
{
    size_t la, lb;
    char *x = read_all(a, file, &la), *y = read_all(b, file, &lb);
    cr_assert(la == lb && !memcmp(x, y, la), "%s differs between %s and %s", file, a, b);
    free(x);
    free(y);
}

/* The metrics rows without their times (the last two columns); without the training loss and
 * error too (columns 3 and 4) unless `train` (a resumed epoch counts only the steps after the
 * resume). */
static void same_metrics(const char *a, const char *b, int train)
{
    size_t la, lb;
    char *x = read_all(a, "metrics.csv", &la), *y = read_all(b, "metrics.csv", &lb);
    char *sx, *sy, *lx = strtok_r(x, "\n", &sx), *ly = strtok_r(y, "\n", &sy);
    int lines = 0;
    for (; lx && ly; lx = strtok_r(NULL, "\n", &sx), ly = strtok_r(NULL, "\n", &sy), lines++) {
        char *fx[8], *fy[8];
        int nx = 0, ny = 0;
        for (char *c = lx; c && nx < 8; c = strchr(c, ',') ? strchr(c, ',') + 1 : NULL)
            fx[nx++] = c;
        for (char *c = ly; c && ny < 8; c = strchr(c, ',') ? strchr(c, ',') + 1 : NULL)
            fy[ny++] = c;
        cr_assert(nx == 8 && ny == 8, "metrics lines:\n%s\n%s", lx, ly);
        for (int k = 0; k < 6; k++) {
            if (!train && (k == 2 || k == 3))
                continue;
            size_t n = (size_t)(fx[k + 1] - fx[k]);
            cr_assert(n == (size_t)(fy[k + 1] - fy[k]) && !memcmp(fx[k], fy[k], n),
                      "metrics differ in column %d:\n%s\n%s", k + 1, lx, ly);
        }
    }
    cr_assert(!lx && !ly && lines == 5, "metrics lines: %d (a header and 4 rows expected)", lines);
    free(x);
    free(y);
}

typedef struct epoch_log {
    double test_error[8];
    int n;
    volatile sig_atomic_t stop;
    long stop_after; /* set stop when this epoch's report arrives (0: never) */
} epoch_log;

static void log_epoch(void *user, const nn_epoch_report *r)
{
    epoch_log *l = user;
    l->test_error[l->n++] = r->test_error;
    if (r->epoch == l->stop_after)
        l->stop = 1;
}

/* Each epoch's test pass on a second thread, beside the next epoch, gives the run it gives
 * in line: the same test errors, reported in order, the same metrics, checkpoints and best
 * checkpoint; and a stop while a test pass is pending still records that epoch. */
Test(train, test_pass_beside_training_changes_nothing, .init = make_tmpdir,
     .fini = remove_tmpdir, .timeout = 120)
{
    static const char *const *const sets = NULL;
    char dir[2][96];
    epoch_log log[2] = {{.n = 0}, {.n = 0}};
    nn_error err = {0};
    for (int k = 0; k < 2; k++) {
        snprintf(dir[k], sizeof dir[k], "%s/%s", tmpdir, k ? "inline" : "beside");
        cr_assert_eq(mkdir(dir[k], 0777), 0);
        nn_trainer *t = trainer_in("configs/lenet5.yaml", sets, 4, 600, 300, 0, dir[k],
                                   k ? -1 : 1);
        nn_train_hooks h = {.epoch_done = log_epoch, .user = &log[k]};
        cr_assert_eq(nn_trainer_run(t, &h, &err), NN_OK, "%s", err.msg);
        nn_trainer_free(t);
    }
    cr_assert_eq(log[0].n, 4);
    cr_assert_eq(log[1].n, 4);
    cr_assert_eq(memcmp(log[0].test_error, log[1].test_error, sizeof(double) * 4), 0);
    cr_assert_lt(log[0].test_error[3], 0.5, "test error %g: the run did not learn", log[0].test_error[3]);
    same_metrics(dir[0], dir[1], 1);
    same_file(dir[0], dir[1], "last.ckpt");
    same_file(dir[0], dir[1], "best.ckpt");

    /* stopped by the report of epoch 2, that is in epoch 3 while its pass ran beside: the run
     * stops in epoch 3 with epochs 1 and 2 recorded, and resumes to the same end */
    char stopped[96];
    snprintf(stopped, sizeof stopped, "%s/stopped", tmpdir);
    cr_assert_eq(mkdir(stopped, 0777), 0);
    epoch_log ls = {.n = 0, .stop_after = 2};
    nn_trainer *t = trainer_in("configs/lenet5.yaml", sets, 4, 600, 300, 0, stopped, 1);
    nn_train_hooks h = {.epoch_done = log_epoch, .user = &ls, .stop = &ls.stop};
    cr_assert_eq(nn_trainer_run(t, &h, &err), NN_E_INTERRUPTED, "%s", err.msg);
    cr_assert(strstr(err.msg, "--resume"), "%s", err.msg);
    nn_trainer_free(t);
    cr_assert_eq(ls.n, 2);
    t = trainer_in("configs/lenet5.yaml", sets, 4, 600, 300, 1, stopped, 1);
    cr_assert_eq(nn_trainer_epoch(t), 2);
    ls.stop_after = 0;
    ls.stop = 0;
    cr_assert_eq(nn_trainer_run(t, &h, &err), NN_OK, "%s", err.msg);
    nn_trainer_free(t);
    cr_assert_eq(ls.n, 4);
    cr_assert_eq(memcmp(ls.test_error, log[1].test_error, sizeof(double) * 4), 0);
    same_metrics(stopped, dir[1], 0);
    same_file(stopped, dir[1], "last.ckpt");
    same_file(stopped, dir[1], "best.ckpt"); /* the resumed run knew the best before the stop */
}

Test(train, same_seed_same_weights_other_seed_other_weights, .init = make_tmpdir,
     .fini = remove_tmpdir, .timeout = 120)
{
    nn_error err = {0};
    float *w[3];
    const char *seeds[3][2] = {{"train.seed=5", NULL}, {"train.seed=5", NULL},
                               {"train.seed=6", NULL}};
    for (int i = 0; i < 3; i++) {
        nn_trainer *t = trainer("configs/lenet5-softmax.yaml", seeds[i], 1, 300, 100, 0);
        cr_assert_eq(nn_trainer_run(t, NULL, &err), NN_OK, "%s", err.msg);
        w[i] = params_after(t);
        nn_trainer_free(t);
    }
    cr_assert_eq(memcmp(w[0], w[1], sizeof(float) * 60850), 0);
    cr_assert_neq(memcmp(w[0], w[2], sizeof(float) * 60850), 0);
    for (int i = 0; i < 3; i++)
        free(w[i]);
}

Test(train, divergence_names_the_step_and_keeps_the_checkpoint, .init = make_tmpdir,
     .fini = remove_tmpdir, .timeout = 60)
{
    /* a linear net with a huge learning rate: the weights grow geometrically to Inf */
    char path[128];
    snprintf(path, sizeof path, "%s/diverge.yaml", tmpdir);
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fprintf(f, "name: diverge\ninput: [1, 28, 28]\nlayers:\n"
               "  - {name: h, type: dense, units: 32}\n"
               "  - {name: out, type: dense, units: 10, activation: softmax}\n"
               "data:\n  train: {images: %s/data/mnist/train-images-idx3-ubyte, labels: "
               "%s/data/mnist/train-labels-idx1-ubyte}\n"
               "train: {loss: cross_entropy, optimizer: sgd, lr: 100}\n",
               NN_SOURCE_DIR, NN_SOURCE_DIR);
    fclose(f);
    nn_error err = {0};
    nn_trainer *t = trainer(path, NULL, 1, 2000, 0, 0);
    int rc = nn_trainer_run(t, NULL, &err);
    cr_assert_eq(rc, NN_E_NUMERIC, "rc %d: %s", rc, err.msg);
    cr_assert(strstr(err.msg, "not finite") && strstr(err.msg, "epoch 1, step "), "%s", err.msg);
    cr_assert(strstr(err.msg, "layer '"), "%s", err.msg);
    nn_trainer_free(t);
    /* nothing was written: a diverged state never replaces a checkpoint */
    snprintf(path, sizeof path, "%s/last.ckpt", tmpdir);
    cr_assert_neq(access(path, F_OK), 0);
}

static double train_and_test(const char *config, const char *const *sets, long epochs,
                             long n_train, long n_test)
{
    nn_error err = {0};
    nn_trainer *t = trainer(config, sets, epochs, n_train, n_test, 0);
    cr_assert_eq(nn_trainer_run(t, NULL, &err), NN_OK, "%s", err.msg);
    nn_eval ev = {0};
    cr_assert_eq(nn_trainer_test(t, &ev, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(ev.n, (size_t)n_test);
    nn_trainer_free(t);
    return ev.error;
}

/* The paper's LeNet-5 (RBF output, MAP loss, SDLM) on the first 2,000 MNIST training images,
 * tested on the first 1,000 test images. */
Test(train, lenet5_learns_mnist_subset, .init = make_tmpdir, .fini = remove_tmpdir,
     .timeout = 120)
{
    double e = train_and_test("configs/lenet5.yaml", NULL, 4, 2000, 1000);
    cr_assert_leq(e, NN_TEST_LENET5_SUBSET_ERROR, "test error %.2f%%", 100 * e);
}

Test(train, lenet5_softmax_learns_mnist_subset, .init = make_tmpdir, .fini = remove_tmpdir,
     .timeout = 120)
{
    /* The config's mu (0.1) starts slowly: it needs more than 8,000 steps to leave the first
     * plateau, which a full pass gives and this short run does not; 0.02 starts fast. */
    static const char *const sets[] = {"train.optimizer.mu=0.02", NULL};
    double e = train_and_test("configs/lenet5-softmax.yaml", sets, 4, 2000, 1000);
    cr_assert_leq(e, NN_TEST_SOFTMAX_SUBSET_ERROR, "test error %.2f%%", 100 * e);
}

/* Every config in configs/ loads, trains one epoch on 300 images and tests on 200, so none of
 * them rots: the weights move and the test loss falls below that of the untrained net. (One
 * epoch of 300 images at the paper's small rates is too little to ask for a low error.) */
Test(train, every_config_trains_one_epoch, .init = make_tmpdir, .fini = remove_tmpdir,
     .timeout = 240)
{
    cr_assert_eq(chdir(NN_SOURCE_DIR), 0);
    DIR *dir = opendir("configs");
    cr_assert(dir);
    int seen = 0;
    struct dirent *e;
    while ((e = readdir(dir))) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".yaml"))
            continue;
        char path[300];
        snprintf(path, sizeof path, "configs/%s", e->d_name);
        nn_error err = {0};
        nn_trainer *t = trainer(path, NULL, 1, 300, 200, 0);
        nn_graph *g = nn_trainer_graph(t);
        size_t n = nn_graph_param_count(g);
        float *before = params_after(t);
        nn_eval ev0 = {0};
        cr_assert_eq(nn_trainer_test(t, &ev0, &err), NN_OK, "%s: %s", path, err.msg);
        cr_assert_eq(nn_trainer_run(t, NULL, &err), NN_OK, "%s: %s", path, err.msg);
        float *after = params_after(t);
        cr_assert_neq(memcmp(before, after, sizeof(float) * n), 0, "%s: no weight moved", path);
        nn_eval ev = {0};
        cr_assert_eq(nn_trainer_test(t, &ev, &err), NN_OK, "%s: %s", path, err.msg);
        cr_assert_eq(ev.n, 200u, "%s", path);
        cr_assert(isfinite(ev.loss), "%s: test loss %g", path, ev.loss);
        cr_assert_lt(ev.loss, ev0.loss, "%s: test loss %g after one epoch, %g before", path,
                     ev.loss, ev0.loss);
        free(before);
        free(after);
        nn_trainer_free(t);
        seen++;
    }
    closedir(dir);
    cr_assert_geq(seen, 11, "only %d configs found", seen);
}
