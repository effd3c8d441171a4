/* src/store/messages.c: decrypted messages (kept for dedupe: a redelivered
 * ciphertext must return the stored plaintext, since the ratchet has already
 * moved past it) and the outbox of queued outgoing messages. With
 * seal_messages both bodies are sealed like the key columns; each row says
 * whether it is (column sealed), so rows from before a change stay readable. */
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"
#include "util/seams.h"

#define MSG_ID_MAX 256

static const char sql_ins[] =
	"INSERT INTO messages (instance_id, chat_jid, msg_id, from_me, sender_jid, timestamp, status, plaintext,"
	" created_at, sealed) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
	" ON CONFLICT (instance_id, chat_jid, msg_id, from_me) DO NOTHING";
static const char sql_get[] =
	"SELECT id, chat_jid, msg_id, from_me, sender_jid, timestamp, status, plaintext, sealed FROM messages"
	" WHERE instance_id = ?1 AND chat_jid = ?2 AND msg_id = ?3 AND from_me = ?4";
static const char sql_body[] = "UPDATE messages SET plaintext = ?5, sealed = ?6"
			       " WHERE instance_id = ?1 AND chat_jid = ?2 AND msg_id = ?3 AND from_me = ?4";
static const char sql_status[] = "UPDATE messages SET status = ?5"
				 " WHERE instance_id = ?1 AND chat_jid = ?2 AND msg_id = ?3 AND from_me = ?4";

static const char sql_ob_add[] =
	"INSERT INTO outbox (instance_id, chat_jid, msg_id, payload, state, created_at, updated_at, sealed)"
	" VALUES (?1, ?2, ?3, ?4, 0, ?5, ?5, ?6)";
static const char sql_ob_state[] =
	"UPDATE outbox SET state = ?3, updated_at = ?4, attempts = attempts + CASE WHEN CAST(?3 AS BIGINT) = 1 THEN 1 ELSE 0 END"
	" WHERE instance_id = ?1 AND id = ?2";
/* ?2 is "\n" + the skipped chats joined by "\n" + "\n" ("" skips none): a
 * chat is skipped when "\n<chat>\n" occurs in it (JIDs hold no newline).
 * The outbox_state index still walks the queue in id order. */
static const char sql_ob_next[] =
	"SELECT id, msg_id, chat_jid, payload, sealed FROM outbox WHERE instance_id = ?1 AND state = 0"
	" AND replace(CAST(?2 AS TEXT), '\n' || chat_jid || '\n', '') = ?2 ORDER BY id LIMIT 1";
static const char sql_ob_update[] =
	"UPDATE outbox SET state = ?3, payload = ?4, updated_at = ?5, attempts = attempts + CASE WHEN CAST(?3 AS BIGINT) = 1 THEN 1 ELSE 0 END, sealed = ?6"
	" WHERE instance_id = ?1 AND id = ?2";
static const char sql_ob_requeue[] =
	"UPDATE outbox SET state = 0, updated_at = ?2 WHERE instance_id = ?1 AND state = 1";

/* Binds a message body at idx and the sealed flag at idx_flag. */
static int bind_body(wa_store *st, wa_stmt *s, int idx, int idx_flag, const uint8_t *p, size_t n,
	bool null_if_empty)
{
	wa_stmt_bind_i64(s, idx_flag, st->seal_messages ? 1 : 0);
	if (st->seal_messages)
		return wa_store_bind_sealed_max(st, s, idx, p, n, WA_STORE_MAX_PLAINTEXT);
	if (n || !null_if_empty)
		wa_stmt_bind_blob(s, idx, n ? (const void *)p : "", n);
	return 0;
}

static int column_body(wa_store *st, wa_stmt *s, int col, int col_flag, uint8_t **out, size_t *out_len)
{
	if (wa_stmt_col_int(s, col_flag))
		return wa_store_column_sealed(st, s, col, WA_STORE_MAX_PLAINTEXT, out, out_len);
	return wa_store_column_blob(s, col, WA_STORE_MAX_PLAINTEXT, out, out_len);
}

int wa_store_msg_insert(wa_store *st, int64_t instance_id, const wa_store_msg *m, bool *existed_out)
{
	if (!m || !wa_store_str_ok(m->chat_jid, WA_STORE_JID_MAX) || !wa_store_str_ok(m->msg_id, MSG_ID_MAX) ||
	    (m->sender_jid && !wa_store_str_ok(m->sender_jid, WA_STORE_JID_MAX)) ||
	    (m->plaintext_len && !m->plaintext))
		return WA_EINVAL;
	if (m->plaintext_len > WA_STORE_MAX_PLAINTEXT)
		return WA_ETOOBIG;
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_ins, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	wa_stmt_bind_text(s, 2, m->chat_jid);
	wa_stmt_bind_text(s, 3, m->msg_id);
	wa_stmt_bind_i64(s, 4, m->from_me ? 1 : 0);
	if (m->sender_jid)
		wa_stmt_bind_text(s, 5, m->sender_jid);
	wa_stmt_bind_i64(s, 6, m->timestamp);
	wa_stmt_bind_i64(s, 7, m->status);
	rc = bind_body(st, s, 8, 10, m->plaintext, m->plaintext_len, true);
	if (rc != 0) {
		wa_store_stmt_done(s);
		return rc;
	}
	wa_stmt_bind_i64(s, 9, wa_now_ms());
	rc = wa_store_stmt_exec(s);
	if (rc == 0 && existed_out)
		*existed_out = wa_store_changes(st) == 0;
	return rc;
}

void wa_store_msg_row_free(wa_store_msg_row *row)
{
	if (!row)
		return;
	free(row->chat_jid);
	free(row->msg_id);
	free(row->sender_jid);
	wa_store_free(row->plaintext, row->plaintext_len);
	free(row);
}

int wa_store_msg_load(wa_store *st, int64_t instance_id, const char *chat_jid, const char *msg_id, bool from_me,
	wa_store_msg_row **out)
{
	if (!wa_store_str_ok(chat_jid, WA_STORE_JID_MAX) || !wa_store_str_ok(msg_id, MSG_ID_MAX) || !out)
		return WA_EINVAL;
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_get, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	wa_stmt_bind_text(s, 2, chat_jid);
	wa_stmt_bind_text(s, 3, msg_id);
	wa_stmt_bind_i64(s, 4, from_me ? 1 : 0);
	int src = wa_stmt_step(s);
	if (src != WA_DB_ROW) {
		wa_store_stmt_done(s);
		return src == WA_DB_DONE ? WA_ENOTFOUND : wa_store_map_rc(src);
	}
	wa_store_msg_row *r = calloc(1, sizeof *r);
	if (!r) {
		wa_store_stmt_done(s);
		return WA_ENOMEM;
	}
	r->row_id = wa_stmt_col_i64(s, 0);
	rc = wa_store_column_strdup(s, 1, WA_STORE_JID_MAX, &r->chat_jid);
	if (rc == 0)
		rc = wa_store_column_strdup(s, 2, MSG_ID_MAX, &r->msg_id);
	r->from_me = wa_stmt_col_int(s, 3) != 0;
	if (rc == 0)
		rc = wa_store_column_strdup(s, 4, WA_STORE_JID_MAX, &r->sender_jid);
	r->timestamp = wa_stmt_col_i64(s, 5);
	r->status = wa_stmt_col_int(s, 6);
	if (rc == 0)
		rc = column_body(st, s, 7, 8, &r->plaintext, &r->plaintext_len);
	wa_store_stmt_done(s);
	if (rc == WA_ETOOBIG)
		rc = WA_EDB_CORRUPT;
	if (rc != 0) {
		wa_store_msg_row_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

int wa_store_msg_set_status(wa_store *st, int64_t instance_id, const char *chat_jid, const char *msg_id,
	bool from_me, int status)
{
	if (!wa_store_str_ok(chat_jid, WA_STORE_JID_MAX) || !wa_store_str_ok(msg_id, MSG_ID_MAX))
		return WA_EINVAL;
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_status, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	wa_stmt_bind_text(s, 2, chat_jid);
	wa_stmt_bind_text(s, 3, msg_id);
	wa_stmt_bind_i64(s, 4, from_me ? 1 : 0);
	wa_stmt_bind_i64(s, 5, status);
	rc = wa_store_stmt_exec(s);
	if (rc == 0 && wa_store_changes(st) == 0)
		rc = WA_ENOTFOUND;
	return rc;
}

int wa_store_msg_set_plaintext(wa_store *st, int64_t instance_id, const char *chat_jid, const char *msg_id,
	bool from_me, const uint8_t *plaintext, size_t plaintext_len)
{
	if (!wa_store_str_ok(chat_jid, WA_STORE_JID_MAX) || !wa_store_str_ok(msg_id, MSG_ID_MAX) ||
	    (plaintext_len && !plaintext))
		return WA_EINVAL;
	if (plaintext_len > WA_STORE_MAX_PLAINTEXT)
		return WA_ETOOBIG;
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_body, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	wa_stmt_bind_text(s, 2, chat_jid);
	wa_stmt_bind_text(s, 3, msg_id);
	wa_stmt_bind_i64(s, 4, from_me ? 1 : 0);
	rc = bind_body(st, s, 5, 6, plaintext, plaintext_len, true);
	if (rc != 0) {
		wa_store_stmt_done(s);
		return rc;
	}
	rc = wa_store_stmt_exec(s);
	if (rc == 0 && wa_store_changes(st) == 0)
		rc = WA_ENOTFOUND;
	return rc;
}

int wa_store_outbox_add(wa_store *st, int64_t instance_id, const char *chat_jid, const char *msg_id,
	const uint8_t *payload, size_t payload_len, int64_t *row_id_out)
{
	if (!wa_store_str_ok(chat_jid, WA_STORE_JID_MAX) || !wa_store_str_ok(msg_id, MSG_ID_MAX) ||
	    (payload_len && !payload))
		return WA_EINVAL;
	if (payload_len > WA_STORE_MAX_PLAINTEXT)
		return WA_ETOOBIG;
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_ob_add, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	wa_stmt_bind_text(s, 2, chat_jid);
	wa_stmt_bind_text(s, 3, msg_id);
	rc = bind_body(st, s, 4, 6, payload, payload_len, false);
	if (rc != 0) {
		wa_store_stmt_done(s);
		return rc;
	}
	wa_stmt_bind_i64(s, 5, wa_now_ms());
	rc = wa_store_stmt_exec(s);
	if (rc == 0 && row_id_out)
		*row_id_out = wa_store_last_insert_id(st);
	return rc;
}

int wa_store_outbox_set_state(wa_store *st, int64_t instance_id, int64_t row_id, int state)
{
	if (state < WA_STORE_OUTBOX_QUEUED || state > WA_STORE_OUTBOX_FAILED)
		return WA_EINVAL;
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_ob_state, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	wa_stmt_bind_i64(s, 2, row_id);
	wa_stmt_bind_i64(s, 3, state);
	wa_stmt_bind_i64(s, 4, wa_now_ms());
	rc = wa_store_stmt_exec(s);
	if (rc == 0 && wa_store_changes(st) == 0)
		rc = WA_ENOTFOUND;
	return rc;
}

int wa_store_outbox_next(wa_store *st, int64_t instance_id, int64_t *row_id_out, char **msg_id_out,
	char **chat_jid_out, uint8_t **payload_out, size_t *payload_len_out)
{
	return wa_store_outbox_next_skip(st, instance_id, NULL, 0, row_id_out, msg_id_out, chat_jid_out,
		payload_out, payload_len_out);
}

int wa_store_outbox_next_skip(wa_store *st, int64_t instance_id, const char *const *skip, size_t n_skip,
	int64_t *row_id_out, char **msg_id_out, char **chat_jid_out, uint8_t **payload_out,
	size_t *payload_len_out)
{
	if (n_skip > WA_STORE_OUTBOX_MAX_SKIP || (n_skip && !skip))
		return WA_EINVAL;
	/* worst case: n_skip JIDs of WA_STORE_JID_MAX - 1 bytes plus separators */
	char list[WA_STORE_OUTBOX_MAX_SKIP * WA_STORE_JID_MAX + 2];
	size_t len = 0;
	for (size_t i = 0; i < n_skip; i++) {
		if (!wa_store_str_ok(skip[i], WA_STORE_JID_MAX) || !skip[i][0] || strchr(skip[i], '\n'))
			return WA_EINVAL;
		size_t l = strlen(skip[i]);
		list[len++] = '\n';
		memcpy(list + len, skip[i], l);
		len += l;
	}
	if (n_skip)
		list[len++] = '\n';
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_ob_next, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	wa_stmt_bind_text_n(s, 2, list, (int)len);
	int src = wa_stmt_step(s);
	if (src != WA_DB_ROW) {
		wa_store_stmt_done(s);
		return src == WA_DB_DONE ? WA_ENOTFOUND : wa_store_map_rc(src);
	}
	char *mid = NULL, *chat = NULL;
	uint8_t *pl = NULL;
	size_t pl_len = 0;
	int64_t id = wa_stmt_col_i64(s, 0);
	rc = wa_store_column_strdup(s, 1, MSG_ID_MAX, &mid);
	if (rc == 0)
		rc = wa_store_column_strdup(s, 2, WA_STORE_JID_MAX, &chat);
	if (rc == 0)
		rc = column_body(st, s, 3, 4, &pl, &pl_len);
	wa_store_stmt_done(s);
	if (rc == 0 && (!mid || !chat))
		rc = WA_EDB_CORRUPT;
	if (rc != 0) {
		free(mid);
		free(chat);
		wa_store_free(pl, pl_len);
		return rc == WA_ETOOBIG ? WA_EDB_CORRUPT : rc;
	}
	*row_id_out = id;
	*msg_id_out = mid;
	*chat_jid_out = chat;
	*payload_out = pl;
	*payload_len_out = pl_len;
	return 0;
}

int wa_store_outbox_update(wa_store *st, int64_t instance_id, int64_t row_id, int state,
	const uint8_t *payload, size_t payload_len)
{
	if (state < WA_STORE_OUTBOX_QUEUED || state > WA_STORE_OUTBOX_FAILED || (payload_len && !payload))
		return WA_EINVAL;
	if (payload_len > WA_STORE_MAX_PLAINTEXT)
		return WA_ETOOBIG;
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_ob_update, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	wa_stmt_bind_i64(s, 2, row_id);
	wa_stmt_bind_i64(s, 3, state);
	rc = bind_body(st, s, 4, 6, payload, payload_len, false);
	if (rc != 0) {
		wa_store_stmt_done(s);
		return rc;
	}
	wa_stmt_bind_i64(s, 5, wa_now_ms());
	rc = wa_store_stmt_exec(s);
	if (rc == 0 && wa_store_changes(st) == 0)
		rc = WA_ENOTFOUND;
	return rc;
}

int wa_store_outbox_requeue(wa_store *st, int64_t instance_id, size_t *n_out)
{
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_ob_requeue, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	wa_stmt_bind_i64(s, 2, wa_now_ms());
	rc = wa_store_stmt_exec(s);
	if (rc == 0 && n_out)
		*n_out = (size_t)wa_store_changes(st);
	return rc;
}
