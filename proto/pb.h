/* Safe entry to protobuf-c for untrusted bytes. protobuf_c_message_unpack
 * recurses once per nested message with a large stack frame and no depth
 * limit, so ~40 KB of nested wrappers (Message.ephemeral_message.message...)
 * overflow an 8 MiB stack. wa_pb_unpack caps the size, walks the wire format
 * iteratively to bound nesting, and only then hands the bytes to protobuf-c.
 * Sits beside the generated code (proto/); used by every layer that decodes
 * WhatsApp protobufs. */
#ifndef WA_PROTO_PB_H
#define WA_PROTO_PB_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "wa/wa.h"

enum wa_pb_limits {
	/* Deepest message nesting accepted, counting the top message as 1.
	 * Real traffic stays far below: a quoted reply inside an ephemeral
	 * wrapper inside a history-sync conversation is about 12. */
	WA_PB_MAX_DEPTH = 64,
	/* protobuf-c allocates a whole struct per submessage: 2 bytes of empty
	 * `conversations` entries cost a 288-byte Wa__Conversation, so a 2 MB
	 * HistorySync can demand 318 MB (measured, x152). wa_pb_unpack refuses
	 * input whose estimated unpacked size exceeds this factor times max_len;
	 * real messages need well under 16x. */
	WA_PB_MAX_EXPANSION = 32,
};

/* Checks that `p[0..len)` is well-formed protobuf wire data for `desc` as far
 * as structure goes: every tag and length is in bounds, no group wire types,
 * no submessage (a length-delimited field the descriptor types as a message)
 * nests deeper than max_depth, and the estimated memory protobuf-c would
 * allocate (every submessage struct, plus 8 bytes per input byte for strings,
 * arrays and scalars) stays within max_mem. Unknown fields are skipped, not
 * descended into, just as protobuf-c does.
 * Returns 0, WA_EMALFORMED, WA_EDEPTH, WA_ETOOBIG (memory estimate), or
 * WA_EINVAL (NULL desc, max_depth 0 or above WA_PB_MAX_DEPTH). */
int wa_pb_check(const ProtobufCMessageDescriptor *desc, const uint8_t *p, size_t len,
		unsigned max_depth, size_t max_mem) WA_MUST_CHECK;

/* Unpacks untrusted bytes: len must be <= max_len (WA_ETOOBIG), then
 * wa_pb_check with WA_PB_MAX_DEPTH and max_mem = WA_PB_MAX_EXPANSION * max_len,
 * then protobuf_c_message_unpack (WA_EMALFORMED if it refuses). On success
 * *out is a new message (free: protobuf_c_message_free_unpacked(*out, NULL));
 * on error *out is untouched. The caller still checks has_* / NULL of every
 * optional field it reads. */
int wa_pb_unpack(ProtobufCMessage **out, const ProtobufCMessageDescriptor *desc,
		 const uint8_t *p, size_t len, size_t max_len) WA_MUST_CHECK;

#endif
