/* HTTP client pieces (protocol/http.c): URLs, the response head parser (whole, byte by byte,
 * split everywhere), the request against golden 09-http-request.txt, discovery evaluation with
 * agent.jar's error texts, the -tunnel grammar and the version order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "dial.h"
#include "err.h"
#include "harness.h"
#include "http.h"

T_TEST(test_url)
{
    struct proto_http_url u;
    struct ag_err err = {0};

    T_EQ_INT(proto_http_url_parse("http://ci.example.com:8080/jenkins/tcpSlaveAgentListener/", &u,
                                  &err),
             0);
    T_CHECK(!u.tls);
    T_EQ_STR(u.host, "ci.example.com");
    T_EQ_INT(u.port, 8080);
    T_EQ_STR(u.hostport, "ci.example.com:8080");
    T_EQ_STR(u.path, "/jenkins/tcpSlaveAgentListener/");
    T_EQ_INT(proto_http_url_parse("HTTPS://[::1]/x#frag", &u, &err), 0);
    T_CHECK(u.tls);
    T_EQ_STR(u.host, "::1");
    T_EQ_INT(u.port, 443);
    T_EQ_STR(u.hostport, "[::1]");
    T_EQ_STR(u.path, "/x");
    T_EQ_INT(proto_http_url_parse("http://user:pw@h", &u, &err), 0);
    T_EQ_STR(u.host, "h");
    T_EQ_STR(u.path, "/");
    T_EQ_INT(proto_http_url_parse("ftp://h/", &u, &err), AG_EUSAGE);
    T_EQ_INT(proto_http_url_parse("http://h:0/", &u, &err), AG_EUSAGE);
    T_EQ_INT(proto_http_url_parse("http://h:65536/", &u, &err), AG_EUSAGE);
    T_EQ_INT(proto_http_url_parse("http:///", &u, &err), AG_EUSAGE);
    T_EQ_INT(proto_http_url_parse("http://[::1/", &u, &err), AG_EUSAGE);
}

static int
parse_split(const char *text, size_t step, size_t at, struct proto_http_parser *p,
            struct ag_err *err)
{
    size_t n = strlen(text);
    size_t off = 0;

    proto_http_parser_init(p);
    while (off < n && !p->done) {
        size_t len = n - off;
        ssize_t k;

        if (step == SIZE_MAX) {
            len = off < at ? at - off : n - off;
        } else if (step != 0 && len > step) {
            len = step;
        }
        k = proto_http_parser_feed(p, (const uint8_t *)text + off, len, err);
        if (k < 0) {
            return (int)k;
        }
        off += (size_t)k;
    }
    return p->done ? 0 : AG_ETRUNC;
}

struct head_vec {
    const char *name;
    const char *text;
    int want_rc;
    int status;
    const char *header; /* name=value to look up */
};

static const struct head_vec k_heads[] = {
    {"ok", "HTTP/1.1 200 OK\r\nX-A: 1\r\n\r\nbody", 0, 200, "x-a=1"},
    {"lf only", "HTTP/1.0 404 Not Found\nX-A:  two words \n\n", 0, 404, "X-A=two words"},
    {"no reason", "HTTP/1.1 503\r\n\r\n", 0, 503, NULL},
    {"empty value", "HTTP/1.1 200 OK\r\nX-Jenkins-JNLP-Host:\r\n\r\n", 0, 200,
     "X-Jenkins-JNLP-Host="},
    {"leading crlf", "\r\nHTTP/1.1 200 OK\r\n\r\n", 0, 200, NULL},
    {"cut", "HTTP/1.1 200 OK\r\nX-A: 1\r\n", AG_ETRUNC, 0, NULL},
    {"bad status", "HTTP/1.1 2000 OK\r\n\r\n", AG_EPROTO, 0, NULL},
    {"not http", "SSH-2.0-OpenSSH\r\n\r\n", AG_EPROTO, 0, NULL},
    {"no colon", "HTTP/1.1 200 OK\r\nbroken\r\n\r\n", AG_EPROTO, 0, NULL},
    {"space in name", "HTTP/1.1 200 OK\r\nX A: 1\r\n\r\n", AG_EPROTO, 0, NULL},
    {"folded", "HTTP/1.1 200 OK\r\nX-A: 1\r\n continued\r\n\r\n", AG_EPROTO, 0, NULL},
    {"nul", "HTTP/1.1 200 OK\r\nX-A: a\0b\r\n\r\n", AG_ETRUNC, 0, NULL},
};

T_TEST(test_head_parser)
{
    for (size_t i = 0; i < AG_ARRAY_LEN(k_heads); i++) {
        const struct head_vec *v = &k_heads[i];
        size_t n = strlen(v->text);

        for (size_t mode = 0; mode < 2 + n; mode++) {
            struct proto_http_parser p;
            struct ag_err err = {0};
            int rc = parse_split(v->text, mode == 0 ? 0 : mode == 1 ? 1 : SIZE_MAX,
                                 mode >= 2 ? mode - 2 : 0, &p, &err);

            if (rc != v->want_rc) {
                (void)fprintf(stderr, "vector \"%s\" mode %zu: %s\n", v->name, mode, err.msg);
            }
            T_EQ_INT(rc, v->want_rc);
            if (rc == 0) {
                T_EQ_INT(p.resp.status, v->status);
                if (v->header != NULL) {
                    char name[64];
                    const char *eq = strchr(v->header, '=');

                    (void)snprintf(name, sizeof(name), "%.*s", (int)(eq - v->header), v->header);
                    T_EQ_STR(proto_http_resp_header(&p.resp, name), eq + 1);
                }
            }
            proto_http_parser_fini(&p);
        }
    }
}

T_TEST(test_head_limits)
{
    struct proto_http_parser p;
    struct ag_err err = {0};
    struct ag_buf big;
    int rc;

    ag_buf_init(&big, 1 << 20);
    T_EQ_INT(ag_buf_printf(&big, "HTTP/1.1 200 OK\r\n"), 0);
    for (int i = 0; i < 150; i++) {
        T_EQ_INT(ag_buf_printf(&big, "X-%d: v\r\n", i), 0);
    }
    T_EQ_INT(ag_buf_printf(&big, "\r\n"), 0);
    T_EQ_INT(ag_buf_append_u8(&big, 0), 0);
    rc = parse_split((const char *)big.data, 0, 0, &p, &err);
    T_EQ_INT(rc, AG_ELIMIT);
    T_CHECK(strstr(err.msg, "more than 100") != NULL);
    proto_http_parser_fini(&p);
    big.len = 0;
    T_EQ_INT(ag_buf_printf(&big, "HTTP/1.1 200 OK\r\nX: "), 0);
    while (big.len < PROTO_HTTP_MAX_HEAD + 10) {
        T_EQ_INT(ag_buf_append_u8(&big, 'a'), 0);
    }
    T_EQ_INT(ag_buf_append_u8(&big, 0), 0);
    rc = parse_split((const char *)big.data, 0, 0, &p, &err);
    T_EQ_INT(rc, AG_ELIMIT);
    T_CHECK(strstr(err.msg, "exceeds 65536") != NULL);
    proto_http_parser_fini(&p);
    ag_buf_fini(&big);
}

/* Same header lines, in the same order, as agent.jar (User-Agent and Host values differ). */
T_TEST(test_request_golden)
{
    char path[1024];
    size_t n = 0;
    uint8_t *want = NULL;
    struct proto_http_url u;
    struct ag_buf out;
    const char *w;
    const char *g;

    (void)snprintf(path, sizeof(path), "%s/golden/09-http-request.txt", t_shared_dir());
    want = t_read_file(path, &n);
    T_CHECK(want != NULL);
    if (want == NULL) {
        return;
    }
    T_EQ_INT(proto_http_url_parse("http://127.0.0.1:39791/tcpSlaveAgentListener/", &u, NULL), 0);
    ag_buf_init(&out, 4096);
    T_EQ_INT(proto_http_build_get(&out, &u, "golden-agent", NULL, NULL, false), 0);
    T_EQ_INT(ag_buf_append_u8(&out, 0), 0);
    /* Compare line by line: names always, values except User-Agent. */
    w = (const char *)want;
    g = (const char *)out.data;
    for (int line = 0; line < 7; line++) {
        const char *we = strchr(w, '\n');
        const char *ge = strstr(g, "\r\n");
        size_t wl;
        size_t gl;

        T_CHECK(we != NULL && ge != NULL);
        if (we == NULL || ge == NULL) {
            break;
        }
        wl = (size_t)(we - w);
        if (wl > 0 && w[wl - 1] == '\r') {
            wl--;
        }
        gl = (size_t)(ge - g);
        if (strncmp(w, "User-Agent:", 11) == 0) {
            T_CHECK(strncmp(g, "User-Agent: ", 12) == 0);
        } else {
            T_EQ_MEM(g, gl, w, wl);
        }
        w = we + 1;
        g = ge + 2;
    }
    out.len = 0;
    T_EQ_INT(proto_http_build_get(&out, &u, "n", "user:pass", "p:q", false), 0);
    T_EQ_INT(ag_buf_append_u8(&out, 0), 0);
    T_CHECK(strstr((const char *)out.data, "\r\nAuthorization: Basic dXNlcjpwYXNz\r\n") != NULL);
    T_CHECK(strstr((const char *)out.data, "\r\nProxy-Authorization: Basic cDpx\r\n") != NULL);
    out.len = 0;
    T_EQ_INT(proto_http_build_get(&out, &u, "bad\r\nX: y", NULL, NULL, false), AG_EUSAGE);
    ag_buf_fini(&out);
    free(want);
}

static int
eval_text(const char *resp_text, struct proto_endpoint *e, struct ag_err *err)
{
    struct proto_http_parser p;
    struct proto_http_url u;
    int rc = parse_split(resp_text, 0, 0, &p, err);

    if (rc == 0) {
        rc = proto_http_url_parse("http://127.0.0.1:8080/", &u, err);
    }
    if (rc == 0) {
        rc = proto_discovery_eval("http://127.0.0.1:8080/", &u, p.resp.status, &p.resp,
                                  "3355.v388858a_47b_33", e, err);
    }
    proto_http_parser_fini(&p);
    return rc;
}

#define IDENT                                                                                     \
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA1ZvCf2TFkfG6M/Q2If5fW1T/p7u2zHVrOaXmP80qDfdwB7Fi" \
    "iLiNyhvKhjfFdJu5pBjWkYgrYRqq2yXBLp8VhRH3WSGILVJWK6hBm1Hy4Q7ZJoPMXo0JWUNn+8A+mRyJH5HyKDfqxKqf" \
    "28NJ5Mms4VyFFPOb0HQtH+79UksV3FYSYpRMdRqvXF+M90zZFaCGqEA97BxdEVKmr5yEu0oVuwjaBVzn21bNn3hgfpEH" \
    "GYhMM5kyDLdLgtY6ZJv0QaKr2i832+CEc5I6U9CCG/CB++6Gl6R71J/mR8cMaTvrYbNEpfwcdAHMYbCTb8ugiHJ0X1It" \
    "LmpZ4k63biyNAPAwlQIDAQAB"

T_TEST(test_discovery_golden)
{
    char path[1024];
    size_t n = 0;
    uint8_t *resp;
    struct proto_endpoint e;
    struct ag_err err = {0};

    (void)snprintf(path, sizeof(path), "%s/golden/09-http-response.txt", t_shared_dir());
    resp = t_read_file(path, &n);
    T_CHECK(resp != NULL);
    if (resp == NULL) {
        return;
    }
    T_EQ_INT(eval_text((const char *)resp, &e, &err), 0);
    T_EQ_STR(e.host, "127.0.0.1");
    T_EQ_INT(e.port, 39791);
    T_EQ_U64(e.identity_len, 294);
    T_EQ_STR(e.fingerprint, "cc:64:00:4e:da:7b:72:72:09:85:92:77:db:5e:6c:d7");
    T_CHECK(!e.any_protocol);
    T_EQ_STR(e.protocols_text, "[JNLP4-connect, Ping]");
    T_CHECK(proto_endpoint_accepts(&e, "JNLP4-connect"));
    T_CHECK(!proto_endpoint_accepts(&e, "JNLP4-connect-proxy"));
    proto_endpoint_fini(&e);
    free(resp);
}

struct disc_vec {
    const char *name;
    const char *resp;
    int want_rc;
    const char *want_msg;
};

static const struct disc_vec k_disc[] = {
    {"404", "HTTP/1.1 404 Not Found\r\n\r\n", AG_EREFUSED,
     "http://127.0.0.1:8080/tcpSlaveAgentListener/ is invalid: 404 Not Found"},
    {"min version", "HTTP/1.1 200 OK\r\nX-Remoting-Minimum-Version: 9999.v1\r\n\r\n", AG_ENOTSUP,
     "Agent version 9999.v1 or newer is required."},
    {"no identity", "HTTP/1.1 200 OK\r\nX-Jenkins-JNLP-Port: 5\r\n\r\n", AG_EPROTO,
     "http://127.0.0.1:8080/tcpSlaveAgentListener/ appears to be publishing an invalid "
     "X-Instance-Identity."},
    {"bad identity", "HTTP/1.1 200 OK\r\nX-Jenkins-JNLP-Port: 5\r\nX-Instance-Identity: AAAA\r\n\r\n",
     AG_EPROTO, "appears to be publishing an invalid X-Instance-Identity."},
    {"no port", "HTTP/1.1 200 OK\r\nX-Instance-Identity: " IDENT "\r\n\r\n", AG_EPROTO,
     "http://127.0.0.1:8080/ is not Jenkins"},
    {"bad port", "HTTP/1.1 200 OK\r\nX-Jenkins-JNLP-Port: 70000\r\nX-Instance-Identity: " IDENT
                 "\r\n\r\n",
     AG_EPROTO, "http://127.0.0.1:8080/ is publishing an invalid port"},
    {"hudson port, host, empty protocols",
     "HTTP/1.1 200 OK\r\nX-Hudson-JNLP-Port: 5\r\nX-Jenkins-JNLP-Host: agents.example\r\n"
     "X-Jenkins-Agent-Protocols: , \r\nX-Remoting-Minimum-Version: 3176.v207ec082a_8c0\r\n"
     "X-Instance-Identity: " IDENT "\r\n\r\n",
     0, NULL},
};

T_TEST(test_discovery_errors)
{
    for (size_t i = 0; i < AG_ARRAY_LEN(k_disc); i++) {
        struct proto_endpoint e;
        struct ag_err err = {0};
        int rc = eval_text(k_disc[i].resp, &e, &err);

        if (rc != k_disc[i].want_rc) {
            (void)fprintf(stderr, "vector \"%s\": %s\n", k_disc[i].name, err.msg);
        }
        T_EQ_INT(rc, k_disc[i].want_rc);
        if (rc != 0 && k_disc[i].want_msg != NULL) {
            T_CHECK(strstr(err.msg, k_disc[i].want_msg) != NULL);
            if (strstr(err.msg, k_disc[i].want_msg) == NULL) {
                (void)fprintf(stderr, "vector \"%s\": \"%s\"\n", k_disc[i].name, err.msg);
            }
        }
        if (rc == 0) {
            T_EQ_STR(e.host, "agents.example");
            T_EQ_INT(e.port, 5);
            T_CHECK(e.any_protocol && e.protocols_header_empty);
            proto_endpoint_fini(&e);
        }
    }
}

T_TEST(test_hostport)
{
    char host[256];
    uint16_t port = 0;
    struct ag_err err = {0};

    T_EQ_INT(proto_hostport_parse(" tunnel.example:1234 ", "d", 50000, host, &port, &err), 0);
    T_EQ_STR(host, "tunnel.example");
    T_EQ_INT(port, 1234);
    T_EQ_INT(proto_hostport_parse(":4000", "d", 50000, host, &port, &err), 0);
    T_EQ_STR(host, "d");
    T_EQ_INT(port, 4000);
    T_EQ_INT(proto_hostport_parse("h:", "d", 50000, host, &port, &err), 0);
    T_EQ_STR(host, "h");
    T_EQ_INT(port, 50000);
    T_EQ_INT(proto_hostport_parse("[::1]:99", NULL, 0, host, &port, &err), 0);
    T_EQ_STR(host, "::1");
    T_EQ_INT(port, 99);
    T_EQ_INT(proto_hostport_parse("nocolon", "d", 1, host, &port, &err), AG_EUSAGE);
    T_EQ_STR(err.msg, "Invalid HOST:PORT value: nocolon");
    T_EQ_INT(proto_hostport_parse("h:70000", "d", 1, host, &port, &err), AG_EUSAGE);
    T_EQ_STR(err.msg, "Port 70000 out of valid range [0, 65535)");
    T_EQ_INT(proto_hostport_parse("[]:1", NULL, 0, host, &port, &err), AG_EUSAGE);
    T_EQ_STR(err.msg, "Invalid IPv6 value.");
    T_EQ_INT(proto_hostport_parse("[::1]", NULL, 0, host, &port, &err), AG_EUSAGE);
    T_EQ_STR(err.msg, "Missing port.");
    T_EQ_INT(proto_hostport_parse(":5", NULL, 0, host, &port, &err), AG_EUSAGE);
    T_EQ_INT(proto_hostport_parse("h:", NULL, 0, host, &port, &err), AG_EUSAGE);
}

T_TEST(test_versions)
{
    T_CHECK(proto_version_cmp("3355.v388858a_47b_33", "3176.v207ec082a_8c0") > 0);
    T_CHECK(proto_version_cmp("3176.v207ec082a_8c0", "3355.v388858a_47b_33") < 0);
    T_EQ_INT(proto_version_cmp("3355.v388858a_47b_33", "3355.v388858a_47b_33"), 0);
    T_CHECK(proto_version_cmp("3355.v388858a_47b_33", "9999") < 0);
    T_EQ_INT(proto_version_cmp("1.0", "1"), 0);
    T_EQ_INT(proto_version_cmp("1.0.0-final", "1"), 0);
    T_CHECK(proto_version_cmp("1.0-alpha-1", "1.0") < 0);
    T_CHECK(proto_version_cmp("1.0-beta", "1.0-alpha") > 0);
    T_CHECK(proto_version_cmp("1.0-rc1", "1.0") < 0);
    T_CHECK(proto_version_cmp("1.0-sp", "1.0") > 0);
    T_CHECK(proto_version_cmp("1.0-snapshot", "1.0-alpha") < 0);
    T_CHECK(proto_version_cmp("1.10", "1.9") > 0);
    T_CHECK(proto_version_cmp("1.1", "1-xyz") > 0);
    T_CHECK(proto_version_cmp("2.00001", "2.1") == 0);
}

T_TEST(test_proxy_env)
{
    struct proto_dial_proxy p;
    struct ag_err err = {0};
    char line[] = "HTTP/1.0 407 Proxy Authentication Required";

    T_EQ_INT(proto_dial_proxy_parse("http://user:pw@proxy.example:3128/", &p, &err), 0);
    T_EQ_STR(p.host, "proxy.example");
    T_EQ_INT(p.port, 3128);
    T_EQ_INT(proto_dial_proxy_parse("10.0.0.1:8080", &p, &err), 0);
    T_EQ_STR(p.host, "10.0.0.1");
    T_EQ_INT(proto_dial_proxy_parse("http://[::1]:3128", &p, &err), 0);
    T_EQ_STR(p.host, "::1");
    T_EQ_INT(proto_dial_proxy_parse("http://proxy.example", &p, &err), AG_EUSAGE);
    T_CHECK(strstr(err.msg, "no valid port") != NULL);
    T_EQ_INT(proto_dial_proxy_parse("socks5://p:1080", &p, &err), AG_EUSAGE);

    /* localhost and loopback are never proxied */
    T_CHECK(proto_dial_no_proxy(NULL, "localhost"));
    T_CHECK(proto_dial_no_proxy(NULL, "127.0.0.1"));
    T_CHECK(proto_dial_no_proxy(NULL, "::1"));
    T_CHECK(!proto_dial_no_proxy(NULL, "jenkins.example"));
    /* suffixes without a dot boundary, leading '.' and '*.' dropped, ',' or '|' */
    T_CHECK(proto_dial_no_proxy("jenkins.io", "myjenkins.io"));
    T_CHECK(proto_dial_no_proxy(" .example.com , other", "ci.example.com"));
    T_CHECK(proto_dial_no_proxy("*.example.com|x", "ci.example.com"));
    T_CHECK(!proto_dial_no_proxy("example.com", "example.org"));
    T_CHECK(!proto_dial_no_proxy("EXAMPLE.com", "ci.example.com"));
    /* IP literals and CIDR blocks */
    T_CHECK(proto_dial_no_proxy("10.1.2.3", "10.1.2.3"));
    T_CHECK(!proto_dial_no_proxy("10.1.2.3", "10.1.2.4"));
    T_CHECK(proto_dial_no_proxy("10.0.0.0/8,192.168.0.0/16", "192.168.7.9"));
    T_CHECK(!proto_dial_no_proxy("10.0.0.0/8", "11.0.0.1"));
    T_CHECK(proto_dial_no_proxy("fd00::/8", "fd12::1"));
    T_CHECK(!proto_dial_no_proxy("10.0.0.0/99", "10.0.0.1"));
    /* the CONNECT reply */
    T_EQ_INT(proto_dial_proxy_status("HTTP/1.1 200 Connection established", 35, &err), 0);
    T_EQ_INT(proto_dial_proxy_status(line, strlen(line), &err), AG_EREFUSED);
    T_EQ_STR(err.msg, "Got a bad response from proxy: HTTP/1.0 407 Proxy Authentication Required");
    T_EQ_INT(proto_dial_proxy_status("HTTP/1.1 2000", 13, &err), AG_EREFUSED);
}

T_TEST(test_non_proxy_hosts)
{
    /* JDK DefaultProxySelector: whole host, case-insensitive, '*' at either end */
    T_CHECK(proto_dial_non_proxy_hosts("ci.example.com", "CI.Example.com", true));
    T_CHECK(!proto_dial_non_proxy_hosts("example.com", "ci.example.com", true));
    T_CHECK(proto_dial_non_proxy_hosts("foo|*.example.com", "ci.example.com", true));
    T_CHECK(proto_dial_non_proxy_hosts("10.*", "10.1.2.3", true));
    T_CHECK(!proto_dial_non_proxy_hosts("10.*", "110.1.2.3", true));
    T_CHECK(proto_dial_non_proxy_hosts("||*ample*", "ci.example.com", true));
    /* remoting's recheck: the trailing '*' of "*x*" is literal */
    T_CHECK(!proto_dial_non_proxy_hosts("*ample*", "ci.example.com", false));
    T_CHECK(proto_dial_non_proxy_hosts("*.example.com", "ci.example.com", false));
    /* the JDK default list, and IPv6 in brackets */
    T_CHECK(proto_dial_non_proxy_hosts(NULL, "localhost", true));
    T_CHECK(proto_dial_non_proxy_hosts(NULL, "127.0.0.2", true));
    T_CHECK(proto_dial_non_proxy_hosts(NULL, "::1", true));
    T_CHECK(!proto_dial_non_proxy_hosts(NULL, "ci.example.com", true));
    T_CHECK(!proto_dial_non_proxy_hosts("", "localhost", true));
    T_CHECK(proto_dial_non_proxy_hosts("[fd00::1]", "fd00::1", true));
}

T_TEST(test_redirects)
{
    static const struct {
        const char *cur;
        int status;
        const char *location; /* NULL: no header */
        int want_rc;
        const char *want; /* next URL when want_rc is 1 */
    } v[] = {
        {"http://h:8080/jenkins/tcpSlaveAgentListener/", 302, "/tcpSlaveAgentListener/", 1,
         "http://h:8080/tcpSlaveAgentListener/"},
        {"http://h/a/b", 301, "http://other:1/x#frag", 1, "http://other:1/x"},
        {"http://h/a/b", 301, "HTTP://other/x", 1, "HTTP://other/x"},
        {"http://h/a/b?q=1", 303, "c/d", 1, "http://h/a/c/d"},
        {"http://h/a/b", 307, "?x=2", 1, "http://h/a/b?x=2"},
        {"http://h", 300, "x", 1, "http://h/x"},
        {"https://h/a", 302, "//other:8443/p", 1, "https://other:8443/p"},
        {"http://h/a", 301, "https://h/a", 0, NULL},   /* http -> https: not followed */
        {"https://h/a", 302, "http://h/a", 0, NULL},   /* nor the reverse */
        {"http://h/a", 302, "ftp://h/a", 0, NULL},
        {"http://h/a", 308, "/b", 0, NULL},            /* Java 17 does not follow 308 */
        {"http://h/a", 304, "/b", 0, NULL},
        {"http://h/a", 305, "http://proxy:3128/", 0, NULL},
        {"http://h/a", 306, "/b", 0, NULL},
        {"http://h/a", 200, "/b", 0, NULL},
        {"http://h/a", 302, NULL, 0, NULL},            /* no Location: the 302 is the answer */
        {"http://h/a", 302, "/b\x01c", AG_EPROTO, NULL},
        {"http://h/a", 302, "http:///nohost", AG_EPROTO, NULL},
        {"http://h/a", 302, "http://h:99999/", AG_EPROTO, NULL},
    };
    char big[3000];

    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        struct proto_http_resp r;
        struct ag_err err = {0};
        char next[2200] = "";
        int rc;

        memset(&r, 0, sizeof(r));
        if (v[i].location != NULL) {
            r.n_headers = 2;
            r.headers[0].name = "Content-Type";
            r.headers[0].value = "text/html";
            r.headers[1].name = "location";
            r.headers[1].value = v[i].location;
        }
        rc = proto_http_redirect(v[i].cur, v[i].status, &r, next, sizeof(next), &err);
        T_EQ_INT(rc, v[i].want_rc);
        if (v[i].want != NULL) {
            T_EQ_STR(next, v[i].want);
        }
        if (rc < 0) {
            T_CHECK(strstr(err.msg, "Location") != NULL);
        }
    }
    /* a Location longer than the buffer */
    {
        struct proto_http_resp r;
        struct ag_err err = {0};
        char next[64];

        memset(big, 'a', sizeof(big) - 1);
        big[0] = '/';
        big[sizeof(big) - 1] = '\0';
        memset(&r, 0, sizeof(r));
        r.n_headers = 1;
        r.headers[0].name = "Location";
        r.headers[0].value = big;
        T_EQ_INT(proto_http_redirect("http://h/", 302, &r, next, sizeof(next), &err), AG_ELIMIT);
    }
}

T_MAIN(T_CASE(test_proxy_env), T_CASE(test_non_proxy_hosts), T_CASE(test_redirects), T_CASE(test_url), T_CASE(test_head_parser), T_CASE(test_head_limits),
       T_CASE(test_request_golden), T_CASE(test_discovery_golden), T_CASE(test_discovery_errors),
       T_CASE(test_hostport), T_CASE(test_versions))
