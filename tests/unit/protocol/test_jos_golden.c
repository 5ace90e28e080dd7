/*
 * test_jos_golden.c: every serialization stream in ../shared/golden decodes completely (commands,
 * capability preambles, nested payloads), re-encodes byte for byte, and fails cleanly when cut.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "harness.h"
#include "jos.h"

#define MAX_FILES 128

static char *names[MAX_FILES];
static size_t nnames;

static int
cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
list_golden(void)
{
    char dir[512];
    DIR *d;
    struct dirent *de;

    if (nnames > 0) {
        return;
    }
    (void)snprintf(dir, sizeof(dir), "%s/golden", t_shared_dir());
    d = opendir(dir);
    if (d == NULL) {
        return;
    }
    while ((de = readdir(d)) != NULL && nnames < MAX_FILES) {
        if (strncmp(de->d_name, "05-", 3) == 0 || strncmp(de->d_name, "06-", 3) == 0 ||
            strncmp(de->d_name, "07-", 3) == 0) {
            names[nnames++] = strdup(de->d_name);
        }
    }
    closedir(d);
    qsort(names, nnames, sizeof(names[0]), cmp_names);
}

static uint8_t *
read_golden(const char *name, size_t *len)
{
    char path[512];

    (void)snprintf(path, sizeof(path), "%s/golden/%s", t_shared_dir(), name);
    return t_read_file(path, len);
}

/* Decode every byte[] that holds a nested stream, recursively (bounded by the tree). */
static int
check_nested(struct jos_msg *m, struct jos_val *v, int depth)
{
    int found = 0;

    if (v == NULL || depth > 8) {
        return 0;
    }
    if (v->kind == JOS_K_ARRAY && v->u.arr.elem == 'B') {
        struct ag_iov iov = jos_array_iov(v);

        if (jos_is_stream(iov.base, iov.len)) {
            struct jos_stream s;
            struct ag_err err = {0};
            struct ag_buf b;
            int rc = jos_msg_decode_nested(m, v, &s, &err);

            T_EQ_INT(rc, 0);
            if (rc != 0) {
                (void)fprintf(stderr, "nested: %s at %llu\n", err.msg,
                              (unsigned long long)err.offset);
                return 1;
            }
            /* The nested payload re-encodes byte for byte too. */
            ag_buf_init(&b, 1 << 24);
            T_EQ_INT(jos_encode(&b, s.items, s.n, &err), 0);
            T_EQ_MEM(b.data, b.len, iov.base, iov.len);
            ag_buf_fini(&b);
            found = 1;
            for (size_t i = 0; i < s.n; i++) {
                found += check_nested(m, s.items[i], depth + 1);
            }
        }
        return found;
    }
    if (v->kind == JOS_K_OBJECT) {
        for (size_t i = 0; i < v->u.obj.nclasses; i++) {
            const struct jos_classdata *cd = &v->u.obj.classes[i];

            for (uint16_t k = 0; cd->has_values && k < cd->desc->nfields; k++) {
                char t = cd->desc->fields[k].type;

                if ((t == 'L' || t == '[') && cd->values[k].ref != v) {
                    found += check_nested(m, cd->values[k].ref, depth + 1);
                }
            }
        }
    }
    return found;
}

T_TEST(golden_decode_reencode)
{
    size_t total = 0;
    int nested = 0;

    list_golden();
    T_CHECK(nnames >= 50);
    for (size_t i = 0; i < nnames; i++) {
        size_t len = 0;
        uint8_t *p = read_golden(names[i], &len);
        struct jos_msg *m = NULL;
        struct ag_err err = {0};
        struct ag_buf b;
        int rc;

        T_CHECK(p != NULL);
        if (p == NULL) {
            continue;
        }
        rc = jos_decode(p, len, NULL, 0, &m, &err);
        if (rc != 0) {
            (void)fprintf(stderr, "%s: %s at offset %llu\n", names[i], err.msg,
                          (unsigned long long)err.offset);
        }
        T_EQ_INT(rc, 0);
        if (rc == 0) {
            T_EQ_INT(m->top.n, 1);
            T_CHECK(jos_val_instanceof(m->top.items[0], "hudson.remoting.Command"));
            ag_buf_init(&b, 1 << 24);
            T_EQ_INT(jos_encode(&b, m->top.items, m->top.n, &err), 0);
            if (b.len != len || memcmp(b.data, p, len) != 0) {
                (void)fprintf(stderr, "%s: re-encoding differs\n", names[i]);
            }
            T_EQ_MEM(b.data, b.len, p, len);
            ag_buf_fini(&b);
            nested += check_nested(m, m->top.items[0], 0);
            total++;
        }
        jos_msg_free(m);
        free(p);
    }
    T_EQ_U64(total, nnames);
    T_CHECK(nested >= 10);
}

/* ---- rebuilding golden commands with the builder (descriptors from the class table) ---- */

struct rebuild {
    struct jos_msg *m;
    const struct jos_val **from; /* decoded values already rebuilt (linear: trees are small) */
    struct jos_val **to;
    size_t n;
    size_t cap;
    const char *missing; /* first class the builder could not make */
};

static struct jos_val *rebuild_val(struct rebuild *rb, struct jos_val *v);

static struct jos_val *
seen_before(struct rebuild *rb, const struct jos_val *v)
{
    for (size_t i = 0; i < rb->n; i++) {
        if (rb->from[i] == v) {
            return rb->to[i];
        }
    }
    return NULL;
}

static void
remember(struct rebuild *rb, const struct jos_val *from, struct jos_val *to)
{
    if (rb->n == rb->cap) {
        rb->cap = rb->cap == 0 ? 256 : rb->cap * 2;
        rb->from = realloc(rb->from, rb->cap * sizeof(*rb->from));
        rb->to = realloc(rb->to, rb->cap * sizeof(*rb->to));
    }
    rb->from[rb->n] = from;
    rb->to[rb->n] = to;
    rb->n++;
}

static struct jos_val *
rebuild_object(struct rebuild *rb, struct jos_val *v)
{
    const struct jos_object *o = &v->u.obj;
    struct jos_val *n;

    if (o->desc->is_proxy) {
        struct jos_val *h = NULL;

        if (o->nclasses != 2 || jos_get_obj(v, "h", &h) != 0) {
            rb->missing = "a proxy of unexpected shape";
            return NULL;
        }
        n = jos_new_proxy(rb->m, o->desc->interfaces, o->desc->ninterfaces, rebuild_val(rb, h));
        remember(rb, v, n);
        return n;
    }
    if (jos_class_find(o->desc->name) == NULL) {
        rb->missing = o->desc->name;
        return NULL;
    }
    n = jos_new_object(rb->m, o->desc->name);
    if (n == NULL) {
        rb->missing = o->desc->name;
        return NULL;
    }
    remember(rb, v, n); /* before the fields: graphs are cyclic */
    if (n->u.obj.nclasses != o->nclasses) {
        rb->missing = "a class hierarchy that differs from the table";
        return NULL;
    }
    for (size_t i = 0; i < o->nclasses; i++) {
        const struct jos_classdata *cd = &o->classes[i];
        struct jos_classdata *nd = &n->u.obj.classes[i];

        if (strcmp(cd->desc->name, nd->desc->name) != 0 || cd->desc->nfields != nd->desc->nfields) {
            rb->missing = cd->desc->name;
            return NULL;
        }
        for (uint16_t k = 0; cd->has_values && k < cd->desc->nfields; k++) {
            char t = cd->desc->fields[k].type;

            if (t == 'L' || t == '[') {
                nd->values[k].ref = rebuild_val(rb, cd->values[k].ref);
            } else {
                nd->values[k].i = cd->values[k].i;
            }
        }
        for (size_t k = 0; k < cd->ncustom; k++) {
            struct jos_val *c = cd->custom[k];

            if (c->kind == JOS_K_BLOCK) {
                jos_custom_block(rb->m, n, cd->desc->name, c->u.block.base, c->u.block.len);
            } else {
                jos_custom_obj(rb->m, n, cd->desc->name,
                               c->kind == JOS_K_NULL ? NULL : rebuild_val(rb, c));
            }
        }
    }
    return n;
}

static struct jos_val *
rebuild_val(struct rebuild *rb, struct jos_val *v)
{
    struct jos_val *n;

    if (v == NULL || rb->missing != NULL) {
        return NULL;
    }
    n = seen_before(rb, v);
    if (n != NULL) {
        return n;
    }
    switch (v->kind) {
    case JOS_K_OBJECT:
        return rebuild_object(rb, v);
    case JOS_K_STRING:
        n = jos_new_string(rb->m, v->u.str.s, v->u.str.len);
        break;
    case JOS_K_ARRAY:
        if (jos_class_find(v->u.arr.desc->name) == NULL) {
            rb->missing = v->u.arr.desc->name;
            return NULL;
        }
        if (v->u.arr.elem == 'L' || v->u.arr.elem == '[') {
            n = jos_new_obj_array(rb->m, v->u.arr.desc->name, v->u.arr.len);
            remember(rb, v, n);
            for (uint32_t i = 0; i < v->u.arr.len; i++) {
                jos_array_set(rb->m, n, i, rebuild_val(rb, v->u.arr.elems[i]));
            }
            return n;
        }
        n = jos_new_prim_array(rb->m, v->u.arr.desc->name, v->u.arr.raw, v->u.arr.len, false);
        break;
    case JOS_K_ENUM:
        n = jos_new_enum(rb->m, v->u.enm.desc->name, v->u.enm.name->u.str.s);
        break;
    case JOS_K_CLASS:
    case JOS_K_CLASSDESC:
    case JOS_K_BLOCK:
    case JOS_K_RESET:
    case JOS_K_NULL:
        rb->missing = "a Class, descriptor or block value";
        return NULL;
    }
    remember(rb, v, n);
    return n;
}

/* Rebuild every golden command from its decoded values with the builder, whose descriptors come
 * only from the class table, and compare the encoding with the captured bytes. */
T_TEST(golden_rebuild_from_table)
{
    size_t same = 0;
    size_t skipped = 0;

    list_golden();
    for (size_t i = 0; i < nnames; i++) {
        size_t len = 0;
        uint8_t *p = read_golden(names[i], &len);
        struct jos_msg *m = NULL;
        struct ag_err err = {0};
        struct rebuild rb;
        struct ag_buf b;
        struct jos_val *top;

        if (p == NULL || jos_decode(p, len, NULL, 0, &m, &err) != 0) {
            T_CHECK(0);
            free(p);
            continue;
        }
        memset(&rb, 0, sizeof(rb));
        T_EQ_INT(jos_msg_new(NULL, 0, &rb.m), 0);
        top = rebuild_val(&rb, m->top.items[0]);
        if (rb.missing != NULL) {
            (void)fprintf(stderr, "rebuild %s (%s): skipped, %s is not in the class table\n",
                          names[i], jos_val_class(m->top.items[0]), rb.missing);
            skipped++;
        } else {
            T_EQ_INT(jos_msg_add(rb.m, top), 0);
            ag_buf_init(&b, 1 << 24);
            T_EQ_INT(jos_msg_encode(rb.m, &b, &err), 0);
            if (b.len == len && memcmp(b.data, p, len) == 0) {
                same++;
            } else {
                (void)fprintf(stderr, "rebuild %s (%s): differs (%s)\n", names[i],
                              jos_val_class(m->top.items[0]), err.msg);
                T_EQ_MEM(b.data, b.len, p, len);
            }
            ag_buf_fini(&b);
        }
        free(rb.from);
        free(rb.to);
        jos_msg_free(rb.m);
        jos_msg_free(m);
        free(p);
    }
    (void)fprintf(stderr, "rebuilt %zu golden commands byte for byte, %zu skipped\n", same, skipped);
    T_CHECK(same >= 40);
}

/* Queries on a real UserRequest: fields by name, a dotted path, the nested payload. */
T_TEST(golden_queries)
{
    size_t len = 0;
    uint8_t *p = read_golden("05-cmd-c2a-000.bin", &len);
    struct jos_msg *m = NULL;
    struct ag_err err = {0};
    const struct jos_field_desc *fd = NULL;
    const union jos_fv *fv = NULL;
    struct jos_val *cmd;
    struct jos_val *req = NULL;
    struct jos_stream payload;
    const char *s = NULL;
    size_t slen = 0;
    int32_t id = -1;

    T_CHECK(p != NULL);
    if (p == NULL || jos_decode(p, len, NULL, JOS_DEC_BORROW, &m, &err) != 0) {
        T_CHECK(0);
        free(p);
        return;
    }
    cmd = m->top.items[0];
    T_CHECK(jos_val_is(cmd, "hudson.remoting.UserRequest"));
    T_CHECK(jos_val_instanceof(cmd, "hudson.remoting.Request"));
    T_EQ_INT(jos_get_int(cmd, "id", &id), 0);
    T_EQ_INT(id, 0);
    T_EQ_INT(jos_path_field(cmd, "classLoaderProxy.h.oid", &fd, &fv), 0);
    T_EQ_INT(fv->i, 2);
    T_EQ_INT(jos_path_field(cmd, "classLoaderProxy.h.nope", &fd, &fv), AG_EPROTO);
    T_EQ_INT(jos_path_field(cmd, "response.x", &fd, &fv), AG_EPROTO); /* null on the way */
    T_EQ_INT(jos_path_field(cmd, "createdAt.this$0.id", &fd, &fv), 0);  /* through the cycle */
    T_EQ_INT(jos_get_string(cmd, "toString", &s, &slen), 0);
    T_EQ_STR(s, "refpeer.HelloCallable@6cc4c815");
    T_EQ_INT(jos_get_obj(cmd, "request", &req), 0);
    T_CHECK(req != NULL && req->u.arr.raw >= p && req->u.arr.raw < p + len); /* borrowed */
    T_EQ_INT(jos_msg_decode_nested(m, req, &payload, &err), 0);
    T_EQ_INT(payload.n, 1);
    T_CHECK(jos_val_is(payload.items[0], "refpeer.HelloCallable"));
    T_EQ_INT(jos_get_string(payload.items[0], "greeting", &s, &slen), 0);
    T_EQ_STR(s, "refpeer");
    T_EQ_INT(payload.items[0]->u.obj.desc->nannot, 1); /* the MultiClassLoaderSerializer tag */
    jos_msg_free(m);
    free(p);
}

/* The capability preambles (03-*): u16 length + base64 of a Capability stream. */
static size_t
b64dec(const uint8_t *s, size_t n, uint8_t *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;

    for (size_t i = 0; i < n && s[i] != '='; i++) {
        const char *c = memchr(tab, s[i], 64);

        if (c == NULL) {
            return 0;
        }
        acc = acc << 6 | (uint32_t)(c - tab);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    return o;
}

T_TEST(golden_capability)
{
    static const char *const files[] = {"03-capability-a2c.bin", "03-capability-c2a.bin"};

    for (size_t i = 0; i < 2; i++) {
        size_t len = 0;
        uint8_t *p = read_golden(files[i], &len);
        uint8_t bin[256];
        size_t n;
        struct jos_msg *m = NULL;
        struct ag_err err = {0};
        int64_t mask = 0;

        T_CHECK(p != NULL && len > 2);
        if (p == NULL) {
            continue;
        }
        T_EQ_INT((size_t)p[0] << 8 | p[1], len - 2);
        n = b64dec(p + 2, len - 2, bin);
        T_EQ_INT(n, 62);
        T_EQ_INT(jos_decode(bin, n, NULL, 0, &m, &err), 0);
        if (m != NULL) {
            T_CHECK(jos_val_is(m->top.items[0], "hudson.remoting.Capability"));
            T_EQ_INT(jos_get_long(m->top.items[0], "mask", &mask), 0);
            T_EQ_INT(mask, 0x1fe);
        }
        jos_msg_free(m);
        free(p);
    }
}

/* Cut every golden command at every offset: AG_ETRUNC, never a crash or a leak. */
T_TEST(golden_truncated)
{
    list_golden();
    for (size_t i = 0; i < nnames; i++) {
        size_t len = 0;
        uint8_t *p = read_golden(names[i], &len);
        size_t step = len > 5000 ? 3 : 1; /* every offset; the 8 KiB chunks by a stride of 3 */

        if (p == NULL) {
            continue;
        }
        for (size_t cut = 0; cut < len; cut += step) {
            struct jos_msg *m = NULL;
            struct ag_err err = {0};
            uint8_t *q = malloc(cut + 1); /* exact-size copy so ASan sees overreads */
            int rc;

            memcpy(q, p, cut);
            rc = jos_decode(q, cut, NULL, 0, &m, &err);
            if (cut == 4) {
                /* Just the header: a valid, empty stream. */
                T_EQ_INT(rc, 0);
                T_CHECK(m != NULL && m->top.n == 0);
                jos_msg_free(m);
                free(q);
                continue;
            }
            if (rc != AG_ETRUNC) {
                (void)fprintf(stderr, "%s cut at %zu: rc %d %s\n", names[i], cut, rc, err.msg);
            }
            T_EQ_INT(rc, AG_ETRUNC);
            T_CHECK(m == NULL);
            T_CHECK(strstr(err.msg, "truncated") != NULL);
            free(q);
        }
        free(p);
    }
}

/* Allocation failure at every step of decoding (and dumping) a golden command. */
T_TEST(golden_alloc_failure)
{
    size_t len = 0;
    uint8_t *p = read_golden("05-cmd-c2a-000.bin", &len);
    int ok = 0;

    T_CHECK(p != NULL);
    if (p == NULL) {
        return;
    }
    for (uint64_t n = 1; n < 400 && ok == 0; n++) {
        struct jos_msg *m = NULL;
        struct ag_err err = {0};
        struct ag_buf out;
        int rc;

        ag_buf_init(&out, 1 << 20);
        ag_alloc_fail_after(n);
        rc = jos_decode(p, len, NULL, 0, &m, &err);
        if (rc == 0) {
            rc = jos_dump(&out, m, &m->top, NULL);
            if (rc == 0) {
                struct ag_buf enc;

                ag_buf_init(&enc, 1 << 20);
                rc = jos_encode(&enc, m->top.items, m->top.n, &err);
                ag_buf_fini(&enc);
                ok = rc == 0;
            }
        }
        ag_alloc_fail_after(0);
        if (rc != 0) {
            T_EQ_INT(rc, AG_ENOMEM);
        }
        jos_msg_free(m);
        ag_buf_fini(&out);
    }
    T_CHECK(ok);
    free(p);
}

T_MAIN(T_CASE(golden_decode_reencode), T_CASE(golden_rebuild_from_table), T_CASE(golden_queries), T_CASE(golden_capability), T_CASE(golden_truncated),
       T_CASE(golden_alloc_failure))
