#include "alloc.h"
#include "buf.h"
#include "err.h"
#include "harness.h"

T_TEST(append_and_consume)
{
    struct ag_buf b;

    ag_buf_init(&b, 1024);
    T_EQ_INT(ag_buf_append(&b, "hello", 5), 0);
    T_EQ_INT(ag_buf_append_be16(&b, 0x0102), 0);
    T_EQ_INT(ag_buf_append_be32(&b, 0x03040506), 0);
    T_EQ_INT(ag_buf_append_be64(&b, 0x0708090a0b0c0d0eULL), 0);
    T_EQ_MEM(b.data, b.len, "hello\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e", 19);
    ag_buf_consume(&b, 5);
    T_EQ_INT(b.len, 14);
    T_EQ_INT(b.data[0], 1);
    ag_buf_fini(&b);
}

T_TEST(cap_is_enforced)
{
    struct ag_buf b;
    uint8_t big[100] = {0};

    ag_buf_init(&b, 150);
    T_EQ_INT(ag_buf_append(&b, big, 100), 0);
    T_EQ_INT(ag_buf_append(&b, big, 51), AG_ELIMIT);
    T_EQ_INT(b.len, 100);
    T_EQ_INT(ag_buf_append(&b, big, 50), 0);
    T_EQ_INT(b.len, 150);
    T_EQ_INT(ag_buf_reserve(&b, SIZE_MAX), AG_ELIMIT);
    ag_buf_fini(&b);
}

T_TEST(printf_grows)
{
    struct ag_buf b;

    ag_buf_init(&b, 1 << 20);
    for (int i = 0; i < 1000; i++) {
        T_EQ_INT(ag_buf_printf(&b, "%d,", i), 0);
    }
    T_CHECK(b.len > 1000);
    T_EQ_MEM(b.data, 6, "0,1,2,", 6);
    ag_buf_fini(&b);
}

T_TEST(allocation_failure_is_reported)
{
    struct ag_buf b;

    ag_buf_init(&b, 1024);
    ag_alloc_fail_after(1);
    T_EQ_INT(ag_buf_append(&b, "x", 1), AG_ENOMEM);
    ag_alloc_fail_after(0);
    T_EQ_INT(ag_buf_append(&b, "x", 1), 0);
    ag_buf_fini(&b);
}

T_MAIN(T_CASE(append_and_consume), T_CASE(cap_is_enforced), T_CASE(printf_grows),
       T_CASE(allocation_failure_is_reported))
