/* Implementation of the shared crypto primitives (crypto.h): hashes, MACs,
 * HKDF and AES on OpenSSL 3 EVP, X25519 on libsodium, XEdDSA on
 * libsignal-protocol-c's curve code (the one maintained C implementation of
 * the Signal signature scheme WhatsApp uses). */
#include "crypto/crypto.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <sodium.h>

#include <signal_protocol.h>
#include <curve.h>

#include "util/seams.h"

void wa_memzero(void *p, size_t n)
{
	sodium_memzero(p, n);
}

bool wa_ct_equal(const void *a, const void *b, size_t n)
{
	return sodium_memcmp(a, b, n) == 0;
}

/* ---- SHA-256 / HMAC / HKDF ---- */

int wa_md5(uint8_t out[static 16], const void *p, size_t n)
{
	unsigned int len = 0;
	if (EVP_Digest(p, n, out, &len, EVP_md5(), NULL) != 1 || len != 16)
		return WA_ECRYPTO;
	return 0;
}

void wa_sha256(uint8_t out[static WA_SHA256_LEN], const void *p, size_t n)
{
	wa_sha256_2(out, p, n, NULL, 0);
}

void wa_sha256_2(uint8_t out[static WA_SHA256_LEN], const void *a, size_t a_len,
	const void *b, size_t b_len)
{
	/* libsodium's SHA-256 cannot fail, unlike EVP_Digest* (allocation). */
	crypto_hash_sha256_state st;
	crypto_hash_sha256_init(&st);
	if (a_len)
		crypto_hash_sha256_update(&st, a, a_len);
	if (b_len)
		crypto_hash_sha256_update(&st, b, b_len);
	crypto_hash_sha256_final(&st, out);
	sodium_memzero(&st, sizeof st);
}

int wa_hmac_sha256(uint8_t out[static WA_HMAC_SHA256_LEN], const void *key, size_t key_len,
	const void *p, size_t n)
{
	/* libsodium's HMAC-SHA256 takes keys of any length (hashed when > 64),
	 * exactly as RFC 2104 says. */
	crypto_auth_hmacsha256_state st;
	static const uint8_t empty[1];
	if (crypto_auth_hmacsha256_init(&st, key_len ? key : empty, key_len) != 0)
		return WA_ECRYPTO;
	if (n)
		crypto_auth_hmacsha256_update(&st, p, n);
	crypto_auth_hmacsha256_final(&st, out);
	sodium_memzero(&st, sizeof st);
	return 0;
}

int wa_hmac_sha512(uint8_t out[static WA_HMAC_SHA512_LEN], const void *key, size_t key_len,
	const void *p, size_t n)
{
	crypto_auth_hmacsha512_state st;
	static const uint8_t empty[1];
	if (crypto_auth_hmacsha512_init(&st, key_len ? key : empty, key_len) != 0)
		return WA_ECRYPTO;
	if (n)
		crypto_auth_hmacsha512_update(&st, p, n);
	crypto_auth_hmacsha512_final(&st, out);
	sodium_memzero(&st, sizeof st);
	return 0;
}

int wa_hkdf_sha256(uint8_t *out, size_t out_len, const void *ikm, size_t ikm_len,
	const void *salt, size_t salt_len, const void *info, size_t info_len)
{
	if (out_len == 0 || out_len > WA_HKDF_MAX_OUT)
		return WA_EINVAL;
	static const uint8_t empty[1];
	int rc = WA_ECRYPTO;
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	if (!kctx)
		goto out;
	/* An absent salt is left unset: OpenSSL then uses the zero-length salt,
	 * which HMAC pads to RFC 5869's HashLen zero bytes. The Noise Split
	 * step passes an empty ikm, which OpenSSL accepts. */
	OSSL_PARAM params[5];
	size_t np = 0;
	params[np++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	params[np++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
		(void *)(ikm_len ? ikm : empty), ikm_len);
	if (salt_len)
		params[np++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
			(void *)salt, salt_len);
	params[np++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
		(void *)(info_len ? info : empty), info_len);
	params[np] = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(kctx, out, out_len, params) != 1)
		goto out;
	rc = 0;
out:
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	return rc;
}

/* ---- AES ---- */

/* EVP lengths are int; reject anything larger rather than truncate. */
#define CHUNK_OK(n) ((n) <= (size_t)INT_MAX - 2 * WA_AES_BLOCK_LEN)

/* AES-256-GCM contexts reused per thread, one per direction, re-keyed on
 * each call: a fresh EVP context per Noise frame (the cipher looked up,
 * its provider context made and freed) cost about three times the
 * encryption of a small frame, and a session sends and reads one frame
 * per ack and receipt (a 1,000-member group: a thousand receipts and acks
 * per message). Re-keying keeps no per-session memory. The last key's
 * schedule stays in the thread's context until the next call. */
static pthread_once_t gcm_once = PTHREAD_ONCE_INIT;
static pthread_key_t gcm_tls;
static EVP_CIPHER *gcm_cipher;
static bool gcm_ok;

struct gcm_ctxs {
	EVP_CIPHER_CTX *c[2]; /* [0] decrypt, [1] encrypt */
};

static void gcm_ctxs_free(void *p)
{
	struct gcm_ctxs *g = p;
	if (g) {
		EVP_CIPHER_CTX_free(g->c[0]);
		EVP_CIPHER_CTX_free(g->c[1]);
		free(g);
	}
}

static void gcm_init(void)
{
	gcm_cipher = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	gcm_ok = gcm_cipher && pthread_key_create(&gcm_tls, gcm_ctxs_free) == 0;
}

/* This thread's context for enc (1) or decrypt (0), set to key and iv
 * (12 bytes, GCM's default IV length); NULL when out of memory. */
static EVP_CIPHER_CTX *gcm_ctx(int enc, const uint8_t *key, const uint8_t *iv)
{
	pthread_once(&gcm_once, gcm_init);
	if (!gcm_ok)
		return NULL;
	struct gcm_ctxs *g = pthread_getspecific(gcm_tls);
	if (!g) {
		if (!(g = calloc(1, sizeof *g)))
			return NULL;
		if (pthread_setspecific(gcm_tls, g) != 0) {
			free(g);
			return NULL;
		}
	}
	if (!g->c[enc]) {
		EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
		if (!c || EVP_CipherInit_ex(c, gcm_cipher, NULL, NULL, NULL, enc) != 1) {
			EVP_CIPHER_CTX_free(c);
			return NULL;
		}
		g->c[enc] = c;
	}
	return EVP_CipherInit_ex(g->c[enc], NULL, NULL, key, iv, enc) == 1 ? g->c[enc] : NULL;
}

int wa_aes_gcm_encrypt(uint8_t *out, const uint8_t key[static WA_AES256_KEY_LEN],
	const uint8_t iv[static WA_GCM_IV_LEN], const void *aad, size_t aad_len,
	const uint8_t *pt, size_t pt_len)
{
	if (!CHUNK_OK(pt_len) || !CHUNK_OK(aad_len))
		return WA_ETOOBIG;
	int n = 0, len = 0;
	EVP_CIPHER_CTX *c = gcm_ctx(1, key, iv);
	if (!c)
		return WA_ENOMEM;
	if (aad_len && EVP_EncryptUpdate(c, NULL, &n, aad, (int)aad_len) != 1)
		return WA_ECRYPTO;
	if (pt_len && EVP_EncryptUpdate(c, out, &len, pt, (int)pt_len) != 1)
		return WA_ECRYPTO;
	if (EVP_EncryptFinal_ex(c, out + len, &n) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, WA_GCM_TAG_LEN, out + pt_len) != 1)
		return WA_ECRYPTO;
	return 0;
}

int wa_aes_gcm_decrypt(uint8_t *out, const uint8_t key[static WA_AES256_KEY_LEN],
	const uint8_t iv[static WA_GCM_IV_LEN], const void *aad, size_t aad_len,
	const uint8_t *ct, size_t ct_len)
{
	if (ct_len < WA_GCM_TAG_LEN)
		return WA_EMALFORMED;
	size_t body = ct_len - WA_GCM_TAG_LEN;
	if (!CHUNK_OK(body) || !CHUNK_OK(aad_len))
		return WA_ETOOBIG;
	/* The tag must be copied out first: decrypting in place overwrites
	 * nothing past body, but keep it independent of aliasing anyway. */
	uint8_t tag[WA_GCM_TAG_LEN];
	memcpy(tag, ct + body, WA_GCM_TAG_LEN);
	int n = 0, len = 0;
	EVP_CIPHER_CTX *c = gcm_ctx(0, key, iv);
	if (!c)
		return WA_ENOMEM;
	if ((aad_len && EVP_DecryptUpdate(c, NULL, &n, aad, (int)aad_len) != 1) ||
	    (body && EVP_DecryptUpdate(c, out, &len, ct, (int)body) != 1) ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, WA_GCM_TAG_LEN, tag) != 1)
		return WA_ECRYPTO;
	if (EVP_DecryptFinal_ex(c, out + len, &n) != 1) {
		/* unauthenticated plaintext must not reach the caller */
		if (body)
			sodium_memzero(out, body);
		return WA_ECRYPTO;
	}
	return 0;
}

int wa_aes_cbc_encrypt(uint8_t *out, const uint8_t key[static WA_AES256_KEY_LEN],
	const uint8_t iv[static WA_AES_BLOCK_LEN], const uint8_t *pt, size_t pt_len)
{
	if (!CHUNK_OK(pt_len))
		return WA_ETOOBIG;
	int rc = WA_ECRYPTO, len = 0, n = 0;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	if (!c)
		return WA_ENOMEM;
	if (EVP_EncryptInit_ex(c, EVP_aes_256_cbc(), NULL, key, iv) != 1)
		goto out;
	if (pt_len && EVP_EncryptUpdate(c, out, &len, pt, (int)pt_len) != 1)
		goto out;
	if (EVP_EncryptFinal_ex(c, out + len, &n) != 1)
		goto out;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(c);
	return rc;
}

int wa_aes_cbc_decrypt(uint8_t *out, size_t *out_len, const uint8_t key[static WA_AES256_KEY_LEN],
	const uint8_t iv[static WA_AES_BLOCK_LEN], const uint8_t *ct, size_t ct_len)
{
	if (ct_len == 0 || ct_len % WA_AES_BLOCK_LEN)
		return WA_EMALFORMED;
	if (!CHUNK_OK(ct_len))
		return WA_ETOOBIG;
	int rc = WA_ECRYPTO, len = 0, n = 0;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	if (!c)
		return WA_ENOMEM;
	if (EVP_DecryptInit_ex(c, EVP_aes_256_cbc(), NULL, key, iv) != 1)
		goto out;
	if (EVP_DecryptUpdate(c, out, &len, ct, (int)ct_len) != 1)
		goto out;
	if (EVP_DecryptFinal_ex(c, out + len, &n) != 1) {
		sodium_memzero(out, ct_len);
		goto out;
	}
	*out_len = (size_t)len + (size_t)n;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(c);
	return rc;
}

int wa_aes_ctr(uint8_t *out, const uint8_t key[static WA_AES256_KEY_LEN],
	const uint8_t iv[static WA_AES_BLOCK_LEN], const uint8_t *in, size_t len)
{
	if (!CHUNK_OK(len))
		return WA_ETOOBIG;
	int rc = WA_ECRYPTO, l = 0, n = 0;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	if (!c)
		return WA_ENOMEM;
	if (EVP_EncryptInit_ex(c, EVP_aes_256_ctr(), NULL, key, iv) != 1)
		goto out;
	if (len && EVP_EncryptUpdate(c, out, &l, in, (int)len) != 1)
		goto out;
	if (EVP_EncryptFinal_ex(c, out + l, &n) != 1)
		goto out;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(c);
	return rc;
}

/* ---- X25519 ---- */

void wa_x25519_clamp(uint8_t priv[static WA_X25519_LEN])
{
	priv[0] &= 248;
	priv[31] &= 127;
	priv[31] |= 64;
}

void wa_x25519_public(uint8_t pub[static WA_X25519_LEN], const uint8_t priv[static WA_X25519_LEN])
{
	/* libsodium clamps the scalar itself; the base point never yields the
	 * all-zero output that makes this return -1. */
	(void)crypto_scalarmult_base(pub, priv);
}

void wa_keypair_from_private(wa_keypair *kp, const uint8_t priv[static WA_X25519_LEN])
{
	uint8_t p[WA_X25519_LEN];
	memcpy(p, priv, sizeof p);
	wa_x25519_clamp(p);
	wa_x25519_public(kp->pub, p);
	memcpy(kp->priv, p, sizeof p);
	sodium_memzero(p, sizeof p);
}

void wa_keypair_generate(wa_keypair *kp)
{
	uint8_t p[WA_X25519_LEN];
	wa_rand_bytes(p, sizeof p);
	wa_keypair_from_private(kp, p);
	sodium_memzero(p, sizeof p);
}

void wa_keypair_clear(wa_keypair *kp)
{
	sodium_memzero(kp, sizeof *kp);
}

int wa_x25519_dh(uint8_t out[static WA_X25519_LEN], const uint8_t priv[static WA_X25519_LEN],
	const uint8_t pub[static WA_X25519_LEN])
{
	uint8_t s[WA_X25519_LEN];
	if (crypto_scalarmult(s, priv, pub) != 0) {
		sodium_memzero(s, sizeof s);
		return WA_ECRYPTO;
	}
	memcpy(out, s, sizeof s);
	sodium_memzero(s, sizeof s);
	return 0;
}

/* ---- XEdDSA via libsignal-protocol-c ----
 * curve_calculate_signature needs a signal_context only for its random
 * source (64 bytes of signing nonce randomness); decode/verify take it for
 * logging. One process-wide context is created once and never freed (the
 * "one-time library init" STYLE §10 allows). Its provider supplies random
 * bytes from the seam, plus HMAC-SHA256 only because
 * signal_context_set_crypto_provider refuses a provider without it; the
 * curve code never calls it (XEdDSA hashes with its own SHA-512). */

static signal_context *sig_ctx;
static pthread_once_t sig_once = PTHREAD_ONCE_INIT;

static int provider_random(uint8_t *data, size_t len, void *user)
{
	(void)user;
	wa_rand_bytes(data, len);
	return 0;
}

static int provider_hmac_init(void **hctx, const uint8_t *key, size_t key_len, void *user)
{
	(void)user;
	crypto_auth_hmacsha256_state *st = malloc(sizeof *st);
	if (!st)
		return SG_ERR_NOMEM;
	static const uint8_t empty[1];
	if (crypto_auth_hmacsha256_init(st, key_len ? key : empty, key_len) != 0) {
		free(st);
		return SG_ERR_UNKNOWN;
	}
	*hctx = st;
	return 0;
}

static int provider_hmac_update(void *hctx, const uint8_t *data, size_t len, void *user)
{
	(void)user;
	if (len)
		crypto_auth_hmacsha256_update(hctx, data, len);
	return 0;
}

static int provider_hmac_final(void *hctx, signal_buffer **output, void *user)
{
	(void)user;
	uint8_t mac[WA_HMAC_SHA256_LEN];
	crypto_auth_hmacsha256_final(hctx, mac);
	signal_buffer *b = signal_buffer_create(mac, sizeof mac);
	sodium_memzero(mac, sizeof mac);
	if (!b)
		return SG_ERR_NOMEM;
	*output = b;
	return 0;
}

static void provider_hmac_cleanup(void *hctx, void *user)
{
	(void)user;
	if (hctx) {
		sodium_memzero(hctx, sizeof(crypto_auth_hmacsha256_state));
		free(hctx);
	}
}

static void sig_ctx_init(void)
{
	signal_context *ctx = NULL;
	if (signal_context_create(&ctx, NULL) != 0)
		return;
	signal_crypto_provider prov;
	memset(&prov, 0, sizeof prov);
	prov.random_func = provider_random;
	prov.hmac_sha256_init_func = provider_hmac_init;
	prov.hmac_sha256_update_func = provider_hmac_update;
	prov.hmac_sha256_final_func = provider_hmac_final;
	prov.hmac_sha256_cleanup_func = provider_hmac_cleanup;
	if (signal_context_set_crypto_provider(ctx, &prov) != 0) {
		signal_context_destroy(ctx);
		return;
	}
	sig_ctx = ctx;
}

static signal_context *get_sig_ctx(void)
{
	pthread_once(&sig_once, sig_ctx_init);
	return sig_ctx;
}

int wa_xeddsa_sign(uint8_t sig[static WA_XEDDSA_SIG_LEN], const uint8_t priv[static WA_X25519_LEN],
	const void *msg, size_t msg_len)
{
	signal_context *ctx = get_sig_ctx();
	if (!ctx)
		return WA_ECRYPTO;
	/* libsignal signs with the scalar as given; Baileys/Node keys may be
	 * stored unclamped, and X25519 clamps implicitly, so clamp a copy to
	 * sign under the key the public half actually belongs to. */
	uint8_t p[WA_X25519_LEN];
	memcpy(p, priv, sizeof p);
	wa_x25519_clamp(p);
	static const uint8_t empty[1];
	int rc = WA_ECRYPTO;
	ec_private_key *key = NULL;
	signal_buffer *out = NULL;
	if (curve_decode_private_point(&key, p, sizeof p, ctx) != 0)
		goto done;
	if (curve_calculate_signature(ctx, &out, key, msg_len ? msg : empty, msg_len) != 0)
		goto done;
	if (signal_buffer_len(out) != WA_XEDDSA_SIG_LEN)
		goto done;
	memcpy(sig, signal_buffer_data(out), WA_XEDDSA_SIG_LEN);
	rc = 0;
done:
	sodium_memzero(p, sizeof p);
	signal_buffer_free(out);
	SIGNAL_UNREF(key);
	return rc;
}

int wa_xeddsa_verify(const uint8_t pub[static WA_X25519_LEN], const void *msg, size_t msg_len,
	const uint8_t sig[static WA_XEDDSA_SIG_LEN])
{
	signal_context *ctx = get_sig_ctx();
	if (!ctx)
		return WA_ECRYPTO;
	uint8_t enc[1 + WA_X25519_LEN];
	enc[0] = 0x05; /* libsignal's DJB key type byte */
	memcpy(enc + 1, pub, WA_X25519_LEN);
	static const uint8_t empty[1];
	ec_public_key *key = NULL;
	if (curve_decode_point(&key, enc, sizeof enc, ctx) != 0)
		return WA_ESIG_VERIFY;
	int v = curve_verify_signature(key, msg_len ? msg : empty, msg_len, sig, WA_XEDDSA_SIG_LEN);
	SIGNAL_UNREF(key);
	/* 1 = valid, 0 = invalid, negative = unusable input: only 1 passes. */
	return v == 1 ? 0 : WA_ESIG_VERIFY;
}

int wa_pbkdf2_sha256(uint8_t *out, size_t out_len, const void *pass, size_t pass_len,
	const void *salt, size_t salt_len, uint32_t iterations)
{
	if (out_len == 0 || out_len > INT_MAX || pass_len > INT_MAX || salt_len > INT_MAX ||
	    iterations == 0 || iterations > INT_MAX)
		return WA_EINVAL;
	if (PKCS5_PBKDF2_HMAC((const char *)pass, (int)pass_len, salt, (int)salt_len,
		    (int)iterations, EVP_sha256(), (int)out_len, out) != 1)
		return WA_ECRYPTO;
	return 0;
}
