/*
 * ws.h: the WebSocket transport (`-webSocket`, shared/spec/transport.md section 5), built on
 * libwebsockets running as a guest on our libuv loop.
 *
 * Two asynchronous operations, each one object that the connection supervisor (agent/conn.c)
 * owns and frees:
 *   - proto_ws_preflight(): `GET <base>login` (section 5.1 step 2). The callback gets the HTTP
 *     status (200 means ready) or a negative error code.
 *   - proto_ws_connect(): the upgrade to `<base>wsagents/` (section 5.1 steps 3-5). On success
 *     the callback gets status 0 and proto_ws_link() is the connected link (protocol/link.h);
 *     the supervisor then installs the channel's callbacks on it.
 *
 * The supervisor does the retry and back-off (section 9.2) and the log lines of the engine
 * ("<base>login is not ready: <code>", "Failed to connect: <why>", "WebSocket connection open",
 * "Connected"). For a refused upgrade, `why` names the HTTP status and says what to fix
 * (section 5.1 step 4), so the caller's one line is enough; nothing here logs the secret.
 *
 * Threading and ownership: everything runs on the one loop thread. Parameters are copied during
 * the call; nothing passed in is kept. _free may be called from inside any callback of this
 * module, including the link's on_closed; the memory is released from the loop afterwards.
 *
 * lws contexts: one per loop and TLS configuration, created by the first connect or preflight
 * and kept (without keeping the loop alive) until proto_ws_shutdown(loop), which the owner of
 * the loop calls once every object of this module is freed, before its last uv_run and
 * uv_loop_close. (Destroying contexts on the fly is unsafe with lws 4.1.6; see ws.c.)
 */
#ifndef AG_PROTOCOL_WS_H
#define AG_PROTOCOL_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "compiler.h"

struct ag_err;
struct proto_dial_proxy;
struct proto_link;
struct proto_ws;
struct proto_ws_preflight;

/* Bounds on what we accept from the controller and queue for it. */
#define PROTO_WS_HIGH_WATER ((size_t)1024 * 1024)             /* link->high_water */
#define PROTO_WS_LOW_WATER ((size_t)256 * 1024)               /* on_drain fires below this */
#define PROTO_WS_MAX_QUEUED ((size_t)64 * 1024 * 1024)        /* send() fails with AG_ELIMIT */
#define PROTO_WS_CONNECT_TIMEOUT_MS 30000                      /* preflight and upgrade */

struct proto_ws_params {
    /* http(s)://host[:port]/path/ ending in '/', the first -url. Borrowed for the call. */
    const char *base_url;
    const char *name;   /* Node-Name */
    const char *secret; /* Secret-Key; never logged */
    const char *cookie; /* Connection-Cookie of the previous connection, NULL on the first */
    /* -webSocketHeader values, each "NAME=VALUE"; a NAME equal (ignoring case) to one of ours
     * replaces ours, the others are appended. */
    const char *const *extra_headers;
    size_t n_extra_headers;
    uint64_t our_capability; /* our capability mask (e.g. 0x1FC); sent base64-serialised */
    /* -cert: PEM texts (not file names); when n_ca_pems > 0 only these are trusted, else the
     * system trust store. insecure (-noCertificateCheck) trusts anything and skips the
     * hostname check. SNI and hostname verification are on otherwise. */
    const char *const *ca_pems;
    size_t n_ca_pems;
    bool insecure;
    /* Our own version (AG_REMOTING_VERSION when NULL), compared with
     * X-Remoting-Minimum-Version of the 101. */
    const char *our_version;
    /* An HTTP proxy to CONNECT through (host, port, optional "user:password" for
     * Proxy-Authorization: Basic), or NULL for a direct connection. The caller decides which
     * proxy applies (transport.md 3.8). Borrowed for the call. Credentials longer than
     * PROTO_WS_MAX_PROXY_CRED bytes are refused (AG_EUSAGE): a libwebsockets limit. */
    const struct proto_dial_proxy *proxy;
    /* Deadline of the preflight and of the upgrade, each; 0 = PROTO_WS_CONNECT_TIMEOUT_MS. */
    uint64_t connect_ms;
};
#define PROTO_WS_MAX_PROXY_CRED 95

/*
 * Connect result. status is 0 on success, else a negative code:
 *   AG_EREFUSED   the controller answered the upgrade with an HTTP error (proto_ws_http_status()
 *                 has it; the log line says what to fix), or X-Remoting-Minimum-Version is newer
 *                 than our version (then proto_ws_fatal() is true: agent.jar exits 1 with
 *                 "Agent version <min> or newer is required.", which is why)
 *   AG_ETIMEDOUT  no answer within connect_ms (PROTO_WS_CONNECT_TIMEOUT_MS)
 *   AG_EPROTO     the 101 was not a valid WebSocket upgrade
 *   other         DNS, TCP or TLS failure (why says which)
 * why is a short text without the secret, valid during the call. The callback fires exactly
 * once, from the loop (never from inside proto_ws_connect), unless the object is freed first.
 */
typedef void (*proto_ws_connect_cb)(struct proto_ws *ws, int status, const char *why, void *arg);

/* Start connecting. On 0, *out is the new object (owned by the caller, free with
 * proto_ws_free). AG_EUSAGE for a base_url that is not http(s)://, AG_ENOMEM. */
AG_MUST_CHECK int proto_ws_connect(uv_loop_t *loop, const struct proto_ws_params *p,
                                   proto_ws_connect_cb cb, void *arg, struct proto_ws **out);

/* The connected link; valid after a successful connect until proto_ws_free. Its on_closed fires
 * once (peer close frame, TCP drop, framing error, or proto_link_close); link->peer_capability
 * is the controller's mask (0x1FE with a WARNING when the header was missing). */
struct proto_link *proto_ws_link(struct proto_ws *ws);

/* Connection-Cookie of the 101 (remember it for the next connect); NULL when the controller
 * sent none (then forget the old one). Valid until proto_ws_free. */
const char *proto_ws_cookie(const struct proto_ws *ws);
/* X-Remoting-Minimum-Version of the 101, or NULL. */
const char *proto_ws_min_version(const struct proto_ws *ws);
/* HTTP status of the upgrade response (101 on success), 0 when none arrived. */
int proto_ws_http_status(const struct proto_ws *ws);
/* True when the failure must stop the agent (minimum version not met). */
bool proto_ws_fatal(const struct proto_ws *ws);

/* Abandon a connect, or release a closed link. Does not fire the connect callback or on_closed.
 * NULL is a no-op. */
void proto_ws_free(struct proto_ws *ws);

/*
 * Pre-flight `GET <base>login` with no custom headers (section 5.1 step 2), using the same TLS
 * settings as the upgrade (p->name, secret, cookie, extra_headers are ignored). status is the
 * HTTP status code (> 0, 200 = ready) or a negative error code with why set. Fires once, from
 * the loop, unless freed first.
 */
typedef void (*proto_ws_preflight_cb)(struct proto_ws_preflight *pf, int status, const char *why,
                                      void *arg);
AG_MUST_CHECK int proto_ws_preflight(uv_loop_t *loop, const struct proto_ws_params *p,
                                     proto_ws_preflight_cb cb, void *arg,
                                     struct proto_ws_preflight **out);
void proto_ws_preflight_free(struct proto_ws_preflight *pf);

/* Destroy the lws contexts made on loop (asynchronously: run the loop afterwards until it has
 * no more handles). Objects of this module on that loop must be freed already. */
void proto_ws_shutdown(uv_loop_t *loop);

/* Parse a base URL into the parts the upgrade needs. Exposed for tests. */
struct proto_ws_url {
    bool tls;
    char host[256];
    uint16_t port;
    char path[1024]; /* begins and ends with '/' */
};
AG_MUST_CHECK int proto_ws_parse_url(const char *base_url, struct proto_ws_url *u);

/* True when version `have` is older than `min` (transport.md section 8.3: the leading commit
 * count decides; equal counts fall back to comparing the rest byte-wise). */
bool proto_ws_version_older(const char *have, const char *min);

/*
 * The checks on the headers of a 101 (section 5.1 step 5), separated from lws so that they can
 * be fuzzed. Each value is (pointer, length) or NULL when the header was absent; none needs a
 * NUL. Fills *out; returns 0, or AG_EREFUSED when min_version is newer than our_version (err
 * says "Agent version <min> or newer is required."). A missing or unparsable capability is
 * not an error: out->peer_capability is then 0x1FE and cap_note says why (log it as WARNING).
 * A cookie that is not 1..PROTO_WS_MAX_COOKIE printable ASCII characters is dropped (cookie_ok
 * false).
 */
#define PROTO_WS_MAX_COOKIE 256
#define PROTO_WS_MAX_VERSION 128
struct proto_ws_101 {
    uint64_t peer_capability;
    const char *cap_note; /* static text, NULL when the capability parsed */
    bool cookie_ok;
    char cookie[PROTO_WS_MAX_COOKIE + 1];
    bool has_min_version;
    char min_version[PROTO_WS_MAX_VERSION + 1];
};
AG_MUST_CHECK int proto_ws_check_101(const char *cap, size_t cap_len, const char *min_version,
                                     size_t min_len, const char *cookie, size_t cookie_len,
                                     const char *our_version, struct proto_ws_101 *out,
                                     struct ag_err *err);

#endif
