/* Fuzz the HTTP response head parser and what discovery does with a parsed head
 * (protocol/http.c): split points come from the first byte; a complete head goes through
 * proto_discovery_eval and proto_http_redirect (Location against a URL, into a buffer as small
 * as the first byte says); the tail also exercises the URL, HOST:PORT and version parsers. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "err.h"
#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct proto_http_parser p;
    size_t off = 1;
    size_t step;
    char text[512];
    size_t tl;

    if (size < 1) {
        return 0;
    }
    step = (size_t)data[0] % 17 + 1;
    proto_http_parser_init(&p);
    while (off < size && !p.done) {
        struct ag_err err = {0};
        size_t len = size - off < step ? size - off : step;
        ssize_t k = proto_http_parser_feed(&p, data + off, len, &err);

        if (k < 0) {
            break;
        }
        off += (size_t)k;
    }
    if (p.done) {
        struct proto_http_url u;
        struct proto_endpoint e;
        struct ag_err err = {0};

        if (proto_http_url_parse("http://127.0.0.1:8080/jenkins/", &u, &err) == 0 &&
            proto_discovery_eval("http://127.0.0.1:8080/jenkins/", &u, p.resp.status, &p.resp,
                                 "3355.v388858a_47b_33", &e, &err) == 0) {
            proto_endpoint_fini(&e);
        }
        {
            char next[2200];
            size_t cap = (size_t)data[0] % 64 + 1;

            int rc = proto_http_redirect("http://127.0.0.1:8080/jenkins/x?q", p.resp.status,
                                         &p.resp, next, cap, &err);

            rc |= proto_http_redirect("https://h/", 302, &p.resp, next, sizeof(next), &err);
            (void)rc; /* only crashes matter here */
        }
    }
    proto_http_parser_fini(&p);

    /* The same bytes as a URL, a -tunnel value and a version. */
    tl = size - 1 < sizeof(text) - 1 ? size - 1 : sizeof(text) - 1;
    memcpy(text, data + 1, tl);
    text[tl] = '\0';
    {
        struct proto_http_url u;
        char host[256];
        uint16_t port = 0;

        int rc = proto_http_url_parse(text, &u, NULL);

        rc |= proto_hostport_parse(text, "h", 1, host, &port, NULL);
        rc |= proto_hostport_parse(text, NULL, 0, host, &port, NULL);
        rc |= proto_version_cmp(text, "3176.v207ec082a_8c0");
        (void)rc; /* only crashes matter here */
    }
    return 0;
}
