/* Grey images from files, for `predict` and tools: PGM (P2, P5) and PNG (any colour type and bit
 * depth, via libpng), returned as 8-bit grey, one byte a pixel, row-major.
 *
 *   nn_image im;
 *   if (nn_image_load("a.png", &im, &err)) { ... err.msg names the file ... }
 *   uint8_t cell[32 * 32];
 *   nn_image_fit_cell(&im, 32, 32, cell);   // as the printed-character renderer lays out a cell
 *   nn_image_free(&im);
 *
 * Colour is reduced to luminance; transparent pixels are composed onto white (a PNG of black
 * ink on a transparent page reads as black on white). 0 is black, 255 white, as in the file:
 * nnrun's data has white ink on black, so dark-on-light images need inverting. */
#ifndef NN_IMAGE_H
#define NN_IMAGE_H

#include <stdint.h>

#include "error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NN_IMAGE_MAX_SIDE 4096

typedef struct nn_image {
    int w, h;
    uint8_t *px; /* w * h bytes, malloc'd */
} nn_image;

/* Loads a PGM or PNG, told apart by the file's first bytes, not its name. Errors name the file:
 * no such file, not a PNG or PGM image, a corrupt or truncated PNG (libpng's reason), larger
 * than NN_IMAGE_MAX_SIDE a side. */
int nn_image_load(const char *path, nn_image *out, nn_error *err);
void nn_image_free(nn_image *im);

/* Writes 8-bit grey pixels as a PNG. */
int nn_image_save_png(const char *path, int w, int h, const uint8_t *px, nn_error *err);

/* Inverts in place (255 - v). */
void nn_image_invert(nn_image *im);

/* Lays an image of a character cell (any size; ink bright on dark) out as a dst_w x dst_h cell
 * the way the printed-character renderer does: the whole image is scaled (area averaging) by
 * the same factor on both axes so that it just fits, its height giving the cell's height when it
 * is not wider than tall; then the ink is centred horizontally, while its height is kept (it
 * tells ',' from '\'' and 'o' from 'O'). An image with no ink gives an empty cell. */
void nn_image_fit_cell(const nn_image *im, int dst_w, int dst_h, uint8_t *dst);

#ifdef __cplusplus
}
#endif
#endif
