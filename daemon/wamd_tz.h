/* Time zones from the system's IANA zoneinfo files (TZif, RFC 8536),
 * read by our own bounds-checked parser: the event loop never changes the
 * process's TZ (setenv + localtime would be global state shared by every
 * instance). Pure but for wamd_tz_load, which reads one file. */
#ifndef WAMD_TZ_H
#define WAMD_TZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WAMD_TZ_NAME_MAX 63
#define WAMD_TZ_FILE_MAX (256 * 1024)

struct wamd_tz;

/* Parses a TZif file (versions 1 to 4; the 64-bit part when there is one,
 * and its footer's POSIX TZ rule for times after the last transition).
 * NULL when it is malformed or without memory. */
struct wamd_tz *wamd_tz_parse(const uint8_t *p, size_t n);
/* A zone name the zoneinfo folder may hold: "America/Sao_Paulo", "UTC"
 * (letters, digits, '_', '-', '+', '/' between parts; no "..", 1..63). */
bool wamd_tz_name_ok(const char *name);
/* Reads <TZDIR or /usr/share/zoneinfo>/<name>; NULL when the name is not
 * a valid zone or the file is missing or malformed. */
struct wamd_tz *wamd_tz_load(const char *name);
void wamd_tz_free(struct wamd_tz *tz);
/* The offset from UTC at UTC time t (ms since the epoch), in seconds. */
int32_t wamd_tz_offset(const struct wamd_tz *tz, int64_t t);
/* The first offset change after t (ms), INT64_MAX when none comes. */
int64_t wamd_tz_next_change(const struct wamd_tz *tz, int64_t t);

/* Business hours: weekly ranges of local time and dates without any. A
 * range starts on its days (bit 1 Monday .. bit 7 Sunday) at minute
 * `from` and ends at minute `to` of the same day (from < to <= 1440) or,
 * when to < from, of the next day (22:00-06:00). On a holiday (a local
 * date) nothing is open, whichever range would cover it. All integer
 * fields: no padding, so settings compare with memcmp. */
#define WAMD_HOURS_RANGES 8
#define WAMD_HOURS_HOLIDAYS 64
struct wamd_hours_range {
	uint16_t days, from, to;
};
struct wamd_hours {
	uint16_t n, n_holidays; /* n 0: any time */
	struct wamd_hours_range r[WAMD_HOURS_RANGES];
	int32_t holidays[WAMD_HOURS_HOLIDAYS]; /* days since 1970-01-01, ascending, distinct */
};

/* Days since 1970-01-01 of a valid date (year 1..9999), else INT32_MIN. */
int32_t wamd_tz_civil_day(int y, int m, int d);
/* The date of day (since 1970-01-01). */
void wamd_tz_civil_date(int32_t day, int *y, int *m, int *d);
/* The earliest time >= t (ms) inside h, in tz's local time (a DST change
 * moves it with the clocks; a start that falls in a skipped hour opens
 * when the clocks jump). t when h has no range; INT64_MAX when no range
 * is valid. */
int64_t wamd_tz_hours_next(const struct wamd_tz *tz, const struct wamd_hours *h, int64_t t);
/* One range from..to (0 <= from < to <= 1440) on days, without holidays. */
int64_t wamd_tz_window_next(const struct wamd_tz *tz, uint8_t days, uint16_t from, uint16_t to, int64_t t);

#endif
