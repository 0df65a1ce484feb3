/* Rendering printed characters with FreeType (see printed.h). */
#include "printed.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <ft2build.h>
#include FT_FREETYPE_H
#include FT_OUTLINE_H

#include "checkpoint.h"
#include "data.h"

#define REF_PIXELS 200.0 /* size at which a font's cap height is measured */
#define MAX_SIZE 256
#define PI 3.14159265358979323846

typedef struct font {
    FT_Face face;
    double cap_per_px;   /* cap height of 'H' divided by the pixel size */
    char name[128];
} font;

struct nn_printer {
    FT_Library lib;
    int n;
    font fonts[NN_PRINTED_MAX_FONTS];
};

void nn_render_opts_default(nn_render_opts *o)
{
    *o = (nn_render_opts){.size = 32,
                          .cap_min = 13.5f,
                          .cap_max = 17.0f,
                          .baseline = 23.0f,
                          .shift_max = 1.5f,
                          .rotate_max_deg = 4.0f,
                          .shear_max = 0.12f,
                          .stretch_max = 0.12f,
                          .stroke_min = -0.35f,
                          .stroke_max = 0.6f,
                          .blur_max = 0.8f,
                          .noise_max = 14.0f,
                          .ink_min = 190.0f};
}

void nn_render_opts_plain(nn_render_opts *o)
{
    nn_render_opts_default(o);
    o->cap_min = o->cap_max = 0.5f * (o->cap_min + o->cap_max);
    o->shift_max = o->rotate_max_deg = o->shear_max = o->stretch_max = 0;
    o->stroke_min = o->stroke_max = o->blur_max = o->noise_max = 0;
    o->ink_min = 255;
}

int nn_printer_new(nn_printer **out, nn_error *err)
{
    *out = NULL;
    nn_printer *p = calloc(1, sizeof *p);
    if (!p)
        return nn_error_set(err, NN_E_NOMEM, "out of memory");
    FT_Error fe = FT_Init_FreeType(&p->lib);
    if (fe) {
        free(p);
        return nn_error_set(err, NN_E_IO, "cannot start FreeType (error 0x%02x)", (unsigned)fe);
    }
    *out = p;
    return NN_OK;
}

void nn_printer_free(nn_printer *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->n; i++)
        FT_Done_Face(p->fonts[i].face);
    FT_Done_FreeType(p->lib);
    free(p);
}

int nn_printer_font_count(const nn_printer *p) { return p->n; }

const char *nn_printer_font_name(const nn_printer *p, int f)
{
    return f >= 0 && f < p->n ? p->fonts[f].name : "";
}

static int measure_cap(FT_Face face, double *cap_per_px)
{
    if (FT_Set_Char_Size(face, 0, (FT_F26Dot6)(REF_PIXELS * 64), 72, 72))
        return -1;
    FT_Set_Transform(face, NULL, NULL);
    if (FT_Load_Char(face, 'H', FT_LOAD_NO_HINTING | FT_LOAD_NO_BITMAP) ||
        face->glyph->format != FT_GLYPH_FORMAT_OUTLINE)
        return -1;
    FT_BBox box;
    FT_Outline_Get_CBox(&face->glyph->outline, &box);
    double h = (box.yMax - box.yMin) / 64.0;
    if (!(h > 0.2 * REF_PIXELS && h < 1.5 * REF_PIXELS))
        return -1;
    *cap_per_px = h / REF_PIXELS;
    return 0;
}

int nn_printer_add_font(nn_printer *p, const char *path, int *index, nn_error *err)
{
    if (p->n == NN_PRINTED_MAX_FONTS)
        return nn_error_set(err, NN_E_USAGE, "%s: more than %d fonts", path,
                            NN_PRINTED_MAX_FONTS);
    struct stat st;
    if (stat(path, &st) != 0)
        return nn_error_set(err, NN_E_IO, "%s: no such font file (%s)", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return nn_error_set(err, NN_E_IO, "%s: not a regular file", path);
    font *f = &p->fonts[p->n];
    FT_Error fe = FT_New_Face(p->lib, path, 0, &f->face);
    if (fe)
        return nn_error_set(err, NN_E_DATA, "%s: not a font FreeType can read (error 0x%02x)",
                            path, (unsigned)fe);
    snprintf(f->name, sizeof f->name, "%s %s", f->face->family_name ? f->face->family_name : "?",
             f->face->style_name ? f->face->style_name : "");
    int rc = NN_OK;
    if (!FT_IS_SCALABLE(f->face))
        rc = nn_error_set(err, NN_E_DATA, "%s: font '%s' is a bitmap font, not scalable", path,
                          f->name);
    else if (FT_Select_Charmap(f->face, FT_ENCODING_UNICODE))
        rc = nn_error_set(err, NN_E_DATA, "%s: font '%s' has no Unicode character map", path,
                          f->name);
    for (int c = NN_PRINTED_FIRST + 1; !rc && c <= NN_PRINTED_LAST; c++)
        if (FT_Get_Char_Index(f->face, (FT_ULong)c) == 0)
            rc = nn_error_set(err, NN_E_DATA, "%s: font '%s' has no glyph for '%c'", path,
                              f->name, c);
    if (!rc && measure_cap(f->face, &f->cap_per_px))
        rc = nn_error_set(err, NN_E_DATA, "%s: font '%s': cannot measure the height of 'H'",
                          path, f->name);
    if (rc) {
        FT_Done_Face(f->face);
        return rc;
    }
    if (index)
        *index = p->n;
    p->n++;
    return NN_OK;
}

/* A standard normal draw (Box-Muller). */
static double gauss(nn_rng *rng)
{
    double u = nn_rng_uniform01(rng), v = nn_rng_uniform01(rng);
    return sqrt(-2.0 * log(1.0 - u)) * cos(2.0 * PI * v);
}

static float draw(nn_rng *rng, float lo, float hi)
{
    return hi > lo ? nn_rng_uniform(rng, lo, hi) : lo;
}

static void blur(float *img, float *tmp, int n, float sigma)
{
    enum { R = 3 };
    float k[2 * R + 1], s = 0;
    for (int i = -R; i <= R; i++)
        s += k[i + R] = expf(-(float)(i * i) / (2 * sigma * sigma));
    for (int i = 0; i < 2 * R + 1; i++)
        k[i] /= s;
    for (int pass = 0; pass < 2; pass++) {
        const float *src = pass ? tmp : img;
        float *dst = pass ? img : tmp;
        for (int y = 0; y < n; y++)
            for (int x = 0; x < n; x++) {
                float a = 0;
                for (int i = -R; i <= R; i++) {
                    int xx = pass ? x : x + i, yy = pass ? y + i : y;
                    if (xx >= 0 && xx < n && yy >= 0 && yy < n)
                        a += k[i + R] * src[yy * n + xx];
                }
                dst[y * n + x] = a;
            }
    }
}

int nn_printer_render(nn_printer *p, int fi, int ch, const nn_render_opts *o, nn_rng *rng,
                      uint8_t *out, nn_error *err)
{
    if (fi < 0 || fi >= p->n)
        return nn_error_set(err, NN_E_USAGE, "font %d: only %d fonts loaded", fi, p->n);
    if (ch < NN_PRINTED_FIRST || ch > NN_PRINTED_LAST)
        return nn_error_set(err, NN_E_USAGE, "character %d is not printable ASCII", ch);
    int n = o->size;
    if (n < 8 || n > MAX_SIZE)
        return nn_error_set(err, NN_E_USAGE, "cell size %d is outside 8..%d", n, MAX_SIZE);
    const font *f = &p->fonts[fi];
    /* Every draw is made whatever the character, so that the stream of numbers does not depend
     * on which characters were rendered before. */
    float cap = draw(rng, o->cap_min, o->cap_max);
    float dx = draw(rng, -o->shift_max, o->shift_max);
    float dy = draw(rng, -o->shift_max, o->shift_max);
    float rot = draw(rng, -o->rotate_max_deg, o->rotate_max_deg) * (float)(PI / 180);
    float shear = draw(rng, -o->shear_max, o->shear_max);
    float stretch = 1 + draw(rng, -o->stretch_max, o->stretch_max);
    float stroke = draw(rng, o->stroke_min, o->stroke_max);
    float sigma = draw(rng, 0, o->blur_max);
    float noise = draw(rng, 0, o->noise_max);
    float ink = draw(rng, o->ink_min, 255);
    float subx = (float)nn_rng_uniform01(rng), suby = (float)nn_rng_uniform01(rng);

    float px = (float)(cap / f->cap_per_px);
    if (FT_Set_Char_Size(f->face, 0, (FT_F26Dot6)lrintf(px * 64), 72, 72))
        return nn_error_set(err, NN_E_DATA, "font '%s': cannot set size %.1f px", f->name, px);
    /* [cos -sin; sin cos] x [stretch shear; 0 1]; rotation about the middle of the cap height
     * so the glyph stays near the baseline. */
    double c = cos(rot), s = sin(rot);
    double a = c * stretch, b = c * shear - s, cc = s * stretch, d = s * shear + c;
    FT_Matrix m = {(FT_Fixed)lrint(a * 65536), (FT_Fixed)lrint(b * 65536),
                   (FT_Fixed)lrint(cc * 65536), (FT_Fixed)lrint(d * 65536)};
    double my = cap / 2.0;
    FT_Vector delta = {(FT_Pos)lrint((-b * my + subx) * 64), (FT_Pos)lrint((my - d * my + suby) * 64)};
    FT_Set_Transform(f->face, &m, &delta);

    float *img = calloc((size_t)2 * n * n, sizeof *img);
    if (!img)
        return nn_error_set(err, NN_E_NOMEM, "out of memory");
    int rc = NN_OK;
    if (ch != ' ') {
        FT_GlyphSlot g = f->face->glyph;
        FT_Error fe = FT_Load_Char(f->face, (FT_ULong)ch, FT_LOAD_NO_HINTING | FT_LOAD_NO_BITMAP);
        if (!fe && g->format == FT_GLYPH_FORMAT_OUTLINE && stroke != 0)
            fe = FT_Outline_Embolden(&g->outline, (FT_Pos)lrintf(stroke * 64));
        if (!fe)
            fe = FT_Render_Glyph(g, FT_RENDER_MODE_NORMAL);
        if (fe) {
            rc = nn_error_set(err, NN_E_DATA, "font '%s': cannot render '%c' (error 0x%02x)",
                              f->name, ch, (unsigned)fe);
        } else {
            const FT_Bitmap *bm = &g->bitmap;
            int bw = (int)bm->width, bh = (int)bm->rows;
            int x0 = (int)lrintf(n / 2.0f + dx - bw / 2.0f);
            int y0 = (int)lrintf(o->baseline + dy) - g->bitmap_top;
            for (int y = 0; y < bh; y++)
                for (int x = 0; x < bw; x++) {
                    int X = x0 + x, Y = y0 + y;
                    if (X < 0 || X >= n || Y < 0 || Y >= n)
                        continue;
                    float v = bm->buffer[y * bm->pitch + x] / 255.0f * ink;
                    img[Y * n + X] = fmaxf(img[Y * n + X], v);
                }
        }
    }
    if (!rc) {
        if (sigma > 0.05f)
            blur(img, img + n * n, n, sigma);
        /* A scanner's contrast: the darkest ink reaches the drawn ink level even when thin
         * strokes, thinned and blurred, cover no pixel fully. */
        float peak = 0;
        for (int i = 0; i < n * n; i++)
            peak = fmaxf(peak, img[i]);
        for (int i = 0; peak > 1.0f && i < n * n; i++)
            img[i] *= ink / peak;
        for (int i = 0; i < n * n; i++) {
            float v = img[i] + (noise > 0 ? noise * (float)gauss(rng) : 0.0f);
            out[i] = (uint8_t)lrintf(fminf(255.0f, fmaxf(0.0f, v)));
        }
    }
    free(img);
    return rc;
}

/* ---- the font list ---------------------------------------------------------------------------- */

void nn_font_list_free(nn_font_list *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->fonts[i].path);
    l->n = 0;
}

int nn_font_list_parse(const char *text, size_t len, const char *name, nn_font_list *out,
                       nn_error *err)
{
    memset(out, 0, sizeof *out);
    int line = 0;
    for (size_t pos = 0; pos < len;) {
        size_t end = pos;
        while (end < len && text[end] != '\n')
            end++;
        line++;
        const char *s = text + pos, *e = text + end;
        pos = end + 1;
        while (e > s && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
            e--;
        const char *t = s;
        while (t < e && (*t == ' ' || *t == '\t'))
            t++;
        if (t == e || *t == '#')
            continue;
        int col = (int)(t - s) + 1;
        const char *w = t;
        while (w < e && *w != ' ' && *w != '\t')
            w++;
        int test;
        if (w - t == 5 && !memcmp(t, "train", 5))
            test = 0;
        else if (w - t == 4 && !memcmp(t, "test", 4))
            test = 1;
        else {
            nn_error_set(err, NN_E_CONFIG,
                         "%s:%d:%d: expected 'train PATH' or 'test PATH', got '%.*s'", name,
                         line, col, (int)(w - t > 40 ? 40 : w - t), t);
            nn_font_list_free(out);
            return NN_E_CONFIG;
        }
        while (w < e && (*w == ' ' || *w == '\t'))
            w++;
        if (w == e) {
            nn_error_set(err, NN_E_CONFIG, "%s:%d:%d: '%s' needs the path of a font file", name,
                         line, (int)(e - s) + 1, test ? "test" : "train");
            nn_font_list_free(out);
            return NN_E_CONFIG;
        }
        if (out->n == NN_PRINTED_MAX_FONTS) {
            nn_error_set(err, NN_E_CONFIG, "%s:%d:%d: more than %d fonts", name, line, col,
                         NN_PRINTED_MAX_FONTS);
            nn_font_list_free(out);
            return NN_E_CONFIG;
        }
        nn_font_entry *fe = &out->fonts[out->n];
        fe->path = malloc((size_t)(e - w) + 1);
        if (!fe->path) {
            nn_font_list_free(out);
            return nn_error_set(err, NN_E_NOMEM, "out of memory");
        }
        memcpy(fe->path, w, (size_t)(e - w));
        fe->path[e - w] = '\0';
        fe->test = test;
        fe->line = line;
        out->n++;
    }
    int have[2] = {0, 0};
    for (int i = 0; i < out->n; i++)
        have[out->fonts[i].test] = 1;
    for (int k = 0; k < 2; k++)
        if (!have[k]) {
            nn_font_list_free(out);
            return nn_error_set(err, NN_E_CONFIG, "%s: no '%s' font listed", name,
                                k ? "test" : "train");
        }
    for (int i = 0; i < out->n; i++)
        for (int j = 0; j < i; j++)
            if (!strcmp(out->fonts[i].path, out->fonts[j].path)) {
                nn_error_set(err, NN_E_CONFIG, "%s:%d: %s is already listed on line %d", name,
                             out->fonts[i].line, out->fonts[i].path, out->fonts[j].line);
                nn_font_list_free(out);
                return NN_E_CONFIG;
            }
    return NN_OK;
}

int nn_font_list_load(const char *path, nn_font_list *out, nn_error *err)
{
    uint8_t *bytes;
    size_t len;
    memset(out, 0, sizeof *out);
    int rc = nn_read_file_maybe_gz(path, 1u << 20, &bytes, &len, err);
    if (rc)
        return rc;
    rc = nn_font_list_parse((const char *)bytes, len, path, out, err);
    free(bytes);
    return rc;
}

/* ---- IDX files and the whole set ------------------------------------------------------------- */

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8),
    p[3] = (uint8_t)v;
}

int nn_idx_save(const char *images_path, const char *labels_path, size_t n, int rows, int cols,
                const uint8_t *images, const uint8_t *labels, nn_error *err)
{
    size_t px = (size_t)rows * (size_t)cols;
    size_t ilen = 16 + n * px, llen = 8 + n;
    uint8_t *ib = malloc(ilen), *lb = malloc(llen);
    int rc = NN_OK;
    if (!ib || !lb) {
        rc = nn_error_set(err, NN_E_NOMEM, "out of memory");
    } else {
        put_be32(ib, 0x00000803u);
        put_be32(ib + 4, (uint32_t)n);
        put_be32(ib + 8, (uint32_t)rows);
        put_be32(ib + 12, (uint32_t)cols);
        memcpy(ib + 16, images, n * px);
        put_be32(lb, 0x00000801u);
        put_be32(lb + 4, (uint32_t)n);
        memcpy(lb + 8, labels, n);
        rc = nn_write_file_atomic(images_path, ib, ilen, err);
        if (!rc)
            rc = nn_write_file_atomic(labels_path, lb, llen, err);
    }
    free(ib);
    free(lb);
    return rc;
}

typedef struct split_buf {
    size_t n, cap;
    uint8_t *images, *labels;
} split_buf;

static int render_split(nn_printer *p, const int *font_idx, int n_fonts, int per_char,
                        const nn_render_opts *o, uint64_t seed, split_buf *b, nn_error *err)
{
    size_t px = (size_t)o->size * o->size;
    b->cap = (size_t)n_fonts * NN_PRINTED_CLASSES * per_char;
    b->n = 0;
    b->images = malloc(b->cap * px + 1);
    b->labels = malloc(b->cap + 1);
    size_t *perm = malloc(sizeof *perm * (b->cap + 1));
    if (!b->images || !b->labels || !perm) {
        free(perm);
        return nn_error_set(err, NN_E_NOMEM, "out of memory for %zu images", b->cap);
    }
    nn_rng rng;
    nn_rng_seed(&rng, seed);
    for (size_t i = 0; i < b->cap; i++)
        perm[i] = i;
    nn_rng_shuffle(&rng, perm, b->cap);
    int rc = NN_OK;
    size_t k = 0;
    for (int f = 0; !rc && f < n_fonts; f++)
        for (int c = NN_PRINTED_FIRST; !rc && c <= NN_PRINTED_LAST; c++)
            for (int s = 0; !rc && s < per_char; s++, k++) {
                size_t at = perm[k];
                rc = nn_printer_render(p, font_idx[f], c, o, &rng, b->images + at * px, err);
                b->labels[at] = (uint8_t)(c - NN_PRINTED_FIRST);
            }
    b->n = k;
    free(perm);
    return rc;
}

static int ensure_dir(const char *dir, nn_error *err)
{
    struct stat st;
    if (stat(dir, &st) == 0)
        return S_ISDIR(st.st_mode) ? NN_OK
                                   : nn_error_set(err, NN_E_IO, "%s: not a directory", dir);
    if (mkdir(dir, 0777) != 0)
        return nn_error_set(err, NN_E_IO, "%s: cannot create directory: %s", dir,
                            strerror(errno));
    return NN_OK;
}

int nn_printed_generate(const nn_printed_spec *spec, nn_printed_stats *stats, nn_error *err)
{
    if (spec->train_per_char < 1 || spec->test_per_char < 1)
        return nn_error_set(err, NN_E_USAGE, "samples per character must be at least 1");
    size_t px = (size_t)spec->render.size * spec->render.size;
    nn_font_list list;
    int rc = nn_font_list_load(spec->font_list, &list, err);
    if (rc)
        return rc;
    nn_printer *p = NULL;
    int idx[2][NN_PRINTED_MAX_FONTS], count[2] = {0, 0};
    rc = nn_printer_new(&p, err);
    for (int i = 0; !rc && i < list.n; i++) {
        int at;
        rc = nn_printer_add_font(p, list.fonts[i].path, &at, err);
        if (rc)
            nn_error_prefix(err, "%s:%d", spec->font_list, list.fonts[i].line);
        else
            idx[list.fonts[i].test][count[list.fonts[i].test]++] = at;
    }
    if (!rc)
        rc = ensure_dir(spec->out_dir, err);
    static const char *const names[2] = {"train", "test"};
    for (int t = 0; !rc && t < 2; t++) {
        split_buf b = {0};
        int per = t ? spec->test_per_char : spec->train_per_char;
        size_t total = (size_t)count[t] * NN_PRINTED_CLASSES * (size_t)per;
        if (total > NN_IDX_MAX_ITEMS || total * px > ((size_t)1 << 30))
            rc = nn_error_set(err, NN_E_USAGE, "%s: %zu images is too many", names[t], total);
        if (!rc)
            rc = render_split(p, idx[t], count[t], per, &spec->render,
                              spec->seed * 2 + (uint64_t)t, &b, err);
        char ipath[4096], lpath[4096];
        snprintf(ipath, sizeof ipath, "%s/%s-images-idx3-ubyte", spec->out_dir, names[t]);
        snprintf(lpath, sizeof lpath, "%s/%s-labels-idx1-ubyte", spec->out_dir, names[t]);
        if (!rc)
            rc = nn_idx_save(ipath, lpath, b.n, spec->render.size, spec->render.size, b.images,
                             b.labels, err);
        if (stats && !rc) {
            if (t)
                stats->test_fonts = count[t], stats->test_n = b.n;
            else
                stats->train_fonts = count[t], stats->train_n = b.n;
        }
        free(b.images);
        free(b.labels);
    }
    nn_printer_free(p);
    nn_font_list_free(&list);
    return rc;
}
