/* The Range header of the streaming media route (wamd_range.c). */
#ifndef WAMD_RANGE_H
#define WAMD_RANGE_H

#include <stdint.h>

/* "bytes=a-b" | "bytes=a-" | "bytes=-n" against a file of total bytes:
 * 0 and [*off, *off + *len), 1 when there is no usable range (other units,
 * several ranges, junk: the whole file, as RFC 9110 allows), -1 when the
 * range is unsatisfiable (416). */
int wamd_range_parse(const char *h, uint64_t total, uint64_t *off, uint64_t *len);

#endif
