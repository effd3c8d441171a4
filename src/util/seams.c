/* Real and overridable sources of randomness and time (see seams.h). */
#include "util/seams.h"

#include <sodium.h>
#include <time.h>

static wa_rand_fn rand_fn;
static void *rand_user;
static wa_clock_fn clock_fn;
static void *clock_user;

void wa_rand_bytes(void *buf, size_t n)
{
	if (rand_fn) {
		rand_fn(buf, n, rand_user);
		return;
	}
	randombytes_buf(buf, n);
}

int64_t wa_now_ms(void)
{
	if (clock_fn)
		return clock_fn(clock_user);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t wa_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void wa_rand_override(wa_rand_fn fn, void *user)
{
	rand_fn = fn;
	rand_user = user;
}

void wa_clock_override(wa_clock_fn fn, void *user)
{
	clock_fn = fn;
	clock_user = user;
}
