/*
 * envvars.h: Jenkins' hudson.EnvVars for a native agent.
 *
 * A struct exec_env is a map from variable name to value whose keys compare like Java's
 * String.CASE_INSENSITIVE_ORDER (EnvVars extends TreeMap with that comparator), so "path" and
 * "PATH" are one variable. Like TreeMap.put, replacing the value of an existing key keeps the key
 * as it was first spelled; only a remove followed by a put changes the spelling. Iteration and
 * exec_env_to_envp() follow the map order, which is what Util.mapToEnv gives Java's child.
 *
 * What is mirrored (core hudson/EnvVars.java, hudson/Util.java, hudson/Launcher.java at
 * ff9430ee1d; spec callables.md B.4 step 2 and 3):
 *   exec_env_put / get / remove   TreeMap(CASE_INSENSITIVE_ORDER).put/get/remove
 *   exec_env_add_line             EnvVars.addLine ("K=V", ignored unless '=' is at index > 0)
 *   exec_env_add_launch_pair      Launcher.inherit(String[]): split at the first '=' (required)
 *   exec_env_override             EnvVars.override (empty removes; "X+Y" prepends to X with ':')
 *   exec_env_override_all         EnvVars.overrideAll
 *   exec_env_override_expanding_all  EnvVars.overrideExpandingAll with OverrideOrderCalculator
 *   exec_env_expand               EnvVars.expand = Util.replaceMacro against this map
 *
 * Keys and values are NUL-terminated byte strings (an environment cannot hold NUL). Case folding
 * is ASCII only: bytes >= 0x80 compare by value, which orders UTF-8 like Java orders UTF-16 except
 * for supplementary characters against U+E000..U+FFFF, and does not fold non-ASCII letters.
 *
 * Thread: none of its own; a map is used by one thread at a time. Ownership: the map owns copies of
 * every key and value; pointers returned by get/at stay valid until the next change of the map.
 * Limits: EXEC_ENV_MAX_ENTRIES entries, EXEC_ENV_MAX_BYTES of keys and values in all, and
 * EXEC_ENV_MAX_VALUE bytes for one expanded value; going over returns AG_ELIMIT and leaves the map
 * as it was before that call's failing step.
 */
#ifndef AG_EXEC_ENVVARS_H
#define AG_EXEC_ENVVARS_H

#include <stdbool.h>
#include <stddef.h>

#include "compiler.h"

struct ag_err;

#define EXEC_ENV_MAX_ENTRIES 16384
#define EXEC_ENV_MAX_BYTES (16u * 1024 * 1024)
#define EXEC_ENV_MAX_VALUE (1u * 1024 * 1024)
/* overrideExpandingAll cuts one reference per detected cycle; more cuts than this is AG_ELIMIT. */
#define EXEC_ENV_MAX_CYCLE_CUTS 256

struct exec_env;

/* A new empty map (new EnvVars()). AG_ENOMEM. */
AG_MUST_CHECK int exec_env_new(struct exec_env **out);
void exec_env_free(struct exec_env *env);
/* A deep copy (new EnvVars(Map)). */
AG_MUST_CHECK int exec_env_clone(const struct exec_env *src, struct exec_env **out);

/* Load a C environment (our own `environ` for EnvVars.masterEnvVars). Entries without '=' are
 * skipped and the first of two identical names wins, as in the JDK's ProcessEnvironment. */
AG_MUST_CHECK int exec_env_load_envp(struct exec_env *env, char *const *envp);

size_t exec_env_count(const struct exec_env *env);
/* The i-th entry in map order (i < count); key and value are borrowed. */
void exec_env_at(const struct exec_env *env, size_t i, const char **key, const char **value);
/* The value for key (any case), or NULL. Borrowed. */
const char *exec_env_get(const struct exec_env *env, const char *key);
/* TreeMap.put: a new key is stored as given, an existing key keeps its spelling. */
AG_MUST_CHECK int exec_env_put(struct exec_env *env, const char *key, const char *value);
/* Length-delimited put for callers holding slices (key and value need no NUL). */
AG_MUST_CHECK int exec_env_putn(struct exec_env *env, const char *key, size_t klen,
                                const char *value, size_t vlen);
/* Remove key (any case); absent is fine. */
void exec_env_remove(struct exec_env *env, const char *key);

/* EnvVars.addLine: "K=V" with K non-empty is put; anything else is ignored (returns 0). */
AG_MUST_CHECK int exec_env_add_line(struct exec_env *env, const char *line, size_t len);
/* One element of RemoteLaunchCallable.env as Launcher.inherit(String[]) reads it: split at the
 * first '='. Java throws StringIndexOutOfBoundsException when there is none; we return AG_EPROTO
 * with a message naming the element. */
AG_MUST_CHECK int exec_env_add_launch_pair(struct exec_env *env, const char *kv, size_t len,
                                           struct ag_err *err);

/* EnvVars.override(key, value). value NULL or "" removes key. A '+' at index > 0 makes
 * "X+Y=v" set X to "v:<old X>", or to "v" when X is unset. Otherwise put. */
AG_MUST_CHECK int exec_env_override(struct exec_env *env, const char *key, const char *value);
/* EnvVars.overrideAll: override with every entry of all, in all's order. */
AG_MUST_CHECK int exec_env_override_all(struct exec_env *env, const struct exec_env *all);
/* EnvVars.overrideExpandingAll: order the keys of all so that referenced variables come first
 * (cycles cut the way OverrideOrderCalculator cuts them, X+Y keys last), then for each key
 * override(key, expand(value)) against env as it is at that moment. */
AG_MUST_CHECK int exec_env_override_expanding_all(struct exec_env *env, const struct exec_env *all,
                                                  struct ag_err *err);

/* Launcher.inherit(String[] env): a copy of base (the agent's own environment, masterEnvVars)
 * with the "K=V" elements of env (RemoteLaunchCallable.env, n elements of lens[i] bytes each, no
 * NUL needed) parsed into a case-insensitive overrides map and applied with
 * overrideExpandingAll. *out is a new map; errors as exec_env_add_launch_pair and
 * exec_env_override_expanding_all, with err naming the element or variable. */
AG_MUST_CHECK int exec_env_inherit(const struct exec_env *base, const char *const *env,
                                   const size_t *lens, size_t n, struct exec_env **out,
                                   struct ag_err *err);

/* Util.replaceMacro(s, env): "$NAME" (NAME of [A-Za-z0-9_]) and "${NAME}" (also '.') become the
 * value of NAME when it is defined and stay as they are when it is not; "$$" becomes "$"; the
 * scan continues after inserted text. *out is a new NUL-terminated string (ag_free). */
AG_MUST_CHECK int exec_env_expand(const struct exec_env *env, const char *s, char **out);

/* Resolver form of the same scan, for callers with their own variables. resolve returns the
 * value (borrowed until the next call) or NULL for "undefined". */
typedef const char *(*exec_env_resolve_cb)(const char *name, size_t len, void *arg);
AG_MUST_CHECK int exec_env_replace_macro(const char *s, exec_env_resolve_cb resolve, void *arg,
                                         char **out);

/* A NULL-terminated "K=V" array in map order (Util.mapToEnv), for uv_spawn's env. One block:
 * free it with a single ag_free(*out). */
AG_MUST_CHECK int exec_env_to_envp(const struct exec_env *env, char ***out);

/* EnvVars.createCookie(): a random (version 4) UUID in Java's UUID.toString() form, 36 characters
 * plus NUL, for HUDSON_COOKIE. Reads the kernel's random source (getrandom; never blocks once the
 * system is up). Returns 0 or a UV_E* error. */
#define EXEC_ENV_COOKIE_LEN 36
AG_MUST_CHECK int exec_env_make_cookie(char out[EXEC_ENV_COOKIE_LEN + 1]);

/* Java's String.CASE_INSENSITIVE_ORDER over ASCII-folded bytes: <0, 0, >0. */
int exec_env_key_cmp(const char *a, size_t alen, const char *b, size_t blen);

#endif
