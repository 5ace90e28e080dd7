/*
 * launch.h: build steps (issue 8, shared/spec/callables.md A.3, B.4, B.9): the callables that run
 * an "Execute shell" step and the remote object the controller drives it with.
 *
 *   hudson.Launcher$RemoteLaunchCallable          start a process; reply a proxy for
 *                                                 hudson.Launcher$RemoteProcess (our export)
 *   hudson.Launcher$RemoteLauncher$KillTask       kill every process carrying the build's cookies
 *   hudson.tasks.Shell$DescriptorImpl$Shellinterpreter   "/bin/sh"
 *   FilePath tasks Mkdirs, CreateTextTempFile, Delete (callables_files.c; listed in filepath.c)
 *
 * The RemoteProcess export answers getIOtriplet, join, kill and isAlive RPCs. join replies the
 * exit code only after every byte of output has been queued before the reply (a $Flush on the
 * output stream on the join's behalf gives the Response a lastIoId after the last chunk,
 * channel.md 4.2). Request$Cancel of a join kills the process tree (exec_proc_kill plus the
 * HUDSON_COOKIE scan) and answers java.lang.InterruptedException once the process is gone.
 * docs/steps.md has the details and the differences from agent.jar.
 *
 * One loop thread: the channel's loop (rem_channel_loop). A launched process is owned by its
 * export and outlives it if the controller drops the proxy early (as in Java); it is freed once
 * it has exited, its export is released and every kill job has finished.
 */
#ifndef AG_AGENT_LAUNCH_H
#define AG_AGENT_LAUNCH_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "callables.h"
#include "compiler.h"
#include "jos.h"

#define AGENT_LAUNCH_LOG "launch"
#define AGENT_LAUNCH_MAX_ARGS 65536u     /* elements of RemoteLaunchCallable.cmd */
#define AGENT_LAUNCH_MAX_ENV 16384u      /* elements of RemoteLaunchCallable.env */
#define AGENT_LAUNCH_MAX_WAITERS 64u     /* join/kill calls waiting on one process */
#define AGENT_LAUNCH_MAX_KILL_PAIRS 256u /* entries of KillTask.modelEnvVars */

/* Add the launch handlers to the registry (rem_callables_register). Call at startup, next to
 * agent_callables_register(). Returns 0, AG_ENOMEM, AG_EUSAGE. */
AG_MUST_CHECK int agent_launch_register(void);
/* The table (sorted by class name), for docs. */
const struct rem_callable_handler *agent_launch_table(size_t *n);

/* The command line Launcher.maskedPrintCommandLine prints: "[<last element of workDir>] $ a b",
 * an argument with a space in "..." (or '...' if it holds a '"'), masked ones as ********.
 * work_dir may be NULL (no prefix), masks may be NULL. Appends to out (no newline). */
AG_MUST_CHECK int agent_launch_format_cmdline(struct ag_buf *out, const char *const *args, size_t n,
                                              const bool *masks, size_t nmasks,
                                              const char *work_dir);

/* FilePath file tasks (callables_files.c), dispatched by filepath.c's table. */
void agent__task_mkdirs(struct rem_call *call, const struct jos_val *task, const char *path);
void agent__task_create_text_temp_file(struct rem_call *call, const struct jos_val *task,
                                       const char *path);
void agent__task_delete(struct rem_call *call, const struct jos_val *task, const char *path);
/* The directory CreateTextTempFile uses when inThisDirectory is false (java.io.tmpdir, errata
 * 3: /tmp on Linux whatever $TMPDIR says). Tests may point it elsewhere; borrowed. */
void agent_files_set_tmpdir(const char *dir);

#endif
