/*
 * test_channel.c: the remoting channel over an in-memory link, fed with the spec's vectors
 * (channel.md 11, 12) and the golden commands of a real controller (shared/golden), checking
 * our replies byte for byte where Java's bytes are known.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "callables.h"
#include "channel.h"
#include "channel_fixture.h"
#include "fake_link.h"
#include "harness.h"
#include "jos.h"
#include "log.h"
#include "pipe.h"
#include "vectors.h"
#include "version.h"

/* ----- helpers ----- */

static uint8_t *
hex(const char *h, size_t *n)
{
    size_t len = strlen(h) / 2;
    uint8_t *p = malloc(len > 0 ? len : 1);

    for (size_t i = 0; i < len; i++) {
        unsigned v = 0;

        for (int k = 0; k < 2; k++) {
            char c = h[2 * i + (size_t)k];

            v = v * 16 + (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
        }
        p[i] = (uint8_t)v;
    }
    *n = len;
    return p;
}

static void
deliver_hex(struct fake_link *f, const char *h)
{
    size_t n = 0;
    uint8_t *p = hex(h, &n);

    fake_link_deliver(f, p, n);
    free(p);
}

static bool
deliver_golden(struct fake_link *f, const char *name)
{
    char path[512];
    size_t n = 0;
    uint8_t *p;

    (void)snprintf(path, sizeof(path), "%s/golden/%s", t_shared_dir(), name);
    p = t_read_file(path, &n);
    if (p == NULL) {
        return false;
    }
    fake_link_deliver(f, p, n);
    free(p);
    return true;
}

static void
check_sent_hex(struct fake_link *f, size_t i, const char *h)
{
    size_t n = 0;
    uint8_t *p = hex(h, &n);

    T_CHECK(i < f->nsent);
    if (i < f->nsent) {
        T_EQ_MEM(f->sent[i], f->sent_len[i], p, n);
    }
    free(p);
}

/* Decode sent command i (caller frees *m). */
static struct jos_val *
sent_cmd(struct fake_link *f, size_t i, struct jos_msg **m)
{
    struct ag_err err = {0};

    *m = NULL;
    if (i >= f->nsent || jos_decode(f->sent[i], f->sent_len[i], NULL, 0, m, &err) != 0) {
        T_FAIL_("cannot decode sent command %zu: %s", i, err.msg);
        return NULL;
    }
    return (*m)->top.items[0];
}

static const char *
sent_class(struct fake_link *f, size_t i, struct jos_msg **m)
{
    struct jos_val *v = sent_cmd(f, i, m);

    return v != NULL ? jos_val_class(v) : "";
}

/* Check sent command i is a Response to id; return its exception text ("" for none). */
static void
check_response(struct fake_link *f, size_t i, int32_t id, const char *exc_substr)
{
    struct jos_msg *m = NULL;
    struct jos_val *v = sent_cmd(f, i, &m);
    struct jos_val *exc = NULL;
    int32_t got = -1;

    if (v == NULL) {
        return;
    }
    T_EQ_STR(jos_val_class(v), "hudson.remoting.Response");
    T_EQ_INT(jos_get_int(v, "id", &got), 0);
    T_EQ_INT(got, id);
    T_EQ_INT(jos_get_obj(v, "exception", &exc), 0);
    if (exc_substr != NULL && strcmp(exc_substr, "*") == 0) {
        /* either form */
    } else if (exc_substr == NULL) {
        T_CHECK(exc == NULL);
    } else {
        const char *msg = NULL;
        size_t len = 0;

        T_CHECK(exc != NULL);
        if (exc != NULL) {
            T_EQ_INT(jos_get_string(exc, "detailMessage", &msg, &len), 0);
            T_CHECK(msg != NULL && strstr(msg, exc_substr) != NULL);
            if (msg == NULL || strstr(msg, exc_substr) == NULL) {
                (void)fprintf(stderr, "exception message: %s\n", msg != NULL ? msg : "(null)");
            }
        }
    }
    jos_msg_free(m);
}

/* The Ping UserRequest of channel.md 12 with Request.lastIoId patched (bytes after id=1). */
static char *
ping_with_last_io(int32_t last_io)
{
    char *h = strdup(V_PING_REQ);
    char *at = strstr(h, "70000000010000000070");

    if (at != NULL) {
        (void)snprintf(at + 10, 9, "%08x", (unsigned)last_io);
        at[18] = '7'; /* snprintf wrote a NUL over the 70 */
    }
    return h;
}

/* ----- a test sink ----- */

struct sink {
    char data[256];
    size_t len;
    int flushes;
    int closes;
    char close_error[200];
    bool pending;      /* answer REM_SINK_PENDING */
    rem_sink_done_cb done;
    void *token;
};

static int
sink_write(void *ctx, struct ag_iov d, rem_sink_done_cb done, void *token)
{
    struct sink *s = ctx;

    if (s->len + d.len < sizeof(s->data)) {
        memcpy(s->data + s->len, d.base, d.len);
        s->len += d.len;
    }
    if (s->pending) {
        s->done = done;
        s->token = token;
        return REM_SINK_PENDING;
    }
    return 0;
}

static void
sink_flush(void *ctx)
{
    ((struct sink *)ctx)->flushes++;
}

static void
sink_close(void *ctx, const char *error)
{
    struct sink *s = ctx;

    s->closes++;
    (void)snprintf(s->close_error, sizeof(s->close_error), "%s", error != NULL ? error : "");
}

static const struct rem_sink_ops sink_ops = {sink_write, sink_flush, sink_close};

/* ----- tests ----- */

T_TEST(slave_version_reply_is_byte_exact)
{
    struct fake_link f;
    struct closed_state cs;
    struct rem_channel *ch = open_channel(&f, &cs);

    T_EQ_STR(AG_REMOTING_VERSION, "3355.v388858a_47b_33");
    deliver_hex(&f, V_SLAVEVERSION_REQ);
    T_EQ_INT(f.nsent, 1);
    check_sent_hex(&f, 0, V_SLAVEVERSION_RESP);
    (void)ch;
    shut(&f, &cs);
}

static const void *
find_bytes(const void *hay, size_t hn, const void *needle, size_t nn)
{
    const uint8_t *h = hay;

    for (size_t i = 0; nn <= hn && i <= hn - nn; i++) {
        if (memcmp(h + i, needle, nn) == 0) {
            return h + i;
        }
    }
    return NULL;
}

/* Our Response has the shape of the Java agent's (golden 05-cmd-a2c-002, the answer to
 * 05-cmd-c2a-000): identical bytes up to the end of the descriptor chain (0xd2, channel.md
 * 11.3), and the same NormalResponse descriptor; only createdAt (null for us, a stack trace for
 * Java) and the payload differ. */
T_TEST(response_shape_matches_java_agent)
{
    struct fake_link f;
    struct closed_state cs;
    struct rem_channel *ch = open_channel(&f, &cs);
    char path[512];
    size_t n = 0;
    uint8_t *java;
    static const char nr_desc[] = "\x72\x00\x2a" "hudson.remoting.UserRequest$NormalResponse";

    (void)snprintf(path, sizeof(path), "%s/golden/05-cmd-a2c-002.bin", t_shared_dir());
    java = t_read_file(path, &n);
    T_CHECK(java != NULL && n > 0xd2);
    deliver_hex(&f, V_SLAVEVERSION_REQ);
    T_EQ_INT(f.nsent, 1);
    if (java != NULL && f.nsent == 1 && f.sent_len[0] > 0xd2 && n > 0xd2) {
        T_EQ_MEM(f.sent[0], 0xd2, java, 0xd2);
        T_CHECK(find_bytes(f.sent[0], f.sent_len[0], nr_desc, sizeof(nr_desc) - 1) != NULL);
        T_CHECK(find_bytes(java, n, nr_desc, sizeof(nr_desc) - 1) != NULL);
    }
    free(java);
    (void)ch;
    shut(&f, &cs);
}

T_TEST(unsupported_callable_then_ping)
{
    struct fake_link f;
    struct closed_state cs;
    struct rem_channel *ch = open_channel(&f, &cs);
    struct jos_msg *m = NULL;
    struct jos_val *r;
    struct jos_val *nr = NULL;
    struct ag_iov payload = {0};

    T_CHECK(deliver_golden(&f, "05-cmd-c2a-000.bin"));
    T_EQ_INT(f.nsent, 1);
    check_response(&f, 0, 0, "native-agent does not support callable refpeer.HelloCallable");
    deliver_hex(&f, V_PING_REQ);
    T_EQ_INT(f.nsent, 2);
    r = sent_cmd(&f, 1, &m);
    if (r != NULL) {
        int32_t id = 0;

        T_EQ_INT(jos_get_int(r, "id", &id), 0);
        T_EQ_INT(id, 1);
        T_EQ_INT(jos_get_obj(r, "returnValue", &nr), 0);
        T_CHECK(jos_val_is(nr, "hudson.remoting.UserRequest$NormalResponse"));
        T_EQ_INT(jos_get_bytes(nr, "response", &payload), 0);
        T_EQ_MEM(payload.base, payload.len, "\xac\xed\x00\x05\x70", 5);
    }
    jos_msg_free(m);
    shut(&f, &cs);
    (void)ch;
}

/* Every golden controller command into one channel: one Response per request id, no crash. */
T_TEST(golden_controller_session)
{
    static const char *const files[] = {
        "05-cmd-c2a-000.bin", "05-cmd-c2a-001.bin", "05-cmd-c2a-002.bin", "05-cmd-c2a-003.bin",
        "05-cmd-c2a-004.bin", "05-cmd-c2a-005.bin", "05-cmd-c2a-006.bin", "05-cmd-c2a-007.bin",
        "05-cmd-c2a-008.bin", "05-cmd-c2a-009.bin", "05-cmd-c2a-010.bin", "05-cmd-c2a-011.bin",
        "05-cmd-c2a-012.bin", "05-cmd-c2a-013.bin", "05-cmd-c2a-014.bin", "05-cmd-c2a-015.bin",
        "06-firstofclass-c2a-00139.bin", "06-firstofclass-c2a-00267.bin",
        "06-firstofclass-c2a-00288.bin", "07-lastcmd-c2a-00301.bin", "07-lastcmd-c2a-00302.bin",
        "07-lastcmd-c2a-00303.bin", "07-lastcmd-c2a-00304.bin", "07-lastcmd-c2a-00305.bin",
        "06-firstofclass-c2a-00306.bin",
    };
    struct fake_link f;
    struct closed_state cs;
    struct rem_channel *ch = open_channel(&f, &cs);
    struct rem_channel_stats st;
    size_t requests = 0;

    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        size_t before = f.nsent;
        char path[512];
        size_t n = 0;
        uint8_t *p;
        struct jos_msg *m = NULL;
        struct ag_err err = {0};
        bool is_req = false;
        int32_t id = -1;

        (void)snprintf(path, sizeof(path), "%s/golden/%s", t_shared_dir(), files[i]);
        p = t_read_file(path, &n);
        T_CHECK(p != NULL);
        if (p == NULL) {
            continue;
        }
        if (jos_decode(p, n, NULL, 0, &m, &err) == 0) {
            struct jos_val *c = m->top.items[0];

            is_req = jos_val_instanceof(c, "hudson.remoting.Request");
            T_EQ_INT(jos_get_prim(c, "id", &(int64_t){0}) == 0 || !is_req, 1);
            if (is_req) {
                int64_t v = 0;

                T_EQ_INT(jos_get_prim(c, "id", &v), 0);
                id = (int32_t)v;
            }
        }
        jos_msg_free(m);
        fake_link_deliver(&f, p, n);
        free(p);
        if (is_req) {
            requests++;
            T_EQ_INT(f.nsent, before + 1);
            if (f.nsent == before + 1) {
                check_response(&f, before, id, "*");
            }
        }
    }
    /* The last command is the controller's CloseCommand: we answer with ours (channel.md 12). */
    check_sent_hex(&f, f.nsent - 1, V_CLOSE);
    T_CHECK(f.close_requested);
    rem_channel_get_stats(ch, &st);
    T_EQ_INT(st.close_received, 1);
    T_EQ_INT(st.calls_running, 0);
    T_CHECK(requests >= 8);
    fake_link_finish(&f, 0);
    T_EQ_INT(cs.calls, 1);
    T_EQ_INT(cs.code, 0);
    fake_link_clear(&f);
}

T_TEST(sink_chunk_flush_eof_with_acks)
{
    struct fake_link f;
    struct closed_state cs;
    struct rem_channel *ch = open_channel(&f, &cs);
    struct sink s = {0};
    struct rem_channel_stats st;
    int32_t oid = 0;
    char *ack = strdup(V_ACK7);

    T_EQ_INT(rem_channel_export_sink(ch, &sink_ops, &s, &oid), 0);
    T_EQ_INT(oid, 2);
    deliver_hex(&f, V_CHUNK);
    T_EQ_MEM(s.data, s.len, "hi", 2);
    /* Ack(oid=2, size=2): the spec's Ack(7, 2) vector with the oid patched. */
    memcpy(ack + strlen(ack) - 16, "00000002", 8);
    T_EQ_INT(f.nsent, 1);
    check_sent_hex(&f, 0, ack);
    deliver_hex(&f, V_FLUSH);
    T_EQ_INT(s.flushes, 1);
    deliver_hex(&f, V_EOF);
    T_EQ_INT(s.closes, 1);
    T_EQ_STR(s.close_error, "");
    rem_channel_get_stats(ch, &st);
    T_EQ_INT(st.exports, 1);
    /* A chunk for a stream that is gone: dropped without an Ack, as Java does. */
    deliver_hex(&f, V_CHUNK);
    T_EQ_INT(f.nsent, 1);
    free(ack);
    shut(&f, &cs);
}

/* channel.md 4.2: a request with lastIoId waits for the I/O received before it. */
T_TEST(request_waits_for_pipe_io)
{
    struct fake_link f;
    struct closed_state cs;
    struct rem_channel *ch = open_channel(&f, &cs);
    struct sink s = {0};
    int32_t oid = 0;
    char *ping = ping_with_last_io(1);
    struct jos_msg *m = NULL;

    s.pending = true;
    T_EQ_INT(rem_channel_export_sink(ch, &sink_ops, &s, &oid), 0);
    deliver_hex(&f, V_CHUNK);
    T_CHECK(s.done != NULL);
    deliver_hex(&f, ping);
    T_EQ_INT(f.nsent, 0); /* neither Ack nor Response yet */
    s.done(s.token, 0);
    T_EQ_INT(f.nsent, 2);
    T_EQ_STR(sent_class(&f, 0, &m), "hudson.remoting.ProxyOutputStream$Ack");
    jos_msg_free(m);
    check_response(&f, 1, 1, NULL);
    free(ping);
    shut(&f, &cs);
}

T_TEST(close_from_controller_and_from_us)
{
    struct fake_link f;
    struct closed_state cs;
    struct rem_channel *ch = open_channel(&f, &cs);

    deliver_hex(&f, V_CLOSE);
    T_EQ_INT(f.nsent, 1);
    check_sent_hex(&f, 0, V_CLOSE);
    T_CHECK(f.close_requested);
    deliver_hex(&f, V_PING_REQ); /* nothing is expected after CloseCommand: ignored */
    T_EQ_INT(f.nsent, 1);
    fake_link_finish(&f, 0);
    T_EQ_INT(cs.calls, 1);
    T_EQ_INT(cs.code, 0);
    fake_link_clear(&f);

    ch = open_channel(&f, &cs);
    rem_channel_close(ch, "test");
    T_EQ_INT(f.nsent, 1);
    check_sent_hex(&f, 0, V_CLOSE);
    T_CHECK(!f.close_requested);
    deliver_hex(&f, V_PING_REQ); /* answered? no: nothing may follow our CloseCommand */
    T_EQ_INT(f.nsent, 1);
    deliver_hex(&f, V_CLOSE);
    T_EQ_INT(f.nsent, 1);
    T_CHECK(f.close_requested);
    fake_link_finish(&f, 0);
    T_EQ_INT(cs.calls, 1);
    T_EQ_INT(cs.code, 0);
    fake_link_clear(&f);
}

/* ----- an exported object for RPC tests ----- */

struct obj {
    struct rem_call *call;
    int cancels;
    int releases;
    struct rem_ostream *os;
    int drains;
    const char *mode; /* "hold", "write" */
};

static void
on_obj_cancel(struct rem_call *call, int code, void *arg)
{
    struct obj *o = arg;

    (void)code;
    o->cancels++;
    o->call = NULL;
    rem_call_fail(call, "java.lang.InterruptedException", "interrupted");
}

static void
on_obj_drain(struct rem_ostream *os, void *arg)
{
    (void)os;
    ((struct obj *)arg)->drains++;
}

static void
obj_invoke(void *ptr, struct rem_call *call, const char *method, const struct jos_val *types,
           const struct jos_val *args)
{
    struct obj *o = ptr;

    (void)types;
    if (strcmp(method, "hold") == 0) {
        o->call = call;
        rem_call_on_cancel(call, on_obj_cancel, o);
        return;
    }
    if (strcmp(method, "write") == 0 && args != NULL && args->kind == JOS_K_ARRAY &&
        args->u.arr.len == 1) {
        struct ag_err err = {0};
        static uint8_t big[3 << 19]; /* 1.5 MiB */

        T_EQ_INT(rem_ostream_open(call, args->u.arr.elems[0], &o->os, &err), 0);
        if (o->os == NULL) {
            rem_call_fail(call, "java.io.IOException", "%s", err.msg);
            return;
        }
        rem_ostream_on_drain(o->os, on_obj_drain, o);
        T_EQ_INT(rem_ostream_write(o->os, call, big, sizeof(big)), 0); /* full */
        if (o->mode == NULL || strcmp(o->mode, "noclose") != 0) {
            T_EQ_INT(rem_ostream_close(o->os, call, NULL), 0);
        }
        rem_call_return_null(call);
        return;
    }
    rem_call_return_string(call, method);
}

static void
obj_release(void *ptr)
{
    ((struct obj *)ptr)->releases++;
}

static const struct rem_object_ops obj_ops = {"test.Iface", obj_invoke, obj_release};

/* An RPCRequest command (userProxy=0 form) built with jos. arg: a value of m or NULL. */
static void
deliver_rpc(struct fake_link *f, int32_t id, int32_t oid, const char *method,
            struct jos_val *(*mkarg)(struct jos_msg *m))
{
    struct jos_msg *m = NULL;
    struct jos_val *r;
    struct jos_val *args;
    struct jos_val *types;
    struct ag_buf b;
    struct ag_err err = {0};

    T_EQ_INT(jos_msg_new(NULL, 0, &m), 0);
    r = jos_new_object(m, "hudson.remoting.RemoteInvocationHandler$RPCRequest");
    args = jos_new_obj_array(m, "[Ljava.lang.Object;", mkarg != NULL ? 1 : 0);
    types = jos_new_obj_array(m, "[Ljava.lang.String;", mkarg != NULL ? 1 : 0);
    if (mkarg != NULL) {
        T_EQ_INT(jos_array_set(m, args, 0, mkarg(m)), 0);
        T_EQ_INT(jos_array_set(m, types, 0, jos_new_cstring(m, "java.io.OutputStream")), 0);
    }
    T_EQ_INT(jos_set_int(m, r, "id", id), 0);
    T_EQ_INT(jos_set_int(m, r, "oid", oid), 0);
    T_EQ_INT(jos_set_obj(m, r, "arguments", args), 0);
    T_EQ_INT(jos_set_string(m, r, "declaringClassName", "test.Iface"), 0);
    T_EQ_INT(jos_set_string(m, r, "methodName", method), 0);
    T_EQ_INT(jos_set_obj(m, r, "types", types), 0);
    T_EQ_INT(jos_msg_add(m, r), 0);
    ag_buf_init(&b, 1 << 20);
    T_EQ_INT(jos_msg_encode(m, &b, &err), 0);
    fake_link_deliver(f, b.data, b.len);
    ag_buf_fini(&b);
    jos_msg_free(m);
}

static struct jos_val *
mk_ros5(struct jos_msg *m)
{
    struct jos_val *v = jos_new_object(m, "hudson.remoting.RemoteOutputStream");

    T_EQ_INT(jos_custom_block(m, v, NULL, "\x00\x00\x00\x05", 4), 0);
    return v;
}

static void
deliver_cmd2(struct fake_link *f, const char *cls, const char *f1, int32_t v1, const char *f2,
             int32_t v2)
{
    struct jos_msg *m = NULL;
    struct jos_val *r;
    struct ag_buf b;
    struct ag_err err = {0};

    T_EQ_INT(jos_msg_new(NULL, 0, &m), 0);
    r = jos_new_object(m, cls);
    T_EQ_INT(jos_set_int(m, r, f1, v1), 0);
    if (f2 != NULL) {
        T_EQ_INT(jos_set_int(m, r, f2, v2), 0);
    }
    T_EQ_INT(jos_msg_add(m, r), 0);
    ag_buf_init(&b, 1 << 20);
    T_EQ_INT(jos_msg_encode(m, &b, &err), 0);
    fake_link_deliver(f, b.data, b.len);
    ag_buf_fini(&b);
    jos_msg_free(m);
}

T_TEST(rpc_unknown_oid_and_cancel_and_unexport)
{
    struct fake_link f;
    struct closed_state cs;
    struct rem_channel *ch = open_channel(&f, &cs);
    struct obj o = {0};
    int32_t oid = 0;
    char *cancel = strdup(V_CANCEL);

    /* Golden RPCRequest(id=8, oid=2) with nothing exported: "Invalid object ID". */
    T_CHECK(deliver_golden(&f, "06-firstofclass-c2a-00288.bin"));
    T_EQ_INT(f.nsent, 1);
    check_response(&f, 0, 8, "Invalid object ID 2");
    T_EQ_INT(rem_channel_export(ch, &obj_ops, &o, &oid), 0);
    T_EQ_INT(oid, 2);
    deliver_rpc(&f, 8, 2, "hold", NULL);
    T_CHECK(o.call != NULL);
    T_EQ_INT(f.nsent, 1);
    memcpy(cancel + strlen(cancel) - 8, "00000008", 8);
    deliver_hex(&f, cancel);
    T_EQ_INT(o.cancels, 1);
    T_EQ_INT(f.nsent, 2);
    check_response(&f, 1, 8, "interrupted");
    deliver_rpc(&f, 9, 2, "echo", NULL);
    check_response(&f, 2, 9, NULL);
    deliver_cmd2(&f, "hudson.remoting.UnexportCommand", "oid", 2, NULL, 0);
    T_EQ_INT(o.releases, 1);
    free(cancel);
    shut(&f, &cs);
}

/* Requests run concurrently and are answered in completion order, each with its own id; a
 * controller ping is answered while both are held (the reader is never blocked). */
T_TEST(concurrent_requests)
{
    struct fake_link f;
    struct closed_state cs;
    struct rem_channel *ch = open_channel(&f, &cs);
    struct obj a = {0};
    struct obj b = {0};
    struct rem_channel_stats st;
    int32_t oa = 0;
    int32_t ob = 0;

    T_EQ_INT(rem_channel_export(ch, &obj_ops, &a, &oa), 0);
    T_EQ_INT(rem_channel_export(ch, &obj_ops, &b, &ob), 0);
    deliver_rpc(&f, 31, oa, "hold", NULL);
    deliver_rpc(&f, 32, ob, "hold", NULL);
    rem_channel_get_stats(ch, &st);
    T_EQ_INT(st.calls_running, 2);
    deliver_hex(&f, V_PING_REQ);
    T_EQ_INT(f.nsent, 1);
    check_response(&f, 0, 1, NULL);
    rem_call_return_string(b.call, "second");
    rem_call_return_string(a.call, "first");
    T_EQ_INT(f.nsent, 3);
    check_response(&f, 1, 32, NULL);
    check_response(&f, 2, 31, NULL);
    rem_channel_get_stats(ch, &st);
    T_EQ_INT(st.calls_running, 0);
    shut(&f, &cs);
}

T_TEST(ostream_window_backlog_and_response_order)
{
    struct fake_link f;
    struct closed_state cs;
    struct rem_channel *ch = open_channel(&f, &cs);
    struct obj o = {0};
    int32_t oid = 0;
    size_t bytes = 0;
    size_t chunks = 0;
    int32_t last_io = 0;
    struct jos_msg *m = NULL;
    struct jos_val *v;

    T_EQ_INT(rem_channel_export(ch, &obj_ops, &o, &oid), 0);
    deliver_rpc(&f, 21, oid, "write", mk_ros5);
    T_CHECK(o.os != NULL);
    /* The first 1 MiB went out as chunks; no Response while data waits (channel.md 4.2). */
    for (size_t i = 0; i < f.nsent; i++) {
        struct ag_iov buf = {0};

        v = sent_cmd(&f, i, &m);
        T_EQ_STR(jos_val_class(v), "hudson.remoting.ProxyOutputStream$Chunk");
        T_EQ_INT(jos_get_bytes(v, "buf", &buf), 0);
        bytes += buf.len;
        jos_msg_free(m);
    }
    /* Like Java's PipeWindow, a chunk waits for min(window/10, remaining) of credit: 15 chunks
     * of 64 KiB go out, the last 64 KiB of credit waits for an Ack. */
    T_EQ_U64(bytes, (uint64_t)15 << 16);
    T_EQ_U64(rem_ostream_backlog(o.os), ((uint64_t)3 << 19) - ((uint64_t)15 << 16));
    chunks = f.nsent;
    deliver_cmd2(&f, "hudson.remoting.ProxyOutputStream$Ack", "oid", 5, "size", 1 << 20);
    T_EQ_INT(o.drains, 1);
    /* The rest, then $EOF, then the Response with lastIoId = the EOF's ioId. */
    T_CHECK(f.nsent >= chunks + 3);
    v = sent_cmd(&f, f.nsent - 2, &m);
    T_EQ_STR(jos_val_class(v), "hudson.remoting.ProxyOutputStream$EOF");
    T_EQ_INT(jos_get_int(v, "ioId", &last_io), 0);
    jos_msg_free(m);
    v = sent_cmd(&f, f.nsent - 1, &m);
    T_EQ_STR(jos_val_class(v), "hudson.remoting.Response");
    {
        int32_t got = 0;

        T_EQ_INT(jos_get_int(v, "lastIoId", &got), 0);
        T_EQ_INT(got, last_io);
        T_EQ_INT(jos_get_int(v, "id", &got), 0);
        T_EQ_INT(got, 21);
    }
    jos_msg_free(m);
    rem_ostream_unref(o.os);
    shut(&f, &cs);
}

/* A stream dropped without close is released with ProxyOutputStream$Unexport, after its data. */
T_TEST(ostream_dropped_without_close)
{
    struct fake_link f;
    struct closed_state cs;
    struct rem_channel *ch = open_channel(&f, &cs);
    struct obj o = {0};
    struct jos_msg *m = NULL;
    struct rem_channel_stats st;
    int32_t oid = 0;

    o.mode = "noclose";
    T_EQ_INT(rem_channel_export(ch, &obj_ops, &o, &oid), 0);
    deliver_rpc(&f, 22, oid, "write", mk_ros5);
    T_CHECK(o.os != NULL);
    rem_ostream_unref(o.os); /* data still waits for credit */
    T_EQ_STR(sent_class(&f, f.nsent - 1, &m), "hudson.remoting.ProxyOutputStream$Chunk");
    jos_msg_free(m);
    deliver_cmd2(&f, "hudson.remoting.ProxyOutputStream$Ack", "oid", 5, "size", 1 << 20);
    /* The call's Response follows its last chunk; the Unexport (no call's) comes after. */
    T_EQ_STR(sent_class(&f, f.nsent - 3, &m), "hudson.remoting.ProxyOutputStream$Chunk");
    jos_msg_free(m);
    T_EQ_STR(sent_class(&f, f.nsent - 2, &m), "hudson.remoting.Response");
    jos_msg_free(m);
    T_EQ_STR(sent_class(&f, f.nsent - 1, &m), "hudson.remoting.ProxyOutputStream$Unexport");
    jos_msg_free(m);
    rem_channel_get_stats(ch, &st);
    T_EQ_INT(st.ostreams, 0);
    shut(&f, &cs);
}

T_TEST(garbage_and_unknown_requests)
{
    struct fake_link f;
    struct closed_state cs;
    struct rem_channel *ch = open_channel(&f, &cs);
    struct rem_channel_stats st;
    size_t n = 0;
    uint8_t *p = hex(V_CHUNK, &n);

    fake_link_deliver(&f, (const uint8_t *)"garbage", 7);
    fake_link_deliver(&f, p, n / 2); /* truncated */
    deliver_hex(&f, V_GC);
    deliver_hex(&f, V_UNEXPORT99);
    deliver_hex(&f, V_DEAD7);
    deliver_hex(&f, V_ACK7);
    deliver_hex(&f, V_PIS_EOF);
    deliver_hex(&f, V_POS_UNEXPORT);
    deliver_hex(&f, V_CONNECT);
    T_EQ_INT(f.nsent, 0);
    rem_channel_get_stats(ch, &st);
    T_EQ_U64(st.dropped, 2);
    /* ProxyInputStream$Chunk is a Request: no such source here, so it gets an error. */
    deliver_hex(&f, V_PIS_CHUNK);
    T_EQ_INT(f.nsent, 1);
    check_response(&f, 0, 4242, "no input stream 3");
    /* A controller Response to a request we never sent is ignored. */
    deliver_hex(&f, V_RESP_BOOM);
    T_EQ_INT(f.nsent, 1);
    free(p);
    shut(&f, &cs);
}

struct resp_state {
    int calls;
    int rc;
    bool null_value;
    char error[200];
};

static void
on_resp(struct rem_channel *ch, int rc, struct jos_msg *m, struct jos_val *value,
        const char *error, void *arg)
{
    struct resp_state *s = arg;

    (void)ch;
    (void)m;
    s->calls++;
    s->rc = rc;
    s->null_value = value == NULL;
    (void)snprintf(s->error, sizeof(s->error), "%s", error != NULL ? error : "");
}

T_TEST(our_ping_request_is_byte_exact)
{
    struct fake_link f;
    struct closed_state cs;
    struct rem_channel *ch = open_channel(&f, &cs);
    struct jos_msg *m = NULL;
    struct resp_state rs = {0};
    struct resp_state rs2 = {0};
    struct jos_val *ping;
    uint8_t *answer;
    size_t alen;

    T_EQ_INT(jos_msg_new(NULL, 0, &m), 0);
    ping = jos_new_object(m, "hudson.remoting.PingThread$Ping");
    T_EQ_INT(rem_channel_call(ch, ping, on_resp, &rs), AG_ENOTSUP); /* no loader oid yet */
    deliver_hex(&f, V_SLAVEVERSION_REQ); /* brings the controller's core loader, oid 2 */
    deliver_hex(&f, V_PING_REQ);         /* a controller ping with id 1 */
    T_EQ_INT(f.nsent, 2);
    answer = ag_malloc(f.sent_len[1]);
    alen = f.sent_len[1];
    memcpy(answer, f.sent[1], alen);
    T_EQ_INT(rem_channel_call(ch, ping, on_resp, &rs), 0);
    T_EQ_INT(f.nsent, 3);
    check_sent_hex(&f, 2, V_PING_REQ); /* our request id 1 = the spec's vector */
    /* Our own answer to id 1 is a valid controller answer to our ping. */
    fake_link_deliver(&f, answer, alen);
    T_EQ_INT(rs.calls, 1);
    T_EQ_INT(rs.rc, 0);
    T_CHECK(rs.null_value);
    /* An error Response (channel.md 12, id 0 -> our next id is 2: use a pending one). */
    T_EQ_INT(rem_channel_call(ch, ping, on_resp, &rs2), 0);
    fake_link_finish(&f, AG_EPROTO);
    T_EQ_INT(rs2.calls, 1);
    T_EQ_INT(rs2.rc, AG_ECLOSED);
    T_EQ_INT(cs.calls, 1);
    T_EQ_INT(cs.code, AG_EPROTO);
    ag_free(answer);
    jos_msg_free(m);
    fake_link_clear(&f);
}

T_TEST(broken_link_cleans_everything)
{
    struct fake_link f;
    struct closed_state cs;
    struct rem_channel *ch = open_channel(&f, &cs);
    struct obj o = {0};
    struct sink s = {0};
    struct sink s2 = {0};
    int32_t oid = 0;

    s2.pending = true;
    T_EQ_INT(rem_channel_export(ch, &obj_ops, &o, &oid), 0);
    T_EQ_INT(rem_channel_export_sink(ch, &sink_ops, &s, &oid), 0);
    T_EQ_INT(rem_channel_export_sink(ch, &sink_ops, &s2, &oid), 0);
    deliver_rpc(&f, 5, 2, "hold", NULL);
    T_CHECK(o.call != NULL);
    /* A chunk into the pending sink (oid 4): stays in flight across the termination. */
    deliver_cmd2(&f, "hudson.remoting.ProxyOutputStream$Flush", "oid", 4, "ioId", 1);
    {
        char *c = strdup(V_CHUNK);
        char *at = strstr(c, "000000010000000200000000");

        memcpy(at + 8, "00000004", 8);
        deliver_hex(&f, c);
        free(c);
    }
    T_CHECK(s2.done != NULL);
    fake_link_finish(&f, AG_EPROTO);
    T_EQ_INT(cs.calls, 1);
    T_EQ_INT(o.cancels, 1);
    T_EQ_INT(o.releases, 1);
    T_EQ_INT(s.closes, 1);
    T_EQ_STR(s.close_error, "channel closed");
    T_EQ_INT(s2.closes, 1);
    s2.done(s2.token, 0); /* late completion of an orphaned write: freed, nothing sent */
    fake_link_clear(&f);
}

/* ----- our pings on a real loop (channel.md 8) ----- */

static void
deliver_ping_answer(struct fake_link *f, int32_t id)
{
    struct jos_msg *m = NULL;
    struct jos_val *r;
    struct jos_val *nr;
    struct ag_buf b;
    struct ag_err err = {0};

    T_EQ_INT(jos_msg_new(NULL, 0, &m), 0);
    r = jos_new_object(m, "hudson.remoting.Response");
    nr = jos_new_object(m, "hudson.remoting.UserRequest$NormalResponse");
    T_EQ_INT(jos_set_obj(m, nr, "response", jos_new_payload(m, NULL)), 0);
    T_EQ_INT(jos_set_int(m, r, "id", id), 0);
    T_EQ_INT(jos_set_obj(m, r, "returnValue", nr), 0);
    T_EQ_INT(jos_msg_add(m, r), 0);
    ag_buf_init(&b, 1 << 20);
    T_EQ_INT(jos_msg_encode(m, &b, &err), 0);
    fake_link_deliver(f, b.data, b.len);
    ag_buf_fini(&b);
    jos_msg_free(m);
}

static struct rem_channel *
open_loop_channel(struct fake_link *f, struct closed_state *cs, uv_loop_t *loop,
                  uint32_t interval, uint32_t timeout)
{
    struct rem_channel_opts o = {0};
    struct rem_channel *ch = NULL;

    fake_link_init(f);
    memset(cs, 0, sizeof(*cs));
    o.loop = loop;
    o.name = "ping";
    o.on_closed = on_closed;
    o.arg = cs;
    o.ping_interval_ms = interval;
    o.ping_timeout_ms = timeout;
    T_EQ_INT(rem_channel_new(&f->link, &o, &ch), 0);
    return ch;
}

T_TEST(our_pings_answered_and_dead_controller_detected)
{
    struct fake_link f;
    struct closed_state cs;
    uv_loop_t loop;
    struct rem_channel *ch;
    struct rem_channel_stats st;
    uint64_t t0;
    size_t seen;

    T_EQ_INT(uv_loop_init(&loop), 0);
    /* Answered pings: interval 20 ms, timeout 500 ms, three round trips. */
    ch = open_loop_channel(&f, &cs, &loop, 20, 500);
    deliver_hex(&f, V_SLAVEVERSION_REQ); /* the controller's core loader */
    seen = f.nsent;
    t0 = uv_now(&loop);
    for (;;) {
        rem_channel_get_stats(ch, &st);
        if (st.pings_answered >= 3 || uv_now(&loop) - t0 > 3000 || f.close_requested) {
            break;
        }
        (void)uv_run(&loop, UV_RUN_ONCE);
        while (seen < f.nsent) {
            struct jos_msg *m = NULL;
            struct jos_val *v = sent_cmd(&f, seen, &m);
            int32_t id = 0;

            if (v != NULL && jos_val_is(v, "hudson.remoting.UserRequest") &&
                jos_get_int(v, "id", &id) == 0) {
                jos_msg_free(m);
                deliver_ping_answer(&f, id);
            } else {
                jos_msg_free(m);
            }
            seen++;
        }
    }
    T_EQ_U64(st.pings_answered, 3);
    T_CHECK(!f.close_requested);
    fake_link_finish(&f, 0);
    (void)uv_run(&loop, UV_RUN_DEFAULT); /* the channel closes its timers and frees itself */
    T_EQ_INT(cs.calls, 1);
    fake_link_clear(&f);

    /* A controller that never answers: one ping, then the link is closed after the timeout. */
    ch = open_loop_channel(&f, &cs, &loop, 20, 60);
    deliver_hex(&f, V_SLAVEVERSION_REQ);
    t0 = uv_now(&loop);
    while (!f.abort_requested && !f.close_requested && uv_now(&loop) - t0 < 3000) {
        (void)uv_run(&loop, UV_RUN_ONCE);
    }
    /* A dead peer: the link is aborted (no close handshake to wait for), not closed. */
    T_CHECK(f.abort_requested);
    T_CHECK(!f.close_requested);
    rem_channel_get_stats(ch, &st);
    T_EQ_U64(st.pings_sent, 1);
    T_EQ_U64(st.pings_answered, 0);
    fake_link_finish(&f, AG_ECLOSED);
    (void)uv_run(&loop, UV_RUN_DEFAULT);
    T_EQ_INT(cs.calls, 1);
    T_EQ_INT(cs.code, AG_ETIMEDOUT);
    fake_link_clear(&f);
    T_EQ_INT(uv_loop_close(&loop), 0);
}

T_TEST(set_up_remote_ping_answered_null)
{
    struct fake_link f;
    struct closed_state cs;
    struct rem_channel *ch = open_channel(&f, &cs);
    struct jos_msg *m = NULL;
    struct jos_val *ur;
    struct jos_val *cl;
    struct jos_val *sp;
    struct ag_buf b;
    struct ag_err err = {0};

    T_EQ_INT(jos_msg_new(NULL, 0, &m), 0);
    sp = jos_new_object(m, "hudson.slaves.ChannelPinger$SetUpRemotePing");
    T_EQ_INT(jos_set_int(m, sp, "pingIntervalSeconds", 300), 0);
    T_EQ_INT(jos_set_int(m, sp, "pingTimeoutSeconds", 240), 0);
    cl = rem_new_proxy(m, "hudson.remoting.RemoteClassLoader$IClassLoader", 2);
    ur = jos_new_object(m, "hudson.remoting.UserRequest");
    T_EQ_INT(jos_set_int(m, ur, "id", 77), 0);
    T_EQ_INT(jos_set_obj(m, ur, "classLoaderProxy", cl), 0);
    T_EQ_INT(jos_set_obj(m, ur, "request", jos_new_payload(m, sp)), 0);
    T_EQ_INT(jos_msg_add(m, ur), 0);
    ag_buf_init(&b, 1 << 20);
    T_EQ_INT(jos_msg_encode(m, &b, &err), 0);
    fake_link_deliver(&f, b.data, b.len);
    T_EQ_INT(f.nsent, 1);
    check_response(&f, 0, 77, NULL);
    ag_buf_fini(&b);
    jos_msg_free(m);
    (void)ch;
    shut(&f, &cs);
}

/* Allocation failure at every step of a small session: no crash, no leak (ASan), the channel
 * either carries on or closes the link. */
T_TEST(allocation_failure_sweep)
{
    for (uint64_t n = 1; n < 600; n++) {
        struct fake_link f;
        struct closed_state cs;
        struct rem_channel_opts o = {0};
        struct rem_channel *ch = NULL;
        struct sink s = {0};
        int32_t oid = 0;
        int rc;

        fake_link_init(&f);
        memset(&cs, 0, sizeof(cs));
        o.name = "sweep";
        o.on_closed = on_closed;
        o.arg = &cs;
        ag_alloc_fail_after(n);
        rc = rem_channel_new(&f.link, &o, &ch);
        if (rc != 0) {
            ag_alloc_fail_after(0);
            T_EQ_INT(rc, AG_ENOMEM);
            continue;
        }
        if (rem_channel_export_sink(ch, &sink_ops, &s, &oid) == 0) {
            deliver_hex(&f, V_CHUNK);
        }
        deliver_hex(&f, V_SLAVEVERSION_REQ);
        deliver_hex(&f, V_PING_REQ);
        deliver_hex(&f, V_PIS_CHUNK);
        deliver_hex(&f, V_CLOSE);
        ag_alloc_fail_after(0);
        fake_link_finish(&f, AG_ECLOSED);
        T_EQ_INT(cs.calls, 1);
        fake_link_clear(&f);
    }
}

/* ----- streams from the controller and proxies to it (channel.md 6.6, 7.1, 7.4) ----- */

static struct sink stream_sink;

struct source {
    int reads;
    int closes;
    bool hold;
    rem_source_done_cb done;
    void *token;
};

static struct source test_source;

static void
source_read(void *ctx, size_t max, rem_source_done_cb done, void *token)
{
    struct source *src = ctx;
    struct ag_iov d = {(const uint8_t *)"hi", 2};
    struct ag_iov none = {NULL, 0};

    T_CHECK(max >= 2);
    src->reads++;
    if (src->hold) {
        src->done = done;
        src->token = token;
        return;
    }
    if (src->reads == 1) {
        done(token, 0, d, false);
    } else {
        done(token, 0, none, true);
    }
}

static void
source_close(void *ctx)
{
    ((struct source *)ctx)->closes++;
}

static const struct rem_source_ops source_ops = {source_read, source_close};

static void
sobj_invoke(void *ptr, struct rem_call *call, const char *method, const struct jos_val *types,
            const struct jos_val *args)
{
    struct ag_err err = {0};

    (void)ptr;
    (void)types;
    if (strcmp(method, "read") == 0 && args != NULL && args->u.arr.len == 1) {
        T_EQ_INT(rem_istream_open(call, args->u.arr.elems[0], &sink_ops, &stream_sink, &err), 0);
        rem_call_return_null(call);
        return;
    }
    if (strcmp(method, "ris") == 0) {
        struct jos_val *v = rem_source_export_ris(call, rem_call_msg(call), &source_ops,
                                                  &test_source, &err);

        T_CHECK(v != NULL);
        rem_call_return(call, v);
        return;
    }
    if (strcmp(method, "ros") == 0) {
        struct jos_val *v = rem_sink_export_ros(call, rem_call_msg(call), &sink_ops,
                                                &stream_sink, &err);

        T_CHECK(v != NULL);
        rem_call_return(call, v);
        return;
    }
    rem_call_fail(call, "java.io.IOException", "no such method %s", method);
}

static void
sobj_release(void *ptr)
{
    (void)ptr;
}

static const struct rem_object_ops sobj_ops = {"test.Streams", sobj_invoke, sobj_release};

static struct jos_val *
mk_ris_greedy(struct jos_msg *m)
{
    struct jos_val *v = jos_new_object(m, "hudson.remoting.RemoteInputStream");
    struct jos_val *pipe = jos_new_object(m, "hudson.remoting.Pipe");

    T_EQ_INT(jos_custom_block(m, pipe, NULL, "\x00\x00\x00\x00\x06", 5), 0);
    T_EQ_INT(jos_custom_block(m, v, NULL, "\x01", 1), 0);
    T_EQ_INT(jos_custom_obj(m, v, NULL, pipe), 0);
    return v;
}

static struct jos_val *
mk_ris_plain(struct jos_msg *m)
{
    struct jos_val *v = jos_new_object(m, "hudson.remoting.RemoteInputStream");

    T_EQ_INT(jos_custom_block(m, v, NULL, "\x00\x00\x00\x00\x07", 5), 0);
    return v;
}

/* A direct Response{id, returnValue = ProxyInputStream$Buffer{len, buf}}. */
static void
deliver_buffer(struct fake_link *f, int32_t id, int32_t len, const char *data)
{
    struct jos_msg *m = NULL;
    struct jos_val *r;
    struct jos_val *b;
    struct ag_buf out;
    struct ag_err err = {0};

    T_EQ_INT(jos_msg_new(NULL, 0, &m), 0);
    b = jos_new_object(m, "hudson.remoting.ProxyInputStream$Buffer");
    T_EQ_INT(jos_set_int(m, b, "len", len), 0);
    T_EQ_INT(jos_set_obj(m, b, "buf", jos_new_bytes(m, data, strlen(data), false)), 0);
    r = jos_new_object(m, "hudson.remoting.Response");
    T_EQ_INT(jos_set_int(m, r, "id", id), 0);
    T_EQ_INT(jos_set_obj(m, r, "returnValue", b), 0);
    T_EQ_INT(jos_msg_add(m, r), 0);
    ag_buf_init(&out, 1 << 20);
    T_EQ_INT(jos_msg_encode(m, &out, &err), 0);
    fake_link_deliver(f, out.data, out.len);
    ag_buf_fini(&out);
    jos_msg_free(m);
}

T_TEST(controller_input_streams_greedy_and_pulled)
{
    struct fake_link f;
    struct closed_state cs;
    struct rem_channel *ch = open_channel(&f, &cs);
    struct jos_msg *m = NULL;
    struct jos_val *v;
    int32_t oid = 0;
    int32_t a = 0;
    int32_t b = 0;

    memset(&stream_sink, 0, sizeof(stream_sink));
    T_EQ_INT(rem_channel_export(ch, &sobj_ops, NULL, &oid), 0);
    /* Greedy: Pipe$ConnectCommand{oidPos = our new export 3, oidRos = 6}, then pushed chunks. */
    deliver_rpc(&f, 40, oid, "read", mk_ris_greedy);
    T_EQ_INT(f.nsent, 2);
    v = sent_cmd(&f, 0, &m);
    T_EQ_STR(jos_val_class(v), "hudson.remoting.Pipe$ConnectCommand");
    T_EQ_INT(jos_get_int(v, "oidPos", &a), 0);
    T_EQ_INT(jos_get_int(v, "oidRos", &b), 0);
    T_EQ_INT(a, 3);
    T_EQ_INT(b, 6);
    jos_msg_free(m);
    check_response(&f, 1, 40, NULL);
    {
        char *c = strdup(V_CHUNK);
        char *at = strstr(c, "000000010000000200000000");

        memcpy(at + 8, "00000003", 8);
        deliver_hex(&f, c);
        free(c);
    }
    T_EQ_MEM(stream_sink.data, stream_sink.len, "hi", 2);
    T_EQ_INT(f.nsent, 3); /* the Ack */
    deliver_cmd2(&f, "hudson.remoting.ProxyOutputStream$EOF", "oid", 3, "ioId", 2);
    T_EQ_INT(stream_sink.closes, 1);
    fake_link_clear(&f);

    /* Not greedy: pulled with ProxyInputStream$Chunk requests until len -1, then $EOF. */
    memset(&stream_sink, 0, sizeof(stream_sink));
    deliver_rpc(&f, 41, oid, "read", mk_ris_plain);
    T_EQ_INT(f.nsent, 2);
    v = sent_cmd(&f, 0, &m);
    T_EQ_STR(jos_val_class(v), "hudson.remoting.ProxyInputStream$Chunk");
    T_EQ_INT(jos_get_int(v, "oid", &a), 0);
    T_EQ_INT(a, 7);
    T_EQ_INT(jos_get_int(v, "id", &b), 0);
    jos_msg_free(m);
    deliver_buffer(&f, b, 2, "hi");
    T_EQ_MEM(stream_sink.data, stream_sink.len, "hi", 2);
    T_EQ_INT(f.nsent, 3);
    v = sent_cmd(&f, 2, &m);
    T_EQ_STR(jos_val_class(v), "hudson.remoting.ProxyInputStream$Chunk");
    T_EQ_INT(jos_get_int(v, "id", &b), 0);
    jos_msg_free(m);
    deliver_buffer(&f, b, -1, "");
    T_EQ_INT(stream_sink.closes, 1);
    T_EQ_STR(stream_sink.close_error, "");
    T_EQ_INT(f.nsent, 4);
    v = sent_cmd(&f, 3, &m);
    T_EQ_STR(jos_val_class(v), "hudson.remoting.ProxyInputStream$EOF");
    jos_msg_free(m);
    shut(&f, &cs);
}

static void
deliver_pis_chunk(struct fake_link *f, int32_t id, int32_t len, int32_t oid)
{
    struct jos_msg *m = NULL;
    struct jos_val *r;
    struct ag_buf b;
    struct ag_err err = {0};

    T_EQ_INT(jos_msg_new(NULL, 0, &m), 0);
    r = jos_new_object(m, "hudson.remoting.ProxyInputStream$Chunk");
    T_EQ_INT(jos_set_int(m, r, "id", id), 0);
    T_EQ_INT(jos_set_int(m, r, "len", len), 0);
    T_EQ_INT(jos_set_int(m, r, "oid", oid), 0);
    T_EQ_INT(jos_msg_add(m, r), 0);
    ag_buf_init(&b, 1 << 20);
    T_EQ_INT(jos_msg_encode(m, &b, &err), 0);
    fake_link_deliver(f, b.data, b.len);
    ag_buf_fini(&b);
    jos_msg_free(m);
}

static void
check_buffer(struct fake_link *f, size_t i, int32_t id, int32_t want_len, const char *want)
{
    struct jos_msg *m = NULL;
    struct jos_val *v = sent_cmd(f, i, &m);
    struct jos_val *b = NULL;
    struct ag_iov buf = {0};
    int32_t got = 0;

    if (v == NULL) {
        return;
    }
    T_EQ_INT(jos_get_int(v, "id", &got), 0);
    T_EQ_INT(got, id);
    T_EQ_INT(jos_get_obj(v, "returnValue", &b), 0);
    T_CHECK(jos_val_is(b, "hudson.remoting.ProxyInputStream$Buffer"));
    T_EQ_INT(jos_get_int(b, "len", &got), 0);
    T_EQ_INT(got, want_len);
    T_EQ_INT(jos_get_bytes(b, "buf", &buf), 0);
    T_EQ_MEM(buf.base, buf.len, want, strlen(want));
    jos_msg_free(m);
}

/* Our non-greedy RemoteInputStream read by the controller (channel.md 7.2, 7.4 flow 4). */
T_TEST(exported_source_pulled_by_controller)
{
    struct fake_link f;
    struct closed_state cs;
    struct rem_channel *ch = open_channel(&f, &cs);
    struct jos_msg *m = NULL;
    struct jos_val *v;
    struct jos_val *ris = NULL;
    struct ag_err err = {0};
    int kind = 0;
    bool greedy = true;
    int32_t oid = 0;
    int32_t src = 0;

    memset(&test_source, 0, sizeof(test_source));
    T_EQ_INT(rem_channel_export(ch, &sobj_ops, NULL, &oid), 0);
    deliver_rpc(&f, 60, oid, "ris", NULL);
    T_EQ_INT(f.nsent, 1);
    v = sent_cmd(&f, 0, &m);
    T_EQ_INT(jos_get_obj(v, "returnValue", &ris), 0);
    T_EQ_INT(rem_stream_value_parse(ris, &kind, &greedy, &src, &err), 0);
    T_EQ_INT(kind, REM_STREAM_RIS);
    T_CHECK(!greedy);
    T_EQ_INT(src, 3);
    jos_msg_free(m);
    deliver_pis_chunk(&f, 61, 8192, src);
    T_EQ_INT(f.nsent, 2);
    check_buffer(&f, 1, 61, 2, "hi");
    deliver_pis_chunk(&f, 62, 8192, src);
    check_buffer(&f, 2, 62, -1, "");
    deliver_cmd2(&f, "hudson.remoting.ProxyInputStream$EOF", "oid", src, NULL, 0);
    T_EQ_INT(test_source.closes, 1);
    /* A read pending when the link breaks: closed, and the late answer is dropped. */
    memset(&test_source, 0, sizeof(test_source));
    test_source.hold = true;
    fake_link_clear(&f);
    deliver_rpc(&f, 63, oid, "ris", NULL);
    deliver_pis_chunk(&f, 64, 100, 4);
    T_CHECK(test_source.done != NULL);
    fake_link_finish(&f, AG_EPROTO);
    T_EQ_INT(test_source.closes, 1);
    if (test_source.done != NULL) {
        struct ag_iov none = {NULL, 0};

        test_source.done(test_source.token, 0, none, true);
    }
    fake_link_clear(&f);
}

T_TEST(exported_sink_in_a_result)
{
    struct fake_link f;
    struct closed_state cs;
    struct rem_channel *ch = open_channel(&f, &cs);
    struct jos_msg *m = NULL;
    struct jos_val *v;
    struct jos_val *ros = NULL;
    struct ag_err err = {0};
    int kind = 0;
    bool greedy = false;
    int32_t oid = 0;
    int32_t sink_oid = 0;

    memset(&stream_sink, 0, sizeof(stream_sink));
    T_EQ_INT(rem_channel_export(ch, &sobj_ops, NULL, &oid), 0);
    deliver_rpc(&f, 50, oid, "ros", NULL);
    T_EQ_INT(f.nsent, 1);
    v = sent_cmd(&f, 0, &m);
    T_EQ_INT(jos_get_obj(v, "returnValue", &ros), 0);
    T_EQ_INT(rem_stream_value_parse(ros, &kind, &greedy, &sink_oid, &err), 0);
    T_EQ_INT(kind, REM_STREAM_ROS);
    T_EQ_INT(sink_oid, 3);
    jos_msg_free(m);
    deliver_cmd2(&f, "hudson.remoting.ProxyOutputStream$Unexport", "oid", 3, "ioId", 1);
    T_EQ_INT(stream_sink.closes, 1); /* the last reference is gone */
    shut(&f, &cs);
}

T_TEST(calls_to_controller_proxies)
{
    struct fake_link f;
    struct closed_state cs;
    struct rem_channel *ch = open_channel(&f, &cs);
    struct jos_msg *m = NULL;
    struct jos_msg *pm = NULL;
    struct jos_val *proxy;
    struct jos_val *h = NULL;
    struct jos_val *v;
    struct jos_val *req = NULL;
    struct jos_stream st = {0};
    struct ag_err err = {0};
    struct resp_state rs = {0};
    const char *types[1] = {"java.lang.String"};
    struct jos_val *args[1];
    const char *meth = NULL;
    size_t len = 0;
    int32_t id = 0;
    int32_t oid = 0;

    deliver_hex(&f, V_SLAVEVERSION_REQ); /* core loader oid 2 */
    fake_link_clear(&f);
    T_EQ_INT(jos_msg_new(NULL, 0, &pm), 0);
    proxy = rem_new_proxy(pm, "org.example.Remotable", 9); /* userProxy = userSpace = 1 */
    args[0] = jos_new_cstring(pm, "bob");
    T_EQ_INT(rem_channel_call_proxy(ch, proxy, "org.example.Remotable", "greet", types, args, 1,
                                    on_resp, &rs),
             0);
    T_EQ_INT(f.nsent, 1);
    v = sent_cmd(&f, 0, &m);
    T_EQ_STR(jos_val_class(v), "hudson.remoting.UserRequest");
    T_EQ_INT(jos_get_int(v, "id", &id), 0);
    T_EQ_INT(jos_get_obj(v, "request", &req), 0);
    T_EQ_INT(jos_msg_decode_nested(m, req, &st, &err), 0);
    T_EQ_STR(jos_val_class(st.items[0]), "hudson.remoting.RemoteInvocationHandler$UserRPCRequest");
    T_EQ_INT(jos_get_int(st.items[0], "oid", &oid), 0);
    T_EQ_INT(oid, 9);
    T_EQ_INT(jos_get_string(st.items[0], "methodName", &meth, &len), 0);
    T_EQ_STR(meth, "greet");
    jos_msg_free(m);
    deliver_ping_answer(&f, id); /* NormalResponse(null) */
    T_EQ_INT(rs.calls, 1);
    T_EQ_INT(rs.rc, 0);
    /* userProxy = 0: a direct RPCRequest command, raw result. */
    T_EQ_INT(jos_get_obj(proxy, "h", &h), 0);
    T_EQ_INT(jos_set_bool(pm, h, "userProxy", false), 0);
    T_EQ_INT(rem_channel_call_proxy(ch, proxy, "org.example.Remotable", "greet", types, args, 1,
                                    on_resp, &rs),
             0);
    v = sent_cmd(&f, f.nsent - 1, &m);
    T_EQ_STR(jos_val_class(v), "hudson.remoting.RemoteInvocationHandler$UserRPCRequest");
    jos_msg_free(m);
    jos_msg_free(pm);
    fake_link_finish(&f, AG_EPROTO);
    T_EQ_INT(rs.calls, 2);
    T_EQ_INT(rs.rc, AG_ECLOSED);
    fake_link_clear(&f);
}

T_TEST(callables_registry_sorted_and_documented)
{
    size_t n = 0;
    const struct rem_callable_handler *t = rem_callables_table(&n);
    struct ag_buf md;
    char path[512];
    size_t dlen = 0;
    uint8_t *doc;

    for (size_t i = 1; i < n; i++) {
        T_CHECK(strcmp(t[i - 1].class_name, t[i].class_name) < 0);
    }
    for (size_t i = 0; i < n; i++) {
        T_CHECK(rem_callables_find(t[i].class_name) == &t[i]);
    }
    T_CHECK(rem_callables_find("com.example.Foo") == NULL);
    ag_buf_init(&md, 1 << 20);
    T_EQ_INT(rem_callables_markdown(&md), 0);
    T_EQ_INT(ag_buf_append_u8(&md, 0), 0);
    (void)snprintf(path, sizeof(path), "%s/docs/callables.md", t_source_dir());
    doc = t_read_file(path, &dlen);
    T_CHECK(doc != NULL);
    if (doc != NULL) {
        char *d = calloc(1, dlen + 1);

        memcpy(d, doc, dlen);
        if (strstr(d, (const char *)md.data) == NULL) {
            T_FAIL_("docs/callables.md does not contain the registry's table; expected:\n%s",
                    (const char *)md.data);
        }
        free(d);
        free(doc);
    }
    ag_buf_fini(&md);
}

T_MAIN(T_CASE(slave_version_reply_is_byte_exact), T_CASE(response_shape_matches_java_agent), T_CASE(unsupported_callable_then_ping),
       T_CASE(golden_controller_session), T_CASE(sink_chunk_flush_eof_with_acks),
       T_CASE(request_waits_for_pipe_io), T_CASE(close_from_controller_and_from_us),
       T_CASE(rpc_unknown_oid_and_cancel_and_unexport),
       T_CASE(concurrent_requests), T_CASE(ostream_window_backlog_and_response_order),
       T_CASE(ostream_dropped_without_close), T_CASE(garbage_and_unknown_requests),
       T_CASE(our_ping_request_is_byte_exact), T_CASE(broken_link_cleans_everything),
       T_CASE(our_pings_answered_and_dead_controller_detected),
       T_CASE(set_up_remote_ping_answered_null), T_CASE(allocation_failure_sweep),
       T_CASE(controller_input_streams_greedy_and_pulled), T_CASE(exported_sink_in_a_result),
       T_CASE(exported_source_pulled_by_controller),
       T_CASE(calls_to_controller_proxies), T_CASE(callables_registry_sorted_and_documented))
