/*
 * ws_driver.c: drives protocol/ws.c against the test controller (tests/controller) without the
 * connection supervisor: pre-flight, upgrade, commands echoed back, ping survival, close.
 *
 * usage: ws_driver --url URL --name N --secret S [--cert PEMFILE] [--insecure]
 *                  [--cookie C] [--expect-status CODE] [--expect-preflight-fail]
 *                  [--hold-ms MS] [--sessions N]
 *
 * With --expect-status the upgrade must fail with that HTTP status; otherwise each session
 * sends a 20000-byte and a 5-byte command, expects both back unchanged (the controller runs
 * --scenario echo), holds the link for --hold-ms (pings must be answered), and closes it. The
 * cookie of one session is sent on the next. Exit 0 on success, 1 with a reason on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "alloc.h"
#include "capability.h"
#include "err.h"
#include "link.h"
#include "log.h"
#include "util.h"
#include "ws.h"

enum step {
    ST_PREFLIGHT = 0,
    ST_CONNECT = 1,
    ST_ECHO = 2,
    ST_HOLD = 3,
    ST_CLOSING = 4,
    ST_DONE = 5,
};

struct drv {
    uv_loop_t *loop;
    struct proto_ws_params p;
    int expect_status;
    bool expect_preflight_fail;
    uint64_t hold_ms;
    int sessions;
    int session;
    enum step step;
    struct proto_ws *ws;
    struct proto_ws_preflight *pf;
    uv_timer_t timer;
    uv_timer_t watchdog;
    uint8_t big[20000];
    int echoed;
    char *cookie;
    int rc;
};

static void start_session(struct drv *d);

static void
fail(struct drv *d, const char *what, const char *why)
{
    (void)fprintf(stderr, "ws_driver: FAIL: %s: %s\n", what, why != NULL ? why : "");
    d->rc = 1;
    d->step = ST_DONE;
    uv_stop(d->loop);
}

static void
on_hold_done(uv_timer_t *t)
{
    struct drv *d = t->data;

    d->step = ST_CLOSING;
    proto_link_close(proto_ws_link(d->ws));
}

static void
on_command(struct proto_link *link, struct ag_iov cmd, void *arg)
{
    struct drv *d = arg;

    (void)link;
    if (d->echoed == 0) {
        if (cmd.len != sizeof(d->big) || memcmp(cmd.base, d->big, cmd.len) != 0) {
            fail(d, "echo", "the 20000-byte command came back changed");
            return;
        }
    } else if (d->echoed == 1) {
        if (cmd.len != 5 || memcmp(cmd.base, "small", 5) != 0) {
            fail(d, "echo", "the 5-byte command came back changed");
            return;
        }
    } else {
        fail(d, "echo", "more commands than sent");
        return;
    }
    d->echoed++;
    if (d->echoed == 2) {
        (void)fprintf(stderr, "ws_driver: session %d: echo ok\n", d->session);
        d->step = ST_HOLD;
        uv_timer_start(&d->timer, on_hold_done, d->hold_ms, 0);
    }
}

static void
on_closed(struct proto_link *link, int code, const char *why, void *arg)
{
    struct drv *d = arg;

    (void)link;
    if (d->step != ST_CLOSING || code != 0) {
        fail(d, "link closed early", why);
        return;
    }
    (void)fprintf(stderr, "ws_driver: session %d: closed\n", d->session);
    if (++d->session < d->sessions) {
        start_session(d);
        return;
    }
    d->step = ST_DONE;
    uv_stop(d->loop);
}

static void
on_connect(struct proto_ws *ws, int status, const char *why, void *arg)
{
    struct drv *d = arg;
    struct proto_link *link = proto_ws_link(ws);
    const char *cookie = proto_ws_cookie(ws);
    int rc;

    if (d->expect_status != 0) {
        if (status == AG_EREFUSED && proto_ws_http_status(ws) == d->expect_status) {
            (void)fprintf(stderr, "ws_driver: refused as expected: %s\n", why);
            d->step = ST_DONE;
            uv_stop(d->loop);
            return;
        }
        fail(d, "expected a refusal", why != NULL ? why : "connected");
        return;
    }
    if (status != 0) {
        fail(d, "connect", why);
        return;
    }
    (void)fprintf(stderr, "ws_driver: session %d: connected, cookie %s, peer capability %llx\n",
                  d->session, cookie != NULL ? cookie : "(none)",
                  (unsigned long long)link->peer_capability);
    if (cookie == NULL) {
        fail(d, "connect", "no Connection-Cookie");
        return;
    }
    if (d->cookie != NULL && strcmp(d->cookie, cookie) != 0) {
        fail(d, "connect", "the controller did not keep our cookie");
        return;
    }
    free(d->cookie);
    d->cookie = strdup(cookie);
    link->on_command = on_command;
    link->on_closed = on_closed;
    link->cb_arg = d;
    d->step = ST_ECHO;
    d->echoed = 0;
    {
        struct ag_iov big = {d->big, sizeof(d->big)};
        struct ag_iov small = {(const uint8_t *)"small", 5};
        rc = proto_link_send(link, big);
        if (rc == 0) {
            rc = proto_link_send(link, small);
        }
    }
    if (rc != 0) {
        fail(d, "send", ag_strerror(rc));
    }
}

static void
on_preflight(struct proto_ws_preflight *pf, int status, const char *why, void *arg)
{
    struct drv *d = arg;
    int rc;

    (void)pf;
    if (d->expect_preflight_fail) {
        if (status < 0) {
            (void)fprintf(stderr, "ws_driver: preflight failed as expected: %s\n", why);
            d->step = ST_DONE;
            uv_stop(d->loop);
        } else {
            fail(d, "preflight", "expected a failure");
        }
        return;
    }
    if (status != 200) {
        char buf[64];
        (void)snprintf(buf, sizeof(buf), "status %d", status);
        fail(d, "preflight", why != NULL ? why : buf);
        return;
    }
    (void)fprintf(stderr, "ws_driver: preflight 200\n");
    d->step = ST_CONNECT;
    d->p.cookie = d->cookie;
    rc = proto_ws_connect(d->loop, &d->p, on_connect, d, &d->ws);
    if (rc != 0) {
        fail(d, "proto_ws_connect", ag_strerror(rc));
    }
}

static void
start_session(struct drv *d)
{
    int rc;

    /* The previous objects are done; free them from here (they tolerate it). */
    proto_ws_free(d->ws);
    d->ws = NULL;
    proto_ws_preflight_free(d->pf);
    d->pf = NULL;
    d->step = ST_PREFLIGHT;
    rc = proto_ws_preflight(d->loop, &d->p, on_preflight, d, &d->pf);
    if (rc != 0) {
        fail(d, "proto_ws_preflight", ag_strerror(rc));
    }
}

static void
on_watchdog(uv_timer_t *t)
{
    fail(t->data, "timeout", "no result within 30 s");
}

static char *
read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (f == NULL) {
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        (void)fclose(f);
        return NULL;
    }
    buf = malloc((size_t)n + 1);
    if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (buf != NULL) {
        buf[n] = '\0';
    }
    (void)fclose(f);
    return buf;
}

int
main(int argc, char **argv)
{
    uv_loop_t loop;
    struct drv d;
    char *pem = NULL;
    const char *pems[1];
    uint64_t v = 0;
    int i;
    size_t k;

    memset(&d, 0, sizeof(d));
    d.hold_ms = 200;
    d.sessions = 1;
    d.p.our_capability = PROTO_CAPABILITY_OURS;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--insecure") == 0) {
            d.p.insecure = true;
            continue;
        }
        if (strcmp(a, "--expect-preflight-fail") == 0) {
            d.expect_preflight_fail = true;
            continue;
        }
        if (i + 1 >= argc) {
            (void)fprintf(stderr, "ws_driver: %s needs a value\n", a);
            return 2;
        }
        if (strcmp(a, "--url") == 0) {
            d.p.base_url = argv[++i];
        } else if (strcmp(a, "--name") == 0) {
            d.p.name = argv[++i];
        } else if (strcmp(a, "--secret") == 0) {
            d.p.secret = argv[++i];
        } else if (strcmp(a, "--cookie") == 0) {
            d.cookie = strdup(argv[++i]);
        } else if (strcmp(a, "--cert") == 0) {
            pem = read_file(argv[++i]);
            if (pem == NULL) {
                (void)fprintf(stderr, "ws_driver: cannot read %s\n", argv[i]);
                return 1;
            }
            pems[0] = pem;
            d.p.ca_pems = pems;
            d.p.n_ca_pems = 1;
        } else if (strcmp(a, "--expect-status") == 0) {
            i++;
            if (ag_parse_u64(argv[i], strlen(argv[i]), 999, &v) != 0) {
                return 2;
            }
            d.expect_status = (int)v;
        } else if (strcmp(a, "--hold-ms") == 0) {
            i++;
            if (ag_parse_u64(argv[i], strlen(argv[i]), 60000, &v) != 0) {
                return 2;
            }
            d.hold_ms = v;
        } else if (strcmp(a, "--sessions") == 0) {
            i++;
            if (ag_parse_u64(argv[i], strlen(argv[i]), 10, &v) != 0 || v == 0) {
                return 2;
            }
            d.sessions = (int)v;
        } else {
            (void)fprintf(stderr, "ws_driver: unknown option %s\n", a);
            return 2;
        }
    }
    if (d.p.base_url == NULL || d.p.name == NULL || d.p.secret == NULL) {
        (void)fprintf(stderr, "usage: ws_driver --url URL --name N --secret S [...]\n");
        return 2;
    }
    ag_log_add_secret(d.p.secret);
    for (k = 0; k < sizeof(d.big); k++) {
        d.big[k] = (uint8_t)(k * 31 + 7);
    }
    uv_loop_init(&loop);
    d.loop = &loop;
    uv_timer_init(&loop, &d.timer);
    d.timer.data = &d;
    uv_timer_init(&loop, &d.watchdog);
    d.watchdog.data = &d;
    uv_timer_start(&d.watchdog, on_watchdog, 30000, 0);
    if (d.expect_status != 0) {
        d.step = ST_CONNECT;
        d.p.cookie = d.cookie;
        if (proto_ws_connect(&loop, &d.p, on_connect, &d, &d.ws) != 0) {
            fail(&d, "proto_ws_connect", "failed to start");
        }
    } else {
        start_session(&d);
    }
    if (d.step != ST_DONE) {
        (void)uv_run(&loop, UV_RUN_DEFAULT);
    }
    proto_ws_free(d.ws);
    proto_ws_preflight_free(d.pf);
    proto_ws_shutdown(&loop);
    uv_close((uv_handle_t *)&d.timer, NULL);
    uv_close((uv_handle_t *)&d.watchdog, NULL);
    (void)uv_run(&loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&loop) != 0) {
        (void)fprintf(stderr, "ws_driver: FAIL: handles left on the loop\n");
        d.rc = 1;
    }
    free(d.cookie);
    free(pem);
    if (d.rc == 0) {
        (void)fprintf(stderr, "ws_driver: OK\n");
    }
    return d.rc;
}
