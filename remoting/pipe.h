/*
 * pipe.h: streams over the channel (channel.md 7).
 *
 * Writing to the controller (struct rem_ostream): a controller-exported OutputStream that came
 * to us as a hudson.remoting.RemoteOutputStream (or a Pipe in "remote to local" form). Writes
 * become ProxyOutputStream$Chunk commands within the controller's window (REM_PIPE_WINDOW, credit
 * returned by $Ack); what does not fit waits in a backlog capped at REM_PIPE_MAX_BACKLOG. The
 * producer stops when rem_ostream_write() says the stream is full and resumes from the drain
 * callback. The link's own high-water mark is honoured the same way.
 *
 * Reading from the controller (struct rem_sink_ops): data the controller pushes into an object
 * we exported (a RemoteOutputStream we handed out, or the reading end of a greedy
 * RemoteInputStream / Pipe) arrives through the sink callbacks, strictly in order; each chunk is
 * acknowledged with ProxyOutputStream$Ack once the sink says it has consumed it. A non-greedy
 * controller RemoteInputStream is pulled with ProxyInputStream$Chunk requests into the same
 * callbacks, one request at a time, so memory stays bounded by what the sink holds.
 *
 * Writers (hudson.remoting.RemoteWriter, channel.md 7.1): the same in chars. A controller
 * RemoteWriter opens as a struct rem_ostream too; its writes take UTF-8, go out as
 * ProxyWriter$Chunk char[] (UTF-16) and its window counts chars. A sink exported with
 * rem_sink_export_writer() receives the controller's ProxyWriter$Chunk chars as UTF-8 and acks
 * them with ProxyWriter$Ack. The conversions (ill-formed input becomes U+FFFD, sequences cut
 * between writes or chunks are joined) are described in remoting/utf16.c.
 *
 * One loop thread. Ownership as documented per function.
 */
#ifndef AG_REMOTING_PIPE_H
#define AG_REMOTING_PIPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "compiler.h"
#include "jos.h"

struct rem_call;
struct rem_channel;
struct rem_ostream;

/* The backlog of os fell to zero after a write reported it full; write again. */
typedef void (*rem_ostream_drain_cb)(struct rem_ostream *os, void *arg);

/*
 * Open the controller stream described by v (a hudson.remoting.RemoteOutputStream, a
 * hudson.remoting.Pipe with flag 1, or a hudson.remoting.RemoteWriter) found in call's payload. The
 * caller owns *out and drops it with rem_ostream_unref() (which does not close the remote stream).
 * Returns 0, AG_EPROTO (v is not such a value; err says why), AG_ECLOSED, AG_ENOMEM.
 */
AG_MUST_CHECK int rem_ostream_open(struct rem_call *call, const struct jos_val *v,
                                   struct rem_ostream **out, struct ag_err *err);
void rem_ostream_unref(struct rem_ostream *os);
/* The target oid in the controller's table. */
int32_t rem_ostream_oid(const struct rem_ostream *os);

/*
 * Write n bytes (copied) on behalf of call (NULL: not tied to a request). For a RemoteWriter the
 * bytes are UTF-8 text, sent as UTF-16 chars; a sequence cut at the end of p is completed by the
 * next write (or becomes U+FFFD at close). Returns 1 when all
 * bytes went out or were queued and the stream can take more, 0 when they were queued and the
 * stream is now full (wait for the drain callback), AG_ELIMIT when the backlog cap would be
 * passed (nothing written), AG_ECLOSED when the controller reported the stream dead
 * (NotifyDeadWriter), it was closed, or the channel is gone.
 */
AG_MUST_CHECK int rem_ostream_write(struct rem_ostream *os, struct rem_call *call, const void *p,
                                    size_t n);
/* Queue a $Flush / an $EOF (error NULL, or a message sent as an IOException) after the data
 * written so far. After close, writes fail with AG_ECLOSED. For a RemoteWriter, $Flush is only
 * sent to a controller with PROXY_WRITER_2_35 and the error is not sent (ProxyWriter$EOF has no
 * field for it, as in Java). */
AG_MUST_CHECK int rem_ostream_flush(struct rem_ostream *os, struct rem_call *call);
AG_MUST_CHECK int rem_ostream_close(struct rem_ostream *os, struct rem_call *call,
                                    const char *error);
void rem_ostream_on_drain(struct rem_ostream *os, rem_ostream_drain_cb cb, void *arg);
/* Bytes queued and not yet sent (a writer's: 2 per char). */
size_t rem_ostream_backlog(const struct rem_ostream *os);
/* Credit left in the controller's window (a writer's: in chars). */
int64_t rem_ostream_window(const struct rem_ostream *os);

/* --- sinks: streams the controller writes into --- */

/* done(): the sink has consumed the chunk given to write(); rc 0, or an error (the writer is
 * then told with NotifyDeadWriter). */
typedef void (*rem_sink_done_cb)(void *token, int rc);

struct rem_sink_ops {
    /* Consume data (valid only during the call unless REM_SINK_PENDING is returned, then until
     * done(token, rc) is called). Returns 0 (consumed), REM_SINK_PENDING, or an error. */
    int (*write)(void *ctx, struct ag_iov data, rem_sink_done_cb done, void *token);
    void (*flush)(void *ctx);
    /* End of stream: error NULL for a clean EOF, else the controller's error text. Also called
     * (error "channel closed") when the channel terminates, possibly while a write is pending:
     * the sink must still call that write's done() once (the channel then frees what it kept).
     * The sink is not written to afterwards. */
    void (*close)(void *ctx, const char *error);
};
#define REM_SINK_PENDING 1

/*
 * Export a sink (ops and ctx borrowed until ops->close) and return a RemoteOutputStream value
 * for it in m, to put into a result: the controller then writes into it. NULL and *err on error.
 */
struct jos_val *rem_sink_export_ros(struct rem_call *call, struct jos_msg *m,
                                    const struct rem_sink_ops *ops, void *ctx, struct ag_err *err);

/* The same as a hudson.remoting.RemoteWriter: the controller writes chars into it with
 * ProxyWriter commands; the sink receives them as UTF-8. */
struct jos_val *rem_sink_export_writer(struct rem_call *call, struct jos_msg *m,
                                       const struct rem_sink_ops *ops, void *ctx,
                                       struct ag_err *err);

/* Export a sink without a call (the reading end of something the owner hands out itself;
 * tests). Returns 0 and *oid, AG_ELIMIT, AG_ECLOSED, AG_ENOMEM. The _writer_ form takes
 * ProxyWriter commands (chars, delivered as UTF-8). */
AG_MUST_CHECK int rem_channel_export_sink(struct rem_channel *ch, const struct rem_sink_ops *ops,
                                          void *ctx, int32_t *oid);
AG_MUST_CHECK int rem_channel_export_writer_sink(struct rem_channel *ch,
                                                 const struct rem_sink_ops *ops, void *ctx,
                                                 int32_t *oid);

/*
 * Read the controller stream v (a hudson.remoting.RemoteInputStream, greedy or not, found in
 * call's payload) into the sink: greedy streams are connected with Pipe$ConnectCommand and
 * pushed to us; non-greedy ones are pulled with ProxyInputStream$Chunk requests. Returns 0,
 * AG_EPROTO (err says why), AG_ECLOSED, AG_ENOMEM. ops->close always ends it.
 */
AG_MUST_CHECK int rem_istream_open(struct rem_call *call, const struct jos_val *v,
                                   const struct rem_sink_ops *ops, void *ctx, struct ag_err *err);

/* --- sources: streams the controller reads from us (non-greedy RemoteInputStream) --- */

/* A read finished: rc 0 with data (valid during the call; at most the max asked for) and eof
 * (no more data after it), or rc < 0 (the controller's read fails with an IOException). */
typedef void (*rem_source_done_cb)(void *token, int rc, struct ag_iov data, bool eof);

struct rem_source_ops {
    /* Produce up to max bytes, now or later, by calling done(token, ...) exactly once. */
    void (*read)(void *ctx, size_t max, rem_source_done_cb done, void *token);
    /* The controller is done (ProxyInputStream$EOF), or the channel terminated; possibly while
     * a read is pending, which must still call done() once. Not read afterwards. */
    void (*close)(void *ctx);
};

/*
 * Export a source (ops and ctx borrowed until ops->close) and return a non-greedy
 * RemoteInputStream value for it in m (channel.md 7.1: 77 05 00 <oid> 78, the greedy boolean
 * because we advertise GREEDY_REMOTE_INPUTSTREAM). The controller then pulls it with
 * ProxyInputStream$Chunk requests. NULL and *err on error.
 */
struct jos_val *rem_source_export_ris(struct rem_call *call, struct jos_msg *m,
                                      const struct rem_source_ops *ops, void *ctx,
                                      struct ag_err *err);

/* The oid inside a RemoteOutputStream / RemoteInputStream / Pipe value (tests, logs). */
AG_MUST_CHECK int rem_stream_value_parse(const struct jos_val *v, int *kind, bool *greedy,
                                         int32_t *oid, struct ag_err *err);
#define REM_STREAM_ROS 1    /* RemoteOutputStream */
#define REM_STREAM_RIS 2    /* RemoteInputStream */
#define REM_STREAM_PIPE 3   /* Pipe; greedy holds its flag (1 = we write) */
#define REM_STREAM_WRITER 4 /* RemoteWriter */

#endif
