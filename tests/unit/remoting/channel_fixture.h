/*
 * channel_fixture.h: a channel over the in-memory fake link (fake_link.h) for the remoting unit
 * tests: open_channel() opens one with the controller's default capability (open_channel_cap()
 * with another), records its on_closed calls in a closed_state, and shut() ends the link and
 * checks on_closed came once.
 */
#ifndef AG_TESTS_REMOTING_CHANNEL_FIXTURE_H
#define AG_TESTS_REMOTING_CHANNEL_FIXTURE_H

#include <string.h>

#include "channel.h"
#include "err.h"
#include "fake_link.h"
#include "harness.h"

struct closed_state {
    int calls;
    int code;
};

static void
on_closed(struct rem_channel *ch, int code, const char *why, void *arg)
{
    struct closed_state *s = arg;

    (void)ch;
    (void)why;
    s->calls++;
    s->code = code;
}

static struct rem_channel *
open_channel_cap(struct fake_link *f, struct closed_state *cs, uint64_t peer_cap)
{
    struct rem_channel_opts o = {0};
    struct rem_channel *ch = NULL;

    fake_link_init(f);
    f->link.peer_capability = peer_cap;
    memset(cs, 0, sizeof(*cs));
    o.name = "test";
    o.on_closed = on_closed;
    o.arg = cs;
    T_EQ_INT(rem_channel_new(&f->link, &o, &ch), 0);
    return ch;
}

static struct rem_channel *
open_channel(struct fake_link *f, struct closed_state *cs)
{
    return open_channel_cap(f, cs, PROTO_CAPABILITY_DEFAULT);
}

static void
shut(struct fake_link *f, struct closed_state *cs)
{
    fake_link_finish(f, AG_ECLOSED);
    T_EQ_INT(cs->calls, 1);
    fake_link_clear(f);
}

#endif
