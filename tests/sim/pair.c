/* Pairing on a registration connection, with wasim playing the primary
 * phone: pair-device refs, the phone "scanning" the QR (control API),
 * pair-success signed by the phone's identity key and HMAC'd with the ADV
 * secret, verification of pair-device-sign, then 515. Also the pairing-code
 * exchange (companion_hello / primary_hello / companion_finish) where the
 * phone side is driven by the control API.
 * Facts: transport-and-pairing.md §6 (QR), §7 (code), §6.8 (phone side). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "simcore.h"
#include "adv.pb-c.h"
#include "client_payload.pb-c.h"
#include "device_props.pb-c.h"
#include "pb.h"
#include "util/codec.h"
#include "util/seams.h"

#define PBKDF2_ITERS 131072 /* 2 << 16, Baileys derivePairingCodeKey / whatsmeow */
#define MAX_ADV_PB 4096

void sim_pairing_free(struct sim_pairing *p)
{
	if (!p)
		return;
	free(p->details);
	wa_keypair_clear(&p->code_p);
	wa_memzero(p, sizeof(*p));
	free(p);
}

static uint32_t be_bytes(const ProtobufCBinaryData *b, size_t n, bool *ok)
{
	if (b->len != n) {
		*ok = false;
		return 0;
	}
	uint32_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = v << 8 | b->data[i];
	return v;
}

static void random_ref(char *out, size_t len)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint8_t r[SIM_REF_LEN];
	wa_rand_bytes(r, sizeof(r));
	out[0] = '2';
	out[1] = '@';
	for (size_t i = 2; i < len; i++)
		out[i] = alphabet[r[i] & 63];
	out[len] = 0;
}

int sim_pair_start(struct sim_conn *c, const void *payload)
{
	const Wa__ClientPayload *cp = payload;
	const Wa__ClientPayload__DevicePairingRegistrationData *dp = cp->device_pairing_data;
	bool ok = true;
	if (!dp->has_e_regid || !dp->has_e_ident || !dp->has_e_skey_id || !dp->has_e_skey_val ||
	    !dp->has_e_skey_sig || !dp->has_e_keytype)
		return WA_EPROTO;
	if (dp->e_keytype.len != 1 || dp->e_keytype.data[0] != 5 || dp->e_ident.len != 32 ||
	    dp->e_skey_val.len != 32 || dp->e_skey_sig.len != 64)
		return WA_EPROTO;
	struct sim_pairing *p = calloc(1, sizeof(*p));
	if (!p)
		return WA_ENOMEM;
	p->regid = be_bytes(&dp->e_regid, 4, &ok);
	p->spk_id = be_bytes(&dp->e_skey_id, 3, &ok);
	memcpy(p->identity, dp->e_ident.data, 32);
	memcpy(p->spk_pub, dp->e_skey_val.data, 32);
	memcpy(p->spk_sig, dp->e_skey_sig.data, 64);
	uint8_t msg[33] = { 0x05 };
	memcpy(msg + 1, p->spk_pub, 32);
	if (!ok || wa_xeddsa_verify(p->identity, msg, sizeof(msg), p->spk_sig) != 0) {
		sim_pairing_free(p);
		return WA_EPROTO;
	}
	if (dp->has_device_props) {
		ProtobufCMessage *m = NULL;
		if (wa_pb_unpack(&m, &wa__device_props__descriptor, dp->device_props.data,
			    dp->device_props.len, 4096) == 0) {
			const Wa__DeviceProps *props = (const Wa__DeviceProps *)m;
			if (props->os)
				snprintf(p->platform, sizeof(p->platform), "%s", props->os);
			p->full_sync = props->has_require_full_sync && props->require_full_sync;
			protobuf_c_message_free_unpacked(m, NULL);
		}
	}
	c->pair = p;
	sim_conn_set_state(c, SIM_CONN_PAIRING);

	char id[64];
	sim_new_id(c->sim, id, sizeof(id));
	wa_node *pd = sim_node("pair-device", NULL);
	for (int i = 0; i < SIM_REFS && pd; i++) {
		random_ref(p->refs[i], SIM_REF_LEN);
		pd = sim_node_add(pd, sim_node_bytes("ref", p->refs[i], strlen(p->refs[i])));
	}
	wa_node *iq = sim_node_add(
		sim_node("iq", "from", "@s.whatsapp.net", "type", "set", "id", id, "xmlns", "md", NULL), pd);
	sim_logf(c->sim, "conn %llu: registration, pair-device sent", (unsigned long long)c->id);
	return sim_conn_send_free(c, iq);
}

static struct sim_conn *find_pairing_conn_by_ref(struct sim *sim, const char *ref, size_t ref_len)
{
	for (struct sim_conn *c = sim_core(sim)->conns; c; c = c->next) {
		if (c->state != SIM_CONN_PAIRING || !c->pair || c->pair->success_sent || c->dead)
			continue;
		for (int i = 0; i < SIM_REFS; i++)
			if (strlen(c->pair->refs[i]) == ref_len && !memcmp(c->pair->refs[i], ref, ref_len))
				return c;
	}
	return NULL;
}

/* §6.8 step 3: the phone signs the companion identity and sends pair-success. */
static int send_pair_success(struct sim_conn *c, struct sim_account *a, const uint8_t adv[32])
{
	struct sim_pairing *p = c->pair;
	int rc = WA_ENOMEM;
	uint8_t *d_bytes = NULL, *s_bytes = NULL, *h_bytes = NULL, *sigmsg = NULL;
	size_t d_len, s_len, h_len;

	Wa__ADVDeviceIdentity di = WA__ADVDEVICE_IDENTITY__INIT;
	di.has_raw_id = di.has_timestamp = di.has_key_index = 1;
	di.raw_id = a->adv_raw_id;
	di.timestamp = (uint64_t)sim_now();
	di.key_index = a->next_key_index;
	d_len = protobuf_c_message_get_packed_size(&di.base);
	d_bytes = malloc(d_len);
	if (!d_bytes)
		goto out;
	protobuf_c_message_pack(&di.base, d_bytes);

	/* accountSignature = XEdDSA(A, 06 00 || D || identity) */
	sigmsg = malloc(2 + d_len + 32);
	if (!sigmsg)
		goto out;
	sigmsg[0] = 6;
	sigmsg[1] = 0;
	memcpy(sigmsg + 2, d_bytes, d_len);
	memcpy(sigmsg + 2 + d_len, p->identity, 32);
	uint8_t asig[64];
	rc = wa_xeddsa_sign(asig, a->identity.priv, sigmsg, 2 + d_len + 32);
	if (rc)
		goto out;

	Wa__ADVSignedDeviceIdentity si = WA__ADVSIGNED_DEVICE_IDENTITY__INIT;
	si.has_details = si.has_account_signature_key = si.has_account_signature = 1;
	si.details.data = d_bytes;
	si.details.len = d_len;
	si.account_signature_key.data = a->identity.pub;
	si.account_signature_key.len = 32;
	si.account_signature.data = asig;
	si.account_signature.len = 64;
	rc = WA_ENOMEM;
	s_len = protobuf_c_message_get_packed_size(&si.base);
	s_bytes = malloc(s_len);
	if (!s_bytes)
		goto out;
	protobuf_c_message_pack(&si.base, s_bytes);

	uint8_t hmac[32];
	rc = wa_hmac_sha256(hmac, adv, 32, s_bytes, s_len);
	if (rc)
		goto out;
	Wa__ADVSignedDeviceIdentityHMAC hi = WA__ADVSIGNED_DEVICE_IDENTITY_HMAC__INIT;
	hi.has_details = hi.has_hmac = 1;
	hi.details.data = s_bytes;
	hi.details.len = s_len;
	hi.hmac.data = hmac;
	hi.hmac.len = 32;
	rc = WA_ENOMEM;
	h_len = protobuf_c_message_get_packed_size(&hi.base);
	h_bytes = malloc(h_len);
	if (!h_bytes)
		goto out;
	protobuf_c_message_pack(&hi.base, h_bytes);

	p->acct = a;
	p->device = a->next_device;
	p->key_index = a->next_key_index;
	free(p->details);
	p->details = d_bytes;
	p->details_len = d_len;
	d_bytes = NULL;
	sim_new_id(c->sim, p->success_id, sizeof(p->success_id));
	p->success_sent = true;

	char t[24], jid[64], lid[64];
	snprintf(t, sizeof(t), "%lld", (long long)sim_now());
	sim_device_pn_jid(a, p->device, jid, sizeof(jid));
	sim_device_lid_jid(a, p->device, lid, sizeof(lid));
	wa_node *ps = sim_node("pair-success", NULL);
	ps = sim_node_add(ps, sim_node_bytes("device-identity", h_bytes, h_len));
	ps = sim_node_add(ps, sim_node("platform", "name", "android", NULL));
	ps = sim_node_add(ps, sim_node("device", "jid", jid, "lid", lid, NULL));
	wa_node *iq = sim_node_add(sim_node("iq", "from", "@s.whatsapp.net", "type", "set", "id",
		p->success_id, "xmlns", "md", "t", t, NULL), ps);
	rc = sim_conn_send_free(c, iq);
	sim_logf(c->sim, "conn %llu: pair-success for %s", (unsigned long long)c->id, jid);
out:
	free(d_bytes);
	free(s_bytes);
	free(h_bytes);
	free(sigmsg);
	return rc;
}

int sim_pair_scan(struct sim *sim, const char *phone, const char *qr, const char **err)
{
	struct sim_account *a = sim_account_find(sim, phone);
	if (!a) {
		*err = "no such account";
		return WA_ENOTFOUND;
	}
	const char *s = strchr(qr, '#');
	s = s ? s + 1 : qr;
	const char *parts[8];
	size_t lens[8];
	int n = 0;
	const char *p = s;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t l = comma ? (size_t)(comma - p) : strlen(p);
		if (n == 8) {
			*err = "too many QR fields";
			return WA_EMALFORMED;
		}
		parts[n] = p;
		lens[n++] = l;
		if (!comma)
			break;
		p = comma + 1;
	}
	if (n < 4) {
		*err = "QR needs ref,noise,identity,adv";
		return WA_EMALFORMED;
	}
	struct sim_conn *c = find_pairing_conn_by_ref(sim, parts[0], lens[0]);
	if (!c) {
		*err = "no registration connection with that ref";
		return WA_ENOTFOUND;
	}
	uint8_t *noise = NULL, *ident = NULL, *adv = NULL;
	size_t nl = 0, il = 0, al = 0;
	int rc = WA_EMALFORMED;
	*err = "bad base64 in QR";
	if (wa_b64_decode(parts[1], lens[1], &noise, &nl) || wa_b64_decode(parts[2], lens[2], &ident, &il) ||
	    wa_b64_decode(parts[3], lens[3], &adv, &al))
		goto out;
	*err = "QR keys are not 32 bytes";
	if (nl != 32 || il != 32 || al != 32)
		goto out;
	*err = "QR noise key does not match the connection";
	if (memcmp(noise, c->client_static, 32) != 0)
		goto out;
	*err = "QR identity does not match the registration";
	if (memcmp(ident, c->pair->identity, 32) != 0)
		goto out;
	*err = "sending pair-success failed";
	rc = send_pair_success(c, a, adv);
	if (!rc)
		*err = NULL;
out:
	if (adv)
		wa_memzero(adv, al);
	free(noise);
	free(ident);
	free(adv);
	return rc;
}

int sim_device_attach(struct sim *sim, struct sim_account *a, struct sim_device *d)
{
	struct sim_device **nd = realloc(a->devices, (a->n_devices + 1) * sizeof(*nd));
	if (!nd)
		return WA_ENOMEM;
	a->devices = nd;
	d->acct = a;
	d->paired_at = sim_now();
	a->devices[a->n_devices++] = d;
	if (a->next_device <= d->device)
		a->next_device = d->device + 1;
	if (a->next_key_index <= d->key_index)
		a->next_key_index = d->key_index + 1;
	if (sim->hooks.device_paired)
		sim->hooks.device_paired(sim, d, sim->hooks.user);
	return 0;
}

/* §6.8 step 4: the companion's pair-device-sign. */
static int on_pair_device_sign(struct sim_conn *c, const wa_node *iq)
{
	struct sim *sim = c->sim;
	struct sim_pairing *p = c->pair;
	const wa_node *pds = wa_node_child(iq, "pair-device-sign");
	const wa_node *di = pds ? wa_node_child(pds, "device-identity") : NULL;
	const uint8_t *b;
	size_t bl;
	if (!di || wa_node_content_bytes(di, &b, &bl))
		return WA_EPROTO;
	const char *ki = wa_node_attr(di, "key-index");
	if (!ki || strtoul(ki, NULL, 10) != p->key_index)
		return WA_EPROTO;
	ProtobufCMessage *m = NULL;
	int rc = wa_pb_unpack(&m, &wa__advsigned_device_identity__descriptor, b, bl, MAX_ADV_PB);
	if (rc)
		return rc;
	Wa__ADVSignedDeviceIdentity *si = (Wa__ADVSignedDeviceIdentity *)m;
	struct sim_account *a = p->acct;
	uint8_t *msg = NULL;
	struct sim_device *d = NULL;
	rc = WA_EPROTO;
	if (!si->has_details || si->details.len != p->details_len ||
	    memcmp(si->details.data, p->details, p->details_len) != 0 || !si->has_device_signature ||
	    si->device_signature.len != 64)
		goto out;
	/* deviceSignature = XEdDSA(I, 06 01 || D || I.pub || A.pub) */
	rc = WA_ENOMEM;
	msg = malloc(2 + p->details_len + 64);
	if (!msg)
		goto out;
	msg[0] = 6;
	msg[1] = 1;
	memcpy(msg + 2, p->details, p->details_len);
	memcpy(msg + 2 + p->details_len, p->identity, 32);
	memcpy(msg + 2 + p->details_len + 32, a->identity.pub, 32);
	rc = wa_xeddsa_verify(p->identity, msg, 2 + p->details_len + 64, si->device_signature.data);
	if (rc) {
		sim_logf(sim, "conn %llu: bad device signature", (unsigned long long)c->id);
		goto out;
	}
	/* store with the account key filled back in (§6.5 step 5) */
	si->has_account_signature_key = 1;
	si->account_signature_key.data = a->identity.pub;
	si->account_signature_key.len = 32;
	rc = WA_ENOMEM;
	d = calloc(1, sizeof(*d));
	if (!d)
		goto out;
	d->signed_identity_len = protobuf_c_message_get_packed_size(&si->base);
	d->signed_identity = malloc(d->signed_identity_len);
	/* the unpacked message owns nothing we set: detach before free */
	if (!d->signed_identity) {
		si->account_signature_key.data = NULL;
		si->has_account_signature_key = 0;
		goto out;
	}
	protobuf_c_message_pack(&si->base, d->signed_identity);
	si->account_signature_key.data = NULL;
	si->account_signature_key.len = 0;
	si->has_account_signature_key = 0;
	d->device = p->device;
	d->key_index = p->key_index;
	memcpy(d->noise_pub, c->client_static, 32);
	memcpy(d->identity, p->identity, 32);
	d->regid = p->regid;
	d->spk_id = p->spk_id;
	memcpy(d->spk_pub, p->spk_pub, 32);
	memcpy(d->spk_sig, p->spk_sig, 64);
	snprintf(d->platform, sizeof(d->platform), "%s", p->platform);
	d->full_sync = p->full_sync;
	if (sim_device_attach(sim, a, d) != 0)
		goto out;
	d = NULL;
	(void)sim_save(sim);
	sim_logf(sim, "conn %llu: paired %s:%u, sending 515", (unsigned long long)c->id, a->phone,
		p->device);
	sim_conn_stream_error(c, 515);
	rc = 0;
out:
	if (si->has_account_signature_key && si->account_signature_key.data == a->identity.pub) {
		si->account_signature_key.data = NULL;
		si->has_account_signature_key = 0;
	}
	if (d) {
		free(d->signed_identity);
		free(d);
	}
	free(msg);
	protobuf_c_message_free_unpacked(m, NULL);
	return rc;
}

/* ---- pairing code (§7) ---- */

static int pbkdf2_key(uint8_t key[32], const char *code, const uint8_t salt[32])
{
	return PKCS5_PBKDF2_HMAC(code, (int)strlen(code), salt, 32, PBKDF2_ITERS, EVP_sha256(), 32, key) == 1
		? 0
		: WA_ECRYPTO;
}

static int child_bytes(const wa_node *n, const char *tag, const uint8_t **p, size_t *len)
{
	const wa_node *c = wa_node_child(n, tag);
	if (!c || wa_node_content_bytes(c, p, len))
		return WA_EPROTO;
	return 0;
}

static void jid_user(const char *jid, char *out, size_t cap)
{
	size_t i = 0;
	for (; jid[i] && jid[i] != '@' && jid[i] != ':' && i + 1 < cap; i++)
		out[i] = jid[i];
	out[i] = 0;
}

static int on_companion_hello(struct sim_conn *c, const wa_node *iq, const wa_node *reg)
{
	struct sim_pairing *p = c->pair;
	const uint8_t *w, *nk;
	size_t wl, nl;
	const char *jid = wa_node_attr(reg, "jid");
	if (!jid || child_bytes(reg, "link_code_pairing_wrapped_companion_ephemeral_pub", &w, &wl) ||
	    child_bytes(reg, "companion_server_auth_key_pub", &nk, &nl) || wl != 80 || nl != 32)
		return sim_iq_error(c, iq, 400, "bad-request");
	if (memcmp(nk, c->client_static, 32) != 0)
		return sim_iq_error(c, iq, 401, "noise-key-mismatch");
	jid_user(jid, p->code_phone, sizeof(p->code_phone));
	memcpy(p->code_wrapped, w, 80);
	memcpy(p->code_noise, nk, 32);
	random_ref(p->code_ref, 20);
	p->code_hello = true;
	p->code_primary_sent = false;
	sim_logf(c->sim, "conn %llu: companion_hello for %s", (unsigned long long)c->id, p->code_phone);
	wa_node *r = sim_node_add(sim_node("link_code_companion_reg", NULL),
		sim_node_bytes("link_code_pairing_ref", p->code_ref, strlen(p->code_ref)));
	return sim_iq_result(c, iq, r);
}

int sim_pair_code(struct sim *sim, const char *phone, const char *code_in, const char **err)
{
	struct sim_account *a = sim_account_find(sim, phone);
	if (!a) {
		*err = "no such account";
		return WA_ENOTFOUND;
	}
	char code[16];
	size_t n = 0;
	for (const char *s = code_in; *s && n < sizeof(code) - 1; s++)
		if (*s != '-' && *s != ' ')
			code[n++] = (char)((*s >= 'a' && *s <= 'z') ? *s - 32 : *s);
	code[n] = 0;
	if (n != 8) {
		*err = "code must be 8 characters";
		return WA_EINVAL;
	}
	struct sim_conn *c = NULL;
	for (struct sim_conn *it = sim_core(sim)->conns; it; it = it->next)
		if (it->state == SIM_CONN_PAIRING && it->pair && it->pair->code_hello && !it->dead &&
		    !it->pair->code_primary_sent && !strcmp(it->pair->code_phone, phone)) {
			c = it;
			break;
		}
	if (!c) {
		*err = "no connection waiting for a code for that phone";
		return WA_ENOTFOUND;
	}
	struct sim_pairing *p = c->pair;
	uint8_t key[32], out[80];
	int rc = pbkdf2_key(key, code, p->code_wrapped);
	if (!rc)
		rc = wa_aes_ctr(p->code_c_pub, key, p->code_wrapped + 32, p->code_wrapped + 48, 32);
	if (rc)
		goto fail;
	wa_keypair_generate(&p->code_p);
	wa_rand_bytes(out, 48);
	rc = pbkdf2_key(key, code, out);
	if (!rc)
		rc = wa_aes_ctr(out + 48, key, out + 32, p->code_p.pub, 32);
	if (rc)
		goto fail;
	p->code_acct = a;
	p->code_primary_sent = true;
	char id[64], t[24];
	sim_new_id(sim, id, sizeof(id));
	snprintf(t, sizeof(t), "%lld", (long long)sim_now());
	wa_node *r = sim_node("link_code_companion_reg", "stage", "primary_hello", NULL);
	r = sim_node_add(r, sim_node_bytes("link_code_pairing_ref", p->code_ref, strlen(p->code_ref)));
	r = sim_node_add(r, sim_node_bytes("primary_identity_pub", a->identity.pub, 32));
	r = sim_node_add(r, sim_node_bytes("link_code_pairing_wrapped_primary_ephemeral_pub", out, 80));
	wa_node *notif = sim_node_add(sim_node("notification", "from", "@s.whatsapp.net", "type",
		"link_code_companion_reg", "id", id, "t", t, NULL), r);
	rc = sim_conn_send_free(c, notif);
fail:
	wa_memzero(key, sizeof(key));
	*err = rc ? "pairing-code crypto failed" : NULL;
	return rc;
}

static int on_companion_finish(struct sim_conn *c, const wa_node *iq, const wa_node *reg)
{
	struct sim_pairing *p = c->pair;
	const uint8_t *wb, *ipub, *ref;
	size_t wbl, il, rl;
	if (!p->code_primary_sent || !p->code_acct)
		return sim_iq_error(c, iq, 400, "no-primary-hello");
	if (child_bytes(reg, "link_code_pairing_wrapped_key_bundle", &wb, &wbl) ||
	    child_bytes(reg, "companion_identity_public", &ipub, &il) ||
	    child_bytes(reg, "link_code_pairing_ref", &ref, &rl) || wbl != 32 + 12 + 112 || il != 32)
		return sim_iq_error(c, iq, 400, "bad-request");
	if (rl != strlen(p->code_ref) || memcmp(ref, p->code_ref, rl) != 0)
		return sim_iq_error(c, iq, 400, "ref-mismatch");
	struct sim_account *a = p->code_acct;
	uint8_t e[32], k[32], pt[96], ikm[96], adv[32];
	int rc = wa_x25519_dh(e, p->code_p.priv, p->code_c_pub);
	static const char info_k[] = "link_code_pairing_key_bundle_encryption_key";
	if (!rc)
		rc = wa_hkdf_sha256(k, 32, e, 32, wb, 32, info_k, sizeof(info_k) - 1);
	if (!rc)
		rc = wa_aes_gcm_decrypt(pt, k, wb + 32, NULL, 0, wb + 44, 112);
	if (rc) {
		sim_logf(c->sim, "conn %llu: companion_finish bundle does not decrypt (wrong code?)",
			(unsigned long long)c->id);
		rc = sim_iq_error(c, iq, 401, "bundle-decrypt");
		goto out;
	}
	if (memcmp(pt, ipub, 32) != 0 || memcmp(pt + 32, a->identity.pub, 32) != 0 ||
	    memcmp(ipub, p->identity, 32) != 0) {
		rc = sim_iq_error(c, iq, 401, "identity-mismatch");
		goto out;
	}
	memcpy(ikm, e, 32);
	rc = wa_x25519_dh(ikm + 32, a->identity.priv, ipub);
	memcpy(ikm + 64, pt + 64, 32);
	static const char info_adv[] = "adv_secret";
	if (!rc)
		rc = wa_hkdf_sha256(adv, 32, ikm, 96, NULL, 0, info_adv, sizeof(info_adv) - 1);
	if (!rc)
		rc = sim_iq_result(c, iq, NULL);
	if (!rc)
		rc = send_pair_success(c, a, adv);
out:
	wa_memzero(e, sizeof(e));
	wa_memzero(k, sizeof(k));
	wa_memzero(pt, sizeof(pt));
	wa_memzero(ikm, sizeof(ikm));
	wa_memzero(adv, sizeof(adv));
	return rc;
}

/* Every iq of xmlns md, and every iq answer on a PAIRING connection. */
int sim_pair_iq(struct sim_conn *c, const wa_node *iq)
{
	const char *type = wa_node_attr(iq, "type");
	const wa_node *first = wa_node_child_at(iq, 0);
	const char *ct = first ? wa_node_tag(first) : "";
	if (c->state == SIM_CONN_READY) {
		if (!strcmp(ct, "remove-companion-device"))
			return sim_login_remove_companion(c, iq);
		return sim_iq_error(c, iq, 501, "feature-not-implemented");
	}
	if (c->state != SIM_CONN_PAIRING || !c->pair)
		return WA_EPROTO;
	struct sim_pairing *p = c->pair;
	if (!strcmp(type, "result") || !strcmp(type, "error")) {
		const char *id = wa_node_attr(iq, "id");
		if (p->success_sent && id && !strcmp(id, p->success_id)) {
			if (!strcmp(type, "error")) {
				sim_logf(c->sim, "conn %llu: client rejected pair-success", (unsigned long long)c->id);
				sim_conn_close(c, SIM_CLOSE_FLUSH);
				return 0;
			}
			return on_pair_device_sign(c, iq);
		}
		return 0; /* the pair-device ack, and anything else */
	}
	if (!strcmp(ct, "link_code_companion_reg")) {
		const char *stage = wa_node_attr(first, "stage");
		if (stage && !strcmp(stage, "companion_hello"))
			return on_companion_hello(c, iq, first);
		if (stage && !strcmp(stage, "companion_finish"))
			return on_companion_finish(c, iq, first);
		return sim_iq_error(c, iq, 400, "bad-stage");
	}
	return sim_iq_error(c, iq, 401, "not-authorized");
}
