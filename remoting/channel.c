/*
 * channel.c: the channel's life (creation on a link, orderly close, termination), the command
 * reader and dispatcher (channel.md 2.4, 3.3), sending, --trace=channel and --capture, and our
 * own pings to the controller (channel.md 8).
 */
#include "channel.h"

#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include "alloc.h"
#include "capability.h"
#include "link.h"
#include "log.h"
#include "rem_int.h"
#include "util.h"

#define CAPTURE_MAGIC "AGCAP1\n"
#define TRACE_MAX_DUMP ((size_t)256 << 10)

static void on_link_command(struct proto_link *link, struct ag_iov cmd, void *arg);
static void on_link_drain(struct proto_link *link, void *arg);
static void on_link_closed(struct proto_link *link, int code, const char *why, void *arg);
static void ping_start(struct rem_channel *ch);

void
rem__fmt(char *dst, size_t size, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    (void)vsnprintf(dst, size, fmt, ap); /* truncation is acceptable here */
    va_end(ap);
}

uint32_t
rem__peer_cap(const struct rem_channel *ch)
{
    return ch->link != NULL ? (uint32_t)ch->link->peer_capability : PROTO_CAPABILITY_DEFAULT;
}

void
rem__warn_once(struct rem_channel *ch, const char *key, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    bool seen = false;

    va_start(ap, fmt);
    (void)vsnprintf(line, sizeof(line), fmt, ap); /* a cut log line is acceptable */
    va_end(ap);
    for (size_t i = 0; i < ch->nwarned; i++) {
        if (strcmp(ch->warned[i], key) == 0) {
            seen = true;
            break;
        }
    }
    if (seen) {
        AG_LOG_DEBUG(REM_LOG, "%s: %s", ch->name, line);
        return;
    }
    AG_LOG_WARN(REM_LOG, "%s: %s", ch->name, line);
    if (ch->nwarned < 256) {
        char **n = ag_realloc(ch->warned, (ch->nwarned + 1) * sizeof(*n));
        char *k = ag_strdup(key);

        if (n != NULL) {
            ch->warned = n;
        }
        if (n != NULL && k != NULL) {
            ch->warned[ch->nwarned++] = k;
        } else {
            ag_free(k); /* out of memory: we just warn again next time */
        }
    }
}

/* ----- capture and trace ----- */

static void
capture_write(struct rem_channel *ch, char dir, const uint8_t *p, size_t n)
{
    uint8_t hdr[13];
    uint64_t t = (uv_hrtime() - ch->t0_ns) / 1000u;

    if (ch->capture == NULL) {
        return;
    }
    hdr[0] = (uint8_t)dir;
    for (int i = 0; i < 8; i++) {
        hdr[1 + i] = (uint8_t)(t >> (56 - 8 * i));
    }
    hdr[9] = (uint8_t)(n >> 24);
    hdr[10] = (uint8_t)(n >> 16);
    hdr[11] = (uint8_t)(n >> 8);
    hdr[12] = (uint8_t)n;
    /* A debugging option: buffered stdio on the loop thread is accepted (docs/channel.md). */
    if (fwrite(hdr, 1, sizeof(hdr), ch->capture) != sizeof(hdr) ||
        fwrite(p, 1, n, ch->capture) != n || fflush(ch->capture) != 0) {
        AG_LOG_WARN(REM_LOG, "%s: writing the capture file failed; capture stopped", ch->name);
        (void)fclose(ch->capture);
        ch->capture = NULL;
    }
}

static void
trace_command(struct rem_channel *ch, const char *dir, const uint8_t *p, size_t n)
{
    struct ag_buf out;
    struct ag_err err = {0};
    struct jos_dump_opts o = {.hex_max = 64, .nested = true, .max_nested = 4};

    if (!ag_log_trace_on(AG_TRACE_CHANNEL)) {
        return;
    }
    ag_buf_init(&out, TRACE_MAX_DUMP);
    if (jos_dump_bytes(&out, p, n, &ch->lim, &o, &err) != 0 || ag_buf_append_u8(&out, 0) != 0) {
        AG_TRACE(AG_TRACE_CHANNEL, "%s: %s %zu bytes (no dump: %s)", ch->name, dir, n,
                 err.msg[0] != '\0' ? err.msg : "dump too large");
    } else {
        AG_TRACE(AG_TRACE_CHANNEL, "%s: %s %zu bytes\n%s", ch->name, dir, n, (char *)out.data);
    }
    ag_buf_fini(&out);
}

/* ----- sending ----- */

int
rem__send(struct rem_channel *ch, struct jos_msg *m, struct jos_val *cmd)
{
    struct ag_buf b;
    struct ag_err err = {0};
    struct jos_val *items[1] = {cmd};
    int rc;
    bool is_close = jos_val_is(cmd, "hudson.remoting.Channel$CloseCommand");

    if (ch->state == REM_CH_DEAD || (ch->close_sent && !is_close)) {
        return AG_ECLOSED;
    }
    if (m->build_err != 0 || cmd == NULL) {
        AG_LOG_WARN(REM_LOG, "%s: cannot build a command: %s", ch->name,
                    m->build_detail.msg[0] != '\0' ? m->build_detail.msg : "no value");
        return m->build_err != 0 ? m->build_err : AG_EINTERNAL;
    }
    ag_buf_init(&b, REM_MAX_COMMAND_BYTES);
    rc = jos_encode(&b, items, 1, &err);
    if (rc != 0) {
        AG_LOG_WARN(REM_LOG, "%s: cannot encode %s: %s", ch->name, jos_val_class(cmd), err.msg);
        ag_buf_fini(&b);
        return rc;
    }
    capture_write(ch, '>', b.data, b.len);
    trace_command(ch, "->", b.data, b.len);
    rc = proto_link_send(ch->link, ag_buf_iov(&b));
    ag_buf_fini(&b);
    if (rc != 0) {
        rem_channel_abort(ch, rc, "cannot queue a command on the link");
        return rc;
    }
    ch->st.commands_out++;
    if (is_close) {
        ch->close_sent = true;
        ch->st.close_sent = true;
    }
    return 0;
}

/* ----- incoming I/O progress ----- */

bool
rem__io_drained(const struct rem_channel *ch, uint64_t seq)
{
    return ch->io_seq_done >= seq;
}

void
rem__io_progress(struct rem_channel *ch)
{
    rem__calls_io_progress(ch);
}

/* ----- dispatch ----- */

static void
on_close_command(struct rem_channel *ch)
{
    ch->close_received = true;
    ch->st.close_received = true;
    AG_LOG_INFO(REM_LOG, "%s: the controller closed the channel", ch->name);
    if (!ch->close_sent) {
        struct jos_msg *m = NULL;

        if (jos_msg_new(NULL, 0, &m) == 0) {
            rem__ignore(rem__send(ch, m, rem__cmd_close(m))); /* failure aborts the link */
            jos_msg_free(m);
        }
    }
    ch->close_code = 0;
    rem__fmt(ch->close_why, sizeof(ch->close_why), "closed by the controller");
    if (ch->state != REM_CH_DEAD) {
        ch->state = REM_CH_CLOSING;
        proto_link_close(ch->link);
    }
}

static void
on_unexport(struct rem_channel *ch, struct jos_val *cmd)
{
    int32_t oid = 0;

    if (jos_get_int(cmd, "oid", &oid) != 0) {
        rem__warn_once(ch, "UnexportCommand", "UnexportCommand without an oid; dropped");
        return;
    }
    if (oid == 1) {
        /* Our IChannel export is permanent here; Java would drop it (channel.md 5). */
        AG_LOG_DEBUG(REM_LOG, "%s: UnexportCommand(1) ignored", ch->name);
        return;
    }
    if (rem__export_find(ch, oid) == NULL) {
        AG_LOG_DEBUG(REM_LOG, "%s: UnexportCommand for unknown oid %" PRId32, ch->name, oid);
        return;
    }
    rem__export_unref(ch, oid, NULL);
}

/* A command class we do not act on (or cannot decode): Java logs and drops it; a request gets
 * an error Response so the controller does not wait forever (channel.md 4.6). */
static void
drop_unknown(struct rem_channel *ch, struct jos_val *cmd, const char *cls)
{
    int32_t id = 0;

    ch->st.dropped++;
    if (cmd != NULL && jos_val_instanceof(cmd, "hudson.remoting.Request") &&
        jos_get_int(cmd, "id", &id) == 0) {
        char msg[256];

        rem__warn_once(ch, cls, "unsupported request %s; answered with an error", cls);
        rem__fmt(msg, sizeof(msg), "native-agent does not support request %s", cls);
        rem__reply_error(ch, id, "java.io.IOException", msg);
        return;
    }
    rem__warn_once(ch, cls, "unsupported command %s; dropped", cls);
}

static void
dispatch(struct rem_channel *ch, struct jos_msg *m, struct jos_val *cmd, bool *keep)
{
    const char *cls = jos_val_class(cmd);
    const char *pre = "hudson.remoting.";

    *keep = false;
    if (cls == NULL || strncmp(cls, pre, strlen(pre)) != 0) {
        drop_unknown(ch, cmd, cls != NULL ? cls : "(not an object)");
        return;
    }
    cls += strlen(pre);
    if (ch->close_received) {
        /* Nothing is expected after the controller's CloseCommand (channel.md 9). */
        AG_LOG_DEBUG(REM_LOG, "%s: %s after CloseCommand ignored", ch->name, cls);
        return;
    }
    if (strcmp(cls, "Response") == 0) {
        rem__on_response(ch, m, cmd);
        *keep = true; /* request.c took m */
    } else if (strcmp(cls, "UserRequest") == 0) {
        rem__on_user_request(ch, m, cmd);
        *keep = true;
    } else if (strcmp(cls, "RemoteInvocationHandler$RPCRequest") == 0 ||
               strcmp(cls, "RemoteInvocationHandler$UserRPCRequest") == 0) {
        rem__on_rpc_request(ch, m, cmd);
        *keep = true;
    } else if (strcmp(cls, "Request$Cancel") == 0) {
        rem__on_cancel(ch, cmd);
    } else if (strcmp(cls, "Channel$CloseCommand") == 0) {
        on_close_command(ch);
    } else if (strcmp(cls, "UnexportCommand") == 0) {
        on_unexport(ch, cmd);
    } else if (strcmp(cls, "GCCommand") == 0) {
        AG_LOG_DEBUG(REM_LOG, "%s: GCCommand ignored", ch->name);
    } else if (strcmp(cls, "ProxyOutputStream$Chunk") == 0 ||
               strcmp(cls, "ProxyWriter$Chunk") == 0) {
        rem__io_enqueue(ch, REM_IO_CHUNK, cls[5] == 'W', m, cmd);
        *keep = true;
    } else if (strcmp(cls, "ProxyOutputStream$Flush") == 0 ||
               strcmp(cls, "ProxyWriter$Flush") == 0) {
        rem__io_enqueue(ch, REM_IO_FLUSH, cls[5] == 'W', m, cmd);
        *keep = true;
    } else if (strcmp(cls, "ProxyOutputStream$EOF") == 0 || strcmp(cls, "ProxyWriter$EOF") == 0) {
        rem__io_enqueue(ch, REM_IO_EOF, cls[5] == 'W', m, cmd);
        *keep = true;
    } else if (strcmp(cls, "ProxyOutputStream$Unexport") == 0 ||
               strcmp(cls, "ProxyWriter$Unexport") == 0) {
        rem__io_enqueue(ch, REM_IO_UNEXPORT, cls[5] == 'W', m, cmd);
        *keep = true;
    } else if (strcmp(cls, "Pipe$ConnectCommand") == 0) {
        rem__io_enqueue(ch, REM_IO_CONNECT, false, m, cmd);
        *keep = true;
    } else if (strcmp(cls, "ProxyOutputStream$Ack") == 0 || strcmp(cls, "ProxyWriter$Ack") == 0) {
        /* Java keeps one window per target oid for both kinds (Channel.getPipeWindow). */
        rem__on_ack(ch, cmd);
    } else if (strcmp(cls, "ProxyOutputStream$NotifyDeadWriter") == 0 ||
               strcmp(cls, "ProxyWriter$NotifyDeadWriter") == 0) {
        rem__on_dead_writer(ch, cmd);
    } else if (strcmp(cls, "ProxyInputStream$Chunk") == 0) {
        rem__on_pis_chunk(ch, m, cmd);
        *keep = true;
    } else if (strcmp(cls, "ProxyInputStream$EOF") == 0) {
        int32_t oid = 0;

        /* Release our exported source; an unknown oid is ignored as Java does. */
        if (jos_get_int(cmd, "oid", &oid) == 0 && rem__export_find(ch, oid) != NULL) {
            rem__export_unref(ch, oid, NULL);
        }
    } else {
        /* Any class no remoting version sends. */
        drop_unknown(ch, cmd, cls - strlen(pre));
    }
}

static void
on_link_command(struct proto_link *link, struct ag_iov cmd, void *arg)
{
    struct rem_channel *ch = arg;
    struct jos_msg *m = NULL;
    struct ag_err err = {0};
    struct jos_val *top = NULL;
    bool keep = false;
    int rc;

    (void)link;
    if (ch->state == REM_CH_DEAD) {
        return;
    }
    ch->st.commands_in++;
    capture_write(ch, '<', cmd.base, cmd.len);
    trace_command(ch, "<-", cmd.base, cmd.len);
    rc = jos_decode(cmd.base, cmd.len, &ch->lim, 0, &m, &err);
    if (rc != 0) {
        char sample[80];

        ag_escape(sample, sizeof(sample), cmd.base, cmd.len, 64);
        ch->st.dropped++;
        /* Java logs "Failed to construct Command" and drops it (channel.md 2.4). */
        rem__warn_once(ch, "(undecodable)",
                       "undecodable command of %zu bytes dropped: %s at offset %" PRIu64
                       " (starts %s)",
                       cmd.len, err.msg, err.offset, sample);
        return;
    }
    if (m->top.n == 1 && m->top.items[0] != NULL && m->top.items[0]->kind == JOS_K_OBJECT) {
        top = m->top.items[0];
    }
    if (top == NULL) {
        ch->st.dropped++;
        rem__warn_once(ch, "(not a command)",
                       "stream with %zu items instead of one command; "
                       "dropped",
                       m->top.n);
        jos_msg_free(m);
        return;
    }
    dispatch(ch, m, top, &keep);
    if (!keep) {
        jos_msg_free(m);
    }
}

static void
on_link_drain(struct proto_link *link, void *arg)
{
    struct rem_channel *ch = arg;

    (void)link;
    if (ch->state != REM_CH_DEAD) {
        rem__ostreams_pump(ch);
    }
}

/* ----- termination and freeing ----- */

static void
channel_free(struct rem_channel *ch)
{
    for (size_t i = 0; i < ch->nwarned; i++) {
        ag_free(ch->warned[i]);
    }
    ag_free(ch->warned);
    ag_free(ch->exports);
    ag_free(ch->name);
    ag_free(ch);
}

static void
on_timer_closed(uv_handle_t *h)
{
    struct rem_channel *ch = h->data;

    if (--ch->handles_open == 0) {
        channel_free(ch);
    }
}

static void
on_link_closed(struct proto_link *link, int code, const char *why, void *arg)
{
    struct rem_channel *ch = arg;
    int ccode = ch->close_code;
    char cwhy[160];

    (void)link;
    if (ch->state == REM_CH_DEAD) {
        return;
    }
    if (ch->close_why[0] != '\0') {
        rem__fmt(cwhy, sizeof(cwhy), "%s", ch->close_why);
    } else {
        ccode = code;
        rem__fmt(cwhy, sizeof(cwhy), "%s", why != NULL ? why : "link closed");
    }
    ch->state = REM_CH_DEAD;
    ch->link = NULL;
    AG_LOG_DEBUG(REM_LOG, "%s: terminating (%s)", ch->name, cwhy);
    /* Streams first: their queued writes hold calls (io_pending). */
    rem__ostreams_terminate(ch);
    rem__pulls_terminate(ch);
    rem__io_terminate(ch);
    rem__calls_terminate(ch);
    rem__exports_terminate(ch);
    if (ch->capture != NULL) {
        (void)fclose(ch->capture);
        ch->capture = NULL;
    }
    if (ch->on_closed != NULL) {
        ch->on_closed(ch, ccode, cwhy, ch->arg);
    }
    if (ch->timers) {
        uv_close((uv_handle_t *)&ch->ping_timer, on_timer_closed);
        uv_close((uv_handle_t *)&ch->ping_deadline, on_timer_closed);
        uv_close((uv_handle_t *)&ch->close_timer, on_timer_closed);
    } else {
        channel_free(ch);
    }
}

/* End the channel with an error: nothing more goes out. A dead peer (peer_dead) gets its link
 * aborted at once; otherwise the link is closed in order (queued bytes and, on WebSocket, the
 * close handshake), since the peer may still be listening. */
static void
channel_end(struct rem_channel *ch, int code, const char *why, bool peer_dead)
{
    if (ch->state == REM_CH_DEAD) {
        return;
    }
    if (ch->close_why[0] == '\0') {
        ch->close_code = code;
        rem__fmt(ch->close_why, sizeof(ch->close_why), "%s", why);
    }
    if (ch->state == REM_CH_OPEN) {
        AG_LOG_WARN(REM_LOG, "%s: closing the link: %s", ch->name, why);
    }
    ch->state = REM_CH_CLOSING;
    ch->close_sent = true; /* nothing more goes out */
    if (peer_dead) {
        proto_link_abort(ch->link);
    } else {
        proto_link_close(ch->link);
    }
}

void
rem_channel_abort(struct rem_channel *ch, int code, const char *why)
{
    channel_end(ch, code, why, true);
}

static void
on_close_timeout(uv_timer_t *t)
{
    struct rem_channel *ch = t->data;

    if (ch->state != REM_CH_DEAD) {
        AG_LOG_DEBUG(REM_LOG, "%s: no CloseCommand from the controller within %u ms", ch->name,
                     REM_CLOSE_GRACE_MS);
        proto_link_close(ch->link);
    }
}

void
rem_channel_close(struct rem_channel *ch, const char *why)
{
    struct jos_msg *m = NULL;

    if (ch->state != REM_CH_OPEN || ch->close_sent) {
        return;
    }
    AG_LOG_INFO(REM_LOG, "%s: closing the channel: %s", ch->name, why);
    ch->close_code = 0;
    rem__fmt(ch->close_why, sizeof(ch->close_why), "%s", why);
    if (jos_msg_new(NULL, 0, &m) != 0 || rem__send(ch, m, rem__cmd_close(m)) != 0) {
        jos_msg_free(m);
        rem_channel_abort(ch, AG_ENOMEM, "cannot send CloseCommand");
        return;
    }
    jos_msg_free(m);
    ch->state = REM_CH_CLOSING;
    if (ch->close_received) {
        proto_link_close(ch->link);
    } else if (ch->timers) {
        (void)uv_timer_start(&ch->close_timer, on_close_timeout, REM_CLOSE_GRACE_MS, 0);
    }
}

/* ----- pings (channel.md 8) ----- */

/* The channel is dead: agent.jar's line (ChannelPinger's onDead, at INFO), then ours with the
 * reason as the link is aborted (waiting for a dead peer's close handshake helps nobody). */
static void
ping_failed(struct rem_channel *ch, int code, const char *why)
{
    AG_LOG_INFO(REM_LOG, "Ping failed. Terminating the channel %s.", ch->name);
    channel_end(ch, code, why, true);
}

static void
on_ping_response(struct rem_channel *ch, int rc, struct jos_msg *m, struct jos_val *value,
                 const char *error, void *arg)
{
    (void)m;
    (void)value;
    (void)arg;
    if (rc == AG_ECLOSED) {
        return;
    }
    ch->ping_outstanding = false;
    if (ch->timers) {
        (void)uv_timer_stop(&ch->ping_deadline);
    }
    if (rc != 0) {
        /* PingThread treats any failure but RequestAbortedException as a dead channel. */
        ping_failed(ch, rc, error != NULL ? error : "ping failed");
        return;
    }
    ch->st.pings_answered++;
}

static void
on_ping_deadline(uv_timer_t *t)
{
    struct rem_channel *ch = t->data;
    char why[96];

    if (ch->state == REM_CH_DEAD || !ch->ping_outstanding) {
        return;
    }
    rem__fmt(why, sizeof(why), "ping to the controller timed out after %u ms", ch->ping_timeout_ms);
    ping_failed(ch, AG_ETIMEDOUT, why);
}

static void
on_ping_timer(uv_timer_t *t)
{
    struct rem_channel *ch = t->data;
    struct jos_msg *m = NULL;
    struct jos_val *ping;
    int rc;

    if (ch->state != REM_CH_OPEN || ch->ping_outstanding || ch->core_loader_oid == 0) {
        return;
    }
    if (jos_msg_new(NULL, 0, &m) != 0) {
        return;
    }
    ping = jos_new_object(m, "hudson.remoting.PingThread$Ping");
    rc = ping != NULL ? rem_channel_call(ch, ping, on_ping_response, NULL) : AG_ENOMEM;
    jos_msg_free(m);
    if (rc != 0) {
        AG_LOG_DEBUG(REM_LOG, "%s: cannot send a ping: %s", ch->name, ag_strerror(rc));
        return;
    }
    ch->ping_outstanding = true;
    ch->st.pings_sent++;
    if (ch->timers && ch->ping_timeout_ms > 0) {
        (void)uv_timer_start(&ch->ping_deadline, on_ping_deadline, ch->ping_timeout_ms, 0);
    }
}

static void
ping_start(struct rem_channel *ch)
{
    if (!ch->timers || ch->ping_interval_ms == 0) {
        return;
    }
    (void)uv_timer_start(&ch->ping_timer, on_ping_timer, ch->ping_interval_ms,
                         ch->ping_interval_ms);
}

void
rem__ping_configure(struct rem_channel *ch, uint32_t interval_ms, uint32_t timeout_ms)
{
    if (ch->ping_interval_ms != 0) {
        /* Configured locally: the local setting wins. */
        return;
    }
    ch->ping_interval_ms = interval_ms;
    ch->ping_timeout_ms = timeout_ms;
    AG_LOG_DEBUG(REM_LOG, "%s: pinging the controller every %u ms (timeout %u ms)", ch->name,
                 interval_ms, timeout_ms);
    ping_start(ch);
}

/* ----- creation ----- */

int
rem_channel_new(struct proto_link *link, const struct rem_channel_opts *opts,
                struct rem_channel **out)
{
    struct rem_channel *ch = ag_calloc(1, sizeof(*ch));
    int rc = AG_ENOMEM;

    if (ch == NULL) {
        goto out;
    }
    ch->link = link;
    ch->name = ag_strdup(opts->name != NULL ? opts->name : "channel");
    if (ch->name == NULL) {
        goto out;
    }
    if (opts->limits != NULL) {
        ch->lim = *opts->limits;
    } else {
        jos_limits_default(&ch->lim);
        ch->lim.max_message_bytes = REM_MAX_COMMAND_BYTES;
    }
    ch->user = opts->user;
    ch->on_closed = opts->on_closed;
    ch->arg = opts->arg;
    ch->t0_ns = uv_hrtime();
    ch->next_req_id = 1;
    ch->next_io_id = 1;
    ch->next_oid = 2; /* oid 1 is the channel itself (channel.md 6.1) */
    ch->ping_interval_ms = opts->ping_interval_ms;
    ch->ping_timeout_ms = opts->ping_interval_ms != 0 ? opts->ping_timeout_ms : 0;
    rem_list_init(&ch->calls);
    rem_list_init(&ch->pending);
    rem_list_init(&ch->io_queue);
    rem_list_init(&ch->ostreams);
    rem_list_init(&ch->pulls);
    if (opts->capture != NULL && opts->capture[0] != '\0') {
        /* A capture that cannot be written is reported and skipped: it must not keep the
         * agent from connecting. */
        ch->capture = fopen(opts->capture, "ab");
        if (ch->capture == NULL) {
            AG_LOG_WARN(REM_LOG, "cannot open the capture file %s; not capturing", opts->capture);
        } else if (ftell(ch->capture) == 0 && fwrite(CAPTURE_MAGIC, 1, sizeof(CAPTURE_MAGIC) - 1,
                                                     ch->capture) != sizeof(CAPTURE_MAGIC) - 1) {
            AG_LOG_WARN(REM_LOG, "cannot write the capture file %s; not capturing", opts->capture);
            (void)fclose(ch->capture);
            ch->capture = NULL;
        }
    }
    if (opts->loop != NULL) {
        ch->loop = opts->loop;
        (void)uv_timer_init(ch->loop, &ch->ping_timer);    /* cannot fail for timers */
        (void)uv_timer_init(ch->loop, &ch->ping_deadline); /* cannot fail for timers */
        (void)uv_timer_init(ch->loop, &ch->close_timer);   /* cannot fail for timers */
        ch->ping_timer.data = ch;
        ch->ping_deadline.data = ch;
        ch->close_timer.data = ch;
        ch->handles_open = 3;
        ch->timers = true;
    }
    link->on_command = on_link_command;
    link->on_drain = on_link_drain;
    link->on_closed = on_link_closed;
    link->cb_arg = ch;
    ping_start(ch);
    AG_LOG_DEBUG(REM_LOG,
                 "%s: channel open on %s (capability ours 0x%" PRIx64 ", peer 0x%" PRIx64 ")",
                 ch->name, link->vt != NULL ? link->vt->name : "link", link->our_capability,
                 link->peer_capability);
    *out = ch;
    ch = NULL;
    rc = 0;
out:
    if (ch != NULL) {
        if (ch->capture != NULL) {
            (void)fclose(ch->capture);
        }
        ag_free(ch->name);
        ag_free(ch);
    }
    return rc;
}

void *
rem_channel_user(const struct rem_channel *ch)
{
    return ch->user;
}

const char *
rem_channel_protocol(const struct rem_channel *ch)
{
    if (ch == NULL || ch->link == NULL || ch->state == REM_CH_DEAD) {
        return NULL;
    }
    return ch->link->vt->name;
}

uv_loop_t *
rem_channel_loop(const struct rem_channel *ch)
{
    return ch != NULL ? ch->loop : NULL;
}

void
rem_channel_get_stats(const struct rem_channel *ch, struct rem_channel_stats *st)
{
    *st = ch->st;
    st->calls_running = ch->ncalls;
    st->pending = ch->npending;
    st->exports = ch->nexports + 1;
    st->ostreams = ch->nostreams;
}
