/* A group's devices for sending (messaging.md §6, §10): every member's
 * devices with their Signal addresses, and the phash of the list, kept
 * ready per group so that a send when every device already holds our
 * current key touches no member at all (a 1,000-member group has ~2,000
 * devices: walking them, reading the metadata and hashing the list cost
 * milliseconds per message).
 *
 * A state is current while nothing it was built from changed: the group's
 * metadata (wa_group_cache_put / _drop drop it), our sender key
 * (wa_msg_group_rotate drops it), any device list or LID mapping (the
 * session's dc_gen moves). `complete` says every device but this one held
 * our key when a send last read the holders; rotation and new devices
 * both come with one of the changes above.
 *
 * Device lists do not expire on a group send's path: as the real clients
 * do, a member's list is kept until a devices notification changes it
 * (recipients.c applies them). As a net for a missed notification, lists
 * older than the refresh age are asked again after a send has gone out
 * (wa_gstate_refresh), a few members at a time and spaced, so a big group
 * never waits for a usync of every member. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "session/groups.h"
#include "session/iq.h"
#include "session/msg.h"
#include "session/msgstate.h"
#include "store/store.h"
#include "util/codec.h"
#include "util/log.h"

#define MOD "msg"

struct wa_gstate {
	char jid[WA_STORE_JID_MAX];
	uint64_t dc_gen;
	int64_t next_check_ms; /* when wa_gstate_refresh looks for stale lists again */
	size_t rcur;           /* the member it looks at first */
	bool partial;          /* a member had no device list: never reused */
	wa_gview view;
	struct wa_gstate *next;
};

/* Member user JIDs to address: phone-number JIDs in a PN group, LIDs in a
 * LID group (its devices, sessions and key holders are LID addresses). */
const char *wa_group_member(const wa_gmeta *g, size_t i)
{
	if (strcmp(g->mode, "lid") == 0 && g->p[i].lid[0])
		return g->p[i].lid;
	return g->p[i].jid[0] ? g->p[i].jid : g->p[i].lid;
}

static void gstate_free(struct wa_gstate *st)
{
	if (st) {
		free(st->view.v);
		free(st->view.addrs);
		free(st);
	}
}

void wa_gstate_drop(wa_session *s, const char *group)
{
	if (!s->msg)
		return;
	for (struct wa_gstate **pp = &s->msg->gs; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->jid, group) == 0) {
			struct wa_gstate *x = *pp;
			*pp = x->next;
			gstate_free(x);
			s->msg->n_gs--;
			return;
		}
}

void wa_gstate_clear(wa_msg_state *m)
{
	while (m->gs) {
		struct wa_gstate *x = m->gs;
		m->gs = x->next;
		gstate_free(x);
	}
	m->n_gs = 0;
}

static bool current(const wa_session *s, const struct wa_gstate *st)
{
	return !st->partial && st->dc_gen == s->msg->dc_gen;
}

static struct wa_gstate *find(wa_session *s, const char *group)
{
	for (struct wa_gstate *st = s->msg ? s->msg->gs : NULL; st; st = st->next)
		if (strcmp(st->jid, group) == 0)
			return st;
	return NULL;
}

bool wa_gstate_ready(wa_session *s, const char *group)
{
	struct wa_gstate *st = find(s, group);
	return st && current(s, st) && st->view.complete;
}

bool wa_gstate_ephemeral(wa_session *s, const char *group, uint32_t *seconds)
{
	/* any view has the current timer (a metadata change drops it) */
	struct wa_gstate *st = find(s, group);
	if (st)
		*seconds = st->view.ephemeral;
	return st != NULL;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* whatsmeow's participantListHashV2 over every device of the group: its
 * "user.0:device@server" strings (s[0..k), freed here) sorted. */
static void phash(char **s, size_t k, char out[16])
{
	uint8_t h[32];
	if (s)
		qsort(s, k, sizeof *s, cmp_str);
	size_t tot = 0;
	for (size_t i = 0; i < k; i++)
		tot += strlen(s[i]);
	char *cat = malloc(tot + 1);
	size_t off = 0;
	for (size_t i = 0; i < k; i++) {
		if (cat)
			memcpy(cat + off, s[i], strlen(s[i]));
		off += strlen(s[i]);
		free(s[i]);
	}
	free(s);
	wa_sha256(h, cat ? cat : "", cat ? tot : 0);
	free(cat);
	char *b = wa_b64_encode(h, 6);
	snprintf(out, 16, "2:%s", b ? b : "");
	free(b);
}

/* Builds st's device list from g and the device cache. */
static int build(wa_session *s, const wa_gmeta *g, struct wa_gstate *st)
{
	wa_jid me;
	const char *mej = wa_session_me_jid(s);
	if (!mej || wa_jid_parse(&me, mej) != 0)
		return WA_ESTATE;
	size_t cap = 0;
	int64_t oldest = wa_mono_ms();
	bool partial = false;
	/* lists of any age: stale ones are refreshed after sends */
	struct wa_msg_devcache **dl = calloc(g->n ? g->n : 1, sizeof *dl);
	if (!dl)
		return WA_ENOMEM;
	for (size_t i = 0; i < g->n; i++) {
		dl[i] = wa_msg_devcache_any(s->msg, wa_group_member(g, i));
		partial |= !dl[i];
		cap += dl[i] ? wa_msg_devcache_n(dl[i]) : 0;
		if (dl[i] && wa_msg_devcache_at(dl[i]) < oldest)
			oldest = wa_msg_devcache_at(dl[i]);
	}
	wa_gdev *v = calloc(cap ? cap : 1, sizeof *v);
	char(*addrs)[WA_STORE_JID_MAX] = calloc(g->n ? g->n : 1, sizeof *addrs);
	char **ph = calloc(cap ? cap : 1, sizeof *ph); /* the phash strings */
	if (!v || !addrs || !ph) {
		free(v);
		free(addrs);
		free(ph);
		free(dl);
		return WA_ENOMEM;
	}
	size_t n = 0;
	for (size_t i = 0; i < g->n; i++) {
		struct wa_msg_devcache *d = dl[i];
		wa_jid uj;
		/* the Signal address is the user's: resolved once per member */
		if (!d || wa_jid_parse(&uj, wa_group_member(g, i)) != 0 || wa_msg_addr_for(s, &uj, addrs[i]) != 0)
			continue;
		for (size_t k = 0; k < wa_msg_devcache_n(d) && n < cap; k++) {
			uint16_t dv = wa_msg_devcache_dev(d, k);
			wa_jid dj = uj;
			if (dv && wa_jid_make_ad(&dj, uj.user, wa_msg_jid_is_lid(&uj) ? WA_JID_DOMAIN_LID :
				WA_JID_DOMAIN_WHATSAPP, (uint8_t)dv) != 0)
				continue;
			wa_gdev *x = &v[n];
			if (wa_jid_format(&dj, x->jid, sizeof x->jid) < 0 ||
			    !(ph[n] = malloc(strlen(uj.user) + 32)))
				continue;
			snprintf(ph[n], strlen(uj.user) + 32, "%s.0:%d@%s", uj.user, (int)dv,
				wa_msg_jid_is_lid(&uj) ? "lid" : "s.whatsapp.net");
			x->addr = addrs[i];
			x->device = dv;
			x->me = wa_msg_is_me(s, &uj) && dv == me.device;
			n++;
		}
	}
	free(dl);
	free(st->view.v);
	free(st->view.addrs);
	st->view = (wa_gview){.v = v, .n = n, .addrs = addrs, .ephemeral = g->ephemeral};
	snprintf(st->view.mode, sizeof st->view.mode, "%s", g->mode);
	phash(ph, n, st->view.phash);
	st->dc_gen = s->msg->dc_gen;
	st->next_check_ms = oldest + wa_devlist_refresh_ms(s);
	st->partial = partial;
	return 0;
}

int wa_gstate_get(wa_session *s, const char *group, const wa_gmeta *g, wa_gview **out)
{
	struct wa_gstate *st = find(s, group);
	if (st && current(s, st)) {
		*out = &st->view;
		return 0;
	}
	wa_gmeta *own = NULL;
	if (!g) {
		int rc = wa_group_cached(s, group, &own);
		if (rc != 0)
			return rc;
		g = own;
	}
	bool fresh = !st;
	if (fresh) {
		if (!(st = calloc(1, sizeof *st))) {
			wa_gmeta_free(own);
			return WA_ENOMEM;
		}
		snprintf(st->jid, sizeof st->jid, "%s", group);
	}
	int rc = build(s, g, st);
	wa_gmeta_free(own);
	WA_DEBUG(MOD, "[%lld] %s: %zu devices listed (%s)", (long long)s->instance_id, group, st->view.n,
		rc == 0 ? st->view.phash : wa_errname(rc));
	if (rc != 0) {
		if (fresh)
			gstate_free(st);
		else
			wa_gstate_drop(s, group);
		return rc;
	}
	if (fresh) {
		wa_msg_state *m = s->msg;
		if (m->n_gs >= WA_MSG_MAX_GSTATES) {
			/* the least recently built goes (the list's tail) */
			struct wa_gstate **pp = &m->gs;
			while ((*pp)->next)
				pp = &(*pp)->next;
			gstate_free(*pp);
			*pp = NULL;
			m->n_gs--;
		}
		st->next = m->gs;
		m->gs = st;
		m->n_gs++;
	}
	*out = &st->view;
	return 0;
}

static int cmp_jid(const void *a, const void *b)
{
	return strcmp(a, b);
}

int wa_gstate_holders(wa_session *s, const char *group, wa_gview *view)
{
	/* the holders in one read, then looked up in memory */
	char(*hold)[WA_STORE_JID_MAX] = NULL;
	size_t nh = 0;
	if (wa_store_gsk_list(s->store, s->instance_id, group, &hold, &nh) != 0)
		return WA_EDB;
	bool all = true;
	for (size_t i = 0; i < view->n; i++) {
		wa_gdev *x = &view->v[i];
		x->holder = x->session = false;
		if (x->me)
			continue;
		bool b = false;
		x->holder = hold && bsearch(x->jid, hold, nh, sizeof *hold, cmp_jid) != NULL;
		all &= x->holder;
		/* a holder needs nothing pairwise: its session is not looked up
		 * (a store read each, 2,000 of them in a big group) */
		x->session = !x->holder && wa_sig_session_exists(s->sig, x->addr, x->device, &b) == 0 && b;
	}
	free(hold);
	view->complete = all;
	return 0;
}

/* ---------------- background refresh ---------------- */

#define REFRESH_BATCH 20    /* members per refresh usync */
#define REFRESH_GAP_MS 1000 /* between two batches of one group */

int64_t wa_devlist_refresh_ms(const wa_session *s)
{
	return s->devlist_refresh_ms ? s->devlist_refresh_ms : WA_MSG_DEVCACHE_TTL_MS;
}

static void on_refresh(wa_session *s, int err, const wa_node *resp, void *user)
{
	(void)user;
	if (!s->msg)
		return;
	s->msg->grefresh = false;
	/* a list that changed moves dc_gen: the group's state is rebuilt and
	 * a new device gets our key on the next send */
	if (err == 0)
		ign(wa_msg_usync_apply(s, resp, true));
}

void wa_gstate_refresh(wa_session *s, const char *group)
{
	struct wa_gstate *st = find(s, group); /* none for a chat that is no group */
	int64_t now = wa_mono_ms(), age = wa_devlist_refresh_ms(s);
	wa_gmeta *g = NULL;
	if (!st || s->msg->grefresh || now < st->next_check_ms || wa_group_cached(s, group, &g) != 0)
		return;
	const char *users[REFRESH_BATCH];
	size_t nu = 0;
	int64_t oldest = now;
	/* from where the last batch stopped, the members whose lists are older
	 * than the refresh age (one without a list is asked by the next send) */
	for (size_t k = 0; k < g->n && nu < REFRESH_BATCH; k++) {
		size_t i = (st->rcur + k) % g->n;
		struct wa_msg_devcache *d = wa_msg_devcache_any(s->msg, wa_group_member(g, i));
		if (!d)
			continue;
		if (now - wa_msg_devcache_at(d) >= age) {
			users[nu++] = wa_group_member(g, i);
			st->rcur = (i + 1) % g->n;
		} else if (wa_msg_devcache_at(d) < oldest) {
			oldest = wa_msg_devcache_at(d);
		}
	}
	/* nothing stale: every member was looked at, the oldest says when */
	st->next_check_ms = nu ? now + REFRESH_GAP_MS : oldest + age;
	if (nu) {
		char iq_id[WA_SESSION_ID_MAX];
		wa_node *iq = NULL;
		wa_session_new_id(s, iq_id);
		int rc = wa_usync_build_devices(iq_id, iq_id, users, nu, &iq);
		if (rc == 0)
			rc = wa_iq_send(s, iq, 0, on_refresh, NULL);
		wa_node_free(iq);
		s->msg->grefresh = rc == 0;
		WA_DEBUG(MOD, "[%lld] %s: device lists of %zu members refreshed", (long long)s->instance_id, group, nu);
	}
	wa_gmeta_free(g);
}
