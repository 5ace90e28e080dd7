/*
 * callables_files.c: the FilePath tasks of a freestyle build (spec callables.md A.3 steps 2, 3
 * and 9, B.3): hudson.FilePath$Mkdirs, $CreateTextTempFile and $Delete. They arrive inside
 * FilePath$FileCallableWrapper and are dispatched by filepath.c's table.
 *
 * Each is a handful of system calls (mkdir, open/write, unlink), run in libuv's thread pool
 * (uv_queue_work) and answered from the loop, so a hung file system cannot stall the channel.
 */
#include "launch.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "alloc.h"
#include "callables_int.h"
#include "channel.h"
#include "compiler.h"
#include "err.h"
#include "util.h"

#define FILES_MAX_PATH 4096u
#define FILES_TEMP_TRIES 100

static const char *tmpdir = "/tmp"; /* java.io.tmpdir on Linux (errata 3) */

void
agent_files_set_tmpdir(const char *dir)
{
    tmpdir = dir != NULL ? dir : "/tmp";
}

/* mkdir -p path (mode 0777 before umask). Returns 0 or -errno. */
static int
mkdirs(const char *path)
{
    char buf[FILES_MAX_PATH];
    size_t len = strlen(path);
    struct stat st;

    if (len == 0 || len >= sizeof(buf)) {
        return -ENAMETOOLONG;
    }
    memcpy(buf, path, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0') {
            continue;
        }
        buf[i] = '\0';
        if (mkdir(buf, 0777) == -1) {
            int e = errno;

            if (e != EEXIST || stat(buf, &st) == -1 || !S_ISDIR(st.st_mode)) {
                return e == EEXIST ? -ENOTDIR : -e;
            }
        }
        if (i < len) {
            buf[i] = '/';
        }
    }
    return 0;
}

/* One file task, run in libuv's thread pool so that a slow or hung file system (an NFS
 * workspace) never stalls the loop that carries every build's output; the call is completed from
 * the after-work callback on the loop. Without a loop (unit tests, fuzzing) it runs inline. */
enum fs_kind {
    FS_MKDIRS = 0,
    FS_TEMP,
    FS_DELETE,
};

struct fs_job {
    uv_work_t work;
    struct rem_call *call; /* borrowed: completed by job_complete */
    enum fs_kind kind;
    char *path; /* owned copy */
    /* CreateTextTempFile: strings of the call's message, valid until the call completes, which
     * is after the work (the message is only read). */
    bool here;
    const char *prefix;
    const char *suffix;
    const char *contents;
    size_t clen;
    const char *dir_tmp;
    /* Result: exc NULL on success; msg is the error text or the created path. */
    const char *exc;
    char msg[FILES_MAX_PATH + 256];
};

static void AG_PRINTF(3, 4) job_fail(struct fs_job *j, const char *exc, const char *fmt, ...)
{
    va_list ap;
    int n;

    j->exc = exc;
    va_start(ap, fmt);
    n = vsnprintf(j->msg, sizeof(j->msg), fmt, ap);
    va_end(ap);
    if (n < 0) {
        j->msg[0] = '\0'; /* the exception class still says what failed */
    }
}

static void
run_mkdirs(struct fs_job *j)
{
    struct stat st;
    int rc;

    /* FilePath.Mkdirs: an existing path (of any kind) is TRUE. */
    if (stat(j->path, &st) == 0) {
        return;
    }
    rc = mkdirs(j->path);
    if (rc != 0) {
        job_fail(j, "java.io.IOException", "Failed to mkdirs: %s (%s)", j->path, strerror(-rc));
    }
}

static int
write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);

        if (w == -1) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void
run_temp(struct fs_job *j)
{
    const char *dir = j->dir_tmp;
    char name[FILES_MAX_PATH];
    int fd = -1;
    int rc = 0;

    if (j->here) {
        rc = mkdirs(j->path);
        if (rc != 0) {
            job_fail(j, "java.io.IOException", "Failed to create a temp file on %s: %s", j->path,
                     strerror(-rc));
            return;
        }
        dir = j->path;
    }
    /* Files.createTempFile: prefix + Long.toUnsignedString(random) + suffix, created
     * exclusively with mode 0600. */
    for (int i = 0; i < FILES_TEMP_TRIES; i++) {
        uint64_t r = 0;

        rc = uv_random(NULL, NULL, &r, sizeof(r), 0, NULL);
        if (rc != 0) {
            break;
        }
        if (ag_snprintf(name, sizeof(name), "%s/%s%" PRIu64 "%s", dir, j->prefix, r, j->suffix) <
            0) {
            rc = -ENAMETOOLONG;
            break;
        }
        fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd != -1) {
            rc = 0;
            break;
        }
        rc = -errno;
        if (rc != -EEXIST) {
            break;
        }
    }
    if (fd == -1) {
        job_fail(j, "java.io.IOException", "Failed to create a temp file on %s: %s", dir,
                 rc < 0 ? strerror(-rc) : "too many tries");
        return;
    }
    rc = j->contents != NULL ? write_all(fd, j->contents, j->clen) : 0;
    if (close(fd) == -1 && rc == 0) {
        rc = -errno;
    }
    if (rc != 0) {
        (void)unlink(name); /* best effort: the call fails either way */
        job_fail(j, "java.io.IOException", "Failed to write %s: %s", name, strerror(-rc));
        return;
    }
    /* File.getAbsolutePath(): relative only if the directory was relative. */
    if (name[0] != '/') {
        char cwd[FILES_MAX_PATH];

        if (getcwd(cwd, sizeof(cwd)) != NULL &&
            ag_snprintf(j->msg, sizeof(j->msg), "%s/%s", cwd, name) == 0) {
            return;
        }
    }
    if (ag_snprintf(j->msg, sizeof(j->msg), "%s", name) != 0) {
        job_fail(j, "java.io.IOException", "temp file name too long: %s", name);
    }
}

static void
run_delete(struct fs_job *j)
{
    /* Util.deleteFile: a file or an empty directory; a missing path is fine. */
    if (unlink(j->path) == 0 || errno == ENOENT) {
        return;
    }
    if ((errno == EISDIR || errno == EPERM) && rmdir(j->path) == 0) {
        return;
    }
    job_fail(j, "java.io.IOException", "Unable to delete '%s': %s", j->path, strerror(errno));
}

static void
on_work(uv_work_t *w)
{
    struct fs_job *j = AG_CONTAINER_OF(w, struct fs_job, work);

    switch (j->kind) {
    case FS_MKDIRS:
        run_mkdirs(j);
        break;
    case FS_TEMP:
        run_temp(j);
        break;
    case FS_DELETE:
        run_delete(j);
        break;
    }
}

static void
job_complete(struct fs_job *j)
{
    struct rem_call *call = j->call;

    if (j->exc != NULL) {
        rem_call_fail(call, j->exc, "%s", j->msg);
    } else if (j->kind == FS_MKDIRS) {
        rem_call_return(call, agent__new_boolean(rem_call_msg(call), true));
    } else if (j->kind == FS_TEMP) {
        rem_call_return_string(call, j->msg);
    } else {
        rem_call_return_null(call);
    }
    ag_free(j->path);
    ag_free(j);
}

static void
on_work_done(uv_work_t *w, int status)
{
    struct fs_job *j = AG_CONTAINER_OF(w, struct fs_job, work);

    if (status != 0) {
        job_fail(j, "java.io.IOException", "file task cancelled: %s", ag_strerror(status));
    }
    job_complete(j);
}

static void
on_job_cancel(struct rem_call *call, int code, void *arg)
{
    /* The file operation cannot be interrupted; on_work_done completes the call. */
    (void)call;
    (void)code;
    (void)arg;
}

static struct fs_job *
job_new(struct rem_call *call, enum fs_kind kind, const char *path)
{
    struct fs_job *j = ag_calloc(1, sizeof(*j));

    if (j == NULL || (j->path = ag_strdup(path)) == NULL) {
        ag_free(j);
        rem_call_fail(call, "java.io.IOException", "native-agent: out of memory");
        return NULL;
    }
    j->call = call;
    j->kind = kind;
    j->dir_tmp = tmpdir;
    return j;
}

static void
job_start(struct fs_job *j)
{
    uv_loop_t *loop = rem_channel_loop(rem_call_channel(j->call));

    if (loop != NULL) {
        rem_call_on_cancel(j->call, on_job_cancel, NULL);
        if (uv_queue_work(loop, &j->work, on_work, on_work_done) == 0) {
            return;
        }
    }
    on_work(&j->work);
    job_complete(j);
}

void
agent__task_mkdirs(struct rem_call *call, const struct jos_val *task, const char *path)
{
    struct fs_job *j = job_new(call, FS_MKDIRS, path);

    (void)task;
    if (j != NULL) {
        job_start(j);
    }
}

void
agent__task_delete(struct rem_call *call, const struct jos_val *task, const char *path)
{
    struct fs_job *j = job_new(call, FS_DELETE, path);

    (void)task;
    if (j != NULL) {
        job_start(j);
    }
}

void
agent__task_create_text_temp_file(struct rem_call *call, const struct jos_val *task,
                                  const char *path)
{
    const char *prefix = NULL;
    const char *suffix = NULL;
    const char *contents = NULL;
    size_t plen = 0;
    size_t slen = 0;
    size_t clen = 0;
    bool here = false;
    struct fs_job *j;

    if (jos_get_bool(task, "inThisDirectory", &here) != 0 ||
        jos_get_string(task, "prefix", &prefix, &plen) != 0 ||
        jos_get_string(task, "suffix", &suffix, &slen) != 0 ||
        jos_get_string(task, "contents", &contents, &clen) != 0) {
        rem_call_fail(call, "java.io.IOException", "malformed FilePath$CreateTextTempFile");
        return;
    }
    if (prefix == NULL || strlen(prefix) != plen || strchr(prefix, '/') != NULL ||
        (suffix != NULL && (strlen(suffix) != slen || strchr(suffix, '/') != NULL))) {
        rem_call_fail(call, "java.lang.IllegalArgumentException", "Invalid prefix or suffix");
        return;
    }
    j = job_new(call, FS_TEMP, path);
    if (j == NULL) {
        return;
    }
    j->here = here;
    j->prefix = prefix;
    j->suffix = suffix != NULL ? suffix : ".tmp"; /* Files.createTempFile's default */
    j->contents = contents;
    j->clen = clen;
    job_start(j);
}
