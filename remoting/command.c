/*
 * command.c: the commands the agent writes (channel.md 3.1, 11.3, 12), built with jos's
 * builder from the class table so every descriptor and SUID is real remoting's. createdAt and
 * Request.response are always null (channel.md 1.13).
 */
#include "rem_int.h"

#include <string.h>

#include "util.h"

/* Set fields, keeping the first error sticky in m (jos's builder does the same). */
static void
seti(struct jos_msg *m, struct jos_val *o, const char *f, int32_t v)
{
    if (o != NULL) {
        rem__ignore(jos_set_int(m, o, f, v)); /* sticky in m->build_err */
    }
}

static void
seto(struct jos_msg *m, struct jos_val *o, const char *f, struct jos_val *v)
{
    if (o != NULL) {
        rem__ignore(jos_set_obj(m, o, f, v)); /* sticky in m->build_err */
    }
}

struct jos_val *
rem__cmd_response(struct jos_msg *m, int32_t id, int32_t last_io_id, struct jos_val *exception,
                  struct jos_val *ret)
{
    struct jos_val *r = jos_new_object(m, "hudson.remoting.Response");

    seti(m, r, "id", id);
    seti(m, r, "lastIoId", last_io_id);
    seto(m, r, "exception", exception);
    seto(m, r, "returnValue", ret);
    return r;
}

struct jos_val *
rem__cmd_close(struct jos_msg *m)
{
    return jos_new_object(m, "hudson.remoting.Channel$CloseCommand");
}

struct jos_val *
rem__cmd_ack(struct jos_msg *m, int32_t oid, int32_t size)
{
    struct jos_val *r = jos_new_object(m, "hudson.remoting.ProxyOutputStream$Ack");

    seti(m, r, "oid", oid);
    seti(m, r, "size", size);
    return r;
}

struct jos_val *
rem__cmd_dead_writer(struct jos_msg *m, int32_t oid)
{
    struct jos_val *r = jos_new_object(m, "hudson.remoting.ProxyOutputStream$NotifyDeadWriter");

    seti(m, r, "oid", oid);
    return r;
}

struct jos_val *
rem__cmd_unexport(struct jos_msg *m, int32_t oid)
{
    struct jos_val *r = jos_new_object(m, "hudson.remoting.UnexportCommand");

    seti(m, r, "oid", oid);
    return r;
}

struct jos_val *
rem__cmd_chunk(struct jos_msg *m, int32_t io_id, int32_t oid, int32_t req_id, const void *p,
               size_t n)
{
    struct jos_val *r = jos_new_object(m, "hudson.remoting.ProxyOutputStream$Chunk");

    seti(m, r, "ioId", io_id);
    seti(m, r, "oid", oid);
    seti(m, r, "requestId", req_id);
    seto(m, r, "buf", jos_new_bytes(m, p, n, true));
    return r;
}

struct jos_val *
rem__cmd_flush(struct jos_msg *m, int32_t io_id, int32_t oid, int32_t req_id)
{
    struct jos_val *r = jos_new_object(m, "hudson.remoting.ProxyOutputStream$Flush");

    seti(m, r, "ioId", io_id);
    seti(m, r, "oid", oid);
    seti(m, r, "requestId", req_id);
    return r;
}

struct jos_val *
rem__cmd_eof(struct jos_msg *m, int32_t io_id, int32_t oid, int32_t req_id, struct jos_val *error)
{
    struct jos_val *r = jos_new_object(m, "hudson.remoting.ProxyOutputStream$EOF");

    seti(m, r, "ioId", io_id);
    seti(m, r, "oid", oid);
    seti(m, r, "requestId", req_id);
    seto(m, r, "error", error);
    return r;
}

struct jos_val *
rem__cmd_wchunk(struct jos_msg *m, int32_t io_id, int32_t oid, const void *p, size_t nchars)
{
    struct jos_val *r = jos_new_object(m, "hudson.remoting.ProxyWriter$Chunk");

    seti(m, r, "ioId", io_id);
    seti(m, r, "oid", oid);
    /* nchars is bounded by REM_PIPE_MAX_CHUNK; the array is borrowed until the send. */
    seto(m, r, "buf", jos_new_prim_array(m, "[C", p, (uint32_t)nchars, true));
    return r;
}

/* ProxyWriter$Flush, $EOF or $Unexport (cls: the part after '$'): all are {ioId, oid}. */
struct jos_val *
rem__cmd_wsimple(struct jos_msg *m, const char *cls, int32_t io_id, int32_t oid)
{
    char name[64];
    struct jos_val *r;

    rem__fmt(name, sizeof(name), "hudson.remoting.ProxyWriter$%s", cls);
    r = jos_new_object(m, name);
    seti(m, r, "ioId", io_id);
    seti(m, r, "oid", oid);
    return r;
}

struct jos_val *
rem__cmd_wack(struct jos_msg *m, int32_t oid, int32_t size)
{
    struct jos_val *r = jos_new_object(m, "hudson.remoting.ProxyWriter$Ack");

    seti(m, r, "oid", oid);
    seti(m, r, "size", size);
    return r;
}

struct jos_val *
rem__cmd_wdead(struct jos_msg *m, int32_t oid, int32_t unused)
{
    struct jos_val *r = jos_new_object(m, "hudson.remoting.ProxyWriter$NotifyDeadWriter");

    (void)unused;
    seti(m, r, "oid", oid);
    return r;
}

struct jos_val *
rem__cmd_connect(struct jos_msg *m, int32_t oid_pos, int32_t oid_ros)
{
    struct jos_val *r = jos_new_object(m, "hudson.remoting.Pipe$ConnectCommand");

    seti(m, r, "oidPos", oid_pos);
    seti(m, r, "oidRos", oid_ros);
    return r;
}

struct jos_val *
rem__cmd_pis_chunk(struct jos_msg *m, int32_t id, int32_t len, int32_t oid)
{
    struct jos_val *r = jos_new_object(m, "hudson.remoting.ProxyInputStream$Chunk");

    seti(m, r, "id", id);
    seti(m, r, "lastIoId", 0);
    seti(m, r, "len", len);
    seti(m, r, "oid", oid);
    return r;
}

struct jos_val *
rem__cmd_pis_eof(struct jos_msg *m, int32_t oid)
{
    struct jos_val *r = jos_new_object(m, "hudson.remoting.ProxyInputStream$EOF");

    seti(m, r, "oid", oid);
    return r;
}

struct jos_val *
rem__cmd_user_request(struct jos_msg *m, int32_t id, int32_t loader_oid, struct jos_val *callable,
                      const char *to_string)
{
    struct jos_val *r = jos_new_object(m, "hudson.remoting.UserRequest");
    struct jos_val *cl = jos_new_object(m, "hudson.remoting.RemoteClassLoader$RemoteIClassLoader");

    seti(m, cl, "oid", loader_oid);
    seti(m, r, "id", id);
    seti(m, r, "lastIoId", 0);
    seto(m, r, "classLoaderProxy", cl);
    seto(m, r, "request", jos_new_payload(m, callable));
    seto(m, r, "toString", jos_new_cstring(m, to_string));
    return r;
}

struct jos_val *
rem_new_exception(struct jos_msg *m, const char *exc_class, const char *msg)
{
    struct jos_val *e = jos_new_object(m, exc_class);

    if (e == NULL) {
        return NULL;
    }
    if (!jos_val_instanceof(e, "java.lang.Throwable")) {
        (void)ag_err_set(&m->build_detail, AG_EUSAGE, 0, "%s is not a java.lang.Throwable",
                         exc_class);
        if (m->build_err == 0) {
            m->build_err = AG_EUSAGE;
        }
        return NULL;
    }
    seto(m, e, "cause", NULL);
    seto(m, e, "detailMessage", msg != NULL ? jos_new_cstring(m, msg) : NULL);
    seto(m, e, "stackTrace", jos_new_obj_array(m, "[Ljava.lang.StackTraceElement;", 0));
    seto(m, e, "suppressedExceptions", jos_new_object(m, "java.util.Collections$EmptyList"));
    return m->build_err == 0 ? e : NULL;
}

struct jos_val *
rem_new_proxy(struct jos_msg *m, const char *iface, int32_t oid)
{
    const char *ifaces[2] = {iface, "hudson.remoting.IReadResolve"};
    struct jos_val *h = jos_new_object(m, "hudson.remoting.RemoteInvocationHandler");

    if (h == NULL) {
        return NULL;
    }
    /* channel.md 6.2: 00 00 <oid> 00 01 01 70 78 for the agent's own exports. */
    rem__ignore(jos_set_bool(m, h, "autoUnexportByCaller", false)); /* sticky */
    rem__ignore(jos_set_bool(m, h, "goingHome", false));            /* sticky */
    seti(m, h, "oid", oid);
    rem__ignore(jos_set_bool(m, h, "recordCreatedAt", false)); /* sticky */
    rem__ignore(jos_set_bool(m, h, "userProxy", true));        /* sticky */
    rem__ignore(jos_set_bool(m, h, "userSpace", true));        /* sticky */
    seto(m, h, "origin", NULL);
    return jos_new_proxy(m, ifaces, 2, h);
}

void
rem__throwable_text(const struct jos_val *t, char *dst, size_t size)
{
    const char *cls = jos_val_class(t);
    const char *msg = NULL;
    size_t len = 0;

    if (size == 0) {
        return;
    }
    if (cls == NULL) {
        rem__fmt(dst, size, "%s", t == NULL ? "null" : "(not an exception)");
        return;
    }
    if (jos_get_string(t, "detailMessage", &msg, &len) != 0) {
        msg = NULL;
    }
    if (msg != NULL) {
        /* Truncation is fine for a log line. */
        rem__fmt(dst, size, "%s: %.*s", cls, (int)(len > 400 ? 400 : len), msg);
    } else {
        rem__fmt(dst, size, "%s", cls);
    }
}

int32_t
rem__loader_oid(const struct jos_val *v)
{
    struct jos_val *h = NULL;
    int32_t oid = 0;

    if (v == NULL) {
        return 0;
    }
    if (jos_val_is(v, "hudson.remoting.RemoteClassLoader$RemoteIClassLoader")) {
        /* A loader we exported (we never do): no controller oid. */
        return 0;
    }
    if (jos_get_obj(v, "h", &h) != 0 || h == NULL ||
        !jos_val_is(h, "hudson.remoting.RemoteInvocationHandler")) {
        return 0;
    }
    if (jos_get_int(h, "oid", &oid) != 0) {
        return 0;
    }
    return oid;
}
