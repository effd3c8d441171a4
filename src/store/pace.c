/* src/store/pace.c: wamd's paced sends (migration "pacing", see
 * wa/store_pace.h). The store keeps rows and payloads; which row leaves
 * when is the daemon's business. */
#include <stdlib.h>
#include <string.h>

#include "wa/store_pace.h"
#include "store/internal.h"

static const char sql_put[] =
	"INSERT INTO wamd_pace (instance_id, key_id, jid, first, state, created_at, not_before, payload) "
	"VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6, ?7)";
static const char sql_note[] =
	"INSERT INTO wamd_pace (instance_id, key_id, jid, first, state, created_at, not_before, sent_at) "
	"VALUES (?1, '', ?2, ?3, 1, ?4, ?4, ?4)";
static const char sql_released[] = "UPDATE wamd_pace SET state = 1, sent_at = ?2, payload = NULL WHERE seq = ?1";
static const char sql_payload[] = "SELECT payload FROM wamd_pace WHERE seq = ?1 AND state = 0";
static const char sql_load[] =
	"SELECT seq, key_id, jid, first, state, created_at, not_before, sent_at FROM wamd_pace "
	"WHERE instance_id = ?1 AND (state = 0 OR sent_at > ?2) ORDER BY seq";
static const char sql_sent_since[] = "SELECT instance_id, sent_at FROM wamd_pace WHERE state = 1 AND sent_at > ?1 ORDER BY sent_at";
static const char sql_prune[] = "DELETE FROM wamd_pace WHERE state = 1 AND sent_at < ?1";
static const char sql_known_msg[] = "SELECT 1 FROM wamd_messages WHERE instance_id = ?1 AND remote_jid = ?2 LIMIT 1";
static const char sql_find[] = "SELECT seq FROM wamd_pace WHERE instance_id = ?1 AND key_id = ?2 AND state = 0";
static const char sql_delete[] = "DELETE FROM wamd_pace WHERE seq = ?1 AND state = 0";
static const char sql_set_first[] = "UPDATE wamd_pace SET first = ?2 WHERE seq = ?1 AND state = 0";
static const char sql_id_pace[] = "SELECT 1 FROM wamd_pace WHERE instance_id = ?1 AND key_id = ?2 LIMIT 1";
/* outbox_state's index covers the rows not sent yet (0 queued, 1 sending) */
static const char sql_id_outbox[] =
	"SELECT 1 FROM outbox WHERE instance_id = ?1 AND state IN (0, 1) AND msg_id = ?2 LIMIT 1";
/* a scheduled send still to come is no contact yet: a send before it is the first */
static const char sql_known_pace[] =
	"SELECT 1 FROM wamd_pace WHERE instance_id = ?1 AND jid = ?2 AND (state = 1 OR not_before <= created_at) LIMIT 1";

int wa_store_pace_put(wa_store *st, int64_t instance_id, const wa_store_pace_row *r, const char *payload,
		      size_t len, int64_t *seq_out)
{
	if (!r || !payload || !memchr(r->key_id, 0, sizeof r->key_id) || !memchr(r->jid, 0, sizeof r->jid))
		return WA_EINVAL;
	if (len > WA_STORE_PACE_PAYLOAD_MAX)
		return WA_ETOOBIG;
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_put, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	wa_stmt_bind_text(s, 2, r->key_id);
	wa_stmt_bind_text(s, 3, r->jid);
	wa_stmt_bind_i64(s, 4, r->first ? 1 : 0);
	wa_stmt_bind_i64(s, 5, r->created_ms);
	wa_stmt_bind_i64(s, 6, r->not_before_ms);
	rc = wa_store_bind_sealed(st, s, 7, (const uint8_t *)payload, len);
	if (rc != 0) {
		wa_store_stmt_done(s);
		return rc;
	}
	rc = wa_store_stmt_exec(s);
	if (rc == 0 && seq_out)
		*seq_out = wa_store_last_insert_id(st);
	return rc;
}

int wa_store_pace_note(wa_store *st, int64_t instance_id, const char *jid, bool first, int64_t sent_ms)
{
	if (!jid)
		return WA_EINVAL;
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_note, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	wa_stmt_bind_text(s, 2, jid);
	wa_stmt_bind_i64(s, 3, first ? 1 : 0);
	wa_stmt_bind_i64(s, 4, sent_ms);
	return wa_store_stmt_exec(s);
}

int wa_store_pace_released(wa_store *st, int64_t seq, int64_t sent_ms)
{
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_released, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, seq);
	wa_stmt_bind_i64(s, 2, sent_ms);
	return wa_store_stmt_exec(s);
}

int wa_store_pace_payload(wa_store *st, int64_t seq, char **out, size_t *len_out)
{
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_payload, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, seq);
	int src = wa_stmt_step(s);
	if (src != WA_DB_ROW) {
		wa_store_stmt_done(s);
		return src == WA_DB_DONE ? WA_ENOTFOUND : wa_store_map_rc(src);
	}
	rc = wa_store_column_text_sealed(st, s, 0, WA_STORE_PACE_PAYLOAD_MAX, out, len_out);
	wa_store_stmt_done(s);
	return rc;
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

int wa_store_pace_load(wa_store *st, int64_t instance_id, int64_t since_ms, wa_store_pace_row **out,
		       size_t *n_out)
{
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_load, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	wa_stmt_bind_i64(s, 2, since_ms);
	wa_store_pace_row *rows = NULL;
	size_t n = 0, cap = 0;
	int src;
	while ((src = wa_stmt_step(s)) == WA_DB_ROW) {
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			wa_store_pace_row *g = realloc(rows, nc * sizeof *g);
			if (!g) {
				free(rows);
				wa_store_stmt_done(s);
				return WA_ENOMEM;
			}
			rows = g;
			cap = nc;
		}
		wa_store_pace_row *r = &rows[n++];
		memset(r, 0, sizeof *r);
		r->seq = wa_stmt_col_i64(s, 0);
		copy_text(s, 1, r->key_id, sizeof r->key_id);
		copy_text(s, 2, r->jid, sizeof r->jid);
		r->first = wa_stmt_col_int(s, 3) != 0;
		r->state = wa_stmt_col_int(s, 4);
		r->created_ms = wa_stmt_col_i64(s, 5);
		r->not_before_ms = wa_stmt_col_i64(s, 6);
		r->sent_ms = wa_stmt_col_i64(s, 7);
	}
	wa_store_stmt_done(s);
	if (src != WA_DB_DONE) {
		free(rows);
		return wa_store_map_rc(src);
	}
	*out = rows;
	*n_out = n;
	return 0;
}

int wa_store_pace_sent_since(wa_store *st, int64_t since_ms, wa_store_pace_sent_fn fn, void *arg)
{
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_sent_since, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, since_ms);
	int src;
	while (rc == 0 && (src = wa_stmt_step(s)) == WA_DB_ROW)
		rc = fn(arg, wa_stmt_col_i64(s, 0), wa_stmt_col_i64(s, 1));
	wa_store_stmt_done(s);
	if (rc != 0)
		return rc;
	return src == WA_DB_DONE ? 0 : wa_store_map_rc(src);
}

int wa_store_pace_prune(wa_store *st, int64_t before_ms)
{
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_prune, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, before_ms);
	return wa_store_stmt_exec(s);
}

static int exists(wa_store *st, const char *sql, int64_t instance_id, const char *jid, bool *yes)
{
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	wa_stmt_bind_text(s, 2, jid);
	int src = wa_stmt_step(s);
	wa_store_stmt_done(s);
	if (src != WA_DB_ROW && src != WA_DB_DONE)
		return wa_store_map_rc(src);
	*yes = src == WA_DB_ROW;
	return 0;
}

int wa_store_pace_known(wa_store *st, int64_t instance_id, const char *jid, bool *known)
{
	if (!jid)
		return WA_EINVAL;
	bool y = false;
	int rc = exists(st, sql_known_msg, instance_id, jid, &y);
	if (rc == 0 && !y)
		rc = exists(st, sql_known_pace, instance_id, jid, &y);
	if (rc == 0)
		*known = y;
	return rc;
}

int wa_store_pace_find(wa_store *st, int64_t instance_id, const char *key_id, int64_t *seq_out)
{
	if (!key_id || !*key_id)
		return WA_EINVAL;
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_find, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	wa_stmt_bind_text(s, 2, key_id);
	int src = wa_stmt_step(s);
	if (src == WA_DB_ROW)
		*seq_out = wa_stmt_col_i64(s, 0);
	wa_store_stmt_done(s);
	return src == WA_DB_ROW ? 0 : src == WA_DB_DONE ? WA_ENOTFOUND : wa_store_map_rc(src);
}

int wa_store_pace_delete(wa_store *st, int64_t seq)
{
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_delete, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, seq);
	rc = wa_store_stmt_exec(s);
	return rc == 0 && wa_store_changes(st) == 0 ? WA_ENOTFOUND : rc;
}

int wa_store_pace_set_first(wa_store *st, int64_t seq, bool first)
{
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_set_first, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, seq);
	wa_stmt_bind_i64(s, 2, first ? 1 : 0);
	return wa_store_stmt_exec(s);
}

int wa_store_pace_id_in_use(wa_store *st, int64_t instance_id, const char *key_id, bool *yes)
{
	if (!key_id)
		return WA_EINVAL;
	bool y = false;
	int rc = exists(st, sql_id_pace, instance_id, key_id, &y);
	if (rc == 0 && !y)
		rc = exists(st, sql_id_outbox, instance_id, key_id, &y);
	if (rc == 0)
		*yes = y;
	return rc;
}
