/*
 * conn.h: the connection supervisor (shared/spec/transport.md sections 3, 4.1, 5.1 and 9):
 * discovery, the protocol loop, the connected state, and reconnecting with agent.jar's
 * back-off, all on one libuv loop. See docs/connect.md for the state machine, the log lines
 * and the exit statuses.
 *
 * The remoting channel plugs in through struct agent_conn_hooks: when a link is up (after
 * "Connected") the supervisor calls hooks->attach(link, arg), which installs the channel's
 * callbacks on the link (on_command, on_drain, on_closed, cb_arg) and returns 0; a non-zero
 * return closes that link and counts as a failed session. From then on the channel borrows the
 * link until its on_closed fires; right after that the supervisor logs "Terminated" and
 * reconnects (or exits). Without an attach hook the supervisor keeps the link up, logs the size
 * of each received command at trace level `chunk` and answers nothing.
 *
 * Single loop thread. agent_conn_run returns when the agent gives up or is stopped by SIGINT or
 * SIGTERM, with the process exit status.
 */
#ifndef AG_AGENT_CONN_H
#define AG_AGENT_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "compiler.h"

struct agent_conf;
struct proto_link;

/* Exit statuses (docs/connect.md). agent.jar's "normal" ends are 0. */
#define AGENT_EXIT_OK       0   /* -noReconnect after a session or a rejection, bail-out */
#define AGENT_EXIT_FATAL    1   /* discovery failed with -noReconnect, bad identity, ... */
#define AGENT_EXIT_SIGINT   130 /* stopped by SIGINT (128 + 2, as the JVM reports it) */
#define AGENT_EXIT_SIGTERM  143 /* stopped by SIGTERM (128 + 15) */

/* agent.jar's fixed TCP back-off (9.1) and the WebSocket exponential one (9.2). */
#define AGENT_CONN_RETRY_MS      10000u
#define AGENT_CONN_PROBE_MS      5000u /* reachability probe, 3.3 step 8 */
#define AGENT_CONN_READY_POLL_MS 5000u /* waitForReady GET timeouts, 3.4 */
#define AGENT_CONN_STOP_GRACE_MS 3000u /* after stopping, how long handles may take to close */

enum agent_conn_state {
    AGENT_CONN_IDLE = 0,
    AGENT_CONN_LOCATING = 1,     /* GET <url>tcpSlaveAgentListener/, URL after URL */
    AGENT_CONN_PROBING = 2,      /* the reachability probe of the agent port */
    AGENT_CONN_HANDSHAKING = 3,  /* a JNLP4-connect attempt */
    AGENT_CONN_CONNECTED = 4,    /* link up */
    AGENT_CONN_BACKOFF = 5,      /* sleeping before the next attempt */
    AGENT_CONN_WAIT_READY = 6,   /* after a disconnect: polling the first URL until 200 */
    AGENT_CONN_WS_PREFLIGHT = 7, /* WebSocket: GET <url>login */
    AGENT_CONN_WS_UPGRADE = 8,   /* WebSocket: the upgrade */
    AGENT_CONN_STOPPING = 9,     /* closing everything, then uv_run returns */
};

/*
 * Install the channel on a fresh link. Called once per session, from the loop, right after
 * "Connected". Return 0 when the callbacks are installed, else an error code (logged; the link
 * is closed and the supervisor reconnects).
 */
typedef int (*agent_conn_attach_cb)(struct proto_link *link, void *arg);

struct agent_conn_hooks {
    agent_conn_attach_cb attach; /* NULL: keep the link up and ignore commands */
    void *arg;
};

/*
 * Run the supervisor on loop until it gives up or is stopped; returns the exit status.
 * conf and hooks are borrowed for the call. The loop must be otherwise idle; on return every
 * handle the supervisor opened is closed.
 */
AG_MUST_CHECK int agent_conn_run(uv_loop_t *loop, const struct agent_conf *conf,
                                 const struct agent_conn_hooks *hooks);

/* The state's name, for logs and tests. */
const char *agent_conn_state_name(enum agent_conn_state s);

/* Duration text as agent.jar's DurationFormatter writes it: "1 day, 2 hours, 3 seconds". */
void agent_conn_format_duration(uint64_t ms, char *out, size_t size);

#endif
