/*
 * dial.h: open a TCP connection on the loop: uv_getaddrinfo, then uv_tcp_connect to each
 * address in turn until one answers. Optionally through an HTTP proxy with CONNECT
 * (shared/spec/transport.md section 3.8).
 *
 * The socket is a heap-allocated uv_tcp_t handed to the callback; from then on the caller owns
 * it and must close it with proto_dial_close_tcp (which frees it in its close callback).
 * Deadlines belong to the caller, who abandons a dial with proto_dial_cancel.
 * One loop thread; no blocking calls.
 */
#ifndef AG_PROTOCOL_DIAL_H
#define AG_PROTOCOL_DIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "compiler.h"

struct proto_dial;

/* An HTTP proxy for CONNECT (host, port, and an optional "user:password"). */
struct proto_dial_proxy {
    char host[256];
    uint16_t port;
    const char *credentials; /* borrowed for the dial; NULL for none */
};

/*
 * status 0: tcp is the connected socket (owned by the callee now; tcp->data is NULL).
 * status < 0: tcp is NULL and why says what failed ("connection refused", ...).
 * Fires exactly once, from the loop, unless the dial is cancelled first. The dial object is
 * freed right after the callback returns.
 */
typedef void (*proto_dial_cb)(struct proto_dial *d, int status, uv_tcp_t *tcp, const char *why,
                              void *arg);

/*
 * Start. host and port are copied; proxy (may be NULL) is copied except its credentials,
 * which must stay valid until the callback. keepalive sets SO_KEEPALIVE (TCP_NODELAY is always
 * on). *out may be used to cancel until the callback fires.
 */
AG_MUST_CHECK int proto_dial_start(uv_loop_t *loop, const char *host, uint16_t port,
                                   const struct proto_dial_proxy *proxy, bool keepalive,
                                   proto_dial_cb cb, void *arg, struct proto_dial **out);

/* Abandon a dial: the callback does not fire and the object frees itself later. */
void proto_dial_cancel(struct proto_dial *d);

/* Close and free a socket that a dial produced. NULL is a no-op. */
void proto_dial_close_tcp(uv_tcp_t *tcp);

/*
 * Parse the first line of a proxy's CONNECT reply; 0 when its second token is exactly 200
 * (transport.md 3.8), else AG_EREFUSED with "Got a bad response from proxy: <line>".
 */
struct ag_err;
AG_MUST_CHECK int proto_dial_proxy_status(const char *line, size_t len, struct ag_err *err);

/*
 * Parse an http_proxy value ("http://[user:pass@]host:port[/]"; credentials in it are ignored,
 * as remoting does). The port is mandatory (transport.md 3.8: agent.jar cannot use one
 * without). 0, or AG_EUSAGE with a message.
 */
AG_MUST_CHECK int proto_dial_proxy_parse(const char *http_proxy, struct proto_dial_proxy *out,
                                         struct ag_err *err);

/*
 * Whether no_proxy (remoting's NoProxyEvaluator, transport.md 3.8) exempts host from the
 * proxy: entries split on ',' (or '|' when there is no comma), trimmed, a leading '.' and then
 * a leading "*." dropped; an entry is an IP literal, a CIDR block or a domain suffix
 * (case-sensitive, no dot boundary). localhost and loopback addresses are always exempt.
 * no_proxy may be NULL.
 */
bool proto_dial_no_proxy(const char *no_proxy, const char *host);

/*
 * Whether the JVM's http.nonProxyHosts exempts host (JDK DefaultProxySelector, Java 9+):
 * entries split on '|', empty ones skipped, compared with the whole host case-insensitively; a
 * leading '*' or a trailing '*' is a wildcard. both_ends: an entry "*x*" matches any host
 * containing x (the JDK's rule); without it only the leading '*' counts and the trailing one
 * is literal (remoting's own recheck in JnlpAgentEndpointResolver.getResolvedHttpProxyAddress).
 * An IPv6 literal is compared in brackets ("[::1]"), as java.net.URI gives it. list NULL means
 * the JDK default "localhost|127.*|[::1]|0.0.0.0|[::0]".
 */
bool proto_dial_non_proxy_hosts(const char *list, const char *host, bool both_ends);

#endif
