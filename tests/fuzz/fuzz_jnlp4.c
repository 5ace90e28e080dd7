/* Fuzz what the controller sends during a JNLP4-connect handshake (protocol/jnlp4.c): the
 * plaintext ACK, then (inside TLS) the headers, verdict and capability frames, then chunks.
 * The first byte seeds the split points. */
#include <stddef.h>
#include <stdint.h>

#include "chunk.h"
#include "err.h"
#include "jnlp4.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct proto_jnlp4_ack ack = {{0}, 0};
    struct proto_jnlp4_peer peer;
    struct proto_chunk_dec chunks;
    uint32_t seed;
    size_t off = 1;
    bool ok = true;

    if (size < 1) {
        return 0;
    }
    seed = data[0];
    proto_jnlp4_peer_init(&peer);
    proto_chunk_dec_init(&chunks, 1 << 16);
    while (off < size && ok) {
        struct ag_err err = {0};
        size_t len;
        ssize_t k;

        seed = seed * 1103515245u + 12345u;
        len = 1 + (seed >> 16) % 32;
        if (len > size - off) {
            len = size - off;
        }
        if (ack.have < 5) {
            k = proto_jnlp4_ack_feed(&ack, data + off, len, &err);
        } else if (peer.stage < 3) {
            enum proto_jnlp4_event ev = PROTO_JNLP4_EV_NONE;

            k = proto_jnlp4_peer_feed(&peer, data + off, len, &ev, &err);
            if (ev == PROTO_JNLP4_EV_REFUSED) {
                ok = false;
            }
        } else {
            struct ag_iov cmd;

            k = proto_chunk_feed(&chunks, data + off, len, &err);
            if (k >= 0 && proto_chunk_next(&chunks, &cmd) && cmd.len > 0) {
                ok = cmd.base[0] != 0xFF || cmd.len > 1; /* read the view */
            }
        }
        if (k < 0) {
            ok = false;
        } else {
            off += (size_t)k;
        }
    }
    /* And the whole input as a header object. */
    {
        char cookie[PROTO_JNLP4_MAX_COOKIE + 1];
        bool has = false;

        int rc = proto_jnlp4_headers_parse(data, size, cookie, &has, NULL);

        (void)rc; /* only crashes matter here */
    }
    proto_chunk_dec_fini(&chunks);
    proto_jnlp4_peer_fini(&peer);
    return 0;
}
