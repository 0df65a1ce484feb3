/* Fuzz target: the image readers `predict` uses. Each input goes through every reader in the
 * table (the PGM reader, and nn_image_load, which reads PNG and PGM); every reader must either
 * refuse it with a message naming the file or return a w x h image of at most 4096 a side. */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "image.h"

typedef int (*image_reader)(const char *path, int *w, int *h, uint8_t **pixels, nn_error *err);

static int image_load(const char *path, int *w, int *h, uint8_t **pixels, nn_error *err)
{
    nn_image im = {0, 0, NULL};
    int rc = nn_image_load(path, &im, err);
    *w = im.w;
    *h = im.h;
    *pixels = im.px;
    return rc;
}

static const image_reader readers[] = {nn_pgm_load, image_load};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    fuzz_file(0, data, size, path, sizeof path);
    for (size_t r = 0; r < sizeof readers / sizeof readers[0]; r++) {
        int w = -1, h = -1;
        uint8_t *px = NULL;
        nn_error err = {0};
        int rc = readers[r](path, &w, &h, &px, &err);
        fuzz_check_message(rc, err.msg, path);
        if (rc != NN_OK) {
            if (px)
                abort(); /* a refused image leaves nothing to free */
            continue;
        }
        if (w < 1 || h < 1 || w > 4096 || h > 4096 || !px)
            abort();
        /* Every pixel is readable: sum them so the sanitizers see each read. */
        size_t n = (size_t)w * (size_t)h, sum = 0;
        for (size_t i = 0; i < n; i++)
            sum += px[i];
        if (sum > 255 * n)
            abort();
        free(px);
    }
    return 0;
}
