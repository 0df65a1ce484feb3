/* Training and evaluation: the `data:` and `train:` sections of a config, the epoch loop with
 * its schedule, the SDLM Hessian estimate, checkpoints and the run directory. */
#ifndef NN_TRAIN_H
#define NN_TRAIN_H

#include <signal.h>
#include <stdint.h>

#include "checkpoint.h"
#include "data.h"
#include "distort.h"
#include "graph.h"
#include "loss.h"
#include "optim.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NN_MAX_SCHEDULE 64

typedef struct nn_split_cfg {
    const char *images, *labels; /* NULL when the split is not configured */
    long limit;                  /* 0 = all */
    const nn_node *images_at, *labels_at; /* where the config names them, for messages */
} nn_split_cfg;

typedef struct nn_data_cfg {
    nn_split_cfg train, test;
    long pad;
    float lo, hi;                /* byte 0 -> lo, 255 -> hi */
    long classes;
    int class_names;             /* how classes are shown: NN_CLASS_NAMES_* */
    nn_distort_cfg distort;      /* applied to training batches only */
} nn_data_cfg;

/* data: class_names: index (class k shown as k) or ascii (class k is the character 32 + k). */
enum { NN_CLASS_NAMES_INDEX, NN_CLASS_NAMES_ASCII };

typedef enum nn_schedule_kind {
    NN_SCHED_LIST,   /* [[epochs, lr], ...], or a constant lr when n_schedule is 0 */
    NN_SCHED_STEP,   /* lr * gamma^floor(epoch / every) */
    NN_SCHED_COSINE  /* min_lr + (lr - min_lr) (1 + cos(pi epoch / epochs)) / 2 */
} nn_schedule_kind;

typedef struct nn_train_cfg {
    long epochs, batch;
    nn_loss loss;
    nn_optim_cfg optim;
    nn_schedule_kind schedule;
    int n_schedule;              /* list: entries; 0 = a constant lr */
    long schedule_epochs[NN_MAX_SCHEDULE];
    double schedule_lr[NN_MAX_SCHEDULE];
    double lr;                   /* constant, or the step and cosine schedules' starting rate */
    long step_every;             /* step */
    double step_gamma;           /* step */
    double min_lr;               /* cosine */
    uint64_t seed;
    int shuffle;
    nn_data_cfg data;
} nn_train_cfg;

/* Reads and checks `data:` and `train:` (every key, range and type). */
int nn_train_cfg_read(const nn_node *root, nn_train_cfg *out, nn_error *err);
/* Checks that the loss, optimizer and data agree with the graph: the loss with the output's
 * activation, the output's size with the classes, SDLM with every layer's Hessian pass. */
int nn_train_cfg_check_graph(const nn_train_cfg *cfg, nn_graph *g, nn_error *err);
/* Learning rate for epoch e (0-based): the list's entry (the last one past its end), or the step
 * or cosine rule (cosine over cfg->epochs, so it follows --epochs). */
double nn_train_cfg_lr(const nn_train_cfg *cfg, long epoch);

/* Loads a split (train or test) and checks it against the graph's input shape. */
int nn_data_load_split(const nn_data_cfg *d, const nn_split_cfg *split, const char *split_name,
                       nn_shape input, size_t extra_limit, nn_dataset *out, nn_error *err);

/* Converts samples [index[0..count)) of ds into the graph's input buffer. */
void nn_data_fill_input(const nn_data_cfg *d, const nn_dataset *ds, const size_t *index,
                        size_t count, float *input);

/* Fills one sample x (input-size floats) from an 8-bit grey image, white ink on black: one of
 * the input's size as it is; one of that size less the padding padded like the data; any other
 * size laid out as a character cell (nn_image_fit_cell) and then padded. NN_E_SHAPE when the
 * input has more than one channel, NN_E_DATA for an empty image. */
int nn_data_image_to_input(const nn_data_cfg *d, nn_shape in, const uint8_t *px, int w, int h,
                           float *x, nn_error *err);

typedef struct nn_eval {
    double loss;      /* mean per sample */
    double error;     /* fraction misclassified */
    size_t n;
    uint32_t *confusion; /* optional [classes][classes], rows = true class; caller-owned */
    uint8_t *predicted;  /* optional [n]: the predicted class of each sample; caller-owned */
} nn_eval;

/* Runs the whole dataset through g in batches of the graph's max batch. */
int nn_evaluate(nn_graph *g, const nn_loss *loss, const nn_data_cfg *d, const nn_dataset *ds,
                nn_eval *out, nn_error *err);

typedef struct nn_epoch_report {
    long epoch, epochs;          /* 1-based epoch just finished, of how many */
    double lr;
    double train_loss, train_error; /* over the epoch's samples, as trained */
    double test_loss, test_error;   /* -1 when no test split */
    size_t test_n;                  /* test images */
    double seconds, images_per_s, elapsed;
} nn_epoch_report;

typedef struct nn_train_hooks {
    /* Called with done/total samples of the epoch, about every 1% (may be NULL). */
    void (*progress)(void *user, long epoch, size_t done, size_t total, double loss,
                     double error);
    void (*epoch_done)(void *user, const nn_epoch_report *r);
    void *user;
    volatile sig_atomic_t *stop; /* when set, the run saves a checkpoint after the current step
                                    and returns NN_E_INTERRUPTED */
} nn_train_hooks;

typedef struct nn_trainer nn_trainer;

typedef struct nn_train_opts {
    long epochs;                 /* > 0 overrides train.epochs */
    int have_seed;
    uint64_t seed;               /* overrides train.seed */
    long limit_train, limit_test;/* > 0 keep only the first N samples */
    const char *run_dir;         /* default runs/<name> */
    int resume;                  /* continue from <run_dir>/last.ckpt */
    int threads;                 /* the graph's threads (nn_graph_set_threads); 0 = 1 */
    int test_alongside;          /* each epoch's test pass on a second thread while the next
                                    epoch trains (on a copy of the graph, so with the same
                                    results): 0 = when threads is 1 and the machine has more
                                    than one CPU, 1 = whenever threads is 1, -1 = never */
} nn_train_opts;

/* Reads the config, builds and initialises the graph, loads the data. */
int nn_trainer_new(const nn_doc *doc, const nn_registry *reg, const nn_train_opts *opts,
                   nn_trainer **out, nn_error *err);
void nn_trainer_free(nn_trainer *t);
nn_graph *nn_trainer_graph(nn_trainer *t);
const nn_train_cfg *nn_trainer_cfg(const nn_trainer *t);
const char *nn_trainer_run_dir(const nn_trainer *t);
/* Epochs already done (after a resume). */
long nn_trainer_epoch(const nn_trainer *t);
/* Trains to the last epoch, writing <run_dir>/last.ckpt (and best.ckpt, metrics.csv) after each
 * epoch. */
int nn_trainer_run(nn_trainer *t, const nn_train_hooks *hooks, nn_error *err);
/* Flush-to-zero and denormals-are-zero on the calling thread (as nn_trainer_run does: deep tanh
 * gradients underflow, and denormal arithmetic is tens of times slower); returns the previous
 * setting for nn_denormals_restore. A no-op off x86. */
unsigned nn_denormals_off(void);
void nn_denormals_restore(unsigned old);

/* The final test evaluation of the trained graph. */
int nn_trainer_test(nn_trainer *t, nn_eval *out, nn_error *err);

#ifdef __cplusplus
}
#endif
#endif
