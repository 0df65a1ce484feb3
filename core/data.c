/* IDX datasets kept as the bytes of their files (MNIST is 47 MB as bytes, 188 MB as floats);
 * floats are made per batch. PGM in and out for `predict`. */
#include "data.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* The largest MNIST file is 47 MB; a file past 1 GiB is hostile or not what we think it is. */
#define IDX_MAX_FILE_BYTES ((size_t)1 << 30)
/* A 4096x4096 P2 of "255 " tokens is 64 MiB; leave room for generous whitespace and comments. */
#define PGM_MAX_FILE_BYTES ((size_t)256 << 20)
#define PGM_MAX_SIDE 4096
#define PGM_MAX_NUMBER 100000000u
#define READ_CHUNK_BYTES ((size_t)1 << 16)

#define IDX_IMAGES_MAGIC 0x00000803u
#define IDX_LABELS_MAGIC 0x00000801u
#define IDX_UBYTE 0x08u

/* ---------------------------------------------------------------------------------------------
 * Whole files, raw or gzip. The buffer grows as data arrives, so a lying gzip trailer or a huge
 * inflation ratio costs at most max_bytes + 1, never an allocation sized from the input. */

typedef struct growbuf {
    uint8_t *data;
    size_t len, cap, max;
} growbuf;

static int too_large(const char *path, size_t max, const char *how, nn_error *err)
{
    return nn_error_set(err, NN_E_DATA, "%s: more than %zu bytes%s, refusing to read it", path,
                        max, how);
}

/* Makes room for at least one more byte; the cap stops at max + 1 so that overflowing max shows
 * up as len > max. Callers ensure len <= max. */
static int grow(growbuf *b, const char *path, nn_error *err)
{
    if (b->len < b->cap)
        return NN_OK;
    size_t limit = b->max + 1;
    size_t cap = b->cap == 0 ? READ_CHUNK_BYTES : (b->cap > limit / 2 ? limit : 2 * b->cap);
    if (cap > limit)
        cap = limit;
    uint8_t *p = realloc(b->data, cap);
    if (!p)
        return nn_error_set(err, NN_E_NOMEM, "%s: out of memory reading %zu bytes", path, cap);
    b->data = p;
    b->cap = cap;
    return NN_OK;
}

/* Reads until `want` bytes or end of file; *got < want only at end of file. */
static int read_full(int fd, uint8_t *buf, size_t want, size_t *got, const char *path,
                     nn_error *err)
{
    *got = 0;
    while (*got < want) {
        ssize_t n = read(fd, buf + *got, want - *got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return nn_error_set(err, NN_E_IO, "%s: read error: %s", path, strerror(errno));
        if (n == 0)
            break;
        *got += (size_t)n;
    }
    return NN_OK;
}

static int open_input(const char *path, const char *missing_hint, int *fd_out, nn_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
        return nn_error_set(err, NN_E_IO, "%s: no such file%s", path, missing_hint);
    if (fd < 0)
        return nn_error_set(err, NN_E_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    int rc = NN_OK;
    if (fstat(fd, &st) != 0)
        rc = nn_error_set(err, NN_E_IO, "%s: cannot stat: %s", path, strerror(errno));
    else if (S_ISDIR(st.st_mode))
        rc = nn_error_set(err, NN_E_IO, "%s: is a directory, expected a file", path);
    if (rc != NN_OK) {
        close(fd);
        return rc;
    }
    *fd_out = fd;
    return NN_OK;
}

static int read_raw(int fd, const char *path, growbuf *b, nn_error *err)
{
    for (;;) {
        if (b->len > b->max)
            return too_large(path, b->max, "", err);
        int rc = grow(b, path, err);
        size_t got;
        if (rc == NN_OK)
            rc = read_full(fd, b->data + b->len, b->cap - b->len, &got, path, err);
        if (rc != NN_OK)
            return rc;
        b->len += got;
        if (got == 0)
            return NN_OK;
    }
}

typedef struct gz_input {
    int fd, eof;
    const char *path;
    uint8_t *in;
    z_stream zs;
} gz_input;

static int gz_refill(gz_input *g, nn_error *err)
{
    if (g->zs.avail_in > 0 || g->eof)
        return NN_OK;
    size_t got;
    int rc = read_full(g->fd, g->in, READ_CHUNK_BYTES, &got, g->path, err);
    g->eof = rc == NN_OK && got == 0;
    g->zs.next_in = g->in;
    g->zs.avail_in = (uInt)got;
    return rc;
}

/* One inflate call into the free part of b; *done once the last member has ended. */
static int gz_step(gz_input *g, growbuf *b, int *done, nn_error *err)
{
    size_t room = b->cap - b->len;
    g->zs.next_out = b->data + b->len;
    g->zs.avail_out = room > UINT_MAX ? UINT_MAX : (uInt)room;
    int zrc = inflate(&g->zs, Z_NO_FLUSH);
    b->len += (size_t)(g->zs.next_out - (b->data + b->len));
    if (zrc == Z_STREAM_END) {
        int rc = gz_refill(g, err);
        if (rc != NN_OK)
            return rc;
        /* More input after a member is another member (as `cat a.gz b.gz` makes). */
        *done = g->zs.avail_in == 0;
        if (*done || inflateReset(&g->zs) == Z_OK)
            return NN_OK;
        return nn_error_set(err, NN_E_DATA, "%s: corrupt gzip data: %s", g->path,
                            g->zs.msg ? g->zs.msg : "cannot restart after a member");
    }
    if (zrc == Z_OK || (zrc == Z_BUF_ERROR && !(g->eof && g->zs.avail_in == 0)))
        return NN_OK;
    if (zrc == Z_BUF_ERROR)
        return nn_error_set(err, NN_E_DATA, "%s: corrupt gzip data: unexpected end of file",
                            g->path);
    if (zrc == Z_MEM_ERROR)
        return nn_error_set(err, NN_E_NOMEM, "%s: out of memory inflating", g->path);
    return nn_error_set(err, NN_E_DATA, "%s: corrupt gzip data: %s", g->path,
                        g->zs.msg ? g->zs.msg : "unknown error");
}

static int gz_loop(gz_input *g, growbuf *b, nn_error *err)
{
    int done = 0, rc = NN_OK;
    while (rc == NN_OK && !done) {
        if (b->len > b->max)
            return too_large(g->path, b->max, " after inflation", err);
        rc = gz_refill(g, err);
        if (rc == NN_OK)
            rc = grow(b, g->path, err);
        if (rc == NN_OK)
            rc = gz_step(g, b, &done, err);
    }
    /* The last step may have filled the spare byte past max. */
    if (rc == NN_OK && b->len > b->max)
        return too_large(g->path, b->max, " after inflation", err);
    return rc;
}

static int read_gz(int fd, const char *path, const uint8_t *head, size_t head_len, growbuf *b,
                   nn_error *err)
{
    gz_input g = {.fd = fd, .path = path};
    g.in = malloc(READ_CHUNK_BYTES);
    if (!g.in)
        return nn_error_set(err, NN_E_NOMEM, "%s: out of memory", path);
    /* 16 + MAX_WBITS: gzip wrapper only; the caller saw the magic. */
    if (inflateInit2(&g.zs, 16 + MAX_WBITS) != Z_OK) {
        free(g.in);
        return nn_error_set(err, NN_E_NOMEM, "%s: cannot start zlib", path);
    }
    memcpy(g.in, head, head_len);
    g.zs.next_in = g.in;
    g.zs.avail_in = (uInt)head_len;
    int rc = gz_loop(&g, b, err);
    inflateEnd(&g.zs);
    free(g.in);
    return rc;
}

static int read_whole(const char *path, size_t max_bytes, const char *missing_hint, uint8_t **out,
                      size_t *len, nn_error *err)
{
    if (!path || !out || !len)
        return nn_error_set(err, NN_E_USAGE, "read_file: NULL argument");
    *out = NULL;
    *len = 0;
    int fd = -1;
    int rc = open_input(path, missing_hint, &fd, err);
    if (rc != NN_OK)
        return rc;
    /* max + 1 must not wrap. */
    growbuf b = {.max = max_bytes < SIZE_MAX ? max_bytes : SIZE_MAX - 1};
    uint8_t head[2];
    size_t got;
    rc = read_full(fd, head, sizeof head, &got, path, err);
    if (rc == NN_OK && got == 2 && head[0] == 0x1f && head[1] == 0x8b) {
        rc = read_gz(fd, path, head, got, &b, err);
    } else if (rc == NN_OK) {
        rc = got > b.max ? too_large(path, b.max, "", err) : grow(&b, path, err);
        if (rc == NN_OK) {
            memcpy(b.data, head, got);
            b.len = got;
            rc = read_raw(fd, path, &b, err);
        }
    }
    close(fd);
    if (rc != NN_OK) {
        free(b.data);
        return rc;
    }
    *out = b.data;
    *len = b.len;
    return NN_OK;
}

int nn_read_file_maybe_gz(const char *path, size_t max_bytes, uint8_t **out, size_t *len,
                          nn_error *err)
{
    return read_whole(path, max_bytes, "", out, len, err);
}

/* ---------------------------------------------------------------------------------------------
 * IDX */

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static int mul_size(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a)
        return 0;
    *out = a * b;
    return 1;
}

static const char *idx_type_name(unsigned type)
{
    switch (type) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "short";
    case 0x0C: return "int";
    case 0x0D: return "float";
    case 0x0E: return "double";
    }
    return "unknown";
}

/* kind is "image" or "label"; the other kind's magic gets a hint since swapped paths are the
 * likely mistake. */
static int idx_check_magic(const char *path, const uint8_t *bytes, size_t len, uint32_t expect,
                           const char *kind, nn_error *err)
{
    if (len < 4)
        return nn_error_set(err, NN_E_DATA, "%s: not an IDX %s file (%zu bytes, expected magic "
                            "0x%08x)", path, kind, len, (unsigned)expect);
    uint32_t magic = be32(bytes);
    if ((magic & 0xFFFF00FFu) == (expect & 0xFFFF00FFu) && (magic >> 8 & 0xFFu) != IDX_UBYTE) {
        unsigned type = magic >> 8 & 0xFFu;
        return nn_error_set(err, NN_E_DATA, "%s: IDX element type 0x%02x (%s), expected 0x08 "
                            "(unsigned byte)", path, type, idx_type_name(type));
    }
    if (magic == expect)
        return NN_OK;
    const char *hint = "";
    if (expect == IDX_IMAGES_MAGIC && magic == IDX_LABELS_MAGIC)
        hint = "; it looks like a label file";
    else if (expect == IDX_LABELS_MAGIC && magic == IDX_IMAGES_MAGIC)
        hint = "; it looks like an image file";
    return nn_error_set(err, NN_E_DATA, "%s: not an IDX %s file (magic 0x%08x, expected 0x%08x)%s",
                        path, kind, (unsigned)magic, (unsigned)expect, hint);
}

static int idx_read_dim(const char *path, const uint8_t *p, const char *what, uint32_t limit,
                        uint32_t *out, nn_error *err)
{
    uint32_t v = be32(p);
    if (v == 0)
        return nn_error_set(err, NN_E_DATA, "%s: header says 0 %s, expected at least 1", path,
                            what);
    if (v > limit)
        return nn_error_set(err, NN_E_DATA, "%s: header says %u %s, more than the limit of %u",
                            path, (unsigned)v, what, (unsigned)limit);
    *out = v;
    return NN_OK;
}

typedef struct idx_file {
    const char *path;
    uint8_t *bytes;     /* the whole file, header included, until trimmed */
    size_t len;
    int is_images;
    uint32_t n, rows, cols;  /* rows = cols = 1 for labels */
    size_t data_bytes;  /* n * rows * cols */
} idx_file;

static int idx_check_size(const idx_file *f, size_t header_bytes, nn_error *err)
{
    size_t have = f->len - header_bytes;
    if (have == f->data_bytes)
        return NN_OK;
    char says[128];
    if (!f->is_images)
        snprintf(says, sizeof says, "%u labels", (unsigned)f->n);
    else
        snprintf(says, sizeof says, "%u images of %ux%u", (unsigned)f->n, (unsigned)f->rows,
                 (unsigned)f->cols);
    if (have < f->data_bytes)
        return nn_error_set(err, NN_E_DATA, "%s: truncated: header says %s (%zu bytes of data), "
                            "file has %zu bytes of data", f->path, says, f->data_bytes, have);
    return nn_error_set(err, NN_E_DATA, "%s: %zu trailing bytes: header says %s (%zu bytes of "
                        "data), file has %zu bytes of data", f->path, have - f->data_bytes, says,
                        f->data_bytes, have);
}

static int idx_parse_images(idx_file *f, nn_error *err)
{
    int rc = idx_check_magic(f->path, f->bytes, f->len, IDX_IMAGES_MAGIC, "image", err);
    if (rc == NN_OK && f->len < 16)
        rc = nn_error_set(err, NN_E_DATA, "%s: truncated: %zu bytes, an IDX image header needs 16",
                          f->path, f->len);
    if (rc == NN_OK)
        rc = idx_read_dim(f->path, f->bytes + 4, "images", NN_IDX_MAX_ITEMS, &f->n, err);
    if (rc == NN_OK)
        rc = idx_read_dim(f->path, f->bytes + 8, "rows", NN_IDX_MAX_DIM, &f->rows, err);
    if (rc == NN_OK)
        rc = idx_read_dim(f->path, f->bytes + 12, "columns", NN_IDX_MAX_DIM, &f->cols, err);
    if (rc != NN_OK)
        return rc;
    size_t per_image;
    if (!mul_size(f->rows, f->cols, &per_image) || !mul_size(per_image, f->n, &f->data_bytes))
        return nn_error_set(err, NN_E_DATA, "%s: header says %u images of %ux%u, too large for "
                            "this machine", f->path, (unsigned)f->n, (unsigned)f->rows,
                            (unsigned)f->cols);
    return idx_check_size(f, 16, err);
}

static int idx_parse_labels(idx_file *f, nn_error *err)
{
    int rc = idx_check_magic(f->path, f->bytes, f->len, IDX_LABELS_MAGIC, "label", err);
    if (rc == NN_OK && f->len < 8)
        rc = nn_error_set(err, NN_E_DATA, "%s: truncated: %zu bytes, an IDX label header needs 8",
                          f->path, f->len);
    if (rc == NN_OK)
        rc = idx_read_dim(f->path, f->bytes + 4, "labels", NN_IDX_MAX_ITEMS, &f->n, err);
    if (rc != NN_OK)
        return rc;
    f->rows = f->cols = 1;
    f->data_bytes = f->n;
    return idx_check_size(f, 8, err);
}

static int idx_load(idx_file *f, nn_error *err)
{
    int rc = read_whole(f->path, IDX_MAX_FILE_BYTES, " (run `make data`)", &f->bytes, &f->len,
                        err);
    if (rc != NN_OK)
        return rc;
    return f->is_images ? idx_parse_images(f, err) : idx_parse_labels(f, err);
}

/* Every label in the file is checked, not only the kept ones: a bad one means a bad file. */
static int check_labels(const idx_file *lb, int max_classes, nn_error *err)
{
    const uint8_t *labels = lb->bytes + 8;
    for (size_t i = 0; i < lb->n; i++)
        if (labels[i] >= max_classes)
            return nn_error_set(err, NN_E_DATA, "%s: label %u at index %zu is outside 0..%d",
                                lb->path, (unsigned)labels[i], i, max_classes - 1);
    return NN_OK;
}

/* Moves the first `keep` items over the header and gives back the rest of the buffer. */
static uint8_t *trim(idx_file *f, size_t header_bytes, size_t keep)
{
    size_t bytes = keep * (size_t)f->rows * f->cols;
    memmove(f->bytes, f->bytes + header_bytes, bytes);
    uint8_t *p = realloc(f->bytes, bytes);
    uint8_t *data = p ? p : f->bytes; /* a failed shrink leaves a valid, larger block */
    f->bytes = NULL;
    return data;
}

int nn_dataset_load_idx(const char *images_path, const char *labels_path, int max_classes,
                        size_t limit, nn_dataset *out, nn_error *err)
{
    if (!images_path || !labels_path || !out)
        return nn_error_set(err, NN_E_USAGE, "nn_dataset_load_idx: NULL argument");
    memset(out, 0, sizeof *out);
    if (max_classes < 1 || max_classes > 256)
        return nn_error_set(err, NN_E_USAGE, "max_classes %d is outside 1..256", max_classes);
    idx_file im = {.path = images_path, .is_images = 1}, lb = {.path = labels_path};
    int rc = idx_load(&im, err);
    if (rc == NN_OK)
        rc = idx_load(&lb, err);
    if (rc == NN_OK && im.n != lb.n)
        rc = nn_error_set(err, NN_E_DATA, "%s has %u images but %s has %u labels, expected the "
                          "same number", im.path, (unsigned)im.n, lb.path, (unsigned)lb.n);
    if (rc == NN_OK)
        rc = check_labels(&lb, max_classes, err);
    if (rc != NN_OK) {
        free(im.bytes);
        free(lb.bytes);
        return rc;
    }
    size_t keep = limit > 0 && limit < im.n ? limit : im.n;
    out->n = keep;
    out->rows = (int)im.rows;
    out->cols = (int)im.cols;
    out->images = trim(&im, 16, keep);
    out->labels = trim(&lb, 8, keep);
    out->n_classes = max_classes;
    return NN_OK;
}

void nn_dataset_free(nn_dataset *ds)
{
    if (!ds)
        return;
    free(ds->images);
    free(ds->labels);
    memset(ds, 0, sizeof *ds);
}

void nn_dataset_to_float(const nn_dataset *ds, const size_t *index, size_t count, int pad,
                         float lo, float hi, float *out)
{
    assert(ds && (count == 0 || (index && out)) && pad >= 0);
    float table[256];
    for (int v = 0; v < 256; v++)
        table[v] = (float)((double)lo + ((double)hi - (double)lo) * v / 255.0);
    table[255] = hi; /* exact ends, whatever the rounding in between */
    size_t rows = (size_t)ds->rows, cols = (size_t)ds->cols, p = (size_t)pad;
    size_t out_cols = cols + 2 * p, image_bytes = rows * cols;
    for (size_t s = 0; s < count; s++) {
        assert(index[s] < ds->n);
        const uint8_t *img = ds->images + index[s] * image_bytes;
        for (size_t i = 0; i < p * out_cols; i++)
            *out++ = lo;
        for (size_t r = 0; r < rows; r++) {
            for (size_t i = 0; i < p; i++)
                *out++ = lo;
            for (size_t c = 0; c < cols; c++)
                *out++ = table[img[r * cols + c]];
            for (size_t i = 0; i < p; i++)
                *out++ = lo;
        }
        for (size_t i = 0; i < p * out_cols; i++)
            *out++ = lo;
    }
}

/* ---------------------------------------------------------------------------------------------
 * PGM */

typedef struct pgm_cursor {
    const char *path;
    const uint8_t *p, *start, *end;
} pgm_cursor;

static int is_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static void skip_space_and_comments(pgm_cursor *c)
{
    while (c->p < c->end) {
        if (*c->p == '#') {
            while (c->p < c->end && *c->p != '\n')
                c->p++;
        } else if (is_space(*c->p)) {
            c->p++;
        } else {
            return;
        }
    }
}

/* Reads a decimal number that must be followed by whitespace, '#' or the end of the file.
 * Numbers past PGM_MAX_NUMBER are garbage; smaller ones get a precise message from the caller. */
static int read_number(pgm_cursor *c, const char *what, unsigned *out, nn_error *err)
{
    skip_space_and_comments(c);
    if (c->p == c->end)
        return nn_error_set(err, NN_E_DATA, "%s: truncated: expected %s, found end of file",
                            c->path, what);
    const uint8_t *first = c->p;
    unsigned v = 0;
    int big = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        v = v * 10 + (unsigned)(*c->p++ - '0');
        big |= v > PGM_MAX_NUMBER;
        v = big ? 0 : v;
    }
    if (c->p == first || (c->p < c->end && !is_space(*c->p) && *c->p != '#'))
        return nn_error_set(err, NN_E_DATA, "%s: bad PGM: expected %s at byte %zu", c->path, what,
                            (size_t)(first - c->start));
    if (big)
        return nn_error_set(err, NN_E_DATA, "%s: bad PGM: %s at byte %zu is too large", c->path,
                            what, (size_t)(first - c->start));
    *out = v;
    return NN_OK;
}

static int pgm_magic(pgm_cursor *c, int *binary, nn_error *err)
{
    static const char *const kinds[] = {"", "PBM (P1)", "PGM", "PPM (P3)", "PBM (P4)", "PGM",
                                        "PPM (P6)", "PAM (P7)"};
    if (c->end - c->p < 2 || c->p[0] != 'P' || c->p[1] < '1' || c->p[1] > '7')
        return nn_error_set(err, NN_E_DATA, "%s: not a PGM file (expected magic P5 or P2)",
                            c->path);
    int k = c->p[1] - '0';
    if (k != 2 && k != 5)
        return nn_error_set(err, NN_E_DATA, "%s: a %s file, expected a PGM (P5 or P2)", c->path,
                            kinds[k]);
    *binary = k == 5;
    c->p += 2;
    if (c->p < c->end && !is_space(*c->p) && *c->p != '#')
        return nn_error_set(err, NN_E_DATA, "%s: not a PGM file (expected whitespace after P%d)",
                            c->path, k);
    return NN_OK;
}

static int pgm_header(pgm_cursor *c, int *w, int *h, unsigned *maxval, nn_error *err)
{
    unsigned uw = 0, uh = 0;
    int rc = read_number(c, "the width", &uw, err);
    if (rc == NN_OK)
        rc = read_number(c, "the height", &uh, err);
    if (rc == NN_OK)
        rc = read_number(c, "the maxval", maxval, err);
    if (rc != NN_OK)
        return rc;
    if (uw == 0 || uh == 0)
        return nn_error_set(err, NN_E_DATA, "%s: bad PGM header: size %ux%u, expected at least 1x1",
                            c->path, uw, uh);
    if (uw > PGM_MAX_SIDE || uh > PGM_MAX_SIDE)
        return nn_error_set(err, NN_E_DATA, "%s: too large: %ux%u, the limit is %d a side",
                            c->path, uw, uh, PGM_MAX_SIDE);
    if (*maxval == 0 || *maxval > 65535)
        return nn_error_set(err, NN_E_DATA, "%s: bad PGM header: maxval %u, expected 1..255",
                            c->path, *maxval);
    if (*maxval > 255)
        return nn_error_set(err, NN_E_DATA, "%s: 16-bit PGM (maxval %u) is not supported, expected "
                            "maxval 1..255", c->path, *maxval);
    *w = (int)uw;
    *h = (int)uh;
    return NN_OK;
}

static int pgm_pixel(const char *path, unsigned v, unsigned maxval, size_t i, int w, uint8_t *out,
                     nn_error *err)
{
    if (v > maxval)
        return nn_error_set(err, NN_E_DATA, "%s: pixel (%zu,%zu) is %u, more than maxval %u",
                            path, i % (size_t)w, i / (size_t)w, v, maxval);
    *out = (uint8_t)((v * 255 + maxval / 2) / maxval);
    return NN_OK;
}

/* Bytes after the raster are ignored: Netpbm allows several images in one file. */
static int pgm_raster_binary(pgm_cursor *c, int w, int h, unsigned maxval, uint8_t *px,
                             nn_error *err)
{
    size_t need = (size_t)w * (size_t)h;
    size_t have = (size_t)(c->end - c->p);
    if (have < need)
        return nn_error_set(err, NN_E_DATA, "%s: truncated: header says %dx%d (%zu bytes of "
                            "pixels), file has %zu", c->path, w, h, need, have);
    for (size_t i = 0; i < need; i++) {
        int rc = pgm_pixel(c->path, c->p[i], maxval, i, w, &px[i], err);
        if (rc != NN_OK)
            return rc;
    }
    return NN_OK;
}

static int pgm_raster_ascii(pgm_cursor *c, int w, int h, unsigned maxval, uint8_t *px,
                            nn_error *err)
{
    size_t need = (size_t)w * (size_t)h;
    for (size_t i = 0; i < need; i++) {
        unsigned v;
        skip_space_and_comments(c);
        if (c->p == c->end)
            return nn_error_set(err, NN_E_DATA, "%s: truncated: header says %dx%d (%zu pixels), "
                                "file has %zu", c->path, w, h, need, i);
        int rc = read_number(c, "a pixel value", &v, err);
        if (rc == NN_OK)
            rc = pgm_pixel(c->path, v, maxval, i, w, &px[i], err);
        if (rc != NN_OK)
            return rc;
    }
    return NN_OK;
}

/* P5: exactly one whitespace byte after maxval, since the raster may begin with a '#' or space. */
static int pgm_end_of_header(pgm_cursor *c, nn_error *err)
{
    if (c->p == c->end)
        return nn_error_set(err, NN_E_DATA, "%s: truncated: no pixels after the header", c->path);
    if (!is_space(*c->p))
        return nn_error_set(err, NN_E_DATA, "%s: bad PGM header: expected one whitespace byte "
                            "after maxval at byte %zu", c->path, (size_t)(c->p - c->start));
    c->p++;
    return NN_OK;
}

static int pgm_parse(pgm_cursor *c, int *w, int *h, uint8_t **pixels, nn_error *err)
{
    int binary = 0;
    unsigned maxval = 0;
    int rc = pgm_magic(c, &binary, err);
    if (rc == NN_OK)
        rc = pgm_header(c, w, h, &maxval, err);
    if (rc == NN_OK && binary)
        rc = pgm_end_of_header(c, err);
    if (rc != NN_OK)
        return rc;
    uint8_t *px = malloc((size_t)*w * (size_t)*h);
    if (!px)
        return nn_error_set(err, NN_E_NOMEM, "%s: out of memory for %dx%d pixels", c->path, *w,
                            *h);
    rc = binary ? pgm_raster_binary(c, *w, *h, maxval, px, err)
                : pgm_raster_ascii(c, *w, *h, maxval, px, err);
    if (rc != NN_OK) {
        free(px);
        return rc;
    }
    *pixels = px;
    return NN_OK;
}

int nn_pgm_load(const char *path, int *w, int *h, uint8_t **pixels, nn_error *err)
{
    if (!path || !w || !h || !pixels)
        return nn_error_set(err, NN_E_USAGE, "nn_pgm_load: NULL argument");
    *pixels = NULL;
    uint8_t *bytes;
    size_t len;
    int rc = read_whole(path, PGM_MAX_FILE_BYTES, "", &bytes, &len, err);
    if (rc != NN_OK)
        return rc;
    pgm_cursor c = {.path = path, .p = bytes, .start = bytes, .end = bytes + len};
    int tw = 0, th = 0;
    rc = pgm_parse(&c, &tw, &th, pixels, err);
    free(bytes);
    if (rc == NN_OK) {
        *w = tw;
        *h = th;
    }
    return rc;
}

int nn_pgm_save(const char *path, int w, int h, const uint8_t *pixels, nn_error *err)
{
    if (!path || !pixels)
        return nn_error_set(err, NN_E_USAGE, "nn_pgm_save: NULL argument");
    if (w < 1 || h < 1 || w > PGM_MAX_SIDE || h > PGM_MAX_SIDE)
        return nn_error_set(err, NN_E_USAGE, "%s: size %dx%d is outside 1..%d a side", path, w, h,
                            PGM_MAX_SIDE);
    FILE *f = fopen(path, "wb");
    if (!f)
        return nn_error_set(err, NN_E_IO, "%s: cannot create: %s", path, strerror(errno));
    size_t n = (size_t)w * (size_t)h;
    int ok = fprintf(f, "P5\n%d %d\n255\n", w, h) > 0 && fwrite(pixels, 1, n, f) == n &&
             fflush(f) == 0;
    int saved_errno = errno;
    struct stat st;
    int regular = fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode);
    if (fclose(f) != 0 && ok) {
        ok = 0;
        saved_errno = errno;
    }
    if (ok)
        return NN_OK;
    /* A half-written image would load later as a confusing "truncated"; better no file. Only a
     * regular file: the path may be a device or a FIFO. */
    if (regular)
        remove(path);
    return nn_error_set(err, NN_E_IO, "%s: write error: %s", path, strerror(saved_errno));
}
