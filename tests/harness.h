/*
 * harness.h: the unit-test harness. Each test executable defines its tests with T_TEST and runs
 * them with T_MAIN; a failed check prints both values, file and line, and the run continues with
 * the next test. The exit status is the number of failed tests (capped at 100).
 */
#ifndef AG_TESTS_HARNESS_H
#define AG_TESTS_HARNESS_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

extern int t_failed_checks;

#define T_FAIL_(fmt, ...)                                                                         \
    do {                                                                                          \
        (void)fprintf(stderr, "%s:%d: " fmt "\n", __FILE__, __LINE__, __VA_ARGS__);              \
        t_failed_checks++;                                                                        \
    } while (0)

#define T_CHECK(x)                                                                                \
    do {                                                                                          \
        if (!(x)) {                                                                               \
            T_FAIL_("check failed: %s", #x);                                                      \
        }                                                                                         \
    } while (0)

#define T_EQ_INT(a, b)                                                                            \
    do {                                                                                          \
        long long t_a_ = (long long)(a), t_b_ = (long long)(b);                                   \
        if (t_a_ != t_b_) {                                                                       \
            T_FAIL_("%s == %s: %lld != %lld", #a, #b, t_a_, t_b_);                                \
        }                                                                                         \
    } while (0)

#define T_EQ_U64(a, b)                                                                            \
    do {                                                                                          \
        uint64_t t_a_ = (uint64_t)(a), t_b_ = (uint64_t)(b);                                      \
        if (t_a_ != t_b_) {                                                                       \
            T_FAIL_("%s == %s: %" PRIu64 " != %" PRIu64, #a, #b, t_a_, t_b_);                     \
        }                                                                                         \
    } while (0)

#define T_EQ_STR(a, b)                                                                            \
    do {                                                                                          \
        const char *t_a_ = (a), *t_b_ = (b);                                                      \
        if (t_a_ == NULL || t_b_ == NULL ? t_a_ != t_b_ : strcmp(t_a_, t_b_) != 0) {              \
            T_FAIL_("%s == %s: \"%s\" != \"%s\"", #a, #b, t_a_ ? t_a_ : "(null)",                 \
                    t_b_ ? t_b_ : "(null)");                                                      \
        }                                                                                         \
    } while (0)

#define T_EQ_MEM(a, alen, b, blen)                                                                \
    do {                                                                                          \
        size_t t_al_ = (alen), t_bl_ = (blen);                                                    \
        if (t_al_ != t_bl_ || memcmp((a), (b), t_al_) != 0) {                                     \
            t_dump_mismatch_(__FILE__, __LINE__, #a, (const void *)(a), t_al_, (const void *)(b), \
                             t_bl_);                                                              \
            t_failed_checks++;                                                                    \
        }                                                                                         \
    } while (0)

void t_dump_mismatch_(const char *file, int line, const char *what, const void *a, size_t alen,
                      const void *b, size_t blen);

struct t_case {
    const char *name;
    void (*fn)(void);
};

#define T_TEST(name) static void name(void)

/* Read a whole file into a malloc'd buffer; NULL on error. For tests only. */
uint8_t *t_read_file(const char *path, size_t *len);
/* The source tree and shared/ as configured by CMake (AG_SOURCE_DIR, AG_SHARED_DIR). */
const char *t_source_dir(void);
const char *t_shared_dir(void);

int t_run(const char *suite, const struct t_case *cases, size_t n);

#define T_MAIN(...)                                                                               \
    int main(void)                                                                                \
    {                                                                                             \
        static const struct t_case t_cases_[] = {__VA_ARGS__};                                    \
        return t_run(__FILE__, t_cases_, sizeof(t_cases_) / sizeof(t_cases_[0]));                 \
    }
#define T_CASE(fn) {#fn, fn}

#endif
