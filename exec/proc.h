/*
 * proc.h: one child process on the libuv loop, the native Proc.LocalProc (core hudson/Proc.java).
 *
 * exec_proc_spawn() starts argv with a given full environment and working directory, in its own
 * session and process group (setsid, so the whole group can be signalled), with:
 *   stdin   /dev/null, or a pipe the caller writes with exec_proc_write()/exec_proc_stdin_close();
 *   stdout  a pipe read into on_data(EXEC_STDOUT, ...);
 *   stderr  its own pipe (on_data(EXEC_STDERR, ...)), or merged into the stdout pipe: Java's
 *           redirectErrorStream(true), what RemoteLaunchCallable does unless `err` is set.
 * Bytes are delivered as read, untouched (binary, invalid UTF-8), at most read_chunk per call.
 *
 * Backpressure: exec_proc_read_stop() stops reading a pipe. The kernel pipe buffer fills and the
 * child blocks in write(), so a slow consumer slows a fast child and our memory stays at one read
 * buffer per pipe. exec_proc_read_start() resumes. exec_proc_write() copies the bytes into a queue
 * capped at stdin_max_queued (AG_ELIMIT beyond) and reports each completion, so a producer can
 * stop asking for stdin data while exec_proc_stdin_queued() is high.
 *
 * Exit: on_exit fires exactly once, after the child was reaped AND both output pipes reached EOF,
 * so every byte the child wrote before exiting has gone through on_data first. Java's join()
 * waits for the copier threads the same way, but gives up after 10 s per copier when a grandchild
 * still holds the pipe ("Process leaked file descriptors", Proc.java LocalProc.join). We do the
 * same with join_grace_ms (default 10000): after the reap, a pipe still open gets that much
 * reading time; then it is closed, on_eof reports AG_ETIMEDOUT and exit.output_abandoned is set.
 * Time spent paused by exec_proc_read_stop() does not count, so a slow consumer never loses
 * output that is merely waiting in the pipe. A child that closes stdout early and runs on is
 * reported when it exits.
 *
 * Kill: exec_proc_kill() sends SIGTERM to the process group, polls it (10 ms doubling to 1 s, as
 * ProcessTree.UnixProcess.kill polls) and sends SIGKILL to the group if any member is left after
 * kill_grace_ms (default 5000: ProcessTree.softKillWaitSeconds, -DSoftKillWaitSeconds=5; Java
 * itself never sends SIGKILL, see docs/internals/exec.md).
 *
 * Thread: everything runs on the loop thread that spawned; no function may be called from
 * another thread. Callbacks run on that loop; any function here may be called from inside them,
 * including exec_proc_close(). The process must ignore SIGPIPE (the agent's main does), or a
 * write to a child that closed stdin kills the agent; children get default dispositions back.
 *
 * Ownership: exec_proc_spawn() hands out a struct exec_proc that the caller must close with
 * exec_proc_close(); it is freed after close_cb returns. Strings in the options are borrowed for
 * the duration of the call only.
 */
#ifndef AG_EXEC_PROC_H
#define AG_EXEC_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "buf.h"
#include "compiler.h"

struct ag_err;
struct exec_proc;

enum exec_stream {
    EXEC_STDOUT = 1,
    EXEC_STDERR = 2,
};

#define EXEC_PROC_DEFAULT_JOIN_GRACE_MS 10000 /* Proc.LocalProc.join: copier.join(10 s) */
#define EXEC_PROC_DEFAULT_KILL_GRACE_MS 5000  /* ProcessTree.softKillWaitSeconds */
#define EXEC_PROC_DEFAULT_READ_CHUNK 65536    /* one Linux pipe buffer */
#define EXEC_PROC_DEFAULT_STDIN_MAX (1u * 1024 * 1024)
#define EXEC_PROC_MAX_READ_CHUNK (16u * 1024 * 1024)

/* The line Proc.LocalProc.join writes to the build output (then '\n') when a copier is still
 * running 10 s after the exit; write it when exec_exit.output_abandoned is set. */
#define EXEC_PROC_LEAKED_FDS_MSG                                                                   \
    "Process leaked file descriptors. See "                                                        \
    "https://www.jenkins.io/redirect/troubleshooting/process-leaked-file-descriptors for more "    \
    "information"

struct exec_exit {
    int code;              /* Java Process.exitValue() on Linux: status, or 128 + signal */
    int64_t exit_status;   /* as waitpid gave it; 0 when killed by a signal */
    int term_signal;       /* the signal that ended the child, 0 if it exited */
    bool output_abandoned; /* a pipe was still open join_grace_ms after the reap */
    bool kill_requested;   /* exec_proc_kill() had been called */
};

/* Chunk of output; data is borrowed for the call (copy it, or pause and keep nothing). */
typedef void (*exec_proc_data_cb)(struct exec_proc *p, enum exec_stream s, struct ag_iov data,
                                  void *arg);
/* A pipe is done: status 0 at EOF, AG_ETIMEDOUT when abandoned after the join grace, a UV_E*
 * read error otherwise. Fires once per pipe (once for stdout only, when merged), before on_exit. */
typedef void (*exec_proc_eof_cb)(struct exec_proc *p, enum exec_stream s, int status, void *arg);
typedef void (*exec_proc_exit_cb)(struct exec_proc *p, const struct exec_exit *ex, void *arg);
/* A write finished: 0, or a UV_E* code (UV_EPIPE when the child closed its stdin). Writes still
 * pending at exec_proc_close() are dropped without a callback. */
typedef void (*exec_proc_write_cb)(struct exec_proc *p, int status, void *arg);
typedef void (*exec_proc_close_cb)(struct exec_proc *p, void *arg);

struct exec_proc_opts {
    char *const *argv; /* NULL-terminated; argv[0] is looked up in the PATH of envp */
    char *const *envp; /* the full environment (exec_env_to_envp); NULL inherits ours */
    const char *cwd;   /* NULL: our working directory */
    bool stdin_pipe;   /* false: /dev/null */
    bool merge_stderr; /* redirectErrorStream(true): fd 2 is the stdout pipe */
    uint64_t join_grace_ms;
    uint64_t kill_grace_ms;
    size_t read_chunk;       /* bytes per on_data at most */
    size_t stdin_max_queued; /* cap of the stdin write queue */
    exec_proc_data_cb on_data;
    exec_proc_eof_cb on_eof; /* optional */
    exec_proc_exit_cb on_exit;
    void *arg;
};

/* Fill o with the defaults above (zero callbacks). */
void exec_proc_opts_init(struct exec_proc_opts *o);

/* Start the child. On success *out is running and reading. On failure nothing is handed out and
 * err says why, in the form of Java's IOException: `Cannot run program "sh" (in directory "/x"):
 * error=2, No such file or directory`; the code is the UV_E* from uv_spawn (UV_ENOENT, UV_EACCES,
 * UV_ENOTDIR for a missing cwd, ...), AG_EUSAGE for bad options or AG_ENOMEM. Resources of a
 * failed spawn are released on the loop's next turns. */
AG_MUST_CHECK int exec_proc_spawn(uv_loop_t *loop, const struct exec_proc_opts *opts,
                                  struct exec_proc **out, struct ag_err *err);

pid_t exec_proc_pid(const struct exec_proc *p);
/* Proc.isAlive(): true until the child has been reaped. */
bool exec_proc_is_alive(const struct exec_proc *p);

/* Stop or resume reading the pipes in mask (EXEC_STDOUT | EXEC_STDERR). Idempotent; pipes
 * already at EOF are ignored. */
void exec_proc_read_stop(struct exec_proc *p, unsigned mask);
void exec_proc_read_start(struct exec_proc *p, unsigned mask);

/* Queue a copy of data for the child's stdin; cb (optional) fires when it is written or failed.
 * AG_EUSAGE without a stdin pipe, AG_ECLOSED after exec_proc_stdin_close(), AG_ELIMIT over
 * stdin_max_queued, AG_ENOMEM. cb never fires when an error is returned. */
AG_MUST_CHECK int exec_proc_write(struct exec_proc *p, struct ag_iov data, exec_proc_write_cb cb,
                                  void *cb_arg);
/* Bytes queued for stdin and not yet written. */
size_t exec_proc_stdin_queued(const struct exec_proc *p);
/* EOF for the child's stdin once the queued writes are done. Idempotent. */
void exec_proc_stdin_close(struct exec_proc *p);

/* SIGTERM to the group now, SIGKILL to what is left of it after kill_grace_ms. Returns 0, or the
 * UV_E* of the first kill() (UV_ESRCH when the group is already gone is reported as 0). Calling
 * it again while a kill is in progress does nothing. */
AG_MUST_CHECK int exec_proc_kill(struct exec_proc *p);

/* Bytes delivered so far per stream, and the most bytes we held at once (read buffers). */
struct exec_proc_stats {
    uint64_t out_bytes;
    uint64_t err_bytes;
    size_t buffered_max;
};
void exec_proc_stats_get(const struct exec_proc *p, struct exec_proc_stats *st);

/* Release p. No callback other than close_cb fires after this call. If the child is still alive
 * it is killed with SIGKILL (its whole group) and reaped before close_cb, so no zombie is left.
 * If it was reaped, its group is left alone (durable-task's wrapper lives on in the background)
 * unless exec_proc_kill() is in progress, which then finishes first. close_cb may be NULL. */
void exec_proc_close(struct exec_proc *p, exec_proc_close_cb cb, void *arg);

#endif
