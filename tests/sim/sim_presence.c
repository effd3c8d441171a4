/* wasim presence and chat state (messaging.md §8): global availability with
 * the push name (which becomes `notify` on delivered messages), presence
 * subscriptions per live connection, and typing indicators forwarded to the
 * peer's live devices. Nothing here is queued: it is only worth anything
 * live. */
#include "sim_msg.h"

#include <stdio.h>
#include <string.h>

static wa_node *presence_of(struct sim *sim, struct sim_account *a, bool lid)
{
	char jid[SIM_MSG_JID_MAX], last[32];
	struct sim_acct_ext *x = sim_ax(sim, a);
	bool avail = x && x->available;
	sim_jid_user(a, lid, jid, sizeof(jid));
	if (avail)
		return sim_node("presence", "from", jid, NULL);
	sim_msg_tstr(last, sizeof(last), x && x->last_seen ? x->last_seen : sim_now());
	return sim_node("presence", "from", jid, "type", "unavailable", "last", last, NULL);
}

/* Tells every live connection subscribed to a about its availability. */
static void publish(struct sim *sim, struct sim_account *a)
{
	for (size_t i = 0;; i++) {
		struct sim_account *b = sim_account_at(sim, i);
		if (!b)
			break;
		for (size_t k = 0; k < b->n_devices; k++) {
			struct sim_device *d = b->devices[k];
			struct sim_dev_ext *x = d->ext;
			if (!d->conn || !x)
				continue;
			for (size_t s = 0; s < x->n_subs; s++) {
				if (x->subs[s].acct != a)
					continue;
				wa_node *p = presence_of(sim, a, x->subs[s].lid);
				if (p)
					SIM_IGNORE(sim_conn_send_free(d->conn, p));
			}
		}
	}
}

static int handle_presence(struct sim *sim, struct sim_conn *c, const wa_node *n, void *user)
{
	struct sim_device *d = sim_conn_device(c);
	const char *type = wa_node_attr(n, "type");
	const char *name = wa_node_attr(n, "name");
	struct sim_acct_ext *ax;
	(void)user;
	if (!d || !(ax = sim_ax(sim, d->acct)))
		return 0;
	if (type && strcmp(type, "subscribe") == 0) {
		struct sim_addr ad;
		struct sim_dev_ext *x = sim_dx(d);
		if (!x || sim_addr_parse(sim, wa_node_attr(n, "to"), &ad) != 0)
			return 0;
		size_t s;
		for (s = 0; s < x->n_subs; s++)
			if (x->subs[s].acct == ad.acct && x->subs[s].lid == ad.lid)
				break;
		if (s == x->n_subs && x->n_subs < SIM_MSG_MAX_SUBS) {
			x->subs[x->n_subs].acct = ad.acct;
			x->subs[x->n_subs].lid = ad.lid;
			x->n_subs++;
		}
		wa_node *p = presence_of(sim, ad.acct, ad.lid);
		return p ? sim_conn_send_free(c, p) : 0;
	}
	if (name && name[0] && strlen(name) < sizeof(d->acct->push_name))
		snprintf(d->acct->push_name, sizeof(d->acct->push_name), "%s", name);
	struct sim_dev_ext *dx = sim_dx(d);
	if (dx) {
		snprintf(dx->presence, sizeof(dx->presence), "%s", type ? type : "available");
		snprintf(dx->presence_name, sizeof(dx->presence_name), "%s", name ? name : "");
	}
	if (!type || strcmp(type, "available") == 0) {
		ax->available = true;
	} else if (strcmp(type, "unavailable") == 0) {
		ax->available = false;
		ax->last_seen = sim_now();
	} else {
		return 0;
	}
	publish(sim, d->acct);
	return 0;
}

static int handle_chatstate(struct sim *sim, struct sim_conn *c, const wa_node *n, void *user)
{
	struct sim_device *d = sim_conn_device(c);
	struct sim_addr ad;
	char from[SIM_MSG_JID_MAX];
	const wa_node *st = wa_node_child_at(n, 0);
	(void)user;
	if (!d || !st || sim_addr_parse(sim, wa_node_attr(n, "to"), &ad) != 0)
		return 0;
	const char *tag = wa_node_tag(st);
	if (strcmp(tag, "composing") != 0 && strcmp(tag, "paused") != 0)
		return 0;
	sim_jid_user(d->acct, ad.lid, from, sizeof(from));
	wa_node *fw = sim_node("chatstate", "from", from, NULL);
	fw = sim_node_add(fw, sim_node(tag, "media", wa_node_attr(st, "media"), NULL));
	if (fw)
		sim_msg_send_live(sim, ad.acct, d, fw);
	return 0;
}

int sim_presence_init(struct sim *sim)
{
	int rc = sim_handler_register(sim, "presence", handle_presence, NULL);
	return rc ? rc : sim_handler_register(sim, "chatstate", handle_chatstate, NULL);
}
