/* Chunk framing (protocol/chunk.c): table vectors fed whole, byte by byte and split at every
 * offset; the golden application streams decoded and compared with their commands. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "chunk.h"
#include "err.h"
#include "harness.h"

/* Decode everything in data with the given split: every `step` bytes (0 = whole), or a single
 * split at `at` when step == SIZE_MAX. Collects the commands, each followed by '|'. */
static int
decode_all(const uint8_t *data, size_t n, size_t step, size_t at, size_t max, struct ag_buf *out,
           struct ag_err *err)
{
    struct proto_chunk_dec d;
    size_t off = 0;
    int rc = 0;

    proto_chunk_dec_init(&d, max);
    while (off < n) {
        size_t len = n - off;
        ssize_t k;

        if (step == SIZE_MAX) {
            len = off < at ? at - off : n - off;
        } else if (step != 0 && len > step) {
            len = step;
        }
        while (len > 0) {
            struct ag_iov cmd;

            k = proto_chunk_feed(&d, data + off, len, err);
            if (k < 0) {
                rc = (int)k;
                goto out;
            }
            off += (size_t)k;
            len -= (size_t)k;
            if (proto_chunk_next(&d, &cmd)) {
                if (ag_buf_append(out, cmd.base, cmd.len) != 0 || ag_buf_append_u8(out, '|') != 0) {
                    rc = AG_ENOMEM;
                    goto out;
                }
            }
        }
    }
    if (!proto_chunk_idle(&d)) {
        rc = AG_ETRUNC;
    }
out:
    proto_chunk_dec_fini(&d);
    return rc;
}

struct vec {
    const char *name;
    const char *bytes;
    size_t len;
    size_t max;
    int want_rc;
    const char *want; /* commands, '|'-terminated */
};

static const struct vec k_vecs[] = {
    {"one chunk", "\x00\x03" "abc", 5, 0, 0, "abc|"},
    {"two commands", "\x00\x01" "a" "\x00\x02" "bc", 7, 0, 0, "a|bc|"},
    {"continued", "\x80\x02" "ab" "\x00\x01" "c", 7, 0, 0, "abc|"},
    {"empty middle chunk", "\x80\x00" "\x80\x01" "a" "\x00\x01" "b", 8, 0, 0, "ab|"},
    {"empty final chunk", "\x80\x01" "a" "\x00\x00", 5, 0, 0, "a|"},
    {"empty command", "\x00\x00", 2, 0, 0, "|"},
    {"header only", "\x00", 1, 0, AG_ETRUNC, ""},
    {"payload cut", "\x00\x05" "ab", 4, 0, AG_ETRUNC, ""},
    {"over cap at header", "\x00\x05" "abcde", 7, 4, AG_ELIMIT, ""},
    {"over cap across chunks", "\x80\x03" "abc" "\x00\x02" "de", 9, 4, AG_ELIMIT, ""},
    {"exactly cap", "\x80\x02" "ab" "\x00\x02" "cd", 8, 4, 0, "abcd|"},
};

T_TEST(test_vectors_all_splits)
{
    for (size_t i = 0; i < AG_ARRAY_LEN(k_vecs); i++) {
        const struct vec *v = &k_vecs[i];
        const uint8_t *data = (const uint8_t *)v->bytes;

        for (size_t mode = 0; mode < 2 + v->len + 1; mode++) {
            struct ag_buf out;
            struct ag_err err = {0};
            int rc;

            ag_buf_init(&out, 1 << 20);
            if (mode == 0) {
                rc = decode_all(data, v->len, 0, 0, v->max, &out, &err);
            } else if (mode == 1) {
                rc = decode_all(data, v->len, 1, 0, v->max, &out, &err);
            } else {
                rc = decode_all(data, v->len, SIZE_MAX, mode - 2, v->max, &out, &err);
            }
            if (rc != v->want_rc) {
                (void)fprintf(stderr, "vector \"%s\" mode %zu: %s\n", v->name, mode, err.msg);
            }
            T_EQ_INT(rc, v->want_rc);
            if (v->want_rc == 0) {
                T_EQ_MEM(out.data, out.len, v->want, strlen(v->want));
            }
            ag_buf_fini(&out);
        }
    }
}

T_TEST(test_limit_message)
{
    struct proto_chunk_dec d;
    struct ag_err err = {0};
    ssize_t k;

    proto_chunk_dec_init(&d, 100);
    k = proto_chunk_feed(&d, (const uint8_t *)"\x7f\xff", 2, &err);
    T_EQ_INT(k, AG_ELIMIT);
    T_CHECK(strstr(err.msg, "exceeds limit 100") != NULL);
    proto_chunk_dec_fini(&d);
}

T_TEST(test_encode)
{
    uint8_t *big = malloc(20000);
    struct ag_buf out;
    struct ag_iov cmd = {big, 20000};

    for (size_t i = 0; i < 20000; i++) {
        big[i] = (uint8_t)(i * 7);
    }
    ag_buf_init(&out, 1 << 20);
    T_EQ_INT(proto_chunk_encode(&out, cmd), 0);
    T_EQ_U64(out.len, 20000 + 3 * 2);
    T_EQ_U64(proto_chunk_encoded_len(20000), out.len);
    /* 8192 more, 8192 more, 3616 last */
    T_EQ_INT(out.data[0], 0xA0);
    T_EQ_INT(out.data[1], 0x00);
    T_EQ_INT(out.data[8194], 0xA0);
    T_EQ_INT(out.data[2 * 8194], 0x0E);
    T_EQ_INT(out.data[2 * 8194 + 1], 0x20);
    /* exactly 8192: one final chunk, no trailing empty one */
    out.len = 0;
    cmd.len = 8192;
    T_EQ_INT(proto_chunk_encode(&out, cmd), 0);
    T_EQ_U64(out.len, 8194);
    T_EQ_INT(out.data[0], 0x20);
    /* 16384: two chunks, the last one full, still no empty chunk */
    out.len = 0;
    cmd.len = 16384;
    T_EQ_INT(proto_chunk_encode(&out, cmd), 0);
    T_EQ_U64(out.len, 16388);
    T_EQ_INT(out.data[8194], 0x20);
    /* empty commands are refused */
    cmd.len = 0;
    T_EQ_INT(proto_chunk_encode(&out, cmd), AG_EINTERNAL);
    /* round trip */
    {
        struct ag_buf dec;
        struct ag_err err = {0};

        out.len = 0;
        cmd.len = 20000;
        T_EQ_INT(proto_chunk_encode(&out, cmd), 0);
        ag_buf_init(&dec, 1 << 20);
        T_EQ_INT(decode_all(out.data, out.len, 0, 0, 0, &dec, &err), 0);
        T_EQ_MEM(dec.data, dec.len - 1, big, 20000);
        ag_buf_fini(&dec);
    }
    /* cap on the output buffer */
    {
        struct ag_buf small;

        ag_buf_init(&small, 100);
        cmd.len = 200;
        T_EQ_INT(proto_chunk_encode(&small, cmd), AG_ELIMIT);
        T_EQ_U64(small.len, 0);
        ag_buf_fini(&small);
    }
    ag_buf_fini(&out);
    free(big);
}

/* 04-app-<dir>-head.bin: capability frame, then 16 chunk-framed commands = 05-cmd-<dir>-NNN. */
static void
check_golden(const char *dir)
{
    char path[1024];
    size_t n = 0;
    uint8_t *app;
    size_t skip;

    (void)snprintf(path, sizeof(path), "%s/golden/04-app-%s-head.bin", t_shared_dir(), dir);
    app = t_read_file(path, &n);
    T_CHECK(app != NULL);
    if (app == NULL) {
        return;
    }
    skip = 2 + ((size_t)app[0] << 8 | app[1]);
    for (size_t mode = 0; mode < 3; mode++) {
        struct proto_chunk_dec d;
        size_t off = skip;
        size_t got = 0;

        proto_chunk_dec_init(&d, 0);
        while (off < n && got < 16) {
            struct ag_err err = {0};
            size_t len = n - off;
            struct ag_iov cmd;
            ssize_t k;

            if (mode == 1) {
                len = 1;
            } else if (mode == 2 && len > 997) {
                len = 997;
            }
            k = proto_chunk_feed(&d, app + off, len, &err);
            T_CHECK(k >= 0);
            if (k < 0) {
                break;
            }
            off += (size_t)k;
            if (proto_chunk_next(&d, &cmd)) {
                size_t wl = 0;
                uint8_t *want;

                (void)snprintf(path, sizeof(path), "%s/golden/05-cmd-%s-%03zu.bin",
                               t_shared_dir(), dir, got);
                want = t_read_file(path, &wl);
                T_CHECK(want != NULL);
                if (want != NULL) {
                    T_EQ_MEM(cmd.base, cmd.len, want, wl);
                }
                free(want);
                got++;
            }
        }
        T_EQ_U64(got, 16);
        proto_chunk_dec_fini(&d);
    }
    free(app);
}

T_TEST(test_golden_c2a)
{
    check_golden("c2a");
}

T_TEST(test_golden_a2c)
{
    check_golden("a2c");
}

T_MAIN(T_CASE(test_vectors_all_splits), T_CASE(test_limit_message), T_CASE(test_encode),
       T_CASE(test_golden_c2a), T_CASE(test_golden_a2c))
