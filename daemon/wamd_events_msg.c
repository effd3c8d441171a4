/* Message events of a session: a received message (Evolution's
 * MESSAGES_UPSERT, normalized, stored) and the status of ours
 * (MESSAGES_UPDATE); the record of a sent message shares the shape. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wamd.h"
#include "wamd_events.h"
#include "wamd_pace.h"

/* Evolution §9.3 normalization: extendedTextMessage reported as conversation,
 * documentWithCaptionMessage unwrapped; contextInfo lifted to the top. */
static json_t *normalize_message(json_t *msg, const char **type_io, json_t **ctx_out)
{
	*ctx_out = json_null();
	json_t *ext = json_object_get(msg, "extendedTextMessage");
	if (ext) {
		json_t *ci = json_object_get(ext, "contextInfo");
		if (ci) {
			json_decref(*ctx_out);
			*ctx_out = json_incref(ci);
		}
		json_t *text = json_object_get(ext, "text");
		json_object_set_new(msg, "conversation", text ? json_incref(text) : json_string(""));
		json_object_del(msg, "extendedTextMessage");
		*type_io = "conversation";
	}
	json_t *dwc = json_object_get(msg, "documentWithCaptionMessage");
	if (dwc) {
		json_t *inner = json_object_get(json_object_get(dwc, "message"), "documentMessage");
		if (inner)
			json_object_set(msg, "documentMessage", inner);
		json_object_del(msg, "documentWithCaptionMessage");
		*type_io = "documentMessage";
	}
	return msg;
}

static json_t *key_json(const wa_msg_key *key)
{
	json_t *k = json_object();
	const char *pn = key->remote_jid ? key->remote_jid : key->remote_lid;
	json_object_set_new(k, "remoteJid", json_string(pn ? pn : ""));
	if (key->remote_lid && key->remote_jid) {
		/* 2.3.4 behaviour: phone JID in remoteJid, the LID beside it */
		json_object_set_new(k, "remoteJidAlt", json_string(key->remote_lid));
		json_object_set_new(k, "previousRemoteJid", json_string(key->remote_lid));
	}
	json_object_set_new(k, "fromMe", json_boolean(key->from_me));
	json_object_set_new(k, "id", json_string(key->id ? key->id : ""));
	if (key->participant)
		json_object_set_new(k, "participant", json_string(key->participant));
	if (key->participant && key->participant_alt) /* Baileys' key of a group message */
		json_object_set_new(k, "participantAlt", json_string(key->participant_alt));
	/* a group's is its author's namespace (Baileys: the stanza's addressing_mode) */
	json_object_set_new(k, "addressingMode", json_string(wamd_key_is_lid(key) ? "lid" : "pn"));
	return k;
}

static void store_record(struct wamd_tenant *t, json_t *rec, const char *id, const char *jid, const char *lid,
			 bool from_me, const char *type, int64_t ts, int status, uint32_t sent_timer)
{
	char *s = json_dumps(rec, JSON_COMPACT);
	if (!s)
		return;
	wa_store_mrec r = { .key_id = id, .remote_jid = jid, .remote_lid = lid, .from_me = from_me,
		.message_type = type, .timestamp = ts, .status = status, .record = s, .record_len = strlen(s),
		.expires_at = wamd_record_expires_at(t, rec, ts, sent_timer) };
	int rc = wa_store_msgrec_put(t->d->store, t->id, &r);
	if (rc != 0)
		LOGW("instance %s: message record not stored: %s", t->name, wa_errname(rc));
	else
		wamd_expiry_note(r.expires_at);
	free(s);
}

json_t *wamd_message_record(struct wamd_tenant *t, const wa_msg_key *key, const char *push_name, int64_t ts,
	const char *type, json_t *msg)
{
	const char *mtype = type ? type : "unknown";
	/* a link preview as the sender built it: Evolution's rewrite to
	 * conversation drops it, so it is kept beside, additively, in
	 * Baileys' fields (matchedText, title, description, jpegThumbnail, ...) */
	json_t *preview = json_deep_copy(json_object_get(msg, "extendedTextMessage"));
	json_object_del(preview, "text");
	json_object_del(preview, "contextInfo");
	if (preview && !json_object_get(preview, "matchedText") && !json_object_get(preview, "title")) {
		json_decref(preview);
		preview = NULL;
	}
	json_t *ctx;
	normalize_message(msg, &mtype, &ctx);
	json_t *rec = json_object();
	json_object_set_new(rec, "key", key_json(key));
	json_object_set_new(rec, "pushName",
			    json_string(push_name ? push_name : key->from_me ? "Você" : ""));
	json_object_set_new(rec, "status", json_string(key->from_me ? "SERVER_ACK" : "DELIVERY_ACK"));
	json_object_set_new(rec, "message", msg);
	json_object_set_new(rec, "contextInfo", ctx);
	json_object_set_new(rec, "messageType", json_string(mtype));
	json_object_set_new(rec, "messageTimestamp", json_integer(ts));
	json_object_set_new(rec, "instanceId", json_string(wamd_instance_uuid(t)));
	json_object_set_new(rec, "source", json_string(wamd_source_of_id(key->id)));
	if (preview)
		json_object_set_new(rec, "wamdLinkPreview", preview);
	const char *jid = key->remote_jid ? key->remote_jid : key->remote_lid;
	if (jid && key->id)
		store_record(t, rec, key->id, jid, key->remote_lid, key->from_me, mtype, ts,
			     key->from_me ? WA_MSG_SENT : WA_MSG_DELIVERED, 0);
	return rec;
}

void wamd_on_message(struct wamd_tenant *t, const wa_msg_key *key, const char *push_name, int64_t ts,
		     const char *type, const char *text, const char *message_json)
{
	/* Evolution's shouldIgnoreJid: groups when groupsIgnore, status
	 * broadcasts unless readStatus (decrypted all the same, so the
	 * session's keys stay right; only not stored or reported) */
	const char *chat = key->remote_jid ? key->remote_jid : key->remote_lid;
	bool status_bc = chat && !strcmp(chat, "status@broadcast");
	if (chat && ((strstr(chat, "@g.us") && wamd_setting_on(t, "groupsIgnore")) ||
		     (status_bc && !wamd_setting_on(t, "readStatus"))))
		return;
	/* readMessages / readStatus: read receipts for what arrives */
	if (chat && key->id && !key->from_me && wamd_setting_on(t, status_bc ? "readStatus" : "readMessages")) {
		int rc = wamd_tenant_mark_read_key(t, key);
		if (rc != 0)
			LOGW("instance %s: %s not marked read: %s", t->name, key->id, wa_errname(rc));
	}
	json_t *msg = message_json ? json_loads(message_json, 0, NULL) : NULL;
	if (!msg || !json_is_object(msg)) {
		json_decref(msg);
		msg = json_object();
		if (text)
			json_object_set_new(msg, "conversation", json_string(text));
	}
	/* a chat's disappearing-messages timer: kept per chat, CHATS_UPDATE */
	if (type && (!strcmp(type, "protocolMessage") || !strcmp(type, "ephemeralMessage")) &&
	    wamd_on_ephemeral_setting(t, key, ts, msg)) {
		json_decref(msg);
		return;
	}
	/* edits and revokes change a stored message instead of adding one */
	if ((type && (!strcmp(type, "protocolMessage") || !strcmp(type, "editedMessage"))) &&
	    wamd_on_edit_or_revoke(t, key, ts, msg)) {
		json_decref(msg);
		return;
	}
	/* a poll vote libwa decrypted changes the poll's tally */
	if (type && !strcmp(type, "pollUpdateMessage") && wamd_on_poll_vote(t, key, msg)) {
		json_decref(msg);
		return;
	}
	const char *mtype = type ? type : (text ? "conversation" : "unknown");
	json_t *rec = wamd_message_record(t, key, push_name, ts, mtype, msg);
	if (!wamd_media_hook_hold(t, rec))
		wamd_emit(t, "MESSAGES_UPSERT", rec);
}

json_t *wamd_sent_record_json(struct wamd_tenant *t, const char *jid, const char *id, json_t *message,
			      const char *type, int64_t ts)
{
	json_t *rec = json_object();
	json_object_set_new(rec, "key", json_pack("{s:s, s:b, s:s}", "remoteJid", jid, "fromMe", 1, "id", id));
	json_object_set_new(rec, "pushName", json_string("Você"));
	json_object_set_new(rec, "status", json_string("PENDING"));
	json_object_set_new(rec, "message", message);
	bool group = strstr(jid, "@g.us") != NULL;
	json_object_set_new(rec, "contextInfo",
			    group ? json_null()
				  : json_pack("{s:[], s:[], s:{s:I, s:i, s:b}, s:{s:i}}", "mentionedJid", "groupMentions",
					      "ephemeralSettingTimestamp", "low", (json_int_t)ts, "high", 0, "unsigned", 0,
					      "disappearingMode", "initiator", 0));
	json_object_set_new(rec, "messageType", json_string(type));
	json_object_set_new(rec, "messageTimestamp", json_integer(ts));
	json_object_set_new(rec, "instanceId", json_string(wamd_instance_uuid(t)));
	json_object_set_new(rec, "source", json_string(wamd_source_of_id(id)));
	return rec;
}

json_t *wamd_sent_record_msg(struct wamd_tenant *t, const char *jid, const char *id, json_t *message,
			     const char *type, int64_t ts)
{
	json_t *rec = wamd_sent_record_json(t, jid, id, message, type, ts);
	/* the timer goes on the message as it is sent (the engine), not in
	 * this record, which keeps Evolution's shape */
	store_record(t, rec, id, jid, NULL, true, type, ts, WA_MSG_PENDING, wamd_tenant_chat_timer(t, jid));
	return rec;
}

json_t *wamd_sent_record(struct wamd_tenant *t, const char *jid, const char *id, const char *text, int64_t ts)
{
	return wamd_sent_record_msg(t, jid, id, json_pack("{s:s}", "conversation", text), "conversation", ts);
}

void wamd_status_in_tx(struct wamd_tenant *t, const char *id, bool from_me, enum wa_msg_status status)
{
	int rc = wa_store_msgrec_status(t->d->store, t->id, id, from_me, (int)status, NULL, NULL);
	if (rc != 0 && rc != WA_ENOTFOUND)
		LOGW("instance %s: status not stored: %s", t->name, wa_errname(rc));
}

/* recorded: wamd_status_in_tx already stored it, in libwa's transaction */
void wamd_on_status(struct wamd_tenant *t, const wa_msg_key *key, int status, int64_t ts, int error,
		    const char *reason, bool recorded)
{
	(void)ts;
	if (!key->id)
		return;
	if (!recorded)
		wamd_status_in_tx(t, key->id, key->from_me, (enum wa_msg_status)status);
	const char *jid = key->remote_jid ? key->remote_jid : key->remote_lid;
	json_t *data = json_object();
	json_object_set_new(data, "keyId", json_string(key->id));
	json_object_set_new(data, "remoteJid", json_string(jid ? jid : ""));
	if (key->remote_lid && key->remote_jid)
		json_object_set_new(data, "remoteJidAlt", json_string(key->remote_lid));
	json_object_set_new(data, "fromMe", json_boolean(key->from_me));
	json_object_set_new(data, "participant", json_string(key->participant ? key->participant : jid ? jid : ""));
	json_object_set_new(data, "status", json_string(wamd_status_name(status)));
	json_object_set_new(data, "instanceId", json_string(wamd_instance_uuid(t)));
	json_object_set_new(data, "messageId", json_string(key->id));
	/* Evolution's messages.update has no error detail; ours rides in one
	 * extra object that its integrations ignore (they read the fields
	 * above). */
	if (status == WA_MSG_ERROR && (error || reason))
		json_object_set_new(data, "wamdError",
				    json_pack("{s:o, s:o}", "error", error ? json_string(wa_errname(error)) : json_null(),
					      "reason", reason ? json_string(reason) : json_null()));
	wamd_emit(t, "MESSAGES_UPDATE", data);
	/* WhatsApp's rate-limit answers slow the instance's pacing down */
	int code = 0;
	if (status == WA_MSG_ERROR && key->from_me && reason && sscanf(reason, "server refused: %d", &code) == 1 &&
	    (code == 429 || code == 463))
		wamd_pace_signal(t, code);
}
