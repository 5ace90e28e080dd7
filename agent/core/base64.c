#include "base64.h"

#include <stdbool.h>

#include "err.h"

static const char k_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int
ag_base64_encode(const uint8_t *src, size_t n, char *dst, size_t dst_size)
{
    size_t need = ag_base64_encoded_len(n);
    size_t i = 0;
    size_t o = 0;

    if (n > (SIZE_MAX - 3) / 4 * 3 || dst_size < need + 1) {
        if (dst_size > 0) {
            dst[0] = '\0';
        }
        return AG_ELIMIT;
    }
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)src[i] << 16 | (uint32_t)src[i + 1] << 8 | src[i + 2];
        dst[o++] = k_alphabet[(v >> 18) & 63];
        dst[o++] = k_alphabet[(v >> 12) & 63];
        dst[o++] = k_alphabet[(v >> 6) & 63];
        dst[o++] = k_alphabet[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)src[i] << 16;
        dst[o++] = k_alphabet[(v >> 18) & 63];
        dst[o++] = k_alphabet[(v >> 12) & 63];
        dst[o++] = '=';
        dst[o++] = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)src[i] << 16 | (uint32_t)src[i + 1] << 8;
        dst[o++] = k_alphabet[(v >> 18) & 63];
        dst[o++] = k_alphabet[(v >> 12) & 63];
        dst[o++] = k_alphabet[(v >> 6) & 63];
        dst[o++] = '=';
    }
    AG_ASSERT(o == need);
    dst[o] = '\0';
    return 0;
}

static int
sextet(char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+') {
        return 62;
    }
    if (c == '/') {
        return 63;
    }
    return -1;
}

int
ag_base64_decode(const char *src, size_t len, uint8_t *dst, size_t dst_size, size_t *out_len,
                 struct ag_err *err)
{
    size_t o = 0;

    *out_len = 0;
    if (len % 4 != 0) {
        return ag_err_set(err, AG_EPROTO, len, "base64 length %zu is not a multiple of 4", len);
    }
    for (size_t i = 0; i < len; i += 4) {
        int s[4];
        size_t pad = 0;
        bool last = i + 4 == len;

        for (size_t k = 0; k < 4; k++) {
            char c = src[i + k];

            if (c == '=' && last && k >= 2) {
                s[k] = 0;
                pad++;
                continue;
            }
            s[k] = sextet(c);
            if (s[k] < 0 || pad > 0) {
                return ag_err_set(err, AG_EPROTO, i + k,
                                  "invalid base64 character 0x%02x at offset %zu",
                                  (unsigned)(unsigned char)c, i + k);
            }
        }
        uint32_t v = (uint32_t)s[0] << 18 | (uint32_t)s[1] << 12 | (uint32_t)s[2] << 6 |
                     (uint32_t)s[3];
        size_t nb = 3 - pad;
        if ((pad == 1 && (v & 0xFF) != 0) || (pad == 2 && (v & 0xFFFF) != 0)) {
            return ag_err_set(err, AG_EPROTO, i, "non-canonical base64 padding at offset %zu", i);
        }
        if (dst_size - o < nb) {
            return ag_err_set(err, AG_ELIMIT, i, "base64 output exceeds %zu bytes", dst_size);
        }
        dst[o++] = (uint8_t)(v >> 16);
        if (nb > 1) {
            dst[o++] = (uint8_t)(v >> 8);
        }
        if (nb > 2) {
            dst[o++] = (uint8_t)v;
        }
    }
    *out_len = o;
    return 0;
}
