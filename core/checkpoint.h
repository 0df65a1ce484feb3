/* Checkpoints: a versioned binary holding the parameters, the optimizer state, the epoch and the
 * RNG state, tied to its graph by a fingerprint and sealed by a checksum. Writes are atomic: a
 * temporary file in the same directory, flushed and fsync'd, then renamed over the old one, so a
 * crash at any moment leaves the previous checkpoint intact.
 *
 * Layout (little- or big-endian as written; the marker tells which):
 *   "NNRUNCKP" | u32 version | u32 0x01020304 | u64 graph fingerprint | u32 optimizer kind |
 *   u32 epochs done | u64 steps done | u64 rng[4] | u64 n_params | u64 n_state |
 *   f32 params[n_params] | f32 state[n_state] | u64 FNV-1a checksum of all the bytes before */
#ifndef NN_CHECKPOINT_H
#define NN_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "rng.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NN_CHECKPOINT_VERSION 1u

typedef struct nn_checkpoint_meta {
    uint64_t fingerprint;
    uint32_t optim_kind;
    uint32_t epoch;
    uint64_t step;
    nn_rng rng;
    uint64_t n_params, n_state;
} nn_checkpoint_meta;

/* Serialises into a malloc'd buffer. */
int nn_checkpoint_encode(const nn_checkpoint_meta *meta, const float *params, const float *state,
                         uint8_t **out, size_t *len, nn_error *err);
/* Checks and decodes a buffer: magic, version, endianness, size, checksum, then fingerprint and
 * parameter count against what the caller expects (meta->fingerprint, meta->n_params). Copies
 * the parameters into params and, when state is not NULL, the optimizer state (which must have
 * meta->n_state floats). On success meta holds the checkpoint's fields. name is for messages. */
int nn_checkpoint_decode(const uint8_t *buf, size_t len, const char *name,
                         nn_checkpoint_meta *meta, float *params, float *state, nn_error *err);

int nn_checkpoint_save(const char *path, const nn_checkpoint_meta *meta, const float *params,
                       const float *state, nn_error *err);
int nn_checkpoint_load(const char *path, nn_checkpoint_meta *meta, float *params, float *state,
                       nn_error *err);

/* Writes bytes to path atomically (temporary file, fsync, rename, fsync of the directory). */
int nn_write_file_atomic(const char *path, const void *data, size_t len, nn_error *err);
/* Removes what nn_write_file_atomic leaves behind when the process is killed mid-write:
 * files of dir named NAME.tmp.XXXXXX (six characters, as mkstemp makes them) for a NAME in
 * names (NULL-terminated). Returns how many it removed; a missing dir is not an error. */
int nn_remove_stale_temps(const char *dir, const char *const *names);

#ifdef __cplusplus
}
#endif
#endif
