/* Receipts and acks (messaging.md §4, §10). Out: the receipt we send after
 * a message is safely stored (delivery, read, sender; built here, sent by
 * receive.c), read receipts on request (wa_session_mark_read), the <ack> for
 * stanzas not answered by a receipt. In: receipts about our own messages
 * raise their status (retry receipts go to retries.c), and the parser of
 * the server's acks (inflight.c acts on them). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session/msg.h"
#include "session/msgstate.h"
#include "wa/session.h"

static int set(wa_node *n, const char *k, const char *v, int rc)
{
	return rc == 0 && v ? wa_node_set_attr(n, k, v) : rc;
}

int wa_receipt_build(const char *const *ids, size_t n, const char *to, const char *participant,
	const char *recipient, const char *type, int64_t t, wa_node **out)
{
	if (!ids || n == 0 || n > WA_RECEIPT_MAX_IDS || !out)
		return WA_EINVAL;
	wa_node *r = NULL, *list = NULL, *item = NULL;
	int rc = wa_node_new(&r, "receipt");
	rc = set(r, "id", ids[0], rc);
	rc = set(r, "to", to, rc);
	rc = set(r, "participant", participant, rc);
	rc = set(r, "recipient", recipient, rc);
	rc = set(r, "type", type, rc);
	if (t > 0) {
		char b[24];
		snprintf(b, sizeof b, "%lld", (long long)t);
		rc = set(r, "t", b, rc);
	}
	if (rc == 0 && n > 1) {
		rc = wa_node_add_new(r, "list", &list);
		for (size_t i = 1; rc == 0 && i < n; i++) {
			rc = wa_node_add_new(list, "item", &item);
			rc = set(item, "id", ids[i], rc);
		}
	}
	if (rc != 0) {
		wa_node_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

int wa_ack_build(const wa_node *st, const char *own_jid, int error_code, wa_node **out)
{
	if (!st || !out || !wa_node_attr(st, "id"))
		return WA_EINVAL;
	wa_node *a = NULL;
	int rc = wa_node_new(&a, "ack");
	rc = set(a, "id", wa_node_attr(st, "id"), rc);
	rc = set(a, "to", wa_node_attr(st, "from"), rc);
	rc = set(a, "class", wa_node_tag(st), rc);
	if (error_code) {
		char b[16];
		snprintf(b, sizeof b, "%d", error_code);
		rc = set(a, "error", b, rc);
	}
	rc = set(a, "participant", wa_node_attr(st, "participant"), rc);
	rc = set(a, "recipient", wa_node_attr(st, "recipient"), rc);
	rc = set(a, "type", wa_node_attr(st, "type"), rc);
	if (strcmp(wa_node_tag(st), "message") == 0)
		rc = set(a, "from", own_jid, rc);
	if (rc != 0) {
		wa_node_free(a);
		return rc;
	}
	*out = a;
	return 0;
}

static int64_t num(const char *s)
{
	if (!s || !*s || strlen(s) > 18)
		return -1;
	int64_t v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (*p - '0');
	}
	return v;
}

int wa_in_receipt_parse(const wa_node *n, wa_in_receipt *out)
{
	if (!n || !out)
		return WA_EINVAL;
	wa_in_receipt r;
	memset(&r, 0, sizeof r);
	const char *id = wa_node_attr(n, "id");
	r.from_s = wa_node_attr(n, "from");
	if (!id || !*id || strlen(id) > WA_MSG_ID_MAX || !r.from_s || wa_jid_parse(&r.from, r.from_s) != 0)
		return WA_EMALFORMED;
	r.ids[r.n_ids++] = id;
	r.participant = wa_node_attr(n, "participant");
	r.recipient = wa_node_attr(n, "recipient");
	r.type = wa_node_attr(n, "type");
	int64_t t = num(wa_node_attr(n, "t"));
	r.t = t > 0 ? t : 0;
	const wa_node *list = wa_node_child(n, "list");
	for (size_t i = 0; list && i < wa_node_n_children(list) && r.n_ids < WA_RECEIPT_MAX_IDS; i++) {
		const wa_node *it = wa_node_child_at(list, i);
		const char *iid = wa_node_attr(it, "id");
		if (strcmp(wa_node_tag(it), "item") == 0 && iid && *iid && strlen(iid) <= WA_MSG_ID_MAX)
			r.ids[r.n_ids++] = iid;
	}
	if (r.type && strcmp(r.type, "retry") == 0) {
		r.is_retry = true;
		const wa_node *rt = wa_node_child(n, "retry");
		int64_t c = rt ? num(wa_node_attr(rt, "count")) : -1;
		r.retry_count = c > 0 && c < 1000 ? (unsigned)c : 1;
		r.reg_node = wa_node_child(n, "registration");
		const uint8_t *p;
		size_t l;
		if (r.reg_node && wa_node_content_bytes(r.reg_node, &p, &l) == 0 && l == 4) {
			r.has_registration = true;
			r.registration_id = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
		}
		r.keys = wa_node_child(n, "keys");
	}
	*out = r;
	return 0;
}

int wa_receipt_status(const char *type)
{
	/* "inactive": delivered to a device that is not online (whatsmeow's
	 * ReceiptTypeInactive) */
	if (!type || strcmp(type, "inactive") == 0)
		return WA_MSG_DELIVERED;
	if (strcmp(type, "read") == 0 || strcmp(type, "read-self") == 0)
		return WA_MSG_READ;
	if (strcmp(type, "played") == 0 || strcmp(type, "played-self") == 0)
		return WA_MSG_PLAYED;
	return 0;
}

int wa_in_ack_parse(const wa_node *n, wa_in_ack *out)
{
	if (!n || !out)
		return WA_EINVAL;
	wa_in_ack a;
	memset(&a, 0, sizeof a);
	a.id = wa_node_attr(n, "id");
	a.class_ = wa_node_attr(n, "class");
	a.from = wa_node_attr(n, "from");
	if (!a.id || !a.class_)
		return WA_EMALFORMED;
	const char *e = wa_node_attr(n, "error");
	if (e) {
		int64_t v = num(e);
		a.error = v > 0 && v < 100000 ? (int)v : 500;
	}
	int64_t t = num(wa_node_attr(n, "t"));
	a.t = t > 0 ? t : 0;
	*out = a;
	return 0;
}

/* ---------------- session side ---------------- */

int wa_msg_handle_receipt(wa_session *s, const wa_node *n)
{
	wa_in_receipt r;
	if (!s->msg || wa_in_receipt_parse(n, &r) != 0) {
		ign(wa_session_send_ack(s, n));
		return WA_EPROTO;
	}
	if (r.is_retry) {
		wa_msg_handle_retry(s, n, &r);
	} else if (!r.participant && !wa_msg_is_me(s, &r.from)) {
		/* receipts from our own devices (their copies, read-self) say
		 * nothing about the peer having the message */
		int st = wa_receipt_status(r.type);
		/* read-self / played-self come from our own devices about a peer's message */
		bool self = r.type && strstr(r.type, "-self");
		if (st && !self) {
			char fu[WA_STORE_JID_MAX];
			const char *hint = r.recipient && wa_msg_is_me(s, &r.from) ? r.recipient : r.from_s;
			for (size_t i = 0; i < r.n_ids && wa_msg_user_of(hint, fu, NULL); i++) {
				char chat[WA_STORE_JID_MAX];
				if (!wa_msg_find_own(s, r.ids[i], fu, chat))
					continue;
				/* one commit for the rows (and the embedder's record, through
				 * status_in_tx), before the ack; the events after it, as a
				 * handler may send from them */
				bool tx = wa_store_begin_grouped(s->store) == 0, sent = false, changed = false,
				     rec = false;
				int64_t row;
				if (wa_msg_inflight_take(s->msg, r.ids[i], &row)) {
					/* a receipt implies the server took it */
					ign(wa_store_outbox_set_state(s->store, s->instance_id, row,
						WA_STORE_OUTBOX_SENT));
					wa_msg_raise_status(s, chat, r.ids[i], WA_MSG_SENT, &sent);
					rec = s->status_recorded;
				}
				wa_msg_raise_status(s, chat, r.ids[i], (enum wa_msg_status)st, &changed);
				bool rec2 = s->status_recorded;
				if (tx && wa_store_commit(s->store) != 0)
					sent = changed = false;
				if (sent) {
					s->status_recorded = rec;
					wa_msg_emit_status_committed(s, chat, r.ids[i], WA_MSG_SENT);
				}
				if (changed) {
					s->status_recorded = rec2;
					wa_msg_emit_status_committed(s, chat, r.ids[i], (enum wa_msg_status)st);
				}
				s->status_recorded = false;
			}
		}
	}
	ign(wa_session_send_ack_committed(s, n));
	return 0;
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
		if (!keys[i].id || wa_msg_chat_of(keys[i].remote_jid, chat) != 0)
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
