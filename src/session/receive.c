/* Receiving a <message> (messaging.md §4): parse it (who sent it, the
 * alternate-namespace attributes that teach us PN<->LID, its <enc>
 * children), answer a redelivery from the stored row, otherwise decrypt and
 * store in one transaction (offline messages in a drain group), emit, then
 * the delivery and read receipts. A failed decrypt asks for the message
 * again (retries.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session/drain.h"
#include "session/groups.h"
#include "session/msg.h"
#include "session/msgstate.h"

static int64_t parse_t(const char *s)
{
	if (!s || strlen(s) > 18)
		return 0;
	int64_t v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return 0;
		v = v * 10 + (*p - '0');
	}
	return v;
}

int wa_in_msg_parse(const wa_node *n, wa_in_msg *out)
{
	if (!n || !out)
		return WA_EINVAL;
	wa_in_msg m;
	memset(&m, 0, sizeof m);
	m.id = wa_node_attr(n, "id");
	m.from_s = wa_node_attr(n, "from");
	if (!m.id || !*m.id || strlen(m.id) > WA_MSG_ID_MAX || !m.from_s)
		return WA_EMALFORMED;
	if (wa_jid_parse(&m.from, m.from_s) != 0)
		return WA_EMALFORMED;
	m.participant_s = wa_node_attr(n, "participant");
	if (m.participant_s) {
		if (wa_jid_parse(&m.participant, m.participant_s) != 0)
			return WA_EMALFORMED;
		m.has_participant = true;
	}
	m.recipient = wa_node_attr(n, "recipient");
	m.notify = wa_node_attr(n, "notify");
	m.type = wa_node_attr(n, "type");
	m.category = wa_node_attr(n, "category");
	m.sender_alt = wa_node_attr(n, "sender_lid");
	if (!m.sender_alt)
		m.sender_alt = wa_node_attr(n, "sender_pn");
	if (!m.sender_alt)
		m.sender_alt = wa_node_attr(n, "participant_lid");
	if (!m.sender_alt)
		m.sender_alt = wa_node_attr(n, "participant_pn");
	m.recipient_alt = wa_node_attr(n, "peer_recipient_lid");
	if (!m.recipient_alt)
		m.recipient_alt = wa_node_attr(n, "peer_recipient_pn");
	m.t = parse_t(wa_node_attr(n, "t"));
	m.offline = wa_node_attr(n, "offline") != NULL;
	for (size_t i = 0; i < wa_node_n_children(n); i++) {
		const wa_node *c = wa_node_child_at(n, i);
		if (strcmp(wa_node_tag(c), "enc") != 0)
			continue;
		const char *ty = wa_node_attr(c, "type");
		const char *v = wa_node_attr(c, "v");
		enum wa_sig_msg_type st;
		const uint8_t *p;
		size_t l;
		if (!ty || wa_sig_type_parse(ty, &st) != 0 || (v && strcmp(v, "2") != 0) ||
		    wa_node_content_bytes(c, &p, &l) != 0 || m.n_encs >= WA_IN_MAX_ENCS) {
			m.has_unknown_enc = true;
			continue;
		}
		wa_in_enc *e = &m.encs[m.n_encs++];
		e->type = st;
		e->ct = p;
		e->ct_len = l;
		const char *cnt = wa_node_attr(c, "count");
		int64_t cv = parse_t(cnt);
		e->count = cv > 0 && cv < 100 ? (unsigned)cv : 0;
	}
	*out = m;
	return 0;
}

/* ---------------- the pipeline ---------------- */

static void emit_message(wa_session *s, const char *chat, const wa_in_msg *in, bool from_me,
	const uint8_t *pt, size_t pt_len)
{
	wa_appstate_on_plaintext(s, from_me, pt, pt_len); /* sync keys from our phone */
	wa_msg_view v;
	if (wa_msg_view_parse(pt, pt_len, &v) != 0)
		return;
	if (!v.emit) {
		wa_msg_view_clear(&v);
		return;
	}
	const char *c = v.dsm_dest ? v.dsm_dest : chat;
	char cu[WA_STORE_JID_MAX];
	wa_jid cj;
	if (!wa_msg_user_of(c, cu, &cj))
		snprintf(cu, sizeof cu, "%s", chat);
	char *alt = wa_msg_alt_user(s, cu);
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
	char *poll = v.message_type && strcmp(v.message_type, "pollUpdateMessage") == 0
			     ? wa_msg_poll_attach(s, ev.u.message.key.remote_jid,
						  from_me ? wa_session_me_jid(s) : ev.u.message.key.remote_jid, pt, pt_len, v.json)
			     : NULL;
	if (poll)
		ev.u.message.message_json = poll;
	wa_session_emit(s, &ev);
	free(poll);
	free(alt);
	wa_msg_view_clear(&v);
}

/* As Baileys: peer_msg for the phone's peer messages, sender for our own
 * devices' messages, otherwise a plain delivery receipt while we are
 * available and an "inactive" one while we are not. */
static wa_node *build_delivery(wa_session *s, const wa_in_msg *in, const char *chat, bool from_me)
{
	const char *type = NULL, *recipient = NULL;
	if (in->category && strcmp(in->category, "peer") == 0)
		type = "peer_msg";
	else if (from_me) {
		type = "sender";
		recipient = chat;
	} else if (!s->online) {
		type = "inactive";
	}
	wa_node *r = NULL;
	const char *ids[1] = {in->id};
	return wa_receipt_build(ids, 1, in->from_s, NULL, recipient, type, 0, &r) == 0 ? r : NULL;
}

static void send_delivery(wa_session *s, const wa_in_msg *in, const char *chat, bool from_me)
{
	wa_node *r = build_delivery(s, in, chat, from_me);
	if (r)
		(void)send_node(s, r);
}

/* As Baileys and whatsmeow: a history-sync notification (our phone's
 * peer message) also gets a hist_sync receipt, to the chat's user JID
 * without participant, after the peer_msg one; the phone sends the
 * notification again until it has it. */
static wa_node *build_hist(const wa_in_msg *in, const char *chat, const uint8_t *pt, size_t len)
{
	if (!wa_msg_is_history_sync(pt, len))
		return NULL;
	const char *ids[1] = {in->id};
	wa_node *r = NULL;
	return wa_receipt_build(ids, 1, chat, NULL, NULL, "hist_sync", 0, &r) == 0 ? r : NULL;
}

static void send_hist(wa_session *s, const wa_in_msg *in, const char *chat, const uint8_t *pt, size_t len)
{
	wa_node *r = build_hist(in, chat, pt, len);
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

static void ack(wa_session *s, const wa_node *n, int error)
{
	wa_node *a = NULL;
	if (wa_ack_build(n, wa_session_me_jid(s), error, &a) == 0)
		(void)send_node(s, a);
}

/* A live message stored in the loop turn's group commit: its receipts
 * (owned, either may be NULL) and the ACKED status follow the commit; a
 * lost group sends nothing (the server redelivers, the message is stored
 * and emitted again then, as after a crash). */
typedef struct received {
	wa_session *s;
	wa_node *delivery, *read;
	bool from_me;
	char chat[WA_STORE_JID_MAX];
	char id[WA_MSG_ID_MAX + 1];
} received;

static void received_send(received *r, int rc)
{
	if (rc != 0) {
		wa_node_free(r->delivery);
		wa_node_free(r->read);
		return;
	}
	if (r->delivery)
		(void)send_node(r->s, r->delivery); /* sends and frees */
	ign(wa_store_msg_set_status(r->s->store, r->s->instance_id, r->chat, r->id, r->from_me, WA_STORE_MSG_ACKED));
	if (r->read)
		(void)send_node(r->s, r->read);
}

static void received_done(void *user, int rc)
{
	received_send(user, rc);
	free(user);
}

static void received_defer(wa_session *s, wa_node *delivery, wa_node *read, const char *chat, const char *id,
	bool from_me)
{
	received t = { .s = s, .delivery = delivery, .read = read, .from_me = from_me };
	snprintf(t.chat, sizeof t.chat, "%s", chat);
	snprintf(t.id, sizeof t.id, "%s", id);
	received *r = malloc(sizeof *r);
	if (!r) {
		/* no memory to wait with: commit now, then answer */
		received_send(&t, wa_store_group_flush(s->store));
		return;
	}
	*r = t;
	wa_store_after_commit(s->store, received_done, r);
}

int wa_msg_handle_message(wa_session *s, const wa_node *n)
{
	wa_in_msg in;
	if (!s->msg || wa_in_msg_parse(n, &in) != 0) {
		ack(s, n, 487);
		return WA_EPROTO;
	}
	char gj[WA_STORE_JID_MAX];
	if (in.has_participant && wa_group_jid_norm(in.from_s, gj))
		return wa_msg_group_message(s, n);
	/* broadcasts, newsletters: out of this scope, acked so they leave the queue */
	if (in.has_participant || !(wa_msg_jid_is_pn(&in.from) || wa_msg_jid_is_lid(&in.from))) {
		ack(s, n, 0);
		return 0;
	}
	bool from_me = wa_msg_is_me(s, &in.from);
	char chat[WA_STORE_JID_MAX], fu[WA_STORE_JID_MAX];
	if (!wa_msg_user_of(in.from_s, fu, NULL)) {
		/* parses, but user@server does not fit a stored JID: without
		 * an ack the server would redeliver it forever */
		ack(s, n, 487);
		return WA_EPROTO;
	}
	if (from_me && in.recipient) {
		if (!wa_msg_user_of(in.recipient, chat, NULL)) {
			ack(s, n, 487);
			return WA_EPROTO;
		}
	} else {
		snprintf(chat, sizeof chat, "%s", fu);
	}
	if (in.sender_alt)
		wa_msg_learn_mapping(s, fu, in.sender_alt);
	if (from_me && in.recipient && in.recipient_alt)
		wa_msg_learn_mapping(s, in.recipient, in.recipient_alt);

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
		send_delivery(s, &in, chat, from_me);
		/* an import still running sends hist_sync itself when committed */
		if (from_me && wa_history_pending(s, in.id))
			wa_history_kick(s);
		else
			send_hist(s, &in, chat, row->plaintext, row->plaintext_len);
		wa_store_msg_row_free(row);
		ign(wa_store_msg_set_status(s->store, s->instance_id, chat, in.id, from_me,
			WA_STORE_MSG_ACKED));
		return 0;
	}
	if (in.n_encs == 0) {
		if (in.has_unknown_enc)
			ack(s, n, 0);
		else
			{
			wa_msg_send_retry_receipt(s, n, &in, WA_ESIG_NOSESSION);
			ack(s, n, 0);
		}
		return 0;
	}
	char name[WA_STORE_JID_MAX];
	if (wa_msg_addr_for(s, &in.from, name) != 0) {
		ack(s, n, 487);
		return WA_EPROTO;
	}
	uint8_t *pt = NULL;
	size_t pt_len = 0;
	int rc = drain ? wa_drain_unit_begin(drain) : wa_store_begin_grouped(s->store);
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
			/* our phone's history: imported after the commit (history.c) */
			if (rc == 0 && from_me)
				rc = wa_history_record(s, in.id, chat, pt, pt_len);
		}
		if (drain)
			rc = wa_drain_unit_end(drain, rc);
		else if (rc == 0)
			rc = wa_store_commit(s->store);
		else
			wa_store_rollback(s->store);
	}
	if (rc != 0)
		wa_msg_pending_drop(s->msg); /* rolled back: the change will be reported on redelivery */
	wa_msg_flush_identity(s);
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
		wa_msg_send_retry_receipt(s, n, &in, rc);
		ack(s, n, 0);
		free(pt);
		if (drain)
			wa_drain_after(drain);
		return 0;
	}
	emit_message(s, chat, &in, from_me, pt, pt_len);
	/* the hist_sync receipt follows the import's commit (history.c) */
	bool is_hist = from_me && wa_msg_is_history_sync(pt, pt_len);
	wa_node *hist = NULL;
	free(pt);
	if (is_hist)
		wa_history_kick(s);
	if (drain) {
		/* receipts after the group commit */
		wa_drain_defer(drain, build_delivery(s, &in, chat, from_me), build_read(s, &in, chat, from_me),
			hist, chat, in.id, from_me);
		wa_drain_after(drain);
		return 0;
	}
	if (wa_store_turn_pending(s->store)) {
		/* in the loop turn's group: the receipts after its commit */
		received_defer(s, build_delivery(s, &in, chat, from_me), build_read(s, &in, chat, from_me), chat,
			in.id, from_me);
		return 0;
	}
	send_delivery(s, &in, chat, from_me);
	if (hist)
		(void)send_node(s, hist);
	ign(wa_store_msg_set_status(s->store, s->instance_id, chat, in.id, from_me, WA_STORE_MSG_ACKED));
	wa_node *rr = build_read(s, &in, chat, from_me);
	if (rr)
		(void)send_node(s, rr);
	return 0;
}
