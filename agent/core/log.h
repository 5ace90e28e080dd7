/*
 * log.h: one line per event on stderr, in a form users of agent.jar already grep:
 *
 *     2026-11-27T12:00:00.123Z conn INFO: Connected
 *     2026-11-27T12:00:01.456Z proto WARNING: array length 2147483647 exceeds limit 65536 ...
 *
 * Level names are java.util.logging's (SEVERE, WARNING, INFO, FINE, FINEST), so `INFO: Connected`
 * and `SEVERE:` match as they do for agent.jar. The configuration is the only mutable global the
 * agent has; it is set up in main() before the loop starts. Emitting a line is thread-safe.
 *
 * Secrets registered with ag_log_add_secret() are replaced by "****" in every line, as a last
 * line of defence: code must still not pass secrets to the logger.
 */
#ifndef AG_CORE_LOG_H
#define AG_CORE_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"

enum ag_log_level {
    AG_LOG_SEVERE = 0,
    AG_LOG_WARNING = 1,
    AG_LOG_INFO = 2,
    AG_LOG_FINE = 3,   /* debug: state transitions, limits hit */
    AG_LOG_FINEST = 4, /* trace: protocol debugging, only through AG_TRACE */
};

/* Components that --trace switches on one by one. */
enum ag_trace_feat {
    AG_TRACE_CHUNK = 0,
    AG_TRACE_JOS = 1,
    AG_TRACE_CHANNEL = 2,
    AG_TRACE_RPC = 3,
    AG_TRACE_PIPE = 4,
    AG_TRACE_TLS = 5,
    AG_TRACE_WS = 6,
    AG_TRACE_HTTP = 7,
    AG_TRACE_CONN = 8,
    AG_TRACE_EXEC = 9,
    AG_TRACE_COUNT = 10,
};

/* A record as handed to sinks (the agent's log ring buffer for the node's Log page). */
struct ag_log_record {
    int64_t millis; /* wall clock, ms since the epoch */
    enum ag_log_level level;
    const char *component;
    const char *message; /* already redacted */
};
typedef void (*ag_log_sink_cb)(const struct ag_log_record *rec, void *arg);

void ag_log_set_level(enum ag_log_level level);
enum ag_log_level ag_log_get_level(void);
/* Parse "chunk,jos,..." or "all"; AG_EUSAGE naming the bad word in *bad (borrowed) on error. */
AG_MUST_CHECK int ag_log_set_trace(const char *list, const char **bad, size_t *bad_len);
bool ag_log_trace_on(enum ag_trace_feat f);
const char *ag_log_trace_name(enum ag_trace_feat f);
/* Write lines to this fd (default 2). */
void ag_log_set_fd(int fd);
/* Also write every line at INFO or above to this fd (-1 turns it off); for workDir logs. */
void ag_log_set_tee_fd(int fd);
/* Extra sinks (at most AG_LOG_MAX_SINKS): each sees every record that is written. Adding the
 * same (cb, arg) twice is a no-op; AG_ELIMIT when all slots are taken. */
#define AG_LOG_MAX_SINKS 4
AG_MUST_CHECK int ag_log_add_sink(ag_log_sink_cb cb, void *arg);
void ag_log_remove_sink(ag_log_sink_cb cb, void *arg);
/* Register a secret to scrub (copied; up to 8 secrets, at least 4 bytes long). */
void ag_log_add_secret(const char *s);
/* Replace each registered secret in buf (NUL-terminated) with "****", in place. */
void ag_log_redact(char *buf);

void ag_log(enum ag_log_level level, const char *component, const char *fmt, ...) AG_PRINTF(3, 4);
bool ag_log_enabled(enum ag_log_level level);

#define AG_LOG_SEVERE(comp, ...) ag_log(AG_LOG_SEVERE, (comp), __VA_ARGS__)
#define AG_LOG_WARN(comp, ...)   ag_log(AG_LOG_WARNING, (comp), __VA_ARGS__)
#define AG_LOG_INFO(comp, ...)   ag_log(AG_LOG_INFO, (comp), __VA_ARGS__)
#define AG_LOG_DEBUG(comp, ...)                                                                    \
    do {                                                                                           \
        if (ag_log_enabled(AG_LOG_FINE)) {                                                         \
            ag_log(AG_LOG_FINE, (comp), __VA_ARGS__);                                              \
        }                                                                                          \
    } while (0)
/* Tests the feature flag before formatting anything. */
#define AG_TRACE(feat, ...)                                                                        \
    do {                                                                                           \
        if (ag_log_trace_on(feat)) {                                                               \
            ag_log(AG_LOG_FINEST, ag_log_trace_name(feat), __VA_ARGS__);                           \
        }                                                                                          \
    } while (0)

#endif
