/* Evolution API v2 routes (see docs/wamd.md): paths,
 * bodies, status codes, the error envelope and the apikey header. Where the
 * Evolution docs and code disagree both forms are accepted (restart via POST
 * or PUT, webhook/set nested, flat or snake_case, sendPresence fields at the
 * top or under options). Additive: scoped tokens (tokenScopes on create,
 * POST /wamd/token/{instance}), webhook secrets, pairing code. */
#include <ctype.h>
#include <stdarg.h>
#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wamd.h"

struct route;
typedef void (*handler_fn)(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);

struct route {
	int methods;
	const char *prefix;   /* "/instance/connect" */
	bool has_instance;
	unsigned scope;       /* needed from an instance token; 0 = admin only */
	handler_fn fn;
};

enum { WAIT_CONNECT = 1, WAIT_CREATE = 2 };

static json_t *msg1(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_t *msg1(const char *fmt, ...)
{
	char b[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b, sizeof b, fmt, ap);
	va_end(ap);
	return json_pack("[s]", b);
}

static void bad_request(struct wamd_conn *c, const char *text)
{
	/* schema failures use a nested array in Evolution */
	wamd_reply_error(c, 400, json_pack("[[s]]", text));
}

static const char *jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* ---- waits ---- */

static void wait_end(struct wamd_conn *c)
{
	if (!c->waiting)
		return;
	c->waiting = false;
	lws_sul_cancel(&c->wait_sul);
	for (struct wamd_conn **pp = &c->d->waiters; *pp; pp = &(*pp)->wait_next)
		if (*pp == c) {
			*pp = c->wait_next;
			break;
		}
	json_decref(c->wait_ctx);
	c->wait_ctx = NULL;
}

void wamd_api_conn_gone(struct wamd_conn *c)
{
	wait_end(c);
	if (c->ticket) {
		c->ticket->c = NULL;
		c->ticket = NULL;
	}
}

static json_t *qr_object(struct wamd_tenant *t)
{
	json_t *q = json_object();
	json_object_set_new(q, "pairingCode", t->pairing_code ? json_string(t->pairing_code) : json_null());
	if (t->qr) {
		json_object_set_new(q, "code", json_string(t->qr));
		char *png = wamd_qr_png_data_uri(t->qr);
		json_object_set_new(q, "base64", png ? json_string(png) : json_null());
		free(png);
	}
	json_object_set_new(q, "count", json_integer(t->qr_count));
	if (t->qr && t->qr_expires_ms) {
		/* additive: how long this code can still be scanned */
		int64_t left = (t->qr_expires_ms - wamd_now_ms() + 999) / 1000;
		json_object_set_new(q, "wamdExpiresInS", json_integer(left > 0 ? left : 0));
	}
	return q;
}

/* Evolution's {"instance":{"instanceName","state"}}; beside them (additive)
 * wamdReason: why the last connection attempt failed, or null. */
static json_t *state_object(struct wamd_tenant *t)
{
	return json_pack("{s:{s:s, s:s, s:o}}", "instance", "instanceName", t->name, "state",
			 wamd_tenant_state_str(t), "wamdReason", wamd_tenant_reason_json(t));
}

static void wait_answer(struct wamd_conn *c)
{
	struct wamd_tenant *t = c->wait_tenant;
	int kind = c->wait_kind;
	json_t *ctx = json_incref(c->wait_ctx);
	wait_end(c);
	json_object_del(ctx, "_wantCode");
	if (!t || t->removed) {
		wamd_reply_error(c, 404, json_pack("[s]", "instance removed"));
	} else if (kind == WAIT_CREATE) {
		json_object_set_new(ctx, "qrcode", t->qr || t->pairing_code ? qr_object(t) : json_pack("{s:i}", "count", 0));
		json_object_set_new(json_object_get(ctx, "instance"), "status", json_string(wamd_tenant_state_str(t)));
		wamd_reply_json(c, 201, json_incref(ctx));
	} else if (!strcmp(wamd_tenant_state_str(t), "open")) {
		wamd_reply_json(c, 200, state_object(t));
	} else {
		wamd_reply_json(c, 200, qr_object(t));
	}
	json_decref(ctx);
}

static void wait_timeout_cb(lws_sorted_usec_list_t *sul)
{
	struct wamd_conn *c = lws_container_of(sul, struct wamd_conn, wait_sul);
	wait_answer(c);
}

static void wait_start(struct wamd_conn *c, struct wamd_tenant *t, int kind, json_t *ctx, int ms)
{
	c->waiting = true;
	c->wait_tenant = t;
	c->wait_kind = kind;
	c->wait_ctx = ctx;
	c->wait_next = c->d->waiters;
	c->d->waiters = c;
	lws_sul_schedule(c->d->ctx, 0, &c->wait_sul, wait_timeout_cb, (lws_usec_t)ms * LWS_US_PER_MS);
}

void wamd_api_tenant_changed(struct wamd_tenant *t)
{
	/* the engine can issue a code once the server's pairing refs arrived,
	 * which is when the first QR shows up; an early WA_ESTATE retries on
	 * the next change */
	if (t->pending_phone && t->state == WA_CONN_PAIRING && t->sess && t->qr) {
		/* taken first: the code event may arrive inside this call */
		char *phone = t->pending_phone;
		t->pending_phone = NULL;
		int rc = wamd_tenant_pairing_code(t, phone);
		if (rc == WA_ESTATE && !t->pending_phone) {
			t->pending_phone = phone;
		} else {
			if (rc != 0)
				LOGW("instance %s: pairing code request failed: %s", t->name, wa_errname(rc));
			free(phone);
		}
	}
	bool want_code = false;
	for (struct wamd_conn *c = t->d->waiters, *next; c; c = next) {
		next = c->wait_next;
		if (c->wait_tenant != t)
			continue;
		want_code = json_is_true(json_object_get(c->wait_ctx, "_wantCode"));
		bool ready = t->removed || t->state == WA_CONN_READY ||
			     (want_code ? t->pairing_code != NULL : t->qr != NULL) ||
			     /* an attempt failed: no QR is coming soon, answer now */
			     (t->conn_error && (t->state == WA_CONN_BACKOFF || t->state == WA_CONN_DISCONNECTED));
		if (ready) {
			if (c->wait_ctx)
				json_object_del(c->wait_ctx, "_wantCode");
			wait_answer(c);
		}
	}
}

/* ---- instance ---- */

static json_t *proxy_row_out(struct wamd_tenant *t, json_t *row);
static json_t *parse_proxy(json_t *src, const char *const names[6], json_t *old, const char **why);
static void proxy_row_stamp(json_t *row, json_t *old);
static void invalid_proxy(struct wamd_conn *c, const char *why);

/* Scopes of the instance's creation token (kept only with expose_token). */
static unsigned creation_token_scopes(struct wamd_tenant *t)
{
	const char *tok = jstr(t->doc, "token");
	return tok ? wamd_auth_scopes(t, tok) : 0;
}

/* The caller's scopes on t: every scope for admin. */
static unsigned caller_scopes(struct wamd_conn *c, struct wamd_tenant *t)
{
	if (c->trusted || wamd_auth_is_admin(c->d, c->apikey))
		return WAMD_SCOPE_ALL;
	return wamd_auth_scopes(t, c->apikey);
}

/* The creation token may be shown only to who already holds all it grants:
 * a read-only token must not learn a write or manage one. */
static bool may_see_token(unsigned holder, struct wamd_tenant *t)
{
	unsigned ts = creation_token_scopes(t);
	return ts && (holder & ts) == ts;
}

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
	const char *tok = t->d->cfg.expose_token && may_see_token(caller, t) ? jstr(doc, "token") : NULL;
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
	json_object_set_new(r, "Proxy", json_is_object(px) ? proxy_row_out(t, px) : json_null());
	json_object_set_new(r, "Rabbitmq", json_null());
	json_object_set_new(r, "Nats", json_null());
	json_object_set_new(r, "Sqs", json_null());
	json_object_set_new(r, "Websocket", json_null());
	json_t *s = json_deep_copy(json_object_get(doc, "settings"));
	json_object_set_new(r, "Setting", s ? s : json_null());
	json_object_set_new(r, "_count", json_pack("{s:i, s:i, s:i}", "Message", 0, "Contact", 0, "Chat", 0));
	return r;
}

static json_t *default_settings(json_t *body)
{
	static const char *bools[] = { "rejectCall", "groupsIgnore", "alwaysOnline", "readMessages", "readStatus",
		"syncFullHistory" };
	json_t *s = json_object();
	for (size_t i = 0; i < 6; i++)
		json_object_set_new(s, bools[i], json_boolean(json_is_true(json_object_get(body, bools[i]))));
	const char *mc = jstr(body, "msgCall");
	json_object_set_new(s, "msgCall", json_string(mc ? mc : ""));
	json_object_set_new(s, "wavoipToken", json_string(""));
	/* additive: the WhatsApp Web version this instance claims (else the daemon's wa_version) */
	const char *wv = jstr(body, "waVersion");
	if (wv && *wv)
		json_object_set_new(s, "waVersion", json_string(wv));
	return s;
}

/* A waVersion in a settings or create body wamd could not use. */
static bool bad_wa_version(struct wamd_conn *c, json_t *body)
{
	const char *wv = jstr(body, "waVersion");
	if (!json_object_get(body, "waVersion") || (wv && (!*wv || wamd_tenant_version_check(wv) == 0)))
		return false;
	bad_request(c, "waVersion must look like 2.3000.1023223821");
	return true;
}

/* Parses nested / flat / snake_case webhook bodies into our stored row.
 * Returns NULL and sets *err on failure. */
static json_t *parse_webhook(struct wamd *d, json_t *body, json_t *old, const char **err)
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

static void h_create(struct wamd_conn *c, struct wamd_tenant *unused, json_t *body)
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
	if (bad_wa_version(c, body))
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
			proxy_row = parse_proxy(body, pnames, NULL, &why);
			if (!proxy_row) {
				invalid_proxy(c, why);
				return;
			}
			proxy_row_stamp(proxy_row, NULL);
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
	json_object_set_new(doc, "settings", default_settings(body));
	json_object_set_new(doc, "connectionStatus", json_string("close"));
	json_t *wh = NULL;
	if (json_is_object(json_object_get(body, "webhook"))) {
		const char *err = NULL;
		wh = parse_webhook(d, body, NULL, &err);
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
	wait_start(c, t, WAIT_CREATE, resp, WAMD_CREATE_QR_WAIT_MS);
	wamd_api_tenant_changed(t);
}

static void h_connect(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	(void)body;
	const char *st = wamd_tenant_state_str(t);
	if (!strcmp(st, "open")) {
		wamd_reply_json(c, 200, state_object(t));
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
		wamd_reply_json(c, 200, qr_object(t));
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
	wait_start(c, t, WAIT_CONNECT, ctx, WAMD_QR_WAIT_MS);
	wamd_api_tenant_changed(t);
}

static void h_state(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	(void)body;
	wamd_reply_json(c, 200, state_object(t));
}

static void h_restart(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
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
	wamd_reply_json(c, 200, state_object(t));
}

static void h_logout(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
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
	wamd_ws_recheck(t, true, "instance logged out");
	wamd_reply_json(c, 200,
			json_pack("{s:s, s:b, s:{s:s}}", "status", "SUCCESS", "error", 0, "response", "message",
				  "Instance logged out"));
}

static void h_delete(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
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
	wamd_tenant_remove(t);
	wamd_reply_json(c, 200,
			json_pack("{s:s, s:b, s:{s:s}}", "status", "SUCCESS", "error", 0, "response", "message",
				  "Instance deleted"));
}

static void h_fetch(struct wamd_conn *c, struct wamd_tenant *unused, json_t *body)
{
	(void)unused;
	(void)body;
	struct wamd *d = c->d;
	bool admin = c->trusted || wamd_auth_is_admin(d, c->apikey);
	char fname[WA_STORE_NAME_MAX + 8], fid[64];
	const char *name = lws_get_urlarg_by_name(c->wsi, "instanceName=", fname, sizeof fname);
	const char *iid = lws_get_urlarg_by_name(c->wsi, "instanceId=", fid, sizeof fid);
	json_t *arr = json_array();
	for (struct wamd_tenant *t = d->tenants; t; t = t->next) {
		if (!admin && !(wamd_auth_scopes(t, c->apikey) & WAMD_SCOPE_READ))
			continue;
		if (name && strcmp(name, t->name) != 0)
			continue;
		if (iid && (!jstr(t->doc, "id") || strcmp(iid, jstr(t->doc, "id")) != 0))
			continue;
		json_array_append_new(arr, instance_record(t, caller_scopes(c, t)));
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

static void h_set_presence(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
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

/* ---- messages ---- */

static void h_send_text(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	const char *number = jstr(body, "number");
	const char *text = jstr(body, "text");
	if (!text) {
		json_t *tm = json_object_get(body, "textMessage"); /* v1 form */
		text = jstr(tm, "text");
	}
	if (!number) {
		bad_request(c, "instance requires property \"number\"");
		return;
	}
	bool blank = true;
	for (const char *p = text ? text : ""; *p; p++)
		if (!isspace((unsigned char)*p))
			blank = false;
	if (blank) {
		wamd_reply_error(c, 400, json_pack("[s]", "Text is required"));
		return;
	}
	char jid[WA_STORE_JID_MAX];
	if (wamd_normalize_number(number, jid, sizeof jid) != 0) {
		wamd_reply_error(c, 400,
				 json_pack("[{s:s, s:b, s:s}]", "jid", number, "exists", 0, "number", number));
		return;
	}
	if (!wamd_tenant_is_paired(t)) {
		wamd_reply_error(c, 500, json_string("Connection Closed"));
		return;
	}
	json_t *quoted = json_object_get(body, "quoted");
	json_t *qkey = json_object_get(quoted, "key");
	const char *qid = jstr(qkey, "id");
	const char *qtext = jstr(json_object_get(quoted, "message"), "conversation");
	char *id = NULL;
	int rc = wamd_tenant_send_text(t, jid, text, qid, qid ? (jstr(qkey, "remoteJid") ? jstr(qkey, "remoteJid") : jid) : NULL,
				       json_is_true(json_object_get(qkey, "fromMe")), qtext, &id);
	if (rc != 0 || !id) {
		free(id);
		wamd_reply_error(c, 400, json_pack("[s]", wa_strerror(rc ? rc : WA_ENOMEM)));
		return;
	}
	wamd_lat_accepted(t, id, c->t_dispatch_ns);
	json_t *rec = wamd_sent_record(t, jid, id, text, wamd_now_ms() / 1000);
	free(id);
	wamd_emit(t, "SEND_MESSAGE", json_deep_copy(rec));
	wamd_reply_json(c, 201, rec);
}

/* ---- chat ---- */

void wamd_numbers_done(void *ticket, int err, json_t *result)
{
	struct wamd_ticket *tk = ticket;
	struct wamd_conn *c = tk->c;
	free(tk);
	if (!c) {
		json_decref(result);
		return;
	}
	c->ticket = NULL;
	if (err != 0) {
		json_decref(result);
		wamd_reply_error(c, 400, json_pack("[s]", wa_strerror(err)));
		return;
	}
	wamd_reply_json(c, 200, result);
}

static void h_numbers(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	json_t *nums = json_object_get(body, "numbers");
	if (!json_is_array(nums)) {
		bad_request(c, "instance requires property \"numbers\"");
		return;
	}
	size_t n = json_array_size(nums);
	if (n > WAMD_MAX_NUMBERS) {
		wamd_reply_error(c, 400, json_pack("[s]", "too many numbers in one request"));
		return;
	}
	const char **list = calloc(n ? n : 1, sizeof *list);
	if (!list) {
		wamd_reply_error(c, 500, json_string("out of memory"));
		return;
	}
	for (size_t i = 0; i < n; i++) {
		list[i] = json_string_value(json_array_get(nums, i));
		if (!list[i]) {
			free(list);
			bad_request(c, "numbers must be strings");
			return;
		}
	}
	struct wamd_ticket *tk = calloc(1, sizeof *tk);
	if (!tk) {
		free(list);
		wamd_reply_error(c, 500, json_string("out of memory"));
		return;
	}
	tk->c = c;
	c->ticket = tk;
	int rc = wamd_tenant_check_numbers(t, list, n, tk);
	free(list);
	if (rc != 0) {
		c->ticket = NULL;
		free(tk);
		wamd_reply_error(c, 500, json_string(rc == WA_ESTATE ? "Connection Closed" : wa_strerror(rc)));
	}
}

static void h_mark_read(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	json_t *arr = json_object_get(body, "readMessages");
	if (!json_is_array(arr)) {
		bad_request(c, "instance requires property \"readMessages\"");
		return;
	}
	size_t n = json_array_size(arr), k = 0;
	const char **jids = calloc(n ? n : 1, sizeof *jids), **ids = calloc(n ? n : 1, sizeof *ids);
	bool *fm = calloc(n ? n : 1, sizeof *fm);
	if (!jids || !ids || !fm) {
		free(jids), free(ids), free(fm);
		wamd_reply_error(c, 500, json_string("out of memory"));
		return;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *it = json_array_get(arr, i);
		const char *j = jstr(it, "remoteJid"), *id = jstr(it, "id");
		if (!j || !id || !json_is_boolean(json_object_get(it, "fromMe"))) {
			free(jids), free(ids), free(fm);
			bad_request(c, "readMessages items require remoteJid, fromMe and id");
			return;
		}
		if (!strstr(j, "@s.whatsapp.net") && !strstr(j, "@g.us") && !strstr(j, "@lid"))
			continue; /* skipped silently, as Evolution does */
		jids[k] = j;
		ids[k] = id;
		fm[k] = json_is_true(json_object_get(it, "fromMe"));
		k++;
	}
	int rc = k ? wamd_tenant_mark_read(t, jids, ids, fm, k) : 0;
	free(jids), free(ids), free(fm);
	if (rc != 0) {
		wamd_reply_error(c, 500, json_pack("[s, s]", "Read messages fail", wa_strerror(rc)));
		return;
	}
	wamd_reply_json(c, 201, json_pack("{s:s, s:s}", "message", "Read messages", "read", "success"));
}

static int64_t parse_time(json_t *v)
{
	if (json_is_integer(v))
		return json_integer_value(v) > 100000000000LL ? json_integer_value(v) / 1000 : json_integer_value(v);
	const char *s = json_string_value(v);
	if (!s)
		return 0;
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	if (strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) || strptime(s, "%Y-%m-%d", &tm))
		return (int64_t)timegm(&tm);
	return atoll(s);
}

static void fill_query(json_t *where, wa_store_mrec_query *q, char *jidbuf, size_t jl)
{
	memset(q, 0, sizeof *q);
	q->from_me = -1;
	json_t *key = json_object_get(where, "key");
	const char *rj = jstr(key, "remoteJid");
	if (!rj)
		rj = jstr(where, "remoteJid");
	if (rj && wamd_normalize_number(rj, jidbuf, jl) == 0)
		q->remote_jid = jidbuf;
	q->key_id = jstr(key, "id");
	json_t *fm = json_object_get(key, "fromMe");
	if (json_is_boolean(fm))
		q->from_me = json_is_true(fm) ? 1 : 0;
	q->message_type = jstr(where, "messageType");
	json_t *mt = json_object_get(where, "messageTimestamp");
	q->ts_min = parse_time(json_object_get(mt, "gte"));
	q->ts_max = parse_time(json_object_get(mt, "lte"));
}

static json_t *row_record(const wa_store_mrec_row *r)
{
	json_t *rec = json_loadb(r->record, r->record_len, 0, NULL);
	if (!rec)
		return json_null();
	json_object_set_new(rec, "status", json_string(wamd_status_name(r->status)));
	json_object_set(rec, "id", json_object_get(json_object_get(rec, "key"), "id"));
	return rec;
}

static void h_find_messages(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	wa_store_mrec_query q;
	char jid[WA_STORE_JID_MAX];
	fill_query(json_object_get(body, "where"), &q, jid, sizeof jid);
	json_int_t page = json_integer_value(json_object_get(body, "page"));
	json_int_t size = json_integer_value(json_object_get(body, "offset"));
	if (page < 1)
		page = 1;
	if (size < 1)
		size = 50;
	if (size > WA_STORE_QUERY_MAX_ROWS)
		size = WA_STORE_QUERY_MAX_ROWS;
	q.limit = size;
	q.offset = (page - 1) * size;
	wa_store_mrec_row *rows = NULL;
	size_t n = 0;
	int64_t total = 0;
	int rc = wa_store_msgrec_find(c->d->store, t->id, &q, &rows, &n, &total);
	if (rc != 0) {
		wamd_reply_error(c, 500, json_string(wa_strerror(rc)));
		return;
	}
	json_t *recs = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *r = row_record(&rows[i]);
		json_object_set_new(r, "MessageUpdate",
				    json_pack("[{s:s}]", "status", wamd_status_name(rows[i].status)));
		json_array_append_new(recs, r);
	}
	wa_store_mrec_rows_free(rows, n);
	wamd_reply_json(c, 200,
			json_pack("{s:{s:I, s:I, s:I, s:o}}", "messages", "total", (json_int_t)total, "pages",
				  (json_int_t)((total + size - 1) / size), "currentPage", page, "records", recs));
}

static void h_find_chats(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	wa_store_mrec_query q;
	char jid[WA_STORE_JID_MAX];
	fill_query(json_object_get(body, "where"), &q, jid, sizeof jid);
	json_int_t take = json_integer_value(json_object_get(body, "take"));
	q.limit = take > 0 ? take : WA_STORE_QUERY_MAX_ROWS;
	q.offset = json_integer_value(json_object_get(body, "skip"));
	wa_store_mrec_row *rows = NULL;
	size_t n = 0;
	int rc = wa_store_msgrec_chats(c->d->store, t->id, &q, &rows, &n);
	if (rc != 0) {
		wamd_reply_error(c, 500, json_string(wa_strerror(rc)));
		return;
	}
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *last = row_record(&rows[i]);
		json_t *key = json_object_get(last, "key");
		char ts[32];
		wamd_iso_time(json_integer_value(json_object_get(last, "messageTimestamp")) * 1000, ts);
		json_t *chat = json_object();
		json_object_set_new(chat, "id", json_null());
		json_object_set(chat, "remoteJid", json_object_get(key, "remoteJid"));
		json_object_set(chat, "pushName", json_is_true(json_object_get(key, "fromMe")) ? json_null()
										     : json_object_get(last, "pushName"));
		json_object_set_new(chat, "profilePicUrl", json_null());
		json_object_set_new(chat, "updatedAt", json_string(ts));
		json_object_set_new(chat, "windowStart", json_null());
		json_object_set_new(chat, "windowExpires", json_null());
		json_object_set_new(chat, "windowActive", json_false());
		json_object_set_new(chat, "lastMessage", last);
		json_object_set_new(chat, "unreadCount", json_integer(rows[i].unread));
		json_object_set_new(chat, "isSaved", json_false());
		json_array_append_new(arr, chat);
	}
	wa_store_mrec_rows_free(rows, n);
	wamd_reply_json(c, 200, arr);
}

static void h_send_presence(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	json_t *o = json_object_get(body, "options");
	const char *number = jstr(body, "number");
	const char *presence = jstr(body, "presence");
	if (!number)
		number = jstr(o, "number");
	if (!presence)
		presence = jstr(o, "presence");
	if (!number || !presence) {
		bad_request(c, "instance requires property \"number\" and \"presence\"");
		return;
	}
	char jid[WA_STORE_JID_MAX];
	if (wamd_normalize_number(number, jid, sizeof jid) != 0) {
		bad_request(c, "invalid number");
		return;
	}
	int rc = wamd_tenant_presence(t, jid, presence);
	if (rc != 0) {
		wamd_reply_error(c, 400, json_pack("[s]", wa_strerror(rc)));
		return;
	}
	/* the delay is not waited for: the answer is the same, and the
	 * loop never blocks (the session sends "paused" itself) */
	wamd_reply_json(c, 201, json_pack("{s:s}", "presence", presence));
}

/* ---- proxy ---- */

#define WAMD_PROXY_HOST_MAX 253
#define WAMD_PROXY_CRED_MAX 255

/* A string, or an integer (Evolution documents port as a string; clients send
 * both), into buf. NULL if absent or another type. */
static const char *str_or_int(json_t *o, const char *k, char *buf, size_t n)
{
	json_t *v = json_object_get(o, k);
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v)) {
		snprintf(buf, n, "%lld", (long long)json_integer_value(v));
		return buf;
	}
	return NULL;
}

static bool proxy_host_ok(const char *h)
{
	size_t n = strlen(h);
	if (n == 0 || n > WAMD_PROXY_HOST_MAX)
		return false;
	for (const char *p = h; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-' && *p != '_')
			return false; /* also refuses IPv6 literals, which lws 4.1 cannot take */
	return true;
}

static bool proxy_cred_ok(const char *s)
{
	if (strlen(s) > WAMD_PROXY_CRED_MAX)
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

/* Builds the stored proxy row from the keys names[0..5] = enabled, host,
 * port, protocol, username, password of src. old: the stored row (its
 * password is kept when the request leaves it out or null for the same host
 * and username, so a find-edit-set round trip with the hidden password
 * works).
 * NULL with *why (Evolution's "Invalid proxy" and a reason) on failure. */
static json_t *parse_proxy(json_t *src, const char *const names[6], json_t *old, const char **why)
{
	static char reason[160];
	*why = NULL;
	json_t *en = names[0] ? json_object_get(src, names[0]) : json_true();
	if (names[0] && en && !json_is_boolean(en)) {
		*why = "enabled must be a boolean";
		return NULL;
	}
	json_t *row = json_object();
	if (!json_is_true(en)) {
		json_object_set_new(row, "enabled", json_false());
		static const char *const empty[] = { "host", "port", "protocol", "username", "password" };
		for (size_t i = 0; i < 5; i++)
			json_object_set_new(row, empty[i], json_string(""));
		return row;
	}
	char pbuf[32];
	const char *host = jstr(src, names[1]);
	const char *port = str_or_int(src, names[2], pbuf, sizeof pbuf);
	const char *proto = jstr(src, names[3]);
	json_t *uj = json_object_get(src, names[4]), *pj = json_object_get(src, names[5]);
	const char *user = json_string_value(uj);
	const char *pass = json_string_value(pj);
	if ((uj && !json_is_string(uj) && !json_is_null(uj)) || (pj && !json_is_string(pj) && !json_is_null(pj))) {
		*why = "username and password must be strings";
		goto bad;
	}
	if (!host || !proxy_host_ok(host)) {
		*why = "host must be a host name or an IPv4 address";
		goto bad;
	}
	long pn = 0;
	const char *q = port;
	for (; q && *q >= '0' && *q <= '9' && pn <= 65535; q++)
		pn = pn * 10 + (*q - '0');
	if (!port || !*port || *q || pn < 1 || pn > 65535) {
		*why = "port must be 1-65535";
		goto bad;
	}
	if (!proto || (strcmp(proto, "http") && strcmp(proto, "https") && strcmp(proto, "socks4") &&
		       strcmp(proto, "socks5"))) {
		*why = "protocol must be http, https, socks4 or socks5";
		goto bad;
	}
	if (!strcmp(proto, "https")) {
		snprintf(reason, sizeof reason, "protocol %s is not supported by wamd (use http, socks5 or socks4)",
			 proto);
		/* https needs TLS to the proxy itself, which neither lws 4.1's
		 * proxying nor libwa's SOCKS bridge does */
		*why = reason;
		goto bad;
	}
	if (user && !*user)
		user = NULL;
	if (!user && pass && *pass) {
		*why = "a password needs a username";
		goto bad;
	}
	if ((user && !proxy_cred_ok(user)) || (pass && !proxy_cred_ok(pass))) {
		*why = "username and password must be printable and at most 255 bytes";
		goto bad;
	}
	if (user && strchr(user, ':')) {
		*why = "username must not contain ':' (Basic authentication)";
		goto bad;
	}
	if (!strcmp(proto, "socks4") && pass && *pass) {
		*why = "socks4 has a user id and no password";
		goto bad;
	}
	if (user && !pass && json_is_object(old) && json_is_true(json_object_get(old, "enabled"))) {
		/* the hidden password comes back as null: keep it for the same proxy */
		const char *ou = jstr(old, "username");
		const char *oh = jstr(old, "host");
		if (ou && !strcmp(ou, user) && oh && !strcmp(host, oh))
			pass = jstr(old, "password");
	}
	char portn[8];
	snprintf(portn, sizeof portn, "%ld", pn);
	json_object_set_new(row, "enabled", json_true());
	json_object_set_new(row, "host", json_string(host));
	json_object_set_new(row, "port", json_string(portn));
	json_object_set_new(row, "protocol", json_string(proto));
	json_object_set_new(row, "username", json_string(user ? user : ""));
	json_object_set_new(row, "password", json_string(user && pass ? pass : ""));
	/* the last word is libwa's: lengths, schemes this build can use */
	char url[WAMD_PROXY_URL_MAX];
	int rc = wamd_proxy_url(row, url, sizeof url) == 0 ? wamd_tenant_proxy_check(url) : WA_ETOOBIG;
	explicit_bzero(url, sizeof url);
	if (rc == WA_EUNSUPPORTED)
		*why = "this proxy protocol is not supported by this build";
	else if (rc == WA_ETOOBIG)
		*why = "username and password together must be at most 90 bytes";
	else if (rc)
		*why = "malformed proxy";
	if (rc)
		goto bad;
	return row;
bad:
	json_decref(row);
	return NULL;
}

/* A stored row as the API shows it: Evolution's Proxy record. The password
 * is shown only with expose_token (the same policy as instance tokens);
 * otherwise it is null, and sending null back keeps it. */
static json_t *proxy_row_out(struct wamd_tenant *t, json_t *row)
{
	json_t *r = json_deep_copy(row);
	json_object_set(r, "instanceId", json_object_get(t->doc, "id"));
	const char *pw = jstr(row, "password");
	if (!t->d->cfg.expose_token && pw && *pw)
		json_object_set_new(r, "password", json_null());
	return r;
}

/* Stamps id/createdAt/updatedAt on a new row (kept from old). */
static void proxy_row_stamp(json_t *row, json_t *old)
{
	char ts[32], u[37];
	wamd_iso_time(wamd_now_ms(), ts);
	const char *oid = json_is_object(old) ? jstr(old, "id") : NULL;
	if (!oid && wamd_random_uuid(u) == 0)
		oid = u;
	json_object_set_new(row, "id", json_string(oid ? oid : ""));
	json_t *created = json_is_object(old) ? json_object_get(old, "createdAt") : NULL;
	json_object_set_new(row, "createdAt", created ? json_incref(created) : json_string(ts));
	json_object_set_new(row, "updatedAt", json_string(ts));
}

static void invalid_proxy(struct wamd_conn *c, const char *why)
{
	/* Evolution answers ["Invalid proxy"]; the reason follows it */
	wamd_reply_error(c, 400, json_pack("[s, s]", "Invalid proxy", why ? why : "unusable proxy"));
}

static void h_proxy_set(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	static const char *const names[6] = { "enabled", "host", "port", "protocol", "username", "password" };
	json_t *old = json_object_get(t->doc, "proxy");
	if (!json_object_get(body, "enabled")) {
		bad_request(c, "proxy requires property \"enabled\"");
		return;
	}
	const char *why;
	json_t *row = parse_proxy(body, names, old, &why);
	if (!row) {
		invalid_proxy(c, why);
		return;
	}
	proxy_row_stamp(row, old);
	json_object_set_new(t->doc, "proxy", row);
	if (wamd_tenant_save(t) != 0) {
		wamd_reply_error(c, 500, json_string("could not store the proxy"));
		return;
	}
	LOGI("instance %s: proxy %s", t->name,
	     json_is_true(json_object_get(row, "enabled")) ? jstr(row, "host") : "disabled");
	if (t->sess) {
		/* the proxy is fixed per session: restart with the new one */
		wamd_tenant_stop(t);
		int rc = wamd_tenant_start(t);
		if (rc != 0)
			LOGW("instance %s: restart with the new proxy failed: %s", t->name, wa_errname(rc));
	}
	json_t *out = proxy_row_out(t, row);
	wamd_reply_json(c, 201, json_pack("{s:{s:s, s:O, s:o}}", "proxy", "instanceName", t->name, "instanceId",
					  json_object_get(t->doc, "id"), "proxy", out));
}

static void h_proxy_find(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	(void)body;
	json_t *p = json_object_get(t->doc, "proxy");
	wamd_reply_json(c, 200, json_is_object(p) ? proxy_row_out(t, p) : json_null());
}

/* ---- webhook / settings ---- */

static json_t *webhook_row_out(struct wamd_tenant *t, json_t *w)
{
	json_t *r = json_deep_copy(w);
	json_object_set(r, "instanceId", json_object_get(t->doc, "id"));
	return r;
}

static void h_webhook_set(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	const char *err = NULL;
	json_t *row = parse_webhook(c->d, body, json_object_get(t->doc, "webhook"), &err);
	if (!row) {
		wamd_reply_error(c, 400, json_pack("[s]", err));
		return;
	}
	json_object_set_new(t->doc, "webhook", row);
	/* the envelope's apikey (expose_token) goes only to a receiver whose
	 * setter already held everything the instance token grants */
	json_object_set_new(t->doc, "webhookApikey", json_boolean(may_see_token(caller_scopes(c, t), t)));
	if (wamd_tenant_save(t) != 0) {
		wamd_reply_error(c, 500, json_string("could not store the webhook"));
		return;
	}
	/* a refused lane may deliver again now */
	wamd_webhook_kick(t);
	wamd_reply_json(c, 201, webhook_row_out(t, row));
}

static void h_webhook_find(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	(void)body;
	json_t *w = json_object_get(t->doc, "webhook");
	wamd_reply_json(c, 200, json_is_object(w) ? webhook_row_out(t, w) : json_null());
}

static void h_settings_set(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	if (bad_wa_version(c, body))
		return;
	json_t *s = default_settings(body);
	json_object_set(t->doc, "settings", s);
	if (wamd_tenant_save(t) != 0) {
		json_decref(s);
		wamd_reply_error(c, 500, json_string("could not store the settings"));
		return;
	}
	wamd_reply_json(c, 201, json_pack("{s:{s:s, s:o}}", "settings", "instanceName", t->name, "settings", s));
}

static void h_settings_find(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	(void)body;
	json_t *s = json_object_get(t->doc, "settings");
	wamd_reply_json(c, 200, s ? json_incref(s) : json_null());
}

/* POST /wamd/token/{instance} {"scopes":["read"]} -> {"token","scopes"}: a
 * token mints only a subset of its own scopes.
 * DELETE /wamd/token/{instance} {"token":"..."}: revokes that token (a
 * token may revoke only one whose scopes are a subset of its own); the
 * streams it opened close. */
static void h_token(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	unsigned mine = caller_scopes(c, t);
	json_t *arr = json_object_get(t->doc, "tokens");
	if (c->method == M_DELETE) {
		const char *tok = jstr(body, "token");
		if (!tok || !*tok) {
			bad_request(c, "token/revoke requires property \"token\"");
			return;
		}
		int i = wamd_auth_match(t, tok, NULL);
		if (i < 0) {
			wamd_reply_error(c, 404, json_pack("[s]", "No such token for this instance"));
			return;
		}
		unsigned theirs = t->tokens[i].scopes;
		if ((theirs & mine) != theirs) {
			wamd_reply_error(c, 403, json_pack("[s]", "A token may revoke only tokens with a subset of its scopes"));
			return;
		}
		/* the stored row is the one with this digest */
		uint8_t dig[32];
		memcpy(dig, t->tokens[i].sha256, 32);
		char hx[65];
		wamd_hex(dig, 32, hx);
		size_t k;
		json_t *v;
		json_array_foreach(arr, k, v) {
			const char *h = jstr(v, "sha256");
			if (h && !strcasecmp(h, hx)) {
				json_array_remove(arr, k);
				break;
			}
		}
		const char *ct = jstr(t->doc, "token");
		if (ct && wamd_auth_match(t, ct, NULL) == i)
			json_object_del(t->doc, "token");
		if (wamd_tenant_save(t) != 0) {
			wamd_reply_error(c, 500, json_string("could not store the tokens"));
			return;
		}
		wamd_tenant_reload_tokens(t);
		wamd_ws_recheck(t, false, "token revoked");
		LOGI("instance %s: a token was revoked", t->name);
		wamd_reply_json(c, 200, json_pack("{s:b, s:o}", "revoked", 1, "scopes", wamd_scopes_json(theirs)));
		return;
	}
	unsigned scopes = wamd_scopes_parse(json_object_get(body, "scopes"));
	if (!scopes) {
		bad_request(c, "scopes must list read, write and/or manage");
		return;
	}
	if ((scopes & mine) != scopes) {
		wamd_reply_error(c, 403, json_pack("[s]", "A token may grant only scopes it has itself"));
		return;
	}
	if (!json_is_array(arr) || json_array_size(arr) >= WAMD_TOKEN_MAX) {
		wamd_reply_error(c, 400, json_pack("[s]", "too many tokens for this instance"));
		return;
	}
	char tok[37];
	json_t *row = NULL;
	if (wamd_random_token(tok) != 0 || wamd_token_row(tok, scopes, &row) != 0) {
		wamd_reply_error(c, 500, json_string("no randomness"));
		return;
	}
	json_array_append_new(arr, row);
	if (wamd_tenant_save(t) != 0) {
		wamd_reply_error(c, 500, json_string("could not store the token"));
		return;
	}
	wamd_tenant_reload_tokens(t);
	wamd_reply_json(c, 201, json_pack("{s:s, s:o}", "token", tok, "scopes", wamd_scopes_json(scopes)));
}

static void h_root(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	(void)t;
	(void)body;
	wamd_reply_json(c, 200,
			json_pack("{s:i, s:s, s:s, s:s, s:s, s:s}", "status", 200, "message",
				  "Welcome to the Evolution API, it is working!", "version",
				  WAMD_EVOLUTION_VERSION "-compatible (wamd " WA_VERSION_STRING ")", "clientName", "wamd",
				  "documentation", "docs/wamd.md", "whatsappWebVersion", "wamd"));
}

static void h_verify(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	(void)t;
	(void)body;
	wamd_reply_json(c, 200, json_pack("{s:i, s:s}", "status", 200, "message", "Credentials are valid"));
}

/* GET /wamd/metrics: send latency histogram figures, admission gate
 * counters, instance counts (benchmarks; admin only). */
static void h_metrics(struct wamd_conn *c, struct wamd_tenant *unused, json_t *body)
{
	(void)unused;
	(void)body;
	wamd_reply_json(c, 200, wamd_metrics_json(c->d));
}

/* POST /wamd/metrics/reset: empties the latency histogram (after a warm-up). */
static void h_metrics_reset(struct wamd_conn *c, struct wamd_tenant *unused, json_t *body)
{
	(void)unused;
	(void)body;
	wamd_lat_reset(c->d);
	wamd_reply_json(c, 200, json_pack("{s:b}", "reset", 1));
}

static void h_docs(struct wamd_conn *c, struct wamd_tenant *unused, json_t *body);
static const char *method_name(int m);

static const struct route routes[] = {
	{ M_POST, "/verify-creds", false, 0, h_verify },
	{ M_POST, "/instance/create", false, 0, h_create },
	{ M_GET, "/instance/fetchInstances", false, WAMD_SCOPE_READ, h_fetch },
	{ M_GET, "/instance/connect", true, WAMD_SCOPE_MANAGE, h_connect },
	{ M_GET, "/instance/connectionState", true, WAMD_SCOPE_READ, h_state },
	/* older Evolution (v1) and CodeChat integrations: same answer as connect */
	{ M_GET, "/instance/qrcode", true, WAMD_SCOPE_MANAGE, h_connect },
	{ M_POST | M_PUT, "/instance/restart", true, WAMD_SCOPE_MANAGE, h_restart },
	{ M_DELETE, "/instance/logout", true, WAMD_SCOPE_MANAGE, h_logout },
	{ M_DELETE, "/instance/delete", true, WAMD_SCOPE_MANAGE, h_delete },
	{ M_POST, "/instance/setPresence", true, WAMD_SCOPE_WRITE, h_set_presence },
	{ M_POST, "/message/sendText", true, WAMD_SCOPE_WRITE, h_send_text },
	{ M_POST, "/chat/whatsappNumbers", true, WAMD_SCOPE_READ, h_numbers },
	{ M_POST, "/chat/markMessageAsRead", true, WAMD_SCOPE_WRITE, h_mark_read },
	{ M_POST, "/chat/findMessages", true, WAMD_SCOPE_READ, h_find_messages },
	{ M_POST, "/chat/findChats", true, WAMD_SCOPE_READ, h_find_chats },
	{ M_POST, "/chat/sendPresence", true, WAMD_SCOPE_WRITE, h_send_presence },
	{ M_POST, "/webhook/set", true, WAMD_SCOPE_MANAGE, h_webhook_set },
	{ M_POST, "/proxy/set", true, WAMD_SCOPE_MANAGE, h_proxy_set },
	{ M_GET, "/proxy/find", true, WAMD_SCOPE_MANAGE, h_proxy_find },
	{ M_GET, "/webhook/find", true, WAMD_SCOPE_MANAGE, h_webhook_find },
	{ M_POST, "/settings/set", true, WAMD_SCOPE_MANAGE, h_settings_set },
	{ M_GET, "/settings/find", true, WAMD_SCOPE_READ, h_settings_find },
	{ M_POST | M_DELETE, "/wamd/token", true, WAMD_SCOPE_MANAGE, h_token },
	{ M_GET, "/wamd/metrics", false, 0, h_metrics },
	{ M_POST, "/wamd/metrics/reset", false, 0, h_metrics_reset },
};

static const char *method_list(int m, char *out, size_t cap)
{
	static const int ms[] = { M_GET, M_POST, M_PUT, M_DELETE, M_PATCH };
	out[0] = '\0';
	for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++)
		if (m & ms[i])
			snprintf(out + strlen(out), cap - strlen(out), "%s%s", out[0] ? "|" : "", method_name(ms[i]));
	return out;
}

static const char *scope_name(unsigned scope)
{
	return scope == WAMD_SCOPE_READ ? "read" : scope == WAMD_SCOPE_WRITE ? "write" : scope == WAMD_SCOPE_MANAGE ? "manage" : "admin";
}

/* GET /docs: the API description. Until an OpenAPI document exists, the
 * route table itself (what this build really serves), as JSON. */
static void h_docs(struct wamd_conn *c, struct wamd_tenant *unused, json_t *body)
{
	(void)unused;
	(void)body;
	json_t *arr = json_array();
	json_array_append_new(arr, json_pack("{s:s, s:s, s:s}", "method", "GET", "path", "/", "scope", "none"));
	for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		char ml[40], path[128];
		snprintf(path, sizeof path, "%s%s", routes[i].prefix, routes[i].has_instance ? "/{instance}" : "");
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s}", "method", method_list(routes[i].methods, ml, sizeof ml),
						     "path", path, "scope", scope_name(routes[i].scope)));
	}
	json_array_append_new(arr, json_pack("{s:s, s:s, s:s}", "method", "GET (WebSocket upgrade)", "path",
					     "/ws/events[?instance={instance}]", "scope", "read"));
	wamd_reply_json(c, 200, json_pack("{s:s, s:s, s:s, s:o}", "title", "wamd local API (Evolution API v2 compatible)",
					  "version", WAMD_EVOLUTION_VERSION "-compatible (wamd " WA_VERSION_STRING ")",
					  "description", "Routes, bodies and answers are Evolution API v2's; see docs/wamd.md. "
					  "Send the key in the apikey header.",
					  "routes", arr));
}

/* Edit distance of two short strings (a route typo), capped work. */
static size_t edit_distance(const char *a, size_t la, const char *b, size_t lb)
{
	size_t row[130];
	if (la > 128 || lb > 128)
		return (size_t)-1;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t prev = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cur = row[j];
			size_t best = prev + (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = cur;
		}
	}
	return row[lb];
}

/* The route closest to an unknown path ("GET /instance/connect/{instance}"). */
static void closest_route(const char *path, char *out, size_t cap)
{
	size_t best = (size_t)-1;
	out[0] = '\0';
	for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		size_t pl = strlen(path), rl = strlen(routes[i].prefix);
		/* compare with the instance segment cut off when the route has one */
		if (routes[i].has_instance) {
			const char *slash = strrchr(path, '/');
			if (slash && slash != path)
				pl = (size_t)(slash - path);
		}
		size_t dist = edit_distance(path, pl, routes[i].prefix, rl);
		if (dist < best) {
			best = dist;
			char ml[40];
			snprintf(out, cap, "%s %s%s", method_list(routes[i].methods, ml, sizeof ml), routes[i].prefix,
				 routes[i].has_instance ? "/{instance}" : "");
		}
	}
}

static const char *method_name(int m)
{
	switch (m) {
	case M_GET: return "GET";
	case M_POST: return "POST";
	case M_PUT: return "PUT";
	case M_DELETE: return "DELETE";
	case M_PATCH: return "PATCH";
	default: return "OPTIONS";
	}
}

/* Percent-decodes an instance name from the path. */
static bool decode_name(const char *s, char *out, size_t outlen)
{
	size_t k = 0;
	for (; *s; s++) {
		if (k + 1 >= outlen)
			return false;
		if (*s == '%' && isxdigit((unsigned char)s[1]) && isxdigit((unsigned char)s[2])) {
			char hx[3] = { s[1], s[2], 0 };
			out[k++] = (char)strtol(hx, NULL, 16);
			s += 2;
		} else if (*s == '/')
			return false;
		else
			out[k++] = *s;
	}
	out[k] = '\0';
	return k > 0;
}

void wamd_api_dispatch(struct wamd_conn *c)
{
	struct wamd *d = c->d;
	const char *path = c->path;
	c->t_dispatch_ns = wamd_mono_ns(); /* "API accepted" of the send latency */
	if (!strcmp(path, "/") || !strcmp(path, "")) {
		h_root(c, NULL, NULL);
		return;
	}
	if ((!strcmp(path, "/docs") || !strcmp(path, "/docs/")) && c->method == M_GET) {
		h_docs(c, NULL, NULL); /* no key, as Evolution's Swagger page */
		return;
	}
	const struct route *r = NULL;
	const char *rest = NULL;
	for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		size_t pl = strlen(routes[i].prefix);
		if (strncmp(path, routes[i].prefix, pl) != 0)
			continue;
		if (routes[i].has_instance ? path[pl] != '/' : (path[pl] != '\0' && strcmp(path + pl, "/") != 0))
			continue;
		r = &routes[i];
		rest = routes[i].has_instance ? path + pl + 1 : NULL;
		break;
	}
	if (!r || !(r->methods & c->method)) {
		char m[WAMD_MAX_URI + 32], near[200], hint[256];
		snprintf(m, sizeof m, "Cannot %s %s", method_name(c->method), path);
		/* Evolution's envelope; the second line names the closest route */
		closest_route(path, near, sizeof near);
		snprintf(hint, sizeof hint, "The closest route is %s (all routes: GET /docs)", near);
		wamd_reply_error(c, 404, json_pack("[s, s]", m, hint));
		return;
	}
	bool admin = c->trusted || wamd_auth_is_admin(d, c->apikey);
	struct wamd_tenant *t = NULL;
	if (r->has_instance) {
		char name[WA_STORE_NAME_MAX];
		if (!decode_name(rest, name, sizeof name)) {
			wamd_reply_error(c, admin ? 404 : 401,
					 admin ? json_pack("[s]", "The instance does not exist") : json_string("Unauthorized"));
			return;
		}
		t = wamd_tenant_find(d, name);
		if (!admin) {
			unsigned s = t ? wamd_auth_scopes(t, c->apikey) : 0;
			if (!s) {
				wamd_reply_error(c, 401, json_string("Unauthorized"));
				return;
			}
			if (!(s & r->scope)) {
				wamd_reply_error(c, 403, json_pack("[s]", "This token's scopes do not allow this route"));
				return;
			}
		}
		if (!t) {
			wamd_reply_error(c, 404, msg1("The \"%s\" instance does not exist", name));
			return;
		}
	} else if (!admin && r->scope == 0) {
		wamd_reply_error(c, 401, json_string("Unauthorized"));
		return;
	} else if (!admin && !c->apikey[0]) {
		wamd_reply_error(c, 401, json_string("Unauthorized"));
		return;
	}
	json_t *body = NULL;
	if (c->body_len) {
		json_error_t je;
		body = json_loadb(c->body, c->body_len, 0, &je);
		if (!body) {
			char m[256];
			snprintf(m, sizeof m, "invalid JSON body: %s", je.text);
			bad_request(c, m);
			return;
		}
	}
	if (!body)
		body = json_object();
	LOGD("api %s %s", method_name(c->method), r->prefix);
	r->fn(c, t, body);
	json_decref(body);
}
