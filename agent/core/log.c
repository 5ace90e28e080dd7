#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "err.h"

#define LOG_LINE_MAX   8192
#define LOG_SECRET_MAX 8

/* The logger configuration: the one set of mutable globals (STYLE.md section 12). */
static struct {
    enum ag_log_level level;
    uint32_t trace;
    int fd;
    int tee_fd;
    struct {
        ag_log_sink_cb cb;
        void *arg;
    } sinks[AG_LOG_MAX_SINKS];
    char *secrets[LOG_SECRET_MAX];
    size_t nsecrets;
    pthread_mutex_t lock;
} g_log = {AG_LOG_INFO, 0, 2, -1, {{NULL, NULL}}, {NULL}, 0, PTHREAD_MUTEX_INITIALIZER};

static const char *const trace_names[AG_TRACE_COUNT] = {
    "chunk", "jos", "channel", "rpc", "pipe", "tls", "ws", "http", "conn", "exec",
};

static const char *const level_names[] = {"SEVERE", "WARNING", "INFO", "FINE", "FINEST"};

void
ag_log_set_level(enum ag_log_level level)
{
    g_log.level = level;
}

enum ag_log_level
ag_log_get_level(void)
{
    return g_log.level;
}

bool
ag_log_enabled(enum ag_log_level level)
{
    return level <= g_log.level;
}

int
ag_log_set_trace(const char *list, const char **bad, size_t *bad_len)
{
    uint32_t mask = 0;
    const char *p = list;

    while (*p != '\0') {
        const char *e = strchr(p, ',');
        size_t n = e != NULL ? (size_t)(e - p) : strlen(p);
        bool found = false;

        if (n == 3 && memcmp(p, "all", 3) == 0) {
            mask = (1u << AG_TRACE_COUNT) - 1;
            found = true;
        }
        for (int i = 0; !found && i < AG_TRACE_COUNT; i++) {
            if (strlen(trace_names[i]) == n && memcmp(p, trace_names[i], n) == 0) {
                mask |= 1u << i;
                found = true;
            }
        }
        if (!found) {
            *bad = p;
            *bad_len = n;
            return AG_EUSAGE;
        }
        p += n;
        if (*p == ',') {
            p++;
        }
    }
    g_log.trace = mask;
    if (mask != 0) {
        g_log.level = AG_LOG_FINEST;
    }
    return 0;
}

bool
ag_log_trace_on(enum ag_trace_feat f)
{
    return (g_log.trace >> f & 1u) != 0;
}

const char *
ag_log_trace_name(enum ag_trace_feat f)
{
    return f < AG_TRACE_COUNT ? trace_names[f] : "trace";
}

void
ag_log_set_fd(int fd)
{
    g_log.fd = fd;
}

void
ag_log_set_tee_fd(int fd)
{
    g_log.tee_fd = fd;
}

int
ag_log_add_sink(ag_log_sink_cb cb, void *arg)
{
    int rc = AG_ELIMIT;

    pthread_mutex_lock(&g_log.lock);
    for (size_t i = 0; i < AG_LOG_MAX_SINKS; i++) {
        if (g_log.sinks[i].cb == cb && g_log.sinks[i].arg == arg) {
            rc = 0;
            break;
        }
    }
    for (size_t i = 0; rc != 0 && i < AG_LOG_MAX_SINKS; i++) {
        if (g_log.sinks[i].cb == NULL) {
            g_log.sinks[i].cb = cb;
            g_log.sinks[i].arg = arg;
            rc = 0;
        }
    }
    pthread_mutex_unlock(&g_log.lock);
    return rc;
}

void
ag_log_remove_sink(ag_log_sink_cb cb, void *arg)
{
    pthread_mutex_lock(&g_log.lock);
    for (size_t i = 0; i < AG_LOG_MAX_SINKS; i++) {
        if (g_log.sinks[i].cb == cb && g_log.sinks[i].arg == arg) {
            g_log.sinks[i].cb = NULL;
            g_log.sinks[i].arg = NULL;
        }
    }
    pthread_mutex_unlock(&g_log.lock);
}

void
ag_log_add_secret(const char *s)
{
    size_t n = strlen(s);
    char *copy;

    if (n < 4 || g_log.nsecrets >= LOG_SECRET_MAX) {
        return;
    }
    copy = strdup(s); /* logger state lives for the process: plain strdup, not counted */
    if (copy == NULL) {
        return;
    }
    pthread_mutex_lock(&g_log.lock);
    g_log.secrets[g_log.nsecrets++] = copy;
    pthread_mutex_unlock(&g_log.lock);
}

static void
redact_locked(char *buf)
{
    for (size_t i = 0; i < g_log.nsecrets; i++) {
        const char *s = g_log.secrets[i];
        size_t n = strlen(s);
        char *hit;

        while ((hit = strstr(buf, s)) != NULL) {
            memcpy(hit, "****", 4);
            memmove(hit + 4, hit + n, strlen(hit + n) + 1);
        }
    }
}

void
ag_log_redact(char *buf)
{
    pthread_mutex_lock(&g_log.lock);
    redact_locked(buf);
    pthread_mutex_unlock(&g_log.lock);
}

static void
write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);

        if (w == -1) {
            if (errno == EINTR) {
                continue;
            }
            return; /* nowhere left to report a failing log write */
        }
        p += w;
        n -= (size_t)w;
    }
}

void
ag_log(enum ag_log_level level, const char *component, const char *fmt, ...)
{
    char line[LOG_LINE_MAX];
    struct ag_log_record rec;
    struct timespec ts;
    struct tm tm;
    va_list ap;
    size_t hdr;
    size_t len;
    int n;

    if (level > g_log.level) {
        return;
    }
    (void)clock_gettime(CLOCK_REALTIME, &ts);
    (void)gmtime_r(&ts.tv_sec, &tm);
    n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s: ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 ts.tv_nsec / 1000000L, component, level_names[level]);
    if (n < 0) {
        return;
    }
    hdr = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
    va_start(ap, fmt);
    n = vsnprintf(line + hdr, sizeof(line) - hdr - 1, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return;
    }
    len = strlen(line);
    pthread_mutex_lock(&g_log.lock);
    redact_locked(line + hdr);
    len = strlen(line);
    line[len++] = '\n';
    write_all(g_log.fd, line, len);
    if (g_log.tee_fd >= 0 && level <= AG_LOG_INFO) {
        write_all(g_log.tee_fd, line, len);
    }
    line[len - 1] = '\0';
    rec.millis = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000L;
    rec.level = level;
    rec.component = component;
    rec.message = line + hdr;
    for (size_t i = 0; i < AG_LOG_MAX_SINKS; i++) {
        if (g_log.sinks[i].cb != NULL) {
            g_log.sinks[i].cb(&rec, g_log.sinks[i].arg);
        }
    }
    pthread_mutex_unlock(&g_log.lock);
}
