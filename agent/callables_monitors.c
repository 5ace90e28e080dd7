/*
 * callables_monitors.c: the six default node monitors (shared/spec/callables.md A.2.a, B.2).
 * Disk and temporary space can take the node offline (below 1 GiB by default) and the response
 * time monitor disconnects it after five failures, so these replies carry real values.
 *
 * statvfs and realpath, which may wait on a network file system, run on libuv's thread pool;
 * the /proc/meminfo read stays on the loop thread (procfs answers from memory).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "alloc.h"
#include "callables_int.h"
#include "channel.h"
#include "util.h"

void
agent__cb_arch(struct rem_call *call)
{
    struct utsname u;
    char out[sizeof(u.sysname) + sizeof(u.machine) + 8];

    if (uname(&u) == -1) {
        int e = errno;

        rem_call_fail(call, "java.io.IOException", "uname: %s", strerror(e));
        return;
    }
    /* ArchitectureMonitor: os.name + " (" + os.arch + ")"; the JDK's os.name is uname's. */
    (void)snprintf(out, sizeof(out), "%s (%s)", u.sysname, agent__java_arch(u.machine));
    rem_call_return_string(call, out);
}

static int64_t
now_ms(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_REALTIME, &ts); /* cannot fail with CLOCK_REALTIME */
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
agent__cb_clock(struct rem_call *call)
{
    struct jos_msg *m = rem_call_msg(call);
    int64_t start = 0;
    struct jos_val *r;

    if (jos_get_long(rem_call_callable(call), "startTime", &start) != 0) {
        rem_call_fail(call, "java.io.IOException", "Slave$GetClockDifference2 without startTime");
        return;
    }
    r = jos_new_object(m, "hudson.model.Slave$GetClockDifference3");
    if (r != NULL) {
        (void)jos_set_long(m, r, "remoteTime", now_ms());
        (void)jos_set_long(m, r, "startTime", start);
    }
    rem_call_return(call, r);
}

void
agent__cb_response_time(struct rem_call *call)
{
    const struct jos_val *req = rem_call_callable(call);
    struct jos_msg *m = rem_call_msg(call);
    struct jos_val *cur = NULL;
    struct jos_val *past5 = NULL;
    struct jos_val *copy = NULL;
    struct jos_val *r;
    int64_t start = 0;

    if (jos_get_long(req, "start", &start) != 0 || jos_get_obj(req, "cur", &cur) != 0) {
        rem_call_fail(call, "java.io.IOException", "ResponseTimeMonitor$Step2 without start/cur");
        return;
    }
    /* Echo cur (a ResponseTimeMonitor$Data or null) as a copy in the reply message. */
    if (cur != NULL) {
        if (!jos_val_is(cur, "hudson.node_monitors.ResponseTimeMonitor$Data") ||
            jos_get_obj(cur, "past5", &past5) != 0 ||
            (past5 != NULL && (past5->kind != JOS_K_ARRAY || past5->u.arr.elem != 'J'))) {
            rem_call_fail(call, "java.io.IOException",
                          "ResponseTimeMonitor$Step2.cur is not a ResponseTimeMonitor$Data");
            return;
        }
        copy = jos_new_object(m, "hudson.node_monitors.ResponseTimeMonitor$Data");
        if (copy != NULL && past5 != NULL) {
            (void)jos_set_obj(
                m, copy, "past5",
                jos_new_prim_array(m, "[J", past5->u.arr.raw, past5->u.arr.len, false));
        }
    }
    r = jos_new_object(m, "hudson.node_monitors.ResponseTimeMonitor$Step3");
    if (r != NULL) {
        (void)jos_set_long(m, r, "start", start);
        (void)jos_set_obj(m, r, "cur", copy);
    }
    rem_call_return(call, r);
}

/* One disk measurement. statvfs and realpath may wait on a slow or hung file system (an NFS
 * remote root), so on a channel with a loop they run on libuv's thread pool (uv_queue_work); the
 * job only touches its own fields there, and the reply is built in the after-work callback on
 * the loop thread. The call stays valid until it is completed, even when the channel terminates
 * or the controller cancels meanwhile (callables.h), so it is always completed there. */
struct disk_job {
    uv_work_t req;
    struct rem_call *call; /* borrowed: completed by reply_disk */
    char path[PATH_MAX];
    bool usable_ok; /* statvfs worked and something is usable */
    uint64_t usable;
    uint64_t total;
    char canon[PATH_MAX];
};

/* DiskSpaceMonitorDescriptor.GetUsableSpace.invoke: usable = f_bavail * f_frsize (Java's
 * File.getUsableSpace), null when 0; total = f_blocks * f_frsize; path = the canonical path.
 * Any thread: no logging, no call access. */
static void
disk_measure(struct disk_job *j)
{
    struct statvfs sv;

    if (statvfs(j->path, &sv) == -1) {
        return; /* Java's getUsableSpace() answers 0 for a missing path: null */
    }
    j->usable = (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
    j->total = (uint64_t)sv.f_blocks * (uint64_t)sv.f_frsize;
    j->usable_ok = j->usable > 0 && j->usable <= INT64_MAX && j->total <= INT64_MAX;
    if (realpath(j->path, j->canon) == NULL) {
        (void)snprintf(j->canon, sizeof(j->canon), "%s", j->path);
    }
}

static void
reply_disk(struct disk_job *j)
{
    struct jos_msg *m = rem_call_msg(j->call);
    struct jos_val *ds;

    if (!j->usable_ok) {
        rem_call_return_null(j->call);
        return;
    }
    ds = jos_new_object(m, "hudson.node_monitors.DiskSpaceMonitorDescriptor$DiskSpace");
    if (ds != NULL) {
        (void)jos_set_long(m, ds, "size", (int64_t)j->usable);
        (void)jos_set_long(m, ds, "totalSize", (int64_t)j->total);
        (void)jos_set_string(m, ds, "path", j->canon);
    }
    rem_call_return(j->call, ds);
}

static void
on_disk_work(uv_work_t *req)
{
    disk_measure(req->data);
}

static void
on_disk_done(uv_work_t *req, int status)
{
    struct disk_job *j = req->data;

    if (status != 0) {
        rem_call_fail(j->call, "java.io.IOException", "disk space of %s not measured: %s", j->path,
                      uv_strerror(status));
    } else {
        reply_disk(j);
    }
    ag_free(j);
}

static void
disk_space(struct rem_call *call, const char *path)
{
    struct rem_channel *ch = rem_call_channel(call);
    uv_loop_t *loop = ch != NULL ? rem_channel_loop(ch) : NULL;
    struct disk_job *j;

    if (strlen(path) >= PATH_MAX) {
        rem_call_fail(call, "java.io.IOException", "path of %zu bytes is too long", strlen(path));
        return;
    }
    j = ag_calloc(1, sizeof(*j));
    if (j == NULL) {
        rem_call_fail(call, "java.lang.OutOfMemoryError", "native-agent: out of memory");
        return;
    }
    j->call = call;
    j->req.data = j;
    (void)snprintf(j->path, sizeof(j->path), "%s", path); /* length checked above */
    if (loop != NULL && uv_queue_work(loop, &j->req, on_disk_work, on_disk_done) == 0) {
        return; /* on_disk_done completes the call */
    }
    /* No loop (unit tests) or the pool refused: measure here. */
    disk_measure(j);
    reply_disk(j);
    ag_free(j);
}

void
agent__task_usable_space(struct rem_call *call, const struct jos_val *task, const char *path)
{
    (void)task;
    disk_space(call, path);
}

void
agent__task_temp_space(struct rem_call *call, const struct jos_val *task, const char *path)
{
    (void)task;
    (void)path;
    /* java.io.tmpdir: /tmp on Linux; the JDK ignores $TMPDIR (callables-errata.md 3). */
    disk_space(call, "/tmp");
}

static int64_t
meminfo_field(const char *text, size_t len, const char *name)
{
    size_t nl = strlen(name);
    size_t i = 0;

    while (i < len) {
        size_t end = i;

        while (end < len && text[end] != '\n') {
            end++;
        }
        if (end - i > nl && memcmp(text + i, name, nl) == 0 && text[i + nl] == ':') {
            size_t p = i + nl + 1;
            size_t d;
            uint64_t v = 0;

            while (p < end && text[p] == ' ') {
                p++;
            }
            d = p;
            while (d < end && text[d] >= '0' && text[d] <= '9') {
                d++;
            }
            if (d > p && ag_parse_u64(text + p, d - p, (uint64_t)INT64_MAX / 1024, &v) == 0) {
                return (int64_t)v * 1024; /* ProcMemInfo multiplies the kB figures by 1024 */
            }
            return -1;
        }
        i = end + 1;
    }
    return -1;
}

void
agent__parse_meminfo(const char *text, size_t len, struct agent__meminfo *mi)
{
    mi->total_phys = meminfo_field(text, len, "MemTotal");
    mi->avail_phys = meminfo_field(text, len, "MemFree");
    mi->total_swap = meminfo_field(text, len, "SwapTotal");
    mi->avail_swap = meminfo_field(text, len, "SwapFree");
}

void
agent__cb_swap(struct rem_call *call)
{
    struct jos_msg *m = rem_call_msg(call);
    char text[16384];
    size_t len = 0;
    struct agent__meminfo mi;
    struct jos_val *r;
    int fd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);

    if (fd == -1) {
        rem_call_return_null(call); /* Java: the monitor shows nothing */
        return;
    }
    while (len < sizeof(text)) {
        ssize_t n = read(fd, text + len, sizeof(text) - len);

        if (n == -1 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        len += (size_t)n;
    }
    (void)close(fd); /* read-only: nothing to lose */
    agent__parse_meminfo(text, len, &mi);
    r = jos_new_object(m, "hudson.node_monitors.SwapSpaceMonitor$MemoryUsage2");
    if (r != NULL) {
        (void)jos_set_long(m, r, "availablePhysicalMemory", mi.avail_phys);
        (void)jos_set_long(m, r, "availableSwapSpace", mi.avail_swap);
        (void)jos_set_long(m, r, "totalPhysicalMemory", mi.total_phys);
        (void)jos_set_long(m, r, "totalSwapSpace", mi.total_swap);
    }
    rem_call_return(call, r);
}
