/* Fuzz the agent's node callables (agent/callables_*.c, agent/filepath.c): the input is one
 * serialized callable (what a controller puts in UserRequest.request), delivered as a UserRequest
 * to a channel on an in-memory link with the agent's table registered. Field types, missing
 * fields, odd maps and envelopes must give an error reply, never a crash or a leak. Handlers that
 * change the process (log level, reconnect flag, log ring) are reset after each input. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "callables_agent.h"
#include "fuzz_callable.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* File tasks that change the file system (Mkdirs, Delete, CreateTextTempFile, ... of
 * agent/filepath.c's table) must never run on fuzzed paths: inputs naming any hudson.FilePath$
 * class other than the envelopes, FilePath$FileCallable and the monitors' tasks are skipped. */
static bool
touches_files(const uint8_t *data, size_t size)
{
    static const char pre[] = "FilePath$";
    static const char *const ok[] = {"CallableWith", "FileCallableWrapper", "FileCallable;"};
    size_t pl = sizeof(pre) - 1;

    for (size_t i = 0; i + pl <= size; i++) {
        bool allowed = false;

        if (memcmp(data + i, pre, pl) != 0) {
            continue;
        }
        for (size_t k = 0; k < sizeof(ok) / sizeof(ok[0]); k++) {
            size_t n = strlen(ok[k]);

            allowed |= i + pl + n <= size && memcmp(data + i + pl, ok[k], n) == 0;
        }
        if (!allowed) {
            return true;
        }
    }
    return false;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    enum ag_log_level lv = ag_log_get_level();

    if (touches_files(data, size) || agent_callables_register() != 0) {
        return 0;
    }
    fuzz_deliver_callable(data, size);
    agent_node_reset();
    ag_log_set_level(lv);
    return 0;
}
