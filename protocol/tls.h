/*
 * tls.h: TLS client sessions over OpenSSL memory BIOs (shared/spec/transport.md sections 3.9
 * and 4.6). The session never touches a socket: the owner feeds it the ciphertext it read
 * (proto_tls_feed) and sends what proto_tls_take_out hands back, so nothing blocks the loop.
 *
 * Two kinds of contexts:
 *   - JNLP4: the controller is accepted only if its leaf certificate's public key (DER
 *     SubjectPublicKeyInfo) equals the pinned instance identity byte for byte; no chain, expiry
 *     or hostname check (agent.jar's PublicKeyMatchingX509ExtendedTrustManager).
 *   - HTTPS (discovery): the system trust store, or only the -cert PEMs when given (they
 *     replace it), hostname verification, SNI; or no checks at all with -noCertificateCheck.
 * TLS 1.2 and 1.3 only. One loop thread; a session belongs to one connection.
 */
#ifndef AG_PROTOCOL_TLS_H
#define AG_PROTOCOL_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#include "buf.h"
#include "compiler.h"

struct ag_err;

/* "xx:xx:...:xx" MD5 of a SPKI, agent.jar's identity fingerprint, plus NUL. */
#define PROTO_TLS_FP_LEN 48
/* Largest instance identity we accept (an RSA-16384 SPKI is about 2.1 KB). */
#define PROTO_TLS_MAX_SPKI 4096

/* The JNLP4 context: pinning only. *out is owned by the caller (SSL_CTX_free). */
AG_MUST_CHECK int proto_tls_ctx_new_jnlp4(SSL_CTX **out, struct ag_err *err);

/*
 * The HTTPS context. pems: -cert values (PEM text, each may hold several certificates); when
 * n > 0 they are the only trust anchors. An unparsable PEM is skipped with a WARNING, as
 * agent.jar does. no_check: trust anything and skip the hostname check (the caller logs the
 * warning). AG_EUSAGE when -cert was given but not one certificate could be read.
 */
AG_MUST_CHECK int proto_tls_ctx_new_https(const char *const *pems, size_t n, bool no_check,
                                          SSL_CTX **out, struct ag_err *err);

/*
 * Decode an instance identity (X-Instance-Identity, -instanceIdentity): strict base64, then
 * it must parse as an RSA SubjectPublicKeyInfo. *der (owned by the caller, ag_free) is the
 * canonical re-encoding, what Java's PublicKey.getEncoded() gives. AG_EPROTO with a reason.
 */
AG_MUST_CHECK int proto_tls_identity_decode(const char *b64, size_t len, uint8_t **der,
                                            size_t *der_len, struct ag_err *err);

/* agent.jar's fingerprint of a SPKI: MD5, lowercase hex pairs joined by ':'. */
void proto_tls_fingerprint(const uint8_t *spki, size_t len, char out[PROTO_TLS_FP_LEN]);

struct proto_tls;

/*
 * A client session on ctx (borrowed; must outlive the session).
 *   sni:  server name to send, or NULL for none;
 *   verify_host: host name or IP to verify (HTTPS contexts), or NULL;
 *   pin/pin_len: the SPKI to require (JNLP4 contexts; copied), or NULL.
 */
AG_MUST_CHECK int proto_tls_new(SSL_CTX *ctx, const char *sni, const char *verify_host,
                                const uint8_t *pin, size_t pin_len, struct proto_tls **out,
                                struct ag_err *err);
void proto_tls_free(struct proto_tls *t);

/* Ciphertext from the socket. */
AG_MUST_CHECK int proto_tls_feed(struct proto_tls *t, const uint8_t *p, size_t n,
                                 struct ag_err *err);
/* The socket reached EOF: later reads report the truncation. */
void proto_tls_feed_eof(struct proto_tls *t);

/* Drive the handshake: 0 when complete, 1 when it needs more input (after flushing output),
 * or an error: AG_EREFUSED for a pin mismatch or a failed certificate check, AG_EPROTO for
 * other handshake failures, with a one-line reason in err. */
AG_MUST_CHECK int proto_tls_handshake(struct proto_tls *t, struct ag_err *err);

/* Encrypt n plaintext bytes (all of them; the memory BIO has no limit of its own). */
AG_MUST_CHECK int proto_tls_write(struct proto_tls *t, const uint8_t *p, size_t n,
                                  struct ag_err *err);

/* Decrypt into buf: > 0 bytes, 0 when more ciphertext is needed, AG_ECLOSED after the peer's
 * close_notify, another negative code on failure. */
AG_MUST_CHECK ssize_t proto_tls_read(struct proto_tls *t, uint8_t *buf, size_t cap,
                                     struct ag_err *err);

/* Ciphertext waiting to be sent. */
size_t proto_tls_out_pending(const struct proto_tls *t);
/* Move up to max waiting ciphertext bytes to the end of out. */
AG_MUST_CHECK int proto_tls_take_out(struct proto_tls *t, struct ag_buf *out, size_t max);

/* Queue a close_notify. */
void proto_tls_shutdown(struct proto_tls *t);

/* After the handshake: the peer leaf's SPKI DER (borrowed, valid until free) and fingerprint. */
AG_MUST_CHECK int proto_tls_peer_spki(struct proto_tls *t, const uint8_t **der, size_t *len);
const char *proto_tls_peer_fingerprint(const struct proto_tls *t);
/* The negotiated version ("TLSv1.3") and cipher, for FINE logs. */
const char *proto_tls_version(const struct proto_tls *t);
const char *proto_tls_cipher(const struct proto_tls *t);

/* True when host is an IPv4 or IPv6 literal. */
bool proto_tls_host_is_ip(const char *host);

#endif
