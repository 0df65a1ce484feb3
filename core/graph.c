#include "graph.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pool.h"

#define MAX_LAYERS 1024
#define MAX_DIM 65536

typedef struct node {
    nn_layer layer;
    nn_activation act;
    int in_idx[NN_MAX_INPUTS]; /* producers, as indices into nodes; -1 = the graph input */
    int needs_back;            /* has parameters, or feeds from a layer that has */
    uint64_t cfg_hash;         /* the layer's own settings, for the fingerprint */
    size_t param_off, fixed_off, out_size;
    size_t keep_off;           /* its keep area in a thread's scratch, per sample of keep_cap */
    nn_layer_plan plan;
    float *out, *grad;
} node;

struct nn_graph {
    nn_arena *arena;
    const char *name;
    nn_shape input;
    int n;
    node *nodes; /* in execution order; the last is the output */
    size_t n_params, n_fixed, work_fixed, work_per_sample;
    size_t keep_per_sample;  /* all layers' keep areas together */
    int keep_batch;          /* the batch the graph was built for: training steps up to it keep */
    int keep_cap;            /* samples of a thread's slice the keep areas hold */
    int slice_cap;           /* samples of a thread's slice the scratch holds */
    float *params, *grads, *fixed;
    int max_batch;
    float *x, *xgrad, *work; /* sized for max_batch (malloc'd, so they can be resized) */
    int want_input_grad;
    float *acts;      /* every node's out and grad buffers, one allocation */
    /* Threads: a batch is cut into `threads` contiguous slices, one per thread; each runs every
     * layer on its slice with its own scratch (work + part * work_stride) and, for parts > 0,
     * its own parameter-gradient sums (tgrads), added to the first part's in part order after
     * the pass, so results depend on the thread count but never on timing. */
    int threads;
    int slice;        /* largest run of samples taken through the layers at once (0 = all) */
    nn_pool *pool;
    size_t work_stride;
    float *tgrads;    /* (threads - 1) * n_params, kept zero between passes */
    /* nn_graph_set_profile: seconds per [part][node][forward, backward], or NULL */
    double *prof;
};

static const char *const top_keys[] = {"name", "input", "layers", "data", "train", NULL};
static const char *const common_keys[] = {"name", "type", "inputs", "activation"};
enum { N_COMMON = sizeof common_keys / sizeof common_keys[0] };

static uint64_t fnv(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

/* Hashes a layer's settings (every key but its name and inputs, which do not change what its
 * weights mean), so a checkpoint cannot be loaded into a layer with, say, another table. Map
 * entries are summed, so the order of keys does not matter. */
static uint64_t hash_node(uint64_t h, const nn_node *n, int top)
{
    h = fnv(h, &n->kind, sizeof n->kind);
    if (n->kind == NN_NODE_SCALAR)
        return fnv(h, n->value, strlen(n->value) + 1);
    uint64_t sum = 0;
    for (size_t i = 0; i < n->n; i++) {
        if (!n->keys) {
            h = hash_node(h, n->items[i], 0);
            continue;
        }
        const char *k = n->keys[i]->value;
        /* `compute` picks how a layer computes, never what (conv's plain or pairs,
         * sparse_conv's grouped or masked): weights move between its values */
        if (top && (!strcmp(k, "name") || !strcmp(k, "inputs") || !strcmp(k, "compute")))
            continue;
        sum += hash_node(fnv(0xcbf29ce484222325ULL, k, strlen(k) + 1), n->items[i], 0);
    }
    return fnv(h, &sum, sizeof sum);
}

/* ---- build: declared layers ------------------------------------------------------------- */

typedef struct decl {
    const nn_node *cfg;
    const nn_layer_ops *ops;
    const char *name;
    nn_activation act;
    int n_in;
    int in[NN_MAX_INPUTS]; /* declaration indices; -1 = graph input */
    int state;             /* DFS: 0 new, 1 on stack, 2 done */
    int exec;              /* position in execution order */
} decl;

static int find_type(const nn_registry *reg, const nn_node *at, const char *what,
                     const char *type, const nn_layer_ops **out, nn_error *err)
{
    *out = nn_registry_find(reg, type);
    if (*out)
        return NN_OK;
    char known[512] = "";
    const char *best = NULL;
    int best_d = 3;
    for (size_t i = 0; i < nn_registry_count(reg); i++) {
        const char *t = nn_registry_at(reg, i)->type;
        int d = nn_edit_distance(type, t);
        if (d < best_d) {
            best_d = d;
            best = t;
        }
        if (strlen(known) + strlen(t) + 3 < sizeof known) {
            if (i)
                strcat(known, ", ");
            strcat(known, t);
        }
    }
    if (best)
        return nn_node_error(err, NN_E_CONFIG, at,
                             "%s: unknown layer type '%s' (did you mean '%s'?; known types: %s)",
                             what, type, best, known);
    return nn_node_error(err, NN_E_CONFIG, at, "%s: unknown layer type '%s' (known types: %s)",
                         what, type, known);
}

static int check_layer_keys(const nn_node *cfg, const nn_layer_ops *ops, const char *what,
                            nn_error *err)
{
    const char *allowed[N_COMMON + 64];
    size_t n = 0;
    for (size_t i = 0; i < N_COMMON; i++)
        allowed[n++] = common_keys[i];
    for (size_t i = 0; ops->keys && ops->keys[i] && n < N_COMMON + 63; i++)
        allowed[n++] = ops->keys[i];
    allowed[n] = NULL;
    return nn_node_check_keys(cfg, allowed, what, err);
}

static int read_decl(nn_graph *g, const nn_registry *reg, const nn_node *cfg, int index,
                     decl *d, nn_error *err)
{
    char what[160];
    snprintf(what, sizeof what, "layer %d", index + 1);
    if (cfg->kind != NN_NODE_MAP)
        return nn_node_error(err, NN_E_CONFIG, cfg,
                             "%s: expected a mapping with 'type:' (e.g. {name: c1, type: conv})",
                             what);
    const char *name = NULL, *type = NULL;
    int rc = nn_map_string(cfg, "name", 0, NULL, what, &name, err);
    if (!rc && name) {
        if (!*name)
            return nn_node_error(err, NN_E_CONFIG, nn_node_get(cfg, "name"),
                                 "%s: key 'name': must not be empty", what);
        if (strcmp(name, "input") == 0)
            return nn_node_error(err, NN_E_CONFIG, nn_node_get(cfg, "name"),
                                 "%s: the name 'input' is reserved for the graph's input", what);
        snprintf(what, sizeof what, "layer '%s'", name);
    }
    if (!rc)
        rc = nn_map_string(cfg, "type", 1, NULL, what, &type, err);
    if (!rc)
        rc = find_type(reg, nn_node_get(cfg, "type"), what, type, &d->ops, err);
    if (!rc)
        rc = check_layer_keys(cfg, d->ops, what, err);
    int act = 0;
    if (!rc)
        rc = nn_map_choice(cfg, "activation", 0, NN_ACT_IDENTITY, nn_activation_names, what,
                           &act, err);
    if (rc)
        return rc;
    char auto_name[64];
    if (!name) {
        snprintf(auto_name, sizeof auto_name, "%s%d", type, index + 1);
        name = auto_name;
    }
    d->name = nn_arena_strdup(g->arena, name);
    d->cfg = cfg;
    d->act = (nn_activation)act;
    return d->name ? NN_OK : nn_error_set(err, NN_E_NOMEM, "out of memory");
}

static int resolve_input(const decl *ds, int n, int self, const nn_node *at, int *out,
                         nn_error *err)
{
    const char *want = at->value;
    if (at->kind != NN_NODE_SCALAR)
        return nn_node_error(err, NN_E_CONFIG, at,
                             "layer '%s': key 'inputs': expected a layer name or a list of names",
                             ds[self].name);
    if (strcmp(want, "input") == 0) {
        *out = -1;
        return NN_OK;
    }
    for (int i = 0; i < n; i++)
        if (strcmp(ds[i].name, want) == 0) {
            *out = i;
            return NN_OK;
        }
    const char *best = NULL;
    int best_d = 3;
    for (int i = 0; i < n; i++) {
        int d = nn_edit_distance(want, ds[i].name);
        if (d < best_d) {
            best_d = d;
            best = ds[i].name;
        }
    }
    if (best)
        return nn_node_error(err, NN_E_CONFIG, at,
                             "layer '%s': input '%s' is not a layer (did you mean '%s'?)",
                             ds[self].name, want, best);
    return nn_node_error(err, NN_E_CONFIG, at,
                         "layer '%s': input '%s' is not a layer (nor 'input', the graph's input)",
                         ds[self].name, want);
}

static int read_inputs(decl *ds, int n, int self, nn_error *err)
{
    decl *d = &ds[self];
    const nn_node *in = nn_node_get(d->cfg, "inputs");
    if (!in) {
        d->n_in = 1;
        d->in[0] = self - 1; /* the previous layer, or the graph input for the first */
    } else if (in->kind == NN_NODE_SEQ) {
        if (in->n == 0 || in->n > NN_MAX_INPUTS)
            return nn_node_error(err, NN_E_CONFIG, in,
                                 "layer '%s': key 'inputs': expected 1 to %d names, got %zu",
                                 d->name, NN_MAX_INPUTS, in->n);
        d->n_in = (int)in->n;
        for (size_t i = 0; i < in->n; i++) {
            int rc = resolve_input(ds, n, self, in->items[i], &d->in[i], err);
            if (rc)
                return rc;
        }
    } else {
        d->n_in = 1;
        int rc = resolve_input(ds, n, self, in, &d->in[0], err);
        if (rc)
            return rc;
    }
    if (d->n_in < d->ops->min_inputs || d->n_in > d->ops->max_inputs) {
        const nn_node *at = in ? in : d->cfg;
        if (d->ops->min_inputs == d->ops->max_inputs)
            return nn_node_error(err, NN_E_CONFIG, at,
                                 "layer '%s': type %s takes %d input%s, got %d", d->name,
                                 d->ops->type, d->ops->min_inputs,
                                 d->ops->min_inputs == 1 ? "" : "s", d->n_in);
        return nn_node_error(err, NN_E_CONFIG, at,
                             "layer '%s': type %s takes %d to %d inputs, got %d", d->name,
                             d->ops->type, d->ops->min_inputs, d->ops->max_inputs, d->n_in);
    }
    return NN_OK;
}

/* Depth-first from the output: post-order is an execution order; a back edge is a cycle. */
static int order_visit(decl *ds, int i, int *order, int *n_order, int *stack, int depth,
                       nn_error *err)
{
    decl *d = &ds[i];
    if (d->state == 2)
        return NN_OK;
    stack[depth] = i;
    if (d->state == 1) {
        char path[512] = "";
        int start = depth - 1;
        while (start > 0 && stack[start] != i)
            start--;
        for (int k = start; k <= depth; k++) {
            size_t len = strlen(path);
            snprintf(path + len, sizeof path - len, "%s%s", k > start ? " <- " : "",
                     ds[stack[k]].name);
        }
        return nn_node_error(err, NN_E_CONFIG, d->cfg, "layer '%s': inputs form a cycle: %s",
                             d->name, path);
    }
    d->state = 1;
    for (int k = 0; k < d->n_in; k++)
        if (d->in[k] >= 0) {
            int rc = order_visit(ds, d->in[k], order, n_order, stack, depth + 1, err);
            if (rc)
                return rc;
        }
    d->state = 2;
    d->exec = *n_order;
    order[(*n_order)++] = i;
    return NN_OK;
}

/* ---- build: shapes and memory ------------------------------------------------------------ */

static int read_input_shape(const nn_node *root, nn_shape *s, nn_error *err)
{
    const nn_node *in = nn_node_get(root, "input");
    if (!in)
        return nn_node_error(err, NN_E_CONFIG, root,
                             "missing required key 'input' (e.g. input: [1, 32, 32])");
    if (in->kind != NN_NODE_SEQ || in->n != 3)
        return nn_node_error(err, NN_E_CONFIG, in,
                             "key 'input': expected [channels, height, width], e.g. [1, 32, 32]");
    long v[3];
    static const char *const part[] = {"channels", "height", "width"};
    for (int i = 0; i < 3; i++) {
        char what[64];
        snprintf(what, sizeof what, "key 'input': %s", part[i]);
        int rc = nn_node_long(in->items[i], what, 1, MAX_DIM, &v[i], err);
        if (rc)
            return rc;
    }
    size_t values = (size_t)v[0] * (size_t)v[1] * (size_t)v[2];
    if (values > NN_MAX_VALUES)
        return nn_node_error(err, NN_E_CONFIG, in,
                             "key 'input': %ldx%ldx%ld is %zu values, at most %zu", v[0], v[1],
                             v[2], values, (size_t)NN_MAX_VALUES);
    s->c = (int)v[0];
    s->h = (int)v[1];
    s->w = (int)v[2];
    return NN_OK;
}

static void fill_layer_inputs(nn_graph *g, node *nd, const decl *ds, const decl *d)
{
    nn_layer *l = &nd->layer;
    l->n_in = d->n_in;
    for (int k = 0; k < d->n_in; k++) {
        if (d->in[k] < 0) {
            nd->in_idx[k] = -1;
            l->in[k] = g->input;
            l->in_names[k] = "input";
        } else {
            const decl *src = &ds[d->in[k]];
            nd->in_idx[k] = src->exec;
            l->in[k] = g->nodes[src->exec].layer.out;
            l->in_names[k] = src->name;
        }
    }
}

static int infer_node(nn_graph *g, node *nd, nn_error *err)
{
    nn_layer *l = &nd->layer;
    nn_layer_plan *plan = &nd->plan;
    memset(plan, 0, sizeof *plan);
    int rc = l->ops->infer(l, plan, err);
    if (rc)
        return rc;
    if (plan->out.c < 1 || plan->out.h < 1 || plan->out.w < 1 || plan->out.c > 1 << 20 ||
        plan->out.h > MAX_DIM || plan->out.w > MAX_DIM ||
        nn_shape_size(plan->out) > NN_MAX_VALUES)
        return nn_layer_error(l, err, NN_E_SHAPE, "output shape %dx%dx%d is out of range",
                              plan->out.c, plan->out.h, plan->out.w);
    if (nd->act == NN_ACT_SOFTMAX && (plan->out.h != 1 || plan->out.w != 1))
        return nn_layer_error(l, err, NN_E_SHAPE,
                              "softmax needs a vector output (Cx1x1), got %dx%dx%d", plan->out.c,
                              plan->out.h, plan->out.w);
    l->out = plan->out;
    l->n_params = plan->n_params;
    l->n_fixed = plan->n_fixed;
    nd->out_size = nn_shape_size(plan->out);
    nd->param_off = g->n_params;
    nd->fixed_off = g->n_fixed;
    g->n_params += plan->n_params;
    g->n_fixed += plan->n_fixed;
    if (plan->work_fixed > g->work_fixed)
        g->work_fixed = plan->work_fixed;
    if (plan->work_per_sample > g->work_per_sample)
        g->work_per_sample = plan->work_per_sample;
    nd->keep_off = g->keep_per_sample;
    g->keep_per_sample += plan->keep_per_sample;
    return NN_OK;
}

/* A layer runs backward when it has parameters or feeds from one that does (or from the input,
 * when its gradient is wanted). */
static void mark_needs_back(nn_graph *g)
{
    for (int i = 0; i < g->n; i++) {
        node *nd = &g->nodes[i];
        nd->needs_back = nd->plan.n_params > 0;
        for (int k = 0; k < nd->layer.n_in; k++) {
            int src = nd->in_idx[k];
            if (src < 0 ? g->want_input_grad : g->nodes[src].needs_back)
                nd->needs_back = 1;
        }
    }
}

void nn_graph_want_input_grad(nn_graph *g, int on)
{
    g->want_input_grad = on;
    mark_needs_back(g);
}

const float *nn_graph_input_grad(const nn_graph *g) { return g->xgrad; }

static int build_layers(nn_graph *g, const nn_registry *reg, const nn_node *layers,
                        nn_error *err)
{
    int n = (int)layers->n;
    decl *ds = calloc((size_t)n, sizeof *ds);
    int *order = calloc((size_t)n, sizeof *order);
    int *stack = calloc((size_t)n + 1, sizeof *stack);
    int rc = (ds && order && stack) ? NN_OK : nn_error_set(err, NN_E_NOMEM, "out of memory");
    for (int i = 0; !rc && i < n; i++) {
        rc = read_decl(g, reg, layers->items[i], i, &ds[i], err);
        for (int j = 0; !rc && j < i; j++)
            if (strcmp(ds[i].name, ds[j].name) == 0)
                rc = nn_node_error(err, NN_E_CONFIG, nn_node_get(ds[i].cfg, "name"),
                                   "duplicate layer name '%s' (first at line %d)", ds[i].name,
                                   ds[j].cfg->line);
    }
    for (int i = 0; !rc && i < n; i++)
        rc = read_inputs(ds, n, i, err);
    int n_order = 0;
    if (!rc)
        rc = order_visit(ds, n - 1, order, &n_order, stack, 0, err);
    for (int i = 0; !rc && i < n; i++)
        if (ds[i].state != 2)
            rc = nn_node_error(err, NN_E_CONFIG, ds[i].cfg,
                               "layer '%s' does not lead to the output layer '%s' (the last "
                               "one listed); remove it or use it as an input",
                               ds[i].name, ds[n - 1].name);
    if (!rc) {
        g->n = n;
        g->nodes = nn_arena_alloc(g->arena, sizeof(node) * (size_t)n);
        if (!g->nodes)
            rc = nn_error_set(err, NN_E_NOMEM, "out of memory");
    }
    for (int e = 0; !rc && e < n; e++) {
        const decl *d = &ds[order[e]];
        node *nd = &g->nodes[e];
        nn_layer *l = &nd->layer;
        l->ops = d->ops;
        l->name = d->name;
        l->file = d->cfg->file;
        l->line = d->cfg->line;
        l->col = d->cfg->col;
        l->arena = g->arena;
        nd->act = d->act;
        nd->cfg_hash = hash_node(0xcbf29ce484222325ULL, d->cfg, 1);
        fill_layer_inputs(g, nd, ds, d);
        rc = d->ops->configure(l, d->cfg, err);
        if (!rc)
            rc = infer_node(g, nd, err);
    }
    if (!rc)
        mark_needs_back(g);
    free(ds);
    free(order);
    free(stack);
    return rc;
}

/* a += b * c, saturating at SIZE_MAX */
static void add_product(size_t *a, size_t b, size_t c)
{
    size_t p = b != 0 && c > SIZE_MAX / b ? SIZE_MAX : b * c;
    *a = p > SIZE_MAX - *a ? SIZE_MAX : *a + p;
}

/* Refuses, before anything is allocated, a graph that would need more than NN_GRAPH_MAX_BYTES for
 * batches of max_batch: parameters with their gradients and up to two optimizer values each,
 * fixed values, activations and their gradients, the input and its gradient, and workspace. A
 * config asking for terabytes gets a message, not an allocation the system may grant and then
 * fail to back. */
static int check_memory(const nn_graph *g, int max_batch, const nn_node *at, nn_error *err)
{
    size_t b = (size_t)max_batch, floats = 0;
    add_product(&floats, 4, g->n_params);
    add_product(&floats, 1, g->n_fixed);
    for (int i = 0; i < g->n; i++)
        add_product(&floats, 2 * b, g->nodes[i].out_size);
    add_product(&floats, 2 * b, nn_shape_size(g->input));
    add_product(&floats, 1, g->work_fixed);
    add_product(&floats, b, g->work_per_sample);
    add_product(&floats, b, g->keep_per_sample);
    size_t bytes = 0;
    add_product(&bytes, floats, sizeof(float));
    if (bytes <= (size_t)NN_GRAPH_MAX_BYTES)
        return NN_OK;
    char need[64];
    if (bytes == SIZE_MAX)
        snprintf(need, sizeof need, "more than %zu GiB", SIZE_MAX >> 30);
    else
        snprintf(need, sizeof need, "%.0f MiB", (double)bytes / (1 << 20));
    const char *fmt = "the graph needs %s for batch %d (parameters, activations, gradients, "
                      "workspace), more than the limit of %.0f MiB";
    double limit = (double)NN_GRAPH_MAX_BYTES / (1 << 20);
    if (at)
        return nn_node_error(err, NN_E_SHAPE, at, fmt, need, max_batch, limit);
    return nn_error_set(err, NN_E_SHAPE, fmt, need, max_batch, limit);
}

static int alloc_batch_buffers(nn_graph *g, int max_batch, nn_error *err)
{
    int rc = check_memory(g, max_batch, NULL, err);
    if (rc)
        return rc;
    size_t total = 0;
    for (int i = 0; i < g->n; i++)
        total += 2 * g->nodes[i].out_size;
    size_t in_size = nn_shape_size(g->input);
    size_t b = (size_t)max_batch;
    float *acts = malloc(total * b * sizeof(float));
    float *x = malloc(in_size * b * sizeof(float));
    float *xgrad = malloc(in_size * b * sizeof(float));
    size_t t = (size_t)(g->threads > 0 ? g->threads : 1), per_thread = (b + t - 1) / t;
    if (g->slice > 0 && (size_t)g->slice < per_thread)
        per_thread = (size_t)g->slice;
    /* the keep areas of a training step (nn_graph_step), for the part of a thread's slice that
     * the batch the graph was built for can fill */
    size_t keep_batch = (size_t)(g->keep_batch > 0 ? g->keep_batch : max_batch);
    size_t keep_cap = (keep_batch + t - 1) / t;
    if (keep_cap > per_thread)
        keep_cap = per_thread;
    size_t stride = g->work_fixed + g->work_per_sample * per_thread +
                    g->keep_per_sample * keep_cap + 16;
    stride = (stride + 15) & ~(size_t)15; /* each thread's scratch on its own cache lines */
    float *work = malloc(stride * t * sizeof(float));
    if (!acts || !x || !xgrad || !work) {
        free(acts);
        free(x);
        free(xgrad);
        free(work);
        return nn_error_set(err, NN_E_NOMEM, "out of memory for batch %d", max_batch);
    }
    free(g->acts);
    free(g->x);
    free(g->xgrad);
    free(g->work);
    g->acts = acts;
    g->x = x;
    g->xgrad = xgrad;
    g->work = work;
    g->work_stride = stride;
    g->keep_cap = (int)keep_cap;
    g->slice_cap = (int)per_thread;
    memset(x, 0, in_size * b * sizeof(float));
    float *p = acts;
    for (int i = 0; i < g->n; i++) {
        node *nd = &g->nodes[i];
        nd->out = p;
        p += nd->out_size * b;
        nd->grad = p;
        p += nd->out_size * b;
    }
    g->max_batch = max_batch;
    return NN_OK;
}

int nn_graph_build(const nn_node *root, const nn_registry *reg, int max_batch, nn_graph **out,
                   nn_error *err)
{
    *out = NULL;
    if (max_batch < 1)
        return nn_error_set(err, NN_E_USAGE, "batch size must be at least 1");
    if (!root || root->kind != NN_NODE_MAP)
        return nn_node_error(err, NN_E_CONFIG, root,
                             "expected a mapping with 'input:' and 'layers:'");
    int rc = nn_node_check_keys(root, top_keys, "config", err);
    if (rc)
        return rc;
    nn_graph *g = calloc(1, sizeof *g);
    if (g) {
        g->threads = 1;
        g->slice = NN_DEFAULT_SLICE;
    }
    if (!g || !(g->arena = nn_arena_new())) {
        free(g);
        return nn_error_set(err, NN_E_NOMEM, "out of memory");
    }
    const char *name = NULL;
    rc = nn_map_string(root, "name", 0, "net", "config", &name, err);
    if (!rc && !(g->name = nn_arena_strdup(g->arena, name)))
        rc = nn_error_set(err, NN_E_NOMEM, "out of memory");
    if (!rc)
        rc = read_input_shape(root, &g->input, err);
    const nn_node *layers = nn_node_get(root, "layers");
    if (!rc && !layers)
        rc = nn_node_error(err, NN_E_CONFIG, root, "missing required key 'layers'");
    if (!rc && (layers->kind != NN_NODE_SEQ || layers->n == 0))
        rc = nn_node_error(err, NN_E_CONFIG, layers,
                           "key 'layers': expected a non-empty list of layers");
    if (!rc && layers->n > MAX_LAYERS)
        rc = nn_node_error(err, NN_E_CONFIG, layers, "key 'layers': more than %d layers",
                           MAX_LAYERS);
    if (!rc)
        rc = build_layers(g, reg, layers, err);
    if (!rc)
        rc = check_memory(g, max_batch, layers, err);
    g->keep_batch = max_batch;
    if (!rc) {
        g->params = nn_arena_alloc(g->arena, sizeof(float) * (g->n_params + 1));
        g->grads = nn_arena_alloc(g->arena, sizeof(float) * (g->n_params + 1));
        g->fixed = nn_arena_alloc(g->arena, sizeof(float) * (g->n_fixed + 1));
        if (!g->params || !g->grads || !g->fixed)
            rc = nn_error_set(err, NN_E_NOMEM, "out of memory for %zu parameters", g->n_params);
    }
    if (!rc)
        rc = alloc_batch_buffers(g, max_batch, err);
    if (rc) {
        nn_graph_free(g);
        return rc;
    }
    *out = g;
    return NN_OK;
}

void nn_graph_free(nn_graph *g)
{
    if (!g)
        return;
    free(g->acts);
    free(g->x);
    free(g->xgrad);
    free(g->work);
    free(g->tgrads);
    free(g->prof);
    nn_pool_free(g->pool);
    nn_arena_free(g->arena);
    free(g);
}

int nn_graph_set_max_batch(nn_graph *g, int max_batch, nn_error *err)
{
    if (max_batch < 1)
        return nn_error_set(err, NN_E_USAGE, "batch size must be at least 1");
    if (max_batch == g->max_batch)
        return NN_OK;
    return alloc_batch_buffers(g, max_batch, err);
}

int nn_graph_max_batch(const nn_graph *g) { return g->max_batch; }

int nn_graph_set_threads(nn_graph *g, int threads, nn_error *err)
{
    if (threads < 1 || threads > NN_MAX_THREADS)
        return nn_error_set(err, NN_E_USAGE, "threads must be 1 to %d, got %d", NN_MAX_THREADS,
                            threads);
    if (threads == g->threads)
        return NN_OK;
    nn_pool *pool = NULL;
    float *tgrads = NULL;
    int rc = threads > 1 ? nn_pool_new(threads, &pool, err) : NN_OK;
    if (!rc && threads > 1) {
        tgrads = calloc((size_t)(threads - 1) * g->n_params + 1, sizeof(float));
        if (!tgrads)
            rc = nn_error_set(err, NN_E_NOMEM, "out of memory for %d threads", threads);
    }
    int old = g->threads;
    g->threads = threads;
    if (!rc)
        rc = alloc_batch_buffers(g, g->max_batch, err);
    if (rc) {
        g->threads = old;
        nn_pool_free(pool);
        free(tgrads);
        return rc;
    }
    nn_pool_free(g->pool);
    free(g->tgrads);
    g->pool = pool;
    g->tgrads = tgrads;
    return NN_OK;
}

int nn_graph_threads(const nn_graph *g) { return g->threads; }

int nn_graph_set_slice(nn_graph *g, int slice, nn_error *err)
{
    if (slice < 0)
        return nn_error_set(err, NN_E_USAGE, "slice must be 0 (whole batch) or more, got %d",
                            slice);
    int old = g->slice;
    g->slice = slice;
    int rc = alloc_batch_buffers(g, g->max_batch, err);
    if (rc)
        g->slice = old;
    return rc;
}

void nn_graph_init(nn_graph *g, nn_rng *rng)
{
    for (int i = 0; i < g->n; i++) {
        node *nd = &g->nodes[i];
        if (nd->layer.ops->init)
            nd->layer.ops->init(&nd->layer, g->params + nd->param_off, g->fixed + nd->fixed_off,
                                rng);
    }
}

/* ---- accessors ---------------------------------------------------------------------------- */

const char *nn_graph_name(const nn_graph *g) { return g->name; }
nn_shape nn_graph_input_shape(const nn_graph *g) { return g->input; }
nn_shape nn_graph_output_shape(const nn_graph *g) { return g->nodes[g->n - 1].layer.out; }
nn_activation nn_graph_output_activation(const nn_graph *g) { return g->nodes[g->n - 1].act; }
int nn_graph_layer_count(const nn_graph *g) { return g->n; }
size_t nn_graph_param_count(const nn_graph *g) { return g->n_params; }
size_t nn_graph_fixed_count(const nn_graph *g) { return g->n_fixed; }
const float *nn_graph_fixed(const nn_graph *g) { return g->fixed; }
float *nn_graph_params(nn_graph *g) { return g->params; }
float *nn_graph_grads(nn_graph *g) { return g->grads; }
float *nn_graph_input(nn_graph *g) { return g->x; }
const float *nn_graph_layer_output(const nn_graph *g, int i) { return g->nodes[i].out; }

void nn_graph_layer_info(const nn_graph *g, int i, nn_layer_info *info)
{
    const node *nd = &g->nodes[i];
    memset(info, 0, sizeof *info);
    info->name = nd->layer.name;
    info->type = nd->layer.ops->type;
    info->in = nd->layer.in[0];
    info->out = nd->layer.out;
    info->n_in = nd->layer.n_in;
    for (int k = 0; k < nd->layer.n_in; k++)
        info->in_names[k] = nd->layer.in_names[k];
    memcpy(info->kernel, nd->plan.kernel, sizeof info->kernel);
    info->n_params = nd->plan.n_params;
    info->n_fixed = nd->plan.n_fixed;
    info->param_offset = nd->param_off;
    info->fixed_offset = nd->fixed_off;
    info->connections = nd->plan.connections;
    info->act = nd->act;
}

int nn_graph_find_layer(const nn_graph *g, const char *name)
{
    for (int i = 0; i < g->n; i++)
        if (strcmp(g->nodes[i].layer.name, name) == 0)
            return i;
    return -1;
}

int nn_graph_layer_of_param(const nn_graph *g, size_t k)
{
    for (int i = 0; i < g->n; i++)
        if (k >= g->nodes[i].param_off && k < g->nodes[i].param_off + g->nodes[i].plan.n_params)
            return i;
    return -1;
}


uint64_t nn_graph_fingerprint(const nn_graph *g)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    h = fnv(h, &g->input, sizeof g->input);
    for (int i = 0; i < g->n; i++) {
        const node *nd = &g->nodes[i];
        const char *t = nd->layer.ops->type;
        h = fnv(h, t, strlen(t) + 1);
        int32_t v[5] = {nd->layer.out.c, nd->layer.out.h, nd->layer.out.w, nd->layer.n_in,
                        (int32_t)nd->act};
        h = fnv(h, v, sizeof v);
        for (int k = 0; k < nd->layer.n_in; k++)
            h = fnv(h, &nd->in_idx[k], sizeof nd->in_idx[k]);
        uint64_t counts[3] = {nd->plan.n_params, nd->plan.n_fixed,
                              (uint64_t)llround(nd->plan.connections)};
        h = fnv(h, counts, sizeof counts);
        h = fnv(h, &nd->cfg_hash, sizeof nd->cfg_hash);
    }
    /* The fixed constants as nn_graph_init filled them (RBF prototypes from a file, say), which
     * no checkpoint holds: weights trained against other ones must not load. */
    return fnv(h, g->fixed, sizeof(float) * g->n_fixed);
}

/* ---- running ------------------------------------------------------------------------------ */

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double *prof_at(const nn_graph *g, int part, int node_i, int backward)
{
    return g->prof + ((size_t)part * (size_t)g->n + (size_t)node_i) * 2 + (size_t)backward;
}

int nn_graph_set_profile(nn_graph *g, int on, nn_error *err)
{
    if (!on) {
        free(g->prof);
        g->prof = NULL;
        return NN_OK;
    }
    if (!g->prof) {
        g->prof = calloc((size_t)NN_MAX_THREADS * (size_t)g->n * 2, sizeof(double));
        if (!g->prof)
            return nn_error_set(err, NN_E_NOMEM, "out of memory for the profile");
    }
    return NN_OK;
}

void nn_graph_profile_reset(nn_graph *g)
{
    if (g->prof)
        memset(g->prof, 0, sizeof(double) * (size_t)NN_MAX_THREADS * (size_t)g->n * 2);
}

void nn_graph_profile(const nn_graph *g, int i, double *forward_s, double *backward_s)
{
    *forward_s = *backward_s = 0;
    if (!g->prof || i < 0 || i >= g->n)
        return;
    for (int part = 0; part < NN_MAX_THREADS; part++) {
        *forward_s += *prof_at(g, part, i, 0);
        *backward_s += *prof_at(g, part, i, 1);
    }
}

/* The slice [b0, b0 + batch) of a pass, run by thread `part`. */
static void make_pass(nn_graph *g, node *nd, int b0, int batch, int part, nn_pass *p)
{
    memset(p, 0, sizeof *p);
    p->batch = batch;
    size_t in_x = nn_shape_size(g->input) * (size_t)b0;
    for (int k = 0; k < nd->layer.n_in; k++) {
        int src = nd->in_idx[k];
        size_t off = src < 0 ? in_x : g->nodes[src].out_size * (size_t)b0;
        p->in[k] = (src < 0 ? g->x : g->nodes[src].out) + off;
        if (src < 0)
            p->in_grad[k] = g->want_input_grad ? g->xgrad + off : NULL;
        else
            p->in_grad[k] = g->nodes[src].needs_back ? g->nodes[src].grad + off : NULL;
    }
    size_t off = nd->out_size * (size_t)b0;
    p->out = nd->out + off;
    p->out_grad = nd->grad + off;
    p->params = g->params + nd->param_off;
    p->grads = (part ? g->tgrads + (size_t)(part - 1) * g->n_params : g->grads) + nd->param_off;
    p->fixed = g->fixed + nd->fixed_off;
    p->work = g->work + (size_t)part * g->work_stride;
}

/* The keep area of node nd for thread `part`, when a slice of n samples fits in it. */
static float *keep_of(const nn_graph *g, const node *nd, int part, int n)
{
    if (!nd->plan.keep_per_sample || n > g->keep_cap)
        return NULL;
    return g->work + (size_t)part * g->work_stride + g->work_fixed +
           g->work_per_sample * (size_t)g->slice_cap + nd->keep_off * (size_t)g->keep_cap;
}

/* How a batch is cut: parts slices of nearly equal size, in order. */
static int batch_parts(const nn_graph *g, int batch)
{
    return batch < g->threads ? (batch > 0 ? batch : 1) : g->threads;
}

static void slice_of(int batch, int parts, int part, int *b0, int *n)
{
    int lo = (int)((long)batch * part / parts), hi = (int)((long)batch * (part + 1) / parts);
    *b0 = lo;
    *n = hi - lo;
}

typedef struct pass_job {
    nn_graph *g;
    int batch, parts;
    /* backward and hdiag */
    const float *dout, *g1;
    int preact, hdiag;
    float *hacc;
    /* nn_graph_step: the loss of each slice, summed per part */
    int kept;
    nn_slice_loss loss;
    void *ctx;
    float *grad_out;
    double loss_sum[NN_MAX_THREADS];
    long wrong[NN_MAX_THREADS];
} pass_job;

static void forward_slice(nn_graph *g, int part, int b0, int n, int keep)
{
    for (int i = 0; i < g->n; i++) {
        node *nd = &g->nodes[i];
        nn_pass p;
        make_pass(g, nd, b0, n, part, &p);
        if (keep)
            p.keep = keep_of(g, nd, part, n);
        double t0 = g->prof ? seconds_now() : 0;
        nd->layer.ops->forward(&nd->layer, &p);
        nn_activation_forward(nd->act, p.out, nd->out_size, n);
        if (g->prof)
            *prof_at(g, part, i, 0) += seconds_now() - t0;
    }
}

static void forward_part(void *arg, int part)
{
    pass_job *j = arg;
    nn_graph *g = j->g;
    int first, count;
    slice_of(j->batch, j->parts, part, &first, &count);
    int step = g->slice > 0 ? g->slice : count;
    for (int b0 = first; b0 < first + count; b0 += step)
        forward_slice(g, part, b0, first + count - b0 < step ? first + count - b0 : step, 0);
}

const float *nn_graph_forward(nn_graph *g, int batch)
{
    pass_job j = {.g = g, .batch = batch, .parts = batch_parts(g, batch)};
    nn_pool_run(g->pool, j.parts, forward_part, &j);
    return g->nodes[g->n - 1].out;
}

void nn_graph_zero_grads(nn_graph *g) { memset(g->grads, 0, sizeof(float) * g->n_params); }

/* Shared by backward and hdiag: the two passes differ in the layer call, the activation rule and
 * where the parameter terms go. */
static void backward_slice(pass_job *j, int part, int b0, int n);

static void backward_part(void *arg, int part)
{
    pass_job *j = arg;
    int first, count;
    slice_of(j->batch, j->parts, part, &first, &count);
    int step = j->g->slice > 0 ? j->g->slice : count;
    for (int b0 = first; b0 < first + count; b0 += step)
        backward_slice(j, part, b0, first + count - b0 < step ? first + count - b0 : step);
}

static void backward_slice(pass_job *j, int part, int b0, int n)
{
    nn_graph *g = j->g;
    for (int i = 0; i < g->n; i++)
        if (g->nodes[i].needs_back)
            memset(g->nodes[i].grad + g->nodes[i].out_size * (size_t)b0, 0,
                   sizeof(float) * g->nodes[i].out_size * (size_t)n);
    size_t in_size = nn_shape_size(g->input);
    if (g->want_input_grad)
        memset(g->xgrad + in_size * (size_t)b0, 0, sizeof(float) * in_size * (size_t)n);
    node *last = &g->nodes[g->n - 1];
    size_t out_off = last->out_size * (size_t)b0;
    memcpy(last->grad + out_off, j->dout + out_off, sizeof(float) * last->out_size * (size_t)n);
    for (int i = g->n - 1; i >= 0; i--) {
        node *nd = &g->nodes[i];
        if (!nd->needs_back)
            continue;
        nn_pass p;
        make_pass(g, nd, b0, n, part, &p);
        if (j->kept && (p.keep = keep_of(g, nd, part, n)))
            p.kept = 1;
        double t0 = g->prof ? seconds_now() : 0;
        float *gy = nd->grad + nd->out_size * (size_t)b0;
        if (!(nd == last && j->preact)) {
            if (j->hdiag)
                nn_activation_hdiag(nd->act, p.out, gy, nd->out_size, n);
            else
                nn_activation_backward(nd->act, p.out, gy, nd->out_size, n);
        }
        if (j->hdiag) {
            float *acc = part ? g->tgrads + (size_t)(part - 1) * g->n_params : j->hacc;
            p.grads = acc + nd->param_off;
            p.out_grad1 = nd == last && j->g1 ? j->g1 + out_off : NULL;
            nd->layer.ops->backward_hdiag(&nd->layer, &p);
        } else {
            nd->layer.ops->backward(&nd->layer, &p);
        }
        if (g->prof)
            *prof_at(g, part, i, 1) += seconds_now() - t0;
    }
}

/* Adds the other parts' parameter terms into dst, in part order, and zeroes them again. */
static void reduce_parts(nn_graph *g, int parts, float *restrict dst)
{
    for (int part = 1; part < parts; part++) {
        float *restrict src = g->tgrads + (size_t)(part - 1) * g->n_params;
        for (size_t k = 0; k < g->n_params; k++) {
            dst[k] += src[k];
            src[k] = 0.0f;
        }
    }
}

static void run_backward(nn_graph *g, int batch, const float *dout, int preact, int hdiag,
                         const float *g1, float *hacc)
{
    pass_job j = {.g = g, .batch = batch, .parts = batch_parts(g, batch), .dout = dout,
                  .g1 = g1, .preact = preact, .hdiag = hdiag, .hacc = hacc};
    nn_pool_run(g->pool, j.parts, backward_part, &j);
    reduce_parts(g, j.parts, hdiag ? hacc : g->grads);
}

void nn_graph_backward(nn_graph *g, int batch, const float *dout, int dout_is_preact)
{
    run_backward(g, batch, dout, dout_is_preact, 0, NULL, NULL);
}

void nn_graph_hdiag(nn_graph *g, int batch, const float *d2, const float *g1, int preact,
                    float *hacc)
{
    run_backward(g, batch, d2, preact, 1, g1, hacc);
}

/* A training step, slice by slice: forward, the slice's loss, backward, while the slice's
 * activations (and what each layer kept) are still in cache. */
static void step_part(void *arg, int part)
{
    pass_job *j = arg;
    nn_graph *g = j->g;
    int first, count;
    slice_of(j->batch, j->parts, part, &first, &count);
    int step = g->slice > 0 ? g->slice : count;
    size_t n_out = g->nodes[g->n - 1].out_size;
    for (int b0 = first; b0 < first + count; b0 += step) {
        int n = first + count - b0 < step ? first + count - b0 : step;
        forward_slice(g, part, b0, n, 1);
        int wrong = 0;
        const float *y = g->nodes[g->n - 1].out + n_out * (size_t)b0;
        j->loss_sum[part] += j->loss(j->ctx, y, b0, n, j->grad_out + n_out * (size_t)b0, &wrong);
        j->wrong[part] += wrong;
        backward_slice(j, part, b0, n);
    }
}

double nn_graph_step(nn_graph *g, int batch, nn_slice_loss loss, void *ctx, float *dout,
                     int dout_is_preact, long *n_wrong)
{
    pass_job j = {.g = g, .batch = batch, .parts = batch_parts(g, batch), .dout = dout,
                  .preact = dout_is_preact, .kept = 1, .loss = loss, .ctx = ctx,
                  .grad_out = dout};
    nn_pool_run(g->pool, j.parts, step_part, &j);
    reduce_parts(g, j.parts, g->grads);
    double total = 0;
    long wrong = 0;
    for (int part = 0; part < j.parts; part++) {
        total += j.loss_sum[part];
        wrong += j.wrong[part];
    }
    if (n_wrong)
        *n_wrong = wrong;
    return total;
}

int nn_graph_supports_hdiag(const nn_graph *g, nn_error *err)
{
    for (int i = 0; i < g->n; i++) {
        const node *nd = &g->nodes[i];
        if (nd->needs_back && !nd->layer.ops->backward_hdiag)
            return nn_layer_error(&nd->layer, err, NN_E_CONFIG,
                                  "a %s layer has no Hessian pass, so the sdlm optimizer cannot "
                                  "train this graph (use sgd or adam)",
                                  nd->layer.ops->type);
        if (nd->needs_back && !nd->layer.ops->backward)
            return nn_layer_error(&nd->layer, err, NN_E_CONFIG, "a %s layer cannot be trained",
                                  nd->layer.ops->type);
    }
    return NN_OK;
}

int nn_graph_find_nonfinite_output(const nn_graph *g, int batch)
{
    for (int i = 0; i < g->n; i++) {
        const node *nd = &g->nodes[i];
        size_t n = nd->out_size * (size_t)batch;
        for (size_t k = 0; k < n; k++)
            if (!isfinite(nd->out[k]))
                return i;
    }
    return -1;
}
