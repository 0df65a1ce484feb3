/* Typed, strict reads of config nodes, key checks and did-you-mean hints. Numbers are parsed
 * with strtol/strtod and full-consumption, errno and range checks; quoted scalars are strings. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Longer strings are never a typo of a config key; the cap keeps hostile input cheap. */
enum { EDIT_MAX = 64 };

int nn_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > EDIT_MAX || lb > EDIT_MAX) { /* an upper bound is all a hint needs */
        size_t longer = la > lb ? la : lb;
        return strcmp(a, b) == 0 ? 0 : longer > INT_MAX ? INT_MAX : (int)longer;
    }
    int row[EDIT_MAX + 1];
    for (size_t j = 0; j <= lb; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static int is_prefix(const char *pre, const char *s) { return strncmp(pre, s, strlen(pre)) == 0; }

/* The closest choice within edit distance 2 (first on ties), else the first one that word is a
 * prefix of or that is a prefix of word. A distance as large as word itself is no hint. */
static const char *closest_choice(const char *word, const char *const *choices)
{
    const char *best = NULL;
    int best_d = 3, len = (int)strnlen(word, EDIT_MAX + 1);
    for (size_t i = 0; choices[i]; i++) {
        int d = nn_edit_distance(word, choices[i]);
        if (d < best_d && d < len) {
            best = choices[i];
            best_d = d;
        }
    }
    for (size_t i = 0; !best && len > 0 && choices[i]; i++)
        if (choices[i][0] && (is_prefix(word, choices[i]) || is_prefix(choices[i], word)))
            best = choices[i];
    return best;
}

/* "(did you mean 'kernel'?)" or "(expected one of: name, type, maps)". */
static const char *hint(const char *word, const char *const *choices, char *buf, size_t size)
{
    const char *best = closest_choice(word, choices);
    if (best) {
        snprintf(buf, size, "(did you mean '%s'?)", best);
        return buf;
    }
    size_t o = (size_t)snprintf(buf, size, "(expected one of: ");
    for (size_t i = 0; choices[i] && o < size; i++)
        o += (size_t)snprintf(buf + o, size - o, "%s%s", i ? ", " : "", choices[i]);
    if (o < size)
        snprintf(buf + o, size - o, ")");
    return buf;
}

static int unknown_name(nn_error *err, const nn_node *at, const char *what, const char *noun,
                        const char *const *choices)
{
    char shown[64], help[512];
    return nn_node_error(err, NN_E_CONFIG, at, "%s: unknown %s %s %s", what, noun,
                         nn_node_describe(at, shown, sizeof shown),
                         hint(at->value, choices, help, sizeof help));
}

static int in_list(const char *s, const char *const *list, int *index)
{
    for (int i = 0; list[i]; i++) {
        if (strcmp(s, list[i]) == 0) {
            *index = i;
            return 1;
        }
    }
    return 0;
}

static int is_empty_plain(const nn_node *n)
{
    return n->kind == NN_NODE_SCALAR && !n->quoted && !n->value[0];
}

/* What was found instead of the expected value; a quoted number is explained, since it looks
 * right but is a string. */
static const char *got(const nn_node *n, int explain_quotes, char *buf, size_t size)
{
    if (is_empty_plain(n))
        return "an empty value";
    nn_node_describe(n, buf, size);
    if (explain_quotes && n->kind == NN_NODE_SCALAR && n->quoted) {
        size_t o = strlen(buf);
        snprintf(buf + o, size - o, " (quoted, so a string)");
    }
    return buf;
}

static int no_node(nn_error *err, const char *what)
{
    return nn_error_set(err, NN_E_USAGE, "%s: no value given", what);
}

/* strtol would skip leading spaces; a config number starts with a digit, after a sign. */
static int starts_with_digit(const char *s)
{
    if (*s == '-' || *s == '+')
        s++;
    return *s >= '0' && *s <= '9';
}

/* Text of a number for a range message; strto* consumed it all, so it holds no odd bytes. */
static const char *number_text(const char *s, char *buf, size_t size)
{
    snprintf(buf, size, "%.40s%s", s, strlen(s) > 40 ? "..." : "");
    return buf;
}

int nn_node_long(const nn_node *n, const char *what, long min, long max, long *out,
                 nn_error *err)
{
    char shown[96];
    if (!n)
        return no_node(err, what);
    const char *s = n->value;
    int digit_first = n->kind == NN_NODE_SCALAR && !n->quoted && starts_with_digit(s);
    char *end = NULL;
    errno = 0;
    long v = digit_first ? strtol(s, &end, 10) : 0;
    if (!digit_first || *end)
        return nn_node_error(err, NN_E_CONFIG, n, "%s: expected an integer, got %s", what,
                             got(n, 1, shown, sizeof shown));
    if (errno == ERANGE || v < min || v > max)
        return nn_node_error(err, NN_E_CONFIG, n, "%s: must be between %ld and %ld, got %s", what,
                             min, max, number_text(s, shown, sizeof shown));
    *out = v;
    return NN_OK;
}

/* YAML spells the non-finite values .inf and .nan, which strtod does not know. */
static int is_yaml_non_finite(const char *s)
{
    if (*s == '-' || *s == '+')
        s++;
    return strcasecmp(s, ".inf") == 0 || strcasecmp(s, ".nan") == 0;
}

int nn_node_double(const nn_node *n, const char *what, double min, double max, double *out,
                   nn_error *err)
{
    char shown[96];
    if (!n)
        return no_node(err, what);
    const char *s = n->value;
    int plain = n->kind == NN_NODE_SCALAR && !n->quoted;
    if (plain && is_yaml_non_finite(s))
        return nn_node_error(err, NN_E_CONFIG, n, "%s: expected a finite number, got %s", what,
                             got(n, 0, shown, sizeof shown));
    /* No leading space (strtod skips it) and no hex floats, which no config needs. */
    int candidate = plain && s[0] && s[0] != ' ' && s[0] != '\t' && !strpbrk(s, "xX");
    char *end = NULL;
    errno = 0;
    double v = candidate ? strtod(s, &end) : 0.0;
    if (!candidate || end == s || *end)
        return nn_node_error(err, NN_E_CONFIG, n, "%s: expected a number, got %s", what,
                             got(n, 1, shown, sizeof shown));
    if (!isfinite(v)) /* nan, inf, and overflow such as 1e999 */
        return nn_node_error(err, NN_E_CONFIG, n, "%s: expected a finite number, got %s", what,
                             got(n, 0, shown, sizeof shown));
    if (v < min || v > max)
        return nn_node_error(err, NN_E_CONFIG, n, "%s: must be between %g and %g, got %s", what,
                             min, max, number_text(s, shown, sizeof shown));
    *out = v;
    return NN_OK;
}

int nn_node_bool(const nn_node *n, const char *what, int *out, nn_error *err)
{
    char shown[96];
    if (!n)
        return no_node(err, what);
    if (n->kind == NN_NODE_SCALAR && !n->quoted && strcmp(n->value, "true") == 0)
        *out = 1;
    else if (n->kind == NN_NODE_SCALAR && !n->quoted && strcmp(n->value, "false") == 0)
        *out = 0;
    else
        return nn_node_error(err, NN_E_CONFIG, n, "%s: expected true or false, got %s", what,
                             got(n, 1, shown, sizeof shown));
    return NN_OK;
}

int nn_node_string(const nn_node *n, const char *what, const char **out, nn_error *err)
{
    char shown[96];
    if (!n)
        return no_node(err, what);
    if (n->kind != NN_NODE_SCALAR || is_empty_plain(n))
        return nn_node_error(err, NN_E_CONFIG, n, "%s: expected a string, got %s", what,
                             got(n, 0, shown, sizeof shown));
    *out = n->value;
    return NN_OK;
}

static int expect_map(const nn_node *map, const char *what, nn_error *err)
{
    char shown[96];
    if (!map)
        return no_node(err, what);
    if (map->kind != NN_NODE_MAP)
        return nn_node_error(err, NN_E_CONFIG, map, "%s: expected a mapping, got %s", what,
                             got(map, 0, shown, sizeof shown));
    return NN_OK;
}

int nn_node_check_keys(const nn_node *map, const char *const *allowed, const char *what,
                       nn_error *err)
{
    int rc = expect_map(map, what, err), index;
    for (size_t i = 0; !rc && i < map->n; i++)
        if (!in_list(map->keys[i]->value, allowed, &index))
            rc = unknown_name(err, map->keys[i], what, "key", allowed);
    return rc;
}

/* Finds key in map; *field is NULL when it is absent and not required. ctx gets the context
 * for messages about the value: "<what>: key '<key>'". */
static int map_field(const nn_node *map, const char *key, int required, const char *what,
                     const nn_node **field, char *ctx, size_t ctx_size, nn_error *err)
{
    *field = NULL;
    int rc = expect_map(map, what, err);
    if (rc)
        return rc;
    *field = nn_node_get(map, key);
    if (!*field && required)
        return nn_node_error(err, NN_E_CONFIG, map, "%s: missing required key '%s'", what, key);
    snprintf(ctx, ctx_size, "%s: key '%s'", what, key);
    return NN_OK;
}

int nn_map_long(const nn_node *map, const char *key, int required, long def, long min, long max,
                const char *what, long *out, nn_error *err)
{
    char ctx[512];
    const nn_node *field;
    int rc = map_field(map, key, required, what, &field, ctx, sizeof ctx, err);
    if (!rc && !field)
        *out = def;
    if (rc || !field)
        return rc;
    return nn_node_long(field, ctx, min, max, out, err);
}

int nn_map_double(const nn_node *map, const char *key, int required, double def, double min,
                  double max, const char *what, double *out, nn_error *err)
{
    char ctx[512];
    const nn_node *field;
    int rc = map_field(map, key, required, what, &field, ctx, sizeof ctx, err);
    if (!rc && !field)
        *out = def;
    if (rc || !field)
        return rc;
    return nn_node_double(field, ctx, min, max, out, err);
}

int nn_map_bool(const nn_node *map, const char *key, int required, int def, const char *what,
                int *out, nn_error *err)
{
    char ctx[512];
    const nn_node *field;
    int rc = map_field(map, key, required, what, &field, ctx, sizeof ctx, err);
    if (!rc && !field)
        *out = def;
    if (rc || !field)
        return rc;
    return nn_node_bool(field, ctx, out, err);
}

int nn_map_string(const nn_node *map, const char *key, int required, const char *def,
                  const char *what, const char **out, nn_error *err)
{
    char ctx[512];
    const nn_node *field;
    int rc = map_field(map, key, required, what, &field, ctx, sizeof ctx, err);
    if (!rc && !field)
        *out = def;
    if (rc || !field)
        return rc;
    return nn_node_string(field, ctx, out, err);
}

int nn_map_choice(const nn_node *map, const char *key, int required, int def,
                  const char *const *choices, const char *what, int *out, nn_error *err)
{
    char ctx[512];
    const nn_node *field;
    const char *text;
    int rc = map_field(map, key, required, what, &field, ctx, sizeof ctx, err);
    if (!rc && !field)
        *out = def;
    if (rc || !field)
        return rc;
    rc = nn_node_string(field, ctx, &text, err);
    if (!rc && !in_list(text, choices, out))
        rc = unknown_name(err, field, ctx, "value", choices);
    return rc;
}
