/* Datasets: IDX files (raw or gzip) kept as bytes; conversion to floats per batch, with padding
 * and scaling. Also PGM images for `predict`. */
#ifndef NN_DATA_H
#define NN_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Upper bounds that protect against hostile headers. */
#define NN_IDX_MAX_ITEMS 10000000u
#define NN_IDX_MAX_DIM 4096u

typedef struct nn_dataset {
    size_t n;          /* number of samples */
    int rows, cols;    /* image size */
    uint8_t *images;   /* n * rows * cols bytes, row-major, 0 = background */
    uint8_t *labels;   /* n labels */
    int n_classes;     /* 1 + the largest label allowed (set by the caller's max_classes) */
} nn_dataset;

/* Loads an IDX3 ubyte image file and an IDX1 ubyte label file (each raw or gzip-compressed,
 * detected by the gzip magic, not the name). Checks: magic 0x00000803 / 0x00000801 with element
 * type 0x08 (unsigned byte), dimensions non-zero and within the bounds above, the product not
 * overflowing and equal to the bytes that follow the header (truncated or trailing data are
 * errors), image and label counts equal, every label < max_classes. limit > 0 keeps only the
 * first `limit` samples. A missing file says "<path>: no such file (run `make data`)". Messages
 * name the file and say what was expected. */
int nn_dataset_load_idx(const char *images_path, const char *labels_path, int max_classes,
                        size_t limit, nn_dataset *out, nn_error *err);
void nn_dataset_free(nn_dataset *ds);

/* Reads a whole file, raw or gzip-compressed (inflated), refusing more than max_bytes after
 * inflation. *out is malloc'd. */
int nn_read_file_maybe_gz(const char *path, size_t max_bytes, uint8_t **out, size_t *len,
                          nn_error *err);

/* Writes count samples, given by index, as floats into out: each image padded by `pad` pixels of
 * background on every side, so a sample is (rows+2pad)*(cols+2pad) floats, and scaled linearly so
 * that byte 0 -> lo and byte 255 -> hi. */
void nn_dataset_to_float(const nn_dataset *ds, const size_t *index, size_t count, int pad,
                         float lo, float hi, float *out);

/* Loads a binary (P5) or ASCII (P2) PGM, maxval 1..255 scaled to 0..255. *pixels is malloc'd,
 * w*h bytes. Errors name the file: not a PGM, bad header, truncated, too large (> 4096 a side). */
int nn_pgm_load(const char *path, int *w, int *h, uint8_t **pixels, nn_error *err);
/* Writes a binary PGM (for tests and tools). */
int nn_pgm_save(const char *path, int w, int h, const uint8_t *pixels, nn_error *err);

#ifdef __cplusplus
}
#endif
#endif
