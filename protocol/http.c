#include "http.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "base64.h"
#include "dial.h"
#include "err.h"
#include "log.h"
#include "tls.h"
#include "util.h"
#include "version.h"

/* ---- URLs ---- */

int
proto_http_url_parse(const char *url, struct proto_http_url *u, struct ag_err *err)
{
    const char *p;
    const char *hs;
    const char *he;
    const char *port_s = NULL;
    size_t port_len = 0;
    const char *path;
    uint64_t port = 0;

    memset(u, 0, sizeof(*u));
    if (strncasecmp(url, "http://", 7) == 0) {
        p = url + 7;
        u->port = 80;
    } else if (strncasecmp(url, "https://", 8) == 0) {
        p = url + 8;
        u->tls = true;
        u->port = 443;
    } else {
        return ag_err_set(err, AG_EUSAGE, 0, "URL %.100s is not http:// or https://", url);
    }
    path = p + strcspn(p, "/?#");
    /* Drop user info; agent.jar takes credentials only from -credentials. */
    for (const char *at = p; at < path; at++) {
        if (*at == '@') {
            p = at + 1;
        }
    }
    hs = p;
    if (*hs == '[') {
        he = memchr(hs, ']', (size_t)(path - hs));
        if (he == NULL) {
            return ag_err_set(err, AG_EUSAGE, 0, "URL %.100s has an unterminated IPv6 address",
                              url);
        }
        if (he + 1 < path) {
            if (he[1] != ':') {
                return ag_err_set(err, AG_EUSAGE, 0, "URL %.100s has junk after ']'", url);
            }
            port_s = he + 2;
            port_len = (size_t)(path - port_s);
        }
        if ((size_t)(he - hs - 1) >= sizeof(u->host)) {
            return ag_err_set(err, AG_EUSAGE, 0, "host name in URL too long");
        }
        memcpy(u->host, hs + 1, (size_t)(he - hs - 1));
        he++;
    } else {
        const char *colon = memchr(hs, ':', (size_t)(path - hs));

        he = colon != NULL ? colon : path;
        if (colon != NULL) {
            port_s = colon + 1;
            port_len = (size_t)(path - port_s);
        }
        if ((size_t)(he - hs) >= sizeof(u->host)) {
            return ag_err_set(err, AG_EUSAGE, 0, "host name in URL too long");
        }
        memcpy(u->host, hs, (size_t)(he - hs));
    }
    if (u->host[0] == '\0') {
        return ag_err_set(err, AG_EUSAGE, 0, "URL %.100s has no host", url);
    }
    if (port_s != NULL && port_len > 0) {
        if (ag_parse_u64(port_s, port_len, 65535, &port) != 0 || port == 0) {
            return ag_err_set(err, AG_EUSAGE, 0, "URL %.100s has an invalid port", url);
        }
        u->port = (uint16_t)port;
    }
    if ((size_t)(path - hs) >= sizeof(u->hostport)) {
        return ag_err_set(err, AG_EUSAGE, 0, "host in URL too long");
    }
    /* Java sends the port in Host only when the URL names one. */
    memcpy(u->hostport, hs, (size_t)((port_s != NULL && port_len > 0 ? path : he) - hs));
    if (*path != '/') {
        u->path[0] = '/';
        if (ag_snprintf(u->path + 1, sizeof(u->path) - 1, "%s", path) != 0) {
            return ag_err_set(err, AG_EUSAGE, 0, "URL path too long");
        }
    } else if (ag_snprintf(u->path, sizeof(u->path), "%s", path) != 0) {
        return ag_err_set(err, AG_EUSAGE, 0, "URL path too long");
    }
    /* The fragment never goes on the wire. */
    u->path[strcspn(u->path, "#")] = '\0';
    return 0;
}

/* ---- redirects ---- */

/* Length of "scheme:" at the start of s (RFC 3986 scheme), or 0. */
static size_t
scheme_len(const char *s)
{
    size_t i = 0;

    if (!isalpha((uint8_t)s[0])) {
        return 0;
    }
    while (isalnum((uint8_t)s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.') {
        i++;
    }
    return s[i] == ':' ? i + 1 : 0;
}

int
proto_http_redirect(const char *cur, int status, const struct proto_http_resp *r, char *next,
                    size_t size, struct ag_err *err)
{
    const char *loc;
    size_t cs = scheme_len(cur);
    size_t ls;
    size_t auth_end;
    size_t keep;
    char shown[120];
    struct proto_http_url u;
    int rc;

    if (status < 300 || status > 307 || status == 304 || status == 305 || status == 306) {
        return 0;
    }
    loc = proto_http_resp_header(r, "Location");
    if (loc == NULL || cs == 0) {
        return 0;
    }
    for (const char *p = loc; *p != '\0'; p++) {
        if ((uint8_t)*p < 0x21 || (uint8_t)*p == 0x7f) {
            ag_escape(shown, sizeof(shown), (const uint8_t *)loc, strlen(loc), 100);
            return ag_err_set(err, AG_EPROTO, 0, "redirect %d to an invalid Location: %s", status,
                              shown);
        }
    }
    ls = scheme_len(loc);
    auth_end = cs + 2 + strcspn(cur + cs + 2, "/?#"); /* cur is "scheme://authority..." */
    if (ls > 0) {
        if (ls != cs || strncasecmp(loc, cur, cs) != 0) {
            return 0; /* another scheme (http -> https): Java does not follow */
        }
        keep = 0;
    } else if (loc[0] == '/' && loc[1] == '/') {
        keep = cs;
    } else if (loc[0] == '/') {
        keep = auth_end;
    } else if (loc[0] == '?') {
        keep = auth_end + strcspn(cur + auth_end, "?#");
    } else {
        const char *slash = NULL;
        size_t pe = auth_end + strcspn(cur + auth_end, "?#");

        for (size_t i = auth_end; i < pe; i++) {
            if (cur[i] == '/') {
                slash = cur + i;
            }
        }
        keep = slash != NULL ? (size_t)(slash - cur) + 1 : auth_end;
    }
    if (keep + strlen(loc) + (keep == auth_end && loc[0] != '/' && loc[0] != '?') + 1 > size) {
        return ag_err_set(err, AG_ELIMIT, 0, "redirect %d to a Location longer than %zu bytes",
                          status, size);
    }
    memcpy(next, cur, keep);
    next[keep] = '\0';
    if (keep == auth_end && loc[0] != '/' && loc[0] != '?') {
        strcat(next, "/"); /* a relative name under an empty path */
    }
    strcat(next, loc);
    next[strcspn(next, "#")] = '\0';
    rc = proto_http_url_parse(next, &u, NULL);
    if (rc != 0) {
        ag_escape(shown, sizeof(shown), (const uint8_t *)loc, strlen(loc), 100);
        return ag_err_set(err, AG_EPROTO, 0, "redirect %d to an invalid Location: %s", status,
                          shown);
    }
    return 1;
}

/* ---- response head parser ---- */

void
proto_http_parser_init(struct proto_http_parser *p)
{
    memset(p, 0, sizeof(*p));
    ag_buf_init(&p->head, PROTO_HTTP_MAX_HEAD + 1);
}

void
proto_http_parser_fini(struct proto_http_parser *p)
{
    ag_buf_fini(&p->head);
}

const char *
proto_http_resp_header(const struct proto_http_resp *r, const char *name)
{
    for (size_t i = 0; i < r->n_headers; i++) {
        if (strcasecmp(r->headers[i].name, name) == 0) {
            return r->headers[i].value;
        }
    }
    return NULL;
}

static bool
is_tchar(uint8_t c)
{
    return isalnum(c) || (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Parse the complete head in p->head (NUL-terminated, lines split in place). */
static int
parse_head(struct proto_http_parser *p, struct ag_err *err)
{
    char *s = (char *)p->head.data;
    char *end = s + p->head.len;
    char *line = s;
    bool first = true;
    uint64_t status = 0;

    while (line < end) {
        char *eol = memchr(line, '\n', (size_t)(end - line));
        size_t off = (size_t)(line - s);
        char *le;

        if (eol == NULL) {
            eol = end;
        }
        le = eol;
        if (le > line && le[-1] == '\r') {
            le--;
        }
        *le = '\0';
        for (char *c = line; c < le; c++) {
            if (*c == '\0' || *c == '\r') {
                return ag_err_set(err, AG_EPROTO, off, "control character 0x%02x in response "
                                  "head", (unsigned)(uint8_t)*c);
            }
        }
        if (first) {
            /* HTTP/1.x SP 3DIGIT [SP reason] */
            if (le - line < 12 || memcmp(line, "HTTP/1.", 7) != 0 || !isdigit((uint8_t)line[7]) ||
                line[8] != ' ' || ag_parse_u64(line + 9, 3, 999, &status) != 0 ||
                (le - line > 12 && line[12] != ' ') || status < 100) {
                char shown[80];

                ag_escape(shown, sizeof(shown), (const uint8_t *)line, (size_t)(le - line), 60);
                return ag_err_set(err, AG_EPROTO, 0, "invalid HTTP status line \"%s\"", shown);
            }
            p->resp.status = (int)status;
            p->resp.reason = le - line > 12 ? line + 13 : "";
            first = false;
        } else if (le > line) {
            char *colon = strchr(line, ':');
            char *v;
            char *ve = le;

            if (colon == NULL || colon == line) {
                return ag_err_set(err, AG_EPROTO, off, "header line without a name");
            }
            for (char *c = line; c < colon; c++) {
                if (!is_tchar((uint8_t)*c)) {
                    return ag_err_set(err, AG_EPROTO, off,
                                      "invalid character 0x%02x in header name",
                                      (unsigned)(uint8_t)*c);
                }
            }
            if (p->resp.n_headers >= PROTO_HTTP_MAX_HEADERS) {
                return ag_err_set(err, AG_ELIMIT, off, "more than %u response headers",
                                  PROTO_HTTP_MAX_HEADERS);
            }
            *colon = '\0';
            v = colon + 1;
            while (v < ve && (*v == ' ' || *v == '\t')) {
                v++;
            }
            while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) {
                ve--;
            }
            *ve = '\0';
            p->resp.headers[p->resp.n_headers].name = line;
            p->resp.headers[p->resp.n_headers].value = v;
            p->resp.n_headers++;
        }
        line = eol + 1;
    }
    if (first) {
        return ag_err_set(err, AG_EPROTO, 0, "empty HTTP response head");
    }
    return 0;
}

ssize_t
proto_http_parser_feed(struct proto_http_parser *p, const uint8_t *data, size_t n,
                       struct ag_err *err)
{
    size_t used = 0;

    if (p->done) {
        return 0;
    }
    while (used < n) {
        uint8_t c = data[used++];
        size_t len;

        if (p->head.len >= PROTO_HTTP_MAX_HEAD) {
            return ag_err_set(err, AG_ELIMIT, p->offset + used - 1,
                              "response head exceeds %u bytes", PROTO_HTTP_MAX_HEAD);
        }
        if (p->head.len == 0 && (c == '\r' || c == '\n')) {
            /* Tolerate stray line ends before the status line (RFC 9112 2.2). */
            continue;
        }
        if (ag_buf_append_u8(&p->head, c) != 0) {
            return ag_err_set(err, AG_ENOMEM, p->offset + used - 1, "out of memory");
        }
        len = p->head.len;
        if (c == '\n' && ((len >= 2 && p->head.data[len - 2] == '\n') ||
                          (len >= 3 && p->head.data[len - 2] == '\r' &&
                           p->head.data[len - 3] == '\n'))) {
            int rc;

            /* Cut the blank line: the head is the lines before it. */
            p->head.len -= p->head.data[len - 2] == '\r' ? 2 : 1;
            rc = ag_buf_append_u8(&p->head, 0);
            if (rc != 0) {
                return ag_err_set(err, rc, p->offset, "out of memory");
            }
            p->head.len--;
            if (p->head.len > 0 && p->head.data[p->head.len - 1] == '\n') {
                p->head.len--;
                p->head.data[p->head.len] = '\0';
                if (p->head.len > 0 && p->head.data[p->head.len - 1] == '\r') {
                    p->head.len--;
                    p->head.data[p->head.len] = '\0';
                }
            }
            rc = parse_head(p, err);
            if (rc != 0) {
                if (err != NULL) {
                    err->offset += p->offset;
                }
                return rc;
            }
            p->done = true;
            break;
        }
    }
    p->offset += used;
    return (ssize_t)used;
}

/* ---- request ---- */

static int
append_basic(struct ag_buf *out, const char *header, const char *cred)
{
    size_t cl = strlen(cred);
    size_t bl = ag_base64_encoded_len(cl) + 1;
    char *b64 = ag_malloc(bl);
    int rc = AG_ENOMEM;

    if (b64 == NULL) {
        return rc;
    }
    rc = ag_base64_encode((const uint8_t *)cred, cl, b64, bl);
    if (rc == 0) {
        rc = ag_buf_printf(out, "%s: Basic %s\r\n", header, b64);
    }
    /* The encoded credentials are a secret too. */
    memset(b64, 0, bl);
    ag_free(b64);
    return rc;
}

int
proto_http_build_get(struct ag_buf *out, const struct proto_http_url *u, const char *node_name,
                     const char *credentials, const char *proxy_credentials, bool absolute_uri)
{
    int rc;

    if (absolute_uri) {
        rc = ag_buf_printf(out, "GET http://%s%s HTTP/1.1\r\n", u->hostport, u->path);
    } else {
        rc = ag_buf_printf(out, "GET %s HTTP/1.1\r\n", u->path);
    }
    if (rc == 0 && node_name != NULL) {
        /* A name with a line break would split the header; agent.jar's JDK refuses it too. */
        if (strpbrk(node_name, "\r\n") != NULL) {
            return AG_EUSAGE;
        }
        rc = ag_buf_printf(out, "Node-Name: %s\r\n", node_name);
    }
    if (rc == 0) {
        rc = ag_buf_printf(out,
                           "User-Agent: jenkins-agent/%s (native; remoting %s)\r\n"
                           "Host: %s\r\n"
                           "Accept: text/html, image/gif, image/jpeg, */*; q=0.2\r\n"
                           "Connection: keep-alive\r\n",
                           AG_VERSION, AG_REMOTING_VERSION, u->hostport);
    }
    if (rc == 0 && credentials != NULL) {
        rc = append_basic(out, "Authorization", credentials);
    }
    if (rc == 0 && proxy_credentials != NULL) {
        rc = append_basic(out, "Proxy-Authorization", proxy_credentials);
    }
    if (rc == 0) {
        rc = ag_buf_printf(out, "\r\n");
    }
    return rc;
}

enum http_state {
    HTTP_DIALING = 0,
    HTTP_TLS = 1,
    HTTP_WAITING = 2,
    HTTP_DONE = 3,
};

struct proto_http {
    uv_loop_t *loop;
    enum http_state state;
    bool freed;
    int handles_open;
    uv_timer_t timer; /* the current step's deadline */
    struct proto_dial *dial; /* in flight, or NULL */
    uv_tcp_t *tcp;           /* owned once dialled */
    struct proto_tls *tls;   /* owned, https only */
    struct proto_http_url url;
    struct proto_http_parser parser;
    struct ag_buf req;  /* owned: the request head */
    struct ag_buf out;  /* owned: ciphertext to write */
    uint64_t read_ms;
    int writes_pending;
    proto_http_cb cb;
    void *arg;
    uint8_t rbuf[16384];
    uint8_t pbuf[16384];
    char why[512];
};

static void
http_release(struct proto_http *h)
{
    proto_tls_free(h->tls);
    proto_http_parser_fini(&h->parser);
    ag_buf_fini(&h->req);
    ag_buf_fini(&h->out);
    ag_free(h);
}

static void
on_timer_closed(uv_handle_t *t)
{
    struct proto_http *h = t->data;

    h->handles_open--;
    if (h->handles_open == 0 && h->writes_pending == 0) {
        http_release(h);
    }
}

void
proto_http_free(struct proto_http *h)
{
    if (h == NULL || h->freed) {
        return;
    }
    h->freed = true;
    if (h->dial != NULL) {
        proto_dial_cancel(h->dial);
        h->dial = NULL;
    }
    if (h->tcp != NULL) {
        uv_read_stop((uv_stream_t *)h->tcp);
        proto_dial_close_tcp(h->tcp); /* pending writes complete with ECANCELED */
        h->tcp = NULL;
    }
    uv_close((uv_handle_t *)&h->timer, on_timer_closed);
}

/* Report once; the caller may free h inside the callback. */
static void
http_finish(struct proto_http *h, int status, const struct proto_http_resp *resp,
            const char *why)
{
    if (h->state == HTTP_DONE || h->freed) {
        return;
    }
    h->state = HTTP_DONE;
    uv_timer_stop(&h->timer);
    if (h->tcp != NULL) {
        uv_read_stop((uv_stream_t *)h->tcp);
    }
    h->cb(h, status, resp, why, h->arg);
}

static void
on_deadline(uv_timer_t *t)
{
    struct proto_http *h = t->data;

    (void)snprintf(h->why, sizeof(h->why), "%s timed out",
                   h->state == HTTP_DIALING ? "connect" : "read");
    http_finish(h, AG_ETIMEDOUT, NULL, h->why);
}

static void
on_written(uv_write_t *w, int status)
{
    struct proto_http *h = w->data;

    ag_free(w);
    h->writes_pending--;
    if (h->freed) {
        if (h->handles_open == 0 && h->writes_pending == 0) {
            http_release(h);
        }
        return;
    }
    if (status < 0) {
        (void)snprintf(h->why, sizeof(h->why), "write failed: %s", uv_strerror(status));
        http_finish(h, status, NULL, h->why);
    }
}

/* Send what the TLS session (or the plain request) has for the socket. */
static int
flush(struct proto_http *h, const uint8_t *plain, size_t n)
{
    struct {
        uv_write_t w;
        uint8_t data[];
    } *req;
    size_t len = n;
    uv_buf_t b;
    int rc;

    if (h->tls != NULL) {
        h->out.len = 0;
        rc = proto_tls_take_out(h->tls, &h->out, SIZE_MAX);
        if (rc != 0) {
            return rc;
        }
        plain = h->out.data;
        len = h->out.len;
    }
    if (len == 0) {
        return 0;
    }
    req = ag_malloc(sizeof(*req) + len);
    if (req == NULL) {
        return AG_ENOMEM;
    }
    memcpy(req->data, plain, len);
    req->w.data = h;
    b = uv_buf_init((char *)req->data, (unsigned)len);
    rc = uv_write(&req->w, (uv_stream_t *)h->tcp, &b, 1, on_written);
    if (rc != 0) {
        ag_free(req);
        return rc;
    }
    h->writes_pending++;
    return 0;
}

static void
on_alloc(uv_handle_t *hd, size_t hint, uv_buf_t *buf)
{
    struct proto_http *h = hd->data;

    (void)hint;
    buf->base = (char *)h->rbuf;
    buf->len = sizeof(h->rbuf);
}

static void
feed_plain(struct proto_http *h, const uint8_t *p, size_t n)
{
    struct ag_err err = {0};
    ssize_t used = proto_http_parser_feed(&h->parser, p, n, &err);

    if (used < 0) {
        (void)snprintf(h->why, sizeof(h->why), "invalid HTTP response: %s at offset %llu",
                       err.msg, (unsigned long long)err.offset);
        http_finish(h, (int)used, NULL, h->why);
        return;
    }
    if (h->parser.done) {
        http_finish(h, h->parser.resp.status, &h->parser.resp, NULL);
    }
}

static void
start_request(struct proto_http *h)
{
    struct ag_err err = {0};
    int rc;

    if (h->tls != NULL) {
        rc = proto_tls_write(h->tls, h->req.data, h->req.len, &err);
        if (rc == 0) {
            rc = flush(h, NULL, 0);
        }
    } else {
        rc = flush(h, h->req.data, h->req.len);
    }
    if (rc != 0) {
        http_finish(h, rc, NULL, "cannot send the request");
        return;
    }
    h->state = HTTP_WAITING;
}

static void
on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct proto_http *h = s->data;
    struct ag_err err = {0};
    int rc;

    (void)buf;
    if (nread == 0) {
        return;
    }
    if (nread < 0) {
        (void)snprintf(h->why, sizeof(h->why), "%s",
                       nread == UV_EOF ? (h->state == HTTP_TLS
                                              ? "connection closed during the TLS handshake"
                                              : "connection closed before a complete response")
                                       : uv_strerror((int)nread));
        http_finish(h, nread == UV_EOF ? AG_ECLOSED : (int)nread, NULL, h->why);
        return;
    }
    if (h->tls == NULL) {
        feed_plain(h, h->rbuf, (size_t)nread);
        return;
    }
    rc = proto_tls_feed(h->tls, h->rbuf, (size_t)nread, &err);
    if (rc == 0 && h->state == HTTP_TLS) {
        rc = proto_tls_handshake(h->tls, &err);
        if (rc < 0 || flush(h, NULL, 0) != 0) {
            (void)snprintf(h->why, sizeof(h->why), "%s", err.msg);
            http_finish(h, rc < 0 ? rc : AG_ENOMEM, NULL, h->why);
            return;
        }
        if (rc == 1) {
            return;
        }
        start_request(h);
        if (h->state != HTTP_WAITING) {
            return;
        }
    }
    while (rc == 0 && !h->freed && h->state == HTTP_WAITING) {
        ssize_t n = proto_tls_read(h->tls, h->pbuf, sizeof(h->pbuf), &err);

        if (n == 0) {
            break;
        }
        if (n < 0) {
            (void)snprintf(h->why, sizeof(h->why), "%s", err.msg);
            http_finish(h, (int)n, NULL, h->why);
            return;
        }
        feed_plain(h, h->pbuf, (size_t)n);
    }
    if (rc != 0) {
        (void)snprintf(h->why, sizeof(h->why), "%s", err.msg);
        http_finish(h, rc, NULL, h->why);
    }
}

static void
on_dialled(struct proto_dial *d, int status, uv_tcp_t *tcp, const char *why, void *arg)
{
    struct proto_http *h = arg;
    struct ag_err err = {0};
    int rc;

    (void)d;
    h->dial = NULL;
    if (status != 0) {
        (void)snprintf(h->why, sizeof(h->why), "%s", why);
        http_finish(h, status, NULL, h->why);
        return;
    }
    h->tcp = tcp;
    tcp->data = h;
    uv_timer_stop(&h->timer);
    (void)uv_timer_start(&h->timer, on_deadline, h->read_ms, 0);
    rc = uv_read_start((uv_stream_t *)tcp, on_alloc, on_read);
    if (rc != 0) {
        http_finish(h, rc, NULL, "cannot read from the socket");
        return;
    }
    if (h->tls == NULL) {
        start_request(h);
        return;
    }
    h->state = HTTP_TLS;
    rc = proto_tls_handshake(h->tls, &err);
    if (rc < 0 || flush(h, NULL, 0) != 0) {
        (void)snprintf(h->why, sizeof(h->why), "%s", err.msg);
        http_finish(h, rc < 0 ? rc : AG_ENOMEM, NULL, h->why);
    }
}

int
proto_http_get(uv_loop_t *loop, const struct proto_http_get_opts *o, proto_http_cb cb, void *arg,
               struct proto_http **out, struct ag_err *err)
{
    struct proto_http *h = ag_calloc(1, sizeof(*h));
    int rc = AG_ENOMEM;

    if (h == NULL) {
        return ag_err_set(err, rc, 0, "out of memory");
    }
    h->loop = loop;
    h->cb = cb;
    h->arg = arg;
    h->read_ms = o->read_ms != 0 ? o->read_ms : PROTO_HTTP_READ_MS;
    proto_http_parser_init(&h->parser);
    ag_buf_init(&h->req, 16384);
    ag_buf_init(&h->out, SIZE_MAX);
    rc = proto_http_url_parse(o->url, &h->url, err);
    if (rc != 0) {
        http_release(h);
        return rc;
    }
    /* Through a proxy (plain http only), the request line names the absolute URL. */
    rc = proto_http_build_get(&h->req, &h->url, o->node_name, o->credentials,
                              o->proxy != NULL ? o->proxy_credentials : NULL,
                              o->proxy != NULL && !h->url.tls);
    if (rc != 0) {
        http_release(h);
        return ag_err_set(err, rc, 0, "cannot build the request");
    }
    if (h->url.tls) {
        const char *sni = proto_tls_host_is_ip(h->url.host) ? NULL : h->url.host;

        if (o->tls_ctx == NULL) {
            http_release(h);
            return ag_err_set(err, AG_EINTERNAL, 0, "https without a TLS context");
        }
        rc = proto_tls_new(o->tls_ctx, sni, h->url.host, NULL, 0, &h->tls, err);
        if (rc != 0) {
            http_release(h);
            return rc;
        }
    }
    rc = uv_timer_init(loop, &h->timer);
    if (rc != 0) {
        http_release(h);
        return ag_err_set(err, rc, 0, "cannot create a timer");
    }
    h->timer.data = h;
    h->handles_open = 1;
    (void)uv_timer_start(&h->timer, on_deadline,
                         o->connect_ms != 0 ? o->connect_ms : PROTO_HTTP_CONNECT_MS, 0);
    /* A CONNECT tunnel for https through a proxy; plain http talks to the proxy directly. */
    if (o->proxy != NULL && !h->url.tls) {
        rc = proto_dial_start(loop, o->proxy->host, o->proxy->port, NULL, true, on_dialled, h,
                              &h->dial);
    } else {
        rc = proto_dial_start(loop, h->url.host, h->url.port, o->proxy, true, on_dialled, h,
                              &h->dial);
    }
    if (rc != 0) {
        h->state = HTTP_DONE;
        proto_http_free(h);
        return ag_err_set(err, rc, 0, "cannot start connecting: %s", ag_strerror(rc));
    }
    *out = h;
    return 0;
}

/* ---- discovery ---- */

void
proto_endpoint_fini(struct proto_endpoint *e)
{
    ag_free(e->identity);
    e->identity = NULL;
}

bool
proto_endpoint_accepts(const struct proto_endpoint *e, const char *protocol)
{
    if (e->any_protocol) {
        return true;
    }
    for (size_t i = 0; i < e->n_protocols; i++) {
        if (strcmp(e->protocols[i], protocol) == 0) {
            return true;
        }
    }
    return false;
}

static void
parse_protocols(struct proto_endpoint *e, const char *v)
{
    size_t o = 0;

    e->n_protocols = 0;
    e->any_protocol = true;
    e->protocols_text[o++] = '[';
    while (v != NULL && *v != '\0') {
        const char *comma = strchr(v, ',');
        const char *end = comma != NULL ? comma : v + strlen(v);
        const char *a = v;
        const char *b = end;
        bool dup = false;

        while (a < b && isspace((uint8_t)*a)) {
            a++;
        }
        while (b > a && isspace((uint8_t)b[-1])) {
            b--;
        }
        if (b > a && (size_t)(b - a) < sizeof(e->protocols[0]) &&
            e->n_protocols < PROTO_DISC_MAX_PROTOCOLS) {
            for (size_t i = 0; i < e->n_protocols; i++) {
                if (strlen(e->protocols[i]) == (size_t)(b - a) &&
                    memcmp(e->protocols[i], a, (size_t)(b - a)) == 0) {
                    dup = true;
                }
            }
            if (!dup) {
                memcpy(e->protocols[e->n_protocols], a, (size_t)(b - a));
                e->protocols[e->n_protocols][b - a] = '\0';
                if (o + (size_t)(b - a) + 4 < sizeof(e->protocols_text)) {
                    if (e->n_protocols > 0) {
                        e->protocols_text[o++] = ',';
                        e->protocols_text[o++] = ' ';
                    }
                    memcpy(e->protocols_text + o, a, (size_t)(b - a));
                    o += (size_t)(b - a);
                }
                e->n_protocols++;
            }
        }
        v = comma != NULL ? comma + 1 : end;
    }
    e->protocols_text[o++] = ']';
    e->protocols_text[o] = '\0';
    if (e->n_protocols > 0) {
        e->any_protocol = false;
    }
}

int
proto_discovery_eval(const char *url, const struct proto_http_url *u, int status,
                     const struct proto_http_resp *r, const char *our_version,
                     struct proto_endpoint *e, struct ag_err *err)
{
    const char *minv;
    const char *port_s;
    const char *host;
    const char *protos;
    const char *ident;
    uint64_t port = 0;
    struct ag_err ierr = {0};
    int rc;

    memset(e, 0, sizeof(*e));
    if (status != 200) {
        return ag_err_set(err, AG_EREFUSED, 0, "%stcpSlaveAgentListener/ is invalid: %d %s", url,
                          status, r->reason);
    }
    minv = proto_http_resp_header(r, "X-Remoting-Minimum-Version");
    if (minv != NULL && minv[0] != '\0' && proto_version_cmp(our_version, minv) < 0) {
        return ag_err_set(err, AG_ENOTSUP, 0, "Agent version %s or newer is required.", minv);
    }
    port_s = proto_http_resp_header(r, "X-Jenkins-JNLP-Port");
    if (port_s == NULL) {
        port_s = proto_http_resp_header(r, "X-Hudson-JNLP-Port");
    }
    host = proto_http_resp_header(r, "X-Jenkins-JNLP-Host");
    if (host == NULL || host[0] == '\0') {
        host = u->host;
    }
    if (ag_snprintf(e->host, sizeof(e->host), "%s", host) != 0) {
        return ag_err_set(err, AG_EPROTO, 0, "X-Jenkins-JNLP-Host is too long");
    }
    protos = proto_http_resp_header(r, "X-Jenkins-Agent-Protocols");
    parse_protocols(e, protos);
    e->protocols_header_empty = protos != NULL && e->n_protocols == 0;
    /* Step 6 comes before step 7 in agent.jar, so a missing identity wins over a bad port. */
    ident = proto_http_resp_header(r, "X-Instance-Identity");
    if (ident == NULL ||
        proto_tls_identity_decode(ident, strlen(ident), &e->identity, &e->identity_len, &ierr) !=
            0) {
        return ag_err_set(err, AG_EPROTO, 0,
                          "%stcpSlaveAgentListener/ appears to be publishing an invalid "
                          "X-Instance-Identity.",
                          url);
    }
    proto_tls_fingerprint(e->identity, e->identity_len, e->fingerprint);
    if (port_s == NULL) {
        rc = ag_err_set(err, AG_EPROTO, 0, "%s is not Jenkins", url);
        proto_endpoint_fini(e);
        return rc;
    }
    if (ag_parse_u64(port_s, strlen(port_s), 65535, &port) != 0 || port == 0) {
        rc = ag_err_set(err, AG_EPROTO, 0, "%s is publishing an invalid port", url);
        proto_endpoint_fini(e);
        return rc;
    }
    e->port = (uint16_t)port;
    return 0;
}

static char *
trim(char *s)
{
    char *e = s + strlen(s);

    while (*s != '\0' && isspace((uint8_t)*s)) {
        s++;
    }
    while (e > s && isspace((uint8_t)e[-1])) {
        e--;
    }
    *e = '\0';
    return s;
}

static int
parse_port(const char *s, uint16_t *port, struct ag_err *err)
{
    uint64_t v = 0;

    if (ag_parse_u64(s, strlen(s), 0xFFFFFFFFu, &v) != 0 || v == 0 || v > 65535) {
        return ag_err_set(err, AG_EUSAGE, 0, "Port %.40s out of valid range [0, 65535)", s);
    }
    *port = (uint16_t)v;
    return 0;
}

int
proto_hostport_parse(const char *v, const char *def_host, uint16_t def_port, char host[256],
                     uint16_t *port, struct ag_err *err)
{
    char buf[512];
    char *s;
    char *colon;
    int rc;

    if (ag_snprintf(buf, sizeof(buf), "%s", v) != 0) {
        return ag_err_set(err, AG_EUSAGE, 0, "Invalid HOST:PORT value: too long");
    }
    s = trim(buf);
    if (s[0] == '[') {
        char *rb = strchr(s, ']');

        if (rb == NULL || rb - s < 2) {
            return ag_err_set(err, AG_EUSAGE, 0, "Invalid IPv6 value.");
        }
        if (rb[1] != ':') {
            return ag_err_set(err, AG_EUSAGE, 0, "Missing port.");
        }
        *rb = '\0';
        colon = strrchr(rb + 1, ':');
        rc = parse_port(trim(colon + 1), port, err);
        if (rc != 0) {
            return rc;
        }
        (void)snprintf(host, 256, "%s", s + 1);
        return 0;
    }
    colon = strrchr(s, ':');
    if (colon == NULL) {
        return ag_err_set(err, AG_EUSAGE, 0, "Invalid HOST:PORT value: %.100s", s);
    }
    *colon = '\0';
    {
        char *h = trim(s);
        char *p = trim(colon + 1);

        if (h[0] == '\0') {
            if (def_host == NULL) {
                return ag_err_set(err, AG_EUSAGE, 0, "Invalid HOST:PORT value: %.100s", v);
            }
            h = (char *)def_host;
        }
        if (p[0] == '\0') {
            if (def_port == 0) {
                return ag_err_set(err, AG_EUSAGE, 0, "Invalid HOST:PORT value: %.100s", v);
            }
            *port = def_port;
        } else {
            rc = parse_port(p, port, err);
            if (rc != 0) {
                return rc;
            }
        }
        if (ag_snprintf(host, 256, "%s", h) != 0) {
            return ag_err_set(err, AG_EUSAGE, 0, "host name too long");
        }
    }
    return 0;
}

/* ---- versions (transport.md 8.3) ---- */

struct vitem {
    bool is_int;
    const char *p; /* borrowed from the (lower-cased) version */
    size_t len;
};

#define VMAX_ITEMS 32

static size_t
vsplit(const char *s, struct vitem *it, size_t max)
{
    size_t n = 0;

    while (*s != '\0' && n < max) {
        const char *st;
        bool dig;

        if (*s == '.' || *s == '-') {
            s++;
            continue;
        }
        st = s;
        dig = isdigit((uint8_t)*s) != 0;
        while (*s != '\0' && *s != '.' && *s != '-' && (isdigit((uint8_t)*s) != 0) == dig) {
            s++;
        }
        if (dig) {
            while (s - st > 1 && *st == '0') {
                st++;
            }
        }
        it[n].is_int = dig;
        it[n].p = st;
        it[n].len = (size_t)(s - st);
        n++;
    }
    /* Trailing null items (0 and the release qualifiers) do not count. */
    while (n > 0 && ((it[n - 1].is_int && it[n - 1].len == 1 && it[n - 1].p[0] == '0') ||
                     (!it[n - 1].is_int &&
                      ((it[n - 1].len == 2 && strncmp(it[n - 1].p, "ga", 2) == 0) ||
                       (it[n - 1].len == 5 && strncmp(it[n - 1].p, "final", 5) == 0) ||
                       (it[n - 1].len == 7 && strncmp(it[n - 1].p, "release", 7) == 0))))) {
        n--;
    }
    return n;
}

static int
qual_rank(const struct vitem *q)
{
    static const char *const ranks[] = {"snapshot", "alpha", "beta", "milestone", "rc", "", "sp"};

    if (q == NULL) {
        return 5;
    }
    if (q->len == 1 && (q->p[0] == 'a' || q->p[0] == 'b' || q->p[0] == 'm')) {
        return q->p[0] == 'a' ? 1 : q->p[0] == 'b' ? 2 : 3;
    }
    if (q->len == 2 && strncmp(q->p, "cr", 2) == 0) {
        return 4;
    }
    for (size_t i = 0; i < AG_ARRAY_LEN(ranks); i++) {
        if (strlen(ranks[i]) == q->len && strncmp(ranks[i], q->p, q->len) == 0) {
            return (int)i;
        }
    }
    return 7;
}

static int
item_cmp(const struct vitem *a, const struct vitem *b)
{
    if (a == NULL && b == NULL) {
        return 0;
    }
    if (a == NULL) {
        return -item_cmp(b, NULL);
    }
    if (a->is_int) {
        if (b == NULL) {
            return a->len == 1 && a->p[0] == '0' ? 0 : 1;
        }
        if (!b->is_int) {
            return 1;
        }
        if (a->len != b->len) {
            return a->len < b->len ? -1 : 1;
        }
        return strncmp(a->p, b->p, a->len) < 0 ? -1 : strncmp(a->p, b->p, a->len) > 0 ? 1 : 0;
    }
    if (b != NULL && b->is_int) {
        return -1;
    }
    {
        int ra = qual_rank(a);
        int rb = qual_rank(b);

        if (ra != rb) {
            return ra < rb ? -1 : 1;
        }
        if (ra == 7 && b != NULL) {
            size_t m = a->len < b->len ? a->len : b->len;
            int c = strncmp(a->p, b->p, m);

            if (c != 0) {
                return c < 0 ? -1 : 1;
            }
            return a->len == b->len ? 0 : a->len < b->len ? -1 : 1;
        }
    }
    return 0;
}

int
proto_version_cmp(const char *a, const char *b)
{
    char la[256];
    char lb[256];
    struct vitem ia[VMAX_ITEMS];
    struct vitem ib[VMAX_ITEMS];
    size_t na;
    size_t nb;

    (void)snprintf(la, sizeof(la), "%s", a);
    (void)snprintf(lb, sizeof(lb), "%s", b);
    for (char *c = la; *c != '\0'; c++) {
        *c = (char)tolower((uint8_t)*c);
    }
    for (char *c = lb; *c != '\0'; c++) {
        *c = (char)tolower((uint8_t)*c);
    }
    na = vsplit(la, ia, VMAX_ITEMS);
    nb = vsplit(lb, ib, VMAX_ITEMS);
    for (size_t i = 0; i < na || i < nb; i++) {
        int c = item_cmp(i < na ? &ia[i] : NULL, i < nb ? &ib[i] : NULL);

        if (c != 0) {
            return c;
        }
    }
    return 0;
}
