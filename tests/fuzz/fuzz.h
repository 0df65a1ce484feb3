/* Shared by the fuzz targets. Each target defines LLVMFuzzerTestOneInput; built with clang's
 * -fsanitize=fuzzer it is a libFuzzer binary (`make fuzz`), built with replay.c it is a plain
 * program that runs the committed corpus and the regression inputs (`make test`). */
#ifndef NN_FUZZ_H
#define NN_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The readers under test take paths, so the input goes through a real file: an anonymous
 * in-memory file (memfd), reached as /proc/self/fd/N. Each slot is one file, made on first
 * use, truncated and rewritten on every call; path receives its name. Returns 0 on success. */
int fuzz_file(int slot, const uint8_t *data, size_t size, char *path, size_t path_size);

/* Aborts (so the fuzzer reports it) when a failing call left no message or a message without
 * the file name it was given. */
void fuzz_check_message(int rc, const char *msg, const char *must_contain);

#endif
