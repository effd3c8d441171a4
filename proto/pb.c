/* Bounded protobuf decoding: an iterative wire-format walk that limits
 * nesting depth and estimated memory before protobuf-c's recursive unpacker
 * sees the bytes. */
#include "pb.h"

#include "util/buf.h"

/* Protobuf wire types (protobuf encoding spec). */
enum {
	WIRE_VARINT = 0,
	WIRE_FIXED64 = 1,
	WIRE_LEN = 2,
	WIRE_GROUP_START = 3,
	WIRE_GROUP_END = 4,
	WIRE_FIXED32 = 5,
};

#define VARINT_MAX_BYTES 10
#define FIELD_NUMBER_MAX ((UINT64_C(1) << 29) - 1)

static int rd_varint(wa_reader *rd, uint64_t *out)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < VARINT_MAX_BYTES; i++) {
		uint8_t b;
		if (wa_rd_u8(rd, &b) != 0)
			return WA_EMALFORMED;
		if (i == VARINT_MAX_BYTES - 1 && b > 1)
			return WA_EMALFORMED; /* more than 64 bits */
		v |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			*out = v;
			return 0;
		}
	}
	return WA_EMALFORMED;
}

/* Bound on what protobuf-c allocates besides message structs, per input byte:
 * a repeated element takes >= 1 encoded byte and <= 8 bytes unpacked (pointer
 * or 64-bit scalar); strings and bytes are copied (+1 NUL). */
#define NONSTRUCT_BYTES_PER_INPUT_BYTE 8

int wa_pb_check(const ProtobufCMessageDescriptor *desc, const uint8_t *p, size_t len,
		unsigned max_depth, size_t max_mem)
{
	/* stack[i] = descriptor and end offset of the message open at depth i+1 */
	struct {
		const ProtobufCMessageDescriptor *desc;
		size_t end;
	} stack[WA_PB_MAX_DEPTH];
	unsigned depth = 1;
	wa_reader rd;

	if (!desc || max_depth == 0 || max_depth > WA_PB_MAX_DEPTH || (!p && len))
		return WA_EINVAL;
	if (len > (SIZE_MAX - desc->sizeof_message) / NONSTRUCT_BYTES_PER_INPUT_BYTE)
		return WA_ETOOBIG;
	size_t mem = desc->sizeof_message + len * NONSTRUCT_BYTES_PER_INPUT_BYTE;
	if (mem > max_mem)
		return WA_ETOOBIG;
	wa_reader_init(&rd, p, len);
	stack[0].desc = desc;
	stack[0].end = len;

	for (;;) {
		/* close every message that ends here */
		while (depth > 1 && rd.off == stack[depth - 1].end)
			depth--;
		if (rd.off == stack[depth - 1].end)
			break; /* depth is 1: the whole input was consumed */

		/* the current message's end bounds every read below */
		wa_reader cur;
		wa_reader_init(&cur, p, stack[depth - 1].end);
		cur.off = rd.off;

		uint64_t key, n;
		if (rd_varint(&cur, &key) != 0)
			return WA_EMALFORMED;
		uint64_t number = key >> 3;
		if (number == 0 || number > FIELD_NUMBER_MAX)
			return WA_EMALFORMED;
		switch (key & 7) {
		case WIRE_VARINT:
			if (rd_varint(&cur, &n) != 0)
				return WA_EMALFORMED;
			break;
		case WIRE_FIXED64:
			if (wa_rd_skip(&cur, 8) != 0)
				return WA_EMALFORMED;
			break;
		case WIRE_FIXED32:
			if (wa_rd_skip(&cur, 4) != 0)
				return WA_EMALFORMED;
			break;
		case WIRE_LEN: {
			if (rd_varint(&cur, &n) != 0 || n > wa_reader_left(&cur))
				return WA_EMALFORMED;
			const ProtobufCFieldDescriptor *f =
				protobuf_c_message_descriptor_get_field(stack[depth - 1].desc,
									(unsigned)number);
			if (f && f->type == PROTOBUF_C_TYPE_MESSAGE) {
				const ProtobufCMessageDescriptor *sub = f->descriptor;
				if (depth == max_depth)
					return WA_EDEPTH;
				if (sub->sizeof_message > max_mem - mem)
					return WA_ETOOBIG;
				mem += sub->sizeof_message;
				stack[depth].desc = sub;
				stack[depth].end = cur.off + (size_t)n;
				depth++;
			} else if (wa_rd_skip(&cur, (size_t)n) != 0) {
				return WA_EMALFORMED;
			}
			break;
		}
		default: /* groups (deprecated, never used by WhatsApp) and 6, 7 */
			return WA_EMALFORMED;
		}
		rd.off = cur.off;
	}
	return 0;
}

int wa_pb_unpack(ProtobufCMessage **out, const ProtobufCMessageDescriptor *desc,
		 const uint8_t *p, size_t len, size_t max_len)
{
	if (!out || !desc)
		return WA_EINVAL;
	if (len > max_len)
		return WA_ETOOBIG;
	size_t max_mem = max_len > SIZE_MAX / WA_PB_MAX_EXPANSION ? SIZE_MAX
							     : max_len * WA_PB_MAX_EXPANSION;
	int rc = wa_pb_check(desc, p, len, WA_PB_MAX_DEPTH, max_mem);
	if (rc != 0)
		return rc;
	/* protobuf-c wants a non-NULL pointer even for zero bytes */
	static const uint8_t empty[1];
	ProtobufCMessage *m = protobuf_c_message_unpack(desc, NULL, len, len ? p : empty);
	if (!m)
		return WA_EMALFORMED;
	*out = m;
	return 0;
}
