/* IDX and PGM loading: good files, every malformed case with its exact message, and real MNIST. */
#include <criterion/criterion.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "data.h"

#ifndef NN_SOURCE_DIR
#error "build with -DNN_SOURCE_DIR='\"/path/to/nnrun\"' (the Makefile does)"
#endif

#define MNIST_DIR NN_SOURCE_DIR "/data/mnist"

static char tmp_dir[64];

static void make_tmp_dir(void)
{
    strcpy(tmp_dir, "/tmp/nn_test_data_XXXXXX");
    cr_assert_not_null(mkdtemp(tmp_dir));
}

static void remove_tmp_dir(void)
{
    DIR *d = opendir(tmp_dir);
    if (!d)
        return;
    char path[512];
    for (struct dirent *e; (e = readdir(d));) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", tmp_dir, e->d_name);
        chmod(path, 0700);
        if (remove(path) != 0)
            rmdir(path);
    }
    closedir(d);
    rmdir(tmp_dir);
}

TestSuite(data, .init = make_tmp_dir, .fini = remove_tmp_dir);

/* A path in the test's directory; a few buffers so that several can be alive at once. */
static const char *tmp_path(const char *name)
{
    static char bufs[8][256];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof bufs[0], "%s/%s", tmp_dir, name);
    return b;
}

static void write_raw(const char *path, const void *bytes, size_t len)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot create %s", path);
    cr_assert_eq(fwrite(bytes, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
}

static void write_gz(const char *path, const void *bytes, size_t len)
{
    gzFile f = gzopen(path, "wb");
    cr_assert_not_null(f, "cannot create %s", path);
    cr_assert_eq(gzwrite(f, bytes, (unsigned)len), (int)len);
    cr_assert_eq(gzclose(f), Z_OK);
}

static uint8_t *read_back(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    static uint8_t buf[1 << 16];
    *len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return buf;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* An IDX image file whose header says n x rows x cols but whose data is data_len bytes of
 * pixel i = i * 7 + 1. Returns the byte count; buf must hold 16 + data_len. */
static size_t idx_images(uint8_t *buf, uint32_t magic, uint32_t n, uint32_t rows, uint32_t cols,
                         size_t data_len)
{
    put_be32(buf, magic);
    put_be32(buf + 4, n);
    put_be32(buf + 8, rows);
    put_be32(buf + 12, cols);
    for (size_t i = 0; i < data_len; i++)
        buf[16 + i] = (uint8_t)(i * 7 + 1);
    return 16 + data_len;
}

static size_t idx_labels(uint8_t *buf, uint32_t n, const uint8_t *labels, size_t count)
{
    put_be32(buf, 0x00000801);
    put_be32(buf + 4, n);
    memcpy(buf + 8, labels, count);
    return 8 + count;
}

/* The tiny set: 3 images of 2x3, labels 2 0 1. */
static const uint8_t tiny_labels[3] = {2, 0, 1};

static void write_tiny(const char *images, const char *labels, int gz_images, int gz_labels)
{
    uint8_t buf[64];
    size_t len = idx_images(buf, 0x803, 3, 2, 3, 18);
    (gz_images ? write_gz : write_raw)(images, buf, len);
    len = idx_labels(buf, 3, tiny_labels, 3);
    (gz_labels ? write_gz : write_raw)(labels, buf, len);
}

static void check_tiny(const nn_dataset *ds, size_t n)
{
    cr_assert_eq(ds->n, n);
    cr_assert_eq(ds->rows, 2);
    cr_assert_eq(ds->cols, 3);
    cr_assert_eq(ds->n_classes, 10);
    for (size_t i = 0; i < n * 6; i++)
        cr_assert_eq(ds->images[i], (uint8_t)(i * 7 + 1), "pixel %zu", i);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(ds->labels[i], tiny_labels[i]);
}

/* Loads these image bytes with the tiny labels and expects failure with exactly "<path>: msg". */
static void expect_images_error(const uint8_t *bytes, size_t len, int code, const char *msg)
{
    const char *im = tmp_path("img"), *lb = tmp_path("lab");
    write_raw(im, bytes, len);
    uint8_t buf[16];
    write_raw(lb, buf, idx_labels(buf, 3, tiny_labels, 3));
    nn_dataset ds;
    nn_error err = {0};
    cr_assert_eq(nn_dataset_load_idx(im, lb, 10, 0, &ds, &err), code, "%s", err.msg);
    cr_assert_eq((int)err.code, code);
    char want[1024];
    snprintf(want, sizeof want, "%s: %s", im, msg);
    cr_assert_str_eq(err.msg, want);
    cr_assert_null(ds.images);
    cr_assert_null(ds.labels);
}

static void expect_labels_error(const uint8_t *bytes, size_t len, const char *msg)
{
    const char *im = tmp_path("img"), *lb = tmp_path("lab");
    uint8_t buf[64];
    write_raw(im, buf, idx_images(buf, 0x803, 3, 2, 3, 18));
    write_raw(lb, bytes, len);
    nn_dataset ds;
    nn_error err = {0};
    cr_assert_eq(nn_dataset_load_idx(im, lb, 10, 0, &ds, &err), NN_E_DATA, "%s", err.msg);
    char want[1024];
    snprintf(want, sizeof want, "%s: %s", lb, msg);
    cr_assert_str_eq(err.msg, want);
}

/* ---- IDX: good files ---- */

Test(data, load_tiny_raw)
{
    write_tiny(tmp_path("img"), tmp_path("lab"), 0, 0);
    nn_dataset ds;
    nn_error err = {0};
    cr_assert_eq(nn_dataset_load_idx(tmp_path("img"), tmp_path("lab"), 10, 0, &ds, &err), NN_OK,
                 "%s", err.msg);
    check_tiny(&ds, 3);
    nn_dataset_free(&ds);
    cr_assert_null(ds.images);
    nn_dataset_free(&ds); /* twice is harmless */
    nn_dataset_free(NULL);
}

Test(data, load_tiny_gzip_detected_by_magic_not_name)
{
    for (int mix = 1; mix < 4; mix++) {
        write_tiny(tmp_path("img.raw"), tmp_path("lab.raw"), mix & 1, mix & 2);
        nn_dataset ds;
        nn_error err = {0};
        cr_assert_eq(nn_dataset_load_idx(tmp_path("img.raw"), tmp_path("lab.raw"), 10, 0, &ds,
                                         &err), NN_OK, "%s", err.msg);
        check_tiny(&ds, 3);
        nn_dataset_free(&ds);
    }
}

Test(data, load_multi_member_gzip)
{
    uint8_t buf[64];
    size_t len = idx_images(buf, 0x803, 3, 2, 3, 18);
    write_gz(tmp_path("a"), buf, 10);
    write_gz(tmp_path("b"), buf + 10, len - 10);
    size_t la, lb;
    uint8_t both[512];
    const uint8_t *a = read_back(tmp_path("a"), &la);
    memcpy(both, a, la);
    const uint8_t *b = read_back(tmp_path("b"), &lb);
    memcpy(both + la, b, lb);
    write_raw(tmp_path("img"), both, la + lb);
    write_raw(tmp_path("lab"), buf, idx_labels(buf, 3, tiny_labels, 3));
    nn_dataset ds;
    nn_error err = {0};
    cr_assert_eq(nn_dataset_load_idx(tmp_path("img"), tmp_path("lab"), 10, 0, &ds, &err), NN_OK,
                 "%s", err.msg);
    check_tiny(&ds, 3);
    nn_dataset_free(&ds);
}

Test(data, limit_keeps_the_first_samples)
{
    write_tiny(tmp_path("img"), tmp_path("lab"), 0, 1);
    size_t limits[] = {1, 2, 3, 4, 1000}, want[] = {1, 2, 3, 3, 3};
    for (int i = 0; i < 5; i++) {
        nn_dataset ds;
        nn_error err = {0};
        cr_assert_eq(nn_dataset_load_idx(tmp_path("img"), tmp_path("lab"), 10, limits[i], &ds,
                                         &err), NN_OK, "%s", err.msg);
        check_tiny(&ds, want[i]);
        nn_dataset_free(&ds);
    }
}

Test(data, max_classes_is_checked)
{
    write_tiny(tmp_path("img"), tmp_path("lab"), 0, 0);
    nn_dataset ds;
    nn_error err = {0};
    cr_assert_eq(nn_dataset_load_idx(tmp_path("img"), tmp_path("lab"), 0, 0, &ds, &err),
                 NN_E_USAGE);
    cr_assert_str_eq(err.msg, "max_classes 0 is outside 1..256");
    cr_assert_eq(nn_dataset_load_idx(tmp_path("img"), tmp_path("lab"), 3, 0, &ds, &err), NN_OK);
    cr_assert_eq(ds.n_classes, 3);
    nn_dataset_free(&ds);
}

/* ---- IDX: bad files ---- */

Test(data, wrong_magic)
{
    uint8_t buf[64];
    expect_images_error(buf, idx_images(buf, 0x12345678, 3, 2, 3, 18), NN_E_DATA,
                        "not an IDX image file (magic 0x12345678, expected 0x00000803)");
    const uint8_t pgm[] = "P5\n2 2\n255\n....";
    expect_images_error(pgm, sizeof pgm - 1, NN_E_DATA,
                        "not an IDX image file (magic 0x50350a32, expected 0x00000803)");
    expect_images_error(buf, 0, NN_E_DATA,
                        "not an IDX image file (0 bytes, expected magic 0x00000803)");
}

Test(data, swapped_files_get_a_hint)
{
    uint8_t buf[64];
    expect_images_error(buf, idx_labels(buf, 3, tiny_labels, 3), NN_E_DATA,
                        "not an IDX image file (magic 0x00000801, expected 0x00000803); it looks "
                        "like a label file");
    expect_labels_error(buf, idx_images(buf, 0x803, 3, 2, 3, 18),
                        "not an IDX label file (magic 0x00000803, expected 0x00000801); it looks "
                        "like an image file");
}

Test(data, wrong_element_type)
{
    uint8_t buf[64];
    expect_images_error(buf, idx_images(buf, 0x00000D03, 3, 2, 3, 18), NN_E_DATA,
                        "IDX element type 0x0d (float), expected 0x08 (unsigned byte)");
    expect_images_error(buf, idx_images(buf, 0x00000903, 3, 2, 3, 18), NN_E_DATA,
                        "IDX element type 0x09 (signed byte), expected 0x08 (unsigned byte)");
    size_t len = idx_labels(buf, 3, tiny_labels, 3);
    buf[2] = 0x0C;
    expect_labels_error(buf, len, "IDX element type 0x0c (int), expected 0x08 (unsigned byte)");
}

Test(data, zero_dimensions)
{
    uint8_t buf[64];
    expect_images_error(buf, idx_images(buf, 0x803, 0, 2, 3, 0), NN_E_DATA,
                        "header says 0 images, expected at least 1");
    expect_images_error(buf, idx_images(buf, 0x803, 3, 0, 3, 18), NN_E_DATA,
                        "header says 0 rows, expected at least 1");
    expect_images_error(buf, idx_images(buf, 0x803, 3, 2, 0, 18), NN_E_DATA,
                        "header says 0 columns, expected at least 1");
    expect_labels_error(buf, idx_labels(buf, 0, tiny_labels, 0),
                        "header says 0 labels, expected at least 1");
}

Test(data, too_large_dimensions)
{
    uint8_t buf[64];
    expect_images_error(buf, idx_images(buf, 0x803, 10000001, 2, 3, 18), NN_E_DATA,
                        "header says 10000001 images, more than the limit of 10000000");
    expect_images_error(buf, idx_images(buf, 0x803, 3, 4097, 3, 18), NN_E_DATA,
                        "header says 4097 rows, more than the limit of 4096");
    expect_images_error(buf, idx_images(buf, 0x803, 3, 2, 0xFFFFFFFF, 18), NN_E_DATA,
                        "header says 4294967295 columns, more than the limit of 4096");
    expect_labels_error(buf, idx_labels(buf, 0x80000000, tiny_labels, 3),
                        "header says 2147483648 labels, more than the limit of 10000000");
}

Test(data, largest_header_does_not_wrap)
{
    /* 10^7 * 4096 * 4096 bytes: exceeds 32 bits; must be computed without wrapping. */
    uint8_t buf[64];
    if (sizeof(size_t) >= 8)
        expect_images_error(buf, idx_images(buf, 0x803, 10000000, 4096, 4096, 18), NN_E_DATA,
                            "truncated: header says 10000000 images of 4096x4096 "
                            "(167772160000000 bytes of data), file has 18 bytes of data");
    else
        expect_images_error(buf, idx_images(buf, 0x803, 10000000, 4096, 4096, 18), NN_E_DATA,
                            "header says 10000000 images of 4096x4096, too large for this "
                            "machine");
}

Test(data, truncated_and_trailing_data)
{
    static uint8_t buf[16 + 2000];
    expect_images_error(buf, idx_images(buf, 0x803, 60000, 28, 28, 1000), NN_E_DATA,
                        "truncated: header says 60000 images of 28x28 (47040000 bytes of data), "
                        "file has 1000 bytes of data");
    expect_images_error(buf, idx_images(buf, 0x803, 3, 2, 3, 17), NN_E_DATA,
                        "truncated: header says 3 images of 2x3 (18 bytes of data), file has 17 "
                        "bytes of data");
    expect_images_error(buf, idx_images(buf, 0x803, 3, 2, 3, 20), NN_E_DATA,
                        "2 trailing bytes: header says 3 images of 2x3 (18 bytes of data), file "
                        "has 20 bytes of data");
    expect_images_error(buf, 10, NN_E_DATA, "truncated: 10 bytes, an IDX image header needs 16");
    expect_labels_error(buf, idx_labels(buf, 3, tiny_labels, 2),
                        "truncated: header says 3 labels (3 bytes of data), file has 2 bytes of "
                        "data");
    expect_labels_error(buf, idx_labels(buf, 2, tiny_labels, 3),
                        "1 trailing bytes: header says 2 labels (2 bytes of data), file has 3 "
                        "bytes of data");
    expect_labels_error(buf, 6, "truncated: 6 bytes, an IDX label header needs 8");
}

Test(data, truncated_gzip_reports_the_inflated_sizes)
{
    uint8_t buf[64];
    const char *im = tmp_path("img.gz"), *lb = tmp_path("lab");
    write_gz(im, buf, idx_images(buf, 0x803, 4, 2, 3, 18));
    write_raw(lb, buf, idx_labels(buf, 3, tiny_labels, 3));
    nn_dataset ds;
    nn_error err = {0};
    cr_assert_eq(nn_dataset_load_idx(im, lb, 10, 0, &ds, &err), NN_E_DATA);
    cr_assert(strstr(err.msg, "truncated: header says 4 images of 2x3 (24 bytes of data), file has "
                              "18 bytes of data"), "%s", err.msg);
}

Test(data, counts_differ)
{
    uint8_t buf[64];
    const char *im = tmp_path("img"), *lb = tmp_path("lab");
    write_raw(im, buf, idx_images(buf, 0x803, 3, 2, 3, 18));
    write_raw(lb, buf, idx_labels(buf, 2, tiny_labels, 2));
    nn_dataset ds;
    nn_error err = {0};
    cr_assert_eq(nn_dataset_load_idx(im, lb, 10, 0, &ds, &err), NN_E_DATA);
    char want[1024];
    snprintf(want, sizeof want, "%s has 3 images but %s has 2 labels, expected the same number",
             im, lb);
    cr_assert_str_eq(err.msg, want);
}

Test(data, label_out_of_range)
{
    uint8_t labels[10] = {0, 1, 2, 3, 4, 5, 6, 12, 8, 9}, buf[64];
    const char *im = tmp_path("img"), *lb = tmp_path("lab");
    write_raw(im, buf, idx_images(buf, 0x803, 10, 1, 2, 20));
    write_raw(lb, buf, idx_labels(buf, 10, labels, 10));
    nn_dataset ds;
    nn_error err = {0};
    cr_assert_eq(nn_dataset_load_idx(im, lb, 10, 0, &ds, &err), NN_E_DATA);
    char want[1024];
    snprintf(want, sizeof want, "%s: label 12 at index 7 is outside 0..9", lb);
    cr_assert_str_eq(err.msg, want);
    /* Also when limit would not keep it: the file is bad. */
    cr_assert_eq(nn_dataset_load_idx(im, lb, 10, 2, &ds, &err), NN_E_DATA);
    cr_assert_eq(nn_dataset_load_idx(im, lb, 13, 0, &ds, &err), NN_OK, "%s", err.msg);
    nn_dataset_free(&ds);
}

/* A gzip stream of the tiny image file, for corrupting. */
static size_t tiny_gz(uint8_t *out)
{
    uint8_t buf[64];
    write_gz(tmp_path("tmp.gz"), buf, idx_images(buf, 0x803, 3, 2, 3, 18));
    size_t len;
    const uint8_t *gz = read_back(tmp_path("tmp.gz"), &len);
    memcpy(out, gz, len);
    remove(tmp_path("tmp.gz"));
    return len;
}

Test(data, corrupt_gzip)
{
    uint8_t gz[512];
    size_t len = tiny_gz(gz);
    gz[len - 6] ^= 0x55; /* in the CRC-32 of the trailer */
    expect_images_error(gz, len, NN_E_DATA, "corrupt gzip data: incorrect data check");
    len = tiny_gz(gz);
    expect_images_error(gz, len - 4, NN_E_DATA, "corrupt gzip data: unexpected end of file");
    expect_images_error(gz, 12, NN_E_DATA, "corrupt gzip data: unexpected end of file");
    expect_images_error(gz, 2, NN_E_DATA, "corrupt gzip data: unexpected end of file");
    gz[2] = 0x07; /* compression method other than deflate */
    expect_images_error(gz, len, NN_E_DATA, "corrupt gzip data: unknown compression method");
    len = tiny_gz(gz);
    memcpy(gz + len, "junk", 4);
    expect_images_error(gz, len + 4, NN_E_DATA, "corrupt gzip data: incorrect header check");
}

Test(data, missing_file_says_make_data)
{
    uint8_t buf[64];
    write_raw(tmp_path("lab"), buf, idx_labels(buf, 3, tiny_labels, 3));
    write_raw(tmp_path("img"), buf, idx_images(buf, 0x803, 3, 2, 3, 18));
    nn_dataset ds;
    nn_error err = {0};
    const char *missing = tmp_path("nope");
    char want[1024];
    snprintf(want, sizeof want, "%s: no such file (run `make data`)", missing);
    cr_assert_eq(nn_dataset_load_idx(missing, tmp_path("lab"), 10, 0, &ds, &err), NN_E_IO);
    cr_assert_str_eq(err.msg, want);
    cr_assert_eq(nn_dataset_load_idx(tmp_path("img"), missing, 10, 0, &ds, &err), NN_E_IO);
    cr_assert_str_eq(err.msg, want);
}

Test(data, directory_and_unreadable_file)
{
    uint8_t buf[64];
    write_raw(tmp_path("lab"), buf, idx_labels(buf, 3, tiny_labels, 3));
    nn_dataset ds;
    nn_error err = {0};
    cr_assert_eq(nn_dataset_load_idx(tmp_dir, tmp_path("lab"), 10, 0, &ds, &err), NN_E_IO);
    char want[1024];
    snprintf(want, sizeof want, "%s: is a directory, expected a file", tmp_dir);
    cr_assert_str_eq(err.msg, want);
    write_raw(tmp_path("img"), buf, idx_images(buf, 0x803, 3, 2, 3, 18));
    chmod(tmp_path("img"), 0);
    if (geteuid() == 0) /* root reads anything; nothing to check */
        return;
    cr_assert_eq(nn_dataset_load_idx(tmp_path("img"), tmp_path("lab"), 10, 0, &ds, &err), NN_E_IO);
    snprintf(want, sizeof want, "%s: cannot open: Permission denied", tmp_path("img"));
    cr_assert_str_eq(err.msg, want);
}

Test(data, every_prefix_and_byte_flip_fails_cleanly)
{
    uint8_t good[64], bad[64], lab[16];
    size_t len = idx_images(good, 0x803, 3, 2, 3, 18);
    write_raw(tmp_path("lab"), lab, idx_labels(lab, 3, tiny_labels, 3));
    for (size_t cut = 0; cut < len; cut++) {
        write_raw(tmp_path("img"), good, cut);
        nn_dataset ds;
        nn_error err = {0};
        cr_assert_eq(nn_dataset_load_idx(tmp_path("img"), tmp_path("lab"), 10, 0, &ds, &err),
                     NN_E_DATA, "prefix %zu", cut);
        cr_assert_null(ds.images);
    }
    for (size_t i = 0; i < 16; i++) {
        memcpy(bad, good, len);
        bad[i] ^= 0x80;
        write_raw(tmp_path("img"), bad, len);
        nn_dataset ds;
        nn_error err = {0};
        cr_assert_eq(nn_dataset_load_idx(tmp_path("img"), tmp_path("lab"), 10, 0, &ds, &err),
                     NN_E_DATA, "flip at %zu", i);
    }
}

/* ---- whole-file reads ---- */

Test(data, read_file_bounds_raw_and_inflated_size)
{
    static uint8_t zeros[1 << 20];
    write_raw(tmp_path("raw"), zeros, 1000);
    write_gz(tmp_path("gz"), zeros, sizeof zeros);
    uint8_t *p;
    size_t len;
    nn_error err = {0};
    cr_assert_eq(nn_read_file_maybe_gz(tmp_path("raw"), 1000, &p, &len, &err), NN_OK);
    cr_assert_eq(len, 1000);
    free(p);
    cr_assert_eq(nn_read_file_maybe_gz(tmp_path("raw"), 999, &p, &len, &err), NN_E_DATA);
    cr_assert(strstr(err.msg, "raw: more than 999 bytes, refusing"), "%s", err.msg);
    cr_assert_null(p);
    cr_assert_eq(nn_read_file_maybe_gz(tmp_path("gz"), sizeof zeros, &p, &len, &err), NN_OK);
    cr_assert_eq(len, sizeof zeros);
    cr_assert_eq(memcmp(p, zeros, len), 0);
    free(p);
    cr_assert_eq(nn_read_file_maybe_gz(tmp_path("gz"), 5000, &p, &len, &err), NN_E_DATA);
    cr_assert(strstr(err.msg, "gz: more than 5000 bytes after inflation"), "%s", err.msg);
    /* Exactly at the limit, and one byte past it. */
    write_gz(tmp_path("gz"), zeros, 5000);
    cr_assert_eq(nn_read_file_maybe_gz(tmp_path("gz"), 5000, &p, &len, &err), NN_OK, "%s",
                 err.msg);
    cr_assert_eq(len, 5000);
    free(p);
    cr_assert_eq(nn_read_file_maybe_gz(tmp_path("gz"), 4999, &p, &len, &err), NN_E_DATA);
    cr_assert(strstr(err.msg, "gz: more than 4999 bytes after inflation"), "%s", err.msg);
    cr_assert_eq(nn_read_file_maybe_gz(tmp_path("gz"), 0, &p, &len, &err), NN_E_DATA);
    write_raw(tmp_path("raw"), zeros, 1);
    cr_assert_eq(nn_read_file_maybe_gz(tmp_path("raw"), 0, &p, &len, &err), NN_E_DATA);
    cr_assert_eq(nn_read_file_maybe_gz(tmp_path("raw"), 1, &p, &len, &err), NN_OK);
    cr_assert_eq(len, 1);
    free(p);
    cr_assert_eq(nn_read_file_maybe_gz(tmp_path("nope"), 10, &p, &len, &err), NN_E_IO);
    cr_assert(strstr(err.msg, "nope: no such file") && !strstr(err.msg, "make data"), "%s",
              err.msg);
    write_raw(tmp_path("empty"), zeros, 0);
    cr_assert_eq(nn_read_file_maybe_gz(tmp_path("empty"), 10, &p, &len, &err), NN_OK);
    cr_assert_eq(len, 0);
    free(p);
}

/* ---- to_float ---- */

Test(data, to_float_pads_and_scales)
{
    uint8_t images[8] = {0, 255, 51, 102, /* second image */ 255, 0, 0, 255};
    nn_dataset ds = {.n = 2, .rows = 2, .cols = 2, .images = images, .n_classes = 10};
    const float lo = -0.1f, hi = 1.175f;
    /* 51 = 0.2 * 255 -> -0.1 + 1.275 * 0.2 = 0.155; 102 = 0.4 * 255 -> 0.41 */
    const float want[16] = {lo, lo,    lo, lo,   //
                            lo, lo,    hi, lo,   //
                            lo, 0.155f, 0.41f, lo, //
                            lo, lo,    lo, lo};
    float out[32];
    size_t index[2] = {0, 1};
    nn_dataset_to_float(&ds, index, 1, 1, lo, hi, out);
    for (int i = 0; i < 16; i++)
        cr_assert_float_eq(out[i], want[i], 1e-6, "at %d: %g, expected %g", i, out[i], want[i]);
    cr_assert_eq(out[5], lo); /* byte 0 is exactly lo, 255 exactly hi */
    cr_assert_eq(out[6], hi);
    index[0] = 1;
    index[1] = 0;
    nn_dataset_to_float(&ds, index, 2, 0, 0.0f, 1.0f, out);
    const float want2[8] = {1, 0, 0, 1, 0, 1, 0.2f, 0.4f};
    for (int i = 0; i < 8; i++)
        cr_assert_float_eq(out[i], want2[i], 1e-6, "at %d", i);
}

/* ---- PGM ---- */

/* Writes text as a file and expects nn_pgm_load to fail with "<path>: msg". */
static void expect_pgm_error(const void *text, size_t len, const char *msg)
{
    const char *path = tmp_path("bad.pgm");
    write_raw(path, text, len);
    int w = -1, h = -1;
    uint8_t *px = (uint8_t *)"sentinel";
    nn_error err = {0};
    cr_assert_eq(nn_pgm_load(path, &w, &h, &px, &err), NN_E_DATA, "%s", err.msg);
    cr_assert_null(px);
    char want[1024];
    snprintf(want, sizeof want, "%s: %s", path, msg);
    cr_assert_str_eq(err.msg, want);
}

#define PGM_ERR(lit, msg) expect_pgm_error(lit, sizeof lit - 1, msg)

static void load_pgm_text(const void *text, size_t len, int w, int h, const uint8_t *want)
{
    const char *path = tmp_path("ok.pgm");
    write_raw(path, text, len);
    int gw, gh;
    uint8_t *px;
    nn_error err = {0};
    cr_assert_eq(nn_pgm_load(path, &gw, &gh, &px, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(gw, w);
    cr_assert_eq(gh, h);
    for (int i = 0; i < w * h; i++)
        cr_assert_eq(px[i], want[i], "pixel %d: %d, expected %d", i, px[i], want[i]);
    free(px);
}

Test(data, pgm_p5_round_trip)
{
    uint8_t px[3 * 5];
    for (int i = 0; i < 15; i++)
        px[i] = (uint8_t)(i * 17);
    px[0] = '#'; /* a raster starting like a comment */
    nn_error err = {0};
    cr_assert_eq(nn_pgm_save(tmp_path("a.pgm"), 3, 5, px, &err), NN_OK, "%s", err.msg);
    size_t len;
    const uint8_t *bytes = read_back(tmp_path("a.pgm"), &len);
    cr_assert_eq(len, 11 + 15);
    cr_assert_eq(memcmp(bytes, "P5\n3 5\n255\n", 11), 0);
    int w, h;
    uint8_t *back;
    cr_assert_eq(nn_pgm_load(tmp_path("a.pgm"), &w, &h, &back, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(w, 3);
    cr_assert_eq(h, 5);
    cr_assert_eq(memcmp(back, px, 15), 0);
    free(back);
}

Test(data, pgm_p2_with_comments_and_small_maxval)
{
    const char p2[] = "P2 # plain\n# a comment line\n3 # width\n2\n15\n"
                      "0 7 15\n# raster comment\n1\t14   8";
    const uint8_t want[6] = {0, 119, 255, 17, 238, 136};
    load_pgm_text(p2, sizeof p2 - 1, 3, 2, want);
    const char p5[] = "P5\n# made by hand\n2 1 # trailing\n255\n\xff\x01";
    const uint8_t want5[2] = {255, 1};
    load_pgm_text(p5, sizeof p5 - 1, 2, 1, want5);
    const char p5_small[] = "P5 2 1 3\n\x03\x01";
    const uint8_t want_small[2] = {255, 85};
    load_pgm_text(p5_small, sizeof p5_small - 1, 2, 1, want_small);
}

Test(data, pgm_bad_headers)
{
    PGM_ERR("", "not a PGM file (expected magic P5 or P2)");
    PGM_ERR("hello", "not a PGM file (expected magic P5 or P2)");
    PGM_ERR("P6\n1 1\n255\n...", "a PPM (P6) file, expected a PGM (P5 or P2)");
    PGM_ERR("P1\n1 1\n1", "a PBM (P1) file, expected a PGM (P5 or P2)");
    PGM_ERR("P52 2 255\n", "not a PGM file (expected whitespace after P5)");
    PGM_ERR("P5\n", "truncated: expected the width, found end of file");
    PGM_ERR("P5\n2", "truncated: expected the height, found end of file");
    PGM_ERR("P5\nx 2 255\n", "bad PGM: expected the width at byte 3");
    PGM_ERR("P5\n2 -2 255\n", "bad PGM: expected the height at byte 5");
    PGM_ERR("P5\n2x2 255\n", "bad PGM: expected the width at byte 3");
    PGM_ERR("P5\n0 2 255\nab", "bad PGM header: size 0x2, expected at least 1x1");
    PGM_ERR("P5\n2 2 0\nabcd", "bad PGM header: maxval 0, expected 1..255");
    PGM_ERR("P5\n2 2 70000\nabcd", "bad PGM header: maxval 70000, expected 1..255");
    PGM_ERR("P5\n2 2 65535\nabcdefgh",
            "16-bit PGM (maxval 65535) is not supported, expected maxval 1..255");
    PGM_ERR("P5\n2 2 256\nabcdefgh",
            "16-bit PGM (maxval 256) is not supported, expected maxval 1..255");
    PGM_ERR("P5\n99999999999999999999 2 255\n", "bad PGM: the width at byte 3 is too large");
    PGM_ERR("P5\n2 2 255#c\nabcd",
            "bad PGM header: expected one whitespace byte after maxval at byte 10");
}

Test(data, pgm_oversized)
{
    PGM_ERR("P5\n5000 10 255\n", "too large: 5000x10, the limit is 4096 a side");
    PGM_ERR("P2\n10 4097 255\n", "too large: 10x4097, the limit is 4096 a side");
    nn_error err = {0};
    uint8_t px[4] = {0};
    cr_assert_eq(nn_pgm_save(tmp_path("big.pgm"), 5000, 1, px, &err), NN_E_USAGE);
    cr_assert_eq(nn_pgm_save(tmp_path("zero.pgm"), 0, 1, px, &err), NN_E_USAGE);
}

Test(data, pgm_truncated_and_bad_pixels)
{
    PGM_ERR("P5\n2 2 255", "truncated: no pixels after the header");
    PGM_ERR("P5\n2 2 255\nabc", "truncated: header says 2x2 (4 bytes of pixels), file has 3");
    PGM_ERR("P5\n2 1 100\n\x10\x65", "pixel (1,0) is 101, more than maxval 100");
    PGM_ERR("P2\n2 2 255\n1 2 3", "truncated: header says 2x2 (4 pixels), file has 3");
    PGM_ERR("P2\n2 2 255\n1 2 3 # four is missing\n",
            "truncated: header says 2x2 (4 pixels), file has 3");
    PGM_ERR("P2\n2 2 255\n1 2 x 4", "bad PGM: expected a pixel value at byte 15");
    PGM_ERR("P2\n2 2 255\n1 2 3.5 4", "bad PGM: expected a pixel value at byte 15");
    PGM_ERR("P2\n2 1 9\n1 10", "pixel (1,0) is 10, more than maxval 9");
}

Test(data, pgm_missing_file_and_save_errors)
{
    int w, h;
    uint8_t *px;
    nn_error err = {0};
    cr_assert_eq(nn_pgm_load(tmp_path("nope.pgm"), &w, &h, &px, &err), NN_E_IO);
    char want[1024];
    snprintf(want, sizeof want, "%s: no such file", tmp_path("nope.pgm"));
    cr_assert_str_eq(err.msg, want);
    uint8_t one = 0;
    cr_assert_eq(nn_pgm_save(tmp_path("no/such/dir.pgm"), 1, 1, &one, &err), NN_E_IO);
    cr_assert(strstr(err.msg, "dir.pgm: cannot create: No such file or directory"), "%s",
              err.msg);
    if (access("/dev/full", W_OK) == 0) {
        static uint8_t many[4096 * 16];
        cr_assert_eq(nn_pgm_save("/dev/full", 4096, 16, many, &err), NN_E_IO);
        cr_assert(strstr(err.msg, "/dev/full: write error: No space left on device"), "%s",
                  err.msg);
    }
}

/* Every prefix of valid files, and pseudo-random garbage after each magic, must come back as an
 * error or a success, never a crash (the sanitizer and valgrind runs watch the memory). */
Test(data, pgm_garbage_never_crashes)
{
    const char p2[] = "P2\n# c\n3 2\n200\n0 7 15\n1 14 200\n";
    const char p5[] = "P5\n3 2\n200\n\x01\x02\x03\x04\x05\xc8";
    for (size_t cut = 0; cut < sizeof p2 - 4; cut++) {
        write_raw(tmp_path("p.pgm"), p2, cut);
        int w, h;
        uint8_t *px;
        cr_assert_neq(nn_pgm_load(tmp_path("p.pgm"), &w, &h, &px, NULL), NN_OK, "cut %zu", cut);
    }
    for (size_t cut = 0; cut < sizeof p5 - 1; cut++) {
        write_raw(tmp_path("p.pgm"), p5, cut);
        int w, h;
        uint8_t *px;
        cr_assert_neq(nn_pgm_load(tmp_path("p.pgm"), &w, &h, &px, NULL), NN_OK, "cut %zu", cut);
    }
    uint32_t state = 12345;
    const char alphabet[] = "P25 #\n\t0123456789x\xff";
    for (int round = 0; round < 2000; round++) {
        char buf[48];
        size_t len = 2 + round % 40;
        memcpy(buf, round % 2 ? "P2" : "P5", 2);
        for (size_t i = 2; i < len; i++) {
            state = state * 1103515245u + 12345u;
            buf[i] = alphabet[(state >> 16) % (sizeof alphabet - 1)];
        }
        write_raw(tmp_path("r.pgm"), buf, len);
        int w, h;
        uint8_t *px = NULL;
        if (nn_pgm_load(tmp_path("r.pgm"), &w, &h, &px, NULL) == NN_OK) {
            cr_assert(w >= 1 && h >= 1 && w <= 4096 && h <= 4096);
            free(px);
        }
    }
}

/* ---- real MNIST ---- */

static void require_mnist(const char *path)
{
    cr_assert_eq(access(path, R_OK), 0, "%s is missing: run `make data` first", path);
}

Test(data, real_mnist_test_set)
{
    const char *im = MNIST_DIR "/t10k-images-idx3-ubyte", *lb = MNIST_DIR "/t10k-labels-idx1-ubyte";
    require_mnist(MNIST_DIR "/train-images-idx3-ubyte");
    require_mnist(im);
    require_mnist(lb);
    nn_dataset ds;
    nn_error err = {0};
    cr_assert_eq(nn_dataset_load_idx(im, lb, 10, 0, &ds, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(ds.n, 10000);
    cr_assert_eq(ds.rows, 28);
    cr_assert_eq(ds.cols, 28);
    const size_t want[10] = {980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009};
    size_t count[10] = {0};
    for (size_t i = 0; i < ds.n; i++)
        count[ds.labels[i]]++;
    for (int d = 0; d < 10; d++)
        cr_assert_eq(count[d], want[d], "digit %d: %zu, expected %zu", d, count[d], want[d]);
    cr_assert_eq(ds.labels[0], 7); /* the well-known first test digit */
    nn_dataset_free(&ds);
}

Test(data, real_mnist_train_set_with_limit)
{
    const char *im = MNIST_DIR "/train-images-idx3-ubyte";
    const char *lb = MNIST_DIR "/train-labels-idx1-ubyte";
    require_mnist(im);
    require_mnist(lb);
    nn_dataset ds;
    nn_error err = {0};
    cr_assert_eq(nn_dataset_load_idx(im, lb, 10, 100, &ds, &err), NN_OK, "%s", err.msg);
    cr_assert_eq(ds.n, 100);
    cr_assert_eq(ds.labels[0], 5);
    cr_assert_eq(ds.labels[1], 0);
    nn_dataset_free(&ds);
    /* Swapped label/image paths of the real files get the hint. */
    cr_assert_eq(nn_dataset_load_idx(lb, im, 10, 0, &ds, &err), NN_E_DATA);
    cr_assert(strstr(err.msg, "it looks like a label file"), "%s", err.msg);
}
