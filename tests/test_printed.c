/* Printed characters: the ASCII glyph prototypes and their file format, the FreeType renderer,
 * the font list, the PNG/PGM reader, and a short training run on a small rendered set. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "glyphs.h"
#include "image.h"
#include "printed.h"
#include "train.h"

/* The test error the short run below must reach (measured: 36.3%; see the README). */
#define NN_TEST_PRINTED_SUBSET_ERROR 0.50

#define FONTS "/usr/share/fonts/truetype/"

static char tmpdir[64];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/nn_printed_XXXXXX");
    cr_assert(mkdtemp(tmpdir));
}

static void remove_tmpdir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    cr_assert_eq(system(cmd), 0);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert(f, "%s", path);
    fputs(text, f);
    fclose(f);
}

/* ---- glyphs ---------------------------------------------------------------------------------- */

static int distance(const nn_glyph_set *s, char a, char b)
{
    int i = nn_glyph_set_find(s, a), j = nn_glyph_set_find(s, b), d = 0;
    cr_assert(i >= 0 && j >= 0, "'%c' or '%c' missing", a, b);
    for (int k = 0; k < NN_GLYPH_W * NN_GLYPH_H; k++)
        d += s->ink[i][k] != s->ink[j][k];
    return d;
}

Test(glyphs, ascii_set_has_the_95_characters_in_order)
{
    nn_glyph_set s;
    nn_error err = {0};
    cr_assert_eq(nn_glyph_set_ascii(&s, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(s.n, 95);
    for (int i = 0; i < 95; i++)
        cr_assert_eq(s.ch[i], (char)(32 + i));
}

Test(glyphs, ascii_digits_are_the_digit_prototypes)
{
    nn_glyph_set s;
    nn_error err = {0};
    cr_assert_eq(nn_glyph_set_ascii(&s, &err), NN_OK, "%s", err.msg);
    for (char d = '0'; d <= '9'; d++) {
        const char *const *rows = nn_glyph_rows(d);
        int i = nn_glyph_set_find(&s, d);
        for (int y = 0; y < NN_GLYPH_H; y++)
            for (int x = 0; x < NN_GLYPH_W; x++)
                cr_assert_eq(s.ink[i][y * NN_GLYPH_W + x], rows[y][x] == '#',
                             "digit %c differs at row %d, column %d", d, y, x);
    }
}

Test(glyphs, confusable_characters_have_close_codes_all_are_distinct)
{
    nn_glyph_set s;
    nn_error err = {0};
    cr_assert_eq(nn_glyph_set_ascii(&s, &err), NN_OK, "%s", err.msg);
    /* every pair differs; the median pair by far more than the confusable ones */
    int hist[85] = {0};
    for (int i = 0; i < 95; i++)
        for (int j = i + 1; j < 95; j++) {
            int d = distance(&s, s.ch[i], s.ch[j]);
            cr_assert_geq(d, 3, "'%c' and '%c' differ in %d pixels", s.ch[i], s.ch[j], d);
            hist[d]++;
        }
    int median = 0;
    for (int acc = 0; acc < 95 * 94 / 4; median++)
        acc += hist[median];
    const char *close[] = {"O0", "l1", "I1", "Il", "|l", "|1"};
    for (size_t k = 0; k < sizeof close / sizeof *close; k++) {
        int d = distance(&s, close[k][0], close[k][1]);
        cr_assert_leq(2 * d, median, "'%c' and '%c' differ in %d pixels, the median pair %d",
                      close[k][0], close[k][1], d, median);
    }
}

static void expect_parse_error(const char *text, const char *want)
{
    nn_glyph_set s;
    nn_error err = {0};
    cr_assert_neq(nn_glyph_set_parse(text, strlen(text), "g.txt", &s, &err), NN_OK, "%s", text);
    cr_expect_str_eq(err.msg, want);
}

static const char *const ROWS12 = ".......\n...#...\n..#.#..\n.#...#.\n#.....#\n#.....#\n"
                                  "#######\n#.....#\n#.....#\n#.....#\n#.....#\n.......\n";

Test(glyphs, parse_errors_name_line_and_column)
{
    char text[1024];
    expect_parse_error("", "g.txt: no glyphs (expected blocks of `char 'X'` and 12 rows)");
    expect_parse_error("; only a comment\n",
                       "g.txt: no glyphs (expected blocks of `char 'X'` and 12 rows)");
    expect_parse_error("  glyph A\n", "g.txt:1:3: expected a glyph header such as `char 'A'` "
                                      "(one printable ASCII character in quotes), got 'glyph A'");
    expect_parse_error("char 'AB'\n", "g.txt:1:1: expected a glyph header such as `char 'A'` "
                                      "(one printable ASCII character in quotes), got 'char 'AB''");
    expect_parse_error("char 'A'\n.......\n..#...\n",
                       "g.txt:3:1: glyph 'A': row 2 has 6 characters, expected 7 of '#' or '.'");
    expect_parse_error("char 'A'\n.......\n..#.x..\n",
                       "g.txt:3:5: glyph 'A': expected '#' or '.', got 'x'");
    expect_parse_error("; A\nchar 'A'\n.......\n.......\n",
                       "g.txt:4: glyph 'A' (line 2) ends after 2 rows, expected 12");
    snprintf(text, sizeof text, "char 'A'\n%s\nchar 'A'\n%s", ROWS12, ROWS12);
    expect_parse_error(text, "g.txt:15:1: glyph 'A' is already drawn at line 1");
}

Test(glyphs, parse_reads_rows_and_comments)
{
    char text[1024];
    snprintf(text, sizeof text, "; two glyphs\n\nchar 'A'\n%s\n; between\nchar '''\r\n%s", ROWS12,
             ROWS12);
    nn_glyph_set s;
    nn_error err = {0};
    cr_assert_eq(nn_glyph_set_parse(text, strlen(text), "g.txt", &s, &err), NN_OK, "%s",
                 err.msg);
    cr_assert_eq(s.n, 2);
    cr_assert_eq(s.ch[0], 'A');
    cr_assert_eq(s.ch[1], '\'');
    cr_assert_eq(s.ink[0][1 * 7 + 3], 1);
    cr_assert_eq(s.ink[0][0], 0);
    cr_assert_eq(s.ink[1][6 * 7 + 6], 1);
}

/* ---- the rbf layer with glyph prototypes ----------------------------------------------------- */

static int build(const char *yaml, nn_graph **g, nn_error *err)
{
    nn_doc *doc = NULL;
    nn_registry *reg = NULL;
    cr_assert_eq(nn_registry_new(&reg, err), NN_OK);
    int rc = nn_doc_load_string(yaml, strlen(yaml), "t.yaml", &doc, err);
    if (!rc)
        rc = nn_graph_build(nn_doc_root(doc), reg, 1, g, err);
    nn_doc_free(doc);
    nn_registry_free(reg);
    return rc;
}

Test(glyphs, rbf_ascii_prototypes_are_the_glyphs)
{
    nn_graph *g = NULL;
    nn_error err = {0};
    cr_assert_eq(build("input: [1, 12, 7]\nlayers:\n  - {type: rbf, units: 95, prototypes: "
                       "ascii_7x12}\n",
                       &g, &err),
                 NN_OK, "%s", err.msg);
    nn_rng rng;
    nn_rng_seed(&rng, 1);
    nn_graph_init(g, &rng);
    nn_glyph_set s;
    cr_assert_eq(nn_glyph_set_ascii(&s, &err), NN_OK);
    float *x = nn_graph_input(g);
    int a = nn_glyph_set_find(&s, 'A');
    for (int i = 0; i < 84; i++)
        x[i] = s.ink[a][i] ? 1.0f : -1.0f;
    const float *y = nn_graph_forward(g, 1);
    for (int u = 0; u < 95; u++)
        cr_assert_float_eq(y[u], 4.0f * distance(&s, 'A', (char)(32 + u)), 1e-4, "unit %d", u);
    nn_graph_free(g);
}

Test(glyphs, rbf_prototypes_from_a_file, .init = make_tmpdir, .fini = remove_tmpdir)
{
    char path[128], yaml[512], text[1024];
    snprintf(path, sizeof path, "%s/g.txt", tmpdir);
    snprintf(text, sizeof text, "char 'A'\n%schar 'B'\n%s", ROWS12, ROWS12);
    text[9 + 8 * 12 + 9 + 8] = '#'; /* B differs from A in its second row's first pixel */
    write_text(path, text);
    nn_graph *g = NULL;
    nn_error err = {0};
    snprintf(yaml, sizeof yaml,
             "input: [1, 12, 7]\nlayers:\n  - {type: rbf, units: 2, prototypes: {file: %s}}\n",
             path);
    cr_assert_eq(build(yaml, &g, &err), NN_OK, "%s", err.msg);
    nn_rng rng;
    nn_rng_seed(&rng, 1);
    nn_graph_init(g, &rng);
    float *x = nn_graph_input(g);
    for (int i = 0; i < 84; i++)
        x[i] = -1.0f;
    const float *y = nn_graph_forward(g, 1);
    cr_assert_float_eq(y[0], 4.0f * 24, 1e-4); /* the 24 ink pixels of A */
    cr_assert_float_eq(y[1], 4.0f * 25, 1e-4);
    nn_graph_free(g);

    snprintf(yaml, sizeof yaml,
             "input: [1, 12, 7]\nlayers:\n  - {type: rbf, units: 3, prototypes: {file: %s}}\n",
             path);
    cr_assert_neq(build(yaml, &g, &err), NN_OK);
    char want[512];
    snprintf(want, sizeof want,
             "t.yaml:3:24: layer 'rbf1': prototypes '%s' has 2 characters, 3 units asked", path);
    cr_expect_str_eq(err.msg, want);

    snprintf(text, sizeof text, "char 'A'\n%s", ROWS12);
    text[9 + 8 * 3 + 2] = '?';
    write_text(path, text);
    snprintf(yaml, sizeof yaml,
             "input: [1, 12, 7]\nlayers:\n  - {type: rbf, units: 1, prototypes: {file: %s}}\n",
             path);
    cr_assert_neq(build(yaml, &g, &err), NN_OK);
    snprintf(want, sizeof want,
             "t.yaml:3:46: layer 'rbf1': key 'prototypes': %s:5:3: glyph 'A': expected '#' or "
             "'.', got '?'",
             path);
    cr_expect_str_eq(err.msg, want);

    snprintf(yaml, sizeof yaml,
             "input: [1, 12, 7]\nlayers:\n  - {type: rbf, units: 1, prototypes: {file: %s/none}}\n",
             tmpdir);
    cr_assert_neq(build(yaml, &g, &err), NN_OK);
    cr_expect(strstr(err.msg, "/none: no such file"), "%s", err.msg);
    cr_assert_neq(build("input: [1, 12, 7]\nlayers:\n  - {type: rbf, units: 96, prototypes: "
                        "ascii_7x12}\n",
                        &g, &err),
                  NN_OK);
    cr_expect_str_eq(err.msg,
                     "t.yaml:3:24: layer 'rbf1': prototypes 'ascii_7x12' has 95 characters, 96 "
                     "units asked");
    cr_assert_neq(build("input: [1, 12, 7]\nlayers:\n  - {type: rbf, units: 5, prototypes: "
                        "{path: x}}\n",
                        &g, &err),
                  NN_OK);
    cr_expect(strstr(err.msg, "unknown key 'path'"), "%s", err.msg);
}

/* ---- fonts and rendering --------------------------------------------------------------------- */

Test(printed, bad_fonts_give_clear_errors, .init = make_tmpdir, .fini = remove_tmpdir)
{
    nn_printer *p = NULL;
    nn_error err = {0};
    cr_assert_eq(nn_printer_new(&p, &err), NN_OK);
    cr_assert_neq(nn_printer_add_font(p, "/usr/share/fonts/none/Missing.ttf", NULL, &err), NN_OK);
    cr_expect_str_eq(err.msg, "/usr/share/fonts/none/Missing.ttf: no such font file (No such "
                              "file or directory)");
    char path[128];
    snprintf(path, sizeof path, "%s/fake.ttf", tmpdir);
    write_text(path, "this is not a font\n");
    cr_assert_neq(nn_printer_add_font(p, path, NULL, &err), NN_OK);
    cr_expect(strstr(err.msg, "fake.ttf: not a font FreeType can read"), "%s", err.msg);
    cr_assert_neq(nn_printer_add_font(p, tmpdir, NULL, &err), NN_OK);
    cr_expect(strstr(err.msg, ": not a regular file"), "%s", err.msg);
    cr_assert_eq(nn_printer_font_count(p), 0);
    nn_printer_free(p);
}

static void expect_list_error(const char *text, const char *want)
{
    nn_font_list l;
    nn_error err = {0};
    cr_assert_neq(nn_font_list_parse(text, strlen(text), "f.txt", &l, &err), NN_OK, "%s", text);
    cr_expect_str_eq(err.msg, want);
}

Test(printed, font_list_errors)
{
    expect_list_error("train a.ttf\n", "f.txt: no 'test' font listed");
    expect_list_error("# c\ntest a.ttf\n", "f.txt: no 'train' font listed");
    expect_list_error("train a.ttf\n  tset b.ttf\n",
                      "f.txt:2:3: expected 'train PATH' or 'test PATH', got 'tset'");
    expect_list_error("train a.ttf\ntest\n", "f.txt:2:5: 'test' needs the path of a font file");
    expect_list_error("train a.ttf\ntest b.ttf\ntrain a.ttf\n",
                      "f.txt:3: a.ttf is already listed on line 1");
    nn_font_list l;
    nn_error err = {0};
    const char *ok = "# fonts\ntrain a.ttf\n\ntest  /x/b c.ttf  \n";
    cr_assert_eq(nn_font_list_parse(ok, strlen(ok), "f.txt", &l, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(l.n, 2);
    cr_expect_str_eq(l.fonts[1].path, "/x/b c.ttf");
    cr_assert_eq(l.fonts[1].test, 1);
    cr_assert_eq(l.fonts[1].line, 4);
    nn_font_list_free(&l);
}

/* The project's list fits the limit; one font past the limit is refused at its line. */
Test(printed, font_list_limit)
{
    nn_font_list l;
    nn_error err = {0};
    cr_assert_eq(nn_font_list_load(NN_SOURCE_DIR "/configs/printed-fonts.txt", &l, &err), NN_OK,
                 "%s", err.msg);
    cr_expect_gt(l.n, 256, "%d fonts", l.n);
    nn_font_list_free(&l);
    size_t cap = (size_t)(NN_PRINTED_MAX_FONTS + 2) * 24;
    char *text = malloc(cap);
    cr_assert(text);
    size_t len = 0;
    for (int i = 0; i <= NN_PRINTED_MAX_FONTS; i++)
        len += (size_t)snprintf(text + len, cap - len, "%s f%d.ttf\n", i ? "train" : "test", i);
    cr_assert_eq(nn_font_list_parse(text, len, "f.txt", &l, &err), NN_E_CONFIG);
    char want[64];
    snprintf(want, sizeof want, "f.txt:%d:1: more than %d fonts", NN_PRINTED_MAX_FONTS + 1,
             NN_PRINTED_MAX_FONTS);
    cr_expect_str_eq(err.msg, want);
    char last[32];
    size_t last_len = (size_t)snprintf(last, sizeof last, "train f%d.ttf\n", NN_PRINTED_MAX_FONTS);
    cr_assert_eq(nn_font_list_parse(text, len - last_len, "f.txt", &l, &err), NN_OK, "%s",
                 err.msg);
    cr_expect_eq(l.n, NN_PRINTED_MAX_FONTS);
    nn_font_list_free(&l);
    free(text);
}

Test(printed, generator_names_the_missing_font_and_its_line, .init = make_tmpdir,
     .fini = remove_tmpdir)
{
    char list[128], text[256];
    snprintf(list, sizeof list, "%s/fonts.txt", tmpdir);
    snprintf(text, sizeof text, "train %sdejavu/DejaVuSans.ttf\ntest /nowhere/Gone.otf\n", FONTS);
    write_text(list, text);
    nn_printed_spec spec = {.font_list = list, .out_dir = tmpdir, .train_per_char = 1,
                            .test_per_char = 1, .seed = 1};
    nn_render_opts_default(&spec.render);
    nn_error err = {0};
    cr_assert_neq(nn_printed_generate(&spec, NULL, &err), NN_OK);
    char want[512];
    snprintf(want, sizeof want,
             "%s:2: /nowhere/Gone.otf: no such font file (No such file or directory)", list);
    cr_expect_str_eq(err.msg, want);
}

/* Rows [top, bottom] holding ink of at least half the cell's peak, -1 when blank. */
static void ink_rows(const uint8_t *c, int n, int *top, int *bottom)
{
    *top = *bottom = -1;
    for (int i = 0; i < n * n; i++)
        if (c[i] >= 128) {
            if (*top < 0)
                *top = i / n;
            *bottom = i / n;
        }
}

Test(printed, render_keeps_size_and_height_on_the_line)
{
    nn_printer *p = NULL;
    nn_error err = {0};
    cr_assert_eq(nn_printer_new(&p, &err), NN_OK);
    cr_assert_eq(nn_printer_add_font(p, FONTS "dejavu/DejaVuSans.ttf", NULL, &err), NN_OK, "%s",
                 err.msg);
    cr_expect_str_eq(nn_printer_font_name(p, 0), "DejaVu Sans Book");
    nn_render_opts o;
    nn_render_opts_plain(&o);
    nn_rng rng;
    nn_rng_seed(&rng, 1);
    uint8_t c[32 * 32];
    int top[128], bottom[128];
    for (const char *s = "Hox.',_ "; *s; s++) {
        cr_assert_eq(nn_printer_render(p, 0, *s, &o, &rng, c, &err), NN_OK, "%s", err.msg);
        ink_rows(c, 32, &top[(int)*s], &bottom[(int)*s]);
    }
    /* H: the cap height (15.25 px) standing on the baseline (row 23, less a sub-pixel shift) */
    cr_expect(bottom['H'] >= 21 && bottom['H'] <= 22 && top['H'] >= 6 && top['H'] <= 8, "H rows %d..%d", top['H'],
              bottom['H']);
    cr_expect(abs(bottom['o'] - bottom['H']) <= 1, "o stands on the baseline");
    cr_expect_gt(top['o'], top['H'] + 3, "o is shorter than H");
    cr_expect_eq(top['x'], top['o']);
    cr_expect_lt(bottom['\''], (top['o'] + bottom['o']) / 2, "' is high on the line");
    cr_expect_gt(bottom[','], bottom['H'], ", reaches below the baseline");
    cr_expect_gt(top['_'], bottom['H'], "_ is below the baseline");
    cr_expect_eq(top[' '], -1, "space is blank");
    cr_assert_eq(nn_printer_render(p, 0, 127, &o, &rng, c, &err), NN_E_USAGE);
    cr_assert_eq(nn_printer_render(p, 1, 'A', &o, &rng, c, &err), NN_E_USAGE);
    nn_printer_free(p);
}

Test(printed, render_is_seeded)
{
    nn_printer *p = NULL;
    nn_error err = {0};
    cr_assert_eq(nn_printer_new(&p, &err), NN_OK);
    cr_assert_eq(nn_printer_add_font(p, FONTS "dejavu/DejaVuSerif.ttf", NULL, &err), NN_OK);
    nn_render_opts o;
    nn_render_opts_default(&o);
    uint8_t a[32 * 32], b[32 * 32], c[32 * 32];
    nn_rng r1, r2, r3;
    nn_rng_seed(&r1, 7);
    nn_rng_seed(&r2, 7);
    nn_rng_seed(&r3, 8);
    cr_assert_eq(nn_printer_render(p, 0, 'g', &o, &r1, a, &err), NN_OK);
    cr_assert_eq(nn_printer_render(p, 0, 'g', &o, &r2, b, &err), NN_OK);
    cr_assert_eq(nn_printer_render(p, 0, 'g', &o, &r3, c, &err), NN_OK);
    cr_expect_eq(memcmp(a, b, sizeof a), 0, "same seed, same cell");
    cr_expect_neq(memcmp(a, c, sizeof a), 0, "other seed, other cell");
    nn_printer_free(p);
}

/* ---- images ---------------------------------------------------------------------------------- */

Test(image, png_and_pgm_round_trip_and_errors, .init = make_tmpdir, .fini = remove_tmpdir)
{
    uint8_t px[6 * 4];
    for (int i = 0; i < 24; i++)
        px[i] = (uint8_t)(i * 11);
    char png[128], pgm[128], bad[128];
    snprintf(png, sizeof png, "%s/a.png", tmpdir);
    snprintf(pgm, sizeof pgm, "%s/a.pgm", tmpdir);
    snprintf(bad, sizeof bad, "%s/a.jpg", tmpdir);
    nn_error err = {0};
    cr_assert_eq(nn_image_save_png(png, 6, 4, px, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(nn_pgm_save(pgm, 6, 4, px, &err), NN_OK);
    for (int k = 0; k < 2; k++) {
        nn_image im;
        cr_assert_eq(nn_image_load(k ? pgm : png, &im, &err), NN_OK, "%s", err.msg);
        cr_assert_eq(im.w, 6);
        cr_assert_eq(im.h, 4);
        cr_expect_eq(memcmp(im.px, px, sizeof px), 0);
        nn_image_free(&im);
    }
    nn_image im;
    write_text(bad, "\xff\xd8\xff\xe0 not really a jpeg");
    cr_assert_eq(nn_image_load(bad, &im, &err), NN_E_DATA);
    char want[256];
    snprintf(want, sizeof want, "%s: not a PNG or PGM image", bad);
    cr_expect_str_eq(err.msg, want);
    /* a PNG cut short */
    FILE *f = fopen(png, "rb");
    uint8_t buf[4096];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    f = fopen(png, "wb");
    fwrite(buf, 1, n / 2, f);
    fclose(f);
    cr_assert_eq(nn_image_load(png, &im, &err), NN_E_DATA);
    cr_expect(strstr(err.msg, "a.png: bad PNG: "), "%s", err.msg);
    snprintf(want, sizeof want, "%s/none.png", tmpdir);
    cr_assert_eq(nn_image_load(want, &im, &err), NN_E_IO);
    cr_expect(strstr(err.msg, "none.png: no such file"), "%s", err.msg);
}

Test(image, fit_cell_matches_the_renderer_at_any_size)
{
    nn_printer *p = NULL;
    nn_error err = {0};
    cr_assert_eq(nn_printer_new(&p, &err), NN_OK);
    cr_assert_eq(nn_printer_add_font(p, FONTS "liberation2/LiberationSerif-Regular.ttf", NULL,
                                     &err),
                 NN_OK, "%s", err.msg);
    for (const char *s = "gA,"; *s; s++) {
        nn_render_opts o;
        nn_render_opts_plain(&o);
        nn_rng rng;
        nn_rng_seed(&rng, 1);
        uint8_t small[32 * 32], big[128 * 128], fit[32 * 32];
        cr_assert_eq(nn_printer_render(p, 0, *s, &o, &rng, small, &err), NN_OK);
        o.size = 128, o.cap_min *= 4, o.cap_max *= 4, o.baseline *= 4;
        cr_assert_eq(nn_printer_render(p, 0, *s, &o, &rng, big, &err), NN_OK);
        /* a cell 4 times larger, and the same one off-centre and wider */
        nn_image im = {.w = 128, .h = 128, .px = big};
        nn_image_fit_cell(&im, 32, 32, fit);
        double diff = 0;
        for (int i = 0; i < 32 * 32; i++)
            diff += abs(fit[i] - small[i]);
        cr_expect_lt(diff / (32 * 32), 12.0, "'%c': mean difference %.1f", *s, diff / 1024);
        uint8_t *wide = calloc(160 * 128, 1);
        for (int y = 0; y < 128; y++)
            memcpy(wide + y * 160 + 5, big + y * 128, 128);
        nn_image im2 = {.w = 160, .h = 128, .px = wide};
        uint8_t fit2[32 * 32];
        nn_image_fit_cell(&im2, 32, 32, fit2);
        int t1, b1, t2, b2;
        ink_rows(fit, 32, &t1, &b1);
        ink_rows(fit2, 32, &t2, &b2);
        cr_expect(abs(t1 - t2) <= 1 && abs(b1 - b2) <= 2, "'%c': rows %d..%d vs %d..%d", *s, t1,
                  b1, t2, b2);
        free(wide);
    }
    nn_printer_free(p);
}

/* ---- a small set, trained briefly ------------------------------------------------------------ */

/* Six training faces, one unseen test face (FreeSerif); 8 samples of each character from each
 * training face, 2 from the test face: 4,560 and 190 images; 4 epochs at a constant rate. */
Test(printed, lenet5_learns_a_small_printed_set, .init = make_tmpdir, .fini = remove_tmpdir,
     .timeout = 180)
{
    char list[128], text[1024];
    snprintf(list, sizeof list, "%s/fonts.txt", tmpdir);
    snprintf(text, sizeof text,
             "train " FONTS "dejavu/DejaVuSans.ttf\ntrain " FONTS "dejavu/DejaVuSerif.ttf\n"
             "train " FONTS "dejavu/DejaVuSansMono.ttf\ntrain " FONTS
             "liberation2/LiberationSans-Regular.ttf\ntrain " FONTS
             "liberation2/LiberationSerif-Bold.ttf\ntrain " FONTS "freefont/FreeSans.ttf\n"
             "test " FONTS "freefont/FreeSerif.ttf\n");
    write_text(list, text);
    nn_printed_spec spec = {.font_list = list, .out_dir = tmpdir, .train_per_char = 8,
                            .test_per_char = 2, .seed = 3};
    nn_render_opts_default(&spec.render);
    nn_printed_stats st;
    nn_error err = {0};
    cr_assert_eq(nn_printed_generate(&spec, &st, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(st.train_n, (size_t)6 * 95 * 8);
    cr_assert_eq(st.test_n, (size_t)95 * 2);
    /* the same spec gives the same bytes */
    char other[128], path[256], path2[256];
    snprintf(other, sizeof other, "%s/again", tmpdir);
    spec.out_dir = other;
    cr_assert_eq(nn_printed_generate(&spec, NULL, &err), NN_OK, "%s", err.msg);
    snprintf(path, sizeof path, "cmp -s %s/train-images-idx3-ubyte %s/train-images-idx3-ubyte",
             tmpdir, other);
    cr_expect_eq(system(path), 0, "generation is not reproducible");

    cr_assert_eq(chdir(NN_SOURCE_DIR), 0);
    nn_doc *doc = NULL;
    nn_registry *reg = NULL;
    cr_assert_eq(nn_registry_new(&reg, &err), NN_OK);
    cr_assert_eq(nn_doc_load_file("configs/lenet5-printed.yaml", &doc, &err), NN_OK, "%s",
                 err.msg);
    const char *keys[4] = {"train.images", "train.labels", "test.images", "test.labels"};
    const char *files[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                            "test-images-idx3-ubyte", "test-labels-idx1-ubyte"};
    for (int i = 0; i < 4; i++) {
        snprintf(path2, sizeof path2, "data.%s=%s/%s", keys[i], tmpdir, files[i]);
        cr_assert_eq(nn_doc_set(doc, path2, &err), NN_OK, "%s", err.msg);
    }
    cr_assert_eq(nn_doc_set(doc, "train.schedule=[[4, 0.0005]]", &err), NN_OK, "%s", err.msg);
    snprintf(path, sizeof path, "%s/run", tmpdir);
    nn_train_opts o = {.epochs = 4, .run_dir = path};
    nn_trainer *t = NULL;
    cr_assert_eq(nn_trainer_new(doc, reg, &o, &t, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(nn_trainer_run(t, NULL, &err), NN_OK, "%s", err.msg);
    nn_eval ev = {0};
    cr_assert_eq(nn_trainer_test(t, &ev, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(ev.n, (size_t)190);
    cr_expect_leq(ev.error, NN_TEST_PRINTED_SUBSET_ERROR, "test error %.2f%%", 100 * ev.error);
    cr_log_info("printed subset: test error %.2f%%", 100 * ev.error);
    nn_trainer_free(t);
    nn_doc_free(doc);
    nn_registry_free(reg);
}
