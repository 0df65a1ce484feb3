/* The `data:` and `train:` sections, read and checked before any data is touched. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image.h"
#include "train.h"

static int read_split(const nn_node *data, const char *key, nn_split_cfg *s, nn_error *err)
{
    static const char *const keys[] = {"images", "labels", "limit", NULL};
    memset(s, 0, sizeof *s);
    const nn_node *n = nn_node_get(data, key);
    if (!n)
        return NN_OK;
    char what[32];
    snprintf(what, sizeof what, "data: %s", key);
    int rc = nn_node_check_keys(n, keys, what, err);
    if (!rc)
        rc = nn_map_string(n, "images", 1, NULL, what, &s->images, err);
    if (!rc)
        rc = nn_map_string(n, "labels", 1, NULL, what, &s->labels, err);
    if (!rc)
        rc = nn_map_long(n, "limit", 0, 0, 0, 100000000, what, &s->limit, err);
    s->images_at = nn_node_get(n, "images");
    s->labels_at = nn_node_get(n, "labels");
    return rc;
}

/* Whether msg is about path: it starts with "path:". */
static int names(const char *msg, const char *path)
{
    size_t n = path ? strlen(path) : 0;
    return n && !strncmp(msg, path, n) && msg[n] == ':';
}

/* A data file that cannot be read: the message also names the config key that gave the path
 * (file:line:column) and, for a relative path that is missing, the directory it was taken
 * from, since a run started elsewhere is the usual cause. */
static int split_error(const nn_split_cfg *split, const char *split_name, int rc, nn_error *err)
{
    int labels = names(err->msg, split->labels) && !names(err->msg, split->images);
    const char *path = labels ? split->labels : split->images;
    const nn_node *at = labels ? split->labels_at : split->images_at;
    char msg[sizeof err->msg], note[PATH_MAX + 96] = "", cwd[PATH_MAX];
    snprintf(msg, sizeof msg, "%s", err->msg);
    if (rc == NN_E_IO && path && path[0] != '/' && getcwd(cwd, sizeof cwd))
        snprintf(note, sizeof note, "; a relative path is taken from the current directory, %s",
                 cwd);
    if (!at)
        return nn_error_set(err, (nn_status)rc, "%s%s", msg, note);
    return nn_node_error(err, (nn_status)rc, at, "data: %s: %s: %s%s", split_name,
                         labels ? "labels" : "images", msg, note);
}

static int read_range(const nn_node *data, nn_data_cfg *d, nn_error *err)
{
    d->lo = -0.1f;
    d->hi = 1.175f;
    const nn_node *r = nn_node_get(data, "range");
    if (!r)
        return NN_OK;
    if (r->kind != NN_NODE_SEQ || r->n != 2)
        return nn_node_error(err, NN_E_CONFIG, r,
                             "data: key 'range': expected [background, foreground], e.g. "
                             "[-0.1, 1.175]");
    double v[2];
    for (int i = 0; i < 2; i++) {
        int rc = nn_node_double(r->items[i], "data: key 'range'", -1e6, 1e6, &v[i], err);
        if (rc)
            return rc;
    }
    d->lo = (float)v[0];
    d->hi = (float)v[1];
    return NN_OK;
}

static int read_data(const nn_node *root, nn_data_cfg *d, nn_error *err)
{
    static const char *const keys[] = {"train", "test", "pad", "range", "classes",
                                       "class_names", "distort", NULL};
    static const char *const class_names[] = {"index", "ascii", NULL};
    memset(d, 0, sizeof *d);
    d->classes = 10;
    d->lo = -0.1f;
    d->hi = 1.175f;
    const nn_node *data = nn_node_get(root, "data");
    if (!data)
        return NN_OK;
    int rc = nn_node_check_keys(data, keys, "data", err);
    if (!rc)
        rc = read_split(data, "train", &d->train, err);
    if (!rc)
        rc = read_split(data, "test", &d->test, err);
    if (!rc)
        rc = nn_map_long(data, "pad", 0, 0, 0, 1024, "data", &d->pad, err);
    if (!rc)
        rc = nn_map_long(data, "classes", 0, 10, 2, 256, "data", &d->classes, err);
    if (!rc)
        rc = read_range(data, d, err);
    if (!rc)
        rc = nn_map_choice(data, "class_names", 0, NN_CLASS_NAMES_INDEX, class_names, "data",
                           &d->class_names, err);
    if (!rc && d->class_names == NN_CLASS_NAMES_ASCII && d->classes > 95)
        rc = nn_node_error(err, NN_E_CONFIG, nn_node_get(data, "classes"),
                           "data: class_names 'ascii' names 95 classes, not %ld", d->classes);
    if (!rc)
        rc = nn_distort_read(data, &d->distort, err);
    return rc;
}

/* schedule: {type: step, lr: 0.01, every: 5, gamma: 0.5} or {type: cosine, lr: 0.01,
 * min_lr: 0}. */
static int read_schedule_rule(const nn_node *s, nn_train_cfg *t, nn_error *err)
{
    static const char *const keys[] = {"type", "lr", "every", "gamma", "min_lr", NULL};
    static const char *const kinds[] = {"step", "cosine", NULL};
    static const char *const what = "train: schedule";
    int kind = 0;
    int rc = nn_node_check_keys(s, keys, what, err);
    if (!rc)
        rc = nn_map_choice(s, "type", 1, 0, kinds, what, &kind, err);
    if (!rc)
        rc = nn_map_double(s, "lr", 1, 0.01, 0.0, 100.0, what, &t->lr, err);
    t->schedule = kind == 0 ? NN_SCHED_STEP : NN_SCHED_COSINE;
    const char *other = kind == 0 ? "min_lr" : nn_node_get(s, "every") ? "every" : "gamma";
    if (!rc && nn_node_get(s, other))
        return nn_node_error(err, NN_E_CONFIG, nn_node_get(s, other),
                             "%s: '%s' does not belong to a %s schedule", what, other,
                             kinds[kind]);
    if (!rc && kind == 0)
        rc = nn_map_long(s, "every", 1, 1, 1, 100000, what, &t->step_every, err);
    if (!rc && kind == 0)
        rc = nn_map_double(s, "gamma", 0, 0.1, 0.0, 1.0, what, &t->step_gamma, err);
    if (!rc && kind == 1)
        rc = nn_map_double(s, "min_lr", 0, 0.0, 0.0, t->lr, what, &t->min_lr, err);
    return rc;
}

static int read_schedule(const nn_node *train, nn_train_cfg *t, nn_error *err)
{
    const nn_node *s = nn_node_get(train, "schedule");
    if (!s)
        return NN_OK;
    if (s->kind == NN_NODE_MAP)
        return read_schedule_rule(s, t, err);
    if (s->kind != NN_NODE_SEQ || s->n == 0 || s->n > NN_MAX_SCHEDULE)
        return nn_node_error(err, NN_E_CONFIG, s,
                             "train: key 'schedule': expected a list of [epochs, lr] pairs (1 to "
                             "%d), e.g. [[2, 0.0005], [3, 0.0002]], or {type: step|cosine, lr: "
                             "...}",
                             NN_MAX_SCHEDULE);
    for (size_t i = 0; i < s->n; i++) {
        const nn_node *e = s->items[i];
        if (e->kind != NN_NODE_SEQ || e->n != 2)
            return nn_node_error(err, NN_E_CONFIG, e,
                                 "train: schedule entry %zu: expected [epochs, lr]", i + 1);
        char what[64];
        snprintf(what, sizeof what, "train: schedule entry %zu", i + 1);
        int rc = nn_node_long(e->items[0], what, 1, 100000, &t->schedule_epochs[i], err);
        if (!rc)
            rc = nn_node_double(e->items[1], what, 0.0, 100.0, &t->schedule_lr[i], err);
        if (rc)
            return rc;
    }
    t->n_schedule = (int)s->n;
    return NN_OK;
}

int nn_train_cfg_read(const nn_node *root, nn_train_cfg *t, nn_error *err)
{
    static const char *const keys[] = {"epochs", "batch",    "loss", "optimizer", "schedule",
                                       "lr",     "seed",     "shuffle", NULL};
    memset(t, 0, sizeof *t);
    int rc = read_data(root, &t->data, err);
    if (rc)
        return rc;
    const nn_node *train = nn_node_get(root, "train");
    static const nn_node empty = {.kind = NN_NODE_MAP, .file = "", .line = 0, .col = 0};
    if (!train)
        train = &empty;
    long seed = 1;
    rc = nn_node_check_keys(train, keys, "train", err);
    if (!rc)
        rc = nn_map_long(train, "epochs", 0, 10, 1, 100000, "train", &t->epochs, err);
    if (!rc)
        rc = nn_map_long(train, "batch", 0, 1, 1, 65536, "train", &t->batch, err);
    if (!rc)
        rc = nn_loss_read(train, &t->loss, err);
    if (!rc)
        rc = nn_optim_read(train, &t->optim, err);
    if (!rc)
        rc = nn_map_double(train, "lr", 0, 0.01, 0.0, 100.0, "train", &t->lr, err);
    if (!rc)
        rc = read_schedule(train, t, err);
    if (!rc)
        rc = nn_map_long(train, "seed", 0, 1, 0, 0x7fffffffL, "train", &seed, err);
    if (!rc)
        rc = nn_map_bool(train, "shuffle", 0, 1, "train", &t->shuffle, err);
    if (!rc && nn_node_get(train, "schedule") && nn_node_get(train, "lr"))
        rc = nn_node_error(err, NN_E_CONFIG, nn_node_get(train, "lr"),
                           "train: give either 'lr' or 'schedule', not both");
    t->seed = (uint64_t)seed;
    return rc;
}

double nn_train_cfg_lr(const nn_train_cfg *cfg, long epoch)
{
    if (cfg->schedule == NN_SCHED_STEP)
        return cfg->lr * pow(cfg->step_gamma, (double)(epoch / cfg->step_every));
    if (cfg->schedule == NN_SCHED_COSINE) {
        const double pi = 3.14159265358979323846;
        double f = cfg->epochs > 1 ? (double)epoch / (double)cfg->epochs : 0.0;
        return cfg->min_lr + (cfg->lr - cfg->min_lr) * 0.5 * (1.0 + cos(pi * f));
    }
    if (!cfg->n_schedule)
        return cfg->lr;
    long end = 0;
    for (int i = 0; i < cfg->n_schedule; i++) {
        end += cfg->schedule_epochs[i];
        if (epoch < end)
            return cfg->schedule_lr[i];
    }
    return cfg->schedule_lr[cfg->n_schedule - 1];
}

int nn_data_load_split(const nn_data_cfg *d, const nn_split_cfg *split, const char *split_name,
                       nn_shape input, size_t extra_limit, nn_dataset *out, nn_error *err)
{
    if (!split->images)
        return nn_error_set(err, NN_E_CONFIG,
                            "the config has no data: %s: {images: ..., labels: ...}", split_name);
    size_t limit = (size_t)split->limit;
    if (extra_limit && (!limit || extra_limit < limit))
        limit = extra_limit;
    int rc = nn_dataset_load_idx(split->images, split->labels, (int)d->classes, limit, out, err);
    if (rc == NN_E_IO || rc == NN_E_DATA)
        return split_error(split, split_name, rc, err);
    if (rc)
        return rc;
    long h = out->rows + 2 * d->pad, w = out->cols + 2 * d->pad;
    if (input.c != 1 || input.h != h || input.w != w) {
        nn_error_set(err, NN_E_SHAPE,
                     "%s: images are %dx%d, padded by %ld to 1x%ldx%ld, but the graph's input is "
                     "%dx%dx%d",
                     split->images, out->rows, out->cols, d->pad, h, w, input.c, input.h,
                     input.w);
        nn_dataset_free(out);
        return NN_E_SHAPE;
    }
    return NN_OK;
}

void nn_data_fill_input(const nn_data_cfg *d, const nn_dataset *ds, const size_t *index,
                        size_t count, float *input)
{
    nn_dataset_to_float(ds, index, count, (int)d->pad, d->lo, d->hi, input);
}

int nn_data_image_to_input(const nn_data_cfg *d, nn_shape in, const uint8_t *px, int w, int h,
                           float *x, nn_error *err)
{
    if (!px || !x)
        return nn_error_set(err, NN_E_USAGE, "no image or no input buffer given");
    if (in.c != 1)
        return nn_error_set(err, NN_E_SHAPE, "the input has %d channels; images have one",
                            in.c);
    if (w < 1 || h < 1)
        return nn_error_set(err, NN_E_DATA, "image is %dx%d, expected at least 1x1", w, h);
    int pad = (int)d->pad, cw = in.w - 2 * pad, ch = in.h - 2 * pad;
    nn_data_cfg dd = *d;
    const uint8_t *src = px;
    uint8_t *cell = NULL;
    if (w == in.w && h == in.h) {
        dd.pad = 0;
    } else if (!(w == cw && h == ch)) {
        cell = malloc((size_t)cw * (size_t)ch);
        if (!cell)
            return nn_error_set(err, NN_E_NOMEM, "out of memory");
        nn_image im = {w, h, (uint8_t *)px};
        nn_image_fit_cell(&im, cw, ch, cell);
        src = cell, w = cw, h = ch;
    }
    nn_dataset one = {.n = 1, .rows = h, .cols = w, .images = (uint8_t *)src};
    size_t idx = 0;
    nn_data_fill_input(&dd, &one, &idx, 1, x);
    free(cell);
    return NN_OK;
}
