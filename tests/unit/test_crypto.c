/* Known-answer tests for src/crypto (RFC 5869, RFC 4231, the GCM spec's
 * AES-256 cases, NIST SP 800-38A, RFC 7748) plus XEdDSA sign/verify and its
 * must-fail cases. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "crypto/crypto.h"
#include "util/seams.h"

/* Decodes a hex literal into buf (test data only; aborts on bad input). */
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

static void test_sha_hmac(void)
{
	uint8_t out[32], want[32];
	wa_sha256(out, "abc", 3);
	hex(want, 32, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	CHECK_EQ_MEM(out, want, 32);
	wa_sha256_2(out, "a", 1, "bc", 2);
	CHECK_EQ_MEM(out, want, 32);

	/* RFC 4231 test case 2 */
	const char *data = "what do ya want for nothing?";
	CHECK_EQ_INT(wa_hmac_sha256(out, "Jefe", 4, data, strlen(data)), 0);
	hex(want, 32, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	CHECK_EQ_MEM(out, want, 32);
}

static void test_hkdf(void)
{
	uint8_t ikm[22], salt[13], info[10], okm[42], want[42];
	memset(ikm, 0x0b, sizeof ikm);
	for (int i = 0; i < 13; i++)
		salt[i] = (uint8_t)i;
	for (int i = 0; i < 10; i++)
		info[i] = (uint8_t)(0xf0 + i);
	/* RFC 5869 A.1 */
	CHECK_EQ_INT(wa_hkdf_sha256(okm, 42, ikm, 22, salt, 13, info, 10), 0);
	hex(want, 42, "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
		"34007208d5b887185865");
	CHECK_EQ_MEM(okm, want, 42);
	/* RFC 5869 A.3: empty salt and info */
	CHECK_EQ_INT(wa_hkdf_sha256(okm, 42, ikm, 22, NULL, 0, NULL, 0), 0);
	hex(want, 42, "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
		"9d201395faa4b61a96c8");
	CHECK_EQ_MEM(okm, want, 42);
	/* empty ikm (the Noise Split) must work and equal HMAC-based expand */
	uint8_t a[64], b[64];
	CHECK_EQ_INT(wa_hkdf_sha256(a, 64, NULL, 0, salt, 13, NULL, 0), 0);
	uint8_t prk[32], t1[32];
	CHECK_EQ_INT(wa_hmac_sha256(prk, salt, 13, NULL, 0), 0);
	uint8_t one = 1;
	CHECK_EQ_INT(wa_hmac_sha256(t1, prk, 32, &one, 1), 0);
	memcpy(b, t1, 32);
	CHECK_EQ_MEM(a, b, 32);
	/* limits */
	CHECK_EQ_INT(wa_hkdf_sha256(okm, 0, ikm, 22, NULL, 0, NULL, 0), WA_EINVAL);
	CHECK_EQ_INT(wa_hkdf_sha256(okm, WA_HKDF_MAX_OUT + 1, ikm, 22, NULL, 0, NULL, 0), WA_EINVAL);
}

static void test_gcm(void)
{
	uint8_t key[32], iv[12], pt[64], aad[20], ct[80], want[80], back[64];
	/* "The Galois/Counter Mode of Operation" test case 16 (AES-256) */
	hex(key, 32, "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
	hex(iv, 12, "cafebabefacedbaddecaf888");
	size_t pl = hex(pt, 64, "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
		"1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39");
	hex(aad, 20, "feedfacedeadbeeffeedfacedeadbeefabaddad2");
	size_t wl = hex(want, 80, "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
		"8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
		"76fc6ece0f4e1768cddf8853bb2d551b");
	CHECK_EQ_INT(wl, pl + 16);
	CHECK_EQ_INT(wa_aes_gcm_encrypt(ct, key, iv, aad, 20, pt, pl), 0);
	CHECK_EQ_MEM(ct, want, wl);
	CHECK_EQ_INT(wa_aes_gcm_decrypt(back, key, iv, aad, 20, ct, wl), 0);
	CHECK_EQ_MEM(back, pt, pl);
	/* in place */
	uint8_t inplace[80];
	memcpy(inplace, ct, wl);
	CHECK_EQ_INT(wa_aes_gcm_decrypt(inplace, key, iv, aad, 20, inplace, wl), 0);
	CHECK_EQ_MEM(inplace, pt, pl);
	/* must-fail: tampered ciphertext, tag, aad; too short */
	ct[3] ^= 1;
	CHECK_EQ_INT(wa_aes_gcm_decrypt(back, key, iv, aad, 20, ct, wl), WA_ECRYPTO);
	ct[3] ^= 1;
	ct[wl - 1] ^= 0x80;
	CHECK_EQ_INT(wa_aes_gcm_decrypt(back, key, iv, aad, 20, ct, wl), WA_ECRYPTO);
	ct[wl - 1] ^= 0x80;
	CHECK_EQ_INT(wa_aes_gcm_decrypt(back, key, iv, aad, 19, ct, wl), WA_ECRYPTO);
	CHECK_EQ_INT(wa_aes_gcm_decrypt(back, key, iv, aad, 20, ct, 15), WA_EMALFORMED);

	/* test case 13/14: zero key and IV, empty and one-block plaintext */
	memset(key, 0, 32);
	memset(iv, 0, 12);
	CHECK_EQ_INT(wa_aes_gcm_encrypt(ct, key, iv, NULL, 0, NULL, 0), 0);
	hex(want, 16, "530f8afbc74536b9a963b4f1c4cb738b");
	CHECK_EQ_MEM(ct, want, 16);
	CHECK_EQ_INT(wa_aes_gcm_decrypt(back, key, iv, NULL, 0, ct, 16), 0);
	memset(pt, 0, 16);
	CHECK_EQ_INT(wa_aes_gcm_encrypt(ct, key, iv, NULL, 0, pt, 16), 0);
	hex(want, 32, "cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919");
	CHECK_EQ_MEM(ct, want, 32);
}

static void test_cbc_ctr(void)
{
	uint8_t key[32], iv[16], pt[32], out[48], want[32], back[48];
	/* NIST SP 800-38A F.2.5 (CBC-AES256), first two blocks */
	hex(key, 32, "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4");
	hex(iv, 16, "000102030405060708090a0b0c0d0e0f");
	hex(pt, 32, "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51");
	hex(want, 32, "f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d");
	CHECK_EQ_INT(wa_aes_cbc_padded_len(32), 48);
	CHECK_EQ_INT(wa_aes_cbc_padded_len(31), 32);
	CHECK_EQ_INT(wa_aes_cbc_encrypt(out, key, iv, pt, 32), 0);
	CHECK_EQ_MEM(out, want, 32);
	size_t n = 0;
	CHECK_EQ_INT(wa_aes_cbc_decrypt(back, &n, key, iv, out, 48), 0);
	CHECK_EQ_INT(n, 32);
	CHECK_EQ_MEM(back, pt, 32);
	CHECK_EQ_INT(wa_aes_cbc_encrypt(out, key, iv, pt, 5), 0);
	CHECK_EQ_INT(wa_aes_cbc_decrypt(back, &n, key, iv, out, 16), 0);
	CHECK_EQ_INT(n, 5);
	CHECK_EQ_MEM(back, pt, 5);
	CHECK_EQ_INT(wa_aes_cbc_decrypt(back, &n, key, iv, out, 15), WA_EMALFORMED);
	CHECK_EQ_INT(wa_aes_cbc_decrypt(back, &n, key, iv, out, 0), WA_EMALFORMED);
	/* a final block of garbage almost never has valid padding: flip the
	 * last byte of the only block's predecessor (the IV) to make pad 0x0b
	 * become 0x0a, which leaves inconsistent pad bytes */
	uint8_t iv2[16];
	memcpy(iv2, iv, 16);
	iv2[15] ^= 0x01;
	CHECK_EQ_INT(wa_aes_cbc_decrypt(back, &n, key, iv2, out, 16), WA_ECRYPTO);

	/* NIST SP 800-38A F.5.5 (CTR-AES256), first two blocks */
	hex(iv, 16, "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
	hex(want, 32, "601ec313775789a5b7a7f504bbf3d228f443e3ca4d62b59aca84e990cacaf5c5");
	CHECK_EQ_INT(wa_aes_ctr(out, key, iv, pt, 32), 0);
	CHECK_EQ_MEM(out, want, 32);
	CHECK_EQ_INT(wa_aes_ctr(back, key, iv, out, 32), 0);
	CHECK_EQ_MEM(back, pt, 32);
}

static void test_x25519(void)
{
	uint8_t a[32], b[32], apub[32], bpub[32], want[32], s1[32], s2[32];
	/* RFC 7748 §6.1 */
	hex(a, 32, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
	hex(b, 32, "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
	wa_x25519_public(apub, a);
	wa_x25519_public(bpub, b);
	hex(want, 32, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
	CHECK_EQ_MEM(apub, want, 32);
	hex(want, 32, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
	CHECK_EQ_MEM(bpub, want, 32);
	CHECK_EQ_INT(wa_x25519_dh(s1, a, bpub), 0);
	CHECK_EQ_INT(wa_x25519_dh(s2, b, apub), 0);
	hex(want, 32, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
	CHECK_EQ_MEM(s1, want, 32);
	CHECK_EQ_MEM(s2, want, 32);
	/* low-order point (zero) gives an all-zero secret: refused */
	uint8_t zero[32] = { 0 };
	memcpy(s1, want, 32);
	CHECK_EQ_INT(wa_x25519_dh(s1, a, zero), WA_ECRYPTO);
	CHECK_EQ_MEM(s1, want, 32); /* untouched */

	/* key pairs are stored clamped (transport-and-pairing.md §2.6 e_c) */
	wa_keypair kp;
	uint8_t raw[32];
	memset(raw, 0x11, 32);
	wa_keypair_from_private(&kp, raw);
	CHECK_EQ_INT(kp.priv[0], 0x10);
	CHECK_EQ_INT(kp.priv[31], 0x51);
	hex(want, 32, "7b4e909bbe7ffe44c465a220037d608ee35897d31ef972f07f74892cb0f73f13");
	CHECK_EQ_MEM(kp.pub, want, 32);
	wa_keypair_generate(&kp);
	CHECK_EQ_INT(kp.priv[0] & 7, 0);
	CHECK_EQ_INT(kp.priv[31] & 0xc0, 0x40);
	wa_x25519_public(want, kp.priv);
	CHECK_EQ_MEM(kp.pub, want, 32);
	wa_keypair_clear(&kp);
	uint8_t zeros[sizeof kp] = { 0 };
	CHECK_EQ_MEM(&kp, zeros, sizeof kp);
}

static void test_xeddsa(void)
{
	wa_keypair kp, other;
	wa_keypair_generate(&kp);
	wa_keypair_generate(&other);
	uint8_t msg[300];
	for (size_t i = 0; i < sizeof msg; i++)
		msg[i] = (uint8_t)(i * 7);
	uint8_t sig[64];
	CHECK_EQ_INT(wa_xeddsa_sign(sig, kp.priv, msg, 33), 0);
	CHECK_EQ_INT(wa_xeddsa_verify(kp.pub, msg, 33, sig), 0);
	CHECK_EQ_INT(wa_xeddsa_verify(other.pub, msg, 33, sig), WA_ESIG_VERIFY);
	CHECK_EQ_INT(wa_xeddsa_verify(kp.pub, msg, 32, sig), WA_ESIG_VERIFY);
	msg[0] ^= 1;
	CHECK_EQ_INT(wa_xeddsa_verify(kp.pub, msg, 33, sig), WA_ESIG_VERIFY);
	msg[0] ^= 1;
	for (int i = 0; i < 64; i += 9) {
		sig[i] ^= 0x04;
		CHECK_EQ_INT(wa_xeddsa_verify(kp.pub, msg, 33, sig), WA_ESIG_VERIFY);
		sig[i] ^= 0x04;
	}
	CHECK_EQ_INT(wa_xeddsa_verify(kp.pub, msg, 33, sig), 0);
	/* longer than the 256-byte limit old curve25519_sign builds had */
	CHECK_EQ_INT(wa_xeddsa_sign(sig, kp.priv, msg, sizeof msg), 0);
	CHECK_EQ_INT(wa_xeddsa_verify(kp.pub, msg, sizeof msg, sig), 0);
	/* empty message */
	CHECK_EQ_INT(wa_xeddsa_sign(sig, kp.priv, NULL, 0), 0);
	CHECK_EQ_INT(wa_xeddsa_verify(kp.pub, NULL, 0, sig), 0);
	/* an unclamped private key signs for the same public key */
	uint8_t unclamped[32];
	memcpy(unclamped, kp.priv, 32);
	unclamped[0] |= 7;
	unclamped[31] |= 0x80;
	CHECK_EQ_INT(wa_xeddsa_sign(sig, unclamped, msg, 10), 0);
	CHECK_EQ_INT(wa_xeddsa_verify(kp.pub, msg, 10, sig), 0);
	wa_keypair_clear(&kp);
	wa_keypair_clear(&other);
}

int main(void)
{
	test_sha_hmac();
	test_hkdf();
	test_gcm();
	test_cbc_ctr();
	test_x25519();
	test_xeddsa();
	return check_exit("test_crypto");
}
