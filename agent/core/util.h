/*
 * util.h: small string and number helpers that replace the banned libc calls (atoi, sscanf, ...).
 */
#ifndef AG_CORE_UTIL_H
#define AG_CORE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"

/* Parse exactly len decimal digits of s into *v; fail (AG_EPROTO) on anything else or a value
 * over max (AG_ELIMIT). No sign, no spaces, no empty string. */
AG_MUST_CHECK int ag_parse_u64(const char *s, size_t len, uint64_t max, uint64_t *v);

/* snprintf that reports truncation: 0 if everything fit, AG_ELIMIT otherwise. */
AG_MUST_CHECK int ag_snprintf(char *dst, size_t size, const char *fmt, ...) AG_PRINTF(3, 4);

/* Escape bytes for a log line: printable ASCII as is, the rest as \xNN; at most max input
 * bytes, with "..." appended when cut. Always NUL-terminates dst (size > 0). */
void ag_escape(char *dst, size_t size, const uint8_t *src, size_t len, size_t max);

/* Constant-time comparison of two byte strings of equal length. */
bool ag_mem_equal_ct(const void *a, const void *b, size_t len);

#endif
