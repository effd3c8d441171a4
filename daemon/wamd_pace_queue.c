/* The pacing queue's listing (GET /wamd/paceQueue): a dry run of the
 * scheduler over one instance's queue, on copies of its windows and lanes. */
#include <stdlib.h>
#include <string.h>

#include "wamd_pace.h"
#include "wamd_pace_int.h"
#include "wamd_pace_shared.h"

/* the dry run's copy of a scheduled message, with the leader it will
 * follow when it falls due while that one is still queued */
struct dry_sch {
	struct pace_msg m;
	int64_t leader; /* seq, 0: none */
};

/* *d: a copy of s, its windows' rings too */
static void state_copy(struct pace_state *d, const struct pace_state *s)
{
	*d = *s;
	memset(&d->min, 0, sizeof d->min);
	memset(&d->hour, 0, sizeof d->hour);
	memset(&d->day, 0, sizeof d->day);
	memset(&d->first, 0, sizeof d->first);
	const struct pace_win *src[4] = { &s->min, &s->hour, &s->day, &s->first };
	struct pace_win *dst[4] = { &d->min, &d->hour, &d->day, &d->first };
	for (int k = 0; k < 4; k++)
		for (uint32_t i = 0; i < src[k]->n; i++)
			(void)pace_win_add(dst[k], src[k]->cap, src[k]->ts[(src[k]->head + i) % src[k]->cap]);
}

/* the earliest time >= t both shared window sets (group, daemon-wide) allow */
static int64_t shared_next(const struct pace_cfg *gc, const struct pace_state *gst, const struct pace_cfg *dc,
			   const struct pace_state *dst, int64_t t)
{
	for (;;) {
		int64_t u = gc ? pace_next(gc, gst, false, t) : t;
		u = dc ? pace_next(dc, dst, false, u) : u;
		if (u == t)
			return t;
		t = u;
	}
}

/* the earliest time >= t the shared windows and in's business hours allow */
static int64_t settle(const struct pace_inst *in, const struct pace_cfg *gc, const struct pace_state *gst,
		      const struct pace_cfg *dc, const struct pace_state *dst, int64_t t)
{
	for (int k = 0; k < 16; k++) {
		int64_t u = pace_hours_next(in, shared_next(gc, gst, dc, dst, t));
		if (u == t)
			break;
		t = u;
	}
	return t;
}

json_t *wamd_pace_queue(struct wamd_tenant *t, size_t limit)
{
	struct pace_inst *in = wamd_pace_inst(t);
	if (!in)
		return NULL;
	/* a dry run of the scheduler on a copy of the windows (jitter at its
	 * mean): the expected send time of each queued message */
	struct pace_state st, gst = { 0 }, dst = { 0 };
	state_copy(&st, &in->st);
	/* the group's and the daemon-wide windows as they stand: the sends
	 * of other instances to come cannot be foreseen */
	const struct pace_cfg *dcfg;
	const struct pace_state *dsrc;
	bool grp = in->grp && in->cfg.enabled && in->grp->cfg.enabled;
	bool glob = in->cfg.enabled && wamd_pace_global(&dcfg, &dsrc);
	if (grp)
		state_copy(&gst, &in->grp->st);
	if (glob)
		state_copy(&dst, dsrc);
	/* walk copies of the lanes: known, first, followers as released and
	 * scheduled sends as they fall due (copies: one may stop being a
	 * first contact) */
	size_t total = pace_inst_queued(in), sn = in->sch_n;
	int64_t now = wamd_pace_now(t->d);
	struct pace_msg **kq = calloc(total + 1, sizeof *kq);
	struct pace_msg **fq = calloc(total + 1, sizeof *fq);
	struct pace_msg **sq = calloc(sn + 1, sizeof *sq);
	struct dry_sch *sc = calloc(sn + 1, sizeof *sc);
	json_t *arr = json_array();
	if (!kq || !fq || !sq || !sc)
		goto out;
	size_t kh = 0, kn = 0, fh = 0, fn = 0, sh = 0;
	for (struct pace_msg *m = in->known.head; m; m = m->next)
		kq[kn++] = m;
	for (struct pace_msg *m = in->first.head; m; m = m->next)
		fq[fn++] = m;
	for (size_t i = 0; i < sn; i++) {
		sc[i].m = *in->sch[i];
		sq[i] = &sc[i].m;
	}
	qsort(sq, sn, sizeof *sq, pace_by_due);
	int64_t clock = now > in->retry_at ? now : in->retry_at;
	for (size_t pos = 1; pos <= total && json_array_size(arr) < limit; pos++) {
		int64_t rk, rf;
		for (;;) {
			rk = kh < kn ? pace_head_ready(in, &st, kq[kh], clock) : INT64_MAX;
			rf = fh < fn ? pace_head_ready(in, &st, fq[fh], clock) : INT64_MAX;
			if (sh == sn || sq[sh]->not_before > (rk < rf ? rk : rf))
				break;
			/* a scheduled send falls due before the next release */
			struct pace_msg *m = sq[sh++];
			struct dry_sch *d = (struct dry_sch *)m;
			if (clock < m->not_before)
				clock = m->not_before;
			for (size_t i = fh; i < fn && !d->leader; i++)
				if (fq[i]->jh == m->jh)
					d->leader = fq[i]->seq;
			if (d->leader)
				m->first = false;
			else if (m->first)
				pace_insert_seq(fq, fh, &fn, m);
			else
				pace_insert_seq(kq, kh, &kn, m);
		}
		if (rk == INT64_MAX && rf == INT64_MAX)
			break;
		bool take_f = rf < rk || (rf == rk && fq[fh]->seq < kq[kh]->seq);
		struct pace_msg *m = take_f ? fq[fh++] : kq[kh++];
		int64_t at = take_f ? rf : rk;
		/* its followers join the known lane, in seq order (lane_merge) */
		for (struct pace_msg *f = take_f ? m->fhead : NULL; f; f = f->next)
			pace_insert_seq(kq, kh, &kn, f);
		for (size_t i = 0; take_f && i < sh; i++)
			if (((struct dry_sch *)sq[i])->leader == m->seq)
				pace_insert_seq(kq, kh, &kn, sq[i]);
		int prc;
		json_t *p = wamd_pace_payload(t, m->seq, &prc);
		const struct pace_cfg *gc = grp ? &in->grp->cfg : NULL, *dc = glob ? dcfg : NULL;
		if (m->seq == in->typing_seq) {
			at = at > in->typing_until ? at : in->typing_until; /* composing shows now */
			at = settle(in, gc, &gst, dc, &dst, at);
		} else { /* composing starts when the shared windows and the hours allow it */
			at = settle(in, gc, &gst, dc, &dst, at) + pace_typing_of(&in->cfg, p);
		}
		(void)pace_record(&in->cfg, &st, m->first, at, in->cfg.jitter_ms / 2);
		if (gc)
			(void)pace_record(gc, &gst, false, at, 0);
		if (dc)
			(void)pace_record(dc, &dst, false, at, 0);
		clock = at;
		char iso[32];
		wamd_iso_time(at, iso);
		const char *id = json_string_value(json_object_get(p, "id"));
		const char *jid = json_string_value(json_object_get(p, "jid"));
		json_t *e = json_pack("{s:I, s:s, s:s, s:b, s:I, s:s}", "position", (json_int_t)pos, "id", id ? id : "",
				      "remoteJid", jid ? jid : "", "firstContact", m->first, "expectedAtMs",
				      (json_int_t)at, "expectedAt", iso);
		if (m->scheduled) {
			wamd_iso_time(m->not_before, iso);
			json_object_set_new(e, "sendAtMs", json_integer(m->not_before));
			json_object_set_new(e, "sendAt", json_string(iso));
		}
		json_array_append_new(arr, e);
		json_decref(p);
	}
out:
	free(kq);
	free(fq);
	free(sq);
	free(sc);
	pace_state_free(&st);
	pace_state_free(&gst);
	pace_state_free(&dst);
	json_t *o = json_pack("{s:I, s:I, s:o}", "queued", (json_int_t)total, "nowMs", (json_int_t)now, "messages", arr);
	return o;
}

