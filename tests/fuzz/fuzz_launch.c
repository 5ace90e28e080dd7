/* Fuzz the build-step callables (agent/callables_launch.c): the input is one serialized callable
 * (RemoteLaunchCallable, KillTask, ...), delivered as a UserRequest to a channel on an in-memory
 * link with the launch table registered. The channel has no loop, so a callable that parses
 * completely is refused with "no event loop" before anything is started: what is fuzzed is the
 * reading of cmd lists, masks, env arrays, listeners, filter wrappers and kill models. Nothing may
 * crash or leak. */
#include <stddef.h>
#include <stdint.h>

#include "../unit/remoting/fake_link.h"
#include "callables.h"
#include "channel.h"
#include "jos.h"
#include "launch.h"
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

    if (agent_launch_register() != 0) {
        return 0;
    }
    ag_buf_init(&out, (size_t)1 << 24);
    fake_link_init(&f);
    o.name = "fuzz";
    o.on_closed = on_closed;
    if (rem_channel_new(&f.link, &o, &ch) != 0) {
        ag_buf_fini(&out);
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
    return 0;
}
