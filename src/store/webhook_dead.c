/* The webhook queue as the operator sees it: failed attempts keep their
 * last error, and events given up on stay as "dead" rows (at most
 * WA_STORE_WH_DEAD_MAX per instance, the oldest deleted first) until they
 * are replayed or the instance is deleted. Pending rows are state 0, which
 * is all the delivery lanes read (daemon_tables.c). */
#include <stdio.h>
#include <string.h>

#include "wa/store_daemon.h"
#include "store/internal.h"

static const char sql_fail[] =
	"UPDATE webhook_queue SET attempts = ?2, next_attempt_at = ?3, state = ?4, last_error = ?5 WHERE id = ?1";
static const char sql_trim[] =
	"DELETE FROM webhook_queue WHERE state = 2 AND instance_id = (SELECT instance_id FROM webhook_queue "
	"WHERE id = ?1) AND id NOT IN (SELECT d.id FROM webhook_queue d WHERE d.state = 2 AND d.instance_id = "
	"(SELECT instance_id FROM webhook_queue WHERE id = ?1) ORDER BY d.id DESC LIMIT ?2)";
static const char sql_list[] =
	"SELECT id, target, state, event, attempts, next_attempt_at, created_at, last_error, length(payload) "
	"FROM webhook_queue WHERE instance_id = ?1 AND (CAST(?2 AS BIGINT) < 0 OR state = ?2) ORDER BY id DESC LIMIT ?3";
static const char sql_count[] = "SELECT count(*) FROM webhook_queue WHERE instance_id = ?1 AND state = ?2";
static const char sql_replay[] =
	"UPDATE webhook_queue SET state = 0, attempts = 0, next_attempt_at = 0 "
	"WHERE instance_id = ?1 AND state = 2 AND (CAST(?2 AS BIGINT) = 0 OR id = ?2)";

int wa_store_wh_fail(wa_store *st, int64_t id, int attempts, int64_t next_attempt_ms, bool dead, const char *error)
{
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_fail, &s);
	if (rc != 0)
		return rc;
	size_t el = error ? strlen(error) : 0;
	wa_stmt_bind_i64(s, 1, id);
	wa_stmt_bind_i64(s, 2, attempts);
	wa_stmt_bind_i64(s, 3, next_attempt_ms);
	wa_stmt_bind_i64(s, 4, dead ? WA_STORE_WH_DEAD : WA_STORE_WH_PENDING);
	if (error)
		wa_stmt_bind_text_n_copy(s, 5, error, (int)(el > WA_STORE_WH_ERROR_MAX ? WA_STORE_WH_ERROR_MAX : el));
	rc = wa_store_stmt_exec(s);
	if (rc != 0 || !dead)
		return rc;
	if ((rc = wa_store_stmt(st, sql_trim, &s)) != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, id);
	wa_stmt_bind_i64(s, 2, WA_STORE_WH_DEAD_MAX);
	return wa_store_stmt_exec(s);
}

int wa_store_wh_list(wa_store *st, int64_t instance_id, int state, int limit, wa_store_wh_info_fn fn, void *arg)
{
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_list, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	wa_stmt_bind_i64(s, 2, state);
	wa_stmt_bind_i64(s, 3, limit);
	int src;
	while ((src = wa_stmt_step(s)) == WA_DB_ROW) {
		wa_store_wh_info r;
		memset(&r, 0, sizeof r);
		r.id = wa_stmt_col_i64(s, 0);
		r.target = wa_stmt_col_int(s, 1);
		r.state = wa_stmt_col_int(s, 2);
		const char *ev = wa_stmt_col_text(s, 3);
		if (ev)
			snprintf(r.event, sizeof r.event, "%s", (const char *)ev);
		r.attempts = wa_stmt_col_int(s, 4);
		r.next_attempt_ms = wa_stmt_col_i64(s, 5);
		r.created_ms = wa_stmt_col_i64(s, 6);
		const char *er = wa_stmt_col_text(s, 7);
		if (er)
			snprintf(r.last_error, sizeof r.last_error, "%s", (const char *)er);
		r.payload_len = (size_t)wa_stmt_col_i64(s, 8);
		fn(arg, &r);
	}
	rc = src == WA_DB_DONE ? 0 : wa_store_map_rc(src);
	wa_store_stmt_done(s);
	return rc;
}

int wa_store_wh_count_state(wa_store *st, int64_t instance_id, int state, int64_t *n_out)
{
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_count, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	wa_stmt_bind_i64(s, 2, state);
	int src = wa_stmt_step(s);
	if (src == WA_DB_ROW)
		*n_out = wa_stmt_col_i64(s, 0);
	rc = src == WA_DB_ROW ? 0 : wa_store_map_rc(src);
	wa_store_stmt_done(s);
	return rc;
}

int wa_store_wh_replay(wa_store *st, int64_t instance_id, int64_t id, int64_t *n_out)
{
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_replay, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	wa_stmt_bind_i64(s, 2, id);
	int src = wa_stmt_step(s);
	rc = src == WA_DB_DONE ? 0 : wa_store_map_rc(src);
	int64_t n = rc == 0 ? wa_store_changes(st) : 0;
	wa_store_stmt_done(s);
	if (rc == 0 && id && n == 0)
		rc = WA_ENOTFOUND;
	if (n_out)
		*n_out = n;
	return rc;
}
