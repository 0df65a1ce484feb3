/* classify: the digit in each image, by a trained net.
 *
 *   classify CONFIG WEIGHTS IMAGE...     e.g. classify configs/lenet5.yaml last.ckpt 7.pgm
 *
 * Images are PNG or PGM (nn_image_load), 28x28 white ink on black as in MNIST, or of
 * the net's input size. */
#include <stdio.h>
#include <stdlib.h>

#include <nn.h>

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: classify CONFIG WEIGHTS IMAGE...\n");
        return 2;
    }
    nn_error err = {0};
    nn_net *net = NULL;
    int n = argc - 3, *classes = malloc(sizeof *classes * n), rc = NN_OK;
    float *x = NULL;
    if (!classes)
        rc = nn_error_set(&err, NN_E_NOMEM, "out of memory");
    if (!rc)
        rc = nn_net_from_file(argv[1], NULL, &net, &err);
    if (!rc)
        rc = nn_graph_load_weights_file(nn_net_graph(net), argv[2], &err);
    size_t in = rc ? 0 : nn_net_input_size(net);
    if (!rc && !(x = malloc(sizeof *x * in * n)))
        rc = nn_error_set(&err, NN_E_NOMEM, "out of memory");
    for (int i = 0; !rc && i < n; i++) {
        nn_image im;
        rc = nn_image_load(argv[3 + i], &im, &err);
        if (!rc) {
            rc = nn_net_image_to_input(net, im.px, im.w, im.h, x + i * in, &err);
            nn_image_free(&im);
            if (rc)
                nn_error_prefix(&err, "%s", argv[3 + i]);
        }
    }
    if (!rc)
        rc = nn_net_classify(net, x, n, classes, &err); /* the whole batch in one pass */
    for (int i = 0; !rc && i < n; i++)
        printf("%s: %d\n", argv[3 + i], classes[i]);
    if (rc)
        fprintf(stderr, "classify: %s\n", err.msg);
    free(x);
    free(classes);
    nn_net_free(net);
    return rc ? 2 : 0;
}
