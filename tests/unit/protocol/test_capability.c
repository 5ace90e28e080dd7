/* Capability preamble (protocol/capability.c) against the golden 03-capability-*.bin. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capability.h"
#include "err.h"
#include "harness.h"

T_TEST(test_golden)
{
    static const char *const dirs[] = {"a2c", "c2a"};

    for (size_t i = 0; i < 2; i++) {
        char path[1024];
        size_t n = 0;
        uint8_t *b;
        uint64_t mask = 0;
        struct ag_err err = {0};
        char ours[PROTO_CAPABILITY_B64_LEN + 1];

        (void)snprintf(path, sizeof(path), "%s/golden/03-capability-%s.bin", t_shared_dir(),
                       dirs[i]);
        b = t_read_file(path, &n);
        T_CHECK(b != NULL && n == 2 + PROTO_CAPABILITY_B64_LEN);
        if (b == NULL || n != 2 + PROTO_CAPABILITY_B64_LEN) {
            free(b);
            continue;
        }
        T_EQ_INT(b[0], 0);
        T_EQ_INT(b[1], PROTO_CAPABILITY_B64_LEN);
        T_EQ_INT(proto_capability_parse((const char *)b + 2, n - 2, &mask, &err), 0);
        T_EQ_U64(mask, 0x1FE);
        /* Our encoder writes the same bytes for the same mask. */
        proto_capability_encode(0x1FE, ours);
        T_EQ_MEM(ours, PROTO_CAPABILITY_B64_LEN, b + 2, PROTO_CAPABILITY_B64_LEN);
        free(b);
    }
}

T_TEST(test_ours)
{
    char out[PROTO_CAPABILITY_B64_LEN + 1];
    uint64_t mask = 0;
    struct ag_err err = {0};

    T_EQ_U64(PROTO_CAPABILITY_OURS, 0x1FC);
    T_EQ_U64(PROTO_CAPABILITY_OURS & PROTO_CAP_MULTI_CLASSLOADER, 0);
    proto_capability_encode(PROTO_CAPABILITY_OURS, out);
    T_EQ_STR(out, "rO0ABXNyABpodWRzb24ucmVtb3RpbmcuQ2FwYWJpbGl0eQAAAAAAAAABAgABSgAEbWFza3hwAAAAAAAA"
                  "Afw=");
    proto_capability_encode(0, out);
    T_CHECK(strcmp(out + 72, "AAAAAAAAAAA=") == 0);
    proto_capability_encode(0xFE, out);
    T_CHECK(strcmp(out + 72, "AAAAAAAAAP4=") == 0);
    T_EQ_INT(proto_capability_parse(out, strlen(out), &mask, &err), 0);
    T_EQ_U64(mask, 0xFE);
}

T_TEST(test_hostile)
{
    uint64_t mask = 7;
    struct ag_err err = {0};
    char buf[200];

    T_EQ_INT(proto_capability_parse("", 0, &mask, &err), AG_EPROTO);
    T_EQ_INT(proto_capability_parse("not base64!", 11, &mask, &err), AG_EPROTO);
    T_CHECK(strstr(err.msg, "not base64") != NULL);
    /* whitespace is not allowed */
    proto_capability_encode(0x1FE, buf);
    buf[10] = ' ';
    T_EQ_INT(proto_capability_parse(buf, PROTO_CAPABILITY_B64_LEN, &mask, &err), AG_EPROTO);
    /* valid base64, not Java serialization */
    T_EQ_INT(proto_capability_parse("AAAAAAAA", 8, &mask, &err), AG_EPROTO);
    /* a Java stream of another shape: ENOTSUP (the caller may fall back to 0x1FE) */
    T_EQ_INT(proto_capability_parse("rO0ABXQAA2FiYw==", 16, &mask, &err), AG_ENOTSUP);
    T_CHECK(strstr(err.msg, "62-byte") != NULL);
    /* the right length but another class name */
    proto_capability_encode(0x1FE, buf);
    buf[20] = buf[20] == 'A' ? 'B' : 'A';
    T_CHECK(proto_capability_parse(buf, PROTO_CAPABILITY_B64_LEN, &mask, &err) != 0);
    T_EQ_U64(mask, 7);
    /* too long */
    memset(buf, 'A', sizeof(buf));
    T_EQ_INT(proto_capability_parse(buf, 800, &mask, &err), AG_EPROTO);
}

T_MAIN(T_CASE(test_golden), T_CASE(test_ours), T_CASE(test_hostile))
