/* src/store/cluster.c: leases of cluster mode (wa/store_cluster.h). Every
 * call is one statement (data-modifying WITH parts included), so a node's
 * timer holds the event loop for one round trip. Times come from the
 * database's clock, never a node's, so nodes need not agree on the time.
 * The fence itself is the trigger of migration 0011 (pg twin). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"
#include "wa/store_cluster.h"

#define NOW_MS "CAST(extract(epoch FROM clock_timestamp()) * 1000 AS BIGINT)"

/* A node paused inside a transaction would hold the schema's writer lock
 * (and its lease rows) from every other node: the server ends such a
 * session after half a lease (wamd's own transactions idle for at most a
 * few ms). */
static const char SQL_SET_TOKEN[] = "SELECT set_config('wamd.owner_token', ?1, false), "
	"set_config('idle_in_transaction_session_timeout', CAST(?2 AS TEXT), false)";
static const char SQL_HEARTBEAT[] =
	"INSERT INTO wamd_nodes (token, node_id, started_at, expires_at) VALUES (?1, ?2, " NOW_MS ", " NOW_MS
	" + ?3) ON CONFLICT (token) DO UPDATE SET expires_at = excluded.expires_at";
static const char SQL_RENEW[] =
	"WITH hb AS (UPDATE wamd_nodes SET started_at = CASE WHEN expires_at <= " NOW_MS " THEN " NOW_MS
	" ELSE started_at END, expires_at = " NOW_MS " + ?2 WHERE token = ?1) "
	"UPDATE wamd_leases SET expires_at = " NOW_MS " + ?2 WHERE owner_token = ?1 RETURNING instance_id, epoch";
/* The fair share counts every instance and every live node (this one's
 * heartbeat is written before it acquires). SKIP LOCKED: two nodes taking
 * at once never wait on each other nor take the same row. */
static const char SQL_ACQUIRE[] =
	"WITH seed AS (INSERT INTO wamd_leases (instance_id) SELECT id FROM instances "
	"ON CONFLICT (instance_id) DO NOTHING), "
	"share AS (SELECT (SELECT count(*) FROM instances) AS total, "
	"(SELECT count(*) FROM wamd_nodes WHERE expires_at > " NOW_MS ") AS nodes, "
	"(SELECT count(*) FROM wamd_leases WHERE owner_token = ?1 AND expires_at > " NOW_MS ") AS mine), "
	"pick AS (SELECT l.instance_id FROM wamd_leases l WHERE l.expires_at <= " NOW_MS " ORDER BY l.instance_id "
	"LIMIT (SELECT GREATEST(0, LEAST(CAST(?4 AS BIGINT), (total + GREATEST(nodes, 1) - 1) / GREATEST(nodes, 1) - mine)) "
	"FROM share) FOR UPDATE OF l SKIP LOCKED) "
	"UPDATE wamd_leases SET owner_node = ?2, owner_token = ?1, epoch = wamd_leases.epoch + 1, "
	"conn_state = 'connecting', expires_at = " NOW_MS " + ?3 FROM pick WHERE wamd_leases.instance_id = pick.instance_id "
	"RETURNING wamd_leases.instance_id, wamd_leases.epoch";
static const char SQL_CLAIM[] =
	"INSERT INTO wamd_leases (instance_id, owner_node, owner_token, epoch, expires_at, conn_state) "
	"VALUES (?1, ?2, ?3, 1, " NOW_MS " + ?4, 'close') ON CONFLICT (instance_id) DO UPDATE SET "
	"owner_node = excluded.owner_node, owner_token = excluded.owner_token, epoch = wamd_leases.epoch + 1, "
	"conn_state = excluded.conn_state, "
	"expires_at = excluded.expires_at WHERE wamd_leases.expires_at <= " NOW_MS
	" OR wamd_leases.owner_token = excluded.owner_token RETURNING epoch";
/* The token is cleared with the expiry, so this node's next renewal does
 * not bring the lease back. */
static const char SQL_RELEASE[] =
	"WITH gone AS (DELETE FROM wamd_nodes WHERE token = ?1 AND CAST(?2 AS BIGINT) < 0) "
	"UPDATE wamd_leases SET owner_token = '', expires_at = 0 WHERE owner_token = ?1 "
	"AND (CAST(?2 AS BIGINT) < 0 OR instance_id = ?2)";
static const char SQL_OWNER[] =
	"SELECT l.owner_node FROM wamd_leases l JOIN instances i ON i.id = l.instance_id "
	"WHERE i.name = ?1 AND l.owner_token <> '' AND l.expires_at > " NOW_MS;

/* settled nodes: live for at least ?1 ms without a lapse (a renewal after
 * its heartbeat ran out starts that time again) */
static const char SQL_COUNTS[] =
	"SELECT (SELECT count(*) FROM instances), (SELECT count(*) FROM wamd_nodes WHERE expires_at > " NOW_MS
	" AND started_at <= " NOW_MS " - ?1)";
static const char SQL_SET_STATE[] =
	"UPDATE wamd_leases SET conn_state = ?3 WHERE instance_id = ?2 AND owner_token = ?1";
/* what a node without the instance answers from: its holder's word, or
 * nothing when nobody holds it now */
static const char SQL_STATES[] =
	"SELECT i.id, CASE WHEN l.owner_token <> '' AND l.expires_at > " NOW_MS " THEN l.owner_node ELSE '' END, "
	"CASE WHEN l.owner_token <> '' AND l.expires_at > " NOW_MS " THEN l.conn_state ELSE '' END "
	"FROM instances i LEFT JOIN wamd_leases l ON l.instance_id = i.id "
	"WHERE CAST(?1 AS BIGINT) < 0 OR i.id = ?1 ORDER BY i.id";

static bool node_str_ok(const char *s)
{
	return wa_store_str_ok(s, WA_STORE_NODE_MAX);
}

/* Steps stmt to the end, collecting (instance_id, epoch) rows. */
static int collect(wa_stmt *stmt, wa_store_lease **out, size_t *n)
{
	wa_store_lease *v = NULL;
	size_t len = 0, cap = 0;
	int rc;
	while ((rc = wa_stmt_step(stmt)) == WA_DB_ROW) {
		if (len == cap) {
			size_t nc = cap ? cap * 2 : 16;
			wa_store_lease *nv = realloc(v, nc * sizeof *nv);
			if (!nv) {
				rc = WA_ENOMEM;
				break;
			}
			v = nv;
			cap = nc;
		}
		v[len].instance_id = wa_stmt_col_i64(stmt, 0);
		v[len].epoch = wa_stmt_col_i64(stmt, 1);
		len++;
	}
	wa_store_stmt_done(stmt);
	if (rc != WA_DB_DONE) {
		free(v);
		return rc == WA_ENOMEM ? rc : wa_store_map_rc(rc) ? wa_store_map_rc(rc) : WA_EDB;
	}
	*out = v;
	*n = len;
	return 0;
}

int wa_store_cluster_join(wa_store *st, const char *node_id, const char *token, int64_t lease_ms)
{
	if (!st || !node_str_ok(node_id) || !node_str_ok(token) || lease_ms <= 0)
		return WA_EINVAL;
	if (!st->pg)
		return WA_EUNSUPPORTED;
	wa_stmt *stmt;
	int rc = wa_store_stmt(st, SQL_SET_TOKEN, &stmt);
	if (rc != 0)
		return rc;
	rc = wa_stmt_bind_text(stmt, 1, token);
	if (rc == 0)
		rc = wa_stmt_bind_i64(stmt, 2, lease_ms / 2 > 1000 ? lease_ms / 2 : 1000);
	if (rc == 0) {
		rc = wa_stmt_step(stmt);
		rc = rc == WA_DB_ROW ? 0 : wa_store_map_rc(rc) ? wa_store_map_rc(rc) : WA_EDB;
	}
	wa_store_stmt_done(stmt);
	if (rc != 0)
		return rc;
	rc = wa_store_stmt(st, SQL_HEARTBEAT, &stmt);
	if (rc != 0)
		return rc;
	if ((rc = wa_stmt_bind_text(stmt, 1, token)) != 0 || (rc = wa_stmt_bind_text(stmt, 2, node_id)) != 0 ||
	    (rc = wa_stmt_bind_i64(stmt, 3, lease_ms)) != 0) {
		wa_store_stmt_done(stmt);
		return rc;
	}
	return wa_store_stmt_exec(stmt);
}

int wa_store_cluster_renew(wa_store *st, const char *token, int64_t lease_ms, wa_store_lease **out, size_t *n)
{
	if (!st || !node_str_ok(token) || lease_ms <= 0 || !out || !n)
		return WA_EINVAL;
	if (!st->pg)
		return WA_EUNSUPPORTED;
	wa_stmt *stmt;
	int rc = wa_store_stmt(st, SQL_RENEW, &stmt);
	if (rc != 0)
		return rc;
	if ((rc = wa_stmt_bind_text(stmt, 1, token)) != 0 || (rc = wa_stmt_bind_i64(stmt, 2, lease_ms)) != 0) {
		wa_store_stmt_done(stmt);
		return rc;
	}
	return collect(stmt, out, n);
}

int wa_store_cluster_acquire(wa_store *st, const char *node_id, const char *token, int64_t lease_ms, size_t max,
	wa_store_lease **out, size_t *n)
{
	if (!st || !node_str_ok(node_id) || !node_str_ok(token) || lease_ms <= 0 || !out || !n)
		return WA_EINVAL;
	if (!st->pg)
		return WA_EUNSUPPORTED;
	wa_stmt *stmt;
	int rc = wa_store_stmt(st, SQL_ACQUIRE, &stmt);
	if (rc != 0)
		return rc;
	if ((rc = wa_stmt_bind_text(stmt, 1, token)) != 0 || (rc = wa_stmt_bind_text(stmt, 2, node_id)) != 0 ||
	    (rc = wa_stmt_bind_i64(stmt, 3, lease_ms)) != 0 ||
	    (rc = wa_stmt_bind_i64(stmt, 4, max > INT64_MAX ? INT64_MAX : (int64_t)max)) != 0) {
		wa_store_stmt_done(stmt);
		return rc;
	}
	return collect(stmt, out, n);
}

int wa_store_cluster_claim(wa_store *st, int64_t instance_id, const char *node_id, const char *token,
	int64_t lease_ms, int64_t *epoch)
{
	if (!st || !node_str_ok(node_id) || !node_str_ok(token) || lease_ms <= 0 || !epoch)
		return WA_EINVAL;
	if (!st->pg)
		return WA_EUNSUPPORTED;
	wa_stmt *stmt;
	int rc = wa_store_stmt(st, SQL_CLAIM, &stmt);
	if (rc != 0)
		return rc;
	if ((rc = wa_stmt_bind_i64(stmt, 1, instance_id)) != 0 || (rc = wa_stmt_bind_text(stmt, 2, node_id)) != 0 ||
	    (rc = wa_stmt_bind_text(stmt, 3, token)) != 0 || (rc = wa_stmt_bind_i64(stmt, 4, lease_ms)) != 0) {
		wa_store_stmt_done(stmt);
		return rc;
	}
	int src = wa_stmt_step(stmt);
	if (src == WA_DB_ROW) {
		*epoch = wa_stmt_col_i64(stmt, 0);
		rc = 0;
	} else {
		rc = src == WA_DB_DONE ? WA_EEXIST : wa_store_map_rc(src) ? wa_store_map_rc(src) : WA_EDB;
	}
	wa_store_stmt_done(stmt);
	return rc;
}

int wa_store_cluster_release(wa_store *st, const char *token, int64_t instance_id)
{
	if (!st || !node_str_ok(token))
		return WA_EINVAL;
	if (!st->pg)
		return WA_EUNSUPPORTED;
	wa_stmt *stmt;
	int rc = wa_store_stmt(st, SQL_RELEASE, &stmt);
	if (rc != 0)
		return rc;
	if ((rc = wa_stmt_bind_text(stmt, 1, token)) != 0 || (rc = wa_stmt_bind_i64(stmt, 2, instance_id)) != 0) {
		wa_store_stmt_done(stmt);
		return rc;
	}
	return wa_store_stmt_exec(stmt);
}

int wa_store_cluster_owner(wa_store *st, const char *name, char node_out[WA_STORE_NODE_MAX])
{
	if (!st || !wa_store_str_ok(name, WA_STORE_NAME_MAX) || !node_out)
		return WA_EINVAL;
	if (!st->pg)
		return WA_EUNSUPPORTED;
	wa_stmt *stmt;
	int rc = wa_store_stmt(st, SQL_OWNER, &stmt);
	if (rc != 0)
		return rc;
	if ((rc = wa_stmt_bind_text(stmt, 1, name)) != 0) {
		wa_store_stmt_done(stmt);
		return rc;
	}
	int src = wa_stmt_step(stmt);
	if (src == WA_DB_ROW) {
		const char *s = wa_stmt_col_text(stmt, 0);
		snprintf(node_out, WA_STORE_NODE_MAX, "%s", s ? s : "");
		rc = 0;
	} else {
		rc = src == WA_DB_DONE ? WA_ENOTFOUND : wa_store_map_rc(src) ? wa_store_map_rc(src) : WA_EDB;
	}
	wa_store_stmt_done(stmt);
	return rc;
}

int64_t wa_store_cluster_fenced(const wa_store *st)
{
	return st && st->db ? wa_drv_pg_fenced(st->db) : 0;
}

int wa_store_cluster_set_state(wa_store *st, const char *token, int64_t instance_id, const char *state)
{
	if (!st || !node_str_ok(token) || !wa_store_str_ok(state, WA_STORE_CONN_STATE_MAX))
		return WA_EINVAL;
	if (!st->pg)
		return WA_EUNSUPPORTED;
	wa_stmt *stmt;
	int rc = wa_store_stmt(st, SQL_SET_STATE, &stmt);
	if (rc != 0)
		return rc;
	if ((rc = wa_stmt_bind_text(stmt, 1, token)) != 0 || (rc = wa_stmt_bind_i64(stmt, 2, instance_id)) != 0 ||
	    (rc = wa_stmt_bind_text(stmt, 3, state)) != 0) {
		wa_store_stmt_done(stmt);
		return rc;
	}
	return wa_store_stmt_exec(stmt);
}

int wa_store_cluster_states(wa_store *st, int64_t instance_id, wa_store_cluster_state_fn fn, void *arg)
{
	if (!st || !fn)
		return WA_EINVAL;
	if (!st->pg)
		return WA_EUNSUPPORTED;
	wa_stmt *stmt;
	int rc = wa_store_stmt(st, SQL_STATES, &stmt);
	if (rc != 0)
		return rc;
	if ((rc = wa_stmt_bind_i64(stmt, 1, instance_id)) != 0) {
		wa_store_stmt_done(stmt);
		return rc;
	}
	int src;
	while ((src = wa_stmt_step(stmt)) == WA_DB_ROW) {
		const char *node = wa_stmt_col_text(stmt, 1), *state = wa_stmt_col_text(stmt, 2);
		rc = fn(arg, wa_stmt_col_i64(stmt, 0), node ? node : "", state ? state : "");
		if (rc != 0)
			break;
	}
	wa_store_stmt_done(stmt);
	if (rc != 0)
		return rc;
	return src == WA_DB_DONE ? 0 : wa_store_map_rc(src) ? wa_store_map_rc(src) : WA_EDB;
}

int wa_store_cluster_counts(wa_store *st, int64_t settled_ms, int64_t *instances, int64_t *nodes)
{
	if (!st || settled_ms < 0 || !instances || !nodes)
		return WA_EINVAL;
	if (!st->pg)
		return WA_EUNSUPPORTED;
	wa_stmt *stmt;
	int rc = wa_store_stmt(st, SQL_COUNTS, &stmt);
	if (rc != 0)
		return rc;
	if ((rc = wa_stmt_bind_i64(stmt, 1, settled_ms)) != 0) {
		wa_store_stmt_done(stmt);
		return rc;
	}
	int src = wa_stmt_step(stmt);
	if (src == WA_DB_ROW) {
		*instances = wa_stmt_col_i64(stmt, 0);
		*nodes = wa_stmt_col_i64(stmt, 1);
		rc = 0;
	} else {
		rc = wa_store_map_rc(src) ? wa_store_map_rc(src) : WA_EDB;
	}
	wa_store_stmt_done(stmt);
	return rc;
}
