/* src/store/prekeys.c: one-time pre-keys and signed pre-keys, serialized
 * libsignal records keyed by id. Records hold private keys: sealed at rest,
 * and the store runs with secure_delete so removed ones are overwritten. */
#include "store/internal.h"

static const char sql_pk_put[] = "INSERT INTO prekeys (instance_id, id, record) VALUES (?1, ?2, ?3)"
				   " ON CONFLICT (instance_id, id) DO UPDATE SET record = excluded.record";
static const char sql_pk_get[] = "SELECT record FROM prekeys WHERE instance_id = ?1 AND id = ?2";
static const char sql_pk_has[] = "SELECT 1 FROM prekeys WHERE instance_id = ?1 AND id = ?2";
static const char sql_pk_del[] = "DELETE FROM prekeys WHERE instance_id = ?1 AND id = ?2";
static const char sql_pk_count[] = "SELECT count(*) FROM prekeys WHERE instance_id = ?1";
static const char sql_spk_put[] =
	"INSERT INTO signed_prekeys (instance_id, id, record) VALUES (?1, ?2, ?3)"
	" ON CONFLICT (instance_id, id) DO UPDATE SET record = excluded.record";
static const char sql_spk_get[] = "SELECT record FROM signed_prekeys WHERE instance_id = ?1 AND id = ?2";
static const char sql_spk_has[] = "SELECT 1 FROM signed_prekeys WHERE instance_id = ?1 AND id = ?2";
static const char sql_spk_del[] = "DELETE FROM signed_prekeys WHERE instance_id = ?1 AND id = ?2";

static int put(wa_store *st, const char *sql, int64_t inst, uint32_t id, const uint8_t *rec, size_t len)
{
	if (!rec || len == 0)
		return WA_EINVAL;
	if (len > WA_STORE_MAX_RECORD)
		return WA_ETOOBIG;
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, inst);
	wa_stmt_bind_i64(s, 2, id);
	rc = wa_store_bind_sealed(st, s, 3, rec, len);
	if (rc != 0) {
		wa_store_stmt_done(s);
		return rc;
	}
	return wa_store_stmt_exec(s);
}

static int get(wa_store *st, const char *sql, int64_t inst, uint32_t id, uint8_t **out, size_t *out_len)
{
	if (!out || !out_len)
		return WA_EINVAL;
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, inst);
	wa_stmt_bind_i64(s, 2, id);
	return wa_store_load_one(st, s, true, WA_STORE_MAX_RECORD, out, out_len);
}

static int has(wa_store *st, const char *sql, int64_t inst, uint32_t id, bool *exists_out)
{
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, inst);
	wa_stmt_bind_i64(s, 2, id);
	return wa_store_exists(s, exists_out);
}

static int del(wa_store *st, const char *sql, int64_t inst, uint32_t id)
{
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, inst);
	wa_stmt_bind_i64(s, 2, id);
	return wa_store_stmt_exec(s);
}

int wa_store_prekey_save(wa_store *st, int64_t instance_id, uint32_t id, const uint8_t *record, size_t record_len)
{
	return put(st, sql_pk_put, instance_id, id, record, record_len);
}

int wa_store_prekey_load(wa_store *st, int64_t instance_id, uint32_t id, uint8_t **out, size_t *out_len)
{
	return get(st, sql_pk_get, instance_id, id, out, out_len);
}

int wa_store_prekey_exists(wa_store *st, int64_t instance_id, uint32_t id, bool *exists_out)
{
	return has(st, sql_pk_has, instance_id, id, exists_out);
}

int wa_store_prekey_remove(wa_store *st, int64_t instance_id, uint32_t id)
{
	return del(st, sql_pk_del, instance_id, id);
}

int wa_store_prekey_count(wa_store *st, int64_t instance_id, size_t *n_out)
{
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_pk_count, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	int src = wa_stmt_step(s);
	if (src == WA_DB_ROW)
		*n_out = (size_t)wa_stmt_col_i64(s, 0);
	else
		rc = wa_store_map_rc(src);
	wa_store_stmt_done(s);
	return rc;
}

int wa_store_signed_prekey_save(wa_store *st, int64_t instance_id, uint32_t id, const uint8_t *record,
	size_t record_len)
{
	return put(st, sql_spk_put, instance_id, id, record, record_len);
}

int wa_store_signed_prekey_load(wa_store *st, int64_t instance_id, uint32_t id, uint8_t **out, size_t *out_len)
{
	return get(st, sql_spk_get, instance_id, id, out, out_len);
}

int wa_store_signed_prekey_exists(wa_store *st, int64_t instance_id, uint32_t id, bool *exists_out)
{
	return has(st, sql_spk_has, instance_id, id, exists_out);
}

int wa_store_signed_prekey_remove(wa_store *st, int64_t instance_id, uint32_t id)
{
	return del(st, sql_spk_del, instance_id, id);
}
