/* Fuzz target: the config loader and everything that reads a config, as `nnrun CONFIG summary`
 * does: YAML parse, an optional --set override, graph build (configure, order, infer, allocate),
 * the data:/train: sections and their checks against the graph. A graph small enough to run in a
 * few microseconds also gets a forward and backward pass, and every document that loads must
 * dump to YAML that loads again (the run directory's config.yaml depends on it).
 *
 * Input: the YAML text; if it holds a NUL byte (which a config file may not), the bytes after the
 * first NUL are a --set assignment applied before the build. */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "graph.h"
#include "train.h"

#define RUN_MAX_VALUES 20000 /* activations + parameters of a graph small enough to run */

static void run_small_graph(nn_graph *g)
{
    size_t values = nn_graph_param_count(g) + nn_shape_size(nn_graph_input_shape(g));
    for (int i = 0; i < nn_graph_layer_count(g); i++) {
        nn_layer_info li;
        nn_graph_layer_info(g, i, &li);
        values += nn_shape_size(li.out);
        if (li.connections > RUN_MAX_VALUES)
            return;
    }
    if (values > RUN_MAX_VALUES)
        return;
    nn_rng rng;
    nn_rng_seed(&rng, 1);
    nn_graph_init(g, &rng);
    float *x = nn_graph_input(g);
    size_t in = nn_shape_size(nn_graph_input_shape(g));
    for (size_t i = 0; i < in; i++)
        x[i] = (float)(i % 7) * 0.25f - 0.5f;
    nn_graph_forward(g, 1);
    size_t out = nn_shape_size(nn_graph_output_shape(g));
    float *dout = calloc(out, sizeof *dout);
    if (!dout)
        return;
    for (size_t i = 0; i < out; i++)
        dout[i] = 1.0f;
    nn_graph_zero_grads(g);
    nn_graph_backward(g, 1, dout, 0);
    if (nn_graph_supports_hdiag(g, NULL) == NN_OK) {
        float *h = calloc(nn_graph_param_count(g) + 1, sizeof *h);
        if (h)
            nn_graph_hdiag(g, 1, dout, dout, 0, h);
        free(h);
    }
    free(dout);
}

static void check_dump_reloads(const nn_doc *doc)
{
    char *text = NULL;
    nn_error err = {0};
    if (nn_doc_dump(doc, &text, &err) != NN_OK) {
        fprintf(stderr, "a loaded document does not dump: %s\n", err.msg);
        abort();
    }
    nn_doc *again = NULL;
    if (nn_doc_load_string(text, strlen(text), "dump.yaml", &again, &err) != NN_OK) {
        fprintf(stderr, "dumped YAML does not load: %s\n--- dump:\n%s\n", err.msg, text);
        abort();
    }
    nn_doc_free(again);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t yaml_len = nul ? (size_t)(nul - data) : size;
    nn_error err = {0};
    nn_doc *doc = NULL;
    int rc = nn_doc_load_string((const char *)data, yaml_len, "fuzz.yaml", &doc, &err);
    fuzz_check_message(rc, err.msg, "fuzz.yaml");
    if (rc != NN_OK)
        return 0;
    if (nul) {
        size_t n = size - yaml_len - 1;
        char *set = malloc(n + 1);
        if (!set)
            abort();
        memcpy(set, nul + 1, n);
        set[n] = '\0';
        rc = nn_doc_set(doc, set, &err);
        fuzz_check_message(rc, err.msg, NULL);
        free(set);
    }
    if (rc == NN_OK)
        check_dump_reloads(doc);
    nn_registry *reg = NULL;
    if (rc == NN_OK && nn_registry_new(&reg, &err) != NN_OK)
        abort();
    nn_train_cfg cfg;
    if (rc == NN_OK) {
        rc = nn_train_cfg_read(nn_doc_root(doc), &cfg, &err);
        fuzz_check_message(rc, err.msg, NULL);
    }
    nn_graph *g = NULL;
    if (rc == NN_OK) {
        rc = nn_graph_build(nn_doc_root(doc), reg, cfg.batch < 4 ? (int)cfg.batch : 4, &g, &err);
        fuzz_check_message(rc, err.msg, NULL);
    }
    if (rc == NN_OK) {
        rc = nn_train_cfg_check_graph(&cfg, g, &err);
        fuzz_check_message(rc, err.msg, NULL);
        run_small_graph(g);
    }
    nn_graph_free(g);
    nn_registry_free(reg);
    nn_doc_free(doc);
    return 0;
}
