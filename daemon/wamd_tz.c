/* TZif reader and local-time windows (see wamd_tz.h). Every count and
 * offset of the file is checked against its length before it is read;
 * times are kept in ms, clamped to +-1e14 s so that no sum overflows. */
#include "wamd_tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS 86400000LL
#define SEC_CLAMP 100000000000000LL /* 1e14 s: about 3 million years */
#define TIME_CLAMP (SEC_CLAMP * 1000)

/* a POSIX TZ rule (the footer): std offset, and DST between two dates */
struct rule_date {
	char kind;        /* 'J' (1..365, no Feb 29), 'D' (0..365), 'M' (month.week.day) */
	int n, m, w, d;
	int32_t time;     /* seconds after local midnight (-167 h .. 167 h) */
};

struct wamd_tz {
	size_t n;          /* transitions */
	int64_t *at;       /* ms, non-decreasing */
	int32_t *off;      /* the offset from at[i] on, seconds */
	int32_t off0;      /* before the first transition */
	bool has_rule, rule_dst;
	int32_t std_off, dst_off; /* seconds east of UTC */
	struct rule_date start, end;
};

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const uint8_t *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

static int64_t clamp_s(int64_t s)
{
	return s < -SEC_CLAMP ? -SEC_CLAMP : s > SEC_CLAMP ? SEC_CLAMP : s;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* ---- civil dates (proleptic Gregorian), days since 1970-01-01 ---- */

static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = floor_div(y, 400);
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* the date of day z (since the epoch) */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	z += 719468;
	int64_t era = floor_div(z, 146097);
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int64_t year_of_days(int64_t z)
{
	int64_t y;
	int m, d;
	civil_from_days(z, &y, &m, &d);
	return y;
}

static bool leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int64_t y, int m)
{
	static const int md[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return m == 2 && leap(y) ? 29 : md[m - 1];
}

/* the day (since the epoch) a rule date falls on in year y */
static int64_t rule_day(const struct rule_date *r, int64_t y)
{
	int64_t jan1 = days_from_civil(y, 1, 1);
	if (r->kind == 'J')
		return jan1 + r->n - 1 + (leap(y) && r->n >= 60);
	if (r->kind == 'D')
		return jan1 + r->n;
	int64_t first = days_from_civil(y, r->m, 1);
	int wd = (int)(((first + 4) % 7 + 7) % 7); /* 1970-01-01 was a Thursday; 0 = Sunday */
	int64_t day = first + (r->d - wd + 7) % 7 + (int64_t)(r->w - 1) * 7;
	while (day >= first + month_days(y, r->m))
		day -= 7; /* week 5: the last one */
	return day;
}

/* ---- the POSIX TZ string of the footer ---- */

static bool p_name(const char **s)
{
	const char *p = *s;
	size_t n = 0;
	if (*p == '<') {
		for (p++; *p && *p != '>'; p++, n++)
			if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '+' ||
			      *p == '-'))
				return false;
		if (*p != '>')
			return false;
		p++;
	} else {
		for (; (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'); p++)
			n++;
	}
	*s = p;
	return n >= 3;
}

/* [+-]hh[:mm[:ss]] with hh <= max_h: seconds */
static bool p_hms(const char **s, int max_h, int32_t *out)
{
	const char *p = *s;
	int sign = 1;
	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	int v[3] = { 0, 0, 0 };
	for (int k = 0; k < 3; k++) {
		if (k && *p != ':')
			break;
		if (k)
			p++;
		if (*p < '0' || *p > '9')
			return false;
		int x = 0, digits = 0;
		for (; *p >= '0' && *p <= '9' && digits < 3; p++, digits++)
			x = x * 10 + (*p - '0');
		if ((k == 0 && x > max_h) || (k > 0 && (x > 59 || digits > 2)))
			return false;
		v[k] = x;
	}
	*out = sign * (v[0] * 3600 + v[1] * 60 + v[2]);
	*s = p;
	return true;
}

static bool p_int(const char **s, int lo, int hi, int *out)
{
	const char *p = *s;
	int x = 0, digits = 0;
	for (; *p >= '0' && *p <= '9' && digits < 4; p++, digits++)
		x = x * 10 + (*p - '0');
	if (!digits || x < lo || x > hi)
		return false;
	*out = x;
	*s = p;
	return true;
}

static bool p_date(const char **s, struct rule_date *r)
{
	const char *p = *s;
	memset(r, 0, sizeof *r);
	if (*p == 'J') {
		p++;
		r->kind = 'J';
		if (!p_int(&p, 1, 365, &r->n))
			return false;
	} else if (*p == 'M') {
		p++;
		r->kind = 'M';
		if (!p_int(&p, 1, 12, &r->m) || *p++ != '.' || !p_int(&p, 1, 5, &r->w) || *p++ != '.' ||
		    !p_int(&p, 0, 6, &r->d))
			return false;
	} else {
		r->kind = 'D';
		if (!p_int(&p, 0, 365, &r->n))
			return false;
	}
	r->time = 7200;
	if (*p == '/') {
		p++;
		if (!p_hms(&p, 167, &r->time))
			return false;
	}
	*s = p;
	return true;
}

/* "" (no rule), "<-03>3", "EST5EDT,M3.2.0,M11.1.0", ... */
static bool parse_rule(struct wamd_tz *tz, const char *s)
{
	if (!*s)
		return true;
	int32_t o;
	if (!p_name(&s) || !p_hms(&s, 24, &o))
		return false;
	tz->has_rule = true;
	tz->std_off = -o; /* POSIX counts west of UTC */
	if (!*s)
		return true;
	if (!p_name(&s))
		return false;
	tz->dst_off = tz->std_off + 3600;
	if (*s != ',') {
		if (!p_hms(&s, 24, &o))
			return false;
		tz->dst_off = -o;
	}
	if (*s++ != ',' || !p_date(&s, &tz->start) || *s++ != ',' || !p_date(&s, &tz->end) || *s)
		return false; /* zic always writes the dates with a DST name */
	tz->rule_dst = true;
	return true;
}

/* the rule's changes in years y-1 .. y+2: at[k] (ms) and the offset from then */
static size_t rule_changes(const struct wamd_tz *tz, int64_t y, int64_t at[8], int32_t off[8])
{
	size_t n = 0;
	for (int64_t yy = y - 1; yy <= y + 2; yy++) {
		at[n] = (rule_day(&tz->start, yy) * 86400 + tz->start.time - tz->std_off) * 1000;
		off[n++] = tz->dst_off;
		at[n] = (rule_day(&tz->end, yy) * 86400 + tz->end.time - tz->dst_off) * 1000;
		off[n++] = tz->std_off;
	}
	/* in time order (southern zones end DST before they start it) */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && at[j] < at[j - 1]; j--) {
			int64_t a = at[j];
			int32_t b = off[j];
			at[j] = at[j - 1];
			off[j] = off[j - 1];
			at[j - 1] = a;
			off[j - 1] = b;
		}
	return n;
}

static int64_t year_at(int64_t t)
{
	return year_of_days(floor_div(t, DAY_MS));
}

/* ---- the file ---- */

struct hdr {
	uint32_t isut, isstd, leap, time, type, chars;
};

static size_t block_len(const struct hdr *h, size_t tsz)
{
	return (size_t)h->time * (tsz + 1) + (size_t)h->type * 6 + h->chars + (size_t)h->leap * (tsz + 4) + h->isstd +
	       h->isut;
}

static bool read_hdr(const uint8_t *p, size_t n, struct hdr *h, char *version)
{
	if (n < 44 || memcmp(p, "TZif", 4) != 0)
		return false;
	*version = (char)p[4];
	h->isut = be32(p + 20);
	h->isstd = be32(p + 24);
	h->leap = be32(p + 28);
	h->time = be32(p + 32);
	h->type = be32(p + 36);
	h->chars = be32(p + 40);
	/* counts of a real file are small; these bounds keep every product in range */
	if (h->type == 0 || h->type > 256 || h->time > 1000000 || h->leap > 100000 || h->chars > 100000 ||
	    (h->isut && h->isut != h->type) || (h->isstd && h->isstd != h->type))
		return false;
	return true;
}

struct wamd_tz *wamd_tz_parse(const uint8_t *p, size_t n)
{
	struct hdr h;
	char version;
	if (!read_hdr(p, n, &h, &version))
		return NULL;
	size_t tsz = 4, off = 44;
	size_t len = block_len(&h, 4);
	if (len > n - off)
		return NULL;
	if (version != 0) { /* the 64-bit part follows the 32-bit one */
		off += len;
		char v2;
		if (!read_hdr(p + off, n - off, &h, &v2))
			return NULL;
		off += 44;
		tsz = 8;
		len = block_len(&h, 8);
		if (len > n - off)
			return NULL;
	}
	struct wamd_tz *tz = calloc(1, sizeof *tz);
	if (!tz)
		return NULL;
	tz->n = h.time;
	tz->at = calloc(h.time ? h.time : 1, sizeof *tz->at);
	tz->off = calloc(h.time ? h.time : 1, sizeof *tz->off);
	int32_t *types = calloc(h.type, sizeof *types);
	const uint8_t *b = p + off;
	bool ok = tz->at && tz->off && types;
	const uint8_t *ti = b + (size_t)h.time * tsz, *tt = ti + h.time;
	for (uint32_t i = 0; ok && i < h.type; i++) {
		int32_t u = (int32_t)be32(tt + 6 * i);
		ok = u > -93600 && u < 93600 && tt[6 * i + 4] <= 1 && tt[6 * i + 5] < h.chars;
		types[i] = u;
	}
	int64_t prev = INT64_MIN;
	for (uint32_t i = 0; ok && i < h.time; i++) {
		int64_t s = tsz == 8 ? be64(b + 8 * i) : (int64_t)(int32_t)be32(b + 4 * i);
		ok = s > prev && ti[i] < h.type;
		prev = s;
		if (ok) {
			tz->at[i] = clamp_s(s) * 1000;
			tz->off[i] = types[ti[i]];
		}
	}
	if (ok)
		tz->off0 = types[0];
	free(types);
	if (ok && tsz == 8) { /* the footer: "\n" TZ-string "\n" */
		const uint8_t *f = b + len, *e = p + n;
		const uint8_t *nl = f < e && *f == '\n' ? memchr(f + 1, '\n', (size_t)(e - f - 1)) : NULL;
		ok = nl && nl - f - 1 < 128;
		if (ok) {
			char rule[128];
			memcpy(rule, f + 1, (size_t)(nl - f - 1));
			rule[nl - f - 1] = '\0';
			ok = strlen(rule) == (size_t)(nl - f - 1) && parse_rule(tz, rule);
		}
	}
	if (!ok) {
		wamd_tz_free(tz);
		return NULL;
	}
	return tz;
}

void wamd_tz_free(struct wamd_tz *tz)
{
	if (!tz)
		return;
	free(tz->at);
	free(tz->off);
	free(tz);
}

bool wamd_tz_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > WAMD_TZ_NAME_MAX || s[0] == '/' || s[n - 1] == '/' || strstr(s, "..") || strstr(s, "//") ||
	    strstr(s, "/."))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '_' || s[i] == '-' || s[i] == '+' || s[i] == '/' || s[i] == '.'))
			return false;
	return s[0] != '.';
}

struct wamd_tz *wamd_tz_load(const char *name)
{
	if (!wamd_tz_name_ok(name))
		return NULL;
	const char *dir = getenv("TZDIR");
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	uint8_t *buf = malloc(WAMD_TZ_FILE_MAX);
	size_t n = buf ? fread(buf, 1, WAMD_TZ_FILE_MAX, f) : 0;
	bool whole = buf && feof(f) && !ferror(f);
	fclose(f);
	struct wamd_tz *tz = whole ? wamd_tz_parse(buf, n) : NULL;
	free(buf);
	return tz;
}

/* ---- queries ---- */

/* index of the last transition at or before t, -1 when none */
static ptrdiff_t last_at(const struct wamd_tz *tz, int64_t t)
{
	size_t lo = 0, hi = tz->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (tz->at[mid] <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (ptrdiff_t)lo - 1;
}

static bool by_rule(const struct wamd_tz *tz, int64_t t)
{
	return tz->has_rule && (tz->n == 0 || t >= tz->at[tz->n - 1]);
}

int32_t wamd_tz_offset(const struct wamd_tz *tz, int64_t t)
{
	if (!tz)
		return 0;
	if (t < -TIME_CLAMP)
		t = -TIME_CLAMP;
	if (t > TIME_CLAMP)
		t = TIME_CLAMP;
	if (by_rule(tz, t)) {
		if (!tz->rule_dst)
			return tz->std_off;
		int64_t at[8];
		int32_t off[8];
		size_t n = rule_changes(tz, year_at(t), at, off);
		int32_t o = off[0] == tz->dst_off ? tz->std_off : tz->dst_off; /* before the first of them */
		for (size_t i = 0; i < n && at[i] <= t; i++)
			o = off[i];
		return o;
	}
	ptrdiff_t i = last_at(tz, t);
	return i < 0 ? tz->off0 : tz->off[i];
}

int64_t wamd_tz_next_change(const struct wamd_tz *tz, int64_t t)
{
	if (!tz || t >= TIME_CLAMP)
		return INT64_MAX;
	if (t < -TIME_CLAMP)
		t = -TIME_CLAMP;
	if (!by_rule(tz, t)) {
		ptrdiff_t i = last_at(tz, t);
		if ((size_t)(i + 1) < tz->n)
			return tz->at[i + 1];
		if (!tz->has_rule)
			return INT64_MAX;
	}
	if (!tz->rule_dst)
		return INT64_MAX;
	int64_t at[8];
	int32_t off[8];
	size_t n = rule_changes(tz, year_at(t), at, off);
	for (size_t i = 0; i < n; i++)
		if (at[i] > t)
			return at[i];
	return INT64_MAX;
}

int32_t wamd_tz_civil_day(int y, int m, int d)
{
	if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1 || d > month_days(y, m))
		return INT32_MIN;
	return (int32_t)days_from_civil(y, m, d);
}

void wamd_tz_civil_date(int32_t day, int *y, int *m, int *d)
{
	int64_t yy;
	civil_from_days(day, &yy, m, d);
	*y = (int)yy;
}

static bool hours_holiday(const struct wamd_hours *h, int64_t day)
{
	size_t lo = 0, hi = h->n_holidays < WAMD_HOURS_HOLIDAYS ? h->n_holidays : WAMD_HOURS_HOLIDAYS;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (h->holidays[mid] == day)
			return true;
		if (h->holidays[mid] < day)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static bool range_ok(const struct wamd_hours_range *r)
{
	return (r->days & 0xFE) && r->from != r->to && r->from < 1440 && r->to <= 1440;
}

static bool on_day(uint16_t days, int64_t d)
{
	return days & (1u << (((d % 7 + 7 + 3) % 7) + 1)); /* 1 Monday .. 7 Sunday; day 0 a Thursday */
}

/* the earliest time >= t within local day d's open pieces (offset off ms),
 * INT64_MAX when none ends after t */
static int64_t day_first(const struct wamd_hours *h, size_t n, int64_t d, int64_t off, int64_t t)
{
	int64_t best = INT64_MAX;
	for (size_t i = 0; i < n; i++) {
		const struct wamd_hours_range *r = &h->r[i];
		if (!range_ok(r))
			continue;
		bool night = r->to < r->from;
		/* [a, b) minutes of day d: the range starting on d, and the
		 * morning part of a night range that started the day before */
		int piece[2][2] = { { r->from, night ? 1440 : r->to }, { 0, r->to } };
		bool has[2] = { on_day(r->days, d), night && on_day(r->days, d - 1) };
		for (int k = 0; k < 2; k++) {
			int64_t ws = d * DAY_MS + piece[k][0] * 60000LL - off, we = d * DAY_MS + piece[k][1] * 60000LL - off;
			if (!has[k] || we <= t)
				continue;
			int64_t c = ws > t ? ws : t;
			if (c < best)
				best = c;
		}
	}
	return best;
}

int64_t wamd_tz_hours_next(const struct wamd_tz *tz, const struct wamd_hours *h, int64_t t)
{
	size_t n = h->n < WAMD_HOURS_RANGES ? h->n : WAMD_HOURS_RANGES;
	if (n == 0)
		return t;
	bool any = false;
	for (size_t i = 0; i < n; i++)
		any = any || range_ok(&h->r[i]);
	if (!any)
		return INT64_MAX;
	if (t < -TIME_CLAMP || t > TIME_CLAMP)
		return t; /* no real send time */
	/* every range's weekday comes back once a week: past n_holidays of
	 * them one is no holiday */
	int64_t span = 8 + 7 * (int64_t)(h->n_holidays < WAMD_HOURS_HOLIDAYS ? h->n_holidays : WAMD_HOURS_HOLIDAYS);
	/* segment by segment of one offset: within one, local time is UTC
	 * plus a constant, so each local day's pieces are UTC intervals */
	for (int seg = 0; seg < 64; seg++) {
		int64_t off = (int64_t)wamd_tz_offset(tz, t) * 1000, end = wamd_tz_next_change(tz, t);
		int64_t day0 = floor_div(t + off, DAY_MS);
		for (int64_t d = day0; d <= day0 + span; d++) {
			if (hours_holiday(h, d))
				continue;
			int64_t c = day_first(h, n, d, off, t);
			if (c == INT64_MAX)
				continue;
			if (c < end)
				return c;
			break; /* past this offset's end: ask again with the next one */
		}
		if (end == INT64_MAX)
			return INT64_MAX;
		t = end;
	}
	return t; /* offsets that change every few hours: asked again then */
}

int64_t wamd_tz_window_next(const struct wamd_tz *tz, uint8_t days, uint16_t from, uint16_t to, int64_t t)
{
	if (!(days & 0xFE) || from >= to || to > 1440)
		return INT64_MAX;
	struct wamd_hours h = { .n = 1, .r = { { days, from, to } } };
	return wamd_tz_hours_next(tz, &h, t);
}
