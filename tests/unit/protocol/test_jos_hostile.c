/*
 * test_jos_hostile.c: hostile and malformed streams, each fed whole to the message decoder:
 * {name, bytes, want_rc, want_msg substring}. No input may crash, hang or leak (ASan build).
 */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "harness.h"
#include "jos.h"

#define HDR "\xac\xed\x00\x05"
#define SUID1 "\x00\x00\x00\x00\x00\x00\x00\x01"
#define OBJ_ARRAY_DESC "\x72\x00\x13[Ljava.lang.Object;\x90\xce\x58\x9f\x10\x73\x29\x6c\x02\x00\x00\x78\x70"
#define BYTE_ARRAY_DESC "\x72\x00\x02[B\xac\xf3\x17\xf8\x06\x08\x54\xe0\x02\x00\x00\x78\x70"

static const struct jos_limits small = {
    .max_depth = 20,
    .max_handles = 3,
    .max_array_len = 65536,
    .max_string_bytes = 4,
    .max_message_bytes = 200,
    .max_arena_bytes = 0,
};

static const struct jos_limits tiny_arena = {.max_arena_bytes = 4096};

struct vec {
    const char *name;
    const char *bytes;
    size_t len;
    const struct jos_limits *lim;
    int want_rc;
    const char *want_msg;
};

#define V(name, b, lim, rc, msg) {name, b, sizeof(b) - 1, lim, rc, msg}

static const struct vec vecs[] = {
    V("empty", "", NULL, AG_ETRUNC, "truncated stream header"),
    V("short header", "\xac\xed\x00", NULL, AG_ETRUNC, "truncated stream header"),
    V("bad magic", "\xac\xee\x00\x05", NULL, AG_EPROTO, "bad stream header acee 0005"),
    V("bad version", "\xac\xed\x00\x04", NULL, AG_EPROTO, "bad stream header"),
    V("unknown type code", HDR "\x42", NULL, AG_EPROTO, "unknown type code 0x42"),
    V("reference out of range", HDR "\x71\x00\x7e\x00\x05", NULL, AG_EPROTO,
      "reference to handle 0x7e0005 out of range (0 handles)"),
    V("reference below base", HDR "\x71\x00\x00\x00\x00", NULL, AG_EPROTO, "out of range"),
    V("truncated reference", HDR "\x71\x00\x7e", NULL, AG_ETRUNC, "truncated TC_REFERENCE"),
    V("reference to a string as class descriptor", HDR "\x74\x00\x01" "a" "\x73\x71\x00\x7e\x00\x00",
      NULL, AG_EPROTO, "handle 0x7e0000 which is not a class descriptor"),
    V("array length over limit", HDR "\x75" BYTE_ARRAY_DESC "\x7f\xff\xff\xff", &small, AG_ELIMIT,
      "array length 2147483647 exceeds limit 65536"),
    V("negative array length", HDR "\x75" BYTE_ARRAY_DESC "\xff\xff\xff\xff", NULL, AG_EPROTO,
      "negative array length -1"),
    V("byte array truncated", HDR "\x75" BYTE_ARRAY_DESC "\x00\x00\x00\x0a\x01\x02", NULL, AG_ETRUNC,
      "truncated primitive array: need 10 bytes, 2 left"),
    V("object array longer than input", HDR "\x75" OBJ_ARRAY_DESC "\x00\x10\x00\x00\x70", NULL,
      AG_ETRUNC, "truncated object array"),
    V("string truncated", HDR "\x74\xff\xff" "ab", NULL, AG_ETRUNC,
      "truncated TC_STRING: need 65535 bytes, 2 left"),
    V("string over limit", HDR "\x74\x00\x05" "hello", &small, AG_ELIMIT,
      "TC_STRING length 5 exceeds limit 4"),
    V("long string over limit", HDR "\x7c\x00\x00\x00\x00\x7f\xff\xff\xff", NULL, AG_ELIMIT,
      "TC_LONGSTRING length 2147483647 exceeds limit"),
    V("negative long string", HDR "\x7c\xff\xff\xff\xff\xff\xff\xff\xff", NULL, AG_EPROTO,
      "negative TC_LONGSTRING length -1"),
    V("bad utf continuation", HDR "\x74\x00\x02\xc3\x41", NULL, AG_EPROTO,
      "invalid modified UTF-8 byte 0xc3 in TC_STRING"),
    V("overlong utf", HDR "\x74\x00\x02\xc1\x81", NULL, AG_EPROTO, "invalid modified UTF-8"),
    V("raw nul in string", HDR "\x74\x00\x01\x00", NULL, AG_EPROTO, "invalid modified UTF-8 byte 0x00"),
    V("4-byte utf8 in string", HDR "\x74\x00\x04\xf0\x9f\x98\x80", NULL, AG_EPROTO,
      "invalid modified UTF-8 byte 0xf0"),
    V("truncated 3-byte utf", HDR "\x74\x00\x02\xe2\x82", NULL, AG_EPROTO, "invalid modified UTF-8"),
    V("handle limit", HDR "\x74\x00\x00\x74\x00\x00\x74\x00\x00\x74\x00\x00", &small, AG_ELIMIT,
      "handle count 4 exceeds limit 3"),
    V("reset inside an object", HDR "\x75" OBJ_ARRAY_DESC "\x00\x00\x00\x01\x79", NULL, AG_EPROTO,
      "TC_RESET inside an object"),
    V("end block data at top level", HDR "\x78", NULL, AG_EPROTO, "unexpected TC_ENDBLOCKDATA"),
    V("block data as a field value", HDR "\x75" OBJ_ARRAY_DESC "\x00\x00\x00\x01\x77\x00", NULL,
      AG_EPROTO, "unexpected block data tag 0x77"),
    V("block data truncated", HDR "\x77\x05\x01", NULL, AG_ETRUNC, "truncated block data"),
    V("negative long block", HDR "\x7a\xff\xff\xff\xff", NULL, AG_EPROTO,
      "negative TC_BLOCKDATALONG length -1"),
    V("serializable and externalizable", HDR "\x73\x72\x00\x01" "A" SUID1 "\x06\x00\x00\x78\x70", NULL,
      AG_EPROTO, "flags 0x06 are both serializable and externalizable"),
    V("invalid field type", HDR "\x73\x72\x00\x01" "A" SUID1 "\x02\x00\x01" "Q\x00\x01x", NULL,
      AG_EPROTO, "class A: invalid field type code 0x51"),
    V("field count beyond input", HDR "\x73\x72\x00\x01" "A" SUID1 "\x02\xff\xff", NULL, AG_ETRUNC,
      "truncated field descriptors"),
    V("null field signature", HDR "\x73\x72\x00\x01" "A" SUID1 "\x02\x00\x01" "L\x00\x01x\x70", NULL,
      AG_EPROTO, "field type signature: expected a string, got type code 0x70"),
    V("signature refers to a descriptor", HDR "\x73\x72\x00\x01" "A" SUID1 "\x02\x00\x01"
      "L\x00\x01x\x71\x00\x7e\x00\x00", NULL, AG_EPROTO, "which is not a string"),
    V("cyclic super descriptor", HDR "\x73\x72\x00\x01" "A" SUID1 "\x02\x00\x00\x78\x71\x00\x7e\x00\x00",
      NULL, AG_EPROTO, "class descriptor chain of A is cyclic"),
    V("object without descriptor", HDR "\x73\x70", NULL, AG_EPROTO,
      "TC_OBJECT without a class descriptor"),
    V("object with a string as descriptor", HDR "\x73\x74\x00\x00", NULL, AG_EPROTO,
      "expected a class descriptor, got type code 0x74"),
    V("enum with non-enum class", HDR "\x7e\x72\x00\x01" "A" SUID1 "\x02\x00\x00\x78\x70\x74\x00\x01" "X",
      NULL, AG_EPROTO, "TC_ENUM with non-enum class A"),
    V("enum name not a string", HDR "\x7e\x72\x00\x01" "E" "\0\0\0\0\0\0\0\0" "\x12\x00\x00\x78\x70\x70",
      NULL, AG_EPROTO, "enum constant name: expected a string, got type code 0x70"),
    V("enum object", HDR "\x73\x72\x00\x01" "E" "\0\0\0\0\0\0\0\0" "\x12\x00\x00\x78\x70", NULL,
      AG_EPROTO, "TC_OBJECT with enum class E"),
    V("array of a non-array class", HDR "\x75\x72\x00\x01" "A" SUID1 "\x02\x00\x00\x78\x70\x00\x00\x00\x00",
      NULL, AG_EPROTO, "TC_ARRAY with non-array class \"A\""),
    V("array with bad element type", HDR "\x75\x72\x00\x02" "[Q" SUID1 "\x02\x00\x00\x78\x70\x00\x00\x00\x00",
      NULL, AG_EPROTO, "non-array class \"[Q\""),
    V("proxy interface count", HDR "\x73\x7d\x7f\xff\xff\xff", NULL, AG_EPROTO,
      "proxy interface count 2147483647 exceeds the JVM limit 65535"),
    V("proxy names beyond input", HDR "\x73\x7d\x00\x00\x01\x00\x00", NULL, AG_ETRUNC,
      "truncated proxy interface names"),
    V("custom data without end", HDR "\x73\x72\x00\x01" "A" SUID1 "\x03\x00\x00\x78\x70\x77\x01\x01",
      NULL, AG_ETRUNC, "custom data (no TC_ENDBLOCKDATA)"),
    V("annotation without end", HDR "\x73\x72\x00\x01" "A" SUID1 "\x02\x00\x00", NULL, AG_ETRUNC,
      "no TC_ENDBLOCKDATA"),
    V("primitive field truncated", HDR "\x73\x72\x00\x01" "A" SUID1 "\x02\x00\x01" "J\x00\x01j\x78\x70\x00\x01",
      NULL, AG_ETRUNC, "truncated primitive field value: need 8 bytes, 2 left"),
    V("protocol 1 externalizable", HDR "\x73\x72\x00\x01" "X" SUID1 "\x04\x00\x00\x78\x70\x00\x00", NULL,
      AG_ENOTSUP, "externalizable class X written without block data (protocol 1)"),
    V("writer aborted", HDR "\x7b\x70", NULL, AG_EPROTO,
      "stream aborted by the writer (TC_EXCEPTION): null"),
    V("class of null", HDR "\x76\x70", NULL, AG_EPROTO, "TC_CLASS without a class descriptor"),
    V("message over limit", HDR "\x77\xff" "0123456789012345678901234567890123456789012345678901234567890123456789"
      "0123456789012345678901234567890123456789012345678901234567890123456789"
      "0123456789012345678901234567890123456789012345678901234567890123456789", &small, AG_ELIMIT,
      "stream of 216 bytes exceeds limit 200"),
    V("empty stream is valid", HDR, NULL, 0, ""),
    V("top-level null", HDR "\x70", NULL, 0, ""),
};

T_TEST(hostile_vectors)
{
    for (size_t i = 0; i < AG_ARRAY_LEN(vecs); i++) {
        const struct vec *v = &vecs[i];
        uint8_t *copy = malloc(v->len + 1); /* exact size, so ASan sees an overread */
        struct jos_msg *m = NULL;
        struct ag_err err = {0};
        int rc;

        memcpy(copy, v->bytes, v->len);
        rc = jos_decode(copy, v->len, v->lim, 0, &m, &err);
        if (rc != v->want_rc || strstr(err.msg, v->want_msg) == NULL) {
            (void)fprintf(stderr, "vector \"%s\": rc %d (%s) msg \"%s\", want %d \"%s\"\n", v->name,
                          rc, ag_strerror(rc), err.msg, v->want_rc, v->want_msg);
        }
        T_EQ_INT(rc, v->want_rc);
        T_CHECK(strstr(err.msg, v->want_msg) != NULL);
        T_CHECK((rc == 0) == (m != NULL));
        if (rc != 0) {
            T_EQ_INT(err.code, rc);
        }
        jos_msg_free(m);
        free(copy);
    }
}

T_TEST(hostile_depth)
{
    /* 200 nested Object[1] arrays: the depth limit stops the recursion. */
    const char desc[] = "\x75" OBJ_ARRAY_DESC "\x00\x00\x00\x01";
    const char again[] = "\x75\x71\x00\x7e\x00\x00\x00\x00\x00\x01";
    size_t len = 4 + sizeof(desc) - 1 + 200 * (sizeof(again) - 1) + 1;
    uint8_t *p = malloc(len);
    size_t o = 0;
    struct jos_msg *m = NULL;
    struct ag_err err = {0};

    memcpy(p, HDR, 4);
    o = 4;
    memcpy(p + o, desc, sizeof(desc) - 1);
    o += sizeof(desc) - 1;
    for (int i = 0; i < 200; i++) {
        memcpy(p + o, again, sizeof(again) - 1);
        o += sizeof(again) - 1;
    }
    p[o++] = 0x70;
    T_EQ_INT(jos_decode(p, o, NULL, 0, &m, &err), AG_ELIMIT);
    T_CHECK(strstr(err.msg, "nesting depth 101 exceeds limit 100") != NULL);
    T_EQ_INT(jos_decode(p, o, &(struct jos_limits){.max_depth = 1000}, 0, &m, &err), 0);
    jos_msg_free(m);
    free(p);
}

T_TEST(hostile_arena_limit)
{
    static const char head[] = HDR "\x75" BYTE_ARRAY_DESC "\x00\x00\x20\x00";
    size_t len = sizeof(head) - 1 + 8192;
    uint8_t *p = calloc(1, len);
    struct jos_msg *m = NULL;
    struct ag_err err = {0};

    memcpy(p, head, sizeof(head) - 1);
    T_EQ_INT(jos_decode(p, len, &tiny_arena, 0, &m, &err), AG_ELIMIT);
    T_CHECK(strstr(err.msg, "exceeds limit 4096") != NULL);
    /* Borrowing the input needs no copy, so the same stream fits. */
    T_EQ_INT(jos_decode(p, len, &tiny_arena, JOS_DEC_BORROW, &m, &err), 0);
    if (m != NULL) {
        T_CHECK(m->top.items[0]->u.arr.raw == p + sizeof(head) - 1);
    }
    jos_msg_free(m);
    free(p);
}

T_TEST(mutf8_roundtrip)
{
    /* U+0000, U+07FF, U+FFFF, a pair (U+1F600), a lone high and a lone low surrogate */
    static const uint8_t s[] = HDR "\x74\x00\x14\xc0\x80\xdf\xbf\xef\xbf\xbf\xed\xa0\xbd\xed\xb8\x80"
                                   "\xed\xa0\x80!\xed\xb0\x80";
    struct jos_msg *m = NULL;
    struct ag_err err = {0};
    struct ag_buf b;

    T_EQ_INT(jos_decode(s, sizeof(s) - 1, NULL, 0, &m, &err), 0);
    if (m == NULL) {
        return;
    }
    /* lone surrogates stay 3-byte sequences (generalized UTF-8), so the round trip is exact */
    T_EQ_MEM(m->top.items[0]->u.str.s, m->top.items[0]->u.str.len,
             "\x00\xdf\xbf\xef\xbf\xbf\xf0\x9f\x98\x80\xed\xa0\x80!\xed\xb0\x80", 17);
    ag_buf_init(&b, 1024);
    T_EQ_INT(jos_encode(&b, m->top.items, m->top.n, &err), 0);
    T_EQ_MEM(b.data, b.len, s, sizeof(s) - 1);
    ag_buf_fini(&b);
    jos_msg_free(m);
}

/* Valid but unusual streams: they decode, dump, and re-encode to the same bytes. */
static const struct vec weird[] = {
    V("object of a descriptor inside its own annotation",
      HDR "\x73\x72\x00\x01" "A" SUID1 "\x02\x00\x01" "I\x00\x01x"
          "\x73\x71\x00\x7e\x00\x00\x00\x00\x00\x07" "\x78\x70\x00\x00\x00\x09",
      NULL, 0, ""),
    V("array containing itself", HDR "\x75" OBJ_ARRAY_DESC "\x00\x00\x00\x02\x71\x00\x7e\x00\x01\x70",
      NULL, 0, ""),
    V("descriptor as a value, then a reference to it",
      HDR "\x72\x00\x01" "A" SUID1 "\x02\x00\x00\x78\x70\x76\x71\x00\x7e\x00\x00", NULL, 0, ""),
    V("proxy class value", HDR "\x76\x7d\x00\x00\x00\x01\x00\x01" "I" "\x78\x70", NULL, 0, ""),
    V("blocks, reset and null at top level",
      HDR "\x77\x02\x01\x02\x7a\x00\x00\x01\x00" "0123456789abcdef0123456789abcdef0123456789abcdef"
          "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
          "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
          "0123456789abcdef0123456789abcdef0123456789abcdef" "\x79\x70\x74\x00\x00",
      NULL, 0, ""),
    V("annotation with objects and blocks",
      HDR "\x73\x72\x00\x01" "A" SUID1 "\x03\x00\x00\x77\x04\xff\xff\xff\xfd\x74\x00\x01" "s\x70\x78\x70"
          "\x77\x01\x05\x71\x00\x7e\x00\x01\x78",
      NULL, 0, ""),
    V("externalizable with block data",
      HDR "\x73\x72\x00\x01" "E" SUID1 "\x0c\x00\x00\x78\x70\x77\x01\x2a\x70\x78", NULL, 0, ""),
};

T_TEST(weird_but_valid)
{
    for (size_t i = 0; i < AG_ARRAY_LEN(weird); i++) {
        const struct vec *v = &weird[i];
        struct jos_msg *m = NULL;
        struct ag_err err = {0};
        struct ag_buf b;
        int rc = jos_decode((const uint8_t *)v->bytes, v->len, v->lim, 0, &m, &err);

        if (rc != 0) {
            (void)fprintf(stderr, "vector \"%s\": %s\n", v->name, err.msg);
        }
        T_EQ_INT(rc, 0);
        if (m == NULL) {
            continue;
        }
        ag_buf_init(&b, 1 << 20);
        T_EQ_INT(jos_dump(&b, m, &m->top, NULL), 0);
        ag_buf_reset(&b);
        T_EQ_INT(jos_encode(&b, m->top.items, m->top.n, &err), 0);
        if (b.len != v->len || memcmp(b.data, v->bytes, v->len) != 0) {
            (void)fprintf(stderr, "vector \"%s\": re-encoding differs\n", v->name);
        }
        T_EQ_MEM(b.data, b.len, v->bytes, v->len);
        ag_buf_fini(&b);
        jos_msg_free(m);
    }
}

T_MAIN(T_CASE(hostile_vectors), T_CASE(weird_but_valid), T_CASE(hostile_depth), T_CASE(hostile_arena_limit),
       T_CASE(mutf8_roundtrip))
