/* nnrun compare CONFIG... : trains every config with every seed, prints one markdown table
 * (parameters, connections, final test error mean +- std over seeds, best epoch, training time,
 * images/s) and writes it with the per-epoch numbers and a chart of test error per epoch. */
#include "compare.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chart.h"
#include "checkpoint.h"
#include "train.h"

typedef struct run_log {
    long epochs;
    double *test_error, *train_error, *seconds, *images; /* [epochs] */
} run_log;

typedef struct config_result {
    char name[128];
    size_t params;
    double connections;
    long epochs, seeds;
    run_log *runs; /* [seeds] */
} config_result;

/* The run's numbers come from its metrics.csv afterwards (read_metrics), which also holds the
 * epochs of a resumed run; this only shows progress. */
static void on_epoch(void *user, const nn_epoch_report *r)
{
    (void)user;
    fprintf(stderr, "  epoch %ld/%ld: train error %.2f%%, test error %.2f%%, %.0f img/s\n",
            r->epoch, r->epochs, 100 * r->train_error, 100 * r->test_error, r->images_per_s);
}

static int mkdir_one(const char *p)
{
    if (mkdir(p, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "nnrun: %s: cannot create directory: %s\n", p, strerror(errno));
        return 2;
    }
    return 0;
}

static int mkdir_parents(const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir_one(buf))
                return 2;
            *p = '/';
        }
    return mkdir_one(buf);
}

static int fail(const nn_error *err)
{
    fprintf(stderr, "nnrun: %s\n", err->msg);
    return err->code == NN_E_NUMERIC ? 3 : err->code == NN_E_INTERRUPTED ? 130 : 2;
}

/* Loads the config with the --set overrides applied, then the argument's own: an argument
 * FILE@KEY=VALUE@KEY=VALUE... is FILE with those overrides, so one compare can hold variants of
 * one file (give each its own @name=...). */
static int load_doc(const compare_opts *o, const char *arg, nn_doc **doc, nn_error *err)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", arg) >= (int)sizeof buf)
        return nn_error_set(err, NN_E_USAGE, "%.64s...: argument too long", arg);
    char *at = strchr(buf, '@');
    if (at)
        *at++ = '\0';
    int rc = nn_doc_load_file(buf, doc, err);
    for (int i = 0; !rc && i < o->n_sets; i++)
        rc = nn_doc_set(*doc, o->sets[i], err);
    while (!rc && at) {
        char *next = strchr(at, '@');
        if (next)
            *next++ = '\0';
        rc = nn_doc_set(*doc, at, err);
        at = next;
    }
    return rc;
}

/* Checks every config before training any, so that a typo in the last one does not cost the
 * time of the first ones. Fills the name, parameters, connections and epochs. */
static int check_config(const nn_registry *reg, const compare_opts *o, const char *path,
                        config_result *r)
{
    nn_error err = {0};
    nn_doc *doc = NULL;
    nn_graph *g = NULL;
    nn_train_cfg cfg;
    int rc = load_doc(o, path, &doc, &err);
    if (!rc)
        rc = nn_graph_build(nn_doc_root(doc), reg, 1, &g, &err);
    if (!rc)
        rc = nn_train_cfg_read(nn_doc_root(doc), &cfg, &err);
    if (!rc)
        rc = nn_train_cfg_check_graph(&cfg, g, &err);
    if (!rc && !cfg.data.test.images)
        rc = nn_error_set(&err, NN_E_CONFIG, "%s: compare needs a data: test: split", path);
    if (!rc && strchr(path, '@') && !strstr(path, "@name="))
        rc = nn_error_set(&err, NN_E_USAGE,
                          "%s: a variant needs its own @name=... (runs and rows are named)",
                          path);
    if (!rc) {
        snprintf(r->name, sizeof r->name, "%s", nn_graph_name(g));
        r->params = nn_graph_param_count(g);
        r->connections = 0;
        for (int i = 0; i < nn_graph_layer_count(g); i++) {
            nn_layer_info li;
            nn_graph_layer_info(g, i, &li);
            r->connections += li.connections;
        }
        r->epochs = o->epochs > 0 ? o->epochs : cfg.epochs;
    }
    nn_graph_free(g);
    nn_doc_free(doc);
    return rc ? fail(&err) : 0;
}

static int alloc_log(run_log *l, long epochs)
{
    l->epochs = epochs;
    l->test_error = calloc((size_t)epochs, sizeof(double));
    l->train_error = calloc((size_t)epochs, sizeof(double));
    l->seconds = calloc((size_t)epochs, sizeof(double));
    l->images = calloc((size_t)epochs, sizeof(double));
    return l->test_error && l->train_error && l->seconds && l->images ? 0 : -1;
}

static void free_log(run_log *l)
{
    free(l->test_error);
    free(l->train_error);
    free(l->seconds);
    free(l->images);
}

/* Writes "# PATH: SIZE bytes, modified SECONDS.NANOSECONDS" for every scalar of the config that
 * names a regular file (the data, a prototype file), so that a changed file makes another key. */
static void put_file_ids(FILE *f, const nn_node *n)
{
    struct stat st;
    if (n->kind == NN_NODE_SCALAR) {
        if (n->value[0] && stat(n->value, &st) == 0 && S_ISREG(st.st_mode))
            fprintf(f, "# %s: %lld bytes, modified %lld.%09ld\n", n->value, (long long)st.st_size,
                    (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
        return;
    }
    for (size_t i = 0; i < n->n; i++)
        put_file_ids(f, n->items[i]);
}

/* What a run was trained with: the config as resolved (overrides applied), epochs, seed and
 * limits, and the size and time of every file the config names. A run directory whose
 * compare.key holds the same text is that run. */
static char *run_key(const nn_doc *doc, const compare_opts *o, long epochs, long seed,
                     nn_error *err)
{
    char *yaml = NULL, *key = NULL;
    size_t len = 0;
    if (nn_doc_dump(doc, &yaml, err))
        return NULL;
    FILE *f = open_memstream(&key, &len);
    if (f) {
        fprintf(f,
                "# nnrun compare: this run's settings; a compare given the same ones reuses the "
                "run\nepochs: %ld\nseed: %ld\nlimit_train: %ld\nlimit_test: %ld\n",
                epochs, seed, o->limit_train, o->limit_test);
        put_file_ids(f, nn_doc_root(doc));
        fprintf(f, "---\n%s", yaml);
        int failed = ferror(f);
        if (fclose(f) || failed) {
            free(key);
            key = NULL;
        }
    }
    if (!key)
        nn_error_set(err, NN_E_NOMEM, "out of memory");
    free(yaml);
    return key;
}

/* Whether DIR/compare.key holds key (a missing or unreadable file does not). */
static int same_key(const char *key_path, const char *key)
{
    uint8_t *old = NULL;
    size_t len = 0;
    nn_error ignored = {0};
    int same = nn_read_file_maybe_gz(key_path, (size_t)16 << 20, &old, &len, &ignored) == NN_OK &&
               len == strlen(key) && !memcmp(old, key, len);
    free(old);
    return same;
}

/* Fills l from DIR/metrics.csv; returns how many of epochs 1.. l->epochs it holds in a row. */
static long read_metrics(const char *dir, run_log *l)
{
    char path[4200], line[512];
    snprintf(path, sizeof path, "%s/metrics.csv", dir);
    FILE *f = fopen(path, "r");
    long have = 0;
    while (f && fgets(line, sizeof line, f)) {
        long e;
        double lr, train_loss, train_error, test_loss, test_error, secs, ips;
        if (sscanf(line, "%ld,%lf,%lf,%lf,%lf,%lf,%lf,%lf", &e, &lr, &train_loss, &train_error,
                   &test_loss, &test_error, &secs, &ips) != 8 ||
            e != have + 1 || e > l->epochs)
            continue;
        l->test_error[have] = test_error;
        l->train_error[have] = train_error;
        l->seconds[have] = secs;
        l->images[have] = secs * ips;
        have++;
    }
    if (f)
        fclose(f);
    return have;
}

static int write_text(const char *path, const char *text)
{
    nn_error err = {0};
    return nn_write_file_atomic(path, text, strlen(text), &err) ? fail(&err) : 0;
}

/* Trains seed `seed_index + 1` of a config into OUT/NAME/seed<k>, unless that directory holds
 * the same run: finished, it is reused; stopped part-way (a last.ckpt), it is resumed. Then
 * reads the run's metrics. */
static int train_one(const nn_registry *reg, const compare_opts *o, const char *path,
                     config_result *r, long seed_index)
{
    nn_error err = {0};
    nn_doc *doc = NULL;
    if (load_doc(o, path, &doc, &err))
        return fail(&err);
    char dir[4096], key_path[4200], ckpt[4200];
    snprintf(dir, sizeof dir, "%s/%s/seed%ld", o->out_dir, r->name, seed_index + 1);
    snprintf(key_path, sizeof key_path, "%s/compare.key", dir);
    snprintf(ckpt, sizeof ckpt, "%s/last.ckpt", dir);
    run_log *l = &r->runs[seed_index];
    char *key = run_key(doc, o, r->epochs, seed_index + 1, &err);
    int same = key && !o->retrain && same_key(key_path, key);
    if (!key) {
        nn_doc_free(doc);
        return fail(&err);
    }
    long done = same ? read_metrics(dir, l) : 0;
    if (same && done == r->epochs) {
        fprintf(stderr, "%s, seed %ld (%s): finished before, reused\n", r->name, seed_index + 1,
                dir);
        free(key);
        nn_doc_free(doc);
        return 0;
    }
    nn_train_opts to = {.epochs = r->epochs,
                        .have_seed = 1,
                        .seed = (uint64_t)(seed_index + 1),
                        .limit_train = o->limit_train,
                        .limit_test = o->limit_test,
                        .run_dir = dir,
                        .resume = same && access(ckpt, F_OK) == 0,
                        .test_alongside = o->test_inline ? -1 : 0};
    nn_trainer *t = NULL;
    int rc = mkdir_parents(dir);
    if (!rc)
        rc = write_text(key_path, key);
    free(key);
    if (rc) {
        nn_doc_free(doc);
        return rc;
    }
    rc = nn_trainer_new(doc, reg, &to, &t, &err);
    nn_doc_free(doc);
    if (rc)
        return fail(&err);
    if (to.resume)
        fprintf(stderr, "%s, seed %ld (%s): resumed after epoch %ld\n", r->name,
                seed_index + 1, dir, nn_trainer_epoch(t));
    else
        fprintf(stderr, "%s, seed %ld (%s)\n", r->name, seed_index + 1, dir);
    nn_train_hooks hooks = {.epoch_done = on_epoch};
    rc = nn_trainer_run(t, &hooks, &err);
    nn_trainer_free(t);
    if (rc)
        return fail(&err);
    done = read_metrics(dir, l);
    if (done != r->epochs) {
        fprintf(stderr, "nnrun: %s/metrics.csv: %ld of %ld epochs after the run\n", dir, done,
                r->epochs);
        return 2;
    }
    return 0;
}

/* ---- summary statistics -------------------------------------------------------------------- */

static double mean_at(const config_result *r, long e)
{
    double s = 0;
    for (long k = 0; k < r->seeds; k++)
        s += r->runs[k].test_error[e];
    return s / (double)r->seeds;
}

static double std_at(const config_result *r, long e)
{
    if (r->seeds < 2)
        return 0;
    double m = mean_at(r, e), s = 0;
    for (long k = 0; k < r->seeds; k++)
        s += (r->runs[k].test_error[e] - m) * (r->runs[k].test_error[e] - m);
    return sqrt(s / (double)(r->seeds - 1));
}

static long best_epoch(const config_result *r)
{
    long best = 0;
    for (long e = 1; e < r->epochs; e++)
        if (mean_at(r, e) < mean_at(r, best))
            best = e;
    return best;
}

static void totals(const config_result *r, double *seconds, double *ips)
{
    double s = 0, n = 0;
    for (long k = 0; k < r->seeds; k++)
        for (long e = 0; e < r->epochs; e++)
            s += r->runs[k].seconds[e], n += r->runs[k].images[e];
    *seconds = s / (double)r->seeds;
    *ips = s > 0 ? n / s : 0;
}

void nnrun_fmt_count(double v, char *buf, size_t n)
{
    char raw[64];
    snprintf(raw, sizeof raw, "%.0f", v);
    size_t len = strlen(raw), j = 0;
    for (size_t i = 0; i < len && j + 2 < n; i++) {
        if (i && (len - i) % 3 == 0)
            buf[j++] = ',';
        buf[j++] = raw[i];
    }
    buf[j] = '\0';
}

static void write_table(FILE *f, const config_result *res, int n, long seeds)
{
    fprintf(f, "| config | parameters | connections | test error (%ld seed%s) | best epoch | "
               "train time | images/s |\n",
            seeds, seeds == 1 ? "" : "s");
    fprintf(f, "|---|---:|---:|---:|---:|---:|---:|\n");
    for (int i = 0; i < n; i++) {
        const config_result *r = &res[i];
        long last = r->epochs - 1, best = best_epoch(r);
        double secs, ips;
        totals(r, &secs, &ips);
        char p[32], c[32];
        nnrun_fmt_count((double)r->params, p, sizeof p);
        nnrun_fmt_count(r->connections, c, sizeof c);
        fprintf(f, "| %s | %s | %s | %.2f%% ± %.2f | %ld (%.2f%%) | %.0f s | %.0f |\n", r->name,
                p, c, 100 * mean_at(r, last), 100 * std_at(r, last), best + 1,
                100 * mean_at(r, best), secs, ips);
    }
}

static int write_csv(const char *path, const config_result *res, int n)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "nnrun: %s: cannot write: %s\n", path, strerror(errno));
        return 2;
    }
    fprintf(f, "config,seed,epoch,train_error,test_error,seconds,images_per_s\n");
    for (int i = 0; i < n; i++)
        for (long k = 0; k < res[i].seeds; k++)
            for (long e = 0; e < res[i].epochs; e++) {
                const run_log *l = &res[i].runs[k];
                fprintf(f, "%s,%ld,%ld,%.6f,%.6f,%.3f,%.1f\n", res[i].name, k + 1, e + 1,
                        l->train_error[e], l->test_error[e], l->seconds[e],
                        l->seconds[e] > 0 ? l->images[e] / l->seconds[e] : 0);
            }
    return fclose(f) == 0 ? 0 : 2;
}

/* Mean test error (%) per epoch of every config on one chart, log scale. */
static int write_chart(const char *path, const config_result *res, int n, long seeds)
{
    nn_series *series = calloc((size_t)n, sizeof *series);
    double **xs = calloc((size_t)n, sizeof *xs), **ys = calloc((size_t)n, sizeof *ys);
    int rc = series && xs && ys ? 0 : 2;
    for (int i = 0; !rc && i < n; i++) {
        xs[i] = malloc(sizeof(double) * (size_t)res[i].epochs);
        ys[i] = malloc(sizeof(double) * (size_t)res[i].epochs);
        if (!xs[i] || !ys[i]) {
            rc = 2;
            break;
        }
        for (long e = 0; e < res[i].epochs; e++) {
            xs[i][e] = (double)(e + 1);
            ys[i][e] = 100 * mean_at(&res[i], e);
        }
        series[i] = (nn_series){.name = res[i].name, .n = (int)res[i].epochs, .x = xs[i],
                                .y = ys[i]};
    }
    char title[128];
    snprintf(title, sizeof title, "test error per epoch, mean of %ld seed%s", seeds,
             seeds == 1 ? "" : "s");
    nn_chart_spec spec = {.title = title, .x_label = "epoch", .y_label = "test error (%, log)",
                          .log_y = 1};
    nn_canvas c = {0};
    nn_error err = {0};
    if (!rc && (nn_chart_render(&spec, series, n, &c, &err) ||
                nn_canvas_write_png(&c, path, &err)))
        rc = fail(&err);
    nn_canvas_free(&c);
    for (int i = 0; xs && ys && i < n; i++) {
        free(xs[i]);
        free(ys[i]);
    }
    free(xs);
    free(ys);
    free(series);
    return rc;
}

int nnrun_compare(const nn_registry *reg, const compare_opts *o)
{
    if (o->n_configs < 1) {
        fprintf(stderr, "nnrun: compare needs one or more configs\n");
        return 2;
    }
    config_result *res = calloc((size_t)o->n_configs, sizeof *res);
    if (!res)
        return 2;
    int rc = 0;
    for (int i = 0; !rc && i < o->n_configs; i++) {
        rc = check_config(reg, o, o->configs[i], &res[i]);
        for (int j = 0; !rc && j < i; j++)
            if (!strcmp(res[i].name, res[j].name)) {
                fprintf(stderr, "nnrun: %s and %s are both named '%s' (their runs would share "
                                "a directory; rename one with @name=...)\n",
                        o->configs[j], o->configs[i], res[i].name);
                rc = 2;
            }
        res[i].seeds = o->seeds;
        res[i].runs = rc ? NULL : calloc((size_t)o->seeds, sizeof(run_log));
        for (long k = 0; !rc && k < o->seeds; k++)
            if (!res[i].runs || alloc_log(&res[i].runs[k], res[i].epochs))
                rc = 2;
    }
    if (!rc)
        rc = mkdir_parents(o->out_dir);
    for (int i = 0; !rc && i < o->n_configs; i++)
        for (long k = 0; !rc && k < o->seeds; k++)
            rc = train_one(reg, o, o->configs[i], &res[i], k);
    char path[4200];
    if (!rc) {
        write_table(stdout, res, o->n_configs, o->seeds);
        snprintf(path, sizeof path, "%s/compare.md", o->out_dir);
        FILE *f = fopen(path, "w");
        if (f) {
            fprintf(f, "`%s`\n\n", o->command);
            write_table(f, res, o->n_configs, o->seeds);
            fprintf(f, "\n![test error per epoch](test_error.png)\n");
            rc = fclose(f) == 0 ? 0 : 2;
        } else {
            fprintf(stderr, "nnrun: %s: cannot write: %s\n", path, strerror(errno));
            rc = 2;
        }
    }
    if (!rc) {
        snprintf(path, sizeof path, "%s/compare.csv", o->out_dir);
        rc = write_csv(path, res, o->n_configs);
    }
    if (!rc) {
        snprintf(path, sizeof path, "%s/test_error.png", o->out_dir);
        rc = write_chart(path, res, o->n_configs, o->seeds);
    }
    if (!rc)
        printf("\nwritten: %s/compare.md, compare.csv, test_error.png; runs in %s/<name>/seed<k>\n",
               o->out_dir, o->out_dir);
    for (int i = 0; i < o->n_configs; i++) {
        for (long k = 0; res[i].runs && k < res[i].seeds; k++)
            free_log(&res[i].runs[k]);
        free(res[i].runs);
    }
    free(res);
    return rc;
}
