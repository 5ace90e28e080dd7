#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <uv.h>

int
ag_err_set(struct ag_err *err, int code, uint64_t offset, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL) {
        return code;
    }
    err->code = code;
    err->offset = offset;
    va_start(ap, fmt);
    (void)vsnprintf(err->msg, sizeof(err->msg), fmt, ap); /* truncation is acceptable here */
    va_end(ap);
    return code;
}

const char *
ag_strerror(int code)
{
    switch (code) {
    case 0:
        return "success";
    case AG_EPROTO:
        return "protocol error";
    case AG_ELIMIT:
        return "limit exceeded";
    case AG_ETRUNC:
        return "truncated input";
    case AG_ENOMEM:
        return "out of memory";
    case AG_ECLOSED:
        return "closed";
    case AG_ETIMEDOUT:
        return "timed out";
    case AG_EINTERNAL:
        return "internal error";
    case AG_EUSAGE:
        return "usage error";
    case AG_ENOTSUP:
        return "not supported";
    case AG_EREFUSED:
        return "refused by the controller";
    }
    if (code < 0 && code > -20000) {
        return uv_strerror(code);
    }
    return "unknown error";
}

void
ag_assert_fail(const char *expr, const char *file, int line)
{
    (void)fprintf(stderr, "internal error: assertion \"%s\" failed at %s:%d\n", expr, file, line);
    abort();
}
