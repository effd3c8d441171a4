/* The phone's message history and its history sync to a new companion
 * (messaging.md §9). POST /_sim/history/seed gives an account a
 * deterministic history of N chats and M messages in all (texts with
 * multi-byte characters, both directions, increasing timestamps, contact
 * names and push names); GET /_sim/history/{phone} lists it as the phone
 * would send it. After a companion's first login the phone sends, in
 * order: INITIAL_BOOTSTRAP (its first chats inline in the notification,
 * zlib-compressed), PUSH_NAME (a blob), then RECENT chunks (FULL when the
 * companion's DeviceProps asked for the whole history) of `chunk_chats`
 * chats each. Blobs are HistorySync, zlib-compressed, encrypted with a
 * fresh media key as "md-msg-hist" media and stored on the media host.
 * Without requireFullSync a chunk carries each chat's newest
 * SIM_HIST_RECENT_MSGS messages only. A companion's on-demand request (a
 * peer message asking for `count` messages older than the oldest it has of
 * one chat) gets them as an ON_DEMAND notification naming the request as
 * its peerDataRequestSessionId. The seed lives in memory. */
#include "sim_msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "history_sync.pb-c.h"
#include "media/cipher.h"
#include "media/keys.h"
#include "message.pb-c.h"
#include "sim_appstate.h"
#include "util/seams.h"

#define SIM_HIST_RECENT_MSGS 20
#define SIM_HIST_MAX_CHATS 100000
#define SIM_HIST_MAX_MSGS 2000000
#define SIM_HIST_INLINE_CHATS 2
#define SIM_HIST_INLINE_MAX 32768
#define SIM_HIST_T0 1700000000

struct seed {
	struct seed *next;
	char phone[SIM_MAX_PHONE + 1];
	unsigned chats, msgs, chunk_chats;
};

static struct seed *g_seeds;

static struct seed *seed_of(const char *phone)
{
	for (struct seed *s = g_seeds; s; s = s->next)
		if (strcmp(s->phone, phone) == 0)
			return s;
	return NULL;
}

/* ---- the deterministic history ---- */

static unsigned msgs_in(const struct seed *s, unsigned c)
{
	return s->msgs / s->chats + (c < s->msgs % s->chats ? 1 : 0);
}

static void chat_jid(unsigned c, char *out, size_t cap)
{
	snprintf(out, cap, "4477%08u@s.whatsapp.net", c);
}

static void msg_id(unsigned c, unsigned m, char *out, size_t cap)
{
	snprintf(out, cap, "3EB0%06X%06X", c, m);
}

static void msg_text(unsigned c, unsigned m, char *out, size_t cap)
{
	static const char *const tails[] = {"", " — olá", " ✓✓", " 😀 emoji", "\nsecond line", " \"quoted\" & <tag>"};
	snprintf(out, cap, "chat %u message %u%s", c, m, tails[(c + m) % 6]);
}

static int64_t msg_t(unsigned c, unsigned m)
{
	return SIM_HIST_T0 + (int64_t)c * 100000 + (int64_t)m * 7;
}

static bool msg_from_me(unsigned c, unsigned m)
{
	return (c + m) % 3 == 0;
}

static void contact_name(unsigned c, char *out, size_t cap)
{
	snprintf(out, cap, "Contato %u ✓", c);
}

/* The chat flags of the seed: a few chats archived, pinned, muted (one for
 * ever), marked unread, so that a companion's import of them is checked. */
static bool chat_archived(unsigned c) { return c % 5 == 1; }
static uint32_t chat_pinned(unsigned c) { return c % 7 == 2 ? (uint32_t)(SIM_HIST_T0 + c) : 0; }
static int64_t chat_mute_end(unsigned c)
{
	return c % 6 == 3 ? (c % 12 == 3 ? -1 : ((int64_t)SIM_HIST_T0 + 86400 * 400 + c) * 1000) : 0;
}
static bool chat_marked_unread(unsigned c) { return c % 9 == 4; }

/* every third one with what a JSON writer has to escape or check (a
 * quote, a backslash, a tab, non-ASCII) */
static void push_name(unsigned c, char *out, size_t cap)
{
	snprintf(out, cap, c % 3 == 2 ? "Push %u \"Zé\" \\\t😀" : "Push %u", c);
}

/* ---- one HistorySync chunk ---- */

struct chunk {
	Wa__HistorySync hs;
	Wa__Conversation *convs;
	Wa__Conversation **convp;
	Wa__HistorySyncMsg *hm, **hmp;
	Wa__WebMessageInfo *wmi;
	Wa__MessageKey *keys;
	Wa__Message *msgs;
	Wa__Pushname *pns, **pnp;
	char *strs;  /* ids, texts, jids, names */
	size_t strs_used, strs_cap;
};

static char *str_put(struct chunk *k, const char *v)
{
	size_t n = strlen(v) + 1;
	if (k->strs_used + n > k->strs_cap)
		return NULL;
	char *p = k->strs + k->strs_used;
	memcpy(p, v, n);
	k->strs_used += n;
	return p;
}

static void chunk_free(struct chunk *k)
{
	free(k->convs);
	free(k->convp);
	free(k->hm);
	free(k->hmp);
	free(k->wmi);
	free(k->keys);
	free(k->msgs);
	free(k->pns);
	free(k->pnp);
	free(k->strs);
}

/* Chats [c0, c1) with their messages (all, the newest `recent`, or those
 * in [range[0], range[1]) when range is given), or, with pushnames, the
 * push names of every chat. */
static int chunk_build(struct chunk *k, const struct seed *s, int type, unsigned order, unsigned progress,
	unsigned c0, unsigned c1, unsigned recent, bool pushnames, const unsigned *range)
{
	memset(k, 0, sizeof *k);
	wa__history_sync__init(&k->hs);
	k->hs.has_sync_type = 1;
	k->hs.sync_type = type;
	k->hs.has_chunk_order = 1;
	k->hs.chunk_order = order;
	k->hs.has_progress = 1;
	k->hs.progress = progress;
	size_t nm = 0, nc = c1 - c0;
	for (unsigned c = c0; c < c1; c++) {
		unsigned n = msgs_in(s, c);
		nm += range ? range[1] - range[0] : recent && n > recent ? recent : n;
	}
	size_t np = pushnames ? s->chats : 0;
	k->strs_cap = nm * 160 + (nc + np) * 128 + 64;
	k->strs = malloc(k->strs_cap);
	k->convs = calloc(nc + 1, sizeof *k->convs);
	k->convp = calloc(nc + 1, sizeof *k->convp);
	k->hm = calloc(nm + 1, sizeof *k->hm);
	k->hmp = calloc(nm + 1, sizeof *k->hmp);
	k->wmi = calloc(nm + 1, sizeof *k->wmi);
	k->keys = calloc(nm + 1, sizeof *k->keys);
	k->msgs = calloc(nm + 1, sizeof *k->msgs);
	k->pns = calloc(np + 1, sizeof *k->pns);
	k->pnp = calloc(np + 1, sizeof *k->pnp);
	if (!k->strs || !k->convs || !k->convp || !k->hm || !k->hmp || !k->wmi || !k->keys || !k->msgs || !k->pns ||
	    !k->pnp)
		return WA_ENOMEM;
	char buf[256];
	size_t mi = 0;
	for (unsigned c = c0; c < c1; c++) {
		Wa__Conversation *cv = &k->convs[c - c0];
		wa__conversation__init(cv);
		chat_jid(c, buf, sizeof buf);
		char *jid = str_put(k, buf);
		cv->id = jid;
		contact_name(c, buf, sizeof buf);
		cv->name = str_put(k, buf);
		unsigned n = msgs_in(s, c), first = recent && n > recent ? n - recent : 0, end = n;
		if (range)
			first = range[0], end = range[1];
		cv->has_unread_count = 1;
		cv->unread_count = c % 4;
		cv->has_archived = 1;
		cv->archived = chat_archived(c);
		cv->has_pinned = chat_pinned(c) != 0;
		cv->pinned = chat_pinned(c);
		cv->has_mute_end_time = chat_mute_end(c) != 0;
		cv->mute_end_time = (uint64_t)chat_mute_end(c);
		cv->has_marked_as_unread = 1;
		cv->marked_as_unread = chat_marked_unread(c);
		cv->has_conversation_timestamp = 1;
		cv->conversation_timestamp = (uint64_t)msg_t(c, n ? n - 1 : 0);
		cv->has_last_msg_timestamp = n > 0;
		cv->last_msg_timestamp = (uint64_t)msg_t(c, n ? n - 1 : 0);
		cv->messages = &k->hmp[mi];
		/* newest first, as the phone orders them */
		for (unsigned m = end; m-- > first;) {
			Wa__HistorySyncMsg *h = &k->hm[mi];
			Wa__WebMessageInfo *w = &k->wmi[mi];
			Wa__MessageKey *key = &k->keys[mi];
			Wa__Message *msg = &k->msgs[mi];
			wa__history_sync_msg__init(h);
			wa__web_message_info__init(w);
			wa__message_key__init(key);
			wa__message__init(msg);
			key->remote_jid = jid;
			key->has_from_me = 1;
			key->from_me = msg_from_me(c, m);
			msg_id(c, m, buf, sizeof buf);
			key->id = str_put(k, buf);
			msg_text(c, m, buf, sizeof buf);
			msg->conversation = str_put(k, buf);
			w->key = key;
			w->message = msg;
			w->has_message_timestamp = 1;
			w->message_timestamp = (uint64_t)msg_t(c, m);
			w->has_status = 1;
			w->status = key->from_me ? WA__WEB_MESSAGE_INFO__STATUS__READ : WA__WEB_MESSAGE_INFO__STATUS__DELIVERY_ACK;
			if (!key->from_me) {
				push_name(c, buf, sizeof buf);
				w->push_name = str_put(k, buf);
			}
			h->message = w;
			h->has_msg_order_id = 1;
			h->msg_order_id = m + 1;
			k->hmp[mi] = h;
			cv->n_messages++;
			mi++;
		}
		k->convp[c - c0] = cv;
	}
	k->hs.n_conversations = nc;
	k->hs.conversations = k->convp;
	for (size_t i = 0; i < np; i++) {
		wa__pushname__init(&k->pns[i]);
		chat_jid((unsigned)i, buf, sizeof buf);
		k->pns[i].id = str_put(k, buf);
		push_name((unsigned)i, buf, sizeof buf);
		k->pns[i].pushname = str_put(k, buf);
		k->pnp[i] = &k->pns[i];
	}
	k->hs.n_pushnames = np;
	k->hs.pushnames = k->pnp;
	return k->strs_used < k->strs_cap ? 0 : WA_ETOOBIG;
}

/* The chunk packed and zlib-compressed (*out malloc'd). */
static int chunk_deflate(struct chunk *k, uint8_t **out, size_t *out_len)
{
	size_t n = wa__history_sync__get_packed_size(&k->hs);
	uint8_t *raw = malloc(n ? n : 1);
	if (!raw)
		return WA_ENOMEM;
	wa__history_sync__pack(&k->hs, raw);
	uLongf zn = compressBound(n);
	uint8_t *z = malloc(zn);
	int rc = z && compress2(z, &zn, raw, n, 6) == Z_OK ? 0 : WA_ENOMEM;
	free(raw);
	if (rc) {
		free(z);
		return rc;
	}
	*out = z;
	*out_len = zn;
	return 0;
}

static void set_bytes(ProtobufCBinaryData *b, protobuf_c_boolean *has, uint8_t *p, size_t n)
{
	b->data = p;
	b->len = n;
	*has = 1;
}

/* One notification: the chunk inline, or uploaded as an encrypted blob. */
static int send_chunk(struct sim *sim, struct sim_account *a, uint32_t dev, struct chunk *k, bool try_inline,
	const char *session, char *id, size_t id_cap)
{
	uint8_t *z = NULL, *blob = NULL;
	size_t zn = 0, bn = 0;
	int rc = chunk_deflate(k, &z, &zn);
	if (rc)
		return rc;
	Wa__Message msg = WA__MESSAGE__INIT;
	Wa__Message__ProtocolMessage pm = WA__MESSAGE__PROTOCOL_MESSAGE__INIT;
	Wa__Message__HistorySyncNotification hs = WA__MESSAGE__HISTORY_SYNC_NOTIFICATION__INIT;
	hs.has_sync_type = 1;
	hs.sync_type = (Wa__Message__HistorySyncType)k->hs.sync_type;
	hs.has_chunk_order = 1;
	hs.chunk_order = k->hs.chunk_order;
	hs.has_progress = 1;
	hs.progress = k->hs.progress;
	hs.peer_data_request_session_id = (char *)session;
	uint8_t mk[32];
	wa_media_result res;
	char direct[160];
	if (try_inline && zn <= SIM_HIST_INLINE_MAX) {
		set_bytes(&hs.initial_hist_bootstrap_inline_payload, &hs.has_initial_hist_bootstrap_inline_payload, z, zn);
	} else {
		wa_media_keys keys;
		wa_rand_bytes(mk, sizeof mk);
		rc = wa_media_keys_derive(&keys, mk, WA_MEDIA_HISTORY);
		if (rc == 0)
			rc = wa_media_encrypt(&blob, &bn, &res, &keys, z, zn);
		wa_media_keys_clear(&keys);
		if (rc == 0)
			rc = sim_media_store(sim, blob, bn, direct, sizeof direct);
		if (rc) {
			free(z);
			free(blob);
			return rc;
		}
		set_bytes(&hs.media_key, &hs.has_media_key, mk, sizeof mk);
		set_bytes(&hs.file_sha256, &hs.has_file_sha256, res.file_sha256, 32);
		set_bytes(&hs.file_enc_sha256, &hs.has_file_enc_sha256, res.file_enc_sha256, 32);
		hs.has_file_length = 1;
		hs.file_length = res.file_length;
		hs.direct_path = direct;
	}
	pm.has_type = 1;
	pm.type = WA__MESSAGE__PROTOCOL_MESSAGE__TYPE__HISTORY_SYNC_NOTIFICATION;
	pm.history_sync_notification = &hs;
	msg.protocol_message = &pm;
	size_t pn = wa__message__get_packed_size(&msg);
	uint8_t *pt = malloc(pn);
	if (!pt)
		rc = WA_ENOMEM;
	else {
		wa__message__pack(&msg, pt);
		rc = sim_phone_send_peer(sim, a, dev, pt, pn, id, id_cap);
	}
	free(pt);
	free(z);
	free(blob);
	return rc;
}

bool sim_history_has(const struct sim_account *a)
{
	return seed_of(a->phone) != NULL;
}

int sim_history_send(struct sim *sim, struct sim_account *a, uint32_t dev, char *last_id, size_t id_cap)
{
	const struct seed *s = seed_of(a->phone);
	struct sim_device *d = sim_device_find(a, dev);
	if (!s || !d)
		return WA_ENOTFOUND;
	bool full = d->full_sync;
	unsigned recent = full ? 0 : SIM_HIST_RECENT_MSGS;
	unsigned inl = s->chats < SIM_HIST_INLINE_CHATS ? s->chats : SIM_HIST_INLINE_CHATS;
	unsigned rest = s->chats - inl;
	unsigned n_chunks = (rest + s->chunk_chats - 1) / s->chunk_chats;
	unsigned total = n_chunks + 2, done = 0;
	struct chunk k;
	int rc = chunk_build(&k, s, WA__HISTORY_SYNC__HISTORY_SYNC_TYPE__INITIAL_BOOTSTRAP, 0, ++done * 100 / total, 0,
		inl, recent, false, NULL);
	if (rc == 0)
		rc = send_chunk(sim, a, dev, &k, true, NULL, last_id, id_cap);
	chunk_free(&k);
	if (rc == 0)
		rc = chunk_build(&k, s, WA__HISTORY_SYNC__HISTORY_SYNC_TYPE__PUSH_NAME, 0, ++done * 100 / total, 0, 0, 0,
			true, NULL);
	if (rc == 0)
		rc = send_chunk(sim, a, dev, &k, false, NULL, last_id, id_cap);
	chunk_free(&k);
	for (unsigned i = 0; rc == 0 && i < n_chunks; i++) {
		unsigned c0 = inl + i * s->chunk_chats, c1 = c0 + s->chunk_chats;
		if (c1 > s->chats)
			c1 = s->chats;
		rc = chunk_build(&k, s,
			full ? WA__HISTORY_SYNC__HISTORY_SYNC_TYPE__FULL : WA__HISTORY_SYNC__HISTORY_SYNC_TYPE__RECENT,
			i + 1, ++done * 100 / total, c0, c1, recent, false, NULL);
		if (rc == 0)
			rc = send_chunk(sim, a, dev, &k, false, NULL, last_id, id_cap);
		chunk_free(&k);
	}
	return rc;
}

/* The seeded chat of jid and the index of message id in it: false when
 * jid or id is not part of the seed. */
static bool seed_msg(const struct seed *s, const char *jid, const char *id, unsigned *c, unsigned *m)
{
	unsigned cc, mm;
	char check[64];
	if (!jid || sscanf(jid, "4477%8u@s.whatsapp.net", &cc) != 1 || cc >= s->chats)
		return false;
	chat_jid(cc, check, sizeof check);
	if (strcmp(check, jid) != 0)
		return false;
	*c = cc;
	if (!id)
		return false;
	if (sscanf(id, "3EB0%*6X%6X", &mm) != 1 || mm >= msgs_in(s, cc))
		return false;
	msg_id(cc, mm, check, sizeof check);
	if (strcmp(check, id) != 0)
		return false;
	*m = mm;
	return true;
}

int sim_history_on_demand(struct sim *sim, struct sim_account *a, uint32_t dev, const char *request_id,
	const char *chat, const char *oldest_id, int64_t oldest_ts_ms, int count)
{
	const struct seed *s = seed_of(a->phone);
	unsigned c = 0, m = 0;
	if (!s || count <= 0)
		return WA_ENOTFOUND;
	if (!seed_msg(s, chat, oldest_id, &c, &m)) {
		/* the oldest message named by its time only (or not seeded) */
		if (!chat || sscanf(chat, "4477%8u@s.whatsapp.net", &c) != 1 || c >= s->chats)
			return WA_ENOTFOUND;
		unsigned n = msgs_in(s, c);
		for (m = 0; m < n && msg_t(c, m) * 1000 < oldest_ts_ms; m++)
			;
	}
	/* the `count` messages just older than the oldest one the companion has */
	unsigned range[2] = {m > (unsigned)count ? m - (unsigned)count : 0, m};
	struct chunk k;
	char id[64];
	int rc = chunk_build(&k, s, WA__HISTORY_SYNC__HISTORY_SYNC_TYPE__ON_DEMAND, 0, 100, c, c + 1, 0, false, range);
	if (rc == 0)
		rc = send_chunk(sim, a, dev, &k, false, request_id, id, sizeof id);
	chunk_free(&k);
	return rc;
}

/* ---- control API ---- */

/* {"phone", "chats", "messages" (in all), "chunk_chats"? (default 50)} */
static int h_seed(struct sim *sim, const struct sim_http_req *req, struct sim_http_resp *resp, void *user)
{
	(void)user;
	const char *phone = json_string_value(json_object_get(req->json, "phone"));
	json_int_t chats = json_integer_value(json_object_get(req->json, "chats"));
	json_int_t msgs = json_integer_value(json_object_get(req->json, "messages"));
	json_t *cc = json_object_get(req->json, "chunk_chats");
	json_int_t chunk = cc ? json_integer_value(cc) : 50;
	if (!phone || chats < 1 || chats > SIM_HIST_MAX_CHATS || msgs < 0 || msgs > SIM_HIST_MAX_MSGS || chunk < 1 ||
	    chunk > 10000) {
		sim_http_error(resp, 400, "need phone, chats (1-100000), messages (0-2000000), chunk_chats (1-10000)");
		return 0;
	}
	if (!sim_account_find(sim, phone)) {
		sim_http_error(resp, 404, "no such account");
		return 0;
	}
	struct seed *s = seed_of(phone);
	if (!s) {
		s = calloc(1, sizeof *s);
		if (!s)
			return WA_ENOMEM;
		snprintf(s->phone, sizeof s->phone, "%s", phone);
		s->next = g_seeds;
		g_seeds = s;
	}
	s->chats = (unsigned)chats;
	s->msgs = (unsigned)msgs;
	s->chunk_chats = (unsigned)chunk;
	sim_http_json(resp, 200, json_pack("{s:I, s:I, s:I}", "chats", chats, "messages", msgs, "chunk_chats", chunk));
	return 0;
}

/* GET /_sim/history/{phone}[?from=C&to=C]: the seeded chats (id, name,
 * push_name, archived, pinned, mute_end, marked_unread) with their messages [{id, from_me, t, text}], oldest first. */
static int h_list(struct sim *sim, const struct sim_http_req *req, struct sim_http_resp *resp, void *user)
{
	(void)user;
	(void)sim;
	const char *phone = req->path + strlen("/_sim/history/");
	const struct seed *s = seed_of(phone);
	if (!s) {
		sim_http_error(resp, 404, "no history seeded for that account");
		return 0;
	}
	unsigned from = 0, to = s->chats;
	const char *q;
	if ((q = strstr(req->query, "from=")))
		from = (unsigned)strtoul(q + 5, NULL, 10);
	if ((q = strstr(req->query, "to=")))
		to = (unsigned)strtoul(q + 3, NULL, 10);
	if (to > s->chats)
		to = s->chats;
	json_t *arr = json_array();
	char buf[256];
	for (unsigned c = from; c < to; c++) {
		json_t *o = json_object();
		chat_jid(c, buf, sizeof buf);
		json_object_set_new(o, "id", json_string(buf));
		contact_name(c, buf, sizeof buf);
		json_object_set_new(o, "name", json_string(buf));
		push_name(c, buf, sizeof buf);
		json_object_set_new(o, "push_name", json_string(buf));
		json_object_set_new(o, "archived", json_boolean(chat_archived(c)));
		json_object_set_new(o, "pinned", json_integer(chat_pinned(c)));
		json_object_set_new(o, "mute_end", json_integer(chat_mute_end(c)));
		json_object_set_new(o, "marked_unread", json_boolean(chat_marked_unread(c)));
		json_t *ms = json_array();
		for (unsigned m = 0; m < msgs_in(s, c); m++) {
			char id[32];
			msg_id(c, m, id, sizeof id);
			msg_text(c, m, buf, sizeof buf);
			json_array_append_new(ms, json_pack("{s:s, s:b, s:I, s:s}", "id", id, "from_me", msg_from_me(c, m),
				"t", (json_int_t)msg_t(c, m), "text", buf));
		}
		json_object_set_new(o, "messages", ms);
		json_array_append_new(arr, o);
	}
	sim_http_json(resp, 200, json_pack("{s:I, s:I, s:o}", "chats", (json_int_t)s->chats, "messages",
		(json_int_t)s->msgs, "list", arr));
	return 0;
}

void sim_history_shutdown(void)
{
	while (g_seeds) {
		struct seed *n = g_seeds->next;
		free(g_seeds);
		g_seeds = n;
	}
}

int sim_history_init(struct sim *sim)
{
	int rc = sim_http_register(sim, "POST", "/_sim/history/seed", h_seed, NULL);
	return rc ? rc : sim_http_register(sim, "GET", "/_sim/history/", h_list, NULL);
}
