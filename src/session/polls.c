/* Poll votes (messaging.md §8): a received pollUpdateMessage is decrypted
 * with the messageSecret of the poll it votes in (stored with the poll's
 * plaintext) and its options, sent as SHA-256 hashes, named again. The key
 * is HMAC-SHA256(HMAC-SHA256(32 zero bytes, secret), poll id ‖ creator ‖
 * voter ‖ "Poll Vote" ‖ 0x01), AES-256-GCM with aad poll id ‖ 0 ‖ voter, as
 * Baileys' decryptPollVote; the JIDs are bare phone-number JIDs. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "message.pb-c.h"
#include "pb.h"
#include "session/msgstate.h"

#define MAX_VOTE (4 * 1024)
#define MAX_VOTE_OPTIONS 12

static const Wa__Message__PollCreationMessage *poll_of(const Wa__Message *m)
{
	return m->poll_creation_message ? m->poll_creation_message : m->poll_creation_message_v3;
}

static int vote_key(const uint8_t *secret, size_t secret_len, const char *id, const char *creator,
	const char *voter, uint8_t key[WA_SHA256_LEN])
{
	static const uint8_t zeros[32];
	uint8_t k0[WA_HMAC_SHA256_LEN];
	size_t li = strlen(id), lc = strlen(creator), lv = strlen(voter), n = li + lc + lv + 9 + 1;
	uint8_t *sign = malloc(n);
	if (!sign)
		return WA_ENOMEM;
	memcpy(sign, id, li);
	memcpy(sign + li, creator, lc);
	memcpy(sign + li + lc, voter, lv);
	memcpy(sign + li + lc + lv, "Poll Vote", 9);
	sign[n - 1] = 1;
	int rc = wa_hmac_sha256(k0, zeros, sizeof zeros, secret, secret_len);
	if (rc == 0)
		rc = wa_hmac_sha256(key, k0, sizeof k0, sign, n);
	free(sign);
	return rc;
}

static char *poll_vote_json(wa_session *s, const char *chat, const char *voter, const Wa__Message *m)
{
	const Wa__Message__PollUpdateMessage *u = m->poll_update_message;
	if (!u || !u->poll_creation_message_key || !u->poll_creation_message_key->id || !u->vote ||
	    !u->vote->has_enc_payload || !u->vote->has_enc_iv || u->vote->enc_iv.len != WA_GCM_IV_LEN ||
	    u->vote->enc_payload.len < WA_GCM_TAG_LEN || u->vote->enc_payload.len > MAX_VOTE || !wa_session_me_jid(s))
		return NULL;
	const char *id = u->poll_creation_message_key->id;
	/* the poll: ours (the usual case) or the chat's other side */
	wa_store_msg_row *row = NULL;
	bool ours = wa_store_msg_load(s->store, s->instance_id, chat, id, true, &row) == 0;
	if (!ours && wa_store_msg_load(s->store, s->instance_id, chat, id, false, &row) != 0)
		return NULL;
	ProtobufCMessage *pb = NULL;
	char *out = NULL;
	uint8_t *pt = NULL;
	ProtobufCMessage *vpb = NULL;
	if (wa_pb_unpack(&pb, &wa__message__descriptor, row->plaintext, row->plaintext_len, WA_SIG_MAX_PLAINTEXT) != 0)
		goto done;
	const Wa__Message *pm = (const Wa__Message *)pb;
	const Wa__Message__PollCreationMessage *poll = poll_of(pm);
	if (!poll || !pm->message_context_info || !pm->message_context_info->has_message_secret)
		goto done;
	/* a group poll's creator is its sender, a 1:1 poll's the chat */
	char creator[WA_STORE_JID_MAX];
	const char *author = ours ? wa_session_me_jid(s) : row->sender_jid ? row->sender_jid : chat;
	if (!wa_msg_user_of(author, creator, NULL))
		goto done;
	uint8_t key[WA_SHA256_LEN];
	const ProtobufCBinaryData *sec = &pm->message_context_info->message_secret;
	if (vote_key(sec->data, sec->len, id, creator, voter, key) != 0)
		goto done;
	size_t aad_len = strlen(id) + 1 + strlen(voter);
	char *aad = malloc(aad_len + 1);
	size_t pt_len = u->vote->enc_payload.len - WA_GCM_TAG_LEN;
	pt = malloc(pt_len ? pt_len : 1);
	if (!aad || !pt) {
		free(aad);
		goto done;
	}
	memcpy(aad, id, strlen(id) + 1); /* with its NUL: the separator */
	memcpy(aad + strlen(id) + 1, voter, strlen(voter));
	int rc = wa_aes_gcm_decrypt(pt, key, u->vote->enc_iv.data, aad, aad_len, u->vote->enc_payload.data,
		u->vote->enc_payload.len);
	free(aad);
	if (rc != 0 || wa_pb_unpack(&vpb, &wa__message__poll_vote_message__descriptor, pt, pt_len, MAX_VOTE) != 0)
		goto done;
	const Wa__Message__PollVoteMessage *v = (const Wa__Message__PollVoteMessage *)vpb;
	json_t *names = json_array();
	for (size_t i = 0; names && i < v->n_selected_options; i++) {
		for (size_t k = 0; k < poll->n_options; k++) {
			const char *o = poll->options[k]->option_name;
			uint8_t h[WA_SHA256_LEN];
			if (!o)
				continue;
			wa_sha256(h, o, strlen(o));
			if (v->selected_options[i].len == sizeof h && memcmp(h, v->selected_options[i].data, sizeof h) == 0)
				json_array_append_new(names, json_string(o));
		}
	}
	json_t *o = names ? json_pack("{s:s, s:s, s:b, s:o}", "pollId", id, "voter", voter, "pollFromMe", ours,
			 "selectedOptions", names) : NULL;
	out = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
done:
	free(pt);
	if (vpb)
		protobuf_c_message_free_unpacked(vpb, NULL);
	if (pb)
		protobuf_c_message_free_unpacked(pb, NULL);
	wa_store_msg_row_free(row);
	return out;
}

char *wa_msg_poll_attach(wa_session *s, const char *chat, const char *voter_jid, const uint8_t *pt, size_t pt_len,
	const char *json)
{
	char voter[WA_STORE_JID_MAX];
	if (!chat || !voter_jid || !wa_msg_user_of(voter_jid, voter, NULL))
		return NULL;
	ProtobufCMessage *pb = NULL;
	if (wa_pb_unpack(&pb, &wa__message__descriptor, pt, pt_len, WA_SIG_MAX_PLAINTEXT) != 0)
		return NULL;
	const Wa__Message *m = (const Wa__Message *)pb;
	if (m->device_sent_message && m->device_sent_message->message)
		m = m->device_sent_message->message;
	char *vote = poll_vote_json(s, chat, voter, m);
	protobuf_c_message_free_unpacked(pb, NULL);
	json_t *j = vote ? json_loads(json, 0, NULL) : NULL;
	json_t *vj = vote ? json_loads(vote, 0, NULL) : NULL;
	free(vote);
	char *out = NULL;
	if (j && vj && json_object_set_new(j, "wamdPollVote", vj) == 0) {
		vj = NULL;
		out = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	}
	json_decref(vj);
	json_decref(j);
	return out;
}

/* Our vote on a stored poll (ours or received): the options' SHA-256
 * hashes in a PollVoteMessage, encrypted as above with us as the voter and
 * sent as a pollUpdateMessage to the poll's chat. */
int wa_session_send_poll_vote(wa_session *s, const char *to, const char *poll_id, const char *const *options,
	size_t n, char **id_out)
{
	if (!s || !s->msg || !poll_id || strlen(poll_id) > WA_MSG_ID_MAX || (n && !options) || n > MAX_VOTE_OPTIONS)
		return WA_EINVAL;
	if (!wa_session_me_jid(s))
		return WA_ESTATE;
	char chat[WA_STORE_JID_MAX], voter[WA_STORE_JID_MAX], creator[WA_STORE_JID_MAX];
	int rc = wa_msg_chat_of(to, chat);
	if (rc != 0)
		return rc;
	if (!wa_msg_user_of(wa_session_me_jid(s), voter, NULL))
		return WA_ESTATE;
	wa_store_msg_row *row = NULL;
	bool ours = wa_store_msg_load(s->store, s->instance_id, chat, poll_id, true, &row) == 0;
	if (!ours && wa_store_msg_load(s->store, s->instance_id, chat, poll_id, false, &row) != 0)
		return WA_ENOTFOUND;
	ProtobufCMessage *pb = NULL;
	uint8_t *pt = NULL, *ct = NULL, *msg = NULL;
	char *aad = NULL;
	rc = WA_EINVAL;
	if (wa_pb_unpack(&pb, &wa__message__descriptor, row->plaintext, row->plaintext_len, WA_SIG_MAX_PLAINTEXT) != 0)
		goto done;
	const Wa__Message *pm = (const Wa__Message *)pb;
	const Wa__Message__PollCreationMessage *poll = poll_of(pm);
	if (!poll || !pm->message_context_info || !pm->message_context_info->has_message_secret)
		goto done;
	/* a group poll's creator is its sender, a 1:1 poll's the chat */
	const char *author = ours ? wa_session_me_jid(s) : row->sender_jid ? row->sender_jid : chat;
	if (!wa_msg_user_of(author, creator, NULL))
		goto done;
	if (poll->has_selectable_options_count && poll->selectable_options_count && n > poll->selectable_options_count)
		goto done;
	uint8_t hashes[MAX_VOTE_OPTIONS][WA_SHA256_LEN];
	ProtobufCBinaryData sel[MAX_VOTE_OPTIONS];
	for (size_t i = 0; i < n; i++) {
		bool found = false;
		for (size_t k = 0; options[i] && k < poll->n_options && !found; k++)
			found = poll->options[k]->option_name && !strcmp(poll->options[k]->option_name, options[i]);
		for (size_t k = 0; found && k < i; k++)
			found = strcmp(options[k], options[i]) != 0;
		if (!found)
			goto done; /* not an option of this poll, or twice */
		wa_sha256(hashes[i], options[i], strlen(options[i]));
		sel[i] = (ProtobufCBinaryData){ .data = hashes[i], .len = WA_SHA256_LEN };
	}
	Wa__Message__PollVoteMessage v = WA__MESSAGE__POLL_VOTE_MESSAGE__INIT;
	v.n_selected_options = n;
	v.selected_options = sel;
	size_t pt_len = protobuf_c_message_get_packed_size(&v.base);
	uint8_t key[WA_SHA256_LEN], iv[WA_GCM_IV_LEN];
	size_t li = strlen(poll_id), aad_len = li + 1 + strlen(voter);
	pt = malloc(pt_len ? pt_len : 1);
	ct = malloc(pt_len + WA_GCM_TAG_LEN);
	aad = malloc(aad_len + 1);
	rc = WA_ENOMEM;
	if (!pt || !ct || !aad)
		goto done;
	protobuf_c_message_pack(&v.base, pt);
	memcpy(aad, poll_id, li + 1); /* with its NUL: the separator */
	memcpy(aad + li + 1, voter, strlen(voter));
	const ProtobufCBinaryData *sec = &pm->message_context_info->message_secret;
	wa_rand_bytes(iv, sizeof iv);
	if ((rc = vote_key(sec->data, sec->len, poll_id, creator, voter, key)) != 0 ||
	    (rc = wa_aes_gcm_encrypt(ct, key, iv, aad, aad_len, pt, pt_len)) != 0)
		goto done;
	Wa__Message m = WA__MESSAGE__INIT;
	Wa__Message__PollUpdateMessage u = WA__MESSAGE__POLL_UPDATE_MESSAGE__INIT;
	Wa__MessageKey pk = WA__MESSAGE_KEY__INIT;
	Wa__Message__PollEncValue ev = WA__MESSAGE__POLL_ENC_VALUE__INIT;
	pk.remote_jid = chat;
	pk.has_from_me = 1;
	pk.from_me = ours;
	pk.id = (char *)(uintptr_t)poll_id;
	if (!ours && strcmp(creator, chat) != 0)
		pk.participant = creator;
	ev.has_enc_payload = ev.has_enc_iv = 1;
	ev.enc_payload = (ProtobufCBinaryData){ .data = ct, .len = pt_len + WA_GCM_TAG_LEN };
	ev.enc_iv = (ProtobufCBinaryData){ .data = iv, .len = sizeof iv };
	u.poll_creation_message_key = &pk;
	u.vote = &ev;
	u.has_sender_timestamp_ms = 1;
	u.sender_timestamp_ms = wa_now_ms();
	m.poll_update_message = &u;
	size_t len = protobuf_c_message_get_packed_size(&m.base);
	rc = WA_ENOMEM;
	if (!(msg = malloc(len ? len : 1)))
		goto done;
	protobuf_c_message_pack(&m.base, msg);
	rc = wa_msg_queue(s, chat, NULL, msg, len, id_out);
done:
	free(msg);
	free(aad);
	free(ct);
	free(pt);
	if (pb)
		protobuf_c_message_free_unpacked(pb, NULL);
	wa_store_msg_row_free(row);
	return rc;
}
