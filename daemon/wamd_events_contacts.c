/* Presence, contact and chat events of a session: Evolution's
 * PRESENCE_UPDATE, CONTACTS_UPDATE and CHATS_UPDATE, and the push name app
 * state gives us (the instance's profileName). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wamd.h"
#include "wamd_events.h"

void wamd_on_presence(struct wamd_tenant *t, const char *jid, const char *presence, int64_t last_seen)
{
	json_t *p = json_pack("{s:s}", "lastKnownPresence", presence);
	if (last_seen)
		json_object_set_new(p, "lastSeen", json_integer(last_seen));
	wamd_emit(t, "PRESENCE_UPDATE", json_pack("{s:s, s:{s:o}}", "id", jid, "presences", jid, p));
}

void wamd_on_contact(struct wamd_tenant *t, const char *jid, const char *lid, const char *push_name)
{
	const char *j = jid ? jid : lid;
	if (!j)
		return;
	json_t *c = json_pack("{s:s, s:o, s:n, s:s}", "remoteJid", j, "pushName",
			      push_name ? json_string(push_name) : json_null(), "profilePicUrl", "instanceId",
			      wamd_instance_uuid(t));
	if (jid && lid)
		json_object_set_new(c, "lid", json_string(lid));
	wamd_emit(t, "CONTACTS_UPDATE", c);
}

/* CHATS_UPDATE: Evolution's array of {remoteJid, instanceId}, plus what
 * changed (archived, pinned, muteEndTime, unreadMessages: 0 when marked
 * read, 1 when marked unread), which Evolution's own payload leaves out.
 * A deleted chat is CHATS_DELETE ([jid]), a message deleted for us
 * MESSAGES_DELETE ({remoteJid, fromMe, id}); a starred message and a
 * cleared chat, which Evolution does not report, are CHATS_UPDATE with
 * "starred": {id, fromMe, starred} / "cleared": true. */
void wamd_on_chat(struct wamd_tenant *t, const struct wamd_chat_ev *e)
{
	if (!e->jid)
		return;
	if (e->deleted > 0) {
		wamd_emit(t, "CHATS_DELETE", json_pack("[s]", e->jid));
		return;
	}
	if (e->deleted_msg > 0 && e->msg_id) {
		wamd_emit(t, "MESSAGES_DELETE", json_pack("{s:s,s:b,s:s}", "remoteJid", e->jid, "fromMe", e->msg_from_me,
			"id", e->msg_id));
		return;
	}
	json_t *c = json_pack("{s:s, s:s}", "remoteJid", e->jid, "instanceId", wamd_instance_uuid(t));
	if (e->archived >= 0)
		json_object_set_new(c, "archived", json_boolean(e->archived));
	if (e->pinned >= 0)
		json_object_set_new(c, "pinned", e->pinned ? json_integer(e->pinned_at) : json_null());
	if (e->muted >= 0)
		json_object_set_new(c, "muteEndTime", e->muted ? json_integer(e->mute_end) : json_null());
	if (e->read >= 0)
		json_object_set_new(c, "unreadMessages", json_integer(e->read ? 0 : 1));
	if (e->starred >= 0 && e->msg_id)
		json_object_set_new(c, "starred", json_pack("{s:s,s:b,s:b}", "id", e->msg_id, "fromMe", e->msg_from_me,
			"starred", e->starred));
	if (e->cleared > 0)
		json_object_set_new(c, "cleared", json_true());
	json_t *arr = json_array();
	json_array_append_new(arr, c);
	wamd_emit(t, "CHATS_UPDATE", arr);
}

/* LABELS_EDIT {id, name, color, deleted, predefinedId, instance} and
 * LABELS_ASSOCIATION {association: {type, chatId, labelId}, type:
 * "add"|"remove", instance}, as Evolution sends them. */
void wamd_on_label(struct wamd_tenant *t, const char *id, const char *name, int32_t color, int32_t predefined_id,
		   bool deleted, const char *chat_jid, const char *msg_id, int labeled)
{
	if (!id)
		return;
	if (!chat_jid) {
		wamd_emit(t, "LABELS_EDIT", json_pack("{s:s,s:s,s:i,s:b,s:o,s:s}", "id", id, "name", name ? name : "",
			"color", (int)color, "deleted", deleted, "predefinedId",
			predefined_id ? json_sprintf("%d", (int)predefined_id) : json_null(), "instance", t->name));
		return;
	}
	json_t *as = json_pack("{s:s,s:s,s:s}", "type", msg_id ? "label_message" : "label_jid", "chatId", chat_jid,
		"labelId", id);
	if (msg_id)
		json_object_set_new(as, "messageId", json_string(msg_id));
	wamd_emit(t, "LABELS_ASSOCIATION", json_pack("{s:o,s:s,s:s}", "association", as, "type",
		labeled ? "add" : "remove", "instance", t->name));
}

void wamd_on_push_name(struct wamd_tenant *t, const char *name)
{
	if (!name || (t->profile_name && strcmp(t->profile_name, name) == 0))
		return;
	wamd_tenant_set_str(&t->profile_name, name);
	json_object_set_new(t->doc, "profileName", json_string(name));
	if (wamd_tenant_save(t) != 0)
		LOGW("instance %s: profile name not persisted", t->name);
	wamd_waiters_changed(t);
}
