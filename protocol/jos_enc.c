/*
 * jos_enc.c: the builder (values made from the class table) and the encoder, which writes a
 * value tree exactly as java.io.ObjectOutputStream would (channel.md 1.3, 1.13).
 *
 * The encoder runs twice over the tree: once to count the exact size (with the same handle
 * assignment), then, after one reservation, to write. Handles: values and descriptors by
 * identity (the same pointer is written once, then TC_REFERENCE); field type signatures also by
 * value, because Java interns them.
 */
#include "jos.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "jos_int.h"

#define ENC_MAX_DEPTH (2u * JOS_MAX_DEPTH_CAP) /* values; descriptors are not counted */

/* ---------------------------------------------------------------------------------------------
 * Builder.
 */
struct classcache {
    size_t n;
    size_t cap;
    const char **keys;                 /* class name, or "proxy:<iface>,<iface>" */
    const struct jos_classdesc **descs;
};

static int AG_PRINTF(3, 4)
bfail(struct jos_msg *m, int code, const char *fmt, ...)
{
    va_list ap;

    if (m->build_err == 0) {
        m->build_err = code;
        m->build_detail.code = code;
        m->build_detail.offset = 0;
        va_start(ap, fmt);
        (void)vsnprintf(m->build_detail.msg, sizeof(m->build_detail.msg), fmt, ap);
        va_end(ap);
    }
    return code;
}

static void *
balloc(struct jos_msg *m, size_t n)
{
    void *p = ag_arena_alloc(&m->arena, n);

    if (p == NULL) {
        if (m->arena.over_limit) {
            (void)bfail(m, AG_ELIMIT, "builder: value tree exceeds limit %zu bytes", m->arena.max);
        } else {
            (void)bfail(m, AG_ENOMEM, "builder: out of memory");
        }
    }
    return p;
}

static char *
bstrdup(struct jos_msg *m, const char *s, size_t len)
{
    char *d = balloc(m, len + 1);

    if (d != NULL) {
        memcpy(d, s, len);
        d[len] = '\0';
    }
    return d;
}

static const struct jos_classdesc *
cache_get(struct jos_msg *m, const char *key)
{
    struct classcache *cc = m->_classes;

    for (size_t i = 0; cc != NULL && i < cc->n; i++) {
        if (strcmp(cc->keys[i], key) == 0) {
            return cc->descs[i];
        }
    }
    return NULL;
}

static int
cache_put(struct jos_msg *m, const char *key, const struct jos_classdesc *d)
{
    struct classcache *cc = m->_classes;

    if (cc == NULL) {
        cc = balloc(m, sizeof(*cc));
        if (cc == NULL) {
            return m->build_err;
        }
        m->_classes = cc;
    }
    if (cc->n == cc->cap) {
        size_t ncap = cc->cap == 0 ? 16 : cc->cap * 2;
        const char **nk = balloc(m, ncap * sizeof(*nk));
        const struct jos_classdesc **nd = balloc(m, ncap * sizeof(*nd));

        if (nk == NULL || nd == NULL) {
            return m->build_err;
        }
        if (cc->n > 0) {
            memcpy(nk, cc->keys, cc->n * sizeof(*nk));
            memcpy(nd, cc->descs, cc->n * sizeof(*nd));
        }
        cc->keys = nk;
        cc->descs = nd;
        cc->cap = ncap;
    }
    cc->keys[cc->n] = key;
    cc->descs[cc->n] = d;
    cc->n++;
    return 0;
}

static struct jos_val *
bval(struct jos_msg *m, enum jos_kind kind)
{
    struct jos_val *v = balloc(m, sizeof(*v));

    if (v != NULL) {
        v->kind = kind;
    }
    return v;
}

struct jos_val *
jos_new_string(struct jos_msg *m, const char *utf8, size_t len)
{
    struct jos_val *v;

    if (utf8 == NULL || jos__mutf8_len(utf8, len) == SIZE_MAX) {
        (void)bfail(m, AG_EUSAGE, "builder: string is not valid UTF-8");
        return NULL;
    }
    v = bval(m, JOS_K_STRING);
    if (v == NULL) {
        return NULL;
    }
    v->u.str.s = bstrdup(m, utf8, len);
    v->u.str.len = len;
    return v->u.str.s != NULL ? v : NULL;
}

struct jos_val *
jos_new_cstring(struct jos_msg *m, const char *s)
{
    if (s == NULL) {
        (void)bfail(m, AG_EUSAGE, "builder: NULL string");
        return NULL;
    }
    return jos_new_string(m, s, strlen(s));
}

const struct jos_classdesc *
jos_msg_class(struct jos_msg *m, const char *class_name)
{
    const struct jos_classdesc *d = cache_get(m, class_name != NULL ? class_name : "");
    const struct jos_class_info *ci;
    struct jos_val *v;
    struct jos_classdesc *c;
    struct jos_field_desc *fields = NULL;

    if (d != NULL) {
        return d;
    }
    ci = jos_class_find(class_name);
    if (ci == NULL) {
        (void)bfail(m, AG_EUSAGE, "class %s is not in the class table",
                    class_name != NULL ? class_name : "(null)");
        return NULL;
    }
    v = bval(m, JOS_K_CLASSDESC);
    if (v == NULL) {
        return NULL;
    }
    c = &v->u.desc;
    c->name = ci->name;
    c->suid = ci->suid;
    c->flags = ci->flags;
    c->custom_layout = (ci->flags & JOS_SC_WRITE_METHOD) != 0 && jos__custom_layout(ci->name);
    if (ci->nfields > 0) {
        fields = balloc(m, ci->nfields * sizeof(*fields));
        if (fields == NULL) {
            return NULL;
        }
        for (uint16_t i = 0; i < ci->nfields; i++) {
            fields[i].type = ci->fields[i].type;
            fields[i].name = ci->fields[i].name;
            if (ci->fields[i].sig != NULL) {
                struct jos_val *sig = jos_new_cstring(m, ci->fields[i].sig);

                if (sig == NULL) {
                    return NULL;
                }
                fields[i].sig = sig;
            }
        }
    }
    c->fields = fields;
    c->nfields = ci->nfields;
    if (ci->super != NULL) {
        c->super = jos_msg_class(m, ci->super);
        if (c->super == NULL) {
            return NULL;
        }
    }
    if (cache_put(m, ci->name, c) != 0) {
        return NULL;
    }
    return c;
}

/* Grow a custom-data list whose capacity is implied by n (powers of two from 4). */
static int
custom_append(struct jos_msg *m, struct jos_classdata *cd, struct jos_val *v)
{
    size_t n = cd->ncustom;

    if (n == 0 || (n >= 4 && (n & (n - 1)) == 0)) {
        size_t ncap = n == 0 ? 4 : n * 2;
        struct jos_val **ni = balloc(m, ncap * sizeof(*ni));

        if (ni == NULL) {
            return m->build_err;
        }
        if (n > 0) {
            memcpy(ni, cd->custom, n * sizeof(*ni));
        }
        cd->custom = ni;
    }
    cd->custom[cd->ncustom++] = v;
    cd->has_custom = true;
    return 0;
}

struct jos_val *
jos_new_object(struct jos_msg *m, const char *class_name)
{
    const struct jos_classdesc *desc = jos_msg_class(m, class_name);
    struct jos_val *v;
    size_t n = 0;

    if (desc == NULL) {
        return NULL;
    }
    if ((desc->flags & JOS_SC_ENUM) != 0 || desc->name[0] == '[') {
        (void)bfail(m, AG_EUSAGE, "builder: %s is not an ordinary class (enum or array)",
                    desc->name);
        return NULL;
    }
    v = bval(m, JOS_K_OBJECT);
    if (v == NULL) {
        return NULL;
    }
    for (const struct jos_classdesc *c = desc; c != NULL; c = c->super) {
        n++;
    }
    v->u.obj.desc = desc;
    v->u.obj.nclasses = n;
    v->u.obj.classes = balloc(m, n * sizeof(*v->u.obj.classes));
    if (v->u.obj.classes == NULL) {
        return NULL;
    }
    for (const struct jos_classdesc *c = desc; c != NULL; c = c->super) {
        struct jos_classdata *cd = &v->u.obj.classes[--n];

        cd->desc = c;
        if ((desc->flags & JOS_SC_EXTERNALIZABLE) != 0) {
            cd->has_custom = c == desc;
            continue;
        }
        cd->has_values = !c->custom_layout;
        cd->has_custom = (c->flags & JOS_SC_WRITE_METHOD) != 0;
        if (c->nfields > 0 && cd->has_values) {
            cd->values = balloc(m, c->nfields * sizeof(*cd->values));
            if (cd->values == NULL) {
                return NULL;
            }
        }
    }
    return v;
}

struct jos_val *
jos_new_prim_array(struct jos_msg *m, const char *array_class, const void *raw, uint32_t len,
                   bool borrow)
{
    const struct jos_classdesc *desc = jos_msg_class(m, array_class);
    struct jos_val *v;
    size_t sz;
    size_t bytes;

    if (desc == NULL) {
        return NULL;
    }
    sz = desc->name[0] == '[' ? jos_type_size(desc->name[1]) : 0;
    if (sz == 0 || len > INT32_MAX || !ag_size_mul(len, sz, &bytes)) {
        (void)bfail(m, AG_EUSAGE, "builder: %s is not a primitive array class or %" PRIu32
                    " elements is too many", array_class, len);
        return NULL;
    }
    v = bval(m, JOS_K_ARRAY);
    if (v == NULL) {
        return NULL;
    }
    v->u.arr.desc = desc;
    v->u.arr.elem = desc->name[1];
    v->u.arr.len = len;
    if (borrow || bytes == 0) {
        v->u.arr.raw = raw;
    } else {
        uint8_t *copy = balloc(m, bytes);

        if (copy == NULL) {
            return NULL;
        }
        memcpy(copy, raw, bytes);
        v->u.arr.raw = copy;
    }
    return v;
}

struct jos_val *
jos_new_bytes(struct jos_msg *m, const void *p, size_t len, bool borrow)
{
    if (len > INT32_MAX) {
        (void)bfail(m, AG_EUSAGE, "builder: byte[] of %zu bytes is too long", len);
        return NULL;
    }
    return jos_new_prim_array(m, "[B", p, (uint32_t)len, borrow);
}

struct jos_val *
jos_new_obj_array(struct jos_msg *m, const char *array_class, uint32_t len)
{
    const struct jos_classdesc *desc = jos_msg_class(m, array_class);
    struct jos_val *v;

    if (desc == NULL) {
        return NULL;
    }
    if (desc->name[0] != '[' || (desc->name[1] != 'L' && desc->name[1] != '[') || len > INT32_MAX) {
        (void)bfail(m, AG_EUSAGE, "builder: %s is not an object array class", array_class);
        return NULL;
    }
    v = bval(m, JOS_K_ARRAY);
    if (v == NULL) {
        return NULL;
    }
    v->u.arr.desc = desc;
    v->u.arr.elem = desc->name[1];
    v->u.arr.len = len;
    if (len > 0) {
        v->u.arr.elems = balloc(m, (size_t)len * sizeof(*v->u.arr.elems));
        if (v->u.arr.elems == NULL) {
            return NULL;
        }
    }
    return v;
}

int
jos_array_set(struct jos_msg *m, struct jos_val *arr, uint32_t i, struct jos_val *v)
{
    if (m->build_err != 0) {
        return m->build_err;
    }
    if (arr == NULL || arr->kind != JOS_K_ARRAY || arr->u.arr.elems == NULL || i >= arr->u.arr.len) {
        return bfail(m, AG_EUSAGE, "builder: array index %" PRIu32 " out of range", i);
    }
    arr->u.arr.elems[i] = v;
    return 0;
}

struct jos_val *
jos_new_enum(struct jos_msg *m, const char *enum_class, const char *constant)
{
    const struct jos_classdesc *desc = jos_msg_class(m, enum_class);
    struct jos_val *v;

    if (desc == NULL) {
        return NULL;
    }
    if ((desc->flags & JOS_SC_ENUM) == 0) {
        (void)bfail(m, AG_EUSAGE, "builder: %s is not an enum", enum_class);
        return NULL;
    }
    v = bval(m, JOS_K_ENUM);
    if (v == NULL) {
        return NULL;
    }
    v->u.enm.desc = desc;
    v->u.enm.name = jos_new_cstring(m, constant);
    return v->u.enm.name != NULL ? v : NULL;
}

struct jos_val *
jos_new_proxy(struct jos_msg *m, const char *const *ifaces, uint32_t n, struct jos_val *handler)
{
    const struct jos_classdesc *proxy = jos_msg_class(m, "java.lang.reflect.Proxy");
    const struct jos_classdesc *desc;
    struct jos_val *v;
    size_t klen = 6;
    char *key;

    if (proxy == NULL) {
        return NULL;
    }
    for (uint32_t i = 0; i < n; i++) {
        klen += strlen(ifaces[i]) + 1;
    }
    key = balloc(m, klen + 1);
    if (key == NULL) {
        return NULL;
    }
    memcpy(key, "proxy:", 6);
    klen = 6;
    for (uint32_t i = 0; i < n; i++) {
        size_t l = strlen(ifaces[i]);

        memcpy(key + klen, ifaces[i], l);
        klen += l;
        key[klen++] = ',';
    }
    key[klen] = '\0';
    desc = cache_get(m, key);
    if (desc == NULL) {
        struct jos_val *dv = bval(m, JOS_K_CLASSDESC);
        const char **names = n > 0 ? balloc(m, n * sizeof(*names)) : NULL;

        if (dv == NULL || (n > 0 && names == NULL)) {
            return NULL;
        }
        for (uint32_t i = 0; i < n; i++) {
            names[i] = bstrdup(m, ifaces[i], strlen(ifaces[i]));
            if (names[i] == NULL) {
                return NULL;
            }
        }
        dv->u.desc.name = "";
        dv->u.desc.is_proxy = true;
        dv->u.desc.flags = JOS_SC_SERIALIZABLE;
        dv->u.desc.interfaces = names;
        dv->u.desc.ninterfaces = n;
        dv->u.desc.super = proxy;
        desc = &dv->u.desc;
        if (cache_put(m, key, desc) != 0) {
            return NULL;
        }
    }
    v = bval(m, JOS_K_OBJECT);
    if (v == NULL) {
        return NULL;
    }
    v->u.obj.desc = desc;
    v->u.obj.nclasses = 2;
    v->u.obj.classes = balloc(m, 2 * sizeof(*v->u.obj.classes));
    if (v->u.obj.classes == NULL) {
        return NULL;
    }
    v->u.obj.classes[0].desc = proxy;
    v->u.obj.classes[0].has_values = true;
    v->u.obj.classes[0].values = balloc(m, sizeof(union jos_fv) * (proxy->nfields + 1u));
    if (v->u.obj.classes[0].values == NULL) {
        return NULL;
    }
    v->u.obj.classes[1].desc = desc;
    v->u.obj.classes[1].has_values = true;
    if (jos_set_obj(m, v, "h", handler) != 0) {
        return NULL;
    }
    return v;
}

static int
find_field(struct jos_msg *m, struct jos_val *obj, const char *field, const char *types,
           union jos_fv **fv, char *type)
{
    if (m->build_err != 0) {
        return m->build_err;
    }
    if (obj == NULL || obj->kind != JOS_K_OBJECT || field == NULL) {
        return bfail(m, AG_EUSAGE, "builder: set %s on a value that is not an object",
                     field != NULL ? field : "(null)");
    }
    for (size_t i = obj->u.obj.nclasses; i-- > 0;) {
        struct jos_classdata *cd = &obj->u.obj.classes[i];

        for (uint16_t k = 0; cd->has_values && k < cd->desc->nfields; k++) {
            if (strcmp(cd->desc->fields[k].name, field) == 0) {
                if (strchr(types, cd->desc->fields[k].type) == NULL) {
                    return bfail(m, AG_EUSAGE, "builder: field %s of %s has type %c", field,
                                 cd->desc->name, cd->desc->fields[k].type);
                }
                *fv = &cd->values[k];
                *type = cd->desc->fields[k].type;
                return 0;
            }
        }
    }
    return bfail(m, AG_EUSAGE, "builder: %s has no field %s", jos_val_class(obj), field);
}

int
jos_set_int(struct jos_msg *m, struct jos_val *obj, const char *field, int32_t v)
{
    union jos_fv *fv = NULL;
    char t = 0;
    int rc = find_field(m, obj, field, "I", &fv, &t);

    if (rc == 0) {
        fv->i = v;
    }
    return rc;
}

int
jos_set_long(struct jos_msg *m, struct jos_val *obj, const char *field, int64_t v)
{
    union jos_fv *fv = NULL;
    char t = 0;
    int rc = find_field(m, obj, field, "J", &fv, &t);

    if (rc == 0) {
        fv->i = v;
    }
    return rc;
}

int
jos_set_bool(struct jos_msg *m, struct jos_val *obj, const char *field, bool v)
{
    union jos_fv *fv = NULL;
    char t = 0;
    int rc = find_field(m, obj, field, "Z", &fv, &t);

    if (rc == 0) {
        fv->i = v ? 1 : 0;
    }
    return rc;
}

int
jos_set_prim(struct jos_msg *m, struct jos_val *obj, const char *field, int64_t v)
{
    union jos_fv *fv = NULL;
    char t = 0;
    int rc = find_field(m, obj, field, "BCDFIJSZ", &fv, &t);

    if (rc == 0) {
        fv->i = v;
    }
    return rc;
}

int
jos_set_obj(struct jos_msg *m, struct jos_val *obj, const char *field, struct jos_val *v)
{
    union jos_fv *fv = NULL;
    char t = 0;
    int rc = find_field(m, obj, field, "L[", &fv, &t);

    if (rc == 0) {
        fv->ref = v;
    }
    return rc;
}

int
jos_set_string(struct jos_msg *m, struct jos_val *obj, const char *field, const char *s)
{
    struct jos_val *v = NULL;

    if (s != NULL) {
        v = jos_new_cstring(m, s);
        if (v == NULL) {
            return m->build_err;
        }
    }
    return jos_set_obj(m, obj, field, v);
}

static struct jos_classdata *
custom_of(struct jos_msg *m, struct jos_val *obj, const char *class_name)
{
    struct jos_classdata *cd;

    if (m->build_err != 0) {
        return NULL;
    }
    cd = (struct jos_classdata *)jos_obj_classdata(obj, class_name);
    if (cd == NULL) {
        (void)bfail(m, AG_EUSAGE, "builder: %s is not in the hierarchy of %s",
                    class_name != NULL ? class_name : "(most-derived)",
                    obj != NULL && jos_val_class(obj) != NULL ? jos_val_class(obj) : "(null)");
        return NULL;
    }
    if ((cd->desc->flags & (JOS_SC_WRITE_METHOD | JOS_SC_EXTERNALIZABLE)) == 0) {
        (void)bfail(m, AG_EUSAGE, "builder: class %s has no custom data (no writeObject)",
                    cd->desc->name);
        return NULL;
    }
    return cd;
}

int
jos_custom_block(struct jos_msg *m, struct jos_val *obj, const char *class_name, const void *p,
                 size_t n)
{
    struct jos_classdata *cd = custom_of(m, obj, class_name);
    const uint8_t *src = p;

    if (cd == NULL) {
        return m->build_err;
    }
    while (n > 0) {
        struct jos_val *last = cd->ncustom > 0 ? cd->custom[cd->ncustom - 1] : NULL;
        size_t have = 0;
        size_t k;
        uint8_t *buf;

        /* Continue the current record up to JOS_MAX_BLOCK, as BlockDataOutputStream does. */
        if (last != NULL && last->kind == JOS_K_BLOCK && last->u.block.len < JOS_MAX_BLOCK) {
            have = last->u.block.len;
        } else {
            last = NULL;
        }
        k = n < JOS_MAX_BLOCK - have ? n : JOS_MAX_BLOCK - have;
        buf = balloc(m, have + k);
        if (buf == NULL) {
            return m->build_err;
        }
        if (have > 0) {
            memcpy(buf, last->u.block.base, have);
        }
        memcpy(buf + have, src, k);
        if (last == NULL) {
            last = bval(m, JOS_K_BLOCK);
            if (last == NULL || custom_append(m, cd, last) != 0) {
                return m->build_err;
            }
        }
        last->u.block.base = buf;
        last->u.block.len = have + k;
        src += k;
        n -= k;
    }
    return 0;
}

int
jos_custom_obj(struct jos_msg *m, struct jos_val *obj, const char *class_name, struct jos_val *v)
{
    struct jos_classdata *cd = custom_of(m, obj, class_name);

    if (cd == NULL) {
        return m->build_err;
    }
    if (v == NULL) {
        v = bval(m, JOS_K_NULL);
        if (v == NULL) {
            return m->build_err;
        }
    }
    return custom_append(m, cd, v);
}

struct jos_val *
jos_new_block(struct jos_msg *m, const void *p, size_t n)
{
    struct jos_val *v = bval(m, JOS_K_BLOCK);
    uint8_t *copy;

    if (v == NULL) {
        return NULL;
    }
    copy = balloc(m, n);
    if (copy == NULL) {
        return NULL;
    }
    if (n > 0) {
        memcpy(copy, p, n);
    }
    v->u.block.base = copy;
    v->u.block.len = n;
    return v;
}

struct jos_val *
jos_new_reset(struct jos_msg *m)
{
    return bval(m, JOS_K_RESET);
}

int
jos_msg_add(struct jos_msg *m, struct jos_val *v)
{
    size_t n = m->top.n;

    if (m->build_err != 0) {
        return m->build_err;
    }
    if (n == 0 || (n >= 4 && (n & (n - 1)) == 0)) {
        size_t ncap = n == 0 ? 4 : n * 2;
        struct jos_val **ni = balloc(m, ncap * sizeof(*ni));

        if (ni == NULL) {
            return m->build_err;
        }
        if (n > 0) {
            memcpy(ni, m->top.items, n * sizeof(*ni));
        }
        m->top.items = ni;
    }
    m->top.items[m->top.n++] = v;
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Encoder.
 */
struct enc {
    uint8_t *out; /* NULL while counting */
    size_t pos;
    struct jos__map ids;  /* value / descriptor pointer -> handle */
    struct jos__map sigs; /* signature string -> handle */
    uint32_t next;
    uint32_t depth;
    struct ag_err *err;
};

static void
w_bytes(struct enc *e, const void *p, size_t n)
{
    if (e->out != NULL && n > 0) {
        memcpy(e->out + e->pos, p, n);
    }
    e->pos += n;
}

static void
w_u8(struct enc *e, uint8_t v)
{
    w_bytes(e, &v, 1);
}

static void
w_be(struct enc *e, uint64_t v, size_t n)
{
    uint8_t b[8];

    for (size_t i = 0; i < n; i++) {
        b[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    }
    w_bytes(e, b, n);
}

static int
new_handle(struct enc *e, const void *key)
{
    int rc = jos__map_put_ptr(&e->ids, key, e->next);

    if (rc != 0) {
        return ag_err_set(e->err, rc, e->pos, "out of memory for the handle table");
    }
    e->next++;
    return 0;
}

static bool
w_backref(struct enc *e, const void *key)
{
    uint32_t h = 0;

    if (!jos__map_get_ptr(&e->ids, key, &h)) {
        return false;
    }
    w_u8(e, JOS_TC_REFERENCE);
    w_be(e, JOS_BASE_HANDLE + h, 4);
    return true;
}

/* writeUTF: u2 length + modified UTF-8. */
static int
w_utf(struct enc *e, const char *s)
{
    size_t len = strlen(s);
    size_t ml = jos__mutf8_len(s, len);

    if (ml == SIZE_MAX || ml > 0xFFFF) {
        return ag_err_set(e->err, AG_EUSAGE, e->pos, "name \"%.40s\" is not valid UTF-8 or too long",
                          s);
    }
    w_be(e, ml, 2);
    if (e->out != NULL) {
        jos__mutf8_write(s, len, e->out + e->pos);
    }
    e->pos += ml;
    return 0;
}

static int
w_string_body(struct enc *e, const struct jos_val *v)
{
    size_t ml = jos__mutf8_len(v->u.str.s, v->u.str.len);

    if (ml == SIZE_MAX) {
        return ag_err_set(e->err, AG_EUSAGE, e->pos, "string is not valid UTF-8");
    }
    if (ml <= 0xFFFF) {
        w_u8(e, JOS_TC_STRING);
        w_be(e, ml, 2);
    } else {
        w_u8(e, JOS_TC_LONGSTRING);
        w_be(e, ml, 8);
    }
    if (e->out != NULL) {
        jos__mutf8_write(v->u.str.s, v->u.str.len, e->out + e->pos);
    }
    e->pos += ml;
    return new_handle(e, v);
}

static int w_val(struct enc *e, const struct jos_val *v);
static int w_desc(struct enc *e, const struct jos_classdesc *c);

static int
w_sig(struct enc *e, const struct jos_val *sig)
{
    uint32_t h = 0;
    int rc;

    if (sig == NULL || sig->kind != JOS_K_STRING) {
        return ag_err_set(e->err, AG_EUSAGE, e->pos, "object field without a type signature");
    }
    if (w_backref(e, sig)) {
        return 0;
    }
    if (jos__map_get_str(&e->sigs, sig->u.str.s, sig->u.str.len, &h)) {
        w_u8(e, JOS_TC_REFERENCE);
        w_be(e, JOS_BASE_HANDLE + h, 4);
        return 0;
    }
    rc = jos__map_put_str(&e->sigs, sig->u.str.s, sig->u.str.len, e->next);
    if (rc != 0) {
        return ag_err_set(e->err, rc, e->pos, "out of memory for the handle table");
    }
    return w_string_body(e, sig);
}

static int
w_list(struct enc *e, struct jos_val *const *items, size_t n, bool headers)
{
    for (size_t i = 0; i < n; i++) {
        const struct jos_val *v = items[i];
        int rc;

        if (v != NULL && v->kind == JOS_K_BLOCK) {
            if (headers) {
                if (v->u.block.len <= 0xFF) {
                    w_u8(e, JOS_TC_BLOCKDATA);
                    w_u8(e, (uint8_t)v->u.block.len);
                } else if (v->u.block.len <= INT32_MAX) {
                    w_u8(e, JOS_TC_BLOCKDATALONG);
                    w_be(e, v->u.block.len, 4);
                } else {
                    return ag_err_set(e->err, AG_EUSAGE, e->pos, "block of %zu bytes too long",
                                      v->u.block.len);
                }
            }
            w_bytes(e, v->u.block.base, v->u.block.len);
            continue;
        }
        rc = w_val(e, v);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

static int
w_desc(struct enc *e, const struct jos_classdesc *c)
{
    int rc;

    if (c == NULL) {
        w_u8(e, JOS_TC_NULL);
        return 0;
    }
    if (w_backref(e, c)) {
        return 0;
    }
    if (c->is_proxy) {
        w_u8(e, JOS_TC_PROXYCLASSDESC);
        rc = new_handle(e, c);
        if (rc != 0) {
            return rc;
        }
        w_be(e, c->ninterfaces, 4);
        for (uint32_t i = 0; i < c->ninterfaces; i++) {
            rc = w_utf(e, c->interfaces[i]);
            if (rc != 0) {
                return rc;
            }
        }
    } else {
        w_u8(e, JOS_TC_CLASSDESC);
        rc = w_utf(e, c->name);
        if (rc != 0) {
            return rc;
        }
        w_be(e, (uint64_t)c->suid, 8);
        rc = new_handle(e, c);
        if (rc != 0) {
            return rc;
        }
        w_u8(e, c->flags);
        w_be(e, c->nfields, 2);
        for (uint16_t i = 0; i < c->nfields; i++) {
            const struct jos_field_desc *f = &c->fields[i];

            w_u8(e, (uint8_t)f->type);
            rc = w_utf(e, f->name);
            if (rc == 0 && (f->type == 'L' || f->type == '[')) {
                rc = w_sig(e, f->sig);
            }
            if (rc != 0) {
                return rc;
            }
        }
    }
    rc = w_list(e, c->annot, c->nannot, true);
    if (rc != 0) {
        return rc;
    }
    w_u8(e, JOS_TC_ENDBLOCKDATA);
    return w_desc(e, c->super);
}

static int
w_fields(struct enc *e, const struct jos_classdata *cd)
{
    const struct jos_classdesc *c = cd->desc;

    if (c->nfields > 0 && cd->values == NULL) {
        return ag_err_set(e->err, AG_EUSAGE, e->pos, "object of class %s has no field values",
                          c->name);
    }
    for (uint16_t i = 0; i < c->nfields; i++) {
        char t = c->fields[i].type;

        if (t == 'L' || t == '[') {
            int rc = w_val(e, cd->values[i].ref);

            if (rc != 0) {
                return rc;
            }
        } else {
            w_be(e, (uint64_t)cd->values[i].i, jos_type_size(t));
        }
    }
    return 0;
}

static int
w_object(struct enc *e, const struct jos_val *v)
{
    const struct jos_object *o = &v->u.obj;
    int rc;

    w_u8(e, JOS_TC_OBJECT);
    rc = w_desc(e, o->desc);
    if (rc == 0) {
        rc = new_handle(e, v);
    }
    if (rc != 0) {
        return rc;
    }
    if ((o->desc->flags & JOS_SC_EXTERNALIZABLE) != 0) {
        const struct jos_classdata *cd = &o->classes[o->nclasses - 1];
        bool blocks = (o->desc->flags & JOS_SC_BLOCK_DATA) != 0;

        rc = w_list(e, cd->custom, cd->ncustom, blocks);
        if (rc == 0 && blocks) {
            w_u8(e, JOS_TC_ENDBLOCKDATA);
        }
        return rc;
    }
    for (size_t i = 0; i < o->nclasses; i++) {
        const struct jos_classdata *cd = &o->classes[i];

        if ((cd->desc->flags & JOS_SC_SERIALIZABLE) == 0) {
            continue;
        }
        if (cd->has_values) {
            rc = w_fields(e, cd);
            if (rc != 0) {
                return rc;
            }
        }
        if ((cd->desc->flags & JOS_SC_WRITE_METHOD) != 0) {
            rc = w_list(e, cd->custom, cd->ncustom, true);
            if (rc != 0) {
                return rc;
            }
            w_u8(e, JOS_TC_ENDBLOCKDATA);
        }
    }
    return 0;
}

static int
w_array(struct enc *e, const struct jos_val *v)
{
    const struct jos_array *a = &v->u.arr;
    int rc;

    w_u8(e, JOS_TC_ARRAY);
    rc = w_desc(e, a->desc);
    if (rc == 0) {
        rc = new_handle(e, v);
    }
    if (rc != 0) {
        return rc;
    }
    w_be(e, a->len, 4);
    if (a->elem == 'L' || a->elem == '[') {
        for (uint32_t i = 0; i < a->len; i++) {
            rc = w_val(e, a->elems != NULL ? a->elems[i] : NULL);
            if (rc != 0) {
                return rc;
            }
        }
        return 0;
    }
    w_bytes(e, a->raw, (size_t)a->len * jos_type_size(a->elem));
    return 0;
}

static int
w_val_inner(struct enc *e, const struct jos_val *v)
{
    int rc;

    switch (v->kind) {
    case JOS_K_OBJECT:
        return w_object(e, v);
    case JOS_K_STRING:
        return w_string_body(e, v);
    case JOS_K_ARRAY:
        return w_array(e, v);
    case JOS_K_ENUM:
        w_u8(e, JOS_TC_ENUM);
        rc = w_desc(e, v->u.enm.desc);
        if (rc == 0) {
            rc = new_handle(e, v);
        }
        /* ObjectOutputStream.writeEnum writes the name as a new string, never a reference. */
        if (rc == 0) {
            rc = v->u.enm.name != NULL && v->u.enm.name->kind == JOS_K_STRING
                     ? w_string_body(e, v->u.enm.name)
                     : ag_err_set(e->err, AG_EUSAGE, e->pos, "enum value without a name");
        }
        return rc;
    case JOS_K_CLASS:
        w_u8(e, JOS_TC_CLASS);
        rc = w_desc(e, v->u.cls);
        return rc == 0 ? new_handle(e, v) : rc;
    case JOS_K_CLASSDESC:
        return w_desc(e, &v->u.desc);
    case JOS_K_NULL:
        w_u8(e, JOS_TC_NULL);
        return 0;
    case JOS_K_BLOCK:
    case JOS_K_RESET:
        return ag_err_set(e->err, AG_EUSAGE, e->pos, "block data or reset where a value belongs");
    }
    return ag_err_set(e->err, AG_EUSAGE, e->pos, "unknown value kind %d", (int)v->kind);
}

static int
w_val(struct enc *e, const struct jos_val *v)
{
    int rc;

    if (v == NULL) {
        w_u8(e, JOS_TC_NULL);
        return 0;
    }
    if (v->kind != JOS_K_NULL && v->kind != JOS_K_CLASSDESC && w_backref(e, v)) {
        return 0;
    }
    if (e->depth >= ENC_MAX_DEPTH) {
        return ag_err_set(e->err, AG_EUSAGE, e->pos, "value tree nested deeper than %u",
                          ENC_MAX_DEPTH);
    }
    e->depth++;
    rc = w_val_inner(e, v);
    e->depth--;
    return rc;
}

static void
enc_reset(struct enc *e)
{
    jos__map_clear(&e->ids);
    jos__map_clear(&e->sigs);
    e->next = 0;
}

static int
enc_pass(struct enc *e, struct jos_val *const *items, size_t n)
{
    enc_reset(e);
    e->pos = 0;
    e->depth = 0;
    w_be(e, JOS_STREAM_MAGIC, 2);
    w_be(e, JOS_STREAM_VERSION, 2);
    for (size_t i = 0; i < n; i++) {
        const struct jos_val *v = items[i];
        int rc;

        if (v != NULL && v->kind == JOS_K_RESET) {
            w_u8(e, JOS_TC_RESET);
            enc_reset(e);
            continue;
        }
        rc = w_list(e, &items[i], 1, true);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

int
jos_encode(struct ag_buf *out, struct jos_val *const *items, size_t n, struct ag_err *err)
{
    struct ag_err scratch;
    struct enc e;
    size_t size;
    int rc;

    if (err == NULL) {
        err = &scratch;
    }
    memset(&e, 0, sizeof(e));
    e.err = err;
    jos__map_init(&e.ids);
    jos__map_init(&e.sigs);
    rc = enc_pass(&e, items, n);
    if (rc != 0) {
        goto out;
    }
    size = e.pos;
    rc = ag_buf_reserve(out, size);
    if (rc != 0) {
        (void)ag_err_set(err, rc, 0, "encoded stream of %zu bytes: %s", size, ag_strerror(rc));
        goto out;
    }
    e.out = out->data + out->len;
    rc = enc_pass(&e, items, n);
    if (rc != 0) {
        goto out;
    }
    AG_ASSERT(e.pos == size); /* both passes walk the same tree */
    out->len += size;
out:
    jos__map_fini(&e.ids);
    jos__map_fini(&e.sigs);
    return rc;
}

int
jos_msg_encode(struct jos_msg *m, struct ag_buf *out, struct ag_err *err)
{
    if (m->build_err != 0) {
        if (err != NULL) {
            *err = m->build_detail;
        }
        return m->build_err;
    }
    return jos_encode(out, m->top.items, m->top.n, err);
}

struct jos_val *
jos_new_payload(struct jos_msg *m, struct jos_val *v)
{
    struct ag_buf b;
    struct ag_err err = {0};
    struct jos_val *arr = NULL;
    int rc;

    if (m->build_err != 0) {
        return NULL;
    }
    ag_buf_init(&b, m->lim.max_message_bytes);
    rc = jos_encode(&b, &v, 1, &err);
    if (rc != 0) {
        (void)bfail(m, rc, "payload: %s", err.msg);
    } else {
        arr = jos_new_bytes(m, b.data, b.len, false);
    }
    ag_buf_fini(&b);
    return arr;
}
