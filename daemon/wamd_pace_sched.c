/* The scheduler's data structures (see wamd_pace_sched.h). */
#include "wamd_pace_sched.h"

#include <stdlib.h>
#include <string.h>

#include "wa/wa.h"

/* ---- first-contact leaders by jid ---- */

static struct leader *lead_slot(struct pace_inst *in, uint64_t jh)
{
	if (!in->lead_cap)
		return NULL;
	for (size_t i = jh & (in->lead_cap - 1);; i = (i + 1) & (in->lead_cap - 1))
		if (!in->lead[i].m || in->lead[i].jh == jh)
			return &in->lead[i];
}

static int lead_put(struct pace_inst *in, uint64_t jh, struct pace_msg *m)
{
	if ((in->lead_n + 1) * 2 > in->lead_cap) {
		size_t nc = in->lead_cap ? in->lead_cap * 2 : 16;
		struct leader *old = in->lead;
		size_t oc = in->lead_cap;
		in->lead = calloc(nc, sizeof *in->lead);
		if (!in->lead) {
			in->lead = old;
			return WA_ENOMEM;
		}
		in->lead_cap = nc;
		for (size_t i = 0; i < oc; i++)
			if (old[i].m)
				*lead_slot(in, old[i].jh) = old[i];
		free(old);
	}
	struct leader *l = lead_slot(in, jh);
	if (!l->m)
		in->lead_n++;
	l->jh = jh;
	l->m = m;
	return 0;
}

static void lead_del(struct pace_inst *in, uint64_t jh)
{
	struct leader *l = lead_slot(in, jh);
	if (!l || !l->m)
		return;
	l->m = NULL;
	in->lead_n--;
	/* re-seat the cluster after the hole (linear probing) */
	size_t mask = in->lead_cap - 1;
	for (size_t i = ((size_t)(l - in->lead) + 1) & mask; in->lead[i].m; i = (i + 1) & mask) {
		struct leader e = in->lead[i];
		in->lead[i].m = NULL;
		*lead_slot(in, e.jh) = e;
	}
}

/* ---- lanes ---- */

static void lane_push(struct pace_lane *l, struct pace_msg *m)
{
	m->next = NULL;
	if (l->tail)
		l->tail->next = m;
	else
		l->head = m;
	l->tail = m;
	l->n++;
}

static struct pace_msg *lane_pop(struct pace_lane *l)
{
	struct pace_msg *m = l->head;
	if (m) {
		l->head = m->next;
		if (!l->head)
			l->tail = NULL;
		l->n--;
	}
	return m;
}

/* merges f (a list in seq order) into l (in seq order): the lane's order
 * is the enqueue order, whatever happened since, so a restart that loads
 * the rows by seq rebuilds exactly this lane */
static void lane_merge(struct pace_lane *l, struct pace_msg *f)
{
	struct pace_msg **pp = &l->head;
	while (f) {
		while (*pp && (*pp)->seq < f->seq)
			pp = &(*pp)->next;
		struct pace_msg *fn = f->next;
		f->next = *pp;
		*pp = f;
		if (!f->next)
			l->tail = f;
		pp = &f->next;
		l->n++;
		f = fn;
	}
}

/* m into l in seq order */
static void lane_insert(struct pace_lane *l, struct pace_msg *m)
{
	m->next = NULL;
	lane_merge(l, m);
}

/* unlinks m (after prev, NULL: the head) from l */
static void lane_unlink(struct pace_lane *l, struct pace_msg *prev, struct pace_msg *m)
{
	if (prev)
		prev->next = m->next;
	else
		l->head = m->next;
	if (l->tail == m)
		l->tail = prev;
	l->n--;
	m->next = NULL;
}

/* m behind ld, the queued first contact to its number, in seq order */
static void follow(struct pace_inst *in, struct pace_msg *ld, struct pace_msg *m)
{
	struct pace_msg **pp = &ld->fhead;
	while (*pp && (*pp)->seq < m->seq)
		pp = &(*pp)->next;
	m->next = *pp;
	*pp = m;
	if (!m->next)
		ld->ftail = m;
	in->followers++;
}

size_t pace_inst_queued(const struct pace_inst *in)
{
	return in->known.n + in->first.n + in->followers + in->sch_n;
}

/* ---- scheduled messages: a min-heap by (not_before, seq) ---- */

static bool sch_before(const struct pace_msg *a, const struct pace_msg *b)
{
	return a->not_before != b->not_before ? a->not_before < b->not_before : a->seq < b->seq;
}

static void sch_up(struct pace_inst *in, size_t i)
{
	struct pace_msg *m = in->sch[i];
	while (i > 0 && sch_before(m, in->sch[(i - 1) / 2])) {
		in->sch[i] = in->sch[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	in->sch[i] = m;
}

static void sch_down(struct pace_inst *in, size_t i)
{
	struct pace_msg *m = in->sch[i];
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= in->sch_n)
			break;
		if (c + 1 < in->sch_n && sch_before(in->sch[c + 1], in->sch[c]))
			c++;
		if (!sch_before(in->sch[c], m))
			break;
		in->sch[i] = in->sch[c];
		i = c;
	}
	in->sch[i] = m;
}

static void sch_del(struct pace_inst *in, size_t i)
{
	struct pace_msg *last = in->sch[--in->sch_n];
	if (i < in->sch_n) {
		in->sch[i] = last;
		sch_up(in, i);
		sch_down(in, i);
	}
}

int pace_inst_hold(struct pace_inst *in, struct pace_msg *m)
{
	if (in->sch_n == in->sch_cap) {
		size_t nc = in->sch_cap ? in->sch_cap * 2 : 16;
		struct pace_msg **g = realloc(in->sch, nc * sizeof *g);
		if (!g)
			return WA_ENOMEM;
		in->sch = g;
		in->sch_cap = nc;
	}
	m->next = m->fhead = m->ftail = NULL;
	in->sch[in->sch_n++] = m;
	sch_up(in, in->sch_n - 1);
	return 0;
}

int pace_inst_promote(struct pace_inst *in, int64_t now)
{
	while (in->sch_n && in->sch[0]->not_before <= now) {
		struct pace_msg *m = in->sch[0];
		struct leader *l = lead_slot(in, m->jh);
		if (l && l->m) {
			m->first = false; /* the queued one is the first contact */
			follow(in, l->m, m);
		} else if (m->first) {
			int rc = lead_put(in, m->jh, m);
			if (rc != 0)
				return rc;
			lane_insert(&in->first, m);
		} else {
			lane_insert(&in->known, m);
		}
		sch_del(in, 0);
	}
	return 0;
}

struct pace_msg *pace_inst_heir(const struct pace_inst *in, int64_t seq)
{
	for (struct pace_msg *m = in->first.head; m; m = m->next)
		if (m->seq == seq)
			return m->fhead;
	return NULL;
}

struct pace_msg *pace_inst_remove(struct pace_inst *in, int64_t seq, struct pace_msg **promoted)
{
	*promoted = NULL;
	if (in->typing_seq == seq)
		in->typing_seq = in->typing_until = 0;
	for (size_t i = 0; i < in->sch_n; i++)
		if (in->sch[i]->seq == seq) {
			struct pace_msg *m = in->sch[i];
			sch_del(in, i);
			return m;
		}
	for (struct pace_msg *p = NULL, *m = in->known.head; m; p = m, m = m->next)
		if (m->seq == seq) {
			lane_unlink(&in->known, p, m);
			return m;
		}
	for (struct pace_msg *p = NULL, *m = in->first.head; m; p = m, m = m->next) {
		if (m->seq == seq) {
			lane_unlink(&in->first, p, m);
			lead_del(in, m->jh);
			struct pace_msg *f = m->fhead;
			if (f) { /* the oldest follower is the number's first contact now */
				f->fhead = f->next;
				f->ftail = f->next ? m->ftail : NULL;
				f->first = true;
				in->followers--;
				(void)lead_put(in, f->jh, f); /* a slot just freed: no growth */
				lane_insert(&in->first, f);
				*promoted = f;
			}
			m->fhead = m->ftail = NULL;
			return m;
		}
		for (struct pace_msg *fp = NULL, *f = m->fhead; f; fp = f, f = f->next)
			if (f->seq == seq) {
				if (fp)
					fp->next = f->next;
				else
					m->fhead = f->next;
				if (m->ftail == f)
					m->ftail = fp;
				f->next = NULL;
				in->followers--;
				return f;
			}
	}
	return NULL;
}

/* ---- the heap of instances by (ready, served) ---- */

static bool before(const struct pace_inst *a, const struct pace_inst *b)
{
	return a->ready != b->ready ? a->ready < b->ready : a->served < b->served;
}

static void heap_set(struct pace_heap *H, size_t i, struct pace_inst *in)
{
	H->v[i] = in;
	in->hi = i + 1;
}

static void sift_up(struct pace_heap *H, size_t i)
{
	struct pace_inst *in = H->v[i];
	while (i > 0 && before(in, H->v[(i - 1) / 2])) {
		heap_set(H, i, H->v[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(H, i, in);
}

static void sift_down(struct pace_heap *H, size_t i)
{
	struct pace_inst *in = H->v[i];
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= H->n)
			break;
		if (c + 1 < H->n && before(H->v[c + 1], H->v[c]))
			c++;
		if (!before(H->v[c], in))
			break;
		heap_set(H, i, H->v[c]);
		i = c;
	}
	heap_set(H, i, in);
}

void pace_heap_remove(struct pace_heap *H, struct pace_inst *in)
{
	if (!in->hi)
		return;
	size_t i = in->hi - 1;
	in->hi = 0;
	struct pace_inst *last = H->v[--H->n];
	if (i < H->n) {
		heap_set(H, i, last);
		sift_up(H, i);
		sift_down(H, last->hi - 1);
	}
}

static int heap_upsert(struct pace_heap *H, struct pace_inst *in)
{
	if (in->hi) {
		sift_up(H, in->hi - 1);
		sift_down(H, in->hi - 1);
		return 0;
	}
	if (H->n == H->cap) {
		size_t nc = H->cap ? H->cap * 2 : 64;
		struct pace_inst **h = realloc(H->v, nc * sizeof *h);
		if (!h)
			return WA_ENOMEM;
		H->v = h;
		H->cap = nc;
	}
	H->v[H->n] = in;
	in->hi = ++H->n;
	sift_up(H, H->n - 1);
	return 0;
}

/* the earliest time lane l's head may leave */
int64_t pace_head_ready(const struct pace_inst *in, const struct pace_state *st, const struct pace_msg *m,
			  int64_t now)
{
	int64_t t = pace_next(&in->cfg, st, m->first, now);
	return pace_hours_next(in, t > m->not_before ? t : m->not_before);
}

/* the lane whose head shows "composing" (it leaves next), or NULL */
static struct pace_lane *typing_lane(struct pace_inst *in)
{
	if (!in->typing_seq)
		return NULL;
	if (in->known.head && in->known.head->seq == in->typing_seq)
		return &in->known;
	if (in->first.head && in->first.head->seq == in->typing_seq)
		return &in->first;
	in->typing_seq = in->typing_until = 0; /* it left some other way */
	return NULL;
}

int64_t pace_hours_next(const struct pace_inst *in, int64_t t)
{
	return wamd_tz_hours_next(in->tz, &in->cfg.hours, t); /* pacing off too */
}

int64_t pace_group_next(const struct pace_inst *in, int64_t now)
{
	if (!in->grp || !in->cfg.enabled)
		return now;
	return pace_next(&in->grp->cfg, &in->grp->st, false, now);
}

int pace_inst_update(struct pace_heap *H, struct pace_inst *in, int64_t now)
{
	if (!in->known.head && !in->first.head && !in->sch_n) {
		pace_heap_remove(H, in);
		return 0;
	}
	int64_t r;
	(void)pace_pick(in, now, &r);
	if (in->sch_n && in->sch[0]->not_before < r)
		r = in->sch[0]->not_before; /* then it joins its lane */
	if (in->retry_at > r)
		r = in->retry_at;
	/* the group's windows as they stand: a send of another instance of
	 * the group may take the slot first; release_one then asks again */
	for (int k = 0; k < 16; k++) { /* a group's slot may fall after hours */
		int64_t g = pace_hours_next(in, pace_group_next(in, r));
		if (g == r)
			break;
		r = g;
	}
	in->ready = r;
	return heap_upsert(H, in);
}

/* adds a loaded or new queued message to its lane */
int pace_inst_add(struct pace_inst *in, struct pace_msg *m)
{
	struct leader *l = lead_slot(in, m->jh);
	if (l && l->m) { /* a first contact to this number is queued: wait behind it */
		follow(in, l->m, m);
		return 0;
	}
	if (m->first) {
		int rc = lead_put(in, m->jh, m);
		if (rc != 0)
			return rc;
		lane_push(&in->first, m);
	} else {
		lane_push(&in->known, m);
	}
	return 0;
}

struct pace_lane *pace_pick(struct pace_inst *in, int64_t now, int64_t *ready)
{
	struct pace_lane *lane = typing_lane(in);
	if (lane) {
		int64_t r = pace_head_ready(in, &in->st, lane->head, now);
		*ready = r > in->typing_until ? r : in->typing_until;
		return lane;
	}
	int64_t best = INT64_MAX;
	struct pace_lane *ls[2] = { &in->known, &in->first };
	for (int k = 0; k < 2; k++) {
		struct pace_msg *h = ls[k]->head;
		if (!h)
			continue;
		int64_t r = pace_head_ready(in, &in->st, h, now);
		if (r < best || (r == best && lane && h->seq < lane->head->seq)) {
			best = r;
			lane = ls[k];
		}
	}
	*ready = best;
	return lane;
}

struct pace_msg *pace_take(struct pace_inst *in, struct pace_lane *lane)
{
	struct pace_msg *m = lane_pop(lane);
	if (m && m->first) {
		lead_del(in, m->jh);
		/* its followers are no longer behind a first contact */
		for (struct pace_msg *f = m->fhead; f; f = f->next)
			in->followers--;
		lane_merge(&in->known, m->fhead);
		m->fhead = m->ftail = NULL;
	}
	return m;
}

void pace_inst_clear(struct pace_inst *in)
{
	struct pace_lane *ls[2] = { &in->known, &in->first };
	for (int k = 0; k < 2; k++) {
		for (struct pace_msg *m = ls[k]->head, *nx; m; m = nx) {
			nx = m->next;
			for (struct pace_msg *f = m->fhead, *fn; f; f = fn) {
				fn = f->next;
				free(f);
			}
			free(m);
		}
		memset(ls[k], 0, sizeof *ls[k]);
	}
	in->followers = 0;
	for (size_t i = 0; i < in->sch_n; i++)
		free(in->sch[i]);
	free(in->sch);
	in->sch = NULL;
	in->sch_n = in->sch_cap = 0;
	free(in->lead);
	in->lead = NULL;
	in->lead_cap = in->lead_n = 0;
}

int pace_by_due(const void *a, const void *b)
{
	const struct pace_msg *x = *(struct pace_msg *const *)a, *y = *(struct pace_msg *const *)b;
	return x->not_before != y->not_before ? (x->not_before < y->not_before ? -1 : 1)
		: (x->seq > y->seq) - (x->seq < y->seq);
}

void pace_insert_seq(struct pace_msg **v, size_t from, size_t *n, struct pace_msg *m)
{
	size_t i = *n;
	while (i > from && v[i - 1]->seq > m->seq)
		i--;
	memmove(v + i + 1, v + i, (*n - i) * sizeof *v);
	v[i] = m;
	(*n)++;
}
