/* Gives the heap's free pages back once a burst of logins is over.
 *
 * A login allocates far more for a moment (TLS handshake and certificate
 * checks, the Noise handshake, the first stanzas, app-state and pre-key
 * queries) than a connected idle session keeps. With hundreds of logins at
 * once (a restart, a reconnect storm) those short-lived blocks sit between
 * long-lived ones; freed, they are holes glibc keeps as free memory but
 * does not return (only the top of the heap is trimmed on free). After a
 * restart of 1,000 instances that was 2.5-5.5 MB of the heap, 2.5-5.5 KiB
 * of every session's RSS. malloc_trim(0) hands the whole free pages inside
 * such holes back (madvise), keeping the address space as it is. SQLite's
 * page cache, filled by the same burst (every instance's credentials and
 * state read), is let go first: up to its cache_size of
 * pages an idle daemon does not read; the next reads come from the OS
 * page cache, and the cache refills as they do.
 *
 * Trigger: the gate admitted handshakes since the last trim, none is under
 * way or waiting, and none was admitted since the previous check (quiet
 * for a check interval): once per burst, never on an idle daemon. */
#include <malloc.h>

#include "wamd.h"

#define TRIM_CHECK_US (5 * LWS_US_PER_SEC)

static struct {
	struct wamd *d;
	lws_sorted_usec_list_t sul;
	uint64_t trimmed_at; /* gate's admitted count at the last trim */
	uint64_t last_seen;  /* ... at the previous check */
	void (*gate_stats)(struct wamd *d, wa_gate_stats *out);
} T;

bool wamd_trim_due(const wa_gate_stats *st, uint64_t *trimmed_at, uint64_t *last_seen)
{
	bool quiet = st->admitted == *last_seen && st->active == 0 && st->waiting == 0;
	*last_seen = st->admitted;
	if (!quiet || st->admitted == *trimmed_at)
		return false;
	*trimmed_at = st->admitted;
	return true;
}

static void on_check(lws_sorted_usec_list_t *sul)
{
	(void)sul;
	struct wamd *d = T.d;
	wa_gate_stats st;
	T.gate_stats(d, &st);
	if (wamd_trim_due(&st, &T.trimmed_at, &T.last_seen)) {
		/* SQLite's page cache first: what it frees goes into the holes */
		wa_store_release_memory(d->store);
#ifdef __GLIBC__
		(void)malloc_trim(0);
#endif
	}
	lws_sul_schedule(d->ctx, 0, &T.sul, on_check, TRIM_CHECK_US);
}

void wamd_trim_start(struct wamd *d, void (*gate_stats)(struct wamd *d, wa_gate_stats *out))
{
	T.d = d;
	T.gate_stats = gate_stats;
	T.trimmed_at = T.last_seen = 0;
	lws_sul_schedule(d->ctx, 0, &T.sul, on_check, TRIM_CHECK_US);
}

void wamd_trim_stop(struct wamd *d)
{
	if (T.d == d)
		lws_sul_cancel(&T.sul);
	T.d = NULL;
}
