/*
 * proc.c: a child process on the loop (see proc.h for the contract).
 *
 * Pipes are real pipes made with uv_pipe() (not the socketpairs of UV_CREATE_PIPE), so the child
 * sees what a JVM-launched child sees; our ends are non-blocking, the child's blocking. Handles:
 * the process, one pipe and one join-grace timer per output stream, the stdin pipe, the kill
 * timer. p is freed when the last handle's close callback has run and close was requested.
 */
#include "proc.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "err.h"
#include "log.h"

#define LOG_COMP "exec"

enum proc_state {
    PROC_RUNNING = 0,  /* not reaped yet */
    PROC_REAPED = 1,   /* reaped, waiting for the output pipes */
    PROC_REPORTED = 2, /* on_exit has run */
    PROC_CLOSING = 3,
};

struct out_pipe {
    uv_pipe_t pipe;   /* open while `open` */
    uv_timer_t grace; /* join grace after the reap; initialised when `used` */
    struct exec_proc *p;
    enum exec_stream s;
    bool used;      /* this stream has its own pipe */
    bool pipe_init; /* `pipe` was initialised and needs uv_close */
    bool open;      /* no EOF, error or abandonment yet */
    bool reading;   /* not paused by the consumer */
    bool grace_running;
    uint64_t grace_left; /* ms of reading time left after the reap */
    uint64_t grace_started;
    uint8_t *buf; /* owned: the read buffer lent to libuv */
};

struct write_req {
    uv_write_t req;
    struct exec_proc *p; /* borrowed */
    exec_proc_write_cb cb;
    void *cb_arg;
    size_t len;
    uint8_t data[]; /* the copy uv_write sends */
};

struct exec_proc {
    uv_loop_t *loop; /* borrowed */
    uv_process_t proc;
    uv_pipe_t in;
    uv_timer_t kill_timer;
    struct out_pipe out[2]; /* [0] stdout, [1] stderr */
    enum proc_state state;
    int handles_open;
    pid_t pid;

    bool in_used;
    bool in_init;
    bool in_open;
    bool in_eof;       /* exec_proc_stdin_close() was called */
    size_t in_queued;  /* bytes in pending writes */
    size_t in_pending; /* pending write requests */

    bool reaped;
    struct exec_exit ex;

    bool kill_active;
    uint64_t kill_deadline;
    uint64_t kill_backoff;
    bool kill_timer_closing;

    bool closing;
    exec_proc_close_cb close_cb;
    void *close_arg;

    struct exec_proc_opts o; /* callbacks and limits; argv/envp/cwd are not kept */
    struct exec_proc_stats st;
};

static const char *
state_name(enum proc_state s)
{
    switch (s) {
    case PROC_RUNNING:
        return "running";
    case PROC_REAPED:
        return "reaped";
    case PROC_REPORTED:
        return "reported";
    case PROC_CLOSING:
        return "closing";
    }
    return "?";
}

static void
set_state(struct exec_proc *p, enum proc_state s)
{
    AG_LOG_DEBUG(LOG_COMP, "pid %ld: %s -> %s", (long)p->pid, state_name(p->state), state_name(s));
    p->state = s;
}

void
exec_proc_opts_init(struct exec_proc_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->join_grace_ms = EXEC_PROC_DEFAULT_JOIN_GRACE_MS;
    o->kill_grace_ms = EXEC_PROC_DEFAULT_KILL_GRACE_MS;
    o->read_chunk = EXEC_PROC_DEFAULT_READ_CHUNK;
    o->stdin_max_queued = EXEC_PROC_DEFAULT_STDIN_MAX;
}

static void
proc_finish(struct exec_proc *p)
{
    exec_proc_close_cb cb = p->close_cb;
    void *arg = p->close_arg;

    if (cb != NULL) {
        cb(p, arg);
    }
    ag_free(p->out[0].buf);
    ag_free(p->out[1].buf);
    ag_free(p);
}

static void
on_handle_close(uv_handle_t *h)
{
    struct exec_proc *p = h->data;

    AG_ASSERT(p->handles_open > 0);
    p->handles_open--;
    if (p->closing && p->handles_open == 0) {
        proc_finish(p);
    }
}

static void
close_handle(struct exec_proc *p, uv_handle_t *h)
{
    (void)p;
    if (!uv_is_closing(h)) {
        uv_close(h, on_handle_close);
    }
}

static void
maybe_report(struct exec_proc *p)
{
    if (p->closing || !p->reaped || p->state != PROC_REAPED || p->out[0].open || p->out[1].open) {
        return;
    }
    set_state(p, PROC_REPORTED);
    p->o.on_exit(p, &p->ex, p->o.arg);
}

static void
grace_pause(struct out_pipe *op)
{
    uint64_t used = 0;

    if (!op->grace_running) {
        return;
    }
    used = uv_now(op->p->loop) - op->grace_started;
    op->grace_left = used >= op->grace_left ? 0 : op->grace_left - used;
    (void)uv_timer_stop(&op->grace); /* cannot fail on an initialised timer */
    op->grace_running = false;
}

static void on_grace(uv_timer_t *t);

static void
grace_resume(struct out_pipe *op)
{
    if (op->grace_running || !op->open || !op->reading || !op->p->reaped || op->p->closing) {
        return;
    }
    op->grace_started = uv_now(op->p->loop);
    op->grace_running = true;
    (void)uv_timer_start(&op->grace, on_grace, op->grace_left, 0); /* cannot fail: cb set */
}

/* The pipe is done (EOF, error, or abandoned): close it, tell the consumer, maybe report. */
static void
pipe_finish(struct out_pipe *op, int status)
{
    struct exec_proc *p = op->p;

    if (!op->open) {
        return;
    }
    op->open = false;
    op->reading = false;
    grace_pause(op);
    close_handle(p, (uv_handle_t *)&op->pipe);
    if (p->closing) {
        return;
    }
    if (p->o.on_eof != NULL) {
        p->o.on_eof(p, op->s, status, p->o.arg);
        if (p->closing) {
            return;
        }
    }
    maybe_report(p);
}

static void
on_grace(uv_timer_t *t)
{
    struct out_pipe *op = AG_CONTAINER_OF(t, struct out_pipe, grace);
    struct exec_proc *p = op->p;

    op->grace_running = false;
    op->grace_left = 0;
    AG_LOG_WARN(LOG_COMP,
                "pid %ld exited but its %s pipe is still open after %" PRIu64
                " ms of reading: a background process holds it; not waiting for it "
                "(Process leaked file descriptors)",
                (long)p->pid, op->s == EXEC_STDOUT ? "stdout" : "stderr", p->o.join_grace_ms);
    p->ex.output_abandoned = true;
    pipe_finish(op, AG_ETIMEDOUT);
}

static void
on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct out_pipe *op = AG_CONTAINER_OF(h, struct out_pipe, pipe);

    (void)suggested;
    buf->base = (char *)op->buf;
    buf->len = op->p->o.read_chunk;
}

static void
on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct out_pipe *op = AG_CONTAINER_OF(s, struct out_pipe, pipe);
    struct exec_proc *p = op->p;
    struct ag_iov data;

    if (nread < 0) {
        if (nread != UV_EOF) {
            AG_LOG_WARN(LOG_COMP, "pid %ld: reading %s failed: %s", (long)p->pid,
                        op->s == EXEC_STDOUT ? "stdout" : "stderr", ag_strerror((int)nread));
        }
        pipe_finish(op, nread == UV_EOF ? 0 : (int)nread);
        return;
    }
    if (nread == 0 || p->closing) {
        return; /* EAGAIN; nread == 0 is not EOF in libuv */
    }
    if (op->s == EXEC_STDOUT) {
        p->st.out_bytes += (uint64_t)nread;
    } else {
        p->st.err_bytes += (uint64_t)nread;
    }
    AG_TRACE(AG_TRACE_EXEC, "pid %ld: %zd bytes on %s", (long)p->pid, nread,
             op->s == EXEC_STDOUT ? "stdout" : "stderr");
    data.base = (const uint8_t *)buf->base;
    data.len = (size_t)nread;
    p->o.on_data(p, op->s, data, p->o.arg);
}

static void
kill_done(struct exec_proc *p)
{
    p->kill_active = false;
    if (p->closing) {
        p->kill_timer_closing = true;
        close_handle(p, (uv_handle_t *)&p->kill_timer);
    }
}

static void
on_kill_timer(uv_timer_t *t)
{
    struct exec_proc *p = t->data;
    uint64_t now = uv_now(p->loop);

    /* kill(-pgid, 0) succeeds while any member of the group exists, zombies included. A pgid is
     * not reused while its group has members, so the SIGKILL below cannot hit a stranger except
     * in the instant between the two calls. */
    if (kill(-p->pid, 0) == -1 && errno == ESRCH) {
        AG_LOG_DEBUG(LOG_COMP, "pid %ld: process group gone after SIGTERM", (long)p->pid);
        kill_done(p);
        return;
    }
    if (now >= p->kill_deadline) {
        if (kill(-p->pid, 0) == 0) {
            AG_LOG_WARN(LOG_COMP,
                        "process group %ld still alive %" PRIu64 " ms after SIGTERM; sending "
                        "SIGKILL",
                        (long)p->pid, p->o.kill_grace_ms);
            (void)uv_kill(-p->pid, SIGKILL); /* ESRCH: it just went away, which is the goal */
        }
        kill_done(p);
        return;
    }
    p->kill_backoff = p->kill_backoff * 2 > 1000 ? 1000 : p->kill_backoff * 2;
    (void)uv_timer_start(
        &p->kill_timer, on_kill_timer,
        p->kill_backoff < p->kill_deadline - now ? p->kill_backoff : p->kill_deadline - now, 0);
}

int
exec_proc_kill(struct exec_proc *p)
{
    int rc = 0;

    if (p->kill_active || p->closing) {
        return 0;
    }
    p->ex.kill_requested = true;
    rc = uv_kill(-p->pid, SIGTERM);
    if (rc == UV_ESRCH) {
        return 0; /* the whole group is gone already */
    }
    if (rc != 0) {
        AG_LOG_WARN(LOG_COMP, "SIGTERM to process group %ld failed: %s", (long)p->pid,
                    ag_strerror(rc));
        return rc;
    }
    AG_LOG_DEBUG(LOG_COMP, "sent SIGTERM to process group %ld", (long)p->pid);
    p->kill_active = true;
    p->kill_deadline = uv_now(p->loop) + p->o.kill_grace_ms;
    p->kill_backoff = 10;
    (void)uv_timer_start(&p->kill_timer, on_kill_timer,
                         p->o.kill_grace_ms < 10 ? p->o.kill_grace_ms : 10, 0);
    return 0;
}

static void
on_proc_exit(uv_process_t *h, int64_t exit_status, int term_signal)
{
    struct exec_proc *p = h->data;

    p->reaped = true;
    p->ex.exit_status = term_signal != 0 ? 0 : exit_status;
    p->ex.term_signal = term_signal;
    /* java.lang.ProcessImpl on Linux: WEXITSTATUS, or 0x80 + WTERMSIG. */
    p->ex.code = term_signal != 0 ? 128 + term_signal : (int)exit_status;
    AG_LOG_DEBUG(LOG_COMP, "pid %ld exited: status %" PRId64 ", signal %d", (long)p->pid,
                 exit_status, term_signal);
    if (p->closing) {
        close_handle(p, (uv_handle_t *)&p->proc);
        return;
    }
    set_state(p, PROC_REAPED);
    for (size_t i = 0; i < 2; i++) {
        struct out_pipe *op = &p->out[i];

        if (op->used && op->open) {
            op->grace_left = p->o.join_grace_ms;
            grace_resume(op);
        }
    }
    maybe_report(p);
}

static void
on_write(uv_write_t *req, int status)
{
    struct write_req *wr = AG_CONTAINER_OF(req, struct write_req, req);
    struct exec_proc *p = wr->p;

    p->in_queued -= wr->len;
    p->in_pending--;
    if (!p->closing && wr->cb != NULL) {
        wr->cb(p, status, wr->cb_arg);
    }
    ag_free(wr);
    if (!p->closing && p->in_eof && p->in_pending == 0 && p->in_open) {
        p->in_open = false;
        close_handle(p, (uv_handle_t *)&p->in);
    }
}

int
exec_proc_write(struct exec_proc *p, struct ag_iov data, exec_proc_write_cb cb, void *cb_arg)
{
    struct write_req *wr = NULL;
    size_t total = 0;
    uv_buf_t b;
    int rc = 0;

    if (!p->in_used || p->closing) {
        return p->closing ? AG_ECLOSED : AG_EUSAGE;
    }
    if (p->in_eof || !p->in_open) {
        return AG_ECLOSED;
    }
    if (!ag_size_add(p->in_queued, data.len, &total) || total > p->o.stdin_max_queued ||
        !ag_size_add(sizeof(*wr), data.len, &total)) {
        return AG_ELIMIT;
    }
    wr = ag_malloc(total);
    if (wr == NULL) {
        return AG_ENOMEM;
    }
    wr->p = p;
    wr->cb = cb;
    wr->cb_arg = cb_arg;
    wr->len = data.len;
    if (data.len > 0) {
        memcpy(wr->data, data.base, data.len);
    }
    b = uv_buf_init((char *)wr->data, (unsigned)data.len);
    rc = uv_write(&wr->req, (uv_stream_t *)&p->in, &b, 1, on_write);
    if (rc != 0) {
        ag_free(wr);
        return rc;
    }
    p->in_queued += data.len;
    p->in_pending++;
    return 0;
}

size_t
exec_proc_stdin_queued(const struct exec_proc *p)
{
    return p->in_queued;
}

void
exec_proc_stdin_close(struct exec_proc *p)
{
    if (!p->in_used || p->in_eof || p->closing) {
        return;
    }
    p->in_eof = true;
    if (p->in_pending == 0 && p->in_open) {
        p->in_open = false;
        close_handle(p, (uv_handle_t *)&p->in);
    }
}

void
exec_proc_read_stop(struct exec_proc *p, unsigned mask)
{
    for (size_t i = 0; i < 2; i++) {
        struct out_pipe *op = &p->out[i];

        if ((mask & (unsigned)op->s) == 0 || !op->used || !op->open || !op->reading) {
            continue;
        }
        (void)uv_read_stop((uv_stream_t *)&op->pipe); /* always 0 */
        op->reading = false;
        grace_pause(op);
    }
}

void
exec_proc_read_start(struct exec_proc *p, unsigned mask)
{
    if (p->closing) {
        return;
    }
    for (size_t i = 0; i < 2; i++) {
        struct out_pipe *op = &p->out[i];
        int rc = 0;

        if ((mask & (unsigned)op->s) == 0 || !op->used || !op->open || op->reading) {
            continue;
        }
        rc = uv_read_start((uv_stream_t *)&op->pipe, on_alloc, on_read);
        if (rc != 0) {
            AG_LOG_WARN(LOG_COMP, "pid %ld: cannot resume reading: %s", (long)p->pid,
                        ag_strerror(rc));
            pipe_finish(op, rc);
            continue;
        }
        op->reading = true;
        grace_resume(op);
    }
}

pid_t
exec_proc_pid(const struct exec_proc *p)
{
    return p->pid;
}

bool
exec_proc_is_alive(const struct exec_proc *p)
{
    return !p->reaped;
}

void
exec_proc_stats_get(const struct exec_proc *p, struct exec_proc_stats *st)
{
    *st = p->st;
}

void
exec_proc_close(struct exec_proc *p, exec_proc_close_cb cb, void *arg)
{
    if (p->closing) {
        return;
    }
    p->closing = true;
    p->close_cb = cb;
    p->close_arg = arg;
    set_state(p, PROC_CLOSING);
    for (size_t i = 0; i < 2; i++) {
        struct out_pipe *op = &p->out[i];

        if (!op->used) {
            continue;
        }
        op->open = false;
        if (op->pipe_init) {
            close_handle(p, (uv_handle_t *)&op->pipe);
        }
        close_handle(p, (uv_handle_t *)&op->grace);
    }
    if (p->in_init) {
        p->in_open = false;
        close_handle(p, (uv_handle_t *)&p->in);
    }
    if (!p->reaped) {
        /* Nobody will wait for it any more: kill the group and reap the child before freeing,
         * so no zombie is left behind. */
        AG_LOG_DEBUG(LOG_COMP, "closing live pid %ld: SIGKILL to its group", (long)p->pid);
        if (uv_kill(-p->pid, SIGKILL) != 0) {
            (void)uv_kill(p->pid, SIGKILL); /* ESRCH on both: on_exit is on its way */
        }
        p->kill_active = false;
    } else {
        close_handle(p, (uv_handle_t *)&p->proc);
    }
    if (!p->kill_active) {
        p->kill_timer_closing = true;
        close_handle(p, (uv_handle_t *)&p->kill_timer);
    }
}

static int
spawn_error(struct ag_err *err, int rc, const struct exec_proc_opts *o)
{
    /* The text of Java's IOException, which the controller prints when the step fails. */
    if (o->cwd != NULL) {
        return ag_err_set(err, rc, 0,
                          "Cannot run program \"%s\" (in directory \"%s\"): error=%d, %s",
                          o->argv[0], o->cwd, -rc, strerror(-rc));
    }
    return ag_err_set(err, rc, 0, "Cannot run program \"%s\": error=%d, %s", o->argv[0], -rc,
                      strerror(-rc));
}

static void
close_fd(int *fd)
{
    if (*fd >= 0) {
        (void)close(*fd); /* nothing useful to do on failure of a fresh pipe end */
        *fd = -1;
    }
}

static int
out_pipe_open(struct exec_proc *p, struct out_pipe *op, int fd)
{
    int rc = uv_pipe_init(p->loop, &op->pipe, 0);

    if (rc != 0) {
        (void)close(fd);
        return rc;
    }
    op->pipe.data = p;
    op->pipe_init = true;
    p->handles_open++;
    rc = uv_pipe_open(&op->pipe, fd);
    if (rc != 0) {
        (void)close(fd); /* not attached to the handle */
        return rc;
    }
    op->open = true;
    rc = uv_read_start((uv_stream_t *)&op->pipe, on_alloc, on_read);
    if (rc != 0) {
        return rc;
    }
    op->reading = true;
    return 0;
}

int
exec_proc_spawn(uv_loop_t *loop, const struct exec_proc_opts *opts, struct exec_proc **out,
                struct ag_err *err)
{
    struct exec_proc *p = NULL;
    uv_process_options_t po;
    uv_stdio_container_t stdio[3];
    int outfd[2] = {-1, -1};
    int errfd[2] = {-1, -1};
    int infd[2] = {-1, -1};
    int rc = 0;

    if (opts->argv == NULL || opts->argv[0] == NULL || opts->on_data == NULL ||
        opts->on_exit == NULL || opts->read_chunk == 0 ||
        opts->read_chunk > EXEC_PROC_MAX_READ_CHUNK) {
        return ag_err_set(err, AG_EUSAGE, 0, "invalid process options");
    }
    p = ag_calloc(1, sizeof(*p));
    if (p == NULL) {
        return ag_err_set(err, AG_ENOMEM, 0, "out of memory starting a process");
    }
    p->loop = loop;
    p->o = *opts;
    p->o.argv = NULL;
    p->o.envp = NULL;
    p->o.cwd = NULL;
    p->out[0].p = p;
    p->out[0].s = EXEC_STDOUT;
    p->out[0].used = true;
    p->out[1].p = p;
    p->out[1].s = EXEC_STDERR;
    p->out[1].used = !opts->merge_stderr;
    p->in_used = opts->stdin_pipe;
    p->out[0].buf = ag_malloc(opts->read_chunk);
    if (p->out[1].used) {
        p->out[1].buf = ag_malloc(opts->read_chunk);
    }
    if (p->out[0].buf == NULL || (p->out[1].used && p->out[1].buf == NULL)) {
        rc = ag_err_set(err, AG_ENOMEM, 0, "out of memory starting a process");
        goto fail_early;
    }
    p->st.buffered_max = opts->read_chunk * (p->out[1].used ? 2 : 1);

    /* Our ends non-blocking, the child's blocking; both close-on-exec (uv_pipe does that), so
     * other children never inherit them. The child's ends become fds 0-2 through dup2. */
    rc = uv_pipe(outfd, UV_NONBLOCK_PIPE, 0);
    if (rc == 0 && p->out[1].used) {
        rc = uv_pipe(errfd, UV_NONBLOCK_PIPE, 0);
    }
    if (rc == 0 && p->in_used) {
        rc = uv_pipe(infd, 0, UV_NONBLOCK_PIPE);
    }
    if (rc != 0) {
        rc = ag_err_set(err, rc, 0, "cannot create pipes for \"%s\": %s", opts->argv[0],
                        ag_strerror(rc));
        goto fail_early;
    }
    memset(stdio, 0, sizeof(stdio));
    if (p->in_used) {
        stdio[0].flags = UV_INHERIT_FD;
        stdio[0].data.fd = infd[0];
    } else {
        stdio[0].flags = UV_IGNORE; /* libuv opens /dev/null for fds 0-2 */
    }
    stdio[1].flags = UV_INHERIT_FD;
    stdio[1].data.fd = outfd[1];
    stdio[2].flags = UV_INHERIT_FD;
    stdio[2].data.fd = p->out[1].used ? errfd[1] : outfd[1];

    memset(&po, 0, sizeof(po));
    po.file = opts->argv[0];
    po.args = (char **)opts->argv;
    po.env = (char **)opts->envp;
    po.cwd = opts->cwd;
    po.flags = UV_PROCESS_DETACHED; /* setsid(): own session and process group */
    po.stdio_count = 3;
    po.stdio = stdio;
    po.exit_cb = on_proc_exit;

    rc = uv_spawn(loop, &p->proc, &po);
    p->proc.data = p;
    p->handles_open++; /* the handle is initialised even when uv_spawn fails */
    close_fd(&outfd[1]);
    close_fd(&errfd[1]);
    close_fd(&infd[0]);
    if (rc != 0) {
        (void)spawn_error(err, rc, opts);
        close_fd(&outfd[0]);
        close_fd(&errfd[0]);
        close_fd(&infd[1]);
        p->closing = true; /* freed by on_handle_close, with no user callback */
        close_handle(p, (uv_handle_t *)&p->proc);
        return rc;
    }
    p->pid = (pid_t)p->proc.pid;
    AG_LOG_DEBUG(LOG_COMP, "started pid %ld: %s", (long)p->pid, opts->argv[0]);

    (void)uv_timer_init(loop, &p->kill_timer); /* cannot fail */
    p->kill_timer.data = p;
    p->handles_open++;
    for (size_t i = 0; i < 2; i++) {
        if (p->out[i].used) {
            (void)uv_timer_init(loop, &p->out[i].grace);
            p->out[i].grace.data = p;
            p->handles_open++;
        }
    }
    rc = out_pipe_open(p, &p->out[0], outfd[0]);
    outfd[0] = -1; /* owned by the handle from here, even on failure */
    if (rc == 0 && p->out[1].used) {
        rc = out_pipe_open(p, &p->out[1], errfd[0]);
        errfd[0] = -1;
    }
    if (rc == 0 && p->in_used) {
        rc = uv_pipe_init(loop, &p->in, 0);
        if (rc == 0) {
            p->in.data = p;
            p->in_init = true;
            p->handles_open++;
            rc = uv_pipe_open(&p->in, infd[1]);
            p->in_open = rc == 0;
            if (rc == 0) {
                infd[1] = -1;
            }
        }
    }
    if (rc != 0) {
        (void)ag_err_set(err, rc, 0, "cannot watch the pipes of pid %ld: %s", (long)p->pid,
                         ag_strerror(rc));
        close_fd(&outfd[0]);
        close_fd(&errfd[0]);
        close_fd(&infd[1]);
        exec_proc_close(p, NULL, NULL); /* kills and reaps it; p is freed later */
        return rc;
    }
    *out = p;
    return 0;

fail_early:
    close_fd(&outfd[0]);
    close_fd(&outfd[1]);
    close_fd(&errfd[0]);
    close_fd(&errfd[1]);
    close_fd(&infd[0]);
    close_fd(&infd[1]);
    ag_free(p->out[0].buf);
    ag_free(p->out[1].buf);
    ag_free(p);
    return rc;
}
