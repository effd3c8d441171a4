/* Fuzz target for bounded protobuf decoding (proto/pb.h) over our schemas.
 * The first input byte picks the top-level message type; the rest is the
 * encoded message. Whatever unpacks must re-encode to bytes that unpack and
 * re-encode identically (protobuf-c round-trip stability). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "adv.pb-c.h"
#include "cert.pb-c.h"
#include "client_payload.pb-c.h"
#include "device_props.pb-c.h"
#include "handshake.pb-c.h"
#include "history_sync.pb-c.h"
#include "message.pb-c.h"
#include "pb.h"
#include "sync_action.pb-c.h"

#define FUZZ_MAX_LEN (256u * 1024)

static const ProtobufCMessageDescriptor *const descs[] = {
	&wa__message__descriptor,
	&wa__client_payload__descriptor,
	&wa__advsigned_device_identity_hmac__descriptor,
	&wa__advsigned_device_identity__descriptor,
	&wa__advdevice_identity__descriptor,
	&wa__history_sync__descriptor,
	&wa__sync_action_data__descriptor,
	&wa__device_props__descriptor,
	&wa__handshake_message__descriptor,
	&wa__cert_chain__descriptor,
	&wa__web_message_info__descriptor,
	&wa__advkey_index_list__descriptor,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t *pack(const ProtobufCMessage *m, size_t *len)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(n ? n : 1);
	if (!buf)
		abort();
	if (protobuf_c_message_pack(m, buf) != n)
		abort();
	*len = n;
	return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const ProtobufCMessageDescriptor *d = descs[data[0] % (sizeof descs / sizeof descs[0])];
	ProtobufCMessage *m = NULL;
	if (wa_pb_unpack(&m, d, data + 1, size - 1, FUZZ_MAX_LEN) != 0)
		return 0;

	size_t n1, n2;
	uint8_t *b1 = pack(m, &n1);
	protobuf_c_message_free_unpacked(m, NULL);
	/* what we produce must pass our own checks */
	ProtobufCMessage *m2 = NULL;
	if (wa_pb_unpack(&m2, d, b1, n1, SIZE_MAX) != 0)
		abort();
	uint8_t *b2 = pack(m2, &n2);
	protobuf_c_message_free_unpacked(m2, NULL);
	if (n1 != n2 || memcmp(b1, b2, n1) != 0)
		abort();
	free(b1);
	free(b2);
	return 0;
}
