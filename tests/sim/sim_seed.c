/* wasim test-only fast provisioning ("seeding"): a companion device is
 * linked without a registration connection, for benchmarks that need
 * thousands of paired devices (tests/bench/seed.mjs drives it). The
 * cryptography is the pairing's own, split over two control requests
 * between which the companion side runs elsewhere (tests/bench/wamd_seed,
 * with libwa's wa_pair_verify_and_sign):
 *
 *   POST /_sim/seed/offer  {"items":[{phone, identity, adv_secret}]}
 *     the phone reserves a device number and key index and answers what
 *     pair-success would carry: the ADVSignedDeviceIdentityHMAC (account
 *     signature by the phone's identity key, HMAC with the companion's ADV
 *     secret), the device's PN and LID JIDs and the platform name. The
 *     account is created when it does not exist.
 *   POST /_sim/seed/accept {"items":[{phone, device, identity, noise_pub,
 *     regid, spk_id, spk_pub, spk_sig, signed_identity, prekeys:[{id,pub}]}]}
 *     what pair-device-sign and the first pre-key upload would carry: the
 *     account signature is checked against the phone's key, the device
 *     signature against the companion's identity, and the device is added
 *     with its one-time pre-keys, as a paired device that has uploaded.
 *
 * Binary fields are base64. Each item is answered in order ({"error"} for
 * one that failed; the others are kept). wasim is a test binary: nothing of
 * this exists in libwa or wamd. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_msg.h"
#include "adv.pb-c.h"
#include "pb.h"
#include "util/codec.h"

#define SEED_MAX_ITEMS 2000
#define SEED_MAX_OTK 1000
#define SEED_MAX_ADV 4096

static int b64_fixed(json_t *o, const char *key, uint8_t *out, size_t want)
{
	const char *s = json_string_value(json_object_get(o, key));
	uint8_t *p = NULL;
	size_t n = 0;
	if (!s || wa_b64_decode(s, strlen(s), &p, &n) != 0)
		return WA_EMALFORMED;
	int rc = n == want ? 0 : WA_EMALFORMED;
	if (!rc)
		memcpy(out, p, want);
	wa_memzero(p, n);
	free(p);
	return rc;
}

static json_t *b64_json(const uint8_t *p, size_t n)
{
	char *s = wa_b64_encode(p, n);
	json_t *j = s ? json_string(s) : NULL;
	free(s);
	return j;
}

static const char *item_phone(json_t *o, char *buf, size_t cap)
{
	json_t *v = json_object_get(o, "phone");
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v)) {
		snprintf(buf, cap, "%lld", (long long)json_integer_value(v));
		return buf;
	}
	return NULL;
}

static json_t *err_item(const char *why)
{
	return json_pack("{s:s}", "error", why);
}

/* pair-success's content for one companion (pair.c send_pair_success). */
static json_t *offer_one(struct sim *sim, json_t *o)
{
	char pb[32];
	const char *phone = item_phone(o, pb, sizeof pb);
	uint8_t identity[32], adv[32];
	if (!phone || b64_fixed(o, "identity", identity, 32) || b64_fixed(o, "adv_secret", adv, 32))
		return err_item("need phone, identity, adv_secret (base64, 32 bytes)");
	struct sim_account *a = sim_account_find(sim, phone);
	if (!a && sim_account_create(sim, phone, &a) != 0)
		return err_item("cannot create the account");
	uint32_t device = a->next_device++, key_index = a->next_key_index++;

	Wa__ADVDeviceIdentity di = WA__ADVDEVICE_IDENTITY__INIT;
	di.has_raw_id = di.has_timestamp = di.has_key_index = 1;
	di.raw_id = a->adv_raw_id;
	di.timestamp = (uint64_t)sim_now();
	di.key_index = key_index;
	uint8_t d_bytes[64], msg[2 + 64 + 32], asig[64], hmac[32];
	size_t d_len = protobuf_c_message_get_packed_size(&di.base);
	if (d_len > sizeof d_bytes)
		return err_item("details too large");
	protobuf_c_message_pack(&di.base, d_bytes);
	msg[0] = 6;
	msg[1] = 0;
	memcpy(msg + 2, d_bytes, d_len);
	memcpy(msg + 2 + d_len, identity, 32);
	if (wa_xeddsa_sign(asig, a->identity.priv, msg, 2 + d_len + 32) != 0)
		return err_item("sign failed");

	Wa__ADVSignedDeviceIdentity si = WA__ADVSIGNED_DEVICE_IDENTITY__INIT;
	si.has_details = si.has_account_signature_key = si.has_account_signature = 1;
	si.details = (ProtobufCBinaryData){ d_len, d_bytes };
	si.account_signature_key = (ProtobufCBinaryData){ 32, a->identity.pub };
	si.account_signature = (ProtobufCBinaryData){ 64, asig };
	uint8_t s_bytes[512], h_bytes[600];
	size_t s_len = protobuf_c_message_get_packed_size(&si.base);
	if (s_len > sizeof s_bytes)
		return err_item("identity too large");
	protobuf_c_message_pack(&si.base, s_bytes);
	if (wa_hmac_sha256(hmac, adv, 32, s_bytes, s_len) != 0)
		return err_item("hmac failed");
	wa_memzero(adv, sizeof adv);
	Wa__ADVSignedDeviceIdentityHMAC hi = WA__ADVSIGNED_DEVICE_IDENTITY_HMAC__INIT;
	hi.has_details = hi.has_hmac = 1;
	hi.details = (ProtobufCBinaryData){ s_len, s_bytes };
	hi.hmac = (ProtobufCBinaryData){ 32, hmac };
	size_t h_len = protobuf_c_message_get_packed_size(&hi.base);
	if (h_len > sizeof h_bytes)
		return err_item("container too large");
	protobuf_c_message_pack(&hi.base, h_bytes);

	char jid[64], lid[64];
	sim_device_pn_jid(a, device, jid, sizeof jid);
	sim_device_lid_jid(a, device, lid, sizeof lid);
	return json_pack("{s:I, s:I, s:s, s:s, s:s, s:o}", "device", (json_int_t)device, "key_index",
		(json_int_t)key_index, "jid", jid, "lid", lid, "platform", "android", "device_identity",
		b64_json(h_bytes, h_len));
}

/* pair-device-sign's checks (pair.c on_pair_device_sign) and the upload. */
static json_t *accept_one(struct sim *sim, json_t *o)
{
	char pb[32];
	const char *phone = item_phone(o, pb, sizeof pb);
	json_t *dv = json_object_get(o, "device"), *pks = json_object_get(o, "prekeys");
	struct sim_device tmp;
	memset(&tmp, 0, sizeof tmp);
	if (!phone || !json_is_integer(dv) || b64_fixed(o, "identity", tmp.identity, 32) ||
	    b64_fixed(o, "noise_pub", tmp.noise_pub, 32) || b64_fixed(o, "spk_pub", tmp.spk_pub, 32) ||
	    b64_fixed(o, "spk_sig", tmp.spk_sig, 64) || !json_is_integer(json_object_get(o, "regid")) ||
	    !json_is_integer(json_object_get(o, "spk_id")) || !json_is_array(pks) ||
	    json_array_size(pks) > SEED_MAX_OTK)
		return err_item("need phone, device, identity, noise_pub, regid, spk_id, spk_pub, spk_sig, prekeys");
	struct sim_account *a = sim_account_find(sim, phone);
	uint32_t device = (uint32_t)json_integer_value(dv);
	if (!a || device == 0 || device >= a->next_device || sim_device_find(a, device))
		return err_item("no device offered under that number");
	const char *sis = json_string_value(json_object_get(o, "signed_identity"));
	uint8_t *sib = NULL;
	size_t sil = 0;
	if (!sis || wa_b64_decode(sis, strlen(sis), &sib, &sil) != 0)
		return err_item("bad signed_identity");
	ProtobufCMessage *m = NULL, *dm = NULL;
	int rc = wa_pb_unpack(&m, &wa__advsigned_device_identity__descriptor, sib, sil, SEED_MAX_ADV);
	free(sib);
	if (rc)
		return err_item("signed_identity does not parse");
	Wa__ADVSignedDeviceIdentity *si = (Wa__ADVSignedDeviceIdentity *)m;
	const char *why = NULL;
	uint8_t *msg = NULL;
	struct sim_device *d = NULL;
	if (!si->has_details || !si->has_account_signature || si->account_signature.len != 64 ||
	    !si->has_device_signature || si->device_signature.len != 64) {
		why = "signed_identity lacks details or signatures";
		goto out;
	}
	if (wa_pb_unpack(&dm, &wa__advdevice_identity__descriptor, si->details.data, si->details.len,
		    SEED_MAX_ADV) != 0) {
		why = "details do not parse";
		goto out;
	}
	Wa__ADVDeviceIdentity *di = (Wa__ADVDeviceIdentity *)dm;
	size_t dl = si->details.len;
	msg = malloc(2 + dl + 64);
	if (!msg) {
		why = "out of memory";
		goto out;
	}
	/* the phone's own signature over these details and this identity */
	msg[0] = 6;
	msg[1] = 0;
	memcpy(msg + 2, si->details.data, dl);
	memcpy(msg + 2 + dl, tmp.identity, 32);
	if (!di->has_raw_id || di->raw_id != a->adv_raw_id ||
	    wa_xeddsa_verify(a->identity.pub, msg, 2 + dl + 32, si->account_signature.data) != 0) {
		why = "account signature is not this phone's";
		goto out;
	}
	/* deviceSignature = XEdDSA(I, 06 01 || D || I.pub || A.pub) */
	msg[1] = 1;
	memcpy(msg + 2 + dl + 32, a->identity.pub, 32);
	if (wa_xeddsa_verify(tmp.identity, msg, 2 + dl + 64, si->device_signature.data) != 0) {
		why = "bad device signature";
		goto out;
	}
	d = calloc(1, sizeof *d);
	if (!d) {
		why = "out of memory";
		goto out;
	}
	*d = tmp;
	d->device = device;
	d->key_index = di->key_index;
	d->regid = (uint32_t)json_integer_value(json_object_get(o, "regid"));
	d->spk_id = (uint32_t)json_integer_value(json_object_get(o, "spk_id"));
	snprintf(d->platform, sizeof d->platform, "%s", "Chrome (Linux)");
	/* stored with the account key filled back in, as pairing does */
	si->has_account_signature_key = 1;
	si->account_signature_key = (ProtobufCBinaryData){ 32, a->identity.pub };
	d->signed_identity_len = protobuf_c_message_get_packed_size(&si->base);
	d->signed_identity = malloc(d->signed_identity_len);
	if (d->signed_identity)
		protobuf_c_message_pack(&si->base, d->signed_identity);
	si->account_signature_key = (ProtobufCBinaryData){ 0, NULL };
	si->has_account_signature_key = 0;
	if (!d->signed_identity || sim_device_attach(sim, a, d) != 0) {
		free(d->signed_identity);
		free(d);
		d = NULL;
		why = "out of memory";
		goto out;
	}
	struct sim_dev_ext *x = sim_dx(d);
	if (!x) {
		why = "out of memory";
		goto out;
	}
	sim_keys_set_bundle(&x->keys, d->regid, d->identity, d->spk_id, d->spk_pub, d->spk_sig);
	x->keys.uploaded = true;
	for (size_t i = 0; i < json_array_size(pks); i++) {
		json_t *k = json_array_get(pks, i);
		uint8_t pub[32];
		json_t *id = json_object_get(k, "id");
		if (!json_is_integer(id) || b64_fixed(k, "pub", pub, 32) ||
		    sim_keys_add_otk(&x->keys, (uint32_t)json_integer_value(id), pub) != 0) {
			why = "bad pre-key (device kept with the keys before it)";
			break;
		}
	}
out:
	free(msg);
	if (dm)
		protobuf_c_message_free_unpacked(dm, NULL);
	protobuf_c_message_free_unpacked(m, NULL);
	if (why)
		return err_item(why);
	char jid[64];
	sim_device_pn_jid(a, device, jid, sizeof jid);
	return json_pack("{s:s}", "jid", jid);
}

static int seed_batch(struct sim *sim, const struct sim_http_req *req, struct sim_http_resp *resp,
	json_t *(*one)(struct sim *, json_t *))
{
	json_t *items = req->json ? json_object_get(req->json, "items") : NULL;
	if (!json_is_array(items) || json_array_size(items) > SEED_MAX_ITEMS) {
		sim_http_error(resp, 400, "need {\"items\":[...]} (at most 2000)");
		return 0;
	}
	json_t *out = json_array();
	for (size_t i = 0; i < json_array_size(items); i++) {
		json_t *r = one(sim, json_array_get(items, i));
		json_array_append_new(out, r ? r : err_item("out of memory"));
	}
	sim_msg_dirty(sim);
	(void)sim_save(sim);
	sim_http_json(resp, 200, json_pack("{s:o}", "items", out));
	return 0;
}

static int h_offer(struct sim *sim, const struct sim_http_req *req, struct sim_http_resp *resp, void *user)
{
	(void)user;
	return seed_batch(sim, req, resp, offer_one);
}

static int h_accept(struct sim *sim, const struct sim_http_req *req, struct sim_http_resp *resp, void *user)
{
	(void)user;
	return seed_batch(sim, req, resp, accept_one);
}

int sim_seed_init(struct sim *sim)
{
	int rc = sim_http_register(sim, "POST", "/_sim/seed/offer", h_offer, NULL);
	return rc ? rc : sim_http_register(sim, "POST", "/_sim/seed/accept", h_accept, NULL);
}
