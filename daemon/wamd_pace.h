/* Send pacing (wamd_pace.c): per-instance queues of the sends the limits
 * of wamd_pace_limits.h hold back, released by one scheduler across all
 * instances. A send no limit holds back goes straight through. */
#ifndef WAMD_PACE_H
#define WAMD_PACE_H

#include "wamd.h"

/* After the instances are loaded: their queues and recent sends. Sets
 * d->pace_tenant_gone (a tenant's queue freed) and keeps d->pace_stats. */
int wamd_pace_init(struct wamd *d);
void wamd_pace_free(struct wamd *d);
/* After d->cfg's pacing limits changed (SIGHUP): the daemon-wide and
 * group limits apply from now on, their windows rebuilt from the store.
 * WA_EINVAL with err when pace_groups does not parse. */
int wamd_pace_reload(struct wamd *d, char *err, size_t errlen);
void wamd_pace_tenant_free(struct wamd_tenant *t);
/* Writes the straight sends' rows not written yet (they are written in
 * batches): before an instance is handed to another cluster node. */
void wamd_pace_flush(void);
/* A tenant loaded after start (cluster: taken from another node): its held sends are scheduled. */
void wamd_pace_tenant_loaded(struct wamd_tenant *t);
/* The pacing clock: wall clock, or the test clock (see docs/wamd.md). */
int64_t wamd_pace_now(struct wamd *d);
/* Before a send to jid: true when it may leave now (then call
 * wamd_pace_sent_now after it was queued in libwa), false when it must
 * be queued (wamd_pace_enqueue): a limit holds it, or send_at (ms since
 * the epoch, 0: none) is still to come, pacing on or off. *first: jid was
 * never talked to. */
bool wamd_pace_admit(struct wamd_tenant *t, const char *jid, int64_t send_at, bool *first);
void wamd_pace_sent_now(struct wamd_tenant *t, const char *jid, bool first);
/* Holds a send back; payload: what the route's send function needs, by
 * "kind": "text" (text, mentions?, preview?, delay?), "location"
 * (latitude, longitude, name, address), "contacts" (listName, names,
 * vcards), "poll" (name, options, selectable, secret: base64), "reaction"
 * (key {remoteJid, fromMe, id, participant?}, text), "media"
 * (wamd_pace_media.h); each with "quoted"? (wamd_pace_quoted). id_out:
 * the message id it will leave with. */
/* Cluster: after other nodes' sends were counted (pace_shared_remote),
 * the ready times again, once for the batch. */
void wamd_pace_shared_settle(struct wamd *d);
void wamd_pace_quoted(json_t *payload, const struct wamd_send_extra *x);
/* A "text" payload sent now as the paced sender sends it (its mentions,
 * quote and preview into x, whose id and in_tx the caller sets). */
int wamd_pace_send_text(struct wamd_tenant *t, const char *jid, json_t *p, struct wamd_send_extra *x, char **out);
/* A held send leaves no earlier than send_at (scheduled: it joins its lane
 * then, holding nothing up before). payload's "id", when given (a held
 * file is named after it: wamd_pace_new_id), is the one it leaves with. */
int wamd_pace_enqueue(struct wamd_tenant *t, const char *jid, bool first, int64_t send_at, json_t *payload,
		      char id_out[32]);
void wamd_pace_new_id(char out[32]);
/* Cancels the held send with message id: its row and held file go, a
 * PACING_CANCELLED event says so; *out the answer. WA_ENOTFOUND when no
 * held send has that id (unknown, or it has left). */
int wamd_pace_cancel(struct wamd_tenant *t, const char *id, json_t **out);
/* A rate-limit signal for this instance (code: WhatsApp's error code). */
void wamd_pace_signal(struct wamd_tenant *t, int code);
/* The bulk jobs' side (wamd_pace_bulk.c registers it before
 * wamd_pace_init, so that pacing never calls up into it): an instance's
 * jobs loaded, a job's message left the queue (sent: handed to libwa),
 * an instance gone, the daemon stopping. */
struct wamd_pace_job_hooks {
	void (*load)(struct wamd_tenant *t);
	void (*left)(struct wamd_tenant *t, const char *job, const char *id, bool sent);
	void (*tenant_free)(struct wamd_tenant *t);
	void (*free_all)(void);
};
void wamd_pace_set_job_hooks(const struct wamd_pace_job_hooks *h);
/* Settings and state; the queue with positions and expected send times. */
json_t *wamd_pace_info(struct wamd_tenant *t);
int wamd_pace_configure(struct wamd_tenant *t, json_t *in, char *err, size_t errlen);
json_t *wamd_pace_queue(struct wamd_tenant *t, size_t limit);
/* Test clock: moves it to now_ms, releasing what falls due on the way at
 * its own time. WA_ESTATE when the test clock is off. */
int wamd_pace_clock_set(struct wamd *d, int64_t now_ms, json_t **released);

#endif
