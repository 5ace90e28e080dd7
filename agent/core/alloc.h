/*
 * alloc.h: the only allocator calls the agent makes, and checked size arithmetic.
 *
 * Allocations are counted. When the environment variable AG_TEST_FAIL_ALLOC=N is set, the N-th
 * allocation (counting from 1) and every one after it fail, so tests can sweep every
 * allocation-failure path (curl's torture mode). Thread-safe: the counters are atomic.
 */
#ifndef AG_CORE_ALLOC_H
#define AG_CORE_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"

void *ag_malloc(size_t n);
void *ag_calloc(size_t count, size_t size);
void *ag_realloc(void *p, size_t n);
void ag_free(void *p);
/* Duplicate len bytes of s and add a NUL. */
char *ag_strndup(const char *s, size_t len);
char *ag_strdup(const char *s);

/*
 * Tune the C library's allocator for the agent's pattern: many short-lived buffers of 8 KiB to
 * 1 MiB (one per command). glibc's defaults hand freed memory back to the kernel on nearly every
 * command (trim) and mmap/munmap each buffer over 128 KiB, which cut pipe throughput from
 * gigabytes to ~200 MiB/s in bench_channel. Keeps at most 8 MiB of free heap. Call once at
 * startup, before any thread exists.
 */
void ag_alloc_tune(void);

/* Allocation statistics since start (or since ag_alloc_stats_reset). */
struct ag_alloc_stats {
    uint64_t allocs;
    uint64_t frees;
};
void ag_alloc_stats_get(struct ag_alloc_stats *out);

/* Fail the n-th allocation from now on (0 turns failure injection off). For tests. */
void ag_alloc_fail_after(uint64_t n);

/* Checked size arithmetic: return false (and leave *out untouched) on overflow. */
static inline AG_MUST_CHECK bool
ag_size_add(size_t a, size_t b, size_t *out)
{
    return !__builtin_add_overflow(a, b, out);
}

static inline AG_MUST_CHECK bool
ag_size_mul(size_t a, size_t b, size_t *out)
{
    return !__builtin_mul_overflow(a, b, out);
}

#endif
