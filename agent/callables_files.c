/*
 * callables_files.c: the FilePath tasks of a freestyle build (spec callables.md A.3 steps 2, 3
 * and 9, B.3): hudson.FilePath$Mkdirs, $CreateTextTempFile and $Delete. They arrive inside
 * FilePath$FileCallableWrapper and are dispatched by filepath.c's table.
 *
 * Each is a handful of system calls on local paths (mkdir, open/write, unlink), done directly on
 * the loop thread like the other small file callables; nothing here waits on a peer.
 */
#include "launch.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "alloc.h"
#include "callables_int.h"
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

void
agent__task_mkdirs(struct rem_call *call, const struct jos_val *task, const char *path)
{
    struct stat st;
    int rc;

    (void)task;
    /* FilePath.Mkdirs: an existing path (of any kind) is TRUE. */
    if (stat(path, &st) == 0) {
        rem_call_return(call, agent__new_boolean(rem_call_msg(call), true));
        return;
    }
    rc = mkdirs(path);
    if (rc != 0) {
        rem_call_fail(call, "java.io.IOException", "Failed to mkdirs: %s (%s)", path,
                      strerror(-rc));
        return;
    }
    rem_call_return(call, agent__new_boolean(rem_call_msg(call), true));
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
    const char *dir;
    char name[FILES_MAX_PATH];
    char abs[FILES_MAX_PATH];
    int fd = -1;
    int rc = 0;

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
    if (suffix == NULL) {
        suffix = ".tmp"; /* Files.createTempFile's default */
    }
    dir = tmpdir;
    if (here) {
        rc = mkdirs(path);
        if (rc != 0) {
            rem_call_fail(call, "java.io.IOException", "Failed to create a temp file on %s: %s",
                          path, strerror(-rc));
            return;
        }
        dir = path;
    }
    /* Files.createTempFile: prefix + Long.toUnsignedString(random) + suffix, created
     * exclusively with mode 0600. */
    for (int i = 0; i < FILES_TEMP_TRIES; i++) {
        uint64_t r = 0;

        rc = uv_random(NULL, NULL, &r, sizeof(r), 0, NULL);
        if (rc != 0) {
            break;
        }
        if (ag_snprintf(name, sizeof(name), "%s/%s%" PRIu64 "%s", dir, prefix, r, suffix) < 0) {
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
        rem_call_fail(call, "java.io.IOException", "Failed to create a temp file on %s: %s", dir,
                      rc < 0 ? strerror(-rc) : "too many tries");
        return;
    }
    rc = contents != NULL ? write_all(fd, contents, clen) : 0;
    if (close(fd) == -1 && rc == 0) {
        rc = -errno;
    }
    if (rc != 0) {
        (void)unlink(name); /* best effort: the call fails either way */
        rem_call_fail(call, "java.io.IOException", "Failed to write %s: %s", name, strerror(-rc));
        return;
    }
    /* File.getAbsolutePath(): relative only if the directory was relative. */
    if (name[0] != '/') {
        char cwd[FILES_MAX_PATH];

        if (getcwd(cwd, sizeof(cwd)) == NULL ||
            ag_snprintf(abs, sizeof(abs), "%s/%s", cwd, name) < 0) {
            rem_call_return_string(call, name);
            return;
        }
        rem_call_return_string(call, abs);
        return;
    }
    rem_call_return_string(call, name);
}

void
agent__task_delete(struct rem_call *call, const struct jos_val *task, const char *path)
{
    (void)task;
    /* Util.deleteFile: a file or an empty directory; a missing path is fine. */
    if (unlink(path) == 0 || errno == ENOENT) {
        rem_call_return_null(call);
        return;
    }
    if ((errno == EISDIR || errno == EPERM) && rmdir(path) == 0) {
        rem_call_return_null(call);
        return;
    }
    rem_call_fail(call, "java.io.IOException", "Unable to delete '%s': %s", path, strerror(errno));
}
