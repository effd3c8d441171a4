/* iq request/response matching (STYLE §1: one file for id -> waiter, as
 * whatsmeow request.go). Every <iq type="get|set"> we send may register a
 * waiter under its id; the matching <iq type="result|error"> from the
 * server completes it, a deadline or the end of the connection fails it.
 * The table itself is sans-IO (tests drive it with explicit times); the
 * wa_iq_* session functions bind it to the connection and a timer. */
#ifndef WA_SESSION_IQ_H
#define WA_SESSION_IQ_H

#include <stddef.h>
#include <stdint.h>

#include "wa/session.h"
#include "binary/node.h"

#define WA_IQ_ID_MAX 48          /* incl. NUL */
#define WA_IQ_MAX_PENDING 4096u  /* waiters per session; more is our bug or a stuck server */

/* Completion: err 0 and resp = the <iq type="result"> node; err WA_EPROTO
 * and resp = the <iq type="error"> node; err WA_ETIMEOUT or WA_ECLOSED and
 * resp NULL. resp is borrowed for the call. Runs exactly once. */
typedef void (*wa_iq_fn)(wa_session *s, int err, const wa_node *resp, void *user);

typedef struct wa_iq_pending {
	char id[WA_IQ_ID_MAX];
	int64_t deadline_ms;
	wa_iq_fn fn;
	void *user;
	struct wa_iq_pending *next;
} wa_iq_pending;

typedef struct wa_iq_table {
	wa_iq_pending *head;
	size_t n;
} wa_iq_table;

void wa_iq_table_init(wa_iq_table *t);
/* Registers a waiter. WA_EEXIST (id in use), WA_ETOOBIG (id too long or
 * WA_IQ_MAX_PENDING reached), WA_ENOMEM. */
int wa_iq_table_add(wa_iq_table *t, const char *id, int64_t deadline_ms, wa_iq_fn fn,
	void *user) WA_MUST_CHECK;
/* Removes and returns the waiter for id (caller frees with free()), or NULL. */
wa_iq_pending *wa_iq_table_take(wa_iq_table *t, const char *id);
/* Removes and returns one waiter whose deadline is <= now, or NULL. */
wa_iq_pending *wa_iq_table_take_expired(wa_iq_table *t, int64_t now_ms);
/* Removes and returns any waiter (to fail them all), or NULL when empty. */
wa_iq_pending *wa_iq_table_take_any(wa_iq_table *t);
/* Earliest deadline, or INT64_MAX when empty. */
int64_t wa_iq_table_next_deadline(const wa_iq_table *t);

/* ---- bound to a session (need a running connection) ---- */

/* Sends iq (borrowed; an "id" attribute is added when absent) and calls fn
 * on the answer or after timeout_ms (0 = WA_SESSION_IQ_TIMEOUT_MS). fn may
 * be NULL (fire and forget). On error nothing was registered and fn is not
 * called. Errors: WA_ESTATE (no connection), WA_EINVAL (iq without type
 * get/set), table errors, send errors. */
int wa_iq_send(wa_session *s, wa_node *iq, uint32_t timeout_ms, wa_iq_fn fn,
	void *user) WA_MUST_CHECK;
/* For an incoming <iq type="result|error">: completes its waiter. Returns
 * 1 when a waiter took it, 0 when none was waiting. */
int wa_iq_handle_response(wa_session *s, const wa_node *iq);
/* Fails every waiter with err (connection ended / session freed). */
void wa_iq_fail_all(wa_session *s, int err);
/* Timer callback: fails expired waiters, re-arms for the next deadline. */
void wa_iq_on_timer(wa_session *s);

#endif
