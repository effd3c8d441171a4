/* The outbox and its pump: the public send calls (persist the Message and
 * its outbox row, seal at once when nothing has to be fetched), the pump
 * that takes rows in order (recorded stanzas go out as they are, new ones
 * start their preparation in recipients.c), and what happens to a job that
 * fails for good or must wait (a per-chat backoff; other chats go on). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binary/decode.h"
#include "message.pb-c.h"
#include "pb.h"
#include "session/groups.h"
#include "session/kinds.h"
#include "session/msgstate.h"
#include "util/log.h"

#define MOD "msg"

/* A chat whose first queued message waits out a transient usync / pre-key
 * failure: the outbox skips the chat (keeping its order) until `until`,
 * while other chats proceed. Removed when a message of the chat is
 * prepared or fails for good; `fails` drives its doubling backoff. */
typedef struct wa_msg_chat_hold {
	char chat[WA_STORE_JID_MAX];
	int64_t until; /* wa_mono_ms */
	unsigned fails;
	struct wa_msg_chat_hold *next;
} chat_hold;

void wa_msg_job_free(wa_msg_job *j)
{
	if (!j)
		return;
	free(j->msg);
	free(j);
}

void wa_msg_job_fail(wa_session *s, wa_msg_job *j, int err)
{
	const char *why = j->why[0] ? j->why : err == WA_ENOTFOUND ? "no device to deliver to" : wa_errname(err);
	WA_DEBUG(MOD, "[%lld] send %s failed: %s (%s)", (long long)s->instance_id, j->id, wa_errname(err), why);
	ign(wa_store_outbox_set_state(s->store, s->instance_id, j->row, WA_STORE_OUTBOX_FAILED));
	wa_msg_set_status_err(s, j->chat, j->id, WA_MSG_ERROR, err, why);
	wa_msg_hold_drop(s->msg, j->chat);
}

void wa_msg_holds_clear(wa_msg_state *m)
{
	while (m->holds) {
		chat_hold *h = m->holds;
		m->holds = h->next;
		free(h);
	}
	m->n_holds = 0;
	m->hold = false;
}

void wa_msg_hold_drop(wa_msg_state *m, const char *chat)
{
	for (chat_hold **pp = &m->holds; *pp; pp = &(*pp)->next) {
		if (strcmp((*pp)->chat, chat) == 0) {
			chat_hold *h = *pp;
			*pp = h->next;
			free(h);
			m->n_holds--;
			return;
		}
	}
}

/* Arms t_prep for the earliest backoff still running (none: cancelled).
 * A hold whose backoff ended longer than the longest backoff ago is
 * dropped: its chat was served or its rows left the queue another way (a
 * served chat normally drops its hold in job_seal / wa_msg_job_fail). */
static void holds_arm(wa_msg_state *m)
{
	int64_t now = wa_mono_ms(), first = 0;
	for (chat_hold **pp = &m->holds; *pp;) {
		chat_hold *h = *pp;
		if (h->until + (int64_t)WA_MSG_PREP_BACKOFF_MAX_MS < now) {
			*pp = h->next;
			free(h);
			m->n_holds--;
			continue;
		}
		if (h->until > now && (!first || h->until < first))
			first = h->until;
		pp = &h->next;
	}
	if (!m->t_prep_ok)
		return;
	if (!first) {
		wa_stimer_cancel(&m->t_prep);
		return;
	}
	int64_t d = first - now;
	wa_stimer_set(&m->t_prep, (uint32_t)(d > WA_MSG_PREP_BACKOFF_MAX_MS ? WA_MSG_PREP_BACKOFF_MAX_MS : d));
}

void wa_msg_on_prep_timer(wa_session *s)
{
	wa_msg_state *m = s->msg;
	if (!m)
		return;
	m->hold = false;
	holds_arm(m);
	wa_msg_pump(s);
}

/* A transient failure while preparing j: the row stays QUEUED (first of
 * its chat) and the chat is skipped for a backoff (WA_MSG_PREP_BACKOFF_MS
 * doubling per failure of the chat to WA_MSG_PREP_BACKOFF_MAX_MS), or until
 * the next READY when the connection is gone; other chats go on meanwhile.
 * The message keeps its PENDING status. */
void wa_msg_job_defer(wa_session *s, wa_msg_job *j, int err, int code, const char *what)
{
	s->msg->job = NULL;
	WA_DEBUG(MOD, "[%lld] %s for %s failed (%s, code %d)", (long long)s->instance_id, what, j->id,
		wa_errname(err), code);
	char chat[WA_STORE_JID_MAX];
	snprintf(chat, sizeof chat, "%s", j->chat);
	wa_msg_job_free(j);
	wa_msg_chat_defer(s, chat, err);
}

/* The backoff of wa_msg_job_defer for chat, whatever was being prepared
 * (a message's recipients, a media upload). */
void wa_msg_chat_defer(wa_session *s, const char *chat, int err)
{
	wa_msg_state *m = s->msg;
	chat_hold *h = m->holds;
	while (h && strcmp(h->chat, chat) != 0)
		h = h->next;
	unsigned fails = h ? h->fails : 0;
	unsigned shift = fails < 16 ? fails : 16;
	uint32_t delay = WA_MSG_PREP_BACKOFF_MS << shift;
	if (delay > WA_MSG_PREP_BACKOFF_MAX_MS)
		delay = WA_MSG_PREP_BACKOFF_MAX_MS;
	WA_DEBUG(MOD, "[%lld] chat %s: retry in %u ms", (long long)s->instance_id, chat,
		err == WA_ECLOSED ? 0 : delay);
	if (err == WA_ECLOSED || !m->t_prep_ok)
		return; /* msg_on_ready pumps again */
	if (!h && m->n_holds < WA_MSG_MAX_HELD_CHATS && (h = calloc(1, sizeof *h)) != NULL) {
		snprintf(h->chat, sizeof h->chat, "%s", chat);
		h->next = m->holds;
		m->holds = h;
		m->n_holds++;
	}
	if (!h) {
		/* too many chats wait (or no memory): hold the whole outbox */
		m->hold = true;
		wa_stimer_set(&m->t_prep, delay);
		return;
	}
	h->fails++;
	h->until = wa_mono_ms() + delay;
	holds_arm(m);
	wa_msg_pump(s);
}

/* Chats waiting out a backoff or a media upload (the outbox skips them);
 * returns how many. */
static size_t held_chats(const wa_msg_state *m, const char *skip[WA_MSG_MAX_HELD_CHATS])
{
	size_t n_skip = 0;
	int64_t now = wa_mono_ms();
	const char *up = wa_media_upload_chat(m);
	if (up)
		skip[n_skip++] = up;
	for (const chat_hold *h = m->holds; h && n_skip < WA_MSG_MAX_HELD_CHATS; h = h->next)
		if (h->until > now)
			skip[n_skip++] = h->chat;
	return n_skip;
}

/* Sends recorded stanzas and starts the next preparation, in outbox order
 * per chat: chats waiting out a backoff are skipped. */
void wa_msg_pump(wa_session *s)
{
	wa_msg_state *m = s->msg;
	while (ready(s) && !m->job && !m->hold) {
		int64_t row;
		char *id = NULL, *chat = NULL;
		uint8_t *pl = NULL;
		size_t pl_len = 0;
		const char *skip[WA_MSG_MAX_HELD_CHATS];
		size_t n_skip = held_chats(m, skip);
		if (wa_store_outbox_next_skip(s->store, s->instance_id, skip, n_skip, &row, &id, &chat, &pl,
			    &pl_len) != 0)
			return;
		if (pl_len >= 2 && pl[0] == WA_OUTBOX_MEDIA) {
			/* one upload at a time: a second one waits for the first */
			bool started = !wa_media_upload_chat(m) && wa_media_upload_start(s, row, id, chat, pl, pl_len);
			free(id);
			free(chat);
			free(pl);
			if (!started)
				return;
			continue;
		}
		if (pl_len >= 2 && pl[0] == WA_OUTBOX_STANZA) {
			wa_node *n = NULL;
			int rc = wa_bin_decode(pl + 1, pl_len - 1, &n);
			if (rc == 0)
				rc = wa_store_outbox_set_state(s->store, s->instance_id, row, WA_STORE_OUTBOX_SENDING);
			if (rc == 0 && (rc = wa_conn_send_node(s, n)) == 0)
				wa_msg_inflight_add(s, row, id, chat);
			wa_node_free(n);
			if (rc != 0 && rc != WA_ESTATE)
				ign(wa_store_outbox_set_state(s->store, s->instance_id, row, WA_STORE_OUTBOX_FAILED));
			free(id);
			free(chat);
			free(pl);
			if (rc == WA_ESTATE)
				return;
			continue;
		}
		wa_msg_job *j = calloc(1, sizeof *j);
		if (!j || pl_len < 2 || pl[0] != WA_OUTBOX_PLAN || strlen(id) > WA_MSG_ID_MAX ||
		    strlen(chat) >= WA_STORE_JID_MAX) {
			free(j);
			ign(wa_store_outbox_set_state(s->store, s->instance_id, row, WA_STORE_OUTBOX_FAILED));
			free(id);
			free(chat);
			free(pl);
			continue;
		}
		j->row = row;
		snprintf(j->id, sizeof j->id, "%s", id);
		snprintf(j->chat, sizeof j->chat, "%s", chat);
		j->msg_len = pl_len - 1;
		j->msg = malloc(j->msg_len);
		free(id);
		free(chat);
		if (!j->msg) {
			free(pl);
			free(j);
			return;
		}
		memcpy(j->msg, pl + 1, j->msg_len);
		free(pl);
		m->job = j;
		wa_msg_job_start(s, j);
	}
}

/* The fast path of a send, inside the transaction that has just added
 * outbox row j->row: when pump would prepare that row next (connected, no
 * preparation running, no earlier row queued outside a held chat) and
 * needs no network (device lists cached, a session with every device), the
 * message is encrypted and recorded right there, so one commit makes the
 * outbox row, the ratchet steps and the stanza durable together (instead
 * of one commit for the row and another for the ratchet). The work sits in
 * a savepoint: on any failure it is undone, the row stays QUEUED and pump
 * takes the usual path (which reports errors). Returns true with the
 * record (wa_msg_job_seal) when sealed; the caller sends it after its commit. */
static bool seal_now(wa_session *s, wa_msg_job *j, uint8_t **rec_out, size_t *rec_len_out)
{
	wa_msg_state *m = s->msg;
	/* depth 1: the caller's transaction is the outermost, so its commit is
	 * durable before the send (not so when an embedder sends from an event
	 * handler inside another transaction) */
	if (!ready(s) || m->job || m->hold || !wa_store_tx_outermost(s->store))
		return false;
	/* device lists to fetch first? and a session with every device (else
	 * pre-keys to fetch first); a group: every device holds our key */
	char gj[WA_STORE_JID_MAX];
	bool all;
	if (wa_group_jid_norm(j->chat, gj)) {
		all = wa_gstate_ready(s, j->chat);
	} else {
		wa_msg_rcpts r;
		if (wa_msg_recipients(s, j->chat, &r) != 0)
			return false;
		all = r.n_unlisted == 0;
		for (size_t i = 0; all && i < r.n; i++)
			all = r.t[i].cipher == WA_CIPHER_MSG;
		wa_msg_recipients_free(&r);
	}
	if (!all)
		return false;
	const char *skip[WA_MSG_MAX_HELD_CHATS];
	size_t n_skip = held_chats(m, skip);
	int64_t next = 0;
	char *id = NULL, *next_chat = NULL;
	uint8_t *pl = NULL;
	size_t pl_len = 0;
	if (wa_store_outbox_next_skip(s->store, s->instance_id, skip, n_skip, &next, &id, &next_chat, &pl,
		    &pl_len) != 0)
		return false;
	free(id);
	free(next_chat);
	free(pl);
	if (next != j->row)
		return false;
	if (wa_store_begin(s->store) != 0)
		return false;
	uint8_t *rec = NULL;
	size_t rec_len = 0;
	int rc = wa_msg_job_seal(s, j, &rec, &rec_len);
	if (rc == 0)
		rc = wa_store_commit(s->store);
	else
		wa_store_rollback(s->store);
	if (rc != 0) {
		free(rec);
		return false;
	}
	wa_msg_hold_drop(m, j->chat);
	*rec_out = rec;
	*rec_len_out = rec_len;
	return true;
}

/* A queued message's row (and, sealed at once, its ratchet steps and
 * stanza) committed, or lost with the group it was in. */
typedef struct queued {
	wa_session *s;
	wa_msg_job j;
	uint8_t *rec;
	uint8_t *sealed;
	size_t sealed_len;
} queued;

static void queued_done(void *user, int rc)
{
	queued *q = user;
	wa_session *s = q->s;
	if (rc == 0) {
		wa_msg_recent_add(s->msg, q->j.id, q->j.chat);
		wa_msg_emit_status(s, q->j.chat, q->j.id, WA_MSG_PENDING);
		if (q->sealed) {
			wa_msg_send_sealed(s, &q->j, q->sealed, q->sealed_len); /* reads j.msg (rec) */
			/* a group's stale device lists, asked after the stanza left */
			wa_gstate_refresh(s, q->j.chat);
		}
		wa_msg_pump(s);
	} else {
		WA_DEBUG(MOD, "[%lld] %s lost with its group commit (%s)", (long long)s->instance_id, q->j.id,
			wa_errname(rc));
	}
	free(q->sealed);
	free(q->rec);
	free(q);
}

static int queue_message(wa_session *s, const char *chat, const char *id_in, const uint8_t *msg,
	size_t len, const wa_send_opts *opts, char **id_out)
{
	char id[WA_MSG_ID_MAX + 1];
	if (id_in) {
		if (!*id_in || strlen(id_in) > WA_MSG_ID_MAX)
			return WA_EINVAL;
		snprintf(id, sizeof id, "%s", id_in);
	} else {
		char gen[23];
		wa_msg_new_id(wa_session_me_jid(s), now_s(), gen);
		snprintf(id, sizeof id, "%s", gen);
	}
	uint8_t *rec = malloc(len + 1);
	if (!rec)
		return WA_ENOMEM;
	rec[0] = WA_OUTBOX_PLAN;
	memcpy(rec + 1, msg, len);
	wa_store_msg row = {
		.chat_jid = chat, .msg_id = id, .from_me = true, .timestamp = now_s(),
		.status = WA_STORE_MSG_PENDING, .plaintext = msg, .plaintext_len = len,
	};
	bool existed = false;
	wa_msg_job j = {.msg = rec + 1, .msg_len = len};
	snprintf(j.id, sizeof j.id, "%s", id);
	snprintf(j.chat, sizeof j.chat, "%s", chat);
	uint8_t *sealed = NULL;
	size_t sealed_len = 0;
	/* may join the loop turn's group commit: then what follows durability
	 * (the status event, the stanza) waits for it in queued_done */
	int rc = wa_store_begin_grouped(s->store);
	if (rc == 0) {
		rc = wa_store_msg_insert(s->store, s->instance_id, &row, &existed);
		if (rc == 0 && existed)
			rc = WA_EEXIST;
		if (rc == 0)
			rc = wa_store_outbox_add(s->store, s->instance_id, chat, id, rec, len + 1, &j.row);
		if (rc == 0 && opts && opts->in_tx)
			rc = opts->in_tx(opts->in_tx_user, id);
		if (rc == 0)
			seal_now(s, &j, &sealed, &sealed_len);
		if (rc == 0)
			rc = wa_store_commit(s->store);
		else
			wa_store_rollback(s->store);
	}
	wa_msg_flush_identity(s);
	queued *q = rc == 0 ? malloc(sizeof *q) : NULL;
	if (rc == 0 && !q) {
		/* committed (into the group, maybe): without the record of what
		 * follows, the stanza waits in the outbox for the next pump */
		free(sealed);
		sealed = NULL;
	}
	if (rc != 0) {
		free(rec);
		free(sealed); /* never sent: its ratchet steps rolled back with the row */
		return rc;
	}
	char *dup = id_out ? strdup(id) : NULL;
	if (q) {
		*q = (queued){ .s = s, .j = j, .rec = rec, .sealed = sealed, .sealed_len = sealed_len };
		wa_store_after_commit(s->store, queued_done, q);
	} else {
		free(rec);
	}
	if (id_out && !dup)
		return WA_ENOMEM; /* queued all the same; the caller just lacks the id */
	if (id_out)
		*id_out = dup;
	return 0;
}

const wa_msg_quote *wa_msg_opts_quote(wa_session *s, const wa_send_opts *opts, wa_msg_quote *q,
	char qpart[WA_STORE_JID_MAX])
{
	if (!opts || !opts->quoted || !opts->quoted->id)
		return NULL;
	*q = (wa_msg_quote){.id = opts->quoted->id, .text = opts->quoted_text};
	if (opts->quoted_message_json) {
		/* the quoted message itself, as Baileys embeds it (a quoted image
		 * shows its preview); one that does not convert falls back to text */
		uint8_t *pb = NULL;
		size_t len = 0;
		ProtobufCMessage *m = NULL;
		if (wa_msg_pb_from_json(&wa__message__descriptor, opts->quoted_message_json, WA_MSG_MAX_QUOTED, &pb,
			    &len) == 0 &&
		    wa_pb_unpack(&m, &wa__message__descriptor, pb, len, WA_MSG_MAX_QUOTED) == 0)
			q->message = (Wa__Message *)m;
		else
			wa_log(WA_LOG_WARN, "outbox", "quoted message %s: its JSON is not a Message, quoted as text",
			       opts->quoted->id);
		free(pb);
	}
	const char *author = opts->quoted->participant;
	if (!author)
		author = opts->quoted->from_me ? wa_session_me_jid(s) : opts->quoted->remote_jid;
	if (author && wa_msg_user_of(author, qpart, NULL))
		q->participant = qpart;
	return q;
}

void wa_msg_quote_clear(wa_msg_quote *q)
{
	if (q && q->message)
		protobuf_c_message_free_unpacked(&q->message->base, NULL);
	if (q)
		q->message = NULL;
}

int wa_session_send_text(wa_session *s, const char *to, const char *text, const wa_send_opts *opts,
	char **id_out)
{
	if (!s || !s->msg || !text)
		return WA_EINVAL;
	if (!wa_session_me_jid(s))
		return WA_ESTATE;
	char chat[WA_STORE_JID_MAX];
	int rc = wa_msg_chat_of(to, chat);
	if (rc != 0)
		return rc;
	wa_msg_quote q = {0};
	char qpart[WA_STORE_JID_MAX];
	uint8_t secret[WA_MSG_SECRET_LEN];
	wa_rand_bytes(secret, sizeof secret);
	wa_msg_content c = {
		.text = text, .quote = wa_msg_opts_quote(s, opts, &q, qpart), .mentions = opts ? opts->mentions : NULL,
		.n_mentions = opts ? opts->n_mentions : 0, .secret = secret,
		.expiration = opts ? opts->expiration : 0, .ephemeral_ts = opts ? opts->ephemeral_setting_ts : 0,
		.preview = opts && (opts->preview_url || opts->preview_title || opts->preview_description ||
				    opts->preview_thumb) ? opts : NULL,
	};
	uint8_t *msg = NULL;
	size_t len = 0;
	rc = wa_msg_kind_build(c.quote || c.n_mentions || c.expiration || c.preview ? WA_KIND_EXTENDED_TEXT
										       : WA_KIND_CONVERSATION, &c,
		&msg, &len);
	wa_msg_quote_clear(&q);
	if (rc != 0)
		return rc;
	rc = queue_message(s, chat, opts ? opts->id : NULL, msg, len, opts, id_out);
	free(msg);
	return rc;
}

int wa_session_send_reaction(wa_session *s, const wa_msg_key *tgt, const char *emoji, char **id_out)
{
	return wa_session_send_reaction_as(s, tgt, emoji, NULL, id_out);
}

int wa_session_send_reaction_as(wa_session *s, const wa_msg_key *tgt, const char *emoji, const char *id,
				char **id_out)
{
	if (!s || !s->msg || !tgt || !tgt->id || !emoji)
		return WA_EINVAL;
	if (!wa_session_me_jid(s))
		return WA_ESTATE;
	char chat[WA_STORE_JID_MAX];
	int rc = wa_msg_chat_of(tgt->remote_jid, chat);
	if (rc != 0)
		return rc;
	uint8_t *msg = NULL;
	size_t len = 0;
	wa_msg_content c = {
		.target_chat = chat, .target_from_me = tgt->from_me, .target_id = tgt->id,
		.target_participant = tgt->participant, .emoji = emoji, .ts_ms = wa_now_ms(),
	};
	rc = wa_msg_kind_build(WA_KIND_REACTION, &c, &msg, &len);
	if (rc != 0)
		return rc;
	rc = queue_message(s, chat, id, msg, len, NULL, id_out);
	free(msg);
	return rc;
}

int wa_msg_queue(wa_session *s, const char *chat, const char *id, const uint8_t *msg, size_t len,
	char **id_out)
{
	return queue_message(s, chat, id, msg, len, NULL, id_out);
}
