/*
 * proctree.h: hudson.util.ProcessTree on Linux: find every process whose environment holds all
 * of a model's KEY=VALUE pairs and kill it, children before parents.
 *
 * This is what RemoteLauncher$KillTask (spec callables.md A.3 step 10, B.4) and Proc.kill need:
 * the cookies HUDSON_COOKIE / JENKINS_SERVER_COOKIE / BUILD_ID ... that a build's processes
 * inherit identify them even after they were re-parented. Mirrors ProcessTree.Unix.killAll and
 * UnixProcess.killRecursively (core hudson/util/ProcessTree.java at ff9430ee1d):
 *   - every /proc/<pid> is considered (no pid filter on Linux, errata 1), except our own process;
 *   - /proc/<pid>/environ is split at NUL bytes; each "K=V" with K non-empty is put into a
 *     case-insensitive map (EnvVars.addLine), so keys match in any case and the last of two
 *     spellings wins; values must be equal byte for byte; an empty model matches nothing;
 *   - a process whose environ cannot be read (another user's, or gone) does not match;
 *   - each match is killed with all its descendants (by PPid in the same snapshot), deepest first.
 * Java sends SIGTERM to one process, waits until it is gone (10 ms doubling to 1 s, shared
 * deadline softKillWaitSeconds = 5 s), then the next, and never sends SIGKILL. We send SIGTERM to
 * all targets in the same children-first order, wait for all with the same polling and deadline,
 * then send SIGKILL to what is left (opts.sigkill), so a build that ignores SIGTERM cannot
 * outlive its abort.
 *
 * Thread: exec_proctree_kill_all() is called on the loop thread and returns at once. Every read
 * of /proc and every kill() runs in libuv's thread pool (uv_queue_work, one job at a time per
 * call); results come back in the after-work callback on the loop, and the done callback runs on
 * the loop. A process is identified by pid and start time, re-checked before every signal, so a
 * pid reused during the grace period is never signalled.
 *
 * Bounds: at most EXEC_PROCTREE_MAX_PROCS processes per scan and EXEC_PROCTREE_MAX_ENVIRON bytes
 * of one environ (longer ones are matched on their first bytes). Processes that vanish mid-scan
 * and unreadable files are counted in the result and logged at FINE, never fatal.
 */
#ifndef AG_EXEC_PROCTREE_H
#define AG_EXEC_PROCTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "compiler.h"

struct exec_env;

#define EXEC_PROCTREE_MAX_PROCS 65536
#define EXEC_PROCTREE_MAX_ENVIRON (1u * 1024 * 1024)
#define EXEC_PROCTREE_MAX_PAIRS 256

struct exec_proctree_opts {
    uint64_t grace_ms; /* default 5000 (ProcessTree.softKillWaitSeconds) */
    bool sigkill;      /* default true: SIGKILL the survivors after grace_ms */
};

struct exec_proctree_result {
    int rc;            /* 0, or why the scan could not run (e.g. UV_ENOENT without /proc) */
    size_t scanned;    /* processes listed in /proc */
    size_t unreadable; /* whose stat or environ could not be read (vanished, EACCES) */
    size_t matched;    /* whose environment held every pair */
    size_t termed;     /* SIGTERM sent: the matches and their descendants */
    size_t killed;     /* SIGKILL sent after the grace */
    size_t survivors;  /* still alive at the end (only when sigkill is false, or SIGKILL failed) */
};

typedef void (*exec_proctree_done_cb)(const struct exec_proctree_result *r, void *arg);

void exec_proctree_opts_init(struct exec_proctree_opts *o);

/* Start the job; cb runs once on the loop when every target is gone or was killed. model is
 * copied. AG_ELIMIT over EXEC_PROCTREE_MAX_PAIRS pairs, AG_ENOMEM, or the UV_E* of
 * uv_queue_work; cb does not run when an error is returned. An empty model calls cb with
 * nothing matched, like Java's "sanity check so that we don't start rampage". */
AG_MUST_CHECK int exec_proctree_kill_all(uv_loop_t *loop, const struct exec_env *model,
                                         const struct exec_proctree_opts *opts,
                                         exec_proctree_done_cb cb, void *arg);

/* Does this /proc/<pid>/environ content hold every pair of model? Pure; for tests and callers
 * with their own scan. */
bool exec_proctree_environ_matches(const uint8_t *environ, size_t len,
                                   const struct exec_env *model);

/* Blocking: list the pids kill_all would signal now (the matches and their descendants, in kill
 * order, our own pid excluded), without signalling. Never call on the loop; for worker threads
 * and tests. *pids is ag_malloc'd (free it with ag_free); res may be NULL. */
AG_MUST_CHECK int exec_proctree_find(const struct exec_env *model, pid_t **pids, size_t *n,
                                     struct exec_proctree_result *res);

#endif
