/* Media retry (the exchange Baileys calls updateMediaMessage): a stored
 * message whose blob the media host no longer has (404/410) is asked for
 * again from our own phone, which uploads it under a new direct path. The
 * downloads of getBase64FromMediaMessage and GET /wamd/media go through
 * wa_session_download_media_retry, which does that on its own; POST
 * /wamd/mediaRetry/{instance} asks for it explicitly. Either way the new
 * directPath and url replace the stored ones, so the next download (and a
 * restart) uses them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wamd.h"
#include "wamd_routes.h"

/* The HTTP status for a download or media-retry error. */
int wamd_media_err_status(int err)
{
	switch (err) {
	case WA_ENOTFOUND:
	case WA_EMEDIA_GONE:
		return 404;
	case WA_ETIMEOUT:
		return 504;
	case WA_ESTATE:
	case WA_ECLOSED:
		return 503;
	default:
		return 502;
	}
}

/* The stored message's media replaced by message_json's (the same Message
 * with a new directPath and url), written back in place. */
static void store_updated(struct wamd *d, int64_t inst, const char *name, const char *id, bool from_me,
	const char *message_json)
{
	int status = 0;
	json_t *rec = wamd_stored_record(d, inst, id, from_me, &status), *msg = json_loads(message_json, 0, NULL);
	json_t *k = json_object_get(rec, "key");
	const char *jid = json_string_value(json_object_get(k, "remoteJid"));
	const char *type = json_string_value(json_object_get(rec, "messageType"));
	json_t *old = json_object_get(rec, "message");
	json_t *ts = json_object_get(rec, "messageTimestamp");
	char *s = NULL;
	if (json_is_object(msg) && json_is_object(old) && jid && type && json_is_object(json_object_get(msg, type))) {
		/* only the media object changes: the record keeps its own shape */
		json_object_set(old, type, json_object_get(msg, type));
		s = json_dumps(rec, JSON_COMPACT);
	}
	if (s) {
		wa_store_mrec r = { .key_id = id, .remote_jid = jid,
			.remote_lid = json_string_value(json_object_get(k, "remoteJidAlt")), .from_me = from_me,
			.message_type = type,
			.timestamp = json_is_string(ts) ? strtoll(json_string_value(ts), NULL, 10) : json_integer_value(ts),
			.status = status, .record = s, .record_len = strlen(s) };
		int rc = wa_store_msgrec_put(d->store, inst, &r);
		if (rc != 0)
			LOGW("instance %s: new direct path of %s not stored: %s", name, id, wa_errname(rc));
		else
			LOGI("instance %s: %s: the phone uploaded the media again; new direct path stored", name, id);
	} else {
		LOGW("instance %s: new direct path of %s not stored: the record is gone or not media", name, id);
	}
	free(s);
	json_decref(rec);
	json_decref(msg);
}

/* The key of a stored record as libwa takes it (pointers into rec). */
static bool key_of(json_t *rec, wa_msg_key *k)
{
	json_t *key = json_object_get(rec, "key");
	memset(k, 0, sizeof *k);
	k->id = json_string_value(json_object_get(key, "id"));
	k->remote_jid = json_string_value(json_object_get(key, "remoteJid"));
	k->from_me = json_is_true(json_object_get(key, "fromMe"));
	k->participant = json_string_value(json_object_get(key, "participant"));
	if (k->participant && !*k->participant)
		k->participant = NULL;
	return k->id && k->remote_jid;
}

struct dlr_wait {
	struct wamd *d;
	int64_t inst;
	char name[WA_STORE_NAME_MAX];
	char id[128];
	bool from_me;
	void (*done)(void *user, int err, uint64_t len);
	void *user;
};

static void dlr_done(wa_session *s, int err, uint64_t len, const char *message_json, void *user)
{
	(void)s;
	struct dlr_wait *w = user;
	if (message_json)
		store_updated(w->d, w->inst, w->name, w->id, w->from_me, message_json);
	w->done(w->user, err, len);
	free(w);
}

struct dl_wait {
	void (*done)(void *user, int err, uint64_t len);
	void *user;
};

static void dl_done(wa_session *s, int err, uint64_t len, void *user)
{
	(void)s;
	struct dl_wait *w = user;
	w->done(w->user, err, len);
	free(w);
}

int wamd_tenant_download_media(struct wamd_tenant *t, const char *message_json, const char *dest,
	void (*done)(void *user, int err, uint64_t len), void *user)
{
	if (!t->sess)
		return WA_ESTATE;
	struct dl_wait *w = malloc(sizeof *w);
	if (!w)
		return WA_ENOMEM;
	w->done = done;
	w->user = user;
	int rc = wa_session_download_media(t->sess, message_json, dest, dl_done, w);
	if (rc != 0)
		free(w);
	return rc;
}

int wamd_tenant_download_media_rec(struct wamd_tenant *t, json_t *rec, const char *dest,
	void (*done)(void *user, int err, uint64_t len), void *user)
{
	wa_msg_key k;
	if (!t->sess)
		return WA_ESTATE;
	if (!key_of(rec, &k) || strlen(k.id) >= sizeof ((struct dlr_wait *)0)->id)
		return WA_EINVAL;
	char *mj = json_dumps(json_object_get(rec, "message"), JSON_COMPACT);
	struct dlr_wait *w = calloc(1, sizeof *w);
	if (!mj || !w) {
		free(mj);
		free(w);
		return WA_ENOMEM;
	}
	w->d = t->d;
	w->inst = t->id;
	snprintf(w->name, sizeof w->name, "%s", t->name);
	snprintf(w->id, sizeof w->id, "%s", k.id);
	w->from_me = k.from_me;
	w->done = done;
	w->user = user;
	int rc = wa_session_download_media_retry(t->sess, &k, mj, dest, dlr_done, w);
	free(mj);
	if (rc != 0)
		free(w);
	return rc;
}

/* ---- POST /wamd/mediaRetry/{instance} {"key": {"id", "fromMe"?}} ---- */

struct rr_job {
	struct wamd_ticket *tk;
	struct dlr_wait w;
	char type[32];
};

static void rr_done(wa_session *s, int err, const char *message_json, void *user)
{
	(void)s;
	struct rr_job *j = user;
	struct wamd_conn *c = j->tk->c;
	free(j->tk);
	if (c)
		c->ticket = NULL;
	json_t *ans = NULL;
	if (err == 0 && message_json) {
		store_updated(j->w.d, j->w.inst, j->w.name, j->w.id, j->w.from_me, message_json);
		json_t *m = json_loads(message_json, 0, NULL);
		json_t *media = json_object_get(m, j->type);
		ans = json_pack("{s:s, s:b, s:s, s:O?, s:O?}", "id", j->w.id, "fromMe", j->w.from_me, "messageType",
				j->type, "directPath", json_object_get(media, "directPath"), "url",
				json_object_get(media, "url"));
		json_decref(m);
	}
	if (c) {
		if (ans)
			wamd_reply_json(c, 200, ans);
		else
			wamd_reply_error(c, wamd_media_err_status(err ? err : WA_ENOMEM),
					 json_pack("[s]", wa_strerror(err ? err : WA_ENOMEM)));
	} else {
		json_decref(ans);
	}
	free(j);
}

void wamd_h_media_retry(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	json_t *key = json_object_get(body, "key");
	const char *id = json_string_value(json_object_get(key, "id"));
	json_t *fm = json_object_get(key, "fromMe");
	if (!id || !*id || (fm && !json_is_boolean(fm))) {
		wamd_reply_error(c, 400, json_pack("[s]", "key.id is required (and key.fromMe, when given, a boolean)"));
		return;
	}
	json_t *rec = wamd_stored_record(c->d, t->id, id, fm ? json_is_true(fm) : -1, NULL);
	const char *type = json_string_value(json_object_get(rec, "messageType"));
	json_t *message = json_object_get(rec, "message");
	wa_msg_key k;
	if (!rec || !key_of(rec, &k)) {
		json_decref(rec);
		wamd_reply_error(c, 404, json_pack("[s]", "Message not found"));
		return;
	}
	if (!type || strlen(type) >= sizeof ((struct rr_job *)0)->type ||
	    !json_is_string(json_object_get(json_object_get(message, type), "mediaKey"))) {
		json_decref(rec);
		wamd_reply_error(c, 400, json_pack("[s]", "The message is not of the media type"));
		return;
	}
	if (!t->sess) {
		json_decref(rec);
		wamd_reply_error(c, 500, json_string("Connection Closed"));
		return;
	}
	struct rr_job *j = calloc(1, sizeof *j);
	struct wamd_ticket *tk = calloc(1, sizeof *tk);
	char *mj = json_dumps(message, JSON_COMPACT);
	int rc = j && tk && mj ? 0 : WA_ENOMEM;
	if (rc == 0) {
		j->tk = tk;
		j->w.d = t->d;
		j->w.inst = t->id;
		snprintf(j->w.name, sizeof j->w.name, "%s", t->name);
		snprintf(j->w.id, sizeof j->w.id, "%s", k.id);
		j->w.from_me = k.from_me;
		snprintf(j->type, sizeof j->type, "%s", type);
		tk->c = c;
		c->ticket = tk;
		rc = wa_session_media_retry(t->sess, &k, mj, rr_done, j);
		if (rc != 0)
			c->ticket = NULL;
	}
	free(mj);
	json_decref(rec);
	if (rc != 0) {
		free(j);
		free(tk);
		wamd_reply_error(c, rc == WA_ENOMEM ? 500 : wamd_media_err_status(rc),
				 json_pack("[s]", rc == WA_ESTATE ? "Connection Closed" : wa_strerror(rc)));
	}
}
