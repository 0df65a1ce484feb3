#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int nn_error_set(nn_error *err, nn_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

int nn_error_prefix(nn_error *err, const char *fmt, ...)
{
    if (!err)
        return NN_E_USAGE;
    char head[512], old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    /* Built by hand: the joined text may be cut at the buffer's end, which is intended. */
    size_t n = strlen(head), cap = sizeof err->msg - 1;
    n = n < cap ? n : cap;
    memcpy(err->msg, head, n);
    for (const char *s = ": "; *s && n < cap; s++)
        err->msg[n++] = *s;
    size_t m = strlen(old);
    m = m < cap - n ? m : cap - n;
    memcpy(err->msg + n, old, m);
    err->msg[n + m] = '\0';
    return err->code;
}

const char *nn_status_name(nn_status code)
{
    switch (code) {
    case NN_OK: return "ok";
    case NN_E_USAGE: return "usage error";
    case NN_E_CONFIG: return "config error";
    case NN_E_SHAPE: return "shape error";
    case NN_E_IO: return "i/o error";
    case NN_E_DATA: return "data error";
    case NN_E_CHECKPOINT: return "checkpoint error";
    case NN_E_NUMERIC: return "numeric error";
    case NN_E_NOMEM: return "out of memory";
    case NN_E_INTERRUPTED: return "interrupted";
    }
    return "error";
}
