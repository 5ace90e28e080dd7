/*
 * jos_dec.c: the JOS stream decoder (channel.md 1.2-1.11, Java serialization spec chapter 6).
 *
 * A bounded cursor over one complete stream. Every value is allocated from the message's arena;
 * the handle table is a heap array freed before returning. Recursion is bounded by
 * lim.max_depth (objects, arrays and class descriptors each count one level).
 */
#include "jos.h"

#include <inttypes.h>
#include <string.h>

#include "alloc.h"
#include "jos_int.h"
#include "rd.h"

struct dec {
    struct jos_msg *m;
    struct ag_rd rd;
    struct ag_err *err;
    struct jos_val **handles; /* owned (heap): handle - JOS_BASE_HANDLE -> value */
    uint32_t nh;
    uint32_t caph;
    uint32_t depth;
    bool borrow;
};

/* A list grown inside the arena (the old array is abandoned on growth; lists are short). */
struct vlist {
    struct jos_val **items;
    size_t n;
    size_t cap;
};

static int read_object(struct dec *d, struct jos_val **out);
static int read_classdesc(struct dec *d, const struct jos_classdesc **out);

static uint64_t
off(const struct dec *d)
{
    return ag_rd_off(&d->rd);
}

static int
trunc_err(struct dec *d, const char *what, uint64_t need)
{
    return ag_err_set(d->err, AG_ETRUNC, off(d), "truncated %s: need %" PRIu64 " bytes, %zu left",
                      what, need, ag_rd_left(&d->rd));
}

static void *
dalloc(struct dec *d, size_t n)
{
    return jos__alloc(d->m, n, d->err, off(d));
}

static int
rd_u8(struct dec *d, const char *what, uint8_t *v)
{
    return ag_rd_u8(&d->rd, v) == 0 ? 0 : trunc_err(d, what, 1);
}

static int
rd_u16(struct dec *d, const char *what, uint16_t *v)
{
    return ag_rd_u16(&d->rd, v) == 0 ? 0 : trunc_err(d, what, 2);
}

static int
rd_u32(struct dec *d, const char *what, uint32_t *v)
{
    return ag_rd_u32(&d->rd, v) == 0 ? 0 : trunc_err(d, what, 4);
}

static int
rd_u64(struct dec *d, const char *what, uint64_t *v)
{
    uint32_t hi = 0;
    uint32_t lo = 0;

    /* Not ag_rd_u64: read both halves here so the length check covers all 8 bytes. */
    if (ag_rd_left(&d->rd) < 8 || ag_rd_u32(&d->rd, &hi) != 0 || ag_rd_u32(&d->rd, &lo) != 0) {
        return trunc_err(d, what, 8);
    }
    *v = (uint64_t)hi << 32 | lo;
    return 0;
}

static int
vlist_add(struct dec *d, struct vlist *l, struct jos_val *v)
{
    if (l->n == l->cap) {
        size_t ncap = l->cap == 0 ? 4 : l->cap * 2;
        size_t bytes;
        struct jos_val **ni;

        if (!ag_size_mul(ncap, sizeof(*ni), &bytes)) {
            return ag_err_set(d->err, AG_ELIMIT, off(d), "list of %zu items too long", l->n);
        }
        ni = dalloc(d, bytes);
        if (ni == NULL) {
            return d->err->code;
        }
        if (l->n > 0) {
            memcpy(ni, l->items, l->n * sizeof(*ni));
        }
        l->items = ni;
        l->cap = ncap;
    }
    l->items[l->n++] = v;
    return 0;
}

static struct jos_val *
new_val(struct dec *d, enum jos_kind kind)
{
    struct jos_val *v = dalloc(d, sizeof(*v));

    if (v != NULL) {
        v->kind = kind;
    }
    return v;
}

static int
assign_handle(struct dec *d, struct jos_val *v)
{
    if (d->nh >= d->m->lim.max_handles) {
        return ag_err_set(d->err, AG_ELIMIT, off(d), "handle count %" PRIu32 " exceeds limit %" PRIu32,
                          d->nh + 1, d->m->lim.max_handles);
    }
    if (d->nh == d->caph) {
        uint32_t ncap = d->caph == 0 ? 64 : d->caph * 2;
        struct jos_val **nh = ag_realloc(d->handles, (size_t)ncap * sizeof(*nh));

        if (nh == NULL) {
            return ag_err_set(d->err, AG_ENOMEM, off(d), "out of memory for %" PRIu32 " handles",
                              ncap);
        }
        d->handles = nh;
        d->caph = ncap;
    }
    v->handle = JOS_BASE_HANDLE + d->nh;
    d->handles[d->nh++] = v;
    return 0;
}

static void
reset_handles(struct dec *d)
{
    d->nh = 0;
}

/* A TC_REFERENCE body: the handle, checked for range. */
static int
read_ref(struct dec *d, struct jos_val **out)
{
    uint64_t at = off(d);
    uint32_t h = 0;
    int rc = rd_u32(d, "TC_REFERENCE", &h);

    if (rc != 0) {
        return rc;
    }
    if (h < JOS_BASE_HANDLE || h - JOS_BASE_HANDLE >= d->nh) {
        return ag_err_set(d->err, AG_EPROTO, at,
                          "reference to handle 0x%" PRIx32 " out of range (%" PRIu32 " handles)", h,
                          d->nh);
    }
    *out = d->handles[h - JOS_BASE_HANDLE];
    return 0;
}

/* n bytes of modified UTF-8 at the cursor into a NUL-terminated UTF-8 arena string. */
static int
read_mutf8(struct dec *d, uint64_t n, const char *what, const char **s, size_t *len)
{
    const uint8_t *p = NULL;
    uint64_t at = off(d);
    char *dst;
    ptrdiff_t k;
    size_t bad = 0;

    if (n > d->m->lim.max_string_bytes) {
        return ag_err_set(d->err, AG_ELIMIT, at, "%s length %" PRIu64 " exceeds limit %" PRIu64,
                          what, n, d->m->lim.max_string_bytes);
    }
    if (n > ag_rd_left(&d->rd)) {
        return trunc_err(d, what, n);
    }
    p = d->rd.p;
    d->rd.p += n; /* length checked above */
    dst = dalloc(d, (size_t)n + 1);
    if (dst == NULL) {
        return d->err->code;
    }
    k = jos__mutf8_to_utf8(p, (size_t)n, dst, &bad);
    if (k < 0) {
        return ag_err_set(d->err, AG_EPROTO, at + bad, "invalid modified UTF-8 byte 0x%02x in %s",
                          p[bad], what);
    }
    *s = dst;
    *len = (size_t)k;
    return 0;
}

/* A u2-prefixed modified UTF-8 string (class and field names). */
static int
read_utf(struct dec *d, const char *what, const char **s)
{
    uint16_t n = 0;
    size_t len = 0;
    int rc = rd_u16(d, what, &n);

    if (rc != 0) {
        return rc;
    }
    return read_mutf8(d, n, what, s, &len);
}

/* After the TC_STRING / TC_LONGSTRING tag. */
static int
read_string_body(struct dec *d, bool is_long, struct jos_val **out)
{
    struct jos_val *v;
    uint64_t n = 0;
    int rc;

    if (is_long) {
        uint64_t at = off(d);

        rc = rd_u64(d, "TC_LONGSTRING length", &n);
        if (rc != 0) {
            return rc;
        }
        if (n > INT64_MAX) {
            return ag_err_set(d->err, AG_EPROTO, at, "negative TC_LONGSTRING length %" PRId64,
                              (int64_t)n);
        }
    } else {
        uint16_t n16 = 0;

        rc = rd_u16(d, "TC_STRING length", &n16);
        if (rc != 0) {
            return rc;
        }
        n = n16;
    }
    v = new_val(d, JOS_K_STRING);
    if (v == NULL) {
        return d->err->code;
    }
    rc = read_mutf8(d, n, is_long ? "TC_LONGSTRING" : "TC_STRING", &v->u.str.s, &v->u.str.len);
    if (rc != 0) {
        return rc;
    }
    rc = assign_handle(d, v);
    if (rc != 0) {
        return rc;
    }
    *out = v;
    return 0;
}

/* A string object where only a string may appear (field type signatures, enum names). */
static int
read_string_obj(struct dec *d, const char *what, bool allow_ref, struct jos_val **out)
{
    uint64_t at = off(d);
    uint8_t tc = 0;
    int rc = rd_u8(d, what, &tc);

    if (rc != 0) {
        return rc;
    }
    if (tc == JOS_TC_STRING || tc == JOS_TC_LONGSTRING) {
        return read_string_body(d, tc == JOS_TC_LONGSTRING, out);
    }
    if (tc == JOS_TC_REFERENCE && allow_ref) {
        rc = read_ref(d, out);
        if (rc != 0) {
            return rc;
        }
        if ((*out)->kind != JOS_K_STRING) {
            return ag_err_set(d->err, AG_EPROTO, at, "%s refers to handle 0x%" PRIx32
                              " which is not a string", what, (*out)->handle);
        }
        return 0;
    }
    return ag_err_set(d->err, AG_EPROTO, at, "%s: expected a string, got type code 0x%02x", what,
                      tc);
}

/* One block-data record after its tag. */
static int
read_block(struct dec *d, uint8_t tc, struct jos_val **out)
{
    uint64_t at = off(d);
    const uint8_t *p = NULL;
    struct jos_val *v;
    uint32_t n = 0;
    int rc;

    if (tc == JOS_TC_BLOCKDATA) {
        uint8_t n8 = 0;

        rc = rd_u8(d, "TC_BLOCKDATA length", &n8);
        n = n8;
    } else {
        rc = rd_u32(d, "TC_BLOCKDATALONG length", &n);
        if (rc == 0 && n > INT32_MAX) {
            return ag_err_set(d->err, AG_EPROTO, at, "negative TC_BLOCKDATALONG length %" PRId32,
                              (int32_t)n);
        }
    }
    if (rc != 0) {
        return rc;
    }
    if (ag_rd_bytes(&d->rd, n, &p) != 0) {
        return trunc_err(d, "block data", n);
    }
    v = new_val(d, JOS_K_BLOCK);
    if (v == NULL) {
        return d->err->code;
    }
    if (d->borrow || n == 0) {
        v->u.block.base = p;
    } else {
        uint8_t *copy = dalloc(d, n);

        if (copy == NULL) {
            return d->err->code;
        }
        memcpy(copy, p, n);
        v->u.block.base = copy;
    }
    v->u.block.len = n;
    *out = v;
    return 0;
}

/* content* TC_ENDBLOCKDATA (class annotations, writeObject data, externalizable data). */
static int
read_content_list(struct dec *d, struct vlist *l)
{
    for (;;) {
        struct jos_val *v = NULL;
        uint8_t tc = 0;
        int rc;

        if (ag_rd_peek_u8(&d->rd, &tc) != 0) {
            return trunc_err(d, "custom data (no TC_ENDBLOCKDATA)", 1);
        }
        if (tc == JOS_TC_ENDBLOCKDATA) {
            d->rd.p++;
            return 0;
        }
        if (tc == JOS_TC_BLOCKDATA || tc == JOS_TC_BLOCKDATALONG) {
            d->rd.p++;
            rc = read_block(d, tc, &v);
        } else {
            rc = read_object(d, &v);
            if (rc == 0 && v == NULL) {
                v = new_val(d, JOS_K_NULL);
                if (v == NULL) {
                    rc = d->err->code;
                }
            }
        }
        if (rc != 0) {
            return rc;
        }
        rc = vlist_add(d, l, v);
        if (rc != 0) {
            return rc;
        }
    }
}

static int
enter(struct dec *d)
{
    if (d->depth >= d->m->lim.max_depth) {
        return ag_err_set(d->err, AG_ELIMIT, off(d), "nesting depth %" PRIu32 " exceeds limit %" PRIu32,
                          d->depth + 1, d->m->lim.max_depth);
    }
    d->depth++;
    return 0;
}

/* Link desc->super, refusing a cycle (a super descriptor that refers back to desc). */
static int
set_super(struct dec *d, struct jos_classdesc *desc, const struct jos_classdesc *super, uint64_t at)
{
    uint32_t n = 0;

    for (const struct jos_classdesc *s = super; s != NULL; s = s->super) {
        if (s == desc || ++n > d->m->lim.max_depth) {
            return ag_err_set(d->err, AG_EPROTO, at,
                              "class descriptor chain of %s is cyclic or longer than %" PRIu32,
                              desc->name, d->m->lim.max_depth);
        }
    }
    desc->super = super;
    return 0;
}

/* The end both descriptor forms share (classDescInfo, spec 6.4): classAnnotation, then
 * superClassDesc, checked for cycles and depth. */
static int
read_desc_tail(struct dec *d, struct jos_classdesc *c)
{
    struct vlist annot = {NULL, 0, 0};
    const struct jos_classdesc *super = NULL;
    uint64_t at;
    int rc;

    rc = read_content_list(d, &annot);
    if (rc != 0) {
        return rc;
    }
    c->annot = annot.items;
    c->nannot = annot.n;
    at = off(d);
    rc = read_classdesc(d, &super);
    if (rc != 0) {
        return rc;
    }
    return set_super(d, c, super, at);
}

static bool
valid_field_type(uint8_t t)
{
    return t != 0 && strchr("BCDFIJSZL[", t) != NULL;
}

/* After TC_CLASSDESC. */
static int
read_new_classdesc(struct dec *d, struct jos_val **out)
{
    struct jos_val *v = new_val(d, JOS_K_CLASSDESC);
    struct jos_classdesc *c;
    struct jos_field_desc *fields = NULL;
    uint64_t at;
    uint64_t suid = 0;
    uint16_t nf = 0;
    int rc;

    if (v == NULL) {
        return d->err->code;
    }
    c = &v->u.desc;
    rc = read_utf(d, "class name", &c->name);
    if (rc == 0) {
        rc = rd_u64(d, "serialVersionUID", &suid);
    }
    if (rc == 0) {
        c->suid = (int64_t)suid;
        rc = assign_handle(d, v);
    }
    at = off(d);
    if (rc == 0) {
        rc = rd_u8(d, "class descriptor flags", &c->flags);
    }
    if (rc != 0) {
        return rc;
    }
    if ((c->flags & JOS_SC_SERIALIZABLE) != 0 && (c->flags & JOS_SC_EXTERNALIZABLE) != 0) {
        return ag_err_set(d->err, AG_EPROTO, at,
                          "class %s: flags 0x%02x are both serializable and externalizable", c->name,
                          c->flags);
    }
    rc = rd_u16(d, "field count", &nf);
    if (rc != 0) {
        return rc;
    }
    /* Each field takes at least 3 bytes (type code and an empty name). */
    if ((size_t)nf * 3 > ag_rd_left(&d->rd)) {
        return trunc_err(d, "field descriptors", (uint64_t)nf * 3);
    }
    if (nf > 0) {
        fields = dalloc(d, (size_t)nf * sizeof(*fields));
        if (fields == NULL) {
            return d->err->code;
        }
    }
    for (uint16_t i = 0; i < nf; i++) {
        uint64_t fat = off(d);
        uint8_t t = 0;

        rc = rd_u8(d, "field type code", &t);
        if (rc != 0) {
            return rc;
        }
        if (!valid_field_type(t)) {
            return ag_err_set(d->err, AG_EPROTO, fat, "class %s: invalid field type code 0x%02x",
                              c->name, t);
        }
        fields[i].type = (char)t;
        rc = read_utf(d, "field name", &fields[i].name);
        if (rc != 0) {
            return rc;
        }
        if (t == 'L' || t == '[') {
            struct jos_val *sig = NULL;

            rc = read_string_obj(d, "field type signature", true, &sig);
            if (rc != 0) {
                return rc;
            }
            fields[i].sig = sig;
        }
    }
    /* Publish the fields only now: an annotation may already refer to this descriptor. */
    c->fields = fields;
    c->nfields = nf;
    c->custom_layout = (c->flags & JOS_SC_WRITE_METHOD) != 0 && jos__custom_layout(c->name);
    rc = read_desc_tail(d, c);
    if (rc != 0) {
        return rc;
    }
    *out = v;
    return 0;
}

/* After TC_PROXYCLASSDESC. */
static int
read_proxy_classdesc(struct dec *d, struct jos_val **out)
{
    struct jos_val *v = new_val(d, JOS_K_CLASSDESC);
    struct jos_classdesc *c;
    const char **ifaces = NULL;
    uint64_t at;
    uint32_t n = 0;
    int rc;

    if (v == NULL) {
        return d->err->code;
    }
    c = &v->u.desc;
    c->name = "";
    c->is_proxy = true;
    c->flags = JOS_SC_SERIALIZABLE;
    rc = assign_handle(d, v);
    at = off(d);
    if (rc == 0) {
        rc = rd_u32(d, "proxy interface count", &n);
    }
    if (rc != 0) {
        return rc;
    }
    if (n > 65535) {
        return ag_err_set(d->err, AG_EPROTO, at,
                          "proxy interface count %" PRId32 " exceeds the JVM limit 65535", (int32_t)n);
    }
    if ((size_t)n * 2 > ag_rd_left(&d->rd)) {
        return trunc_err(d, "proxy interface names", (uint64_t)n * 2);
    }
    if (n > 0) {
        ifaces = dalloc(d, (size_t)n * sizeof(*ifaces));
        if (ifaces == NULL) {
            return d->err->code;
        }
    }
    for (uint32_t i = 0; i < n; i++) {
        rc = read_utf(d, "proxy interface name", &ifaces[i]);
        if (rc != 0) {
            return rc;
        }
    }
    c->interfaces = ifaces;
    c->ninterfaces = n;
    rc = read_desc_tail(d, c);
    if (rc != 0) {
        return rc;
    }
    *out = v;
    return 0;
}

/* classDesc: TC_CLASSDESC | TC_PROXYCLASSDESC | TC_NULL | TC_REFERENCE (to a descriptor). */
static int
read_classdesc(struct dec *d, const struct jos_classdesc **out)
{
    uint64_t at = off(d);
    struct jos_val *v = NULL;
    uint8_t tc = 0;
    int rc = rd_u8(d, "class descriptor", &tc);

    if (rc != 0) {
        return rc;
    }
    switch (tc) {
    case JOS_TC_NULL:
        *out = NULL;
        return 0;
    case JOS_TC_REFERENCE:
        rc = read_ref(d, &v);
        if (rc != 0) {
            return rc;
        }
        if (v->kind != JOS_K_CLASSDESC) {
            return ag_err_set(d->err, AG_EPROTO, at,
                              "class descriptor refers to handle 0x%" PRIx32
                              " which is not a class descriptor",
                              v->handle);
        }
        *out = &v->u.desc;
        return 0;
    case JOS_TC_CLASSDESC:
    case JOS_TC_PROXYCLASSDESC:
        rc = enter(d);
        if (rc != 0) {
            return rc;
        }
        rc = tc == JOS_TC_CLASSDESC ? read_new_classdesc(d, &v) : read_proxy_classdesc(d, &v);
        d->depth--;
        if (rc != 0) {
            return rc;
        }
        *out = &v->u.desc;
        return 0;
    default:
        return ag_err_set(d->err, AG_EPROTO, at,
                          "expected a class descriptor, got type code 0x%02x", tc);
    }
}

static int
read_required_desc(struct dec *d, const char *what, const struct jos_classdesc **out)
{
    uint64_t at = off(d);
    int rc = read_classdesc(d, out);

    if (rc == 0 && *out == NULL) {
        return ag_err_set(d->err, AG_EPROTO, at, "%s without a class descriptor (TC_NULL)", what);
    }
    return rc;
}

static int
read_field_values(struct dec *d, struct jos_classdata *cd)
{
    const struct jos_classdesc *c = cd->desc;

    cd->has_values = true;
    if (c->nfields == 0) {
        return 0;
    }
    cd->values = dalloc(d, (size_t)c->nfields * sizeof(*cd->values));
    if (cd->values == NULL) {
        return d->err->code;
    }
    for (uint16_t i = 0; i < c->nfields; i++) {
        char t = c->fields[i].type;
        int rc;

        if (t == 'L' || t == '[') {
            rc = read_object(d, &cd->values[i].ref);
        } else {
            size_t sz = jos_type_size(t);
            const uint8_t *p = NULL;

            if (ag_rd_bytes(&d->rd, sz, &p) != 0) {
                return trunc_err(d, "primitive field value", sz);
            }
            cd->values[i].i = jos__load_prim(t, p);
            rc = 0;
        }
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

/* True if the writeObject data of c starts without its default field values: the table of
 * channel.md 1.11, or the safe fallback (only object fields, and the next tag cannot start a
 * field value). */
static bool
no_default_fields(struct dec *d, const struct jos_classdesc *c)
{
    uint8_t tc = 0;

    if (c->custom_layout) {
        return true;
    }
    if (c->nfields == 0 || ag_rd_peek_u8(&d->rd, &tc) != 0) {
        return false;
    }
    for (uint16_t i = 0; i < c->nfields; i++) {
        if (c->fields[i].type != 'L' && c->fields[i].type != '[') {
            return false;
        }
    }
    return tc == JOS_TC_BLOCKDATA || tc == JOS_TC_BLOCKDATALONG || tc == JOS_TC_ENDBLOCKDATA;
}

static const char *
ext_layout(const struct dec *d, const char *name)
{
    const struct jos_ext_layout *l = d->m->ext_layouts;

    for (; l != NULL && l->class_name != NULL; l++) {
        if (strcmp(l->class_name, name) == 0) {
            return l->format;
        }
    }
    return NULL;
}

/* Protocol-1 externalizable data, driven by a layout string. */
static int
read_ext_raw(struct dec *d, struct jos_classdata *cd, const char *fmt)
{
    struct vlist l = {NULL, 0, 0};
    const uint8_t *start = d->rd.p;
    uint64_t start_off = off(d);

    for (const char *f = fmt;; f++) {
        size_t sz = 0;
        int rc;

        if (*f == 'O' || *f == '\0') {
            size_t n = (size_t)(d->rd.p - start);

            if (n > 0) {
                struct jos_val *b = new_val(d, JOS_K_BLOCK);

                if (b == NULL) {
                    return d->err->code;
                }
                if (d->borrow) {
                    b->u.block.base = start;
                } else {
                    uint8_t *copy = jos__alloc(d->m, n, d->err, start_off);

                    if (copy == NULL) {
                        return d->err->code;
                    }
                    memcpy(copy, start, n);
                    b->u.block.base = copy;
                }
                b->u.block.len = n;
                rc = vlist_add(d, &l, b);
                if (rc != 0) {
                    return rc;
                }
            }
            if (*f == '\0') {
                break;
            }
            {
                struct jos_val *v = NULL;

                rc = read_object(d, &v);
                if (rc == 0 && v == NULL) {
                    v = new_val(d, JOS_K_NULL);
                    rc = v == NULL ? d->err->code : 0;
                }
                if (rc == 0) {
                    rc = vlist_add(d, &l, v);
                }
                if (rc != 0) {
                    return rc;
                }
            }
            start = d->rd.p;
            start_off = off(d);
            continue;
        }
        if (*f == 'U') {
            uint16_t n = 0;

            rc = rd_u16(d, "writeUTF length", &n);
            if (rc != 0) {
                return rc;
            }
            sz = n;
        } else {
            sz = jos_type_size(*f);
        }
        if (ag_rd_left(&d->rd) < sz) {
            return trunc_err(d, "externalizable data", sz);
        }
        d->rd.p += sz;
    }
    cd->has_custom = true;
    cd->custom = l.items;
    cd->ncustom = l.n;
    return 0;
}

/* After TC_OBJECT. */
static int
read_new_object(struct dec *d, struct jos_val **out)
{
    const struct jos_classdesc *desc = NULL;
    struct jos_val *v;
    struct jos_classdata *classes;
    size_t n = 0;
    uint64_t at = off(d);
    int rc = read_required_desc(d, "TC_OBJECT", &desc);

    if (rc != 0) {
        return rc;
    }
    if ((desc->flags & JOS_SC_ENUM) != 0) {
        return ag_err_set(d->err, AG_EPROTO, at, "TC_OBJECT with enum class %s", desc->name);
    }
    v = new_val(d, JOS_K_OBJECT);
    if (v == NULL) {
        return d->err->code;
    }
    rc = assign_handle(d, v);
    if (rc != 0) {
        return rc;
    }
    v->u.obj.desc = desc;
    for (const struct jos_classdesc *c = desc; c != NULL; c = c->super) {
        n++;
    }
    classes = dalloc(d, n * sizeof(*classes));
    if (classes == NULL) {
        return d->err->code;
    }
    {
        size_t i = n;

        for (const struct jos_classdesc *c = desc; c != NULL; c = c->super) {
            classes[--i].desc = c;
        }
    }
    /* Publish before reading data: the data may refer back to this object. */
    v->u.obj.classes = classes;
    v->u.obj.nclasses = n;
    *out = v;
    if ((desc->flags & JOS_SC_EXTERNALIZABLE) != 0) {
        struct jos_classdata *cd = &classes[n - 1];

        if ((desc->flags & JOS_SC_BLOCK_DATA) != 0) {
            struct vlist l = {NULL, 0, 0};

            rc = read_content_list(d, &l);
            cd->has_custom = true;
            cd->custom = l.items;
            cd->ncustom = l.n;
            return rc;
        }
        {
            const char *fmt = ext_layout(d, desc->name);

            if (fmt == NULL) {
                return ag_err_set(d->err, AG_ENOTSUP, off(d),
                                  "externalizable class %s written without block data (protocol 1)"
                                  " needs a class-specific layout",
                                  desc->name);
            }
            return read_ext_raw(d, cd, fmt);
        }
    }
    for (size_t i = 0; i < n; i++) {
        struct jos_classdata *cd = &classes[i];
        const struct jos_classdesc *c = cd->desc;

        if ((c->flags & JOS_SC_SERIALIZABLE) == 0) {
            continue; /* no data for a non-serializable class in the chain */
        }
        if ((c->flags & JOS_SC_WRITE_METHOD) != 0) {
            struct vlist l = {NULL, 0, 0};

            if (!no_default_fields(d, c)) {
                rc = read_field_values(d, cd);
                if (rc != 0) {
                    return rc;
                }
            }
            rc = read_content_list(d, &l);
            cd->has_custom = true;
            cd->custom = l.items;
            cd->ncustom = l.n;
        } else {
            rc = read_field_values(d, cd);
        }
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

/* After TC_ARRAY. */
static int
read_new_array(struct dec *d, struct jos_val **out)
{
    const struct jos_classdesc *desc = NULL;
    struct jos_val *v;
    uint64_t at = off(d);
    uint32_t n = 0;
    char elem;
    int rc = read_required_desc(d, "TC_ARRAY", &desc);

    if (rc != 0) {
        return rc;
    }
    if (desc->is_proxy || desc->name[0] != '[' || !valid_field_type((uint8_t)desc->name[1])) {
        return ag_err_set(d->err, AG_EPROTO, at, "TC_ARRAY with non-array class \"%s\"",
                          desc->name);
    }
    elem = desc->name[1];
    v = new_val(d, JOS_K_ARRAY);
    if (v == NULL) {
        return d->err->code;
    }
    rc = assign_handle(d, v);
    if (rc != 0) {
        return rc;
    }
    v->u.arr.desc = desc;
    v->u.arr.elem = elem;
    *out = v;
    at = off(d);
    rc = rd_u32(d, "array length", &n);
    if (rc != 0) {
        return rc;
    }
    if (n > INT32_MAX) {
        return ag_err_set(d->err, AG_EPROTO, at, "negative array length %" PRId32, (int32_t)n);
    }
    if (n > d->m->lim.max_array_len) {
        return ag_err_set(d->err, AG_ELIMIT, at, "array length %" PRIu32 " exceeds limit %" PRIu32,
                          n, d->m->lim.max_array_len);
    }
    if (elem == 'L' || elem == '[') {
        /* Each element takes at least one byte: never allocate beyond what has arrived. */
        if (n > ag_rd_left(&d->rd)) {
            return trunc_err(d, "object array", n);
        }
        if (n > 0) {
            v->u.arr.elems = dalloc(d, (size_t)n * sizeof(*v->u.arr.elems));
            if (v->u.arr.elems == NULL) {
                return d->err->code;
            }
        }
        for (uint32_t i = 0; i < n; i++) {
            rc = read_object(d, &v->u.arr.elems[i]);
            if (rc != 0) {
                return rc;
            }
            v->u.arr.len = i + 1;
        }
    } else {
        size_t bytes = (size_t)n * jos_type_size(elem);
        const uint8_t *p = NULL;

        if (ag_rd_bytes(&d->rd, bytes, &p) != 0) {
            return trunc_err(d, "primitive array", bytes);
        }
        if (d->borrow || bytes == 0) {
            v->u.arr.raw = p;
        } else {
            uint8_t *copy = dalloc(d, bytes);

            if (copy == NULL) {
                return d->err->code;
            }
            memcpy(copy, p, bytes);
            v->u.arr.raw = copy;
        }
        v->u.arr.len = n;
    }
    return 0;
}

/* After TC_ENUM. */
static int
read_new_enum(struct dec *d, struct jos_val **out)
{
    const struct jos_classdesc *desc = NULL;
    struct jos_val *v;
    uint64_t at = off(d);
    int rc = read_required_desc(d, "TC_ENUM", &desc);

    if (rc != 0) {
        return rc;
    }
    if ((desc->flags & JOS_SC_ENUM) == 0) {
        return ag_err_set(d->err, AG_EPROTO, at, "TC_ENUM with non-enum class %s (flags 0x%02x)",
                          desc->name, desc->flags);
    }
    v = new_val(d, JOS_K_ENUM);
    if (v == NULL) {
        return d->err->code;
    }
    v->u.enm.desc = desc;
    rc = assign_handle(d, v);
    if (rc != 0) {
        return rc;
    }
    *out = v;
    return read_string_obj(d, "enum constant name", false, &v->u.enm.name);
}

/* After TC_CLASS. */
static int
read_new_class(struct dec *d, struct jos_val **out)
{
    const struct jos_classdesc *desc = NULL;
    struct jos_val *v;
    int rc = read_required_desc(d, "TC_CLASS", &desc);

    if (rc != 0) {
        return rc;
    }
    v = new_val(d, JOS_K_CLASS);
    if (v == NULL) {
        return d->err->code;
    }
    v->u.cls = desc;
    rc = assign_handle(d, v);
    if (rc == 0) {
        *out = v;
    }
    return rc;
}

/* After TC_EXCEPTION: the writer gave up mid-stream (channel.md 1.10). Keep the exception for
 * diagnostics and fail. */
static int
read_exception(struct dec *d, uint64_t at)
{
    struct jos_val *ex = NULL;
    int rc;

    reset_handles(d);
    rc = read_object(d, &ex);
    if (rc != 0) {
        return rc;
    }
    reset_handles(d);
    d->m->aborted = ex;
    {
        const char *msg = NULL;
        size_t len = 0;

        if (jos_get_string(ex, "detailMessage", &msg, &len) != 0 || msg == NULL) {
            msg = "";
        }
        return ag_err_set(d->err, AG_EPROTO, at,
                          "stream aborted by the writer (TC_EXCEPTION): %s%s%.60s",
                          ex != NULL && jos_val_class(ex) != NULL ? jos_val_class(ex) : "null",
                          msg[0] != '\0' ? ": " : "", msg);
    }
}

static int
read_object_inner(struct dec *d, uint8_t tc, uint64_t at, struct jos_val **out)
{
    const struct jos_classdesc *desc = NULL;
    int rc;

    *out = NULL;
    switch (tc) {
    case JOS_TC_NULL:
        return 0;
    case JOS_TC_REFERENCE:
        return read_ref(d, out);
    case JOS_TC_OBJECT:
        return read_new_object(d, out);
    case JOS_TC_STRING:
    case JOS_TC_LONGSTRING:
        return read_string_body(d, tc == JOS_TC_LONGSTRING, out);
    case JOS_TC_ARRAY:
        return read_new_array(d, out);
    case JOS_TC_ENUM:
        return read_new_enum(d, out);
    case JOS_TC_CLASS:
        return read_new_class(d, out);
    case JOS_TC_CLASSDESC:
    case JOS_TC_PROXYCLASSDESC:
        d->rd.p--; /* read_classdesc reads the tag itself */
        rc = read_classdesc(d, &desc);
        if (rc == 0) {
            *out = AG_CONTAINER_OF(desc, struct jos_val, u.desc);
        }
        return rc;
    case JOS_TC_EXCEPTION:
        return read_exception(d, at);
    case JOS_TC_RESET:
        return ag_err_set(d->err, AG_EPROTO, at, "TC_RESET inside an object (depth %" PRIu32 ")",
                          d->depth);
    case JOS_TC_BLOCKDATA:
    case JOS_TC_BLOCKDATALONG:
    case JOS_TC_ENDBLOCKDATA:
        return ag_err_set(d->err, AG_EPROTO, at,
                          "unexpected block data tag 0x%02x where an object was expected", tc);
    default:
        return ag_err_set(d->err, AG_EPROTO, at, "unknown type code 0x%02x", tc);
    }
}

static int
read_object(struct dec *d, struct jos_val **out)
{
    uint64_t at = off(d);
    uint8_t tc = 0;
    int rc = rd_u8(d, "object", &tc);

    *out = NULL;
    if (rc != 0) {
        return rc;
    }
    rc = enter(d);
    if (rc != 0) {
        return rc;
    }
    rc = read_object_inner(d, tc, at, out);
    d->depth--;
    return rc;
}

static int
decode_stream(struct dec *d, struct jos_stream *out)
{
    struct vlist l = {NULL, 0, 0};
    uint16_t magic = 0;
    uint16_t version = 0;
    int rc;

    if (ag_rd_u16(&d->rd, &magic) != 0 || ag_rd_u16(&d->rd, &version) != 0) {
        return trunc_err(d, "stream header", 4);
    }
    if (magic != JOS_STREAM_MAGIC || version != JOS_STREAM_VERSION) {
        return ag_err_set(d->err, AG_EPROTO, 0,
                          "bad stream header %04x %04x, expected aced 0005", magic, version);
    }
    while (ag_rd_left(&d->rd) > 0) {
        struct jos_val *v = NULL;
        uint8_t tc = d->rd.p[0];

        if (tc == JOS_TC_RESET) {
            d->rd.p++;
            reset_handles(d);
            v = new_val(d, JOS_K_RESET);
            rc = v == NULL ? d->err->code : 0;
        } else if (tc == JOS_TC_BLOCKDATA || tc == JOS_TC_BLOCKDATALONG) {
            d->rd.p++;
            rc = read_block(d, tc, &v);
        } else if (tc == JOS_TC_ENDBLOCKDATA) {
            rc = ag_err_set(d->err, AG_EPROTO, off(d), "unexpected TC_ENDBLOCKDATA at top level");
        } else {
            rc = read_object(d, &v);
        }
        if (rc == 0) {
            rc = vlist_add(d, &l, v);
        }
        if (rc != 0) {
            return rc;
        }
    }
    out->items = l.items;
    out->n = l.n;
    out->nhandles = d->nh;
    return 0;
}

int
jos_msg_decode(struct jos_msg *m, const uint8_t *p, size_t len, struct jos_stream *out,
               struct ag_err *err)
{
    struct ag_err scratch;
    struct dec d;
    int rc;

    if (err == NULL) {
        err = &scratch;
    }
    memset(err, 0, sizeof(*err));
    memset(out, 0, sizeof(*out));
    if (len > m->lim.max_message_bytes) {
        return ag_err_set(err, AG_ELIMIT, 0, "stream of %zu bytes exceeds limit %zu", len,
                          m->lim.max_message_bytes);
    }
    memset(&d, 0, sizeof(d));
    d.m = m;
    d.err = err;
    d.borrow = (m->flags & JOS_DEC_BORROW) != 0;
    ag_rd_init(&d.rd, p, len, 0);
    rc = decode_stream(&d, out);
    ag_free(d.handles);
    if (rc != 0) {
        memset(out, 0, sizeof(*out));
        if (err->code != rc) {
            (void)ag_err_set(err, rc, ag_rd_off(&d.rd), "%s", ag_strerror(rc));
        }
    }
    return rc;
}

int
jos_decode(const uint8_t *p, size_t len, const struct jos_limits *lim, uint32_t flags,
           struct jos_msg **out, struct ag_err *err)
{
    struct jos_msg *m = NULL;
    int rc = jos_msg_new(lim, flags, &m);

    *out = NULL;
    if (rc != 0) {
        return ag_err_set(err, rc, 0, "out of memory for a message");
    }
    rc = jos_msg_decode(m, p, len, &m->top, err);
    if (rc != 0) {
        jos_msg_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

int
jos_msg_decode_nested(struct jos_msg *m, const struct jos_val *bytes, struct jos_stream *out,
                      struct ag_err *err)
{
    struct ag_iov iov;

    if (bytes == NULL || bytes->kind != JOS_K_ARRAY || bytes->u.arr.elem != 'B') {
        memset(out, 0, sizeof(*out));
        return ag_err_set(err, AG_EPROTO, 0, "nested stream: value is not a byte[]");
    }
    iov = jos_array_iov(bytes);
    return jos_msg_decode(m, iov.base, iov.len, out, err);
}
