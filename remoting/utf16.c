/*
 * utf16.c: the text conversions of ProxyWriter streams (channel.md 7.1, 7.2). A Java Writer
 * carries UTF-16 code units (`char[]`, big-endian on the wire); the agent's C API speaks UTF-8.
 *
 * UTF-8 to UTF-16 (what we write into a controller RemoteWriter): well-formed UTF-8 (RFC 3629:
 * no overlong forms, no surrogates, nothing above U+10FFFF) becomes the same code points, those
 * above U+FFFF as surrogate pairs. Each maximal ill-formed subsequence becomes one U+FFFD (the
 * Unicode "maximal subpart" practice, which Java's own decoder also follows). A sequence cut by
 * the end of a write waits in the state for the next write; at the end of the stream it becomes
 * one U+FFFD.
 *
 * UTF-16 to UTF-8 (what the controller writes into a Writer we exported): pairs are joined, an
 * unpaired surrogate becomes U+FFFD, U+0000 a 0 byte. A high surrogate at the end of a chunk
 * waits for the next chunk (Java cuts chunks by char count, so a pair may straddle two).
 */
#include "rem_int.h"

#include <string.h>

#define REPLACEMENT 0xFFFDu

/* Decode one code point at s (n > 0 bytes). Returns the bytes consumed, or 0 when s is a valid
 * but incomplete prefix (more bytes needed). Ill-formed input yields U+FFFD. */
static size_t
utf8_decode_one(const uint8_t *s, size_t n, uint32_t *cp)
{
    uint8_t b0 = s[0];
    size_t need;
    uint8_t lo = 0x80;
    uint8_t hi = 0xBF;
    uint32_t v;

    if (b0 < 0x80) {
        *cp = b0;
        return 1;
    }
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        need = 1;
        v = b0 & 0x1Fu;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        need = 2;
        v = b0 & 0x0Fu;
        if (b0 == 0xE0) {
            lo = 0xA0; /* no overlong */
        } else if (b0 == 0xED) {
            hi = 0x9F; /* no surrogates */
        }
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        need = 3;
        v = b0 & 0x07u;
        if (b0 == 0xF0) {
            lo = 0x90; /* no overlong */
        } else if (b0 == 0xF4) {
            hi = 0x8F; /* nothing above U+10FFFF */
        }
    } else {
        *cp = REPLACEMENT; /* a continuation byte, C0, C1 or F5..FF */
        return 1;
    }
    for (size_t i = 1; i <= need; i++) {
        if (i >= n) {
            return 0;
        }
        if (s[i] < lo || s[i] > hi) {
            *cp = REPLACEMENT; /* the maximal subpart s[0..i) */
            return i;
        }
        v = (v << 6) | (s[i] & 0x3Fu);
        lo = 0x80;
        hi = 0xBF;
    }
    *cp = v;
    return need + 1;
}

static uint8_t *
put_unit(uint8_t *o, uint32_t u)
{
    o[0] = (uint8_t)(u >> 8);
    o[1] = (uint8_t)u;
    return o + 2;
}

static uint8_t *
put_cp16(uint8_t *o, uint32_t cp)
{
    if (cp < 0x10000u) {
        return put_unit(o, cp);
    }
    cp -= 0x10000u;
    o = put_unit(o, 0xD800u | (cp >> 10));
    return put_unit(o, 0xDC00u | (cp & 0x3FFu));
}

size_t
rem__utf8_to_utf16be(struct rem_utf8_state *st, const uint8_t *p, size_t n, bool final,
                     uint8_t *out)
{
    uint8_t *o = out;
    uint32_t cp = 0;

    /* First finish the sequence the previous write cut. */
    while (st->n > 0) {
        uint8_t tmp[8];
        size_t take = n < sizeof(st->b) + 1 - st->n ? n : sizeof(st->b) + 1 - st->n;
        size_t c;

        memcpy(tmp, st->b, st->n);
        if (take > 0) {
            memcpy(tmp + st->n, p, take);
        }
        c = utf8_decode_one(tmp, st->n + take, &cp);
        if (c == 0) {
            /* Still incomplete: all of p belongs to it (take == n here). */
            if (take > 0) {
                memcpy(st->b + st->n, p, take);
            }
            st->n += take;
            if (final) {
                o = put_cp16(o, REPLACEMENT);
                st->n = 0;
            }
            return (size_t)(o - out);
        }
        o = put_cp16(o, cp);
        if (c >= st->n) {
            if (c > st->n) {
                p += c - st->n; /* p is not NULL here: those bytes came from it */
                n -= c - st->n;
            }
            st->n = 0;
        } else {
            memmove(st->b, st->b + c, st->n - c);
            st->n -= c;
        }
    }
    while (n > 0) {
        size_t c = utf8_decode_one(p, n, &cp);

        if (c == 0) {
            if (final) {
                o = put_cp16(o, REPLACEMENT);
            } else {
                memcpy(st->b, p, n); /* n < 4: a valid prefix is at most 3 bytes */
                st->n = n;
            }
            break;
        }
        o = put_cp16(o, cp);
        p += c;
        n -= c;
    }
    if (final && st->n > 0) {
        o = put_cp16(o, REPLACEMENT);
        st->n = 0;
    }
    return (size_t)(o - out);
}

static uint8_t *
put_utf8(uint8_t *o, uint32_t cp)
{
    if (cp < 0x80u) {
        *o++ = (uint8_t)cp;
    } else if (cp < 0x800u) {
        *o++ = (uint8_t)(0xC0u | (cp >> 6));
        *o++ = (uint8_t)(0x80u | (cp & 0x3Fu));
    } else if (cp < 0x10000u) {
        *o++ = (uint8_t)(0xE0u | (cp >> 12));
        *o++ = (uint8_t)(0x80u | ((cp >> 6) & 0x3Fu));
        *o++ = (uint8_t)(0x80u | (cp & 0x3Fu));
    } else {
        *o++ = (uint8_t)(0xF0u | (cp >> 18));
        *o++ = (uint8_t)(0x80u | ((cp >> 12) & 0x3Fu));
        *o++ = (uint8_t)(0x80u | ((cp >> 6) & 0x3Fu));
        *o++ = (uint8_t)(0x80u | (cp & 0x3Fu));
    }
    return o;
}

size_t
rem__utf16be_to_utf8(uint16_t *hi, const uint8_t *p, size_t nunits, uint8_t *out)
{
    uint8_t *o = out;

    for (size_t i = 0; i < nunits; i++) {
        uint32_t u = ((uint32_t)p[2 * i] << 8) | p[2 * i + 1];

        if (*hi != 0) {
            uint32_t h = *hi;

            *hi = 0;
            if (u >= 0xDC00u && u <= 0xDFFFu) {
                o = put_utf8(o, 0x10000u + ((h - 0xD800u) << 10) + (u - 0xDC00u));
                continue;
            }
            o = put_utf8(o, REPLACEMENT); /* the high surrogate had no pair */
        }
        if (u >= 0xD800u && u <= 0xDBFFu) {
            *hi = (uint16_t)u;
        } else if (u >= 0xDC00u && u <= 0xDFFFu) {
            o = put_utf8(o, REPLACEMENT);
        } else {
            o = put_utf8(o, u);
        }
    }
    return (size_t)(o - out);
}
