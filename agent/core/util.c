#include "util.h"

#include <stdarg.h>
#include <stdio.h>

#include "err.h"

int
ag_parse_u64(const char *s, size_t len, uint64_t max, uint64_t *v)
{
    uint64_t acc = 0;

    if (len == 0) {
        return AG_EPROTO;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned d;

        if (s[i] < '0' || s[i] > '9') {
            return AG_EPROTO;
        }
        d = (unsigned)(s[i] - '0');
        if (acc > (UINT64_MAX - d) / 10) {
            return AG_ELIMIT;
        }
        acc = acc * 10 + d;
    }
    if (acc > max) {
        return AG_ELIMIT;
    }
    *v = acc;
    return 0;
}

int
ag_snprintf(char *dst, size_t size, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(dst, size, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= size) {
        return AG_ELIMIT;
    }
    return 0;
}

void
ag_escape(char *dst, size_t size, const uint8_t *src, size_t len, size_t max)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    size_t n = len < max ? len : max;

    if (size == 0) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        uint8_t c = src[i];

        if (c >= 0x20 && c < 0x7f && c != '\\') {
            if (o + 1 >= size) {
                break;
            }
            dst[o++] = (char)c;
        } else {
            if (o + 4 >= size) {
                break;
            }
            dst[o++] = '\\';
            dst[o++] = 'x';
            dst[o++] = hex[c >> 4];
            dst[o++] = hex[c & 15];
        }
    }
    if (n < len && o + 3 < size) {
        dst[o++] = '.';
        dst[o++] = '.';
        dst[o++] = '.';
    }
    dst[o] = '\0';
}

bool
ag_mem_equal_ct(const void *a, const void *b, size_t len)
{
    const unsigned char *x = a;
    const unsigned char *y = b;
    unsigned char d = 0;

    for (size_t i = 0; i < len; i++) {
        d |= (unsigned char)(x[i] ^ y[i]);
    }
    return d == 0;
}
