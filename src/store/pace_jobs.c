/* src/store/pace_jobs.c: wamd's bulk jobs (migration "pace-jobs", see
 * wa/store_pace.h): a job's progress row and its sealed spec. What a job
 * sends when is the daemon's business. */
#include <stdlib.h>
#include <string.h>

#include "wa/store_pace.h"
#include "store/internal.h"

static const char sql_put[] =
	"INSERT INTO wamd_pace_jobs (instance_id, job_key, state, total, next_index, sent, failed, inflight, "
	"created_at, not_before, spec) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
static const char sql_update[] =
	"UPDATE wamd_pace_jobs SET state = ?2, next_index = ?3, sent = ?4, failed = ?5, inflight = ?6 WHERE id = ?1";
static const char sql_load[] =
	"SELECT id, job_key, state, total, next_index, sent, failed, inflight, created_at, not_before "
	"FROM wamd_pace_jobs WHERE instance_id = ?1 ORDER BY id";
static const char sql_spec[] = "SELECT spec FROM wamd_pace_jobs WHERE id = ?1";
static const char sql_rcpt_put[] = "INSERT INTO wamd_pace_job_rcpt (job_id, idx, jid, variables) VALUES (?1, ?2, ?3, ?4)";
static const char sql_rcpt_page[] =
	"SELECT idx, jid, variables FROM wamd_pace_job_rcpt WHERE job_id = ?1 AND idx >= ?2 ORDER BY idx LIMIT ?3";
static const char sql_rcpt_drop[] = "DELETE FROM wamd_pace_job_rcpt WHERE job_id = ?1 AND idx IN "
				    "(SELECT idx FROM wamd_pace_job_rcpt WHERE job_id = ?1 ORDER BY idx LIMIT ?2)";

static bool fits(const char *s, size_t cap)
{
	return s && memchr(s, 0, cap) != NULL;
}

int wa_store_pace_job_put(wa_store *st, int64_t instance_id, const wa_store_pace_job *j, const char *spec,
			  size_t len, int64_t *row_out)
{
	if (!j || !spec || !fits(j->key, sizeof j->key) || !fits(j->inflight, sizeof j->inflight))
		return WA_EINVAL;
	if (len > WA_STORE_PACE_JOB_SPEC_MAX)
		return WA_ETOOBIG;
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_put, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	wa_stmt_bind_text(s, 2, j->key);
	wa_stmt_bind_i64(s, 3, j->state);
	wa_stmt_bind_i64(s, 4, j->total);
	wa_stmt_bind_i64(s, 5, j->next);
	wa_stmt_bind_i64(s, 6, j->sent);
	wa_stmt_bind_i64(s, 7, j->failed);
	wa_stmt_bind_text(s, 8, j->inflight);
	wa_stmt_bind_i64(s, 9, j->created_ms);
	wa_stmt_bind_i64(s, 10, j->not_before_ms);
	rc = wa_store_bind_sealed_max(st, s, 11, (const uint8_t *)spec, len, WA_STORE_PACE_JOB_SPEC_MAX);
	if (rc != 0) {
		wa_store_stmt_done(s);
		return rc;
	}
	rc = wa_store_stmt_exec(s);
	if (rc == 0 && row_out)
		*row_out = wa_store_last_insert_id(st);
	return rc;
}

int wa_store_pace_job_update(wa_store *st, const wa_store_pace_job *j)
{
	if (!j || !fits(j->inflight, sizeof j->inflight))
		return WA_EINVAL;
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_update, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, j->row);
	wa_stmt_bind_i64(s, 2, j->state);
	wa_stmt_bind_i64(s, 3, j->next);
	wa_stmt_bind_i64(s, 4, j->sent);
	wa_stmt_bind_i64(s, 5, j->failed);
	wa_stmt_bind_text(s, 6, j->inflight);
	rc = wa_store_stmt_exec(s);
	return rc == 0 && wa_store_changes(st) == 0 ? WA_ENOTFOUND : rc;
}

static void copy_text(wa_stmt *s, int col, char *dst, size_t cap)
{
	const char *v = wa_stmt_col_text(s, col);
	int n = wa_stmt_col_bytes(s, col);
	if (!v || n < 0 || (size_t)n >= cap)
		n = 0;
	if (n)
		memcpy(dst, v, (size_t)n);
	dst[n] = '\0';
}

int wa_store_pace_job_load(wa_store *st, int64_t instance_id, wa_store_pace_job **out, size_t *n_out)
{
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_load, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	wa_store_pace_job *v = NULL;
	size_t n = 0, cap = 0;
	int src;
	while ((src = wa_stmt_step(s)) == WA_DB_ROW) {
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 8;
			wa_store_pace_job *g = realloc(v, nc * sizeof *g);
			if (!g) {
				free(v);
				wa_store_stmt_done(s);
				return WA_ENOMEM;
			}
			v = g;
			cap = nc;
		}
		wa_store_pace_job *j = &v[n++];
		memset(j, 0, sizeof *j);
		j->row = wa_stmt_col_i64(s, 0);
		copy_text(s, 1, j->key, sizeof j->key);
		j->state = wa_stmt_col_int(s, 2);
		j->total = wa_stmt_col_i64(s, 3);
		j->next = wa_stmt_col_i64(s, 4);
		j->sent = wa_stmt_col_i64(s, 5);
		j->failed = wa_stmt_col_i64(s, 6);
		copy_text(s, 7, j->inflight, sizeof j->inflight);
		j->created_ms = wa_stmt_col_i64(s, 8);
		j->not_before_ms = wa_stmt_col_i64(s, 9);
	}
	wa_store_stmt_done(s);
	if (src != WA_DB_DONE) {
		free(v);
		return wa_store_map_rc(src);
	}
	*out = v;
	*n_out = n;
	return 0;
}

int wa_store_pace_job_spec(wa_store *st, int64_t row, char **out, size_t *len_out)
{
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_spec, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, row);
	int src = wa_stmt_step(s);
	if (src != WA_DB_ROW) {
		wa_store_stmt_done(s);
		return src == WA_DB_DONE ? WA_ENOTFOUND : wa_store_map_rc(src);
	}
	rc = wa_store_column_text_sealed(st, s, 0, WA_STORE_PACE_JOB_SPEC_MAX, out, len_out);
	wa_store_stmt_done(s);
	return rc;
}

int wa_store_pace_job_rcpt_put(wa_store *st, int64_t job_row, int64_t idx, const char *jid, const char *vars,
			       size_t len)
{
	if (!jid || !vars)
		return WA_EINVAL;
	if (len > WA_STORE_PACE_RCPT_VARS_MAX)
		return WA_ETOOBIG;
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_rcpt_put, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, job_row);
	wa_stmt_bind_i64(s, 2, idx);
	wa_stmt_bind_text(s, 3, jid);
	rc = wa_store_bind_sealed_max(st, s, 4, (const uint8_t *)vars, len, WA_STORE_PACE_RCPT_VARS_MAX);
	if (rc != 0) {
		wa_store_stmt_done(s);
		return rc;
	}
	return wa_store_stmt_exec(s);
}

int wa_store_pace_job_rcpt_page(wa_store *st, int64_t job_row, int64_t from, int64_t limit, wa_store_pace_rcpt_fn fn,
				void *arg)
{
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_rcpt_page, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, job_row);
	wa_stmt_bind_i64(s, 2, from);
	wa_stmt_bind_i64(s, 3, limit);
	int src = WA_DB_DONE;
	while (rc == 0 && (src = wa_stmt_step(s)) == WA_DB_ROW) {
		char jid[WA_STORE_JID_MAX];
		copy_text(s, 1, jid, sizeof jid);
		char *vars = NULL;
		size_t len = 0;
		rc = wa_store_column_text_sealed(st, s, 2, WA_STORE_PACE_RCPT_VARS_MAX, &vars, &len);
		if (rc == 0)
			rc = fn(arg, wa_stmt_col_i64(s, 0), jid, vars, len);
		if (vars)
			wa_store_free(vars, len);
	}
	wa_store_stmt_done(s);
	if (rc != 0)
		return rc;
	return src == WA_DB_DONE ? 0 : wa_store_map_rc(src);
}

int wa_store_pace_job_rcpt_drop(wa_store *st, int64_t job_row, int64_t limit, int64_t *dropped)
{
	*dropped = 0;
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_rcpt_drop, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, job_row);
	wa_stmt_bind_i64(s, 2, limit);
	rc = wa_store_stmt_exec(s);
	if (rc == 0)
		*dropped = wa_store_changes(st);
	return rc;
}
