/* Identity, signed pre-key and one-time pre-key generation (prekeys.h). */
#include "signal/prekeys.h"

#include <key_helper.h>
#include <sodium.h>
#include <string.h>

#include "signal/internal.h"
#include "signal/provider.h"
#include "util/seams.h"

/* A throwaway libsignal context for work that needs no store. */
static int temp_ctx(signal_context **out)
{
	signal_context *g = NULL;
	if (signal_context_create(&g, NULL) != 0)
		return WA_ENOMEM;
	int rc = wa_sig_provider_install(g, NULL);
	if (rc) {
		signal_context_destroy(g);
		return rc;
	}
	*out = g;
	return 0;
}

/* 33-byte libsignal form -> raw 32 bytes. */
static int pub_raw(const ec_public_key *k, uint8_t out[32])
{
	signal_buffer *b = NULL;
	if (ec_public_key_serialize(&b, k) < 0)
		return WA_ENOMEM;
	int rc = 0;
	if (signal_buffer_len(b) != 33 || signal_buffer_data(b)[0] != 0x05)
		rc = WA_ECRYPTO;
	else
		memcpy(out, signal_buffer_data(b) + 1, 32);
	signal_buffer_free(b);
	return rc;
}

static int priv_raw(const ec_private_key *k, uint8_t out[32])
{
	signal_buffer *b = NULL;
	if (ec_private_key_serialize(&b, k) < 0)
		return WA_ENOMEM;
	int rc = 0;
	if (signal_buffer_len(b) != 32)
		rc = WA_ECRYPTO;
	else
		memcpy(out, signal_buffer_data(b), 32);
	signal_buffer_bzero_free(b);
	return rc;
}

int wa_sig_identity_generate(wa_store_creds *c)
{
	if (!c)
		return WA_EINVAL;
	signal_context *g;
	int rc = temp_ctx(&g);
	if (rc)
		return rc;
	ec_key_pair *kp = NULL;
	uint8_t pub[32], priv[32];
	if (curve_generate_key_pair(g, &kp) < 0) {
		rc = WA_ECRYPTO;
		goto out;
	}
	if ((rc = pub_raw(ec_key_pair_get_public(kp), pub)) ||
	    (rc = priv_raw(ec_key_pair_get_private(kp), priv)))
		goto out;
	uint16_t r;
	do {
		wa_rand_bytes(&r, sizeof r);
		r &= WA_SIG_REGID_MASK;
	} while (r == 0); /* 0 reads as "unset" in libsignal-node */
	memcpy(c->identity_pub, pub, 32);
	memcpy(c->identity_priv, priv, 32);
	c->registration_id = r;
out:
	sodium_memzero(priv, sizeof priv);
	SIGNAL_UNREF(kp);
	signal_context_destroy(g);
	return rc;
}

uint32_t wa_sig_prekey_next_id(uint32_t id)
{
	return (id >= WA_SIG_MAX_PREKEY_ID || id == 0) ? 1 : id + 1;
}

void wa_sig_key_id_encode(uint32_t id, uint8_t out[WA_SIG_KEY_ID_LEN])
{
	out[0] = (uint8_t)(id >> 16);
	out[1] = (uint8_t)(id >> 8);
	out[2] = (uint8_t)id;
}

int wa_sig_key_id_decode(const uint8_t *p, size_t len, uint32_t *id_out)
{
	if (!p || len != WA_SIG_KEY_ID_LEN)
		return WA_EMALFORMED;
	uint32_t id = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
	if (id == 0)
		return WA_EMALFORMED;
	*id_out = id;
	return 0;
}

static int identity_pair(wa_sig *s, ratchet_identity_key_pair **out)
{
	int rc = signal_protocol_identity_get_key_pair(s->sctx, out);
	return rc < 0 ? wa_sig_map_err(rc) : 0;
}

int wa_sig_signed_prekey_generate(wa_sig *s, uint32_t id, uint64_t timestamp_ms,
				  wa_sig_signed_prekey *out)
{
	if (!s || !out || id == 0 || id > WA_SIG_MAX_PREKEY_ID)
		return WA_EINVAL;
	ratchet_identity_key_pair *ikp = NULL;
	session_signed_pre_key *spk = NULL;
	signal_buffer *ser = NULL;
	wa_sig_signed_prekey res;
	int rc = identity_pair(s, &ikp);
	if (rc)
		goto out;
	/* libsignal signs ec_public_key_serialize(pub): the 33-byte form, which
	 * is what WhatsApp signs too */
	if ((rc = signal_protocol_key_helper_generate_signed_pre_key(&spk, ikp, id, timestamp_ms, s->gctx)) < 0) {
		rc = wa_sig_map_err(rc);
		goto out;
	}
	if (session_signed_pre_key_get_signature_len(spk) != WA_SIG_SIG_LEN) {
		rc = WA_ECRYPTO;
		goto out;
	}
	res.id = id;
	memcpy(res.sig, session_signed_pre_key_get_signature(spk), WA_SIG_SIG_LEN);
	if ((rc = pub_raw(ec_key_pair_get_public(session_signed_pre_key_get_key_pair(spk)), res.pub)))
		goto out;
	if (session_signed_pre_key_serialize(&ser, spk) < 0) {
		rc = WA_ENOMEM;
		goto out;
	}
	rc = wa_store_signed_prekey_save(s->st, s->instance, id, signal_buffer_data(ser), signal_buffer_len(ser));
	if (rc == 0)
		*out = res;
out:
	signal_buffer_bzero_free(ser);
	SIGNAL_UNREF(spk);
	SIGNAL_UNREF(ikp);
	return rc;
}

static int one_prekey(wa_sig *s, uint32_t id, wa_sig_prekey *out)
{
	ec_key_pair *kp = NULL;
	session_pre_key *pk = NULL;
	signal_buffer *ser = NULL;
	int rc;
	if (curve_generate_key_pair(s->gctx, &kp) < 0) {
		rc = WA_ECRYPTO;
		goto out;
	}
	if (session_pre_key_create(&pk, id, kp) < 0 || session_pre_key_serialize(&ser, pk) < 0) {
		rc = WA_ENOMEM;
		goto out;
	}
	out->id = id;
	if ((rc = pub_raw(ec_key_pair_get_public(kp), out->pub)))
		goto out;
	rc = wa_store_prekey_save(s->st, s->instance, id, signal_buffer_data(ser), signal_buffer_len(ser));
out:
	signal_buffer_bzero_free(ser);
	SIGNAL_UNREF(pk);
	SIGNAL_UNREF(kp);
	return rc;
}

int wa_sig_prekeys_generate(wa_sig *s, uint32_t first_id, size_t n, wa_sig_prekey *out,
			    uint32_t *next_id_out)
{
	if (!s || !out || n == 0 || first_id > WA_SIG_MAX_PREKEY_ID)
		return WA_EINVAL;
	if (n > WA_SIG_MAX_PREKEY_BATCH)
		return WA_ETOOBIG;
	int rc = wa_sig_tx_begin(s);
	if (rc)
		return rc;
	uint32_t id = first_id ? first_id : 1;
	for (size_t i = 0; i < n && rc == 0; i++) {
		rc = one_prekey(s, id, &out[i]);
		id = wa_sig_prekey_next_id(id);
	}
	rc = wa_sig_tx_end(s, rc);
	if (rc == 0 && next_id_out)
		*next_id_out = id;
	return rc;
}

int wa_sig_signed_prekey_verify(const uint8_t identity_pub[WA_SIG_KEY_LEN],
				const uint8_t spk_pub[WA_SIG_KEY_LEN], const uint8_t sig[WA_SIG_SIG_LEN])
{
	signal_context *g;
	int rc = temp_ctx(&g);
	if (rc)
		return rc;
	uint8_t ik[33] = { 0x05 }, sk[33] = { 0x05 };
	memcpy(ik + 1, identity_pub, 32);
	memcpy(sk + 1, spk_pub, 32);
	ec_public_key *k = NULL;
	if (curve_decode_point(&k, ik, sizeof ik, g) < 0) {
		rc = WA_ESIG_INVALID;
	} else {
		rc = curve_verify_signature(k, sk, sizeof sk, sig, WA_SIG_SIG_LEN) == 1 ? 0 : WA_ESIG_VERIFY;
	}
	SIGNAL_UNREF(k);
	signal_context_destroy(g);
	return rc;
}
