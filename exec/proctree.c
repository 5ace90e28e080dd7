/*
 * proctree.c: ProcessTree.killAll on Linux (see proctree.h).
 *
 * A job goes SCAN -> (POLL)* -> KILL? -> done. Each step that touches /proc or sends signals is a
 * uv_queue_work on libuv's thread pool; between polls the loop waits on a timer. The job is owned
 * by itself and freed after the done callback.
 */
#include "proctree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "envvars.h"
#include "err.h"
#include "log.h"
#include "util.h"

#define LOG_COMP "exec"

struct model {
    char **keys; /* owned */
    size_t *klen;
    char **vals; /* owned */
    size_t *vlen;
    size_t n;
    const char **seen; /* scratch: last value seen per key in one environ */
    size_t *seenlen;
};

struct snap {
    pid_t pid;
    pid_t ppid;
    uint64_t start; /* starttime from /proc/<pid>/stat, field 22 */
    bool matched;
    bool queued; /* already in the target list */
};

struct target {
    pid_t pid;
    uint64_t start;
    bool gone;
};

enum job_phase {
    PT_SCAN = 0,
    PT_POLL = 1,
    PT_KILL = 2,
};

struct job {
    uv_loop_t *loop; /* borrowed */
    uv_work_t work;
    uv_timer_t timer;
    enum job_phase phase;
    struct model m;
    struct target *t; /* owned */
    size_t nt;
    uint64_t deadline;
    uint64_t backoff;
    struct exec_proctree_opts o;
    struct exec_proctree_result res;
    int first_err; /* first unreadable entry, for the log */
    pid_t first_pid;
    exec_proctree_done_cb cb;
    void *arg;
};

void
exec_proctree_opts_init(struct exec_proctree_opts *o)
{
    o->grace_ms = 5000;
    o->sigkill = true;
}

static void
model_fini(struct model *m)
{
    for (size_t i = 0; i < m->n; i++) {
        ag_free(m->keys[i]);
        ag_free(m->vals[i]);
    }
    ag_free(m->keys);
    ag_free(m->vals);
    ag_free(m->klen);
    ag_free(m->vlen);
    ag_free(m->seen);
    ag_free(m->seenlen);
    memset(m, 0, sizeof(*m));
}

static int
model_init(struct model *m, const struct exec_env *env)
{
    size_t n = exec_env_count(env);
    size_t c = n == 0 ? 1 : n;

    memset(m, 0, sizeof(*m));
    if (n > EXEC_PROCTREE_MAX_PAIRS) {
        return AG_ELIMIT;
    }
    m->keys = ag_calloc(c, sizeof(char *));
    m->vals = ag_calloc(c, sizeof(char *));
    m->klen = ag_calloc(c, sizeof(size_t));
    m->vlen = ag_calloc(c, sizeof(size_t));
    m->seen = ag_calloc(c, sizeof(char *));
    m->seenlen = ag_calloc(c, sizeof(size_t));
    if (m->keys == NULL || m->vals == NULL || m->klen == NULL || m->vlen == NULL ||
        m->seen == NULL || m->seenlen == NULL) {
        model_fini(m);
        return AG_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        const char *k = NULL;
        const char *v = NULL;

        exec_env_at(env, i, &k, &v);
        m->keys[i] = ag_strdup(k);
        m->vals[i] = ag_strdup(v);
        m->n = i + 1;
        if (m->keys[i] == NULL || m->vals[i] == NULL) {
            model_fini(m);
            return AG_ENOMEM;
        }
        m->klen[i] = strlen(k);
        m->vlen[i] = strlen(v);
    }
    return 0;
}

static bool
model_matches(struct model *m, const uint8_t *buf, size_t len)
{
    size_t pos = 0;

    if (m->n == 0) {
        return false; /* hasMatchingEnvVars: an empty model matches nothing */
    }
    for (size_t i = 0; i < m->n; i++) {
        m->seen[i] = NULL;
    }
    while (pos < len) {
        const uint8_t *nul = memchr(buf + pos, 0, len - pos);
        const char *e = (const char *)buf + pos;
        size_t elen = 0;
        const char *eq = NULL;

        if (nul == NULL) {
            break; /* Java only takes entries ended by a NUL byte */
        }
        elen = (size_t)(nul - (buf + pos));
        pos += elen + 1;
        eq = memchr(e, '=', elen);
        if (eq == NULL || eq == e) {
            continue; /* EnvVars.addLine ignores it */
        }
        for (size_t i = 0; i < m->n; i++) {
            if (exec_env_key_cmp(e, (size_t)(eq - e), m->keys[i], m->klen[i]) == 0) {
                m->seen[i] = eq + 1; /* a later spelling replaces the value, as TreeMap.put */
                m->seenlen[i] = elen - (size_t)(eq - e) - 1;
            }
        }
    }
    for (size_t i = 0; i < m->n; i++) {
        if (m->seen[i] == NULL || m->seenlen[i] != m->vlen[i] ||
            memcmp(m->seen[i], m->vals[i], m->vlen[i]) != 0) {
            return false;
        }
    }
    return true;
}

bool
exec_proctree_environ_matches(const uint8_t *environ, size_t len, const struct exec_env *model)
{
    struct model m;
    bool r = false;

    if (model_init(&m, model) != 0) {
        return false;
    }
    r = model_matches(&m, environ, len);
    model_fini(&m);
    return r;
}

/* Read up to max bytes of a /proc file into buf; returns the length or a negative errno. */
static ssize_t
read_small(const char *path, uint8_t *buf, size_t max)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t got = 0;
    int e = 0;

    if (fd == -1) {
        return -errno;
    }
    while (got < max) {
        ssize_t n = read(fd, buf + got, max - got);

        if (n == -1) {
            if (errno == EINTR) {
                continue;
            }
            e = errno;
            (void)close(fd);
            return -e;
        }
        if (n == 0) {
            break;
        }
        got += (size_t)n;
    }
    (void)close(fd);
    return (ssize_t)got;
}

/* PPid and starttime from /proc/<pid>/stat; state 'Z' (zombie) or 'X' report *dead. */
static int
read_stat(pid_t pid, pid_t *ppid, uint64_t *start, bool *dead)
{
    char path[64];
    uint8_t buf[1024];
    ssize_t n = 0;
    const char *p = NULL;
    const char *end = NULL;
    size_t field = 3;

    if (ag_snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid) != 0) {
        return -ENAMETOOLONG;
    }
    n = read_small(path, buf, sizeof(buf) - 1);
    if (n < 0) {
        return (int)n;
    }
    end = (const char *)buf + n;
    /* "pid (comm) S ppid ...": comm may hold spaces and ')', so start after the last ')'. */
    for (p = end; p > (const char *)buf && p[-1] != ')'; p--) {
    }
    if (p == (const char *)buf) {
        return -EINVAL;
    }
    while (p < end && field <= 22) {
        const char *tok = NULL;
        size_t tlen = 0;
        uint64_t v = 0;

        while (p < end && *p == ' ') {
            p++;
        }
        tok = p;
        while (p < end && *p != ' ' && *p != '\n') {
            p++;
        }
        tlen = (size_t)(p - tok);
        if (tlen == 0) {
            return -EINVAL;
        }
        if (field == 3) {
            *dead = tok[0] == 'Z' || tok[0] == 'X';
        } else if (field == 4 || field == 22) {
            if (ag_parse_u64(tok, tlen, field == 4 ? 0x7fffffffu : UINT64_MAX, &v) != 0) {
                return -EINVAL;
            }
            if (field == 4) {
                *ppid = (pid_t)v;
            } else {
                *start = v;
            }
        }
        field++;
    }
    return field > 22 ? 0 : -EINVAL;
}

static void
note_unreadable(struct job *j, pid_t pid, int e)
{
    j->res.unreadable++;
    if (j->first_err == 0) {
        j->first_err = e;
        j->first_pid = pid;
    }
}

static int
cmp_snap_ppid(const void *a, const void *b)
{
    const struct snap *x = a;
    const struct snap *y = b;

    if (x->ppid != y->ppid) {
        return x->ppid < y->ppid ? -1 : 1;
    }
    return x->pid < y->pid ? -1 : (x->pid > y->pid ? 1 : 0);
}

/* Index of the first snapshot entry with this ppid (array sorted by ppid), or n. */
static size_t
first_child(const struct snap *s, size_t n, pid_t ppid)
{
    size_t lo = 0;
    size_t hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (s[mid].ppid < ppid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* Append root and its descendants, deepest first (killRecursively: the children, each with its
 * own children first, then the process itself). Iterative, so a deep tree cannot overflow our
 * stack; every node enters the work stack at most once (`queued`), so n frames suffice. */
struct frame {
    size_t idx;
    bool expanded;
};

static void
add_tree(struct job *j, struct snap *s, size_t n, size_t root, pid_t self, struct frame *stack)
{
    size_t sp = 0;

    if (s[root].queued) {
        return;
    }
    s[root].queued = true;
    stack[sp++] = (struct frame){root, false};
    while (sp > 0) {
        struct frame *f = &stack[sp - 1];
        size_t idx = f->idx;
        size_t c0 = 0;
        size_t c1 = 0;

        if (f->expanded) {
            sp--;
            if (s[idx].pid != self) {
                j->t[j->nt].pid = s[idx].pid;
                j->t[j->nt].start = s[idx].start;
                j->t[j->nt].gone = false;
                j->nt++;
            }
            continue;
        }
        f->expanded = true;
        /* Children sorted by pid; pushed in reverse so the lowest pid is handled first. */
        c0 = first_child(s, n, s[idx].pid);
        for (c1 = c0; c1 < n && s[c1].ppid == s[idx].pid; c1++) {
        }
        for (size_t c = c1; c-- > c0;) {
            if (!s[c].queued) {
                s[c].queued = true;
                stack[sp++] = (struct frame){c, false};
            }
        }
    }
}

static int
scan(struct job *j, bool signal)
{
    DIR *d = opendir("/proc");
    struct snap *s = NULL;
    size_t n = 0;
    struct frame *stack = NULL;
    uint8_t *env = NULL;
    pid_t self = getpid();
    int rc = 0;

    if (d == NULL) {
        return -errno;
    }
    s = ag_calloc(EXEC_PROCTREE_MAX_PROCS, sizeof(*s));
    env = ag_malloc(EXEC_PROCTREE_MAX_ENVIRON);
    if (s == NULL || env == NULL) {
        rc = AG_ENOMEM;
        goto out;
    }
    for (;;) {
        struct dirent *de = NULL;
        uint64_t pid = 0;
        char path[64];
        ssize_t len = 0;
        bool dead = false;
        int e = 0;

        errno = 0;
        de = readdir(d);
        if (de == NULL) {
            break;
        }
        if (ag_parse_u64(de->d_name, strlen(de->d_name), 0x7fffffffu, &pid) != 0 || pid == 0) {
            continue; /* "self", "sys", ... */
        }
        if (n == EXEC_PROCTREE_MAX_PROCS) {
            AG_LOG_WARN(LOG_COMP, "more than %d processes in /proc; the rest are not considered",
                        EXEC_PROCTREE_MAX_PROCS);
            break;
        }
        j->res.scanned++;
        s[n].pid = (pid_t)pid;
        e = read_stat(s[n].pid, &s[n].ppid, &s[n].start, &dead);
        if (e != 0) {
            note_unreadable(j, s[n].pid, -e); /* vanished since readdir, most likely */
            continue;
        }
        if (ag_snprintf(path, sizeof(path), "/proc/%ld/environ", (long)pid) == 0) {
            len = read_small(path, env, EXEC_PROCTREE_MAX_ENVIRON);
        } else {
            len = -ENAMETOOLONG;
        }
        if (len == -ESRCH) {
            /* Kernel threads answer ESRCH: no environment at all, so no match. */
        } else if (len < 0) {
            note_unreadable(j, s[n].pid, (int)-len);
        } else if (s[n].pid != self && model_matches(&j->m, env, (size_t)len)) {
            s[n].matched = true;
            j->res.matched++;
        }
        n++;
    }
    if (n == 0) {
        goto out;
    }
    j->t = ag_calloc(n, sizeof(*j->t));
    stack = ag_calloc(n, sizeof(*stack));
    if (j->t == NULL || stack == NULL) {
        rc = AG_ENOMEM;
        goto out;
    }
    /* Matches in pid order (Java walks a HashMap of Integer keys, which is pid order for pids
     * below the table size), each with its descendants first. */
    qsort(s, n, sizeof(*s), cmp_snap_ppid);
    {
        size_t *roots = NULL;
        size_t nroots = 0;

        roots = ag_calloc(n, sizeof(*roots));
        if (roots == NULL) {
            rc = AG_ENOMEM;
            goto out;
        }
        for (size_t i = 0; i < n; i++) {
            if (s[i].matched) {
                roots[nroots++] = i;
            }
        }
        for (size_t a = 1; a < nroots; a++) {
            for (size_t b = a; b > 0 && s[roots[b - 1]].pid > s[roots[b]].pid; b--) {
                size_t tmp = roots[b];

                roots[b] = roots[b - 1];
                roots[b - 1] = tmp;
            }
        }
        for (size_t r = 0; r < nroots; r++) {
            add_tree(j, s, n, roots[r], self, stack);
        }
        ag_free(roots);
    }
    if (rc != 0 || !signal) {
        goto out;
    }
    for (size_t i = 0; i < j->nt; i++) {
        pid_t pp = 0;
        uint64_t st = 0;
        bool dead = false;

        if (read_stat(j->t[i].pid, &pp, &st, &dead) != 0 || st != j->t[i].start || dead) {
            j->t[i].gone = true;
            continue;
        }
        if (kill(j->t[i].pid, SIGTERM) == 0) {
            j->res.termed++;
        } else if (errno == ESRCH) {
            j->t[i].gone = true;
        } else {
            note_unreadable(j, j->t[i].pid, errno);
        }
    }
out:
    if (d != NULL) {
        (void)closedir(d);
    }
    ag_free(stack);
    ag_free(env);
    ag_free(s);
    return rc;
}

/* One poll: mark the targets that are gone (no stat, another start time, or a zombie). With
 * `kill`, SIGKILL the rest. Returns how many are left. */
static size_t
poll_targets(struct job *j, bool do_kill)
{
    size_t left = 0;

    for (size_t i = 0; i < j->nt; i++) {
        pid_t pp = 0;
        uint64_t st = 0;
        bool dead = false;

        if (j->t[i].gone) {
            continue;
        }
        if (read_stat(j->t[i].pid, &pp, &st, &dead) != 0 || st != j->t[i].start || dead) {
            j->t[i].gone = true;
            continue;
        }
        if (do_kill) {
            if (kill(j->t[i].pid, SIGKILL) == 0) {
                j->res.killed++;
                continue;
            }
            if (errno == ESRCH) {
                j->t[i].gone = true;
                continue;
            }
        }
        left++;
    }
    return left;
}

static void
on_work(uv_work_t *w)
{
    struct job *j = w->data;

    switch (j->phase) {
    case PT_SCAN:
        j->res.rc = scan(j, true);
        break;
    case PT_POLL:
        j->res.survivors = poll_targets(j, false);
        break;
    case PT_KILL:
        j->res.survivors = poll_targets(j, true);
        break;
    }
}

static void
on_timer_close(uv_handle_t *h)
{
    struct job *j = h->data;

    if (j->cb != NULL) {
        j->cb(&j->res, j->arg);
    }
    model_fini(&j->m);
    ag_free(j->t);
    ag_free(j);
}

static void
job_done(struct job *j)
{
    if (j->first_err != 0) {
        AG_LOG_DEBUG(LOG_COMP,
                     "process tree: %zu processes scanned, %zu could not be read (first: pid %ld: "
                     "%s)",
                     j->res.scanned, j->res.unreadable, (long)j->first_pid, strerror(j->first_err));
    }
    if (j->res.termed > 0 || j->res.killed > 0) {
        AG_LOG_INFO(LOG_COMP, "process tree: %zu matched, SIGTERM to %zu, SIGKILL to %zu, %zu left",
                    j->res.matched, j->res.termed, j->res.killed, j->res.survivors);
    }
    uv_close((uv_handle_t *)&j->timer, on_timer_close);
}

static void on_after_work(uv_work_t *w, int status);

static void
queue(struct job *j, enum job_phase ph)
{
    int rc = 0;

    j->phase = ph;
    rc = uv_queue_work(j->loop, &j->work, on_work, on_after_work);
    if (rc != 0) {
        AG_LOG_WARN(LOG_COMP, "process tree: cannot queue work: %s", ag_strerror(rc));
        j->res.rc = rc;
        job_done(j);
    }
}

static void
on_timer(uv_timer_t *t)
{
    queue(t->data, PT_POLL);
}

static void
on_after_work(uv_work_t *w, int status)
{
    struct job *j = w->data;
    uint64_t now = uv_now(j->loop);

    if (status != 0 || j->res.rc != 0) {
        if (j->res.rc == 0) {
            j->res.rc = status;
        }
        AG_LOG_WARN(LOG_COMP, "process tree scan failed: %s", ag_strerror(j->res.rc));
        job_done(j);
        return;
    }
    switch (j->phase) {
    case PT_SCAN:
        if (j->nt == 0) {
            job_done(j);
            return;
        }
        j->deadline = now + j->o.grace_ms;
        j->backoff = 10;
        break;
    case PT_POLL:
        if (j->res.survivors == 0) {
            job_done(j);
            return;
        }
        if (now >= j->deadline) {
            if (j->o.sigkill) {
                AG_LOG_WARN(LOG_COMP,
                            "process tree: %zu processes still alive %llu ms after SIGTERM; "
                            "sending SIGKILL",
                            j->res.survivors, (unsigned long long)j->o.grace_ms);
                queue(j, PT_KILL);
            } else {
                job_done(j);
            }
            return;
        }
        j->backoff = j->backoff * 2 > 1000 ? 1000 : j->backoff * 2;
        break;
    case PT_KILL:
        job_done(j);
        return;
    }
    (void)uv_timer_start(&j->timer, on_timer,
                         j->backoff < j->deadline - now ? j->backoff : j->deadline - now, 0);
}

int
exec_proctree_kill_all(uv_loop_t *loop, const struct exec_env *model,
                       const struct exec_proctree_opts *opts, exec_proctree_done_cb cb, void *arg)
{
    struct job *j = ag_calloc(1, sizeof(*j));
    int rc = 0;

    if (j == NULL) {
        return AG_ENOMEM;
    }
    rc = model_init(&j->m, model);
    if (rc != 0) {
        ag_free(j);
        return rc;
    }
    j->loop = loop;
    j->o = *opts;
    j->cb = cb;
    j->arg = arg;
    j->work.data = j;
    (void)uv_timer_init(loop, &j->timer); /* cannot fail */
    j->timer.data = j;
    if (j->m.n == 0) {
        job_done(j); /* matches nothing; cb on the next loop turn */
        return 0;
    }
    j->phase = PT_SCAN;
    rc = uv_queue_work(loop, &j->work, on_work, on_after_work);
    if (rc != 0) {
        j->cb = NULL; /* on_timer_close frees the job without calling anyone */
        uv_close((uv_handle_t *)&j->timer, on_timer_close);
        return rc;
    }
    return 0;
}

int
exec_proctree_find(const struct exec_env *model, pid_t **pids, size_t *n,
                   struct exec_proctree_result *res)
{
    struct job j;
    int rc = 0;

    memset(&j, 0, sizeof(j));
    rc = model_init(&j.m, model);
    if (rc != 0) {
        return rc;
    }
    rc = j.m.n == 0 ? 0 : scan(&j, false);
    *pids = NULL;
    *n = 0;
    if (rc == 0) {
        *pids = ag_calloc(j.nt == 0 ? 1 : j.nt, sizeof(pid_t));
        if (*pids == NULL) {
            rc = AG_ENOMEM;
        } else {
            for (size_t i = 0; i < j.nt; i++) {
                (*pids)[i] = j.t[i].pid;
            }
            *n = j.nt;
        }
    }
    if (res != NULL) {
        *res = j.res;
        res->rc = rc;
    }
    ag_free(j.t);
    model_fini(&j.m);
    return rc;
}
