#include "png_write.h"

#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

/* libpng reports errors through longjmp; the message is kept for the nn_error. */
typedef struct png_ctx {
    jmp_buf jmp;
    char msg[256];
} png_ctx;

static void on_png_error(png_structp png, png_const_charp msg)
{
    png_ctx *c = png_get_error_ptr(png);
    snprintf(c->msg, sizeof c->msg, "%s", msg);
    longjmp(c->jmp, 1);
}

static void on_png_warning(png_structp png, png_const_charp msg) { (void)png, (void)msg; }

static int write_png(const char *path, int w, int h, int channels, const uint8_t *px,
                     nn_error *err)
{
    if (w <= 0 || h <= 0 || w > 1 << 16 || h > 1 << 16)
        return nn_error_set(err, NN_E_USAGE, "%s: bad image size %dx%d", path, w, h);
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return nn_error_set(err, NN_E_IO, "%s: path too long", path);
    FILE *volatile f = fopen(tmp, "wb");
    if (!f)
        return nn_error_set(err, NN_E_IO, "%s: cannot write: %s", tmp, strerror(errno));
    png_ctx ctx = {.msg = ""};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &ctx, on_png_error,
                                              on_png_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_write_struct(&png, NULL);
        fclose(f);
        remove(tmp);
        return nn_error_set(err, NN_E_NOMEM, "out of memory for a PNG");
    }
    if (setjmp(ctx.jmp)) {
        png_destroy_write_struct(&png, &info);
        fclose(f);
        remove(tmp);
        return nn_error_set(err, NN_E_IO, "%s: PNG write failed: %s", path, ctx.msg);
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8,
                 channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < h; y++)
        png_write_row(png, (png_const_bytep)(px + (size_t)y * w * channels));
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    if (fclose(f) != 0) {
        remove(tmp);
        return nn_error_set(err, NN_E_IO, "%s: write failed", tmp);
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        remove(tmp);
        return nn_error_set(err, NN_E_IO, "%s: cannot rename into place: %s", path, strerror(e));
    }
    return NN_OK;
}

int nn_png_write_gray(const char *path, int w, int h, const uint8_t *pixels, nn_error *err)
{
    return write_png(path, w, h, 1, pixels, err);
}

int nn_png_write_rgb(const char *path, int w, int h, const uint8_t *rgb, nn_error *err)
{
    return write_png(path, w, h, 3, rgb, err);
}
