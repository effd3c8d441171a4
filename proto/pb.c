/* Bounded protobuf decoding: an iterative wire-format walk that limits
 * nesting depth before protobuf-c's recursive unpacker sees the bytes. */
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

int wa_pb_check(const ProtobufCMessageDescriptor *desc, const uint8_t *p, size_t len,
		unsigned max_depth)
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
				if (depth == max_depth)
					return WA_EDEPTH;
				stack[depth].desc = f->descriptor;
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
	int rc = wa_pb_check(desc, p, len, WA_PB_MAX_DEPTH);
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
