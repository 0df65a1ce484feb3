/* nnrun CONFIG show --weights W IMAGE: pictures of what a trained network computes for one
 * image (every layer's feature maps), of its first convolution's kernels and of its RBF
 * prototypes; and the sheet of misclassified test images for `test --out`. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "canvas.h"
#include "compare.h"
#include "image.h"

#define TEXT 2          /* font scale */
#define LABEL_W 300     /* the label column */
#define MAX_W 1700      /* tiles wrap at this width */

static int report(const nn_error *err)
{
    fprintf(stderr, "nnrun: %s\n", err->msg);
    return 2;
}

/* Fills the graph's input from a PGM file or from "test:N". */
static int load_image(nn_graph *g, const nn_train_cfg *cfg, const char *image, int invert,
                      int *label, nn_error *err)
{
    nn_shape in = nn_graph_input_shape(g);
    *label = -1;
    if (!strncmp(image, "test:", 5)) {
        char *end;
        long idx = strtol(image + 5, &end, 10);
        if (!image[5] || *end || idx < 0)
            return nn_error_set(err, NN_E_USAGE, "%s: expected test:N with N a sample number",
                                image);
        nn_dataset ds = {0};
        int rc = nn_data_load_split(&cfg->data, &cfg->data.test, "test", in, (size_t)idx + 1,
                                    &ds, err);
        if (!rc && (size_t)idx >= ds.n)
            rc = nn_error_set(err, NN_E_USAGE, "%s: the test split has %zu images", image,
                              ds.n);
        if (!rc) {
            size_t at = (size_t)idx;
            nn_data_fill_input(&cfg->data, &ds, &at, 1, nn_graph_input(g));
            *label = ds.labels[at];
        }
        nn_dataset_free(&ds);
        return rc;
    }
    nn_image im;
    int rc = nn_image_load(image, &im, err);
    if (rc)
        return rc;
    if (invert)
        nn_image_invert(&im);
    rc = nn_data_image_to_input(&cfg->data, in, im.px, im.w, im.h, nn_graph_input(g), err);
    nn_image_free(&im);
    if (rc)
        nn_error_prefix(err, "%s", image);
    return rc;
}

static int zoom_for(nn_shape s)
{
    int side = s.h > s.w ? s.h : s.w, z = 84 / side;
    return z < 1 ? 1 : z > 8 ? 8 : z;
}

typedef struct row_plan {
    int height;
    int per_line, tile, lines; /* spatial maps: tiles per line, tile pitch, lines */
} row_plan;

/* Spatial maps are tiles; a vector (1x1 maps) is a strip of cells, and 84 values also a 7x12
 * glyph (what F6 offers the RBF layer). */
static row_plan plan_row(nn_shape s)
{
    row_plan p = {0};
    if (s.h == 1 && s.w == 1) {
        p.tile = 12;
        p.per_line = (MAX_W - LABEL_W) / p.tile;
        p.lines = (s.c + p.per_line - 1) / p.per_line;
        p.height = p.lines * p.tile + 8;
        if (s.c == 84 && p.height < 12 * 8 + 8)
            p.height = 12 * 8 + 8;
        if (p.height < 40)
            p.height = 40;
        return p;
    }
    int z = zoom_for(s);
    p.tile = s.w * z + 6;
    p.per_line = (MAX_W - LABEL_W) / p.tile;
    if (p.per_line < 1)
        p.per_line = 1;
    p.lines = (s.c + p.per_line - 1) / p.per_line;
    p.height = p.lines * (s.h * z + 6) + 10;
    if (p.height < 40)
        p.height = 40;
    return p;
}

static void value_range(const float *v, size_t n, float *lo, float *hi)
{
    *lo = INFINITY, *hi = -INFINITY;
    for (size_t i = 0; i < n; i++)
        *lo = fminf(*lo, v[i]), *hi = fmaxf(*hi, v[i]);
    if (!(*hi > *lo))
        *hi = *lo + 1;
}

static void draw_row(nn_canvas *c, int y, const char *label, const char *sub, nn_shape s,
                     const float *v)
{
    row_plan p = plan_row(s);
    nn_canvas_text(c, 10, y + 6, TEXT, 0x000000, label);
    nn_canvas_text(c, 10, y + 24, TEXT, 0x606060, sub);
    float lo, hi;
    value_range(v, nn_shape_size(s), &lo, &hi);
    if (s.h == 1 && s.w == 1) {
        for (int i = 0; i < s.c; i++)
            nn_canvas_gray(c, LABEL_W + (i % p.per_line) * p.tile,
                           y + 4 + (i / p.per_line) * p.tile, v + i, 1, 1, p.tile - 2, lo, hi);
        if (s.c == 84)
            nn_canvas_gray(c, LABEL_W + 86 * p.tile > MAX_W - 60 ? MAX_W - 60
                                                                 : LABEL_W + 86 * p.tile,
                           y + 4, v, 7, 12, 8, lo, hi);
        return;
    }
    int z = zoom_for(s);
    for (int m = 0; m < s.c; m++)
        nn_canvas_gray(c, LABEL_W + (m % p.per_line) * p.tile,
                       y + 4 + (m / p.per_line) * (s.h * z + 6), v + (size_t)m * s.h * s.w, s.w,
                       s.h, z, lo, hi);
}

static int feature_maps(nn_graph *g, const char *path, const char *image, int label,
                        const nn_loss *loss, nn_error *err)
{
    int n = nn_graph_layer_count(g);
    nn_shape in = nn_graph_input_shape(g);
    int height = 60 + plan_row(in).height;
    for (int i = 0; i < n; i++) {
        nn_layer_info li;
        nn_graph_layer_info(g, i, &li);
        height += plan_row(li.out).height;
    }
    nn_canvas c;
    int rc = nn_canvas_new(&c, MAX_W, height, 0xffffff, err);
    if (rc)
        return rc;
    const float *y = nn_graph_layer_output(g, n - 1);
    int n_out = (int)nn_shape_size(nn_graph_output_shape(g));
    char title[256];
    int pred = nn_loss_predict(loss, y, n_out);
    if (label >= 0)
        snprintf(title, sizeof title, "%s: label %d, predicted %d", image, label, pred);
    else
        snprintf(title, sizeof title, "%s: predicted %d", image, pred);
    nn_canvas_text(&c, 10, 14, TEXT, 0x000000, title);
    nn_canvas_text(&c, 10, 36, TEXT, 0x606060,
                   "each layer scaled from its lowest (black) to its highest (white) value");
    int at = 60;
    char sub[96];
    snprintf(sub, sizeof sub, "%dx%dx%d", in.c, in.h, in.w);
    draw_row(&c, at, "input", sub, in, nn_graph_input(g));
    at += plan_row(in).height;
    for (int i = 0; i < n; i++) {
        nn_layer_info li;
        nn_graph_layer_info(g, i, &li);
        char name[96];
        snprintf(name, sizeof name, "%s %s", li.name, li.type);
        snprintf(sub, sizeof sub, "%dx%dx%d", li.out.c, li.out.h, li.out.w);
        draw_row(&c, at, name, sub, li.out, nn_graph_layer_output(g, i));
        at += plan_row(li.out).height;
    }
    rc = nn_canvas_write_png(&c, path, err);
    nn_canvas_free(&c);
    return rc;
}

/* The first convolution's kernels, one tile per (output map, input channel), gray = 0. */
static int kernels(nn_graph *g, const char *path, int *found, nn_error *err)
{
    *found = 0;
    for (int i = 0; i < nn_graph_layer_count(g); i++) {
        nn_layer_info li;
        nn_graph_layer_info(g, i, &li);
        if (strcmp(li.type, "conv") || !li.out.c)
            continue;
        size_t per_map = li.n_params / (size_t)li.out.c - 1;
        int k = (int)lround(sqrt((double)per_map / li.in.c));
        if ((size_t)(k * k * li.in.c) != per_map)
            continue;
        const float *w = nn_graph_params(g) + li.param_offset;
        float m = 0;
        for (size_t j = 0; j < (size_t)li.out.c * per_map; j++)
            m = fmaxf(m, fabsf(w[j]));
        int z = 14, pitch = k * z + 8, cols = li.out.c;
        int chans = li.in.c > 8 ? 8 : li.in.c;
        nn_canvas c;
        int rc = nn_canvas_new(&c, 20 + cols * pitch > 420 ? 20 + cols * pitch : 420,
                               60 + chans * pitch, 0xffffff, err);
        if (rc)
            return rc;
        char title[128];
        snprintf(title, sizeof title, "%s kernels %dx%d (gray 0, +-%.2f)", li.name, k, k, m);
        nn_canvas_text(&c, 10, 14, TEXT, 0x000000, title);
        for (int o = 0; o < li.out.c; o++)
            for (int ch = 0; ch < chans; ch++)
                nn_canvas_gray(&c, 10 + o * pitch, 50 + ch * pitch,
                               w + (size_t)o * per_map + (size_t)ch * k * k, k, k, z, -m, m);
        rc = nn_canvas_write_png(&c, path, err);
        nn_canvas_free(&c);
        *found = 1;
        return rc;
    }
    return NN_OK;
}

/* The RBF layer's prototypes as 7x12 glyphs (fixed, or trained when trainable). */
static int prototypes(nn_graph *g, const char *path, int *found, nn_error *err)
{
    *found = 0;
    for (int i = 0; i < nn_graph_layer_count(g); i++) {
        nn_layer_info li;
        nn_graph_layer_info(g, i, &li);
        int units = li.out.c, n_in = (int)nn_shape_size(li.in);
        if (strcmp(li.type, "rbf") || n_in != 84)
            continue;
        const float *p = li.n_fixed ? nn_graph_fixed(g) + li.fixed_offset
                                    : nn_graph_params(g) + li.param_offset;
        int z = 8, pitch = 7 * z + 16;
        nn_canvas c;
        int rc = nn_canvas_new(&c, 20 + units * pitch > 440 ? 20 + units * pitch : 440,
                               60 + 12 * z + 30, 0xffffff, err);
        if (rc)
            return rc;
        nn_canvas_text(&c, 10, 14, TEXT, 0x000000,
                       li.n_fixed ? "rbf prototypes (fixed)" : "rbf prototypes (trained)");
        float lo, hi;
        value_range(p, (size_t)units * 84, &lo, &hi);
        for (int u = 0; u < units; u++) {
            nn_canvas_gray(&c, 10 + u * pitch, 46, p + (size_t)u * 84, 7, 12, z, lo, hi);
            char lab[16];
            snprintf(lab, sizeof lab, "%d", u);
            nn_canvas_text(&c, 10 + u * pitch + 22, 46 + 12 * z + 8, TEXT, 0x000000, lab);
        }
        rc = nn_canvas_write_png(&c, path, err);
        nn_canvas_free(&c);
        *found = 1;
        return rc;
    }
    return NN_OK;
}

int nnrun_show(nn_graph *g, const nn_train_cfg *cfg, const nn_loss *loss, const char *image,
               int invert, const char *out_dir)
{
    nn_error err = {0};
    int label;
    if (load_image(g, cfg, image, invert, &label, &err))
        return report(&err);
    nn_graph_forward(g, 1);
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", out_dir);
    for (char *p = buf + 1;; p++)
        if (*p == '/' || !*p) {
            char ch = *p;
            *p = '\0';
            mkdir(buf, 0777);
            *p = ch;
            if (!ch)
                break;
        }
    char path[4200];
    snprintf(path, sizeof path, "%s/feature_maps.png", out_dir);
    if (feature_maps(g, path, image, label, loss, &err))
        return report(&err);
    printf("%s\n", path);
    int found;
    snprintf(path, sizeof path, "%s/kernels.png", out_dir);
    if (kernels(g, path, &found, &err))
        return report(&err);
    if (found)
        printf("%s\n", path);
    snprintf(path, sizeof path, "%s/prototypes.png", out_dir);
    if (prototypes(g, path, &found, &err))
        return report(&err);
    if (found)
        printf("%s\n", path);
    return 0;
}

int nnrun_misclassified_sheet(const char *path, const nn_dataset *ds, const uint8_t *predicted,
                              size_t max, size_t *written)
{
    size_t wrong = 0;
    for (size_t i = 0; i < ds->n; i++)
        wrong += predicted[i] != ds->labels[i];
    size_t shown = wrong < max ? wrong : max;
    *written = shown;
    int z = 2, cell_w = ds->cols * z + 12, cell_h = ds->rows * z + 26, cols = 20;
    int rows = (int)((shown + cols - 1) / cols);
    nn_error err = {0};
    nn_canvas c;
    if (nn_canvas_new(&c, cols * cell_w + 20, 50 + (rows ? rows : 1) * cell_h, 0xffffff, &err))
        return report(&err);
    char title[160];
    snprintf(title, sizeof title, "%zu misclassified of %zu (first %zu): true>predicted", wrong,
             ds->n, shown);
    nn_canvas_text(&c, 10, 14, TEXT, 0x000000, title);
    float *img = malloc(sizeof(float) * (size_t)ds->rows * ds->cols);
    if (!img) {
        nn_canvas_free(&c);
        return 2;
    }
    size_t k = 0;
    for (size_t i = 0; i < ds->n && k < shown; i++) {
        if (predicted[i] == ds->labels[i])
            continue;
        const uint8_t *px = ds->images + i * (size_t)ds->rows * ds->cols;
        for (int j = 0; j < ds->rows * ds->cols; j++)
            img[j] = px[j];
        int x = 10 + (int)(k % cols) * cell_w, y = 44 + (int)(k / cols) * cell_h;
        nn_canvas_gray(&c, x, y, img, ds->cols, ds->rows, z, 0, 255);
        char lab[16];
        snprintf(lab, sizeof lab, "%d>%d", ds->labels[i], predicted[i]);
        nn_canvas_text(&c, x, y + ds->rows * z + 4, TEXT, 0xc00000, lab);
        k++;
    }
    free(img);
    int rc = nn_canvas_write_png(&c, path, &err);
    nn_canvas_free(&c);
    return rc ? report(&err) : 0;
}
