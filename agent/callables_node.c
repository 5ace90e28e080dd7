/*
 * callables_node.c: the callables of flow A.1 (shared/spec/callables.md A.1, B.1: the controller's
 * SlaveComputer.setChannel and its ComputerListeners), the process-wide node state they set up
 * (callables_agent.h), the agent's handler table, and the value builders shared by
 * callables_*.c. docs/node.md tells what the node's pages show as a result.
 */
#include "callables_agent.h"

#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <uv.h>

#include "alloc.h"
#include "callables_int.h"
#include "channel.h"
#include "envvars.h"
#include "filepath.h"
#include "util.h"

extern char **environ;

/* ---------------------------------------------------------------------------------------------
 * The node state (see callables_agent.h for why it is process-wide).
 */
struct node_ring {
    uv_mutex_t mu;               /* the logger may call the sink from any thread */
    struct agent__log_rec *recs; /* owned: cap slots */
    size_t cap;
    size_t head; /* next slot to write */
    size_t count;
    uint64_t seq;
};

static struct {
    bool mu_ready;
    struct node_ring ring;
    bool ring_on;
    bool no_reconnect;
    char **props; /* owned: 2 * nprops strings (key, value or NULL) */
    size_t nprops;
    bool auto_flush;
} node;

static void
ring_clear_locked(struct node_ring *r)
{
    for (size_t i = 0; i < r->cap; i++) {
        ag_free(r->recs[i].message);
    }
    ag_free(r->recs);
    r->recs = NULL;
    r->cap = 0;
    r->head = 0;
    r->count = 0;
}

/* The log sink: keep the record (message cut at AGENT_NODE_MAX_RECORD_BYTES). It must not log. */
static void
on_log_record(const struct ag_log_record *rec, void *arg)
{
    struct node_ring *r = arg;
    size_t len = strnlen(rec->message, AGENT_NODE_MAX_RECORD_BYTES);
    char *copy = ag_strndup(rec->message, len);
    struct agent__log_rec *slot;

    if (copy == NULL) {
        return; /* out of memory: the record is lost, as a full Java handler would drop it */
    }
    uv_mutex_lock(&r->mu);
    if (r->cap == 0) {
        uv_mutex_unlock(&r->mu);
        ag_free(copy);
        return;
    }
    slot = &r->recs[r->head];
    ag_free(slot->message);
    slot->message = copy;
    slot->millis = rec->millis;
    slot->level = rec->level;
    slot->seq = r->seq++;
    (void)snprintf(slot->component, sizeof(slot->component), "%s",
                   rec->component != NULL ? rec->component : "agent");
    r->head = (r->head + 1) % r->cap;
    if (r->count < r->cap) {
        r->count++;
    }
    uv_mutex_unlock(&r->mu);
}

static int
ring_start(size_t cap)
{
    struct agent__log_rec *recs;
    int rc;

    if (!node.mu_ready) {
        rc = uv_mutex_init(&node.ring.mu);
        if (rc != 0) {
            return rc;
        }
        node.mu_ready = true;
    }
    uv_mutex_lock(&node.ring.mu);
    if (node.ring.cap == cap) {
        /* A reconnect: keep the records of the earlier sessions (docs/node.md). */
        uv_mutex_unlock(&node.ring.mu);
        return 0;
    }
    uv_mutex_unlock(&node.ring.mu);
    recs = ag_calloc(cap, sizeof(*recs));
    if (recs == NULL) {
        return AG_ENOMEM;
    }
    uv_mutex_lock(&node.ring.mu);
    ring_clear_locked(&node.ring);
    node.ring.recs = recs;
    node.ring.cap = cap;
    uv_mutex_unlock(&node.ring.mu);
    if (!node.ring_on) {
        rc = ag_log_add_sink(on_log_record, &node.ring);
        if (rc != 0) {
            return rc;
        }
        node.ring_on = true;
    }
    return 0;
}

int
agent__log_records(struct agent__log_rec **out, size_t *n)
{
    struct agent__log_rec *copy = NULL;
    size_t k = 0;
    int rc = 0;

    *out = NULL;
    *n = 0;
    if (!node.mu_ready) {
        return 0;
    }
    uv_mutex_lock(&node.ring.mu);
    if (node.ring.count > 0) {
        copy = ag_calloc(node.ring.count, sizeof(*copy));
        if (copy == NULL) {
            rc = AG_ENOMEM;
        }
    }
    for (size_t i = 0; copy != NULL && i < node.ring.count; i++) {
        size_t at = (node.ring.head + node.ring.cap - node.ring.count + i) % node.ring.cap;

        copy[k] = node.ring.recs[at];
        copy[k].message = ag_strdup(node.ring.recs[at].message);
        if (copy[k].message == NULL) {
            rc = AG_ENOMEM;
            break;
        }
        k++;
    }
    uv_mutex_unlock(&node.ring.mu);
    if (rc != 0) {
        agent__log_records_free(copy, k);
        return rc;
    }
    *out = copy;
    *n = k;
    return 0;
}

void
agent__log_records_free(struct agent__log_rec *recs, size_t n)
{
    for (size_t i = 0; recs != NULL && i < n; i++) {
        ag_free(recs[i].message);
    }
    ag_free(recs);
}

static void
props_clear(void)
{
    for (size_t i = 0; i < 2 * node.nprops; i++) {
        ag_free(node.props[i]);
    }
    ag_free(node.props);
    node.props = NULL;
    node.nprops = 0;
    node.auto_flush = false;
}

bool
agent_node_reconnect_allowed(void)
{
    return !node.no_reconnect;
}

bool
agent_node_auto_flush(void)
{
    return node.auto_flush;
}

const char *
agent_node_controller_property(const char *name)
{
    for (size_t i = 0; name != NULL && i < node.nprops; i++) {
        if (strcmp(node.props[2 * i], name) == 0) {
            return node.props[2 * i + 1];
        }
    }
    return NULL;
}

size_t
agent_node_log_capacity(void)
{
    size_t cap = 0;

    if (node.mu_ready) {
        uv_mutex_lock(&node.ring.mu);
        cap = node.ring.cap;
        uv_mutex_unlock(&node.ring.mu);
    }
    return cap;
}

void
agent_node_reset(void)
{
    if (node.ring_on) {
        ag_log_remove_sink(on_log_record, &node.ring);
        node.ring_on = false;
    }
    if (node.mu_ready) {
        ring_clear_locked(&node.ring);
        node.ring.seq = 0;
        uv_mutex_destroy(&node.ring.mu);
        node.mu_ready = false;
    }
    props_clear();
    node.no_reconnect = false;
}

/* ---------------------------------------------------------------------------------------------
 * Value builders.
 */
static struct jos_val *
new_boxed(struct jos_msg *m, const char *cls, int64_t v)
{
    struct jos_val *b = jos_new_object(m, cls);

    if (b != NULL) {
        (void)jos_set_prim(m, b, "value", v); /* sticky in m */
    }
    return b;
}

struct jos_val *
agent__new_boolean(struct jos_msg *m, bool v)
{
    return new_boxed(m, "java.lang.Boolean", v ? 1 : 0);
}

struct jos_val *
agent__new_integer(struct jos_msg *m, int32_t v)
{
    return new_boxed(m, "java.lang.Integer", v);
}

struct jos_val *
agent__new_long(struct jos_msg *m, int64_t v)
{
    return new_boxed(m, "java.lang.Long", v);
}

static void *
build_nomem(struct jos_msg *m)
{
    if (m->build_err == 0) {
        m->build_err = ag_err_set(&m->build_detail, AG_ENOMEM, 0, "builder: out of memory");
    }
    return NULL;
}

static void *
build_calloc(struct jos_msg *m, size_t count, size_t size)
{
    void *p = ag_arena_calloc(&m->arena, count, size);

    return p != NULL ? p : build_nomem(m);
}

struct jos_val *
agent__new_plain_object(struct jos_msg *m, const char *class_name, int64_t suid)
{
    struct jos_val *dv;
    struct jos_val *v;
    struct jos_classdata *cd;

    if (m->build_err != 0) {
        return NULL;
    }
    /* A descriptor of its own per object: callers make one such object per message. */
    dv = build_calloc(m, 1, sizeof(*dv));
    v = build_calloc(m, 1, sizeof(*v));
    cd = build_calloc(m, 1, sizeof(*cd));
    if (dv == NULL || v == NULL || cd == NULL) {
        return NULL;
    }
    dv->kind = JOS_K_CLASSDESC;
    dv->u.desc.name = ag_arena_memdup(&m->arena, class_name, strlen(class_name) + 1);
    if (dv->u.desc.name == NULL) {
        return build_nomem(m);
    }
    dv->u.desc.suid = suid;
    dv->u.desc.flags = JOS_SC_SERIALIZABLE;
    cd->desc = &dv->u.desc;
    cd->has_values = true;
    v->kind = JOS_K_OBJECT;
    v->u.obj.desc = &dv->u.desc;
    v->u.obj.nclasses = 1;
    v->u.obj.classes = cd;
    return v;
}

int
agent__map_put_all(struct jos_msg *m, struct jos_val *map, const char *map_class,
                   const char *const *keys, const char *const *vals, size_t n)
{
    uint8_t hdr[8];
    size_t hn = 0;
    uint32_t size = (uint32_t)n;

    if (strcmp(map_class, "java.util.HashMap") == 0) {
        /* HashMap.writeObject: capacity() then size; capacity as the table has grown by n puts
         * into a new HashMap (16, doubled while size > 0.75 * capacity). */
        uint32_t cap = 16;

        while ((uint64_t)n * 4 > (uint64_t)cap * 3) {
            cap *= 2;
        }
        hdr[hn++] = (uint8_t)(cap >> 24);
        hdr[hn++] = (uint8_t)(cap >> 16);
        hdr[hn++] = (uint8_t)(cap >> 8);
        hdr[hn++] = (uint8_t)cap;
        (void)jos_set_prim(m, map, "loadFactor", 0x3f400000); /* 0.75f */
        (void)jos_set_int(m, map, "threshold", n == 0 ? 0 : (int32_t)(cap / 4 * 3));
    }
    hdr[hn++] = (uint8_t)(size >> 24);
    hdr[hn++] = (uint8_t)(size >> 16);
    hdr[hn++] = (uint8_t)(size >> 8);
    hdr[hn++] = (uint8_t)size;
    (void)jos_custom_block(m, map, map_class, hdr, hn);
    for (size_t i = 0; i < n; i++) {
        (void)jos_custom_obj(m, map, map_class, jos_new_cstring(m, keys[i]));
        (void)jos_custom_obj(m, map, map_class,
                             vals[i] != NULL ? jos_new_cstring(m, vals[i]) : NULL);
    }
    return m->build_err;
}

struct jos_val *
agent__new_treemap(struct jos_msg *m, const char *const *keys, const char *const *vals, size_t n)
{
    struct jos_val *t = jos_new_object(m, "java.util.TreeMap");

    if (t == NULL || agent__map_put_all(m, t, "java.util.TreeMap", keys, vals, n) != 0) {
        return NULL;
    }
    return t;
}

struct jos_val *
agent__new_linkedhashmap(struct jos_msg *m, const char *const *keys, const char *const *vals,
                         size_t n)
{
    struct jos_val *t = jos_new_object(m, "java.util.LinkedHashMap");

    if (t == NULL || agent__map_put_all(m, t, "java.util.HashMap", keys, vals, n) != 0) {
        return NULL;
    }
    return t;
}

struct jos_val *
agent__new_arraylist(struct jos_msg *m, struct jos_val *const *items, size_t n)
{
    struct jos_val *l = jos_new_object(m, "java.util.ArrayList");
    uint8_t b[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};

    if (l == NULL) {
        return NULL;
    }
    (void)jos_set_int(m, l, "size", (int32_t)n);
    (void)jos_custom_block(m, l, "java.util.ArrayList", b, sizeof(b));
    for (size_t i = 0; i < n; i++) {
        (void)jos_custom_obj(m, l, "java.util.ArrayList", items[i]);
    }
    return m->build_err == 0 ? l : NULL;
}

/* ---------------------------------------------------------------------------------------------
 * Reading maps the controller sent.
 */
static int
map_pairs(const struct jos_classdata *cd, unsigned ints, size_t max, agent__map_cb cb, void *arg,
          struct ag_err *err, const char *cls)
{
    struct jos_blk b;
    uint32_t size = 0;

    if (cd == NULL || !cd->has_custom) {
        return ag_err_set(err, AG_EPROTO, 0, "%s without its custom data", cls);
    }
    jos_blk_init(&b, cd);
    for (unsigned i = 0; i < ints; i++) {
        if (jos_blk_u32(&b, &size) != 0) {
            return ag_err_set(err, AG_EPROTO, 0, "%s custom data ends before its size", cls);
        }
    }
    if (size > max) {
        return ag_err_set(err, AG_ELIMIT, 0, "%s of %u entries exceeds limit %zu", cls,
                          (unsigned)size, max);
    }
    for (uint32_t i = 0; i < size; i++) {
        struct jos_val *k = NULL;
        struct jos_val *v = NULL;

        if (jos_blk_obj(&b, &k) != 0 || jos_blk_obj(&b, &v) != 0) {
            return ag_err_set(err, AG_EPROTO, 0, "%s entry %u of %u missing", cls, (unsigned)i,
                              (unsigned)size);
        }
        cb(k, v, arg);
    }
    return 0;
}

int
agent__map_foreach(const struct jos_val *map, size_t max, agent__map_cb cb, void *arg,
                   struct ag_err *err)
{
    if (map == NULL) {
        return 0;
    }
    if (jos_val_instanceof(map, "java.util.HashMap")) {
        return map_pairs(jos_obj_classdata(map, "java.util.HashMap"), 2, max, cb, arg, err,
                         "java.util.HashMap");
    }
    if (jos_val_instanceof(map, "java.util.Hashtable")) {
        return map_pairs(jos_obj_classdata(map, "java.util.Hashtable"), 2, max, cb, arg, err,
                         "java.util.Hashtable");
    }
    if (jos_val_instanceof(map, "java.util.TreeMap")) {
        return map_pairs(jos_obj_classdata(map, "java.util.TreeMap"), 1, max, cb, arg, err,
                         "java.util.TreeMap");
    }
    if (jos_val_is(map, "java.util.Collections$EmptyMap")) {
        return 0;
    }
    if (jos_val_is(map, "java.util.Collections$SingletonMap")) {
        struct jos_val *k = NULL;
        struct jos_val *v = NULL;

        if (jos_get_obj(map, "k", &k) != 0 || jos_get_obj(map, "v", &v) != 0) {
            return ag_err_set(err, AG_EPROTO, 0, "Collections$SingletonMap without k or v");
        }
        cb(k, v, arg);
        return 0;
    }
    if (jos_val_is(map, "java.util.CollSer")) {
        const struct jos_classdata *cd = jos_obj_classdata(map, "java.util.CollSer");
        int32_t tag = 0;
        uint32_t len = 0;
        struct jos_blk b;

        /* CollSer.IMM_MAP = 3 in the low byte; custom data: int length, then k, v, k, v... */
        if (jos_get_int(map, "tag", &tag) != 0 || (tag & 0xff) != 3 || cd == NULL) {
            return ag_err_set(err, AG_EPROTO, 0, "java.util.CollSer with tag %d is not a map",
                              (int)tag);
        }
        jos_blk_init(&b, cd);
        if (jos_blk_u32(&b, &len) != 0 || len % 2 != 0) {
            return ag_err_set(err, AG_EPROTO, 0, "java.util.CollSer map length %u invalid",
                              (unsigned)len);
        }
        if (len / 2 > max) {
            return ag_err_set(err, AG_ELIMIT, 0,
                              "java.util.CollSer of %u entries exceeds limit %zu",
                              (unsigned)(len / 2), max);
        }
        for (uint32_t i = 0; i < len / 2; i++) {
            struct jos_val *k = NULL;
            struct jos_val *v = NULL;

            if (jos_blk_obj(&b, &k) != 0 || jos_blk_obj(&b, &v) != 0) {
                return ag_err_set(err, AG_EPROTO, 0, "java.util.CollSer entry %u missing",
                                  (unsigned)i);
            }
            cb(k, v, arg);
        }
        return 0;
    }
    return ag_err_set(err, AG_EPROTO, 0, "%s is not a map we can read",
                      jos_val_class(map) != NULL ? jos_val_class(map) : "(not an object)");
}

/* ---------------------------------------------------------------------------------------------
 * System facts.
 */
const char *
agent__java_arch(const char *machine)
{
    /* The JDK's os.arch on Linux: its build's CPU name, not uname's. */
    static const char *const map[][2] = {
        {"x86_64", "amd64"},    {"amd64", "amd64"},     {"i386", "i386"},
        {"i486", "i386"},       {"i586", "i386"},       {"i686", "i386"},
        {"aarch64", "aarch64"}, {"arm64", "aarch64"},   {"armv7l", "arm"},
        {"armv6l", "arm"},      {"ppc64le", "ppc64le"}, {"ppc64", "ppc64"},
        {"s390x", "s390x"},     {"riscv64", "riscv64"}, {"loongarch64", "loongarch64"},
    };

    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (strcmp(machine, map[i][0]) == 0) {
            return map[i][1];
        }
    }
    return machine;
}

const char *
agent__default_charset(void)
{
    /* Codeset names as glibc spells them (compared without case, '-' and '_'), and the name
     * Java's Charset gives that charset. A C/POSIX locale (ANSI_X3.4-1968) and anything unknown
     * answer UTF-8: what every JDK since 18 reports (JEP 400), and how this agent treats bytes
     * (it never transcodes). */
    static const char *const map[][2] = {
        {"UTF8", "UTF-8"},
        {"ISO88591", "ISO-8859-1"},
        {"ISO885915", "ISO-8859-15"},
        {"ISO88592", "ISO-8859-2"},
        {"ISO88595", "ISO-8859-5"},
        {"ISO88597", "ISO-8859-7"},
        {"ISO88599", "ISO-8859-9"},
        {"EUCJP", "EUC-JP"},
        {"EUCKR", "EUC-KR"},
        {"GB2312", "GB2312"},
        {"GBK", "GBK"},
        {"GB18030", "GB18030"},
        {"BIG5", "Big5"},
        {"BIG5HKSCS", "Big5-HKSCS"},
        {"KOI8R", "KOI8-R"},
        {"KOI8U", "KOI8-U"},
        {"CP1251", "windows-1251"},
        {"CP1252", "windows-1252"},
        {"SHIFTJIS", "Shift_JIS"},
        {"SJIS", "Shift_JIS"},
        {"TIS620", "TIS-620"},
    };
    locale_t loc = newlocale(LC_CTYPE_MASK, "", (locale_t)0);
    const char *cs;
    char norm[32];
    size_t k = 0;
    const char *answer = "UTF-8";

    if (loc == (locale_t)0) {
        return answer; /* an invalid LANG: the C locale */
    }
    cs = nl_langinfo_l(CODESET, loc);
    for (size_t i = 0; cs != NULL && cs[i] != '\0' && k + 1 < sizeof(norm); i++) {
        char c = cs[i];

        if (c == '-' || c == '_') {
            continue;
        }
        norm[k++] = (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
    }
    norm[k] = '\0';
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (strcmp(norm, map[i][0]) == 0) {
            answer = map[i][1];
            break;
        }
    }
    freelocale(loc);
    return answer;
}

const char *
agent__jul_name(enum ag_log_level l)
{
    switch (l) {
    case AG_LOG_SEVERE:
        return "SEVERE";
    case AG_LOG_WARNING:
        return "WARNING";
    case AG_LOG_INFO:
        return "INFO";
    case AG_LOG_FINE:
        return "FINE";
    case AG_LOG_FINEST:
        return "FINEST";
    }
    return "INFO";
}

int32_t
agent__jul_value(enum ag_log_level l)
{
    switch (l) {
    case AG_LOG_SEVERE:
        return 1000;
    case AG_LOG_WARNING:
        return 900;
    case AG_LOG_INFO:
        return 800;
    case AG_LOG_FINE:
        return 500;
    case AG_LOG_FINEST:
        return 300;
    }
    return 800;
}

/* ---------------------------------------------------------------------------------------------
 * A.1 handlers.
 */
static void
cb_true(struct rem_call *call)
{
    rem_call_return(call, agent__new_boolean(rem_call_msg(call), true));
}

static void
cb_false(struct rem_call *call)
{
    rem_call_return(call, agent__new_boolean(rem_call_msg(call), false));
}

static void
cb_protocol(struct rem_call *call)
{
    struct rem_channel *ch = rem_call_channel(call);
    const char *p = ch != NULL ? rem_channel_protocol(ch) : NULL;

    /* Engine.java answers with the protocol it connected with; our links are named alike. */
    if (p != NULL && (strcmp(p, "JNLP4-connect") == 0 || strcmp(p, "WebSocket") == 0)) {
        rem_call_return_string(call, p);
        return;
    }
    rem_call_return_null(call);
}

static void
cb_charset(struct rem_call *call)
{
    rem_call_return_string(call, agent__default_charset());
}

static void
cb_absolute_path(struct rem_call *call)
{
    const char *rel = NULL;
    size_t len = 0;
    char cwd[4096];
    struct ag_buf out;
    char norm[4096];
    size_t k = 0;

    if (jos_get_string(rem_call_callable(call), "relativePath", &rel, &len) != 0 || rel == NULL) {
        rem_call_fail(call, "java.lang.NullPointerException",
                      "SlaveComputer$AbsolutePath without relativePath");
        return;
    }
    if (len >= sizeof(norm)) {
        rem_call_fail(call, "java.io.IOException", "path of %zu bytes is too long", len);
        return;
    }
    /* java.io.File normalises: duplicate '/' collapse, a trailing '/' goes. */
    for (size_t i = 0; i < len; i++) {
        if (rel[i] == '/' && k > 0 && norm[k - 1] == '/') {
            continue;
        }
        norm[k++] = rel[i];
    }
    if (k > 1 && norm[k - 1] == '/') {
        k--;
    }
    norm[k] = '\0';
    if (k > 0 && norm[0] == '/') {
        rem_call_return_string(call, norm);
        return;
    }
    if (getcwd(cwd, sizeof(cwd)) == NULL) {
        int e = errno;

        rem_call_fail(call, "java.io.IOException", "cannot read the working directory: %s",
                      strerror(e));
        return;
    }
    ag_buf_init(&out, sizeof(cwd) + sizeof(norm) + 2);
    if (ag_buf_printf(&out, "%s%s%s", cwd, k > 0 && strcmp(cwd, "/") != 0 ? "/" : "", norm) != 0 ||
        ag_buf_append_u8(&out, 0) != 0) {
        ag_buf_fini(&out);
        rem_call_fail(call, "java.io.IOException", "path too long");
        return;
    }
    rem_call_return_string(call, (const char *)out.data);
    ag_buf_fini(&out);
}

static void
cb_slave_initializer(struct rem_call *call)
{
    int32_t size = 256;
    int rc;

    if (jos_get_int(rem_call_callable(call), "ringBufferSize", &size) != 0 || size < 1) {
        size = 256; /* Java's RingBufferLogHandler default */
    }
    if ((uint32_t)size > AGENT_NODE_MAX_RING) {
        size = (int32_t)AGENT_NODE_MAX_RING;
    }
    rc = ring_start((size_t)size);
    if (rc != 0) {
        /* The log page stays empty; going online must not fail for it. */
        AG_LOG_WARN(AGENT_NODE_LOG, "cannot keep log records for the node's Log page: %s",
                    ag_strerror(rc));
    }
    rem_call_return_null(call);
}

struct props_ctx {
    char **kv;
    size_t n;
    size_t cap;
    int rc;
};

static void
on_prop(const struct jos_val *k, const struct jos_val *v, void *arg)
{
    struct props_ctx *c = arg;

    if (c->rc != 0 || k == NULL || k->kind != JOS_K_STRING || c->n == c->cap) {
        return; /* only String keys matter (SystemProperties.getString) */
    }
    c->kv[2 * c->n] = ag_strdup(k->u.str.s);
    c->kv[2 * c->n + 1] = v != NULL && v->kind == JOS_K_STRING ? ag_strdup(v->u.str.s) : NULL;
    if (c->kv[2 * c->n] == NULL ||
        (v != NULL && v->kind == JOS_K_STRING && c->kv[2 * c->n + 1] == NULL)) {
        ag_free(c->kv[2 * c->n]);
        ag_free(c->kv[2 * c->n + 1]);
        c->rc = AG_ENOMEM;
        return;
    }
    c->n++;
}

static void
cb_copy_system_properties(struct rem_call *call)
{
    struct jos_val *snap = NULL;
    struct props_ctx c = {0};
    struct ag_err err = {0};
    const char *af;
    int rc;

    /* Exceptions here abort the connection (A.1 step 7.4): only a broken stream fails it. */
    if (jos_get_obj(rem_call_callable(call), "snapshot", &snap) != 0) {
        rem_call_fail(call, "java.io.IOException", "CopySystemProperties without snapshot");
        return;
    }
    c.cap = AGENT_NODE_MAX_PROPS;
    c.kv = ag_calloc(2 * c.cap, sizeof(*c.kv));
    if (c.kv == NULL) {
        rem_call_fail(call, "java.lang.OutOfMemoryError", "cannot keep the system properties");
        return;
    }
    rc = agent__map_foreach(snap, AGENT_NODE_MAX_PROPS, on_prop, &c, &err);
    if (rc == 0) {
        rc = c.rc;
    }
    if (rc != 0) {
        for (size_t i = 0; i < 2 * c.n; i++) {
            ag_free(c.kv[i]);
        }
        ag_free(c.kv);
        AG_LOG_WARN(AGENT_NODE_LOG, "controller system properties: %s",
                    rc == AG_ENOMEM ? "out of memory" : err.msg);
        rem_call_fail(call, "java.io.IOException", "cannot read the system properties: %s",
                      rc == AG_ENOMEM ? "out of memory" : err.msg);
        return;
    }
    props_clear();
    node.props = c.kv;
    node.nprops = c.n;
    af = agent_node_controller_property("hudson.util.StreamTaskListener.AUTO_FLUSH");
    node.auto_flush = af != NULL && strcasecmp(af, "true") == 0;
    AG_LOG_DEBUG(AGENT_NODE_LOG, "%zu system properties from the controller (AUTO_FLUSH %s)", c.n,
                 node.auto_flush ? "on" : "off");
    rem_call_return_null(call);
}

static void
cb_set_level(struct rem_call *call)
{
    const struct jos_val *v = rem_call_callable(call);
    struct jos_val *level = NULL;
    const char *name = NULL;
    size_t len = 0;
    int32_t value = 800;
    enum ag_log_level want;

    if (jos_get_string(v, "name", &name, &len) != 0 || jos_get_obj(v, "level", &level) != 0) {
        rem_call_fail(call, "java.io.IOException", "LogRecorder$SetLevel without name or level");
        return;
    }
    if (level == NULL || jos_get_int(level, "value", &value) != 0) {
        rem_call_return_null(call); /* level null: Java resets to inherit; nothing to do */
        return;
    }
    want = value >= 1000  ? AG_LOG_SEVERE
           : value >= 900 ? AG_LOG_WARNING
           : value >= 700 ? AG_LOG_INFO
                          : AG_LOG_FINE;
    /* Our loggers stand for the root and remoting loggers. A recorder only ever makes us more
     * verbose: the command line's level stays the floor (docs/node.md). */
    if (name != NULL &&
        (name[0] == '\0' || strncmp(name, "hudson.remoting", 15) == 0 ||
         strncmp(name, "org.jenkinsci.remoting", 22) == 0 ||
         strncmp(name, "jenkins.agents", 14) == 0) &&
        want > ag_log_get_level()) {
        AG_LOG_INFO(AGENT_NODE_LOG, "log recorder on \"%s\": level %s", name,
                    agent__jul_name(want));
        ag_log_set_level(want);
    }
    rem_call_return_null(call);
}

static void
cb_find_restarters(struct rem_call *call)
{
    /* We restart nothing ourselves (the supervisor reconnects, the container restarts us):
     * every restarter is filtered out, as Java does for those whose canWork() is false. */
    rem_call_return(call, agent__new_arraylist(rem_call_msg(call), NULL, 0));
}

static void
cb_get_env_vars(struct rem_call *call)
{
    struct jos_msg *m = rem_call_msg(call);
    struct exec_env *env = NULL;
    struct jos_val *ev;
    const char **keys = NULL;
    const char **vals = NULL;
    size_t n;
    int rc;

    rc = exec_env_new(&env);
    if (rc == 0) {
        rc = exec_env_load_envp(env, environ);
    }
    n = env != NULL ? exec_env_count(env) : 0;
    if (rc == 0 && n > AGENT_NODE_MAX_ENV) {
        rc = AG_ELIMIT;
    }
    if (rc == 0) {
        keys = ag_calloc(n + 1, sizeof(*keys));
        vals = ag_calloc(n + 1, sizeof(*vals));
        rc = keys == NULL || vals == NULL ? AG_ENOMEM : 0;
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        exec_env_at(env, i, &keys[i], &vals[i]);
    }
    if (rc != 0) {
        rem_call_fail(call, "java.io.IOException", "cannot read the environment: %s",
                      ag_strerror(rc));
        goto out;
    }
    /* EnvVars.masterEnvVars: TreeMap(CASE_INSENSITIVE_ORDER) of the environment, platform UNIX. */
    ev = jos_new_object(m, "hudson.EnvVars");
    if (ev != NULL) {
        (void)jos_set_obj(m, ev, "comparator",
                          agent__new_plain_object(m, "java.lang.String$CaseInsensitiveComparator",
                                                  8575799808933029326LL));
        (void)agent__map_put_all(m, ev, "java.util.TreeMap", keys, vals, n);
        (void)jos_set_obj(m, ev, "platform", jos_new_enum(m, "hudson.Platform", "UNIX"));
    }
    rem_call_return(call, m->build_err == 0 ? ev : NULL);
out:
    ag_free(keys);
    ag_free(vals);
    exec_env_free(env);
}

static void
cb_slave_disconnector(struct rem_call *call)
{
    if (!node.no_reconnect) {
        AG_LOG_INFO(AGENT_NODE_LOG, "The controller is removing this agent (Kubernetes pod "
                                    "deleted): no reconnect after this connection closes");
    }
    node.no_reconnect = true;
    rem_call_return_null(call);
}

/* ---------------------------------------------------------------------------------------------
 * The table (sorted by class name; checked by unit.agent.callables_node).
 */
static const struct rem_callable_handler agent_callables[] = {
    {"hudson.EnvVars$GetEnvVars",
     "`hudson.EnvVars` of the agent's environment (case-insensitive TreeMap, platform UNIX)",
     cb_get_env_vars},
    {"hudson.FilePath$CallableWith",
     "runs its FileCallable `task` on `this$0.remote` (agent/filepath.c task table)",
     agent_filepath_callable_with},
    {"hudson.FilePath$FileCallableWrapper",
     "runs its `callable` on `filePath.remote` (agent/filepath.c task table)",
     agent_filepath_wrapper},
    {"hudson.logging.LogRecorder$SetLevel",
     "null; a recorder on the root or remoting loggers may raise our log level (never lower)",
     cb_set_level},
    {"hudson.model.Slave$GetClockDifference2",
     "`Slave$GetClockDifference3{remoteTime = our clock in ms, startTime echoed}`",
     agent__cb_clock},
    {"hudson.node_monitors.ArchitectureMonitor$GetArchTask",
     "\"Linux (amd64)\": uname's system name and Java's os.arch name", agent__cb_arch},
    {"hudson.node_monitors.ResponseTimeMonitor$Step2",
     "`ResponseTimeMonitor$Step3{start, cur}` echoing the request", agent__cb_response_time},
    {"hudson.node_monitors.SwapSpaceMonitor$MonitorTask",
     "`SwapSpaceMonitor$MemoryUsage2` from /proc/meminfo (null if unreadable)", agent__cb_swap},
    {"hudson.slaves.SlaveComputer$AbsolutePath",
     "relativePath resolved against the agent's working directory (java.io.File rules)",
     cb_absolute_path},
    {"hudson.slaves.SlaveComputer$CommunicationProtocol",
     "\"JNLP4-connect\" or \"WebSocket\": the transport of this channel", cb_protocol},
    {"hudson.slaves.SlaveComputer$DetectDefaultCharset",
     "the locale's charset as a Java name (\"UTF-8\" normally; docs/node.md)", cb_charset},
    {"hudson.slaves.SlaveComputer$DetectOS", "Boolean.TRUE (Unix)", cb_true},
    {"hudson.slaves.SlaveComputer$ListFullEnvironment",
     "TreeMap (natural order) of the agent's environment", agent__cb_full_environment},
    {"hudson.slaves.SlaveComputer$LoadingCount", "Integer 0 (no remote class loading)",
     agent__cb_loading_int},
    {"hudson.slaves.SlaveComputer$LoadingPrefetchCacheCount", "Integer 0 (no remote class loading)",
     agent__cb_loading_int},
    {"hudson.slaves.SlaveComputer$LoadingTime", "Long 0 (no remote class loading)",
     agent__cb_loading_long},
    {"hudson.slaves.SlaveComputer$SlaveInitializer",
     "null; keeps the last ringBufferSize log records for the node's Log page",
     cb_slave_initializer},
    {"hudson.slaves.SlaveComputer$SlaveLogFetcher",
     "ArrayList of `java.util.logging.LogRecord`: our recent log records", agent__cb_log_fetcher},
    {"hudson.util.RemotingDiagnostics$GetHeapDump",
     "IOException: a native agent has no Java heap to dump", agent__cb_heap_dump},
    {"hudson.util.RemotingDiagnostics$GetSystemProperties",
     "TreeMap of Java-style properties from the real system (os.*, user.*, file.*, native-agent.*)",
     agent__cb_system_properties},
    {"hudson.util.RemotingDiagnostics$GetThreadDump",
     "LinkedHashMap thread name -> text, from /proc/self/task", agent__cb_thread_dump},
    {"hudson.util.RemotingDiagnostics$Script",
     "a String saying that a native agent runs no Groovy (the script is not run)",
     agent__cb_script},
    {"jenkins.slaves.StandardOutputSwapper$ChannelSwapper",
     "Boolean.FALSE: no stdio channel, nothing to swap (as agent.jar over TCP/WebSocket)",
     cb_false},
    {"jenkins.slaves.restarter.JnlpSlaveRestarterInstaller$FindEffectiveRestarters",
     "empty ArrayList (no restarter can work: the supervisor reconnects)", cb_find_restarters},
    {"jenkins.util.SystemProperties$AgentCopier$CopySystemProperties",
     "null; keeps the snapshot (hudson.util.StreamTaskListener.AUTO_FLUSH)",
     cb_copy_system_properties},
    {"org.csanchez.jenkins.plugins.kubernetes.KubernetesSlave$SlaveDisconnector",
     "null; the agent does not reconnect after this channel closes", cb_slave_disconnector},
};

const struct rem_callable_handler *
agent_callables_table(size_t *n)
{
    *n = sizeof(agent_callables) / sizeof(agent_callables[0]);
    return agent_callables;
}

int
agent_callables_register(void)
{
    return rem_callables_register(agent_callables,
                                  sizeof(agent_callables) / sizeof(agent_callables[0]));
}

int
agent_callables_markdown(struct ag_buf *out)
{
    size_t nt = 0;
    const struct agent_filepath_task *t = agent_filepath_tasks(&nt);
    int rc = ag_buf_printf(out, "| callable (Java class) | what the native agent does |\n"
                                "|---|---|\n");

    for (size_t i = 0; rc == 0 && i < sizeof(agent_callables) / sizeof(agent_callables[0]); i++) {
        rc = ag_buf_printf(out, "| `%s` | %s |\n", agent_callables[i].class_name,
                           agent_callables[i].summary);
    }
    if (rc == 0) {
        rc = ag_buf_printf(out, "\nFile tasks inside `hudson.FilePath$FileCallableWrapper` and "
                                "`hudson.FilePath$CallableWith`:\n\n"
                                "| task (Java class) | what the native agent does |\n"
                                "|---|---|\n");
    }
    for (size_t i = 0; rc == 0 && i < nt; i++) {
        rc = ag_buf_printf(out, "| `%s` | %s |\n", t[i].class_name, t[i].summary);
    }
    return rc;
}
