/*
 * filepath.h: hudson.FilePath on the wire and the two envelopes file callables arrive in
 * (shared/spec/callables.md 0.2, 0.3 and B.2):
 *
 *   hudson.FilePath$FileCallableWrapper{callable, filePath}   FilePath.act(FileCallable)
 *   hudson.FilePath$CallableWith{task, this$0}                 FilePath.asCallableWith(task)
 *
 * Both carry a FileCallable (the task) and a FilePath whose `remote` is the path on this agent.
 * The envelope handlers unwrap them and dispatch the task by its class name to the table
 * agent_filepath_tasks (filepath.c; add file callables there, sorted by class name). A task that
 * is not in the table is answered with an IOException naming the task's class.
 *
 * A FilePath object is `remote` plus custom writeObject data: one boolean, true when the path
 * belongs to the writer itself ("no channel"). The controller writes false for agent paths; the
 * agent writes true for its own (agent_new_filepath).
 *
 * One loop thread; values are borrowed from the call's message.
 */
#ifndef AG_AGENT_FILEPATH_H
#define AG_AGENT_FILEPATH_H

#include <stdbool.h>
#include <stddef.h>

#include "callables.h"
#include "compiler.h"
#include "err.h"
#include "jos.h"

/* A file task. path: FilePath.remote of the envelope (NUL-terminated, borrowed for the call);
 * task: the FileCallable object. Completes call like any handler. */
typedef void (*agent_filepath_task_fn)(struct rem_call *call, const struct jos_val *task,
                                       const char *path);

struct agent_filepath_task {
    const char *class_name; /* the FileCallable's Java binary name */
    const char *summary;    /* one line for docs/callables.md */
    agent_filepath_task_fn fn;
};

/* The task table, sorted by class name. */
const struct agent_filepath_task *agent_filepath_tasks(size_t *n);
const struct agent_filepath_task *agent_filepath_task_find(const char *class_name);

/* Read a hudson.FilePath value: *remote (borrowed; never NULL on success) and *writer_local (the
 * boolean of its custom data; false when absent). AG_EPROTO with err filled when v is not a
 * FilePath or has no remote. */
AG_MUST_CHECK int agent_filepath_read(const struct jos_val *v, const char **remote,
                                      bool *writer_local, struct ag_err *err);

/* A new hudson.FilePath in m for a path of ours (custom data: true). NULL on builder error. */
struct jos_val *agent_new_filepath(struct jos_msg *m, const char *remote);

/* The registry handlers of the two envelopes. */
void agent_filepath_callable_with(struct rem_call *call);
void agent_filepath_wrapper(struct rem_call *call);

#endif
