/* sparse_conv: a convolution whose output map o sees only the input maps listed in row o of a
 * connection table (LeNet-5's C3). Parameters exist only for listed pairs. Layout: for m =
 * 0..in_maps-1, for each output map o listing m (ascending o), a k x k kernel; then one bias per
 * output map.
 *
 * Two ways to compute it (key `compute`):
 *  - grouped (default): for each input map one sgemm gives its contribution to every output
 *    map that uses it, so absent pairs cost nothing, in in_maps sgemms of few rows each;
 *  - masked: one sgemm over all pairs with the kernels placed in a full weight matrix whose
 *    absent pairs are zero (and whose gradient is only read for the listed ones): more
 *    multiply-adds (LeNet-5's C3: 96 pairs for 60), but one product instead of many small
 *    ones. docs/performance.md has what each costs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "layer.h"
#include "simd.h"

typedef struct sparse {
    nn_conv_geom g;
    int maps, kk, positions, in_maps;  /* kk = k * k */
    int n_rows;
    int *row_len, *row_start, *rows;   /* table as read: rows[row_start[o] + j] */
    int *row_line, *row_col;           /* positions of the rows, for messages */
    int *users, *user_start, *n_users; /* per input map m: the output maps that use it */
    int max_users;
    size_t n_links;                    /* listed (input, output) pairs */
    int masked;                        /* compute: masked */
} sparse;

enum { COMPUTE_GROUPED, COMPUTE_MASKED };
static const char *const compute_names[] = {"grouped", "masked", NULL};

static const char *const sparse_keys[] = {"maps",    "kernel",  "table",
                                          "stride",  "padding", "compute", NULL};

#define TABLE_MAX_MAP 65535

/* seen: TABLE_MAX_MAP + 1 flags, all clear on entry and on return. */
static int read_row(nn_layer *l, sparse *s, const nn_node *row, int o, unsigned char *seen,
                    nn_error *err)
{
    if (row->kind != NN_NODE_SEQ)
        return nn_node_error(err, NN_E_CONFIG, row,
                             "layer '%s': table row %d: expected a list of input maps, e.g. "
                             "[0, 1, 2]",
                             l->name, o);
    if (row->n == 0)
        return nn_node_error(err, NN_E_CONFIG, row,
                             "layer '%s': table row %d is empty: every output map needs at least "
                             "one input map",
                             l->name, o);
    int rc = NN_OK;
    size_t j = 0;
    for (; j < row->n && rc == NN_OK; j++) {
        char what[128];
        snprintf(what, sizeof what, "layer '%s': table row %d", l->name, o);
        long v;
        rc = nn_node_long(row->items[j], what, 0, TABLE_MAX_MAP, &v, err);
        if (rc == NN_OK && seen[v])
            rc = nn_node_error(err, NN_E_CONFIG, row->items[j],
                               "layer '%s': table row %d: input map %ld is listed twice",
                               l->name, o, v);
        if (rc == NN_OK) {
            seen[v] = 1;
            s->rows[s->row_start[o] + (int)j] = (int)v;
        }
    }
    /* Clear what this row set (j - 1 entries if it failed, all of them if not). */
    size_t set = rc == NN_OK ? j : j - 1;
    for (size_t q = 0; q < set; q++)
        seen[s->rows[s->row_start[o] + (int)q]] = 0;
    return rc;
}

static int read_table(nn_layer *l, sparse *s, const nn_node *t, nn_error *err)
{
    if (t->kind != NN_NODE_SEQ)
        return nn_node_error(err, NN_E_CONFIG, t,
                             "layer '%s': key 'table': expected a list of rows, one per output "
                             "map",
                             l->name);
    if ((int)t->n != s->maps)
        return nn_node_error(err, NN_E_CONFIG, t, "layer '%s': table has %zu rows, expected %d",
                             l->name, t->n, s->maps);
    size_t total = 0;
    for (size_t o = 0; o < t->n; o++)
        total += t->items[o]->kind == NN_NODE_SEQ ? t->items[o]->n : 0;
    s->n_rows = (int)t->n;
    s->row_len = nn_layer_alloc(l, sizeof(int) * t->n);
    s->row_start = nn_layer_alloc(l, sizeof(int) * t->n);
    s->row_line = nn_layer_alloc(l, sizeof(int) * t->n);
    s->row_col = nn_layer_alloc(l, sizeof(int) * t->n);
    s->rows = nn_layer_alloc(l, sizeof(int) * (total + 1));
    if (!s->row_len || !s->row_start || !s->row_line || !s->row_col || !s->rows)
        return nn_error_set(err, NN_E_NOMEM, "out of memory");
    /* Repeats are found with one flag per possible map, so a long row costs its length, not
     * its square. */
    unsigned char *seen = calloc(TABLE_MAX_MAP + 1, 1);
    if (!seen)
        return nn_error_set(err, NN_E_NOMEM, "out of memory");
    int start = 0, rc = NN_OK;
    for (int o = 0; o < s->n_rows && rc == NN_OK; o++) {
        const nn_node *row = t->items[o];
        s->row_start[o] = start;
        s->row_line[o] = row->line;
        s->row_col[o] = row->col;
        rc = read_row(l, s, row, o, seen, err);
        s->row_len[o] = (int)row->n;
        start += (int)row->n;
    }
    free(seen);
    s->n_links = total;
    return rc;
}

static int sparse_configure(nn_layer *l, const nn_node *cfg, nn_error *err)
{
    sparse *s = nn_layer_alloc(l, sizeof *s);
    if (!s)
        return nn_error_set(err, NN_E_NOMEM, "out of memory");
    int rc = nn_conv_geom_read(l, cfg, &s->g, err);
    if (rc)
        return rc;
    s->maps = s->g.maps;
    s->kk = s->g.k * s->g.k;
    char what[160];
    snprintf(what, sizeof what, "layer '%s'", l->name);
    int compute;
    rc = nn_map_choice(cfg, "compute", 0, COMPUTE_GROUPED, compute_names, what, &compute, err);
    s->masked = compute == COMPUTE_MASKED;
    if (rc)
        return rc;
    const nn_node *t = nn_node_get(cfg, "table");
    if (!t)
        return nn_node_error(err, NN_E_CONFIG, cfg, "layer '%s': missing required key 'table'",
                             l->name);
    l->priv = s;
    return read_table(l, s, t, err);
}

/* Inverts the table: for each input map, the output maps that use it, in ascending order. */
static int index_users(nn_layer *l, sparse *s, nn_error *err)
{
    s->n_users = nn_layer_alloc(l, sizeof(int) * s->in_maps);
    s->user_start = nn_layer_alloc(l, sizeof(int) * s->in_maps);
    s->users = nn_layer_alloc(l, sizeof(int) * (s->n_links + 1));
    if (!s->n_users || !s->user_start || !s->users)
        return nn_error_set(err, NN_E_NOMEM, "out of memory");
    /* A counting sort: count each input map's users, place the starts, then fill in output-map
     * order, which keeps each list ascending; linear in maps and links. */
    for (int m = 0; m < s->in_maps; m++)
        s->n_users[m] = 0;
    for (size_t i = 0; i < s->n_links; i++)
        s->n_users[s->rows[i]]++;
    int at = 0;
    for (int m = 0; m < s->in_maps; m++) {
        s->user_start[m] = at;
        at += s->n_users[m];
        if (s->n_users[m] > s->max_users)
            s->max_users = s->n_users[m];
        s->n_users[m] = 0; /* refilled below */
    }
    for (int o = 0; o < s->maps; o++)
        for (int j = 0; j < s->row_len[o]; j++) {
            int m = s->rows[s->row_start[o] + j];
            s->users[s->user_start[m] + s->n_users[m]++] = o;
        }
    return NN_OK;
}

static int sparse_infer(nn_layer *l, nn_layer_plan *plan, nn_error *err)
{
    sparse *s = l->priv;
    nn_shape in = l->in[0];
    for (int o = 0; o < s->maps; o++)
        for (int j = 0; j < s->row_len[o]; j++)
            if (s->rows[s->row_start[o] + j] >= in.c)
                return nn_error_set(err, NN_E_SHAPE,
                                    "%s:%d:%d: layer '%s': table row %d: input map %d does not "
                                    "exist (input '%s' has %d maps, 0..%d)",
                                    l->file, s->row_line[o], s->row_col[o], l->name, o,
                                    s->rows[s->row_start[o] + j], l->in_names[0], in.c,
                                    in.c - 1);
    int rc = nn_conv_geom_infer(l, &s->g, err);
    if (rc)
        return rc;
    s->in_maps = in.c;
    s->positions = s->g.positions;
    rc = index_users(l, s, err);
    if (rc)
        return rc;
    size_t p = (size_t)s->positions, nw = s->n_links * (size_t)s->kk;
    size_t full = (size_t)s->maps * (size_t)s->in_maps * (size_t)s->kk;
    plan->out = (nn_shape){s->maps, s->g.oh, s->g.ow};
    plan->n_params = nw + (size_t)s->maps;
    plan->work_per_sample =
        2 * (size_t)in.c * s->kk * p + (size_t)s->maps * p + (size_t)s->max_users * p;
    /* squared weights (Hessian pass); masked: the full weight matrix and its gradient */
    plan->work_fixed = nw + (s->masked ? 2 * full : 0);
    plan->keep_per_sample = (size_t)in.c * s->kk * p; /* the im2col matrix, for the backward */
    plan->connections = (double)(nw + (size_t)s->maps) * (double)p;
    snprintf(plan->kernel, sizeof plan->kernel, "%dx%d/table", s->g.k, s->g.k);
    return NN_OK;
}

static void sparse_init(const nn_layer *l, float *params, float *fixed, nn_rng *rng)
{
    (void)fixed;
    const sparse *s = l->priv;
    float *w = params;
    for (int m = 0; m < s->in_maps; m++)
        for (int u = 0; u < s->n_users[m]; u++) {
            int o = s->users[s->user_start[m] + u];
            nn_init_lecun_uniform(w, (size_t)s->kk, (size_t)s->row_len[o] * s->kk, rng);
            w += s->kk;
        }
    memset(w, 0, sizeof(float) * s->maps);
}

typedef struct sparse_work {
    float *col, *dcol, *ycm, *tmp, *w2, *wfull, *dwfull;
} sparse_work;

static sparse_work split_work(const sparse *s, float *work, int bp)
{
    sparse_work w;
    size_t colsz = (size_t)s->in_maps * s->kk * bp;
    w.col = work;
    w.dcol = w.col + colsz;
    w.ycm = w.dcol + colsz;
    w.tmp = w.ycm + (size_t)s->maps * bp;
    w.w2 = w.tmp + (size_t)s->max_users * bp;
    w.wfull = w.w2 + s->n_links * (size_t)s->kk;
    w.dwfull = w.wfull + (size_t)s->maps * s->in_maps * s->kk;
    return w;
}

/* The masked way: the listed kernels (in the parameter layout) placed in the full
 * [maps][in_maps * kk] weight matrix, zero for absent pairs. */
static void place_weights(const sparse *s, const float *wts, float *full)
{
    size_t kk = (size_t)s->kk, row = (size_t)s->in_maps * kk;
    memset(full, 0, sizeof(float) * (size_t)s->maps * row);
    for (int m = 0; m < s->in_maps; m++)
        for (int u = 0; u < s->n_users[m]; u++) {
            int o = s->users[s->user_start[m] + u];
            memcpy(full + (size_t)o * row + (size_t)m * kk, wts, sizeof(float) * kk);
            wts += kk;
        }
}

static void masked_forward(const sparse *s, const nn_pass *p, sparse_work *w, int bp)
{
    size_t row = (size_t)s->in_maps * s->kk;
    place_weights(s, p->params, w->wfull);
    nn_sgemm(0, 0, s->maps, bp, (int)row, 1.0f, w->wfull, (int)row, w->col, bp, 0.0f, w->ycm,
             bp);
}

/* dy is in w->ycm (channel-major); weights are the parameters or their squares. */
static void masked_back(const sparse *s, const nn_pass *p, sparse_work *w, int bp,
                        const float *weights)
{
    size_t kk = (size_t)s->kk, row = (size_t)s->in_maps * kk;
    place_weights(s, weights, w->wfull);
    nn_sgemm(0, 1, s->maps, (int)row, bp, 1.0f, w->ycm, bp, w->col, bp, 0.0f, w->dwfull,
             (int)row);
    float *g = p->grads;
    for (int m = 0; m < s->in_maps; m++)
        for (int u = 0; u < s->n_users[m]; u++) {
            const float *src = w->dwfull + (size_t)s->users[s->user_start[m] + u] * row +
                               (size_t)m * kk;
            for (size_t t = 0; t < kk; t++)
                g[t] += src[t];
            g += kk;
        }
    if (p->in_grad[0])
        nn_sgemm(1, 0, (int)row, bp, s->maps, 1.0f, w->wfull, (int)row, w->ycm, bp, 0.0f,
                 w->dcol, bp);
}

static void sparse_forward(const nn_layer *l, const nn_pass *p)
{
    const sparse *s = l->priv;
    int bp = p->batch * s->positions;
    sparse_work w = split_work(s, p->work, bp);
    if (p->keep) /* a training step's backward reuses it */
        w.col = p->keep;
    nn_im2col_batch(&s->g, l->in[0], p->in[0], p->batch, w.col);
    if (s->masked) {
        masked_forward(s, p, &w, bp);
        nn_from_channel_major(w.ycm, p->batch, s->maps, s->positions,
                              p->params + s->n_links * (size_t)s->kk, p->out);
        return;
    }
    memset(w.ycm, 0, sizeof(float) * s->maps * (size_t)bp);
    const float *wm = p->params;
    for (int m = 0; m < s->in_maps; m++) {
        int nu = s->n_users[m];
        if (!nu)
            continue;
        const float *colm = w.col + (size_t)m * s->kk * bp;
        nn_sgemm(0, 0, nu, bp, s->kk, 1.0f, wm, s->kk, colm, bp, 0.0f, w.tmp, bp);
        for (int u = 0; u < nu; u++) {
            float *dst = w.ycm + (size_t)s->users[s->user_start[m] + u] * bp;
            const float *src = w.tmp + (size_t)u * bp;
            for (int i = 0; i < bp; i++)
                dst[i] += src[i];
        }
        wm += (size_t)nu * s->kk;
    }
    nn_from_channel_major(w.ycm, p->batch, s->maps, s->positions, wm, p->out);
}

static void sparse_back(const nn_layer *l, const nn_pass *p, int squared)
{
    const sparse *s = l->priv;
    int bp = p->batch * s->positions;
    size_t nw = s->n_links * (size_t)s->kk;
    sparse_work w = split_work(s, p->work, bp);
    if (p->kept && !squared) /* the forward of this step left its im2col matrix */
        w.col = p->keep;
    else
        nn_im2col_batch(&s->g, l->in[0], p->in[0], p->batch, w.col);
    const float *weights = p->params;
    if (squared) {
        for (size_t i = 0; i < nw; i++)
            w.w2[i] = weights[i] * weights[i];
        for (size_t i = 0; i < (size_t)s->in_maps * s->kk * bp; i++)
            w.col[i] *= w.col[i];
        weights = w.w2;
    }
    nn_to_channel_major(p->out_grad, p->batch, s->maps, s->positions, w.ycm);
    size_t off = 0;
    if (s->masked)
        masked_back(s, p, &w, bp, weights);
    for (int m = 0; m < s->in_maps && !s->masked; m++) {
        int nu = s->n_users[m];
        float *dcolm = w.dcol + (size_t)m * s->kk * bp;
        if (!nu) {
            memset(dcolm, 0, sizeof(float) * s->kk * (size_t)bp);
            continue;
        }
        for (int u = 0; u < nu; u++)
            memcpy(w.tmp + (size_t)u * bp, w.ycm + (size_t)s->users[s->user_start[m] + u] * bp,
                   sizeof(float) * bp);
        const float *colm = w.col + (size_t)m * s->kk * bp;
        nn_sgemm(0, 1, nu, s->kk, bp, 1.0f, w.tmp, bp, colm, bp, 1.0f, p->grads + off, s->kk);
        if (p->in_grad[0])
            nn_sgemm(1, 0, s->kk, bp, nu, 1.0f, weights + off, s->kk, w.tmp, bp, 0.0f, dcolm,
                     bp);
        off += (size_t)nu * s->kk;
    }
    float *db = p->grads + nw;
    for (int o = 0; o < s->maps; o++)
        db[o] += (float)nn_sum(w.ycm + (size_t)o * bp, (size_t)bp);
    if (p->in_grad[0])
        nn_col2im_batch(&s->g, l->in[0], w.dcol, p->batch, p->in_grad[0]);
}

static void sparse_backward(const nn_layer *l, const nn_pass *p) { sparse_back(l, p, 0); }
static void sparse_hdiag(const nn_layer *l, const nn_pass *p) { sparse_back(l, p, 1); }

const nn_layer_ops nn_layer_sparse_conv = {
    .type = "sparse_conv",
    .doc = "convolution through a connection table (LeNet-5 C3): maps, kernel, table, stride, "
           "padding, compute (grouped or masked)",
    .keys = sparse_keys,
    .min_inputs = 1,
    .max_inputs = 1,
    .configure = sparse_configure,
    .infer = sparse_infer,
    .init = sparse_init,
    .forward = sparse_forward,
    .backward = sparse_backward,
    .backward_hdiag = sparse_hdiag,
};
