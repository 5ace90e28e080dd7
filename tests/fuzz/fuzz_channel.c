/* Fuzz the remoting channel (remoting/): arbitrary commands into a channel on an in-memory link
 * that has an exported object (oid 2), a sink that completes at once (oid 3) and one that
 * completes later (oid 4), and the same two as writer sinks (RemoteWriter, oids 5 and 6). The input
 * is a list of records: an op byte, then for op 0 a u16 big-endian length and that many command
 * bytes. Ops: 0 deliver a command, 1 complete the pending sink write, 2 close from our side, 3
 * complete a held RPC, 4 break the link. Nothing may crash or leak, whatever the commands are. RPC
 * method "hold" keeps the call, "ris" exports a source the controller can pull with
 * ProxyInputStream$Chunk, "w" opens its first argument as a stream to write to (RemoteOutputStream,
 * Pipe or RemoteWriter) and writes, flushes and closes it, with a UTF-8 sequence cut between two
 * writes. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../unit/remoting/fake_link.h"
#include "callables.h"
#include "channel.h"
#include "log.h"
#include "pipe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz {
    rem_sink_done_cb done;
    void *token;
    struct rem_call *held;
    int closed;
};

static int
sink_now(void *ctx, struct ag_iov d, rem_sink_done_cb done, void *token)
{
    (void)ctx;
    (void)done;
    (void)token;
    return d.len > 0 && d.base[0] == 'X' ? AG_EPROTO : 0;
}

static int
sink_later(void *ctx, struct ag_iov d, rem_sink_done_cb done, void *token)
{
    struct fz *z = ctx;

    (void)d;
    if (z->done != NULL) {
        return 0; /* one at a time is all the lane ever asks for */
    }
    z->done = done;
    z->token = token;
    return REM_SINK_PENDING;
}

static void
sink_flush(void *ctx)
{
    (void)ctx;
}

static void
sink_close(void *ctx, const char *error)
{
    (void)ctx;
    (void)error;
}

static const struct rem_sink_ops ops_now = {sink_now, sink_flush, sink_close};
static const struct rem_sink_ops ops_later = {sink_later, sink_flush, sink_close};

static void
src_read(void *ctx, size_t max, rem_source_done_cb done, void *token)
{
    struct ag_iov d = {(const uint8_t *)"data", max < 4 ? max : 4};

    (void)ctx;
    done(token, 0, d, max < 4);
}

static void
src_close(void *ctx)
{
    (void)ctx;
}

static const struct rem_source_ops ops_src = {src_read, src_close};

static void
on_cancel(struct rem_call *call, int code, void *arg)
{
    struct fz *z = arg;

    (void)code;
    z->held = NULL;
    rem_call_fail(call, "java.lang.InterruptedException", "cancelled");
}

static void
ignore(int rc)
{
    (void)rc; /* the fuzzer only looks for crashes and leaks */
}

static void
obj_invoke(void *ptr, struct rem_call *call, const char *method, const struct jos_val *types,
           const struct jos_val *args)
{
    struct fz *z = ptr;

    (void)types;
    (void)args;
    if (strcmp(method, "hold") == 0 && z->held == NULL) {
        z->held = call;
        rem_call_on_cancel(call, on_cancel, z);
        return;
    }
    if (strcmp(method, "w") == 0 && args != NULL && args->kind == JOS_K_ARRAY &&
        args->u.arr.len > 0) {
        struct ag_err err = {0};
        struct rem_ostream *os = NULL;

        if (rem_ostream_open(call, args->u.arr.elems[0], &os, &err) == 0) {
            ignore(rem_ostream_write(os, call, "h\xc3\xa9\xe2\x82", 5));
            ignore(rem_ostream_write(os, call, "\xac\xf0\x9f", 3));
            ignore(rem_ostream_flush(os, call));
            ignore(rem_ostream_close(os, call, "fuzz"));
            rem_ostream_unref(os);
        }
        rem_call_return_null(call);
        return;
    }
    if (strcmp(method, "ris") == 0) {
        struct ag_err err = {0};
        struct jos_val *v = rem_source_export_ris(call, rem_call_msg(call), &ops_src, z, &err);

        rem_call_return(call, v);
        return;
    }
    rem_call_return_string(call, method);
}

static void
obj_release(void *ptr)
{
    (void)ptr;
}

static const struct rem_object_ops obj_ops = {"fuzz.Iface", obj_invoke, obj_release};

static void
on_closed(struct rem_channel *ch, int code, const char *why, void *arg)
{
    (void)ch;
    (void)code;
    (void)why;
    ((struct fz *)arg)->closed++;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fake_link f; /* large: keep it off the stack */
    struct fz z = {0};
    struct rem_channel_opts o = {0};
    struct rem_channel *ch = NULL;
    int32_t oid = 0;
    size_t off = 0;

    ag_log_set_level(AG_LOG_SEVERE);
    fake_link_init(&f);
    o.name = "fuzz";
    o.on_closed = on_closed;
    o.arg = &z;
    if (rem_channel_new(&f.link, &o, &ch) != 0) {
        return 0;
    }
    if (rem_channel_export(ch, &obj_ops, &z, &oid) != 0 ||
        rem_channel_export_sink(ch, &ops_now, &z, &oid) != 0 ||
        rem_channel_export_sink(ch, &ops_later, &z, &oid) != 0 ||
        rem_channel_export_writer_sink(ch, &ops_now, &z, &oid) != 0 ||
        rem_channel_export_writer_sink(ch, &ops_later, &z, &oid) != 0) {
        fake_link_finish(&f, AG_ENOMEM);
        fake_link_clear(&f);
        return 0;
    }
    while (off < size && !f.closed) {
        uint8_t op = data[off++];

        switch (op % 5) {
        case 0: {
            size_t n;

            if (size - off < 2) {
                off = size;
                break;
            }
            n = (size_t)data[off] << 8 | data[off + 1];
            off += 2;
            if (n > size - off) {
                n = size - off;
            }
            fake_link_deliver(&f, data + off, n);
            off += n;
            break;
        }
        case 1:
            if (z.done != NULL) {
                rem_sink_done_cb d = z.done;

                z.done = NULL;
                d(z.token, 0);
            }
            break;
        case 2:
            rem_channel_close(ch, "fuzz");
            break;
        case 3:
            if (z.held != NULL) {
                struct rem_call *c = z.held;

                z.held = NULL;
                rem_call_return_null(c);
            }
            break;
        default:
            fake_link_finish(&f, AG_EPROTO);
            break;
        }
        if (f.nsent > 1024) {
            fake_link_clear(&f);
        }
    }
    fake_link_finish(&f, 0);
    if (z.done != NULL) {
        z.done(z.token, 0); /* the orphaned write completes late */
    }
    if (z.held != NULL) {
        rem_call_return_null(z.held); /* detached: freed */
    }
    fake_link_clear(&f);
    return 0;
}
