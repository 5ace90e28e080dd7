/*
 * chunk.h: remoting's chunk framing (shared/spec/transport.md section 7,
 * hudson.remoting.ChunkHeader and AbstractByteBufferCommandTransport).
 *
 * Each chunk is a u16be header (bit 15 = more chunks follow, bits 0-14 = payload length
 * 0..32767) and its payload. A command is the concatenation of the payloads up to and
 * including the first chunk without bit 15.
 *
 * The decoder is a stream-framing decoder (STYLE.md section 7): fed fragments of any size,
 * it keeps at most one partial header (2 bytes) besides the command being reassembled, whose
 * size is capped. No I/O, no logging. Single-threaded; the struct owns its buffer.
 */
#ifndef AG_PROTOCOL_CHUNK_H
#define AG_PROTOCOL_CHUNK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "compiler.h"

struct ag_err;

#define PROTO_CHUNK_MORE        0x8000u
#define PROTO_CHUNK_MAX_LEN     0x7FFFu
/* What our encoder puts in one chunk, as remoting's ByteBuffer transports do. */
#define PROTO_CHUNK_SEND_LEN    8192u
/* Default cap on one reassembled command. remoting has none; 64 MiB bounds a hostile peer. */
#define PROTO_CHUNK_MAX_COMMAND ((size_t)64 * 1024 * 1024)

struct proto_chunk_dec {
    uint8_t hdr[2];  /* a header split across feeds */
    size_t hdr_have; /* 0..1 bytes of hdr held */
    size_t left;     /* payload bytes still to come for the current chunk */
    bool more;       /* the current chunk has bit 15 set */
    bool in_chunk;   /* a header was read and its payload is pending */
    bool ready;      /* cmd holds a complete command, not yet taken */
    bool taken;      /* cmd was handed out by proto_chunk_next; reset on the next feed */
    uint64_t offset; /* stream offset of the next byte fed */
    uint64_t chunks; /* chunks in the command being assembled */
    struct ag_buf cmd; /* owned: the command being reassembled, capped at max_command */
};

/* max_command: cap on one reassembled command (0 = PROTO_CHUNK_MAX_COMMAND). */
void proto_chunk_dec_init(struct proto_chunk_dec *d, size_t max_command);
void proto_chunk_dec_fini(struct proto_chunk_dec *d);

/*
 * Feed bytes. Consumes input until one command is complete or the input ends, and returns
 * the number of bytes consumed (so the caller feeds the rest after taking the command with
 * proto_chunk_next; while a complete command is not taken, feed consumes nothing). Errors: AG_ELIMIT when a command grows past the cap (checked as each
 * header is read, before the payload arrives), AG_ENOMEM. After an error the decoder is
 * unusable: close the connection.
 */
AG_MUST_CHECK ssize_t proto_chunk_feed(struct proto_chunk_dec *d, const uint8_t *p, size_t n,
                                       struct ag_err *err);

/*
 * Take the complete command, if any: true and *cmd set (valid until the next feed or fini),
 * false when none is ready.
 */
AG_MUST_CHECK bool proto_chunk_next(struct proto_chunk_dec *d, struct ag_iov *cmd);

/* True when no partial header, chunk or command is buffered (a clean stream boundary). */
bool proto_chunk_idle(const struct proto_chunk_dec *d);

/* Bytes proto_chunk_encode appends for a command of len bytes. */
size_t proto_chunk_encoded_len(size_t len);

/*
 * Append cmd to out as chunks of at most PROTO_CHUNK_SEND_LEN payload bytes; every chunk but
 * the last has bit 15 set and no chunk is empty. An empty command is AG_EINTERNAL (remoting
 * commands are never empty, and a lone zero-length chunk would stall a Java receiver).
 * AG_ELIMIT when out's cap is too small (out unchanged).
 */
AG_MUST_CHECK int proto_chunk_encode(struct ag_buf *out, struct ag_iov cmd);

#endif
