/* History sync from our phone (messaging.md §9): every
 * protocolMessage.historySyncNotification is recorded in the store with the
 * message that carried it (history_pending), then imported one at a time:
 * the inline payload, or the blob (media_conn, download and decrypt as
 * "md-msg-hist" media to a temporary file), is inflated and walked as a
 * stream (histsync.h), each conversation unpacked alone and written
 * (chats, contact names, push names, messages deduplicated by chat + id +
 * fromMe) in batches; each batch is one transaction that also records how
 * many conversations are in, and WA_EV_HISTORY is emitted inside it so an
 * embedder's own rows commit with it. After the last batch the pending row
 * goes and the hist_sync receipt the phone waits for is sent. A restart
 * resumes the import after the conversations already committed. */
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "history_sync.pb-c.h"
#include "message.pb-c.h"
#include "pb.h"
#include "session/histsync.h"
#include "session/history_fetch.h"
#include "session/history_json.h"
#include "session/internal.h"
#include "session/media.h"
#include "session/msg.h"
#include "session/msgstate.h"
#include "store/history.h"
#include "util/buf.h"
#include "util/log.h"

#define MOD "history"
#define HIST_TICK_IN (256u << 10)   /* compressed bytes per loop turn at most */
#define HIST_PIECE (16u << 10)      /* fed at a time: a turn ends after a batch commit */
#define HIST_BATCH_MSGS 2000
#define HIST_BATCH_CHATS 200

struct hjob {
	char *msg_id, *chat;
	Wa__Message__HistorySyncNotification *n;
	wa_hs_parser *p;
	wa_hs_inflate *z;
	int fd;                      /* the decrypted blob, or -1 */
	char path[512];
	const uint8_t *in;           /* inline payload (owned by n) */
	size_t in_len, in_off;
	bool have_input, downloading;
	int sync_type;
	unsigned chunk_order, progress;
	bool in_tx;
	bool committed;              /* a batch was committed this turn */
	json_t *chats, *contacts;
	/* the batch's message records as JSON text: each message's JSON from
	 * wa_msg_view_parse goes in as it is, never parsed back into a tree
	 * (that round trip was the largest cost of an import after SQLite) */
	wa_writer msgs;
	size_t n_msgs;
	/* the same messages field by field (ev.u.history.messages): their
	 * strings in one arena, kept as offsets until the flush */
	wa_writer strs;
	struct hmsg *items;
	size_t items_cap;
	size_t batch_convs;
};

/* A message of the batch: offsets into hjob.strs (HM_NONE: absent). */
#define HM_NONE SIZE_MAX
struct hmsg {
	size_t chat, id, participant, json, type, push_name;
	bool from_me;
	int64_t ts;
	int status;
};

/* An on-demand request waiting for the phone's answer. */
struct hdemand {
	struct hdemand *next;
	char id[23];
	char chat[WA_STORE_JID_MAX];
	int64_t due_ms; /* wa_mono_ms */
};

struct wa_history {
	wa_stimer t;
	bool t_ok;
	bool ready;
	struct hjob *job;
	wa_hist_fetch *fetch;
	struct hdemand *demands; /* oldest first (one deadline for all) */
	wa_stimer dt;
	bool dt_ok;
};

static bool jid_ok(const char *j)
{
	return j && *j && strlen(j) < WA_STORE_JID_MAX;
}

static const char *const type_names[] = {
	"INITIAL_BOOTSTRAP", "INITIAL_STATUS_V3", "FULL", "RECENT", "PUSH_NAME", "NON_BLOCKING_DATA", "ON_DEMAND",
};

static void job_free(struct hjob *j)
{
	if (!j)
		return;
	if (j->fd >= 0)
		close(j->fd);
	if (j->path[0])
		unlink(j->path);
	wa_hs_inflate_free(j->z);
	wa_hs_parser_free(j->p);
	if (j->n)
		protobuf_c_message_free_unpacked(&j->n->base, NULL);
	json_decref(j->chats);
	json_decref(j->contacts);
	wa_writer_clear(&j->msgs, false);
	wa_writer_clear(&j->strs, false);
	free(j->items);
	free(j->msg_id);
	free(j->chat);
	free(j);
}

static void batch_reset(struct hjob *j)
{
	json_decref(j->chats);
	json_decref(j->contacts);
	j->chats = json_array();
	j->contacts = json_array();
	wa_writer_clear(&j->msgs, false);
	wa_writer_init(&j->msgs, SIZE_MAX);
	wa_writer_clear(&j->strs, false);
	wa_writer_init(&j->strs, SIZE_MAX);
	j->n_msgs = 0;
	j->batch_convs = 0;
}

static int ensure_tx(wa_session *s, struct hjob *j)
{
	if (j->in_tx)
		return 0;
	int rc = wa_store_begin(s->store);
	if (rc == 0)
		j->in_tx = true;
	return rc;
}

static char *dump(json_t *a)
{
	return a ? json_dumps(a, JSON_COMPACT) : NULL;
}

/* Emits the batch inside its transaction, records progress (or ends the
 * notification), commits. */
static int flush(wa_session *s, struct hjob *j, bool last)
{
	int rc = ensure_tx(s, j);
	if (rc)
		return rc;
	if (!j->chats || !j->contacts)
		rc = WA_ENOMEM;
	/* the array's brackets around the records, and its NUL */
	if (rc == 0)
		rc = j->n_msgs ? wa_wr_bytes(&j->msgs, "]", 2) : wa_wr_bytes(&j->msgs, "[]", 3);
	if (rc)
		rc = WA_ENOMEM;
	char *cj = rc ? NULL : dump(j->chats), *kj = rc ? NULL : dump(j->contacts);
	const char *mj = rc ? NULL : (const char *)j->msgs.p;
	wa_history_msg *hm = rc || !j->n_msgs ? NULL : calloc(j->n_msgs, sizeof *hm);
	if (rc == 0 && (!cj || !kj || !mj || (j->n_msgs && !hm)))
		rc = WA_ENOMEM;
	for (size_t i = 0; hm && i < j->n_msgs; i++) {
		const struct hmsg *it = &j->items[i];
		const char *a = (const char *)j->strs.p;
		hm[i] = (wa_history_msg){
			.chat = a + it->chat, .id = a + it->id,
			.participant = it->participant == HM_NONE ? NULL : a + it->participant,
			.from_me = it->from_me,
			.message_json = it->json == HM_NONE ? NULL : a + it->json,
			.message_type = it->type == HM_NONE ? NULL : a + it->type,
			.timestamp = it->ts,
			.push_name = it->push_name == HM_NONE ? NULL : a + it->push_name,
			.status = it->status,
		};
	}
	if (rc == 0)
		rc = last ? wa_store_hist_del(s->store, s->instance_id, j->msg_id)
			  : wa_store_hist_progress(s->store, s->instance_id, j->msg_id,
				  (int64_t)wa_hs_parser_convs(j->p));
	if (rc == 0 && (json_array_size(j->chats) || json_array_size(j->contacts) || j->n_msgs || last)) {
		wa_event ev = {.type = WA_EV_HISTORY};
		ev.u.history.sync_type = j->sync_type;
		ev.u.history.sync_type_name =
			j->sync_type >= 0 && j->sync_type < (int)(sizeof type_names / sizeof *type_names)
				? type_names[j->sync_type] : "UNKNOWN";
		ev.u.history.chunk_order = j->chunk_order;
		ev.u.history.progress = j->progress;
		ev.u.history.chats_json = cj;
		ev.u.history.contacts_json = kj;
		ev.u.history.messages_json = mj;
		ev.u.history.messages = hm;
		ev.u.history.n_chats = json_array_size(j->chats);
		ev.u.history.n_contacts = json_array_size(j->contacts);
		ev.u.history.n_messages = j->n_msgs;
		ev.u.history.last = last;
		wa_session_emit(s, &ev);
	}
	free(cj);
	free(kj);
	free(hm);
	j->in_tx = false;
	j->committed = true;
	if (rc == 0)
		rc = wa_store_commit(s->store);
	else
		wa_store_rollback(s->store);
	batch_reset(j);
	return rc;
}

/* s into the arena with its NUL: its offset, or HM_NONE for NULL */
static size_t arena_put(wa_writer *wr, const char *s)
{
	if (!s)
		return HM_NONE;
	size_t off = wr->len;
	ign(wa_wr_bytes(wr, s, strlen(s) + 1));
	return off;
}

/* The message field by field for the embedder (the batch's JSON has it
 * too): one arena of strings and a growing array, no allocation per
 * message once they are large enough. */
static int put_item(struct hjob *j, const char *chat, bool from_me, const Wa__WebMessageInfo *w, int64_t ts,
	const wa_msg_view *v, bool with_body)
{
	if (j->n_msgs == j->items_cap) {
		size_t c = j->items_cap ? j->items_cap * 2 : 256;
		struct hmsg *n = realloc(j->items, c * sizeof *n);
		if (!n)
			return WA_ENOMEM;
		j->items = n;
		j->items_cap = c;
	}
	wa_writer *a = &j->strs;
	j->items[j->n_msgs] = (struct hmsg){
		.chat = arena_put(a, chat), .id = arena_put(a, w->key->id), .participant = arena_put(a, w->key->participant),
		.from_me = from_me, .json = with_body ? arena_put(a, v->json) : HM_NONE,
		.type = arena_put(a, v->message_type), .ts = ts, .push_name = arena_put(a, w->push_name),
		.status = w->has_status ? (int)w->status : -1,
	};
	return wa_wr_error(a) ? WA_ENOMEM : 0;
}

static int put_message(wa_session *s, struct hjob *j, const char *chat, const Wa__WebMessageInfo *w)
{
	const Wa__MessageKey *k = w->key;
	if (!k || !k->id || !*k->id || strlen(k->id) > WA_MSG_ID_MAX || !w->message)
		return 0; /* system stubs without content: nothing to show */
	size_t len = protobuf_c_message_get_packed_size(&w->message->base);
	uint8_t *pt = malloc(len ? len : 1);
	if (!pt)
		return WA_ENOMEM;
	protobuf_c_message_pack(&w->message->base, pt);
	bool from_me = k->has_from_me && k->from_me;
	const char *sender = from_me ? NULL : (k->participant ? k->participant : w->participant);
	wa_store_msg m = {
		.chat_jid = chat, .msg_id = k->id, .from_me = from_me, .sender_jid = sender,
		.timestamp = w->has_message_timestamp ? (int64_t)w->message_timestamp : 0,
		.status = from_me ? WA_STORE_MSG_SENT : WA_STORE_MSG_ACKED, .plaintext = pt, .plaintext_len = len,
	};
	if (sender && !jid_ok(sender))
		m.sender_jid = NULL;
	bool existed = false;
	int rc = wa_store_msg_insert(s->store, s->instance_id, &m, &existed);
	if (rc == WA_EINVAL || rc == WA_ETOOBIG) {
		free(pt);
		return 0; /* one malformed message does not stop the import */
	}
	wa_msg_view v;
	if (rc == 0 && !existed && wa_msg_view_of(w->message, &v) == 0) {
		wa_writer *wr = &j->msgs;
		ign(wa_wr_bytes(wr, j->n_msgs ? "," : "[", 1));
		bool first = true;
		wa_hj_put_key(wr, &first, chat, from_me, k);
		/* jansson refuses "\u0000" when reading: such a message went
		 * without its body before, and still does, rather than making the
		 * whole batch unreadable */
		bool with_body = !strstr(v.json, "\\u0000");
		if (with_body)
			wa_hj_put_raw_member(wr, &first, "message", v.json);
		if (v.message_type)
			wa_hj_put_str_member(wr, &first, "messageType", v.message_type);
		else
			wa_hj_put_raw_member(wr, &first, "messageType", "null");
		wa_hj_put_int_member(wr, &first, "messageTimestamp", (long long)m.timestamp);
		if (w->push_name)
			wa_hj_put_str_member(wr, &first, "pushName", w->push_name);
		if (w->has_status)
			wa_hj_put_int_member(wr, &first, "status", (long long)w->status);
		ign(wa_wr_bytes(wr, "}", 1));
		rc = put_item(j, chat, from_me, w, m.timestamp, &v, with_body);
		if (rc == 0)
			j->n_msgs++;
		if (wa_wr_error(wr))
			rc = WA_ENOMEM;
		wa_msg_view_clear(&v);
	}
	free(pt);
	return rc;
}

static int on_conversation(wa_session *s, struct hjob *j, const uint8_t *p, size_t len)
{
	ProtobufCMessage *pm = NULL;
	if (wa_pb_unpack(&pm, &wa__conversation__descriptor, p, len, WA_HS_MAX_RECORD) != 0) {
		wa_log(WA_LOG_WARN, MOD, "a conversation does not decode: skipped");
		return 0;
	}
	Wa__Conversation *c = (Wa__Conversation *)pm;
	int rc = 0;
	if (!c->id || !jid_ok(c->id))
		goto out;
	rc = ensure_tx(s, j);
	if (rc)
		goto out;
	const char *name = c->name ? c->name : c->display_name;
	wa_store_chat ch = {
		.jid = c->id, .name = name,
		.unread_count = c->has_unread_count ? (int64_t)c->unread_count : -1,
		.last_msg_ts = c->has_last_msg_timestamp ? (int64_t)c->last_msg_timestamp : 0,
		.conversation_ts = c->has_conversation_timestamp ? (int64_t)c->conversation_timestamp : 0,
		.archived = c->has_archived ? c->archived : -1,
		.pinned = c->has_pinned ? (int)c->pinned : -1,
		.marked_unread = c->has_marked_as_unread ? c->marked_as_unread : -1,
		.muted_until = c->has_mute_end_time ? (int64_t)c->mute_end_time : WA_STORE_KEEP_MUTE,
		.pn_jid = c->pn_jid && jid_ok(c->pn_jid) ? c->pn_jid : NULL,
		.lid_jid = c->lid_jid && jid_ok(c->lid_jid) ? c->lid_jid : NULL,
	};
	if (name && strlen(name) >= WA_STORE_CHAT_NAME_MAX)
		ch.name = NULL;
	rc = wa_store_chat_put(s->store, s->instance_id, &ch);
	if (rc == 0 && ch.name && !strstr(c->id, "@g.us"))
		rc = wa_store_contact_set_full_name(s->store, s->instance_id, c->id, ch.name);
	if (rc == WA_EINVAL)
		rc = 0;
	if (rc)
		goto out;
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(c->id));
	if (ch.name)
		json_object_set_new(o, "name", json_string(ch.name));
	json_object_set_new(o, "unreadCount", json_integer(c->has_unread_count ? c->unread_count : 0));
	json_object_set_new(o, "conversationTimestamp", json_integer((json_int_t)ch.conversation_ts));
	if (c->has_last_msg_timestamp)
		json_object_set_new(o, "lastMessageRecvTimestamp", json_integer((json_int_t)c->last_msg_timestamp));
	json_object_set_new(o, "archived", json_boolean(c->has_archived && c->archived));
	json_object_set_new(o, "pinned", json_integer(c->has_pinned ? c->pinned : 0));
	json_object_set_new(o, "muteEndTime", json_integer(c->has_mute_end_time ? (json_int_t)c->mute_end_time : 0));
	json_object_set_new(o, "markedAsUnread", json_boolean(c->has_marked_as_unread && c->marked_as_unread));
	if (ch.pn_jid)
		json_object_set_new(o, "pnJid", json_string(ch.pn_jid));
	if (ch.lid_jid)
		json_object_set_new(o, "lidJid", json_string(ch.lid_jid));
	json_array_append_new(j->chats, o);
	if (ch.name && !strstr(c->id, "@g.us"))
		json_array_append_new(j->contacts, json_pack("{s:s, s:s}", "id", c->id, "name", ch.name));
	for (size_t i = 0; rc == 0 && i < c->n_messages; i++)
		if (c->messages[i] && c->messages[i]->message)
			rc = put_message(s, j, c->id, c->messages[i]->message);
	j->batch_convs++;
out:
	protobuf_c_message_free_unpacked(pm, NULL);
	if (rc == 0 && (j->n_msgs >= HIST_BATCH_MSGS || j->batch_convs >= HIST_BATCH_CHATS))
		rc = flush(s, j, false);
	return rc;
}

static int on_pushname(wa_session *s, struct hjob *j, const uint8_t *p, size_t len)
{
	ProtobufCMessage *pm = NULL;
	if (wa_pb_unpack(&pm, &wa__pushname__descriptor, p, len, WA_HS_MAX_RECORD) != 0)
		return 0;
	Wa__Pushname *pn = (Wa__Pushname *)pm;
	int rc = 0;
	if (pn->id && pn->pushname && jid_ok(pn->id) && strlen(pn->pushname) < WA_STORE_PUSH_NAME_MAX) {
		rc = ensure_tx(s, j);
		if (rc == 0)
			rc = wa_store_contact_save(s->store, s->instance_id, pn->id, NULL, pn->pushname);
		if (rc == WA_EINVAL)
			rc = 0;
		else if (rc == 0)
			json_array_append_new(j->contacts, json_pack("{s:s, s:s}", "id", pn->id, "notify", pn->pushname));
	}
	protobuf_c_message_free_unpacked(pm, NULL);
	return rc;
}

static int on_mapping(wa_session *s, struct hjob *j, const uint8_t *p, size_t len)
{
	ProtobufCMessage *pm = NULL;
	if (wa_pb_unpack(&pm, &wa__phone_number_to_lidmapping__descriptor, p, len, WA_HS_MAX_RECORD) != 0)
		return 0;
	Wa__PhoneNumberToLIDMapping *m = (Wa__PhoneNumberToLIDMapping *)pm;
	int rc = 0;
	if (m->pn_jid && m->lid_jid) {
		rc = ensure_tx(s, j);
		if (rc == 0 && wa_store_lid_mapping_save(s->store, s->instance_id, m->pn_jid, m->lid_jid) == WA_EINVAL)
			rc = 0;
	}
	protobuf_c_message_free_unpacked(pm, NULL);
	return rc;
}

static int cb_record(void *user, uint32_t field, uint64_t index, const uint8_t *p, size_t len)
{
	wa_session *s = user;
	struct hjob *j = s->history->job;
	(void)index;
	switch (field) {
	case WA_HS_F_CONVERSATION: return on_conversation(s, j, p, len);
	case WA_HS_F_PUSHNAME: return on_pushname(s, j, p, len);
	case WA_HS_F_LID_MAPPING: return on_mapping(s, j, p, len);
	}
	return 0;
}

static int cb_scalar(void *user, uint32_t field, uint64_t v)
{
	wa_session *s = user;
	struct hjob *j = s->history->job;
	if (field == WA_HS_F_SYNC_TYPE && v < 64)
		j->sync_type = (int)v;
	else if (field == WA_HS_F_CHUNK_ORDER && v <= UINT32_MAX)
		j->chunk_order = (unsigned)v;
	else if (field == WA_HS_F_PROGRESS && v <= 100)
		j->progress = (unsigned)v;
	return 0;
}

static void kick(wa_session *s);
static void job_blob(wa_session *s, struct hjob *j);

static void send_receipt(wa_session *s, const char *chat, const char *id)
{
	if (!s->history->ready)
		return; /* the phone sends it again; the redelivery is answered */
	const char *ids[1] = {id};
	wa_node *r = NULL;
	if (wa_receipt_build(ids, 1, chat, NULL, NULL, "hist_sync", 0, &r) == 0)
		ign(wa_conn_send_node(s, r));
	wa_node_free(r);
}

/* The job ends: done (rc 0) or given up (the notification can never be
 * imported: its row goes too). Transient failures keep the row for the
 * next READY. */
static void job_end(wa_session *s, int rc, bool transient)
{
	struct hjob *j = s->history->job;
	if (j->in_tx) {
		wa_store_rollback(s->store);
		j->in_tx = false;
	}
	if (rc && !transient) {
		wa_log(WA_LOG_WARN, MOD, "history notification %s dropped: %s", j->msg_id, wa_errname(rc));
		ign(wa_store_hist_del(s->store, s->instance_id, j->msg_id));
	} else if (rc) {
		wa_log(WA_LOG_WARN, MOD, "history notification %s paused: %s", j->msg_id, wa_errname(rc));
	}
	if (rc == 0 || !transient)
		send_receipt(s, j->chat, j->msg_id);
	s->history->job = NULL;
	job_free(j);
	if (rc == 0 || !transient)
		kick(s);
}

static void tick(wa_session *s)
{
	struct wa_history *h = s->history;
	struct hjob *j = h ? h->job : NULL;
	if (j && j->downloading)
		job_blob(s, j);
	if (!j || h->job != j || !j->have_input)
		return;
	int rc = 0;
	bool eof = false;
	size_t total = 0;
	uint8_t buf[HIST_PIECE];
	/* one commit per loop turn, so the loop (and an API reading the
	 * store) gets its turn between batches */
	j->committed = false;
	while (rc == 0 && !eof && !j->committed && total < HIST_TICK_IN) {
		size_t got = 0;
		if (j->fd < 0) {
			got = j->in_len - j->in_off < HIST_PIECE ? j->in_len - j->in_off : HIST_PIECE;
			rc = got ? wa_hs_inflate_feed(j->z, j->in + j->in_off, got) : 0;
			j->in_off += got;
			eof = j->in_off == j->in_len;
		} else {
			rc = wa_media_read_some(j->fd, buf, sizeof buf, &got);
			if (rc == 0 && got == 0)
				eof = true;
			else if (rc == 0)
				rc = wa_hs_inflate_feed(j->z, buf, got);
		}
		total += got;
	}
	if (rc == 0 && eof)
		rc = wa_hs_inflate_end(j->z);
	if (rc == 0 && eof)
		rc = flush(s, j, true);
	if (rc) {
		bool transient = rc == WA_EDB || rc == WA_EDB_BUSY || rc == WA_ENOMEM || rc == WA_EIO;
		job_end(s, rc, transient);
		return;
	}
	if (eof) {
		job_end(s, 0, false);
		return;
	}
	wa_stimer_set(&h->t, 0);
}

/* The job's blob: taken when it is there, else started (or awaited). */
static void job_blob(wa_session *s, struct hjob *j)
{
	wa_hist_fetch *f = s->history->fetch;
	bool transient = true;
	int r = wa_hist_fetch_take(f, j->msg_id, j->path, sizeof j->path, &transient);
	if (r == WA_ENOTFOUND) {
		r = wa_hist_fetch_start(s, f, j->msg_id, j->n);
		if (r == 0)
			return; /* wa_history_fetched follows */
		if (r == WA_ESTATE) {
			/* slots held by dropped downloads: one frees soon */
			wa_stimer_set(&s->history->t, 50);
			return;
		}
		transient = r != WA_EINVAL;
	}
	if (r == 0)
		return;
	j->downloading = false;
	if (r == 1) {
		j->fd = open(j->path, O_RDONLY | O_CLOEXEC);
		if (j->fd < 0) {
			job_end(s, WA_EIO, true);
			return;
		}
		j->have_input = true;
		wa_stimer_set(&s->history->t, 0);
		return;
	}
	j->path[0] = '\0';
	job_end(s, r, transient);
}

wa_hist_fetch *wa_history_fetcher(wa_session *s)
{
	return s->history ? s->history->fetch : NULL;
}

void wa_history_fetched(wa_session *s, const char *msg_id)
{
	struct hjob *j = s->history ? s->history->job : NULL;
	if (j && j->downloading && strcmp(j->msg_id, msg_id) == 0)
		wa_stimer_set(&s->history->t, 0); /* tick takes it */
}

/* While one notification is imported, the blobs of the next ones
 * download (history_fetch.h); the fetcher keeps nothing else. */
static void prefetch(wa_session *s)
{
	struct wa_history *h = s->history;
	ProtobufCMessage *pm[WA_HIST_AHEAD] = {0};
	char *ids[WA_HIST_AHEAD] = {0};
	const char *keep[WA_HIST_AHEAD];
	size_t nk = 0;
	if (h->job && !h->job->have_input)
		keep[nk++] = h->job->msg_id; /* job_blob starts it */
	for (int64_t k = h->job ? 1 : 0; nk < WA_HIST_AHEAD && k < 2 * WA_HIST_AHEAD; k++) {
		char *id = NULL, *chat = NULL;
		uint8_t *nb = NULL;
		size_t nl = 0;
		int64_t done = 0;
		if (wa_store_hist_nth(s->store, s->instance_id, k, &id, &chat, &nb, &nl, &done) != 0)
			break;
		ProtobufCMessage *m = NULL;
		if (wa_pb_unpack(&m, &wa__message__history_sync_notification__descriptor, nb, nl,
			    WA_STORE_HIST_NOTIF_MAX) == 0 &&
		    !((Wa__Message__HistorySyncNotification *)m)->has_initial_hist_bootstrap_inline_payload) {
			pm[nk] = m;
			ids[nk] = id;
			keep[nk++] = id;
			id = NULL;
		} else if (m) {
			protobuf_c_message_free_unpacked(m, NULL);
		}
		free(id);
		free(chat);
		free(nb);
	}
	wa_hist_fetch_keep(h->fetch, keep, nk);
	for (size_t i = 0; i < nk; i++) {
		if (pm[i])
			ign(wa_hist_fetch_start(s, h->fetch, ids[i], (Wa__Message__HistorySyncNotification *)pm[i]));
		if (pm[i])
			protobuf_c_message_free_unpacked(pm[i], NULL);
		free(ids[i]);
	}
}

/* Starts the oldest pending import when none runs. */
static void kick(wa_session *s)
{
	struct wa_history *h = s->history;
	if (h && h->job && h->ready)
		prefetch(s); /* a new notification may be next but one */
	if (!h || h->job || !h->ready)
		return;
	char *id = NULL, *chat = NULL;
	uint8_t *nb = NULL;
	size_t nl = 0;
	int64_t done = 0;
	if (wa_store_hist_next(s->store, s->instance_id, &id, &chat, &nb, &nl, &done) != 0)
		return;
	struct hjob *j = calloc(1, sizeof *j);
	if (!j) {
		free(id);
		free(chat);
		free(nb);
		return;
	}
	j->fd = -1;
	j->msg_id = id;
	j->chat = chat;
	h->job = j;
	ProtobufCMessage *pm = NULL;
	int rc = wa_pb_unpack(&pm, &wa__message__history_sync_notification__descriptor, nb, nl,
		WA_STORE_HIST_NOTIF_MAX);
	free(nb);
	if (rc) {
		job_end(s, WA_EPROTO, false);
		return;
	}
	j->n = (Wa__Message__HistorySyncNotification *)pm;
	j->sync_type = j->n->has_sync_type ? (int)j->n->sync_type : 0;
	j->chunk_order = j->n->has_chunk_order ? j->n->chunk_order : 0;
	j->progress = j->n->has_progress ? j->n->progress : 0;
	wa_hs_cb cb = {.scalar = cb_scalar, .record = cb_record, .user = s};
	batch_reset(j);
	rc = wa_hs_parser_new(&cb, done > 0 ? (uint64_t)done : 0, &j->p);
	if (rc == 0)
		rc = wa_hs_inflate_new(j->p, &j->z);
	if (rc) {
		job_end(s, rc, true);
		return;
	}
	if (done > 0)
		wa_log(WA_LOG_INFO, MOD, "history notification %s: resuming after %lld conversations", id, (long long)done);
	if (j->n->has_initial_hist_bootstrap_inline_payload) {
		j->in = j->n->initial_hist_bootstrap_inline_payload.data;
		j->in_len = j->n->initial_hist_bootstrap_inline_payload.len;
		j->have_input = true;
		wa_stimer_set(&h->t, 0);
		prefetch(s);
		return;
	}
	if (!j->n->direct_path || j->n->direct_path[0] != '/') {
		job_end(s, WA_EPROTO, false);
		return;
	}
	j->downloading = true;
	prefetch(s); /* frees the slots nobody waits for, starts this one's and the next */
	if (s->history->job == j && j->downloading)
		job_blob(s, j);
}

static void demand_arm(wa_session *s)
{
	struct wa_history *h = s->history;
	if (!h->dt_ok)
		return;
	if (!h->demands) {
		wa_stimer_cancel(&h->dt);
		return;
	}
	int64_t left = h->demands->due_ms - wa_mono_ms();
	wa_stimer_set(&h->dt, left > 0 ? (uint32_t)left : 0);
}

void wa_history_demand_sent(wa_session *s, const char *request_id, const char *chat)
{
	struct wa_history *h = s->history;
	struct hdemand *d = h ? calloc(1, sizeof *d) : NULL;
	if (!d)
		return;
	snprintf(d->id, sizeof d->id, "%s", request_id);
	snprintf(d->chat, sizeof d->chat, "%s", chat);
	d->due_ms = wa_mono_ms() + s->hist_demand_ms;
	struct hdemand **tail = &h->demands;
	while (*tail)
		tail = &(*tail)->next;
	*tail = d;
	demand_arm(s);
}

static void demand_answered(wa_session *s, const char *request_id)
{
	struct wa_history *h = s->history;
	for (struct hdemand **p = h ? &h->demands : NULL; p && *p; p = &(*p)->next)
		if (strcmp((*p)->id, request_id) == 0) {
			struct hdemand *d = *p;
			*p = d->next;
			free(d);
			demand_arm(s);
			return;
		}
}

/* Reports the requests whose deadline passed, once each. */
static void on_demand_timer(wa_session *s)
{
	struct wa_history *h = s->history;
	int64_t now = wa_mono_ms();
	while (h && h->demands && h->demands->due_ms <= now) {
		struct hdemand *d = h->demands;
		h->demands = d->next;
		wa_log(WA_LOG_WARN, MOD, "on-demand history request %s for %s: no answer from our phone", d->id, d->chat);
		wa_event ev = {.type = WA_EV_HISTORY_DEMAND};
		ev.u.history_demand.request_id = d->id;
		ev.u.history_demand.chat = d->chat;
		ev.u.history_demand.error = WA_ETIMEOUT;
		wa_session_emit(s, &ev);
		free(d);
		h = s->history;
	}
	if (h)
		demand_arm(s);
}

int wa_history_record(wa_session *s, const char *msg_id, const char *chat, const uint8_t *pt, size_t len)
{
	ProtobufCMessage *pm = NULL;
	if (wa_pb_unpack(&pm, &wa__message__descriptor, pt, len, WA_STORE_MAX_PLAINTEXT) != 0)
		return 0;
	Wa__Message *m = (Wa__Message *)pm;
	if (m->device_sent_message && m->device_sent_message->message)
		m = m->device_sent_message->message;
	const Wa__Message__HistorySyncNotification *n =
		m->protocol_message ? m->protocol_message->history_sync_notification : NULL;
	int rc = 0;
	if (n && n->peer_data_request_session_id)
		demand_answered(s, n->peer_data_request_session_id);
	if (n) {
		size_t nl = protobuf_c_message_get_packed_size(&n->base);
		uint8_t *nb = malloc(nl ? nl : 1);
		if (!nb)
			rc = WA_ENOMEM;
		else {
			protobuf_c_message_pack(&n->base, nb);
			rc = nl ? wa_store_hist_add(s->store, s->instance_id, msg_id, chat, nb, nl) : 0;
			if (rc == WA_EINVAL)
				rc = 0; /* too large to be a real one: not imported */
			free(nb);
		}
	}
	protobuf_c_message_free_unpacked(pm, NULL);
	return rc;
}

bool wa_history_pending(wa_session *s, const char *msg_id)
{
	bool p = false;
	return wa_store_hist_pending(s->store, s->instance_id, msg_id, &p) == 0 && p;
}

void wa_history_kick(wa_session *s)
{
	kick(s);
}

static void on_timer(wa_session *s)
{
	tick(s);
}

static int h_init(wa_session *s)
{
	s->history = calloc(1, sizeof *s->history);
	if (!s->history)
		return WA_ENOMEM;
	s->history->fetch = wa_hist_fetch_new();
	if (!s->history->fetch)
		return WA_ENOMEM;
	int rc = wa_stimer_init(s, &s->history->t, on_timer);
	if (rc == 0)
		s->history->t_ok = true;
	if (rc == 0)
		rc = wa_stimer_init(s, &s->history->dt, on_demand_timer);
	if (rc == 0)
		s->history->dt_ok = true;
	return rc;
}

static void h_on_ready(wa_session *s)
{
	if (!s->history)
		return;
	s->history->ready = true;
	kick(s);
}

static void h_on_close(wa_session *s)
{
	/* an import in progress goes on (it needs no connection); its receipt
	 * waits for the phone's redelivery */
	if (s->history)
		s->history->ready = false;
}

static void h_free(wa_session *s)
{
	struct wa_history *h = s->history;
	if (!h)
		return;
	if (h->job) {
		if (h->job->in_tx)
			wa_store_rollback(s->store);
		job_free(h->job);
	}
	wa_hist_fetch_free(h->fetch);
	if (h->t_ok)
		wa_stimer_clear(&h->t);
	if (h->dt_ok)
		wa_stimer_clear(&h->dt);
	while (h->demands) {
		struct hdemand *d = h->demands;
		h->demands = d->next;
		free(d);
	}
	free(h);
	s->history = NULL;
}

const wa_session_ext wa_history_ext = {
	.name = "history",
	.init = h_init,
	.on_ready = h_on_ready,
	.on_close = h_on_close,
	.free = h_free,
};
