/* src/store/tctokens.c: privacy tokens (tctoken) per contact: the one the
 * contact issued to us with its timestamp, and when we issued ours. */
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"

static const char sql_get[] =
	"SELECT token, token_t, sender_t FROM privacy_tokens WHERE instance_id = ?1 AND jid = ?2";
/* a token older than the stored one never replaces it */
static const char sql_put[] =
	"INSERT INTO privacy_tokens (instance_id, jid, token, token_t) VALUES (?1, ?2, ?3, ?4)"
	" ON CONFLICT (instance_id, jid) DO UPDATE SET token = excluded.token, token_t = excluded.token_t"
	" WHERE excluded.token_t >= privacy_tokens.token_t";
static const char sql_issued[] =
	"INSERT INTO privacy_tokens (instance_id, jid, sender_t) VALUES (?1, ?2, ?3)"
	" ON CONFLICT (instance_id, jid) DO UPDATE SET sender_t = excluded.sender_t";

int wa_store_tctoken_get(wa_store *st, int64_t instance_id, const char *jid, uint8_t **token_out,
	size_t *token_len_out, int64_t *token_t_out, int64_t *sender_t_out)
{
	if (!wa_store_str_ok(jid, WA_STORE_JID_MAX) || !token_out || !token_len_out || !token_t_out ||
	    !sender_t_out)
		return WA_EINVAL;
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_get, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	wa_stmt_bind_text(s, 2, jid);
	int src = wa_stmt_step(s);
	if (src != WA_DB_ROW) {
		wa_store_stmt_done(s);
		return src == WA_DB_DONE ? WA_ENOTFOUND : wa_store_map_rc(src);
	}
	uint8_t *tok = NULL;
	size_t n = 0;
	if (!wa_stmt_col_null(s, 0))
		rc = wa_store_column_blob(s, 0, WA_STORE_TCTOKEN_MAX, &tok, &n);
	int64_t t = wa_stmt_col_i64(s, 1), sender_t = wa_stmt_col_i64(s, 2);
	wa_store_stmt_done(s);
	if (rc != 0)
		return rc;
	*token_out = tok;
	*token_len_out = tok ? n : 0;
	*token_t_out = t;
	*sender_t_out = sender_t;
	return 0;
}

int wa_store_tctoken_put(wa_store *st, int64_t instance_id, const char *jid, const uint8_t *token,
	size_t len, int64_t token_t)
{
	if (!wa_store_str_ok(jid, WA_STORE_JID_MAX) || !token || !len || len > WA_STORE_TCTOKEN_MAX ||
	    token_t <= 0)
		return WA_EINVAL;
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_put, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	wa_stmt_bind_text(s, 2, jid);
	wa_stmt_bind_blob(s, 3, token, len);
	wa_stmt_bind_i64(s, 4, token_t);
	return wa_store_stmt_exec(s);
}

int wa_store_tctoken_issued(wa_store *st, int64_t instance_id, const char *jid, int64_t sender_t)
{
	if (!wa_store_str_ok(jid, WA_STORE_JID_MAX) || sender_t <= 0)
		return WA_EINVAL;
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_issued, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	wa_stmt_bind_text(s, 2, jid);
	wa_stmt_bind_i64(s, 3, sender_t);
	return wa_store_stmt_exec(s);
}
