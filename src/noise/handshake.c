/* Noise XX initiator and responder for WhatsApp (handshake.h). The
 * symmetric state follows the Noise spec with WhatsApp's one deviation; the
 * token comments (e, ee, s, es, se) mark each step as in the spec and in
 * transport-and-pairing.md §2.3. Every step works on a copy of the
 * symmetric state and commits it only when the whole message succeeded. */
#include "noise/handshake.h"

#include <stdlib.h>
#include <string.h>

#include "handshake.pb-c.h"
#include "pb.h"
#include "noise/frame.h"
#include "util/seams.h"

#define KEY_LEN 32
#define ENC_KEY_LEN (KEY_LEN + WA_GCM_TAG_LEN)

/* "Noise_XX_25519_AESGCM_SHA256" padded with four zero bytes to exactly
 * HASHLEN, so it is used as h without hashing (§2.1). */
static const uint8_t protocol_name[KEY_LEN] = "Noise_XX_25519_AESGCM_SHA256\0\0\0";

typedef struct sym {
	uint8_t h[KEY_LEN];
	uint8_t ck[KEY_LEN];
	uint8_t k[KEY_LEN];
	uint32_t n; /* one counter shared by both directions, reset by MixKey */
} sym;

enum hs_role { ROLE_INITIATOR, ROLE_RESPONDER };

enum hs_state {
	I_START,      /* initiator: next write_client_hello */
	I_SENT_HELLO, /* next read_server_hello */
	I_GOT_HELLO,  /* next write_client_finish */
	R_START,      /* responder: next read_client_hello */
	R_GOT_HELLO,  /* next write_server_hello */
	R_SENT_HELLO, /* next read_client_finish */
	HS_DONE,      /* next split */
	HS_SPLIT,
	HS_FAILED,
};

struct wa_noise_hs {
	enum hs_role role;
	enum hs_state state;
	int err;
	const char *reason;
	sym ss;
	wa_keypair s;         /* our static */
	wa_keypair e;         /* our ephemeral */
	uint8_t re[KEY_LEN];  /* remote ephemeral */
	uint8_t rs[KEY_LEN];  /* remote static */
	bool have_rs;
	wa_noise_trust trust;
	uint8_t *out_payload; /* initiator: ClientPayload; responder: cert chain */
	size_t out_payload_len;
	uint8_t *in_payload;  /* responder: received ClientPayload */
	size_t in_payload_len;
};

/* ---- symmetric state (§2.2) ---- */

static void mix_hash(sym *s, const uint8_t *d, size_t n)
{
	wa_sha256_2(s->h, s->h, KEY_LEN, d, n);
}

static int mix_key(sym *s, const uint8_t *ikm, size_t n)
{
	uint8_t out[2 * KEY_LEN];
	int rc = wa_hkdf_sha256(out, sizeof out, ikm, n, s->ck, KEY_LEN, NULL, 0);
	if (rc == 0) {
		memcpy(s->ck, out, KEY_LEN);
		memcpy(s->k, out + KEY_LEN, KEY_LEN);
		s->n = 0;
	}
	wa_memzero(out, sizeof out);
	return rc;
}

static void make_iv(uint8_t iv[static WA_GCM_IV_LEN], uint32_t n)
{
	memset(iv, 0, 8);
	iv[8] = (uint8_t)(n >> 24);
	iv[9] = (uint8_t)(n >> 16);
	iv[10] = (uint8_t)(n >> 8);
	iv[11] = (uint8_t)n;
}

/* out gets len + 16 bytes */
static int encrypt_and_hash(sym *s, uint8_t *out, const uint8_t *pt, size_t len)
{
	uint8_t iv[WA_GCM_IV_LEN];
	make_iv(iv, s->n);
	int rc = wa_aes_gcm_encrypt(out, s->k, iv, s->h, KEY_LEN, pt, len);
	if (rc)
		return rc;
	s->n++;
	mix_hash(s, out, len + WA_GCM_TAG_LEN);
	return 0;
}

/* out gets len - 16 bytes; the ciphertext (not the plaintext) is hashed */
static int decrypt_and_hash(sym *s, uint8_t *out, const uint8_t *ct, size_t len)
{
	uint8_t iv[WA_GCM_IV_LEN];
	make_iv(iv, s->n);
	int rc = wa_aes_gcm_decrypt(out, s->k, iv, s->h, KEY_LEN, ct, len);
	if (rc)
		return rc == WA_ECRYPTO ? WA_ENOISE_DECRYPT : rc;
	s->n++;
	mix_hash(s, ct, len);
	return 0;
}

/* MixKey(X25519(priv, pub)) */
static int mix_dh(sym *s, const uint8_t priv[static KEY_LEN], const uint8_t pub[static KEY_LEN])
{
	uint8_t shared[KEY_LEN];
	int rc = wa_x25519_dh(shared, priv, pub);
	if (rc == 0)
		rc = mix_key(s, shared, sizeof shared);
	wa_memzero(shared, sizeof shared);
	return rc;
}

/* ---- object life cycle ---- */

static int hs_alloc(wa_noise_hs **out, enum hs_role role, const wa_keypair *static_kp,
	const uint8_t *payload, size_t payload_len, const uint8_t *prologue)
{
	if (!static_kp || (payload_len && !payload))
		return WA_EINVAL;
	if (payload_len > WA_NOISE_MAX_HS_PAYLOAD)
		return WA_ETOOBIG;
	wa_noise_hs *hs = calloc(1, sizeof *hs);
	if (!hs)
		return WA_ENOMEM;
	hs->out_payload = malloc(payload_len ? payload_len : 1);
	if (!hs->out_payload) {
		free(hs);
		return WA_ENOMEM;
	}
	if (payload_len)
		memcpy(hs->out_payload, payload, payload_len);
	hs->out_payload_len = payload_len;
	hs->role = role;
	hs->state = role == ROLE_INITIATOR ? I_START : R_START;
	hs->s = *static_kp;
	/* h = ck = protocol name; k = h is never used before the first MixKey */
	memcpy(hs->ss.h, protocol_name, KEY_LEN);
	memcpy(hs->ss.ck, protocol_name, KEY_LEN);
	mix_hash(&hs->ss, prologue ? prologue : wa_noise_intro_header, WA_NOISE_INTRO_LEN);
	*out = hs;
	return 0;
}

int wa_noise_hs_new_initiator(wa_noise_hs **out, const wa_keypair *static_kp,
	const uint8_t *payload, size_t payload_len, const wa_noise_trust *trust,
	const uint8_t *prologue)
{
	wa_noise_hs *hs = NULL;
	int rc = hs_alloc(&hs, ROLE_INITIATOR, static_kp, payload, payload_len, prologue);
	if (rc)
		return rc;
	if (trust)
		hs->trust = *trust;
	else
		wa_noise_trust_default(&hs->trust);
	*out = hs;
	return 0;
}

int wa_noise_hs_new_responder(wa_noise_hs **out, const wa_keypair *static_kp,
	const uint8_t *cert_chain, size_t cert_chain_len, const uint8_t *prologue)
{
	return hs_alloc(out, ROLE_RESPONDER, static_kp, cert_chain, cert_chain_len, prologue);
}

static void free_buf(uint8_t **p, size_t *len)
{
	if (*p) {
		wa_memzero(*p, *len);
		free(*p);
	}
	*p = NULL;
	*len = 0;
}

void wa_noise_hs_free(wa_noise_hs *hs)
{
	if (!hs)
		return;
	free_buf(&hs->out_payload, &hs->out_payload_len);
	free_buf(&hs->in_payload, &hs->in_payload_len);
	wa_memzero(hs, sizeof *hs);
	free(hs);
}

/* Sticky failure: keep only what error reporting needs. */
static int hs_fail(wa_noise_hs *hs, int err, const char *reason)
{
	hs->state = HS_FAILED;
	hs->err = err;
	hs->reason = reason;
	wa_memzero(&hs->ss, sizeof hs->ss);
	wa_keypair_clear(&hs->e);
	wa_keypair_clear(&hs->s);
	free_buf(&hs->out_payload, &hs->out_payload_len);
	free_buf(&hs->in_payload, &hs->in_payload_len);
	return err;
}

static int check_state(const wa_noise_hs *hs, enum hs_state want)
{
	if (hs->state == HS_FAILED)
		return WA_ENOISE_FAILED;
	return hs->state == want ? 0 : WA_ESTATE;
}

/* ---- protobuf envelope ---- */

static int pack_msg(wa_writer *wr, const Wa__HandshakeMessage *m)
{
	size_t n = wa__handshake_message__get_packed_size(m);
	uint8_t *at = wa_wr_reserve(wr, n);
	if (!at)
		return wa_wr_error(wr);
	wa__handshake_message__pack(m, at);
	return 0;
}

static Wa__HandshakeMessage *unpack_msg(const uint8_t *msg, size_t len)
{
	ProtobufCMessage *m = NULL;
	if (wa_pb_unpack(&m, &wa__handshake_message__descriptor, msg, len, WA_NOISE_MAX_HS_MSG) != 0)
		return NULL;
	return (Wa__HandshakeMessage *)m;
}

static bool bytes_len(protobuf_c_boolean has, const ProtobufCBinaryData *b, size_t want)
{
	return has && b->len == want;
}

/* ---- initiator ---- */

int wa_noise_hs_write_client_hello(wa_noise_hs *hs, wa_writer *wr)
{
	int rc = check_state(hs, I_START);
	if (rc)
		return rc;
	wa_keypair e;
	sym t = hs->ss;
	wa_keypair_generate(&e);
	/* -> e  (and no MixHash of the empty payload: WhatsApp's deviation) */
	mix_hash(&t, e.pub, KEY_LEN);

	Wa__HandshakeMessage m = WA__HANDSHAKE_MESSAGE__INIT;
	Wa__HandshakeMessage__ClientHello ch = WA__HANDSHAKE_MESSAGE__CLIENT_HELLO__INIT;
	ch.has_ephemeral = 1;
	ch.ephemeral.data = e.pub;
	ch.ephemeral.len = KEY_LEN;
	m.client_hello = &ch;
	rc = pack_msg(wr, &m);
	if (rc == 0) {
		hs->ss = t;
		hs->e = e;
		hs->state = I_SENT_HELLO;
	}
	wa_memzero(&t, sizeof t);
	wa_keypair_clear(&e);
	return rc;
}

int wa_noise_hs_read_server_hello(wa_noise_hs *hs, const uint8_t *msg, size_t len)
{
	int rc = check_state(hs, I_SENT_HELLO);
	if (rc)
		return rc;
	const char *why = NULL;
	Wa__HandshakeMessage *m = unpack_msg(msg, len);
	uint8_t rs[KEY_LEN];
	uint8_t *cert = NULL;
	size_t cert_len = 0;
	sym t = hs->ss;

	rc = WA_EMALFORMED;
	if (!m || !m->server_hello) {
		why = "server hello is not a HandshakeMessage with serverHello";
		goto out;
	}
	Wa__HandshakeMessage__ServerHello *sh = m->server_hello;
	if (!bytes_len(sh->has_ephemeral, &sh->ephemeral, KEY_LEN) ||
	    !bytes_len(sh->has_static_, &sh->static_, ENC_KEY_LEN) ||
	    !sh->has_payload || sh->payload.len < WA_GCM_TAG_LEN ||
	    sh->payload.len - WA_GCM_TAG_LEN > WA_NOISE_MAX_CERT_CHAIN) {
		why = "server hello fields missing or of the wrong size";
		goto out;
	}
	/* <- e */
	mix_hash(&t, sh->ephemeral.data, KEY_LEN);
	/* ee */
	if ((rc = mix_dh(&t, hs->e.priv, sh->ephemeral.data)) != 0) {
		why = "server ephemeral key is a low-order point";
		goto out;
	}
	/* s */
	if ((rc = decrypt_and_hash(&t, rs, sh->static_.data, ENC_KEY_LEN)) != 0) {
		why = "server static key failed to decrypt";
		goto out;
	}
	/* es */
	if ((rc = mix_dh(&t, hs->e.priv, rs)) != 0) {
		why = "server static key is a low-order point";
		goto out;
	}
	cert_len = sh->payload.len - WA_GCM_TAG_LEN;
	cert = malloc(cert_len ? cert_len : 1);
	if (!cert) {
		rc = WA_ENOMEM;
		why = "out of memory";
		goto out;
	}
	if ((rc = decrypt_and_hash(&t, cert, sh->payload.data, sh->payload.len)) != 0) {
		why = "certificate payload failed to decrypt";
		goto out;
	}
	rc = wa_noise_cert_chain_verify(cert, cert_len, rs, &hs->trust, wa_now_ms(), &why);
	if (rc)
		goto out;
	hs->ss = t;
	memcpy(hs->re, sh->ephemeral.data, KEY_LEN);
	memcpy(hs->rs, rs, KEY_LEN);
	hs->have_rs = true;
	hs->state = I_GOT_HELLO;
out:
	if (m)
		wa__handshake_message__free_unpacked(m, NULL);
	free_buf(&cert, &cert_len);
	wa_memzero(&t, sizeof t);
	wa_memzero(rs, sizeof rs);
	return rc ? hs_fail(hs, rc, why) : 0;
}

int wa_noise_hs_write_client_finish(wa_noise_hs *hs, wa_writer *wr)
{
	int rc = check_state(hs, I_GOT_HELLO);
	if (rc)
		return rc;
	sym t = hs->ss;
	uint8_t c3[ENC_KEY_LEN];
	size_t c4_len = hs->out_payload_len + WA_GCM_TAG_LEN;
	uint8_t *c4 = malloc(c4_len);
	if (!c4)
		return WA_ENOMEM;
	/* s: encrypted under the "es" key, whose nonce 0 already went to the
	 * certificate payload, so this is nonce 1 (§2.3) */
	if ((rc = encrypt_and_hash(&t, c3, hs->s.pub, KEY_LEN)) != 0)
		goto out;
	/* se */
	if ((rc = mix_dh(&t, hs->s.priv, hs->re)) != 0)
		goto out;
	if ((rc = encrypt_and_hash(&t, c4, hs->out_payload, hs->out_payload_len)) != 0)
		goto out;

	Wa__HandshakeMessage m = WA__HANDSHAKE_MESSAGE__INIT;
	Wa__HandshakeMessage__ClientFinish cf = WA__HANDSHAKE_MESSAGE__CLIENT_FINISH__INIT;
	cf.has_static_ = 1;
	cf.static_.data = c3;
	cf.static_.len = sizeof c3;
	cf.has_payload = 1;
	cf.payload.data = c4;
	cf.payload.len = c4_len;
	m.client_finish = &cf;
	rc = pack_msg(wr, &m);
	if (rc == 0) {
		hs->ss = t;
		hs->state = HS_DONE;
	}
out:
	wa_memzero(&t, sizeof t);
	free_buf(&c4, &c4_len);
	return rc;
}

/* ---- responder ---- */

int wa_noise_hs_read_client_hello(wa_noise_hs *hs, const uint8_t *msg, size_t len)
{
	int rc = check_state(hs, R_START);
	if (rc)
		return rc;
	Wa__HandshakeMessage *m = unpack_msg(msg, len);
	if (!m || !m->client_hello ||
	    !bytes_len(m->client_hello->has_ephemeral, &m->client_hello->ephemeral, KEY_LEN)) {
		if (m)
			wa__handshake_message__free_unpacked(m, NULL);
		return hs_fail(hs, WA_EMALFORMED, "client hello lacks a 32-byte ephemeral key");
	}
	/* -> e (no MixHash of the empty payload) */
	memcpy(hs->re, m->client_hello->ephemeral.data, KEY_LEN);
	mix_hash(&hs->ss, hs->re, KEY_LEN);
	hs->state = R_GOT_HELLO;
	wa__handshake_message__free_unpacked(m, NULL);
	return 0;
}

int wa_noise_hs_write_server_hello(wa_noise_hs *hs, wa_writer *wr)
{
	int rc = check_state(hs, R_GOT_HELLO);
	if (rc)
		return rc;
	const char *why = NULL;
	sym t = hs->ss;
	wa_keypair e;
	uint8_t c1[ENC_KEY_LEN];
	size_t c2_len = hs->out_payload_len + WA_GCM_TAG_LEN;
	uint8_t *c2 = malloc(c2_len);
	if (!c2)
		return WA_ENOMEM;
	wa_keypair_generate(&e);
	/* <- e */
	mix_hash(&t, e.pub, KEY_LEN);
	/* ee */
	if ((rc = mix_dh(&t, e.priv, hs->re)) != 0) {
		why = "client ephemeral key is a low-order point";
		goto out;
	}
	/* s */
	if ((rc = encrypt_and_hash(&t, c1, hs->s.pub, KEY_LEN)) != 0)
		goto out;
	/* es */
	if ((rc = mix_dh(&t, hs->s.priv, hs->re)) != 0)
		goto out;
	if ((rc = encrypt_and_hash(&t, c2, hs->out_payload, hs->out_payload_len)) != 0)
		goto out;

	Wa__HandshakeMessage m = WA__HANDSHAKE_MESSAGE__INIT;
	Wa__HandshakeMessage__ServerHello sh = WA__HANDSHAKE_MESSAGE__SERVER_HELLO__INIT;
	sh.has_ephemeral = 1;
	sh.ephemeral.data = e.pub;
	sh.ephemeral.len = KEY_LEN;
	sh.has_static_ = 1;
	sh.static_.data = c1;
	sh.static_.len = sizeof c1;
	sh.has_payload = 1;
	sh.payload.data = c2;
	sh.payload.len = c2_len;
	m.server_hello = &sh;
	rc = pack_msg(wr, &m);
	if (rc == 0) {
		hs->ss = t;
		hs->e = e;
		hs->state = R_SENT_HELLO;
	}
out:
	wa_memzero(&t, sizeof t);
	wa_keypair_clear(&e);
	free_buf(&c2, &c2_len);
	/* a low-order key came from the peer: that is a handshake failure */
	if (rc && why)
		return hs_fail(hs, rc, why);
	return rc;
}

int wa_noise_hs_read_client_finish(wa_noise_hs *hs, const uint8_t *msg, size_t len)
{
	int rc = check_state(hs, R_SENT_HELLO);
	if (rc)
		return rc;
	const char *why = NULL;
	Wa__HandshakeMessage *m = unpack_msg(msg, len);
	sym t = hs->ss;
	uint8_t rs[KEY_LEN];
	uint8_t *pl = NULL;
	size_t pl_len = 0;

	rc = WA_EMALFORMED;
	if (!m || !m->client_finish) {
		why = "client finish is not a HandshakeMessage with clientFinish";
		goto out;
	}
	Wa__HandshakeMessage__ClientFinish *cf = m->client_finish;
	if (!bytes_len(cf->has_static_, &cf->static_, ENC_KEY_LEN) || !cf->has_payload ||
	    cf->payload.len < WA_GCM_TAG_LEN ||
	    cf->payload.len - WA_GCM_TAG_LEN > WA_NOISE_MAX_HS_PAYLOAD) {
		why = "client finish fields missing or of the wrong size";
		goto out;
	}
	/* s */
	if ((rc = decrypt_and_hash(&t, rs, cf->static_.data, ENC_KEY_LEN)) != 0) {
		why = "client static key failed to decrypt";
		goto out;
	}
	/* se */
	if ((rc = mix_dh(&t, hs->e.priv, rs)) != 0) {
		why = "client static key is a low-order point";
		goto out;
	}
	pl_len = cf->payload.len - WA_GCM_TAG_LEN;
	pl = malloc(pl_len ? pl_len : 1);
	if (!pl) {
		rc = WA_ENOMEM;
		why = "out of memory";
		goto out;
	}
	if ((rc = decrypt_and_hash(&t, pl, cf->payload.data, cf->payload.len)) != 0) {
		why = "client payload failed to decrypt";
		goto out;
	}
	hs->ss = t;
	memcpy(hs->rs, rs, KEY_LEN);
	hs->have_rs = true;
	hs->in_payload = pl;
	hs->in_payload_len = pl_len;
	pl = NULL;
	pl_len = 0;
	hs->state = HS_DONE;
out:
	if (m)
		wa__handshake_message__free_unpacked(m, NULL);
	free_buf(&pl, &pl_len);
	wa_memzero(&t, sizeof t);
	wa_memzero(rs, sizeof rs);
	return rc ? hs_fail(hs, rc, why) : 0;
}

/* ---- results ---- */

int wa_noise_hs_split(wa_noise_hs *hs, wa_noise_transport **out)
{
	int rc = check_state(hs, HS_DONE);
	if (rc)
		return rc;
	uint8_t k[2 * KEY_LEN];
	/* Split: HKDF(ck, empty); first half is client->server */
	rc = wa_hkdf_sha256(k, sizeof k, NULL, 0, hs->ss.ck, KEY_LEN, NULL, 0);
	if (rc == 0) {
		if (hs->role == ROLE_INITIATOR)
			rc = wa_noise_transport_new(out, k, k + KEY_LEN);
		else
			rc = wa_noise_transport_new(out, k + KEY_LEN, k);
	}
	wa_memzero(k, sizeof k);
	if (rc == 0) {
		hs->state = HS_SPLIT;
		/* chaining key and ephemerals are no longer needed */
		wa_memzero(hs->ss.ck, KEY_LEN);
		wa_memzero(hs->ss.k, KEY_LEN);
		wa_keypair_clear(&hs->e);
	}
	return rc;
}

int wa_noise_hs_client_payload(const wa_noise_hs *hs, const uint8_t **p, size_t *len)
{
	if (hs->role != ROLE_RESPONDER || (hs->state != HS_DONE && hs->state != HS_SPLIT))
		return WA_ESTATE;
	*p = hs->in_payload;
	*len = hs->in_payload_len;
	return 0;
}

int wa_noise_hs_remote_static(const wa_noise_hs *hs, uint8_t out[static 32])
{
	if (!hs->have_rs || hs->state == HS_FAILED)
		return WA_ESTATE;
	memcpy(out, hs->rs, KEY_LEN);
	return 0;
}

void wa_noise_hs_hash(const wa_noise_hs *hs, uint8_t out[static 32])
{
	memcpy(out, hs->ss.h, KEY_LEN);
}

const char *wa_noise_hs_error_reason(const wa_noise_hs *hs)
{
	return hs->state == HS_FAILED ? hs->reason : NULL;
}

int wa_noise_hs_error(const wa_noise_hs *hs)
{
	return hs->state == HS_FAILED ? hs->err : 0;
}
