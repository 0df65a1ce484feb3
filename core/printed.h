/* Machine-printed characters: renders the 95 printable ASCII characters from font files with
 * FreeType into small grey cells, with seeded variations, and writes them as IDX files.
 *
 *   nn_printer *p;
 *   nn_printer_new(&p, &err);
 *   nn_printer_add_font(p, "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", &err);
 *   nn_render_opts o;
 *   nn_render_opts_default(&o);              // a 32x32 cell, the variations of the training set
 *   uint8_t cell[32 * 32];
 *   nn_printer_render(p, 0, 'A', &o, &rng, cell, &err);
 *
 * A cell is a piece of a text line: the character keeps its size and height relative to the
 * baseline (so 'o' is smaller than 'O', ',' sits lower than '\''). Its cap height (the height
 * of 'H' in that font) is drawn from [cap_min, cap_max] pixels; the baseline lies near row
 * baseline of the cell; the ink is centred horizontally. Label of a character: ch - 32.
 *
 * The generator (nn_printed_generate) reads a font list, one font a line:
 *     train /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
 *     test  /usr/share/fonts/truetype/liberation2/LiberationMono-Regular.ttf
 * ('#' starts a comment) and writes train and test IDX files, so that the test set holds only
 * faces the training set never saw. Errors name the list's line and the font file. */
#ifndef NN_PRINTED_H
#define NN_PRINTED_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "rng.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NN_PRINTED_FIRST 32 /* ' ' */
#define NN_PRINTED_LAST 126 /* '~' */
#define NN_PRINTED_CLASSES (NN_PRINTED_LAST - NN_PRINTED_FIRST + 1)
#define NN_PRINTED_MAX_FONTS 512

typedef struct nn_render_opts {
    int size;                   /* cell side in pixels (32) */
    float cap_min, cap_max;     /* cap height in pixels */
    float baseline;             /* row of the baseline, counted from the top */
    float shift_max;            /* uniform jitter of the position, +- pixels, each axis */
    float rotate_max_deg;       /* rotation, +- degrees */
    float shear_max;            /* horizontal shear (slant), +- */
    float stretch_max;          /* width scaled by 1 +- this */
    float stroke_min, stroke_max; /* stroke grown (>0) or thinned (<0) by this many pixels */
    float blur_max;             /* Gaussian blur, sigma up to this many pixels */
    float noise_max;            /* additive Gaussian noise, sigma up to this (0..255 scale) */
    float ink_min;              /* ink level drawn from [ink_min, 255] */
} nn_render_opts;

/* The variations of the training set. */
void nn_render_opts_default(nn_render_opts *o);
/* The same cell with every variation off: fixed size (the middle of the cap range), position,
 * no rotation, no noise. */
void nn_render_opts_plain(nn_render_opts *o);

typedef struct nn_printer nn_printer;

int nn_printer_new(nn_printer **out, nn_error *err);
void nn_printer_free(nn_printer *p);
/* Loads a font file (TrueType, OpenType, Type 1). Refuses a missing file ("<path>: no such font
 * file"), a file FreeType cannot read ("<path>: not a font FreeType can read"), and a face that
 * lacks a glyph for any printable ASCII character ("<path>: font 'Name' has no glyph for 'x'").
 * Returns the font's index through *index (may be NULL). */
int nn_printer_add_font(nn_printer *p, const char *path, int *index, nn_error *err);
int nn_printer_font_count(const nn_printer *p);
/* "Family Style", e.g. "DejaVu Sans Bold". */
const char *nn_printer_font_name(const nn_printer *p, int font);

/* Renders character ch (32..126) of font into out (o->size squared bytes, 0 = background,
 * 255 = full ink), drawing the variations from rng. */
int nn_printer_render(nn_printer *p, int font, int ch, const nn_render_opts *o, nn_rng *rng,
                      uint8_t *out, nn_error *err);

/* ---- the data set --------------------------------------------------------------------------- */

typedef struct nn_font_entry {
    int test;        /* 1: test split, 0: train */
    char *path;
    int line;        /* in the list file */
} nn_font_entry;

typedef struct nn_font_list {
    int n;
    nn_font_entry fonts[NN_PRINTED_MAX_FONTS];
} nn_font_list;

/* Parses a font list (see above). name is used in messages: "<name>:<line>:<col>: ...". */
int nn_font_list_parse(const char *text, size_t len, const char *name, nn_font_list *out,
                       nn_error *err);
int nn_font_list_load(const char *path, nn_font_list *out, nn_error *err);
void nn_font_list_free(nn_font_list *l);

typedef struct nn_printed_spec {
    const char *font_list;      /* path of the font list */
    const char *out_dir;        /* writes {train,test}-{images-idx3,labels-idx1}-ubyte here */
    int train_per_char;         /* samples of each character for each training font */
    int test_per_char;          /* the same for each test font */
    uint64_t seed;
    nn_render_opts render;
} nn_printed_spec;

typedef struct nn_printed_stats {
    int train_fonts, test_fonts;
    size_t train_n, test_n;
} nn_printed_stats;

/* Renders the whole set and writes the four IDX files (each sample order shuffled, so that the
 * first N samples are a fair subset). The same spec gives the same bytes. */
int nn_printed_generate(const nn_printed_spec *spec, nn_printed_stats *stats, nn_error *err);

/* Writes n images (rows x cols bytes each) and their labels as IDX3/IDX1 ubyte files. */
int nn_idx_save(const char *images_path, const char *labels_path, size_t n, int rows, int cols,
                const uint8_t *images, const uint8_t *labels, nn_error *err);

#ifdef __cplusplus
}
#endif
#endif
