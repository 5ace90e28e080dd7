/* The connection supervisor (agent/conn.c) without a controller: duration texts, and whole
 * runs on a real loop that must end with the documented exit statuses (docs/connect.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "conf.h"
#include "conn.h"
#include "harness.h"

T_TEST(test_duration)
{
    char b[96];

    agent_conn_format_duration(86400000, b, sizeof(b));
    T_EQ_STR(b, "1 day");
    agent_conn_format_duration(3000, b, sizeof(b));
    T_EQ_STR(b, "3 seconds");
    agent_conn_format_duration(2 * 86400000ull + 3600000 + 61000, b, sizeof(b));
    T_EQ_STR(b, "2 days, 1 hour, 1 minute, 1 second");
    agent_conn_format_duration(250, b, sizeof(b));
    T_EQ_STR(b, "250 milliseconds");
    T_EQ_STR(agent_conn_state_name(AGENT_CONN_CONNECTED), "connected");
}

/* A port nobody listens on: bind, read the port, close. */
static unsigned
dead_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    unsigned port = 1;

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd != -1 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0) {
        port = ntohs(a.sin_port);
    }
    if (fd != -1) {
        (void)close(fd);
    }
    return port;
}

#define IDENT                                                                                     \
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA1ZvCf2TFkfG6M/Q2If5fW1T/p7u2zHVrOaXmP80qDfdwB7Fi" \
    "iLiNyhvKhjfFdJu5pBjWkYgrYRqq2yXBLp8VhRH3WSGILVJWK6hBm1Hy4Q7ZJoPMXo0JWUNn+8A+mRyJH5HyKDfqxKqf" \
    "28NJ5Mms4VyFFPOb0HQtH+79UksV3FYSYpRMdRqvXF+M90zZFaCGqEA97BxdEVKmr5yEu0oVuwjaBVzn21bNn3hgfpEH" \
    "GYhMM5kyDLdLgtY6ZJv0QaKr2i832+CEc5I6U9CCG/CB++6Gl6R71J/mR8cMaTvrYbNEpfwcdAHMYbCTb8ugiHJ0X1It" \
    "LmpZ4k63biyNAPAwlQIDAQAB"

static int
run(struct agent_conf *conf)
{
    uv_loop_t loop;
    int status;

    T_EQ_INT(uv_loop_init(&loop), 0);
    status = agent_conn_run(&loop, conf, NULL);
    T_EQ_INT(uv_loop_close(&loop), 0);
    return status;
}

T_TEST(test_exit_statuses)
{
    struct agent_conf conf;
    char url[64];
    char direct[64];
    char name[] = "agent";
    char secret[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    char ident[] = IDENT;
    char bad_ident[] = "not base64";
    unsigned port = dead_port();

    (void)setenv("AG_TEST_RETRY_MS", "50", 1);
    (void)unsetenv("http_proxy");
    (void)snprintf(url, sizeof(url), "http://127.0.0.1:%u/", port);
    (void)snprintf(direct, sizeof(direct), "127.0.0.1:%u", port);

    /* discovery fails with -noReconnect: 1 */
    memset(&conf, 0, sizeof(conf));
    conf.urls.v[0] = url;
    conf.urls.n = 1;
    conf.name = name;
    conf.secret = secret;
    conf.no_reconnect = true;
    T_EQ_INT(run(&conf), AGENT_EXIT_FATAL);

    /* discovery keeps failing, -noReconnectAfter runs out: 0 ("Bailing out after") */
    conf.no_reconnect = false;
    conf.has_no_reconnect_after = true;
    conf.no_reconnect_after_ms = 120;
    T_EQ_INT(run(&conf), AGENT_EXIT_OK);

    /* -direct to a dead port with -noReconnect: rejected, sleep, 0 */
    memset(&conf, 0, sizeof(conf));
    conf.direct = direct;
    conf.instance_identity = ident;
    conf.name = name;
    conf.secret = secret;
    conf.no_reconnect = true;
    T_EQ_INT(run(&conf), AGENT_EXIT_OK);

    /* an invalid -instanceIdentity: 1 at once */
    conf.instance_identity = bad_ident;
    T_EQ_INT(run(&conf), AGENT_EXIT_FATAL);

    /* a bad -direct value: 1 */
    conf.instance_identity = ident;
    conf.direct = name;
    T_EQ_INT(run(&conf), AGENT_EXIT_FATAL);
}

T_MAIN(T_CASE(test_duration), T_CASE(test_exit_statuses))
