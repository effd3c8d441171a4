/* src/store/daemon_tables.c: the tables wamd owns (migration 0002): the
 * per-instance metadata document, the durable webhook queue and the message
 * records behind the search routes. The store treats their contents as
 * opaque JSON text; sealed columns are encrypted with the master key when
 * there is one, because they hold webhook secrets and message text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wa/store_daemon.h"
#include "store/internal.h"
#include "util/seams.h"

/* ---- metadata ---- */

static const char sql_meta_put[] =
	"INSERT INTO wamd_instance_meta (instance_id, doc, updated_at) VALUES (?1, ?2, ?3) "
	"ON CONFLICT (instance_id) DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at";
static const char sql_meta_get[] = "SELECT doc FROM wamd_instance_meta WHERE instance_id = ?1";

int wa_store_meta_put(wa_store *st, int64_t instance_id, const char *doc, size_t len)
{
	if (!doc || len > WA_STORE_DOC_MAX)
		return doc ? WA_ETOOBIG : WA_EINVAL;
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_meta_put, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	rc = wa_store_bind_sealed(st, s, 2, (const uint8_t *)doc, len);
	if (rc != 0) {
		wa_store_stmt_done(s);
		return rc;
	}
	wa_stmt_bind_i64(s, 3, wa_now_ms());
	return wa_store_stmt_exec(s);
}

int wa_store_meta_get(wa_store *st, int64_t instance_id, char **out, size_t *len_out)
{
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_meta_get, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	int src = wa_stmt_step(s);
	if (src == WA_DB_ROW)
		rc = wa_store_column_text_sealed(st, s, 0, WA_STORE_DOC_MAX, out, len_out);
	else
		rc = src == WA_DB_DONE ? WA_ENOTFOUND : wa_store_map_rc(src);
	wa_store_stmt_done(s);
	return rc;
}

/* ---- webhook queue ---- */

static const char sql_wh_push[] =
	"INSERT INTO webhook_queue (instance_id, target, event, payload, state, attempts, next_attempt_at, created_at) "
	"VALUES (?1, ?2, ?3, ?4, 0, 0, 0, ?5)";
static const char sql_wh_head[] =
	"SELECT id, event, payload, attempts, next_attempt_at, created_at FROM webhook_queue "
	"WHERE instance_id = ?1 AND target = ?2 AND state = 0 ORDER BY id LIMIT 1";
static const char sql_wh_remove[] = "DELETE FROM webhook_queue WHERE id = ?1";
static const char sql_wh_retry[] = "UPDATE webhook_queue SET attempts = ?2, next_attempt_at = ?3 WHERE id = ?1";
static const char sql_wh_count[] =
	"SELECT count(*) FROM webhook_queue WHERE instance_id = ?1 AND state = 0 AND (CAST(?2 AS BIGINT) < 0 OR target = ?2)";
static const char sql_wh_count_all[] = "SELECT count(*) FROM webhook_queue WHERE state = 0 AND (CAST(?1 AS BIGINT) < 0 OR target = ?1)";

int wa_store_wh_push(wa_store *st, int64_t instance_id, int target, const char *event,
		     const char *payload, size_t len, int64_t *id_out)
{
	if (!event || !payload || strlen(event) >= sizeof ((wa_store_wh_row *)0)->event)
		return WA_EINVAL;
	if (len > WA_STORE_WH_PAYLOAD_MAX)
		return WA_ETOOBIG;
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_wh_push, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	wa_stmt_bind_i64(s, 2, target);
	wa_stmt_bind_text(s, 3, event);
	/* a webhook body is bigger than a key record (media base64 up to
	 * webhook_base64_max): sealed under its own cap */
	rc = wa_store_bind_sealed_max(st, s, 4, (const uint8_t *)payload, len, WA_STORE_WH_PAYLOAD_MAX);
	if (rc != 0) {
		wa_store_stmt_done(s);
		return rc;
	}
	wa_stmt_bind_i64(s, 5, wa_now_ms());
	rc = wa_store_stmt_exec(s);
	if (rc == 0 && id_out)
		*id_out = wa_store_last_insert_id(st);
	return rc;
}

int wa_store_wh_head(wa_store *st, int64_t instance_id, int target, wa_store_wh_row *out)
{
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_wh_head, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	wa_stmt_bind_i64(s, 2, target);
	int src = wa_stmt_step(s);
	if (src != WA_DB_ROW) {
		rc = src == WA_DB_DONE ? WA_ENOTFOUND : wa_store_map_rc(src);
		wa_store_stmt_done(s);
		return rc;
	}
	wa_store_wh_row r;
	memset(&r, 0, sizeof r);
	r.id = wa_stmt_col_i64(s, 0);
	r.instance_id = instance_id;
	r.target = target;
	const char *ev = wa_stmt_col_text(s, 1);
	int evlen = wa_stmt_col_bytes(s, 1);
	if (!ev || evlen <= 0 || (size_t)evlen >= sizeof r.event) {
		wa_store_stmt_done(s);
		return WA_EDB_CORRUPT;
	}
	memcpy(r.event, ev, (size_t)evlen);
	r.attempts = wa_stmt_col_int(s, 3);
	r.next_attempt_ms = wa_stmt_col_i64(s, 4);
	r.created_ms = wa_stmt_col_i64(s, 5);
	rc = wa_store_column_text_sealed(st, s, 2, WA_STORE_WH_PAYLOAD_MAX, &r.payload, &r.payload_len);
	wa_store_stmt_done(s);
	if (rc != 0)
		return rc;
	*out = r;
	return 0;
}

void wa_store_wh_row_clear(wa_store_wh_row *row)
{
	if (!row)
		return;
	wa_store_free(row->payload, row->payload_len);
	row->payload = NULL;
	row->payload_len = 0;
}

int wa_store_wh_remove(wa_store *st, int64_t id)
{
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_wh_remove, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, id);
	return wa_store_stmt_exec(s);
}

int wa_store_wh_retry(wa_store *st, int64_t id, int attempts, int64_t next_attempt_ms)
{
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_wh_retry, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, id);
	wa_stmt_bind_i64(s, 2, attempts);
	wa_stmt_bind_i64(s, 3, next_attempt_ms);
	return wa_store_stmt_exec(s);
}

int wa_store_wh_count(wa_store *st, int64_t instance_id, int target, int64_t *n_out)
{
	wa_stmt *s;
	int rc = wa_store_stmt(st, instance_id < 0 ? sql_wh_count_all : sql_wh_count, &s);
	if (rc != 0)
		return rc;
	if (instance_id >= 0) {
		wa_stmt_bind_i64(s, 1, instance_id);
		wa_stmt_bind_i64(s, 2, target);
	} else
		wa_stmt_bind_i64(s, 1, target);
	int src = wa_stmt_step(s);
	if (src == WA_DB_ROW)
		*n_out = wa_stmt_col_i64(s, 0);
	rc = src == WA_DB_ROW ? 0 : wa_store_map_rc(src);
	wa_store_stmt_done(s);
	return rc;
}

/* ---- message records ---- */

static const char sql_msg_put[] =
	"INSERT INTO wamd_messages (instance_id, key_id, remote_jid, remote_lid, from_me, message_type, ts, status, record, "
	"expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
	"ON CONFLICT (instance_id, key_id, from_me) DO UPDATE SET remote_jid = excluded.remote_jid, "
	"remote_lid = excluded.remote_lid, message_type = excluded.message_type, ts = excluded.ts, "
	"status = CASE WHEN excluded.status > wamd_messages.status THEN excluded.status ELSE wamd_messages.status END, "
	"record = excluded.record, "
	"expires_at = CASE WHEN excluded.expires_at > 0 THEN excluded.expires_at ELSE wamd_messages.expires_at END";
static const char sql_msg_status[] =
	"UPDATE wamd_messages SET status = CASE WHEN ?4 > status THEN ?4 ELSE status END"
	" WHERE instance_id = ?1 AND key_id = ?2 AND from_me = ?3";
static const char sql_msg_record[] =
	"SELECT record FROM wamd_messages WHERE instance_id = ?1 AND key_id = ?2 AND from_me = ?3";

static bool text_ok(const char *s, size_t max)
{
	return s && s[0] && strnlen(s, max) < max;
}

static int msgrec_put(wa_store *st, int64_t instance_id, const wa_store_mrec *r);

/* In turn mode the record joins the loop turn's group (wamd's events and
 * answers wait for its commit): as an autocommit write it would commit
 * the group early for every message received. */
int wa_store_msgrec_put(wa_store *st, int64_t instance_id, const wa_store_mrec *r)
{
	if (!st->turn_on)
		return msgrec_put(st, instance_id, r);
	int rc = wa_store_begin_grouped(st);
	if (rc != 0)
		return rc;
	rc = msgrec_put(st, instance_id, r);
	if (rc == 0)
		return wa_store_commit(st);
	(void)wa_store_rollback(st);
	return rc;
}

static int msgrec_put(wa_store *st, int64_t instance_id, const wa_store_mrec *r)
{
	if (!r || !text_ok(r->key_id, 256) || !text_ok(r->remote_jid, WA_STORE_JID_MAX) ||
	    !text_ok(r->message_type, 128) || !r->record ||
	    (r->remote_lid && !text_ok(r->remote_lid, WA_STORE_JID_MAX)))
		return WA_EINVAL;
	if (r->record_len > WA_STORE_MSG_RECORD_MAX)
		return WA_ETOOBIG;
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_msg_put, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	wa_stmt_bind_text(s, 2, r->key_id);
	wa_stmt_bind_text(s, 3, r->remote_jid);
	if (r->remote_lid)
		wa_stmt_bind_text(s, 4, r->remote_lid);
	wa_stmt_bind_i64(s, 5, r->from_me ? 1 : 0);
	wa_stmt_bind_text(s, 6, r->message_type);
	wa_stmt_bind_i64(s, 7, r->timestamp);
	wa_stmt_bind_i64(s, 8, r->status);
	wa_stmt_bind_i64(s, 10, r->expires_at > 0 ? r->expires_at : 0);
	rc = wa_store_bind_sealed(st, s, 9, (const uint8_t *)r->record, r->record_len);
	if (rc != 0) {
		wa_store_stmt_done(s);
		return rc;
	}
	return wa_store_stmt_exec(s);
}

int wa_store_msgrec_status(wa_store *st, int64_t instance_id, const char *key_id, bool from_me,
			   int status, char **record_out, size_t *len_out)
{
	if (!text_ok(key_id, 256))
		return WA_EINVAL;
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_msg_status, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	wa_stmt_bind_text(s, 2, key_id);
	wa_stmt_bind_i64(s, 3, from_me ? 1 : 0);
	wa_stmt_bind_i64(s, 4, status);
	rc = wa_store_stmt_exec(s);
	if (rc != 0)
		return rc;
	if (wa_store_changes(st) == 0)
		return WA_ENOTFOUND;
	if (!record_out)
		return 0;
	rc = wa_store_stmt(st, sql_msg_record, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	wa_stmt_bind_text(s, 2, key_id);
	wa_stmt_bind_i64(s, 3, from_me ? 1 : 0);
	int src = wa_stmt_step(s);
	if (src == WA_DB_ROW)
		rc = wa_store_column_text_sealed(st, s, 0, WA_STORE_MSG_RECORD_MAX, record_out, len_out);
	else
		rc = src == WA_DB_DONE ? WA_ENOTFOUND : wa_store_map_rc(src);
	wa_store_stmt_done(s);
	return rc;
}

/* ---- disappearing messages ---- */

static const char sql_exp_due[] =
	"SELECT id, instance_id, key_id, remote_jid, remote_lid, from_me FROM wamd_messages "
	"WHERE expires_at > 0 AND expires_at <= ?1 ORDER BY expires_at, id LIMIT ?2";
static const char sql_exp_del[] = "DELETE FROM wamd_messages WHERE id = ?1";
/* the session engine keys its copy by chat: the phone-number or the LID one */
static const char sql_exp_msg[] =
	"DELETE FROM messages WHERE instance_id = ?1 AND msg_id = ?2 AND from_me = ?3 AND chat_jid IN (?4, ?5)";
static const char sql_exp_next[] = "SELECT min(expires_at) FROM wamd_messages WHERE expires_at > 0";

struct exp_row {
	int64_t id, instance_id;
	bool from_me;
	char key_id[257], jid[WA_STORE_JID_MAX], lid[WA_STORE_JID_MAX];
};

static void copy_col(wa_stmt *s, int col, char *dst, size_t cap)
{
	const char *v = wa_stmt_col_text(s, col);
	snprintf(dst, cap, "%s", v ? v : "");
}

static int exp_delete(wa_store *st, const struct exp_row *r)
{
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_exp_msg, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, r->instance_id);
	wa_stmt_bind_text(s, 2, r->key_id);
	wa_stmt_bind_i64(s, 3, r->from_me ? 1 : 0);
	wa_stmt_bind_text(s, 4, r->jid);
	wa_stmt_bind_text(s, 5, r->lid[0] ? r->lid : r->jid);
	rc = wa_store_stmt_exec(s);
	if (rc != 0)
		return rc;
	rc = wa_store_stmt(st, sql_exp_del, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, r->id);
	return wa_store_stmt_exec(s);
}

int wa_store_msgrec_expire(wa_store *st, int64_t now_s, int limit, int *n_out)
{
	*n_out = 0;
	if (limit <= 0 || limit > 4096)
		return WA_EINVAL;
	struct exp_row *rows = calloc((size_t)limit, sizeof *rows);
	if (!rows)
		return WA_ENOMEM;
	/* read the batch first: rows are not deleted under a running SELECT */
	wa_stmt *s;
	int n = 0, rc = wa_store_stmt(st, sql_exp_due, &s);
	if (rc != 0)
		goto out;
	wa_stmt_bind_i64(s, 1, now_s);
	wa_stmt_bind_i64(s, 2, limit);
	int src = WA_DB_DONE;
	while (n < limit && (src = wa_stmt_step(s)) == WA_DB_ROW) {
		struct exp_row *r = &rows[n++];
		r->id = wa_stmt_col_i64(s, 0);
		r->instance_id = wa_stmt_col_i64(s, 1);
		copy_col(s, 2, r->key_id, sizeof r->key_id);
		copy_col(s, 3, r->jid, sizeof r->jid);
		copy_col(s, 4, r->lid, sizeof r->lid);
		r->from_me = wa_stmt_col_int(s, 5) != 0;
	}
	if (n < limit && src != WA_DB_DONE)
		rc = wa_store_map_rc(src);
	wa_store_stmt_done(s);
	if (rc != 0 || n == 0)
		goto out;
	rc = wa_store_begin(st);
	if (rc != 0)
		goto out;
	for (int i = 0; i < n && rc == 0; i++)
		rc = exp_delete(st, &rows[i]);
	if (rc != 0)
		(void)wa_store_rollback(st);
	else
		rc = wa_store_commit(st);
	if (rc == 0)
		*n_out = n;
out:
	free(rows);
	return rc;
}

int wa_store_msgrec_next_expiry(wa_store *st, int64_t *at_out)
{
	*at_out = 0;
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_exp_next, &s);
	if (rc != 0)
		return rc;
	int src = wa_stmt_step(s);
	if (src == WA_DB_ROW)
		*at_out = wa_stmt_col_i64(s, 0); /* NULL (none) reads as 0 */
	else
		rc = wa_store_map_rc(src);
	wa_store_stmt_done(s);
	return rc;
}

/* The filters are bound positionally and NULL means "any", so one static
 * statement covers every combination (and stays in the statement cache). */
#define MSG_WHERE \
	"instance_id = ?1 AND (CAST(?2 AS TEXT) IS NULL OR remote_jid = ?2 OR remote_lid = ?2) " \
	"AND (CAST(?3 AS TEXT) IS NULL OR key_id = ?3) AND (CAST(?4 AS BIGINT) < 0 OR from_me = ?4) " \
	"AND (CAST(?5 AS TEXT) IS NULL OR message_type = ?5) AND (CAST(?6 AS BIGINT) = 0 OR ts >= ?6) " \
	"AND (CAST(?7 AS BIGINT) = 0 OR ts <= ?7)"
static const char sql_msg_count[] = "SELECT count(*) FROM wamd_messages WHERE " MSG_WHERE;
/* The page is chosen on (ts, id) alone and only its rows' records are
 * read: sorting the records themselves carried every matching record
 * through the sorter, which made each call cost the whole table. */
static const char sql_msg_find[] =
	"SELECT record, status, 0 FROM wamd_messages WHERE id IN (SELECT id FROM wamd_messages WHERE " MSG_WHERE
	" ORDER BY ts DESC, id DESC LIMIT ?8 OFFSET ?9) ORDER BY ts DESC, id DESC";
static const char sql_msg_chats[] =
	"SELECT m.record, m.status, (SELECT count(*) FROM wamd_messages u WHERE u.instance_id = ?1 "
	"AND u.remote_jid = m.remote_jid AND u.from_me = 0 AND u.status < 4) "
	"FROM wamd_messages m WHERE m.id IN (SELECT max(id) FROM wamd_messages WHERE " MSG_WHERE
	" GROUP BY remote_jid) ORDER BY m.ts DESC, m.id DESC LIMIT ?8 OFFSET ?9";

static void bind_query(wa_stmt *s, int64_t instance_id, const wa_store_mrec_query *q, bool paged)
{
	wa_stmt_bind_i64(s, 1, instance_id);
	if (q->remote_jid)
		wa_stmt_bind_text(s, 2, q->remote_jid);
	if (q->key_id)
		wa_stmt_bind_text(s, 3, q->key_id);
	wa_stmt_bind_i64(s, 4, q->from_me < 0 ? -1 : q->from_me ? 1 : 0);
	if (q->message_type)
		wa_stmt_bind_text(s, 5, q->message_type);
	wa_stmt_bind_i64(s, 6, q->ts_min);
	wa_stmt_bind_i64(s, 7, q->ts_max);
	if (paged) {
		int64_t lim = q->limit;
		if (lim <= 0 || lim > WA_STORE_QUERY_MAX_ROWS)
			lim = WA_STORE_QUERY_MAX_ROWS;
		wa_stmt_bind_i64(s, 8, lim);
		wa_stmt_bind_i64(s, 9, q->offset > 0 ? q->offset : 0);
	}
}

static int collect_rows(wa_store *st, wa_stmt *s, wa_store_mrec_row **out, size_t *n_out)
{
	wa_store_mrec_row *arr = NULL;
	size_t n = 0, cap = 0;
	int rc = 0, src;
	while ((src = wa_stmt_step(s)) == WA_DB_ROW) {
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			wa_store_mrec_row *na = realloc(arr, ncap * sizeof *na);
			if (!na) {
				rc = WA_ENOMEM;
				break;
			}
			arr = na;
			cap = ncap;
		}
		memset(&arr[n], 0, sizeof arr[n]);
		rc = wa_store_column_text_sealed(st, s, 0, WA_STORE_MSG_RECORD_MAX, &arr[n].record, &arr[n].record_len);
		if (rc != 0)
			break;
		arr[n].status = wa_stmt_col_int(s, 1);
		arr[n].unread = wa_stmt_col_i64(s, 2);
		n++;
	}
	if (rc == 0 && src != WA_DB_DONE)
		rc = wa_store_map_rc(src);
	wa_store_stmt_done(s);
	if (rc != 0) {
		wa_store_mrec_rows_free(arr, n);
		return rc;
	}
	*out = arr;
	*n_out = n;
	return 0;
}

int wa_store_msgrec_find(wa_store *st, int64_t instance_id, const wa_store_mrec_query *q,
			 wa_store_mrec_row **out, size_t *n_out, int64_t *total_out)
{
	if (!q)
		return WA_EINVAL;
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_msg_count, &s);
	if (rc != 0)
		return rc;
	bind_query(s, instance_id, q, false);
	int src = wa_stmt_step(s);
	int64_t total = src == WA_DB_ROW ? wa_stmt_col_i64(s, 0) : 0;
	rc = src == WA_DB_ROW ? 0 : wa_store_map_rc(src);
	wa_store_stmt_done(s);
	if (rc != 0)
		return rc;
	rc = wa_store_stmt(st, sql_msg_find, &s);
	if (rc != 0)
		return rc;
	bind_query(s, instance_id, q, true);
	rc = collect_rows(st, s, out, n_out);
	if (rc == 0 && total_out)
		*total_out = total;
	return rc;
}

int wa_store_msgrec_chats(wa_store *st, int64_t instance_id, const wa_store_mrec_query *q,
			  wa_store_mrec_row **out, size_t *n_out)
{
	if (!q)
		return WA_EINVAL;
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_msg_chats, &s);
	if (rc != 0)
		return rc;
	bind_query(s, instance_id, q, true);
	return collect_rows(st, s, out, n_out);
}

void wa_store_mrec_rows_free(wa_store_mrec_row *rows, size_t n)
{
	if (!rows)
		return;
	for (size_t i = 0; i < n; i++)
		wa_store_free(rows[i].record, rows[i].record_len);
	free(rows);
}
