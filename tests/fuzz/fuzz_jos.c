/*
 * fuzz_jos.c: the JOS message decoder, dump and encoder on arbitrary bytes.
 *
 * Properties checked: decoding never crashes or leaks; a decoded tree always dumps and encodes;
 * the encoding decodes again and encodes to the same bytes (idempotence).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "jos.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct jos_limits fuzz_limits = {
    .max_depth = 64,
    .max_handles = 100000,
    .max_array_len = 1u << 20,
    .max_string_bytes = 1u << 20,
    .max_message_bytes = 4u << 20,
    .max_arena_bytes = 32u << 20,
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct jos_msg *m = NULL;
    struct jos_msg *m2 = NULL;
    struct ag_err err = {0};
    struct ag_buf dump;
    struct ag_buf enc;
    struct ag_buf enc2;
    int rc;

    ag_buf_init(&dump, 8u << 20);
    ag_buf_init(&enc, 16u << 20);
    ag_buf_init(&enc2, 16u << 20);
    rc = jos_decode(data, size, &fuzz_limits, (size & 1) != 0 ? JOS_DEC_BORROW : 0, &m, &err);
    if (rc != 0) {
        AG_ASSERT(m == NULL && err.code == rc && err.msg[0] != '\0');
        goto out;
    }
    rc = jos_dump(&dump, m, &m->top, NULL);
    AG_ASSERT(rc == 0 || rc == AG_ELIMIT);
    rc = jos_encode(&enc, m->top.items, m->top.n, &err);
    AG_ASSERT(rc == 0 || rc == AG_ELIMIT);
    if (rc != 0) {
        goto out;
    }
    rc = jos_decode(enc.data, enc.len, &fuzz_limits, 0, &m2, &err);
    /* Our own output may only fail on limits (it can be larger than the input). */
    AG_ASSERT(rc == 0 || rc == AG_ELIMIT);
    if (rc == 0) {
        rc = jos_encode(&enc2, m2->top.items, m2->top.n, &err);
        AG_ASSERT(rc == 0 || rc == AG_ELIMIT);
        if (rc == 0) {
            AG_ASSERT(enc2.len == enc.len && memcmp(enc2.data, enc.data, enc.len) == 0);
        }
    }
out:
    jos_msg_free(m);
    jos_msg_free(m2);
    ag_buf_fini(&dump);
    ag_buf_fini(&enc);
    ag_buf_fini(&enc2);
    return 0;
}
