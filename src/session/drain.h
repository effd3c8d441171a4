/* Group commit of an offline-queue drain (src/session, messaging half).
 *
 * Messages the server marks offline="..." arrive in bursts after a
 * (re)connect. Each one is decrypted and stored in a unit of one store
 * group (store.h, "group commit"); its delivery (and read) receipt waits
 * in a list and goes out only after the group commits, followed by the
 * ACKED status, exactly as the one-commit-per-message path orders them:
 * ratchet state and plaintext durable before the receipt. The group
 * commits when WA_DRAIN_MAX messages wait, when no offline message came
 * for WA_DRAIN_IDLE_MS, when the connection closes, or as soon as anything
 * else writes to the store (the store flushes the group first, so a send's
 * ratchet step is never inside the uncommitted group). A commit failure
 * drops the waiting receipts: the server redelivers those messages.
 * Message events are emitted at decrypt time, as for live messages
 * (at-least-once: a message whose group is lost is emitted again when it
 * is redelivered). */
#ifndef WA_SESSION_DRAIN_H
#define WA_SESSION_DRAIN_H

#include <stdbool.h>
#include <stddef.h>

#include "session/internal.h"

#define WA_DRAIN_MAX 100u      /* messages per group commit */
#define WA_DRAIN_IDLE_MS 20u   /* commit when the burst pauses this long */

typedef struct wa_drain wa_drain;

int wa_drain_new(wa_session *s, wa_drain **out) WA_MUST_CHECK;
/* Commits an open group (wa_drain_close) and frees. NULL ok. */
void wa_drain_free(wa_drain *d);

/* Opens the group if needed and a unit for one message. */
int wa_drain_unit_begin(wa_drain *d) WA_MUST_CHECK;
/* Closes the unit: rc == 0 keeps its writes in the group. Returns rc or
 * the store error. */
int wa_drain_unit_end(wa_drain *d, int rc);
/* Queues what must follow the commit of this message: its receipts (owned
 * now, sent in this order; any may be NULL: delivery, read, hist_sync) and
 * the ACKED status of (chat, id, from_me). */
void wa_drain_defer(wa_drain *d, wa_node *delivery, wa_node *read, wa_node *hist, const char *chat,
	const char *id, bool from_me);
/* After each offline message: commit at WA_DRAIN_MAX, else (re)arm the
 * idle timer. */
void wa_drain_after(wa_drain *d);
/* Commits now and sends what waited (no-op without an open group). */
void wa_drain_flush(wa_drain *d);
/* On connection close: commit now. The receipts are attempted (they fail
 * without a socket) and the rows marked ACKED, as on the one-commit path;
 * the server redelivers and the redelivery is answered from the rows. */
void wa_drain_close(wa_drain *d);

bool wa_drain_active(const wa_drain *d);
/* The session's drain (messaging.c owns it); NULL before init. */
wa_drain *wa_msg_drain(wa_session *s);
size_t wa_drain_waiting(const wa_drain *d); /* receipts waiting for the commit (tests) */

#endif
