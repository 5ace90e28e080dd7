/*
 * jos.h: Java Object Serialization (JOS) streams: decoder, value tree, queries, builder,
 * encoder and a readable dump (channel.md chapter 1, Java serialization spec chapter 6).
 *
 * Threading: none. Every function works on the objects it is given; one owner per jos_msg.
 *
 * Ownership: a decoded or built message lives in one struct jos_msg. All values (struct
 * jos_val), class descriptors and strings are allocated from its arena (m->arena) and are freed
 * together by jos_msg_free(). Pointers into a message are valid until jos_msg_free(). When a
 * message is decoded with JOS_DEC_BORROW, primitive arrays (byte[] payloads in particular) point
 * into the caller's input buffer instead of being copied; the caller then promises to keep that
 * buffer alive and unchanged until jos_msg_free(). A back-reference in the stream (TC_REFERENCE)
 * yields the very same struct jos_val pointer as the object it refers to, so object graphs may
 * be cyclic: walkers must not follow references without a visited set (jos_dump does this).
 *
 * Decoding is "message decoding" (STYLE.md section 7): a bounded cursor over one complete
 * stream. Every length from the wire is checked against the remaining input, the limits in
 * struct jos_limits, and overflow before it is used. Errors: AG_ETRUNC (input ended inside an
 * item), AG_EPROTO (invalid stream), AG_ELIMIT (over a limit), AG_ENOMEM, AG_ENOTSUP (a valid
 * stream we cannot parse without class knowledge: protocol-1 externalizable data of an unknown
 * class). Details in struct ag_err (offset = stream offset of the offending byte).
 */
#ifndef AG_PROTOCOL_JOS_H
#define AG_PROTOCOL_JOS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "buf.h"
#include "compiler.h"
#include "err.h"

/* Stream constants (channel.md 1.1). */
#define JOS_STREAM_MAGIC 0xACEDu
#define JOS_STREAM_VERSION 5u
#define JOS_TC_NULL 0x70u
#define JOS_TC_REFERENCE 0x71u
#define JOS_TC_CLASSDESC 0x72u
#define JOS_TC_OBJECT 0x73u
#define JOS_TC_STRING 0x74u
#define JOS_TC_ARRAY 0x75u
#define JOS_TC_CLASS 0x76u
#define JOS_TC_BLOCKDATA 0x77u
#define JOS_TC_ENDBLOCKDATA 0x78u
#define JOS_TC_RESET 0x79u
#define JOS_TC_BLOCKDATALONG 0x7Au
#define JOS_TC_EXCEPTION 0x7Bu
#define JOS_TC_LONGSTRING 0x7Cu
#define JOS_TC_PROXYCLASSDESC 0x7Du
#define JOS_TC_ENUM 0x7Eu
#define JOS_BASE_HANDLE 0x7E0000u

/* Class descriptor flags. */
#define JOS_SC_WRITE_METHOD 0x01u
#define JOS_SC_SERIALIZABLE 0x02u
#define JOS_SC_EXTERNALIZABLE 0x04u
#define JOS_SC_BLOCK_DATA 0x08u
#define JOS_SC_ENUM 0x10u

/* Java writes custom (block) data in records of at most this many bytes. */
#define JOS_MAX_BLOCK 1024u

/* ---------------------------------------------------------------------------------------------
 * Limits. One struct, one set of defaults (jos_limits_default). A zero field means "default".
 */
struct jos_limits {
    uint32_t max_depth;        /* nesting of objects/arrays/descriptors (default 100) */
    uint32_t max_handles;      /* handles per stream, i.e. objects+strings+descriptors (1 << 20) */
    uint32_t max_array_len;    /* elements of one array (16 MiB) */
    uint64_t max_string_bytes; /* encoded bytes of one string (4 MiB) */
    size_t max_message_bytes;  /* bytes of one stream, header included (64 MiB) */
    size_t max_arena_bytes;    /* memory of one message's value tree (256 MiB) */
};

#define JOS_DEFAULT_MAX_DEPTH 100u
#define JOS_MAX_DEPTH_CAP 1000u /* max_depth is clamped to this (C stack) */
#define JOS_DEFAULT_MAX_HANDLES (1u << 20)
#define JOS_DEFAULT_MAX_ARRAY_LEN (16u << 20)
#define JOS_DEFAULT_MAX_STRING_BYTES (4u << 20)
#define JOS_DEFAULT_MAX_MESSAGE_BYTES ((size_t)64 << 20)
#define JOS_DEFAULT_MAX_ARENA_BYTES ((size_t)256 << 20)

/* Fill l with the defaults above. */
void jos_limits_default(struct jos_limits *l);

/* ---------------------------------------------------------------------------------------------
 * The value tree.
 */
enum jos_kind {
    JOS_K_OBJECT = 0, /* TC_OBJECT (including proxies, records, externalizables) */
    JOS_K_STRING,     /* TC_STRING / TC_LONGSTRING */
    JOS_K_ARRAY,      /* TC_ARRAY */
    JOS_K_ENUM,       /* TC_ENUM */
    JOS_K_CLASS,      /* TC_CLASS: a java.lang.Class value */
    JOS_K_CLASSDESC,  /* TC_CLASSDESC / TC_PROXYCLASSDESC (also as a value) */
    JOS_K_BLOCK,      /* one TC_BLOCKDATA / TC_BLOCKDATALONG record (never has a handle) */
    JOS_K_RESET,      /* a TC_RESET marker between top-level contents */
    JOS_K_NULL,       /* TC_NULL where a list needs an explicit entry (top-level, custom data) */
};

/* One-letter type codes of fields and array elements. */
enum jos_type {
    JOS_T_BYTE = 'B',
    JOS_T_CHAR = 'C',
    JOS_T_DOUBLE = 'D',
    JOS_T_FLOAT = 'F',
    JOS_T_INT = 'I',
    JOS_T_LONG = 'J',
    JOS_T_SHORT = 'S',
    JOS_T_BOOLEAN = 'Z',
    JOS_T_OBJECT = 'L',
    JOS_T_ARRAY = '[',
};

struct jos_val;

struct jos_field_desc {
    char type;        /* enum jos_type */
    const char *name; /* UTF-8, NUL-terminated */
    /* Object and array fields: the JVM type signature ("Ljava/lang/String;", "[B") as the string
     * value from the stream (its identity matters for re-encoding); NULL for primitives. */
    const struct jos_val *sig;
};

struct jos_classdesc {
    const char *name; /* UTF-8 binary name with dots; "" for a proxy class descriptor */
    int64_t suid;
    uint8_t flags; /* JOS_SC_* */
    bool is_proxy; /* TC_PROXYCLASSDESC: interfaces instead of name/suid/fields */
    uint16_t nfields;
    const struct jos_field_desc *fields; /* in stream order */
    uint32_t ninterfaces;
    const char *const *interfaces; /* proxy interface names */
    /* classAnnotation contents before TC_ENDBLOCKDATA (MultiClassLoaderSerializer tags etc.). */
    size_t nannot;
    struct jos_val *const *annot;
    const struct jos_classdesc *super; /* NULL at the end of the chain (TC_NULL) */
    /* Decoder only: the fields are not written before the custom data (channel.md 1.11). */
    bool custom_layout;
};

/* A field value. Which member is valid follows the field's type: `ref` for 'L' and '[' (NULL =
 * Java null); `i` for the others, sign-extended (B S I J), zero-extended (C Z), and for F and D
 * the raw IEEE bits (use jos_fv_float/jos_fv_double), so re-encoding is bit-exact. */
union jos_fv {
    int64_t i;
    struct jos_val *ref;
};

/* The data of one class of an object's hierarchy. */
struct jos_classdata {
    const struct jos_classdesc *desc;
    union jos_fv *values; /* desc->nfields entries; NULL if there are no fields */
    bool has_values;      /* false when a custom layout wrote no default field values */
    /* SC_WRITE_METHOD / externalizable: the custom data ("object annotation") in stream order:
     * JOS_K_BLOCK records, objects, and JOS_K_NULL entries for TC_NULL. */
    bool has_custom;
    size_t ncustom;
    struct jos_val **custom;
};

struct jos_object {
    const struct jos_classdesc *desc; /* most-derived class (or the proxy class) */
    size_t nclasses;
    struct jos_classdata *classes; /* top-most serializable superclass first, like the wire */
};

struct jos_array {
    const struct jos_classdesc *desc; /* "[B", "[Ljava.lang.String;", ... */
    char elem;                        /* enum jos_type of the elements (desc->name[1]) */
    uint32_t len;
    /* Primitive arrays: len * size big-endian bytes exactly as on the wire (use jos_array_i /
     * the iov). May point into the input with JOS_DEC_BORROW. */
    const uint8_t *raw;
    struct jos_val **elems; /* object arrays: len entries, NULL = null */
};

struct jos_val {
    enum jos_kind kind;
    uint32_t handle; /* wire handle (0x7E0000 + n) or 0 when the value has none */
    union {
        struct {
            const char *s; /* UTF-8 (surrogate pairs joined; U+0000 is a 0 byte), NUL-terminated */
            size_t len;    /* bytes of s, without the terminator */
        } str;
        struct jos_object obj;
        struct jos_array arr;
        struct {
            const struct jos_classdesc *desc;
            struct jos_val *name; /* the constant's name (a JOS_K_STRING) */
        } enm;
        const struct jos_classdesc *cls; /* JOS_K_CLASS */
        struct jos_classdesc desc;       /* JOS_K_CLASSDESC */
        struct ag_iov block;             /* JOS_K_BLOCK: the record's bytes */
    } u;
};

/* A list of top-level contents of one stream: objects (NULL = TC_NULL), JOS_K_BLOCK records and
 * JOS_K_RESET markers, in stream order. */
struct jos_stream {
    size_t n;
    struct jos_val **items;
    uint32_t nhandles; /* handles assigned since the last reset */
};

/* Decoder flags. */
#define JOS_DEC_BORROW 0x1u /* primitive arrays point into the input (see the header comment) */

/* Class-specific layout of protocol-1 externalizable data (no block framing, no end marker;
 * channel.md 1.9), given as data: a format string of 'B' (1 byte), 'S'/'C' (2), 'I'/'F' (4),
 * 'J'/'D' (8), 'U' (writeUTF: u2 length + bytes) and 'O' (one object). Raw bytes are collected in
 * JOS_K_BLOCK items of the class data's custom list. */
struct jos_ext_layout {
    const char *class_name;
    const char *format;
};

struct jos_msg {
    struct ag_arena arena; /* owned: every value of the message */
    struct jos_limits lim;
    uint32_t flags;             /* JOS_DEC_* */
    struct jos_stream top;      /* what jos_decode() decoded */
    struct jos_val *aborted;    /* TC_EXCEPTION: the writer's exception (decode then fails) */
    const struct jos_ext_layout *ext_layouts; /* borrowed; NULL-name-terminated array or NULL */
    int build_err;              /* builder: first error (sticky), 0 if none */
    struct ag_err build_detail; /* builder: its message */
    void *_classes;             /* builder: cache of descriptors made from the class table */
};

/* Allocate an empty message with limits lim (NULL = defaults) and JOS_DEC_* flags. Returns 0,
 * AG_ENOMEM. The caller owns *out and frees it with jos_msg_free. */
AG_MUST_CHECK int jos_msg_new(const struct jos_limits *lim, uint32_t flags, struct jos_msg **out);
/* Free the message and every value in it. NULL is a no-op. */
void jos_msg_free(struct jos_msg *m);

/* Decode one complete stream (AC ED 00 05, then contents until the input ends) into m's arena and
 * fill *out. May be called several times on one message, e.g. for nested byte[] payloads, whose
 * values then share the message's lifetime. Each call has its own handle table. Returns 0 or an
 * error (AG_ETRUNC, AG_EPROTO, AG_ELIMIT, AG_ENOMEM, AG_ENOTSUP) with err filled; after an error
 * *out is empty and the arena may hold partial values (freed with the message). */
AG_MUST_CHECK int jos_msg_decode(struct jos_msg *m, const uint8_t *p, size_t len,
                                 struct jos_stream *out, struct ag_err *err);

/* Convenience: jos_msg_new + jos_msg_decode into (*out)->top. On error *out is NULL. */
AG_MUST_CHECK int jos_decode(const uint8_t *p, size_t len, const struct jos_limits *lim,
                             uint32_t flags, struct jos_msg **out, struct ag_err *err);

/* Decode a nested stream held in a byte[] value (e.g. UserRequest.request) into m. */
AG_MUST_CHECK int jos_msg_decode_nested(struct jos_msg *m, const struct jos_val *bytes,
                                        struct jos_stream *out, struct ag_err *err);

/* True if p starts with AC ED 00 05. */
bool jos_is_stream(const uint8_t *p, size_t len);

/* ---------------------------------------------------------------------------------------------
 * Queries (jos_types.c). All take borrowed pointers and never fail on NULL input: they return
 * NULL / false / an error code.
 */

/* The class name of an object, enum or array value (a proxy: its first interface); NULL else. */
const char *jos_val_class(const struct jos_val *v);
/* True if v is an object, enum or array whose most-derived class is exactly class_name. */
bool jos_val_is(const struct jos_val *v, const char *class_name);
/* True if class_name is anywhere in v's descriptor chain (for proxies: also an interface). */
bool jos_val_instanceof(const struct jos_val *v, const char *class_name);
/* The class data of class_name in object v's hierarchy; class_name NULL = the most-derived. */
const struct jos_classdata *jos_obj_classdata(const struct jos_val *v, const char *class_name);
/* Find field `name` in object v, searching class_name only, or (class_name NULL) every class from
 * the most-derived up. On success *fd and *fv point at the descriptor and the value. Returns 0,
 * AG_EPROTO if v is not an object or has no such field (or no default values were written). */
AG_MUST_CHECK int jos_obj_field(const struct jos_val *v, const char *class_name, const char *name,
                                const struct jos_field_desc **fd, const union jos_fv **fv);

/* Follow a dotted path of object fields, e.g. "classLoaderProxy.h.oid" of a UserRequest (the
 * proxy's handler's oid). Every segment but the last must hold a non-null object. Same results as
 * jos_obj_field. */
AG_MUST_CHECK int jos_path_field(const struct jos_val *v, const char *path,
                                 const struct jos_field_desc **fd, const union jos_fv **fv);

/* Typed field getters over jos_obj_field (class_name NULL). They fail with AG_EPROTO when the
 * field is missing or of another type (jos_get_int accepts I only, jos_get_bool Z only, ...). */
AG_MUST_CHECK int jos_get_int(const struct jos_val *v, const char *name, int32_t *out);
AG_MUST_CHECK int jos_get_long(const struct jos_val *v, const char *name, int64_t *out);
AG_MUST_CHECK int jos_get_bool(const struct jos_val *v, const char *name, bool *out);
/* Any primitive field as int64 (B C I J S Z). */
AG_MUST_CHECK int jos_get_prim(const struct jos_val *v, const char *name, int64_t *out);
/* An object/array field; *out NULL for Java null. */
AG_MUST_CHECK int jos_get_obj(const struct jos_val *v, const char *name, struct jos_val **out);
/* A String field; *s NULL (and *len 0) for Java null. */
AG_MUST_CHECK int jos_get_string(const struct jos_val *v, const char *name, const char **s,
                                 size_t *len);
/* A byte[] field as an iov (base NULL for Java null). */
AG_MUST_CHECK int jos_get_bytes(const struct jos_val *v, const char *name, struct ag_iov *out);

float jos_fv_float(union jos_fv fv);
double jos_fv_double(union jos_fv fv);

/* Size in bytes of one element of primitive type t (0 for 'L' and '['). */
size_t jos_type_size(char t);
/* Element i of a primitive array as int64 (sign rules as union jos_fv; F/D raw bits). */
int64_t jos_array_i(const struct jos_val *arr, uint32_t i);
/* A primitive array's raw bytes. */
struct ag_iov jos_array_iov(const struct jos_val *arr);

/* Cursor over custom data: consecutive block records read as one byte stream (a primitive may
 * straddle two records, channel.md 1.7); objects are taken with jos_blk_obj at record boundaries.
 * The reads return AG_ETRUNC at the end of the block bytes before the next object / the end,
 * AG_EPROTO when jos_blk_obj is called with block bytes left. */
struct jos_blk {
    struct jos_val *const *items;
    size_t n;
    size_t i;         /* next item */
    const uint8_t *p; /* bytes left in the current record */
    size_t left;
};
void jos_blk_init(struct jos_blk *b, const struct jos_classdata *cd);
AG_MUST_CHECK int jos_blk_u8(struct jos_blk *b, uint8_t *v);
AG_MUST_CHECK int jos_blk_u16(struct jos_blk *b, uint16_t *v);
AG_MUST_CHECK int jos_blk_u32(struct jos_blk *b, uint32_t *v);
AG_MUST_CHECK int jos_blk_u64(struct jos_blk *b, uint64_t *v);
/* n bytes into dst. */
AG_MUST_CHECK int jos_blk_read(struct jos_blk *b, void *dst, size_t n);
/* The next object of the custom data (*out NULL for TC_NULL). */
AG_MUST_CHECK int jos_blk_obj(struct jos_blk *b, struct jos_val **out);
/* True when every item has been consumed. */
bool jos_blk_done(const struct jos_blk *b);

/* ---------------------------------------------------------------------------------------------
 * Class table (generated from the spec's TSV files into jos_classes.c by
 * scripts/gen-jos-classes.py). Call sites ask for classes by name, never type a UID.
 */
struct jos_class_field {
    char type;       /* enum jos_type */
    const char *name;
    const char *sig; /* JVM signature for 'L' / '[', NULL for primitives */
};

struct jos_class_info {
    const char *name;
    int64_t suid;
    uint8_t flags;
    uint16_t nfields;
    const struct jos_class_field *fields; /* wire order */
    const char *super;                    /* serializable superclass on the wire, or NULL */
    const char *methods;                  /* serial_methods column ("-" if none) */
};

/* Look up a class by binary name (binary search over the generated table); NULL if unknown. */
const struct jos_class_info *jos_class_find(const char *name);
/* The whole table, sorted by name. */
const struct jos_class_info *jos_class_table(size_t *n);

/* ---------------------------------------------------------------------------------------------
 * Builder (jos_enc.c): make values in a message to encode them. Errors are sticky: the first
 * failure is kept in m->build_err / m->build_detail, the functions return NULL (constructors) or
 * the error (setters), and jos_msg_encode fails with it, so a caller may chain calls and check
 * once: the setters' results may be ignored (they are not AG_MUST_CHECK for that reason).
 * Strings are copied into the arena; class descriptors come from the class table (unknown
 * class: AG_EUSAGE "class X is not in the class table").
 */

/* The descriptor of class_name (and its super chain) from the table, made once per message. */
const struct jos_classdesc *jos_msg_class(struct jos_msg *m, const char *class_name);
/* A new object of class_name: every field 0 / null, empty custom data for SC_WRITE_METHOD
 * classes. */
struct jos_val *jos_new_object(struct jos_msg *m, const char *class_name);
/* A string from UTF-8 (len bytes; 4-byte sequences become surrogate pairs on the wire). */
struct jos_val *jos_new_string(struct jos_msg *m, const char *utf8, size_t len);
struct jos_val *jos_new_cstring(struct jos_msg *m, const char *s);
/* A primitive array of array_class ("[B", "[I", ...) from raw big-endian bytes (len elements).
 * borrow: keep a pointer to raw instead of copying (raw must outlive the message). */
struct jos_val *jos_new_prim_array(struct jos_msg *m, const char *array_class, const void *raw,
                                   uint32_t len, bool borrow);
/* byte[] shortcut. */
struct jos_val *jos_new_bytes(struct jos_msg *m, const void *p, size_t len, bool borrow);
/* An object array of array_class ("[Ljava.lang.String;") with len null elements. */
struct jos_val *jos_new_obj_array(struct jos_msg *m, const char *array_class, uint32_t len);
int jos_array_set(struct jos_msg *m, struct jos_val *arr, uint32_t i,
                                struct jos_val *v);
/* An enum constant. */
struct jos_val *jos_new_enum(struct jos_msg *m, const char *enum_class, const char *constant);
/* A dynamic proxy instance: TC_PROXYCLASSDESC with the interfaces, super java.lang.reflect.Proxy,
 * field h = handler. */
struct jos_val *jos_new_proxy(struct jos_msg *m, const char *const *ifaces, uint32_t n,
                              struct jos_val *handler);

/* Setters by field name, searching from the most-derived class up; the value must match the
 * field's type (set_int: I; set_long: J; set_bool: Z; set_prim: any primitive; set_obj: L/[). */
int jos_set_int(struct jos_msg *m, struct jos_val *obj, const char *field,
                              int32_t v);
int jos_set_long(struct jos_msg *m, struct jos_val *obj, const char *field,
                               int64_t v);
int jos_set_bool(struct jos_msg *m, struct jos_val *obj, const char *field, bool v);
int jos_set_prim(struct jos_msg *m, struct jos_val *obj, const char *field,
                               int64_t v);
int jos_set_obj(struct jos_msg *m, struct jos_val *obj, const char *field,
                              struct jos_val *v);
int jos_set_string(struct jos_msg *m, struct jos_val *obj, const char *field,
                                 const char *s);
/* Custom data of class_name (NULL = most-derived) in obj, appended in order. Block bytes are cut
 * into records of at most JOS_MAX_BLOCK bytes like Java's BlockDataOutputStream; consecutive
 * jos_custom_block calls continue the same logical block. v NULL writes TC_NULL. */
int jos_custom_block(struct jos_msg *m, struct jos_val *obj, const char *class_name,
                                   const void *p, size_t n);
int jos_custom_obj(struct jos_msg *m, struct jos_val *obj, const char *class_name,
                                 struct jos_val *v);
/* Append a top-level item (object, NULL, a block via jos_new_block, a reset) to m->top. */
int jos_msg_add(struct jos_msg *m, struct jos_val *v);
struct jos_val *jos_new_block(struct jos_msg *m, const void *p, size_t n);
struct jos_val *jos_new_reset(struct jos_msg *m);

/* ---------------------------------------------------------------------------------------------
 * Encoder (jos_enc.c): write contents as java.io.ObjectOutputStream does: stream header, handles
 * in the same order, each value (by identity: the same struct jos_val pointer) and each class
 * descriptor written once per stream and then TC_REFERENCE, field signature strings shared by
 * value (Java interns them), TC_LONGSTRING above 65535 encoded bytes, TC_BLOCKDATALONG above 255
 * bytes. The output is appended to out (whose cap applies: AG_ELIMIT). The exact size is computed
 * first and reserved once. Returns 0, AG_ENOMEM, AG_ELIMIT, AG_EUSAGE (invalid tree, e.g. a
 * value missing for a field), with err filled.
 */
AG_MUST_CHECK int jos_encode(struct ag_buf *out, struct jos_val *const *items, size_t n,
                             struct ag_err *err);
/* Encode m->top (and fail with the builder's sticky error if any). */
AG_MUST_CHECK int jos_msg_encode(struct jos_msg *m, struct ag_buf *out, struct ag_err *err);
/* Encode one value as a complete stream into a new byte[] value of m (a nested payload such as
 * UserRequest.request or UserRequest$NormalResponse.response). v NULL encodes TC_NULL. */
struct jos_val *jos_new_payload(struct jos_msg *m, struct jos_val *v);

/* ---------------------------------------------------------------------------------------------
 * Readable dump (jos_dump.c).
 */
struct jos_dump_opts {
    uint32_t hex_max;    /* block data / byte[] bytes shown in hex (default 64) */
    bool nested;         /* decode byte[] values starting AC ED 00 05 and dump them inline */
    uint32_t max_nested; /* nesting of such payloads (default 4) */
    bool full_frames;    /* print StackTraceElements field by field, not as one "at ..." line */
};

/* Append a dump of the stream s of message m to out (one line per item/field, two spaces of
 * indentation per level, handles as @N, back-references "-> @N ClassName"). opts NULL = defaults.
 * Nested payloads are decoded into m. Returns 0 or AG_ELIMIT / AG_ENOMEM from out. */
AG_MUST_CHECK int jos_dump(struct ag_buf *out, struct jos_msg *m, const struct jos_stream *s,
                           const struct jos_dump_opts *opts);
/* Decode p (a complete stream) and dump it; on a decode error the dump of what was read is not
 * produced and err says why. */
AG_MUST_CHECK int jos_dump_bytes(struct ag_buf *out, const uint8_t *p, size_t len,
                                 const struct jos_limits *lim, const struct jos_dump_opts *opts,
                                 struct ag_err *err);

#endif
