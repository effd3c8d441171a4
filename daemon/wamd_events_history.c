/* History sync batches (wa_event.u.history) as Evolution reports them:
 * CHATS_SET with the batch's chats, CONTACTS_UPSERT with the names learned
 * (Evolution never emits CONTACTS_SET), MESSAGES_SET with the message
 * records, each stored for findMessages like a received message; and
 * HISTORY_DEMAND_TIMEOUT (wamd's own) for an on-demand request the phone
 * left unanswered, so that a CRM waiting for older messages knows to stop. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wamd.h"
#include "wamd_events.h"
#include "util/buf.h"
#include "util/jsonstr.h"

#define WAMD_HIST_HOOK_MAX 200

static json_t *chats_of(struct wamd_tenant *t, json_t *chats)
{
	json_t *arr = json_array();
	size_t i;
	json_t *c;
	json_array_foreach(chats, i, c) {
		json_t *o = json_object();
		json_object_set(o, "remoteJid", json_object_get(c, "id"));
		json_object_set_new(o, "instanceId", json_string(wamd_instance_uuid(t)));
		json_t *name = json_object_get(c, "name");
		if (name)
			json_object_set(o, "name", name);
		json_object_set(o, "unreadMessages", json_object_get(c, "unreadCount"));
		json_array_append_new(arr, o);
	}
	return arr;
}

static json_t *contacts_of(struct wamd_tenant *t, json_t *contacts)
{
	json_t *arr = json_array();
	size_t i;
	json_t *c;
	json_array_foreach(contacts, i, c) {
		json_t *name = json_object_get(c, "name");
		if (!name)
			name = json_object_get(c, "notify");
		json_array_append_new(arr, json_pack("{s:O, s:O, s:n, s:s}", "remoteJid", json_object_get(c, "id"),
			"pushName", name ? name : json_null(), "profilePicUrl", "instanceId", wamd_instance_uuid(t)));
	}
	return arr;
}

static void sb_lit(wa_writer *b, const char *s)
{
	(void)wa_wr_bytes(b, s, strlen(s));
}

/* false when jansson would refuse s (not UTF-8): the jansson-built record
 * treats that its own way */
static bool sb_str(wa_writer *b, const char *s)
{
	return wa_json_str(b, s) == 0;
}

static wa_msg_key key_of(const wa_history_msg *m)
{
	bool lid = strstr(m->chat, "@lid") != NULL;
	return (wa_msg_key){
		.remote_jid = lid ? NULL : m->chat,
		.remote_lid = lid ? m->chat : NULL,
		.from_me = m->from_me,
		.id = m->id,
		.participant = m->participant,
	};
}

/* The record wamd_message_record builds and stores, written as text
 * without the jansson tree and its dump (most of an import's cost in wamd
 * otherwise): byte for byte what json_dumps makes of that record, since
 * libwa's message JSON is jansson's compact output already. False when the
 * record needs wamd_message_record's rules: a body Evolution rewrites (an
 * extendedTextMessage, a documentWithCaptionMessage, or a link preview to
 * keep), a disappearing-message timer to read, a string jansson refuses. */
static bool fast_record(struct wamd_tenant *t, const wa_history_msg *m, const wa_msg_key *key, bool expiring,
	wa_writer *b)
{
	if (expiring || strstr(m->message_json, "\"extendedTextMessage\"") ||
	    strstr(m->message_json, "\"documentWithCaptionMessage\""))
		return false;
	bool ok = true;
	if (wa_wr_error(b)) {
		wa_writer_clear(b, false);
		wa_writer_init(b, SIZE_MAX);
	}
	b->len = 0; /* the buffer is reused from record to record */
	sb_lit(b, "{\"key\":{\"remoteJid\":");
	ok = ok && sb_str(b, m->chat);
	sb_lit(b, m->from_me ? ",\"fromMe\":true,\"id\":" : ",\"fromMe\":false,\"id\":");
	ok = ok && sb_str(b, m->id);
	if (m->participant) {
		sb_lit(b, ",\"participant\":");
		ok = ok && sb_str(b, m->participant);
	}
	sb_lit(b, wamd_key_is_lid(key) ? ",\"addressingMode\":\"lid\"},\"pushName\":"
				       : ",\"addressingMode\":\"pn\"},\"pushName\":");
	ok = ok && sb_str(b, m->push_name ? m->push_name : m->from_me ? "Você" : "");
	sb_lit(b, m->from_me ? ",\"status\":\"SERVER_ACK\",\"message\":" : ",\"status\":\"DELIVERY_ACK\",\"message\":");
	sb_lit(b, m->message_json);
	sb_lit(b, ",\"contextInfo\":null,\"messageType\":");
	ok = ok && sb_str(b, m->message_type ? m->message_type : "unknown");
	char num[48];
	snprintf(num, sizeof num, ",\"messageTimestamp\":%lld,\"instanceId\":", (long long)m->timestamp);
	sb_lit(b, num);
	ok = ok && sb_str(b, wamd_instance_uuid(t));
	sb_lit(b, ",\"source\":");
	ok = ok && sb_str(b, wamd_source_of_id(m->id));
	(void)wa_wr_bytes(b, "}", 2); /* with its NUL */
	return ok && !wa_wr_error(b);
}

/* Stores each message's record (as a received one is) and returns the
 * records for MESSAGES_SET when `emit`, else NULL. */
static json_t *messages_of(struct wamd_tenant *t, const wa_history_msg *msgs, size_t n, bool emit)
{
	json_t *arr = emit ? json_array() : NULL;
	bool expiring = wamd_setting_on(t, "wamdExpireMessages");
	wa_writer b;
	wa_writer_init(&b, SIZE_MAX);
	for (size_t i = 0; i < n; i++) {
		const wa_history_msg *m = &msgs[i];
		if (!m->chat || !m->id || !m->message_json)
			continue;
		wa_msg_key key = key_of(m);
		if (fast_record(t, m, &key, expiring, &b)) {
			wa_store_mrec r = {.key_id = m->id, .remote_jid = m->chat, .remote_lid = key.remote_lid,
				.from_me = m->from_me, .message_type = m->message_type ? m->message_type : "unknown",
				.timestamp = m->timestamp, .status = m->from_me ? WA_MSG_SENT : WA_MSG_DELIVERED,
				.record = (const char *)b.p, .record_len = b.len - 1};
			int rc = wa_store_msgrec_put(t->d->store, t->id, &r);
			if (rc != 0)
				LOGW("instance %s: message record not stored: %s", t->name, wa_errname(rc));
			if (arr)
				json_array_append_new(arr, json_loads((const char *)b.p, 0, NULL));
			continue;
		}
		json_t *body = json_loads(m->message_json, 0, NULL);
		if (!json_is_object(body)) {
			json_decref(body);
			continue;
		}
		json_t *rec = wamd_message_record(t, &key, m->push_name, m->timestamp, m->message_type, body);
		if (rec && arr)
			json_array_append_new(arr, rec);
		else
			json_decref(rec);
	}
	wa_writer_clear(&b, false);
	return arr;
}

void wamd_on_history(struct wamd_tenant *t, const char *sync_type, unsigned chunk_order, unsigned progress,
	const char *chats_json, const char *contacts_json, const wa_history_msg *msgs, size_t n_msgs, bool last)
{
	json_t *chats = chats_json ? json_loads(chats_json, 0, NULL) : NULL;
	json_t *contacts = contacts_json ? json_loads(contacts_json, 0, NULL) : NULL;
	if (json_array_size(chats))
		wamd_emit(t, "CHATS_SET", chats_of(t, chats));
	if (json_array_size(contacts))
		wamd_emit(t, "CONTACTS_UPSERT", contacts_of(t, contacts));
	if (n_msgs) {
		/* a batch is up to 2,000 messages: webhooks of WAMD_HIST_HOOK_MAX
		 * records keep each under the queue's size limit */
		json_t *all = messages_of(t, msgs, n_msgs, wamd_emit_wanted(t, "MESSAGES_SET"));
		for (size_t i = 0; i < json_array_size(all); i += WAMD_HIST_HOOK_MAX) {
			json_t *part = json_array();
			for (size_t k = i; k < i + WAMD_HIST_HOOK_MAX && k < json_array_size(all); k++)
				json_array_append(part, json_array_get(all, k));
			wamd_emit(t, "MESSAGES_SET", part);
		}
		json_decref(all);
	}
	LOGI("instance %s: history %s chunk %u: %zu chats, %zu contacts, %zu messages, %u%%%s", t->name,
		sync_type ? sync_type : "?", chunk_order, json_array_size(chats), json_array_size(contacts),
		n_msgs, progress, last ? " (chunk done)" : "");
	json_decref(chats);
	json_decref(contacts);
}

void wamd_on_history_demand(struct wamd_tenant *t, const char *request_id, const char *chat)
{
	wamd_emit(t, "HISTORY_DEMAND_TIMEOUT", json_pack("{s:s,s:s,s:s}", "requestId", request_id ? request_id : "",
		"chat", chat ? chat : "", "instanceId", wamd_instance_uuid(t)));
}
