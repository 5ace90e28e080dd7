/*
 * test_conf.c: agent_conf_parse() against agent.jar's command line and the inbound-agent
 * entrypoint (shared/spec/transport.md sections 2 and 10.2). Each case gives argv, an
 * environment, and either the parsed configuration (as a compact dump) or the error text.
 */
#include "conf.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "err.h"
#include "harness.h"
#include "log.h"

#define TMP AG_BINARY_DIR "/tests/unit_conf_tmp"
#define AT_SECRET TMP "/secret.txt"
#define AT_ARGS TMP "/args.txt"
#define AT_CERT TMP "/cert.pem"
#define AT_SMALLCERT TMP "/small.pem"
#define SECRET "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define BASE "-url", "http://j:8080", "-secret", "s3cr3tvalue", "-name", "n"
#define BASE_DUMP "url=http://j:8080/ name=n secret=s3cr3tvalue"

struct ccase {
    const char *name;
    const char *args[24]; /* argv[1..], NULL-terminated */
    const char *env[12];  /* NULL-terminated */
    int rc;
    const char *want; /* rc == 0: the dump; otherwise a substring of the error */
    const char *warn; /* a substring of the joined warnings, or NULL for "no warnings" */
};

static void
add(char *out, size_t size, const char *k, const char *v)
{
    size_t o = strlen(out);

    (void)snprintf(out + o, size - o, "%s%s%s%s", o > 0 ? " " : "", k, v != NULL ? "=" : "",
                   v != NULL ? v : "");
}

static void
dump(const struct agent_conf *c, char *out, size_t size)
{
    static const char *const modes[] = {"run", "help", "version", "exec", "decode"};
    char num[32];

    out[0] = '\0';
    if (c->mode != AGENT_MODE_RUN) {
        add(out, size, "mode", modes[c->mode]);
    }
    for (size_t i = 0; i < c->urls.n; i++) {
        add(out, size, "url", c->urls.v[i]);
    }
    if (c->direct != NULL) {
        add(out, size, "direct", c->direct);
    }
    if (c->instance_identity != NULL) {
        add(out, size, "identity", c->instance_identity);
    }
    for (size_t i = 0; i < c->protocols.n; i++) {
        add(out, size, "protocol", c->protocols.v[i]);
    }
    if (c->tunnel != NULL) {
        add(out, size, "tunnel", c->tunnel);
    }
    if (c->websocket) {
        add(out, size, "ws", NULL);
    }
    for (size_t i = 0; i < c->ws_headers.n; i++) {
        add(out, size, "wsh", c->ws_headers.v[i]);
    }
    if (c->name != NULL) {
        add(out, size, "name", c->name);
    }
    if (c->secret != NULL) {
        add(out, size, "secret", c->secret);
    }
    if (c->positional) {
        add(out, size, "positional", NULL);
    }
    if (c->work_dir != NULL) {
        add(out, size, "workdir", c->work_dir);
    }
    if (c->internal_dir == NULL || strcmp(c->internal_dir, "remoting") != 0) {
        add(out, size, "internal", c->internal_dir != NULL ? c->internal_dir : "(null)");
    }
    if (c->fail_if_work_dir_missing) {
        add(out, size, "failmissing", NULL);
    }
    if (c->no_reconnect) {
        add(out, size, "noreconnect", NULL);
    }
    if (c->has_no_reconnect_after) {
        (void)snprintf(num, sizeof(num), "%llu", (unsigned long long)c->no_reconnect_after_ms);
        add(out, size, "nra", num);
    }
    if (c->no_keep_alive) {
        add(out, size, "nokeepalive", NULL);
    }
    if (c->credentials != NULL) {
        add(out, size, "cred", c->credentials);
    }
    if (c->proxy_credentials != NULL) {
        add(out, size, "proxycred", c->proxy_credentials);
    }
    if (c->jvm.http_proxy_host != NULL) {
        add(out, size, "D.http.proxyHost", c->jvm.http_proxy_host);
    }
    if (c->jvm.http_proxy_port != NULL) {
        add(out, size, "D.http.proxyPort", c->jvm.http_proxy_port);
    }
    if (c->jvm.https_proxy_host != NULL) {
        add(out, size, "D.https.proxyHost", c->jvm.https_proxy_host);
    }
    if (c->jvm.https_proxy_port != NULL) {
        add(out, size, "D.https.proxyPort", c->jvm.https_proxy_port);
    }
    if (c->jvm.non_proxy_hosts != NULL) {
        add(out, size, "D.nonProxyHosts", c->jvm.non_proxy_hosts);
    }
    for (size_t i = 0; i < c->certs.n; i++) {
        (void)snprintf(num, sizeof(num), "%zu", strlen(c->certs.v[i]));
        add(out, size, "certlen", num);
    }
    if (c->no_certificate_check) {
        add(out, size, "nocertcheck", NULL);
    }
    if (c->agent_log != NULL) {
        add(out, size, "agentlog", c->agent_log);
    }
    if (c->logging_config != NULL) {
        add(out, size, "loggingconfig", c->logging_config);
    }
    if (c->jar_cache != NULL) {
        add(out, size, "jarcache", c->jar_cache);
    }
    if (c->trace != NULL) {
        add(out, size, "trace", c->trace);
    }
    if (c->capture != NULL) {
        add(out, size, "capture", c->capture);
    }
    if (c->verbose || c->log_level != AG_LOG_INFO) {
        (void)snprintf(num, sizeof(num), "%d", c->log_level);
        add(out, size, "level", num);
    }
    if (c->exec_argv != NULL) {
        for (size_t i = 0; c->exec_argv[i] != NULL; i++) {
            add(out, size, "exec", c->exec_argv[i]);
        }
    }
    if (c->decode_path != NULL) {
        add(out, size, "decode", c->decode_path);
    }
}

static const struct ccase cases[] = {
    /* Every option, in both spellings, on top of a valid base. */
    {"base", {BASE, NULL}, {NULL}, 0, BASE_DUMP, NULL},
    {"url eq",
     {"-url=http://a", "-secret=x1234", "-name=n", NULL},
     {NULL},
     0,
     "url=http://a/ name=n secret=x1234",
     NULL},
    {"url repeat keeps order",
     {BASE, "-url", "https://b/x/", "-url=HTTP://c", NULL},
     {NULL},
     0,
     "url=http://j:8080/ url=https://b/x/ url=HTTP://c/ name=n secret=s3cr3tvalue",
     NULL},
    {"url not http",
     {BASE, "-url", "ftp://x", NULL},
     {NULL},
     AG_EUSAGE,
     "\"ftp://x\" is not a valid value for \"-url\"",
     NULL},
    {"url empty",
     {"-url=", NULL},
     {NULL},
     AG_EUSAGE,
     "\"\" is not a valid value for \"-url\"",
     NULL},
    {"direct",
     {"-direct", "h:50000", "-instanceIdentity", "QUJD", "-secret", "abcd1", "-name", "n", NULL},
     {NULL},
     0,
     "direct=h:50000 identity=QUJD name=n secret=abcd1",
     NULL},
    {"directConnection eq",
     {"-directConnection=h:1", "-instanceIdentity=QUJD", "-protocols=P1", "-protocols", "P2",
      "-secret=abcd1", "-name=n", NULL},
     {NULL},
     0,
     "direct=h:1 identity=QUJD protocol=P1 protocol=P2 name=n secret=abcd1",
     NULL},
    {"direct needs identity",
     {"-direct", "h:1", "-secret=abcd1", "-name=n", NULL},
     {NULL},
     AG_EUSAGE,
     "option \"-direct (-directConnection)\" requires the option(s) [-instanceIdentity]",
     NULL},
    {"direct forbids url",
     {BASE, "-direct", "h:1", "-instanceIdentity", "QUJD", NULL},
     {NULL},
     AG_EUSAGE,
     "option \"-direct (-directConnection)\" cannot be used with the option(s) [-jnlpUrl, -url, "
     "-tunnel]",
     NULL},
    {"identity needs direct",
     {BASE, "-instanceIdentity", "QUJD", NULL},
     {NULL},
     AG_EUSAGE,
     "option \"-instanceIdentity\" requires the option(s) [-direct]",
     NULL},
    {"protocols needs direct",
     {BASE, "-protocols", "JNLP4-connect", NULL},
     {NULL},
     AG_EUSAGE,
     "option \"-protocols\" requires the option(s) [-direct]",
     NULL},
    {"tunnel",
     {BASE, "-tunnel", "h:5", NULL},
     {NULL},
     0,
     "url=http://j:8080/ tunnel=h:5 name=n secret=s3cr3tvalue",
     NULL},
    {"tunnel eq last wins",
     {BASE, "-tunnel=:5", "-tunnel=h:", NULL},
     {NULL},
     0,
     "url=http://j:8080/ tunnel=h: name=n secret=s3cr3tvalue",
     NULL},
    {"websocket",
     {BASE, "-webSocket", "-webSocketHeader", "X-A=1", "-webSocketHeader=B=c=d", NULL},
     {NULL},
     0,
     "url=http://j:8080/ ws wsh=X-A=1 wsh=B=c=d name=n secret=s3cr3tvalue",
     NULL},
    {"websocket needs url",
     {"-webSocket", "-secret=abcd1", "-name=n", NULL},
     {NULL},
     AG_EUSAGE,
     "option \"-webSocket\" requires the option(s) [-url]",
     NULL},
    {"websocket forbids tunnel",
     {BASE, "-webSocket", "-tunnel", "h:1", NULL},
     {NULL},
     AG_EUSAGE,
     "option \"-webSocket\" cannot be used with the option(s) [-direct, -tunnel, -credentials, "
     "-noKeepAlive]",
     NULL},
    {"websocket forbids noKeepAlive",
     {BASE, "-webSocket", "-noKeepAlive", NULL},
     {NULL},
     AG_EUSAGE,
     "cannot be used with the option(s) [-direct, -tunnel",
     NULL},
    {"websocket one url",
     {BASE, "-webSocket", "-url", "http://k", NULL},
     {NULL},
     AG_EUSAGE,
     "Only a single URL is supported for WebSocket agents",
     NULL},
    {"wsheader needs websocket",
     {BASE, "-webSocketHeader", "A=b", NULL},
     {NULL},
     AG_EUSAGE,
     "option \"-webSocketHeader\" requires the option(s) [-webSocket]",
     NULL},
    {"wsheader no =",
     {BASE, "-webSocket", "-webSocketHeader", "A", NULL},
     {NULL},
     AG_EUSAGE,
     "An argument for setting a Map must contain a \"=\"",
     NULL},
    {"wsheader no name",
     {BASE, "-webSocket", "-webSocketHeader", "=v", NULL},
     {NULL},
     AG_EUSAGE,
     "A key must be set.",
     NULL},
    {"wsheader bad name",
     {BASE, "-webSocket", "-webSocketHeader", "A B=v", NULL},
     {NULL},
     AG_EUSAGE,
     "header name has an invalid character",
     NULL},
    {"wsheader empty value",
     {BASE, "-webSocket", "-webSocketHeader", "A=", NULL},
     {NULL},
     AG_EUSAGE,
     "the header value is empty",
     NULL},
    {"wsheader CRLF",
     {BASE, "-webSocket", "-webSocketHeader", "A=x\r\nB: y", NULL},
     {NULL},
     AG_EUSAGE,
     "header value has a control character",
     NULL},
    {"secret last wins",
     {BASE, "-secret", "other1", NULL},
     {NULL},
     0,
     "url=http://j:8080/ name=n secret=other1",
     NULL},
    {"workDir internalDir failIfMissing",
     {BASE, "-workDir", "/w", "-internalDir=int.x_-1", "-failIfWorkDirIsMissing", NULL},
     {NULL},
     0,
     BASE_DUMP " workdir=/w internal=int.x_-1 failmissing",
     NULL},
    {"workDir eq",
     {BASE, "-workDir=/a", "-workDir=/b", NULL},
     {NULL},
     0,
     BASE_DUMP " workdir=/b",
     NULL},
    {"internalDir empty ok",
     {BASE, "-workDir", "/w", "-internalDir=", NULL},
     {NULL},
     0,
     BASE_DUMP " workdir=/w internal=",
     NULL},
    {"internalDir bad",
     {BASE, "-workDir", "/w", "-internalDir", "a/b", NULL},
     {NULL},
     AG_EUSAGE,
     "Name of remoting internal directory ('a/b') is not compliant with the required format",
     NULL},
    {"internalDir needs workDir",
     {BASE, "-internalDir", "x", NULL},
     {NULL},
     AG_EUSAGE,
     "option \"-internalDir\" requires the option(s) [-workDir]",
     NULL},
    {"failIfMissing needs workDir",
     {BASE, "-failIfWorkDirIsMissing", NULL},
     {NULL},
     AG_EUSAGE,
     "option \"-failIfWorkDirIsMissing\" requires the option(s) [-workDir]",
     NULL},
    {"noReconnect", {BASE, "-noReconnect", NULL}, {NULL}, 0, BASE_DUMP " noreconnect", NULL},
    {"noreconnect alias", {BASE, "-noreconnect", NULL}, {NULL}, 0, BASE_DUMP " noreconnect", NULL},
    {"noReconnect =value",
     {BASE, "-noReconnect=true", NULL},
     {NULL},
     AG_EUSAGE,
     "option \"-noReconnect\" takes no value",
     NULL},
    {"noReconnectAfter 1d",
     {BASE, "-noReconnectAfter", "1d", NULL},
     {NULL},
     0,
     BASE_DUMP " nra=86400000",
     NULL},
    {"noReconnectAfter eq no unit",
     {BASE, "-noReconnectAfter=1500", NULL},
     {NULL},
     0,
     BASE_DUMP " nra=1500",
     NULL},
    {"noReconnectAfter forbids noReconnect",
     {BASE, "-noReconnect", "-noReconnectAfter", "5s", NULL},
     {NULL},
     AG_EUSAGE,
     "option \"-noReconnectAfter\" cannot be used with the option(s) [-noReconnect]",
     NULL},
    {"noReconnectAfter bad",
     {BASE, "-noReconnectAfter", "5x", NULL},
     {NULL},
     AG_EUSAGE,
     "\"5x\" is not a valid value for \"-noReconnectAfter\"",
     NULL},
    {"noKeepAlive", {BASE, "-noKeepAlive", NULL}, {NULL}, 0, BASE_DUMP " nokeepalive", NULL},
    {"credentials both names",
     {BASE, "-credentials", "u:p", "-jnlpCredentials=u:q", "-proxyCredentials", "x:y", NULL},
     {NULL},
     0,
     BASE_DUMP " cred=u:q proxycred=x:y",
     NULL},
    {"proxyCredentials eq",
     {BASE, "-proxyCredentials=a:b", NULL},
     {NULL},
     0,
     BASE_DUMP " proxycred=a:b",
     NULL},
    {"cert text trimmed",
     {BASE, "-cert", "  -----BEGIN CERTIFICATE-----\nAA\n  ", NULL},
     {NULL},
     0,
     BASE_DUMP " certlen=30",
     NULL},
    {"cert @file",
     {BASE, "-cert", "@" AT_CERT, "-cert=@" AT_CERT, NULL},
     {NULL},
     0,
     BASE_DUMP " certlen=100 certlen=100",
     NULL},
    {"cert @missing warns",
     {BASE, "-cert", "@/nonexistent/x.pem", NULL},
     {NULL},
     0,
     BASE_DUMP,
     "Could not read certificate from /nonexistent/x.pem. File not found"},
    {"cert @small warns",
     {BASE, "-cert", "@" AT_SMALLCERT, NULL},
     {NULL},
     0,
     BASE_DUMP,
     "File size is not within the expected range"},
    {"cert forbids noCertificateCheck",
     {BASE, "-cert", "X", "-noCertificateCheck", NULL},
     {NULL},
     AG_EUSAGE,
     "cannot be used with the option(s) [-",
     NULL},
    {"noCertificateCheck",
     {BASE, "-noCertificateCheck", NULL},
     {NULL},
     0,
     BASE_DUMP " nocertcheck",
     NULL},
    {"disableHttpsCertValidation",
     {BASE, "-disableHttpsCertValidation", NULL},
     {NULL},
     0,
     BASE_DUMP " nocertcheck",
     NULL},
    {"agentLog",
     {BASE, "-agentLog", "/tmp/a.log", NULL},
     {NULL},
     0,
     BASE_DUMP " agentlog=/tmp/a.log",
     NULL},
    {"loggingConfig warns",
     {BASE, "-loggingConfig=/l.properties", NULL},
     {NULL},
     0,
     BASE_DUMP " loggingconfig=/l.properties",
     "not supported yet"},
    {"jar-cache warns",
     {BASE, "-jar-cache", "/c", NULL},
     {NULL},
     0,
     BASE_DUMP " jarcache=/c",
     "loads no JARs"},
    {"jnlpUrl not supported",
     {"-jnlpUrl", "http://j/computer/n/jenkins-agent.jnlp", NULL},
     {NULL},
     AG_ENOTSUP,
     "-jnlpUrl is not supported by the native agent",
     NULL},
    {"jnlpUrl with url still not supported",
     {BASE, "-jnlpUrl", "http://j/x.jnlp", NULL},
     {NULL},
     AG_ENOTSUP,
     "-jnlpUrl is not supported by the native agent",
     NULL},
    {"help with jnlpUrl checks relations",
     {BASE, "-jnlpUrl", "http://j/x.jnlp", "-help", NULL},
     {NULL},
     AG_EUSAGE,
     "option \"-jnlpUrl\" cannot be used with the option(s) [-direct, -name, -tunnel, -url, "
     "-webSocket]",
     NULL},
    {"text not supported",
     {BASE, "-text", NULL},
     {NULL},
     AG_ENOTSUP,
     "\"-text\" is not supported by the native agent",
     NULL},
    {"tcp not supported",
     {BASE, "-tcp=/p", NULL},
     {NULL},
     AG_ENOTSUP,
     "\"-tcp\" is not supported",
     NULL},
    {"connectTo not supported",
     {BASE, "-connectTo", "h:1", NULL},
     {NULL},
     AG_ENOTSUP,
     "\"-connectTo\" is not supported",
     NULL},
    {"headless",
     {BASE, "-headless", NULL},
     {NULL},
     0,
     BASE_DUMP,
     "The \"-headless\" argument is deprecated and will be removed without replacement"},
    {"ping", {BASE, "-ping", NULL}, {NULL}, 0, BASE_DUMP, "The \"-ping\" argument is deprecated"},
    {"auth",
     {BASE, "-auth", "u:p", NULL},
     {NULL},
     0,
     BASE_DUMP,
     "use \"-credentials\" or \"-proxyCredentials\" instead."},
    {"auth eq", {BASE, "-auth=u:p", NULL}, {NULL}, 0, BASE_DUMP, "The \"-auth\" argument"},
    {"help", {"-help", NULL}, {NULL}, 0, "mode=help", NULL},
    {"help long", {"--help", NULL}, {NULL}, 0, "mode=help", NULL},
    {"version wins over help", {"-help", "-version", NULL}, {NULL}, 0, "mode=version", NULL},
    {"version long", {"--version", NULL}, {NULL}, 0, "mode=version", NULL},
    {"version still checks options",
     {"-version", "-bogus", NULL},
     {NULL},
     AG_EUSAGE,
     "\"-bogus\" is not a valid option",
     NULL},
    {"trace", {BASE, "--trace=jos,channel", NULL}, {NULL}, 0, BASE_DUMP " trace=jos,channel", NULL},
    {"trace all space form",
     {BASE, "--trace", "all", NULL},
     {NULL},
     0,
     BASE_DUMP " trace=all",
     NULL},
    {"trace bad word",
     {BASE, "--trace=jos,bogus", NULL},
     {NULL},
     AG_EUSAGE,
     "--trace: unknown component \"bogus\"",
     NULL},
    {"capture",
     {BASE, "--capture=/tmp/c.bin", NULL},
     {NULL},
     0,
     BASE_DUMP " capture=/tmp/c.bin",
     NULL},
    {"verbose", {BASE, "-v", NULL}, {NULL}, 0, BASE_DUMP " level=3", NULL},
    {"verbose long", {BASE, "--verbose", NULL}, {NULL}, 0, BASE_DUMP " level=3", NULL},

    /* args4j rules. */
    {"unknown option",
     {"-bogus", NULL},
     {NULL},
     AG_EUSAGE,
     "\"-bogus\" is not a valid option",
     NULL},
    {"unknown option eq hides value",
     {BASE, "-secrett=abc", NULL},
     {NULL},
     AG_EUSAGE,
     "\"-secrett=...\" is not a valid option",
     NULL},
    {"lone dash", {BASE, "-", NULL}, {NULL}, AG_EUSAGE, "\"-\" is not a valid option", NULL},
    {"missing operand",
     {BASE, "-name", NULL},
     {NULL},
     AG_EUSAGE,
     "Option \"-name\" takes an operand",
     NULL},
    {"operand may start with dash",
     {BASE, "-name", "-x", NULL},
     {NULL},
     0,
     "url=http://j:8080/ name=-x secret=s3cr3tvalue",
     NULL},
    {"double dash ends options",
     {"-url", "http://j", "--", "-sec", "-nm", NULL},
     {NULL},
     0,
     "url=http://j/ name=-nm secret=-sec positional",
     "Providing the secret and agent name as positional arguments is deprecated"},
    {"options are case sensitive",
     {BASE, "-URL", "http://x", NULL},
     {NULL},
     AG_EUSAGE,
     "\"-URL\" is not a valid option",
     NULL},

    /* Positional SECRET NAME. */
    {"positional",
     {"-url", "http://j", SECRET, "agent1", NULL},
     {NULL},
     0,
     "url=http://j/ name=agent1 secret=" SECRET " positional",
     "Providing the secret and agent name as positional arguments is deprecated; use \"-secret\" "
     "and \"-name\" instead."},
    {"positional three",
     {"-url", "http://j", SECRET, "a", "b", NULL},
     {NULL},
     AG_EUSAGE,
     "Two arguments required, but got [****, a, b]",
     NULL},
    {"positional one with option",
     {"-url", "http://j", "x", NULL},
     {NULL},
     AG_EUSAGE,
     "Two arguments required, but got [x]",
     NULL},
    {"positional and -secret",
     {"-url", "http://j", "-secret", "abcd1", "s", "n", NULL},
     {NULL},
     AG_EUSAGE,
     "Cannot provide secret via both named and positional arguments",
     "Providing the secret and agent name as positional"},
    {"positional and -name",
     {"-url", "http://j", "-name", "x", "s1234", "n", NULL},
     {NULL},
     AG_EUSAGE,
     "Cannot provide name via both named and positional arguments",
     "Providing the secret and agent name as positional"},

    /* Post-parse checks. */
    {"no secret",
     {"-url", "http://j", "-name", "n", NULL},
     {NULL},
     AG_EUSAGE,
     "Secret is required for inbound agents",
     NULL},
    {"no name",
     {"-url", "http://j", "-secret", "abcd1", NULL},
     {NULL},
     AG_EUSAGE,
     "Name is required for inbound agents",
     NULL},
    {"no url",
     {"-secret", "abcd1", "-name", "n", NULL},
     {NULL},
     AG_EUSAGE,
     "At least one URL is required for inbound agents",
     NULL},
    {"nothing at all", {NULL}, {NULL}, AG_EUSAGE, "Secret is required for inbound agents", NULL},

    /* @file expansion. */
    {"@file secret",
     {"-url", "http://j", "-secret", "@" AT_SECRET, "-name", "n", NULL},
     {NULL},
     0,
     "url=http://j/ name=n secret=" SECRET,
     NULL},
    {"@file lines",
     {"@" AT_ARGS, "-v", NULL},
     {NULL},
     0,
     "url=http://f/ ws name=with space secret=abcdef level=3",
     NULL},
    {"@file alone is the entrypoint's command",
     {"@" AT_ARGS, NULL},
     {NULL},
     0,
     "mode=exec exec=@" AT_ARGS,
     NULL},
    {"@file missing",
     {BASE, "-secret", "@/nonexistent/s", NULL},
     {NULL},
     AG_EUSAGE,
     "No such file: /nonexistent/s",
     NULL},
    {"@file from env",
     {NULL},
     {"JENKINS_SECRET=@" AT_SECRET, "JENKINS_URL=http://j", "JENKINS_AGENT_NAME=n", NULL},
     0,
     "url=http://j/ name=n secret=" SECRET,
     NULL},

    /* Subcommand and the entrypoint's single command. */
    {"decode", {"decode", "/tmp/x.bin", NULL}, {NULL}, 0, "mode=decode decode=/tmp/x.bin", NULL},
    {"decode stdin", {"decode", "-", NULL}, {NULL}, 0, "mode=decode decode=-", NULL},
    {"decode no file", {"decode", NULL}, {NULL}, AG_EUSAGE, "usage: jenkins-agent decode", NULL},
    {"exec", {"bash", NULL}, {"JENKINS_URL=http://ignored", NULL}, 0, "mode=exec exec=bash", NULL},
    {"exec path", {"/bin/true", NULL}, {NULL}, 0, "mode=exec exec=/bin/true", NULL},
    {"single option is not exec", {"-help", NULL}, {NULL}, 0, "mode=help", NULL},
    {"two words are positional",
     {"bash", "-c", NULL},
     {NULL},
     AG_EUSAGE,
     "\"-c\" is not a valid option",
     NULL},

    /* JVM proxy properties in JENKINS_JAVA_OPTS, else JAVA_OPTS (split at blanks, quotes kept,
     * the last -D wins, others ignored). */
    {"java opts proxies",
     {BASE, NULL},
     {"JAVA_OPTS=-Xmx1g  -Dhttp.proxyHost=p1 -Dhttp.proxyPort=3128\t-Dhttps.proxyHost=p2 "
      "-Dhttps.proxyPort=3129 -Dhttp.nonProxyHosts=*.local|10.* -Dfoo=bar -Dhttp.proxyHost=p3",
      NULL},
     0,
     BASE_DUMP " D.http.proxyHost=p3 D.http.proxyPort=3128 D.https.proxyHost=p2 "
               "D.https.proxyPort=3129 D.nonProxyHosts=*.local|10.*",
     NULL},
    {"JENKINS_JAVA_OPTS wins over JAVA_OPTS",
     {BASE, NULL},
     {"JAVA_OPTS=-Dhttp.proxyHost=a", "JENKINS_JAVA_OPTS=-Dhttps.proxyHost=b", NULL},
     0,
     BASE_DUMP " D.https.proxyHost=b",
     NULL},
    {"empty JENKINS_JAVA_OPTS falls back to JAVA_OPTS",
     {BASE, NULL},
     {"JENKINS_JAVA_OPTS=", "JAVA_OPTS=-Dhttp.proxyHost=a -Dhttp.proxyPort", NULL},
     0,
     BASE_DUMP " D.http.proxyHost=a D.http.proxyPort=",
     NULL},
    {"java opts quotes are literal",
     {BASE, NULL},
     {"JAVA_OPTS=-Dhttp.nonProxyHosts=\"a|b\" -D -Dhttp.proxyHostX=1 -dhttp.proxyHost=2", NULL},
     0,
     BASE_DUMP " D.nonProxyHosts=\"a|b\"",
     NULL},
    {"-DproxyCredentials is the default of -proxyCredentials",
     {BASE, NULL},
     {"JAVA_OPTS=-DproxyCredentials=u:pw", NULL},
     0,
     BASE_DUMP " proxycred=u:pw",
     NULL},
    {"-proxyCredentials wins over -DproxyCredentials",
     {BASE, "-proxyCredentials", "v:pw2", NULL},
     {"JAVA_OPTS=-DproxyCredentials=u:pw", NULL},
     0,
     BASE_DUMP " proxycred=v:pw2",
     NULL},

    /* The entrypoint's environment variables. */
    {"env basic",
     {NULL},
     {"JENKINS_URL=http://j:8080/", "JENKINS_SECRET=envsecret1", "JENKINS_AGENT_NAME=a1", NULL},
     0,
     "url=http://j:8080/ name=a1 secret=envsecret1",
     NULL},
    {"env all TCP",
     {NULL},
     {"JENKINS_URL=http://j", "JENKINS_SECRET=envsecret1", "JENKINS_AGENT_NAME=a1",
      "JENKINS_TUNNEL=t:5", "JENKINS_AGENT_WORKDIR=/home/jenkins/agent",
      "REMOTING_OPTS=-noReconnectAfter 1d", NULL},
     0,
     "url=http://j/ tunnel=t:5 name=a1 secret=envsecret1 workdir=/home/jenkins/agent "
     "nra=86400000",
     NULL},
    {"env direct",
     {NULL},
     {"JENKINS_DIRECT_CONNECTION=h:50000", "JENKINS_INSTANCE_IDENTITY=QUJD",
      "JENKINS_PROTOCOLS=JNLP4-connect", "JENKINS_SECRET=envsecret1", "JENKINS_AGENT_NAME=a1",
      NULL},
     0,
     "direct=h:50000 identity=QUJD protocol=JNLP4-connect name=a1 secret=envsecret1",
     NULL},
    {"env websocket true",
     {NULL},
     {"JENKINS_URL=http://j", "JENKINS_WEB_SOCKET=true", "JENKINS_SECRET=envsecret1",
      "JENKINS_AGENT_NAME=a1", NULL},
     0,
     "url=http://j/ ws name=a1 secret=envsecret1",
     NULL},
    {"env websocket TRUE is not true",
     {NULL},
     {"JENKINS_URL=http://j", "JENKINS_WEB_SOCKET=TRUE", "JENKINS_SECRET=envsecret1",
      "JENKINS_AGENT_NAME=a1", NULL},
     0,
     "url=http://j/ name=a1 secret=envsecret1",
     NULL},
    {"env JENKINS_NAME overrides",
     {NULL},
     {"JENKINS_URL=http://j", "JENKINS_SECRET=envsecret1", "JENKINS_AGENT_NAME=a1",
      "JENKINS_NAME=a2", NULL},
     0,
     "url=http://j/ name=a2 secret=envsecret1",
     NULL},
    {"env empty values ignored",
     {BASE, NULL},
     {"JENKINS_URL=", "JENKINS_SECRET=", "JENKINS_AGENT_NAME=", "JENKINS_TUNNEL=",
      "JENKINS_AGENT_WORKDIR=", "JENKINS_DIRECT_CONNECTION=", "JENKINS_INSTANCE_IDENTITY=",
      "JENKINS_PROTOCOLS=", "REMOTING_OPTS=", NULL},
     0,
     BASE_DUMP,
     NULL},
    {"env protocols need direct",
     {BASE, NULL},
     {"JENKINS_PROTOCOLS=JNLP4-connect", NULL},
     AG_EUSAGE,
     "option \"-protocols\" requires the option(s) [-direct]",
     NULL},
    {"env value is word-split",
     {NULL},
     {"JENKINS_URL=http://j", "JENKINS_SECRET=envsecret1", "JENKINS_AGENT_NAME=my agent", NULL},
     AG_EUSAGE,
     "Two arguments required, but got [agent]",
     NULL},

    /* Precedence: env first, then REMOTING_OPTS, then the command line. */
    {"cli overrides env",
     {"-name", "cli", "-secret", "clisecret", NULL},
     {"JENKINS_URL=http://j", "JENKINS_SECRET=envsecret1", "JENKINS_AGENT_NAME=envname", NULL},
     0,
     "url=http://j/ name=cli secret=clisecret",
     NULL},
    {"REMOTING_OPTS overrides env",
     {NULL},
     {"JENKINS_URL=http://j", "JENKINS_SECRET=envsecret1", "JENKINS_AGENT_NAME=a1",
      "JENKINS_TUNNEL=env:1", "REMOTING_OPTS=-tunnel ro:2", NULL},
     0,
     "url=http://j/ tunnel=ro:2 name=a1 secret=envsecret1",
     NULL},
    {"cli overrides REMOTING_OPTS",
     {"-tunnel=cli:3", NULL},
     {"JENKINS_URL=http://j", "JENKINS_SECRET=envsecret1", "JENKINS_AGENT_NAME=a1",
      "REMOTING_OPTS=-tunnel ro:2", NULL},
     0,
     "url=http://j/ tunnel=cli:3 name=a1 secret=envsecret1",
     NULL},
    {"env url plus cli url",
     {"-url", "http://cli", NULL},
     {"JENKINS_URL=http://env", "JENKINS_SECRET=envsecret1", "JENKINS_AGENT_NAME=a1", NULL},
     0,
     "url=http://env/ url=http://cli/ name=a1 secret=envsecret1",
     NULL},
    {"env url plus cli url with websocket",
     {"-url", "http://cli", "-webSocket", NULL},
     {"JENKINS_URL=http://env", "JENKINS_SECRET=envsecret1", "JENKINS_AGENT_NAME=a1", NULL},
     AG_EUSAGE,
     "Only a single URL is supported for WebSocket agents",
     NULL},

    /* The entrypoint's substring rules and warnings. */
    {"tunnel substring with space skips env",
     {"-tunnel", "cli:1", NULL},
     {"JENKINS_URL=http://j", "JENKINS_SECRET=envsecret1", "JENKINS_AGENT_NAME=a1",
      "JENKINS_TUNNEL=env:1", NULL},
     0,
     "url=http://j/ tunnel=cli:1 name=a1 secret=envsecret1",
     NULL},
    {"tunnel eq form is not detected, cli wins",
     {"-tunnel=cli:1", NULL},
     {"JENKINS_URL=http://j", "JENKINS_SECRET=envsecret1", "JENKINS_AGENT_NAME=a1",
      "JENKINS_TUNNEL=env:1", NULL},
     0,
     "url=http://j/ tunnel=cli:1 name=a1 secret=envsecret1",
     NULL},
    {"workDir twice warns",
     {"-workDir=/cli", NULL},
     {"JENKINS_URL=http://j", "JENKINS_SECRET=envsecret1", "JENKINS_AGENT_NAME=a1",
      "JENKINS_AGENT_WORKDIR=/env", NULL},
     0,
     "url=http://j/ name=a1 secret=envsecret1 workdir=/cli",
     "Warning: Work directory is defined twice in command-line arguments and the environment "
     "variable"},
    {"workDir substring anywhere",
     {"-name", "x-workDirx", NULL},
     {"JENKINS_URL=http://j", "JENKINS_SECRET=envsecret1", "JENKINS_AGENT_WORKDIR=/env", NULL},
     0,
     "url=http://j/ name=x-workDirx secret=envsecret1",
     "Work directory is defined twice"},
    {"secret in positional warns",
     {SECRET, "agentX", NULL},
     {"JENKINS_URL=http://j", "JENKINS_SECRET=" SECRET, "JENKINS_AGENT_NAME=agentX", NULL},
     0,
     "url=http://j/ name=agentX secret=" SECRET " positional",
     "Warning: SECRET is defined twice in command-line arguments and the environment variable"},
    {"name substring warns",
     {"-name", "agent-10", NULL},
     {"JENKINS_URL=http://j", "JENKINS_SECRET=envsecret1", "JENKINS_AGENT_NAME=agent-1", NULL},
     0,
     "url=http://j/ name=agent-10 secret=envsecret1",
     "Warning: AGENT_NAME is defined twice in command-line arguments and the environment "
     "variable"},

    /* REMOTING_OPTS: shell-like quoting, no evaluation. */
    {"REMOTING_OPTS quotes",
     {BASE, NULL},
     {"REMOTING_OPTS=-webSocket -webSocketHeader 'X-A=a b' -webSocketHeader \"X-B=\\\"q\\\" $HOME\""
      " -webSocketHeader X-C=c\\ d",
      NULL},
     0,
     "url=http://j:8080/ ws wsh=X-A=a b wsh=X-B=\"q\" $HOME wsh=X-C=c d name=n secret=s3cr3tvalue",
     NULL},
    {"REMOTING_OPTS no evaluation",
     {BASE, NULL},
     {"REMOTING_OPTS=-tunnel '$(echo h):1'", NULL},
     0,
     "url=http://j:8080/ tunnel=$(echo h):1 name=n secret=s3cr3tvalue",
     NULL},
    {"REMOTING_OPTS comment", {BASE, NULL}, {"REMOTING_OPTS=-tunnel a#b # -bogus", NULL}, 0,
     "url=http://j:8080/ tunnel=a#b name=n secret=s3cr3tvalue", NULL},
    {"REMOTING_OPTS unterminated",
     {BASE, NULL},
     {"REMOTING_OPTS=-tunnel 'x", NULL},
     AG_EUSAGE,
     "REMOTING_OPTS has an unterminated ' quote",
     NULL},
    {"REMOTING_OPTS bad option",
     {BASE, NULL},
     {"REMOTING_OPTS=-nope", NULL},
     AG_EUSAGE,
     "\"-nope\" is not a valid option",
     NULL},
};

static void
join_warnings(const struct agent_conf *c, char *out, size_t size)
{
    out[0] = '\0';
    for (size_t i = 0; i < c->warnings.n; i++) {
        size_t o = strlen(out);

        (void)snprintf(out + o, size - o, "%s|", c->warnings.v[i]);
    }
}

/* Copies of the case's strings in one writable block, as the kernel lays out argv. */
struct fake_argv {
    char *argv[32];
    char buf[4096];
    int argc;
};

static void
fake_argv_init(struct fake_argv *f, const char *const *args)
{
    size_t o = 0;

    f->argc = 0;
    memcpy(f->buf, "jenkins-agent", sizeof("jenkins-agent"));
    f->argv[f->argc++] = f->buf;
    o = sizeof("jenkins-agent");
    for (size_t i = 0; args[i] != NULL; i++) {
        size_t n = strlen(args[i]) + 1;

        memcpy(f->buf + o, args[i], n);
        f->argv[f->argc++] = f->buf + o;
        o += n;
    }
    f->argv[f->argc] = NULL;
}

T_TEST(test_table)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct ccase *tc = &cases[i];
        struct fake_argv fa;
        struct agent_conf c;
        struct agent_conf_err err;
        char got[2048];
        char warns[2048];
        int rc;

        fake_argv_init(&fa, tc->args);
        rc = agent_conf_parse(&c, fa.argc, fa.argv, (char **)tc->env, &err);
        if (rc != tc->rc) {
            (void)fprintf(stderr, "case \"%s\": rc %d (%s), want %d\n", tc->name, rc, err.msg,
                          tc->rc);
            t_failed_checks++;
        } else if (rc == 0) {
            dump(&c, got, sizeof(got));
            if (strcmp(got, tc->want) != 0) {
                (void)fprintf(stderr, "case \"%s\":\n  got  %s\n  want %s\n", tc->name, got,
                              tc->want);
                t_failed_checks++;
            }
        } else if (strstr(err.msg, tc->want) == NULL || strchr(err.msg, '\n') != NULL) {
            (void)fprintf(stderr, "case \"%s\": error \"%s\", want \"%s\"\n", tc->name, err.msg,
                          tc->want);
            t_failed_checks++;
        }
        join_warnings(&c, warns, sizeof(warns));
        if (tc->warn == NULL ? warns[0] != '\0' : strstr(warns, tc->warn) == NULL) {
            (void)fprintf(stderr, "case \"%s\": warnings \"%s\", want \"%s\"\n", tc->name, warns,
                          tc->warn != NULL ? tc->warn : "");
            t_failed_checks++;
        }
        /* Whatever the form, a parsed secret is gone from argv. */
        if (c.secret != NULL && strlen(c.secret) >= 4) {
            for (int k = 0; k < fa.argc; k++) {
                if (strstr(fa.argv[k], c.secret) != NULL) {
                    (void)fprintf(stderr, "case \"%s\": secret still in argv[%d] \"%s\"\n",
                                  tc->name, k, fa.argv[k]);
                    t_failed_checks++;
                }
            }
        }
        agent_conf_fini(&c);
    }
}

static bool has_mem(const char *hay, size_t n, const char *needle);

/* Every option that takes a value gives the same result as `-opt v` and as `-opt=v`. */
T_TEST(test_both_forms)
{
    static const struct {
        const char *opt;
        const char *value;
        const char *extra; /* an option it depends on, or NULL */
    } v[] = {
        {"-url", "http://other", NULL},
        {"-tunnel", "h:1", NULL},
        {"-secret", "abcdef12", NULL},
        {"-name", "other", NULL},
        {"-webSocketHeader", "A=b", "-webSocket"},
        {"-workDir", "/w", NULL},
        {"-noReconnectAfter", "PT1M", NULL},
        {"-credentials", "u:p", NULL},
        {"-jnlpCredentials", "u:p", NULL},
        {"-proxyCredentials", "u:p", NULL},
        {"-cert", "PEMTEXT", NULL},
        {"-agentLog", "/a.log", NULL},
        {"-loggingConfig", "/l.properties", NULL},
        {"-jar-cache", "/c", NULL},
        {"-auth", "u:p", NULL},
        {"--trace", "conn", NULL},
        {"--capture", "/c.bin", NULL},
        {"-tcp", "/p", NULL},
        {"-connectTo", "h:1", NULL},
        {"-jnlpUrl", "http://j/x.jnlp", NULL},
    };
    static const struct {
        const char *opt;
        const char *value;
    } direct[] = {
        {"-direct", "h:2"},
        {"-directConnection", "h:2"},
        {"-instanceIdentity", "QUJD"},
        {"-protocols", "P"},
    };

    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]) + sizeof(direct) / sizeof(direct[0]); i++) {
        bool is_direct = i >= sizeof(v) / sizeof(v[0]);
        size_t k = is_direct ? i - sizeof(v) / sizeof(v[0]) : i;
        const char *opt = is_direct ? direct[k].opt : v[k].opt;
        const char *value = is_direct ? direct[k].value : v[k].value;
        char eq[128];
        char dumps[2][2048];
        char errs[2][512];
        int rcs[2];

        (void)snprintf(eq, sizeof(eq), "%s=%s", opt, value);
        for (int form = 0; form < 2; form++) {
            const char *args[16];
            struct fake_argv fa;
            struct agent_conf c;
            struct agent_conf_err err;
            size_t a = 0;

            if (is_direct) {
                args[a++] = "-direct";
                args[a++] = "h:1";
                args[a++] = "-instanceIdentity";
                args[a++] = "QUJE";
            } else {
                args[a++] = "-url";
                args[a++] = "http://j";
            }
            args[a++] = "-secret";
            args[a++] = "s3cr3tvalue";
            args[a++] = "-name";
            args[a++] = "n";
            if (!is_direct && v[k].extra != NULL) {
                args[a++] = v[k].extra;
            }
            if (form == 0) {
                args[a++] = opt;
                args[a++] = value;
            } else {
                args[a++] = eq;
            }
            args[a] = NULL;
            fake_argv_init(&fa, args);
            rcs[form] = agent_conf_parse(&c, fa.argc, fa.argv, NULL, &err);
            dump(&c, dumps[form], sizeof(dumps[form]));
            (void)snprintf(errs[form], sizeof(errs[form]), "%s", rcs[form] != 0 ? err.msg : "");
            agent_conf_fini(&c);
        }
        if (rcs[0] != rcs[1] || strcmp(dumps[0], dumps[1]) != 0 || strcmp(errs[0], errs[1]) != 0) {
            (void)fprintf(
                stderr, "%s: \"%s %s\" gives rc %d \"%s\" %s, \"%s\" gives rc %d \"%s\" %s\n", opt,
                opt, value, rcs[0], dumps[0], errs[0], eq, rcs[1], dumps[1], errs[1]);
            t_failed_checks++;
        }
        /* And the value arrived (unless the option is refused or only warns). */
        if (rcs[0] == 0 && strstr(dumps[0], value) == NULL && strcmp(opt, "-auth") != 0 &&
            strcmp(opt, "-noReconnectAfter") != 0 && strcmp(opt, "-cert") != 0) {
            (void)fprintf(stderr, "%s: value missing from \"%s\"\n", opt, dumps[0]);
            t_failed_checks++;
        }
    }
}

T_TEST(test_scrub_forms)
{
    static const char *const forms[][8] = {
        {"-url", "http://j", "-secret", "topsecret42", "-name", "n", NULL},
        {"-url", "http://j", "-secret=topsecret42", "-name", "n", NULL},
        {"-url", "http://j", "topsecret42", "n", NULL},
        /* A failing parse scrubs what it saw too. */
        {"-url", "http://j", "-secret", "topsecret42", NULL},
    };

    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        struct fake_argv fa;
        struct agent_conf c;
        struct agent_conf_err err;
        char cmdline[4096];
        size_t n = 0;

        fake_argv_init(&fa, forms[i]);
        if (agent_conf_parse(&c, fa.argc, fa.argv, NULL, &err) != 0) {
            T_EQ_INT(i, 3); /* only the last form is incomplete (no name) */
        }
        /* Read the block back the way /proc/PID/cmdline does: NUL-separated bytes. */
        for (int k = 0; k < fa.argc; k++) {
            size_t l = strlen(fa.argv[k]) + 1;

            memcpy(cmdline + n, fa.argv[k], l);
            n += l;
        }
        T_CHECK(!has_mem(cmdline, n, "topsecret42"));
        T_CHECK(has_mem(cmdline, n, "***********"));
        T_CHECK(has_mem(cmdline, n, "http://j")); /* nothing else was touched */
        T_CHECK(strstr(err.msg, "topsecret42") == NULL);
        agent_conf_fini(&c);
    }
}

static bool
has_mem(const char *hay, size_t n, const char *needle)
{
    size_t l = strlen(needle);

    for (size_t i = 0; i + l <= n; i++) {
        if (memcmp(hay + i, needle, l) == 0) {
            return true;
        }
    }
    return false;
}

static size_t
read_cmdline(pid_t pid, char *buf, size_t size)
{
    char path[64];
    size_t n = 0;
    ssize_t r;
    int fd;

    (void)snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        return 0;
    }
    while (n < size && (r = read(fd, buf + n, size - n)) > 0) {
        n += (size_t)r;
    }
    (void)close(fd);
    return n;
}

/*
 * The real binary: /proc/PID/cmdline of a running jenkins-agent no longer shows the secret.
 * -agentLog names a FIFO nobody reads yet, so the child blocks in open() right after parsing:
 * alive, with its final command line. We poll that command line until it holds the option
 * names and not the secret; if scrubbing were broken, the secret would stay and the poll would
 * time out.
 */
static void
check_child_cmdline(const char *const *extra)
{
    const char *bin = AG_BINARY_DIR "/jenkins-agent";
    const char *fifo = TMP "/agentlog.fifo";
    const char *secret = "fedcba9876543210";
    char *args[16];
    char *envp[] = {"PATH=/usr/bin:/bin", NULL};
    char buf[4096];
    struct timespec tick = {0, 10 * 1000 * 1000};
    bool scrubbed = false;
    size_t n = 0;
    int status = 0;
    pid_t pid;
    int a = 0;
    int fd;

    (void)unlink(fifo);
    T_EQ_INT(mkfifo(fifo, 0600), 0);
    args[a++] = (char *)bin;
    for (size_t i = 0; extra[i] != NULL; i++) {
        args[a++] = (char *)extra[i];
    }
    args[a++] = "-agentLog";
    args[a++] = (char *)fifo;
    args[a] = NULL;

    pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);

        if (devnull != -1) {
            (void)dup2(devnull, 2);
        }
        (void)execve(bin, args, envp);
        _exit(127);
    }
    T_CHECK(pid > 0);
    for (int i = 0; i < 1000 && pid > 0 && !scrubbed; i++) {
        n = read_cmdline(pid, buf, sizeof(buf));
        /* "-agentLog" tells the exec'd agent from the forked test process. */
        scrubbed = has_mem(buf, n, "-agentLog") && !has_mem(buf, n, secret);
        if (!scrubbed) {
            (void)nanosleep(&tick, NULL);
        }
    }
    T_CHECK(scrubbed);
    T_CHECK(has_mem(buf, n, "****************"));
    T_CHECK(has_mem(buf, n, "http://127.0.0.1:9/"));
    /* Let the child go: open the read end, then stop it. */
    fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (pid > 0) {
        (void)kill(pid, SIGTERM);
        (void)waitpid(pid, &status, 0);
    }
    if (fd != -1) {
        (void)close(fd);
    }
    (void)unlink(fifo);
}

T_TEST(test_scrub_real_process)
{
    static const char *const named[] = {
        "-url", "http://127.0.0.1:9/", "-noReconnect", "-secret", "fedcba9876543210", "-name", "n",
        NULL};
    static const char *const eq[] = {
        "-url", "http://127.0.0.1:9/", "-noReconnect", "-secret=fedcba9876543210", "-name", "n",
        NULL};
    static const char *const pos[] = {
        "-url", "http://127.0.0.1:9/", "-noReconnect", "fedcba9876543210", "n", NULL};

    check_child_cmdline(named);
    check_child_cmdline(eq);
    check_child_cmdline(pos);
}

T_TEST(test_secret_not_logged)
{
    static const char *const args[] = {"-url",  "http://j", "-secret", "hiddenvalue9",
                                       "-name", "n",        NULL};
    struct fake_argv fa;
    struct agent_conf c;
    struct agent_conf_err err;
    char line[128];

    fake_argv_init(&fa, args);
    T_EQ_INT(agent_conf_parse(&c, fa.argc, fa.argv, NULL, &err), 0);
    (void)snprintf(line, sizeof(line), "connecting with hiddenvalue9 now");
    ag_log_redact(line);
    T_EQ_STR(line, "connecting with **** now");
    agent_conf_fini(&c);
}

T_TEST(test_durations)
{
    static const struct {
        const char *in;
        int rc;
        uint64_t ms;
    } v[] = {
        {"0", 0, 0},
        {"1500", 0, 1500},
        {"+7", 0, 7},
        {"-5", 0, 0},
        {"10ms", 0, 10},
        {"10MS", 0, 10},
        {"3000000ns", 0, 3},
        {"2s", 0, 2000},
        {"2S", 0, 2000},
        {"3m", 0, 180000},
        {"1h", 0, 3600000},
        {"1d", 0, 86400000},
        {"1D", 0, 86400000},
        {"PT30M", 0, 1800000},
        {"pt30m", 0, 1800000},
        {"P1D", 0, 86400000},
        {"P1DT1H", 0, 90000000},
        {"PT1.5S", 0, 1500},
        {"PT-1.5S", 0, 0},
        {"-PT1S", 0, 0},
        {"PT1H2M3S", 0, 3723000},
        {"PT0.001S", 0, 1},
        {"+P2D", 0, 172800000},
        {"", AG_EUSAGE, 0},
        {"s", AG_EUSAGE, 0},
        {"5x", AG_EUSAGE, 0},
        {"5sec", AG_EUSAGE, 0},
        {"5us", AG_EUSAGE, 0},
        {"5 s", AG_EUSAGE, 0},
        {"P", AG_EUSAGE, 0},
        {"PT", AG_EUSAGE, 0},
        {"P1H", AG_EUSAGE, 0},
        {"PT1S2M", AG_EUSAGE, 0},
        {"P1Y", AG_EUSAGE, 0},
        {"PT1.1234567890S", AG_EUSAGE, 0},
        {"99999999999999999999", AG_EUSAGE, 0},
        {"9223372036854775807d", AG_EUSAGE, 0},
        {"1.5s", AG_EUSAGE, 0},
        {"abc", AG_EUSAGE, 0},
    };

    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        uint64_t ms = 12345;
        int rc = agent_conf_parse_duration(v[i].in, &ms);

        if (rc != v[i].rc || (rc == 0 && ms != v[i].ms)) {
            (void)fprintf(stderr, "duration \"%s\": rc %d ms %llu, want rc %d ms %llu\n", v[i].in,
                          rc, (unsigned long long)ms, v[i].rc, (unsigned long long)v[i].ms);
            t_failed_checks++;
        }
    }
}

T_TEST(test_usage_lists_every_option)
{
    static const char *const names[] = {
        "-url",
        "-direct",
        "-instanceIdentity",
        "-protocols",
        "-tunnel",
        "-secret",
        "-name",
        "-webSocket",
        "-webSocketHeader",
        "-workDir",
        "-internalDir",
        "-failIfWorkDirIsMissing",
        "-noReconnect",
        "-noReconnectAfter",
        "-noKeepAlive",
        "-credentials",
        "-proxyCredentials",
        "-cert",
        "-noCertificateCheck",
        "-agentLog",
        "-loggingConfig",
        "-jar-cache",
        "-jnlpUrl",
        "-headless",
        "-ping",
        "-auth",
        "-help",
        "-version",
        "-text",
        "-tcp",
        "-connectTo",
        "--trace",
        "--capture",
        "-v",
        "-directConnection",
        "-noreconnect",
        "-jnlpCredentials",
        "-disableHttpsCertValidation",
        "--verbose",
        "JENKINS_URL",
        "JENKINS_SECRET",
        "JENKINS_AGENT_NAME",
        "JENKINS_NAME",
        "JENKINS_AGENT_WORKDIR",
        "JENKINS_WEB_SOCKET",
        "JENKINS_TUNNEL",
        "JENKINS_DIRECT_CONNECTION",
        "JENKINS_INSTANCE_IDENTITY",
        "JENKINS_PROTOCOLS",
        "REMOTING_OPTS",
        "decode",
    };
    const char *u = agent_conf_usage();

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char want[64];

        (void)snprintf(want, sizeof(want), "%s", names[i]);
        if (strstr(u, want) == NULL) {
            (void)fprintf(stderr, "usage lacks %s\n", names[i]);
            t_failed_checks++;
        }
    }
}

T_TEST(test_alloc_failures)
{
    static const char *const args[] = {"-url",  "http://j", "-secret",    "abcdefgh",
                                       "-name", "n",        "-webSocket", "-webSocketHeader",
                                       "A=b",   "-cert",    "@" AT_CERT,  NULL};
    static const char *const env[] = {"REMOTING_OPTS=-noReconnectAfter '1d'",
                                      "JENKINS_AGENT_WORKDIR=/w", NULL};

    /* Fail each allocation in turn: every failure is AG_ENOMEM, nothing leaks or crashes. */
    for (uint64_t n = 1; n < 400; n++) {
        struct fake_argv fa;
        struct agent_conf c;
        struct agent_conf_err err;
        int rc;

        fake_argv_init(&fa, args);
        ag_alloc_fail_after(n);
        rc = agent_conf_parse(&c, fa.argc, fa.argv, (char **)env, &err);
        ag_alloc_fail_after(0);
        agent_conf_fini(&c);
        if (rc == 0) {
            break;
        }
        if (rc != AG_ENOMEM) {
            (void)fprintf(stderr, "allocation %llu failed: rc %d (%s)\n", (unsigned long long)n, rc,
                          err.msg);
            t_failed_checks++;
        }
    }
}

static void
write_file(const char *path, const char *data)
{
    FILE *f = fopen(path, "w");

    if (f == NULL) {
        (void)fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
        t_failed_checks++;
        return;
    }
    (void)fputs(data, f);
    (void)fclose(f);
}

static void
setup_files(void)
{
    char cert[101];

    (void)mkdir(AG_BINARY_DIR "/tests", 0755);
    (void)mkdir(TMP, 0755);
    write_file(AT_SECRET, SECRET "\n");
    /* \r\n and \r end lines too; an empty middle line would be an empty argument. */
    write_file(AT_ARGS, "-url\r\nhttp://f\r-secret\nabcdef\n-name\nwith space\n-webSocket");
    memset(cert, 'A', sizeof(cert) - 1);
    cert[sizeof(cert) - 1] = '\0';
    memcpy(cert, "-----BEGIN CERTIFICATE-----\n", 28);
    write_file(AT_CERT, cert);
    write_file(AT_SMALLCERT, "-----BEGIN CERTIFICATE-----\n");
}

T_TEST(test_setup)
{
    setup_files();
}

/* test_secret_not_logged runs first: the logger keeps at most 8 secrets for the process. */
T_MAIN(T_CASE(test_setup), T_CASE(test_secret_not_logged), T_CASE(test_table),
       T_CASE(test_both_forms), T_CASE(test_scrub_forms), T_CASE(test_scrub_real_process),
       T_CASE(test_durations), T_CASE(test_usage_lists_every_option), T_CASE(test_alloc_failures))
