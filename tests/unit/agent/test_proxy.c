/*
 * test_proxy.c: which proxy each connection type gets (agent/proxy.c, transport.md 3.8), one
 * table row per situation: the environment, the JVM properties, and the expected proxy
 * ("host:port" or "-" for none) for the agent port, discovery, the WebSocket upgrade and the
 * WebSocket pre-flight.
 */
#include "proxy.h"

#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "harness.h"

struct pcase {
    const char *name;
    /* environment */
    const char *http_proxy, *no_proxy, *proxy_host;
    /* JVM properties (NULL = not set) */
    const char *http_host, *http_port, *https_host, *https_port, *nph;
    const char *url;  /* the controller URL */
    const char *host; /* the agent port's host */
    /* expected: "-" or "host:port" */
    const char *agent_port, *discovery, *ws, *preflight;
};

static const struct pcase cases[] = {
    {"nothing set", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "http://ci.example/",
     "ci.example", "-", "-", "-", "-"},
    {"env http_proxy: discovery and agent port, never WebSocket", "http://p:3128", NULL, NULL,
     NULL, NULL, NULL, NULL, NULL, "http://ci.example/", "ci.example", "p:3128", "p:3128", "-",
     "-"},
    {"env http_proxy: https discovery gets none", "http://p:3128", NULL, NULL, NULL, NULL, NULL,
     NULL, NULL, "https://ci.example/", "ci.example", "p:3128", "-", "-", "-"},
    {"env http_proxy and no_proxy", "http://p:3128", "example", NULL, NULL, NULL, NULL, NULL,
     NULL, "http://ci.example/", "ci.example", "-", "-", "-", "-"},
    {"localhost is never proxied by the env rules", "http://p:3128", NULL, "p", NULL, NULL, NULL,
     NULL, NULL, "http://localhost:8080/", "localhost", "-", "-", "-", "-"},
    {"env proxy_host: WebSocket only, port 80", NULL, NULL, "wsp", NULL, NULL, NULL, NULL, NULL,
     "http://ci.example/", "ci.example", "-", "-", "wsp:80", "-"},
    {"proxy_host with -Dhttp.proxyPort", NULL, NULL, "wsp", NULL, "8888", NULL, NULL, NULL,
     "http://ci.example/", "ci.example", "-", "-", "wsp:8888", "-"},
    {"proxy_host: not for https", NULL, NULL, "wsp", NULL, "8888", NULL, NULL, NULL,
     "https://ci.example/", "ci.example", "-", "-", "-", "-"},
    {"proxy_host: no_proxy applies", NULL, "ci.example", "wsp", NULL, "8888", NULL, NULL, NULL,
     "http://ci.example/", "ci.example", "-", "-", "-", "-"},
    {"-Dhttp.proxyHost everywhere for http", "http://p:3128", NULL, "wsp", "jp", "81", NULL, NULL,
     NULL, "http://ci.example/", "ci.example", "jp:81", "jp:81", "jp:81", "jp:81"},
    {"-Dhttp.proxyHost without a port: 80", NULL, NULL, NULL, "jp", NULL, NULL, NULL, NULL,
     "http://ci.example/", "ci.example", "jp:80", "jp:80", "jp:80", "jp:80"},
    {"-Dhttp.proxyPort not a number: 80", NULL, NULL, NULL, "jp", "x1", NULL, NULL, NULL,
     "http://ci.example/", "ci.example", "jp:80", "jp:80", "jp:80", "jp:80"},
    {"JDK default nonProxyHosts: localhost direct; agent port falls back to env", "http://p:3128",
     NULL, NULL, "jp", "81", NULL, NULL, NULL, "http://localhost/", "127.0.0.1", "-", "-", "-",
     "-"},
    {"nonProxyHosts: no JVM proxy, and no env proxy either", "http://p:3128", NULL, NULL, "jp",
     "81", NULL, NULL, "*.example|x", "http://ci.example/", "ci.example", "-", "-", "jp:81", "-"},
    {"nonProxyHosts without http.proxyHost still blocks env for the agent port", "http://p:3128",
     NULL, NULL, NULL, NULL, NULL, NULL, "ci.*", "http://ci.example/", "ci.example", "-",
     "p:3128", "-", "-"},
    {"nonProxyHosts not matching: env for the agent port", "http://p:3128", NULL, NULL, NULL, NULL,
     NULL, NULL, "other", "http://ci.example/", "ci.example", "p:3128", "p:3128", "-", "-"},
    {"*x*: the JDK excludes it, remoting's recheck does not (env used)", "http://p:3128", NULL,
     NULL, "jp", "81", NULL, NULL, "*exam*", "http://ci.example/", "ci.example", "p:3128", "-",
     "jp:81", "-"},
    {"-Dhttp.proxyHost= (empty): env skipped for discovery, no proxy", "http://p:3128", NULL,
     "wsp", "", NULL, NULL, NULL, NULL, "http://ci.example/", "ci.example", "p:3128", "-", "-",
     "-"},
    {"-Dhttps.proxyHost: https discovery and pre-flight, port 443", "http://p:3128", NULL, NULL,
     NULL, NULL, "sp", NULL, NULL, "https://ci.example/", "ci.example", "p:3128", "sp:443", "-",
     "sp:443"},
    {"-Dhttps.proxyHost does not serve http", NULL, NULL, NULL, NULL, NULL, "sp", "444", NULL,
     "http://ci.example/", "ci.example", "-", "-", "-", "-"},
    {"http_proxy without a port is ignored", "http://p", NULL, NULL, NULL, NULL, NULL, NULL, NULL,
     "http://ci.example/", "ci.example", "-", "-", "-", "-"},
};

static void
show(const struct proto_dial_proxy *p, char *out, size_t size)
{
    if (p == NULL) {
        (void)snprintf(out, size, "-");
    } else {
        (void)snprintf(out, size, "%s:%u", p->host, (unsigned)p->port);
    }
}

T_TEST(test_table)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct pcase *k = &cases[i];
        struct agent_conf conf;
        struct agent_proxies p;
        struct proto_dial_proxy tmp;
        const struct proto_dial_proxy *got[4];
        const char *want[4] = {k->agent_port, k->discovery, k->ws, k->preflight};
        static const char *const what[4] = {"agent port", "discovery", "ws", "preflight"};

        memset(&conf, 0, sizeof(conf));
        conf.proxy_credentials = (char *)"u:pw";
        conf.jvm.http_proxy_host = (char *)k->http_host;
        conf.jvm.http_proxy_port = (char *)k->http_port;
        conf.jvm.https_proxy_host = (char *)k->https_host;
        conf.jvm.https_proxy_port = (char *)k->https_port;
        conf.jvm.non_proxy_hosts = (char *)k->nph;
        agent_proxies_init(&p, &conf, k->http_proxy, k->no_proxy, k->proxy_host);
        got[0] = agent_proxy_agent_port(&p, k->host);
        got[1] = agent_proxy_url(&p, k->url);
        got[2] = agent_proxy_ws(&p, k->url);
        got[3] = agent_proxy_preflight(&p, k->url, &tmp);
        for (size_t j = 0; j < 4; j++) {
            char buf[300];

            show(got[j], buf, sizeof(buf));
            if (strcmp(buf, want[j]) != 0) {
                fprintf(stderr, "case \"%s\", %s: want %s, got %s\n", k->name, what[j], want[j],
                        buf);
            }
            T_EQ_STR(buf, want[j]);
            /* -proxyCredentials go along, except to the pre-flight */
            if (got[j] != NULL) {
                T_CHECK(got[j]->credentials == (j == 3 ? NULL : conf.proxy_credentials));
            }
        }
    }
}

T_MAIN(T_CASE(test_table))
