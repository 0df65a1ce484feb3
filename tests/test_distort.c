/* Random affine distortions: reading, ranges, determinism and the resampling itself. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "distort.h"

static nn_dataset tiny(uint8_t *pixels)
{
    /* one 4x5 image: a bright 2x2 square at rows 1-2, columns 1-2, and a dim pixel */
    memset(pixels, 0, 20);
    pixels[1 * 5 + 1] = pixels[1 * 5 + 2] = pixels[2 * 5 + 1] = pixels[2 * 5 + 2] = 255;
    pixels[3 * 5 + 4] = 51;
    static uint8_t label = 0;
    return (nn_dataset){.n = 1, .rows = 4, .cols = 5, .images = pixels, .labels = &label};
}

Test(distort, no_range_is_the_plain_conversion)
{
    uint8_t px[20];
    nn_dataset ds = tiny(px);
    nn_distort_cfg cfg = {.on = 1};
    size_t idx = 0;
    float plain[8 * 9], warped[8 * 9];
    nn_dataset_to_float(&ds, &idx, 1, 2, -0.1f, 1.175f, plain);
    nn_distort_to_float(&cfg, &ds, &idx, 1, 2, -0.1f, 1.175f, 7, 3, warped);
    for (int i = 0; i < 8 * 9; i++)
        cr_assert_float_eq(warped[i], plain[i], 1e-6, "pixel %d: %g vs %g", i, warped[i],
                           plain[i]);
}

Test(distort, draws_stay_in_range_and_depend_only_on_seed_epoch_sample)
{
    nn_distort_cfg cfg = {.on = 1, .translate = 2, .scale = 0.1, .squeeze = 0.2, .shear = 0.3};
    int differ_epoch = 0, differ_seed = 0;
    for (uint64_t s = 0; s < 200; s++) {
        float a[6], b[6], c[6], d[6];
        nn_distort_matrix(&cfg, 1, 4, s, 28, 28, 2, a);
        nn_distort_matrix(&cfg, 1, 4, s, 28, 28, 2, b);
        nn_distort_matrix(&cfg, 1, 5, s, 28, 28, 2, c);
        nn_distort_matrix(&cfg, 2, 4, s, 28, 28, 2, d);
        cr_assert_eq(memcmp(a, b, sizeof a), 0);
        differ_epoch += memcmp(a, c, sizeof a) != 0;
        differ_seed += memcmp(a, d, sizeof a) != 0;
        /* inverse of [s q, s q k; 0, s / q]: a[0] = 1/(s q), a[4] = q/s, a[1] = -k q/s */
        double sq = 1 / a[0], s_over_q = 1 / a[4];
        double scale = sqrt(sq * s_over_q), squeeze = sqrt(sq / s_over_q), shear = -a[1] / a[4];
        cr_assert(fabs(scale - 1) <= 0.1 + 1e-6, "scale %g", scale);
        cr_assert(fabs(squeeze - 1) <= 0.2 + 1e-6, "squeeze %g", squeeze);
        cr_assert(fabs(shear) <= 0.3 + 1e-6, "shear %g", shear);
        cr_assert_eq(a[3], 0.0f);
    }
    cr_assert_eq(differ_epoch, 200);
    cr_assert_eq(differ_seed, 200);
}

/* A translation-only distortion moves the square by whole and fractional pixels; the ink is kept
 * (bilinear weights sum to 1) while it stays inside the frame. */
Test(distort, translation_moves_the_ink_and_keeps_it)
{
    uint8_t px[20];
    nn_dataset ds = tiny(px);
    nn_distort_cfg cfg = {.on = 1, .translate = 1.5};
    size_t idx = 0;
    float plain[8 * 9], moved[8 * 9];
    nn_dataset_to_float(&ds, &idx, 1, 2, 0.0f, 1.0f, plain);
    int moved_some = 0;
    for (uint64_t epoch = 0; epoch < 20; epoch++) {
        nn_distort_to_float(&cfg, &ds, &idx, 1, 2, 0.0f, 1.0f, 9, epoch, moved);
        double ink0 = 0, ink1 = 0, cx0 = 0, cx1 = 0;
        for (int i = 0; i < 8 * 9; i++) {
            ink0 += plain[i], ink1 += moved[i];
            cx0 += plain[i] * (i % 9), cx1 += moved[i] * (i % 9);
        }
        cr_assert_float_eq(ink1, ink0, 1e-4, "epoch %d: ink %g vs %g", (int)epoch, ink1, ink0);
        float m[6];
        nn_distort_matrix(&cfg, 9, epoch, 0, 4, 5, 2, m);
        /* src = dst - pad - t: the ink's centre moves by t = -(m[2] + pad) */
        double tx = -(m[2] + 2);
        cr_assert_float_eq(cx1 / ink1 - cx0 / ink0, tx, 1e-4);
        moved_some += fabs(tx) > 0.1;
    }
    cr_assert_gt(moved_some, 5);
}
