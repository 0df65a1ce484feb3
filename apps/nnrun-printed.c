/* nnrun-printed: the machine-printed character set.
 *   nnrun-printed generate [--fonts FILE] [--out DIR] [--train-per-char N] [--test-per-char N]
 *                          [--seed S]
 *   nnrun-printed sheet OUT.png [--from DIR] [--split train|test] [--cols N] [--rows N]
 *   nnrun-printed render FONT CHAR OUT.png [--size N] [--seed S] [--plain] [--invert] */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "data.h"
#include "image.h"
#include "printed.h"

enum { EXIT_INPUT = 2 };

static void usage(FILE *f)
{
    fputs("usage:\n"
          "  nnrun-printed generate [--fonts FILE] [--out DIR] [--train-per-char N]\n"
          "                         [--test-per-char N] [--seed S]\n"
          "      renders the 95 printable ASCII characters from the fonts listed in FILE\n"
          "      (default configs/printed-fonts.txt) into DIR (default data/printed):\n"
          "      {train,test}-images-idx3-ubyte and {train,test}-labels-idx1-ubyte, label = "
          "ascii - 32;\n"
          "      N samples of each character from each font (defaults 8 train, 6 test), seed 1\n"
          "  nnrun-printed sheet OUT.png [--from DIR] [--split train|test] [--cols N] [--rows N]\n"
          "      a PNG sheet of the first cols x rows samples of a split\n"
          "  nnrun-printed render FONT CHAR OUT.png [--size N] [--seed S] [--plain] [--invert]\n"
          "      one character as a PNG cell of N x N pixels (default 32), with the training\n"
          "      set's variations (or none with --plain), dark on light with --invert\n",
          f);
}

static int fail(const nn_error *err)
{
    fprintf(stderr, "nnrun-printed: %s\n", err->msg);
    return EXIT_INPUT;
}

static int parse_long(const char *flag, const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < min || v > max) {
        fprintf(stderr, "nnrun-printed: %s: expected an integer between %ld and %ld, got '%s'\n",
                flag, min, max, s);
        return EXIT_INPUT;
    }
    *out = v;
    return 0;
}

typedef struct options {
    const char *fonts, *out, *from, *split;
    long train_per, test_per, seed, cols, rows, size;
    int plain, invert;
    const char *pos[4];
    int n_pos;
} options;

static int parse_args(int argc, char **argv, options *o)
{
    *o = (options){.fonts = "configs/printed-fonts.txt",
                   .out = "data/printed",
                   .from = "data/printed",
                   .split = "test",
                   .train_per = 8,
                   .test_per = 6,
                   .seed = 1,
                   .cols = 32,
                   .rows = 12,
                   .size = 32};
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int rc = 0;
        if (!strcmp(a, "--plain")) {
            o->plain = 1;
            continue;
        }
        if (!strcmp(a, "--invert")) {
            o->invert = 1;
            continue;
        }
        if (a[0] == '-' && a[1] == '-') {
            if (!v) {
                fprintf(stderr, "nnrun-printed: %s needs a value\n", a);
                return EXIT_INPUT;
            }
            if (!strcmp(a, "--fonts"))
                o->fonts = v;
            else if (!strcmp(a, "--out"))
                o->out = v;
            else if (!strcmp(a, "--from"))
                o->from = v;
            else if (!strcmp(a, "--split"))
                o->split = v;
            else if (!strcmp(a, "--train-per-char"))
                rc = parse_long(a, v, 1, 10000, &o->train_per);
            else if (!strcmp(a, "--test-per-char"))
                rc = parse_long(a, v, 1, 10000, &o->test_per);
            else if (!strcmp(a, "--seed"))
                rc = parse_long(a, v, 0, 0x7fffffffL, &o->seed);
            else if (!strcmp(a, "--cols"))
                rc = parse_long(a, v, 1, 256, &o->cols);
            else if (!strcmp(a, "--rows"))
                rc = parse_long(a, v, 1, 256, &o->rows);
            else if (!strcmp(a, "--size"))
                rc = parse_long(a, v, 8, 256, &o->size);
            else {
                fprintf(stderr, "nnrun-printed: unknown option '%s' (see --help)\n", a);
                return EXIT_INPUT;
            }
            if (rc)
                return rc;
            i++;
        } else if (o->n_pos < 4) {
            o->pos[o->n_pos++] = a;
        } else {
            fprintf(stderr, "nnrun-printed: too many arguments\n");
            return EXIT_INPUT;
        }
    }
    if (strcmp(o->split, "train") && strcmp(o->split, "test")) {
        fprintf(stderr, "nnrun-printed: --split: expected 'train' or 'test', got '%s'\n",
                o->split);
        return EXIT_INPUT;
    }
    return 0;
}

static int cmd_generate(const options *o)
{
    nn_printed_spec spec = {.font_list = o->fonts,
                            .out_dir = o->out,
                            .train_per_char = (int)o->train_per,
                            .test_per_char = (int)o->test_per,
                            .seed = (uint64_t)o->seed};
    nn_render_opts_default(&spec.render);
    nn_printed_stats st = {0};
    nn_error err = {0};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (nn_printed_generate(&spec, &st, &err))
        return fail(&err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("printed: %zu training images from %d fonts, %zu test images from %d other fonts, "
           "in %s/ (%.1f s)\n",
           st.train_n, st.train_fonts, st.test_n, st.test_fonts, o->out,
           (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9);
    return 0;
}

static int cmd_sheet(const options *o)
{
    if (o->n_pos != 1) {
        usage(stderr);
        return EXIT_INPUT;
    }
    char ip[4096], lp[4096];
    snprintf(ip, sizeof ip, "%s/%s-images-idx3-ubyte", o->from, o->split);
    snprintf(lp, sizeof lp, "%s/%s-labels-idx1-ubyte", o->from, o->split);
    nn_dataset ds = {0};
    nn_error err = {0};
    size_t want = (size_t)(o->cols * o->rows);
    if (nn_dataset_load_idx(ip, lp, 256, want, &ds, &err))
        return fail(&err);
    int gap = 2, cw = ds.cols + gap, ch = ds.rows + gap;
    int cols = (int)o->cols, rows = (int)((ds.n + cols - 1) / cols);
    int W = cols * cw + gap, H = rows * ch + gap;
    uint8_t *sheet = malloc((size_t)W * H);
    if (!sheet) {
        nn_dataset_free(&ds);
        fprintf(stderr, "nnrun-printed: out of memory\n");
        return EXIT_INPUT;
    }
    memset(sheet, 96, (size_t)W * H);
    for (size_t i = 0; i < ds.n; i++) {
        int X = gap + (int)(i % cols) * cw, Y = gap + (int)(i / cols) * ch;
        for (int y = 0; y < ds.rows; y++)
            memcpy(sheet + (size_t)(Y + y) * W + X, ds.images + (i * ds.rows + y) * ds.cols,
                   ds.cols);
    }
    int rc = nn_image_save_png(o->pos[0], W, H, sheet, &err);
    free(sheet);
    if (!rc)
        printf("%s: %zu samples of %s (%dx%d)\n", o->pos[0], ds.n, ip, W, H);
    nn_dataset_free(&ds);
    return rc ? fail(&err) : 0;
}

static int cmd_render(const options *o)
{
    if (o->n_pos != 3 || strlen(o->pos[1]) != 1) {
        usage(stderr);
        return EXIT_INPUT;
    }
    nn_error err = {0};
    nn_printer *p = NULL;
    int rc = nn_printer_new(&p, &err);
    if (!rc)
        rc = nn_printer_add_font(p, o->pos[0], NULL, &err);
    nn_render_opts ro;
    if (o->plain)
        nn_render_opts_plain(&ro);
    else
        nn_render_opts_default(&ro);
    float k = (float)o->size / ro.size;
    ro.size = (int)o->size;
    ro.cap_min *= k, ro.cap_max *= k, ro.baseline *= k, ro.shift_max *= k;
    ro.stroke_min *= k, ro.stroke_max *= k, ro.blur_max *= k;
    uint8_t *cell = malloc((size_t)ro.size * ro.size);
    nn_rng rng;
    nn_rng_seed(&rng, (uint64_t)o->seed);
    if (!rc && !cell)
        rc = nn_error_set(&err, NN_E_NOMEM, "out of memory");
    if (!rc)
        rc = nn_printer_render(p, 0, (unsigned char)o->pos[1][0], &ro, &rng, cell, &err);
    if (!rc && o->invert)
        for (int i = 0; i < ro.size * ro.size; i++)
            cell[i] = (uint8_t)(255 - cell[i]);
    if (!rc)
        rc = nn_image_save_png(o->pos[2], ro.size, ro.size, cell, &err);
    free(cell);
    nn_printer_free(p);
    return rc ? fail(&err) : 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_INPUT : 0;
    }
    options o;
    int rc = parse_args(argc, argv, &o);
    if (rc)
        return rc;
    if (!strcmp(argv[1], "generate"))
        return o.n_pos ? (usage(stderr), EXIT_INPUT) : cmd_generate(&o);
    if (!strcmp(argv[1], "sheet"))
        return cmd_sheet(&o);
    if (!strcmp(argv[1], "render"))
        return cmd_render(&o);
    fprintf(stderr, "nnrun-printed: unknown command '%s' (generate, sheet, render)\n", argv[1]);
    return EXIT_INPUT;
}
