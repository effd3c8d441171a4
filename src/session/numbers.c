/* Number lookup (wa_session_check_numbers): a usync contact query for up
 * to WA_USYNC_MAX_USERS numbers; each answer says whether the number is on
 * WhatsApp, its JID and LID (a mapping we learn on the way). Answers are
 * cached per session (a day for numbers on WhatsApp, ten minutes for the
 * others, who may join), so the check before every send costs one usync per
 * number and day. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session/msgstate.h"
#include "util/log.h"

#define NUM_CACHE_MAX 2048
#define NUM_TTL_YES_MS (24LL * 3600 * 1000)
#define NUM_TTL_NO_MS (10LL * 60 * 1000)

typedef struct num_entry {
	char digits[32];
	bool exists;
	char jid[WA_STORE_JID_MAX];
	char lid[WA_STORE_JID_MAX];
	int64_t until; /* wa_mono_ms */
} num_entry;

/* Grown on demand (4, 8, ... NUM_CACHE_MAX entries): most instances look up
 * a handful of numbers, and the whole table (600 KiB) in every session that
 * sent once was most of a busy daemon's memory. */
struct wa_num_cache {
	size_t n, cap;
	num_entry e[];
};

void wa_msg_numbers_clear(wa_msg_state *m)
{
	free(m->num_cache);
	m->num_cache = NULL;
}

static void digits_of(const char *q, char out[32])
{
	size_t dn = 0;
	for (; *q && dn + 1 < 32; q++)
		if (*q >= '0' && *q <= '9')
			out[dn++] = *q;
	out[dn] = '\0';
}

static num_entry *cache_find(wa_msg_state *m, const char *digits)
{
	int64_t now = wa_mono_ms();
	for (size_t i = 0; m->num_cache && i < m->num_cache->n; i++) {
		num_entry *e = &m->num_cache->e[i];
		if (strcmp(e->digits, digits) == 0)
			return e->until > now ? e : NULL;
	}
	return NULL;
}

static void cache_put(wa_msg_state *m, const char *digits, const wa_number_info *in)
{
	if (!digits[0])
		return;
	struct wa_num_cache *c = m->num_cache;
	int64_t now = wa_mono_ms();
	num_entry *e = NULL;
	for (size_t i = 0; c && i < c->n && !e; i++)
		if (strcmp(c->e[i].digits, digits) == 0 || c->e[i].until <= now)
			e = &c->e[i];
	if (!e && (!c || (c->n == c->cap && c->cap < NUM_CACHE_MAX))) {
		size_t cap = c ? c->cap * 2 : 4;
		struct wa_num_cache *g = realloc(c, sizeof *c + cap * sizeof c->e[0]);
		if (!g)
			return; /* not cached: the next check asks again */
		if (!c)
			g->n = 0;
		g->cap = cap;
		m->num_cache = c = g;
	}
	if (!e)
		e = c->n < c->cap ? &c->e[c->n++] : &c->e[now % NUM_CACHE_MAX]; /* full: replace any */
	memset(e, 0, sizeof *e);
	snprintf(e->digits, sizeof e->digits, "%s", digits);
	e->exists = in->exists;
	if (in->jid)
		snprintf(e->jid, sizeof e->jid, "%s", in->jid);
	if (in->lid)
		snprintf(e->lid, sizeof e->lid, "%s", in->lid);
	e->until = now + (in->exists ? NUM_TTL_YES_MS : NUM_TTL_NO_MS);
}

/* Every number answered from the cache: done runs now. */
static bool from_cache(wa_session *s, const char *const *numbers, size_t n, wa_numbers_fn done, void *user)
{
	wa_number_info infos[WA_USYNC_MAX_USERS];
	for (size_t i = 0; i < n; i++) {
		char d[32];
		digits_of(numbers[i], d);
		const num_entry *e = numbers[i] ? cache_find(s->msg, d) : NULL;
		if (!e)
			return false;
		infos[i] = (wa_number_info){.query = numbers[i], .exists = e->exists,
			.jid = e->jid[0] ? e->jid : NULL, .lid = e->lid[0] ? e->lid : NULL};
	}
	WA_DEBUG("msg", "[%lld] numbers: %zu answered from the cache", (long long)s->instance_id, n);
	done(s, 0, infos, n, user);
	return true;
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
			char digits[32];
			digits_of(r->queries[i], digits);
			for (size_t k = 0; k < nu; k++) {
				wa_jid j;
				if (wa_jid_parse(&j, u[k].jid) != 0 || strcmp(j.user, digits) != 0)
					continue;
				infos[i].exists = u[k].contact == 1;
				infos[i].jid = infos[i].exists ? u[k].jid : NULL;
				infos[i].lid = u[k].lid[0] ? u[k].lid : NULL;
				if (u[k].lid[0] && infos[i].exists)
					wa_msg_learn_mapping(s, u[k].jid, u[k].lid);
			}
			if (s->msg)
				cache_put(s->msg, digits, &infos[i]);
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
	if (s->msg && from_cache(s, numbers, n, done, user))
		return 0;
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
