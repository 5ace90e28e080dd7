/*
 * ws.c: the WebSocket transport over libwebsockets, with lws as a guest on our libuv loop.
 * See ws.h for the contract and docs/internals/ws.md for the wiring.
 */
#include "ws.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <libwebsockets.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "alloc.h"
#include "buf.h"
#include "capability.h"
#include "chunk.h"
#include "dial.h"
#include "err.h"
#include "link.h"
#include "log.h"
#include "tls.h"
#include "util.h"
#include "version.h"

#define WS_LOG "ws"
#define WS_PROTOCOL_NAME "jenkins-agent"
#define WS_MAX_HEADERS 64
#define WS_MAX_HEADER_BYTES 8192      /* one header line we add */
#define WS_SERV_BUF 32768             /* lws per-thread buffer: our request headers fit in it */
#define WS_RX_PENDING_MAX (4u << 20)  /* bytes held while the channel has paused reading */
#define WS_WRITE_BURST 16             /* messages per WRITEABLE callback, at most */
#define WS_REAP_POLL_MS 2
#define WS_REAP_MAX_TICKS 5000
/* lws 4.x's private LWS_WRITE_CLOSE (lib/roles/ws/private-lib-roles-ws.h): lws_write() frames
 * and masks it as a close frame. Public headers only say "use lws_close_reason()"; see
 * ws_on_writeable for why we cannot. */
#define WS_LWS_WRITE_CLOSE ((enum lws_write_protocol)4)        /* 10 s: lws must have closed its handles by then */

enum ws_kind {
    WS_KIND_UPGRADE = 1,
    WS_KIND_PREFLIGHT = 2,
};

enum ws_state {
    WS_RESOLVING = 0, /* uv_getaddrinfo in flight */
    WS_CONNECTING = 1, /* lws client connection under way */
    WS_OPEN = 2,       /* 101 received, link usable */
    WS_CLOSED = 3,     /* link closed (on_closed fired) or connect failed (callback fired) */
};

struct ws_hdr {
    char *name;  /* owned */
    char *value; /* owned */
};

/* What the upgrade and the pre-flight share: a context, a resolver and a deadline. */
struct ws_conn {
    enum ws_kind kind;
    enum ws_state state;
    uv_loop_t *loop;            /* borrowed: outlives us */
    struct ws_shared *sh;       /* borrowed: the context, alive until proto_ws_shutdown */
    struct lws *wsi;            /* lws's, NULL once lws destroyed it */
    bool wsi_dying;             /* lws is closing it (closed / connection error callbacks) */
    unsigned in_cb;             /* inside on_lws for this object */
    uv_timer_t timer;           /* deadline while connecting, then rx resume */
    uv_getaddrinfo_t gai;
    bool gai_busy;
    bool freed;                 /* _free called; memory released from close callbacks */
    unsigned handles_open;      /* timer + gai: memory is freed when this reaches 0 */
    bool insecure;
    uint64_t connect_ms;        /* deadline of the preflight or of the upgrade */
    struct proto_ws_url url;
    char *host_hdr;             /* owned: Host value (host[:port], or the user's override) */
    char *origin_hdr;           /* owned: Origin value */
    char *path;                 /* owned: request path */
    bool proxied;               /* through an HTTP proxy (CONNECT by lws) */
    char proxy_host[256];
    uint16_t proxy_port;
    char *proxy_cred;           /* owned: "user:password" or NULL */
    char why[224];              /* failure text for the callback */
};

struct proto_ws {
    struct ws_conn c; /* first: lws user pointers point here */
    struct proto_link link;
    proto_ws_connect_cb cb;
    void *cb_arg;
    uint64_t our_capability;
    char *our_version; /* owned */
    char *name;        /* owned, for log lines */
    struct ws_hdr hdrs[WS_MAX_HEADERS]; /* owned: what we append to the request */
    size_t n_hdrs;
    int http_status;
    bool fatal;
    int fail_code;       /* set before rejecting the handshake or failing the link */
    char *cookie;        /* owned: Connection-Cookie of the 101 */
    char *min_version;   /* owned: X-Remoting-Minimum-Version of the 101 */

    /* Write side: one message per chunk, each with LWS_PRE bytes of headroom. */
    struct ws_msg *q_head, *q_tail; /* owned */
    bool over_high;      /* queued went past high_water; on_drain due below the low mark */
    bool close_requested;
    bool close_sent; /* our close frame is out; waiting for the echo */
    bool aborted;    /* proto_link_abort: lws drops the socket, no close handshake */

    /* Read side. */
    struct proto_chunk_dec dec;
    bool dec_init;
    bool paused;
    struct ag_buf rx_pending; /* bytes received while paused, fed on resume */
    bool rx_blocked;          /* we told lws to stop reading */
    int close_code;           /* the controller's close frame status, 0 if none */
    char close_reason[64];
    bool warned_text;
};

struct proto_ws_preflight {
    struct ws_conn c; /* first */
    proto_ws_preflight_cb cb;
    void *cb_arg;
};

struct ws_msg {
    struct ws_msg *next;
    size_t len;     /* bytes of the whole frame in data */
    size_t payload; /* command bytes it carries (link.queued counts these) */
    uint8_t data[]; /* a complete masked binary frame: header, mask key, masked chunk */
};

/* Keeps a context alive until lws has closed its uv handles, then destroys it. */
struct ws_reaper {
    uv_timer_t timer;
    struct lws_context *ctx; /* owned */
    SSL_CTX *ssl_ctx;        /* owned */
    bool started;
    unsigned ticks;
};

/*
 * One lws context per loop and TLS configuration, created on first use and kept until
 * proto_ws_shutdown(). Contexts are not destroyed while the agent runs because lws 4.1.6 closes
 * the eventfd of its event pipe twice when a context on a libuv loop is destroyed
 * (lws_destroy_event_pipe closes it at once, lws_libuv_closewsi closes the same number again
 * from the close callback): in between, any thread may have been given that number for a
 * socket, pipe or file, which the second close would then take away. With one context for the
 * life of the loop that can only happen at shutdown.
 *
 * s_shared is the only mutable global besides the logger's configuration, for that reason;
 * it is touched only from loop threads (in the agent, the one loop thread).
 */
struct ws_shared {
    struct ws_shared *next;
    uv_loop_t *loop;         /* borrowed */
    struct lws_context *ctx; /* owned */
    SSL_CTX *ssl_ctx;        /* owned (NULL without TLS) */
    bool tls;
    bool insecure;
    uint8_t pem_digest[32];  /* SHA-256 over the -cert PEMs, each followed by a NUL */
    uint8_t proxy_digest[32]; /* SHA-256 over the proxy's host, port and credentials; 0s: none */
    struct lws_vhost *vhost; /* the context's default vhost (its proxy setting) */
};
static struct ws_shared *s_shared;

static int on_lws(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                  size_t len);

/* No validity timer: lws would otherwise ping after 300 s without input. agent.jar sends no
 * pings and has no client-side idle timeout (transport.md 5.3); the controller pings us. */
static const lws_retry_bo_t s_no_idle_policy = {NULL, 0, 0, 0, 0, 0};

static const struct lws_protocols s_protocols[] = {
    {WS_PROTOCOL_NAME, on_lws, 0, 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* ---------------------------------------------------------------------------------------- */
/* Small helpers                                                                             */

static void
on_lws_log(int level, const char *line)
{
    char buf[256];
    size_t n = strlen(line);

    /* lws lines end in '\n'; ours do not. */
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) {
        n--;
    }
    if (n >= sizeof(buf)) {
        n = sizeof(buf) - 1;
    }
    memcpy(buf, line, n);
    buf[n] = '\0';
    if (level & (LLL_ERR | LLL_WARN)) {
        AG_LOG_DEBUG(WS_LOG, "lws: %s", buf);
    } else {
        AG_TRACE(AG_TRACE_WS, "lws: %s", buf);
    }
}

/* lws's log hook is process-wide; this is logger configuration, set before the first context. */
static void
ws_log_setup(void)
{
    int levels = LLL_ERR | LLL_WARN;

    if (ag_log_trace_on(AG_TRACE_WS)) {
        levels |= LLL_NOTICE | LLL_INFO;
    }
    lws_set_log_level(levels, on_lws_log);
}

/* Format a message; truncation only shortens the text, which is fine for messages. */
static void textf(char *dst, size_t size, const char *fmt, ...) AG_PRINTF(3, 4);
static void
textf(char *dst, size_t size, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    (void)vsnprintf(dst, size, fmt, ap); /* always NUL-terminates (size > 0) */
    va_end(ap);
}

static bool
has_ctl(const char *s)
{
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f) {
            return true;
        }
    }
    return false;
}

static bool
valid_header_name(const char *s, size_t n)
{
    size_t i;

    if (n == 0) {
        return false;
    }
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch <= 0x20 || ch >= 0x7f || ch == ':') {
            return false;
        }
    }
    return true;
}

int
proto_ws_parse_url(const char *base_url, struct proto_ws_url *u)
{
    const char *p = base_url;
    const char *host;
    const char *host_end;
    const char *slash;
    size_t hl;
    uint64_t port = 0;

    memset(u, 0, sizeof(*u));
    if (strncasecmp(p, "https://", 8) == 0) {
        u->tls = true;
        p += 8;
    } else if (strncasecmp(p, "http://", 7) == 0) {
        p += 7;
    } else {
        return AG_EUSAGE;
    }
    slash = strchr(p, '/');
    if (slash == NULL) {
        slash = p + strlen(p);
    }
    if (*p == '[') {
        /* IPv6 literal */
        host = p + 1;
        host_end = memchr(host, ']', (size_t)(slash - host));
        if (host_end == NULL) {
            return AG_EUSAGE;
        }
        p = host_end + 1;
    } else {
        host = p;
        host_end = p;
        while (host_end < slash && *host_end != ':') {
            host_end++;
        }
        p = host_end;
    }
    hl = (size_t)(host_end - host);
    if (hl == 0 || hl >= sizeof(u->host) || memchr(host, '@', hl) != NULL) {
        return AG_EUSAGE;
    }
    memcpy(u->host, host, hl);
    u->host[hl] = '\0';
    if (p < slash && *p == ':') {
        p++;
        if (ag_parse_u64(p, (size_t)(slash - p), 65535, &port) != 0 || port == 0) {
            return AG_EUSAGE;
        }
        u->port = (uint16_t)port;
    } else if (p != slash) {
        return AG_EUSAGE;
    } else {
        u->port = u->tls ? 443 : 80;
    }
    if (*slash == '\0') {
        u->path[0] = '/';
        u->path[1] = '\0';
    } else {
        size_t pl = strlen(slash);
        bool add = slash[pl - 1] != '/';

        if (pl + (add ? 1 : 0) >= sizeof(u->path) || has_ctl(slash) || strchr(slash, ' ')) {
            return AG_EUSAGE;
        }
        memcpy(u->path, slash, pl);
        if (add) {
            u->path[pl++] = '/';
        }
        u->path[pl] = '\0';
    }
    return 0;
}

/* Parse the leading decimal run of s into *v (saturating); returns the digits read. */
static size_t
lead_number(const char *s, uint64_t *v)
{
    size_t i = 0;

    *v = 0;
    while (s[i] >= '0' && s[i] <= '9') {
        unsigned d = (unsigned)(s[i] - '0');
        *v = *v > (UINT64_MAX - d) / 10 ? UINT64_MAX : *v * 10 + d;
        i++;
    }
    return i;
}

bool
proto_ws_version_older(const char *have, const char *min)
{
    uint64_t a = 0;
    uint64_t b = 0;
    size_t na = lead_number(have, &a);
    size_t nb = lead_number(min, &b);

    /* Versions are <commit count>.v<hash>: the counts decide (transport.md 8.3). Equal counts
     * or another format: not known to be older, and an unknown format must not lock the agent
     * out. */
    if (na == 0 || nb == 0) {
        return false;
    }
    return a < b;
}

int
proto_ws_check_101(const char *cap, size_t cap_len, const char *min_version, size_t min_len,
                   const char *cookie, size_t cookie_len, const char *our_version,
                   struct proto_ws_101 *out, struct ag_err *err)
{
    size_t i;

    memset(out, 0, sizeof(*out));
    out->peer_capability = PROTO_CAPABILITY_DEFAULT;
    if (cap == NULL) {
        out->cap_note = "Did not receive X-Remoting-Capability header";
    } else {
        struct ag_err cerr = {0};
        uint64_t mask = 0;

        if (proto_capability_parse(cap, cap_len, &mask, &cerr) == 0) {
            out->peer_capability = mask;
        } else {
            out->cap_note = "Cannot parse X-Remoting-Capability header; assuming the default";
        }
    }
    if (cookie != NULL && cookie_len > 0 && cookie_len <= PROTO_WS_MAX_COOKIE) {
        out->cookie_ok = true;
        for (i = 0; i < cookie_len; i++) {
            unsigned char ch = (unsigned char)cookie[i];
            if (ch <= 0x20 || ch >= 0x7f) {
                out->cookie_ok = false;
                break;
            }
        }
        if (out->cookie_ok) {
            memcpy(out->cookie, cookie, cookie_len);
            out->cookie[cookie_len] = '\0';
        }
    }
    if (min_version != NULL) {
        size_t n = min_len;

        /* Trim surrounding spaces; keep only printable ASCII. */
        while (n > 0 && min_version[0] == ' ') {
            min_version++;
            n--;
        }
        while (n > 0 && min_version[n - 1] == ' ') {
            n--;
        }
        if (n > PROTO_WS_MAX_VERSION) {
            n = PROTO_WS_MAX_VERSION;
        }
        for (i = 0; i < n; i++) {
            unsigned char ch = (unsigned char)min_version[i];
            out->min_version[i] = (ch > 0x20 && ch < 0x7f) ? (char)ch : '?';
        }
        out->min_version[n] = '\0';
        out->has_min_version = n > 0;
        if (out->has_min_version &&
            proto_ws_version_older(our_version != NULL ? our_version : AG_REMOTING_VERSION,
                                   out->min_version)) {
            return ag_err_set(err, AG_EREFUSED, 0, "Agent version %s or newer is required.",
                              out->min_version);
        }
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Context lifetime                                                                          */

static void
on_reaper_closed(uv_handle_t *h)
{
    struct ws_reaper *r = AG_CONTAINER_OF(h, struct ws_reaper, timer);

    ag_free(r);
}

struct ws_walk {
    void *ctx;
    bool found;
};

static void
on_walk(uv_handle_t *h, void *arg)
{
    struct ws_walk *w = arg;

    if (h->data == w->ctx) {
        w->found = true;
    }
}

/*
 * lws 4.1 with a foreign loop tears a context down in two calls: the first closes every wsi
 * and then its static uv handles (idle, timer), whose data pointer is the context; once they
 * are gone from the loop, a second lws_context_destroy() frees the context. Nothing in the
 * public API reports that moment, so we poll the loop's handle list.
 */
static void
on_reaper_tick(uv_timer_t *t)
{
    struct ws_reaper *r = AG_CONTAINER_OF(t, struct ws_reaper, timer);
    struct ws_walk w = {r->ctx, false};

    if (!r->started) {
        r->started = true;
        lws_context_destroy(r->ctx);
        return;
    }
    uv_walk(t->loop, on_walk, &w);
    if (w.found && ++r->ticks < WS_REAP_MAX_TICKS) {
        return;
    }
    if (w.found) {
        /* Leaking beats freeing a context whose handles the loop still holds. */
        AG_LOG_WARN(WS_LOG, "libwebsockets did not release its event loop handles; leaking a "
                            "context");
    } else {
        lws_context_destroy(r->ctx);
        SSL_CTX_free(r->ssl_ctx);
    }
    uv_timer_stop(t);
    uv_close((uv_handle_t *)t, on_reaper_closed);
}

static void
ws_reap(uv_loop_t *loop, struct lws_context *ctx, SSL_CTX *ssl_ctx)
{
    struct ws_reaper *r;

    if (ctx == NULL) {
        SSL_CTX_free(ssl_ctx);
        return;
    }
    r = ag_calloc(1, sizeof(*r));
    if (r == NULL) {
        /* Cannot defer; destroying now is still safe from outside lws callbacks, and leaking
         * the remainder is the lesser harm. */
        AG_LOG_WARN(WS_LOG, "out of memory while closing a WebSocket context; leaking it");
        return;
    }
    r->ctx = ctx;
    r->ssl_ctx = ssl_ctx;
    (void)uv_timer_init(loop, &r->timer); /* cannot fail for a valid loop */
    (void)uv_timer_start(&r->timer, on_reaper_tick, 0, WS_REAP_POLL_MS);
}

static void
ws_conn_maybe_free(struct ws_conn *c);

static void
on_conn_timer_closed(uv_handle_t *h)
{
    struct ws_conn *c = AG_CONTAINER_OF(h, struct ws_conn, timer);

    c->handles_open--;
    ws_conn_maybe_free(c);
}

static void
ws_free_memory(struct ws_conn *c)
{
    size_t i;

    ag_free(c->host_hdr);
    ag_free(c->origin_hdr);
    ag_free(c->path);
    if (c->proxy_cred != NULL) {
        volatile char *q = c->proxy_cred;

        while (*q != '\0') {
            *q++ = '\0';
        }
        ag_free(c->proxy_cred);
    }
    if (c->kind == WS_KIND_UPGRADE) {
        struct proto_ws *ws = (struct proto_ws *)c;
        struct ws_msg *m = ws->q_head;

        while (m != NULL) {
            struct ws_msg *next = m->next;
            ag_free(m);
            m = next;
        }
        for (i = 0; i < ws->n_hdrs; i++) {
            ag_free(ws->hdrs[i].name);
            ag_free(ws->hdrs[i].value);
        }
        if (ws->dec_init) {
            proto_chunk_dec_fini(&ws->dec);
        }
        ag_buf_fini(&ws->rx_pending);
        ag_free(ws->cookie);
        ag_free(ws->min_version);
        ag_free(ws->our_version);
        ag_free(ws->name);
    }
    ag_free(c);
}

static void
ws_conn_maybe_free(struct ws_conn *c)
{
    if (c->freed && c->handles_open == 0 && !c->gai_busy) {
        ws_free_memory(c);
    }
}

/* Have lws close wsi from its next service pass (we are outside its callbacks). That pass
 * also runs the timeouts that are due; with a stalled peer no socket event would ever start
 * one (SIGTERM during a frozen pre-flight then waited forever), so wake lws up. */
static void
ws_kill_async(struct lws *wsi)
{
    lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
    lws_cancel_service(lws_get_context(wsi));
}

/* Detach from lws; the memory goes once our handles have closed. */
static void
ws_conn_release(struct ws_conn *c)
{
    if (c->freed) {
        return;
    }
    c->freed = true;
    if (c->wsi != NULL) {
        /* Later callbacks for this wsi (close, destroy) then carry no user pointer. Inside a
         * callback for it, the callback returns -1 (or lws is closing it anyway); otherwise
         * lws closes it from its own loop turn. */
        lws_set_wsi_user(c->wsi, NULL);
        if (!c->wsi_dying && c->in_cb == 0) {
            ws_kill_async(c->wsi);
        }
        c->wsi = NULL;
    }
    if (c->gai_busy) {
        (void)uv_cancel((uv_req_t *)&c->gai); /* the callback still runs, with UV_ECANCELED */
    }
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, on_conn_timer_closed);
}

/* Which proxy a context serves: a vhost has one proxy setting, so each proxy (host, port and
 * credentials) gets its own context. All zeros for none. */
static void
proxy_digest(const struct proto_ws_params *p, uint8_t out[32])
{
    char port[8];
    const char *cred;

    memset(out, 0, 32);
    if (p->proxy == NULL) {
        return;
    }
    cred = p->proxy->credentials != NULL ? p->proxy->credentials : "";
    (void)snprintf(port, sizeof(port), "%u", (unsigned)p->proxy->port);
    {
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        unsigned int n = 0;

        if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
            EVP_MD_CTX_free(md);
            out[0] = 1; /* still "some proxy" */
            return;
        }
        (void)EVP_DigestUpdate(md, p->proxy->host, strlen(p->proxy->host) + 1);
        (void)EVP_DigestUpdate(md, port, strlen(port) + 1);
        (void)EVP_DigestUpdate(md, cred, strlen(cred) + 1);
        (void)EVP_DigestFinal_ex(md, out, &n);
        EVP_MD_CTX_free(md);
        out[0] |= 1; /* never all zeros */
    }
}

static void
pem_digest(const struct proto_ws_params *p, uint8_t out[32])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned int n = 0;
    size_t i;

    memset(out, 0, 32);
    if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(md);
        return;
    }
    for (i = 0; i < p->n_ca_pems; i++) {
        (void)EVP_DigestUpdate(md, p->ca_pems[i], strlen(p->ca_pems[i]) + 1);
    }
    (void)EVP_DigestFinal_ex(md, out, &n);
    EVP_MD_CTX_free(md);
}

/* Counts the loop's handles, and unrefs those from index `from` on. */
struct ws_unref_walk {
    size_t seen;
    size_t from;
    bool unref;
};

static void
on_unref_walk(uv_handle_t *h, void *arg)
{
    struct ws_unref_walk *w = arg;

    if (w->unref && w->seen >= w->from) {
        uv_unref(h);
    }
    w->seen++;
}

/* The context for this loop and TLS configuration, created on first use. */
static int
ws_shared_get(uv_loop_t *loop, bool tls, const struct proto_ws_params *p,
              struct ws_shared **out)
{
    struct lws_context_creation_info info;
    struct ws_unref_walk w;
    struct ag_err err = {0};
    struct ws_shared *sh;
    uint8_t digest[32];
    uint8_t pdigest[32];
    void *loops[1];
    int rc;

    pem_digest(p, digest);
    proxy_digest(p, pdigest);
    for (sh = s_shared; sh != NULL; sh = sh->next) {
        if (sh->loop == loop && sh->tls == tls && memcmp(sh->proxy_digest, pdigest, 32) == 0 &&
            (!tls || (sh->insecure == p->insecure && memcmp(sh->pem_digest, digest, 32) == 0))) {
            *out = sh;
            return 0;
        }
    }
    sh = ag_calloc(1, sizeof(*sh));
    if (sh == NULL) {
        return AG_ENOMEM;
    }
    sh->loop = loop;
    sh->tls = tls;
    sh->insecure = p->insecure;
    memcpy(sh->pem_digest, digest, 32);
    memcpy(sh->proxy_digest, pdigest, 32);
    if (tls) {
        rc = proto_tls_ctx_new_https(p->ca_pems, p->n_ca_pems, p->insecure, &sh->ssl_ctx, &err);
        if (rc != 0) {
            AG_LOG_SEVERE(WS_LOG, "%s", err.msg);
            ag_free(sh);
            return rc;
        }
    }
    ws_log_setup();
    memset(&info, 0, sizeof(info));
    loops[0] = loop;
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = s_protocols;
    /* Without DO_SSL_GLOBAL_INIT lws makes no client SSL_CTX of its own (it would load the
     * whole system store for nothing); with it, it takes ours. */
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_JUST_USE_RAW_ORIGIN |
                   LWS_SERVER_OPTION_UV_NO_SIGSEGV_SIGFPE_SPIN |
                   (tls ? LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT : 0);
    info.foreign_loops = loops;
    info.provided_client_ssl_ctx = sh->ssl_ctx;
    info.pt_serv_buf_size = WS_SERV_BUF;
    info.fd_limit_per_thread = 64;
    info.timeout_secs = PROTO_WS_CONNECT_TIMEOUT_MS / 1000;
    info.gid = (gid_t)-1;
    info.uid = (uid_t)-1;
    /* Without an address lws takes env http_proxy for every connection of the context, which
     * agent.jar never does for WebSocket (3.8). ":0" parses as "no proxy" (port 0). A proxied
     * connection sets the vhost's proxy right before it starts (ws_start_lws). */
    info.http_proxy_address = ":0";
    /* libuv appends new handles to the loop's list, so the ones lws_create_context makes
     * (idle, timer, the event pipe's poll) are those after the current count. */
    w.seen = 0;
    w.unref = false;
    uv_walk(loop, on_unref_walk, &w);
    w.from = w.seen;
    sh->ctx = lws_create_context(&info);
    if (sh->ctx == NULL) {
        AG_LOG_SEVERE(WS_LOG, "cannot create a libwebsockets context on our libuv loop (is the "
                              "libwebsockets-evlib_uv plugin installed?)");
        SSL_CTX_free(sh->ssl_ctx);
        ag_free(sh);
        return AG_EINTERNAL;
    }
    sh->vhost = lws_get_vhost_by_name(sh->ctx, "default");
    /* lws's own handles (idle, timer, event pipe) must not keep the loop alive between
     * connections: only a connection (its socket watcher) or our own timers do. */
    w.seen = 0;
    w.unref = true;
    uv_walk(loop, on_unref_walk, &w);
    sh->next = s_shared;
    s_shared = sh;
    *out = sh;
    return 0;
}

void
proto_ws_shutdown(uv_loop_t *loop)
{
    struct ws_shared **pp = &s_shared;

    while (*pp != NULL) {
        struct ws_shared *sh = *pp;
        if (sh->loop != loop) {
            pp = &sh->next;
            continue;
        }
        *pp = sh->next;
        ws_reap(loop, sh->ctx, sh->ssl_ctx);
        ag_free(sh);
    }
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res);
static void on_deadline(uv_timer_t *t);

/* The parts of connect and preflight that are the same: URL, TLS, context, resolver. */
static int
ws_conn_start(struct ws_conn *c, uv_loop_t *loop, const struct proto_ws_params *p,
              const char *suffix, const char *host_override, const char *origin_override)
{
    char hostport[300];
    size_t pl;
    struct addrinfo hints;
    int rc;

    c->loop = loop;
    rc = proto_ws_parse_url(p->base_url, &c->url);
    if (rc != 0) {
        AG_LOG_SEVERE(WS_LOG, "not an http(s) URL: %s", p->base_url);
        return rc;
    }
    if (strchr(c->url.host, ':') != NULL) {
        rc = ag_snprintf(hostport, sizeof(hostport), "[%s]", c->url.host);
    } else {
        rc = ag_snprintf(hostport, sizeof(hostport), "%s", c->url.host);
    }
    if (rc == 0 && c->url.port != (c->url.tls ? 443 : 80)) {
        size_t hl = strlen(hostport);
        rc = ag_snprintf(hostport + hl, sizeof(hostport) - hl, ":%u", (unsigned)c->url.port);
    }
    if (rc != 0) {
        return AG_EUSAGE;
    }
    c->host_hdr = ag_strdup(host_override != NULL ? host_override : hostport);
    c->origin_hdr = ag_strdup(origin_override != NULL ? origin_override : c->host_hdr == NULL
                                                                             ? hostport
                                                                             : c->host_hdr);
    pl = strlen(c->url.path) + strlen(suffix) + 1;
    c->path = ag_malloc(pl);
    if (c->host_hdr == NULL || c->origin_hdr == NULL || c->path == NULL) {
        return AG_ENOMEM;
    }
    rc = ag_snprintf(c->path, pl, "%s%s", c->url.path, suffix);
    if (rc != 0) {
        return AG_EINTERNAL;
    }
    c->insecure = p->insecure;
    if (p->proxy != NULL) {
        const char *cred = p->proxy->credentials;

        if (cred != NULL && (strlen(cred) > PROTO_WS_MAX_PROXY_CRED || has_ctl(cred))) {
            AG_LOG_SEVERE(WS_LOG, "-proxyCredentials: at most %d bytes without control "
                                  "characters can be used for WebSocket",
                          PROTO_WS_MAX_PROXY_CRED);
            return AG_EUSAGE;
        }
        if (has_ctl(p->proxy->host) || p->proxy->host[0] == '\0' || p->proxy->port == 0 ||
            strchr(p->proxy->host, '@') != NULL) {
            AG_LOG_SEVERE(WS_LOG, "invalid HTTP proxy host for WebSocket");
            return AG_EUSAGE;
        }
        c->proxied = true;
        (void)snprintf(c->proxy_host, sizeof(c->proxy_host), "%s", p->proxy->host);
        c->proxy_port = p->proxy->port;
        if (cred != NULL) {
            c->proxy_cred = ag_strdup(cred);
            if (c->proxy_cred == NULL) {
                return AG_ENOMEM;
            }
        }
    }
    c->connect_ms = p->connect_ms != 0 ? p->connect_ms : PROTO_WS_CONNECT_TIMEOUT_MS;
    rc = ws_shared_get(loop, c->url.tls, p, &c->sh);
    if (rc != 0) {
        return rc;
    }

    (void)uv_timer_init(loop, &c->timer);
    c->handles_open++;
    rc = uv_timer_start(&c->timer, on_deadline, c->connect_ms, 0);
    if (rc != 0) {
        return rc;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    c->state = WS_RESOLVING;
    /* Through a proxy only the proxy's name is resolved; the proxy resolves the target. */
    rc = uv_getaddrinfo(loop, &c->gai, on_resolved, c->proxied ? c->proxy_host : c->url.host,
                        NULL, &hints);
    if (rc != 0) {
        return rc;
    }
    c->gai_busy = true;
    return 0;
}

/* A start that failed part way: undo what ws_conn_start did. */
static void
ws_conn_abort(struct ws_conn *c)
{
    if (c->handles_open == 0 && !c->gai_busy) {
        ws_free_memory(c);
        return;
    }
    ws_conn_release(c);
}

/* ---------------------------------------------------------------------------------------- */
/* Reporting connect results                                                                 */

static void
ws_connect_done(struct proto_ws *ws, int status, const char *why)
{
    if (ws->c.state == WS_CLOSED || ws->c.state == WS_OPEN) {
        return;
    }
    uv_timer_stop(&ws->c.timer);
    ws->c.state = status == 0 ? WS_OPEN : WS_CLOSED;
    if (ws->cb != NULL) {
        ws->cb(ws, status, why, ws->cb_arg);
    }
}

static void
preflight_done(struct proto_ws_preflight *pf, int status, const char *why)
{
    if (pf->c.state == WS_CLOSED) {
        return;
    }
    uv_timer_stop(&pf->c.timer);
    pf->c.state = WS_CLOSED;
    if (pf->cb != NULL) {
        pf->cb(pf, status, why, pf->cb_arg);
    }
}

static void
conn_fail(struct ws_conn *c, int status, const char *why)
{
    if (c->kind == WS_KIND_UPGRADE) {
        ws_connect_done((struct proto_ws *)c, status, why);
    } else {
        preflight_done((struct proto_ws_preflight *)c, status, why);
    }
}

static void
on_deadline(uv_timer_t *t)
{
    struct ws_conn *c = AG_CONTAINER_OF(t, struct ws_conn, timer);
    char why[96];

    if (c->state != WS_RESOLVING && c->state != WS_CONNECTING) {
        return;
    }
    if (c->connect_ms % 1000 == 0) {
        textf(why, sizeof(why), "no answer from %s within %llu seconds", c->host_hdr,
              (unsigned long long)(c->connect_ms / 1000));
    } else {
        textf(why, sizeof(why), "no answer from %s within %llu ms", c->host_hdr,
              (unsigned long long)c->connect_ms);
    }
    /* The owner frees us, which kills the connection attempt with the context. */
    conn_fail(c, AG_ETIMEDOUT, why);
}

/* One line that says what to fix, per HTTP status of a refused upgrade (section 5.1 step 4). */
static const char *
upgrade_hint(int status)
{
    switch (status) {
    case 400:
        return "the controller rejected the agent: unknown node name, the node is not an "
               "inbound agent, or it is already connected (check the agent name and the "
               "controller's log)";
    case 401:
        return "authentication required: a reverse proxy in front of Jenkins wants "
               "credentials (add them with -webSocketHeader)";
    case 403:
        return "wrong secret for this agent name (check -secret / JENKINS_SECRET)";
    case 404:
        return "no WebSocket endpoint at this URL: WebSocket is not enabled on the controller "
               "(or its container), or -url does not point at Jenkins";
    case 405:
        return "the server does not accept this request at this URL (check -url)";
    case 407:
        return "proxy authentication required";
    case 500:
        return "the controller failed while accepting the agent (a malformed "
               "Connection-Cookie or capability?); see the controller's log";
    case 502:
    case 503:
    case 504:
        return "the controller or a proxy in front of it is not available (starting up?)";
    default:
        break;
    }
    if (status >= 300 && status < 400) {
        return "the controller redirected the WebSocket request (check -url: scheme, host and "
               "context path)";
    }
    return "unexpected response to the WebSocket upgrade";
}

/* ---------------------------------------------------------------------------------------- */
/* Link: write side                                                                          */

static void
ws_link_fail(struct proto_ws *ws, int code, const char *why)
{
    if (ws->fail_code == 0) {
        ws->fail_code = code;
        textf(ws->c.why, sizeof(ws->c.why), "%s", why);
    }
}

/* XOR p with the 4-byte masking key (RFC 6455 5.3), the key's byte 0 at p[0]. Eight bytes at a
 * time: lws's own loop goes byte by byte through its wsi and cost half the agent's CPU when
 * streaming output. */
static void
ws_mask(uint8_t *p, size_t n, const uint8_t key[4])
{
    uint8_t k8b[8] = {key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3]};
    uint64_t k8;
    size_t i = 0;

    memcpy(&k8, k8b, sizeof(k8));
    for (; i + 8 <= n; i += 8) {
        uint64_t w;

        memcpy(&w, p + i, sizeof(w));
        w ^= k8;
        memcpy(p + i, &w, sizeof(w));
    }
    for (; i < n; i++) {
        p[i] ^= key[i & 3u];
    }
}

/* One chunk as a complete client frame (RFC 6455 5.2): FIN + binary, the masked length, a fresh
 * random masking key, then the chunk header and payload, masked. Returns NULL without memory or
 * randomness. */
static struct ws_msg *
ws_frame_new(const uint8_t *payload, size_t n, bool more)
{
    size_t plen = 2 + n; /* chunk header + payload: at most 8194 */
    size_t hl = plen < 126 ? 2 : 4;
    struct ws_msg *m = ag_malloc(sizeof(*m) + hl + 4 + plen);
    uint8_t *f;

    if (m == NULL) {
        return NULL;
    }
    f = m->data;
    f[0] = 0x82; /* FIN, binary */
    if (hl == 2) {
        f[1] = (uint8_t)(0x80u | plen);
    } else {
        f[1] = 0x80u | 126u;
        f[2] = (uint8_t)(plen >> 8);
        f[3] = (uint8_t)(plen & 0xffu);
    }
    if (RAND_bytes(f + hl, 4) != 1) {
        ag_free(m);
        return NULL;
    }
    f[hl + 4] = (uint8_t)((more ? 0x80u : 0u) | (unsigned)(n >> 8));
    f[hl + 5] = (uint8_t)(n & 0xffu);
    memcpy(f + hl + 6, payload, n);
    ws_mask(f + hl + 4, plen, f + hl);
    m->next = NULL;
    m->len = hl + 4 + plen;
    m->payload = n;
    return m;
}

static int
ws_link_send(struct proto_link *link, struct ag_iov cmd)
{
    struct proto_ws *ws = AG_CONTAINER_OF(link, struct proto_ws, link);
    size_t off = 0;
    size_t total = 0;
    struct ws_msg *head = NULL;
    struct ws_msg *tail = NULL;

    if (ws->c.state != WS_OPEN || ws->close_requested || ws->fail_code != 0 ||
        ws->c.wsi == NULL) {
        return AG_ECLOSED;
    }
    if (cmd.len == 0) {
        return AG_EINTERNAL;
    }
    if (!ag_size_add(ws->link.queued, cmd.len, &total) || total > PROTO_WS_MAX_QUEUED) {
        return AG_ELIMIT;
    }
    /* Section 5.2: one chunk per binary message, at most 8192 payload bytes each. */
    while (off < cmd.len) {
        size_t n = cmd.len - off;
        bool more;
        struct ws_msg *m;

        if (n > PROTO_CHUNK_SEND_LEN) {
            n = PROTO_CHUNK_SEND_LEN;
        }
        more = off + n < cmd.len;
        m = ws_frame_new(cmd.base + off, n, more);
        if (m == NULL) {
            while (head != NULL) {
                struct ws_msg *next = head->next;
                ag_free(head);
                head = next;
            }
            return AG_ENOMEM;
        }
        if (tail == NULL) {
            head = m;
        } else {
            tail->next = m;
        }
        tail = m;
        off += n;
    }
    if (ws->q_tail == NULL) {
        ws->q_head = head;
    } else {
        ws->q_tail->next = head;
    }
    ws->q_tail = tail;
    ws->link.queued = total;
    if (total > ws->link.high_water) {
        ws->over_high = true;
    }
    AG_TRACE(AG_TRACE_WS, "queued a command of %zu bytes (%zu queued)", cmd.len, total);
    lws_callback_on_writable(ws->c.wsi);
    return 0;
}

/* LWS_CALLBACK_CLIENT_WRITEABLE: one message per call, as lws wants. Returns -1 to close. */
static int
ws_on_writeable(struct proto_ws *ws, struct lws *wsi)
{
    struct ws_msg *m = ws->q_head;
    int n;

    if (ws->fail_code != 0 || ws->aborted) {
        return -1;
    }
    if (m != NULL) {
        /* Several messages per callback while the socket takes them: one per loop turn costs
         * an epoll round trip per 8 KiB. lws_send_pipe_choked() is true once lws holds unsent
         * bytes or the socket is full, and lws then calls us again when it has drained. */
        unsigned burst = 0;

        do {
            /* The frame is complete and masked already: LWS_WRITE_HTTP makes lws's ws role hand
             * the bytes to the socket (or TLS) as they are, keeping what the socket does not
             * take yet and writing it first when it drains. */
            n = lws_write(wsi, m->data, m->len, LWS_WRITE_HTTP);
            if (n < 0) {
                ws_link_fail(ws, AG_ECLOSED, "write to the controller failed");
                return -1;
            }
            ws->q_head = m->next;
            if (ws->q_head == NULL) {
                ws->q_tail = NULL;
            }
            ws->link.queued -= m->payload;
            ag_free(m);
            m = ws->q_head;
        } while (m != NULL && ++burst < WS_WRITE_BURST && !lws_send_pipe_choked(wsi));
        if (ws->over_high && ws->link.queued < PROTO_WS_LOW_WATER) {
            ws->over_high = false;
            if (ws->link.on_drain != NULL) {
                ws->link.on_drain(&ws->link, ws->link.cb_arg);
                if (ws->c.freed) {
                    return -1;
                }
            }
        }
        if (ws->close_requested) {
            /* Still draining before the close frame: the 5 s count from the last progress. */
            lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_SEND, 5);
        }
        if (ws->q_head != NULL || ws->close_requested) {
            lws_callback_on_writable(wsi);
        }
        return 0;
    }
    if (ws->close_requested && !ws->close_sent) {
        /* Not lws_close_reason() plus return -1: Debian's lws 4.1.6 is a _DEBUG build whose
         * libuv service path then calls close twice in a row ("uv repeat test"), and the second
         * call kills the socket before the close frame goes out. So we write the close frame
         * (status 1000) ourselves and finish when the controller echoes it, or after 5 s. */
        uint8_t frame[LWS_PRE + 2];

        frame[LWS_PRE] = (uint8_t)(LWS_CLOSE_STATUS_NORMAL >> 8);
        frame[LWS_PRE + 1] = (uint8_t)(LWS_CLOSE_STATUS_NORMAL & 0xff);
        ws->close_sent = true;
        if (lws_write(wsi, frame + LWS_PRE, 2, WS_LWS_WRITE_CLOSE) < 0) {
            return -1;
        }
        lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_ACK, 5);
    }
    return 0;
}

static void
ws_link_close(struct proto_link *link)
{
    struct proto_ws *ws = AG_CONTAINER_OF(link, struct proto_ws, link);

    if (ws->close_requested || ws->c.state != WS_OPEN) {
        return;
    }
    ws->close_requested = true;
    if (ws->c.wsi != NULL) {
        /* A stalled peer may never make the socket writable again: give up after 5 s without
         * progress (the close frame, once written, waits another 5 s for its echo). */
        lws_set_timeout(ws->c.wsi, PENDING_TIMEOUT_CLOSE_SEND, 5);
        lws_callback_on_writable(ws->c.wsi);
        lws_cancel_service(lws_get_context(ws->c.wsi)); /* re-arms lws's timer for it */
    }
}

/* The peer is dead: no close frame, no waiting for its echo. lws closes the socket from its
 * next service pass (a timeout close with no status sends nothing); inside one of our lws
 * callbacks, the callback also returns -1. on_closed follows from LWS_CALLBACK_CLIENT_CLOSED. */
static void
ws_link_abort(struct proto_link *link)
{
    struct proto_ws *ws = AG_CONTAINER_OF(link, struct proto_ws, link);

    if (ws->aborted || ws->c.state != WS_OPEN) {
        return;
    }
    ws->aborted = true;
    ws->close_requested = true;
    if (ws->c.wsi != NULL && !ws->c.wsi_dying) {
        ws_kill_async(ws->c.wsi);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Link: read side                                                                           */

/* Feed bytes to the chunk decoder and deliver commands until paused. Returns the bytes
 * consumed, or a negative code after which the link must close. */
static ssize_t
ws_rx_feed(struct proto_ws *ws, const uint8_t *p, size_t n)
{
    size_t off = 0;

    while (off < n && !ws->paused) {
        struct ag_err err = {0};
        struct ag_iov cmd;
        ssize_t used = proto_chunk_feed(&ws->dec, p + off, n - off, &err);

        if (used < 0) {
            char msg[200];
            AG_LOG_WARN(WS_LOG, "%s at offset %" PRIu64 ", while reading from the controller",
                        err.msg, err.offset);
            textf(msg, sizeof(msg), "invalid framing from controller: %s", err.msg);
            ws_link_fail(ws, (int)used, msg);
            return used;
        }
        off += (size_t)used;
        if (proto_chunk_next(&ws->dec, &cmd)) {
            AG_TRACE(AG_TRACE_WS, "received a command of %zu bytes", cmd.len);
            if (ws->link.on_command != NULL) {
                ws->link.on_command(&ws->link, cmd, ws->link.cb_arg);
            }
            if (ws->c.freed || ws->fail_code != 0 || ws->c.state != WS_OPEN) {
                return (ssize_t)off;
            }
        }
    }
    return (ssize_t)off;
}

/* Keep what the channel is not ready for. */
static int
ws_rx_stash(struct proto_ws *ws, const uint8_t *p, size_t n)
{
    if (n == 0) {
        return 0;
    }
    if (ag_buf_append(&ws->rx_pending, p, n) != 0) {
        ws_link_fail(ws, AG_ELIMIT, "too much input buffered while the channel paused reading");
        return AG_ELIMIT;
    }
    if (!ws->rx_blocked && ws->c.wsi != NULL) {
        ws->rx_blocked = true;
        (void)lws_rx_flow_control(ws->c.wsi, 0);
    }
    return 0;
}

static int
ws_on_receive(struct proto_ws *ws, struct lws *wsi, const uint8_t *in, size_t len)
{
    ssize_t used;

    if (!lws_frame_is_binary(wsi)) {
        if (!ws->warned_text) {
            ws->warned_text = true;
            AG_LOG_WARN(WS_LOG, "unexpected text frame from the controller, ignored");
        }
        return 0;
    }
    if (ws->paused || ws->rx_pending.len > 0) {
        return ws_rx_stash(ws, in, len) == 0 ? 0 : -1;
    }
    used = ws_rx_feed(ws, in, len);
    if (used < 0 || ws->fail_code != 0 || ws->aborted) {
        return -1;
    }
    if (ws->c.freed || ws->c.state != WS_OPEN) {
        return ws->c.freed ? -1 : 0;
    }
    if ((size_t)used < len) {
        return ws_rx_stash(ws, in + used, len - (size_t)used) == 0 ? 0 : -1;
    }
    return 0;
}

static void
on_resume(uv_timer_t *t)
{
    struct proto_ws *ws = (struct proto_ws *)AG_CONTAINER_OF(t, struct ws_conn, timer);
    ssize_t used;

    if (ws->c.state != WS_OPEN || ws->paused || ws->c.wsi == NULL) {
        return;
    }
    if (ws->rx_pending.len > 0) {
        used = ws_rx_feed(ws, ws->rx_pending.data, ws->rx_pending.len);
        if (ws->c.freed) {
            return;
        }
        if (used < 0 || ws->fail_code != 0) {
            /* Outside an lws callback: ask lws to close the connection from its loop. */
            if (ws->c.wsi != NULL) {
                ws_kill_async(ws->c.wsi);
            }
            return;
        }
        ag_buf_consume(&ws->rx_pending, (size_t)used);
    }
    if (ws->rx_pending.len == 0 && !ws->paused && ws->rx_blocked && ws->c.wsi != NULL) {
        ws->rx_blocked = false;
        (void)lws_rx_flow_control(ws->c.wsi, 1);
    }
}

static void
ws_link_pause_read(struct proto_link *link, bool paused)
{
    struct proto_ws *ws = AG_CONTAINER_OF(link, struct proto_ws, link);

    if (ws->c.state != WS_OPEN || ws->paused == paused) {
        return;
    }
    ws->paused = paused;
    if (paused) {
        if (!ws->rx_blocked && ws->c.wsi != NULL) {
            ws->rx_blocked = true;
            (void)lws_rx_flow_control(ws->c.wsi, 0);
        }
        return;
    }
    /* Resume from the loop, not from inside the caller (it may be in on_command). */
    (void)uv_timer_start(&ws->c.timer, on_resume, 0, 0);
}

static const struct proto_link_vtbl s_ws_vtbl = {
    "WebSocket",
    ws_link_send,
    ws_link_pause_read,
    ws_link_close,
    ws_link_abort,
};

/* ---------------------------------------------------------------------------------------- */
/* Upgrade headers                                                                           */

static int
ws_add_header(struct proto_ws *ws, const char *name, size_t name_len, const char *value)
{
    struct ws_hdr *h;
    size_t i;

    if (!valid_header_name(name, name_len) || has_ctl(value)) {
        return AG_EUSAGE;
    }
    for (i = 0; i < ws->n_hdrs; i++) {
        if (strlen(ws->hdrs[i].name) == name_len &&
            strncasecmp(ws->hdrs[i].name, name, name_len) == 0) {
            /* -webSocketHeader replaces a same-named header, keeping its position. */
            char *v = ag_strdup(value);
            if (v == NULL) {
                return AG_ENOMEM;
            }
            ag_free(ws->hdrs[i].value);
            ws->hdrs[i].value = v;
            return 0;
        }
    }
    if (ws->n_hdrs == WS_MAX_HEADERS) {
        return AG_ELIMIT;
    }
    h = &ws->hdrs[ws->n_hdrs];
    h->name = ag_strndup(name, name_len);
    h->value = ag_strdup(value);
    if (h->name == NULL || h->value == NULL) {
        ag_free(h->name);
        ag_free(h->value);
        h->name = NULL;
        h->value = NULL;
        return AG_ENOMEM;
    }
    ws->n_hdrs++;
    return 0;
}

/* LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: *pp is where lws writes, len what is left. */
static int
ws_append_headers(struct proto_ws *ws, char **pp, size_t len)
{
    char *p = *pp;
    char *end = p + len;
    size_t i;

    for (i = 0; i < ws->n_hdrs; i++) {
        size_t nl = strlen(ws->hdrs[i].name);
        size_t vl = strlen(ws->hdrs[i].value);

        if ((size_t)(end - p) < nl + vl + 4) {
            textf(ws->c.why, sizeof(ws->c.why),
                              "request headers too long (at %s)", ws->hdrs[i].name);
            ws->fail_code = AG_ELIMIT;
            return -1;
        }
        memcpy(p, ws->hdrs[i].name, nl);
        p += nl;
        *p++ = ':';
        *p++ = ' ';
        memcpy(p, ws->hdrs[i].value, vl);
        p += vl;
        *p++ = '\r';
        *p++ = '\n';
    }
    *pp = p;
    return 0;
}

/* Copy a custom response header; NULL when absent. name includes the colon. */
static const char *
get_header(struct lws *wsi, const char *name, char *buf, size_t size, size_t *out_len)
{
    char lower[64];
    size_t nl = strlen(name);
    size_t i;
    int n;

    n = lws_hdr_custom_length(wsi, name, (int)nl);
    if (n < 0 && nl < sizeof(lower)) {
        /* lws matches the name as sent; try the lower-case spelling too. */
        for (i = 0; i <= nl; i++) {
            char ch = name[i];
            lower[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
        }
        name = lower;
        n = lws_hdr_custom_length(wsi, name, (int)nl);
    }
    if (n < 0) {
        return NULL;
    }
    if ((size_t)n >= size) {
        /* Too long for any valid value: hand back a prefix, which the checks then reject. */
        n = (int)size - 1;
    }
    if (lws_hdr_custom_copy(wsi, buf, (int)size, name, (int)nl) < 0) {
        /* Did not fit: lws copies nothing; report an empty value of impossible length. */
        memset(buf, '?', size - 1);
        buf[size - 1] = '\0';
        *out_len = size - 1;
        return buf;
    }
    *out_len = strlen(buf);
    return buf;
}

/* LWS_CALLBACK_CLIENT_FILTER_PRE_ESTABLISH: the 101 arrived; check its headers. */
static int
ws_filter_101(struct proto_ws *ws, struct lws *wsi)
{
    char cap[256];
    char minv[PROTO_WS_MAX_VERSION + 8];
    char cookie[PROTO_WS_MAX_COOKIE + 8];
    size_t cap_len = 0;
    size_t min_len = 0;
    size_t cookie_len = 0;
    const char *capp = get_header(wsi, "X-Remoting-Capability:", cap, sizeof(cap), &cap_len);
    const char *minp = get_header(wsi, "X-Remoting-Minimum-Version:", minv, sizeof(minv),
                                  &min_len);
    const char *cookiep = get_header(wsi, "Connection-Cookie:", cookie, sizeof(cookie),
                                     &cookie_len);
    struct proto_ws_101 r;
    struct ag_err err = {0};
    int rc;

    ws->http_status = 101;
    rc = proto_ws_check_101(capp, cap_len, minp, min_len, cookiep, cookie_len, ws->our_version,
                            &r, &err);
    if (r.has_min_version) {
        ws->min_version = ag_strdup(r.min_version);
    }
    if (rc != 0) {
        ws->fatal = true;
        ws->fail_code = rc;
        textf(ws->c.why, sizeof(ws->c.why), "%s", err.msg); /* the caller logs it */
        return -1;
    }
    if (r.cap_note != NULL) {
        AG_LOG_WARN(WS_LOG, "%s", r.cap_note);
    }
    if (cookiep != NULL && !r.cookie_ok) {
        AG_LOG_WARN(WS_LOG, "ignoring a malformed Connection-Cookie from the controller");
    }
    if (r.cookie_ok) {
        ws->cookie = ag_strdup(r.cookie);
        if (ws->cookie == NULL) {
            ws->fail_code = AG_ENOMEM;
            textf(ws->c.why, sizeof(ws->c.why), "out of memory");
            return -1;
        }
    }
    ws->link.peer_capability = r.peer_capability;
    return 0;
}

/* The text of a connection error lws reported (in may be NULL). Its proxy failures get a
 * line that names the proxy: lws keeps the proxy's reply to itself, so a 407 and a 403 from
 * the proxy look the same here. */
static void
conn_error_text(const struct ws_conn *c, const char *in, size_t len, char *why, size_t size)
{
    if (c->proxied && in != NULL && len >= 6 && strncmp(in, "proxy ", 6) == 0) {
        const char *what = strncmp(in, "proxy not h1", len) == 0
                               ? "did not answer 200 (check -proxyCredentials, and that the "
                                 "proxy allows CONNECT to that port)"
                               : "closed or failed the connection";

        textf(why, size, "HTTP proxy %s:%u %s for CONNECT %s:%u", c->proxy_host,
              (unsigned)c->proxy_port, what, c->url.host, (unsigned)c->url.port);
        return;
    }
    if (in != NULL && len > 0) {
        char esc[128];

        ag_escape(esc, sizeof(esc), (const uint8_t *)in, len, 100);
        textf(why, size, "%s (%s:%u%s%s)", esc, c->url.host, (unsigned)c->url.port,
              c->proxied ? " through the HTTP proxy " : "", c->proxied ? c->proxy_host : "");
    } else {
        textf(why, size, "connection to %s:%u failed", c->url.host, (unsigned)c->url.port);
    }
}

static void
ws_on_connection_error(struct proto_ws *ws, struct lws *wsi, const char *in, size_t len)
{
    char why[224];
    unsigned status = lws_http_client_http_response(wsi);

    if (ws->fail_code != 0) {
        ws_connect_done(ws, ws->fail_code, ws->c.why);
        return;
    }
    if (status != 0 && status != 101) {
        ws->http_status = (int)status;
        textf(why, sizeof(why), "HTTP %u from %s: %s", status, ws->c.path,
                          upgrade_hint((int)status));
        /* The supervisor logs why ("Failed to connect: ..."); one line is enough. */
        AG_LOG_DEBUG(WS_LOG, "agent %s: %s", ws->name, why);
        ws_connect_done(ws, AG_EREFUSED, why);
        return;
    }
    conn_error_text(&ws->c, in, len, why, sizeof(why));
    ws_connect_done(ws, strstr(why, "HS:") != NULL ? AG_EPROTO : AG_ECLOSED, why);
}

static void
ws_on_closed(struct proto_ws *ws)
{
    char why[200];
    int code;

    if (ws->c.state != WS_OPEN) {
        return;
    }
    ws->c.state = WS_CLOSED;
    uv_timer_stop(&ws->c.timer);
    if (ws->fail_code != 0) {
        code = ws->fail_code;
        textf(why, sizeof(why), "%s", ws->c.why);
    } else if (ws->close_requested) {
        code = 0;
        textf(why, sizeof(why), ws->aborted ? "aborted" : "closed");
    } else if (ws->close_code != 0) {
        code = AG_ECLOSED;
        textf(why, sizeof(why), "controller closed the connection (%d%s%s)",
                          ws->close_code, ws->close_reason[0] != '\0' ? ": " : "",
                          ws->close_reason);
    } else {
        code = AG_ECLOSED;
        textf(why, sizeof(why), "connection to the controller lost");
    }
    if (ws->link.on_closed != NULL) {
        ws->link.on_closed(&ws->link, code, why, ws->link.cb_arg);
    }
}

static int
ws_start_lws(struct ws_conn *c, const char *address)
{
    struct lws_client_connect_info ci;
    int flags = 0;

    memset(&ci, 0, sizeof(ci));
    if (c->proxied) {
        /* lws connects to the vhost's proxy (address: the one we resolved) and sends
         * "CONNECT <ci.address>:<port>" with Proxy-authorization from the "user:pass@" part. */
        char spec[PROTO_WS_MAX_PROXY_CRED + INET6_ADDRSTRLEN + 16];
        bool v6 = strchr(address, ':') != NULL;

        if (c->sh->vhost == NULL ||
            ag_snprintf(spec, sizeof(spec), "%s%s%s%s%s:%u",
                        c->proxy_cred != NULL ? c->proxy_cred : "",
                        c->proxy_cred != NULL ? "@" : "", v6 ? "[" : "", address, v6 ? "]" : "",
                        (unsigned)c->proxy_port) != 0 ||
            lws_set_proxy(c->sh->vhost, spec) != 0) {
            memset(spec, 0, sizeof(spec)); /* not logged; gone at once */
            return AG_EINTERNAL;
        }
        memset(spec, 0, sizeof(spec)); /* not logged; gone at once */
        address = c->url.host;
    }
    ci.context = c->sh->ctx;
    ci.address = address;
    ci.port = c->url.port;
    ci.path = c->path;
    ci.host = c->host_hdr;
    if (c->url.tls) {
        flags |= LCCSCF_USE_SSL;
        ci.alpn = "http/1.1";
        if (c->insecure) {
            flags |= LCCSCF_ALLOW_SELFSIGNED | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK |
                     LCCSCF_ALLOW_EXPIRED | LCCSCF_ALLOW_INSECURE;
        }
    }
    if (c->kind == WS_KIND_UPGRADE) {
        ci.origin = c->origin_hdr;
        flags |= LCCSCF_HTTP_NO_FOLLOW_REDIRECT;
    } else {
        ci.method = "GET";
    }
    ci.ssl_connection = flags;
    ci.retry_and_idle_policy = &s_no_idle_policy;
    ci.local_protocol_name = WS_PROTOCOL_NAME;
    ci.userdata = c;
    ci.pwsi = &c->wsi;
    c->state = WS_CONNECTING;
    if (lws_client_connect_via_info(&ci) == NULL) {
        /* lws may have reported CONNECTION_ERROR already; conn_fail ignores a second report. */
        c->wsi = NULL;
        return AG_EINTERNAL;
    }
    return 0;
}

static void
on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct ws_conn *c = AG_CONTAINER_OF(req, struct ws_conn, gai);
    char addr[INET6_ADDRSTRLEN];
    char why[320];
    const void *src = NULL;

    c->gai_busy = false;
    if (c->freed) {
        uv_freeaddrinfo(res);
        ws_conn_maybe_free(c);
        return;
    }
    if (status != 0 || res == NULL) {
        uv_freeaddrinfo(res);
        textf(why, sizeof(why), "cannot resolve %s%s: %s",
              c->proxied ? "the HTTP proxy " : "", c->proxied ? c->proxy_host : c->url.host,
              uv_strerror(status));
        conn_fail(c, status != 0 ? status : UV_EAI_NONAME, why);
        return;
    }
    if (res->ai_family == AF_INET) {
        src = &((const struct sockaddr_in *)(const void *)res->ai_addr)->sin_addr;
    } else if (res->ai_family == AF_INET6) {
        src = &((const struct sockaddr_in6 *)(const void *)res->ai_addr)->sin6_addr;
    }
    if (src == NULL || inet_ntop(res->ai_family, src, addr, sizeof(addr)) == NULL) {
        uv_freeaddrinfo(res);
        textf(why, sizeof(why), "cannot resolve %s: no usable address",
                          c->url.host);
        conn_fail(c, UV_EAI_NONAME, why);
        return;
    }
    uv_freeaddrinfo(res);
    if (c->proxied) {
        AG_TRACE(AG_TRACE_WS, "connecting to %s:%u through the HTTP proxy %s (%s) port %u",
                 c->url.host, (unsigned)c->url.port, c->proxy_host, addr,
                 (unsigned)c->proxy_port);
    } else {
        AG_TRACE(AG_TRACE_WS, "connecting to %s (%s) port %u", c->url.host, addr,
                 (unsigned)c->url.port);
    }
    if (ws_start_lws(c, addr) != 0 && !c->freed) {
        textf(why, sizeof(why), "cannot start a connection to %s:%u", c->url.host,
                          (unsigned)c->url.port);
        conn_fail(c, AG_ECLOSED, why);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* The lws callback                                                                          */

static int on_lws_conn(struct ws_conn *c, struct lws *wsi, enum lws_callback_reasons reason,
                       void *in, size_t len);

static int
on_lws(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    struct ws_conn *c;
    int rc;

    if (reason == LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION) {
        /* Here user is the X509_STORE_CTX; our object is the wsi's user pointer. */
        c = lws_wsi_user(wsi);
        if (c != NULL && c->insecure) {
            X509_STORE_CTX_set_error((X509_STORE_CTX *)user, X509_V_OK);
        }
        return 0;
    }
    switch (reason) {
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
    case LWS_CALLBACK_CLIENT_FILTER_PRE_ESTABLISH:
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
    case LWS_CALLBACK_CLIENT_RECEIVE:
    case LWS_CALLBACK_CLIENT_WRITEABLE:
    case LWS_CALLBACK_CLIENT_CLOSED:
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
    case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
    case LWS_CALLBACK_RECEIVE_CLIENT_HTTP:
    case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
    case LWS_CALLBACK_WSI_DESTROY:
        break;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
    c = user;
    if (c == NULL || c->freed) {
        return reason == LWS_CALLBACK_WSI_DESTROY ? 0 : -1;
    }
    if (reason == LWS_CALLBACK_WSI_DESTROY) {
        if (c->wsi == wsi) {
            c->wsi = NULL;
        }
        return 0;
    }
    if (reason == LWS_CALLBACK_CLIENT_CLOSED || reason == LWS_CALLBACK_CLIENT_CONNECTION_ERROR ||
        reason == LWS_CALLBACK_CLOSED_CLIENT_HTTP) {
        c->wsi_dying = true;
    }
    c->in_cb++;
    rc = on_lws_conn(c, wsi, reason, in, len);
    c->in_cb--; /* c is still valid: its memory goes only from a close callback */
    return rc;
}

static int
on_lws_conn(struct ws_conn *c, struct lws *wsi, enum lws_callback_reasons reason, void *in,
            size_t len)
{

    if (c->kind == WS_KIND_PREFLIGHT) {
        struct proto_ws_preflight *pf = (struct proto_ws_preflight *)c;
        char why[224];

        switch (reason) {
        case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
            preflight_done(pf, (int)lws_http_client_http_response(wsi), NULL);
            return -1; /* the body does not matter */
        case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
            conn_error_text(c, in, in != NULL ? strnlen(in, len) : 0, why, sizeof(why));
            preflight_done(pf, AG_ECLOSED, why);
            return 0;
        case LWS_CALLBACK_RECEIVE_CLIENT_HTTP:
        case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
            return 0;
        default:
            return 0;
        }
    }

    {
        struct proto_ws *ws = (struct proto_ws *)c;

        switch (reason) {
        case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
            return ws_append_headers(ws, (char **)in, len);
        case LWS_CALLBACK_CLIENT_FILTER_PRE_ESTABLISH:
            return ws_filter_101(ws, wsi);
        case LWS_CALLBACK_CLIENT_ESTABLISHED:
            ws_connect_done(ws, 0, NULL);
            return ws->c.freed ? -1 : 0;
        case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
            ws_on_connection_error(ws, wsi, in, in != NULL ? strnlen(in, len) : 0);
            return 0;
        case LWS_CALLBACK_CLIENT_RECEIVE:
            return ws_on_receive(ws, wsi, in, len);
        case LWS_CALLBACK_CLIENT_WRITEABLE:
            return ws_on_writeable(ws, wsi);
        case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
            if (len >= 2) {
                const uint8_t *b = in;
                ws->close_code = (int)((unsigned)b[0] << 8 | b[1]);
                ag_escape(ws->close_reason, sizeof(ws->close_reason), b + 2, len - 2, 48);
            } else {
                ws->close_code = 1005; /* no status in the frame (RFC 6455 7.4.1) */
            }
            /* The echo of our own close ends it; otherwise lws echoes the controller's. */
            return ws->close_sent ? -1 : 0;
        case LWS_CALLBACK_CLIENT_CLOSED:
            ws_on_closed(ws);
            return 0;
        default:
            return 0;
        }
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Public API                                                                                */

int
proto_ws_connect(uv_loop_t *loop, const struct proto_ws_params *p, proto_ws_connect_cb cb,
                 void *arg, struct proto_ws **out)
{
    struct proto_ws *ws = ag_calloc(1, sizeof(*ws));
    char cap[PROTO_CAPABILITY_B64_LEN + 1];
    const char *host_override = NULL;
    const char *origin_override = NULL;
    size_t i;
    int rc = AG_ENOMEM;

    *out = NULL;
    if (ws == NULL) {
        return AG_ENOMEM;
    }
    ws->c.kind = WS_KIND_UPGRADE;
    ws->c.loop = loop;
    ws->cb = cb;
    ws->cb_arg = arg;
    ws->link.vt = &s_ws_vtbl;
    ws->link.our_capability = p->our_capability;
    ws->link.peer_capability = PROTO_CAPABILITY_DEFAULT;
    ws->link.high_water = PROTO_WS_HIGH_WATER;
    ws->our_capability = p->our_capability;
    ag_buf_init(&ws->rx_pending, WS_RX_PENDING_MAX);
    proto_chunk_dec_init(&ws->dec, 0);
    ws->dec_init = true;
    ws->our_version = ag_strdup(p->our_version != NULL ? p->our_version : AG_REMOTING_VERSION);
    ws->name = ag_strdup(p->name != NULL ? p->name : "");
    if (ws->our_version == NULL || ws->name == NULL) {
        goto out;
    }
    if (p->name == NULL || p->secret == NULL || p->name[0] == '\0' || has_ctl(p->name) ||
        has_ctl(p->secret)) {
        AG_LOG_SEVERE(WS_LOG, "an agent name and a secret without control characters are "
                              "required for WebSocket");
        rc = AG_EUSAGE;
        goto out;
    }
    /* Section 5.1 step 3, in Tyrus's order. */
    proto_capability_encode(p->our_capability, cap);
    rc = ws_add_header(ws, "Node-Name", 9, p->name);
    if (rc == 0) {
        rc = ws_add_header(ws, "Secret-Key", 10, p->secret);
    }
    if (rc == 0) {
        rc = ws_add_header(ws, "X-Remoting-Capability", 21, cap);
    }
    if (rc == 0 && p->cookie != NULL && p->cookie[0] != '\0') {
        rc = ws_add_header(ws, "Connection-Cookie", 17, p->cookie);
    }
    for (i = 0; rc == 0 && i < p->n_extra_headers; i++) {
        const char *h = p->extra_headers[i];
        const char *eq = strchr(h, '=');
        size_t nl;

        if (eq == NULL) {
            /* Not the value: it may be a token. */
            AG_LOG_SEVERE(WS_LOG, "-webSocketHeader needs NAME=VALUE (got %zu characters without "
                                  "'=')",
                          strlen(h));
            rc = AG_EUSAGE;
            break;
        }
        nl = (size_t)(eq - h);
        if (nl == 4 && strncasecmp(h, "Host", 4) == 0) {
            host_override = eq + 1;
            continue;
        }
        if (nl == 6 && strncasecmp(h, "Origin", 6) == 0) {
            origin_override = eq + 1;
            continue;
        }
        if ((nl == 7 && strncasecmp(h, "Upgrade", 7) == 0) ||
            (nl == 10 && strncasecmp(h, "Connection", 10) == 0) ||
            (nl > 14 && strncasecmp(h, "Sec-WebSocket-", 14) == 0)) {
            AG_LOG_WARN(WS_LOG, "-webSocketHeader %.*s cannot be replaced; ignored", (int)nl, h);
            continue;
        }
        if (strlen(eq + 1) > WS_MAX_HEADER_BYTES) {
            rc = AG_ELIMIT;
        } else {
            rc = ws_add_header(ws, h, nl, eq + 1);
        }
        if (rc != 0) {
            AG_LOG_SEVERE(WS_LOG, "invalid -webSocketHeader %.*s", (int)nl, h);
        }
    }
    if (rc == 0 && ((host_override != NULL && has_ctl(host_override)) ||
                    (origin_override != NULL && has_ctl(origin_override)))) {
        rc = AG_EUSAGE;
    }
    if (rc != 0) {
        goto out;
    }
    rc = ws_conn_start(&ws->c, loop, p, "wsagents/", host_override, origin_override);
    if (rc != 0) {
        goto out;
    }
    *out = ws;
    ws = NULL;
out:
    if (ws != NULL) {
        ws_conn_abort(&ws->c);
    }
    return rc;
}

struct proto_link *
proto_ws_link(struct proto_ws *ws)
{
    return &ws->link;
}

const char *
proto_ws_cookie(const struct proto_ws *ws)
{
    return ws->cookie;
}

const char *
proto_ws_min_version(const struct proto_ws *ws)
{
    return ws->min_version;
}

int
proto_ws_http_status(const struct proto_ws *ws)
{
    return ws->http_status;
}

bool
proto_ws_fatal(const struct proto_ws *ws)
{
    return ws->fatal;
}

void
proto_ws_free(struct proto_ws *ws)
{
    if (ws == NULL) {
        return;
    }
    ws->cb = NULL;
    ws->link.on_command = NULL;
    ws->link.on_drain = NULL;
    ws->link.on_closed = NULL;
    ws_conn_release(&ws->c);
}

int
proto_ws_preflight(uv_loop_t *loop, const struct proto_ws_params *p, proto_ws_preflight_cb cb,
                   void *arg, struct proto_ws_preflight **out)
{
    struct proto_ws_preflight *pf = ag_calloc(1, sizeof(*pf));
    int rc;

    *out = NULL;
    if (pf == NULL) {
        return AG_ENOMEM;
    }
    pf->c.kind = WS_KIND_PREFLIGHT;
    pf->c.loop = loop;
    pf->cb = cb;
    pf->cb_arg = arg;
    rc = ws_conn_start(&pf->c, loop, p, "login", NULL, NULL);
    if (rc != 0) {
        ws_conn_abort(&pf->c);
        return rc;
    }
    *out = pf;
    return 0;
}

void
proto_ws_preflight_free(struct proto_ws_preflight *pf)
{
    if (pf == NULL) {
        return;
    }
    pf->cb = NULL;
    ws_conn_release(&pf->c);
}
