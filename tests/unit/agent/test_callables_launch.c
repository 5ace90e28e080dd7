/*
 * test_callables_launch.c: build steps (agent/callables_launch.c, agent/callables_files.c) over
 * an in-memory link and a real libuv loop with real children: the RemoteLaunchCallable record and
 * class forms, masks, EnvVars semantics, quiet, merged and separate streams, join only after the
 * output, kill, Request$Cancel of a join, KillTask, and the FilePath tasks of flow A.3.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "../remoting/fake_link.h"
#include "alloc.h"
#include "callables.h"
#include "callables_agent.h"
#include "callables_int.h"
#include "channel.h"
#include "filepath.h"
#include "harness.h"
#include "jos.h"
#include "launch.h"
#include "log.h"
#include "rem_int.h"

#define LISTENER_OID 5
#define ERR_OID 6

static uv_loop_t loop;
static struct fake_link the_link;
static struct rem_channel *the_ch;
static size_t scanned; /* sent commands already collected */
static int32_t next_id = 100;
static int syncers; /* Channel$IOSyncer requests answered */

static void deliver(struct jos_msg *m, struct jos_val *cmd);

/* What the agent sent: output per stream oid, and the Responses by id. */
struct seen {
    char out[1 << 16];
    size_t nout;
    char err[1 << 12];
    size_t nerr;
    int32_t last_io; /* ioId of the last Chunk/Flush seen */
};
static struct seen seen;

struct resp {
    bool got;
    int32_t last_io;
    int32_t io_before; /* seen.last_io when the Response was sent */
    char exc[300];
    struct jos_msg *m; /* owned: the decoded payload's message */
    struct jos_val *value;
};

static void
on_closed(struct rem_channel *ch, int code, const char *why, void *arg)
{
    (void)ch;
    (void)code;
    (void)why;
    (void)arg;
}

static void
setup(void)
{
    struct rem_channel_opts o = {0};

    T_EQ_INT(agent_callables_register(), 0);
    T_EQ_INT(agent_launch_register(), 0);
    if (getenv("LAUNCH_TEST_DEBUG") != NULL) {
        ag_log_set_level(AG_LOG_FINE);
    }
    T_EQ_INT(uv_loop_init(&loop), 0);
    fake_link_init(&the_link);
    o.loop = &loop;
    o.name = "launch-test";
    o.on_closed = on_closed;
    T_EQ_INT(rem_channel_new(&the_link.link, &o, &the_ch), 0);
    scanned = 0;
    memset(&seen, 0, sizeof(seen));
}

static void
teardown(void)
{
    fake_link_finish(&the_link, AG_ECLOSED);
    /* Let children be reaped and handles closed. */
    for (int i = 0; i < 2000 && uv_run(&loop, UV_RUN_NOWAIT) != 0; i++) {
        usleep(5000);
    }
    fake_link_clear(&the_link);
    T_EQ_INT(uv_loop_close(&loop), 0);
    the_ch = NULL;
}

/* Look at newly sent commands: collect output, and fill r when the Response to id is there. */
static void
scan(int32_t id, struct resp *r)
{
    for (; scanned < the_link.nsent; scanned++) {
        struct jos_msg *m = NULL;
        struct ag_err err = {0};
        struct jos_val *v;
        const char *cls;
        int32_t oid = 0;
        int32_t io = 0;
        int32_t rid = 0;

        if (jos_decode(the_link.sent[scanned], the_link.sent_len[scanned], NULL, 0, &m, &err) !=
            0) {
            T_FAIL_("cannot decode sent command: %s", err.msg);
            continue;
        }
        v = m->top.items[0];
        cls = jos_val_class(v);
        if (strcmp(cls, "hudson.remoting.ProxyOutputStream$Chunk") == 0) {
            struct ag_iov b = {0};

            T_EQ_INT(jos_get_int(v, "oid", &oid), 0);
            T_EQ_INT(jos_get_int(v, "ioId", &io), 0);
            T_EQ_INT(jos_get_bytes(v, "buf", &b), 0);
            if (oid == LISTENER_OID && seen.nout + b.len < sizeof(seen.out)) {
                memcpy(seen.out + seen.nout, b.base, b.len);
                seen.nout += b.len;
            } else if (oid == ERR_OID && seen.nerr + b.len < sizeof(seen.err)) {
                memcpy(seen.err + seen.nerr, b.base, b.len);
                seen.nerr += b.len;
            }
            seen.last_io = io;
        } else if (strcmp(cls, "hudson.remoting.UserRequest") == 0 &&
                   jos_get_int(v, "id", &rid) == 0) {
            /* The agent's Channel$IOSyncer (RemoteProcess.join): answer null, as a controller. */
            struct jos_msg *rm = NULL;
            struct jos_val *resp;
            struct jos_val *nr;

            T_EQ_INT(jos_msg_new(NULL, 0, &rm), 0);
            resp = jos_new_object(rm, "hudson.remoting.Response");
            nr = jos_new_object(rm, "hudson.remoting.UserRequest$NormalResponse");
            (void)jos_set_obj(rm, nr, "response", jos_new_payload(rm, NULL));
            (void)jos_set_int(rm, resp, "id", rid);
            (void)jos_set_obj(rm, resp, "returnValue", nr);
            syncers++;
            deliver(rm, resp);
        } else if (strcmp(cls, "hudson.remoting.ProxyOutputStream$Flush") == 0) {
            T_EQ_INT(jos_get_int(v, "ioId", &io), 0);
            seen.last_io = io;
        } else if (strcmp(cls, "hudson.remoting.Response") == 0 && r != NULL &&
                   jos_get_int(v, "id", &rid) == 0 && rid == id) {
            struct jos_val *exc = NULL;
            struct jos_val *rv = NULL;

            r->got = true;
            r->io_before = seen.last_io;
            T_EQ_INT(jos_get_int(v, "lastIoId", &r->last_io), 0);
            if (jos_get_obj(v, "exception", &exc) == 0 && exc != NULL) {
                rem__throwable_text(exc, r->exc, sizeof(r->exc));
            } else if (jos_get_obj(v, "returnValue", &rv) == 0 && rv != NULL) {
                struct jos_stream st = {0};

                if (jos_val_is(rv, "hudson.remoting.UserRequest$ExceptionResponse")) {
                    (void)snprintf(r->exc, sizeof(r->exc), "ExceptionResponse");
                } else if (jos_val_is(rv, "hudson.remoting.UserRequest$NormalResponse")) {
                    struct jos_val *bytes = NULL;

                    T_EQ_INT(jos_get_obj(rv, "response", &bytes), 0);
                    T_EQ_INT(jos_msg_decode_nested(m, bytes, &st, &err), 0);
                    r->value = st.n > 0 ? st.items[0] : NULL;
                } else {
                    r->value = rv; /* raw RPC result */
                }
            }
            r->m = m;
            m = NULL;
        }
        jos_msg_free(m);
    }
}

/* Run the loop until the Response to id arrived (or ms passed). */
static void
wait_resp_opt(int32_t id, struct resp *r, uint64_t ms)
{
    uint64_t end = uv_now(&loop) + ms;

    memset(r, 0, sizeof(*r));
    scan(id, r);
    while (!r->got && uv_now(&loop) < end) {
        uv_run(&loop, UV_RUN_NOWAIT);
        scan(id, r);
        if (!r->got) {
            usleep(2000);
            uv_update_time(&loop);
        }
    }
}

static void
wait_resp(int32_t id, struct resp *r, uint64_t ms)
{
    wait_resp_opt(id, r, ms);
    T_CHECK(r->got);
}

static void
resp_fini(struct resp *r)
{
    jos_msg_free(r->m);
    r->m = NULL;
}

static void
deliver(struct jos_msg *m, struct jos_val *cmd)
{
    struct ag_buf b;
    struct ag_err err = {0};

    ag_buf_init(&b, 1 << 22);
    T_EQ_INT(jos_encode(&b, &cmd, 1, &err), 0);
    fake_link_deliver(&the_link, b.data, b.len);
    ag_buf_fini(&b);
    jos_msg_free(m);
}

/* Send callable (a value of m, which is consumed) as a UserRequest; returns its id. */
static int32_t
call(struct jos_msg *m, struct jos_val *callable)
{
    int32_t id = next_id++;
    struct jos_val *cmd = rem__cmd_user_request(m, id, 2, callable, "test");

    /* The controller's form of the class-loader reference (a proxy, channel.md 4.3), so that
     * the agent may call back (Channel$IOSyncer). */
    (void)jos_set_obj(m, cmd, "classLoaderProxy",
                      rem_new_proxy(m, "hudson.remoting.RemoteClassLoader$IClassLoader", 2));
    deliver(m, cmd);
    return id;
}

static int32_t
rpc(int32_t oid, const char *method)
{
    struct jos_msg *m = NULL;
    struct jos_val *r;
    int32_t id = next_id++;

    T_EQ_INT(jos_msg_new(NULL, 0, &m), 0);
    r = jos_new_object(m, "hudson.remoting.RemoteInvocationHandler$RPCRequest");
    (void)jos_set_int(m, r, "id", id);
    (void)jos_set_int(m, r, "oid", oid);
    (void)jos_set_obj(m, r, "arguments", jos_new_obj_array(m, "[Ljava.lang.Object;", 0));
    (void)jos_set_obj(m, r, "types", jos_new_obj_array(m, "[Ljava.lang.String;", 0));
    (void)jos_set_string(m, r, "declaringClassName", "hudson.Launcher$RemoteProcess");
    (void)jos_set_string(m, r, "methodName", method);
    deliver(m, r);
    return id;
}

static void
cancel(int32_t id)
{
    struct jos_msg *m = NULL;
    struct jos_val *c;

    T_EQ_INT(jos_msg_new(NULL, 0, &m), 0);
    c = jos_new_object(m, "hudson.remoting.Request$Cancel");
    (void)jos_set_int(m, c, "id", id);
    deliver(m, c);
}

static struct jos_val *
new_ros(struct jos_msg *m, int32_t oid)
{
    struct jos_val *v = jos_new_object(m, "hudson.remoting.RemoteOutputStream");
    uint8_t b[4] = {(uint8_t)(oid >> 24), (uint8_t)(oid >> 16), (uint8_t)(oid >> 8), (uint8_t)oid};

    (void)jos_custom_block(m, v, NULL, b, 4);
    return v;
}

static struct jos_val *
new_listener(struct jos_msg *m)
{
    struct jos_val *l = jos_new_object(m, "hudson.model.StreamBuildListener");

    (void)jos_custom_obj(m, l, "hudson.util.StreamTaskListener", new_ros(m, LISTENER_OID));
    (void)jos_custom_obj(m, l, "hudson.util.StreamTaskListener", jos_new_cstring(m, "UTF-8"));
    return l;
}

struct launch_opts {
    const char *const *cmd;
    const bool *masks;
    size_t nmasks;
    const char *const *env;
    bool quiet;
    bool separate_err;
    const char *work_dir;
    bool class_form;
    size_t nrules;
    int32_t in_oid; /* a non-greedy RemoteInputStream for stdin, 0 for none */
};

/* The record of core 2.485+ (class_form false) or the MasterToSlaveCallable subclass of older
 * cores: the same field names in another layout. */
static struct jos_val *
new_launch(struct jos_msg *m, const struct launch_opts *o)
{
    struct jos_val *c = jos_new_object(m, "hudson.Launcher$RemoteLaunchCallable");
    struct jos_val *items[16];
    struct jos_val *l = new_listener(m);
    struct jos_val *w = jos_new_object(m, "jenkins.tasks.filters.EnvVarsFilterRuleWrapper");
    struct jos_val *rules[2];
    size_t n = 0;

    while (o->cmd[n] != NULL) {
        items[n] = jos_new_cstring(m, o->cmd[n]);
        n++;
    }
    (void)jos_set_obj(m, c, "cmd", agent__new_arraylist(m, items, n));
    if (o->masks != NULL) {
        uint8_t raw[16];

        for (size_t i = 0; i < o->nmasks; i++) {
            raw[i] = o->masks[i] ? 1 : 0;
        }
        (void)jos_set_obj(m, c, "masks",
                          jos_new_prim_array(m, "[Z", raw, (uint32_t)o->nmasks, false));
    }
    if (o->env != NULL) {
        uint32_t ne = 0;
        struct jos_val *arr;

        while (o->env[ne] != NULL) {
            ne++;
        }
        arr = jos_new_obj_array(m, "[Ljava.lang.String;", ne);
        for (uint32_t i = 0; i < ne; i++) {
            (void)jos_array_set(m, arr, i, jos_new_cstring(m, o->env[i]));
        }
        (void)jos_set_obj(m, c, "env", arr);
    }
    for (size_t i = 0; i < o->nrules; i++) {
        rules[i] = jos_new_object(m, "java.lang.Boolean"); /* any object: a rule we cannot run */
    }
    (void)jos_set_obj(m, w, "rules", agent__new_arraylist(m, rules, o->nrules));
    (void)jos_set_obj(m, c, "envVarsFilterRuleWrapper", w);
    (void)jos_set_obj(m, c, "listener", l);
    (void)jos_set_obj(m, c, "stdoutListener", l);
    if (o->separate_err) {
        (void)jos_set_obj(m, c, "err", new_ros(m, ERR_OID));
    }
    if (o->in_oid != 0) {
        /* Non-greedy, and we (the reader) advertised GREEDY: boolean false, then the oid. */
        struct jos_val *ris = jos_new_object(m, "hudson.remoting.RemoteInputStream");
        uint8_t b[5] = {0, (uint8_t)(o->in_oid >> 24), (uint8_t)(o->in_oid >> 16),
                        (uint8_t)(o->in_oid >> 8), (uint8_t)o->in_oid};

        (void)jos_custom_block(m, ris, NULL, b, 5);
        (void)jos_set_obj(m, c, "in", ris);
    }
    (void)jos_set_bool(m, c, "quiet", o->quiet);
    if (o->work_dir != NULL) {
        (void)jos_set_string(m, c, "workDir", o->work_dir);
    }
    T_EQ_INT(m->build_err, 0);
    if (o->class_form && c != NULL) {
        /* Re-shape: suid 1, super jenkins.security.MasterToSlaveCallable (no fields). */
        static struct jos_classdesc desc;
        struct jos_classdata *cds = ag_arena_alloc(&m->arena, 2 * sizeof(*cds));
        const struct jos_classdesc *sup =
            jos_msg_class(m, "jenkins.security.MasterToSlaveCallable");

        T_CHECK(cds != NULL && sup != NULL);
        desc = *c->u.obj.desc;
        desc.suid = 1;
        desc.super = sup;
        memset(&cds[0], 0, sizeof(cds[0]));
        cds[0].desc = sup;
        cds[0].has_values = true;
        cds[1] = c->u.obj.classes[0];
        cds[1].desc = &desc;
        c->u.obj.desc = &desc;
        c->u.obj.classes = cds;
        c->u.obj.nclasses = 2;
    }
    return c;
}

/* Launch; returns the RemoteProcess oid (0 on failure, exc filled). */
static int32_t
launch(const struct launch_opts *o, char *exc, size_t excsize)
{
    struct jos_msg *m = NULL;
    struct resp r;
    int32_t oid = 0;
    int32_t id;

    T_EQ_INT(jos_msg_new(NULL, 0, &m), 0);
    id = call(m, new_launch(m, o));
    wait_resp(id, &r, 5000);
    if (exc != NULL) {
        (void)snprintf(exc, excsize, "%s", r.exc);
    }
    if (r.exc[0] == '\0' && r.value != NULL) {
        const struct jos_classdesc *d = r.value->u.obj.desc;
        struct jos_val *h = NULL;

        T_CHECK(r.value->kind == JOS_K_OBJECT && d != NULL && d->is_proxy);
        T_CHECK(d != NULL && d->ninterfaces == 2 &&
                strcmp(d->interfaces[0], "hudson.Launcher$RemoteProcess") == 0 &&
                strcmp(d->interfaces[1], "hudson.remoting.IReadResolve") == 0);
        T_EQ_INT(jos_get_obj(r.value, "h", &h), 0);
        T_EQ_INT(jos_get_int(h, "oid", &oid), 0);
    }
    resp_fini(&r);
    return oid;
}

static int32_t
join(int32_t oid, struct resp *r, uint64_t ms)
{
    int32_t code = -1;
    int32_t id = rpc(oid, "join");

    wait_resp(id, r, ms);
    if (r->value != NULL) {
        T_EQ_INT(jos_get_int(r->value, "value", &code), 0);
    }
    return code;
}

static char *
make_dir(char *buf, size_t n)
{
    (void)snprintf(buf, n, "%s/launch-test-XXXXXX", AG_BINARY_DIR);
    T_CHECK(mkdtemp(buf) != NULL);
    return buf;
}

/* ----- tests ----- */

T_TEST(cmdline_format_as_java)
{
    static const char *const args[] = {"/bin/sh", "-c", "echo hi", "say \"x\"", "secret"};
    static const bool masks[] = {false, false, false, false, true};
    struct ag_buf b;

    ag_buf_init(&b, 4096);
    T_EQ_INT(agent_launch_format_cmdline(&b, args, 5, masks, 5, "/var/ws/job"), 0);
    T_EQ_INT(ag_buf_append_u8(&b, 0), 0);
    T_EQ_STR((const char *)b.data, "[job] $ /bin/sh -c \"echo hi\" 'say \"x\"' ********");
    ag_buf_reset(&b);
    T_EQ_INT(agent_launch_format_cmdline(&b, args, 1, NULL, 0, NULL), 0);
    T_EQ_INT(ag_buf_append_u8(&b, 0), 0);
    T_EQ_STR((const char *)b.data, "$ /bin/sh");
    ag_buf_reset(&b);
    /* replaceFirst("^.+[/\\\\]", ""): "/" stays, a trailing separator leaves nothing. */
    T_EQ_INT(agent_launch_format_cmdline(&b, args, 1, NULL, 0, "/"), 0);
    T_EQ_INT(agent_launch_format_cmdline(&b, args, 1, NULL, 0, "/ws/"), 0);
    T_EQ_INT(agent_launch_format_cmdline(&b, args, 1, NULL, 0, "c:\\w\\j"), 0);
    T_EQ_INT(ag_buf_append_u8(&b, 0), 0);
    T_EQ_STR((const char *)b.data, "[/] $ /bin/sh[] $ /bin/sh[j] $ /bin/sh");
    ag_buf_fini(&b);
}

static void
run_freestyle(bool class_form)
{
    static const char *const cmd[] = {
        "/bin/sh", "-c",
        "echo \"${PATH%%:*} $REF ${DROPPED-unset} ${HUDSON_COOKIE:+cookie} $0\"; echo e >&2; "
        "pwd; exit 7",
        "$NAME", NULL};
    static const bool masks[] = {false, false, true, false};
    static const char *const env[] = {
        "PATH+EXTRA=/opt/extra/bin", "FOO=bar", "REF=$FOO-baz", "DROPPED=", "NAME=arg0", NULL};
    struct launch_opts o = {0};
    char dir[512];
    char want[1024];
    char exc[300];
    struct resp r;
    int32_t oid;

    setup();
    o.cmd = cmd;
    o.masks = masks;
    o.nmasks = 4;
    o.env = env;
    o.work_dir = make_dir(dir, sizeof(dir));
    o.class_form = class_form;
    oid = launch(&o, exc, sizeof(exc));
    T_EQ_STR(exc, "");
    T_CHECK(oid >= 2);
    /* getIOtriplet: all fields null. */
    wait_resp(rpc(oid, "getIOtriplet"), &r, 2000);
    T_CHECK(jos_val_is(r.value, "hudson.Launcher$IOTriplet"));
    resp_fini(&r);
    T_EQ_INT(join(oid, &r, 5000), 7);
    /* Every output byte was sent before the Response, and its lastIoId covers them. */
    T_CHECK(r.last_io != 0 && r.last_io == r.io_before);
    T_CHECK(syncers > 0); /* join did Channel.syncIO() first */
    resp_fini(&r);
    (void)snprintf(
        want, sizeof(want),
        "[%s] $ /bin/sh -c ******** $NAME\n/opt/extra/bin bar-baz unset cookie arg0\ne\n%s\n",
        strrchr(dir, '/') + 1, dir);
    T_EQ_MEM(seen.out, seen.nout, want, strlen(want));
    wait_resp(rpc(oid, "isAlive"), &r, 2000);
    T_CHECK(jos_val_is(r.value, "java.lang.Boolean"));
    resp_fini(&r);
    (void)rmdir(dir);
    teardown();
}

T_TEST(record_form_env_masks_merged_join_after_output)
{
    run_freestyle(false);
}

T_TEST(class_form_of_older_cores)
{
    run_freestyle(true);
}

T_TEST(quiet_and_separate_stderr)
{
    static const char *const cmd[] = {"sh", "-c", "echo out; echo err >&2", NULL};
    struct launch_opts o = {0};
    char exc[300];
    struct resp r;
    int32_t oid;

    setup();
    o.cmd = cmd;
    o.quiet = true;
    o.separate_err = true;
    oid = launch(&o, exc, sizeof(exc));
    T_EQ_STR(exc, "");
    T_EQ_INT(join(oid, &r, 5000), 0);
    resp_fini(&r);
    T_EQ_MEM(seen.out, seen.nout, "out\n", 4);
    T_EQ_MEM(seen.err, seen.nerr, "err\n", 4);
    teardown();
}

/* The controller's answer to a ProxyInputStream$Chunk pull: len bytes, or -1 at the end. */
static bool
answer_pull(const char *data)
{
    for (size_t i = 0; i < the_link.nsent; i++) {
        struct jos_msg *m = NULL;
        struct ag_err err = {0};
        struct jos_val *v;
        int32_t id = 0;
        static int32_t answered[16];
        static size_t nanswered;
        bool done = false;

        if (jos_decode(the_link.sent[i], the_link.sent_len[i], NULL, 0, &m, &err) != 0) {
            continue;
        }
        v = m->top.items[0];
        if (jos_val_is(v, "hudson.remoting.ProxyInputStream$Chunk") &&
            jos_get_int(v, "id", &id) == 0) {
            for (size_t k = 0; k < nanswered; k++) {
                done |= answered[k] == id;
            }
            if (!done && nanswered < 16) {
                struct jos_msg *rm = NULL;
                struct jos_val *resp;
                struct jos_val *buf;
                size_t n = data != NULL ? strlen(data) : 0;

                answered[nanswered++] = id;
                T_EQ_INT(jos_msg_new(NULL, 0, &rm), 0);
                resp = jos_new_object(rm, "hudson.remoting.Response");
                buf = jos_new_object(rm, "hudson.remoting.ProxyInputStream$Buffer");
                (void)jos_set_int(rm, buf, "len", data != NULL ? (int32_t)n : -1);
                (void)jos_set_obj(rm, buf, "buf", jos_new_bytes(rm, data, n, false));
                (void)jos_set_int(rm, resp, "id", id);
                (void)jos_set_obj(rm, resp, "returnValue", buf);
                jos_msg_free(m);
                deliver(rm, resp);
                return true;
            }
        }
        jos_msg_free(m);
    }
    return false;
}

static void
pump_until_pull(const char *data)
{
    for (int i = 0; i < 1000; i++) {
        uv_run(&loop, UV_RUN_NOWAIT);
        if (answer_pull(data)) {
            return;
        }
        usleep(2000);
    }
    T_FAIL_("no ProxyInputStream$Chunk request%s", "");
}

T_TEST(stdin_from_controller_stream)
{
    static const char *const cmd[] = {"cat", NULL};
    struct launch_opts o = {0};
    char exc[300];
    struct resp r;
    int32_t oid;

    setup();
    o.cmd = cmd;
    o.quiet = true;
    o.in_oid = 9;
    oid = launch(&o, exc, sizeof(exc));
    T_EQ_STR(exc, "");
    pump_until_pull("hello stdin\n");
    pump_until_pull(NULL); /* end of stream: cat sees EOF and exits */
    T_EQ_INT(join(oid, &r, 5000), 0);
    resp_fini(&r);
    T_EQ_MEM(seen.out, seen.nout, "hello stdin\n", 12);
    teardown();
}

/* Answer the oldest ProxyInputStream$Chunk pull newer than *last with n bytes of 'x' (eof: -1).
 * Returns whether one was answered. */
static bool
answer_pull_bytes(int32_t *last, size_t n, bool eof)
{
    for (size_t i = 0; i < the_link.nsent; i++) {
        struct jos_msg *m = NULL;
        struct ag_err err = {0};
        struct jos_val *v;
        int32_t id = 0;

        if (jos_decode(the_link.sent[i], the_link.sent_len[i], NULL, 0, &m, &err) != 0) {
            continue;
        }
        v = m->top.items[0];
        if (jos_val_is(v, "hudson.remoting.ProxyInputStream$Chunk") &&
            jos_get_int(v, "id", &id) == 0 && id > *last) {
            struct jos_msg *rm = NULL;
            struct jos_val *resp;
            struct jos_val *buf;
            uint8_t *data = malloc(n > 0 ? n : 1);

            memset(data, 'x', n);
            *last = id;
            T_EQ_INT(jos_msg_new(NULL, 0, &rm), 0);
            resp = jos_new_object(rm, "hudson.remoting.Response");
            buf = jos_new_object(rm, "hudson.remoting.ProxyInputStream$Buffer");
            (void)jos_set_int(rm, buf, "len", eof ? -1 : (int32_t)n);
            (void)jos_set_obj(rm, buf, "buf", jos_new_bytes(rm, data, eof ? 0 : n, false));
            (void)jos_set_int(rm, resp, "id", id);
            (void)jos_set_obj(rm, resp, "returnValue", buf);
            jos_msg_free(m);
            deliver(rm, resp);
            free(data);
            return true;
        }
        jos_msg_free(m);
    }
    return false;
}

/* A child that does not read yet: the agent holds the stdin chunk once 256 KiB wait in the
 * child's queue and pulls no more until the child reads; then every byte arrives (before, the
 * 1 MiB queue cap ended the stream early and the child saw a silent, short EOF). */
T_TEST(stdin_back_pressure_while_the_child_sleeps)
{
    static const char *const cmd[] = {"/bin/sh", "-c", "sleep 2; wc -c", NULL};
    struct launch_opts o = {0};
    char exc[300];
    struct resp r;
    int32_t oid;
    int32_t last = 0;
    size_t pulls = 0;
    size_t sent = 0;
    const size_t chunk = (size_t)256 << 10;
    const size_t total = (size_t)4 << 20;
    uint64_t t0;

    setup();
    o.cmd = cmd;
    o.quiet = true;
    o.in_oid = 9;
    oid = launch(&o, exc, sizeof(exc));
    T_EQ_STR(exc, "");
    t0 = uv_hrtime();
    /* For 0.5 s the child certainly sleeps: the pipe (64 KiB) and the queue up to 256 KiB take
     * the first chunks, then the agent must stop asking. */
    while (uv_hrtime() - t0 < 500000000u) {
        uv_run(&loop, UV_RUN_NOWAIT);
        if (answer_pull_bytes(&last, chunk, false)) {
            pulls++;
            sent += chunk;
        }
        usleep(2000);
    }
    T_CHECK(pulls >= 1 && pulls <= 3);
    for (int i = 0; i < 30000 && sent < total; i++) {
        uv_run(&loop, UV_RUN_NOWAIT);
        if (answer_pull_bytes(&last, chunk, false)) {
            sent += chunk;
        } else {
            usleep(1000);
        }
    }
    T_EQ_U64(sent, total);
    for (int i = 0; i < 5000 && !answer_pull_bytes(&last, 0, true); i++) {
        uv_run(&loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
    T_EQ_INT(join(oid, &r, 20000), 0);
    resp_fini(&r);
    T_EQ_MEM(seen.out, seen.nout, "4194304\n", 8);
    teardown();
}

T_TEST(errors_are_javas)
{
    static const char *const missing[] = {"/nonexistent/prog", NULL};
    static const char *const ok[] = {"true", NULL};
    struct launch_opts o = {0};
    char exc[300];

    setup();
    o.cmd = missing;
    o.quiet = true;
    T_EQ_INT(launch(&o, exc, sizeof(exc)), 0);
    T_CHECK(strstr(exc, "Cannot run program \"/nonexistent/prog\"") != NULL);
    o.cmd = ok;
    o.work_dir = "/nonexistent/dir";
    T_EQ_INT(launch(&o, exc, sizeof(exc)), 0);
    T_CHECK(strstr(exc, "Process working directory '/nonexistent/dir' doesn't exist!") != NULL);
    o.work_dir = NULL;
    o.nrules = 1;
    T_EQ_INT(launch(&o, exc, sizeof(exc)), 0);
    T_CHECK(strstr(exc, "environment variable filters") != NULL);
    teardown();
}

T_TEST(kill_then_join)
{
    static const char *const cmd[] = {"sleep", "30", NULL};
    struct launch_opts o = {0};
    char exc[300];
    struct resp r;
    int32_t oid;

    setup();
    o.cmd = cmd;
    o.quiet = true;
    oid = launch(&o, exc, sizeof(exc));
    T_CHECK(oid >= 2);
    wait_resp(rpc(oid, "kill"), &r, 8000);
    T_EQ_STR(r.exc, "");
    T_CHECK(r.value == NULL);
    resp_fini(&r);
    T_EQ_INT(join(oid, &r, 2000), 128 + SIGTERM);
    resp_fini(&r);
    teardown();
}

T_TEST(cancel_of_join_kills_and_interrupts)
{
    static const char *const cmd[] = {"sh", "-c", "echo started; sleep 30", NULL};
    struct launch_opts o = {0};
    char exc[300];
    struct resp r;
    int32_t oid;
    int32_t id;

    setup();
    o.cmd = cmd;
    oid = launch(&o, exc, sizeof(exc));
    T_CHECK(oid >= 2);
    id = rpc(oid, "join");
    wait_resp_opt(id, &r, 300);
    T_CHECK(!r.got); /* join waits for the process */
    resp_fini(&r);
    cancel(id);
    wait_resp(id, &r, 8000);
    T_CHECK(strstr(r.exc, "java.lang.InterruptedException") != NULL);
    resp_fini(&r);
    wait_resp(rpc(oid, "isAlive"), &r, 2000);
    T_CHECK(r.value != NULL);
    if (r.value != NULL) {
        bool alive = true;

        T_EQ_INT(jos_get_bool(r.value, "value", &alive), 0);
        T_CHECK(!alive);
    }
    resp_fini(&r);
    teardown();
}

T_TEST(kill_task_kills_by_cookie)
{
    static const char *const cmd[] = {"sh", "-c", "sleep 30 >/dev/null 2>&1 & echo $!", NULL};
    static const char *const env[] = {"LAUNCH_TEST_TAG=t42", NULL};
    static const char *const keys[] = {"LAUNCH_TEST_TAG"};
    static const char *const vals[] = {"t42"};
    struct launch_opts o = {0};
    char exc[300];
    char path[64];
    struct resp r;
    struct jos_msg *m = NULL;
    struct jos_val *kt;
    int32_t oid;
    long pid;
    char state = '?';

    setup();
    o.cmd = cmd;
    o.env = env;
    o.quiet = true;
    oid = launch(&o, exc, sizeof(exc));
    T_EQ_INT(join(oid, &r, 5000), 0);
    resp_fini(&r);
    seen.out[seen.nout] = '\0';
    pid = strtol(seen.out, NULL, 10);
    T_CHECK(pid > 1 && kill((pid_t)pid, 0) == 0);
    T_EQ_INT(jos_msg_new(NULL, 0, &m), 0);
    kt = jos_new_object(m, "hudson.Launcher$RemoteLauncher$KillTask");
    (void)jos_set_obj(m, kt, "modelEnvVars", agent__new_treemap(m, keys, vals, 1));
    wait_resp(call(m, kt), &r, 8000);
    T_EQ_STR(r.exc, "");
    T_CHECK(r.value == NULL);
    resp_fini(&r);
    /* Gone, or a zombie waiting for an init that does not reap. */
    (void)snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    {
        FILE *f = fopen(path, "r");

        if (f != NULL) {
            char buf[512];
            size_t n = fread(buf, 1, sizeof(buf) - 1, f);
            char *p;

            buf[n] = '\0';
            p = strrchr(buf, ')');
            state = p != NULL && p[1] == ' ' ? p[2] : '?';
            (void)fclose(f);
        } else {
            state = 'X';
        }
    }
    T_CHECK(state == 'Z' || state == 'X');
    teardown();
}

T_TEST(filepath_tasks_of_flow_a3)
{
    char dir[512];
    char ws[600];
    struct resp r;
    struct jos_msg *m = NULL;
    struct jos_val *t;
    struct jos_val *fcw;
    struct jos_val *fp;
    const char *path = NULL;
    char script[600];
    size_t len = 0;
    struct stat st;

    setup();
    make_dir(dir, sizeof(dir));
    (void)snprintf(ws, sizeof(ws), "%s/workspace/job", dir);
    agent_files_set_tmpdir(dir);
    /* Mkdirs */
    T_EQ_INT(jos_msg_new(NULL, 0, &m), 0);
    fcw = jos_new_object(m, "hudson.FilePath$FileCallableWrapper");
    fp = jos_new_object(m, "hudson.FilePath");
    (void)jos_set_string(m, fp, "remote", ws);
    (void)jos_custom_block(m, fp, "hudson.FilePath", "\0", 1);
    (void)jos_set_obj(m, fcw, "filePath", fp);
    (void)jos_set_obj(m, fcw, "callable", jos_new_object(m, "hudson.FilePath$Mkdirs"));
    wait_resp(call(m, fcw), &r, 2000);
    T_CHECK(jos_val_is(r.value, "java.lang.Boolean"));
    resp_fini(&r);
    T_CHECK(stat(ws, &st) == 0 && S_ISDIR(st.st_mode));
    /* CreateTextTempFile in the temp dir */
    T_EQ_INT(jos_msg_new(NULL, 0, &m), 0);
    fcw = jos_new_object(m, "hudson.FilePath$FileCallableWrapper");
    fp = jos_new_object(m, "hudson.FilePath");
    (void)jos_set_string(m, fp, "remote", ws);
    (void)jos_custom_block(m, fp, "hudson.FilePath", "\0", 1);
    t = jos_new_object(m, "hudson.FilePath$CreateTextTempFile");
    (void)jos_set_bool(m, t, "inThisDirectory", false);
    (void)jos_set_string(m, t, "prefix", "jenkins");
    (void)jos_set_string(m, t, "suffix", ".sh");
    (void)jos_set_string(m, t, "contents", "\necho hi\n");
    (void)jos_set_obj(m, fcw, "filePath", fp);
    (void)jos_set_obj(m, fcw, "callable", t);
    wait_resp(call(m, fcw), &r, 2000);
    T_CHECK(r.value != NULL && r.value->kind == JOS_K_STRING);
    if (r.value != NULL && r.value->kind == JOS_K_STRING) {
        path = r.value->u.str.s;
        len = strlen(dir);
        T_CHECK(strncmp(path, dir, len) == 0 && strncmp(path + len, "/jenkins", 8) == 0);
        T_CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600 && st.st_size == 9);
        (void)snprintf(script, sizeof(script), "%s", path);
    }
    resp_fini(&r);
    /* Delete it, then once more (missing is fine) */
    for (int i = 0; i < 2; i++) {
        T_EQ_INT(jos_msg_new(NULL, 0, &m), 0);
        fcw = jos_new_object(m, "hudson.FilePath$FileCallableWrapper");
        fp = jos_new_object(m, "hudson.FilePath");
        (void)jos_set_string(m, fp, "remote", script);
        (void)jos_custom_block(m, fp, "hudson.FilePath", "\0", 1);
        (void)jos_set_obj(m, fcw, "filePath", fp);
        (void)jos_set_obj(m, fcw, "callable", jos_new_object(m, "hudson.FilePath$Delete"));
        wait_resp(call(m, fcw), &r, 2000);
        T_EQ_STR(r.exc, "");
        T_CHECK(r.value == NULL);
        resp_fini(&r);
    }
    T_CHECK(stat(script, &st) == -1);
    agent_files_set_tmpdir(NULL);
    (void)rmdir(ws);
    (void)snprintf(ws, sizeof(ws), "%s/workspace", dir);
    (void)rmdir(ws);
    (void)rmdir(dir);
    teardown();
}

T_TEST(registered_and_documented)
{
    size_t n = 0;
    const struct rem_callable_handler *t = agent_launch_table(&n);
    char path[512];
    size_t dlen = 0;
    uint8_t *doc;

    T_EQ_INT(agent_launch_register(), 0);
    T_EQ_INT(agent_launch_register(), 0); /* idempotent */
    (void)snprintf(path, sizeof(path), "%s/docs/callables.md", t_source_dir());
    doc = t_read_file(path, &dlen);
    T_CHECK(doc != NULL);
    for (size_t i = 0; i < n; i++) {
        char row[1024];

        T_CHECK(i == 0 || strcmp(t[i - 1].class_name, t[i].class_name) < 0);
        T_CHECK(rem_callables_find(t[i].class_name) == &t[i] ||
                rem_callables_find(t[i].class_name) != NULL);
        (void)snprintf(row, sizeof(row), "| `%s` | %s |", t[i].class_name, t[i].summary);
        if (doc != NULL) {
            char *d = calloc(1, dlen + 1);

            memcpy(d, doc, dlen);
            if (strstr(d, row) == NULL) {
                T_FAIL_("docs/callables.md lacks the row %s", row);
            }
            free(d);
        }
    }
    T_CHECK(agent_filepath_task_find("hudson.FilePath$Mkdirs") != NULL);
    T_CHECK(agent_filepath_task_find("hudson.FilePath$CreateTextTempFile") != NULL);
    T_CHECK(agent_filepath_task_find("hudson.FilePath$Delete") != NULL);
    free(doc);
}

T_MAIN(T_CASE(cmdline_format_as_java), T_CASE(record_form_env_masks_merged_join_after_output),
       T_CASE(class_form_of_older_cores), T_CASE(quiet_and_separate_stderr),
       T_CASE(stdin_from_controller_stream), T_CASE(stdin_back_pressure_while_the_child_sleeps),
       T_CASE(errors_are_javas), T_CASE(kill_then_join),
       T_CASE(cancel_of_join_kills_and_interrupts), T_CASE(kill_task_kills_by_cookie),
       T_CASE(filepath_tasks_of_flow_a3), T_CASE(registered_and_documented))
