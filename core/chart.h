/* Line charts onto a canvas: several series against a shared x axis, linear or log10 y axis with
 * 1-2-5 ticks, grid lines, axis labels and a legend. Used by `nnrun compare` for test error per
 * epoch. */
#ifndef NN_CHART_H
#define NN_CHART_H

#include "canvas.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nn_series {
    const char *name;    /* legend text */
    int n;
    const double *x, *y; /* n points; non-finite y values are skipped */
} nn_series;

typedef struct nn_chart_spec {
    const char *title, *x_label, *y_label;
    int log_y;           /* y on a log10 scale (values must be > 0) */
    int w, h;            /* pixels; 0 = 960 x 540 */
} nn_chart_spec;

/* Renders into a new canvas (freed by the caller with nn_canvas_free). */
int nn_chart_render(const nn_chart_spec *spec, const nn_series *series, int n_series,
                    nn_canvas *out, nn_error *err);

/* The i-th color of the palette the chart uses, 0xRRGGBB. */
uint32_t nn_chart_color(int i);

#ifdef __cplusplus
}
#endif
#endif
