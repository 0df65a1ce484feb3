/* Random affine distortions of training images, as LeCun et al. (1998) used for their 0.8%
 * result: horizontal and vertical translation, scaling, squeezing (one axis stretched while the
 * other shrinks) and horizontal shearing. Each training sample gets a fresh distortion every
 * epoch, drawn from a generator seeded by (run seed, epoch, sample index) alone, so a run is
 * reproducible and a resumed run distorts exactly as an uninterrupted one. Images stay bytes in
 * memory; a distorted sample is resampled (bilinear) straight into the input buffer. */
#ifndef NN_DISTORT_H
#define NN_DISTORT_H

#include <stdint.h>

#include "config.h"
#include "data.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nn_distort_cfg {
    int on;
    double translate; /* pixels, uniform in +-translate on each axis */
    double scale;     /* both axes by 1 + u, u uniform in +-scale */
    double squeeze;   /* x by 1 + u, y by 1 / (1 + u), u uniform in +-squeeze */
    double shear;     /* x += k (y - centre), k uniform in +-shear */
} nn_distort_cfg;

/* Reads `distort: {translate: 2, scale: 0.1, squeeze: 0.1, shear: 0.2}` from the data section
 * (all keys optional, 0 by default); absent means off. */
int nn_distort_read(const nn_node *data, nn_distort_cfg *out, nn_error *err);

/* The 2x3 map from output (padded input) coordinates to source image coordinates for one
 * sample: src = A (dst - c) + c - pad, c the centre of the padded image. */
void nn_distort_matrix(const nn_distort_cfg *cfg, uint64_t seed, uint64_t epoch, uint64_t sample,
                       int rows, int cols, int pad, float m[6]);

/* Like nn_dataset_to_float, each sample distorted with nn_distort_matrix(seed, epoch,
 * index[s]); pixels mapped from outside the image are background. */
void nn_distort_to_float(const nn_distort_cfg *cfg, const nn_dataset *ds, const size_t *index,
                         size_t count, int pad, float lo, float hi, uint64_t seed, uint64_t epoch,
                         float *out);

#ifdef __cplusplus
}
#endif
#endif
