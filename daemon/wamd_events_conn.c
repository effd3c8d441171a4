/* Connection events of a session (state, QR, pairing code, paired, logged
 * out) as tenant state and Evolution's CONNECTION_UPDATE, QRCODE_UPDATED
 * and LOGOUT_INSTANCE payloads; the waiting requests are told of each. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wamd.h"
#include "wamd_cluster.h"
#include "wamd_events.h"

static int reason_code(enum wa_disconnect_reason r)
{
	switch (r) {
	case WA_DISC_NONE:
	case WA_DISC_BY_USER:
		return 200;
	case WA_DISC_NETWORK:
	case WA_DISC_PROXY: /* Baileys has no code of its own for it: closed */
		return 428;
	case WA_DISC_TIMEOUT:
		return 408;
	case WA_DISC_RESTART_REQUIRED:
		return 515;
	case WA_DISC_REPLACED:
		return 440;
	case WA_DISC_LOGGED_OUT:
		return 401;
	case WA_DISC_SERVER_ERROR:
		return 503;
	case WA_DISC_HANDSHAKE_FAILED:
		return 500;
	case WA_DISC_CLIENT_OUTDATED: /* the login failure code itself */
		return 405;
	}
	return 500;
}

json_t *wamd_tenant_reason_json(const struct wamd_tenant *t)
{
	if (!t->conn_error)
		return json_null();
	return json_pack("{s:s, s:b}", "message", t->conn_error, "retrying", !t->conn_error_final);
}

void wamd_on_state(struct wamd_tenant *t, enum wa_conn_state st, enum wa_disconnect_reason r,
		   const char *detail)
{
	const char *before = wamd_tenant_state_str(t);
	t->state = st;
	const char *after = wamd_tenant_state_str(t);
	if (st != WA_CONN_READY && r != WA_DISC_NONE)
		t->status_reason = reason_code(r);
	LOGI("instance %s: state %s", t->name, wamd_conn_state_name(st));
	if (detail && *detail && r == WA_DISC_CLIENT_OUTDATED) {
		/* libwa says what failed; the daemon says which of its settings to change */
		char msg[1024];
		const char *semi = strchr(detail, ';');
		snprintf(msg, sizeof msg,
			 "%.*s; set wa_version (or CONFIG_SESSION_PHONE_VERSION), or this instance's waVersion "
			 "setting, to the current WhatsApp Web version and restart the instance, or turn on "
			 "wa_version_fetch", semi ? (int)(semi - detail) : (int)strlen(detail), detail);
		wamd_tenant_set_str(&t->conn_error, msg);
		t->conn_error_final = true;
		LOGE("instance %s: %s; not retrying until the instance is restarted", t->name, msg);
	} else if (detail && *detail) {
		wamd_tenant_set_str(&t->conn_error, detail);
		t->conn_error_final = st != WA_CONN_BACKOFF;
		if (t->conn_error_final)
			LOGE("instance %s: %s; not retrying until the instance is restarted", t->name, detail);
		else
			LOGW("instance %s: %s; retrying with backoff", t->name, detail);
	} else if (st == WA_CONN_READY || st == WA_CONN_PAIRING || st == WA_CONN_LOGGED_OUT ||
		   (st == WA_CONN_DISCONNECTED && r == WA_DISC_BY_USER)) {
		free(t->conn_error);
		t->conn_error = NULL;
	}
	if (strcmp(before, after) != 0) {
		wamd_cluster_note_state(t, after);
		json_t *data = json_pack("{s:s, s:s}", "instance", t->name, "state", after);
		if (!strcmp(after, "open")) {
			json_object_set_new(data, "wuid", t->own_jid ? json_string(t->own_jid) : json_null());
			json_object_set_new(data, "profileName",
					    t->profile_name ? json_string(t->profile_name) : json_null());
			json_object_set_new(data, "profilePictureUrl", json_null());
			json_object_set_new(data, "statusReason", json_integer(200));
			free(t->qr);
			t->qr = NULL;
			t->qr_count = 0;
		} else {
			json_object_set_new(data, "statusReason",
					    json_integer(!strcmp(after, "close") ? t->status_reason ? t->status_reason : 428 : 200));
			json_object_set_new(data, "wamdReason", wamd_tenant_reason_json(t));
		}
		json_object_set_new(t->doc, "connectionStatus", json_string(after));
		if (wamd_tenant_save(t) != 0)
			LOGW("instance %s: state not persisted", t->name);
		wamd_emit(t, "CONNECTION_UPDATE", data);
	}
	wamd_waiters_changed(t);
}

static json_t *qr_data(struct wamd_tenant *t)
{
	json_t *q = json_object();
	json_object_set_new(q, "instance", json_string(t->name));
	json_object_set_new(q, "pairingCode", t->pairing_code ? json_string(t->pairing_code) : json_null());
	if (t->qr) {
		json_object_set_new(q, "code", json_string(t->qr));
		char *png = wamd_qr_png_data_uri(t->qr);
		json_object_set_new(q, "base64", png ? json_string(png) : json_null());
		free(png);
	}
	return json_pack("{s:o}", "qrcode", q);
}

/* Out of the session's own callback: stopping frees the session. */
static void qr_limit_stop(lws_sorted_usec_list_t *sul)
{
	struct wamd_tenant *t = lws_container_of(sul, struct wamd_tenant, qr_limit_sul);
	LOGW("instance %s: QR code limit (%ld) reached without a scan; stopped (connect again for new codes)",
	     t->name, t->d->cfg.qrcode_limit);
	wamd_tenant_stop(t);
	free(t->qr);
	t->qr = NULL;
	wamd_waiters_changed(t);
}

void wamd_on_qr(struct wamd_tenant *t, const char *qr, unsigned index, unsigned timeout_s)
{
	/* Evolution's QRCODE_LIMIT: after that many codes, stop instead of showing more */
	if (t->d->cfg.qrcode_limit > 0 && index >= (unsigned long)t->d->cfg.qrcode_limit) {
		if (t->d->ctx)
			lws_sul_schedule(t->d->ctx, 0, &t->qr_limit_sul, qr_limit_stop, 1);
		return;
	}
	wamd_tenant_set_str(&t->qr, qr);
	t->qr_expires_ms = timeout_s ? wamd_now_ms() + (int64_t)timeout_s * 1000 : 0;
	t->qr_count = index + 1;
	wamd_emit(t, "QRCODE_UPDATED", qr_data(t));
	wamd_waiters_changed(t);
}

void wamd_on_pairing_code(struct wamd_tenant *t, const char *code)
{
	char c[32];
	size_t k = 0;
	for (const char *p = code; *p && k + 1 < sizeof c; p++)
		if (*p != '-')
			c[k++] = *p;
	c[k] = '\0';
	wamd_tenant_set_str(&t->pairing_code, c);
	wamd_emit(t, "QRCODE_UPDATED", qr_data(t));
	wamd_waiters_changed(t);
}

void wamd_on_paired(struct wamd_tenant *t, const char *jid, const char *lid, const char *push_name)
{
	/* own JID without the device part */
	char user[WA_STORE_JID_MAX];
	if (jid && strlen(jid) < sizeof user) {
		strcpy(user, jid);
		char *colon = strchr(user, ':'), *at = strchr(jid, '@');
		if (colon && at)
			strcpy(colon, at);
		wamd_tenant_set_str(&t->own_jid, user);
	}
	wamd_tenant_set_str(&t->own_lid, lid);
	if (push_name)
		wamd_tenant_set_str(&t->profile_name, push_name);
	json_object_set_new(t->doc, "ownerJid", t->own_jid ? json_string(t->own_jid) : json_null());
	json_object_set_new(t->doc, "profileName", t->profile_name ? json_string(t->profile_name) : json_null());
	if (wamd_tenant_save(t) != 0)
		LOGW("instance %s: owner not persisted", t->name);
	wamd_tenant_set_str(&t->pairing_code, NULL);
}

void wamd_on_logged_out(struct wamd_tenant *t)
{
	char ts[32];
	wamd_iso_time(wamd_now_ms(), ts);
	t->status_reason = 401;
	wamd_emit(t, "STATUS_INSTANCE",
		  json_pack("{s:s, s:s, s:s, s:i, s:n}", "instance", t->name, "status", "closed", "disconnectionAt",
			    ts, "disconnectionReasonCode", 401, "disconnectionObject"));
	wamd_tenant_set_str(&t->own_jid, NULL);
	json_object_set_new(t->doc, "ownerJid", json_null());
	if (wamd_tenant_save(t) != 0)
		LOGW("instance %s: logout not persisted", t->name);
	/* whoever watched the account's events watches no other account's;
	 * on delete the streams still get the delete events, then close */
	if (!t->deleting)
		wamd_stream_recheck(t, true, "instance logged out");
}
