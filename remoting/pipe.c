/*
 * pipe.c: pipe I/O (channel.md 7): the incoming I/O lane (ProxyOutputStream$Chunk/$Flush/$EOF/
 * $Unexport and Pipe$ConnectCommand applied one at a time in arrival order, each Chunk acked
 * once its sink consumed it), controller streams we write to (struct rem_ostream, a window per
 * oid refilled by $Ack), and controller input streams we read (greedy: Pipe$ConnectCommand and
 * pushed chunks; non-greedy: ProxyInputStream$Chunk requests, one at a time).
 */
#include "pipe.h"

#include <inttypes.h>
#include <string.h>

#include "alloc.h"
#include "capability.h"
#include "link.h"
#include "log.h"
#include "rem_int.h"
#include "util.h"

#define PULL_LEN 65536

/* ----- value parsing ----- */

static int
blk_i32(struct jos_blk *b, int32_t *v)
{
    uint32_t u = 0;
    int rc = jos_blk_u32(b, &u);

    *v = (int32_t)u;
    return rc;
}

static int
parse_pipe(const struct jos_val *v, bool *flag, int32_t *oid, struct ag_err *err)
{
    const struct jos_classdata *cd = jos_obj_classdata(v, "hudson.remoting.Pipe");
    struct jos_blk b;
    uint8_t f = 0;

    if (cd == NULL) {
        return ag_err_set(err, AG_EPROTO, 0, "not a hudson.remoting.Pipe");
    }
    jos_blk_init(&b, cd);
    if (jos_blk_u8(&b, &f) != 0 || blk_i32(&b, oid) != 0) {
        return ag_err_set(err, AG_EPROTO, 0, "truncated hudson.remoting.Pipe data");
    }
    *flag = f != 0;
    return 0;
}

int
rem_stream_value_parse(const struct jos_val *v, int *kind, bool *greedy, int32_t *oid,
                       struct ag_err *err)
{
    const struct jos_classdata *cd;
    struct jos_blk b;
    uint8_t g = 0;

    *greedy = false;
    *oid = 0;
    if (jos_val_is(v, "hudson.remoting.RemoteOutputStream")) {
        *kind = REM_STREAM_ROS;
        cd = jos_obj_classdata(v, "hudson.remoting.RemoteOutputStream");
        jos_blk_init(&b, cd);
        if (cd == NULL || blk_i32(&b, oid) != 0) {
            return ag_err_set(err, AG_EPROTO, 0, "RemoteOutputStream without an oid");
        }
        return 0;
    }
    if (jos_val_is(v, "hudson.remoting.RemoteWriter")) {
        *kind = REM_STREAM_WRITER;
        cd = jos_obj_classdata(v, "hudson.remoting.RemoteWriter");
        jos_blk_init(&b, cd);
        if (cd == NULL || blk_i32(&b, oid) != 0) {
            return ag_err_set(err, AG_EPROTO, 0, "RemoteWriter without an oid");
        }
        return 0;
    }
    if (jos_val_is(v, "hudson.remoting.Pipe")) {
        *kind = REM_STREAM_PIPE;
        return parse_pipe(v, greedy, oid, err);
    }
    if (jos_val_is(v, "hudson.remoting.RemoteInputStream")) {
        *kind = REM_STREAM_RIS;
        cd = jos_obj_classdata(v, "hudson.remoting.RemoteInputStream");
        if (cd == NULL) {
            return ag_err_set(err, AG_EPROTO, 0, "RemoteInputStream without data");
        }
        jos_blk_init(&b, cd);
        /* We advertise GREEDY_REMOTE_INPUTSTREAM, so the boolean is always there (7.1). */
        if (jos_blk_u8(&b, &g) != 0) {
            return ag_err_set(err, AG_EPROTO, 0, "RemoteInputStream without its greedy flag");
        }
        if (g != 0) {
            struct jos_val *pipe = NULL;
            bool flag = false;

            *greedy = true;
            if (jos_blk_obj(&b, &pipe) != 0 || pipe == NULL) {
                return ag_err_set(err, AG_EPROTO, 0, "greedy RemoteInputStream without a Pipe");
            }
            return parse_pipe(pipe, &flag, oid, err);
        }
        if (blk_i32(&b, oid) != 0) {
            return ag_err_set(err, AG_EPROTO, 0, "RemoteInputStream without an oid");
        }
        return 0;
    }
    return ag_err_set(err, AG_EPROTO, 0, "%s is not a remote stream",
                      jos_val_class(v) != NULL ? jos_val_class(v) : "null");
}

/* ----- the incoming I/O lane ----- */

static void io_run(struct rem_channel *ch);

static void
send_simple(struct rem_channel *ch, struct jos_val *(*build)(struct jos_msg *, int32_t, int32_t),
            int32_t a, int32_t b)
{
    struct jos_msg *m = NULL;

    if (jos_msg_new(NULL, 0, &m) != 0) {
        rem_channel_abort(ch, AG_ENOMEM, "out of memory for a pipe command");
        return;
    }
    rem__ignore(rem__send(ch, m, build(m, a, b))); /* failure aborts the link */
    jos_msg_free(m);
}

static struct jos_val *
build_dead(struct jos_msg *m, int32_t oid, int32_t unused)
{
    (void)unused;
    return rem__cmd_dead_writer(m, oid);
}

static void
io_free(struct rem_io *io)
{
    ag_free(io->conv);
    jos_msg_free(io->msg);
    ag_free(io);
}

/* Remove the head op from the queue and free it: after it is applied (io_finish), or without
 * applying it (Java logs the failed command and sends nothing). */
static void
io_retire(struct rem_channel *ch, struct rem_io *io)
{
    rem_list_del(&io->node);
    ch->nio--;
    ch->io_bytes -= io->data.len;
    ch->io_seq_done++;
    io_free(io);
}

/* The head op is done (rc < 0: the sink failed). */
static void
io_finish(struct rem_channel *ch, struct rem_io *io, int rc)
{
    if (io->kind == REM_IO_CHUNK && io->chars) {
        /* ProxyWriter$Chunk: Java notifies and acks (in chars) only a writer that advertised
         * PROXY_WRITER_2_35, whatever its PIPE_THROTTLING bit. */
        if ((rem__peer_cap(ch) & PROTO_CAP_PROXY_WRITER_2_35) != 0) {
            if (rc < 0) {
                send_simple(ch, rem__cmd_wdead, io->oid, 0);
            }
            if (ch->state != REM_CH_DEAD) {
                send_simple(ch, rem__cmd_wack, io->oid, (int32_t)(io->data.len / 2));
            }
        }
    } else if (io->kind == REM_IO_CHUNK) {
        if (rc < 0) {
            send_simple(ch, build_dead, io->oid, 0);
        }
        if ((rem__peer_cap(ch) & PROTO_CAP_PIPE_THROTTLING) != 0 && ch->state != REM_CH_DEAD) {
            send_simple(ch, rem__cmd_ack, io->oid, (int32_t)io->data.len);
        }
    }
    io_retire(ch, io);
}

static void
on_sink_done(void *token, int rc)
{
    struct rem_io *io = token;
    struct rem_channel *ch = io->ch;

    if (ch == NULL) {
        io_free(io); /* orphaned by termination */
        return;
    }
    io->busy = false;
    io_finish(ch, io, rc);
    if (!ch->io_running && ch->state != REM_CH_DEAD) {
        io_run(ch);
        if (ch->state != REM_CH_DEAD) {
            rem__io_progress(ch); /* requests waiting for this I/O may start */
        }
    }
}

/* Convert a ProxyWriter$Chunk's chars for the sink of e; false when out of memory. */
static bool
io_convert(struct rem_io *io, struct rem_export *e, struct ag_iov *out)
{
    size_t units = io->data.len / 2;

    io->conv = ag_malloc(3 * units + 3);
    if (io->conv == NULL) {
        return false;
    }
    out->base = io->conv;
    out->len = rem__utf16be_to_utf8(&e->hi, io->data.base, units, io->conv);
    return true;
}

static void
io_apply(struct rem_channel *ch, struct rem_io *io, bool *stalled)
{
    struct rem_export *e = rem__export_find(ch, io->oid);
    bool sink = e != NULL && e->kind == REM_EXP_SINK;
    struct ag_iov data = io->data;
    int rc = 0;

    *stalled = false;
    if (sink && e->chars != io->chars && io->kind != REM_IO_UNEXPORT &&
        io->kind != REM_IO_CONNECT) {
        /* A ProxyWriter command to an OutputStream or the reverse: Java's cast fails. */
        rem__warn_once(ch, io->chars ? "(writer op to a stream)" : "(stream op to a writer)",
                       "%s command for %s %" PRId32 " dropped",
                       io->chars ? "ProxyWriter" : "ProxyOutputStream",
                       e->chars ? "writer" : "output stream", io->oid);
        io_retire(ch, io);
        return;
    }
    switch (io->kind) {
    case REM_IO_CHUNK:
        if (!sink) {
            rem__warn_once(ch, "(chunk to unknown oid)",
                           "%s$Chunk for unknown stream %" PRId32 " dropped",
                           io->chars ? "ProxyWriter" : "ProxyOutputStream", io->oid);
            io_retire(ch, io);
            return;
        }
        if (io->chars) {
            if (!io_convert(io, e, &data)) {
                rem_channel_abort(ch, AG_ENOMEM, "out of memory for writer data");
                return;
            }
            if (data.len == 0) {
                break; /* only half of a surrogate pair: nothing for the sink yet */
            }
        }
        io->busy = true;
        rc = e->sink->write(e->obj, data, on_sink_done, io);
        if (rc == REM_SINK_PENDING) {
            *stalled = true; /* on_sink_done continues */
            return;
        }
        io->busy = false;
        break;
    case REM_IO_FLUSH:
        if (e != NULL && e->kind == REM_EXP_SINK && e->sink->flush != NULL) {
            e->sink->flush(e->obj);
        }
        break;
    case REM_IO_EOF:
        rem__export_unref(ch, io->oid, io->has_error ? io->error : NULL);
        break;
    case REM_IO_UNEXPORT:
        rem__export_unref(ch, io->oid, NULL);
        break;
    case REM_IO_CONNECT:
        /* We never create local-to-remote Pipes, so oidRos is not ours: Java would release it. */
        rem__warn_once(ch, "Pipe$ConnectCommand",
                       "Pipe$ConnectCommand for a pipe end %" PRId32 " we did not export",
                       io->oid2);
        rem__export_unref(ch, io->oid2, NULL);
        break;
    }
    io_finish(ch, io, rc);
}

static void
io_run(struct rem_channel *ch)
{
    bool progressed = false;

    ch->io_running = true;
    while (!rem_list_empty(&ch->io_queue) && ch->state != REM_CH_DEAD) {
        struct rem_io *io = AG_CONTAINER_OF(ch->io_queue.next, struct rem_io, node);
        bool stalled = false;

        if (io->busy) {
            break;
        }
        io_apply(ch, io, &stalled);
        if (stalled) {
            break;
        }
        progressed = true;
    }
    ch->io_running = false;
    if (progressed && ch->state != REM_CH_DEAD) {
        rem__io_progress(ch);
    }
}

void
rem__io_enqueue(struct rem_channel *ch, enum rem_io_kind kind, bool chars, struct jos_msg *m,
                struct jos_val *cmd)
{
    struct rem_io *io;
    struct jos_val *error = NULL;
    int32_t oid = 0;

    if (ch->nio >= REM_MAX_IO_QUEUE) {
        jos_msg_free(m);
        rem_channel_abort(ch, AG_ELIMIT, "the controller sent more pipe data than its window");
        return;
    }
    io = ag_calloc(1, sizeof(*io));
    if (io == NULL) {
        jos_msg_free(m);
        rem_channel_abort(ch, AG_ENOMEM, "out of memory for pipe I/O");
        return;
    }
    io->ch = ch;
    io->kind = kind;
    io->chars = chars;
    io->msg = m;
    if (kind == REM_IO_CONNECT) {
        rem__ignore(jos_get_int(cmd, "oidPos", &io->oid));  /* 0 if missing: unknown oid */
        rem__ignore(jos_get_int(cmd, "oidRos", &io->oid2)); /* 0 if missing: unknown oid */
    } else {
        rem__ignore(jos_get_int(cmd, "oid", &oid)); /* 0 if missing: unknown oid */
        io->oid = oid;
    }
    if (kind == REM_IO_CHUNK && chars) {
        struct jos_val *buf = NULL;

        /* ProxyWriter$Chunk.buf is a char[]: 2 bytes per UTF-16 unit, big-endian. */
        if (jos_get_obj(cmd, "buf", &buf) == 0 && buf != NULL && buf->kind == JOS_K_ARRAY &&
            buf->u.arr.elem == 'C') {
            io->data.base = buf->u.arr.raw;
            io->data.len = (size_t)buf->u.arr.len * 2;
        }
    } else if (kind == REM_IO_CHUNK && jos_get_bytes(cmd, "buf", &io->data) != 0) {
        io->data.base = NULL;
        io->data.len = 0;
    }
    if (kind == REM_IO_EOF && jos_get_obj(cmd, "error", &error) == 0 && error != NULL) {
        io->has_error = true;
        rem__throwable_text(error, io->error, sizeof(io->error));
    }
    if (ch->io_bytes + io->data.len > REM_MAX_IO_BYTES) {
        io_free(io);
        rem_channel_abort(ch, AG_ELIMIT, "the controller sent more pipe data than its window");
        return;
    }
    rem_list_push(&ch->io_queue, &io->node);
    ch->io_bytes += io->data.len;
    ch->nio++;
    ch->io_seq_in++;
    if (!ch->io_running) {
        io_run(ch);
    }
}

void
rem__io_terminate(struct rem_channel *ch)
{
    while (!rem_list_empty(&ch->io_queue)) {
        struct rem_io *io = AG_CONTAINER_OF(ch->io_queue.next, struct rem_io, node);

        rem_list_del(&io->node);
        ch->nio--;
        ch->io_bytes -= io->data.len;
        if (io->busy) {
            io->ch = NULL; /* the sink still owes on_sink_done, which frees it */
        } else {
            io_free(io);
        }
    }
}

/* ----- streams we write to ----- */

static struct jos_val *
cmd_pos_unexport(struct jos_msg *m, int32_t io_id, int32_t oid)
{
    struct jos_val *r = jos_new_object(m, "hudson.remoting.ProxyOutputStream$Unexport");

    if (r != NULL) {
        rem__ignore(jos_set_int(m, r, "ioId", io_id)); /* sticky */
        rem__ignore(jos_set_int(m, r, "oid", oid));    /* sticky */
    }
    return r;
}

static int32_t
next_io_id(struct rem_channel *ch)
{
    int32_t id = ch->next_io_id;

    ch->next_io_id = id == INT32_MAX ? 1 : id + 1;
    return id;
}

static void
oop_drop(struct rem_ostream *os, struct rem_oop *op)
{
    rem_list_del(&op->node);
    os->backlog -= op->len - op->off;
    if (op->call != NULL) {
        rem__call_io_dropped(op->call);
    }
    ag_free(op->error);
    ag_free(op);
}

static void
ostream_free(struct rem_ostream *os)
{
    while (!rem_list_empty(&os->ops)) {
        oop_drop(os, AG_CONTAINER_OF(os->ops.next, struct rem_oop, node));
    }
    if (os->ch != NULL) {
        rem_list_del(&os->node);
        os->ch->nostreams--;
    }
    ag_free(os);
}

static bool
link_full(const struct rem_channel *ch)
{
    return ch->link->high_water > 0 && ch->link->queued > ch->link->high_water;
}

/* Bytes per window unit: a writer's window counts chars (2 bytes of UTF-16), a stream's bytes. */
static size_t
unit_of(const struct rem_ostream *os)
{
    return os->chars ? 2 : 1;
}

/* How much of `left` bytes may go out as the next chunk now (0: wait for an Ack). Like Java's
 * PipeWindow, wait for min(window/10, remaining) of credit, so chunks do not get tiny. The
 * window and that rule count units (chars for a writer); the result is in bytes. */
static size_t
chunk_credit(const struct rem_ostream *os, size_t left)
{
    size_t unit = unit_of(os);
    size_t units = left / unit;
    int64_t want =
        (int64_t)(units < (size_t)REM_PIPE_WINDOW / 10 ? units : (size_t)REM_PIPE_WINDOW / 10);
    size_t n = units;

    if (os->window < want || os->window <= 0) {
        return 0;
    }
    if ((int64_t)n > os->window) {
        n = (size_t)os->window;
    }
    if (n > REM_PIPE_MAX_CHUNK / unit) {
        n = REM_PIPE_MAX_CHUNK / unit;
    }
    return n * unit;
}

static struct jos_val *
build_chunk(struct rem_ostream *os, struct jos_msg *m, int32_t io_id, int32_t req_id,
            const uint8_t *p, size_t n)
{
    if (os->chars) {
        /* ProxyWriter$Chunk has no requestId. */
        return rem__cmd_wchunk(m, io_id, os->oid, p, n / 2);
    }
    return rem__cmd_chunk(m, io_id, os->oid, req_id, p, n);
}

/* Send one chunk straight from the caller's bytes; the ioId, or 0 if it could not be sent. */
static int32_t
chunk_send_direct(struct rem_ostream *os, int32_t req_id, const uint8_t *p, size_t n)
{
    struct rem_channel *ch = os->ch;
    struct jos_msg *m = NULL;
    int32_t io_id;

    if (jos_msg_new(NULL, 0, &m) != 0) {
        rem_channel_abort(ch, AG_ENOMEM, "out of memory for a pipe write");
        return 0;
    }
    io_id = next_io_id(ch);
    if (rem__send(ch, m, build_chunk(os, m, io_id, req_id, p, n)) != 0) {
        jos_msg_free(m);
        return 0;
    }
    jos_msg_free(m);
    os->window -= (int64_t)(n / unit_of(os));
    AG_TRACE(AG_TRACE_PIPE, "%s: pipe %" PRId32 ": %zu bytes, ioId %" PRId32, ch->name, os->oid, n,
             io_id);
    return io_id;
}

/* Send one op (or part of a chunk); false when blocked by the window or the link. */
static bool
oop_send(struct rem_ostream *os, struct rem_oop *op)
{
    struct rem_channel *ch = os->ch;
    struct jos_msg *m = NULL;
    struct jos_val *cmd = NULL;
    int32_t io_id;
    size_t n = 0;

    if (link_full(ch)) {
        return false; /* on_link_drain pumps again */
    }
    if (op->kind == REM_OOP_CHUNK) {
        n = chunk_credit(os, op->len - op->off);
        if (n == 0) {
            return false;
        }
    }
    if (jos_msg_new(NULL, 0, &m) != 0) {
        rem_channel_abort(ch, AG_ENOMEM, "out of memory for a pipe write");
        return false;
    }
    io_id = next_io_id(ch);
    switch (op->kind) {
    case REM_OOP_CHUNK:
        cmd = build_chunk(os, m, io_id, op->req_id, op->data + op->off, n);
        break;
    case REM_OOP_FLUSH:
        cmd = os->chars ? rem__cmd_wsimple(m, "Flush", io_id, os->oid)
                        : rem__cmd_flush(m, io_id, os->oid, op->req_id);
        break;
    case REM_OOP_UNEXPORT:
        if (os->chars) {
            /* What Java's ProxyWriter.finalize() sends: $EOF to a peer without 2.35. */
            cmd = rem__cmd_wsimple(
                m, (rem__peer_cap(ch) & PROTO_CAP_PROXY_WRITER_2_35) != 0 ? "Unexport" : "EOF",
                io_id, os->oid);
        } else {
            cmd = cmd_pos_unexport(m, io_id, os->oid);
        }
        break;
    case REM_OOP_EOF:
        if (os->chars) {
            /* ProxyWriter$EOF has no error field: Java drops the cause too. */
            cmd = rem__cmd_wsimple(m, "EOF", io_id, os->oid);
            break;
        }
        cmd = rem__cmd_eof(
            m, io_id, os->oid, op->req_id,
            op->error != NULL ? rem_new_exception(m, "java.io.IOException", op->error) : NULL);
        break;
    }
    if (rem__send(ch, m, cmd) != 0) {
        jos_msg_free(m);
        return false;
    }
    jos_msg_free(m);
    AG_TRACE(AG_TRACE_PIPE, "%s: pipe %" PRId32 ": op %d, %zu bytes, ioId %" PRId32, ch->name,
             os->oid, (int)op->kind, n, io_id);
    if (op->kind == REM_OOP_CHUNK) {
        op->off += n;
        os->backlog -= n;
        os->window -= (int64_t)(n / unit_of(os));
        if (op->off < op->len) {
            return true;
        }
    }
    rem_list_del(&op->node);
    if (op->call != NULL) {
        struct rem_call *call = op->call;

        op->call = NULL;
        ag_free(op->error);
        ag_free(op);
        rem__call_io_sent(call, io_id); /* may send the call's Response */
    } else {
        ag_free(op->error);
        ag_free(op);
    }
    return true;
}

/* Send what the window allows; then tell a waiting producer. May free os (refs 0). */
static void
ostream_pump(struct rem_ostream *os)
{
    while (os->ch != NULL && os->ch->state != REM_CH_DEAD && !os->dead &&
           !rem_list_empty(&os->ops)) {
        if (!oop_send(os, AG_CONTAINER_OF(os->ops.next, struct rem_oop, node))) {
            break;
        }
    }
    if (os->refs == 0 && rem_list_empty(&os->ops)) {
        ostream_free(os);
        return;
    }
    if (os->full && os->backlog == 0 && os->drain != NULL) {
        os->full = false;
        os->drain(os, os->drain_arg); /* may unref os */
    }
}

void
rem__ostreams_pump(struct rem_channel *ch)
{
    struct rem_list *n = ch->ostreams.next;

    while (n != &ch->ostreams) {
        struct rem_ostream *os = AG_CONTAINER_OF(n, struct rem_ostream, node);

        n = n->next;
        os->refs++; /* keep it (and its list node) while the drain callback runs */
        ostream_pump(os);
        n = os->node.next;
        rem_ostream_unref(os);
        if (ch->state == REM_CH_DEAD) {
            return;
        }
    }
}

static struct rem_ostream *
ostream_find(struct rem_channel *ch, int32_t oid)
{
    for (struct rem_list *n = ch->ostreams.next; n != &ch->ostreams; n = n->next) {
        struct rem_ostream *os = AG_CONTAINER_OF(n, struct rem_ostream, node);

        if (os->oid == oid) {
            return os;
        }
    }
    return NULL;
}

int
rem_ostream_open(struct rem_call *call, const struct jos_val *v, struct rem_ostream **out,
                 struct ag_err *err)
{
    struct rem_channel *ch = call->ch;
    struct rem_ostream *os;
    int kind = 0;
    bool flag = false;
    int32_t oid = 0;
    int rc;

    if (ch == NULL || ch->state != REM_CH_OPEN) {
        return ag_err_set(err, AG_ECLOSED, 0, "channel closed");
    }
    rc = rem_stream_value_parse(v, &kind, &flag, &oid, err);
    if (rc != 0) {
        return rc;
    }
    if (kind == REM_STREAM_RIS || (kind == REM_STREAM_PIPE && !flag)) {
        return ag_err_set(err, AG_EPROTO, 0, "stream %" PRId32 " is not one we write to", oid);
    }
    if (oid == 0) {
        return ag_err_set(err, AG_EPROTO, 0, "stream oid 0");
    }
    os = ostream_find(ch, oid);
    if (os != NULL && !os->dead && !os->closed && os->chars == (kind == REM_STREAM_WRITER)) {
        os->refs++;
        *out = os;
        return 0;
    }
    os = ag_calloc(1, sizeof(*os));
    if (os == NULL) {
        return ag_err_set(err, AG_ENOMEM, 0, "out of memory");
    }
    os->ch = ch;
    os->oid = oid;
    os->refs = 1;
    os->chars = kind == REM_STREAM_WRITER;
    os->window = (rem__peer_cap(ch) & PROTO_CAP_PIPE_THROTTLING) != 0 ? REM_PIPE_WINDOW : INT64_MAX;
    rem_list_init(&os->ops);
    rem_list_push(&ch->ostreams, &os->node);
    ch->nostreams++;
    *out = os;
    return 0;
}

static int oop_queue(struct rem_ostream *os, struct rem_call *call, enum rem_oop_kind kind,
                     const void *p, size_t n, const char *error);

void
rem_ostream_unref(struct rem_ostream *os)
{
    if (os == NULL) {
        return;
    }
    AG_ASSERT(os->refs > 0);
    if (--os->refs > 0) {
        return;
    }
    os->drain = NULL; /* the owner is gone */
    if (os->ch != NULL && !os->closed && !os->dead && os->ch->state == REM_CH_OPEN &&
        oop_queue(os, NULL, REM_OOP_UNEXPORT, NULL, 0, NULL) == 0) {
        /* Abandoned without close: release the controller's export as Java's GC would, after
         * the data queued before. ostream_pump frees os once everything is out. */
        os->closed = true;
        ostream_pump(os);
        return;
    }
    if (rem_list_empty(&os->ops) || os->ch == NULL || os->dead) {
        ostream_free(os);
    }
}

int32_t
rem_ostream_oid(const struct rem_ostream *os)
{
    return os->oid;
}

size_t
rem_ostream_backlog(const struct rem_ostream *os)
{
    return os->backlog;
}

int64_t
rem_ostream_window(const struct rem_ostream *os)
{
    return os->window;
}

void
rem_ostream_on_drain(struct rem_ostream *os, rem_ostream_drain_cb cb, void *arg)
{
    os->drain = cb;
    os->drain_arg = arg;
}

static int
oop_queue(struct rem_ostream *os, struct rem_call *call, enum rem_oop_kind kind, const void *p,
          size_t n, const char *error)
{
    struct rem_oop *op;
    size_t size;

    if (os->ch == NULL || os->ch->state == REM_CH_DEAD || os->dead || os->closed) {
        return AG_ECLOSED;
    }
    if (!ag_size_add(sizeof(*op), n, &size)) {
        return AG_ELIMIT;
    }
    op = ag_malloc(size);
    if (op == NULL) {
        return AG_ENOMEM;
    }
    memset(op, 0, sizeof(*op));
    op->kind = kind;
    op->len = n;
    if (n > 0) {
        memcpy(op->data, p, n);
    }
    if (error != NULL) {
        op->error = ag_strdup(error);
        if (op->error == NULL) {
            ag_free(op);
            return AG_ENOMEM;
        }
    }
    if (call != NULL && call->ch == os->ch) {
        op->call = call;
        op->req_id = call->id;
        call->io_pending++;
    }
    rem_list_push(&os->ops, &op->node);
    os->backlog += n;
    if (kind == REM_OOP_EOF) {
        os->closed = true;
    }
    return 0;
}

/* Write n bytes as they go on the wire (a writer's: UTF-16BE). */
static int
ostream_write_raw(struct rem_ostream *os, struct rem_call *call, const void *p, size_t n)
{
    int rc;

    if (os->ch == NULL || os->dead || os->closed) {
        return AG_ECLOSED;
    }
    if (n == 0) {
        return 1;
    }
    if (os->backlog > 0 && os->backlog + n > REM_PIPE_MAX_BACKLOG) {
        os->full = true;
        return AG_ELIMIT;
    }
    /* Fast path: nothing queued, so send what the window allows without copying it first. */
    while (n > 0 && rem_list_empty(&os->ops) && os->ch->state != REM_CH_DEAD && !os->dead &&
           !link_full(os->ch)) {
        size_t k = chunk_credit(os, n);
        int32_t io_id;

        if (k == 0) {
            break;
        }
        io_id = chunk_send_direct(os, call != NULL && call->ch == os->ch ? call->id : 0, p, k);
        if (io_id == 0) {
            return AG_ECLOSED;
        }
        if (call != NULL && call->ch == os->ch) {
            call->last_io_id = io_id;
        }
        p = (const uint8_t *)p + k;
        n -= k;
    }
    if (n == 0) {
        return 1;
    }
    rc = oop_queue(os, call, REM_OOP_CHUNK, p, n, NULL);
    if (rc != 0) {
        return rc;
    }
    os->refs++;
    ostream_pump(os);
    if (os->dead || os->ch == NULL) {
        rem_ostream_unref(os);
        return AG_ECLOSED;
    }
    if (os->backlog > 0) {
        os->full = true;
        rc = 0;
    } else {
        rc = 1;
    }
    rem_ostream_unref(os);
    return rc;
}

/* A writer: convert UTF-8 to UTF-16BE (utf16.c), keeping a cut sequence for the next write. If
 * nothing was taken (an error, the backlog cap) the cut sequence is restored, so the caller can
 * retry the same bytes. */
static int
writer_write(struct rem_ostream *os, struct rem_call *call, const void *p, size_t n)
{
    struct rem_utf8_state saved = os->u8;
    size_t cap;
    uint8_t *buf;
    size_t len;
    int rc;

    if (os->ch == NULL || os->dead || os->closed) {
        return AG_ECLOSED;
    }
    if (n > SIZE_MAX / 2 - 8) {
        return AG_ELIMIT;
    }
    cap = 2 * (n + sizeof(os->u8.b));
    buf = ag_malloc(cap > 0 ? cap : 1);
    if (buf == NULL) {
        return AG_ENOMEM;
    }
    len = rem__utf8_to_utf16be(&os->u8, p, n, false, buf);
    rc = ostream_write_raw(os, call, buf, len);
    if (rc < 0) {
        os->u8 = saved;
    }
    ag_free(buf);
    return rc;
}

int
rem_ostream_write(struct rem_ostream *os, struct rem_call *call, const void *p, size_t n)
{
    if (os->chars) {
        return writer_write(os, call, p, n);
    }
    return ostream_write_raw(os, call, p, n);
}

int
rem_ostream_flush(struct rem_ostream *os, struct rem_call *call)
{
    int rc;

    if (os->chars && os->ch != NULL && !os->dead && !os->closed &&
        (rem__peer_cap(os->ch) & PROTO_CAP_PROXY_WRITER_2_35) == 0) {
        return 0; /* Java's ProxyWriter sends $Flush only to a peer with PROXY_WRITER_2_35 */
    }
    rc = oop_queue(os, call, REM_OOP_FLUSH, NULL, 0, NULL);

    if (rc == 0) {
        os->refs++;
        ostream_pump(os);
        rem_ostream_unref(os);
    }
    return rc;
}

int
rem_ostream_close(struct rem_ostream *os, struct rem_call *call, const char *error)
{
    int rc;

    if (os->chars && os->u8.n > 0) {
        /* The stream ends inside a UTF-8 sequence: it becomes U+FFFD, queued past the cap. */
        uint8_t tail[4];
        size_t len = rem__utf8_to_utf16be(&os->u8, NULL, 0, true, tail);

        rc = oop_queue(os, call, REM_OOP_CHUNK, tail, len, NULL);
        if (rc != 0) {
            return rc;
        }
    }
    rc = oop_queue(os, call, REM_OOP_EOF, NULL, 0, error);

    if (rc == 0) {
        os->refs++;
        ostream_pump(os);
        rem_ostream_unref(os);
    }
    return rc;
}

void
rem__on_ack(struct rem_channel *ch, struct jos_val *cmd)
{
    int32_t oid = 0;
    int32_t size = 0;
    struct rem_ostream *os;

    if (jos_get_int(cmd, "oid", &oid) != 0 || jos_get_int(cmd, "size", &size) != 0) {
        return;
    }
    os = ostream_find(ch, oid);
    if (os == NULL) {
        return; /* acks may arrive after the stream is gone (channel.md 7.3) */
    }
    if (size > 0 && os->window < INT64_MAX - size) {
        os->window += size;
    }
    os->refs++;
    ostream_pump(os);
    rem_ostream_unref(os);
}

/* The stream can take no more data (the controller reported it dead, or the channel ended):
 * drop what is queued and wake a producer waiting for drain, so it sees AG_ECLOSED on its next
 * write. The extra reference keeps os alive through the drain callback. */
static void
ostream_kill(struct rem_ostream *os)
{
    os->dead = true;
    os->refs++;
    while (!rem_list_empty(&os->ops)) {
        oop_drop(os, AG_CONTAINER_OF(os->ops.next, struct rem_oop, node));
    }
    if (os->full && os->drain != NULL) {
        os->full = false;
        os->drain(os, os->drain_arg);
    }
    rem_ostream_unref(os);
}

void
rem__on_dead_writer(struct rem_channel *ch, struct jos_val *cmd)
{
    int32_t oid = 0;
    struct rem_ostream *os;

    if (jos_get_int(cmd, "oid", &oid) != 0) {
        return;
    }
    os = ostream_find(ch, oid);
    if (os == NULL) {
        return;
    }
    AG_LOG_DEBUG(REM_LOG, "%s: the controller reported stream %" PRId32 " dead", ch->name, oid);
    ostream_kill(os);
}

void
rem__ostreams_terminate(struct rem_channel *ch)
{
    while (!rem_list_empty(&ch->ostreams)) {
        struct rem_ostream *os = AG_CONTAINER_OF(ch->ostreams.next, struct rem_ostream, node);

        rem_list_del(&os->node);
        ch->nostreams--;
        os->ch = NULL;
        ostream_kill(os);
    }
}

/* ----- sinks and input streams ----- */

static struct jos_val *
sink_export(struct rem_call *call, struct jos_msg *m, const struct rem_sink_ops *ops, void *ctx,
            bool chars, struct ag_err *err)
{
    struct rem_export e = {0};
    struct jos_val *v;
    uint8_t be[4];
    int32_t oid = 0;
    int rc;

    if (call->ch == NULL) {
        (void)ag_err_set(err, AG_ECLOSED, 0, "channel closed");
        return NULL;
    }
    /* Both classes write just the oid (channel.md 1.11, 7.1). */
    v = jos_new_object(m, chars ? "hudson.remoting.RemoteWriter"
                                : "hudson.remoting.RemoteOutputStream");
    if (v == NULL) {
        (void)ag_err_set(err, m->build_err, 0, "%s", m->build_detail.msg);
        return NULL;
    }
    e.kind = REM_EXP_SINK;
    e.sink = ops;
    e.obj = ctx;
    e.chars = chars;
    rc = rem__export_add(call->ch, &e, &oid);
    if (rc != 0) {
        (void)ag_err_set(err, rc, 0, "cannot export a stream: %s", ag_strerror(rc));
        return NULL;
    }
    be[0] = (uint8_t)((uint32_t)oid >> 24);
    be[1] = (uint8_t)((uint32_t)oid >> 16);
    be[2] = (uint8_t)((uint32_t)oid >> 8);
    be[3] = (uint8_t)oid;
    if (jos_custom_block(m, v, NULL, be, 4) != 0) {
        rem__export_unref(call->ch, oid, "cannot serialize the stream");
        (void)ag_err_set(err, m->build_err, 0, "%s", m->build_detail.msg);
        return NULL;
    }
    return v;
}

struct jos_val *
rem_sink_export_ros(struct rem_call *call, struct jos_msg *m, const struct rem_sink_ops *ops,
                    void *ctx, struct ag_err *err)
{
    return sink_export(call, m, ops, ctx, false, err);
}

struct jos_val *
rem_sink_export_writer(struct rem_call *call, struct jos_msg *m, const struct rem_sink_ops *ops,
                       void *ctx, struct ag_err *err)
{
    return sink_export(call, m, ops, ctx, true, err);
}

struct jos_val *
rem_source_export_ris(struct rem_call *call, struct jos_msg *m, const struct rem_source_ops *ops,
                      void *ctx, struct ag_err *err)
{
    struct rem_export e = {0};
    struct jos_val *v;
    uint8_t blk[5];
    int32_t oid = 0;
    int rc;

    if (call->ch == NULL) {
        rem__ignore(ag_err_set(err, AG_ECLOSED, 0, "channel closed"));
        return NULL;
    }
    v = jos_new_object(m, "hudson.remoting.RemoteInputStream");
    if (v == NULL) {
        rem__ignore(ag_err_set(err, m->build_err, 0, "%s", m->build_detail.msg));
        return NULL;
    }
    e.kind = REM_EXP_SOURCE;
    e.source = ops;
    e.obj = ctx;
    rc = rem__export_add(call->ch, &e, &oid);
    if (rc != 0) {
        rem__ignore(ag_err_set(err, rc, 0, "cannot export a stream: %s", ag_strerror(rc)));
        return NULL;
    }
    blk[0] = 0; /* not greedy */
    blk[1] = (uint8_t)((uint32_t)oid >> 24);
    blk[2] = (uint8_t)((uint32_t)oid >> 16);
    blk[3] = (uint8_t)((uint32_t)oid >> 8);
    blk[4] = (uint8_t)oid;
    if (jos_custom_block(m, v, NULL, blk, sizeof(blk)) != 0) {
        rem__export_unref(call->ch, oid, NULL);
        rem__ignore(ag_err_set(err, m->build_err, 0, "%s", m->build_detail.msg));
        return NULL;
    }
    return v;
}

#define PIS_MAX_READ ((size_t)1 << 20)

static void
on_source_read(void *token, int rc, struct ag_iov data, bool eof)
{
    struct rem_call *call = token;
    struct jos_msg *m = rem_call_msg(call);
    struct jos_val *b;

    if (rc < 0) {
        rem_call_fail(call, "java.io.IOException", "read failed: %s", ag_strerror(rc));
        return;
    }
    b = jos_new_object(m, "hudson.remoting.ProxyInputStream$Buffer");
    if (b != NULL) {
        /* Java's Buffer: len = bytes read, or -1 at the end (channel.md 7.2). */
        rem__ignore(jos_set_int(m, b, "len", data.len == 0 && eof ? -1 : (int32_t)data.len));
        rem__ignore(jos_set_obj(m, b, "buf", jos_new_bytes(m, data.base, data.len, false)));
    }
    rem_call_return(call, b); /* a builder error becomes an IOException reply */
}

void
rem__pis_read(struct rem_call *call)
{
    struct rem_channel *ch = call->ch;
    int32_t oid = 0;
    int32_t len = 0;
    struct rem_export *e;

    if (jos_get_int(call->callable, "oid", &oid) != 0 ||
        jos_get_int(call->callable, "len", &len) != 0) {
        rem_call_fail(call, "java.io.IOException",
                      "native-agent: malformed ProxyInputStream$Chunk");
        return;
    }
    e = rem__export_find(ch, oid);
    if (e == NULL || e->kind != REM_EXP_SOURCE) {
        rem_call_fail(call, "java.io.IOException", "native-agent: no input stream %" PRId32, oid);
        return;
    }
    if (len <= 0) {
        rem_call_fail(call, "java.io.IOException", "native-agent: read of %" PRId32 " bytes", len);
        return;
    }
    e->source->read(e->obj, (size_t)len < PIS_MAX_READ ? (size_t)len : PIS_MAX_READ, on_source_read,
                    call);
}

/* Export a sink: bytes (RemoteOutputStream) or, with chars, UTF-16 chars (RemoteWriter). */
static int
export_sink(struct rem_channel *ch, const struct rem_sink_ops *ops, void *ctx, bool chars,
            int32_t *oid)
{
    struct rem_export e = {0};

    e.kind = REM_EXP_SINK;
    e.sink = ops;
    e.obj = ctx;
    e.chars = chars;
    return rem__export_add(ch, &e, oid);
}

int
rem_channel_export_sink(struct rem_channel *ch, const struct rem_sink_ops *ops, void *ctx,
                        int32_t *oid)
{
    return export_sink(ch, ops, ctx, false, oid);
}

int
rem_channel_export_writer_sink(struct rem_channel *ch, const struct rem_sink_ops *ops, void *ctx,
                               int32_t *oid)
{
    return export_sink(ch, ops, ctx, true, oid);
}

static void pull_next(struct rem_pull *pl);

static struct jos_val *
build_pis_eof(struct jos_msg *m, int32_t oid, int32_t unused)
{
    (void)unused;
    return rem__cmd_pis_eof(m, oid);
}

static void
pull_free(struct rem_pull *pl)
{
    if (pl->ch != NULL) {
        rem_list_del(&pl->node);
    }
    ag_free(pl);
}

static void
pull_end(struct rem_pull *pl, const char *error)
{
    if (pl->ch != NULL && pl->ch->state == REM_CH_OPEN) {
        send_simple(pl->ch, build_pis_eof, pl->oid, 0);
    }
    pl->ops->close(pl->ctx, error);
    pull_free(pl);
}

static void
on_pull_written(void *token, int rc)
{
    struct rem_pull *pl = token;

    pl->busy = false;
    if (pl->ch == NULL) {
        pl->ops->close(pl->ctx, "channel closed");
        pull_free(pl);
        return;
    }
    if (rc != 0) {
        pull_end(pl, "the local reader failed");
        return;
    }
    pull_next(pl);
}

static void
on_pull_response(struct rem_channel *ch, int rc, struct jos_msg *m, struct jos_val *value,
                 const char *error, void *arg)
{
    struct rem_pull *pl = arg;
    int32_t len = 0;
    struct ag_iov buf = {0};

    (void)m;
    pl->busy = false;
    if (rc == AG_ECLOSED || ch->state == REM_CH_DEAD) {
        pl->ops->close(pl->ctx, "channel closed");
        pull_free(pl);
        return;
    }
    if (rc != 0) {
        pull_end(pl, error != NULL ? error : "read failed");
        return;
    }
    if (value == NULL || jos_get_int(value, "len", &len) != 0 ||
        jos_get_bytes(value, "buf", &buf) != 0) {
        pull_end(pl, "malformed ProxyInputStream$Buffer");
        return;
    }
    if (len < 0) {
        pull_end(pl, NULL);
        return;
    }
    if ((size_t)len > buf.len) {
        pull_end(pl, "ProxyInputStream$Buffer length beyond its data");
        return;
    }
    buf.len = (size_t)len;
    pl->busy = true;
    rc = pl->ops->write(pl->ctx, buf, on_pull_written, pl);
    if (rc == REM_SINK_PENDING) {
        return;
    }
    on_pull_written(pl, rc);
}

static void
pull_next(struct rem_pull *pl)
{
    struct rem_channel *ch = pl->ch;
    struct jos_msg *m = NULL;
    int32_t id;
    int rc;

    if (jos_msg_new(NULL, 0, &m) != 0) {
        pull_end(pl, "out of memory");
        return;
    }
    id = rem__next_request_id(ch);
    pl->busy = true;
    rc = rem__request_send(ch, m, rem__cmd_pis_chunk(m, id, PULL_LEN, pl->oid), id, false,
                           on_pull_response, pl);
    jos_msg_free(m);
    if (rc != 0) {
        pl->busy = false;
        pl->ops->close(pl->ctx, "cannot request data from the controller");
        pull_free(pl);
    }
}

void
rem__pulls_terminate(struct rem_channel *ch)
{
    struct rem_list *n = ch->pulls.next;

    /* Pulls waiting for a Response are ended by the pending request's AG_ECLOSED; those inside
     * a sink write are orphaned and ended by on_pull_written. */
    while (n != &ch->pulls) {
        struct rem_pull *pl = AG_CONTAINER_OF(n, struct rem_pull, node);

        n = n->next;
        rem_list_del(&pl->node);
        pl->ch = NULL;
    }
}

int
rem_istream_open(struct rem_call *call, const struct jos_val *v, const struct rem_sink_ops *ops,
                 void *ctx, struct ag_err *err)
{
    struct rem_channel *ch = call->ch;
    int kind = 0;
    bool greedy = false;
    int32_t oid = 0;
    int rc;

    if (ch == NULL || ch->state != REM_CH_OPEN) {
        return ag_err_set(err, AG_ECLOSED, 0, "channel closed");
    }
    rc = rem_stream_value_parse(v, &kind, &greedy, &oid, err);
    if (rc != 0) {
        return rc;
    }
    if (kind == REM_STREAM_ROS || kind == REM_STREAM_WRITER ||
        (kind == REM_STREAM_PIPE && greedy)) {
        return ag_err_set(err, AG_EPROTO, 0, "stream %" PRId32 " is not one we read", oid);
    }
    if (kind == REM_STREAM_PIPE || greedy) {
        /* Greedy (channel.md 7.4 flow 3): export our reading end, connect the writer to it. */
        struct rem_export e = {0};
        int32_t pos = 0;

        e.kind = REM_EXP_SINK;
        e.sink = ops;
        e.obj = ctx;
        rc = rem__export_add(ch, &e, &pos);
        if (rc != 0) {
            return ag_err_set(err, rc, 0, "cannot export a pipe end: %s", ag_strerror(rc));
        }
        send_simple(ch, rem__cmd_connect, pos, oid);
        return 0;
    }
    {
        struct rem_pull *pl = ag_calloc(1, sizeof(*pl));

        if (pl == NULL) {
            return ag_err_set(err, AG_ENOMEM, 0, "out of memory");
        }
        pl->ch = ch;
        pl->oid = oid;
        pl->ops = ops;
        pl->ctx = ctx;
        rem_list_push(&ch->pulls, &pl->node);
        pull_next(pl); /* failure closes the sink */
    }
    return 0;
}
