/* Tests for core/config.c and core/config_get.c: node positions, every refusal of the loader with
 * its exact message, overrides, dump round trips, strict typed reads, and hostile input. */
#include <criterion/criterion.h>

#include <dirent.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

#define FIXTURES NN_SOURCE_DIR "/tests/fixtures/config"
#define NET FIXTURES "/net.yaml"

/* ---- helpers -------------------------------------------------------------------------------- */

static nn_doc *load_ok(const char *yaml)
{
    nn_doc *doc = NULL;
    nn_error err = {0};
    int rc = nn_doc_load_string(yaml, strlen(yaml), "cfg.yaml", &doc, &err);
    cr_assert_eq(rc, NN_OK, "load failed: %s", err.msg);
    return doc;
}

static nn_doc *load_net(void)
{
    nn_doc *doc = NULL;
    nn_error err = {0};
    cr_assert_eq(nn_doc_load_file(NET, &doc, &err), NN_OK, "%s", err.msg);
    return doc;
}

static void expect_load_error(const char *yaml, size_t len, const char *msg)
{
    nn_doc *doc = (nn_doc *)1;
    nn_error err = {0};
    int rc = nn_doc_load_string(yaml, len, "cfg.yaml", &doc, &err);
    cr_assert_eq(rc, NN_E_CONFIG, "expected a config error for: %s", yaml);
    cr_assert_null(doc);
    cr_assert_str_eq(err.msg, msg);
}

#define LOAD_ERROR(yaml, msg) expect_load_error(yaml, strlen(yaml), msg)

static void expect_pos(const nn_node *n, int line, int col)
{
    cr_assert_not_null(n);
    cr_assert_eq(n->line, line, "line %d, expected %d", n->line, line);
    cr_assert_eq(n->col, col, "col %d, expected %d", n->col, col);
}

static const nn_node *path(const nn_doc *doc, const char *a, const char *b, const char *c)
{
    const nn_node *n = nn_node_get(nn_doc_root(doc), a);
    if (n && b)
        n = nn_node_get(n, b);
    if (n && c)
        n = nn_node_get(n, c);
    return n;
}

static const nn_node *layer(const nn_doc *doc, size_t i)
{
    const nn_node *layers = nn_node_get(nn_doc_root(doc), "layers");
    cr_assert(layers && layers->kind == NN_NODE_SEQ && i < layers->n);
    return layers->items[i];
}

/* A plain scalar YAML cannot write plain (one with a tab, a lone "-") comes back quoted; that
 * is fine as long as it could not be read as a number or a boolean. */
static int may_come_back_quoted(const nn_node *n)
{
    nn_node plain = *n;
    long l;
    double d;
    int b;
    plain.quoted = 0;
    return !n->quoted && nn_node_long(&plain, "", LONG_MIN, LONG_MAX, &l, NULL) &&
           nn_node_double(&plain, "", -HUGE_VAL, HUGE_VAL, &d, NULL) &&
           nn_node_bool(&plain, "", &b, NULL);
}

static int trees_equal(const nn_node *a, const nn_node *b)
{
    if (a->kind != b->kind || a->n != b->n || !a->keys != !b->keys)
        return 0;
    if (a->kind == NN_NODE_SCALAR)
        return strcmp(a->value, b->value) == 0 &&
               (a->quoted == b->quoted || may_come_back_quoted(a));
    for (size_t i = 0; i < a->n; i++)
        if ((a->keys && !trees_equal(a->keys[i], b->keys[i])) ||
            !trees_equal(a->items[i], b->items[i]))
            return 0;
    return 1;
}

/* Dumps doc, parses the dump, and checks both trees are the same. */
static void check_round_trip(const nn_doc *doc)
{
    char *text = NULL;
    nn_error err = {0};
    cr_assert_eq(nn_doc_dump(doc, &text, &err), NN_OK, "%s", err.msg);
    nn_doc *again = NULL;
    int rc = nn_doc_load_string(text, strlen(text), "dump", &again, &err);
    cr_assert_eq(rc, NN_OK, "dump does not parse: %s\n%s", err.msg, text);
    cr_assert(trees_equal(nn_doc_root(doc), nn_doc_root(again)), "dump differs:\n%s", text);
    nn_doc_free(again);
    free(text);
}

typedef struct tmp_dir {
    char path[64];
} tmp_dir;

static void tmp_make(tmp_dir *d)
{
    snprintf(d->path, sizeof d->path, "/tmp/nn-config-XXXXXX");
    cr_assert_not_null(mkdtemp(d->path));
}

static void tmp_write(const tmp_dir *d, const char *name, const void *bytes, size_t len,
                      char *out, size_t out_size)
{
    snprintf(out, out_size, "%s/%s", d->path, name);
    FILE *f = fopen(out, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(bytes, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
}

static void tmp_remove(tmp_dir *d, const char *file)
{
    if (file)
        unlink(file);
    rmdir(d->path);
}

static void expect_file_error(const char *file, nn_status code, const char *msg)
{
    nn_doc *doc = (nn_doc *)1;
    nn_error err = {0};
    cr_assert_eq(nn_doc_load_file(file, &doc, &err), (int)code, "%s", err.msg);
    cr_assert_null(doc);
    cr_assert_str_eq(err.msg, msg);
}

/* A small deterministic generator: tests must repeat. */
static uint32_t next_random(uint64_t *state)
{
    *state = *state * 6364136223846793005u + 1442695040888963407u;
    return (uint32_t)(*state >> 33);
}

/* ---- positions and tree shape --------------------------------------------------------------- */

Test(config_load, positions_are_one_based)
{
    nn_doc *doc = load_net();
    const nn_node *root = nn_doc_root(doc);
    cr_assert_str_eq(nn_doc_name(doc), NET);
    cr_assert_eq(root->kind, NN_NODE_MAP);
    expect_pos(root, 2, 1);
    cr_assert_str_eq(root->file, NET);
    cr_assert_eq(root->n, 6);
    cr_assert_str_eq(root->keys[1]->value, "train");
    expect_pos(root->keys[1], 3, 1);
    expect_pos(path(doc, "name", NULL, NULL), 2, 7);
    expect_pos(path(doc, "train", NULL, NULL), 4, 3);
    expect_pos(path(doc, "train", "batch", NULL), 4, 10);
    expect_pos(path(doc, "train", "lr", NULL), 5, 7);

    const nn_node *schedule = path(doc, "train", "schedule", NULL);
    cr_assert_eq(schedule->kind, NN_NODE_SEQ);
    cr_assert_eq(schedule->n, 2);
    cr_assert_null(schedule->keys);
    expect_pos(schedule, 6, 13);
    expect_pos(schedule->items[0], 6, 14);
    expect_pos(schedule->items[0]->items[0], 6, 15);
    expect_pos(schedule->items[1]->items[1], 6, 30);
    cr_assert_str_eq(schedule->items[1]->items[1]->value, "0.0001");

    expect_pos(nn_node_get(nn_doc_root(doc), "layers"), 9, 3);
    expect_pos(layer(doc, 0), 9, 5);
    expect_pos(layer(doc, 0)->keys[2], 11, 5);
    expect_pos(nn_node_get(layer(doc, 0), "maps"), 11, 11);
    expect_pos(nn_node_get(layer(doc, 0), "kernel"), 12, 13);
    expect_pos(layer(doc, 1), 13, 5);
    expect_pos(layer(doc, 2), 15, 5);
    expect_pos(layer(doc, 2)->keys[0], 15, 6);
    nn_doc_free(doc);
}

Test(config_load, scalars_keep_text_and_quoting)
{
    nn_doc *doc = load_net();
    const nn_node *note = path(doc, "note", NULL, NULL), *text = path(doc, "text", NULL, NULL);
    cr_assert_str_eq(note->value, "quoted: yes");
    cr_assert_eq(note->quoted, 1);
    expect_pos(note, 16, 7);
    cr_assert_str_eq(text->value, "two\nlines\n");
    cr_assert_eq(text->quoted, 1, "a block scalar is text");
    const nn_node *empty = path(doc, "empty", NULL, NULL);
    cr_assert_eq(empty->kind, NN_NODE_SCALAR);
    cr_assert_str_eq(empty->value, "");
    cr_assert_eq(empty->quoted, 0);
    cr_assert_eq(path(doc, "train", "batch", NULL)->quoted, 0);
    cr_assert_null(path(doc, "train", "nope", NULL));
    cr_assert_null(nn_node_get(path(doc, "name", NULL, NULL), "x"), "a scalar has no keys");
    nn_doc_free(doc);
}

Test(config_load, null_arguments)
{
    nn_error err = {0};
    cr_assert_null(nn_doc_root(NULL));
    cr_assert_null(nn_doc_name(NULL));
    cr_assert_null(nn_node_get(NULL, "a"));
    nn_doc_free(NULL);
    cr_assert_eq(nn_doc_load_file(NULL, NULL, &err), NN_E_USAGE);
    cr_assert_eq(nn_doc_load_string("a: 1", 4, "x", NULL, &err), NN_E_USAGE);
}

/* ---- refusals ------------------------------------------------------------------------------- */

Test(config_load, duplicate_keys)
{
    LOAD_ERROR("a: 1\nb: 2\na: 3\n", "cfg.yaml:3:1: duplicate key 'a' (first at 1:1)");
    LOAD_ERROR("layer:\n  maps: 6\n  kernel: 5\n  maps: 8\n",
               "cfg.yaml:4:3: duplicate key 'maps' (first at 2:3)");
    LOAD_ERROR("{b: 1, a: 2, b: 3, a: 4}", "cfg.yaml:1:14: duplicate key 'b' (first at 1:2)");
    LOAD_ERROR("'a': 1\n\"a\": 2\n", "cfg.yaml:2:1: duplicate key 'a' (first at 1:1)");
}

Test(config_load, anchors_aliases_and_tags)
{
    LOAD_ERROR("a: &x 1\nb: *x\n",
               "cfg.yaml:1:4: anchors and aliases are not supported (found '&x')");
    LOAD_ERROR("a: *x\n", "cfg.yaml:1:4: anchors and aliases are not supported (found '*x')");
    LOAD_ERROR("base: &b {maps: 6}\nc1:\n  <<: *b\n",
               "cfg.yaml:1:7: anchors and aliases are not supported (found '&b')");
    LOAD_ERROR("a: !!int 5\n",
               "cfg.yaml:1:4: YAML tags are not supported (found 'tag:yaml.org,2002:int')");
    LOAD_ERROR("a: !custom [1]\n", "cfg.yaml:1:4: YAML tags are not supported (found '!custom')");
}

Test(config_load, non_scalar_keys)
{
    LOAD_ERROR("? [a]\n: 1\n", "cfg.yaml:1:3: a mapping key must be a scalar, not a list");
    LOAD_ERROR("{{a: 1}: 2}", "cfg.yaml:1:2: a mapping key must be a scalar, not a mapping");
}

Test(config_load, more_than_one_document)
{
    LOAD_ERROR("a: 1\n---\nb: 2\n", "cfg.yaml:2:1: more than one YAML document (a config is one)");
    LOAD_ERROR("---\na: 1\n...\n---\n",
               "cfg.yaml:4:1: more than one YAML document (a config is one)");
}

Test(config_load, empty_documents)
{
    const char *msg = "cfg.yaml: empty document, expected a YAML mapping";
    LOAD_ERROR("", msg);
    LOAD_ERROR("\n\n  \n", msg);
    LOAD_ERROR("# just a comment\n", msg);
    LOAD_ERROR("---\n", msg);
    LOAD_ERROR("--- \n...\n", msg);
    nn_doc *doc = load_ok("''");
    cr_assert_str_eq(nn_doc_root(doc)->value, "", "a quoted empty string is a value");
    nn_doc_free(doc);
}

Test(config_load, syntax_errors)
{
    LOAD_ERROR("a: [1, 2\n",
               "cfg.yaml:2:1: YAML syntax error: did not find expected ',' or ']' while parsing a "
               "flow sequence");
    LOAD_ERROR("a: b: c\n", "cfg.yaml:1:5: YAML syntax error: mapping values are not allowed in "
                            "this context");
    LOAD_ERROR("a:\n\tb: 1\n", "cfg.yaml:2:1: YAML syntax error: found character that cannot "
                               "start any token while scanning for the next token");
    LOAD_ERROR("a: \"x\n", "cfg.yaml:2:1: YAML syntax error: found unexpected end of stream while "
                           "scanning a quoted scalar");
    LOAD_ERROR("- a\nb: 1\n", "cfg.yaml:2:1: YAML syntax error: did not find expected '-' "
                              "indicator while parsing a block collection");
}

Test(config_load, bad_text)
{
    LOAD_ERROR("a: 1\nb: \x01\n",
               "cfg.yaml:2:4: invalid text: control characters are not allowed (byte 0x01)");
    LOAD_ERROR("a: \xff\n", "cfg.yaml:1:4: invalid text: invalid leading UTF-8 octet (byte 0xff)");
    LOAD_ERROR("a: \"x\\0y\"\n", "cfg.yaml:1:4: text contains a NUL character (\\0)");
    expect_load_error("a: 1\0b: 2", 9, "cfg.yaml: not a text file (contains NUL bytes)");
}

Test(config_load, nesting_is_bounded)
{
    size_t depth = 10000;
    char *deep = malloc(2 * depth + 1);
    cr_assert_not_null(deep);
    memset(deep, '[', depth);
    memset(deep + depth, ']', depth);
    deep[2 * depth] = '\0';
    LOAD_ERROR(deep, "cfg.yaml:1:33: nesting deeper than 32 levels");
    /* The same in block style: "- - - ... - x". */
    for (size_t i = 0; i < depth; i++)
        memcpy(deep + 2 * i, "- ", 2);
    deep[2 * depth - 1] = 'x';
    LOAD_ERROR(deep, "cfg.yaml:1:65: nesting deeper than 32 levels");

    /* Exactly NN_CONFIG_MAX_DEPTH levels are fine. */
    memset(deep, '[', NN_CONFIG_MAX_DEPTH);
    memset(deep + NN_CONFIG_MAX_DEPTH, ']', NN_CONFIG_MAX_DEPTH);
    deep[2 * NN_CONFIG_MAX_DEPTH] = '\0';
    nn_doc *doc = load_ok(deep);
    check_round_trip(doc);
    nn_doc_free(doc);
    free(deep);
}

Test(config_load, text_at_the_size_limit)
{
    char *text = malloc(NN_CONFIG_MAX_BYTES + 1);
    cr_assert_not_null(text);
    memset(text, ' ', NN_CONFIG_MAX_BYTES);
    memcpy(text, "a: 1\n#", 6);
    nn_doc *doc = NULL;
    nn_error err = {0};
    cr_assert_eq(nn_doc_load_string(text, NN_CONFIG_MAX_BYTES, "big", &doc, &err), NN_OK, "%s",
                 err.msg);
    nn_doc_free(doc);
    expect_load_error(text, NN_CONFIG_MAX_BYTES + 1,
                      "cfg.yaml: file is 1048577 bytes, a config is at most 1048576");
    free(text);
}

/* A generated map of 60k keys: the duplicate check must stay fast (it sorts). */
Test(config_load, many_keys, .timeout = 20)
{
    enum { KEYS = 60000 };
    char *text = malloc((size_t)KEYS * 16 + 32);
    cr_assert_not_null(text);
    size_t o = 0;
    for (int i = 0; i < KEYS; i++)
        o += (size_t)sprintf(text + o, "k%d: %d\n", i, i);
    nn_doc *doc = load_ok(text);
    cr_assert_eq(nn_doc_root(doc)->n, KEYS);
    cr_assert_str_eq(nn_node_get(nn_doc_root(doc), "k59999")->value, "59999");
    nn_doc_free(doc);
    sprintf(text + o, "k5: again\n");
    char msg[128];
    snprintf(msg, sizeof msg, "cfg.yaml:%d:1: duplicate key 'k5' (first at 6:1)", KEYS + 1);
    LOAD_ERROR(text, msg);
    free(text);
}

/* ---- files ---------------------------------------------------------------------------------- */

Test(config_file, missing_file_and_directory)
{
    expect_file_error("/nonexistent/cfg.yaml", NN_E_IO,
                      "/nonexistent/cfg.yaml: cannot open: No such file or directory");
    tmp_dir d;
    tmp_make(&d);
    char msg[256];
    snprintf(msg, sizeof msg, "%s: cannot read: Is a directory", d.path);
    expect_file_error(d.path, NN_E_IO, msg);
    tmp_remove(&d, NULL);
}

Test(config_file, empty_file)
{
    tmp_dir d;
    char file[128], msg[256];
    tmp_make(&d);
    tmp_write(&d, "empty.yaml", "", 0, file, sizeof file);
    snprintf(msg, sizeof msg, "%s: empty document, expected a YAML mapping", file);
    expect_file_error(file, NN_E_CONFIG, msg);
    tmp_remove(&d, file);
}

Test(config_file, two_mib_file)
{
    size_t len = 2u << 20;
    char *big = malloc(len);
    cr_assert_not_null(big);
    memset(big, '#', len);
    tmp_dir d;
    char file[128], msg[256];
    tmp_make(&d);
    tmp_write(&d, "big.yaml", big, len, file, sizeof file);
    snprintf(msg, sizeof msg, "%s: file is 2097152 bytes, a config is at most 1048576", file);
    expect_file_error(file, NN_E_CONFIG, msg);
    tmp_remove(&d, file);
    free(big);
}

Test(config_file, random_binary)
{
    enum { LEN = 4096 };
    unsigned char bytes[LEN];
    uint64_t state = 42;
    for (size_t i = 0; i < LEN; i++)
        bytes[i] = (unsigned char)next_random(&state);
    tmp_dir d;
    char file[128], msg[256];
    tmp_make(&d);
    tmp_write(&d, "random.bin", bytes, LEN, file, sizeof file);
    snprintf(msg, sizeof msg, "%s: not a text file (contains NUL bytes)", file);
    expect_file_error(file, NN_E_CONFIG, msg);

    /* Without NUL bytes, libyaml's UTF-8 check (or its grammar) has to say no. */
    for (size_t i = 0; i < LEN; i++)
        bytes[i] = bytes[i] ? bytes[i] : 0x80;
    tmp_write(&d, "random.bin", bytes, LEN, file, sizeof file);
    nn_doc *doc = NULL;
    nn_error err = {0};
    cr_assert_eq(nn_doc_load_file(file, &doc, &err), NN_E_CONFIG);
    cr_assert_null(doc);
    cr_assert(strncmp(err.msg, file, strlen(file)) == 0 && err.msg[strlen(file)] == ':', "%s",
              err.msg);
    tmp_remove(&d, file);
}

/* Each bad_*.yaml fixture starts with "# expect: <message after the file name>". */
Test(config_file, bad_fixtures)
{
    DIR *dir = opendir(FIXTURES);
    cr_assert_not_null(dir);
    int seen = 0;
    for (struct dirent *e; (e = readdir(dir));) {
        if (strncmp(e->d_name, "bad_", 4) != 0)
            continue;
        char file[512], line[512], msg[1024];
        snprintf(file, sizeof file, "%s/%s", FIXTURES, e->d_name);
        FILE *f = fopen(file, "r");
        cr_assert_not_null(f);
        cr_assert_not_null(fgets(line, sizeof line, f));
        fclose(f);
        cr_assert(strncmp(line, "# expect: ", 10) == 0, "%s: no expect line", file);
        line[strcspn(line, "\n")] = '\0';
        snprintf(msg, sizeof msg, "%s%s", file, line + 10);
        expect_file_error(file, NN_E_CONFIG, msg);
        seen++;
    }
    closedir(dir);
    cr_assert_geq(seen, 9);
}

/* ---- hostile input -------------------------------------------------------------------------- */

/* Random YAML-ish text must load or fail with a message, and what loads must round-trip. */
Test(config_fuzz, random_yaml_text, .timeout = 60)
{
    static const char alphabet[] = "-:[]{},#&*!|>'\"%@`? \n\n  \t.ab0159e+~\\xé";
    uint64_t state = 7;
    char text[160];
    for (int iter = 0; iter < 3000; iter++) {
        size_t len = next_random(&state) % (sizeof text - 1);
        for (size_t i = 0; i < len; i++)
            text[i] = alphabet[next_random(&state) % (sizeof alphabet - 1)];
        nn_doc *doc = NULL;
        nn_error err = {0};
        int rc = nn_doc_load_string(text, len, "fuzz", &doc, &err);
        if (rc) {
            cr_assert_null(doc);
            cr_assert(strncmp(err.msg, "fuzz", 4) == 0, "%s", err.msg);
            continue;
        }
        check_round_trip(doc);
        nn_doc_free(doc);
    }
}

Test(config_fuzz, mutated_config, .timeout = 60)
{
    FILE *f = fopen(NET, "rb");
    cr_assert_not_null(f);
    char base[2048], text[2048];
    size_t n = fread(base, 1, sizeof base, f);
    fclose(f);
    uint64_t state = 11;
    for (int iter = 0; iter < 2000; iter++) {
        memcpy(text, base, n);
        for (int k = 0; k < 3; k++)
            text[next_random(&state) % n] = (char)(next_random(&state) % 255 + 1);
        nn_doc *doc = NULL;
        nn_error err = {0};
        if (nn_doc_load_string(text, n, "m", &doc, &err) == NN_OK) {
            check_round_trip(doc);
            nn_doc_free(doc);
        }
    }
}

/* ---- overrides ------------------------------------------------------------------------------ */

static void set_ok(nn_doc *doc, const char *assignment)
{
    nn_error err = {0};
    cr_assert_eq(nn_doc_set(doc, assignment, &err), NN_OK, "%s", err.msg);
}

static void set_error(nn_doc *doc, const char *assignment, const char *msg)
{
    nn_error err = {0};
    cr_assert_eq(nn_doc_set(doc, assignment, &err), NN_E_USAGE, "%s", assignment);
    cr_assert_str_eq(err.msg, msg);
}

Test(config_set, scalar_values)
{
    nn_doc *doc = load_net();
    set_ok(doc, "train.batch=16");
    const nn_node *batch = path(doc, "train", "batch", NULL);
    cr_assert_str_eq(batch->value, "16");
    cr_assert_str_eq(batch->file, "--set train.batch=16");
    expect_pos(batch, 1, 1);
    expect_pos(path(doc, "train", NULL, NULL), 4, 3); /* the rest keeps its place */
    set_ok(doc, "train.lr='0.5'");
    cr_assert_eq(path(doc, "train", "lr", NULL)->quoted, 1);
    set_ok(doc, "name=a=b");
    cr_assert_str_eq(path(doc, "name", NULL, NULL)->value, "a=b", "only the first '=' splits");
    set_ok(doc, "train.lr=");
    cr_assert_str_eq(path(doc, "train", "lr", NULL)->value, "");
    nn_doc_free(doc);
}

Test(config_set, by_layer_name_and_index)
{
    nn_doc *doc = load_net();
    set_ok(doc, "layers.c1.maps=8");
    cr_assert_str_eq(nn_node_get(layer(doc, 0), "maps")->value, "8");
    set_ok(doc, "layers.2.units=84");
    cr_assert_str_eq(nn_node_get(layer(doc, 2), "units")->value, "84");
    set_ok(doc, "layers.0.kernel=3");
    cr_assert_str_eq(nn_node_get(layer(doc, 0), "kernel")->value, "3");
    set_ok(doc, "layers.s2={name: s2, type: avgpool}");
    cr_assert_str_eq(nn_node_get(layer(doc, 1), "type")->value, "avgpool");
    nn_doc_free(doc);
}

Test(config_set, new_keys_and_yaml_values)
{
    nn_doc *doc = load_net();
    set_ok(doc, "layers.c1.stride=2");
    const nn_node *c1 = layer(doc, 0);
    cr_assert_eq(c1->n, 5);
    cr_assert_str_eq(c1->keys[4]->value, "stride");
    cr_assert_str_eq(c1->keys[4]->file, "--set layers.c1.stride=2");
    expect_pos(c1->keys[4], 1, 1);
    cr_assert_str_eq(nn_node_get(c1, "stride")->value, "2");

    set_ok(doc, "train.schedule=[[1,0.001]]");
    const nn_node *s = path(doc, "train", "schedule", NULL);
    cr_assert_eq(s->kind, NN_NODE_SEQ);
    cr_assert_eq(s->n, 1);
    cr_assert_eq(s->items[0]->n, 2);
    cr_assert_str_eq(s->items[0]->items[1]->value, "0.001");
    expect_pos(s->items[0]->items[1], 1, 1);
    cr_assert_str_eq(s->items[0]->items[1]->file, "--set train.schedule=[[1,0.001]]");

    set_ok(doc, "seed=1");
    cr_assert_str_eq(path(doc, "seed", NULL, NULL)->value, "1");
    set_ok(doc, "seed=2");
    cr_assert_str_eq(path(doc, "seed", NULL, NULL)->value, "2");
    cr_assert_eq(nn_doc_root(doc)->n, 7, "setting twice does not add the key twice");
    check_round_trip(doc);
    nn_doc_free(doc);
}

Test(config_set, errors)
{
    nn_doc *doc = load_net();
    set_error(doc, "train.batch", "--set train.batch: expected <path>=<value>, e.g. train.batch=16");
    set_error(doc, "=5", "--set =5: no path before '='");
    set_error(doc, "train..batch=1", "--set train..batch=1: empty key in the path 'train..batch'");
    set_error(doc, "train.=1", "--set train.=1: empty key in the path 'train.'");
    set_error(doc, "trian.batch=1",
              "--set trian.batch=1: the top level has no key 'trian' (it has: 'name', 'train', "
              "'layers', 'note', 'text', 'empty')");
    set_error(doc, "train.bach.x=1",
              "--set train.bach.x=1: 'train' has no key 'bach' (it has: 'batch', 'lr', "
              "'schedule', 'shuffle')");
    set_error(doc, "train.batch.x=1",
              "--set train.batch.x=1: 'train.batch' is a scalar ('32'), it has no key 'x'");
    set_error(doc, "layers.c9.maps=1",
              "--set layers.c9.maps=1: 'layers' has no item named 'c9' (it has: 'c1', 's2', "
              "'f3'; or give an index from 0 to 2)");
    set_error(doc, "layers.3.maps=1",
              "--set layers.3.maps=1: 'layers' has no item 3 (it has 3 items, from 0)");
    set_error(doc, "layers.99999999999999999999999=1",
              "--set layers.99999999999999999999999=1: 'layers' has no item "
              "99999999999999999999999 (it has 3 items, from 0)");
    set_error(doc, "train.schedule.x=1",
              "--set train.schedule.x=1: 'train.schedule' has no item named 'x' (its 2 items "
              "have no names)");
    set_error(doc, "layers.c1.maps=[1,",
              "--set layers.c1.maps=[1,: value:2:1: YAML syntax error: did not find expected node "
              "content while parsing a flow node");
    set_error(doc, "layers.c1.maps=*a",
              "--set layers.c1.maps=*a: value:1:1: anchors and aliases are not supported (found "
              "'*a')");
    set_error(doc, "a=1\n---\n2", "--set a=1\n---\n2: value:2:1: more than one YAML document (a "
                                  "config is one)");
    /* The value cannot take the tree past NN_CONFIG_MAX_DEPTH: layers.c1.maps is at depth 4. */
    set_error(doc, "layers.c1.maps=[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
              "--set layers.c1.maps=[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]: "
              "value:1:30: nesting deeper than 32 levels");
    set_ok(doc, "layers.c1.maps=[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]");
    set_ok(doc, "train.schedule=[]");
    set_ok(doc, "train.shuffle={}");
    set_error(doc, "train.schedule.0=1",
              "--set train.schedule.0=1: 'train.schedule' has no item 0 (it is empty)");
    set_error(doc, "train.shuffle.a.b=1",
              "--set train.shuffle.a.b=1: 'train.shuffle' has no key 'a' (it is empty)");
    cr_assert_eq(nn_doc_set(doc, "nope.x=1", NULL), NN_E_USAGE, "err may be NULL");
    cr_assert_eq(nn_doc_set(doc, "x=[", NULL), NN_E_USAGE);
    cr_assert_eq(nn_doc_set(NULL, "x=1", NULL), NN_E_USAGE);
    nn_doc_free(doc);

    /* Failed overrides leave the tree alone. */
    doc = load_net();
    nn_doc *ref = load_net();
    set_error(doc, "layers.c1.maps=[1,",
              "--set layers.c1.maps=[1,: value:2:1: YAML syntax error: did not find expected node "
              "content while parsing a flow node");
    cr_assert(trees_equal(nn_doc_root(doc), nn_doc_root(ref)));
    nn_doc_free(ref);
    nn_doc_free(doc);
}

/* A key made by --set must be text a YAML file could hold, else the resolved config.yaml of the
 * run could not be written (found by tests/fuzz/fuzz_config.c: a new key of bytes 0xff). */
Test(config_set, keys_must_be_utf8_text)
{
    nn_doc *doc = load_net();
    static const char *const bad[] = {
        "train.\xff=1",          /* not UTF-8 */
        "train.a\tb=1",          /* a control character */
        "train.\xc0\xaf=1",      /* an overlong '/' */
        "train.\xed\xa0\x80=1",  /* a UTF-16 surrogate */
        "train.\xf4\x90\x80\x80=1", /* past U+10FFFF */
        "train.\xe2\x82=1",      /* a cut sequence */
        "x\x7f=1",               /* DEL */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        nn_error err = {0};
        cr_assert_eq(nn_doc_set(doc, bad[i], &err), NN_E_USAGE, "%zu", i);
        cr_assert(strstr(err.msg, ": the path holds control characters or bytes that are not "
                                  "UTF-8"), "%s", err.msg);
        cr_assert(strncmp(err.msg, "--set '", 7) == 0, "%s", err.msg);
    }
    set_error(doc, "train.\xff=1",
              "--set 'train.\xff=1': the path holds control characters or bytes that are not "
              "UTF-8");
    set_error(doc, "a\nb=1", "--set 'a?b=1': the path holds control characters or bytes that are "
                            "not UTF-8");
    set_ok(doc, "train.\xc3\xa9t\xc3\xa9=1"); /* "été": UTF-8 keys are fine */
    set_ok(doc, "train.\xf0\x9f\x98\x80=2");
    char *text = NULL;
    nn_error err = {0};
    cr_assert_eq(nn_doc_dump(doc, &text, &err), NN_OK, "%s", err.msg);
    cr_assert(strstr(text, "\xc3\xa9t\xc3\xa9: 1"), "%s", text);
    free(text);
    nn_doc_free(doc);
}

Test(config_set, long_lists_are_shortened)
{
    char text[16384];
    size_t o = 0;
    for (int i = 0; i < 500; i++)
        o += (size_t)sprintf(text + o, "key%d: %d\n", i, i);
    nn_doc *doc = load_ok(text);
    nn_error err = {0};
    cr_assert_eq(nn_doc_set(doc, "nope.x=1", &err), NN_E_USAGE);
    cr_assert(strstr(err.msg, "'key0', 'key1', ") != NULL, "%s", err.msg);
    cr_assert(strstr(err.msg, ", ...)") != NULL, "%s", err.msg);
    cr_assert_lt(strlen(err.msg), 600);
    nn_doc_free(doc);
}

/* ---- dump ----------------------------------------------------------------------------------- */

Test(config_dump, round_trip)
{
    nn_doc *doc = load_net();
    check_round_trip(doc);
    char *text = NULL;
    nn_error err = {0};
    cr_assert_eq(nn_doc_dump(doc, &text, &err), NN_OK);
    cr_assert_str_eq(text, "name: tiny\n"
                           "train:\n"
                           "  batch: 32\n"
                           "  lr: 0.01\n"
                           "  schedule:\n"
                           "  - [1, 0.001]\n"
                           "  - [5, 0.0001]\n"
                           "  shuffle: true\n"
                           "layers:\n"
                           "- name: c1\n"
                           "  type: conv\n"
                           "  maps: 6\n"
                           "  kernel: 5\n"
                           "- name: s2\n"
                           "  type: pool\n"
                           "- name: f3\n"
                           "  type: dense\n"
                           "  units: 10\n"
                           "note: 'quoted: yes'\n"
                           "text: |\n"
                           "  two\n"
                           "  lines\n"
                           "empty:\n");
    free(text);
    nn_doc_free(doc);
}

Test(config_dump, scalars_that_need_quotes)
{
    nn_doc *doc = load_ok("a: 'b: c'\n"
                          "b: '#x'\n"
                          "c: '- x'\n"
                          "d: ''\n"
                          "e: 'true'\n"
                          "f: '5'\n"
                          "g: \" lead and trail \"\n"
                          "h: \"multi\\nline\\ttab\"\n"
                          "i: héllo wörld\n"
                          "'key: with colon': 1\n"
                          "'': empty key\n"
                          "j: [a, 'b,c', '', '[x]', 1e-3, -5, ~]\n"
                          "k: []\n"
                          "l: {}\n"
                          "m:\n"
                          "n: [[], {}, [1, [2]]]\n"
                          "o: \"\\u00e9\\U0001F600\"\n"
                          "p: 'it''s'\n"
                          "q: |\n  literal\n   indented\n"
                          "r: plain text with spaces\n"
                          "t: '%percent'\n"
                          "u: '@at'\n"
                          "v: \"  leading\\nline\"\n"
                          "w: \"trailing \\nline\"\n"
                          "x: \"a\\n\\n\"\n"
                          "y: \"\\nfirst\"\n"
                          "z: \"no end\\nnewline\"\n");
    check_round_trip(doc);
    nn_doc_free(doc);

    char long_value[400];
    memset(long_value, 'x', sizeof long_value);
    memcpy(long_value, "k: ", 3);
    long_value[sizeof long_value - 1] = '\0';
    doc = load_ok(long_value);
    check_round_trip(doc);
    nn_doc_free(doc);

    doc = load_ok("plain scalar root");
    check_round_trip(doc);
    nn_doc_free(doc);
}

Test(config_dump, after_overrides)
{
    nn_doc *doc = load_net();
    set_ok(doc, "layers.c1.maps=8");
    set_ok(doc, "train.schedule=[[1, 0.5], {at: 3}]");
    set_ok(doc, "layers.s2.extra={deep: [1, {x: 'y'}]}");
    check_round_trip(doc);
    nn_doc_free(doc);
}

Test(config_dump, null_arguments)
{
    nn_error err = {0};
    char *text = NULL;
    cr_assert_eq(nn_doc_dump(NULL, &text, &err), NN_E_USAGE);
    cr_assert_null(text);
}

/* ---- typed reads ---------------------------------------------------------------------------- */

static nn_node scalar(const char *value, int quoted)
{
    return (nn_node){.kind = NN_NODE_SCALAR, .line = 4, .col = 15, .file = "cfg.yaml",
                     .value = value, .quoted = quoted};
}

static void long_error(const char *value, int quoted, long min, long max, const char *msg)
{
    nn_node n = scalar(value, quoted);
    nn_error err = {0};
    long out = 12345;
    cr_assert_eq(nn_node_long(&n, "layer 'c1': key 'maps'", min, max, &out, &err), NN_E_CONFIG,
                 "'%s' was accepted", value);
    cr_assert_str_eq(err.msg, msg);
    cr_assert_eq(out, 12345, "out is untouched on error");
}

static long long_ok(const char *value, long min, long max)
{
    nn_node n = scalar(value, 0);
    nn_error err = {0};
    long out = 0;
    cr_assert_eq(nn_node_long(&n, "v", min, max, &out, &err), NN_OK, "%s", err.msg);
    return out;
}

Test(config_get, long_strict)
{
    const char *pre = "cfg.yaml:4:15: layer 'c1': key 'maps': ";
    char msg[256];
#define LONG_ERROR(value, quoted, tail)                                                            \
    (snprintf(msg, sizeof msg, "%s%s", pre, tail), long_error(value, quoted, 1, 4096, msg))
    LONG_ERROR("six", 0, "expected an integer, got 'six'");
    LONG_ERROR("5x", 0, "expected an integer, got '5x'");
    LONG_ERROR("", 0, "expected an integer, got an empty value");
    LONG_ERROR("0x10", 0, "expected an integer, got '0x10'");
    LONG_ERROR(" 5", 0, "expected an integer, got ' 5'");
    LONG_ERROR("5 ", 0, "expected an integer, got '5 '");
    LONG_ERROR("5.0", 0, "expected an integer, got '5.0'");
    LONG_ERROR("1e3", 0, "expected an integer, got '1e3'");
    LONG_ERROR("-", 0, "expected an integer, got '-'");
    LONG_ERROR("--5", 0, "expected an integer, got '--5'");
    LONG_ERROR("5", 1, "expected an integer, got '5' (quoted, so a string)");
    LONG_ERROR("0", 0, "must be between 1 and 4096, got 0");
    LONG_ERROR("4097", 0, "must be between 1 and 4096, got 4097");
    LONG_ERROR("-3", 0, "must be between 1 and 4096, got -3");
    LONG_ERROR("99999999999999999999", 0, "must be between 1 and 4096, got 99999999999999999999");
    long_error("-99999999999999999999", 0, LONG_MIN, LONG_MAX, "cfg.yaml:4:15: layer 'c1': key "
               "'maps': must be between -9223372036854775808 and 9223372036854775807, got "
               "-99999999999999999999");
#undef LONG_ERROR
    cr_assert_eq(long_ok("6", 1, 4096), 6);
    cr_assert_eq(long_ok("+6", 1, 4096), 6);
    cr_assert_eq(long_ok("-0", 0, 0), 0);
    cr_assert_eq(long_ok("007", 0, 10), 7, "decimal, not octal");
    cr_assert_eq(long_ok("9223372036854775807", LONG_MIN, LONG_MAX), LONG_MAX);
    cr_assert_eq(long_ok("-9223372036854775808", LONG_MIN, LONG_MAX), LONG_MIN);
}

Test(config_get, wrong_kinds)
{
    nn_doc *doc = load_ok("layers:\n  - name: c1\n    maps: [6]\n    act: {a: 1}\n");
    const nn_node *c1 = layer(doc, 0);
    nn_error err = {0};
    long l;
    double d;
    int b;
    const char *s;
    cr_assert_eq(nn_map_long(c1, "maps", 1, 0, 1, 4096, "layer 'c1'", &l, &err), NN_E_CONFIG);
    cr_assert_str_eq(err.msg, "cfg.yaml:3:11: layer 'c1': key 'maps': expected an integer, got a "
                              "list");
    cr_assert_eq(nn_map_double(c1, "act", 1, 0, 0, 1, "layer 'c1'", &d, &err), NN_E_CONFIG);
    cr_assert_str_eq(err.msg, "cfg.yaml:4:10: layer 'c1': key 'act': expected a number, got a "
                              "mapping");
    cr_assert_eq(nn_map_bool(c1, "maps", 1, 0, "layer 'c1'", &b, &err), NN_E_CONFIG);
    cr_assert_str_eq(err.msg, "cfg.yaml:3:11: layer 'c1': key 'maps': expected true or false, got "
                              "a list");
    cr_assert_eq(nn_map_string(c1, "act", 1, NULL, "layer 'c1'", &s, &err), NN_E_CONFIG);
    cr_assert_str_eq(err.msg, "cfg.yaml:4:10: layer 'c1': key 'act': expected a string, got a "
                              "mapping");
    cr_assert_eq(nn_map_long(nn_node_get(c1, "maps"), "x", 0, 0, 0, 1, "layer 'c1'", &l, &err),
                 NN_E_CONFIG);
    cr_assert_str_eq(err.msg, "cfg.yaml:3:11: layer 'c1': expected a mapping, got a list");
    nn_doc_free(doc);
}

static void double_error(const char *value, int quoted, const char *tail)
{
    nn_node n = scalar(value, quoted);
    nn_error err = {0};
    double out = 0.25;
    char msg[256];
    snprintf(msg, sizeof msg, "cfg.yaml:4:15: train: key 'lr': %s", tail);
    cr_assert_eq(nn_node_double(&n, "train: key 'lr'", 0, 10, &out, &err), NN_E_CONFIG,
                 "'%s' was accepted", value);
    cr_assert_str_eq(err.msg, msg);
    cr_assert_eq(out, 0.25);
}

static double double_ok(const char *value)
{
    nn_node n = scalar(value, 0);
    nn_error err = {0};
    double out = -1;
    cr_assert_eq(nn_node_double(&n, "v", -1e300, 1e300, &out, &err), NN_OK, "%s", err.msg);
    return out;
}

Test(config_get, double_strict)
{
    double_error("nan", 0, "expected a finite number, got 'nan'");
    double_error("NaN", 0, "expected a finite number, got 'NaN'");
    double_error("inf", 0, "expected a finite number, got 'inf'");
    double_error("-Infinity", 0, "expected a finite number, got '-Infinity'");
    double_error(".inf", 0, "expected a finite number, got '.inf'");
    double_error("-.Inf", 0, "expected a finite number, got '-.Inf'");
    double_error(".nan", 0, "expected a finite number, got '.nan'");
    double_error("1e999", 0, "expected a finite number, got '1e999'");
    double_error("-1e999", 0, "expected a finite number, got '-1e999'");
    double_error("abc", 0, "expected a number, got 'abc'");
    double_error("1.5x", 0, "expected a number, got '1.5x'");
    double_error("1e", 0, "expected a number, got '1e'");
    double_error("", 0, "expected a number, got an empty value");
    double_error(" 1", 0, "expected a number, got ' 1'");
    double_error("0x10", 0, "expected a number, got '0x10'");
    double_error("0x1p3", 0, "expected a number, got '0x1p3'");
    double_error("1.5", 1, "expected a number, got '1.5' (quoted, so a string)");
    double_error("10.5", 0, "must be between 0 and 10, got 10.5");
    double_error("-1e-3", 0, "must be between 0 and 10, got -1e-3");
    cr_assert_eq(double_ok("1.5"), 1.5);
    cr_assert_eq(double_ok("3"), 3.0);
    cr_assert_eq(double_ok(".5"), 0.5);
    cr_assert_eq(double_ok("5."), 5.0);
    cr_assert_eq(double_ok("-2e-3"), -2e-3);
    cr_assert_eq(double_ok("+1E2"), 100.0);
    cr_assert_lt(double_ok("1e-999"), 1e-300, "underflow reads as (almost) zero");
}

Test(config_get, bool_and_string)
{
    nn_error err = {0};
    int b = -1;
    nn_node t = scalar("true", 0), f = scalar("false", 0);
    cr_assert_eq(nn_node_bool(&t, "v", &b, &err), NN_OK);
    cr_assert_eq(b, 1);
    cr_assert_eq(nn_node_bool(&f, "v", &b, &err), NN_OK);
    cr_assert_eq(b, 0);
    const char *bad[] = {"True", "TRUE", "yes", "1", "on", ""};
    const char *shown[] = {"'True'", "'TRUE'", "'yes'", "'1'", "'on'", "an empty value"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        nn_node n = scalar(bad[i], 0);
        char msg[128];
        snprintf(msg, sizeof msg, "cfg.yaml:4:15: train: key 'shuffle': expected true or false, "
                                  "got %s", shown[i]);
        cr_assert_eq(nn_node_bool(&n, "train: key 'shuffle'", &b, &err), NN_E_CONFIG);
        cr_assert_str_eq(err.msg, msg);
    }
    nn_node q = scalar("true", 1);
    cr_assert_eq(nn_node_bool(&q, "x", &b, &err), NN_E_CONFIG);
    cr_assert_str_eq(err.msg, "cfg.yaml:4:15: x: expected true or false, got 'true' (quoted, so "
                              "a string)");

    const char *s = NULL;
    nn_node five = scalar("5", 1), plain = scalar("relu", 0), empty = scalar("", 0),
            quoted_empty = scalar("", 1);
    cr_assert_eq(nn_node_string(&five, "x", &s, &err), NN_OK);
    cr_assert_str_eq(s, "5");
    cr_assert_eq(nn_node_string(&plain, "x", &s, &err), NN_OK);
    cr_assert_str_eq(s, "relu");
    cr_assert_eq(nn_node_string(&quoted_empty, "x", &s, &err), NN_OK);
    cr_assert_str_eq(s, "");
    cr_assert_eq(nn_node_string(&empty, "x", &s, &err), NN_E_CONFIG);
    cr_assert_str_eq(err.msg, "cfg.yaml:4:15: x: expected a string, got an empty value");
    cr_assert_eq(nn_node_string(NULL, "x", &s, &err), NN_E_USAGE);
    cr_assert_str_eq(err.msg, "x: no value given");
}

Test(config_get, map_helpers_and_defaults)
{
    nn_doc *doc = load_ok("model:\n  layers:\n  - name: c1\n    maps:     six\n"
                          "  - name: c2\n    maps:     0\n"
                          "  - name: c3\n    type: conv\n"
                          "  - {name: c4, maps: 8, rate: 0.5, on: false, act: tanh}\n");
    const nn_node *layers = path(doc, "model", "layers", NULL);
    nn_error err = {0};
    long maps = 0;
    cr_assert_eq(nn_map_long(layers->items[0], "maps", 1, 0, 1, 4096, "layer 'c1'", &maps, &err),
                 NN_E_CONFIG);
    cr_assert_str_eq(err.msg, "cfg.yaml:4:15: layer 'c1': key 'maps': expected an integer, got "
                              "'six'");
    cr_assert_eq(nn_map_long(layers->items[1], "maps", 1, 0, 1, 4096, "layer 'c1'", &maps, &err),
                 NN_E_CONFIG);
    cr_assert_str_eq(err.msg, "cfg.yaml:6:15: layer 'c1': key 'maps': must be between 1 and "
                              "4096, got 0");
    cr_assert_eq(nn_map_long(layers->items[2], "maps", 1, 0, 1, 4096, "layer 'c3'", &maps, &err),
                 NN_E_CONFIG);
    cr_assert_str_eq(err.msg, "cfg.yaml:7:5: layer 'c3': missing required key 'maps'");

    const nn_node *c3 = layers->items[2], *c4 = layers->items[3];
    double rate = 0;
    int on = -1, act = -1;
    const char *name = NULL;
    const char *const acts[] = {"relu", "tanh", "sigmoid", NULL};
    cr_assert_eq(nn_map_long(c3, "maps", 0, 16, 1, 4096, "c3", &maps, &err), NN_OK);
    cr_assert_eq(maps, 16);
    cr_assert_eq(nn_map_double(c3, "rate", 0, 0.25, 0, 1, "c3", &rate, &err), NN_OK);
    cr_assert_eq(rate, 0.25);
    cr_assert_eq(nn_map_bool(c3, "on", 0, 1, "c3", &on, &err), NN_OK);
    cr_assert_eq(on, 1);
    cr_assert_eq(nn_map_string(c3, "init", 0, "xavier", "c3", &name, &err), NN_OK);
    cr_assert_str_eq(name, "xavier");
    cr_assert_eq(nn_map_choice(c3, "act", 0, 2, acts, "c3", &act, &err), NN_OK);
    cr_assert_eq(act, 2);

    cr_assert_eq(nn_map_long(c4, "maps", 1, 0, 1, 4096, "c4", &maps, &err), NN_OK);
    cr_assert_eq(maps, 8);
    cr_assert_eq(nn_map_double(c4, "rate", 1, 0, 0, 1, "c4", &rate, &err), NN_OK);
    cr_assert_eq(rate, 0.5);
    cr_assert_eq(nn_map_bool(c4, "on", 1, 1, "c4", &on, &err), NN_OK);
    cr_assert_eq(on, 0);
    cr_assert_eq(nn_map_string(c4, "name", 1, NULL, "c4", &name, &err), NN_OK);
    cr_assert_str_eq(name, "c4");
    cr_assert_eq(nn_map_choice(c4, "act", 1, 0, acts, "c4", &act, &err), NN_OK);
    cr_assert_eq(act, 1);
    cr_assert_eq(nn_map_choice(c3, "act", 1, 0, acts, "layer 'c3'", &act, &err), NN_E_CONFIG);
    cr_assert_str_eq(err.msg, "cfg.yaml:7:5: layer 'c3': missing required key 'act'");
    nn_doc_free(doc);
}

Test(config_get, choice_hints)
{
    nn_doc *doc = load_ok("layers:\n- {name: c1, type: conv, activation: relux}\n"
                          "- {name: c2, activation: swish}\n- {name: c3, activation: sig}\n"
                          "- {name: c4, activation: 'tanh'}\n");
    const char *const acts[] = {"relu", "tanh", "sigmoid", NULL};
    nn_error err = {0};
    int act = -1;
    cr_assert_eq(nn_map_choice(layer(doc, 0), "activation", 1, 0, acts, "layer 'c1'", &act, &err),
                 NN_E_CONFIG);
    cr_assert_str_eq(err.msg, "cfg.yaml:2:38: layer 'c1': key 'activation': unknown value 'relux' "
                              "(did you mean 'relu'?)");
    cr_assert_eq(nn_map_choice(layer(doc, 1), "activation", 1, 0, acts, "layer 'c2'", &act, &err),
                 NN_E_CONFIG);
    cr_assert_str_eq(err.msg, "cfg.yaml:3:26: layer 'c2': key 'activation': unknown value 'swish' "
                              "(expected one of: relu, tanh, sigmoid)");
    cr_assert_eq(nn_map_choice(layer(doc, 2), "activation", 1, 0, acts, "layer 'c3'", &act, &err),
                 NN_E_CONFIG);
    cr_assert_str_eq(err.msg, "cfg.yaml:4:26: layer 'c3': key 'activation': unknown value 'sig' "
                              "(did you mean 'sigmoid'?)");
    cr_assert_eq(nn_map_choice(layer(doc, 3), "activation", 1, 0, acts, "c4", &act, &err), NN_OK);
    cr_assert_eq(act, 1, "a quoted choice is a string too");
    nn_doc_free(doc);
}

Test(config_get, check_keys)
{
    const char *const allowed[] = {"name", "type", "maps", "kernel", NULL};
    nn_doc *doc = load_ok("layers:\n- name: c3\n  type: conv\n  kernal: 5\n"
                          "- {name: c4, zzz: 1}\n- {name: c5, ker: 1}\n- {name: c6, maps: 1}\n"
                          "- [1]\n- {'': 1}\n");
    nn_error err = {0};
    cr_assert_eq(nn_node_check_keys(layer(doc, 0), allowed, "layer 'c3'", &err), NN_E_CONFIG);
    cr_assert_str_eq(err.msg, "cfg.yaml:4:3: layer 'c3': unknown key 'kernal' (did you mean "
                              "'kernel'?)");
    cr_assert_eq(nn_node_check_keys(layer(doc, 1), allowed, "layer 'c4'", &err), NN_E_CONFIG);
    cr_assert_str_eq(err.msg, "cfg.yaml:5:14: layer 'c4': unknown key 'zzz' (expected one of: "
                              "name, type, maps, kernel)");
    cr_assert_eq(nn_node_check_keys(layer(doc, 2), allowed, "layer 'c5'", &err), NN_E_CONFIG);
    cr_assert_str_eq(err.msg, "cfg.yaml:6:14: layer 'c5': unknown key 'ker' (did you mean "
                              "'kernel'?)");
    cr_assert_eq(nn_node_check_keys(layer(doc, 3), allowed, "layer 'c6'", &err), NN_OK);
    cr_assert_eq(nn_node_check_keys(layer(doc, 4), allowed, "layer 5", &err), NN_E_CONFIG);
    cr_assert_str_eq(err.msg, "cfg.yaml:8:3: layer 5: expected a mapping, got a list");
    cr_assert_eq(nn_node_check_keys(layer(doc, 5), allowed, "layer 6", &err), NN_E_CONFIG);
    cr_assert_str_eq(err.msg, "cfg.yaml:9:4: layer 6: unknown key '' (expected one of: name, "
                              "type, maps, kernel)");
    nn_doc_free(doc);
}

Test(config_get, edit_distance)
{
    cr_assert_eq(nn_edit_distance("kernel", "kernal"), 1);
    cr_assert_eq(nn_edit_distance("kitten", "sitting"), 3);
    cr_assert_eq(nn_edit_distance("", "abc"), 3);
    cr_assert_eq(nn_edit_distance("abc", ""), 3);
    cr_assert_eq(nn_edit_distance("same", "same"), 0);
    cr_assert_eq(nn_edit_distance("ab", "ba"), 2);
    char a[1001], b[1001];
    memset(a, 'a', 1000);
    a[1000] = '\0';
    memcpy(b, a, sizeof b);
    cr_assert_eq(nn_edit_distance(a, b), 0);
    b[999] = 'b';
    cr_assert_gt(nn_edit_distance(a, b), 2, "long strings are never close");
    cr_assert_gt(nn_edit_distance(a, "maps"), 2);
}

Test(config_get, describe_and_node_error)
{
    char buf[64];
    nn_node list = {.kind = NN_NODE_SEQ}, map = {.kind = NN_NODE_MAP};
    nn_node text = scalar("a\tb\x1b[31m", 0);
    cr_assert_str_eq(nn_node_describe(&list, buf, sizeof buf), "a list");
    cr_assert_str_eq(nn_node_describe(&map, buf, sizeof buf), "a mapping");
    cr_assert_str_eq(nn_node_describe(NULL, buf, sizeof buf), "nothing");
    cr_assert_str_eq(nn_node_describe(&text, buf, sizeof buf), "'a?b?[31m'");
    char long_text[100];
    memset(long_text, 'x', sizeof long_text);
    memcpy(long_text + 39, "\xc3\xa9", 2); /* é across the 40-byte cut */
    long_text[99] = '\0';
    nn_node l = scalar(long_text, 0);
    cr_assert_str_eq(nn_node_describe(&l, buf, sizeof buf),
                     "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...'");

    nn_error err = {0};
    nn_node at = scalar("x", 0);
    cr_assert_eq(nn_node_error(&err, NN_E_SHAPE, &at, "table has %d rows", 5), NN_E_SHAPE);
    cr_assert_str_eq(err.msg, "cfg.yaml:4:15: table has 5 rows");
    cr_assert_eq(err.code, NN_E_SHAPE);
    cr_assert_eq(nn_node_error(&err, NN_E_CONFIG, NULL, "no place"), NN_E_CONFIG);
    cr_assert_str_eq(err.msg, "no place");
    cr_assert_eq(nn_node_error(NULL, NN_E_CONFIG, &at, "no err"), NN_E_CONFIG);
}
