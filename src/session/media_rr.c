/* The media-retry exchange on a live session (messaging.md §7): the
 * server-error receipt goes out (media_retry.c builds it), a waiter keyed
 * by the message id holds the media key until the phone's mediaretry
 * notification comes (or WA_MEDIA_RR_WAIT_MS passes), and the answer is
 * decrypted and mapped to an error. wa_session_download_media_retry puts
 * it between a download that found the blob gone (404/410) and one more
 * download from the new direct path. Nothing here waits on the loop: each
 * step is a callback. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto/crypto.h"
#include "session/media.h"
#include "session/media_retry.h"
#include "transport/ws.h"
#include "util/codec.h"
#include "util/log.h"
#include "util/seams.h"

#define MOD "media"
/* How long the phone has to upload again and answer. Baileys waits
 * without bound; a CRM's request should not. */
#define WA_MEDIA_RR_WAIT_MS 30000u

typedef struct wa_media_rr {
	struct wa_media_rr *next;
	wa_session *s;
	char id[WA_MEDIA_RETRY_ID_MAX];
	uint8_t media_key[32];
	char *message_json; /* the Message the request is about */
	void *timer;
	wa_media_retry_fn done;
	void *user;
} rr_job;

static void rr_free(rr_job *r)
{
	if (r->timer)
		r->s->drv->timer_free(r->timer);
	wa_memzero(r->media_key, sizeof r->media_key);
	free(r->message_json);
	free(r);
}

static void rr_unlink(rr_job *r)
{
	struct wa_media_state *ms = r->s->msg->media;
	for (rr_job **pp = &ms->rrs; *pp; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			return;
		}
}

static void rr_end(rr_job *r, int err, const char *message_json)
{
	wa_session *s = r->s;
	wa_media_retry_fn done = r->done;
	void *user = r->user;
	rr_unlink(r);
	rr_free(r);
	done(s, err, message_json, user);
}

static void on_rr_timer(void *user)
{
	rr_job *r = user;
	WA_DEBUG(MOD, "[%lld] media retry %s: the phone did not answer in %u s", (long long)r->s->instance_id,
		r->id, WA_MEDIA_RR_WAIT_MS / 1000);
	rr_end(r, WA_ETIMEOUT, NULL);
}

/* The media object of a Message (the first of the five kinds) and its
 * content name; NULL when there is none. */
static json_t *media_obj(json_t *root, const char **name)
{
	for (int k = 0; root && k < WA_MEDIA_KINDS; k++) {
		json_t *m = json_object_get(root, wa_media_kind_json[k]);
		if (json_is_object(m)) {
			*name = wa_media_kind_json[k];
			return m;
		}
	}
	return NULL;
}

static bool media_key_of(json_t *m, uint8_t out[32])
{
	const char *v = json_string_value(json_object_get(m, "mediaKey"));
	uint8_t *b = NULL;
	size_t n = 0;
	if (!v || wa_b64_decode(v, strlen(v), &b, &n) != 0)
		return false;
	bool ok = n == 32;
	if (ok)
		memcpy(out, b, 32);
	wa_memzero(b, n);
	free(b);
	return ok;
}

/* The Message with its media's directPath set to dp and its url to the same
 * path on the url's host (Baileys points it at mmg.whatsapp.net; keeping
 * the host keeps the download on the media host the message came from). */
static char *with_direct_path(const char *message_json, const char *dp)
{
	json_t *root = json_loads(message_json, 0, NULL);
	const char *name = NULL;
	json_t *m = media_obj(root, &name);
	char *out = NULL;
	if (m) {
		const char *url = json_string_value(json_object_get(m, "url"));
		char host[256] = "mmg.whatsapp.net";
		if (url && strncasecmp(url, "https://", 8) == 0) {
			size_t hl = strcspn(url + 8, "/?#");
			if (hl && hl < sizeof host)
				snprintf(host, sizeof host, "%.*s", (int)hl, url + 8);
		}
		size_t ul = 8 + strlen(host) + strlen(dp) + 1;
		char *nu = malloc(ul);
		if (nu) {
			snprintf(nu, ul, "https://%s%s", host, dp);
			/* both or nothing: a stale path must not pass for the new one */
			if (json_object_set_new(m, "directPath", json_string(dp)) == 0 &&
			    json_object_set_new(m, "url", json_string(nu)) == 0)
				out = json_dumps(root, JSON_COMPACT);
			free(nu);
		}
	}
	json_decref(root);
	return out;
}

static int result_err(const wa_media_retry_answer *a)
{
	int code = a->has_error ? a->error_code : a->result;
	switch (code) {
	case WA_MEDIA_RETRY_SUCCESS:
		return a->has_error ? WA_EMEDIA_RETRY : 0;
	case WA_MEDIA_RETRY_NOT_FOUND:
		return WA_EMEDIA_GONE;
	case WA_MEDIA_RETRY_DECRYPTION_ERROR:
		return WA_EMEDIA_RETRY_KEY;
	default:
		return WA_EMEDIA_RETRY;
	}
}

int wa_media_rr_handle_notification(wa_session *s, const wa_node *n)
{
	const char *id = wa_media_retry_answer_id(n);
	struct wa_media_state *ms = s->msg ? s->msg->media : NULL;
	rr_job *r = NULL;
	for (r = ms && id ? ms->rrs : NULL; r; r = r->next)
		if (strcmp(r->id, id) == 0)
			break;
	int arc = wa_session_send_ack(s, n);
	if (arc != 0)
		WA_DEBUG(MOD, "mediaretry ack not sent: %s", wa_errname(arc));
	if (!r) {
		WA_DEBUG(MOD, "[%lld] mediaretry for %s: no request waits for it", (long long)s->instance_id,
			id ? id : "-");
		return 0;
	}
	wa_media_retry_answer a;
	int rc = wa_media_retry_answer_open(n, r->media_key, &a);
	if (rc == WA_ECRYPTO) {
		/* not sealed under this message's media key: forged or altered */
		WA_DEBUG(MOD, "[%lld] media retry %s: the answer does not authenticate", (long long)s->instance_id, id);
		rc = WA_EMEDIA_MAC;
	} else if (rc == 0) {
		rc = result_err(&a);
	}
	if (rc != 0) {
		WA_DEBUG(MOD, "[%lld] media retry %s: %s", (long long)s->instance_id, id, wa_errname(rc));
		rr_end(r, rc, NULL);
		return 0;
	}
	char *mj = with_direct_path(r->message_json, a.direct_path);
	rr_end(r, mj ? 0 : WA_ENOMEM, mj);
	free(mj);
	return 0;
}

int wa_session_media_retry(wa_session *s, const wa_msg_key *key, const char *message_json, wa_media_retry_fn done,
	void *user)
{
	if (!s || !key || !key->id || !key->remote_jid || !message_json || !done)
		return WA_EINVAL;
	if (strlen(key->id) >= WA_MEDIA_RETRY_ID_MAX)
		return WA_EINVAL;
	struct wa_media_state *ms = wa_media_state_of(s);
	if (!ms)
		return WA_ENOMEM;
	char me[WA_STORE_JID_MAX];
	const char *mj = wa_session_me_jid(s);
	if (!mj || !wa_msg_user_of(mj, me, NULL))
		return WA_ESTATE;
	json_t *root = json_loads(message_json, 0, NULL);
	const char *name = NULL;
	json_t *m = media_obj(root, &name);
	uint8_t mk[32];
	bool have_key = m && media_key_of(m, mk);
	json_decref(root);
	if (!have_key)
		return WA_EINVAL;
	rr_job *r = calloc(1, sizeof *r);
	if (!r) {
		wa_memzero(mk, sizeof mk);
		return WA_ENOMEM;
	}
	r->s = s;
	r->done = done;
	r->user = user;
	memcpy(r->media_key, mk, 32);
	wa_memzero(mk, sizeof mk);
	snprintf(r->id, sizeof r->id, "%s", key->id);
	wa_media_retry_key k = {
		.id = key->id, .chat = key->remote_jid, .from_me = key->from_me, .participant = key->participant,
	};
	uint8_t iv[WA_MEDIA_RETRY_IV_LEN];
	wa_rand_bytes(iv, sizeof iv);
	wa_node *rq = NULL;
	int rc = (r->message_json = strdup(message_json)) ? 0 : WA_ENOMEM;
	if (rc == 0)
		rc = s->drv->timer_new(s->drv_ctx, on_rr_timer, r, &r->timer);
	if (rc == 0)
		rc = wa_media_retry_request(&rq, &k, me, r->media_key, iv);
	if (rc == 0)
		rc = wa_conn_send_node(s, rq);
	wa_node_free(rq);
	if (rc != 0) {
		rr_free(r);
		return rc;
	}
	s->drv->timer_set(r->timer, WA_MEDIA_RR_WAIT_MS);
	r->next = ms->rrs;
	ms->rrs = r;
	WA_DEBUG(MOD, "[%lld] media retry %s: asked the phone to upload again", (long long)s->instance_id, key->id);
	return 0;
}

void wa_media_retries_end(wa_session *s)
{
	struct wa_media_state *ms = s->msg ? s->msg->media : NULL;
	while (ms && ms->rrs)
		rr_end(ms->rrs, WA_ECLOSED, NULL);
}

/* ---- download, media retry on 404/410, download once more ---- */

typedef struct {
	wa_download_retry_fn done;
	void *user;
	char *dest;
	char *message_json;  /* as given, then as updated */
	bool updated;
	char id[WA_MEDIA_RETRY_ID_MAX], chat[WA_STORE_JID_MAX], participant[WA_STORE_JID_MAX];
	bool from_me, has_participant;
} dlr_job;

static void dlr_end(wa_session *s, dlr_job *j, int err, uint64_t len)
{
	j->done(s, err, len, j->updated ? j->message_json : NULL, j->user);
	free(j->dest);
	free(j->message_json);
	free(j);
}

static void on_dl_again(wa_session *s, int err, uint64_t len, void *user)
{
	dlr_end(s, user, err, len);
}

static void on_rr(wa_session *s, int err, const char *message_json, void *user)
{
	dlr_job *j = user;
	if (err) {
		dlr_end(s, j, err, 0);
		return;
	}
	char *mj = strdup(message_json);
	if (!mj) {
		dlr_end(s, j, WA_ENOMEM, 0);
		return;
	}
	free(j->message_json);
	j->message_json = mj;
	j->updated = true;
	int rc = wa_session_download_media(s, j->message_json, j->dest, on_dl_again, j);
	if (rc)
		dlr_end(s, j, rc, 0);
}

static void on_dl_first(wa_session *s, int err, uint64_t len, void *user)
{
	dlr_job *j = user;
	if (err != WA_ENOTFOUND) {
		dlr_end(s, j, err, len);
		return;
	}
	WA_DEBUG(MOD, "[%lld] %s: the blob is gone from the media host", (long long)s->instance_id, j->id);
	wa_msg_key k = {
		.remote_jid = j->chat, .from_me = j->from_me, .id = j->id,
		.participant = j->has_participant ? j->participant : NULL,
	};
	int rc = wa_session_media_retry(s, &k, j->message_json, on_rr, j);
	if (rc)
		dlr_end(s, j, rc, 0);
}

int wa_session_download_media_retry(wa_session *s, const wa_msg_key *key, const char *message_json,
	const char *dest_path, wa_download_retry_fn done, void *user)
{
	if (!s || !key || !key->id || !key->remote_jid || !message_json || !dest_path || !done ||
	    strlen(key->id) >= WA_MEDIA_RETRY_ID_MAX || strlen(key->remote_jid) >= WA_STORE_JID_MAX ||
	    (key->participant && strlen(key->participant) >= WA_STORE_JID_MAX))
		return WA_EINVAL;
	dlr_job *j = calloc(1, sizeof *j);
	if (!j)
		return WA_ENOMEM;
	j->done = done;
	j->user = user;
	snprintf(j->id, sizeof j->id, "%s", key->id);
	snprintf(j->chat, sizeof j->chat, "%s", key->remote_jid);
	j->from_me = key->from_me;
	if (key->participant && *key->participant) {
		snprintf(j->participant, sizeof j->participant, "%s", key->participant);
		j->has_participant = true;
	}
	int rc = (j->dest = strdup(dest_path)) && (j->message_json = strdup(message_json)) ? 0 : WA_ENOMEM;
	if (rc == 0)
		rc = wa_session_download_media(s, j->message_json, j->dest, on_dl_first, j);
	if (rc) {
		free(j->dest);
		free(j->message_json);
		free(j);
	}
	return rc;
}
