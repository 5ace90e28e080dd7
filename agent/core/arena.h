/*
 * arena.h: a region allocator. Everything allocated from an arena is freed at once with it
 * (h2o and nginx pools); a decoded message's object graph lives in one.
 *
 * The arena has a byte cap: allocation past it returns NULL and sets `over_limit`, so a decoder
 * can tell AG_ELIMIT from AG_ENOMEM. Not thread-safe; one owner.
 */
#ifndef AG_CORE_ARENA_H
#define AG_CORE_ARENA_H

#include <stdbool.h>
#include <stddef.h>

struct ag_arena_block;

struct ag_arena {
    struct ag_arena_block *head; /* owned: singly linked, newest first */
    size_t used;                 /* bytes handed out, including alignment */
    size_t max;                  /* cap on `used` */
    bool over_limit;             /* set when an allocation failed for the cap */
};

void ag_arena_init(struct ag_arena *a, size_t max);
/* Free every block. The arena can be used again afterwards. */
void ag_arena_fini(struct ag_arena *a);
/* n bytes aligned for any type, zeroed. NULL when out of memory or over the cap. */
void *ag_arena_alloc(struct ag_arena *a, size_t n);
/* count * size bytes with overflow checking. */
void *ag_arena_calloc(struct ag_arena *a, size_t count, size_t size);
void *ag_arena_memdup(struct ag_arena *a, const void *p, size_t n);

#endif
