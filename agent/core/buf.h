/*
 * buf.h: a growable byte buffer with a hard cap (curl's dynbuf, with a limit).
 *
 * struct ag_buf owns its memory. Growing past `max` fails with AG_ELIMIT and leaves the
 * buffer as it was. struct ag_iov never owns (like uv_buf_t).
 */
#ifndef AG_CORE_BUF_H
#define AG_CORE_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "compiler.h"

struct ag_iov {
    const uint8_t *base;
    size_t len;
};

struct ag_buf {
    uint8_t *data; /* owned */
    size_t len;
    size_t cap;
    size_t max;
};

void ag_buf_init(struct ag_buf *b, size_t max);
void ag_buf_fini(struct ag_buf *b);
/* Make room for at least n more bytes. */
AG_MUST_CHECK int ag_buf_reserve(struct ag_buf *b, size_t n);
AG_MUST_CHECK int ag_buf_append(struct ag_buf *b, const void *p, size_t n);
AG_MUST_CHECK int ag_buf_append_u8(struct ag_buf *b, uint8_t v);
AG_MUST_CHECK int ag_buf_append_be16(struct ag_buf *b, uint16_t v);
AG_MUST_CHECK int ag_buf_append_be32(struct ag_buf *b, uint32_t v);
AG_MUST_CHECK int ag_buf_append_be64(struct ag_buf *b, uint64_t v);
AG_MUST_CHECK int ag_buf_printf(struct ag_buf *b, const char *fmt, ...) AG_PRINTF(2, 3);
/* Drop the first n bytes (n <= len). */
void ag_buf_consume(struct ag_buf *b, size_t n);
void ag_buf_reset(struct ag_buf *b);
/* Hand the bytes to the caller (who frees them with ag_free) and leave b empty. */
uint8_t *ag_buf_steal(struct ag_buf *b, size_t *len);

static inline struct ag_iov
ag_buf_iov(const struct ag_buf *b)
{
    struct ag_iov v = {b->data, b->len};
    return v;
}

#endif
