/*
 * test_writer.c: hudson.remoting.RemoteWriter / ProxyWriter (channel.md 7.1-7.3) over an
 * in-memory link: the UTF-8 <-> UTF-16 conversions, writing into a controller RemoteWriter
 * (ProxyWriter$Chunk char[], the window in chars, $Ack, $NotifyDeadWriter, $Flush only to a
 * PROXY_WRITER_2_35 peer, $EOF/$Unexport) and a writer sink we export (chunks delivered as UTF-8,
 * acked in chars only to a 2.35 peer, NotifyDeadWriter on failure, kind mismatches dropped).
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
#include "rem_int.h"

/* ----- helpers ----- */

static void
deliver_msg(struct fake_link *f, struct jos_msg *m, struct jos_val *r)
{
    struct ag_buf b;
    struct ag_err err = {0};

    T_EQ_INT(jos_msg_add(m, r), 0);
    ag_buf_init(&b, 4 << 20);
    T_EQ_INT(jos_msg_encode(m, &b, &err), 0);
    fake_link_deliver(f, b.data, b.len);
    ag_buf_fini(&b);
    jos_msg_free(m);
}

/* ProxyWriter$<cls>{ioId, oid} or $Ack{oid, size} / $NotifyDeadWriter{oid}. */
static void
deliver_w(struct fake_link *f, const char *cls, int32_t a, int32_t b)
{
    struct jos_msg *m = NULL;
    char name[80];
    struct jos_val *r;

    T_EQ_INT(jos_msg_new(NULL, 0, &m), 0);
    (void)snprintf(name, sizeof(name), "hudson.remoting.ProxyWriter$%s", cls);
    r = jos_new_object(m, name);
    if (strcmp(cls, "Ack") == 0) {
        T_EQ_INT(jos_set_int(m, r, "oid", a), 0);
        T_EQ_INT(jos_set_int(m, r, "size", b), 0);
    } else if (strcmp(cls, "NotifyDeadWriter") == 0) {
        T_EQ_INT(jos_set_int(m, r, "oid", a), 0);
    } else {
        T_EQ_INT(jos_set_int(m, r, "ioId", a), 0);
        T_EQ_INT(jos_set_int(m, r, "oid", b), 0);
    }
    deliver_msg(f, m, r);
}

/* ProxyWriter$Chunk{ioId, oid, buf} with n UTF-16 units. */
static void
deliver_wchunk(struct fake_link *f, int32_t io_id, int32_t oid, const uint16_t *u, size_t n)
{
    struct jos_msg *m = NULL;
    struct jos_val *r;
    uint8_t *raw = malloc(2 * n + 1);

    for (size_t i = 0; i < n; i++) {
        raw[2 * i] = (uint8_t)(u[i] >> 8);
        raw[2 * i + 1] = (uint8_t)u[i];
    }
    T_EQ_INT(jos_msg_new(NULL, 0, &m), 0);
    r = jos_new_object(m, "hudson.remoting.ProxyWriter$Chunk");
    T_EQ_INT(jos_set_int(m, r, "ioId", io_id), 0);
    T_EQ_INT(jos_set_int(m, r, "oid", oid), 0);
    T_EQ_INT(jos_set_obj(m, r, "buf", jos_new_prim_array(m, "[C", raw, (uint32_t)n, false)), 0);
    deliver_msg(f, m, r);
    free(raw);
}

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

/* Check sent command i has class cls and int field fld == want (fld NULL: no check). */
static void
check_sent(struct fake_link *f, size_t i, const char *cls, const char *fld, int32_t want)
{
    struct jos_msg *m = NULL;
    struct jos_val *v = sent_cmd(f, i, &m);

    if (v != NULL) {
        T_EQ_STR(jos_val_class(v), cls);
        if (fld != NULL) {
            int32_t got = -1;

            T_EQ_INT(jos_get_int(v, fld, &got), 0);
            T_EQ_INT(got, want);
        }
    }
    jos_msg_free(m);
}

/* The chars of a sent ProxyWriter$Chunk as UTF-16 units appended to out; returns their count. */
static size_t
sent_chars(struct fake_link *f, size_t i, uint16_t *out, size_t cap)
{
    struct jos_msg *m = NULL;
    struct jos_val *v = sent_cmd(f, i, &m);
    struct jos_val *buf = NULL;
    size_t n = 0;

    if (v != NULL && jos_get_obj(v, "buf", &buf) == 0 && buf != NULL && buf->kind == JOS_K_ARRAY &&
        buf->u.arr.elem == 'C') {
        n = buf->u.arr.len;
        for (size_t k = 0; k < n && k < cap; k++) {
            out[k] = (uint16_t)(buf->u.arr.raw[2 * k] << 8 | buf->u.arr.raw[2 * k + 1]);
        }
    } else {
        T_FAIL_("sent command %zu is not a chunk with a char[]", i);
    }
    jos_msg_free(m);
    return n;
}

/* ----- a sink ----- */

struct sink {
    char data[4096];
    size_t len;
    int flushes;
    int closes;
    int fail; /* answer this error */
};

static int
sink_write(void *ctx, struct ag_iov d, rem_sink_done_cb done, void *token)
{
    struct sink *s = ctx;

    (void)done;
    (void)token;
    if (s->len + d.len < sizeof(s->data)) {
        memcpy(s->data + s->len, d.base, d.len);
        s->len += d.len;
    }
    return s->fail;
}

static void
sink_flush(void *ctx)
{
    ((struct sink *)ctx)->flushes++;
}

static void
sink_close(void *ctx, const char *error)
{
    (void)error;
    ((struct sink *)ctx)->closes++;
}

static const struct rem_sink_ops sink_ops = {sink_write, sink_flush, sink_close};

/* ----- an exported object whose "open" method takes a RemoteWriter ----- */

struct obj {
    struct rem_ostream *os;
    struct rem_call *call;
    int drains;
};

static void
on_drain(struct rem_ostream *os, void *arg)
{
    (void)os;
    ((struct obj *)arg)->drains++;
}

static void
obj_invoke(void *ptr, struct rem_call *call, const char *method, const struct jos_val *types,
           const struct jos_val *args)
{
    struct obj *o = ptr;
    struct ag_err err = {0};

    (void)types;
    (void)method;
    T_CHECK(args != NULL && args->kind == JOS_K_ARRAY && args->u.arr.len == 1);
    if (args == NULL || args->u.arr.len != 1) {
        rem_call_return_null(call);
        return;
    }
    T_EQ_INT(rem_ostream_open(call, args->u.arr.elems[0], &o->os, &err), 0);
    if (o->os != NULL) {
        rem_ostream_on_drain(o->os, on_drain, o);
    }
    o->call = call; /* the test completes it */
}

static void
obj_release(void *ptr)
{
    (void)ptr;
}

static const struct rem_object_ops obj_ops = {"test.Iface", obj_invoke, obj_release};

/* RPCRequest(id, oid, "open", [RemoteWriter{wid}]). */
static void
deliver_open(struct fake_link *f, int32_t id, int32_t oid, int32_t wid)
{
    struct jos_msg *m = NULL;
    struct jos_val *r;
    struct jos_val *args;
    struct jos_val *types;
    struct jos_val *w;
    uint8_t be[4] = {(uint8_t)(wid >> 24), (uint8_t)(wid >> 16), (uint8_t)(wid >> 8), (uint8_t)wid};

    T_EQ_INT(jos_msg_new(NULL, 0, &m), 0);
    r = jos_new_object(m, "hudson.remoting.RemoteInvocationHandler$RPCRequest");
    args = jos_new_obj_array(m, "[Ljava.lang.Object;", 1);
    types = jos_new_obj_array(m, "[Ljava.lang.String;", 1);
    w = jos_new_object(m, "hudson.remoting.RemoteWriter");
    T_EQ_INT(jos_custom_block(m, w, NULL, be, 4), 0);
    T_EQ_INT(jos_array_set(m, args, 0, w), 0);
    T_EQ_INT(jos_array_set(m, types, 0, jos_new_cstring(m, "java.io.Writer")), 0);
    T_EQ_INT(jos_set_int(m, r, "id", id), 0);
    T_EQ_INT(jos_set_int(m, r, "oid", oid), 0);
    T_EQ_INT(jos_set_obj(m, r, "arguments", args), 0);
    T_EQ_INT(jos_set_string(m, r, "declaringClassName", "test.Iface"), 0);
    T_EQ_INT(jos_set_string(m, r, "methodName", "open"), 0);
    T_EQ_INT(jos_set_obj(m, r, "types", types), 0);
    deliver_msg(f, m, r);
}

/* ----- tests ----- */

static size_t
to16(const char *s, size_t n, uint16_t *u, struct rem_utf8_state *st, bool final)
{
    uint8_t out[256];
    size_t len = rem__utf8_to_utf16be(st, (const uint8_t *)s, n, final, out);

    for (size_t i = 0; i < len / 2; i++) {
        u[i] = (uint16_t)(out[2 * i] << 8 | out[2 * i + 1]);
    }
    return len / 2;
}

T_TEST(utf8_to_utf16)
{
    struct rem_utf8_state st = {0};
    uint16_t u[64];
    size_t n;

    /* ASCII, U+00E9, U+20AC, U+1F600 (a surrogate pair), U+0000. */
    n = to16("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 10, u, &st, false);
    T_EQ_INT(n, 5);
    T_EQ_INT(u[0], 'a');
    T_EQ_INT(u[1], 0xE9);
    T_EQ_INT(u[2], 0x20AC);
    T_EQ_INT(u[3], 0xD83D);
    T_EQ_INT(u[4], 0xDE00);
    n = to16("\0", 1, u, &st, false);
    T_EQ_INT(n, 1);
    T_EQ_INT(u[0], 0);
    /* A 4-byte sequence cut after each byte joins up across writes. */
    T_EQ_INT(to16("\xf0", 1, u, &st, false), 0);
    T_EQ_INT(to16("\x9f", 1, u, &st, false), 0);
    T_EQ_INT(to16("\x98", 1, u, &st, false), 0);
    n = to16("\x80z", 2, u, &st, false);
    T_EQ_INT(n, 3);
    T_EQ_INT(u[0], 0xD83D);
    T_EQ_INT(u[1], 0xDE00);
    T_EQ_INT(u[2], 'z');
    /* Ill-formed: a lone continuation byte, an overlong C0 80, an encoded surrogate ED A0 80
     * (maximal subparts: ED, A0, 80), F5, and a truncated E2 82 followed by 'x'. */
    n = to16("\x80\xc0\x80\xed\xa0\x80\xf5\xe2\x82x", 10, u, &st, false);
    T_EQ_INT(n, 9);
    for (size_t i = 0; i < 8; i++) {
        T_EQ_INT(u[i], 0xFFFD);
    }
    T_EQ_INT(u[8], 'x');
    /* A cut sequence whose continuation turns out wrong: U+FFFD, then the new byte itself. */
    T_EQ_INT(to16("\xe2\x82", 2, u, &st, false), 0);
    n = to16("q", 1, u, &st, false);
    T_EQ_INT(n, 2);
    T_EQ_INT(u[0], 0xFFFD);
    T_EQ_INT(u[1], 'q');
    /* The stream ends inside a sequence: one U+FFFD. */
    T_EQ_INT(to16("\xe2\x82", 2, u, &st, false), 0);
    n = to16(NULL, 0, u, &st, true);
    T_EQ_INT(n, 1);
    T_EQ_INT(u[0], 0xFFFD);
    T_EQ_INT(st.n, 0);
}

T_TEST(utf16_to_utf8)
{
    static const uint8_t a[] = {0x00, 'h', 0x00, 0xE9, 0x20, 0xAC, 0xD8, 0x3D};
    static const uint8_t b[] = {0xDE, 0x00, 0xDC, 0x00, 0xD8, 0x00, 0x00, '!', 0x00, 0x00};
    uint8_t out[64];
    uint16_t hi = 0;
    size_t n;

    n = rem__utf16be_to_utf8(&hi, a, 4, out);
    T_EQ_MEM(out, n, "h\xc3\xa9\xe2\x82\xac", 6); /* the high surrogate waits */
    T_EQ_INT(hi, 0xD83D);
    /* Its pair, then a lone low surrogate, a high one followed by '!', and U+0000. */
    n = rem__utf16be_to_utf8(&hi, b, 5, out);
    T_EQ_MEM(out, n, "\xf0\x9f\x98\x80\xef\xbf\xbd\xef\xbf\xbd!\x00", 12);
    T_EQ_INT(hi, 0);
}

/* The agent writes UTF-8 into a controller RemoteWriter. */
T_TEST(write_to_controller_writer)
{
    struct fake_link f;
    struct closed_state cs;
    struct rem_channel *ch = open_channel(&f, &cs);
    struct obj o = {0};
    int32_t oid = 0;
    uint16_t u[64];
    size_t n;

    T_EQ_INT(rem_channel_export(ch, &obj_ops, &o, &oid), 0);
    deliver_open(&f, 7, oid, 9);
    T_CHECK(o.os != NULL && o.call != NULL);
    if (o.os == NULL) {
        shut(&f, &cs);
        return;
    }
    T_EQ_INT(rem_ostream_oid(o.os), 9);
    T_EQ_INT(f.nsent, 0);
    /* "h\u00e9" + the first two bytes of U+20AC: the cut sequence waits. */
    T_EQ_INT(rem_ostream_write(o.os, o.call, "h\xc3\xa9\xe2\x82", 5), 1);
    T_EQ_INT(f.nsent, 1);
    check_sent(&f, 0, "hudson.remoting.ProxyWriter$Chunk", "oid", 9);
    check_sent(&f, 0, "hudson.remoting.ProxyWriter$Chunk", "ioId", 1);
    n = sent_chars(&f, 0, u, 64);
    T_EQ_INT(n, 2);
    T_EQ_INT(u[0], 'h');
    T_EQ_INT(u[1], 0xE9);
    T_EQ_INT(rem_ostream_window(o.os), (1 << 20) - 2); /* counted in chars */
    T_EQ_INT(rem_ostream_write(o.os, o.call, "\xac", 1), 1);
    n = sent_chars(&f, 1, u, 64);
    T_EQ_INT(n, 1);
    T_EQ_INT(u[0], 0x20AC);
    /* A ProxyWriter$Ack (or, as Java's shared PipeWindow allows, a ProxyOutputStream$Ack) for
     * the same oid returns credit in chars. */
    deliver_w(&f, "Ack", 9, 3);
    T_EQ_INT(rem_ostream_window(o.os), 1 << 20);
    /* $Flush goes to a 2.35 controller; close queues $EOF (the error is not sent: no field). */
    T_EQ_INT(rem_ostream_flush(o.os, o.call), 0);
    check_sent(&f, 2, "hudson.remoting.ProxyWriter$Flush", "oid", 9);
    T_EQ_INT(rem_ostream_write(o.os, o.call, "\xf0\x9f", 2), 1); /* cut at the end */
    T_EQ_INT(rem_ostream_close(o.os, o.call, "ignored"), 0);
    n = sent_chars(&f, 3, u, 64);
    T_EQ_INT(n, 1);
    T_EQ_INT(u[0], 0xFFFD);
    check_sent(&f, 4, "hudson.remoting.ProxyWriter$EOF", "oid", 9);
    check_sent(&f, 4, "hudson.remoting.ProxyWriter$EOF", "ioId", 5);
    T_EQ_INT(rem_ostream_write(o.os, o.call, "x", 1), AG_ECLOSED);
    rem_call_return_null(o.call);
    check_sent(&f, 5, "hudson.remoting.Response", "lastIoId", 5);
    rem_ostream_unref(o.os);
    T_EQ_INT(f.nsent, 6);
    shut(&f, &cs);
}

/* The window counts chars: 1 MiB of 2-byte chars, in chunks of at most 32 Ki chars. */
T_TEST(writer_window_in_chars_and_dead_writer)
{
    struct fake_link f;
    struct closed_state cs;
    struct rem_channel *ch = open_channel(&f, &cs);
    struct obj o = {0};
    int32_t oid = 0;
    size_t total = 0;
    size_t big = (size_t)3 << 19; /* 1.5 Mi chars of U+00E9 = 3 MiB of UTF-8 */
    char *text = malloc(2 * big);
    uint16_t *u = malloc(sizeof(uint16_t) * (64 << 10));

    for (size_t i = 0; i < big; i++) {
        text[2 * i] = (char)0xC3;
        text[2 * i + 1] = (char)0xA9;
    }
    T_EQ_INT(rem_channel_export(ch, &obj_ops, &o, &oid), 0);
    deliver_open(&f, 8, oid, 11);
    T_CHECK(o.os != NULL);
    if (o.os == NULL) {
        free(text);
        free(u);
        shut(&f, &cs);
        return;
    }
    /* The window holds 1 Mi chars (backlog in bytes, cap 1 MiB). */
    T_EQ_INT(rem_ostream_write(o.os, o.call, text, 2 * (((size_t)1 << 20) + 4096)), 0);
    for (size_t i = 0; i < f.nsent; i++) {
        size_t n = sent_chars(&f, i, u, 64 << 10);

        T_CHECK(n <= (32 << 10));
        for (size_t k = 0; k < n && k < (64 << 10); k++) {
            if (u[k] != 0xE9) {
                T_FAIL_("chunk %zu char %zu is %04x", i, k, u[k]);
                break;
            }
        }
        total += n;
    }
    /* Like Java's PipeWindow, the rest waits for min(window/10, remaining) chars of credit. */
    T_EQ_U64(total + rem_ostream_backlog(o.os) / 2, ((uint64_t)1 << 20) + 4096);
    T_EQ_U64(total, (uint64_t)29 << 15);
    T_EQ_INT(rem_ostream_window(o.os), ((int64_t)1 << 20) - ((int64_t)29 << 15));
    T_EQ_INT(rem_ostream_write(o.os, o.call, text, 2 * big), AG_ELIMIT); /* past the cap */
    deliver_w(&f, "Ack", 11, 1 << 20);
    T_EQ_INT(o.drains, 1);
    T_EQ_U64(rem_ostream_backlog(o.os), 0);
    /* The controller reports the writer dead: writes fail from now on. */
    deliver_w(&f, "NotifyDeadWriter", 11, 0);
    T_EQ_INT(rem_ostream_write(o.os, o.call, "x", 1), AG_ECLOSED);
    rem_call_return_null(o.call);
    rem_ostream_unref(o.os);
    free(text);
    free(u);
    shut(&f, &cs);
}

/* A controller without PROXY_WRITER_2_35: no $Flush; an abandoned writer is released with $EOF
 * (what Java's ProxyWriter.finalize() does), with 2.35 by $Unexport. */
T_TEST(writer_flush_and_unexport_follow_the_peer)
{
    struct fake_link f;
    struct closed_state cs;
    struct rem_channel *ch = open_channel_cap(&f, &cs, PROTO_CAPABILITY_DEFAULT & ~0x40u);
    struct obj o = {0};
    int32_t oid = 0;

    T_EQ_INT(rem_channel_export(ch, &obj_ops, &o, &oid), 0);
    deliver_open(&f, 3, oid, 12);
    T_CHECK(o.os != NULL);
    T_EQ_INT(rem_ostream_flush(o.os, o.call), 0);
    T_EQ_INT(f.nsent, 0);
    rem_ostream_unref(o.os);
    T_EQ_INT(f.nsent, 1);
    check_sent(&f, 0, "hudson.remoting.ProxyWriter$EOF", "oid", 12);
    rem_call_return_null(o.call);
    shut(&f, &cs);

    memset(&o, 0, sizeof(o));
    ch = open_channel(&f, &cs);
    T_EQ_INT(rem_channel_export(ch, &obj_ops, &o, &oid), 0);
    deliver_open(&f, 3, oid, 12);
    T_CHECK(o.os != NULL);
    rem_ostream_unref(o.os);
    T_EQ_INT(f.nsent, 1);
    check_sent(&f, 0, "hudson.remoting.ProxyWriter$Unexport", "oid", 12);
    rem_call_return_null(o.call);
    shut(&f, &cs);
}

/* The controller writes into a writer sink we exported. */
T_TEST(writer_sink_chunks_acks_and_eof)
{
    static const uint16_t c1[] = {'h', 0xE9, 0xD83D};
    static const uint16_t c2[] = {0xDE00, '!'};
    struct fake_link f;
    struct closed_state cs;
    struct rem_channel *ch = open_channel(&f, &cs);
    struct sink s = {0};
    struct sink os_sink = {0};
    struct rem_channel_stats st;
    int32_t oid = 0;
    int32_t ros = 0;

    T_EQ_INT(rem_channel_export_writer_sink(ch, &sink_ops, &s, &oid), 0);
    deliver_wchunk(&f, 1, oid, c1, 3);
    T_EQ_MEM(s.data, s.len, "h\xc3\xa9", 3); /* the high surrogate waits for its pair */
    T_EQ_INT(f.nsent, 1);
    check_sent(&f, 0, "hudson.remoting.ProxyWriter$Ack", "size", 3);
    check_sent(&f, 0, "hudson.remoting.ProxyWriter$Ack", "oid", oid);
    deliver_wchunk(&f, 2, oid, c2, 2);
    T_EQ_MEM(s.data, s.len, "h\xc3\xa9\xf0\x9f\x98\x80!", 8);
    check_sent(&f, 1, "hudson.remoting.ProxyWriter$Ack", "size", 2);
    deliver_w(&f, "Flush", 3, oid);
    T_EQ_INT(s.flushes, 1);
    /* ProxyOutputStream commands to a writer (and the reverse) fail Java's cast: dropped. */
    T_EQ_INT(rem_channel_export_sink(ch, &sink_ops, &os_sink, &ros), 0);
    deliver_wchunk(&f, 4, ros, c2, 2);
    T_EQ_INT(os_sink.len, 0);
    T_EQ_INT(f.nsent, 2);
    deliver_w(&f, "EOF", 5, ros);
    T_EQ_INT(os_sink.closes, 0);
    /* A chunk for an unknown oid: dropped, nothing sent. */
    deliver_wchunk(&f, 6, 99, c2, 2);
    T_EQ_INT(f.nsent, 2);
    deliver_w(&f, "EOF", 7, oid);
    T_EQ_INT(s.closes, 1);
    rem_channel_get_stats(ch, &st);
    T_EQ_INT(st.exports, 2); /* the channel (oid 1) and the output stream sink */
    /* After EOF the oid is gone: a late chunk is dropped without an Ack. */
    deliver_wchunk(&f, 8, oid, c2, 2);
    T_EQ_INT(f.nsent, 2);
    deliver_w(&f, "Unexport", 9, ros);
    T_EQ_INT(os_sink.closes, 1);
    shut(&f, &cs);
}

/* A failed sink write: ProxyWriter$NotifyDeadWriter, then the Ack, to a 2.35 peer; to a peer
 * without 2.35 neither (Java's ProxyWriter$Chunk.execute). */
T_TEST(writer_sink_failure_and_old_peer)
{
    static const uint16_t c[] = {'a', 'b'};
    struct fake_link f;
    struct closed_state cs;
    struct rem_channel *ch = open_channel(&f, &cs);
    struct sink s = {0};
    int32_t oid = 0;

    s.fail = AG_EPROTO;
    T_EQ_INT(rem_channel_export_writer_sink(ch, &sink_ops, &s, &oid), 0);
    deliver_wchunk(&f, 1, oid, c, 2);
    T_EQ_INT(f.nsent, 2);
    check_sent(&f, 0, "hudson.remoting.ProxyWriter$NotifyDeadWriter", "oid", oid);
    check_sent(&f, 1, "hudson.remoting.ProxyWriter$Ack", "size", 2);
    shut(&f, &cs);
    T_EQ_INT(s.closes, 1); /* the channel's end closes the sink */

    memset(&s, 0, sizeof(s));
    ch = open_channel_cap(&f, &cs, PROTO_CAPABILITY_DEFAULT & ~0x40u);
    T_EQ_INT(rem_channel_export_writer_sink(ch, &sink_ops, &s, &oid), 0);
    deliver_wchunk(&f, 1, oid, c, 2);
    T_EQ_MEM(s.data, s.len, "ab", 2);
    T_EQ_INT(f.nsent, 0);
    s.fail = AG_EPROTO;
    deliver_wchunk(&f, 2, oid, c, 2);
    T_EQ_INT(f.nsent, 0);
    shut(&f, &cs);
}

T_MAIN(T_CASE(utf8_to_utf16), T_CASE(utf16_to_utf8), T_CASE(write_to_controller_writer),
       T_CASE(writer_window_in_chars_and_dead_writer),
       T_CASE(writer_flush_and_unexport_follow_the_peer), T_CASE(writer_sink_chunks_acks_and_eof),
       T_CASE(writer_sink_failure_and_old_peer))
