/* Message protobufs we send on 1:1 chats (messaging.md §3, §8, vectors
 * §12.3): plain text, replies/mentions, reactions and the deviceSentMessage
 * copy for our own other devices. Built with protobuf-c over stack structs
 * that point at the caller's strings (nothing here owns them). */
#include <stdlib.h>
#include <string.h>

#include "message.pb-c.h"
#include "pb.h"
#include "session/msg.h"

static int pack(const ProtobufCMessage *m, uint8_t **out, size_t *out_len)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *b = malloc(n ? n : 1);
	if (!b)
		return WA_ENOMEM;
	protobuf_c_message_pack(m, b);
	*out = b;
	*out_len = n;
	return 0;
}

/* protobuf-c wants char * in its structs; we never write through them. */
static char *unconst(const char *s)
{
	return (char *)(uintptr_t)s;
}

static bool str_ok(const char *s, size_t max)
{
	return s && strlen(s) <= max && wa_bin_valid_string(s, strlen(s));
}

int wa_msg_build_text(const char *text, const wa_msg_quote *quote, const char *const *mentions,
	size_t n_mentions, const uint8_t *secret, uint8_t **out, size_t *out_len)
{
	if (!out || !out_len || !str_ok(text, WA_MSG_MAX_TEXT) || (n_mentions && !mentions))
		return WA_EINVAL;
	if (quote && (!str_ok(quote->id, WA_MSG_ID_MAX) ||
		      (quote->participant && !str_ok(quote->participant, WA_STORE_JID_MAX)) ||
		      (quote->text && !str_ok(quote->text, WA_MSG_MAX_TEXT))))
		return WA_EINVAL;
	for (size_t i = 0; i < n_mentions; i++)
		if (!str_ok(mentions[i], WA_STORE_JID_MAX))
			return WA_EINVAL;

	Wa__Message msg = WA__MESSAGE__INIT;
	Wa__Message__ExtendedTextMessage ext = WA__MESSAGE__EXTENDED_TEXT_MESSAGE__INIT;
	Wa__ContextInfo ci = WA__CONTEXT_INFO__INIT;
	Wa__Message quoted = WA__MESSAGE__INIT;
	Wa__MessageContextInfo mci = WA__MESSAGE_CONTEXT_INFO__INIT;

	if (quote || n_mentions) {
		ext.text = unconst(text);
		ext.context_info = &ci;
		if (quote) {
			ci.stanza_id = unconst(quote->id);
			ci.participant = unconst(quote->participant);
			quoted.conversation = unconst(quote->text ? quote->text : "");
			ci.quoted_message = &quoted;
		}
		ci.n_mentioned_jid = n_mentions;
		ci.mentioned_jid = (char **)(uintptr_t)mentions;
		msg.extended_text_message = &ext;
	} else {
		msg.conversation = unconst(text);
	}
	if (secret) {
		mci.has_message_secret = 1;
		mci.message_secret.data = (uint8_t *)(uintptr_t)secret;
		mci.message_secret.len = WA_MSG_SECRET_LEN;
		msg.message_context_info = &mci;
	}
	return pack(&msg.base, out, out_len);
}

int wa_msg_build_reaction(const char *remote_jid, bool from_me, const char *id,
	const char *participant, const char *emoji, int64_t ts_ms, uint8_t **out, size_t *out_len)
{
	if (!out || !out_len || !str_ok(remote_jid, WA_STORE_JID_MAX) || !str_ok(id, WA_MSG_ID_MAX) ||
	    !emoji || !str_ok(emoji, 64) || (participant && !str_ok(participant, WA_STORE_JID_MAX)))
		return WA_EINVAL;
	Wa__Message msg = WA__MESSAGE__INIT;
	Wa__Message__ReactionMessage r = WA__MESSAGE__REACTION_MESSAGE__INIT;
	Wa__MessageKey key = WA__MESSAGE_KEY__INIT;
	key.remote_jid = unconst(remote_jid);
	key.has_from_me = 1;
	key.from_me = from_me;
	key.id = unconst(id);
	key.participant = unconst(participant);
	r.key = &key;
	r.text = unconst(emoji);
	r.has_sender_timestamp_ms = 1;
	r.sender_timestamp_ms = ts_ms;
	msg.reaction_message = &r;
	return pack(&msg.base, out, out_len);
}

int wa_msg_wrap_dsm(const uint8_t *msg, size_t msg_len, const char *dest_jid, uint8_t **out,
	size_t *out_len)
{
	if (!out || !out_len || (!msg && msg_len) || !str_ok(dest_jid, WA_STORE_JID_MAX))
		return WA_EINVAL;
	ProtobufCMessage *inner_pb = NULL;
	int rc = wa_pb_unpack(&inner_pb, &wa__message__descriptor, msg, msg_len, WA_SIG_MAX_PLAINTEXT);
	if (rc != 0)
		return rc;
	Wa__Message *inner = (Wa__Message *)inner_pb;
	Wa__Message outer = WA__MESSAGE__INIT;
	Wa__Message__DeviceSentMessage dsm = WA__MESSAGE__DEVICE_SENT_MESSAGE__INIT;
	dsm.destination_jid = unconst(dest_jid);
	dsm.message = inner;
	outer.device_sent_message = &dsm;
	/* Baileys copies messageContextInfo to the top level too (§12.3 vector) */
	outer.message_context_info = inner->message_context_info;
	rc = pack(&outer.base, out, out_len);
	protobuf_c_message_free_unpacked(inner_pb, NULL);
	return rc;
}
