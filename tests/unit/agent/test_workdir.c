/*
 * test_workdir.c: the work directory as agent.jar's WorkDirManager lays it out
 * (shared/spec/transport.md section 9.7): directories created on demand, agent.jar's error
 * texts, the log file tee at INFO and above, rotation, -agentLog.
 */
#include "workdir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "conf.h"
#include "err.h"
#include "harness.h"
#include "log.h"

#define ROOT AG_BINARY_DIR "/tests/unit_workdir_tmp"

static void
rm_rf(const char *path)
{
    char cmd[600];

    (void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
    if (system(cmd) != 0) {
        (void)fprintf(stderr, "cannot remove %s\n", path);
    }
}

static bool
is_dir(const char *p)
{
    struct stat st;

    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool
exists(const char *p)
{
    struct stat st;

    return stat(p, &st) == 0;
}

static char *
slurp(const char *path)
{
    size_t n = 0;
    uint8_t *d = t_read_file(path, &n);
    char *s;

    if (d == NULL) {
        return NULL;
    }
    s = malloc(n + 1);
    if (s != NULL) {
        memcpy(s, d, n);
        s[n] = '\0';
    }
    free(d);
    return s;
}

static void
write_file(const char *path, const char *data)
{
    FILE *f = fopen(path, "w");

    T_CHECK(f != NULL);
    if (f != NULL) {
        (void)fputs(data, f);
        (void)fclose(f);
    }
}

/* A configuration with just the work-directory fields set. */
static void
conf_init(struct agent_conf *c, const char *work_dir, const char *internal, bool fail_missing)
{
    memset(c, 0, sizeof(*c));
    c->work_dir = work_dir != NULL ? ag_strdup(work_dir) : NULL;
    c->internal_dir = ag_strdup(internal != NULL ? internal : "remoting");
    c->fail_if_work_dir_missing = fail_missing;
}

T_TEST(test_no_workdir_no_files)
{
    struct agent_conf c;
    struct agent_workdir wd;
    struct ag_err err = {0};

    conf_init(&c, NULL, NULL, false);
    T_EQ_INT(agent_workdir_setup(&wd, &c, &err), 0);
    T_EQ_INT(wd.log_fd, -1);
    T_CHECK(wd.work_dir == NULL && wd.log_path == NULL);
    T_EQ_INT(agent_workdir_log_maybe_rotate(&wd), 0);
    agent_workdir_fini(&wd);
    agent_conf_fini(&c);
}

T_TEST(test_creates_layout_and_tees_log)
{
    struct agent_conf c;
    struct agent_workdir wd;
    struct ag_err err = {0};
    struct stat st;
    char *log;

    rm_rf(ROOT);
    conf_init(&c, ROOT "/a/b", NULL, false);
    T_EQ_INT(agent_workdir_setup(&wd, &c, &err), 0);
    T_CHECK(is_dir(ROOT "/a/b/remoting/logs"));
    T_CHECK(stat(ROOT "/a/b/remoting", &st) == 0 && (st.st_mode & 0700) == 0700);
    T_EQ_STR(wd.internal_dir, ROOT "/a/b/remoting");
    T_EQ_STR(wd.log_path, ROOT "/a/b/remoting/logs/remoting.log.0");
    AG_LOG_INFO("agent", "an info line");
    AG_LOG_WARN("agent", "a warning line");
    ag_log_set_level(AG_LOG_FINE);
    AG_LOG_DEBUG("agent", "a fine line");
    ag_log_set_level(AG_LOG_INFO);
    agent_workdir_fini(&wd);
    AG_LOG_INFO("agent", "after fini");
    log = slurp(ROOT "/a/b/remoting/logs/remoting.log.0");
    T_CHECK(log != NULL);
    if (log != NULL) {
        T_CHECK(strstr(log, "INFO: Using " ROOT "/a/b/remoting as a remoting work directory\n") !=
                NULL);
        T_CHECK(strstr(log, "INFO: Both error and output logs will be printed to " ROOT
                            "/a/b/remoting\n") != NULL);
        T_CHECK(strstr(log, "INFO: an info line") != NULL);
        T_CHECK(strstr(log, "WARNING: a warning line") != NULL);
        T_CHECK(strstr(log, "a fine line") == NULL);
        T_CHECK(strstr(log, "after fini") == NULL);
        free(log);
    }
    agent_conf_fini(&c);
}

T_TEST(test_relative_workdir_is_made_absolute)
{
    struct agent_conf c;
    struct agent_workdir wd;
    struct ag_err err = {0};
    char cwd[1024];

    rm_rf(ROOT);
    T_EQ_INT(mkdir(ROOT, 0755), 0);
    T_CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
    T_EQ_INT(chdir(ROOT), 0);
    conf_init(&c, "rel", "int", false);
    T_EQ_INT(agent_workdir_setup(&wd, &c, &err), 0);
    T_EQ_STR(wd.internal_dir, ROOT "/rel/int");
    T_CHECK(is_dir(ROOT "/rel/int/logs"));
    agent_workdir_fini(&wd);
    agent_conf_fini(&c);
    T_EQ_INT(chdir(cwd), 0);
}

T_TEST(test_errors)
{
    static const struct {
        const char *name;
        const char *work_dir;
        const char *internal;
        bool fail_missing;
        const char *want;
    } v[] = {
        {"workdir missing", ROOT "/missing", NULL, true,
         "The working directory is missing, but it is expected to exist: " ROOT "/missing"},
        {"internal missing", ROOT "/w", NULL, true,
         "The remoting internal directory is missing, but it is expected to exist: " ROOT
         "/w/remoting"},
        {"workdir is a file", ROOT "/file", NULL, false,
         "The specified working directory path points to a non-directory file: " ROOT "/file"},
        {"internal is a file", ROOT "/w", "f", false,
         "The specified remoting internal directory path points to a non-directory file: " ROOT
         "/w/f"},
        {"logs is a file", ROOT "/w2", NULL, false,
         "The specified Log directory path points to a non-directory file: " ROOT
         "/w2/remoting/logs"},
        {"bad internal name", ROOT "/w", "../x", false,
         "Name of remoting internal directory ('../x') is not compliant with the required "
         "format"},
    };

    rm_rf(ROOT);
    T_EQ_INT(mkdir(ROOT, 0755), 0);
    T_EQ_INT(mkdir(ROOT "/w", 0755), 0);
    write_file(ROOT "/file", "x");
    write_file(ROOT "/w/f", "x");
    T_EQ_INT(mkdir(ROOT "/w2", 0755), 0);
    T_EQ_INT(mkdir(ROOT "/w2/remoting", 0755), 0);
    write_file(ROOT "/w2/remoting/logs", "x");
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        struct agent_conf c;
        struct agent_workdir wd;
        struct ag_err err = {0};
        int rc;

        conf_init(&c, v[i].work_dir, v[i].internal, v[i].fail_missing);
        rc = agent_workdir_setup(&wd, &c, &err);
        if (rc == 0 || strstr(err.msg, v[i].want) == NULL) {
            (void)fprintf(stderr, "case \"%s\": rc %d \"%s\", want \"%s\"\n", v[i].name, rc,
                          err.msg, v[i].want);
            t_failed_checks++;
        }
        T_EQ_INT(wd.log_fd, -1);
        agent_workdir_fini(&wd);
        agent_conf_fini(&c);
    }
    T_CHECK(!exists(ROOT "/missing"));
}

T_TEST(test_fail_if_missing_accepts_existing)
{
    struct agent_conf c;
    struct agent_workdir wd;
    struct ag_err err = {0};

    rm_rf(ROOT);
    T_EQ_INT(mkdir(ROOT, 0755), 0);
    T_EQ_INT(mkdir(ROOT "/remoting", 0755), 0);
    conf_init(&c, ROOT, NULL, true);
    T_EQ_INT(agent_workdir_setup(&wd, &c, &err), 0);
    T_CHECK(is_dir(ROOT "/remoting/logs")); /* logs/ is created even then, as agent.jar does */
    agent_workdir_fini(&wd);
    agent_conf_fini(&c);
}

T_TEST(test_not_rwx)
{
    struct agent_conf c;
    struct agent_workdir wd;
    struct ag_err err = {0};

    if (geteuid() == 0) {
        (void)fprintf(stderr, "skipped: root passes every access() check\n");
        return;
    }
    rm_rf(ROOT);
    T_EQ_INT(mkdir(ROOT, 0500), 0);
    conf_init(&c, ROOT, NULL, false);
    T_CHECK(agent_workdir_setup(&wd, &c, &err) != 0);
    T_CHECK(strstr(err.msg, "The specified working directory should be fully accessible to the "
                            "remoting executable (RWX): " ROOT) != NULL);
    agent_workdir_fini(&wd);
    agent_conf_fini(&c);
    (void)chmod(ROOT, 0755);
}

T_TEST(test_rotation)
{
    struct agent_conf c;
    struct agent_workdir wd;
    struct ag_err err = {0};
    char *s;

    rm_rf(ROOT);
    T_EQ_INT(mkdir(ROOT, 0755), 0);
    T_EQ_INT(mkdir(ROOT "/remoting", 0755), 0);
    T_EQ_INT(mkdir(ROOT "/remoting/logs", 0755), 0);
    write_file(ROOT "/remoting/logs/remoting.log.0", "old0\n");
    write_file(ROOT "/remoting/logs/remoting.log.3", "old3\n");
    write_file(ROOT "/remoting/logs/remoting.log.4", "old4\n");
    conf_init(&c, ROOT, NULL, false);
    /* Opening rotates: .0 -> .1, .3 -> .4 (the old .4 is gone). */
    T_EQ_INT(agent_workdir_setup(&wd, &c, &err), 0);
    s = slurp(ROOT "/remoting/logs/remoting.log.1");
    T_EQ_STR(s, "old0\n");
    free(s);
    s = slurp(ROOT "/remoting/logs/remoting.log.4");
    T_EQ_STR(s, "old3\n");
    free(s);
    T_CHECK(!exists(ROOT "/remoting/logs/remoting.log.3"));

    /* Below the limit nothing moves. */
    T_EQ_INT(agent_workdir_log_maybe_rotate(&wd), 0);
    T_CHECK(!exists(ROOT "/remoting/logs/remoting.log.2"));

    /* Past it, each line written rotates as needed: never more than 5 files, the newest line
     * in .0, every file near the limit, the oldest content rotated out. */
    wd.max_bytes = 300;
    for (int i = 0; i < 40; i++) {
        AG_LOG_INFO("agent", "filler line %02d to pass the limit", i);
    }
    s = slurp(ROOT "/remoting/logs/remoting.log.0");
    T_CHECK(s != NULL && strstr(s, "filler line 39") != NULL);
    free(s);
    for (int i = 0; i < AGENT_WORKDIR_LOG_FILES; i++) {
        char p[600];
        struct stat st;

        (void)snprintf(p, sizeof(p), ROOT "/remoting/logs/remoting.log.%d", i);
        T_CHECK(stat(p, &st) == 0 && st.st_size < 300 + 100);
        s = slurp(p);
        T_CHECK(s != NULL && strstr(s, "old") == NULL);
        free(s);
    }
    T_CHECK(!exists(ROOT "/remoting/logs/remoting.log.5"));
    T_CHECK((fcntl(wd.log_fd, F_GETFD) & FD_CLOEXEC) != 0);
    agent_workdir_fini(&wd);
    agent_conf_fini(&c);
}

T_TEST(test_agent_log_replaces_workdir_logs)
{
    struct agent_conf c;
    struct agent_workdir wd;
    struct ag_err err = {0};
    char *s;

    rm_rf(ROOT);
    T_EQ_INT(mkdir(ROOT, 0755), 0);
    conf_init(&c, ROOT "/wd", NULL, false);
    c.agent_log = ag_strdup(ROOT "/agent.log");
    T_EQ_INT(agent_workdir_setup(&wd, &c, &err), 0);
    AG_LOG_INFO("agent", "into the agent log");
    agent_workdir_fini(&wd);
    T_CHECK(is_dir(ROOT "/wd/remoting"));
    T_CHECK(!exists(ROOT "/wd/remoting/logs"));
    s = slurp(ROOT "/agent.log");
    T_CHECK(s != NULL && strstr(s, "into the agent log") != NULL &&
            strstr(s, "Both error and output logs will be printed to " ROOT "/agent.log") != NULL);
    free(s);
    agent_conf_fini(&c);

    /* -agentLog alone, without -workDir. */
    conf_init(&c, NULL, NULL, false);
    c.agent_log = ag_strdup(ROOT "/only.log");
    T_EQ_INT(agent_workdir_setup(&wd, &c, &err), 0);
    AG_LOG_INFO("agent", "only line");
    agent_workdir_fini(&wd);
    s = slurp(ROOT "/only.log");
    T_CHECK(s != NULL && strstr(s, "only line") != NULL);
    free(s);
    agent_conf_fini(&c);

    /* An agent log we cannot open is an error naming the file. */
    conf_init(&c, NULL, NULL, false);
    c.agent_log = ag_strdup(ROOT "/no/such/dir/x.log");
    T_CHECK(agent_workdir_setup(&wd, &c, &err) != 0);
    T_CHECK(strstr(err.msg, ROOT "/no/such/dir/x.log") != NULL);
    agent_workdir_fini(&wd);
    agent_conf_fini(&c);
}

T_TEST(test_logging_config_turns_file_off)
{
    struct agent_conf c;
    struct agent_workdir wd;
    struct ag_err err = {0};

    rm_rf(ROOT);
    conf_init(&c, ROOT, NULL, false);
    c.logging_config = ag_strdup("/l.properties");
    T_EQ_INT(agent_workdir_setup(&wd, &c, &err), 0);
    T_EQ_INT(wd.log_fd, -1);
    T_CHECK(is_dir(ROOT "/remoting") && !exists(ROOT "/remoting/logs"));
    agent_workdir_fini(&wd);
    agent_conf_fini(&c);
    rm_rf(ROOT);
}

T_MAIN(T_CASE(test_no_workdir_no_files), T_CASE(test_creates_layout_and_tees_log),
       T_CASE(test_relative_workdir_is_made_absolute), T_CASE(test_errors),
       T_CASE(test_fail_if_missing_accepts_existing), T_CASE(test_not_rwx), T_CASE(test_rotation),
       T_CASE(test_agent_log_replaces_workdir_logs), T_CASE(test_logging_config_turns_file_off))
