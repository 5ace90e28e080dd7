/*
 * filepath.c: hudson.FilePath values and the FileCallable envelopes (filepath.h), with the table
 * of file tasks the agent implements.
 */
#include "filepath.h"

#include <string.h>

#include "callables_int.h"
#include "launch.h"

/* Sorted by class name (checked by unit.agent.callables_node). Later file callables go here. */
static const struct agent_filepath_task tasks[] = {
    {"hudson.FilePath$CreateTextTempFile",
     "absolute path of a new file prefix+digits+suffix (mode 0600) in /tmp or the path, holding "
     "contents",
     agent__task_create_text_temp_file},
    {"hudson.FilePath$Delete", "null; removes the file or empty directory (missing is fine)",
     agent__task_delete},
    {"hudson.FilePath$Mkdirs", "Boolean.TRUE once the path exists (mkdir -p)", agent__task_mkdirs},
    {"hudson.node_monitors.DiskSpaceMonitorDescriptor$GetUsableSpace",
     "`DiskSpaceMonitorDescriptor$DiskSpace` of the path's file system (statvfs), null if none "
     "usable",
     agent__task_usable_space},
    {"hudson.node_monitors.TemporarySpaceMonitor$GetTempSpace",
     "`DiskSpace` of /tmp (java.io.tmpdir), whatever path it is given", agent__task_temp_space},
};

const struct agent_filepath_task *
agent_filepath_tasks(size_t *n)
{
    *n = sizeof(tasks) / sizeof(tasks[0]);
    return tasks;
}

const struct agent_filepath_task *
agent_filepath_task_find(const char *class_name)
{
    size_t lo = 0;
    size_t hi = sizeof(tasks) / sizeof(tasks[0]);

    while (class_name != NULL && lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(class_name, tasks[mid].class_name);

        if (c == 0) {
            return &tasks[mid];
        }
        if (c < 0) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return NULL;
}

int
agent_filepath_read(const struct jos_val *v, const char **remote, bool *writer_local,
                    struct ag_err *err)
{
    const struct jos_classdata *cd;
    size_t len = 0;
    uint8_t b = 0;
    struct jos_blk blk;

    *remote = NULL;
    *writer_local = false;
    if (v == NULL || !jos_val_instanceof(v, "hudson.FilePath")) {
        return ag_err_set(err, AG_EPROTO, 0, "expected a hudson.FilePath, got %s",
                          v == NULL ? "null" : (jos_val_class(v) != NULL ? jos_val_class(v) : "?"));
    }
    if (jos_get_string(v, "remote", remote, &len) != 0 || *remote == NULL) {
        return ag_err_set(err, AG_EPROTO, 0, "hudson.FilePath without remote");
    }
    if (strlen(*remote) != len) {
        return ag_err_set(err, AG_EPROTO, 0, "hudson.FilePath remote contains a NUL character");
    }
    /* FilePath.writeObject: writeBoolean(channel == null) after the fields. */
    cd = jos_obj_classdata(v, "hudson.FilePath");
    if (cd != NULL && cd->has_custom) {
        jos_blk_init(&blk, cd);
        if (jos_blk_u8(&blk, &b) == 0) {
            *writer_local = b != 0;
        }
    }
    return 0;
}

struct jos_val *
agent_new_filepath(struct jos_msg *m, const char *remote)
{
    struct jos_val *fp = jos_new_object(m, "hudson.FilePath");
    static const uint8_t local = 1; /* our own path: the controller attaches its channel */

    if (fp == NULL) {
        return NULL;
    }
    (void)jos_set_string(m, fp, "remote", remote);
    (void)jos_custom_block(m, fp, "hudson.FilePath", &local, 1);
    return m->build_err == 0 ? fp : NULL;
}

static void
dispatch(struct rem_call *call, const char *task_field, const char *path_field)
{
    const struct jos_val *env = rem_call_callable(call);
    struct jos_val *task = NULL;
    struct jos_val *fp = NULL;
    const char *remote = NULL;
    bool local = false;
    struct ag_err err = {0};
    const struct agent_filepath_task *t;
    const char *cls;

    if (jos_get_obj(env, task_field, &task) != 0 || jos_get_obj(env, path_field, &fp) != 0) {
        rem_call_fail(call, "java.io.IOException", "%s without %s or %s", rem_call_class(call),
                      task_field, path_field);
        return;
    }
    if (task == NULL) {
        rem_call_fail(call, "java.lang.NullPointerException", "%s with a null %s",
                      rem_call_class(call), task_field);
        return;
    }
    if (agent_filepath_read(fp, &remote, &local, &err) != 0) {
        rem_call_fail(call, "java.io.IOException", "%s: %s", rem_call_class(call), err.msg);
        return;
    }
    /* Java runs the task on new File(remote) whatever the flag says (FileCallableWrapper.call),
     * so `local` is not checked either. */
    (void)local;
    cls = jos_val_class(task);
    t = agent_filepath_task_find(cls);
    if (t == NULL) {
        rem_call_fail(call, "java.io.IOException", "native-agent does not support callable %s",
                      cls != NULL ? cls : "(not an object)");
        return;
    }
    t->fn(call, task, remote);
}

void
agent_filepath_callable_with(struct rem_call *call)
{
    dispatch(call, "task", "this$0");
}

void
agent_filepath_wrapper(struct rem_call *call)
{
    dispatch(call, "callable", "filePath");
}
