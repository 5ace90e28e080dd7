/* Strict base64 (agent/core/base64.c): RFC 4648 vectors and hostile input. */
#include <stdio.h>
#include <string.h>

#include "base64.h"
#include "err.h"
#include "harness.h"

static const struct {
    const char *plain;
    const char *b64;
} k_rfc[] = {
    {"", ""},           {"f", "Zg=="},         {"fo", "Zm8="},         {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
};

T_TEST(test_rfc4648)
{
    for (size_t i = 0; i < AG_ARRAY_LEN(k_rfc); i++) {
        char enc[32];
        uint8_t dec[32];
        size_t n = 0;
        struct ag_err err = {0};
        size_t pl = strlen(k_rfc[i].plain);

        T_EQ_INT(ag_base64_encode((const uint8_t *)k_rfc[i].plain, pl, enc, sizeof(enc)), 0);
        T_EQ_STR(enc, k_rfc[i].b64);
        T_EQ_U64(ag_base64_encoded_len(pl), strlen(k_rfc[i].b64));
        T_EQ_INT(ag_base64_decode(k_rfc[i].b64, strlen(k_rfc[i].b64), dec, sizeof(dec), &n, &err),
                 0);
        T_EQ_MEM(dec, n, k_rfc[i].plain, pl);
    }
}

T_TEST(test_all_bytes)
{
    uint8_t in[256];
    char enc[400];
    uint8_t dec[256];
    size_t n = 0;

    for (size_t i = 0; i < 256; i++) {
        in[i] = (uint8_t)(255 - i);
    }
    for (size_t len = 0; len <= 256; len++) {
        T_EQ_INT(ag_base64_encode(in, len, enc, sizeof(enc)), 0);
        T_EQ_INT(ag_base64_decode(enc, strlen(enc), dec, sizeof(dec), &n, NULL), 0);
        T_EQ_MEM(dec, n, in, len);
    }
}

T_TEST(test_strict)
{
    static const char *const bad[] = {
        "Zg=",      /* length not a multiple of 4 */
        "Zg==Zg==", /* padding in the middle */
        "Z===",     /* too much padding */
        "Zh==",     /* non-canonical: unused bits set */
        "Zm9=",     /* non-canonical */
        "Zm 9",     /* whitespace */
        "Zm9v\n",   /* newline */
        "Zm-_",     /* URL alphabet */
        "=Zm9",     /* padding first */
        "Zm=v",     /* padding then data */
    };
    uint8_t dec[16];
    size_t n = 99;
    struct ag_err err = {0};

    for (size_t i = 0; i < AG_ARRAY_LEN(bad); i++) {
        int rc = ag_base64_decode(bad[i], strlen(bad[i]), dec, sizeof(dec), &n, &err);

        if (rc != AG_EPROTO) {
            (void)fprintf(stderr, "accepted \"%s\"\n", bad[i]);
        }
        T_EQ_INT(rc, AG_EPROTO);
    }
    T_EQ_INT(ag_base64_decode("Zm9vYmFy", 8, dec, 5, &n, &err), AG_ELIMIT);
    T_EQ_INT(ag_base64_encode((const uint8_t *)"foo", 3, (char *)dec, 4), AG_ELIMIT);
}

T_MAIN(T_CASE(test_rfc4648), T_CASE(test_all_bytes), T_CASE(test_strict))
