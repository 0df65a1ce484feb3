#include "chart.h"

#include <math.h>
#include <stdio.h>

static const uint32_t palette[] = {0x1f77b4, 0xd62728, 0x2ca02c, 0xff7f0e, 0x9467bd,
                                   0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf};

uint32_t nn_chart_color(int i) { return palette[i % (int)(sizeof palette / sizeof palette[0])]; }

typedef struct axes {
    int x0, y0, x1, y1; /* plot area in pixels, y0 the top */
    double xmin, xmax, ymin, ymax;
    int log_y;
} axes;

static double fy(const axes *a, double v) { return a->log_y ? log10(v) : v; }

static int px(const axes *a, double x)
{
    return a->x0 + (int)lround((x - a->xmin) / (a->xmax - a->xmin) * (a->x1 - a->x0));
}

static int py(const axes *a, double y)
{
    double lo = fy(a, a->ymin), hi = fy(a, a->ymax);
    return a->y1 - (int)lround((fy(a, y) - lo) / (hi - lo) * (a->y1 - a->y0));
}

static void fmt_tick(double v, char *buf, size_t n)
{
    if (fabs(v - lround(v)) < 1e-9 * (fabs(v) + 1))
        snprintf(buf, n, "%ld", lround(v));
    else
        snprintf(buf, n, "%g", v);
}

static void y_tick(nn_canvas *c, const axes *a, double v, int scale)
{
    int y = py(a, v);
    char buf[32];
    fmt_tick(v, buf, sizeof buf);
    nn_canvas_line(c, a->x0, y, a->x1, y, 1, 0xe4e4e4);
    nn_canvas_line(c, a->x0 - 6, y, a->x0, y, 1, 0x000000);
    nn_canvas_text(c, a->x0 - 10 - nn_canvas_text_width(buf, scale), y - 3 * scale, scale,
                   0x000000, buf);
}

/* Log axis: ticks at 1, 2, 5 times powers of ten, or at every integer multiple when that
 * gives fewer than three. */
static int log_ticks(const axes *a, int every, nn_canvas *c, int scale)
{
    static const double few[] = {1, 2, 5}, all[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    const double *m = every ? all : few;
    int n = every ? 9 : 3, count = 0;
    for (int k = (int)floor(log10(a->ymin)); k <= (int)ceil(log10(a->ymax)); k++)
        for (int s = 0; s < n; s++) {
            double v = m[s] * pow(10, k);
            if (v >= a->ymin && v <= a->ymax) {
                count++;
                if (c)
                    y_tick(c, a, v, scale);
            }
        }
    return count;
}

static void draw_y_ticks(nn_canvas *c, const axes *a, int scale)
{
    if (a->log_y) {
        log_ticks(a, log_ticks(a, 0, NULL, scale) < 3, c, scale);
        return;
    }
    double span = a->ymax - a->ymin, raw = span / 6, mag = pow(10, floor(log10(raw)));
    double step = raw / mag < 1.5 ? mag : raw / mag < 3.5 ? 2 * mag : raw / mag < 7.5 ? 5 * mag
                                                                                    : 10 * mag;
    for (double v = ceil(a->ymin / step) * step; v <= a->ymax + 1e-12; v += step)
        y_tick(c, a, v, scale);
}

static void draw_x_ticks(nn_canvas *c, const axes *a, int scale)
{
    double span = a->xmax - a->xmin;
    double step = span <= 10 ? 1 : ceil(span / 10);
    for (double v = ceil(a->xmin); v <= a->xmax + 1e-9; v += step) {
        int x = px(a, v);
        char buf[32];
        fmt_tick(v, buf, sizeof buf);
        nn_canvas_line(c, x, a->y0, x, a->y1, 1, 0xe4e4e4);
        nn_canvas_line(c, x, a->y1, x, a->y1 + 6, 1, 0x000000);
        nn_canvas_text(c, x - nn_canvas_text_width(buf, scale) / 2, a->y1 + 10, scale, 0x000000,
                       buf);
    }
}

int nn_chart_render(const nn_chart_spec *spec, const nn_series *series, int n_series,
                    nn_canvas *out, nn_error *err)
{
    int w = spec->w > 0 ? spec->w : 960, h = spec->h > 0 ? spec->h : 540, scale = 2;
    axes a = {.x0 = 90, .y0 = 70, .x1 = w - 290, .y1 = h - 60, .log_y = spec->log_y,
              .xmin = INFINITY, .xmax = -INFINITY, .ymin = INFINITY, .ymax = -INFINITY};
    for (int s = 0; s < n_series; s++)
        for (int i = 0; i < series[s].n; i++) {
            double x = series[s].x[i], y = series[s].y[i];
            if (!isfinite(x) || !isfinite(y) || (a.log_y && y <= 0))
                continue;
            a.xmin = fmin(a.xmin, x), a.xmax = fmax(a.xmax, x);
            a.ymin = fmin(a.ymin, y), a.ymax = fmax(a.ymax, y);
        }
    if (!isfinite(a.xmin))
        return nn_error_set(err, NN_E_USAGE, "chart '%s': no points to draw",
                            spec->title ? spec->title : "");
    if (a.xmax <= a.xmin)
        a.xmin -= 0.5, a.xmax += 0.5;
    if (a.log_y) {
        a.ymin /= 1.15, a.ymax *= 1.15;
    } else {
        double pad = a.ymax > a.ymin ? 0.05 * (a.ymax - a.ymin) : 0.5;
        a.ymin -= pad, a.ymax += pad;
    }
    int rc = nn_canvas_new(out, w, h, 0xffffff, err);
    if (rc)
        return rc;
    draw_y_ticks(out, &a, scale);
    draw_x_ticks(out, &a, scale);
    nn_canvas_line(out, a.x0, a.y1, a.x1, a.y1, 2, 0x000000);
    nn_canvas_line(out, a.x0, a.y0, a.x0, a.y1, 2, 0x000000);
    if (spec->title)
        nn_canvas_text(out, 8, 10, scale, 0x000000, spec->title);
    if (spec->x_label)
        nn_canvas_text(out, (a.x0 + a.x1 - nn_canvas_text_width(spec->x_label, scale)) / 2,
                       h - 24, scale, 0x000000, spec->x_label);
    if (spec->y_label)
        nn_canvas_text(out, 8, a.y0 - 30, scale, 0x000000, spec->y_label);
    for (int s = 0; s < n_series; s++) {
        uint32_t col = nn_chart_color(s);
        int have = 0, lx = 0, ly = 0;
        for (int i = 0; i < series[s].n; i++) {
            double x = series[s].x[i], y = series[s].y[i];
            if (!isfinite(x) || !isfinite(y) || (a.log_y && y <= 0))
                continue;
            int X = px(&a, x), Y = py(&a, y);
            if (have)
                nn_canvas_line(out, lx, ly, X, Y, 3, col);
            nn_canvas_rect(out, X - 3, Y - 3, 7, 7, col);
            lx = X, ly = Y, have = 1;
        }
        int ky = a.y0 + 10 + s * 24;
        nn_canvas_line(out, a.x1 + 20, ky + 6, a.x1 + 50, ky + 6, 3, col);
        nn_canvas_text(out, a.x1 + 58, ky, scale, 0x000000, series[s].name);
    }
    return NN_OK;
}
