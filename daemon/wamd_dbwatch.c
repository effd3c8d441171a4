/* A lost PostgreSQL connection stops wamd (exit status 1) within a second,
 * on one node as in a cluster, for its supervisor to start it again.
 *
 * Why not reconnect in place: a transaction in flight when the connection
 * broke may or may not have committed, and what the sessions hold in
 * memory (ratchet steps, the outbox and the webhook and pacing queues, in
 * cluster mode the leases, which may have moved meanwhile) cannot be
 * squared with the committed state without reloading all of it, which is
 * what a start does (the path restarts and failovers already take). The
 * committed state loses nothing: a message whose commit failed was never
 * acknowledged, so WhatsApp delivers it again. */
#include "wamd.h"

#define WATCH_US (1000 * 1000)

static struct {
	struct wamd *d;
	lws_sorted_usec_list_t sul;
} W;

static void on_watch(lws_sorted_usec_list_t *sul)
{
	(void)sul;
	struct wamd *d = W.d;
	if (!d || d->stop)
		return;
	if (wa_store_lost(d->store)) {
		LOGE("the database connection is lost (%s): stopping every session and exiting; started again (by "
		     "its supervisor), wamd comes back once the database answers",
		     wa_store_errmsg(d->store));
		d->exit_code = 1;
		d->stop = 1;
		return;
	}
	lws_sul_schedule(d->ctx, 0, &W.sul, on_watch, WATCH_US);
}

void wamd_dbwatch_start(struct wamd *d)
{
	W.d = d;
	lws_sul_schedule(d->ctx, 0, &W.sul, on_watch, WATCH_US);
}

void wamd_dbwatch_stop(void)
{
	if (W.d)
		lws_sul_cancel(&W.sul);
	W.d = NULL;
}
