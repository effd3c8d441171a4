/* Evolution's instance controller: /instance/create, connect (and the v1
 * qrcode alias), connectionState, restart, logout, delete,
 * fetchInstances, setPresence; the instance record they answer with. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wamd_cluster.h"
#include "wamd_events.h"
#include "wamd_routes.h"

static json_t *instance_record(struct wamd_tenant *t, unsigned caller)
{
	json_t *doc = t->doc;
	json_t *r = json_object();
	json_object_set(r, "id", json_object_get(doc, "id"));
	json_object_set_new(r, "name", json_string(t->name));
	json_object_set_new(r, "connectionStatus", json_string(wamd_tenant_state_str(t)));
	json_object_set_new(r, "ownerJid", t->own_jid ? json_string(t->own_jid) : json_null());
	json_object_set_new(r, "profileName", t->profile_name ? json_string(t->profile_name) : json_null());
	json_object_set_new(r, "profilePicUrl", json_null());
	json_object_set(r, "integration", json_object_get(doc, "integration"));
	json_t *num = json_object_get(doc, "number");
	json_object_set(r, "number", num ? num : json_null());
	json_object_set_new(r, "businessId", json_null());
	const char *tok = t->d->cfg.expose_token && wamd_may_see_token(caller, t) ? jstr(doc, "token") : NULL;
	json_object_set_new(r, "token", tok ? json_string(tok) : json_null());
	json_object_set_new(r, "clientName", json_string("wamd"));
	json_object_set_new(r, "disconnectionReasonCode",
			    t->status_reason && t->state != WA_CONN_READY ? json_integer(t->status_reason) : json_null());
	json_object_set_new(r, "disconnectionObject", json_null());
	json_object_set_new(r, "disconnectionAt", json_null());
	json_object_set(r, "createdAt", json_object_get(doc, "createdAt"));
	json_object_set(r, "updatedAt", json_object_get(doc, "updatedAt"));
	json_object_set_new(r, "Chatwoot", json_null());
	json_t *px = json_object_get(doc, "proxy");
	json_object_set_new(r, "Proxy", json_is_object(px) ? wamd_proxy_row_out(t, px) : json_null());
	json_object_set_new(r, "Rabbitmq", json_null());
	json_object_set_new(r, "Nats", json_null());
	json_object_set_new(r, "Sqs", json_null());
	json_object_set_new(r, "Websocket", json_null());
	json_t *s = json_deep_copy(json_object_get(doc, "settings"));
	json_object_set_new(r, "Setting", s ? s : json_null());
	json_object_set_new(r, "_count", json_pack("{s:i, s:i, s:i}", "Message", 0, "Contact", 0, "Chat", 0));
	return r;
}

/* The phone number a pairing code is wanted for, digits only (Evolution
 * accepts "+55 (11) 9..."); the session asks for the code once it connects. */
static void set_pending_phone(struct wamd_tenant *t, const char *number)
{
	char digits[32];
	size_t k = 0;
	for (const char *p = number; *p && k + 1 < sizeof digits; p++)
		if (isdigit((unsigned char)*p))
			digits[k++] = *p;
	digits[k] = '\0';
	free(t->pending_phone);
	t->pending_phone = strdup(digits);
}

void wamd_h_create(struct wamd_conn *c, struct wamd_tenant *unused, json_t *body)
{
	(void)unused;
	struct wamd *d = c->d;
	const char *name = jstr(body, "instanceName");
	if (!name) {
		bad_request(c, "instance requires property \"instanceName\"");
		return;
	}
	if (!wamd_instance_name_ok(name)) {
		bad_request(c, "instanceName must be 1-127 of A-Z a-z 0-9 - _ . @, and not \".\" or \"..\"");
		return;
	}
	const char *integ = jstr(body, "integration");
	if (integ && strcmp(integ, "WHATSAPP-BAILEYS") != 0) {
		wamd_reply_error(c, 400, json_pack("[s]", "Invalid integration"));
		return;
	}
	if (wamd_tenant_find(d, name)) {
		wamd_reply_error(c, 403, msg1("This name \"%s\" is already in use.", name));
		return;
	}
	if (wamd_bad_wa_version(c, body))
		return;
	unsigned scopes = WAMD_SCOPE_ALL;
	json_t *ts_j = json_object_get(body, "tokenScopes");
	if (ts_j) {
		scopes = wamd_scopes_parse(ts_j);
		if (!scopes) {
			bad_request(c, "tokenScopes must list read, write and/or manage");
			return;
		}
	}
	/* Evolution takes the proxy when host, port and protocol are all
	 * there; wamd also refuses a half-given one instead of ignoring it */
	json_t *proxy_row = NULL;
	{
		static const char *const pnames[6] = { NULL, "proxyHost", "proxyPort", "proxyProtocol",
			"proxyUsername", "proxyPassword" };
		bool any = false;
		for (size_t i = 1; i < 4; i++) {
			json_t *v = json_object_get(body, pnames[i]);
			any = any || (v && !json_is_null(v) && !(json_is_string(v) && !*json_string_value(v)));
		}
		if (any) {
			const char *why;
			proxy_row = wamd_proxy_parse(body, pnames, NULL, &why);
			if (!proxy_row) {
				wamd_invalid_proxy(c, why);
				return;
			}
			wamd_proxy_row_stamp(proxy_row, NULL);
		}
	}
	const char *token = jstr(body, "token");
	char gen[37];
	if (!token || !*token) {
		if (wamd_random_token(gen) != 0) {
			json_decref(proxy_row);
			wamd_reply_error(c, 500, json_string("no randomness"));
			return;
		}
		token = gen;
	} else {
		const char *why = wamd_token_refused(token);
		if (why) {
			json_decref(proxy_row);
			bad_request(c, why);
			return;
		}
	}
	json_t *doc = json_object();
	if (proxy_row)
		json_object_set_new(doc, "proxy", proxy_row);
	char uuid[37], ts[32];
	json_t *trow = NULL;
	if (wamd_random_uuid(uuid) != 0 || wamd_token_row(token, scopes, &trow) != 0) {
		json_decref(doc);
		wamd_reply_error(c, 500, json_string("no randomness"));
		return;
	}
	wamd_iso_time(wamd_now_ms(), ts);
	json_object_set_new(doc, "id", json_string(uuid));
	json_object_set_new(doc, "integration", json_string("WHATSAPP-BAILEYS"));
	json_object_set_new(doc, "createdAt", json_string(ts));
	json_object_set_new(doc, "updatedAt", json_string(ts));
	json_object_set_new(doc, "tokens", json_pack("[o]", trow));
	if (d->cfg.expose_token)
		json_object_set_new(doc, "token", json_string(token));
	const char *number = jstr(body, "number");
	json_object_set_new(doc, "number", number ? json_string(number) : json_null());
	json_object_set_new(doc, "settings", wamd_default_settings(body));
	json_object_set_new(doc, "connectionStatus", json_string("close"));
	json_t *wh = NULL;
	if (json_is_object(json_object_get(body, "webhook"))) {
		const char *err = NULL;
		wh = wamd_parse_webhook(d, body, NULL, &err);
		if (!wh) {
			json_decref(doc);
			wamd_reply_error(c, 400, json_pack("[s]", err));
			return;
		}
		json_object_set(doc, "webhook", wh);
		json_object_set_new(doc, "webhookApikey", json_true()); /* set by the admin */
	}
	struct wamd_tenant *t;
	int rc = wamd_tenant_create(d, name, doc, &t);
	json_decref(doc);
	if (rc != 0) {
		json_decref(wh);
		if (rc == WA_EEXIST)
			wamd_reply_error(c, 403, msg1("This name \"%s\" is already in use.", name));
		else
			wamd_reply_error(c, 400, json_pack("[s]", wa_strerror(rc)));
		return;
	}
	LOGI("instance %s: created", name);
	wamd_emit(t, "INSTANCE_CREATE", json_pack("{s:s, s:s}", "instanceName", name, "instanceId", uuid));
	json_t *resp = json_object();
	json_object_set_new(resp, "instance",
			    json_pack("{s:s, s:s, s:s, s:n, s:s, s:s}", "instanceName", name, "instanceId", uuid,
				      "integration", "WHATSAPP-BAILEYS", "webhookWaBusiness", "accessTokenWaBusiness", "",
				      "status", "close"));
	json_object_set_new(resp, "hash", json_string(token));
	json_object_set_new(resp, "tokenScopes", wamd_scopes_json(scopes));
	if (wh) {
		json_object_set_new(resp, "webhook",
				    json_pack("{s:O, s:O, s:O, s:O, s:O}", "webhookUrl", json_object_get(wh, "url"),
					      "webhookHeaders", json_object_get(wh, "headers"), "webhookByEvents",
					      json_object_get(wh, "webhookByEvents"), "webhookBase64",
					      json_object_get(wh, "webhookBase64"), "webhookSecret",
					      json_object_get(wh, "secret")));
		json_decref(wh);
	} else
		json_object_set_new(resp, "webhook", json_object());
	json_object_set_new(resp, "websocket", json_object());
	json_object_set_new(resp, "rabbitmq", json_object());
	json_object_set_new(resp, "nats", json_object());
	json_object_set_new(resp, "sqs", json_object());
	json_object_set(resp, "settings", json_object_get(t->doc, "settings"));
	bool qr = json_is_true(json_object_get(body, "qrcode")) || number;
	if (!qr) {
		wamd_reply_json(c, 201, resp);
		return;
	}
	if (number) {
		set_pending_phone(t, number);
		json_object_set_new(resp, "_wantCode", json_true());
	}
	rc = wamd_tenant_start(t);
	if (rc != 0) {
		LOGW("instance %s: session not started: %s", name, wa_errname(rc));
		json_object_del(resp, "_wantCode");
		json_object_set_new(resp, "qrcode", json_pack("{s:i}", "count", 0));
		wamd_reply_json(c, 201, resp);
		return;
	}
	wamd_wait_start(c, t, WAIT_CREATE, resp, WAMD_CREATE_QR_WAIT_MS);
	wamd_api_tenant_changed(t);
}

void wamd_h_connect(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	(void)body;
	const char *st = wamd_tenant_state_str(t);
	if (!strcmp(st, "open")) {
		wamd_reply_json(c, 200, wamd_state_object(t));
		return;
	}
	char num[40];
	const char *number = lws_get_urlarg_by_name(c->wsi, "number=", num, sizeof num);
	json_t *ctx = json_object();
	if (number && *number) {
		set_pending_phone(t, number);
		json_object_set_new(ctx, "_wantCode", json_true());
	}
	if (!strcmp(st, "connecting") && t->qr && !(number && *number)) {
		json_decref(ctx);
		wamd_reply_json(c, 200, wamd_qr_object(t));
		return;
	}
	int rc = wamd_tenant_start(t);
	if (rc != 0) {
		json_decref(ctx);
		/* Evolution's connect answers its own failures with 200 */
		wamd_reply_json(c, 200,
				json_pack("{s:b, s:s}", "error", 1, "message", wa_strerror(rc)));
		return;
	}
	wamd_wait_start(c, t, WAIT_CONNECT, ctx, WAMD_QR_WAIT_MS);
	wamd_api_tenant_changed(t);
}

void wamd_h_state(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	(void)body;
	wamd_reply_json(c, 200, wamd_state_object(t));
}

void wamd_h_restart(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	(void)body;
	if (!t->sess) {
		wamd_reply_json(c, 200, json_pack("{s:b, s:s}", "error", 1, "message", "[object Object]"));
		return;
	}
	wamd_tenant_stop(t);
	int rc = wamd_tenant_start(t);
	if (rc != 0) {
		wamd_reply_json(c, 200, json_pack("{s:b, s:s}", "error", 1, "message", wa_strerror(rc)));
		return;
	}
	wamd_reply_json(c, 200, wamd_state_object(t));
}

void wamd_h_logout(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	(void)body;
	if (!strcmp(wamd_tenant_state_str(t), "close")) {
		wamd_reply_error(c, 400, msg1("The \"%s\" instance is not connected", t->name));
		return;
	}
	int rc = wamd_tenant_logout(t);
	if (rc != 0) {
		wamd_reply_error(c, 500, json_string(wa_strerror(rc)));
		return;
	}
	wamd_emit(t, "LOGOUT_INSTANCE", NULL);
	wamd_stream_recheck(t, true, "instance logged out");
	wamd_reply_json(c, 200,
			json_pack("{s:s, s:b, s:{s:s}}", "status", "SUCCESS", "error", 0, "response", "message",
				  "Instance logged out"));
}

void wamd_h_delete(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	(void)body;
	t->deleting = true;
	if (strcmp(wamd_tenant_state_str(t), "close") != 0 && wamd_tenant_is_paired(t)) {
		if (wamd_tenant_logout(t) != 0)
			LOGW("instance %s: logout before delete failed", t->name);
	}
	const char *uuid = jstr(t->doc, "id");
	wamd_emit(t, "INSTANCE_DELETE", json_pack("{s:s, s:s}", "instanceName", t->name, "instanceId", uuid ? uuid : ""));
	wamd_emit(t, "REMOVE_INSTANCE", NULL);
	LOGI("instance %s: deleted", t->name);
	char id[64];
	snprintf(id, sizeof id, "%s", uuid ? uuid : "");
	struct wamd *d = t->d;
	wamd_tenant_remove(t);
	wamd_cluster_streams_recheck(d, id);
	wamd_reply_json(c, 200,
			json_pack("{s:s, s:b, s:{s:s}}", "status", "SUCCESS", "error", 0, "response", "message",
				  "Instance deleted"));
}

struct fetch {
	struct wamd_conn *c;
	bool admin;
	const char *name, *iid;
	json_t *arr;
};

static bool fetch_one(void *arg, struct wamd_tenant *t)
{
	struct fetch *f = arg;
	if (!f->admin && !(wamd_auth_scopes(t, f->c->apikey) & WAMD_SCOPE_READ))
		return true;
	if (f->name && strcmp(f->name, t->name) != 0)
		return true;
	if (f->iid && (!jstr(t->doc, "id") || strcmp(f->iid, jstr(t->doc, "id")) != 0))
		return true;
	json_array_append_new(f->arr, instance_record(t, wamd_caller_scopes(f->c, t)));
	return true;
}

void wamd_h_fetch(struct wamd_conn *c, struct wamd_tenant *unused, json_t *body)
{
	(void)unused;
	(void)body;
	struct wamd *d = c->d;
	bool admin = c->trusted || wamd_auth_is_admin(d, c->apikey);
	char fname[WA_STORE_NAME_MAX + 8], fid[64];
	struct fetch f = { c, admin, lws_get_urlarg_by_name(c->wsi, "instanceName=", fname, sizeof fname),
			   lws_get_urlarg_by_name(c->wsi, "instanceId=", fid, sizeof fid), json_array() };
	const char *name = f.name;
	json_t *arr = f.arr;
	if (d->cluster) {
		/* every instance of the cluster, the others' from the database */
		int rc = wamd_cluster_each(d, fetch_one, &f);
		if (rc != 0) {
			json_decref(arr);
			wamd_reply_error(c, 500, json_string(wa_strerror(rc)));
			return;
		}
	} else {
		for (struct wamd_tenant *t = d->tenants; t; t = t->next)
			(void)fetch_one(&f, t);
	}
	if (!admin && json_array_size(arr) == 0) {
		json_decref(arr);
		wamd_reply_error(c, 401, json_string("Unauthorized"));
		return;
	}
	if (name && json_array_size(arr) == 0) {
		json_decref(arr);
		wamd_reply_error(c, 404, msg1("Instance \"%s\" not found", name));
		return;
	}
	wamd_reply_json(c, 200, arr);
}

void wamd_h_set_presence(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	const char *p = jstr(body, "presence");
	if (!p) {
		bad_request(c, "instance requires property \"presence\"");
		return;
	}
	int rc = wamd_tenant_presence(t, NULL, p);
	if (rc != 0) {
		wamd_reply_error(c, 400, json_pack("[s]", wa_strerror(rc)));
		return;
	}
	wamd_reply_json(c, 201, json_pack("{s:s}", "presence", p));
}
