#include "conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "callables_agent.h"
#include "capability.h"
#include "conf.h"
#include "dial.h"
#include "err.h"
#include "http.h"
#include "jnlp4.h"
#include "link.h"
#include "log.h"
#include "proxy.h"
#include "tls.h"
#include "util.h"
#include "version.h"
#include "ws.h"

#define C_LOG "conn"

/* The channel's link callbacks, moved aside so the supervisor sees the WebSocket link close
 * (proto_ws has no callback of its own for that); the trampolines below forward everything. */
struct ws_session {
    struct agent_conn *c;
    proto_link_command_cb on_command;
    proto_link_drain_cb on_drain;
    proto_link_closed_cb on_closed;
    void *arg;
};

struct agent_conn {
    uv_loop_t *loop;
    const struct agent_conf *conf; /* borrowed for the run */
    struct agent_conn_hooks hooks;
    enum agent_conn_state state;
    int handles_open;
    uv_timer_t timer; /* back-off, probe deadline, ready polling */
    uv_signal_t sigint;
    uv_signal_t sigterm;
    SSL_CTX *jnlp4_ctx; /* owned */
    SSL_CTX *https_ctx; /* owned, NULL until an https URL needs it */

    size_t n_urls;
    const char *urls[AGENT_CONF_MAX_LIST]; /* borrowed from conf; reordered on success */
    char urls_text[2048];                  /* "[http://a/, http://b/]" */
    size_t url_idx;
    struct ag_err first_err; /* the first discovery error of the round */
    bool have_first_err;

    bool direct;
    bool first;
    uint64_t first_attempt; /* uv_now of the current reconnect sequence start */
    uint64_t retry_ms;      /* AGENT_CONN_RETRY_MS, or AG_TEST_RETRY_MS */
    uint64_t step_ms;       /* JNLP4 step and WebSocket connect deadline: 0 (defaults), or
                             * AG_TEST_STEP_MS */

    struct proto_http *http;   /* discovery or ready poll in flight */
    char req_url[2200];        /* the URL of that GET (after redirects) */
    unsigned redirects;        /* followed so far for the current GET */
    struct proto_dial *probe;  /* reachability probe in flight */
    struct proto_jnlp4 *j;     /* connection attempt or session */
    struct proto_endpoint ep;  /* owned identity */
    bool have_ep;
    size_t proto_idx; /* next entry of k_protocols to consider */
    size_t tried;

    char *cookie; /* owned: the controller's cookie from the last session */

    struct agent_proxies proxies; /* transport.md 3.8, agent/proxy.h */

    /* WebSocket mode (5.1, 9.2) */
    struct proto_ws *ws;                /* upgrade in flight, or the session's link */
    struct proto_ws_preflight *pf;      /* pre-flight in flight */
    struct ws_session ws_sess;
    uint64_t ws_delay_ms;               /* the last back-off (ExponentialRetry) */
    uint64_t ws_seq_start;              /* start of the current retry sequence */
    bool exit_set;
    int exit_status;
    bool stopping;
    bool forced_stop;      /* the grace period ran out; handles are still open */
    uv_timer_t *stop_timer; /* owned: the grace period after conn_stop */
};

static const char *const k_protocols[] = {PROTO_JNLP4_PROXY_NAME, PROTO_JNLP4_NAME};

static void cycle(struct agent_conn *c);
static void try_protocol(struct agent_conn *c);
static void discover_next(struct agent_conn *c);

const char *
agent_conn_state_name(enum agent_conn_state s)
{
    switch (s) {
    case AGENT_CONN_IDLE:
        return "idle";
    case AGENT_CONN_LOCATING:
        return "locating";
    case AGENT_CONN_PROBING:
        return "probing";
    case AGENT_CONN_HANDSHAKING:
        return "handshaking";
    case AGENT_CONN_CONNECTED:
        return "connected";
    case AGENT_CONN_BACKOFF:
        return "backoff";
    case AGENT_CONN_WAIT_READY:
        return "wait-ready";
    case AGENT_CONN_WS_PREFLIGHT:
        return "ws-preflight";
    case AGENT_CONN_WS_UPGRADE:
        return "ws-upgrade";
    case AGENT_CONN_STOPPING:
        return "stopping";
    }
    return "?";
}

static void
conn_set_state(struct agent_conn *c, enum agent_conn_state s)
{
    if (c->state != s) {
        AG_LOG_DEBUG(C_LOG, "state %s -> %s", agent_conn_state_name(c->state),
                     agent_conn_state_name(s));
        c->state = s;
    }
}

void
agent_conn_format_duration(uint64_t ms, char *out, size_t size)
{
    static const struct {
        uint64_t ms;
        const char *unit;
    } parts[] = {
        {86400000u, "day"}, {3600000u, "hour"}, {60000u, "minute"}, {1000u, "second"}};
    size_t o = 0;

    out[0] = '\0';
    for (size_t i = 0; i < AG_ARRAY_LEN(parts); i++) {
        uint64_t n = ms / parts[i].ms;
        int w;

        if (n == 0) {
            continue;
        }
        ms -= n * parts[i].ms;
        w = snprintf(out + o, size - o, "%s%llu %s%s", o > 0 ? ", " : "", (unsigned long long)n,
                     parts[i].unit, n > 1 ? "s" : "");
        if (w < 0 || (size_t)w >= size - o) {
            return;
        }
        o += (size_t)w;
    }
    if (o == 0) {
        (void)snprintf(out, size, "%llu milliseconds", (unsigned long long)ms);
    }
}

/* "10 seconds" for the default back-off; test runs may shorten it. */
static void
retry_text(const struct agent_conn *c, char *out, size_t size)
{
    if (c->retry_ms % 1000 == 0) {
        (void)snprintf(out, size, "%llu seconds", (unsigned long long)(c->retry_ms / 1000));
    } else {
        (void)snprintf(out, size, "%llu milliseconds", (unsigned long long)c->retry_ms);
    }
}

/* ---- stopping ---- */

static void
on_handle_closed(uv_handle_t *h)
{
    struct agent_conn *c = h->data;

    c->handles_open--;
}

static void
release_attempts(struct agent_conn *c)
{
    proto_http_free(c->http);
    c->http = NULL;
    proto_dial_cancel(c->probe);
    c->probe = NULL;
    proto_jnlp4_free(c->j);
    c->j = NULL;
    proto_ws_preflight_free(c->pf);
    c->pf = NULL;
    proto_ws_free(c->ws);
    c->ws = NULL;
}

static void
on_stop_deadline(uv_timer_t *t)
{
    struct agent_conn *c = t->data;

    AG_LOG_WARN(C_LOG, "some connection handles did not close within %u ms; exiting anyway",
                AGENT_CONN_STOP_GRACE_MS);
    c->forced_stop = true;
    uv_stop(t->loop);
}

static void
on_stop_timer_closed(uv_handle_t *h)
{
    ag_free(h);
}

/* Tell the channel its link is going away (link.h: on_closed fires once), before the link is
 * freed without further callbacks. */
static void
end_channel(struct agent_conn *c, const char *why)
{
    struct proto_link *link = NULL;
    proto_link_closed_cb cb = NULL;
    void *arg = NULL;

    if (c->j != NULL) {
        link = proto_jnlp4_link(c->j);
        cb = link->on_closed;
        arg = link->cb_arg;
    } else if (c->ws != NULL) {
        link = proto_ws_link(c->ws);
        cb = c->ws_sess.on_closed;
        arg = c->ws_sess.arg;
    }
    if (link == NULL) {
        return;
    }
    link->on_command = NULL;
    link->on_drain = NULL;
    link->on_closed = NULL;
    if (cb != NULL) {
        cb(link, AG_ECLOSED, why, arg);
    }
}

/* Finish the run with status: close everything so uv_run returns. */
static void
conn_stop(struct agent_conn *c, int status)
{
    if (c->stopping) {
        return;
    }
    c->stopping = true;
    if (!c->exit_set) {
        c->exit_set = true;
        c->exit_status = status;
    }
    if (c->state == AGENT_CONN_CONNECTED) {
        end_channel(c, "the agent is stopping");
    }
    conn_set_state(c, AGENT_CONN_STOPPING);
    release_attempts(c);
    /* A library that never lets go of its handles must not keep the process alive: after a
     * grace period, stop the loop anyway (the timer is unreferenced, so it never delays a
     * clean exit, and it is left to the process exit when it fires). */
    c->stop_timer = ag_malloc(sizeof(*c->stop_timer));
    if (c->stop_timer != NULL && uv_timer_init(c->loop, c->stop_timer) == 0) {
        c->stop_timer->data = c;
        (void)uv_timer_start(c->stop_timer, on_stop_deadline, AGENT_CONN_STOP_GRACE_MS, 0);
        uv_unref((uv_handle_t *)c->stop_timer);
    } else {
        ag_free(c->stop_timer);
        c->stop_timer = NULL;
    }
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    uv_close((uv_handle_t *)&c->sigint, on_handle_closed);
    uv_close((uv_handle_t *)&c->sigterm, on_handle_closed);
}

static void
on_signal(uv_signal_t *s, int signum)
{
    struct agent_conn *c = s->data;

    AG_LOG_INFO(C_LOG, "Received %s, stopping", signum == SIGINT ? "SIGINT" : "SIGTERM");
    if (c->state == AGENT_CONN_CONNECTED) {
        AG_LOG_INFO(C_LOG, "Terminated");
    }
    conn_stop(c, signum == SIGINT ? AGENT_EXIT_SIGINT : AGENT_EXIT_SIGTERM);
}

/* ---- timers ---- */

static void
after(struct agent_conn *c, uint64_t ms, uv_timer_cb cb)
{
    (void)uv_timer_start(&c->timer, cb, ms, 0);
}

static bool
bail_out_due(struct agent_conn *c)
{
    char d[96];

    if (!c->conf->has_no_reconnect_after ||
        uv_now(c->loop) - c->first_attempt <= c->conf->no_reconnect_after_ms) {
        return false;
    }
    agent_conn_format_duration(c->conf->no_reconnect_after_ms, d, sizeof(d));
    AG_LOG_INFO(C_LOG, "Bailing out after %s", d);
    conn_stop(c, AGENT_EXIT_OK);
    return true;
}

static void
on_backoff_done(uv_timer_t *t)
{
    cycle(t->data);
}

/* "reconnect rejected" / "Could not locate": sleep the fixed back-off, then loop. */
static void
backoff(struct agent_conn *c)
{
    conn_set_state(c, AGENT_CONN_BACKOFF);
    after(c, c->retry_ms, on_backoff_done);
}

/* ---- the placeholder channel: keep the link up, answer nothing ---- */

static void
on_cmd_placeholder(struct proto_link *link, struct ag_iov cmd, void *arg)
{
    (void)link;
    (void)arg;
    AG_TRACE(AG_TRACE_CHUNK, "command of %zu bytes (no channel attached; ignored)", cmd.len);
}

static void
on_closed_placeholder(struct proto_link *link, int code, const char *why, void *arg)
{
    (void)link;
    (void)code;
    (void)why;
    (void)arg;
}

/* ---- after a session ---- */

static void ready_poll(struct agent_conn *c);

static void
reconnect_now(struct agent_conn *c)
{
    AG_LOG_INFO(C_LOG, "Performing onReconnect operation.");
    AG_LOG_INFO(C_LOG, "onReconnect operation completed.");
    cycle(c);
}

static void on_ready(struct proto_http *h, int status, const struct proto_http_resp *resp,
                     const char *why, void *arg);
static void on_discovery(struct proto_http *h, int status, const struct proto_http_resp *resp,
                         const char *why, void *arg);

/* GET c->req_url: discovery (3.2) or a ready poll (3.4), with agent.jar's headers. */
static int
http_get(struct agent_conn *c, bool ready, struct ag_err *err)
{
    struct proto_http_get_opts o = {0};

    o.url = c->req_url;
    o.node_name = c->conf->name;
    o.credentials = c->conf->credentials;
    o.proxy_credentials = c->conf->proxy_credentials;
    o.tls_ctx = c->https_ctx;
    if (ready) {
        o.connect_ms = AGENT_CONN_READY_POLL_MS;
        o.read_ms = AGENT_CONN_READY_POLL_MS;
    }
    o.proxy = agent_proxy_url(&c->proxies, c->req_url);
    return proto_http_get(c->loop, &o, ready ? on_ready : on_discovery, c, &c->http, err);
}

/* Start a GET of url (a new request, no redirects yet). */
static int
http_get_first(struct agent_conn *c, const char *url, bool ready, struct ag_err *err)
{
    if (ag_snprintf(c->req_url, sizeof(c->req_url), "%s", url) != 0) {
        return ag_err_set(err, AG_EUSAGE, 0, "URL too long");
    }
    c->redirects = 0;
    return http_get(c, ready, err);
}

/*
 * Java's HttpURLConnection follows same-scheme redirects (transport.md 3.2). 1: the redirect
 * is under way and the callback fires again; 0: resp is the answer; < 0: err says why not.
 * Call before freeing the request that produced resp.
 */
static int
follow_redirect(struct agent_conn *c, bool ready, int status, const struct proto_http_resp *resp,
                struct ag_err *err)
{
    char next[sizeof(c->req_url)];
    int rc;

    if (status <= 0) {
        return 0;
    }
    rc = proto_http_redirect(c->req_url, status, resp, next, sizeof(next), err);
    if (rc <= 0) {
        return rc;
    }
    if (c->redirects >= PROTO_HTTP_MAX_REDIRECTS) {
        return ag_err_set(err, AG_ELIMIT, 0, "Server redirected too many times (%d)",
                          PROTO_HTTP_MAX_REDIRECTS);
    }
    c->redirects++;
    AG_LOG_DEBUG(C_LOG, "HTTP %d from %s: following the redirect to %s", status, c->req_url,
                 next);
    memcpy(c->req_url, next, sizeof(next));
    rc = http_get(c, ready, err);
    return rc == 0 ? 1 : rc;
}

static void
on_ready(struct proto_http *h, int status, const struct proto_http_resp *resp, const char *why,
         void *arg)
{
    struct agent_conn *c = arg;
    struct ag_err err = {0};
    int rc;

    c->http = NULL;
    rc = follow_redirect(c, true, status, resp, &err);
    proto_http_free(h);
    if (rc == 1) {
        return;
    }
    if (rc < 0) {
        AG_LOG_INFO(C_LOG, "Failed to connect to %s. Will try again: %s", c->urls[0], err.msg);
        ready_poll(c);
        return;
    }
    if (status == 200) {
        reconnect_now(c);
        return;
    }
    if (status > 0) {
        AG_LOG_INFO(C_LOG, "Controller isn't ready to talk to us on %s. Will try again: "
                           "response code=%d",
                    c->urls[0], status);
    } else {
        AG_LOG_INFO(C_LOG, "Failed to connect to %s. Will try again: %s", c->urls[0], why);
    }
    ready_poll(c);
}

static void
on_ready_timer(uv_timer_t *t)
{
    struct agent_conn *c = t->data;
    struct ag_err err = {0};
    char url[2200];
    int rc;

    if (bail_out_due(c)) {
        return;
    }
    (void)snprintf(url, sizeof(url), "%stcpSlaveAgentListener/", c->urls[0]);
    rc = http_get_first(c, url, true, &err);
    if (rc != 0) {
        AG_LOG_INFO(C_LOG, "Failed to connect to %s. Will try again: %s", c->urls[0], err.msg);
        ready_poll(c);
    }
}

/* waitForReady (3.4): sleep, GET the first URL, until it answers 200. */
static void
ready_poll(struct agent_conn *c)
{
    conn_set_state(c, AGENT_CONN_WAIT_READY);
    after(c, c->retry_ms, on_ready_timer);
}

static void
on_session_gone(struct proto_jnlp4 *j, int status, const char *why, void *arg)
{
    struct agent_conn *c = arg;

    AG_LOG_DEBUG(C_LOG, "link closed: %s (%s)", why != NULL ? why : "", ag_strerror(status));
    if (status != 0 && why != NULL) {
        AG_LOG_INFO(C_LOG, "Connection to the controller ended: %s", why);
    }
    proto_jnlp4_free(j);
    c->j = NULL;
    AG_LOG_INFO(C_LOG, "Terminated");
    /* SlaveDisconnector (docs/node.md): the controller removed the node for good. */
    if (c->conf->no_reconnect || !agent_node_reconnect_allowed()) {
        conn_stop(c, AGENT_EXIT_OK);
        return;
    }
    c->first_attempt = uv_now(c->loop);
    if (c->direct) {
        /* agent.jar quirk (3.6): direct mode only logs this and reconnects at once. */
        AG_LOG_INFO(C_LOG, "Sleeping 10s before reconnect.");
        reconnect_now(c);
        return;
    }
    ready_poll(c);
}

/* ---- WebSocket (5.1, 9.2) ---- */

static void ws_preflight(struct agent_conn *c);
static void on_ws_session_end(uv_timer_t *t);
static void ws_upgrade(struct agent_conn *c);

static void
ws_params(const struct agent_conn *c, struct proto_ws_params *p)
{
    memset(p, 0, sizeof(*p));
    p->base_url = c->urls[0];
    p->name = c->conf->name;
    p->secret = c->conf->secret;
    p->cookie = c->cookie;
    p->extra_headers = (const char *const *)c->conf->ws_headers.v;
    p->n_extra_headers = c->conf->ws_headers.n;
    p->our_capability = PROTO_CAPABILITY_OURS;
    p->ca_pems = (const char *const *)c->conf->certs.v;
    p->n_ca_pems = c->conf->certs.n;
    p->insecure = c->conf->no_certificate_check;
    p->our_version = AG_REMOTING_VERSION;
    p->connect_ms = c->step_ms; /* 0 (the default) unless AG_TEST_STEP_MS */
}

static void
on_ws_retry_preflight(uv_timer_t *t)
{
    ws_preflight(t->data);
}

static void
on_ws_retry_upgrade(uv_timer_t *t)
{
    ws_upgrade(t->data);
}

/* ExponentialRetry: 1 s, 3 s, 7 s, 10 s, 10 s, ...; bounded by -noReconnectAfter. */
static void
ws_retry(struct agent_conn *c, uv_timer_cb cb)
{
    char d[96];

    if (c->conf->has_no_reconnect_after &&
        uv_now(c->loop) - c->ws_seq_start > c->conf->no_reconnect_after_ms) {
        agent_conn_format_duration(c->conf->no_reconnect_after_ms, d, sizeof(d));
        AG_LOG_INFO(C_LOG, "Bailing out after %s", d);
        conn_stop(c, AGENT_EXIT_OK);
        return;
    }
    c->ws_delay_ms = c->ws_delay_ms == 0 ? 1000 : 2 * c->ws_delay_ms + 1000;
    if (c->ws_delay_ms > 10000) {
        c->ws_delay_ms = 10000;
    }
    agent_conn_format_duration(c->ws_delay_ms, d, sizeof(d));
    AG_LOG_INFO(C_LOG, "Waiting %s before retry", d);
    conn_set_state(c, AGENT_CONN_BACKOFF);
    after(c, c->ws_delay_ms, cb);
}

static void
ws_cycle(struct agent_conn *c)
{
    c->ws_seq_start = uv_now(c->loop);
    c->ws_delay_ms = 0;
    ws_preflight(c);
}

static void
on_ws_command(struct proto_link *link, struct ag_iov cmd, void *arg)
{
    struct ws_session *s = arg;

    if (s->on_command != NULL) {
        s->on_command(link, cmd, s->arg);
    }
}

static void
on_ws_drain(struct proto_link *link, void *arg)
{
    struct ws_session *s = arg;

    if (s->on_drain != NULL) {
        s->on_drain(link, s->arg);
    }
}

static void
on_ws_closed(struct proto_link *link, int code, const char *why, void *arg)
{
    struct ws_session *s = arg;
    struct agent_conn *c = s->c;

    if (s->on_closed != NULL) {
        s->on_closed(link, code, why, s->arg);
    }
    if (code != 0 && why != NULL) {
        AG_LOG_INFO(C_LOG, "Connection to the controller ended: %s", why);
    }
    /* Leave lws's callback first: freeing the link from inside it left lws's socket handle
     * open (the loop never ended), so the rest runs from the next loop turn. */
    after(c, 0, on_ws_session_end);
}

static void
on_ws_session_end(uv_timer_t *t)
{
    struct agent_conn *c = t->data;

    proto_ws_free(c->ws);
    c->ws = NULL;
    AG_LOG_INFO(C_LOG, "Terminated");
    /* SlaveDisconnector (docs/node.md): the controller removed the node for good. */
    if (c->conf->no_reconnect || !agent_node_reconnect_allowed()) {
        conn_stop(c, AGENT_EXIT_OK);
        return;
    }
    AG_LOG_INFO(C_LOG, "Performing onReconnect operation.");
    AG_LOG_INFO(C_LOG, "onReconnect operation completed.");
    ws_cycle(c);
}

static void
on_ws_connect(struct proto_ws *ws, int status, const char *why, void *arg)
{
    struct agent_conn *c = arg;
    struct proto_link *link;
    const char *cookie;

    if (status != 0) {
        if (proto_ws_fatal(ws)) {
            AG_LOG_SEVERE(C_LOG, "%s", why != NULL ? why : "the controller refused us for good");
            proto_ws_free(ws);
            c->ws = NULL;
            conn_stop(c, AGENT_EXIT_FATAL);
            return;
        }
        AG_LOG_INFO(C_LOG, "Failed to connect: %s", why != NULL ? why : ag_strerror(status));
        proto_ws_free(ws);
        c->ws = NULL;
        ws_retry(c, on_ws_retry_upgrade);
        return;
    }
    AG_LOG_INFO(C_LOG, "WebSocket connection open");
    cookie = proto_ws_cookie(ws);
    ag_free(c->cookie);
    c->cookie = cookie != NULL ? ag_strdup(cookie) : NULL;
    conn_set_state(c, AGENT_CONN_CONNECTED);
    AG_LOG_INFO(C_LOG, "Connected");
    link = proto_ws_link(ws);
    link->on_command = on_cmd_placeholder;
    link->on_closed = on_closed_placeholder;
    link->on_drain = NULL;
    link->cb_arg = c;
    if (c->hooks.attach != NULL && c->hooks.attach(link, c->hooks.arg) != 0) {
        AG_LOG_WARN(C_LOG, "cannot start the channel");
        link->on_command = on_cmd_placeholder;
        link->on_closed = on_closed_placeholder;
        link->on_drain = NULL;
        link->cb_arg = c;
        proto_link_close(link);
    }
    c->ws_sess.c = c;
    c->ws_sess.on_command = link->on_command;
    c->ws_sess.on_drain = link->on_drain;
    c->ws_sess.on_closed = link->on_closed;
    c->ws_sess.arg = link->cb_arg;
    link->on_command = on_ws_command;
    link->on_drain = on_ws_drain;
    link->on_closed = on_ws_closed;
    link->cb_arg = &c->ws_sess;
}

static void
ws_upgrade(struct agent_conn *c)
{
    struct proto_ws_params p;
    int rc;

    ws_params(c, &p);
    p.proxy = agent_proxy_ws(&c->proxies, c->urls[0]);
    conn_set_state(c, AGENT_CONN_WS_UPGRADE);
    rc = proto_ws_connect(c->loop, &p, on_ws_connect, c, &c->ws);
    if (rc != 0) {
        AG_LOG_INFO(C_LOG, "Failed to connect: %s", ag_strerror(rc));
        c->ws = NULL;
        ws_retry(c, on_ws_retry_upgrade);
    }
}

static void
on_ws_preflight(struct proto_ws_preflight *pf, int status, const char *why, void *arg)
{
    struct agent_conn *c = arg;

    proto_ws_preflight_free(pf);
    c->pf = NULL;
    if (status == 200) {
        /* The upgrade is a retry sequence of its own (9.2). */
        c->ws_seq_start = uv_now(c->loop);
        c->ws_delay_ms = 0;
        ws_upgrade(c);
        return;
    }
    if (status > 0) {
        AG_LOG_INFO(C_LOG, "%slogin is not ready: %d", c->urls[0], status);
    } else {
        AG_LOG_INFO(C_LOG, "%slogin is not ready: %s", c->urls[0],
                    why != NULL ? why : ag_strerror(status));
    }
    ws_retry(c, on_ws_retry_preflight);
}

static void
ws_preflight(struct agent_conn *c)
{
    struct proto_ws_params p;
    struct proto_dial_proxy proxy;
    int rc;

    ws_params(c, &p);
    p.proxy = agent_proxy_preflight(&c->proxies, c->urls[0], &proxy);
    conn_set_state(c, AGENT_CONN_WS_PREFLIGHT);
    rc = proto_ws_preflight(c->loop, &p, on_ws_preflight, c, &c->pf);
    if (rc != 0) {
        AG_LOG_INFO(C_LOG, "%slogin is not ready: %s", c->urls[0], ag_strerror(rc));
        c->pf = NULL;
        ws_retry(c, on_ws_retry_preflight);
    }
}

/* ---- TCP: the protocol loop (4.1) ---- */

static void
log_failure(struct agent_conn *c, struct proto_jnlp4 *j, const char *proto, int status,
            const char *why)
{
    const char *step = proto_jnlp4_step(j);
    bool is_proxy = strcmp(proto, PROTO_JNLP4_PROXY_NAME) == 0;
    const char *hint = "";
    char msg[900];

    if (proto_jnlp4_refused(j)) {
        if (strcmp(why, "Authorization failure") == 0) {
            hint = " (the -secret is not this agent's secret: copy it from the agent's page on "
                   "the controller)";
        } else if (strncmp(why, "Unknown client name: ", 21) == 0) {
            hint = " (the controller has no agent of that name: check -name)";
        } else if (strstr(why, "is already connected to this controller") != NULL) {
            hint = " (another process is connected as this agent; retried until the controller "
                   "drops it)";
        } else if (strstr(why, "is not an inbound agent") != NULL) {
            hint = " (set the node's launch method to inbound agent on the controller)";
        }
        (void)snprintf(msg, sizeof(msg), "Local headers refused by remote: %s%s", why, hint);
    } else if (strcmp(step, "tls") == 0 && status == AG_EREFUSED) {
        (void)snprintf(msg, sizeof(msg),
                       "Protocol %s: %s:%u is not the expected controller: %s %s (check "
                       "-instanceIdentity, or the controller's X-Instance-Identity and -tunnel)",
                       proto, c->ep.host, (unsigned)c->ep.port, why, c->ep.fingerprint);
    } else if (strcmp(step, "tls") == 0) {
        (void)snprintf(msg, sizeof(msg),
                       "Protocol %s: TLS handshake with %s:%u failed: %s (is this the "
                       "controller's agent port?)",
                       proto, c->ep.host, (unsigned)c->ep.port, why);
    } else if (strcmp(step, "connect") == 0) {
        (void)snprintf(msg, sizeof(msg),
                       "Protocol %s: %s (check that the controller's agent port is reachable; "
                       "-direct/-tunnel)",
                       proto, why);
    } else if (strcmp(step, "ack") == 0 && status == AG_ETIMEDOUT) {
        /* Connected, then nothing at all: a stalled network, tunnel or proxy, not a wrong port. */
        (void)snprintf(msg, sizeof(msg),
                       "Protocol %s: %s (nothing came back from %s:%u: is the network, the "
                       "tunnel or a proxy on the way stalled?)",
                       proto, why, c->ep.host, (unsigned)c->ep.port);
    } else if (strcmp(step, "ack") == 0) {
        (void)snprintf(msg, sizeof(msg), "Protocol %s: %s (%s:%u does not speak %s)", proto, why,
                       c->ep.host, (unsigned)c->ep.port, proto);
    } else {
        (void)snprintf(msg, sizeof(msg), "Protocol %s failed during the %s step: %s", proto,
                       step, why);
    }
    if (is_proxy) {
        /* Jenkins core never speaks it; agent.jar logs this attempt at INFO too. */
        AG_LOG_INFO(C_LOG, "Protocol %s encountered an unexpected exception: %s", proto, msg);
    } else {
        AG_LOG_WARN(C_LOG, "%s", msg);
    }
}

static void
on_jnlp4(struct proto_jnlp4 *j, int status, const char *why, void *arg)
{
    struct agent_conn *c = arg;
    const char *proto = k_protocols[c->proto_idx - 1];
    struct proto_link *link;
    const char *cookie;

    if (status != 0) {
        log_failure(c, j, proto, status, why != NULL ? why : ag_strerror(status));
        proto_jnlp4_free(j);
        c->j = NULL;
        try_protocol(c);
        return;
    }
    AG_LOG_INFO(C_LOG, "Remote identity confirmed: %s", proto_jnlp4_fingerprint(j));
    AG_LOG_DEBUG(C_LOG, "TLS %s; controller capability 0x%llx, ours 0x%llx",
                 proto_jnlp4_tls_info(j),
                 (unsigned long long)proto_jnlp4_link(j)->peer_capability,
                 (unsigned long long)proto_jnlp4_link(j)->our_capability);
    cookie = proto_jnlp4_cookie(j);
    if (cookie != NULL) {
        char *copy = ag_strdup(cookie);

        if (copy != NULL) {
            ag_free(c->cookie);
            c->cookie = copy;
        }
    }
    conn_set_state(c, AGENT_CONN_CONNECTED);
    AG_LOG_INFO(C_LOG, "Connected");
    link = proto_jnlp4_link(j);
    link->on_command = on_cmd_placeholder;
    link->on_closed = on_closed_placeholder;
    link->on_drain = NULL;
    link->cb_arg = c;
    if (c->hooks.attach != NULL) {
        int rc = c->hooks.attach(link, c->hooks.arg);

        if (rc != 0) {
            AG_LOG_WARN(C_LOG, "cannot start the channel: %s", ag_strerror(rc));
            proto_link_close(link);
        }
    }
}

static bool
protocol_disabled(const char *name)
{
    /* agent.jar's system properties, read from the environment (docs/connect.md). */
    const char *v = strcmp(name, PROTO_JNLP4_PROXY_NAME) == 0
                        ? getenv("JNLP4_CONNECT_PROXY_DISABLED")
                        : getenv("JNLP4_CONNECT_DISABLED");

    return v != NULL && strcmp(v, "true") == 0;
}

static bool
protocol_wanted(const struct agent_conn *c, const char *name)
{
    if (c->direct) {
        if (c->conf->protocols.n == 0) {
            return true;
        }
        for (size_t i = 0; i < c->conf->protocols.n; i++) {
            if (strcmp(c->conf->protocols.v[i], name) == 0) {
                return true;
            }
        }
        return false;
    }
    return proto_endpoint_accepts(&c->ep, name);
}

static void
try_protocol(struct agent_conn *c)
{
    while (c->proto_idx < AG_ARRAY_LEN(k_protocols)) {
        const char *name = k_protocols[c->proto_idx++];
        struct proto_jnlp4_params p = {0};
        int rc;

        if (protocol_disabled(name)) {
            AG_LOG_INFO(C_LOG, "Protocol %s is not enabled, skipping", name);
            continue;
        }
        if (!protocol_wanted(c, name)) {
            AG_LOG_INFO(C_LOG, "Server reports protocol %s not supported, skipping", name);
            continue;
        }
        c->tried++;
        AG_LOG_INFO(C_LOG, "Trying protocol: %s", name);
        AG_LOG_INFO(C_LOG, "Connecting to %s:%u", c->ep.host, (unsigned)c->ep.port);
        p.host = c->ep.host;
        p.port = c->ep.port;
        p.proxy = agent_proxy_agent_port(&c->proxies, c->ep.host);
        p.identity = c->ep.identity;
        p.identity_len = c->ep.identity_len;
        p.name = c->conf->name;
        p.secret = c->conf->secret;
        p.cookie = c->cookie;
        p.proxy_protocol = strcmp(name, PROTO_JNLP4_PROXY_NAME) == 0;
        p.keepalive = !c->conf->no_keep_alive;
        p.our_capability = PROTO_CAPABILITY_OURS;
        p.tls_ctx = c->jnlp4_ctx;
        p.step_ms = c->step_ms;
        conn_set_state(c, AGENT_CONN_HANDSHAKING);
        rc = proto_jnlp4_connect(c->loop, &p, on_jnlp4, on_session_gone, c, &c->j);
        if (rc == 0) {
            return;
        }
        AG_LOG_WARN(C_LOG, "Protocol %s: cannot start: %s", name, ag_strerror(rc));
    }
    if (c->tried == 0) {
        AG_LOG_INFO(C_LOG, "reconnect rejected, sleeping 10s: java.lang.Exception: The server "
                           "rejected the connection: None of the protocols are enabled");
        /* agent.jar sleeps, then returns (exit 0). */
        c->exit_set = true;
        c->exit_status = AGENT_EXIT_OK;
        conn_set_state(c, AGENT_CONN_BACKOFF);
        after(c, c->retry_ms, on_backoff_done);
        c->first = false;
        return;
    }
    AG_LOG_INFO(C_LOG, "reconnect rejected, sleeping 10s: java.lang.Exception: The server "
                       "rejected the connection: None of the protocols were accepted");
    backoff(c);
}

static void
endpoint_ready(struct agent_conn *c)
{
    if (!c->direct) {
        AG_LOG_INFO(C_LOG, "Remoting server accepts the following protocols: %s",
                    c->ep.protocols_text);
    }
    AG_LOG_INFO(C_LOG, "Agent discovery successful");
    AG_LOG_INFO(C_LOG, "  Agent address: %s", c->ep.host);
    AG_LOG_INFO(C_LOG, "  Agent port:    %u", (unsigned)c->ep.port);
    AG_LOG_INFO(C_LOG, "  Identity:      %s", c->ep.fingerprint);
    AG_LOG_INFO(C_LOG, "Handshaking");
    c->proto_idx = 0;
    c->tried = 0;
    try_protocol(c);
}

/* ---- discovery (3.3) ---- */

static void
discovery_failed(struct agent_conn *c)
{
    char wait[48];

    if (c->conf->no_reconnect) {
        AG_LOG_SEVERE(C_LOG, "Could not locate server among %s: %s", c->urls_text,
                      c->first_err.msg);
        conn_stop(c, AGENT_EXIT_FATAL);
        return;
    }
    retry_text(c, wait, sizeof(wait));
    AG_LOG_INFO(C_LOG, "Could not locate server among %s; waiting %s before retry", c->urls_text,
                wait);
    AG_LOG_WARN(C_LOG, "%s", c->first_err.msg);
    backoff(c);
}

static void
url_failed(struct agent_conn *c, const struct ag_err *e)
{
    AG_LOG_DEBUG(C_LOG, "candidate %s failed: %s", c->urls[c->url_idx], e->msg);
    if (!c->have_first_err) {
        c->first_err = *e;
        c->have_first_err = true;
    }
    c->url_idx++;
    discover_next(c);
}

static void
url_succeeded(struct agent_conn *c)
{
    const char *won = c->urls[c->url_idx];
    struct ag_err err = {0};

    /* The URL that worked goes to the front for the next round (3.1). */
    memmove(&c->urls[1], &c->urls[0], c->url_idx * sizeof(c->urls[0]));
    c->urls[0] = won;
    if (c->conf->tunnel != NULL) {
        char host[256];
        uint16_t port = 0;

        if (proto_hostport_parse(c->conf->tunnel, c->ep.host, c->ep.port, host, &port, &err) !=
            0) {
            AG_LOG_SEVERE(C_LOG, "-tunnel %s: %s", c->conf->tunnel, err.msg);
            conn_stop(c, AGENT_EXIT_FATAL);
            return;
        }
        (void)snprintf(c->ep.host, sizeof(c->ep.host), "%s", host);
        c->ep.port = port;
    }
    endpoint_ready(c);
}

static void
on_probe(struct proto_dial *d, int status, uv_tcp_t *tcp, const char *why, void *arg)
{
    struct agent_conn *c = arg;

    (void)d;
    (void)why;
    c->probe = NULL;
    uv_timer_stop(&c->timer);
    if (status == 0) {
        proto_dial_close_tcp(tcp); /* close at once, sending nothing (3.3 step 8) */
        url_succeeded(c);
        return;
    }
    {
        struct ag_err e = {0};

        (void)ag_err_set(&e, status, 0, "%s provided port:%u is not reachable on host %s",
                         c->urls[c->url_idx], (unsigned)c->ep.port, c->ep.host);
        proto_endpoint_fini(&c->ep);
        c->have_ep = false;
        url_failed(c, &e);
    }
}

static void
on_probe_timeout(uv_timer_t *t)
{
    struct agent_conn *c = t->data;
    struct ag_err e = {0};

    proto_dial_cancel(c->probe);
    c->probe = NULL;
    (void)ag_err_set(&e, AG_ETIMEDOUT, 0, "%s provided port:%u is not reachable on host %s",
                     c->urls[c->url_idx], (unsigned)c->ep.port, c->ep.host);
    proto_endpoint_fini(&c->ep);
    c->have_ep = false;
    url_failed(c, &e);
}

static void
on_discovery(struct proto_http *h, int status, const struct proto_http_resp *resp,
             const char *why, void *arg)
{
    struct agent_conn *c = arg;
    const char *url = c->urls[c->url_idx];
    struct proto_http_url u;
    struct ag_err err = {0};
    int rc;

    c->http = NULL;
    rc = follow_redirect(c, false, status, resp, &err);
    if (rc == 1) {
        proto_http_free(h);
        return;
    }
    if (rc < 0) {
        struct ag_err e2 = {0};

        (void)ag_err_set(&e2, rc, 0, "Failed to connect to %stcpSlaveAgentListener/: %s", url,
                         err.msg);
        proto_http_free(h);
        url_failed(c, &e2);
        return;
    }
    if (status < 0) {
        (void)ag_err_set(&err, status, 0, "Failed to connect to %stcpSlaveAgentListener/: %s", url,
                         why);
        proto_http_free(h);
        url_failed(c, &err);
        return;
    }
    rc = proto_http_url_parse(url, &u, &err);
    if (rc == 0) {
        rc = proto_discovery_eval(url, &u, status, resp, AG_REMOTING_VERSION, &c->ep, &err);
    }
    proto_http_free(h); /* resp is gone from here on */
    if (rc != 0) {
        url_failed(c, &err);
        return;
    }
    c->have_ep = true;
    if (c->ep.protocols_header_empty) {
        AG_LOG_WARN(C_LOG, "Received the empty list of supported protocols from the server. All "
                           "protocols are disabled on the controller side OR the 'X-Jenkins-Agent-"
                           "Protocols' header is not provided");
    }
    if (c->conf->tunnel != NULL) {
        AG_LOG_INFO(C_LOG, "Remoting TCP connection tunneling is enabled. Skipping the TCP Agent "
                           "Listener Port availability check");
        url_succeeded(c);
        return;
    }
    conn_set_state(c, AGENT_CONN_PROBING);
    rc = proto_dial_start(c->loop, c->ep.host, c->ep.port,
                          agent_proxy_agent_port(&c->proxies, c->ep.host), false, on_probe, c,
                          &c->probe);
    if (rc != 0) {
        (void)ag_err_set(&err, rc, 0, "%s provided port:%u is not reachable on host %s", url,
                         (unsigned)c->ep.port, c->ep.host);
        proto_endpoint_fini(&c->ep);
        c->have_ep = false;
        url_failed(c, &err);
        return;
    }
    after(c, AGENT_CONN_PROBE_MS, on_probe_timeout);
}

static int
ensure_https_ctx(struct agent_conn *c, struct ag_err *err)
{
    if (c->https_ctx != NULL) {
        return 0;
    }
    if (c->conf->no_certificate_check) {
        AG_LOG_WARN(C_LOG, "Certificate validation for HTTPs endpoints is disabled");
    }
    return proto_tls_ctx_new_https((const char *const *)c->conf->certs.v, c->conf->certs.n,
                                   c->conf->no_certificate_check, &c->https_ctx, err);
}

static void
discover_next(struct agent_conn *c)
{
    while (c->url_idx < c->n_urls) {
        const char *url = c->urls[c->url_idx];
        struct ag_err err = {0};
        char sal[2200];
        int rc = 0;

        if (strncmp(url, "https:", 6) == 0) {
            rc = ensure_https_ctx(c, &err);
        }
        if (rc == 0) {
            (void)snprintf(sal, sizeof(sal), "%stcpSlaveAgentListener/", url);
            rc = http_get_first(c, sal, false, &err);
        }
        if (rc == 0) {
            conn_set_state(c, AGENT_CONN_LOCATING);
            return;
        }
        if (!c->have_first_err) {
            c->first_err = err;
            c->have_first_err = true;
        }
        c->url_idx++;
    }
    discovery_failed(c);
}

static int
direct_endpoint(struct agent_conn *c, struct ag_err *err)
{
    int rc;
    const char *id = c->conf->instance_identity;

    rc = proto_hostport_parse(c->conf->direct, NULL, 0, c->ep.host, &c->ep.port, err);
    if (rc != 0) {
        return rc;
    }
    if (id == NULL ||
        proto_tls_identity_decode(id, strlen(id), &c->ep.identity, &c->ep.identity_len, err) !=
            0) {
        return ag_err_set(err, AG_EUSAGE, 0, "Invalid instanceIdentity.");
    }
    proto_tls_fingerprint(c->ep.identity, c->ep.identity_len, c->ep.fingerprint);
    c->ep.any_protocol = true;
    c->have_ep = true;
    return 0;
}

/* The top of agent.jar's Engine loop (9.1). */
static void
cycle(struct agent_conn *c)
{
    if (c->stopping) {
        return;
    }
    if (!c->first && c->conf->no_reconnect) {
        conn_stop(c, AGENT_EXIT_OK);
        return;
    }
    if (!c->first && c->exit_set) {
        /* "None of the protocols are enabled": agent.jar returns after its sleep. */
        conn_stop(c, c->exit_status);
        return;
    }
    c->first = false;
    if (bail_out_due(c)) {
        return;
    }
    if (c->direct) {
        struct ag_err err = {0};

        AG_LOG_INFO(C_LOG, "Locating server among []");
        /* -direct: the endpoint is fixed; it was validated at start. */
        if (!c->have_ep && direct_endpoint(c, &err) != 0) {
            AG_LOG_SEVERE(C_LOG, "%s", err.msg);
            conn_stop(c, AGENT_EXIT_FATAL);
            return;
        }
        endpoint_ready(c);
        return;
    }
    AG_LOG_INFO(C_LOG, "Locating server among %s", c->urls_text);
    if (c->have_ep) {
        proto_endpoint_fini(&c->ep);
        c->have_ep = false;
    }
    memset(&c->ep, 0, sizeof(c->ep));
    c->url_idx = 0;
    c->have_first_err = false;
    discover_next(c);
}

static void
build_urls_text(struct agent_conn *c)
{
    size_t o = 0;

    c->urls_text[o++] = '[';
    for (size_t i = 0; i < c->n_urls; i++) {
        int w = snprintf(c->urls_text + o, sizeof(c->urls_text) - o - 2, "%s%s", i > 0 ? ", " : "",
                         c->urls[i]);

        if (w < 0 || (size_t)w >= sizeof(c->urls_text) - o - 2) {
            break;
        }
        o += (size_t)w;
    }
    c->urls_text[o++] = ']';
    c->urls_text[o] = '\0';
}

int
agent_conn_run(uv_loop_t *loop, const struct agent_conf *conf,
               const struct agent_conn_hooks *hooks)
{
    struct agent_conn *c = ag_calloc(1, sizeof(*c));
    struct ag_err err = {0};
    const char *test_retry = getenv("AG_TEST_RETRY_MS");
    const char *test_step = getenv("AG_TEST_STEP_MS");
    int status;
    int rc;

    if (c == NULL) {
        AG_LOG_SEVERE(C_LOG, "out of memory");
        return AGENT_EXIT_FATAL;
    }
    c->loop = loop;
    c->conf = conf;
    if (hooks != NULL) {
        c->hooks = *hooks;
    }
    c->first = true;
    c->retry_ms = AGENT_CONN_RETRY_MS;
    if (test_retry != NULL) {
        uint64_t v = 0;

        if (ag_parse_u64(test_retry, strlen(test_retry), 600000, &v) == 0 && v > 0) {
            c->retry_ms = v;
        }
    }
    agent_proxies_init(&c->proxies, conf, getenv("http_proxy"),
                       getenv("no_proxy") != NULL ? getenv("no_proxy") : getenv("NO_PROXY"),
                       getenv("proxy_host"));
    if (test_step != NULL) {
        uint64_t v = 0;

        if (ag_parse_u64(test_step, strlen(test_step), 600000, &v) == 0) {
            c->step_ms = v;
        }
    }
    if (conf->secret != NULL) {
        ag_log_add_secret(conf->secret);
    }
    c->direct = conf->direct != NULL;
    c->n_urls = conf->urls.n;
    for (size_t i = 0; i < conf->urls.n; i++) {
        c->urls[i] = conf->urls.v[i];
    }
    build_urls_text(c);
    if (!c->direct && c->n_urls == 0) {
        AG_LOG_SEVERE(C_LOG, "At least one URL is required for inbound agents");
        ag_free(c);
        return AGENT_EXIT_FATAL;
    }
    if (conf->name == NULL || conf->secret == NULL) {
        AG_LOG_SEVERE(C_LOG, "%s is required for inbound agents",
                      conf->name == NULL ? "Name" : "Secret");
        ag_free(c);
        return AGENT_EXIT_FATAL;
    }
    if (c->direct && direct_endpoint(c, &err) != 0) {
        /* agent.jar dies at once on a bad -instanceIdentity (exit 1). */
        AG_LOG_SEVERE(C_LOG, "%s", err.msg);
        proto_endpoint_fini(&c->ep);
        ag_free(c);
        return AGENT_EXIT_FATAL;
    }
    rc = proto_tls_ctx_new_jnlp4(&c->jnlp4_ctx, &err);
    if (rc == 0 && conf->websocket) {
        if (conf->no_certificate_check) {
            AG_LOG_WARN(C_LOG, "Certificate validation for HTTPs endpoints is disabled");
        }
    } else if (rc == 0) {
        bool any_https = false;

        for (size_t i = 0; i < c->n_urls; i++) {
            any_https = any_https || strncmp(c->urls[i], "https:", 6) == 0;
        }
        /* Certificates are read up front, so a bad -cert shows before any connection. */
        if (any_https) {
            rc = ensure_https_ctx(c, &err);
        }
    }
    if (rc != 0) {
        AG_LOG_SEVERE(C_LOG, "%s", err.msg);
        SSL_CTX_free(c->jnlp4_ctx);
        proto_endpoint_fini(&c->ep);
        ag_free(c);
        return AGENT_EXIT_FATAL;
    }
    (void)uv_timer_init(loop, &c->timer);
    c->timer.data = c;
    (void)uv_signal_init(loop, &c->sigint);
    c->sigint.data = c;
    (void)uv_signal_init(loop, &c->sigterm);
    c->sigterm.data = c;
    c->handles_open = 3;
    (void)uv_signal_start(&c->sigint, on_signal, SIGINT);
    (void)uv_signal_start(&c->sigterm, on_signal, SIGTERM);
    c->first_attempt = uv_now(loop);

    if (conf->websocket) {
        ws_cycle(c);
    } else {
        cycle(c);
    }
    (void)uv_run(loop, UV_RUN_DEFAULT);
    if (c->forced_stop) {
        /* Handles still point into c; leave it (and the loop) to the process exit. */
        return c->exit_status;
    }
    if (c->stop_timer != NULL) {
        uv_close((uv_handle_t *)c->stop_timer, on_stop_timer_closed);
        (void)uv_run(loop, UV_RUN_NOWAIT);
    }
    proto_ws_shutdown(loop); /* the lws contexts live until now (protocol/ws.h) */
    (void)uv_run(loop, UV_RUN_DEFAULT);
    AG_ASSERT(c->handles_open == 0);
    status = c->exit_status;
    SSL_CTX_free(c->jnlp4_ctx);
    SSL_CTX_free(c->https_ctx);
    proto_endpoint_fini(&c->ep);
    ag_free(c->cookie);
    ag_free(c);
    return status;
}
