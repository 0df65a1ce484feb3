/* The digit prototypes of LeNet-5's output layer, drawn for legibility: each is a 7-wide,
 * 12-tall bitmap; '#' is ink (+1), '.' is background (-1). */
#include "glyphs.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"

static const char *const digits[10][NN_GLYPH_H] = {
    {".......", "..###..", ".#...#.", "#.....#", "#.....#", "#.....#",
     "#.....#", "#.....#", "#.....#", ".#...#.", "..###..", "......."},
    {".......", "...#...", "..##...", ".#.#...", "...#...", "...#...",
     "...#...", "...#...", "...#...", "...#...", ".#####.", "......."},
    {".......", "..###..", ".#...#.", "#.....#", "......#", ".....#.",
     "....#..", "...#...", "..#....", ".#.....", "#######", "......."},
    {".......", "#######", ".....#.", "....#..", "...#...", "..####.",
     "......#", "......#", "......#", "#.....#", ".#####.", "......."},
    {".......", "....##.", "...#.#.", "..#..#.", ".#...#.", "#....#.",
     "#######", ".....#.", ".....#.", ".....#.", ".....#.", "......."},
    {".......", "#######", "#......", "#......", "######.", "......#",
     "......#", "......#", "......#", "#.....#", ".#####.", "......."},
    {".......", "..####.", ".#.....", "#......", "#......", "######.",
     "#.....#", "#.....#", "#.....#", "#.....#", ".#####.", "......."},
    {".......", "#######", "......#", ".....#.", ".....#.", "....#..",
     "....#..", "...#...", "...#...", "..#....", "..#....", "......."},
    {".......", "..###..", ".#...#.", ".#...#.", ".#...#.", "..###..",
     ".#...#.", "#.....#", "#.....#", "#.....#", ".#####.", "......."},
    {".......", ".#####.", "#.....#", "#.....#", "#.....#", "#.....#",
     ".######", "......#", "......#", ".....#.", ".####..", "......."},
};

const char *const *nn_glyph_rows(char ch)
{
    if (ch >= '0' && ch <= '9')
        return digits[ch - '0'];
    return NULL;
}

int nn_glyph_set_find(const nn_glyph_set *s, char ch)
{
    for (int i = 0; i < s->n; i++)
        if (s->ch[i] == ch)
            return i;
    return -1;
}

static int is_printable(unsigned char c) { return c >= 32 && c <= 126; }

/* Quotes a piece of a line for a message: at most 20 bytes, control bytes as '?'. */
static const char *shown(const char *s, size_t n, char *buf, size_t size)
{
    size_t k = 0;
    for (size_t i = 0; i < n && i < 20 && k + 4 < size; i++)
        buf[k++] = is_printable((unsigned char)s[i]) ? s[i] : '?';
    if (n > 20 && k + 4 < size)
        buf[k++] = '.', buf[k++] = '.', buf[k++] = '.';
    buf[k] = '\0';
    return buf;
}

int nn_glyph_set_parse(const char *text, size_t len, const char *name, nn_glyph_set *out,
                       nn_error *err)
{
    memset(out, 0, sizeof *out);
    int first_line[NN_GLYPH_MAX] = {0};
    int line = 0, row = NN_GLYPH_H, cur = -1, header_line = 0;
    char buf[32];
    for (size_t pos = 0; pos <= len;) {
        size_t end = pos;
        while (end < len && text[end] != '\n')
            end++;
        if (pos == len && (len == 0 || text[len - 1] == '\n'))
            break; /* no line after the final newline */
        line++;
        const char *s = text + pos;
        size_t n = end - pos;
        pos = end + 1;
        if (n && s[n - 1] == '\r')
            n--;
        if (row < NN_GLYPH_H) { /* inside a glyph: a row */
            if (n != NN_GLYPH_W)
                return nn_error_set(err, NN_E_CONFIG,
                                    "%s:%d:1: glyph '%c': row %d has %zu characters, expected "
                                    "%d of '#' or '.'",
                                    name, line, out->ch[cur], row + 1, n, NN_GLYPH_W);
            for (size_t i = 0; i < n; i++) {
                if (s[i] != '#' && s[i] != '.')
                    return nn_error_set(err, NN_E_CONFIG,
                                        "%s:%d:%zu: glyph '%c': expected '#' or '.', got '%s'",
                                        name, line, i + 1, out->ch[cur],
                                        shown(s + i, 1, buf, sizeof buf));
                out->ink[cur][row * NN_GLYPH_W + i] = s[i] == '#';
            }
            row++;
            continue;
        }
        size_t lead = 0;
        while (lead < n && (s[lead] == ' ' || s[lead] == '\t'))
            lead++;
        if (lead == n || s[lead] == ';')
            continue;
        size_t m = n;
        while (m > lead && (s[m - 1] == ' ' || s[m - 1] == '\t'))
            m--;
        if (m - lead != 8 || memcmp(s + lead, "char '", 6) || s[lead + 7] != '\'' ||
            !is_printable((unsigned char)s[lead + 6]))
            return nn_error_set(err, NN_E_CONFIG,
                                "%s:%d:%zu: expected a glyph header such as `char 'A'` (one "
                                "printable ASCII character in quotes), got '%s'",
                                name, line, lead + 1, shown(s + lead, m - lead, buf, sizeof buf));
        char c = s[lead + 6];
        int seen = nn_glyph_set_find(out, c);
        if (seen >= 0)
            return nn_error_set(err, NN_E_CONFIG, "%s:%d:%zu: glyph '%c' is already drawn at line %d",
                                name, line, lead + 1, c, first_line[seen]);
        cur = out->n++;
        out->ch[cur] = c;
        first_line[cur] = line;
        header_line = line;
        row = 0;
    }
    if (row < NN_GLYPH_H)
        return nn_error_set(err, NN_E_CONFIG,
                            "%s:%d: glyph '%c' (line %d) ends after %d rows, expected %d", name,
                            line, out->ch[cur], header_line, row, NN_GLYPH_H);
    if (out->n == 0)
        return nn_error_set(err, NN_E_CONFIG, "%s: no glyphs (expected blocks of `char 'X'` and "
                            "%d rows)", name, NN_GLYPH_H);
    return NN_OK;
}

int nn_glyph_set_load(const char *path, nn_glyph_set *out, nn_error *err)
{
    uint8_t *bytes;
    size_t len;
    memset(out, 0, sizeof *out);
    int rc = nn_read_file_maybe_gz(path, 1u << 20, &bytes, &len, err);
    if (rc)
        return rc;
    rc = nn_glyph_set_parse((const char *)bytes, len, path, out, err);
    free(bytes);
    return rc;
}

int nn_glyph_set_ascii(nn_glyph_set *out, nn_error *err)
{
    int rc = nn_glyph_set_parse(nn_glyphs_ascii_text, nn_glyphs_ascii_len,
                                "layers/glyphs_ascii.txt", out, err);
    if (rc)
        return rc;
    for (int i = 0; i < out->n; i++)
        if (out->ch[i] != (char)(32 + i))
            return nn_error_set(err, NN_E_CONFIG,
                                "layers/glyphs_ascii.txt: glyph %d is '%c', expected '%c'", i,
                                out->ch[i], 32 + i);
    if (out->n != 95)
        return nn_error_set(err, NN_E_CONFIG, "layers/glyphs_ascii.txt: %d glyphs, expected 95",
                            out->n);
    return NN_OK;
}
