#include "capability.h"

#include <string.h>

#include "base64.h"
#include "err.h"

/* STREAM_MAGIC .. TC_NULL of a serialised hudson.remoting.Capability (transport.md 6.2). */
static const uint8_t k_prefix[54] = {
    0xac, 0xed, 0x00, 0x05, 0x73, 0x72, 0x00, 0x1a, 'h',  'u',  'd',  's',  'o',  'n',
    '.',  'r',  'e',  'm',  'o',  't',  'i',  'n',  'g',  '.',  'C',  'a',  'p',  'a',
    'b',  'i',  'l',  'i',  't',  'y',  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
    0x02, 0x00, 0x01, 0x4a, 0x00, 0x04, 'm',  'a',  's',  'k',  0x78, 0x70,
};

void
proto_capability_encode(uint64_t mask, char out[PROTO_CAPABILITY_B64_LEN + 1])
{
    uint8_t bin[PROTO_CAPABILITY_BIN_LEN];
    int rc;

    memcpy(bin, k_prefix, sizeof(k_prefix));
    for (size_t i = 0; i < 8; i++) {
        bin[sizeof(k_prefix) + i] = (uint8_t)(mask >> (56 - 8 * i));
    }
    rc = ag_base64_encode(bin, sizeof(bin), out, PROTO_CAPABILITY_B64_LEN + 1);
    AG_ASSERT(rc == 0); /* fixed sizes */
}

int
proto_capability_parse(const char *b64, size_t len, uint64_t *mask, struct ag_err *err)
{
    uint8_t bin[512];
    size_t n = 0;
    uint64_t m = 0;
    struct ag_err e64 = {0};
    int rc;

    if (len > 680) {
        return ag_err_set(err, AG_EPROTO, 0, "capability of %zu characters exceeds limit 680",
                          len);
    }
    rc = ag_base64_decode(b64, len, bin, sizeof(bin), &n, &e64);
    if (rc != 0) {
        return ag_err_set(err, AG_EPROTO, e64.offset, "capability is not base64: %s", e64.msg);
    }
    if (n < 4 || bin[0] != 0xac || bin[1] != 0xed || bin[2] != 0x00 || bin[3] != 0x05) {
        return ag_err_set(err, AG_EPROTO, 0,
                          "capability is not a Java serialization stream (%zu bytes)", n);
    }
    if (n != PROTO_CAPABILITY_BIN_LEN || memcmp(bin, k_prefix, sizeof(k_prefix)) != 0) {
        return ag_err_set(err, AG_ENOTSUP, 0,
                          "capability of %zu bytes is not the 62-byte hudson.remoting.Capability "
                          "form",
                          n);
    }
    for (size_t i = 0; i < 8; i++) {
        m = m << 8 | bin[sizeof(k_prefix) + i];
    }
    *mask = m;
    return 0;
}
