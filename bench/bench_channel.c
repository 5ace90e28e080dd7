/*
 * bench_channel.c: the remoting channel on an in-memory link (no network, no TLS), one loop
 * thread, so the numbers are what the channel itself costs per command.
 *
 *   bench_channel
 *
 * Workloads:
 *   ping      controller PingThread$Ping UserRequests answered (decode, dispatch, reply, encode)
 *   rpc       RPCRequest commands on an exported object answered with a String
 *   pipe-out  64 KiB writes to a controller stream, each chunk acked at once (agent -> controller)
 *   pipe-in   64 KiB ProxyOutputStream$Chunks into an exported sink, each acked (controller ->
 * agent)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../tests/unit/remoting/fake_link.h"
#include "alloc.h"
#include "callables.h"
#include "channel.h"
#include "jos.h"
#include "log.h"
#include "pipe.h"

#define RUN_SECONDS 0.5
#define PIPE_WRITE (64u << 10)

static double
now(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct fake_link f;

static int
encode(struct jos_msg *m, struct jos_val *v, struct ag_buf *out)
{
    struct ag_err err = {0};
    struct jos_val *items[1] = {v};

    ag_buf_init(out, (size_t)64 << 20);
    if (m->build_err != 0) {
        (void)fprintf(stderr, "build: %s\n", m->build_detail.msg);
        return m->build_err;
    }
    return jos_encode(out, items, 1, &err);
}

/* A UserRequest(PingThread$Ping) with a class-loader proxy for oid 2. */
static int
make_ping(int32_t id, struct ag_buf *out)
{
    struct jos_msg *m = NULL;
    struct jos_val *ur;
    int rc;

    if (jos_msg_new(NULL, 0, &m) != 0) {
        return -1;
    }
    ur = jos_new_object(m, "hudson.remoting.UserRequest");
    rc = jos_set_int(m, ur, "id", id);
    rc |= jos_set_obj(m, ur, "classLoaderProxy",
                      rem_new_proxy(m, "hudson.remoting.RemoteClassLoader$IClassLoader", 2));
    rc |= jos_set_obj(m, ur, "request",
                      jos_new_payload(m, jos_new_object(m, "hudson.remoting.PingThread$Ping")));
    rc |= jos_set_string(m, ur, "toString", "Ping");
    rc |= encode(m, ur, out);
    jos_msg_free(m);
    return rc;
}

static int
make_rpc(int32_t id, int32_t oid, struct ag_buf *out)
{
    struct jos_msg *m = NULL;
    struct jos_val *r;
    int rc;

    if (jos_msg_new(NULL, 0, &m) != 0) {
        return -1;
    }
    r = jos_new_object(m, "hudson.remoting.RemoteInvocationHandler$RPCRequest");
    rc = jos_set_int(m, r, "id", id);
    rc |= jos_set_int(m, r, "oid", oid);
    rc |= jos_set_obj(m, r, "arguments", jos_new_obj_array(m, "[Ljava.lang.Object;", 0));
    rc |= jos_set_string(m, r, "declaringClassName", "bench.Iface");
    rc |= jos_set_string(m, r, "methodName", "name");
    rc |= jos_set_obj(m, r, "types", jos_new_obj_array(m, "[Ljava.lang.String;", 0));
    rc |= encode(m, r, out);
    jos_msg_free(m);
    return rc;
}

static int
make_pair(const char *cls, const char *f1, int32_t v1, const char *f2, int32_t v2, const char *f3,
          int32_t v3, const void *data, size_t n, struct ag_buf *out)
{
    struct jos_msg *m = NULL;
    struct jos_val *r;
    int rc;

    if (jos_msg_new(NULL, 0, &m) != 0) {
        return -1;
    }
    r = jos_new_object(m, cls);
    rc = jos_set_int(m, r, f1, v1);
    rc |= jos_set_int(m, r, f2, v2);
    if (f3 != NULL) {
        rc |= jos_set_int(m, r, f3, v3);
        rc |= jos_set_obj(m, r, "buf", jos_new_bytes(m, data, n, true));
    }
    rc |= encode(m, r, out);
    jos_msg_free(m);
    return rc;
}

struct bench_obj {
    struct rem_ostream *os;
    struct rem_call *call;
};

static void
obj_invoke(void *ptr, struct rem_call *call, const char *method, const struct jos_val *types,
           const struct jos_val *args)
{
    struct bench_obj *o = ptr;
    struct ag_err err = {0};

    (void)types;
    if (strcmp(method, "open") == 0 && args != NULL && args->u.arr.len == 1 &&
        rem_ostream_open(call, args->u.arr.elems[0], &o->os, &err) == 0) {
        o->call = call; /* held: writes are made on its behalf */
        return;
    }
    rem_call_return_string(call, method);
}

static void
obj_release(void *ptr)
{
    (void)ptr;
}

static const struct rem_object_ops obj_ops = {"bench.Iface", obj_invoke, obj_release};

static int
sink_write(void *ctx, struct ag_iov d, rem_sink_done_cb done, void *token)
{
    (void)done;
    (void)token;
    *(uint64_t *)ctx += d.len;
    return 0;
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

static const struct rem_sink_ops sink_ops = {sink_write, sink_flush, sink_close};

static void
report(const char *name, uint64_t n, double secs, uint64_t bytes)
{
    struct ag_alloc_stats st;

    ag_alloc_stats_get(&st);
    if (bytes > 0) {
        printf("%-9s %10.0f commands/s %10.1f MiB/s\n", name, (double)n / secs,
               (double)bytes / secs / (1 << 20));
    } else {
        printf("%-9s %10.0f round trips/s %8.2f us each\n", name, (double)n / secs,
               secs * 1e6 / (double)n);
    }
}

int
main(void)
{
    struct rem_channel_opts o = {0};
    struct rem_channel *ch = NULL;
    struct bench_obj bo = {0};
    struct ag_buf ping;
    struct ag_buf rpc;
    struct ag_buf ack;
    struct ag_buf chunk;
    struct ag_buf open_cmd;
    static uint8_t data[PIPE_WRITE];
    uint64_t sunk = 0;
    int32_t oid = 0;

    ag_alloc_tune(); /* as the agent's main() does */
    int32_t sink_oid = 0;
    uint64_t n;
    double t0;
    double t;

    ag_log_set_level(AG_LOG_SEVERE);
    fake_link_init(&f);
    o.name = "bench";
    if (rem_channel_new(&f.link, &o, &ch) != 0 ||
        rem_channel_export(ch, &obj_ops, &bo, &oid) != 0 ||
        rem_channel_export_sink(ch, &sink_ops, &sunk, &sink_oid) != 0) {
        return 1;
    }
    memset(data, 'x', sizeof(data));
    if (make_ping(7, &ping) != 0 || make_rpc(8, oid, &rpc) != 0 ||
        make_pair("hudson.remoting.ProxyOutputStream$Ack", "oid", 5, "size", (int32_t)PIPE_WRITE,
                  NULL, 0, NULL, 0, &ack) != 0 ||
        make_pair("hudson.remoting.ProxyOutputStream$Chunk", "ioId", 0, "oid", sink_oid,
                  "requestId", 0, data, sizeof(data), &chunk) != 0) {
        (void)fprintf(stderr, "cannot build the commands\n");
        return 1;
    }

    /* ping */
    n = 0;
    t0 = now();
    do {
        for (int i = 0; i < 256; i++) {
            fake_link_deliver(&f, ping.data, ping.len);
        }
        n += 256;
        fake_link_clear(&f);
    } while ((t = now() - t0) < RUN_SECONDS);
    report("ping", n, t, 0);

    /* rpc */
    n = 0;
    t0 = now();
    do {
        for (int i = 0; i < 256; i++) {
            fake_link_deliver(&f, rpc.data, rpc.len);
        }
        n += 256;
        fake_link_clear(&f);
    } while ((t = now() - t0) < RUN_SECONDS);
    report("rpc", n, t, 0);

    /* pipe-out: open a controller stream (oid 5) through an RPC holding the call */
    {
        struct jos_msg *m = NULL;
        struct jos_val *r;
        struct jos_val *args;
        struct jos_val *ros;
        int rc;

        if (jos_msg_new(NULL, 0, &m) != 0) {
            return 1;
        }
        ros = jos_new_object(m, "hudson.remoting.RemoteOutputStream");
        rc = jos_custom_block(m, ros, NULL, "\x00\x00\x00\x05", 4);
        args = jos_new_obj_array(m, "[Ljava.lang.Object;", 1);
        rc |= jos_array_set(m, args, 0, ros);
        r = jos_new_object(m, "hudson.remoting.RemoteInvocationHandler$RPCRequest");
        rc |= jos_set_int(m, r, "id", 9);
        rc |= jos_set_int(m, r, "oid", oid);
        rc |= jos_set_obj(m, r, "arguments", args);
        rc |= jos_set_string(m, r, "methodName", "open");
        rc |= encode(m, r, &open_cmd);
        jos_msg_free(m);
        if (rc != 0) {
            return 1;
        }
        fake_link_deliver(&f, open_cmd.data, open_cmd.len);
        if (bo.os == NULL) {
            (void)fprintf(stderr, "pipe-out: stream not opened\n");
            return 1;
        }
    }
    n = 0;
    t0 = now();
    do {
        for (int i = 0; i < 64; i++) {
            size_t before = f.nsent;

            if (rem_ostream_write(bo.os, bo.call, data, sizeof(data)) < 0) {
                return 1;
            }
            for (size_t k = before; k < f.nsent; k++) {
                fake_link_deliver(&f, ack.data, ack.len);
            }
        }
        n += 64;
        fake_link_clear(&f);
    } while ((t = now() - t0) < RUN_SECONDS);
    report("pipe-out", n, t, n * sizeof(data));
    rem_call_return_null(bo.call);
    rem_ostream_unref(bo.os);
    fake_link_clear(&f);

    /* pipe-in */
    n = 0;
    t0 = now();
    do {
        for (int i = 0; i < 64; i++) {
            fake_link_deliver(&f, chunk.data, chunk.len);
        }
        n += 64;
        fake_link_clear(&f);
    } while ((t = now() - t0) < RUN_SECONDS);
    report("pipe-in", n, t, sunk);

    fake_link_finish(&f, 0);
    fake_link_clear(&f);
    ag_buf_fini(&ping);
    ag_buf_fini(&rpc);
    ag_buf_fini(&ack);
    ag_buf_fini(&chunk);
    ag_buf_fini(&open_cmd);
    return 0;
}
