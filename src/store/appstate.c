/* src/store/appstate.c: app-state sync keys (sealed) and per-collection
 * versions with their LTHash, for the app-state issue. */
#include <string.h>

#include "store/internal.h"
#include "util/seams.h"

#define APP_KEY_ID_MAX 64
#define COLLECTION_NAME_MAX 64

static const char sql_k_put[] =
	"INSERT INTO app_state_keys (instance_id, key_id, key_data, created_at) VALUES (?1, ?2, ?3, ?4)"
	" ON CONFLICT (instance_id, key_id) DO UPDATE SET key_data = excluded.key_data, created_at = excluded.created_at";
static const char sql_k_get[] = "SELECT key_data FROM app_state_keys WHERE instance_id = ?1 AND key_id = ?2";
static const char sql_v_put[] =
	"INSERT INTO app_state_versions (instance_id, name, version, hash) VALUES (?1, ?2, ?3, ?4)"
	" ON CONFLICT (instance_id, name) DO UPDATE SET version = excluded.version, hash = excluded.hash";
static const char sql_v_get[] = "SELECT version, hash FROM app_state_versions WHERE instance_id = ?1 AND name = ?2";

int wa_store_app_state_key_save(wa_store *st, int64_t instance_id, const uint8_t *key_id, size_t key_id_len,
	const uint8_t *key_data, size_t key_data_len)
{
	if (!key_id || key_id_len == 0 || key_id_len > APP_KEY_ID_MAX || !key_data || key_data_len == 0)
		return WA_EINVAL;
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_k_put, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	wa_stmt_bind_blob(s, 2, key_id, key_id_len);
	rc = wa_store_bind_sealed(st, s, 3, key_data, key_data_len);
	wa_stmt_bind_i64(s, 4, wa_now_ms());
	if (rc != 0) {
		wa_store_stmt_done(s);
		return rc;
	}
	return wa_store_stmt_exec(s);
}

int wa_store_app_state_key_load(wa_store *st, int64_t instance_id, const uint8_t *key_id, size_t key_id_len,
	uint8_t **out, size_t *out_len)
{
	if (!key_id || key_id_len == 0 || key_id_len > APP_KEY_ID_MAX || !out || !out_len)
		return WA_EINVAL;
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_k_get, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	wa_stmt_bind_blob(s, 2, key_id, key_id_len);
	return wa_store_load_one(st, s, true, WA_STORE_MAX_RECORD, out, out_len);
}

int wa_store_app_state_version_save(wa_store *st, int64_t instance_id, const char *name, uint64_t version,
	const uint8_t hash[WA_STORE_LTHASH_LEN])
{
	if (!wa_store_str_ok(name, COLLECTION_NAME_MAX) || !hash || version > INT64_MAX)
		return WA_EINVAL;
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_v_put, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	wa_stmt_bind_text(s, 2, name);
	wa_stmt_bind_i64(s, 3, (int64_t)version);
	wa_stmt_bind_blob(s, 4, hash, WA_STORE_LTHASH_LEN);
	return wa_store_stmt_exec(s);
}

int wa_store_app_state_version_load(wa_store *st, int64_t instance_id, const char *name, uint64_t *version_out,
	uint8_t hash_out[WA_STORE_LTHASH_LEN])
{
	if (!wa_store_str_ok(name, COLLECTION_NAME_MAX) || !version_out || !hash_out)
		return WA_EINVAL;
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_v_get, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	wa_stmt_bind_text(s, 2, name);
	int src = wa_stmt_step(s);
	if (src == WA_DB_ROW) {
		int64_t v = wa_stmt_col_i64(s, 0);
		const void *h = wa_stmt_col_blob(s, 1);
		if (v < 0 || !h || wa_stmt_col_bytes(s, 1) != WA_STORE_LTHASH_LEN) {
			rc = WA_EDB_CORRUPT;
		} else {
			*version_out = (uint64_t)v;
			memcpy(hash_out, h, WA_STORE_LTHASH_LEN);
		}
	} else {
		rc = src == WA_DB_DONE ? WA_ENOTFOUND : wa_store_map_rc(src);
	}
	wa_store_stmt_done(s);
	return rc;
}

/* The key our own patches are encoded with: the newest shared. Re-shared
 * keys get a new created_at, and a share's keys one ms, hence the key id
 * (the phone numbers them upwards) as the tie-break. */
static const char sql_k_latest[] = "SELECT key_id FROM app_state_keys WHERE instance_id = ?1"
	" ORDER BY created_at DESC, key_id DESC LIMIT 1";

int wa_store_app_state_key_latest(wa_store *st, int64_t instance_id, uint8_t id_out[64], size_t *len_out)
{
	if (!id_out || !len_out)
		return WA_EINVAL;
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_k_latest, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	int src = wa_stmt_step(s);
	if (src == WA_DB_ROW) {
		const void *b = wa_stmt_col_blob(s, 0);
		int n = wa_stmt_col_bytes(s, 0);
		if (!b || n <= 0 || n > APP_KEY_ID_MAX) {
			rc = WA_EDB_CORRUPT;
		} else {
			memcpy(id_out, b, (size_t)n);
			*len_out = (size_t)n;
		}
	} else {
		rc = src == WA_DB_DONE ? WA_ENOTFOUND : wa_store_map_rc(src);
	}
	wa_store_stmt_done(s);
	return rc;
}

/* ---- applied mutations (index MAC -> value MAC, index JSON, value) ---- */

static const char sql_m_get[] =
	"SELECT value_mac FROM app_state_mutations WHERE instance_id = ?1 AND name = ?2 AND index_mac = ?3";
static const char sql_m_put[] =
	"INSERT INTO app_state_mutations (instance_id, name, index_mac, value_mac, index_json, value)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (instance_id, name, index_mac) DO UPDATE SET"
	" value_mac = excluded.value_mac, index_json = excluded.index_json, value = excluded.value";
static const char sql_m_del[] = "DELETE FROM app_state_mutations WHERE instance_id = ?1 AND name = ?2 AND index_mac = ?3";
static const char sql_m_count[] = "SELECT count(*) FROM app_state_mutations WHERE instance_id = ?1 AND name = ?2";
static const char sql_cn_put[] =
	"INSERT INTO contacts (instance_id, jid, full_name, updated_at) VALUES (?1, ?2, ?3, ?4)"
	" ON CONFLICT (instance_id, jid) DO UPDATE SET full_name = excluded.full_name, updated_at = excluded.updated_at";

int wa_store_app_state_mac_get(wa_store *st, int64_t instance_id, const char *name,
	const uint8_t index_mac[WA_STORE_APP_MAC_LEN], uint8_t value_mac_out[WA_STORE_APP_MAC_LEN])
{
	if (!wa_store_str_ok(name, COLLECTION_NAME_MAX) || !index_mac || !value_mac_out)
		return WA_EINVAL;
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_m_get, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	wa_stmt_bind_text(s, 2, name);
	wa_stmt_bind_blob(s, 3, index_mac, WA_STORE_APP_MAC_LEN);
	int src = wa_stmt_step(s);
	if (src == WA_DB_ROW) {
		const void *v = wa_stmt_col_blob(s, 0);
		if (!v || wa_stmt_col_bytes(s, 0) != WA_STORE_APP_MAC_LEN)
			rc = WA_EDB_CORRUPT;
		else
			memcpy(value_mac_out, v, WA_STORE_APP_MAC_LEN);
	} else {
		rc = src == WA_DB_DONE ? WA_ENOTFOUND : wa_store_map_rc(src);
	}
	wa_store_stmt_done(s);
	return rc;
}

int wa_store_app_state_mutation_put(wa_store *st, int64_t instance_id, const char *name,
	const uint8_t index_mac[WA_STORE_APP_MAC_LEN], const uint8_t value_mac[WA_STORE_APP_MAC_LEN],
	const char *index_json, const uint8_t *value, size_t value_len)
{
	if (!wa_store_str_ok(name, COLLECTION_NAME_MAX) || !index_mac || !value_mac || !index_json ||
	    value_len > WA_STORE_MAX_RECORD || (!value && value_len))
		return WA_EINVAL;
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_m_put, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	wa_stmt_bind_text(s, 2, name);
	wa_stmt_bind_blob(s, 3, index_mac, WA_STORE_APP_MAC_LEN);
	wa_stmt_bind_blob(s, 4, value_mac, WA_STORE_APP_MAC_LEN);
	wa_stmt_bind_text(s, 5, index_json);
	wa_stmt_bind_blob(s, 6, value ? (const void *)value : "", value_len);
	return wa_store_stmt_exec(s);
}

int wa_store_app_state_mutation_del(wa_store *st, int64_t instance_id, const char *name,
	const uint8_t index_mac[WA_STORE_APP_MAC_LEN])
{
	if (!wa_store_str_ok(name, COLLECTION_NAME_MAX) || !index_mac)
		return WA_EINVAL;
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_m_del, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	wa_stmt_bind_text(s, 2, name);
	wa_stmt_bind_blob(s, 3, index_mac, WA_STORE_APP_MAC_LEN);
	return wa_store_stmt_exec(s);
}

int wa_store_app_state_mutation_count(wa_store *st, int64_t instance_id, const char *name, size_t *n_out)
{
	if (!wa_store_str_ok(name, COLLECTION_NAME_MAX) || !n_out)
		return WA_EINVAL;
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_m_count, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	wa_stmt_bind_text(s, 2, name);
	int src = wa_stmt_step(s);
	if (src == WA_DB_ROW)
		*n_out = (size_t)wa_stmt_col_i64(s, 0);
	else
		rc = wa_store_map_rc(src);
	wa_store_stmt_done(s);
	return rc;
}

/* The contact's name as the phone's address book has it (app state). */
int wa_store_contact_set_full_name(wa_store *st, int64_t instance_id, const char *jid, const char *full_name)
{
	if (!wa_store_str_ok(jid, WA_STORE_JID_MAX) || (full_name && !wa_store_str_ok(full_name, 1024)))
		return WA_EINVAL;
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_cn_put, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	wa_stmt_bind_text(s, 2, jid);
	if (full_name)
		wa_stmt_bind_text(s, 3, full_name);
	else
		wa_stmt_bind_null(s, 3);
	wa_stmt_bind_i64(s, 4, wa_now_ms());
	return wa_store_stmt_exec(s);
}

/* Kept mutations of one collection whose index JSON starts with prefix
 * (a LIKE pattern's literal part: no % or _ in it). */
static const char sql_m_each[] = "SELECT index_json, value FROM app_state_mutations"
	" WHERE instance_id = ?1 AND name = ?2 AND substr(index_json, 1, length(CAST(?3 AS TEXT))) = ?3";

int wa_store_app_state_mutation_each(wa_store *st, int64_t instance_id, const char *name, const char *prefix,
	int (*fn)(void *user, const char *index_json, const uint8_t *value, size_t value_len), void *user)
{
	if (!wa_store_str_ok(name, COLLECTION_NAME_MAX) || !prefix || !fn)
		return WA_EINVAL;
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_m_each, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	wa_stmt_bind_text(s, 2, name);
	wa_stmt_bind_text(s, 3, prefix);
	int src;
	while (rc == 0 && (src = wa_stmt_step(s)) == WA_DB_ROW) {
		const char *ij = wa_stmt_col_text(s, 0);
		const uint8_t *v = wa_stmt_col_blob(s, 1);
		int vl = wa_stmt_col_bytes(s, 1);
		if (ij)
			rc = fn(user, ij, v, v ? (size_t)vl : 0);
	}
	if (rc == 0 && src != WA_DB_DONE)
		rc = wa_store_map_rc(src);
	wa_store_stmt_done(s);
	return rc;
}

/* ---- our own mutations awaiting the server ---- */

static const char sql_p_add[] = "INSERT INTO app_state_pending (instance_id, name, index_json, value, api_version, iv,"
	" created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
static const char sql_p_del[] = "DELETE FROM app_state_pending WHERE instance_id = ?1 AND id = ?2";
static const char sql_p_each[] = "SELECT id, name, index_json, value, api_version, iv FROM app_state_pending"
	" WHERE instance_id = ?1 ORDER BY id";

int wa_store_app_state_pending_add(wa_store *st, int64_t instance_id, const wa_store_as_pending *p, int64_t *id_out)
{
	if (!p || !wa_store_str_ok(p->name, COLLECTION_NAME_MAX) || !p->index_json || !p->value ||
	    p->value_len > WA_STORE_MAX_RECORD || !id_out)
		return WA_EINVAL;
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_p_add, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	wa_stmt_bind_text(s, 2, p->name);
	wa_stmt_bind_text(s, 3, p->index_json);
	wa_stmt_bind_blob(s, 4, p->value_len ? (const void *)p->value : "", p->value_len);
	wa_stmt_bind_i64(s, 5, p->api);
	wa_stmt_bind_blob(s, 6, p->iv, WA_STORE_APP_IV_LEN);
	wa_stmt_bind_i64(s, 7, wa_now_ms());
	rc = wa_store_stmt_exec(s);
	if (rc == 0)
		*id_out = wa_store_last_insert_id(st);
	return rc;
}

int wa_store_app_state_pending_del(wa_store *st, int64_t instance_id, int64_t id)
{
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_p_del, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	wa_stmt_bind_i64(s, 2, id);
	return wa_store_stmt_exec(s);
}

int wa_store_app_state_pending_each(wa_store *st, int64_t instance_id,
	int (*fn)(void *user, const wa_store_as_pending *p), void *user)
{
	if (!fn)
		return WA_EINVAL;
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_p_each, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	int src;
	while (rc == 0 && (src = wa_stmt_step(s)) == WA_DB_ROW) {
		wa_store_as_pending p = {.id = wa_stmt_col_i64(s, 0), .name = wa_stmt_col_text(s, 1),
			.index_json = wa_stmt_col_text(s, 2), .value = wa_stmt_col_blob(s, 3),
			.api = (int32_t)wa_stmt_col_i64(s, 4), .iv = wa_stmt_col_blob(s, 5)};
		int vl = wa_stmt_col_bytes(s, 3);
		p.value_len = p.value && vl > 0 ? (size_t)vl : 0;
		if (!p.value)
			p.value = (const uint8_t *)"";
		if (!p.name || !p.index_json || !p.iv || wa_stmt_col_bytes(s, 5) != WA_STORE_APP_IV_LEN)
			rc = WA_EDB_CORRUPT;
		else
			rc = fn(user, &p);
	}
	if (rc == 0 && src != WA_DB_DONE)
		rc = wa_store_map_rc(src);
	wa_store_stmt_done(s);
	return rc;
}

/* A full resync: the collection's version, LT-hash and applied mutations
 * go (the next fetch asks for a snapshot). */
static const char *const sql_drop[] = {
	"DELETE FROM app_state_versions WHERE instance_id = ?1 AND name = ?2",
	"DELETE FROM app_state_mutations WHERE instance_id = ?1 AND name = ?2",
};

int wa_store_app_state_drop(wa_store *st, int64_t instance_id, const char *name)
{
	if (!wa_store_str_ok(name, COLLECTION_NAME_MAX))
		return WA_EINVAL;
	int rc = wa_store_begin(st);
	for (size_t i = 0; rc == 0 && i < sizeof sql_drop / sizeof sql_drop[0]; i++) {
		wa_stmt *s;
		rc = wa_store_stmt(st, sql_drop[i], &s);
		if (rc == 0) {
			wa_stmt_bind_i64(s, 1, instance_id);
			wa_stmt_bind_text(s, 2, name);
			rc = wa_store_stmt_exec(s);
		}
	}
	if (rc == 0)
		return wa_store_commit(st);
	wa_store_rollback(st);
	return rc;
}
