#include "jnlp4.h"

#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "capability.h"
#include "chunk.h"
#include "dial.h"
#include "err.h"
#include "log.h"
#include "tls.h"
#include "util.h"

static const uint8_t k_ack[5] = {0x00, 0x03, 'A', 'C', 'K'};
static const uint8_t k_bye[5] = {0x00, 0x03, 'B', 'Y', 'E'};

/* ---- ACK ---- */

ssize_t
proto_jnlp4_ack_feed(struct proto_jnlp4_ack *a, const uint8_t *p, size_t n, struct ag_err *err)
{
    size_t used = 0;

    while (used < n && a->have < sizeof(k_ack)) {
        a->got[a->have] = p[used++];
        if (a->got[a->have] != k_ack[a->have]) {
            char hex[11];
            static const char digits[] = "0123456789abcdef";
            size_t k = 0;

            /* Like AckFilterLayer, show what arrived with it (up to the 5 ACK bytes). */
            while (used < n && a->have + 1 < sizeof(k_ack)) {
                a->got[++a->have] = p[used++];
            }
            for (size_t i = 0; i <= a->have; i++) {
                hex[k++] = digits[a->got[i] >> 4];
                hex[k++] = digits[a->got[i] & 15];
            }
            hex[k] = '\0';
            return ag_err_set(err, AG_EPROTO, a->have,
                              "Incorrect acknowledgement sequence, expected 0x000341434b got 0x%s",
                              hex);
        }
        a->have++;
    }
    return (ssize_t)used;
}

/* ---- connection headers JSON (ConnectionHeaders) ---- */

struct json_rd {
    const uint8_t *p;
    const uint8_t *end;
    const uint8_t *start;
};

static bool
json_ws(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\b';
}

static void
json_skip(struct json_rd *r)
{
    while (r->p < r->end && json_ws(*r->p)) {
        r->p++;
    }
}

static int
hexval(uint8_t c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Read a string into out (UTF-8, truncation flagged); r->p is at the opening quote. */
static int
json_string(struct json_rd *r, struct ag_buf *out, struct ag_err *err)
{
    r->p++;
    while (r->p < r->end) {
        uint8_t c = *r->p++;
        uint8_t enc[4];
        size_t el = 1;

        if (c == '"') {
            return 0;
        }
        if (c != '\\') {
            enc[0] = c;
        } else {
            if (r->p >= r->end) {
                break;
            }
            c = *r->p++;
            switch (c) {
            case '"':
            case '\\':
            case '/':
                enc[0] = c;
                break;
            case 'b':
                enc[0] = '\b';
                break;
            case 'f':
                enc[0] = '\f';
                break;
            case 'n':
                enc[0] = '\n';
                break;
            case 'r':
                enc[0] = '\r';
                break;
            case 't':
                enc[0] = '\t';
                break;
            case 'u': {
                uint32_t cp = 0;

                if (r->end - r->p < 4) {
                    return ag_err_set(err, AG_EPROTO, (uint64_t)(r->p - r->start),
                                      "truncated \\u escape in connection headers");
                }
                for (int i = 0; i < 4; i++) {
                    int h = hexval(r->p[i]);

                    if (h < 0) {
                        return ag_err_set(err, AG_EPROTO, (uint64_t)(r->p - r->start),
                                          "invalid \\u escape in connection headers");
                    }
                    cp = cp << 4 | (uint32_t)h;
                }
                r->p += 4;
                /* Java chars: a lone surrogate is kept as its 3-byte form, as Java would. */
                if (cp < 0x80) {
                    enc[0] = (uint8_t)cp;
                } else if (cp < 0x800) {
                    enc[0] = (uint8_t)(0xC0 | cp >> 6);
                    enc[1] = (uint8_t)(0x80 | (cp & 0x3F));
                    el = 2;
                } else {
                    enc[0] = (uint8_t)(0xE0 | cp >> 12);
                    enc[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
                    enc[2] = (uint8_t)(0x80 | (cp & 0x3F));
                    el = 3;
                }
                break;
            }
            default:
                return ag_err_set(err, AG_EPROTO, (uint64_t)(r->p - r->start - 1),
                                  "invalid escape \\%c in connection headers", c);
            }
        }
        if (out != NULL && ag_buf_append(out, enc, el) != 0) {
            return ag_err_set(err, AG_ELIMIT, (uint64_t)(r->p - r->start),
                              "connection header value exceeds %zu bytes", out->max);
        }
    }
    return ag_err_set(err, AG_EPROTO, (uint64_t)(r->p - r->start),
                      "unterminated string in connection headers");
}

int
proto_jnlp4_headers_parse(const uint8_t *json, size_t len, char cookie[PROTO_JNLP4_MAX_COOKIE + 1],
                          bool *has_cookie, struct ag_err *err)
{
    struct json_rd r = {json, json + len, json};
    struct ag_buf key;
    struct ag_buf val;
    int rc = 0;

    *has_cookie = false;
    cookie[0] = '\0';
    ag_buf_init(&key, 65536);
    ag_buf_init(&val, 65536);
    json_skip(&r);
    if (r.p >= r.end || *r.p != '{') {
        rc = ag_err_set(err, AG_EPROTO, (uint64_t)(r.p - json),
                        "connection headers do not start with '{'");
        goto out;
    }
    r.p++;
    json_skip(&r);
    if (r.p < r.end && *r.p == '}') {
        r.p++;
        goto tail;
    }
    for (;;) {
        bool is_null = false;

        key.len = 0;
        val.len = 0;
        json_skip(&r);
        if (r.p >= r.end || *r.p != '"') {
            rc = ag_err_set(err, AG_EPROTO, (uint64_t)(r.p - json),
                            "expected a key in connection headers");
            goto out;
        }
        rc = json_string(&r, &key, err);
        if (rc != 0) {
            goto out;
        }
        json_skip(&r);
        if (r.p >= r.end || *r.p != ':') {
            rc = ag_err_set(err, AG_EPROTO, (uint64_t)(r.p - json),
                            "expected ':' in connection headers");
            goto out;
        }
        r.p++;
        json_skip(&r);
        if (r.end - r.p >= 4 && memcmp(r.p, "null", 4) == 0) {
            r.p += 4;
            is_null = true;
        } else if (r.p < r.end && *r.p == '"') {
            rc = json_string(&r, &val, err);
            if (rc != 0) {
                goto out;
            }
        } else {
            rc = ag_err_set(err, AG_EPROTO, (uint64_t)(r.p - json),
                            "connection header values must be strings or null");
            goto out;
        }
        if (key.len == 24 && memcmp(key.data, "JnlpAgentProtocol.cookie", 24) == 0) {
            /* Last one wins, like the Java map. */
            *has_cookie = false;
            if (!is_null) {
                if (val.len > PROTO_JNLP4_MAX_COOKIE || memchr(val.data, 0, val.len) != NULL) {
                    rc = ag_err_set(err, AG_ELIMIT, (uint64_t)(r.p - json),
                                    "cookie of %zu bytes exceeds %u or holds NUL", val.len,
                                    PROTO_JNLP4_MAX_COOKIE);
                    goto out;
                }
                if (val.len > 0) {
                    memcpy(cookie, val.data, val.len);
                }
                cookie[val.len] = '\0';
                *has_cookie = true;
            }
        }
        json_skip(&r);
        if (r.p < r.end && *r.p == ',') {
            r.p++;
            continue;
        }
        if (r.p < r.end && *r.p == '}') {
            r.p++;
            break;
        }
        rc = ag_err_set(err, AG_EPROTO, (uint64_t)(r.p - json),
                        "expected ',' or '}' in connection headers");
        goto out;
    }
tail:
    json_skip(&r);
    if (r.p != r.end) {
        rc = ag_err_set(err, AG_EPROTO, (uint64_t)(r.p - json),
                        "junk after the connection headers object");
    }
out:
    ag_buf_fini(&key);
    ag_buf_fini(&val);
    return rc;
}

static int
json_put(struct ag_buf *o, const char *s)
{
    int rc = ag_buf_append_u8(o, '"');

    for (const uint8_t *p = (const uint8_t *)s; rc == 0 && *p != '\0'; p++) {
        switch (*p) {
        case '\b':
            rc = ag_buf_append(o, "\\b", 2);
            break;
        case '\t':
            rc = ag_buf_append(o, "\\t", 2);
            break;
        case '\f':
            rc = ag_buf_append(o, "\\f", 2);
            break;
        case '\n':
            rc = ag_buf_append(o, "\\n", 2);
            break;
        case '\r':
            rc = ag_buf_append(o, "\\r", 2);
            break;
        case '"':
            rc = ag_buf_append(o, "\\\"", 2);
            break;
        case '\\':
            rc = ag_buf_append(o, "\\\\", 2);
            break;
        default:
            if (*p < 0x20) {
                rc = ag_buf_printf(o, "\\u%04x", (unsigned)*p);
            } else {
                rc = ag_buf_append_u8(o, *p);
            }
        }
    }
    if (rc == 0) {
        rc = ag_buf_append_u8(o, '"');
    }
    return rc;
}

int
proto_jnlp4_headers_write(struct ag_buf *out, const char *name, const char *secret,
                          const char *cookie)
{
    size_t start = out->len;
    size_t len;
    int rc = ag_buf_append_be16(out, 0); /* patched below */

    if (rc == 0) {
        rc = ag_buf_append_u8(out, '{');
    }
    if (rc == 0 && cookie != NULL) {
        rc = json_put(out, "JnlpAgentProtocol.cookie");
        rc = rc != 0 ? rc : ag_buf_append_u8(out, ':');
        rc = rc != 0 ? rc : json_put(out, cookie);
        rc = rc != 0 ? rc : ag_buf_append_u8(out, ',');
    }
    rc = rc != 0 ? rc : json_put(out, "Node-Name");
    rc = rc != 0 ? rc : ag_buf_append_u8(out, ':');
    rc = rc != 0 ? rc : json_put(out, name);
    rc = rc != 0 ? rc : ag_buf_append(out, ",", 1);
    rc = rc != 0 ? rc : json_put(out, "Secret-Key");
    rc = rc != 0 ? rc : ag_buf_append_u8(out, ':');
    rc = rc != 0 ? rc : json_put(out, secret);
    rc = rc != 0 ? rc : ag_buf_append_u8(out, '}');
    if (rc != 0) {
        out->len = start;
        return rc;
    }
    len = out->len - start - 2;
    if (len > 0xFFFF) {
        out->len = start;
        return AG_ELIMIT;
    }
    out->data[start] = (uint8_t)(len >> 8);
    out->data[start + 1] = (uint8_t)len;
    return 0;
}

/* ---- the controller's frame sequence ---- */

void
proto_jnlp4_peer_init(struct proto_jnlp4_peer *p)
{
    memset(p, 0, sizeof(*p));
    ag_buf_init(&p->frame, 0xFFFF);
}

void
proto_jnlp4_peer_fini(struct proto_jnlp4_peer *p)
{
    ag_buf_fini(&p->frame);
}

static int
peer_frame(struct proto_jnlp4_peer *p, enum proto_jnlp4_event *ev, struct ag_err *err)
{
    const uint8_t *f = p->frame.data;
    size_t n = p->frame.len;
    uint64_t at = p->offset;
    int rc;

    switch (p->stage) {
    case 0:
        rc = proto_jnlp4_headers_parse(f != NULL ? f : (const uint8_t *)"", n, p->cookie,
                                       &p->has_cookie, err);
        if (rc != 0) {
            return rc;
        }
        p->stage = 1;
        *ev = PROTO_JNLP4_EV_HEADERS;
        return 0;
    case 1:
        if (n == 2 && memcmp(f, "OK", 2) == 0) {
            p->stage = 2;
            *ev = PROTO_JNLP4_EV_ACCEPTED;
            return 0;
        }
        if (n >= 7 && (memcmp(f, "ERROR: ", 7) == 0 || memcmp(f, "FATAL: ", 7) == 0)) {
            p->fatal = f[0] == 'F';
            ag_escape(p->message, sizeof(p->message), f + 7, n - 7, PROTO_JNLP4_MAX_MESSAGE - 4);
            p->stage = 3;
            *ev = PROTO_JNLP4_EV_REFUSED;
            return 0;
        }
        {
            char shown[80];

            ag_escape(shown, sizeof(shown), f != NULL ? f : (const uint8_t *)"", n, 60);
            return ag_err_set(err, AG_EPROTO, at, "unexpected response to our headers: \"%s\"",
                              shown);
        }
    case 2: {
        uint64_t mask = 0;
        struct ag_err cerr = {0};

        rc = proto_capability_parse((const char *)(f != NULL ? f : (const uint8_t *)""), n,
                                    &mask, &cerr);
        if (rc == AG_ENOTSUP) {
            mask = PROTO_CAPABILITY_DEFAULT;
            p->capability_fallback = true;
        } else if (rc != 0) {
            return ag_err_set(err, rc, at, "%s", cerr.msg);
        }
        p->capability = mask;
        p->stage = 3;
        *ev = PROTO_JNLP4_EV_CAPABILITY;
        return 0;
    }
    default:
        break;
    }
    return ag_err_set(err, AG_EINTERNAL, at, "frame after the handshake");
}

ssize_t
proto_jnlp4_peer_feed(struct proto_jnlp4_peer *p, const uint8_t *data, size_t n,
                      enum proto_jnlp4_event *ev, struct ag_err *err)
{
    size_t used = 0;

    *ev = PROTO_JNLP4_EV_NONE;
    while (used < n && p->stage < 3) {
        if (!p->in_frame) {
            p->len_buf[p->len_have++] = data[used++];
            if (p->len_have < 2) {
                continue;
            }
            p->len_have = 0;
            p->need = (size_t)p->len_buf[0] << 8 | p->len_buf[1];
            p->in_frame = true;
            p->frame.len = 0;
            /* The capability is 84 bytes; a huge one is not a Capability. */
            if (p->stage == 2 && p->need > 680) {
                return ag_err_set(err, AG_ELIMIT, p->offset + used - 2,
                                  "capability frame of %zu bytes exceeds limit 680", p->need);
            }
        }
        if (p->need > 0) {
            size_t take = n - used < p->need ? n - used : p->need;

            if (ag_buf_append(&p->frame, data + used, take) != 0) {
                return ag_err_set(err, AG_ENOMEM, p->offset + used, "out of memory");
            }
            used += take;
            p->need -= take;
        }
        if (p->need == 0) {
            int rc;

            p->in_frame = false;
            rc = peer_frame(p, ev, err);
            if (rc != 0) {
                return rc;
            }
            break;
        }
    }
    p->offset += used;
    return (ssize_t)used;
}

/* ---- the connection ---- */

enum jnlp4_state {
    J_DIALING = 0,
    J_ACK = 1,
    J_TLS = 2,
    J_HEADERS = 3,
    J_VERDICT = 4,
    J_CAPABILITY = 5,
    J_OPEN = 6,
    J_CLOSING = 7, /* flushing before an orderly close, or after a refusal */
    J_CLOSED = 8,
};

static const char *const k_step_names[] = {
    "connect", "ack", "tls", "headers", "verdict", "capability", "open", "closing", "closed",
};

struct proto_jnlp4 {
    struct proto_link link;
    uv_loop_t *loop;
    enum jnlp4_state state;
    enum jnlp4_state failed_in;
    bool freed;
    bool refused;
    bool connected; /* the connect callback reported success */
    bool paused;
    bool over_high;
    bool close_requested; /* proto_link_close: finish once writes drain */
    bool aborted;         /* proto_link_abort: socket closed, on_closed comes from the kick */
    int handles_open;     /* the two embedded timers */
    int writes_pending;
    uv_timer_t deadline; /* the current step's deadline */
    uv_timer_t kick;     /* deferred work: resume after pause, close notifications */
    struct proto_dial *dial; /* in flight, or NULL */
    uv_tcp_t *tcp;           /* owned once dialled */
    struct proto_tls *tls;   /* owned */
    struct proto_jnlp4_ack ack;
    struct proto_jnlp4_peer peer;
    struct proto_chunk_dec chunks;
    struct ag_buf pending; /* owned: plaintext received while paused */
    struct ag_buf out;     /* owned: scratch for ciphertext and frames */
    /* from the parameters (copies) */
    char host[256];
    uint16_t port;
    bool has_proxy;
    struct proto_dial_proxy proxy;
    uint8_t *identity;
    size_t identity_len;
    char *name;
    char *secret; /* owned; scrubbed on free */
    char *cookie_sent;
    bool proxy_protocol;
    bool keepalive;
    SSL_CTX *tls_ctx;
    uint64_t ack_ms;
    uint64_t handshake_ms;
    proto_jnlp4_connect_cb cb;
    proto_jnlp4_gone_cb gone;
    void *arg;
    int close_code;
    char close_why[PROTO_JNLP4_MAX_MESSAGE + 64];
    char tls_info[96];
    uint8_t rbuf[65536];
    uint8_t pbuf[16384];
};

static const struct proto_link_vtbl k_vtbl;
static void process_plain(struct proto_jnlp4 *j, const uint8_t *p, size_t n);
static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf);
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void
release(struct proto_jnlp4 *j)
{
    proto_tls_free(j->tls);
    proto_jnlp4_peer_fini(&j->peer);
    proto_chunk_dec_fini(&j->chunks);
    ag_buf_fini(&j->pending);
    ag_buf_fini(&j->out);
    ag_free(j->identity);
    ag_free(j->name);
    if (j->secret != NULL) {
        memset(j->secret, 0, strlen(j->secret));
        ag_free(j->secret);
    }
    ag_free(j->cookie_sent);
    ag_free(j);
}

static void
maybe_release(struct proto_jnlp4 *j)
{
    if (j->freed && j->handles_open == 0 && j->writes_pending == 0) {
        release(j);
    }
}

static void
on_handle_closed(uv_handle_t *h)
{
    struct proto_jnlp4 *j = h->data;

    j->handles_open--;
    maybe_release(j);
}

static void
close_socket(struct proto_jnlp4 *j)
{
    if (j->dial != NULL) {
        proto_dial_cancel(j->dial);
        j->dial = NULL;
    }
    if (j->tcp != NULL) {
        uv_read_stop((uv_stream_t *)j->tcp);
        proto_dial_close_tcp(j->tcp); /* pending writes complete with ECANCELED */
        j->tcp = NULL;
    }
}

void
proto_jnlp4_free(struct proto_jnlp4 *j)
{
    if (j == NULL || j->freed) {
        return;
    }
    j->freed = true;
    j->state = J_CLOSED;
    close_socket(j);
    uv_close((uv_handle_t *)&j->deadline, on_handle_closed);
    uv_close((uv_handle_t *)&j->kick, on_handle_closed);
}

/* The end of the connection: report once, to whoever is listening at this stage. */
static void
fail(struct proto_jnlp4 *j, int code, const char *why)
{
    enum jnlp4_state was = j->state;

    if (was == J_CLOSED || j->freed) {
        return;
    }
    if (j->failed_in == J_DIALING && was != J_DIALING && was != J_CLOSING) {
        j->failed_in = was;
    }
    if (was == J_CLOSING && j->close_why[0] != '\0') {
        /* A refusal: report the controller's reason, not the close that followed it. */
        code = j->close_code;
        why = j->close_why;
    }
    j->state = J_CLOSED;
    uv_timer_stop(&j->deadline);
    uv_timer_stop(&j->kick);
    close_socket(j);
    if (!j->connected) {
        j->cb(j, code, why, j->arg);
        return;
    }
    if (j->link.on_closed != NULL) {
        j->link.on_closed(&j->link, code, why, j->link.cb_arg);
    }
    if (!j->freed && j->gone != NULL) {
        j->gone(j, code, why, j->arg);
    }
}

static void
on_deadline(uv_timer_t *t)
{
    struct proto_jnlp4 *j = t->data;
    char why[400];

    switch (j->state) {
    case J_DIALING:
        (void)snprintf(why, sizeof(why), "connect to %s:%u timed out after %u s", j->host,
                       (unsigned)j->port, PROTO_JNLP4_CONNECT_MS / 1000);
        break;
    case J_ACK:
        (void)snprintf(why, sizeof(why), "Timeout waiting for ACK");
        break;
    case J_CLOSING:
        fail(j, j->close_code, j->close_why);
        return;
    case J_TLS:
    case J_HEADERS:
    case J_VERDICT:
    case J_CAPABILITY:
    case J_OPEN:
    case J_CLOSED:
    default:
        (void)snprintf(why, sizeof(why), "no answer from the controller within %llu ms during the "
                       "%s step",
                       (unsigned long long)j->handshake_ms, k_step_names[j->state]);
        break;
    }
    fail(j, AG_ETIMEDOUT, why);
}

static void
set_deadline(struct proto_jnlp4 *j, uint64_t ms)
{
    (void)uv_timer_start(&j->deadline, on_deadline, ms, 0);
}

static void
on_written(uv_write_t *w, int status)
{
    struct proto_jnlp4 *j = w->data;
    size_t len = ((uv_buf_t *)(void *)(w + 1))->len;

    ag_free(w);
    j->writes_pending--;
    if (j->freed) {
        maybe_release(j);
        return;
    }
    j->link.queued = j->link.queued >= len ? j->link.queued - len : 0;
    if (j->state == J_CLOSED) {
        return;
    }
    if (status < 0 && !j->aborted) {
        char why[96];

        (void)snprintf(why, sizeof(why), "write to the controller failed: %s",
                       uv_strerror(status));
        fail(j, status, why);
        return;
    }
    if (j->state == J_CLOSING && j->writes_pending == 0) {
        if (j->close_requested) {
            fail(j, 0, "closed by the agent");
        }
        /* after a refusal: wait for the controller to close, or the deadline */
        return;
    }
    if (j->over_high && j->link.queued < PROTO_JNLP4_LOW_WATER) {
        j->over_high = false;
        if (j->link.on_drain != NULL) {
            j->link.on_drain(&j->link, j->link.cb_arg);
        }
    }
}

/* Hand bytes to the socket: plaintext before TLS, else whatever TLS has produced. */
static int
write_raw(struct proto_jnlp4 *j, const uint8_t *p, size_t n)
{
    uv_write_t *w;
    uv_buf_t *b;
    int rc;

    if (n == 0) {
        return 0;
    }
    /* One allocation: the request, the buffer descriptor, the bytes. */
    w = ag_malloc(sizeof(*w) + sizeof(*b) + n);
    if (w == NULL) {
        return AG_ENOMEM;
    }
    b = (uv_buf_t *)(void *)(w + 1);
    memcpy(b + 1, p, n);
    *b = uv_buf_init((char *)(b + 1), (unsigned)n);
    w->data = j;
    rc = uv_write(w, (uv_stream_t *)j->tcp, b, 1, on_written);
    if (rc != 0) {
        ag_free(w);
        return rc;
    }
    j->writes_pending++;
    j->link.queued += n;
    return 0;
}

static int
flush_tls(struct proto_jnlp4 *j)
{
    int rc;

    while (proto_tls_out_pending(j->tls) > 0) {
        j->out.len = 0;
        rc = proto_tls_take_out(j->tls, &j->out, 256 * 1024);
        if (rc != 0) {
            return rc;
        }
        rc = write_raw(j, j->out.data, j->out.len);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

static int
send_plain(struct proto_jnlp4 *j, const uint8_t *p, size_t n)
{
    struct ag_err err = {0};
    int rc = proto_tls_write(j->tls, p, n, &err);

    return rc != 0 ? rc : flush_tls(j);
}

static int
send_frame16(struct proto_jnlp4 *j, const char *s, size_t n)
{
    uint8_t buf[2 + 256];

    if (n > 256) {
        return AG_EINTERNAL;
    }
    buf[0] = (uint8_t)(n >> 8);
    buf[1] = (uint8_t)n;
    memcpy(buf + 2, s, n);
    return send_plain(j, buf, n + 2);
}

static void
on_kick(uv_timer_t *t)
{
    struct proto_jnlp4 *j = t->data;

    if (j->state == J_CLOSING && (j->aborted || (j->close_requested && j->writes_pending == 0))) {
        fail(j, 0, j->aborted ? "aborted by the agent" : "closed by the agent");
        return;
    }
    if (j->state == J_OPEN && !j->paused && j->pending.len > 0) {
        struct ag_buf held = j->pending;

        /* Deliver what arrived while paused; process_plain may pause again and re-buffer. */
        ag_buf_init(&j->pending, held.max);
        process_plain(j, held.data, held.len);
        ag_buf_fini(&held);
    }
    if (!j->freed && j->state == J_OPEN && !j->paused && j->pending.len == 0 && j->tcp != NULL) {
        /* Decrypt what TLS still holds, then read the socket again. */
        for (;;) {
            struct ag_err err = {0};
            ssize_t n = proto_tls_read(j->tls, j->pbuf, sizeof(j->pbuf), &err);

            if (n == 0) {
                break;
            }
            if (n < 0) {
                fail(j, (int)n, err.msg);
                return;
            }
            process_plain(j, j->pbuf, (size_t)n);
            if (j->freed || j->state != J_OPEN || j->paused) {
                return;
            }
        }
        (void)uv_read_start((uv_stream_t *)j->tcp, on_alloc, on_read);
    }
}

/* ---- the link ---- */

static int
link_send(struct proto_link *link, struct ag_iov cmd)
{
    struct proto_jnlp4 *j = AG_CONTAINER_OF(link, struct proto_jnlp4, link);
    size_t need = proto_chunk_encoded_len(cmd.len);
    int rc;

    if (j->state != J_OPEN || j->close_requested) {
        return AG_ECLOSED;
    }
    if (j->link.queued + need > PROTO_JNLP4_MAX_QUEUED) {
        return AG_ELIMIT;
    }
    j->out.len = 0;
    rc = proto_chunk_encode(&j->out, cmd);
    if (rc != 0) {
        return rc;
    }
    AG_TRACE(AG_TRACE_CHUNK, "send command of %zu bytes in %zu chunk(s)", cmd.len,
             (cmd.len + PROTO_CHUNK_SEND_LEN - 1) / PROTO_CHUNK_SEND_LEN);
    {
        struct ag_err err = {0};

        rc = proto_tls_write(j->tls, j->out.data, j->out.len, &err);
    }
    if (rc == 0) {
        rc = flush_tls(j);
    }
    if (rc != 0) {
        return rc;
    }
    if (!j->over_high && j->link.queued > j->link.high_water) {
        j->over_high = true;
    }
    return 0;
}

static void
link_pause(struct proto_link *link, bool paused)
{
    struct proto_jnlp4 *j = AG_CONTAINER_OF(link, struct proto_jnlp4, link);

    if (j->state != J_OPEN || j->paused == paused) {
        return;
    }
    j->paused = paused;
    if (paused) {
        uv_read_stop((uv_stream_t *)j->tcp);
        return;
    }
    /* Resume from the loop, never from inside the caller's stack. */
    (void)uv_timer_start(&j->kick, on_kick, 0, 0);
}

static void
link_close(struct proto_link *link)
{
    struct proto_jnlp4 *j = AG_CONTAINER_OF(link, struct proto_jnlp4, link);

    if (j->state != J_OPEN) {
        return;
    }
    j->close_requested = true;
    j->state = J_CLOSING;
    uv_read_stop((uv_stream_t *)j->tcp);
    proto_tls_shutdown(j->tls);
    if (flush_tls(j) != 0 || j->writes_pending == 0) {
        (void)uv_timer_start(&j->kick, on_kick, 0, 0);
    }
    set_deadline(j, PROTO_JNLP4_ACK_MS);
}

/* The peer is dead: close the socket now (queued writes are cancelled, no TLS close_notify);
 * on_closed follows from the kick timer. */
static void
link_abort(struct proto_link *link)
{
    struct proto_jnlp4 *j = AG_CONTAINER_OF(link, struct proto_jnlp4, link);

    if ((j->state != J_OPEN && !(j->state == J_CLOSING && j->close_requested)) || j->aborted) {
        return;
    }
    j->aborted = true;
    j->close_requested = true;
    j->state = J_CLOSING;
    uv_timer_stop(&j->deadline);
    close_socket(j);
    (void)uv_timer_start(&j->kick, on_kick, 0, 0);
}

static const struct proto_link_vtbl k_vtbl = {
    .name = PROTO_JNLP4_NAME,
    .send = link_send,
    .pause_read = link_pause,
    .close = link_close,
    .abort = link_abort,
};

/* ---- reading ---- */

static void
deliver(struct proto_jnlp4 *j, const uint8_t *p, size_t n)
{
    while (n > 0 && !j->freed && j->state == J_OPEN) {
        struct ag_err err = {0};
        struct ag_iov cmd;
        ssize_t k;

        if (j->paused) {
            if (ag_buf_append(&j->pending, p, n) != 0) {
                fail(j, AG_ELIMIT, "too much input buffered while paused");
            }
            return;
        }
        k = proto_chunk_feed(&j->chunks, p, n, &err);
        if (k < 0) {
            char why[256];

            AG_LOG_WARN("jnlp4", "%s at offset %llu", err.msg, (unsigned long long)err.offset);
            (void)snprintf(why, sizeof(why), "invalid framing from the controller: %s", err.msg);
            fail(j, (int)k, why);
            return;
        }
        p += k;
        n -= (size_t)k;
        if (proto_chunk_next(&j->chunks, &cmd)) {
            AG_TRACE(AG_TRACE_CHUNK, "received command of %zu bytes in %llu chunk(s)", cmd.len,
                     (unsigned long long)j->chunks.chunks);
            if (j->link.on_command != NULL) {
                j->link.on_command(&j->link, cmd, j->link.cb_arg);
            }
        }
    }
}

static void
process_plain(struct proto_jnlp4 *j, const uint8_t *p, size_t n)
{
    while (n > 0 && !j->freed) {
        struct ag_err err = {0};
        enum proto_jnlp4_event ev = PROTO_JNLP4_EV_NONE;
        ssize_t k;
        int rc = 0;

        if (j->state == J_OPEN) {
            deliver(j, p, n);
            return;
        }
        if (j->state != J_HEADERS && j->state != J_VERDICT && j->state != J_CAPABILITY) {
            return; /* closing: ignore what follows */
        }
        k = proto_jnlp4_peer_feed(&j->peer, p, n, &ev, &err);
        if (k < 0) {
            char why[256];

            (void)snprintf(why, sizeof(why), "invalid %s from the controller: %s",
                           k_step_names[j->state], err.msg);
            fail(j, (int)k, why);
            return;
        }
        p += k;
        n -= (size_t)k;
        switch (ev) {
        case PROTO_JNLP4_EV_NONE:
            break;
        case PROTO_JNLP4_EV_HEADERS:
            /* #7: our verdict on its headers; agent.jar approves any. */
            rc = send_frame16(j, "OK", 2);
            j->state = J_VERDICT;
            break;
        case PROTO_JNLP4_EV_ACCEPTED: {
            char cap[PROTO_CAPABILITY_B64_LEN + 1];

            proto_capability_encode(j->link.our_capability, cap);
            rc = send_frame16(j, cap, PROTO_CAPABILITY_B64_LEN);
            j->state = J_CAPABILITY;
            break;
        }
        case PROTO_JNLP4_EV_REFUSED:
            /* 4.8: confirm with BYE, send nothing more, close when the peer does (or 10 s). */
            j->refused = true;
            j->failed_in = J_VERDICT;
            j->close_code = AG_EREFUSED;
            (void)snprintf(j->close_why, sizeof(j->close_why), "%s", j->peer.message);
            rc = send_plain(j, k_bye, sizeof(k_bye));
            j->state = J_CLOSING;
            set_deadline(j, PROTO_JNLP4_ACK_MS);
            if (rc != 0) {
                fail(j, j->close_code, j->close_why);
            }
            return;
        case PROTO_JNLP4_EV_CAPABILITY:
            j->link.peer_capability = j->peer.capability;
            if (j->peer.capability_fallback) {
                AG_LOG_WARN("jnlp4", "the controller's capability has an unknown form; assuming "
                                     "0x%x",
                            PROTO_CAPABILITY_DEFAULT);
            }
            uv_timer_stop(&j->deadline);
            j->state = J_OPEN;
            j->connected = true;
            j->cb(j, 0, NULL, j->arg);
            break;
        }
        if (rc != 0) {
            fail(j, rc, "cannot send to the controller");
            return;
        }
    }
}

static void
tls_established(struct proto_jnlp4 *j)
{
    const uint8_t *spki = NULL;
    size_t spki_len = 0;
    int rc;

    /* agent.jar checks the key a second time after the handshake. */
    if (proto_tls_peer_spki(j->tls, &spki, &spki_len) != 0 || spki_len != j->identity_len ||
        !ag_mem_equal_ct(spki, j->identity, spki_len)) {
        fail(j, AG_EREFUSED, "the controller's public key is not the instance identity");
        return;
    }
    (void)snprintf(j->tls_info, sizeof(j->tls_info), "%s %s", proto_tls_version(j->tls),
                   proto_tls_cipher(j->tls));
    j->out.len = 0;
    rc = proto_jnlp4_headers_write(&j->out, j->name, j->secret, j->cookie_sent);
    if (rc == 0) {
        struct ag_buf hdr = j->out;

        /* send_plain reuses j->out for ciphertext, so move the frame aside first. */
        ag_buf_init(&j->out, SIZE_MAX);
        rc = send_plain(j, hdr.data, hdr.len);
        memset(hdr.data, 0, hdr.len); /* it held the secret */
        ag_buf_fini(&hdr);
    }
    if (rc != 0) {
        fail(j, rc, "cannot send the connection headers");
        return;
    }
    j->state = J_HEADERS;
}

static void
on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    struct proto_jnlp4 *j = h->data;

    (void)hint;
    buf->base = (char *)j->rbuf;
    buf->len = sizeof(j->rbuf);
}

static void
on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct proto_jnlp4 *j = s->data;
    const uint8_t *p = (const uint8_t *)buf->base;
    size_t n = nread > 0 ? (size_t)nread : 0;
    struct ag_err err = {0};
    int rc;

    if (nread == 0) {
        return;
    }
    if (nread < 0) {
        char why[160];

        if (nread == UV_EOF) {
            (void)snprintf(why, sizeof(why), "the controller closed the connection%s%s",
                           j->state < J_OPEN ? " during the " : "",
                           j->state < J_OPEN ? k_step_names[j->state] : "");
            fail(j, AG_ECLOSED, why);
        } else {
            (void)snprintf(why, sizeof(why), "read from the controller failed: %s",
                           uv_strerror((int)nread));
            fail(j, (int)nread, why);
        }
        return;
    }
    if (j->state == J_ACK) {
        ssize_t k = proto_jnlp4_ack_feed(&j->ack, p, n, &err);

        if (k < 0) {
            fail(j, (int)k, err.msg);
            return;
        }
        p += k;
        n -= (size_t)k;
        if (j->ack.have < sizeof(k_ack)) {
            return;
        }
        /* The ClientHello goes only after the whole ACK (4.3 #4). */
        j->state = J_TLS;
        set_deadline(j, j->handshake_ms);
        rc = proto_tls_handshake(j->tls, &err);
        if (rc < 0 || flush_tls(j) != 0) {
            fail(j, rc < 0 ? rc : AG_ENOMEM, err.msg);
            return;
        }
        if (n == 0) {
            return;
        }
    }
    if (j->state == J_CLOSING && !j->close_requested) {
        return; /* after a refusal: ignore everything until close */
    }
    rc = proto_tls_feed(j->tls, p, n, &err);
    if (rc != 0) {
        fail(j, rc, err.msg);
        return;
    }
    if (j->state == J_TLS) {
        rc = proto_tls_handshake(j->tls, &err);
        if (rc < 0) {
            (void)flush_tls(j); /* the alert */
            fail(j, rc, err.msg);
            return;
        }
        if (flush_tls(j) != 0) {
            fail(j, AG_ENOMEM, "cannot send TLS data");
            return;
        }
        if (rc == 1) {
            return;
        }
        tls_established(j);
    }
    while (!j->freed && (j->state == J_HEADERS || j->state == J_VERDICT ||
                         j->state == J_CAPABILITY || (j->state == J_OPEN && !j->paused))) {
        ssize_t k = proto_tls_read(j->tls, j->pbuf, sizeof(j->pbuf), &err);

        if (k == 0) {
            break;
        }
        if (k < 0) {
            fail(j, (int)k, err.msg);
            return;
        }
        process_plain(j, j->pbuf, (size_t)k);
    }
    if (!j->freed && j->tls != NULL && j->state != J_CLOSED && flush_tls(j) != 0) {
        fail(j, AG_ENOMEM, "cannot send TLS data");
    }
}

static void
on_dialled(struct proto_dial *d, int status, uv_tcp_t *tcp, const char *why, void *arg)
{
    struct proto_jnlp4 *j = arg;
    struct ag_buf pre;
    int rc;

    (void)d;
    j->dial = NULL;
    if (status != 0) {
        char msg[400];

        (void)snprintf(msg, sizeof(msg), "cannot connect to %s:%u: %s", j->host,
                       (unsigned)j->port, why);
        fail(j, status, msg);
        return;
    }
    j->tcp = tcp;
    tcp->data = j;
    j->state = J_ACK;
    set_deadline(j, j->ack_ms);
    rc = uv_read_start((uv_stream_t *)tcp, on_alloc, on_read);
    if (rc != 0) {
        fail(j, rc, "cannot read from the socket");
        return;
    }
    /* #1 and #2 (and the -proxy preamble, 4.10), in one write, without waiting. */
    ag_buf_init(&pre, 4096);
    if (j->proxy_protocol) {
        rc = ag_buf_append_be16(&pre, (uint16_t)strlen("Protocol:" PROTO_JNLP4_PROXY_NAME));
        rc = rc != 0 ? rc : ag_buf_printf(&pre, "Protocol:" PROTO_JNLP4_PROXY_NAME);
        rc = rc != 0 ? rc : ag_buf_printf(&pre, "Node-Name: %s\n\n", j->name);
    } else {
        rc = 0;
    }
    rc = rc != 0 ? rc : ag_buf_append_be16(&pre, (uint16_t)strlen("Protocol:" PROTO_JNLP4_NAME));
    rc = rc != 0 ? rc : ag_buf_printf(&pre, "Protocol:" PROTO_JNLP4_NAME);
    rc = rc != 0 ? rc : ag_buf_append(&pre, k_ack, sizeof(k_ack));
    rc = rc != 0 ? rc : write_raw(j, pre.data, pre.len);
    ag_buf_fini(&pre);
    if (rc != 0) {
        fail(j, rc, "cannot send the protocol preamble");
    }
}

int
proto_jnlp4_connect(uv_loop_t *loop, const struct proto_jnlp4_params *p,
                    proto_jnlp4_connect_cb cb, proto_jnlp4_gone_cb gone, void *arg,
                    struct proto_jnlp4 **out)
{
    struct proto_jnlp4 *j = ag_calloc(1, sizeof(*j));
    struct ag_err err = {0};
    int rc = AG_ENOMEM;

    if (j == NULL) {
        return AG_ENOMEM;
    }
    j->loop = loop;
    j->cb = cb;
    j->gone = gone;
    j->arg = arg;
    j->link.vt = &k_vtbl;
    j->link.our_capability = p->our_capability;
    j->link.high_water = PROTO_JNLP4_HIGH_WATER;
    j->port = p->port;
    j->proxy_protocol = p->proxy_protocol;
    j->keepalive = p->keepalive;
    j->tls_ctx = p->tls_ctx;
    j->ack_ms = p->step_ms != 0 ? p->step_ms : PROTO_JNLP4_ACK_MS;
    j->handshake_ms = p->step_ms != 0 ? p->step_ms : PROTO_JNLP4_HANDSHAKE_MS;
    proto_jnlp4_peer_init(&j->peer);
    proto_chunk_dec_init(&j->chunks, PROTO_JNLP4_MAX_COMMAND);
    ag_buf_init(&j->pending, PROTO_JNLP4_MAX_COMMAND);
    ag_buf_init(&j->out, SIZE_MAX);
    if (ag_snprintf(j->host, sizeof(j->host), "%s", p->host) != 0) {
        rc = AG_EUSAGE;
        goto fail_early;
    }
    if (p->proxy != NULL) {
        j->has_proxy = true;
        j->proxy = *p->proxy;
    }
    j->identity = ag_malloc(p->identity_len);
    j->name = ag_strdup(p->name);
    j->secret = ag_strdup(p->secret);
    j->cookie_sent = p->cookie != NULL ? ag_strdup(p->cookie) : NULL;
    if (j->identity == NULL || j->name == NULL || j->secret == NULL ||
        (p->cookie != NULL && j->cookie_sent == NULL)) {
        goto fail_early;
    }
    memcpy(j->identity, p->identity, p->identity_len);
    j->identity_len = p->identity_len;
    /* SNI as the JDK sends it: dotted, non-IP host names only (4.6). */
    rc = proto_tls_new(p->tls_ctx,
                       strchr(p->host, '.') != NULL && !proto_tls_host_is_ip(p->host) ? p->host
                                                                                      : NULL,
                       NULL, p->identity, p->identity_len, &j->tls, &err);
    if (rc != 0) {
        goto fail_early;
    }
    rc = uv_timer_init(loop, &j->deadline);
    if (rc != 0) {
        goto fail_early;
    }
    j->deadline.data = j;
    j->handles_open++;
    rc = uv_timer_init(loop, &j->kick);
    if (rc != 0) {
        j->freed = true;
        uv_close((uv_handle_t *)&j->deadline, on_handle_closed);
        return rc;
    }
    j->kick.data = j;
    j->handles_open++;
    set_deadline(j, PROTO_JNLP4_CONNECT_MS);
    rc = proto_dial_start(loop, p->host, p->port, j->has_proxy ? &j->proxy : NULL, p->keepalive,
                          on_dialled, j, &j->dial);
    if (rc != 0) {
        proto_jnlp4_free(j);
        return rc;
    }
    *out = j;
    return 0;
fail_early:
    release(j);
    return rc;
}

struct proto_link *
proto_jnlp4_link(struct proto_jnlp4 *j)
{
    return &j->link;
}

const char *
proto_jnlp4_cookie(const struct proto_jnlp4 *j)
{
    return j->peer.has_cookie ? j->peer.cookie : NULL;
}

const char *
proto_jnlp4_fingerprint(const struct proto_jnlp4 *j)
{
    return j->tls != NULL ? proto_tls_peer_fingerprint(j->tls) : "null";
}

bool
proto_jnlp4_refused(const struct proto_jnlp4 *j)
{
    return j->refused;
}

const char *
proto_jnlp4_step(const struct proto_jnlp4 *j)
{
    return k_step_names[j->failed_in];
}

const char *
proto_jnlp4_tls_info(const struct proto_jnlp4 *j)
{
    return j->tls_info;
}
