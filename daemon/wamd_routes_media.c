/* Evolution's media routes: /message/sendMedia, /message/sendWhatsAppAudio,
 * /message/sendSticker, /chat/getBase64FromMediaMessage, and wamd's own
 * /wamd/media/{instance}/{id} that streams a received file (with Range).
 *
 * Input is staged in <data>/media (owner-only) in chunks: base64 is decoded
 * 64 KiB at a time into a file that libwa then owns (it encrypts and
 * uploads it from there, and removes it once the message is sent), or the
 * pacing queue while the limits hold the send back (wamd_pace_media.c). Nothing
 * is queued on bad input. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "util/codec.h"
#include "wamd_cluster.h"
#include "wamd_pace.h"
#include "wamd_pace_media.h"
#include "wamd_media_probe.h"
#include "wamd_range.h"
#include "wamd_routes.h"

#define B64_CHUNK 65536 /* multiple of 4 */

/* <data>/media, created owner-only; path gets "<data>/media/<prefix><hex>". */
static int stage_path(struct wamd *d, const char *prefix, char *path, size_t cap)
{
	char dir[1024];
	snprintf(dir, sizeof dir, "%s/media", d->cfg.data_dir);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return WA_EIO;
	uint8_t r[12];
	if (RAND_bytes(r, sizeof r) != 1)
		return WA_EIO;
	char *hex = wa_hex_encode(r, sizeof r);
	if (!hex)
		return WA_ENOMEM;
	int n = snprintf(path, cap, "%s/%s%s", dir, prefix, hex);
	free(hex);
	return n > 0 && (size_t)n < cap ? 0 : WA_ETOOBIG;
}

static bool b64_char(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '+' ||
	       ch == '/';
}

/* Decodes bare base64 into a new owner-only file, chunk by chunk. Returns
 * 0, WA_EMALFORMED (not base64), WA_ETOOBIG (over max), WA_EIO. */
static int stage_base64(struct wamd *d, const char *b64, uint64_t max, char *path, size_t cap, uint64_t *len_out)
{
	size_t n = strlen(b64);
	/* strict: only the alphabet, '=' padding at the very end, length % 4 == 0 */
	size_t pad = 0;
	while (pad < 2 && n > pad && b64[n - 1 - pad] == '=')
		pad++;
	if (n == 0 || n % 4 != 0)
		return WA_EMALFORMED;
	for (size_t i = 0; i < n - pad; i++)
		if (!b64_char(b64[i]))
			return WA_EMALFORMED;
	if ((uint64_t)(n / 4 * 3 - pad) > max)
		return WA_ETOOBIG;
	int rc = stage_path(d, "send-", path, cap);
	if (rc)
		return rc;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return WA_EIO;
	uint64_t total = 0;
	for (size_t off = 0; off < n && rc == 0; off += B64_CHUNK) {
		size_t k = n - off < B64_CHUNK ? n - off : B64_CHUNK;
		uint8_t *buf = NULL;
		size_t bl = 0;
		rc = wa_b64_decode(b64 + off, k, &buf, &bl);
		if (rc) {
			rc = WA_EMALFORMED;
			break;
		}
		if (bl && write(fd, buf, bl) != (ssize_t)bl)
			rc = WA_EIO;
		total += bl;
		free(buf);
	}
	if (close(fd) != 0 && rc == 0)
		rc = WA_EIO;
	if (rc) {
		unlink(path);
		return rc;
	}
	*len_out = total;
	return 0;
}

static const struct {
	const char *ext, *mime;
} mime_table[] = {
	{"jpg", "image/jpeg"}, {"jpeg", "image/jpeg"}, {"png", "image/png"}, {"gif", "image/gif"},
	{"webp", "image/webp"}, {"mp4", "video/mp4"}, {"3gp", "video/3gpp"}, {"mov", "video/quicktime"},
	{"ogg", "audio/ogg"}, {"opus", "audio/ogg"}, {"mp3", "audio/mpeg"}, {"m4a", "audio/mp4"},
	{"aac", "audio/aac"}, {"wav", "audio/wav"}, {"pdf", "application/pdf"}, {"txt", "text/plain"},
	{"csv", "text/csv"}, {"zip", "application/zip"}, {"json", "application/json"},
	{"doc", "application/msword"}, {"xls", "application/vnd.ms-excel"},
	{"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
	{"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
};

static const char *mime_of(const char *file_name)
{
	const char *dot = file_name ? strrchr(file_name, '.') : NULL;
	if (!dot)
		return NULL;
	for (size_t i = 0; i < sizeof mime_table / sizeof *mime_table; i++)
		if (strcasecmp(dot + 1, mime_table[i].ext) == 0)
			return mime_table[i].mime;
	return NULL;
}

static const char *const kind_names[] = {"image", "video", "audio", "document", "sticker"};
static const char *const kind_types[] = {"imageMessage", "videoMessage", "audioMessage", "documentMessage",
	"stickerMessage"};

/* A send whose file is staged (or being fetched): what the answer needs. */
struct send_job {
	struct wamd_ticket *tk;
	struct wamd *d;
	char tenant[WA_STORE_NAME_MAX];
	char jid[WA_STORE_JID_MAX];
	enum wa_media_kind kind;
	char *mimetype, *caption, *file_name; /* mimetype NULL: from the fetch's Content-Type */
	char (*mentions)[WA_STORE_JID_MAX];    /* the caption's, n_mentions of them */
	size_t n_mentions;
	char *quoted_id, *quoted_jid, *quoted_text, *quoted_participant; /* a reply's quote (wamd_quoted_of) */
	char *quoted_message; /* the quoted content as JSON text, or NULL */
	bool quoted_from_me;
	bool view_once;
	bool ptt;
	bool voice; /* convert to an OGG/Opus voice note first */
	int64_t send_at; /* sendAt: held until then (0: none) */
	bool peeked;	 /* cluster: another node's instance; written for it (relay_queued) */
	bool everyone;	 /* cluster: mentionsEveryOne, left to that node */
	char path[1200];
};

static void send_job_free(struct send_job *j)
{
	free(j->mimetype);
	free(j->caption);
	free(j->file_name);
	free(j->mentions);
	free(j->quoted_id);
	free(j->quoted_jid);
	free(j->quoted_text);
	free(j->quoted_participant);
	free(j->quoted_message);
	free(j);
}

/* the job's instance again after a wait (cluster: another node's, peeked
 * anew; job_tenant_done frees it) */
static struct wamd_tenant *job_tenant(struct send_job *j)
{
	return j->peeked ? wamd_cluster_peek(j->d, j->tenant) : wamd_tenant_find(j->d, j->tenant);
}

static void job_tenant_done(struct send_job *j, struct wamd_tenant *t)
{
	if (j->peeked)
		wamd_tenant_peek_free(t);
}

/* Cluster: a media send for another node's instance, held as the limits
 * hold one and written with its file for that node (payload p, the held
 * file at held, removed here); answered with the record it will store. */
static void relay_queued(struct wamd_conn *c, struct wamd_tenant *t, struct send_job *j, json_t *p,
			 const char *held, json_t *msg, const char *type)
{
	if (j->everyone)
		json_object_set_new(p, "everyOne", json_true());
	char id[32];
	int rc = wamd_cluster_relay_send_file(t, j->jid, j->send_at, p, msg, type, held, id);
	unlink(held);
	json_decref(p);
	if (rc != 0) {
		json_decref(msg);
		wamd_reply_error(c, 500, json_pack("[s]", wa_strerror(rc)));
		return;
	}
	wamd_reply_json(c, 201, wamd_sent_record_json(t, j->jid, id, msg, type, wamd_now_ms() / 1000));
}

/* The file is staged and probed (len bytes; r NULL: no metadata): queue it
 * and answer. */
static void send_queue(struct wamd_conn *c, struct wamd_tenant *t, struct send_job *j, uint64_t len,
	const struct wamd_probe_result *r)
{
	static const char *const def_mime[] = {"image/jpeg", "video/mp4", "audio/mpeg", "application/octet-stream",
		"image/webp"};
	const char *mimetype = j->mimetype ? j->mimetype : def_mime[j->kind];
	if (j->peeked && len > WAMD_RELAY_MEDIA_MAX) {
		/* too large to carry through the database: as any request its
		 * owner must take (the router's 409), with why */
		unlink(j->path);
		char owner[WA_STORE_NAME_MAX], m1[WA_STORE_NAME_MAX + 64], m2[WA_STORE_NAME_MAX + 8];
		if (wamd_cluster_owner(c->d, t->name, owner, sizeof owner) != 0)
			snprintf(owner, sizeof owner, "none");
		snprintf(m1, sizeof m1, "The \"%s\" instance is served by another cluster node", t->name);
		snprintf(m2, sizeof m2, "node: %s", owner);
		wamd_reply_error(c, 409, json_pack("[s, s, s]", m1, m2,
						   "files over 16 MiB are sent through that node only"));
		return;
	}
	wa_media_send m = {
		.kind = j->kind, .path = j->path, .mimetype = mimetype, .caption = j->caption,
		.file_name = j->file_name, .ptt = j->ptt, .view_once = j->view_once,
	};
	if (r) {
		m.width = r->width;
		m.height = r->height;
		m.seconds = r->seconds;
		m.thumbnail = r->thumb_len ? r->thumb : NULL;
		m.thumbnail_len = r->thumb_len;
		m.waveform = r->has_waveform ? r->waveform : NULL;
		m.waveform_len = r->has_waveform ? sizeof r->waveform : 0;
		m.animated = r->animated;
		m.page_count = r->pages;
	}
	size_t nm = j->n_mentions;
	const char **mp = nm ? calloc(nm, sizeof *mp) : NULL;
	if (nm && !mp) {
		unlink(j->path);
		wamd_reply_error(c, 500, json_string("out of memory"));
		return;
	}
	for (size_t i = 0; i < nm; i++)
		mp[i] = j->mentions[i];
	char *id = NULL;
	struct wamd_send_extra x = { .mentions = nm ? mp : NULL, .n_mentions = nm, .quoted_id = j->quoted_id,
		.quoted_jid = j->quoted_jid, .quoted_text = j->quoted_text, .quoted_from_me = j->quoted_from_me,
		.quoted_participant = j->quoted_participant, .quoted_message = j->quoted_message };
	/* held back by the limits: the staged file waits under a held name */
	bool first = false, now = wamd_pace_admit(t, j->jid, j->send_at, &first);
	int rc;
	json_t *relayed = NULL; /* cluster: the held send, written for its owner once answered */
	char held[1200] = "";
	if (now) {
		rc = wamd_tenant_send_media(t, j->jid, &m, &x, &id);
	} else {
		char kid[32];
		wamd_pace_new_id(kid); /* the held file is named after it */
		json_t *p = wamd_pace_media_hold(t, &m, &x, kid, held, sizeof held);
		if (p && t->peeked)
			relayed = json_incref(p);
		rc = !p ? WA_EIO : relayed ? 0 : wamd_pace_enqueue(t, j->jid, first, j->send_at, p, kid);
		json_decref(p);
		if (rc != 0 && p)
			unlink(held); /* not queued */
		if (rc == 0 && !(id = strdup(kid)))
			rc = WA_ENOMEM; /* queued all the same: it leaves, unanswered */
	}
	if (rc != 0 || !id) {
		if (relayed) {
			json_decref(relayed);
			unlink(held);
		}
		unlink(j->path); /* not queued: still ours */
		free(id);
		free(mp);
		wamd_reply_error(c, rc == WA_ESTATE ? 500 : 400,
				 rc == WA_ESTATE ? json_string("Connection Closed") : json_pack("[s]", wa_strerror(rc ? rc : WA_ENOMEM)));
		return;
	}
	if (now) {
		wamd_lat_accepted(t, id, c->t_dispatch_ns);
		wamd_pace_sent_now(t, j->jid, first); /* before the record: it decides "first contact" */
	}
	char fl[24];
	snprintf(fl, sizeof fl, "%llu", (unsigned long long)len);
	json_t *mm = json_pack("{s:s, s:s}", "mimetype", mimetype, "fileLength", fl);
	if (j->caption)
		json_object_set_new(mm, "caption", json_string(j->caption));
	if (j->file_name && j->kind == WA_MEDIA_KIND_DOCUMENT)
		json_object_set_new(mm, "fileName", json_string(j->file_name));
	if (j->kind == WA_MEDIA_KIND_AUDIO)
		json_object_set_new(mm, "ptt", json_boolean(j->ptt));
	if (m.seconds)
		json_object_set_new(mm, "seconds", json_integer(m.seconds));
	if (m.width && j->kind != WA_MEDIA_KIND_AUDIO && j->kind != WA_MEDIA_KIND_DOCUMENT) {
		json_object_set_new(mm, "width", json_integer(m.width));
		json_object_set_new(mm, "height", json_integer(m.height));
	}
	char *b64 = m.thumbnail ? wa_b64_encode(m.thumbnail, m.thumbnail_len) : NULL;
	if (b64)
		json_object_set_new(mm, "jpegThumbnail", json_string(b64));
	free(b64);
	b64 = m.waveform ? wa_b64_encode(m.waveform, m.waveform_len) : NULL;
	if (b64)
		json_object_set_new(mm, "waveform", json_string(b64));
	free(b64);
	if (j->kind == WA_MEDIA_KIND_STICKER)
		json_object_set_new(mm, "isAnimated", json_boolean(m.animated));
	if (m.page_count)
		json_object_set_new(mm, "pageCount", json_integer(m.page_count));
	/* as Baileys builds it: the reply's quote and the caption's mentions in
	 * the media's contextInfo (the quote as libwa sends it: the author's
	 * JID, the quoted message itself, else its text as a conversation) */
	json_t *ci = json_object();
	if (j->quoted_id) {
		const char *me = t->sess ? wa_session_jid(t->sess) : t->own_jid;
		const char *author = j->quoted_participant ? j->quoted_participant : j->quoted_from_me ? me : j->quoted_jid;
		json_object_set_new(ci, "stanzaId", json_string(j->quoted_id));
		if (author)
			json_object_set_new(ci, "participant", json_string(author));
		json_t *qm = j->quoted_message ? json_loads(j->quoted_message, 0, NULL) : NULL;
		json_object_set_new(ci, "quotedMessage",
				    qm ? qm : json_pack("{s:s}", "conversation", j->quoted_text ? j->quoted_text : ""));
	}
	if (nm) {
		json_t *mj = json_array();
		for (size_t i = 0; i < nm; i++)
			json_array_append_new(mj, json_string(mp[i]));
		json_object_set_new(ci, "mentionedJid", mj);
	}
	if (json_object_size(ci))
		json_object_set_new(mm, "contextInfo", ci);
	else
		json_decref(ci);
	free(mp);
	json_t *msg = json_object();
	const char *type = kind_types[j->kind];
	if (j->view_once) {
		/* Baileys' viewOnceMessage wrapper, reported by its content key */
		json_object_set_new(mm, "viewOnce", json_true());
		json_object_set_new(msg, "viewOnceMessage", json_pack("{s:{s:o}}", "message", type, mm));
		type = "viewOnceMessage";
	} else {
		json_object_set_new(msg, type, mm);
	}
	if (relayed) {
		free(id);
		relay_queued(c, t, j, relayed, held, msg, type);
		return;
	}
	json_t *rec = wamd_sent_record_msg(t, j->jid, id, msg, type, wamd_now_ms() / 1000);
	free(id);
	wamd_emit(t, "SEND_MESSAGE", json_deep_copy(rec));
	wamd_reply_json(c, 201, rec);
}

static void probed(void *arg, const struct wamd_probe_result *r)
{
	struct send_job *j = arg;
	struct wamd_conn *c = j->tk->c;
	free(j->tk);
	struct wamd_tenant *t = c && !r->stopping ? job_tenant(j) : NULL;
	if (c)
		c->ticket = NULL;
	if (r->stopping)
		c = NULL; /* the connection closes with the daemon */
	struct stat st;
	if (!c || !t || r->err[0] || stat(j->path, &st) != 0) {
		unlink(j->path);
		if (c && t)
			wamd_reply_error(c, 400, json_pack("[s]", r->err[0] ? r->err : "the staged media is gone"));
		else if (c)
			wamd_reply_error(c, 404, msg1("The \"%s\" instance does not exist", j->tenant));
		job_tenant_done(j, t);
		send_job_free(j);
		return;
	}
	if (r->warn[0])
		LOGW("[%s] media sent without metadata FFmpeg could not give: %s", j->tenant, r->warn);
	if (r->converted) {
		free(j->mimetype);
		j->mimetype = strdup(j->kind == WA_MEDIA_KIND_STICKER ? "image/webp" : "audio/ogg; codecs=opus");
	}
	if ((uint64_t)st.st_size > wa_media_kind_max_len(j->kind)) {
		unlink(j->path);
		wamd_reply_error(c, 400, msg1("%s over WhatsApp's limit of %llu bytes", kind_names[j->kind],
						 (unsigned long long)wa_media_kind_max_len(j->kind)));
	} else {
		send_queue(c, t, j, (uint64_t)st.st_size, r);
	}
	job_tenant_done(j, t);
	send_job_free(j);
}

/* The file is staged: probe it off the loop, then queue it. Owns j. */
static void send_staged(struct wamd_conn *c, struct wamd_tenant *t, struct send_job *j, uint64_t len)
{
	struct wamd_ticket *tk = calloc(1, sizeof *tk);
	char order[WAMD_PROBE_ORDER_MAX]; /* one chat's sends are probed, so queued, in order */
	snprintf(order, sizeof order, "%s\n%s", j->tenant, j->jid);
	struct wamd_probe *p = tk ? wamd_probe_start(c->d, j->path, order, j->kind, j->voice, probed, j) : NULL;
	if (!p) {
		free(tk);
		LOGW("[%s] media sent without metadata: no probe worker", t->name);
		send_queue(c, t, j, len, NULL);
		send_job_free(j);
		return;
	}
	tk->c = c;
	c->ticket = tk;
	j->tk = tk;
}

static void fetched(void *arg, const char *why, uint64_t len, const char *content_type)
{
	struct send_job *j = arg;
	struct wamd_conn *c = j->tk->c;
	free(j->tk);
	struct wamd_tenant *t = c ? job_tenant(j) : NULL;
	if (c)
		c->ticket = NULL;
	if (!c || !t || why) {
		unlink(j->path);
		if (c && why)
			wamd_reply_error(c, 400, json_pack("[s]", why));
		else if (c)
			wamd_reply_error(c, 404, msg1("The \"%s\" instance does not exist", j->tenant));
		job_tenant_done(j, t);
		send_job_free(j);
		return;
	}
	if (!j->mimetype && content_type && *content_type && strlen(content_type) < 128 &&
	    strncmp(content_type, "application/octet-stream", 24) != 0)
		j->mimetype = strdup(content_type);
	bool peeked = j->peeked;
	send_staged(c, t, j, len); /* j is its own from here (or freed) */
	if (peeked)
		wamd_tenant_peek_free(t);
}

/* The common part of the three send routes. mimetype NULL: from the URL's
 * Content-Type, else the kind's default. */
static void send_media(struct wamd_conn *c, struct wamd_tenant *t, json_t *body, enum wa_media_kind kind,
	const char *media, const char *mimetype, const char *caption, const char *file_name, bool ptt, bool voice)
{
	const char *number = jstr(body, "number");
	if (!number) {
		bad_request(c, "instance requires property \"number\"");
		return;
	}
	char jid[WA_STORE_JID_MAX];
	if (wamd_normalize_number(number, jid, sizeof jid) != 0) {
		wamd_reply_error(c, 400, json_pack("[{s:s, s:b, s:s}]", "jid", number, "exists", 0, "number", number));
		return;
	}
	if (!media || !*media) {
		bad_request(c, "Owned media must be a url or base64");
		return;
	}
	int64_t send_at = 0;
	if (!wamd_send_at_of(c, body, &send_at))
		return;
	if (!t->peeked && !wamd_tenant_is_paired(t)) { /* another node's: its owner tells */
		wamd_reply_error(c, 500, json_string("Connection Closed"));
		return;
	}
	struct send_job *j = calloc(1, sizeof *j);
	if (!j || (mimetype && !(j->mimetype = strdup(mimetype))) || (caption && !(j->caption = strdup(caption))) ||
	    (file_name && !(j->file_name = strdup(file_name)))) {
		if (j)
			send_job_free(j);
		wamd_reply_error(c, 500, json_string("out of memory"));
		return;
	}
	j->d = c->d;
	snprintf(j->tenant, sizeof j->tenant, "%s", t->name);
	snprintf(j->jid, sizeof j->jid, "%s", jid);
	j->kind = kind;
	j->send_at = send_at;
	j->ptt = ptt;
	j->voice = voice;
	j->peeked = t->peeked;
	j->everyone = wamd_mentions_everyone_later(t, body, jid);
	/* viewOnce (top level, or in v1's options): image, video and audio */
	j->view_once = json_is_true(json_object_get(body, "viewOnce")) ||
		       json_is_true(json_object_get(json_object_get(body, "options"), "viewOnce"));
	if (j->view_once && kind != WA_MEDIA_KIND_IMAGE && kind != WA_MEDIA_KIND_VIDEO && kind != WA_MEDIA_KIND_AUDIO) {
		send_job_free(j);
		bad_request(c, "viewOnce is for image, video and audio");
		return;
	}
	if (!wamd_mentions_of(c, t, body, jid, &j->mentions, &j->n_mentions)) {
		send_job_free(j);
		return;
	}
	/* the quote, copied: the send happens after the file is staged */
	struct wamd_send_extra qx = { 0 };
	json_t *qhold = wamd_quoted_of(t, body, jid, &qx);
	bool qok = (!qx.quoted_id || (j->quoted_id = strdup(qx.quoted_id))) &&
		   (!qx.quoted_jid || (j->quoted_jid = strdup(qx.quoted_jid))) &&
		   (!qx.quoted_text || (j->quoted_text = strdup(qx.quoted_text))) &&
		   (!qx.quoted_participant || (j->quoted_participant = strdup(qx.quoted_participant))) &&
		   (!qx.quoted_message || (j->quoted_message = strdup(qx.quoted_message)));
	j->quoted_from_me = qx.quoted_from_me;
	json_decref(qhold);
	if (!qok) {
		send_job_free(j);
		wamd_reply_error(c, 500, json_string("out of memory"));
		return;
	}
	uint64_t max = wa_media_kind_max_len(kind), len = 0;
	if (strncmp(media, "http://", 7) == 0 || strncmp(media, "https://", 8) == 0) {
		int rc = stage_path(c->d, "send-", j->path, sizeof j->path);
		int fd = rc == 0 ? open(j->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600) : -1;
		struct wamd_ticket *tk = fd >= 0 ? calloc(1, sizeof *tk) : NULL;
		if (!tk) {
			if (fd >= 0) {
				close(fd);
				unlink(j->path);
			}
			send_job_free(j);
			wamd_reply_error(c, 500, json_pack("[s]", "cannot stage the media"));
			return;
		}
		tk->c = c;
		c->ticket = tk;
		j->tk = tk;
		char why[300];
		const char *refused = wamd_media_fetch_start(c->d, media, fd, max, fetched, j, why, sizeof why);
		if (refused) {
			c->ticket = NULL;
			free(tk);
			close(fd);
			unlink(j->path);
			send_job_free(j);
			wamd_reply_error(c, 400, msg1("media URL refused: %s", refused));
		}
		return;
	}
	int rc = stage_base64(c->d, media, max, j->path, sizeof j->path, &len);
	if (rc == WA_EMALFORMED)
		bad_request(c, "Owned media must be a url or base64");
	else if (rc == WA_ETOOBIG)
		wamd_reply_error(c, 400, msg1("%s over WhatsApp's limit of %llu bytes", kind_names[kind],
						 (unsigned long long)max));
	else if (rc)
		wamd_reply_error(c, 500, json_pack("[s]", wa_strerror(rc)));
	else {
		send_staged(c, t, j, len);
		return;
	}
	send_job_free(j);
}

void wamd_h_send_media(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	json_t *src = json_object_get(body, "mediaMessage"); /* v1 form */
	if (!json_is_object(src))
		src = body;
	const char *mt = jstr(src, "mediatype");
	enum wa_media_kind kind;
	if (!mt) {
		bad_request(c, "instance requires property \"mediatype\"");
		return;
	}
	if (strcmp(mt, "image") == 0)
		kind = WA_MEDIA_KIND_IMAGE;
	else if (strcmp(mt, "video") == 0)
		kind = WA_MEDIA_KIND_VIDEO;
	else if (strcmp(mt, "audio") == 0)
		kind = WA_MEDIA_KIND_AUDIO;
	else if (strcmp(mt, "document") == 0)
		kind = WA_MEDIA_KIND_DOCUMENT;
	else {
		bad_request(c, "mediatype must be one of image, video, audio, document");
		return;
	}
	const char *media = jstr(src, "media");
	const char *file_name = jstr(src, "fileName");
	if (kind == WA_MEDIA_KIND_DOCUMENT && !file_name && media && strncmp(media, "http", 4) != 0) {
		wamd_reply_error(c, 400, json_pack("[s]", "For base64 the file name must be informed."));
		return;
	}
	static const char *const def_name[] = {"image.jpg", "video.mp4", "audio.mp3", "document", ""};
	char seg[256];
	if (!file_name && kind == WA_MEDIA_KIND_DOCUMENT && media) {
		/* a document URL's last path segment, as Evolution */
		const char *q = media + strcspn(media, "?#");
		const char *sl = q;
		while (sl > media && sl[-1] != '/')
			sl--;
		snprintf(seg, sizeof seg, "%.*s", (int)(q - sl), sl);
		file_name = seg[0] ? seg : NULL;
	}
	if (!file_name)
		file_name = def_name[kind];
	const char *mimetype = jstr(src, "mimetype");
	bool url = media && (strncmp(media, "http://", 7) == 0 || strncmp(media, "https://", 8) == 0);
	/* from the file name when there is one, else the URL's Content-Type,
	 * else the kind's default */
	if (!mimetype && (!url || jstr(src, "fileName") || kind == WA_MEDIA_KIND_DOCUMENT))
		mimetype = mime_of(file_name);
	const char *caption = kind == WA_MEDIA_KIND_AUDIO ? NULL : jstr(src, "caption");
	send_media(c, t, body, kind, media, mimetype, caption, file_name, false, false);
}

/* Converted to a mono OGG/Opus voice note with FFmpeg, as Evolution does,
 * unless "encoding": false (then sent as they are); marked ptt either way,
 * with seconds and the waveform. */
void wamd_h_send_audio(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	json_t *src = json_object_get(body, "audioMessage"); /* v1 form */
	if (!json_is_object(src))
		src = body;
	json_t *enc = json_object_get(src, "encoding");
	if (!enc)
		enc = json_object_get(body, "encoding");
	send_media(c, t, body, WA_MEDIA_KIND_AUDIO, jstr(src, "audio"), "audio/ogg; codecs=opus", NULL, NULL, true,
		!json_is_false(enc));
}

void wamd_h_send_sticker(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	json_t *src = json_object_get(body, "stickerMessage"); /* v1 form */
	if (!json_is_object(src))
		src = body;
	send_media(c, t, body, WA_MEDIA_KIND_STICKER, jstr(src, "sticker"), "image/webp", NULL, NULL, false, false);
}

/* ---- getBase64FromMediaMessage ---- */

/* the largest file getBase64FromMediaMessage answers with */
#define WAMD_B64_MEDIA_MAX (64ull << 20)

struct b64_job {
	struct wamd_ticket *tk;
	char path[1200];
	json_t *media; /* the media message object (for the answer's fields) */
	char type[32];
	char id[128];
};

static void b64_done(void *user, int err, uint64_t len)
{
	struct b64_job *j = user;
	struct wamd_conn *c = j->tk->c;
	free(j->tk);
	if (c)
		c->ticket = NULL;
	json_t *ans = NULL;
	if (c && err == 0) {
		int fd = open(j->path, O_RDONLY | O_CLOEXEC);
		uint8_t *buf = fd >= 0 && len <= WAMD_B64_MEDIA_MAX ? malloc(len ? len : 1) : NULL;
		size_t got = 0;
		while (buf && got < len) {
			ssize_t r = read(fd, buf + got, len - got);
			if (r <= 0)
				break;
			got += (size_t)r;
		}
		if (fd >= 0)
			close(fd);
		char *b64 = buf && got == len ? wamd_b64(buf, len) : NULL;
		free(buf);
		if (b64) {
			const char *fname = jstr(j->media, "fileName");
			char defname[160];
			const char *mime = jstr(j->media, "mimetype");
			const char *slash = mime ? strchr(mime, '/') : NULL;
			snprintf(defname, sizeof defname, "%s.%.*s", j->id, slash ? (int)strcspn(slash + 1, "; ") : 3,
				 slash ? slash + 1 : "bin");
			json_t *fl = json_object_get(j->media, "fileLength");
			ans = json_pack("{s:s, s:s, s:o, s:{s:O, s:o, s:o}, s:s, s:s, s:n}", "mediaType", j->type,
					"fileName", fname ? fname : defname, "caption",
					jstr(j->media, "caption") ? json_string(jstr(j->media, "caption")) : json_null(),
					"size", "fileLength", fl ? fl : json_null(), "height",
					json_object_get(j->media, "height") ? json_deep_copy(json_object_get(j->media, "height")) : json_null(),
					"width",
					json_object_get(j->media, "width") ? json_deep_copy(json_object_get(j->media, "width")) : json_null(),
					"mimetype", mime ? mime : "application/octet-stream", "base64", b64, "buffer");
			free(b64);
		}
	}
	unlink(j->path);
	if (c) {
		if (ans)
			wamd_reply_json(c, 201, ans);
		else if (err == WA_ENOTFOUND || err == WA_EMEDIA_GONE)
			/* WA_ENOTFOUND: the media retry gave a path that is gone too */
			wamd_reply_error(c, 404, json_pack("[s]", err == WA_EMEDIA_GONE
				? "media is no longer on the server and the phone no longer has it"
				: "media is no longer on the server (expired)"));
		else if (err == WA_ETIMEOUT)
			wamd_reply_error(c, 504, msg1("media download failed: %s", "the phone did not answer the media retry in time"));
		else
			wamd_reply_error(c, 400, msg1("media download failed: %s", wa_strerror(err ? err : WA_ENOMEM)));
	}
	json_decref(j->media);
	free(j);
}

/* Finds the media message object in a Message (JSON); *type its name. */
static json_t *media_of(json_t *message, const char **type)
{
	for (size_t i = 0; i < sizeof kind_types / sizeof *kind_types; i++) {
		json_t *m = json_object_get(message, kind_types[i]);
		if (json_is_object(m)) {
			*type = kind_types[i];
			return m;
		}
	}
	return NULL;
}

/* Starts the download of a stored message's media to a new staged file
 * (a blob gone from the media host is asked of the phone again); done as
 * b64_done. */
static int start_download(struct wamd_conn *c, struct wamd_tenant *t, json_t *rec,
	void (*done)(void *, int, uint64_t), void *user_of_job, char *path, size_t cap)
{
	int rc = stage_path(c->d, "dl-", path, cap);
	uint64_t len = 0;
	if (rc == 0 && wamd_media_store_link(t, wamd_media_in(json_object_get(rec, "message")), path, &len) == 0) {
		done(user_of_job, 0, len); /* kept on disk (mediaAutoDownload): no download */
		return 0;
	}
	if (rc == 0)
		rc = wamd_tenant_download_media_rec(t, rec, path, done, user_of_job);
	return rc;
}

void wamd_h_get_base64(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	json_t *m = json_object_get(body, "message");
	json_t *key = json_object_get(m, "key");
	const char *id = jstr(key, "id");
	/* always the stored message, never one in the body: its url and
	 * mediaKey would make wamd fetch whatever URL the caller names */
	json_t *message = NULL;
	json_t *rec = NULL;
	if (id) {
		rec = wamd_stored_record(c->d, t->id, id, -1, NULL);
		message = json_object_get(rec, "message");
	}
	if (!id || !json_is_object(message)) {
		json_decref(rec);
		wamd_reply_error(c, 400, json_pack("[s]", id ? "Message not found" : "message.key.id is required"));
		return;
	}
	const char *type = NULL;
	json_t *media = media_of(message, &type);
	if (!media) {
		json_decref(rec);
		wamd_reply_error(c, 400, json_pack("[s]", "The message is not of the media type"));
		return;
	}
	/* the answer holds the whole file as base64 (Evolution's shape) and is
	 * built on the loop: bigger files go through the streaming route */
	json_t *flen = json_object_get(media, "fileLength");
	json_int_t want = json_is_integer(flen) ? json_integer_value(flen)
			  : json_is_string(flen)  ? (json_int_t)strtoll(json_string_value(flen), NULL, 10)
						  : 0;
	if (want > (json_int_t)WAMD_B64_MEDIA_MAX) {
		json_decref(rec);
		wamd_reply_error(c, 400,
				 msg1("The media is larger than %s: download it with GET /wamd/media/{instance}?id=", "64 MiB"));
		return;
	}
	if (!t->sess) {
		json_decref(rec);
		wamd_reply_error(c, 500, json_string("Connection Closed"));
		return;
	}
	struct b64_job *j = calloc(1, sizeof *j);
	struct wamd_ticket *tk = calloc(1, sizeof *tk);
	if (!j || !tk) {
		free(j);
		free(tk);
		json_decref(rec);
		wamd_reply_error(c, 500, json_string("out of memory"));
		return;
	}
	j->tk = tk;
	j->media = json_incref(media);
	snprintf(j->type, sizeof j->type, "%s", type);
	snprintf(j->id, sizeof j->id, "%s", id);
	tk->c = c;
	c->ticket = tk;
	int rc = start_download(c, t, rec, b64_done, j, j->path, sizeof j->path);
	json_decref(rec);
	if (rc != 0) {
		c->ticket = NULL;
		free(tk);
		json_decref(j->media);
		free(j);
		wamd_reply_error(c, 400, msg1("media download failed: %s", wa_strerror(rc)));
	}
}

/* ---- GET /wamd/media/{instance}?id=<message id>: the file itself ---- */

struct stream_job {
	struct wamd_ticket *tk;
	char path[1200];
	char mime[128];
	char range[96]; /* the request's Range header or "" */
};

static void stream_done(void *user, int err, uint64_t len)
{
	struct stream_job *j = user;
	struct wamd_conn *c = j->tk->c;
	free(j->tk);
	int fd = err == 0 && c ? open(j->path, O_RDONLY | O_CLOEXEC) : -1;
	unlink(j->path); /* the open descriptor keeps it readable until the answer is out */
	if (c) {
		c->ticket = NULL;
		uint64_t off = 0, n = len;
		int pr = wamd_range_parse(j->range, len, &off, &n);
		char cr[96];
		if (fd < 0)
			wamd_reply_error(c, wamd_media_err_status(err ? err : WA_EIO),
					 msg1("media download failed: %s", wa_strerror(err ? err : WA_EIO)));
		else if (pr < 0) {
			close(fd);
			wamd_reply_error(c, 416, msg1("Range not satisfiable (the file has %llu bytes)",
						      (unsigned long long)len));
		} else if (pr == 0) {
			snprintf(cr, sizeof cr, "bytes %llu-%llu/%llu", (unsigned long long)off,
				 (unsigned long long)(off + n - 1), (unsigned long long)len);
			wamd_reply_file(c, 206, fd, off, n, j->mime, cr);
		} else {
			wamd_reply_file(c, 200, fd, 0, len, j->mime, NULL);
		}
	} else if (fd >= 0) {
		close(fd);
	}
	free(j);
}

void wamd_h_media_stream(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	(void)body;
	char idb[160];
	const char *id = lws_get_urlarg_by_name(c->wsi, "id=", idb, sizeof idb);
	if (!id || !*id) {
		wamd_reply_error(c, 400, json_pack("[s]", "the message id is required: ?id=<key.id>"));
		return;
	}
	json_t *rec = wamd_stored_record(c->d, t->id, id, -1, NULL);
	json_t *message = json_object_get(rec, "message");
	const char *type = NULL;
	json_t *media = json_is_object(message) ? media_of(message, &type) : NULL;
	if (!media) {
		json_decref(rec);
		wamd_reply_error(c, 404, json_pack("[s]", rec ? "The message is not of the media type" : "Message not found"));
		return;
	}
	if (!t->sess) {
		json_decref(rec);
		wamd_reply_error(c, 500, json_string("Connection Closed"));
		return;
	}
	struct stream_job *j = calloc(1, sizeof *j);
	struct wamd_ticket *tk = calloc(1, sizeof *tk);
	if (!j || !tk) {
		free(j);
		free(tk);
		json_decref(rec);
		wamd_reply_error(c, 500, json_string("out of memory"));
		return;
	}
	const char *mime = jstr(media, "mimetype");
	snprintf(j->mime, sizeof j->mime, "%s", mime && !strpbrk(mime, "\r\n") ? mime : "application/octet-stream");
	if (lws_hdr_copy(c->wsi, j->range, sizeof j->range, WSI_TOKEN_HTTP_RANGE) < 0)
		j->range[0] = '\0';
	j->tk = tk;
	tk->c = c;
	c->ticket = tk;
	int rc = start_download(c, t, rec, stream_done, j, j->path, sizeof j->path);
	json_decref(rec);
	if (rc != 0) {
		c->ticket = NULL;
		free(tk);
		free(j);
		wamd_reply_error(c, 502, msg1("media download failed: %s", wa_strerror(rc)));
	}
}
