/* Loading, overriding and dumping the YAML config tree. libyaml's event API drives a recursive
 * builder whose depth is bounded by NN_CONFIG_MAX_DEPTH; every node and string of a document
 * lives in one arena, so nn_doc_free releases all at once and no error path can leak. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <yaml.h>

/* ---- arena ---------------------------------------------------------------------------------- */

enum { ARENA_BLOCK_BYTES = 64 * 1024 };

typedef struct arena_block {
    struct arena_block *next;
    size_t used, size;
    max_align_t mem[]; /* max_align_t elements keep every allocation suitably aligned */
} arena_block;

struct nn_doc {
    arena_block *blocks; /* the head is the block being filled */
    nn_node *root;
    const char *name;
};

static void *doc_alloc(nn_doc *doc, size_t bytes)
{
    const size_t align = sizeof(max_align_t);
    if (bytes > SIZE_MAX / 2)
        return NULL;
    bytes = (bytes + align - 1) / align * align;
    arena_block *head = doc->blocks;
    if (head && head->size - head->used >= bytes) {
        void *p = (char *)head->mem + head->used;
        head->used += bytes;
        return p;
    }
    size_t size = bytes > ARENA_BLOCK_BYTES ? bytes : ARENA_BLOCK_BYTES;
    arena_block *b = malloc(sizeof *b + size);
    if (!b)
        return NULL;
    b->size = size;
    b->used = bytes;
    /* A big allocation gets a block of its own behind the head, so the head's free room is
     * not abandoned. */
    if (head && bytes > ARENA_BLOCK_BYTES / 4) {
        b->next = head->next;
        head->next = b;
    } else {
        b->next = head;
        doc->blocks = b;
    }
    return b->mem;
}

static char *doc_strndup(nn_doc *doc, const char *s, size_t len)
{
    char *p = doc_alloc(doc, len + 1);
    if (p) {
        memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}

static nn_node *doc_new_node(nn_doc *doc, nn_node_kind kind, const char *file, int line, int col)
{
    nn_node *n = doc_alloc(doc, sizeof *n);
    if (n) {
        memset(n, 0, sizeof *n);
        n->kind = kind;
        n->file = file;
        n->line = line;
        n->col = col;
    }
    return n;
}

void nn_doc_free(nn_doc *doc)
{
    if (!doc)
        return;
    for (arena_block *b = doc->blocks, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    free(doc);
}

const nn_node *nn_doc_root(const nn_doc *doc) { return doc ? doc->root : NULL; }

const char *nn_doc_name(const nn_doc *doc) { return doc ? doc->name : NULL; }

/* ---- messages ------------------------------------------------------------------------------- */

/* Quotes s for a message: at most 40 bytes (never cutting a UTF-8 sequence), control characters
 * shown as '?', so hostile text cannot flood or garble a terminal. */
static const char *excerpt(const char *s, char *buf, size_t size)
{
    enum { SHOWN_MAX = 40 };
    if (size < 8) {
        if (size)
            buf[0] = '\0';
        return buf;
    }
    size_t room = size - 8 < SHOWN_MAX ? size - 8 : SHOWN_MAX;
    size_t len = strlen(s), n = len < room ? len : room;
    while (n > 0 && n < len && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    size_t o = 0;
    buf[o++] = '\'';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[o++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    if (n < len) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o++] = '\'';
    buf[o] = '\0';
    return buf;
}

const char *nn_node_describe(const nn_node *n, char *buf, size_t size)
{
    if (!n || n->kind != NN_NODE_SCALAR)
        snprintf(buf, size, "%s", !n ? "nothing" : n->kind == NN_NODE_SEQ ? "a list" : "a mapping");
    else
        excerpt(n->value, buf, size);
    return buf;
}

int nn_node_error(nn_error *err, nn_status code, const nn_node *at, const char *fmt, ...)
{
    char msg[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!at)
        return nn_error_set(err, code, "%s", msg);
    return nn_error_set(err, code, "%s:%d:%d: %s", at->file, at->line, at->col, msg);
}

/* ---- loader --------------------------------------------------------------------------------- */

typedef struct loader {
    yaml_parser_t parser;
    nn_doc *doc;      /* arena the nodes go to */
    const char *file; /* name in nodes and messages, stored in the arena */
    const char *text;
    size_t len;
    nn_error *err;
} loader;

typedef struct node_vec {
    nn_node **v;
    size_t n, cap;
} node_vec;

static int load_node(loader *ld, yaml_event_t *ev, int depth, nn_node **out);

static int out_of_memory(nn_error *err, const char *name)
{
    return nn_error_set(err, NN_E_NOMEM, "%s: out of memory", name);
}

static int fail_at(const loader *ld, yaml_mark_t mark, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail_at(const loader *ld, yaml_mark_t mark, const char *fmt, ...)
{
    char msg[sizeof ld->err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return nn_error_set(ld->err, NN_E_CONFIG, "%s:%zu:%zu: %s", ld->file, mark.line + 1,
                        mark.column + 1, msg);
}

/* Reader errors (bad UTF-8, control characters) carry a byte offset, not a mark. */
static int fail_reader(const loader *ld)
{
    const yaml_parser_t *p = &ld->parser;
    size_t line = 1, col = 1, end = p->problem_offset < ld->len ? p->problem_offset : ld->len;
    for (size_t i = 0; i < end; i++) {
        unsigned char c = (unsigned char)ld->text[i];
        if (c == '\n')
            line++, col = 1;
        else if ((c & 0xC0) != 0x80)
            col++;
    }
    if (p->problem_value >= 0)
        return nn_error_set(ld->err, NN_E_CONFIG, "%s:%zu:%zu: invalid text: %s (byte 0x%02x)",
                            ld->file, line, col, p->problem, (unsigned)p->problem_value & 0xffu);
    return nn_error_set(ld->err, NN_E_CONFIG, "%s:%zu:%zu: invalid text: %s", ld->file, line, col,
                        p->problem);
}

static int next_event(loader *ld, yaml_event_t *ev)
{
    if (yaml_parser_parse(&ld->parser, ev))
        return NN_OK;
    const yaml_parser_t *p = &ld->parser;
    if (p->error == YAML_MEMORY_ERROR)
        return out_of_memory(ld->err, ld->file);
    if (p->error == YAML_READER_ERROR)
        return fail_reader(ld);
    return fail_at(ld, p->problem_mark, "YAML syntax error: %s%s%s",
                   p->problem ? p->problem : "unknown problem", p->context ? " " : "",
                   p->context ? p->context : "");
}

static int vec_push(nn_doc *doc, node_vec *vec, nn_node *node)
{
    if (vec->n == vec->cap) {
        /* Doubling inside the arena wastes at most the final size; the arena frees it all. */
        size_t cap = vec->cap ? vec->cap * 2 : 4;
        nn_node **v = doc_alloc(doc, cap * sizeof *v);
        if (!v)
            return NN_E_NOMEM;
        if (vec->n)
            memcpy(v, vec->v, vec->n * sizeof *v);
        vec->v = v;
        vec->cap = cap;
    }
    vec->v[vec->n++] = node;
    return NN_OK;
}

static const char *event_anchor(const yaml_event_t *ev)
{
    switch (ev->type) {
    case YAML_SCALAR_EVENT: return (const char *)ev->data.scalar.anchor;
    case YAML_SEQUENCE_START_EVENT: return (const char *)ev->data.sequence_start.anchor;
    case YAML_MAPPING_START_EVENT: return (const char *)ev->data.mapping_start.anchor;
    default: return NULL;
    }
}

static const char *event_tag(const yaml_event_t *ev)
{
    switch (ev->type) {
    case YAML_SCALAR_EVENT: return (const char *)ev->data.scalar.tag;
    case YAML_SEQUENCE_START_EVENT: return (const char *)ev->data.sequence_start.tag;
    case YAML_MAPPING_START_EVENT: return (const char *)ev->data.mapping_start.tag;
    default: return NULL;
    }
}

/* Refuses what a config never needs and what would make the tree a graph or unbounded. Anchor
 * names are printed as they are: libyaml only lets letters, digits, '-' and '_' in. */
static int check_node_event(const loader *ld, const yaml_event_t *ev, int depth)
{
    char shown[64];
    if (ev->type == YAML_ALIAS_EVENT)
        return fail_at(ld, ev->start_mark, "anchors and aliases are not supported (found '*%.40s')",
                       (const char *)ev->data.alias.anchor);
    if (depth > NN_CONFIG_MAX_DEPTH)
        return fail_at(ld, ev->start_mark, "nesting deeper than %d levels", NN_CONFIG_MAX_DEPTH);
    if (event_anchor(ev))
        return fail_at(ld, ev->start_mark, "anchors and aliases are not supported (found '&%.40s')",
                       event_anchor(ev));
    if (event_tag(ev))
        return fail_at(ld, ev->start_mark, "YAML tags are not supported (found %s)",
                       excerpt(event_tag(ev), shown, sizeof shown));
    if (ev->type != YAML_SCALAR_EVENT && ev->type != YAML_SEQUENCE_START_EVENT &&
        ev->type != YAML_MAPPING_START_EVENT)
        return fail_at(ld, ev->start_mark, "YAML syntax error: expected a value");
    return NN_OK;
}

static int fill_scalar(loader *ld, nn_node *node, const yaml_event_t *ev)
{
    const char *text = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    /* "\0" escapes would silently cut the C string, making "maps\0x" equal "maps". */
    if (memchr(text, '\0', len))
        return fail_at(ld, ev->start_mark, "text contains a NUL character (\\0)");
    node->value = doc_strndup(ld->doc, text, len);
    if (!node->value)
        return out_of_memory(ld->err, ld->file);
    /* Block scalars (| and >) count as quoted too: they are always text. */
    node->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
    return NN_OK;
}

static int load_seq(loader *ld, nn_node *seq, int depth)
{
    node_vec items = {0};
    for (;;) {
        yaml_event_t ev;
        nn_node *item;
        int rc = next_event(ld, &ev);
        if (rc)
            return rc;
        if (ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        rc = load_node(ld, &ev, depth + 1, &item);
        if (rc)
            return rc;
        if (vec_push(ld->doc, &items, item))
            return out_of_memory(ld->err, ld->file);
    }
    seq->items = items.v;
    seq->n = items.n;
    return NN_OK;
}

typedef struct key_ref {
    const char *text;
    size_t index;
} key_ref;

static int compare_key_refs(const void *pa, const void *pb)
{
    const key_ref *a = pa, *b = pb;
    int c = strcmp(a->text, b->text);
    return c ? c : (a->index > b->index) - (a->index < b->index);
}

/* Sorting keeps a map of many keys (hostile or generated) at n log n; the duplicate reported is
 * the one met first when reading the file. */
static int check_duplicate_keys(loader *ld, const nn_node *map)
{
    if (map->n < 2)
        return NN_OK;
    key_ref *refs = malloc(map->n * sizeof *refs);
    if (!refs)
        return out_of_memory(ld->err, ld->file);
    for (size_t i = 0; i < map->n; i++)
        refs[i] = (key_ref){map->keys[i]->value, i};
    qsort(refs, map->n, sizeof *refs, compare_key_refs);
    size_t dup = SIZE_MAX, first = 0;
    for (size_t i = 1; i < map->n; i++) {
        if (refs[i].index < dup && strcmp(refs[i - 1].text, refs[i].text) == 0) {
            dup = refs[i].index;
            first = refs[i - 1].index;
        }
    }
    free(refs);
    if (dup == SIZE_MAX)
        return NN_OK;
    char shown[64];
    const nn_node *k = map->keys[dup];
    return nn_node_error(ld->err, NN_E_CONFIG, k, "duplicate key %s (first at %d:%d)",
                         nn_node_describe(k, shown, sizeof shown), map->keys[first]->line,
                         map->keys[first]->col);
}

static int load_map(loader *ld, nn_node *map, int depth)
{
    node_vec keys = {0}, values = {0};
    for (;;) {
        yaml_event_t ev;
        nn_node *key, *value;
        int rc = next_event(ld, &ev);
        if (rc)
            return rc;
        if (ev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        if (ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_MAPPING_START_EVENT) {
            rc = fail_at(ld, ev.start_mark, "a mapping key must be a scalar, not %s",
                         ev.type == YAML_SEQUENCE_START_EVENT ? "a list" : "a mapping");
            yaml_event_delete(&ev);
            return rc;
        }
        rc = load_node(ld, &ev, depth + 1, &key);
        if (!rc)
            rc = next_event(ld, &ev);
        if (!rc)
            rc = load_node(ld, &ev, depth + 1, &value);
        if (rc)
            return rc;
        if (vec_push(ld->doc, &keys, key) || vec_push(ld->doc, &values, value))
            return out_of_memory(ld->err, ld->file);
    }
    map->keys = keys.v;
    map->items = values.v;
    map->n = keys.n;
    return check_duplicate_keys(ld, map);
}

/* Consumes ev (always deleted) and, for a collection, the events up to its end. */
static int load_node(loader *ld, yaml_event_t *ev, int depth, nn_node **out)
{
    int rc = check_node_event(ld, ev, depth);
    nn_node *node = NULL;
    if (!rc) {
        nn_node_kind kind = ev->type == YAML_SCALAR_EVENT           ? NN_NODE_SCALAR
                            : ev->type == YAML_SEQUENCE_START_EVENT ? NN_NODE_SEQ
                                                                    : NN_NODE_MAP;
        node = doc_new_node(ld->doc, kind, ld->file, (int)ev->start_mark.line + 1,
                            (int)ev->start_mark.column + 1);
        rc = node ? NN_OK : out_of_memory(ld->err, ld->file);
    }
    if (!rc && node->kind == NN_NODE_SCALAR)
        rc = fill_scalar(ld, node, ev);
    yaml_event_delete(ev);
    if (!rc && node->kind == NN_NODE_SEQ)
        rc = load_seq(ld, node, depth);
    else if (!rc && node->kind == NN_NODE_MAP)
        rc = load_map(ld, node, depth);
    *out = node;
    return rc;
}

/* Fetches the next event, which must be of type want; a second document is the only other
 * possibility libyaml leaves (it enforces the rest of the stream grammar itself). */
static int expect_event(loader *ld, yaml_event_type_t want)
{
    yaml_event_t ev;
    int rc = next_event(ld, &ev);
    if (rc)
        return rc;
    if (ev.type != want)
        rc = ev.type == YAML_DOCUMENT_START_EVENT
                 ? fail_at(ld, ev.start_mark, "more than one YAML document (a config is one)")
                 : fail_at(ld, ev.start_mark, "YAML syntax error: unexpected event");
    yaml_event_delete(&ev);
    return rc;
}

/* Parses the stream into ld->doc; *root is NULL for a stream without a document. depth is the
 * depth the root will have, so values set by an override stay within NN_CONFIG_MAX_DEPTH. */
static int load_stream(loader *ld, int depth, nn_node **root)
{
    yaml_event_t ev;
    *root = NULL;
    int rc = expect_event(ld, YAML_STREAM_START_EVENT);
    if (!rc)
        rc = next_event(ld, &ev);
    if (rc)
        return rc;
    yaml_event_type_t type = ev.type;
    yaml_event_delete(&ev);
    if (type == YAML_STREAM_END_EVENT)
        return NN_OK;
    rc = next_event(ld, &ev);
    if (!rc)
        rc = load_node(ld, &ev, depth, root);
    if (!rc)
        rc = expect_event(ld, YAML_DOCUMENT_END_EVENT);
    if (!rc)
        rc = expect_event(ld, YAML_STREAM_END_EVENT);
    return rc;
}

static int load_text(nn_doc *doc, const char *file, const char *text, size_t len, int depth,
                     nn_node **root, nn_error *err)
{
    loader ld = {.doc = doc, .file = file, .text = text, .len = len, .err = err};
    if (!yaml_parser_initialize(&ld.parser))
        return out_of_memory(err, file);
    yaml_parser_set_input_string(&ld.parser, (const unsigned char *)text, len);
    int rc = load_stream(&ld, depth, root);
    yaml_parser_delete(&ld.parser);
    return rc;
}

/* "---" alone parses to an empty plain scalar (a YAML null): no config there either. */
static int is_empty_document(const nn_node *root)
{
    return !root || (root->kind == NN_NODE_SCALAR && !root->quoted && !root->value[0]);
}

int nn_doc_load_string(const char *text, size_t len, const char *name, nn_doc **out,
                       nn_error *err)
{
    if (!out || (!text && len))
        return nn_error_set(err, NN_E_USAGE, "nn_doc_load_string: no text or no output");
    *out = NULL;
    if (!name)
        name = "<string>";
    if (len > NN_CONFIG_MAX_BYTES)
        return nn_error_set(err, NN_E_CONFIG, "%s: file is %zu bytes, a config is at most %u",
                            name, len, NN_CONFIG_MAX_BYTES);
    if (len && memchr(text, '\0', len))
        return nn_error_set(err, NN_E_CONFIG, "%s: not a text file (contains NUL bytes)", name);
    nn_doc *doc = calloc(1, sizeof *doc);
    if (!doc || !(doc->name = doc_strndup(doc, name, strlen(name)))) {
        nn_doc_free(doc);
        return out_of_memory(err, name);
    }
    int rc = load_text(doc, doc->name, text ? text : "", len, 1, &doc->root, err);
    if (!rc && is_empty_document(doc->root))
        rc = nn_error_set(err, NN_E_CONFIG, "%s: empty document, expected a YAML mapping", name);
    if (rc) {
        nn_doc_free(doc);
        return rc;
    }
    *out = doc;
    return NN_OK;
}

static int check_file_size(FILE *f, const char *path, nn_error *err)
{
    struct stat st;
    if (fstat(fileno(f), &st) != 0)
        return NN_OK; /* reading will tell what is wrong */
    if (S_ISDIR(st.st_mode))
        return nn_error_set(err, NN_E_IO, "%s: cannot read: %s", path, strerror(EISDIR));
    if (S_ISREG(st.st_mode) && st.st_size > NN_CONFIG_MAX_BYTES)
        return nn_error_set(err, NN_E_CONFIG, "%s: file is %lld bytes, a config is at most %u",
                            path, (long long)st.st_size, NN_CONFIG_MAX_BYTES);
    return NN_OK;
}

/* Reads at most NN_CONFIG_MAX_BYTES + 1 bytes, so a pipe or a growing file is bounded too. */
static int read_config_file(const char *path, char **text, size_t *len, nn_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return nn_error_set(err, NN_E_IO, "%s: cannot open: %s", path, strerror(errno));
    char *buf = NULL;
    size_t n = 0;
    int rc = check_file_size(f, path, err);
    if (!rc && !(buf = malloc(NN_CONFIG_MAX_BYTES + 1)))
        rc = out_of_memory(err, path);
    if (!rc) {
        n = fread(buf, 1, NN_CONFIG_MAX_BYTES + 1, f);
        if (ferror(f))
            rc = nn_error_set(err, NN_E_IO, "%s: cannot read: %s", path, strerror(errno));
        else if (n > NN_CONFIG_MAX_BYTES)
            rc = nn_error_set(err, NN_E_CONFIG, "%s: file is over %u bytes, a config is at most %u",
                              path, NN_CONFIG_MAX_BYTES, NN_CONFIG_MAX_BYTES);
    }
    fclose(f);
    if (rc) {
        free(buf);
        return rc;
    }
    *text = buf;
    *len = n;
    return NN_OK;
}

int nn_doc_load_file(const char *path, nn_doc **out, nn_error *err)
{
    if (!path || !out)
        return nn_error_set(err, NN_E_USAGE, "nn_doc_load_file: no path or no output");
    *out = NULL;
    char *text = NULL;
    size_t len = 0;
    int rc = read_config_file(path, &text, &len, err);
    if (rc)
        return rc;
    rc = nn_doc_load_string(text, len, path, out, err);
    free(text);
    return rc;
}

const nn_node *nn_node_get(const nn_node *map, const char *key)
{
    if (!map || map->kind != NN_NODE_MAP || !key)
        return NULL;
    for (size_t i = 0; i < map->n; i++)
        if (strcmp(map->keys[i]->value, key) == 0)
            return map->items[i];
    return NULL;
}

/* ---- overrides ------------------------------------------------------------------------------ */

/* Where an override lands: the collection holding the last path part, and the value slot to
 * replace (NULL when the part is a new key of a mapping). */
typedef struct set_target {
    nn_node *container;
    nn_node **slot;
    const char *key;
    int depth; /* depth of container */
} set_target;

/* Lists the keys of a map, or the names of a sequence's items, shortened to fit buf. */
static void list_children(const nn_node *n, char *buf, size_t size)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n->n; i++) {
        const nn_node *name = n->kind == NN_NODE_MAP ? n->keys[i] : nn_node_get(n->items[i], "name");
        char shown[64];
        if (!name || name->kind != NN_NODE_SCALAR)
            continue;
        nn_node_describe(name, shown, sizeof shown);
        if (o + strlen(shown) + 2 + sizeof ", ..." > size) {
            snprintf(buf + o, size - o, "%s", o ? ", ..." : "...");
            return;
        }
        o += (size_t)snprintf(buf + o, size - o, "%s%s", o ? ", " : "", shown);
    }
}

static int no_such_child(const nn_node *cur, const char *where, const char *part, nn_error *err)
{
    const char *noun = cur->kind == NN_NODE_MAP ? "key" : "item named";
    char names[400];
    list_children(cur, names, sizeof names);
    if (!cur->n)
        return nn_error_set(err, NN_E_USAGE, "%s has no %s '%s' (it is empty)", where, noun, part);
    if (cur->kind == NN_NODE_MAP)
        return nn_error_set(err, NN_E_USAGE, "%s has no key '%s' (it has: %s)", where, part, names);
    if (names[0])
        return nn_error_set(err, NN_E_USAGE,
                            "%s has no item named '%s' (it has: %s; or give an index from 0 to %zu)",
                            where, part, names, cur->n - 1);
    return nn_error_set(err, NN_E_USAGE, "%s has no item named '%s' (its %zu items have no names)",
                        where, part, cur->n);
}

static int find_in_seq(nn_node *seq, const char *where, const char *part, nn_node ***slot,
                       nn_error *err)
{
    if (part[strspn(part, "0123456789")] == '\0') {
        errno = 0;
        unsigned long long i = strtoull(part, NULL, 10);
        if (!seq->n)
            return nn_error_set(err, NN_E_USAGE, "%s has no item %s (it is empty)", where, part);
        if (errno == ERANGE || i >= seq->n)
            return nn_error_set(err, NN_E_USAGE, "%s has no item %s (it has %zu items, from 0)",
                                where, part, seq->n);
        *slot = &seq->items[i];
        return NN_OK;
    }
    for (size_t i = 0; i < seq->n; i++) {
        const nn_node *name = nn_node_get(seq->items[i], "name");
        if (name && name->kind == NN_NODE_SCALAR && strcmp(name->value, part) == 0) {
            *slot = &seq->items[i];
            return NN_OK;
        }
    }
    return no_such_child(seq, where, part, err);
}

static int find_child(nn_node *cur, const char *where, const char *part, int last,
                      nn_node ***slot, nn_error *err)
{
    *slot = NULL;
    if (cur->kind == NN_NODE_SEQ)
        return find_in_seq(cur, where, part, slot, err);
    if (cur->kind == NN_NODE_SCALAR) {
        char shown[64];
        return nn_error_set(err, NN_E_USAGE, "%s is a scalar (%s), it has no key '%s'", where,
                            excerpt(cur->value, shown, sizeof shown), part);
    }
    for (size_t i = 0; i < cur->n; i++) {
        if (strcmp(cur->keys[i]->value, part) == 0) {
            *slot = &cur->items[i];
            return NN_OK;
        }
    }
    return last ? NN_OK : no_such_child(cur, where, part, err);
}

/* path is a writable copy of the assignment's part before '='; its dots are overwritten while
 * walking, and the assignment itself names the path walked so far. */
static int resolve_path(nn_doc *doc, const char *assignment, char *path, set_target *t,
                        nn_error *err)
{
    nn_node *cur = doc->root;
    const char *start = path;
    char where[200] = "the top level";
    for (int depth = 1;; depth++) {
        char *part = path, *dot = strchr(path, '.');
        if (dot)
            *dot = '\0';
        nn_node **slot;
        int rc = find_child(cur, where, part, !dot, &slot, err);
        if (rc)
            return rc;
        if (!dot) {
            *t = (set_target){cur, slot, part, depth};
            return NN_OK;
        }
        cur = *slot;
        path = dot + 1;
        snprintf(where, sizeof where, "'%.*s'", (int)(dot - start), assignment);
    }
}

/* Override nodes have no place in a file; they all point at the assignment itself. */
static void mark_override(nn_node *n, const char *file)
{
    n->file = file;
    n->line = n->col = 1;
    for (size_t i = 0; i < n->n; i++) {
        mark_override(n->items[i], file);
        if (n->keys)
            mark_override(n->keys[i], file);
    }
}

static int add_key(nn_doc *doc, nn_node *map, const char *key, nn_node *value, const char *file)
{
    nn_node *k = doc_new_node(doc, NN_NODE_SCALAR, file, 1, 1);
    nn_node **keys = doc_alloc(doc, (map->n + 1) * sizeof *keys);
    nn_node **items = doc_alloc(doc, (map->n + 1) * sizeof *items);
    if (!k || !keys || !items || !(k->value = doc_strndup(doc, key, strlen(key))))
        return NN_E_NOMEM;
    if (map->n) {
        memcpy(keys, map->keys, map->n * sizeof *keys);
        memcpy(items, map->items, map->n * sizeof *items);
    }
    keys[map->n] = k;
    items[map->n] = value;
    map->keys = keys;
    map->items = items;
    map->n++;
    return NN_OK;
}

static int parse_override_value(nn_doc *doc, const char *text, int depth, const char *file,
                                nn_node **value, nn_error *err)
{
    int rc = load_text(doc, "value", text, strlen(text), depth, value, err);
    if (rc)
        return rc;
    if (!*value) { /* "key=" sets an empty value, like "key:" in the file */
        *value = doc_new_node(doc, NN_NODE_SCALAR, file, 1, 1);
        if (!*value || !((*value)->value = doc_strndup(doc, "", 0)))
            return out_of_memory(err, "value");
    }
    mark_override(*value, file);
    return NN_OK;
}

static int apply_override(nn_doc *doc, const char *assignment, char *path, const char *text,
                          nn_error *err)
{
    set_target t = {0};
    int rc = resolve_path(doc, assignment, path, &t, err);
    if (rc)
        return rc;
    size_t size = strlen(assignment) + sizeof "--set ";
    char *file = doc_alloc(doc, size);
    if (!file)
        return out_of_memory(err, "value");
    snprintf(file, size, "--set %s", assignment);
    nn_node *value;
    rc = parse_override_value(doc, text, t.depth + 1, file, &value, err);
    if (!rc && t.slot)
        *t.slot = value;
    else if (!rc)
        rc = add_key(doc, t.container, t.key, value, file);
    if (rc == NN_E_NOMEM)
        return out_of_memory(err, "value");
    if (rc && err) /* a bad value is a bad command line, whatever the YAML problem */
        err->code = NN_E_USAGE;
    return rc ? NN_E_USAGE : NN_OK;
}

static int has_double_dot(const char *s, size_t len)
{
    for (size_t i = 1; i < len; i++)
        if (s[i - 1] == '.' && s[i] == '.')
            return 1;
    return 0;
}

/* Length of the UTF-8 sequence at s (at most n bytes), or 0 if it is not one (overlong forms,
 * surrogates and code points past U+10FFFF are refused, as libyaml refuses them). */
static size_t utf8_sequence(const unsigned char *s, size_t n)
{
    if (s[0] < 0x80)
        return 1;
    size_t len = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC0 ? 2 : 0;
    if (len == 0 || len > n || s[0] > 0xF4)
        return 0;
    unsigned long cp = s[0] & (0x7Fu >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3Fu);
    }
    static const unsigned long least[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < least[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

/* A key made by --set must be text a YAML file could hold: UTF-8 without control characters
 * (else the run directory's config.yaml could not be written or read back). */
static int key_text_ok(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        if (p[i] < 0x20 || p[i] == 0x7F)
            return 0;
        size_t len = utf8_sequence(p + i, n - i);
        if (len == 0)
            return 0;
        i += len;
    }
    return 1;
}

int nn_doc_set(nn_doc *doc, const char *assignment, nn_error *err)
{
    if (!doc || !doc->root || !assignment)
        return nn_error_set(err, NN_E_USAGE, "nn_doc_set: no document or no assignment");
    const char *eq = strchr(assignment, '=');
    if (!eq)
        return nn_error_set(err, NN_E_USAGE, "--set %s: expected <path>=<value>, e.g. train.batch=16",
                            assignment);
    size_t path_len = (size_t)(eq - assignment);
    if (!path_len)
        return nn_error_set(err, NN_E_USAGE, "--set %s: no path before '='", assignment);
    if (assignment[0] == '.' || eq[-1] == '.' || has_double_dot(assignment, path_len))
        return nn_error_set(err, NN_E_USAGE, "--set %s: empty key in the path '%.*s'", assignment,
                            (int)path_len, assignment);
    if (!key_text_ok(assignment, path_len)) {
        char shown[64];
        return nn_error_set(err, NN_E_USAGE, "--set %s: the path holds control characters or "
                            "bytes that are not UTF-8", excerpt(assignment, shown, sizeof shown));
    }
    char *path = malloc(path_len + 1);
    if (!path)
        return out_of_memory(err, "--set");
    memcpy(path, assignment, path_len);
    path[path_len] = '\0';
    int rc = apply_override(doc, assignment, path, eq + 1, err);
    free(path);
    if (rc)
        nn_error_prefix(err, "--set %s", assignment);
    return rc;
}

/* ---- dump ----------------------------------------------------------------------------------- */

typedef struct out_buf {
    char *p;
    size_t n, cap;
} out_buf;

static int write_out(void *data, unsigned char *bytes, size_t size)
{
    out_buf *b = data;
    if (size + 1 > b->cap - b->n) {
        size_t cap = b->cap ? b->cap : 4096;
        while (size + 1 > cap - b->n)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return 0;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, bytes, size);
    b->n += size;
    b->p[b->n] = '\0';
    return 1;
}

/* Flow style ([1, 0.001]) only for scalars that stay as they are inside [ ], so every number or
 * boolean keeps its plain reading when parsed back. (A plain scalar libyaml cannot write plain,
 * e.g. one holding a tab, comes back quoted; such text never reads as a number anyway.) */
static int flow_safe(const nn_node *n)
{
    if (n->kind != NN_NODE_SCALAR || !n->value[0])
        return 0;
    if (n->quoted)
        return 1;
    for (const char *s = n->value; *s; s++)
        if (!(*s >= '0' && *s <= '9') && !((*s | 0x20) >= 'a' && (*s | 0x20) <= 'z') &&
            !strchr("._+-", *s))
            return 0;
    return 1;
}

static int emit_node(yaml_emitter_t *em, const nn_node *n)
{
    yaml_event_t ev;
    if (n->kind == NN_NODE_SCALAR) {
        /* libyaml falls back to double quotes where a style cannot hold the text. */
        yaml_scalar_style_t style = !n->quoted                ? YAML_PLAIN_SCALAR_STYLE
                                    : strchr(n->value, '\n') ? YAML_LITERAL_SCALAR_STYLE
                                                             : YAML_SINGLE_QUOTED_SCALAR_STYLE;
        return yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)n->value,
                                            (int)strlen(n->value), 1, 1, style) &&
               yaml_emitter_emit(em, &ev);
    }
    int ok;
    if (n->kind == NN_NODE_SEQ) {
        int flow = n->n > 0;
        for (size_t i = 0; i < n->n && flow; i++)
            flow = flow_safe(n->items[i]);
        ok = yaml_sequence_start_event_initialize(
                 &ev, NULL, NULL, 1, flow ? YAML_FLOW_SEQUENCE_STYLE : YAML_BLOCK_SEQUENCE_STYLE) &&
             yaml_emitter_emit(em, &ev);
    } else {
        ok = yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE) &&
             yaml_emitter_emit(em, &ev);
    }
    for (size_t i = 0; i < n->n && ok; i++)
        ok = (!n->keys || emit_node(em, n->keys[i])) && emit_node(em, n->items[i]);
    if (ok && n->kind == NN_NODE_SEQ)
        ok = yaml_sequence_end_event_initialize(&ev) && yaml_emitter_emit(em, &ev);
    else if (ok)
        ok = yaml_mapping_end_event_initialize(&ev) && yaml_emitter_emit(em, &ev);
    return ok;
}

static int emit_document(yaml_emitter_t *em, const nn_node *root)
{
    yaml_event_t ev;
    return yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) &&
           yaml_emitter_emit(em, &ev) &&
           yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) &&
           yaml_emitter_emit(em, &ev) && emit_node(em, root) &&
           yaml_document_end_event_initialize(&ev, 1) && yaml_emitter_emit(em, &ev) &&
           yaml_stream_end_event_initialize(&ev) && yaml_emitter_emit(em, &ev) &&
           yaml_emitter_flush(em);
}

int nn_doc_dump(const nn_doc *doc, char **out, nn_error *err)
{
    if (!doc || !doc->root || !out)
        return nn_error_set(err, NN_E_USAGE, "nn_doc_dump: no document or no output");
    *out = NULL;
    yaml_emitter_t em;
    if (!yaml_emitter_initialize(&em))
        return out_of_memory(err, doc->name);
    out_buf buf = {0};
    yaml_emitter_set_output(&em, write_out, &buf);
    yaml_emitter_set_unicode(&em, 1); /* else non-ASCII text would be escaped, hence quoted */
    yaml_emitter_set_width(&em, -1);  /* no folding of long scalars */
    int ok = emit_document(&em, doc->root);
    int rc = ok ? NN_OK
             : em.error == YAML_EMITTER_ERROR
                 ? nn_error_set(err, NN_E_CONFIG, "%s: cannot write YAML: %s", doc->name,
                                em.problem ? em.problem : "unknown problem")
                 : out_of_memory(err, doc->name);
    yaml_emitter_delete(&em);
    if (rc) {
        free(buf.p);
        return rc;
    }
    *out = buf.p;
    return NN_OK;
}
