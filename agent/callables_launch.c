/*
 * callables_launch.c: hudson.Launcher$RemoteLaunchCallable, the exported
 * hudson.Launcher$RemoteProcess, Launcher$RemoteLauncher$KillTask and Shell's interpreter query
 * (launch.h; spec callables.md A.3, B.4, B.5, B.9; core hudson/Launcher.java RemoteLaunchCallable,
 * LocalLauncher.launch, hudson/Proc.java LocalProc).
 */
#include "launch.h"

#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <uv.h>

#include "alloc.h"
#include "callables_int.h"
#include "channel.h"
#include "envvars.h"
#include "err.h"
#include "log.h"
#include "pipe.h"
#include "proc.h"
#include "proctree.h"
#include "util.h"

extern char **environ;

#define REMOTE_PROCESS "hudson.Launcher$RemoteProcess"
#define MASK_TEXT "********"

/* ----- reading the callable ----- */

/* The strings of a java.util.List value (ArrayList, as ProcStarter.cmds always sends (errata 7);
 * also Arrays$ArrayList and List.of's CollSer). *out is an ag_calloc'd array of n borrowed
 * strings (NUL-terminated, from the message). */
static int
read_string_list(const struct jos_val *v, const char *what, const char ***out, size_t *n,
                 struct ag_err *err)
{
    const char **a = NULL;
    struct jos_val *const *elems = NULL;
    struct jos_val *arr = NULL;
    size_t cnt = 0;
    struct jos_blk blk;
    bool from_blk = false;
    int32_t size = 0;

    *out = NULL;
    *n = 0;
    if (v == NULL) {
        return ag_err_set(err, AG_EPROTO, 0, "%s is null", what);
    }
    if (jos_val_instanceof(v, "java.util.ArrayList")) {
        const struct jos_classdata *cd = jos_obj_classdata(v, "java.util.ArrayList");
        uint32_t capacity = 0;

        if (jos_get_int(v, "size", &size) != 0 || size < 0 || cd == NULL) {
            return ag_err_set(err, AG_EPROTO, 0, "%s: ArrayList without a valid size", what);
        }
        jos_blk_init(&blk, cd);
        if (jos_blk_u32(&blk, &capacity) != 0) {
            return ag_err_set(err, AG_EPROTO, 0, "%s: ArrayList without its capacity", what);
        }
        cnt = (size_t)size;
        from_blk = true;
    } else if (jos_val_is(v, "java.util.Arrays$ArrayList")) {
        if (jos_get_obj(v, "a", &arr) != 0 || arr == NULL || arr->kind != JOS_K_ARRAY ||
            arr->u.arr.elem != 'L') {
            return ag_err_set(err, AG_EPROTO, 0, "%s: Arrays$ArrayList without its array", what);
        }
        cnt = arr->u.arr.len;
        elems = arr->u.arr.elems;
    } else if (jos_val_is(v, "java.util.CollSer")) {
        const struct jos_classdata *cd = jos_obj_classdata(v, "java.util.CollSer");
        uint32_t len = 0;

        if (cd == NULL) {
            return ag_err_set(err, AG_EPROTO, 0, "%s: CollSer without data", what);
        }
        jos_blk_init(&blk, cd);
        if (jos_blk_u32(&blk, &len) != 0) {
            return ag_err_set(err, AG_EPROTO, 0, "%s: CollSer without a length", what);
        }
        cnt = len;
        from_blk = true;
    } else if (jos_val_is(v, "java.util.Collections$EmptyList")) {
        cnt = 0;
    } else {
        const char *cls = jos_val_class(v);

        return ag_err_set(err, AG_EPROTO, 0, "%s: unsupported list class %s", what,
                          cls != NULL ? cls : "(not an object)");
    }
    if (cnt > AGENT_LAUNCH_MAX_ARGS) {
        return ag_err_set(err, AG_ELIMIT, 0, "%s: %zu elements exceed limit %u", what, cnt,
                          AGENT_LAUNCH_MAX_ARGS);
    }
    a = ag_calloc(cnt + 1, sizeof(*a));
    if (a == NULL) {
        return ag_err_set(err, AG_ENOMEM, 0, "%s: out of memory", what);
    }
    for (size_t i = 0; i < cnt; i++) {
        struct jos_val *e = NULL;

        if (from_blk) {
            if (jos_blk_obj(&blk, &e) != 0) {
                ag_free(a);
                return ag_err_set(err, AG_EPROTO, 0, "%s: element %zu missing", what, i);
            }
        } else {
            e = elems[i];
        }
        if (e == NULL || e->kind != JOS_K_STRING || strlen(e->u.str.s) != e->u.str.len) {
            ag_free(a);
            return ag_err_set(err, AG_EPROTO, 0, "%s: element %zu is not a string without NUL",
                              what, i);
        }
        a[i] = e->u.str.s;
    }
    *out = a;
    *n = cnt;
    return 0;
}

/* The RemoteOutputStream a TaskListener writes through (B.5), or NULL for a null listener. */
static int
listener_stream(const struct jos_val *l, const struct jos_val **ros, struct ag_err *err)
{
    for (int depth = 0; depth < 8; depth++) {
        struct jos_val *next = NULL;

        if (l == NULL) {
            *ros = NULL;
            return 0;
        }
        if (jos_val_is(l, "hudson.remoting.RemoteOutputStream")) {
            *ros = l;
            return 0;
        }
        if (jos_val_instanceof(l, "hudson.util.StreamTaskListener")) {
            /* StreamTaskListener.writeObject: a RemoteOutputStream, then the charset name. */
            const struct jos_classdata *cd = jos_obj_classdata(l, "hudson.util.StreamTaskListener");
            struct jos_blk blk;

            if (cd == NULL || !cd->has_custom) {
                return ag_err_set(err, AG_EPROTO, 0, "StreamTaskListener without its stream");
            }
            jos_blk_init(&blk, cd);
            if (jos_blk_obj(&blk, &next) != 0 || next == NULL) {
                return ag_err_set(err, AG_EPROTO, 0, "StreamTaskListener without its stream");
            }
            *ros = next;
            return 0;
        }
        if (jos_val_is(l, "org.jenkinsci.plugins.workflow.log.BufferedBuildListener$Replacement")) {
            if (jos_get_obj(l, "ros", &next) != 0) {
                return ag_err_set(err, AG_EPROTO, 0,
                                  "BufferedBuildListener$Replacement without ros");
            }
            *ros = next;
            return 0;
        }
        if (jos_val_is(l, "org.jenkinsci.plugins.workflow.log."
                          "TaskListenerDecorator$CloseableTaskListener")) {
            if (jos_get_obj(l, "mainDelegate", &next) != 0) {
                return ag_err_set(err, AG_EPROTO, 0, "CloseableTaskListener without mainDelegate");
            }
        } else if (jos_val_is(l, "org.jenkinsci.plugins.workflow.log."
                                 "TaskListenerDecorator$DecoratedTaskListener")) {
            /* The decorators are plugin Java code: ignored, as docs/steps.md says. */
            if (jos_get_obj(l, "delegate", &next) != 0) {
                return ag_err_set(err, AG_EPROTO, 0, "DecoratedTaskListener without delegate");
            }
        } else {
            const char *cls = jos_val_class(l);

            return ag_err_set(err, AG_ENOTSUP, 0, "native-agent does not support listener %s",
                              cls != NULL ? cls : "(not an object)");
        }
        l = next;
    }
    return ag_err_set(err, AG_ELIMIT, 0, "listener nesting exceeds 8");
}

/* Number of rules in EnvVarsFilterRuleWrapper (0 for null / an empty list). */
static int
filter_rules(const struct jos_val *w, size_t *n, struct ag_err *err)
{
    struct jos_val *rules = NULL;
    int32_t size = 0;

    *n = 0;
    if (w == NULL) {
        return 0;
    }
    if (jos_get_obj(w, "rules", &rules) != 0) {
        return ag_err_set(err, AG_EPROTO, 0, "EnvVarsFilterRuleWrapper without rules");
    }
    if (rules == NULL || jos_val_is(rules, "java.util.Collections$EmptyList")) {
        return 0;
    }
    if (jos_get_int(rules, "size", &size) == 0) {
        *n = size > 0 ? (size_t)size : 0;
        return 0;
    }
    *n = 1; /* a list form we do not count: assume it holds rules */
    return 0;
}

int
agent_launch_format_cmdline(struct ag_buf *out, const char *const *args, size_t n,
                            const bool *masks, size_t nmasks, const char *work_dir)
{
    int rc = 0;

    if (work_dir != NULL) {
        /* workDir.getRemote().replaceFirst("^.+[/\\\\]", ""): drop everything up to the last
         * separator that has at least one character before it. */
        const char *base = work_dir;
        size_t len = strlen(work_dir);

        for (size_t i = 1; i < len; i++) {
            if (work_dir[i] == '/' || work_dir[i] == '\\') {
                base = work_dir + i + 1;
            }
        }
        rc = ag_buf_printf(out, "[%s] ", base);
    }
    if (rc == 0) {
        rc = ag_buf_append(out, "$", 1);
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const char *a = args[i];

        if (masks != NULL && i < nmasks && masks[i]) {
            a = MASK_TEXT;
        }
        if (strchr(a, ' ') == NULL) {
            rc = ag_buf_printf(out, " %s", a);
        } else if (strchr(a, '"') != NULL) {
            rc = ag_buf_printf(out, " '%s'", a);
        } else {
            rc = ag_buf_printf(out, " \"%s\"", a);
        }
    }
    return rc;
}

/* ----- the launched process and its export ----- */

struct waiter {
    struct rem_call *call; /* borrowed: completed by us */
    bool is_kill;          /* RemoteProcess.kill(): reply null after the exit */
    bool interrupted;      /* Request$Cancel of a join: reply InterruptedException */
};

struct lproc {
    uv_loop_t *loop;            /* borrowed: the channel's loop */
    struct exec_proc *proc;     /* owned until on_proc_closed */
    struct rem_ostream *os_out; /* owned ref: stdout (and merged stderr), or NULL: discard */
    struct rem_ostream *os_err; /* owned ref: separate stderr, or NULL */
    bool out_dead;              /* the controller stream refused data: discard the rest */
    bool err_dead;
    unsigned paused; /* EXEC_STDOUT | EXEC_STDERR stopped for back-pressure */
    char cookie[EXEC_ENV_COOKIE_LEN + 1];
    char name[64]; /* argv[0] for log lines */
    int32_t oid;
    bool exited;
    struct exec_exit ex;
    bool killing;
    struct waiter waiters[AGENT_LAUNCH_MAX_WAITERS];
    size_t nwaiters;
    unsigned refs; /* export + process + kill jobs + stdin sink */
    /* A stdin chunk held for back-pressure: done once the child has drained the queue. */
    rem_sink_done_cb in_done;
    void *in_token;
};

/* Stdin bytes queued for the child above which the controller's next chunk waits. Below
 * EXEC_PROC_DEFAULT_STDIN_MAX minus the largest chunk Java sends (512 KiB). */
#define STDIN_LOW_WATER ((size_t)256 << 10)

/* Complete the held stdin chunk (rc < 0: the controller learns the stream is dead). */
static void
stdin_release(struct lproc *lp, int rc)
{
    rem_sink_done_cb done = lp->in_done;

    if (done != NULL) {
        lp->in_done = NULL;
        done(lp->in_token, rc);
    }
}

static void
lproc_unref(struct lproc *lp)
{
    AG_ASSERT(lp->refs > 0);
    if (--lp->refs > 0) {
        return;
    }
    /* The streams may outlive our reference while their last chunks wait for window: make
     * sure they never call back into freed memory. */
    if (lp->os_err != NULL && lp->os_err != lp->os_out) {
        rem_ostream_on_drain(lp->os_err, NULL, NULL);
        rem_ostream_unref(lp->os_err);
    }
    if (lp->os_out != NULL) {
        rem_ostream_on_drain(lp->os_out, NULL, NULL);
        rem_ostream_unref(lp->os_out);
    }
    ag_free(lp);
}

static void
on_tree_killed(const struct exec_proctree_result *r, void *arg)
{
    struct lproc *lp = arg;

    AG_LOG_DEBUG(AGENT_LAUNCH_LOG, "%s: cookie scan: %zu matched, %zu terminated, %zu killed",
                 lp->name, r->matched, r->termed, r->killed);
    lproc_unref(lp);
}

/* Proc.LocalProc.destroy(): ProcessTree.killAll(proc, cookie): the process group, then every
 * process that carries our HUDSON_COOKIE (re-parented children included). */
static void
start_kill(struct lproc *lp)
{
    struct exec_env *model = NULL;
    struct exec_proctree_opts o;
    int rc;

    if (lp->killing || lp->exited || lp->proc == NULL) {
        return;
    }
    lp->killing = true;
    AG_LOG_INFO(AGENT_LAUNCH_LOG, "%s: killing process %d and its tree", lp->name,
                (int)exec_proc_pid(lp->proc));
    rc = exec_proc_kill(lp->proc);
    if (rc != 0) {
        AG_LOG_WARN(AGENT_LAUNCH_LOG, "%s: kill: %s", lp->name, ag_strerror(rc));
    }
    exec_proctree_opts_init(&o);
    rc = exec_env_new(&model);
    if (rc == 0) {
        rc = exec_env_put(model, "HUDSON_COOKIE", lp->cookie);
    }
    if (rc == 0) {
        rc = exec_proctree_kill_all(lp->loop, model, &o, on_tree_killed, lp);
        if (rc == 0) {
            lp->refs++;
        }
    }
    if (rc != 0) {
        AG_LOG_WARN(AGENT_LAUNCH_LOG, "%s: cannot scan for the cookie: %s", lp->name,
                    ag_strerror(rc));
    }
    exec_env_free(model);
}

/* A join waiting for its Channel$IOSyncer round trip. */
struct join_sync {
    struct rem_call *call; /* borrowed: completed by on_synced */
    int32_t code;
};

static void
on_synced(struct rem_channel *ch, int rc, struct jos_msg *m, struct jos_val *value,
          const char *error, void *arg)
{
    struct join_sync *js = arg;

    (void)ch;
    (void)m;
    (void)value;
    if (rc != 0) {
        /* The exit code is still right: the Flush already ordered the output before it. */
        AG_LOG_DEBUG(AGENT_LAUNCH_LOG, "Channel$IOSyncer: %s", error != NULL ? error : "failed");
    }
    rem_call_return(js->call, agent__new_integer(rem_call_msg(js->call), js->code));
    ag_free(js);
}

static void
on_sync_cancel(struct rem_call *call, int code, void *arg)
{
    /* on_synced completes the call whatever happens (it also fires when the channel dies). */
    (void)call;
    (void)code;
    (void)arg;
}

/* RemoteProcess.join's finally block: Channel.syncIO(), i.e. Channel$IOSyncer to the controller,
 * which answers once its I/O lane has applied everything received before. Returns false when it
 * could not be sent (the caller answers at once). */
static bool
send_io_syncer(struct rem_call *call, int32_t code)
{
    struct rem_channel *ch = rem_call_channel(call);
    struct jos_msg *m = NULL;
    struct join_sync *js;
    struct jos_val *v;
    int rc;

    if (ch == NULL || rem_call_cancelled(call)) {
        return false;
    }
    js = ag_calloc(1, sizeof(*js));
    if (js == NULL || jos_msg_new(NULL, 0, &m) != 0) {
        ag_free(js);
        return false;
    }
    js->call = call;
    js->code = code;
    rem_call_on_cancel(call, on_sync_cancel, NULL); /* the process object may be freed meanwhile */
    v = jos_new_object(m, "hudson.remoting.Channel$IOSyncer");
    rc = v != NULL ? rem_channel_call(ch, v, on_synced, js) : AG_ENOMEM;
    jos_msg_free(m);
    if (rc != 0) {
        AG_LOG_DEBUG(AGENT_LAUNCH_LOG, "cannot send Channel$IOSyncer: %s", ag_strerror(rc));
        ag_free(js);
        return false;
    }
    return true;
}

/* Complete one waiter now that the process has exited. */
static void
finish_waiter(struct lproc *lp, struct waiter *w)
{
    struct rem_call *call = w->call;

    w->call = NULL;
    if (w->interrupted) {
        rem_call_fail(call, "java.lang.InterruptedException", "%s", "");
        return;
    }
    if (w->is_kill) {
        rem_call_return_null(call);
        return;
    }
    /* A $Flush on the join's behalf queues after every chunk written so far: the Response goes
     * out after it, with lastIoId = its ioId, so the controller has applied all output before
     * join() returns (channel.md 4.2, the job Channel.syncIO does in Java). */
    if (lp->os_out != NULL && !lp->out_dead) {
        if (rem_ostream_flush(lp->os_out, call) != 0) {
            /* a dead stream: nothing left to wait for */
        }
    }
    if (lp->os_err != NULL && lp->os_err != lp->os_out && !lp->err_dead) {
        if (rem_ostream_flush(lp->os_err, call) != 0) {
            /* as above */
        }
    }
    if (!send_io_syncer(call, lp->ex.code)) {
        rem_call_return(call, agent__new_integer(rem_call_msg(call), lp->ex.code));
    }
}

static void
waiter_remove(struct lproc *lp, size_t i)
{
    lp->waiters[i] = lp->waiters[lp->nwaiters - 1];
    lp->nwaiters--;
}

static void
on_waiter_cancel(struct rem_call *call, int code, void *arg)
{
    struct lproc *lp = arg;

    (void)code;
    for (size_t i = 0; i < lp->nwaiters; i++) {
        if (lp->waiters[i].call != call) {
            continue;
        }
        if (rem_call_channel(call) == NULL) {
            /* The channel terminated: nobody waits for the answer; the process runs on. */
            waiter_remove(lp, i);
            rem_call_fail(call, "java.lang.InterruptedException", "%s", "channel closed");
            return;
        }
        /* Java: join() is interrupted, LocalProc.join catches it, destroys the process tree
         * and rethrows; we answer once the process is gone. */
        lp->waiters[i].interrupted = true;
        start_kill(lp);
        return;
    }
}

static void
on_proc_closed(struct exec_proc *p, void *arg)
{
    struct lproc *lp = arg;

    (void)p;
    lp->proc = NULL;
    stdin_release(lp, 0); /* the child is gone: what it did not read is dropped, as by a pipe */
    lproc_unref(lp);
}

static void
write_out(struct lproc *lp, enum exec_stream s, const void *data, size_t n)
{
    bool to_err = s == EXEC_STDERR && lp->os_err != NULL;
    struct rem_ostream *os = to_err ? lp->os_err : lp->os_out;
    bool *dead = to_err ? &lp->err_dead : &lp->out_dead;
    int rc;

    if (os == NULL || *dead) {
        return; /* no destination (Java's NULL_OUTPUT_STREAM), or the controller is gone */
    }
    rc = rem_ostream_write(os, NULL, data, n);
    if (rc == 0) {
        /* Queued, and the controller's window is used up: let the pipe fill and the child
         * block until the drain callback. */
        lp->paused |= (unsigned)s;
        if (lp->proc != NULL) {
            exec_proc_read_stop(lp->proc, (unsigned)s);
        }
    } else if (rc < 0) {
        AG_LOG_WARN(AGENT_LAUNCH_LOG, "%s: output stream: %s; discarding further output", lp->name,
                    ag_strerror(rc));
        *dead = true;
    }
}

static void
on_data(struct exec_proc *p, enum exec_stream s, struct ag_iov data, void *arg)
{
    (void)p;
    write_out(arg, s, data.base, data.len);
}

static void
on_drain(struct rem_ostream *os, void *arg)
{
    struct lproc *lp = arg;
    unsigned mask = 0;

    if (os == lp->os_out) {
        mask |= EXEC_STDOUT;
        if (lp->os_err == NULL || lp->os_err == os) {
            mask |= EXEC_STDERR;
        }
    }
    if (os == lp->os_err) {
        mask |= EXEC_STDERR;
    }
    mask &= lp->paused;
    lp->paused &= ~mask;
    if (mask != 0 && lp->proc != NULL) {
        exec_proc_read_start(lp->proc, mask);
    }
}

static void
on_exit(struct exec_proc *p, const struct exec_exit *ex, void *arg)
{
    struct lproc *lp = arg;

    lp->exited = true;
    lp->ex = *ex;
    AG_LOG_INFO(AGENT_LAUNCH_LOG, "%s: process %d exited with %d", lp->name, (int)exec_proc_pid(p),
                ex->code);
    if (ex->output_abandoned) {
        static const char msg[] = EXEC_PROC_LEAKED_FDS_MSG "\n";

        write_out(lp, EXEC_STDOUT, msg, sizeof(msg) - 1);
    }
    while (lp->nwaiters > 0) {
        struct waiter w = lp->waiters[lp->nwaiters - 1];

        lp->nwaiters--;
        finish_waiter(lp, &w);
    }
    exec_proc_close(p, on_proc_closed, lp);
}

static void
add_waiter(struct lproc *lp, struct rem_call *call, bool is_kill)
{
    if (lp->nwaiters == AGENT_LAUNCH_MAX_WAITERS) {
        rem_call_fail(call, "java.io.IOException", "native-agent: more than %u calls waiting on %s",
                      AGENT_LAUNCH_MAX_WAITERS, lp->name);
        return;
    }
    lp->waiters[lp->nwaiters].call = call;
    lp->waiters[lp->nwaiters].is_kill = is_kill;
    lp->waiters[lp->nwaiters].interrupted = false;
    lp->nwaiters++;
    rem_call_on_cancel(call, on_waiter_cancel, lp);
}

/* hudson.Launcher$RemoteProcess (B.9). */
static void
rp_invoke(void *obj, struct rem_call *call, const char *method, const struct jos_val *types,
          const struct jos_val *args)
{
    struct lproc *lp = obj;
    struct jos_msg *m = rem_call_msg(call);

    (void)types;
    (void)args;
    if (strcmp(method, "join") == 0) {
        if (lp->exited) {
            struct waiter w = {call, false, false};

            finish_waiter(lp, &w);
        } else {
            add_waiter(lp, call, false);
        }
    } else if (strcmp(method, "kill") == 0) {
        if (lp->exited) {
            rem_call_return_null(call);
        } else {
            start_kill(lp);
            add_waiter(lp, call, true);
        }
    } else if (strcmp(method, "isAlive") == 0) {
        rem_call_return(call, agent__new_boolean(m, !lp->exited));
    } else if (strcmp(method, "getIOtriplet") == 0) {
        /* No reverse pipes: every field null (B.4). */
        rem_call_return(call, jos_new_object(m, "hudson.Launcher$IOTriplet"));
    } else {
        rem_call_fail(call, "java.io.IOException", "native-agent: %s has no method %s",
                      REMOTE_PROCESS, method);
    }
}

static void
rp_release(void *obj)
{
    struct lproc *lp = obj;

    /* The controller dropped its proxy (or the channel is gone). As in Java, a process still
     * running is left to finish; its output then goes nowhere once the channel is gone. */
    lp->oid = 0;
    lproc_unref(lp);
}

static const struct rem_object_ops rp_ops = {REMOTE_PROCESS, rp_invoke, rp_release};

/* ----- RemoteLaunchCallable ----- */

struct launch_args {
    const char **cmd; /* owned array of borrowed strings */
    size_t ncmd;
    bool *masks; /* owned */
    size_t nmasks;
    const char **env; /* owned array of borrowed strings */
    size_t *envlens;  /* owned */
    size_t nenv;
    const char *work_dir;
    bool quiet;
    const struct jos_val *in;
    const struct jos_val *out_ros; /* the stream stdout goes to (stdoutListener's, or out) */
    const struct jos_val *err;
    const struct jos_val *log_ros; /* listener's stream */
};

static void
launch_args_fini(struct launch_args *a)
{
    ag_free(a->cmd);
    ag_free(a->masks);
    ag_free(a->env);
    ag_free(a->envlens);
}

/* Read the callable: the record of current cores and the class of older ones carry the same
 * field names, so every lookup is by name (jos_get_* searches the whole hierarchy). */
static int
launch_args_read(const struct jos_val *c, struct launch_args *a, struct ag_err *err)
{
    struct jos_val *v = NULL;
    struct jos_val *out = NULL;
    const struct jos_val *so_ros = NULL;
    bool rev_in = false;
    bool rev_out = false;
    bool rev_err = false;
    size_t nrules = 0;
    size_t len = 0;
    int rc;

    if (jos_get_bool(c, "reverseStdin", &rev_in) != 0 ||
        jos_get_bool(c, "reverseStdout", &rev_out) != 0 ||
        jos_get_bool(c, "reverseStderr", &rev_err) != 0 ||
        jos_get_bool(c, "quiet", &a->quiet) != 0) {
        return ag_err_set(err, AG_EPROTO, 0, "RemoteLaunchCallable without its boolean fields");
    }
    if (rev_in || rev_out || rev_err) {
        return ag_err_set(err, AG_ENOTSUP, 0,
                          "native-agent does not support reverse stdio pipes (reverseStdin=%d "
                          "reverseStdout=%d reverseStderr=%d)",
                          rev_in, rev_out, rev_err);
    }
    if (jos_get_obj(c, "cmd", &v) != 0) {
        return ag_err_set(err, AG_EPROTO, 0, "RemoteLaunchCallable without cmd");
    }
    rc = read_string_list(v, "cmd", &a->cmd, &a->ncmd, err);
    if (rc != 0) {
        return rc;
    }
    if (a->ncmd == 0) {
        return ag_err_set(err, AG_EPROTO, 0, "RemoteLaunchCallable with an empty cmd");
    }
    if (jos_get_obj(c, "masks", &v) != 0) {
        return ag_err_set(err, AG_EPROTO, 0, "RemoteLaunchCallable without masks");
    }
    if (v != NULL) {
        if (v->kind != JOS_K_ARRAY || v->u.arr.elem != 'Z') {
            return ag_err_set(err, AG_EPROTO, 0, "masks is not a boolean[]");
        }
        a->nmasks = v->u.arr.len;
        a->masks = ag_calloc(a->nmasks + 1, sizeof(bool));
        if (a->masks == NULL) {
            return ag_err_set(err, AG_ENOMEM, 0, "masks: out of memory");
        }
        for (uint32_t i = 0; i < v->u.arr.len; i++) {
            a->masks[i] = jos_array_i(v, i) != 0;
        }
    }
    if (jos_get_obj(c, "env", &v) != 0) {
        return ag_err_set(err, AG_EPROTO, 0, "RemoteLaunchCallable without env");
    }
    if (v != NULL) {
        if (v->kind != JOS_K_ARRAY || v->u.arr.elem != 'L') {
            return ag_err_set(err, AG_EPROTO, 0, "env is not a String[]");
        }
        if (v->u.arr.len > AGENT_LAUNCH_MAX_ENV) {
            return ag_err_set(err, AG_ELIMIT, 0, "env: %" PRIu32 " elements exceed limit %u",
                              v->u.arr.len, AGENT_LAUNCH_MAX_ENV);
        }
        a->nenv = v->u.arr.len;
        a->env = ag_calloc(a->nenv + 1, sizeof(*a->env));
        a->envlens = ag_calloc(a->nenv + 1, sizeof(*a->envlens));
        if (a->env == NULL || a->envlens == NULL) {
            return ag_err_set(err, AG_ENOMEM, 0, "env: out of memory");
        }
        for (size_t i = 0; i < a->nenv; i++) {
            const struct jos_val *e = v->u.arr.elems[i];

            if (e == NULL || e->kind != JOS_K_STRING) {
                return ag_err_set(err, AG_EPROTO, 0, "env[%zu] is not a string", i);
            }
            a->env[i] = e->u.str.s;
            a->envlens[i] = e->u.str.len;
        }
    }
    if (jos_get_string(c, "workDir", &a->work_dir, &len) != 0) {
        return ag_err_set(err, AG_EPROTO, 0, "RemoteLaunchCallable without workDir");
    }
    if (a->work_dir != NULL && strlen(a->work_dir) != len) {
        return ag_err_set(err, AG_EPROTO, 0, "workDir contains a NUL character");
    }
    if (jos_get_obj(c, "envVarsFilterRuleWrapper", &v) != 0) {
        v = NULL; /* cores before the filters (2.246) have no such field */
    }
    rc = filter_rules(v, &nrules, err);
    if (rc != 0) {
        return rc;
    }
    if (nrules > 0) {
        return ag_err_set(err, AG_ENOTSUP, 0,
                          "native-agent does not support environment variable filters "
                          "(jenkins.tasks.filters.EnvVarsFilterRuleWrapper with %zu rules)",
                          nrules);
    }
    if (jos_get_obj(c, "listener", &v) != 0) {
        return ag_err_set(err, AG_EPROTO, 0, "RemoteLaunchCallable without listener");
    }
    rc = listener_stream(v, &a->log_ros, err);
    if (rc != 0) {
        return rc;
    }
    if (jos_get_obj(c, "stdoutListener", &v) != 0) {
        v = NULL;
    }
    rc = listener_stream(v, &so_ros, err);
    if (rc != 0) {
        return rc;
    }
    if (jos_get_obj(c, "out", &out) != 0 || jos_get_obj(c, "err", &v) != 0 ||
        jos_get_obj(c, "in", (struct jos_val **)&a->in) != 0) {
        return ag_err_set(err, AG_EPROTO, 0, "RemoteLaunchCallable without in/out/err");
    }
    a->err = v;
    a->out_ros = so_ros != NULL ? so_ros : out;
    return 0;
}

static bool
same_stream(const struct jos_val *a, const struct jos_val *b)
{
    int ka = 0;
    int kb = 0;
    bool g = false;
    int32_t oa = 0;
    int32_t ob = 0;
    struct ag_err err = {0};

    if (a == b) {
        return true;
    }
    if (a == NULL || b == NULL) {
        return false;
    }
    return rem_stream_value_parse(a, &ka, &g, &oa, &err) == 0 &&
           rem_stream_value_parse(b, &kb, &g, &ob, &err) == 0 && ka == kb && oa == ob;
}

/* The child's environment (B.4 steps 2 and 4): Launcher.inherit(env) over our own environment,
 * then HUDSON_COOKIE. */
static int
build_env(const struct launch_args *a, const char *cookie, struct exec_env **out,
          struct ag_err *err)
{
    struct exec_env *base = NULL;
    int rc = exec_env_new(&base);

    *out = NULL;
    if (rc == 0) {
        rc = exec_env_load_envp(base, environ);
    }
    if (rc == 0) {
        rc = exec_env_inherit(base, a->env, a->envlens, a->nenv, out, err);
    } else {
        (void)ag_err_set(err, rc, 0, "cannot load the agent's environment: %s", ag_strerror(rc));
    }
    if (rc == 0) {
        rc = exec_env_put(*out, "HUDSON_COOKIE", cookie);
        if (rc != 0) {
            (void)ag_err_set(err, rc, 0, "HUDSON_COOKIE: %s", ag_strerror(rc));
        }
    }
    exec_env_free(base);
    if (rc != 0) {
        exec_env_free(*out);
        *out = NULL;
    }
    return rc;
}

static void
on_stdin_written(struct exec_proc *p, int status, void *arg)
{
    struct lproc *lp = arg;

    if (status != 0) {
        stdin_release(lp, status); /* e.g. UV_EPIPE: the child closed its stdin */
    } else if (exec_proc_stdin_queued(p) <= STDIN_LOW_WATER) {
        stdin_release(lp, 0);
    }
}

/* The controller's RemoteInputStream `in` feeds the child's stdin. The chunk is copied into the
 * process's queue; while that queue is above STDIN_LOW_WATER the chunk is held (REM_SINK_PENDING),
 * so no further chunk is pulled (or acked) until the child reads: back-pressure, never a full
 * queue. */
static int
stdin_write(void *ctx, struct ag_iov data, rem_sink_done_cb done, void *token)
{
    struct lproc *lp = ctx;
    int rc;

    if (lp->proc == NULL || lp->exited) {
        return 0; /* the child is gone: drop, as a pipe to a dead reader would */
    }
    rc = exec_proc_write(lp->proc, data, on_stdin_written, lp);
    if (rc != 0) {
        return rc; /* the controller is told the stream is dead (docs/steps.md) */
    }
    if (exec_proc_stdin_queued(lp->proc) <= STDIN_LOW_WATER) {
        return 0;
    }
    lp->in_done = done;
    lp->in_token = token;
    return REM_SINK_PENDING;
}

static void
stdin_flush(void *ctx)
{
    (void)ctx;
}

static void
stdin_close(void *ctx, const char *error)
{
    struct lproc *lp = ctx;

    (void)error;
    if (lp->proc != NULL) {
        exec_proc_stdin_close(lp->proc);
    }
    stdin_release(lp, 0); /* the channel ended during a held chunk: it still completes once */
    lproc_unref(lp);
}

static const struct rem_sink_ops stdin_ops = {stdin_write, stdin_flush, stdin_close};

static void
cb_launch(struct rem_call *call)
{
    const struct jos_val *c = rem_call_callable(call);
    struct rem_channel *ch = rem_call_channel(call);
    uv_loop_t *loop = rem_channel_loop(ch);
    struct launch_args a;
    struct ag_err err = {0};
    struct lproc *lp = NULL;
    struct exec_env *env = NULL;
    char **envp = NULL;
    char **argv = NULL;
    struct rem_ostream *os_log = NULL;
    struct exec_proc_opts o;
    struct ag_buf line;
    int rc;

    memset(&a, 0, sizeof(a));
    ag_buf_init(&line, (size_t)1 << 20);
    rc = launch_args_read(c, &a, &err);
    if (rc != 0) {
        rem_call_fail(call, "java.io.IOException", "%s", err.msg);
        goto out;
    }
    if (loop == NULL) {
        rem_call_fail(call, "java.io.IOException", "native-agent: no event loop to run processes");
        goto out;
    }
    lp = ag_calloc(1, sizeof(*lp));
    if (lp == NULL) {
        rem_call_fail(call, "java.io.IOException", "native-agent: out of memory");
        goto out;
    }
    lp->loop = loop;
    if (ag_snprintf(lp->name, sizeof(lp->name), "%s", a.cmd[0]) != 0) {
        /* truncated: it only names the process in log lines */
    }
    /* 1. LocalLauncher.launch prints the command line (not expanded) unless quiet. */
    if (!a.quiet && a.log_ros != NULL) {
        rc = rem_ostream_open(call, a.log_ros, &os_log, &err);
        if (rc != 0) {
            rem_call_fail(call, "java.io.IOException", "listener stream: %s", err.msg);
            goto out;
        }
        rc = agent_launch_format_cmdline(&line, a.cmd, a.ncmd, a.masks, a.nmasks, a.work_dir);
        if (rc == 0) {
            rc = ag_buf_append(&line, "\n", 1);
        }
        if (rc == 0 && rem_ostream_write(os_log, call, line.data, line.len) >= 0) {
            if (rem_ostream_flush(os_log, call) != 0) {
                /* a dead log stream is not the step's failure */
            }
        }
    }
    /* 2-4. Environment, cookie, expanded command line, working directory. */
    rc = exec_env_make_cookie(lp->cookie);
    if (rc == 0) {
        rc = build_env(&a, lp->cookie, &env, &err);
    } else {
        (void)ag_err_set(&err, rc, 0, "cannot make HUDSON_COOKIE: %s", ag_strerror(rc));
    }
    if (rc != 0) {
        rem_call_fail(call, "java.io.IOException", "%s", err.msg);
        goto out;
    }
    argv = ag_calloc(a.ncmd + 1, sizeof(*argv));
    if (argv == NULL) {
        rem_call_fail(call, "java.io.IOException", "native-agent: out of memory");
        goto out;
    }
    for (size_t i = 0; i < a.ncmd; i++) {
        rc = exec_env_expand(env, a.cmd[i], &argv[i]);
        if (rc != 0) {
            rem_call_fail(call, "java.io.IOException", "cannot expand cmd[%zu]: %s", i,
                          ag_strerror(rc));
            goto out;
        }
    }
    rc = exec_env_to_envp(env, &envp);
    if (rc != 0) {
        rem_call_fail(call, "java.io.IOException", "environment: %s", ag_strerror(rc));
        goto out;
    }
    if (a.work_dir != NULL) {
        struct stat st;

        /* One stat of the workspace on the loop, just before the spawn that touches it anyway
         * (uv_spawn's chdir runs in the child). */
        if (stat(a.work_dir, &st) == -1) {
            rem_call_fail(call, "java.io.IOException",
                          "Process working directory '%s' doesn't exist!", a.work_dir);
            goto out;
        }
    }
    /* 5. Output streams. */
    if (a.out_ros != NULL) {
        if (os_log != NULL && same_stream(a.out_ros, a.log_ros)) {
            lp->os_out = os_log;
            os_log = NULL;
        } else {
            rc = rem_ostream_open(call, a.out_ros, &lp->os_out, &err);
            if (rc != 0) {
                rem_call_fail(call, "java.io.IOException", "stdout stream: %s", err.msg);
                goto out;
            }
        }
        rem_ostream_on_drain(lp->os_out, on_drain, lp);
    }
    if (a.err != NULL) {
        if (lp->os_out != NULL && same_stream(a.err, a.out_ros)) {
            lp->os_err = lp->os_out;
        } else {
            rc = rem_ostream_open(call, a.err, &lp->os_err, &err);
            if (rc != 0) {
                rem_call_fail(call, "java.io.IOException", "stderr stream: %s", err.msg);
                goto out;
            }
            rem_ostream_on_drain(lp->os_err, on_drain, lp);
        }
    }
    exec_proc_opts_init(&o);
    o.argv = argv;
    o.envp = envp;
    o.cwd = a.work_dir;
    o.stdin_pipe = a.in != NULL;
    /* Proc.LocalProc: redirectErrorStream(true) unless a separate err stream was given. */
    o.merge_stderr = lp->os_err == NULL || lp->os_err == lp->os_out;
    o.read_chunk = REM_PIPE_MAX_CHUNK;
    o.on_data = on_data;
    o.on_exit = on_exit;
    o.arg = lp;
    rc = exec_proc_spawn(loop, &o, &lp->proc, &err);
    if (rc != 0) {
        rem_call_fail(call, "java.io.IOException", "%s", err.msg);
        goto out;
    }
    lp->refs = 1; /* the process, until on_proc_closed */
    AG_LOG_INFO(AGENT_LAUNCH_LOG, "%s: started process %d in %s", lp->name,
                (int)exec_proc_pid(lp->proc), a.work_dir != NULL ? a.work_dir : ".");
    if (a.in != NULL) {
        lp->refs++; /* until stdin_close, which may run before rem_istream_open returns */
        rc = rem_istream_open(call, a.in, &stdin_ops, lp, &err);
        if (rc != 0) {
            lp->refs--; /* no close will come; the process reference still holds lp */
            AG_LOG_WARN(AGENT_LAUNCH_LOG, "%s: stdin stream: %s", lp->name, err.msg);
            exec_proc_stdin_close(lp->proc);
        }
    }
    rc = rem_channel_export(ch, &rp_ops, lp, &lp->oid);
    if (rc != 0) {
        rem_call_fail(call, "java.io.IOException", "cannot export the process: %s",
                      ag_strerror(rc));
        exec_proc_close(lp->proc, on_proc_closed, lp); /* kills the child; frees lp after */
        lp = NULL;
        goto out;
    }
    lp->refs++; /* the export, until rp_release */
    rem_call_return(call, rem_new_proxy(rem_call_msg(call), REMOTE_PROCESS, lp->oid));
    lp = NULL;
out:
    if (lp != NULL) {
        /* Nothing started: drop what was opened. */
        lp->refs = 1;
        lproc_unref(lp);
    }
    if (os_log != NULL) {
        rem_ostream_unref(os_log);
    }
    if (argv != NULL) {
        for (size_t i = 0; i < a.ncmd; i++) {
            ag_free(argv[i]);
        }
        ag_free(argv);
    }
    ag_free(envp);
    exec_env_free(env);
    ag_buf_fini(&line);
    launch_args_fini(&a);
}

/* ----- KillTask ----- */

struct kill_ctx {
    struct exec_env *model;
    int rc;
};

static void
on_model_pair(const struct jos_val *k, const struct jos_val *v, void *arg)
{
    struct kill_ctx *kc = arg;

    if (kc->rc != 0) {
        return;
    }
    if (k == NULL || k->kind != JOS_K_STRING || v == NULL || v->kind != JOS_K_STRING) {
        kc->rc = AG_EPROTO;
        return;
    }
    kc->rc = exec_env_putn(kc->model, k->u.str.s, k->u.str.len, v->u.str.s, v->u.str.len);
}

static void
on_killtask_done(const struct exec_proctree_result *r, void *arg)
{
    struct rem_call *call = arg;

    AG_LOG_INFO(AGENT_LAUNCH_LOG, "KillTask: %zu processes matched, %zu terminated, %zu killed",
                r->matched, r->termed, r->killed);
    rem_call_return_null(call);
}

static void
on_killtask_cancel(struct rem_call *call, int code, void *arg)
{
    /* The scan finishes by itself within the grace period and then completes the call. */
    (void)call;
    (void)code;
    (void)arg;
}

static void
cb_kill_task(struct rem_call *call)
{
    const struct jos_val *c = rem_call_callable(call);
    uv_loop_t *loop = rem_channel_loop(rem_call_channel(call));
    struct jos_val *map = NULL;
    struct kill_ctx kc = {NULL, 0};
    struct exec_proctree_opts o;
    struct ag_err err = {0};
    int rc;

    if (jos_get_obj(c, "modelEnvVars", &map) != 0) {
        rem_call_fail(call, "java.io.IOException", "KillTask without modelEnvVars");
        return;
    }
    rc = exec_env_new(&kc.model);
    if (rc == 0) {
        rc = agent__map_foreach(map, AGENT_LAUNCH_MAX_KILL_PAIRS, on_model_pair, &kc, &err);
        if (rc == 0 && kc.rc != 0) {
            rc = kc.rc;
            (void)ag_err_set(&err, rc, 0, "modelEnvVars holds a key or value that is not a string");
        }
    } else {
        (void)ag_err_set(&err, rc, 0, "out of memory");
    }
    if (rc != 0) {
        rem_call_fail(call, "java.io.IOException", "KillTask: %s", err.msg);
        exec_env_free(kc.model);
        return;
    }
    if (loop == NULL) {
        rem_call_fail(call, "java.io.IOException", "native-agent: no event loop to kill processes");
        exec_env_free(kc.model);
        return;
    }
    exec_proctree_opts_init(&o);
    rem_call_on_cancel(call, on_killtask_cancel, NULL);
    rc = exec_proctree_kill_all(loop, kc.model, &o, on_killtask_done, call);
    exec_env_free(kc.model);
    if (rc != 0) {
        rem_call_fail(call, "java.io.IOException", "KillTask: %s", ag_strerror(rc));
    }
}

static void
cb_shell_interpreter(struct rem_call *call)
{
    rem_call_return_string(call, "/bin/sh");
}

/* Sorted by class name. */
static const struct rem_callable_handler launch_callables[] = {
    {"hudson.Launcher$RemoteLaunchCallable",
     "starts the process (docs/steps.md); a proxy for our `hudson.Launcher$RemoteProcess` export "
     "(getIOtriplet, join, kill, isAlive)",
     cb_launch},
    {"hudson.Launcher$RemoteLauncher$KillTask",
     "null, after SIGTERM (then SIGKILL after 5 s) to every process whose environment holds all "
     "of modelEnvVars",
     cb_kill_task},
    {"hudson.tasks.Shell$DescriptorImpl$Shellinterpreter", "\"/bin/sh\"", cb_shell_interpreter},
};

const struct rem_callable_handler *
agent_launch_table(size_t *n)
{
    *n = sizeof(launch_callables) / sizeof(launch_callables[0]);
    return launch_callables;
}

int
agent_launch_register(void)
{
    return rem_callables_register(launch_callables,
                                  sizeof(launch_callables) / sizeof(launch_callables[0]));
}
