#include <stdalign.h>
#include <stdint.h>

#include "arena.h"
#include "harness.h"

T_TEST(alignment_and_zeroing)
{
    struct ag_arena a;

    ag_arena_init(&a, 1 << 20);
    for (int i = 1; i < 200; i++) {
        unsigned char *p = ag_arena_alloc(&a, (size_t)i);
        T_CHECK(p != NULL);
        T_EQ_INT((uintptr_t)p % alignof(max_align_t), 0);
        for (int j = 0; j < i; j++) {
            T_EQ_INT(p[j], 0);
        }
        p[i - 1] = 0xff;
    }
    ag_arena_fini(&a);
}

T_TEST(cap_is_enforced)
{
    struct ag_arena a;

    ag_arena_init(&a, 10000);
    T_CHECK(ag_arena_alloc(&a, 8000) != NULL);
    T_CHECK(!a.over_limit);
    T_CHECK(ag_arena_alloc(&a, 4000) == NULL);
    T_CHECK(a.over_limit);
    T_CHECK(ag_arena_calloc(&a, SIZE_MAX / 2, 4) == NULL);
    ag_arena_fini(&a);
}

T_TEST(large_blocks)
{
    struct ag_arena a;
    unsigned char *p;

    ag_arena_init(&a, 64u << 20);
    p = ag_arena_alloc(&a, 5u << 20);
    T_CHECK(p != NULL);
    p[(5u << 20) - 1] = 1;
    T_CHECK(ag_arena_memdup(&a, "abc", 3) != NULL);
    ag_arena_fini(&a);
}

T_MAIN(T_CASE(alignment_and_zeroing), T_CASE(cap_is_enforced), T_CASE(large_blocks))
