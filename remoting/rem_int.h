/*
 * rem_int.h: internals shared by the files of remoting/ only (channel.c, command.c, request.c,
 * export.c, pipe.c, callables.c). Everything here runs on the loop thread.
 */
#ifndef AG_REMOTING_REM_INT_H
#define AG_REMOTING_REM_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <uv.h>

#include "buf.h"
#include "callables.h"
#include "channel.h"
#include "compiler.h"
#include "jos.h"
#include "pipe.h"

#define REM_LOG "channel"

/* ----- intrusive doubly linked list ----- */
struct rem_list {
    struct rem_list *prev;
    struct rem_list *next;
};

static inline void
rem_list_init(struct rem_list *h)
{
    h->prev = h;
    h->next = h;
}

static inline bool
rem_list_empty(const struct rem_list *h)
{
    return h->next == h;
}

static inline void
rem_list_push(struct rem_list *h, struct rem_list *n)
{
    n->prev = h->prev;
    n->next = h;
    h->prev->next = n;
    h->prev = n;
}

static inline void
rem_list_del(struct rem_list *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->prev = n;
    n->next = n;
}

/* ----- the channel ----- */
enum rem_ch_state {
    REM_CH_OPEN = 0,
    REM_CH_CLOSING = 1, /* our CloseCommand is out; waiting for theirs or EOF */
    REM_CH_DEAD = 2,    /* the link is gone; terminated */
};

enum rem_call_kind {
    REM_CALL_USER = 0, /* UserRequest: result in a NormalResponse payload */
    REM_CALL_RPC = 1,  /* RPCRequest command: raw result */
};

struct rem_call {
    struct rem_list node;   /* in ch->calls while the channel owns it */
    struct rem_channel *ch; /* NULL once detached (channel terminated) */
    enum rem_call_kind kind;
    int32_t id;
    int32_t last_io_in; /* Request.lastIoId from the controller */
    uint64_t wait_seq;  /* start once ch->io_seq_done reaches this */
    bool waiting_io;    /* not started yet: waiting for incoming I/O */
    bool started;
    bool completed; /* result set; the Response may still wait for io_pending */
    bool failed;    /* result is a Throwable */
    bool cancelled;
    struct jos_msg *in; /* owned: the command (and the decoded payload) */
    const struct jos_val *callable;
    const char *class_name; /* in `in`'s arena or static */
    int32_t loader_oid;
    const struct rem_callable_handler *h;
    struct jos_msg *out; /* owned: the handler's builder */
    struct jos_val *result;
    int32_t last_io_id; /* last ioId we sent on its behalf */
    size_t io_pending;  /* pipe operations queued on its behalf */
    rem_call_cancel_cb cancel_cb;
    void *cancel_arg;
    void *data;
};

struct rem_pending {
    struct rem_list node;
    int32_t id;
    bool user; /* returnValue is a UserRequest response object */
    bool waiting_io;
    uint64_t wait_seq;
    struct jos_msg *resp; /* owned while waiting for incoming I/O */
    struct jos_val *resp_val;
    rem_response_cb cb;
    void *arg;
};

enum rem_export_kind {
    REM_EXP_OBJECT = 0,
    REM_EXP_SINK = 1,
    REM_EXP_SOURCE = 2,
};

struct rem_export {
    int32_t oid;
    uint32_t refs;
    enum rem_export_kind kind;
    const struct rem_object_ops *ops;
    const struct rem_sink_ops *sink;
    const struct rem_source_ops *source;
    void *obj;
    bool chars;  /* a sink exported as a RemoteWriter (ProxyWriter commands, UTF-16 data) */
    uint16_t hi; /* chars: a high surrogate that ended the previous chunk */
};

enum rem_io_kind {
    REM_IO_CHUNK = 0,
    REM_IO_FLUSH = 1,
    REM_IO_EOF = 2,
    REM_IO_UNEXPORT = 3,
    REM_IO_CONNECT = 4,
};

/* One incoming pipe I/O command, applied strictly in arrival order (channel.md 2.4, 4.2). */
struct rem_io {
    struct rem_list node;
    struct rem_channel *ch;
    enum rem_io_kind kind;
    int32_t oid;
    int32_t oid2;        /* ConnectCommand: oidRos */
    struct jos_msg *msg; /* owned: holds data */
    struct ag_iov data;  /* chunk bytes as received (chars: 2 per UTF-16 unit) */
    bool chars;          /* a ProxyWriter command */
    uint8_t *conv;       /* owned: chars chunk converted to UTF-8 for the sink */
    char error[200];     /* EOF: the controller's error text, "" for none */
    bool has_error;
    bool busy; /* handed to a sink that answered REM_SINK_PENDING */
};

enum rem_oop_kind {
    REM_OOP_CHUNK = 0,
    REM_OOP_FLUSH = 1,
    REM_OOP_EOF = 2,
    REM_OOP_UNEXPORT = 3, /* released without close, after the data queued before */
};

/* One queued outgoing pipe operation (data beyond the window). */
struct rem_oop {
    struct rem_list node;
    enum rem_oop_kind kind;
    struct rem_call *call; /* borrowed: the call waits (io_pending) until this is sent */
    int32_t req_id;
    size_t len;
    size_t off;
    char *error; /* owned, EOF only */
    uint8_t data[];
};

/* A UTF-8 sequence cut by the end of a write (utf16.c). */
struct rem_utf8_state {
    uint8_t b[3];
    size_t n;
};

struct rem_ostream {
    struct rem_list node;   /* in ch->ostreams */
    struct rem_channel *ch; /* NULL once the channel terminated */
    int32_t oid;
    uint32_t refs;
    int64_t window;
    bool dead;   /* NotifyDeadWriter or channel gone */
    bool closed; /* EOF queued */
    bool full;   /* a write reported "full": call drain when empty */
    bool chars;  /* a controller RemoteWriter: ProxyWriter commands, window in chars */
    struct rem_utf8_state u8;
    struct rem_list ops;
    size_t backlog;
    rem_ostream_drain_cb drain;
    void *drain_arg;
};

/* A controller RemoteInputStream pulled with ProxyInputStream$Chunk (non-greedy). */
struct rem_pull {
    struct rem_list node;
    struct rem_channel *ch;
    int32_t oid;
    const struct rem_sink_ops *ops;
    void *ctx;
    bool busy; /* a request or a sink write is in flight */
    bool done;
};

struct rem_channel {
    struct proto_link *link; /* borrowed until on_closed */
    char *name;              /* owned */
    enum rem_ch_state state;
    bool close_sent;
    bool close_received;
    struct jos_limits lim;
    void *user;
    rem_channel_closed_cb on_closed;
    void *arg;

    uv_loop_t *loop;
    uv_timer_t ping_timer;
    uv_timer_t ping_deadline;
    uv_timer_t close_timer;
    unsigned handles_open;
    bool timers;

    FILE *capture; /* owned */
    uint64_t t0_ns;

    struct rem_list calls; /* struct rem_call, controller requests */
    uint32_t ncalls;
    struct rem_list pending; /* struct rem_pending, our requests */
    uint32_t npending;
    int32_t next_req_id;

    int32_t next_io_id; /* outgoing ioIds, from 1 */
    struct rem_list io_queue;
    uint32_t nio;
    size_t io_bytes;      /* chunk bytes queued on the lane */
    uint64_t io_seq_in;   /* incoming I/O commands received */
    uint64_t io_seq_done; /* ... and applied */
    bool io_running;

    struct rem_export *exports; /* owned array, live entries */
    uint32_t nexports;
    uint32_t exports_cap;
    int32_t next_oid;

    struct rem_list ostreams;
    uint32_t nostreams;
    struct rem_list pulls;

    char **warned; /* owned: classes already warned about */
    size_t nwarned;

    int32_t core_loader_oid; /* first controller class loader seen (pinned by Jenkins) */
    uint32_t ping_interval_ms;
    uint32_t ping_timeout_ms;
    bool ping_outstanding;

    struct rem_channel_stats st;
    int close_code;
    char close_why[128];
};

/* Consume a result that is deliberately not acted on (the reason is in a comment at the call):
 * builder errors are sticky in the message, send failures abort the link. */
static inline void
rem__ignore(int rc)
{
    (void)rc;
}

/* snprintf into a fixed buffer where a cut text is acceptable (log lines, messages). */
void rem__fmt(char *dst, size_t size, const char *fmt, ...) AG_PRINTF(3, 4);

/* channel.c */
AG_MUST_CHECK int rem__send(struct rem_channel *ch, struct jos_msg *m, struct jos_val *cmd);
/* Log at WARNING once per key (class name) per channel; else at FINE. */
void rem__warn_once(struct rem_channel *ch, const char *key, const char *fmt, ...) AG_PRINTF(3, 4);
void rem__io_progress(struct rem_channel *ch);
bool rem__io_drained(const struct rem_channel *ch, uint64_t seq);
uint32_t rem__peer_cap(const struct rem_channel *ch);

/* command.c: builders of the commands we send. Each returns the command object in m or NULL
 * (builder error sticky in m). */
struct jos_val *rem__cmd_response(struct jos_msg *m, int32_t id, int32_t last_io_id,
                                  struct jos_val *exception, struct jos_val *ret);
struct jos_val *rem__cmd_close(struct jos_msg *m);
struct jos_val *rem__cmd_ack(struct jos_msg *m, int32_t oid, int32_t size);
struct jos_val *rem__cmd_dead_writer(struct jos_msg *m, int32_t oid);
struct jos_val *rem__cmd_unexport(struct jos_msg *m, int32_t oid);
struct jos_val *rem__cmd_chunk(struct jos_msg *m, int32_t io_id, int32_t oid, int32_t req_id,
                               const void *p, size_t n);
struct jos_val *rem__cmd_flush(struct jos_msg *m, int32_t io_id, int32_t oid, int32_t req_id);
struct jos_val *rem__cmd_eof(struct jos_msg *m, int32_t io_id, int32_t oid, int32_t req_id,
                             struct jos_val *error);
/* ProxyWriter$Chunk/$Flush/$EOF/$Unexport/$Ack/$NotifyDeadWriter; p holds nchars UTF-16BE units. */
struct jos_val *rem__cmd_wchunk(struct jos_msg *m, int32_t io_id, int32_t oid, const void *p,
                                size_t nchars);
struct jos_val *rem__cmd_wsimple(struct jos_msg *m, const char *cls, int32_t io_id, int32_t oid);
struct jos_val *rem__cmd_wack(struct jos_msg *m, int32_t oid, int32_t size);
struct jos_val *rem__cmd_wdead(struct jos_msg *m, int32_t oid, int32_t unused);
struct jos_val *rem__cmd_connect(struct jos_msg *m, int32_t oid_pos, int32_t oid_ros);
struct jos_val *rem__cmd_pis_chunk(struct jos_msg *m, int32_t id, int32_t len, int32_t oid);
struct jos_val *rem__cmd_pis_eof(struct jos_msg *m, int32_t oid);
struct jos_val *rem__cmd_user_request(struct jos_msg *m, int32_t id, int32_t loader_oid,
                                      struct jos_val *callable, const char *to_string);
/* "Class: message" of a Throwable value (cause chain not followed). */
void rem__throwable_text(const struct jos_val *t, char *dst, size_t size);
/* The oid of a class-loader reference (Proxy+RemoteInvocationHandler or RemoteIClassLoader). */
int32_t rem__loader_oid(const struct jos_val *v);

/* request.c */
void rem__on_user_request(struct rem_channel *ch, struct jos_msg *m, struct jos_val *cmd);
void rem__on_rpc_request(struct rem_channel *ch, struct jos_msg *m, struct jos_val *cmd);
void rem__on_response(struct rem_channel *ch, struct jos_msg *m, struct jos_val *cmd);
void rem__on_cancel(struct rem_channel *ch, struct jos_val *cmd);
/* ProxyInputStream$Chunk: a read from one of our exported sources (pipe.c serves it). */
void rem__on_pis_chunk(struct rem_channel *ch, struct jos_msg *m, struct jos_val *cmd);
void rem__pis_read(struct rem_call *call);
/* Reply an error to a request we could not run (no call object). */
void rem__reply_error(struct rem_channel *ch, int32_t id, const char *exc_class, const char *msg);
void rem__calls_io_progress(struct rem_channel *ch);
void rem__calls_terminate(struct rem_channel *ch);
void rem__call_io_sent(struct rem_call *call, int32_t io_id);
void rem__call_io_dropped(struct rem_call *call);
AG_MUST_CHECK int rem__request_send(struct rem_channel *ch, struct jos_msg *m, struct jos_val *cmd,
                                    int32_t id, bool user, rem_response_cb cb, void *arg);
int32_t rem__next_request_id(struct rem_channel *ch);
/* The RPC dispatch shared by RPCRequest commands and UserRPCRequest callables. */
void rem__rpc_dispatch(struct rem_call *call, const struct jos_val *rpc);
/* callables.c: the handler for RPCRequest payloads. */
void rem__callable_rpc(struct rem_call *call);

/* export.c */
struct rem_export *rem__export_find(struct rem_channel *ch, int32_t oid);
AG_MUST_CHECK int rem__export_add(struct rem_channel *ch, struct rem_export *e, int32_t *oid);
/* Drop one reference; at zero the entry is removed and released (close_error: for sinks). */
void rem__export_unref(struct rem_channel *ch, int32_t oid, const char *close_error);
void rem__exports_terminate(struct rem_channel *ch);

/* utf16.c (conversion rules in its header comment). out needs 2 * (n + 3) bytes; returns the
 * bytes written (UTF-16BE). final: the stream ends here, a cut sequence becomes U+FFFD. */
size_t rem__utf8_to_utf16be(struct rem_utf8_state *st, const uint8_t *p, size_t n, bool final,
                            uint8_t *out);
/* out needs 3 * nunits + 3 bytes; returns the bytes written (UTF-8). *hi carries a high
 * surrogate that ended the input to the next call. */
size_t rem__utf16be_to_utf8(uint16_t *hi, const uint8_t *p, size_t nunits, uint8_t *out);

/* pipe.c */
/* chars: a ProxyWriter command (else ProxyOutputStream / Pipe). */
void rem__io_enqueue(struct rem_channel *ch, enum rem_io_kind kind, bool chars, struct jos_msg *m,
                     struct jos_val *cmd);
void rem__io_terminate(struct rem_channel *ch);
void rem__on_ack(struct rem_channel *ch, struct jos_val *cmd);
void rem__on_dead_writer(struct rem_channel *ch, struct jos_val *cmd);
void rem__ostreams_pump(struct rem_channel *ch);
void rem__ostreams_terminate(struct rem_channel *ch);
void rem__pulls_terminate(struct rem_channel *ch);

/* ping (channel.c) */
void rem__ping_configure(struct rem_channel *ch, uint32_t interval_ms, uint32_t timeout_ms);

#endif
