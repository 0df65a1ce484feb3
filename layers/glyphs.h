/* 7x12 bitmaps of characters, used as fixed RBF prototypes (+1 ink, -1 background). */
#ifndef NN_GLYPHS_H
#define NN_GLYPHS_H

#define NN_GLYPH_W 7
#define NN_GLYPH_H 12

/* Rows of '#' (ink) and '.' (background); NULL if the character has no glyph. */
const char *const *nn_glyph_rows(char ch);

#endif
