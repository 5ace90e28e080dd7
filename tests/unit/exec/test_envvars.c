/*
 * test_envvars.c: hudson.EnvVars semantics. Every case names the Java behaviour it mirrors
 * (core hudson/EnvVars.java, hudson/Util.java, hudson/Launcher.java, and the vectors of
 * core/src/test/java/hudson/EnvVarsTest.java at ff9430ee1d).
 */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "envvars.h"
#include "envvars_int.h"
#include "err.h"
#include "harness.h"

/* Build a map from "K=V" strings with put (new EnvVars(); put(k, v) ...). NULL-terminated. */
static struct exec_env *
mk(const char *const *kv)
{
    struct exec_env *e = NULL;

    if (exec_env_new(&e) != 0) {
        return NULL;
    }
    for (size_t i = 0; kv != NULL && kv[i] != NULL; i++) {
        const char *eq = strchr(kv[i], '=');

        if (exec_env_putn(e, kv[i], (size_t)(eq - kv[i]), eq + 1, strlen(eq + 1)) != 0) {
            exec_env_free(e);
            return NULL;
        }
    }
    return e;
}

/* The map as "K=V;K=V" in map order. */
static void
dump(const struct exec_env *e, char *out, size_t size)
{
    size_t used = 0;

    out[0] = '\0';
    for (size_t i = 0; i < exec_env_count(e); i++) {
        const char *k = NULL;
        const char *v = NULL;
        size_t kl = 0;
        size_t vl = 0;

        exec_env_at(e, i, &k, &v);
        kl = strlen(k);
        vl = strlen(v);
        if (used + kl + vl + 3 > size) {
            return;
        }
        if (used > 0) {
            out[used++] = ';';
        }
        memcpy(out + used, k, kl);
        used += kl;
        out[used++] = '=';
        memcpy(out + used, v, vl);
        used += vl;
        out[used] = '\0';
    }
}

T_TEST(test_case_insensitive_map)
{
    /* EnvVarsTest.caseInsensitive: new EnvVars(Map.of("Path", "A:B:C")).get("PATH"). */
    static const char *const kv[] = {"Path=A:B:C", NULL};
    struct exec_env *e = mk(kv);
    char buf[256];

    T_CHECK(e != NULL);
    T_EQ_STR(exec_env_get(e, "PATH"), "A:B:C");
    T_EQ_STR(exec_env_get(e, "path"), "A:B:C");
    /* TreeMap.put on an existing key keeps the first spelling and replaces the value. */
    T_EQ_INT(exec_env_put(e, "PATH", "x"), 0);
    dump(e, buf, sizeof(buf));
    T_EQ_STR(buf, "Path=x");
    /* remove, then put: the new spelling. */
    exec_env_remove(e, "pATH");
    T_EQ_INT(exec_env_count(e), 0);
    T_EQ_INT(exec_env_put(e, "PATH", "y"), 0);
    dump(e, buf, sizeof(buf));
    T_EQ_STR(buf, "PATH=y");
    exec_env_free(e);
}

T_TEST(test_order_is_case_insensitive_order)
{
    /* String.CASE_INSENSITIVE_ORDER folds to lower case, so '_' (0x5f) < 'a' (0x61), and a
     * prefix sorts first; Util.mapToEnv writes the entries in that order. */
    static const char *const kv[] = {"b=1", "AB=2", "a_b=3", "A=4", "_x=5", "B2=6", NULL};
    struct exec_env *e = mk(kv);
    char buf[256];
    char **envp = NULL;

    T_CHECK(e != NULL);
    dump(e, buf, sizeof(buf));
    T_EQ_STR(buf, "_x=5;A=4;a_b=3;AB=2;b=1;B2=6");
    T_EQ_INT(exec_env_to_envp(e, &envp), 0);
    T_EQ_STR(envp[0], "_x=5");
    T_EQ_STR(envp[5], "B2=6");
    T_CHECK(envp[6] == NULL);
    ag_free(envp);
    exec_env_free(e);
}

struct override_case {
    const char *name; /* the Java behaviour */
    const char *const start[4];
    const char *key;
    const char *value; /* NULL: override(key, null) */
    const char *want;
};

static const struct override_case override_cases[] = {
    {"override: plain key is put", {"A=1", NULL}, "B", "2", "A=1;B=2"},
    {"override: existing key (any case) keeps its spelling",
     {"Path=/a", NULL},
     "PATH",
     "/b",
     "Path=/b"},
    {"override: empty value removes the key", {"A=1", "B=2", NULL}, "a", "", "B=2"},
    {"override: null value removes the key", {"A=1", NULL}, "A", NULL, ""},
    {"override: PATH+XYZ prepends with File.pathSeparatorChar",
     {"PATH=/usr/bin", NULL},
     "PATH+MAVEN",
     "/opt/m/bin",
     "PATH=/opt/m/bin:/usr/bin"},
    {"override: PATH+XYZ sets PATH when unset", {"A=1", NULL}, "PATH+X", "/x", "A=1;PATH=/x"},
    {"override: X+Y finds X in any case and keeps its spelling",
     {"Path=/b", NULL},
     "path+z",
     "/z",
     "Path=/z:/b"},
    {"override: '+' at index 0 is an ordinary key (indexOf('+') > 0)",
     {"A=1", NULL},
     "+X",
     "v",
     "+X=v;A=1"},
    {"override: only the first '+' splits", {"A=1", NULL}, "A+B+C", "v", "A=v:1"},
    {"override: X+Y with empty value removes X+Y (not X)", {"A=1", NULL}, "A+B", "", "A=1"},
};

T_TEST(test_override_table)
{
    for (size_t i = 0; i < sizeof(override_cases) / sizeof(override_cases[0]); i++) {
        const struct override_case *c = &override_cases[i];
        struct exec_env *e = mk(c->start);
        char buf[256];

        T_CHECK(e != NULL);
        T_EQ_INT(exec_env_override(e, c->key, c->value), 0);
        dump(e, buf, sizeof(buf));
        if (strcmp(buf, c->want) != 0) {
            fprintf(stderr, "case: %s\n", c->name);
        }
        T_EQ_STR(buf, c->want);
        exec_env_free(e);
    }
}

struct expand_case {
    const char *name;
    const char *in;
    const char *want;
};

/* Util.replaceMacro with VARIABLE = \$([A-Za-z0-9_]+|\{[A-Za-z0-9_.]+\}|\$), resolving against
 * {A=1, B=x, C=$A, A.B=dot, E=} through EnvVars.get (case-insensitive). */
static const struct expand_case expand_cases[] = {
    {"$NAME", "$A", "1"},
    {"${NAME}", "${A}", "1"},
    {"lookup is case-insensitive (EnvVars.get)", "$a-${b}", "1-x"},
    {"undefined $NAME stays as is", "$UNDEF", "$UNDEF"},
    {"undefined ${NAME} stays as is", "${UNDEF}", "${UNDEF}"},
    {"the name is the longest [A-Za-z0-9_]+ run", "$A_B$A", "$A_B1"},
    {"'.' only inside braces", "${A.B} $A.B", "dot 1.B"},
    {"$$ is a literal $", "$$A", "$A"},
    {"$$$A: $ then $A", "$$$A", "$1"},
    {"lone $ at the end", "x$", "x$"},
    {"$ before a non-name character", "$-$ $/", "$-$ $/"},
    {"empty braces do not match", "${}", "${}"},
    {"unclosed brace does not match", "${A", "${A"},
    {"inserted text is not scanned again", "$C", "$A"},
    {"defined but empty value", "[$E]", "[]"},
    {"text around", "pre${A}post$B.", "pre1postx."},
    {"no $ at all", "plain text", "plain text"},
    {"bytes >= 0x80 pass through", "\xc3\xa9$A\xff",
     "\xc3\xa9"
     "1\xff"},
};

T_TEST(test_expand_table)
{
    static const char *const kv[] = {"A=1", "B=x", "C=$A", "A.B=dot", "E=", NULL};
    struct exec_env *e = mk(kv);

    T_CHECK(e != NULL);
    for (size_t i = 0; i < sizeof(expand_cases) / sizeof(expand_cases[0]); i++) {
        char *out = NULL;

        T_EQ_INT(exec_env_expand(e, expand_cases[i].in, &out), 0);
        if (out == NULL || strcmp(out, expand_cases[i].want) != 0) {
            fprintf(stderr, "case: %s\n", expand_cases[i].name);
        }
        T_EQ_STR(out, expand_cases[i].want);
        ag_free(out);
    }
    exec_env_free(e);
}

struct order_case {
    const char *name;
    const char *const target[4];
    const char *const overrides[8];
    const char *want; /* names joined with ',' */
};

static const struct order_case order_cases[] = {
    {"EnvVarsTest.overrideOrderCalculatorSimple",
     {NULL},
     {"A=NoReference", "A+B=NoReference", "B=Refer1${A}", "C=Refer2${B}", "D=Refer3${B}${Nosuch}",
      NULL},
     "A,B,C,D,A+B"},
    {"EnvVarsTest.overrideOrderCalculatorInOrder",
     {NULL},
     {"A=NoReference", "B=${A}", "C=${B}", "D=${E}", "E=${C}", NULL},
     "A,B,C,E,D"},
    {"EnvVarsTest.overrideOrderCalculatorMultiple",
     {NULL},
     {"A=Noreference", "B=${A}", "C=${A}${B}", NULL},
     "A,B,C"},
    {"EnvVarsTest.overrideOrderCalculatorSelfReference",
     {NULL},
     {"PATH=some;${PATH}", NULL},
     "PATH"},
    /* overrideOrderCalculatorCyclic: B, A, C first; then D and E in any order (Java's HashSet
     * check). Our order is the one Java's TreeMap/TreeSet iteration gives: D before E. */
    {"EnvVarsTest.overrideOrderCalculatorCyclic",
     {"C=Existing", NULL},
     {"A=${B}", "B=${C}", "C=${A}", "D=${C}${E}", "E=${C}${D}", NULL},
     "B,A,C,E,D"},
    {"a reference in another spelling is a second node (case-sensitive HashSet and List)",
     {NULL},
     {"A=$path", "PATH=/x", NULL},
     "path,A,PATH"},
};

T_TEST(test_override_order_table)
{
    for (size_t i = 0; i < sizeof(order_cases) / sizeof(order_cases[0]); i++) {
        const struct order_case *c = &order_cases[i];
        struct exec_env *t = mk(c->target);
        struct exec_env *o = mk(c->overrides);
        struct ag_err err = {0};
        char **names = NULL;
        size_t n = 0;
        char buf[256] = "";
        size_t used = 0;

        T_CHECK(t != NULL && o != NULL);
        T_EQ_INT(exec__env_override_order(t, o, &names, &n, &err), 0);
        for (size_t k = 0; names != NULL && k < n; k++) {
            size_t l = strlen(names[k]);

            if (used + l + 2 < sizeof(buf)) {
                if (used > 0) {
                    buf[used++] = ',';
                }
                memcpy(buf + used, names[k], l);
                used += l;
                buf[used] = '\0';
            }
        }
        if (strcmp(buf, c->want) != 0) {
            fprintf(stderr, "case: %s\n", c->name);
        }
        T_EQ_STR(buf, c->want);
        ag_free(names);
        exec_env_free(t);
        exec_env_free(o);
    }
}

struct oea_case {
    const char *name;
    const char *const target[4];
    const char *const overrides[8];
    const char *key;
    const char *want; /* value of key afterwards, NULL for absent */
};

static const struct oea_case oea_cases[] = {
    {"EnvVarsTest.overrideExpandingAll: C",
     {"PATH=orig", "A=Value1", NULL},
     {"PATH=append:${PATH}", "B=${A}Value2", "C=${B}${D}", "D=${E}", "E=Value3",
      "PATH+TEST=another", NULL},
     "C",
     "Value1Value2Value3"},
    {"EnvVarsTest.overrideExpandingAll: PATH",
     {"PATH=orig", "A=Value1", NULL},
     {"PATH=append:${PATH}", "B=${A}Value2", "C=${B}${D}", "D=${E}", "E=Value3",
      "PATH+TEST=another", NULL},
     "PATH",
     "another:append:orig"},
    {"X+Y keys apply last, in map order",
     {"PATH=/usr/bin", NULL},
     {"PATH+B=/b", "PATH+A=/a", NULL},
     "PATH",
     "/b:/a:/usr/bin"},
    {"an override to empty removes the variable, so references to it stay as they are",
     {"GONE=1", NULL},
     {"GONE=${NOTHING_HERE_EMPTY}", "NOTHING_HERE_EMPTY=", NULL},
     "GONE",
     "${NOTHING_HERE_EMPTY}"},
    {"referenced value is overridden first", {NULL}, {"A=${B}-a", "B=b", NULL}, "A", "b-a"},
    {"an empty override removes an inherited variable",
     {"SECRET=1", NULL},
     {"SECRET=", NULL},
     "SECRET",
     NULL},
    {"$path referencing PATH overrides PATH twice, as Java does",
     {"PATH=/usr/bin", NULL},
     {"A=$path", "PATH=/x:$PATH", NULL},
     "PATH",
     "/x:/x:/usr/bin"},
};

T_TEST(test_override_expanding_all_table)
{
    for (size_t i = 0; i < sizeof(oea_cases) / sizeof(oea_cases[0]); i++) {
        const struct oea_case *c = &oea_cases[i];
        struct exec_env *t = mk(c->target);
        struct exec_env *o = mk(c->overrides);
        struct ag_err err = {0};
        const char *got = NULL;

        T_CHECK(t != NULL && o != NULL);
        T_EQ_INT(exec_env_override_expanding_all(t, o, &err), 0);
        got = exec_env_get(t, c->key);
        if (got == NULL ? c->want != NULL : c->want == NULL || strcmp(got, c->want) != 0) {
            fprintf(stderr, "case: %s\n", c->name);
        }
        T_EQ_STR(got, c->want);
        exec_env_free(t);
        exec_env_free(o);
    }
}

T_TEST(test_launch_pairs_and_lines)
{
    struct exec_env *e = NULL;
    struct ag_err err = {0};
    static const char *const envp[] = {"X=1", "noequals", "X=2", "Y==a=b", "=empty", NULL};

    T_EQ_INT(exec_env_new(&e), 0);
    /* Launcher.inherit(String[]): split at the first '='; later values win (put). */
    T_EQ_INT(exec_env_add_launch_pair(e, "K=v=w", 5, &err), 0);
    T_EQ_STR(exec_env_get(e, "K"), "v=w");
    T_EQ_INT(exec_env_add_launch_pair(e, "k=2", 3, &err), 0);
    T_EQ_STR(exec_env_get(e, "K"), "2");
    /* No '=': Java's substring(0, -1) throws; we refuse the element. */
    T_EQ_INT(exec_env_add_launch_pair(e, "BROKEN", 6, &err), AG_EPROTO);
    T_CHECK(strstr(err.msg, "no '='") != NULL);
    /* EnvVars.addLine: only sep > 0. */
    T_EQ_INT(exec_env_add_line(e, "=x", 2), 0);
    T_CHECK(exec_env_get(e, "") == NULL);
    T_EQ_INT(exec_env_add_line(e, "L=1", 3), 0);
    T_EQ_STR(exec_env_get(e, "l"), "1");
    exec_env_free(e);

    /* ProcessEnvironment: entries without '=' skipped, the first of two identical names wins. */
    T_EQ_INT(exec_env_new(&e), 0);
    T_EQ_INT(exec_env_load_envp(e, (char *const *)envp), 0);
    T_EQ_STR(exec_env_get(e, "X"), "1");
    T_EQ_STR(exec_env_get(e, "Y"), "=a=b");
    T_CHECK(exec_env_get(e, "noequals") == NULL);
    exec_env_free(e);
}

static const char *
on_resolve_null(const char *name, size_t len, void *arg)
{
    (void)name;
    (void)len;
    return arg;
}

T_TEST(test_limits)
{
    struct exec_env *e = NULL;
    struct exec_env *o = NULL;
    struct ag_err err = {0};
    char *big = NULL;
    char *out = NULL;
    char name[32];
    int rc = 0;

    /* Expansion growth is capped: 1 KiB value referenced 2048 times > 1 MiB. */
    big = malloc(1025);
    T_CHECK(big != NULL);
    memset(big, 'v', 1024);
    big[1024] = '\0';
    {
        char *refs = malloc(2048 * 2 + 1);

        T_CHECK(refs != NULL);
        for (size_t i = 0; i < 2048; i++) {
            refs[2 * i] = '$';
            refs[2 * i + 1] = 'V';
        }
        refs[4096] = '\0';
        T_EQ_INT(exec_env_replace_macro(refs, on_resolve_null, big, &out), AG_ELIMIT);
        T_CHECK(out == NULL);
        free(refs);
    }
    free(big);

    /* Doubling chain A1=$A0$A0, ... grows past the cap and fails cleanly. */
    T_EQ_INT(exec_env_new(&e), 0);
    T_EQ_INT(exec_env_new(&o), 0);
    T_EQ_INT(exec_env_put(o, "A0", "xxxxxxxxxxxxxxxx"), 0);
    for (int i = 1; i < 40; i++) {
        char val[64];

        (void)snprintf(name, sizeof(name), "A%d", i);
        (void)snprintf(val, sizeof(val), "$A%d$A%d", i - 1, i - 1);
        T_EQ_INT(exec_env_put(o, name, val), 0);
    }
    rc = exec_env_override_expanding_all(e, o, &err);
    T_EQ_INT(rc, AG_ELIMIT);
    T_CHECK(strstr(err.msg, "exceeds") != NULL);
    exec_env_free(e);
    exec_env_free(o);

    /* Entry cap. */
    T_EQ_INT(exec_env_new(&e), 0);
    for (int i = 0; i < EXEC_ENV_MAX_ENTRIES; i++) {
        (void)snprintf(name, sizeof(name), "V%d", i);
        rc = exec_env_put(e, name, "1");
        if (rc != 0) {
            break;
        }
    }
    T_EQ_INT(rc, 0);
    T_EQ_INT(exec_env_put(e, "ONE_MORE", "1"), AG_ELIMIT);
    T_EQ_INT(exec_env_count(e), EXEC_ENV_MAX_ENTRIES);
    exec_env_free(e);
}

T_TEST(test_alloc_failure_sweep)
{
    /* Every allocation of overrideExpandingAll may fail; nothing leaks or crashes. */
    static const char *const tk[] = {"PATH=/usr/bin", "C=Existing", NULL};
    static const char *const ok[] = {"A=${B}", "B=${C}", "C=${A}", "PATH+X=/x", "D=$path", NULL};

    for (uint64_t n = 1; n < 400; n++) {
        struct exec_env *t = mk(tk);
        struct exec_env *o = mk(ok);
        struct ag_err err = {0};
        int rc = 0;

        T_CHECK(t != NULL && o != NULL);
        ag_alloc_fail_after(n);
        rc = exec_env_override_expanding_all(t, o, &err);
        ag_alloc_fail_after(0);
        T_CHECK(rc == 0 || rc == AG_ENOMEM);
        exec_env_free(t);
        exec_env_free(o);
        if (rc == 0) {
            break;
        }
    }
}

T_TEST(test_cookie)
{
    /* EnvVars.createCookie: UUID.randomUUID().toString(), e.g.
     * 3b241101-e2bb-4255-8caf-4136c566a962 (version 4, variant 10xx, lower-case hex). */
    char a[EXEC_ENV_COOKIE_LEN + 1];
    char b[EXEC_ENV_COOKIE_LEN + 1];

    T_EQ_INT(exec_env_make_cookie(a), 0);
    T_EQ_INT(exec_env_make_cookie(b), 0);
    T_EQ_INT(strlen(a), 36);
    T_CHECK(a[8] == '-' && a[13] == '-' && a[18] == '-' && a[23] == '-');
    T_CHECK(a[14] == '4');
    T_CHECK(strchr("89ab", a[19]) != NULL);
    T_CHECK(strcmp(a, b) != 0);
}

T_TEST(test_inherit)
{
    /* Launcher.inherit(String[]): masterEnvVars overridden by the callable's env array, with
     * expansion against the agent's own variables and PATH+X prepending. */
    static const char *const base_kv[] = {"PATH=/usr/bin:/bin", "HOME=/home/agent", "LANG=C", NULL};
    const char *env[] = {"WORKSPACE=${HOME}/ws",
                         "PATH+JDK=/opt/jdk/bin",
                         "LANG=",
                         "Home=/h",
                         "BUILD_TAG=jenkins-$JOB-1",
                         "JOB=x"};
    size_t lens[6];
    struct exec_env *base = mk(base_kv);
    struct exec_env *out = NULL;
    struct ag_err err = {0};
    const char *bad[] = {"A=1", "B"};
    size_t badlens[] = {3, 1};

    for (size_t i = 0; i < 6; i++) {
        lens[i] = strlen(env[i]);
    }
    T_CHECK(base != NULL);
    T_EQ_INT(exec_env_inherit(base, env, lens, 6, &out, &err), 0);
    /* HOME is overridden first (WORKSPACE refers to it), keeping its spelling "HOME". */
    T_EQ_STR(exec_env_get(out, "WORKSPACE"), "/h/ws");
    T_EQ_STR(exec_env_get(out, "HOME"), "/h");
    T_EQ_STR(exec_env_get(out, "PATH"), "/opt/jdk/bin:/usr/bin:/bin");
    T_CHECK(exec_env_get(out, "LANG") == NULL);
    T_EQ_STR(exec_env_get(out, "BUILD_TAG"), "jenkins-x-1");
    T_EQ_STR(exec_env_get(base, "PATH"), "/usr/bin:/bin"); /* base untouched */
    exec_env_free(out);
    out = NULL;
    T_EQ_INT(exec_env_inherit(base, bad, badlens, 2, &out, &err), AG_EPROTO);
    T_EQ_STR(err.msg, "env[1] of 1 bytes has no '='");
    T_CHECK(out == NULL);
    exec_env_free(base);
}

T_MAIN(T_CASE(test_cookie), T_CASE(test_inherit), T_CASE(test_case_insensitive_map),
       T_CASE(test_order_is_case_insensitive_order), T_CASE(test_override_table),
       T_CASE(test_expand_table), T_CASE(test_override_order_table),
       T_CASE(test_override_expanding_all_table), T_CASE(test_launch_pairs_and_lines),
       T_CASE(test_limits), T_CASE(test_alloc_failure_sweep))
