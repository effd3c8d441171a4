/* Media messages (messaging.md §7): media_conn and the upload that
 * precedes a media send.
 *
 * Send: wa_session_send_media persists the message PENDING with an outbox
 * row 'M' = 'M' kind(1) path_len(2, big-endian) path Message, where the
 * Message is the media message without its upload fields (url, directPath,
 * hashes, length) but with its mediaKey. The pump hands the row here:
 * media_conn (cached until its ttl), then pass 1 over the file (encrypt and
 * hash, WA_MEDIA_TICK bytes per loop turn, so the loop never stalls), then
 * the POST to /mms/<type>/<token> that encrypts the file again as the
 * socket takes it (CBC under the same key and iv gives the same blob).
 * When the host answers, one transaction turns the row into an ordinary
 * 'P' row with the complete Message and updates the stored message; the
 * file is removed and the pump seals and sends it like a text. A transient
 * failure (no media_conn, connection refused, 5xx, a 401 after which
 * media_conn is fetched again) holds the chat for the outbox's backoff,
 * trying the next host first; a restart finds the 'M' row and starts over.
 *
 * Downloads are media_dl.c's. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "media/cipher.h"
#include "message.pb-c.h"
#include "pb.h"
#include "session/iq.h"
#include "session/kinds.h"
#include "session/media.h"
#include "session/msgstate.h"
#include "transport/http.h"
#include "transport/ws.h"
#include "util/codec.h"
#include "util/log.h"

#define MOD "media"

typedef struct wa_media_up {
	wa_session *s;
	int64_t row;
	char id[WA_MSG_ID_MAX + 1];
	char chat[WA_STORE_JID_MAX];
	enum wa_media_kind kind;
	char *path;
	uint8_t *msg; /* the partial Message */
	size_t msg_len;
	wa_media_keys keys;
	int fd;
	wa_media_enc *enc;
	wa_media_result res;
	uint64_t done_bytes;
	void *timer;
	enum { UP_CONN, UP_HASH, UP_POST } phase;
	size_t host_i;
	bool iq_waiting;
	wa_http_req *http;
	char resp[WA_MEDIA_RESP_MAX + 1];
	size_t resp_len;
	bool resp_big;
	/* pass 2 output not yet handed to the socket */
	uint8_t *ob;
	size_t ob_len, ob_cap;
	bool enc_final;
} up_job;



const char *const wa_media_kind_json[WA_MEDIA_KINDS] = {
	[WA_MEDIA_KIND_IMAGE] = "imageMessage", [WA_MEDIA_KIND_VIDEO] = "videoMessage",
	[WA_MEDIA_KIND_AUDIO] = "audioMessage", [WA_MEDIA_KIND_DOCUMENT] = "documentMessage",
	[WA_MEDIA_KIND_STICKER] = "stickerMessage",
};
const enum wa_media_type wa_media_kind_keys[WA_MEDIA_KINDS] = {
	[WA_MEDIA_KIND_IMAGE] = WA_MEDIA_IMAGE, [WA_MEDIA_KIND_VIDEO] = WA_MEDIA_VIDEO,
	[WA_MEDIA_KIND_AUDIO] = WA_MEDIA_AUDIO, [WA_MEDIA_KIND_DOCUMENT] = WA_MEDIA_DOCUMENT,
	[WA_MEDIA_KIND_STICKER] = WA_MEDIA_IMAGE,
};
static const char *const kind_field[] = {
	[WA_MEDIA_KIND_IMAGE] = "image_message", [WA_MEDIA_KIND_VIDEO] = "video_message",
	[WA_MEDIA_KIND_AUDIO] = "audio_message", [WA_MEDIA_KIND_DOCUMENT] = "document_message",
	[WA_MEDIA_KIND_STICKER] = "sticker_message",
};
/* upload path type (stickers go to image, as Baileys' MEDIA_PATH_MAP) */
static const char *const kind_path[] = {
	[WA_MEDIA_KIND_IMAGE] = "image", [WA_MEDIA_KIND_VIDEO] = "video",
	[WA_MEDIA_KIND_AUDIO] = "audio", [WA_MEDIA_KIND_DOCUMENT] = "document",
	[WA_MEDIA_KIND_STICKER] = "image",
};
static const enum wa_msg_kind_id kind_row[] = {
	[WA_MEDIA_KIND_IMAGE] = WA_KIND_IMAGE, [WA_MEDIA_KIND_VIDEO] = WA_KIND_VIDEO,
	[WA_MEDIA_KIND_AUDIO] = WA_KIND_AUDIO, [WA_MEDIA_KIND_DOCUMENT] = WA_KIND_DOCUMENT,
	[WA_MEDIA_KIND_STICKER] = WA_KIND_STICKER,
};

uint64_t wa_media_kind_max_len(enum wa_media_kind kind)
{
	switch (kind) {
	case WA_MEDIA_KIND_IMAGE: return 16ull << 20;
	case WA_MEDIA_KIND_VIDEO: return 100ull << 20;
	case WA_MEDIA_KIND_AUDIO: return 16ull << 20;
	case WA_MEDIA_KIND_DOCUMENT: return 2ull << 30;
	case WA_MEDIA_KIND_STICKER: return 1ull << 20;
	}
	return 0;
}

struct wa_media_state *wa_media_state_of(wa_session *s)
{
	if (!s->msg)
		return NULL;
	if (!s->msg->media)
		s->msg->media = calloc(1, sizeof *s->msg->media);
	return s->msg->media;
}

int wa_media_read_some(int fd, uint8_t *buf, size_t cap, size_t *n)
{
	for (;;) {
		ssize_t r = read(fd, buf, cap);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return WA_EIO;
		*n = (size_t)r;
		return 0;
	}
}

const char *wa_media_upload_chat(const wa_msg_state *m)
{
	return m && m->media && m->media->up ? m->media->up->chat : NULL;
}

/* ---- protobuf fields by name (the five media messages share names) ---- */

static ProtobufCMessage *media_sub(Wa__Message *m, enum wa_media_kind kind)
{
	if (m->view_once_message && m->view_once_message->message)
		m = m->view_once_message->message; /* sent view once */
	const ProtobufCFieldDescriptor *f =
		protobuf_c_message_descriptor_get_field_by_name(&wa__message__descriptor, kind_field[kind]);
	return f ? *(ProtobufCMessage **)((char *)m + f->offset) : NULL;
}

static const ProtobufCFieldDescriptor *fd(const ProtobufCMessage *sub, const char *name)
{
	return protobuf_c_message_descriptor_get_field_by_name(sub->descriptor, name);
}

static int set_str(ProtobufCMessage *sub, const char *name, const char *v)
{
	const ProtobufCFieldDescriptor *f = fd(sub, name);
	char *d = strdup(v);
	if (!f || !d) {
		free(d);
		return WA_ENOMEM;
	}
	char **slot = (char **)((char *)sub + f->offset);
	free(*slot);
	*slot = d;
	return 0;
}

static int set_bytes(ProtobufCMessage *sub, const char *name, const uint8_t *p, size_t n)
{
	const ProtobufCFieldDescriptor *f = fd(sub, name);
	uint8_t *d = malloc(n);
	if (!f || !d) {
		free(d);
		return WA_ENOMEM;
	}
	memcpy(d, p, n);
	ProtobufCBinaryData *slot = (ProtobufCBinaryData *)((char *)sub + f->offset);
	free(slot->data);
	slot->data = d;
	slot->len = n;
	*(protobuf_c_boolean *)((char *)sub + f->quantifier_offset) = 1;
	return 0;
}

static void set_u64(ProtobufCMessage *sub, const char *name, uint64_t v)
{
	const ProtobufCFieldDescriptor *f = fd(sub, name);
	if (!f)
		return;
	*(uint64_t *)((char *)sub + f->offset) = v;
	*(protobuf_c_boolean *)((char *)sub + f->quantifier_offset) = 1;
}

static const ProtobufCBinaryData *get_bytes(const ProtobufCMessage *sub, const char *name)
{
	const ProtobufCFieldDescriptor *f = fd(sub, name);
	if (!f || !*(const protobuf_c_boolean *)((const char *)sub + f->quantifier_offset))
		return NULL;
	return (const ProtobufCBinaryData *)((const char *)sub + f->offset);
}

/* ---- sending: queue ---- */

int wa_session_send_media(wa_session *s, const char *to, const wa_media_send *ms, const wa_send_opts *opts,
	char **id_out)
{
	if (!s || !s->msg || !ms || (unsigned)ms->kind >= WA_MEDIA_KINDS || !ms->path || !*ms->path ||
	    strlen(ms->path) > 4000 || !ms->mimetype ||
	    (ms->view_once && ms->kind != WA_MEDIA_KIND_IMAGE && ms->kind != WA_MEDIA_KIND_VIDEO &&
		    ms->kind != WA_MEDIA_KIND_AUDIO))
		return WA_EINVAL;
	if (!wa_session_me_jid(s))
		return WA_ESTATE;
	struct stat st;
	if (stat(ms->path, &st) != 0 || !S_ISREG(st.st_mode))
		return WA_EIO;
	if ((uint64_t)st.st_size > wa_media_kind_max_len(ms->kind))
		return WA_ETOOBIG;
	char chat[WA_STORE_JID_MAX];
	int rc = wa_msg_chat_of(to, chat);
	if (rc != 0)
		return rc;
	char id[WA_MSG_ID_MAX + 1];
	if (opts && opts->id) {
		if (!*opts->id || strlen(opts->id) > WA_MSG_ID_MAX)
			return WA_EINVAL;
		snprintf(id, sizeof id, "%s", opts->id);
	} else {
		char gen[23];
		wa_msg_new_id(wa_session_me_jid(s), now_s(), gen);
		snprintf(id, sizeof id, "%s", gen);
	}
	uint8_t key[WA_MEDIA_KEY_LEN];
	wa_rand_bytes(key, sizeof key);
	wa_msg_media md = {
		.mimetype = ms->mimetype, .caption = ms->caption, .file_name = ms->file_name,
		.media_key = key, .media_key_timestamp = now_s(), .seconds = ms->seconds,
		.width = ms->width, .height = ms->height, .ptt = ms->ptt,
		.thumbnail = ms->thumbnail, .thumbnail_len = ms->thumbnail_len,
		.waveform = ms->waveform, .waveform_len = ms->waveform_len, .animated = ms->animated,
		.page_count = ms->page_count, .view_once = ms->view_once,
	};
	wa_msg_quote q = {0};
	char qpart[WA_STORE_JID_MAX];
	wa_msg_content c = {.media = &md, .quote = wa_msg_opts_quote(s, opts, &q, qpart), .expiration = opts ? opts->expiration : 0,
		.ephemeral_ts = opts ? opts->ephemeral_setting_ts : 0,
		.mentions = opts ? opts->mentions : NULL, .n_mentions = opts ? opts->n_mentions : 0};
	uint8_t *msg = NULL;
	size_t len = 0;
	rc = wa_msg_kind_build(kind_row[ms->kind], &c, &msg, &len);
	wa_msg_quote_clear(&q);
	wa_memzero(key, sizeof key);
	if (rc != 0)
		return rc;
	size_t pathlen = strlen(ms->path);
	size_t rec_len = 4 + pathlen + len;
	uint8_t *rec = malloc(rec_len);
	if (!rec) {
		free(msg);
		return WA_ENOMEM;
	}
	rec[0] = WA_OUTBOX_MEDIA;
	rec[1] = (uint8_t)ms->kind;
	rec[2] = (uint8_t)(pathlen >> 8);
	rec[3] = (uint8_t)pathlen;
	memcpy(rec + 4, ms->path, pathlen);
	memcpy(rec + 4 + pathlen, msg, len);
	wa_store_msg row = {
		.chat_jid = chat, .msg_id = id, .from_me = true, .timestamp = now_s(),
		.status = WA_STORE_MSG_PENDING, .plaintext = msg, .plaintext_len = len,
	};
	bool existed = false;
	int64_t row_id = 0;
	rc = wa_store_begin(s->store);
	if (rc == 0) {
		rc = wa_store_msg_insert(s->store, s->instance_id, &row, &existed);
		if (rc == 0 && existed)
			rc = WA_EEXIST;
		if (rc == 0)
			rc = wa_store_outbox_add(s->store, s->instance_id, chat, id, rec, rec_len, &row_id);
		if (rc == 0)
			rc = wa_store_commit(s->store);
		else
			wa_store_rollback(s->store);
	}
	free(rec);
	free(msg);
	if (rc != 0)
		return rc;
	wa_msg_recent_add(s->msg, id, chat);
	wa_msg_emit_status(s, chat, id, WA_MSG_PENDING);
	wa_msg_pump(s);
	if (id_out && !(*id_out = strdup(id)))
		return WA_ENOMEM;
	return 0;
}

/* ---- sending: the upload job ---- */

static void up_free(up_job *j)
{
	if (!j)
		return;
	wa_http_cancel(j->http);
	if (j->timer)
		j->s->drv->timer_free(j->timer);
	if (j->fd >= 0)
		close(j->fd);
	wa_media_enc_free(j->enc);
	wa_media_keys_clear(&j->keys);
	free(j->ob);
	free(j->path);
	free(j->msg);
	free(j);
}

/* The job ends without sending: the row stays queued (transient) or is
 * failed for good. */
static void up_end(up_job *j, int err, bool final, const char *why)
{
	wa_session *s = j->s;
	struct wa_media_state *ms = s->msg->media;
	ms->up = NULL;
	char chat[WA_STORE_JID_MAX];
	snprintf(chat, sizeof chat, "%s", j->chat);
	if (final) {
		WA_DEBUG(MOD, "[%lld] media %s failed: %s", (long long)s->instance_id, j->id, why);
		ign(wa_store_outbox_set_state(s->store, s->instance_id, j->row, WA_STORE_OUTBOX_FAILED));
		wa_msg_set_status_err(s, j->chat, j->id, WA_MSG_ERROR, err, why);
		if (unlink(j->path) != 0 && errno != ENOENT)
			WA_DEBUG(MOD, "cannot remove %s", j->path);
		up_free(j);
		wa_msg_hold_drop(s->msg, chat);
		wa_msg_pump(s);
		return;
	}
	WA_DEBUG(MOD, "[%lld] media upload of %s: %s (%s), will retry", (long long)s->instance_id, j->id,
		wa_errname(err), why);
	/* the media host closed the upload's connection: the outbox would wait
	 * for WhatsApp's connection to come back, which is up; back off instead */
	if (err == WA_ECLOSED && ready(s))
		err = WA_EIO;
	up_free(j);
	wa_msg_chat_defer(s, chat, err);
}

static void up_step(up_job *j);

static void on_up_timer(void *user)
{
	up_job *j = user;
	if (j->phase == UP_HASH) {
		up_step(j);
		return;
	}
	/* no progress for WA_MEDIA_IDLE_MS */
	up_end(j, WA_ETIMEOUT, false, "upload stalled");
}

static int parse_media_conn(struct wa_media_state *ms, const wa_node *resp)
{
	const wa_node *mc = resp ? wa_node_child(resp, "media_conn") : NULL;
	const char *auth = mc ? wa_node_attr(mc, "auth") : NULL;
	if (!auth || !*auth || strlen(auth) >= sizeof ms->auth)
		return WA_EPROTO;
	size_t n = 0;
	for (size_t i = 0; i < wa_node_n_children(mc) && n < WA_MEDIA_MAX_HOSTS; i++) {
		const wa_node *h = wa_node_child_at(mc, i);
		const char *hn = strcmp(wa_node_tag(h), "host") == 0 ? wa_node_attr(h, "hostname") : NULL;
		if (!hn || !*hn || strlen(hn) >= sizeof ms->hosts[0] || strpbrk(hn, "/?#@ \r\n"))
			continue;
		snprintf(ms->hosts[n++], sizeof ms->hosts[0], "%s", hn);
	}
	if (!n)
		return WA_EPROTO;
	const char *ttl = wa_node_attr(mc, "ttl");
	long t = ttl ? strtol(ttl, NULL, 10) : 0;
	if (t <= 0 || t > 86400)
		t = WA_MEDIA_CONN_TTL_DEFAULT_S;
	snprintf(ms->auth, sizeof ms->auth, "%s", auth);
	ms->n_hosts = n;
	ms->expires_ms = wa_mono_ms() + t * 1000;
	return 0;
}

static void on_media_conn(wa_session *s, int err, const wa_node *resp, void *user)
{
	(void)user;
	struct wa_media_state *ms = s->msg ? s->msg->media : NULL;
	if (!ms)
		return;
	ms->conn_waiting = false;
	if (err == 0)
		err = parse_media_conn(ms, resp);
	up_job *j = ms->up;
	if (j && j->iq_waiting) {
		j->iq_waiting = false;
		if (err != 0) {
			up_end(j, err, false, "media_conn failed");
		} else {
			j->host_i = 0;
			j->phase = UP_HASH;
			up_step(j);
		}
	}
	wa_media_dl_conn_done(s, err);
}

/* Sends the media_conn iq; its answer goes to fn. */
static int send_media_conn_iq(wa_session *s, wa_iq_fn fn, void *user)
{
	wa_node *iq = NULL, *c = NULL;
	int rc = wa_node_new(&iq, "iq");
	if (rc == 0)
		rc = wa_node_set_attr(iq, "to", "s.whatsapp.net");
	if (rc == 0)
		rc = wa_node_set_attr(iq, "type", "set");
	if (rc == 0)
		rc = wa_node_set_attr(iq, "xmlns", "w:m");
	if (rc == 0)
		rc = wa_node_add_new(iq, "media_conn", &c);
	if (rc == 0)
		rc = wa_iq_send(s, iq, 0, fn, user);
	wa_node_free(iq);
	return rc;
}

int wa_media_conn_fetch(wa_session *s)
{
	struct wa_media_state *ms = wa_media_state_of(s);
	if (!ms)
		return WA_ENOMEM;
	if (ms->conn_waiting)
		return 0;
	if (!ready(s))
		return WA_ECLOSED;
	int rc = send_media_conn_iq(s, on_media_conn, NULL);
	if (rc == 0)
		ms->conn_waiting = true;
	return rc;
}

static int fetch_media_conn(up_job *j)
{
	int rc = wa_media_conn_fetch(j->s);
	if (rc == 0)
		j->iq_waiting = true;
	return rc;
}

struct conn_wait {
	wa_media_conn_fn fn;
	void *user;
};

static void on_media_conn_for(wa_session *s, int err, const wa_node *resp, void *user)
{
	struct conn_wait *w = user;
	struct wa_media_state *ms = wa_media_state_of(s);
	if (err == 0)
		err = ms ? parse_media_conn(ms, resp) : WA_ENOMEM;
	wa_media_conn_fn fn = w->fn;
	void *u = w->user;
	free(w);
	fn(s, err, u);
}

int wa_media_conn_ensure(wa_session *s, wa_media_conn_fn fn, void *user)
{
	struct wa_media_state *ms = wa_media_state_of(s);
	if (!ms)
		return WA_ENOMEM;
	if (ms->n_hosts && ms->expires_ms > wa_mono_ms()) {
		fn(s, 0, user);
		return 0;
	}
	struct conn_wait *w = calloc(1, sizeof *w);
	if (!w)
		return WA_ENOMEM;
	w->fn = fn;
	w->user = user;
	int rc = send_media_conn_iq(s, on_media_conn_for, w);
	if (rc)
		free(w);
	return rc;
}

/* Pass 1: encrypt to learn the hashes, WA_MEDIA_TICK bytes per call. */
static int hash_tick(up_job *j, bool *finished)
{
	uint8_t in[WA_MEDIA_IO], out[WA_MEDIA_UPDATE_OUT(WA_MEDIA_IO)];
	size_t budget = WA_MEDIA_TICK;
	*finished = false;
	while (budget) {
		size_t n = 0, o = 0;
		int rc = wa_media_read_some(j->fd, in, sizeof in, &n);
		if (rc)
			return rc;
		if (n == 0) {
			rc = wa_media_enc_final(j->enc, out, sizeof out, &o, &j->res);
			*finished = rc == 0;
			return rc;
		}
		rc = wa_media_enc_update(j->enc, out, sizeof out, &o, in, n);
		if (rc)
			return rc;
		budget = n < budget ? budget - n : 0;
	}
	return 0;
}

static int body_read(void *user, uint8_t *buf, size_t cap, size_t *n)
{
	up_job *j = user;
	j->s->drv->timer_set(j->timer, WA_MEDIA_IDLE_MS);
	while (j->ob_len < cap && !j->enc_final) {
		uint8_t in[WA_MEDIA_IO];
		size_t r = 0, o = 0;
		int rc = wa_media_read_some(j->fd, in, sizeof in, &r);
		if (rc)
			return rc;
		if (j->ob_cap - j->ob_len < WA_MEDIA_UPDATE_OUT(sizeof in))
			return WA_ESTATE;
		if (r == 0) {
			wa_media_result res;
			rc = wa_media_enc_final(j->enc, j->ob + j->ob_len, j->ob_cap - j->ob_len, &o, &res);
			if (rc == 0 && memcmp(res.file_enc_sha256, j->res.file_enc_sha256, 32) != 0)
				rc = WA_EMEDIA_HASH; /* the file changed since pass 1 */
			j->enc_final = true;
		} else {
			rc = wa_media_enc_update(j->enc, j->ob + j->ob_len, j->ob_cap - j->ob_len, &o, in, r);
		}
		if (rc)
			return rc;
		j->ob_len += o;
	}
	size_t give = j->ob_len < cap ? j->ob_len : cap;
	memcpy(buf, j->ob, give);
	memmove(j->ob, j->ob + give, j->ob_len - give);
	j->ob_len -= give;
	*n = give;
	/* all of it handed over: the host may still be reading it out of the
	 * socket buffers; from here the answer deadline (start_post) rules */
	if (j->enc_final && j->ob_len == 0)
		j->s->drv->timer_cancel(j->timer);
	return 0;
}

static int up_on_data(void *user, const uint8_t *p, size_t len)
{
	up_job *j = user;
	j->s->drv->timer_set(j->timer, WA_MEDIA_IDLE_MS);
	if (len > WA_MEDIA_RESP_MAX - j->resp_len) {
		j->resp_big = true;
		return 0;
	}
	memcpy(j->resp + j->resp_len, p, len);
	j->resp_len += len;
	j->resp[j->resp_len] = '\0';
	return 0;
}

static int up_finish(up_job *j, const char *url, const char *direct_path);

static void up_on_done(void *user, int err, int status)
{
	up_job *j = user;
	j->http = NULL;
	wa_session *s = j->s;
	struct wa_media_state *ms = s->msg->media;
	if (err == 0 && status == 200 && !j->resp_big) {
		json_t *o = json_loads(j->resp, 0, NULL);
		const char *url = json_string_value(json_object_get(o, "url"));
		const char *dp = json_string_value(json_object_get(o, "direct_path"));
		int rc = url && dp ? up_finish(j, url, dp) : WA_EPROTO;
		json_decref(o);
		if (rc == 0)
			return;
		/* no url/direct_path: Baileys refetches media_conn; so do we */
		ms->expires_ms = 0;
		up_end(j, rc, false, "upload answer without url");
		return;
	}
	char why[96];
	if (err == WA_ETIMEOUT && !status)
		snprintf(why, sizeof why, "upload: no answer from the media host within %u s of the last byte",
			WA_MEDIA_ANSWER_MS / 1000);
	else if (err)
		snprintf(why, sizeof why, "upload: %s", wa_errname(err));
	else
		snprintf(why, sizeof why, "upload: HTTP %d", status);
	if (status == 401 || status == 403) {
		ms->expires_ms = 0; /* auth expired: fetch media_conn again */
		up_end(j, WA_EPROTO, false, why);
		return;
	}
	if (err == 0 && status >= 400 && status < 500 && status != 408 && status != 429) {
		up_end(j, WA_EPROTO, true, why);
		return;
	}
	/* the next host, then a backoff */
	if (j->host_i + 1 < ms->n_hosts) {
		WA_DEBUG(MOD, "[%lld] %s; trying the next host", (long long)s->instance_id, why);
		j->host_i++;
		j->phase = UP_HASH;
		up_step(j);
		return;
	}
	up_end(j, err ? err : WA_EIO, false, why);
}

static const wa_http_events up_events = {
	.body_read = body_read, .on_data = up_on_data, .on_done = up_on_done,
};

static int start_post(up_job *j)
{
	wa_session *s = j->s;
	struct wa_media_state *ms = s->msg->media;
	if (lseek(j->fd, 0, SEEK_SET) != 0)
		return WA_EIO;
	wa_media_enc_free(j->enc);
	j->enc = NULL;
	int rc = wa_media_enc_new(&j->enc, &j->keys, wa_media_kind_max_len(j->kind));
	if (rc)
		return rc;
	if (!j->ob) {
		j->ob_cap = WA_HTTP_CHUNK + WA_MEDIA_UPDATE_OUT(WA_MEDIA_IO) + WA_MEDIA_ENC_FINAL_OUT;
		if (!(j->ob = malloc(j->ob_cap)))
			return WA_ENOMEM;
	}
	j->ob_len = 0;
	j->enc_final = false;
	j->resp_len = 0;
	j->resp_big = false;
	char *tok = wa_b64_encode(j->res.file_enc_sha256, 32);
	if (!tok)
		return WA_ENOMEM;
	for (char *p = tok; *p; p++)
		*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
	tok[strcspn(tok, "=")] = '\0';
	char *auth = NULL;
	size_t alen = 0;
	/* the auth token is url-safe base64 already; escape anything else */
	auth = malloc(strlen(ms->auth) * 3 + 1);
	if (!auth) {
		free(tok);
		return WA_ENOMEM;
	}
	for (const char *p = ms->auth; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr("-_.~", c))
			auth[alen++] = (char)c;
		else
			alen += (size_t)sprintf(auth + alen, "%%%02X", c);
	}
	auth[alen] = '\0';
	char url[WA_TR_MAX_URL + 1];
	int n = snprintf(url, sizeof url, "https://%s/mms/%s/%s?auth=%s&token=%s", ms->hosts[j->host_i],
		kind_path[j->kind], tok, auth, tok);
	free(tok);
	free(auth);
	if (n < 0 || (size_t)n >= sizeof url)
		return WA_ETOOBIG;
	wa_http_opts o = {
		.method = "POST", .url = url, .origin = WA_MEDIA_ORIGIN,
		.content_type = "application/octet-stream", .content_length = WA_MEDIA_BLOB_LEN(j->res.file_length),
		.tls_insecure = s->tls_insecure, .answer_ms = WA_MEDIA_ANSWER_MS,
	};
	WA_DEBUG(MOD, "[%lld] uploading %s (%llu bytes) to %s", (long long)s->instance_id, j->id,
		(unsigned long long)o.content_length, ms->hosts[j->host_i]);
	rc = wa_http_start(s->drv_ctx, &o, &up_events, j, &j->http);
	if (rc == 0)
		s->drv->timer_set(j->timer, WA_MEDIA_IDLE_MS);
	return rc;
}

static void up_step(up_job *j)
{
	wa_session *s = j->s;
	struct wa_media_state *ms = s->msg->media;
	int rc = 0;
	if (j->phase == UP_CONN) {
		if (ms->n_hosts && ms->expires_ms > wa_mono_ms()) {
			j->phase = UP_HASH;
		} else {
			if (!ready(s)) {
				up_end(j, WA_ECLOSED, false, "no connection for media_conn");
				return;
			}
			rc = fetch_media_conn(j);
			if (rc)
				up_end(j, rc, false, "media_conn not sent");
			return;
		}
	}
	if (j->phase == UP_HASH) {
		if (!j->enc) {
			if (lseek(j->fd, 0, SEEK_SET) != 0) {
				up_end(j, WA_EIO, true, "media file unreadable");
				return;
			}
			rc = wa_media_enc_new(&j->enc, &j->keys, wa_media_kind_max_len(j->kind));
			if (rc) {
				up_end(j, rc, true, "media cipher");
				return;
			}
		}
		if (j->res.file_length || j->done_bytes) {
			/* pass 1 already done (a retry on the next host) */
		} else {
			bool fin = false;
			rc = hash_tick(j, &fin);
			if (rc) {
				up_end(j, rc, true, rc == WA_ETOOBIG ? "media file too big" : "media file unreadable");
				return;
			}
			if (!fin) {
				s->drv->timer_set(j->timer, 0);
				return;
			}
			j->done_bytes = 1;
		}
		j->phase = UP_POST;
		rc = start_post(j);
		if (rc)
			up_end(j, rc, false, "upload not started");
	}
}

bool wa_media_upload_start(wa_session *s, int64_t row, const char *id, const char *chat, const uint8_t *pl,
	size_t pl_len)
{
	struct wa_media_state *ms = wa_media_state_of(s);
	if (!ms)
		return false;
	size_t pathlen = pl_len >= 4 ? (size_t)pl[2] << 8 | pl[3] : 0;
	up_job *j = calloc(1, sizeof *j);
	bool bad = pl_len < 4 || pl[1] >= WA_MEDIA_KINDS || !pathlen || pl_len < 4 + pathlen || strlen(id) > WA_MSG_ID_MAX ||
		   strlen(chat) >= WA_STORE_JID_MAX;
	if (!j) {
		return false;
	}
	j->s = s;
	j->fd = -1;
	j->row = row;
	snprintf(j->id, sizeof j->id, "%s", id);
	snprintf(j->chat, sizeof j->chat, "%s", chat);
	if (bad) {
		j->path = strdup("");
		ms->up = j;
		up_end(j, WA_EMALFORMED, true, "bad media record");
		return true;
	}
	j->kind = (enum wa_media_kind)pl[1];
	if ((j->path = malloc(pathlen + 1)) != NULL) {
		memcpy(j->path, pl + 4, pathlen);
		j->path[pathlen] = '\0';
	}
	j->msg_len = pl_len - 4 - pathlen;
	j->msg = malloc(j->msg_len ? j->msg_len : 1);
	if (!j->path || !j->msg || s->drv->timer_new(s->drv_ctx, on_up_timer, j, &j->timer) != 0) {
		up_free(j);
		return false;
	}
	memcpy(j->msg, pl + 4 + pathlen, j->msg_len);
	ms->up = j;
	/* the media key from the queued Message */
	ProtobufCMessage *pb = NULL;
	int rc = wa_pb_unpack(&pb, &wa__message__descriptor, j->msg, j->msg_len, WA_SIG_MAX_PLAINTEXT);
	const ProtobufCMessage *sub = rc == 0 ? media_sub((Wa__Message *)pb, j->kind) : NULL;
	const ProtobufCBinaryData *mk = sub ? get_bytes(sub, "media_key") : NULL;
	if (!mk || mk->len != WA_MEDIA_KEY_LEN || wa_media_keys_derive(&j->keys, mk->data, wa_media_kind_keys[j->kind]) != 0) {
		if (pb)
			protobuf_c_message_free_unpacked(pb, NULL);
		up_end(j, WA_EMALFORMED, true, "bad media record");
		return true;
	}
	protobuf_c_message_free_unpacked(pb, NULL);
	j->fd = open(j->path, O_RDONLY | O_CLOEXEC);
	if (j->fd < 0) {
		up_end(j, WA_EIO, true, "media file missing");
		return true;
	}
	j->phase = UP_CONN;
	up_step(j);
	return true;
}

/* The upload is done: the row becomes an ordinary 'P' row with the full
 * Message, in one transaction with the stored message. */
static int up_finish(up_job *j, const char *url, const char *direct_path)
{
	wa_session *s = j->s;
	ProtobufCMessage *pb = NULL;
	int rc = wa_pb_unpack(&pb, &wa__message__descriptor, j->msg, j->msg_len, WA_SIG_MAX_PLAINTEXT);
	if (rc)
		return rc;
	ProtobufCMessage *sub = media_sub((Wa__Message *)pb, j->kind);
	if (!sub)
		rc = WA_EMALFORMED;
	if (rc == 0)
		rc = set_str(sub, "url", url);
	if (rc == 0)
		rc = set_str(sub, "direct_path", direct_path);
	if (rc == 0)
		rc = set_bytes(sub, "file_sha256", j->res.file_sha256, 32);
	if (rc == 0)
		rc = set_bytes(sub, "file_enc_sha256", j->res.file_enc_sha256, 32);
	if (rc == 0)
		set_u64(sub, "file_length", j->res.file_length);
	uint8_t *rec = NULL;
	size_t n = 0;
	if (rc == 0) {
		n = protobuf_c_message_get_packed_size(pb);
		rec = malloc(n + 1);
		if (!rec)
			rc = WA_ENOMEM;
		else {
			rec[0] = WA_OUTBOX_PLAN;
			protobuf_c_message_pack(pb, rec + 1);
		}
	}
	protobuf_c_message_free_unpacked(pb, NULL);
	if (rc == 0)
		rc = wa_store_begin(s->store);
	if (rc == 0) {
		rc = wa_store_outbox_update(s->store, s->instance_id, j->row, WA_STORE_OUTBOX_QUEUED, rec, n + 1);
		if (rc == 0)
			rc = wa_store_msg_set_plaintext(s->store, s->instance_id, j->chat, j->id, true, rec + 1, n);
		if (rc == 0)
			rc = wa_store_commit(s->store);
		else
			wa_store_rollback(s->store);
	}
	free(rec);
	if (rc)
		return rc;
	WA_DEBUG(MOD, "[%lld] uploaded %s: %llu bytes", (long long)s->instance_id, j->id,
		(unsigned long long)j->res.file_length);
	if (unlink(j->path) != 0)
		WA_DEBUG(MOD, "cannot remove %s", j->path);
	s->msg->media->up = NULL;
	up_free(j);
	wa_msg_pump(s);
	return 0;
}

void wa_media_free(wa_session *s)
{
	struct wa_media_state *ms = s->msg ? s->msg->media : NULL;
	if (!ms)
		return;
	if (ms->up) {
		up_free(ms->up);
		ms->up = NULL;
	}
	wa_media_downloads_end(s);
	wa_media_retries_end(s);
	free(ms);
	s->msg->media = NULL;
}
