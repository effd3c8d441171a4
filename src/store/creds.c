/* src/store/creds.c: the device credentials row of an instance (noise and
 * identity key pairs, registration id, signed pre-key, pairing results).
 * Private halves go through the sealed-column helpers. */
#include <sodium.h>
#include <string.h>

#include "store/internal.h"
#include "util/secpool.h"

/* every instance's credentials, loaded or in a session, share its slabs */
static wa_secpool creds_pool = WA_SECPOOL_INIT(sizeof(wa_store_creds));

wa_store_creds *wa_store_creds_new(void)
{
	return wa_secpool_alloc(&creds_pool);
}

void wa_store_creds_free(wa_store_creds *c)
{
	wa_secpool_free(&creds_pool, c);
}

static const char sql_save[] =
	"INSERT INTO creds (instance_id, noise_pub, noise_priv, identity_pub, identity_priv,"
	" registration_id, adv_secret, signed_prekey_id, signed_prekey_pub, signed_prekey_priv,"
	" signed_prekey_sig, next_prekey_id, first_unuploaded_prekey_id, me_jid, me_lid, adv_identity,"
	" platform, push_name, routing_info)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)"
	" ON CONFLICT (instance_id) DO UPDATE SET noise_pub = excluded.noise_pub, noise_priv = excluded.noise_priv,"
	" identity_pub = excluded.identity_pub, identity_priv = excluded.identity_priv,"
	" registration_id = excluded.registration_id, adv_secret = excluded.adv_secret,"
	" signed_prekey_id = excluded.signed_prekey_id, signed_prekey_pub = excluded.signed_prekey_pub,"
	" signed_prekey_priv = excluded.signed_prekey_priv, signed_prekey_sig = excluded.signed_prekey_sig,"
	" next_prekey_id = excluded.next_prekey_id, first_unuploaded_prekey_id = excluded.first_unuploaded_prekey_id,"
	" me_jid = excluded.me_jid, me_lid = excluded.me_lid, adv_identity = excluded.adv_identity,"
	" platform = excluded.platform, push_name = excluded.push_name, routing_info = excluded.routing_info";
static const char sql_load[] =
	"SELECT noise_pub, noise_priv, identity_pub, identity_priv, registration_id, adv_secret,"
	" signed_prekey_id, signed_prekey_pub, signed_prekey_priv, signed_prekey_sig, next_prekey_id,"
	" first_unuploaded_prekey_id, me_jid, me_lid, adv_identity, platform, push_name, routing_info"
	" FROM creds WHERE instance_id = ?1";

static bool str_fits(const char *s, size_t cap)
{
	return memchr(s, '\0', cap) != NULL;
}

int wa_store_creds_save(wa_store *st, int64_t instance_id, const wa_store_creds *c)
{
	if (!c || !str_fits(c->me_jid, sizeof c->me_jid) || !str_fits(c->me_lid, sizeof c->me_lid) ||
	    !str_fits(c->platform, sizeof c->platform) || !str_fits(c->push_name, sizeof c->push_name) ||
	    c->adv_identity_len > sizeof c->adv_identity || c->routing_info_len > sizeof c->routing_info)
		return WA_EINVAL;
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_save, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	wa_stmt_bind_blob(s, 2, c->noise_pub, WA_STORE_KEY_LEN);
	rc = wa_store_bind_sealed(st, s, 3, c->noise_priv, WA_STORE_KEY_LEN);
	wa_stmt_bind_blob(s, 4, c->identity_pub, WA_STORE_KEY_LEN);
	if (rc == 0)
		rc = wa_store_bind_sealed(st, s, 5, c->identity_priv, WA_STORE_KEY_LEN);
	wa_stmt_bind_i64(s, 6, c->registration_id);
	if (rc == 0)
		rc = wa_store_bind_sealed(st, s, 7, c->adv_secret, WA_STORE_KEY_LEN);
	wa_stmt_bind_i64(s, 8, c->signed_prekey_id);
	wa_stmt_bind_blob(s, 9, c->signed_prekey_pub, WA_STORE_KEY_LEN);
	if (rc == 0)
		rc = wa_store_bind_sealed(st, s, 10, c->signed_prekey_priv, WA_STORE_KEY_LEN);
	wa_stmt_bind_blob(s, 11, c->signed_prekey_sig, WA_STORE_SIG_LEN);
	wa_stmt_bind_i64(s, 12, c->next_prekey_id);
	wa_stmt_bind_i64(s, 13, c->first_unuploaded_prekey_id);
	wa_stmt_bind_text(s, 14, c->me_jid);
	wa_stmt_bind_text(s, 15, c->me_lid);
	wa_stmt_bind_blob(s, 16, c->adv_identity_len ? (const void *)c->adv_identity : "", c->adv_identity_len);
	wa_stmt_bind_text(s, 17, c->platform);
	wa_stmt_bind_text(s, 18, c->push_name);
	wa_stmt_bind_blob(s, 19, c->routing_info_len ? (const void *)c->routing_info : "", c->routing_info_len);
	if (rc != 0) {
		wa_store_stmt_done(s);
		return rc;
	}
	return wa_store_stmt_exec(s);
}

static int col_fixed(wa_stmt *s, int col, uint8_t *dst, size_t want)
{
	if (wa_stmt_col_bytes(s, col) != (int)want)
		return WA_EDB_CORRUPT;
	const void *p = wa_stmt_col_blob(s, col);
	if (!p)
		return WA_ENOMEM;
	memcpy(dst, p, want);
	return 0;
}

static int col_var(wa_stmt *s, int col, uint8_t *dst, size_t cap, size_t *len_out)
{
	int n = wa_stmt_col_bytes(s, col);
	if (n < 0 || (size_t)n > cap)
		return WA_EDB_CORRUPT;
	if (n > 0) {
		const void *p = wa_stmt_col_blob(s, col);
		if (!p)
			return WA_ENOMEM;
		memcpy(dst, p, (size_t)n);
	}
	*len_out = (size_t)n;
	return 0;
}

static int col_str(wa_stmt *s, int col, char *dst, size_t cap)
{
	const char *p = wa_stmt_col_text(s, col);
	int n = wa_stmt_col_bytes(s, col);
	if (!p || n < 0 || (size_t)n >= cap)
		return WA_EDB_CORRUPT;
	memcpy(dst, p, (size_t)n);
	dst[n] = '\0';
	return 0;
}

int wa_store_creds_load(wa_store *st, int64_t instance_id, wa_store_creds *out)
{
	wa_stmt *s;
	int rc = wa_store_stmt(st, sql_load, &s);
	if (rc != 0)
		return rc;
	wa_stmt_bind_i64(s, 1, instance_id);
	int src = wa_stmt_step(s);
	if (src != WA_DB_ROW) {
		wa_store_stmt_done(s);
		return src == WA_DB_DONE ? WA_ENOTFOUND : wa_store_map_rc(src);
	}
	wa_store_creds *c = wa_store_creds_new();
	if (!c) {
		wa_store_stmt_done(s);
		return WA_ENOMEM;
	}
	rc = col_fixed(s, 0, c->noise_pub, WA_STORE_KEY_LEN);
	if (rc == 0)
		rc = wa_store_column_sealed_fixed(st, s, 1, c->noise_priv, WA_STORE_KEY_LEN);
	if (rc == 0)
		rc = col_fixed(s, 2, c->identity_pub, WA_STORE_KEY_LEN);
	if (rc == 0)
		rc = wa_store_column_sealed_fixed(st, s, 3, c->identity_priv, WA_STORE_KEY_LEN);
	c->registration_id = (uint32_t)wa_stmt_col_i64(s, 4);
	if (rc == 0)
		rc = wa_store_column_sealed_fixed(st, s, 5, c->adv_secret, WA_STORE_KEY_LEN);
	c->signed_prekey_id = (uint32_t)wa_stmt_col_i64(s, 6);
	if (rc == 0)
		rc = col_fixed(s, 7, c->signed_prekey_pub, WA_STORE_KEY_LEN);
	if (rc == 0)
		rc = wa_store_column_sealed_fixed(st, s, 8, c->signed_prekey_priv, WA_STORE_KEY_LEN);
	if (rc == 0)
		rc = col_fixed(s, 9, c->signed_prekey_sig, WA_STORE_SIG_LEN);
	c->next_prekey_id = (uint32_t)wa_stmt_col_i64(s, 10);
	c->first_unuploaded_prekey_id = (uint32_t)wa_stmt_col_i64(s, 11);
	if (rc == 0)
		rc = col_str(s, 12, c->me_jid, sizeof c->me_jid);
	if (rc == 0)
		rc = col_str(s, 13, c->me_lid, sizeof c->me_lid);
	if (rc == 0)
		rc = col_var(s, 14, c->adv_identity, sizeof c->adv_identity, &c->adv_identity_len);
	if (rc == 0)
		rc = col_str(s, 15, c->platform, sizeof c->platform);
	if (rc == 0)
		rc = col_str(s, 16, c->push_name, sizeof c->push_name);
	if (rc == 0)
		rc = col_var(s, 17, c->routing_info, sizeof c->routing_info, &c->routing_info_len);
	wa_store_stmt_done(s);
	if (rc == 0)
		memcpy(out, c, sizeof *c);
	wa_store_creds_free(c);
	return rc;
}

/* Logged out: the device's keys and everything negotiated with them are
 * void. App data (messages, contacts, chats, outbox, webhook queue) stays
 * for the embedder to keep or delete. */
static const char *const sql_wipe[] = {
	"DELETE FROM creds WHERE instance_id = ?1",
	"DELETE FROM identity_keys WHERE instance_id = ?1",
	"DELETE FROM prekeys WHERE instance_id = ?1",
	"DELETE FROM signed_prekeys WHERE instance_id = ?1",
	"DELETE FROM sessions WHERE instance_id = ?1",
	"DELETE FROM sender_keys WHERE instance_id = ?1",
	"DELETE FROM app_state_keys WHERE instance_id = ?1",
	"DELETE FROM app_state_versions WHERE instance_id = ?1",
	"DELETE FROM app_state_mutations WHERE instance_id = ?1",
	"DELETE FROM app_state_pending WHERE instance_id = ?1",
	"DELETE FROM privacy_tokens WHERE instance_id = ?1", /* issued to / by this account */
	"DELETE FROM groups WHERE instance_id = ?1",
	"DELETE FROM group_sk_holders WHERE instance_id = ?1",
};

int wa_store_creds_wipe(wa_store *st, int64_t instance_id)
{
	int rc = wa_store_begin(st);
	if (rc)
		return rc;
	wa_store_sess_cache_drop_all(st); /* the wipe deletes sessions behind sessions.c */
	for (size_t i = 0; i < sizeof sql_wipe / sizeof sql_wipe[0]; i++) {
		wa_stmt *s;
		rc = wa_store_stmt(st, sql_wipe[i], &s);
		if (rc)
			break;
		wa_stmt_bind_i64(s, 1, instance_id);
		rc = wa_store_stmt_exec(s);
		if (rc)
			break;
	}
	if (rc) {
		wa_store_rollback(st);
		return rc;
	}
	return wa_store_commit(st);
}
