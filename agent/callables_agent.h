/*
 * callables_agent.h: the callables the agent layer implements (shared/spec/callables.md flows
 * A.1 and A.2 and the node pages of B.8): going online, the node monitors, the System
 * Information, Log and Script Console pages. docs/node.md says what each one answers and why.
 *
 * The handlers join the one registry of remoting/callables.h through agent_callables_register(),
 * called once at startup before any channel exists. hudson.slaves.SlaveComputer$SlaveVersion and
 * hudson.slaves.ChannelPinger$SetUpRemotePing stay in remoting's own table (they need only the
 * version and the channel's pinger).
 *
 * The node state. A Java agent keeps what these callables set up in JVM-wide statics
 * (RingBufferLogHandler, SystemProperties, Engine's noReconnect): it outlives each channel and is
 * the same for every reconnect. The native agent does the same with one process-wide struct in
 * callables_node.c (the log ring buffer is fed from the logger's sink hook, which is process-wide
 * as well). Only the loop thread changes it; the ring buffer, which log sinks may fill from other
 * threads, has its own mutex.
 */
#ifndef AG_AGENT_CALLABLES_AGENT_H
#define AG_AGENT_CALLABLES_AGENT_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "callables.h"
#include "compiler.h"

/* Add the agent's handlers to the registry (rem_callables_register). Idempotent. Returns 0,
 * AG_ENOMEM, AG_EUSAGE (a class registered twice: a programming error). */
AG_MUST_CHECK int agent_callables_register(void);

/* The agent's table (sorted by class name) and the inner tasks of the FilePath envelopes
 * (filepath.h), for docs/callables.md. */
const struct rem_callable_handler *agent_callables_table(size_t *n);
/* docs/callables.md's "Agent callables" tables in Markdown. */
AG_MUST_CHECK int agent_callables_markdown(struct ag_buf *out);

/* --- the node state --- */

/* False once the controller sent KubernetesSlave$SlaveDisconnector: the supervisor should not
 * reconnect after the current channel closes (agent/conn.c asks this after a session ended). */
bool agent_node_reconnect_allowed(void);
/* hudson.util.StreamTaskListener.AUTO_FLUSH from the last CopySystemProperties snapshot: remote
 * listener streams flush on every write. */
bool agent_node_auto_flush(void);
/* The value of a controller system property from the last CopySystemProperties snapshot
 * (borrowed until the next snapshot), or NULL. */
const char *agent_node_controller_property(const char *name);
/* The ring buffer's capacity in records (0: SlaveInitializer has not started it). */
size_t agent_node_log_capacity(void);
/* Forget everything: stop the log ring buffer and free it, drop the snapshot, allow reconnects
 * again. For shutdown and tests. */
void agent_node_reset(void);

#endif
