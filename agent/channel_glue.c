/*
 * channel_glue.c: the supervisor's attach hook (conn.h) that puts a remoting channel on each
 * connected link.
 */
#include "channel_glue.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "channel.h"
#include "conf.h"
#include "err.h"
#include "link.h"
#include "log.h"
#include "util.h"

/* Test knob (docs/channel.md, Pings): AG_TEST_PING_MS=N pings the controller every N ms (timeout
 * 10 s) instead of waiting for ChannelPinger$SetUpRemotePing, so a test can run thousands of
 * rounds. Only the tests set it. */
static void
test_ping_opts(struct rem_channel_opts *o)
{
    const char *s = getenv("AG_TEST_PING_MS");
    uint64_t v = 0;

    if (s != NULL && ag_parse_u64(s, strlen(s), 86400000, &v) == 0 && v > 0) {
        o->ping_interval_ms = (uint32_t)v;
        o->ping_timeout_ms = 10000;
    }
}

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
    test_ping_opts(&o);
    rc = rem_channel_new(link, &o, &ch);
    if (rc != 0) {
        AG_LOG_WARN("channel", "cannot start the remoting channel: %s", ag_strerror(rc));
        return rc;
    }
    g->ch = ch;
    g->sessions++;
    return 0;
}
