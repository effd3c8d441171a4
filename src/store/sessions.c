/* src/store/sessions.c: Signal session records (address name + device id)
 * and group sender-key records (group + sender name + device). Both hold
 * ratchet chain keys, so both are sealed at rest. */
#include <stdlib.h>

#include "store/internal.h"

#define NAME_MAX_LEN WA_STORE_JID_MAX
#define WA_STORE_MAX_DEVICES 1024 /* device ids per name returned by _devices */

/* A session is saved after every message and almost always exists: an
 * UPDATE first is one key lookup, where an UPSERT probes the key for its
 * insert and then again for the update. */
static const char sql_upd[] = "UPDATE sessions SET record = ?4 WHERE instance_id = ?1 AND name = ?2 AND device_id = ?3";
static const char sql_put[] =
	"INSERT INTO sessions (instance_id, name, device_id, record) VALUES (?1, ?2, ?3, ?4)"
	" ON CONFLICT (instance_id, name, device_id) DO UPDATE SET record = excluded.record";
static const char sql_get[] = "SELECT record FROM sessions WHERE instance_id = ?1 AND name = ?2 AND device_id = ?3";
static const char sql_has[] = "SELECT 1 FROM sessions WHERE instance_id = ?1 AND name = ?2 AND device_id = ?3";
static const char sql_devs[] =
	"SELECT device_id FROM sessions WHERE instance_id = ?1 AND name = ?2 ORDER BY device_id LIMIT ?3";
static const char sql_del[] = "DELETE FROM sessions WHERE instance_id = ?1 AND name = ?2 AND device_id = ?3";
static const char sql_del_all[] = "DELETE FROM sessions WHERE instance_id = ?1 AND name = ?2";

static const char sql_sk_put[] =
	"INSERT INTO sender_keys (instance_id, group_id, sender_name, device_id, record)"
	" VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (instance_id, group_id, sender_name, device_id)"
	" DO UPDATE SET record = excluded.record";
static const char sql_sk_get[] = "SELECT record FROM sender_keys WHERE instance_id = ?1 AND group_id = ?2"
				 " AND sender_name = ?3 AND device_id = ?4";
static const char sql_sk_del[] = "DELETE FROM sender_keys WHERE instance_id = ?1 AND group_id = ?2"
				 " AND sender_name = ?3 AND device_id = ?4";

static int addr_stmt(wa_store *st, const char *sql, int64_t inst, const char *name, int32_t dev, wa_stmt **out)
{
	if (!wa_store_str_ok(name, NAME_MAX_LEN))
		return WA_EINVAL;
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, inst);
	wa_stmt_bind_text(s, 2, name);
	wa_stmt_bind_i64(s, 3, dev);
	*out = s;
	return 0;
}

int wa_store_session_save(wa_store *st, int64_t instance_id, const char *name, int32_t device_id,
	const uint8_t *record, size_t record_len)
{
	if (!record || record_len == 0)
		return WA_EINVAL;
	if (record_len > WA_STORE_MAX_RECORD)
		return WA_ETOOBIG;
	for (int pass = 0; pass < 2; pass++) {
		wa_stmt *s;
		int rc = addr_stmt(st, pass ? sql_put : sql_upd, instance_id, name, device_id, &s);
		if (rc != 0)
			return rc;
		rc = wa_store_bind_sealed(st, s, 4, record, record_len);
		if (rc != 0) {
			wa_store_stmt_done(s);
			return rc;
		}
		rc = wa_store_stmt_exec(s);
		if (rc != 0) {
			wa_store_sess_cache_drop(st, instance_id, name, device_id);
			return rc;
		}
		if (wa_store_changes(st) > 0) {
			wa_store_sess_cache_put(st, instance_id, name, device_id, record, record_len);
			return 0;
		}
	}
	return 0;
}

int wa_store_session_load(wa_store *st, int64_t instance_id, const char *name, int32_t device_id, uint8_t **out,
	size_t *out_len)
{
	if (!out || !out_len)
		return WA_EINVAL;
	if (!wa_store_str_ok(name, NAME_MAX_LEN))
		return WA_EINVAL;
	if (wa_store_sess_cache_get(st, instance_id, name, device_id, out, out_len))
		return 0;
	wa_stmt *s;
	int rc = addr_stmt(st, sql_get, instance_id, name, device_id, &s);
	if (rc != 0)
		return rc;
	rc = wa_store_load_one(st, s, true, WA_STORE_MAX_RECORD, out, out_len);
	if (rc == 0)
		wa_store_sess_cache_put(st, instance_id, name, device_id, *out, *out_len);
	return rc;
}

int wa_store_session_exists(wa_store *st, int64_t instance_id, const char *name, int32_t device_id,
	bool *exists_out)
{
	wa_stmt *s;
	int rc = addr_stmt(st, sql_has, instance_id, name, device_id, &s);
	if (rc != 0)
		return rc;
	return wa_store_exists(s, exists_out);
}

int wa_store_session_devices(wa_store *st, int64_t instance_id, const char *name, int32_t **ids_out, size_t *n_out)
{
	if (!wa_store_str_ok(name, NAME_MAX_LEN))
		return WA_EINVAL;
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_devs, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	wa_stmt_bind_text(s, 2, name);
	wa_stmt_bind_i64(s, 3, WA_STORE_MAX_DEVICES);
	int32_t *ids = NULL;
	size_t n = 0, cap = 0;
	int src;
	while ((src = wa_stmt_step(s)) == WA_DB_ROW) {
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			int32_t *na = realloc(ids, ncap * sizeof *na);
			if (!na) {
				rc = WA_ENOMEM;
				break;
			}
			ids = na;
			cap = ncap;
		}
		ids[n++] = wa_stmt_col_int(s, 0);
	}
	if (rc == 0 && src != WA_DB_DONE)
		rc = wa_store_map_rc(src);
	wa_store_stmt_done(s);
	if (rc != 0) {
		free(ids);
		return rc;
	}
	*ids_out = ids;
	*n_out = n;
	return 0;
}

int wa_store_session_delete(wa_store *st, int64_t instance_id, const char *name, int32_t device_id)
{
	if (wa_store_str_ok(name, NAME_MAX_LEN))
		wa_store_sess_cache_drop(st, instance_id, name, device_id);
	wa_stmt *s;
	int rc = addr_stmt(st, sql_del, instance_id, name, device_id, &s);
	if (rc != 0)
		return rc;
	return wa_store_stmt_exec(s);
}

int wa_store_session_delete_all(wa_store *st, int64_t instance_id, const char *name, size_t *n_deleted_out)
{
	if (!wa_store_str_ok(name, NAME_MAX_LEN))
		return WA_EINVAL;
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_del_all, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	wa_stmt_bind_text(s, 2, name);
	wa_store_sess_cache_drop_all(st); /* every device of the name */
	rc = wa_store_stmt_exec(s);
	if (rc == 0 && n_deleted_out)
		*n_deleted_out = (size_t)wa_store_changes(st);
	return rc;
}

static int sk_stmt(wa_store *st, const char *sql, int64_t inst, const char *group, const char *sender, int32_t dev,
	wa_stmt **out)
{
	if (!wa_store_str_ok(group, NAME_MAX_LEN) || !wa_store_str_ok(sender, NAME_MAX_LEN))
		return WA_EINVAL;
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, inst);
	wa_stmt_bind_text(s, 2, group);
	wa_stmt_bind_text(s, 3, sender);
	wa_stmt_bind_i64(s, 4, dev);
	*out = s;
	return 0;
}

int wa_store_sender_key_save(wa_store *st, int64_t instance_id, const char *group_id, const char *sender_name,
	int32_t device_id, const uint8_t *record, size_t record_len)
{
	if (!record || record_len == 0)
		return WA_EINVAL;
	if (record_len > WA_STORE_MAX_RECORD)
		return WA_ETOOBIG;
	wa_stmt *s;
	int rc = sk_stmt(st, sql_sk_put, instance_id, group_id, sender_name, device_id, &s);
	if (rc != 0)
		return rc;
	rc = wa_store_bind_sealed(st, s, 5, record, record_len);
	if (rc != 0) {
		wa_store_stmt_done(s);
		return rc;
	}
	return wa_store_stmt_exec(s);
}

int wa_store_sender_key_load(wa_store *st, int64_t instance_id, const char *group_id, const char *sender_name,
	int32_t device_id, uint8_t **out, size_t *out_len)
{
	if (!out || !out_len)
		return WA_EINVAL;
	wa_stmt *s;
	int rc = sk_stmt(st, sql_sk_get, instance_id, group_id, sender_name, device_id, &s);
	if (rc != 0)
		return rc;
	return wa_store_load_one(st, s, true, WA_STORE_MAX_RECORD, out, out_len);
}

int wa_store_sender_key_delete(wa_store *st, int64_t instance_id, const char *group_id, const char *sender_name,
	int32_t device_id)
{
	wa_stmt *s;
	int rc = sk_stmt(st, sql_sk_del, instance_id, group_id, sender_name, device_id, &s);
	if (rc != 0)
		return rc;
	return wa_store_stmt_exec(s);
}
