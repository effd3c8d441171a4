/* Crypto primitives shared by every libwa layer (noise, signal, media,
 * session): SHA-256, HMAC, HKDF, AES-GCM/CBC/CTR, X25519 and XEdDSA. This is
 * the only file that talks to OpenSSL, libsodium or libsignal's curve code
 * for these, so there is one implementation of each (STYLE §10).
 * All functions are safe to call from any thread; randomness comes from the
 * wa_rand_bytes seam (util/seams.h), so tests can make keys deterministic. */
#ifndef WA_CRYPTO_CRYPTO_H
#define WA_CRYPTO_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wa/wa.h"

#define WA_SHA256_LEN 32
#define WA_HMAC_SHA256_LEN 32
#define WA_AES256_KEY_LEN 32
#define WA_GCM_IV_LEN 12
#define WA_GCM_TAG_LEN 16
#define WA_AES_BLOCK_LEN 16
#define WA_X25519_LEN 32        /* public, private and shared-secret size */
#define WA_XEDDSA_SIG_LEN 64
/* HKDF-SHA256 can expand to at most 255 hash blocks (RFC 5869 §2.3). */
#define WA_HKDF_MAX_OUT (255 * WA_SHA256_LEN)

/* A Curve25519 key pair. priv is stored clamped, as libsignal and Baileys
 * store theirs, so the same 32 bytes work for X25519 and XEdDSA. Scrub with
 * wa_keypair_clear when done. */
typedef struct wa_keypair {
	uint8_t pub[WA_X25519_LEN];
	uint8_t priv[WA_X25519_LEN];
} wa_keypair;

/* Scrubbing and constant-time comparison (libsodium). */
void wa_memzero(void *p, size_t n);
/* true when the n bytes are equal; time does not depend on the contents. */
bool wa_ct_equal(const void *a, const void *b, size_t n);

/* SHA-256 of one buffer, and of the concatenation a ‖ b (Noise MixHash). */
void wa_sha256(uint8_t out[static WA_SHA256_LEN], const void *p, size_t n);
void wa_sha256_2(uint8_t out[static WA_SHA256_LEN], const void *a, size_t a_len,
	const void *b, size_t b_len);

/* MD5, only for the ClientPayload's build hash (not a security use).
 * Returns 0 or WA_ECRYPTO. */
int wa_md5(uint8_t out[static 16], const void *p, size_t n) WA_MUST_CHECK;

/* HMAC-SHA256. Returns 0 or WA_ECRYPTO. */
int wa_hmac_sha256(uint8_t out[static WA_HMAC_SHA256_LEN], const void *key, size_t key_len,
	const void *p, size_t n) WA_MUST_CHECK;

/* HMAC-SHA512 (app-state value MACs use its first 32 bytes). Returns 0 or
 * WA_ECRYPTO. */
#define WA_HMAC_SHA512_LEN 64
int wa_hmac_sha512(uint8_t out[static WA_HMAC_SHA512_LEN], const void *key, size_t key_len,
	const void *p, size_t n) WA_MUST_CHECK;

/* RFC 5869 HKDF-SHA256 (extract then expand). A zero-length salt means the
 * RFC's default (HashLen zero bytes); ikm and info may be empty.
 * out_len must be 1..WA_HKDF_MAX_OUT. Returns 0, WA_EINVAL or WA_ECRYPTO;
 * out is written only on success. */
int wa_hkdf_sha256(uint8_t *out, size_t out_len, const void *ikm, size_t ikm_len,
	const void *salt, size_t salt_len, const void *info, size_t info_len) WA_MUST_CHECK;

/* AES-256-GCM with a 12-byte IV; the 16-byte tag is appended to the
 * ciphertext. encrypt writes pt_len + WA_GCM_TAG_LEN bytes to out.
 * decrypt writes ct_len - WA_GCM_TAG_LEN bytes to out, only if the tag
 * verifies; it returns WA_EMALFORMED if ct_len < WA_GCM_TAG_LEN and
 * WA_ECRYPTO if authentication fails (out is scrubbed then). out may alias
 * the input exactly (in-place), never partially. */
int wa_aes_gcm_encrypt(uint8_t *out, const uint8_t key[static WA_AES256_KEY_LEN],
	const uint8_t iv[static WA_GCM_IV_LEN], const void *aad, size_t aad_len,
	const uint8_t *pt, size_t pt_len) WA_MUST_CHECK;
int wa_aes_gcm_decrypt(uint8_t *out, const uint8_t key[static WA_AES256_KEY_LEN],
	const uint8_t iv[static WA_GCM_IV_LEN], const void *aad, size_t aad_len,
	const uint8_t *ct, size_t ct_len) WA_MUST_CHECK;

/* AES-256-CBC with PKCS#7 padding. encrypt writes exactly
 * wa_aes_cbc_padded_len(pt_len) bytes. decrypt needs ct_len a non-zero
 * multiple of 16 (else WA_EMALFORMED), writes at most ct_len bytes and sets
 * *out_len; bad padding gives WA_ECRYPTO. Authenticate (HMAC) before
 * decrypting: padding errors must not become an oracle. */
static inline size_t wa_aes_cbc_padded_len(size_t pt_len)
{
	return pt_len + WA_AES_BLOCK_LEN - pt_len % WA_AES_BLOCK_LEN;
}
int wa_aes_cbc_encrypt(uint8_t *out, const uint8_t key[static WA_AES256_KEY_LEN],
	const uint8_t iv[static WA_AES_BLOCK_LEN], const uint8_t *pt, size_t pt_len) WA_MUST_CHECK;
int wa_aes_cbc_decrypt(uint8_t *out, size_t *out_len, const uint8_t key[static WA_AES256_KEY_LEN],
	const uint8_t iv[static WA_AES_BLOCK_LEN], const uint8_t *ct, size_t ct_len) WA_MUST_CHECK;

/* AES-256-CTR (encryption and decryption are the same operation); iv is the
 * full 16-byte initial counter block, incremented big-endian. Writes len
 * bytes. */
int wa_aes_ctr(uint8_t *out, const uint8_t key[static WA_AES256_KEY_LEN],
	const uint8_t iv[static WA_AES_BLOCK_LEN], const uint8_t *in, size_t len) WA_MUST_CHECK;

/* PBKDF2-HMAC-SHA256 (the pairing-code key wrap, transport-and-pairing.md
 * §7.1: 131072 iterations). Returns 0, WA_EINVAL or WA_ECRYPTO. */
int wa_pbkdf2_sha256(uint8_t *out, size_t out_len, const void *pass, size_t pass_len,
	const void *salt, size_t salt_len, uint32_t iterations) WA_MUST_CHECK;

/* Curve25519. wa_x25519_clamp applies the usual clamping in place
 * (priv[0] &= 248; priv[31] &= 127; priv[31] |= 64). */
void wa_x25519_clamp(uint8_t priv[static WA_X25519_LEN]);
/* New key pair from wa_rand_bytes, private half clamped. */
void wa_keypair_generate(wa_keypair *kp);
/* Derives kp from 32 private bytes (clamped copy stored in kp->priv). */
void wa_keypair_from_private(wa_keypair *kp, const uint8_t priv[static WA_X25519_LEN]);
void wa_keypair_clear(wa_keypair *kp);
/* Public key of a private key (clamping applied internally). */
void wa_x25519_public(uint8_t pub[static WA_X25519_LEN], const uint8_t priv[static WA_X25519_LEN]);
/* X25519(priv, pub). Returns WA_ECRYPTO when the result is all zeros (a
 * low-order public key); out is written only on success. */
int wa_x25519_dh(uint8_t out[static WA_X25519_LEN], const uint8_t priv[static WA_X25519_LEN],
	const uint8_t pub[static WA_X25519_LEN]) WA_MUST_CHECK;

/* XEdDSA "curve25519 signatures" as Signal, Baileys and WhatsApp use them:
 * a 64-byte signature over msg by a Curve25519 private key, checkable with
 * the Curve25519 public key. Signing uses 64 random bytes from the seam.
 * sign: 0 or WA_ECRYPTO. verify: 0 when valid, WA_ESIG_VERIFY when not
 * (including keys that are not valid points), WA_ECRYPTO on internal error. */
int wa_xeddsa_sign(uint8_t sig[static WA_XEDDSA_SIG_LEN], const uint8_t priv[static WA_X25519_LEN],
	const void *msg, size_t msg_len) WA_MUST_CHECK;
int wa_xeddsa_verify(const uint8_t pub[static WA_X25519_LEN], const void *msg, size_t msg_len,
	const uint8_t sig[static WA_XEDDSA_SIG_LEN]) WA_MUST_CHECK;

#endif
