/* The TZif reader and local-time windows (daemon/wamd_tz.c) against the
 * system's zoneinfo: offsets and their next change equal to glibc's
 * (localtime_r with TZ set, here in the test only) at random times from
 * 1920 to 2300 (the footer's rule past the table) in zones north and south
 * of the equator, with half-hour and 45-minute offsets; windows across
 * the DST changes of New York and Sydney (a Friday evening to Monday
 * morning over the change, a window starting in the skipped hour, one in
 * the repeated hour), Sao Paulo without DST; every truncation of a file
 * refused or read without a fault; names that could leave the folder
 * refused; night windows, split days and holidays. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../unit/check.h"
#include "wamd_tz.h"

#define H 3600000LL
#define DAY (24 * H)

static int32_t glibc_off(int64_t t_ms)
{
	time_t s = (time_t)(t_ms >= 0 ? t_ms / 1000 : -((-t_ms + 999) / 1000));
	struct tm tm;
	localtime_r(&s, &tm);
	return (int32_t)tm.tm_gmtoff;
}

static uint64_t rnd_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static void test_against_glibc(void)
{
	static const char *zones[] = { "America/New_York", "America/Sao_Paulo", "Europe/Berlin", "Australia/Sydney",
				       "Asia/Kolkata", "Pacific/Chatham", "Australia/Lord_Howe", "America/Santiago",
				       "UTC" };
	const int64_t lo = -1577923200000LL; /* 1920-01-01 */
	const int64_t hi = 10413792000000LL; /* 2300-01-01 */
	for (size_t z = 0; z < sizeof zones / sizeof zones[0]; z++) {
		struct wamd_tz *tz = wamd_tz_load(zones[z]);
		CHECK(tz != NULL);
		if (!tz) {
			fprintf(stderr, "zone %s not loaded\n", zones[z]);
			continue;
		}
		setenv("TZ", zones[z], 1);
		tzset();
		int bad = 0;
		for (int i = 0; i < 20000 && bad < 5; i++) {
			int64_t t = lo + (int64_t)(rnd() % (uint64_t)(hi - lo));
			t -= t % 1000;
			int32_t want = glibc_off(t), got = wamd_tz_offset(tz, t);
			int64_t c = wamd_tz_next_change(tz, t);
			/* the offset holds until the change (glibc's at the last second before it) */
			bool held = c == INT64_MAX || glibc_off(c - 1000) == want;
			bool changes = c == INT64_MAX || c > t;
			if (want != got || !held || !changes) {
				fprintf(stderr, "%s at %lld: offset %d (glibc %d), next change %lld\n", zones[z], (long long)t,
					got, want, (long long)c);
				bad++;
			}
		}
		CHECK_EQ_INT(bad, 0);
		wamd_tz_free(tz);
	}
	unsetenv("TZ");
	tzset();
}

#define MON_FRI 0x3E /* bits 1..5 */
#define EVERY_DAY 0xFE

static int64_t utc(int y, int mo, int d, int h, int mi)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi };
	return (int64_t)timegm(&tm) * 1000;
}

static void test_windows(void)
{
	struct wamd_tz *ny = wamd_tz_load("America/New_York");
	struct wamd_tz *sp = wamd_tz_load("America/Sao_Paulo");
	struct wamd_tz *syd = wamd_tz_load("Australia/Sydney");
	CHECK(ny && sp && syd);
	if (!ny || !sp || !syd)
		goto out;
	/* DST starts Sunday 2026-03-08 02:00 EST: Friday 18:30 EST -> Monday 09:00 EDT (13:00 UTC) */
	CHECK_EQ_INT(wamd_tz_window_next(ny, MON_FRI, 540, 1080, utc(2026, 3, 6, 23, 30)), utc(2026, 3, 9, 13, 0));
	/* it ends Sunday 2026-11-01 02:00 EDT: Friday 18:30 EDT -> Monday 09:00 EST (14:00 UTC) */
	CHECK_EQ_INT(wamd_tz_window_next(ny, MON_FRI, 540, 1080, utc(2026, 10, 30, 22, 30)), utc(2026, 11, 2, 14, 0));
	/* inside: now */
	CHECK_EQ_INT(wamd_tz_window_next(ny, MON_FRI, 540, 1080, utc(2026, 3, 10, 15, 0)), utc(2026, 3, 10, 15, 0));
	/* the last minute of the window, and just after it: the next day */
	CHECK_EQ_INT(wamd_tz_window_next(ny, MON_FRI, 540, 1080, utc(2026, 3, 10, 21, 59)), utc(2026, 3, 10, 21, 59));
	CHECK_EQ_INT(wamd_tz_window_next(ny, MON_FRI, 540, 1080, utc(2026, 3, 10, 22, 0)), utc(2026, 3, 11, 13, 0));
	/* 02:30-03:30 on the day 02:00-03:00 is skipped: opens when the clocks jump to 03:00 EDT */
	CHECK_EQ_INT(wamd_tz_window_next(ny, EVERY_DAY, 150, 210, utc(2026, 3, 8, 5, 0)), utc(2026, 3, 8, 7, 0));
	/* 01:30-02:00 on the day 01:00-02:00 comes twice: the first one (EDT), then the second (EST) */
	CHECK_EQ_INT(wamd_tz_window_next(ny, EVERY_DAY, 90, 120, utc(2026, 11, 1, 4, 0)), utc(2026, 11, 1, 5, 30));
	CHECK_EQ_INT(wamd_tz_window_next(ny, EVERY_DAY, 90, 120, utc(2026, 11, 1, 6, 0)), utc(2026, 11, 1, 6, 30));
	/* Sao Paulo (UTC-3, no DST since 2019): Saturday -> Monday 09:00 = 12:00 UTC */
	CHECK_EQ_INT(wamd_tz_window_next(sp, MON_FRI, 540, 1080, utc(2026, 1, 10, 13, 0)), utc(2026, 1, 12, 12, 0));
	/* Sunday only, to 24:00 */
	CHECK_EQ_INT(wamd_tz_window_next(sp, 1u << 7, 0, 1440, utc(2026, 1, 12, 12, 0)), utc(2026, 1, 18, 3, 0));
	/* Sydney's DST ends Sunday 2026-04-05 03:00 AEDT: Friday 18:00 AEDT -> Monday 09:00 AEST (Sunday 23:00 UTC) */
	CHECK_EQ_INT(wamd_tz_window_next(syd, MON_FRI, 540, 1080, utc(2026, 4, 3, 7, 0)), utc(2026, 4, 5, 23, 0));
	/* ... and starts Sunday 2026-10-04: Monday 09:00 AEDT is Sunday 22:00 UTC */
	CHECK_EQ_INT(wamd_tz_window_next(syd, MON_FRI, 540, 1080, utc(2026, 10, 2, 8, 0)), utc(2026, 10, 4, 22, 0));
	/* far past the table (the footer's rule): Monday 2100-03-15 09:00 EDT */
	CHECK_EQ_INT(wamd_tz_window_next(ny, MON_FRI, 540, 1080, utc(2100, 3, 12, 23, 30)), utc(2100, 3, 15, 13, 0));
	/* no zone: UTC; bad windows never open */
	CHECK_EQ_INT(wamd_tz_window_next(NULL, MON_FRI, 540, 1080, utc(2026, 1, 10, 13, 0)), utc(2026, 1, 12, 9, 0));
	CHECK_EQ_INT(wamd_tz_window_next(ny, 0, 540, 1080, 0), INT64_MAX);
	CHECK_EQ_INT(wamd_tz_window_next(ny, MON_FRI, 600, 540, 0), INT64_MAX);
	CHECK_EQ_INT(wamd_tz_window_next(ny, MON_FRI, 0, 1441, 0), INT64_MAX);
out:
	wamd_tz_free(ny);
	wamd_tz_free(sp);
	wamd_tz_free(syd);
}

static int64_t hours(const struct wamd_tz *tz, const char *ranges, const char *hol, int64_t t)
{
	/* ranges: "days from to;..." (days as digits 1..7, minutes); hol: "y-m-d,..." */
	struct wamd_hours h;
	memset(&h, 0, sizeof h);
	for (const char *p = ranges; p && *p && h.n < WAMD_HOURS_RANGES;) {
		char days[8];
		int from, to, used;
		if (sscanf(p, "%7s %d %d%n", days, &from, &to, &used) != 3)
			break;
		for (const char *d = days; *d; d++)
			h.r[h.n].days |= (uint16_t)(1u << (*d - '0'));
		h.r[h.n].from = (uint16_t)from;
		h.r[h.n++].to = (uint16_t)to;
		p += used;
		p += *p == ';';
	}
	for (const char *p = hol; p && *p && h.n_holidays < WAMD_HOURS_HOLIDAYS;) {
		int y, m, d, used;
		if (sscanf(p, "%d-%d-%d%n", &y, &m, &d, &used) != 3)
			break;
		h.holidays[h.n_holidays++] = wamd_tz_civil_day(y, m, d);
		p += used;
		p += *p == ',';
	}
	return wamd_tz_hours_next(tz, &h, t);
}

/* night windows (to before from: they end the next day), split days and
 * holidays */
static void test_hours(void)
{
	struct wamd_tz *sp = wamd_tz_load("America/Sao_Paulo");
	struct wamd_tz *ny = wamd_tz_load("America/New_York");
	CHECK(sp && ny);
	if (!sp || !ny)
		goto out;
	/* 22:00-06:00 starting Mon-Fri, Sao Paulo (UTC-3); 2026-01-09 a Friday */
	CHECK_EQ_INT(hours(sp, "12345 1320 360", NULL, utc(2026, 1, 10, 2, 0)), utc(2026, 1, 10, 2, 0));
	CHECK_EQ_INT(hours(sp, "12345 1320 360", NULL, utc(2026, 1, 10, 8, 59)), utc(2026, 1, 10, 8, 59));
	/* Saturday 06:00: Monday 22:00; Monday's small hours belong to Sunday's night (none) */
	CHECK_EQ_INT(hours(sp, "12345 1320 360", NULL, utc(2026, 1, 10, 9, 0)), utc(2026, 1, 13, 1, 0));
	CHECK_EQ_INT(hours(sp, "12345 1320 360", NULL, utc(2026, 1, 12, 6, 0)), utc(2026, 1, 13, 1, 0));
	/* Tuesday 03:00 is Monday's night */
	CHECK_EQ_INT(hours(sp, "12345 1320 360", NULL, utc(2026, 1, 13, 6, 0)), utc(2026, 1, 13, 6, 0));
	/* split: 09-12 and 13-18 on weekdays; the lunch hour waits for 13:00 */
	CHECK_EQ_INT(hours(sp, "12345 540 720;12345 780 1080", NULL, utc(2026, 1, 13, 15, 30)), utc(2026, 1, 13, 16, 0));
	CHECK_EQ_INT(hours(sp, "12345 540 720;12345 780 1080", NULL, utc(2026, 1, 13, 14, 59)), utc(2026, 1, 13, 14, 59));
	CHECK_EQ_INT(hours(sp, "12345 780 1080;12345 540 720", NULL, utc(2026, 1, 13, 21, 0)), utc(2026, 1, 14, 12, 0));
	/* overlapping windows: their union (09-12 and 10-18: open at 12:30, closed at 18:00) */
	CHECK_EQ_INT(hours(sp, "12345 540 720;12345 600 1080", NULL, utc(2026, 1, 13, 15, 30)), utc(2026, 1, 13, 15, 30));
	CHECK_EQ_INT(hours(sp, "12345 540 720;12345 600 1080", NULL, utc(2026, 1, 13, 21, 0)), utc(2026, 1, 14, 12, 0));
	/* a holiday Monday: Saturday noon waits for Tuesday 09:00 */
	CHECK_EQ_INT(hours(sp, "12345 540 1080", "2026-01-12", utc(2026, 1, 10, 15, 0)), utc(2026, 1, 13, 12, 0));
	/* a night window: the holiday is the whole local date, whichever night covers it */
	CHECK_EQ_INT(hours(sp, "12345 1320 360", "2026-01-10", utc(2026, 1, 10, 3, 30)), utc(2026, 1, 13, 1, 0));
	CHECK_EQ_INT(hours(sp, "12345 1320 360", "2026-01-09", utc(2026, 1, 10, 2, 0)), utc(2026, 1, 10, 3, 0));
	/* Mondays only, the next three of them holidays: the fourth */
	CHECK_EQ_INT(hours(sp, "1 540 600", "2026-01-19,2026-01-26,2026-02-02", utc(2026, 1, 13, 12, 0)),
		     utc(2026, 2, 9, 12, 0));
	/* New York's spring change in a Saturday night 22:00-06:00: it closes at 06:00 EDT (10:00 UTC) */
	CHECK_EQ_INT(hours(ny, "6 1320 360", NULL, utc(2026, 3, 8, 3, 0)), utc(2026, 3, 8, 3, 0));
	CHECK_EQ_INT(hours(ny, "6 1320 360", NULL, utc(2026, 3, 8, 9, 59)), utc(2026, 3, 8, 9, 59));
	CHECK_EQ_INT(hours(ny, "6 1320 360", NULL, utc(2026, 3, 8, 10, 0)), utc(2026, 3, 15, 2, 0));
	/* no range: any time; no valid range: never */
	CHECK_EQ_INT(hours(ny, NULL, "2026-01-12", utc(2026, 1, 12, 12, 0)), utc(2026, 1, 12, 12, 0));
	CHECK_EQ_INT(hours(ny, "12345 600 600", NULL, 0), INT64_MAX);
	CHECK_EQ_INT(wamd_tz_civil_day(2026, 2, 29), INT32_MIN);
	CHECK_EQ_INT(wamd_tz_civil_day(1970, 1, 1), 0);
	int y, m, d;
	wamd_tz_civil_date(wamd_tz_civil_day(2024, 2, 29), &y, &m, &d);
	CHECK(y == 2024 && m == 2 && d == 29);
out:
	wamd_tz_free(sp);
	wamd_tz_free(ny);
}

static void test_hostile(void)
{
	const char *bad[] = { "", "/etc/passwd", "../etc/passwd", "America/../../etc/passwd", "America//New_York",
			      "America/New_York/", ".hidden", "America/.x", "a b", "Zone\n",
			      "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CHECK(!wamd_tz_name_ok(bad[i]));
		CHECK(wamd_tz_load(bad[i]) == NULL);
	}
	CHECK(wamd_tz_name_ok("America/Argentina/Buenos_Aires") && wamd_tz_name_ok("Etc/GMT+3"));
	CHECK(wamd_tz_load("Nowhere/Atlantis") == NULL);
	/* every prefix of a real file: refused or read, never a fault */
	FILE *f = fopen("/usr/share/zoneinfo/America/New_York", "rb");
	CHECK(f != NULL);
	if (!f)
		return;
	static uint8_t buf[WAMD_TZ_FILE_MAX];
	size_t n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	size_t ok = 0;
	for (size_t k = 0; k <= n; k++) {
		uint8_t *copy = malloc(k ? k : 1); /* exactly k bytes: ASan sees any read past them */
		memcpy(copy, buf, k);
		struct wamd_tz *tz = wamd_tz_parse(copy, k);
		ok += tz != NULL;
		wamd_tz_free(tz);
		free(copy);
	}
	CHECK_EQ_INT(ok, 1); /* only the whole file */
	/* a flipped byte here and there */
	for (size_t k = 0; k < n; k += 7) {
		uint8_t *copy = malloc(n);
		memcpy(copy, buf, n);
		copy[k] ^= 0xA5;
		struct wamd_tz *tz = wamd_tz_parse(copy, n);
		if (tz)
			(void)wamd_tz_window_next(tz, MON_FRI, 540, 1080, utc(2026, 3, 6, 23, 30));
		wamd_tz_free(tz);
		free(copy);
	}
}

int main(void)
{
	test_against_glibc();
	test_windows();
	test_hours();
	test_hostile();
	return check_exit("wamd_tz");
}
