/* 1:1 messaging on a wa_session (S2): the send pipeline (outbox -> device
 * lists -> pre-keys -> encrypt for every device -> stanza -> server ack),
 * receiving (decrypt + store in one transaction, then receipt), receipts
 * and message status, retry receipts both ways, PN<->LID learning, presence
 * and the public send functions of include/wa/session.h.
 *
 * Crash safety (the pattern of tests/unit/test_signal_crash.c):
 *  - wa_session_send_text persists the Message (messages table, PENDING)
 *    and an outbox row 'P' before returning;
 *  - the encryption of all devices and the record of the resulting stanza
 *    ('S' + encoded bytes, state SENDING) commit in ONE transaction, and only
 *    then the bytes go out; after a restart or reconnect SENDING rows are
 *    requeued and the recorded bytes are sent again (never a new ratchet
 *    step), until the server acks. When nothing has to be fetched first
 *    (device lists cached, sessions with every device) and the message is
 *    next in outbox order, both steps share the one commit of
 *    wa_session_send_text (seal_now), which still precedes the send;
 *  - an incoming ciphertext is decrypted and its plaintext stored in ONE
 *    transaction, and only then the delivery receipt is sent; a redelivery
 *    is answered from the stored row.
 * Serialisation: everything runs on the loop thread and every crypto step
 * is synchronous, so no two operations on one peer device interleave; the
 * only awaits (usync, pre-key fetch) happen before the encrypt step, which
 * re-checks session existence, and sends are prepared one at a time in
 * outbox order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binary/decode.h"
#include "binary/encode.h"
#include "session/drain.h"
#include "session/msgstate.h"
#include "signal/prekeys.h"
#include "util/log.h"
#include "util/seams.h"

#define MOD "msg"
#define RECENT_IDS 512

typedef struct devcache {
	char user[WA_STORE_JID_MAX];
	int64_t at_ms;
	size_t n;
	uint16_t dev[WA_USYNC_MAX_DEVICES];
	struct devcache *next;
} devcache;

/* A stanza sent on the current connection and not yet acked. After a
 * missed deadline the entry stays (deadline INT64_MAX) while its row is
 * requeued, so the resend finds it and `resends` counts per connection. */
typedef struct inflight {
	char id[WA_MSG_ID_MAX + 1];
	char chat[WA_STORE_JID_MAX];
	int64_t row;
	int64_t deadline;
	unsigned resends;
	struct inflight *next;
} inflight;

typedef struct retry_track {
	char key[WA_MSG_ID_MAX + WA_STORE_JID_MAX + 2];
	unsigned count;
	struct retry_track *next;
} retry_track;

typedef struct job {
	int64_t row;
	char id[WA_MSG_ID_MAX + 1];
	char chat[WA_STORE_JID_MAX];
	uint8_t *msg; /* unpadded Message */
	size_t msg_len;
	unsigned gen;
	char why[64]; /* reason for an ERROR status when the job fails */
} job;

/* A chat whose first queued message waits out a transient usync / pre-key
 * failure: the outbox skips the chat (keeping its order) until `until`,
 * while other chats proceed. Removed when a message of the chat is
 * prepared or fails for good; `fails` drives its doubling backoff. */
typedef struct chat_hold {
	char chat[WA_STORE_JID_MAX];
	int64_t until; /* wa_mono_ms */
	unsigned fails;
	struct chat_hold *next;
} chat_hold;

typedef struct wa_msg_state {
	devcache *dc;
	size_t n_dc;
	inflight *fl;
	retry_track *rt;
	size_t n_rt;
	job *job;
	bool ready;
	unsigned gen;
	wa_stimer t_ack;
	bool t_ack_ok;
	wa_drain *drain; /* group commit of offline messages (drain.h) */
	/* a transient usync / pre-key failure holds its chat (in order) and
	 * retries after a backoff on the same connection, other chats go on;
	 * READY retries at once. `hold` stops the whole outbox only when more
	 * than WA_MSG_MAX_HELD_CHATS chats wait. */
	wa_stimer t_prep;
	bool t_prep_ok;
	bool hold;
	chat_hold *holds;
	size_t n_holds;
	char pending_ident[WA_MSG_MAX_PENDING_EVENTS][WA_STORE_JID_MAX + 8];
	size_t n_pending;
	struct {
		char id[WA_MSG_ID_MAX + 1];
		char chat[WA_STORE_JID_MAX];
	} recent[RECENT_IDS];
	size_t recent_next;
} wa_msg_state;

static void pump(wa_session *s);
static void hold_drop(wa_msg_state *m, const char *chat);

/* Best-effort store writes whose failure only costs a status update or a
 * resend (the next READY or redelivery repeats them). */
static void ign(int rc)
{
	(void)rc;
}

/* ---------------- helpers ---------------- */

static int64_t now_s(void)
{
	return wa_now_ms() / 1000;
}

static bool ready(const wa_session *s)
{
	return s->msg && s->msg->ready && s->state == WA_CONN_READY;
}

static int send_node(wa_session *s, wa_node *n)
{
	int rc = wa_conn_send_node(s, n);
	wa_node_free(n);
	return rc;
}

/* "user@server" of any JID text; false when it does not parse. */
static bool user_of(const char *jid, char out[WA_STORE_JID_MAX], wa_jid *parsed)
{
	wa_jid j;
	if (!jid || wa_jid_parse(&j, jid) != 0 || wa_msg_user_jid(&j, out, WA_STORE_JID_MAX) != 0)
		return false;
	if (parsed)
		*parsed = j;
	return true;
}

static void recent_add(wa_msg_state *m, const char *id, const char *chat)
{
	size_t i = m->recent_next++ % RECENT_IDS;
	snprintf(m->recent[i].id, sizeof m->recent[i].id, "%s", id);
	snprintf(m->recent[i].chat, sizeof m->recent[i].chat, "%s", chat);
}

static const char *recent_chat(const wa_msg_state *m, const char *id)
{
	for (size_t i = 0; i < RECENT_IDS; i++)
		if (m->recent[i].id[0] && strcmp(m->recent[i].id, id) == 0)
			return m->recent[i].chat;
	return NULL;
}

/* ---------------- PN <-> LID ---------------- */

/* The other namespace's user JID for user (malloc'd) or NULL. */
static char *alt_user(wa_session *s, const char *user)
{
	wa_jid j;
	char *out = NULL;
	if (wa_jid_parse(&j, user) != 0)
		return NULL;
	if (wa_msg_jid_is_pn(&j)) {
		if (wa_store_lid_for_pn(s->store, s->instance_id, user, &out) != 0)
			out = NULL;
	} else if (wa_msg_jid_is_lid(&j)) {
		if (wa_store_pn_for_lid(s->store, s->instance_id, user, &out) != 0)
			out = NULL;
	}
	return out;
}

/* Moves PN-addressed sessions to the LID address (one session per device,
 * whichever namespace a stanza uses). */
static void migrate_sessions(wa_session *s, const wa_jid *pn, const wa_jid *lid)
{
	char pn_name[WA_STORE_JID_MAX], lid_name[WA_STORE_JID_MAX];
	if (wa_msg_addr_name(pn, pn_name, sizeof pn_name) != 0 ||
	    wa_msg_addr_name(lid, lid_name, sizeof lid_name) != 0)
		return;
	int32_t *ids = NULL;
	size_t n = 0;
	if (wa_store_session_devices(s->store, s->instance_id, pn_name, &ids, &n) != 0 || n == 0) {
		free(ids);
		return;
	}
	if (wa_store_begin(s->store) != 0) {
		free(ids);
		return;
	}
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		bool ex = false;
		uint8_t *rec = NULL;
		size_t rl = 0;
		rc = wa_store_session_exists(s->store, s->instance_id, lid_name, ids[i], &ex);
		if (rc == 0 && !ex) {
			rc = wa_store_session_load(s->store, s->instance_id, pn_name, ids[i], &rec, &rl);
			if (rc == 0)
				rc = wa_store_session_save(s->store, s->instance_id, lid_name, ids[i], rec, rl);
			wa_store_free(rec, rl);
		}
		if (rc == 0)
			rc = wa_store_session_delete(s->store, s->instance_id, pn_name, ids[i]);
	}
	if (rc == 0)
		rc = wa_store_commit(s->store);
	else
		wa_store_rollback(s->store);
	free(ids);
	WA_DEBUG(MOD, "[%lld] %zu session(s) of %s moved to its LID: %s", (long long)s->instance_id, n,
		pn->user, wa_errname(rc));
}

/* Learns that a and b (any devices, either order) are the same account. */
static void learn_mapping(wa_session *s, const char *a, const char *b)
{
	wa_jid ja, jb;
	char ua[WA_STORE_JID_MAX], ub[WA_STORE_JID_MAX];
	if (!user_of(a, ua, &ja) || !user_of(b, ub, &jb))
		return;
	const char *pn = NULL, *lid = NULL;
	wa_jid jpn, jlid;
	if (wa_msg_jid_is_pn(&ja) && wa_msg_jid_is_lid(&jb)) {
		pn = ua, lid = ub, jpn = ja, jlid = jb;
	} else if (wa_msg_jid_is_lid(&ja) && wa_msg_jid_is_pn(&jb)) {
		pn = ub, lid = ua, jpn = jb, jlid = ja;
	} else {
		return;
	}
	char *known = NULL;
	if (wa_store_lid_for_pn(s->store, s->instance_id, pn, &known) == 0 && known &&
	    strcmp(known, lid) == 0) {
		free(known);
		return;
	}
	free(known);
	if (wa_store_lid_mapping_save(s->store, s->instance_id, pn, lid) != 0)
		return;
	ign(wa_store_contact_save(s->store, s->instance_id, pn, lid, NULL));
	migrate_sessions(s, &jpn, &jlid);
	wa_event ev = {.type = WA_EV_CONTACT};
	ev.u.contact.jid = pn;
	ev.u.contact.lid = lid;
	wa_session_emit(s, &ev);
}

/* Signal address of a device JID: LID-keyed when the mapping is known. */
static int addr_for(wa_session *s, const wa_jid *dev, char name[WA_STORE_JID_MAX])
{
	if (wa_msg_jid_is_pn(dev)) {
		char u[WA_STORE_JID_MAX];
		if (wa_msg_user_jid(dev, u, sizeof u) == 0) {
			char *lid = alt_user(s, u);
			wa_jid lj;
			if (lid && wa_jid_parse(&lj, lid) == 0) {
				free(lid);
				return wa_msg_addr_name(&lj, name, WA_STORE_JID_MAX);
			}
			free(lid);
		}
	}
	return wa_msg_addr_name(dev, name, WA_STORE_JID_MAX);
}

/* ---------------- identity-change events ---------------- */

static void on_identity_changed(const char *name, int32_t device, void *user)
{
	wa_session *s = user;
	wa_msg_state *m = s->msg;
	(void)device;
	if (!m || m->n_pending >= WA_MSG_MAX_PENDING_EVENTS)
		return;
	char *dst = m->pending_ident[m->n_pending];
	size_t nl = strlen(name);
	if (nl > 2 && strcmp(name + nl - 2, "_1") == 0)
		snprintf(dst, WA_STORE_JID_MAX + 8, "%.*s@lid", (int)(nl - 2), name);
	else if (!strchr(name, '_'))
		snprintf(dst, WA_STORE_JID_MAX + 8, "%s@s.whatsapp.net", name);
	else
		return;
	m->n_pending++;
}

/* Emits identity changes queued during a crypto step (the callback must not
 * re-enter wa_sig, and an embedder may send from its event handler). */
static void flush_identity(wa_session *s)
{
	wa_msg_state *m = s->msg;
	for (size_t i = 0; m && i < m->n_pending; i++) {
		wa_event ev = {.type = WA_EV_IDENTITY_CHANGED};
		ev.u.identity.jid = m->pending_ident[i];
		wa_session_emit(s, &ev);
	}
	if (m)
		m->n_pending = 0;
}

/* ---------------- message status ---------------- */

static int store_status(enum wa_msg_status st)
{
	switch (st) {
	case WA_MSG_PENDING: return WA_STORE_MSG_PENDING;
	case WA_MSG_SENT: return WA_STORE_MSG_SENT;
	case WA_MSG_DELIVERED: return WA_STORE_MSG_DELIVERED;
	case WA_MSG_READ: case WA_MSG_PLAYED: return WA_STORE_MSG_READ;
	default: return WA_STORE_MSG_FAILED;
	}
}

static void emit_status_err(wa_session *s, const char *chat, const char *id, enum wa_msg_status st,
	int err, const char *why)
{
	char *alt = alt_user(s, chat);
	wa_jid cj;
	bool is_lid = wa_jid_parse(&cj, chat) == 0 && wa_msg_jid_is_lid(&cj);
	wa_event ev = {.type = WA_EV_MESSAGE_STATUS};
	ev.u.message_status.key.remote_jid = is_lid && alt ? alt : chat;
	ev.u.message_status.key.remote_lid = is_lid ? chat : alt;
	ev.u.message_status.key.from_me = true;
	ev.u.message_status.key.id = id;
	ev.u.message_status.status = st;
	ev.u.message_status.timestamp = now_s();
	if (st == WA_MSG_ERROR) {
		ev.u.message_status.error = err ? err : WA_EPROTO;
		ev.u.message_status.reason = why ? why : wa_errname(ev.u.message_status.error);
	}
	wa_session_emit(s, &ev);
	free(alt);
}

static void emit_status(wa_session *s, const char *chat, const char *id, enum wa_msg_status st)
{
	emit_status_err(s, chat, id, st, 0, NULL);
}

/* Raises the stored status of our message (never lowers it, except to
 * ERROR from PENDING). Returns whether it was found; *changed: whether the
 * caller must emit the change. */
static bool raise_status(wa_session *s, const char *chat, const char *id, enum wa_msg_status st,
	bool *changed)
{
	*changed = false;
	wa_store_msg_row *row = NULL;
	if (wa_store_msg_load(s->store, s->instance_id, chat, id, true, &row) != 0)
		return false;
	int cur = row->status;
	wa_store_msg_row_free(row);
	int want = store_status(st);
	bool change;
	if (st == WA_MSG_ERROR)
		change = cur == WA_STORE_MSG_PENDING;
	else
		change = cur == WA_STORE_MSG_FAILED ? false : want > cur;
	if (change && wa_store_msg_set_status(s->store, s->instance_id, chat, id, true, want) == 0)
		*changed = true;
	return true;
}

/* raise_status, then emits the change (err/why: for ERROR). Returns true
 * when found. */
static bool set_status_err(wa_session *s, const char *chat, const char *id, enum wa_msg_status st,
	int err, const char *why)
{
	bool changed = false;
	bool found = raise_status(s, chat, id, st, &changed);
	if (changed)
		emit_status_err(s, chat, id, st, err, why);
	return found;
}

static bool set_status(wa_session *s, const char *chat, const char *id, enum wa_msg_status st)
{
	return set_status_err(s, chat, id, st, 0, NULL);
}

/* Finds the chat under which our message id is stored; out gets it. */
static bool find_own_msg(wa_session *s, const char *id, const char *hint_user, char out[WA_STORE_JID_MAX])
{
	wa_store_msg_row *row = NULL;
	const char *cands[3] = {hint_user, NULL, recent_chat(s->msg, id)};
	char *alt = hint_user ? alt_user(s, hint_user) : NULL;
	cands[1] = alt;
	bool ok = false;
	for (int i = 0; i < 3 && !ok; i++) {
		if (!cands[i])
			continue;
		if (wa_store_msg_load(s->store, s->instance_id, cands[i], id, true, &row) == 0) {
			snprintf(out, WA_STORE_JID_MAX, "%s", cands[i]);
			wa_store_msg_row_free(row);
			ok = true;
		}
	}
	free(alt);
	return ok;
}

/* ---------------- in-flight (awaiting server ack) ---------------- */

static void arm_ack_timer(wa_session *s)
{
	wa_msg_state *m = s->msg;
	if (!m->t_ack_ok)
		return;
	int64_t first = INT64_MAX;
	for (inflight *f = m->fl; f; f = f->next)
		if (f->deadline < first)
			first = f->deadline;
	if (first == INT64_MAX) {
		wa_stimer_cancel(&m->t_ack);
		return;
	}
	int64_t d = first - wa_mono_ms();
	wa_stimer_set(&m->t_ack, d < 1 ? 1 : (uint32_t)(d > 0x7fffffff ? 0x7fffffff : d));
}

static void inflight_add(wa_session *s, int64_t row, const char *id, const char *chat)
{
	inflight *f = s->msg->fl;
	while (f && f->row != row)
		f = f->next;
	if (!f) {
		f = calloc(1, sizeof *f);
		if (!f)
			return; /* the ack then only updates the status; the row stays SENDING until requeued */
		f->row = row;
		f->next = s->msg->fl;
		s->msg->fl = f;
	}
	snprintf(f->id, sizeof f->id, "%s", id);
	snprintf(f->chat, sizeof f->chat, "%s", chat);
	f->deadline = wa_mono_ms() + (s->ack_timeout_ms ? s->ack_timeout_ms : WA_MSG_ACK_TIMEOUT_MS);
	arm_ack_timer(s);
}

static inflight *inflight_take(wa_msg_state *m, const char *id)
{
	for (inflight **pp = &m->fl; *pp; pp = &(*pp)->next) {
		if (strcmp((*pp)->id, id) == 0) {
			inflight *f = *pp;
			*pp = f->next;
			return f;
		}
	}
	return NULL;
}

static void inflight_clear(wa_msg_state *m)
{
	while (m->fl) {
		inflight *f = m->fl;
		m->fl = f->next;
		free(f);
	}
}

/* A missed ack deadline resends the recorded stanza on the same connection
 * (a lost ack or stanza on a live connection). After WA_MSG_MAX_ACK_RESENDS
 * resends of one stanza the connection itself is suspect (the keep-alive
 * may still be answered by a server that drops our messages): it is
 * recycled, and after the reconnect every unacked row goes out again from
 * the outbox. */
static void on_ack_timer(wa_session *s)
{
	wa_msg_state *m = s->msg;
	if (!m)
		return;
	int64_t now = wa_mono_ms();
	bool any = false;
	for (inflight *f = m->fl; f; f = f->next) {
		if (f->deadline > now)
			continue;
		if (f->resends >= WA_MSG_MAX_ACK_RESENDS) {
			WA_DEBUG(MOD, "[%lld] no server ack for %s after %u resends: recycling the connection",
				(long long)s->instance_id, f->id, f->resends);
			/* tears down (msg_on_close frees m->fl); READY requeues */
			wa_conn_fail(s, WA_DISC_TIMEOUT, WA_ETIMEOUT);
			return;
		}
		WA_DEBUG(MOD, "[%lld] no server ack for %s: resending", (long long)s->instance_id, f->id);
		ign(wa_store_outbox_set_state(s->store, s->instance_id, f->row, WA_STORE_OUTBOX_QUEUED));
		f->resends++;
		f->deadline = INT64_MAX; /* until pump sends it again */
		any = true;
	}
	arm_ack_timer(s);
	if (any)
		pump(s);
}

/* ---------------- device cache ---------------- */

static devcache *dc_get(wa_msg_state *m, const char *user)
{
	for (devcache *d = m->dc; d; d = d->next)
		if (strcmp(d->user, user) == 0)
			return wa_mono_ms() - d->at_ms < WA_MSG_DEVCACHE_TTL_MS ? d : NULL;
	return NULL;
}

static void dc_put(wa_msg_state *m, const char *user, const uint16_t *dev, size_t n)
{
	devcache *d = NULL;
	for (devcache *x = m->dc; x; x = x->next)
		if (strcmp(x->user, user) == 0)
			d = x;
	if (!d) {
		if (m->n_dc >= WA_MSG_MAX_DEVCACHE) {
			/* drop the whole cache: it only costs a usync per user */
			while (m->dc) {
				devcache *x = m->dc;
				m->dc = x->next;
				free(x);
			}
			m->n_dc = 0;
		}
		d = calloc(1, sizeof *d);
		if (!d)
			return;
		snprintf(d->user, sizeof d->user, "%s", user);
		d->next = m->dc;
		m->dc = d;
		m->n_dc++;
	}
	d->n = n > WA_USYNC_MAX_DEVICES ? WA_USYNC_MAX_DEVICES : n;
	memcpy(d->dev, dev, d->n * sizeof *dev);
	d->at_ms = wa_mono_ms();
}

static void dc_drop(wa_msg_state *m, const char *user)
{
	for (devcache **pp = &m->dc; *pp; pp = &(*pp)->next) {
		if (strcmp((*pp)->user, user) == 0) {
			devcache *x = *pp;
			*pp = x->next;
			free(x);
			m->n_dc--;
			return;
		}
	}
}

/* ---------------- the send pipeline ---------------- */

static void job_free(job *j)
{
	if (!j)
		return;
	free(j->msg);
	free(j);
}

/* Own user JID in the namespace of chat (own LID for LID chats). */
static bool own_user_for(wa_session *s, const wa_jid *chat, char out[WA_STORE_JID_MAX], wa_jid *own_dev)
{
	const char *me = wa_msg_jid_is_lid(chat) ? wa_session_me_lid(s) : wa_session_me_jid(s);
	if (!me)
		me = wa_session_me_jid(s);
	return me && user_of(me, out, own_dev);
}

static void job_fail(wa_session *s, job *j, int err)
{
	const char *why = j->why[0] ? j->why : err == WA_ENOTFOUND ? "no device to deliver to" : wa_errname(err);
	WA_DEBUG(MOD, "[%lld] send %s failed: %s (%s)", (long long)s->instance_id, j->id, wa_errname(err), why);
	ign(wa_store_outbox_set_state(s->store, s->instance_id, j->row, WA_STORE_OUTBOX_FAILED));
	set_status_err(s, j->chat, j->id, WA_MSG_ERROR, err, why);
	hold_drop(s->msg, j->chat);
}

/* The code of an <iq type="error"> answer (0 without one). */
static int iq_error_code(int err, const wa_node *resp)
{
	if (err != WA_EPROTO || !resp)
		return 0;
	const wa_node *e = wa_node_child(resp, "error");
	const char *cs = e ? wa_node_attr(e, "code") : NULL;
	return cs ? atoi(cs) : 0;
}

/* Whether an iq failure is worth retrying: no answer (timeout, connection
 * gone) or a server-side error (5xx, 429 rate limit, 408). Any other answer
 * (4xx: 404 not found, 406 not acceptable, ...) is final. code: from
 * iq_error_code (returned by value: GCC -O3 flagged the former out-param
 * as a dangling pointer and broke the release build). */
static bool iq_transient(int err, const wa_node *resp, int code)
{
	if (err == WA_ECLOSED || err == WA_ETIMEOUT || err == WA_ESTATE)
		return true;
	if (err != WA_EPROTO || !resp)
		return false;
	return code <= 0 || code >= 500 || code == 429 || code == 408;
}

static void holds_clear(wa_msg_state *m)
{
	while (m->holds) {
		chat_hold *h = m->holds;
		m->holds = h->next;
		free(h);
	}
	m->n_holds = 0;
	m->hold = false;
}

static void hold_drop(wa_msg_state *m, const char *chat)
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
 * served chat normally drops its hold in job_seal / job_fail). */
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

static void on_prep_timer(wa_session *s)
{
	wa_msg_state *m = s->msg;
	if (!m)
		return;
	m->hold = false;
	holds_arm(m);
	pump(s);
}

/* A transient failure while preparing j: the row stays QUEUED (first of
 * its chat) and the chat is skipped for a backoff (WA_MSG_PREP_BACKOFF_MS
 * doubling per failure of the chat to WA_MSG_PREP_BACKOFF_MAX_MS), or until
 * the next READY when the connection is gone; other chats go on meanwhile.
 * The message keeps its PENDING status. */
static void job_defer(wa_session *s, job *j, int err, int code, const char *what)
{
	wa_msg_state *m = s->msg;
	m->job = NULL;
	chat_hold *h = m->holds;
	while (h && strcmp(h->chat, j->chat) != 0)
		h = h->next;
	unsigned fails = h ? h->fails : 0;
	unsigned shift = fails < 16 ? fails : 16;
	uint32_t delay = WA_MSG_PREP_BACKOFF_MS << shift;
	if (delay > WA_MSG_PREP_BACKOFF_MAX_MS)
		delay = WA_MSG_PREP_BACKOFF_MAX_MS;
	WA_DEBUG(MOD, "[%lld] %s for %s failed (%s, code %d): retry in %u ms", (long long)s->instance_id, what,
		j->id, wa_errname(err), code, err == WA_ECLOSED ? 0 : delay);
	if (err == WA_ECLOSED || !m->t_prep_ok) {
		job_free(j);
		return; /* msg_on_ready pumps again */
	}
	if (!h && m->n_holds < WA_MSG_MAX_HELD_CHATS && (h = calloc(1, sizeof *h)) != NULL) {
		snprintf(h->chat, sizeof h->chat, "%s", j->chat);
		h->next = m->holds;
		m->holds = h;
		m->n_holds++;
	}
	job_free(j);
	if (!h) {
		/* too many chats wait (or no memory): hold the whole outbox */
		m->hold = true;
		wa_stimer_set(&m->t_prep, delay);
		return;
	}
	h->fails++;
	h->until = wa_mono_ms() + delay;
	holds_arm(m);
	pump(s);
}

typedef struct target {
	char jid[WA_STORE_JID_MAX];
	char addr[WA_STORE_JID_MAX];
	int32_t device;
	bool own;
} target;

/* Device JIDs to encrypt for: every device of the peer and our other devices. */
static int collect_targets(wa_session *s, job *j, target **out, size_t *n_out)
{
	wa_jid chat, own_dev;
	char own_user[WA_STORE_JID_MAX];
	if (wa_jid_parse(&chat, j->chat) != 0 || !own_user_for(s, &chat, own_user, &own_dev))
		return WA_EINVAL;
	wa_jid me_pn;
	const char *mej = wa_session_me_jid(s);
	uint16_t my_device = mej && wa_jid_parse(&me_pn, mej) == 0 ? me_pn.device : 0;
	const char *users[2] = {j->chat, own_user};
	size_t cap = 2 * WA_USYNC_MAX_DEVICES;
	target *t = calloc(cap, sizeof *t);
	if (!t)
		return WA_ENOMEM;
	size_t n = 0;
	for (int u = 0; u < 2; u++) {
		devcache *d = dc_get(s->msg, users[u]);
		if (!d)
			continue;
		wa_jid uj;
		if (wa_jid_parse(&uj, users[u]) != 0)
			continue;
		for (size_t k = 0; k < d->n && n < cap; k++) {
			if (u == 1 && d->dev[k] == my_device)
				continue;
			wa_jid dj;
			if (d->dev[k] == 0) {
				dj = uj;
			} else if (wa_jid_make_ad(&dj, uj.user, wa_msg_jid_is_lid(&uj) ? WA_JID_DOMAIN_LID :
							  WA_JID_DOMAIN_WHATSAPP, (uint8_t)d->dev[k]) != 0) {
				continue;
			}
			target *x = &t[n];
			if (wa_jid_format(&dj, x->jid, sizeof x->jid) < 0 || addr_for(s, &dj, x->addr) != 0)
				continue;
			x->device = d->dev[k];
			x->own = u == 1;
			n++;
		}
	}
	*out = t;
	*n_out = n;
	return 0;
}

static void job_encrypt(wa_session *s, job *j);

static void on_prekeys(wa_session *s, int err, const wa_node *resp, void *user)
{
	job *j = user;
	wa_msg_state *m = s->msg;
	if (!m || m->job != j)
		return;
	int code = iq_error_code(err, resp);
	if (err != 0 && iq_transient(err, resp, code)) {
		job_defer(s, j, err, code, "pre-key fetch");
		return;
	}
	if (err != 0)
		snprintf(j->why, sizeof j->why, "pre-key fetch refused: %d", code);
	wa_prekey_user *pu = NULL;
	size_t n = 0;
	if (err == 0 && wa_prekey_parse(resp, &pu, &n) == 0) {
		for (size_t i = 0; i < n; i++) {
			wa_jid dj;
			char name[WA_STORE_JID_MAX];
			bool ex = true;
			if (!pu[i].ok || wa_jid_parse(&dj, pu[i].jid) != 0 || addr_for(s, &dj, name) != 0)
				continue;
			/* a pkmsg from that device may have built one meanwhile */
			if (wa_sig_session_exists(s->sig, name, dj.device, &ex) == 0 && !ex) {
				int rc = wa_sig_session_from_bundle(s->sig, name, dj.device, &pu[i].bundle);
				if (rc != 0)
					WA_DEBUG(MOD, "[%lld] bundle of %s rejected: %s",
						(long long)s->instance_id, pu[i].jid, wa_errname(rc));
			}
		}
		flush_identity(s);
	}
	free(pu);
	job_encrypt(s, j);
}

static void job_sessions(wa_session *s, job *j)
{
	target *t = NULL;
	size_t n = 0;
	int rc = collect_targets(s, j, &t, &n);
	if (rc != 0) {
		s->msg->job = NULL;
		job_fail(s, j, rc);
		job_free(j);
		pump(s);
		return;
	}
	const char **missing = calloc(n ? n : 1, sizeof *missing);
	size_t nm = 0;
	for (size_t i = 0; missing && i < n; i++) {
		bool ex = true;
		if (wa_sig_session_exists(s->sig, t[i].addr, t[i].device, &ex) == 0 && !ex)
			missing[nm++] = t[i].jid;
	}
	if (nm == 0) {
		free(missing);
		free(t);
		job_encrypt(s, j);
		return;
	}
	char iq_id[WA_SESSION_ID_MAX];
	wa_session_new_id(s, iq_id);
	wa_node *iq = NULL;
	rc = wa_prekey_build_fetch(iq_id, missing, nm, false, &iq);
	free(missing);
	free(t);
	if (rc == 0)
		rc = wa_iq_send(s, iq, 0, on_prekeys, j);
	wa_node_free(iq);
	if (rc != 0) {
		/* connection gone: the row stays QUEUED for the next READY */
		s->msg->job = NULL;
		job_free(j);
	}
}

static void on_usync(wa_session *s, int err, const wa_node *resp, void *user)
{
	job *j = user;
	wa_msg_state *m = s->msg;
	if (!m || m->job != j)
		return;
	int code = iq_error_code(err, resp);
	if (err != 0 && iq_transient(err, resp, code)) {
		job_defer(s, j, err, code, "usync");
		return;
	}
	wa_usync_user *u = NULL;
	size_t n = 0;
	if (err == 0 && wa_usync_parse(resp, &u, &n) == 0) {
		for (size_t i = 0; i < n; i++) {
			char uj[WA_STORE_JID_MAX];
			if (!user_of(u[i].jid, uj, NULL))
				continue;
			if (u[i].lid[0])
				learn_mapping(s, uj, u[i].lid);
			if (u[i].has_devices)
				dc_put(m, uj, u[i].devices, u[i].n_devices);
		}
	} else {
		WA_DEBUG(MOD, "[%lld] usync for %s failed: %s", (long long)s->instance_id, j->chat,
			wa_errname(err));
	}
	free(u);
	if (!dc_get(m, j->chat)) {
		if (err)
			snprintf(j->why, sizeof j->why, "usync refused: %d", code);
		else
			snprintf(j->why, sizeof j->why, "not on WhatsApp");
		m->job = NULL;
		job_fail(s, j, err ? err : WA_ENOTFOUND);
		job_free(j);
		pump(s);
		return;
	}
	job_sessions(s, j);
}

static void job_start(wa_session *s, job *j)
{
	wa_jid chat;
	char own_user[WA_STORE_JID_MAX];
	if (wa_jid_parse(&chat, j->chat) != 0 || !own_user_for(s, &chat, own_user, NULL)) {
		s->msg->job = NULL;
		job_fail(s, j, WA_EINVAL);
		job_free(j);
		return;
	}
	if (dc_get(s->msg, j->chat) && dc_get(s->msg, own_user)) {
		job_sessions(s, j);
		return;
	}
	const char *users[2] = {own_user, j->chat};
	char iq_id[WA_SESSION_ID_MAX];
	wa_session_new_id(s, iq_id);
	wa_node *iq = NULL;
	int rc = wa_usync_build_devices(iq_id, iq_id, users, 2, &iq);
	if (rc == 0)
		rc = wa_iq_send(s, iq, 0, on_usync, j);
	wa_node_free(iq);
	if (rc != 0) {
		s->msg->job = NULL;
		job_free(j);
	}
}

/* Encrypts j for every target with a session and records the stanza in
 * j's outbox row (state SENDING): the ratchet steps and the record must
 * commit together, so the caller holds the transaction and sends the
 * record (*rec_out: WA_OUTBOX_STANZA + encoded stanza, free()) only after
 * its commit. */
static int job_seal(wa_session *s, job *j, uint8_t **rec_out, size_t *rec_len_out)
{
	target *t = NULL;
	size_t n = 0;
	uint8_t *dsm = NULL, *rec = NULL, *enc_bytes = NULL;
	size_t dsm_len = 0, enc_len = 0;
	wa_msg_enc *encs = NULL;
	uint8_t **cts = NULL;
	size_t ne = 0, n_peer = 0;
	wa_node *st = NULL;
	int rc = collect_targets(s, j, &t, &n);
	if (rc == 0 && !(encs = calloc(n ? n : 1, sizeof *encs)))
		rc = WA_ENOMEM;
	if (rc == 0 && !(cts = calloc(n ? n : 1, sizeof *cts)))
		rc = WA_ENOMEM;
	if (rc == 0)
		rc = wa_msg_wrap_dsm(j->msg, j->msg_len, j->chat, &dsm, &dsm_len);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		bool ex = false;
		if (wa_sig_session_exists(s->sig, t[i].addr, t[i].device, &ex) != 0 || !ex) {
			WA_DEBUG(MOD, "[%lld] no session with %s: skipped", (long long)s->instance_id, t[i].jid);
			continue;
		}
		enum wa_sig_msg_type ty;
		size_t cl = 0;
		rc = wa_sig_encrypt(s->sig, t[i].addr, t[i].device, t[i].own ? dsm : j->msg,
			t[i].own ? dsm_len : j->msg_len, &ty, &cts[ne], &cl);
		if (rc != 0)
			break;
		encs[ne].jid = t[i].jid;
		encs[ne].type = ty;
		encs[ne].ct = cts[ne];
		encs[ne].ct_len = cl;
		ne++;
		if (!t[i].own)
			n_peer++;
	}
	if (rc == 0 && n_peer == 0)
		rc = WA_ENOTFOUND; /* nobody to deliver to */
	if (rc == 0) {
		const char *type = wa_msg_stanza_type(j->msg, j->msg_len);
		wa_msg_stanza ms = {
			.id = j->id, .to = j->chat, .type = type, .encs = encs, .n_encs = ne,
			.decrypt_fail_hide = strcmp(type, "reaction") == 0,
			.device_identity = s->creds->adv_identity,
			.device_identity_len = s->creds->adv_identity_len,
		};
		rc = wa_msg_build_stanza(&ms, &st);
	}
	if (rc == 0)
		rc = wa_bin_encode(st, &enc_bytes, &enc_len);
	if (rc == 0 && !(rec = malloc(enc_len + 1)))
		rc = WA_ENOMEM;
	if (rc == 0) {
		rec[0] = WA_OUTBOX_STANZA;
		memcpy(rec + 1, enc_bytes, enc_len);
		rc = wa_store_outbox_update(s->store, s->instance_id, j->row, WA_STORE_OUTBOX_SENDING, rec,
			enc_len + 1);
	}
	for (size_t i = 0; cts && i < ne; i++)
		free(cts[i]);
	free(cts);
	free(encs);
	free(t);
	free(dsm);
	free(enc_bytes);
	wa_node_free(st);
	if (rc == 0) {
		*rec_out = rec;
		*rec_len_out = enc_len + 1;
	} else {
		free(rec);
	}
	return rc;
}

/* Sends a sealed stanza (its outbox record) once the record has committed;
 * a failed write leaves the row SENDING, requeued and resent on the next
 * READY. */
static void send_sealed(wa_session *s, const job *j, const uint8_t *rec, size_t rec_len)
{
	int src = wa_conn_send_message_bytes(s, rec + 1, rec_len - 1, j->id);
	if (src == 0)
		inflight_add(s, j->row, j->id, j->chat);
	else
		WA_DEBUG(MOD, "[%lld] %s recorded, send failed (%s): resent on reconnect",
			(long long)s->instance_id, j->id, wa_errname(src));
}

/* Encrypts for every target with a session, records the stanza with the
 * ratchet steps in one transaction, then sends it. */
static void job_encrypt(wa_session *s, job *j)
{
	wa_msg_state *m = s->msg;
	m->job = NULL;
	hold_drop(m, j->chat);
	uint8_t *rec = NULL;
	size_t rec_len = 0;
	int rc = wa_store_begin(s->store);
	if (rc == 0) {
		rc = job_seal(s, j, &rec, &rec_len);
		if (rc == 0)
			rc = wa_store_commit(s->store);
		else
			wa_store_rollback(s->store);
	}
	flush_identity(s);
	if (rc == 0) {
		send_sealed(s, j, rec, rec_len);
	} else if (rc == WA_EDB || rc == WA_EDB_BUSY) {
		WA_DEBUG(MOD, "[%lld] %s: store error %s, left queued", (long long)s->instance_id, j->id,
			wa_errname(rc));
	} else {
		job_fail(s, j, rc);
	}
	free(rec);
	job_free(j);
	if (rc == 0 || (rc != WA_EDB && rc != WA_EDB_BUSY))
		pump(s);
}

/* Chats waiting out a backoff (the outbox skips them); returns how many. */
static size_t held_chats(const wa_msg_state *m, const char *skip[WA_MSG_MAX_HELD_CHATS])
{
	size_t n_skip = 0;
	int64_t now = wa_mono_ms();
	for (const chat_hold *h = m->holds; h && n_skip < WA_MSG_MAX_HELD_CHATS; h = h->next)
		if (h->until > now)
			skip[n_skip++] = h->chat;
	return n_skip;
}

/* Sends recorded stanzas and starts the next preparation, in outbox order
 * per chat: chats waiting out a backoff are skipped. */
static void pump(wa_session *s)
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
		if (pl_len >= 2 && pl[0] == WA_OUTBOX_STANZA) {
			wa_node *n = NULL;
			int rc = wa_bin_decode(pl + 1, pl_len - 1, &n);
			if (rc == 0)
				rc = wa_store_outbox_set_state(s->store, s->instance_id, row, WA_STORE_OUTBOX_SENDING);
			if (rc == 0 && (rc = wa_conn_send_node(s, n)) == 0)
				inflight_add(s, row, id, chat);
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
		job *j = calloc(1, sizeof *j);
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
		job_start(s, j);
	}
}

/* ---------------- public send API ---------------- */

/* "5511..." / "+55 11..." / JID -> chat user JID. */
static int normalize_to(const char *to, char out[WA_STORE_JID_MAX])
{
	if (!to || !*to)
		return WA_EINVAL;
	if (strchr(to, '@')) {
		wa_jid j;
		if (!user_of(to, out, &j) || !(wa_msg_jid_is_pn(&j) || wa_msg_jid_is_lid(&j)))
			return WA_EINVAL;
		return 0;
	}
	char digits[40];
	size_t n = 0;
	for (const char *p = to; *p; p++) {
		if (*p >= '0' && *p <= '9') {
			if (n + 1 >= sizeof digits)
				return WA_EINVAL;
			digits[n++] = *p;
		} else if (*p != '+' && *p != ' ' && *p != '-' && *p != '(' && *p != ')') {
			return WA_EINVAL;
		}
	}
	if (n < 5)
		return WA_EINVAL;
	digits[n] = '\0';
	snprintf(out, WA_STORE_JID_MAX, "%s@s.whatsapp.net", digits);
	return 0;
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
 * record (job_seal) when sealed; the caller sends it after its commit. */
static bool seal_now(wa_session *s, job *j, uint8_t **rec_out, size_t *rec_len_out)
{
	wa_msg_state *m = s->msg;
	/* depth 1: the caller's transaction is the outermost, so its commit is
	 * durable before the send (not so when an embedder sends from an event
	 * handler inside another transaction) */
	if (!ready(s) || m->job || m->hold || wa_store_tx_depth(s->store) != 1)
		return false;
	wa_jid chat;
	char own_user[WA_STORE_JID_MAX];
	if (wa_jid_parse(&chat, j->chat) != 0 || !own_user_for(s, &chat, own_user, NULL) ||
	    !dc_get(m, j->chat) || !dc_get(m, own_user))
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
	target *t = NULL;
	size_t n = 0;
	bool all = collect_targets(s, j, &t, &n) == 0;
	for (size_t i = 0; all && i < n; i++) {
		bool ex = false;
		all = wa_sig_session_exists(s->sig, t[i].addr, t[i].device, &ex) == 0 && ex;
	}
	free(t);
	if (!all)
		return false; /* pre-keys to fetch first */
	if (wa_store_begin(s->store) != 0)
		return false;
	uint8_t *rec = NULL;
	size_t rec_len = 0;
	int rc = job_seal(s, j, &rec, &rec_len);
	if (rc == 0)
		rc = wa_store_commit(s->store);
	else
		wa_store_rollback(s->store);
	if (rc != 0) {
		free(rec);
		return false;
	}
	hold_drop(m, j->chat);
	*rec_out = rec;
	*rec_len_out = rec_len;
	return true;
}

static int queue_message(wa_session *s, const char *chat, const char *id_in, const uint8_t *msg,
	size_t len, char **id_out)
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
	job j = {.msg = rec + 1, .msg_len = len};
	snprintf(j.id, sizeof j.id, "%s", id);
	snprintf(j.chat, sizeof j.chat, "%s", chat);
	uint8_t *sealed = NULL;
	size_t sealed_len = 0;
	int rc = wa_store_begin(s->store);
	if (rc == 0) {
		rc = wa_store_msg_insert(s->store, s->instance_id, &row, &existed);
		if (rc == 0 && existed)
			rc = WA_EEXIST;
		if (rc == 0)
			rc = wa_store_outbox_add(s->store, s->instance_id, chat, id, rec, len + 1, &j.row);
		if (rc == 0)
			seal_now(s, &j, &sealed, &sealed_len);
		if (rc == 0)
			rc = wa_store_commit(s->store);
		else
			wa_store_rollback(s->store);
	}
	free(rec);
	flush_identity(s);
	if (rc != 0) {
		free(sealed); /* never sent: its ratchet steps rolled back with the row */
		return rc;
	}
	char *dup = id_out ? strdup(id) : NULL;
	recent_add(s->msg, id, chat);
	emit_status(s, chat, id, WA_MSG_PENDING);
	if (sealed) {
		send_sealed(s, &j, sealed, sealed_len);
		free(sealed);
	}
	pump(s);
	if (id_out && !dup)
		return WA_ENOMEM; /* queued all the same; the caller just lacks the id */
	if (id_out)
		*id_out = dup;
	return 0;
}

int wa_session_send_text(wa_session *s, const char *to, const char *text, const wa_send_opts *opts,
	char **id_out)
{
	if (!s || !s->msg || !text)
		return WA_EINVAL;
	if (!wa_session_me_jid(s))
		return WA_ESTATE;
	char chat[WA_STORE_JID_MAX];
	int rc = normalize_to(to, chat);
	if (rc != 0)
		return rc;
	wa_msg_quote q = {0};
	char qpart[WA_STORE_JID_MAX];
	bool has_q = opts && opts->quoted && opts->quoted->id;
	if (has_q) {
		q.id = opts->quoted->id;
		const char *author = opts->quoted->participant;
		if (!author)
			author = opts->quoted->from_me ? wa_session_me_jid(s) : opts->quoted->remote_jid;
		if (author && user_of(author, qpart, NULL))
			q.participant = qpart;
		q.text = opts->quoted_text;
	}
	uint8_t secret[WA_MSG_SECRET_LEN];
	wa_rand_bytes(secret, sizeof secret);
	uint8_t *msg = NULL;
	size_t len = 0;
	rc = wa_msg_build_text(text, has_q ? &q : NULL, opts ? opts->mentions : NULL,
		opts ? opts->n_mentions : 0, secret, &msg, &len);
	if (rc != 0)
		return rc;
	rc = queue_message(s, chat, opts ? opts->id : NULL, msg, len, id_out);
	free(msg);
	return rc;
}

int wa_session_send_reaction(wa_session *s, const wa_msg_key *tgt, const char *emoji, char **id_out)
{
	if (!s || !s->msg || !tgt || !tgt->id || !emoji)
		return WA_EINVAL;
	if (!wa_session_me_jid(s))
		return WA_ESTATE;
	char chat[WA_STORE_JID_MAX];
	int rc = normalize_to(tgt->remote_jid, chat);
	if (rc != 0)
		return rc;
	uint8_t *msg = NULL;
	size_t len = 0;
	rc = wa_msg_build_reaction(chat, tgt->from_me, tgt->id, tgt->participant, emoji,
		wa_now_ms(), &msg, &len);
	if (rc != 0)
		return rc;
	rc = queue_message(s, chat, NULL, msg, len, id_out);
	free(msg);
	return rc;
}

int wa_session_mark_read(wa_session *s, const wa_msg_key *keys, size_t n)
{
	if (!s || (!keys && n))
		return WA_EINVAL;
	if (!ready(s))
		return WA_ESTATE;
	size_t i = 0;
	while (i < n) {
		char chat[WA_STORE_JID_MAX];
		if (!keys[i].id || normalize_to(keys[i].remote_jid, chat) != 0)
			return WA_EINVAL;
		const char *ids[WA_RECEIPT_MAX_IDS];
		size_t k = 0;
		size_t start = i;
		while (i < n && k < WA_RECEIPT_MAX_IDS && keys[i].id &&
		       keys[i].remote_jid && strcmp(keys[i].remote_jid, keys[start].remote_jid) == 0)
			ids[k++] = keys[i++].id;
		wa_node *r = NULL;
		int rc = wa_receipt_build(ids, k, chat, keys[start].participant, NULL, "read", now_s(), &r);
		if (rc == 0)
			rc = send_node(s, r);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int wa_session_send_presence(wa_session *s, const char *to, const char *presence)
{
	if (!s || !presence)
		return WA_EINVAL;
	if (!ready(s))
		return WA_ESTATE;
	wa_node *n = NULL, *c;
	int rc;
	if (!to) {
		if (strcmp(presence, "available") != 0 && strcmp(presence, "unavailable") != 0)
			return WA_EINVAL;
		rc = wa_node_new(&n, "presence");
		if (rc == 0)
			rc = wa_node_set_attr(n, "type", presence);
		const char *name = s->push_name ? s->push_name : s->creds->push_name;
		if (rc == 0 && name && *name)
			rc = wa_node_set_attr(n, "name", name);
	} else {
		char chat[WA_STORE_JID_MAX];
		bool rec = strcmp(presence, "recording") == 0;
		if (normalize_to(to, chat) != 0 ||
		    (!rec && strcmp(presence, "composing") != 0 && strcmp(presence, "paused") != 0))
			return WA_EINVAL;
		rc = wa_node_new(&n, "chatstate");
		if (rc == 0)
			rc = wa_node_set_attr(n, "to", chat);
		if (rc == 0)
			rc = wa_node_add_new(n, rec ? "composing" : presence, &c);
		if (rc == 0 && rec)
			rc = wa_node_set_attr(c, "media", "audio");
	}
	if (rc != 0) {
		wa_node_free(n);
		return rc;
	}
	return send_node(s, n);
}

typedef struct numbers_req {
	wa_numbers_fn done;
	void *user;
	size_t n;
	char **queries;
} numbers_req;

static void numbers_free(numbers_req *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->queries[i]);
	free(r->queries);
	free(r);
}

static void on_numbers(wa_session *s, int err, const wa_node *resp, void *user)
{
	numbers_req *r = user;
	wa_usync_user *u = NULL;
	size_t nu = 0;
	wa_number_info *infos = calloc(r->n ? r->n : 1, sizeof *infos);
	if (!infos)
		err = WA_ENOMEM;
	if (err == 0)
		err = wa_usync_parse(resp, &u, &nu);
	if (err == 0) {
		for (size_t i = 0; i < r->n; i++) {
			infos[i].query = r->queries[i];
			const char *q = r->queries[i];
			char digits[40];
			size_t dn = 0;
			for (; *q && dn + 1 < sizeof digits; q++)
				if (*q >= '0' && *q <= '9')
					digits[dn++] = *q;
			digits[dn] = '\0';
			for (size_t k = 0; k < nu; k++) {
				wa_jid j;
				if (wa_jid_parse(&j, u[k].jid) != 0 || strcmp(j.user, digits) != 0)
					continue;
				infos[i].exists = u[k].contact == 1;
				infos[i].jid = infos[i].exists ? u[k].jid : NULL;
				infos[i].lid = u[k].lid[0] ? u[k].lid : NULL;
				if (u[k].lid[0] && infos[i].exists)
					learn_mapping(s, u[k].jid, u[k].lid);
			}
		}
	}
	r->done(s, err, err == 0 ? infos : NULL, err == 0 ? r->n : 0, r->user);
	free(infos);
	free(u);
	numbers_free(r);
}

int wa_session_check_numbers(wa_session *s, const char *const *numbers, size_t n, wa_numbers_fn done,
	void *user)
{
	if (!s || !numbers || n == 0 || n > WA_USYNC_MAX_USERS || !done)
		return WA_EINVAL;
	if (!ready(s))
		return WA_ESTATE;
	numbers_req *r = calloc(1, sizeof *r);
	if (!r || !(r->queries = calloc(n, sizeof *r->queries))) {
		free(r);
		return WA_ENOMEM;
	}
	r->done = done;
	r->user = user;
	for (size_t i = 0; i < n; i++) {
		if (!numbers[i] || !(r->queries[r->n] = strdup(numbers[i]))) {
			numbers_free(r);
			return numbers[i] ? WA_ENOMEM : WA_EINVAL;
		}
		r->n++;
	}
	char iq_id[WA_SESSION_ID_MAX];
	wa_session_new_id(s, iq_id);
	wa_node *iq = NULL;
	int rc = wa_usync_build_contacts(iq_id, iq_id, (const char *const *)r->queries, n, &iq);
	if (rc == 0)
		rc = wa_iq_send(s, iq, 0, on_numbers, r);
	wa_node_free(iq);
	if (rc != 0)
		numbers_free(r);
	return rc;
}

/* ---------------- receiving ---------------- */

static bool is_me(wa_session *s, const wa_jid *j)
{
	const char *ids[2] = {wa_session_me_jid(s), wa_session_me_lid(s)};
	for (int i = 0; i < 2; i++) {
		wa_jid me;
		if (ids[i] && wa_jid_parse(&me, ids[i]) == 0 && wa_jid_same_user(&me, j))
			return true;
	}
	return false;
}

static void emit_message(wa_session *s, const char *chat, const wa_in_msg *in, bool from_me,
	const uint8_t *pt, size_t pt_len)
{
	wa_msg_view v;
	if (wa_msg_view_parse(pt, pt_len, &v) != 0)
		return;
	if (!v.message_type || v.is_protocol || strcmp(v.message_type, "senderKeyDistributionMessage") == 0) {
		wa_msg_view_clear(&v);
		return;
	}
	const char *c = v.dsm_dest ? v.dsm_dest : chat;
	char cu[WA_STORE_JID_MAX];
	wa_jid cj;
	if (!user_of(c, cu, &cj))
		snprintf(cu, sizeof cu, "%s", chat);
	char *alt = alt_user(s, cu);
	bool lid = wa_jid_parse(&cj, cu) == 0 && wa_msg_jid_is_lid(&cj);
	wa_event ev = {.type = WA_EV_MESSAGE};
	ev.u.message.key.remote_jid = lid && alt ? alt : cu;
	ev.u.message.key.remote_lid = lid ? cu : alt;
	ev.u.message.key.from_me = from_me;
	ev.u.message.key.id = in->id;
	ev.u.message.push_name = in->notify;
	ev.u.message.timestamp = in->t ? in->t : now_s();
	ev.u.message.message_type = v.message_type;
	ev.u.message.text = v.text;
	ev.u.message.message_json = v.json;
	ev.u.message.offline = in->offline;
	wa_session_emit(s, &ev);
	free(alt);
	wa_msg_view_clear(&v);
}

static wa_node *build_delivery(const wa_in_msg *in, const char *chat, bool from_me)
{
	const char *type = NULL, *recipient = NULL;
	if (in->category && strcmp(in->category, "peer") == 0)
		type = "peer_msg";
	else if (from_me) {
		type = "sender";
		recipient = chat;
	}
	wa_node *r = NULL;
	const char *ids[1] = {in->id};
	return wa_receipt_build(ids, 1, in->from_s, NULL, recipient, type, 0, &r) == 0 ? r : NULL;
}

static void send_delivery(wa_session *s, const wa_in_msg *in, const char *chat, bool from_me)
{
	wa_node *r = build_delivery(in, chat, from_me);
	if (r)
		(void)send_node(s, r);
}

/* The read receipt a received message gets when read receipts are on. */
static wa_node *build_read(wa_session *s, const wa_in_msg *in, const char *chat, bool from_me)
{
	if (!s->send_read_receipts || from_me || (in->category && strcmp(in->category, "peer") == 0))
		return NULL;
	const char *ids[1] = {in->id};
	wa_node *r = NULL;
	return wa_receipt_build(ids, 1, chat, NULL, NULL, "read", now_s(), &r) == 0 ? r : NULL;
}

wa_drain *wa_msg_drain(wa_session *s)
{
	return s && s->msg ? s->msg->drain : NULL;
}

static unsigned retry_bump(wa_msg_state *m, const char *id, const char *from)
{
	char key[sizeof((retry_track *)0)->key];
	snprintf(key, sizeof key, "%s|%s", id, from);
	for (retry_track *r = m->rt; r; r = r->next)
		if (strcmp(r->key, key) == 0)
			return ++r->count;
	if (m->n_rt >= WA_MSG_MAX_RETRY_TRACK) {
		while (m->rt) {
			retry_track *x = m->rt;
			m->rt = x->next;
			free(x);
		}
		m->n_rt = 0;
	}
	retry_track *r = calloc(1, sizeof *r);
	if (!r)
		return 1;
	snprintf(r->key, sizeof r->key, "%s", key);
	r->count = 1;
	r->next = m->rt;
	m->rt = r;
	m->n_rt++;
	return 1;
}

static void send_retry_receipt(wa_session *s, const wa_node *n, const wa_in_msg *in, int err)
{
	unsigned count = retry_bump(s->msg, in->id, in->from_s);
	if (count > WA_MSG_MAX_RETRY)
		return;
	wa_retry_keys k;
	memset(&k, 0, sizeof k);
	k.registration_id = s->creds->registration_id;
	memcpy(k.identity, s->creds->identity_pub, 32);
	k.spk_id = s->creds->signed_prekey_id;
	memcpy(k.spk, s->creds->signed_prekey_pub, 32);
	memcpy(k.spk_sig, s->creds->signed_prekey_sig, 64);
	k.device_identity = s->creds->adv_identity;
	k.device_identity_len = s->creds->adv_identity_len;
	/* Keys from the first attempt (the references wait for the second):
	 * a peer whose session state broke (Baileys can lose a write when a
	 * decrypt and an encrypt of the same session overlap) rebuilds it from
	 * them even when it cannot find the message to resend, so what it
	 * sends next is readable again. Costs one one-time pre-key per retry. */
	(void)err;
	{
		wa_sig_prekey pk;
		uint32_t next = 0;
		if (wa_sig_prekeys_generate(s->sig, s->creds->next_prekey_id, 1, &pk, &next) == 0) {
			s->creds->next_prekey_id = next;
			if (wa_store_creds_save(s->store, s->instance_id, s->creds) == 0) {
				k.prekey_id = pk.id;
				memcpy(k.prekey, pk.pub, 32);
			}
		}
	}
	wa_node *r = NULL;
	if (wa_retry_build(n, NULL, count, &k, &r) == 0)
		(void)send_node(s, r);
	WA_DEBUG(MOD, "[%lld] decrypt of %s from %s failed (%s): retry receipt %u",
		(long long)s->instance_id, in->id, in->from_s, wa_errname(err), count);
}

static void ack(wa_session *s, const wa_node *n, int error)
{
	wa_node *a = NULL;
	if (wa_ack_build(n, wa_session_me_jid(s), error, &a) == 0)
		(void)send_node(s, a);
}

int wa_msg_handle_message(wa_session *s, const wa_node *n)
{
	wa_in_msg in;
	if (!s->msg || wa_in_msg_parse(n, &in) != 0) {
		ack(s, n, 487);
		return WA_EPROTO;
	}
	/* groups, broadcasts, newsletters: out of this scope, acked so they leave the queue */
	if (in.has_participant || !(wa_msg_jid_is_pn(&in.from) || wa_msg_jid_is_lid(&in.from))) {
		ack(s, n, 0);
		return 0;
	}
	bool from_me = is_me(s, &in.from);
	char chat[WA_STORE_JID_MAX], fu[WA_STORE_JID_MAX];
	if (!user_of(in.from_s, fu, NULL))
		return WA_EPROTO;
	if (from_me && in.recipient) {
		if (!user_of(in.recipient, chat, NULL)) {
			ack(s, n, 487);
			return WA_EPROTO;
		}
	} else {
		snprintf(chat, sizeof chat, "%s", fu);
	}
	if (in.sender_alt)
		learn_mapping(s, fu, in.sender_alt);
	if (from_me && in.recipient && in.recipient_alt)
		learn_mapping(s, in.recipient, in.recipient_alt);

	/* offline messages commit in groups (drain.h); everything else, and an
	 * offline message while a transaction is already open, one by one */
	wa_drain *drain = in.offline ? s->msg->drain : NULL;
	if (drain && !wa_drain_active(drain) && wa_store_tx_depth(s->store) != 0)
		drain = NULL;
	/* redelivery: answer from the stored row, never touch the ratchet */
	wa_store_msg_row *row = NULL;
	if (wa_store_msg_load(s->store, s->instance_id, chat, in.id, from_me, &row) == 0) {
		/* the row may be in the open group: durable first, then the receipt */
		wa_drain_flush(s->msg->drain);
		if (row->status == WA_STORE_MSG_RECEIVED)
			emit_message(s, chat, &in, from_me, row->plaintext, row->plaintext_len);
		wa_store_msg_row_free(row);
		send_delivery(s, &in, chat, from_me);
		ign(wa_store_msg_set_status(s->store, s->instance_id, chat, in.id, from_me,
			WA_STORE_MSG_ACKED));
		return 0;
	}
	if (in.n_encs == 0) {
		if (in.has_unknown_enc)
			ack(s, n, 0);
		else
			{
			send_retry_receipt(s, n, &in, WA_ESIG_NOSESSION);
			ack(s, n, 0);
		}
		return 0;
	}
	char name[WA_STORE_JID_MAX];
	if (addr_for(s, &in.from, name) != 0) {
		ack(s, n, 487);
		return WA_EPROTO;
	}
	uint8_t *pt = NULL;
	size_t pt_len = 0;
	int rc = drain ? wa_drain_unit_begin(drain) : wa_store_begin(s->store);
	if (rc == 0) {
		for (size_t i = 0; rc == 0 && i < in.n_encs && !pt; i++) {
			if (in.encs[i].type == WA_SIG_TYPE_SKMSG)
				continue;
			rc = wa_sig_decrypt(s->sig, name, in.from.device, in.encs[i].type, in.encs[i].ct,
				in.encs[i].ct_len, &pt, &pt_len);
		}
		if (rc == 0 && !pt)
			rc = WA_ESIG_INVALID;
		if (rc == 0) {
			wa_store_msg m = {
				.chat_jid = chat, .msg_id = in.id, .from_me = from_me, .sender_jid = in.from_s,
				.timestamp = in.t ? in.t : now_s(), .status = WA_STORE_MSG_RECEIVED,
				.plaintext = pt, .plaintext_len = pt_len,
			};
			rc = wa_store_msg_insert(s->store, s->instance_id, &m, NULL);
		}
		if (drain)
			rc = wa_drain_unit_end(drain, rc);
		else if (rc == 0)
			rc = wa_store_commit(s->store);
		else
			wa_store_rollback(s->store);
	}
	if (rc != 0)
		s->msg->n_pending = 0; /* rolled back: the change will be reported on redelivery */
	flush_identity(s);
	/* WA_ESIG_DUPLICATE here means an old counter for an id we never
	 * stored: not a redelivery (that was answered above) but a ciphertext
	 * we cannot read (e.g. a peer that reused a counter after losing its
	 * own session write). Ask for it again like any failed decrypt. */
	if (rc == WA_EDB || rc == WA_EDB_BUSY) {
		/* no receipt: the server redelivers and we try again */
		free(pt);
		if (drain)
			wa_drain_after(drain);
		return rc;
	}
	if (rc != 0) {
		send_retry_receipt(s, n, &in, rc);
		ack(s, n, 0);
		free(pt);
		if (drain)
			wa_drain_after(drain);
		return 0;
	}
	emit_message(s, chat, &in, from_me, pt, pt_len);
	free(pt);
	if (drain) {
		/* receipts after the group commit */
		wa_drain_defer(drain, build_delivery(&in, chat, from_me), build_read(s, &in, chat, from_me), chat,
			in.id, from_me);
		wa_drain_after(drain);
		return 0;
	}
	send_delivery(s, &in, chat, from_me);
	ign(wa_store_msg_set_status(s->store, s->instance_id, chat, in.id, from_me, WA_STORE_MSG_ACKED));
	wa_node *rr = build_read(s, &in, chat, from_me);
	if (rr)
		(void)send_node(s, rr);
	return 0;
}

/* Resends our message id (stored under chat) to one device. */
static void resend_to(wa_session *s, const char *chat, const char *id, const char *dev_s, unsigned count)
{
	wa_jid dev;
	char name[WA_STORE_JID_MAX];
	if (wa_jid_parse(&dev, dev_s) != 0 || addr_for(s, &dev, name) != 0)
		return;
	wa_store_msg_row *row = NULL;
	if (wa_store_msg_load(s->store, s->instance_id, chat, id, true, &row) != 0)
		return;
	bool own = is_me(s, &dev);
	uint8_t *dsm = NULL, *ct = NULL;
	size_t dsm_len = 0, ct_len = 0;
	enum wa_sig_msg_type ty;
	int rc = 0;
	if (own)
		rc = wa_msg_wrap_dsm(row->plaintext, row->plaintext_len, chat, &dsm, &dsm_len);
	if (rc == 0)
		rc = wa_sig_encrypt(s->sig, name, dev.device, own ? dsm : row->plaintext,
			own ? dsm_len : row->plaintext_len, &ty, &ct, &ct_len);
	flush_identity(s);
	wa_node *st = NULL;
	if (rc == 0) {
		const char *type = wa_msg_stanza_type(row->plaintext, row->plaintext_len);
		wa_msg_enc e = {.jid = dev_s, .type = ty, .ct = ct, .ct_len = ct_len};
		wa_msg_stanza ms = {
			.id = id, .to = dev_s, .type = type, .single = true, .encs = &e, .n_encs = 1,
			.recipient = own ? chat : NULL, .retry_count = count,
			.decrypt_fail_hide = strcmp(type, "reaction") == 0,
			.device_identity = s->creds->adv_identity,
			.device_identity_len = s->creds->adv_identity_len, .force_identity = true,
		};
		rc = wa_msg_build_stanza(&ms, &st);
	}
	if (rc == 0)
		rc = send_node(s, st);
	WA_DEBUG(MOD, "[%lld] resend of %s to %s (retry %u): %s", (long long)s->instance_id, id, dev_s,
		count, wa_errname(rc));
	free(dsm);
	free(ct);
	wa_store_msg_row_free(row);
}

typedef struct retry_req {
	char chat[WA_STORE_JID_MAX];
	char id[WA_MSG_ID_MAX + 1];
	char dev[WA_STORE_JID_MAX];
	unsigned count;
} retry_req;

static void on_retry_bundle(wa_session *s, int err, const wa_node *resp, void *user)
{
	retry_req *r = user;
	wa_prekey_user *pu = NULL;
	size_t n = 0;
	if (err == 0 && s->msg && wa_prekey_parse(resp, &pu, &n) == 0) {
		for (size_t i = 0; i < n; i++) {
			wa_jid dj;
			char name[WA_STORE_JID_MAX];
			if (pu[i].ok && wa_jid_parse(&dj, pu[i].jid) == 0 && addr_for(s, &dj, name) == 0 &&
			    wa_sig_session_from_bundle(s->sig, name, dj.device, &pu[i].bundle) == 0) {
				flush_identity(s);
				resend_to(s, r->chat, r->id, r->dev, r->count);
				break;
			}
		}
	}
	free(pu);
	free(r);
}

static void handle_retry(wa_session *s, const wa_node *n, const wa_in_receipt *r)
{
	char chat[WA_STORE_JID_MAX], fu[WA_STORE_JID_MAX];
	const char *hint = r->recipient && is_me(s, &r->from) ? r->recipient : r->from_s;
	if (!user_of(hint, fu, NULL) || !find_own_msg(s, r->ids[0], fu, chat))
		return;
	if (r->retry_count > WA_MSG_MAX_RETRY)
		return;
	wa_jid dev = r->from;
	char name[WA_STORE_JID_MAX];
	if (addr_for(s, &dev, name) != 0)
		return;
	if (r->keys && r->has_registration) {
		wa_sig_bundle b;
		if (wa_prekey_parse_bundle(r->keys, r->reg_node, &b) == 0 &&
		    wa_sig_session_from_bundle(s->sig, name, dev.device, &b) == 0) {
			flush_identity(s);
			resend_to(s, chat, r->ids[0], r->from_s, r->retry_count);
			return;
		}
	}
	/* no usable keys: fetch the device's bundle afresh (Baileys does the same) */
	retry_req *rq = calloc(1, sizeof *rq);
	if (!rq)
		return;
	snprintf(rq->chat, sizeof rq->chat, "%s", chat);
	snprintf(rq->id, sizeof rq->id, "%s", r->ids[0]);
	snprintf(rq->dev, sizeof rq->dev, "%s", r->from_s);
	rq->count = r->retry_count;
	char iq_id[WA_SESSION_ID_MAX];
	wa_session_new_id(s, iq_id);
	wa_node *iq = NULL;
	const char *jids[1] = {r->from_s};
	int rc = wa_prekey_build_fetch(iq_id, jids, 1, true, &iq);
	if (rc == 0)
		rc = wa_iq_send(s, iq, 0, on_retry_bundle, rq);
	wa_node_free(iq);
	if (rc != 0)
		free(rq);
	(void)n;
}

int wa_msg_handle_receipt(wa_session *s, const wa_node *n)
{
	wa_in_receipt r;
	if (!s->msg || wa_in_receipt_parse(n, &r) != 0) {
		ign(wa_session_send_ack(s, n));
		return WA_EPROTO;
	}
	if (r.is_retry) {
		handle_retry(s, n, &r);
	} else if (!r.participant && !is_me(s, &r.from)) {
		/* receipts from our own devices (their copies, read-self) say
		 * nothing about the peer having the message */
		int st = wa_receipt_status(r.type);
		/* read-self / played-self come from our own devices about a peer's message */
		bool self = r.type && strstr(r.type, "-self");
		if (st && !self) {
			char fu[WA_STORE_JID_MAX];
			const char *hint = r.recipient && is_me(s, &r.from) ? r.recipient : r.from_s;
			for (size_t i = 0; i < r.n_ids && user_of(hint, fu, NULL); i++) {
				char chat[WA_STORE_JID_MAX];
				if (!find_own_msg(s, r.ids[i], fu, chat))
					continue;
				inflight *f = inflight_take(s->msg, r.ids[i]);
				if (f) {
					/* a receipt implies the server took it */
					ign(wa_store_outbox_set_state(s->store, s->instance_id, f->row,
						WA_STORE_OUTBOX_SENT));
					set_status(s, chat, r.ids[i], WA_MSG_SENT);
					free(f);
				}
				set_status(s, chat, r.ids[i], (enum wa_msg_status)st);
			}
		}
	}
	ign(wa_session_send_ack(s, n));
	return 0;
}

int wa_msg_handle_ack(wa_session *s, const wa_node *n)
{
	wa_in_ack a;
	if (!s->msg || wa_in_ack_parse(n, &a) != 0 || strcmp(a.class_, "message") != 0)
		return 0;
	inflight *f = inflight_take(s->msg, a.id);
	if (!f)
		return 0;
	if (a.error) {
		WA_DEBUG(MOD, "[%lld] server refused %s: error %d", (long long)s->instance_id, a.id, a.error);
		ign(wa_store_outbox_set_state(s->store, s->instance_id, f->row, WA_STORE_OUTBOX_FAILED));
		char why[48];
		snprintf(why, sizeof why, "server refused: %d", a.error);
		set_status_err(s, f->chat, a.id, WA_MSG_ERROR, WA_EPROTO, why);
	} else {
		/* one commit for both rows (each write alone would be its own);
		 * the event after it, as a handler may send from it */
		bool tx = wa_store_begin(s->store) == 0, changed = false;
		ign(wa_store_outbox_set_state(s->store, s->instance_id, f->row, WA_STORE_OUTBOX_SENT));
		raise_status(s, f->chat, a.id, WA_MSG_SENT, &changed);
		if (tx && wa_store_commit(s->store) != 0)
			changed = false;
		if (changed)
			emit_status(s, f->chat, a.id, WA_MSG_SENT);
	}
	free(f);
	arm_ack_timer(s);
	return 0;
}

int wa_msg_handle_notification(wa_session *s, const wa_node *n)
{
	const char *type = wa_node_attr(n, "type");
	const char *from = wa_node_attr(n, "from");
	char fu[WA_STORE_JID_MAX];
	if (s->msg && type && from && user_of(from, fu, NULL)) {
		if (strcmp(type, "devices") == 0) {
			dc_drop(s->msg, fu);
			const char *lid = wa_node_attr(n, "lid");
			char lu[WA_STORE_JID_MAX];
			if (lid && user_of(lid, lu, NULL)) {
				dc_drop(s->msg, lu);
				learn_mapping(s, fu, lu);
			}
			char *alt = alt_user(s, fu);
			if (alt)
				dc_drop(s->msg, alt);
			free(alt);
		} else if (strcmp(type, "account_sync") == 0) {
			const char *me[2] = {wa_session_me_jid(s), wa_session_me_lid(s)};
			for (int i = 0; i < 2; i++)
				if (me[i] && user_of(me[i], fu, NULL))
					dc_drop(s->msg, fu);
		}
	}
	ign(wa_session_send_ack(s, n));
	return 0;
}

int wa_msg_handle_presence(wa_session *s, const wa_node *n)
{
	const char *from = wa_node_attr(n, "from");
	if (!from)
		return 0;
	const char *type = wa_node_attr(n, "type");
	const char *last = wa_node_attr(n, "last");
	int64_t ls = 0;
	if (last && strcmp(last, "deny") != 0)
		ls = strtoll(last, NULL, 10);
	wa_event ev = {.type = WA_EV_PRESENCE};
	ev.u.presence.jid = from;
	ev.u.presence.presence = type && strcmp(type, "unavailable") == 0 ? "unavailable" : "available";
	ev.u.presence.last_seen = ls > 0 ? ls : 0;
	if (!type || strcmp(type, "unavailable") == 0 || strcmp(type, "available") == 0)
		wa_session_emit(s, &ev);
	return 0;
}

int wa_msg_handle_chatstate(wa_session *s, const wa_node *n)
{
	const char *from = wa_node_attr(n, "from");
	const wa_node *c = wa_node_child_at(n, 0);
	if (!from || !c)
		return 0;
	const char *tag = wa_node_tag(c);
	const char *p;
	if (strcmp(tag, "composing") == 0) {
		const char *media = wa_node_attr(c, "media");
		p = media && strcmp(media, "audio") == 0 ? "recording" : "composing";
	} else if (strcmp(tag, "paused") == 0) {
		p = "paused";
	} else {
		return 0;
	}
	const char *who = wa_node_attr(n, "participant");
	wa_event ev = {.type = WA_EV_PRESENCE};
	ev.u.presence.jid = who ? who : from;
	ev.u.presence.presence = p;
	wa_session_emit(s, &ev);
	return 0;
}

int wa_msg_handle_call(wa_session *s, const wa_node *n)
{
	ign(wa_session_send_ack(s, n));
	return 0;
}

/* ---------------- lifecycle ---------------- */

static int msg_init(wa_session *s)
{
	wa_msg_state *m = calloc(1, sizeof *m);
	if (!m)
		return WA_ENOMEM;
	s->msg = m;
	int rc = wa_stimer_init(s, &m->t_ack, on_ack_timer);
	if (rc != 0)
		return rc;
	m->t_ack_ok = true;
	rc = wa_stimer_init(s, &m->t_prep, on_prep_timer);
	if (rc != 0)
		return rc;
	m->t_prep_ok = true;
	return wa_drain_new(s, &m->drain);
}

static void msg_on_ready(wa_session *s)
{
	wa_msg_state *m = s->msg;
	if (!m)
		return;
	wa_sig_set_identity_callback(s->sig, on_identity_changed, s);
	if (wa_session_me_jid(s) && wa_session_me_lid(s))
		learn_mapping(s, wa_session_me_jid(s), wa_session_me_lid(s));
	size_t n = 0;
	ign(wa_store_outbox_requeue(s->store, s->instance_id, &n));
	if (n)
		WA_DEBUG(MOD, "[%lld] %zu unacked message(s) requeued", (long long)s->instance_id, n);
	inflight_clear(m);
	m->ready = true;
	m->gen++;
	holds_clear(m);
	if (m->t_prep_ok)
		wa_stimer_cancel(&m->t_prep);
	pump(s);
}

static void msg_on_close(wa_session *s)
{
	wa_msg_state *m = s->msg;
	if (!m)
		return;
	m->ready = false;
	wa_drain_close(m->drain); /* commit the open group now */
	inflight_clear(m);
	if (m->t_ack_ok)
		wa_stimer_cancel(&m->t_ack);
	holds_clear(m);
	if (m->t_prep_ok)
		wa_stimer_cancel(&m->t_prep);
	if (m->job) {
		job_free(m->job);
		m->job = NULL;
	}
}

static void msg_free(wa_session *s)
{
	wa_msg_state *m = s->msg;
	if (!m)
		return;
	msg_on_close(s);
	wa_drain_free(m->drain);
	m->drain = NULL;
	if (m->t_ack_ok)
		wa_stimer_clear(&m->t_ack);
	if (m->t_prep_ok)
		wa_stimer_clear(&m->t_prep);
	while (m->dc) {
		devcache *d = m->dc;
		m->dc = d->next;
		free(d);
	}
	while (m->rt) {
		retry_track *r = m->rt;
		m->rt = r->next;
		free(r);
	}
	if (s->sig)
		wa_sig_set_identity_callback(s->sig, NULL, NULL);
	free(m);
	s->msg = NULL;
}

const wa_session_ext wa_msg_ext = {
	.name = "messaging",
	.init = msg_init,
	.on_ready = msg_on_ready,
	.on_close = msg_on_close,
	.free = msg_free,
};
