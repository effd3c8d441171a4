/* Evolution's webhook controller: /webhook/set and /webhook/find, and the
 * webhook body parser that /instance/create shares (nested, flat or
 * snake_case forms). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wamd_routes.h"

/* Parses nested / flat / snake_case webhook bodies into our stored row.
 * Returns NULL and sets *err on failure. */
json_t *wamd_parse_webhook(struct wamd *d, json_t *body, json_t *old, const char **err)
{
	json_t *w = json_object_get(body, "webhook");
	if (!json_is_object(w))
		w = body; /* flat or snake_case forms */
	const char *url = jstr(w, "url");
	if (!url)
		url = jstr(w, "webhookUrl");
	json_t *en = json_object_get(w, "enabled");
	bool enabled = en ? json_is_true(en) : true;
	if (!url || !*url) {
		*err = "webhook requires property \"url\"";
		return NULL;
	}
	const char *why = wamd_webhook_url_refused(d, url);
	if (why) {
		*err = why;
		return NULL;
	}
	json_t *row = json_object();
	char ts[32];
	wamd_iso_time(wamd_now_ms(), ts);
	const char *oid = old ? jstr(old, "id") : NULL;
	char u[37];
	if (!oid && wamd_random_uuid(u) == 0)
		oid = u;
	json_object_set_new(row, "id", json_string(oid ? oid : ""));
	json_object_set_new(row, "url", json_string(url));
	json_t *h = json_object_get(w, "headers");
	json_object_set_new(row, "headers", json_is_object(h) ? json_deep_copy(h) : json_object());
	json_object_set_new(row, "enabled", json_boolean(enabled));
	json_t *events = json_array();
	json_t *ev = json_object_get(w, "events");
	size_t i;
	json_t *v;
	if (enabled)
		json_array_foreach(ev, i, v) {
			const char *s = json_string_value(v);
			/* unknown names (NEW_JWT_TOKEN from the docs) are accepted and ignored */
			if (s && wamd_event_known(s))
				json_array_append_new(events, json_string(s));
		}
	json_object_set_new(row, "events", events);
	static const char *by[] = { "byEvents", "webhookByEvents", "webhook_by_events", "webhook_wa_business" };
	static const char *b64[] = { "base64", "webhookBase64", "webhook_base64" };
	bool be = false, bb = false;
	for (i = 0; i < 3; i++)
		be = be || json_is_true(json_object_get(w, by[i]));
	for (i = 0; i < 3; i++)
		bb = bb || json_is_true(json_object_get(w, b64[i]));
	json_object_set_new(row, "webhookByEvents", json_boolean(be));
	json_object_set_new(row, "webhookBase64", json_boolean(bb));
	const char *secret = jstr(w, "secret");
	char gen[65];
	if (!secret && old)
		secret = jstr(old, "secret");
	if (!secret) {
		uint8_t r[32];
		char tmp[37];
		if (wamd_random_uuid(tmp) != 0) {
			json_decref(row);
			*err = "no randomness";
			return NULL;
		}
		wamd_sha256(tmp, strlen(tmp), r);
		wamd_hex(r, 32, gen);
		secret = gen;
	}
	json_object_set_new(row, "secret", json_string(secret));
	json_t *created = old ? json_object_get(old, "createdAt") : NULL;
	json_object_set_new(row, "createdAt", created ? json_incref(created) : json_string(ts));
	json_object_set_new(row, "updatedAt", json_string(ts));
	return row;
}


/* ---- webhook / settings ---- */

static json_t *webhook_row_out(struct wamd_tenant *t, json_t *w)
{
	json_t *r = json_deep_copy(w);
	json_object_set(r, "instanceId", json_object_get(t->doc, "id"));
	return r;
}

void wamd_h_webhook_set(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	const char *err = NULL;
	json_t *row = wamd_parse_webhook(c->d, body, json_object_get(t->doc, "webhook"), &err);
	if (!row) {
		wamd_reply_error(c, 400, json_pack("[s]", err));
		return;
	}
	json_object_set_new(t->doc, "webhook", row);
	/* the envelope's apikey (expose_token) goes only to a receiver whose
	 * setter already held everything the instance token grants */
	json_object_set_new(t->doc, "webhookApikey", json_boolean(wamd_may_see_token(wamd_caller_scopes(c, t), t)));
	if (wamd_tenant_save(t) != 0) {
		wamd_reply_error(c, 500, json_string("could not store the webhook"));
		return;
	}
	/* a refused lane may deliver again now */
	wamd_webhook_kick(t);
	wamd_reply_json(c, 201, webhook_row_out(t, row));
}

void wamd_h_webhook_find(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	(void)body;
	json_t *w = json_object_get(t->doc, "webhook");
	wamd_reply_json(c, 200, json_is_object(w) ? webhook_row_out(t, w) : json_null());
}
