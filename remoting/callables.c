/*
 * callables.c: THE registry of callables the native agent implements (single source of truth:
 * docs/callables.md's table is generated from it and checked by unit.remoting.callables), and
 * the handlers of remoting's own callables. Other issues add their callables to this table.
 *
 * Keep the table sorted by class name (checked by the unit test).
 */
#include "callables.h"

#include <string.h>

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
    {"hudson.slaves.SlaveComputer$SlaveVersion", "the remoting version we implement (" AG_REMOTING_VERSION ")",
     cb_slave_version},
};

const struct rem_callable_handler *
rem_callables_table(size_t *n)
{
    *n = sizeof(callables) / sizeof(callables[0]);
    return callables;
}

const struct rem_callable_handler *
rem_callables_find(const char *class_name)
{
    size_t lo = 0;
    size_t hi = sizeof(callables) / sizeof(callables[0]);

    if (class_name == NULL) {
        return NULL;
    }
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(class_name, callables[mid].class_name);

        if (c == 0) {
            return &callables[mid];
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
    int rc = ag_buf_printf(out, "| callable (Java class) | what the native agent does |\n"
                                "|---|---|\n");

    for (size_t i = 0; rc == 0 && i < sizeof(callables) / sizeof(callables[0]); i++) {
        rc = ag_buf_printf(out, "| `%s` | %s |\n", callables[i].class_name, callables[i].summary);
    }
    return rc;
}
