#include <string.h>

#include "err.h"
#include "harness.h"
#include "log.h"
#include "util.h"

T_TEST(parse_u64)
{
    uint64_t v = 0;

    T_EQ_INT(ag_parse_u64("12345", 5, UINT64_MAX, &v), 0);
    T_EQ_U64(v, 12345);
    T_EQ_INT(ag_parse_u64("18446744073709551615", 20, UINT64_MAX, &v), 0);
    T_EQ_U64(v, UINT64_MAX);
    T_EQ_INT(ag_parse_u64("18446744073709551616", 20, UINT64_MAX, &v), AG_ELIMIT);
    T_EQ_INT(ag_parse_u64("65536", 5, 65535, &v), AG_ELIMIT);
    T_EQ_INT(ag_parse_u64("", 0, 10, &v), AG_EPROTO);
    T_EQ_INT(ag_parse_u64("-1", 2, 10, &v), AG_EPROTO);
    T_EQ_INT(ag_parse_u64("1 ", 2, 10, &v), AG_EPROTO);
}

T_TEST(escape)
{
    char out[64];

    ag_escape(out, sizeof(out), (const uint8_t *)"ab\x01\xff\\", 5, 64);
    T_EQ_STR(out, "ab\\x01\\xff\\x5c");
    ag_escape(out, sizeof(out), (const uint8_t *)"abcdef", 6, 3);
    T_EQ_STR(out, "abc...");
    ag_escape(out, 4, (const uint8_t *)"abcdef", 6, 6);
    T_EQ_STR(out, "abc");
}

T_TEST(strerror_names_both_ranges)
{
    T_EQ_STR(ag_strerror(AG_EPROTO), "protocol error");
    T_CHECK(strstr(ag_strerror(-2), "no such file") != NULL);
}

T_TEST(redact)
{
    char line[128] = "secret=0123456789abcdef and again 0123456789abcdef.";

    ag_log_add_secret("0123456789abcdef");
    ag_log_redact(line);
    T_EQ_STR(line, "secret=**** and again ****.");
}

T_TEST(trace_list)
{
    const char *bad = NULL;
    size_t bad_len = 0;

    T_EQ_INT(ag_log_set_trace("jos,channel", &bad, &bad_len), 0);
    T_CHECK(ag_log_trace_on(AG_TRACE_JOS));
    T_CHECK(ag_log_trace_on(AG_TRACE_CHANNEL));
    T_CHECK(!ag_log_trace_on(AG_TRACE_TLS));
    T_EQ_INT(ag_log_set_trace("jos,bogus", &bad, &bad_len), AG_EUSAGE);
    T_EQ_INT(bad_len, 5);
    T_EQ_MEM(bad, bad_len, "bogus", 5);
    T_EQ_INT(ag_log_set_trace("all", &bad, &bad_len), 0);
    T_CHECK(ag_log_trace_on(AG_TRACE_EXEC));
}

T_MAIN(T_CASE(parse_u64), T_CASE(escape), T_CASE(strerror_names_both_ranges), T_CASE(redact),
       T_CASE(trace_list))
