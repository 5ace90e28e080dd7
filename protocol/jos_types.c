/*
 * jos_types.c: the message container, queries over the value tree, the custom-data cursor, and
 * the helpers shared by the decoder and the encoder (identity map, modified UTF-8).
 */
#include "jos.h"

#include <string.h>

#include "alloc.h"
#include "jos_int.h"

void
jos_limits_default(struct jos_limits *l)
{
    l->max_depth = JOS_DEFAULT_MAX_DEPTH;
    l->max_handles = JOS_DEFAULT_MAX_HANDLES;
    l->max_array_len = JOS_DEFAULT_MAX_ARRAY_LEN;
    l->max_string_bytes = JOS_DEFAULT_MAX_STRING_BYTES;
    l->max_message_bytes = JOS_DEFAULT_MAX_MESSAGE_BYTES;
    l->max_arena_bytes = JOS_DEFAULT_MAX_ARENA_BYTES;
}

int
jos_msg_new(const struct jos_limits *lim, uint32_t flags, struct jos_msg **out)
{
    struct jos_msg *m = ag_calloc(1, sizeof(*m));
    struct jos_limits d;

    *out = NULL;
    if (m == NULL) {
        return AG_ENOMEM;
    }
    jos_limits_default(&d);
    if (lim != NULL) {
        /* Zero fields keep their defaults. */
        d.max_depth = lim->max_depth != 0 ? lim->max_depth : d.max_depth;
        d.max_handles = lim->max_handles != 0 ? lim->max_handles : d.max_handles;
        d.max_array_len = lim->max_array_len != 0 ? lim->max_array_len : d.max_array_len;
        d.max_string_bytes = lim->max_string_bytes != 0 ? lim->max_string_bytes
                                                        : d.max_string_bytes;
        d.max_message_bytes = lim->max_message_bytes != 0 ? lim->max_message_bytes
                                                          : d.max_message_bytes;
        d.max_arena_bytes = lim->max_arena_bytes != 0 ? lim->max_arena_bytes
                                                      : d.max_arena_bytes;
    }
    /* Recursion depth is bounded by the C stack, whatever the caller asks for. */
    if (d.max_depth > JOS_MAX_DEPTH_CAP) {
        d.max_depth = JOS_MAX_DEPTH_CAP;
    }
    m->lim = d;
    m->flags = flags;
    ag_arena_init(&m->arena, d.max_arena_bytes);
    *out = m;
    return 0;
}

void
jos_msg_free(struct jos_msg *m)
{
    if (m == NULL) {
        return;
    }
    /* m->_classes lives in the arena. */
    ag_arena_fini(&m->arena);
    ag_free(m);
}

void *
jos__alloc(struct jos_msg *m, size_t n, struct ag_err *err, uint64_t off)
{
    void *p = ag_arena_alloc(&m->arena, n);

    if (p == NULL) {
        if (m->arena.over_limit) {
            (void)ag_err_set(err, AG_ELIMIT, off, "value tree of %zu bytes exceeds limit %zu",
                             m->arena.used + n, m->arena.max);
        } else {
            (void)ag_err_set(err, AG_ENOMEM, off, "out of memory allocating %zu bytes", n);
        }
    }
    return p;
}

bool
jos_is_stream(const uint8_t *p, size_t len)
{
    return len >= 4 && p[0] == 0xAC && p[1] == 0xED && p[2] == 0x00 && p[3] == 0x05;
}

/* ---------------------------------------------------------------------------------------------
 * Identity map.
 */
void
jos__map_init(struct jos__map *mp)
{
    mp->ents = NULL;
    mp->cap = 0;
    mp->n = 0;
}

void
jos__map_fini(struct jos__map *mp)
{
    ag_free(mp->ents);
    jos__map_init(mp);
}

void
jos__map_clear(struct jos__map *mp)
{
    if (mp->ents != NULL) {
        memset(mp->ents, 0, mp->cap * sizeof(*mp->ents));
    }
    mp->n = 0;
}

static uint64_t
hash_ptr(const void *p)
{
    uint64_t x = (uint64_t)(uintptr_t)p;

    x ^= x >> 33;
    x *= UINT64_C(0xff51afd7ed558ccd);
    x ^= x >> 33;
    return x;
}

static uint64_t
hash_str(const char *s, size_t len)
{
    uint64_t h = UINT64_C(1469598103934665603);

    for (size_t i = 0; i < len; i++) {
        h ^= (uint8_t)s[i];
        h *= UINT64_C(1099511628211);
    }
    return h;
}

static bool
ent_match(const struct jos__map_ent *e, const void *key, size_t len, uint64_t h)
{
    if (e->hash != h || e->len != len) {
        return false;
    }
    if (len == SIZE_MAX) {
        return e->key == key;
    }
    return memcmp(e->key, key, len) == 0;
}

static bool
map_get(const struct jos__map *mp, const void *key, size_t len, uint64_t h, uint32_t *val)
{
    if (mp->cap == 0) {
        return false;
    }
    for (size_t i = (size_t)h & (mp->cap - 1);; i = (i + 1) & (mp->cap - 1)) {
        const struct jos__map_ent *e = &mp->ents[i];

        if (e->key == NULL) {
            return false;
        }
        if (ent_match(e, key, len, h)) {
            *val = e->val;
            return true;
        }
    }
}

/* Insert or overwrite; true if a new entry was added. */
static bool
map_insert(struct jos__map_ent *ents, size_t cap, const struct jos__map_ent *src)
{
    size_t i = (size_t)src->hash & (cap - 1);

    while (ents[i].key != NULL) {
        if (ent_match(&ents[i], src->key, src->len, src->hash)) {
            ents[i].val = src->val;
            return false;
        }
        i = (i + 1) & (cap - 1);
    }
    ents[i] = *src;
    return true;
}

static int
map_put(struct jos__map *mp, const void *key, size_t len, uint64_t h, uint32_t val)
{
    struct jos__map_ent e = {key, len, h, val};

    /* Grow first (at most half full), so the insert below always finds a slot. */
    if ((mp->n + 1) * 2 > mp->cap) {
        size_t ncap = mp->cap == 0 ? 64 : mp->cap * 2;
        struct jos__map_ent *ne = ag_calloc(ncap, sizeof(*ne));

        if (ne == NULL) {
            return AG_ENOMEM;
        }
        for (size_t i = 0; i < mp->cap; i++) {
            if (mp->ents[i].key != NULL) {
                (void)map_insert(ne, ncap, &mp->ents[i]); /* distinct keys: always new */
            }
        }
        ag_free(mp->ents);
        mp->ents = ne;
        mp->cap = ncap;
    }
    if (map_insert(mp->ents, mp->cap, &e)) {
        mp->n++;
    }
    return 0;
}

bool
jos__map_get_ptr(const struct jos__map *mp, const void *key, uint32_t *val)
{
    return map_get(mp, key, SIZE_MAX, hash_ptr(key), val);
}

int
jos__map_put_ptr(struct jos__map *mp, const void *key, uint32_t val)
{
    return map_put(mp, key, SIZE_MAX, hash_ptr(key), val);
}

bool
jos__map_get_str(const struct jos__map *mp, const char *s, size_t len, uint32_t *val)
{
    return map_get(mp, s, len, hash_str(s, len), val);
}

int
jos__map_put_str(struct jos__map *mp, const char *s, size_t len, uint32_t val)
{
    /* An empty string still needs a non-NULL key pointer. */
    return map_put(mp, s != NULL ? s : "", len, hash_str(s, len), val);
}

/* ---------------------------------------------------------------------------------------------
 * Modified UTF-8 (channel.md 1.8). Java's DataInputStream.readUTF accepts overlong forms and a
 * raw 0x00; Java writers never produce them, and refusing them keeps decode/encode a bijection.
 */
static bool
is_cont(uint8_t b)
{
    return (b & 0xC0) == 0x80;
}

/* Decode one modified-UTF-8 unit at src[i] into a UTF-16 code unit; 0 on error. */
static size_t
mutf8_unit(const uint8_t *src, size_t n, size_t i, uint32_t *cu)
{
    uint8_t b = src[i];

    if (b >= 0x01 && b < 0x80) {
        *cu = b;
        return 1;
    }
    if ((b & 0xE0) == 0xC0) {
        if (i + 1 >= n || !is_cont(src[i + 1])) {
            return 0;
        }
        *cu = (uint32_t)(b & 0x1F) << 6 | (src[i + 1] & 0x3F);
        if (*cu != 0 && *cu < 0x80) {
            return 0;
        }
        return 2;
    }
    if ((b & 0xF0) == 0xE0) {
        if (i + 2 >= n || !is_cont(src[i + 1]) || !is_cont(src[i + 2])) {
            return 0;
        }
        *cu = (uint32_t)(b & 0x0F) << 12 | (uint32_t)(src[i + 1] & 0x3F) << 6 |
              (src[i + 2] & 0x3F);
        if (*cu < 0x800) {
            return 0;
        }
        return 3;
    }
    return 0;
}

ptrdiff_t
jos__mutf8_to_utf8(const uint8_t *src, size_t n, char *dst, size_t *bad)
{
    size_t i = 0;
    size_t o = 0;

    while (i < n) {
        uint32_t cu = 0;
        size_t k;

        if (src[i] >= 0x01 && src[i] < 0x80) {
            dst[o++] = (char)src[i++];
            continue;
        }
        k = mutf8_unit(src, n, i, &cu);
        if (k == 0) {
            *bad = i;
            return -1;
        }
        if (cu >= 0xD800 && cu <= 0xDBFF && i + k < n) {
            uint32_t lo = 0;
            size_t k2 = mutf8_unit(src, n, i + k, &lo);

            if (k2 == 3 && lo >= 0xDC00 && lo <= 0xDFFF) {
                uint32_t cp = 0x10000 + ((cu - 0xD800) << 10) + (lo - 0xDC00);

                dst[o++] = (char)(0xF0 | cp >> 18);
                dst[o++] = (char)(0x80 | ((cp >> 12) & 0x3F));
                dst[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                dst[o++] = (char)(0x80 | (cp & 0x3F));
                i += k + k2;
                continue;
            }
        }
        if (cu < 0x80) {
            dst[o++] = (char)cu; /* U+0000 from C0 80 */
        } else if (cu < 0x800) {
            dst[o++] = (char)(0xC0 | cu >> 6);
            dst[o++] = (char)(0x80 | (cu & 0x3F));
        } else {
            dst[o++] = (char)(0xE0 | cu >> 12);
            dst[o++] = (char)(0x80 | ((cu >> 6) & 0x3F));
            dst[o++] = (char)(0x80 | (cu & 0x3F));
        }
        i += k;
    }
    dst[o] = '\0';
    return (ptrdiff_t)o;
}

/* Length of the UTF-8 sequence at s[i] (1-4), 0 if invalid. Accepts 3-byte surrogates
 * (generalized UTF-8), which is what the decoder produces for lone surrogates. */
static size_t
utf8_seq(const uint8_t *s, size_t len, size_t i)
{
    uint8_t b = s[i];

    if (b < 0x80) {
        return 1;
    }
    if ((b & 0xE0) == 0xC0 && b >= 0xC2) {
        return i + 1 < len && is_cont(s[i + 1]) ? 2 : 0;
    }
    if ((b & 0xF0) == 0xE0) {
        if (i + 2 >= len || !is_cont(s[i + 1]) || !is_cont(s[i + 2])) {
            return 0;
        }
        if (b == 0xE0 && s[i + 1] < 0xA0) {
            return 0;
        }
        return 3;
    }
    if (b >= 0xF0 && b <= 0xF4) {
        if (i + 3 >= len || !is_cont(s[i + 1]) || !is_cont(s[i + 2]) || !is_cont(s[i + 3])) {
            return 0;
        }
        if ((b == 0xF0 && s[i + 1] < 0x90) || (b == 0xF4 && s[i + 1] >= 0x90)) {
            return 0;
        }
        return 4;
    }
    return 0;
}

size_t
jos__mutf8_len(const char *s, size_t len)
{
    const uint8_t *u = (const uint8_t *)s;
    size_t out = 0;

    for (size_t i = 0; i < len;) {
        size_t k;

        if (u[i] >= 0x01 && u[i] < 0x80) {
            out++; /* the common case: ASCII */
            i++;
            continue;
        }
        k = utf8_seq(u, len, i);
        if (k == 0) {
            return SIZE_MAX;
        }
        if (k == 1) {
            out += u[i] == 0 ? 2 : 1;
        } else if (k == 4) {
            out += 6;
        } else {
            out += k;
        }
        i += k;
    }
    return out;
}

void
jos__mutf8_write(const char *s, size_t len, uint8_t *dst)
{
    const uint8_t *u = (const uint8_t *)s;
    size_t o = 0;

    for (size_t i = 0; i < len;) {
        size_t k;
        size_t run = i;

        while (run < len && u[run] >= 0x01 && u[run] < 0x80) {
            run++;
        }
        if (run > i) {
            memcpy(dst + o, u + i, run - i); /* copy ASCII runs at once */
            o += run - i;
            i = run;
            continue;
        }
        k = utf8_seq(u, len, i);
        if (k == 1 && u[i] == 0) {
            dst[o++] = 0xC0;
            dst[o++] = 0x80;
        } else if (k == 4) {
            uint32_t cp = (uint32_t)(u[i] & 0x07) << 18 | (uint32_t)(u[i + 1] & 0x3F) << 12 |
                          (uint32_t)(u[i + 2] & 0x3F) << 6 | (u[i + 3] & 0x3F);
            uint32_t hi = 0xD800 + ((cp - 0x10000) >> 10);
            uint32_t lo = 0xDC00 + ((cp - 0x10000) & 0x3FF);

            dst[o++] = (uint8_t)(0xE0 | hi >> 12);
            dst[o++] = (uint8_t)(0x80 | ((hi >> 6) & 0x3F));
            dst[o++] = (uint8_t)(0x80 | (hi & 0x3F));
            dst[o++] = (uint8_t)(0xE0 | lo >> 12);
            dst[o++] = (uint8_t)(0x80 | ((lo >> 6) & 0x3F));
            dst[o++] = (uint8_t)(0x80 | (lo & 0x3F));
        } else {
            memcpy(dst + o, u + i, k);
            o += k;
        }
        i += k;
    }
}

/* ---------------------------------------------------------------------------------------------
 * Classes whose writeObject does not start with defaultWriteObject (channel.md 1.11).
 */
bool
jos__custom_layout(const char *name)
{
    static const char *const names[] = {
        "hudson.remoting.ClassLoaderHolder",   "hudson.remoting.Pipe",
        "hudson.remoting.RemoteInputStream",   "hudson.remoting.RemoteOutputStream",
        "hudson.remoting.RemoteWriter",        "hudson.util.StreamTaskListener",
    };

    for (size_t i = 0; i < AG_ARRAY_LEN(names); i++) {
        if (strcmp(name, names[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* ---------------------------------------------------------------------------------------------
 * Queries.
 */
const char *
jos_val_class(const struct jos_val *v)
{
    const struct jos_classdesc *d = NULL;

    if (v == NULL) {
        return NULL;
    }
    switch (v->kind) {
    case JOS_K_OBJECT:
        d = v->u.obj.desc;
        break;
    case JOS_K_ARRAY:
        d = v->u.arr.desc;
        break;
    case JOS_K_ENUM:
        d = v->u.enm.desc;
        break;
    case JOS_K_STRING:
        return "java.lang.String";
    case JOS_K_CLASS:
        return "java.lang.Class";
    case JOS_K_CLASSDESC:
        return "java.io.ObjectStreamClass";
    case JOS_K_BLOCK:
    case JOS_K_RESET:
    case JOS_K_NULL:
        return NULL;
    }
    if (d == NULL) {
        return NULL;
    }
    if (d->is_proxy) {
        return d->ninterfaces > 0 ? d->interfaces[0] : "java.lang.reflect.Proxy";
    }
    return d->name;
}

bool
jos_val_is(const struct jos_val *v, const char *class_name)
{
    const char *c = jos_val_class(v);

    return c != NULL && class_name != NULL && strcmp(c, class_name) == 0;
}

static const struct jos_classdesc *
val_desc(const struct jos_val *v)
{
    if (v == NULL) {
        return NULL;
    }
    switch (v->kind) {
    case JOS_K_OBJECT:
        return v->u.obj.desc;
    case JOS_K_ARRAY:
        return v->u.arr.desc;
    case JOS_K_ENUM:
        return v->u.enm.desc;
    case JOS_K_STRING:
    case JOS_K_CLASS:
    case JOS_K_CLASSDESC:
    case JOS_K_BLOCK:
    case JOS_K_RESET:
    case JOS_K_NULL:
        return NULL;
    }
    return NULL;
}

bool
jos_val_instanceof(const struct jos_val *v, const char *class_name)
{
    if (class_name == NULL) {
        return false;
    }
    if (v != NULL && v->kind == JOS_K_STRING) {
        return strcmp(class_name, "java.lang.String") == 0;
    }
    for (const struct jos_classdesc *d = val_desc(v); d != NULL; d = d->super) {
        if (d->is_proxy) {
            for (uint32_t i = 0; i < d->ninterfaces; i++) {
                if (strcmp(d->interfaces[i], class_name) == 0) {
                    return true;
                }
            }
        } else if (strcmp(d->name, class_name) == 0) {
            return true;
        }
    }
    return false;
}

const struct jos_classdata *
jos_obj_classdata(const struct jos_val *v, const char *class_name)
{
    if (v == NULL || v->kind != JOS_K_OBJECT || v->u.obj.nclasses == 0) {
        return NULL;
    }
    if (class_name == NULL) {
        return &v->u.obj.classes[v->u.obj.nclasses - 1];
    }
    for (size_t i = v->u.obj.nclasses; i-- > 0;) {
        const struct jos_classdata *cd = &v->u.obj.classes[i];

        if (!cd->desc->is_proxy && strcmp(cd->desc->name, class_name) == 0) {
            return cd;
        }
    }
    return NULL;
}

int
jos_obj_field(const struct jos_val *v, const char *class_name, const char *name,
              const struct jos_field_desc **fd, const union jos_fv **fv)
{
    if (v == NULL || v->kind != JOS_K_OBJECT || name == NULL) {
        return AG_EPROTO;
    }
    for (size_t i = v->u.obj.nclasses; i-- > 0;) {
        const struct jos_classdata *cd = &v->u.obj.classes[i];

        if (class_name != NULL && (cd->desc->is_proxy || strcmp(cd->desc->name, class_name) != 0)) {
            continue;
        }
        if (!cd->has_values) {
            continue;
        }
        for (uint16_t k = 0; k < cd->desc->nfields; k++) {
            if (strcmp(cd->desc->fields[k].name, name) == 0) {
                *fd = &cd->desc->fields[k];
                *fv = &cd->values[k];
                return 0;
            }
        }
    }
    return AG_EPROTO;
}

int
jos_path_field(const struct jos_val *v, const char *path, const struct jos_field_desc **fd,
               const union jos_fv **fv)
{
    const char *seg = path;

    if (path == NULL) {
        return AG_EPROTO;
    }
    for (;;) {
        const char *dot = strchr(seg, '.');
        size_t n = dot != NULL ? (size_t)(dot - seg) : strlen(seg);
        char name[256];
        int rc;

        if (n == 0 || n >= sizeof(name)) {
            return AG_EPROTO;
        }
        memcpy(name, seg, n);
        name[n] = '\0';
        rc = jos_obj_field(v, NULL, name, fd, fv);
        if (rc != 0 || dot == NULL) {
            return rc;
        }
        if ((*fd)->type != 'L' || (*fv)->ref == NULL) {
            return AG_EPROTO;
        }
        v = (*fv)->ref;
        seg = dot + 1;
    }
}

static int
get_typed(const struct jos_val *v, const char *name, const char *types, int64_t *out,
          struct jos_val **ref)
{
    const struct jos_field_desc *fd = NULL;
    const union jos_fv *fv = NULL;
    int rc = jos_obj_field(v, NULL, name, &fd, &fv);

    if (rc != 0) {
        return rc;
    }
    if (strchr(types, fd->type) == NULL) {
        return AG_EPROTO;
    }
    if (fd->type == 'L' || fd->type == '[') {
        *ref = fv->ref;
    } else {
        *out = fv->i;
    }
    return 0;
}

int
jos_get_int(const struct jos_val *v, const char *name, int32_t *out)
{
    int64_t x = 0;
    int rc = get_typed(v, name, "I", &x, NULL);

    if (rc == 0) {
        *out = (int32_t)x;
    }
    return rc;
}

int
jos_get_long(const struct jos_val *v, const char *name, int64_t *out)
{
    return get_typed(v, name, "J", out, NULL);
}

int
jos_get_bool(const struct jos_val *v, const char *name, bool *out)
{
    int64_t x = 0;
    int rc = get_typed(v, name, "Z", &x, NULL);

    if (rc == 0) {
        *out = x != 0;
    }
    return rc;
}

int
jos_get_prim(const struct jos_val *v, const char *name, int64_t *out)
{
    return get_typed(v, name, "BCIJSZ", out, NULL);
}

int
jos_get_obj(const struct jos_val *v, const char *name, struct jos_val **out)
{
    return get_typed(v, name, "L[", NULL, out);
}

int
jos_get_string(const struct jos_val *v, const char *name, const char **s, size_t *len)
{
    struct jos_val *r = NULL;
    int rc = jos_get_obj(v, name, &r);

    if (rc != 0) {
        return rc;
    }
    if (r == NULL) {
        *s = NULL;
        *len = 0;
        return 0;
    }
    if (r->kind != JOS_K_STRING) {
        return AG_EPROTO;
    }
    *s = r->u.str.s;
    *len = r->u.str.len;
    return 0;
}

int
jos_get_bytes(const struct jos_val *v, const char *name, struct ag_iov *out)
{
    struct jos_val *r = NULL;
    int rc = jos_get_obj(v, name, &r);

    if (rc != 0) {
        return rc;
    }
    if (r == NULL) {
        out->base = NULL;
        out->len = 0;
        return 0;
    }
    if (r->kind != JOS_K_ARRAY || r->u.arr.elem != 'B') {
        return AG_EPROTO;
    }
    *out = jos_array_iov(r);
    return 0;
}

float
jos_fv_float(union jos_fv fv)
{
    uint32_t bits = (uint32_t)fv.i;
    float f;

    memcpy(&f, &bits, sizeof(f));
    return f;
}

double
jos_fv_double(union jos_fv fv)
{
    uint64_t bits = (uint64_t)fv.i;
    double d;

    memcpy(&d, &bits, sizeof(d));
    return d;
}

size_t
jos_type_size(char t)
{
    switch (t) {
    case 'B':
    case 'Z':
        return 1;
    case 'C':
    case 'S':
        return 2;
    case 'I':
    case 'F':
        return 4;
    case 'J':
    case 'D':
        return 8;
    default:
        return 0;
    }
}

static int64_t
load_prim(char t, const uint8_t *p)
{
    uint64_t x = 0;
    size_t n = jos_type_size(t);

    for (size_t i = 0; i < n; i++) {
        x = x << 8 | p[i];
    }
    switch (t) {
    case 'B':
        return (int8_t)(uint8_t)x;
    case 'S':
        return (int16_t)(uint16_t)x;
    case 'I':
        return (int32_t)(uint32_t)x;
    case 'J':
        return (int64_t)x;
    default:
        return (int64_t)x; /* C Z zero-extended, F D raw bits */
    }
}

int64_t
jos__load_prim(char t, const uint8_t *p)
{
    return load_prim(t, p);
}

int64_t
jos_array_i(const struct jos_val *arr, uint32_t i)
{
    size_t sz;

    if (arr == NULL || arr->kind != JOS_K_ARRAY || i >= arr->u.arr.len) {
        return 0;
    }
    sz = jos_type_size(arr->u.arr.elem);
    if (sz == 0) {
        return 0;
    }
    return load_prim(arr->u.arr.elem, arr->u.arr.raw + (size_t)i * sz);
}

struct ag_iov
jos_array_iov(const struct jos_val *arr)
{
    struct ag_iov v = {NULL, 0};

    if (arr != NULL && arr->kind == JOS_K_ARRAY && jos_type_size(arr->u.arr.elem) != 0) {
        v.base = arr->u.arr.raw;
        v.len = (size_t)arr->u.arr.len * jos_type_size(arr->u.arr.elem);
    }
    return v;
}

/* ---------------------------------------------------------------------------------------------
 * Custom-data cursor.
 */
void
jos_blk_init(struct jos_blk *b, const struct jos_classdata *cd)
{
    b->items = cd != NULL ? cd->custom : NULL;
    b->n = cd != NULL ? cd->ncustom : 0;
    b->i = 0;
    b->p = NULL;
    b->left = 0;
}

/* Make block bytes available; false at an object or the end. */
static bool
blk_fill(struct jos_blk *b)
{
    while (b->left == 0) {
        if (b->i >= b->n || b->items[b->i]->kind != JOS_K_BLOCK) {
            return false;
        }
        b->p = b->items[b->i]->u.block.base;
        b->left = b->items[b->i]->u.block.len;
        b->i++;
    }
    return true;
}

int
jos_blk_read(struct jos_blk *b, void *dst, size_t n)
{
    uint8_t *d = dst;

    while (n > 0) {
        size_t k;

        if (!blk_fill(b)) {
            return AG_ETRUNC;
        }
        k = n < b->left ? n : b->left;
        memcpy(d, b->p, k);
        d += k;
        b->p += k;
        b->left -= k;
        n -= k;
    }
    return 0;
}

int
jos_blk_u8(struct jos_blk *b, uint8_t *v)
{
    return jos_blk_read(b, v, 1);
}

int
jos_blk_u16(struct jos_blk *b, uint16_t *v)
{
    uint8_t x[2];
    int rc = jos_blk_read(b, x, sizeof(x));

    if (rc == 0) {
        *v = (uint16_t)((unsigned)x[0] << 8 | x[1]);
    }
    return rc;
}

int
jos_blk_u32(struct jos_blk *b, uint32_t *v)
{
    uint8_t x[4];
    int rc = jos_blk_read(b, x, sizeof(x));

    if (rc == 0) {
        *v = (uint32_t)x[0] << 24 | (uint32_t)x[1] << 16 | (uint32_t)x[2] << 8 | x[3];
    }
    return rc;
}

int
jos_blk_u64(struct jos_blk *b, uint64_t *v)
{
    uint32_t hi = 0;
    uint32_t lo = 0;
    int rc = jos_blk_u32(b, &hi);

    if (rc == 0) {
        rc = jos_blk_u32(b, &lo);
    }
    if (rc == 0) {
        *v = (uint64_t)hi << 32 | lo;
    }
    return rc;
}

int
jos_blk_obj(struct jos_blk *b, struct jos_val **out)
{
    struct jos_val *v;

    if (b->left > 0) {
        return AG_EPROTO;
    }
    /* Skip exhausted (empty) block records. */
    while (b->i < b->n && b->items[b->i]->kind == JOS_K_BLOCK && b->items[b->i]->u.block.len == 0) {
        b->i++;
    }
    if (b->i >= b->n) {
        return AG_ETRUNC;
    }
    v = b->items[b->i];
    if (v->kind == JOS_K_BLOCK) {
        return AG_EPROTO;
    }
    b->i++;
    *out = v->kind == JOS_K_NULL ? NULL : v;
    return 0;
}

bool
jos_blk_done(const struct jos_blk *b)
{
    return b->left == 0 && b->i >= b->n;
}
