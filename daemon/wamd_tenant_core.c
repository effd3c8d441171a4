/* Tenants: the in-memory registry of instances, their persisted metadata
 * document, and the translation of session events into Evolution's webhook
 * payloads and message records. The session engine itself is reached only
 * through tenant.c. */
#include <stdlib.h>
#include <string.h>

#include "wamd.h"

static char *dupn(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = dupn(v);
}

struct wamd_tenant *wamd_tenant_find(struct wamd *d, const char *name)
{
	for (struct wamd_tenant *t = d->tenants; t; t = t->next)
		if (!t->removed && !strcmp(t->name, name))
			return t;
	return NULL;
}

static bool unhex(const char *hx, uint8_t *out, size_t n)
{
	if (!hx || strlen(hx) != 2 * n)
		return false;
	for (size_t j = 0; j < n; j++) {
		unsigned b;
		if (sscanf(hx + 2 * j, "%2x", &b) != 1)
			return false;
		out[j] = (uint8_t)b;
	}
	return true;
}

void wamd_tenant_reload_tokens(struct wamd_tenant *t)
{
	t->n_tokens = 0;
	json_t *arr = json_object_get(t->doc, "tokens");
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		if (t->n_tokens >= WAMD_TOKEN_MAX)
			break;
		struct wamd_token *k = &t->tokens[t->n_tokens];
		if (!unhex(json_string_value(json_object_get(v, "sha256")), k->sha256, 32))
			continue;
		/* rows stored before salts have none: plain SHA-256 */
		json_t *salt = json_object_get(v, "salt");
		k->salt_len = 0;
		if (salt) {
			if (!unhex(json_string_value(salt), k->salt, WAMD_TOKEN_SALT))
				continue;
			k->salt_len = WAMD_TOKEN_SALT;
		}
		k->scopes = wamd_scopes_parse(json_object_get(v, "scopes"));
		if (k->scopes)
			t->n_tokens++;
	}
}

int wamd_tenant_save(struct wamd_tenant *t)
{
	char ts[32];
	wamd_iso_time(wamd_now_ms(), ts);
	json_object_set_new(t->doc, "updatedAt", json_string(ts));
	char *s = json_dumps(t->doc, JSON_COMPACT);
	if (!s)
		return WA_ENOMEM;
	int rc = wa_store_meta_put(t->d->store, t->id, s, strlen(s));
	explicit_bzero(s, strlen(s));
	free(s);
	if (rc != 0)
		LOGE("instance %s: saving metadata failed: %s", t->name, wa_errname(rc));
	return rc;
}

static struct wamd_tenant *tenant_alloc(struct wamd *d, int64_t id, const char *name, json_t *doc)
{
	struct wamd_tenant *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->d = d;
	t->id = id;
	snprintf(t->name, sizeof t->name, "%s", name);
	t->doc = doc;
	t->state = WA_CONN_DISCONNECTED;
	for (int i = 0; i < WAMD_TARGETS; i++) {
		t->lanes[i].t = t;
		t->lanes[i].target = i;
	}
	const char *oj = json_string_value(json_object_get(doc, "ownerJid"));
	t->own_jid = dupn(oj);
	t->profile_name = dupn(json_string_value(json_object_get(doc, "profileName")));
	wamd_tenant_reload_tokens(t);
	/* append: keeps list order = creation order */
	struct wamd_tenant **pp = &d->tenants;
	while (*pp)
		pp = &(*pp)->next;
	*pp = t;
	return t;
}

int wamd_tenant_load_all(struct wamd *d)
{
	wa_store_instance_info *list = NULL;
	size_t n = 0;
	int rc = wa_store_instance_list(d->store, &list, &n);
	if (rc != 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		char *doc = NULL;
		size_t len = 0;
		json_t *j = NULL;
		rc = wa_store_meta_get(d->store, list[i].id, &doc, &len);
		if (rc == 0) {
			j = json_loadb(doc, len, 0, NULL);
			wa_store_free(doc, len);
		}
		if (!j || !json_is_object(j)) {
			/* an instance created by another tool: give it a document */
			json_decref(j);
			j = json_object();
			char u[37];
			if (wamd_random_uuid(u) == 0)
				json_object_set_new(j, "id", json_string(u));
			json_object_set_new(j, "integration", json_string("WHATSAPP-BAILEYS"));
			json_object_set_new(j, "tokens", json_array());
		}
		struct wamd_tenant *t = tenant_alloc(d, list[i].id, list[i].name, j);
		if (!t) {
			json_decref(j);
			free(list);
			return WA_ENOMEM;
		}
	}
	free(list);
	return 0;
}

int wamd_tenant_create(struct wamd *d, const char *name, json_t *doc, struct wamd_tenant **out)
{
	int64_t id;
	int rc = wa_store_begin(d->store);
	if (rc != 0)
		return rc;
	rc = wa_store_instance_create(d->store, name, &id);
	if (rc == 0) {
		char *s = json_dumps(doc, JSON_COMPACT);
		rc = s ? wa_store_meta_put(d->store, id, s, strlen(s)) : WA_ENOMEM;
		if (s) {
			explicit_bzero(s, strlen(s));
			free(s);
		}
	}
	if (rc != 0) {
		wa_store_rollback(d->store);
		return rc;
	}
	rc = wa_store_commit(d->store);
	if (rc != 0)
		return rc;
	struct wamd_tenant *t = tenant_alloc(d, id, name, json_incref(doc));
	if (!t) {
		json_decref(doc);
		return WA_ENOMEM;
	}
	*out = t;
	return 0;
}

static void tenant_free(struct wamd_tenant *t)
{
	for (int i = 0; i < WAMD_TARGETS; i++)
		wamd_webhook_lane_cancel(&t->lanes[i]);
	json_decref(t->doc);
	free(t->qr);
	free(t->pairing_code);
	free(t->own_jid);
	free(t->own_lid);
	free(t->profile_name);
	free(t->pending_phone);
	free(t->conn_error);
	lws_sul_cancel(&t->qr_limit_sul);
	wamd_lat_tenant_free(t);
	free(t);
}

void wamd_tenant_remove(struct wamd_tenant *t)
{
	struct wamd *d = t->d;
	wamd_tenant_stop(t);
	int rc = wa_store_instance_delete(d->store, t->id);
	if (rc != 0)
		LOGE("instance %s: delete from store failed: %s", t->name, wa_errname(rc));
	for (struct wamd_tenant **pp = &d->tenants; *pp; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	t->removed = true;
	wamd_ws_recheck(t, true, "instance deleted");
	wamd_api_tenant_changed(t);
	tenant_free(t);
}

void wamd_tenants_free(struct wamd *d)
{
	while (d->tenants) {
		struct wamd_tenant *t = d->tenants;
		d->tenants = t->next;
		wamd_tenant_stop(t);
		tenant_free(t);
	}
}

const char *wamd_tenant_state_str(const struct wamd_tenant *t)
{
	switch (t->state) {
	case WA_CONN_READY:
		return "open";
	case WA_CONN_WAITING:
	case WA_CONN_CONNECTING:
	case WA_CONN_HANDSHAKING:
	case WA_CONN_PAIRING:
	case WA_CONN_AUTHENTICATING:
		return "connecting";
	default:
		return "close";
	}
}

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

const char *wamd_tenant_wa_version(const struct wamd_tenant *t)
{
	const char *v = json_string_value(json_object_get(json_object_get(t->doc, "settings"), "waVersion"));
	if (v && *v)
		return v;
	if (t->d->fetched_wa_version[0])
		return t->d->fetched_wa_version;
	return t->d->cfg.wa_version && *t->d->cfg.wa_version ? t->d->cfg.wa_version : NULL;
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
		set_str(&t->conn_error, msg);
		t->conn_error_final = true;
		LOGE("instance %s: %s; not retrying until the instance is restarted", t->name, msg);
	} else if (detail && *detail) {
		set_str(&t->conn_error, detail);
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
	wamd_api_tenant_changed(t);
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
	wamd_api_tenant_changed(t);
}

void wamd_on_qr(struct wamd_tenant *t, const char *qr, unsigned index, unsigned timeout_s)
{
	/* Evolution's QRCODE_LIMIT: after that many codes, stop instead of showing more */
	if (t->d->cfg.qrcode_limit > 0 && index >= (unsigned long)t->d->cfg.qrcode_limit) {
		if (t->d->ctx)
			lws_sul_schedule(t->d->ctx, 0, &t->qr_limit_sul, qr_limit_stop, 1);
		return;
	}
	set_str(&t->qr, qr);
	t->qr_expires_ms = timeout_s ? wamd_now_ms() + (int64_t)timeout_s * 1000 : 0;
	t->qr_count = index + 1;
	wamd_emit(t, "QRCODE_UPDATED", qr_data(t));
	wamd_api_tenant_changed(t);
}

void wamd_on_pairing_code(struct wamd_tenant *t, const char *code)
{
	char c[32];
	size_t k = 0;
	for (const char *p = code; *p && k + 1 < sizeof c; p++)
		if (*p != '-')
			c[k++] = *p;
	c[k] = '\0';
	set_str(&t->pairing_code, c);
	wamd_emit(t, "QRCODE_UPDATED", qr_data(t));
	wamd_api_tenant_changed(t);
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
		set_str(&t->own_jid, user);
	}
	set_str(&t->own_lid, lid);
	if (push_name)
		set_str(&t->profile_name, push_name);
	json_object_set_new(t->doc, "ownerJid", t->own_jid ? json_string(t->own_jid) : json_null());
	json_object_set_new(t->doc, "profileName", t->profile_name ? json_string(t->profile_name) : json_null());
	if (wamd_tenant_save(t) != 0)
		LOGW("instance %s: owner not persisted", t->name);
	set_str(&t->pairing_code, NULL);
}

void wamd_on_logged_out(struct wamd_tenant *t)
{
	char ts[32];
	wamd_iso_time(wamd_now_ms(), ts);
	t->status_reason = 401;
	wamd_emit(t, "STATUS_INSTANCE",
		  json_pack("{s:s, s:s, s:s, s:i, s:n}", "instance", t->name, "status", "closed", "disconnectionAt",
			    ts, "disconnectionReasonCode", 401, "disconnectionObject"));
	set_str(&t->own_jid, NULL);
	json_object_set_new(t->doc, "ownerJid", json_null());
	if (wamd_tenant_save(t) != 0)
		LOGW("instance %s: logout not persisted", t->name);
	/* whoever watched the account's events watches no other account's;
	 * on delete the streams still get the delete events, then close */
	if (!t->deleting)
		wamd_ws_recheck(t, true, "instance logged out");
}

static const char *instance_uuid(struct wamd_tenant *t)
{
	const char *u = json_string_value(json_object_get(t->doc, "id"));
	return u ? u : "";
}

/* Evolution §9.3 normalization: extendedTextMessage reported as conversation,
 * documentWithCaptionMessage unwrapped; contextInfo lifted to the top. */
static json_t *normalize_message(json_t *msg, const char **type_io, json_t **ctx_out)
{
	*ctx_out = json_null();
	json_t *ext = json_object_get(msg, "extendedTextMessage");
	if (ext) {
		json_t *ci = json_object_get(ext, "contextInfo");
		if (ci) {
			json_decref(*ctx_out);
			*ctx_out = json_incref(ci);
		}
		json_t *text = json_object_get(ext, "text");
		json_object_set(msg, "conversation", text ? text : json_string(""));
		json_object_del(msg, "extendedTextMessage");
		*type_io = "conversation";
	}
	json_t *dwc = json_object_get(msg, "documentWithCaptionMessage");
	if (dwc) {
		json_t *inner = json_object_get(json_object_get(dwc, "message"), "documentMessage");
		if (inner)
			json_object_set(msg, "documentMessage", inner);
		json_object_del(msg, "documentWithCaptionMessage");
		*type_io = "documentMessage";
	}
	return msg;
}

static json_t *key_json(const wa_msg_key *key)
{
	json_t *k = json_object();
	const char *pn = key->remote_jid ? key->remote_jid : key->remote_lid;
	json_object_set_new(k, "remoteJid", json_string(pn ? pn : ""));
	if (key->remote_lid && key->remote_jid) {
		/* 2.3.4 behaviour: phone JID in remoteJid, the LID beside it */
		json_object_set_new(k, "remoteJidAlt", json_string(key->remote_lid));
		json_object_set_new(k, "previousRemoteJid", json_string(key->remote_lid));
	}
	json_object_set_new(k, "fromMe", json_boolean(key->from_me));
	json_object_set_new(k, "id", json_string(key->id ? key->id : ""));
	if (key->participant)
		json_object_set_new(k, "participant", json_string(key->participant));
	json_object_set_new(k, "addressingMode", json_string(key->remote_jid ? "pn" : "lid"));
	return k;
}

static void store_record(struct wamd_tenant *t, json_t *rec, const char *id, const char *jid, const char *lid,
			 bool from_me, const char *type, int64_t ts, int status)
{
	char *s = json_dumps(rec, JSON_COMPACT);
	if (!s)
		return;
	wa_store_mrec r = { .key_id = id, .remote_jid = jid, .remote_lid = lid, .from_me = from_me,
		.message_type = type, .timestamp = ts, .status = status, .record = s, .record_len = strlen(s) };
	int rc = wa_store_msgrec_put(t->d->store, t->id, &r);
	if (rc != 0)
		LOGW("instance %s: message record not stored: %s", t->name, wa_errname(rc));
	free(s);
}

void wamd_on_message(struct wamd_tenant *t, const wa_msg_key *key, const char *push_name, int64_t ts,
		     const char *type, const char *text, const char *message_json)
{
	json_t *msg = message_json ? json_loads(message_json, 0, NULL) : NULL;
	if (!msg || !json_is_object(msg)) {
		json_decref(msg);
		msg = json_object();
		if (text)
			json_object_set_new(msg, "conversation", json_string(text));
	}
	const char *mtype = type ? type : (text ? "conversation" : "unknown");
	json_t *ctx;
	normalize_message(msg, &mtype, &ctx);
	json_t *rec = json_object();
	json_object_set_new(rec, "key", key_json(key));
	json_object_set_new(rec, "pushName",
			    json_string(push_name ? push_name : key->from_me ? "Você" : ""));
	json_object_set_new(rec, "status", json_string(key->from_me ? "SERVER_ACK" : "DELIVERY_ACK"));
	json_object_set_new(rec, "message", msg);
	json_object_set_new(rec, "contextInfo", ctx);
	json_object_set_new(rec, "messageType", json_string(mtype));
	json_object_set_new(rec, "messageTimestamp", json_integer(ts));
	json_object_set_new(rec, "instanceId", json_string(instance_uuid(t)));
	json_object_set_new(rec, "source", json_string(wamd_source_of_id(key->id)));
	const char *jid = key->remote_jid ? key->remote_jid : key->remote_lid;
	if (jid && key->id)
		store_record(t, rec, key->id, jid, key->remote_lid, key->from_me, mtype, ts,
			     key->from_me ? WA_MSG_SENT : WA_MSG_DELIVERED);
	wamd_emit(t, "MESSAGES_UPSERT", rec);
}

json_t *wamd_sent_record(struct wamd_tenant *t, const char *jid, const char *id, const char *text, int64_t ts)
{
	json_t *rec = json_object();
	json_object_set_new(rec, "key", json_pack("{s:s, s:b, s:s}", "remoteJid", jid, "fromMe", 1, "id", id));
	json_object_set_new(rec, "pushName", json_string("Você"));
	json_object_set_new(rec, "status", json_string("PENDING"));
	json_object_set_new(rec, "message", json_pack("{s:s}", "conversation", text));
	bool group = strstr(jid, "@g.us") != NULL;
	json_object_set_new(rec, "contextInfo",
			    group ? json_null()
				  : json_pack("{s:[], s:[], s:{s:I, s:i, s:b}, s:{s:i}}", "mentionedJid", "groupMentions",
					      "ephemeralSettingTimestamp", "low", (json_int_t)ts, "high", 0, "unsigned", 0,
					      "disappearingMode", "initiator", 0));
	json_object_set_new(rec, "messageType", json_string("conversation"));
	json_object_set_new(rec, "messageTimestamp", json_integer(ts));
	json_object_set_new(rec, "instanceId", json_string(instance_uuid(t)));
	json_object_set_new(rec, "source", json_string(wamd_source_of_id(id)));
	store_record(t, rec, id, jid, NULL, true, "conversation", ts, WA_MSG_PENDING);
	return rec;
}

void wamd_on_status(struct wamd_tenant *t, const wa_msg_key *key, int status, int64_t ts, int error,
		    const char *reason)
{
	(void)ts;
	if (!key->id)
		return;
	int rc = wa_store_msgrec_status(t->d->store, t->id, key->id, key->from_me, status, NULL, NULL);
	if (rc != 0 && rc != WA_ENOTFOUND)
		LOGW("instance %s: status not stored: %s", t->name, wa_errname(rc));
	const char *jid = key->remote_jid ? key->remote_jid : key->remote_lid;
	json_t *data = json_object();
	json_object_set_new(data, "keyId", json_string(key->id));
	json_object_set_new(data, "remoteJid", json_string(jid ? jid : ""));
	if (key->remote_lid && key->remote_jid)
		json_object_set_new(data, "remoteJidAlt", json_string(key->remote_lid));
	json_object_set_new(data, "fromMe", json_boolean(key->from_me));
	json_object_set_new(data, "participant", json_string(key->participant ? key->participant : jid ? jid : ""));
	json_object_set_new(data, "status", json_string(wamd_status_name(status)));
	json_object_set_new(data, "instanceId", json_string(instance_uuid(t)));
	json_object_set_new(data, "messageId", json_string(key->id));
	/* Evolution's messages.update has no error detail; ours rides in one
	 * extra object that its integrations ignore (they read the fields
	 * above). */
	if (status == WA_MSG_ERROR && (error || reason))
		json_object_set_new(data, "wamdError",
				    json_pack("{s:o, s:o}", "error", error ? json_string(wa_errname(error)) : json_null(),
					      "reason", reason ? json_string(reason) : json_null()));
	wamd_emit(t, "MESSAGES_UPDATE", data);
}

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
			      instance_uuid(t));
	if (jid && lid)
		json_object_set_new(c, "lid", json_string(lid));
	wamd_emit(t, "CONTACTS_UPDATE", c);
}
