/* Evolution's settings controller: /settings/set and /settings/find, and
 * the defaults and waVersion check that /instance/create shares. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wamd_routes.h"

json_t *wamd_default_settings(json_t *body)
{
	/* wamdExpireMessages (additive): remove disappearing messages from the
	 * store when their timer ends (wamd_expiry.c) */
	static const char *bools[] = { "rejectCall", "groupsIgnore", "alwaysOnline", "readMessages", "readStatus",
		"syncFullHistory", "wamdExpireMessages" };
	json_t *s = json_object();
	for (size_t i = 0; i < sizeof bools / sizeof bools[0]; i++)
		json_object_set_new(s, bools[i], json_boolean(json_is_true(json_object_get(body, bools[i]))));
	const char *mc = jstr(body, "msgCall");
	json_object_set_new(s, "msgCall", json_string(mc ? mc : ""));
	json_object_set_new(s, "wavoipToken", json_string(""));
	/* additive: the WhatsApp Web version this instance claims (else the daemon's wa_version) */
	const char *wv = jstr(body, "waVersion");
	if (wv && *wv)
		json_object_set_new(s, "waVersion", json_string(wv));
	/* additive, only when given: received media kept on disk (wamd_media_store.c) */
	if (json_is_boolean(json_object_get(body, "mediaAutoDownload")))
		json_object_set_new(s, "mediaAutoDownload", json_boolean(json_is_true(json_object_get(body, "mediaAutoDownload"))));
	static const char *ints[] = { "mediaStoreMaxBytes", "mediaRetentionSeconds" };
	for (size_t i = 0; i < 2; i++) {
		json_t *v = json_object_get(body, ints[i]);
		if (json_is_integer(v) && json_integer_value(v) >= 0)
			json_object_set_new(s, ints[i], json_integer(json_integer_value(v)));
	}
	return s;
}

/* A waVersion in a settings or create body wamd could not use. */
bool wamd_bad_wa_version(struct wamd_conn *c, json_t *body)
{
	const char *wv = jstr(body, "waVersion");
	if (!json_object_get(body, "waVersion") || (wv && (!*wv || wamd_tenant_version_check(wv) == 0)))
		return false;
	bad_request(c, "waVersion must look like 2.3000.1023223821");
	return true;
}

void wamd_h_settings_set(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	if (wamd_bad_wa_version(c, body))
		return;
	json_t *s = wamd_default_settings(body);
	json_object_set(t->doc, "settings", s);
	if (wamd_tenant_save(t) != 0) {
		json_decref(s);
		wamd_reply_error(c, 500, json_string("could not store the settings"));
		return;
	}
	/* alwaysOnline is what the session announces at each login; a change
	 * is announced at once when connected (ignored while not) */
	wamd_tenant_always_online(t, wamd_setting_on(t, "alwaysOnline"));
	wamd_reply_json(c, 201, json_pack("{s:{s:s, s:o}}", "settings", "instanceName", t->name, "settings", s));
}

void wamd_h_settings_find(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	(void)body;
	json_t *s = json_object_get(t->doc, "settings");
	wamd_reply_json(c, 200, s ? json_incref(s) : json_null());
}
