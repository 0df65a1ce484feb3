#include "arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Each allocation is its own block in a list: graphs make few, large allocations, so a bump
 * allocator would gain nothing and waste its tail. */
typedef struct block {
    struct block *next;
    size_t bytes;
} block;

struct nn_arena {
    block *head;
    size_t used;
};

enum { ALIGN = 64 };

nn_arena *nn_arena_new(void) { return calloc(1, sizeof(nn_arena)); }

void *nn_arena_alloc(nn_arena *a, size_t bytes)
{
    if (bytes > SIZE_MAX - 2 * ALIGN)
        return NULL;
    size_t total = (bytes + ALIGN - 1) / ALIGN * ALIGN + ALIGN;
    block *b = aligned_alloc(ALIGN, total);
    if (!b)
        return NULL;
    memset(b, 0, total);
    b->next = a->head;
    b->bytes = bytes;
    a->head = b;
    a->used += bytes;
    return (char *)b + ALIGN;
}

char *nn_arena_strdup(nn_arena *a, const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = nn_arena_alloc(a, n);
    if (d)
        memcpy(d, s, n);
    return d;
}

size_t nn_arena_used(const nn_arena *a) { return a->used; }

void nn_arena_free(nn_arena *a)
{
    if (!a)
        return;
    for (block *b = a->head, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    free(a);
}
