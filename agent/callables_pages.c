/*
 * callables_pages.c: the callables behind a connected node's pages (shared/spec/callables.md A.1
 * "UI-driven calls", B.8): System Information (system properties, environment, class loading
 * counters, thread dump), Log (our recent log records) and Script Console (no Groovy here).
 * docs/node.md shows what a user sees.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "alloc.h"
#include "callables_int.h"
#include "util.h"
#include "version.h"

extern char **environ;

/* ----- helpers: sorted string pairs ----- */

struct kv {
    char *k;      /* owned */
    char *v;      /* owned */
    size_t order; /* insertion order: the first of two equal keys wins */
};

struct kvs {
    struct kv *e; /* owned */
    size_t n;
    size_t cap;
    int rc;
};

static void
kvs_add(struct kvs *s, const char *k, size_t klen, const char *v)
{
    if (s->rc != 0) {
        return;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap == 0 ? 32 : s->cap * 2;
        struct kv *e = cap > AGENT_NODE_MAX_ENV ? NULL : ag_realloc(s->e, cap * sizeof(*e));

        if (e == NULL) {
            s->rc = cap > AGENT_NODE_MAX_ENV ? AG_ELIMIT : AG_ENOMEM;
            return;
        }
        s->e = e;
        s->cap = cap;
    }
    s->e[s->n].k = ag_strndup(k, klen);
    s->e[s->n].v = ag_strdup(v);
    s->e[s->n].order = s->n;
    if (s->e[s->n].k == NULL || s->e[s->n].v == NULL) {
        ag_free(s->e[s->n].k);
        ag_free(s->e[s->n].v);
        s->rc = AG_ENOMEM;
        return;
    }
    s->n++;
}

static void
kvs_fini(struct kvs *s)
{
    for (size_t i = 0; i < s->n; i++) {
        ag_free(s->e[i].k);
        ag_free(s->e[i].v);
    }
    ag_free(s->e);
}

static int
cmp_kv(const void *a, const void *b)
{
    const struct kv *x = a;
    const struct kv *y = b;
    int c = strcmp(x->k, y->k);

    if (c != 0) {
        return c;
    }
    return x->order < y->order ? -1 : (x->order > y->order ? 1 : 0);
}

/* Sort by key (String.compareTo: byte order of UTF-8 is code point order) and drop later
 * duplicates, as a TreeMap built from the entries in order keeps the first one... of a HashMap
 * source there are none. */
static void
kvs_sort(struct kvs *s)
{
    size_t k = 0;

    if (s->n == 0) {
        return;
    }
    qsort(s->e, s->n, sizeof(*s->e), cmp_kv);
    for (size_t i = 0; i < s->n; i++) {
        if (k > 0 && strcmp(s->e[k - 1].k, s->e[i].k) == 0) {
            ag_free(s->e[i].k);
            ag_free(s->e[i].v);
            continue;
        }
        s->e[k++] = s->e[i];
    }
    s->n = k;
}

/* Return a map of the pairs (TreeMap natural order, or LinkedHashMap in order). */
static void
return_map(struct rem_call *call, struct kvs *s, bool linked)
{
    struct jos_msg *m = rem_call_msg(call);
    const char **keys = ag_calloc(s->n + 1, sizeof(*keys));
    const char **vals = ag_calloc(s->n + 1, sizeof(*vals));

    if (keys == NULL || vals == NULL) {
        ag_free(keys);
        ag_free(vals);
        rem_call_fail(call, "java.lang.OutOfMemoryError", "native-agent: out of memory");
        return;
    }
    for (size_t i = 0; i < s->n; i++) {
        keys[i] = s->e[i].k;
        vals[i] = s->e[i].v;
    }
    rem_call_return(call, linked ? agent__new_linkedhashmap(m, keys, vals, s->n)
                                 : agent__new_treemap(m, keys, vals, s->n));
    ag_free(keys);
    ag_free(vals);
}

static void
add_c(struct kvs *s, const char *k, const char *v)
{
    kvs_add(s, k, strlen(k), v);
}

/* ----- System Information ----- */

void
agent__cb_system_properties(struct rem_call *call)
{
    struct kvs s = {0};
    struct utsname u;
    char cwd[4096];
    const char *cs = agent__default_charset();
    struct passwd pw;
    struct passwd *pwp = NULL;
    char pwbuf[4096];

    /* RemotingDiagnostics.GetSystemProperties: new TreeMap<>(System.getProperties()). We have no
     * JVM, so these are the properties a JVM here would report that describe the machine, plus
     * native-agent.* saying what runs (docs/node.md). */
    if (uname(&u) == -1) {
        (void)snprintf(u.sysname, sizeof(u.sysname), "Linux");
        (void)snprintf(u.release, sizeof(u.release), "unknown");
        (void)snprintf(u.machine, sizeof(u.machine), "unknown");
    }
    add_c(&s, "os.name", u.sysname);
    add_c(&s, "os.arch", agent__java_arch(u.machine));
    add_c(&s, "os.version", u.release);
    add_c(&s, "file.separator", "/");
    add_c(&s, "path.separator", ":");
    add_c(&s, "line.separator", "\n");
    add_c(&s, "java.io.tmpdir", "/tmp");
    add_c(&s, "file.encoding", cs);
    add_c(&s, "native.encoding", cs);
    add_c(&s, "sun.jnu.encoding", cs);
    add_c(&s, "user.dir", getcwd(cwd, sizeof(cwd)) != NULL ? cwd : "?");
    if (getpwuid_r(getuid(), &pw, pwbuf, sizeof(pwbuf), &pwp) == 0 && pwp != NULL) {
        add_c(&s, "user.name", pw.pw_name);
        add_c(&s, "user.home", pw.pw_dir);
    } else {
        /* The JDK's answers when the user database has no entry. */
        add_c(&s, "user.name", "?");
        add_c(&s, "user.home", "?");
    }
    add_c(&s, "native-agent.version", AG_VERSION);
    add_c(&s, "native-agent.remoting.version", AG_REMOTING_VERSION);
    add_c(&s, "native-agent.jvm", "none: native-agent is a Jenkins agent written in C");
    if (s.rc != 0) {
        rem_call_fail(call, "java.io.IOException", "system properties: %s", ag_strerror(s.rc));
    } else {
        kvs_sort(&s);
        return_map(call, &s, false);
    }
    kvs_fini(&s);
}

void
agent__cb_full_environment(struct rem_call *call)
{
    struct kvs s = {0};

    /* SlaveComputer.ListFullEnvironment: new TreeMap<>(System.getenv()). */
    for (char **e = environ; e != NULL && *e != NULL; e++) {
        const char *eq = strchr(*e, '=');

        if (eq == NULL || eq == *e) {
            continue; /* the JDK skips entries without a name */
        }
        kvs_add(&s, *e, (size_t)(eq - *e), eq + 1);
    }
    if (s.rc != 0) {
        rem_call_fail(call, "java.io.IOException", "environment: %s", ag_strerror(s.rc));
    } else {
        kvs_sort(&s);
        return_map(call, &s, false);
    }
    kvs_fini(&s);
}

void
agent__cb_loading_int(struct rem_call *call)
{
    /* No classes are ever loaded from the controller: counts are 0. */
    rem_call_return(call, agent__new_integer(rem_call_msg(call), 0));
}

void
agent__cb_loading_long(struct rem_call *call)
{
    rem_call_return(call, agent__new_long(rem_call_msg(call), 0));
}

static size_t
read_small(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t len = 0;

    if (fd == -1) {
        buf[0] = '\0';
        return 0;
    }
    while (len + 1 < size) {
        ssize_t n = read(fd, buf + len, size - 1 - len);

        if (n == -1 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        len += (size_t)n;
    }
    (void)close(fd); /* read-only */
    while (len > 0 && buf[len - 1] == '\n') {
        len--;
    }
    buf[len] = '\0';
    return len;
}

static const char *
thread_state(char st)
{
    switch (st) {
    case 'R':
        return "RUNNABLE";
    case 'S':
        return "WAITING (sleeping)";
    case 'D':
        return "WAITING (uninterruptible, disk)";
    case 'T':
    case 't':
        return "STOPPED";
    case 'Z':
        return "TERMINATED (zombie)";
    default:
        return "UNKNOWN";
    }
}

void
agent__cb_thread_dump(struct rem_call *call)
{
    struct kvs s = {0};
    DIR *d = opendir("/proc/self/task");
    struct dirent *de;

    /* RemotingDiagnostics.GetThreadDump: thread name -> its dump, sorted by name. Our threads are
     * the loop thread and libuv's workers; there are no Java stacks to show. */
    if (d == NULL) {
        int e = errno;

        rem_call_fail(call, "java.io.IOException", "cannot list /proc/self/task: %s", strerror(e));
        return;
    }
    while (s.rc == 0 && s.n < AGENT_NODE_MAX_THREADS && (de = readdir(d)) != NULL) {
        char path[300];
        char comm[64];
        char stat[1024];
        char wchan[128];
        char key[400];
        char val[1024];
        const char *rp;
        char st = '?';

        if (de->d_name[0] < '0' || de->d_name[0] > '9') {
            continue;
        }
        (void)snprintf(path, sizeof(path), "/proc/self/task/%s/comm", de->d_name);
        (void)read_small(path, comm, sizeof(comm));
        (void)snprintf(path, sizeof(path), "/proc/self/task/%s/stat", de->d_name);
        (void)read_small(path, stat, sizeof(stat));
        (void)snprintf(path, sizeof(path), "/proc/self/task/%s/wchan", de->d_name);
        (void)read_small(path, wchan, sizeof(wchan));
        rp = strrchr(stat, ')'); /* "tid (comm) S ...": the state follows the last ')' */
        if (rp != NULL && rp[1] == ' ' && rp[2] != '\0') {
            st = rp[2];
        }
        (void)snprintf(key, sizeof(key), "%s (tid %s)", comm[0] != '\0' ? comm : "?", de->d_name);
        (void)snprintf(val, sizeof(val),
                       "\"%s\" Id=%s %s\n\tnative thread of native-agent %s: no Java stack%s%s\n",
                       comm, de->d_name, thread_state(st), AG_VERSION,
                       wchan[0] != '\0' && strcmp(wchan, "0") != 0 ? "; kernel wait channel " : "",
                       wchan[0] != '\0' && strcmp(wchan, "0") != 0 ? wchan : "");
        add_c(&s, key, val);
    }
    (void)closedir(d); /* a directory stream: nothing to lose */
    if (s.rc != 0) {
        rem_call_fail(call, "java.io.IOException", "thread dump: %s", ag_strerror(s.rc));
    } else {
        kvs_sort(&s);
        return_map(call, &s, true);
    }
    kvs_fini(&s);
}

/* ----- Log ----- */

void
agent__cb_log_fetcher(struct rem_call *call)
{
    struct jos_msg *m = rem_call_msg(call);
    struct agent__log_rec *recs = NULL;
    size_t n = 0;
    struct jos_val **items = NULL;
    struct jos_val *levels[AG_LOG_FINEST + 1] = {0};
    static const uint8_t tail[6] = {1, 0, 0xff, 0xff, 0xff, 0xff}; /* version 1.0, no params */
    int rc = agent__log_records(&recs, &n);

    if (rc != 0) {
        rem_call_fail(call, "java.io.IOException", "log records: %s", ag_strerror(rc));
        return;
    }
    items = ag_calloc(n + 1, sizeof(*items));
    if (items == NULL) {
        agent__log_records_free(recs, n);
        rem_call_fail(call, "java.lang.OutOfMemoryError", "native-agent: out of memory");
        return;
    }
    for (size_t i = 0; i < n && m->build_err == 0; i++) {
        enum ag_log_level l = recs[i].level;
        struct jos_val *r = jos_new_object(m, "java.util.logging.LogRecord");

        if (levels[l] == NULL) {
            /* Java's Level constants are singletons: one object per level, referenced again. */
            levels[l] = jos_new_object(m, "java.util.logging.Level");
            if (levels[l] != NULL) {
                (void)jos_set_int(m, levels[l], "value", agent__jul_value(l));
                (void)jos_set_string(m, levels[l], "name", agent__jul_name(l));
                (void)jos_set_string(m, levels[l], "resourceBundleName",
                                     "sun.util.logging.resources.logging");
            }
        }
        if (r == NULL) {
            break;
        }
        /* LogRecord.writeObject: the fields, then bytes 1, 0 and the parameter count -1. */
        (void)jos_set_long(m, r, "longThreadID", 1);
        (void)jos_set_long(m, r, "millis", recs[i].millis);
        (void)jos_set_int(m, r, "nanoAdjustment", 0);
        (void)jos_set_long(m, r, "sequenceNumber", (int64_t)recs[i].seq);
        (void)jos_set_int(m, r, "threadID", 1);
        (void)jos_set_obj(m, r, "level", levels[l]);
        (void)jos_set_string(m, r, "loggerName", recs[i].component);
        (void)jos_set_string(m, r, "message", recs[i].message);
        (void)jos_custom_block(m, r, "java.util.logging.LogRecord", tail, sizeof(tail));
        items[i] = r;
    }
    rem_call_return(call, m->build_err == 0 ? agent__new_arraylist(m, items, n) : NULL);
    ag_free(items);
    agent__log_records_free(recs, n);
}

/* ----- Script Console and heap dump ----- */

void
agent__cb_script(struct rem_call *call)
{
    char msg[400];

    /* The console prints the returned text as the script's output: say plainly that nothing
     * ran, rather than fail with a stack trace or wait for an answer that never comes. */
    (void)snprintf(msg, sizeof(msg),
                   "This agent runs native-agent %s, a Jenkins agent written in C without a "
                   "JVM. It cannot run Groovy scripts; the script was not run.\n",
                   AG_VERSION);
    rem_call_return_string(call, msg);
}

void
agent__cb_heap_dump(struct rem_call *call)
{
    rem_call_fail(call, "java.io.IOException",
                  "native-agent %s has no JVM, so there is no Java heap to dump", AG_VERSION);
}
