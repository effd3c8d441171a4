/* pkmsg/msg/skmsg on libsignal-protocol-c (cipher.h). Each entry point:
 * check arguments, open the transaction bracket, run libsignal, translate
 * its error, close the bracket (commit on success, rollback otherwise). */
#include "signal/cipher.h"

#include <group_cipher.h>
#include <group_session_builder.h>
#include <protocol.h>
#include <session_builder.h>
#include <session_cipher.h>
#include <string.h>

#include "signal/internal.h"
#include "signal/padding.h"

const char *wa_sig_type_name(enum wa_sig_msg_type t)
{
	switch (t) {
	case WA_SIG_TYPE_MSG: return "msg";
	case WA_SIG_TYPE_PKMSG: return "pkmsg";
	case WA_SIG_TYPE_SKMSG: return "skmsg";
	}
	return NULL;
}

int wa_sig_type_parse(const char *name, enum wa_sig_msg_type *out)
{
	static const enum wa_sig_msg_type all[] = { WA_SIG_TYPE_MSG, WA_SIG_TYPE_PKMSG, WA_SIG_TYPE_SKMSG };
	if (!name)
		return WA_EINVAL;
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
		if (strcmp(name, wa_sig_type_name(all[i])) == 0) {
			*out = all[i];
			return 0;
		}
	}
	return WA_EMALFORMED;
}

static int make_addr(signal_protocol_address *a, const char *name, int32_t device)
{
	if (!name || device < 0)
		return WA_EINVAL;
	size_t n = strlen(name);
	if (n == 0)
		return WA_EINVAL;
	if (n >= WA_SIG_NAME_MAX)
		return WA_ETOOBIG;
	a->name = name;
	a->name_len = n;
	a->device_id = device;
	return 0;
}

static int make_skn(signal_protocol_sender_key_name *k, const char *group, const char *name, int32_t device)
{
	if (!group)
		return WA_EINVAL;
	size_t n = strlen(group);
	if (n == 0)
		return WA_EINVAL;
	if (n >= WA_SIG_NAME_MAX)
		return WA_ETOOBIG;
	k->group_id = group;
	k->group_id_len = n;
	return make_addr(&k->sender, name, device);
}

static int decode_raw_key(wa_sig *s, const uint8_t raw[WA_SIG_KEY_LEN], ec_public_key **out)
{
	uint8_t k[33] = { 0x05 }; /* wire keys are raw; libsignal wants the typed form */
	memcpy(k + 1, raw, WA_SIG_KEY_LEN);
	return curve_decode_point(out, k, sizeof k, s->gctx) < 0 ? WA_ESIG_INVALID : 0;
}

/* Hands a libsignal buffer's bytes to the caller as malloc'd memory. */
static int steal_bytes(const uint8_t *p, size_t n, uint8_t **out, size_t *out_len)
{
	uint8_t *b = malloc(n ? n : 1);
	if (!b)
		return WA_ENOMEM;
	if (n)
		memcpy(b, p, n);
	*out = b;
	*out_len = n;
	return 0;
}

int wa_sig_session_from_bundle(wa_sig *s, const char *name, int32_t device, const wa_sig_bundle *b)
{
	signal_protocol_address a;
	int rc = s && b ? make_addr(&a, name, device) : WA_EINVAL;
	if (rc)
		return rc;
	ec_public_key *ik = NULL, *spk = NULL, *pk = NULL;
	session_pre_key_bundle *bundle = NULL;
	session_builder *builder = NULL;
	if ((rc = decode_raw_key(s, b->identity, &ik)) || (rc = decode_raw_key(s, b->signed_prekey, &spk)) ||
	    (b->has_prekey && (rc = decode_raw_key(s, b->prekey, &pk))))
		goto out;
	if (session_pre_key_bundle_create(&bundle, b->registration_id, device, b->has_prekey ? b->prekey_id : 0,
					  pk, b->signed_prekey_id, spk, b->signed_prekey_sig, WA_SIG_SIG_LEN,
					  ik) < 0) {
		rc = WA_ENOMEM;
		goto out;
	}
	if (session_builder_create(&builder, s->sctx, &a, s->gctx) < 0) {
		rc = WA_ENOMEM;
		goto out;
	}
	if ((rc = wa_sig_tx_begin(s)))
		goto out;
	/* libsignal verifies the signed pre-key's signature (once: checking it
	 * here too cost a fifth of a first send to 2,000 devices); a refusal is
	 * checked again so that a forged bundle reads as WA_ESIG_VERIFY, not
	 * "invalid key" */
	int sr = session_builder_process_pre_key_bundle(builder, bundle), vr = 0;
	if (sr == SG_ERR_INVALID_KEY)
		vr = wa_sig_signed_prekey_verify(b->identity, b->signed_prekey, b->signed_prekey_sig);
	rc = wa_sig_tx_end(s, vr ? vr : wa_sig_map_err(sr));
out:
	session_builder_free(builder);
	SIGNAL_UNREF(bundle);
	SIGNAL_UNREF(ik);
	SIGNAL_UNREF(spk);
	SIGNAL_UNREF(pk);
	return rc;
}

int wa_sig_session_exists(wa_sig *s, const char *name, int32_t device, bool *out)
{
	signal_protocol_address a;
	int rc = s && out ? make_addr(&a, name, device) : WA_EINVAL;
	if (rc)
		return rc;
	return wa_store_session_exists(s->st, s->instance, name, device, out);
}

int wa_sig_session_delete(wa_sig *s, const char *name, int32_t device)
{
	signal_protocol_address a;
	int rc = s ? make_addr(&a, name, device) : WA_EINVAL;
	if (rc)
		return rc;
	return wa_store_session_delete(s->st, s->instance, name, device);
}

int wa_sig_encrypt(wa_sig *s, const char *name, int32_t device, const uint8_t *pt, size_t pt_len,
		   enum wa_sig_msg_type *type_out, uint8_t **ct_out, size_t *ct_len_out)
{
	signal_protocol_address a;
	int rc = s && type_out && ct_out && ct_len_out && (pt || !pt_len) ? make_addr(&a, name, device) : WA_EINVAL;
	if (rc)
		return rc;
	uint8_t *padded = NULL;
	size_t padded_len = 0;
	session_cipher *c = NULL;
	ciphertext_message *m = NULL;
	if ((rc = wa_sig_pad(pt, pt_len, &padded, &padded_len)))
		return rc;
	if (session_cipher_create(&c, s->sctx, &a, s->gctx) < 0) {
		rc = WA_ENOMEM;
		goto out;
	}
	if ((rc = wa_sig_tx_begin(s)))
		goto out;
	/* no session: WA_ESIG_NOSESSION from the load callback (stores.c) */
	s->need_session = true;
	rc = wa_sig_map_err(session_cipher_encrypt(c, padded, padded_len, &m));
	s->need_session = false;
	int type = 0;
	uint8_t *ct = NULL;
	size_t ct_len = 0;
	if (rc == 0) {
		type = ciphertext_message_get_type(m);
		if (type != CIPHERTEXT_SIGNAL_TYPE && type != CIPHERTEXT_PREKEY_TYPE)
			rc = WA_ECRYPTO;
	}
	if (rc == 0) {
		signal_buffer *ser = ciphertext_message_get_serialized(m);
		rc = steal_bytes(signal_buffer_data(ser), signal_buffer_len(ser), &ct, &ct_len);
	}
	rc = wa_sig_tx_end(s, rc);
	if (rc == 0) {
		*type_out = type == CIPHERTEXT_PREKEY_TYPE ? WA_SIG_TYPE_PKMSG : WA_SIG_TYPE_MSG;
		*ct_out = ct;
		*ct_len_out = ct_len;
	} else {
		free(ct);
	}
out:
	SIGNAL_UNREF(m);
	session_cipher_free(c);
	if (padded) {
		memset(padded, 0, padded_len);
		free(padded);
	}
	return rc;
}

/* Runs inside libsignal before the ratchet is saved: a plaintext with a bad
 * pad aborts the decrypt and nothing is stored. */
static int check_pad(const signal_buffer *pt)
{
	size_t n;
	return wa_sig_unpad(signal_buffer_const_data(pt), signal_buffer_len(pt), &n) == 0 ? 0 : SG_ERR_INVALID_MESSAGE;
}

static int session_pad_cb(session_cipher *c, signal_buffer *pt, void *ctx)
{
	(void)c;
	(void)ctx;
	return check_pad(pt);
}

static int group_pad_cb(group_cipher *c, signal_buffer *pt, void *ctx)
{
	(void)c;
	(void)ctx;
	return check_pad(pt);
}

static int unpadded_out(signal_buffer *pt, uint8_t **pt_out, size_t *pt_len_out)
{
	size_t n;
	int rc = wa_sig_unpad(signal_buffer_data(pt), signal_buffer_len(pt), &n);
	return rc ? WA_ESIG_INVALID : steal_bytes(signal_buffer_data(pt), n, pt_out, pt_len_out);
}

int wa_sig_decrypt(wa_sig *s, const char *name, int32_t device, enum wa_sig_msg_type type,
		   const uint8_t *ct, size_t ct_len, uint8_t **pt_out, size_t *pt_len_out)
{
	signal_protocol_address a;
	int rc = s && ct && pt_out && pt_len_out ? make_addr(&a, name, device) : WA_EINVAL;
	if (rc)
		return rc;
	if (type != WA_SIG_TYPE_MSG && type != WA_SIG_TYPE_PKMSG)
		return WA_EINVAL;
	if (ct_len > WA_SIG_MAX_CIPHERTEXT)
		return WA_ETOOBIG;
	session_cipher *c = NULL;
	pre_key_signal_message *pkm = NULL;
	signal_message *sm = NULL;
	signal_buffer *pt = NULL;
	uint8_t *res = NULL;
	size_t res_len = 0;
	int e = type == WA_SIG_TYPE_PKMSG ? pre_key_signal_message_deserialize(&pkm, ct, ct_len, s->gctx)
					  : signal_message_deserialize(&sm, ct, ct_len, s->gctx);
	if (e < 0) {
		rc = e == SG_ERR_NOMEM ? WA_ENOMEM : WA_ESIG_INVALID;
		goto out;
	}
	if (session_cipher_create(&c, s->sctx, &a, s->gctx) < 0) {
		rc = WA_ENOMEM;
		goto out;
	}
	session_cipher_set_decryption_callback(c, session_pad_cb);
	if ((rc = wa_sig_tx_begin(s)))
		goto out;
	e = pkm ? session_cipher_decrypt_pre_key_signal_message(c, pkm, NULL, &pt)
		: session_cipher_decrypt_signal_message(c, sm, NULL, &pt);
	rc = wa_sig_map_err(e);
	if (rc == 0)
		rc = unpadded_out(pt, &res, &res_len);
	rc = wa_sig_tx_end(s, rc);
	if (rc == 0) {
		*pt_out = res;
		*pt_len_out = res_len;
		res = NULL;
	}
out:
	free(res);
	signal_buffer_bzero_free(pt);
	session_cipher_free(c);
	SIGNAL_UNREF(pkm);
	SIGNAL_UNREF(sm);
	return rc;
}

int wa_sig_group_skdm(wa_sig *s, const char *group, const char *name, int32_t device,
		      uint8_t **skdm_out, size_t *skdm_len_out)
{
	signal_protocol_sender_key_name k;
	int rc = s && skdm_out && skdm_len_out ? make_skn(&k, group, name, device) : WA_EINVAL;
	if (rc)
		return rc;
	group_session_builder *gb = NULL;
	sender_key_distribution_message *dm = NULL;
	uint8_t *res = NULL;
	size_t res_len = 0;
	if (group_session_builder_create(&gb, s->sctx, s->gctx) < 0)
		return WA_ENOMEM;
	if ((rc = wa_sig_tx_begin(s)))
		goto out;
	rc = wa_sig_map_err(group_session_builder_create_session(gb, &dm, &k));
	if (rc == 0) {
		signal_buffer *ser = ciphertext_message_get_serialized((ciphertext_message *)dm);
		rc = steal_bytes(signal_buffer_data(ser), signal_buffer_len(ser), &res, &res_len);
	}
	rc = wa_sig_tx_end(s, rc);
	if (rc == 0) {
		*skdm_out = res;
		*skdm_len_out = res_len;
		res = NULL;
	}
out:
	free(res);
	SIGNAL_UNREF(dm);
	group_session_builder_free(gb);
	return rc;
}

int wa_sig_group_process_skdm(wa_sig *s, const char *group, const char *name, int32_t device,
			      const uint8_t *skdm, size_t skdm_len)
{
	signal_protocol_sender_key_name k;
	int rc = s && skdm ? make_skn(&k, group, name, device) : WA_EINVAL;
	if (rc)
		return rc;
	if (skdm_len > WA_SIG_MAX_CIPHERTEXT)
		return WA_ETOOBIG;
	group_session_builder *gb = NULL;
	sender_key_distribution_message *dm = NULL;
	int e = sender_key_distribution_message_deserialize(&dm, skdm, skdm_len, s->gctx);
	if (e < 0)
		return e == SG_ERR_NOMEM ? WA_ENOMEM : WA_ESIG_INVALID;
	if (group_session_builder_create(&gb, s->sctx, s->gctx) < 0) {
		rc = WA_ENOMEM;
		goto out;
	}
	if ((rc = wa_sig_tx_begin(s)))
		goto out;
	rc = wa_sig_tx_end(s, wa_sig_map_err(group_session_builder_process_session(gb, &k, dm)));
out:
	group_session_builder_free(gb);
	SIGNAL_UNREF(dm);
	return rc;
}

int wa_sig_group_encrypt(wa_sig *s, const char *group, const char *name, int32_t device,
			 const uint8_t *pt, size_t pt_len, uint8_t **ct_out, size_t *ct_len_out)
{
	signal_protocol_sender_key_name k;
	int rc = s && ct_out && ct_len_out && (pt || !pt_len) ? make_skn(&k, group, name, device) : WA_EINVAL;
	if (rc)
		return rc;
	uint8_t *padded = NULL, *res = NULL;
	size_t padded_len = 0, res_len = 0;
	group_cipher *gc = NULL;
	ciphertext_message *m = NULL;
	if ((rc = wa_sig_pad(pt, pt_len, &padded, &padded_len)))
		return rc;
	if (group_cipher_create(&gc, s->sctx, &k, s->gctx) < 0) {
		rc = WA_ENOMEM;
		goto out;
	}
	if ((rc = wa_sig_tx_begin(s)))
		goto out;
	rc = wa_sig_map_err(group_cipher_encrypt(gc, padded, padded_len, &m));
	if (rc == 0) {
		signal_buffer *ser = ciphertext_message_get_serialized(m);
		rc = steal_bytes(signal_buffer_data(ser), signal_buffer_len(ser), &res, &res_len);
	}
	rc = wa_sig_tx_end(s, rc);
	if (rc == 0) {
		*ct_out = res;
		*ct_len_out = res_len;
		res = NULL;
	}
out:
	free(res);
	SIGNAL_UNREF(m);
	group_cipher_free(gc);
	if (padded) {
		memset(padded, 0, padded_len);
		free(padded);
	}
	return rc;
}

int wa_sig_group_decrypt(wa_sig *s, const char *group, const char *name, int32_t device,
			 const uint8_t *ct, size_t ct_len, uint8_t **pt_out, size_t *pt_len_out)
{
	signal_protocol_sender_key_name k;
	int rc = s && ct && pt_out && pt_len_out ? make_skn(&k, group, name, device) : WA_EINVAL;
	if (rc)
		return rc;
	if (ct_len > WA_SIG_MAX_CIPHERTEXT)
		return WA_ETOOBIG;
	group_cipher *gc = NULL;
	sender_key_message *m = NULL;
	signal_buffer *pt = NULL;
	uint8_t *res = NULL;
	size_t res_len = 0;
	int e = sender_key_message_deserialize(&m, ct, ct_len, s->gctx);
	if (e < 0)
		return e == SG_ERR_NOMEM ? WA_ENOMEM : WA_ESIG_INVALID;
	if (group_cipher_create(&gc, s->sctx, &k, s->gctx) < 0) {
		rc = WA_ENOMEM;
		goto out;
	}
	group_cipher_set_decryption_callback(gc, group_pad_cb);
	if ((rc = wa_sig_tx_begin(s)))
		goto out;
	rc = wa_sig_map_err(group_cipher_decrypt(gc, m, NULL, &pt));
	if (rc == 0)
		rc = unpadded_out(pt, &res, &res_len);
	rc = wa_sig_tx_end(s, rc);
	if (rc == 0) {
		*pt_out = res;
		*pt_len_out = res_len;
		res = NULL;
	}
out:
	free(res);
	signal_buffer_bzero_free(pt);
	group_cipher_free(gc);
	SIGNAL_UNREF(m);
	return rc;
}
