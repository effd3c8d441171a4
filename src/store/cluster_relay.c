/* src/store/cluster_relay.c: the cross-node parts of cluster mode
 * (wa/store_cluster.h): NOTIFY/LISTEN on the store's connection, and the
 * sends a node accepts for an instance another node drives (wamd_relay,
 * migration 0015). The insert of a relayed send and its NOTIFY are one
 * statement (NOTIFY is delivered at commit, so a woken owner finds the
 * row); the move of a row is fenced by the instance's lease (trigger). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/internal.h"
#include "wa/store_cluster.h"

#define NOW_MS "CAST(extract(epoch FROM clock_timestamp()) * 1000 AS BIGINT)"

static const char SQL_NOTIFY[] = "SELECT pg_notify(?1, ?2)";
/* ordinality: the server keeps the array's order */
static const char SQL_NOTIFY_MANY[] = "SELECT count(pg_notify(?1, v)) FROM (SELECT v FROM "
	"json_array_elements_text(CAST(?2 AS json)) WITH ORDINALITY AS e(v, k) ORDER BY k) AS o";
static const char SQL_RELAY_PUSH[] =
	"WITH r AS (INSERT INTO wamd_relay (instance_id, key_id, jid, send_at, payload, created_at) "
	"VALUES (?1, ?2, ?3, ?4, ?5, " NOW_MS ") RETURNING seq) "
	"SELECT r.seq, pg_notify(?6, CAST(?1 AS TEXT)) FROM r";
static const char SQL_MEDIA_PUT[] = "INSERT INTO wamd_relay_media (seq, part, data) VALUES (?1, ?2, ?3)";
static const char SQL_MEDIA_GET[] = "SELECT data FROM wamd_relay_media WHERE seq = ?1 AND part = ?2";
/* the rows of instances this token holds unexpired, oldest first */
static const char SQL_RELAY_LIST[] =
	"SELECT r.seq, r.instance_id, r.key_id, r.jid, r.send_at, r.payload FROM wamd_relay r "
	"JOIN wamd_leases l ON l.instance_id = r.instance_id WHERE l.owner_token = ?1 AND l.expires_at > " NOW_MS
	" ORDER BY r.seq LIMIT ?2";
static const char SQL_RELAY_DONE[] = "DELETE FROM wamd_relay WHERE seq = ?1";

/* a channel name is an SQL identifier written into LISTEN: only these */
static bool channel_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > 63)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_' || (i && s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

int wa_store_cluster_listen(wa_store *st, const char *channel)
{
	if (!st || !channel_ok(channel))
		return WA_EINVAL;
	if (!st->pg)
		return WA_EUNSUPPORTED;
	char sql[80];
	snprintf(sql, sizeof sql, "LISTEN %s", channel);
	int rc = st->db->ops->exec(st->db, sql);
	return rc == 0 ? 0 : wa_store_map_rc(rc) ? wa_store_map_rc(rc) : WA_EDB;
}

int wa_store_cluster_socket(const wa_store *st)
{
	return st && st->pg ? wa_drv_pg_socket(st->db) : -1;
}

int wa_store_cluster_notifications(wa_store *st, wa_store_notify_fn fn, void *arg)
{
	if (!st || !fn)
		return WA_EINVAL;
	if (!st->pg)
		return WA_EUNSUPPORTED;
	return wa_drv_pg_notifies(st->db, fn, arg);
}

static int notify_stmt(wa_store *st, const char *sql, const char *channel, const char *arg)
{
	wa_stmt *stmt;
	int rc = wa_store_stmt(st, sql, &stmt);
	if (rc != 0)
		return rc;
	if ((rc = wa_stmt_bind_text(stmt, 1, channel)) != 0 || (rc = wa_stmt_bind_text(stmt, 2, arg)) != 0) {
		wa_store_stmt_done(stmt);
		return rc;
	}
	int src = wa_stmt_step(stmt);
	wa_store_stmt_done(stmt);
	return src == WA_DB_ROW ? 0 : wa_store_map_rc(src) ? wa_store_map_rc(src) : WA_EDB;
}

int wa_store_cluster_notify(wa_store *st, const char *channel, const char *payload)
{
	if (!st || !channel_ok(channel) || !payload || strlen(payload) >= WA_STORE_NOTIFY_MAX)
		return WA_EINVAL;
	if (!st->pg)
		return WA_EUNSUPPORTED;
	return notify_stmt(st, SQL_NOTIFY, channel, payload);
}

int wa_store_cluster_notify_many(wa_store *st, const char *channel, const char *payloads_json)
{
	if (!st || !channel_ok(channel) || !payloads_json)
		return WA_EINVAL;
	if (!st->pg)
		return WA_EUNSUPPORTED;
	return notify_stmt(st, SQL_NOTIFY_MANY, channel, payloads_json);
}

static int relay_insert(wa_store *st, int64_t instance_id, const char *key_id, const char *jid, int64_t send_at,
	const char *payload, const char *channel, int64_t *seq)
{
	wa_stmt *stmt;
	int rc = wa_store_stmt(st, SQL_RELAY_PUSH, &stmt);
	if (rc != 0)
		return rc;
	if ((rc = wa_stmt_bind_i64(stmt, 1, instance_id)) != 0 || (rc = wa_stmt_bind_text(stmt, 2, key_id)) != 0 ||
	    (rc = wa_stmt_bind_text(stmt, 3, jid)) != 0 || (rc = wa_stmt_bind_i64(stmt, 4, send_at)) != 0 ||
	    (rc = wa_stmt_bind_text(stmt, 5, payload)) != 0 || (rc = wa_stmt_bind_text(stmt, 6, channel)) != 0) {
		wa_store_stmt_done(stmt);
		return rc;
	}
	int src = wa_stmt_step(stmt);
	if (src == WA_DB_ROW)
		*seq = wa_stmt_col_i64(stmt, 0);
	wa_store_stmt_done(stmt);
	return src == WA_DB_ROW ? 0 : wa_store_map_rc(src) ? wa_store_map_rc(src) : WA_EDB;
}

static bool push_args_ok(wa_store *st, const char *key_id, const char *jid, const char *payload, const char *channel)
{
	return st && wa_store_str_ok(key_id, WA_STORE_RELAY_ID_MAX) && wa_store_str_ok(jid, WA_STORE_JID_MAX) &&
	       payload && channel_ok(channel);
}

int wa_store_relay_push(wa_store *st, int64_t instance_id, const char *key_id, const char *jid, int64_t send_at,
	const char *payload, const char *channel)
{
	if (!push_args_ok(st, key_id, jid, payload, channel))
		return WA_EINVAL;
	if (!st->pg)
		return WA_EUNSUPPORTED;
	int64_t seq = 0;
	return relay_insert(st, instance_id, key_id, jid, send_at, payload, channel, &seq);
}

static int media_part(wa_store *st, int64_t seq, int64_t part, const uint8_t *b, size_t n)
{
	wa_stmt *stmt;
	int rc = wa_store_stmt(st, SQL_MEDIA_PUT, &stmt);
	if (rc != 0)
		return rc;
	if ((rc = wa_stmt_bind_i64(stmt, 1, seq)) != 0 || (rc = wa_stmt_bind_i64(stmt, 2, part)) != 0 ||
	    (rc = wa_stmt_bind_blob(stmt, 3, b, n)) != 0) {
		wa_store_stmt_done(stmt);
		return rc;
	}
	return wa_store_stmt_exec(stmt);
}

int wa_store_relay_push_file(wa_store *st, int64_t instance_id, const char *key_id, const char *jid,
	int64_t send_at, const char *payload, const char *channel, int fd, uint64_t max)
{
	if (!push_args_ok(st, key_id, jid, payload, channel) || fd < 0)
		return WA_EINVAL;
	if (!st->pg)
		return WA_EUNSUPPORTED;
	uint8_t *buf = malloc(WA_STORE_RELAY_PART);
	if (!buf)
		return WA_ENOMEM;
	int rc = wa_store_begin(st);
	bool began = rc == 0;
	int64_t seq = 0, part = 0;
	uint64_t total = 0;
	if (rc == 0)
		rc = relay_insert(st, instance_id, key_id, jid, send_at, payload, channel, &seq);
	while (rc == 0) {
		size_t got = 0;
		while (got < WA_STORE_RELAY_PART) {
			ssize_t r = read(fd, buf + got, WA_STORE_RELAY_PART - got);
			if (r < 0) {
				rc = WA_EIO;
				break;
			}
			if (r == 0)
				break;
			got += (size_t)r;
		}
		if (rc != 0 || got == 0)
			break;
		if ((total += got) > max)
			rc = WA_ETOOBIG;
		else
			rc = media_part(st, seq, part++, buf, got);
	}
	free(buf);
	if (rc == 0)
		return wa_store_commit(st);
	if (began)
		(void)wa_store_rollback(st);
	return rc;
}

int wa_store_relay_media_get(wa_store *st, int64_t seq, int fd, uint64_t *len)
{
	if (!st || fd < 0 || !len)
		return WA_EINVAL;
	if (!st->pg)
		return WA_EUNSUPPORTED;
	*len = 0;
	for (int64_t part = 0;; part++) {
		wa_stmt *stmt;
		int rc = wa_store_stmt(st, SQL_MEDIA_GET, &stmt);
		if (rc != 0)
			return rc;
		if ((rc = wa_stmt_bind_i64(stmt, 1, seq)) != 0 || (rc = wa_stmt_bind_i64(stmt, 2, part)) != 0) {
			wa_store_stmt_done(stmt);
			return rc;
		}
		int src = wa_stmt_step(stmt);
		if (src != WA_DB_ROW) {
			wa_store_stmt_done(stmt);
			if (src != WA_DB_DONE)
				return wa_store_map_rc(src) ? wa_store_map_rc(src) : WA_EDB;
			return part ? 0 : WA_ENOTFOUND;
		}
		const uint8_t *b = wa_stmt_col_blob(stmt, 0);
		int n = wa_stmt_col_bytes(stmt, 0);
		size_t off = 0;
		while (rc == 0 && b && n > 0 && off < (size_t)n) {
			ssize_t w = write(fd, b + off, (size_t)n - off);
			if (w <= 0)
				rc = WA_EIO;
			else
				off += (size_t)w;
		}
		wa_store_stmt_done(stmt);
		if (rc != 0)
			return rc;
		*len += off;
	}
}

void wa_store_relay_free(wa_store_relay_row *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i].payload);
	free(v);
}

int wa_store_relay_list(wa_store *st, const char *token, size_t max, wa_store_relay_row **out, size_t *n)
{
	if (!st || !wa_store_str_ok(token, WA_STORE_NODE_MAX) || !max || !out || !n)
		return WA_EINVAL;
	if (!st->pg)
		return WA_EUNSUPPORTED;
	*out = NULL;
	*n = 0;
	wa_stmt *stmt;
	int rc = wa_store_stmt(st, SQL_RELAY_LIST, &stmt);
	if (rc != 0)
		return rc;
	if ((rc = wa_stmt_bind_text(stmt, 1, token)) != 0 ||
	    (rc = wa_stmt_bind_i64(stmt, 2, max > 1000 ? 1000 : (int64_t)max)) != 0) {
		wa_store_stmt_done(stmt);
		return rc;
	}
	wa_store_relay_row *v = calloc(max > 1000 ? 1000 : max, sizeof *v);
	size_t len = 0;
	int src = WA_DB_DONE;
	if (!v)
		rc = WA_ENOMEM;
	while (rc == 0 && (src = wa_stmt_step(stmt)) == WA_DB_ROW) {
		wa_store_relay_row *r = &v[len];
		r->seq = wa_stmt_col_i64(stmt, 0);
		r->instance_id = wa_stmt_col_i64(stmt, 1);
		const char *k = wa_stmt_col_text(stmt, 2), *j = wa_stmt_col_text(stmt, 3);
		snprintf(r->key_id, sizeof r->key_id, "%s", k ? k : "");
		snprintf(r->jid, sizeof r->jid, "%s", j ? j : "");
		r->send_at = wa_stmt_col_i64(stmt, 4);
		rc = wa_store_column_strdup(stmt, 5, WA_STORE_RELAY_PAYLOAD_MAX, &r->payload);
		if (rc == 0 && !r->payload)
			rc = WA_EDB;
		len++;
	}
	wa_store_stmt_done(stmt);
	if (rc == 0 && src != WA_DB_DONE)
		rc = wa_store_map_rc(src) ? wa_store_map_rc(src) : WA_EDB;
	if (rc != 0) {
		wa_store_relay_free(v, len);
		return rc;
	}
	*out = v;
	*n = len;
	return 0;
}

int wa_store_relay_done(wa_store *st, int64_t seq)
{
	if (!st)
		return WA_EINVAL;
	if (!st->pg)
		return WA_EUNSUPPORTED;
	wa_stmt *stmt;
	int rc = wa_store_stmt(st, SQL_RELAY_DONE, &stmt);
	if (rc != 0)
		return rc;
	if ((rc = wa_stmt_bind_i64(stmt, 1, seq)) != 0) {
		wa_store_stmt_done(stmt);
		return rc;
	}
	rc = wa_store_stmt_exec(stmt);
	if (rc == 0 && wa_store_changes(st) != 1)
		rc = WA_ENOTFOUND;
	return rc;
}
