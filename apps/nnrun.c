/* nnrun: the command-line front end, the only place that prints or exits.
 *   nnrun CONFIG summary|train|test|predict [options] */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"
#include "blas.h"
#include "image.h"
#include "compare.h"
#include "train.h"

enum { EXIT_INPUT = 2, EXIT_NUMERIC = 3, EXIT_STOPPED = 130 };

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

typedef struct options {
    const char *config, *command, *weights, *run_dir, *out_dir;
    const char *sets[64];
    int n_sets;
    const char *files[256];
    int n_files;
    long epochs, threads, limit_train, limit_test, pairs, batch, repeats, slice, seeds;
    int have_seed, resume, invert, profile, test_inline, retrain;
    unsigned long long seed;
} options;

static void usage(FILE *f)
{
    fputs("usage: nnrun CONFIG COMMAND [options]\n"
          "       nnrun compare CONFIG[@KEY=VALUE...]... [options]\n"
          "commands:\n"
          "  summary                 the layer table: shapes, parameters, connections\n"
          "  train                   train; writes runs/<name>/{config.yaml,metrics.csv,"
          "last.ckpt,best.ckpt}\n"
          "  test                    test error and confusion matrix of a checkpoint\n"
          "  predict FILE...         classify PNG or PGM images (the input size or that less the\n"
          "                          padding as they are, any other size scaled and centred as\n"
          "                          a character cell; white on black)\n"
          "  bench                   images/s of the training step and of inference, GFLOP/s\n"
          "  show --weights W IMAGE  feature maps of every layer for one image (PGM or test:N),\n"
          "                          the C1 kernels and the RBF prototypes, as PNG files in\n"
          "                          --out (default runs/<name>/show)\n"
          "  layers                  the layer types this nnrun knows\n"
          "  compare                 train every config with seeds 1..K (default 3); print a\n"
          "                          markdown table; write it, a CSV and a chart of test error\n"
          "                          per epoch to --out (default runs/compare). CONFIG@K=V@...\n"
          "                          is a variant with overrides (give it @name=...)\n"
          "options:\n"
          "  --epochs N              override train.epochs\n"
          "  --seed S                override train.seed\n"
          "  --threads T             threads, each running a slice of every batch (default 1)\n"
          "  --set KEY=VALUE         override any config value, e.g. --set train.batch=16,\n"
          "                          --set layers.c1.maps=8 (repeatable)\n"
          "  --weights FILE          checkpoint for test/predict (default runs/<name>/last.ckpt)\n"
          "  --run-dir DIR           where train writes (default runs/<name>)\n"
          "  --resume                continue training from <run-dir>/last.ckpt\n"
          "  --test-inline           train: run each epoch's test pass before the next epoch\n"
          "                          starts (by default, with --threads 1 on a machine of 2 or\n"
          "                          more CPUs, it runs on a second thread beside the next epoch;\n"
          "                          the same results either way)\n"
          "  --limit-train N, --limit-test N   use only the first N samples\n"
          "  --invert                predict: images are dark ink on a light background\n"
          "  --pairs N               test: confused pairs listed when there are more than 20\n"
          "                          classes (default 40)\n"
          "  --batch B, --repeats R  bench: batch size (default train.batch), timed repeats (5)\n"
          "  --slice S               bench: samples taken through the layers at once (default "
          "16; 0 = all)\n"
          "  --profile               bench: also time every layer's forward and backward\n"

          "  --seeds K               compare: seeds 1..K for every config (default 3)\n"
          "  --retrain               compare: train every run again (by default a run already\n"
          "                          in --out with the same config, epochs, seed and limits is\n"
          "                          reused when finished and resumed when stopped)\n"
          "  --out DIR               compare, show: where to write; test: also write the\n"
          "                          misclassified images to DIR/misclassified.png\n",
          f);
}

static int parse_long(const char *flag, const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < min || v > max) {
        fprintf(stderr, "nnrun: %s: expected an integer between %ld and %ld, got '%s'\n", flag,
                min, max, s);
        return EXIT_INPUT;
    }
    *out = v;
    return 0;
}

static int parse_args(int argc, char **argv, options *o)
{
    memset(o, 0, sizeof *o);
    o->threads = 1;
    o->pairs = 40;
    o->slice = -1;
    o->seeds = 3;
    int pos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int rc = 0, takes = 1;
        long n;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            exit(0);
        } else if (!strcmp(a, "--resume")) {
            o->resume = 1, takes = 0;
        } else if (!strcmp(a, "--invert")) {
            o->invert = 1, takes = 0;
        } else if (!strcmp(a, "--profile")) {
            o->profile = 1, takes = 0;
        } else if (!strcmp(a, "--test-inline")) {
            o->test_inline = 1, takes = 0;
        } else if (!strcmp(a, "--retrain")) {
            o->retrain = 1, takes = 0;
        } else if (a[0] == '-' && a[1] == '-') {
            if (!v) {
                fprintf(stderr, "nnrun: %s needs a value\n", a);
                return EXIT_INPUT;
            }
            if (!strcmp(a, "--epochs"))
                rc = parse_long(a, v, 1, 100000, &o->epochs);
            else if (!strcmp(a, "--threads"))
                rc = parse_long(a, v, 1, 64, &o->threads);
            else if (!strcmp(a, "--batch"))
                rc = parse_long(a, v, 1, 65536, &o->batch);
            else if (!strcmp(a, "--slice"))
                rc = parse_long(a, v, 0, 65536, &o->slice);
            else if (!strcmp(a, "--repeats"))
                rc = parse_long(a, v, 1, NN_BENCH_MAX_REPEATS, &o->repeats);
            else if (!strcmp(a, "--limit-train"))
                rc = parse_long(a, v, 1, 100000000, &o->limit_train);
            else if (!strcmp(a, "--limit-test"))
                rc = parse_long(a, v, 1, 100000000, &o->limit_test);
            else if (!strcmp(a, "--pairs"))
                rc = parse_long(a, v, 0, 65536, &o->pairs);
            else if (!strcmp(a, "--seeds"))
                rc = parse_long(a, v, 1, 1000, &o->seeds);
            else if (!strcmp(a, "--out"))
                o->out_dir = v;
            else if (!strcmp(a, "--seed")) {
                rc = parse_long(a, v, 0, 0x7fffffffL, &n);
                o->seed = (unsigned long long)n;
                o->have_seed = 1;
            } else if (!strcmp(a, "--weights"))
                o->weights = v;
            else if (!strcmp(a, "--run-dir"))
                o->run_dir = v;
            else if (!strcmp(a, "--set")) {
                if (o->n_sets == 64) {
                    fprintf(stderr, "nnrun: at most 64 --set options\n");
                    return EXIT_INPUT;
                }
                o->sets[o->n_sets++] = v;
            } else {
                fprintf(stderr, "nnrun: unknown option '%s' (see nnrun --help)\n", a);
                return EXIT_INPUT;
            }
            if (rc)
                return rc;
            i += takes;
        } else if (pos == 0 && !strcmp(a, "compare")) {
            o->command = a, pos = 2; /* nnrun compare CONFIG...: every other word is a config */
        } else if (pos == 0) {
            o->config = a, pos++;
        } else if (pos == 1) {
            o->command = a, pos++;
        } else if (o->n_files < 256) {
            o->files[o->n_files++] = a;
        } else {
            fprintf(stderr, "nnrun: too many files\n");
            return EXIT_INPUT;
        }
    }
    if (o->config && !strcmp(o->config, "layers") && !o->command) {
        o->command = "layers";
        o->config = NULL;
    }
    if (!o->command) {
        usage(stderr);
        return EXIT_INPUT;
    }
    return 0;
}

static int fail(const nn_error *err)
{
    fprintf(stderr, "nnrun: %s\n", err->msg);
    if (err->code == NN_E_NUMERIC)
        return EXIT_NUMERIC;
    if (err->code == NN_E_INTERRUPTED)
        return EXIT_STOPPED;
    return EXIT_INPUT;
}

static void print_summary(const nn_graph *g)
{
    nn_shape in = nn_graph_input_shape(g);
    printf("%s: input %dx%dx%d, %d layers\n", nn_graph_name(g), in.c, in.h, in.w,
           nn_graph_layer_count(g));
    printf("%-10s %-12s %-10s %-12s %-10s %18s %13s  %s\n", "layer", "type", "input", "kernel",
           "output", "params", "connections", "activation");
    double conn = 0;
    for (int i = 0; i < nn_graph_layer_count(g); i++) {
        nn_layer_info li;
        nn_graph_layer_info(g, i, &li);
        char ins[48], outs[48], params[80], c[32], p[32], f[32];
        snprintf(ins, sizeof ins, "%dx%dx%d", li.in.c, li.in.h, li.in.w);
        snprintf(outs, sizeof outs, "%dx%dx%d", li.out.c, li.out.h, li.out.w);
        nnrun_fmt_count((double)li.n_params, p, sizeof p);
        nnrun_fmt_count((double)li.n_fixed, f, sizeof f);
        if (li.n_fixed)
            snprintf(params, sizeof params, "%s (%s fixed)", p, f);
        else
            snprintf(params, sizeof params, "%s", p);
        nnrun_fmt_count(li.connections, c, sizeof c);
        conn += li.connections;
        printf("%-10s %-12s %-10s %-12s %-10s %18s %13s  %s\n", li.name, li.type, ins,
               li.kernel, outs, params, c, nn_activation_names[li.act]);
    }
    char p[32], f[32], c[32], params[80];
    nnrun_fmt_count((double)nn_graph_param_count(g), p, sizeof p);
    nnrun_fmt_count((double)nn_graph_fixed_count(g), f, sizeof f);
    nnrun_fmt_count(conn, c, sizeof c);
    if (nn_graph_fixed_count(g))
        snprintf(params, sizeof params, "%s (%s fixed)", p, f);
    else
        snprintf(params, sizeof params, "%s", p);
    printf("%-10s %-12s %-10s %-12s %-10s %18s %13s\n", "total", "", "", "", "", params, c);
    printf("trainable parameters: %s; connections (multiply-adds per image): %s\n", p, c);
}

static void on_progress(void *user, long epoch, size_t done, size_t total, double loss,
                        double error)
{
    (void)user;
    fprintf(stderr, "\repoch %ld: %zu/%zu  loss %.4f  train error %.2f%%   ", epoch, done, total,
            loss, 100 * error);
    fflush(stderr);
}

typedef struct train_view {
    int tty;
    nn_epoch_report last; /* the last epoch's report; last.epoch is 0 before one ends */
} train_view;

static void on_epoch(void *user, const nn_epoch_report *r)
{
    train_view *v = user;
    v->last = *r;
    if (v->tty)
        fprintf(stderr, "\r%80s\r", "");
    char test[64] = "";
    if (r->test_error >= 0)
        snprintf(test, sizeof test, "  test loss %.4f  test error %.2f%%", r->test_loss,
                 100 * r->test_error);
    printf("epoch %ld/%ld  lr %g  train loss %.4f  train error %.2f%%%s  %.0f img/s  %.1f s  "
           "(elapsed %.1f s)\n",
           r->epoch, r->epochs, r->lr, r->train_loss, 100 * r->train_error, test,
           r->images_per_s, r->seconds, r->elapsed);
    fflush(stdout);
}

static int cmd_train(const nn_doc *doc, const nn_registry *reg, const options *o)
{
    nn_error err = {0};
    nn_train_opts to = {.epochs = o->epochs,
                        .have_seed = o->have_seed,
                        .seed = o->seed,
                        .limit_train = o->limit_train,
                        .limit_test = o->limit_test,
                        .run_dir = o->run_dir,
                        .resume = o->resume,
                        .threads = (int)o->threads,
                        .test_alongside = o->test_inline ? -1 : 0};
    nn_trainer *t;
    if (nn_trainer_new(doc, reg, &to, &t, &err))
        return fail(&err);
    const nn_train_cfg *c = nn_trainer_cfg(t);
    printf("training %s: %ld epochs, batch %ld, loss %s, optimizer %s, seed %llu, %ld thread%s; "
           "run directory %s\n",
           nn_graph_name(nn_trainer_graph(t)), c->epochs, c->batch, nn_loss_names[c->loss.kind],
           nn_optim_names[c->optim.kind], (unsigned long long)c->seed, o->threads,
           o->threads == 1 ? "" : "s", nn_trainer_run_dir(t));
    if (o->resume)
        printf("resuming after epoch %ld\n", nn_trainer_epoch(t));
    train_view view = {.tty = isatty(STDERR_FILENO)};
    int tty = view.tty;
    nn_train_hooks hooks = {.progress = tty ? on_progress : NULL,
                            .epoch_done = on_epoch,
                            .user = &view,
                            .stop = &stop_requested};
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    int rc = nn_trainer_run(t, &hooks, &err);
    if (rc) {
        if (tty)
            fprintf(stderr, "\n");
        nn_trainer_free(t);
        return fail(&err);
    }
    /* the last epoch's test pass tested the final weights; a resumed run that had nothing left
     * to train tests them now */
    nn_eval ev = {.error = view.last.test_error, .n = view.last.test_n};
    if ((view.last.epoch == c->epochs && ev.error >= 0) || nn_trainer_test(t, &ev, &err) == NN_OK)
        printf("final test error: %.2f%% (%zu images)\n", 100 * ev.error, ev.n);
    printf("weights: %s/last.ckpt\n", nn_trainer_run_dir(t));
    nn_trainer_free(t);
    return 0;
}

/* A graph with weights loaded, for test and predict. */
static int load_model(const nn_doc *doc, const nn_registry *reg, const options *o, int batch,
                      nn_graph **g, nn_train_cfg *cfg, nn_error *err)
{
    int rc = nn_train_cfg_read(nn_doc_root(doc), cfg, err);
    if (!rc)
        rc = nn_graph_build(nn_doc_root(doc), reg, batch, g, err);
    if (!rc && o->threads > 1 && batch > 1)
        rc = nn_graph_set_threads(*g, (int)o->threads, err);
    if (rc)
        return rc;
    char def[PATH_MAX];
    const char *path = o->weights;
    if (!path) {
        snprintf(def, sizeof def, "runs/%s/last.ckpt", nn_graph_name(*g));
        path = def;
    }
    nn_rng rng;
    nn_rng_seed(&rng, cfg->seed);
    nn_graph_init(*g, &rng); /* fills the fixed constants */
    nn_checkpoint_meta m = {.fingerprint = nn_graph_fingerprint(*g),
                            .n_params = nn_graph_param_count(*g)};
    rc = nn_checkpoint_load(path, &m, nn_graph_params(*g), NULL, err);
    if (rc && !o->weights && access(path, F_OK) != 0)
        nn_error_prefix(err, "no weights given (--weights FILE) and none at the default place");
    return rc;
}

/* How class k is shown: its number, or its character in quotes (data: class_names: ascii). */
static const char *class_name(const nn_data_cfg *d, int k, char *buf, size_t n)
{
    if (d->class_names == NN_CLASS_NAMES_ASCII)
        snprintf(buf, n, "'%c'", (char)(32 + k));
    else
        snprintf(buf, n, "%d", k);
    return buf;
}

/* With many classes the matrix is too wide to read: the confused pairs, most frequent first. */
static void print_confused_pairs(const nn_data_cfg *d, const uint32_t *conf, int k, long max)
{
    uint64_t wrong = 0;
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++)
            wrong += i != j ? conf[i * k + j] : 0;
    printf("confused pairs (true -> predicted: count, share of the %llu errors), most frequent "
           "first\n",
           (unsigned long long)wrong);
    int shown = 0;
    uint32_t last = UINT32_MAX;
    while (shown < max) {
        /* the largest count below the last one shown, then every pair with it */
        uint32_t top = 0;
        for (int i = 0; i < k * k; i++)
            if (i / k != i % k && conf[i] < last && conf[i] > top)
                top = conf[i];
        if (!top)
            break;
        for (int i = 0; i < k * k && shown < max; i++)
            if (i / k != i % k && conf[i] == top) {
                char a[16], b[16];
                printf("  %s -> %s: %u (%.1f%%)\n", class_name(d, i / k, a, sizeof a),
                       class_name(d, i % k, b, sizeof b), top, 100.0 * top / (double)wrong);
                shown++;
            }
        last = top;
    }
}

/* With few classes, after the matrix: the off-diagonal cells, largest first (at most 5). */
static void print_most_confused(const uint32_t *conf, int k)
{
    int used[5][2], n = 0;
    printf("most confused (true -> predicted):");
    for (; n < 5; n++) {
        int bi = -1, bj = -1;
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++) {
                if (i == j || !conf[i * k + j])
                    continue;
                int seen = 0;
                for (int u = 0; u < n; u++)
                    seen |= used[u][0] == i && used[u][1] == j;
                if (!seen && (bi < 0 || conf[i * k + j] > conf[bi * k + bj]))
                    bi = i, bj = j;
            }
        if (bi < 0)
            break;
        used[n][0] = bi, used[n][1] = bj;
        printf("%s %d -> %d (%u)", n ? "," : "", bi, bj, conf[bi * k + bj]);
    }
    printf("%s\n", n ? "" : " none");
}

static int cmd_test(const nn_doc *doc, const nn_registry *reg, const options *o)
{
    nn_error err = {0};
    nn_graph *g = NULL;
    nn_train_cfg cfg;
    nn_dataset ds = {0};
    int rc = load_model(doc, reg, o, 100, &g, &cfg, &err);
    if (!rc)
        rc = nn_data_load_split(&cfg.data, &cfg.data.test, "test", nn_graph_input_shape(g),
                                (size_t)o->limit_test, &ds, &err);
    int k = (int)cfg.data.classes;
    uint32_t *conf = rc ? NULL : calloc((size_t)k * k, sizeof *conf);
    uint8_t *pred = rc ? NULL : malloc(ds.n + 1);
    nn_eval ev = {.confusion = conf, .predicted = pred};
    if (!rc && (!conf || !pred))
        rc = nn_error_set(&err, NN_E_NOMEM, "out of memory");
    if (!rc && (int)nn_shape_size(nn_graph_output_shape(g)) != k)
        rc = nn_error_set(&err, NN_E_SHAPE, "the output has %zu units, the data %d classes",
                          nn_shape_size(nn_graph_output_shape(g)), k);
    if (!rc)
        rc = nn_evaluate(g, &cfg.loss, &cfg.data, &ds, &ev, &err);
    if (!rc) {
        printf("test error: %.2f%% (%zu of %zu images misclassified), loss %.4f\n",
               100 * ev.error, (size_t)llround(ev.error * ev.n), ev.n, ev.loss);
        if (k > 20) {
            print_confused_pairs(&cfg.data, conf, k, o->pairs);
        } else {
            printf("confusion (rows: true class, columns: predicted)\n     ");
            for (int j = 0; j < k; j++)
                printf("%6d", j);
            printf("\n");
            for (int i = 0; i < k; i++) {
                printf("%4d ", i);
                for (int j = 0; j < k; j++)
                    printf("%6u", conf[i * k + j]);
                printf("\n");
            }
            print_most_confused(conf, k);
        }
        if (o->out_dir) {
            char path[PATH_MAX];
            size_t shown;
            snprintf(path, sizeof path, "%s/misclassified.png", o->out_dir);
            if (mkdir(o->out_dir, 0777) != 0 && errno != EEXIST) {
                fprintf(stderr, "nnrun: %s: cannot create directory: %s\n", o->out_dir,
                        strerror(errno));
                rc = EXIT_INPUT;
            } else if (nnrun_misclassified_sheet(path, &ds, pred, 400, &shown)) {
                rc = EXIT_INPUT;
            } else {
                printf("misclassified images: %s (%zu shown)\n", path, shown);
            }
            if (rc) {
                free(conf);
                free(pred);
                nn_dataset_free(&ds);
                nn_graph_free(g);
                return rc;
            }
        }
    }
    free(conf);
    free(pred);
    nn_dataset_free(&ds);
    nn_graph_free(g);
    return rc ? fail(&err) : 0;
}

/* An image of the graph's input size, or of that size less the padding, is used as it is (as
 * in training on MNIST); any other size is laid out as a character cell the way the
 * printed-character renderer draws one (nn_image_fit_cell). */
static int predict_one(nn_graph *g, const nn_train_cfg *cfg, const char *file, int invert,
                       nn_error *err)
{
    nn_image im;
    int rc = nn_image_load(file, &im, err);
    if (rc)
        return rc;
    if (invert)
        nn_image_invert(&im);
    rc = nn_data_image_to_input(&cfg->data, nn_graph_input_shape(g), im.px, im.w, im.h,
                                nn_graph_input(g), err);
    nn_image_free(&im);
    if (rc)
        return nn_error_prefix(err, "%s", file), rc;
    const float *y = nn_graph_forward(g, 1);
    int n = (int)nn_shape_size(nn_graph_output_shape(g));
    int best[3] = {-1, -1, -1};
    for (int r = 0; r < 3 && r < n; r++)
        for (int i = 0; i < n; i++) {
            if (i == best[0] || i == best[1])
                continue;
            if (best[r] < 0 ||
                nn_loss_score(&cfg->loss, y, i) > nn_loss_score(&cfg->loss, y, best[r]))
                best[r] = i;
        }
    char name[16];
    if (cfg->data.class_names == NN_CLASS_NAMES_ASCII)
        printf("%s: %c", file, (char)(32 + best[0]));
    else
        printf("%s: %d", file, best[0]);
    const char *unit = cfg->loss.kind == NN_LOSS_CROSS_ENTROPY ? "p" : "distance";
    for (int r = 0; r < 3 && best[r] >= 0; r++)
        printf("%s %s (%s %.3f)", r ? "," : "  top:", class_name(&cfg->data, best[r], name,
               sizeof name), unit, y[best[r]]);
    printf("\n");
    return NN_OK;
}

static int cmd_predict(const nn_doc *doc, const nn_registry *reg, const options *o)
{
    nn_error err = {0};
    if (!o->n_files) {
        fprintf(stderr, "nnrun: predict needs image files (PNG or PGM)\n");
        return EXIT_INPUT;
    }
    nn_graph *g = NULL;
    nn_train_cfg cfg;
    int rc = load_model(doc, reg, o, 1, &g, &cfg, &err);
    int status = 0;
    for (int i = 0; !rc && i < o->n_files; i++)
        if (predict_one(g, &cfg, o->files[i], o->invert, &err)) {
            fprintf(stderr, "nnrun: %s\n", err.msg);
            status = EXIT_INPUT;
        }
    nn_graph_free(g);
    return rc ? fail(&err) : status;
}

/* The per-layer table of bench --profile. GFLOP/s of a layer: its forward counted as 2 FLOPs
 * per connection, its backward as twice that (input and parameter gradients); a thread's peak
 * is the sgemm peak shared out. */
static void print_profile(const nn_bench_result *r, double thread_peak)
{
    printf("\nprofile of the training step, microseconds per image summed over threads "
           "(%.1f in all):\n",
           r->step_us);
    printf("%-12s %-12s %10s %10s %7s %16s\n", "layer", "type", "forward", "backward", "share",
           "GFLOP/s fwd/bwd");
    double layers = 0;
    for (int i = 0; i < r->n_layers; i++) {
        const nn_bench_layer *l = &r->layers[i];
        double t = l->forward_us + l->backward_us;
        layers += t;
        double gf = l->forward_us > 0 ? 2 * l->connections / l->forward_us * 1e-3 : 0;
        double gb = l->backward_us > 0 ? 4 * l->connections / l->backward_us * 1e-3 : 0;
        printf("%-12s %-12s %10.2f %10.2f %6.1f%% %7.1f / %-6.1f\n", l->name, l->type,
               l->forward_us, l->backward_us, r->step_us > 0 ? 100 * t / r->step_us : 0, gf,
               gb);
    }
    double rest = r->step_us - layers;
    printf("%-25s %21.2f %6.1f%%   (data, loss, update, thread sync)\n", "rest of the step",
           rest, r->step_us > 0 ? 100 * rest / r->step_us : 0);
    printf("one thread's sgemm peak: %.1f GFLOP/s\n", thread_peak);
}

static int cmd_bench(const nn_doc *doc, const nn_registry *reg, const options *o)
{
    nn_error err = {0};
    nn_bench_opts bo = {.batch = (int)o->batch, .threads = (int)o->threads,
                        .repeats = (int)o->repeats, .slice = (int)o->slice,
                        .profile = o->profile};
    nn_bench_result r;
    if (nn_bench_run(doc, reg, &bo, &r, &err)) {
        nn_bench_result_free(&r);
        return fail(&err);
    }
    enum { PEAK_N = 512 };
    double peak = nn_bench_sgemm_peak(PEAK_N, r.threads, &err);
    if (peak <= 0) {
        nn_bench_result_free(&r);
        return fail(&err);
    }
    printf("bench: batch %d, %d thread%s, median of %d repeats after a warm-up; "
           "%.0f multiply-adds per image\n",
           r.batch, r.threads, r.threads == 1 ? "" : "s", r.repeats, r.connections);
    printf("train %10.0f images/s  %6.2f GFLOP/s  %5.1f%% of peak  (repeats %.0f..%.0f)  "
           "%.0f images/cpu-s\n",
           r.train_ips, r.train_gflops, 100 * r.train_gflops / peak, r.train_min, r.train_max,
           r.train_cpu);
    printf("infer %10.0f images/s  %6.2f GFLOP/s  %5.1f%% of peak  (repeats %.0f..%.0f)  "
           "%.0f images/cpu-s\n",
           r.infer_ips, r.infer_gflops, 100 * r.infer_gflops / peak, r.infer_min, r.infer_max,
           r.infer_cpu);
    printf("peak  %10.2f GFLOP/s  cblas_sgemm %dx%dx%d on %d thread%s\n", peak, PEAK_N, PEAK_N,
           PEAK_N, r.threads, r.threads == 1 ? "" : "s");
    if (r.n_layers)
        print_profile(&r, peak / r.threads);
    nn_bench_result_free(&r);
    return 0;
}

static int cmd_show(const nn_doc *doc, const nn_registry *reg, const options *o)
{
    if (o->n_files != 1) {
        fprintf(stderr, "nnrun: show needs one image: a PGM file or test:N\n");
        return EXIT_INPUT;
    }
    nn_error err = {0};
    nn_graph *g = NULL;
    nn_train_cfg cfg;
    int rc = load_model(doc, reg, o, 1, &g, &cfg, &err);
    if (rc) {
        nn_graph_free(g);
        return fail(&err);
    }
    char def[PATH_MAX];
    snprintf(def, sizeof def, "runs/%s/show", nn_graph_name(g));
    rc = nnrun_show(g, &cfg, &cfg.loss, o->files[0], o->invert, o->out_dir ? o->out_dir : def);
    nn_graph_free(g);
    return rc;
}

static int cmd_layers(const nn_registry *reg)
{
    for (size_t i = 0; i < nn_registry_count(reg); i++) {
        const nn_layer_ops *ops = nn_registry_at(reg, i);
        printf("%-12s %s\n", ops->type, ops->doc ? ops->doc : "");
    }
    return 0;
}

int main(int argc, char **argv)
{
    options o;
    int rc = parse_args(argc, argv, &o);
    if (rc)
        return rc;
    nn_error err = {0};
    nn_registry *reg = NULL;
    if (nn_registry_new(&reg, &err))
        return fail(&err);
    /* --threads is nnrun's own threads, each running a slice of the batch; OpenBLAS stays
     * single-threaded (whatever OPENBLAS_NUM_THREADS says) so the two never compete. */
    nn_blas_set_threads(1);
    if (!strcmp(o.command, "layers")) {
        rc = cmd_layers(reg);
        nn_registry_free(reg);
        return rc;
    }
    if (!strcmp(o.command, "compare")) {
        char line[2048];
        size_t len = 0;
        for (int i = 0; i < argc && len + 2 < sizeof line; i++) {
            /* quoted where a shell would split or expand it, so the line can be pasted */
            int quote = i && strpbrk(argv[i], " {}[]*?$\"'\\;&|<>()") != NULL;
            len += (size_t)snprintf(line + len, sizeof line - len, "%s%s%s%s", i ? " " : "nnrun",
                                    quote ? "'" : "", i ? argv[i] : "", quote ? "'" : "");
        }
        compare_opts co = {.configs = o.files,
                           .n_configs = o.n_files,
                           .sets = o.sets,
                           .n_sets = o.n_sets,
                           .epochs = o.epochs,
                           .seeds = o.seeds,
                           .limit_train = o.limit_train,
                           .limit_test = o.limit_test,
                           .out_dir = o.out_dir ? o.out_dir : "runs/compare",
                           .retrain = o.retrain,
                           .test_inline = o.test_inline,
                           .command = line};
        rc = nnrun_compare(reg, &co);
        nn_registry_free(reg);
        return rc;
    }
    if (!o.config) {
        usage(stderr);
        nn_registry_free(reg);
        return EXIT_INPUT;
    }
    nn_doc *doc = NULL;
    rc = nn_doc_load_file(o.config, &doc, &err);
    for (int i = 0; !rc && i < o.n_sets; i++)
        rc = nn_doc_set(doc, o.sets[i], &err);
    if (rc) {
        rc = fail(&err);
    } else if (!strcmp(o.command, "summary")) {
        nn_graph *g = NULL;
        nn_train_cfg cfg;
        /* built for train.batch, so that a graph too large for that batch is refused here as
         * `train` would refuse it */
        rc = nn_train_cfg_read(nn_doc_root(doc), &cfg, &err);
        if (!rc)
            rc = nn_graph_build(nn_doc_root(doc), reg, (int)cfg.batch, &g, &err);
        if (!rc)
            rc = nn_train_cfg_check_graph(&cfg, g, &err);
        if (rc)
            rc = fail(&err);
        else
            print_summary(g);
        nn_graph_free(g);
    } else if (!strcmp(o.command, "train")) {
        rc = cmd_train(doc, reg, &o);
    } else if (!strcmp(o.command, "test")) {
        rc = cmd_test(doc, reg, &o);
    } else if (!strcmp(o.command, "predict")) {
        rc = cmd_predict(doc, reg, &o);
    } else if (!strcmp(o.command, "bench")) {
        rc = cmd_bench(doc, reg, &o);
    } else if (!strcmp(o.command, "show")) {
        rc = cmd_show(doc, reg, &o);
    } else {
        fprintf(stderr, "nnrun: unknown command '%s' (summary, train, test, predict, show, bench, "
                        "layers, compare)\n",
                o.command);
        rc = EXIT_INPUT;
    }
    nn_doc_free(doc);
    nn_registry_free(reg);
    return rc;
}
