/* Send pacing arithmetic (see wamd_pace_limits.h). */
#include "wamd_pace_limits.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wa/wa.h"

void pace_cfg_defaults(struct pace_cfg *c)
{
	memset(c, 0, sizeof *c); /* padding too: settings compare with memcmp */
	c->enabled = true;
	c->per_min = 8;
	c->per_hour = 200;
	c->per_day = 1000;
	c->first_per_day = 20;
	c->warm_start = 50;
	c->warm_step = 50;
	c->gap_ms = 2000;
	c->jitter_ms = 3000;
	/* only held sends wait for them: sends no limit holds back stay as fast */
	c->typing = true;
	c->available = true;
	c->typing_ms_per_char = 50;
	c->typing_min_ms = 1000;
	c->typing_max_ms = 8000;
}

int64_t pace_typing_ms(const struct pace_cfg *c, size_t n_chars, int64_t delay_ms)
{
	if (!c->typing)
		return 0;
	int64_t hi = c->typing_max_ms > c->typing_min_ms ? c->typing_max_ms : c->typing_min_ms;
	int64_t t = (int64_t)n_chars * c->typing_ms_per_char;
	t = t < c->typing_min_ms ? c->typing_min_ms : t > hi ? hi : t;
	return delay_ms > t ? delay_ms : t;
}

void pace_win_free(struct pace_win *w)
{
	free(w->ts);
	memset(w, 0, sizeof *w);
}

/* i-th oldest kept send (0 = oldest) */
static int64_t at(const struct pace_win *w, uint32_t i)
{
	return w->ts[(w->head + i) % w->cap];
}

static int resize(struct pace_win *w, uint32_t cap)
{
	int64_t *ts = cap ? malloc(sizeof *ts * cap) : NULL;
	if (cap && !ts)
		return WA_ENOMEM;
	uint32_t keep = w->n < cap ? w->n : cap;
	for (uint32_t i = 0; i < keep; i++)
		ts[i] = at(w, w->n - keep + i); /* the newest ones */
	free(w->ts);
	w->ts = ts;
	w->cap = cap;
	w->n = keep;
	w->head = 0;
	return 0;
}

int pace_win_add(struct pace_win *w, uint32_t limit, int64_t t)
{
	if (limit == 0)
		return 0;
	if (limit > PACE_LIMIT_MAX)
		limit = PACE_LIMIT_MAX;
	if (w->cap != limit) {
		int rc = resize(w, limit);
		if (rc != 0)
			return rc;
	}
	if (w->n < w->cap) {
		w->ts[(w->head + w->n) % w->cap] = t;
		w->n++;
	} else {
		w->ts[w->head] = t;
		w->head = (w->head + 1) % w->cap;
	}
	return 0;
}

/* t in time order among the kept sends (another node's, which may come
 * after a later one of ours); older than everything a full ring keeps:
 * not needed */
static int win_insert(struct pace_win *w, uint32_t limit, int64_t t)
{
	if (limit == 0)
		return 0;
	if (w->n == 0 || t >= at(w, w->n - 1))
		return pace_win_add(w, limit, t); /* nearly always */
	if (limit > PACE_LIMIT_MAX)
		limit = PACE_LIMIT_MAX;
	if (w->cap != limit) {
		int rc = resize(w, limit); /* keeps the newest: still newer than t */
		if (rc != 0)
			return rc;
	}
	if (w->n == w->cap && t <= at(w, 0))
		return 0;
	uint32_t k = w->n; /* the newest ones after t move up one place */
	if (w->n == w->cap) {
		w->head = (w->head + 1) % w->cap; /* the oldest leaves */
		w->n--;
		k--;
	}
	while (k > 0 && at(w, k - 1) > t) {
		w->ts[(w->head + k) % w->cap] = at(w, k - 1);
		k--;
	}
	w->ts[(w->head + k) % w->cap] = t;
	w->n++;
	return 0;
}

int64_t pace_win_next(const struct pace_win *w, uint32_t limit, int64_t span_ms, int64_t now)
{
	if (limit == 0 || w->n < limit)
		return now;
	/* the limit-th newest send leaves the span at its time + span */
	int64_t t = at(w, w->n - limit) + span_ms;
	return t > now ? t : now;
}

uint32_t pace_win_count(const struct pace_win *w, int64_t span_ms, int64_t now)
{
	uint32_t k = 0;
	for (uint32_t i = 0; i < w->n; i++)
		if (at(w, i) > now - span_ms)
			k++;
	return k;
}

uint32_t pace_day_budget(const struct pace_cfg *c, int64_t now)
{
	if (c->warm_step == 0 || c->warm_from_ms <= 0)
		return c->per_day;
	uint64_t days = now > c->warm_from_ms ? (uint64_t)((now - c->warm_from_ms) / PACE_DAY_MS) : 0;
	uint64_t b = (uint64_t)c->warm_start + days * c->warm_step;
	if (c->per_day && b > c->per_day)
		b = c->per_day;
	return b > PACE_LIMIT_MAX ? PACE_LIMIT_MAX : (uint32_t)b;
}

double pace_factor(const struct pace_state *s, int64_t now)
{
	if (s->signal_ms <= 0)
		return 1.0;
	int64_t quiet = now > s->signal_ms ? (now - s->signal_ms) / PACE_MIN_MS : 0;
	double f = s->factor_at_signal + PACE_AIMD_STEP * (double)quiet;
	return f > 1.0 ? 1.0 : f;
}

uint32_t pace_scaled(uint32_t limit, double factor)
{
	if (limit == 0)
		return 0;
	uint32_t v = (uint32_t)((double)limit * factor);
	return v < 1 ? 1 : v;
}

bool pace_signal(struct pace_state *s, int64_t now)
{
	double f = pace_factor(s, now) * PACE_AIMD_DECREASE;
	if (f < PACE_AIMD_FLOOR)
		f = PACE_AIMD_FLOOR;
	s->strikes = (s->signal_ms > 0 && now - s->signal_ms <= PACE_STRIKE_SPAN_MS) ? s->strikes + 1 : 1;
	s->factor_at_signal = f;
	s->signal_ms = now;
	if (s->strikes >= PACE_STRIKES_TO_PAUSE) {
		s->strikes = 0;
		s->paused_until_ms = now + PACE_PAUSE_MS;
		return true;
	}
	return false;
}

static int64_t max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

int64_t pace_next(const struct pace_cfg *c, const struct pace_state *s, bool first, int64_t now)
{
	if (!c->enabled)
		return now;
	double f = pace_factor(s, now);
	int64_t t = max64(now, s->paused_until_ms);
	t = max64(t, pace_win_next(&s->min, pace_scaled(c->per_min, f), PACE_MIN_MS, now));
	t = max64(t, pace_win_next(&s->hour, pace_scaled(c->per_hour, f), PACE_HOUR_MS, now));
	t = max64(t, pace_win_next(&s->day, pace_scaled(pace_day_budget(c, now), f), PACE_DAY_MS, now));
	if (first)
		t = max64(t, pace_win_next(&s->first, pace_scaled(c->first_per_day, f), PACE_DAY_MS, now));
	if (s->has_last)
		t = max64(t, s->last_ms + s->next_gap_ms);
	/* a later day (warm-up) or a recovered factor may allow more than the
	 * windows at `now` said; the scheduler asks again at t, so t is never
	 * too early, at worst a little late by a budget change */
	return t;
}

int pace_record(const struct pace_cfg *c, struct pace_state *s, bool first, int64_t now, uint32_t rnd)
{
	/* the rings keep as many sends as the largest limit they may be asked
	 * about (the unscaled one), so a recovered factor sees the history */
	int rc = pace_win_add(&s->min, c->per_min, now);
	if (rc == 0)
		rc = pace_win_add(&s->hour, c->per_hour, now);
	if (rc == 0) {
		uint32_t day = c->per_day > pace_day_budget(c, now) ? c->per_day : pace_day_budget(c, now);
		rc = pace_win_add(&s->day, day, now);
	}
	if (rc == 0 && first)
		rc = pace_win_add(&s->first, c->first_per_day, now);
	s->last_ms = now;
	s->has_last = true;
	s->next_gap_ms = c->gap_ms + (c->jitter_ms ? rnd % (c->jitter_ms + 1) : 0);
	return rc;
}

int pace_record_shared(const struct pace_cfg *c, struct pace_state *s, int64_t t)
{
	int rc = win_insert(&s->min, c->per_min, t);
	if (rc == 0)
		rc = win_insert(&s->hour, c->per_hour, t);
	if (rc == 0)
		rc = win_insert(&s->day, c->per_day, t);
	return rc;
}

void pace_state_free(struct pace_state *s)
{
	pace_win_free(&s->min);
	pace_win_free(&s->hour);
	pace_win_free(&s->day);
	pace_win_free(&s->first);
}

/* ---- settings (an instance document's "pacing" object) ---- */

static const struct { const char *key; size_t off; } u32_keys[] = {
	{ "perMinute", offsetof(struct pace_cfg, per_min) },
	{ "perHour", offsetof(struct pace_cfg, per_hour) },
	{ "perDay", offsetof(struct pace_cfg, per_day) },
	{ "firstContactPerDay", offsetof(struct pace_cfg, first_per_day) },
	{ "warmupStart", offsetof(struct pace_cfg, warm_start) },
	{ "warmupStep", offsetof(struct pace_cfg, warm_step) },
	{ "gapMs", offsetof(struct pace_cfg, gap_ms) },
	{ "jitterMs", offsetof(struct pace_cfg, jitter_ms) },
	{ "typingMsPerChar", offsetof(struct pace_cfg, typing_ms_per_char) },
	{ "typingMinMs", offsetof(struct pace_cfg, typing_min_ms) },
	{ "typingMaxMs", offsetof(struct pace_cfg, typing_max_ms) },
};
#define N_U32 (sizeof u32_keys / sizeof u32_keys[0])

static uint32_t *u32_at(struct pace_cfg *c, size_t i)
{
	return (uint32_t *)((char *)c + u32_keys[i].off);
}

/* "HH:MM" (00:00..23:59, or 24:00 when end): minutes of the day, -1 when bad */
static int hhmm(json_t *v, bool end)
{
	const char *s = json_string_value(v);
	if (!s || strlen(s) != 5 || s[2] != ':')
		return -1;
	for (int i = 0; i < 5; i++)
		if (i != 2 && (s[i] < '0' || s[i] > '9'))
			return -1;
	int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
	if (m > 59 || h > 24 || (h == 24 && (m || !end)))
		return -1;
	return h * 60 + m;
}

/* one range {days: [1..7], from: "HH:MM", to: "HH:MM"} (or the same keys
 * beside timeZone in v itself, `keys` of them) into *r; err on a bad one */
static int range_apply(struct wamd_hours_range *r, json_t *v, size_t keys, const char *where, char *err, size_t errlen)
{
	json_t *days = json_object_get(v, "days");
	int from = hhmm(json_object_get(v, "from"), false), to = hhmm(json_object_get(v, "to"), true);
	const char *why = NULL;
	if (!json_is_object(v) || json_object_size(v) != keys)
		why = "must be {\"days\", \"from\", \"to\"} and nothing else";
	else if (!json_is_array(days) || json_array_size(days) < 1 || json_array_size(days) > 7)
		why = "days must be 1 to 7 weekdays, 1 Monday .. 7 Sunday";
	else if (from < 0 || to < 0)
		why = "from and to must be \"HH:MM\" (00:00..23:59; to may be 24:00)";
	else if (from == to)
		why = "from equals to (00:00 to 24:00 is the whole day)";
	r->days = 0;
	for (size_t i = 0; !why && i < json_array_size(days); i++) {
		json_t *d = json_array_get(days, i);
		if (!json_is_integer(d) || json_integer_value(d) < 1 || json_integer_value(d) > 7)
			why = "days must be 1 to 7 weekdays, 1 Monday .. 7 Sunday";
		else if (r->days & (1u << json_integer_value(d)))
			why = "days names a day twice";
		else
			r->days |= (uint16_t)(1u << json_integer_value(d));
	}
	if (why) {
		snprintf(err, errlen, "businessHours%s: %s", where, why);
		return -1;
	}
	r->from = (uint16_t)from;
	r->to = (uint16_t)to; /* to < from: it ends the next day */
	return 0;
}

static int by_day(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
	return (x > y) - (x < y);
}

/* "holidays": ["YYYY-MM-DD", ...] into h (sorted, each once) */
static int holidays_apply(struct wamd_hours *h, json_t *v, char *err, size_t errlen)
{
	if (!json_is_array(v) || json_array_size(v) > WAMD_HOURS_HOLIDAYS) {
		snprintf(err, errlen, "businessHours.holidays must be a list of at most %d dates \"YYYY-MM-DD\"",
			 WAMD_HOURS_HOLIDAYS);
		return -1;
	}
	size_t n = 0;
	for (size_t i = 0; i < json_array_size(v); i++) {
		const char *s = json_string_value(json_array_get(v, i));
		int y, m, d, len = 0;
		int32_t day = INT32_MIN;
		if (s && strlen(s) == 10 && s[4] == '-' && s[7] == '-' && sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &len) == 3 &&
		    len == 10 && strspn(s, "0123456789-") == 10)
			day = wamd_tz_civil_day(y, m, d);
		if (day == INT32_MIN) {
			snprintf(err, errlen, "businessHours.holidays[%zu] is not a date \"YYYY-MM-DD\"", i);
			return -1;
		}
		h->holidays[n++] = day;
	}
	qsort(h->holidays, n, sizeof h->holidays[0], by_day);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (k == 0 || h->holidays[k - 1] != h->holidays[i])
			h->holidays[k++] = h->holidays[i];
	h->n_holidays = (uint16_t)k;
	return 0;
}

/* "businessHours": null, or {timeZone, days, from, to | windows: [{days,
 * from, to}, ...], holidays?: ["YYYY-MM-DD", ...]} */
static int hours_apply(struct pace_cfg *c, json_t *v, char *err, size_t errlen)
{
	struct wamd_hours h;
	memset(&h, 0, sizeof h);
	if (json_is_null(v)) {
		c->hours = h;
		memset(c->tz, 0, sizeof c->tz);
		return 0;
	}
	const char *tz = json_string_value(json_object_get(v, "timeZone"));
	json_t *win = json_object_get(v, "windows"), *hol = json_object_get(v, "holidays");
	if (!json_is_object(v) || !tz || !wamd_tz_name_ok(tz)) {
		snprintf(err, errlen, "businessHours must be null or {\"timeZone\": an IANA zone, \"days\": [1..7] (1 Monday), "
				      "\"from\": \"HH:MM\", \"to\": \"HH:MM\"} or {\"timeZone\", \"windows\": [{\"days\", "
				      "\"from\", \"to\"}, ...]}, with \"holidays\": [\"YYYY-MM-DD\", ...] optional");
		return -1;
	}
	size_t rest = json_object_size(v) - 1 - (hol != NULL);
	if (win) {
		if (!json_is_array(win) || json_array_size(win) < 1 || json_array_size(win) > WAMD_HOURS_RANGES || rest != 1) {
			snprintf(err, errlen, "businessHours.windows must be 1 to %d windows {\"days\", \"from\", \"to\"} "
					      "(and no days, from or to beside it)", WAMD_HOURS_RANGES);
			return -1;
		}
		for (size_t i = 0; i < json_array_size(win); i++) {
			char where[32];
			snprintf(where, sizeof where, ".windows[%zu]", i);
			if (range_apply(&h.r[i], json_array_get(win, i), 3, where, err, errlen) != 0)
				return -1;
		}
		h.n = (uint16_t)json_array_size(win);
	} else {
		if (rest != 3) {
			snprintf(err, errlen, "businessHours takes timeZone, days, from, to (or windows) and holidays, nothing else");
			return -1;
		}
		if (range_apply(&h.r[0], v, json_object_size(v), "", err, errlen) != 0)
			return -1;
		h.n = 1;
	}
	if (hol && holidays_apply(&h, hol, err, errlen) != 0)
		return -1;
	c->hours = h;
	memset(c->tz, 0, sizeof c->tz);
	snprintf(c->tz, sizeof c->tz, "%s", tz);
	return 0;
}

/* in: settings to apply over c; err set and -1 on a bad one */
int pace_cfg_apply(struct pace_cfg *c, json_t *in, char *err, size_t errlen)
{
	const char *k;
	json_t *v;
	json_object_foreach(in, k, v) {
		bool *flag = !strcmp(k, "enabled") ? &c->enabled : !strcmp(k, "typing") ? &c->typing
			     : !strcmp(k, "available") ? &c->available : NULL;
		if (flag) {
			if (!json_is_boolean(v))
				goto bad;
			*flag = json_is_true(v);
			continue;
		}
		if (!strcmp(k, "businessHours")) {
			if (hours_apply(c, v, err, errlen) != 0)
				return -1;
			continue;
		}
		if (!strcmp(k, "group")) {
			const char *g = json_is_null(v) ? "" : json_string_value(v);
			if (!g || (*g && !pace_group_name_ok(g))) {
				snprintf(err, errlen, "group must be null, \"\" or a name of 1..%d letters, digits, '.', '_', '-'",
					 PACE_GROUP_NAME_MAX);
				return -1;
			}
			memset(c->group, 0, sizeof c->group); /* settings compare with memcmp */
			snprintf(c->group, sizeof c->group, "%s", g);
			continue;
		}
		if (!strcmp(k, "warmupFrom")) {
			if (!json_is_integer(v) || json_integer_value(v) < 0)
				goto bad;
			c->warm_from_ms = json_integer_value(v);
			continue;
		}
		size_t i = 0;
		while (i < N_U32 && strcmp(k, u32_keys[i].key))
			i++;
		if (i == N_U32) {
			snprintf(err, errlen, "unknown pacing setting \"%s\"", k);
			return -1;
		}
		json_int_t x = json_is_integer(v) ? json_integer_value(v) : -1;
		json_int_t max = strstr(k, "Ms") ? 3600000 : (json_int_t)PACE_LIMIT_MAX;
		if (x < 0 || x > max || (!strcmp(k, "warmupStart") && x < 1)) {
			snprintf(err, errlen, "%s must be an integer %s..%lld", k,
				 strcmp(k, "warmupStart") ? "0" : "1", (long long)max);
			return -1;
		}
		*u32_at(c, i) = (uint32_t)x;
		continue;
	bad:
		snprintf(err, errlen, "bad value for pacing setting \"%s\"", k);
		return -1;
	}
	return 0;
}

static void range_json(json_t *o, const struct wamd_hours_range *r)
{
	json_t *days = json_array();
	for (int d = 1; d <= 7; d++)
		if (r->days & (1u << d))
			json_array_append_new(days, json_integer(d));
	char from[8], to[8];
	snprintf(from, sizeof from, "%02u:%02u", (unsigned)(r->from / 60 % 100), (unsigned)(r->from % 60));
	snprintf(to, sizeof to, "%02u:%02u", (unsigned)(r->to / 60 % 100), (unsigned)(r->to % 60));
	json_object_set_new(o, "days", days);
	json_object_set_new(o, "from", json_string(from));
	json_object_set_new(o, "to", json_string(to));
}

/* the form it was given in: one range beside timeZone, several in windows */
static json_t *pace_hours_json(const struct pace_cfg *c)
{
	const struct wamd_hours *h = &c->hours;
	if (!h->n)
		return json_null();
	json_t *o = json_pack("{s:s}", "timeZone", c->tz);
	if (h->n == 1) {
		range_json(o, &h->r[0]);
	} else {
		json_t *w = json_array();
		for (size_t i = 0; i < h->n && i < WAMD_HOURS_RANGES; i++) {
			json_t *r = json_object();
			range_json(r, &h->r[i]);
			json_array_append_new(w, r);
		}
		json_object_set_new(o, "windows", w);
	}
	if (h->n_holidays) {
		json_t *a = json_array();
		for (size_t i = 0; i < h->n_holidays && i < WAMD_HOURS_HOLIDAYS; i++) {
			int y, m, d;
			wamd_tz_civil_date(h->holidays[i], &y, &m, &d);
			char s[16];
			snprintf(s, sizeof s, "%04d-%02d-%02d", y, m, d);
			json_array_append_new(a, json_string(s));
		}
		json_object_set_new(o, "holidays", a);
	}
	return o;
}

json_t *pace_cfg_json(const struct pace_cfg *c)
{
	json_t *o = json_pack("{s:b, s:I, s:b, s:b}", "enabled", c->enabled, "warmupFrom", (json_int_t)c->warm_from_ms,
			      "typing", c->typing, "available", c->available);
	for (size_t i = 0; i < N_U32; i++)
		json_object_set_new(o, u32_keys[i].key,
				    json_integer(*(const uint32_t *)((const char *)c + u32_keys[i].off)));
	json_object_set_new(o, "group", c->group[0] ? json_string(c->group) : json_null());
	json_object_set_new(o, "businessHours", pace_hours_json(c));
	return o;
}

bool pace_group_name_ok(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') || (s[n] >= '0' && s[n] <= '9') ||
		      s[n] == '.' || s[n] == '_' || s[n] == '-'))
			return false;
	return n >= 1 && n <= PACE_GROUP_NAME_MAX;
}

/* a limit 0..PACE_LIMIT_MAX at *p (decimal digits), *p moved past it */
static bool group_limit(const char **p, uint32_t *v)
{
	uint64_t x = 0;
	const char *s = *p;
	if (*s < '0' || *s > '9')
		return false;
	for (; *s >= '0' && *s <= '9'; s++)
		if ((x = x * 10 + (uint64_t)(*s - '0')) > PACE_LIMIT_MAX)
			return false;
	*v = (uint32_t)x;
	*p = s;
	return true;
}

int pace_groups_parse(const char *spec, struct pace_group_limits **out, size_t *n, char *err, size_t errlen)
{
	*out = NULL;
	*n = 0;
	struct pace_group_limits *v = NULL;
	size_t nv = 0;
	const char *p = spec ? spec : "", *item = p;
	while (*p == ' ')
		p++;
	while (*p) {
		item = p;
		const char *colon = strchr(p, ':');
		struct pace_group_limits g = { 0 };
		size_t len = colon ? (size_t)(colon - p) : 0;
		if (!colon || len == 0 || len > PACE_GROUP_NAME_MAX)
			goto bad;
		memcpy(g.name, p, len);
		if (!pace_group_name_ok(g.name))
			goto bad;
		p = colon + 1;
		if (!group_limit(&p, &g.per_min) || *p != '/' || (++p, !group_limit(&p, &g.per_hour)) || *p != '/' ||
		    (++p, !group_limit(&p, &g.per_day)))
			goto bad; /* p never passes the NUL */
		while (*p == ' ')
			p++;
		if (*p && *p != ',')
			goto bad;
		if (*p == ',') {
			p++;
			while (*p == ' ')
				p++;
			if (!*p)
				goto bad;
		}
		for (size_t i = 0; i < nv; i++)
			if (!strcmp(v[i].name, g.name)) {
				snprintf(err, errlen, "pace_groups names group \"%s\" twice", g.name);
				free(v);
				return -1;
			}
		struct pace_group_limits *nvv = realloc(v, (nv + 1) * sizeof *v);
		if (!nvv) {
			free(v);
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		v = nvv;
		v[nv++] = g;
	}
	*out = v;
	*n = nv;
	return 0;
bad:
	free(v);
	snprintf(err, errlen,
		 "pace_groups must be name:perMinute/perHour/perDay[,...] (names of 1..%d letters, digits, '.', '_', '-'; "
		 "limits 0..%u), near \"%.24s\"",
		 PACE_GROUP_NAME_MAX, PACE_LIMIT_MAX, item);
	return -1;
}

/* characters (code points) of a UTF-8 text */
static size_t utf8_len(const char *s)
{
	size_t n = 0;
	for (; s && *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

/* how long "composing" shows before held payload p (0: none) */
int64_t pace_typing_of(const struct pace_cfg *c, json_t *p)
{
	const char *kind = json_string_value(json_object_get(p, "kind"));
	if (!kind || strcmp(kind, "text"))
		return 0;
	return pace_typing_ms(c, utf8_len(json_string_value(json_object_get(p, "text"))),
			      json_integer_value(json_object_get(p, "delay")));
}
