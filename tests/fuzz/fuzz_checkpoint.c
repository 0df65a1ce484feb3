/* Fuzz target: the checkpoint reader, through nn_checkpoint_load on a real file, as `test`
 * (parameters only) and `train --resume` (parameters and optimizer state) read it, for a graph of
 * FUZZ_PARAMS parameters with the fingerprint FUZZ_FINGERPRINT. Each input is read twice: as it is,
 * and with its last 8 bytes replaced by the right checksum, so that mutations get past the
 * checksum to the checks behind it (fingerprint, sizes, optimizer state). */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"

#define FUZZ_PARAMS 16
#define FUZZ_STATE 16
#define FUZZ_FINGERPRINT 0x0123456789abcdefULL

/* The format's checksum (checkpoint.h): 64-bit FNV-1a of every byte before the last 8. */
static uint64_t fnv1a(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

static void load(const uint8_t *data, size_t size, int with_state)
{
    char path[64];
    fuzz_file(0, data, size, path, sizeof path);
    /* Canaries past the end catch a reader that writes more than the graph holds. */
    float params[FUZZ_PARAMS + 1], state[FUZZ_STATE + 1];
    params[FUZZ_PARAMS] = state[FUZZ_STATE] = -7.0f;
    nn_checkpoint_meta m = {.fingerprint = FUZZ_FINGERPRINT, .n_params = FUZZ_PARAMS,
                            .n_state = FUZZ_STATE};
    nn_error err = {0};
    int rc = nn_checkpoint_load(path, &m, params, with_state ? state : NULL, &err);
    fuzz_check_message(rc, err.msg, path);
    if (params[FUZZ_PARAMS] != -7.0f || state[FUZZ_STATE] != -7.0f)
        abort();
    if (rc == NN_OK && (m.fingerprint != FUZZ_FINGERPRINT || m.n_params != FUZZ_PARAMS ||
                        (with_state && m.n_state != FUZZ_STATE)))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    load(data, size, 0);
    load(data, size, 1);
    if (size >= 8) {
        uint8_t *fixed = malloc(size);
        if (!fixed)
            abort();
        memcpy(fixed, data, size);
        uint64_t sum = fnv1a(fixed, size - 8);
        memcpy(fixed + size - 8, &sum, 8);
        load(fixed, size, 0);
        load(fixed, size, 1);
        free(fixed);
    }
    return 0;
}
