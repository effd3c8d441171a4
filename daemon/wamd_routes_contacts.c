/* Evolution's chat/findContacts: the contacts the store knows by name
 * (address-book names from history sync or app state, push names). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/history.h"
#include "wamd_events.h"
#include "wamd_routes.h"

void wamd_h_find_contacts(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	json_t *where = json_object_get(body, "where");
	const char *rj = jstr(where, "remoteJid");
	if (!rj)
		rj = jstr(where, "id");
	char jid[WA_STORE_JID_MAX];
	if (rj && wamd_normalize_number(rj, jid, sizeof jid) != 0) {
		bad_request(c, "invalid remoteJid");
		return;
	}
	json_int_t page = json_integer_value(json_object_get(body, "page"));
	json_int_t size = json_integer_value(json_object_get(body, "offset"));
	if (page < 1)
		page = 1;
	if (size < 1 || size > WA_STORE_QUERY_MAX_ROWS)
		size = WA_STORE_QUERY_MAX_ROWS;
	wa_store_contact_row *rows = NULL;
	size_t n = 0;
	int rc = wa_store_contact_list(c->d->store, t->id, rj ? jid : NULL, (page - 1) * size, size, &rows, &n);
	if (rc != 0) {
		wamd_reply_error(c, 500, json_string(wa_strerror(rc)));
		return;
	}
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++) {
		const char *name = rows[i].full_name ? rows[i].full_name : rows[i].push_name;
		json_t *o = json_pack("{s:n, s:s, s:s?, s:n, s:s, s:b, s:b, s:s}", "id", "remoteJid", rows[i].jid,
			"pushName", name, "profilePicUrl", "instanceId", wamd_instance_uuid(t), "isGroup",
			strstr(rows[i].jid, "@g.us") != NULL, "isSaved", rows[i].full_name != NULL, "type", "contact");
		if (o)
			json_array_append_new(arr, o);
	}
	wa_store_contact_rows_free(rows, n);
	wamd_reply_json(c, 200, arr);
}
