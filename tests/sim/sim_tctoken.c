/* wasim privacy tokens (tctoken), as the real server is reported to
 * handle them. A client issues its token to a contact with
 * <iq xmlns="privacy" type="set"><tokens><token jid t type="trusted_contact"/>:
 * the server makes the token (here SHA-256("wasim tctoken" ‖ issuer ‖ 0 ‖
 * contact), first 20 bytes, so re-issuing gives the same bytes), answers
 * the iq and tells every companion of the contact with
 * <notification type="privacy_token" from=issuer sender_lid><tokens><token
 * jid=contact t type="trusted_contact">bytes</token></tokens>. With
 * SIM_REAL_TCTOKEN, a 1:1 message from a companion to an account that has
 * issued its token to the sender must carry it as <tctoken>, else it is
 * refused with <ack error="463"> and not delivered — once the sending
 * device has answered the token's notification (a message that crossed it
 * in flight is accepted: otherwise two clients answering each other at once
 * lose messages to a race no client can avoid); retry resends (to one
 * device, or <enc count>), peer messages and the own account are exempt,
 * as the clients do not attach tokens there. Grants are in memory. */
#include "sim_msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "simcore.h" /* sim_logf */

#define SIM_TCTOKEN_LEN 20

static void token_of(const struct sim_account *issuer, const struct sim_account *to, uint8_t out[SIM_TCTOKEN_LEN])
{
	char buf[128];
	uint8_t h[WA_SHA256_LEN];
	int n = snprintf(buf, sizeof(buf), "wasim tctoken%s%c%s", issuer->phone, 0, to->phone);
	wa_sha256(h, buf, n > 0 ? (size_t)n : 0);
	memcpy(out, h, SIM_TCTOKEN_LEN);
}

static struct sim_grant *grant_find(struct sim_acct_ext *x, const struct sim_account *to)
{
	for (size_t i = 0; x && i < x->n_grants; i++)
		if (x->grants[i].to == to)
			return &x->grants[i];
	return NULL;
}

int sim_tctoken_issue(struct sim *sim, struct sim_conn *c, const wa_node *iq)
{
	struct sim_device *d = sim_conn_device(c);
	const wa_node *toks = wa_node_child(iq, "tokens");
	struct sim_acct_ext *x = d ? sim_ax(sim, d->acct) : NULL;
	for (size_t i = 0; x && toks && i < wa_node_n_children(toks); i++) {
		const wa_node *t = wa_node_child_at(toks, i);
		const char *type = wa_node_attr(t, "type"), *ts = wa_node_attr(t, "t");
		struct sim_addr ad;
		if (strcmp(wa_node_tag(t), "token") != 0 || !type || strcmp(type, "trusted_contact") != 0 ||
		    sim_addr_parse(sim, wa_node_attr(t, "jid"), &ad) != 0 || ad.acct == d->acct)
			continue;
		struct sim_grant *g = grant_find(x, ad.acct);
		if (!g) {
			if (x->n_grants == x->cap_grants) {
				size_t cap = x->cap_grants ? 2 * x->cap_grants : 8;
				struct sim_grant *ng = realloc(x->grants, cap * sizeof(*ng));
				if (!ng)
					return sim_iq_error(c, iq, 500, "internal-error");
				x->grants = ng;
				x->cap_grants = cap;
			}
			g = &x->grants[x->n_grants++];
			g->to = ad.acct;
			g->issues = 0;
		}
		g->issues++;
		g->t = ts ? atoll(ts) : sim_now();
		if (g->t <= 0)
			g->t = sim_now();
		/* the contact's companions hear of it (not its phone) */
		uint8_t tok[SIM_TCTOKEN_LEN];
		char from[SIM_MSG_JID_MAX], slid[SIM_MSG_JID_MAX], to[SIM_MSG_JID_MAX], tstr[24];
		token_of(d->acct, ad.acct, tok);
		sim_jid_user(d->acct, ad.lid, from, sizeof(from));
		sim_jid_user(d->acct, true, slid, sizeof(slid));
		sim_jid_user(ad.acct, ad.lid, to, sizeof(to));
		snprintf(tstr, sizeof(tstr), "%lld", (long long)g->t);
		sim_new_id(sim, g->note_id, sizeof(g->note_id));
		for (size_t k = 0; k < ad.acct->n_devices; k++) {
			wa_node *tn = sim_node_bytes("token", tok, sizeof(tok));
			if (tn && (wa_node_set_attr(tn, "jid", to) || wa_node_set_attr(tn, "t", tstr) ||
				   wa_node_set_attr(tn, "type", "trusted_contact"))) {
				wa_node_free(tn);
				tn = NULL;
			}
			wa_node *n = sim_node("notification", "from", from, "type", "privacy_token", "id", g->note_id, "t", tstr,
				"sender_lid", slid, NULL);
			n = sim_node_add(n, sim_node_add(sim_node("tokens", NULL), tn));
			if (n)
				SIM_IGNORE(sim_msg_deliver(sim, ad.acct, ad.acct->devices[k]->device, n));
		}
		sim_logf(sim, "%s issued its privacy token to %s", d->acct->phone, ad.acct->phone);
	}
	return sim_iq_result(c, iq, NULL);
}

/* Whether the sending device still holds the notification of the grant
 * unanswered: the token is in flight to it, and a message it sent meanwhile
 * could not carry it (its ack has not crossed yet). */
static bool grant_in_flight(struct sim_conn *c, const struct sim_grant *g)
{
	struct sim_device *d = sim_conn_device(c);
	struct sim_dev_ext *dx = d ? sim_dx(d) : NULL;
	for (const sim_qitem *it = dx ? dx->q.head : NULL; it; it = it->next)
		if (strcmp(it->cls, "notification") == 0 && strcmp(it->id, g->note_id) == 0)
			return true;
	return false;
}

bool sim_tctoken_refuse(struct sim *sim, struct sim_conn *c, struct sim_account *from, struct sim_account *to, const wa_node *st,
	bool single)
{
	if (!(sim->real & SIM_REAL_TCTOKEN) || !from || !to || from == to || single)
		return false;
	const char *cat = wa_node_attr(st, "category");
	if (cat && strcmp(cat, "peer") == 0)
		return false;
	/* a retry resend carries <enc count> */
	const wa_node *parts = wa_node_child(st, "participants");
	for (size_t i = 0; parts && i < wa_node_n_children(parts); i++) {
		const wa_node *e = wa_node_child(wa_node_child_at(parts, i), "enc");
		if (e && wa_node_attr(e, "count"))
			return false;
	}
	struct sim_grant *g = grant_find(to->ext, from);
	if (!g || grant_in_flight(c, g))
		return false; /* first contact, or the token has not reached the sender yet */
	uint8_t want[SIM_TCTOKEN_LEN];
	const uint8_t *got;
	size_t got_len;
	token_of(to, from, want);
	const wa_node *tc = wa_node_child(st, "tctoken");
	if (tc && wa_node_content_bytes(tc, &got, &got_len) == 0 && got_len == sizeof(want) &&
	    memcmp(got, want, sizeof(want)) == 0)
		return false;
	sim_logf(sim, "message %s from %s to %s refused: %s privacy token", wa_node_attr(st, "id"), from->phone,
		to->phone, tc ? "wrong" : "no");
	return true;
}
