/* The YAML config as a tree of nodes, each keeping the file, line and column it came from, so every
 * message can point at the place to fix. Built on libyaml's event API. */
#ifndef NN_CONFIG_H
#define NN_CONFIG_H

#include <stddef.h>

#include "error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Files larger than this are refused before parsing (a config is a few kilobytes). */
#define NN_CONFIG_MAX_BYTES (1u << 20)
/* Nesting deeper than this is refused (bounds recursion on hostile input). */
#define NN_CONFIG_MAX_DEPTH 32

typedef enum nn_node_kind { NN_NODE_SCALAR, NN_NODE_SEQ, NN_NODE_MAP } nn_node_kind;

typedef struct nn_node nn_node;
struct nn_node {
    nn_node_kind kind;
    int line, col;        /* 1-based position of the node's first character */
    const char *file;     /* name used in messages; owned by the document */
    const char *value;    /* scalar text, NUL-terminated; NULL for seq and map */
    int quoted;           /* scalar was quoted ('x' or "x"): a string, never a number */
    size_t n;             /* number of items (seq) or of key/value pairs (map) */
    nn_node **items;      /* seq: the items; map: the values, in file order */
    nn_node **keys;       /* map: the keys (scalars), in file order; NULL for seq */
};

typedef struct nn_doc nn_doc;

/* Parses a YAML file holding one document. Refuses files over NN_CONFIG_MAX_BYTES, files with
 * NUL bytes, anchors/aliases, duplicate map keys, non-scalar map keys, and an empty document. */
int nn_doc_load_file(const char *path, nn_doc **out, nn_error *err);
/* Same from memory; name is used in messages in place of a file name. */
int nn_doc_load_string(const char *text, size_t len, const char *name, nn_doc **out,
                       nn_error *err);
void nn_doc_free(nn_doc *doc);
const nn_node *nn_doc_root(const nn_doc *doc);
const char *nn_doc_name(const nn_doc *doc);

/* Applies an override "a.b.c=value". Path parts are map keys; in a sequence of maps a part may
 * also name the item whose `name:` is that part (layers.c1.maps=8) or give its 0-based index.
 * value is parsed as YAML (so "[1,2]" is a list, "8" a scalar). The final key may be new (it is
 * added) but every earlier part must exist. Nodes made by the override report the file
 * "--set a.b.c=value" and column 1 of line 1. */
int nn_doc_set(nn_doc *doc, const char *assignment, nn_error *err);

/* Emits the tree as YAML (block style, keys in file order) into a malloc'd string. */
int nn_doc_dump(const nn_doc *doc, char **out, nn_error *err);

/* Map lookup; NULL if absent or map is not a map. */
const nn_node *nn_node_get(const nn_node *map, const char *key);

/* Fails if map is not a map ("<what>: expected a mapping") or holds a key not in allowed
 * (NULL-terminated): "<file>:<l>:<c>: <what>: unknown key 'kernal' (did you mean 'kernel'?)".
 * The hint is given when an allowed key is within edit distance 2 (or one is a prefix of
 * the other); otherwise the message lists the allowed keys. */
int nn_node_check_keys(const nn_node *map, const char *const *allowed, const char *what,
                       nn_error *err);

/* Describes a node for messages: "a list", "a mapping", or the scalar's text in single quotes,
 * shortened to 40 bytes with control characters shown as '?' (e.g. 'six'); NULL gives
 * "nothing". Returns buf. */
const char *nn_node_describe(const nn_node *n, char *buf, size_t size);

/* Writes "<file>:<line>:<col>: " + message into err, with code. */
int nn_node_error(nn_error *err, nn_status code, const nn_node *at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Typed reads of a scalar node. Errors name the node's position, `what` (e.g. "layer 'c1': key
 * 'maps'"), and what was expected: a wrong kind ("expected an integer, got a list"), text that is
 * not a number ("expected an integer, got 'abc'"), a non-finite number, or a value outside
 * [min, max] ("must be between 1 and 4096, got 0"). Strict: "5x", "", "0x10" are not integers;
 * quoted scalars are strings, not numbers. */
int nn_node_long(const nn_node *n, const char *what, long min, long max, long *out,
                 nn_error *err);
int nn_node_double(const nn_node *n, const char *what, double min, double max, double *out,
                   nn_error *err);
int nn_node_bool(const nn_node *n, const char *what, int *out, nn_error *err); /* true/false */
int nn_node_string(const nn_node *n, const char *what, const char **out, nn_error *err);

/* Map field helpers: key absent -> *out = def when !required, else
 * "<map pos>: <what>: missing required key '<key>'". what is the map's context, e.g.
 * "layer 'c1'"; the messages for the value say "<what>: key '<key>': ...". */
int nn_map_long(const nn_node *map, const char *key, int required, long def, long min, long max,
                const char *what, long *out, nn_error *err);
int nn_map_double(const nn_node *map, const char *key, int required, double def, double min,
                  double max, const char *what, double *out, nn_error *err);
int nn_map_bool(const nn_node *map, const char *key, int required, int def, const char *what,
                int *out, nn_error *err);
int nn_map_string(const nn_node *map, const char *key, int required, const char *def,
                  const char *what, const char **out, nn_error *err);
/* Picks one of choices (NULL-terminated); *out is the index. Unknown value:
 * "...: key 'activation': unknown value 'relux' (did you mean 'relu'?)" or the list of choices. */
int nn_map_choice(const nn_node *map, const char *key, int required, int def,
                  const char *const *choices, const char *what, int *out, nn_error *err);

/* Edit distance between two short strings (for did-you-mean hints). */
int nn_edit_distance(const char *a, const char *b);

#ifdef __cplusplus
}
#endif
#endif
