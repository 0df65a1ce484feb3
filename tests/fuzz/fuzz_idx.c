/* Fuzz target: the IDX reader, raw and gzip, through nn_dataset_load_idx on real files.
 *
 * Input: byte 0 picks the number of classes (1 + byte % 16), byte 1 the sample limit (0 = all),
 * bytes 2..5 (little-endian, modulo what is left) how many of the remaining bytes are the image
 * file; the rest is the label file. */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 6)
        return 0;
    int classes = 1 + data[0] % 16;
    size_t limit = data[1];
    uint32_t split = (uint32_t)data[2] | (uint32_t)data[3] << 8 | (uint32_t)data[4] << 16 |
                     (uint32_t)data[5] << 24;
    const uint8_t *rest = data + 6;
    size_t n = size - 6;
    size_t images_len = n ? split % (n + 1) : 0;
    char images[64], labels[64];
    fuzz_file(0, rest, images_len, images, sizeof images);
    fuzz_file(1, rest + images_len, n - images_len, labels, sizeof labels);
    nn_dataset ds;
    nn_error err = {0};
    int rc = nn_dataset_load_idx(images, labels, classes, limit, &ds, &err);
    if (rc != NN_OK) {
        if (!strstr(err.msg, images) && !strstr(err.msg, labels)) {
            fprintf(stderr, "message names neither file: '%s'\n", err.msg);
            abort();
        }
        return 0;
    }
    /* What loaded must be what the header promised. */
    if (ds.n < 1 || ds.rows < 1 || ds.cols < 1 || (limit && ds.n > limit))
        abort();
    for (size_t i = 0; i < ds.n; i++)
        if (ds.labels[i] >= classes)
            abort();
    size_t index[2] = {0, ds.n - 1};
    size_t floats = (size_t)(ds.rows + 2) * (size_t)(ds.cols + 2);
    float *out = malloc(2 * floats * sizeof *out);
    if (out && floats <= 1 << 20)
        nn_dataset_to_float(&ds, index, 2, 1, -0.1f, 1.175f, out);
    free(out);
    nn_dataset_free(&ds);
    return 0;
}
