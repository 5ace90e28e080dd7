/*
 * test_callables_node.c: the agent's node callables (agent/callables_*.c, agent/filepath.c) run
 * through a real remoting channel over an in-memory link. Requests are the controller's bytes
 * and expected replies are Java's bytes, both written by tests/node/NodeGen.java with
 * ObjectOutputStream into tests/data/node (README there). Replies that carry system values are
 * compared after splicing our values into Java's placeholders.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "alloc.h"
#include "callables.h"
#include "callables_agent.h"
#include "callables_int.h"
#include "channel.h"
#include "../remoting/fake_link.h"
#include "filepath.h"
#include "harness.h"
#include "jos.h"
#include "log.h"
#include "rem_int.h"
#include "version.h"

extern char **environ;

#define P1 0x1111111111111111ULL
#define P2 0x2222222222222222ULL
#define P3 0x3333333333333333ULL
#define P4 0x4444444444444444ULL

/* ----- helpers ----- */

static const void *
find_mem(const void *hay, size_t n, const void *needle, size_t k)
{
    const uint8_t *h = hay;

    for (size_t i = 0; h != NULL && i + k <= n; i++) {
        if (memcmp(h + i, needle, k) == 0) {
            return h + i;
        }
    }
    return NULL;
}

static uint8_t *
load(const char *name, size_t *n)
{
    char path[512];
    uint8_t *p;

    (void)snprintf(path, sizeof(path), "%s/tests/data/node/%s.bin", t_source_dir(), name);
    p = t_read_file(path, n);
    if (p == NULL) {
        T_FAIL_("cannot read %s", path);
    }
    return p;
}

struct reply {
    uint8_t *payload; /* malloc'd NormalResponse.response, or NULL */
    size_t len;
    char exc[400]; /* "Class: message" when the call failed */
};

static struct fake_link the_link;
static struct rem_channel *the_ch;
static int closed_calls;
static struct proto_link_vtbl named_vtbl;

static void
on_closed(struct rem_channel *ch, int code, const char *why, void *arg)
{
    (void)ch;
    (void)code;
    (void)why;
    (void)arg;
    closed_calls++;
}

static void
open_channel(const char *transport)
{
    struct rem_channel_opts o = {0};

    fake_link_init(&the_link);
    named_vtbl = fake_vtbl;
    named_vtbl.name = transport;
    the_link.link.vt = &named_vtbl;
    o.name = "node-test";
    o.on_closed = on_closed;
    T_EQ_INT(rem_channel_new(&the_link.link, &o, &the_ch), 0);
}

static void
close_channel(void)
{
    fake_link_finish(&the_link, AG_ECLOSED);
    fake_link_clear(&the_link);
    the_ch = NULL;
}

/* Send the request in tests/data/node/<req>.bin and collect the reply. */
static void
call_req(const char *req, struct reply *r)
{
    static int32_t next_id = 1;
    size_t n = 0;
    uint8_t *p = load(req, &n);
    struct jos_msg *m = NULL;
    struct jos_msg *rm = NULL;
    struct jos_stream st = {0};
    struct ag_err err = {0};
    struct ag_buf out;
    struct jos_val *cmd;
    struct jos_val *resp;
    struct jos_val *exc = NULL;
    struct jos_val *rv = NULL;
    size_t before = the_link.nsent;
    int32_t id = next_id++;

    memset(r, 0, sizeof(*r));
    ag_buf_init(&out, 1 << 24);
    if (p == NULL) {
        return;
    }
    T_EQ_INT(jos_msg_new(NULL, 0, &m), 0);
    T_EQ_INT(jos_msg_decode(m, p, n, &st, &err), 0);
    T_CHECK(st.n == 1);
    cmd = rem__cmd_user_request(m, id, 2, st.items[0], req);
    T_EQ_INT(jos_encode(&out, &cmd, 1, &err), 0);
    fake_link_deliver(&the_link, out.data, out.len);
    T_EQ_INT(the_link.nsent, before + 1);
    if (the_link.nsent != before + 1) {
        goto out;
    }
    T_EQ_INT(jos_decode(the_link.sent[before], the_link.sent_len[before], NULL, 0, &rm, &err), 0);
    resp = rm != NULL ? rm->top.items[0] : NULL;
    T_CHECK(jos_val_is(resp, "hudson.remoting.Response"));
    if (jos_get_obj(resp, "exception", &exc) == 0 && exc != NULL) {
        rem__throwable_text(exc, r->exc, sizeof(r->exc));
        goto out;
    }
    T_EQ_INT(jos_get_obj(resp, "returnValue", &rv), 0);
    if (jos_val_is(rv, "hudson.remoting.UserRequest$ExceptionResponse")) {
        (void)snprintf(r->exc, sizeof(r->exc), "ExceptionResponse");
        goto out;
    }
    T_CHECK(jos_val_is(rv, "hudson.remoting.UserRequest$NormalResponse"));
    {
        struct ag_iov pl = {0};

        T_EQ_INT(jos_get_bytes(rv, "response", &pl), 0);
        r->payload = malloc(pl.len > 0 ? pl.len : 1);
        memcpy(r->payload, pl.base, pl.len);
        r->len = pl.len;
    }
out:
    jos_msg_free(rm);
    jos_msg_free(m);
    ag_buf_fini(&out);
    free(p);
}

static void
reply_fini(struct reply *r)
{
    free(r->payload);
    r->payload = NULL;
}

/* The reply must equal tests/data/node/<resp>.bin byte for byte. */
static void
expect_exact(const char *req, const char *resp)
{
    struct reply r;
    size_t n = 0;
    uint8_t *want = load(resp, &n);

    call_req(req, &r);
    if (r.exc[0] != '\0') {
        T_FAIL_("%s failed: %s", req, r.exc);
    } else if (want != NULL) {
        T_EQ_MEM(r.payload, r.len, want, n);
    }
    free(want);
    reply_fini(&r);
}

static void
expect_fail(const char *req, const char *substr)
{
    struct reply r;

    call_req(req, &r);
    T_CHECK(strstr(r.exc, substr) != NULL);
    if (strstr(r.exc, substr) == NULL) {
        (void)fprintf(stderr, "%s: exception \"%s\" lacks \"%s\"\n", req, r.exc, substr);
    }
    reply_fini(&r);
}

/* Decode a reply payload (caller frees *m). */
static struct jos_val *
decode_payload(const struct reply *r, struct jos_msg **m)
{
    struct ag_err err = {0};

    *m = NULL;
    if (r->payload == NULL || jos_decode(r->payload, r->len, NULL, 0, m, &err) != 0) {
        T_FAIL_("cannot decode the reply: %s", err.msg);
        return NULL;
    }
    return (*m)->top.items[0];
}

/* Replace every 8-byte big-endian occurrence of placeholder in *p with v. */
static void
splice_u64(uint8_t *p, size_t n, uint64_t placeholder, uint64_t v)
{
    uint8_t a[8];
    uint8_t b[8];

    for (int i = 0; i < 8; i++) {
        a[i] = (uint8_t)(placeholder >> (56 - 8 * i));
        b[i] = (uint8_t)(v >> (56 - 8 * i));
    }
    for (size_t i = 0; i + 8 <= n; i++) {
        if (memcmp(p + i, a, 8) == 0) {
            memcpy(p + i, b, 8);
            i += 7;
        }
    }
}

/* Replace the TC_STRING "old" (u16 length + bytes) with s; returns a new buffer. */
static uint8_t *
splice_string(const uint8_t *p, size_t n, const char *old, const char *s, size_t *out_len)
{
    size_t ol = strlen(old);
    size_t sl = strlen(s);
    uint8_t *o = malloc(n + sl + 2);

    for (size_t i = 0; i + 2 + ol <= n; i++) {
        if (p[i] == (uint8_t)(ol >> 8) && p[i + 1] == (uint8_t)ol &&
            memcmp(p + i + 2, old, ol) == 0) {
            memcpy(o, p, i);
            o[i] = (uint8_t)(sl >> 8);
            o[i + 1] = (uint8_t)sl;
            memcpy(o + i + 2, s, sl);
            memcpy(o + i + 2 + sl, p + i + 2 + ol, n - i - 2 - ol);
            *out_len = n - ol + sl;
            return o;
        }
    }
    memcpy(o, p, n);
    *out_len = n;
    return o;
}

static int64_t
now_ms(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
setup(void)
{
    T_EQ_INT(agent_callables_register(), 0);
    agent_node_reset();
    open_channel("JNLP4-connect");
}

static void
teardown(void)
{
    close_channel();
    agent_node_reset();
}

/* ----- tests ----- */

T_TEST(tables_sorted_registered_documented)
{
    size_t n = 0;
    const struct rem_callable_handler *t = agent_callables_table(&n);
    size_t nt = 0;
    const struct agent_filepath_task *ft = agent_filepath_tasks(&nt);
    struct ag_buf md;
    char path[512];
    size_t dlen = 0;
    uint8_t *doc;

    T_EQ_INT(agent_callables_register(), 0);
    T_EQ_INT(agent_callables_register(), 0); /* idempotent */
    for (size_t i = 0; i < n; i++) {
        T_CHECK(i == 0 || strcmp(t[i - 1].class_name, t[i].class_name) < 0);
        T_CHECK(rem_callables_find(t[i].class_name) != NULL &&
                rem_callables_find(t[i].class_name)->fn == t[i].fn);
    }
    for (size_t i = 0; i < nt; i++) {
        T_CHECK(i == 0 || strcmp(ft[i - 1].class_name, ft[i].class_name) < 0);
        T_CHECK(agent_filepath_task_find(ft[i].class_name) == &ft[i]);
    }
    T_CHECK(agent_filepath_task_find("x.Y") == NULL);
    /* The two of flow A.1 that remoting answers itself. */
    T_CHECK(rem_callables_find("hudson.slaves.SlaveComputer$SlaveVersion") != NULL);
    T_CHECK(rem_callables_find("hudson.slaves.ChannelPinger$SetUpRemotePing") != NULL);
    ag_buf_init(&md, 1 << 20);
    T_EQ_INT(agent_callables_markdown(&md), 0);
    T_EQ_INT(ag_buf_append_u8(&md, 0), 0);
    (void)snprintf(path, sizeof(path), "%s/docs/callables.md", t_source_dir());
    doc = t_read_file(path, &dlen);
    T_CHECK(doc != NULL);
    if (doc != NULL) {
        char *d = calloc(1, dlen + 1);

        memcpy(d, doc, dlen);
        if (strstr(d, (const char *)md.data) == NULL) {
            T_FAIL_("docs/callables.md does not contain the agent's tables; expected:\n%s",
                    (const char *)md.data);
        }
        free(d);
        free(doc);
    }
    ag_buf_fini(&md);
}

T_TEST(flow_a1_replies_are_javas)
{
    struct reply r;
    char want[64];

    setup();
    /* SlaveVersion (remoting's table): "3355.v388858a_47b_33" as a TC_STRING stream. */
    call_req("req-slave-version", &r);
    (void)snprintf(want, sizeof(want), "\xac\xed%c%ct%c%c%s", 0, 5, 0,
                   (int)strlen(AG_REMOTING_VERSION), AG_REMOTING_VERSION);
    T_EQ_MEM(r.payload, r.len, want, 7 + strlen(AG_REMOTING_VERSION));
    reply_fini(&r);
    call_req("req-communication-protocol", &r);
    (void)snprintf(want, sizeof(want), "\xac\xed%c%ct%c%c%s", 0, 5, 0, 13, "JNLP4-connect");
    T_EQ_MEM(r.payload, r.len, want, 7 + 13);
    reply_fini(&r);
    expect_exact("req-detect-os", "resp-true");
    (void)setenv("LC_ALL", "C", 1);
    expect_exact("req-detect-charset", "resp-utf8");
    (void)setenv("LC_ALL", "C.UTF-8", 1);
    expect_exact("req-detect-charset", "resp-utf8");
    (void)unsetenv("LC_ALL");
    T_EQ_INT(agent_node_log_capacity(), 0);
    expect_exact("req-slave-initializer", "resp-null");
    T_EQ_INT(agent_node_log_capacity(), 2);
    expect_exact("req-set-up-remote-ping", "resp-null");
    expect_exact("req-channel-swapper", "resp-false");
    T_CHECK(!agent_node_auto_flush());
    expect_exact("req-copy-system-properties", "resp-null");
    T_CHECK(agent_node_auto_flush());
    T_EQ_STR(agent_node_controller_property("hudson.util.StreamTaskListener.AUTO_FLUSH"), "true");
    T_CHECK(agent_node_controller_property("jenkins.example.unset") == NULL);
    expect_exact("req-copy-system-properties-empty", "resp-null");
    T_CHECK(!agent_node_auto_flush());
    {
        enum ag_log_level lv = ag_log_get_level();

        expect_exact("req-set-level", "resp-null");
        T_EQ_INT(ag_log_get_level(), AG_LOG_FINE); /* a FINE recorder on hudson.remoting */
        ag_log_set_level(lv);
    }
    expect_exact("req-find-restarters", "resp-empty-arraylist");
    T_CHECK(agent_node_reconnect_allowed());
    expect_exact("req-slave-disconnector", "resp-null");
    T_CHECK(!agent_node_reconnect_allowed());
    teardown();
    T_CHECK(agent_node_reconnect_allowed());

    /* CommunicationProtocol follows the link; an unknown transport answers null. */
    open_channel("WebSocket");
    call_req("req-communication-protocol", &r);
    (void)snprintf(want, sizeof(want), "\xac\xed%c%ct%c%c%s", 0, 5, 0, 9, "WebSocket");
    T_EQ_MEM(r.payload, r.len, want, 7 + 9);
    reply_fini(&r);
    close_channel();
    open_channel("fake");
    expect_exact("req-communication-protocol", "resp-null");
    close_channel();
}

T_TEST(absolute_path_as_java_file)
{
    struct reply r;
    char cwd[4096];
    char want[4200];

    setup();
    T_CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
    (void)snprintf(want, sizeof(want), "%s/work/dir", cwd);
    call_req("req-absolute-path", &r);
    T_CHECK(r.len > 6);
    T_EQ_MEM(r.payload + 7, r.len - 7, want, strlen(want));
    reply_fini(&r);
    call_req("req-absolute-path-abs", &r);
    T_EQ_MEM(r.payload, r.len, "\xac\xed\x00\x05t\x00\x09/abs/root", 16);
    reply_fini(&r);
    teardown();
}

T_TEST(environment_replies)
{
    static char *fixed[] = {"B=2", "a=1", "PATH=/bin", "a=dup", "noequals", NULL};
    char **saved = environ;

    setup();
    environ = fixed;
    expect_exact("req-get-env-vars", "resp-env-vars");
    expect_exact("req-full-env", "resp-full-env");
    environ = saved;
    teardown();
}

T_TEST(monitors_replies)
{
    struct reply r;
    struct jos_msg *m = NULL;
    struct jos_val *v;
    size_t n = 0;
    uint8_t *want;
    int64_t t0;
    int64_t t1;
    struct utsname u;
    char arch[300];

    setup();
    /* ArchitectureMonitor */
    T_CHECK(uname(&u) == 0);
    (void)snprintf(arch, sizeof(arch), "%s (%s)", u.sysname, agent__java_arch(u.machine));
    call_req("req-get-arch", &r);
    T_CHECK(r.len == 7 + strlen(arch) && memcmp(r.payload + 7, arch, strlen(arch)) == 0);
    reply_fini(&r);
    T_EQ_STR(agent__java_arch("x86_64"), "amd64");
    T_EQ_STR(agent__java_arch("aarch64"), "aarch64");
    T_EQ_STR(agent__java_arch("weird9"), "weird9");

    /* ClockMonitor: remoteTime is our clock, startTime echoed. */
    t0 = now_ms();
    call_req("req-clock", &r);
    t1 = now_ms();
    v = decode_payload(&r, &m);
    if (v != NULL) {
        int64_t rt = 0;

        T_EQ_INT(jos_get_long(v, "remoteTime", &rt), 0);
        T_CHECK(rt >= t0 && rt <= t1);
        want = load("resp-clock", &n);
        splice_u64(want, n, P1, (uint64_t)rt);
        T_EQ_MEM(r.payload, r.len, want, n);
        free(want);
    }
    jos_msg_free(m);
    reply_fini(&r);

    /* ResponseTimeMonitor: both fields echoed. */
    expect_exact("req-step2", "resp-step3");
    expect_exact("req-step2-null", "resp-step3-null");

    /* SwapSpaceMonitor: MemoryUsage2 from /proc/meminfo. */
    call_req("req-swap", &r);
    v = decode_payload(&r, &m);
    if (v != NULL) {
        int64_t ap = 0;
        int64_t as = 0;
        int64_t tp = 0;
        int64_t ts = 0;
        uint8_t *w;

        T_CHECK(jos_val_is(v, "hudson.node_monitors.SwapSpaceMonitor$MemoryUsage2"));
        T_EQ_INT(jos_get_long(v, "availablePhysicalMemory", &ap), 0);
        T_EQ_INT(jos_get_long(v, "availableSwapSpace", &as), 0);
        T_EQ_INT(jos_get_long(v, "totalPhysicalMemory", &tp), 0);
        T_EQ_INT(jos_get_long(v, "totalSwapSpace", &ts), 0);
        T_CHECK(tp > 0 && ap > 0 && ap <= tp);
        T_CHECK(ts >= 0 && as >= 0 && as <= ts);
        T_CHECK(tp % 1024 == 0);
        w = load("resp-memory-usage", &n);
        splice_u64(w, n, P1, (uint64_t)ap);
        splice_u64(w, n, P2, (uint64_t)as);
        splice_u64(w, n, P3, (uint64_t)tp);
        splice_u64(w, n, P4, (uint64_t)ts);
        T_EQ_MEM(r.payload, r.len, w, n);
        free(w);
    }
    jos_msg_free(m);
    reply_fini(&r);
    teardown();
}

static void
check_disk(const char *req, const char *fs_path, const char *canon)
{
    struct reply r;
    struct jos_msg *m = NULL;
    struct jos_val *v;
    struct statvfs sv;
    size_t n = 0;

    T_CHECK(statvfs(fs_path, &sv) == 0);
    call_req(req, &r);
    v = decode_payload(&r, &m);
    if (v != NULL) {
        int64_t size = 0;
        int64_t total = 0;
        int64_t th = -1;
        const char *p = NULL;
        size_t plen = 0;
        int64_t want_size = (int64_t)((uint64_t)sv.f_bavail * sv.f_frsize);
        uint8_t *tmpl = load("resp-disk-space", &n);
        uint8_t *w;
        size_t wn = 0;

        T_CHECK(jos_val_is(v, "hudson.node_monitors.DiskSpaceMonitorDescriptor$DiskSpace"));
        T_EQ_INT(jos_get_long(v, "size", &size), 0);
        T_EQ_INT(jos_get_long(v, "totalSize", &total), 0);
        T_EQ_INT(jos_get_long(v, "threshold", &th), 0);
        T_EQ_INT(th, 0);
        T_EQ_INT(jos_get_string(v, "path", &p, &plen), 0);
        T_EQ_STR(p, canon);
        T_EQ_INT(total, (int64_t)((uint64_t)sv.f_blocks * sv.f_frsize));
        /* Other processes write meanwhile: within 256 MiB of our own statvfs. */
        T_CHECK(size > 0 && llabs(size - want_size) < (256LL << 20));
        splice_u64(tmpl, n, P1, (uint64_t)size);
        splice_u64(tmpl, n, P2, (uint64_t)total);
        w = splice_string(tmpl, n, "/PLACEHOLDER", canon, &wn);
        T_EQ_MEM(r.payload, r.len, w, wn);
        free(w);
        free(tmpl);
    }
    jos_msg_free(m);
    reply_fini(&r);
}

T_TEST(disk_space_through_filepath_envelopes)
{
    char tmp[4096];

    setup();
    check_disk("req-usable-space", "/", "/");
    check_disk("req-usable-space-fcw", "/", "/");
    T_CHECK(realpath("/tmp", tmp) != NULL);
    check_disk("req-temp-space", "/tmp", tmp);
    expect_exact("req-usable-space-missing", "resp-null");
    expect_fail("req-unknown-task", "NodeGen$Unknown");
    teardown();
}

T_TEST(filepath_values)
{
    struct jos_msg *m = NULL;
    struct jos_val *fp;
    struct ag_buf out;
    struct ag_err err = {0};
    const char *remote = NULL;
    bool local = false;
    /* callables.md B.0.1 vector FilePath "/w" without the annotation (capability 0x1FC). */
    static const char want[] = "\xac\xed\x00\x05sr\x00\x0fhudson.FilePath\x00\x00\x00\x00\x00\x00"
                               "\x00\x01\x03\x00\x01L\x00\x06remotet\x00\x12Ljava/lang/String;xpt"
                               "\x00\x02/ww\x01\x01x";

    T_EQ_INT(jos_msg_new(NULL, 0, &m), 0);
    fp = agent_new_filepath(m, "/w");
    T_CHECK(fp != NULL);
    T_EQ_INT(agent_filepath_read(fp, &remote, &local, &err), 0);
    T_EQ_STR(remote, "/w");
    T_CHECK(local);
    T_EQ_INT(jos_msg_add(m, fp), 0);
    ag_buf_init(&out, 4096);
    T_EQ_INT(jos_msg_encode(m, &out, &err), 0);
    T_EQ_MEM(out.data, out.len, want, sizeof(want) - 1);
    T_EQ_INT(agent_filepath_read(NULL, &remote, &local, &err), AG_EPROTO);
    T_EQ_INT(agent_filepath_read(jos_new_cstring(m, "x"), &remote, &local, &err), AG_EPROTO);
    ag_buf_fini(&out);
    jos_msg_free(m);
}

T_TEST(page_replies)
{
    struct reply r;
    struct jos_msg *m = NULL;
    struct jos_val *v;

    setup();
    expect_exact("req-loading-count", "resp-integer-0");
    expect_exact("req-loading-time", "resp-long-0");
    expect_exact("req-loading-prefetch", "resp-integer-0");
    expect_fail("req-heap-dump", "no Java heap");

    call_req("req-script", &r);
    T_CHECK(r.len > 7 && find_mem(r.payload, r.len, "cannot run Groovy", 17) != NULL);
    reply_fini(&r);

    /* System properties: a TreeMap (natural order) with the machine's facts. */
    call_req("req-system-properties", &r);
    v = decode_payload(&r, &m);
    if (v != NULL) {
        const struct jos_classdata *cd = jos_obj_classdata(v, "java.util.TreeMap");
        struct jos_blk b;
        uint32_t size = 0;
        const char *prev = "";
        int found = 0;
        struct jos_val *cmp = (struct jos_val *)1;

        T_CHECK(jos_val_is(v, "java.util.TreeMap"));
        T_EQ_INT(jos_get_obj(v, "comparator", &cmp), 0);
        T_CHECK(cmp == NULL);
        jos_blk_init(&b, cd);
        T_EQ_INT(jos_blk_u32(&b, &size), 0);
        T_CHECK(size >= 15);
        for (uint32_t i = 0; i < size; i++) {
            struct jos_val *k = NULL;
            struct jos_val *val = NULL;

            T_EQ_INT(jos_blk_obj(&b, &k), 0);
            T_EQ_INT(jos_blk_obj(&b, &val), 0);
            if (k == NULL || val == NULL) {
                break;
            }
            T_CHECK(strcmp(prev, k->u.str.s) < 0);
            prev = k->u.str.s;
            if (strcmp(k->u.str.s, "file.separator") == 0) {
                T_EQ_STR(val->u.str.s, "/");
                found++;
            } else if (strcmp(k->u.str.s, "path.separator") == 0) {
                T_EQ_STR(val->u.str.s, ":");
                found++;
            } else if (strcmp(k->u.str.s, "java.io.tmpdir") == 0) {
                T_EQ_STR(val->u.str.s, "/tmp");
                found++;
            } else if (strcmp(k->u.str.s, "native-agent.version") == 0) {
                T_EQ_STR(val->u.str.s, AG_VERSION);
                found++;
            } else if (strcmp(k->u.str.s, "os.name") == 0) {
                T_EQ_STR(val->u.str.s, "Linux");
                found++;
            }
        }
        T_EQ_INT(found, 5);
    }
    jos_msg_free(m);
    reply_fini(&r);

    /* Thread dump: a LinkedHashMap with our threads. */
    call_req("req-thread-dump", &r);
    v = decode_payload(&r, &m);
    T_CHECK(jos_val_is(v, "java.util.LinkedHashMap"));
    T_CHECK(r.payload != NULL && find_mem(r.payload, r.len, "(tid ", 5) != NULL);
    T_CHECK(r.payload != NULL && find_mem(r.payload, r.len, "no Java stack", 13) != NULL);
    jos_msg_free(m);
    reply_fini(&r);
    teardown();
}

T_TEST(log_page_records)
{
    struct reply r;
    size_t n = 0;
    uint8_t *want;
    struct jos_msg *m = NULL;
    struct jos_val *v;

    setup();
    expect_exact("req-log-fetcher", "resp-empty-arraylist"); /* no ring yet */
    expect_exact("req-slave-initializer", "resp-null");
    ag_log(AG_LOG_INFO, "node", "hello");
    call_req("req-log-fetcher", &r);
    v = decode_payload(&r, &m);
    if (v != NULL) {
        const struct jos_classdata *cd = jos_obj_classdata(v, "java.util.ArrayList");
        struct jos_blk b;
        uint32_t size = 0;
        struct jos_val *rec = NULL;
        int64_t millis = 0;

        jos_blk_init(&b, cd);
        T_EQ_INT(jos_blk_u32(&b, &size), 0);
        T_EQ_INT(size, 1);
        T_EQ_INT(jos_blk_obj(&b, &rec), 0);
        T_EQ_INT(jos_get_long(rec, "millis", &millis), 0);
        want = load("resp-log-records", &n);
        splice_u64(want, n, P1 >> 8, (uint64_t)millis);
        splice_u64(want, n, P2, 0); /* the first record of the ring */
        T_EQ_MEM(r.payload, r.len, want, n);
        free(want);
    }
    jos_msg_free(m);
    reply_fini(&r);
    /* The ring keeps the last 2. */
    ag_log(AG_LOG_INFO, "node", "one");
    ag_log(AG_LOG_WARNING, "node", "two");
    call_req("req-log-fetcher", &r);
    T_CHECK(r.payload != NULL && find_mem(r.payload, r.len, "hello", 5) == NULL);
    T_CHECK(r.payload != NULL && find_mem(r.payload, r.len, "WARNING", 7) != NULL);
    reply_fini(&r);
    teardown();
}

T_TEST(builders_match_java)
{
    static const char *const k13[] = {"k0", "k1", "k2", "k3",  "k4",  "k5", "k6",
                                      "k7", "k8", "k9", "k10", "k11", "k12"};
    static const char *const v13[] = {"v0", "v1", "v2", "v3",  "v4",  "v5", "v6",
                                      "v7", "v8", "v9", "v10", "v11", "v12"};
    static const struct {
        size_t n;
        const char *file;
    } cases[] = {{0, "resp-linkedhashmap-0"}, {13, "resp-linkedhashmap-13"}};

    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        struct jos_msg *m = NULL;
        struct ag_buf out;
        struct ag_err err = {0};
        size_t n = 0;
        uint8_t *want = load(cases[c].file, &n);

        T_EQ_INT(jos_msg_new(NULL, 0, &m), 0);
        T_EQ_INT(jos_msg_add(m, agent__new_linkedhashmap(m, k13, v13, cases[c].n)), 0);
        ag_buf_init(&out, 1 << 16);
        T_EQ_INT(jos_msg_encode(m, &out, &err), 0);
        T_EQ_MEM(out.data, out.len, want, n);
        ag_buf_fini(&out);
        jos_msg_free(m);
        free(want);
    }
    {
        struct jos_msg *m = NULL;
        struct ag_buf out;
        struct ag_err err = {0};
        size_t n = 0;
        uint8_t *want = load("resp-linkedhashmap-1", &n);
        static const char *const k[] = {"k"};
        static const char *const v[] = {"v"};

        T_EQ_INT(jos_msg_new(NULL, 0, &m), 0);
        T_EQ_INT(jos_msg_add(m, agent__new_linkedhashmap(m, k, v, 1)), 0);
        ag_buf_init(&out, 1 << 16);
        T_EQ_INT(jos_msg_encode(m, &out, &err), 0);
        T_EQ_MEM(out.data, out.len, want, n);
        ag_buf_fini(&out);
        jos_msg_free(m);
        free(want);
    }
}

T_TEST(meminfo_parser)
{
    static const char text[] = "MemTotal:       16318480 kB\nMemFree:  100 kB\n"
                               "MemAvailable: 5 kB\nSwapFree: 7 kB\nSwapTotal: x kB\n";
    struct agent__meminfo mi;

    agent__parse_meminfo(text, sizeof(text) - 1, &mi);
    T_EQ_INT(mi.total_phys, 16318480LL * 1024);
    T_EQ_INT(mi.avail_phys, 100 * 1024);
    T_EQ_INT(mi.avail_swap, 7 * 1024);
    T_EQ_INT(mi.total_swap, -1);
    agent__parse_meminfo("", 0, &mi);
    T_EQ_INT(mi.total_phys, -1);
}

static void
open_channel_on(uv_loop_t *loop)
{
    struct rem_channel_opts o = {0};

    fake_link_init(&the_link);
    o.name = "node-test";
    o.loop = loop;
    o.on_closed = on_closed;
    T_EQ_INT(rem_channel_new(&the_link.link, &o, &the_ch), 0);
}

static void
deliver_req(const char *req)
{
    size_t n = 0;
    uint8_t *p = load(req, &n);
    struct jos_msg *m = NULL;
    struct jos_stream st = {0};
    struct ag_err err = {0};
    struct ag_buf out;
    struct jos_val *cmd;

    ag_buf_init(&out, 1 << 20);
    if (p != NULL && jos_msg_new(NULL, 0, &m) == 0 && jos_msg_decode(m, p, n, &st, &err) == 0) {
        cmd = rem__cmd_user_request(m, 7, 2, st.items[0], req);
        T_EQ_INT(jos_encode(&out, &cmd, 1, &err), 0);
        fake_link_deliver(&the_link, out.data, out.len);
    }
    jos_msg_free(m);
    ag_buf_fini(&out);
    free(p);
}

/* On a channel with a loop the disk is measured on the thread pool and the Response follows from
 * the after-work callback; a channel that terminates meanwhile must not upset it. */
T_TEST(disk_space_on_the_thread_pool)
{
    uv_loop_t loop;
    int closed_before = closed_calls;

    T_EQ_INT(agent_callables_register(), 0);
    T_EQ_INT(uv_loop_init(&loop), 0);
    open_channel_on(&loop);
    deliver_req("req-usable-space");
    T_EQ_INT(the_link.nsent, 0); /* not yet: the pool is measuring */
    for (int i = 0; i < 10000 && the_link.nsent == 0; i++) {
        (void)uv_run(&loop, UV_RUN_ONCE);
    }
    T_EQ_INT(the_link.nsent, 1);
    if (the_link.nsent == 1) {
        struct jos_msg *m = NULL;
        struct ag_err err = {0};
        struct jos_val *rv = NULL;

        T_EQ_INT(jos_decode(the_link.sent[0], the_link.sent_len[0], NULL, 0, &m, &err), 0);
        T_EQ_INT(jos_get_obj(m->top.items[0], "returnValue", &rv), 0);
        T_CHECK(jos_val_is(rv, "hudson.remoting.UserRequest$NormalResponse"));
        T_CHECK(find_mem(the_link.sent[0], the_link.sent_len[0], "DiskSpace", 9) != NULL);
        jos_msg_free(m);
    }
    /* The link breaks while a measurement is running: the reply is dropped, nothing leaks. */
    deliver_req("req-temp-space");
    fake_link_finish(&the_link, AG_ECLOSED);
    (void)uv_run(&loop, UV_RUN_DEFAULT);
    T_EQ_INT(closed_calls, closed_before + 1);
    fake_link_clear(&the_link);
    T_EQ_INT(uv_loop_close(&loop), 0);
}

/* Every allocation of a call failing in turn (AG_TEST_FAIL_ALLOC style, from inside the test):
 * the handlers must answer or fail the call, never crash or leak (ASan build). */
T_TEST(allocation_failures_never_crash)
{
    static const char *const reqs[] = {
        "req-absolute-path",
        "req-slave-initializer",
        "req-copy-system-properties",
        "req-set-level",
        "req-find-restarters",
        "req-get-env-vars",
        "req-get-arch",
        "req-clock",
        "req-usable-space",
        "req-temp-space",
        "req-usable-space-fcw",
        "req-unknown-task",
        "req-swap",
        "req-step2",
        "req-system-properties",
        "req-full-env",
        "req-loading-time",
        "req-log-fetcher",
        "req-thread-dump",
        "req-script",
        "req-heap-dump",
    };

    enum ag_log_level lv = ag_log_get_level();

    T_EQ_INT(agent_callables_register(), 0);
    ag_log_set_level(AG_LOG_SEVERE); /* thousands of expected out-of-memory warnings */
    for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
        size_t n = 0;
        uint8_t *p = load(reqs[i], &n);

        for (uint64_t k = 1; p != NULL && k <= 120; k++) {
            struct jos_msg *m = NULL;
            struct jos_stream st = {0};
            struct ag_err err = {0};
            struct ag_buf out;
            struct jos_val *cmd;

            agent_node_reset();
            open_channel("JNLP4-connect");
            /* A ring with records, so the log page has something to copy. */
            if (strcmp(reqs[i], "req-log-fetcher") == 0) {
                struct reply r;

                call_req("req-slave-initializer", &r);
                reply_fini(&r);
                ag_log(AG_LOG_SEVERE, "node", "record for the allocation sweep");
            }
            ag_buf_init(&out, 1 << 24);
            if (jos_msg_new(NULL, 0, &m) == 0 && jos_msg_decode(m, p, n, &st, &err) == 0) {
                cmd = rem__cmd_user_request(m, 99, 2, st.items[0], reqs[i]);
                if (jos_encode(&out, &cmd, 1, &err) == 0) {
                    ag_alloc_fail_after(k);
                    fake_link_deliver(&the_link, out.data, out.len);
                    ag_alloc_fail_after(0);
                }
            }
            jos_msg_free(m);
            ag_buf_fini(&out);
            close_channel();
        }
        free(p);
    }
    ag_log_set_level(lv);
    agent_node_reset();
}

T_MAIN(T_CASE(tables_sorted_registered_documented), T_CASE(flow_a1_replies_are_javas),
       T_CASE(absolute_path_as_java_file), T_CASE(environment_replies), T_CASE(monitors_replies),
       T_CASE(disk_space_through_filepath_envelopes), T_CASE(filepath_values), T_CASE(page_replies),
       T_CASE(log_page_records), T_CASE(builders_match_java), T_CASE(meminfo_parser),
       T_CASE(allocation_failures_never_crash), T_CASE(disk_space_on_the_thread_pool))
