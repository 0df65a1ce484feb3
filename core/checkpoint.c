#include "checkpoint.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char magic[8] = {'N', 'N', 'R', 'U', 'N', 'C', 'K', 'P'};
enum { HEADER_BYTES = 8 + 4 + 4 + 8 + 4 + 4 + 8 + 32 + 8 + 8, TAIL_BYTES = 8 };
#define ENDIAN_MARK 0x01020304u
#define MAX_FLOATS ((uint64_t)1 << 32)

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

static uint8_t *put(uint8_t *p, const void *v, size_t n)
{
    memcpy(p, v, n);
    return p + n;
}

static const uint8_t *get(const uint8_t *p, void *v, size_t n)
{
    memcpy(v, p, n);
    return p + n;
}

int nn_checkpoint_encode(const nn_checkpoint_meta *m, const float *params, const float *state,
                         uint8_t **out, size_t *len, nn_error *err)
{
    if (m->n_params > MAX_FLOATS || m->n_state > MAX_FLOATS)
        return nn_error_set(err, NN_E_USAGE, "checkpoint too large");
    size_t n = HEADER_BYTES + 4 * (size_t)(m->n_params + m->n_state) + TAIL_BYTES;
    uint8_t *buf = malloc(n), *p = buf;
    if (!buf)
        return nn_error_set(err, NN_E_NOMEM, "out of memory writing a checkpoint");
    uint32_t version = NN_CHECKPOINT_VERSION, mark = ENDIAN_MARK;
    p = put(p, magic, 8);
    p = put(p, &version, 4);
    p = put(p, &mark, 4);
    p = put(p, &m->fingerprint, 8);
    p = put(p, &m->optim_kind, 4);
    p = put(p, &m->epoch, 4);
    p = put(p, &m->step, 8);
    p = put(p, m->rng.s, 32);
    p = put(p, &m->n_params, 8);
    p = put(p, &m->n_state, 8);
    p = put(p, params, 4 * (size_t)m->n_params);
    if (m->n_state)
        p = put(p, state, 4 * (size_t)m->n_state);
    uint64_t sum = fnv1a(buf, (size_t)(p - buf));
    put(p, &sum, 8);
    *out = buf;
    *len = n;
    return NN_OK;
}

static int bad(nn_error *err, const char *name, const char *what)
{
    return nn_error_set(err, NN_E_CHECKPOINT, "%s: %s", name, what);
}

int nn_checkpoint_decode(const uint8_t *buf, size_t len, const char *name,
                         nn_checkpoint_meta *meta, float *params, float *state, nn_error *err)
{
    if (len < 8 || memcmp(buf, magic, 8) != 0)
        return bad(err, name, "not an nnrun checkpoint (bad magic)");
    if (len < HEADER_BYTES + TAIL_BYTES)
        return bad(err, name, "truncated checkpoint (header incomplete)");
    nn_checkpoint_meta m;
    uint32_t version, mark;
    const uint8_t *p = buf + 8;
    p = get(p, &version, 4);
    p = get(p, &mark, 4);
    if (mark != ENDIAN_MARK)
        return bad(err, name, "written on a machine of the other byte order");
    if (version != NN_CHECKPOINT_VERSION)
        return nn_error_set(err, NN_E_CHECKPOINT,
                            "%s: checkpoint format version %u, this nnrun reads version %u", name,
                            version, NN_CHECKPOINT_VERSION);
    p = get(p, &m.fingerprint, 8);
    p = get(p, &m.optim_kind, 4);
    p = get(p, &m.epoch, 4);
    p = get(p, &m.step, 8);
    p = get(p, m.rng.s, 32);
    p = get(p, &m.n_params, 8);
    p = get(p, &m.n_state, 8);
    if (m.n_params > MAX_FLOATS || m.n_state > MAX_FLOATS)
        return bad(err, name, "corrupt checkpoint (impossible sizes)");
    size_t want = HEADER_BYTES + 4 * (size_t)(m.n_params + m.n_state) + TAIL_BYTES;
    if (len != want)
        return nn_error_set(err, NN_E_CHECKPOINT,
                            "%s: %s checkpoint: %zu bytes, its header says %zu", name,
                            len < want ? "truncated" : "oversized", len, want);
    uint64_t sum;
    memcpy(&sum, buf + len - TAIL_BYTES, 8);
    if (sum != fnv1a(buf, len - TAIL_BYTES))
        return bad(err, name, "corrupt checkpoint (checksum mismatch)");
    if (m.fingerprint != meta->fingerprint)
        return nn_error_set(err, NN_E_CHECKPOINT,
                            "%s: checkpoint belongs to another graph (fingerprint %016llx, this "
                            "config's graph is %016llx)",
                            name, (unsigned long long)m.fingerprint,
                            (unsigned long long)meta->fingerprint);
    if (m.n_params != meta->n_params)
        return nn_error_set(err, NN_E_CHECKPOINT,
                            "%s: checkpoint has %llu parameters, the graph has %llu", name,
                            (unsigned long long)m.n_params, (unsigned long long)meta->n_params);
    if (state && m.n_state != meta->n_state)
        return nn_error_set(err, NN_E_CHECKPOINT,
                            "%s: checkpoint has %llu optimizer values, this optimizer needs %llu "
                            "(was it written with another optimizer?)",
                            name, (unsigned long long)m.n_state,
                            (unsigned long long)meta->n_state);
    memcpy(params, p, 4 * (size_t)m.n_params);
    p += 4 * (size_t)m.n_params;
    if (state && m.n_state)
        memcpy(state, p, 4 * (size_t)m.n_state);
    *meta = m;
    return NN_OK;
}

int nn_remove_stale_temps(const char *dir, const char *const *names)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int removed = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        for (const char *const *n = names; *n; n++) {
            size_t len = strlen(*n);
            if (strncmp(e->d_name, *n, len) || strncmp(e->d_name + len, ".tmp.", 5) ||
                strlen(e->d_name + len + 5) != 6)
                continue;
            char path[PATH_MAX];
            if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) < (int)sizeof path &&
                unlink(path) == 0)
                removed++;
            break;
        }
    }
    closedir(d);
    return removed;
}

int nn_write_file_atomic(const char *path, const void *data, size_t len, nn_error *err)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= (int)sizeof tmp)
        return nn_error_set(err, NN_E_IO, "%s: path too long", path);
    int fd = mkstemp(tmp);
    if (fd < 0)
        return nn_error_set(err, NN_E_IO, "%s: cannot create a temporary file: %s", path,
                            strerror(errno));
    const uint8_t *p = data;
    size_t left = len;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = errno;
            close(fd);
            unlink(tmp);
            return nn_error_set(err, NN_E_IO, "%s: write failed: %s", path, strerror(e));
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        int e = errno;
        unlink(tmp);
        return nn_error_set(err, NN_E_IO, "%s: fsync failed: %s", path, strerror(e));
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return nn_error_set(err, NN_E_IO, "%s: rename failed: %s", path, strerror(e));
    }
    /* The rename is durable only once the directory entry is on disk. */
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    int dfd = open(slash ? dir : ".", O_RDONLY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return NN_OK;
}

int nn_checkpoint_save(const char *path, const nn_checkpoint_meta *meta, const float *params,
                       const float *state, nn_error *err)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = nn_checkpoint_encode(meta, params, state, &buf, &len, err);
    if (rc)
        return rc;
    rc = nn_write_file_atomic(path, buf, len, err);
    free(buf);
    return rc;
}

int nn_checkpoint_load(const char *path, nn_checkpoint_meta *meta, float *params, float *state,
                       nn_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return nn_error_set(err, errno == ENOENT ? NN_E_USAGE : NN_E_IO, "%s: cannot open: %s",
                            path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return nn_error_set(err, NN_E_IO, "%s: not a regular file", path);
    }
    /* Bound what is read by what this graph could need: its parameters plus an optimizer state
     * of at most twice as many values and two more (Adam's moments and step count). Anything
     * larger is refused before allocating. */
    size_t len = (size_t)st.st_size;
    size_t max_len = HEADER_BYTES + 4 * (size_t)(3 * meta->n_params + 2) + TAIL_BYTES;
    if (len > max_len) {
        fclose(f);
        return nn_error_set(err, NN_E_CHECKPOINT,
                            "%s: %zu bytes, too large for a checkpoint of this graph (at most "
                            "%zu)",
                            path, len, max_len);
    }
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) {
        fclose(f);
        return nn_error_set(err, NN_E_NOMEM, "%s: out of memory", path);
    }
    size_t got = fread(buf, 1, len, f);
    fclose(f);
    int rc = got == len ? nn_checkpoint_decode(buf, len, path, meta, params, state, err)
                        : nn_error_set(err, NN_E_IO, "%s: read failed", path);
    free(buf);
    return rc;
}
