/* Who gets a copy of a message, and getting ready to encrypt for them:
 * the device lists (usync, cached 5 minutes, dropped on a devices
 * notification), the recipients of a chat, and pre-key bundles for devices
 * we have no session with (messaging.md §1-§2). A transient failure defers
 * the job (outbox.c), a final one fails it; success hands it to seal.c.
 * The codec of the pre-key fetch is here too: the `encrypt` iq and the
 * parser of its answer and of a retry receipt's <keys> (sizes are fixed by
 * the protocol and anything else is refused, as whatsmeow refuses it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session/groups.h"
#include "session/msg.h"
#include "session/msgstate.h"
#include "util/log.h"

#define MOD "msg"

typedef struct wa_msg_devcache {
	char user[WA_STORE_JID_MAX];
	int64_t at_ms;
	size_t n;
	uint16_t dev[WA_USYNC_MAX_DEVICES];
	struct wa_msg_devcache *next; /* same bucket */
} devcache;

static size_t bucket(const char *user)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (; *user; user++)
		h = (h ^ (uint8_t)*user) * 16777619u;
	return h % WA_MSG_DEVCACHE_BUCKETS;
}

/* The entry of user, expired or not. */
static devcache *dc_find(wa_msg_state *m, const char *user)
{
	for (devcache *d = m->dc ? m->dc[bucket(user)] : NULL; d; d = d->next)
		if (strcmp(d->user, user) == 0)
			return d;
	return NULL;
}

devcache *wa_msg_devcache_get(wa_msg_state *m, const char *user)
{
	devcache *d = dc_find(m, user);
	return d && wa_mono_ms() - d->at_ms < WA_MSG_DEVCACHE_TTL_MS ? d : NULL;
}

devcache *wa_msg_devcache_any(wa_msg_state *m, const char *user)
{
	return dc_find(m, user);
}

int64_t wa_msg_devcache_at(const devcache *d)
{
	return d->at_ms;
}

static void dc_empty(wa_msg_state *m)
{
	for (size_t b = 0; m->dc && b < WA_MSG_DEVCACHE_BUCKETS; b++)
		while (m->dc[b]) {
			devcache *x = m->dc[b];
			m->dc[b] = x->next;
			free(x);
		}
	m->n_dc = 0;
	m->dc_gen++;
}

static void dc_put(wa_msg_state *m, const char *user, const uint16_t *dev, size_t n)
{
	n = n > WA_USYNC_MAX_DEVICES ? WA_USYNC_MAX_DEVICES : n;
	if (!m->dc && !(m->dc = calloc(WA_MSG_DEVCACHE_BUCKETS, sizeof *m->dc)))
		return;
	devcache *d = dc_find(m, user);
	if (!d) {
		if (m->n_dc >= WA_MSG_MAX_DEVCACHE)
			dc_empty(m); /* it only costs a usync per user */
		d = calloc(1, sizeof *d);
		if (!d)
			return;
		snprintf(d->user, sizeof d->user, "%s", user);
		size_t b = bucket(user);
		d->next = m->dc[b];
		m->dc[b] = d;
		m->n_dc++;
		/* a new user is nobody's known member yet: no group list changes */
	} else if (d->n != n || memcmp(d->dev, dev, n * sizeof *dev) != 0) {
		m->dc_gen++;
	}
	d->n = n;
	memcpy(d->dev, dev, n * sizeof *dev);
	d->at_ms = wa_mono_ms();
}

static void dc_drop(wa_msg_state *m, const char *user)
{
	for (devcache **pp = m->dc ? &m->dc[bucket(user)] : NULL; pp && *pp; pp = &(*pp)->next) {
		if (strcmp((*pp)->user, user) == 0) {
			devcache *x = *pp;
			*pp = x->next;
			free(x);
			m->n_dc--;
			m->dc_gen++;
			return;
		}
	}
}

void wa_msg_devcache_put(wa_msg_state *m, const char *user, const uint16_t *dev, size_t n)
{
	dc_put(m, user, dev, n);
}

void wa_msg_devcache_drop(wa_msg_state *m, const char *user)
{
	dc_drop(m, user);
}

/* Adds or removes one device in user's cached list (none cached: nothing
 * to change, the next send asks). */
static void dc_edit(wa_msg_state *m, const char *user, uint16_t dev, bool add)
{
	devcache *d = dc_find(m, user);
	size_t k = 0;
	if (!d)
		return;
	while (k < d->n && d->dev[k] != dev)
		k++;
	if (add && k == d->n && d->n < WA_USYNC_MAX_DEVICES) {
		d->dev[d->n++] = dev;
		m->dc_gen++;
	} else if (!add && k < d->n) {
		memmove(&d->dev[k], &d->dev[k + 1], (d->n - k - 1) * sizeof *d->dev);
		d->n--;
		m->dc_gen++;
	}
}

/* A devices notification's <add>/<remove> applied to the cached lists of
 * its user under both names (fu, and lu when known), as whatsmeow applies
 * them: a group send then needs no usync for that member. false for
 * anything else (an <update>, a device of another user, a JID that does not
 * parse): the caller drops the lists and the next send asks. */
static bool dc_notified(wa_msg_state *m, const wa_node *n, const char *fu, const char *lu)
{
	size_t nc = wa_node_n_children(n);
	if (nc == 0)
		return false;
	for (size_t i = 0; i < nc; i++) {
		const wa_node *c = wa_node_child_at(n, i);
		bool add = strcmp(wa_node_tag(c), "add") == 0;
		if (!add && strcmp(wa_node_tag(c), "remove") != 0)
			return false;
		for (size_t k = 0; k < wa_node_n_children(c); k++) {
			const wa_node *dv = wa_node_child_at(c, k);
			const char *dj = wa_node_attr(dv, "jid");
			char du[WA_STORE_JID_MAX];
			wa_jid pj;
			if (strcmp(wa_node_tag(dv), "device") != 0)
				continue; /* <key-index-list> */
			if (!dj || !wa_msg_user_of(dj, du, &pj) || (strcmp(du, fu) != 0 && (!lu || strcmp(du, lu) != 0)))
				return false;
			dc_edit(m, fu, pj.device, add);
			if (lu)
				dc_edit(m, lu, pj.device, add);
		}
	}
	return true;
}

size_t wa_msg_devcache_n(const devcache *d)
{
	return d->n;
}

uint16_t wa_msg_devcache_dev(const devcache *d, size_t i)
{
	return i < d->n ? d->dev[i] : 0;
}

void wa_msg_devcache_clear(wa_msg_state *m)
{
	dc_empty(m);
	free(m->dc);
	m->dc = NULL;
}

/* The devices of the listed user u into r->t (cap: r's array size). */
static void add_devices(wa_session *s, wa_msg_rcpts *r, const wa_msg_rcpt_user *u, uint16_t my_device,
	size_t cap)
{
	devcache *d = wa_msg_devcache_get(s->msg, u->jid);
	wa_jid uj;
	if (!d || wa_jid_parse(&uj, u->jid) != 0)
		return;
	for (size_t k = 0; k < d->n && r->n < cap; k++) {
		if (u->own && d->dev[k] == my_device)
			continue;
		wa_jid dj;
		if (d->dev[k] == 0) {
			dj = uj;
		} else if (wa_jid_make_ad(&dj, uj.user, wa_msg_jid_is_lid(&uj) ? WA_JID_DOMAIN_LID :
						  WA_JID_DOMAIN_WHATSAPP, (uint8_t)d->dev[k]) != 0) {
			continue;
		}
		wa_msg_target *x = &r->t[r->n];
		if (wa_jid_format(&dj, x->jid, sizeof x->jid) < 0 || wa_msg_addr_for(s, &dj, x->addr) != 0)
			continue;
		x->device = d->dev[k];
		x->own = u->own;
		bool ex = false;
		if (wa_sig_session_exists(s->sig, x->addr, x->device, &ex) != 0)
			x->cipher = WA_CIPHER_UNKNOWN;
		else
			x->cipher = ex ? WA_CIPHER_MSG : WA_CIPHER_PKMSG;
		r->n_pkmsg += x->cipher == WA_CIPHER_PKMSG;
		r->n++;
	}
}

int wa_msg_recipients(wa_session *s, const char *chat, wa_msg_rcpts *out)
{
	wa_jid cj;
	char own_user[WA_STORE_JID_MAX];
	if (!chat || wa_jid_parse(&cj, chat) != 0 || !wa_msg_own_user(s, &cj, own_user, NULL))
		return WA_EINVAL;
	wa_msg_rcpts r;
	memset(&r, 0, sizeof r);
	r.mode = WA_RCPT_DIRECT;
	snprintf(r.users[0].jid, sizeof r.users[0].jid, "%s", own_user);
	r.users[0].own = true;
	snprintf(r.users[1].jid, sizeof r.users[1].jid, "%s", chat);
	r.n_users = 2;
	for (size_t i = 0; i < r.n_users; i++) {
		r.users[i].listed = wa_msg_devcache_get(s->msg, r.users[i].jid) != NULL;
		r.n_unlisted += !r.users[i].listed;
	}
	wa_jid me_pn;
	const char *mej = wa_session_me_jid(s);
	uint16_t my_device = mej && wa_jid_parse(&me_pn, mej) == 0 ? me_pn.device : 0;
	size_t cap = r.n_users * WA_USYNC_MAX_DEVICES;
	if (!(r.t = calloc(cap, sizeof *r.t)))
		return WA_ENOMEM;
	/* the chat's devices first, then our own */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < r.n_users; i++)
			if (r.users[i].own == (pass == 1))
				add_devices(s, &r, &r.users[i], my_device, cap);
	*out = r;
	return 0;
}

void wa_msg_recipients_free(wa_msg_rcpts *r)
{
	if (!r)
		return;
	free(r->t);
	r->t = NULL;
	r->n = 0;
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

static void on_prekeys(wa_session *s, int err, const wa_node *resp, void *user)
{
	wa_msg_job *j = user;
	wa_msg_state *m = s->msg;
	if (!m || m->job != j)
		return;
	int code = iq_error_code(err, resp);
	if (err != 0 && iq_transient(err, resp, code)) {
		wa_msg_job_defer(s, j, err, code, "pre-key fetch");
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
			if (!pu[i].ok || wa_jid_parse(&dj, pu[i].jid) != 0 || wa_msg_addr_for(s, &dj, name) != 0)
				continue;
			/* a pkmsg from that device may have built one meanwhile */
			if (wa_sig_session_exists(s->sig, name, dj.device, &ex) == 0 && !ex) {
				int rc = wa_sig_session_from_bundle(s->sig, name, dj.device, &pu[i].bundle);
				if (rc != 0)
					WA_DEBUG(MOD, "[%lld] bundle of %s rejected: %s",
						(long long)s->instance_id, pu[i].jid, wa_errname(rc));
			}
		}
		wa_msg_flush_identity(s);
	}
	free(pu);
	wa_msg_job_encrypt(s, j);
}

/* Fetches the bundles of r's devices without a session, then seals j
 * (r: j's recipients, all users listed; freed here). */
static void job_sessions(wa_session *s, wa_msg_job *j, wa_msg_rcpts *r)
{
	const char **missing = calloc(r->n ? r->n : 1, sizeof *missing);
	size_t nm = 0;
	for (size_t i = 0; missing && i < r->n; i++)
		if (r->t[i].cipher == WA_CIPHER_PKMSG)
			missing[nm++] = r->t[i].jid;
	if (nm == 0) {
		free(missing);
		wa_msg_recipients_free(r);
		wa_msg_job_encrypt(s, j);
		return;
	}
	char iq_id[WA_SESSION_ID_MAX];
	wa_session_new_id(s, iq_id);
	wa_node *iq = NULL;
	int rc = wa_prekey_build_fetch(iq_id, missing, nm, false, &iq);
	free(missing);
	wa_msg_recipients_free(r);
	if (rc == 0)
		rc = wa_iq_send(s, iq, 0, on_prekeys, j);
	wa_node_free(iq);
	if (rc != 0) {
		/* connection gone: the row stays QUEUED for the next READY */
		s->msg->job = NULL;
		wa_msg_job_free(j);
	}
}

/* j's recipients, then job_sessions; a failure fails j. */
static void job_recipients(wa_session *s, wa_msg_job *j)
{
	wa_msg_rcpts r;
	int rc = wa_msg_recipients(s, j->chat, &r);
	if (rc != 0) {
		s->msg->job = NULL;
		wa_msg_job_fail(s, j, rc);
		wa_msg_job_free(j);
		wa_msg_pump(s);
		return;
	}
	job_sessions(s, j, &r);
}

int wa_msg_usync_apply(wa_session *s, const wa_node *resp, bool empty_too)
{
	wa_usync_user *u = NULL;
	size_t n = 0;
	int rc = wa_usync_parse(resp, &u, &n);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		char uj[WA_STORE_JID_MAX];
		if (!wa_msg_user_of(u[i].jid, uj, NULL))
			continue;
		if (u[i].lid[0])
			wa_msg_learn_mapping(s, uj, u[i].lid);
		if (u[i].has_devices || empty_too)
			dc_put(s->msg, uj, u[i].devices, u[i].has_devices ? u[i].n_devices : 0);
	}
	free(u);
	return rc;
}

static void on_usync(wa_session *s, int err, const wa_node *resp, void *user)
{
	wa_msg_job *j = user;
	wa_msg_state *m = s->msg;
	if (!m || m->job != j)
		return;
	int code = iq_error_code(err, resp);
	if (err != 0 && iq_transient(err, resp, code)) {
		wa_msg_job_defer(s, j, err, code, "usync");
		return;
	}
	if (err != 0 || wa_msg_usync_apply(s, resp, false) != 0)
		WA_DEBUG(MOD, "[%lld] usync for %s failed: %s", (long long)s->instance_id, j->chat,
			wa_errname(err));
	if (!wa_msg_devcache_get(m, j->chat)) {
		if (err)
			snprintf(j->why, sizeof j->why, "usync refused: %d", code);
		else
			snprintf(j->why, sizeof j->why, "not on WhatsApp");
		m->job = NULL;
		wa_msg_job_fail(s, j, err ? err : WA_ENOTFOUND);
		wa_msg_job_free(j);
		wa_msg_pump(s);
		return;
	}
	job_recipients(s, j);
}

void wa_msg_job_start(wa_session *s, wa_msg_job *j)
{
	char g[WA_STORE_JID_MAX];
	if (wa_group_jid_norm(j->chat, g)) {
		wa_msg_group_job_start(s, j);
		return;
	}
	wa_msg_rcpts r;
	if (wa_msg_recipients(s, j->chat, &r) != 0) {
		s->msg->job = NULL;
		wa_msg_job_fail(s, j, WA_EINVAL);
		wa_msg_job_free(j);
		return;
	}
	if (r.n_unlisted == 0) {
		job_sessions(s, j, &r);
		return;
	}
	/* every user's list, whichever are missing (one usync answers all) */
	const char *users[2];
	for (size_t i = 0; i < r.n_users; i++)
		users[i] = r.users[i].jid;
	char iq_id[WA_SESSION_ID_MAX];
	wa_session_new_id(s, iq_id);
	wa_node *iq = NULL;
	int rc = wa_usync_build_devices(iq_id, iq_id, users, r.n_users, &iq);
	wa_msg_recipients_free(&r);
	if (rc == 0)
		rc = wa_iq_send(s, iq, 0, on_usync, j);
	wa_node_free(iq);
	if (rc != 0) {
		s->msg->job = NULL;
		wa_msg_job_free(j);
	}
}

int wa_msg_handle_notification(wa_session *s, const wa_node *n)
{
	const char *type = wa_node_attr(n, "type");
	const char *from = wa_node_attr(n, "from");
	char fu[WA_STORE_JID_MAX];
	if (s->msg && type && from && wa_msg_user_of(from, fu, NULL)) {
		if (strcmp(type, "devices") == 0) {
			const char *lid = wa_node_attr(n, "lid");
			char lu[WA_STORE_JID_MAX];
			bool has_lid = lid && wa_msg_user_of(lid, lu, NULL);
			if (has_lid)
				wa_msg_learn_mapping(s, fu, lu);
			char *alt = has_lid ? NULL : wa_msg_alt_user(s, fu);
			if (!dc_notified(s->msg, n, fu, has_lid ? lu : alt)) {
				dc_drop(s->msg, fu);
				if (has_lid)
					dc_drop(s->msg, lu);
				if (alt)
					dc_drop(s->msg, alt);
			}
			free(alt);
		} else if (strcmp(type, "w:gp2") == 0) {
			wa_msg_group_notification(s, n);
		} else if (strcmp(type, "picture") == 0 && strstr(from, "@g.us")) {
			wa_msg_group_picture_notification(s, n);
		} else if (strcmp(type, "account_sync") == 0) {
			const char *me[2] = {wa_session_me_jid(s), wa_session_me_lid(s)};
			for (int i = 0; i < 2; i++)
				if (me[i] && wa_msg_user_of(me[i], fu, NULL))
					dc_drop(s->msg, fu);
		}
	}
	ign(wa_session_send_ack(s, n));
	return 0;
}

/* ---------------- pre-key fetch codec ---------------- */

int wa_prekey_build_fetch(const char *iq_id, const char *const *jids, size_t n, bool force,
	wa_node **out)
{
	if (!iq_id || !jids || n == 0 || !out)
		return WA_EINVAL;
	wa_node *iq = NULL, *key = NULL, *u = NULL;
	int rc = wa_node_new(&iq, "iq");
	if (rc == 0)
		rc = wa_node_set_attr(iq, "id", iq_id);
	if (rc == 0)
		rc = wa_node_set_attr(iq, "xmlns", "encrypt");
	if (rc == 0)
		rc = wa_node_set_attr(iq, "type", "get");
	if (rc == 0)
		rc = wa_node_set_attr(iq, "to", "s.whatsapp.net");
	if (rc == 0)
		rc = wa_node_add_new(iq, "key", &key);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		rc = wa_node_add_new(key, "user", &u);
		if (rc == 0)
			rc = wa_node_set_attr(u, "jid", jids[i]);
		if (rc == 0 && force)
			rc = wa_node_set_attr(u, "reason", "identity");
	}
	if (rc != 0) {
		wa_node_free(iq);
		return rc;
	}
	*out = iq;
	return 0;
}

static int fixed(const wa_node *parent, const char *tag, size_t len, const uint8_t **p)
{
	const wa_node *c = parent ? wa_node_child(parent, tag) : NULL;
	size_t l = 0;
	if (!c || wa_node_content_bytes(c, p, &l) != 0 || l != len)
		return WA_EMALFORMED;
	return 0;
}

static uint32_t be(const uint8_t *p, size_t n)
{
	uint32_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

int wa_prekey_parse_bundle(const wa_node *keys, const wa_node *reg_node, wa_sig_bundle *out)
{
	if (!keys || !out)
		return WA_EINVAL;
	wa_sig_bundle b;
	memset(&b, 0, sizeof b);
	const uint8_t *p;
	size_t l;
	if (!reg_node || wa_node_content_bytes(reg_node, &p, &l) != 0 || l != 4)
		return WA_EMALFORMED;
	b.registration_id = be(p, 4);
	if (fixed(keys, "identity", WA_SIG_KEY_LEN, &p) != 0)
		return WA_EMALFORMED;
	memcpy(b.identity, p, WA_SIG_KEY_LEN);
	const wa_node *sk = wa_node_child(keys, "skey");
	if (!sk || fixed(sk, "id", 3, &p) != 0)
		return WA_EMALFORMED;
	b.signed_prekey_id = be(p, 3);
	if (fixed(sk, "value", WA_SIG_KEY_LEN, &p) != 0)
		return WA_EMALFORMED;
	memcpy(b.signed_prekey, p, WA_SIG_KEY_LEN);
	if (fixed(sk, "signature", WA_SIG_SIG_LEN, &p) != 0)
		return WA_EMALFORMED;
	memcpy(b.signed_prekey_sig, p, WA_SIG_SIG_LEN);
	const wa_node *k = wa_node_child(keys, "key");
	if (k) {
		if (fixed(k, "id", 3, &p) != 0)
			return WA_EMALFORMED;
		b.prekey_id = be(p, 3);
		if (fixed(k, "value", WA_SIG_KEY_LEN, &p) != 0)
			return WA_EMALFORMED;
		memcpy(b.prekey, p, WA_SIG_KEY_LEN);
		b.has_prekey = true;
	}
	*out = b;
	return 0;
}

int wa_prekey_parse(const wa_node *iq, wa_prekey_user **users_out, size_t *n_out)
{
	if (!iq || !users_out || !n_out)
		return WA_EINVAL;
	const char *type = wa_node_attr(iq, "type");
	if (!type || strcmp(type, "result") != 0)
		return WA_EPROTO;
	const wa_node *list = wa_node_child(iq, "list");
	size_t cap = list ? wa_node_n_children(list) : 0;
	if (cap > WA_PREKEY_MAX_USERS)
		cap = WA_PREKEY_MAX_USERS;
	wa_prekey_user *arr = calloc(cap ? cap : 1, sizeof *arr);
	if (!arr)
		return WA_ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < cap; i++) {
		const wa_node *u = wa_node_child_at(list, i);
		const char *jid = wa_node_attr(u, "jid");
		wa_jid j;
		if (strcmp(wa_node_tag(u), "user") != 0 || !jid || strlen(jid) >= WA_STORE_JID_MAX ||
		    wa_jid_parse(&j, jid) != 0)
			continue;
		wa_prekey_user *pu = &arr[n++];
		memcpy(pu->jid, jid, strlen(jid) + 1);
		pu->ok = !wa_node_child(u, "error") &&
			 wa_prekey_parse_bundle(u, wa_node_child(u, "registration"), &pu->bundle) == 0;
	}
	*users_out = arr;
	*n_out = n;
	return 0;
}
