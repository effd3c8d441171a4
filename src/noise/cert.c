/* Certificate chain check and construction (cert.h). Each check names its
 * number in §2.5 of transport-and-pairing.md; the order follows whatsmeow
 * handshake.go, with signatures verified before the signed bytes are
 * parsed (authenticate before parsing, STYLE §4). */
#include "noise/cert.h"

#include <stdlib.h>
#include <string.h>

#include "cert.pb-c.h"
#include "pb.h"
#include "crypto/crypto.h"

const uint8_t wa_noise_whatsapp_root_pub[32] = {
	0x14, 0x23, 0x75, 0x57, 0x4d, 0x0a, 0x58, 0x71, 0x66, 0xaa, 0xe7, 0x1e, 0xbe, 0x51, 0x64, 0x37,
	0xc4, 0xa2, 0x8b, 0x73, 0xe3, 0x69, 0x5c, 0x6c, 0xe1, 0xf7, 0xf9, 0x54, 0x5d, 0xa8, 0xee, 0x6b,
};

void wa_noise_trust_default(wa_noise_trust *t)
{
	memcpy(t->root_pub, wa_noise_whatsapp_root_pub, 32);
	t->root_serial = WA_NOISE_WHATSAPP_ROOT_SERIAL;
}

typedef Wa__CertChain__NoiseCertificate__Details cert_details;

/* Peer bytes go through wa_pb_unpack (bounded depth and memory). */
static cert_details *details_unpack(const ProtobufCBinaryData *b)
{
	ProtobufCMessage *m = NULL;
	if (wa_pb_unpack(&m, &wa__cert_chain__noise_certificate__details__descriptor,
			 b->data, b->len, WA_NOISE_MAX_CERT_CHAIN) != 0)
		return NULL;
	return (cert_details *)m;
}

static void details_free(cert_details *d)
{
	if (d)
		protobuf_c_message_free_unpacked(&d->base, NULL);
}

static bool cert_complete(const Wa__CertChain__NoiseCertificate *c)
{
	return c && c->has_details && c->has_signature;
}

/* notBefore <= now <= notAfter, in whole seconds */
static bool valid_at(const cert_details *d, int64_t now_ms)
{
	int64_t now_s = now_ms / 1000;
	if (now_s < 0)
		return false;
	uint64_t now = (uint64_t)now_s;
	uint64_t nb = d->has_not_before ? d->not_before : 0;
	uint64_t na = d->has_not_after ? d->not_after : 0;
	return nb <= now && now <= na;
}

int wa_noise_cert_chain_verify(const uint8_t *chain, size_t chain_len,
	const uint8_t server_static[static 32], const wa_noise_trust *trust, int64_t now_ms,
	const char **reason)
{
	const char *why = NULL;
	Wa__CertChain *cc = NULL;
	cert_details *inter = NULL, *leaf = NULL;

	if (chain_len > WA_NOISE_MAX_CERT_CHAIN) {
		why = "certificate chain larger than WA_NOISE_MAX_CERT_CHAIN";
		goto out;
	}
	ProtobufCMessage *ccm = NULL;
	if (wa_pb_unpack(&ccm, &wa__cert_chain__descriptor, chain, chain_len,
			 WA_NOISE_MAX_CERT_CHAIN) == 0)
		cc = (Wa__CertChain *)ccm;
	if (!cc) {
		why = "certificate chain is not a valid CertChain protobuf";
		goto out;
	}
	/* 1 */
	if (!cert_complete(cc->leaf)) {
		why = "leaf certificate lacks details or signature";
		goto out;
	}
	if (!cert_complete(cc->intermediate)) {
		why = "intermediate certificate lacks details or signature";
		goto out;
	}
	/* 2 */
	if (cc->intermediate->signature.len != WA_XEDDSA_SIG_LEN) {
		why = "intermediate signature is not 64 bytes";
		goto out;
	}
	if (cc->leaf->signature.len != WA_XEDDSA_SIG_LEN) {
		why = "leaf signature is not 64 bytes";
		goto out;
	}
	/* 3 */
	if (wa_xeddsa_verify(trust->root_pub, cc->intermediate->details.data,
		    cc->intermediate->details.len, cc->intermediate->signature.data) != 0) {
		why = "intermediate certificate is not signed by the trusted root";
		goto out;
	}
	inter = details_unpack(&cc->intermediate->details);
	if (!inter) {
		why = "intermediate details are not a valid protobuf";
		goto out;
	}
	/* 4 */
	if ((inter->has_issuer_serial ? inter->issuer_serial : 0) != trust->root_serial) {
		why = "intermediate issuer serial does not match the root serial";
		goto out;
	}
	/* 5 */
	if (!inter->has_key || inter->key.len != 32) {
		why = "intermediate key is not 32 bytes";
		goto out;
	}
	/* 6 */
	if (wa_xeddsa_verify(inter->key.data, cc->leaf->details.data, cc->leaf->details.len,
		    cc->leaf->signature.data) != 0) {
		why = "leaf certificate is not signed by the intermediate key";
		goto out;
	}
	leaf = details_unpack(&cc->leaf->details);
	if (!leaf) {
		why = "leaf details are not a valid protobuf";
		goto out;
	}
	/* 7 */
	if (!valid_at(inter, now_ms)) {
		why = "intermediate certificate is expired or not yet valid";
		goto out;
	}
	if (!valid_at(leaf, now_ms)) {
		why = "leaf certificate is expired or not yet valid";
		goto out;
	}
	/* 8 */
	if ((leaf->has_issuer_serial ? leaf->issuer_serial : 0) !=
	    (inter->has_serial ? inter->serial : 0)) {
		why = "leaf issuer serial does not match the intermediate serial";
		goto out;
	}
	/* 9: without this, any genuine chain replayed by anyone passes
	 * (Baileys' weakness, §2.5) */
	if (!leaf->has_key || leaf->key.len != 32 || !wa_ct_equal(leaf->key.data, server_static, 32)) {
		why = "leaf certificate key does not match the server static key";
		goto out;
	}
out:
	details_free(leaf);
	details_free(inter);
	if (cc)
		wa__cert_chain__free_unpacked(cc, NULL);
	if (why) {
		if (reason)
			*reason = why;
		return WA_ENOISE_CERT;
	}
	return 0;
}

int wa_noise_cert_details_encode(const wa_noise_cert_spec *spec, uint8_t **out, size_t *out_len)
{
	cert_details d = WA__CERT_CHAIN__NOISE_CERTIFICATE__DETAILS__INIT;
	d.has_serial = 1;
	d.serial = spec->serial;
	d.has_issuer_serial = 1;
	d.issuer_serial = spec->issuer_serial;
	d.has_key = 1;
	d.key.data = (uint8_t *)spec->key;
	d.key.len = 32;
	d.has_not_before = 1;
	d.not_before = spec->not_before;
	d.has_not_after = 1;
	d.not_after = spec->not_after;
	size_t n = protobuf_c_message_get_packed_size(&d.base);
	uint8_t *p = malloc(n ? n : 1);
	if (!p)
		return WA_ENOMEM;
	protobuf_c_message_pack(&d.base, p);
	*out = p;
	*out_len = n;
	return 0;
}

static void set_bytes(protobuf_c_boolean *has, ProtobufCBinaryData *b, const uint8_t *p, size_t n)
{
	if (!p)
		return;
	*has = 1;
	b->data = (uint8_t *)p;
	b->len = n;
}

int wa_noise_cert_chain_pack(uint8_t **out, size_t *out_len,
	const uint8_t *leaf_details, size_t leaf_details_len,
	const uint8_t *leaf_sig, size_t leaf_sig_len,
	const uint8_t *int_details, size_t int_details_len,
	const uint8_t *int_sig, size_t int_sig_len)
{
	Wa__CertChain cc = WA__CERT_CHAIN__INIT;
	Wa__CertChain__NoiseCertificate leaf = WA__CERT_CHAIN__NOISE_CERTIFICATE__INIT;
	Wa__CertChain__NoiseCertificate inter = WA__CERT_CHAIN__NOISE_CERTIFICATE__INIT;
	set_bytes(&leaf.has_details, &leaf.details, leaf_details, leaf_details_len);
	set_bytes(&leaf.has_signature, &leaf.signature, leaf_sig, leaf_sig_len);
	set_bytes(&inter.has_details, &inter.details, int_details, int_details_len);
	set_bytes(&inter.has_signature, &inter.signature, int_sig, int_sig_len);
	if (leaf_details || leaf_sig)
		cc.leaf = &leaf;
	if (int_details || int_sig)
		cc.intermediate = &inter;
	size_t n = wa__cert_chain__get_packed_size(&cc);
	uint8_t *p = malloc(n ? n : 1);
	if (!p)
		return WA_ENOMEM;
	wa__cert_chain__pack(&cc, p);
	*out = p;
	*out_len = n;
	return 0;
}

int wa_noise_cert_chain_build(uint8_t **out, size_t *out_len, const uint8_t root_priv[static 32],
	const wa_noise_cert_spec *intermediate, const uint8_t intermediate_priv[static 32],
	const wa_noise_cert_spec *leaf)
{
	uint8_t *id = NULL, *ld = NULL;
	size_t il = 0, ll = 0;
	uint8_t isig[WA_XEDDSA_SIG_LEN], lsig[WA_XEDDSA_SIG_LEN];
	int rc = wa_noise_cert_details_encode(intermediate, &id, &il);
	if (rc)
		goto out;
	rc = wa_noise_cert_details_encode(leaf, &ld, &ll);
	if (rc)
		goto out;
	rc = wa_xeddsa_sign(isig, root_priv, id, il);
	if (rc)
		goto out;
	rc = wa_xeddsa_sign(lsig, intermediate_priv, ld, ll);
	if (rc)
		goto out;
	rc = wa_noise_cert_chain_pack(out, out_len, ld, ll, lsig, sizeof lsig, id, il, isig, sizeof isig);
out:
	free(id);
	free(ld);
	return rc;
}
