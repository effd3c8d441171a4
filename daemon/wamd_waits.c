/* Requests that wait for an instance to change: GET /instance/connect and
 * POST /instance/create with qrcode wait for the first QR, a pairing code,
 * READY or a failed attempt (or their timeout), then answer. Told of every
 * change through wamd_api_tenant_changed (the waiters sink). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wamd_routes.h"

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
	wamd_reply_unhold(c);
	wait_end(c);
	struct wamd_ticket *tk = c->ticket;
	if (tk) {
		tk->c = NULL;
		c->ticket = NULL;
		if (tk->gone)
			tk->gone(tk); /* may free tk */
	}
}

json_t *wamd_qr_object(struct wamd_tenant *t)
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
json_t *wamd_state_object(struct wamd_tenant *t)
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
		json_object_set_new(ctx, "qrcode", t->qr || t->pairing_code ? wamd_qr_object(t) : json_pack("{s:i}", "count", 0));
		json_object_set_new(json_object_get(ctx, "instance"), "status", json_string(wamd_tenant_state_str(t)));
		wamd_reply_json(c, 201, json_incref(ctx));
	} else if (!strcmp(wamd_tenant_state_str(t), "open")) {
		wamd_reply_json(c, 200, wamd_state_object(t));
	} else {
		wamd_reply_json(c, 200, wamd_qr_object(t));
	}
	json_decref(ctx);
}

static void wait_timeout_cb(lws_sorted_usec_list_t *sul)
{
	struct wamd_conn *c = lws_container_of(sul, struct wamd_conn, wait_sul);
	wait_answer(c);
}

void wamd_wait_start(struct wamd_conn *c, struct wamd_tenant *t, int kind, json_t *ctx, int ms)
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
