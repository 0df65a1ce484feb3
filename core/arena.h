/* One arena per graph: everything a graph owns comes from it and is freed at once. */
#ifndef NN_ARENA_H
#define NN_ARENA_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nn_arena nn_arena;

nn_arena *nn_arena_new(void);
/* Zeroed memory aligned to 64 bytes, or NULL when out of memory (or bytes overflows). */
void *nn_arena_alloc(nn_arena *a, size_t bytes);
/* Copies a string into the arena. */
char *nn_arena_strdup(nn_arena *a, const char *s);
/* Bytes handed out so far. */
size_t nn_arena_used(const nn_arena *a);
void nn_arena_free(nn_arena *a);

#ifdef __cplusplus
}
#endif
#endif
