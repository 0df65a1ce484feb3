/* PGM and PNG images as grey bytes; laying a character image out as a training cell. */
#include "image.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

#include "data.h"

int nn_image_load(const char *path, nn_image *out, nn_error *err)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return nn_error_set(err, NN_E_IO, errno == ENOENT ? "%s: no such file" : "%s: cannot open: %s",
                            path, strerror(errno));
    uint8_t head[8] = {0};
    size_t got = fread(head, 1, sizeof head, f);
    int unreadable = ferror(f);
    fclose(f);
    /* Netpbm files (P1..P7) and what cannot be read (a directory) get the PGM reader's more
     * precise messages. */
    if (unreadable || (got >= 2 && head[0] == 'P' && head[1] >= '1' && head[1] <= '7'))
        return nn_pgm_load(path, &out->w, &out->h, &out->px, err);
    if (got < 8 || png_sig_cmp(head, 0, 8) != 0)
        return nn_error_set(err, NN_E_DATA, "%s: not a PNG or PGM image", path);
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&img, path))
        return nn_error_set(err, NN_E_DATA, "%s: bad PNG: %s", path, img.message);
    if (img.width < 1 || img.height < 1 || img.width > NN_IMAGE_MAX_SIDE ||
        img.height > NN_IMAGE_MAX_SIDE) {
        png_image_free(&img);
        return nn_error_set(err, NN_E_DATA, "%s: image is %ux%u, at most %d a side is read", path,
                            (unsigned)img.width, (unsigned)img.height, NN_IMAGE_MAX_SIDE);
    }
    img.format = PNG_FORMAT_GRAY;
    uint8_t *px = malloc(PNG_IMAGE_SIZE(img));
    if (!px) {
        png_image_free(&img);
        return nn_error_set(err, NN_E_NOMEM, "%s: out of memory", path);
    }
    png_color white = {255, 255, 255};
    if (!png_image_finish_read(&img, &white, px, 0, NULL)) {
        int rc = nn_error_set(err, NN_E_DATA, "%s: bad PNG: %s", path, img.message);
        png_image_free(&img);
        free(px);
        return rc;
    }
    out->w = (int)img.width;
    out->h = (int)img.height;
    out->px = px;
    png_image_free(&img);
    return NN_OK;
}

void nn_image_free(nn_image *im)
{
    if (im) {
        free(im->px);
        im->px = NULL;
        im->w = im->h = 0;
    }
}

int nn_image_save_png(const char *path, int w, int h, const uint8_t *px, nn_error *err)
{
    if (w < 1 || h < 1 || w > 65535 || h > 65535)
        return nn_error_set(err, NN_E_USAGE, "%s: size %dx%d is not writable", path, w, h);
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    img.width = (png_uint_32)w;
    img.height = (png_uint_32)h;
    img.format = PNG_FORMAT_GRAY;
    if (!png_image_write_to_file(&img, path, 0, px, 0, NULL)) {
        int rc = nn_error_set(err, NN_E_IO, "%s: cannot write PNG: %s", path, img.message);
        png_image_free(&img);
        return rc;
    }
    return NN_OK;
}

void nn_image_invert(nn_image *im)
{
    for (size_t i = 0; i < (size_t)im->w * im->h; i++)
        im->px[i] = (uint8_t)(255 - im->px[i]);
}

/* The overlap of [a0, a1) and [b0, b1). */
static double overlap(double a0, double a1, double b0, double b1)
{
    double lo = a0 > b0 ? a0 : b0, hi = a1 < b1 ? a1 : b1;
    return hi > lo ? hi - lo : 0;
}

void nn_image_fit_cell(const nn_image *im, int dw, int dh, uint8_t *dst)
{
    double sx = (double)dw / im->w, sy = (double)dh / im->h;
    double s = sx < sy ? sx : sy;
    double ox = (dw - im->w * s) / 2, oy = (dh - im->h * s) / 2;
    float *cell = calloc((size_t)dw * dh, sizeof *cell);
    memset(dst, 0, (size_t)dw * dh);
    if (!cell)
        return;
    float peak = 0;
    for (int Y = 0; Y < dh; Y++) {
        /* the source rows under this cell row */
        double y0 = (Y - oy) / s, y1 = (Y + 1 - oy) / s;
        int r0 = (int)floor(y0 < 0 ? 0 : y0), r1 = (int)ceil(y1 > im->h ? im->h : y1);
        for (int X = 0; X < dw; X++) {
            double x0 = (X - ox) / s, x1 = (X + 1 - ox) / s;
            int c0 = (int)floor(x0 < 0 ? 0 : x0), c1 = (int)ceil(x1 > im->w ? im->w : x1);
            double sum = 0, area = (x1 - x0) * (y1 - y0);
            for (int r = r0; r < r1; r++) {
                double wy = overlap(y0, y1, r, r + 1);
                for (int c = c0; c < c1; c++)
                    sum += wy * overlap(x0, x1, c, c + 1) * im->px[(size_t)r * im->w + c];
            }
            float v = (float)(sum / area);
            cell[Y * dw + X] = v;
            peak = v > peak ? v : peak;
        }
    }
    /* centre the columns holding ink (at least half the brightest pixel) */
    int left = dw, right = -1;
    for (int X = 0; X < dw; X++)
        for (int Y = 0; Y < dh; Y++)
            if (peak > 0 && cell[Y * dw + X] >= peak / 2) {
                left = X < left ? X : left;
                right = X > right ? X : right;
            }
    int shift = right < 0 ? 0 : (int)lround(dw / 2.0 - (left + right + 1) / 2.0);
    for (int Y = 0; Y < dh; Y++)
        for (int X = 0; X < dw; X++) {
            int from = X - shift;
            float v = from >= 0 && from < dw ? cell[Y * dw + from] : 0;
            dst[Y * dw + X] = (uint8_t)lrintf(v > 255 ? 255 : v);
        }
    free(cell);
}
