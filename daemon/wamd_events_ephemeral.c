/* Disappearing messages: a chat's timer as its members set it (a
 * protocolMessage EPHEMERAL_SETTING in the chat). It is kept per chat in
 * the tenant's document and reported as CHATS_UPDATE with Baileys'
 * chats.update fields (ephemeralExpiration, ephemeralSettingTimestamp),
 * not as a message. (A group's timer is its metadata's: libwa's cache,
 * read by the engine when it sends.) */
#include <stdlib.h>
#include <string.h>

#include "wamd.h"
#include "wamd_events.h"

bool wamd_on_ephemeral_setting(struct wamd_tenant *t, const wa_msg_key *key, int64_t ts, json_t *message)
{
	/* bare, or in an ephemeralMessage wrapper as Baileys and phones send it */
	json_t *pm = json_object_get(message, "protocolMessage");
	if (!pm)
		pm = json_object_get(json_object_get(json_object_get(message, "ephemeralMessage"), "message"),
			"protocolMessage");
	const char *type = json_string_value(json_object_get(pm, "type"));
	const char *chat = key->remote_jid ? key->remote_jid : key->remote_lid;
	if (!type || strcmp(type, "EPHEMERAL_SETTING") != 0 || !chat)
		return false;
	json_int_t exp = json_integer_value(json_object_get(pm, "ephemeralExpiration"));
	if (exp < 0 || exp > UINT32_MAX)
		exp = 0;
	json_t *all = json_object_get(t->doc, "ephemeral");
	if (!json_is_object(all)) {
		all = json_object();
		json_object_set_new(t->doc, "ephemeral", all);
	}
	json_object_set_new(all, chat, json_pack("{s:I, s:I}", "expiration", exp, "settingTimestamp", (json_int_t)ts));
	int rc = wamd_tenant_save(t);
	if (rc != 0)
		LOGW("instance %s: disappearing-messages setting of %s not stored: %s", t->name, chat, wa_errname(rc));
	/* Baileys: ephemeralExpiration null when turned off */
	wamd_emit(t, "CHATS_UPDATE", json_pack("[{s:s, s:s, s:o, s:I}]", "remoteJid", chat, "instanceId",
		wamd_instance_uuid(t), "ephemeralExpiration", exp ? json_integer(exp) : json_null(),
		"ephemeralSettingTimestamp", (json_int_t)ts));
	return true;
}
