/* The shared finite-difference checker: builds a graph from YAML text, draws parameters and
 * inputs, and compares the analytic gradient (or Gauss-Newton diagonal) with central differences
 * of the network's own forward pass. */
#ifndef NN_TEST_GRADCHECK_H
#define NN_TEST_GRADCHECK_H

#include "graph.h"

typedef struct gc_report {
    size_t checked;       /* values compared */
    size_t failed;        /* outside the tolerance */
    double worst;         /* largest |analytic - numeric| / (1e-3 + |numeric|) */
    char where[160];      /* the worst value, for the failure message */
} gc_report;

/* Gradient of L = sum r . y (r random) w.r.t. parameters and input, for a batch. */
gc_report gc_check_gradient(const char *yaml, int batch, unsigned seed);
/* Gauss-Newton diagonal of L = 1/2 sum c y^2 (c random positive) w.r.t. the parameters and input
 * of a one-layer graph: sum c (dy/dw)^2 from finite-difference Jacobians. */
gc_report gc_check_hdiag(const char *yaml, int batch, unsigned seed);
/* Builds a graph (max batch `batch`) or aborts the test with the error. */
nn_graph *gc_build(const char *yaml, int batch);

#endif
