/*
 * channel_glue.h: plugs the remoting channel (remoting/channel.h) into the connection
 * supervisor (conn.h): agent_channel_attach is the supervisor's attach hook and creates one
 * struct rem_channel on each new link, configured from the agent's configuration (node name for
 * log lines, --capture).
 *
 * One loop thread. The glue struct is owned by agent_run() and outlives the supervisor; the
 * channel it creates frees itself after its link closes (channel.h), and the glue forgets it
 * in the channel's closed callback.
 */
#ifndef AG_AGENT_CHANNEL_GLUE_H
#define AG_AGENT_CHANNEL_GLUE_H

#include <uv.h>

#include "compiler.h"

struct agent_conf;
struct proto_link;
struct rem_channel;

struct agent_channel_glue {
    uv_loop_t *loop;               /* borrowed: the supervisor's loop */
    const struct agent_conf *conf; /* borrowed */
    struct rem_channel *ch;        /* the current session's channel, NULL between sessions */
    unsigned sessions;             /* channels created so far */
};

/* agent_conn_attach_cb: arg is a struct agent_channel_glue. Returns 0 or the error of
 * rem_channel_new (the supervisor then closes the link and counts a failed session). */
AG_MUST_CHECK int agent_channel_attach(struct proto_link *link, void *arg);

#endif
