/* src/store/groups.c: group metadata (the encoded <group> node) and the
 * devices that hold our current sender key, per group. */
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"

#define GROUP_META_MAX (4u * 1024 * 1024)

static const char sql_put[] =
	"INSERT INTO groups (instance_id, jid, meta) VALUES (?1, ?2, ?3)"
	" ON CONFLICT (instance_id, jid) DO UPDATE SET meta = excluded.meta";
static const char sql_get[] = "SELECT meta FROM groups WHERE instance_id = ?1 AND jid = ?2";
static const char sql_del[] = "DELETE FROM groups WHERE instance_id = ?1 AND jid = ?2";
static const char sql_sk_add[] =
	"INSERT INTO group_sk_holders (instance_id, group_jid, device_jid) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING";
static const char sql_sk_has[] =
	"SELECT 1 FROM group_sk_holders WHERE instance_id = ?1 AND group_jid = ?2 AND device_jid = ?3";
static const char sql_sk_list[] =
	"SELECT device_jid FROM group_sk_holders WHERE instance_id = ?1 AND group_jid = ?2";
static const char sql_sk_clear[] = "DELETE FROM group_sk_holders WHERE instance_id = ?1 AND group_jid = ?2";

static int bind2(wa_store *st, const char *sql, int64_t instance_id, const char *a, wa_stmt **out)
{
	if (!wa_store_str_ok(a, WA_STORE_JID_MAX))
		return WA_EINVAL;
	int rc = wa_store_stmt(st, sql, out);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(*out, 1, instance_id);
	wa_stmt_bind_text(*out, 2, a);
	return 0;
}

int wa_store_gmeta_put(wa_store *st, int64_t instance_id, const char *jid, const uint8_t *meta, size_t len)
{
	wa_stmt *s;
	if (!meta || !len || len > GROUP_META_MAX)
		return WA_EINVAL;
	int rc = bind2(st, sql_put, instance_id, jid, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_blob(s, 3, meta, len);
	return wa_store_stmt_exec(s);
}

int wa_store_gmeta_get(wa_store *st, int64_t instance_id, const char *jid, uint8_t **meta_out, size_t *len_out)
{
	wa_stmt *s;
	if (!meta_out || !len_out)
		return WA_EINVAL;
	int rc = bind2(st, sql_get, instance_id, jid, &s);
	if (rc != 0)
		return rc;
	int src = wa_stmt_step(s);
	if (src != WA_DB_ROW) {
		wa_store_stmt_done(s);
		return src == WA_DB_DONE ? WA_ENOTFOUND : wa_store_map_rc(src);
	}
	rc = wa_store_column_blob(s, 0, GROUP_META_MAX, meta_out, len_out);
	wa_store_stmt_done(s);
	return rc;
}

int wa_store_gmeta_delete(wa_store *st, int64_t instance_id, const char *jid)
{
	wa_stmt *s;
	int rc = bind2(st, sql_del, instance_id, jid, &s);
	return rc ? rc : wa_store_stmt_exec(s);
}

int wa_store_gsk_add(wa_store *st, int64_t instance_id, const char *group, const char *device)
{
	wa_stmt *s;
	if (!wa_store_str_ok(device, WA_STORE_JID_MAX))
		return WA_EINVAL;
	int rc = bind2(st, sql_sk_add, instance_id, group, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_text(s, 3, device);
	return wa_store_stmt_exec(s);
}

int wa_store_gsk_has(wa_store *st, int64_t instance_id, const char *group, const char *device, bool *out)
{
	wa_stmt *s;
	if (!wa_store_str_ok(device, WA_STORE_JID_MAX) || !out)
		return WA_EINVAL;
	int rc = bind2(st, sql_sk_has, instance_id, group, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_text(s, 3, device);
	int src = wa_stmt_step(s);
	wa_store_stmt_done(s);
	if (src != WA_DB_ROW && src != WA_DB_DONE)
		return wa_store_map_rc(src);
	*out = src == WA_DB_ROW;
	return 0;
}

static int cmp_jid(const void *a, const void *b)
{
	return strcmp(a, b);
}

int wa_store_gsk_list(wa_store *st, int64_t instance_id, const char *group, char (**out)[WA_STORE_JID_MAX],
	size_t *n_out)
{
	wa_stmt *s;
	if (!out || !n_out)
		return WA_EINVAL;
	*out = NULL;
	*n_out = 0;
	int rc = bind2(st, sql_sk_list, instance_id, group, &s);
	if (rc != 0)
		return rc;
	char(*v)[WA_STORE_JID_MAX] = NULL;
	size_t n = 0, cap = 0;
	int src;
	while ((src = wa_stmt_step(s)) == WA_DB_ROW) {
		const char *d = wa_stmt_col_text(s, 0);
		if (!d || strlen(d) >= WA_STORE_JID_MAX)
			continue;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			void *nv = realloc(v, nc * WA_STORE_JID_MAX);
			if (!nv) {
				rc = WA_ENOMEM;
				break;
			}
			v = nv;
			cap = nc;
		}
		memcpy(v[n++], d, strlen(d) + 1);
	}
	wa_store_stmt_done(s);
	if (rc == 0 && src != WA_DB_DONE)
		rc = wa_store_map_rc(src);
	if (rc != 0) {
		free(v);
		return rc;
	}
	/* sorted here: a database's collation need not be strcmp's */
	if (n)
		qsort(v, n, WA_STORE_JID_MAX, cmp_jid);
	*out = v;
	*n_out = n;
	return 0;
}

int wa_store_gsk_clear(wa_store *st, int64_t instance_id, const char *group)
{
	wa_stmt *s;
	int rc = bind2(st, sql_sk_clear, instance_id, group, &s);
	return rc ? rc : wa_store_stmt_exec(s);
}
