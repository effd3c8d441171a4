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
 * read, 1 when marked unread), which Evolution's own payload leaves out. */
void wamd_on_chat(struct wamd_tenant *t, const char *jid, int archived, int pinned, int64_t pinned_at, int muted,
		  int64_t mute_end, int read)
{
	if (!jid)
		return;
	json_t *c = json_pack("{s:s, s:s}", "remoteJid", jid, "instanceId", wamd_instance_uuid(t));
	if (archived >= 0)
		json_object_set_new(c, "archived", json_boolean(archived));
	if (pinned >= 0)
		json_object_set_new(c, "pinned", pinned ? json_integer(pinned_at) : json_null());
	if (muted >= 0)
		json_object_set_new(c, "muteEndTime", muted ? json_integer(mute_end) : json_null());
	if (read >= 0)
		json_object_set_new(c, "unreadMessages", json_integer(read ? 0 : 1));
	json_t *arr = json_array();
	json_array_append_new(arr, c);
	wamd_emit(t, "CHATS_UPDATE", arr);
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
