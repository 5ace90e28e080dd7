#include "alloc.h"

#include <malloc.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static atomic_uint_fast64_t n_allocs;
static atomic_uint_fast64_t n_frees;
static atomic_uint_fast64_t fail_at;  /* 0: never fail */
static atomic_int fail_init_done;

static bool
should_fail(void)
{
    uint64_t count;
    uint64_t at;

    if (atomic_load(&fail_init_done) == 0) {
        const char *s = getenv("AG_TEST_FAIL_ALLOC");
        uint64_t v = 0;

        if (s != NULL && ag_parse_u64(s, strlen(s), UINT64_MAX, &v) == 0) {
            atomic_store(&fail_at, v);
        }
        atomic_store(&fail_init_done, 1);
    }
    count = atomic_fetch_add(&n_allocs, 1) + 1;
    at = atomic_load(&fail_at);
    return at != 0 && count >= at;
}

void *
ag_malloc(size_t n)
{
    if (should_fail()) {
        return NULL;
    }
    return malloc(n == 0 ? 1 : n);
}

void *
ag_calloc(size_t count, size_t size)
{
    if (should_fail()) {
        return NULL;
    }
    if (count == 0 || size == 0) {
        count = 1;
        size = 1;
    }
    return calloc(count, size);
}

void *
ag_realloc(void *p, size_t n)
{
    if (should_fail()) {
        return NULL;
    }
    return realloc(p, n == 0 ? 1 : n);
}

void
ag_free(void *p)
{
    if (p != NULL) {
        atomic_fetch_add(&n_frees, 1);
        free(p);
    }
}

char *
ag_strndup(const char *s, size_t len)
{
    size_t n;
    char *d;

    if (!ag_size_add(len, 1, &n)) {
        return NULL;
    }
    d = ag_malloc(n);
    if (d == NULL) {
        return NULL;
    }
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

char *
ag_strdup(const char *s)
{
    return ag_strndup(s, strlen(s));
}

void
ag_alloc_stats_get(struct ag_alloc_stats *out)
{
    out->allocs = atomic_load(&n_allocs);
    out->frees = atomic_load(&n_frees);
}

void
ag_alloc_fail_after(uint64_t n)
{
    atomic_store(&fail_init_done, 1);
    atomic_store(&fail_at, n == 0 ? 0 : atomic_load(&n_allocs) + n);
}

void
ag_alloc_tune(void)
{
    /* mallopt returns 1 on success; a C library that ignores these only loses speed. */
    (void)mallopt(M_TRIM_THRESHOLD, 8 * 1024 * 1024);
    (void)mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
}
