/* The pacing queue's listing (GET /wamd/paceQueue): a dry run of the
 * scheduler over one instance's queue, on copies of its windows and lanes. */
#include <stdlib.h>
#include <string.h>

#include "wamd_pace.h"
#include "wamd_pace_int.h"

/* the dry run's copy of a scheduled message, with the leader it will
 * follow when it falls due while that one is still queued */
struct dry_sch {
	struct pace_msg m;
	int64_t leader; /* seq, 0: none */
};

json_t *wamd_pace_queue(struct wamd_tenant *t, size_t limit)
{
	struct pace_inst *in = wamd_pace_inst(t);
	if (!in)
		return NULL;
	/* a dry run of the scheduler on a copy of the windows (jitter at its
	 * mean): the expected send time of each queued message */
	struct pace_state st = in->st;
	memset(&st.min, 0, sizeof st.min);
	memset(&st.hour, 0, sizeof st.hour);
	memset(&st.day, 0, sizeof st.day);
	memset(&st.first, 0, sizeof st.first);
	const struct pace_win *src[4] = { &in->st.min, &in->st.hour, &in->st.day, &in->st.first };
	struct pace_win *dst[4] = { &st.min, &st.hour, &st.day, &st.first };
	for (int k = 0; k < 4; k++)
		for (uint32_t i = 0; i < src[k]->n; i++)
			(void)pace_win_add(dst[k], src[k]->cap, src[k]->ts[(src[k]->head + i) % src[k]->cap]);
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
		if (m->seq == in->typing_seq)
			at = at > in->typing_until ? at : in->typing_until; /* composing shows now */
		else
			at += pace_typing_of(&in->cfg, p);
		(void)pace_record(&in->cfg, &st, m->first, at, in->cfg.jitter_ms / 2);
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
	json_t *o = json_pack("{s:I, s:I, s:o}", "queued", (json_int_t)total, "nowMs", (json_int_t)now, "messages", arr);
	return o;
}

