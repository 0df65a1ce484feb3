/* memfd-backed files for the fuzz targets (see fuzz.h). */
#define _GNU_SOURCE
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define FUZZ_SLOTS 4

int fuzz_file(int slot, const uint8_t *data, size_t size, char *path, size_t path_size)
{
    static int fds[FUZZ_SLOTS] = {-1, -1, -1, -1}; /* the process's files, kept across calls */
    if (slot < 0 || slot >= FUZZ_SLOTS)
        return -1;
    if (fds[slot] < 0) {
        fds[slot] = memfd_create("nnrun-fuzz", MFD_CLOEXEC);
        if (fds[slot] < 0) {
            perror("memfd_create");
            abort();
        }
    }
    int fd = fds[slot];
    if (ftruncate(fd, 0) != 0)
        abort();
    size_t done = 0;
    while (done < size) {
        ssize_t w = pwrite(fd, data + done, size - done, (off_t)done);
        if (w <= 0)
            abort();
        done += (size_t)w;
    }
    snprintf(path, path_size, "/proc/self/fd/%d", fd);
    return 0;
}

void fuzz_check_message(int rc, const char *msg, const char *must_contain)
{
    if (rc == 0)
        return;
    if (msg[0] == '\0' || (must_contain && !strstr(msg, must_contain))) {
        fprintf(stderr, "error %d with a bad message: '%s' (expected it to name '%s')\n", rc, msg,
                must_contain ? must_contain : "");
        abort();
    }
}
