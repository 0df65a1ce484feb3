/* 7x12 bitmaps of characters, used as fixed RBF prototypes (+1 ink, -1 background): the ten
 * digits built in (digits_7x12), and sets of glyphs read from text files such as
 * layers/glyphs_ascii.txt (the 95 printable ASCII characters, compiled into the library):
 *
 *   ; a comment
 *   char 'A'
 *   .......        12 rows of 7: '#' ink, '.' background
 *   ...#...
 *   ...
 */
#ifndef NN_GLYPHS_H
#define NN_GLYPHS_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define NN_GLYPH_W 7
#define NN_GLYPH_H 12
#define NN_GLYPH_MAX 95 /* one glyph per printable ASCII character at most */

/* Rows of '#' (ink) and '.' (background) of a digit; NULL if ch is not a digit. */
const char *const *nn_glyph_rows(char ch);

typedef struct nn_glyph_set {
    int n;
    char ch[NN_GLYPH_MAX];                           /* the characters, in file order */
    uint8_t ink[NN_GLYPH_MAX][NN_GLYPH_W * NN_GLYPH_H]; /* 1 = ink, row-major */
} nn_glyph_set;

/* Parses a glyph file. Errors say "<name>:<line>:<col>: " and what was expected: a `char 'X'`
 * line (X printable ASCII), rows of exactly 7 '#' or '.', 12 rows a glyph, each character once;
 * an empty file is an error too. */
int nn_glyph_set_parse(const char *text, size_t len, const char *name, nn_glyph_set *out,
                       nn_error *err);
int nn_glyph_set_load(const char *path, nn_glyph_set *out, nn_error *err);
/* The 95 printable ASCII characters in order, ' ' to '~' (layers/glyphs_ascii.txt). */
int nn_glyph_set_ascii(nn_glyph_set *out, nn_error *err);
/* Index of ch in the set, or -1. */
int nn_glyph_set_find(const nn_glyph_set *s, char ch);

/* The text of layers/glyphs_ascii.txt, compiled in by the Makefile. */
extern const char nn_glyphs_ascii_text[];
extern const size_t nn_glyphs_ascii_len;

#endif
