/*
 * http.h: the small HTTP/1.1 client the agent needs for discovery
 * (shared/spec/transport.md section 3): GET <url>tcpSlaveAgentListener/ with agent.jar's
 * headers, over TCP or TLS, on the libuv loop, with connect and read deadlines.
 *
 * Pieces, each usable on its own:
 *   - proto_http_url_parse: http(s)://host[:port]/path;
 *   - struct proto_http_parser: a stream-framing decoder of a response's status line and
 *     headers (bounded; the body is not needed and not read);
 *   - proto_http_get: one request on the loop;
 *   - discovery helpers: evaluate a /tcpSlaveAgentListener/ response (section 3.3), the
 *     -tunnel grammar (3.5), the version comparison (8.3).
 * One loop thread. Objects are owned by their caller and freed with their _free function,
 * which may be called from inside the object's own callback.
 */
#ifndef AG_PROTOCOL_HTTP_H
#define AG_PROTOCOL_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <openssl/ssl.h>
#include <uv.h>

#include "buf.h"
#include "compiler.h"

struct ag_err;
struct proto_dial_proxy;

#define PROTO_HTTP_MAX_HEAD    65536u /* status line plus headers */
#define PROTO_HTTP_MAX_HEADERS 100u
#define PROTO_HTTP_CONNECT_MS  30000u /* transport.md 3.2 */
#define PROTO_HTTP_READ_MS     60000u

struct proto_http_url {
    bool tls;
    char host[256]; /* without IPv6 brackets */
    uint16_t port;
    char hostport[300]; /* the Host header: host[:port], brackets kept, port only if given */
    char path[2048];    /* starts with '/' */
};

/* Parse an absolute http:// or https:// URL. AG_EUSAGE with a message on anything else. */
AG_MUST_CHECK int proto_http_url_parse(const char *url, struct proto_http_url *u,
                                       struct ag_err *err);

struct proto_http_header {
    const char *name;  /* borrowed from the parser's buffer, NUL-terminated */
    const char *value; /* trimmed */
};

struct proto_http_resp {
    int status;
    const char *reason;
    size_t n_headers;
    struct proto_http_header headers[PROTO_HTTP_MAX_HEADERS];
};

/* The value of the first header called name (case-insensitive), or NULL. */
const char *proto_http_resp_header(const struct proto_http_resp *r, const char *name);

struct proto_http_parser {
    struct ag_buf head; /* owned: bytes up to the blank line */
    bool done;
    uint64_t offset;
    struct proto_http_resp resp; /* valid once done, until fini */
};

void proto_http_parser_init(struct proto_http_parser *p);
void proto_http_parser_fini(struct proto_http_parser *p);
/* Feed response bytes; returns the bytes consumed (stops right after the blank line that ends
 * the headers, setting done). AG_ELIMIT past PROTO_HTTP_MAX_HEAD or the header count,
 * AG_EPROTO for a malformed status line or header, with the offset. */
AG_MUST_CHECK ssize_t proto_http_parser_feed(struct proto_http_parser *p, const uint8_t *data,
                                             size_t n, struct ag_err *err);

/* One GET. */
struct proto_http_get_opts {
    const char *url;               /* absolute */
    const char *node_name;         /* Node-Name header, or NULL */
    const char *credentials;       /* "user:password" for Authorization: Basic, or NULL */
    const char *proxy_credentials; /* for Proxy-Authorization: Basic, or NULL */
    const struct proto_dial_proxy *proxy; /* HTTP proxy, or NULL */
    SSL_CTX *tls_ctx;              /* for https:// (borrowed; must outlive the request) */
    uint64_t connect_ms;           /* 0 = PROTO_HTTP_CONNECT_MS */
    uint64_t read_ms;              /* 0 = PROTO_HTTP_READ_MS */
};

struct proto_http;

/*
 * status > 0: the HTTP status; resp is the parsed head (valid during the call).
 * status < 0: an error; resp is NULL and why says what failed, e.g. "connection refused",
 *   "connect timed out after 30 s", "certificate verification failed: ...".
 * Fires once, from the loop, unless the request is freed first.
 */
typedef void (*proto_http_cb)(struct proto_http *h, int status, const struct proto_http_resp *resp,
                              const char *why, void *arg);

AG_MUST_CHECK int proto_http_get(uv_loop_t *loop, const struct proto_http_get_opts *o,
                                 proto_http_cb cb, void *arg, struct proto_http **out,
                                 struct ag_err *err);
/* Abandon or release a request; no callback after this. NULL is a no-op. */
void proto_http_free(struct proto_http *h);

/*
 * Redirects, as Java's HttpURLConnection follows them for agent.jar's GETs (transport.md 3.2):
 * status 300-307 except 304, 305 and 306, with a Location header. An absolute Location with a
 * different scheme (http -> https) is not followed; a relative one (//host/p, /p, ?q, p) is
 * resolved against cur (no dot-segment removal); the fragment is dropped.
 * Returns 1 with next filled (an absolute URL that proto_http_url_parse accepts), 0 when the
 * response is not a redirect to follow (the caller treats it as the answer), or AG_EPROTO /
 * AG_ELIMIT for a Location that is invalid or too long (err says which). (Java also follows
 * 305 "Use Proxy" by switching to the proxy it names; we do not.)
 */
#define PROTO_HTTP_MAX_REDIRECTS 20 /* Java's http.maxRedirects default */
AG_MUST_CHECK int proto_http_redirect(const char *cur, int status, const struct proto_http_resp *r,
                                      char *next, size_t size, struct ag_err *err);

/* Build the request head exactly as agent.jar sends it (golden 09-http-request.txt). */
AG_MUST_CHECK int proto_http_build_get(struct ag_buf *out, const struct proto_http_url *u,
                                       const char *node_name, const char *credentials,
                                       const char *proxy_credentials, bool absolute_uri);

/* ---- discovery (transport.md 3.3) ---- */

#define PROTO_DISC_MAX_PROTOCOLS 8

struct proto_endpoint {
    char host[256];
    uint16_t port;
    uint8_t *identity; /* owned: canonical RSA SPKI DER */
    size_t identity_len;
    char fingerprint[48];
    bool any_protocol; /* no usable protocol list: try all */
    size_t n_protocols;
    char protocols[PROTO_DISC_MAX_PROTOCOLS][64];
    char protocols_text[512]; /* "[JNLP4-connect, Ping]" for the log */
    bool protocols_header_empty; /* the header was present but listed nothing: WARN */
};

void proto_endpoint_fini(struct proto_endpoint *e);
bool proto_endpoint_accepts(const struct proto_endpoint *e, const char *protocol);

/*
 * Evaluate a discovery response for base url (ending in '/'), steps 2-7 of section 3.3, with
 * agent.jar's error texts in err->msg: "<salURL> is invalid: <code> <reason>", "Agent version
 * <min> or newer is required.", "<salURL> appears to be publishing an invalid
 * X-Instance-Identity.", "<url> is not Jenkins", "<url> is publishing an invalid port".
 * The error message buffer is short, so long URLs are cut. our_version: AG_REMOTING_VERSION.
 */
AG_MUST_CHECK int proto_discovery_eval(const char *url, const struct proto_http_url *u, int status,
                                       const struct proto_http_resp *r, const char *our_version,
                                       struct proto_endpoint *e, struct ag_err *err);

/* -tunnel / -direct HOST:PORT grammar (section 3.5). def_host may be NULL and def_port 0 for
 * "no defaults" (-direct). Error texts as agent.jar's. */
AG_MUST_CHECK int proto_hostport_parse(const char *v, const char *def_host, uint16_t def_port,
                                       char host[256], uint16_t *port, struct ag_err *err);

/* Maven ComparableVersion order (section 8.3): <0, 0, >0 like strcmp. */
int proto_version_cmp(const char *a, const char *b);

#endif
