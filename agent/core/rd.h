/*
 * rd.h: a bounded big-endian reader over one complete message (STYLE.md section 7).
 *
 * Every read checks what remains first and returns AG_ETRUNC without moving when the input is
 * short. `base` is the stream offset of the first byte, so errors can name absolute offsets.
 */
#ifndef AG_CORE_RD_H
#define AG_CORE_RD_H

#include <stddef.h>
#include <stdint.h>

#include "compiler.h"
#include "err.h"

struct ag_rd {
    const uint8_t *start;
    const uint8_t *p;
    const uint8_t *end;
    uint64_t base;
};

static inline void
ag_rd_init(struct ag_rd *r, const uint8_t *p, size_t len, uint64_t base)
{
    r->start = p;
    r->p = p;
    r->end = p + len;
    r->base = base;
}

static inline size_t
ag_rd_left(const struct ag_rd *r)
{
    return (size_t)(r->end - r->p);
}

static inline uint64_t
ag_rd_off(const struct ag_rd *r)
{
    return r->base + (uint64_t)(r->p - r->start);
}

static inline AG_MUST_CHECK int
ag_rd_u8(struct ag_rd *r, uint8_t *v)
{
    if (r->end - r->p < 1) {
        return AG_ETRUNC;
    }
    *v = r->p[0];
    r->p += 1;
    return 0;
}

static inline AG_MUST_CHECK int
ag_rd_peek_u8(const struct ag_rd *r, uint8_t *v)
{
    if (r->end - r->p < 1) {
        return AG_ETRUNC;
    }
    *v = r->p[0];
    return 0;
}

static inline AG_MUST_CHECK int
ag_rd_u16(struct ag_rd *r, uint16_t *v)
{
    if (r->end - r->p < 2) {
        return AG_ETRUNC;
    }
    *v = (uint16_t)((unsigned)r->p[0] << 8 | r->p[1]);
    r->p += 2;
    return 0;
}

static inline AG_MUST_CHECK int
ag_rd_u32(struct ag_rd *r, uint32_t *v)
{
    if (r->end - r->p < 4) {
        return AG_ETRUNC;
    }
    *v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 | (uint32_t)r->p[2] << 8 | r->p[3];
    r->p += 4;
    return 0;
}

static inline AG_MUST_CHECK int
ag_rd_u64(struct ag_rd *r, uint64_t *v)
{
    uint32_t hi;
    uint32_t lo;

    if (r->end - r->p < 8) {
        return AG_ETRUNC;
    }
    if (ag_rd_u32(r, &hi) != 0 || ag_rd_u32(r, &lo) != 0) {
        return AG_ETRUNC; /* unreachable: the length was checked above */
    }
    *v = (uint64_t)hi << 32 | lo;
    return 0;
}

/* Borrow n bytes in place. */
static inline AG_MUST_CHECK int
ag_rd_bytes(struct ag_rd *r, size_t n, const uint8_t **out)
{
    if ((size_t)(r->end - r->p) < n) {
        return AG_ETRUNC;
    }
    *out = r->p;
    r->p += n;
    return 0;
}

#endif
