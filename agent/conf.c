/*
 * conf.c: agent.jar's command line (hudson.remoting.Launcher with args4j 2.37) and the
 * inbound-agent image's entrypoint script, in one parser (shared/spec/transport.md sections 2
 * and 10.2; docs/cli.md lists every option and each difference from agent.jar).
 *
 * The parse has three steps, each as the Java side does it:
 *   1. build the argument vector the entrypoint script would pass to agent.jar
 *      (env-derived options, REMOTING_OPTS, then our own argv);
 *   2. expand every "@file" argument into the file's lines (args4j expandAtFiles);
 *   3. parse the vector with args4j's rules, then run Launcher's post-parse checks.
 * Nothing here touches the network or the file system beyond reading @files and -cert @files.
 */
#include "conf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "err.h"
#include "log.h"
#include "util.h"

#define CONF_MAX_ARGS 4096             /* arguments after @file expansion */
#define CONF_MAX_ATFILE (1024 * 1024)  /* bytes of one @file */
#define CONF_MAX_ENV_VALUE (64 * 1024) /* bytes of one environment value we split */
#define CONF_CERT_MIN 53               /* strlen("-----BEGIN CERTIFICATE-----\n-----END...") */
#define CONF_CERT_MAX 65536

/* One argument of the vector handed to the args4j-like parser. */
struct carg {
    char *s; /* owned */
    int src; /* index into the caller's argv, or -1 (environment, @file) */
};

struct cvec {
    struct carg *v; /* owned */
    size_t n;
    size_t cap;
};

/*
 * Every option: X(id, name, alias, takes_value, meta, depends, forbids, usage). depends and
 * forbids are agent.jar's, spelled as args4j prints them. The same list builds the option table
 * and the -help text (a string literal, so no mutable buffer).
 */
#define CONF_OPTIONS(X)                                                                            \
    X(O_URL, "-url", "", true, " URL", "", "", "Jenkins root URL; repeatable, tried in order")     \
    X(O_DIRECT, "-direct", "-directConnection", true, " HOST:PORT", "[-instanceIdentity]",         \
      "[-jnlpUrl, -url, -tunnel]", "connect straight to this TCP agent port, no HTTP discovery")   \
    X(O_IDENTITY, "-instanceIdentity", "", true, " B64", "[-direct]", "",                          \
      "the controller's public key (base64 DER SubjectPublicKeyInfo), with -direct")               \
    X(O_PROTOCOLS, "-protocols", "", true, " NAME", "[-direct]", "",                               \
      "protocol to try with -direct (JNLP4-connect); repeatable")                                  \
    X(O_TUNNEL, "-tunnel", "", true, " HOST:PORT", "", "",                                         \
      "connect to this TCP agent address instead; HOST: or :PORT keep the discovered part")        \
    X(O_SECRET, "-secret", "", true, " HEX_SECRET", "", "",                                        \
      "agent connection secret (or @FILE holding it); never logged")                               \
    X(O_NAME, "-name", "", true, " NAME", "", "", "name of the agent (node)")                      \
    X(O_WEBSOCKET, "-webSocket", "", false, "", "[-url]",                                          \
      "[-direct, -tunnel, -credentials, -noKeepAlive]",                                            \
      "connect over WebSocket (HTTP port) instead of the TCP agent port")                          \
    X(O_WSHEADER, "-webSocketHeader", "", true, " NAME=VALUE", "[-webSocket]", "",                 \
      "extra header for the WebSocket upgrade request; repeatable")                                \
    X(O_WORKDIR, "-workDir", "", true, " DIR", "", "",                                             \
      "work directory; <DIR>/remoting/logs/ gets the log files")                                   \
    X(O_INTERNALDIR, "-internalDir", "", true, " NAME", "[-workDir]", "",                          \
      "name of the internal directory in -workDir ('remoting' by default)")                        \
    X(O_FAILIFMISSING, "-failIfWorkDirIsMissing", "", false, "", "[-workDir]", "",                 \
      "fail if the work directory or its internal directory does not exist")                       \
    X(O_NORECONNECT, "-noReconnect", "-noreconnect", false, "", "", "",                            \
      "exit instead of reconnecting when the connection ends")                                     \
    X(O_NORECONNECTAFTER, "-noReconnectAfter", "", true, " DURATION", "", "[-noReconnect]",        \
      "give up reconnecting after this long: 500 (ms), 30s, 10m, 2h, 1d, PT1H")                    \
    X(O_NOKEEPALIVE, "-noKeepAlive", "", false, "", "", "",                                        \
      "turn TCP keep-alive off on the connection to the controller")                               \
    X(O_CREDENTIALS, "-credentials", "-jnlpCredentials", true, " USER:PASSWORD", "", "",           \
      "HTTP Basic credentials for requests to the controller")                                     \
    X(O_PROXYCRED, "-proxyCredentials", "", true, " USER:PASSWORD", "", "",                        \
      "HTTP Basic credentials for the HTTP proxy")                                                 \
    X(O_CERT, "-cert", "", true, " PEM|@FILE", "", "[-noCertificateCheck]",                        \
      "trust this PEM certificate (text, or @FILE) for HTTPS/WSS; repeatable")                     \
    X(O_NOCERTCHECK, "-noCertificateCheck", "-disableHttpsCertValidation", false, "", "",          \
      "[-cert]", "do not verify HTTPS/WSS certificates (a last resort)")                           \
    X(O_AGENTLOG, "-agentLog", "", true, " FILE", "", "",                                          \
      "also write the log to FILE, emptied at start (replaces the workDir log files)")             \
    X(O_LOGGINGCONFIG, "-loggingConfig", "", true, " FILE", "", "",                                \
      "java.util.logging properties file (accepted; not supported yet, ignored with a warning)")   \
    X(O_JARCACHE, "-jar-cache", "", true, " DIR", "", "",                                          \
      "JAR cache directory (accepted; the native agent loads no JARs, ignored with a warning)")    \
    X(O_JNLPURL, "-jnlpUrl", "", true, " URL", "", "[-direct, -name, -tunnel, -url, -webSocket]",  \
      "legacy JNLP file URL: not supported, use -url, -secret and -name")                          \
    X(O_HEADLESS, "-headless", "", false, "", "", "", "(deprecated) no effect")                    \
    X(O_PING, "-ping", "", false, "", "", "", "(deprecated) no effect")                            \
    X(O_AUTH, "-auth", "", true, " user:pass", "", "",                                             \
      "(deprecated) unused; use -credentials or -proxyCredentials")                                \
    X(O_HELP, "-help", "--help", false, "", "", "", "print this help and exit")                    \
    X(O_VERSION, "-version", "--version", false, "", "", "",                                       \
      "print the remoting version the agent implements and exit")                                  \
    X(O_TEXT, "-text", "", false, "", "", "", "agent.jar's stdio text mode: not supported")        \
    X(O_TCP, "-tcp", "", true, " FILE", "", "", "agent.jar's raw TCP server mode: not supported")  \
    X(O_CONNECTTO, "-connectTo", "", true, " HOST:PORT", "", "",                                   \
      "agent.jar's raw TCP client mode: not supported")                                            \
    X(O_TRACE, "--trace", "", true, " LIST", "", "",                                               \
      "trace components: chunk,jos,channel,rpc,pipe,tls,ws,http,conn,exec or all")                 \
    X(O_CAPTURE, "--capture", "", true, " FILE", "", "",                                           \
      "write the raw command stream to FILE (read it with `jenkins-agent decode FILE`)")           \
    X(O_VERBOSE, "-v", "--verbose", false, "", "", "",                                             \
      "log at FINE level (state changes, limits hit)")

#define CONF_ENUM(id, name, alias, value, meta, dep, forb, usage) id,
enum opt_id {
    CONF_OPTIONS(CONF_ENUM) O_COUNT,
};

struct opt {
    const char *name;
    const char *alias;   /* "" if none */
    bool value;          /* takes an operand */
    const char *depends; /* "" or "[-a, -b]" */
    const char *forbids;
};

#define CONF_TABLE(id, name, alias, value, meta, dep, forb, usage) {name, alias, value, dep, forb},
static const struct opt opts[O_COUNT] = {CONF_OPTIONS(CONF_TABLE)};

#define CONF_HELP(id, name, alias, value, meta, dep, forb, usage) " " name meta "\n     " usage "\n"

static const char usage_text[] =
    "Usage: jenkins-agent [options...] [SECRET NAME]\n"
    "       jenkins-agent COMMAND          run COMMAND instead (as the inbound-agent image does)\n"
    "       jenkins-agent decode FILE|-    dump a Java serialization stream or a capture\n"
    "A native drop-in for agent.jar and the jenkins/inbound-agent image's entrypoint.\n"
    "Options (also -opt=value; an argument @FILE is replaced by the lines of FILE).\n"
    "Aliases: -directConnection = -direct, -noreconnect = -noReconnect,\n"
    "-jnlpCredentials = -credentials, -disableHttpsCertValidation = -noCertificateCheck,\n"
    "--help = -help, --version = -version, --verbose = -v.\n" CONF_OPTIONS(
        CONF_HELP) "Environment (read as the entrypoint script reads it; command-line options "
                   "win):\n"
                   " JENKINS_URL, JENKINS_SECRET, JENKINS_AGENT_NAME (JENKINS_NAME overrides it),\n"
                   " JENKINS_AGENT_WORKDIR, JENKINS_WEB_SOCKET=true, JENKINS_TUNNEL, "
                   "JENKINS_DIRECT_CONNECTION,\n"
                   " JENKINS_INSTANCE_IDENTITY, JENKINS_PROTOCOLS, REMOTING_OPTS (extra options, "
                   "shell-quoted);\n"
                   " from JENKINS_JAVA_OPTS (else JAVA_OPTS) only -Dhttp.proxyHost, -Dhttp.proxyPort,"
                   "\n -Dhttps.proxyHost, -Dhttps.proxyPort, -Dhttp.nonProxyHosts, "
                   "-DproxyCredentials;\n"
                   " http_proxy, no_proxy/NO_PROXY, proxy_host (WebSocket).\n"
                   "Exit status: 0 finished, 1 error while running, 2 usage error.\n";

/* Parser state for one agent_conf_parse() call. */
struct pstate {
    struct agent_conf *conf;
    struct agent_conf_err *err;
    char **argv; /* borrowed: the caller's, scrubbed in place */
    int argc;
    bool present[O_COUNT];
    struct agent_str_list positional; /* owned */
    int positional_src[AGENT_CONF_MAX_LIST];
};

static int AG_PRINTF(3, 4) fail(struct pstate *ps, int code, const char *fmt, ...)
{
    va_list ap;

    if (code == AG_ENOMEM) {
        (void)snprintf(ps->err->msg, sizeof(ps->err->msg), "out of memory");
        return code;
    }
    va_start(ap, fmt);
    (void)vsnprintf(ps->err->msg, sizeof(ps->err->msg), fmt, ap); /* a cut message is fine */
    va_end(ap);
    ag_log_redact(ps->err->msg);
    /* One line, whatever bytes a value brought in. */
    for (char *p = ps->err->msg; *p != '\0'; p++) {
        if ((unsigned char)*p < 0x20) {
            *p = '?';
        }
    }
    return code;
}

/* ---- small containers ---- */

static int
list_add(struct agent_str_list *l, const char *s, size_t len)
{
    char *copy;

    if (l->n >= AGENT_CONF_MAX_LIST) {
        return AG_ELIMIT;
    }
    copy = ag_strndup(s, len);
    if (copy == NULL) {
        return AG_ENOMEM;
    }
    l->v[l->n++] = copy;
    return 0;
}

static void
list_free(struct agent_str_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        ag_free(l->v[i]);
        l->v[i] = NULL;
    }
    l->n = 0;
}

/* Append a copy of s[0..len) with its origin. */
static int
cvec_add(struct cvec *cv, const char *s, size_t len, int src)
{
    char *copy;

    if (cv->n >= CONF_MAX_ARGS) {
        return AG_ELIMIT;
    }
    if (cv->n == cv->cap) {
        size_t ncap = cv->cap == 0 ? 16 : cv->cap * 2;
        size_t bytes;
        struct carg *nv;

        if (!ag_size_mul(ncap, sizeof(*nv), &bytes)) {
            return AG_ENOMEM;
        }
        nv = ag_realloc(cv->v, bytes);
        if (nv == NULL) {
            return AG_ENOMEM;
        }
        cv->v = nv;
        cv->cap = ncap;
    }
    copy = ag_strndup(s, len);
    if (copy == NULL) {
        return AG_ENOMEM;
    }
    cv->v[cv->n].s = copy;
    cv->v[cv->n].src = src;
    cv->n++;
    return 0;
}

static void
cvec_free(struct cvec *cv)
{
    for (size_t i = 0; i < cv->n; i++) {
        ag_free(cv->v[i].s);
    }
    ag_free(cv->v);
    cv->v = NULL;
    cv->n = 0;
    cv->cap = 0;
}

static int
set_str(char **field, const char *v)
{
    char *copy = ag_strdup(v);

    if (copy == NULL) {
        return AG_ENOMEM;
    }
    ag_free(*field);
    *field = copy; /* last occurrence wins, as args4j does for single-valued options */
    return 0;
}

static const char *
env_get(char **envp, const char *name)
{
    size_t n = strlen(name);

    if (envp == NULL) {
        return NULL;
    }
    for (size_t i = 0; envp[i] != NULL; i++) {
        if (strncmp(envp[i], name, n) == 0 && envp[i][n] == '=') {
            return envp[i] + n + 1;
        }
    }
    return NULL;
}

static bool
env_nonempty(const char *v)
{
    return v != NULL && v[0] != '\0';
}

/* A warning the way its source prints it: the entrypoint echoes to stdout, agent.jar logs. */
static int
warn(struct pstate *ps, bool entrypoint, const char *msg)
{
    int rc;

    if (entrypoint) {
        (void)fprintf(stdout, "%s\n", msg);
        (void)fflush(stdout);
    } else {
        AG_LOG_WARN("agent", "%s", msg);
    }
    rc = list_add(&ps->conf->warnings, msg, strlen(msg));
    return rc == AG_ELIMIT ? 0 : rc; /* the record is for tests; a full list is not an error */
}

/* ---- secret scrubbing ---- */

/* Overwrite argv[src] from byte off on, so /proc/PID/cmdline no longer shows the value. */
static void
scrub_argv(struct pstate *ps, int src, size_t off)
{
    size_t n;

    if (src < 0 || src >= ps->argc || ps->argv[src] == NULL) {
        return;
    }
    n = strlen(ps->argv[src]);
    for (size_t i = off; i < n; i++) {
        ps->argv[src][i] = '*';
    }
}

/* Every occurrence of secret anywhere in argv, e.g. a positional the entrypoint rule spotted. */
static void
scrub_argv_all(struct pstate *ps, const char *secret)
{
    size_t n = strlen(secret);

    if (n < 4) {
        return; /* too short to be a real secret; scrubbing would clobber unrelated bytes */
    }
    for (int i = 1; i < ps->argc; i++) {
        char *hit;

        while (ps->argv[i] != NULL && (hit = strstr(ps->argv[i], secret)) != NULL) {
            memset(hit, '*', n);
        }
    }
}

/* ---- step 1: the entrypoint's argument vector ---- */

static bool
is_ifs(char c)
{
    return c == ' ' || c == '\t' || c == '\n';
}

/* An unquoted shell expansion: split at IFS whitespace (no globbing; docs/cli.md). */
static int
add_split(struct cvec *cv, const char *s)
{
    size_t len = strlen(s);
    size_t i = 0;

    if (len > CONF_MAX_ENV_VALUE) {
        return AG_ELIMIT;
    }
    while (i < len) {
        size_t j;
        int rc;

        while (i < len && is_ifs(s[i])) {
            i++;
        }
        j = i;
        while (j < len && !is_ifs(s[j])) {
            j++;
        }
        if (j > i) {
            rc = cvec_add(cv, s + i, j - i, -1);
            if (rc != 0) {
                return rc;
            }
        }
        i = j;
    }
    return 0;
}

/* `-opt $VALUE` with VALUE unquoted, as the script writes it. */
static int
add_opt_split(struct cvec *cv, const char *opt, const char *value)
{
    int rc = cvec_add(cv, opt, strlen(opt), -1);

    return rc != 0 ? rc : add_split(cv, value);
}

/*
 * REMOTING_OPTS: shell-like word splitting with '...', "..." and backslash escapes. Unlike the
 * script's `eval`, nothing is expanded or executed ($VAR, $(cmd), globs stay literal).
 */
static int
add_shell_words(struct pstate *ps, struct cvec *cv, const char *s)
{
    size_t len = strlen(s);
    char *word = NULL;
    size_t i = 0;
    int rc = 0;

    if (len > CONF_MAX_ENV_VALUE) {
        return fail(ps, AG_EUSAGE, "REMOTING_OPTS is longer than %d bytes", CONF_MAX_ENV_VALUE);
    }
    word = ag_malloc(len + 1);
    if (word == NULL) {
        return fail(ps, AG_ENOMEM, "out of memory");
    }
    while (i < len) {
        size_t w = 0;
        bool have = false;

        while (i < len && is_ifs(s[i])) {
            i++;
        }
        if (i < len && s[i] == '#') {
            break; /* an unquoted '#' starting a word begins a comment, as in bash */
        }
        while (i < len && !is_ifs(s[i])) {
            char c = s[i++];

            have = true;
            if (c == '\\') {
                if (i < len && s[i] == '\n') {
                    i++; /* line continuation */
                } else if (i < len) {
                    word[w++] = s[i++];
                }
            } else if (c == '\'') {
                while (i < len && s[i] != '\'') {
                    word[w++] = s[i++];
                }
                if (i == len) {
                    rc = fail(ps, AG_EUSAGE, "REMOTING_OPTS has an unterminated ' quote");
                    goto out;
                }
                i++;
            } else if (c == '"') {
                while (i < len && s[i] != '"') {
                    if (s[i] == '\\' && i + 1 < len && strchr("\"\\$`\n", s[i + 1]) != NULL) {
                        if (s[i + 1] != '\n') {
                            word[w++] = s[i + 1];
                        }
                        i += 2;
                    } else {
                        word[w++] = s[i++];
                    }
                }
                if (i == len) {
                    rc = fail(ps, AG_EUSAGE, "REMOTING_OPTS has an unterminated \" quote");
                    goto out;
                }
                i++;
            } else {
                word[w++] = c;
            }
        }
        if (have) {
            rc = cvec_add(cv, word, w, -1);
            if (rc != 0) {
                rc = fail(ps, rc == AG_ELIMIT ? AG_EUSAGE : rc, "too many arguments (limit %d)",
                          CONF_MAX_ARGS);
                goto out;
            }
        }
    }
out:
    ag_free(word);
    return rc;
}

/* The script's `case "$@" in *"X"*`: does the space-joined argument list contain X? */
static bool
args_contain(int argc, char **argv, const char *x)
{
    size_t xl = strlen(x);
    size_t total = 0;
    char *joined;
    bool hit;

    for (int i = 1; i < argc; i++) {
        total += strlen(argv[i]) + 1;
    }
    joined = ag_malloc(total + 1);
    if (joined == NULL) {
        /* Fall back to per-argument matching, which only misses matches across a space. */
        for (int i = 1; i < argc; i++) {
            if (strstr(argv[i], x) != NULL) {
                return true;
            }
        }
        return false;
    }
    joined[0] = '\0';
    total = 0;
    for (int i = 1; i < argc; i++) {
        size_t n = strlen(argv[i]);

        if (i > 1) {
            joined[total++] = ' ';
        }
        memcpy(joined + total, argv[i], n);
        total += n;
    }
    joined[total] = '\0';
    hit = xl == 0 || strstr(joined, x) != NULL;
    ag_free(joined);
    return hit;
}

static int
build_vector(struct pstate *ps, char **envp, struct cvec *cv)
{
    const char *tunnel = env_get(envp, "JENKINS_TUNNEL");
    const char *workdir = env_get(envp, "JENKINS_AGENT_WORKDIR");
    const char *url = env_get(envp, "JENKINS_URL");
    const char *name = env_get(envp, "JENKINS_AGENT_NAME");
    const char *jname = env_get(envp, "JENKINS_NAME");
    const char *ws = env_get(envp, "JENKINS_WEB_SOCKET");
    const char *protocols = env_get(envp, "JENKINS_PROTOCOLS");
    const char *direct = env_get(envp, "JENKINS_DIRECT_CONNECTION");
    const char *identity = env_get(envp, "JENKINS_INSTANCE_IDENTITY");
    const char *secret = env_get(envp, "JENKINS_SECRET");
    const char *ropts = env_get(envp, "REMOTING_OPTS");
    bool use_tunnel = false, use_workdir = false, use_secret = false, use_name = false;
    int rc = 0;

    /* The decisions, in the script's order (its warnings come out in this order too). */
    if (env_nonempty(tunnel) && !args_contain(ps->argc, ps->argv, "-tunnel ")) {
        use_tunnel = true;
    }
    if (env_nonempty(workdir)) {
        if (args_contain(ps->argc, ps->argv, "-workDir")) {
            rc = warn(ps, true,
                      "Warning: Work directory is defined twice in command-line "
                      "arguments and the environment variable");
        } else {
            use_workdir = true;
        }
    }
    if (env_nonempty(jname)) {
        name = jname;
    }
    if (rc == 0 && env_nonempty(secret)) {
        ag_log_add_secret(secret);
        if (args_contain(ps->argc, ps->argv, secret)) {
            rc = warn(ps, true,
                      "Warning: SECRET is defined twice in command-line arguments and "
                      "the environment variable");
        } else {
            use_secret = true;
        }
    }
    if (rc == 0 && env_nonempty(name)) {
        if (args_contain(ps->argc, ps->argv, name)) {
            rc = warn(ps, true,
                      "Warning: AGENT_NAME is defined twice in command-line arguments "
                      "and the environment variable");
        } else {
            use_name = true;
        }
    }
    if (rc != 0) {
        return fail(ps, rc, "out of memory");
    }

    /* exec ... $SECRET $AGENT_NAME $TUNNEL $URL $WORKDIR $WEB_SOCKET $DIRECT $PROTOCOLS
     *      $INSTANCE_IDENTITY "${REMOTING_OPTS_A[@]}" "$@" */
    if (use_secret) {
        rc = add_opt_split(cv, "-secret", secret);
    }
    if (rc == 0 && use_name) {
        rc = add_opt_split(cv, "-name", name);
    }
    if (rc == 0 && use_tunnel) {
        rc = add_opt_split(cv, "-tunnel", tunnel);
    }
    if (rc == 0 && env_nonempty(url)) {
        rc = add_opt_split(cv, "-url", url);
    }
    if (rc == 0 && use_workdir) {
        rc = add_opt_split(cv, "-workDir", workdir);
    }
    if (rc == 0 && ws != NULL && strcmp(ws, "true") == 0) {
        rc = cvec_add(cv, "-webSocket", strlen("-webSocket"), -1);
    }
    if (rc == 0 && env_nonempty(direct)) {
        rc = add_opt_split(cv, "-direct", direct);
    }
    if (rc == 0 && env_nonempty(protocols)) {
        rc = add_opt_split(cv, "-protocols", protocols);
    }
    if (rc == 0 && env_nonempty(identity)) {
        rc = add_opt_split(cv, "-instanceIdentity", identity);
    }
    if (rc != 0) {
        return fail(ps, rc == AG_ELIMIT ? AG_EUSAGE : rc,
                    "an environment variable is too long or has too many words");
    }
    if (ropts != NULL) {
        rc = add_shell_words(ps, cv, ropts);
        if (rc != 0) {
            return rc;
        }
    }
    for (int i = 1; i < ps->argc; i++) {
        rc = cvec_add(cv, ps->argv[i], strlen(ps->argv[i]), i);
        if (rc != 0) {
            return fail(ps, rc == AG_ELIMIT ? AG_EUSAGE : rc, "too many arguments (limit %d)",
                        CONF_MAX_ARGS);
        }
    }
    return 0;
}

/* ---- the JVM's proxy properties (JENKINS_JAVA_OPTS / JAVA_OPTS) ---- */

/*
 * The entrypoint runs `exec $JAVA_BIN $JAVA_OPTIONS -jar ...` with JAVA_OPTIONS =
 * JENKINS_JAVA_OPTS if non-empty, else JAVA_OPTS: an unquoted expansion, so the words are split
 * at blanks and quotes stay literal. A word `-Dname=value` (or `-Dname`, value "") sets a system
 * property; the last one wins. Only the proxy properties change what the native agent does.
 */
static int
read_java_opts(struct pstate *ps, char **envp)
{
    const char *jopts = env_get(envp, "JENKINS_JAVA_OPTS");
    struct agent_conf *c = ps->conf;
    char *proxy_credentials = NULL;
    size_t i = 0;
    size_t len;
    int rc = 0;

    if (!env_nonempty(jopts)) {
        jopts = env_get(envp, "JAVA_OPTS");
    }
    if (!env_nonempty(jopts)) {
        return 0;
    }
    len = strlen(jopts);
    if (len > CONF_MAX_ENV_VALUE) {
        return fail(ps, AG_EUSAGE, "JAVA_OPTS / JENKINS_JAVA_OPTS is longer than %d bytes",
                    CONF_MAX_ENV_VALUE);
    }
    while (rc == 0 && i < len) {
        const struct {
            const char *name;
            char **field;
        } props[] = {
            {"http.proxyHost", &c->jvm.http_proxy_host},
            {"http.proxyPort", &c->jvm.http_proxy_port},
            {"https.proxyHost", &c->jvm.https_proxy_host},
            {"https.proxyPort", &c->jvm.https_proxy_port},
            {"http.nonProxyHosts", &c->jvm.non_proxy_hosts},
            {"proxyCredentials", &proxy_credentials},
        };
        size_t j;
        size_t nl;
        const char *eq;

        while (i < len && is_ifs(jopts[i])) {
            i++;
        }
        j = i;
        while (j < len && !is_ifs(jopts[j])) {
            j++;
        }
        if (j - i > 2 && jopts[i] == '-' && jopts[i + 1] == 'D') {
            eq = memchr(jopts + i + 2, '=', j - i - 2);
            nl = (size_t)((eq != NULL ? eq : jopts + j) - (jopts + i + 2));
            for (size_t k = 0; k < AG_ARRAY_LEN(props); k++) {
                if (strlen(props[k].name) == nl && memcmp(props[k].name, jopts + i + 2, nl) == 0) {
                    char *v = eq != NULL ? ag_strndup(eq + 1, (size_t)(jopts + j - eq - 1))
                                         : ag_strdup("");

                    if (v == NULL) {
                        rc = AG_ENOMEM;
                        break;
                    }
                    ag_free(*props[k].field);
                    *props[k].field = v;
                    AG_LOG_DEBUG("conf", "JVM option -D%s from the JVM options", props[k].name);
                }
            }
        }
        i = j;
    }
    if (rc == 0 && proxy_credentials != NULL) {
        /* agent.jar: -proxyCredentials defaults to System.getProperty("proxyCredentials"). */
        ag_log_add_secret(proxy_credentials);
        if (c->proxy_credentials == NULL) {
            c->proxy_credentials = proxy_credentials;
            proxy_credentials = NULL;
        }
    }
    ag_free(proxy_credentials);
    return rc == 0 ? 0 : fail(ps, rc, "out of memory");
}

/* ---- step 2: @file expansion (args4j CmdLineParser.expandAtFiles) ---- */

/* Read a whole regular file of at most max bytes into a NUL-terminated buffer. */
static int
read_small_file(const char *path, size_t max, char **out, size_t *out_len, int *sys_errno)
{
    struct stat st;
    char *buf = NULL;
    size_t len = 0;
    int fd = -1;
    int rc = AG_EUSAGE;

    *sys_errno = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        *sys_errno = errno;
        goto out;
    }
    if (fstat(fd, &st) == -1) {
        *sys_errno = errno;
        goto out;
    }
    if (S_ISDIR(st.st_mode)) {
        *sys_errno = EISDIR;
        goto out;
    }
    buf = ag_malloc(max + 1);
    if (buf == NULL) {
        rc = AG_ENOMEM;
        goto out;
    }
    for (;;) {
        ssize_t n = read(fd, buf + len, max + 1 - len);

        if (n == -1) {
            if (errno == EINTR) {
                continue;
            }
            *sys_errno = errno;
            goto out;
        }
        if (n == 0) {
            break;
        }
        len += (size_t)n;
        if (len > max) {
            rc = AG_ELIMIT;
            goto out;
        }
    }
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    buf = NULL;
    rc = 0;
out:
    if (fd != -1) {
        (void)close(fd);
    }
    ag_free(buf);
    return rc;
}

static int
expand_at_files(struct pstate *ps, struct cvec *in, struct cvec *out)
{
    int rc = 0;

    for (size_t i = 0; i < in->n; i++) {
        const char *a = in->v[i].s;
        char *data = NULL;
        size_t len = 0;
        size_t p = 0;
        int e = 0;
        struct stat st;

        /*
         * Deliberate difference: agent.jar expands `-cert @file` too, which splits the PEM into
         * separate arguments and breaks the command line; we leave it for -cert's own @file
         * logic, which is what the user meant (docs/cli.md).
         */
        if (a[0] != '@' || (i > 0 && strcmp(in->v[i - 1].s, "-cert") == 0)) {
            rc = cvec_add(out, a, strlen(a), in->v[i].src);
            if (rc != 0) {
                return fail(ps, rc == AG_ELIMIT ? AG_EUSAGE : rc, "too many arguments (limit %d)",
                            CONF_MAX_ARGS);
            }
            continue;
        }
        if (stat(a + 1, &st) == -1) {
            return fail(ps, AG_EUSAGE, "No such file: %s", a + 1);
        }
        rc = read_small_file(a + 1, CONF_MAX_ATFILE, &data, &len, &e);
        if (rc == AG_ENOMEM) {
            return fail(ps, rc, "out of memory");
        }
        if (rc == AG_ELIMIT) {
            return fail(ps, AG_EUSAGE, "Failed to parse %s: larger than %d bytes", a + 1,
                        CONF_MAX_ATFILE);
        }
        if (rc != 0) {
            return fail(ps, AG_EUSAGE, "Failed to parse %s: %s", a + 1, strerror(e));
        }
        /* BufferedReader.readLine: lines end at \n, \r or \r\n; no empty line after the last. */
        while (p < len) {
            size_t q = p;

            while (q < len && data[q] != '\n' && data[q] != '\r') {
                q++;
            }
            rc = cvec_add(out, data + p, q - p, -1);
            if (rc != 0) {
                ag_free(data);
                return fail(ps, rc == AG_ELIMIT ? AG_EUSAGE : rc, "too many arguments (limit %d)",
                            CONF_MAX_ARGS);
            }
            if (q < len && data[q] == '\r' && q + 1 < len && data[q + 1] == '\n') {
                q++;
            }
            p = q + 1;
        }
        ag_free(data);
    }
    return 0;
}

/* ---- value checks ---- */

static bool
ascii_ieq(const char *a, size_t n, const char *b)
{
    if (strlen(b) != n) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char x = a[i] >= 'A' && a[i] <= 'Z' ? (char)(a[i] - 'A' + 'a') : a[i];

        if (x != b[i]) {
            return false;
        }
    }
    return true;
}

/* acc += count * unit, false on overflow. */
static bool
dur_add(int64_t *acc, int64_t count, int64_t unit)
{
    int64_t t;

    return !__builtin_mul_overflow(count, unit, &t) && !__builtin_add_overflow(*acc, t, acc);
}

/* An optionally signed decimal at s[*i]; advances *i. */
static bool
dur_number(const char *s, size_t len, size_t *i, int64_t *v, bool *neg)
{
    size_t st;
    uint64_t u = 0;

    *neg = false;
    if (*i < len && (s[*i] == '+' || s[*i] == '-')) {
        *neg = s[*i] == '-';
        (*i)++;
    }
    st = *i;
    while (*i < len && s[*i] >= '0' && s[*i] <= '9') {
        (*i)++;
    }
    if (*i == st || ag_parse_u64(s + st, *i - st, INT64_MAX, &u) != 0) {
        return false;
    }
    *v = *neg ? -(int64_t)u : (int64_t)u;
    return true;
}

static bool
is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* The simple style `^[+-]?\d+[a-zA-Z]{0,2}$`; no unit means milliseconds. */
static int
dur_simple(const char *s, size_t len, int64_t *out)
{
    static const struct {
        const char *unit;
        int64_t mul; /* > 0: multiply to ms; < 0: divide to ms */
    } units[] = {{"", 1},      {"ms", 1},      {"ns", -1000000}, {"s", 1000},
                 {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
    size_t i = 0;
    int64_t v = 0;
    bool neg = false;
    size_t u;

    if (!dur_number(s, len, &i, &v, &neg)) {
        return AG_EUSAGE;
    }
    u = len - i;
    for (size_t k = i; k < len; k++) {
        if (!is_alpha(s[k])) {
            return AG_EUSAGE;
        }
    }
    for (size_t k = 0; u <= 2 && k < sizeof(units) / sizeof(units[0]); k++) {
        if (ascii_ieq(s + i, u, units[k].unit)) {
            *out = 0;
            if (units[k].mul < 0) {
                *out = v / -units[k].mul;
                return 0;
            }
            return dur_add(out, v, units[k].mul) ? 0 : AG_EUSAGE;
        }
    }
    return AG_EUSAGE;
}

/* java.time.Duration.parse: [+-]P[nD][T[nH][nM][n[.f]S]], at least one part, any case. */
static int
dur_iso(const char *s, size_t len, int64_t *out)
{
    size_t i = 0;
    int64_t acc = 0;
    int64_t v = 0;
    bool neg = false;
    bool nneg = false;
    bool any = false;

    if (i < len && (s[i] == '+' || s[i] == '-')) {
        neg = s[i] == '-';
        i++;
    }
    if (i >= len || (s[i] != 'P' && s[i] != 'p')) {
        return AG_EUSAGE;
    }
    i++;
    if (i < len && s[i] != 'T' && s[i] != 't') {
        if (!dur_number(s, len, &i, &v, &nneg) || i >= len || (s[i] != 'D' && s[i] != 'd') ||
            !dur_add(&acc, v, 86400000)) {
            return AG_EUSAGE;
        }
        i++;
        any = true;
    }
    if (i < len && (s[i] == 'T' || s[i] == 't')) {
        int stage = 0; /* H, M and S come in this order, each at most once */

        i++;
        if (i >= len) {
            return AG_EUSAGE;
        }
        while (i < len) {
            int64_t frac = 0;
            char unit;

            if (!dur_number(s, len, &i, &v, &nneg) || i >= len) {
                return AG_EUSAGE;
            }
            if (s[i] == '.' || s[i] == ',') {
                size_t st = ++i;
                int64_t scale = 100;

                while (i < len && s[i] >= '0' && s[i] <= '9') {
                    frac += (s[i] - '0') * scale;
                    scale /= 10;
                    i++;
                }
                if (i - st > 9 || i >= len || (s[i] != 'S' && s[i] != 's')) {
                    return AG_EUSAGE;
                }
                if (nneg) {
                    frac = -frac; /* the fraction takes the sign of the seconds */
                }
            }
            unit = s[i] >= 'a' ? (char)(s[i] - 'a' + 'A') : s[i];
            i++;
            if (unit == 'H' && stage < 1) {
                stage = 1;
                any = dur_add(&acc, v, 3600000);
            } else if (unit == 'M' && stage < 2) {
                stage = 2;
                any = dur_add(&acc, v, 60000);
            } else if (unit == 'S' && stage < 3) {
                stage = 3;
                any = dur_add(&acc, v, 1000) && dur_add(&acc, frac, 1);
            } else {
                return AG_EUSAGE;
            }
            if (!any) {
                return AG_EUSAGE;
            }
        }
    }
    if (!any) {
        return AG_EUSAGE;
    }
    *out = neg ? -acc : acc;
    return 0;
}

int
agent_conf_parse_duration(const char *s, uint64_t *ms)
{
    size_t len = strlen(s);
    size_t i = len > 0 && (s[0] == '+' || s[0] == '-') ? 1 : 0;
    int64_t v = 0;
    int rc;

    if (i < len && s[i] >= '0' && s[i] <= '9') {
        rc = dur_simple(s, len, &v);
    } else if (i < len && (s[i] == 'P' || s[i] == 'p')) {
        rc = dur_iso(s, len, &v);
    } else {
        rc = AG_EUSAGE;
    }
    if (rc == 0) {
        *ms = v < 0 ? 0 : (uint64_t)v; /* a negative bound means "give up at once" */
    }
    return rc;
}

static bool
internal_dir_ok(const char *s)
{
    for (; *s != '\0'; s++) {
        char c = *s;

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-')) {
            return false;
        }
    }
    return true;
}

/* RFC 9110 token characters, for a header name we will put on the wire. */
static bool
is_tchar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int
check_ws_header(struct pstate *ps, const char *raw)
{
    const char *eq = strchr(raw, '=');
    char v[200]; /* the value escaped for the one-line message */

    ag_escape(v, sizeof(v), (const uint8_t *)raw, strlen(raw), 120);

    if (eq == NULL) {
        return fail(ps, AG_EUSAGE,
                    "An argument for setting a Map must contain a \"=\" (-webSocketHeader \"%s\")",
                    v);
    }
    if (eq == raw) {
        return fail(ps, AG_EUSAGE, "A key must be set. (-webSocketHeader \"%s\")", v);
    }
    for (const char *p = raw; p < eq; p++) {
        if (!is_tchar(*p)) {
            return fail(ps, AG_EUSAGE,
                        "-webSocketHeader \"%s\": header name has an invalid character", v);
        }
    }
    if (eq[1] == '\0') {
        return fail(ps, AG_EUSAGE, "-webSocketHeader \"%s\": the header value is empty", v);
    }
    for (const char *p = eq + 1; *p != '\0'; p++) {
        if (*p == '\r' || *p == '\n' || (*p != '\t' && (unsigned char)*p < 0x20)) {
            return fail(ps, AG_EUSAGE,
                        "-webSocketHeader \"%s\": header value has a control character", v);
        }
    }
    return 0;
}

/* agent.jar appends '/' to every URL; java.net.URL must accept it first. */
static int
add_url(struct pstate *ps, const char *v)
{
    size_t n = strlen(v);
    size_t scheme = 0;
    char *u;
    int rc;

    if (n >= 7 && ascii_ieq(v, 7, "http://")) {
        scheme = 7;
    } else if (n >= 8 && ascii_ieq(v, 8, "https://")) {
        scheme = 8;
    }
    if (scheme == 0 || n == scheme) {
        return fail(ps, AG_EUSAGE, "\"%s\" is not a valid value for \"-url\"", v);
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)v[i] <= 0x20 || v[i] == 0x7f) {
            return fail(ps, AG_EUSAGE, "\"%s\" is not a valid value for \"-url\"", v);
        }
    }
    if (ps->conf->urls.n >= AGENT_CONF_MAX_LIST) {
        return fail(ps, AG_EUSAGE, "too many -url options (limit %d)", AGENT_CONF_MAX_LIST);
    }
    u = ag_malloc(n + 2);
    if (u == NULL) {
        return fail(ps, AG_ENOMEM, "out of memory");
    }
    memcpy(u, v, n);
    if (v[n - 1] != '/') {
        u[n++] = '/';
    }
    u[n] = '\0';
    ps->conf->urls.v[ps->conf->urls.n++] = u;
    rc = 0;
    return rc;
}

/* -cert: PEM text, or @FILE read now (Launcher.createX509Certificates: bad files only warn). */
static int
add_cert(struct pstate *ps, const char *v)
{
    char msg[4096 + 200];
    const char *t = v;
    size_t n;
    char *data = NULL;
    size_t len = 0;
    int e = 0;
    int rc;

    while (*t == ' ' || *t == '\t' || *t == '\n' || *t == '\r') {
        t++;
    }
    n = strlen(t);
    while (n > 0 && (t[n - 1] == ' ' || t[n - 1] == '\t' || t[n - 1] == '\n' || t[n - 1] == '\r')) {
        n--;
    }
    if (ps->conf->certs.n >= AGENT_CONF_MAX_LIST) {
        return fail(ps, AG_EUSAGE, "too many -cert options (limit %d)", AGENT_CONF_MAX_LIST);
    }
    if (n == 0 || t[0] != '@') {
        rc = list_add(&ps->conf->certs, t, n);
        return rc == 0 ? 0 : fail(ps, rc, "out of memory");
    }
    {
        char path[4096];
        struct stat st;

        if (n - 1 >= sizeof(path)) {
            return fail(ps, AG_EUSAGE, "-cert: file name too long");
        }
        memcpy(path, t + 1, n - 1);
        path[n - 1] = '\0';
        if (stat(path, &st) == -1 || !S_ISREG(st.st_mode)) {
            (void)snprintf(msg, sizeof(msg), "Could not read certificate from %s. File not found",
                           path);
            return warn(ps, false, msg);
        }
        if (st.st_size <= CONF_CERT_MIN || st.st_size >= CONF_CERT_MAX) {
            (void)snprintf(msg, sizeof(msg),
                           "Could not read certificate from %s. File size is not within the "
                           "expected range for a PEM encoded X.509 certificate",
                           path);
            return warn(ps, false, msg);
        }
        rc = read_small_file(path, CONF_CERT_MAX, &data, &len, &e);
        if (rc == AG_ENOMEM) {
            return fail(ps, rc, "out of memory");
        }
        if (rc != 0) {
            (void)snprintf(msg, sizeof(msg), "Could not read certificate from %s: %s", path,
                           strerror(e != 0 ? e : EFBIG));
            return warn(ps, false, msg);
        }
        rc = list_add(&ps->conf->certs, data, len);
        ag_free(data);
        return rc == 0 ? 0 : fail(ps, rc, "out of memory");
    }
}

static int
check_trace(struct pstate *ps, const char *v)
{
    const char *p = v;

    while (*p != '\0') {
        const char *e = strchr(p, ',');
        size_t n = e != NULL ? (size_t)(e - p) : strlen(p);
        bool found = n == 3 && memcmp(p, "all", 3) == 0;

        for (int i = 0; !found && i < AG_TRACE_COUNT; i++) {
            const char *w = ag_log_trace_name((enum ag_trace_feat)i);

            found = strlen(w) == n && memcmp(p, w, n) == 0;
        }
        if (!found) {
            return fail(ps, AG_EUSAGE,
                        "--trace: unknown component \"%.*s\" (known: chunk, jos, channel, rpc, "
                        "pipe, tls, ws, http, conn, exec, all)",
                        (int)n, p);
        }
        p += n;
        if (*p == ',') {
            p++;
        }
    }
    return 0;
}

/* ---- step 3: args4j-style parsing ---- */

static const struct opt *
find_opt(const char *a, size_t n, enum opt_id *id)
{
    for (int i = 0; i < O_COUNT; i++) {
        const struct opt *o = &opts[i];

        if ((strlen(o->name) == n && memcmp(o->name, a, n) == 0) ||
            (o->alias[0] != '\0' && strlen(o->alias) == n && memcmp(o->alias, a, n) == 0)) {
            *id = (enum opt_id)i;
            return o;
        }
    }
    return NULL;
}

/* args4j's NamedOptionDef.toString(): the name, then the aliases in brackets. */
static void
opt_label(const struct opt *o, char *buf, size_t size)
{
    if (o->alias[0] != '\0' && o->alias[1] != '-') {
        (void)snprintf(buf, size, "%s (%s)", o->name, o->alias);
    } else {
        (void)snprintf(buf, size, "%s", o->name);
    }
}

static int
apply(struct pstate *ps, enum opt_id id, const char *v, int src, size_t src_off)
{
    struct agent_conf *c = ps->conf;
    int rc = 0;

    switch (id) {
    case O_URL:
        return add_url(ps, v);
    case O_DIRECT:
        rc = set_str(&c->direct, v);
        break;
    case O_IDENTITY:
        rc = set_str(&c->instance_identity, v);
        break;
    case O_PROTOCOLS:
        rc = list_add(&c->protocols, v, strlen(v));
        break;
    case O_TUNNEL:
        rc = set_str(&c->tunnel, v);
        break;
    case O_SECRET:
        ag_log_add_secret(v);
        scrub_argv(ps, src, src_off);
        rc = set_str(&c->secret, v);
        break;
    case O_NAME:
        rc = set_str(&c->name, v);
        break;
    case O_WEBSOCKET:
        c->websocket = true;
        break;
    case O_WSHEADER:
        rc = check_ws_header(ps, v);
        if (rc != 0) {
            return rc;
        }
        rc = list_add(&c->ws_headers, v, strlen(v));
        break;
    case O_WORKDIR:
        if (v[0] == '\0') {
            return fail(ps, AG_EUSAGE, "\"\" is not a valid value for \"-workDir\"");
        }
        rc = set_str(&c->work_dir, v);
        break;
    case O_INTERNALDIR:
        if (!internal_dir_ok(v)) {
            return fail(ps, AG_EUSAGE,
                        "Name of remoting internal directory ('%s') is not compliant with the "
                        "required format [a-zA-Z0-9._-]*",
                        v);
        }
        rc = set_str(&c->internal_dir, v);
        break;
    case O_FAILIFMISSING:
        c->fail_if_work_dir_missing = true;
        break;
    case O_NORECONNECT:
        c->no_reconnect = true;
        break;
    case O_NORECONNECTAFTER:
        if (agent_conf_parse_duration(v, &c->no_reconnect_after_ms) != 0) {
            return fail(ps, AG_EUSAGE,
                        "\"%s\" is not a valid value for \"-noReconnectAfter\" (a duration like "
                        "500, 30s, 10m, 1d or PT1H)",
                        v);
        }
        c->has_no_reconnect_after = true;
        break;
    case O_NOKEEPALIVE:
        c->no_keep_alive = true;
        break;
    case O_CREDENTIALS:
        ag_log_add_secret(v);
        rc = set_str(&c->credentials, v);
        break;
    case O_PROXYCRED:
        ag_log_add_secret(v);
        rc = set_str(&c->proxy_credentials, v);
        break;
    case O_CERT:
        return add_cert(ps, v);
    case O_NOCERTCHECK:
        c->no_certificate_check = true;
        break;
    case O_AGENTLOG:
        rc = set_str(&c->agent_log, v);
        break;
    case O_LOGGINGCONFIG:
        rc = set_str(&c->logging_config, v);
        break;
    case O_JARCACHE:
        rc = set_str(&c->jar_cache, v);
        break;
    case O_HEADLESS:
        return warn(ps, false,
                    "The \"-headless\" argument is deprecated and will be removed "
                    "without replacement in a future release.");
    case O_PING:
        return warn(ps, false,
                    "The \"-ping\" argument is deprecated and will be removed "
                    "without replacement in a future release.");
    case O_AUTH:
        ag_log_add_secret(v);
        return warn(ps, false,
                    "The \"-auth\" argument is deprecated and will be removed in a "
                    "future release; use \"-credentials\" or \"-proxyCredentials\" "
                    "instead.");
    case O_TRACE:
        rc = check_trace(ps, v);
        if (rc != 0) {
            return rc;
        }
        rc = set_str(&c->trace, v);
        break;
    case O_CAPTURE:
        rc = set_str(&c->capture, v);
        break;
    case O_VERBOSE:
        c->verbose = true;
        c->log_level = AG_LOG_FINE;
        break;
    case O_JNLPURL:
    case O_HELP:
    case O_VERSION:
    case O_TEXT:
    case O_TCP:
    case O_CONNECTTO:
    case O_COUNT:
        break; /* their presence is all that matters; handled after the parse */
    }
    if (rc == AG_ELIMIT) {
        return fail(ps, AG_EUSAGE, "too many %s options (limit %d)", opts[id].name,
                    AGENT_CONF_MAX_LIST);
    }
    return rc == 0 ? 0 : fail(ps, rc, "out of memory");
}

/* Is the option named n (as in a depends/forbids list) present? */
static bool
named_present(struct pstate *ps, const char *n, size_t len)
{
    enum opt_id id;

    return find_opt(n, len, &id) != NULL && ps->present[id];
}

/* args4j checkRequiredOptionsAndArguments: depends all present, forbids none present. */
static int
check_relations(struct pstate *ps)
{
    char label[64];

    for (int i = 0; i < O_COUNT; i++) {
        const struct opt *o = &opts[i];

        if (!ps->present[i]) {
            continue;
        }
        for (int k = 0; k < 2; k++) {
            const char *list = k == 0 ? o->depends : o->forbids;
            const char *p;

            if (list[0] == '\0') {
                continue;
            }
            p = list + 1; /* skip '[' */
            while (*p != '\0' && *p != ']') {
                size_t n = strcspn(p, ",]");
                bool here = named_present(ps, p, n);

                if (k == 0 && !here) {
                    opt_label(o, label, sizeof(label));
                    return fail(ps, AG_EUSAGE, "option \"%s\" requires the option(s) %s", label,
                                list);
                }
                if (k == 1 && here) {
                    opt_label(o, label, sizeof(label));
                    return fail(ps, AG_EUSAGE, "option \"%s\" cannot be used with the option(s) %s",
                                label, list);
                }
                p += n;
                while (*p == ',' || *p == ' ') {
                    p++;
                }
            }
        }
    }
    return 0;
}

static bool
looks_secret(const char *s)
{
    size_t n = strlen(s);

    if (n < 32) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
              (s[i] >= 'A' && s[i] <= 'F'))) {
            return false;
        }
    }
    return true;
}

/* Launcher.normalizeArguments: the deprecated SECRET NAME positional pair. */
static int
normalize_positional(struct pstate *ps)
{
    struct agent_conf *c = ps->conf;
    int rc;

    if (ps->positional.n == 0) {
        return 0;
    }
    if (ps->positional.n != 2) {
        char list[400];
        size_t o = 0;

        list[o++] = '[';
        for (size_t i = 0; i < ps->positional.n && o < sizeof(list) - 8; i++) {
            /* agent.jar prints them all; a value that looks like a secret is masked here. */
            const char *s = looks_secret(ps->positional.v[i]) ? "****" : ps->positional.v[i];
            int n = snprintf(list + o, sizeof(list) - o, "%s%s", i > 0 ? ", " : "", s);

            if (n < 0 || (size_t)n >= sizeof(list) - o) {
                o = sizeof(list) - 8;
                break;
            }
            o += (size_t)n;
        }
        list[o++] = ']';
        list[o] = '\0';
        return fail(ps, AG_EUSAGE, "Two arguments required, but got %s", list);
    }
    rc = warn(ps, false,
              "Providing the secret and agent name as positional arguments is "
              "deprecated; use \"-secret\" and \"-name\" instead.");
    if (rc != 0) {
        return fail(ps, rc, "out of memory");
    }
    ag_log_add_secret(ps->positional.v[0]);
    scrub_argv(ps, ps->positional_src[0], 0);
    if (c->secret != NULL) {
        return fail(ps, AG_EUSAGE, "Cannot provide secret via both named and positional arguments");
    }
    if (c->name != NULL) {
        return fail(ps, AG_EUSAGE, "Cannot provide name via both named and positional arguments");
    }
    c->secret = ps->positional.v[0]; /* ownership moves to conf */
    c->name = ps->positional.v[1];
    ps->positional.v[0] = NULL;
    ps->positional.v[1] = NULL;
    ps->positional.n = 0;
    c->positional = true;
    return 0;
}

static int
parse_vector(struct pstate *ps, struct cvec *cv)
{
    bool options_done = false;
    int rc;

    for (size_t i = 0; i < cv->n; i++) {
        const char *a = cv->v[i].s;
        const char *eq;
        const struct opt *o;
        enum opt_id id = O_COUNT;
        size_t nl;

        if (!options_done && strcmp(a, "--") == 0) {
            options_done = true;
            continue;
        }
        if (options_done || a[0] != '-') {
            if (ps->positional.n >= AGENT_CONF_MAX_LIST) {
                return fail(ps, AG_EUSAGE, "too many arguments");
            }
            ps->positional_src[ps->positional.n] = cv->v[i].src;
            rc = list_add(&ps->positional, a, strlen(a));
            if (rc != 0) {
                return fail(ps, rc, "out of memory");
            }
            continue;
        }
        eq = strchr(a, '=');
        nl = eq != NULL ? (size_t)(eq - a) : strlen(a);
        o = find_opt(a, nl, &id);
        if (o == NULL) {
            /* With -x=VALUE only the name is echoed: VALUE might be a mistyped -secret's. */
            if (eq != NULL) {
                return fail(ps, AG_EUSAGE, "\"%.*s=...\" is not a valid option", (int)nl, a);
            }
            return fail(ps, AG_EUSAGE, "\"%s\" is not a valid option", a);
        }
        ps->present[id] = true;
        if (!o->value) {
            if (eq != NULL) {
                return fail(ps, AG_EUSAGE, "option \"%s\" takes no value (got \"%.*s=...\")",
                            o->name, (int)nl, a);
            }
            rc = apply(ps, id, NULL, -1, 0);
        } else if (eq != NULL) {
            rc = apply(ps, id, eq + 1, cv->v[i].src, nl + 1);
        } else {
            if (i + 1 >= cv->n) {
                return fail(ps, AG_EUSAGE, "Option \"%s\" takes an operand", a);
            }
            i++;
            rc = apply(ps, id, cv->v[i].s, cv->v[i].src, 0);
        }
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

static int
check_unsupported(struct pstate *ps)
{
    if (ps->present[O_JNLPURL]) {
        return fail(ps, AG_ENOTSUP,
                    "-jnlpUrl is not supported by the native agent: use -url URL -secret SECRET "
                    "-name NAME (the values are on the node's page in Jenkins)");
    }
    if (ps->present[O_TEXT] || ps->present[O_TCP] || ps->present[O_CONNECTTO]) {
        return fail(ps, AG_ENOTSUP,
                    "\"%s\" is not supported by the native agent: it only runs as an inbound "
                    "agent (-url or -direct)",
                    ps->present[O_TEXT]  ? "-text"
                    : ps->present[O_TCP] ? "-tcp"
                                         : "-connectTo");
    }
    return 0;
}

static int
finish_run_mode(struct pstate *ps)
{
    struct agent_conf *c = ps->conf;
    char msg[600];
    int rc;

    rc = normalize_positional(ps);
    if (rc != 0) {
        return rc;
    }
    if (c->secret == NULL) {
        return fail(ps, AG_EUSAGE, "Secret is required for inbound agents");
    }
    if (c->name == NULL) {
        return fail(ps, AG_EUSAGE, "Name is required for inbound agents");
    }
    if (c->urls.n == 0 && c->direct == NULL) {
        return fail(ps, AG_EUSAGE, "At least one URL is required for inbound agents");
    }
    if (c->websocket && c->urls.n > 1) {
        return fail(ps, AG_EUSAGE, "Only a single URL is supported for WebSocket agents");
    }
    scrub_argv_all(ps, c->secret);
    /* Accepted but not implemented: say so once, never ignore silently. */
    if (c->logging_config != NULL) {
        (void)snprintf(msg, sizeof(msg),
                       "-loggingConfig %s: java.util.logging configuration files are not "
                       "supported yet by the native agent; ignored (use -v or --trace)",
                       c->logging_config);
        rc = warn(ps, false, msg);
    }
    if (rc == 0 && c->jar_cache != NULL) {
        (void)snprintf(msg, sizeof(msg),
                       "-jar-cache %s: the native agent loads no JARs, so it keeps no JAR cache; "
                       "ignored",
                       c->jar_cache);
        rc = warn(ps, false, msg);
    }
    return rc == 0 ? 0 : fail(ps, rc, "out of memory");
}

int
agent_conf_parse(struct agent_conf *conf, int argc, char **argv, char **envp,
                 struct agent_conf_err *err)
{
    struct pstate ps;
    struct cvec raw = {0};
    struct cvec full = {0};
    int rc;

    memset(conf, 0, sizeof(*conf));
    memset(&ps, 0, sizeof(ps));
    err->msg[0] = '\0';
    conf->mode = AGENT_MODE_RUN;
    conf->log_level = AG_LOG_INFO;
    ps.conf = conf;
    ps.err = err;
    ps.argv = argv;
    ps.argc = argc;

    conf->internal_dir = ag_strdup("remoting");
    if (conf->internal_dir == NULL) {
        rc = fail(&ps, AG_ENOMEM, "out of memory");
        goto out;
    }

    /* Our subcommand comes first: `jenkins-agent decode FILE|-`. */
    if (argc >= 2 && strcmp(argv[1], "decode") == 0) {
        if (argc != 3) {
            rc = fail(&ps, AG_EUSAGE, "usage: jenkins-agent decode FILE|-");
            goto out;
        }
        conf->mode = AGENT_MODE_DECODE;
        rc = set_str(&conf->decode_path, argv[2]);
        if (rc != 0) {
            rc = fail(&ps, rc, "out of memory");
        }
        goto out;
    }

    /* The entrypoint's `[ $# -eq 1 ] && [ "${1#-}" = "$1" ]`: run that command instead. */
    if (argc == 2 && argv[1][0] != '-') {
        conf->mode = AGENT_MODE_EXEC;
        conf->exec_argv = ag_calloc(2, sizeof(char *));
        if (conf->exec_argv == NULL) {
            rc = fail(&ps, AG_ENOMEM, "out of memory");
            goto out;
        }
        conf->exec_argv[0] = ag_strdup(argv[1]);
        rc = conf->exec_argv[0] == NULL ? fail(&ps, AG_ENOMEM, "out of memory") : 0;
        goto out;
    }

    rc = build_vector(&ps, envp, &raw);
    if (rc != 0) {
        goto out;
    }
    rc = expand_at_files(&ps, &raw, &full);
    if (rc != 0) {
        goto out;
    }
    rc = parse_vector(&ps, &full);
    if (rc != 0) {
        goto out;
    }
    /* A mode we do not have is named as such before its option relations are checked: with
     * the entrypoint's env-derived -name, -jnlpUrl would otherwise only hear "forbids". */
    if (!ps.present[O_VERSION] && !ps.present[O_HELP]) {
        rc = check_unsupported(&ps);
        if (rc != 0) {
            goto out;
        }
    }
    rc = check_relations(&ps);
    if (rc != 0) {
        goto out;
    }
    rc = read_java_opts(&ps, envp);
    if (rc != 0) {
        goto out;
    }
    if (ps.present[O_VERSION]) {
        conf->mode = AGENT_MODE_VERSION; /* Launcher: -version takes priority */
    } else if (ps.present[O_HELP]) {
        conf->mode = AGENT_MODE_HELP;
    } else {
        rc = finish_run_mode(&ps);
    }
out:
    /* Whatever happened, no secret value we saw stays readable in /proc/PID/cmdline. */
    if (conf->secret != NULL) {
        scrub_argv_all(&ps, conf->secret);
    }
    cvec_free(&raw);
    cvec_free(&full);
    list_free(&ps.positional);
    return rc;
}

static void
free_argv(char **v)
{
    if (v == NULL) {
        return;
    }
    for (size_t i = 0; v[i] != NULL; i++) {
        ag_free(v[i]);
    }
    ag_free(v);
}

void
agent_conf_fini(struct agent_conf *conf)
{
    if (conf->secret != NULL) {
        /* Do not leave the secret in freed heap memory. */
        volatile char *p = conf->secret;

        while (*p != '\0') {
            *p++ = '\0';
        }
    }
    list_free(&conf->urls);
    list_free(&conf->protocols);
    list_free(&conf->ws_headers);
    list_free(&conf->certs);
    list_free(&conf->warnings);
    ag_free(conf->direct);
    ag_free(conf->instance_identity);
    ag_free(conf->tunnel);
    ag_free(conf->name);
    ag_free(conf->secret);
    ag_free(conf->work_dir);
    ag_free(conf->internal_dir);
    ag_free(conf->agent_log);
    ag_free(conf->logging_config);
    ag_free(conf->jar_cache);
    ag_free(conf->credentials);
    ag_free(conf->proxy_credentials);
    ag_free(conf->jvm.http_proxy_host);
    ag_free(conf->jvm.http_proxy_port);
    ag_free(conf->jvm.https_proxy_host);
    ag_free(conf->jvm.https_proxy_port);
    ag_free(conf->jvm.non_proxy_hosts);
    ag_free(conf->trace);
    ag_free(conf->capture);
    ag_free(conf->decode_path);
    free_argv(conf->exec_argv);
    memset(conf, 0, sizeof(*conf));
}

const char *
agent_conf_usage(void)
{
    return usage_text;
}
