/*
 * jos_dump.c: a readable dump of a decoded stream (docs/internals/jos.md, "Dump format").
 *
 * One line per value or field, two spaces of indentation per level. A value with a handle is
 * printed in full the first time and as "-> @handle Class" afterwards, so cycles terminate.
 */
#include "jos.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "jos_int.h"

#define DUMP_STR_MAX 2000u
#define DUMP_PRIM_MAX 32u

struct dumper {
    struct ag_buf *out;
    struct jos_msg *m;
    struct jos_dump_opts o;
    struct jos__map seen; /* values and descriptors already printed in this stream */
    unsigned nest;        /* nested payload streams */
    const struct jos_classdesc *pending; /* annotation to print after the current line */
    unsigned pending_ind;
    int rc;               /* first error */
};

static void dump_val(struct dumper *dp, unsigned ind, const char *label, struct jos_val *v);
static void dump_stream(struct dumper *dp, unsigned ind, const struct jos_stream *s);
static void dump_items(struct dumper *dp, unsigned ind, struct jos_val *const *items, size_t n);

static void AG_PRINTF(2, 3)
put(struct dumper *dp, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    int n;

    if (dp->rc != 0) {
        return;
    }
    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0) {
        dp->rc = AG_EINTERNAL;
        return;
    }
    if ((size_t)n >= sizeof(tmp)) {
        n = (int)sizeof(tmp) - 1; /* a class name this long is cut; it is a dump */
    }
    dp->rc = ag_buf_append(dp->out, tmp, (size_t)n);
}

static void
indent(struct dumper *dp, unsigned ind)
{
    static const char spaces[] = "                                                                ";

    while (ind > 0 && dp->rc == 0) {
        unsigned k = ind * 2 < sizeof(spaces) - 1 ? ind * 2 : (unsigned)sizeof(spaces) - 1;

        dp->rc = ag_buf_append(dp->out, spaces, k);
        ind -= k / 2;
    }
}

static void
put_raw(struct dumper *dp, const void *p, size_t n)
{
    if (dp->rc == 0) {
        dp->rc = ag_buf_append(dp->out, p, n);
    }
}

/* A quoted, escaped string (UTF-8 passes through; controls as \xNN). */
static void
put_quoted(struct dumper *dp, const char *s, size_t len)
{
    size_t n = len < DUMP_STR_MAX ? len : DUMP_STR_MAX;
    size_t run = 0;

    put_raw(dp, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        uint8_t c = (uint8_t)s[i];
        const char *esc = NULL;
        char hex[8];

        switch (c) {
        case '"':
            esc = "\\\"";
            break;
        case '\\':
            esc = "\\\\";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '\t':
            esc = "\\t";
            break;
        case 0xED:
            /* A lone surrogate (3-byte generalized UTF-8) is shown as \uXXXX. */
            if (i + 2 < n && (uint8_t)s[i + 1] >= 0xA0) {
                unsigned cu = 0xD000u | ((unsigned)((uint8_t)s[i + 1] & 0x3F) << 6) |
                              ((uint8_t)s[i + 2] & 0x3Fu);

                put_raw(dp, s + i - run, run);
                run = 0;
                put(dp, "\\u%04X", cu);
                i += 2;
                continue;
            }
            run++;
            continue;
        default:
            if (c < 0x20 || c == 0x7F) {
                (void)snprintf(hex, sizeof(hex), "\\x%02x", c);
                esc = hex;
            }
            break;
        }
        if (esc == NULL) {
            run++;
            continue;
        }
        put_raw(dp, s + i - run, run);
        run = 0;
        put_raw(dp, esc, strlen(esc));
    }
    put_raw(dp, s + n - run, run);
    put_raw(dp, "\"", 1);
    if (n < len) {
        put(dp, "...(%zu bytes)", len);
    }
}

static void
put_hex(struct dumper *dp, const uint8_t *p, size_t len)
{
    size_t n = len < dp->o.hex_max ? len : dp->o.hex_max;

    for (size_t i = 0; i < n; i++) {
        put(dp, i == 0 ? "%02x" : " %02x", p[i]);
    }
    if (n < len) {
        put(dp, " ...");
    }
    /* Printable preview helps with build output and names. */
    if (n > 0) {
        put_raw(dp, "  |", 3);
        for (size_t i = 0; i < n; i++) {
            char c = (p[i] >= 0x20 && p[i] < 0x7F) ? (char)p[i] : '.';

            put_raw(dp, &c, 1);
        }
        put_raw(dp, "|", 1);
    }
}

static void
put_flags(struct dumper *dp, uint8_t f)
{
    static const struct {
        uint8_t bit;
        const char *name;
    } names[] = {
        {JOS_SC_WRITE_METHOD, "WRITE_METHOD"}, {JOS_SC_SERIALIZABLE, "SERIALIZABLE"},
        {JOS_SC_EXTERNALIZABLE, "EXTERNALIZABLE"}, {JOS_SC_BLOCK_DATA, "BLOCK_DATA"},
        {JOS_SC_ENUM, "ENUM"},
    };
    bool first = true;

    for (size_t i = 0; i < AG_ARRAY_LEN(names); i++) {
        if ((f & names[i].bit) != 0) {
            put(dp, "%s%s", first ? "" : "|", names[i].name);
            first = false;
        }
    }
    if ((f & 0xE0) != 0) {
        put(dp, "%s0x%02x", first ? "" : "|", f & 0xE0);
        first = false;
    }
    if (first) {
        put(dp, "none");
    }
}

/* Mark v printed; true if it already was. */
static bool
seen(struct dumper *dp, const void *v)
{
    uint32_t x = 0;

    if (jos__map_get_ptr(&dp->seen, v, &x)) {
        return true;
    }
    if (dp->rc == 0) {
        dp->rc = jos__map_put_ptr(&dp->seen, v, 1);
    }
    /* After a failure, report everything as seen so a cyclic graph cannot recurse forever. */
    return dp->rc != 0;
}

static uint32_t
desc_handle(const struct jos_classdesc *c)
{
    return AG_CONTAINER_OF(c, const struct jos_val, u.desc)->handle;
}

static void
put_desc_name(struct dumper *dp, const struct jos_classdesc *c)
{
    if (c->is_proxy) {
        put(dp, "proxy[");
        for (uint32_t i = 0; i < c->ninterfaces; i++) {
            put(dp, "%s%s", i == 0 ? "" : ", ", c->interfaces[i]);
        }
        put(dp, "]");
    } else {
        put(dp, "%s", c->name);
    }
}

/* Descriptor details, once per stream: "(desc @h suid 0x... flags ...)". */
static void
put_desc_info(struct dumper *dp, unsigned ind, const struct jos_classdesc *c)
{
    if (seen(dp, c)) {
        return;
    }
    if (c->is_proxy) {
        put(dp, " (desc @%" PRIx32 ")", desc_handle(c));
    } else {
        put(dp, " (desc @%" PRIx32 " suid 0x%016" PRIx64 " flags ", desc_handle(c), (uint64_t)c->suid);
        put_flags(dp, c->flags);
        put(dp, ")");
    }
    if (c->nannot > 0) {
        dp->pending = c;
        dp->pending_ind = ind + 1;
    }
}

/* End the current line, then print the class annotation put_desc_info saw, if any. */
static void
eol(struct dumper *dp)
{
    const struct jos_classdesc *c = dp->pending;

    put(dp, "\n");
    if (c == NULL) {
        return;
    }
    dp->pending = NULL;
    indent(dp, dp->pending_ind);
    put(dp, "class annotation of %s (%zu items):\n", c->is_proxy ? "proxy" : c->name, c->nannot);
    dump_items(dp, dp->pending_ind + 1, c->annot, c->nannot);
}

static void
put_prim(struct dumper *dp, char t, int64_t x)
{
    union jos_fv fv;

    fv.i = x;
    switch (t) {
    case 'B':
        put(dp, "byte %" PRId64, x);
        break;
    case 'C':
        if (x >= 0x20 && x < 0x7F && x != '\'' && x != '\\') {
            put(dp, "char '%c'", (char)x);
        } else {
            put(dp, "char U+%04" PRIX64, x);
        }
        break;
    case 'D':
        put(dp, "double %.17g", jos_fv_double(fv));
        break;
    case 'F':
        put(dp, "float %.9g", (double)jos_fv_float(fv));
        break;
    case 'I':
        put(dp, "int %" PRId64, x);
        break;
    case 'J':
        put(dp, "long %" PRId64, x);
        break;
    case 'S':
        put(dp, "short %" PRId64, x);
        break;
    case 'Z':
        put(dp, "boolean %s", x != 0 ? "true" : "false");
        break;
    default:
        put(dp, "? 0x%" PRIx64, (uint64_t)x);
        break;
    }
}

static void
dump_items(struct dumper *dp, unsigned ind, struct jos_val *const *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        dump_val(dp, ind, "", items[i]);
    }
}

static void
dump_object(struct dumper *dp, unsigned ind, struct jos_val *v)
{
    const struct jos_object *o = &v->u.obj;

    put_desc_name(dp, o->desc);
    put(dp, " @%" PRIx32, v->handle);
    put(dp, "\n");
    for (size_t i = 0; i < o->nclasses; i++) {
        const struct jos_classdata *cd = &o->classes[i];
        const struct jos_classdesc *c = cd->desc;

        indent(dp, ind + 1);
        put_desc_name(dp, c);
        put(dp, ":");
        put_desc_info(dp, ind + 1, c);
        eol(dp);
        if (cd->has_values) {
            for (uint16_t k = 0; k < c->nfields; k++) {
                const struct jos_field_desc *f = &c->fields[k];
                char label[300];

                if (f->type == 'L' || f->type == '[') {
                    (void)snprintf(label, sizeof(label), "%s: ", f->name);
                    dump_val(dp, ind + 2, label, cd->values[k].ref);
                } else {
                    indent(dp, ind + 2);
                    put(dp, "%s: ", f->name);
                    put_prim(dp, f->type, cd->values[k].i);
                    put(dp, "\n");
                }
            }
        } else if (c->nfields > 0 && !(c->flags & JOS_SC_EXTERNALIZABLE)) {
            indent(dp, ind + 2);
            put(dp, "(no default field values: class-specific layout)\n");
        }
        if (cd->has_custom) {
            indent(dp, ind + 2);
            put(dp, "custom data (%zu items)%s\n", cd->ncustom, cd->ncustom == 0 ? "" : ":");
            dump_items(dp, ind + 3, cd->custom, cd->ncustom);
        }
    }
}

static void
dump_array(struct dumper *dp, unsigned ind, struct jos_val *v)
{
    const struct jos_array *a = &v->u.arr;
    struct ag_iov raw = jos_array_iov(v);

    put(dp, "%s @%" PRIx32 " length %" PRIu32, a->desc->name, v->handle, a->len);
    put_desc_info(dp, ind, a->desc);
    if (a->elem == 'B' && jos_is_stream(raw.base, raw.len) && dp->o.nested &&
        dp->nest < dp->o.max_nested) {
        struct jos_stream s;
        struct ag_err err = {0};
        struct jos__map saved = dp->seen;
        int rc = jos_msg_decode(dp->m, raw.base, raw.len, &s, &err);

        if (rc != 0) {
            put(dp, ": nested stream, not decodable: %s at offset %" PRIu64, err.msg, err.offset);
            eol(dp);
            indent(dp, ind + 1);
            put_hex(dp, raw.base, raw.len);
            put(dp, "\n");
            return;
        }
        put(dp, ": nested stream");
        eol(dp);
        /* A nested stream has its own handles: print it with its own seen set. */
        jos__map_init(&dp->seen);
        dp->nest++;
        dump_stream(dp, ind + 1, &s);
        dp->nest--;
        jos__map_fini(&dp->seen);
        dp->seen = saved;
        return;
    }
    if (a->elem == 'B') {
        if (a->len > 0) {
            put(dp, ": ");
            put_hex(dp, raw.base, raw.len);
        }
        eol(dp);
        return;
    }
    if (a->elem != 'L' && a->elem != '[') {
        uint32_t n = a->len < DUMP_PRIM_MAX ? a->len : DUMP_PRIM_MAX;

        put(dp, a->len > 0 ? ": " : "");
        for (uint32_t i = 0; i < n; i++) {
            if (i > 0) {
                put(dp, ", ");
            }
            put_prim(dp, a->elem, jos_array_i(v, i));
        }
        put(dp, "%s", n < a->len ? ", ..." : "");
        eol(dp);
        return;
    }
    eol(dp);
    for (uint32_t i = 0; i < a->len; i++) {
        char label[32];

        (void)snprintf(label, sizeof(label), "[%" PRIu32 "]: ", i);
        dump_val(dp, ind + 1, label, a->elems[i]);
    }
}

static const char *
frame_str(struct dumper *dp, struct jos_val *v, const char *field)
{
    struct jos_val *s = NULL;

    if (jos_get_obj(v, field, &s) != 0 || s == NULL || s->kind != JOS_K_STRING) {
        return NULL;
    }
    (void)seen(dp, s); /* later references print "-> @h String ..." */
    return s->u.str.s;
}

/* A java.lang.StackTraceElement as one line, like its toString(): "at loader/module@version/
 * Class.method(File.java:12)". Returns false (nothing printed) for an unexpected shape. */
static bool
dump_frame(struct dumper *dp, struct jos_val *v)
{
    const char *cls = frame_str(dp, v, "declaringClass");
    const char *method = frame_str(dp, v, "methodName");
    const char *file;
    const char *loader;
    const char *module;
    const char *version;
    int32_t line = 0;

    if (cls == NULL || method == NULL || jos_get_int(v, "lineNumber", &line) != 0) {
        return false;
    }
    file = frame_str(dp, v, "fileName");
    loader = frame_str(dp, v, "classLoaderName");
    module = frame_str(dp, v, "moduleName");
    version = frame_str(dp, v, "moduleVersion");
    put(dp, "at ");
    if (loader != NULL) {
        put(dp, "%s/", loader);
    }
    if (module != NULL) {
        put(dp, "%s%s%s/", module, version != NULL ? "@" : "", version != NULL ? version : "");
    } else if (loader != NULL) {
        put(dp, "/");
    }
    put(dp, "%s.%s(", cls, method);
    if (line == -2) {
        put(dp, "Native Method)");
    } else if (file != NULL && line >= 0) {
        put(dp, "%s:%" PRId32 ")", file, line);
    } else {
        put(dp, "%s)", file != NULL ? file : "Unknown Source");
    }
    put(dp, " @%" PRIx32, v->handle);
    put_desc_info(dp, 0, v->u.obj.desc);
    eol(dp);
    return true;
}

static void
dump_val(struct dumper *dp, unsigned ind, const char *label, struct jos_val *v)
{
    if (dp->rc != 0) {
        return;
    }
    indent(dp, ind);
    put(dp, "%s", label);
    if (v == NULL || v->kind == JOS_K_NULL) {
        put(dp, "null\n");
        return;
    }
    if (v->kind != JOS_K_BLOCK && v->kind != JOS_K_RESET && seen(dp, v)) {
        put(dp, "-> @%" PRIx32 " ", v->handle);
        if (v->kind == JOS_K_STRING) {
            put(dp, "String ");
            put_quoted(dp, v->u.str.s, v->u.str.len);
        } else if (v->kind == JOS_K_CLASSDESC) {
            put(dp, "classdesc ");
            put_desc_name(dp, &v->u.desc);
        } else if (v->kind == JOS_K_ENUM) {
            put(dp, "%s.%s", v->u.enm.desc->name, v->u.enm.name->u.str.s);
        } else {
            put(dp, "%s", jos_val_class(v));
        }
        put(dp, "\n");
        return;
    }
    switch (v->kind) {
    case JOS_K_OBJECT:
        if (!dp->o.full_frames && jos_val_is(v, "java.lang.StackTraceElement") &&
            dump_frame(dp, v)) {
            break;
        }
        dump_object(dp, ind, v);
        break;
    case JOS_K_STRING:
        put_quoted(dp, v->u.str.s, v->u.str.len);
        put(dp, " @%" PRIx32 "\n", v->handle);
        break;
    case JOS_K_ARRAY:
        dump_array(dp, ind, v);
        break;
    case JOS_K_ENUM:
        put(dp, "enum %s.", v->u.enm.desc->name);
        (void)seen(dp, v->u.enm.name);
        put(dp, "%s @%" PRIx32, v->u.enm.name->u.str.s, v->handle);
        put_desc_info(dp, ind, v->u.enm.desc);
        eol(dp);
        break;
    case JOS_K_CLASS:
        put(dp, "class ");
        put_desc_name(dp, v->u.cls);
        put(dp, " @%" PRIx32, v->handle);
        put_desc_info(dp, ind, v->u.cls);
        eol(dp);
        break;
    case JOS_K_CLASSDESC:
        put(dp, "classdesc ");
        put_desc_name(dp, &v->u.desc);
        put_desc_info(dp, ind, &v->u.desc);
        eol(dp);
        break;
    case JOS_K_BLOCK:
        put(dp, "block %zu bytes%s", v->u.block.len, v->u.block.len > 0 ? ": " : "");
        put_hex(dp, v->u.block.base, v->u.block.len);
        put(dp, "\n");
        break;
    case JOS_K_RESET:
        put(dp, "reset (handles cleared)\n");
        jos__map_clear(&dp->seen);
        break;
    case JOS_K_NULL:
        put(dp, "null\n");
        break;
    }
}

static void
dump_stream(struct dumper *dp, unsigned ind, const struct jos_stream *s)
{
    indent(dp, ind);
    put(dp, "stream: %zu item%s, %" PRIu32 " handles\n", s->n, s->n == 1 ? "" : "s", s->nhandles);
    dump_items(dp, ind + 1, s->items, s->n);
}

int
jos_dump(struct ag_buf *out, struct jos_msg *m, const struct jos_stream *s,
         const struct jos_dump_opts *opts)
{
    struct dumper dp;

    memset(&dp, 0, sizeof(dp));
    dp.out = out;
    dp.m = m;
    dp.o.hex_max = 64;
    dp.o.nested = true;
    dp.o.max_nested = 4;
    if (opts != NULL) {
        dp.o = *opts;
    }
    jos__map_init(&dp.seen);
    dump_stream(&dp, 0, s);
    jos__map_fini(&dp.seen);
    return dp.rc;
}

int
jos_dump_bytes(struct ag_buf *out, const uint8_t *p, size_t len, const struct jos_limits *lim,
               const struct jos_dump_opts *opts, struct ag_err *err)
{
    struct jos_msg *m = NULL;
    int rc = jos_decode(p, len, lim, JOS_DEC_BORROW, &m, err);

    if (rc != 0) {
        return rc;
    }
    rc = jos_dump(out, m, &m->top, opts);
    if (rc != 0) {
        (void)ag_err_set(err, rc, 0, "dump output: %s", ag_strerror(rc));
    }
    jos_msg_free(m);
    return rc;
}
