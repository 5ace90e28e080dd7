#include "workdir.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "conf.h"
#include "log.h"

/* WorkDirManager.DirType names, as agent.jar puts them into its error texts. */
#define TYPE_WORK "working directory"
#define TYPE_INTERNAL "remoting internal directory"
#define TYPE_LOGS "Log directory"

static char *
path_join(const char *a, const char *b)
{
    size_t la = strlen(a);
    size_t lb = strlen(b);
    size_t n;
    char *p;

    if (!ag_size_add(la, lb, &n) || !ag_size_add(n, 2, &n)) {
        return NULL;
    }
    p = ag_malloc(n);
    if (p == NULL) {
        return NULL;
    }
    memcpy(p, a, la);
    n = la;
    if (lb > 0) {
        if (la == 0 || a[la - 1] != '/') {
            p[n++] = '/';
        }
        memcpy(p + n, b, lb);
        n += lb;
    }
    p[n] = '\0';
    return p;
}

/* java.io.File.getAbsolutePath: a relative path is prefixed with the current directory. */
static char *
absolute(const char *path)
{
    char cwd[PATH_MAX];

    if (path[0] == '/') {
        return ag_strdup(path);
    }
    if (getcwd(cwd, sizeof(cwd)) == NULL) {
        return ag_strdup(path);
    }
    return path_join(cwd, path);
}

/* mkdir -p with mode 0755 (before the umask). */
static int
mkdirs(const char *path)
{
    char *p = ag_strdup(path);
    int rc = 0;

    if (p == NULL) {
        return AG_ENOMEM;
    }
    for (char *s = p + 1; *s != '\0'; s++) {
        if (*s != '/') {
            continue;
        }
        *s = '\0';
        if (mkdir(p, 0755) == -1 && errno != EEXIST) {
            rc = -errno;
            *s = '/';
            goto out;
        }
        *s = '/';
    }
    if (mkdir(p, 0755) == -1 && errno != EEXIST) {
        rc = -errno;
    }
out:
    ag_free(p);
    return rc;
}

/* WorkDirManager.initializeWorkDir's checks for one directory, then create it if missing. */
static int
check_dir(const char *type, const char *path, bool fail_if_missing, struct ag_err *err)
{
    struct stat st;
    int rc;

    if (stat(path, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            return ag_err_set(err, AG_EUSAGE, 0,
                              "The specified %s path points to a non-directory file: %s", type,
                              path);
        }
        if (access(path, R_OK | W_OK | X_OK) == -1) {
            return ag_err_set(err, AG_EUSAGE, 0,
                              "The specified %s should be fully accessible to the remoting "
                              "executable (RWX): %s",
                              type, path);
        }
        return 0;
    }
    if (errno != ENOENT) {
        rc = -errno;
        return ag_err_set(err, rc, 0, "cannot check the %s %s: %s", type, path, strerror(-rc));
    }
    if (fail_if_missing) {
        return ag_err_set(err, AG_EUSAGE, 0, "The %s is missing, but it is expected to exist: %s",
                          type, path);
    }
    rc = mkdirs(path);
    if (rc != 0) {
        return ag_err_set(err, rc, 0, "cannot create the %s %s: %s", type, path,
                          rc == AG_ENOMEM ? "out of memory" : strerror(-rc));
    }
    return 0;
}

/* remoting.log.N for N in 0..AGENT_WORKDIR_LOG_FILES-1. */
static int
log_name(const struct agent_workdir *wd, unsigned n, char *buf, size_t size)
{
    int w = snprintf(buf, size, "%s/remoting.log.%u", wd->log_dir, n);

    return w < 0 || (size_t)w >= size ? AG_ELIMIT : 0;
}

/* JUL FileHandler.rotate(): .3 -> .4, ..., .0 -> .1. Missing files are skipped. */
static int
rotate_files(const struct agent_workdir *wd)
{
    char from[PATH_MAX];
    char to[PATH_MAX];

    for (unsigned i = AGENT_WORKDIR_LOG_FILES - 1; i > 0; i--) {
        if (log_name(wd, i - 1, from, sizeof(from)) != 0 || log_name(wd, i, to, sizeof(to)) != 0) {
            return -ENAMETOOLONG;
        }
        if (rename(from, to) == -1 && errno != ENOENT) {
            return -errno;
        }
    }
    return 0;
}

static int
open_log(const char *path, bool append)
{
    return open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0644);
}

/*
 * The logger calls this after writing each line (under its lock, so it must not log): once a
 * line went to the file, check the size and rotate. One fstat per INFO-or-above line.
 */
static void
on_log_record(const struct ag_log_record *rec, void *arg)
{
    struct agent_workdir *wd = arg;

    if (rec->level <= AG_LOG_INFO) {
        if (agent_workdir_log_maybe_rotate(wd) != 0) {
            /* Keep writing to the current file; under the logger's lock there is nowhere to
             * report this, and the next line tries again. */
            return;
        }
    }
}

int
agent_workdir_setup(struct agent_workdir *wd, const struct agent_conf *conf, struct ag_err *err)
{
    char first[PATH_MAX];
    int rc = 0;

    memset(wd, 0, sizeof(*wd));
    wd->log_fd = -1;
    wd->max_bytes = AGENT_WORKDIR_LOG_MAX_BYTES;

    if (conf->work_dir != NULL) {
        const char *internal = conf->internal_dir != NULL ? conf->internal_dir : "remoting";

        for (const char *p = internal; *p != '\0'; p++) {
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                  (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-')) {
                return ag_err_set(err, AG_EUSAGE, 0,
                                  "Name of remoting internal directory ('%s') is not compliant "
                                  "with the required format [a-zA-Z0-9._-]*",
                                  internal);
            }
        }
        wd->work_dir = absolute(conf->work_dir);
        if (wd->work_dir == NULL) {
            return ag_err_set(err, AG_ENOMEM, 0, "out of memory");
        }
        wd->internal_dir = path_join(wd->work_dir, internal);
        if (wd->internal_dir == NULL) {
            return ag_err_set(err, AG_ENOMEM, 0, "out of memory");
        }
        rc = check_dir(TYPE_WORK, wd->work_dir, conf->fail_if_work_dir_missing, err);
        if (rc == 0) {
            rc = check_dir(TYPE_INTERNAL, wd->internal_dir, conf->fail_if_work_dir_missing, err);
        }
        if (rc != 0) {
            return rc;
        }
    }

    if (conf->agent_log != NULL) {
        /* Launcher: -agentLog replaces the work directory's log files. */
        wd->log_path = absolute(conf->agent_log);
        if (wd->log_path == NULL) {
            return ag_err_set(err, AG_ENOMEM, 0, "out of memory");
        }
        wd->log_fd = open_log(wd->log_path, false);
        if (wd->log_fd == -1) {
            rc = -errno;
            return ag_err_set(err, rc, 0, "cannot open the agent log %s: %s", wd->log_path,
                              strerror(-rc));
        }
    } else if (wd->internal_dir != NULL && conf->logging_config == NULL) {
        wd->log_dir = path_join(wd->internal_dir, "logs");
        if (wd->log_dir == NULL) {
            return ag_err_set(err, AG_ENOMEM, 0, "out of memory");
        }
        rc = check_dir(TYPE_LOGS, wd->log_dir, false, err);
        if (rc != 0) {
            return rc;
        }
        if (log_name(wd, 0, first, sizeof(first)) != 0) {
            return ag_err_set(err, -ENAMETOOLONG, 0, "log directory path too long: %s",
                              wd->log_dir);
        }
        /* FileHandler(append=false) rotates the old files away when it opens. */
        rc = rotate_files(wd);
        if (rc != 0) {
            return ag_err_set(err, rc, 0, "cannot rotate the logs in %s: %s", wd->log_dir,
                              strerror(-rc));
        }
        wd->log_path = ag_strdup(first);
        if (wd->log_path == NULL) {
            return ag_err_set(err, AG_ENOMEM, 0, "out of memory");
        }
        wd->log_fd = open_log(first, false);
        if (wd->log_fd == -1) {
            rc = -errno;
            return ag_err_set(err, rc, 0, "cannot open the log file %s: %s", first, strerror(-rc));
        }
    }
    if (wd->log_fd != -1) {
        ag_log_set_tee_fd(wd->log_fd);
        if (wd->log_dir != NULL) {
            rc = ag_log_add_sink(on_log_record, wd);
            if (rc != 0) {
                return ag_err_set(err, rc, 0, "no free log sink for rotating %s", first);
            }
            wd->sink_set = true;
        }
    }
    /* Logged once the file is open, so the file starts with it as agent.jar's does. */
    if (wd->internal_dir != NULL) {
        AG_LOG_INFO("agent", "Using %s as a remoting work directory", wd->internal_dir);
    }
    if (wd->log_fd != -1) {
        AG_LOG_INFO("agent", "Both error and output logs will be printed to %s",
                    conf->agent_log != NULL ? wd->log_path : wd->internal_dir);
    }
    return 0;
}

int
agent_workdir_log_maybe_rotate(struct agent_workdir *wd)
{
    char first[PATH_MAX];
    struct stat st;
    int fd;
    int rc;

    if (wd->log_fd == -1 || wd->log_dir == NULL) {
        return 0; /* -agentLog files are not rotated (agent.jar does not either) */
    }
    if (fstat(wd->log_fd, &st) == -1) {
        return -errno;
    }
    if ((uint64_t)st.st_size < wd->max_bytes) {
        return 0;
    }
    if (log_name(wd, 0, first, sizeof(first)) != 0) {
        return -ENAMETOOLONG;
    }
    rc = rotate_files(wd);
    if (rc != 0) {
        return rc;
    }
    fd = open_log(first, false);
    if (fd == -1) {
        return -errno;
    }
    /* dup2 swaps the file under the logger's descriptor number atomically. */
    if (dup2(fd, wd->log_fd) == -1) {
        rc = -errno;
        (void)close(fd);
        return rc;
    }
    (void)close(fd);
    (void)fcntl(wd->log_fd, F_SETFD, FD_CLOEXEC); /* dup2 cleared it; children must not inherit */
    return 0;
}

void
agent_workdir_fini(struct agent_workdir *wd)
{
    if (wd->sink_set) {
        ag_log_remove_sink(on_log_record, wd);
        wd->sink_set = false;
    }
    if (wd->log_fd != -1) {
        ag_log_set_tee_fd(-1);
        (void)close(wd->log_fd);
        wd->log_fd = -1;
    }
    ag_free(wd->work_dir);
    ag_free(wd->internal_dir);
    ag_free(wd->log_dir);
    ag_free(wd->log_path);
    wd->work_dir = NULL;
    wd->internal_dir = NULL;
    wd->log_dir = NULL;
    wd->log_path = NULL;
}
