/*
 * main.c: the jenkins-agent binary. Parses the configuration (agent.jar's command line and the
 * inbound-agent entrypoint's environment, shared/spec/transport.md sections 2 and 10; see
 * docs/cli.md) and hands over to the mode it selects.
 *
 * Exit status: 0 when done (-help, -version, or the supervisor finished normally), 1 on an error
 * while running (work directory, connection given up), 2 on a usage error, 126/127 when the
 * entrypoint's single-command form cannot run its command.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "callables_agent.h"
#include "launch.h"
#include "alloc.h"
#include "conf.h"
#include "decode.h"
#include "err.h"
#include "log.h"
#include "run.h"
#include "version.h"
#include "workdir.h"

extern char **environ;

#define EXIT_USAGE 2

static int
run_agent(const struct agent_conf *conf)
{
    struct agent_workdir wd;
    struct ag_err err = {0};
    int status;
    int rc;

    rc = agent_workdir_setup(&wd, conf, &err);
    if (rc != 0) {
        /* agent.jar dies with an IllegalStateException here: exit status 1. */
        AG_LOG_SEVERE("agent", "%s", err.msg);
        agent_workdir_fini(&wd);
        return 1;
    }
    AG_LOG_INFO("agent", "Setting up agent: %s", conf->name);
    AG_LOG_INFO("agent", "Using Remoting version: %s", AG_REMOTING_VERSION);
    rc = agent_callables_register();
    if (rc == 0) {
        rc = agent_launch_register();
    }
    if (rc != 0) {
        AG_LOG_SEVERE("agent", "cannot register the node's callables: %s", ag_strerror(rc));
        agent_workdir_fini(&wd);
        return 1;
    }
    status = agent_run(conf);
    agent_node_reset();
    agent_workdir_fini(&wd);
    return status;
}

int
main(int argc, char **argv)
{
    struct agent_conf conf;
    struct agent_conf_err cerr;
    int status = 0;
    int rc;

    ag_alloc_tune();
    rc = agent_conf_parse(&conf, argc, argv, environ, &cerr);
    if (rc != 0) {
        (void)fprintf(stderr, "%s\n", cerr.msg);
        agent_conf_fini(&conf);
        return rc == AG_ENOMEM ? 1 : EXIT_USAGE;
    }
    ag_log_set_level((enum ag_log_level)conf.log_level);
    if (conf.trace != NULL) {
        const char *bad = NULL;
        size_t bad_len = 0;

        if (ag_log_set_trace(conf.trace, &bad, &bad_len) != 0) {
            /* conf.c validated the list with the same words; this is only a safety net. */
            (void)fprintf(stderr, "--trace: unknown component \"%.*s\"\n", (int)bad_len, bad);
            agent_conf_fini(&conf);
            return EXIT_USAGE;
        }
    }

    switch (conf.mode) {
    case AGENT_MODE_HELP:
        (void)fputs(agent_conf_usage(), stdout);
        status = fflush(stdout) == 0 ? 0 : 1;
        break;
    case AGENT_MODE_VERSION:
        (void)printf("%s\n", AG_REMOTING_VERSION);
        status = fflush(stdout) == 0 ? 0 : 1;
        break;
    case AGENT_MODE_EXEC: {
        int e;

        (void)fflush(stdout);
        (void)execvp(conf.exec_argv[0], conf.exec_argv);
        e = errno;
        /* Exit codes as a shell's `exec` gives them: 127 not found, 126 not runnable. */
        (void)fprintf(stderr, "jenkins-agent: cannot run %s: %s\n", conf.exec_argv[0], strerror(e));
        status = e == ENOENT ? 127 : 126;
        break;
    }
    case AGENT_MODE_DECODE:
        status = agent_decode_file(conf.decode_path);
        break;
    case AGENT_MODE_RUN:
        status = run_agent(&conf);
        break;
    }
    agent_conf_fini(&conf);
    return status;
}
