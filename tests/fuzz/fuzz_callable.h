/*
 * fuzz_callable.h: for the callable fuzzers. fuzz_deliver_callable() reads one serialized
 * callable from the fuzz input and delivers it, as the payload of a UserRequest, to a fresh
 * channel on an in-memory link; the link is then closed and everything freed. The caller
 * registers its handler table first.
 */
#ifndef AG_TESTS_FUZZ_CALLABLE_H
#define AG_TESTS_FUZZ_CALLABLE_H

#include <stddef.h>
#include <stdint.h>

#include "../unit/remoting/fake_link.h"
#include "channel.h"
#include "jos.h"
#include "rem_int.h"

static void
fuzz_on_closed(struct rem_channel *ch, int code, const char *why, void *arg)
{
    (void)ch;
    (void)code;
    (void)why;
    (void)arg;
}

static void
fuzz_deliver_callable(const uint8_t *data, size_t size)
{
    struct fake_link f;
    struct rem_channel_opts o = {0};
    struct rem_channel *ch = NULL;
    struct jos_msg *m = NULL;
    struct jos_stream st = {0};
    struct ag_err err = {0};
    struct ag_buf out;
    struct jos_val *cmd;

    fake_link_init(&f);
    o.name = "fuzz";
    o.on_closed = fuzz_on_closed;
    if (rem_channel_new(&f.link, &o, &ch) != 0) {
        return;
    }
    ag_buf_init(&out, (size_t)1 << 24);
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
}

#endif
