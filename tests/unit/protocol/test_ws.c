/*
 * test_ws.c: the WebSocket transport against a fake controller on 127.0.0.1, on the same libuv
 * loop. The fake controller is a raw TCP server written here (not lws), so the test sees the
 * upgrade request byte for byte as Jenkins would, and controls every frame it sends.
 */
#include "ws.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "alloc.h"
#include "buf.h"
#include "capability.h"
#include "err.h"
#include "harness.h"
#include "link.h"
#include "log.h"

/* ---- fake controller ------------------------------------------------------------------- */

enum fc_mode {
    FC_OK = 0,        /* 101 and the scripted session */
    FC_STATUS = 1,    /* answer with `status` */
    FC_NO_CAP = 2,    /* 101 without X-Remoting-Capability, then wait for the client's close */
    FC_MIN_VER = 3,   /* 101 with a minimum version newer than ours */
    FC_PREFLIGHT = 4, /* plain HTTP answer with `status` */
    FC_SILENT = 5,    /* read the request, answer nothing */
};

struct fc_msg {
    uint8_t op;
    uint8_t *data;
    size_t len;
};

struct fc {
    uv_loop_t *loop;
    uv_tcp_t server;
    uv_tcp_t conn;
    bool have_conn;
    enum fc_mode mode;
    int status;
    int port;
    struct ag_buf in;      /* bytes from the client */
    char request[4096];    /* the request head, NUL-terminated */
    bool got_request;
    struct fc_msg msgs[64]; /* binary/close/pong frames from the client */
    size_t n_msgs;
    bool got_close;
    size_t bin_bytes; /* payload bytes of all binary messages */
    int client_close_code;
    bool ponged;
    bool hung_up; /* the client closed the TCP connection */
};

static void
fc_write(struct fc *f, const void *p, size_t n);

static void
on_fc_write(uv_write_t *w, int status)
{
    (void)status;
    free(w->data);
    free(w);
}

static void
fc_write(struct fc *f, const void *p, size_t n)
{
    uv_write_t *w = malloc(sizeof(*w));
    char *copy = malloc(n);
    uv_buf_t b;

    memcpy(copy, p, n);
    w->data = copy;
    b = uv_buf_init(copy, (unsigned)n);
    T_EQ_INT(uv_write(w, (uv_stream_t *)&f->conn, &b, 1, on_fc_write), 0);
}

/* An unmasked server frame. */
static void
fc_frame(struct fc *f, uint8_t op, bool fin, const void *p, size_t n)
{
    uint8_t hdr[4];
    size_t hl = 2;

    hdr[0] = (uint8_t)((fin ? 0x80 : 0) | op);
    if (n < 126) {
        hdr[1] = (uint8_t)n;
    } else {
        hdr[1] = 126;
        hdr[2] = (uint8_t)(n >> 8);
        hdr[3] = (uint8_t)n;
        hl = 4;
    }
    fc_write(f, hdr, hl);
    if (n > 0) {
        fc_write(f, p, n);
    }
}

static void
accept_key(const char *key, char out[64])
{
    uint8_t md[SHA_DIGEST_LENGTH];
    char buf[200];

    snprintf(buf, sizeof(buf), "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
    SHA1((const uint8_t *)buf, strlen(buf), md);
    EVP_EncodeBlock((uint8_t *)out, md, SHA_DIGEST_LENGTH);
}

/* The value of header `name` in the request, or NULL. */
static const char *
req_header(struct fc *f, const char *name, char *out, size_t size)
{
    char pat[128];
    const char *p;
    const char *e;

    snprintf(pat, sizeof(pat), "\r\n%s: ", name);
    p = strstr(f->request, pat);
    if (p == NULL) {
        return NULL;
    }
    p += strlen(pat);
    e = strstr(p, "\r\n");
    snprintf(out, size, "%.*s", (int)(e - p), p);
    return out;
}

static void
fc_answer(struct fc *f)
{
    char key[64];
    char acc[64];
    char resp[1024];
    char cap[PROTO_CAPABILITY_B64_LEN + 1];

    if (f->mode == FC_STATUS || f->mode == FC_PREFLIGHT) {
        snprintf(resp, sizeof(resp), "HTTP/1.1 %d Status\r\nContent-Length: 2\r\n\r\nno",
                 f->status);
        fc_write(f, resp, strlen(resp));
        return;
    }
    T_CHECK(req_header(f, "Sec-WebSocket-Key", key, sizeof(key)) != NULL);
    accept_key(key, acc);
    proto_capability_encode(0x1FE, cap);
    snprintf(resp, sizeof(resp),
             "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Accept: %s\r\n%s%s%s"
             "X-Remoting-Minimum-Version: %s\r\nConnection-Cookie: 00ff00ff\r\n\r\n",
             acc, f->mode == FC_NO_CAP ? "" : "X-Remoting-Capability: ",
             f->mode == FC_NO_CAP ? "" : cap, f->mode == FC_NO_CAP ? "" : "\r\n",
             f->mode == FC_MIN_VER ? "99999.vdeadbeef" : "3176.v207ec082a_8c0");
    fc_write(f, resp, strlen(resp));
}

/* Parse complete client frames out of f->in. */
static void
fc_parse_frames(struct fc *f)
{
    for (;;) {
        const uint8_t *p = f->in.data;
        size_t n = f->in.len;
        size_t hl = 2;
        size_t len;
        size_t i;
        uint8_t op;
        uint8_t *data;

        if (n < 2) {
            return;
        }
        T_CHECK(p[1] & 0x80); /* client frames are masked */
        len = p[1] & 0x7f;
        if (len == 126) {
            if (n < 4) {
                return;
            }
            len = (size_t)p[2] << 8 | p[3];
            hl = 4;
        } else if (len == 127) {
            T_CHECK(!"64-bit length from the client");
            return;
        }
        if (n < hl + 4 + len) {
            return;
        }
        op = p[0] & 0x0f;
        T_CHECK(p[0] & 0x80); /* we never fragment */
        data = malloc(len + 1);
        for (i = 0; i < len; i++) {
            data[i] = p[hl + 4 + i] ^ p[hl + (i & 3)];
        }
        if (op == 0x8) {
            f->got_close = true;
            f->client_close_code = len >= 2 ? (data[0] << 8 | data[1]) : 1005;
            /* Echo the close, then hang up, as a server does. */
            fc_frame(f, 0x8, true, data, len >= 2 ? 2 : 0);
        }
        if (op == 0xA) {
            f->ponged = true;
        }
        if (op == 0x2) {
            f->bin_bytes += len;
        }
        if (f->n_msgs < 64) {
            f->msgs[f->n_msgs].op = op;
            f->msgs[f->n_msgs].data = data;
            f->msgs[f->n_msgs].len = len;
            f->n_msgs++;
        } else {
            free(data);
        }
        ag_buf_consume(&f->in, hl + 4 + len);
    }
}

static void
on_fc_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf)
{
    (void)h;
    buf->base = malloc(size);
    buf->len = size;
}

static void
on_fc_closed(uv_handle_t *h)
{
    (void)h;
}

static void
on_fc_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct fc *f = s->data;

    if (nread < 0) {
        free(buf->base);
        f->hung_up = true;
        if (!uv_is_closing((uv_handle_t *)s)) {
            uv_close((uv_handle_t *)s, on_fc_closed);
        }
        return;
    }
    T_EQ_INT(ag_buf_append(&f->in, buf->base, (size_t)nread), 0);
    free(buf->base);
    if (!f->got_request) {
        size_t hl = 0;
        size_t i;

        for (i = 0; i + 4 <= f->in.len; i++) {
            if (memcmp(f->in.data + i, "\r\n\r\n", 4) == 0) {
                hl = i + 4;
                break;
            }
        }
        if (hl == 0) {
            return;
        }
        T_CHECK(hl < sizeof(f->request));
        memcpy(f->request, f->in.data, hl);
        f->request[hl] = '\0';
        f->got_request = true;
        ag_buf_consume(&f->in, hl);
        if (f->mode != FC_SILENT) {
            fc_answer(f);
        }
        return;
    }
    fc_parse_frames(f);
}

static void
on_fc_connection(uv_stream_t *server, int status)
{
    struct fc *f = server->data;

    T_EQ_INT(status, 0);
    T_CHECK(!f->have_conn);
    uv_tcp_init(f->loop, &f->conn);
    f->conn.data = f;
    T_EQ_INT(uv_accept(server, (uv_stream_t *)&f->conn), 0);
    f->have_conn = true;
    uv_read_start((uv_stream_t *)&f->conn, on_fc_alloc, on_fc_read);
}

static void
fc_start(struct fc *f, uv_loop_t *loop, enum fc_mode mode, int status)
{
    struct sockaddr_in addr;
    struct sockaddr_storage ss;
    int len = sizeof(ss);

    memset(f, 0, sizeof(*f));
    f->loop = loop;
    f->mode = mode;
    f->status = status;
    ag_buf_init(&f->in, 1 << 20);
    uv_tcp_init(loop, &f->server);
    f->server.data = f;
    uv_ip4_addr("127.0.0.1", 0, &addr);
    T_EQ_INT(uv_tcp_bind(&f->server, (const struct sockaddr *)&addr, 0), 0);
    T_EQ_INT(uv_listen((uv_stream_t *)&f->server, 4, on_fc_connection), 0);
    uv_tcp_getsockname(&f->server, (struct sockaddr *)&ss, &len);
    f->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static void
fc_stop(struct fc *f)
{
    size_t i;

    uv_close((uv_handle_t *)&f->server, on_fc_closed);
    if (f->have_conn && !uv_is_closing((uv_handle_t *)&f->conn)) {
        uv_close((uv_handle_t *)&f->conn, on_fc_closed);
    }
    for (i = 0; i < f->n_msgs; i++) {
        free(f->msgs[i].data);
    }
    ag_buf_fini(&f->in);
}

/* ---- the client side ------------------------------------------------------------------- */

struct cl {
    struct fc *fc;
    struct proto_ws *ws;
    struct proto_ws_preflight *pf;
    bool connected;
    int status;
    char why[256];
    bool closed;
    int close_code;
    char close_why[256];
    char cmds[8][64];
    size_t cmd_len[8];
    size_t n_cmds;
    bool pause_after_first;
    uv_timer_t resume_timer;
    bool resumed;
    size_t n_at_resume;
    uv_timer_t watchdog;
    int http_status;
    bool fatal;
    int drains;
    bool free_in_cb; /* free the object from inside its own callback, as the supervisor does */
};

static void
on_walk_print(uv_handle_t *h, void *arg)
{
    (void)arg;
    fprintf(stderr, "  handle %s active %d ref %d closing %d data %p\n",
            uv_handle_type_name(uv_handle_get_type(h)), uv_is_active(h), uv_has_ref(h),
            uv_is_closing(h), h->data);
}

static void
on_watchdog(uv_timer_t *t)
{
    T_CHECK(!"test timed out");
    uv_walk(t->loop, on_walk_print, NULL);
    uv_stop(t->loop);
    exit(1);
}

static void
on_resume_timer(uv_timer_t *t)
{
    struct cl *c = t->data;

    c->resumed = true;
    c->n_at_resume = c->n_cmds;
    proto_link_pause_read(proto_ws_link(c->ws), false);
}

static void
on_command(struct proto_link *link, struct ag_iov cmd, void *arg)
{
    struct cl *c = arg;

    if (c->n_cmds < 8) {
        size_t n = cmd.len < 63 ? cmd.len : 63;
        memcpy(c->cmds[c->n_cmds], cmd.base, n);
        c->cmds[c->n_cmds][n] = '\0';
        c->cmd_len[c->n_cmds] = cmd.len;
        c->n_cmds++;
    }
    if (c->n_cmds == 1 && c->pause_after_first) {
        proto_link_pause_read(link, true);
        uv_timer_start(&c->resume_timer, on_resume_timer, 50, 0);
    }
}

static void
on_drain(struct proto_link *link, void *arg)
{
    struct cl *c = arg;

    (void)link;
    c->drains++;
}

static void
on_closed(struct proto_link *link, int code, const char *why, void *arg)
{
    struct cl *c = arg;

    (void)link;
    c->closed = true;
    c->close_code = code;
    snprintf(c->close_why, sizeof(c->close_why), "%s", why);
    if (c->free_in_cb) {
        proto_ws_free(c->ws);
        c->ws = NULL;
    }
}

static void
on_connect(struct proto_ws *ws, int status, const char *why, void *arg)
{
    struct cl *c = arg;
    struct proto_link *link = proto_ws_link(ws);

    c->status = status;
    snprintf(c->why, sizeof(c->why), "%s", why != NULL ? why : "");
    if (status != 0) {
        c->http_status = proto_ws_http_status(ws);
        c->fatal = proto_ws_fatal(ws);
        if (c->free_in_cb) {
            proto_ws_free(ws);
            c->ws = NULL;
        }
        return;
    }
    c->connected = true;
    link->on_command = on_command;
    link->on_closed = on_closed;
    link->on_drain = on_drain;
    link->cb_arg = c;
}

static void
on_walk_close(uv_handle_t *h, void *arg)
{
    (void)arg;
    fprintf(stderr, "handle left open: type %s\n", uv_handle_type_name(uv_handle_get_type(h)));
}

/* Run until the client and server handles are gone and the loop is empty; lws must have
 * released every handle it had on our loop by then. */
static void
finish(uv_loop_t *loop, struct fc *f, struct cl *c)
{
    proto_ws_free(c->ws);
    proto_ws_preflight_free(c->pf);
    fc_stop(f);
    uv_close((uv_handle_t *)&c->resume_timer, NULL);
    /* Without the shared context's teardown the loop must run dry too: no connection of a
     * freed object may stay open (the watchdog, unref'd, fails the test otherwise). */
    T_EQ_INT(uv_run(loop, UV_RUN_DEFAULT), 0);
    uv_timer_stop(&c->watchdog);
    uv_close((uv_handle_t *)&c->watchdog, NULL);
    proto_ws_shutdown(loop);
    T_EQ_INT(uv_run(loop, UV_RUN_DEFAULT), 0);
    if (uv_loop_close(loop) != 0) {
        uv_walk(loop, on_walk_close, NULL);
        T_CHECK(!"loop not empty");
    }
}

static void
client_init(struct cl *c, uv_loop_t *loop, struct fc *f)
{
    memset(c, 0, sizeof(*c));
    if (getenv("WS_DEBUG") != NULL) {
        const char *bad = NULL;
        size_t bl = 0;
        ag_log_set_level(AG_LOG_FINEST);
        T_EQ_INT(ag_log_set_trace("ws", &bad, &bl), 0);
    }
    c->fc = f;
    c->status = 1;
    uv_timer_init(loop, &c->resume_timer);
    c->resume_timer.data = c;
    uv_timer_init(loop, &c->watchdog);
    uv_timer_start(&c->watchdog, on_watchdog, 10000, 0);
    uv_unref((uv_handle_t *)&c->watchdog);
}

static void
params(struct proto_ws_params *p, const char *url)
{
    memset(p, 0, sizeof(*p));
    p->base_url = url;
    p->name = "agent-1";
    p->secret = "0123456789abcdef";
    p->our_capability = PROTO_CAPABILITY_OURS;
}

/* Run the loop until cond holds (or the watchdog fires). */
#define RUN_UNTIL(loop, cond)                                                                     \
    do {                                                                                          \
        while (!(cond)) {                                                                         \
            if (uv_run((loop), UV_RUN_ONCE) == 0 && !(cond)) {                                    \
                T_CHECK(!"loop ran dry before: " #cond);                                          \
                break;                                                                            \
            }                                                                                     \
            if (t_failed_checks > 50) {                                                           \
                break;                                                                            \
            }                                                                                     \
        }                                                                                         \
    } while (0)

/* ---- tests ----------------------------------------------------------------------------- */

T_TEST(session)
{
    uv_loop_t loop;
    struct fc f;
    struct cl c;
    struct proto_ws_params p;
    char url[128];
    char expect[1024];
    char key[64];
    char head[64];
    const char *extra[] = {"X-Proxy-Auth=token 1", "Node-Name=agent-2"};
    struct proto_link *link;
    uint8_t big[20000];
    size_t i;

    uv_loop_init(&loop);
    fc_start(&f, &loop, FC_OK, 0);
    client_init(&c, &loop, &f);
    c.pause_after_first = true;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/jenkins/", f.port);
    params(&p, url);
    p.cookie = "c0ffee";
    p.extra_headers = extra;
    p.n_extra_headers = 2;
    T_EQ_INT(proto_ws_connect(&loop, &p, on_connect, &c, &c.ws), 0);
    RUN_UNTIL(&loop, c.status != 1);
    T_EQ_INT(c.status, 0);
    T_CHECK(f.got_request);

    /* The upgrade request as the controller sees it (transport.md 5.1 step 3). lws adds the
     * Pragma and Cache-Control lines; the key is random. */
    T_CHECK(req_header(&f, "Sec-WebSocket-Key", key, sizeof(key)) != NULL);
    snprintf(head, sizeof(head), "127.0.0.1:%d", f.port);
    snprintf(expect, sizeof(expect),
             "GET /jenkins/wsagents/ HTTP/1.1\r\n"
             "Pragma: no-cache\r\n"
             "Cache-Control: no-cache\r\n"
             "Host: %s\r\n"
             "Origin: %s\r\n"
             "Upgrade: websocket\r\n"
             "Connection: Upgrade\r\n"
             "Sec-WebSocket-Key: %s\r\n"
             "Sec-WebSocket-Version: 13\r\n"
             "Node-Name: agent-2\r\n"
             "Secret-Key: 0123456789abcdef\r\n"
             "X-Remoting-Capability: rO0ABXNyABpodWRzb24ucmVtb3RpbmcuQ2FwYWJpbGl0eQAAAAAAAAABAgABSg"
             "AEbWFza3hwAAAAAAAAAfw=\r\n"
             "Connection-Cookie: c0ffee\r\n"
             "X-Proxy-Auth: token 1\r\n"
             "\r\n",
             head, head, key);
    T_EQ_STR(f.request, expect);

    /* What the 101 said. */
    T_EQ_STR(proto_ws_cookie(c.ws), "00ff00ff");
    T_EQ_STR(proto_ws_min_version(c.ws), "3176.v207ec082a_8c0");
    T_EQ_INT(proto_ws_http_status(c.ws), 101);
    link = proto_ws_link(c.ws);
    T_EQ_U64(link->peer_capability, 0x1FE);
    T_EQ_U64(link->our_capability, 0x1FC);
    T_EQ_STR(link->vt->name, "WebSocket");

    /* Ping: lws answers with a pong carrying the same (empty) payload. */
    fc_frame(&f, 0x9, true, NULL, 0);
    /* "hello" with the chunk header split across messages; then a two-chunk command in one
     * message; then a command in a fragmented message (continuation frame). */
    fc_frame(&f, 0x2, true, "\x00", 1);
    fc_frame(&f, 0x2, true, "\x05he", 3);
    fc_frame(&f, 0x2, true, "llo", 3);
    fc_frame(&f, 0x2, true, "\x80\x03" "abc" "\x00\x02" "de", 9);
    fc_frame(&f, 0x2, false, "\x00\x04" "wx", 4);
    fc_frame(&f, 0x0, true, "yz", 2);
    RUN_UNTIL(&loop, c.n_cmds >= 3 && f.ponged);
    T_EQ_STR(c.cmds[0], "hello");
    /* Reading was paused after the first command: nothing more until the resume timer. */
    T_CHECK(c.resumed);
    T_EQ_INT(c.n_at_resume, 1);
    T_EQ_STR(c.cmds[1], "abcde");
    T_EQ_STR(c.cmds[2], "wxyz");

    /* A command over 8192 bytes: one chunk per binary message, 8192 + 8192 + 3616. */
    for (i = 0; i < sizeof(big); i++) {
        big[i] = (uint8_t)(i * 7);
    }
    {
        struct ag_iov cmd = {big, sizeof(big)};
        T_EQ_INT(proto_link_send(link, cmd), 0);
    }
    T_EQ_U64(link->queued, sizeof(big));
    RUN_UNTIL(&loop, f.n_msgs >= 4);
    {
        size_t bin = 0;
        size_t off = 0;
        static const size_t want[] = {8192, 8192, 3616};

        for (i = 0; i < f.n_msgs; i++) {
            const struct fc_msg *m = &f.msgs[i];
            if (m->op != 0x2) {
                continue;
            }
            T_CHECK(bin < 3);
            if (bin >= 3) {
                break;
            }
            T_EQ_INT(m->len, want[bin] + 2);
            T_EQ_INT(m->data[0], (bin < 2 ? 0x80 : 0) | (int)(want[bin] >> 8));
            T_EQ_INT(m->data[1], (int)(want[bin] & 0xff));
            T_EQ_MEM(m->data + 2, want[bin], big + off, want[bin]);
            off += want[bin];
            bin++;
        }
        T_EQ_INT(bin, 3);
    }
    T_EQ_U64(link->queued, 0);

    /* The controller closes: on_closed with its code. */
    fc_frame(&f, 0x8, true, "\x03\xe8" "bye", 5);
    RUN_UNTIL(&loop, c.closed);
    T_EQ_INT(c.close_code, AG_ECLOSED);
    T_CHECK(strstr(c.close_why, "1000") != NULL);
    T_CHECK(strstr(c.close_why, "bye") != NULL);
    {
        struct ag_iov cmd = {big, 10};
        T_EQ_INT(proto_link_send(link, cmd), AG_ECLOSED);
    }
    finish(&loop, &f, &c);
}

T_TEST(close_by_agent_and_missing_capability)
{
    uv_loop_t loop;
    struct fc f;
    struct cl c;
    struct proto_ws_params p;
    char url[128];
    struct proto_link *link;

    uv_loop_init(&loop);
    fc_start(&f, &loop, FC_NO_CAP, 0);
    client_init(&c, &loop, &f);
    c.free_in_cb = true;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", f.port); /* no trailing slash */
    params(&p, url);
    T_EQ_INT(proto_ws_connect(&loop, &p, on_connect, &c, &c.ws), 0);
    RUN_UNTIL(&loop, c.status != 1);
    T_EQ_INT(c.status, 0);
    T_CHECK(strncmp(f.request, "GET /wsagents/ HTTP/1.1\r\n", 25) == 0);
    T_CHECK(strstr(f.request, "Connection-Cookie") == NULL);
    link = proto_ws_link(c.ws);
    /* Missing header: WARNING and the full default mask (5.1 step 5). */
    T_EQ_U64(link->peer_capability, 0x1FE);
    {
        struct ag_iov cmd = {(const uint8_t *)"bye!", 4};
        T_EQ_INT(proto_link_send(link, cmd), 0);
    }
    /* Flush, then a close frame with 1000, then on_closed(0). */
    proto_link_close(link);
    RUN_UNTIL(&loop, c.closed && f.got_close);
    T_EQ_INT(c.close_code, 0);
    T_CHECK(f.got_close);
    T_EQ_INT(f.client_close_code, 1000);
    T_CHECK(f.n_msgs >= 2);
    T_EQ_INT(f.msgs[0].op, 0x2);
    T_EQ_MEM(f.msgs[0].data, f.msgs[0].len, "\x00\x04" "bye!", 6);
    finish(&loop, &f, &c);
}

/* A dead peer: proto_link_abort drops the connection without a close frame, even after a
 * close() whose handshake is still pending; on_closed(0) comes from the loop. */
T_TEST(abort_by_agent)
{
    uv_loop_t loop;
    struct fc f;
    struct cl c;
    struct proto_ws_params p;
    char url[128];
    struct proto_link *link;
    uint64_t t0;

    uv_loop_init(&loop);
    fc_start(&f, &loop, FC_NO_CAP, 0);
    client_init(&c, &loop, &f);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", f.port);
    params(&p, url);
    T_EQ_INT(proto_ws_connect(&loop, &p, on_connect, &c, &c.ws), 0);
    RUN_UNTIL(&loop, c.status != 1);
    T_EQ_INT(c.status, 0);
    link = proto_ws_link(c.ws);
    {
        struct ag_iov cmd = {(const uint8_t *)"lost", 4};
        T_EQ_INT(proto_link_send(link, cmd), 0);
    }
    t0 = uv_now(&loop);
    proto_link_abort(link);
    T_CHECK(!c.closed); /* never from inside the call */
    {
        struct ag_iov cmd = {(const uint8_t *)"more", 4};
        T_EQ_INT(proto_link_send(link, cmd), AG_ECLOSED);
    }
    proto_link_abort(link); /* twice is harmless */
    RUN_UNTIL(&loop, c.closed && f.hung_up);
    T_EQ_INT(c.close_code, 0);
    T_CHECK(!f.got_close);
    T_EQ_U64(f.bin_bytes, 0); /* what was queued is dropped */
    T_CHECK(uv_now(&loop) - t0 < 2000);
    finish(&loop, &f, &c);
}

static void
refused(int status)
{
    uv_loop_t loop;
    struct fc f;
    struct cl c;
    struct proto_ws_params p;
    char url[128];

    uv_loop_init(&loop);
    fc_start(&f, &loop, FC_STATUS, status);
    client_init(&c, &loop, &f);
    c.free_in_cb = status == 403;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", f.port);
    params(&p, url);
    T_EQ_INT(proto_ws_connect(&loop, &p, on_connect, &c, &c.ws), 0);
    RUN_UNTIL(&loop, c.status != 1);
    T_EQ_INT(c.status, AG_EREFUSED);
    T_EQ_INT(c.http_status, status);
    T_CHECK(!c.fatal);
    /* The reason names the status and never the secret. */
    T_CHECK(strstr(c.why, status == 403 ? "wrong secret" : "unknown node name") != NULL);
    T_CHECK(strstr(c.why, p.secret) == NULL);
    finish(&loop, &f, &c);
}

T_TEST(refused_403)
{
    refused(403);
}

T_TEST(refused_400)
{
    refused(400);
}

T_TEST(minimum_version)
{
    uv_loop_t loop;
    struct fc f;
    struct cl c;
    struct proto_ws_params p;
    char url[128];

    uv_loop_init(&loop);
    fc_start(&f, &loop, FC_MIN_VER, 0);
    client_init(&c, &loop, &f);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", f.port);
    params(&p, url);
    T_EQ_INT(proto_ws_connect(&loop, &p, on_connect, &c, &c.ws), 0);
    RUN_UNTIL(&loop, c.status != 1);
    T_EQ_INT(c.status, AG_EREFUSED);
    T_CHECK(c.fatal);
    T_EQ_STR(c.why, "Agent version 99999.vdeadbeef or newer is required.");
    finish(&loop, &f, &c);
}

static void
on_preflight(struct proto_ws_preflight *pf, int status, const char *why, void *arg)
{
    struct cl *c = arg;

    c->status = status;
    snprintf(c->why, sizeof(c->why), "%s", why != NULL ? why : "");
    if (c->free_in_cb) {
        proto_ws_preflight_free(pf);
        c->pf = NULL;
    }
}

static void
preflight(int status)
{
    uv_loop_t loop;
    struct fc f;
    struct cl c;
    struct proto_ws_params p;
    char url[128];

    uv_loop_init(&loop);
    fc_start(&f, &loop, FC_PREFLIGHT, status);
    client_init(&c, &loop, &f);
    c.free_in_cb = status == 200;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/jenkins/", f.port);
    params(&p, url);
    T_EQ_INT(proto_ws_preflight(&loop, &p, on_preflight, &c, &c.pf), 0);
    RUN_UNTIL(&loop, c.status != 1);
    T_EQ_INT(c.status, status);
    T_CHECK(strncmp(f.request, "GET /jenkins/login HTTP/1.1\r\n", 29) == 0);
    T_CHECK(strstr(f.request, "Node-Name") == NULL);
    T_CHECK(strstr(f.request, "Secret-Key") == NULL);
    finish(&loop, &f, &c);
}

T_TEST(preflight_ok)
{
    preflight(200);
}

T_TEST(preflight_not_ready)
{
    preflight(503);
}

T_TEST(connection_refused)
{
    uv_loop_t loop;
    struct fc f;
    struct cl c;
    struct proto_ws_params p;
    char url[128];
    int port;

    uv_loop_init(&loop);
    fc_start(&f, &loop, FC_OK, 0);
    port = f.port;
    client_init(&c, &loop, &f);
    /* Nobody listens on port+1 in all likelihood; a failure of any kind is what we want. */
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port == 65535 ? 1 : port + 1);
    params(&p, url);
    T_EQ_INT(proto_ws_connect(&loop, &p, on_connect, &c, &c.ws), 0);
    RUN_UNTIL(&loop, c.status != 1);
    T_CHECK(c.status < 0);
    T_CHECK(c.status != AG_EREFUSED);
    finish(&loop, &f, &c);
}

T_TEST(abandon_connect)
{
    uv_loop_t loop;
    struct fc f;
    struct cl c;
    struct proto_ws_params p;
    char url[128];

    /* Free right after starting: no callback, nothing leaks, the loop drains. */
    uv_loop_init(&loop);
    fc_start(&f, &loop, FC_OK, 0);
    client_init(&c, &loop, &f);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", f.port);
    params(&p, url);
    T_EQ_INT(proto_ws_connect(&loop, &p, on_connect, &c, &c.ws), 0);
    finish(&loop, &f, &c);
    T_EQ_INT(c.status, 1);
}

T_TEST(abandon_during_handshake)
{
    uv_loop_t loop;
    struct fc f;
    struct cl c;
    struct proto_ws_params p;
    char url[128];

    /* Free while lws waits for the 101: lws must close the socket on its own. */
    uv_loop_init(&loop);
    fc_start(&f, &loop, FC_SILENT, 0);
    client_init(&c, &loop, &f);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", f.port);
    params(&p, url);
    T_EQ_INT(proto_ws_connect(&loop, &p, on_connect, &c, &c.ws), 0);
    RUN_UNTIL(&loop, f.got_request);
    proto_ws_free(c.ws);
    c.ws = NULL;
    finish(&loop, &f, &c);
    T_EQ_INT(c.status, 1);
}

T_TEST(backpressure)
{
    uv_loop_t loop;
    struct fc f;
    struct cl c;
    struct proto_ws_params p;
    char url[128];
    struct proto_link *link;
    static uint8_t cmd[8000];
    size_t i;
    size_t sent = 0;

    uv_loop_init(&loop);
    fc_start(&f, &loop, FC_OK, 0);
    client_init(&c, &loop, &f);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", f.port);
    params(&p, url);
    T_EQ_INT(proto_ws_connect(&loop, &p, on_connect, &c, &c.ws), 0);
    RUN_UNTIL(&loop, c.status != 1);
    T_EQ_INT(c.status, 0);
    link = proto_ws_link(c.ws);
    T_EQ_U64(link->high_water, PROTO_WS_HIGH_WATER);
    /* 2 MB at once: over the high-water mark until lws has taken it; on_drain fires once. */
    for (i = 0; i < 256; i++) {
        struct ag_iov v = {cmd, sizeof(cmd)};
        T_EQ_INT(proto_link_send(link, v), 0);
        sent += sizeof(cmd);
    }
    T_EQ_U64(link->queued, sent);
    T_CHECK(link->queued > link->high_water);
    /* The hard cap is checked before anything is copied. */
    {
        struct ag_iov huge = {cmd, PROTO_WS_MAX_QUEUED};
        T_EQ_INT(proto_link_send(link, huge), AG_ELIMIT);
    }
    RUN_UNTIL(&loop, c.drains == 1 && f.bin_bytes == sent + 2 * 256);
    T_EQ_U64(link->queued, 0);
    T_EQ_INT(c.drains, 1);
    proto_link_close(link);
    RUN_UNTIL(&loop, c.closed);
    T_EQ_INT(c.close_code, 0);
    finish(&loop, &f, &c);
}

T_TEST(bad_params)
{
    uv_loop_t loop;
    struct proto_ws_params p;
    struct proto_ws *ws = NULL;
    const char *bad_hdr[] = {"NoEquals"};

    uv_loop_init(&loop);
    params(&p, "ftp://x/");
    T_EQ_INT(proto_ws_connect(&loop, &p, on_connect, NULL, &ws), AG_EUSAGE);
    T_CHECK(ws == NULL);
    params(&p, "http://x/");
    p.extra_headers = bad_hdr;
    p.n_extra_headers = 1;
    T_EQ_INT(proto_ws_connect(&loop, &p, on_connect, NULL, &ws), AG_EUSAGE);
    params(&p, "http://x/");
    p.secret = "a\r\nb";
    T_EQ_INT(proto_ws_connect(&loop, &p, on_connect, NULL, &ws), AG_EUSAGE);
    proto_ws_shutdown(&loop);
    T_EQ_INT(uv_run(&loop, UV_RUN_DEFAULT), 0);
    T_EQ_INT(uv_loop_close(&loop), 0);
}

T_TEST(parse_url)
{
    struct proto_ws_url u;

    T_EQ_INT(proto_ws_parse_url("https://ci.example.com/jenkins/", &u), 0);
    T_CHECK(u.tls);
    T_EQ_STR(u.host, "ci.example.com");
    T_EQ_INT(u.port, 443);
    T_EQ_STR(u.path, "/jenkins/");
    T_EQ_INT(proto_ws_parse_url("http://[::1]:8080", &u), 0);
    T_EQ_STR(u.host, "::1");
    T_EQ_INT(u.port, 8080);
    T_EQ_STR(u.path, "/");
    T_EQ_INT(proto_ws_parse_url("http://h:0/", &u), AG_EUSAGE);
    T_EQ_INT(proto_ws_parse_url("http://h:99999/", &u), AG_EUSAGE);
    T_EQ_INT(proto_ws_parse_url("http://u@h/", &u), AG_EUSAGE);
    T_EQ_INT(proto_ws_parse_url("http:///", &u), AG_EUSAGE);
    T_EQ_INT(proto_ws_parse_url("ws://h/", &u), AG_EUSAGE);
}

T_TEST(check_101)
{
    struct proto_ws_101 r;
    struct ag_err err = {0};
    char cap[PROTO_CAPABILITY_B64_LEN + 1];

    proto_capability_encode(0x1FE, cap);
    T_EQ_INT(proto_ws_check_101(cap, strlen(cap), "3176.v207ec082a_8c0", 19, "abcd", 4,
                                "3355.v388858a_47b_33", &r, &err),
             0);
    T_EQ_U64(r.peer_capability, 0x1FE);
    T_CHECK(r.cap_note == NULL);
    T_CHECK(r.cookie_ok);
    T_EQ_STR(r.cookie, "abcd");
    T_EQ_STR(r.min_version, "3176.v207ec082a_8c0");
    /* Missing and garbage capability: default mask with a note. */
    T_EQ_INT(proto_ws_check_101(NULL, 0, NULL, 0, NULL, 0, NULL, &r, &err), 0);
    T_EQ_U64(r.peer_capability, 0x1FE);
    T_EQ_STR(r.cap_note, "Did not receive X-Remoting-Capability header");
    T_CHECK(!r.cookie_ok);
    T_EQ_INT(proto_ws_check_101("!!!!", 4, NULL, 0, "a b", 3, NULL, &r, &err), 0);
    T_CHECK(r.cap_note != NULL);
    T_CHECK(!r.cookie_ok);
    /* Newer minimum: refused, with agent.jar's message. */
    T_EQ_INT(proto_ws_check_101(NULL, 0, "3400.vabc", 9, NULL, 0, "3355.v388858a_47b_33", &r,
                                &err),
             AG_EREFUSED);
    T_EQ_STR(err.msg, "Agent version 3400.vabc or newer is required.");
    T_CHECK(!proto_ws_version_older("3355.v1", "3355.v2"));
    T_CHECK(proto_ws_version_older("3355.v1", "3356.v0"));
    T_CHECK(!proto_ws_version_older("3355.v1", "weird"));
}

T_MAIN(T_CASE(session), T_CASE(close_by_agent_and_missing_capability), T_CASE(abort_by_agent),
       T_CASE(refused_403), T_CASE(refused_400), T_CASE(minimum_version), T_CASE(preflight_ok),
       T_CASE(preflight_not_ready), T_CASE(connection_refused), T_CASE(abandon_connect),
       T_CASE(abandon_during_handshake), T_CASE(backpressure),
       T_CASE(bad_params), T_CASE(parse_url), T_CASE(check_101))
