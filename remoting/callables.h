/*
 * callables.h: the one registry of callables the native agent implements (keyed by the Java
 * class name found in a UserRequest payload), and the call context handlers work with.
 *
 * A handler is asynchronous: it gets a struct rem_call, may start work (timers, processes via
 * the owner's ops, pipe I/O) and must complete the call exactly once, now or later, with
 * rem_call_return(), rem_call_return_null() or rem_call_fail(). The channel sends the one
 * hudson.remoting.Response after every pipe write the handler made on the call's behalf has been
 * sent (channel.md 4.2), with lastIoId = the last of them.
 *
 * Lifetime: the channel owns the call until it is completed; completing frees it (or, while
 * pipe writes are queued, when they have been sent). If the channel terminates or the controller
 * sends Request$Cancel, the cancel callback fires; the handler must still complete the call
 * (the reply is then dropped or ignored by the controller). One loop thread.
 */
#ifndef AG_REMOTING_CALLABLES_H
#define AG_REMOTING_CALLABLES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"
#include "jos.h"

struct rem_call;
struct rem_channel;

typedef void (*rem_callable_fn)(struct rem_call *call);
/* The controller cancelled the request (Request$Cancel) or the channel terminated; code is
 * AG_ECLOSED in both cases. The handler stops its work and still completes the call. */
typedef void (*rem_call_cancel_cb)(struct rem_call *call, int code, void *arg);

struct rem_callable_handler {
    const char *class_name; /* Java binary name, e.g. "hudson.remoting.PingThread$Ping" */
    const char *summary;    /* one line for docs/callables.md */
    rem_callable_fn fn;
};

/* The registry, sorted by class name (binary search). */
const struct rem_callable_handler *rem_callables_table(size_t *n);
const struct rem_callable_handler *rem_callables_find(const char *class_name);
/* Write docs/callables.md's generated table (Markdown) into out. */
AG_MUST_CHECK int rem_callables_markdown(struct ag_buf *out);
/* Add an upper layer's handlers (tab: n entries, borrowed for the life of the process) to the
 * registry, which then finds and lists them with the built-in ones (one sorted table). Call at
 * startup, before any channel exists; not thread-safe. Registering a table again is a no-op.
 * Returns 0, AG_ENOMEM, or AG_EUSAGE when a class name is already registered by another entry. */
AG_MUST_CHECK int rem_callables_register(const struct rem_callable_handler *tab, size_t n);

/* --- the call context --- */

/* The callable object (the payload's top-level value; for RPC calls the RPCRequest). Borrowed:
 * valid until the call completes. */
const struct jos_val *rem_call_callable(const struct rem_call *call);
const char *rem_call_class(const struct rem_call *call);
/* A message the handler builds its result in (owned by the call). */
struct jos_msg *rem_call_msg(struct rem_call *call);
/* The channel, or NULL once it has terminated. */
struct rem_channel *rem_call_channel(const struct rem_call *call);
/* opts->user of the channel (NULL once it has terminated). */
void *rem_call_user(const struct rem_call *call);
int32_t rem_call_id(const struct rem_call *call);
/* The controller class loader that came with the request (0 if none). */
int32_t rem_call_loader_oid(const struct rem_call *call);
bool rem_call_cancelled(const struct rem_call *call);
void rem_call_on_cancel(struct rem_call *call, rem_call_cancel_cb cb, void *arg);
/* Handler state slot. */
void rem_call_set_data(struct rem_call *call, void *data);
void *rem_call_get_data(const struct rem_call *call);

/* Complete with value v (a value of rem_call_msg(call), or NULL for null). */
void rem_call_return(struct rem_call *call, struct jos_val *v);
void rem_call_return_null(struct rem_call *call);
void rem_call_return_string(struct rem_call *call, const char *s);
/* Complete with an exception of class exc_class (a Throwable in the class table, e.g.
 * "java.io.IOException") and message msg. */
void rem_call_fail(struct rem_call *call, const char *exc_class, const char *fmt, ...)
    AG_PRINTF(3, 4);

/* Build a Throwable value exc_class(msg) in m the way channel.md 11.5 writes it: cause null,
 * empty stack trace, Collections$EmptyList suppressed exceptions. NULL on builder error. */
struct jos_val *rem_new_exception(struct jos_msg *m, const char *exc_class, const char *msg);

#endif
