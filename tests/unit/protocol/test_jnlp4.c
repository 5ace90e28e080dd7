/* JNLP4-connect decoders (protocol/jnlp4.c): the ACK, the controller's frame sequence from
 * golden 02-plain-c2a-head.bin fed whole, byte by byte and split at every offset, the header
 * JSON writer against golden 02-plain-a2c-head.bin, and hostile input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunk.h"
#include "err.h"
#include "harness.h"
#include "jnlp4.h"

T_TEST(test_ack)
{
    static const uint8_t good[] = {0x00, 0x03, 'A', 'C', 'K', 'x'};
    struct proto_jnlp4_ack a = {{0}, 0};
    struct ag_err err = {0};

    T_EQ_INT(proto_jnlp4_ack_feed(&a, good, 2, &err), 2);
    T_EQ_INT(proto_jnlp4_ack_feed(&a, good + 2, 4, &err), 3); /* stops after the ACK */
    T_EQ_U64(a.have, 5);
    memset(&a, 0, sizeof(a));
    T_EQ_INT(proto_jnlp4_ack_feed(&a, (const uint8_t *)"Unknown protocol:\n", 18, &err),
             AG_EPROTO);
    T_EQ_STR(err.msg, "Incorrect acknowledgement sequence, expected 0x000341434b got 0x556e6b6e6f");
    memset(&a, 0, sizeof(a));
    T_EQ_INT(proto_jnlp4_ack_feed(&a, good, 3, &err), 3);
    T_EQ_INT(proto_jnlp4_ack_feed(&a, (const uint8_t *)"X", 1, &err), AG_EPROTO);
    T_EQ_STR(err.msg, "Incorrect acknowledgement sequence, expected 0x000341434b got 0x00034158");
}

struct peer_result {
    int rc;
    int events[8];
    size_t n_events;
    size_t consumed;
    char cookie[PROTO_JNLP4_MAX_COOKIE + 1];
    uint64_t capability;
    char message[PROTO_JNLP4_MAX_MESSAGE + 1];
};

/* Feed with a split: step bytes at a time (0 = whole), or one split at `at` (step SIZE_MAX). */
static void
run_peer(const uint8_t *d, size_t n, size_t step, size_t at, struct peer_result *r)
{
    struct proto_jnlp4_peer p;
    size_t off = 0;

    memset(r, 0, sizeof(*r));
    proto_jnlp4_peer_init(&p);
    while (off < n && p.stage < 3) {
        struct ag_err err = {0};
        enum proto_jnlp4_event ev = PROTO_JNLP4_EV_NONE;
        size_t len = n - off;
        ssize_t k;

        if (step == SIZE_MAX) {
            len = off < at ? at - off : n - off;
        } else if (step != 0 && len > step) {
            len = step;
        }
        k = proto_jnlp4_peer_feed(&p, d + off, len, &ev, &err);
        if (k < 0) {
            r->rc = (int)k;
            break;
        }
        off += (size_t)k;
        if (ev != PROTO_JNLP4_EV_NONE && r->n_events < 8) {
            r->events[r->n_events++] = (int)ev;
        }
    }
    r->consumed = off;
    (void)snprintf(r->cookie, sizeof(r->cookie), "%s", p.has_cookie ? p.cookie : "-");
    r->capability = p.capability;
    (void)snprintf(r->message, sizeof(r->message), "%s", p.message);
    proto_jnlp4_peer_fini(&p);
}

T_TEST(test_golden_peer_sequence)
{
    char path[1024];
    size_t n = 0;
    uint8_t *d;
    struct peer_result want;

    (void)snprintf(path, sizeof(path), "%s/golden/02-plain-c2a-head.bin", t_shared_dir());
    d = t_read_file(path, &n);
    T_CHECK(d != NULL);
    if (d == NULL) {
        return;
    }
    run_peer(d, n, 0, 0, &want);
    T_EQ_INT(want.rc, 0);
    T_EQ_U64(want.n_events, 3);
    T_EQ_INT(want.events[0], PROTO_JNLP4_EV_HEADERS);
    T_EQ_INT(want.events[1], PROTO_JNLP4_EV_ACCEPTED);
    T_EQ_INT(want.events[2], PROTO_JNLP4_EV_CAPABILITY);
    T_EQ_STR(want.cookie, "c51a23b103aa4049a82e5f364d74b509");
    T_EQ_U64(want.capability, 0x1FE);
    /* 0x3f + 2, 2 + 2, 84 + 2; then the chunk stream starts (07 60 ac ed ...) */
    T_EQ_U64(want.consumed, 65 + 4 + 86);
    T_EQ_INT(d[want.consumed], 0x07);
    for (size_t mode = 1; mode < 2 + 200; mode++) {
        struct peer_result got;

        if (mode == 1) {
            run_peer(d, want.consumed, 1, 0, &got);
        } else {
            run_peer(d, want.consumed, SIZE_MAX, mode - 2, &got);
        }
        T_EQ_INT(got.rc, 0);
        T_EQ_U64(got.n_events, 3);
        T_EQ_U64(got.consumed, want.consumed);
        T_EQ_STR(got.cookie, want.cookie);
        T_EQ_U64(got.capability, want.capability);
    }
    free(d);
}

static size_t
frame(uint8_t *out, const char *s)
{
    size_t n = strlen(s);

    out[0] = (uint8_t)(n >> 8);
    out[1] = (uint8_t)n;
    memcpy(out + 2, s, n);
    return n + 2;
}

struct seq_vec {
    const char *name;
    const char *frames[3];
    int want_rc;
    size_t want_events;
    const char *want_text; /* cookie, or refusal message, or error substring */
};

static const struct seq_vec k_seq[] = {
    {"refused", {"{\"JnlpAgentProtocol.cookie\":\"ab\"}", "ERROR: Authorization failure", NULL},
     0, 2, "Authorization failure"},
    {"fatal", {"{}", "FATAL: go away", NULL}, 0, 2, "go away"},
    {"no cookie", {"{\"x\":null}", "OK", "rO0ABXNyABpodWRzb24ucmVtb3RpbmcuQ2FwYWJpbGl0eQAAAAAAAAABAgABSgAEbWFza3hwAAAAAAAAAf4="},
     0, 3, "-"},
    {"escaped cookie", {" {\"JnlpAgentProtocol.cookie\" : \"\\u0061\\/b\"} ", "OK", NULL}, 0, 2,
     "a/b"},
    {"junk after json", {"{}x", NULL, NULL}, AG_EPROTO, 0, "junk"},
    {"number value", {"{\"a\":1}", NULL, NULL}, AG_EPROTO, 0, "strings or null"},
    {"nested", {"{\"a\":{}}", NULL, NULL}, AG_EPROTO, 0, "strings or null"},
    {"bad escape", {"{\"a\":\"\\q\"}", NULL, NULL}, AG_EPROTO, 0, "invalid escape"},
    {"unterminated", {"{\"a\":\"x", NULL, NULL}, AG_EPROTO, 0, "unterminated"},
    {"not json", {"hello", NULL, NULL}, AG_EPROTO, 0, "'{'"},
    {"bad verdict", {"{}", "MAYBE", NULL}, AG_EPROTO, 1, "unexpected response"},
    {"bad capability", {"{}", "OK", "!!!!"}, AG_EPROTO, 2, "not base64"},
    {"odd capability", {"{}", "OK", "rO0ABXQAA2FiYw=="}, 0, 3, "-"},
};

T_TEST(test_sequences)
{
    for (size_t i = 0; i < AG_ARRAY_LEN(k_seq); i++) {
        const struct seq_vec *v = &k_seq[i];
        uint8_t buf[1024];
        size_t n = 0;

        for (size_t f = 0; f < 3 && v->frames[f] != NULL; f++) {
            n += frame(buf + n, v->frames[f]);
        }
        for (size_t mode = 0; mode < 2 + n; mode++) {
            struct peer_result r;
            struct proto_jnlp4_peer p;

            run_peer(buf, n, mode == 0 ? 0 : mode == 1 ? 1 : SIZE_MAX, mode >= 2 ? mode - 2 : 0,
                     &r);
            if (r.rc != v->want_rc || r.n_events != v->want_events) {
                (void)fprintf(stderr, "vector \"%s\" mode %zu\n", v->name, mode);
            }
            T_EQ_INT(r.rc, v->want_rc);
            T_EQ_U64(r.n_events, v->want_events);
            if (v->want_rc == 0 && strcmp(v->name, "refused") != 0 &&
                strcmp(v->name, "fatal") != 0) {
                T_EQ_STR(r.cookie, v->want_text);
            } else if (v->want_rc == 0) {
                T_EQ_STR(r.message, v->want_text);
            }
            (void)p;
        }
        /* the error message names the problem */
        if (v->want_rc != 0) {
            struct proto_jnlp4_peer p;
            struct ag_err err = {0};
            enum proto_jnlp4_event ev;
            size_t off = 0;
            ssize_t k = 0;

            proto_jnlp4_peer_init(&p);
            while (off < n) {
                k = proto_jnlp4_peer_feed(&p, buf + off, n - off, &ev, &err);
                if (k <= 0) {
                    break;
                }
                off += (size_t)k;
            }
            T_CHECK(k < 0 && strstr(err.msg, v->want_text) != NULL);
            if (strstr(err.msg, v->want_text) == NULL) {
                (void)fprintf(stderr, "vector \"%s\": message \"%s\"\n", v->name, err.msg);
            }
            proto_jnlp4_peer_fini(&p);
        }
    }
}

T_TEST(test_capability_frame_limit)
{
    struct proto_jnlp4_peer p;
    struct ag_err err = {0};
    enum proto_jnlp4_event ev;
    uint8_t buf[16];
    size_t n = frame(buf, "{}");

    n += frame(buf + n, "OK");
    buf[n++] = 0xFF;
    buf[n++] = 0xFF;
    proto_jnlp4_peer_init(&p);
    T_EQ_INT(proto_jnlp4_peer_feed(&p, buf, n, &ev, &err), 4);
    T_EQ_INT(proto_jnlp4_peer_feed(&p, buf + 4, n - 4, &ev, &err), 4);
    T_EQ_INT(proto_jnlp4_peer_feed(&p, buf + 8, n - 8, &ev, &err), AG_ELIMIT);
    T_CHECK(strstr(err.msg, "65535") != NULL);
    proto_jnlp4_peer_fini(&p);
}

/* Our header frame is byte-identical to agent.jar's (golden 02-plain-a2c-head.bin). */
T_TEST(test_headers_write_golden)
{
    char path[1024];
    size_t n = 0;
    uint8_t *d;
    char secret[128];
    const char *s;
    const char *e;
    struct ag_buf out;
    size_t flen;

    (void)snprintf(path, sizeof(path), "%s/golden/02-plain-a2c-head.bin", t_shared_dir());
    d = t_read_file(path, &n);
    T_CHECK(d != NULL);
    if (d == NULL) {
        return;
    }
    flen = 2 + ((size_t)d[0] << 8 | d[1]);
    s = memchr(d, 'S', flen);
    s = strstr((const char *)d + 2, "\"Secret-Key\":\"");
    T_CHECK(s != NULL);
    if (s == NULL) {
        free(d);
        return;
    }
    s += 14;
    e = memchr(s, '"', flen - (size_t)(s - (const char *)d));
    (void)snprintf(secret, sizeof(secret), "%.*s", (int)(e - s), s);
    ag_buf_init(&out, 4096);
    T_EQ_INT(proto_jnlp4_headers_write(&out, "golden-agent", secret, NULL), 0);
    T_EQ_MEM(out.data, out.len, d, flen);
    out.len = 0;
    T_EQ_INT(proto_jnlp4_headers_write(&out, "a\"b\\c\n\x01/é", "s", "ck"), 0);
    T_EQ_MEM(out.data + 2, out.len - 2,
             "{\"JnlpAgentProtocol.cookie\":\"ck\",\"Node-Name\":\"a\\\"b\\\\c\\n\\u0001/é\","
             "\"Secret-Key\":\"s\"}",
             strlen("{\"JnlpAgentProtocol.cookie\":\"ck\",\"Node-Name\":\"a\\\"b\\\\c\\n\\u0001/é\","
                    "\"Secret-Key\":\"s\"}"));
    /* and our parser reads what the writer wrote */
    {
        char cookie[PROTO_JNLP4_MAX_COOKIE + 1];
        bool has = false;

        T_EQ_INT(proto_jnlp4_headers_parse(out.data + 2, out.len - 2, cookie, &has, NULL), 0);
        T_CHECK(has);
        T_EQ_STR(cookie, "ck");
    }
    ag_buf_fini(&out);
    free(d);
}

T_MAIN(T_CASE(test_ack), T_CASE(test_golden_peer_sequence), T_CASE(test_sequences),
       T_CASE(test_capability_frame_limit), T_CASE(test_headers_write_golden))
