/* Fuzz the agent's node callables (agent/callables_*.c, agent/filepath.c): the input is one
 * serialized callable (what a controller puts in UserRequest.request), delivered as a UserRequest
 * to a channel on an in-memory link with the agent's table registered. Field types, missing
 * fields, odd maps and envelopes must give an error reply, never a crash or a leak. Handlers that
 * change the process (log level, reconnect flag, log ring) are reset after each input. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../unit/remoting/fake_link.h"
#include "callables.h"
#include "callables_agent.h"
#include "channel.h"
#include "jos.h"
#include "log.h"
#include "rem_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
on_closed(struct rem_channel *ch, int code, const char *why, void *arg)
{
    (void)ch;
    (void)code;
    (void)why;
    (void)arg;
}

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
    struct fake_link f;
    struct rem_channel_opts o = {0};
    struct rem_channel *ch = NULL;
    struct jos_msg *m = NULL;
    struct jos_stream st = {0};
    struct ag_err err = {0};
    struct ag_buf out;
    struct jos_val *cmd;
    enum ag_log_level lv = ag_log_get_level();

    if (touches_files(data, size) || agent_callables_register() != 0) {
        return 0;
    }
    ag_buf_init(&out, (size_t)1 << 24);
    fake_link_init(&f);
    o.name = "fuzz";
    o.on_closed = on_closed;
    if (rem_channel_new(&f.link, &o, &ch) != 0) {
        return 0;
    }
    if (jos_msg_new(NULL, 0, &m) == 0 && jos_msg_decode(m, data, size, &st, &err) == 0 &&
        st.n >= 1 && st.items[0] != NULL) {
        cmd = rem__cmd_user_request(m, 1, 2, st.items[0], "fuzz");
        if (cmd != NULL && jos_encode(&out, &cmd, 1, &err) == 0) {
            fake_link_deliver(&f, out.data, out.len);
        }
    }
    jos_msg_free(m);
    ag_buf_fini(&out);
    fake_link_finish(&f, AG_ECLOSED);
    fake_link_clear(&f);
    agent_node_reset();
    ag_log_set_level(lv);
    return 0;
}
