/* Randomness and time seams: all libwa code gets random bytes and the clock
 * from here, so tests can make them deterministic. Not thread-safe to swap
 * while in use; swap once at test start. */
#ifndef WA_UTIL_SEAMS_H
#define WA_UTIL_SEAMS_H

#include <stddef.h>
#include <stdint.h>

/* Fills buf with n cryptographically secure random bytes. */
void wa_rand_bytes(void *buf, size_t n);
/* Wall-clock time in milliseconds since the Unix epoch. */
int64_t wa_now_ms(void);
/* Monotonic milliseconds (for timeouts). */
int64_t wa_mono_ms(void);

typedef void (*wa_rand_fn)(void *buf, size_t n, void *user);
typedef int64_t (*wa_clock_fn)(void *user);
/* Test hooks; NULL restores the real source. */
void wa_rand_override(wa_rand_fn fn, void *user);
void wa_clock_override(wa_clock_fn fn, void *user);

#endif
