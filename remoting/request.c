/*
 * request.c: requests in both directions (channel.md 4): the controller's UserRequests and
 * RPCRequests run as asynchronous calls (struct rem_call) answered with exactly one Response;
 * our own requests wait in ch->pending for theirs. Request ids and the lastIoId rules of
 * channel.md 4.2 live here.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include "alloc.h"
#include "callables.h"
#include "log.h"
#include "rem_int.h"
#include "util.h"

/* ----- the call context API (callables.h) ----- */

const struct jos_val *
rem_call_callable(const struct rem_call *call)
{
    return call->callable;
}

const char *
rem_call_class(const struct rem_call *call)
{
    return call->class_name;
}

struct jos_msg *
rem_call_msg(struct rem_call *call)
{
    return call->out;
}

struct rem_channel *
rem_call_channel(const struct rem_call *call)
{
    return call->ch;
}

void *
rem_call_user(const struct rem_call *call)
{
    return call->ch != NULL ? call->ch->user : NULL;
}

int32_t
rem_call_id(const struct rem_call *call)
{
    return call->id;
}

int32_t
rem_call_loader_oid(const struct rem_call *call)
{
    return call->loader_oid;
}

bool
rem_call_cancelled(const struct rem_call *call)
{
    return call->cancelled;
}

void
rem_call_on_cancel(struct rem_call *call, rem_call_cancel_cb cb, void *arg)
{
    call->cancel_cb = cb;
    call->cancel_arg = arg;
}

void
rem_call_set_data(struct rem_call *call, void *data)
{
    call->data = data;
}

void *
rem_call_get_data(const struct rem_call *call)
{
    return call->data;
}

static void
call_free(struct rem_call *call)
{
    if (call == NULL) {
        return;
    }
    jos_msg_free(call->in);
    jos_msg_free(call->out);
    ag_free(call);
}

static void
call_detach(struct rem_call *call)
{
    struct rem_channel *ch = call->ch;

    if (ch != NULL) {
        rem_list_del(&call->node);
        ch->ncalls--;
        call->ch = NULL;
    }
}

int32_t
rem__next_request_id(struct rem_channel *ch)
{
    int32_t id = ch->next_req_id;

    /* Java ints wrap; skip 0 so a zero id never looks like "no request" in requestId fields. */
    ch->next_req_id = id == INT32_MAX ? 1 : id + 1;
    return id;
}

/* Send a Response for request id built in m; on failure to build, an IOException instead. */
static void
send_response(struct rem_channel *ch, struct jos_msg *m, int32_t id, int32_t last_io,
              struct jos_val *exc, struct jos_val *ret)
{
    struct jos_val *r = rem__cmd_response(m, id, last_io, exc, ret);
    int rc = rem__send(ch, m, r);

    if (rc != 0 && rc != AG_ECLOSED && m->build_err != 0) {
        char msg[240];

        rem__fmt(msg, sizeof(msg), "native-agent could not encode its reply: %s",
                 m->build_detail.msg);
        rem__reply_error(ch, id, "java.io.IOException", msg);
    }
}

void
rem__reply_error(struct rem_channel *ch, int32_t id, const char *exc_class, const char *msg)
{
    struct jos_msg *m = NULL;
    struct jos_val *e;

    if (jos_msg_new(NULL, 0, &m) != 0) {
        rem_channel_abort(ch, AG_ENOMEM, "out of memory answering a request");
        return;
    }
    e = rem_new_exception(m, exc_class, msg);
    if (e == NULL) {
        jos_msg_free(m);
        if (jos_msg_new(NULL, 0, &m) != 0) {
            return;
        }
        e = rem_new_exception(m, "java.io.IOException", msg);
    }
    rem__ignore(
        rem__send(ch, m, rem__cmd_response(m, id, 0, e, NULL))); /* failure aborts the link */
    jos_msg_free(m);
}

/* The reply of a completed call whose pipe writes are all out. */
static void
call_reply(struct rem_call *call)
{
    struct rem_channel *ch = call->ch;
    struct jos_msg *m = call->out;
    struct jos_val *exc = NULL;
    struct jos_val *ret = NULL;

    if (call->failed) {
        exc = call->result;
    } else if (call->kind == REM_CALL_USER) {
        /* channel.md 4.5: NormalResponse{payload} (we advertise PROXY_EXCEPTION_FALLBACK). */
        ret = jos_new_object(m, "hudson.remoting.UserRequest$NormalResponse");
        if (ret != NULL) {
            rem__ignore(
                jos_set_obj(m, ret, "response", jos_new_payload(m, call->result))); /* sticky */
        }
    } else {
        ret = call->result;
    }
    send_response(ch, m, call->id, call->last_io_id, exc, ret);
    call_detach(call);
    call_free(call);
}

static void
call_complete(struct rem_call *call, struct jos_val *v, bool failed)
{
    AG_ASSERT(!call->completed); /* a handler completes a call exactly once */
    call->completed = true;
    call->result = v;
    call->failed = failed;
    if (call->ch == NULL) {
        call_free(call); /* detached: nobody to answer */
        return;
    }
    if (call->io_pending > 0) {
        return; /* rem__call_io_sent() replies when the last write is out */
    }
    call_reply(call);
}

void
rem_call_return(struct rem_call *call, struct jos_val *v)
{
    call_complete(call, v, false);
}

void
rem_call_return_null(struct rem_call *call)
{
    call_complete(call, NULL, false);
}

void
rem_call_return_string(struct rem_call *call, const char *s)
{
    call_complete(call, jos_new_cstring(call->out, s), false);
}

void
rem_call_fail(struct rem_call *call, const char *exc_class, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    struct jos_val *e;

    va_start(ap, fmt);
    (void)vsnprintf(msg, sizeof(msg), fmt, ap); /* a cut message is acceptable */
    va_end(ap);
    e = rem_new_exception(call->out, exc_class, msg);
    if (e == NULL) {
        /* Unknown class: start over with an IOException in a clean builder. */
        struct jos_msg *m = NULL;

        if (jos_msg_new(NULL, 0, &m) == 0) {
            jos_msg_free(call->out);
            call->out = m;
            e = rem_new_exception(m, "java.io.IOException", msg);
        }
    }
    call_complete(call, e, true);
}

void
rem__call_io_sent(struct rem_call *call, int32_t io_id)
{
    if (io_id != 0) {
        call->last_io_id = io_id;
    }
    AG_ASSERT(call->io_pending > 0);
    call->io_pending--;
    if (call->io_pending == 0 && call->completed && call->ch != NULL) {
        call_reply(call);
    }
}

void
rem__call_io_dropped(struct rem_call *call)
{
    AG_ASSERT(call->io_pending > 0);
    call->io_pending--;
    if (call->io_pending == 0 && call->completed) {
        if (call->ch != NULL) {
            call_reply(call);
        } else {
            call_free(call);
        }
    }
}

static void
call_start(struct rem_call *call)
{
    call->started = true;
    call->waiting_io = false;
    if (call->h != NULL) {
        call->h->fn(call); /* may complete (and free) the call */
    } else {
        rem__rpc_dispatch(call, call->callable);
    }
}

void
rem__calls_io_progress(struct rem_channel *ch)
{
    struct rem_list *n = ch->calls.next;

    /* Starting a call may complete it and unlink it; remember the next node first. Calls that
     * complete at once never unlink other calls. */
    while (n != &ch->calls) {
        struct rem_call *call = AG_CONTAINER_OF(n, struct rem_call, node);

        n = n->next;
        if (call->waiting_io && rem__io_drained(ch, call->wait_seq)) {
            call_start(call);
            if (ch->state == REM_CH_DEAD) {
                return;
            }
        }
    }
    n = ch->pending.next;
    while (n != &ch->pending) {
        struct rem_pending *p = AG_CONTAINER_OF(n, struct rem_pending, node);

        n = n->next;
        if (p->waiting_io && rem__io_drained(ch, p->wait_seq)) {
            struct jos_msg *m = p->resp;

            rem_list_del(&p->node);
            ch->npending--;
            p->cb(ch, 0, m, p->resp_val, NULL, p->arg);
            jos_msg_free(m);
            ag_free(p);
            n = ch->pending.next; /* the callback may have changed the list */
        }
    }
}

void
rem__calls_terminate(struct rem_channel *ch)
{
    while (!rem_list_empty(&ch->pending)) {
        struct rem_pending *p = AG_CONTAINER_OF(ch->pending.next, struct rem_pending, node);

        rem_list_del(&p->node);
        ch->npending--;
        p->cb(ch, AG_ECLOSED, NULL, NULL, "channel closed", p->arg);
        jos_msg_free(p->resp);
        ag_free(p);
    }
    while (!rem_list_empty(&ch->calls)) {
        struct rem_call *call = AG_CONTAINER_OF(ch->calls.next, struct rem_call, node);

        call_detach(call);
        if (!call->started || call->completed) {
            /* Never handed to a handler, or only waiting to send its reply. */
            call_free(call);
            continue;
        }
        call->cancelled = true;
        if (call->cancel_cb != NULL) {
            call->cancel_cb(call, AG_ECLOSED, call->cancel_arg); /* may complete (free) it */
        }
    }
}

/* ----- incoming requests ----- */

/* Register a call for request id; NULL (after replying an error) when over the limit. */
static struct rem_call *
call_new(struct rem_channel *ch, enum rem_call_kind kind, int32_t id, int32_t last_io,
         struct jos_msg *m)
{
    struct rem_call *call = NULL;

    if (ch->ncalls >= REM_MAX_CALLS) {
        char msg[128];

        rem__fmt(msg, sizeof(msg), "native-agent is running %u requests already", REM_MAX_CALLS);
        rem__warn_once(ch, "(too many calls)", "%s; request %" PRId32 " refused", msg, id);
        rem__reply_error(ch, id, "java.io.IOException", msg);
        jos_msg_free(m);
        return NULL;
    }
    call = ag_calloc(1, sizeof(*call));
    if (call == NULL || jos_msg_new(NULL, 0, &call->out) != 0) {
        ag_free(call);
        jos_msg_free(m);
        rem_channel_abort(ch, AG_ENOMEM, "out of memory for a request");
        return NULL;
    }
    call->ch = ch;
    call->kind = kind;
    call->id = id;
    call->last_io_in = last_io;
    call->in = m;
    rem_list_push(&ch->calls, &call->node);
    ch->ncalls++;
    return call;
}

/* Start now, or once the incoming I/O received before it has been applied (channel.md 4.2). */
static void
call_schedule(struct rem_call *call)
{
    struct rem_channel *ch = call->ch;

    if (call->last_io_in != 0 && !rem__io_drained(ch, ch->io_seq_in)) {
        call->waiting_io = true;
        call->wait_seq = ch->io_seq_in;
        return;
    }
    call_start(call);
}

static void
call_unsupported(struct rem_call *call)
{
    rem__warn_once(call->ch, call->class_name,
                   "callable %s is not supported by the native agent; answered with an error",
                   call->class_name);
    rem_call_fail(call, "java.io.IOException", "native-agent does not support callable %s",
                  call->class_name);
}

static const struct rem_callable_handler unsupported_handler = {
    "(unsupported)",
    "",
    call_unsupported,
};

void
rem__on_user_request(struct rem_channel *ch, struct jos_msg *m, struct jos_val *cmd)
{
    int32_t id = 0;
    int32_t last_io = 0;
    struct jos_val *loader = NULL;
    struct jos_val *payload = NULL;
    struct jos_stream s = {0};
    struct ag_err err = {0};
    struct rem_call *call;
    int rc;

    if (jos_get_int(cmd, "id", &id) != 0) {
        rem__warn_once(ch, "UserRequest", "UserRequest without an id; dropped");
        jos_msg_free(m);
        return;
    }
    rem__ignore(jos_get_int(cmd, "lastIoId", &last_io)); /* 0 if missing */
    call = call_new(ch, REM_CALL_USER, id, last_io, m);
    if (call == NULL) {
        return;
    }
    if (jos_get_obj(cmd, "classLoaderProxy", &loader) == 0) {
        call->loader_oid = rem__loader_oid(loader);
        if (ch->core_loader_oid == 0) {
            ch->core_loader_oid = call->loader_oid;
        }
    }
    rc = jos_get_obj(cmd, "request", &payload);
    if (rc != 0 || payload == NULL || payload->kind != JOS_K_ARRAY) {
        rem__warn_once(ch, "(no payload)", "UserRequest %" PRId32 " without a payload", id);
        call->class_name = "(none)";
        rem_call_fail(call, "java.io.IOException", "native-agent: UserRequest without a payload");
        return;
    }
    rc = jos_msg_decode_nested(m, payload, &s, &err);
    if (rc != 0 || s.n < 1 || s.items[0] == NULL || s.items[0]->kind != JOS_K_OBJECT) {
        const char *ts = NULL;
        size_t tl = 0;

        if (jos_get_string(cmd, "toString", &ts, &tl) != 0 || ts == NULL) {
            ts = "?";
        }
        call->class_name = ts;
        rem__warn_once(ch, "(undecodable callable)",
                       "cannot decode the callable of request %" PRId32 " (%s): %s", id, ts,
                       rc != 0 ? err.msg : "no object");
        rem_call_fail(call, "java.io.IOException", "native-agent cannot decode the callable %s: %s",
                      ts, rc != 0 ? err.msg : "the payload holds no object");
        return;
    }
    call->callable = s.items[0];
    call->class_name = jos_val_class(call->callable);
    call->h = rem_callables_find(call->class_name);
    if (call->h == NULL) {
        call->h = &unsupported_handler;
    }
    if (strcmp(call->class_name, "hudson.remoting.Channel$IOSyncer") == 0) {
        call->last_io_in = -1; /* "finish all pending incoming I/O": wait as for a lastIoId */
    }
    AG_LOG_DEBUG(REM_LOG, "%s: request %" PRId32 ": %s", ch->name, id, call->class_name);
    call_schedule(call);
}

/* A Request command answered through the RPC path (RPCRequest, ProxyInputStream$Chunk): read
 * its id and lastIoId and make the call, or drop the command with a warning naming what. NULL when
 * the command was dropped or no call could be made (m is consumed either way). */
static struct rem_call *
rpc_call_new(struct rem_channel *ch, struct jos_msg *m, struct jos_val *cmd, const char *what,
             const char *warning)
{
    int32_t id = 0;
    int32_t last_io = 0;
    struct rem_call *call;

    if (jos_get_int(cmd, "id", &id) != 0) {
        rem__warn_once(ch, what, "%s", warning);
        jos_msg_free(m);
        return NULL;
    }
    rem__ignore(jos_get_int(cmd, "lastIoId", &last_io)); /* 0 if missing */
    call = call_new(ch, REM_CALL_RPC, id, last_io, m);
    if (call != NULL) {
        call->callable = cmd;
    }
    return call;
}

void
rem__on_rpc_request(struct rem_channel *ch, struct jos_msg *m, struct jos_val *cmd)
{
    struct rem_call *call =
        rpc_call_new(ch, m, cmd, "RPCRequest", "RPCRequest without an id; dropped");

    if (call == NULL) {
        return;
    }
    call->class_name = jos_val_class(cmd);
    call->h = NULL; /* rem__rpc_dispatch */
    call_schedule(call);
}

static const struct rem_callable_handler pis_handler = {
    "hudson.remoting.ProxyInputStream$Chunk",
    "",
    rem__pis_read,
};

void
rem__on_pis_chunk(struct rem_channel *ch, struct jos_msg *m, struct jos_val *cmd)
{
    struct rem_call *call = rpc_call_new(ch, m, cmd, "ProxyInputStream$Chunk",
                                         "ProxyInputStream$Chunk without an id");

    if (call == NULL) {
        return;
    }
    call->class_name = pis_handler.class_name;
    call->h = &pis_handler;
    call_schedule(call);
}

void
rem__on_cancel(struct rem_channel *ch, struct jos_val *cmd)
{
    int32_t id = 0;

    if (jos_get_int(cmd, "id", &id) != 0) {
        return;
    }
    for (struct rem_list *n = ch->calls.next; n != &ch->calls; n = n->next) {
        struct rem_call *call = AG_CONTAINER_OF(n, struct rem_call, node);

        if (call->id != id || call->completed || call->cancelled) {
            continue;
        }
        AG_LOG_DEBUG(REM_LOG, "%s: request %" PRId32 " (%s) cancelled by the controller", ch->name,
                     id, call->class_name);
        call->cancelled = true;
        if (!call->started) {
            /* Java interrupts it before it ran: it fails without running. */
            rem_call_fail(call, "java.lang.InterruptedException", "cancelled before it started");
        } else if (call->cancel_cb != NULL) {
            call->cancel_cb(call, AG_ECLOSED, call->cancel_arg);
        }
        return;
    }
    AG_LOG_DEBUG(REM_LOG, "%s: Cancel for request %" PRId32 " that is not running", ch->name, id);
}

/* ----- RPC on our exports (channel.md 6.3, 6.4) ----- */

void
rem__rpc_dispatch(struct rem_call *call, const struct jos_val *rpc)
{
    struct rem_channel *ch = call->ch;
    int32_t oid = 0;
    const char *method = NULL;
    const char *decl = NULL;
    size_t len = 0;
    struct jos_val *types = NULL;
    struct jos_val *args = NULL;
    struct rem_export *e;

    if (jos_get_int(rpc, "oid", &oid) != 0 ||
        jos_get_string(rpc, "methodName", &method, &len) != 0 || method == NULL) {
        rem_call_fail(call, "java.io.IOException", "native-agent: malformed RPCRequest");
        return;
    }
    if (jos_get_string(rpc, "declaringClassName", &decl, &len) != 0 || decl == NULL) {
        decl = "?";
    }
    rem__ignore(jos_get_obj(rpc, "types", &types));    /* NULL if missing */
    rem__ignore(jos_get_obj(rpc, "arguments", &args)); /* NULL if missing */
    AG_TRACE(AG_TRACE_RPC, "%s: RPC %" PRId32 " %s.%s on oid %" PRId32, ch->name, call->id, decl,
             method, oid);
    if (oid == 1) {
        /* hudson.remoting.IChannel: we have no channel properties. */
        if (strcmp(method, "getProperty") == 0) {
            rem_call_return_null(call);
        } else {
            rem_call_fail(call, "java.lang.UnsupportedOperationException",
                          "native-agent has no channel property to wait for (%s)", method);
        }
        return;
    }
    e = rem__export_find(ch, oid);
    if (e == NULL || e->kind != REM_EXP_OBJECT) {
        rem_call_fail(call, "java.util.concurrent.ExecutionException",
                      "Invalid object ID %" PRId32 " iota=%" PRId32, oid, ch->next_oid);
        return;
    }
    e->ops->invoke(e->obj, call, method, types, args);
}

/* ----- our requests ----- */

int
rem__request_send(struct rem_channel *ch, struct jos_msg *m, struct jos_val *cmd, int32_t id,
                  bool user, rem_response_cb cb, void *arg)
{
    struct rem_pending *p;
    int rc;

    if (ch->state != REM_CH_OPEN) {
        return AG_ECLOSED;
    }
    if (ch->npending >= REM_MAX_PENDING) {
        return AG_ELIMIT;
    }
    p = ag_calloc(1, sizeof(*p));
    if (p == NULL) {
        return AG_ENOMEM;
    }
    p->id = id;
    p->user = user;
    p->cb = cb;
    p->arg = arg;
    rc = rem__send(ch, m, cmd);
    if (rc != 0) {
        ag_free(p);
        return rc;
    }
    rem_list_push(&ch->pending, &p->node);
    ch->npending++;
    return 0;
}

int
rem_channel_call(struct rem_channel *ch, struct jos_val *callable, rem_response_cb cb, void *arg)
{
    struct jos_msg *m = NULL;
    const char *cls;
    int32_t id;
    int rc;

    if (ch->state != REM_CH_OPEN) {
        return AG_ECLOSED;
    }
    if (ch->core_loader_oid == 0) {
        return AG_ENOTSUP;
    }
    rc = jos_msg_new(NULL, 0, &m);
    if (rc != 0) {
        return rc;
    }
    /* toString is diagnostics only; the simple name matches what PingThread$Ping says. */
    cls = jos_val_class(callable);
    if (cls != NULL) {
        const char *dot = strrchr(cls, '.');
        const char *dollar = strrchr(cls, '$');

        cls = dollar != NULL ? dollar + 1 : dot != NULL ? dot + 1 : cls;
    }
    id = rem__next_request_id(ch);
    rc = rem__request_send(
        ch, m,
        rem__cmd_user_request(m, id, ch->core_loader_oid, callable, cls != NULL ? cls : "null"), id,
        true, cb, arg);
    jos_msg_free(m);
    return rc;
}

int
rem_channel_call_proxy(struct rem_channel *ch, const struct jos_val *proxy, const char *iface,
                       const char *method, const char *const *types, struct jos_val *const *args,
                       uint32_t n, rem_response_cb cb, void *arg)
{
    struct jos_msg *m = NULL;
    struct jos_val *h = NULL;
    struct jos_val *rpc;
    struct jos_val *ta;
    struct jos_val *aa;
    int32_t oid = 0;
    bool user_proxy = false;
    bool user_space = false;
    int32_t id;
    int rc;

    if (ch->state != REM_CH_OPEN) {
        return AG_ECLOSED;
    }
    if (jos_get_obj(proxy, "h", &h) != 0 || h == NULL || jos_get_int(h, "oid", &oid) != 0 ||
        jos_get_bool(h, "userProxy", &user_proxy) != 0 ||
        jos_get_bool(h, "userSpace", &user_space) != 0) {
        return AG_EPROTO;
    }
    if (user_proxy && ch->core_loader_oid == 0) {
        return AG_ENOTSUP;
    }
    rc = jos_msg_new(NULL, 0, &m);
    if (rc != 0) {
        return rc;
    }
    id = rem__next_request_id(ch);
    rpc = jos_new_object(m, user_space ? "hudson.remoting.RemoteInvocationHandler$UserRPCRequest"
                                       : "hudson.remoting.RemoteInvocationHandler$RPCRequest");
    ta = jos_new_obj_array(m, "[Ljava.lang.String;", n);
    aa = jos_new_obj_array(m, "[Ljava.lang.Object;", n);
    for (uint32_t i = 0; i < n && ta != NULL && aa != NULL; i++) {
        rem__ignore(jos_array_set(m, ta, i, jos_new_cstring(m, types[i])));  /* sticky */
        rem__ignore(jos_array_set(m, aa, i, args != NULL ? args[i] : NULL)); /* sticky */
    }
    if (rpc != NULL) {
        rem__ignore(jos_set_int(m, rpc, "id", id));        /* sticky */
        rem__ignore(jos_set_int(m, rpc, "oid", oid));      /* sticky */
        rem__ignore(jos_set_obj(m, rpc, "arguments", aa)); /* sticky */
        rem__ignore(
            jos_set_obj(m, rpc, "declaringClassName", jos_new_cstring(m, iface)));  /* sticky */
        rem__ignore(jos_set_obj(m, rpc, "methodName", jos_new_cstring(m, method))); /* sticky */
        rem__ignore(jos_set_obj(m, rpc, "types", ta));                              /* sticky */
    }
    if (user_proxy) {
        char ts[256];

        rem__fmt(ts, sizeof(ts), "%s.%s", iface, method); /* diagnostics; cut is fine */
        rc = rem__request_send(ch, m, rem__cmd_user_request(m, id, ch->core_loader_oid, rpc, ts),
                               id, true, cb, arg);
    } else {
        rc = rem__request_send(ch, m, rpc, id, false, cb, arg);
    }
    jos_msg_free(m);
    return rc;
}

/* Turn a UserRequest result object into a value or an error text. */
static int
user_result(struct jos_msg *m, struct jos_val *rv, struct jos_val **value, char *etext,
            size_t esize)
{
    struct jos_val *bytes = NULL;
    struct jos_stream s = {0};
    struct ag_err err = {0};
    bool is_exc = false;
    int rc;

    if (rv == NULL) {
        *value = NULL;
        return 0;
    }
    if (jos_val_is(rv, "hudson.remoting.UserRequest$NormalResponse")) {
        rc = jos_get_obj(rv, "response", &bytes);
    } else if (jos_val_is(rv, "hudson.remoting.UserRequest$ExceptionResponse")) {
        is_exc = true;
        rc = jos_get_obj(rv, "rawResponse", &bytes);
        if (rc == 0 && bytes == NULL) {
            rc = jos_get_obj(rv, "proxyResponse", &bytes);
        }
    } else if (jos_val_is(rv, "hudson.remoting.UserResponse")) {
        rc = jos_get_bool(rv, "isException", &is_exc);
        if (rc == 0) {
            rc = jos_get_obj(rv, "response", &bytes);
        }
    } else {
        rem__fmt(etext, esize, "unexpected result object %s", jos_val_class(rv));
        return AG_EPROTO;
    }
    if (rc != 0 || bytes == NULL) {
        rem__fmt(etext, esize, "result object without a payload");
        return AG_EPROTO;
    }
    rc = jos_msg_decode_nested(m, bytes, &s, &err);
    if (rc != 0 || s.n < 1) {
        rem__fmt(etext, esize, "undecodable result payload: %s", err.msg);
        return rc != 0 ? rc : AG_EPROTO;
    }
    if (is_exc) {
        rem__throwable_text(s.items[0], etext, esize);
        return AG_EREFUSED;
    }
    *value = s.items[0];
    return 0;
}

void
rem__on_response(struct rem_channel *ch, struct jos_msg *m, struct jos_val *cmd)
{
    int32_t id = 0;
    int32_t last_io = 0;
    struct jos_val *exc = NULL;
    struct jos_val *rv = NULL;
    struct jos_val *value = NULL;
    struct rem_pending *p = NULL;
    char etext[300] = "";
    int rc;

    if (jos_get_int(cmd, "id", &id) != 0) {
        rem__warn_once(ch, "Response", "Response without an id; dropped");
        jos_msg_free(m);
        return;
    }
    for (struct rem_list *n = ch->pending.next; n != &ch->pending; n = n->next) {
        struct rem_pending *q = AG_CONTAINER_OF(n, struct rem_pending, node);

        if (q->id == id && !q->waiting_io) {
            p = q;
            break;
        }
    }
    if (p == NULL) {
        AG_LOG_DEBUG(REM_LOG, "%s: Response to unknown request %" PRId32 " ignored", ch->name, id);
        jos_msg_free(m);
        return;
    }
    rem__ignore(jos_get_int(cmd, "lastIoId", &last_io)); /* 0 if missing */
    rem__ignore(jos_get_obj(cmd, "exception", &exc));    /* NULL if missing */
    rem__ignore(jos_get_obj(cmd, "returnValue", &rv));   /* NULL if missing */
    if (exc != NULL) {
        rem__throwable_text(exc, etext, sizeof(etext));
        rc = AG_EREFUSED;
    } else if (p->user) {
        rc = user_result(m, rv, &value, etext, sizeof(etext));
    } else {
        value = rv;
        rc = 0;
    }
    if (rc == 0 && last_io != 0 && !rem__io_drained(ch, ch->io_seq_in)) {
        /* Requester rule of channel.md 4.2: the I/O before this Response completes first. */
        p->waiting_io = true;
        p->wait_seq = ch->io_seq_in;
        p->resp = m;
        p->resp_val = value;
        return;
    }
    rem_list_del(&p->node);
    ch->npending--;
    p->cb(ch, rc, m, value, rc != 0 ? etext : NULL, p->arg);
    ag_free(p);
    jos_msg_free(m);
}
