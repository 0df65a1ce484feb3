/* Finite-difference checks of every layer's backward pass, every activation, and the Gauss-Newton
 * diagonal that SDLM uses. */
#include <criterion/criterion.h>
#include <stdio.h>

#include "gradcheck.h"

static void expect_gradient(const char *yaml, int batch)
{
    gc_report r = gc_check_gradient(yaml, batch, 7);
    cr_assert_gt(r.checked, 0);
    cr_assert_eq(r.failed, 0, "%zu of %zu values off; worst %s", r.failed, r.checked, r.where);
}

static void expect_hdiag_seeded(const char *yaml, int batch, unsigned seed)
{
    gc_report r = gc_check_hdiag(yaml, batch, seed);
    cr_assert_gt(r.checked, 0);
    cr_assert_eq(r.failed, 0, "%zu of %zu values off; worst %s", r.failed, r.checked, r.where);
}

static void expect_hdiag(const char *yaml, int batch) { expect_hdiag_seeded(yaml, batch, 11); }

#define NET(in, layers) "input: " in "\nlayers:\n" layers

static const char *const conv = NET("[2, 7, 6]", "  - {type: conv, maps: 3, kernel: 3}\n");
/* two output rows per im2col column, over 2 input maps and with the input gradient */
static const char *const conv_pairs =
    NET("[2, 7, 6]", "  - {type: conv, maps: 3, kernel: 2, compute: pairs, activation: tanh}\n");
static const char *const conv_strided =
    NET("[2, 7, 8]", "  - {type: conv, maps: 2, kernel: 3, stride: 2, padding: 1, "
                     "activation: lecun_tanh}\n");
static const char *const sparse =
    NET("[4, 6, 6]", "  - {type: sparse_conv, maps: 3, kernel: 3, table: [[0, 1], [1, 2, 3], "
                     "[3]]}\n");
static const char *const sparse_masked =
    NET("[4, 6, 6]", "  - {type: sparse_conv, maps: 3, kernel: 3, compute: masked, table: "
                     "[[0, 1], [1, 2, 3], [3]]}\n");
static const char *const sparse_thin_masked =
    NET("[4, 5, 6]", "  - {type: sparse_conv, maps: 3, kernel: 2, compute: masked, table: "
                     "[[2], [0, 3], [1]]}\n");
static const char *const subsample = NET("[3, 6, 4]", "  - {type: subsample, size: 2}\n");
static const char *const avgpool = NET("[3, 6, 4]", "  - {type: avgpool, size: 2}\n");
static const char *const avgpool_overlap =
    NET("[2, 7, 5]", "  - {type: avgpool, size: 3, stride: 2, activation: lecun_tanh}\n");
static const char *const maxpool = NET("[3, 6, 4]", "  - {type: maxpool, size: 2}\n");
static const char *const maxpool_overlap =
    NET("[2, 5, 7]", "  - {type: maxpool, size: 3, stride: 2, activation: tanh}\n");
static const char *const dense = NET("[2, 3, 3]", "  - {type: dense, units: 5}\n");
static const char *const rbf_fixed =
    NET("[1, 12, 7]", "  - {type: rbf, units: 10, prototypes: digits_7x12}\n");
static const char *const rbf_trainable =
    NET("[1, 2, 3]", "  - {type: rbf, units: 4, prototypes: random, trainable: true}\n");

Test(gradient, conv) { expect_gradient(conv, 3); }
Test(gradient, conv_stride_padding_tanh) { expect_gradient(conv_strided, 2); }
Test(gradient, conv_pairs) { expect_gradient(conv_pairs, 8); } /* slices of 8 and more */
Test(gradient, sparse_conv) { expect_gradient(sparse, 3); }
Test(gradient, sparse_conv_masked) { expect_gradient(sparse_masked, 3); }
Test(gradient, sparse_conv_masked_thin_table) { expect_gradient(sparse_thin_masked, 3); }
Test(gradient, subsample) { expect_gradient(subsample, 3); }
Test(gradient, dense) { expect_gradient(dense, 4); }
Test(gradient, avgpool) { expect_gradient(avgpool, 3); }
Test(gradient, avgpool_overlapping_tanh) { expect_gradient(avgpool_overlap, 2); }
Test(gradient, maxpool) { expect_gradient(maxpool, 3); }
Test(gradient, maxpool_overlapping_tanh) { expect_gradient(maxpool_overlap, 2); }

/* Pooling inside a network: the gradient must reach the convolution's parameters through it. */
Test(gradient, conv_pool_stacks)
{
    expect_gradient(NET("[1, 8, 8]", "  - {type: conv, maps: 2, kernel: 3, activation: tanh}\n"
                                     "  - {type: maxpool, size: 2}\n"
                                     "  - {type: conv, maps: 2, kernel: 1}\n"
                                     "  - {type: avgpool, size: 3}\n"
                                     "  - {type: dense, units: 3}\n"),
                    2);
}
Test(gradient, rbf_fixed) { expect_gradient(rbf_fixed, 2); }
Test(gradient, rbf_trainable) { expect_gradient(rbf_trainable, 3); }

Test(gradient, concat)
{
    expect_gradient(NET("[2, 5, 5]", "  - {name: a, type: conv, maps: 2, kernel: 3}\n"
                                     "  - {name: b, type: conv, maps: 3, kernel: 3, inputs: "
                                     "input}\n"
                                     "  - {name: j, type: concat, inputs: [a, b]}\n"
                                     "  - {type: dense, units: 3, activation: tanh}\n"),
                    2);
}

Test(gradient, add)
{
    expect_gradient(NET("[2, 5, 5]", "  - {name: a, type: conv, maps: 2, kernel: 3, padding: 1}\n"
                                     "  - {name: j, type: add, inputs: [a, input]}\n"
                                     "  - {type: dense, units: 3}\n"),
                    2);
}

Test(gradient, activations)
{
    static const char *const acts[] = {"identity", "lecun_tanh", "tanh", "sigmoid", "relu",
                                       "softmax"};
    for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++) {
        char yaml[256];
        snprintf(yaml, sizeof yaml,
                 "input: [1, 2, 3]\nlayers:\n  - {type: dense, units: 6, activation: %s}\n",
                 acts[i]);
        gc_report r = gc_check_gradient(yaml, 3, 5);
        cr_assert_eq(r.failed, 0, "activation %s: %zu of %zu off; worst %s", acts[i], r.failed,
                     r.checked, r.where);
    }
}

Test(gradient, lenet5_whole)
{
    static const char *const lenet =
        "input: [1, 32, 32]\nlayers:\n"
        "  - {name: c1, type: conv, maps: 6, kernel: 5, activation: lecun_tanh}\n"
        "  - {name: s2, type: subsample, size: 2, activation: lecun_tanh}\n"
        "  - {name: c3, type: sparse_conv, maps: 16, kernel: 5, activation: lecun_tanh,\n"
        "     table: [[0,1,2], [1,2,3], [2,3,4], [3,4,5], [0,4,5], [0,1,5], [0,1,2,3], "
        "[1,2,3,4],\n"
        "             [2,3,4,5], [0,3,4,5], [0,1,4,5], [0,1,2,5], [0,1,3,4], [1,2,4,5], "
        "[0,2,3,5], [0,1,2,3,4,5]]}\n"
        "  - {name: s4, type: subsample, size: 2, activation: lecun_tanh}\n"
        "  - {name: c5, type: conv, maps: 120, kernel: 5, activation: lecun_tanh}\n"
        "  - {name: f6, type: dense, units: 84, activation: lecun_tanh}\n"
        "  - {name: output, type: dense, units: 10, activation: softmax}\n";
    /* The softmax output keeps the loss near 1, so float32 differences stay meaningful; the RBF
     * output, with distances in the hundreds, is checked on its own above. */
    expect_gradient(lenet, 2);
}

Test(hdiag, conv) { expect_hdiag(conv, 3); }
Test(hdiag, conv_stride_padding_tanh) { expect_hdiag(conv_strided, 2); }
Test(hdiag, conv_pairs) { expect_hdiag(conv_pairs, 8); }
Test(hdiag, sparse_conv) { expect_hdiag(sparse, 3); }
Test(hdiag, sparse_conv_masked) { expect_hdiag(sparse_masked, 3); }
Test(hdiag, sparse_conv_masked_thin_table) { expect_hdiag(sparse_thin_masked, 3); }
Test(hdiag, subsample) { expect_hdiag(subsample, 3); }
Test(hdiag, dense) { expect_hdiag(dense, 4); }
Test(hdiag, avgpool) { expect_hdiag(avgpool, 3); }
Test(hdiag, avgpool_overlapping_tanh) { expect_hdiag(avgpool_overlap, 2); }
Test(hdiag, maxpool) { expect_hdiag(maxpool, 3); }
/* Max is not differentiable where a window's two largest inputs tie; seed 11 draws two inputs
 * 1e-4 apart in one window, closer than any finite-difference step, so this check draws its
 * inputs from another seed. */
Test(hdiag, maxpool_overlapping_tanh) { expect_hdiag_seeded(maxpool_overlap, 2, 12); }
Test(hdiag, rbf_fixed) { expect_hdiag(rbf_fixed, 2); }
Test(hdiag, rbf_trainable) { expect_hdiag(rbf_trainable, 3); }
