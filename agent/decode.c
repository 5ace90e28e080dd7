/*
 * decode.c: `jenkins-agent decode FILE|-`: print a readable dump of
 *   (a) a raw Java serialization stream (AC ED 00 05 ...),
 *   (b) a chunk-framed application stream as on the JNLP4 plaintext wire (u16-length-prefixed
 *       preamble records such as the JSON headers, "OK" and the base64 capability, then commands
 *       in 2-byte-header chunk frames; golden 02-plain-*, 03-capability-*, 04-app-*),
 *   (c) a capture file (AGCAP1, docs/internals/jos.md "Capture format").
 * Anything else (text, TLS records) is described, not decoded. Exit status 0 on success, 1 with
 * one error line on stderr for input that is none of these or does not decode.
 */
#include "decode.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "base64.h"
#include "buf.h"
#include "jos.h"

#define DECODE_MAX_INPUT ((size_t)256 << 20)
#define DECODE_MAX_OUTPUT ((size_t)1 << 30)
#define CAPTURE_MAGIC "AGCAP1\n"

static int
read_all(const char *path, struct ag_buf *b)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    int rc = 0;

    if (f == NULL) {
        (void)fprintf(stderr, "jenkins-agent decode: %s: cannot open\n", path);
        return 1;
    }
    for (;;) {
        size_t n;

        if (ag_buf_reserve(b, 65536) != 0) {
            (void)fprintf(stderr, "jenkins-agent decode: %s: input larger than %zu bytes\n", path,
                          DECODE_MAX_INPUT);
            rc = 1;
            break;
        }
        n = fread(b->data + b->len, 1, b->cap - b->len, f);
        b->len += n;
        if (n == 0) {
            if (ferror(f)) {
                (void)fprintf(stderr, "jenkins-agent decode: %s: read error\n", path);
                rc = 1;
            }
            break;
        }
    }
    if (f != stdin) {
        (void)fclose(f);
    }
    return rc;
}

static int
emit(struct ag_buf *out)
{
    if (out->len > 0 && fwrite(out->data, 1, out->len, stdout) != out->len) {
        return 1;
    }
    ag_buf_reset(out);
    return fflush(stdout) == 0 ? 0 : 1;
}

/* Dump one complete stream with a heading; returns 0 or 1 (error line printed). */
static int
dump_stream(struct ag_buf *out, const char *path, const char *what, const uint8_t *p, size_t len)
{
    struct ag_err err = {0};
    int rc;

    if (ag_buf_printf(out, "%s (%zu bytes):\n", what, len) != 0) {
        return 1;
    }
    rc = jos_dump_bytes(out, p, len, NULL, NULL, &err);
    if (rc != 0) {
        (void)emit(out);
        (void)fprintf(stderr, "jenkins-agent decode: %s: %s: %s at offset %" PRIu64 "\n", path,
                      what, err.msg, err.offset);
        return 1;
    }
    return emit(out);
}

static bool
printable(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if ((p[i] < 0x20 || p[i] >= 0x7F) && p[i] != '\n' && p[i] != '\r' && p[i] != '\t') {
            return false;
        }
    }
    return true;
}

/* Print a text record, hiding the value of a "Secret-Key" JSON member. */
static int
put_text(struct ag_buf *out, const uint8_t *p, size_t n)
{
    static const char key[] = "\"Secret-Key\":\"";
    const uint8_t *k = NULL;

    for (size_t i = 0; i + sizeof(key) - 1 <= n; i++) {
        if (memcmp(p + i, key, sizeof(key) - 1) == 0) {
            k = p + i + sizeof(key) - 1;
            break;
        }
    }
    if (k != NULL) {
        const uint8_t *e = memchr(k, '"', n - (size_t)(k - p));

        if (e != NULL) {
            return ag_buf_printf(out, "%.*s<redacted>%.*s\n", (int)(k - p), (const char *)p,
                                 (int)(n - (size_t)(e - p)), (const char *)e);
        }
    }
    return ag_buf_printf(out, "%.*s\n", (int)n, (const char *)p);
}

/* Commands in 2-byte-header chunk frames (channel.md 2.1) from p[0..len). */
static int
decode_chunks(struct ag_buf *out, const char *path, const uint8_t *p, size_t len)
{
    struct ag_buf cmd;
    size_t i = 0;
    unsigned ncmd = 0;
    unsigned frames = 0;
    int rc = 0;

    ag_buf_init(&cmd, DECODE_MAX_INPUT);
    while (i < len && rc == 0) {
        unsigned hdr;
        size_t n;
        bool more;

        if (len - i < 2) {
            rc = ag_buf_printf(out, "(capture ends inside a chunk header of command #%u)\n", ncmd);
            break;
        }
        hdr = (unsigned)p[i] << 8 | p[i + 1];
        more = (hdr & 0x8000u) != 0;
        n = hdr & 0x7FFFu;
        i += 2;
        if (len - i < n) {
            rc = ag_buf_printf(out,
                               "(capture ends inside command #%u: frame of %zu bytes, %zu present)\n",
                               ncmd, n, len - i);
            break;
        }
        if (ag_buf_append(&cmd, p + i, n) != 0) {
            (void)fprintf(stderr, "jenkins-agent decode: %s: command too large\n", path);
            rc = 1;
            break;
        }
        i += n;
        frames++;
        if (!more) {
            char what[96];

            (void)snprintf(what, sizeof(what), "command #%u (%u frame%s)", ncmd, frames,
                           frames == 1 ? "" : "s");
            rc = dump_stream(out, path, what, cmd.data, cmd.len);
            ag_buf_reset(&cmd);
            frames = 0;
            ncmd++;
        }
    }
    if (rc == 0) {
        rc = ag_buf_printf(out, "%u command%s\n", ncmd, ncmd == 1 ? "" : "s") != 0 ? 1 : emit(out);
    }
    ag_buf_fini(&cmd);
    return rc != 0 ? 1 : 0;
}

static int
describe_tls(struct ag_buf *out, const uint8_t *p, size_t len)
{
    size_t i = 0;
    unsigned n = 0;

    while (len - i >= 5 && p[i] >= 0x14 && p[i] <= 0x17 && p[i + 1] == 0x03) {
        size_t rl = (size_t)p[i + 3] << 8 | p[i + 4];

        i += 5 + rl;
        n++;
        if (i > len) {
            i = len;
            break;
        }
    }
    return ag_buf_printf(out, "TLS records (encrypted, not decoded): %u record%s in %zu bytes\n", n,
                         n == 1 ? "" : "s", len);
}

/* u16-length-prefixed preamble records, then chunk frames after the capability. */
static int
decode_framed(struct ag_buf *out, const char *path, const uint8_t *p, size_t len)
{
    size_t i = 0;
    bool cap = false;

    while (len - i >= 2) {
        size_t n = (size_t)p[i] << 8 | p[i + 1];
        const uint8_t *r = p + i + 2;

        if (n > len - i - 2 || !printable(r, n)) {
            break;
        }
        i += 2 + n;
        if (n >= 8 && memcmp(r, "rO0AB", 5) == 0) {
            uint8_t *bin = ag_malloc(ag_base64_decoded_max(n) + 1);
            struct ag_err err = {0};
            size_t k = 0;
            int rc;

            if (bin == NULL) {
                return 1;
            }
            if (ag_base64_decode((const char *)r, n, bin, ag_base64_decoded_max(n) + 1, &k,
                                 &err) != 0) {
                ag_free(bin);
                (void)fprintf(stderr,
                              "jenkins-agent decode: %s: invalid base64 in capability: %s\n", path,
                              err.msg);
                return 1;
            }
            rc = dump_stream(out, path, "capability preamble (base64)", bin, k);
            ag_free(bin);
            if (rc != 0) {
                return 1;
            }
            cap = true;
            break;
        }
        if (ag_buf_printf(out, "preamble record (%zu bytes): ", n) != 0 || put_text(out, r, n) != 0) {
            return 1;
        }
    }
    if (i == 0) {
        return -1; /* not this format */
    }
    if (cap) {
        return decode_chunks(out, path, p + i, len - i);
    }
    if (i < len) {
        if (len - i >= 5 && p[i] >= 0x14 && p[i] <= 0x17 && p[i + 1] == 0x03) {
            if (describe_tls(out, p + i, len - i) != 0) {
                return 1;
            }
        } else {
            (void)emit(out);
            (void)fprintf(stderr,
                          "jenkins-agent decode: %s: %zu undecodable bytes after the preamble at "
                          "offset %zu\n",
                          path, len - i, i);
            return 1;
        }
    }
    return emit(out);
}

static int
decode_capture(struct ag_buf *out, const char *path, const uint8_t *p, size_t len)
{
    size_t i = sizeof(CAPTURE_MAGIC) - 1;
    unsigned n = 0;

    while (i < len) {
        uint64_t t = 0;
        size_t rl;
        char what[128];
        uint8_t dir;

        if (len - i < 13) {
            (void)emit(out);
            (void)fprintf(stderr, "jenkins-agent decode: %s: truncated capture record header at "
                                  "offset %zu\n",
                          path, i);
            return 1;
        }
        dir = p[i];
        for (int k = 0; k < 8; k++) {
            t = t << 8 | p[i + 1 + k];
        }
        rl = (size_t)p[i + 9] << 24 | (size_t)p[i + 10] << 16 | (size_t)p[i + 11] << 8 | p[i + 12];
        if (dir != '<' && dir != '>') {
            (void)emit(out);
            (void)fprintf(stderr, "jenkins-agent decode: %s: bad capture direction 0x%02x at "
                                  "offset %zu\n",
                          path, dir, i);
            return 1;
        }
        i += 13;
        if (len - i < rl) {
            (void)emit(out);
            (void)fprintf(stderr, "jenkins-agent decode: %s: capture record of %zu bytes "
                                  "truncated at offset %zu\n",
                          path, rl, i);
            return 1;
        }
        (void)snprintf(what, sizeof(what), "record #%u %s t=%" PRIu64 ".%06" PRIu64, n,
                       dir == '<' ? "controller->agent" : "agent->controller", t / 1000000,
                       t % 1000000);
        if (jos_is_stream(p + i, rl)) {
            if (dump_stream(out, path, what, p + i, rl) != 0) {
                return 1;
            }
        } else if (ag_buf_printf(out, "%s: %zu bytes, not a serialization stream\n", what, rl) != 0) {
            return 1;
        }
        i += rl;
        n++;
    }
    if (ag_buf_printf(out, "%u record%s\n", n, n == 1 ? "" : "s") != 0) {
        return 1;
    }
    return emit(out);
}

int
agent_decode_file(const char *path)
{
    struct ag_buf in;
    struct ag_buf out;
    int rc;

    ag_buf_init(&in, DECODE_MAX_INPUT);
    ag_buf_init(&out, DECODE_MAX_OUTPUT);
    rc = read_all(path, &in);
    if (rc != 0) {
        goto out;
    }
    if (jos_is_stream(in.data, in.len)) {
        rc = dump_stream(&out, path, "stream", in.data, in.len);
    } else if (in.len >= sizeof(CAPTURE_MAGIC) - 1 &&
               memcmp(in.data, CAPTURE_MAGIC, sizeof(CAPTURE_MAGIC) - 1) == 0) {
        rc = decode_capture(&out, path, in.data, in.len);
    } else {
        /* A first length byte below 0x20 tells framing from a text file. */
        rc = in.len > 2 && in.data[0] < 0x20 ? decode_framed(&out, path, in.data, in.len) : -1;
        if (rc < 0 && in.len > 0 && printable(in.data, in.len)) {
            rc = ag_buf_printf(&out, "text (%zu bytes), not a serialization stream:\n", in.len);
            rc = rc == 0 ? put_text(&out, in.data, in.len) : rc;
            rc = rc == 0 ? emit(&out) : 1;
        } else if (rc < 0) {
            char hex[16] = "";

            for (size_t i = 0; i < in.len && i < 4; i++) {
                (void)snprintf(hex + i * 3, sizeof(hex) - i * 3, "%02x ", in.data[i]);
            }
            (void)fprintf(stderr,
                          "jenkins-agent decode: %s: not a serialization stream, capture or "
                          "chunk-framed stream (%zu bytes, starting %s)\n",
                          path, in.len, in.len > 0 ? hex : "<empty>");
            rc = 1;
        }
    }
out:
    ag_buf_fini(&in);
    ag_buf_fini(&out);
    return rc != 0 ? 1 : 0;
}
