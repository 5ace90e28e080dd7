/*
 * capability.h: the hudson.remoting.Capability preamble (shared/spec/transport.md section 6,
 * channel.md section 2.2): a Java-serialised object with one long field, base64-encoded.
 *
 * Pure functions, no state, no allocation.
 */
#ifndef AG_PROTOCOL_CAPABILITY_H
#define AG_PROTOCOL_CAPABILITY_H

#include <stddef.h>
#include <stdint.h>

#include "compiler.h"

struct ag_err;

/* Capability bits (transport.md 6.1). */
#define PROTO_CAP_MULTI_CLASSLOADER   0x002u
#define PROTO_CAP_PIPE_THROTTLING     0x004u
#define PROTO_CAP_MIMIC_EXCEPTION     0x008u
#define PROTO_CAP_PREFETCH            0x010u
#define PROTO_CAP_GREEDY_REMOTE_INPUT 0x020u
#define PROTO_CAP_PROXY_WRITER_2_35   0x040u
#define PROTO_CAP_CHUNKED_ENCODING    0x080u
#define PROTO_CAP_PROXY_EXC_FALLBACK  0x100u

/* What we advertise: everything agent.jar does except MULTI_CLASSLOADER (channel.md 2.2). */
#define PROTO_CAPABILITY_OURS 0x1FCu
/* What every current controller advertises; the fallback where the spec allows one. */
#define PROTO_CAPABILITY_DEFAULT 0x1FEu

/* The serialised object is 62 bytes; its base64 84 characters. */
#define PROTO_CAPABILITY_BIN_LEN 62u
#define PROTO_CAPABILITY_B64_LEN 84u

/* Write the 84-character base64 form of mask plus a NUL into out. */
void proto_capability_encode(uint64_t mask, char out[PROTO_CAPABILITY_B64_LEN + 1]);

/*
 * Parse a peer's base64 capability. The fixed 62-byte form (54-byte prefix, then the mask) is
 * validated strictly and gives 0 and *mask. Errors:
 *   AG_EPROTO  not base64, or not a Java serialisation stream at all;
 *   AG_ENOTSUP a serialisation stream of another shape (e.g. a future Capability with more
 *              fields), which this agent does not decode. transport.md 6.2 step 4 lets the
 *              caller fall back to PROTO_CAPABILITY_DEFAULT then, with a warning.
 */
AG_MUST_CHECK int proto_capability_parse(const char *b64, size_t len, uint64_t *mask,
                                         struct ag_err *err);

#endif
