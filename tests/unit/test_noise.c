/* Unit tests for src/noise: frame codec, transport cipher, the certificate
 * chain's nine checks (each one made to fail), the handshake between our
 * initiator and responder, sticky failure, and the deterministic vector of
 * transport-and-pairing.md §2.6 (produced by Baileys 7.0.0-rc14). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cert.pb-c.h"
#include "check.h"
#include "crypto/crypto.h"
#include "noise/cert.h"
#include "noise/cipher.h"
#include "noise/frame.h"
#include "noise/handshake.h"
#include "util/seams.h"

static size_t hex(uint8_t *buf, size_t cap, const char *s)
{
	size_t n = strlen(s) / 2;
	if (n > cap || strlen(s) % 2)
		abort();
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			abort();
		buf[i] = (uint8_t)v;
	}
	return n;
}

/* ---- scripted randomness: each call returns the next queued block ---- */
static uint8_t rand_q[4][32];
static size_t rand_n, rand_i;
static void scripted_rand(void *buf, size_t n, void *user)
{
	(void)user;
	if (rand_i >= rand_n || n != 32)
		abort();
	memcpy(buf, rand_q[rand_i++], 32);
}

static int64_t fixed_now_ms = 1700000000000LL;
static int64_t fixed_clock(void *user)
{
	(void)user;
	return fixed_now_ms;
}

/* ---------------- frames ---------------- */

/* Decodes everything in in[0..len) in one call sequence; returns frames
 * concatenated as len24||payload into out, or the error. */
static int decode_all(wa_frame_dec *d, const uint8_t *in, size_t len, wa_writer *out, int *n_frames)
{
	while (len) {
		size_t used = 0;
		const uint8_t *f = NULL;
		size_t fl = 0;
		int rc = wa_frame_decode(d, in, len, &used, &f, &fl);
		if (rc < 0)
			return rc;
		in += used;
		len -= used;
		if (rc == 1) {
			(*n_frames)++;
			if (wa_frame_write(out, f, fl) != 0)
				return -999;
		} else if (used == 0) {
			return -998; /* no progress */
		}
	}
	return 0;
}

static void test_frames(void)
{
	wa_writer wr;
	wa_writer_init(&wr, 1 << 20);
	uint8_t a[5] = { 1, 2, 3, 4, 5 }, b[300];
	memset(b, 0xab, sizeof b);
	CHECK_EQ_INT(wa_frame_write_intro(&wr, NULL, 0), 0);
	CHECK_EQ_INT(wa_frame_write(&wr, a, sizeof a), 0);
	CHECK_EQ_INT(wa_frame_write(&wr, NULL, 0), 0);
	CHECK_EQ_INT(wa_frame_write(&wr, b, sizeof b), 0);
	const uint8_t want_head[] = { 0x57, 0x41, 0x06, 0x03, 0, 0, 5, 1, 2, 3, 4, 5, 0, 0, 0, 0, 1, 0x2c };
	CHECK_EQ_INT(wr.len, 4 + 3 + 5 + 3 + 3 + 300);
	CHECK_EQ_MEM(wr.p, want_head, sizeof want_head);

	/* server side: whole stream in one chunk gives three frames */
	wa_frame_dec *d = NULL;
	CHECK_EQ_INT(wa_frame_dec_new(&d, WA_FRAME_SERVER, WA_NOISE_MAX_FRAME), 0);
	CHECK_EQ_INT(wa_frame_dec_dict_version(d), -1);
	uint8_t intro[4];
	CHECK_EQ_INT(wa_frame_dec_intro(d, intro), WA_ESTATE);
	wa_writer got;
	wa_writer_init(&got, 1 << 20);
	int n = 0;
	CHECK_EQ_INT(decode_all(d, wr.p, wr.len, &got, &n), 0);
	CHECK_EQ_INT(n, 3);
	CHECK_EQ_INT(got.len, wr.len - 4);
	CHECK_EQ_MEM(got.p, wr.p + 4, got.len);
	CHECK_EQ_INT(wa_frame_dec_dict_version(d), 3);
	CHECK_EQ_INT(wa_frame_dec_routing_len(d), 0);
	CHECK_EQ_INT(wa_frame_dec_intro(d, intro), 0);
	CHECK_EQ_MEM(intro, wa_noise_intro_header, 4);
	wa_frame_dec_free(d);

	/* every split offset, byte-by-byte too */
	for (size_t cut = 0; cut <= wr.len; cut++) {
		CHECK_EQ_INT(wa_frame_dec_new(&d, WA_FRAME_SERVER, WA_NOISE_MAX_FRAME), 0);
		wa_writer_clear(&got, false);
		n = 0;
		CHECK_EQ_INT(decode_all(d, wr.p, cut, &got, &n), 0);
		CHECK_EQ_INT(decode_all(d, wr.p + cut, wr.len - cut, &got, &n), 0);
		CHECK_EQ_INT(n, 3);
		CHECK(got.len == wr.len - 4 && memcmp(got.p, wr.p + 4, got.len) == 0);
		wa_frame_dec_free(d);
	}
	CHECK_EQ_INT(wa_frame_dec_new(&d, WA_FRAME_SERVER, WA_NOISE_MAX_FRAME), 0);
	wa_writer_clear(&got, false);
	n = 0;
	for (size_t i = 0; i < wr.len; i++)
		CHECK_EQ_INT(decode_all(d, wr.p + i, 1, &got, &n), 0);
	CHECK_EQ_INT(n, 3);
	CHECK(got.len == wr.len - 4 && memcmp(got.p, wr.p + 4, got.len) == 0);
	wa_frame_dec_free(d);

	/* ED routing prefix (as Baileys sends with stored routing info) */
	wa_writer ed;
	wa_writer_init(&ed, 1 << 16);
	const uint8_t routing[] = { 0x08, 0x08, 0x08, 0x05 };
	CHECK_EQ_INT(wa_frame_write_intro(&ed, routing, sizeof routing), 0);
	const uint8_t want_ed[] = { 0x45, 0x44, 0, 1, 0, 0, 4, 8, 8, 8, 5, 0x57, 0x41, 6, 3 };
	CHECK_EQ_INT(ed.len, sizeof want_ed);
	CHECK_EQ_MEM(ed.p, want_ed, sizeof want_ed);
	CHECK_EQ_INT(wa_frame_write(&ed, a, sizeof a), 0);
	for (size_t cut = 0; cut <= ed.len; cut++) {
		CHECK_EQ_INT(wa_frame_dec_new(&d, WA_FRAME_SERVER, 100), 0);
		wa_writer_clear(&got, false);
		n = 0;
		CHECK_EQ_INT(decode_all(d, ed.p, cut, &got, &n), 0);
		CHECK_EQ_INT(decode_all(d, ed.p + cut, ed.len - cut, &got, &n), 0);
		CHECK_EQ_INT(n, 1);
		CHECK_EQ_INT(wa_frame_dec_routing_len(d), 4);
		CHECK_EQ_INT(wa_frame_dec_dict_version(d), 3);
		CHECK(got.len == 8 && memcmp(got.p + 3, a, 5) == 0);
		wa_frame_dec_free(d);
	}
	wa_writer_clear(&ed, false);

	/* bad magic: clear error, sticky, reason available */
	const uint8_t bad[][8] = {
		{ 0x57, 0x41, 0x05, 0x03, 0, 0, 0 },
		{ 0x47, 0x45, 0x54, 0x20, 0, 0, 0 }, /* "GET " */
		{ 0x45, 0x44, 0x00, 0x02, 0, 0, 0 },
		{ 0x45, 0x44, 0x00, 0x01, 0, 0, 0, 0x57 }, /* ED len 0 then 'W' '?' */
	};
	for (size_t i = 0; i < 3; i++) {
		CHECK_EQ_INT(wa_frame_dec_new(&d, WA_FRAME_SERVER, 100), 0);
		size_t used;
		const uint8_t *f;
		size_t fl;
		CHECK_EQ_INT(wa_frame_decode(d, bad[i], 7, &used, &f, &fl), WA_ENOISE_HEADER);
		CHECK(wa_frame_dec_error_reason(d) != NULL);
		CHECK_EQ_INT(wa_frame_decode(d, want_head, sizeof want_head, &used, &f, &fl), WA_ENOISE_HEADER);
		CHECK_EQ_INT(used, 0);
		wa_frame_dec_free(d);
	}
	{
		CHECK_EQ_INT(wa_frame_dec_new(&d, WA_FRAME_SERVER, 100), 0);
		size_t used;
		const uint8_t *f;
		size_t fl;
		const uint8_t tail[] = { 0x42, 6, 3 };
		CHECK_EQ_INT(wa_frame_decode(d, bad[3], 8, &used, &f, &fl), 0);
		CHECK_EQ_INT(wa_frame_decode(d, tail, 3, &used, &f, &fl), WA_ENOISE_HEADER);
		wa_frame_dec_free(d);
	}
	/* routing length over the cap */
	{
		const uint8_t big[] = { 0x45, 0x44, 0, 1, 0xff, 0xff, 0xff };
		CHECK_EQ_INT(wa_frame_dec_new(&d, WA_FRAME_SERVER, 100), 0);
		size_t used;
		const uint8_t *f;
		size_t fl;
		CHECK_EQ_INT(wa_frame_decode(d, big, sizeof big, &used, &f, &fl), WA_ETOOBIG);
		wa_frame_dec_free(d);
	}
	/* frame over the decoder's limit; limit itself is fine */
	{
		CHECK_EQ_INT(wa_frame_dec_new(&d, WA_FRAME_CLIENT, 5), 0);
		size_t used;
		const uint8_t *f = NULL;
		size_t fl = 0;
		const uint8_t ok[] = { 0, 0, 5, 1, 2, 3, 4, 5 };
		const uint8_t over[] = { 0, 0, 6 };
		CHECK_EQ_INT(wa_frame_decode(d, ok, sizeof ok, &used, &f, &fl), 1);
		CHECK_EQ_INT(fl, 5);
		CHECK_EQ_INT(used, 8);
		CHECK_EQ_INT(wa_frame_decode(d, over, sizeof over, &used, &f, &fl), WA_ETOOBIG);
		CHECK_EQ_INT(wa_frame_decode(d, ok, sizeof ok, &used, &f, &fl), WA_ETOOBIG);
		wa_frame_dec_free(d);
	}
	/* client mode treats 'W' 'A' as a length: no intro expected */
	{
		CHECK_EQ_INT(wa_frame_dec_new(&d, WA_FRAME_CLIENT, WA_NOISE_MAX_FRAME), 0);
		size_t used;
		const uint8_t *f;
		size_t fl;
		CHECK_EQ_INT(wa_frame_decode(d, want_head, 4, &used, &f, &fl), 0);
		CHECK_EQ_INT(used, 4);
		wa_frame_dec_free(d);
	}
	CHECK_EQ_INT(wa_frame_dec_new(&d, WA_FRAME_CLIENT, 0), WA_EINVAL);
	CHECK_EQ_INT(wa_frame_dec_new(&d, WA_FRAME_CLIENT, WA_NOISE_MAX_FRAME + 1), WA_EINVAL);
	wa_writer w2;
	wa_writer_init(&w2, SIZE_MAX);
	CHECK_EQ_INT(wa_frame_write(&w2, b, (size_t)WA_NOISE_MAX_FRAME + 1), WA_ETOOBIG);
	CHECK_EQ_INT(w2.len, 0);
	wa_writer_clear(&w2, false);
	wa_writer_clear(&got, false);
	wa_writer_clear(&wr, false);
}

/* ---------------- transport cipher ---------------- */

static void test_transport(void)
{
	uint8_t k1[32], k2[32];
	memset(k1, 1, 32);
	memset(k2, 2, 32);
	wa_noise_transport *a = NULL, *b = NULL;
	CHECK_EQ_INT(wa_noise_transport_new(&a, k1, k2), 0);
	CHECK_EQ_INT(wa_noise_transport_new(&b, k2, k1), 0);
	uint8_t pt[40], ct[56], back[40];
	for (size_t i = 0; i < sizeof pt; i++)
		pt[i] = (uint8_t)i;
	uint8_t first[56];
	for (int i = 0; i < 3; i++) {
		CHECK_EQ_INT(wa_noise_transport_encrypt(a, ct, pt, sizeof pt), 0);
		if (i == 0)
			memcpy(first, ct, sizeof ct);
		else
			CHECK(memcmp(first, ct, sizeof ct) != 0); /* nonce moved on */
		CHECK_EQ_INT(wa_noise_transport_decrypt(b, back, ct, sizeof ct), 0);
		CHECK_EQ_MEM(back, pt, sizeof pt);
	}
	CHECK_EQ_INT(wa_noise_transport_send_count(a), 3);
	CHECK_EQ_INT(wa_noise_transport_recv_count(b), 3);
	/* replay of an old frame fails and sticks */
	CHECK_EQ_INT(wa_noise_transport_decrypt(b, back, first, sizeof first), WA_ENOISE_DECRYPT);
	CHECK_EQ_INT(wa_noise_transport_encrypt(a, ct, pt, sizeof pt), 0);
	CHECK_EQ_INT(wa_noise_transport_decrypt(b, back, ct, sizeof ct), WA_ENOISE_FAILED);
	CHECK_EQ_INT(wa_noise_transport_encrypt(b, ct, pt, sizeof pt), WA_ENOISE_FAILED);
	wa_noise_transport_free(b);
	b = NULL;

	/* tampered frame */
	CHECK_EQ_INT(wa_noise_transport_new(&b, k2, k1), 0);
	wa_noise_transport_set_counts(b, 0, 4);
	ct[10] ^= 1;
	CHECK_EQ_INT(wa_noise_transport_decrypt(b, back, ct, sizeof ct), WA_ENOISE_DECRYPT);
	ct[10] ^= 1;
	CHECK_EQ_INT(wa_noise_transport_decrypt(b, back, ct, sizeof ct), WA_ENOISE_FAILED);
	wa_noise_transport_free(b);

	/* short frame */
	CHECK_EQ_INT(wa_noise_transport_new(&b, k2, k1), 0);
	CHECK_EQ_INT(wa_noise_transport_decrypt(b, back, ct, 15), WA_EMALFORMED);
	wa_noise_transport_free(b);

	/* counter exhaustion: the last nonce works, then it is refused */
	CHECK_EQ_INT(wa_noise_transport_new(&b, k2, k1), 0);
	wa_noise_transport_set_counts(a, UINT32_MAX, 0);
	wa_noise_transport_set_counts(b, 0, UINT32_MAX);
	CHECK_EQ_INT(wa_noise_transport_encrypt(a, ct, pt, sizeof pt), 0);
	CHECK_EQ_INT(wa_noise_transport_decrypt(b, back, ct, sizeof ct), 0);
	CHECK_EQ_INT(wa_noise_transport_encrypt(a, ct, pt, sizeof pt), WA_ENOISE_NONCE);
	CHECK_EQ_INT(wa_noise_transport_decrypt(b, back, ct, sizeof ct), WA_ENOISE_NONCE);
	wa_noise_transport_free(a);
	wa_noise_transport_free(b);
	wa_noise_transport_free(NULL);
}

/* ---------------- certificate chain ---------------- */

struct pki {
	wa_keypair root, inter, server;
	wa_noise_trust trust;
	wa_noise_cert_spec ispec, lspec;
};

static void pki_init(struct pki *p)
{
	wa_keypair_generate(&p->root);
	wa_keypair_generate(&p->inter);
	wa_keypair_generate(&p->server);
	memcpy(p->trust.root_pub, p->root.pub, 32);
	p->trust.root_serial = 0;
	uint64_t now = (uint64_t)(fixed_now_ms / 1000);
	p->ispec = (wa_noise_cert_spec){ .serial = 1, .issuer_serial = 0,
		.not_before = now - 3600, .not_after = now + 86400 * 365 };
	memcpy(p->ispec.key, p->inter.pub, 32);
	p->lspec = (wa_noise_cert_spec){ .serial = 2, .issuer_serial = 1,
		.not_before = now - 60, .not_after = now + 86400 };
	memcpy(p->lspec.key, p->server.pub, 32);
}

/* Builds a chain from specs, optionally signing with other keys. */
static void build(const struct pki *p, const wa_noise_cert_spec *is, const wa_noise_cert_spec *ls,
	const uint8_t *root_priv, const uint8_t *inter_priv, uint8_t **out, size_t *len)
{
	if (wa_noise_cert_chain_build(out, len, root_priv ? root_priv : p->root.priv, is,
		    inter_priv ? inter_priv : p->inter.priv, ls) != 0)
		abort();
}

static const char *verify(const struct pki *p, const uint8_t *c, size_t n, int64_t now_ms, int *rc)
{
	const char *why = NULL;
	*rc = wa_noise_cert_chain_verify(c, n, p->server.pub, &p->trust, now_ms, &why);
	return why;
}

#define EXPECT_CERT_FAIL(p, c, n, now, needle) do { \
	int rc_; \
	const char *why_ = verify((p), (c), (n), (now), &rc_); \
	CHECK_EQ_INT(rc_, WA_ENOISE_CERT); \
	CHECK(why_ && strstr(why_, (needle)) != NULL); \
	if (why_ && !strstr(why_, (needle))) \
		fprintf(stderr, "  reason was: %s\n", why_); \
	} while (0)

/* Serializes a Details message with arbitrary (possibly wrong) fields. */
static void raw_details(uint8_t **out, size_t *len, uint32_t serial, uint32_t issuer,
	const uint8_t *key, size_t key_len)
{
	Wa__CertChain__NoiseCertificate__Details d = WA__CERT_CHAIN__NOISE_CERTIFICATE__DETAILS__INIT;
	d.has_serial = 1;
	d.serial = serial;
	d.has_issuer_serial = 1;
	d.issuer_serial = issuer;
	if (key) {
		d.has_key = 1;
		d.key.data = (uint8_t *)key;
		d.key.len = key_len;
	}
	d.has_not_before = 1;
	d.not_before = 0;
	d.has_not_after = 1;
	d.not_after = UINT64_MAX;
	*len = protobuf_c_message_get_packed_size(&d.base);
	*out = malloc(*len);
	protobuf_c_message_pack(&d.base, *out);
}

static void test_cert_chain(void)
{
	struct pki p;
	pki_init(&p);
	uint8_t *c = NULL;
	size_t n = 0;
	int rc;
	int64_t now = fixed_now_ms;

	build(&p, &p.ispec, &p.lspec, NULL, NULL, &c, &n);
	CHECK(verify(&p, c, n, now, &rc) == NULL);
	CHECK_EQ_INT(rc, 0);
	/* 1 + 2: garbage and truncations */
	for (size_t cut = 0; cut < n; cut += 7) {
		const char *why = verify(&p, c, cut, now, &rc);
		CHECK_EQ_INT(rc, WA_ENOISE_CERT);
		CHECK(why != NULL);
	}
	/* 3: wrong root */
	{
		struct pki q = p;
		wa_keypair other;
		wa_keypair_generate(&other);
		memcpy(q.trust.root_pub, other.pub, 32);
		EXPECT_CERT_FAIL(&q, c, n, now, "not signed by the trusted root");
		/* WhatsApp's real root rejects a test chain */
		wa_noise_trust_default(&q.trust);
		EXPECT_CERT_FAIL(&q, c, n, now, "not signed by the trusted root");
	}
	/* 7: validity window of either certificate, both edges */
	CHECK(verify(&p, c, n, (int64_t)p.lspec.not_before * 1000, &rc) == NULL && rc == 0);
	CHECK(verify(&p, c, n, (int64_t)p.lspec.not_after * 1000 + 999, &rc) == NULL && rc == 0);
	EXPECT_CERT_FAIL(&p, c, n, (int64_t)(p.lspec.not_before - 1) * 1000, "leaf certificate is expired or not yet valid");
	EXPECT_CERT_FAIL(&p, c, n, (int64_t)(p.lspec.not_after + 1) * 1000, "leaf certificate is expired or not yet valid");
	EXPECT_CERT_FAIL(&p, c, n, (int64_t)(p.ispec.not_before - 1) * 1000, "intermediate certificate is expired");
	EXPECT_CERT_FAIL(&p, c, n, -5000, "intermediate certificate is expired");
	free(c);
	{
		wa_noise_cert_spec is = p.ispec;
		is.not_after = (uint64_t)(now / 1000) - 1; /* intermediate expired, leaf fine */
		build(&p, &is, &p.lspec, NULL, NULL, &c, &n);
		EXPECT_CERT_FAIL(&p, c, n, now, "intermediate certificate is expired or not yet valid");
		free(c);
		is = p.ispec;
		is.not_before = (uint64_t)(now / 1000) + 10;
		build(&p, &is, &p.lspec, NULL, NULL, &c, &n);
		EXPECT_CERT_FAIL(&p, c, n, now, "intermediate certificate is expired or not yet valid");
		free(c);
	}
	/* 4: intermediate issuer serial vs root serial; and a replaced serial */
	{
		wa_noise_cert_spec is = p.ispec;
		is.issuer_serial = 7;
		build(&p, &is, &p.lspec, NULL, NULL, &c, &n);
		EXPECT_CERT_FAIL(&p, c, n, now, "intermediate issuer serial");
		struct pki q = p;
		q.trust.root_serial = 7;
		CHECK(verify(&q, c, n, now, &rc) == NULL && rc == 0);
		free(c);
	}
	/* 8: leaf issuer serial vs intermediate serial */
	{
		wa_noise_cert_spec ls = p.lspec;
		ls.issuer_serial = 9;
		build(&p, &p.ispec, &ls, NULL, NULL, &c, &n);
		EXPECT_CERT_FAIL(&p, c, n, now, "leaf issuer serial");
		free(c);
	}
	/* 9: leaf key is not the server static (Baileys would accept this) */
	{
		wa_noise_cert_spec ls = p.lspec;
		ls.key[0] ^= 1;
		build(&p, &p.ispec, &ls, NULL, NULL, &c, &n);
		EXPECT_CERT_FAIL(&p, c, n, now, "does not match the server static");
		free(c);
	}
	/* 3 / 6: signatures by the wrong keys */
	{
		wa_keypair other;
		wa_keypair_generate(&other);
		build(&p, &p.ispec, &p.lspec, other.priv, NULL, &c, &n);
		EXPECT_CERT_FAIL(&p, c, n, now, "not signed by the trusted root");
		free(c);
		build(&p, &p.ispec, &p.lspec, NULL, other.priv, &c, &n);
		EXPECT_CERT_FAIL(&p, c, n, now, "leaf certificate is not signed by the intermediate");
		free(c);
	}
	/* signatures and details tampered byte by byte, via pack */
	uint8_t *id = NULL, *ld = NULL;
	size_t il = 0, ll = 0;
	CHECK_EQ_INT(wa_noise_cert_details_encode(&p.ispec, &id, &il), 0);
	CHECK_EQ_INT(wa_noise_cert_details_encode(&p.lspec, &ld, &ll), 0);
	uint8_t isig[65], lsig[65];
	CHECK_EQ_INT(wa_xeddsa_sign(isig, p.root.priv, id, il), 0);
	CHECK_EQ_INT(wa_xeddsa_sign(lsig, p.inter.priv, ld, ll), 0);
	isig[64] = lsig[64] = 0;
	CHECK_EQ_INT(wa_noise_cert_chain_pack(&c, &n, ld, ll, lsig, 64, id, il, isig, 64), 0);
	CHECK(verify(&p, c, n, now, &rc) == NULL && rc == 0);
	free(c);
	isig[5] ^= 1;
	CHECK_EQ_INT(wa_noise_cert_chain_pack(&c, &n, ld, ll, lsig, 64, id, il, isig, 64), 0);
	EXPECT_CERT_FAIL(&p, c, n, now, "not signed by the trusted root");
	free(c);
	isig[5] ^= 1;
	lsig[40] ^= 1;
	CHECK_EQ_INT(wa_noise_cert_chain_pack(&c, &n, ld, ll, lsig, 64, id, il, isig, 64), 0);
	EXPECT_CERT_FAIL(&p, c, n, now, "leaf certificate is not signed");
	free(c);
	lsig[40] ^= 1;
	id[il - 1] ^= 1; /* details changed after signing */
	CHECK_EQ_INT(wa_noise_cert_chain_pack(&c, &n, ld, ll, lsig, 64, id, il, isig, 64), 0);
	EXPECT_CERT_FAIL(&p, c, n, now, "not signed by the trusted root");
	free(c);
	id[il - 1] ^= 1;
	ld[3] ^= 1;
	CHECK_EQ_INT(wa_noise_cert_chain_pack(&c, &n, ld, ll, lsig, 64, id, il, isig, 64), 0);
	EXPECT_CERT_FAIL(&p, c, n, now, "leaf certificate is not signed");
	free(c);
	ld[3] ^= 1;
	/* 2: wrong signature lengths */
	CHECK_EQ_INT(wa_noise_cert_chain_pack(&c, &n, ld, ll, lsig, 64, id, il, isig, 63), 0);
	EXPECT_CERT_FAIL(&p, c, n, now, "intermediate signature is not 64 bytes");
	free(c);
	CHECK_EQ_INT(wa_noise_cert_chain_pack(&c, &n, ld, ll, lsig, 65, id, il, isig, 64), 0);
	EXPECT_CERT_FAIL(&p, c, n, now, "leaf signature is not 64 bytes");
	free(c);
	/* 1: missing pieces */
	CHECK_EQ_INT(wa_noise_cert_chain_pack(&c, &n, NULL, 0, NULL, 0, id, il, isig, 64), 0);
	EXPECT_CERT_FAIL(&p, c, n, now, "leaf certificate lacks");
	free(c);
	CHECK_EQ_INT(wa_noise_cert_chain_pack(&c, &n, ld, ll, NULL, 0, id, il, isig, 64), 0);
	EXPECT_CERT_FAIL(&p, c, n, now, "leaf certificate lacks");
	free(c);
	CHECK_EQ_INT(wa_noise_cert_chain_pack(&c, &n, NULL, 0, lsig, 64, id, il, isig, 64), 0);
	EXPECT_CERT_FAIL(&p, c, n, now, "leaf certificate lacks");
	free(c);
	CHECK_EQ_INT(wa_noise_cert_chain_pack(&c, &n, ld, ll, lsig, 64, NULL, 0, NULL, 0), 0);
	EXPECT_CERT_FAIL(&p, c, n, now, "intermediate certificate lacks");
	free(c);
	CHECK_EQ_INT(wa_noise_cert_chain_pack(&c, &n, ld, ll, lsig, 64, NULL, 0, isig, 64), 0);
	EXPECT_CERT_FAIL(&p, c, n, now, "intermediate certificate lacks");
	free(c);
	CHECK_EQ_INT(wa_noise_cert_chain_pack(&c, &n, ld, ll, lsig, 64, id, il, NULL, 0), 0);
	EXPECT_CERT_FAIL(&p, c, n, now, "intermediate certificate lacks");
	free(c);
	free(id);
	free(ld);
	/* 5: intermediate key of the wrong length (properly signed); missing key */
	{
		uint8_t key33[33];
		memcpy(key33, p.inter.pub, 32);
		key33[32] = 0;
		size_t lens[] = { 31, 33 };
		for (int i = 0; i < 3; i++) {
			if (i < 2)
				raw_details(&id, &il, 1, 0, key33, lens[i]);
			else
				raw_details(&id, &il, 1, 0, NULL, 0);
			CHECK_EQ_INT(wa_xeddsa_sign(isig, p.root.priv, id, il), 0);
			CHECK_EQ_INT(wa_noise_cert_details_encode(&p.lspec, &ld, &ll), 0);
			CHECK_EQ_INT(wa_xeddsa_sign(lsig, p.inter.priv, ld, ll), 0);
			CHECK_EQ_INT(wa_noise_cert_chain_pack(&c, &n, ld, ll, lsig, 64, id, il, isig, 64), 0);
			EXPECT_CERT_FAIL(&p, c, n, now, "intermediate key is not 32 bytes");
			free(c);
			free(id);
			free(ld);
		}
	}
	/* signed details that are not a protobuf */
	{
		const uint8_t junk[] = { 0xff, 0xff, 0xff };
		CHECK_EQ_INT(wa_xeddsa_sign(isig, p.root.priv, junk, sizeof junk), 0);
		CHECK_EQ_INT(wa_noise_cert_chain_pack(&c, &n, junk, 3, isig, 64, junk, 3, isig, 64), 0);
		EXPECT_CERT_FAIL(&p, c, n, now, "intermediate details are not a valid protobuf");
		free(c);
	}
	/* oversize chain */
	{
		uint8_t *big = calloc(1, WA_NOISE_MAX_CERT_CHAIN + 1);
		EXPECT_CERT_FAIL(&p, big, WA_NOISE_MAX_CERT_CHAIN + 1, now, "larger than");
		free(big);
	}
	/* reason pointer may be NULL */
	CHECK_EQ_INT(wa_noise_cert_chain_verify((const uint8_t *)"x", 1, p.server.pub, &p.trust, now, NULL),
		WA_ENOISE_CERT);
}

/* ---------------- handshake ---------------- */

struct pair {
	wa_noise_hs *i, *r;
	wa_writer m1, m2, m3;
};

static void pair_setup(struct pair *pp, const struct pki *p, const uint8_t *chain, size_t chain_len,
	const wa_keypair *client_static, const uint8_t *payload, size_t payload_len)
{
	memset(pp, 0, sizeof *pp);
	wa_writer_init(&pp->m1, WA_NOISE_MAX_HS_MSG);
	wa_writer_init(&pp->m2, WA_NOISE_MAX_HS_MSG);
	wa_writer_init(&pp->m3, WA_NOISE_MAX_HS_MSG);
	CHECK_EQ_INT(wa_noise_hs_new_initiator(&pp->i, client_static, payload, payload_len, &p->trust, NULL), 0);
	CHECK_EQ_INT(wa_noise_hs_new_responder(&pp->r, &p->server, chain, chain_len, NULL), 0);
}

static void pair_clear(struct pair *pp)
{
	wa_noise_hs_free(pp->i);
	wa_noise_hs_free(pp->r);
	wa_writer_clear(&pp->m1, true);
	wa_writer_clear(&pp->m2, true);
	wa_writer_clear(&pp->m3, true);
}

static void test_handshake_ok(void)
{
	struct pki p;
	pki_init(&p);
	uint8_t *chain;
	size_t chain_len;
	build(&p, &p.ispec, &p.lspec, NULL, NULL, &chain, &chain_len);
	wa_keypair cs;
	wa_keypair_generate(&cs);
	const uint8_t payload[] = "client payload bytes";
	struct pair pp;
	pair_setup(&pp, &p, chain, chain_len, &cs, payload, sizeof payload);

	/* out-of-order calls are refused without harm */
	CHECK_EQ_INT(wa_noise_hs_write_client_finish(pp.i, &pp.m3), WA_ESTATE);
	CHECK_EQ_INT(wa_noise_hs_write_server_hello(pp.r, &pp.m2), WA_ESTATE);
	CHECK_EQ_INT(wa_noise_hs_read_client_hello(pp.i, NULL, 0), WA_ESTATE);
	wa_noise_transport *t = NULL;
	CHECK_EQ_INT(wa_noise_hs_split(pp.i, &t), WA_ESTATE);

	CHECK_EQ_INT(wa_noise_hs_write_client_hello(pp.i, &pp.m1), 0);
	CHECK_EQ_INT(wa_noise_hs_read_client_hello(pp.r, pp.m1.p, pp.m1.len), 0);
	CHECK_EQ_INT(wa_noise_hs_write_server_hello(pp.r, &pp.m2), 0);
	CHECK_EQ_INT(wa_noise_hs_read_server_hello(pp.i, pp.m2.p, pp.m2.len), 0);
	uint8_t rs[32];
	CHECK_EQ_INT(wa_noise_hs_remote_static(pp.i, rs), 0);
	CHECK_EQ_MEM(rs, p.server.pub, 32);
	CHECK_EQ_INT(wa_noise_hs_write_client_finish(pp.i, &pp.m3), 0);
	CHECK_EQ_INT(wa_noise_hs_read_client_finish(pp.r, pp.m3.p, pp.m3.len), 0);
	CHECK_EQ_INT(wa_noise_hs_remote_static(pp.r, rs), 0);
	CHECK_EQ_MEM(rs, cs.pub, 32);
	const uint8_t *got;
	size_t got_len;
	CHECK_EQ_INT(wa_noise_hs_client_payload(pp.i, &got, &got_len), WA_ESTATE);
	CHECK_EQ_INT(wa_noise_hs_client_payload(pp.r, &got, &got_len), 0);
	CHECK(got_len == sizeof payload && memcmp(got, payload, got_len) == 0);
	uint8_t hi[32], hr[32];
	wa_noise_hs_hash(pp.i, hi);
	wa_noise_hs_hash(pp.r, hr);
	CHECK_EQ_MEM(hi, hr, 32);
	CHECK(wa_noise_hs_error_reason(pp.i) == NULL);

	wa_noise_transport *ti = NULL, *tr = NULL;
	CHECK_EQ_INT(wa_noise_hs_split(pp.i, &ti), 0);
	CHECK_EQ_INT(wa_noise_hs_split(pp.r, &tr), 0);
	CHECK_EQ_INT(wa_noise_hs_split(pp.r, &t), WA_ESTATE);
	uint8_t ct[64], back[64];
	const uint8_t msg[] = "hello both ways";
	for (int k = 0; k < 3; k++) {
		CHECK_EQ_INT(wa_noise_transport_encrypt(ti, ct, msg, sizeof msg), 0);
		CHECK_EQ_INT(wa_noise_transport_decrypt(tr, back, ct, sizeof msg + 16), 0);
		CHECK_EQ_MEM(back, msg, sizeof msg);
		CHECK_EQ_INT(wa_noise_transport_encrypt(tr, ct, msg, sizeof msg), 0);
		CHECK_EQ_INT(wa_noise_transport_decrypt(ti, back, ct, sizeof msg + 16), 0);
		CHECK_EQ_MEM(back, msg, sizeof msg);
	}
	/* directions use different keys: a frame cannot be reflected */
	CHECK_EQ_INT(wa_noise_transport_encrypt(ti, ct, msg, sizeof msg), 0);
	CHECK_EQ_INT(wa_noise_transport_decrypt(ti, back, ct, sizeof msg + 16), WA_ENOISE_DECRYPT);
	wa_noise_transport_free(ti);
	wa_noise_transport_free(tr);
	pair_clear(&pp);
	free(chain);
}

/* Runs a handshake with the given chain; returns the initiator's result
 * for the server hello and its reason. */
static int handshake_with_chain(const struct pki *p, const uint8_t *chain, size_t n, const char **why)
{
	wa_keypair cs;
	wa_keypair_generate(&cs);
	struct pair pp;
	pair_setup(&pp, p, chain, n, &cs, (const uint8_t *)"x", 1);
	CHECK_EQ_INT(wa_noise_hs_write_client_hello(pp.i, &pp.m1), 0);
	CHECK_EQ_INT(wa_noise_hs_read_client_hello(pp.r, pp.m1.p, pp.m1.len), 0);
	CHECK_EQ_INT(wa_noise_hs_write_server_hello(pp.r, &pp.m2), 0);
	int rc = wa_noise_hs_read_server_hello(pp.i, pp.m2.p, pp.m2.len);
	*why = wa_noise_hs_error_reason(pp.i);
	if (rc) {
		/* sticky: nothing works afterwards, not even the right message */
		CHECK_EQ_INT(wa_noise_hs_error(pp.i), rc);
		CHECK_EQ_INT(wa_noise_hs_read_server_hello(pp.i, pp.m2.p, pp.m2.len), WA_ENOISE_FAILED);
		CHECK_EQ_INT(wa_noise_hs_write_client_finish(pp.i, &pp.m3), WA_ENOISE_FAILED);
		CHECK_EQ_INT(pp.m3.len, 0);
		uint8_t rs[32];
		CHECK_EQ_INT(wa_noise_hs_remote_static(pp.i, rs), WA_ESTATE);
	}
	pair_clear(&pp);
	return rc;
}

static void test_handshake_cert_failures(void)
{
	struct pki p;
	pki_init(&p);
	uint8_t *c;
	size_t n;
	const char *why;
	/* a leaf certifying another key than the responder's static */
	wa_noise_cert_spec ls = p.lspec;
	wa_keypair other;
	wa_keypair_generate(&other);
	memcpy(ls.key, other.pub, 32);
	build(&p, &p.ispec, &ls, NULL, NULL, &c, &n);
	CHECK_EQ_INT(handshake_with_chain(&p, c, n, &why), WA_ENOISE_CERT);
	CHECK(why && strstr(why, "server static"));
	free(c);
	/* expired leaf via the clock seam */
	build(&p, &p.ispec, &p.lspec, NULL, NULL, &c, &n);
	fixed_now_ms = (int64_t)(p.lspec.not_after + 10) * 1000;
	CHECK_EQ_INT(handshake_with_chain(&p, c, n, &why), WA_ENOISE_CERT);
	CHECK(why && strstr(why, "leaf certificate is expired"));
	fixed_now_ms = 1700000000000LL;
	CHECK_EQ_INT(handshake_with_chain(&p, c, n, &why), 0);
	CHECK(why == NULL);
	/* the WhatsApp root (default trust) rejects the test chain */
	{
		wa_keypair cs;
		wa_keypair_generate(&cs);
		wa_noise_hs *i = NULL, *r = NULL;
		wa_writer m1, m2;
		wa_writer_init(&m1, 4096);
		wa_writer_init(&m2, 4096);
		CHECK_EQ_INT(wa_noise_hs_new_initiator(&i, &cs, NULL, 0, NULL, NULL), 0);
		CHECK_EQ_INT(wa_noise_hs_new_responder(&r, &p.server, c, n, NULL), 0);
		CHECK_EQ_INT(wa_noise_hs_write_client_hello(i, &m1), 0);
		CHECK_EQ_INT(wa_noise_hs_read_client_hello(r, m1.p, m1.len), 0);
		CHECK_EQ_INT(wa_noise_hs_write_server_hello(r, &m2), 0);
		CHECK_EQ_INT(wa_noise_hs_read_server_hello(i, m2.p, m2.len), WA_ENOISE_CERT);
		CHECK(strstr(wa_noise_hs_error_reason(i), "trusted root") != NULL);
		wa_noise_hs_free(i);
		wa_noise_hs_free(r);
		wa_writer_clear(&m1, false);
		wa_writer_clear(&m2, false);
	}
	free(c);
	/* a chain that is not a chain */
	CHECK_EQ_INT(handshake_with_chain(&p, (const uint8_t *)"\x0a\x00\x12", 3, &why), WA_ENOISE_CERT);
	CHECK(why && strstr(why, "protobuf"));
}

/* Flips one byte of each handshake message in turn; the receiver must fail
 * (never accept) and stay failed. */
static void test_handshake_tamper(void)
{
	struct pki p;
	pki_init(&p);
	uint8_t *chain;
	size_t chain_len;
	build(&p, &p.ispec, &p.lspec, NULL, NULL, &chain, &chain_len);
	wa_keypair cs;
	wa_keypair_generate(&cs);
	for (int which = 2; which <= 3; which++) {
		size_t msg_len = 0;
		for (size_t pos = 0;; pos++) {
			struct pair pp;
			pair_setup(&pp, &p, chain, chain_len, &cs, (const uint8_t *)"pl", 2);
			CHECK_EQ_INT(wa_noise_hs_write_client_hello(pp.i, &pp.m1), 0);
			CHECK_EQ_INT(wa_noise_hs_read_client_hello(pp.r, pp.m1.p, pp.m1.len), 0);
			CHECK_EQ_INT(wa_noise_hs_write_server_hello(pp.r, &pp.m2), 0);
			if (which == 2) {
				msg_len = pp.m2.len;
				if (pos >= msg_len) {
					pair_clear(&pp);
					break;
				}
				pp.m2.p[pos] ^= 0x20;
				int rc = wa_noise_hs_read_server_hello(pp.i, pp.m2.p, pp.m2.len);
				CHECK(rc < 0);
				if (rc < 0) {
					pp.m2.p[pos] ^= 0x20;
					CHECK_EQ_INT(wa_noise_hs_read_server_hello(pp.i, pp.m2.p, pp.m2.len), WA_ENOISE_FAILED);
				}
			} else {
				CHECK_EQ_INT(wa_noise_hs_read_server_hello(pp.i, pp.m2.p, pp.m2.len), 0);
				CHECK_EQ_INT(wa_noise_hs_write_client_finish(pp.i, &pp.m3), 0);
				msg_len = pp.m3.len;
				if (pos >= msg_len) {
					pair_clear(&pp);
					break;
				}
				pp.m3.p[pos] ^= 0x20;
				int rc = wa_noise_hs_read_client_finish(pp.r, pp.m3.p, pp.m3.len);
				CHECK(rc < 0);
				if (rc < 0) {
					pp.m3.p[pos] ^= 0x20;
					CHECK_EQ_INT(wa_noise_hs_read_client_finish(pp.r, pp.m3.p, pp.m3.len), WA_ENOISE_FAILED);
					wa_noise_transport *t = NULL;
					CHECK_EQ_INT(wa_noise_hs_split(pp.r, &t), WA_ENOISE_FAILED);
					const uint8_t *pl;
					size_t pl_len;
					CHECK_EQ_INT(wa_noise_hs_client_payload(pp.r, &pl, &pl_len), WA_ESTATE);
				}
			}
			pair_clear(&pp);
		}
		CHECK(msg_len >= 72); /* every byte of each message was tried */
	}
	/* malformed client hello: wrong ephemeral size, not a protobuf */
	{
		wa_noise_hs *r = NULL;
		CHECK_EQ_INT(wa_noise_hs_new_responder(&r, &p.server, chain, chain_len, NULL), 0);
		const uint8_t short_e[] = { 0x12, 0x03, 0x0a, 0x01, 0x00 };
		CHECK_EQ_INT(wa_noise_hs_read_client_hello(r, short_e, sizeof short_e), WA_EMALFORMED);
		CHECK(wa_noise_hs_error_reason(r) != NULL);
		CHECK_EQ_INT(wa_noise_hs_read_client_hello(r, short_e, sizeof short_e), WA_ENOISE_FAILED);
		wa_noise_hs_free(r);
	}
	/* a low-order ephemeral from the client fails the responder */
	{
		wa_noise_hs *r = NULL;
		CHECK_EQ_INT(wa_noise_hs_new_responder(&r, &p.server, chain, chain_len, NULL), 0);
		uint8_t m[36] = { 0x12, 0x22, 0x0a, 0x20 }; /* ephemeral = 32 zero bytes */
		CHECK_EQ_INT(wa_noise_hs_read_client_hello(r, m, sizeof m), 0);
		wa_writer w;
		wa_writer_init(&w, 4096);
		CHECK_EQ_INT(wa_noise_hs_write_server_hello(r, &w), WA_ECRYPTO);
		CHECK_EQ_INT(w.len, 0);
		CHECK_EQ_INT(wa_noise_hs_write_server_hello(r, &w), WA_ENOISE_FAILED);
		wa_writer_clear(&w, false);
		wa_noise_hs_free(r);
	}
	/* the prologue (intro header) is bound into the handshake: a responder
	 * that saw dictionary version 2 cannot talk to a version-3 initiator */
	{
		const uint8_t v2[4] = { 'W', 'A', 6, 2 };
		wa_noise_hs *i = NULL, *r = NULL;
		wa_writer a, b;
		wa_writer_init(&a, 4096);
		wa_writer_init(&b, 4096);
		CHECK_EQ_INT(wa_noise_hs_new_initiator(&i, &cs, NULL, 0, &p.trust, NULL), 0);
		CHECK_EQ_INT(wa_noise_hs_new_responder(&r, &p.server, chain, chain_len, v2), 0);
		CHECK_EQ_INT(wa_noise_hs_write_client_hello(i, &a), 0);
		CHECK_EQ_INT(wa_noise_hs_read_client_hello(r, a.p, a.len), 0);
		CHECK_EQ_INT(wa_noise_hs_write_server_hello(r, &b), 0);
		CHECK_EQ_INT(wa_noise_hs_read_server_hello(i, b.p, b.len), WA_ENOISE_DECRYPT);
		wa_noise_hs_free(i);
		wa_noise_hs_free(r);
		wa_writer_clear(&a, false);
		wa_writer_clear(&b, false);
	}
	/* a writer too small fails the write but not the handshake */
	{
		struct pair pp;
		pair_setup(&pp, &p, chain, chain_len, &cs, NULL, 0);
		wa_writer tiny;
		wa_writer_init(&tiny, 10);
		CHECK_EQ_INT(wa_noise_hs_write_client_hello(pp.i, &tiny), WA_ETOOBIG);
		CHECK_EQ_INT(wa_noise_hs_write_client_hello(pp.i, &pp.m1), 0);
		wa_writer_clear(&tiny, false);
		pair_clear(&pp);
	}
	free(chain);
	wa_noise_hs_free(NULL);
}

/* ---------------- §2.6 deterministic vector ---------------- */

static void test_vector(void)
{
	uint8_t raw[32];
	wa_keypair s_c, s_s;
	memset(raw, 0x22, 32);
	wa_keypair_from_private(&s_c, raw);
	memset(raw, 0x44, 32);
	wa_keypair_from_private(&s_s, raw);
	uint8_t want[256], buf[256];
	hex(want, 32, "0faa684ed28867b97f4a6a2dee5df8ce974e76b7018e3f22a1c4cf2678570f20");
	CHECK_EQ_MEM(s_c.pub, want, 32);
	hex(want, 32, "ff2ee45601ec1b67310c7790404585ae697331eee1c1f8cf2419731c1fff3e6b");
	CHECK_EQ_MEM(s_s.pub, want, 32);
	memset(rand_q[0], 0x11, 32); /* e_c */
	memset(rand_q[1], 0x33, 32); /* e_s */
	rand_n = 2;
	rand_i = 0;
	wa_rand_override(scripted_rand, NULL);

	const uint8_t fake_chain[] = { 0x0a, 0x00, 0x12 };
	uint8_t client_payload[14];
	hex(client_payload, sizeof client_payload, "088784b4f7391801900103880201");
	wa_noise_trust trust;
	memset(&trust, 0, sizeof trust);
	wa_noise_hs *i = NULL, *r = NULL;
	CHECK_EQ_INT(wa_noise_hs_new_initiator(&i, &s_c, client_payload, sizeof client_payload, &trust, NULL), 0);
	CHECK_EQ_INT(wa_noise_hs_new_responder(&r, &s_s, fake_chain, sizeof fake_chain, NULL), 0);
	uint8_t h[32];
	wa_noise_hs_hash(i, h);
	hex(want, 32, "ffff0c9267310966f1311170c04b38c79504285bf5edf763e5c946492a50a755");
	CHECK_EQ_MEM(h, want, 32);

	/* frame 1, with intro and framing, byte for byte */
	wa_writer m1, f1, m2;
	wa_writer_init(&m1, 4096);
	wa_writer_init(&f1, 4096);
	wa_writer_init(&m2, 4096);
	CHECK_EQ_INT(wa_noise_hs_write_client_hello(i, &m1), 0);
	CHECK_EQ_INT(wa_frame_write_intro(&f1, NULL, 0), 0);
	CHECK_EQ_INT(wa_frame_write(&f1, m1.p, m1.len), 0);
	size_t n = hex(want, sizeof want, "57410603" "000024" "1222" "0a20"
		"7b4e909bbe7ffe44c465a220037d608ee35897d31ef972f07f74892cb0f73f13");
	CHECK_EQ_INT(f1.len, n);
	CHECK_EQ_MEM(f1.p, want, n);
	wa_noise_hs_hash(i, h);
	hex(want, 32, "6c9ea30317f933b43ebefedd04d07fa1428b9530c67179ef1189ce3a91089bae");
	CHECK_EQ_MEM(h, want, 32);

	CHECK_EQ_INT(wa_noise_hs_read_client_hello(r, m1.p, m1.len), 0);
	wa_noise_hs_hash(r, h);
	CHECK_EQ_MEM(h, want, 32);
	CHECK_EQ_INT(wa_noise_hs_write_server_hello(r, &m2), 0);
	wa_noise_hs_hash(r, h);
	hex(want, 32, "1fef56c89ced0df4c6541098d6aba36edef564697818bdedf78a0fb71996098d");
	CHECK_EQ_MEM(h, want, 32);
	/* frame 2 = 00006b 1a69 0a20 e_s 1230 c1 1a13 c2 */
	n = hex(want, sizeof want, "1a690a20"
		"7b0d47d93427f8311160781c7c733fd89f88970aef490d8aa0ee19a4cb8a1b14"
		"1230"
		"76c390387466635d58f0323bdcbe69099601a1a274074852c87a5a56adbc2200326ad89abf7d0428235760e33dfb7358"
		"1a13"
		"28fd879182770ac09cab0d0693d7ac902aab44");
	CHECK_EQ_INT(n, 0x6b);
	CHECK_EQ_INT(m2.len, n);
	CHECK_EQ_MEM(m2.p, want, n);

	/* our initiator decrypts it but rejects the placeholder certificate */
	CHECK_EQ_INT(wa_noise_hs_read_server_hello(i, m2.p, m2.len), WA_ENOISE_CERT);

	/* frame 3 as Baileys produced it: our responder accepts it */
	n = hex(buf, sizeof buf, "2252"
		"0a30"
		"b9cb19690dfcfb9a42e033388870388167c822982ffe1d4ef4c15a4d3e5d9d41636cba91a2ab0b659993f51b880df062"
		"121e"
		"48e381a218138bcf308a8b49b311be685cee54c6a2530b34a25e7165abff");
	CHECK_EQ_INT(n, 0x54);
	CHECK_EQ_INT(wa_noise_hs_read_client_finish(r, buf, n), 0);
	wa_noise_hs_hash(r, h);
	hex(want, 32, "231aac25abad6f2e7a9cade417660bc5fe88c5fb1c649b1d5a62c44d3c3a663e");
	CHECK_EQ_MEM(h, want, 32);
	const uint8_t *pl;
	size_t pl_len;
	CHECK_EQ_INT(wa_noise_hs_client_payload(r, &pl, &pl_len), 0);
	CHECK(pl_len == sizeof client_payload && memcmp(pl, client_payload, pl_len) == 0);
	uint8_t rs[32];
	CHECK_EQ_INT(wa_noise_hs_remote_static(r, rs), 0);
	CHECK_EQ_MEM(rs, s_c.pub, 32);

	/* transport frames of the vector, both directions */
	wa_noise_transport *t = NULL;
	CHECK_EQ_INT(wa_noise_hs_split(r, &t), 0);
	uint8_t ct[64], pt[64], wpt[64];
	n = hex(ct, sizeof ct, "1b6084c790a60e878962230952a730e30de595ce87d567c4251a7ad074d3b46b4a30db");
	CHECK_EQ_INT(n, 0x23);
	CHECK_EQ_INT(wa_noise_transport_decrypt(t, pt, ct, n), 0);
	size_t pn = hex(wpt, sizeof wpt, "00f80a19085511fa000304291657f801f80156");
	CHECK_EQ_MEM(pt, wpt, pn);
	pn = hex(wpt, sizeof wpt, "00f8034c1aff051700000000");
	CHECK_EQ_INT(wa_noise_transport_encrypt(t, ct, wpt, pn), 0);
	n = hex(want, sizeof want, "7351e6301f712cfb16251b721c9305a360b6a731232e2cf36838c2f5");
	CHECK_EQ_INT(n, pn + 16);
	CHECK_EQ_MEM(ct, want, n);
	wa_noise_transport_free(t);

	wa_rand_override(NULL, NULL);
	wa_noise_hs_free(i);
	wa_noise_hs_free(r);
	wa_writer_clear(&m1, false);
	wa_writer_clear(&f1, false);
	wa_writer_clear(&m2, false);
}

int main(void)
{
	wa_clock_override(fixed_clock, NULL);
	test_frames();
	test_transport();
	test_cert_chain();
	test_handshake_ok();
	test_handshake_cert_failures();
	test_handshake_tamper();
	test_vector();
	return check_exit("test_noise");
}
