/*
 * conf.h: the agent's configuration, as agent.jar's command line and the inbound-agent image's
 * entrypoint define it (shared/spec/transport.md sections 2 and 10).
 *
 * agent_conf_parse() builds it from argv and the environment; everything after parsing reads it
 * and never changes it. The struct owns every string in it. The secret is held here and nowhere
 * else, and the parser scrubs it from argv so it does not show in /proc/PID/cmdline.
 */
#ifndef AG_AGENT_CONF_H
#define AG_AGENT_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"

#define AGENT_CONF_MAX_LIST 32

struct agent_str_list {
    char *v[AGENT_CONF_MAX_LIST]; /* owned */
    size_t n;
};

/* What main() should do after parsing. */
enum agent_mode {
    AGENT_MODE_RUN = 0,  /* connect as an inbound agent */
    AGENT_MODE_HELP = 1, /* print usage to stdout, exit 0 */
    AGENT_MODE_VERSION = 2,
    AGENT_MODE_EXEC = 3,   /* entrypoint behaviour: a single non-option argument is a command */
    AGENT_MODE_DECODE = 4, /* `jenkins-agent decode FILE|-`: dump a serialization stream */
};

struct agent_conf {
    enum agent_mode mode;

    /* Where the controller is. */
    struct agent_str_list urls;       /* -url, each normalised to end in '/' */
    char *direct;                     /* -direct HOST:PORT */
    char *instance_identity;          /* -instanceIdentity, base64 of the DER SPKI */
    struct agent_str_list protocols;  /* -protocols */
    char *tunnel;                     /* -tunnel HOST:PORT | HOST: | :PORT */
    bool websocket;                   /* -webSocket */
    struct agent_str_list ws_headers; /* -webSocketHeader NAME=VALUE, as given */

    /* Who we are. */
    char *name;   /* -name */
    char *secret; /* -secret (after @file expansion); never logged */

    /* Work directory (transport.md 9.7). */
    char *work_dir;     /* -workDir */
    char *internal_dir; /* -internalDir, default "remoting" */
    bool fail_if_work_dir_missing;
    char *agent_log;      /* -agentLog */
    char *logging_config; /* -loggingConfig */
    char *jar_cache;      /* -jar-cache */

    /* Reconnection (transport.md 9.3). */
    bool no_reconnect;
    bool has_no_reconnect_after;
    uint64_t no_reconnect_after_ms; /* -noReconnectAfter, parsed */
    bool no_keep_alive;

    /* HTTP and TLS. */
    char *credentials;           /* -credentials USER:PASSWORD */
    char *proxy_credentials;     /* -proxyCredentials USER:PASSWORD */
    struct agent_str_list certs; /* -cert, PEM text (the @file form read already) */
    bool no_certificate_check;

    /* Proxy-related JVM system properties (-Dname=value words of JENKINS_JAVA_OPTS, else
     * JAVA_OPTS, which the inbound-agent entrypoint passes to java; docs/connect.md). NULL when
     * not set. -DproxyCredentials is agent.jar's default for -proxyCredentials and lands there. */
    struct agent_jvm_props {
        char *http_proxy_host;  /* http.proxyHost */
        char *http_proxy_port;  /* http.proxyPort, as given */
        char *https_proxy_host; /* https.proxyHost */
        char *https_proxy_port; /* https.proxyPort, as given */
        char *non_proxy_hosts;  /* http.nonProxyHosts */
    } jvm;

    /* Ours, not agent.jar's. */
    char *trace;   /* --trace=COMPONENT,... */
    char *capture; /* --capture=FILE: raw command stream for `decode` */
    int log_level; /* enum ag_log_level; -v raises it */

    /* AGENT_MODE_EXEC: the command to run (argv-style, NULL-terminated, owned). */
    char **exec_argv;
    /* AGENT_MODE_DECODE: the file to read ("-" is stdin). */
    char *decode_path;

    /* Added by conf.c (issue 2). */
    bool verbose;                   /* -v / --verbose was given (log_level is then FINE) */
    bool positional;                /* secret and name came as the deprecated SECRET NAME pair */
    struct agent_str_list warnings; /* every warning printed while parsing, in order (tests) */
};

/* Buffer for a parse error: one line naming the offending option or variable. */
struct agent_conf_err {
    char msg[512];
};

/*
 * Parse argv and envp (the entrypoint's environment variables, then the arguments, then
 * REMOTING_OPTS in the entrypoint's precedence). Scrubs the secret from argv in place.
 * Returns 0, or AG_EUSAGE with a message, or AG_ENOMEM. Warnings the entrypoint or agent.jar
 * print (deprecated options, values defined twice) are logged at WARNING.
 *
 * Precisely (docs/cli.md): argv[1] == "decode" selects AGENT_MODE_DECODE; exactly one argument
 * not starting with '-' selects AGENT_MODE_EXEC (the entrypoint's `exec "$@"`); otherwise the
 * argument vector the inbound-agent entrypoint would hand to agent.jar is built (env-derived
 * options, then REMOTING_OPTS split with shell-like quoting but no evaluation, then argv), every
 * "@file" argument is replaced by the file's lines (args4j), and the result is parsed with
 * agent.jar's rules. The entrypoint's "defined twice" warnings go to stdout as the script echoes
 * them; agent.jar's deprecation warnings are logged. AG_ENOTSUP (with a message) is returned for
 * agent.jar modes the native agent does not have (-jnlpUrl, -text, -tcp, -connectTo).
 * conf is always initialised, so agent_conf_fini() is safe after any return.
 */
AG_MUST_CHECK int agent_conf_parse(struct agent_conf *conf, int argc, char **argv, char **envp,
                                   struct agent_conf_err *err);
void agent_conf_fini(struct agent_conf *conf);
/*
 * -noReconnectAfter's DurationStyle (remoting's org.jenkinsci.remoting.util.DurationStyle):
 * `^[+-]?\d+[a-zA-Z]{0,2}$` with ns, us, ms, s, m, h, d (any case; no unit = ms), or ISO-8601
 * (PT30M, P1D, PT1.5S). A negative duration gives 0. Returns 0 or AG_EUSAGE.
 */
AG_MUST_CHECK int agent_conf_parse_duration(const char *s, uint64_t *ms);
/* The usage text for -help. */
const char *agent_conf_usage(void);

#endif
