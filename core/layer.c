#include "layer.h"
#include "simd.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *nn_layer_alloc(nn_layer *l, size_t bytes) { return nn_arena_alloc(l->arena, bytes); }

int nn_layer_error(const nn_layer *l, nn_error *err, nn_status code, const char *fmt, ...)
{
    char body[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    return nn_error_set(err, code, "%s:%d:%d: layer '%s': %s", l->file ? l->file : "?", l->line,
                        l->col, l->name ? l->name : "?", body);
}

void nn_init_lecun_uniform(float *w, size_t n, size_t fan_in, nn_rng *rng)
{
    float a = fan_in ? 2.4f / (float)fan_in : 0.0f;
    for (size_t i = 0; i < n; i++)
        w[i] = nn_rng_uniform(rng, -a, a);
}

/* n floats from s to d in blocks of 8 (and 4) of a constant size, which the compiler turns into
 * one vector move each, instead of a call to memcpy per row: an im2col row of C3 is 10 floats.
 * The last block may overlap the one before it; it writes the same values again. */
static inline void copy_row(float *restrict d, const float *restrict s, int n)
{
    if (n >= 8) {
        int x = 0;
        for (; x + 8 <= n; x += 8)
            memcpy(d + x, s + x, 8 * sizeof(float));
        if (x < n)
            memcpy(d + n - 8, s + n - 8, 8 * sizeof(float));
    } else if (n >= 4) {
        memcpy(d, s, 4 * sizeof(float));
        memcpy(d + n - 4, s + n - 4, 4 * sizeof(float));
    } else {
        for (int x = 0; x < n; x++)
            d[x] = s[x];
    }
}

/* d[x] += s[x]: blocks of 8 (a constant trip count, which vectorizes), then one at a time. Each
 * element gets one addition, so the order of the sums is that of the plain loop. */
static inline void add_row(float *restrict d, const float *restrict s, int n)
{
    int x = 0;
    for (; x + 8 <= n; x += 8)
        for (int j = 0; j < 8; j++)
            d[x + j] += s[x + j];
    for (; x < n; x++)
        d[x] += s[x];
}

/* No padding, stride 1 across and sy down, a kh x kw kernel: row (ch, ky, kx) of col holds
 * img[ch][y * sy + ky][x + kx] at column y * ow + x. Each such row is a plain 2-D copy. */
static NN_CLONES void im2col_rect(const float *restrict img, int c, int h, int w, int kh, int kw,
                                  int sy, int oh, int ow, float *restrict col, int ld)
{
    for (int ch = 0; ch < c; ch++)
        for (int ky = 0; ky < kh; ky++)
            for (int kx = 0; kx < kw; kx++) {
                float *row = col + (size_t)((ch * kh + ky) * kw + kx) * ld;
                const float *src = img + ((size_t)ch * h + ky) * w + kx;
                for (int y = 0; y < oh; y++)
                    copy_row(row + (size_t)y * ow, src + (size_t)y * sy * w, ow);
            }
}

static NN_CLONES void col2im_rect(const float *restrict col, int ld, int c, int h, int w, int kh,
                                  int kw, int sy, int oh, int ow, float *restrict img)
{
    for (int ch = 0; ch < c; ch++)
        for (int ky = 0; ky < kh; ky++)
            for (int kx = 0; kx < kw; kx++) {
                const float *row = col + (size_t)((ch * kh + ky) * kw + kx) * ld;
                float *dst = img + ((size_t)ch * h + ky) * w + kx;
                for (int y = 0; y < oh; y++)
                    add_row(dst + (size_t)y * sy * w, row + (size_t)y * ow, ow);
            }
}

void nn_im2col_pairs_batch(const nn_conv_geom *g, nn_shape in, const float *x, int batch,
                           float *col)
{
    size_t in_size = nn_shape_size(in);
    int pp = g->oh / 2 * g->ow, ld = batch * pp;
    for (int b = 0; b < batch; b++)
        im2col_rect(x + b * in_size, in.c, in.h, in.w, g->k + 1, g->k, 2, g->oh / 2, g->ow,
                    col + (size_t)b * pp, ld);
}

void nn_col2im_pairs_batch(const nn_conv_geom *g, nn_shape in, const float *dcol, int batch,
                           float *dx)
{
    size_t in_size = nn_shape_size(in);
    int pp = g->oh / 2 * g->ow, ld = batch * pp;
    for (int b = 0; b < batch; b++)
        col2im_rect(dcol + (size_t)b * pp, ld, in.c, in.h, in.w, g->k + 1, g->k, 2, g->oh / 2,
                    g->ow, dx + b * in_size);
}

void nn_im2col(const float *img, int c, int h, int w, int k, int stride, int pad, int oh, int ow,
               float *col, int ld)
{
    if (stride == 1 && pad == 0) {
        im2col_rect(img, c, h, w, k, k, 1, oh, ow, col, ld);
        return;
    }
    for (int ch = 0; ch < c; ch++)
        for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++) {
                float *row = col + (size_t)((ch * k + ky) * k + kx) * ld;
                const float *plane = img + (size_t)ch * h * w;
                for (int y = 0; y < oh; y++) {
                    int iy = y * stride + ky - pad;
                    float *dst = row + y * ow;
                    if (iy < 0 || iy >= h) {
                        memset(dst, 0, sizeof(float) * ow);
                        continue;
                    }
                    const float *src = plane + (size_t)iy * w;
                    for (int x = 0; x < ow; x++) {
                        int ix = x * stride + kx - pad;
                        dst[x] = (ix >= 0 && ix < w) ? src[ix] : 0.0f;
                    }
                }
            }
}

void nn_col2im_add(const float *col, int ld, int c, int h, int w, int k, int stride, int pad,
                   int oh, int ow, float *img)
{
    if (stride == 1 && pad == 0) {
        col2im_rect(col, ld, c, h, w, k, k, 1, oh, ow, img);
        return;
    }
    for (int ch = 0; ch < c; ch++)
        for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++) {
                const float *row = col + (size_t)((ch * k + ky) * k + kx) * ld;
                float *plane = img + (size_t)ch * h * w;
                for (int y = 0; y < oh; y++) {
                    int iy = y * stride + ky - pad;
                    if (iy < 0 || iy >= h)
                        continue;
                    const float *src = row + y * ow;
                    float *dst = plane + (size_t)iy * w;
                    for (int x = 0; x < ow; x++) {
                        int ix = x * stride + kx - pad;
                        if (ix >= 0 && ix < w)
                            dst[ix] += src[x];
                    }
                }
            }
}

int nn_conv_geom_read(const nn_layer *l, const nn_node *cfg, nn_conv_geom *g, nn_error *err)
{
    char what[96];
    snprintf(what, sizeof what, "layer '%s'", l->name);
    long maps, k, stride, pad;
    int rc = nn_map_long(cfg, "maps", 1, 0, 1, 65536, what, &maps, err);
    if (!rc)
        rc = nn_map_long(cfg, "kernel", 1, 0, 1, 1024, what, &k, err);
    if (!rc)
        rc = nn_map_long(cfg, "stride", 0, 1, 1, 1024, what, &stride, err);
    if (!rc)
        rc = nn_map_long(cfg, "padding", 0, 0, 0, 1024, what, &pad, err);
    if (rc)
        return rc;
    g->maps = (int)maps;
    g->k = (int)k;
    g->stride = (int)stride;
    g->pad = (int)pad;
    return NN_OK;
}

int nn_conv_geom_infer(const nn_layer *l, nn_conv_geom *g, nn_error *err)
{
    nn_shape in = l->in[0];
    int span_h = in.h + 2 * g->pad, span_w = in.w + 2 * g->pad;
    if (g->k > span_h || g->k > span_w)
        return nn_layer_error(l, err, NN_E_SHAPE,
                              "kernel %dx%d is larger than its input %dx%d (padded by %d) from "
                              "layer '%s'",
                              g->k, g->k, in.h, in.w, g->pad, l->in_names[0]);
    /* Bounded here, before any int product: positions, and in.c * k * k (the rows of im2col),
     * feed int sizes of the gemm calls. */
    long oh = (span_h - g->k) / g->stride + 1, ow = (span_w - g->k) / g->stride + 1;
    if ((size_t)oh * (size_t)ow > NN_MAX_VALUES)
        return nn_layer_error(l, err, NN_E_SHAPE,
                              "output %ldx%ld is too large (at most %zu positions)", oh, ow,
                              (size_t)NN_MAX_VALUES);
    size_t rows = (size_t)in.c * (size_t)g->k * (size_t)g->k;
    if (rows > NN_MAX_VALUES)
        return nn_layer_error(l, err, NN_E_SHAPE,
                              "kernel %dx%d over %d input maps is %zu values per position, at "
                              "most %zu",
                              g->k, g->k, in.c, rows, (size_t)NN_MAX_VALUES);
    g->oh = (int)oh;
    g->ow = (int)ow;
    g->positions = (int)(oh * ow);
    return NN_OK;
}

void nn_im2col_batch(const nn_conv_geom *g, nn_shape in, const float *x, int batch, float *col)
{
    size_t in_size = nn_shape_size(in);
    int ld = batch * g->positions;
    for (int b = 0; b < batch; b++)
        nn_im2col(x + b * in_size, in.c, in.h, in.w, g->k, g->stride, g->pad, g->oh, g->ow,
                  col + (size_t)b * g->positions, ld);
}

void nn_col2im_batch(const nn_conv_geom *g, nn_shape in, const float *dcol, int batch, float *dx)
{
    size_t in_size = nn_shape_size(in);
    int ld = batch * g->positions;
    for (int b = 0; b < batch; b++)
        nn_col2im_add(dcol + (size_t)b * g->positions, ld, in.c, in.h, in.w, g->k, g->stride,
                      g->pad, g->oh, g->ow, dx + b * in_size);
}

void nn_to_channel_major(const float *src, int batch, int c, int positions, float *dst)
{
    size_t ld = (size_t)batch * positions;
    for (int b = 0; b < batch; b++)
        for (int ch = 0; ch < c; ch++)
            memcpy(dst + ch * ld + (size_t)b * positions,
                   src + ((size_t)b * c + ch) * positions, sizeof(float) * positions);
}

void nn_from_channel_major(const float *src, int batch, int c, int positions, const float *bias,
                           float *dst)
{
    size_t ld = (size_t)batch * positions;
    for (int b = 0; b < batch; b++)
        for (int ch = 0; ch < c; ch++) {
            const float *s = src + ch * ld + (size_t)b * positions;
            float *d = dst + ((size_t)b * c + ch) * positions;
            float add = bias ? bias[ch] : 0.0f;
            for (int i = 0; i < positions; i++)
                d[i] = s[i] + add;
        }
}

struct nn_registry {
    const nn_layer_ops **ops;
    size_t n, cap;
};

int nn_registry_add(nn_registry *reg, const nn_layer_ops *ops, nn_error *err)
{
    if (!ops || !ops->type || !ops->configure || !ops->infer || !ops->forward)
        return nn_error_set(err, NN_E_USAGE,
                            "layer type table needs a type name, configure, infer and forward");
    if (ops->min_inputs < 1 || ops->max_inputs < ops->min_inputs ||
        ops->max_inputs > NN_MAX_INPUTS)
        return nn_error_set(err, NN_E_USAGE, "layer type '%s': inputs must be 1..%d", ops->type,
                            NN_MAX_INPUTS);
    if (nn_registry_find(reg, ops->type))
        return nn_error_set(err, NN_E_USAGE, "layer type '%s' is already registered", ops->type);
    if (reg->n == reg->cap) {
        size_t cap = reg->cap ? reg->cap * 2 : 16;
        const nn_layer_ops **grown = realloc(reg->ops, cap * sizeof *grown);
        if (!grown)
            return nn_error_set(err, NN_E_NOMEM, "out of memory registering '%s'", ops->type);
        reg->ops = grown;
        reg->cap = cap;
    }
    reg->ops[reg->n++] = ops;
    return NN_OK;
}

int nn_registry_new(nn_registry **out, nn_error *err)
{
    nn_registry *reg = calloc(1, sizeof *reg);
    if (!reg)
        return nn_error_set(err, NN_E_NOMEM, "out of memory");
    for (size_t i = 0; nn_builtin_layers[i]; i++) {
        int rc = nn_registry_add(reg, nn_builtin_layers[i], err);
        if (rc) {
            nn_registry_free(reg);
            return rc;
        }
    }
    *out = reg;
    return NN_OK;
}

const nn_layer_ops *nn_registry_find(const nn_registry *reg, const char *type)
{
    for (size_t i = 0; i < reg->n; i++)
        if (strcmp(reg->ops[i]->type, type) == 0)
            return reg->ops[i];
    return NULL;
}

size_t nn_registry_count(const nn_registry *reg) { return reg->n; }

const nn_layer_ops *nn_registry_at(const nn_registry *reg, size_t i)
{
    return i < reg->n ? reg->ops[i] : NULL;
}

void nn_registry_free(nn_registry *reg)
{
    if (!reg)
        return;
    free(reg->ops);
    free(reg);
}

int nn_pool_geom_read(const nn_layer *l, const nn_node *cfg, nn_pool_geom *g, nn_error *err)
{
    char what[96];
    snprintf(what, sizeof what, "layer '%s'", l->name);
    long size, stride;
    int rc = nn_map_long(cfg, "size", 0, 2, 1, 1024, what, &size, err);
    if (!rc)
        rc = nn_map_long(cfg, "stride", 0, size, 1, 1024, what, &stride, err);
    if (rc)
        return rc;
    g->size = (int)size;
    g->stride = (int)stride;
    return NN_OK;
}

int nn_pool_geom_infer(const nn_layer *l, nn_pool_geom *g, nn_error *err)
{
    nn_shape in = l->in[0];
    if (g->size > in.h || g->size > in.w)
        return nn_layer_error(l, err, NN_E_SHAPE,
                              "window %dx%d is larger than its input %dx%d from layer '%s'",
                              g->size, g->size, in.h, in.w, l->in_names[0]);
    if ((in.h - g->size) % g->stride || (in.w - g->size) % g->stride)
        return nn_layer_error(l, err, NN_E_SHAPE,
                              "input %dx%d from layer '%s' does not tile into %dx%d windows at "
                              "stride %d (rows or columns would be dropped)",
                              in.h, in.w, l->in_names[0], g->size, g->size, g->stride);
    g->oh = (in.h - g->size) / g->stride + 1;
    g->ow = (in.w - g->size) / g->stride + 1;
    return NN_OK;
}
