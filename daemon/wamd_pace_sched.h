/* The scheduler's data structures, pure (no loop, no store, no clock): an
 * instance's two lanes (first contacts and the rest), the followers of a
 * queued first contact, the scheduled sends not due yet (a heap by due
 * time: they join a lane when due, so they never hold a lane up), and the
 * heap of instances by ready time. Used by
 * wamd_pace.c and by the scheduler bench (tests/bench/pace_sched.c). */
#ifndef WAMD_PACE_SCHED_H
#define WAMD_PACE_SCHED_H

#include "wamd_pace_limits.h"

struct wamd_tenant;

struct pace_msg {
	struct pace_msg *next;
	struct pace_msg *fhead, *ftail; /* a first contact's followers */
	int64_t seq, not_before;
	uint64_t jh;
	bool first;
	bool scheduled; /* the request gave a send time (not_before) */
};

struct pace_lane {
	struct pace_msg *head, *tail;
	size_t n;
};

struct leader {
	uint64_t jh;
	struct pace_msg *m; /* NULL: empty slot */
};

/* a tenant group: its limits (per_min, per_hour, per_day; enabled when
 * one is set) and the windows its instances share */
struct pace_group {
	char name[PACE_GROUP_NAME_MAX + 1];
	struct pace_cfg cfg;
	struct pace_state st;
};

struct pace_inst {
	struct wamd_tenant *t;
	struct pace_cfg cfg;
	struct pace_state st;
	struct pace_group *grp; /* NULL: in no group */
	const struct wamd_tz *tz; /* cfg.tz's zone (NULL: UTC) */
	struct pace_lane known, first;
	size_t followers;
	struct pace_msg **sch; /* scheduled, not due yet: min-heap by (not_before, seq) */
	size_t sch_n, sch_cap;
	struct leader *lead; /* open addressing, jid hash -> its queued first contact */
	size_t lead_cap, lead_n;
	int64_t ready;
	size_t hi; /* heap index + 1; 0: not in the heap */
	uint64_t served;
	int64_t retry_at; /* no session: try again then */
	/* the held text whose "composing" shows now leaves at typing_until */
	int64_t typing_seq, typing_until;
};

struct pace_heap {
	struct pace_inst **v;
	size_t n, cap;
};

size_t pace_inst_queued(const struct pace_inst *in);
/* adds a queued message (seq order) to its lane, or behind the queued
 * first contact to the same number */
int pace_inst_add(struct pace_inst *in, struct pace_msg *m);
/* holds a scheduled message until its not_before (pace_inst_promote) */
int pace_inst_hold(struct pace_inst *in, struct pace_msg *m);
/* moves the scheduled messages due at now into their lanes (in seq order;
 * behind a queued first contact to the same number, as a follower that is
 * no first contact itself); 0 or WA_ENOMEM */
int pace_inst_promote(struct pace_inst *in, int64_t now);
/* takes the queued message with seq out of wherever it waits (NULL: none).
 * When it was a first contact with followers, the oldest follower becomes
 * the number's first contact in its place: *promoted (else NULL). */
struct pace_msg *pace_inst_remove(struct pace_inst *in, int64_t seq, struct pace_msg **promoted);
/* the follower that pace_inst_remove(seq) would make a first contact */
struct pace_msg *pace_inst_heir(const struct pace_inst *in, int64_t seq);
/* the earliest time m may leave, with st's windows */
int64_t pace_head_ready(const struct pace_inst *in, const struct pace_state *st, const struct pace_msg *m,
			int64_t now);
/* the earliest time >= t inside in's business hours (t without them;
 * pacing off keeps them: an operator who set hours expects them kept) */
int64_t pace_hours_next(const struct pace_inst *in, int64_t t);
/* the earliest time >= now in's group lets one more send leave (now
 * without a group, or with pacing off) */
int64_t pace_group_next(const struct pace_inst *in, int64_t now);
/* recomputes in's ready time (its group's windows too) and its place in
 * the heap (out of it when empty); 0 or WA_ENOMEM */
int pace_inst_update(struct pace_heap *H, struct pace_inst *in, int64_t now);
void pace_heap_remove(struct pace_heap *H, struct pace_inst *in);
/* the lane whose head leaves first (*ready its time), NULL when empty */
struct pace_lane *pace_pick(struct pace_inst *in, int64_t now, int64_t *ready);
/* pops lane's head; a first contact's followers join the other lane */
struct pace_msg *pace_take(struct pace_inst *in, struct pace_lane *lane);
/* for the queue's dry run: qsort order of scheduled messages (by
 * not_before, then seq), and m inserted into v[from..*n) in seq order */
int pace_by_due(const void *a, const void *b);
void pace_insert_seq(struct pace_msg **v, size_t from, size_t *n, struct pace_msg *m);
/* frees every queued message (not in) */
void pace_inst_clear(struct pace_inst *in);

#endif
