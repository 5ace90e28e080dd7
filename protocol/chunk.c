#include "chunk.h"

#include <string.h>

#include "alloc.h"
#include "err.h"

void
proto_chunk_dec_init(struct proto_chunk_dec *d, size_t max_command)
{
    memset(d, 0, sizeof(*d));
    ag_buf_init(&d->cmd, max_command == 0 ? PROTO_CHUNK_MAX_COMMAND : max_command);
}

void
proto_chunk_dec_fini(struct proto_chunk_dec *d)
{
    ag_buf_fini(&d->cmd);
}

bool
proto_chunk_idle(const struct proto_chunk_dec *d)
{
    return d->hdr_have == 0 && !d->in_chunk && !d->ready && (d->cmd.len == 0 || d->taken);
}

ssize_t
proto_chunk_feed(struct proto_chunk_dec *d, const uint8_t *p, size_t n, struct ag_err *err)
{
    size_t used = 0;

    if (d->ready) {
        /* A complete command nobody took: stop, so the caller sees it. */
        return 0;
    }
    if (d->taken) {
        /* The caller has the previous command; start the next one. */
        d->taken = false;
        d->chunks = 0;
        d->cmd.len = 0;
    }
    while (used < n) {
        if (!d->in_chunk) {
            size_t total = 0;

            d->hdr[d->hdr_have++] = p[used++];
            if (d->hdr_have < 2) {
                continue;
            }
            d->hdr_have = 0;
            d->more = (d->hdr[0] & 0x80u) != 0;
            d->left = ((size_t)(d->hdr[0] & 0x7Fu) << 8) | d->hdr[1];
            d->in_chunk = true;
            d->chunks++;
            /* The limit is checked here, before the payload arrives (STYLE.md section 7). */
            if (!ag_size_add(d->cmd.len, d->left, &total) || total > d->cmd.max) {
                return ag_err_set(err, AG_ELIMIT, d->offset + used - 2,
                                  "command of at least %zu bytes exceeds limit %zu (chunk %llu)",
                                  total, d->cmd.max, (unsigned long long)d->chunks);
            }
        }
        if (d->left > 0) {
            size_t take = n - used < d->left ? n - used : d->left;
            int rc = ag_buf_append(&d->cmd, p + used, take);

            if (rc != 0) {
                return ag_err_set(err, rc, d->offset + used, "cannot buffer %zu command bytes",
                                  take);
            }
            used += take;
            d->left -= take;
        }
        if (d->left == 0) {
            d->in_chunk = false;
            if (!d->more) {
                d->ready = true;
                break;
            }
        }
    }
    d->offset += used;
    return (ssize_t)used;
}

bool
proto_chunk_next(struct proto_chunk_dec *d, struct ag_iov *cmd)
{
    if (!d->ready) {
        return false;
    }
    *cmd = ag_buf_iov(&d->cmd);
    d->ready = false;
    d->taken = true;
    return true;
}

size_t
proto_chunk_encoded_len(size_t len)
{
    size_t chunks = (len + PROTO_CHUNK_SEND_LEN - 1) / PROTO_CHUNK_SEND_LEN;

    return len + 2 * chunks;
}

int
proto_chunk_encode(struct ag_buf *out, struct ag_iov cmd)
{
    size_t need = proto_chunk_encoded_len(cmd.len);
    size_t start = out->len;
    size_t off = 0;
    int rc;

    if (cmd.len == 0) {
        return AG_EINTERNAL;
    }
    if (cmd.len > SIZE_MAX / 2) {
        return AG_ELIMIT;
    }
    rc = ag_buf_reserve(out, need);
    if (rc != 0) {
        return rc;
    }
    while (off < cmd.len) {
        size_t len = cmd.len - off > PROTO_CHUNK_SEND_LEN ? PROTO_CHUNK_SEND_LEN : cmd.len - off;
        bool more = off + len < cmd.len;
        uint8_t *w = out->data + out->len;

        w[0] = (uint8_t)((more ? 0x80u : 0u) | (len >> 8));
        w[1] = (uint8_t)(len & 0xFFu);
        memcpy(w + 2, cmd.base + off, len);
        out->len += len + 2;
        off += len;
    }
    AG_ASSERT(out->len - start == need);
    return 0;
}
