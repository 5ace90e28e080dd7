/*
 * channel_glue.c: the supervisor's attach hook (conn.h) that puts a remoting channel on each
 * connected link.
 */
#include "channel_glue.h"

#include <stddef.h>

#include "channel.h"
#include "conf.h"
#include "err.h"
#include "link.h"
#include "log.h"

static void
on_channel_closed(struct rem_channel *ch, int code, const char *why, void *arg)
{
    struct agent_channel_glue *g = arg;

    if (g->ch == ch) {
        g->ch = NULL;
    }
    AG_LOG_DEBUG("channel", "channel closed (%s%s%s)", why != NULL ? why : "",
                 code != 0 ? ": " : "", code != 0 ? ag_strerror(code) : "");
}

int
agent_channel_attach(struct proto_link *link, void *arg)
{
    struct agent_channel_glue *g = arg;
    struct rem_channel_opts o = {0};
    struct rem_channel *ch = NULL;
    int rc;

    o.loop = g->loop;
    o.name = g->conf != NULL && g->conf->name != NULL ? g->conf->name : "channel";
    o.capture = g->conf != NULL ? g->conf->capture : NULL;
    o.on_closed = on_channel_closed;
    o.arg = g;
    rc = rem_channel_new(link, &o, &ch);
    if (rc != 0) {
        AG_LOG_WARN("channel", "cannot start the remoting channel: %s", ag_strerror(rc));
        return rc;
    }
    g->ch = ch;
    g->sessions++;
    return 0;
}
