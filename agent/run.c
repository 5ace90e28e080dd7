/*
 * run.c: agent_run() sets up the loop and hands over to the connection supervisor
 * (agent/conn.c). The channel, when it exists, is attached here through the supervisor's
 * hooks (conn.h): fill `hooks.attach` with the function that builds a struct rem_channel on a
 * connected link.
 */
#include "run.h"

#include <signal.h>

#include <uv.h>

#include "channel_glue.h"
#include "conn.h"
#include "log.h"

int
agent_run(const struct agent_conf *conf)
{
    struct agent_conn_hooks hooks = {NULL, NULL};
    struct agent_channel_glue glue = {NULL, conf, NULL, 0};
    uv_loop_t loop;
    int status;
    int rc;

    /* A controller that drops the connection must not kill us with SIGPIPE. */
    (void)signal(SIGPIPE, SIG_IGN);
    rc = uv_loop_init(&loop);
    if (rc != 0) {
        AG_LOG_SEVERE("agent", "cannot create the event loop: %s", uv_strerror(rc));
        return 1;
    }
    glue.loop = &loop;
    hooks.attach = agent_channel_attach;
    hooks.arg = &glue;
    status = agent_conn_run(&loop, conf, &hooks);
    rc = uv_loop_close(&loop);
    if (rc != 0) {
        AG_LOG_WARN("agent", "event loop closed with handles still open: %s", uv_strerror(rc));
    }
    return status;
}
