/* src/store/history.c: chats and pending history-sync imports (history.h). */
#include <stdlib.h>
#include <string.h>

#include "store/history.h"
#include "store/internal.h"

static const char sql_chat_put[] =
	"INSERT INTO chats (instance_id, jid, name, unread_count, last_msg_ts, conversation_ts, archived, pinned,"
	" marked_unread, muted_until, pn_jid, lid_jid)"
	" VALUES (?1, ?2, ?3, CASE WHEN coalesce(CAST(?4 AS BIGINT), 0) > 0 THEN coalesce(CAST(?4 AS BIGINT), 0) ELSE 0 END,"
	" coalesce(CAST(?5 AS BIGINT), 0), coalesce(CAST(?6 AS BIGINT), 0), coalesce(CAST(?7 AS BIGINT), 0),"
	" coalesce(CAST(?8 AS BIGINT), 0), coalesce(CAST(?9 AS BIGINT), 0), coalesce(CAST(?10 AS BIGINT), 0), ?11, ?12)"
	" ON CONFLICT (instance_id, jid) DO UPDATE SET name = coalesce(excluded.name, chats.name),"
	" unread_count = coalesce(?4, chats.unread_count),"
	" last_msg_ts = CASE WHEN excluded.last_msg_ts > chats.last_msg_ts THEN excluded.last_msg_ts"
	" ELSE chats.last_msg_ts END,"
	" conversation_ts = CASE WHEN excluded.conversation_ts > chats.conversation_ts THEN excluded.conversation_ts"
	" ELSE chats.conversation_ts END, archived = coalesce(?7, chats.archived),"
	" pinned = coalesce(?8, chats.pinned), marked_unread = coalesce(?9, chats.marked_unread),"
	" muted_until = coalesce(?10, chats.muted_until), pn_jid = coalesce(excluded.pn_jid, chats.pn_jid),"
	" lid_jid = coalesce(excluded.lid_jid, chats.lid_jid)";

static void bind_opt(wa_stmt *s, int i, int64_t v)
{
	if (v >= 0)
		wa_stmt_bind_i64(s, i, v);
}

static void bind_str(wa_stmt *s, int i, const char *v)
{
	if (v)
		wa_stmt_bind_text(s, i, v);
}

int wa_store_chat_put(wa_store *st, int64_t instance_id, const wa_store_chat *c)
{
	if (!c || !wa_store_str_ok(c->jid, WA_STORE_JID_MAX) ||
	    (c->name && memchr(c->name, '\0', WA_STORE_CHAT_NAME_MAX) == NULL) ||
	    (c->pn_jid && !wa_store_str_ok(c->pn_jid, WA_STORE_JID_MAX)) ||
	    (c->lid_jid && !wa_store_str_ok(c->lid_jid, WA_STORE_JID_MAX)))
		return WA_EINVAL;
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_chat_put, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	wa_stmt_bind_text(s, 2, c->jid);
	bind_str(s, 3, c->name);
	bind_opt(s, 4, c->unread_count);
	wa_stmt_bind_i64(s, 5, c->last_msg_ts > 0 ? c->last_msg_ts : 0);
	wa_stmt_bind_i64(s, 6, c->conversation_ts > 0 ? c->conversation_ts : 0);
	bind_opt(s, 7, c->archived);
	bind_opt(s, 8, c->pinned);
	bind_opt(s, 9, c->marked_unread);
	if (c->muted_until != WA_STORE_KEEP_MUTE)
		wa_stmt_bind_i64(s, 10, c->muted_until);
	bind_str(s, 11, c->pn_jid);
	bind_str(s, 12, c->lid_jid);
	return wa_store_stmt_exec(s);
}

static const char sql_chat_del[] = "DELETE FROM chats WHERE instance_id = ?1 AND jid = ?2";

int wa_store_chat_del(wa_store *st, int64_t instance_id, const char *jid)
{
	if (!wa_store_str_ok(jid, WA_STORE_JID_MAX))
		return WA_EINVAL;
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_chat_del, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	wa_stmt_bind_text(s, 2, jid);
	return wa_store_stmt_exec(s);
}

static const char sql_chat_list[] =
	"SELECT jid, name, pn_jid, lid_jid, unread_count, last_msg_ts, conversation_ts, muted_until, archived,"
	" marked_unread, pinned FROM chats WHERE instance_id = ?1 AND (CAST(?2 AS TEXT) IS NULL OR jid = ?2)"
	" ORDER BY CASE WHEN conversation_ts > last_msg_ts THEN conversation_ts ELSE last_msg_ts END DESC, jid"
	" LIMIT ?3 OFFSET ?4";

static int col_str(wa_stmt *s, int col, size_t max, char **out)
{
	if (wa_stmt_col_null(s, col)) {
		*out = NULL;
		return 0;
	}
	return wa_store_column_strdup(s, col, max, out);
}

void wa_store_chat_rows_free(wa_store_chat_row *rows, size_t n)
{
	for (size_t i = 0; rows && i < n; i++) {
		free(rows[i].jid);
		free(rows[i].name);
		free(rows[i].pn_jid);
		free(rows[i].lid_jid);
	}
	free(rows);
}

int wa_store_chat_list(wa_store *st, int64_t instance_id, const char *jid, int64_t offset, int64_t limit,
	wa_store_chat_row **rows_out, size_t *n_out)
{
	if (!rows_out || !n_out || limit < 0 || offset < 0 || (jid && !wa_store_str_ok(jid, WA_STORE_JID_MAX)))
		return WA_EINVAL;
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_chat_list, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	bind_str(s, 2, jid);
	wa_stmt_bind_i64(s, 3, limit);
	wa_stmt_bind_i64(s, 4, offset);
	wa_store_chat_row *rows = NULL;
	size_t n = 0, cap = 0;
	int src;
	while ((src = wa_stmt_step(s)) == WA_DB_ROW) {
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 32;
			wa_store_chat_row *nr = realloc(rows, nc * sizeof *nr);
			if (!nr) {
				rc = WA_ENOMEM;
				break;
			}
			rows = nr;
			cap = nc;
		}
		wa_store_chat_row *r = &rows[n];
		memset(r, 0, sizeof *r);
		n++;
		if ((rc = col_str(s, 0, WA_STORE_JID_MAX, &r->jid)) || (rc = col_str(s, 1, WA_STORE_CHAT_NAME_MAX, &r->name)) ||
		    (rc = col_str(s, 2, WA_STORE_JID_MAX, &r->pn_jid)) || (rc = col_str(s, 3, WA_STORE_JID_MAX, &r->lid_jid)))
			break;
		r->unread_count = wa_stmt_col_i64(s, 4);
		r->last_msg_ts = wa_stmt_col_i64(s, 5);
		r->conversation_ts = wa_stmt_col_i64(s, 6);
		r->muted_until = wa_stmt_col_i64(s, 7);
		r->archived = wa_stmt_col_i64(s, 8) != 0;
		r->marked_unread = wa_stmt_col_i64(s, 9) != 0;
		r->pinned = wa_stmt_col_i64(s, 10);
	}
	if (rc == 0 && src != WA_DB_DONE)
		rc = wa_store_map_rc(src);
	wa_store_stmt_done(s);
	if (rc != 0) {
		wa_store_chat_rows_free(rows, n);
		return rc;
	}
	*rows_out = rows;
	*n_out = n;
	return 0;
}

static const char sql_contact_list[] =
	"SELECT jid, lid, push_name, full_name FROM contacts WHERE instance_id = ?1 AND (CAST(?2 AS TEXT) IS NULL OR jid = ?2)"
	" AND (push_name IS NOT NULL OR full_name IS NOT NULL) ORDER BY jid LIMIT ?3 OFFSET ?4";

void wa_store_contact_rows_free(wa_store_contact_row *rows, size_t n)
{
	for (size_t i = 0; rows && i < n; i++) {
		free(rows[i].jid);
		free(rows[i].lid);
		free(rows[i].push_name);
		free(rows[i].full_name);
	}
	free(rows);
}

int wa_store_contact_list(wa_store *st, int64_t instance_id, const char *jid, int64_t offset, int64_t limit,
	wa_store_contact_row **rows_out, size_t *n_out)
{
	if (!rows_out || !n_out || limit < 0 || offset < 0 || (jid && !wa_store_str_ok(jid, WA_STORE_JID_MAX)))
		return WA_EINVAL;
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_contact_list, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	bind_str(s, 2, jid);
	wa_stmt_bind_i64(s, 3, limit);
	wa_stmt_bind_i64(s, 4, offset);
	wa_store_contact_row *rows = NULL;
	size_t n = 0, cap = 0;
	int src;
	while ((src = wa_stmt_step(s)) == WA_DB_ROW) {
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 32;
			wa_store_contact_row *nr = realloc(rows, nc * sizeof *nr);
			if (!nr) {
				rc = WA_ENOMEM;
				break;
			}
			rows = nr;
			cap = nc;
		}
		wa_store_contact_row *r = &rows[n];
		memset(r, 0, sizeof *r);
		n++;
		if ((rc = col_str(s, 0, WA_STORE_JID_MAX, &r->jid)) || (rc = col_str(s, 1, WA_STORE_JID_MAX, &r->lid)) ||
		    (rc = col_str(s, 2, WA_STORE_PUSH_NAME_MAX, &r->push_name)) ||
		    (rc = col_str(s, 3, WA_STORE_CHAT_NAME_MAX, &r->full_name)))
			break;
	}
	if (rc == 0 && src != WA_DB_DONE)
		rc = wa_store_map_rc(src);
	wa_store_stmt_done(s);
	if (rc != 0) {
		wa_store_contact_rows_free(rows, n);
		return rc;
	}
	*rows_out = rows;
	*n_out = n;
	return 0;
}

static const char sql_h_add[] =
	"INSERT INTO history_pending (instance_id, msg_id, chat_jid, notification) VALUES (?1, ?2, ?3, ?4)"
	" ON CONFLICT DO NOTHING";
static const char sql_h_next[] =
	"SELECT msg_id, chat_jid, notification, convs_done FROM history_pending WHERE instance_id = ?1 ORDER BY id"
	" LIMIT 1 OFFSET ?2";
static const char sql_h_prog[] = "UPDATE history_pending SET convs_done = ?3 WHERE instance_id = ?1 AND msg_id = ?2";
static const char sql_h_del[] = "DELETE FROM history_pending WHERE instance_id = ?1 AND msg_id = ?2";
static const char sql_h_has[] = "SELECT 1 FROM history_pending WHERE instance_id = ?1 AND msg_id = ?2";

int wa_store_hist_add(wa_store *st, int64_t instance_id, const char *msg_id, const char *chat_jid,
	const uint8_t *notif, size_t len)
{
	if (!wa_store_str_ok(msg_id, WA_STORE_JID_MAX) || !wa_store_str_ok(chat_jid, WA_STORE_JID_MAX) || !notif ||
	    len == 0 || len > WA_STORE_HIST_NOTIF_MAX)
		return WA_EINVAL;
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_h_add, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	wa_stmt_bind_text(s, 2, msg_id);
	wa_stmt_bind_text(s, 3, chat_jid);
	rc = wa_store_bind_sealed_max(st, s, 4, notif, len, WA_STORE_HIST_NOTIF_MAX);
	if (rc != 0) {
		wa_store_stmt_done(s);
		return rc;
	}
	return wa_store_stmt_exec(s);
}

int wa_store_hist_next(wa_store *st, int64_t instance_id, char **msg_id_out, char **chat_out,
	uint8_t **notif_out, size_t *len_out, int64_t *convs_done_out)
{
	return wa_store_hist_nth(st, instance_id, 0, msg_id_out, chat_out, notif_out, len_out, convs_done_out);
}

int wa_store_hist_nth(wa_store *st, int64_t instance_id, int64_t nth, char **msg_id_out, char **chat_out,
	uint8_t **notif_out, size_t *len_out, int64_t *convs_done_out)
{
	if (nth < 0)
		return WA_EINVAL;
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_h_next, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	wa_stmt_bind_i64(s, 2, nth);
	int src = wa_stmt_step(s);
	if (src != WA_DB_ROW) {
		wa_store_stmt_done(s);
		return src == WA_DB_DONE ? WA_ENOTFOUND : wa_store_map_rc(src);
	}
	char *id = NULL, *chat = NULL;
	uint8_t *n = NULL;
	size_t nl = 0;
	rc = wa_store_column_strdup(s, 0, WA_STORE_JID_MAX, &id);
	if (rc == 0)
		rc = wa_store_column_strdup(s, 1, WA_STORE_JID_MAX, &chat);
	if (rc == 0)
		rc = wa_store_column_sealed(st, s, 2, WA_STORE_HIST_NOTIF_MAX, &n, &nl);
	int64_t done = wa_stmt_col_i64(s, 3);
	wa_store_stmt_done(s);
	if (rc != 0) {
		free(id);
		free(chat);
		free(n);
		return rc == WA_ETOOBIG ? WA_EDB_CORRUPT : rc;
	}
	*msg_id_out = id;
	*chat_out = chat;
	*notif_out = n;
	*len_out = nl;
	*convs_done_out = done;
	return 0;
}

static int by_id(wa_store *st, const char *sql, int64_t instance_id, const char *msg_id, int64_t v, bool bind3)
{
	if (!wa_store_str_ok(msg_id, WA_STORE_JID_MAX))
		return WA_EINVAL;
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	wa_stmt_bind_text(s, 2, msg_id);
	if (bind3)
		wa_stmt_bind_i64(s, 3, v);
	return wa_store_stmt_exec(s);
}

int wa_store_hist_progress(wa_store *st, int64_t instance_id, const char *msg_id, int64_t convs_done)
{
	return by_id(st, sql_h_prog, instance_id, msg_id, convs_done, true);
}

int wa_store_hist_del(wa_store *st, int64_t instance_id, const char *msg_id)
{
	return by_id(st, sql_h_del, instance_id, msg_id, 0, false);
}

int wa_store_hist_pending(wa_store *st, int64_t instance_id, const char *msg_id, bool *exists_out)
{
	if (!wa_store_str_ok(msg_id, WA_STORE_JID_MAX) || !exists_out)
		return WA_EINVAL;
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_h_has, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	wa_stmt_bind_text(s, 2, msg_id);
	return wa_store_exists(s, exists_out);
}
