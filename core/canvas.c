#include "canvas.h"

#include <stdlib.h>
#include <string.h>

#include "png_write.h"

int nn_canvas_new(nn_canvas *c, int w, int h, uint32_t background, nn_error *err)
{
    c->w = w;
    c->h = h;
    c->rgb = (w > 0 && h > 0 && w <= 1 << 15 && h <= 1 << 15) ? malloc((size_t)w * h * 3) : NULL;
    if (!c->rgb)
        return nn_error_set(err, NN_E_NOMEM, "out of memory for a %dx%d image", w, h);
    nn_canvas_rect(c, 0, 0, w, h, background);
    return NN_OK;
}

void nn_canvas_free(nn_canvas *c)
{
    free(c->rgb);
    c->rgb = NULL;
}

void nn_canvas_pixel(nn_canvas *c, int x, int y, uint32_t color)
{
    if (x < 0 || y < 0 || x >= c->w || y >= c->h)
        return;
    uint8_t *p = c->rgb + ((size_t)y * c->w + x) * 3;
    p[0] = (uint8_t)(color >> 16);
    p[1] = (uint8_t)(color >> 8);
    p[2] = (uint8_t)color;
}

void nn_canvas_rect(nn_canvas *c, int x, int y, int w, int h, uint32_t color)
{
    for (int j = y; j < y + h; j++)
        for (int i = x; i < x + w; i++)
            nn_canvas_pixel(c, i, j, color);
}

void nn_canvas_line(nn_canvas *c, int x0, int y0, int x1, int y1, int thick, uint32_t color)
{
    int dx = abs(x1 - x0), dy = -abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
    int e = dx + dy, lo = -(thick - 1) / 2, hi = thick / 2;
    for (;;) {
        for (int j = lo; j <= hi; j++)
            for (int i = lo; i <= hi; i++)
                nn_canvas_pixel(c, x0 + i, y0 + j, color);
        if (x0 == x1 && y0 == y1)
            break;
        int e2 = 2 * e;
        if (e2 >= dy)
            e += dy, x0 += sx;
        if (e2 <= dx)
            e += dx, y0 += sy;
    }
}

/* 5x7 glyphs: seven rows, bit 4 the leftmost column. */
typedef struct glyph {
    char ch;
    uint8_t rows[7];
} glyph;

static const glyph font[] = {
    {'0', {14, 17, 19, 21, 25, 17, 14}}, {'1', {4, 12, 4, 4, 4, 4, 14}},
    {'2', {14, 17, 1, 2, 4, 8, 31}},     {'3', {30, 1, 1, 14, 1, 1, 30}},
    {'4', {2, 6, 10, 18, 31, 2, 2}},     {'5', {31, 16, 30, 1, 1, 17, 14}},
    {'6', {6, 8, 16, 30, 17, 17, 14}},   {'7', {31, 1, 2, 4, 8, 8, 8}},
    {'8', {14, 17, 17, 14, 17, 17, 14}}, {'9', {14, 17, 17, 15, 1, 2, 12}},
    {'a', {0, 0, 14, 1, 15, 17, 15}},    {'b', {16, 16, 22, 25, 17, 17, 30}},
    {'c', {0, 0, 14, 16, 16, 17, 14}},   {'d', {1, 1, 13, 19, 17, 17, 15}},
    {'e', {0, 0, 14, 17, 31, 16, 14}},   {'f', {6, 9, 8, 28, 8, 8, 8}},
    {'g', {0, 15, 17, 17, 15, 1, 14}},   {'h', {16, 16, 22, 25, 17, 17, 17}},
    {'i', {4, 0, 12, 4, 4, 4, 14}},      {'j', {2, 0, 6, 2, 2, 18, 12}},
    {'k', {16, 16, 18, 20, 24, 20, 18}}, {'l', {12, 4, 4, 4, 4, 4, 14}},
    {'m', {0, 0, 26, 21, 21, 17, 17}},   {'n', {0, 0, 22, 25, 17, 17, 17}},
    {'o', {0, 0, 14, 17, 17, 17, 14}},   {'p', {0, 0, 30, 17, 30, 16, 16}},
    {'q', {0, 0, 13, 19, 15, 1, 1}},     {'r', {0, 0, 22, 25, 16, 16, 16}},
    {'s', {0, 0, 14, 16, 14, 1, 30}},    {'t', {8, 8, 28, 8, 8, 9, 6}},
    {'u', {0, 0, 17, 17, 17, 19, 13}},   {'v', {0, 0, 17, 17, 17, 10, 4}},
    {'w', {0, 0, 17, 17, 21, 21, 10}},   {'x', {0, 0, 17, 10, 4, 10, 17}},
    {'y', {0, 0, 17, 17, 15, 1, 14}},    {'z', {0, 0, 31, 2, 4, 8, 31}},
    {'.', {0, 0, 0, 0, 0, 12, 12}},      {',', {0, 0, 0, 0, 12, 4, 8}},
    {'-', {0, 0, 0, 31, 0, 0, 0}},       {'_', {0, 0, 0, 0, 0, 0, 31}},
    {'%', {24, 25, 2, 4, 8, 19, 3}},     {'(', {2, 4, 8, 8, 8, 4, 2}},
    {')', {8, 4, 2, 2, 2, 4, 8}},        {':', {0, 12, 12, 0, 12, 12, 0}},
    {'/', {0, 1, 2, 4, 8, 16, 0}},       {'+', {0, 4, 4, 31, 4, 4, 0}},
    {'=', {0, 0, 31, 0, 31, 0, 0}},      {'>', {8, 4, 2, 1, 2, 4, 8}},
    {'<', {2, 4, 8, 16, 8, 4, 2}},       {'#', {10, 10, 31, 10, 31, 10, 10}},
    {'[', {14, 8, 8, 8, 8, 8, 14}},      {']', {14, 2, 2, 2, 2, 2, 14}},
    {'?', {14, 17, 1, 2, 4, 0, 4}},      {' ', {0, 0, 0, 0, 0, 0, 0}},
};

static const uint8_t *glyph_rows(char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        ch = (char)(ch - 'A' + 'a');
    for (size_t i = 0; i < sizeof font / sizeof font[0]; i++)
        if (font[i].ch == ch)
            return font[i].rows;
    return glyph_rows('?');
}

int nn_canvas_text_width(const char *s, int scale) { return (int)strlen(s) * 6 * scale; }

int nn_canvas_text(nn_canvas *c, int x, int y, int scale, uint32_t color, const char *s)
{
    int x0 = x;
    for (; *s; s++, x += 6 * scale) {
        const uint8_t *rows = glyph_rows(*s);
        for (int r = 0; r < 7; r++)
            for (int col = 0; col < 5; col++)
                if (rows[r] & (16 >> col))
                    nn_canvas_rect(c, x + col * scale, y + r * scale, scale, scale, color);
    }
    return x - x0;
}

void nn_canvas_gray(nn_canvas *c, int x, int y, const float *map, int w, int h, int zoom,
                    float lo, float hi)
{
    float span = hi > lo ? hi - lo : 1.0f;
    for (int j = 0; j < h; j++)
        for (int i = 0; i < w; i++) {
            float v = (map[(size_t)j * w + i] - lo) / span;
            v = v < 0 ? 0 : v > 1 ? 1 : v;
            uint32_t g = (uint32_t)(v * 255.0f + 0.5f);
            nn_canvas_rect(c, x + i * zoom, y + j * zoom, zoom, zoom, g << 16 | g << 8 | g);
        }
}

int nn_canvas_write_png(const nn_canvas *c, const char *path, nn_error *err)
{
    return nn_png_write_rgb(path, c->w, c->h, c->rgb, err);
}
