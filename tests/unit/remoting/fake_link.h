/*
 * fake_link.h: an in-memory struct proto_link for channel tests and the channel fuzzer. send()
 * keeps a copy of every command; close() only records the request, and fake_link_finish()
 * delivers on_closed later, as a real transport does from the loop.
 */
#ifndef AG_TESTS_REMOTING_FAKE_LINK_H
#define AG_TESTS_REMOTING_FAKE_LINK_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "alloc.h"
#include "buf.h"
#include "capability.h"
#include "compiler.h"
#include "err.h"
#include "link.h"

#define FAKE_MAX_SENT 4096

struct fake_link {
    struct proto_link link;
    uint8_t *sent[FAKE_MAX_SENT]; /* owned */
    size_t sent_len[FAKE_MAX_SENT];
    size_t nsent;
    size_t dropped; /* beyond FAKE_MAX_SENT */
    bool close_requested;
    bool abort_requested; /* proto_link_abort: the channel declared the peer dead */
    bool closed;
    int send_rc; /* forced send() result, 0 normally */
};

static int
fake_send(struct proto_link *l, struct ag_iov cmd)
{
    struct fake_link *f = AG_CONTAINER_OF(l, struct fake_link, link);
    uint8_t *copy;

    if (f->closed) {
        return AG_ECLOSED;
    }
    if (f->send_rc != 0) {
        return f->send_rc;
    }
    if (f->nsent == FAKE_MAX_SENT) {
        f->dropped++;
        return 0;
    }
    copy = ag_malloc(cmd.len > 0 ? cmd.len : 1);
    if (copy == NULL) {
        return AG_ENOMEM;
    }
    memcpy(copy, cmd.base, cmd.len);
    f->sent[f->nsent] = copy;
    f->sent_len[f->nsent] = cmd.len;
    f->nsent++;
    return 0;
}

static void
fake_pause(struct proto_link *l, bool paused)
{
    (void)l;
    (void)paused;
}

static void
fake_close(struct proto_link *l)
{
    struct fake_link *f = AG_CONTAINER_OF(l, struct fake_link, link);

    f->close_requested = true;
}

static void
fake_abort(struct proto_link *l)
{
    struct fake_link *f = AG_CONTAINER_OF(l, struct fake_link, link);

    f->abort_requested = true;
}

static const struct proto_link_vtbl fake_vtbl = {"fake", fake_send, fake_pause, fake_close,
                                                 fake_abort};

static inline void
fake_link_init(struct fake_link *f)
{
    memset(f, 0, sizeof(*f));
    f->link.vt = &fake_vtbl;
    f->link.our_capability = PROTO_CAPABILITY_OURS;
    f->link.peer_capability = PROTO_CAPABILITY_DEFAULT;
}

static inline void
fake_link_deliver(struct fake_link *f, const uint8_t *p, size_t n)
{
    struct ag_iov v = {p, n};

    if (!f->closed && f->link.on_command != NULL) {
        f->link.on_command(&f->link, v, f->link.cb_arg);
    }
}

/* The transport is gone: fire on_closed once. */
static inline void
fake_link_finish(struct fake_link *f, int code)
{
    if (!f->closed) {
        f->closed = true;
        if (f->link.on_closed != NULL) {
            f->link.on_closed(&f->link, code, code == 0 ? "closed" : "broken", f->link.cb_arg);
        }
    }
}

static inline void
fake_link_clear(struct fake_link *f)
{
    for (size_t i = 0; i < f->nsent; i++) {
        ag_free(f->sent[i]);
    }
    f->nsent = 0;
}

#endif
