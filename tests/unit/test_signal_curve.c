/* The libsodium X25519 that replaces libsignal-protocol-c's curve25519_donna
 * (src/signal/curve_fast.c) must be in effect and give byte-identical
 * results to the library's own implementation, found behind ours with
 * dlsym(RTLD_NEXT), on random inputs and on the edge cases where
 * implementations differ: small-order points, non-canonical u >= p, the
 * top bit set, all-zero and all-one (unclamped: the fallback) scalars. Plus RFC 7748 §5.2 vectors.
 * Base-point multiplications (key generation, the Edwards-table route)
 * against libsodium's ladder on 20,000 random and edge clamped scalars.
 * The libsodium signature and verification that replace curve25519_sign
 * and curve25519_verify: ours verify with the library's verifier, and
 * both verifiers give the same verdicts on valid, changed and random
 * signatures. */
#include "check.h"

#include <dlfcn.h>
#include <sodium.h>
#include <stdint.h>

#include <curve.h>
#include <signal_protocol.h>

#include "signal/curve_fast.h"
#include "util/codec.h"

typedef int (*donna_fn)(uint8_t *, const uint8_t *, const uint8_t *);
typedef int (*sign_fn)(unsigned char *, const unsigned char *, const unsigned char *, unsigned long,
	const unsigned char *);

typedef int (*verify_fn)(const unsigned char *, const unsigned char *, const unsigned char *, unsigned long);

static verify_fn lib_verify;

/* Our verifier answers as the library's, on the signature given and on
 * changed ones: each byte of R or S flipped, S + L (non-canonical), A's
 * sign bit flipped, another message, the public key's unused top bit set. */
static void same_verdicts(uint8_t sig[64], const uint8_t pub[32], uint8_t *msg, size_t len, int i)
{
	static const uint8_t L[32] = { 0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
		0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10 };
	uint8_t s2[64], p2[32];
	for (int v = 0; v < 5; v++) {
		memcpy(s2, sig, 64);
		memcpy(p2, pub, 32);
		if (v == 1)
			s2[i % 64] ^= (uint8_t)(1u << (i % 7));
		if (v == 2) { /* S + L, the sign bit kept */
			unsigned c = 0;
			for (int k = 0; k < 32; k++) {
				c += (unsigned)(s2[32 + k] & (k == 31 ? 0x7F : 0xFF)) + L[k];
				s2[32 + k] = (uint8_t)((k == 31 ? (sig[63] & 0x80) : 0) | (c & (k == 31 ? 0x7F : 0xFF)));
				c >>= 8;
			}
		}
		if (v == 3)
			s2[63] ^= 0x80;
		if (v == 4)
			p2[31] |= 0x80;
		int ours = curve25519_verify(s2, p2, msg, len), lib = lib_verify(s2, p2, msg, len);
		if ((ours == 0) != (lib == 0)) {
			fprintf(stderr, "verdicts differ at %d variant %d: ours %d, library %d\n", i, v, ours, lib);
			CHECK(0);
		}
	}
	if (len) {
		msg[0] ^= 1;
		CHECK((curve25519_verify(sig, pub, msg, len) == 0) == (lib_verify(sig, pub, msg, len) == 0));
		msg[0] ^= 1;
	}
}

/* Our curve25519_sign and curve25519_verify against the library's
 * (wa_sig_curve_fast_active checks that libsignal's calls reach them):
 * what ours signs verifies with the library's verifier (random keys, so
 * both signs of A; lengths 0..300), the original's signatures with ours,
 * and both verifiers agree on changed and random signatures. */
static void test_sign(void)
{
	uint8_t priv[32], pub[33] = { 0x05 };
	sign_fn orig = (sign_fn)dlsym(RTLD_NEXT, "curve25519_sign");
	lib_verify = (verify_fn)dlsym(RTLD_NEXT, "curve25519_verify");
	CHECK(orig != NULL && orig != (sign_fn)curve25519_sign);
	CHECK(lib_verify != NULL && lib_verify != (verify_fn)curve25519_verify);
	if (!orig || !lib_verify)
		return;
	uint8_t msg[300], sig[64], rnd[64];
	int sign_set = 0;
	for (int i = 0; i < 2000; i++) {
		randombytes_buf(priv, 32);
		priv[0] &= 248;
		priv[31] = (priv[31] & 127) | 64;
		crypto_scalarmult_curve25519_base(pub + 1, priv);
		size_t len = (size_t)i % (sizeof msg + 1);
		randombytes_buf(msg, sizeof msg);
		randombytes_buf(rnd, sizeof rnd);
		unsigned long before = wa_sig_curve_fast_signs();
		CHECK_EQ_INT(curve25519_sign(sig, priv, msg, len, rnd), 0);
		CHECK_EQ_INT(wa_sig_curve_fast_signs(), before + 1);
		sign_set += sig[63] >> 7;
		if (lib_verify(sig, pub + 1, msg, len) != 0 || curve25519_verify(sig, pub + 1, msg, len) != 0) {
			fprintf(stderr, "our signature %d (length %zu) refused\n", i, len);
			CHECK(0);
			break;
		}
		same_verdicts(sig, pub + 1, msg, len, i);
		if (i < 300) {
			CHECK_EQ_INT(orig(sig, priv, msg, len, rnd), 0);
			CHECK_EQ_INT(curve25519_verify(sig, pub + 1, msg, len), 0);
			same_verdicts(sig, pub + 1, msg, len, i);
			randombytes_buf(sig, 64); /* garbage */
			same_verdicts(sig, pub + 1, msg, len, i);
		}
	}
	/* the same keys again and again (A from the cache), six of them taking
	 * turns (more than it holds: evictions) */
	uint8_t keys[6][32], pubs[6][32];
	for (int k = 0; k < 6; k++) {
		randombytes_buf(keys[k], 32);
		keys[k][0] &= 248;
		keys[k][31] = (keys[k][31] & 127) | 64;
		crypto_scalarmult_curve25519_base(pubs[k], keys[k]);
	}
	for (int i = 0; i < 600; i++) {
		int k = i < 300 ? i % 2 : (i * 7) % 6;
		randombytes_buf(msg, 64);
		CHECK_EQ_INT(curve25519_sign(sig, keys[k], msg, 64, rnd), 0);
		if (lib_verify(sig, pubs[k], msg, 64) != 0) {
			fprintf(stderr, "signature %d with key %d (cached A) refused\n", i, k);
			CHECK(0);
			break;
		}
	}
	/* public keys whose u is 0 or 1 (u - 1 borrows, or y = 0) */
	for (int e = 0; e < 2; e++) {
		uint8_t pz[32] = { (uint8_t)e };
		randombytes_buf(sig, 64);
		same_verdicts(sig, pz, msg, 16, e);
	}
	CHECK(sign_set > 800 && sign_set < 1200); /* both signs of A were met */
}

static void hex32(const char *hex, uint8_t out[32])
{
	uint8_t *b;
	size_t n;
	if (wa_hex_decode(hex, 64, &b, &n) != 0 || n != 32) {
		fprintf(stderr, "bad hex in test\n");
		exit(1);
	}
	memcpy(out, b, 32);
	free(b);
}

int main(void)
{
	CHECK(sodium_init() >= 0);

	/* libsignal's own agreement must run through our function */
	uint8_t priv[32], pub[33] = { 0x05 };
	randombytes_buf(priv, 32);
	priv[0] &= 248; /* clamped, as libsignal generates its keys */
	priv[31] = (priv[31] & 127) | 64;
	crypto_scalarmult_curve25519_base(pub + 1, priv);
	ec_public_key *pk = NULL;
	ec_private_key *sk = NULL;
	CHECK_EQ_INT(curve_decode_point(&pk, pub, sizeof pub, NULL), 0);
	CHECK_EQ_INT(curve_decode_private_point(&sk, priv, sizeof priv, NULL), 0);
	uint8_t *shared = NULL;
	unsigned long before = wa_sig_curve_fast_calls();
	CHECK_EQ_INT(curve_calculate_agreement(&shared, pk, sk), 32);
	CHECK_EQ_INT(wa_sig_curve_fast_calls(), before + 1);
	uint8_t expect[32];
	CHECK_EQ_INT(crypto_scalarmult_curve25519(expect, priv, pub + 1), 0);
	if (shared)
		CHECK_EQ_MEM(shared, expect, 32);
	free(shared);
	SIGNAL_UNREF(pk);
	SIGNAL_UNREF(sk);

	CHECK(wa_sig_curve_fast_active());
	test_sign();
	donna_fn orig = (donna_fn)dlsym(RTLD_NEXT, "curve25519_donna");
	CHECK(orig != NULL);
	CHECK(orig != (donna_fn)curve25519_donna);
	if (!orig)
		return check_exit("test_signal_curve");

	/* RFC 7748 §5.2, first vector */
	uint8_t k[32], u[32], want[32], got[32];
	hex32("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4", k);
	hex32("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c", u);
	hex32("c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552", want);
	k[0] &= 248; /* X25519 clamps; libsignal passes keys already clamped */
	k[31] = (k[31] & 127) | 64;
	CHECK_EQ_INT(curve25519_donna(got, k, u), 0);
	CHECK_EQ_MEM(got, want, 32);

	/* edge-case points (little-endian u): 0, 1, small-order points of
	 * order 8, p-1, p, p+1, 2^255-1, and 9 with the top bit set */
	static const char *const edge[] = {
		"0000000000000000000000000000000000000000000000000000000000000000",
		"0100000000000000000000000000000000000000000000000000000000000000",
		"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
		"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
		"0900000000000000000000000000000000000000000000000000000000000080",
		"0900000000000000000000000000000000000000000000000000000000000000",
	};
	uint8_t scalars[4][32];
	memset(scalars[0], 0, 32);
	memset(scalars[1], 0xff, 32);
	randombytes_buf(scalars[2], 32);
	randombytes_buf(scalars[3], 32);
	uint8_t a[32], b[32];
	for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++) {
		hex32(edge[i], u);
		for (int s = 0; s < 4; s++) {
			memset(a, 0xAA, 32);
			memset(b, 0x55, 32);
			CHECK_EQ_INT(curve25519_donna(a, scalars[s], u), 0);
			CHECK_EQ_INT(orig(b, scalars[s], u), 0);
			if (memcmp(a, b, 32) != 0)
				fprintf(stderr, "mismatch: point %zu scalar %d\n", i, s);
			CHECK_EQ_MEM(a, b, 32);
		}
	}

	/* random scalars against the base point and random points */
	static const uint8_t nine[32] = { 9 };
	for (int i = 0; i < 2000; i++) {
		randombytes_buf(k, 32);
		if (i % 4 != 3) { /* mostly clamped, like libsignal's keys */
			k[0] &= 248;
			k[31] = (k[31] & 127) | 64;
		}
		if (i % 2)
			randombytes_buf(u, 32);
		else
			memcpy(u, nine, 32);
		CHECK_EQ_INT(curve25519_donna(a, k, u), 0);
		CHECK_EQ_INT(orig(b, k, u), 0);
		CHECK_EQ_MEM(a, b, 32);
	}

	/* key generation (base point) goes through the Edwards tables and our
	 * field inversion: compare with libsodium's ladder on clamped edge
	 * scalars (smallest, largest, single bits, alternating bits, limb
	 * boundaries of the radix-2^51 code) and many random ones */
	static const char *const kedge[] = {
		"0000000000000000000000000000000000000000000000000000000000000040",
		"f8ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"0800000000000000000000000000000000000000000000000000000000000040",
		"a8aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa6a",
		"5055555555555555555555555555555555555555555555555555555555555555",
		"f8ffffffffff07000000000000f8ffffffffff0700000000000000000000f87f",
	};
	for (size_t i = 0; i < sizeof kedge / sizeof kedge[0] + 20000; i++) {
		if (i < sizeof kedge / sizeof kedge[0]) {
			hex32(kedge[i], k);
		} else {
			randombytes_buf(k, 32);
			k[0] &= 248;
			k[31] = (k[31] & 127) | 64;
		}
		memset(a, 0xAA, 32);
		CHECK_EQ_INT(curve25519_donna(a, k, nine), 0);
		CHECK_EQ_INT(crypto_scalarmult_curve25519_base(b, k), 0);
		if (memcmp(a, b, 32) != 0) {
			fprintf(stderr, "base point mismatch at %zu\n", i);
			CHECK_EQ_MEM(a, b, 32);
			break;
		}
	}
	return check_exit("test_signal_curve");
}
