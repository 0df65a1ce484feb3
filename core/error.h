/* Errors are values: every fallible call returns an nn_status and, on failure, fills an nn_error
 * with a message that names the file, line:column where there is one, and what was expected.
 * The library never prints and never exits. */
#ifndef NN_ERROR_H
#define NN_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum nn_status {
    NN_OK = 0,
    NN_E_USAGE,       /* bad call or command-line usage */
    NN_E_CONFIG,      /* the YAML config is wrong */
    NN_E_SHAPE,       /* shapes that do not fit */
    NN_E_IO,          /* a file could not be read or written */
    NN_E_DATA,        /* a data file is malformed */
    NN_E_CHECKPOINT,  /* a checkpoint is corrupt or belongs to another graph */
    NN_E_NUMERIC,     /* NaN or Inf appeared */
    NN_E_NOMEM,       /* out of memory */
    NN_E_INTERRUPTED  /* stopped on request (signal) */
} nn_status;

typedef struct nn_error {
    nn_status code;
    char msg[1024];
} nn_error;

/* Sets err (which may be NULL) and returns code. */
int nn_error_set(nn_error *err, nn_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends "prefix: " to the message already in err; returns err->code. */
int nn_error_prefix(nn_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Short name of a status, e.g. "config error". */
const char *nn_status_name(nn_status code);

#ifdef __cplusplus
}
#endif
#endif
