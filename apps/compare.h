/* `nnrun compare` and `nnrun show`: the commands that train or look at several things at once
 * and write pictures. Part of the command line (they print); see apps/nnrun.c. */
#ifndef NNRUN_COMPARE_H
#define NNRUN_COMPARE_H

#include "layer.h"
#include "train.h"

typedef struct compare_opts {
    const char *const *configs;
    int n_configs;
    const char *const *sets;
    int n_sets;
    long epochs, seeds, limit_train, limit_test;
    const char *out_dir;  /* default runs/compare */
    int retrain;          /* train every run again, even one finished with the same settings */
    int test_inline;      /* the trainer's test pass in line (nn_train_opts.test_alongside) */
    const char *command;  /* the command line, for the report */
} compare_opts;

/* Returns the process exit status. */
int nnrun_compare(const nn_registry *reg, const compare_opts *o);

/* nnrun CONFIG show: g holds trained weights. image is a PGM file or "test:N" (the N-th test
 * image, from 0). Writes out_dir/{feature_maps,kernels,prototypes}.png. */
int nnrun_show(nn_graph *g, const nn_train_cfg *cfg, const nn_loss *loss, const char *image,
               int invert, const char *out_dir);

/* One PNG sheet of the misclassified test images (at most max), each labelled
 * "true>predicted". */
int nnrun_misclassified_sheet(const char *path, const nn_dataset *ds, const uint8_t *predicted,
                              size_t max, size_t *written);

/* v rounded to a whole number with thousands separators ("60,850"), for tables. */
void nnrun_fmt_count(double v, char *buf, size_t n);

#endif
