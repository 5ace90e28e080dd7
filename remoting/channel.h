/*
 * channel.h: the remoting channel (shared/spec/channel.md): hudson.remoting commands over a
 * connected struct proto_link. Decodes every command the controller sends, dispatches it on its
 * class (channel.md 3), runs callables through the handler registry (callables.h), answers with
 * exactly one hudson.remoting.Response per request, keeps the export table, the pipes and their
 * flow-control windows, pings the controller, and closes in order (channel.md 9).
 *
 * Threading: one libuv loop thread owns the channel and everything hanging off it.
 *
 * Ownership and lifetime: rem_channel_new() borrows the link and installs its callbacks on it.
 * The channel lives until the link's on_closed has fired; then it terminates (every pending
 * request fails, every running handler is cancelled, every export and pipe is dropped), calls
 * opts->on_closed, and frees itself once its timers are closed. The owner never frees it.
 * rem_channel_close() asks for an orderly close (our CloseCommand, then the link closes when the
 * controller answers or after a grace period).
 */
#ifndef AG_REMOTING_CHANNEL_H
#define AG_REMOTING_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "compiler.h"
#include "jos.h"

struct proto_link;
struct rem_channel;
struct rem_call;

/* Limits and defaults (docs/channel.md). */
#define REM_MAX_COMMAND_BYTES ((size_t)64 << 20) /* one decoded command */
#define REM_MAX_CALLS 1024u                      /* requests from the controller running at once */
#define REM_MAX_PENDING 1024u                    /* our requests waiting for a Response */
#define REM_MAX_EXPORTS 65536u                   /* live entries of our export table */
#define REM_MAX_IO_QUEUE 4096u                   /* incoming pipe I/O commands not yet applied */
#define REM_MAX_IO_BYTES ((size_t)64 << 20) /* chunk bytes queued on the incoming I/O lane */
#define REM_PIPE_WINDOW ((int64_t)1 << 20)       /* hudson.remoting.Channel.pipeWindowSize */
#define REM_PIPE_MAX_CHUNK ((size_t)64 << 10)    /* bytes per ProxyOutputStream$Chunk we send */
#define REM_PIPE_MAX_BACKLOG ((size_t)1 << 20)   /* bytes queued per stream beyond the window */
#define REM_CLOSE_GRACE_MS 10000u                /* wait for the controller's CloseCommand */
/* ChannelPinger defaults (channel.md 8): hudson.slaves.ChannelPinger.pingIntervalSeconds/
 * pingTimeoutSeconds. */
#define REM_PING_INTERVAL_MS 300000u
#define REM_PING_TIMEOUT_MS 240000u

/* The link is gone and the channel has terminated; fires once, from the loop. code 0 = orderly
 * close (CloseCommand exchanged or requested by us), else the link's error code. */
typedef void (*rem_channel_closed_cb)(struct rem_channel *ch, int code, const char *why, void *arg);

struct rem_channel_opts {
    uv_loop_t *loop;     /* timers (pings, close grace); NULL: no timers (unit tests) */
    const char *name;    /* log prefix, e.g. the node name; copied */
    const char *capture; /* --capture FILE: append every command (docs/channel.md); copied */
    /* Our own pings (channel.md 8). 0/0: wait for the controller's ChannelPinger$SetUpRemotePing
     * and use its values, as agent.jar does. */
    uint32_t ping_interval_ms;
    uint32_t ping_timeout_ms;
    const struct jos_limits *limits; /* NULL: jos defaults with max_message_bytes capped */
    void *user;                      /* handed to callable handlers (rem_call_user) */
    rem_channel_closed_cb on_closed;
    void *arg;
};

/*
 * Create a channel on link (borrowed until its on_closed fires) and install the link's
 * callbacks. Returns 0 or AG_ENOMEM (the link is then untouched). A capture file that cannot be
 * opened is logged and skipped.
 */
AG_MUST_CHECK int rem_channel_new(struct proto_link *link, const struct rem_channel_opts *opts,
                                  struct rem_channel **out);

/* Orderly close from our side: send Channel$CloseCommand (once), send nothing after it, and
 * close the link when the controller's CloseCommand arrives or after REM_CLOSE_GRACE_MS. */
void rem_channel_close(struct rem_channel *ch, const char *why);

/* End the channel at once, without a CloseCommand (broken protocol, out of memory): nothing
 * more is queued and the link closes in order (proto_link_close). A failed ping is the one
 * case that aborts the link instead (proto_link_abort: the peer is dead). */
void rem_channel_abort(struct rem_channel *ch, int code, const char *why);

/* The owner's pointer from opts->user. */
void *rem_channel_user(const struct rem_channel *ch);
/* The name of the transport under the channel ("JNLP4-connect", "WebSocket": the link's
 * vt->name), or NULL once the link is gone. Borrowed. */
const char *rem_channel_protocol(const struct rem_channel *ch);

/* opts->loop (NULL when the channel was made without one, as in unit tests). For handlers that
 * start processes or timers on the channel's loop. */
uv_loop_t *rem_channel_loop(const struct rem_channel *ch);

/* Counters for tests and the debug page. */
struct rem_channel_stats {
    uint64_t commands_in;
    uint64_t commands_out;
    uint64_t dropped;       /* undecodable or unknown commands */
    uint32_t calls_running; /* controller requests not answered yet */
    uint32_t pending;       /* our requests waiting for a Response */
    uint32_t exports;       /* live entries of our export table (oid 1 included) */
    uint32_t ostreams;      /* controller streams we write to */
    uint64_t pings_sent;
    uint64_t pings_answered;
    bool close_sent;
    bool close_received;
};
void rem_channel_get_stats(const struct rem_channel *ch, struct rem_channel_stats *st);

/* ---------------------------------------------------------------------------------------------
 * Requests we send (channel.md 4.7).
 *
 * The callback fires exactly once: rc 0 with the result value (m and value borrowed for the
 * call; value NULL for a null result), or rc < 0 with a one-line error text ("java.io.IOException:
 * message", "channel closed"). It may fire from inside rem_channel_* calls' callers' loop turns,
 * never from inside the sending call itself.
 */
typedef void (*rem_response_cb)(struct rem_channel *ch, int rc, struct jos_msg *m,
                                struct jos_val *value, const char *error, void *arg);

/* Send UserRequest(callable) to the controller; callable is a value of msg (borrowed, encoded
 * at once). The class-loader reference is the controller's core loader (channel.md 4.7 A);
 * AG_ENOTSUP until the controller has sent us a UserRequest carrying one. */
AG_MUST_CHECK int rem_channel_call(struct rem_channel *ch, struct jos_val *callable,
                                   rem_response_cb cb, void *arg);

/* Call method `method` of a controller object we received as a proxy (a java.lang.reflect.Proxy
 * value holding a RemoteInvocationHandler): UserRequest(UserRPCRequest) when the proxy says
 * userProxy, else a direct RPCRequest command. types: parameter type names; args: values of
 * msg or NULL, n of each. */
AG_MUST_CHECK int rem_channel_call_proxy(struct rem_channel *ch, const struct jos_val *proxy,
                                         const char *iface, const char *method,
                                         const char *const *types, struct jos_val *const *args,
                                         uint32_t n, rem_response_cb cb, void *arg);

/* ---------------------------------------------------------------------------------------------
 * Our export table (channel.md 6). oid 1 is the channel itself (hudson.remoting.IChannel);
 * ours start at 2 and are never reused.
 */
struct rem_object_ops {
    const char *iface; /* the interface the controller sees, e.g. "hudson.Launcher$RemoteProcess" */
    /* An RPC on the object: complete call with rem_call_return*() / rem_call_fail(). types and
     * args are the RPCRequest's arrays (borrowed for the call's life; may be NULL). */
    void (*invoke)(void *obj, struct rem_call *call, const char *method,
                   const struct jos_val *types, const struct jos_val *args);
    /* The last reference is gone (UnexportCommand, or the channel terminated). */
    void (*release)(void *obj);
};

/* Export obj (borrowed until ops->release) with one reference. Returns 0 and *oid, AG_ELIMIT
 * (table full), AG_ECLOSED, AG_ENOMEM. */
AG_MUST_CHECK int rem_channel_export(struct rem_channel *ch, const struct rem_object_ops *ops,
                                     void *obj, int32_t *oid);

/* A java.lang.reflect.Proxy value for our export oid as real remoting writes it (channel.md 6.2:
 * interfaces [iface, hudson.remoting.IReadResolve], userProxy=userSpace=1). NULL on builder error
 * (sticky in m). */
struct jos_val *rem_new_proxy(struct jos_msg *m, const char *iface, int32_t oid);

#endif
