/* wamd's paced sends (migration "pacing"): sends held back by the pacing
 * limits, and those released in the last day (the windows' history).
 * Payloads are opaque JSON text, sealed with the master key when there is
 * one. */
#ifndef WA_STORE_PACE_H
#define WA_STORE_PACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wa/store.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WA_STORE_PACE_PAYLOAD_MAX (1024 * 1024)

typedef struct wa_store_pace_row {
	int64_t seq;
	char key_id[32];
	char jid[WA_STORE_JID_MAX];
	bool first;          /* to a number never talked to before */
	int state;           /* 0 queued, 1 released */
	int64_t created_ms, not_before_ms, sent_ms;
} wa_store_pace_row;

/* A held-back send; *seq_out its queue position key. */
int wa_store_pace_put(wa_store *st, int64_t instance_id, const wa_store_pace_row *r, const char *payload,
		      size_t len, int64_t *seq_out) WA_MUST_CHECK;
/* A send that left at sent_ms without being queued (no limit held it). */
int wa_store_pace_note(wa_store *st, int64_t instance_id, const char *jid, bool first,
		       int64_t sent_ms) WA_MUST_CHECK;
/* Marks a queued send released (payload dropped). */
int wa_store_pace_released(wa_store *st, int64_t seq, int64_t sent_ms) WA_MUST_CHECK;
/* *out: malloc'd NUL-terminated payload (free: wa_store_free(p, len)). */
int wa_store_pace_payload(wa_store *st, int64_t seq, char **out, size_t *len_out) WA_MUST_CHECK;
/* Every queued row and the released ones with sent_at > since_ms, in seq order. */
int wa_store_pace_load(wa_store *st, int64_t instance_id, int64_t since_ms, wa_store_pace_row **out,
		       size_t *n_out) WA_MUST_CHECK;
/* The sends of every instance after since_ms (which instance, when), in
 * time order, to fn. */
typedef int (*wa_store_pace_sent_fn)(void *arg, int64_t instance_id, int64_t sent_ms);
int wa_store_pace_sent_since(wa_store *st, int64_t since_ms, wa_store_pace_sent_fn fn, void *arg) WA_MUST_CHECK;
/* Drops released rows sent before before_ms. */
int wa_store_pace_prune(wa_store *st, int64_t before_ms) WA_MUST_CHECK;
/* The queued (state 0) row of this instance with key_id: *seq_out, or
 * WA_ENOTFOUND (unknown, or it has left). */
int wa_store_pace_find(wa_store *st, int64_t instance_id, const char *key_id, int64_t *seq_out) WA_MUST_CHECK;
/* Removes a queued row (a cancelled send); WA_ENOTFOUND when none. */
int wa_store_pace_delete(wa_store *st, int64_t seq) WA_MUST_CHECK;
/* Sets a queued row's first-contact flag. */
int wa_store_pace_set_first(wa_store *st, int64_t seq, bool first) WA_MUST_CHECK;
/* Does a file named after message key_id still belong to a send: a paced
 * row with that id (any state), or a libwa outbox row not yet sent? */
int wa_store_pace_id_in_use(wa_store *st, int64_t instance_id, const char *key_id, bool *yes) WA_MUST_CHECK;
/* Bulk jobs (wamd_pace_jobs): progress and state, the spec (template
 * and recipients, opaque JSON, sealed) apart. */
#define WA_STORE_PACE_JOB_SPEC_MAX (8 * 1024 * 1024)
typedef struct wa_store_pace_job {
	int64_t row;
	char key[40];
	int state;           /* 0 running, 1 paused, 2 cancelled, 3 done */
	int64_t total, next, sent, failed;
	char inflight[32];   /* the job's message in wamd_pace, "" none */
	int64_t created_ms, not_before_ms;
} wa_store_pace_job;
int wa_store_pace_job_put(wa_store *st, int64_t instance_id, const wa_store_pace_job *j, const char *spec,
			  size_t len, int64_t *row_out) WA_MUST_CHECK;
/* Saves state, next, sent, failed and inflight of row j->row. */
int wa_store_pace_job_update(wa_store *st, const wa_store_pace_job *j) WA_MUST_CHECK;
/* Every job of the instance, oldest first (malloc'd array). */
int wa_store_pace_job_load(wa_store *st, int64_t instance_id, wa_store_pace_job **out, size_t *n_out) WA_MUST_CHECK;
/* *out: malloc'd NUL-terminated spec (free: wa_store_free(p, len)). */
int wa_store_pace_job_spec(wa_store *st, int64_t row, char **out, size_t *len_out) WA_MUST_CHECK;
/* A job's recipients one row each (migration "pace-pages"): recipient
 * idx of job row job_row, its variables as JSON text (sealed). */
#define WA_STORE_PACE_RCPT_VARS_MAX (64 * 1024)
int wa_store_pace_job_rcpt_put(wa_store *st, int64_t job_row, int64_t idx, const char *jid, const char *vars,
			       size_t len) WA_MUST_CHECK;
/* Up to limit recipients of job_row from index from on, in order, to fn
 * (vars NUL-terminated; a non-zero return stops and is returned). */
typedef int (*wa_store_pace_rcpt_fn)(void *arg, int64_t idx, const char *jid, const char *vars, size_t len);
int wa_store_pace_job_rcpt_page(wa_store *st, int64_t job_row, int64_t from, int64_t limit, wa_store_pace_rcpt_fn fn,
				void *arg) WA_MUST_CHECK;
/* Deletes up to limit recipients of job_row (the lowest indexes; a job
 * that is over needs none): *dropped how many went (fewer than limit: none
 * is left). */
int wa_store_pace_job_rcpt_drop(wa_store *st, int64_t job_row, int64_t limit, int64_t *dropped) WA_MUST_CHECK;
/* Has this instance a message record with jid, or a paced row to it? */
int wa_store_pace_known(wa_store *st, int64_t instance_id, const char *jid, bool *known) WA_MUST_CHECK;

#ifdef __cplusplus
}
#endif
#endif
