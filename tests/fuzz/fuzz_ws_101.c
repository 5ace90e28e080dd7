/*
 * fuzz_ws_101.c: the checks on the headers of the controller's 101 response (protocol/ws.c,
 * proto_ws_check_101): X-Remoting-Capability, X-Remoting-Minimum-Version, Connection-Cookie.
 *
 * Input: one flag byte (bit 0: capability present, bit 1: minimum version present, bit 2:
 * cookie present), then the three values separated by NUL bytes. The values are copied into
 * buffers of their exact size, so reads past them are caught.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *
take(const uint8_t **p, const uint8_t *end, size_t *len)
{
    const uint8_t *s = *p;
    const uint8_t *e = s;
    char *out;

    while (e < end && *e != 0) {
        e++;
    }
    *len = (size_t)(e - s);
    out = malloc(*len > 0 ? *len : 1);
    if (out != NULL && *len > 0) {
        memcpy(out, s, *len);
    }
    *p = e < end ? e + 1 : e;
    return out;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data + 1;
    const uint8_t *end = data + size;
    size_t cap_len = 0;
    size_t min_len = 0;
    size_t cookie_len = 0;
    char *cap;
    char *minv;
    char *cookie;
    struct proto_ws_101 r;
    struct ag_err err = {0};
    uint8_t flags;
    int rc;

    if (size < 1) {
        return 0;
    }
    flags = data[0];
    cap = take(&p, end, &cap_len);
    minv = take(&p, end, &min_len);
    cookie = take(&p, end, &cookie_len);
    if (cap != NULL && minv != NULL && cookie != NULL) {
        rc = proto_ws_check_101((flags & 1) != 0 ? cap : NULL, cap_len,
                                (flags & 2) != 0 ? minv : NULL, min_len,
                                (flags & 4) != 0 ? cookie : NULL, cookie_len,
                                "3355.v388858a_47b_33", &r, &err);
        if (rc != 0 && rc != AG_EREFUSED) {
            abort(); /* the only error the checks may report */
        }
        if (r.cookie_ok && strlen(r.cookie) > PROTO_WS_MAX_COOKIE) {
            abort();
        }
    }
    free(cap);
    free(minv);
    free(cookie);
    return 0;
}
