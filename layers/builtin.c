/* The built-in layer types: the one list to extend when a layer file is added. */
#include "layer.h"

extern const nn_layer_ops nn_layer_conv, nn_layer_subsample, nn_layer_sparse_conv,
    nn_layer_dense, nn_layer_rbf, nn_layer_concat, nn_layer_add, nn_layer_avgpool, nn_layer_maxpool;

const nn_layer_ops *const nn_builtin_layers[] = {
    &nn_layer_conv,  &nn_layer_subsample, &nn_layer_sparse_conv, &nn_layer_dense,
    &nn_layer_rbf,   &nn_layer_concat,    &nn_layer_add,         &nn_layer_avgpool,
    &nn_layer_maxpool, NULL,
};
