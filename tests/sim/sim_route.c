/* wasim message routing (messaging.md §3-§5): a client's <message> is acked
 * to the sender, then each per-device <enc> becomes its own stanza for that
 * device, delivered through the queue (sim_msg_deliver). `from` names the
 * sending device in the namespace the sender addressed (PN or LID), with the
 * other namespace in sender_lid/sender_pn; copies for the sender's own
 * devices carry `recipient` (and peer_recipient_*). Group stanzas go to
 * sim_groups.c; broadcasts and newsletters are acked with an error. */
#include "sim_msg.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct route_ctx {
	struct sim *sim;
	const wa_node *stanza;   /* the sender's stanza */
	struct sim_account *from;
	uint32_t sdev;
	bool lid;                /* namespace of the chat (stanza to) */
	struct sim_account *peer; /* chat account (may be the sender's own) */
	const char *recipient;   /* own-device copy: the peer chat JID */
	char t[32];
	int delivered;
};

/* Copies an attribute when present. */
static int copy_attr(wa_node *dst, const wa_node *src, const char *key)
{
	const char *v = wa_node_attr(src, key);
	return v ? wa_node_set_attr(dst, key, v) : 0;
}

/* Deep copy (our tree has no clone: encode/decode would do, this is cheaper). */
static wa_node *clone_node(const wa_node *n)
{
	wa_node *c = sim_node(wa_node_tag(n), NULL);
	const uint8_t *p;
	size_t len;
	if (!c)
		return NULL;
	for (size_t i = 0; i < wa_node_n_attrs(n); i++)
		if (wa_node_set_attr(c, wa_node_attr_key(n, i), wa_node_attr_value(n, i))) {
			wa_node_free(c);
			return NULL;
		}
	switch (wa_node_content_kind(n)) {
	case WA_NODE_LIST:
		wa_node_set_list(c);
		for (size_t i = 0; c && i < wa_node_n_children(n); i++)
			c = sim_node_add(c, clone_node(wa_node_child_at(n, i)));
		return c;
	case WA_NODE_BYTES:
		p = wa_node_bytes(n, &len);
		if (wa_node_set_bytes(c, p, len)) {
			wa_node_free(c);
			return NULL;
		}
		return c;
	case WA_NODE_STRING:
		if (wa_node_set_string(c, wa_node_string(n))) {
			wa_node_free(c);
			return NULL;
		}
		return c;
	default:
		return c;
	}
}

/* A copy already delivered is not delivered again: the same sending device,
 * id, target device and ciphertext (a client resending the very stanza after
 * a reconnect). A retry resend reuses the id but is encrypted afresh, so it
 * always passes, whether single-device or a full fan-out (Baileys re-sends
 * to every device when the phone asked). */
static bool seen_before(struct sim_account *from, uint32_t sdev, const char *id, const struct sim_account *to,
	uint32_t dev, const wa_node *encs)
{
	struct sim_device *d = sdev ? sim_device_find(from, sdev) : NULL;
	struct sim_dev_ext *x = d ? sim_dx(d) : NULL;
	uint64_t h = sim_msg_id_hash(id);
	if (!x || d->fault.no_dedupe)
		return false; /* a server that routes every copy (fault no_dedupe) */
	h ^= (uint64_t)(uintptr_t)to * 0x9E3779B97F4A7C15ull;
	h ^= ((uint64_t)dev + 1) * 0xC2B2AE3D27D4EB4Full;
	for (size_t i = 0; i < wa_node_n_children(encs); i++) {
		const wa_node *e = wa_node_child_at(encs, i);
		const uint8_t *p;
		size_t len;
		if (strcmp(wa_node_tag(e), "enc") != 0 || wa_node_content_bytes(e, &p, &len) != 0)
			continue;
		for (size_t k = 0; k < len; k++) {
			h ^= p[k];
			h *= 1099511628211ull;
		}
	}
	for (size_t i = 0; i < SIM_MSG_DEDUP; i++)
		if (x->seen[i] == h) {
			x->dup_copies++;
			return true;
		}
	x->seen[x->seen_next] = h;
	x->seen_next = (x->seen_next + 1) % SIM_MSG_DEDUP;
	return false;
}

/* Delivers the <enc> children of `encs` (a <to> or the stanza itself) to
 * device dev of acct. */
static void deliver_one(struct route_ctx *r, struct sim_account *acct, uint32_t dev, const wa_node *encs)
{
	char from[SIM_MSG_JID_MAX], alt[SIM_MSG_JID_MAX];
	const wa_node *st = r->stanza;
	bool own = acct == r->from;
	const char *category = wa_node_attr(st, "category");
	bool peer_cat = category && strcmp(category, "peer") == 0;
	wa_node *n;
	if (own && dev == r->sdev)
		return; /* never back to the sending device */
	if (!sim_device_exists(acct, dev))
		return;
	if (seen_before(r->from, r->sdev, wa_node_attr(st, "id"), acct, dev, encs))
		return;
	bool lid = r->lid;
	sim_jid_device(r->from, lid, r->sdev, from, sizeof(from));
	n = sim_node("message", "from", from, "id", wa_node_attr(st, "id"), "t", r->t, "type",
		wa_node_attr(st, "type") ? wa_node_attr(st, "type") : "text", NULL);
	if (!n)
		return;
	if (copy_attr(n, st, "edit") || copy_attr(n, st, "category"))
		goto fail;
	if (r->from->push_name[0] && wa_node_set_attr(n, "notify", r->from->push_name))
		goto fail;
	if (own && !peer_cat && r->recipient) {
		if (wa_node_set_attr(n, "recipient", r->recipient))
			goto fail;
		if (r->peer) {
			sim_jid_user(r->peer, !r->lid, alt, sizeof(alt));
			if (wa_node_set_attr(n, r->lid ? "peer_recipient_pn" : "peer_recipient_lid", alt))
				goto fail;
		}
	} else if (!own) {
		sim_jid_user(r->from, !lid, alt, sizeof(alt));
		if (wa_node_set_attr(n, lid ? "sender_pn" : "sender_lid", alt))
			goto fail;
	}
	for (size_t i = 0; i < wa_node_n_children(encs); i++) {
		const wa_node *e = wa_node_child_at(encs, i);
		if (strcmp(wa_node_tag(e), "enc") == 0 && !(n = sim_node_add(n, clone_node(e))))
			return;
	}
	const wa_node *di = wa_node_child(st, "device-identity");
	if (di && !(n = sim_node_add(n, clone_node(di))))
		return;
	/* the reporting token travels with the message, so the recipient can
	 * hand it in with a report */
	const wa_node *rep = wa_node_child(st, "reporting");
	if (rep && !(n = sim_node_add(n, clone_node(rep))))
		return;
	if (sim_msg_deliver(r->sim, acct, dev, n) == 0)
		r->delivered++;
	return;
fail:
	wa_node_free(n);
}

static int send_ack(struct sim *sim, struct sim_conn *c, const wa_node *st, const char *t, const char *error)
{
	if (!c)
		return 0;
	wa_node *ack = sim_node("ack", "class", "message", "id", wa_node_attr(st, "id"), "from",
		wa_node_attr(st, "to"), "t", t, "error", error, NULL);
	if (!ack)
		return WA_ENOMEM;
	return sim_send_ack(sim, c, ack);
}

int sim_route_message(struct sim *sim, struct sim_conn *c, struct sim_account *from, uint32_t sdev, const wa_node *n)
{
	const char *id = wa_node_attr(n, "id");
	const char *to = wa_node_attr(n, "to");
	const char *category = wa_node_attr(n, "category");
	const char *fanout = wa_node_attr(n, "device_fanout");
	const wa_node *parts = wa_node_child(n, "participants");
	struct route_ctx r;
	struct sim_addr chat;
	char chat_jid[SIM_MSG_JID_MAX];
	int rc;
	memset(&r, 0, sizeof(r));
	r.sim = sim;
	r.stanza = n;
	r.from = from;
	r.sdev = sdev;
	sim_msg_tstr(r.t, sizeof(r.t), sim_now());
	if (!id || !to || strlen(id) >= SIM_MSG_ID_MAX)
		return send_ack(sim, c, n, r.t, "479");
	struct sim_device *sd = c ? sim_device_find(from, sdev) : NULL;
	if (sd && sd->fault.ack_error_left > 0) { /* fault ack_error: refused, not routed */
		char code[16];
		sd->fault.ack_error_left--;
		snprintf(code, sizeof code, "%d", sd->fault.ack_error_code);
		return send_ack(sim, c, n, r.t, code);
	}
	rc = sim_addr_parse(sim, to, &chat);
	if (rc == WA_EBIN_JID && strstr(to, "@g.us"))
		return sim_groups_route(sim, c, from, sdev, n);
	if (rc == WA_EBIN_JID)
		return send_ack(sim, c, n, r.t, "479"); /* broadcast, newsletters: not simulated */
	if (rc) /* an unknown user: the real server accepts and drops it */
		return send_ack(sim, c, n, r.t, NULL);
	r.lid = chat.lid;
	r.peer = chat.acct;
	sim_jid_user(chat.acct, chat.lid, chat_jid, sizeof(chat_jid));
	/* own-device retry resend names the peer chat in recipient (Baileys) */
	r.recipient = chat.acct == from && wa_node_attr(n, "recipient") ? wa_node_attr(n, "recipient") : chat_jid;
	if (chat.acct == from && wa_node_attr(n, "recipient")) {
		struct sim_addr rc2;
		if (sim_addr_parse(sim, wa_node_attr(n, "recipient"), &rc2) == 0)
			r.peer = rc2.acct;
	}
	if (c && sim_tctoken_refuse(sim, c, from, r.peer, n, chat.has_device || (fanout && strcmp(fanout, "false") == 0))) {
		struct sim_acct_ext *fx = sim_ax(sim, from);
		if (fx)
			fx->tctoken_refused++;
		return send_ack(sim, c, n, r.t, "463");
	}
	if ((rc = send_ack(sim, c, n, r.t, NULL)))
		return rc;
	sim_msg_recent_add(from, id, sdev);
	if (parts) {
		for (size_t i = 0; i < wa_node_n_children(parts); i++) {
			const wa_node *tn = wa_node_child_at(parts, i);
			struct sim_addr ad;
			if (strcmp(wa_node_tag(tn), "to") != 0 || sim_addr_parse(sim, wa_node_attr(tn, "jid"), &ad) != 0)
				continue;
			if (ad.acct != from && ad.acct != r.peer)
				continue; /* only the two parties of a 1:1 chat */
			if (ad.acct != from && sim_profile_blocks(ad.acct, from))
				continue; /* blocked: acked, never delivered */
			deliver_one(&r, ad.acct, ad.has_device ? ad.device : 0, tn);
		}
		return 0;
	}
	/* Single-device forms: to names a device, device_fanout="false", or a
	 * peer message for the own phone (device 0). */
	if (!wa_node_child(n, "enc"))
		return 0;
	(void)fanout;
	(void)category;
	if (chat.acct != from && sim_profile_blocks(chat.acct, from))
		return 0;
	deliver_one(&r, chat.acct, chat.has_device ? chat.device : 0, n);
	return 0;
}

static int handle_message(struct sim *sim, struct sim_conn *c, const wa_node *n, void *user)
{
	struct sim_device *d = sim_conn_device(c);
	(void)user;
	if (!d)
		return 0;
	if (d->ext)
		sim_dx(d)->msgs_in++;
	return sim_route_message(sim, c, d->acct, d->device, n);
}

int sim_route_init(struct sim *sim)
{
	return sim_handler_register(sim, "message", handle_message, NULL);
}
