#include "proxy.h"

#include <string.h>

#include "conf.h"
#include "err.h"
#include "http.h"
#include "log.h"
#include "util.h"

#define P_LOG "conn"

static const struct proto_dial_proxy *
use_proxy(const struct proto_dial_proxy *p, const char *what, const char *host)
{
    AG_LOG_DEBUG(P_LOG, "using HTTP proxy %s:%u for %s to %s", p->host, (unsigned)p->port, what,
                 host);
    return p;
}

/* JnlpAgentEndpointResolver.getResolvedHttpProxyAddress: the JDK ProxySelector for
 * http://host:port, then env http_proxy unless http.nonProxyHosts names the host. */
const struct proto_dial_proxy *
agent_proxy_agent_port(const struct agent_proxies *p, const char *host)
{
    const char *nph = p->non_proxy_hosts;

    if (p->have_jvm_http && !proto_dial_non_proxy_hosts(nph, host, true)) {
        return use_proxy(&p->jvm_http, "the agent port", host);
    }
    if (nph != NULL && nph[0] != '\0' && proto_dial_non_proxy_hosts(nph, host, false)) {
        return NULL; /* excluded: not even the env proxy */
    }
    if (!p->have_env || proto_dial_no_proxy(p->no_proxy, host)) {
        return NULL;
    }
    return use_proxy(&p->env, "the agent port", host);
}

/* The JDK's own proxy for a URL (HttpURLConnection without an explicit Proxy). */
static const struct proto_dial_proxy *
jdk_proxy(const struct agent_proxies *p, const struct proto_http_url *u)
{
    bool on = u->tls ? p->have_jvm_https : p->have_jvm_http;

    if (!on || proto_dial_non_proxy_hosts(p->non_proxy_hosts, u->host, true)) {
        return NULL;
    }
    return use_proxy(u->tls ? &p->jvm_https : &p->jvm_http, "HTTP", u->host);
}

/* openURLConnection: env http_proxy only when the property http.proxyHost is not set at all,
 * for http:// URLs that no_proxy allows; otherwise the JDK's proxy. */
const struct proto_dial_proxy *
agent_proxy_url(const struct agent_proxies *p, const char *url)
{
    struct proto_http_url u;

    if (proto_http_url_parse(url, &u, NULL) != 0) {
        return NULL;
    }
    if (p->http_host_set || u.tls) {
        return jdk_proxy(p, &u);
    }
    if (!p->have_env || proto_dial_no_proxy(p->no_proxy, u.host)) {
        return NULL;
    }
    return use_proxy(&p->env, "HTTP", u.host);
}

/* Engine.runWebSocket: http.proxyHost, else env proxy_host, only for an http:// URL that
 * no_proxy allows. */
const struct proto_dial_proxy *
agent_proxy_ws(const struct agent_proxies *p, const char *url)
{
    struct proto_http_url u;

    if (!p->have_ws || proto_http_url_parse(url, &u, NULL) != 0 || u.tls ||
        proto_dial_no_proxy(p->no_proxy, u.host)) {
        return NULL;
    }
    return use_proxy(&p->ws, "the WebSocket", u.host);
}

/* Engine.pingSuccessful: a plain URL.openConnection(), so only the JDK's proxy, and without
 * Proxy-Authorization. */
const struct proto_dial_proxy *
agent_proxy_preflight(const struct agent_proxies *p, const char *url,
                      struct proto_dial_proxy *out)
{
    struct proto_http_url u;
    const struct proto_dial_proxy *j;

    if (proto_http_url_parse(url, &u, NULL) != 0) {
        return NULL;
    }
    j = jdk_proxy(p, &u);
    if (j == NULL) {
        return NULL;
    }
    *out = *j;
    out->credentials = NULL;
    return out;
}

/* A JVM proxy from host and port properties: DefaultProxySelector takes port 0, a missing or a
 * non-numeric port as the scheme's default. */
static bool
jvm_proxy(const char *host, const char *port, uint16_t def_port, const char *credentials,
          struct proto_dial_proxy *out)
{
    uint64_t v = 0;

    memset(out, 0, sizeof(*out));
    if (host == NULL || host[0] == '\0' ||
        ag_snprintf(out->host, sizeof(out->host), "%s", host) != 0) {
        return false;
    }
    if (port != NULL && port[0] != '\0' && ag_parse_u64(port, strlen(port), 65535, &v) != 0) {
        AG_LOG_WARN(P_LOG, "proxy port \"%.40s\" from the JVM options is not a port; using %u",
                    port, (unsigned)def_port);
        v = 0;
    }
    out->port = v != 0 ? (uint16_t)v : def_port;
    out->credentials = credentials;
    return true;
}

void
agent_proxies_init(struct agent_proxies *p, const struct agent_conf *conf,
                   const char *http_proxy, const char *no_proxy, const char *proxy_host)
{
    const char *ws_host = conf->jvm.http_proxy_host;
    struct ag_err err = {0};

    memset(p, 0, sizeof(*p));
    if (http_proxy != NULL && http_proxy[0] != '\0') {
        if (proto_dial_proxy_parse(http_proxy, &p->env, &err) == 0) {
            p->have_env = true;
            p->env.credentials = conf->proxy_credentials;
        } else {
            AG_LOG_WARN(P_LOG, "ignoring http_proxy: %s", err.msg);
        }
    }
    p->no_proxy = no_proxy;
    p->http_host_set = conf->jvm.http_proxy_host != NULL;
    p->non_proxy_hosts = conf->jvm.non_proxy_hosts;
    p->have_jvm_http = jvm_proxy(conf->jvm.http_proxy_host, conf->jvm.http_proxy_port, 80,
                                 conf->proxy_credentials, &p->jvm_http);
    p->have_jvm_https = jvm_proxy(conf->jvm.https_proxy_host, conf->jvm.https_proxy_port, 443,
                                  conf->proxy_credentials, &p->jvm_https);
    /* System.getProperty("http.proxyHost", System.getenv("proxy_host")); the port is only ever
     * the property (none: 80, as for any http:// proxy URI without a port). */
    if (ws_host == NULL) {
        ws_host = proxy_host;
    }
    p->have_ws = jvm_proxy(ws_host, conf->jvm.http_proxy_port, 80, conf->proxy_credentials,
                           &p->ws);
}
