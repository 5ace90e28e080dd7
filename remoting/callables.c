/*
 * callables.c: THE registry of callables the native agent implements (single source of truth:
 * docs/callables.md's table is generated from it and checked by unit.remoting.callables), and
 * the handlers of remoting's own callables. Other issues add their callables to this table.
 *
 * Keep the table sorted by class name (checked by the unit test).
 */
#include "callables.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"

#include "log.h"
#include "rem_int.h"
#include "version.h"

static void
cb_null(struct rem_call *call)
{
    rem_call_return_null(call);
}

static void
cb_false(struct rem_call *call)
{
    struct jos_msg *m = rem_call_msg(call);
    struct jos_val *b = jos_new_object(m, "java.lang.Boolean");

    if (b != NULL) {
        rem__ignore(jos_set_bool(m, b, "value", false)); /* sticky in m */
    }
    rem_call_return(call, b);
}

static void
cb_slave_version(struct rem_call *call)
{
    rem_call_return_string(call, AG_REMOTING_VERSION);
}

static void
cb_set_up_remote_ping(struct rem_call *call)
{
    const struct jos_val *v = rem_call_callable(call);
    struct rem_channel *ch = rem_call_channel(call);
    int32_t interval = 0;
    int32_t timeout = 0;

    if (jos_get_int(v, "pingIntervalSeconds", &interval) == 0 &&
        jos_get_int(v, "pingTimeoutSeconds", &timeout) == 0 && interval >= 1 && timeout >= 1 &&
        ch != NULL) {
        /* Seconds from the controller: cap them so the ms value fits. */
        uint32_t i = interval > 86400 ? 86400u : (uint32_t)interval;
        uint32_t t = timeout > 86400 ? 86400u : (uint32_t)timeout;

        rem__ping_configure(ch, i * 1000u, t * 1000u);
    }
    rem_call_return_null(call);
}

void
rem__callable_rpc(struct rem_call *call)
{
    rem__rpc_dispatch(call, rem_call_callable(call));
}

static const struct rem_callable_handler callables[] = {
    {"hudson.remoting.Channel$IOSyncer",
     "null, once every pipe write received before it has been applied", cb_null},
    {"hudson.remoting.Channel$SetMaximumBytecodeLevel", "null (the agent loads no classes)",
     cb_null},
    {"hudson.remoting.PingThread$Ping", "null at once (the controller's ChannelPinger)", cb_null},
    {"hudson.remoting.PreloadJarTask", "Boolean.FALSE (no class loading, nothing preloaded)",
     cb_false},
    {"hudson.remoting.PreloadJarTask2", "Boolean.FALSE (no class loading, nothing preloaded)",
     cb_false},
    {"hudson.remoting.RemoteInvocationHandler$RPCRequest",
     "method call on one of our exports (docs/channel.md, Exports)", rem__callable_rpc},
    {"hudson.remoting.RemoteInvocationHandler$UserRPCRequest",
     "method call on one of our exports (docs/channel.md, Exports)", rem__callable_rpc},
    {"hudson.slaves.ChannelPinger$SetUpRemotePing",
     "null; the agent then pings the controller with these interval and timeout",
     cb_set_up_remote_ping},
    {"hudson.slaves.SlaveComputer$SlaveVersion",
     "the remoting version we implement (" AG_REMOTING_VERSION ")", cb_slave_version},
};

/* The built-in table merged with the tables of rem_callables_register(), sorted by class name;
 * NULL until something is registered. Written only at startup, before any channel exists (the
 * registry's one piece of mutable state). Owned; it stays reachable until the process exits. */
static struct rem_callable_handler *merged;
static size_t nmerged;

const struct rem_callable_handler *
rem_callables_table(size_t *n)
{
    if (merged != NULL) {
        *n = nmerged;
        return merged;
    }
    *n = sizeof(callables) / sizeof(callables[0]);
    return callables;
}

static int
cmp_handler(const void *a, const void *b)
{
    return strcmp(((const struct rem_callable_handler *)a)->class_name,
                  ((const struct rem_callable_handler *)b)->class_name);
}

int
rem_callables_register(const struct rem_callable_handler *tab, size_t n)
{
    size_t have = 0;
    const struct rem_callable_handler *cur = rem_callables_table(&have);
    struct rem_callable_handler *next;
    size_t k = have;

    next = ag_calloc(have + n > 0 ? have + n : 1, sizeof(*next));
    if (next == NULL) {
        return AG_ENOMEM;
    }
    memcpy(next, cur, have * sizeof(*next));
    for (size_t i = 0; i < n; i++) {
        const struct rem_callable_handler *old = rem_callables_find(tab[i].class_name);

        if (old != NULL && old->fn == tab[i].fn) {
            continue; /* registered before */
        }
        if (old != NULL) {
            ag_free(next);
            return AG_EUSAGE;
        }
        next[k++] = tab[i];
    }
    qsort(next, k, sizeof(*next), cmp_handler);
    for (size_t i = 1; i < k; i++) {
        if (strcmp(next[i - 1].class_name, next[i].class_name) == 0) {
            ag_free(next); /* a duplicate inside tab */
            return AG_EUSAGE;
        }
    }
    ag_free(merged);
    merged = next;
    nmerged = k;
    return 0;
}

const struct rem_callable_handler *
rem_callables_find(const char *class_name)
{
    size_t lo = 0;
    size_t hi = 0;
    const struct rem_callable_handler *t = rem_callables_table(&hi);

    if (class_name == NULL) {
        return NULL;
    }
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(class_name, t[mid].class_name);

        if (c == 0) {
            return &t[mid];
        }
        if (c < 0) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return NULL;
}

int
rem_callables_markdown(struct ag_buf *out)
{
    size_t n = 0;
    const struct rem_callable_handler *t = rem_callables_table(&n);
    int rc = ag_buf_printf(out, "| callable (Java class) | what the native agent does |\n"
                                "|---|---|\n");

    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = ag_buf_printf(out, "| `%s` | %s |\n", t[i].class_name, t[i].summary);
    }
    return rc;
}
