/* X25519 and signatures for libsignal-protocol-c through libsodium (the
 * signatures below, after the X25519 part).
 *
 * libsignal-protocol-c does every Curve25519 Diffie-Hellman and key
 * generation through its exported curve25519_donna(), a portable 32-bit C
 * implementation: measured at 85% of CPU time in the alternating-direction
 * benchmark (a DH ratchet step per message), capping it at ~1,600 msg/s.
 * Its crypto provider has no hook for the curve, but the library calls the
 * function through its PLT, so defining the same symbol here interposes it
 * for the whole process. libsodium's implementation (optimised assembly on
 * x86-64) produces the same bytes for clamped scalars, which is every key
 * libsignal generates; tests/unit/test_signal_curve.c compares the two over random and
 * edge-case inputs against the original found with dlsym(RTLD_NEXT).
 *
 * Key generation (base point 9) takes a faster route still: libsodium's
 * Edwards fixed-base multiplication with precomputed tables (16 us here vs
 * 37 us for crypto_scalarmult_curve25519_base, a Montgomery ladder in
 * libsodium 1.0.18 on x86-64), then the birational map u = (1 + y) / (1 - y)
 * to the Montgomery u-coordinate. The map needs one field inversion, done
 * below on radix-2^51 limbs; its input is the public key's y, so it need
 * not be constant-time (it is branch-free anyway). The base-point tests in
 * test_signal_curve.c compare it with libsodium's and libsignal's X25519.
 *
 * The unprefixed name is required by the interposition (STYLE §7 exception). */
#include "signal/curve_fast.h"

#include <dlfcn.h>
#include <string.h>
#include <sodium.h>

static const uint8_t basepoint9[32] = { 9 };

/* ---- GF(2^255 - 19) on five 51-bit limbs (only what the map needs) ---- */
typedef struct { uint64_t v[5]; } fe;
#define MASK51 ((UINT64_C(1) << 51) - 1)

static uint64_t load64_le(const uint8_t *p)
{
	uint64_t r = 0;
	for (int i = 7; i >= 0; i--)
		r = (r << 8) | p[i];
	return r;
}

static void store64_le(uint8_t *p, uint64_t x)
{
	for (int i = 0; i < 8; i++, x >>= 8)
		p[i] = (uint8_t)x;
}

/* Bits 0..254 of s (the Edwards sign bit 255 is dropped). */
static void fe_frombytes(fe *h, const uint8_t s[32])
{
	h->v[0] = load64_le(s) & MASK51;
	h->v[1] = (load64_le(s + 6) >> 3) & MASK51;
	h->v[2] = (load64_le(s + 12) >> 6) & MASK51;
	h->v[3] = (load64_le(s + 19) >> 1) & MASK51;
	h->v[4] = (load64_le(s + 24) >> 12) & MASK51;
}

/* h = a * b; limbs of a and b below 2^52 (so no 128-bit sum or carry
 * overflows), result limbs below 2^52 again. */
static void fe_mul(fe *h, const fe *a, const fe *b)
{
	typedef unsigned __int128 u128;
	const uint64_t *x = a->v, *y = b->v;
	uint64_t y1 = 19 * y[1], y2 = 19 * y[2], y3 = 19 * y[3], y4 = 19 * y[4];
	u128 r0 = (u128)x[0] * y[0] + (u128)x[1] * y4 + (u128)x[2] * y3 + (u128)x[3] * y2 + (u128)x[4] * y1;
	u128 r1 = (u128)x[0] * y[1] + (u128)x[1] * y[0] + (u128)x[2] * y4 + (u128)x[3] * y3 + (u128)x[4] * y2;
	u128 r2 = (u128)x[0] * y[2] + (u128)x[1] * y[1] + (u128)x[2] * y[0] + (u128)x[3] * y4 + (u128)x[4] * y3;
	u128 r3 = (u128)x[0] * y[3] + (u128)x[1] * y[2] + (u128)x[2] * y[1] + (u128)x[3] * y[0] + (u128)x[4] * y4;
	u128 r4 = (u128)x[0] * y[4] + (u128)x[1] * y[3] + (u128)x[2] * y[2] + (u128)x[3] * y[1] + (u128)x[4] * y[0];
	r1 += (uint64_t)(r0 >> 51);
	r2 += (uint64_t)(r1 >> 51);
	r3 += (uint64_t)(r2 >> 51);
	r4 += (uint64_t)(r3 >> 51);
	uint64_t c = (uint64_t)(r4 >> 51);
	uint64_t h0 = ((uint64_t)r0 & MASK51) + c * 19;
	h->v[1] = ((uint64_t)r1 & MASK51) + (h0 >> 51);
	h->v[0] = h0 & MASK51;
	h->v[2] = (uint64_t)r2 & MASK51;
	h->v[3] = (uint64_t)r3 & MASK51;
	h->v[4] = (uint64_t)r4 & MASK51;
}

static void fe_sqn(fe *h, const fe *a, int n)
{
	fe_mul(h, a, a);
	while (--n > 0)
		fe_mul(h, h, h);
}

/* h = z^(p - 2) = 1/z (z != 0), ref10's addition chain. */
static void fe_invert(fe *h, const fe *z)
{
	fe z2, z9, z11, z2_5_0, z2_10_0, z2_20_0, z2_50_0, z2_100_0, t;
	fe_mul(&z2, z, z);
	fe_sqn(&t, &z2, 2);
	fe_mul(&z9, &t, z);
	fe_mul(&z11, &z9, &z2);
	fe_mul(&t, &z11, &z11);
	fe_mul(&z2_5_0, &t, &z9);
	fe_sqn(&t, &z2_5_0, 5);
	fe_mul(&z2_10_0, &t, &z2_5_0);
	fe_sqn(&t, &z2_10_0, 10);
	fe_mul(&z2_20_0, &t, &z2_10_0);
	fe_sqn(&t, &z2_20_0, 20);
	fe_mul(&t, &t, &z2_20_0);
	fe_sqn(&t, &t, 10);
	fe_mul(&z2_50_0, &t, &z2_10_0);
	fe_sqn(&t, &z2_50_0, 50);
	fe_mul(&z2_100_0, &t, &z2_50_0);
	fe_sqn(&t, &z2_100_0, 100);
	fe_mul(&t, &t, &z2_100_0);
	fe_sqn(&t, &t, 50);
	fe_mul(&t, &t, &z2_50_0);
	fe_sqn(&t, &t, 5);
	fe_mul(h, &t, &z11);
}

/* Canonical little-endian bytes (fully reduced mod p). */
static void fe_tobytes(uint8_t s[32], const fe *a)
{
	uint64_t h[5], w[5];
	memcpy(h, a->v, sizeof h);
	for (int pass = 0; pass < 2; pass++) { /* limbs below 2^51: value < 2^255 */
		for (int i = 0; i < 4; i++) {
			h[i + 1] += h[i] >> 51;
			h[i] &= MASK51;
		}
		h[0] += 19 * (h[4] >> 51);
		h[4] &= MASK51;
	}
	h[1] += h[0] >> 51;
	h[0] &= MASK51;
	/* value >= p exactly when value + 19 reaches 2^255; then keep value - p */
	memcpy(w, h, sizeof w);
	w[0] += 19;
	for (int i = 0; i < 4; i++) {
		w[i + 1] += w[i] >> 51;
		w[i] &= MASK51;
	}
	uint64_t ge = w[4] >> 51; /* 1 when value >= p */
	w[4] &= MASK51;
	uint64_t m = 0 - ge;
	for (int i = 0; i < 5; i++)
		h[i] = (w[i] & m) | (h[i] & ~m);
	store64_le(s, h[0] | (h[1] << 51));
	store64_le(s + 8, (h[1] >> 13) | (h[2] << 38));
	store64_le(s + 16, (h[2] >> 26) | (h[3] << 25));
	store64_le(s + 24, (h[3] >> 39) | (h[4] << 12));
}

/* X25519(k, 9) for a clamped k through the Edwards base point: u of k*B is
 * (1 + y) / (1 - y). k*B is never the identity for a clamped k (k is not
 * a multiple of the prime group order), so 1 - y != 0. */
static int base_via_edwards(uint8_t u_out[32], const uint8_t k[32])
{
	uint8_t ed[32];
	if (crypto_scalarmult_ed25519_base_noclamp(ed, k) != 0)
		return -1;
	fe y, num, den, inv, u;
	fe_frombytes(&y, ed);
	/* 1 + y and 1 - y, the latter as 2p + 1 - y so no limb goes negative */
	num = y;
	num.v[0] += 1;
	den.v[0] = 2 * (MASK51 - 18) + 1 - y.v[0];
	for (int i = 1; i < 5; i++)
		den.v[i] = 2 * MASK51 - y.v[i];
	fe_invert(&inv, &den);
	fe_mul(&u, &num, &inv);
	fe_tobytes(u_out, &u);
	sodium_memzero(ed, sizeof ed); /* the public key, but scrubbing is free */
	return 0;
}
static unsigned long n_calls; /* for the test that proves libsignal calls us */

typedef int (*donna_fn)(uint8_t *, const uint8_t *, const uint8_t *);

/* libsignal's donna uses the scalar exactly as given, while X25519 (and
 * libsodium) clamps it. Keys libsignal generates are already clamped, so
 * for them both agree (the unit test checks it over every kind of point).
 * Anything else goes to the library's own code, found behind us. */
static bool is_clamped(const uint8_t k[32])
{
	return (k[0] & 7) == 0 && (k[31] & 0xC0) == 0x40;
}

int curve25519_donna(uint8_t *mypublic, const uint8_t *secret, const uint8_t *basepoint)
{
	n_calls++;
	if (!is_clamped(secret)) {
		static donna_fn orig;
		if (!orig)
			orig = (donna_fn)dlsym(RTLD_NEXT, "curve25519_donna");
		if (orig)
			return orig(mypublic, secret, basepoint);
		/* not reachable while libsignal is the caller; never guess */
		memset(mypublic, 0, 32);
		return -1;
	}
	/* libsodium refuses small-order points (whose product with a clamped
	 * scalar is the all-zero u-coordinate, which is what donna returns)
	 * and then leaves the output unwritten: write those zeros here. */
	if (sodium_memcmp(basepoint, basepoint9, 32) == 0) {
		if (base_via_edwards(mypublic, secret) == 0)
			return 0;
		return crypto_scalarmult_curve25519_base(mypublic, secret) == 0 ? 0 : -1;
	}
	int rc = crypto_scalarmult_curve25519(mypublic, secret, basepoint);
	if (rc != 0)
		memset(mypublic, 0, 32);
	return 0;
}

/* ---- signatures ----
 * libsignal signs (signed pre-keys, every sender-key message) through its
 * exported curve25519_sign(): the Curve25519 private key k used as an
 * Ed25519 scalar, A = k·B, a Schnorr nonce r = SHA-512(0xFE 0xFF×31 || k
 * || msg || random) mod L, R = r·B, S = r + SHA-512(R || A || msg)·k mod L,
 * and A's sign bit carried in the top bit of S (which is always 0), so a
 * verifier can rebuild A from the Montgomery public key. Its two base-point
 * multiplications run on 32-bit limbs there; libsodium's on 64-bit limbs
 * take about half the time, and A is kept for the last few keys (a
 * sender-key message is signed every send, all with one key).
 * The signature verifies the same way; the unit test checks ours with the
 * library's own curve25519_verify. Unclamped keys (never generated by
 * libsignal) go to the library's own code. */
typedef int (*sign_fn)(unsigned char *, const unsigned char *, const unsigned char *, unsigned long,
	const unsigned char *);

static unsigned long n_signs;

static int sign_orig(unsigned char *sig, const unsigned char *k, const unsigned char *msg, unsigned long len,
	const unsigned char *random)
{
	static sign_fn orig;
	if (!orig)
		orig = (sign_fn)dlsym(RTLD_NEXT, "curve25519_sign");
	if (orig)
		return orig(sig, k, msg, len, random);
	memset(sig, 0, 64);
	return -1;
}

/* SHA-512 of the parts, reduced mod L. */
static void hash_scalar(uint8_t out[32], const uint8_t *p1, size_t l1, const uint8_t *p2, size_t l2,
	const uint8_t *p3, size_t l3, const uint8_t *p4, size_t l4)
{
	crypto_hash_sha512_state st;
	uint8_t wide[64];
	crypto_hash_sha512_init(&st);
	crypto_hash_sha512_update(&st, p1, l1);
	crypto_hash_sha512_update(&st, p2, l2);
	crypto_hash_sha512_update(&st, p3, l3);
	if (p4)
		crypto_hash_sha512_update(&st, p4, l4);
	crypto_hash_sha512_final(&st, wide);
	crypto_core_ed25519_scalar_reduce(out, wide);
	sodium_memzero(wide, sizeof wide);
}

/* A = k·B of the last few signing keys: a sender key signs every message
 * of its chain with one key, and A is half of a signature's work. Keyed by
 * a keyed hash of k (the key itself is not kept here). */
#define SIGN_CACHE 4
static struct {
	uint8_t id[16], A[32];
	bool ok;
} sign_cache[SIGN_CACHE];
static unsigned sign_next;
static uint8_t sign_cache_key[crypto_generichash_KEYBYTES];
static bool sign_cache_keyed;

static int ed_public(uint8_t A[32], const uint8_t k[32])
{
	uint8_t id[16];
	if (!sign_cache_keyed) {
		randombytes_buf(sign_cache_key, sizeof sign_cache_key);
		sign_cache_keyed = true;
	}
	crypto_generichash(id, sizeof id, k, 32, sign_cache_key, sizeof sign_cache_key);
	for (unsigned i = 0; i < SIGN_CACHE; i++)
		if (sign_cache[i].ok && sodium_memcmp(sign_cache[i].id, id, sizeof id) == 0) {
			memcpy(A, sign_cache[i].A, 32);
			return 0;
		}
	if (crypto_scalarmult_ed25519_base_noclamp(A, k) != 0)
		return -1;
	unsigned slot = sign_next++ % SIGN_CACHE;
	memcpy(sign_cache[slot].id, id, sizeof id);
	memcpy(sign_cache[slot].A, A, 32);
	sign_cache[slot].ok = true;
	return 0;
}

int curve25519_sign(unsigned char *signature_out, const unsigned char *curve25519_privkey, const unsigned char *msg,
	const unsigned long msg_len, const unsigned char *random)
{
	n_signs++;
	const uint8_t *k = curve25519_privkey;
	uint8_t A[32], kr[32], r[32], h[32], wide[64] = { 0 }, prefix[32];
	if (!is_clamped(k) || ed_public(A, k) != 0)
		return sign_orig(signature_out, k, msg, msg_len, random);
	memset(prefix, 0xFF, sizeof prefix);
	prefix[0] = 0xFE;
	hash_scalar(r, prefix, sizeof prefix, k, 32, msg, msg_len, random, 64);
	if (crypto_scalarmult_ed25519_base_noclamp(signature_out, r) != 0) { /* r = 0: 2^-252 */
		sodium_memzero(r, sizeof r);
		return sign_orig(signature_out, k, msg, msg_len, random);
	}
	hash_scalar(h, signature_out, 32, A, 32, msg, msg_len, NULL, 0);
	memcpy(wide, k, 32);
	crypto_core_ed25519_scalar_reduce(kr, wide);
	crypto_core_ed25519_scalar_mul(h, h, kr);
	crypto_core_ed25519_scalar_add(signature_out + 32, h, r);
	signature_out[63] = (uint8_t)((signature_out[63] & 0x7F) | (A[31] & 0x80));
	sodium_memzero(wide, sizeof wide);
	sodium_memzero(kr, sizeof kr);
	sodium_memzero(r, sizeof r);
	return 0;
}

/* Verification, the other way round: the Montgomery public key's u to the
 * Edwards y = (u - 1) / (u + 1), A's sign bit from the top bit of S, then
 * an Ed25519 verification of R || S (that bit cleared). A signature
 * libsodium accepts, the library accepts too (libsodium's checks on S, R
 * and A are a superset of ref10's, on the same equation); anything it
 * refuses gets the library's own answer, so no edge case changes. */
typedef int (*verify_fn)(const unsigned char *, const unsigned char *, const unsigned char *, unsigned long);

static int verify_orig(const unsigned char *sig, const unsigned char *pub, const unsigned char *msg, unsigned long len)
{
	static verify_fn orig;
	if (!orig)
		orig = (verify_fn)dlsym(RTLD_NEXT, "curve25519_verify");
	return orig ? orig(sig, pub, msg, len) : -1;
}

int curve25519_verify(const unsigned char *signature, const unsigned char *curve25519_pubkey, const unsigned char *msg,
	const unsigned long msg_len)
{
	fe u, num, den, inv, y;
	uint8_t A[32], rs[64];
	fe_frombytes(&u, curve25519_pubkey);
	if (u.v[0] == 0) /* u - 1 would borrow: rare enough for the library's code */
		return verify_orig(signature, curve25519_pubkey, msg, msg_len);
	num = u;
	num.v[0] -= 1;
	den = u;
	den.v[0] += 1;
	fe_invert(&inv, &den);
	fe_mul(&y, &num, &inv);
	fe_tobytes(A, &y);
	A[31] = (uint8_t)((A[31] & 0x7F) | (signature[63] & 0x80));
	memcpy(rs, signature, 64);
	rs[63] &= 0x7F;
	if (crypto_sign_ed25519_verify_detached(rs, msg, msg_len, A) == 0)
		return 0;
	return verify_orig(signature, curve25519_pubkey, msg, msg_len);
}

bool wa_sig_curve_fast_active(void)
{
	void *resolved = dlsym(RTLD_DEFAULT, "curve25519_donna");
	void *sign = dlsym(RTLD_DEFAULT, "curve25519_sign"), *verify = dlsym(RTLD_DEFAULT, "curve25519_verify");
	return resolved == (void *)curve25519_donna && sign == (void *)curve25519_sign &&
	       verify == (void *)curve25519_verify;
}

unsigned long wa_sig_curve_fast_signs(void)
{
	return n_signs;
}

unsigned long wa_sig_curve_fast_calls(void)
{
	return n_calls;
}
