#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "err.h"

void
ag_buf_init(struct ag_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void
ag_buf_fini(struct ag_buf *b)
{
    ag_free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

int
ag_buf_reserve(struct ag_buf *b, size_t n)
{
    size_t need;
    size_t cap;
    uint8_t *p;

    if (!ag_size_add(b->len, n, &need) || need > b->max) {
        return AG_ELIMIT;
    }
    if (need <= b->cap) {
        return 0;
    }
    cap = b->cap < 64 ? 64 : b->cap;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    if (cap > b->max) {
        cap = b->max;
    }
    p = ag_realloc(b->data, cap);
    if (p == NULL) {
        return AG_ENOMEM;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

int
ag_buf_append(struct ag_buf *b, const void *p, size_t n)
{
    int rc;

    if (n == 0) {
        return 0;
    }
    rc = ag_buf_reserve(b, n);
    if (rc != 0) {
        return rc;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

int
ag_buf_append_u8(struct ag_buf *b, uint8_t v)
{
    return ag_buf_append(b, &v, 1);
}

int
ag_buf_append_be16(struct ag_buf *b, uint16_t v)
{
    uint8_t x[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    return ag_buf_append(b, x, sizeof(x));
}

int
ag_buf_append_be32(struct ag_buf *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    return ag_buf_append(b, x, sizeof(x));
}

int
ag_buf_append_be64(struct ag_buf *b, uint64_t v)
{
    int rc = ag_buf_append_be32(b, (uint32_t)(v >> 32));
    return rc != 0 ? rc : ag_buf_append_be32(b, (uint32_t)v);
}

int
ag_buf_printf(struct ag_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    int rc;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return AG_EINTERNAL;
    }
    rc = ag_buf_reserve(b, (size_t)n + 1);
    if (rc != 0) {
        return rc;
    }
    va_start(ap, fmt);
    (void)vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap); /* sized above */
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void
ag_buf_consume(struct ag_buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

void
ag_buf_reset(struct ag_buf *b)
{
    b->len = 0;
}

uint8_t *
ag_buf_steal(struct ag_buf *b, size_t *len)
{
    uint8_t *p = b->data;

    *len = b->len;
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}
