/* The Range header of GET /wamd/media: one range of one unit, parsed
 * strictly; anything else is served whole. */
#include <stdlib.h>
#include <string.h>

#include "wamd_range.h"

int wamd_range_parse(const char *h, uint64_t total, uint64_t *off, uint64_t *len)
{
	if (!h[0])
		return 1;
	if (strncmp(h, "bytes=", 6) != 0 || strchr(h, ','))
		return 1; /* other units and multiple ranges: the whole file (RFC 9110 allows it) */
	const char *p = h + 6, *dash = strchr(p, '-');
	if (!dash)
		return 1;
	char *e;
	if (p == dash) { /* suffix */
		unsigned long long n = strtoull(dash + 1, &e, 10);
		if (e == dash + 1 || *e || n == 0)
			return -1;
		if (n > total)
			n = total;
		*off = total - n;
		*len = n;
		return total ? 0 : -1;
	}
	unsigned long long a = strtoull(p, &e, 10);
	if (e != dash)
		return 1;
	unsigned long long b = total ? total - 1 : 0;
	if (dash[1]) {
		b = strtoull(dash + 1, &e, 10);
		if (*e || b < a)
			return 1;
		if (b >= total)
			b = total - 1;
	}
	if (a >= total)
		return -1;
	*off = a;
	*len = b - a + 1;
	return 0;
}
