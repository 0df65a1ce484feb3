/* two_branch: a net that is not LeNet, from a YAML string in memory. Two branches see the
 * image at two scales (5x5 convolutions on the full image, 7x7 on a half-size copy), are
 * joined along channels and classified by a two-layer perceptron with a softmax. Trained with
 * SGD and momentum on cross-entropy; then its weights go through a memory buffer into a
 * second net, which must classify every test image the same.
 *
 *   two_branch MNIST_DIR [TRAIN_IMAGES [EPOCHS [TEST_IMAGES]]]   (defaults 2000, 3, 1000) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nn.h>

static const char yaml[] =
    "name: two_branch\n"
    "input: [1, 28, 28]\n"
    "layers:\n"
    "  - {name: a1, type: conv, maps: 6, kernel: 5, activation: relu}\n"         /* 6x24x24 */
    "  - {name: a2, type: subsample, size: 2, activation: tanh}\n"               /* 6x12x12 */
    "  - {name: a3, type: conv, maps: 12, kernel: 5, activation: relu}\n"        /* 12x8x8 */
    "  - {name: b1, type: subsample, size: 2, inputs: input, activation: tanh}\n" /* 1x14x14 */
    "  - {name: b2, type: conv, maps: 4, kernel: 7, activation: relu}\n"         /* 4x8x8 */
    "  - {name: join, type: concat, inputs: [a3, b2]}\n"                         /* 16x8x8 */
    "  - {name: hidden, type: dense, units: 32, activation: relu}\n"
    "  - {name: out, type: dense, units: 10, activation: softmax}\n"
    "data: {range: [0, 1]}\n"
    "train: {batch: 32, loss: cross_entropy, optimizer: {type: sgd, momentum: 0.9}, "
    "lr: 0.05, seed: 3}\n";

static void print_layers(const nn_graph *g)
{
    printf("%-8s %-10s %-16s %-10s %8s\n", "layer", "type", "inputs", "output", "params");
    for (int i = 0; i < nn_graph_layer_count(g); i++) {
        nn_layer_info li;
        nn_graph_layer_info(g, i, &li);
        char ins[64] = "", out[32];
        for (int k = 0; k < li.n_in; k++)
            snprintf(ins + strlen(ins), sizeof ins - strlen(ins), "%s%s", k ? "," : "",
                     li.in_names[k]);
        snprintf(out, sizeof out, "%dx%dx%d", li.out.c, li.out.h, li.out.w);
        printf("%-8s %-10s %-16s %-10s %8zu\n", li.name, li.type, ins, out, li.n_params);
    }
}

static int run(const char *dir, size_t n_train, long epochs, size_t n_test, nn_error *err)
{
    char ip[4096], lp[4096];
    nn_dataset tr = {0}, te = {0};
    nn_net *net = NULL, *copy = NULL;
    float *x = NULL, *tx = NULL;
    int *c1 = NULL, *c2 = NULL;
    uint8_t *yb = NULL, *weights = NULL;
    size_t len = 0, *perm = NULL;
    snprintf(ip, sizeof ip, "%s/train-images-idx3-ubyte", dir);
    snprintf(lp, sizeof lp, "%s/train-labels-idx1-ubyte", dir);
    int rc = nn_dataset_load_idx(ip, lp, 10, n_train, &tr, err);
    snprintf(ip, sizeof ip, "%s/t10k-images-idx3-ubyte", dir);
    snprintf(lp, sizeof lp, "%s/t10k-labels-idx1-ubyte", dir);
    if (!rc)
        rc = nn_dataset_load_idx(ip, lp, 10, n_test, &te, err);
    if (!rc)
        rc = nn_net_from_yaml(yaml, 0, "two_branch.yaml", NULL, &net, err);
    if (rc)
        goto done;
    print_layers(nn_net_graph(net));
    const nn_data_cfg *d = &nn_net_config(net)->data;
    int batch = (int)nn_net_config(net)->batch;
    size_t in = nn_net_input_size(net);
    perm = malloc(sizeof *perm * (tr.n > te.n ? tr.n : te.n));
    x = malloc(sizeof *x * in * batch);
    tx = malloc(sizeof *tx * in * te.n);
    yb = malloc((size_t)batch);
    c1 = malloc(sizeof *c1 * te.n);
    c2 = malloc(sizeof *c2 * te.n);
    if (!perm || !x || !tx || !yb || !c1 || !c2) {
        rc = nn_error_set(err, NN_E_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < te.n; i++)
        perm[i] = i;
    nn_dataset_to_float(&te, perm, te.n, (int)d->pad, d->lo, d->hi, tx);
    nn_rng rng;
    nn_rng_seed(&rng, nn_net_config(net)->seed);
    for (long e = 1; !rc && e <= epochs; e++) {
        for (size_t i = 0; i < tr.n; i++)
            perm[i] = i;
        nn_rng_shuffle(&rng, perm, tr.n);
        double sum = 0, loss, error;
        for (size_t i = 0; !rc && i < tr.n; i += (size_t)batch) {
            int b = (int)(tr.n - i < (size_t)batch ? tr.n - i : (size_t)batch);
            nn_dataset_to_float(&tr, perm + i, (size_t)b, (int)d->pad, d->lo, d->hi, x);
            for (int k = 0; k < b; k++)
                yb[k] = tr.labels[perm[i + k]];
            rc = nn_net_train_step(net, x, yb, b, &loss, err);
            sum += loss * b;
        }
        if (!rc)
            rc = nn_net_evaluate(net, tx, te.labels, te.n, NULL, &error, err);
        if (!rc)
            printf("epoch %ld: train loss %.4f, test error %.2f%% (%zu images)\n", e,
                   sum / tr.n, 100 * error, te.n);
    }
    /* The weights through memory into a second net, initialised with another seed. */
    nn_net_opts other = {.have_seed = 1, .seed = 99};
    if (!rc)
        rc = nn_graph_save_weights(nn_net_graph(net), &weights, &len, err);
    if (!rc)
        rc = nn_net_from_yaml(yaml, 0, "two_branch.yaml", &other, &copy, err);
    if (!rc)
        rc = nn_graph_load_weights(nn_net_graph(copy), weights, len, err);
    if (!rc)
        rc = nn_net_classify(net, tx, (int)te.n, c1, err);
    if (!rc)
        rc = nn_net_classify(copy, tx, (int)te.n, c2, err);
    if (!rc) {
        size_t same = 0;
        for (size_t i = 0; i < te.n; i++)
            same += c1[i] == c2[i];
        printf("weights through a %zu-byte buffer into a second net: %zu of %zu test images "
               "classified the same\n",
               len, same, te.n);
        if (same != te.n)
            rc = nn_error_set(err, NN_E_CHECKPOINT, "the copy classifies differently");
    }
done:
    free(weights);
    free(perm);
    free(x);
    free(tx);
    free(yb);
    free(c1);
    free(c2);
    nn_net_free(net);
    nn_net_free(copy);
    nn_dataset_free(&tr);
    nn_dataset_free(&te);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 5) {
        fprintf(stderr, "usage: two_branch MNIST_DIR [TRAIN_IMAGES [EPOCHS [TEST_IMAGES]]]\n");
        return 2;
    }
    long n_train = argc > 2 ? strtol(argv[2], NULL, 10) : 2000;
    long epochs = argc > 3 ? strtol(argv[3], NULL, 10) : 3;
    long n_test = argc > 4 ? strtol(argv[4], NULL, 10) : 1000;
    if (n_train < 1 || epochs < 1 || n_test < 1) {
        fprintf(stderr, "two_branch: TRAIN_IMAGES, EPOCHS and TEST_IMAGES must be positive integers\n");
        return 2;
    }
    nn_blas_set_threads(1); /* batches of 16-32 images: one BLAS thread is fastest */
    nn_error err = {0};
    if (run(argv[1], (size_t)n_train, epochs, (size_t)n_test, &err)) {
        fprintf(stderr, "two_branch: %s\n", err.msg);
        return 2;
    }
    return 0;
}
