/*
 * link.h: a connected transport that carries remoting commands, whatever it runs on
 * (JNLP4-connect over TCP+TLS, or WebSocket). The transport layer creates a link once the
 * handshake and the capability exchange are done; the remoting channel sits on top of it.
 *
 * Ownership: the transport (the connection supervisor) owns the link. The channel borrows it
 * from the moment it installs its callbacks until on_closed has fired; after on_closed the link
 * must not be touched. Everything runs on the one libuv loop thread.
 *
 * Commands are whole Java serialization streams; the link does the chunk framing
 * (shared/spec/transport.md section 7): send() cuts a command into chunks of at most 8192
 * payload bytes and never sends a zero-length final chunk; on_command delivers each complete
 * command reassembled from its chunks.
 */
#ifndef AG_PROTOCOL_LINK_H
#define AG_PROTOCOL_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "compiler.h"

struct proto_link;

/* One complete command. cmd is valid only during the call. */
typedef void (*proto_link_command_cb)(struct proto_link *link, struct ag_iov cmd, void *arg);
/* The write queue fell below the low-water mark after having passed the high-water mark. */
typedef void (*proto_link_drain_cb)(struct proto_link *link, void *arg);
/* The link is gone (peer closed, I/O error, framing error, proto_link_close or
 * proto_link_abort). Fires once. code is 0 for a close or abort requested by us, else an error
 * code; why is a short text. */
typedef void (*proto_link_closed_cb)(struct proto_link *link, int code, const char *why,
                                     void *arg);

struct proto_link_vtbl {
    const char *name; /* "JNLP4-connect" or "WebSocket" */
    /* Queue one command for sending (copied). AG_ELIMIT when the queue is over its hard cap,
     * AG_ECLOSED after close. */
    int (*send)(struct proto_link *link, struct ag_iov cmd);
    /* Stop or resume delivering on_command (read-side backpressure). */
    void (*pause_read)(struct proto_link *link, bool paused);
    /* Flush what is queued, then close (WebSocket: with the close handshake); on_closed fires
     * later, from the loop. */
    void (*close)(struct proto_link *link);
    /* The peer is dead: drop the connection now. Nothing queued is sent, no close handshake,
     * no waiting for the peer; on_closed fires later, from the loop (never from inside this
     * call). Also valid after close(), to cut short a close that is still waiting. */
    void (*abort)(struct proto_link *link);
};

struct proto_link {
    const struct proto_link_vtbl *vt;
    uint64_t our_capability;  /* the mask we advertised */
    uint64_t peer_capability; /* the controller's mask */
    size_t queued;            /* bytes accepted by send() and not yet handed to the socket */
    size_t high_water;        /* above this, the producer should wait for on_drain */

    /* Set by the channel; the transport calls them. */
    proto_link_command_cb on_command;
    proto_link_drain_cb on_drain;
    proto_link_closed_cb on_closed;
    void *cb_arg;
};

static inline AG_MUST_CHECK int
proto_link_send(struct proto_link *link, struct ag_iov cmd)
{
    return link->vt->send(link, cmd);
}

static inline void
proto_link_pause_read(struct proto_link *link, bool paused)
{
    link->vt->pause_read(link, paused);
}

static inline void
proto_link_close(struct proto_link *link)
{
    link->vt->close(link);
}

static inline void
proto_link_abort(struct proto_link *link)
{
    link->vt->abort(link);
}

#endif
