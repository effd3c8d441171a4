/* src/store/identity.c: peers' Signal identity keys (address name + device
 * id -> public key). Trust on first use; a different key for a known address
 * replaces the old one and is reported so the session layer can emit an
 * identity-changed event; whether to trust it is the signal layer's policy. */
#include <sodium.h>
#include <string.h>

#include "store/internal.h"

static const char sql_get[] =
	"SELECT key FROM identity_keys WHERE instance_id = ?1 AND name = ?2 AND device_id = ?3";
static const char sql_put[] =
	"INSERT INTO identity_keys (instance_id, name, device_id, key) VALUES (?1, ?2, ?3, ?4)"
	" ON CONFLICT (instance_id, name, device_id) DO UPDATE SET key = excluded.key";
static const char sql_del[] =
	"DELETE FROM identity_keys WHERE instance_id = ?1 AND name = ?2 AND device_id = ?3";

#define NAME_MAX_LEN WA_STORE_JID_MAX

static int load(wa_store *st, int64_t inst, const char *name, int32_t dev, uint8_t **out, size_t *out_len)
{
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_get, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, inst);
	wa_stmt_bind_text(s, 2, name);
	wa_stmt_bind_i64(s, 3, dev);
	return wa_store_load_one(st, s, false, WA_STORE_MAX_IDENTITY_KEY, out, out_len);
}

static bool key_ok(const uint8_t *key, size_t len)
{
	return key && len > 0 && len <= WA_STORE_MAX_IDENTITY_KEY;
}

/* WA_ENOTFOUND -> *equal unset, *found false. */
static int compare(wa_store *st, int64_t inst, const char *name, int32_t dev, const uint8_t *key, size_t len,
	bool *found, bool *equal)
{
	uint8_t *old = NULL;
	size_t old_len = 0;
	int rc = load(st, inst, name, dev, &old, &old_len);
	if (rc == WA_ENOTFOUND) {
		*found = false;
		*equal = false;
		return 0;
	}
	if (rc != 0)
		return rc;
	*found = true;
	*equal = old_len == len && sodium_memcmp(old, key, len) == 0;
	wa_store_free(old, old_len);
	return 0;
}

int wa_store_identity_save(wa_store *st, int64_t instance_id, const char *name, int32_t device_id,
	const uint8_t *key, size_t key_len, enum wa_store_identity_result *result_out)
{
	if (!wa_store_str_ok(name, NAME_MAX_LEN) || !key_ok(key, key_len))
		return WA_EINVAL;
	int rc = wa_store_tx_enter(st);
	if (rc != 0)
		return rc;
	bool found = false, equal = false;
	rc = compare(st, instance_id, name, device_id, key, key_len, &found, &equal);
	if (rc == 0 && !equal) {
		wa_stmt *s;
		rc = wa_store_stmt(st, sql_put, &s);
		if (rc == 0) {
			wa_stmt_bind_i64(s, 1, instance_id);
			wa_stmt_bind_text(s, 2, name);
			wa_stmt_bind_i64(s, 3, device_id);
			wa_stmt_bind_blob(s, 4, key, key_len);
			rc = wa_store_stmt_exec(s);
		}
	}
	rc = wa_store_tx_leave(st, rc);
	if (rc == 0 && result_out)
		*result_out = !found ? WA_STORE_IDENTITY_NEW : equal ? WA_STORE_IDENTITY_SAME : WA_STORE_IDENTITY_CHANGED;
	return rc;
}

int wa_store_identity_load(wa_store *st, int64_t instance_id, const char *name, int32_t device_id,
	uint8_t **out, size_t *out_len)
{
	if (!wa_store_str_ok(name, NAME_MAX_LEN) || !out || !out_len)
		return WA_EINVAL;
	return load(st, instance_id, name, device_id, out, out_len);
}

int wa_store_identity_is_trusted(wa_store *st, int64_t instance_id, const char *name, int32_t device_id,
	const uint8_t *key, size_t key_len, bool *trusted_out)
{
	if (!wa_store_str_ok(name, NAME_MAX_LEN) || !key_ok(key, key_len))
		return WA_EINVAL;
	bool found = false, equal = false;
	int rc = compare(st, instance_id, name, device_id, key, key_len, &found, &equal);
	if (rc == 0)
		*trusted_out = !found || equal;
	return rc;
}

int wa_store_identity_delete(wa_store *st, int64_t instance_id, const char *name, int32_t device_id)
{
	if (!wa_store_str_ok(name, NAME_MAX_LEN))
		return WA_EINVAL;
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_del, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	wa_stmt_bind_text(s, 2, name);
	wa_stmt_bind_i64(s, 3, device_id);
	return wa_store_stmt_exec(s);
}
