/*
 * jos_int.h: shared only between the jos_*.c files of protocol/: an identity map from pointers
 * (or strings) to handles, modified UTF-8 conversion, and the table of custom layouts.
 */
#ifndef AG_PROTOCOL_JOS_INT_H
#define AG_PROTOCOL_JOS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jos.h"

/* Open-addressing map from a key (a pointer, or a string of len bytes) to a uint32 value.
 * Heap-allocated (ag_malloc), capacity a power of two, at most half full. */
struct jos__map_ent {
    const void *key; /* NULL = empty slot */
    size_t len;      /* string keys: byte length; pointer keys: SIZE_MAX */
    uint64_t hash;
    uint32_t val;
};

struct jos__map {
    struct jos__map_ent *ents; /* owned */
    size_t cap;
    size_t n;
};

void jos__map_init(struct jos__map *mp);
void jos__map_fini(struct jos__map *mp);
void jos__map_clear(struct jos__map *mp);
/* Pointer keys. Returns true and *val if found. */
bool jos__map_get_ptr(const struct jos__map *mp, const void *key, uint32_t *val);
AG_MUST_CHECK int jos__map_put_ptr(struct jos__map *mp, const void *key, uint32_t val);
/* String keys (the bytes must stay alive while in the map). */
bool jos__map_get_str(const struct jos__map *mp, const char *s, size_t len, uint32_t *val);
AG_MUST_CHECK int jos__map_put_str(struct jos__map *mp, const char *s, size_t len, uint32_t val);

/* Convert modified UTF-8 (n bytes) to UTF-8 in dst (room for n + 1 bytes; NUL-terminated),
 * joining surrogate pairs into 4-byte sequences; lone surrogates stay 3-byte sequences. Returns
 * the output length, or -1 with *bad = offset of the first invalid byte. */
ptrdiff_t jos__mutf8_to_utf8(const uint8_t *src, size_t n, char *dst, size_t *bad);
/* Encoded modified-UTF-8 length of UTF-8 s (len bytes); SIZE_MAX if s is not valid. */
size_t jos__mutf8_len(const char *s, size_t len);
/* Write the modified UTF-8 form of s into dst (jos__mutf8_len bytes). */
void jos__mutf8_write(const char *s, size_t len, uint8_t *dst);

/* True if class `name` writes custom data without default field values first (channel.md 1.11). */
bool jos__custom_layout(const char *name);

/* A primitive of type t from big-endian bytes (sign rules of union jos_fv). */
int64_t jos__load_prim(char t, const uint8_t *p);

/* Allocate from m's arena; on failure fill err (AG_ELIMIT over the arena cap, else AG_ENOMEM). */
void *jos__alloc(struct jos_msg *m, size_t n, struct ag_err *err, uint64_t off);

#endif
