/* A small RGB canvas for the pictures nnrun writes: rectangles, thick lines, text in a built-in
 * 5x7 bitmap font (lowercase, digits and common punctuation; uppercase is drawn as lowercase),
 * and grayscale tiles of float maps. Saved with nn_canvas_write_png. */
#ifndef NN_CANVAS_H
#define NN_CANVAS_H

#include <stdint.h>

#include "error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nn_canvas {
    int w, h;
    uint8_t *rgb; /* w*h*3 */
} nn_canvas;

/* Colors are 0xRRGGBB. */
int nn_canvas_new(nn_canvas *c, int w, int h, uint32_t background, nn_error *err);
void nn_canvas_free(nn_canvas *c);
void nn_canvas_pixel(nn_canvas *c, int x, int y, uint32_t color);
void nn_canvas_rect(nn_canvas *c, int x, int y, int w, int h, uint32_t color);
void nn_canvas_line(nn_canvas *c, int x0, int y0, int x1, int y1, int thick, uint32_t color);
/* Draws s with its top-left corner at (x, y), each font pixel scale x scale; returns the width
 * drawn. Glyph cells are 6x8 font pixels (one of spacing). */
int nn_canvas_text(nn_canvas *c, int x, int y, int scale, uint32_t color, const char *s);
int nn_canvas_text_width(const char *s, int scale);
/* Draws a w x h float map at (x, y), each value a zoom x zoom block, lo black and hi white
 * (clamped). */
void nn_canvas_gray(nn_canvas *c, int x, int y, const float *map, int w, int h, int zoom,
                    float lo, float hi);
int nn_canvas_write_png(const nn_canvas *c, const char *path, nn_error *err);

#ifdef __cplusplus
}
#endif
#endif
