/*
 * fuzz_envvars.c: hudson.EnvVars over controller-supplied environments (RemoteLaunchCallable.env,
 * KillTask.modelEnvVars) and over /proc/<pid>/environ contents.
 *
 * Input: NUL-separated entries. Entries before the first empty entry are the inherited
 * environment (EnvVars.addLine); the rest are launch overrides (Launcher.inherit), applied with
 * overrideExpandingAll; the last entry is also expanded on its own; the whole input is matched as
 * an environ against the overrides. Nothing may crash, leak or run away.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "alloc.h"
#include "envvars.h"
#include "err.h"
#include "proctree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct exec_env *base = NULL;
    struct exec_env *over = NULL;
    struct ag_err err = {0};
    char **envp = NULL;
    char *last = NULL;
    char *out = NULL;
    bool in_base = true;
    size_t pos = 0;
    int rc = 0; /* refusals (limits, no '=') are expected outcomes, not failures */

    if (size > 16384 || exec_env_new(&base) != 0 || exec_env_new(&over) != 0) {
        goto out;
    }
    while (pos < size) {
        const uint8_t *nul = memchr(data + pos, 0, size - pos);
        size_t len = nul == NULL ? size - pos : (size_t)(nul - (data + pos));
        const char *e = (const char *)data + pos;

        if (len == 0 && in_base) {
            in_base = false;
        } else if (in_base) {
            rc = exec_env_add_line(base, e, len);
        } else {
            rc = exec_env_add_launch_pair(over, e, len, &err);
            ag_free(last);
            last = ag_strndup(e, len);
        }
        pos += len + 1;
    }
    rc = exec_env_override_expanding_all(base, over, &err);
    (void)rc;
    if (last != NULL && exec_env_expand(base, last, &out) == 0) {
        ag_free(out);
    }
    if (exec_env_to_envp(base, &envp) == 0) {
        ag_free(envp);
    }
    (void)exec_proctree_environ_matches(data, size, over);
out:
    ag_free(last);
    exec_env_free(base);
    exec_env_free(over);
    return 0;
}
