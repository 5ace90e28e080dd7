/*
 * envvars.c: hudson.EnvVars semantics (see envvars.h for what mirrors what).
 *
 * The map is a sorted array searched by binary search: build environments hold a few hundred
 * variables, so inserting with memmove is cheaper than a tree and keeps iteration trivial.
 */
#include "envvars.h"
#include "envvars_int.h"

#include <stdint.h>
#include <string.h>
#include <uv.h>

#include "alloc.h"
#include "buf.h"
#include "err.h"

struct env_ent {
    char *key; /* owned, NUL-terminated */
    size_t klen;
    char *value; /* owned, NUL-terminated */
    size_t vlen;
};

struct exec_env {
    struct env_ent *v; /* owned, sorted by exec_env_key_cmp */
    size_t n;
    size_t cap;
    size_t bytes; /* sum of klen + vlen, capped by EXEC_ENV_MAX_BYTES */
};

static int
fold(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A' + 'a';
    }
    return c;
}

int
exec_env_key_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    /* String.CASE_INSENSITIVE_ORDER: compare toLowerCase(toUpperCase(c)) char by char, then the
     * lengths. For ASCII that is the lower-case letter, so '_' (0x5f) sorts before 'a'. */
    size_t n = alen < blen ? alen : blen;

    for (size_t i = 0; i < n; i++) {
        int ca = fold((unsigned char)a[i]);
        int cb = fold((unsigned char)b[i]);

        if (ca != cb) {
            return ca - cb;
        }
    }
    if (alen == blen) {
        return 0;
    }
    return alen < blen ? -1 : 1;
}

/* Binary search: true when found, *pos is its index; otherwise *pos is the insertion point. */
static bool
env_find(const struct exec_env *env, const char *key, size_t klen, size_t *pos)
{
    size_t lo = 0;
    size_t hi = env->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = exec_env_key_cmp(env->v[mid].key, env->v[mid].klen, key, klen);

        if (c == 0) {
            *pos = mid;
            return true;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    *pos = lo;
    return false;
}

int
exec_env_new(struct exec_env **out)
{
    struct exec_env *env = ag_calloc(1, sizeof(*env));

    if (env == NULL) {
        return AG_ENOMEM;
    }
    *out = env;
    return 0;
}

void
exec_env_free(struct exec_env *env)
{
    if (env == NULL) {
        return;
    }
    for (size_t i = 0; i < env->n; i++) {
        ag_free(env->v[i].key);
        ag_free(env->v[i].value);
    }
    ag_free(env->v);
    ag_free(env);
}

size_t
exec_env_count(const struct exec_env *env)
{
    return env->n;
}

void
exec_env_at(const struct exec_env *env, size_t i, const char **key, const char **value)
{
    AG_ASSERT(i < env->n);
    *key = env->v[i].key;
    *value = env->v[i].value;
}

static const char *
env_getn(const struct exec_env *env, const char *key, size_t klen)
{
    size_t pos = 0;

    if (!env_find(env, key, klen, &pos)) {
        return NULL;
    }
    return env->v[pos].value;
}

const char *
exec_env_get(const struct exec_env *env, const char *key)
{
    return env_getn(env, key, strlen(key));
}

int
exec_env_putn(struct exec_env *env, const char *key, size_t klen, const char *value, size_t vlen)
{
    size_t pos = 0;
    size_t total = 0;
    char *nv = NULL;
    char *nk = NULL;

    if (env_find(env, key, klen, &pos)) {
        /* TreeMap.put on an existing key replaces the value and keeps the key object. */
        struct env_ent *e = &env->v[pos];

        if (!ag_size_add(env->bytes - e->vlen, vlen, &total) || total > EXEC_ENV_MAX_BYTES) {
            return AG_ELIMIT;
        }
        nv = ag_strndup(value, vlen);
        if (nv == NULL) {
            return AG_ENOMEM;
        }
        ag_free(e->value);
        e->value = nv;
        e->vlen = vlen;
        env->bytes = total;
        return 0;
    }
    if (env->n >= EXEC_ENV_MAX_ENTRIES) {
        return AG_ELIMIT;
    }
    if (!ag_size_add(env->bytes, klen, &total) || !ag_size_add(total, vlen, &total) ||
        total > EXEC_ENV_MAX_BYTES) {
        return AG_ELIMIT;
    }
    if (env->n == env->cap) {
        size_t ncap = env->cap == 0 ? 32 : env->cap * 2;
        struct env_ent *nvv = ag_realloc(env->v, ncap * sizeof(*nvv));

        if (nvv == NULL) {
            return AG_ENOMEM;
        }
        env->v = nvv;
        env->cap = ncap;
    }
    nk = ag_strndup(key, klen);
    nv = ag_strndup(value, vlen);
    if (nk == NULL || nv == NULL) {
        ag_free(nk);
        ag_free(nv);
        return AG_ENOMEM;
    }
    memmove(&env->v[pos + 1], &env->v[pos], (env->n - pos) * sizeof(env->v[0]));
    env->v[pos].key = nk;
    env->v[pos].klen = klen;
    env->v[pos].value = nv;
    env->v[pos].vlen = vlen;
    env->n++;
    env->bytes = total;
    return 0;
}

int
exec_env_put(struct exec_env *env, const char *key, const char *value)
{
    return exec_env_putn(env, key, strlen(key), value, strlen(value));
}

static void
env_removen(struct exec_env *env, const char *key, size_t klen)
{
    size_t pos = 0;

    if (!env_find(env, key, klen, &pos)) {
        return;
    }
    env->bytes -= env->v[pos].klen + env->v[pos].vlen;
    ag_free(env->v[pos].key);
    ag_free(env->v[pos].value);
    memmove(&env->v[pos], &env->v[pos + 1], (env->n - pos - 1) * sizeof(env->v[0]));
    env->n--;
}

void
exec_env_remove(struct exec_env *env, const char *key)
{
    env_removen(env, key, strlen(key));
}

int
exec_env_clone(const struct exec_env *src, struct exec_env **out)
{
    struct exec_env *env = NULL;
    int rc = exec_env_new(&env);

    for (size_t i = 0; rc == 0 && i < src->n; i++) {
        rc = exec_env_putn(env, src->v[i].key, src->v[i].klen, src->v[i].value, src->v[i].vlen);
    }
    if (rc != 0) {
        exec_env_free(env);
        return rc;
    }
    *out = env;
    return 0;
}

int
exec_env_load_envp(struct exec_env *env, char *const *envp)
{
    for (size_t i = 0; envp[i] != NULL; i++) {
        const char *eq = strchr(envp[i], '=');
        size_t klen = 0;
        size_t pos = 0;
        int rc = 0;

        if (eq == NULL) {
            continue; /* the JDK skips entries without '=' */
        }
        klen = (size_t)(eq - envp[i]);
        if (env_find(env, envp[i], klen, &pos) && env->v[pos].klen == klen &&
            memcmp(env->v[pos].key, envp[i], klen) == 0) {
            continue; /* the same name twice: the first one wins, as in ProcessEnvironment */
        }
        rc = exec_env_putn(env, envp[i], klen, eq + 1, strlen(eq + 1));
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

int
exec_env_add_line(struct exec_env *env, const char *line, size_t len)
{
    const char *eq = memchr(line, '=', len);

    if (eq == NULL || eq == line) {
        return 0; /* EnvVars.addLine: sep > 0 or nothing */
    }
    return exec_env_putn(env, line, (size_t)(eq - line), eq + 1, len - (size_t)(eq - line) - 1);
}

int
exec_env_add_launch_pair(struct exec_env *env, const char *kv, size_t len, struct ag_err *err)
{
    const char *eq = memchr(kv, '=', len);
    int rc = 0;

    if (eq == NULL) {
        return ag_err_set(err, AG_EPROTO, 0,
                          "environment entry of %zu bytes has no '=' (Java throws "
                          "StringIndexOutOfBoundsException)",
                          len);
    }
    rc = exec_env_putn(env, kv, (size_t)(eq - kv), eq + 1, len - (size_t)(eq - kv) - 1);
    if (rc == AG_ELIMIT) {
        return ag_err_set(err, rc, 0, "environment exceeds %u entries or %u bytes",
                          (unsigned)EXEC_ENV_MAX_ENTRIES, (unsigned)EXEC_ENV_MAX_BYTES);
    }
    return rc;
}

int
exec_env_override(struct exec_env *env, const char *key, const char *value)
{
    const char *plus = strchr(key, '+');
    size_t klen = strlen(key);

    if (value == NULL || value[0] == '\0') {
        env_removen(env, key, klen);
        return 0;
    }
    if (plus != NULL && plus != key) {
        /* PATH+XYZ=v: prepend v to PATH with the path separator (':' on the agent). */
        size_t rlen = (size_t)(plus - key);
        const char *old = env_getn(env, key, rlen);
        struct ag_buf b;
        int rc = 0;

        if (old == NULL) {
            return exec_env_putn(env, key, rlen, value, strlen(value));
        }
        ag_buf_init(&b, EXEC_ENV_MAX_VALUE);
        rc = ag_buf_append(&b, value, strlen(value));
        if (rc == 0) {
            rc = ag_buf_append_u8(&b, ':');
        }
        if (rc == 0) {
            rc = ag_buf_append(&b, old, strlen(old));
        }
        if (rc == 0) {
            rc = exec_env_putn(env, key, rlen, (const char *)b.data, b.len);
        }
        ag_buf_fini(&b);
        return rc;
    }
    return exec_env_putn(env, key, klen, value, strlen(value));
}

int
exec_env_override_all(struct exec_env *env, const struct exec_env *all)
{
    for (size_t i = 0; i < all->n; i++) {
        int rc = exec_env_override(env, all->v[i].key, all->v[i].value);

        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

/* ---- Util.replaceMacro ------------------------------------------------------------------- */

static bool
is_name(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

int
exec_env_replace_macro(const char *s, exec_env_resolve_cb resolve, void *arg, char **out)
{
    /* The VARIABLE pattern \$([A-Za-z0-9_]+|\{[A-Za-z0-9_.]+\}|\$), tried left to right. Java
     * rebuilds the string and resumes after the inserted value; appending the value and resuming
     * after the match in the original is the same thing. */
    size_t n = strlen(s);
    size_t i = 0;
    struct ag_buf b;
    int rc = 0;

    ag_buf_init(&b, EXEC_ENV_MAX_VALUE + 1);
    while (rc == 0 && i < n) {
        const char *d = memchr(s + i, '$', n - i);
        size_t j = 0;
        size_t k = 0;
        size_t name = 0;
        size_t nlen = 0;
        size_t mend = 0;
        bool dollar = false;
        bool match = false;
        const char *v = NULL;

        if (d == NULL) {
            rc = ag_buf_append(&b, s + i, n - i);
            break;
        }
        j = (size_t)(d - s);
        k = j + 1;
        if (k < n && is_name((unsigned char)s[k])) {
            mend = k;
            while (mend < n && is_name((unsigned char)s[mend])) {
                mend++;
            }
            name = k;
            nlen = mend - k;
            match = true;
        } else if (k < n && s[k] == '{') {
            size_t e = k + 1;

            while (e < n && (is_name((unsigned char)s[e]) || s[e] == '.')) {
                e++;
            }
            if (e > k + 1 && e < n && s[e] == '}') {
                name = k + 1;
                nlen = e - k - 1;
                mend = e + 1;
                match = true;
            }
        } else if (k < n && s[k] == '$') {
            dollar = true;
            mend = k + 1;
            match = true;
        }
        if (!match) {
            rc = ag_buf_append(&b, s + i, k - i);
            i = k;
            continue;
        }
        rc = ag_buf_append(&b, s + i, j - i);
        if (rc != 0) {
            break;
        }
        if (dollar) {
            rc = ag_buf_append_u8(&b, '$');
        } else {
            v = resolve(s + name, nlen, arg);
            rc = v == NULL ? ag_buf_append(&b, s + j, mend - j) : ag_buf_append(&b, v, strlen(v));
        }
        i = mend;
    }
    if (rc == 0) {
        rc = ag_buf_append_u8(&b, 0);
    }
    if (rc != 0) {
        ag_buf_fini(&b);
        return rc;
    }
    *out = (char *)ag_buf_steal(&b, &n);
    return 0;
}

static const char *
on_resolve_env(const char *name, size_t len, void *arg)
{
    return env_getn(arg, name, len);
}

int
exec_env_expand(const struct exec_env *env, const char *s, char **out)
{
    return exec_env_replace_macro(s, on_resolve_env, (void *)env, out);
}

/* ---- OverrideOrderCalculator ------------------------------------------------------------ */

/* A set of referenced names: TreeSet(CASE_INSENSITIVE_ORDER), so sorted, deduplicated without
 * regard to case, keeping the first spelling seen. */
struct refset {
    char **names; /* owned array of owned names */
    size_t n;
    size_t cap;
    bool present; /* the key has an entry in refereeSetMap (keys without '+') */
};

struct order_frame {
    const char *node;
    size_t edge; /* next edge to follow */
};

struct order_calc {
    const struct exec_env *target; /* borrowed */
    const struct exec_env *all;    /* borrowed */
    struct refset *sets;           /* owned, one per entry of all */
    const char *self_key;          /* while scanning: the key whose value is scanned */
    size_t self_klen;
    struct refset *cur; /* while scanning: the set being filled */
    int scan_rc;
    /* One run of CyclicGraphDetector. Nodes are strings compared case-sensitively (Java keeps
     * them in HashSets), while edges are looked up case-insensitively (a TreeMap). */
    const char **visited; /* owned array, borrowed strings */
    size_t nvisited;
    size_t cvisited;
    struct order_frame *path; /* owned */
    size_t npath;
    size_t cpath;
    const char **sorted; /* owned array, borrowed strings */
    size_t nsorted;
    size_t csorted;
    const char **order; /* owned array, borrowed strings: getOrderedVariableNames() */
    size_t norder;
};

static int
grow(void *pp, size_t *cap, size_t n, size_t elem)
{
    void **p = pp;
    size_t ncap = 0;
    void *np = NULL;

    if (n < *cap) {
        return 0;
    }
    ncap = *cap == 0 ? 16 : *cap * 2;
    if (!ag_size_mul(ncap, elem, &(size_t){0})) {
        return AG_ELIMIT;
    }
    np = ag_realloc(*p, ncap * elem);
    if (np == NULL) {
        return AG_ENOMEM;
    }
    *p = np;
    *cap = ncap;
    return 0;
}

static const char *
on_resolve_trace(const char *name, size_t len, void *arg)
{
    /* TraceResolver: record the name, answer "". */
    struct order_calc *oc = arg;
    struct refset *rs = oc->cur;
    size_t lo = 0;
    size_t hi = rs->n;
    char *copy = NULL;

    if (oc->scan_rc != 0) {
        return "";
    }
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = exec_env_key_cmp(rs->names[mid], strlen(rs->names[mid]), name, len);

        if (c == 0) {
            return ""; /* TreeSet.add keeps the first spelling */
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    oc->scan_rc = grow(&rs->names, &rs->cap, rs->n, sizeof(rs->names[0]));
    if (oc->scan_rc != 0) {
        return "";
    }
    copy = ag_strndup(name, len);
    if (copy == NULL) {
        oc->scan_rc = AG_ENOMEM;
        return "";
    }
    memmove(&rs->names[lo + 1], &rs->names[lo], (rs->n - lo) * sizeof(rs->names[0]));
    rs->names[lo] = copy;
    rs->n++;
    return "";
}

static bool
refset_remove(struct refset *rs, const char *name)
{
    for (size_t i = 0; i < rs->n; i++) {
        if (exec_env_key_cmp(rs->names[i], strlen(rs->names[i]), name, strlen(name)) == 0) {
            ag_free(rs->names[i]);
            memmove(&rs->names[i], &rs->names[i + 1], (rs->n - i - 1) * sizeof(rs->names[0]));
            rs->n--;
            return true;
        }
    }
    return false;
}

/* refereeSetMap.get(name): the set of the entry of all with that name (any case), or NULL. */
static struct refset *
edges_of(struct order_calc *oc, const char *name)
{
    size_t pos = 0;

    if (!env_find(oc->all, name, strlen(name), &pos) || !oc->sets[pos].present) {
        return NULL;
    }
    return &oc->sets[pos];
}

static bool
in_list(const char **list, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i], s) == 0) {
            return true;
        }
    }
    return false;
}

/* One CyclicGraphDetector.run over every key. Returns 0 when sorted, 1 after cutting a cycle
 * (the caller runs again), or an error. */
static int
order_run(struct order_calc *oc)
{
    int rc = 0;

    oc->nvisited = 0;
    oc->npath = 0;
    oc->nsorted = 0;
    for (size_t r = 0; r < oc->all->n; r++) {
        if (!oc->sets[r].present || in_list(oc->visited, oc->nvisited, oc->all->v[r].key)) {
            continue;
        }
        if ((rc = grow(&oc->visited, &oc->cvisited, oc->nvisited, sizeof(char *))) != 0 ||
            (rc = grow(&oc->path, &oc->cpath, oc->npath, sizeof(oc->path[0]))) != 0) {
            return rc;
        }
        oc->visited[oc->nvisited++] = oc->all->v[r].key;
        oc->path[oc->npath++] = (struct order_frame){oc->all->v[r].key, 0};
        while (oc->npath > 0) {
            struct order_frame *top = &oc->path[oc->npath - 1];
            struct refset *es = edges_of(oc, top->node);

            if (es != NULL && top->edge < es->n) {
                const char *q = es->names[top->edge++];
                size_t at = 0;

                for (at = 0; at < oc->npath; at++) {
                    if (strcmp(oc->path[at].node, q) == 0) {
                        break;
                    }
                }
                if (at < oc->npath) {
                    /* Cycle path[at..] -> q, in referrer-to-referee order (cutCycle). */
                    size_t clen = oc->npath - at + 1;
                    const char *cut = NULL;
                    const char *referrer = NULL;
                    size_t last = 0;

                    for (size_t c = 0; c < clen && cut == NULL; c++) {
                        const char *name = c + at < oc->npath ? oc->path[c + at].node : q;

                        if (exec_env_get(oc->target, name) != NULL) {
                            cut = name;
                        }
                    }
                    if (cut == NULL) {
                        cut = q; /* cycle.getFirst() */
                    }
                    /* refererIndex = cycle.lastIndexOf(cut) - 1 (equals: case-sensitive). */
                    for (size_t c = 0; c < clen; c++) {
                        const char *name = c + at < oc->npath ? oc->path[c + at].node : q;

                        if (strcmp(name, cut) == 0) {
                            last = c;
                        }
                    }
                    if (last == 0) {
                        return AG_EINTERNAL;
                    }
                    referrer = oc->path[at + last - 1].node;
                    es = edges_of(oc, referrer);
                    if (es == NULL) {
                        return AG_EINTERNAL;
                    }
                    /* cut may point into es->names: copy before removing. */
                    {
                        char *cutc = ag_strdup(cut);
                        bool removed = false;

                        if (cutc == NULL) {
                            return AG_ENOMEM;
                        }
                        removed = refset_remove(es, cutc);
                        ag_free(cutc);
                        if (!removed) {
                            return AG_EINTERNAL;
                        }
                    }
                    return 1;
                }
                if (in_list(oc->visited, oc->nvisited, q)) {
                    continue;
                }
                if ((rc = grow(&oc->visited, &oc->cvisited, oc->nvisited, sizeof(char *))) != 0 ||
                    (rc = grow(&oc->path, &oc->cpath, oc->npath, sizeof(oc->path[0]))) != 0) {
                    return rc;
                }
                oc->visited[oc->nvisited++] = q;
                oc->path[oc->npath++] = (struct order_frame){q, 0};
                continue;
            }
            if ((rc = grow(&oc->sorted, &oc->csorted, oc->nsorted, sizeof(char *))) != 0) {
                return rc;
            }
            oc->sorted[oc->nsorted++] = top->node;
            oc->npath--;
        }
    }
    return 0;
}

static void
order_fini(struct order_calc *oc)
{
    if (oc->sets != NULL) {
        for (size_t i = 0; i < oc->all->n; i++) {
            for (size_t j = 0; j < oc->sets[i].n; j++) {
                ag_free(oc->sets[i].names[j]);
            }
            ag_free(oc->sets[i].names);
        }
    }
    ag_free(oc->sets);
    ag_free(oc->visited);
    ag_free(oc->path);
    ag_free(oc->sorted);
    ag_free(oc->order);
}

/* OverrideOrderCalculator: fill oc->order with getOrderedVariableNames(). The names are borrowed
 * from oc and all; they live until order_fini. */
static int
order_compute(struct order_calc *oc, struct ag_err *err)
{
    const struct exec_env *all = oc->all;
    size_t cuts = 0;
    int rc = 0;

    oc->sets = ag_calloc(all->n == 0 ? 1 : all->n, sizeof(oc->sets[0]));
    if (oc->sets == NULL) {
        return AG_ENOMEM;
    }
    /* scan(): the references of every key without '+' at index > 0, self references dropped. */
    for (size_t i = 0; i < all->n; i++) {
        char *ignored = NULL;
        const char *plus = strchr(all->v[i].key, '+');

        if (plus != NULL && plus != all->v[i].key) {
            continue;
        }
        oc->sets[i].present = true;
        oc->cur = &oc->sets[i];
        rc = exec_env_replace_macro(all->v[i].value, on_resolve_trace, oc, &ignored);
        ag_free(ignored);
        if (rc == 0) {
            rc = oc->scan_rc;
        }
        if (rc != 0) {
            return rc;
        }
        (void)refset_remove(&oc->sets[i], all->v[i].key); /* absent is fine */
    }
    while ((rc = order_run(oc)) == 1) {
        if (++cuts > EXEC_ENV_MAX_CYCLE_CUTS) {
            return ag_err_set(err, AG_ELIMIT, 0, "more than %d cyclic variable references",
                              EXEC_ENV_MAX_CYCLE_CUTS);
        }
    }
    if (rc != 0) {
        return rc;
    }
    oc->order = ag_calloc(oc->nsorted + all->n + 1, sizeof(oc->order[0]));
    if (oc->order == NULL) {
        return AG_ENOMEM;
    }
    /* Keep the last appearance of each key of all (case-sensitive list, case-insensitive
     * containsKey), in sorted order; then the X+Y keys in all's order. A key referenced with
     * another spelling ("$path" for PATH) is a second node, so Java overrides it twice; so do we.
     */
    for (size_t s = oc->nsorted; s-- > 0;) {
        const char *k = oc->sorted[s];

        if (exec_env_get(all, k) != NULL && !in_list(oc->order, oc->norder, k)) {
            oc->order[oc->norder++] = k;
        }
    }
    for (size_t a = 0, b = oc->norder; a < b / 2; a++) {
        const char *t = oc->order[a];

        oc->order[a] = oc->order[b - 1 - a];
        oc->order[b - 1 - a] = t;
    }
    for (size_t i = 0; i < all->n; i++) {
        if (!oc->sets[i].present) {
            oc->order[oc->norder++] = all->v[i].key;
        }
    }
    return 0;
}

int
exec__env_override_order(const struct exec_env *env, const struct exec_env *all, char ***out,
                         size_t *n, struct ag_err *err)
{
    struct order_calc oc = {.target = env, .all = all};
    size_t total = 0;
    char **arr = NULL;
    char *p = NULL;
    int rc = order_compute(&oc, err);

    if (rc != 0) {
        goto out;
    }
    total = (oc.norder + 1) * sizeof(char *);
    for (size_t i = 0; i < oc.norder; i++) {
        total += strlen(oc.order[i]) + 1;
    }
    arr = ag_malloc(total);
    if (arr == NULL) {
        rc = AG_ENOMEM;
        goto out;
    }
    p = (char *)(arr + oc.norder + 1);
    for (size_t i = 0; i < oc.norder; i++) {
        size_t l = strlen(oc.order[i]) + 1;

        memcpy(p, oc.order[i], l);
        arr[i] = p;
        p += l;
    }
    arr[oc.norder] = NULL;
    *out = arr;
    *n = oc.norder;
out:
    order_fini(&oc);
    return rc;
}

int
exec_env_override_expanding_all(struct exec_env *env, const struct exec_env *all,
                                struct ag_err *err)
{
    struct order_calc oc = {.target = env, .all = all};
    int rc = order_compute(&oc, err);

    for (size_t i = 0; rc == 0 && i < oc.norder; i++) {
        char *v = NULL;

        rc = exec_env_expand(env, exec_env_get(all, oc.order[i]), &v);
        if (rc == 0) {
            rc = exec_env_override(env, oc.order[i], v);
        }
        ag_free(v);
        if (rc == AG_ELIMIT) {
            (void)ag_err_set(err, rc, 0, "expanding %s exceeds %u bytes per value or %u in all",
                             oc.order[i], (unsigned)EXEC_ENV_MAX_VALUE,
                             (unsigned)EXEC_ENV_MAX_BYTES);
        }
    }
    order_fini(&oc);
    return rc;
}

int
exec_env_inherit(const struct exec_env *base, const char *const *env, const size_t *lens, size_t n,
                 struct exec_env **out, struct ag_err *err)
{
    struct exec_env *m = NULL;
    struct exec_env *over = NULL;
    int rc = exec_env_new(&over);

    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = exec_env_add_launch_pair(over, env[i], lens[i], err);
        if (rc == AG_EPROTO) {
            (void)ag_err_set(err, rc, i, "env[%zu] of %zu bytes has no '='", i, lens[i]);
        }
    }
    if (rc == 0) {
        rc = exec_env_clone(base, &m);
    }
    if (rc == 0) {
        rc = exec_env_override_expanding_all(m, over, err);
    }
    exec_env_free(over);
    if (rc != 0) {
        exec_env_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

int
exec_env_to_envp(const struct exec_env *env, char ***out)
{
    size_t total = 0;
    char **arr = NULL;
    char *p = NULL;

    if (!ag_size_mul(env->n + 1, sizeof(char *), &total) ||
        !ag_size_add(total, env->bytes, &total) || !ag_size_add(total, env->n * 2, &total)) {
        return AG_ELIMIT;
    }
    arr = ag_malloc(total);
    if (arr == NULL) {
        return AG_ENOMEM;
    }
    p = (char *)(arr + env->n + 1);
    for (size_t i = 0; i < env->n; i++) {
        arr[i] = p;
        memcpy(p, env->v[i].key, env->v[i].klen);
        p += env->v[i].klen;
        *p++ = '=';
        memcpy(p, env->v[i].value, env->v[i].vlen);
        p += env->v[i].vlen;
        *p++ = '\0';
    }
    arr[env->n] = NULL;
    AG_ASSERT((size_t)(p - (char *)arr) == total);
    *out = arr;
    return 0;
}

int
exec_env_make_cookie(char out[EXEC_ENV_COOKIE_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t r[16];
    size_t o = 0;
    int rc = uv_random(NULL, NULL, r, sizeof(r), 0, NULL); /* synchronous without a loop */

    if (rc != 0) {
        return rc;
    }
    r[6] = (uint8_t)((r[6] & 0x0f) | 0x40); /* version 4 */
    r[8] = (uint8_t)((r[8] & 0x3f) | 0x80); /* IETF variant */
    for (size_t i = 0; i < sizeof(r); i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            out[o++] = '-';
        }
        out[o++] = hex[r[i] >> 4];
        out[o++] = hex[r[i] & 0x0f];
    }
    out[o] = '\0';
    AG_ASSERT(o == EXEC_ENV_COOKIE_LEN);
    return 0;
}
