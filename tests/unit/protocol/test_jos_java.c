/*
 * test_jos_java.c: streams written by the real ObjectOutputStream (tests/jos/JosGen.java, run by
 * the ctest fixture jos.java-write into ${CMAKE_BINARY_DIR}/jos-data): decode, check values,
 * re-encode byte for byte. Also builds the same remoting commands and JDK values with the builder
 * and compares them with Java's bytes, and writes c-*.bin for `JosGen verify` (jos.java-verify).
 * Without the data directory (no JDK) the test reports a skip.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "alloc.h"
#include "harness.h"
#include "jos.h"

#define DATA_DIR AG_BINARY_DIR "/jos-data"

static int have_data = -1;

static bool
data_present(void)
{
    struct stat st;

    if (have_data < 0) {
        have_data = stat(DATA_DIR "/prims.bin", &st) == 0;
        if (!have_data) {
            (void)fprintf(stderr, "skipped: %s not generated (no JDK?)\n", DATA_DIR);
        }
    }
    return have_data != 0;
}

static uint8_t *
load(const char *name, size_t *len)
{
    char path[512];

    (void)snprintf(path, sizeof(path), "%s/%s.bin", DATA_DIR, name);
    return t_read_file(path, len);
}

/* Decode name, re-encode, compare; returns the message (caller frees) or NULL. */
static struct jos_msg *
roundtrip(const char *name, uint8_t **bytes, size_t *blen)
{
    size_t len = 0;
    uint8_t *p = load(name, &len);
    struct jos_msg *m = NULL;
    struct ag_err err = {0};
    struct ag_buf b;
    int rc;

    T_CHECK(p != NULL);
    if (p == NULL) {
        return NULL;
    }
    rc = jos_decode(p, len, NULL, 0, &m, &err);
    if (rc != 0) {
        (void)fprintf(stderr, "%s: %s at %llu\n", name, err.msg, (unsigned long long)err.offset);
    }
    T_EQ_INT(rc, 0);
    if (rc == 0) {
        ag_buf_init(&b, 1 << 24);
        T_EQ_INT(jos_encode(&b, m->top.items, m->top.n, &err), 0);
        if (b.len != len || memcmp(b.data, p, len) != 0) {
            (void)fprintf(stderr, "%s: re-encoding differs\n", name);
        }
        T_EQ_MEM(b.data, b.len, p, len);
        ag_buf_fini(&b);
    }
    if (bytes != NULL) {
        *bytes = p;
        *blen = len;
    } else {
        free(p);
    }
    return m;
}

static struct jos_val *
elem(struct jos_val *arr, uint32_t i)
{
    if (arr == NULL || arr->kind != JOS_K_ARRAY || i >= arr->u.arr.len || arr->u.arr.elems == NULL) {
        return NULL;
    }
    return arr->u.arr.elems[i];
}

static const char *
str(struct jos_val *v)
{
    return v != NULL && v->kind == JOS_K_STRING ? v->u.str.s : NULL;
}

T_TEST(java_all_shapes_roundtrip)
{
    static const char *const shapes[] = {
        "prims", "boxed", "strings", "longstring", "arrays", "nested", "cycle", "enums", "proxy",
        "writeobject", "nodefault", "externalizable", "record", "exception", "collections",
        "reset", "jdkvalues", "capability", "response", "chunk", "ack", "eof", "close",
        "streams",
    };

    if (!data_present()) {
        return;
    }
    for (size_t i = 0; i < AG_ARRAY_LEN(shapes); i++) {
        struct jos_msg *m = roundtrip(shapes[i], NULL, NULL);
        struct ag_buf dump;

        if (m != NULL) {
            ag_buf_init(&dump, 1 << 24);
            T_EQ_INT(jos_dump(&dump, m, &m->top, NULL), 0);
            T_CHECK(dump.len > 0);
            ag_buf_fini(&dump);
        }
        jos_msg_free(m);
    }
}

T_TEST(java_prims)
{
    struct jos_msg *m;
    struct jos_val *o;
    const struct jos_field_desc *fd = NULL;
    const union jos_fv *fv = NULL;
    int64_t x = 0;
    int32_t i = 0;
    bool z = false;

    if (!data_present()) {
        return;
    }
    m = roundtrip("prims", NULL, NULL);
    if (m == NULL) {
        return;
    }
    o = m->top.items[0];
    T_CHECK(jos_val_is(o, "JosGen$Prims"));
    T_EQ_INT(jos_get_prim(o, "b", &x), 0);
    T_EQ_INT(x, -128);
    T_EQ_INT(jos_get_prim(o, "c", &x), 0);
    T_EQ_INT(x, 0x20AC);
    T_EQ_INT(jos_obj_field(o, NULL, "d", &fd, &fv), 0);
    T_EQ_U64((uint64_t)fv->i, UINT64_C(0x8000000000000000));
    T_EQ_INT(jos_obj_field(o, NULL, "f", &fd, &fv), 0);
    T_CHECK(jos_fv_float(*fv) != jos_fv_float(*fv)); /* NaN */
    T_EQ_INT(jos_get_int(o, "i", &i), 0);
    T_EQ_INT(i, INT32_MIN);
    T_EQ_INT(jos_get_long(o, "j", &x), 0);
    T_EQ_INT(x, INT64_MAX);
    T_EQ_INT(jos_get_prim(o, "s", &x), 0);
    T_EQ_INT(x, -2);
    T_EQ_INT(jos_get_bool(o, "z", &z), 0);
    T_CHECK(z);
    T_EQ_INT(jos_get_int(o, "j", &i), AG_EPROTO); /* wrong type */
    T_EQ_INT(jos_get_int(o, "nope", &i), AG_EPROTO);
    jos_msg_free(m);
}

T_TEST(java_strings)
{
    struct jos_msg *m;
    struct jos_val *a;
    uint8_t *p = NULL;
    size_t len = 0;

    if (!data_present()) {
        return;
    }
    m = roundtrip("strings", NULL, NULL);
    if (m == NULL) {
        return;
    }
    a = m->top.items[0];
    T_EQ_STR(str(elem(a, 1)), "ascii");
    T_EQ_INT(elem(a, 2)->u.str.len, 8);
    T_EQ_MEM(str(elem(a, 2)), 8, "nul\0byte", 8);
    T_EQ_STR(str(elem(a, 3)), "\xc3\xa9");
    T_EQ_STR(str(elem(a, 4)), "\xe2\x82\xac");
    T_EQ_STR(str(elem(a, 5)), "emoji \xf0\x9f\x98\x80!");
    T_EQ_STR(str(elem(a, 6)), "lone \xed\xa0\x80 surrogate");
    jos_msg_free(m);
    m = roundtrip("longstring", &p, &len);
    if (m != NULL) {
        T_EQ_INT(p[4], JOS_TC_LONGSTRING);
        T_EQ_INT(m->top.items[0]->u.str.len, 75000);
    }
    free(p);
    jos_msg_free(m);
}

T_TEST(java_arrays_cycles_enums)
{
    struct jos_msg *m;
    struct jos_val *a;

    if (!data_present()) {
        return;
    }
    m = roundtrip("arrays", NULL, NULL);
    if (m != NULL) {
        a = m->top.items[0];
        T_EQ_INT(jos_array_i(elem(a, 0), 1), -1);
        T_EQ_INT(jos_array_i(elem(a, 0), 2), INT32_MAX);
        T_EQ_INT(jos_array_i(elem(a, 1), 0), INT64_MIN);
        T_EQ_INT(jos_array_i(elem(a, 2), 0), -1);
        T_EQ_INT(jos_array_i(elem(a, 3), 1), 0x20AC);
        T_EQ_INT(jos_array_i(elem(a, 4), 0), -300);
        T_EQ_INT(jos_array_i(elem(a, 7), 0), 1);
        T_EQ_STR(str(elem(elem(a, 8), 0)), "s");
        T_CHECK(elem(elem(a, 8), 1) == NULL);
        T_EQ_INT(elem(a, 9)->u.arr.len, 0);
        T_EQ_INT(jos_array_i(elem(elem(a, 10), 1), 1), 3);
        T_EQ_INT(elem(a, 11)->u.arr.len, 0);
    }
    jos_msg_free(m);
    m = roundtrip("cycle", NULL, NULL);
    if (m != NULL) {
        struct jos_val *c1 = elem(m->top.items[0], 0);
        struct jos_val *next = NULL;
        struct jos_val *back = NULL;

        T_EQ_INT(jos_get_obj(c1, "next", &next), 0);
        T_EQ_INT(jos_get_obj(next, "next", &back), 0);
        T_CHECK(back == c1); /* shared references are the same pointer */
        T_CHECK(elem(m->top.items[0], 2) == c1);
        T_CHECK(elem(m->top.items[0], 1) == next);
        T_CHECK(elem(m->top.items[0], 3) == elem(m->top.items[0], 4));
    }
    jos_msg_free(m);
    m = roundtrip("enums", NULL, NULL);
    if (m != NULL) {
        a = m->top.items[0];
        T_EQ_STR(jos_val_class(elem(a, 0)), "java.util.concurrent.TimeUnit");
        T_EQ_STR(str(elem(a, 0)->u.enm.name), "SECONDS");
        T_EQ_STR(jos_val_class(elem(a, 2)), "JosGen$Color"); /* not the body class */
        T_EQ_STR(str(elem(a, 2)->u.enm.name), "GREEN");
        T_CHECK(elem(a, 3) == elem(a, 1));
        T_CHECK(jos_val_instanceof(elem(a, 1), "java.lang.Enum"));
    }
    jos_msg_free(m);
}

T_TEST(java_proxy_custom_external)
{
    struct jos_msg *m;
    struct jos_val *o;
    struct jos_val *h = NULL;
    struct jos_blk b;
    uint32_t u32 = 0;
    uint16_t u16 = 0;
    uint64_t u64 = 0;
    char utf[8];
    uint8_t big[2000];
    int32_t i = 0;

    if (!data_present()) {
        return;
    }
    m = roundtrip("proxy", NULL, NULL);
    if (m != NULL) {
        o = m->top.items[0];
        T_CHECK(o->u.obj.desc->is_proxy);
        T_EQ_INT(o->u.obj.desc->ninterfaces, 2);
        T_EQ_STR(o->u.obj.desc->interfaces[1], "java.lang.Comparable");
        T_CHECK(jos_val_instanceof(o, "java.lang.Runnable"));
        T_CHECK(jos_val_instanceof(o, "java.lang.reflect.Proxy"));
        T_EQ_INT(jos_get_obj(o, "h", &h), 0);
        T_EQ_INT(jos_get_int(h, "id", &i), 0);
        T_EQ_INT(i, 7);
    }
    jos_msg_free(m);
    m = roundtrip("writeobject", NULL, NULL);
    if (m != NULL) {
        o = m->top.items[0];
        T_EQ_INT(jos_get_int(o, "x", &i), 0);
        T_EQ_INT(i, 5);
        jos_blk_init(&b, jos_obj_classdata(o, "JosGen$Custom"));
        T_EQ_INT(jos_blk_u32(&b, &u32), 0);
        T_EQ_U64(u32, 0x01020304);
        T_EQ_INT(jos_blk_u16(&b, &u16), 0);
        T_EQ_INT(u16, 6);
        T_EQ_INT(jos_blk_read(&b, utf, 6), 0);
        T_EQ_MEM(utf, 6, "h\xc3\xa9llo", 6);
        T_EQ_INT(jos_blk_u8(&b, (uint8_t *)utf), AG_ETRUNC); /* an object comes next */
        T_EQ_INT(jos_blk_obj(&b, &h), 0);
        T_CHECK(jos_val_is(h, "JosGen$Node"));
        /* 2000 bytes + a long straddle Java's 1024-byte records */
        T_EQ_INT(jos_blk_read(&b, big, sizeof(big)), 0);
        T_EQ_INT(big[1999], (uint8_t)1999);
        T_EQ_INT(jos_blk_u64(&b, &u64), 0);
        T_EQ_U64(u64, UINT64_MAX);
        T_CHECK(jos_blk_done(&b));
    }
    jos_msg_free(m);
    m = roundtrip("nodefault", NULL, NULL);
    if (m != NULL) {
        const struct jos_classdata *cd = jos_obj_classdata(m->top.items[0], NULL);

        T_CHECK(cd != NULL && !cd->has_values && cd->ncustom == 2);
        jos_blk_init(&b, cd);
        T_EQ_INT(jos_blk_u32(&b, &u32), 0);
        T_EQ_U64(u32, 42);
        T_EQ_INT(jos_blk_obj(&b, &h), 0);
        T_EQ_STR(str(h), "A");
    }
    jos_msg_free(m);
    m = roundtrip("externalizable", NULL, NULL);
    if (m != NULL) {
        jos_blk_init(&b, jos_obj_classdata(m->top.items[0], NULL));
        T_EQ_INT(jos_blk_u32(&b, &u32), 0);
        T_EQ_U64(u32, 9);
        T_EQ_INT(jos_blk_u16(&b, &u16), 0);
        T_EQ_INT(jos_blk_read(&b, utf, u16), 0);
        T_EQ_INT(jos_blk_obj(&b, &h), 0);
        T_EQ_INT(jos_array_i(h, 2), 3);
    }
    jos_msg_free(m);
}

T_TEST(java_custom_layouts)
{
    struct jos_msg *m;
    struct jos_blk b;
    struct jos_val *pipe = NULL;
    uint8_t flag = 9;
    uint32_t oid = 0;

    if (!data_present()) {
        return;
    }
    m = roundtrip("streams", NULL, NULL);
    if (m == NULL) {
        return;
    }
    jos_blk_init(&b, jos_obj_classdata(elem(m->top.items[0], 0), NULL));
    T_EQ_INT(jos_blk_u32(&b, &oid), 0);
    T_EQ_INT(oid, 9);
    T_CHECK(jos_blk_done(&b));
    jos_blk_init(&b, jos_obj_classdata(elem(m->top.items[0], 1), "hudson.remoting.RemoteInputStream"));
    T_CHECK(!jos_obj_classdata(elem(m->top.items[0], 1), NULL)->has_values);
    T_EQ_INT(jos_blk_u8(&b, &flag), 0);
    T_EQ_INT(flag, 1);
    T_EQ_INT(jos_blk_obj(&b, &pipe), 0);
    T_CHECK(jos_val_is(pipe, "hudson.remoting.Pipe"));
    jos_blk_init(&b, jos_obj_classdata(pipe, NULL));
    T_EQ_INT(jos_blk_u8(&b, &flag), 0);
    T_EQ_INT(flag, 0);
    T_EQ_INT(jos_blk_u32(&b, &oid), 0);
    T_EQ_INT(oid, 12);
    T_CHECK(jos_blk_done(&b));
    jos_msg_free(m);
}

T_TEST(java_externalizable_v1)
{
    static const struct jos_ext_layout layouts[] = {{"JosGen$Ext", "IUO"}, {NULL, NULL}};
    size_t len = 0;
    uint8_t *p;
    struct jos_msg *m = NULL;
    struct ag_err err = {0};
    struct jos_stream s;
    struct ag_buf b;

    if (!data_present()) {
        return;
    }
    p = load("externalizable-v1", &len);
    T_CHECK(p != NULL);
    if (p == NULL) {
        return;
    }
    T_EQ_INT(jos_decode(p, len, NULL, 0, &m, &err), AG_ENOTSUP);
    T_CHECK(strstr(err.msg, "JosGen$Ext written without block data") != NULL);
    T_EQ_INT(jos_msg_new(NULL, 0, &m), 0);
    m->ext_layouts = layouts;
    T_EQ_INT(jos_msg_decode(m, p, len, &s, &err), 0);
    ag_buf_init(&b, 1 << 20);
    T_EQ_INT(jos_encode(&b, s.items, s.n, &err), 0);
    T_EQ_MEM(b.data, b.len, p, len);
    ag_buf_fini(&b);
    jos_msg_free(m);
    free(p);
}

T_TEST(java_record_exception_collections_reset)
{
    struct jos_msg *m;
    struct jos_val *o;
    struct jos_val *x = NULL;
    const char *s = NULL;
    size_t len = 0;
    int32_t i = 0;
    uint8_t *p;
    struct ag_err err = {0};

    if (!data_present()) {
        return;
    }
    m = roundtrip("record", NULL, NULL);
    if (m != NULL) {
        T_EQ_INT(jos_get_int(m->top.items[0], "x", &i), 0);
        T_EQ_INT(i, 3);
        T_EQ_INT(jos_get_string(m->top.items[0], "y", &s, &len), 0);
        T_EQ_STR(s, "y");
    }
    jos_msg_free(m);
    m = roundtrip("exception", NULL, NULL);
    if (m != NULL) {
        o = m->top.items[0];
        T_CHECK(jos_val_is(o, "java.io.IOException"));
        T_CHECK(jos_val_instanceof(o, "java.lang.Throwable"));
        T_EQ_INT(jos_get_string(o, "detailMessage", &s, &len), 0);
        T_EQ_STR(s, "boom");
        T_EQ_INT(jos_get_obj(o, "cause", &x), 0);
        T_CHECK(jos_val_is(x, "java.lang.IllegalStateException"));
        T_EQ_INT(jos_get_obj(o, "stackTrace", &x), 0);
        T_CHECK(x != NULL && x->u.arr.len > 0);
        T_EQ_INT(jos_get_obj(o, "suppressedExceptions", &x), 0);
        T_CHECK(jos_val_is(x, "java.util.ArrayList"));
    }
    jos_msg_free(m);
    m = roundtrip("collections", NULL, NULL);
    if (m != NULL) {
        o = m->top.items[0];
        T_CHECK(jos_val_is(elem(o, 0), "java.util.ArrayList"));
        T_CHECK(jos_val_is(elem(o, 1), "java.util.HashMap"));
        T_CHECK(jos_val_is(elem(o, 2), "java.util.TreeMap"));
        T_CHECK(jos_val_is(elem(o, 3), "java.util.LinkedHashMap"));
        T_CHECK(jos_val_instanceof(elem(o, 3), "java.util.HashMap"));
        T_CHECK(jos_val_is(elem(o, 4), "java.util.Collections$EmptyList"));
        T_CHECK(jos_val_is(elem(o, 5), "java.util.CollSer"));
    }
    jos_msg_free(m);
    m = roundtrip("reset", NULL, NULL);
    if (m != NULL) {
        T_EQ_INT(m->top.n, 6);
        T_EQ_INT(m->top.items[0]->kind, JOS_K_OBJECT);
        T_EQ_INT(m->top.items[1]->kind, JOS_K_BLOCK);
        T_EQ_INT(m->top.items[2]->kind, JOS_K_RESET);
        T_EQ_INT(m->top.items[3]->kind, JOS_K_OBJECT);
        T_CHECK(m->top.items[3] != m->top.items[0]); /* written again after the reset */
        T_CHECK(m->top.items[4] == NULL);
        T_EQ_INT(m->top.items[5]->kind, JOS_K_CLASS);
        T_EQ_STR(m->top.items[5]->u.cls->name, "java.lang.String");
    }
    jos_msg_free(m);
    p = load("aborted", &len);
    T_CHECK(p != NULL);
    if (p != NULL) {
        struct jos_stream st;

        T_EQ_INT(jos_msg_new(NULL, 0, &m), 0);
        T_EQ_INT(jos_msg_decode(m, p, len, &st, &err), AG_EPROTO);
        T_CHECK(strstr(err.msg, "TC_EXCEPTION): java.io.NotSerializableException: java.lang.Object") !=
                NULL);
        T_CHECK(jos_val_is(m->aborted, "java.io.NotSerializableException"));
        jos_msg_free(m);
        free(p);
    }
}

/* ---- the builder against Java's bytes ---- */

static void
be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void
build_jdkvalues(struct jos_msg *m)
{
    struct jos_val *arr = jos_new_obj_array(m, "[Ljava.lang.Object;", 9);
    struct jos_val *i5 = jos_new_object(m, "java.lang.Integer");
    struct jos_val *l = jos_new_object(m, "java.lang.Long");
    struct jos_val *b = jos_new_object(m, "java.lang.Boolean");
    struct jos_val *sa = jos_new_obj_array(m, "[Ljava.lang.String;", 2);
    struct jos_val *list = jos_new_object(m, "java.util.ArrayList");
    struct jos_val *i1 = jos_new_object(m, "java.lang.Integer");
    struct jos_val *map = jos_new_object(m, "java.util.HashMap");
    static const uint8_t bytes[] = {1, 2};
    uint8_t blk[8];

    (void)jos_set_int(m, i5, "value", 5);
    (void)jos_set_long(m, l, "value", -1);
    (void)jos_set_bool(m, b, "value", true);
    (void)jos_array_set(m, sa, 0, jos_new_cstring(m, "a"));
    (void)jos_set_int(m, i1, "value", 1);
    (void)jos_set_int(m, list, "size", 2);
    be32(blk, 2);
    (void)jos_custom_block(m, list, NULL, blk, 4);
    (void)jos_custom_obj(m, list, NULL, i1);
    (void)jos_custom_obj(m, list, NULL, jos_new_cstring(m, "x"));
    (void)jos_set_prim(m, map, "loadFactor", 0x3F400000); /* 0.75f */
    (void)jos_set_int(m, map, "threshold", 12);
    be32(blk, 16);
    be32(blk + 4, 1);
    (void)jos_custom_block(m, map, "java.util.HashMap", blk, 8);
    (void)jos_custom_obj(m, map, NULL, jos_new_cstring(m, "k"));
    (void)jos_custom_obj(m, map, NULL, jos_new_cstring(m, "v"));
    (void)jos_array_set(m, arr, 0, i5);
    (void)jos_array_set(m, arr, 1, l);
    (void)jos_array_set(m, arr, 2, b);
    (void)jos_array_set(m, arr, 3, jos_new_cstring(m, "str"));
    (void)jos_array_set(m, arr, 4, sa);
    (void)jos_array_set(m, arr, 5, jos_new_bytes(m, bytes, 2, false));
    (void)jos_array_set(m, arr, 6, jos_new_enum(m, "java.util.concurrent.TimeUnit", "SECONDS"));
    (void)jos_array_set(m, arr, 7, list);
    (void)jos_array_set(m, arr, 8, map);
    (void)jos_msg_add(m, arr);
}

static void
build_response(struct jos_msg *m)
{
    struct jos_val *r = jos_new_object(m, "hudson.remoting.Response");
    struct jos_val *nr = jos_new_object(m, "hudson.remoting.UserRequest$NormalResponse");
    static const char hello[] = "hello \xc3\xa9\xf0\x9f\x98\x80";

    (void)jos_set_int(m, r, "id", 42);
    (void)jos_set_int(m, r, "lastIoId", 7);
    (void)jos_set_obj(m, nr, "response", jos_new_payload(m, jos_new_cstring(m, hello)));
    (void)jos_set_obj(m, r, "returnValue", nr);
    (void)jos_msg_add(m, r);
}

static void
build_error(struct jos_msg *m)
{
    struct jos_val *r = jos_new_object(m, "hudson.remoting.Response");
    struct jos_val *ex = jos_new_object(m, "java.io.IOException");

    (void)jos_set_string(m, ex, "detailMessage", "boom");
    (void)jos_set_obj(m, ex, "stackTrace",
                      jos_new_obj_array(m, "[Ljava.lang.StackTraceElement;", 0));
    (void)jos_set_obj(m, ex, "suppressedExceptions",
                      jos_new_object(m, "java.util.Collections$EmptyList"));
    (void)jos_set_obj(m, r, "exception", ex);
    (void)jos_msg_add(m, r);
}

static void
build_chunk(struct jos_msg *m, uint32_t n, unsigned mul)
{
    struct jos_val *c = jos_new_object(m, "hudson.remoting.ProxyOutputStream$Chunk");
    uint8_t *buf = malloc(n);

    for (uint32_t k = 0; k < n; k++) {
        buf[k] = (uint8_t)(k * mul);
    }
    (void)jos_set_int(m, c, "ioId", 1);
    (void)jos_set_int(m, c, "oid", 3);
    (void)jos_set_int(m, c, "requestId", 5);
    (void)jos_set_obj(m, c, "buf", jos_new_bytes(m, buf, n, false));
    (void)jos_msg_add(m, c);
    free(buf);
}

static void
build_small(struct jos_msg *m, const char *which)
{
    struct jos_val *o = NULL;

    if (strcmp(which, "ack") == 0) {
        o = jos_new_object(m, "hudson.remoting.ProxyOutputStream$Ack");
        (void)jos_set_int(m, o, "oid", 3);
        (void)jos_set_int(m, o, "size", 8192);
    } else if (strcmp(which, "eof") == 0) {
        o = jos_new_object(m, "hudson.remoting.ProxyOutputStream$EOF");
        (void)jos_set_int(m, o, "ioId", 2);
        (void)jos_set_int(m, o, "oid", 3);
        (void)jos_set_int(m, o, "requestId", 6);
    } else if (strcmp(which, "close") == 0) {
        o = jos_new_object(m, "hudson.remoting.Channel$CloseCommand");
    } else {
        o = jos_new_object(m, "hudson.remoting.Capability");
        (void)jos_set_long(m, o, "mask", 0x1fc);
    }
    (void)jos_msg_add(m, o);
}

/* RemoteOutputStream{oid 9} and a greedy RemoteInputStream carrying Pipe{flag 0, oid 12}:
 * the custom layouts of channel.md 1.11 (no default field values). */
static void
build_streams(struct jos_msg *m)
{
    struct jos_val *a = jos_new_obj_array(m, "[Ljava.lang.Object;", 2);
    struct jos_val *ros = jos_new_object(m, "hudson.remoting.RemoteOutputStream");
    struct jos_val *ris = jos_new_object(m, "hudson.remoting.RemoteInputStream");
    struct jos_val *pipe = jos_new_object(m, "hudson.remoting.Pipe");
    static const uint8_t oid9[] = {0, 0, 0, 9};
    static const uint8_t one[] = {1};
    static const uint8_t pipe_data[] = {0, 0, 0, 0, 12};

    jos_custom_block(m, ros, NULL, oid9, sizeof(oid9));
    jos_custom_block(m, ris, NULL, one, sizeof(one));
    jos_custom_obj(m, ris, NULL, pipe);
    jos_custom_block(m, pipe, "hudson.remoting.Pipe", pipe_data, sizeof(pipe_data));
    jos_array_set(m, a, 0, ros);
    jos_array_set(m, a, 1, ris);
    jos_msg_add(m, a);
}

static void
build_strings(struct jos_msg *m)
{
    struct jos_val *a = jos_new_obj_array(m, "[Ljava.lang.String;", 5);
    char *x = malloc(70000);

    memset(x, 'x', 70000);
    (void)jos_array_set(m, a, 0, jos_new_cstring(m, ""));
    (void)jos_array_set(m, a, 1, jos_new_string(m, "nul\0", 4));
    (void)jos_array_set(m, a, 2, jos_new_cstring(m, "\xe2\x82\xac"));
    (void)jos_array_set(m, a, 3, jos_new_cstring(m, "emoji \xf0\x9f\x98\x80"));
    (void)jos_array_set(m, a, 4, jos_new_string(m, x, 70000));
    (void)jos_msg_add(m, a);
    free(x);
}

/* Build with fn, compare with Java's file (if java_name), write c-<out_name>.bin. */
static void
check_built(void (*fn)(struct jos_msg *), const char *java_name, const char *out_name)
{
    struct jos_msg *m = NULL;
    struct ag_buf b;
    struct ag_err err = {0};
    char path[512];
    FILE *f;
    int rc;

    T_EQ_INT(jos_msg_new(NULL, 0, &m), 0);
    fn(m);
    ag_buf_init(&b, 1 << 24);
    rc = jos_msg_encode(m, &b, &err);
    if (rc != 0) {
        (void)fprintf(stderr, "%s: %s\n", out_name, err.msg);
    }
    T_EQ_INT(rc, 0);
    if (java_name != NULL) {
        size_t len = 0;
        uint8_t *p = load(java_name, &len);

        T_CHECK(p != NULL);
        if (p != NULL) {
            if (b.len != len || memcmp(b.data, p, len) != 0) {
                (void)fprintf(stderr, "builder output for %s differs from Java's\n", java_name);
            }
            T_EQ_MEM(b.data, b.len, p, len);
        }
        free(p);
    }
    (void)snprintf(path, sizeof(path), "%s/c-%s.bin", DATA_DIR, out_name);
    f = fopen(path, "wb");
    T_CHECK(f != NULL);
    if (f != NULL) {
        T_EQ_INT(fwrite(b.data, 1, b.len, f), b.len);
        T_EQ_INT(fclose(f), 0);
    }
    ag_buf_fini(&b);
    jos_msg_free(m);
}

static void
chunk100(struct jos_msg *m)
{
    build_chunk(m, 100, 3);
}

static void
chunk3000(struct jos_msg *m)
{
    build_chunk(m, 3000, 7);
}

static void
ack(struct jos_msg *m)
{
    build_small(m, "ack");
}

static void
eof(struct jos_msg *m)
{
    build_small(m, "eof");
}

static void
close_cmd(struct jos_msg *m)
{
    build_small(m, "close");
}

static void
capability(struct jos_msg *m)
{
    build_small(m, "capability");
}

T_TEST(builder_matches_java)
{
    if (!data_present()) {
        return;
    }
    check_built(build_jdkvalues, "jdkvalues", "jdkvalues");
    check_built(build_response, "response", "response");
    check_built(chunk100, "chunk", "chunk100");
    check_built(chunk3000, NULL, "chunk");
    check_built(ack, "ack", "ack");
    check_built(eof, "eof", "eof");
    check_built(close_cmd, "close", "close");
    check_built(capability, "capability", "capability");
    check_built(build_error, NULL, "error");
    check_built(build_streams, "streams", "streams");
    check_built(build_strings, NULL, "strings");
}

T_TEST(builder_errors)
{
    struct jos_msg *m = NULL;
    struct ag_buf b;
    struct ag_err err = {0};
    struct jos_val *o;

    T_EQ_INT(jos_msg_new(NULL, 0, &m), 0);
    T_CHECK(jos_new_object(m, "com.example.Unknown") == NULL);
    T_EQ_INT(m->build_err, AG_EUSAGE);
    o = jos_new_object(m, "hudson.remoting.Response");
    T_EQ_INT(jos_set_int(m, o, "id", 1), AG_EUSAGE); /* sticky: later setters fail too */
    ag_buf_init(&b, 1 << 20);
    T_EQ_INT(jos_msg_encode(m, &b, &err), AG_EUSAGE);
    T_CHECK(strstr(err.msg, "class com.example.Unknown is not in the class table") != NULL);
    jos_msg_free(m);
    T_EQ_INT(jos_msg_new(NULL, 0, &m), 0);
    o = jos_new_object(m, "hudson.remoting.Response");
    T_EQ_INT(jos_set_long(m, o, "id", 1), AG_EUSAGE); /* id is an int */
    T_CHECK(strstr(m->build_detail.msg, "field id of hudson.remoting.Response has type I") != NULL);
    jos_msg_free(m);
    T_EQ_INT(jos_msg_new(NULL, 0, &m), 0);
    o = jos_new_object(m, "hudson.remoting.Response");
    T_EQ_INT(jos_custom_block(m, o, NULL, "x", 1), AG_EUSAGE); /* no writeObject */
    jos_msg_free(m);
    ag_buf_fini(&b);
}

T_MAIN(T_CASE(java_all_shapes_roundtrip), T_CASE(java_prims), T_CASE(java_strings),
       T_CASE(java_arrays_cycles_enums), T_CASE(java_proxy_custom_external),
       T_CASE(java_custom_layouts), T_CASE(java_externalizable_v1), T_CASE(java_record_exception_collections_reset),
       T_CASE(builder_matches_java), T_CASE(builder_errors))
