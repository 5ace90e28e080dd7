/* Fuzz the chunk decoder (protocol/chunk.c). The first byte picks the command cap and the
 * second seeds the split points, so the input is fed in fuzzer-chosen fragments. */
#include <stddef.h>
#include <stdint.h>

#include "chunk.h"
#include "err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct proto_chunk_dec d;
    size_t off = 2;
    uint32_t seed;

    if (size < 2) {
        return 0;
    }
    proto_chunk_dec_init(&d, (size_t)(data[0] + 1) * 97);
    seed = data[1];
    while (off < size) {
        struct ag_err err = {0};
        size_t len;
        ssize_t k;
        struct ag_iov cmd;

        seed = seed * 1103515245u + 12345u;
        len = 1 + (seed >> 16) % 64;
        if (len > size - off) {
            len = size - off;
        }
        k = proto_chunk_feed(&d, data + off, len, &err);
        if (k < 0) {
            break;
        }
        off += (size_t)k;
        if (proto_chunk_next(&d, &cmd)) {
            /* touch the bytes so ASan checks the view */
            volatile uint8_t sink = 0;

            for (size_t i = 0; i < cmd.len; i++) {
                sink ^= cmd.base[i];
            }
            (void)sink;
        }
    }
    (void)proto_chunk_idle(&d);
    proto_chunk_dec_fini(&d);
    return 0;
}
