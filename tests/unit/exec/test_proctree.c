/*
 * test_proctree.c: ProcessTree.killAll by cookie environment variables, on the real loop with
 * real process trees; plus the environ matching rules as a table.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "alloc.h"
#include "envvars.h"
#include "err.h"
#include "harness.h"
#include "proc.h"
#include "proctree.h"

struct match_case {
    const char *name; /* the Java behaviour */
    const char *environ;
    size_t len;
    const char *const model[4];
    bool want;
};

#define E(s) s, sizeof(s) - 1

static const struct match_case match_cases[] = {
    {"all pairs present", E("A=1\0B=2\0C=3\0"), {"A=1", "B=2", NULL}, true},
    {"one value differs (String.equals)", E("A=1\0B=2\0"), {"A=1", "B=3", NULL}, false},
    {"one key missing", E("A=1\0"), {"A=1", "B=2", NULL}, false},
    {"keys match in any case (EnvVars is a case-insensitive TreeMap)",
     E("hudson_cookie=x\0"),
     {"HUDSON_COOKIE=x", NULL},
     true},
    {"values are case-sensitive", E("K=abc\0"), {"K=ABC", NULL}, false},
    {"a later spelling replaces the value (put)", E("K=1\0k=2\0"), {"K=2", NULL}, true},
    {"an empty model matches nothing (sanity check against a rampage)", E("A=1\0"), {NULL}, false},
    {"an entry not ended by NUL is not read", E("A=1\0B=2"), {"B=2", NULL}, false},
    {"'=' at index 0 is ignored (addLine)", E("=1\0A=2\0"), {"A=2", NULL}, true},
    {"value split at the first '='", E("K=a=b\0"), {"K=a=b", NULL}, true},
    {"empty value matches empty", E("K=\0"), {"K=", NULL}, true},
    {"binary bytes compare exactly", E("K=\xff\xfe\0"), {"K=\xff\xfe", NULL}, true},
};

static struct exec_env *
mk(const char *const *kv)
{
    struct exec_env *e = NULL;

    if (exec_env_new(&e) != 0) {
        return NULL;
    }
    for (size_t i = 0; kv[i] != NULL; i++) {
        if (exec_env_add_line(e, kv[i], strlen(kv[i])) != 0) {
            exec_env_free(e);
            return NULL;
        }
    }
    return e;
}

T_TEST(test_environ_match_table)
{
    for (size_t i = 0; i < sizeof(match_cases) / sizeof(match_cases[0]); i++) {
        const struct match_case *c = &match_cases[i];
        struct exec_env *m = mk(c->model);
        bool got = false;

        T_CHECK(m != NULL);
        /* "K=" with an empty value: addLine keeps it (sep > 0). */
        got = exec_proctree_environ_matches((const uint8_t *)c->environ, c->len, m);
        if (got != c->want) {
            fprintf(stderr, "case: %s\n", c->name);
        }
        T_EQ_INT(got, c->want);
        exec_env_free(m);
    }
}

/* ---- loop tests ---------------------------------------------------------------------- */

static uv_loop_t loop;
static uv_timer_t watchdog;
static bool watchdog_fired;

static void
on_watchdog(uv_timer_t *t)
{
    (void)t;
    watchdog_fired = true;
    uv_stop(&loop);
}

static void
on_walk_close(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h)) {
        uv_close(h, NULL);
    }
}

struct tree {
    struct exec_proc *p;
    char out[256];
    size_t outlen;
    bool exited;
    bool closed;
    int code;
    bool ready;
};

static void
on_data(struct exec_proc *p, enum exec_stream s, struct ag_iov d, void *arg)
{
    struct tree *t = arg;
    size_t n = d.len < sizeof(t->out) - 1 - t->outlen ? d.len : sizeof(t->out) - 1 - t->outlen;

    (void)p;
    (void)s;
    memcpy(t->out + t->outlen, d.base, n);
    t->outlen += n;
    t->out[t->outlen] = '\0';
    if (strstr(t->out, "ready") != NULL && !t->ready) {
        t->ready = true;
    }
}

static void
on_closed(struct exec_proc *p, void *arg)
{
    struct tree *t = arg;

    (void)p;
    t->closed = true;
}

static void
on_exit_cb(struct exec_proc *p, const struct exec_exit *ex, void *arg)
{
    struct tree *t = arg;

    t->exited = true;
    t->code = ex->code;
    exec_proc_close(p, on_closed, t);
}

static int
start(struct tree *t, const char *script, char **envp)
{
    struct exec_proc_opts o;
    struct ag_err err = {0};
    char *argv[] = {"/bin/sh", "-c", (char *)script, NULL};

    memset(t, 0, sizeof(*t));
    exec_proc_opts_init(&o);
    o.argv = argv;
    o.envp = envp;
    o.merge_stderr = true;
    o.join_grace_ms = 200;
    o.on_data = on_data;
    o.on_exit = on_exit_cb;
    o.arg = t;
    return exec_proc_spawn(&loop, &o, &t->p, &err);
}

static bool kill_done;
static struct exec_proctree_result kill_res;

static void
on_killed(const struct exec_proctree_result *r, void *arg)
{
    (void)arg;
    kill_done = true;
    kill_res = *r;
}

static void
wait_ready(struct tree *t)
{
    while (!t->ready && !watchdog_fired && !t->exited) {
        (void)uv_run(&loop, UV_RUN_ONCE);
    }
}

T_TEST(test_kill_tree_by_cookie)
{
    char cookie[64];
    char other[64];
    char *env1[] = {cookie, "PATH=/usr/bin:/bin", "BUILD_ID=7", NULL};
    char *env2[] = {other, "PATH=/usr/bin:/bin", "BUILD_ID=7", NULL};
    struct tree a;
    struct tree b;
    struct tree c;
    struct exec_env *model = NULL;
    struct exec_proctree_opts o;
    pid_t *pids = NULL;
    size_t n = 0;
    struct exec_proctree_result res;
    uint64_t t0 = 0;

    (void)signal(SIGPIPE, SIG_IGN);
    watchdog_fired = false;
    (void)snprintf(cookie, sizeof(cookie), "HUDSON_COOKIE=ag-test-%ld-a", (long)getpid());
    (void)snprintf(other, sizeof(other), "HUDSON_COOKIE=ag-test-%ld-b", (long)getpid());
    T_EQ_INT(uv_loop_init(&loop), 0);
    T_EQ_INT(uv_timer_init(&loop, &watchdog), 0);
    T_EQ_INT(uv_timer_start(&watchdog, on_watchdog, 8000, 0), 0);
    uv_unref((uv_handle_t *)&watchdog);

    /* a: a shell with two background sleeps, all carrying the cookie.
     * c: the same cookie, but every process ignores SIGTERM: needs SIGKILL after the grace.
     * b: another cookie: must survive. */
    T_EQ_INT(start(&a, "sleep 30 & sleep 30 & echo ready; wait", env1), 0);
    wait_ready(&a);
    T_EQ_INT(start(&c, "trap '' TERM; sleep 30 & echo ready; wait", env1), 0);
    wait_ready(&c);
    T_EQ_INT(start(&b, "echo ready; exec sleep 30", env2), 0);
    wait_ready(&b);
    T_CHECK(a.ready && b.ready && c.ready);

    /* The model as KillTask sends it, keys in another case. */
    T_EQ_INT(exec_env_new(&model), 0);
    T_EQ_INT(exec_env_put(model, "hudson_cookie", strchr(cookie, '=') + 1), 0);
    T_EQ_INT(exec_env_put(model, "build_id", "7"), 0);
    /* A background child that is still inside execve() has no readable environ for a moment
     * (the scan counts it as unreadable), so scan until all five are seen, for at most 3 s. */
    for (int tries = 0;; tries++) {
        T_EQ_INT(exec_proctree_find(model, &pids, &n, &res), 0);
        if (n == 5 || tries >= 300) {
            break;
        }
        ag_free(pids);
        pids = NULL;
        (void)usleep(10000);
    }
    T_EQ_INT(n, 5); /* sh + 2 sleeps, sh + 1 sleep */
    T_EQ_INT(res.matched, 5);
    /* Children before parents: a's shell comes after both of its sleeps. */
    {
        size_t at_a = n;
        size_t children_before = 0;

        for (size_t i = 0; i < n; i++) {
            if (pids[i] == exec_proc_pid(a.p)) {
                at_a = i;
            }
        }
        for (size_t i = 0; i < at_a && i < n; i++) {
            if (pids[i] != exec_proc_pid(c.p)) {
                children_before++;
            }
        }
        T_CHECK(at_a < n);
        T_CHECK(children_before >= 2);
        for (size_t i = 0; i < n; i++) {
            T_CHECK(pids[i] != exec_proc_pid(b.p));
        }
    }
    ag_free(pids);

    exec_proctree_opts_init(&o);
    o.grace_ms = 300;
    kill_done = false;
    t0 = uv_now(&loop);
    T_EQ_INT(exec_proctree_kill_all(&loop, model, &o, on_killed, NULL), 0);
    while (!watchdog_fired && !(kill_done && a.closed && c.closed)) {
        (void)uv_run(&loop, UV_RUN_ONCE);
    }
    uv_update_time(&loop);
    T_CHECK(kill_done);
    T_EQ_INT(kill_res.rc, 0);
    T_EQ_INT(kill_res.matched, 5);
    /* Children are signalled before parents, so a shell whose children just died may leave
     * `wait` and exit before its own signal: it then counts as neither termed nor killed. What
     * is certain: a's two sleeps and c's sleep get SIGTERM, and c's sleep, which ignores it,
     * needs SIGKILL; c's shell (also ignoring SIGTERM) needs it unless it exited first. */
    T_CHECK(kill_res.termed >= 3 && kill_res.termed <= 5);
    T_CHECK(kill_res.killed >= 1 && kill_res.killed <= 2);
    T_EQ_INT(kill_res.survivors, 0);
    T_CHECK(uv_now(&loop) - t0 >= 290);
    T_CHECK(a.exited && c.exited);
    /* Children die first, so c's shell may see its sleep die and leave `wait` (status 0)
     * before its own SIGKILL lands; either way the whole tree is gone. */
    T_CHECK(c.code == 128 + SIGKILL || c.code == 0);
    fprintf(stderr, "proctree: scanned %zu, unreadable %zu, matched %zu, killed in %llu ms\n",
            kill_res.scanned, kill_res.unreadable, kill_res.matched,
            (unsigned long long)(uv_now(&loop) - t0));

    /* b is untouched; now end it. */
    T_CHECK(!b.exited && exec_proc_is_alive(b.p));
    T_EQ_INT(exec_proc_kill(b.p), 0);
    while (!watchdog_fired && !b.closed) {
        (void)uv_run(&loop, UV_RUN_ONCE);
    }
    T_EQ_INT(b.code, 128 + SIGTERM);

    /* An empty model kills nothing and still calls back. */
    exec_env_free(model);
    T_EQ_INT(exec_env_new(&model), 0);
    kill_done = false;
    T_EQ_INT(exec_proctree_kill_all(&loop, model, &o, on_killed, NULL), 0);
    (void)uv_run(&loop, UV_RUN_DEFAULT);
    T_CHECK(kill_done);
    T_EQ_INT(kill_res.matched, 0);
    exec_env_free(model);

    T_CHECK(!watchdog_fired);
    uv_walk(&loop, on_walk_close, NULL);
    (void)uv_run(&loop, UV_RUN_DEFAULT);
    T_EQ_INT(uv_loop_close(&loop), 0);
}

T_TEST(test_find_skips_self)
{
    /* Our own PATH matches us and many others; we are never in the list. */
    struct exec_env *model = NULL;
    const char *path = getenv("PATH");
    pid_t *pids = NULL;
    size_t n = 0;
    struct exec_proctree_result res;

    T_EQ_INT(exec_env_new(&model), 0);
    T_EQ_INT(exec_env_put(model, "PATH", path != NULL ? path : ""), 0);
    T_EQ_INT(exec_proctree_find(model, &pids, &n, &res), 0);
    T_CHECK(res.scanned > 0);
    for (size_t i = 0; i < n; i++) {
        T_CHECK(pids[i] != getpid());
    }
    ag_free(pids);
    exec_env_free(model);
}

T_TEST(test_scan_while_processes_vanish)
{
    /* A shell starts and ends processes as fast as it can while we scan /proc again and again:
     * entries vanish between readdir and the reads. Nothing may fail or crash; the churner
     * itself (its cookie) is found every time. */
    char cookie[64];
    char *env[] = {cookie, "PATH=/usr/bin:/bin", NULL};
    struct tree t;
    struct exec_env *model = NULL;
    size_t found_min = SIZE_MAX;

    (void)snprintf(cookie, sizeof(cookie), "JENKINS_NODE_COOKIE=churn-%ld", (long)getpid());
    T_EQ_INT(uv_loop_init(&loop), 0);
    T_EQ_INT(uv_timer_init(&loop, &watchdog), 0);
    T_EQ_INT(uv_timer_start(&watchdog, on_watchdog, 8000, 0), 0);
    uv_unref((uv_handle_t *)&watchdog);
    watchdog_fired = false;
    T_EQ_INT(
        start(&t, "echo ready; i=0; while [ $i -lt 200 ]; do /bin/true; i=$((i+1)); done", env), 0);
    wait_ready(&t);
    T_EQ_INT(exec_env_new(&model), 0);
    T_EQ_INT(exec_env_put(model, "JENKINS_NODE_COOKIE", strchr(cookie, '=') + 1), 0);
    for (int i = 0; i < 20 && !t.exited; i++) {
        pid_t *pids = NULL;
        size_t n = 0;
        struct exec_proctree_result res;

        T_EQ_INT(exec_proctree_find(model, &pids, &n, &res), 0);
        T_EQ_INT(res.rc, 0);
        found_min = n < found_min ? n : found_min;
        ag_free(pids);
        (void)uv_run(&loop, UV_RUN_NOWAIT);
    }
    while (!watchdog_fired && !t.closed) {
        (void)uv_run(&loop, UV_RUN_ONCE);
    }
    T_CHECK(found_min >= 1 || t.exited);
    exec_env_free(model);
    T_CHECK(!watchdog_fired);
    uv_walk(&loop, on_walk_close, NULL);
    (void)uv_run(&loop, UV_RUN_DEFAULT);
    T_EQ_INT(uv_loop_close(&loop), 0);
}

T_MAIN(T_CASE(test_environ_match_table), T_CASE(test_kill_tree_by_cookie),
       T_CASE(test_find_skips_self), T_CASE(test_scan_while_processes_vanish))
