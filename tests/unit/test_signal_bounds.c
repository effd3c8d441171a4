/* src/signal: what the speed work must not break, and the bounds the
 * benchmark issue states for a stored session record.
 *  - provider: HKDF through our HMAC (pooled digest contexts) equals
 *    OpenSSL's own HKDF for salts (= HMAC keys) of 1..200 bytes: short, one
 *    block and longer-than-a-block keys, plus RFC 5869 A.2; the HMAC context
 *    pool stays bounded.
 *  - record bounds (libsignal-protocol-c's, checked on the stored bytes):
 *    at most 5 receiver chains, 40 archived states, 2,000 skipped message
 *    keys per chain; a message more than 2,000 ahead is refused; past one
 *    full chain the store's record cap (256 KiB) refuses the save cleanly.
 *  - batched receive: decrypts inside one outer transaction that is rolled
 *    back (a crash before the group commit) leave the ratchet where it was,
 *    so every message decrypts again; after the commit they are duplicates.
 * Deterministic: wa_rand_bytes is seeded. */
#include <hkdf.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/kdf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "peer.h"
#include "signal/internal.h"
#include "signal/provider.h"

static char dir[256];

/* ---- provider ---- */

static int openssl_hkdf(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt, size_t salt_len,
			const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *c = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	EVP_KDF_free(kdf);
	if (!c)
		return -1;
	OSSL_PARAM p[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len),
		OSSL_PARAM_construct_end(),
	};
	int rc = EVP_KDF_derive(c, out, out_len, p) == 1 ? 0 : -1;
	EVP_KDF_CTX_free(c);
	return rc;
}

static void test_provider_hkdf(void)
{
	wa_sig_provider *prov = NULL;
	signal_context *g = NULL;
	CHECK_EQ_INT(wa_sig_provider_new(&prov), 0);
	CHECK_EQ_INT(signal_context_create(&g, NULL), 0);
	if (!prov || !g)
		goto out;
	CHECK_EQ_INT(wa_sig_provider_install(g, prov), 0);
	hkdf_context *h = NULL;
	CHECK_EQ_INT(hkdf_create(&h, 3, g), 0); /* version 3: RFC 5869 counting */
	if (!h)
		goto out;
	static const size_t salt_lens[] = { 1, 13, 32, 63, 64, 65, 80, 200 };
	uint8_t ikm[80], salt[200], info[80];
	for (size_t i = 0; i < sizeof ikm; i++)
		ikm[i] = (uint8_t)i;
	for (size_t i = 0; i < sizeof salt; i++)
		salt[i] = (uint8_t)(0x60 + i);
	for (size_t i = 0; i < sizeof info; i++)
		info[i] = (uint8_t)(0xb0 + i);
	for (size_t k = 0; k < sizeof salt_lens / sizeof salt_lens[0]; k++) {
		size_t sl = salt_lens[k];
		uint8_t *ours = NULL, want[82];
		ssize_t n = hkdf_derive_secrets(h, &ours, ikm, sizeof ikm, salt, sl, info, sizeof info, sizeof want);
		CHECK_EQ_INT(n, (ssize_t)sizeof want);
		CHECK_EQ_INT(openssl_hkdf(ikm, sizeof ikm, salt, sl, info, sizeof info, want, sizeof want), 0);
		if (ours && n == (ssize_t)sizeof want)
			CHECK_EQ_MEM(ours, want, sizeof want);
		free(ours);
		/* libsignal holds one HMAC at a time: one context serves them all */
		CHECK(wa_sig_provider_pooled(prov) >= 1 && wa_sig_provider_pooled(prov) <= 2);
	}
	/* RFC 5869 A.2 (80-byte salt: the HMAC key is hashed first) */
	static const uint8_t a2[82] = {
		0xb1, 0x1e, 0x39, 0x8d, 0xc8, 0x03, 0x27, 0xa1, 0xc8, 0xe7, 0xf7, 0x8c, 0x59, 0x6a, 0x49, 0x34,
		0x4f, 0x01, 0x2e, 0xda, 0x2d, 0x4e, 0xfa, 0xd8, 0xa0, 0x50, 0xcc, 0x4c, 0x19, 0xaf, 0xa9, 0x7c,
		0x59, 0x04, 0x5a, 0x99, 0xca, 0xc7, 0x82, 0x72, 0x71, 0xcb, 0x41, 0xc6, 0x5e, 0x59, 0x0e, 0x09,
		0xda, 0x32, 0x75, 0x60, 0x0c, 0x2f, 0x09, 0xb8, 0x36, 0x77, 0x93, 0xa9, 0xac, 0xa3, 0xdb, 0x71,
		0xcc, 0x30, 0xc5, 0x81, 0x79, 0xec, 0x3e, 0x87, 0xc1, 0x4c, 0x01, 0xd5, 0xc1, 0xf3, 0x43, 0x4f,
		0x1d, 0x87,
	};
	uint8_t *ours = NULL;
	CHECK_EQ_INT(hkdf_derive_secrets(h, &ours, ikm, sizeof ikm, salt, 80, info, sizeof info, sizeof a2),
		     (ssize_t)sizeof a2);
	if (ours)
		CHECK_EQ_MEM(ours, a2, sizeof a2);
	free(ours);
	SIGNAL_UNREF(h);
out:
	if (g)
		signal_context_destroy(g);
	wa_sig_provider_free(prov);
}

/* ---- a minimal protobuf walk over the stored record ----
 * LocalStorageProtocol.proto: RecordStructure { currentSession = 1;
 * repeated previousSessions = 2 }, SessionStructure { repeated
 * receiverChains = 7 }, Chain { repeated messageKeys = 4 }. */

struct pb {
	const uint8_t *p, *end;
};

static int pb_varint(struct pb *r, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; shift < 64 && r->p < r->end; shift += 7) {
		uint8_t b = *r->p++;
		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return 0;
	}
	return -1;
}

/* Next field: its number and, for length-delimited ones, the bytes. */
static int pb_next(struct pb *r, unsigned *field, struct pb *sub)
{
	uint64_t key, v;
	if (pb_varint(r, &key))
		return -1;
	*field = (unsigned)(key >> 3);
	sub->p = sub->end = NULL;
	switch (key & 7) {
	case 0: return pb_varint(r, &v);
	case 1: if (r->end - r->p < 8) return -1; r->p += 8; return 0;
	case 5: if (r->end - r->p < 4) return -1; r->p += 4; return 0;
	case 2:
		if (pb_varint(r, &v) || v > (uint64_t)(r->end - r->p))
			return -1;
		sub->p = r->p;
		sub->end = r->p + v;
		r->p += v;
		return 0;
	default: return -1;
	}
}

/* Counts the fields numbered `field` directly inside m; -1 if malformed. */
static long pb_count(struct pb m, unsigned field)
{
	long n = 0;
	unsigned f;
	struct pb sub;
	while (m.p < m.end) {
		if (pb_next(&m, &f, &sub))
			return -1;
		n += f == field;
	}
	return n;
}

struct record_shape {
	long previous;       /* archived states */
	long receiver_chains; /* in the current state */
	long max_keys;        /* most skipped message keys in one chain, any state */
	size_t bytes;
};

static int record_shape(test_peer *p, const char *name, struct record_shape *out)
{
	uint8_t *rec;
	size_t len;
	int rc = wa_store_session_load(p->st, p->inst, name, 0, &rec, &len);
	if (rc)
		return rc;
	memset(out, 0, sizeof *out);
	out->bytes = len;
	struct pb top = { rec, rec + len }, r = top, s;
	unsigned f;
	rc = WA_EMALFORMED;
	out->previous = pb_count(top, 2);
	while (r.p < r.end) {
		if (pb_next(&r, &f, &s))
			goto out;
		if (f != 1 && f != 2)
			continue;
		if (f == 1)
			out->receiver_chains = pb_count(s, 7);
		struct pb st = s, ch;
		unsigned g;
		while (st.p < st.end) {
			if (pb_next(&st, &g, &ch))
				goto out;
			if (g == 6 || g == 7) {
				long k = pb_count(ch, 4);
				if (k < 0)
					goto out;
				if (k > out->max_keys)
					out->max_keys = k;
			}
		}
	}
	rc = out->previous < 0 || out->receiver_chains < 0 ? WA_EMALFORMED : 0;
out:
	wa_store_free(rec, len);
	return rc;
}

/* ---- sessions ---- */

static int send_one(test_peer *from, const char *to_name, uint8_t **ct, size_t *ct_len, enum wa_sig_msg_type *t)
{
	static unsigned counter;
	char text[32];
	snprintf(text, sizeof text, "m%u", ++counter);
	return wa_sig_encrypt(from->sig, to_name, 0, (const uint8_t *)text, strlen(text), t, ct, ct_len);
}

static int deliver(test_peer *from, const char *from_name, test_peer *to, const char *to_name)
{
	uint8_t *ct = NULL, *pt = NULL;
	size_t ct_len, pt_len;
	enum wa_sig_msg_type t;
	int rc = send_one(from, to_name, &ct, &ct_len, &t);
	if (!rc)
		rc = wa_sig_decrypt(to->sig, from_name, 0, t, ct, ct_len, &pt, &pt_len);
	free(ct);
	free(pt);
	return rc;
}

/* Encrypts n messages from -> to_name in one transaction, keeps the last. */
static int encrypt_burst(test_peer *from, const char *to_name, int n, uint8_t **last, size_t *last_len)
{
	int rc = wa_store_begin(from->st);
	for (int i = 0; rc == 0 && i < n; i++) {
		uint8_t *ct = NULL;
		size_t ct_len;
		enum wa_sig_msg_type t;
		rc = send_one(from, to_name, &ct, &ct_len, &t);
		if (rc == 0 && i == n - 1) {
			*last = ct;
			*last_len = ct_len;
		} else {
			free(ct);
		}
	}
	if (rc == 0)
		return wa_store_commit(from->st);
	(void)wa_store_rollback(from->st);
	return rc;
}

static void pair(test_peer *a, test_peer *b, const char *tag)
{
	char pa[320], pb[320];
	snprintf(pa, sizeof pa, "%s/%s-a.db", dir, tag);
	snprintf(pb, sizeof pb, "%s/%s-b.db", dir, tag);
	CHECK_EQ_INT(test_peer_create(a, pa, "alice", 1, 2), 0);
	CHECK_EQ_INT(test_peer_create(b, pb, "bob", 100, 2), 0);
	wa_sig_bundle bb;
	test_peer_bundle(b, 1, &bb);
	CHECK_EQ_INT(wa_sig_session_from_bundle(a->sig, "bob", 0, &bb), 0);
	CHECK_EQ_INT(deliver(a, "alice", b, "bob"), 0);
	CHECK_EQ_INT(deliver(b, "bob", a, "alice"), 0);
}

static void test_receiver_chains(void)
{
	test_peer a, b;
	pair(&a, &b, "chains");
	/* every turn of direction opens a receiver chain on the receiving side */
	for (int i = 0; i < 24; i++)
		CHECK_EQ_INT(i % 2 ? deliver(&b, "bob", &a, "alice") : deliver(&a, "alice", &b, "bob"), 0);
	struct record_shape ra, rb;
	CHECK_EQ_INT(record_shape(&a, "bob", &ra), 0);
	CHECK_EQ_INT(record_shape(&b, "alice", &rb), 0);
	/* 12+ chains were opened on each side; 5 are kept */
	CHECK_EQ_INT(ra.receiver_chains, 5);
	CHECK_EQ_INT(rb.receiver_chains, 5);
	CHECK(ra.bytes < 2048 && rb.bytes < 2048);
	test_peer_close(&a);
	test_peer_close(&b);
}

static void test_skipped_keys(void)
{
	test_peer a, b;
	pair(&a, &b, "skip");
	uint8_t *last = NULL, *pt = NULL;
	size_t last_len = 0, pt_len;
	/* 1,500 lost, the next one arrives: 1,500 keys kept for the lost ones */
	CHECK_EQ_INT(encrypt_burst(&a, "bob", 1501, &last, &last_len), 0);
	CHECK_EQ_INT(wa_sig_decrypt(b.sig, "alice", 0, WA_SIG_TYPE_MSG, last, last_len, &pt, &pt_len), 0);
	free(last);
	free(pt);
	struct record_shape r;
	CHECK_EQ_INT(record_shape(&b, "alice", &r), 0);
	CHECK_EQ_INT(r.max_keys, 1500);
	/* 1,500 more lost in the same chain: capped at 2,000, oldest dropped */
	last = NULL;
	pt = NULL;
	CHECK_EQ_INT(encrypt_burst(&a, "bob", 1501, &last, &last_len), 0);
	CHECK_EQ_INT(wa_sig_decrypt(b.sig, "alice", 0, WA_SIG_TYPE_MSG, last, last_len, &pt, &pt_len), 0);
	free(last);
	free(pt);
	CHECK_EQ_INT(record_shape(&b, "alice", &r), 0);
	CHECK_EQ_INT(r.max_keys, 2000);
	CHECK(r.bytes < WA_STORE_MAX_RECORD);
	/* more than 2,000 ahead of the chain: refused, nothing stored */
	last = NULL;
	pt = NULL;
	CHECK_EQ_INT(encrypt_burst(&a, "bob", 2002, &last, &last_len), 0);
	CHECK(wa_sig_decrypt(b.sig, "alice", 0, WA_SIG_TYPE_MSG, last, last_len, &pt, &pt_len) < 0);
	free(last);
	struct record_shape r2;
	CHECK_EQ_INT(record_shape(&b, "alice", &r2), 0);
	CHECK_EQ_INT(r2.max_keys, 2000);
	test_peer_close(&a);
	test_peer_close(&b);
}

/* libsignal's 2,000 skipped keys are per receiver chain (5 chains, and 40
 * archived states with their own): one full chain is ~186 KB of record, so
 * the store's WA_STORE_MAX_RECORD (256 KiB) is what bounds the record. A
 * second full chain makes the save fail: the decrypt reports WA_ETOOBIG,
 * nothing is stored and the keys of the first chain still work. Only the
 * peer who skips thousands of its own messages is hurt. */
static void test_record_cap(void)
{
	test_peer a, b;
	pair(&a, &b, "cap");
	uint8_t *lost = NULL, *last = NULL, *pt = NULL;
	size_t lost_len = 0, last_len = 0, pt_len;
	enum wa_sig_msg_type t;
	/* first chain: keep the first ciphertext, lose 2,000, deliver the next */
	CHECK_EQ_INT(send_one(&a, "bob", &lost, &lost_len, &t), 0);
	CHECK_EQ_INT(encrypt_burst(&a, "bob", 2000, &last, &last_len), 0);
	CHECK_EQ_INT(wa_sig_decrypt(b.sig, "alice", 0, WA_SIG_TYPE_MSG, last, last_len, &pt, &pt_len), 0);
	free(last);
	free(pt);
	struct record_shape r;
	CHECK_EQ_INT(record_shape(&b, "alice", &r), 0);
	CHECK_EQ_INT(r.max_keys, 2000);
	CHECK(r.bytes > 150000 && r.bytes < WA_STORE_MAX_RECORD);
	/* a reply turns the ratchet: alice's next messages open a new chain */
	CHECK_EQ_INT(deliver(&b, "bob", &a, "alice"), 0);
	last = NULL;
	pt = NULL;
	CHECK_EQ_INT(encrypt_burst(&a, "bob", 2001, &last, &last_len), 0);
	CHECK_EQ_INT(wa_sig_decrypt(b.sig, "alice", 0, WA_SIG_TYPE_MSG, last, last_len, &pt, &pt_len), WA_ETOOBIG);
	free(last);
	struct record_shape r2;
	CHECK_EQ_INT(record_shape(&b, "alice", &r2), 0);
	CHECK_EQ_INT(r2.bytes, r.bytes);
	/* the first chain's skipped key was not lost with the failed save */
	pt = NULL;
	CHECK_EQ_INT(wa_sig_decrypt(b.sig, "alice", 0, t, lost, lost_len, &pt, &pt_len), 0);
	free(pt);
	free(lost);
	test_peer_close(&a);
	test_peer_close(&b);
}

static void test_archived_states(void)
{
	test_peer a, b;
	pair(&a, &b, "archive");
	wa_sig_bundle bb;
	/* each new session from a bundle archives the current state */
	test_peer_bundle(&b, 0, &bb);
	for (int i = 0; i < 45; i++)
		CHECK_EQ_INT(wa_sig_session_from_bundle(a.sig, "bob", 0, &bb), 0);
	struct record_shape r;
	CHECK_EQ_INT(record_shape(&a, "bob", &r), 0);
	CHECK_EQ_INT(r.previous, 40);
	CHECK(r.bytes < WA_STORE_MAX_RECORD);
	test_peer_close(&a);
	test_peer_close(&b);
}

/* Group commit: a drain decrypts many messages in one transaction and sends
 * the receipts after its commit. A crash before that commit must leave
 * every message decryptable again (the server redelivers them). */
static void test_batched_receive(void)
{
	test_peer a, b;
	pair(&a, &b, "batch");
	enum { N = 10 };
	uint8_t *ct[N] = { 0 };
	size_t ct_len[N];
	enum wa_sig_msg_type t[N];
	for (int i = 0; i < N; i++)
		CHECK_EQ_INT(send_one(&a, "bob", &ct[i], &ct_len[i], &t[i]), 0);
	for (int round = 0; round < 2; round++) {
		CHECK_EQ_INT(wa_store_begin(b.st), 0);
		for (int i = 0; i < N; i++) {
			uint8_t *pt = NULL;
			size_t pt_len;
			CHECK_EQ_INT(wa_sig_decrypt(b.sig, "alice", 0, t[i], ct[i], ct_len[i], &pt, &pt_len), 0);
			free(pt);
			CHECK_EQ_INT(wa_store_tx_depth(b.st), 1); /* each decrypt closed its savepoint */
		}
		if (round == 0)
			CHECK_EQ_INT(wa_store_rollback(b.st), 0); /* the crash before the group commit */
		else
			CHECK_EQ_INT(wa_store_commit(b.st), 0);
	}
	/* committed: redelivery is a duplicate, the ratchet never goes back */
	uint8_t *pt = NULL;
	size_t pt_len;
	CHECK_EQ_INT(wa_sig_decrypt(b.sig, "alice", 0, t[0], ct[0], ct_len[0], &pt, &pt_len), WA_ESIG_DUPLICATE);
	for (int i = 0; i < N; i++)
		free(ct[i]);
	test_peer_close(&a);
	test_peer_close(&b);
}

static void rm_dir(void)
{
	static const char *tags[] = { "chains", "skip", "cap", "archive", "batch" };
	static const char *sides[] = { "a", "b" };
	static const char *sfx[] = { ".db", ".db-wal", ".db-shm", ".db-journal" };
	char p[400];
	for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++)
		for (size_t s = 0; s < 2; s++)
			for (size_t j = 0; j < sizeof sfx / sizeof sfx[0]; j++) {
				snprintf(p, sizeof p, "%s/%s-%s%s", dir, tags[i], sides[s], sfx[j]);
				unlink(p);
			}
	rmdir(dir);
}

int main(void)
{
	const char *seed_env = getenv("WA_SEED");
	uint64_t seed = seed_env ? strtoull(seed_env, NULL, 0) : 0xB0B05;
	printf("test_signal_bounds: WA_SEED=%llu\n", (unsigned long long)seed);
	test_rand_seed(seed);
	snprintf(dir, sizeof dir, "/tmp/wa_test_signal_bounds.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_provider_hkdf();
	test_receiver_chains();
	test_skipped_keys();
	test_record_cap();
	test_archived_states();
	test_batched_receive();
	rm_dir();
	return check_exit("test_signal_bounds");
}
