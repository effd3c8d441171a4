/* Privacy tokens (tctoken), as Baileys 7.0.0-rc14 and whatsmeow handle
 * them. A contact's client issues its token to us after messaging us (iq
 * privacy <tokens><token jid t type="trusted_contact"/>); the server then
 * sends us <notification type="privacy_token"> with the token bytes, which
 * we store under the contact's user JID (its LID when known) with their
 * timestamp. Our 1:1 messages to that contact carry the stored token as
 * <tctoken> while it is fresh (the server refuses some first-contact sends
 * without one: error 463). After each 1:1 send (not protocol messages, not
 * to ourselves) we issue ours to the contact when we never did or last did
 * in an earlier 7-day bucket, and store any token the answer carries.
 * Tokens expire after 4 buckets (a ~28-day rolling window).
 *
 * A send refused with error 463 (no or a stale token of the contact's)
 * stays failed: Baileys rc14 does not resend it (a resend counts as one
 * more reach-out to the contact and can deepen an account restriction),
 * whatsmeow returns the error to its caller. As Baileys, we then issue our
 * token to that contact at once, whatever the bucket, one issuance in
 * flight per contact, and store any token the answer carries: a later send
 * by the user goes out with whatever token is then held. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session/kinds.h"
#include "session/msgstate.h"
#include "util/log.h"

#define MOD "msg"

bool wa_tctoken_expired(int64_t token_t, int64_t now)
{
	if (token_t <= 0)
		return true;
	int64_t cutoff = (now / WA_TCTOKEN_BUCKET_S - (WA_TCTOKEN_BUCKETS - 1)) * WA_TCTOKEN_BUCKET_S;
	return token_t < cutoff;
}

bool wa_tctoken_should_issue(int64_t sender_t, int64_t now)
{
	return sender_t <= 0 || now / WA_TCTOKEN_BUCKET_S > sender_t / WA_TCTOKEN_BUCKET_S;
}

/* The key a contact's tokens are stored under: its LID when known. */
static void storage_jid(wa_session *s, const char *user, char out[WA_STORE_JID_MAX])
{
	wa_jid j;
	char *alt = NULL;
	if (wa_jid_parse(&j, user) == 0 && wa_msg_jid_is_pn(&j))
		alt = wa_msg_alt_user(s, user);
	snprintf(out, WA_STORE_JID_MAX, "%s", alt ? alt : user);
	free(alt);
}

static bool regular_user(const char *user, wa_jid *j)
{
	return wa_jid_parse(j, user) == 0 && (wa_msg_jid_is_pn(j) || wa_msg_jid_is_lid(j));
}

/* Stores every trusted_contact token of a <tokens> parent under key. */
static void store_tokens(wa_session *s, const wa_node *parent, const char *key)
{
	const wa_node *toks = wa_node_child(parent, "tokens");
	for (size_t i = 0; toks && i < wa_node_n_children(toks); i++) {
		const wa_node *t = wa_node_child_at(toks, i);
		const char *type = wa_node_attr(t, "type"), *ts = wa_node_attr(t, "t");
		const uint8_t *p;
		size_t n;
		if (strcmp(wa_node_tag(t), "token") != 0 || !type || strcmp(type, "trusted_contact") != 0 || !ts ||
		    wa_node_content_bytes(t, &p, &n) != 0 || n == 0)
			continue;
		int64_t tv = strtoll(ts, NULL, 10);
		if (tv <= 0) /* a token without a timestamp would be expired at once */
			continue;
		int rc = wa_store_tctoken_put(s->store, s->instance_id, key, p, n, tv);
		if (rc != 0)
			WA_DEBUG(MOD, "[%lld] storing the privacy token of %s: %s", (long long)s->instance_id, key,
				wa_errname(rc));
	}
}

int wa_msg_handle_privacy_token(wa_session *s, const wa_node *n)
{
	const char *from = wa_node_attr(n, "from"), *slid = wa_node_attr(n, "sender_lid");
	char fu[WA_STORE_JID_MAX], lu[WA_STORE_JID_MAX], key[WA_STORE_JID_MAX];
	wa_jid j;
	if (s->msg && from && wa_msg_user_of(from, fu, NULL)) {
		/* the token's jid attribute is ours; the sender is the contact */
		if (slid && wa_msg_user_of(slid, lu, &j) && wa_msg_jid_is_lid(&j)) {
			wa_msg_learn_mapping(s, fu, lu);
			snprintf(key, sizeof key, "%s", lu);
		} else {
			storage_jid(s, fu, key);
		}
		if (regular_user(key, &j) && !wa_msg_is_me(s, &j))
			store_tokens(s, n, key);
	}
	ign(wa_session_send_ack(s, n));
	return 0;
}

int wa_msg_tctoken_for(wa_session *s, const char *chat, uint8_t **tok_out, size_t *len_out)
{
	char key[WA_STORE_JID_MAX];
	wa_jid j;
	*tok_out = NULL;
	*len_out = 0;
	if (!regular_user(chat, &j) || wa_msg_is_me(s, &j))
		return WA_ENOTFOUND;
	storage_jid(s, chat, key);
	/* stored under the other namespace before the mapping was known? */
	char *alt = wa_msg_alt_user(s, key);
	const char *keys[2] = {key, alt};
	int64_t now = now_s();
	for (int i = 0; i < 2 && keys[i]; i++) {
		uint8_t *tok = NULL;
		size_t n = 0;
		int64_t t = 0, st = 0;
		if (wa_store_tctoken_get(s->store, s->instance_id, keys[i], &tok, &n, &t, &st) != 0)
			continue;
		if (tok && !wa_tctoken_expired(t, now)) {
			*tok_out = tok;
			*len_out = n;
			free(alt);
			return 0;
		}
		free(tok);
	}
	free(alt);
	return WA_ENOTFOUND;
}

typedef struct wa_tc_recovery issue_ctx;
struct wa_tc_recovery {
	char key[WA_STORE_JID_MAX];
	int64_t t;
	bool recovery;         /* after a 463: listed in s->msg->tc_recovering */
	issue_ctx *next;
};

static issue_ctx **recovering_at(wa_msg_state *m, const char *key, const issue_ctx *c)
{
	for (issue_ctx **pp = &m->tc_recovering; *pp; pp = &(*pp)->next)
		if (c ? *pp == c : !strcmp((*pp)->key, key))
			return pp;
	return NULL;
}

static void on_issued(wa_session *s, int err, const wa_node *resp, void *user)
{
	issue_ctx *c = user;
	const char *type = resp ? wa_node_attr(resp, "type") : NULL;
	if (err == 0 && type && strcmp(type, "result") == 0) {
		const wa_node *priv = wa_node_child(resp, "privacy");
		store_tokens(s, priv ? priv : resp, c->key);
		ign(wa_store_tctoken_issued(s->store, s->instance_id, c->key, c->t));
	} else {
		WA_DEBUG(MOD, "[%lld] issuing our privacy token to %s failed: %s", (long long)s->instance_id,
			c->key, err ? wa_errname(err) : "error answer");
	}
	issue_ctx **pp;
	if (c->recovery && s->msg && (pp = recovering_at(s->msg, c->key, c)) != NULL) {
		*pp = c->next;
		s->msg->n_tc_recovering--;
	}
	free(c);
}

/* Sends <iq xmlns="privacy"> issuing our token to chat (its phone-number
 * JID, as Baileys without the LID prop); takes c. */
static int issue(wa_session *s, const char *chat, const wa_jid *j, issue_ctx *c)
{
	char *pn = wa_msg_jid_is_lid(j) ? wa_msg_alt_user(s, chat) : NULL;
	char ts[24];
	snprintf(ts, sizeof ts, "%lld", (long long)c->t);
	wa_node *iq = NULL, *toks, *tk;
	int rc = wa_node_new(&iq, "iq");
	if (rc == 0)
		rc = wa_node_set_attr(iq, "to", "s.whatsapp.net");
	if (rc == 0)
		rc = wa_node_set_attr(iq, "type", "set");
	if (rc == 0)
		rc = wa_node_set_attr(iq, "xmlns", "privacy");
	if (rc == 0)
		rc = wa_node_add_new(iq, "tokens", &toks);
	if (rc == 0)
		rc = wa_node_add_new(toks, "token", &tk);
	if (rc == 0)
		rc = wa_node_set_attr(tk, "jid", pn ? pn : chat);
	if (rc == 0)
		rc = wa_node_set_attr(tk, "t", ts);
	if (rc == 0)
		rc = wa_node_set_attr(tk, "type", "trusted_contact");
	free(pn);
	if (rc == 0)
		rc = wa_iq_send(s, iq, 0, on_issued, c);
	wa_node_free(iq);
	if (rc != 0)
		free(c);
	return rc;
}

void wa_msg_tctoken_after_send(wa_session *s, const char *chat, const uint8_t *msg, size_t msg_len)
{
	wa_jid j;
	if (!regular_user(chat, &j) || wa_msg_is_me(s, &j) ||
	    wa_msg_kind_of(msg, msg_len) == &wa_msg_kinds[WA_KIND_PROTOCOL])
		return;
	issue_ctx *c = calloc(1, sizeof *c);
	if (!c)
		return;
	storage_jid(s, chat, c->key);
	uint8_t *tok = NULL;
	size_t n = 0;
	int64_t t = 0, sender_t = 0, now = now_s();
	if (wa_store_tctoken_get(s->store, s->instance_id, c->key, &tok, &n, &t, &sender_t) == 0)
		free(tok);
	if (!wa_tctoken_should_issue(sender_t, now)) {
		free(c);
		return;
	}
	c->t = now;
	ign(issue(s, chat, &j, c));
}

void wa_msg_tctoken_refused(wa_session *s, const char *chat)
{
	wa_jid j;
	if (!s->msg || !regular_user(chat, &j) || wa_msg_is_me(s, &j))
		return;
	wa_msg_state *m = s->msg;
	issue_ctx *c = calloc(1, sizeof *c);
	if (!c)
		return;
	storage_jid(s, chat, c->key);
	if (recovering_at(m, c->key, NULL) || m->n_tc_recovering >= WA_MSG_MAX_TC_RECOVERING) {
		free(c);
		return;
	}
	wa_log(WA_LOG_INFO, MOD, "[%lld] a message to %s was refused for its privacy token (463): issuing ours to it",
		(long long)s->instance_id, c->key);
	c->t = now_s();
	c->recovery = true;
	c->next = m->tc_recovering;
	m->tc_recovering = c;
	m->n_tc_recovering++;
	if (issue(s, chat, &j, c) != 0) { /* c is freed */
		m->tc_recovering = m->tc_recovering->next;
		m->n_tc_recovering--;
	}
}
