/*
 * compiler.h: the few compiler features we use beyond C11, wrapped in macros.
 *
 * Every file may include this; nothing here has state.
 */
#ifndef AG_CORE_COMPILER_H
#define AG_CORE_COMPILER_H

#include <stddef.h>

#if defined(__GNUC__) || defined(__clang__)
#define AG_MUST_CHECK      __attribute__((warn_unused_result))
#define AG_PRINTF(fmt, va) __attribute__((format(printf, fmt, va)))
#define AG_NORETURN        __attribute__((noreturn))
#define AG_UNUSED          __attribute__((unused))
#define AG_LIKELY(x)       __builtin_expect(!!(x), 1)
#define AG_UNLIKELY(x)     __builtin_expect(!!(x), 0)
#else
#define AG_MUST_CHECK
#define AG_PRINTF(fmt, va)
#define AG_NORETURN
#define AG_UNUSED
#define AG_LIKELY(x)   (x)
#define AG_UNLIKELY(x) (x)
#endif

#define AG_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* container_of: recover the owner of an embedded member (libuv handles, list links). */
#define AG_CONTAINER_OF(ptr, type, member) ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* AG_ASSERT aborts in every build. Only for states no input can reach (STYLE.md section 4). */
#define AG_ASSERT(x)                                                                              \
    do {                                                                                          \
        if (AG_UNLIKELY(!(x))) {                                                                  \
            ag_assert_fail(#x, __FILE__, __LINE__);                                               \
        }                                                                                         \
    } while (0)

AG_NORETURN void ag_assert_fail(const char *expr, const char *file, int line);

#endif
