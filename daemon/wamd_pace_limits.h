/* Send pacing arithmetic, pure (no loop, no store, no clock of its own):
 * sliding windows, the warm-up budget, back-off on WhatsApp's rate-limit
 * signals (AIMD) and the earliest time the next send of an instance may
 * leave. wamd_pace.c owns the queues and the timers; the unit tests and
 * the scheduler bench drive these functions with their own time. */
#ifndef WAMD_PACE_LIMITS_H
#define WAMD_PACE_LIMITS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wamd_tz.h"

#define PACE_MIN_MS 60000LL
#define PACE_HOUR_MS 3600000LL
#define PACE_DAY_MS 86400000LL
#define PACE_LIMIT_MAX 100000u /* any one window's limit */
#define PACE_GROUP_NAME_MAX 32 /* a tenant group's name: [A-Za-z0-9._-], 1..32 */

/* The settings of one instance (0 in a limit: that limit is off). */
struct pace_cfg {
	bool enabled;
	uint32_t per_min, per_hour, per_day;
	uint32_t first_per_day;      /* sends to numbers never talked to */
	uint32_t warm_start, warm_step; /* day budget: start + step x days since warm_from (0 step: off) */
	int64_t warm_from_ms;        /* when warm-up began (pairing) */
	uint32_t gap_ms, jitter_ms;  /* between two sends: gap + uniform [0, jitter] */
	/* at release: "composing" before a held text, for its length x
	 * ms_per_char within [min, max] (the request's delay a floor), and
	 * "available" before the first release of a burst */
	bool typing, available;
	uint32_t typing_ms_per_char, typing_min_ms, typing_max_ms;
	char group[PACE_GROUP_NAME_MAX + 1]; /* its tenant group ("": none) */
	/* business hours (no range: any time), local time of zone tz; they
	 * hold sends with pacing off too */
	struct wamd_hours hours;
	char tz[WAMD_TZ_NAME_MAX + 1];
};

/* The send times within one window (a ring of the last `cap` of them):
 * exactly "at most limit sends in any span of that length". */
struct pace_win {
	int64_t *ts;
	uint32_t cap, n, head; /* head: index of the oldest */
};

struct pace_state {
	struct pace_win min, hour, day, first;
	int64_t last_ms;       /* last send (when has_last) */
	bool has_last;
	uint32_t next_gap_ms;  /* drawn at the last send */
	/* AIMD: the limits are multiplied by factor; a signal halves it and
	 * it grows back by PACE_AIMD_STEP per quiet minute since the signal */
	double factor_at_signal;
	int64_t signal_ms;     /* last signal, 0 = none */
	uint32_t strikes;      /* signals within PACE_STRIKE_SPAN_MS of each other */
	int64_t paused_until_ms;
};

#define PACE_AIMD_DECREASE 0.5
#define PACE_AIMD_STEP 0.1
#define PACE_AIMD_FLOOR 0.05
#define PACE_STRIKES_TO_PAUSE 3
#define PACE_STRIKE_SPAN_MS (10 * PACE_MIN_MS)
#define PACE_PAUSE_MS (30 * PACE_MIN_MS)

/* The defaults for a fresh number (docs/wamd.md says why). */
void pace_cfg_defaults(struct pace_cfg *c);
/* How long "composing" shows before a held text of n_chars characters
 * whose request asked for delay_ms (0 when typing is off). */
int64_t pace_typing_ms(const struct pace_cfg *c, size_t n_chars, int64_t delay_ms);
/* The same for a held send's payload ({kind, text, delay}; 0 but for a text). */
int64_t pace_typing_of(const struct pace_cfg *c, json_t *payload);

void pace_win_free(struct pace_win *w);
/* Records a send at t (times come in non-decreasing order); keeps the last
 * `limit` ones (the ring grows or shrinks to it). 0 or WA_ENOMEM. */
int pace_win_add(struct pace_win *w, uint32_t limit, int64_t t);
/* Earliest time >= now at which one more send keeps every span of
 * length span_ms at <= limit sends (limit 0: now). */
int64_t pace_win_next(const struct pace_win *w, uint32_t limit, int64_t span_ms, int64_t now);
/* Sends recorded in (now - span_ms, now]. */
uint32_t pace_win_count(const struct pace_win *w, int64_t span_ms, int64_t now);

/* The day budget at now: per_day, or less during warm-up. */
uint32_t pace_day_budget(const struct pace_cfg *c, int64_t now);
/* The AIMD factor at now (1 without a recent signal). */
double pace_factor(const struct pace_state *s, int64_t now);
/* A limit scaled by factor (never below 1 when the limit is on). */
uint32_t pace_scaled(uint32_t limit, double factor);
/* A rate-limit signal at now: halves the factor; the third within
 * PACE_STRIKE_SPAN_MS pauses the instance for PACE_PAUSE_MS. Returns true
 * when this signal paused it. */
bool pace_signal(struct pace_state *s, int64_t now);

/* Earliest time >= now the next send may leave (first: to a number never
 * talked to). */
int64_t pace_next(const struct pace_cfg *c, const struct pace_state *s, bool first, int64_t now);
/* Records a send at now; rnd (any 32 bits) draws the next gap's jitter. */
int pace_record(const struct pace_cfg *c, struct pace_state *s, bool first, int64_t now, uint32_t rnd);
/* Records another node's send at t in shared windows (no first-contact
 * or gap state): in time order, whenever it comes. */
int pace_record_shared(const struct pace_cfg *c, struct pace_state *s, int64_t t);
void pace_state_free(struct pace_state *s);

/* Settings as JSON ("perMinute", ...; docs/wamd.md): applies in over c;
 * -1 with err set on an unknown key or a bad value (c may be half changed:
 * apply to a copy). */
int pace_cfg_apply(struct pace_cfg *c, json_t *in, char *err, size_t errlen);
json_t *pace_cfg_json(const struct pace_cfg *c);

/* Tenant groups: instances that name the same group share one more set of
 * windows (the daemon setting pace_groups gives each group's limits). */
struct pace_group_limits {
	char name[PACE_GROUP_NAME_MAX + 1];
	uint32_t per_min, per_hour, per_day;
};
bool pace_group_name_ok(const char *s);
/* "name:perMinute/perHour/perDay[,name:...]" (spaces around items
 * allowed; NULL or "" none). *out malloc'd (NULL when n is 0); -1 with err
 * on a bad spec (a name twice, a limit over PACE_LIMIT_MAX). */
int pace_groups_parse(const char *spec, struct pace_group_limits **out, size_t *n, char *err, size_t errlen);

#endif
