/* Fuzz target over the TZif reader (daemon/wamd_tz.c): any bytes are
 * refused or read, and a zone that was read answers offsets, next changes
 * and business hours (one window; nights, split days and holidays) without a fault: offsets within a day of UTC,
 * a change always later than the time asked about, a window never earlier. */
#include <stdint.h>
#include <stdlib.h>

#include "wamd_tz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > WAMD_TZ_FILE_MAX)
		return 0;
	struct wamd_tz *tz = wamd_tz_parse(data, size);
	if (!tz)
		return 0;
	static const int64_t at[] = { INT64_MIN, -4102444800000LL, -1, 0, 1773000000000LL, 1793000000000LL,
				      4102444800000LL, 253402300800000LL, INT64_MAX };
	for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
		int32_t off = wamd_tz_offset(tz, at[i]);
		if (off <= -93600 || off >= 93600)
			abort();
		int64_t c = wamd_tz_next_change(tz, at[i]);
		if (c != INT64_MAX && c <= at[i])
			abort();
		int64_t w = wamd_tz_window_next(tz, 0x3E, 540, 1080, at[i]);
		if (w < at[i])
			abort();
		/* nights into the next day, a split Saturday, two holidays */
		static const struct wamd_hours h = { .n = 3, .n_holidays = 2,
			.r = { { 0x3E, 1320, 360 }, { 0x40, 600, 720 }, { 0x40, 840, 960 } }, .holidays = { 20460, 20524 } };
		w = wamd_tz_hours_next(tz, &h, at[i]);
		if (w < at[i])
			abort();
	}
	wamd_tz_free(tz);
	return 0;
}
