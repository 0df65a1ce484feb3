/* PNG output (libpng): 8-bit grayscale or RGB images, for charts, feature maps and image sheets.
 * The file is written to a temporary name and renamed, so a reader never sees half of one. */
#ifndef NN_PNG_WRITE_H
#define NN_PNG_WRITE_H

#include <stdint.h>

#include "error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* w*h bytes, row-major. */
int nn_png_write_gray(const char *path, int w, int h, const uint8_t *pixels, nn_error *err);
/* w*h*3 bytes, row-major, R G B. */
int nn_png_write_rgb(const char *path, int w, int h, const uint8_t *rgb, nn_error *err);

#ifdef __cplusplus
}
#endif
#endif
