/* Interop driver for proto/: encodes fixed vectors of our generated protobuf-c
 * types (ClientPayload, ADVSignedDeviceIdentity, Message with reply context,
 * reaction) for proto_roundtrip.mjs to decode with Baileys, and decodes bytes
 * Baileys produced, printing every present field as JSON via the descriptors.
 *   proto_roundtrip encode                 → {"name": "hex", ...}
 *   proto_roundtrip decode <type> <hex>    → JSON of the message (snake_case keys,
 *                                            bytes as hex, 64-bit ints as strings) */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "adv.pb-c.h"
#include "client_payload.pb-c.h"
#include "device_props.pb-c.h"
#include "history_sync.pb-c.h"
#include "message.pb-c.h"
#include "pb.h"
#include "sync_action.pb-c.h"
#include "util/codec.h"

/* Bigger than any vector here; decode input beyond it is refused (STYLE §4). */
#define MAX_PB_LEN (1u << 20)

/* Deterministic filler shared with the JS side: byte i = seed + i. */
static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i);
}

static ProtobufCBinaryData bin(uint8_t *p, size_t n)
{
	ProtobufCBinaryData b = { n, p };
	return b;
}

static char *pack_hex(const ProtobufCMessage *m)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(n ? n : 1);
	if (!buf)
		return NULL;
	size_t w = protobuf_c_message_pack(m, buf);
	char *hex = w == n ? wa_hex_encode(buf, n) : NULL;
	free(buf);
	return hex;
}

/* Packs m into a fresh buffer for embedding as a bytes field; caller frees. */
static uint8_t *pack_alloc(const ProtobufCMessage *m, size_t *len)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(n ? n : 1);
	if (!buf)
		return NULL;
	protobuf_c_message_pack(m, buf);
	*len = n;
	return buf;
}

static char *encode_client_payload(void)
{
	Wa__DeviceProps__AppVersion dv = WA__DEVICE_PROPS__APP_VERSION__INIT;
	dv.has_primary = dv.has_secondary = dv.has_tertiary = 1;
	dv.primary = 10, dv.secondary = 15, dv.tertiary = 7;
	Wa__DeviceProps__HistorySyncConfig hs = WA__DEVICE_PROPS__HISTORY_SYNC_CONFIG__INIT;
	hs.has_storage_quota_mb = 1, hs.storage_quota_mb = 10240;
	hs.has_inline_initial_payload_in_e2ee_msg = 1, hs.inline_initial_payload_in_e2ee_msg = 1;
	hs.has_support_call_log_history = 1, hs.support_call_log_history = 0;
	Wa__DeviceProps dp = WA__DEVICE_PROPS__INIT;
	dp.os = "Mac OS";
	dp.version = &dv;
	dp.has_platform_type = 1, dp.platform_type = WA__DEVICE_PROPS__PLATFORM_TYPE__CHROME;
	dp.has_require_full_sync = 1, dp.require_full_sync = 1;
	dp.history_sync_config = &hs;

	size_t dp_len = 0;
	uint8_t *dp_bytes = pack_alloc(&dp.base, &dp_len);
	if (!dp_bytes)
		return NULL;

	uint8_t regid[4] = { 0x00, 0x00, 0x30, 0x39 }, keytype[1] = { 0x05 };
	uint8_t ident[32], skey_id[3] = { 0, 0, 1 }, skey[32], sig[64], hash[16];
	fill(ident, sizeof ident, 0x10);
	fill(skey, sizeof skey, 0x50);
	fill(sig, sizeof sig, 0x90);
	fill(hash, sizeof hash, 0xf0);

	Wa__ClientPayload__DevicePairingRegistrationData reg =
		WA__CLIENT_PAYLOAD__DEVICE_PAIRING_REGISTRATION_DATA__INIT;
	reg.has_e_regid = 1, reg.e_regid = bin(regid, sizeof regid);
	reg.has_e_keytype = 1, reg.e_keytype = bin(keytype, sizeof keytype);
	reg.has_e_ident = 1, reg.e_ident = bin(ident, sizeof ident);
	reg.has_e_skey_id = 1, reg.e_skey_id = bin(skey_id, sizeof skey_id);
	reg.has_e_skey_val = 1, reg.e_skey_val = bin(skey, sizeof skey);
	reg.has_e_skey_sig = 1, reg.e_skey_sig = bin(sig, sizeof sig);
	reg.has_build_hash = 1, reg.build_hash = bin(hash, sizeof hash);
	reg.has_device_props = 1, reg.device_props = bin(dp_bytes, dp_len);

	Wa__ClientPayload__UserAgent__AppVersion av = WA__CLIENT_PAYLOAD__USER_AGENT__APP_VERSION__INIT;
	av.has_primary = av.has_secondary = av.has_tertiary = 1;
	av.primary = 2, av.secondary = 3000, av.tertiary = 1043857760;
	Wa__ClientPayload__UserAgent ua = WA__CLIENT_PAYLOAD__USER_AGENT__INIT;
	ua.has_platform = 1, ua.platform = WA__CLIENT_PAYLOAD__USER_AGENT__PLATFORM__WEB;
	ua.app_version = &av;
	ua.mcc = "000", ua.mnc = "000", ua.os_version = "0.1", ua.device = "Desktop";
	ua.os_build_number = "0.1";
	ua.has_release_channel = 1, ua.release_channel = WA__CLIENT_PAYLOAD__USER_AGENT__RELEASE_CHANNEL__RELEASE;
	ua.locale_language_iso6391 = "en", ua.locale_country_iso31661_alpha2 = "US";
	Wa__ClientPayload__WebInfo wi = WA__CLIENT_PAYLOAD__WEB_INFO__INIT;
	wi.has_web_sub_platform = 1;
	wi.web_sub_platform = WA__CLIENT_PAYLOAD__WEB_INFO__WEB_SUB_PLATFORM__WEB_BROWSER;

	Wa__ClientPayload cp = WA__CLIENT_PAYLOAD__INIT;
	cp.has_username = 1, cp.username = UINT64_C(15551234567);
	cp.has_passive = 1, cp.passive = 1;
	cp.user_agent = &ua;
	cp.web_info = &wi;
	cp.push_name = "wamd \xe2\x9c\x93";
	cp.has_session_id = 1, cp.session_id = -123456789;
	cp.has_connect_type = 1, cp.connect_type = WA__CLIENT_PAYLOAD__CONNECT_TYPE__WIFI_UNKNOWN;
	cp.has_connect_reason = 1, cp.connect_reason = WA__CLIENT_PAYLOAD__CONNECT_REASON__USER_ACTIVATED;
	cp.has_device = 1, cp.device = 3;
	cp.device_pairing_data = &reg;
	cp.has_lc = 1, cp.lc = 1;
	cp.has_pull = 1, cp.pull = 1;
	cp.has_lid_db_migrated = 1, cp.lid_db_migrated = 0;

	char *hex = pack_hex(&cp.base);
	free(dp_bytes);
	return hex;
}

static char *encode_adv_identity(void)
{
	Wa__ADVDeviceIdentity id = WA__ADVDEVICE_IDENTITY__INIT;
	id.has_raw_id = 1, id.raw_id = 0x12345678;
	id.has_timestamp = 1, id.timestamp = 1700000000;
	id.has_key_index = 1, id.key_index = 7;
	id.has_account_type = 1, id.account_type = WA__ADVENCRYPTION_TYPE__E2EE;
	id.has_device_type = 1, id.device_type = WA__ADVENCRYPTION_TYPE__HOSTED;
	size_t det_len = 0;
	uint8_t *det = pack_alloc(&id.base, &det_len);
	if (!det)
		return NULL;

	uint8_t key[32], asig[64], dsig[64];
	fill(key, sizeof key, 0x20);
	fill(asig, sizeof asig, 0x40);
	fill(dsig, sizeof dsig, 0x80);
	Wa__ADVSignedDeviceIdentity s = WA__ADVSIGNED_DEVICE_IDENTITY__INIT;
	s.has_details = 1, s.details = bin(det, det_len);
	s.has_account_signature_key = 1, s.account_signature_key = bin(key, sizeof key);
	s.has_account_signature = 1, s.account_signature = bin(asig, sizeof asig);
	s.has_device_signature = 1, s.device_signature = bin(dsig, sizeof dsig);
	char *hex = pack_hex(&s.base);
	free(det);
	return hex;
}

static char *encode_message_reply(void)
{
	Wa__Message quoted = WA__MESSAGE__INIT;
	quoted.conversation = "original";
	char *mentions[] = { "15550001111@s.whatsapp.net", "15550003333@s.whatsapp.net" };
	Wa__ContextInfo ci = WA__CONTEXT_INFO__INIT;
	ci.stanza_id = "3EB0ABCDEF";
	ci.participant = "15550002222@s.whatsapp.net";
	ci.quoted_message = &quoted;
	ci.n_mentioned_jid = 2, ci.mentioned_jid = mentions;
	ci.has_expiration = 1, ci.expiration = 604800;
	ci.has_ephemeral_setting_timestamp = 1, ci.ephemeral_setting_timestamp = 1700000001;
	Wa__Message__ExtendedTextMessage ext = WA__MESSAGE__EXTENDED_TEXT_MESSAGE__INIT;
	ext.text = "hello @15550001111 \xf0\x9f\x91\x8b";
	ext.context_info = &ci;
	uint8_t secret[32];
	fill(secret, sizeof secret, 0x33);
	Wa__MessageContextInfo mci = WA__MESSAGE_CONTEXT_INFO__INIT;
	mci.has_message_secret = 1, mci.message_secret = bin(secret, sizeof secret);
	Wa__Message m = WA__MESSAGE__INIT;
	m.extended_text_message = &ext;
	m.message_context_info = &mci;
	return pack_hex(&m.base);
}

static char *encode_message_reaction(void)
{
	Wa__MessageKey key = WA__MESSAGE_KEY__INIT;
	key.remote_jid = "15550002222@s.whatsapp.net";
	key.has_from_me = 1, key.from_me = 1;
	key.id = "3EB0REACTED";
	Wa__Message__ReactionMessage r = WA__MESSAGE__REACTION_MESSAGE__INIT;
	r.key = &key;
	r.text = "\xf0\x9f\x91\x8d";
	r.has_sender_timestamp_ms = 1, r.sender_timestamp_ms = INT64_C(1700000000123);
	Wa__Message m = WA__MESSAGE__INIT;
	m.reaction_message = &r;
	return pack_hex(&m.base);
}

static json_t *msg_json(const ProtobufCMessage *m);

static json_t *value_json(const ProtobufCFieldDescriptor *f, const void *p)
{
	char num[32];

	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		return json_integer(*(const int32_t *)p);
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return json_integer(*(const uint32_t *)p);
	case PROTOBUF_C_TYPE_ENUM:
		return json_integer(*(const int *)p);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		snprintf(num, sizeof num, "%" PRId64, *(const int64_t *)p);
		return json_string(num);
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		snprintf(num, sizeof num, "%" PRIu64, *(const uint64_t *)p);
		return json_string(num);
	case PROTOBUF_C_TYPE_FLOAT:
		return json_real(*(const float *)p);
	case PROTOBUF_C_TYPE_DOUBLE:
		return json_real(*(const double *)p);
	case PROTOBUF_C_TYPE_BOOL:
		return json_boolean(*(const protobuf_c_boolean *)p);
	case PROTOBUF_C_TYPE_STRING:
		return json_string(*(char *const *)p);
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *b = p;
		char *hex = wa_hex_encode(b->data, b->len);
		json_t *j = hex ? json_string(hex) : NULL;
		free(hex);
		return j;
	}
	case PROTOBUF_C_TYPE_MESSAGE:
		return msg_json(*(ProtobufCMessage *const *)p);
	}
	return NULL;
}

static size_t elt_size(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
		return 8;
	case PROTOBUF_C_TYPE_DOUBLE:
		return sizeof(double);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING: case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	default:
		return 4;
	}
}

/* Every present field of m, walked through its descriptor. */
static json_t *msg_json(const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	const char *base = (const char *)m;
	json_t *o = json_object();

	for (unsigned i = 0; o && i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const void *p = base + f->offset;
		json_t *v = NULL;

		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(base + f->quantifier_offset);
			const char *arr = *(char *const *)p;
			if (n == 0)
				continue;
			v = json_array();
			for (size_t k = 0; v && k < n; k++)
				json_array_append_new(v, value_json(f, arr + k * elt_size(f->type)));
		} else if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE) {
			if (*(void *const *)p == NULL)
				continue;
			v = value_json(f, p);
		} else {
			if (f->label == PROTOBUF_C_LABEL_OPTIONAL &&
			    !*(const protobuf_c_boolean *)(base + f->quantifier_offset))
				continue;
			v = value_json(f, p);
		}
		json_object_set_new(o, f->name, v);
	}
	return o;
}

static int do_decode(const char *type, const char *hex)
{
	const ProtobufCMessageDescriptor *d;
	if (strcmp(type, "client_payload") == 0)
		d = &wa__client_payload__descriptor;
	else if (strcmp(type, "device_props") == 0)
		d = &wa__device_props__descriptor;
	else if (strcmp(type, "adv_signed_device_identity") == 0)
		d = &wa__advsigned_device_identity__descriptor;
	else if (strcmp(type, "adv_device_identity") == 0)
		d = &wa__advdevice_identity__descriptor;
	else if (strcmp(type, "message") == 0)
		d = &wa__message__descriptor;
	else if (strcmp(type, "history_sync") == 0)
		d = &wa__history_sync__descriptor;
	else if (strcmp(type, "sync_action_data") == 0)
		d = &wa__sync_action_data__descriptor;
	else {
		fprintf(stderr, "unknown type %s\n", type);
		return 2;
	}

	uint8_t *buf = NULL;
	size_t len = 0;
	if (wa_hex_decode(hex, strlen(hex), &buf, &len) != 0) {
		fprintf(stderr, "bad hex input\n");
		free(buf);
		return 2;
	}
	ProtobufCMessage *m = NULL;
	int rc = wa_pb_unpack(&m, d, buf, len, MAX_PB_LEN);
	free(buf);
	if (rc != 0) {
		fprintf(stderr, "unpack failed: %s\n", wa_strerror(rc));
		return 1;
	}
	json_t *j = msg_json(m);
	protobuf_c_message_free_unpacked(m, NULL);
	char *s = j ? json_dumps(j, JSON_SORT_KEYS) : NULL;
	json_decref(j);
	if (!s)
		return 1;
	puts(s);
	free(s);
	return 0;
}

static int do_encode(void)
{
	struct { const char *name; char *(*fn)(void); } vec[] = {
		{ "client_payload", encode_client_payload },
		{ "adv_signed_device_identity", encode_adv_identity },
		{ "message_reply", encode_message_reply },
		{ "message_reaction", encode_message_reaction },
	};
	json_t *o = json_object();
	int rc = o ? 0 : 1;
	for (size_t i = 0; rc == 0 && i < sizeof vec / sizeof vec[0]; i++) {
		char *hex = vec[i].fn();
		if (!hex)
			rc = 1;
		else
			json_object_set_new(o, vec[i].name, json_string(hex));
		free(hex);
	}
	char *s = rc == 0 ? json_dumps(o, JSON_SORT_KEYS) : NULL;
	json_decref(o);
	if (!s)
		return 1;
	puts(s);
	free(s);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "encode") == 0)
		return do_encode();
	if (argc == 4 && strcmp(argv[1], "decode") == 0)
		return do_decode(argv[2], argv[3]);
	fprintf(stderr, "usage: %s encode | decode <type> <hex>\n", argv[0]);
	return 2;
}
