/* libsignal store callbacks -> wa_store (see stores.h). Each callback
 * returns libsignal's conventions (1/0 for found/contains, SG_ERR_* or a
 * wrapped WA_E* below SG_ERR_MINIMUM on failure). */
#include "signal/stores.h"

#include <string.h>

/* The user_data of every store struct is the wa_sig. */
#define SIG(u) ((wa_sig *)(u))

/* libsignal owns the returned buffer; our blob is scrubbed on the way. */
static int give_buffer(signal_buffer **dst, uint8_t *blob, size_t len)
{
	signal_buffer *b = signal_buffer_create(blob, len);
	wa_store_free(blob, len);
	if (!b)
		return SG_ERR_NOMEM;
	*dst = b;
	return 0;
}

static int addr_name(char buf[WA_SIG_NAME_MAX], const signal_protocol_address *a)
{
	return wa_sig_name_copy(buf, a->name, a->name_len);
}

/* ---- sessions ---- */

static int session_load(signal_buffer **record, signal_buffer **user_record,
			const signal_protocol_address *a, void *u)
{
	(void)user_record;
	char name[WA_SIG_NAME_MAX];
	int rc = addr_name(name, a);
	if (rc)
		return wa_sig_wrap_err(rc);
	uint8_t *blob;
	size_t len;
	rc = wa_store_session_load(SIG(u)->st, SIG(u)->instance, name, a->device_id, &blob, &len);
	if (rc == WA_ENOTFOUND)
		return SIG(u)->need_session ? wa_sig_wrap_err(WA_ESIG_NOSESSION) : 0;
	if (rc)
		return wa_sig_wrap_err(rc);
	rc = give_buffer(record, blob, len);
	return rc ? rc : 1;
}

static int session_devices(signal_int_list **sessions, const char *n, size_t n_len, void *u)
{
	char name[WA_SIG_NAME_MAX];
	int rc = wa_sig_name_copy(name, n, n_len);
	if (rc)
		return wa_sig_wrap_err(rc);
	int32_t *ids;
	size_t count;
	rc = wa_store_session_devices(SIG(u)->st, SIG(u)->instance, name, &ids, &count);
	if (rc)
		return wa_sig_wrap_err(rc);
	signal_int_list *l = signal_int_list_alloc();
	if (!l) {
		free(ids);
		return SG_ERR_NOMEM;
	}
	for (size_t i = 0; i < count; i++) {
		if (signal_int_list_push_back(l, ids[i]) < 0) {
			free(ids);
			signal_int_list_free(l);
			return SG_ERR_NOMEM;
		}
	}
	free(ids);
	*sessions = l;
	return (int)signal_int_list_size(l);
}

static int session_store(const signal_protocol_address *a, uint8_t *record, size_t len,
			 uint8_t *user_record, size_t user_len, void *u)
{
	(void)user_record;
	(void)user_len;
	char name[WA_SIG_NAME_MAX];
	int rc = addr_name(name, a);
	if (!rc)
		rc = wa_store_session_save(SIG(u)->st, SIG(u)->instance, name, a->device_id, record, len);
	return wa_sig_wrap_err(rc);
}

static int session_contains(const signal_protocol_address *a, void *u)
{
	char name[WA_SIG_NAME_MAX];
	int rc = addr_name(name, a);
	bool ex = false;
	if (!rc)
		rc = wa_store_session_exists(SIG(u)->st, SIG(u)->instance, name, a->device_id, &ex);
	return rc ? wa_sig_wrap_err(rc) : ex;
}

static int session_delete(const signal_protocol_address *a, void *u)
{
	int ex = session_contains(a, u);
	if (ex <= 0)
		return ex;
	char name[WA_SIG_NAME_MAX];
	int rc = addr_name(name, a);
	if (!rc)
		rc = wa_store_session_delete(SIG(u)->st, SIG(u)->instance, name, a->device_id);
	return rc ? wa_sig_wrap_err(rc) : 1;
}

static int session_delete_all(const char *n, size_t n_len, void *u)
{
	char name[WA_SIG_NAME_MAX];
	int rc = wa_sig_name_copy(name, n, n_len);
	size_t count = 0;
	if (!rc)
		rc = wa_store_session_delete_all(SIG(u)->st, SIG(u)->instance, name, &count);
	if (rc)
		return wa_sig_wrap_err(rc);
	return count > INT32_MAX ? INT32_MAX : (int)count;
}

/* ---- one-time pre-keys ---- */

static int prekey_load(signal_buffer **record, uint32_t id, void *u)
{
	uint8_t *blob;
	size_t len;
	int rc = wa_store_prekey_load(SIG(u)->st, SIG(u)->instance, id, &blob, &len);
	if (rc == WA_ENOTFOUND)
		return SG_ERR_INVALID_KEY_ID;
	if (rc)
		return wa_sig_wrap_err(rc);
	return give_buffer(record, blob, len);
}

static int prekey_store(uint32_t id, uint8_t *record, size_t len, void *u)
{
	return wa_sig_wrap_err(wa_store_prekey_save(SIG(u)->st, SIG(u)->instance, id, record, len));
}

static int prekey_contains(uint32_t id, void *u)
{
	bool ex = false;
	int rc = wa_store_prekey_exists(SIG(u)->st, SIG(u)->instance, id, &ex);
	return rc ? wa_sig_wrap_err(rc) : ex;
}

static int prekey_remove(uint32_t id, void *u)
{
	return wa_sig_wrap_err(wa_store_prekey_remove(SIG(u)->st, SIG(u)->instance, id));
}

/* ---- signed pre-keys ---- */

static int spk_load(signal_buffer **record, uint32_t id, void *u)
{
	uint8_t *blob;
	size_t len;
	int rc = wa_store_signed_prekey_load(SIG(u)->st, SIG(u)->instance, id, &blob, &len);
	if (rc == WA_ENOTFOUND)
		return SG_ERR_INVALID_KEY_ID;
	if (rc)
		return wa_sig_wrap_err(rc);
	return give_buffer(record, blob, len);
}

static int spk_store(uint32_t id, uint8_t *record, size_t len, void *u)
{
	return wa_sig_wrap_err(wa_store_signed_prekey_save(SIG(u)->st, SIG(u)->instance, id, record, len));
}

static int spk_contains(uint32_t id, void *u)
{
	bool ex = false;
	int rc = wa_store_signed_prekey_exists(SIG(u)->st, SIG(u)->instance, id, &ex);
	return rc ? wa_sig_wrap_err(rc) : ex;
}

static int spk_remove(uint32_t id, void *u)
{
	return wa_sig_wrap_err(wa_store_signed_prekey_remove(SIG(u)->st, SIG(u)->instance, id));
}

/* ---- identity ---- */

static int identity_pair(signal_buffer **pub, signal_buffer **priv, void *u)
{
	uint8_t p[33];
	p[0] = 0x05; /* libsignal's DJB key type; the creds hold raw keys */
	memcpy(p + 1, SIG(u)->identity_pub, 32);
	signal_buffer *a = signal_buffer_create(p, sizeof p);
	signal_buffer *b = signal_buffer_create(SIG(u)->identity_priv, 32);
	if (!a || !b) {
		signal_buffer_free(a);
		signal_buffer_bzero_free(b);
		return SG_ERR_NOMEM;
	}
	*pub = a;
	*priv = b;
	return 0;
}

static int identity_regid(void *u, uint32_t *id)
{
	*id = SIG(u)->registration_id;
	return 0;
}

static int identity_save(const signal_protocol_address *a, uint8_t *key, size_t len, void *u)
{
	wa_sig *s = SIG(u);
	char name[WA_SIG_NAME_MAX];
	int rc = addr_name(name, a);
	if (rc)
		return wa_sig_wrap_err(rc);
	if (!key) /* libsignal un-saves a key whose message then failed */
		return wa_sig_wrap_err(wa_store_identity_delete(s->st, s->instance, name, a->device_id));
	enum wa_store_identity_result res;
	rc = wa_store_identity_save(s->st, s->instance, name, a->device_id, key, len, &res);
	if (rc)
		return wa_sig_wrap_err(rc);
	if (res == WA_STORE_IDENTITY_CHANGED) {
		s->pending_change = true;
		memcpy(s->pending_name, name, sizeof name);
		s->pending_device = a->device_id;
	}
	return 0;
}

static int identity_trusted(const signal_protocol_address *a, uint8_t *key, size_t len, void *u)
{
	/* WhatsApp semantics: a new identity replaces the old one (the change is
	 * reported from identity_save); nothing is ever refused here. */
	(void)a;
	(void)key;
	(void)len;
	(void)u;
	return 1;
}

/* ---- sender keys ---- */

static int skn_names(const signal_protocol_sender_key_name *k, char group[WA_SIG_NAME_MAX],
		     char sender[WA_SIG_NAME_MAX])
{
	int rc = wa_sig_name_copy(group, k->group_id, k->group_id_len);
	return rc ? rc : addr_name(sender, &k->sender);
}

static int sk_store(const signal_protocol_sender_key_name *k, uint8_t *record, size_t len,
		    uint8_t *user_record, size_t user_len, void *u)
{
	(void)user_record;
	(void)user_len;
	char g[WA_SIG_NAME_MAX], n[WA_SIG_NAME_MAX];
	int rc = skn_names(k, g, n);
	if (!rc)
		rc = wa_store_sender_key_save(SIG(u)->st, SIG(u)->instance, g, n, k->sender.device_id,
					      record, len);
	return wa_sig_wrap_err(rc);
}

static int sk_load(signal_buffer **record, signal_buffer **user_record,
		   const signal_protocol_sender_key_name *k, void *u)
{
	(void)user_record;
	char g[WA_SIG_NAME_MAX], n[WA_SIG_NAME_MAX];
	int rc = skn_names(k, g, n);
	if (rc)
		return wa_sig_wrap_err(rc);
	uint8_t *blob;
	size_t len;
	rc = wa_store_sender_key_load(SIG(u)->st, SIG(u)->instance, g, n, k->sender.device_id, &blob, &len);
	if (rc == WA_ENOTFOUND)
		return 0;
	if (rc)
		return wa_sig_wrap_err(rc);
	rc = give_buffer(record, blob, len);
	return rc ? rc : 1;
}

int wa_sig_stores_install(wa_sig *s)
{
	const signal_protocol_session_store ss = {
		.load_session_func = session_load,
		.get_sub_device_sessions_func = session_devices,
		.store_session_func = session_store,
		.contains_session_func = session_contains,
		.delete_session_func = session_delete,
		.delete_all_sessions_func = session_delete_all,
		.user_data = s,
	};
	const signal_protocol_pre_key_store ps = {
		.load_pre_key = prekey_load,
		.store_pre_key = prekey_store,
		.contains_pre_key = prekey_contains,
		.remove_pre_key = prekey_remove,
		.user_data = s,
	};
	const signal_protocol_signed_pre_key_store sps = {
		.load_signed_pre_key = spk_load,
		.store_signed_pre_key = spk_store,
		.contains_signed_pre_key = spk_contains,
		.remove_signed_pre_key = spk_remove,
		.user_data = s,
	};
	const signal_protocol_identity_key_store is = {
		.get_identity_key_pair = identity_pair,
		.get_local_registration_id = identity_regid,
		.save_identity = identity_save,
		.is_trusted_identity = identity_trusted,
		.user_data = s,
	};
	const signal_protocol_sender_key_store sks = {
		.store_sender_key = sk_store,
		.load_sender_key = sk_load,
		.user_data = s,
	};
	if (signal_protocol_store_context_set_session_store(s->sctx, &ss) ||
	    signal_protocol_store_context_set_pre_key_store(s->sctx, &ps) ||
	    signal_protocol_store_context_set_signed_pre_key_store(s->sctx, &sps) ||
	    signal_protocol_store_context_set_identity_key_store(s->sctx, &is) ||
	    signal_protocol_store_context_set_sender_key_store(s->sctx, &sks))
		return WA_ENOMEM;
	return 0;
}
