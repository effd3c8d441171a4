/* Unit tests for proto/: wa_pb_check / wa_pb_unpack (size cap, iterative
 * depth bound, malformed wire data) and the generated types' basic wire
 * behaviour (known bytes for a reply Message and a ClientPayload fragment). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "client_payload.pb-c.h"
#include "history_sync.pb-c.h"
#include "message.pb-c.h"
#include "pb.h"

static size_t put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;
	do {
		uint8_t b = v & 0x7f;
		v >>= 7;
		p[n++] = b | (v ? 0x80 : 0);
	} while (v);
	return n;
}

/* `levels` Messages nested through ephemeral_message (40) → FutureProofMessage
 * .message (1): nesting depth is 2 * levels - 1 + 1 counting the top. Innermost
 * Message carries conversation "x". Returns a malloc'd buffer. */
static uint8_t *nested_ephemeral(size_t levels, size_t *len)
{
	size_t cap = 16 + levels * 16;
	uint8_t *buf = malloc(cap), *tmp = malloc(cap);
	size_t n = 0;
	buf[n++] = 0x0a, buf[n++] = 1, buf[n++] = 'x';
	for (size_t i = 1; i < levels; i++) {
		size_t t = 0;
		tmp[t++] = 0x0a;
		t += put_varint(tmp + t, n);
		memcpy(tmp + t, buf, n);
		t += n;
		size_t m = 0;
		buf[m++] = 0xc2, buf[m++] = 0x02;
		m += put_varint(buf + m, t);
		memcpy(buf + m, tmp, t);
		n = m + t;
	}
	free(tmp);
	*len = n;
	return buf;
}

static void test_depth(void)
{
	size_t len;
	/* levels Messages + (levels-1) wrappers = 2*levels-1 nested messages */
	uint8_t *b = nested_ephemeral(32, &len); /* depth 63 */
	CHECK_EQ_INT(wa_pb_check(&wa__message__descriptor, b, len, WA_PB_MAX_DEPTH, SIZE_MAX), 0);
	CHECK_EQ_INT(wa_pb_check(&wa__message__descriptor, b, len, 63, SIZE_MAX), 0);
	CHECK_EQ_INT(wa_pb_check(&wa__message__descriptor, b, len, 62, SIZE_MAX), WA_EDEPTH);
	ProtobufCMessage *m = NULL;
	CHECK_EQ_INT(wa_pb_unpack(&m, &wa__message__descriptor, b, len, 1 << 20), 0);
	if (m) {
		const Wa__Message *w = (const Wa__Message *)m;
		for (int i = 0; i < 31 && w; i++)
			w = w->ephemeral_message ? w->ephemeral_message->message : NULL;
		CHECK(w && w->conversation && strcmp(w->conversation, "x") == 0);
		protobuf_c_message_free_unpacked(m, NULL);
	}
	free(b);

	b = nested_ephemeral(33, &len); /* depth 65 */
	CHECK_EQ_INT(wa_pb_check(&wa__message__descriptor, b, len, WA_PB_MAX_DEPTH, SIZE_MAX), WA_EDEPTH);
	m = (ProtobufCMessage *)&len; /* sentinel: must stay untouched */
	CHECK_EQ_INT(wa_pb_unpack(&m, &wa__message__descriptor, b, len, 1 << 20), WA_EDEPTH);
	CHECK(m == (ProtobufCMessage *)&len);
	free(b);

	/* ~40 KB of nesting crashes raw protobuf_c_message_unpack (stack
	 * overflow, measured with protobuf-c 1.4.1); here it is just refused. */
	b = nested_ephemeral(5000, &len);
	CHECK(len > 30000);
	CHECK_EQ_INT(wa_pb_unpack(&m, &wa__message__descriptor, b, len, 1 << 20), WA_EDEPTH);
	free(b);

	/* The same bytes under a descriptor where field 40 is not a message are
	 * skipped as an unknown field, not descended into. */
	b = nested_ephemeral(5000, &len);
	CHECK_EQ_INT(wa_pb_check(&wa__message_key__descriptor, b, len, 4, SIZE_MAX), 0);
	free(b);
}

static void test_malformed(void)
{
	const ProtobufCMessageDescriptor *d = &wa__message__descriptor;
	static const uint8_t truncated_len[] = { 0x0a, 0x05, 'a', 'b' };
	static const uint8_t truncated_varint[] = { 0x08, 0x80 };
	static const uint8_t long_varint[] = { 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f };
	static const uint8_t group[] = { 0x0b, 0x0c };
	static const uint8_t field_zero[] = { 0x02, 0x00 };
	static const uint8_t fixed_short[] = { 0x09, 1, 2, 3 };
	/* extended_text_message (6) of 3 bytes whose inner field claims 5 */
	static const uint8_t inner_overrun[] = { 0x32, 0x03, 0x0a, 0x05, 'a', 'b', 'c', 'd', 'e' };
	static const uint8_t wire7[] = { 0x0f };
	/* extended_text_message of 3 bytes holding a context_info (17) that
	 * claims 6: the submessage would run past its parent to the end of the input */
	static const uint8_t sub_overrun[] = { 0x32, 0x03, 0x8a, 0x01, 0x06, 0x0a, 0x01, 'a', 0x0a, 0x01, 'b' };
	static const uint8_t *cases[] = { truncated_len, truncated_varint, long_varint, group,
		field_zero, fixed_short, inner_overrun, wire7, sub_overrun };
	static const size_t lens[] = { sizeof truncated_len, sizeof truncated_varint,
		sizeof long_varint, sizeof group, sizeof field_zero, sizeof fixed_short,
		sizeof inner_overrun, sizeof wire7, sizeof sub_overrun };
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		ProtobufCMessage *m = NULL;
		int rc = wa_pb_check(d, cases[i], lens[i], WA_PB_MAX_DEPTH, SIZE_MAX);
		int rc2 = wa_pb_unpack(&m, d, cases[i], lens[i], 1024);
		if (rc != WA_EMALFORMED || rc2 != WA_EMALFORMED)
			fprintf(stderr, "malformed case %zu: check %d, unpack %d\n", i, rc, rc2);
		CHECK_EQ_INT(rc, WA_EMALFORMED);
		CHECK_EQ_INT(rc2, WA_EMALFORMED);
		CHECK(m == NULL);
	}
	/* well-formed 10-byte varint (max uint64) is fine */
	static const uint8_t max_varint[] = { 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
	CHECK_EQ_INT(wa_pb_check(&wa__client_payload__descriptor, max_varint, sizeof max_varint, 8, SIZE_MAX), 0);

	/* size cap and argument checks */
	uint8_t big[64] = { 0 };
	ProtobufCMessage *m = NULL;
	CHECK_EQ_INT(wa_pb_unpack(&m, d, big, sizeof big, sizeof big - 1), WA_ETOOBIG);
	CHECK_EQ_INT(wa_pb_check(NULL, big, 0, 4, SIZE_MAX), WA_EINVAL);
	CHECK_EQ_INT(wa_pb_check(d, big, 0, 0, SIZE_MAX), WA_EINVAL);
	CHECK_EQ_INT(wa_pb_check(d, big, 0, WA_PB_MAX_DEPTH + 1, SIZE_MAX), WA_EINVAL);

	/* empty input is an empty message */
	CHECK_EQ_INT(wa_pb_unpack(&m, d, NULL, 0, 16), 0);
	CHECK(m != NULL);
	protobuf_c_message_free_unpacked(m, NULL);
}

/* A reply as Baileys encodes it (field order and bytes checked against
 * Baileys by the proto_roundtrip interop test; spelled out here so the unit
 * suite pins the generated layout without node). */
static void test_reply_bytes(void)
{
	Wa__Message quoted = WA__MESSAGE__INIT;
	quoted.conversation = "hi";
	Wa__ContextInfo ci = WA__CONTEXT_INFO__INIT;
	ci.stanza_id = "ID";
	ci.quoted_message = &quoted;
	Wa__Message__ExtendedTextMessage ext = WA__MESSAGE__EXTENDED_TEXT_MESSAGE__INIT;
	ext.text = "ok";
	ext.context_info = &ci;
	Wa__Message msg = WA__MESSAGE__INIT;
	msg.extended_text_message = &ext;

	static const uint8_t want[] = {
		0x32, 0x11,                         /* extended_text_message (6), 17 bytes */
		0x0a, 0x02, 'o', 'k',               /*   text (1) */
		0x8a, 0x01, 0x0a,                   /*   context_info (17), 10 bytes */
		0x0a, 0x02, 'I', 'D',               /*     stanza_id (1) */
		0x1a, 0x04, 0x0a, 0x02, 'h', 'i',   /*     quoted_message (3) { conversation } */
	};
	uint8_t buf[64];
	size_t n = wa__message__get_packed_size(&msg);
	CHECK_EQ_INT(n, sizeof want);
	if (n == sizeof want) {
		wa__message__pack(&msg, buf);
		CHECK_EQ_MEM(buf, want, sizeof want);
	}
	ProtobufCMessage *m = NULL;
	CHECK_EQ_INT(wa_pb_unpack(&m, &wa__message__descriptor, want, sizeof want, 1024), 0);
	if (m) {
		Wa__Message *w = (Wa__Message *)m;
		CHECK(w->extended_text_message && w->extended_text_message->context_info);
		if (w->extended_text_message && w->extended_text_message->context_info) {
			Wa__ContextInfo *c = w->extended_text_message->context_info;
			CHECK_EQ_STR(c->stanza_id, "ID");
			CHECK(c->quoted_message && c->quoted_message->conversation &&
			      strcmp(c->quoted_message->conversation, "hi") == 0);
			CHECK(c->participant == NULL);
		}
		protobuf_c_message_free_unpacked(m, NULL);
	}
}

/* A HistorySync with one conversation holding one message unpacks through
 * four message levels, and its nested types are the ones message.proto defines. */
static void test_history_sync(void)
{
	Wa__MessageKey key = WA__MESSAGE_KEY__INIT;
	key.remote_jid = "1@s.whatsapp.net";
	key.id = "A";
	Wa__Message body = WA__MESSAGE__INIT;
	body.conversation = "old";
	Wa__WebMessageInfo wmi = WA__WEB_MESSAGE_INFO__INIT;
	wmi.key = &key;
	wmi.message = &body;
	wmi.has_message_timestamp = 1, wmi.message_timestamp = 1700000000;
	Wa__HistorySyncMsg hm = WA__HISTORY_SYNC_MSG__INIT;
	hm.message = &wmi;
	Wa__HistorySyncMsg *hms[] = { &hm };
	Wa__Conversation conv = WA__CONVERSATION__INIT;
	conv.id = "1@s.whatsapp.net";
	conv.n_messages = 1, conv.messages = hms;
	Wa__Conversation *convs[] = { &conv };
	Wa__Pushname pn = WA__PUSHNAME__INIT;
	pn.id = "1@s.whatsapp.net", pn.pushname = "One";
	Wa__Pushname *pns[] = { &pn };
	Wa__HistorySync hs = WA__HISTORY_SYNC__INIT;
	hs.has_sync_type = 1, hs.sync_type = WA__HISTORY_SYNC__HISTORY_SYNC_TYPE__INITIAL_BOOTSTRAP;
	hs.n_conversations = 1, hs.conversations = convs;
	hs.n_pushnames = 1, hs.pushnames = pns;

	size_t n = wa__history_sync__get_packed_size(&hs);
	uint8_t *buf = malloc(n);
	wa__history_sync__pack(&hs, buf);
	CHECK_EQ_INT(wa_pb_check(&wa__history_sync__descriptor, buf, n, 5, SIZE_MAX), 0);
	CHECK_EQ_INT(wa_pb_check(&wa__history_sync__descriptor, buf, n, 4, SIZE_MAX), WA_EDEPTH);
	ProtobufCMessage *m = NULL;
	CHECK_EQ_INT(wa_pb_unpack(&m, &wa__history_sync__descriptor, buf, n, 1 << 20), 0);
	if (m) {
		Wa__HistorySync *h = (Wa__HistorySync *)m;
		CHECK_EQ_INT(h->n_conversations, 1);
		CHECK_EQ_INT(h->n_pushnames, 1);
		if (h->n_conversations == 1 && h->conversations[0]->n_messages == 1) {
			Wa__WebMessageInfo *w = h->conversations[0]->messages[0]->message;
			CHECK(w && w->message && w->message->conversation &&
			      strcmp(w->message->conversation, "old") == 0);
			CHECK(w && w->has_message_timestamp && w->message_timestamp == 1700000000);
		} else {
			CHECK(0);
		}
		protobuf_c_message_free_unpacked(m, NULL);
	}
	free(buf);
}

/* Empty repeated submessages cost 2 bytes each on the wire and a whole struct
 * each unpacked: the memory estimate refuses that before protobuf-c runs. */
static void test_expansion(void)
{
	const size_t count = 10000;
	uint8_t *b = malloc(2 * count);
	for (size_t i = 0; i < count; i++)
		b[2 * i] = 0x12, b[2 * i + 1] = 0x00; /* conversations (2), empty */
	const size_t len = 2 * count;
	const ProtobufCMessageDescriptor *d = &wa__history_sync__descriptor;
	size_t need = d->sizeof_message + 8 * len + count * wa__conversation__descriptor.sizeof_message;

	CHECK_EQ_INT(wa_pb_check(d, b, len, 8, need), 0);
	CHECK_EQ_INT(wa_pb_check(d, b, len, 8, need - 1), WA_ETOOBIG);
	ProtobufCMessage *m = NULL;
	/* cap = input size: budget 32 * 20 KB is far below ~3 MB of structs */
	CHECK_EQ_INT(wa_pb_unpack(&m, d, b, len, len), WA_ETOOBIG);
	CHECK(m == NULL);
	/* a caller allowing 1 MiB inputs gets a 32 MiB budget: accepted */
	CHECK_EQ_INT(wa_pb_unpack(&m, d, b, len, 1 << 20), 0);
	if (m) {
		CHECK_EQ_INT(((Wa__HistorySync *)m)->n_conversations, count);
		protobuf_c_message_free_unpacked(m, NULL);
	}
	free(b);
}

int main(void)
{
	test_expansion();
	test_depth();
	test_malformed();
	test_reply_bytes();
	test_history_sync();
	return check_exit("test_proto");
}
