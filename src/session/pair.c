/* src/session/pair.c: the companion side of pairing
 * (transport-and-pairing.md §6, §7): <pair-device> -> ack -> rotating QR
 * events; <pair-success> -> HMAC + account signature checks, device
 * signature, <pair-device-sign> reply, credentials saved (the server then
 * sends 515 and conn.c reconnects to log in); and pairing by code:
 * companion_hello, the phone's primary_hello notification, companion_finish.
 * Each runs at most once per registration connection: a second
 * pair-success or primary_hello is refused (it would overwrite saved
 * credentials). QR strings are built by src/qr (payload.h). Secrets (ADV secret, code,
 * ephemeral keys) are never logged. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "adv.pb-c.h"
#include "pb.h"
#include "qr/payload.h"
#include "session/internal.h"
#include "session/pair.h"
#include "session/payload.h"
#include "util/log.h"
#include "util/seams.h"

#define MOD "session"
#define PAIR_MAX_IDENTITY 4096u            /* ADVSignedDeviceIdentityHMAC bytes */
#define PAIR_CODE_ITERATIONS 131072u        /* 2 << 16 (§7.1) */
#define PAIR_CODE_WINDOW_MS 180000u         /* how long a code pairing may take */
#define PAIR_PLATFORM_ID "1"                /* Chrome: matches DeviceProps CHROME */
#define PAIR_PLATFORM_DISPLAY "Chrome (Linux)"

static const uint8_t adv_account_prefix[2] = {0x06, 0x00};
static const uint8_t adv_hosted_prefix[2] = {0x06, 0x05};
static const uint8_t adv_device_prefix[2] = {0x06, 0x01};

void wa_pair_reset(wa_session *s)
{
	wa_pair_state *p = &s->pair;
	for (size_t i = 0; i < p->n_refs; i++)
		free(p->refs[i]);
	if (p->code_ref)
		free(p->code_ref);
	sodium_memzero(p, sizeof *p);
}

/* ---- shared node helpers ---- */

static int iq_new(wa_node **out, const char *type, const char *id, const char *xmlns)
{
	wa_node *iq;
	int rc = wa_node_new(&iq, "iq");
	if (rc)
		return rc;
	if ((rc = wa_node_set_attr(iq, "to", "@s.whatsapp.net")) == 0 &&
	    (rc = wa_node_set_attr(iq, "type", type)) == 0 &&
	    (!id || (rc = wa_node_set_attr(iq, "id", id)) == 0) &&
	    (!xmlns || (rc = wa_node_set_attr(iq, "xmlns", xmlns)) == 0)) {
		*out = iq;
		return 0;
	}
	wa_node_free(iq);
	return rc;
}

static int add_bytes(wa_node *parent, const char *tag, const void *p, size_t len)
{
	wa_node *c;
	int rc = wa_node_add_new(parent, tag, &c);
	return rc ? rc : wa_node_set_bytes(c, p, len);
}

static int add_string(wa_node *parent, const char *tag, const char *str)
{
	wa_node *c;
	int rc = wa_node_add_new(parent, tag, &c);
	return rc ? rc : wa_node_set_string(c, str);
}

static int send_iq_error(wa_session *s, const char *id, const char *code, const char *text)
{
	wa_node *iq, *err;
	int rc = iq_new(&iq, "error", id, NULL);
	if (rc)
		return rc;
	if ((rc = wa_node_add_new(iq, "error", &err)) == 0 && (rc = wa_node_set_attr(err, "code", code)) == 0 &&
	    (rc = wa_node_set_attr(err, "text", text)) == 0)
		rc = wa_conn_send_node(s, iq);
	wa_node_free(iq);
	return rc;
}

/* ---- QR ---- */

static void emit_qr(wa_session *s)
{
	wa_pair_state *p = &s->pair;
	if (p->next_ref >= p->n_refs)
		return;
	const char *ref = p->refs[p->next_ref];
	char *qr = NULL;
	size_t qlen;
	int rc = wa_qr_payload_build(&qr, &qlen, ref, strlen(ref), s->creds->noise_pub,
		s->creds->identity_pub, s->creds->adv_secret, PAIR_PLATFORM_ID);
	if (rc) {
		WA_DEBUG(MOD, "[%lld/%u] QR not built: %s", (long long)s->instance_id, s->gen,
			wa_errname(rc));
		return;
	}
	unsigned timeout = p->next_ref == 0 ? WA_SESSION_QR_FIRST_S : WA_SESSION_QR_NEXT_S;
	wa_event ev = {.type = WA_EV_QR};
	ev.u.qr.qr = qr;
	ev.u.qr.index = (unsigned)p->next_ref;
	ev.u.qr.timeout_s = timeout;
	wa_stimer_set(&s->t_qr, timeout * 1000u);
	wa_session_emit(s, &ev);
	wa_qr_string_free(qr);
}

void wa_pair_on_qr_timer(wa_session *s)
{
	if (s->state != WA_CONN_PAIRING || s->pair.code_active)
		return;
	s->pair.next_ref++;
	if (s->pair.next_ref >= s->pair.n_refs) {
		/* refs exhausted (Baileys closes with 408): a fresh connection
		 * brings fresh refs after the backoff */
		wa_conn_fail(s, WA_DISC_TIMEOUT, WA_ETIMEOUT);
		return;
	}
	emit_qr(s);
}

static bool ref_ok(const uint8_t *p, size_t len)
{
	if (len == 0 || len > WA_QR_MAX_REF_LEN)
		return false;
	for (size_t i = 0; i < len; i++)
		if (p[i] < 0x21 || p[i] > 0x7e || p[i] == ',')
			return false;
	return true;
}

int wa_pair_handle_pair_device(wa_session *s, const wa_node *iq)
{
	if (s->state != WA_CONN_PAIRING || !s->registering)
		return WA_ESTATE;
	const char *id = wa_node_attr(iq, "id");
	if (!id)
		return WA_EPROTO;
	/* §6.1: acknowledge before showing anything */
	wa_node *ack;
	int rc = iq_new(&ack, "result", id, NULL);
	if (rc)
		return rc;
	rc = wa_conn_send_node(s, ack);
	wa_node_free(ack);
	if (rc)
		return rc;
	const wa_node *pd = wa_node_child(iq, "pair-device");
	wa_pair_state *p = &s->pair;
	for (size_t i = 0; i < p->n_refs; i++)
		free(p->refs[i]);
	p->n_refs = 0;
	p->next_ref = 0;
	for (size_t i = 0; pd && i < wa_node_n_children(pd) && p->n_refs < WA_SESSION_MAX_REFS; i++) {
		const wa_node *r = wa_node_child_at(pd, i);
		const uint8_t *b;
		size_t len;
		if (strcmp(wa_node_tag(r), "ref") != 0 || wa_node_content_bytes(r, &b, &len) != 0 ||
		    !ref_ok(b, len))
			continue;
		char *ref = malloc(len + 1);
		if (!ref)
			return WA_ENOMEM;
		memcpy(ref, b, len);
		ref[len] = '\0';
		p->refs[p->n_refs++] = ref;
	}
	if (p->n_refs == 0)
		return WA_EPROTO;
	/* the pairing window now runs on the QR timer, not the auth deadline */
	wa_stimer_cancel(&s->t_deadline);
	emit_qr(s);
	return 0;
}

/* ---- pair-success (§6.4-6.5) ---- */

int wa_pair_verify_and_sign(const uint8_t *hmac_container, size_t len,
	const uint8_t adv_secret[static 32], const wa_keypair *identity, wa_pair_result *out)
{
	Wa__ADVSignedDeviceIdentityHMAC *h = NULL;
	Wa__ADVSignedDeviceIdentity *sdi = NULL;
	Wa__ADVDeviceIdentity *di = NULL;
	uint8_t *msg = NULL, *full = NULL, *reply = NULL;
	bool dsig_set = false;
	int rc = wa_pb_unpack((ProtobufCMessage **)&h, &wa__advsigned_device_identity_hmac__descriptor,
		hmac_container, len, PAIR_MAX_IDENTITY);
	if (rc)
		goto done;
	rc = WA_EMALFORMED;
	if (!h->has_details || !h->has_hmac || h->hmac.len != WA_HMAC_SHA256_LEN)
		goto done;
	/* 1. HMAC over [06 05 when hosted] ‖ details, constant-time compare */
	bool hosted_acct = h->has_account_type && h->account_type == WA__ADVENCRYPTION_TYPE__HOSTED;
	size_t mlen = h->details.len + (hosted_acct ? 2 : 0);
	msg = malloc(mlen + 1);
	if (!msg) {
		rc = WA_ENOMEM;
		goto done;
	}
	if (hosted_acct)
		memcpy(msg, adv_hosted_prefix, 2);
	if (h->details.len) /* an empty details has a NULL data pointer */
		memcpy(msg + (hosted_acct ? 2 : 0), h->details.data, h->details.len);
	uint8_t mac[WA_HMAC_SHA256_LEN];
	if ((rc = wa_hmac_sha256(mac, adv_secret, 32, msg, mlen)) != 0)
		goto done;
	if (!wa_ct_equal(mac, h->hmac.data, sizeof mac)) {
		rc = WA_ESIG_VERIFY;
		out->why = "hmac-mismatch";
		goto done;
	}
	free(msg);
	msg = NULL;
	/* 2. inner messages */
	rc = wa_pb_unpack((ProtobufCMessage **)&sdi, &wa__advsigned_device_identity__descriptor,
		h->details.data, h->details.len, PAIR_MAX_IDENTITY);
	if (rc)
		goto done;
	rc = WA_EMALFORMED;
	if (!sdi->has_details || !sdi->has_account_signature_key || !sdi->has_account_signature ||
	    sdi->account_signature_key.len != 32 || sdi->account_signature.len != WA_XEDDSA_SIG_LEN)
		goto done;
	rc = wa_pb_unpack((ProtobufCMessage **)&di, &wa__advdevice_identity__descriptor,
		sdi->details.data, sdi->details.len, PAIR_MAX_IDENTITY);
	if (rc)
		goto done;
	const uint8_t *D = sdi->details.data;
	size_t dlen = sdi->details.len;
	const uint8_t *A = sdi->account_signature_key.data;
	bool hosted_dev = di->has_device_type && di->device_type == WA__ADVENCRYPTION_TYPE__HOSTED;
	/* 3. account signature over prefix ‖ D ‖ I.pub */
	msg = malloc(2 + dlen + 64);
	if (!msg) {
		rc = WA_ENOMEM;
		goto done;
	}
	memcpy(msg, hosted_dev ? adv_hosted_prefix : adv_account_prefix, 2);
	if (dlen)
		memcpy(msg + 2, D, dlen);
	memcpy(msg + 2 + dlen, identity->pub, 32);
	rc = wa_xeddsa_verify(A, msg, 2 + dlen + 32, sdi->account_signature.data);
	if (rc) {
		out->why = "signature-mismatch";
		goto done;
	}
	/* 4. device signature over 06 01 ‖ D ‖ I.pub ‖ A (06 01 even for hosted) */
	memcpy(msg, adv_device_prefix, 2);
	memcpy(msg + 2 + dlen + 32, A, 32);
	uint8_t dsig[WA_XEDDSA_SIG_LEN];
	if ((rc = wa_xeddsa_sign(dsig, identity->priv, msg, 2 + dlen + 64)) != 0)
		goto done;
	/* 5. the full identity (kept, later sent with pkmsg) and the reply
	 * form without accountSignatureKey (§6.5 step 6) */
	if (sdi->has_device_signature) { /* the phone never sets it */
		rc = WA_EMALFORMED;
		goto done;
	}
	sdi->has_device_signature = 1;
	sdi->device_signature = (ProtobufCBinaryData){sizeof dsig, dsig};
	dsig_set = true;
	size_t flen = wa__advsigned_device_identity__get_packed_size(sdi);
	if (flen > sizeof out->adv_identity) {
		rc = WA_ETOOBIG;
		goto done;
	}
	full = malloc(flen);
	if (!full) {
		rc = WA_ENOMEM;
		goto done;
	}
	wa__advsigned_device_identity__pack(sdi, full);
	sdi->has_account_signature_key = 0;
	size_t rlen = wa__advsigned_device_identity__get_packed_size(sdi);
	reply = malloc(rlen);
	if (!reply) {
		rc = WA_ENOMEM;
		goto done;
	}
	wa__advsigned_device_identity__pack(sdi, reply);
	sdi->has_account_signature_key = 1;
	memcpy(out->adv_identity, full, flen);
	out->adv_identity_len = flen;
	out->reply = reply;
	out->reply_len = rlen;
	reply = NULL;
	out->key_index = di->has_key_index ? di->key_index : 0;
	memcpy(out->account_key, A, 32);
	rc = 0;
done:
	if (dsig_set) { /* dsig lives on our stack: protobuf-c must not free it */
		sdi->has_device_signature = 0;
		sdi->device_signature = (ProtobufCBinaryData){0, NULL};
	}
	free(msg);
	free(full);
	free(reply);
	if (di)
		wa__advdevice_identity__free_unpacked(di, NULL);
	if (sdi)
		wa__advsigned_device_identity__free_unpacked(sdi, NULL);
	if (h)
		wa__advsigned_device_identity_hmac__free_unpacked(h, NULL);
	return rc;
}

int wa_pair_handle_pair_success(wa_session *s, const wa_node *iq)
{
	if (s->state != WA_CONN_PAIRING || !s->registering)
		return WA_ESTATE;
	const char *id = wa_node_attr(iq, "id");
	if (s->pair.done || s->creds->me_jid[0]) {
		/* one pairing per registration: a second pair-success would
		 * overwrite the saved identity of the account just linked */
		WA_DEBUG(MOD, "[%lld/%u] pair-success refused: already paired as %s", (long long)s->instance_id,
			s->gen, s->creds->me_jid);
		if (id)
			(void)send_iq_error(s, id, "409", "already-paired");
		return WA_ESTATE;
	}
	const wa_node *ps = wa_node_child(iq, "pair-success");
	const wa_node *di = ps ? wa_node_child(ps, "device-identity") : NULL;
	const wa_node *dev = ps ? wa_node_child(ps, "device") : NULL;
	const wa_node *plat = ps ? wa_node_child(ps, "platform") : NULL;
	const char *jid = dev ? wa_node_attr(dev, "jid") : NULL;
	const char *lid = dev ? wa_node_attr(dev, "lid") : NULL;
	const uint8_t *b;
	size_t blen;
	if (!id || !di || !jid || wa_node_content_bytes(di, &b, &blen) != 0)
		return WA_EPROTO;
	uint64_t user;
	uint32_t devno;
	if (wa_session_parse_own_jid(jid, &user, &devno) != 0 || strlen(jid) >= WA_STORE_JID_MAX ||
	    (lid && strlen(lid) >= WA_STORE_JID_MAX))
		return WA_EPROTO;
	wa_keypair ik;
	memcpy(ik.pub, s->creds->identity_pub, 32);
	memcpy(ik.priv, s->creds->identity_priv, 32);
	wa_pair_result *r = calloc(1, sizeof *r);
	if (!r) {
		wa_keypair_clear(&ik);
		return WA_ENOMEM;
	}
	int rc = wa_pair_verify_and_sign(b, blen, s->creds->adv_secret, &ik, r);
	wa_keypair_clear(&ik);
	if (rc) {
		WA_DEBUG(MOD, "[%lld/%u] pair-success rejected: %s", (long long)s->instance_id, s->gen,
			wa_errname(rc));
		(void)send_iq_error(s, id, r->why ? "401" : "500", r->why ? r->why : "internal-error");
		free(r);
		return rc;
	}
	/* credentials first: if we die after the reply, the phone thinks we
	 * are linked and we must be able to log in */
	wa_store_creds *c = s->creds;
	snprintf(c->me_jid, sizeof c->me_jid, "%s", jid);
	snprintf(c->me_lid, sizeof c->me_lid, "%s", lid ? lid : "");
	memcpy(c->adv_identity, r->adv_identity, r->adv_identity_len);
	c->adv_identity_len = r->adv_identity_len;
	const char *pname = plat ? wa_node_attr(plat, "name") : NULL;
	snprintf(c->platform, sizeof c->platform, "%s", pname ? pname : "");
	rc = wa_store_creds_save(s->store, s->instance_id, c);
	if (rc == 0) {
		/* the primary's identity is device 0's Signal identity (§6.5 step 5) */
		uint8_t key33[33];
		key33[0] = 0x05;
		memcpy(key33 + 1, r->account_key, 32);
		char name[32];
		snprintf(name, sizeof name, "%llu", (unsigned long long)user);
		int irc = wa_store_identity_save(s->store, s->instance_id, name, 0, key33, sizeof key33,
			NULL);
		if (irc) /* messaging learns it again from the device list */
			WA_DEBUG(MOD, "[%lld] primary identity not saved: %s", (long long)s->instance_id,
				wa_errname(irc));
	}
	if (rc) {
		c->me_jid[0] = '\0';
		c->adv_identity_len = 0;
		free(r->reply);
		free(r);
		return rc;
	}
	wa_node *reply = NULL, *pds, *dinode;
	char kidx[16];
	snprintf(kidx, sizeof kidx, "%u", r->key_index);
	rc = iq_new(&reply, "result", id, NULL);
	if (rc == 0 && (rc = wa_node_add_new(reply, "pair-device-sign", &pds)) == 0 &&
	    (rc = wa_node_add_new(pds, "device-identity", &dinode)) == 0 &&
	    (rc = wa_node_set_attr(dinode, "key-index", kidx)) == 0 &&
	    (rc = wa_node_set_bytes(dinode, r->reply, r->reply_len)) == 0)
		rc = wa_conn_send_node(s, reply);
	wa_node_free(reply);
	free(r->reply);
	free(r);
	wa_stimer_cancel(&s->t_qr);
	s->pair.code_active = false;
	s->pair.done = true;
	WA_DEBUG(MOD, "[%lld/%u] paired as %s", (long long)s->instance_id, s->gen, jid);
	wa_event ev = {.type = WA_EV_PAIRED};
	ev.u.paired.jid = c->me_jid;
	ev.u.paired.lid = c->me_lid[0] ? c->me_lid : NULL;
	ev.u.paired.push_name = c->push_name[0] ? c->push_name : NULL;
	ev.u.paired.platform = c->platform;
	wa_session_emit(s, &ev);
	/* the server now sends stream:error 515; wait for it under a deadline */
	wa_stimer_set(&s->t_deadline, WA_SESSION_AUTH_TIMEOUT_MS);
	return rc;
}

/* ---- pairing code (§7) ---- */

static const char code_alphabet[] = "123456789ABCDEFGHJKLMNPQRSTVWXYZ";

void wa_pair_code_from_bytes(const uint8_t in[5], char out[9])
{
	uint64_t v = 0;
	for (int i = 0; i < 5; i++)
		v = (v << 8) | in[i];
	for (int i = 0; i < 8; i++)
		out[i] = code_alphabet[(v >> (35 - 5 * i)) & 31];
	out[8] = '\0';
}

/* salt(32) ‖ iv(16) ‖ AES-256-CTR(PBKDF2(code, salt), iv, key) (§7.1) */
int wa_pair_code_wrap(const char *code, const uint8_t key[static 32], const uint8_t salt[static 32],
	const uint8_t iv[static 16], uint8_t out[static 80])
{
	uint8_t k[32];
	int rc = wa_pbkdf2_sha256(k, sizeof k, code, strlen(code), salt, 32, PAIR_CODE_ITERATIONS);
	if (rc == 0)
		rc = wa_aes_ctr(out + 48, k, iv, key, 32);
	sodium_memzero(k, sizeof k);
	if (rc)
		return rc;
	memcpy(out, salt, 32);
	memcpy(out + 32, iv, 16);
	return 0;
}

int wa_pair_code_unwrap(const char *code, const uint8_t *w, size_t len, uint8_t out[static 32])
{
	if (len < 80)
		return WA_EMALFORMED;
	uint8_t k[32];
	int rc = wa_pbkdf2_sha256(k, sizeof k, code, strlen(code), w, 32, PAIR_CODE_ITERATIONS);
	if (rc == 0)
		rc = wa_aes_ctr(out, k, w + 32, w + 48, 32);
	sodium_memzero(k, sizeof k);
	return rc;
}

static void on_hello_answer(wa_session *s, int err, const wa_node *resp, void *user)
{
	(void)user;
	if (err || !resp) {
		WA_DEBUG(MOD, "[%lld/%u] companion_hello failed: %s", (long long)s->instance_id, s->gen,
			wa_errname(err));
		return;
	}
	const wa_node *reg = wa_node_child(resp, "link_code_companion_reg");
	const wa_node *ref = reg ? wa_node_child(reg, "link_code_pairing_ref") : NULL;
	const uint8_t *b;
	size_t len;
	if (ref && wa_node_content_bytes(ref, &b, &len) == 0 && len > 0 && len <= 1024) {
		uint8_t *copy = malloc(len);
		if (!copy)
			return;
		memcpy(copy, b, len);
		free(s->pair.code_ref);
		s->pair.code_ref = copy;
		s->pair.code_ref_len = len;
	}
}

int wa_session_request_pairing_code(wa_session *s, const char *phone)
{
	if (!s || !phone)
		return WA_EINVAL;
	size_t n = strlen(phone);
	if (n < 7 || n >= sizeof s->pair.phone || phone[0] == '0')
		return WA_EINVAL;
	for (size_t i = 0; i < n; i++)
		if (phone[i] < '0' || phone[i] > '9')
			return WA_EINVAL;
	if (s->state != WA_CONN_PAIRING || !s->nt || s->pair.n_refs == 0)
		return WA_ESTATE;
	wa_pair_state *p = &s->pair;
	uint8_t rnd[5], salt[32], iv[16], wrapped[80];
	wa_rand_bytes(rnd, sizeof rnd);
	wa_pair_code_from_bytes(rnd, p->code);
	memcpy(p->phone, phone, n + 1);
	wa_keypair_generate(&p->code_ephemeral);
	wa_rand_bytes(salt, sizeof salt);
	wa_rand_bytes(iv, sizeof iv);
	int rc = wa_pair_code_wrap(p->code, p->code_ephemeral.pub, salt, iv, wrapped);
	if (rc)
		return rc;
	char jid[48];
	snprintf(jid, sizeof jid, "%s@s.whatsapp.net", phone);
	wa_node *iq = NULL, *reg;
	rc = iq_new(&iq, "set", NULL, "md");
	if (rc == 0 && (rc = wa_node_add_new(iq, "link_code_companion_reg", &reg)) == 0 &&
	    (rc = wa_node_set_attr(reg, "jid", jid)) == 0 &&
	    (rc = wa_node_set_attr(reg, "stage", "companion_hello")) == 0 &&
	    (rc = wa_node_set_attr(reg, "should_show_push_notification", "true")) == 0 &&
	    (rc = add_bytes(reg, "link_code_pairing_wrapped_companion_ephemeral_pub", wrapped, 80)) == 0 &&
	    (rc = add_bytes(reg, "companion_server_auth_key_pub", s->creds->noise_pub, 32)) == 0 &&
	    (rc = add_string(reg, "companion_platform_id", PAIR_PLATFORM_ID)) == 0 &&
	    (rc = add_string(reg, "companion_platform_display", PAIR_PLATFORM_DISPLAY)) == 0 &&
	    (rc = add_string(reg, "link_code_pairing_nonce", "0")) == 0)
		rc = wa_iq_send(s, iq, 0, on_hello_answer, NULL);
	wa_node_free(iq);
	if (rc)
		return rc;
	p->code_active = true;
	/* the code replaces the QR: stop rotating, give the user time to type */
	wa_stimer_cancel(&s->t_qr);
	wa_stimer_set(&s->t_deadline, PAIR_CODE_WINDOW_MS);
	char shown[10];
	snprintf(shown, sizeof shown, "%.4s-%.4s", p->code, p->code + 4);
	wa_event ev = {.type = WA_EV_PAIRING_CODE};
	ev.u.pairing_code.code = shown;
	wa_session_emit(s, &ev);
	sodium_memzero(shown, sizeof shown);
	return 0;
}

int wa_pair_handle_code_notification(wa_session *s, const wa_node *n)
{
	int rc = wa_session_send_ack(s, n);
	if (rc)
		return rc;
	wa_pair_state *p = &s->pair;
	const wa_node *reg = wa_node_child(n, "link_code_companion_reg");
	if (!reg || !p->code_active || s->state != WA_CONN_PAIRING)
		return WA_ESTATE;
	if (p->code_adv_set || p->done) {
		/* the code exchange runs once: a repeat would replace the adv
		 * secret (saved) that the coming pair-success is checked with */
		WA_DEBUG(MOD, "[%lld/%u] repeated pairing-code notification refused", (long long)s->instance_id,
			s->gen);
		return WA_ESTATE;
	}
	const wa_node *ref = wa_node_child(reg, "link_code_pairing_ref");
	const wa_node *prim = wa_node_child(reg, "primary_identity_pub");
	const wa_node *wrp = wa_node_child(reg, "link_code_pairing_wrapped_primary_ephemeral_pub");
	const uint8_t *refb = NULL, *A, *w;
	size_t refl = 0, al, wl;
	if (!prim || !wrp || wa_node_content_bytes(prim, &A, &al) != 0 || al != 32 ||
	    wa_node_content_bytes(wrp, &w, &wl) != 0 || wl < 80)
		return WA_EPROTO;
	if (ref && wa_node_content_bytes(ref, &refb, &refl) != 0)
		return WA_EPROTO;
	/* whatsmeow: the ref must be the one the server gave for our hello */
	if (p->code_ref && refb &&
	    (refl != p->code_ref_len || memcmp(refb, p->code_ref, refl) != 0))
		return WA_EPROTO;
	if (!refb) {
		refb = p->code_ref;
		refl = p->code_ref_len;
	}
	if (!refb)
		return WA_EPROTO;
	uint8_t P[32], E[32], IA[32], r[32], salt[32], iv[12], K[32], adv[32];
	uint8_t pt[96], bundle[32 + 12 + 96 + WA_GCM_TAG_LEN], ikm[96];
	rc = wa_pair_code_unwrap(p->code, w, wl, P);
	if (rc == 0)
		rc = wa_x25519_dh(E, p->code_ephemeral.priv, P);
	if (rc == 0)
		rc = wa_x25519_dh(IA, s->creds->identity_priv, A);
	if (rc)
		goto out;
	wa_rand_bytes(r, sizeof r);
	wa_rand_bytes(salt, sizeof salt);
	wa_rand_bytes(iv, sizeof iv);
	static const char kinfo[] = "link_code_pairing_key_bundle_encryption_key";
	rc = wa_hkdf_sha256(K, 32, E, 32, salt, 32, kinfo, sizeof kinfo - 1);
	if (rc)
		goto out;
	memcpy(pt, s->creds->identity_pub, 32);
	memcpy(pt + 32, A, 32);
	memcpy(pt + 64, r, 32);
	memcpy(bundle, salt, 32);
	memcpy(bundle + 32, iv, 12);
	if ((rc = wa_aes_gcm_encrypt(bundle + 44, K, iv, NULL, 0, pt, sizeof pt)) != 0)
		goto out;
	memcpy(ikm, E, 32);
	memcpy(ikm + 32, IA, 32);
	memcpy(ikm + 64, r, 32);
	static const char ainfo[] = "adv_secret";
	if ((rc = wa_hkdf_sha256(adv, 32, ikm, sizeof ikm, NULL, 0, ainfo, sizeof ainfo - 1)) != 0)
		goto out;
	/* the derived secret replaces the random one for the HMAC check */
	memcpy(s->creds->adv_secret, adv, 32);
	if ((rc = wa_store_creds_save(s->store, s->instance_id, s->creds)) != 0)
		goto out;
	p->code_adv_set = true;
	char jid[48];
	snprintf(jid, sizeof jid, "%s@s.whatsapp.net", p->phone);
	wa_node *iq = NULL, *regn;
	rc = iq_new(&iq, "set", NULL, "md");
	if (rc == 0 && (rc = wa_node_add_new(iq, "link_code_companion_reg", &regn)) == 0 &&
	    (rc = wa_node_set_attr(regn, "jid", jid)) == 0 &&
	    (rc = wa_node_set_attr(regn, "stage", "companion_finish")) == 0 &&
	    (rc = add_bytes(regn, "link_code_pairing_wrapped_key_bundle", bundle, sizeof bundle)) == 0 &&
	    (rc = add_bytes(regn, "companion_identity_public", s->creds->identity_pub, 32)) == 0 &&
	    (rc = add_bytes(regn, "link_code_pairing_ref", refb, refl)) == 0)
		rc = wa_iq_send(s, iq, 0, NULL, NULL);
	wa_node_free(iq);
out:
	sodium_memzero(P, sizeof P);
	sodium_memzero(E, sizeof E);
	sodium_memzero(IA, sizeof IA);
	sodium_memzero(r, sizeof r);
	sodium_memzero(K, sizeof K);
	sodium_memzero(adv, sizeof adv);
	sodium_memzero(pt, sizeof pt);
	sodium_memzero(ikm, sizeof ikm);
	return rc;
}
