/*
 * envvars_int.h: envvars.c internals shared with the rest of exec/ and its tests.
 */
#ifndef AG_EXEC_ENVVARS_INT_H
#define AG_EXEC_ENVVARS_INT_H

#include <stddef.h>

#include "compiler.h"

struct ag_err;
struct exec_env;

/* EnvVars.OverrideOrderCalculator(env, all).getOrderedVariableNames(): a NULL-terminated array
 * in one block (free it with a single ag_free(*out)), *n names. */
AG_MUST_CHECK int exec__env_override_order(const struct exec_env *env, const struct exec_env *all,
                                           char ***out, size_t *n, struct ag_err *err);

#endif
