/*
 * callables_int.h: shared only by agent/callables_*.c and agent/filepath.c: the handlers of each
 * file, and small builders of the JDK values the replies are made of (java.lang.Boolean,
 * Integer, Long, TreeMap, LinkedHashMap, ArrayList; shared/spec/callables.md B.0.1).
 *
 * Builders follow jos.h: errors are sticky in the message (m->build_err), a constructor returns
 * NULL after one, and rem_call_return() then fails the call with the builder's error.
 */
#ifndef AG_AGENT_CALLABLES_INT_H
#define AG_AGENT_CALLABLES_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "callables.h"
#include "err.h"
#include "jos.h"
#include "log.h"

#define AGENT_NODE_LOG "node"
/* Limits on what the handlers read from the controller and from the system. */
#define AGENT_NODE_MAX_RING 65536u        /* SlaveInitializer.ringBufferSize */
#define AGENT_NODE_MAX_RECORD_BYTES 4096u /* one log record's message in the ring */
#define AGENT_NODE_MAX_PROPS 4096u        /* entries of a CopySystemProperties snapshot */
#define AGENT_NODE_MAX_ENV 16384u         /* environment variables in a reply */
#define AGENT_NODE_MAX_THREADS 4096u      /* threads in a thread dump */

/* ----- value builders (callables_node.c) ----- */
struct jos_val *agent__new_boolean(struct jos_msg *m, bool v);
struct jos_val *agent__new_integer(struct jos_msg *m, int32_t v);
struct jos_val *agent__new_long(struct jos_msg *m, int64_t v);
/* An object of a serializable class without fields that is not in the class table (e.g.
 * java.lang.String$CaseInsensitiveComparator): flags 0x02, no superclass. */
struct jos_val *agent__new_plain_object(struct jos_msg *m, const char *class_name, int64_t suid);
/* Append n key/value string pairs (in the given order) to a map's custom data: TreeMap writes
 * int size then the pairs; HashMap (and LinkedHashMap) int buckets, int size, then the pairs.
 * map_class names the class whose custom data it is ("java.util.TreeMap", "java.util.HashMap"). */
int agent__map_put_all(struct jos_msg *m, struct jos_val *map, const char *map_class,
                       const char *const *keys, const char *const *vals, size_t n);
/* java.util.TreeMap with comparator null (natural order); keys must already be sorted. */
struct jos_val *agent__new_treemap(struct jos_msg *m, const char *const *keys,
                                   const char *const *vals, size_t n);
/* java.util.LinkedHashMap as new LinkedHashMap<>() followed by n puts. */
struct jos_val *agent__new_linkedhashmap(struct jos_msg *m, const char *const *keys,
                                         const char *const *vals, size_t n);
/* java.util.ArrayList of the n values. */
struct jos_val *agent__new_arraylist(struct jos_msg *m, struct jos_val *const *items, size_t n);

/* Call cb for each entry of a java.util.Map value as Java serializes it (HashMap, LinkedHashMap,
 * Hashtable/Properties, TreeMap, EnvVars, Collections$SingletonMap / EmptyMap, CollSer of
 * Map.of). Returns 0, or AG_EPROTO / AG_ELIMIT (over max entries) with err filled. */
typedef void (*agent__map_cb)(const struct jos_val *k, const struct jos_val *v, void *arg);
AG_MUST_CHECK int agent__map_foreach(const struct jos_val *map, size_t max, agent__map_cb cb,
                                     void *arg, struct ag_err *err);

/* ----- system facts (callables_node.c) ----- */
/* Java's os.arch for uname's machine ("x86_64" -> "amd64"); borrowed (static or from u). */
const char *agent__java_arch(const char *machine);
/* The Java charset name of the locale's codeset (docs/node.md); a static string. */
const char *agent__default_charset(void);
/* java.util.logging.Level name and value of one of our levels. */
const char *agent__jul_name(enum ag_log_level l);
int32_t agent__jul_value(enum ag_log_level l);

/* ----- the log ring buffer (callables_node.c) ----- */
struct agent__log_rec {
    int64_t millis;
    enum ag_log_level level;
    uint64_t seq;
    char component[24];
    char *message; /* owned */
};
/* Copy the ring's records, oldest first, into *out (ag_free each message and the array with
 * agent__log_records_free). AG_ENOMEM. *n 0 when the ring is off. */
AG_MUST_CHECK int agent__log_records(struct agent__log_rec **out, size_t *n);
void agent__log_records_free(struct agent__log_rec *recs, size_t n);

/* ----- handlers ----- */
/* callables_monitors.c (A.2) */
void agent__cb_arch(struct rem_call *call);
void agent__cb_clock(struct rem_call *call);
void agent__cb_swap(struct rem_call *call);
void agent__cb_response_time(struct rem_call *call);
void agent__task_usable_space(struct rem_call *call, const struct jos_val *task, const char *path);
void agent__task_temp_space(struct rem_call *call, const struct jos_val *task, const char *path);
/* callables_pages.c (B.8) */
void agent__cb_system_properties(struct rem_call *call);
void agent__cb_full_environment(struct rem_call *call);
void agent__cb_loading_int(struct rem_call *call);
void agent__cb_loading_long(struct rem_call *call);
void agent__cb_log_fetcher(struct rem_call *call);
void agent__cb_thread_dump(struct rem_call *call);
void agent__cb_script(struct rem_call *call);
void agent__cb_heap_dump(struct rem_call *call);

/* Exposed for unit tests: /proc/meminfo text -> MemoryUsage fields (bytes; -1 when missing). */
struct agent__meminfo {
    int64_t total_phys;
    int64_t avail_phys;
    int64_t total_swap;
    int64_t avail_swap;
};
void agent__parse_meminfo(const char *text, size_t len, struct agent__meminfo *mi);

#endif
