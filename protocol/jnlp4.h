/*
 * jnlp4.h: the JNLP4-connect client (shared/spec/transport.md section 4): protocol frame, ACK,
 * TLS pinned to the instance identity, connection headers, OK/ERROR/FATAL, capability
 * exchange, then a struct proto_link (link.h) carrying chunk-framed commands over TLS.
 *
 * Two parts:
 *   - pure decoders of what the controller sends during the handshake (the ACK, and the
 *     frame16 sequence headers -> verdict -> capability inside TLS), plus the header JSON
 *     writer and parser; no I/O, fuzzable;
 *   - struct proto_jnlp4, one connection on the loop. The connection supervisor owns it and
 *     frees it with proto_jnlp4_free, which may be called from inside any of its callbacks;
 *     the memory goes once libuv has closed its handles.
 * Every handshake step has a deadline. The secret is copied, never logged, and scrubbed on free.
 */
#ifndef AG_PROTOCOL_JNLP4_H
#define AG_PROTOCOL_JNLP4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <openssl/ssl.h>
#include <uv.h>

#include "buf.h"
#include "compiler.h"
#include "link.h"

struct ag_err;
struct proto_dial_proxy;

#define PROTO_JNLP4_NAME          "JNLP4-connect"
#define PROTO_JNLP4_PROXY_NAME    "JNLP4-connect-proxy"
#define PROTO_JNLP4_MAX_COOKIE    256u
#define PROTO_JNLP4_MAX_MESSAGE   512u
#define PROTO_JNLP4_ACK_MS        10000u /* ProtocolStack's handshaking timeout */
#define PROTO_JNLP4_CONNECT_MS    30000u
#define PROTO_JNLP4_HANDSHAKE_MS  30000u /* TLS, headers, verdict, capability */
#define PROTO_JNLP4_HIGH_WATER    ((size_t)1024 * 1024)
#define PROTO_JNLP4_LOW_WATER     ((size_t)256 * 1024)
#define PROTO_JNLP4_MAX_QUEUED    ((size_t)64 * 1024 * 1024)
#define PROTO_JNLP4_MAX_COMMAND   ((size_t)256 * 1024 * 1024)

/* ---- decoders ---- */

/* The controller's ACK, compared byte by byte as it arrives (AckFilterLayer). */
struct proto_jnlp4_ack {
    uint8_t got[5];
    size_t have;
};
/* Returns bytes consumed (at most 5 - have); done when have == 5. AG_EPROTO on the first
 * mismatch: "Incorrect acknowledgement sequence, expected 0x000341434b got 0x<hex>". */
AG_MUST_CHECK ssize_t proto_jnlp4_ack_feed(struct proto_jnlp4_ack *a, const uint8_t *p, size_t n,
                                           struct ag_err *err);

enum proto_jnlp4_event {
    PROTO_JNLP4_EV_NONE = 0,
    PROTO_JNLP4_EV_HEADERS = 1,    /* the controller's headers arrived (cookie parsed) */
    PROTO_JNLP4_EV_ACCEPTED = 2,   /* it answered OK to ours */
    PROTO_JNLP4_EV_REFUSED = 3,    /* ERROR: or FATAL: (message in peer->message) */
    PROTO_JNLP4_EV_CAPABILITY = 4, /* its capability arrived: the handshake is complete */
};

/* The frame16 sequence the controller sends inside TLS (transport.md 4.3 #6, #8, #10). */
struct proto_jnlp4_peer {
    int stage; /* 0 headers, 1 verdict, 2 capability, 3 done */
    uint8_t len_buf[2];
    size_t len_have;
    size_t need; /* payload bytes still missing of the current frame */
    bool in_frame;
    struct ag_buf frame; /* owned */
    uint64_t offset;
    char cookie[PROTO_JNLP4_MAX_COOKIE + 1];
    bool has_cookie;
    bool fatal; /* FATAL: rather than ERROR: */
    char message[PROTO_JNLP4_MAX_MESSAGE + 1]; /* the refusal text after "ERROR: " */
    uint64_t capability;
    bool capability_fallback; /* unreadable form: 0x1FE assumed (transport.md 6.2 step 4) */
};

void proto_jnlp4_peer_init(struct proto_jnlp4_peer *p);
void proto_jnlp4_peer_fini(struct proto_jnlp4_peer *p);
/* Feed plaintext; stops after each complete frame and reports it in *ev. Returns the bytes
 * consumed; bytes after the capability frame belong to the chunk stream and are not taken.
 * AG_EPROTO / AG_ELIMIT with the offset for malformed frames. */
AG_MUST_CHECK ssize_t proto_jnlp4_peer_feed(struct proto_jnlp4_peer *p, const uint8_t *data,
                                            size_t n, enum proto_jnlp4_event *ev,
                                            struct ag_err *err);

/* Parse a connection-headers JSON object (ConnectionHeaders rules) and find the cookie:
 * 0 with has_cookie set or not; AG_EPROTO for malformed JSON. */
AG_MUST_CHECK int proto_jnlp4_headers_parse(const uint8_t *json, size_t len,
                                            char cookie[PROTO_JNLP4_MAX_COOKIE + 1],
                                            bool *has_cookie, struct ag_err *err);
/* Append our frame16(headers JSON): cookie (if any), Node-Name, Secret-Key, in agent.jar's
 * order with its escaping. */
AG_MUST_CHECK int proto_jnlp4_headers_write(struct ag_buf *out, const char *name,
                                            const char *secret, const char *cookie);

/* ---- the connection ---- */

struct proto_jnlp4;

struct proto_jnlp4_params {
    const char *host; /* where the TCP connection goes (after -tunnel) */
    uint16_t port;
    const struct proto_dial_proxy *proxy; /* HTTP CONNECT proxy or NULL */
    const uint8_t *identity;              /* pinned SPKI DER (copied) */
    size_t identity_len;
    const char *name;
    const char *secret;
    const char *cookie; /* from the previous connection, or NULL */
    bool proxy_protocol; /* speak JNLP4-connect-proxy (a Node-Name preamble first) */
    bool keepalive;
    uint64_t our_capability;
    SSL_CTX *tls_ctx; /* a proto_tls_ctx_new_jnlp4 context; must outlive the connection */
    uint64_t step_ms; /* deadline of each step after connecting; 0 = the defaults above */
};

/*
 * Handshake result: status 0 means connected: proto_jnlp4_link() is up, and the callback
 * must install the link's callbacks before returning (commands may follow at once).
 * status < 0: why says what failed; proto_jnlp4_refused() tells a controller refusal
 * (AG_EREFUSED, message = its text) from a transport failure; proto_jnlp4_step() names the
 * step. Fires once, from the loop, unless the object is freed first.
 */
typedef void (*proto_jnlp4_connect_cb)(struct proto_jnlp4 *j, int status, const char *why,
                                       void *arg);
/* After a successful handshake, when the link is gone: fires right after link->on_closed. */
typedef void (*proto_jnlp4_gone_cb)(struct proto_jnlp4 *j, int status, const char *why,
                                    void *arg);

AG_MUST_CHECK int proto_jnlp4_connect(uv_loop_t *loop, const struct proto_jnlp4_params *p,
                                      proto_jnlp4_connect_cb cb, proto_jnlp4_gone_cb gone,
                                      void *arg, struct proto_jnlp4 **out);
struct proto_link *proto_jnlp4_link(struct proto_jnlp4 *j);
/* The controller's cookie (keep it for reconnects), or NULL. Valid until free. */
const char *proto_jnlp4_cookie(const struct proto_jnlp4 *j);
/* The controller certificate's fingerprint (after TLS), "null" before. */
const char *proto_jnlp4_fingerprint(const struct proto_jnlp4 *j);
bool proto_jnlp4_refused(const struct proto_jnlp4 *j);
const char *proto_jnlp4_step(const struct proto_jnlp4 *j);
/* The TLS version and cipher, for FINE logs ("" before TLS). */
const char *proto_jnlp4_tls_info(const struct proto_jnlp4 *j);
/* Abort and release; no callbacks after this. NULL is a no-op. */
void proto_jnlp4_free(struct proto_jnlp4 *j);

#endif
