#include "dial.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "base64.h"
#include "buf.h"
#include "err.h"
#include "log.h"
#include "util.h"

#define DIAL_PROXY_MAX_REPLY 16384

enum dial_state {
    DIAL_RESOLVING = 0,
    DIAL_CONNECTING = 1,
    DIAL_PROXY_WRITE = 2,
    DIAL_PROXY_READ = 3,
    DIAL_DONE = 4,
};

struct proto_dial {
    uv_loop_t *loop;
    enum dial_state state;
    bool cancelled;
    bool keepalive;
    char host[256]; /* the target */
    uint16_t port;
    bool use_proxy;
    struct proto_dial_proxy proxy;
    proto_dial_cb cb;
    void *arg;
    uv_getaddrinfo_t gai;
    struct addrinfo *ai;   /* owned (uv_freeaddrinfo) */
    struct addrinfo *next; /* borrowed from ai: the next address to try */
    uv_connect_t creq;
    uv_write_t wreq;
    uv_tcp_t *tcp; /* owned until handed to cb */
    struct ag_buf io; /* owned: CONNECT request, then the reply */
    int last_err;
    char why[512];
};

static void on_close_free(uv_handle_t *h);
static void try_next(struct proto_dial *d);

void
proto_dial_close_tcp(uv_tcp_t *tcp)
{
    if (tcp != NULL && !uv_is_closing((uv_handle_t *)tcp)) {
        uv_close((uv_handle_t *)tcp, on_close_free);
    }
}

static void
on_close_free(uv_handle_t *h)
{
    ag_free(h);
}

static void
dial_free(struct proto_dial *d)
{
    if (d->ai != NULL) {
        uv_freeaddrinfo(d->ai);
    }
    ag_buf_fini(&d->io);
    ag_free(d);
}

/* Report (unless cancelled) and free. Only called when no request is in flight. */
static void
finish(struct proto_dial *d, int status, const char *why)
{
    uv_tcp_t *tcp = NULL;

    d->state = DIAL_DONE;
    if (status == 0) {
        tcp = d->tcp;
        d->tcp = NULL;
        tcp->data = NULL;
    } else if (d->tcp != NULL) {
        proto_dial_close_tcp(d->tcp);
        d->tcp = NULL;
    }
    if (!d->cancelled) {
        d->cb(d, status, tcp, why, d->arg);
    } else if (tcp != NULL) {
        proto_dial_close_tcp(tcp);
    }
    dial_free(d);
}

static const char *
target_name(const struct proto_dial *d)
{
    return d->use_proxy ? d->proxy.host : d->host;
}

static void
on_getaddrinfo(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct proto_dial *d = req->data;

    d->ai = res;
    if (d->cancelled) {
        finish(d, UV_ECANCELED, "cancelled");
        return;
    }
    if (status < 0) {
        (void)snprintf(d->why, sizeof(d->why), "cannot resolve %s: %s", target_name(d),
                          uv_strerror(status));
        finish(d, status, d->why);
        return;
    }
    d->next = res;
    d->state = DIAL_CONNECTING;
    try_next(d);
}

int
proto_dial_proxy_status(const char *line, size_t len, struct ag_err *err)
{
    size_t i = 0;
    size_t start;
    char shown[120];

    while (i < len && line[i] != ' ') {
        i++;
    }
    while (i < len && line[i] == ' ') {
        i++;
    }
    start = i;
    while (i < len && line[i] != ' ') {
        i++;
    }
    if (i - start == 3 && memcmp(line + start, "200", 3) == 0) {
        return 0;
    }
    ag_escape(shown, sizeof(shown), (const uint8_t *)line, len, 100);
    return ag_err_set(err, AG_EREFUSED, 0, "Got a bad response from proxy: %s", shown);
}

static void
on_proxy_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    struct proto_dial *d = h->data;

    (void)hint;
    if (ag_buf_reserve(&d->io, 1024) != 0) {
        buf->base = NULL;
        buf->len = 0;
        return;
    }
    buf->base = (char *)d->io.data + d->io.len;
    buf->len = d->io.cap - d->io.len;
}

static void
on_proxy_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct proto_dial *d = s->data;
    struct ag_err err = {0};
    const uint8_t *end = NULL;

    (void)buf;
    if (nread == UV_ENOBUFS) {
        (void)snprintf(d->why, sizeof(d->why), "proxy reply exceeds %d bytes",
                          DIAL_PROXY_MAX_REPLY);
        uv_read_stop(s);
        finish(d, AG_ELIMIT, d->why);
        return;
    }
    if (nread < 0) {
        uv_read_stop(s);
        finish(d, nread == UV_EOF ? AG_ECLOSED : (int)nread,
               nread == UV_EOF ? "Proxy socket closed" : "read from proxy failed");
        return;
    }
    d->io.len += (size_t)nread;
    for (size_t i = 3; i < d->io.len; i++) {
        if (memcmp(d->io.data + i - 3, "\r\n\r\n", 4) == 0) {
            end = d->io.data + i + 1;
            break;
        }
    }
    if (end == NULL) {
        return;
    }
    uv_read_stop(s);
    if (end != d->io.data + d->io.len) {
        finish(d, AG_EPROTO, "proxy sent data after its CONNECT reply");
        return;
    }
    {
        const uint8_t *eol = memchr(d->io.data, '\r', d->io.len);
        size_t ll = (size_t)(eol - d->io.data);
        int rc = proto_dial_proxy_status((const char *)d->io.data, ll, &err);

        if (rc != 0) {
            (void)snprintf(d->why, sizeof(d->why), "%s", err.msg);
            finish(d, rc, d->why);
            return;
        }
    }
    finish(d, 0, NULL);
}

static void
on_proxy_written(uv_write_t *req, int status)
{
    struct proto_dial *d = req->data;

    if (d->cancelled) {
        finish(d, UV_ECANCELED, "cancelled");
        return;
    }
    if (status < 0) {
        (void)snprintf(d->why, sizeof(d->why), "write to proxy %s failed: %s", d->proxy.host,
                          uv_strerror(status));
        finish(d, status, d->why);
        return;
    }
    ag_buf_reset(&d->io);
    d->state = DIAL_PROXY_READ;
    status = uv_read_start((uv_stream_t *)d->tcp, on_proxy_alloc, on_proxy_read);
    if (status < 0) {
        finish(d, status, "cannot read from proxy");
    }
}

static int
proxy_request(struct proto_dial *d)
{
    int rc;
    uv_buf_t b;

    /* transport.md 3.8: the Host header carries no port. */
    rc = ag_buf_printf(&d->io, "CONNECT %s:%u HTTP/1.1\r\nHost: %s\r\n", d->host,
                       (unsigned)d->port, d->host);
    if (rc == 0 && d->proxy.credentials != NULL) {
        size_t cl = strlen(d->proxy.credentials);
        char *b64 = ag_malloc(ag_base64_encoded_len(cl) + 1);

        rc = AG_ENOMEM;
        if (b64 != NULL) {
            rc = ag_base64_encode((const uint8_t *)d->proxy.credentials, cl, b64,
                                  ag_base64_encoded_len(cl) + 1);
            if (rc == 0) {
                rc = ag_buf_printf(&d->io, "Proxy-Authorization: Basic %s\r\n", b64);
            }
            ag_free(b64);
        }
    }
    if (rc == 0) {
        rc = ag_buf_printf(&d->io, "\r\n");
    }
    if (rc != 0) {
        return rc;
    }
    b = uv_buf_init((char *)d->io.data, (unsigned)d->io.len);
    d->wreq.data = d;
    d->state = DIAL_PROXY_WRITE;
    return uv_write(&d->wreq, (uv_stream_t *)d->tcp, &b, 1, on_proxy_written);
}

static void
on_connect(uv_connect_t *req, int status)
{
    struct proto_dial *d = req->data;
    int rc;

    if (d->cancelled) {
        finish(d, UV_ECANCELED, "cancelled");
        return;
    }
    if (status < 0) {
        d->last_err = status;
        proto_dial_close_tcp(d->tcp);
        d->tcp = NULL;
        try_next(d);
        return;
    }
    (void)uv_tcp_nodelay(d->tcp, 1);
    if (d->keepalive) {
        (void)uv_tcp_keepalive(d->tcp, 1, 60);
    }
    if (!d->use_proxy) {
        finish(d, 0, NULL);
        return;
    }
    rc = proxy_request(d);
    if (rc != 0) {
        finish(d, rc, "cannot send the CONNECT request to the proxy");
    }
}

static void
try_next(struct proto_dial *d)
{
    while (d->next != NULL) {
        struct addrinfo *a = d->next;
        int rc;

        d->next = a->ai_next;
        if (a->ai_family != AF_INET && a->ai_family != AF_INET6) {
            continue;
        }
        d->tcp = ag_malloc(sizeof(*d->tcp));
        if (d->tcp == NULL) {
            finish(d, AG_ENOMEM, "out of memory");
            return;
        }
        rc = uv_tcp_init(d->loop, d->tcp);
        if (rc != 0) {
            ag_free(d->tcp);
            d->tcp = NULL;
            finish(d, rc, "cannot create a socket");
            return;
        }
        d->tcp->data = d;
        d->creq.data = d;
        rc = uv_tcp_connect(&d->creq, d->tcp, a->ai_addr, on_connect);
        if (rc == 0) {
            return;
        }
        d->last_err = rc;
        proto_dial_close_tcp(d->tcp);
        d->tcp = NULL;
    }
    (void)snprintf(d->why, sizeof(d->why), "%s",
                      d->last_err != 0 ? uv_strerror(d->last_err) : "no usable address");
    finish(d, d->last_err != 0 ? d->last_err : UV_EADDRNOTAVAIL, d->why);
}

int
proto_dial_start(uv_loop_t *loop, const char *host, uint16_t port,
                 const struct proto_dial_proxy *proxy, bool keepalive, proto_dial_cb cb,
                 void *arg, struct proto_dial **out)
{
    struct proto_dial *d = ag_calloc(1, sizeof(*d));
    struct addrinfo hints;
    char service[8];
    const char *name;
    int rc;

    if (d == NULL) {
        return AG_ENOMEM;
    }
    d->loop = loop;
    d->cb = cb;
    d->arg = arg;
    d->port = port;
    d->keepalive = keepalive;
    ag_buf_init(&d->io, DIAL_PROXY_MAX_REPLY);
    if (ag_snprintf(d->host, sizeof(d->host), "%s", host) != 0) {
        dial_free(d);
        return AG_EUSAGE;
    }
    if (proxy != NULL) {
        d->use_proxy = true;
        d->proxy = *proxy;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    (void)snprintf(service, sizeof(service), "%u",
                      (unsigned)(d->use_proxy ? d->proxy.port : port));
    name = target_name(d);
    /* "[::1]" style literals arrive without brackets from the URL parser. */
    d->gai.data = d;
    rc = uv_getaddrinfo(loop, &d->gai, on_getaddrinfo, name, service, &hints);
    if (rc != 0) {
        dial_free(d);
        return rc;
    }
    *out = d;
    return 0;
}

void
proto_dial_cancel(struct proto_dial *d)
{
    if (d == NULL || d->cancelled) {
        return;
    }
    d->cancelled = true;
    switch (d->state) {
    case DIAL_RESOLVING:
        (void)uv_cancel((uv_req_t *)&d->gai); /* on_getaddrinfo runs either way */
        break;
    case DIAL_CONNECTING:
    case DIAL_PROXY_WRITE:
        /* Closing the socket cancels the request; its callback then frees the dial. */
        proto_dial_close_tcp(d->tcp);
        d->tcp = NULL;
        break;
    case DIAL_PROXY_READ:
        uv_read_stop((uv_stream_t *)d->tcp);
        finish(d, UV_ECANCELED, "cancelled");
        break;
    case DIAL_DONE:
        break;
    }
}

int
proto_dial_proxy_parse(const char *http_proxy, struct proto_dial_proxy *out, struct ag_err *err)
{
    const char *p = http_proxy;
    const char *end;
    const char *colon;
    const char *hs;
    uint64_t port = 0;
    size_t hl;

    memset(out, 0, sizeof(*out));
    if (strncasecmp(p, "http://", 7) == 0) {
        p += 7;
    } else if (strstr(p, "://") != NULL) {
        return ag_err_set(err, AG_EUSAGE, 0, "http_proxy %.100s is not an http:// URL",
                          http_proxy);
    }
    end = p + strcspn(p, "/?#");
    for (const char *at = p; at < end; at++) {
        if (*at == '@') {
            p = at + 1; /* remoting ignores credentials in http_proxy */
        }
    }
    hs = p;
    if (*hs == '[') {
        const char *rb = memchr(hs, ']', (size_t)(end - hs));

        if (rb == NULL) {
            return ag_err_set(err, AG_EUSAGE, 0, "http_proxy %.100s: bad IPv6 address",
                              http_proxy);
        }
        colon = rb + 1 < end && rb[1] == ':' ? rb + 1 : NULL;
        hs++;
        hl = (size_t)(rb - hs);
    } else {
        colon = memchr(hs, ':', (size_t)(end - hs));
        hl = (size_t)((colon != NULL ? colon : end) - hs);
    }
    if (colon == NULL || colon + 1 >= end ||
        ag_parse_u64(colon + 1, (size_t)(end - colon - 1), 65535, &port) != 0 || port == 0) {
        return ag_err_set(err, AG_EUSAGE, 0, "http_proxy %.100s has no valid port", http_proxy);
    }
    if (hl == 0 || hl >= sizeof(out->host)) {
        return ag_err_set(err, AG_EUSAGE, 0, "http_proxy %.100s has no valid host", http_proxy);
    }
    memcpy(out->host, hs, hl);
    out->host[hl] = '\0';
    out->port = (uint16_t)port;
    return 0;
}

/* addr/bits against an address of the same family. */
static bool
cidr_match(const uint8_t *net, const uint8_t *addr, size_t len, unsigned bits)
{
    size_t full = bits / 8;

    if (bits > len * 8) {
        return false;
    }
    if (memcmp(net, addr, full) != 0) {
        return false;
    }
    if (bits % 8 != 0) {
        uint8_t mask = (uint8_t)(0xFFu << (8 - bits % 8));

        return (net[full] & mask) == (addr[full] & mask);
    }
    return true;
}

static bool
entry_match(const char *e, size_t el, const char *host, const uint8_t *haddr, int hfam)
{
    char buf[256];
    const char *slash;
    uint8_t net[16];

    if (el == 0 || el >= sizeof(buf)) {
        return false;
    }
    memcpy(buf, e, el);
    buf[el] = '\0';
    slash = strchr(buf, '/');
    if (slash != NULL) {
        uint64_t bits = 0;
        size_t nl = (size_t)(slash - buf);

        buf[nl] = '\0';
        if (hfam == 0 || ag_parse_u64(slash + 1, strlen(slash + 1), 128, &bits) != 0) {
            return false;
        }
        if (hfam == AF_INET && inet_pton(AF_INET, buf, net) == 1) {
            return cidr_match(net, haddr, 4, (unsigned)bits);
        }
        if (hfam == AF_INET6 && inet_pton(AF_INET6, buf, net) == 1) {
            return cidr_match(net, haddr, 16, (unsigned)bits);
        }
        return false;
    }
    if (inet_pton(AF_INET, buf, net) == 1) {
        return hfam == AF_INET && memcmp(net, haddr, 4) == 0;
    }
    if (inet_pton(AF_INET6, buf, net) == 1) {
        return hfam == AF_INET6 && memcmp(net, haddr, 16) == 0;
    }
    /* Domain suffix: host.endsWith(entry), as remoting does. */
    {
        size_t hl = strlen(host);

        return hl >= el && memcmp(host + hl - el, buf, el) == 0;
    }
}

bool
proto_dial_no_proxy(const char *no_proxy, const char *host)
{
    uint8_t haddr[16] = {0};
    int hfam = 0;
    char sep;
    const char *p;

    if (strcmp(host, "localhost") == 0) {
        return true;
    }
    if (inet_pton(AF_INET, host, haddr) == 1) {
        hfam = AF_INET;
        if (haddr[0] == 127) {
            return true;
        }
    } else if (inet_pton(AF_INET6, host, haddr) == 1) {
        static const uint8_t lo[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

        hfam = AF_INET6;
        if (memcmp(haddr, lo, 16) == 0) {
            return true;
        }
    }
    if (no_proxy == NULL) {
        return false;
    }
    sep = strchr(no_proxy, ',') != NULL ? ',' : '|';
    p = no_proxy;
    while (*p != '\0') {
        const char *e = strchr(p, sep);
        const char *a = p;
        const char *b = e != NULL ? e : p + strlen(p);

        while (a < b && (*a == ' ' || *a == '\t')) {
            a++;
        }
        while (b > a && (b[-1] == ' ' || b[-1] == '\t')) {
            b--;
        }
        if (a < b && *a == '.') {
            a++;
        }
        if (b - a >= 2 && a[0] == '*' && a[1] == '.') {
            a += 2;
        }
        if (a < b && entry_match(a, (size_t)(b - a), host, haddr, hfam)) {
            return true;
        }
        if (e == NULL) {
            break;
        }
        p = e + 1;
    }
    return false;
}

/* One nonProxyHosts entry e[0..el) against host (both lower-cased by the caller). */
static bool
nph_entry_match(const char *e, size_t el, const char *host, bool both_ends)
{
    size_t hl = strlen(host);
    bool lead = el > 0 && e[0] == '*';
    bool trail = el > 0 && e[el - 1] == '*';

    if (lead && trail && el >= 2 && both_ends) {
        /* contains */
        size_t nl = el - 2;

        for (size_t i = 0; i + nl <= hl; i++) {
            if (memcmp(host + i, e + 1, nl) == 0) {
                return true;
            }
        }
        return false;
    }
    if (lead) {
        return hl >= el - 1 && memcmp(host + hl - (el - 1), e + 1, el - 1) == 0;
    }
    if (trail) {
        return hl >= el - 1 && memcmp(host, e, el - 1) == 0;
    }
    return hl == el && memcmp(host, e, el) == 0;
}

bool
proto_dial_non_proxy_hosts(const char *list, const char *host, bool both_ends)
{
    char h[260];
    char lower[1024];
    const char *p;
    size_t n;

    if (list == NULL) {
        list = "localhost|127.*|[::1]|0.0.0.0|[::0]";
    }
    if (strchr(host, ':') != NULL) {
        (void)snprintf(h, sizeof(h), "[%s]", host);
    } else {
        (void)snprintf(h, sizeof(h), "%s", host);
    }
    for (char *q = h; *q != '\0'; q++) {
        *q = (char)tolower((unsigned char)*q);
    }
    p = list;
    while (*p != '\0') {
        const char *bar = strchr(p, '|');
        size_t el = bar != NULL ? (size_t)(bar - p) : strlen(p);

        n = el < sizeof(lower) ? el : sizeof(lower) - 1;
        for (size_t i = 0; i < n; i++) {
            lower[i] = (char)tolower((unsigned char)p[i]);
        }
        if (n > 0 && n == el && nph_entry_match(lower, n, h, both_ends)) {
            return true;
        }
        if (bar == NULL) {
            break;
        }
        p = bar + 1;
    }
    return false;
}
