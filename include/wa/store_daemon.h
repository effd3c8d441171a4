/* libwa public store API, part 2: the tables the daemon (wamd) owns on top
 * of the session engine's: per-instance metadata (API tokens, webhook and
 * settings), the durable webhook queue and the searchable message records
 * behind Evolution's findMessages / findChats. Everything here is opaque
 * JSON text to the store; the daemon defines its content.
 *
 * Sealed columns (metadata documents, queued payloads, message records) are
 * encrypted when the store has a master key. Same conventions as
 * wa/store.h: 0 or a negative WA_E*, out-params written only on success,
 * event-loop thread only. */
#ifndef WA_STORE_DAEMON_H
#define WA_STORE_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wa/store.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WA_STORE_DOC_MAX (256 * 1024)         /* metadata document */
#define WA_STORE_WH_PAYLOAD_MAX (8 * 1024 * 1024) /* one queued webhook body */
#define WA_STORE_MSG_RECORD_MAX (4 * 1024 * 1024) /* one message record */
#define WA_STORE_QUERY_MAX_ROWS 1000          /* rows one search may return */

/* ---- instance metadata: one JSON document per instance ---- */
/* Replaces the document (len bytes, not necessarily NUL-terminated). */
int wa_store_meta_put(wa_store *st, int64_t instance_id, const char *doc, size_t len) WA_MUST_CHECK;
/* *out: malloc'd NUL-terminated copy (free: wa_store_free(p, len)). WA_ENOTFOUND if none. */
int wa_store_meta_get(wa_store *st, int64_t instance_id, char **out, size_t *len_out) WA_MUST_CHECK;

/* ---- webhook queue: FIFO per (instance, target) ---- */
typedef struct wa_store_wh_row {
	int64_t id;
	int64_t instance_id;
	int target;
	char event[64];
	char *payload;           /* malloc'd, NUL-terminated (free: wa_store_free) */
	size_t payload_len;
	int attempts;
	int64_t next_attempt_ms; /* wall clock */
	int64_t created_ms;
} wa_store_wh_row;

int wa_store_wh_push(wa_store *st, int64_t instance_id, int target, const char *event,
		     const char *payload, size_t len, int64_t *id_out) WA_MUST_CHECK;
/* Oldest pending row of (instance, target). WA_ENOTFOUND when empty. */
int wa_store_wh_head(wa_store *st, int64_t instance_id, int target, wa_store_wh_row *out) WA_MUST_CHECK;
/* Frees row->payload (scrubbed). */
void wa_store_wh_row_clear(wa_store_wh_row *row);
/* Delivered (or given up): removes the row. */
int wa_store_wh_remove(wa_store *st, int64_t id) WA_MUST_CHECK;
/* Failed attempt: records the count and the next attempt time. */
int wa_store_wh_retry(wa_store *st, int64_t id, int attempts, int64_t next_attempt_ms) WA_MUST_CHECK;
/* Pending rows of one instance, or of every instance when instance_id < 0;
 * of one target, or of every target when target < 0. */
int wa_store_wh_count(wa_store *st, int64_t instance_id, int target, int64_t *n_out) WA_MUST_CHECK;

/* ---- webhook queue: failures kept for the operator (webhook_dead.c) ---- */
#define WA_STORE_WH_PENDING 0
#define WA_STORE_WH_DEAD 2
/* Most dead rows kept per instance; older ones are deleted. */
#define WA_STORE_WH_DEAD_MAX 1000
#define WA_STORE_WH_ERROR_MAX 300
/* A failed attempt: records the count, the error (cut to
 * WA_STORE_WH_ERROR_MAX bytes) and either the next attempt time or, with
 * dead, the end of delivery (the row stays, as dead, until replayed). */
int wa_store_wh_fail(wa_store *st, int64_t id, int attempts, int64_t next_attempt_ms, bool dead,
		     const char *error) WA_MUST_CHECK;
typedef struct wa_store_wh_info {
	int64_t id;
	int target;
	int state;               /* WA_STORE_WH_PENDING or WA_STORE_WH_DEAD */
	char event[64];
	int attempts;
	int64_t next_attempt_ms;
	int64_t created_ms;
	char last_error[WA_STORE_WH_ERROR_MAX + 1]; /* "" if none */
	size_t payload_len;
} wa_store_wh_info;
typedef void (*wa_store_wh_info_fn)(void *arg, const wa_store_wh_info *row);
/* The newest `limit` rows of one instance with state (< 0: any), newest
 * first, without their payloads. */
int wa_store_wh_list(wa_store *st, int64_t instance_id, int state, int limit, wa_store_wh_info_fn fn,
		     void *arg) WA_MUST_CHECK;
/* libwa's outbox rows not acknowledged by the server yet (queued, or sent
 * and awaiting the ack), oldest first, at most `limit`; *total_out: all of
 * them (outbox_view.c). */
typedef struct wa_store_outbox_info {
	int64_t id;
	char chat_jid[128];
	char msg_id[96];
	bool sending;            /* handed to the server, no ack yet */
	int attempts;
	int64_t created_ms, updated_ms;
} wa_store_outbox_info;
typedef void (*wa_store_outbox_info_fn)(void *arg, const wa_store_outbox_info *row);
int wa_store_outbox_pending(wa_store *st, int64_t instance_id, int limit, wa_store_outbox_info_fn fn, void *arg,
			    int64_t *total_out) WA_MUST_CHECK;
/* Rows of one instance in state (< 0: every target). */
int wa_store_wh_count_state(wa_store *st, int64_t instance_id, int state, int64_t *n_out) WA_MUST_CHECK;
/* Dead rows of one instance back to pending, due now with no attempts:
 * the one with id (WA_ENOTFOUND if it is not a dead row of the instance),
 * or all when id is 0. *n_out: how many. */
int wa_store_wh_replay(wa_store *st, int64_t instance_id, int64_t id, int64_t *n_out) WA_MUST_CHECK;

/* ---- message records ---- */
typedef struct wa_store_mrec {
	const char *key_id;
	const char *remote_jid;   /* chat, phone-number JID when known */
	const char *remote_lid;   /* or NULL */
	bool from_me;
	const char *message_type;
	int64_t timestamp;        /* seconds */
	int status;               /* enum wa_msg_status */
	const char *record;       /* JSON */
	size_t record_len;
	int64_t expires_at;       /* seconds; 0: never, or keep the stored one */
} wa_store_mrec;

/* Inserts or replaces (same instance, key id, from_me). */
int wa_store_msgrec_put(wa_store *st, int64_t instance_id, const wa_store_mrec *r) WA_MUST_CHECK;
/* Disappearing messages: removes at most `limit` records whose expires_at
 * is due (<= now_s, any instance), earliest first, with the session
 * engine's copies of the same messages, in one transaction. *n_out: how
 * many records went (== limit: more may be due). */
int wa_store_msgrec_expire(wa_store *st, int64_t now_s, int limit, int *n_out) WA_MUST_CHECK;
/* The earliest expires_at of any record, 0 when none expires. */
int wa_store_msgrec_next_expiry(wa_store *st, int64_t *at_out) WA_MUST_CHECK;
/* Raises the stored status (never lowers it). *record_out (may be NULL):
 * the stored record. WA_ENOTFOUND when unknown. */
int wa_store_msgrec_status(wa_store *st, int64_t instance_id, const char *key_id, bool from_me,
			   int status, char **record_out, size_t *len_out) WA_MUST_CHECK;

typedef struct wa_store_mrec_query {
	const char *remote_jid;   /* matches remote_jid or remote_lid; NULL any */
	const char *key_id;       /* NULL any */
	int from_me;              /* -1 any, 0, 1 */
	const char *message_type; /* NULL any */
	int64_t ts_min, ts_max;   /* seconds, inclusive; 0 = unbounded */
	int64_t limit, offset;
} wa_store_mrec_query;

typedef struct wa_store_mrec_row {
	char *record;             /* JSON, malloc'd */
	size_t record_len;
	int status;
	int64_t unread;           /* chats only: incoming with status < READ */
} wa_store_mrec_row;

/* Newest first. *total_out: rows matching before limit/offset. */
int wa_store_msgrec_find(wa_store *st, int64_t instance_id, const wa_store_mrec_query *q,
			 wa_store_mrec_row **out, size_t *n_out, int64_t *total_out) WA_MUST_CHECK;
/* Latest record per chat, most recent chat first (q->remote_jid, ts bounds,
 * limit and offset apply). */
int wa_store_msgrec_chats(wa_store *st, int64_t instance_id, const wa_store_mrec_query *q,
			  wa_store_mrec_row **out, size_t *n_out) WA_MUST_CHECK;
void wa_store_mrec_rows_free(wa_store_mrec_row *rows, size_t n);

#ifdef __cplusplus
}
#endif
#endif
