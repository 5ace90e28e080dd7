#include "arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <string.h>

#include "alloc.h"

#define ARENA_BLOCK_MIN 4096u

struct ag_arena_block {
    struct ag_arena_block *next;
    size_t size; /* usable bytes after the header */
    size_t off;
    alignas(max_align_t) unsigned char data[];
};

void
ag_arena_init(struct ag_arena *a, size_t max)
{
    a->head = NULL;
    a->used = 0;
    a->max = max;
    a->over_limit = false;
}

void
ag_arena_fini(struct ag_arena *a)
{
    struct ag_arena_block *b = a->head;

    while (b != NULL) {
        struct ag_arena_block *next = b->next;
        ag_free(b);
        b = next;
    }
    a->head = NULL;
    a->used = 0;
    a->over_limit = false;
}

void *
ag_arena_alloc(struct ag_arena *a, size_t n)
{
    const size_t align = alignof(max_align_t);
    struct ag_arena_block *b = a->head;
    size_t rounded;
    size_t total;
    void *p;

    if (!ag_size_add(n, align - 1, &rounded)) {
        a->over_limit = true;
        return NULL;
    }
    rounded &= ~(align - 1);
    if (rounded == 0) {
        rounded = align;
    }
    if (!ag_size_add(a->used, rounded, &total) || total > a->max) {
        a->over_limit = true;
        return NULL;
    }
    if (b == NULL || b->size - b->off < rounded) {
        size_t size = rounded > ARENA_BLOCK_MIN ? rounded : ARENA_BLOCK_MIN;
        size_t bytes;

        if (b != NULL && b->size * 2 > size && b->size * 2 <= (1u << 20)) {
            size = b->size * 2;
        }
        if (!ag_size_add(sizeof(*b), size, &bytes)) {
            return NULL;
        }
        b = ag_malloc(bytes);
        if (b == NULL) {
            return NULL;
        }
        b->next = a->head;
        b->size = size;
        b->off = 0;
        a->head = b;
    }
    p = b->data + b->off;
    b->off += rounded;
    a->used = total;
    memset(p, 0, n);
    return p;
}

void *
ag_arena_calloc(struct ag_arena *a, size_t count, size_t size)
{
    size_t n;

    if (!ag_size_mul(count, size, &n)) {
        a->over_limit = true;
        return NULL;
    }
    return ag_arena_alloc(a, n);
}

void *
ag_arena_memdup(struct ag_arena *a, const void *p, size_t n)
{
    void *d = ag_arena_alloc(a, n);

    if (d != NULL && n > 0) {
        memcpy(d, p, n);
    }
    return d;
}
