/* The graph's own threads and slices: a pass cut across threads and slices computes what one
 * thread computes in one go, and training on two threads is repeatable to the bit. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gradcheck.h"
#include "train.h"

static const char lenet_c3[] =
    "input: [1, 32, 32]\nlayers:\n"
    "  - {name: c1, type: conv, maps: 6, kernel: 5, activation: lecun_tanh}\n"
    "  - {name: s2, type: subsample, size: 2, activation: lecun_tanh}\n"
    "  - {name: c3, type: sparse_conv, maps: 4, kernel: 5, activation: lecun_tanh,\n"
    "     table: [[0, 1, 2], [1, 3, 5], [0, 4], [0, 1, 2, 3, 4, 5]]}\n"
    "  - {name: s4, type: subsample, size: 2, activation: lecun_tanh}\n"
    "  - {name: c5, type: conv, maps: 20, kernel: 5, activation: lecun_tanh}\n"
    "  - {name: f6, type: dense, units: 12, activation: lecun_tanh}\n"
    "  - {name: output, type: rbf, units: 10, prototypes: random}\n";

typedef struct pass_result {
    float *y, *grads, *hdiag;
    size_t ny, np;
} pass_result;

/* Forward, backward and the Gauss-Newton pass of a batch of B on `threads` threads with slices
 * of `slice` samples. */
static pass_result run_passes_of(int B, int threads, int slice)
{
    nn_error err = {0};
    nn_graph *g = gc_build(lenet_c3, B);
    cr_assert_eq(nn_graph_set_threads(g, threads, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(nn_graph_set_slice(g, slice, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(nn_graph_threads(g), threads);
    nn_rng rng;
    nn_rng_seed(&rng, 42);
    nn_graph_init(g, &rng);
    size_t nx = nn_shape_size(nn_graph_input_shape(g)) * B;
    float *x = nn_graph_input(g);
    for (size_t i = 0; i < nx; i++)
        x[i] = nn_rng_uniform(&rng, -1, 1);
    pass_result r;
    r.ny = nn_shape_size(nn_graph_output_shape(g)) * B;
    r.np = nn_graph_param_count(g);
    float *dout = malloc(sizeof(float) * r.ny), *d2 = malloc(sizeof(float) * r.ny);
    for (size_t i = 0; i < r.ny; i++) {
        dout[i] = nn_rng_uniform(&rng, -1, 1);
        d2[i] = nn_rng_uniform(&rng, 0, 1);
    }
    r.y = malloc(sizeof(float) * r.ny);
    memcpy(r.y, nn_graph_forward(g, B), sizeof(float) * r.ny);
    nn_graph_zero_grads(g);
    nn_graph_backward(g, B, dout, 0);
    r.grads = malloc(sizeof(float) * r.np);
    memcpy(r.grads, nn_graph_grads(g), sizeof(float) * r.np);
    r.hdiag = calloc(r.np, sizeof(float));
    nn_graph_hdiag(g, B, d2, dout, 0, r.hdiag);
    free(dout);
    free(d2);
    nn_graph_free(g);
    return r;
}

static pass_result run_passes(int threads, int slice) { return run_passes_of(7, threads, slice); }

static void expect_close(const float *a, const float *b, size_t n, double tol, const char *what,
                         int threads, int slice)
{
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]), scale = 1e-3 + fabs((double)a[i]);
        cr_assert(d <= tol * scale, "%s[%zu]: one thread %.9g, %d threads slice %d: %.9g", what,
                  i, a[i], threads, slice, b[i]);
    }
}

static void free_result(pass_result *r)
{
    free(r->y);
    free(r->grads);
    free(r->hdiag);
}

Test(threads, passes_cut_into_threads_and_slices_compute_the_same)
{
    pass_result one = run_passes(1, 0);
    int cases[][2] = {{1, 2}, {2, 0}, {2, 3}, {3, 1}, {7, 0}, {9, 0}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        pass_result r = run_passes(cases[c][0], cases[c][1]);
        /* forward works sample by sample: only the gemm blocking may differ */
        expect_close(one.y, r.y, one.ny, 1e-5, "output", cases[c][0], cases[c][1]);
        /* gradients are sums over the batch, added in another order */
        expect_close(one.grads, r.grads, one.np, 1e-4, "gradient", cases[c][0], cases[c][1]);
        expect_close(one.hdiag, r.hdiag, one.np, 1e-4, "hdiag", cases[c][0], cases[c][1]);
        free_result(&r);
    }
    free_result(&one);
}

/* With a batch of 20, C1 (6 maps) takes its paired im2col for a slice of 8 or more and the plain
 * one below: one thread on the whole batch, two on 10 each, slices of 8 (8 + 2 per thread, or
 * 8 + 8 + 4), three threads on 7, 7 and 6, all compute the same. */
Test(threads, paired_and_plain_slices_compute_the_same)
{
    pass_result one = run_passes_of(20, 1, 0);
    int cases[][2] = {{2, 0}, {2, 8}, {1, 8}, {3, 0}, {1, 4}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        pass_result r = run_passes_of(20, cases[c][0], cases[c][1]);
        expect_close(one.y, r.y, one.ny, 1e-5, "output", cases[c][0], cases[c][1]);
        expect_close(one.grads, r.grads, one.np, 1e-4, "gradient", cases[c][0], cases[c][1]);
        expect_close(one.hdiag, r.hdiag, one.np, 1e-4, "hdiag", cases[c][0], cases[c][1]);
        free_result(&r);
    }
    free_result(&one);
}

Test(threads, the_same_thread_count_gives_the_same_bits)
{
    pass_result a = run_passes(2, 3), b = run_passes(2, 3);
    cr_assert_eq(memcmp(a.y, b.y, sizeof(float) * a.ny), 0);
    cr_assert_eq(memcmp(a.grads, b.grads, sizeof(float) * a.np), 0);
    cr_assert_eq(memcmp(a.hdiag, b.hdiag, sizeof(float) * a.np), 0);
    free_result(&a);
    free_result(&b);
}

Test(threads, bad_thread_counts_are_refused)
{
    nn_error err = {0};
    nn_graph *g = gc_build(lenet_c3, 2);
    cr_assert_eq(nn_graph_set_threads(g, 0, &err), NN_E_USAGE);
    cr_assert(strstr(err.msg, "threads must be 1 to"), "%s", err.msg);
    cr_assert_eq(nn_graph_set_threads(g, 1000, &err), NN_E_USAGE);
    cr_assert_eq(nn_graph_set_slice(g, -1, &err), NN_E_USAGE);
    cr_assert_eq(nn_graph_threads(g), 1);
    nn_graph_free(g);
}

static char tmpdir[64];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/nn_threads_XXXXXX");
    cr_assert(mkdtemp(tmpdir));
}

static void remove_tmpdir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    cr_assert_eq(system(cmd), 0);
}

/* Trains lenet5-softmax at batch 16 on 300 images for one epoch; returns its weights. */
static float *train_weights(int threads, size_t *n)
{
    nn_error err = {0};
    nn_doc *doc = NULL;
    nn_registry *reg = NULL;
    cr_assert_eq(chdir(NN_SOURCE_DIR), 0);
    cr_assert_eq(nn_registry_new(&reg, &err), NN_OK);
    cr_assert_eq(nn_doc_load_file("configs/lenet5-softmax.yaml", &doc, &err), NN_OK, "%s",
                 err.msg);
    cr_assert_eq(nn_doc_set(doc, "train.batch=16", &err), NN_OK, "%s", err.msg);
    nn_train_opts o = {.epochs = 1, .limit_train = 300, .limit_test = 50, .run_dir = tmpdir,
                       .threads = threads};
    nn_trainer *t = NULL;
    cr_assert_eq(nn_trainer_new(doc, reg, &o, &t, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(nn_graph_threads(nn_trainer_graph(t)), threads);
    cr_assert_eq(nn_trainer_run(t, NULL, &err), NN_OK, "%s", err.msg);
    nn_graph *g = nn_trainer_graph(t);
    *n = nn_graph_param_count(g);
    float *w = malloc(sizeof(float) * *n);
    memcpy(w, nn_graph_params(g), sizeof(float) * *n);
    nn_trainer_free(t);
    nn_doc_free(doc);
    nn_registry_free(reg);
    return w;
}

Test(threads, training_on_two_threads_is_repeatable, .init = make_tmpdir, .fini = remove_tmpdir,
     .timeout = 120)
{
    size_t n;
    float *a = train_weights(2, &n), *b = train_weights(2, &n), *one = train_weights(1, &n);
    cr_assert_eq(memcmp(a, b, sizeof(float) * n), 0, "two runs on 2 threads differ");
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - one[i]);
        worst = d > worst ? d : worst;
    }
    cr_assert(worst < 1e-3, "2 threads drifted from 1 thread by %g", worst);
    free(a);
    free(b);
    free(one);
}

/* nn_graph_step (forward, loss and backward slice by slice, each layer reusing what its forward
 * kept) against forward, the loss and backward over the whole batch: the same gradients to the
 * bit, the same count of errors, the same loss up to the order of its sum. Cut across threads
 * and slices, and with a batch larger than the graph was built for, where the keep areas are
 * too small and the layers recompute. */
static void expect_step_matches_passes(int threads, int slice, int built_for, int batch)
{
    nn_error err = {0};
    nn_graph *g = gc_build(lenet_c3, built_for);
    cr_assert_eq(nn_graph_set_max_batch(g, batch, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(nn_graph_set_threads(g, threads, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(nn_graph_set_slice(g, slice, &err), NN_OK, "%s", err.msg);
    nn_rng rng;
    nn_rng_seed(&rng, 7);
    nn_graph_init(g, &rng);
    size_t nx = nn_shape_size(nn_graph_input_shape(g)) * (size_t)batch;
    size_t n_out = nn_shape_size(nn_graph_output_shape(g)), np = nn_graph_param_count(g);
    float *x = malloc(sizeof(float) * nx);
    uint8_t *labels = malloc((size_t)batch);
    for (size_t i = 0; i < nx; i++)
        x[i] = nn_rng_uniform(&rng, -1, 1);
    for (int i = 0; i < batch; i++)
        labels[i] = (uint8_t)(i * 7 % 10);
    nn_loss loss = {.kind = NN_LOSS_RBF_MAP, .map_j = 0.1};
    float *dout = malloc(sizeof(float) * n_out * (size_t)batch);

    memcpy(nn_graph_input(g), x, sizeof(float) * nx);
    int wrong_whole = 0;
    const float *y = nn_graph_forward(g, batch);
    double loss_whole = nn_loss_eval(&loss, y, labels, batch, (int)n_out, dout, &wrong_whole);
    nn_graph_zero_grads(g);
    nn_graph_backward(g, batch, dout, 0);
    float *want = malloc(sizeof(float) * np);
    memcpy(want, nn_graph_grads(g), sizeof(float) * np);

    nn_graph_zero_grads(g);
    memcpy(nn_graph_input(g), x, sizeof(float) * nx);
    nn_slice_labels sl = {.loss = &loss, .labels = labels, .batch = batch, .n_out = (int)n_out};
    long wrong_step = -1;
    double loss_step = nn_graph_step(g, batch, nn_loss_slice, &sl, dout, 0, &wrong_step);
    const float *got = nn_graph_grads(g);
    for (size_t k = 0; k < np; k++)
        cr_assert(memcmp(&got[k], &want[k], sizeof(float)) == 0,
                  "threads %d slice %d built for %d, batch %d: gradient %zu: step %.9g, "
                  "passes %.9g",
                  threads, slice, built_for, batch, k, got[k], want[k]);
    cr_assert_eq(wrong_step, wrong_whole);
    cr_assert(fabs(loss_step - loss_whole) <= 1e-12 * fabs(loss_whole), "loss %.17g vs %.17g",
              loss_step, loss_whole);
    free(x);
    free(labels);
    free(dout);
    free(want);
    nn_graph_free(g);
}

Test(threads, a_training_step_slice_by_slice_gives_the_same_gradients)
{
    expect_step_matches_passes(1, 16, 37, 37);
    expect_step_matches_passes(2, 4, 37, 37);
    expect_step_matches_passes(1, 0, 5, 5);
    expect_step_matches_passes(2, 16, 1, 1);
    expect_step_matches_passes(1, 4, 3, 29); /* keep areas hold 3 samples, slices are 4 */
    expect_step_matches_passes(2, 16, 8, 40);
}
