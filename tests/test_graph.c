/* Graph building: the LeNet-5 figures of the paper, the C3 table, hand-computed forward passes,
 * and every bad-config fixture in tests/fixtures/graph giving its exact message. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "glyphs.h"
#include "gradcheck.h"
#include "train.h"

static nn_graph *build_file(const char *path)
{
    nn_error err = {0};
    nn_doc *doc = NULL;
    nn_registry *reg = NULL;
    nn_graph *g = NULL;
    cr_assert_eq(chdir(NN_SOURCE_DIR), 0);
    cr_assert_eq(nn_registry_new(&reg, &err), NN_OK);
    cr_assert_eq(nn_doc_load_file(path, &doc, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(nn_graph_build(nn_doc_root(doc), reg, 1, &g, &err), NN_OK, "%s", err.msg);
    nn_doc_free(doc);
    nn_registry_free(reg);
    return g;
}

typedef struct expect_row {
    const char *name, *type;
    int out_c, out_h, out_w;
    size_t params, fixed;
    double connections;
} expect_row;

static void expect_table(nn_graph *g, const expect_row *rows, int n)
{
    cr_assert_eq(nn_graph_layer_count(g), n);
    for (int i = 0; i < n; i++) {
        nn_layer_info li;
        nn_graph_layer_info(g, i, &li);
        cr_assert_str_eq(li.name, rows[i].name);
        cr_assert_str_eq(li.type, rows[i].type);
        cr_assert_eq(li.out.c, rows[i].out_c, "%s", li.name);
        cr_assert_eq(li.out.h, rows[i].out_h, "%s", li.name);
        cr_assert_eq(li.out.w, rows[i].out_w, "%s", li.name);
        cr_assert_eq(li.n_params, rows[i].params, "%s: %zu params", li.name, li.n_params);
        cr_assert_eq(li.n_fixed, rows[i].fixed, "%s", li.name);
        cr_assert_eq(li.connections, rows[i].connections, "%s: %.0f connections", li.name,
                     li.connections);
    }
}

Test(graph, lenet5_matches_the_paper)
{
    nn_graph *g = build_file("configs/lenet5.yaml");
    static const expect_row rows[] = {
        {"c1", "conv", 6, 28, 28, 156, 0, 122304},
        {"s2", "subsample", 6, 14, 14, 12, 0, 5880},
        {"c3", "sparse_conv", 16, 10, 10, 1516, 0, 151600},
        {"s4", "subsample", 16, 5, 5, 32, 0, 2000},
        {"c5", "conv", 120, 1, 1, 48120, 0, 48120},
        {"f6", "dense", 84, 1, 1, 10164, 0, 10164},
        {"output", "rbf", 10, 1, 1, 0, 840, 840},
    };
    expect_table(g, rows, 7);
    cr_assert_eq(nn_graph_param_count(g), 60000);
    cr_assert_eq(nn_graph_fixed_count(g), 840);
    double total = 0;
    for (int i = 0; i < 7; i++) {
        nn_layer_info li;
        nn_graph_layer_info(g, i, &li);
        total += li.connections;
    }
    cr_assert_eq(total, 340908);
    nn_graph_free(g);
}

Test(graph, lenet5_softmax_has_60850_parameters)
{
    nn_graph *g = build_file("configs/lenet5-softmax.yaml");
    nn_layer_info li;
    nn_graph_layer_info(g, 6, &li);
    cr_assert_str_eq(li.type, "dense");
    cr_assert_eq(li.n_params, 850);
    cr_assert_eq(li.act, NN_ACT_SOFTMAX);
    cr_assert_eq(nn_graph_param_count(g), 60850);
    nn_graph_free(g);
}

/* The sparse convolution against a direct loop over the table, with weights placed by hand in
 * the documented layout (grouped by input map, then output map), computed either way. */
static void expect_c3_matches_direct_convolution(const char *compute)
{
    static const int table[16][6] = {
        {0, 1, 2, -1}, {1, 2, 3, -1}, {2, 3, 4, -1}, {3, 4, 5, -1}, {0, 4, 5, -1},
        {0, 1, 5, -1}, {0, 1, 2, 3, -1}, {1, 2, 3, 4, -1}, {2, 3, 4, 5, -1}, {0, 3, 4, 5, -1},
        {0, 1, 4, 5, -1}, {0, 1, 2, 5, -1}, {0, 1, 3, 4, -1}, {1, 2, 4, 5, -1},
        {0, 2, 3, 5, -1}, {0, 1, 2, 3, 4, 5}};
    char yaml[512];
    snprintf(yaml, sizeof yaml,
             "input: [6, 14, 14]\nlayers:\n  - {type: sparse_conv, maps: 16, kernel: 5, "
             "compute: %s, table: "
             "[[0,1,2], [1,2,3], [2,3,4], [3,4,5], [0,4,5], [0,1,5], [0,1,2,3], [1,2,3,4], "
             "[2,3,4,5], [0,3,4,5], [0,1,4,5], [0,1,2,5], [0,1,3,4], [1,2,4,5], [0,2,3,5], "
             "[0,1,2,3,4,5]]}\n",
             compute);
    nn_graph *g = gc_build(yaml, 1);
    cr_assert_eq(nn_graph_param_count(g), 1516);
    /* Kernel (o, m) gets the values o*0.01 + m*0.001 + tap*1e-4; bias o gets -o*0.1. */
    float *p = nn_graph_params(g);
    size_t at = 0;
    for (int m = 0; m < 6; m++)
        for (int o = 0; o < 16; o++)
            for (int j = 0; j < 6 && table[o][j] >= 0; j++)
                if (table[o][j] == m)
                    for (int tap = 0; tap < 25; tap++)
                        p[at++] = o * 0.01f + m * 0.001f + tap * 1e-4f;
    cr_assert_eq(at, 1500);
    for (int o = 0; o < 16; o++)
        p[1500 + o] = -o * 0.1f;
    float *x = nn_graph_input(g);
    for (int i = 0; i < 6 * 14 * 14; i++)
        x[i] = sinf((float)i);
    const float *y = nn_graph_forward(g, 1);
    for (int o = 0; o < 16; o++)
        for (int r = 0; r < 10; r++)
            for (int c = 0; c < 10; c++) {
                double s = -o * 0.1;
                for (int j = 0; j < 6 && table[o][j] >= 0; j++) {
                    int m = table[o][j];
                    for (int ky = 0; ky < 5; ky++)
                        for (int kx = 0; kx < 5; kx++)
                            s += (o * 0.01 + m * 0.001 + (ky * 5 + kx) * 1e-4) *
                                 x[m * 196 + (r + ky) * 14 + c + kx];
                }
                cr_assert_float_eq(y[o * 100 + r * 10 + c], s, 1e-4, "map %d at %d,%d", o, r,
                                   c);
            }
    nn_graph_free(g);
}

Test(graph, c3_table_forward_matches_direct_convolution)
{
    expect_c3_matches_direct_convolution("masked");
    expect_c3_matches_direct_convolution("grouped");
}

Test(graph, subsample_by_hand)
{
    nn_graph *g = gc_build("input: [1, 2, 4]\nlayers:\n  - {type: subsample, size: 2}\n", 1);
    float *p = nn_graph_params(g);
    p[0] = 0.5f;  /* coefficient */
    p[1] = -1.0f; /* bias */
    float in[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    memcpy(nn_graph_input(g), in, sizeof in);
    const float *y = nn_graph_forward(g, 1);
    /* windows {1,2,5,6} = 14 and {3,4,7,8} = 22 */
    cr_assert_float_eq(y[0], 0.5f * 14 - 1, 1e-6);
    cr_assert_float_eq(y[1], 0.5f * 22 - 1, 1e-6);
    nn_graph_free(g);
}

Test(graph, avgpool_and_maxpool_by_hand)
{
    float in[12] = {1, 9, 3, 4, 5, 6, 7, 8, -2, 0, 2, -5}; /* 1x3x4 */
    nn_graph *a =
        gc_build("input: [1, 3, 4]\nlayers:\n  - {type: avgpool, size: 2, stride: 1}\n", 1);
    nn_graph *m =
        gc_build("input: [1, 3, 4]\nlayers:\n  - {type: maxpool, size: 2, stride: 1}\n", 1);
    cr_assert_eq(nn_graph_param_count(a) + nn_graph_param_count(m), 0);
    memcpy(nn_graph_input(a), in, sizeof in);
    memcpy(nn_graph_input(m), in, sizeof in);
    const float *ya = nn_graph_forward(a, 1), *ym = nn_graph_forward(m, 1);
    /* windows: {1,9,5,6} {9,3,6,7} {3,4,7,8} / {5,6,-2,0} {6,7,0,2} {7,8,2,-5} */
    static const float mean[6] = {21 / 4.f, 25 / 4.f, 22 / 4.f, 9 / 4.f, 15 / 4.f, 12 / 4.f};
    static const float max[6] = {9, 9, 8, 6, 7, 8};
    for (int i = 0; i < 6; i++) {
        cr_assert_float_eq(ya[i], mean[i], 1e-6, "avgpool output %d: %g", i, ya[i]);
        cr_assert_float_eq(ym[i], max[i], 1e-6, "maxpool output %d: %g", i, ym[i]);
    }
    nn_graph_free(a);
    nn_graph_free(m);
}

Test(graph, conv_by_hand_with_lecun_tanh)
{
    nn_graph *g = gc_build(
        "input: [1, 3, 3]\nlayers:\n  - {type: conv, maps: 1, kernel: 2, activation: "
        "lecun_tanh}\n",
        1);
    float *p = nn_graph_params(g);
    float w[5] = {1, 0, 0, -1, 0.25f}; /* kernel [[1,0],[0,-1]], bias 0.25 */
    memcpy(p, w, sizeof w);
    float in[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    memcpy(nn_graph_input(g), in, sizeof in);
    const float *y = nn_graph_forward(g, 1);
    /* every window gives a - e = -4, plus the bias */
    for (int i = 0; i < 4; i++)
        cr_assert_float_eq(y[i], 1.7159 * tanh(2.0 / 3.0 * -3.75), 1e-5);
    nn_graph_free(g);
}

/* conv's two ways (compute: plain, and pairs: two output rows per im2col column) compute the
 * same outputs, parameter gradients and input gradients up to float rounding; at a batch of 1
 * (where pairs goes the plain way) and of 9 (a slice of 8, then one of 1). */
static nn_graph *conv_way(const char *compute, int batch)
{
    char yaml[256];
    snprintf(yaml, sizeof yaml,
             "input: [2, 12, 9]\nlayers:\n  - {name: c, type: conv, maps: 4, kernel: 5, "
             "compute: %s, activation: lecun_tanh}\n",
             compute);
    nn_graph *g = gc_build(yaml, batch);
    nn_graph_want_input_grad(g, 1);
    return g;
}

Test(graph, conv_pairs_computes_what_plain_computes)
{
    for (int batch = 1; batch <= 9; batch += 8) {
        nn_graph *a = conv_way("plain", batch), *b = conv_way("pairs", batch);
        size_t np = nn_graph_param_count(a), nin = 2 * 12 * 9 * (size_t)batch,
               nout = 4 * 8 * 5 * (size_t)batch;
        cr_assert_eq(np, nn_graph_param_count(b));
        nn_rng rng;
        nn_rng_seed(&rng, 5);
        float *pa = nn_graph_params(a), *xa = nn_graph_input(a);
        for (size_t i = 0; i < np; i++)
            pa[i] = nn_rng_uniform(&rng, -0.5f, 0.5f);
        for (size_t i = 0; i < nin; i++)
            xa[i] = nn_rng_uniform(&rng, -1, 1);
        memcpy(nn_graph_params(b), pa, sizeof(float) * np);
        memcpy(nn_graph_input(b), xa, sizeof(float) * nin);
        const float *ya = nn_graph_forward(a, batch), *yb = nn_graph_forward(b, batch);
        for (size_t i = 0; i < nout; i++)
            cr_assert_float_eq(ya[i], yb[i], 1e-5, "output %zu: %g %g", i, ya[i], yb[i]);
        float *dout = malloc(sizeof(float) * nout);
        cr_assert(dout);
        for (size_t i = 0; i < nout; i++)
            dout[i] = nn_rng_uniform(&rng, -1, 1);
        nn_graph_zero_grads(a);
        nn_graph_zero_grads(b);
        nn_graph_backward(a, batch, dout, 0);
        nn_graph_backward(b, batch, dout, 0);
        const float *ga = nn_graph_grads(a), *gb = nn_graph_grads(b);
        for (size_t i = 0; i < np; i++)
            cr_assert_float_eq(ga[i], gb[i], 1e-4, "gradient %zu: %g %g", i, ga[i], gb[i]);
        const float *ia = nn_graph_input_grad(a), *ib = nn_graph_input_grad(b);
        for (size_t i = 0; i < nin; i++)
            cr_assert_float_eq(ia[i], ib[i], 1e-5, "input gradient %zu: %g %g", i, ia[i], ib[i]);
        free(dout);
        nn_graph_free(a);
        nn_graph_free(b);
    }
}

/* The tanh of our own (core/activation.c) against double tanh over [-20, 20] every 1e-4 and
 * over the small numbers down to 1e-30: relative error below 4e-7, odd to the bit, within
 * [-1, 1], exactly +-1 at the infinities, -0 stays -0 and NaN stays NaN. */
Test(graph, tanh_is_accurate_odd_and_bounded)
{
    enum { N = 400001 };
    float *x = malloc(sizeof(float) * N), *y = malloc(sizeof(float) * N),
          *ny = malloc(sizeof(float) * N);
    cr_assert(x && y && ny);
    for (int i = 0; i < N; i++)
        x[i] = (float)(-20.0 + 1e-4 * i);
    memcpy(y, x, sizeof(float) * N);
    nn_activation_forward(NN_ACT_TANH, y, N, 1);
    for (int i = 0; i < N; i++)
        ny[i] = -x[i];
    nn_activation_forward(NN_ACT_TANH, ny, N, 1);
    double worst = 0;
    for (int i = 0; i < N; i++) {
        double t = tanh((double)x[i]);
        cr_assert(y[i] >= -1.0f && y[i] <= 1.0f, "tanh(%g) = %g", x[i], y[i]);
        cr_assert(ny[i] == -y[i] && signbit(ny[i]) != signbit(y[i]), "tanh(-%g) != -tanh(%g)",
                  x[i], x[i]);
        if (t != 0)
            worst = fmax(worst, fabs((y[i] - t) / t));
    }
    int n = 0;
    for (float v = 1e-30f; v < 1.0f && n < N; v *= 1.01f)
        x[n++] = v;
    memcpy(y, x, sizeof(float) * n);
    nn_activation_forward(NN_ACT_TANH, y, n, 1);
    for (int i = 0; i < n; i++) {
        double t = tanh((double)x[i]);
        worst = fmax(worst, fabs((y[i] - t) / t));
    }
    cr_assert_lt(worst, 4e-7, "worst relative error %g", worst);
    float special[5] = {INFINITY, -INFINITY, -0.0f, NAN, 1e30f};
    nn_activation_forward(NN_ACT_TANH, special, 5, 1);
    cr_assert(special[0] == 1.0f && special[1] == -1.0f && special[4] == 1.0f);
    cr_assert(special[2] == 0.0f && signbit(special[2]));
    cr_assert(isnan(special[3]));
    /* LeCun's 1.7159 tanh(2x/3), the same function scaled */
    float l[4] = {-3.75f, 0.5f, 2.0f, 12.0f};
    nn_activation_forward(NN_ACT_LECUN_TANH, l, 4, 1);
    for (int i = 0; i < 4; i++) {
        double in = (double[]){-3.75, 0.5, 2.0, 12.0}[i], t = 1.7159 * tanh(2.0 / 3.0 * in);
        cr_assert_lt(fabs((l[i] - t) / t), 6e-7, "lecun_tanh(%g) = %.9g, want %.9g", in, l[i], t);
    }
    free(x);
    free(y);
    free(ny);
}

static int ink(char ch)
{
    const char *const *rows = nn_glyph_rows(ch);
    int n = 0;
    for (int y = 0; y < NN_GLYPH_H; y++)
        for (int x = 0; x < NN_GLYPH_W; x++)
            n += rows[y][x] == '#';
    return n;
}

Test(graph, rbf_distance_to_digit_prototypes)
{
    nn_graph *g = gc_build("input: [1, 12, 7]\nlayers:\n  - {type: rbf, units: 10}\n", 1);
    nn_rng rng;
    nn_rng_seed(&rng, 1);
    nn_graph_init(g, &rng);
    float *x = nn_graph_input(g);
    for (int i = 0; i < 84; i++)
        x[i] = -1.0f; /* a blank glyph */
    const float *y = nn_graph_forward(g, 1);
    /* from blank, the distance to a prototype is 4 x its ink pixels */
    for (int d = 0; d < 10; d++)
        cr_assert_float_eq(y[d], 4.0f * ink((char)('0' + d)), 1e-4, "digit %d", d);
    /* at a prototype, the distance to itself is 0 and to every other at least 4 x 10 pixels:
     * the glyphs are told apart by 10 or more pixels */
    for (int d = 0; d < 10; d++) {
        const char *const *rows = nn_glyph_rows((char)('0' + d));
        for (int i = 0; i < 84; i++)
            x[i] = rows[i / 7][i % 7] == '#' ? 1.0f : -1.0f;
        y = nn_graph_forward(g, 1);
        for (int e = 0; e < 10; e++)
            if (e == d)
                cr_assert_float_eq(y[e], 0.0f, 1e-6);
            else
                cr_assert_geq(y[e], 40.0f, "digits %d and %d differ in %.0f pixels", d, e,
                              y[e] / 4);
    }
    nn_graph_free(g);
}

/* Graphs a and b have one fingerprint, graph c another. */
static void expect_fingerprints(const char *a_yaml, const char *b_yaml, const char *c_yaml)
{
    nn_graph *a = gc_build(a_yaml, 1), *b = gc_build(b_yaml, 1), *c = gc_build(c_yaml, 1);
    cr_assert_eq(nn_graph_fingerprint(a), nn_graph_fingerprint(b), "%s / %s", a_yaml, b_yaml);
    cr_assert_neq(nn_graph_fingerprint(a), nn_graph_fingerprint(c), "%s / %s", a_yaml, c_yaml);
    nn_graph_free(a);
    nn_graph_free(b);
    nn_graph_free(c);
}

Test(graph, fingerprint_follows_settings_not_names_or_key_order)
{
    expect_fingerprints("input: [2, 6, 6]\nlayers:\n  - {name: x, type: sparse_conv, maps: 2, "
                        "kernel: 3, table: [[0], [1]]}\n",
                        "input: [2, 6, 6]\nlayers:\n  - {kernel: 3, type: sparse_conv, name: y, "
                        "maps: 2, table: [[0], [1]]}\n",
                        "input: [2, 6, 6]\nlayers:\n  - {name: x, type: sparse_conv, maps: 2, "
                        "kernel: 3, table: [[1], [0]]}\n");
}

/* `compute` says how, not what: conv's plain and pairs, sparse_conv's grouped and masked, give
 * one fingerprint, so that a checkpoint trained one way loads the other way. */
Test(graph, fingerprint_ignores_compute)
{
    const char *const conv = "input: [2, 12, 9]\nlayers:\n  - {type: conv, maps: 4, kernel: 5}\n";
    expect_fingerprints(conv, "input: [2, 12, 9]\nlayers:\n  - {type: conv, maps: 4, kernel: 5, "
                              "compute: plain}\n",
                        "input: [2, 12, 9]\nlayers:\n  - {type: conv, maps: 5, kernel: 5, "
                        "compute: plain}\n");
    expect_fingerprints(conv, "input: [2, 12, 9]\nlayers:\n  - {type: conv, maps: 4, kernel: 5, "
                              "compute: pairs}\n",
                        "input: [2, 12, 9]\nlayers:\n  - {type: conv, maps: 4, kernel: 3, "
                        "compute: pairs}\n");
    expect_fingerprints("input: [2, 6, 6]\nlayers:\n  - {type: sparse_conv, maps: 2, kernel: 3, "
                        "table: [[0], [1]]}\n",
                        "input: [2, 6, 6]\nlayers:\n  - {type: sparse_conv, maps: 2, kernel: 3, "
                        "compute: masked, table: [[0], [1]]}\n",
                        "input: [2, 6, 6]\nlayers:\n  - {type: sparse_conv, maps: 2, kernel: 2, "
                        "compute: masked, table: [[0], [1]]}\n");
}

/* Each fixture ends with "# expect: <message>"; the library must give exactly that. */
static void run_fixture(const char *path, char *got, size_t n)
{
    nn_error err = {0};
    nn_doc *doc = NULL;
    nn_registry *reg = NULL;
    nn_graph *g = NULL;
    nn_train_cfg cfg;
    cr_assert_eq(nn_registry_new(&reg, &err), NN_OK);
    int rc = nn_doc_load_file(path, &doc, &err);
    if (!rc)
        rc = nn_graph_build(nn_doc_root(doc), reg, 1, &g, &err);
    if (!rc)
        rc = nn_train_cfg_read(nn_doc_root(doc), &cfg, &err);
    if (!rc)
        rc = nn_train_cfg_check_graph(&cfg, g, &err);
    cr_assert_neq(rc, NN_OK, "%s: no error", path);
    snprintf(got, n, "%s", err.msg);
    nn_graph_free(g);
    nn_doc_free(doc);
    nn_registry_free(reg);
}

static void expected_message(const char *path, char *want, size_t n)
{
    FILE *f = fopen(path, "r");
    cr_assert(f, "%s", path);
    char line[1024];
    want[0] = '\0';
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "# expect: ", 10)) {
            line[strcspn(line, "\n")] = '\0';
            snprintf(want, n, "%s", line + 10);
        }
    fclose(f);
    cr_assert(want[0], "%s has no '# expect:' line", path);
}

Test(graph, bad_config_fixtures_give_exact_messages)
{
    cr_assert_eq(chdir(NN_SOURCE_DIR), 0);
    DIR *d = opendir("tests/fixtures/graph");
    cr_assert(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".yaml"))
            continue;
        char path[512], want[1024], got[1024];
        snprintf(path, sizeof path, "tests/fixtures/graph/%s", e->d_name);
        expected_message(path, want, sizeof want);
        run_fixture(path, got, sizeof got);
        cr_expect_str_eq(got, want, "%s", path);
        n++;
    }
    closedir(d);
    cr_assert_geq(n, 30, "only %d fixtures found", n);
}

/* A larger batch that would pass NN_GRAPH_MAX_BYTES is refused before any allocation, and the
 * graph keeps its buffers for the batch it had. */
Test(graph, memory_limit_refuses_a_batch_and_keeps_the_old_one)
{
    nn_graph *g = build_file("configs/lenet5.yaml");
    nn_error err = {0};
    cr_assert_eq(nn_graph_set_max_batch(g, 8, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(nn_graph_set_max_batch(g, 65536, &err), NN_E_SHAPE);
    cr_assert(strncmp(err.msg, "the graph needs ", 16) == 0, "%s", err.msg);
    cr_assert(strstr(err.msg, " MiB for batch 65536 (parameters, activations, gradients, "
                              "workspace), more than the limit of 4096 MiB"), "%s", err.msg);
    cr_assert_eq(nn_graph_max_batch(g), 8);
    nn_rng rng;
    nn_rng_seed(&rng, 3);
    nn_graph_init(g, &rng);
    float *x = nn_graph_input(g);
    for (size_t i = 0; i < 8 * nn_shape_size(nn_graph_input_shape(g)); i++)
        x[i] = (float)(i % 11) / 11.0f;
    const float *y = nn_graph_forward(g, 8);
    for (int i = 0; i < 8 * 10; i++)
        cr_assert(isfinite(y[i]), "output %d is %g", i, y[i]);
    nn_graph_free(g);
}

/* A connection table as long as a config can hold: a row listing 60,000 input maps builds, and
 * a repeat at its very end is found and placed (the check is linear in the row, not square). */
Test(graph, long_table_rows)
{
    enum { MAPS = 60000 };
    size_t cap = (size_t)MAPS * 8 + 256, n = 0;
    char *text = malloc(cap);
    cr_assert(text);
    n += (size_t)snprintf(text + n, cap - n, "input: [%d, 1, 1]\nlayers:\n  - {name: c, type: "
                          "sparse_conv, maps: 1, kernel: 1, table: [[", MAPS);
    for (int m = 0; m < MAPS; m++)
        n += (size_t)snprintf(text + n, cap - n, m ? ",%d" : "%d", MAPS - 1 - m);
    size_t row_end = n;
    n += (size_t)snprintf(text + n, cap - n, "]]}\n");
    nn_registry *reg = NULL;
    nn_error err = {0};
    cr_assert_eq(nn_registry_new(&reg, &err), NN_OK);
    for (int repeat = 0; repeat < 2; repeat++) {
        if (repeat) /* append map 7 again to the row */
            n = row_end + (size_t)snprintf(text + row_end, cap - row_end, ",7]]}\n");
        nn_doc *doc = NULL;
        cr_assert_eq(nn_doc_load_string(text, n, "long.yaml", &doc, &err), NN_OK, "%s", err.msg);
        nn_graph *g = NULL;
        int rc = nn_graph_build(nn_doc_root(doc), reg, 1, &g, &err);
        if (!repeat) {
            cr_assert_eq(rc, NN_OK, "%s", err.msg);
            cr_assert_eq(nn_graph_param_count(g), (size_t)MAPS + 1);
        } else {
            /* the repeated 7 sits just after the ',' at row_end, on line 3 */
            size_t line3 = (size_t)(strchr(strchr(text, '\n') + 1, '\n') + 1 - text);
            char want[160];
            snprintf(want, sizeof want, "long.yaml:3:%zu: layer 'c': table row 0: input map 7 is "
                     "listed twice", row_end + 1 - line3 + 1);
            cr_assert_eq(rc, NN_E_CONFIG);
            cr_assert_str_eq(err.msg, want);
        }
        nn_graph_free(g);
        nn_doc_free(doc);
    }
    nn_registry_free(reg);
    free(text);
}
