/* Start-up of the stored instances on the event loop, a slice at a time.
 *
 * Creating a session reads its credentials and Signal identity from the
 * store; with thousands of instances doing them all before the loop runs
 * kept the API silent for minutes. Every instance is marked pending at
 * once (it reports "connecting": it will connect) and slices of at most
 * BOOT_SLICE_NS start them in list order between the loop's other work.
 * A request naming a pending instance starts it first (wamd_boot_now), so
 * the API never sees a stored instance without its session. The connects
 * themselves are spread and gated as before (wa_session_start_spread and
 * the handshake gate). */
#include <inttypes.h>

#include "wamd.h"

/* CPU per slice, and the pause after it: an answer written in 16 KB chunks
 * (a long instance list) needs a loop iteration per chunk; back-to-back
 * slices made it wait a slice per chunk (seconds for 4,000 instances), the
 * pause lets many chunks out between two slices */
#define BOOT_SLICE_NS (2 * 1000 * 1000)
#define BOOT_PAUSE_US 1000

static struct {
	struct wamd *d;
	lws_sorted_usec_list_t sul;
	uint32_t spread_ms;
	size_t n;
	int64_t t0_ns;
} B;

static void start_one(struct wamd_tenant *t)
{
	int rc = wamd_tenant_start_spread(t, B.spread_ms); /* clears boot_pending */
	if (rc != 0)
		LOGW("instance %s: session start failed: %s", t->name, wa_errname(rc));
	wamd_webhook_kick(t);
}

static void on_slice(lws_sorted_usec_list_t *sul)
{
	(void)sul;
	struct wamd *d = B.d;
	int64_t t0 = wamd_mono_ns();
	while (d->boot_next && wamd_mono_ns() - t0 < BOOT_SLICE_NS) {
		struct wamd_tenant *t = d->boot_next;
		d->boot_next = t->next;
		if (t->boot_pending)
			start_one(t);
	}
	if (d->boot_next) {
		lws_sul_schedule(d->ctx, 0, &B.sul, on_slice, BOOT_PAUSE_US);
		return;
	}
	LOGI("wamd %s started: %zu instance(s) in %.2f s, first connects spread over %" PRIu32
	     " ms, max %ld handshakes", wamd_version(), B.n, (double)(wamd_mono_ns() - B.t0_ns) / 1e9,
	     B.spread_ms, d->cfg.max_handshakes);
}

void wamd_boot_start(struct wamd *d)
{
	/* no storm at restart: first connects spread at random over a window
	 * growing with the instance count, and at most max_handshakes
	 * sessions between connect and ready at once */
	size_t n = 0;
	for (struct wamd_tenant *t = d->tenants; t; t = t->next) {
		t->boot_pending = true;
		n++;
	}
	uint64_t spread = (uint64_t)n * (uint64_t)d->cfg.startup_spread_per_instance_ms;
	if (spread > (uint64_t)d->cfg.startup_spread_max_ms)
		spread = (uint64_t)d->cfg.startup_spread_max_ms;
	B.d = d;
	B.spread_ms = (uint32_t)spread;
	B.n = n;
	B.t0_ns = wamd_mono_ns();
	d->boot_next = d->tenants;
	on_slice(&B.sul);
}

void wamd_boot_now(struct wamd_tenant *t)
{
	if (t->boot_pending && B.d)
		start_one(t);
}

void wamd_boot_stop(struct wamd *d)
{
	if (B.d == d)
		lws_sul_cancel(&B.sul);
	for (struct wamd_tenant *t = d->tenants; t; t = t->next)
		t->boot_pending = false;
	d->boot_next = NULL;
	B.d = NULL;
}
