/*
 * err.h: error codes and the error detail struct.
 *
 * Functions return 0 on success and a negative code on failure. libuv codes (UV_E*, negative
 * errno) pass through untouched; ours start at -20000 so the two ranges never collide.
 * Details (what was read, at which offset, which rule it broke) go in struct ag_err.
 */
#ifndef AG_CORE_ERR_H
#define AG_CORE_ERR_H

#include <stdint.h>

#include "compiler.h"

enum ag_errcode {
    AG_EPROTO = -20000, /* the peer sent something invalid */
    AG_ELIMIT = -20001, /* valid, but over a configured limit */
    AG_ETRUNC = -20002, /* input ended in the middle of an item */
    AG_ENOMEM = -20003,
    AG_ECLOSED = -20004,
    AG_ETIMEDOUT = -20005,
    AG_EINTERNAL = -20006,
    AG_EUSAGE = -20007,   /* bad command line or configuration */
    AG_ENOTSUP = -20008,  /* recognised, but not implemented by the native agent */
    AG_EREFUSED = -20009, /* the controller refused us (wrong secret, unknown node, ...) */
};

struct ag_err {
    int code;
    uint64_t offset;
    char msg[160];
};

/* Fill err (which may be NULL) and return code, so callers can write `return ag_err_set(...)`. */
int ag_err_set(struct ag_err *err, int code, uint64_t offset, const char *fmt, ...) AG_PRINTF(4, 5);

/* A static string naming code, ours or libuv's. Never NULL. */
const char *ag_strerror(int code);

#endif
