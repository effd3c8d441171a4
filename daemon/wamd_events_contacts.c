/* Presence and contact events of a session: Evolution's PRESENCE_UPDATE
 * and CONTACTS_UPDATE. */
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
