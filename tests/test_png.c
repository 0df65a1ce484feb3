/* The PNG writer read back with libpng, the canvas font, and the chart renderer. */
#include <criterion/criterion.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chart.h"
#include "png_write.h"

/* Reads a PNG into 8-bit pixels of the given format (PNG_FORMAT_GRAY or PNG_FORMAT_RGB). */
static uint8_t *read_back(const char *path, unsigned format, int *w, int *h)
{
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    cr_assert(png_image_begin_read_from_file(&img, path), "%s: %s", path, img.message);
    img.format = format;
    uint8_t *px = malloc(PNG_IMAGE_SIZE(img));
    cr_assert(png_image_finish_read(&img, NULL, px, 0, NULL), "%s", img.message);
    *w = (int)img.width;
    *h = (int)img.height;
    return px;
}

Test(png, gray_and_rgb_round_trip)
{
    char path[] = "/tmp/nn_png_XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    uint8_t gray[5 * 3], rgb[4 * 2 * 3];
    for (int i = 0; i < 15; i++)
        gray[i] = (uint8_t)(i * 17);
    for (int i = 0; i < 24; i++)
        rgb[i] = (uint8_t)(255 - i * 10);
    nn_error err = {0};
    int w, h;
    cr_assert_eq(nn_png_write_gray(path, 5, 3, gray, &err), NN_OK, "%s", err.msg);
    uint8_t *back = read_back(path, PNG_FORMAT_GRAY, &w, &h);
    cr_assert(w == 5 && h == 3);
    cr_assert_eq(memcmp(back, gray, sizeof gray), 0);
    free(back);
    cr_assert_eq(nn_png_write_rgb(path, 4, 2, rgb, &err), NN_OK, "%s", err.msg);
    back = read_back(path, PNG_FORMAT_RGB, &w, &h);
    cr_assert(w == 4 && h == 2);
    cr_assert_eq(memcmp(back, rgb, sizeof rgb), 0);
    free(back);
    unlink(path);
    cr_assert_eq(nn_png_write_gray("/nonexistent-dir/x.png", 2, 2, gray, &err), NN_E_IO);
    cr_assert(strstr(err.msg, "/nonexistent-dir/x.png.tmp: cannot write"), "%s", err.msg);
    cr_assert_eq(nn_png_write_gray(path, 0, 2, gray, &err), NN_E_USAGE);
}

static int count_color(const nn_canvas *c, uint32_t color)
{
    int n = 0;
    for (int i = 0; i < c->w * c->h; i++) {
        const uint8_t *p = c->rgb + 3 * i;
        n += ((uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2]) == color;
    }
    return n;
}

Test(canvas, text_draws_glyph_pixels)
{
    nn_canvas c;
    nn_error err = {0};
    cr_assert_eq(nn_canvas_new(&c, 40, 10, 0xffffff, &err), NN_OK);
    /* '1' has 10 ink pixels in the 5x7 font, '-' five, ' ' none */
    cr_assert_eq(nn_canvas_text(&c, 0, 0, 1, 0x000000, "1"), 6);
    cr_assert_eq(count_color(&c, 0x000000), 10);
    nn_canvas_text(&c, 6, 0, 1, 0x000000, "- ");
    cr_assert_eq(count_color(&c, 0x000000), 15);
    cr_assert_eq(nn_canvas_text_width("abc", 2), 36);
    nn_canvas_free(&c);
}

Test(chart, draws_every_series_and_refuses_no_points)
{
    double x[4] = {1, 2, 3, 4}, a[4] = {10, 5, 3, 2}, b[4] = {8, 4, NAN, 1.5};
    nn_series s[2] = {{.name = "a", .n = 4, .x = x, .y = a}, {.name = "b", .n = 4, .x = x, .y = b}};
    nn_chart_spec spec = {.title = "t", .x_label = "epoch", .y_label = "%", .log_y = 1};
    nn_canvas c = {0};
    nn_error err = {0};
    cr_assert_eq(nn_chart_render(&spec, s, 2, &c, &err), NN_OK, "%s", err.msg);
    cr_assert(c.w == 960 && c.h == 540);
    cr_assert_gt(count_color(&c, nn_chart_color(0)), 200);
    cr_assert_gt(count_color(&c, nn_chart_color(1)), 200);
    cr_assert_eq(count_color(&c, nn_chart_color(2)), 0);
    nn_canvas_free(&c);
    double none[1] = {NAN};
    nn_series empty = {.name = "e", .n = 1, .x = x, .y = none};
    cr_assert_eq(nn_chart_render(&spec, &empty, 1, &c, &err), NN_E_USAGE);
    cr_assert(strstr(err.msg, "no points"), "%s", err.msg);
}
