/* History sync batches (wa_event.u.history) as Evolution reports them:
 * CHATS_SET with the batch's chats, CONTACTS_UPSERT with the names learned
 * (Evolution never emits CONTACTS_SET), MESSAGES_SET with the message
 * records, each stored for findMessages like a received message; and
 * HISTORY_DEMAND_TIMEOUT (wamd's own) for an on-demand request the phone
 * left unanswered, so that a CRM waiting for older messages knows to stop. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wamd.h"
#include "wamd_events.h"

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

/* The records take the message bodies of msgs (no copies): the caller only
 * counts msgs afterwards. */
static json_t *messages_of(struct wamd_tenant *t, json_t *msgs)
{
	json_t *arr = json_array();
	size_t i;
	json_t *m;
	json_array_foreach(msgs, i, m) {
		json_t *k = json_object_get(m, "key");
		const char *jid = json_string_value(json_object_get(k, "remoteJid"));
		const char *id = json_string_value(json_object_get(k, "id"));
		json_t *body = json_object_get(m, "message");
		if (!jid || !id || !json_is_object(body))
			continue;
		wa_msg_key key = {
			.remote_jid = strstr(jid, "@lid") ? NULL : jid,
			.remote_lid = strstr(jid, "@lid") ? jid : NULL,
			.from_me = json_is_true(json_object_get(k, "fromMe")),
			.id = id,
			.participant = json_string_value(json_object_get(k, "participant")),
		};
		const char *type = json_string_value(json_object_get(m, "messageType"));
		json_t *rec = wamd_message_record(t, &key, json_string_value(json_object_get(m, "pushName")),
			json_integer_value(json_object_get(m, "messageTimestamp")), type, json_incref(body));
		if (rec)
			json_array_append_new(arr, rec);
	}
	return arr;
}

void wamd_on_history(struct wamd_tenant *t, const char *sync_type, unsigned chunk_order, unsigned progress,
	const char *chats_json, const char *contacts_json, const char *messages_json, bool last)
{
	json_t *chats = chats_json ? json_loads(chats_json, 0, NULL) : NULL;
	json_t *contacts = contacts_json ? json_loads(contacts_json, 0, NULL) : NULL;
	json_t *msgs = messages_json ? json_loads(messages_json, 0, NULL) : NULL;
	if (json_array_size(chats))
		wamd_emit(t, "CHATS_SET", chats_of(t, chats));
	if (json_array_size(contacts))
		wamd_emit(t, "CONTACTS_UPSERT", contacts_of(t, contacts));
	if (json_array_size(msgs)) {
		/* a batch is up to 2,000 messages: webhooks of WAMD_HIST_HOOK_MAX
		 * records keep each under the queue's size limit */
		json_t *all = messages_of(t, msgs);
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
		json_array_size(msgs), progress, last ? " (chunk done)" : "");
	json_decref(chats);
	json_decref(contacts);
	json_decref(msgs);
}

void wamd_on_history_demand(struct wamd_tenant *t, const char *request_id, const char *chat)
{
	wamd_emit(t, "HISTORY_DEMAND_TIMEOUT", json_pack("{s:s,s:s,s:s}", "requestId", request_id ? request_id : "",
		"chat", chat ? chat : "", "instanceId", wamd_instance_uuid(t)));
}
