/*
 * test_proc.c: exec_proc on the real libuv loop with real children (sh, cat, yes, head, sleep).
 * Every wait is bounded by a uv_timer_t watchdog; nothing sleeps.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "alloc.h"
#include "err.h"
#include "harness.h"
#include "proc.h"

#define WATCHDOG_MS 8000

static uv_loop_t loop;
static uv_timer_t watchdog;
static bool watchdog_fired;

static void
on_watchdog(uv_timer_t *t)
{
    (void)t;
    watchdog_fired = true;
    fprintf(stderr, "watchdog fired: the loop is stuck\n");
    uv_stop(&loop);
}

static void
loop_begin(uint64_t ms)
{
    (void)signal(SIGPIPE, SIG_IGN);
    T_EQ_INT(uv_loop_init(&loop), 0);
    T_EQ_INT(uv_timer_init(&loop, &watchdog), 0);
    T_EQ_INT(uv_timer_start(&watchdog, on_watchdog, ms, 0), 0);
    uv_unref((uv_handle_t *)&watchdog);
    watchdog_fired = false;
}

static void
on_walk_close(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h)) {
        uv_close(h, NULL);
    }
}

static void
loop_end(void)
{
    T_CHECK(!watchdog_fired);
    uv_walk(&loop, on_walk_close, NULL);
    (void)uv_run(&loop, UV_RUN_DEFAULT);
    T_EQ_INT(uv_loop_close(&loop), 0);
}

/* FNV-1a 64 over a stream. */
static uint64_t
fnv(uint64_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}
#define FNV_INIT 14695981039346656037ull

struct run {
    struct exec_proc *p;
    struct exec_proc_opts o;
    char out[4096];
    size_t outlen;
    char err[4096];
    size_t errlen;
    uint64_t out_total;
    uint64_t err_total;
    uint64_t out_hash;
    uint64_t err_hash;
    int eof_out; /* 1: not yet */
    int eof_err;
    bool exited;
    bool closed;
    bool data_after_exit;
    bool close_on_exit;
    struct exec_exit ex;
    uint64_t spawned_at;
    uint64_t eof_out_at;
    uint64_t exit_at;
    /* backpressure test */
    uint64_t pause_after;
    bool paused;
    uint64_t total_at_pause;
};

static void
on_closed(struct exec_proc *p, void *arg)
{
    struct run *r = arg;

    (void)p;
    r->closed = true;
    r->p = NULL;
}

static void
on_data(struct exec_proc *p, enum exec_stream s, struct ag_iov d, void *arg)
{
    struct run *r = arg;

    if (r->exited) {
        r->data_after_exit = true;
    }
    if (s == EXEC_STDOUT) {
        size_t room = sizeof(r->out) - 1 - r->outlen;
        size_t n = d.len < room ? d.len : room;

        memcpy(r->out + r->outlen, d.base, n);
        r->outlen += n;
        r->out[r->outlen] = '\0';
        r->out_total += d.len;
        r->out_hash = fnv(r->out_hash, d.base, d.len);
        if (r->pause_after > 0 && !r->paused && r->out_total >= r->pause_after) {
            exec_proc_read_stop(p, EXEC_STDOUT);
            r->paused = true;
            r->total_at_pause = r->out_total;
        }
    } else {
        size_t room = sizeof(r->err) - 1 - r->errlen;
        size_t n = d.len < room ? d.len : room;

        memcpy(r->err + r->errlen, d.base, n);
        r->errlen += n;
        r->err[r->errlen] = '\0';
        r->err_total += d.len;
        r->err_hash = fnv(r->err_hash, d.base, d.len);
    }
}

static void
on_eof(struct exec_proc *p, enum exec_stream s, int status, void *arg)
{
    struct run *r = arg;

    (void)p;
    if (s == EXEC_STDOUT) {
        r->eof_out = status;
        r->eof_out_at = uv_now(&loop);
    } else {
        r->eof_err = status;
    }
}

static void
on_exit_cb(struct exec_proc *p, const struct exec_exit *ex, void *arg)
{
    struct run *r = arg;

    T_CHECK(!r->exited); /* once */
    r->exited = true;
    r->ex = *ex;
    r->exit_at = uv_now(&loop);
    T_CHECK(!exec_proc_is_alive(p));
    if (r->close_on_exit) {
        exec_proc_close(p, on_closed, r);
    }
}

static void
run_init(struct run *r)
{
    memset(r, 0, sizeof(*r));
    exec_proc_opts_init(&r->o);
    r->o.on_data = on_data;
    r->o.on_eof = on_eof;
    r->o.on_exit = on_exit_cb;
    r->o.arg = r;
    r->eof_out = 1;
    r->eof_err = 1;
    r->close_on_exit = true;
    r->out_hash = FNV_INIT;
    r->err_hash = FNV_INIT;
}

static int
run_spawn(struct run *r, char *const *argv)
{
    struct ag_err err = {0};
    int rc = 0;

    r->o.argv = argv;
    r->spawned_at = uv_now(&loop);
    rc = exec_proc_spawn(&loop, &r->o, &r->p, &err);
    if (rc != 0) {
        fprintf(stderr, "spawn: %s\n", err.msg);
    }
    return rc;
}

/* Run the loop until every run is closed (or the watchdog fires). */
static void
run_all(void)
{
    (void)uv_run(&loop, UV_RUN_DEFAULT);
}

static char *const *
SH(const char *script)
{
    static char *argv[4];

    argv[0] = "/bin/sh";
    argv[1] = "-c";
    argv[2] = (char *)script;
    argv[3] = NULL;
    return argv;
}

T_TEST(test_exit_codes)
{
    static const struct {
        const char *script;
        int code;
        int sig;
    } cases[] = {
        {"exit 0", 0, 0},
        {"exit 1", 1, 0},
        {"exit 255", 255, 0},
        {"kill -TERM $$", 128 + SIGTERM, SIGTERM}, /* Java: 0x80 + WTERMSIG */
        {"kill -KILL $$", 128 + SIGKILL, SIGKILL},
        {"kill -SEGV $$", 128 + SIGSEGV, SIGSEGV},
    };
    struct run r[sizeof(cases) / sizeof(cases[0])];

    loop_begin(WATCHDOG_MS);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        run_init(&r[i]);
        T_EQ_INT(run_spawn(&r[i], SH(cases[i].script)), 0);
    }
    run_all();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        T_CHECK(r[i].exited && r[i].closed);
        T_EQ_INT(r[i].ex.code, cases[i].code);
        T_EQ_INT(r[i].ex.term_signal, cases[i].sig);
        T_CHECK(!r[i].ex.output_abandoned);
        T_EQ_INT(r[i].eof_out, 0);
        T_EQ_INT(r[i].eof_err, 0);
    }
    loop_end();
}

T_TEST(test_stdout_stderr_separate_and_merged)
{
    struct run a;
    struct run b;

    loop_begin(WATCHDOG_MS);
    run_init(&a);
    T_EQ_INT(run_spawn(&a, SH("printf out1; printf err1 >&2; printf out2; printf err2 >&2")), 0);
    run_init(&b);
    b.o.merge_stderr = true; /* redirectErrorStream(true) */
    T_EQ_INT(run_spawn(&b, SH("printf a; printf b >&2; printf c; exit 7")), 0);
    run_all();
    T_EQ_STR(a.out, "out1out2");
    T_EQ_STR(a.err, "err1err2");
    T_EQ_INT(a.ex.code, 0);
    T_EQ_STR(b.out, "abc");
    T_EQ_INT(b.errlen, 0);
    T_EQ_INT(b.eof_err, 1); /* no stderr pipe, no stderr EOF */
    T_EQ_INT(b.eof_out, 0);
    T_EQ_INT(b.ex.code, 7);
    loop_end();
}

T_TEST(test_binary_passes_untouched)
{
    /* 10 MiB of pseudo-random bytes (invalid UTF-8, NULs, CRs): through stdout and stderr, the
     * checksum and length must be the file's. */
    char path[] = "/tmp/ag_exec_binXXXXXX";
    int fd = mkstemp(path);
    size_t total = 10u * 1024 * 1024;
    uint8_t *data = malloc(total);
    uint64_t x = 0x9e3779b97f4a7c15ull;
    char *argv_out[] = {"cat", path, NULL};
    char script[128];
    struct run a;
    struct run b;

    T_CHECK(fd >= 0 && data != NULL);
    for (size_t i = 0; i < total; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        data[i] = (uint8_t)(x >> 24);
    }
    T_EQ_INT(write(fd, data, total), (long long)total);
    (void)close(fd);
    (void)snprintf(script, sizeof(script), "cat %s >&2", path);

    loop_begin(WATCHDOG_MS);
    run_init(&a);
    T_EQ_INT(run_spawn(&a, argv_out), 0);
    run_init(&b);
    T_EQ_INT(run_spawn(&b, SH(script)), 0);
    run_all();
    T_EQ_U64(a.out_total, total);
    T_EQ_U64(a.out_hash, fnv(FNV_INIT, data, total));
    T_EQ_U64(b.err_total, total);
    T_EQ_U64(b.err_hash, fnv(FNV_INIT, data, total));
    T_EQ_U64(b.out_total, 0);
    loop_end();
    (void)unlink(path);
    free(data);
}

struct feeder {
    struct run r;
    uint8_t *data;
    size_t len;
    size_t sent;
    int writes_done;
    int write_errors;
};

static void feed(struct feeder *f);

static void
on_written(struct exec_proc *p, int status, void *arg)
{
    struct feeder *f = arg;

    (void)p;
    f->writes_done++;
    if (status != 0) {
        f->write_errors++;
    }
    feed(f);
}

static void
feed(struct feeder *f)
{
    /* Keep at most 256 KiB queued: the write callbacks are the producer's backpressure. */
    while (f->sent < f->len && exec_proc_stdin_queued(f->r.p) < 256 * 1024) {
        size_t n = f->len - f->sent < 65536 ? f->len - f->sent : 65536;
        struct ag_iov v = {f->data + f->sent, n};

        T_EQ_INT(exec_proc_write(f->r.p, v, on_written, f), 0);
        f->sent += n;
    }
    if (f->sent == f->len) {
        exec_proc_stdin_close(f->r.p); /* EOF once the queue drains */
    }
}

T_TEST(test_stdin_pipe_and_eof)
{
    static char *argv[] = {"cat", NULL};
    struct feeder f;
    struct ag_iov big = {NULL, 0};

    memset(&f, 0, sizeof(f));
    f.len = 3u * 1024 * 1024 + 17;
    f.data = malloc(f.len);
    T_CHECK(f.data != NULL);
    for (size_t i = 0; i < f.len; i++) {
        f.data[i] = (uint8_t)(i * 131 + (i >> 9));
    }
    loop_begin(WATCHDOG_MS);
    run_init(&f.r);
    f.r.o.stdin_pipe = true;
    f.r.o.stdin_max_queued = 512 * 1024;
    T_EQ_INT(run_spawn(&f.r, argv), 0);
    /* Over the queue cap: refused, nothing queued. */
    big.base = f.data;
    big.len = 512 * 1024 + 1;
    T_EQ_INT(exec_proc_write(f.r.p, big, NULL, NULL), AG_ELIMIT);
    feed(&f);
    run_all();
    T_EQ_INT(f.write_errors, 0);
    T_EQ_INT(f.writes_done, (int)((f.len + 65535) / 65536));
    T_EQ_U64(f.r.out_total, f.len);
    T_EQ_U64(f.r.out_hash, fnv(FNV_INIT, f.data, f.len));
    T_EQ_INT(f.r.ex.code, 0);
    loop_end();
    free(f.data);

    /* stdin not a pipe: /dev/null, so cat sees EOF at once and writes are refused. */
    loop_begin(WATCHDOG_MS);
    run_init(&f.r);
    T_EQ_INT(run_spawn(&f.r, argv), 0);
    T_EQ_INT(exec_proc_write(f.r.p, big, NULL, NULL), AG_EUSAGE);
    run_all();
    T_EQ_INT(f.r.ex.code, 0);
    T_EQ_U64(f.r.out_total, 0);
    loop_end();
}

static long
rss_kib(void)
{
    char buf[4096];
    int fd = open("/proc/self/status", O_RDONLY);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
    char *p = NULL;

    if (fd >= 0) {
        (void)close(fd);
    }
    if (n <= 0) {
        return -1;
    }
    buf[n] = '\0';
    p = strstr(buf, "VmRSS:");
    return p == NULL ? -1 : strtol(p + 6, NULL, 10);
}

static char
proc_state(pid_t pid)
{
    char path[64];
    char buf[512];
    int fd = -1;
    ssize_t n = 0;
    char *p = NULL;

    (void)snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    fd = open(path, O_RDONLY);
    if (fd < 0) {
        return '?';
    }
    n = read(fd, buf, sizeof(buf) - 1);
    (void)close(fd);
    if (n <= 0) {
        return '?';
    }
    buf[n] = '\0';
    p = strrchr(buf, ')');
    return p != NULL && p[1] == ' ' ? p[2] : '?';
}

struct bp {
    struct run r;
    uv_timer_t t;
    int step;
    long rss_at_pause;
    long rss_later;
    uint64_t total_later;
    char state_later;
    uint64_t resumed_total;
    struct exec_proc_stats st;
};

static void
on_bp_timer(uv_timer_t *t)
{
    struct bp *b = t->data;

    if (b->step == 0) {
        if (!b->r.paused) {
            return; /* repeat timer: wait until the consumer paused */
        }
        b->step = 1;
        b->rss_at_pause = rss_kib();
        return;
    }
    if (b->step < 8) {
        b->step++; /* ~350 ms paused: yes writes GB/s when not blocked */
        return;
    }
    b->rss_later = rss_kib();
    b->total_later = b->r.out_total;
    b->state_later = proc_state(exec_proc_pid(b->r.p));
    b->resumed_total = b->r.out_total;
    exec_proc_stats_get(b->r.p, &b->st);
    b->r.pause_after = 0;
    exec_proc_read_start(b->r.p, EXEC_STDOUT);
    /* Let it run briefly, then kill: SIGTERM ends yes. */
    b->step = 100;
    (void)uv_timer_stop(t);
    uv_close((uv_handle_t *)t, NULL);
    T_EQ_INT(exec_proc_kill(b->r.p), 0);
}

T_TEST(test_backpressure_pauses_child)
{
    static char *argv[] = {"yes", "0123456789abcdef0123456789abcdef", NULL};
    struct bp b;
    memset(&b, 0, sizeof(b));
    loop_begin(WATCHDOG_MS);
    run_init(&b.r);
    b.r.pause_after = 4u * 1024 * 1024;
    T_EQ_INT(run_spawn(&b.r, argv), 0);
    b.t.data = &b;
    T_EQ_INT(uv_timer_init(&loop, &b.t), 0);
    T_EQ_INT(uv_timer_start(&b.t, on_bp_timer, 50, 50), 0);
    run_all();
    /* While paused nothing was delivered, the child sat blocked in write() ('S'), and our RSS
     * did not grow by more than noise: the backlog stayed in the 64 KiB kernel pipe. */
    T_CHECK(b.r.paused);
    T_EQ_U64(b.total_later, b.r.total_at_pause);
    T_EQ_INT(b.state_later, 'S');
    T_CHECK(b.rss_later - b.rss_at_pause < 2048);
    T_EQ_U64(b.st.buffered_max, EXEC_PROC_DEFAULT_READ_CHUNK * 2);
    T_EQ_INT(b.r.ex.code, 128 + SIGTERM);
    T_CHECK(b.r.ex.kill_requested);
    fprintf(stderr, "backpressure: paused at %llu bytes, +%ld KiB RSS while paused, state %c\n",
            (unsigned long long)b.r.total_at_pause, b.rss_later - b.rss_at_pause, b.state_later);
    loop_end();
}

struct killer {
    struct run r;
    bool sent;
};

static void
on_data_then_kill(struct exec_proc *p, enum exec_stream s, struct ag_iov d, void *arg)
{
    struct killer *k = arg;

    on_data(p, s, d, &k->r);
    if (!k->sent && strstr(k->r.out, "ready") != NULL) {
        k->sent = true;
        k->r.spawned_at = uv_now(&loop); /* measure from the kill */
        T_EQ_INT(exec_proc_kill(p), 0);
        T_EQ_INT(exec_proc_kill(p), 0); /* again: no effect */
    }
}

T_TEST(test_kill_sigterm_then_sigkill)
{
    struct killer a;
    struct killer b;

    loop_begin(WATCHDOG_MS);
    /* a: ignores SIGTERM (and so does its sleep: SIG_IGN survives exec): SIGKILL after grace. */
    memset(&a, 0, sizeof(a));
    run_init(&a.r);
    a.r.o.arg = &a;
    a.r.o.on_data = on_data_then_kill;
    a.r.o.kill_grace_ms = 300;
    T_EQ_INT(run_spawn(&a.r, SH("trap '' TERM; echo ready; while :; do sleep 0.05; done")), 0);
    /* b: dies of SIGTERM at once. */
    memset(&b, 0, sizeof(b));
    run_init(&b.r);
    b.r.o.arg = &b;
    b.r.o.on_data = on_data_then_kill;
    b.r.o.kill_grace_ms = 300;
    T_EQ_INT(run_spawn(&b.r, SH("echo ready; exec sleep 10")), 0);
    T_CHECK(getpgid(exec_proc_pid(a.r.p)) == exec_proc_pid(a.r.p)); /* own process group */
    T_CHECK(getsid(exec_proc_pid(a.r.p)) == exec_proc_pid(a.r.p));  /* own session */
    run_all();
    T_EQ_INT(a.r.ex.code, 128 + SIGKILL);
    T_CHECK(a.r.exit_at - a.r.spawned_at >= 290);
    T_CHECK(a.r.exit_at - a.r.spawned_at < 2000);
    T_EQ_INT(b.r.ex.code, 128 + SIGTERM);
    T_CHECK(b.r.exit_at - b.r.spawned_at < 290);
    fprintf(stderr, "kill: TERM-ignoring child gone after %llu ms, plain child after %llu ms\n",
            (unsigned long long)(a.r.exit_at - a.r.spawned_at),
            (unsigned long long)(b.r.exit_at - b.r.spawned_at));
    loop_end();
}

T_TEST(test_grandchild_holds_stdout)
{
    /* sh exits at once; its background sleep keeps stdout open. The exit is reported after the
     * join grace (300 ms here, 10 s by default like Proc.LocalProc.join), with what was read. */
    struct run r;
    pid_t pgid = 0;

    loop_begin(WATCHDOG_MS);
    run_init(&r);
    r.o.join_grace_ms = 300;
    T_EQ_INT(run_spawn(&r, SH("sleep 5 & echo parent")), 0);
    pgid = exec_proc_pid(r.p);
    run_all();
    T_CHECK(r.exited);
    T_EQ_STR(r.out, "parent\n");
    T_EQ_INT(r.ex.code, 0);
    T_CHECK(r.ex.output_abandoned);
    T_EQ_INT(r.eof_out, AG_ETIMEDOUT);
    T_EQ_INT(r.eof_err, AG_ETIMEDOUT);
    T_CHECK(r.exit_at - r.spawned_at >= 290);
    T_CHECK(r.exit_at - r.spawned_at < 3000);
    T_CHECK(!r.data_after_exit);
    /* The leftover sleep is in the child's group: clean it up. */
    T_EQ_INT(kill(-pgid, SIGKILL), 0);
    loop_end();
}

struct paused {
    struct run r;
    uv_timer_t t;
};

static void
on_resume(uv_timer_t *t)
{
    struct paused *p = t->data;

    exec_proc_read_start(p->r.p, EXEC_STDOUT | EXEC_STDERR);
    uv_close((uv_handle_t *)t, NULL);
}

T_TEST(test_paused_consumer_loses_nothing)
{
    /* The child writes 60000 bytes (they fit the pipe) and exits while we are paused for longer
     * than the join grace: paused time does not count, so everything arrives and nothing is
     * abandoned. */
    struct paused p;

    memset(&p, 0, sizeof(p));
    loop_begin(WATCHDOG_MS);
    run_init(&p.r);
    p.r.o.join_grace_ms = 100;
    T_EQ_INT(run_spawn(&p.r, SH("head -c 60000 /dev/zero; printf e >&2")), 0);
    exec_proc_read_stop(p.r.p, EXEC_STDOUT | EXEC_STDERR);
    p.t.data = &p;
    T_EQ_INT(uv_timer_init(&loop, &p.t), 0);
    T_EQ_INT(uv_timer_start(&p.t, on_resume, 400, 0), 0);
    run_all();
    T_EQ_U64(p.r.out_total, 60000);
    T_EQ_STR(p.r.err, "e");
    T_CHECK(!p.r.ex.output_abandoned);
    T_EQ_INT(p.r.eof_out, 0);
    T_CHECK(p.r.exit_at - p.r.spawned_at >= 390);
    loop_end();
}

T_TEST(test_child_closes_stdout_early)
{
    struct run r;

    loop_begin(WATCHDOG_MS);
    run_init(&r);
    T_EQ_INT(run_spawn(&r, SH("printf early; exec >&- 2>&-; sleep 0.6; exit 3")), 0);
    run_all();
    T_EQ_STR(r.out, "early");
    T_EQ_INT(r.eof_out, 0);
    T_EQ_INT(r.ex.code, 3);
    /* EOF came long before the exit, and the exit was still reported when it happened. */
    T_CHECK(r.exit_at - r.eof_out_at >= 300);
    T_CHECK(r.exit_at - r.spawned_at >= 590);
    T_CHECK(!r.ex.output_abandoned);
    loop_end();
}

T_TEST(test_fifty_concurrent)
{
    enum { N = 50 };
    struct run *r = calloc(N, sizeof(*r));
    char num[N][8];
    char *argv[N][6];

    T_CHECK(r != NULL);
    /* Fifty shells under ASan on a loaded 2-core machine can take longer than the usual
     * watchdog (seen once: the loop was stopped before the last ones closed). */
    loop_begin(4 * WATCHDOG_MS);
    for (int i = 0; i < N; i++) {
        (void)snprintf(num[i], sizeof(num[i]), "%d", i);
        argv[i][0] = "/bin/sh";
        argv[i][1] = "-c";
        argv[i][2] = "head -c $(($1 * 20000)) /dev/zero; printf x$1 >&2; exit $(($1 * 5))";
        argv[i][3] = "sh";
        argv[i][4] = num[i];
        argv[i][5] = NULL;
        run_init(&r[i]);
        r[i].o.read_chunk = 4096 + (size_t)i * 512;
        T_EQ_INT(run_spawn(&r[i], argv[i]), 0);
    }
    run_all();
    for (int i = 0; i < N; i++) {
        char want[8];

        (void)snprintf(want, sizeof(want), "x%d", i);
        T_CHECK(r[i].closed);
        T_EQ_INT(r[i].ex.code, (i * 5) & 0xff);
        T_EQ_U64(r[i].out_total, (uint64_t)i * 20000);
        T_EQ_STR(r[i].err, want);
        T_CHECK(!r[i].data_after_exit);
    }
    loop_end();
    free(r);
}

T_TEST(test_env_cwd_and_spawn_errors)
{
    char *envp[] = {"FOO=bar baz", "PATH=/usr/bin:/bin", NULL};
    char *missing[] = {"/nonexistent/program", NULL};
    char noexec_path[] = "/tmp/ag_exec_noexecXXXXXX";
    int nfd = mkstemp(noexec_path); /* mode 0600: not executable, even for root */
    char *noexec[] = {noexec_path, NULL};
    struct run r;
    struct run m;
    struct ag_err err = {0};
    struct exec_proc *p = NULL;
    int rc = 0;

    loop_begin(WATCHDOG_MS);
    run_init(&r);
    r.o.envp = envp;
    r.o.cwd = "/tmp";
    T_EQ_INT(run_spawn(&r, SH("printf '%s|%s|%s' \"$FOO\" \"$(pwd)\" \"${HOME-unset}\"")), 0);
    run_all();
    T_EQ_STR(r.out, "bar baz|/tmp|unset");

    /* Java: Cannot run program "<cmd0>" (in directory "<dir>"): error=2, No such file ... */
    run_init(&m);
    m.o.argv = missing;
    m.o.cwd = "/tmp";
    rc = exec_proc_spawn(&loop, &m.o, &p, &err);
    T_EQ_INT(rc, UV_ENOENT);
    T_EQ_STR(err.msg, "Cannot run program \"/nonexistent/program\" (in directory \"/tmp\"): "
                      "error=2, No such file or directory");
    m.o.argv = noexec;
    m.o.cwd = NULL;
    rc = exec_proc_spawn(&loop, &m.o, &p, &err);
    T_EQ_INT(rc, UV_EACCES);
    T_CHECK(strstr(err.msg, "error=13") != NULL);
    (void)close(nfd);
    (void)unlink(noexec_path);
    m.o.argv = SH("true");
    m.o.cwd = "/nonexistent-dir";
    rc = exec_proc_spawn(&loop, &m.o, &p, &err);
    T_EQ_INT(rc, UV_ENOENT);
    m.o.cwd = NULL;
    m.o.read_chunk = 0;
    T_EQ_INT(exec_proc_spawn(&loop, &m.o, &p, &err), AG_EUSAGE);
    run_all(); /* releases the failed spawns */
    loop_end();
}

T_TEST(test_close_live_child_reaps_it)
{
    struct run r;
    pid_t pid = 0;
    char path[64];
    struct stat sb;

    loop_begin(WATCHDOG_MS);
    run_init(&r);
    T_EQ_INT(run_spawn(&r, SH("exec sleep 10")), 0);
    pid = exec_proc_pid(r.p);
    T_CHECK(exec_proc_is_alive(r.p));
    exec_proc_close(r.p, on_closed, &r);
    run_all();
    T_CHECK(r.closed);
    T_CHECK(!r.exited); /* no exit callback after close */
    (void)snprintf(path, sizeof(path), "/proc/%ld", (long)pid);
    T_CHECK(stat(path, &sb) == -1 && errno == ENOENT); /* reaped, not a zombie */
    loop_end();
}

struct epipe {
    struct run r;
    int status;
    bool called;
};

static void
on_epipe_written(struct exec_proc *p, int status, void *arg)
{
    struct epipe *e = arg;

    (void)p;
    e->called = true;
    e->status = status;
}

static void
on_data_then_write(struct exec_proc *p, enum exec_stream s, struct ag_iov d, void *arg)
{
    struct epipe *e = arg;
    static const uint8_t junk[70000];
    struct ag_iov v = {junk, sizeof(junk)};

    on_data(p, s, d, &e->r);
    if (strstr(e->r.out, "closed") != NULL && !e->called && exec_proc_stdin_queued(p) == 0) {
        T_EQ_INT(exec_proc_write(p, v, on_epipe_written, e), 0);
    }
}

T_TEST(test_write_to_closed_stdin_fails_cleanly)
{
    /* The child closes its stdin; our write gets EPIPE in the callback (SIGPIPE is ignored),
     * nothing crashes, and the exit is still reported. */
    struct epipe e;

    memset(&e, 0, sizeof(e));
    loop_begin(WATCHDOG_MS);
    run_init(&e.r);
    e.r.o.arg = &e;
    e.r.o.on_data = on_data_then_write;
    e.r.o.stdin_pipe = true;
    T_EQ_INT(run_spawn(&e.r, SH("exec 0<&-; echo closed; sleep 0.3")), 0);
    run_all();
    T_CHECK(e.called);
    T_EQ_INT(e.status, UV_EPIPE);
    T_EQ_INT(e.r.ex.code, 0);
    loop_end();
}

T_TEST(test_spawn_allocation_failures)
{
    /* Fail each of the first allocations of a spawn in turn: AG_ENOMEM or success, never a
     * crash or a leak (ASan's leak check runs at exit). */
    static char *argv[] = {"/bin/true", NULL};

    for (uint64_t n = 1; n <= 6; n++) {
        struct run r;
        struct ag_err err = {0};
        int rc = 0;

        loop_begin(WATCHDOG_MS);
        run_init(&r);
        r.o.argv = argv;
        ag_alloc_fail_after(n);
        rc = exec_proc_spawn(&loop, &r.o, &r.p, &err);
        ag_alloc_fail_after(0);
        T_CHECK(rc == 0 || rc == AG_ENOMEM);
        run_all();
        T_CHECK(rc != 0 || (r.exited && r.closed));
        loop_end();
    }
}

T_TEST(test_no_zombies_left)
{
    /* Every child of this test process has been reaped. */
    DIR *d = opendir("/proc");
    struct dirent *de = NULL;
    int children = 0;
    char want[32];

    T_CHECK(d != NULL);
    (void)snprintf(want, sizeof(want), "PPid:\t%ld\n", (long)getpid());
    while (d != NULL && (de = readdir(d)) != NULL) {
        char path[300];
        char buf[2048];
        int fd = -1;
        ssize_t n = 0;

        if (de->d_name[0] < '0' || de->d_name[0] > '9') {
            continue;
        }
        (void)snprintf(path, sizeof(path), "/proc/%s/status", de->d_name);
        fd = open(path, O_RDONLY);
        if (fd < 0) {
            continue;
        }
        n = read(fd, buf, sizeof(buf) - 1);
        (void)close(fd);
        if (n > 0) {
            buf[n] = '\0';
            if (strstr(buf, want) != NULL) {
                fprintf(stderr, "left-over child: %s\n", de->d_name);
                children++;
            }
        }
    }
    if (d != NULL) {
        (void)closedir(d);
    }
    T_EQ_INT(children, 0);
}

T_MAIN(T_CASE(test_exit_codes), T_CASE(test_stdout_stderr_separate_and_merged),
       T_CASE(test_binary_passes_untouched), T_CASE(test_stdin_pipe_and_eof),
       T_CASE(test_backpressure_pauses_child), T_CASE(test_kill_sigterm_then_sigkill),
       T_CASE(test_grandchild_holds_stdout), T_CASE(test_paused_consumer_loses_nothing),
       T_CASE(test_child_closes_stdout_early), T_CASE(test_fifty_concurrent),
       T_CASE(test_env_cwd_and_spawn_errors), T_CASE(test_close_live_child_reaps_it),
       T_CASE(test_write_to_closed_stdin_fails_cleanly), T_CASE(test_spawn_allocation_failures),
       T_CASE(test_no_zombies_left))
