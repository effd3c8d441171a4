/* libwa's outbox as the operator sees it: the messages the session has not
 * had acknowledged by the server yet (queued, or sent and awaiting the
 * ack), oldest first, without their payloads. Read-only: the session alone
 * moves rows between states (messages.c). */
#include <stdio.h>
#include <string.h>

#include "wa/store_daemon.h"
#include "store/internal.h"

static const char sql_list[] =
	"SELECT id, chat_jid, msg_id, state, attempts, created_at, updated_at FROM outbox"
	" WHERE instance_id = ?1 AND state IN (0, 1) ORDER BY id LIMIT ?2";
static const char sql_count[] = "SELECT count(*) FROM outbox WHERE instance_id = ?1 AND state IN (0, 1)";

int wa_store_outbox_pending(wa_store *st, int64_t instance_id, int limit, wa_store_outbox_info_fn fn, void *arg,
			    int64_t *total_out)
{
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_count, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	int src = wa_stmt_step(s);
	if (src == WA_DB_ROW)
		*total_out = wa_stmt_col_i64(s, 0);
	rc = src == WA_DB_ROW ? 0 : wa_store_map_rc(src);
	wa_store_stmt_done(s);
	if (rc != 0 || (rc = wa_store_stmt(st, sql_list, &s)) != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	wa_stmt_bind_i64(s, 2, limit);
	while ((src = wa_stmt_step(s)) == WA_DB_ROW) {
		wa_store_outbox_info r;
		memset(&r, 0, sizeof r);
		r.id = wa_stmt_col_i64(s, 0);
		const char *v = wa_stmt_col_text(s, 1);
		snprintf(r.chat_jid, sizeof r.chat_jid, "%s", v ? (const char *)v : "");
		v = wa_stmt_col_text(s, 2);
		snprintf(r.msg_id, sizeof r.msg_id, "%s", v ? (const char *)v : "");
		r.sending = wa_stmt_col_int(s, 3) == 1;
		r.attempts = wa_stmt_col_int(s, 4);
		r.created_ms = wa_stmt_col_i64(s, 5);
		r.updated_ms = wa_stmt_col_i64(s, 6);
		fn(arg, &r);
	}
	rc = src == WA_DB_DONE ? 0 : wa_store_map_rc(src);
	wa_store_stmt_done(s);
	return rc;
}
