/* Send pacing arithmetic (daemon/wamd_pace_limits.c): sliding windows
 * against a brute-force count over every span, the ring resized when a
 * limit changes, the warm-up budget day by day, AIMD back-off, recovery
 * and the pause after repeated signals, the gap and jitter, the
 * settings parser, the lanes, scheduled sends and a cancel's removal. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wa/store_pace.h"
#include "store/store.h"

#include "../unit/check.h"
#include "wamd_pace_sched.h"

/* sends in (t - span, t] among ts[0..n) */
static uint32_t brute_count(const int64_t *ts, size_t n, int64_t span, int64_t t)
{
	uint32_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (ts[i] > t - span && ts[i] <= t)
			k++;
	return k;
}

static void test_window_exact(void)
{
	struct pace_win w = { 0 };
	CHECK_EQ_INT(pace_win_next(&w, 3, PACE_MIN_MS, 5), 5);
	CHECK_EQ_INT(pace_win_add(&w, 3, 0), 0);
	CHECK_EQ_INT(pace_win_add(&w, 3, 10000), 0);
	CHECK_EQ_INT(pace_win_add(&w, 3, 20000), 0);
	CHECK_EQ_INT(pace_win_next(&w, 3, PACE_MIN_MS, 25000), 60000);
	CHECK_EQ_INT(pace_win_next(&w, 4, PACE_MIN_MS, 25000), 25000); /* a higher limit: now */
	CHECK_EQ_INT(pace_win_next(&w, 0, PACE_MIN_MS, 25000), 25000); /* off */
	CHECK_EQ_INT(pace_win_add(&w, 3, 60000), 0);
	CHECK_EQ_INT(pace_win_next(&w, 3, PACE_MIN_MS, 60000), 70000);
	CHECK_EQ_INT(pace_win_count(&w, PACE_MIN_MS, 60000), 3); /* 10000, 20000, 60000 */
	/* a lower limit keeps the newest sends */
	CHECK_EQ_INT(pace_win_add(&w, 2, 61000), 0);
	CHECK_EQ_INT(w.n, 2);
	CHECK_EQ_INT(pace_win_next(&w, 2, PACE_MIN_MS, 61000), 120000);
	pace_win_free(&w);
}

/* Greedy sends at the earliest time the windows allow, with random
 * limits: every span of every length holds at most its limit, and no send
 * could have left earlier (brute force over the history). */
static void test_window_property(void)
{
	srand(1234);
	for (int round = 0; round < 40; round++) {
		struct pace_cfg c = { .enabled = true, .per_min = 1 + (uint32_t)(rand() % 7),
				      .per_hour = 5 + (uint32_t)(rand() % 40), .per_day = 0 };
		struct pace_state s = { 0 };
		enum { N = 300 };
		int64_t ts[N];
		int64_t t = 0;
		for (size_t i = 0; i < N; i++) {
			t += (rand() % 4) * 7000; /* the caller's own arrival times */
			int64_t at = pace_next(&c, &s, false, t);
			/* earliest: each ms before `at` (in coarse steps, then exactly)
			 * would break a window */
			bool ok_at = brute_count(ts, i, PACE_MIN_MS, at) < c.per_min &&
				     brute_count(ts, i, PACE_HOUR_MS, at) < c.per_hour;
			CHECK(ok_at);
			if (at > t) {
				int64_t e = at - 1;
				bool blocked = brute_count(ts, i, PACE_MIN_MS, e) >= c.per_min ||
					       brute_count(ts, i, PACE_HOUR_MS, e) >= c.per_hour;
				CHECK(blocked);
			}
			ts[i] = at;
			CHECK_EQ_INT(pace_record(&c, &s, false, at, 0), 0);
			t = at;
		}
		/* every span ending at a send */
		for (size_t i = 0; i < N; i++) {
			CHECK(brute_count(ts, N, PACE_MIN_MS, ts[i]) <= c.per_min);
			CHECK(brute_count(ts, N, PACE_HOUR_MS, ts[i]) <= c.per_hour);
		}
		pace_state_free(&s);
	}
}

/* another node's sends arrive out of order: the shared windows keep them
 * sorted, and hold exactly the newest `limit` of every send they saw */
static void test_shared_out_of_order(void)
{
	srand(4321);
	for (int round = 0; round < 40; round++) {
		struct pace_cfg c = { .enabled = true, .per_min = 1 + (uint32_t)(rand() % 6),
				      .per_hour = 2 + (uint32_t)(rand() % 20) };
		struct pace_state s = { 0 };
		enum { N = 120 };
		int64_t ts[N];
		for (size_t i = 0; i < N; i++) {
			ts[i] = (int64_t)(rand() % 600) * 1000; /* any order, ties too */
			CHECK_EQ_INT(pace_record_shared(&c, &s, ts[i]), 0);
			/* the sorted truth so far */
			int64_t srt[N];
			memcpy(srt, ts, (i + 1) * sizeof *srt);
			for (size_t a = 1; a <= i; a++)
				for (size_t b = a; b > 0 && srt[b] < srt[b - 1]; b--) {
					int64_t x = srt[b];
					srt[b] = srt[b - 1];
					srt[b - 1] = x;
				}
			int64_t now = srt[i] + 1;
			CHECK_EQ_INT(pace_win_count(&s.min, PACE_MIN_MS, now),
				     brute_count(ts, i + 1, PACE_MIN_MS, now) < c.per_min ? brute_count(ts, i + 1, PACE_MIN_MS, now)
											  : c.per_min);
			/* the window says "wait" exactly as the newest limit sends do */
			int64_t want = i + 1 < c.per_hour ? now : srt[i + 1 - c.per_hour] + PACE_HOUR_MS;
			CHECK_EQ_INT(pace_win_next(&s.hour, c.per_hour, PACE_HOUR_MS, now), want > now ? want : now);
		}
		pace_state_free(&s);
	}
}

static void test_warmup(void)
{
	struct pace_cfg c = { .enabled = true, .per_day = 200, .warm_start = 50, .warm_step = 50 };
	CHECK_EQ_INT(pace_day_budget(&c, 123), 200); /* no start date: no warm-up */
	c.warm_from_ms = 10 * PACE_DAY_MS;
	CHECK_EQ_INT(pace_day_budget(&c, 5 * PACE_DAY_MS), 50); /* clock before the start */
	CHECK_EQ_INT(pace_day_budget(&c, 10 * PACE_DAY_MS), 50);
	CHECK_EQ_INT(pace_day_budget(&c, 11 * PACE_DAY_MS - 1), 50);
	CHECK_EQ_INT(pace_day_budget(&c, 11 * PACE_DAY_MS), 100);
	CHECK_EQ_INT(pace_day_budget(&c, 12 * PACE_DAY_MS + 5), 150);
	CHECK_EQ_INT(pace_day_budget(&c, 13 * PACE_DAY_MS), 200);
	CHECK_EQ_INT(pace_day_budget(&c, 400 * PACE_DAY_MS), 200);
	c.warm_step = 0;
	CHECK_EQ_INT(pace_day_budget(&c, 10 * PACE_DAY_MS), 200);
	/* the day budget holds sends back on day 0 */
	c.warm_step = 50;
	c.warm_start = 2;
	struct pace_state s = { 0 };
	int64_t t0 = 10 * PACE_DAY_MS;
	CHECK_EQ_INT(pace_record(&c, &s, false, t0, 0), 0);
	CHECK_EQ_INT(pace_record(&c, &s, false, t0 + 1, 0), 0);
	CHECK_EQ_INT(pace_next(&c, &s, false, t0 + 2), t0 + PACE_DAY_MS); /* budget 2 spent */
	pace_state_free(&s);
}

static void test_aimd(void)
{
	struct pace_state s = { 0 };
	int64_t t = 1000000;
	CHECK(pace_factor(&s, t) == 1.0);
	CHECK(!pace_signal(&s, t));
	CHECK(pace_factor(&s, t) == 0.5);
	CHECK_EQ_INT(pace_scaled(20, pace_factor(&s, t)), 10);
	CHECK_EQ_INT(pace_scaled(1, 0.05), 1); /* never below one */
	CHECK_EQ_INT(pace_scaled(0, 0.5), 0);  /* off stays off */
	/* additive recovery: +0.1 per quiet minute, capped at 1 */
	CHECK_EQ_INT(pace_scaled(100, pace_factor(&s, t + 3 * PACE_MIN_MS)), 80);
	CHECK(pace_factor(&s, t + 30 * PACE_MIN_MS) == 1.0);
	/* a second signal halves what the factor has become */
	CHECK(!pace_signal(&s, t + 2 * PACE_MIN_MS));
	CHECK_EQ_INT(pace_scaled(100, pace_factor(&s, t + 2 * PACE_MIN_MS)), 35);
	/* the third within ten minutes pauses */
	CHECK(pace_signal(&s, t + 4 * PACE_MIN_MS));
	CHECK_EQ_INT(s.paused_until_ms, t + 4 * PACE_MIN_MS + PACE_PAUSE_MS);
	struct pace_cfg c = { .enabled = true };
	CHECK_EQ_INT(pace_next(&c, &s, false, t + 5 * PACE_MIN_MS), t + 4 * PACE_MIN_MS + PACE_PAUSE_MS);
	/* signals further apart than the span do not pause */
	struct pace_state s2 = { 0 };
	for (int i = 0; i < 5; i++)
		CHECK(!pace_signal(&s2, t + i * (PACE_STRIKE_SPAN_MS + 1)));
	/* the factor scales the windows */
	struct pace_cfg c2 = { .enabled = true, .per_min = 10 };
	struct pace_state s3 = { 0 };
	for (int i = 0; i < 5; i++)
		CHECK_EQ_INT(pace_record(&c2, &s3, false, t + i, 0), 0);
	CHECK_EQ_INT(pace_next(&c2, &s3, false, t + 5), t + 5);
	(void)pace_signal(&s3, t + 5); /* 10 -> 5 per minute */
	CHECK_EQ_INT(pace_next(&c2, &s3, false, t + 5), t + PACE_MIN_MS);
	pace_state_free(&s3);
}

static void test_first_and_gap(void)
{
	struct pace_cfg c = { .enabled = true, .first_per_day = 2, .gap_ms = 1000, .jitter_ms = 500 };
	struct pace_state s = { 0 };
	CHECK_EQ_INT(pace_record(&c, &s, true, 0, 1234), 0);
	CHECK_EQ_INT(s.next_gap_ms, 1000 + 1234 % 501);
	CHECK_EQ_INT(pace_next(&c, &s, false, 0), s.next_gap_ms);
	CHECK_EQ_INT(pace_record(&c, &s, true, 5000, 0), 0);
	CHECK_EQ_INT(pace_next(&c, &s, false, 7000), 7000);          /* known: free */
	CHECK_EQ_INT(pace_next(&c, &s, true, 7000), PACE_DAY_MS);    /* first: budget spent */
	c.enabled = false;
	CHECK_EQ_INT(pace_next(&c, &s, true, 7000), 7000);
	pace_state_free(&s);
}

static void test_cfg_json(void)
{
	struct pace_cfg c;
	pace_cfg_defaults(&c);
	char err[160];
	json_t *in = json_pack("{s:i, s:i, s:b}", "perMinute", 20, "firstContactPerDay", 30, "enabled", 0);
	CHECK_EQ_INT(pace_cfg_apply(&c, in, err, sizeof err), 0);
	json_decref(in);
	CHECK_EQ_INT(c.per_min, 20);
	CHECK_EQ_INT(c.first_per_day, 30);
	CHECK(!c.enabled);
	json_t *out = pace_cfg_json(&c);
	CHECK_EQ_INT(json_integer_value(json_object_get(out, "perMinute")), 20);
	CHECK_EQ_INT(json_integer_value(json_object_get(out, "perDay")), 1000);
	struct pace_cfg back;
	pace_cfg_defaults(&back);
	CHECK_EQ_INT(pace_cfg_apply(&back, out, err, sizeof err), 0);
	CHECK(memcmp(&back, &c, sizeof c) == 0);
	json_decref(out);
	const char *bad[] = { "{\"perMinute\": -1}", "{\"perMinute\": 100001}", "{\"perMinute\": \"5\"}",
			      "{\"warmupStart\": 0}", "{\"gapMs\": 3600001}", "{\"nope\": 1}",
			      "{\"enabled\": 1}", "{\"warmupFrom\": -5}", "{\"perHour\": 1.5}" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		json_t *j = json_loads(bad[i], 0, NULL);
		struct pace_cfg x = c;
		err[0] = '\0';
		CHECK(pace_cfg_apply(&x, j, err, sizeof err) != 0);
		CHECK(err[0] != '\0');
		json_decref(j);
	}
}

static struct pace_msg *msg(int64_t seq, uint64_t jh, bool first)
{
	struct pace_msg *m = calloc(1, sizeof *m);
	m->seq = seq;
	m->jh = jh;
	m->first = first;
	return m;
}

/* Lanes: a first contact's followers wait behind it, join the other lane
 * in seq order when it leaves; the ready head leaves first, ties to the
 * older message. */
static void test_lanes(void)
{
	struct pace_inst in = { 0 };
	in.cfg.enabled = true;
	in.cfg.first_per_day = 1;
	CHECK_EQ_INT(pace_inst_add(&in, msg(1, 100, true)), 0);  /* first contact A */
	CHECK_EQ_INT(pace_inst_add(&in, msg(2, 7, false)), 0);   /* known */
	CHECK_EQ_INT(pace_inst_add(&in, msg(3, 100, false)), 0); /* follows A */
	CHECK_EQ_INT(pace_inst_add(&in, msg(4, 200, true)), 0);  /* first contact B */
	CHECK_EQ_INT(pace_inst_add(&in, msg(5, 7, false)), 0);
	CHECK_EQ_INT(pace_inst_add(&in, msg(6, 200, false)), 0); /* follows B */
	CHECK_EQ_INT(pace_inst_queued(&in), 6);
	CHECK_EQ_INT(in.followers, 2);
	int64_t order[6], at[6];
	int64_t now = 1000;
	for (int k = 0; k < 6; k++) {
		int64_t r;
		struct pace_lane *l = pace_pick(&in, now, &r);
		CHECK(l != NULL);
		if (!l)
			break;
		now = r > now ? r : now;
		struct pace_msg *m = pace_take(&in, l);
		order[k] = m->seq;
		at[k] = now;
		CHECK_EQ_INT(pace_record(&in.cfg, &in.st, m->first, now, 0), 0);
		free(m);
	}
	/* A (1) first (older), then 2, 3 (A's follower, merged before 5), 5;
	 * B waits a day for the first-contact budget, then its follower */
	static const int64_t want[6] = { 1, 2, 3, 5, 4, 6 };
	for (int k = 0; k < 6; k++)
		CHECK_EQ_INT(order[k], want[k]);
	CHECK_EQ_INT(at[3], 1000);
	CHECK_EQ_INT(at[4], 1000 + PACE_DAY_MS);
	CHECK_EQ_INT(pace_inst_queued(&in), 0);
	pace_inst_clear(&in);
	pace_state_free(&in.st);
}

/* The heap: the instance that may send first is on top; instances ready
 * together are served round robin (least recently served first), so one
 * with a long queue does not starve the others. */
static void test_fair_heap(void)
{
	enum { NI = 3 };
	struct pace_inst in[NI];
	memset(in, 0, sizeof in);
	struct pace_heap H = { 0 };
	for (int i = 0; i < NI; i++) {
		in[i].cfg.enabled = true;
		int n = i == 0 ? 50 : 2; /* instance 0: a big queue */
		for (int k = 0; k < n; k++)
			CHECK_EQ_INT(pace_inst_add(&in[i], msg(i * 100 + k + 1, 1, false)), 0);
		CHECK_EQ_INT(pace_inst_update(&H, &in[i], 0), 0);
	}
	uint64_t tick = 0;
	int served[12];
	for (int k = 0; k < 12; k++) {
		struct pace_inst *top = H.v[0];
		int64_t r;
		struct pace_lane *l = pace_pick(top, 0, &r);
		CHECK(l && r == 0);
		free(pace_take(top, l));
		top->served = ++tick;
		served[k] = (int)(top - in);
		CHECK_EQ_INT(pace_inst_update(&H, top, 0), 0);
	}
	/* 0,1,2 round robin while all have messages, then 0 alone */
	static const int want[12] = { 0, 1, 2, 0, 1, 2, 0, 0, 0, 0, 0, 0 };
	for (int k = 0; k < 12; k++)
		CHECK_EQ_INT(served[k], want[k]);
	/* a limit pushes an instance down the heap */
	in[0].cfg.per_min = 1;
	CHECK_EQ_INT(pace_record(&in[0].cfg, &in[0].st, false, 0, 0), 0);
	CHECK_EQ_INT(pace_inst_update(&H, &in[0], 0), 0);
	CHECK_EQ_INT(H.v[0]->ready, PACE_MIN_MS);
	for (int i = 0; i < NI; i++) {
		pace_heap_remove(&H, &in[i]);
		pace_inst_clear(&in[i]);
		pace_state_free(&in[i].st);
	}
	CHECK_EQ_INT(H.n, 0);
	free(H.v);
}

/* The store's side: a held-back send with its payload, released (payload
 * gone, kept for the windows), a straight send's row, the load by time,
 * "never talked to?", and the prune after a day. */
static void test_store(void)
{
	char dir[] = "/tmp/pace-store-XXXXXX";
	if (!mkdtemp(dir))
		return;
	char path[256];
	snprintf(path, sizeof path, "%s/w.db", dir);
	wa_store *st = NULL;
	int64_t id = 0, seq1 = 0, seq2 = 0;
	CHECK_EQ_INT(wa_store_open(path, NULL, &st), 0);
	CHECK_EQ_INT(wa_store_instance_create(st, "p", &id), 0);
	bool known = true;
	CHECK_EQ_INT(wa_store_pace_known(st, id, "1@s.whatsapp.net", &known), 0);
	CHECK(!known);
	wa_store_pace_row r = { .first = true, .created_ms = 1000, .not_before_ms = 1000 };
	snprintf(r.key_id, sizeof r.key_id, "3EB0AA");
	snprintf(r.jid, sizeof r.jid, "1@s.whatsapp.net");
	CHECK_EQ_INT(wa_store_pace_put(st, id, &r, "{\"text\":\"a\"}", 12, &seq1), 0);
	snprintf(r.key_id, sizeof r.key_id, "3EB0BB");
	r.first = false;
	CHECK_EQ_INT(wa_store_pace_put(st, id, &r, "{\"text\":\"b\"}", 12, &seq2), 0);
	CHECK(seq2 > seq1);
	CHECK_EQ_INT(wa_store_pace_known(st, id, "1@s.whatsapp.net", &known), 0);
	CHECK(known);
	char *p = NULL;
	size_t len = 0;
	CHECK_EQ_INT(wa_store_pace_payload(st, seq1, &p, &len), 0);
	CHECK_EQ_STR(p, "{\"text\":\"a\"}");
	wa_store_free(p, len);
	CHECK_EQ_INT(wa_store_pace_released(st, seq1, 5000), 0);
	CHECK_EQ_INT(wa_store_pace_payload(st, seq1, &p, &len), WA_ENOTFOUND);
	CHECK_EQ_INT(wa_store_pace_note(st, id, "2@s.whatsapp.net", true, 6000), 0);
	wa_store_pace_row *rows = NULL;
	size_t n = 0;
	CHECK_EQ_INT(wa_store_pace_load(st, id, 0, &rows, &n), 0);
	CHECK_EQ_INT(n, 3);
	if (n == 3) {
		CHECK(rows[0].seq == seq1 && rows[0].state == 1 && rows[0].sent_ms == 5000 && rows[0].first);
		CHECK(rows[1].seq == seq2 && rows[1].state == 0 && !strcmp(rows[1].key_id, "3EB0BB"));
		CHECK(rows[2].state == 1 && rows[2].sent_ms == 6000 && rows[2].first);
	}
	free(rows);
	CHECK_EQ_INT(wa_store_pace_load(st, id, 5500, &rows, &n), 0); /* queued + sent after 5500 */
	CHECK_EQ_INT(n, 2);
	free(rows);
	CHECK_EQ_INT(wa_store_pace_prune(st, 5500), 0);
	CHECK_EQ_INT(wa_store_pace_load(st, id, 0, &rows, &n), 0);
	CHECK_EQ_INT(n, 2); /* the released one before 5500 is gone; the queued one stays */
	free(rows);
	wa_store_close(st);
	char f[300];
	static const char *const sfx[] = { "", "-wal", "-shm" };
	for (int k = 0; k < 3; k++) {
		snprintf(f, sizeof f, "%s%s", path, sfx[k]);
		unlink(f);
	}
	rmdir(dir);
}

/* "composing" before a held text: its length within the bounds, the
 * request's delay a floor, none when off; the text being typed leaves
 * next, at the end of its typing, whatever the other lane holds */
static void test_typing(void)
{
	struct pace_cfg c;
	pace_cfg_defaults(&c);
	CHECK(c.typing && c.available);
	CHECK_EQ_INT(pace_typing_ms(&c, 3, 0), 1000);     /* short: the minimum */
	CHECK_EQ_INT(pace_typing_ms(&c, 100, 0), 5000);   /* 50 ms a character */
	CHECK_EQ_INT(pace_typing_ms(&c, 10000, 0), 8000); /* long: the maximum */
	CHECK_EQ_INT(pace_typing_ms(&c, 100, 12000), 12000);
	char err[160];
	json_t *in = json_pack("{s:b, s:i}", "typing", 0, "typingMaxMs", 2000);
	CHECK_EQ_INT(pace_cfg_apply(&c, in, err, sizeof err), 0);
	json_decref(in);
	CHECK_EQ_INT(pace_typing_ms(&c, 100, 0), 0);
	c.typing = true;
	CHECK_EQ_INT(pace_typing_ms(&c, 100, 0), 2000);
	in = json_pack("{s:i}", "typing", 1);
	CHECK(pace_cfg_apply(&c, in, err, sizeof err) != 0);
	json_decref(in);

	struct pace_inst pi = { 0 };
	pi.cfg.enabled = true;
	CHECK_EQ_INT(pace_inst_add(&pi, msg(1, 100, true)), 0); /* first-contact lane */
	CHECK_EQ_INT(pace_inst_add(&pi, msg(2, 7, false)), 0);  /* known lane */
	pi.typing_seq = 2;
	pi.typing_until = 5000;
	int64_t r;
	struct pace_lane *l = pace_pick(&pi, 1000, &r);
	CHECK(l == &pi.known);
	CHECK_EQ_INT(r, 5000);
	struct pace_heap h = { 0 };
	CHECK_EQ_INT(pace_inst_update(&h, &pi, 1000), 0);
	CHECK_EQ_INT(pi.ready, 5000);
	free(pace_take(&pi, &pi.known));
	l = pace_pick(&pi, 1000, &r); /* it left: no longer typing */
	CHECK(l == &pi.first);
	CHECK_EQ_INT(r, 1000);
	CHECK_EQ_INT(pi.typing_seq, 0);
	pace_heap_remove(&h, &pi);
	free(h.v);
	pace_inst_clear(&pi);
	pace_state_free(&pi.st);
}

/* Scheduled sends wait outside the lanes until due (holding nothing up),
 * then join their lane in seq order, or follow a queued first contact to
 * the same number as no first contact themselves; a removal takes a
 * message out of wherever it waits, and a first contact removed hands its
 * place to its oldest follower. */
static void test_schedule_remove(void)
{
	struct pace_inst in = { 0 };
	in.cfg.enabled = true;
	struct pace_heap h = { 0 };
	struct pace_msg *s1 = msg(1, 7, false), *s2 = msg(2, 300, true);
	s1->not_before = 50000;
	s2->not_before = 20000;
	CHECK_EQ_INT(pace_inst_hold(&in, s1), 0);
	CHECK_EQ_INT(pace_inst_hold(&in, s2), 0);
	CHECK_EQ_INT(pace_inst_add(&in, msg(3, 8, false)), 0);  /* known, due now */
	CHECK_EQ_INT(pace_inst_add(&in, msg(4, 300, true)), 0); /* first contact to s2's number */
	CHECK_EQ_INT(pace_inst_queued(&in), 4);
	CHECK_EQ_INT(pace_inst_update(&h, &in, 1000), 0);
	CHECK_EQ_INT(in.ready, 1000); /* the scheduled ones hold nothing up */
	int64_t r;
	struct pace_lane *l = pace_pick(&in, 1000, &r);
	CHECK(l == &in.known && in.known.head->seq == 3);
	free(pace_take(&in, l));
	CHECK_EQ_INT(pace_inst_update(&h, &in, 1000), 0);
	CHECK_EQ_INT(in.ready, 1000); /* 4 */
	CHECK_EQ_INT(pace_inst_promote(&in, 19999), 0);
	CHECK_EQ_INT(in.sch_n, 2);
	CHECK_EQ_INT(pace_inst_promote(&in, 20000), 0); /* s2: behind 4, no first contact now */
	CHECK_EQ_INT(in.sch_n, 1);
	CHECK_EQ_INT(in.followers, 1);
	CHECK(!s2->first && in.first.head->seq == 4 && in.first.head->fhead == s2);
	/* 4 removed: s2 is the number's first contact in its place */
	CHECK(pace_inst_heir(&in, 4) == s2);
	struct pace_msg *promoted = NULL, *m = pace_inst_remove(&in, 4, &promoted);
	CHECK(m && m->seq == 4 && promoted == s2);
	free(m);
	CHECK(s2->first && in.first.head == s2 && in.first.n == 1 && in.followers == 0);
	/* a message to that number now follows s2 */
	CHECK_EQ_INT(pace_inst_add(&in, msg(5, 300, false)), 0);
	CHECK(s2->fhead && s2->fhead->seq == 5 && in.followers == 1);
	/* remove a follower, then the scheduled one not due yet */
	m = pace_inst_remove(&in, 5, &promoted);
	CHECK(m && m->seq == 5 && !promoted && !s2->fhead && !s2->ftail && in.followers == 0);
	free(m);
	CHECK_EQ_INT(pace_inst_update(&h, &in, 20000), 0);
	CHECK_EQ_INT(in.ready, 20000);
	m = pace_inst_remove(&in, 1, &promoted);
	CHECK(m == s1 && in.sch_n == 0);
	free(m);
	CHECK(pace_inst_remove(&in, 99, &promoted) == NULL);
	/* a scheduled send alone: the instance is ready at its time, and it
	 * joins the known lane by seq, ahead of a later one */
	m = msg(6, 9, false);
	m->not_before = 90000;
	CHECK_EQ_INT(pace_inst_hold(&in, m), 0);
	free(pace_inst_remove(&in, 2, &promoted)); /* s2 */
	CHECK_EQ_INT(pace_inst_update(&h, &in, 20000), 0);
	CHECK_EQ_INT(in.ready, 90000);
	CHECK_EQ_INT(pace_inst_add(&in, msg(7, 10, false)), 0);
	CHECK_EQ_INT(pace_inst_promote(&in, 90000), 0);
	CHECK(in.known.head == m && in.known.head->next->seq == 7 && in.known.tail->seq == 7 && in.known.n == 2);
	pace_heap_remove(&h, &in);
	free(h.v);
	pace_inst_clear(&in);
	pace_state_free(&in.st);
}

/* The store's side of a cancel: the queued row by message id, its delete
 * (not once released), the heir's first-contact flag, "is a held file
 * still owned" (a row in any state, or libwa's outbox), a scheduled row
 * still to come is no contact yet; a bulk job's row and spec. */
static void test_store_cancel(void)
{
	char dir[] = "/tmp/pace-cancel-XXXXXX";
	if (!mkdtemp(dir))
		return;
	char path[256];
	snprintf(path, sizeof path, "%s/w.db", dir);
	wa_store *st = NULL;
	int64_t id = 0, seq1 = 0, seq2 = 0, seq3 = 0, got = 0;
	CHECK_EQ_INT(wa_store_open(path, NULL, &st), 0);
	CHECK_EQ_INT(wa_store_instance_create(st, "p", &id), 0);
	wa_store_pace_row r = { .first = true, .created_ms = 1000, .not_before_ms = 1000 };
	snprintf(r.key_id, sizeof r.key_id, "3EB0AA");
	snprintf(r.jid, sizeof r.jid, "1@s.whatsapp.net");
	CHECK_EQ_INT(wa_store_pace_put(st, id, &r, "{}", 2, &seq1), 0);
	snprintf(r.key_id, sizeof r.key_id, "3EB0BB");
	r.first = false;
	CHECK_EQ_INT(wa_store_pace_put(st, id, &r, "{}", 2, &seq2), 0);
	/* scheduled to a new number: not a contact until it leaves */
	snprintf(r.key_id, sizeof r.key_id, "3EB0CC");
	snprintf(r.jid, sizeof r.jid, "2@s.whatsapp.net");
	r.first = true;
	r.not_before_ms = 90000;
	CHECK_EQ_INT(wa_store_pace_put(st, id, &r, "{}", 2, &seq3), 0);
	bool known = true, used = false;
	char *p = NULL;
	size_t len = 0;
	CHECK_EQ_INT(wa_store_pace_known(st, id, "2@s.whatsapp.net", &known), 0);
	CHECK(!known);
	CHECK_EQ_INT(wa_store_pace_find(st, id, "3EB0AA", &got), 0);
	CHECK_EQ_INT(got, seq1);
	CHECK_EQ_INT(wa_store_pace_find(st, id + 1, "3EB0AA", &got), WA_ENOTFOUND); /* another instance's */
	CHECK_EQ_INT(wa_store_pace_find(st, id, "3EB0ZZ", &got), WA_ENOTFOUND);
	CHECK_EQ_INT(wa_store_pace_delete(st, seq1), 0);
	CHECK_EQ_INT(wa_store_pace_delete(st, seq1), WA_ENOTFOUND);
	CHECK_EQ_INT(wa_store_pace_find(st, id, "3EB0AA", &got), WA_ENOTFOUND);
	CHECK_EQ_INT(wa_store_pace_set_first(st, seq2, true), 0);
	CHECK_EQ_INT(wa_store_pace_id_in_use(st, id, "3EB0AA", &used), 0);
	CHECK(!used);
	CHECK_EQ_INT(wa_store_pace_id_in_use(st, id, "3EB0BB", &used), 0);
	CHECK(used);
	CHECK_EQ_INT(wa_store_pace_released(st, seq2, 5000), 0); /* left: no cancel, file still owned */
	CHECK_EQ_INT(wa_store_pace_find(st, id, "3EB0BB", &got), WA_ENOTFOUND);
	CHECK_EQ_INT(wa_store_pace_delete(st, seq2), WA_ENOTFOUND);
	CHECK_EQ_INT(wa_store_pace_id_in_use(st, id, "3EB0BB", &used), 0);
	CHECK(used);
	wa_store_pace_row *rows = NULL;
	size_t n = 0;
	CHECK_EQ_INT(wa_store_pace_load(st, id, 0, &rows, &n), 0);
	CHECK_EQ_INT(n, 2);
	if (n == 2)
		CHECK(rows[0].seq == seq2 && rows[0].first && rows[1].seq == seq3 && rows[1].not_before_ms == 90000);
	free(rows);
	/* a bulk job: its row and spec, progress saved, loaded back */
	wa_store_pace_job j = { .state = 0, .total = 3, .created_ms = 1000, .not_before_ms = 2000 };
	snprintf(j.key, sizeof j.key, "job-1");
	CHECK_EQ_INT(wa_store_pace_job_put(st, id, &j, "{\"template\":\"t\"}", 16, &j.row), 0);
	j.next = 2;
	j.sent = 1;
	j.failed = 1;
	j.state = 1;
	snprintf(j.inflight, sizeof j.inflight, "3EB0EE");
	CHECK_EQ_INT(wa_store_pace_job_update(st, &j), 0);
	wa_store_pace_job *jv = NULL;
	size_t jn = 0;
	CHECK_EQ_INT(wa_store_pace_job_load(st, id, &jv, &jn), 0);
	CHECK_EQ_INT(jn, 1);
	if (jn == 1)
		CHECK(jv[0].row == j.row && !strcmp(jv[0].key, "job-1") && jv[0].state == 1 && jv[0].total == 3 &&
		      jv[0].next == 2 && jv[0].sent == 1 && jv[0].failed == 1 && !strcmp(jv[0].inflight, "3EB0EE") &&
		      jv[0].created_ms == 1000 && jv[0].not_before_ms == 2000);
	free(jv);
	CHECK_EQ_INT(wa_store_pace_job_spec(st, j.row, &p, &len), 0);
	CHECK_EQ_STR(p, "{\"template\":\"t\"}");
	wa_store_free(p, len);
	j.row += 100;
	CHECK_EQ_INT(wa_store_pace_job_update(st, &j), WA_ENOTFOUND);
	/* libwa's outbox owns a released file until it is sent */
	CHECK_EQ_INT(wa_store_pace_id_in_use(st, id, "3EB0DD", &used), 0);
	CHECK(!used);
	int64_t ob = 0;
	CHECK_EQ_INT(wa_store_outbox_add(st, id, "3@s.whatsapp.net", "3EB0DD", (const uint8_t *)"x", 1, &ob), 0);
	CHECK_EQ_INT(wa_store_pace_id_in_use(st, id, "3EB0DD", &used), 0);
	CHECK(used);
	CHECK_EQ_INT(wa_store_outbox_set_state(st, id, ob, WA_STORE_OUTBOX_SENT), 0);
	CHECK_EQ_INT(wa_store_pace_id_in_use(st, id, "3EB0DD", &used), 0);
	CHECK(!used);
	wa_store_close(st);
	char f[300];
	static const char *const sfx[] = { "", "-wal", "-shm" };
	for (int k = 0; k < 3; k++) {
		snprintf(f, sizeof f, "%s%s", path, sfx[k]);
		unlink(f);
	}
	rmdir(dir);
}

/* Tenant groups: the pace_groups spec and the instance's "group" setting,
 * then three instances of a group of 2/min (each allowed 10/min) driven
 * as wamd_pace.c's scheduler does (a top whose group is full is put back
 * at the group's next slot): no minute holds more than 2 of the group's
 * sends, the instances take turns, and an instance outside the group is
 * not held by it. */

/* night and split windows and holidays: their JSON round trip, and the
 * errors name what is wrong */
static void test_hours_forms(struct pace_cfg *c)
{
	char err[400];
	const char *forms[] = {
		"{\"days\":[5],\"from\":\"22:00\",\"timeZone\":\"UTC\",\"to\":\"06:00\"}",
		"{\"holidays\":[\"2026-01-01\",\"2026-12-25\"],\"timeZone\":\"Europe/Berlin\",\"windows\":"
		"[{\"days\":[1,2,3,4,5],\"from\":\"09:00\",\"to\":\"12:00\"},{\"days\":[1,2,3,4,5],\"from\":\"13:00\",\"to\":\"18:00\"},"
		"{\"days\":[6],\"from\":\"23:00\",\"to\":\"01:30\"}]}",
	};
	for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
		json_t *j = json_pack("{s:o}", "businessHours", json_loads(forms[i], 0, NULL));
		CHECK_EQ_INT(pace_cfg_apply(c, j, err, sizeof err), 0);
		json_decref(j);
		json_t *out = pace_cfg_json(c);
		char *bh = json_dumps(json_object_get(out, "businessHours"), JSON_COMPACT | JSON_SORT_KEYS);
		CHECK_EQ_STR(bh, forms[i]);
		free(bh);
		json_decref(out);
	}
	CHECK(c->hours.n == 3 && c->hours.r[2].from == 1380 && c->hours.r[2].to == 90 && c->hours.n_holidays == 2);
	/* holidays come back sorted, each once */
	json_t *j = json_loads("{\"businessHours\": {\"timeZone\": \"UTC\", \"days\": [1], \"from\": \"09:00\", \"to\": \"10:00\", "
			       "\"holidays\": [\"2027-01-01\", \"2026-12-25\", \"2027-01-01\"]}}", 0, NULL);
	CHECK_EQ_INT(pace_cfg_apply(c, j, err, sizeof err), 0);
	json_decref(j);
	CHECK(c->hours.n_holidays == 2 && c->hours.holidays[0] == 20812 && c->hours.holidays[1] == 20819);
	struct { const char *in, *says; } bad[] = {
		{ "{\"timeZone\": \"UTC\", \"days\": [1], \"from\": \"10:00\", \"to\": \"10:00\"}", "from equals to" },
		{ "{\"timeZone\": \"UTC\", \"windows\": [{\"days\": [1], \"from\": \"09:00\", \"to\": \"10:00\"}, "
		  "{\"days\": [9], \"from\": \"11:00\", \"to\": \"12:00\"}]}", "businessHours.windows[1]: days" },
		{ "{\"timeZone\": \"UTC\", \"days\": [1], \"from\": \"09:00\", \"to\": \"10:00\", \"holidays\": [\"2026-01-01\", "
		  "\"2026-02-29\"]}", "holidays[1] is not a date" },
		{ "{\"timeZone\": \"UTC\", \"days\": [1], \"from\": \"9\", \"to\": \"10:00\"}", "\"HH:MM\"" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		j = json_pack("{s:o}", "businessHours", json_loads(bad[i].in, 0, NULL));
		struct pace_cfg x = *c;
		err[0] = '\0';
		CHECK(pace_cfg_apply(&x, j, err, sizeof err) != 0);
		CHECK(strstr(err, bad[i].says) != NULL);
		json_decref(j);
	}
	/* 65 holidays are too many */
	json_t *many = json_array();
	for (int d = 1; d <= 65; d++) {
		char s[16];
		snprintf(s, sizeof s, "2026-%02d-%02d", 1 + (d - 1) / 28, 1 + (d - 1) % 28);
		json_array_append_new(many, json_string(s));
	}
	j = json_pack("{s:{s:s, s:[i], s:s, s:s, s:o}}", "businessHours", "timeZone", "UTC", "days", 1, "from", "09:00",
		      "to", "10:00", "holidays", many);
	struct pace_cfg x = *c;
	CHECK(pace_cfg_apply(&x, j, err, sizeof err) != 0 && strstr(err, "at most 64"));
	json_decref(j);
}

static void test_groups(void)
{
	struct pace_group_limits *g = NULL;
	size_t n = 0;
	char err[200];
	CHECK_EQ_INT(pace_groups_parse(" acme:20/300/2000, b-2.x_y:0/5/0 ", &g, &n, err, sizeof err), 0);
	CHECK_EQ_INT(n, 2);
	CHECK(g && !strcmp(g[0].name, "acme") && g[0].per_min == 20 && g[0].per_hour == 300 && g[0].per_day == 2000);
	CHECK(g && !strcmp(g[1].name, "b-2.x_y") && g[1].per_min == 0 && g[1].per_hour == 5 && g[1].per_day == 0);
	free(g);
	CHECK_EQ_INT(pace_groups_parse(NULL, &g, &n, err, sizeof err), 0);
	CHECK(n == 0 && !g);
	CHECK_EQ_INT(pace_groups_parse("", &g, &n, err, sizeof err), 0);
	CHECK(n == 0 && !g);
	const char *bad[] = { "acme", "acme:1/2", "acme:1/2/3/4", ":1/2/3", "a b:1/2/3", "acme:1/2/100001",
			      "acme:1/2/3,", "acme:1/2/3,acme:4/5/6", "acme:-1/2/3", "acme:1/2/3;b:1/1/1",
			      "abcdefghijklmnopqrstuvwxyz0123456:1/1/1", "acme:1/ 2/3" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		g = (struct pace_group_limits *)1;
		CHECK(pace_groups_parse(bad[i], &g, &n, err, sizeof err) != 0);
		CHECK(err[0] != '\0' && g == NULL);
	}
	/* the instance's setting */
	struct pace_cfg c;
	pace_cfg_defaults(&c);
	json_t *in = json_pack("{s:s}", "group", "acme");
	CHECK_EQ_INT(pace_cfg_apply(&c, in, err, sizeof err), 0);
	json_decref(in);
	CHECK(!strcmp(c.group, "acme"));
	json_t *out = pace_cfg_json(&c);
	CHECK(!strcmp(json_string_value(json_object_get(out, "group")), "acme"));
	json_decref(out);
	in = json_pack("{s:n}", "group");
	CHECK_EQ_INT(pace_cfg_apply(&c, in, err, sizeof err), 0);
	json_decref(in);
	CHECK(c.group[0] == '\0');
	out = pace_cfg_json(&c);
	CHECK(json_is_null(json_object_get(out, "group")));
	json_decref(out);
	/* business hours: round trip, bad ones refused */
	in = json_loads("{\"businessHours\": {\"timeZone\": \"America/Sao_Paulo\", \"days\": [5, 1, 3], "
			"\"from\": \"09:30\", \"to\": \"24:00\"}}", 0, NULL);
	CHECK_EQ_INT(pace_cfg_apply(&c, in, err, sizeof err), 0);
	json_decref(in);
	CHECK(c.hours.n == 1 && c.hours.r[0].days == ((1u << 1) | (1u << 3) | (1u << 5)) && c.hours.r[0].from == 570 &&
	      c.hours.r[0].to == 1440 && c.hours.n_holidays == 0 && !strcmp(c.tz, "America/Sao_Paulo"));
	out = pace_cfg_json(&c);
	char *bh = json_dumps(json_object_get(out, "businessHours"), JSON_COMPACT | JSON_SORT_KEYS);
	CHECK_EQ_STR(bh, "{\"days\":[1,3,5],\"from\":\"09:30\",\"timeZone\":\"America/Sao_Paulo\",\"to\":\"24:00\"}");
	free(bh);
	struct pace_cfg back = c;
	pace_cfg_defaults(&back);
	CHECK_EQ_INT(pace_cfg_apply(&back, out, err, sizeof err), 0);
	CHECK(memcmp(&back, &c, sizeof c) == 0);
	json_decref(out);
	const char *badh[] = { "{\"timeZone\": \"UTC\", \"days\": [1], \"from\": \"09:00\"}",
			       "{\"timeZone\": \"UTC\", \"days\": [], \"from\": \"09:00\", \"to\": \"10:00\"}",
			       "{\"timeZone\": \"UTC\", \"days\": [8], \"from\": \"09:00\", \"to\": \"10:00\"}",
			       "{\"timeZone\": \"UTC\", \"days\": [1], \"from\": \"10:00\", \"to\": \"10:00\"}",
			       "{\"timeZone\": \"UTC\", \"days\": [1], \"from\": \"24:00\", \"to\": \"24:00\"}",
			       "{\"timeZone\": \"UTC\", \"days\": [1], \"from\": \"9:00\", \"to\": \"10:00\"}",
			       "{\"timeZone\": \"UTC\", \"days\": [1], \"from\": \"09:60\", \"to\": \"10:00\"}",
			       "{\"timeZone\": \"../x\", \"days\": [1], \"from\": \"09:00\", \"to\": \"10:00\"}",
			       "{\"timeZone\": \"UTC\", \"days\": [1], \"from\": \"09:00\", \"to\": \"10:00\", \"x\": 1}",
			       "{\"timeZone\": \"UTC\", \"days\": [1, 1], \"from\": \"09:00\", \"to\": \"10:00\"}",
			       "{\"timeZone\": \"UTC\", \"days\": [1], \"from\": \"22:00\", \"to\": \"24:00:00\"}",
			       "{\"timeZone\": \"UTC\", \"windows\": []}",
			       "{\"timeZone\": \"UTC\", \"windows\": [{\"days\": [1], \"from\": \"09:00\"}]}",
			       "{\"timeZone\": \"UTC\", \"windows\": [{\"days\": [1], \"from\": \"09:00\", \"to\": \"09:00\"}]}",
			       "{\"timeZone\": \"UTC\", \"days\": [1], \"windows\": [{\"days\": [1], \"from\": \"09:00\", \"to\": \"10:00\"}]}",
			       "{\"timeZone\": \"UTC\", \"days\": [1], \"from\": \"09:00\", \"to\": \"10:00\", \"holidays\": [\"2026-02-30\"]}",
			       "{\"timeZone\": \"UTC\", \"days\": [1], \"from\": \"09:00\", \"to\": \"10:00\", \"holidays\": [\"2026-1-01\"]}",
			       "{\"timeZone\": \"UTC\", \"days\": [1], \"from\": \"09:00\", \"to\": \"10:00\", \"holidays\": \"2026-01-01\"}",
			       "{\"timeZone\": \"UTC\", \"days\": [1], \"from\": \"09:00\", \"to\": \"10:00\", \"holidays\": [20260101]}",
			       "5" };
	for (size_t i = 0; i < sizeof badh / sizeof badh[0]; i++) {
		json_t *j = json_pack("{s:o}", "businessHours", json_loads(badh[i], JSON_DECODE_ANY, NULL));
		struct pace_cfg x = c;
		CHECK(pace_cfg_apply(&x, j, err, sizeof err) != 0);
		json_decref(j);
	}
	in = json_pack("{s:n}", "businessHours");
	CHECK_EQ_INT(pace_cfg_apply(&c, in, err, sizeof err), 0);
	json_decref(in);
	CHECK(c.hours.n == 0);
	test_hours_forms(&c);
	const char *badg[] = { "{\"group\": 5}", "{\"group\": \"a/b\"}",
			       "{\"group\": \"abcdefghijklmnopqrstuvwxyz0123456\"}" };
	for (size_t i = 0; i < sizeof badg / sizeof badg[0]; i++) {
		json_t *j = json_loads(badg[i], 0, NULL);
		CHECK(pace_cfg_apply(&c, j, err, sizeof err) != 0);
		json_decref(j);
	}

	/* the shared windows in the scheduler */
	enum { NI = 4, NSEND = 24 };
	struct pace_group grp = { .name = "acme", .cfg = { .enabled = true, .per_min = 2 } };
	struct pace_inst ins[NI];
	memset(ins, 0, sizeof ins);
	struct pace_heap H = { 0 };
	for (int i = 0; i < NI; i++) {
		ins[i].cfg = (struct pace_cfg){ .enabled = true, .per_min = 10 };
		ins[i].grp = i < 3 ? &grp : NULL; /* the fourth is in no group */
		for (int k = 0; k < NSEND; k++)
			CHECK_EQ_INT(pace_inst_add(&ins[i], msg(i * 100 + k + 1, 1, false)), 0);
		CHECK_EQ_INT(pace_inst_update(&H, &ins[i], 0), 0);
	}
	int64_t gts[64], ots[64];
	int gn = 0, on = 0, who[64], guard = 0;
	uint64_t tick = 0;
	while (H.n && gn < 18 && guard++ < 10000) {
		struct pace_inst *top = H.v[0];
		int64_t now = top->ready, r;
		struct pace_lane *l = pace_pick(top, now, &r);
		CHECK(l != NULL);
		if (!l)
			break;
		if (r > now || pace_group_next(top, now) > now) {
			CHECK_EQ_INT(pace_inst_update(&H, top, now), 0);
			continue;
		}
		free(pace_take(top, l));
		CHECK_EQ_INT(pace_record(&top->cfg, &top->st, false, now, 0), 0);
		if (top->grp) {
			CHECK_EQ_INT(pace_record(&grp.cfg, &grp.st, false, now, 0), 0);
			who[gn] = (int)(top - ins);
			gts[gn++] = now;
		} else if (on < 64) {
			ots[on++] = now;
		}
		top->served = ++tick;
		CHECK_EQ_INT(pace_inst_update(&H, top, now), 0);
	}
	CHECK_EQ_INT(gn, 18);
	for (int i = 0; i < gn; i++)
		CHECK(brute_count(gts, (size_t)gn, PACE_MIN_MS, gts[i]) <= 2);
	CHECK_EQ_INT(gts[gn - 1], 8 * PACE_MIN_MS); /* two a minute, from 0: as fast as the group allows */
	for (int i = 0; i + 2 < gn; i++) /* turns: three in a row are three instances */
		CHECK(who[i] != who[i + 1] && who[i] != who[i + 2] && who[i + 1] != who[i + 2]);
	/* the one outside the group went at its own 10/min */
	CHECK(on >= 10);
	CHECK(on >= 10 && ots[9] == 0 && ots[on - 1] >= PACE_MIN_MS);
	for (int i = 0; i < NI; i++) {
		pace_heap_remove(&H, &ins[i]);
		pace_inst_clear(&ins[i]);
		pace_state_free(&ins[i].st);
	}
	pace_state_free(&grp.st);
	free(H.v);
}

int main(void)
{
	test_groups();
	test_store();
	test_lanes();
	test_fair_heap();
	test_window_exact();
	test_window_property();
	test_shared_out_of_order();
	test_warmup();
	test_aimd();
	test_first_and_gap();
	test_cfg_json();
	test_typing();
	test_schedule_remove();
	test_store_cancel();
	return check_exit("pace_limits");
}
