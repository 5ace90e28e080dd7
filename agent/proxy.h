/*
 * proxy.h: which HTTP proxy each connection uses, with agent.jar's rules
 * (shared/spec/transport.md section 3.8; docs/connect.md has the table). The inputs are env
 * http_proxy, no_proxy/NO_PROXY and proxy_host, and the JVM properties the configuration read
 * from JAVA_OPTS (conf->jvm). Pure functions over a struct filled once at start; the results
 * point into that struct (or into out) and are valid as long as it is.
 */
#ifndef AG_AGENT_PROXY_H
#define AG_AGENT_PROXY_H

#include <stdbool.h>

#include "dial.h"

struct agent_conf;

struct agent_proxies {
    bool have_env; /* env http_proxy, parsed */
    struct proto_dial_proxy env;
    const char *no_proxy;       /* borrowed; NULL when unset */
    bool http_host_set;         /* -Dhttp.proxyHost given at all (even empty) */
    const char *non_proxy_hosts; /* borrowed from conf; NULL when unset */
    bool have_jvm_http;         /* -Dhttp.proxyHost non-empty */
    struct proto_dial_proxy jvm_http;
    bool have_jvm_https;        /* -Dhttps.proxyHost non-empty */
    struct proto_dial_proxy jvm_https;
    bool have_ws;               /* -Dhttp.proxyHost, else env proxy_host */
    struct proto_dial_proxy ws;
};

/*
 * Fill p from conf (borrowed: it must outlive p; credentials come from -proxyCredentials) and
 * the environment values (each may be NULL). An unusable http_proxy (no port, not http://) or a
 * non-numeric -Dhttp(s).proxyPort is logged at WARNING: the first is ignored, the second
 * replaced by the scheme's default port (as the JDK does).
 */
void agent_proxies_init(struct agent_proxies *p, const struct agent_conf *conf,
                        const char *http_proxy, const char *no_proxy, const char *proxy_host);

/* The agent port (reachability probe and connection) on host. */
const struct proto_dial_proxy *agent_proxy_agent_port(const struct agent_proxies *p,
                                                      const char *host);
/* A discovery GET or a ready poll of url (http:// or https://). */
const struct proto_dial_proxy *agent_proxy_url(const struct agent_proxies *p, const char *url);
/* The WebSocket upgrade for base url. */
const struct proto_dial_proxy *agent_proxy_ws(const struct agent_proxies *p, const char *url);
/* The WebSocket pre-flight GET <url>login: a copy in *out without credentials, or NULL. */
const struct proto_dial_proxy *agent_proxy_preflight(const struct agent_proxies *p,
                                                     const char *url,
                                                     struct proto_dial_proxy *out);

#endif
