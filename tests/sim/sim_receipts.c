/* wasim receipts (messaging.md §4 "Receipts", §5): a client's <receipt>
 * dequeues the receipted messages for that device and is forwarded, with
 * the server time in t, to the devices that need it: the author's devices
 * (delivery, read, played), the one device a retry asks, the own device
 * that sent a message (sender; Baileys omits `to` then: found by id), or
 * the reader's own other devices (read-self, played-self). */
#include "sim_msg.h"

#include <stdio.h>
#include <string.h>

/* Copies <list> and every other child (retry keys) into the forward. */
static wa_node *with_children(wa_node *fw, const wa_node *src)
{
	for (size_t i = 0; fw && i < wa_node_n_children(src); i++) {
		const wa_node *ch = wa_node_child_at(src, i);
		/* re-encode through the queue format is not needed: copy by value */
		wa_node *cp = NULL;
		const uint8_t *p;
		size_t len;
		if (wa_node_content_kind(ch) == WA_NODE_LIST) {
			cp = sim_node(wa_node_tag(ch), NULL);
			for (size_t k = 0; cp && k < wa_node_n_attrs(ch); k++)
				if (wa_node_set_attr(cp, wa_node_attr_key(ch, k), wa_node_attr_value(ch, k))) {
					wa_node_free(cp);
					cp = NULL;
				}
			if (cp) {
				wa_node_set_list(cp);
				cp = with_children(cp, ch);
			}
		} else {
			cp = sim_node(wa_node_tag(ch), NULL);
			for (size_t k = 0; cp && k < wa_node_n_attrs(ch); k++)
				if (wa_node_set_attr(cp, wa_node_attr_key(ch, k), wa_node_attr_value(ch, k))) {
					wa_node_free(cp);
					cp = NULL;
				}
			if (cp && wa_node_content_bytes(ch, &p, &len) == 0 && wa_node_set_bytes(cp, p, len)) {
				wa_node_free(cp);
				cp = NULL;
			}
		}
		fw = sim_node_add(fw, cp);
	}
	return fw;
}

static wa_node *forward_node(const wa_node *rc, const char *from, const char *t, const char *recipient)
{
	wa_node *fw = sim_node("receipt", "from", from, "id", wa_node_attr(rc, "id"), "t", t, "type",
		wa_node_attr(rc, "type"), "recipient", recipient, NULL);
	return fw ? with_children(fw, rc) : NULL;
}

static bool is(const char *type, const char *want)
{
	return type && strcmp(type, want) == 0;
}

int sim_route_receipt(struct sim *sim, struct sim_account *from, uint32_t rdev, const wa_node *n)
{
	const char *id = wa_node_attr(n, "id");
	const char *to = wa_node_attr(n, "to");
	const char *type = wa_node_attr(n, "type");
	const char *recipient = wa_node_attr(n, "recipient");
	const char *t_in = wa_node_attr(n, "t");
	struct sim_addr ad;
	char t[32], fromjid[SIM_MSG_JID_MAX];
	bool have_to, lid;
	if (!id)
		return 0;
	if (t_in && strlen(t_in) < sizeof(t))
		snprintf(t, sizeof(t), "%s", t_in);
	else
		sim_msg_tstr(t, sizeof(t), sim_now());
	have_to = to && sim_addr_parse(sim, to, &ad) == 0;
	if (to && !have_to && strstr(to, "@g.us"))
		return sim_groups_route_receipt(sim, from, rdev, n);
	if (to && !have_to)
		return 0; /* unknown users: nothing to route */
	lid = have_to ? ad.lid : (recipient && strstr(recipient, "@lid") != NULL);
	sim_jid_device(from, lid, rdev, fromjid, sizeof(fromjid));

	if (is(type, "server-error"))
		/* a media re-upload request to the own phone (sim_mretry.c) */
		return have_to && ad.acct == from ? sim_mretry_receipt(sim, from, rdev, n) : 0;
	if (is(type, "peer_msg") || is(type, "hist_sync"))
		return 0; /* for the own phone, which needs nothing back */
	if (is(type, "sender")) {
		/* to = the own sending device, or (Baileys, PN chats) absent: find
		 * the device that sent this id */
		uint32_t dev;
		if (have_to && ad.acct == from && ad.has_device)
			dev = ad.device;
		else if (!sim_msg_recent_find(from, id, &dev))
			return 0;
		if (dev == rdev)
			return 0;
		wa_node *fw = forward_node(n, fromjid, t, recipient);
		return fw ? sim_msg_deliver(sim, from, dev, fw) : WA_ENOMEM;
	}
	if (!have_to)
		return 0;
	if (is(type, "retry")) {
		/* only the device asked (its own message's sender) */
		uint32_t dev = ad.has_device ? ad.device : 0;
		if (!sim_device_exists(ad.acct, dev) || (ad.acct == from && dev == rdev))
			return 0;
		wa_node *fw = forward_node(n, fromjid, t, ad.acct == from ? recipient : NULL);
		return fw ? sim_msg_deliver(sim, ad.acct, dev, fw) : WA_ENOMEM;
	}
	if (is(type, "read-self") || is(type, "played-self") || ad.acct == from) {
		/* self-sync: the reader's other devices, chat in recipient */
		char chat[SIM_MSG_JID_MAX];
		if (ad.acct != from)
			sim_jid_user(ad.acct, ad.lid, chat, sizeof(chat));
		else
			snprintf(chat, sizeof(chat), "%s", recipient ? recipient : "");
		if (!chat[0])
			return 0;
		for (size_t i = 0; i <= from->n_devices; i++) {
			uint32_t dev = i == 0 ? 0 : from->devices[i - 1]->device;
			if (dev == rdev || dev == 0)
				continue;
			wa_node *fw = forward_node(n, fromjid, t, chat);
			if (fw)
				SIM_IGNORE(sim_msg_deliver(sim, from, dev, fw));
		}
		return 0;
	}
	/* delivery / read / played / inactive: every device of the author */
	for (size_t i = 0; i <= ad.acct->n_devices; i++) {
		uint32_t dev = i == 0 ? 0 : ad.acct->devices[i - 1]->device;
		wa_node *fw = forward_node(n, fromjid, t, NULL);
		if (fw)
			SIM_IGNORE(sim_msg_deliver(sim, ad.acct, dev, fw));
	}
	return 0;
}

static int handle_receipt(struct sim *sim, struct sim_conn *c, const wa_node *n, void *user)
{
	struct sim_device *d = sim_conn_device(c);
	struct sim_dev_ext *x = d ? sim_dx(d) : NULL;
	const char *id = wa_node_attr(n, "id");
	const wa_node *list = wa_node_child(n, "list");
	(void)user;
	if (!x || !id)
		return 0;
	if (strlen(id) <= SIM_MSG_ID_MAX) {
		const char *ty = wa_node_attr(n, "type");
		snprintf(x->rcpt_log[x->rcpt_next].id, sizeof(x->rcpt_log[0].id), "%s", id);
		snprintf(x->rcpt_log[x->rcpt_next].type, sizeof(x->rcpt_log[0].type), "%s", ty ? ty : "");
		x->rcpt_next = (x->rcpt_next + 1) % SIM_MSG_RCPT_LOG;
		if (x->n_rcpts < SIM_MSG_RCPT_LOG)
			x->n_rcpts++;
	}
	/* any receipt acknowledges the receipted messages for this device */
	bool changed = sim_queue_remove(&x->q, "message", id);
	for (size_t i = 0; list && i < wa_node_n_children(list); i++) {
		const char *iid = wa_node_attr(wa_node_child_at(list, i), "id");
		if (iid)
			changed |= sim_queue_remove(&x->q, "message", iid);
	}
	if (changed)
		sim_msg_dirty(sim);
	/* the real server acks receipts; both clients ignore it */
	wa_node *ack = sim_node("ack", "class", "receipt", "id", id, "from", wa_node_attr(n, "to"), "type",
		wa_node_attr(n, "type"), NULL);
	if (ack)
		SIM_IGNORE(sim_conn_send_free(c, ack));
	return sim_route_receipt(sim, d->acct, d->device, n);
}

int sim_receipts_init(struct sim *sim)
{
	return sim_handler_register(sim, "receipt", handle_receipt, NULL);
}
