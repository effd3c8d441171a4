/* src/signal unit tests: padding, pre-key ids and keys, 1:1 sessions both
 * ways between two wa_sig instances on two stores (pkmsg then msg),
 * duplicates, reordering, garbage, transactions, identity change, sender
 * keys. Deterministic: wa_rand_bytes is seeded (WA_SEED overrides). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "peer.h"
#include "signal/padding.h"

static char dir[256];

static void path_for(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s.db", dir, name);
}

static void test_padding(void)
{
	static const uint8_t hello[] = { 0x0a, 0x05, 'H', 'e', 'l', 'l', 'o' };
	uint8_t *out;
	size_t len, pt_len;
	/* messaging.md §12.3 (Baileys encodeWAMessage): pad byte 03 -> 4 x 04, ff -> 16 x 10 */
	CHECK_EQ_INT(wa_sig_pad_n(hello, sizeof hello, 4, &out, &len), 0);
	static const uint8_t v4[] = { 0x0a, 0x05, 'H', 'e', 'l', 'l', 'o', 4, 4, 4, 4 };
	CHECK_EQ_INT(len, sizeof v4);
	CHECK_EQ_MEM(out, v4, sizeof v4);
	CHECK_EQ_INT(wa_sig_unpad(out, len, &pt_len), 0);
	CHECK_EQ_INT(pt_len, sizeof hello);
	free(out);
	CHECK_EQ_INT(wa_sig_pad_n(hello, sizeof hello, 16, &out, &len), 0);
	CHECK_EQ_INT(len, sizeof hello + 16);
	CHECK(out[len - 1] == 0x10 && out[sizeof hello] == 0x10);
	free(out);
	CHECK_EQ_INT(wa_sig_pad_n(hello, sizeof hello, 0, &out, &len), WA_EINVAL);
	CHECK_EQ_INT(wa_sig_pad_n(hello, sizeof hello, 17, &out, &len), WA_EINVAL);

	/* strict unpad */
	static const uint8_t bad_mix[] = { 1, 2, 3, 2, 3 };     /* last 3, but 2 != 3 */
	static const uint8_t bad_zero[] = { 1, 2, 0 };
	static const uint8_t bad_big[] = { 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17 };
	static const uint8_t bad_long[] = { 3, 3 };              /* n > len */
	static const uint8_t ok_all[] = { 2, 2 };                /* empty plaintext */
	pt_len = 99;
	CHECK_EQ_INT(wa_sig_unpad(bad_mix, sizeof bad_mix, &pt_len), WA_EMALFORMED);
	CHECK_EQ_INT(wa_sig_unpad(bad_zero, sizeof bad_zero, &pt_len), WA_EMALFORMED);
	CHECK_EQ_INT(wa_sig_unpad(bad_big, sizeof bad_big, &pt_len), WA_EMALFORMED);
	CHECK_EQ_INT(wa_sig_unpad(bad_long, sizeof bad_long, &pt_len), WA_EMALFORMED);
	CHECK_EQ_INT(wa_sig_unpad(ok_all, 0, &pt_len), WA_EMALFORMED);
	CHECK_EQ_INT(pt_len, 99); /* untouched on failure */
	CHECK_EQ_INT(wa_sig_unpad(ok_all, sizeof ok_all, &pt_len), 0);
	CHECK_EQ_INT(pt_len, 0);

	/* random pad: every length 1..16 shows up, never anything else */
	int seen[17] = { 0 };
	for (int i = 0; i < 2000; i++) {
		CHECK_EQ_INT(wa_sig_pad(hello, sizeof hello, &out, &len), 0);
		size_t n = len - sizeof hello;
		CHECK(n >= 1 && n <= 16);
		if (n >= 1 && n <= 16)
			seen[n]++;
		CHECK_EQ_INT(wa_sig_unpad(out, len, &pt_len), 0);
		CHECK_EQ_MEM(out, hello, sizeof hello);
		free(out);
	}
	for (int n = 1; n <= 16; n++)
		CHECK(seen[n] > 0);
}

static void test_ids_and_keys(void)
{
	CHECK_EQ_INT(wa_sig_prekey_next_id(1), 2);
	CHECK_EQ_INT(wa_sig_prekey_next_id(0xFFFFFE), 0xFFFFFF);
	CHECK_EQ_INT(wa_sig_prekey_next_id(0xFFFFFF), 1);
	uint8_t b[3];
	uint32_t id = 0;
	wa_sig_key_id_encode(0x0A0B0C, b);
	CHECK(b[0] == 0x0A && b[1] == 0x0B && b[2] == 0x0C);
	CHECK_EQ_INT(wa_sig_key_id_decode(b, 3, &id), 0);
	CHECK_EQ_INT(id, 0x0A0B0C);
	CHECK_EQ_INT(wa_sig_key_id_decode(b, 2, &id), WA_EMALFORMED);
	static const uint8_t zero[3];
	CHECK_EQ_INT(wa_sig_key_id_decode(zero, 3, &id), WA_EMALFORMED);

	char path[300];
	path_for(path, sizeof path, "keys");
	test_peer p;
	/* pre-key ids wrap from 0xFFFFFF to 1 */
	CHECK_EQ_INT(test_peer_create(&p, path, "keys", 0xFFFFFE, 3), 0);
	if (!p.sig)
		return;
	CHECK_EQ_INT(p.pk[0].id, 0xFFFFFE);
	CHECK_EQ_INT(p.pk[1].id, 0xFFFFFF);
	CHECK_EQ_INT(p.pk[2].id, 1);
	bool ex = false;
	CHECK_EQ_INT(wa_store_prekey_exists(p.st, p.inst, 0xFFFFFF, &ex), 0);
	CHECK(ex);
	CHECK(wa_sig_registration_id(p.sig) >= 1 && wa_sig_registration_id(p.sig) <= 0x3FFF);
	CHECK(memcmp(p.pk[0].pub, p.pk[1].pub, 32) != 0);

	/* the signed pre-key signature is XEdDSA over 0x05||pub by the identity key */
	uint8_t ik[32];
	wa_sig_identity_public(p.sig, ik);
	CHECK_EQ_INT(wa_sig_signed_prekey_verify(ik, p.spk.pub, p.spk.sig), 0);
	uint8_t sig[64];
	memcpy(sig, p.spk.sig, 64);
	sig[5] ^= 1;
	CHECK_EQ_INT(wa_sig_signed_prekey_verify(ik, p.spk.pub, sig), WA_ESIG_VERIFY);
	CHECK_EQ_INT(wa_sig_signed_prekey_verify(p.spk.pub, p.spk.pub, p.spk.sig), WA_ESIG_VERIFY);

	wa_sig_prekey many[4];
	CHECK_EQ_INT(wa_sig_prekeys_generate(p.sig, 5, 0, many, NULL), WA_EINVAL);
	CHECK_EQ_INT(wa_sig_prekeys_generate(p.sig, 5, WA_SIG_MAX_PREKEY_BATCH + 1, many, NULL), WA_ETOOBIG);
	uint32_t next = 0;
	CHECK_EQ_INT(wa_sig_prekeys_generate(p.sig, 5, 4, many, &next), 0);
	CHECK_EQ_INT(next, 9);
	size_t count = 0;
	CHECK_EQ_INT(wa_store_prekey_count(p.st, p.inst, &count), 0);
	CHECK_EQ_INT(count, 7);
	test_peer_close(&p);
}

/* encrypt on a, decrypt on b, compare */
static int roundtrip(test_peer *a, const char *a_name, test_peer *b, const char *b_name,
		     const char *text, enum wa_sig_msg_type want)
{
	enum wa_sig_msg_type t = 0;
	uint8_t *ct = NULL, *pt = NULL;
	size_t ct_len = 0, pt_len = 0;
	int rc = wa_sig_encrypt(a->sig, b_name, 1, (const uint8_t *)text, strlen(text), &t, &ct, &ct_len);
	CHECK_EQ_INT(rc, 0);
	if (rc)
		return rc;
	CHECK_EQ_INT(t, want);
	rc = wa_sig_decrypt(b->sig, a_name, 1, t, ct, ct_len, &pt, &pt_len);
	CHECK_EQ_INT(rc, 0);
	if (rc == 0) {
		CHECK_EQ_INT(pt_len, strlen(text));
		CHECK_EQ_MEM(pt, text, pt_len);
	}
	free(ct);
	free(pt);
	return rc;
}

static int changes;
static char changed_name[64];
static void on_change(const char *name, int32_t device, void *user)
{
	(void)user;
	changes++;
	snprintf(changed_name, sizeof changed_name, "%s.%d", name, device);
}

static void test_sessions(void)
{
	char pa[300], pb[300], pc[300];
	path_for(pa, sizeof pa, "alice");
	path_for(pb, sizeof pb, "bob");
	path_for(pc, sizeof pc, "bob2");
	test_peer a, b;
	CHECK_EQ_INT(test_peer_create(&a, pa, "alice", 1, 4), 0);
	CHECK_EQ_INT(test_peer_create(&b, pb, "bob", 100, 4), 0);
	if (!a.sig || !b.sig)
		return;
	wa_sig_set_identity_callback(a.sig, on_change, NULL);

	enum wa_sig_msg_type t;
	uint8_t *ct = NULL, *pt = NULL;
	size_t ct_len, pt_len;
	/* no session yet */
	CHECK_EQ_INT(wa_sig_encrypt(a.sig, "bob", 1, (const uint8_t *)"x", 1, &t, &ct, &ct_len), WA_ESIG_NOSESSION);

	wa_sig_bundle bundle;
	test_peer_bundle(&b, 1, &bundle);
	wa_sig_bundle forged = bundle;
	forged.signed_prekey_sig[0] ^= 0x40;
	CHECK_EQ_INT(wa_sig_session_from_bundle(a.sig, "bob", 1, &forged), WA_ESIG_VERIFY);
	bool ex = true;
	CHECK_EQ_INT(wa_sig_session_exists(a.sig, "bob", 1, &ex), 0);
	CHECK(!ex);
	CHECK_EQ_INT(wa_sig_session_from_bundle(a.sig, "bob", 1, &bundle), 0);
	CHECK_EQ_INT(wa_sig_session_exists(a.sig, "bob", 1, &ex), 0);
	CHECK(ex);

	/* pkmsg until bob answers, and the one-time pre-key is consumed; a
	 * replayed pkmsg is a duplicate */
	CHECK_EQ_INT(wa_sig_encrypt(a.sig, "bob", 1, (const uint8_t *)"hello bob", 9, &t, &ct, &ct_len), 0);
	CHECK_EQ_INT(t, WA_SIG_TYPE_PKMSG);
	CHECK_EQ_INT(wa_sig_decrypt(b.sig, "alice", 1, t, ct, ct_len, &pt, &pt_len), 0);
	CHECK(pt_len == 9 && memcmp(pt, "hello bob", 9) == 0);
	free(pt);
	CHECK_EQ_INT(wa_sig_decrypt(b.sig, "alice", 1, t, ct, ct_len, &pt, &pt_len), WA_ESIG_DUPLICATE);
	free(ct);
	CHECK_EQ_INT(wa_store_prekey_exists(b.st, b.inst, bundle.prekey_id, &ex), 0);
	CHECK(!ex);
	CHECK_EQ_INT(roundtrip(&a, "alice", &b, "bob", "still pkmsg", WA_SIG_TYPE_PKMSG), 0);
	CHECK_EQ_INT(roundtrip(&b, "bob", &a, "alice", "hi alice", WA_SIG_TYPE_MSG), 0);
	CHECK_EQ_INT(roundtrip(&a, "alice", &b, "bob", "now msg", WA_SIG_TYPE_MSG), 0);
	for (int i = 0; i < 20; i++) {
		char m[32];
		snprintf(m, sizeof m, "ping %d", i);
		CHECK_EQ_INT(roundtrip(i % 3 ? &a : &b, i % 3 ? "alice" : "bob", i % 3 ? &b : &a,
				       i % 3 ? "bob" : "alice", m, WA_SIG_TYPE_MSG), 0);
	}

	/* out of order within the window, then duplicates rejected */
	uint8_t *cts[6];
	size_t lens[6];
	for (int i = 0; i < 6; i++) {
		char m[32];
		snprintf(m, sizeof m, "ooo %d", i);
		CHECK_EQ_INT(wa_sig_encrypt(a.sig, "bob", 1, (const uint8_t *)m, strlen(m), &t, &cts[i], &lens[i]), 0);
	}
	static const int order[6] = { 5, 2, 0, 4, 1, 3 };
	for (int k = 0; k < 6; k++) {
		int i = order[k];
		char m[32];
		snprintf(m, sizeof m, "ooo %d", i);
		CHECK_EQ_INT(wa_sig_decrypt(b.sig, "alice", 1, WA_SIG_TYPE_MSG, cts[i], lens[i], &pt, &pt_len), 0);
		CHECK(pt_len == strlen(m) && memcmp(pt, m, pt_len) == 0);
		free(pt);
		pt = NULL;
	}
	for (int i = 0; i < 6; i++) {
		pt = NULL;
		CHECK_EQ_INT(wa_sig_decrypt(b.sig, "alice", 1, WA_SIG_TYPE_MSG, cts[i], lens[i], &pt, &pt_len),
			     WA_ESIG_DUPLICATE);
		CHECK(pt == NULL);
	}
	/* a tampered copy of a used message is still a duplicate (its key is gone) */
	cts[0][lens[0] - 3] ^= 1;
	CHECK_EQ_INT(wa_sig_decrypt(b.sig, "alice", 1, WA_SIG_TYPE_MSG, cts[0], lens[0], &pt, &pt_len), WA_ESIG_DUPLICATE);
	CHECK_EQ_INT(wa_sig_decrypt(b.sig, "alice", 1, WA_SIG_TYPE_MSG, cts[0], 3, &pt, &pt_len), WA_ESIG_INVALID);
	CHECK_EQ_INT(wa_sig_decrypt(b.sig, "alice", 1, WA_SIG_TYPE_PKMSG, cts[1], lens[1], &pt, &pt_len), WA_ESIG_INVALID);
	for (int i = 0; i < 6; i++)
		free(cts[i]);
	/* a tampered fresh message fails its MAC, and the untampered one still
	 * decrypts afterwards: the failure saved nothing */
	CHECK_EQ_INT(wa_sig_encrypt(a.sig, "bob", 1, (const uint8_t *)"fresh", 5, &t, &ct, &ct_len), 0);
	for (size_t off = 0; off < ct_len; off += 7) {
		ct[off] ^= 0x20;
		pt = NULL;
		int rc = wa_sig_decrypt(b.sig, "alice", 1, WA_SIG_TYPE_MSG, ct, ct_len, &pt, &pt_len);
		CHECK(rc == WA_ESIG_INVALID || rc == WA_ESIG_DUPLICATE);
		CHECK(pt == NULL);
		ct[off] ^= 0x20;
	}
	CHECK_EQ_INT(wa_sig_decrypt(b.sig, "alice", 1, WA_SIG_TYPE_MSG, ct, ct_len, &pt, &pt_len), 0);
	CHECK(pt_len == 5 && memcmp(pt, "fresh", 5) == 0);
	free(pt);
	free(ct);
	CHECK_EQ_INT(roundtrip(&a, "alice", &b, "bob", "after garbage", WA_SIG_TYPE_MSG), 0);
	CHECK_EQ_INT(roundtrip(&b, "bob", &a, "alice", "reply", WA_SIG_TYPE_MSG), 0);

	/* unknown sender */
	CHECK_EQ_INT(wa_sig_encrypt(a.sig, "bob", 1, (const uint8_t *)"z", 1, &t, &ct, &ct_len), 0);
	CHECK_EQ_INT(wa_sig_decrypt(b.sig, "carol", 1, WA_SIG_TYPE_MSG, ct, ct_len, &pt, &pt_len), WA_ESIG_NOSESSION);
	/* caller's transaction rolled back: the ratchet step is undone, so the
	 * same ciphertext decrypts again afterwards (not a duplicate) */
	CHECK_EQ_INT(wa_store_begin(b.st), 0);
	CHECK_EQ_INT(wa_sig_decrypt(b.sig, "alice", 1, WA_SIG_TYPE_MSG, ct, ct_len, &pt, &pt_len), 0);
	free(pt);
	CHECK_EQ_INT(wa_store_rollback(b.st), 0);
	CHECK_EQ_INT(wa_store_begin(b.st), 0);
	CHECK_EQ_INT(wa_sig_decrypt(b.sig, "alice", 1, WA_SIG_TYPE_MSG, ct, ct_len, &pt, &pt_len), 0);
	CHECK(pt_len == 1 && pt[0] == 'z');
	free(pt);
	CHECK_EQ_INT(wa_store_commit(b.st), 0);
	CHECK_EQ_INT(wa_sig_decrypt(b.sig, "alice", 1, WA_SIG_TYPE_MSG, ct, ct_len, &pt, &pt_len), WA_ESIG_DUPLICATE);
	free(ct);

	/* state survives closing and reopening both stores */
	test_peer_close(&a);
	test_peer_close(&b);
	CHECK_EQ_INT(test_peer_open(&a, pa, "alice"), 0);
	CHECK_EQ_INT(test_peer_open(&b, pb, "bob"), 0);
	if (!a.sig || !b.sig)
		return;
	wa_sig_set_identity_callback(a.sig, on_change, NULL);
	CHECK_EQ_INT(roundtrip(&a, "alice", &b, "bob", "after restart", WA_SIG_TYPE_MSG), 0);
	CHECK_EQ_INT(roundtrip(&b, "bob", &a, "alice", "after restart 2", WA_SIG_TYPE_MSG), 0);
	CHECK_EQ_INT(changes, 0);

	/* bob reinstalls (new identity, same address): alice accepts the new
	 * pkmsg and reports the identity change once it has committed */
	test_peer b2;
	CHECK_EQ_INT(test_peer_create(&b2, pc, "bob", 1, 2), 0);
	if (b2.sig) {
		wa_sig_bundle ab;
		/* a's bundle: signed pre-key only (its one-time keys may be gone) */
		test_peer_bundle(&a, 0, &ab);
		CHECK_EQ_INT(wa_sig_session_from_bundle(b2.sig, "alice", 1, &ab), 0);
		CHECK_EQ_INT(roundtrip(&b2, "bob", &a, "alice", "new phone", WA_SIG_TYPE_PKMSG), 0);
		CHECK_EQ_INT(changes, 1);
		CHECK_EQ_STR(changed_name, "bob.1");
		CHECK_EQ_INT(roundtrip(&a, "alice", &b2, "bob", "welcome back", WA_SIG_TYPE_MSG), 0);
		test_peer_close(&b2);
	}
	/* a change inside a transaction the caller rolls back is undone: the
	 * callback runs, but the old key stays stored, so the redelivered
	 * message reports the change again once it really commits */
	char pd[300];
	path_for(pd, sizeof pd, "bob3");
	test_peer b3;
	CHECK_EQ_INT(test_peer_create(&b3, pd, "bob", 1, 1), 0);
	if (b3.sig) {
		wa_sig_bundle ab;
		test_peer_bundle(&a, 0, &ab);
		CHECK_EQ_INT(wa_sig_session_from_bundle(b3.sig, "alice", 1, &ab), 0);
		CHECK_EQ_INT(wa_sig_encrypt(b3.sig, "alice", 1, (const uint8_t *)"third", 5, &t, &ct, &ct_len), 0);
		uint8_t *old_key = NULL, *key = NULL;
		size_t old_len = 0, key_len = 0;
		CHECK_EQ_INT(wa_store_identity_load(a.st, a.inst, "bob", 1, &old_key, &old_len), 0);
		CHECK_EQ_INT(wa_store_begin(a.st), 0);
		CHECK_EQ_INT(wa_sig_decrypt(a.sig, "bob", 1, t, ct, ct_len, &pt, &pt_len), 0);
		free(pt);
		CHECK_EQ_INT(wa_store_rollback(a.st), 0);
		CHECK_EQ_INT(wa_store_identity_load(a.st, a.inst, "bob", 1, &key, &key_len), 0);
		CHECK(key_len == old_len && old_key && key && memcmp(key, old_key, key_len) == 0);
		wa_store_free(key, key_len);
		int before = changes;
		CHECK_EQ_INT(wa_sig_decrypt(a.sig, "bob", 1, t, ct, ct_len, &pt, &pt_len), 0);
		CHECK(pt_len == 5 && memcmp(pt, "third", 5) == 0);
		free(pt);
		free(ct);
		CHECK_EQ_INT(changes, before + 1);
		CHECK_EQ_INT(wa_store_identity_load(a.st, a.inst, "bob", 1, &key, &key_len), 0);
		CHECK(key_len == 33 && key && memcmp(key, old_key, key_len) != 0);
		wa_store_free(key, key_len);
		wa_store_free(old_key, old_len);
		test_peer_close(&b3);
	}
	test_peer_close(&a);
	test_peer_close(&b);
}

static void test_sender_keys(void)
{
	char pa[300], pb[300];
	path_for(pa, sizeof pa, "ga");
	path_for(pb, sizeof pb, "gb");
	test_peer a, b;
	CHECK_EQ_INT(test_peer_create(&a, pa, "ga", 1, 1), 0);
	CHECK_EQ_INT(test_peer_create(&b, pb, "gb", 1, 1), 0);
	if (!a.sig || !b.sig)
		return;
	const char *g = "120363000000000001@g.us";
	uint8_t *skdm, *ct, *pt;
	size_t skdm_len, ct_len, pt_len;
	CHECK_EQ_INT(wa_sig_group_encrypt(a.sig, g, "ga", 0, (const uint8_t *)"x", 1, &ct, &ct_len), WA_ESIG_NOSESSION);
	CHECK_EQ_INT(wa_sig_group_skdm(a.sig, g, "ga", 0, &skdm, &skdm_len), 0);
	CHECK(skdm_len > 0 && skdm[0] == 0x33);
	/* asking again returns the same key (same chain), not a new one */
	uint8_t *skdm2;
	size_t skdm2_len;
	CHECK_EQ_INT(wa_sig_group_skdm(a.sig, g, "ga", 0, &skdm2, &skdm2_len), 0);
	CHECK(skdm2_len == skdm_len && memcmp(skdm, skdm2, skdm_len) == 0);
	free(skdm2);
	CHECK_EQ_INT(wa_sig_group_process_skdm(b.sig, g, "ga", 0, skdm, 5), WA_ESIG_INVALID);
	CHECK_EQ_INT(wa_sig_group_process_skdm(b.sig, g, "ga", 0, skdm, skdm_len), 0);
	free(skdm);

	uint8_t *cts[5];
	size_t lens[5];
	for (int i = 0; i < 5; i++) {
		char m[32];
		snprintf(m, sizeof m, "group %d", i);
		CHECK_EQ_INT(wa_sig_group_encrypt(a.sig, g, "ga", 0, (const uint8_t *)m, strlen(m), &cts[i], &lens[i]), 0);
	}
	static const int order[5] = { 0, 3, 1, 4, 2 };
	for (int k = 0; k < 5; k++) {
		int i = order[k];
		char m[32];
		snprintf(m, sizeof m, "group %d", i);
		CHECK_EQ_INT(wa_sig_group_decrypt(b.sig, g, "ga", 0, cts[i], lens[i], &pt, &pt_len), 0);
		CHECK(pt_len == strlen(m) && memcmp(pt, m, pt_len) == 0);
		free(pt);
	}
	CHECK_EQ_INT(wa_sig_group_decrypt(b.sig, g, "ga", 0, cts[3], lens[3], &pt, &pt_len), WA_ESIG_DUPLICATE);
	/* wrong sender name / group: no sender key */
	CHECK_EQ_INT(wa_sig_group_decrypt(b.sig, g, "gx", 0, cts[3], lens[3], &pt, &pt_len), WA_ESIG_NOSESSION);
	CHECK_EQ_INT(wa_sig_group_decrypt(b.sig, "1@g.us", "ga", 0, cts[3], lens[3], &pt, &pt_len), WA_ESIG_NOSESSION);
	cts[4][10] ^= 1; /* signature check fails */
	CHECK_EQ_INT(wa_sig_group_decrypt(b.sig, g, "ga", 0, cts[4], lens[4], &pt, &pt_len), WA_ESIG_INVALID);
	for (int i = 0; i < 5; i++)
		free(cts[i]);
	CHECK_EQ_INT(wa_sig_group_encrypt(a.sig, g, "ga", 0, (const uint8_t *)"last", 4, &ct, &ct_len), 0);
	CHECK_EQ_INT(wa_sig_group_decrypt(b.sig, g, "ga", 0, ct, ct_len, &pt, &pt_len), 0);
	CHECK(pt_len == 4 && memcmp(pt, "last", 4) == 0);
	free(pt);
	free(ct);

	/* the other direction */
	CHECK_EQ_INT(wa_sig_group_skdm(b.sig, g, "gb", 0, &skdm, &skdm_len), 0);
	CHECK_EQ_INT(wa_sig_group_process_skdm(a.sig, g, "gb", 0, skdm, skdm_len), 0);
	free(skdm);
	CHECK_EQ_INT(wa_sig_group_encrypt(b.sig, g, "gb", 0, (const uint8_t *)"from b", 6, &ct, &ct_len), 0);
	CHECK_EQ_INT(wa_sig_group_decrypt(a.sig, g, "gb", 0, ct, ct_len, &pt, &pt_len), 0);
	CHECK(pt_len == 6 && memcmp(pt, "from b", 6) == 0);
	free(pt);
	free(ct);
	test_peer_close(&a);
	test_peer_close(&b);
}

static void test_type_names(void)
{
	enum wa_sig_msg_type t;
	CHECK_EQ_STR(wa_sig_type_name(WA_SIG_TYPE_PKMSG), "pkmsg");
	CHECK_EQ_INT(wa_sig_type_parse("msg", &t), 0);
	CHECK_EQ_INT(t, WA_SIG_TYPE_MSG);
	CHECK_EQ_INT(wa_sig_type_parse("skmsg", &t), 0);
	CHECK_EQ_INT(t, WA_SIG_TYPE_SKMSG);
	CHECK_EQ_INT(wa_sig_type_parse("msmsg", &t), WA_EMALFORMED);
}

static void rm_dir(void)
{
	static const char *names[] = { "keys", "alice", "bob", "bob2", "bob3", "ga", "gb" };
	static const char *sfx[] = { ".db", ".db-wal", ".db-shm", ".db-journal" };
	char p[320];
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		for (size_t j = 0; j < sizeof sfx / sizeof sfx[0]; j++) {
			snprintf(p, sizeof p, "%s/%s%s", dir, names[i], sfx[j]);
			unlink(p);
		}
	rmdir(dir);
}

int main(void)
{
	const char *seed_env = getenv("WA_SEED");
	uint64_t seed = seed_env ? strtoull(seed_env, NULL, 0) : 0x5157A1;
	printf("test_signal: WA_SEED=%llu\n", (unsigned long long)seed);
	test_rand_seed(seed);
	snprintf(dir, sizeof dir, "/tmp/wa_test_signal.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_type_names();
	test_padding();
	test_ids_and_keys();
	test_sessions();
	test_sender_keys();
	rm_dir();
	return check_exit("test_signal");
}
