/*
 * base64.h: RFC 4648 base64 with the standard alphabet and '=' padding, as Java's
 * Base64.getEncoder() writes it and Base64.getDecoder() (strict) reads it.
 *
 * No state, no allocation: callers pass output buffers sized with the _len helpers.
 */
#ifndef AG_CORE_BASE64_H
#define AG_CORE_BASE64_H

#include <stddef.h>
#include <stdint.h>

#include "compiler.h"

/* Characters needed to encode n bytes (without the NUL). */
static inline size_t
ag_base64_encoded_len(size_t n)
{
    return (n + 2) / 3 * 4;
}

/* Upper bound of the bytes that len characters decode to. */
static inline size_t
ag_base64_decoded_max(size_t len)
{
    return len / 4 * 3;
}

/*
 * Encode src into dst and NUL-terminate it. dst_size must be at least
 * ag_base64_encoded_len(n) + 1, else AG_ELIMIT and dst is left empty.
 */
AG_MUST_CHECK int ag_base64_encode(const uint8_t *src, size_t n, char *dst, size_t dst_size);

/*
 * Strict decoder: the length must be a multiple of 4, only the standard alphabet, '=' only as
 * one or two final padding characters, and the unused bits before padding must be zero
 * (canonical). No whitespace. Returns 0 and the byte count in *out_len, AG_EPROTO for invalid
 * input (offset and character in the message), AG_ELIMIT if dst is too small.
 */
struct ag_err;
AG_MUST_CHECK int ag_base64_decode(const char *src, size_t len, uint8_t *dst, size_t dst_size,
                                   size_t *out_len, struct ag_err *err);

#endif
