/* Crypto callbacks libsignal-protocol-c needs (HMAC-SHA256, SHA-512, AES
 * CBC/CTR), implemented on OpenSSL 3 EVP. Errors map to SG_ERR_UNKNOWN so
 * libsignal unwinds cleanly; our caller translates them to WA_ECRYPTO. */
#include "signal/provider.h"

#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <string.h>

#include "util/seams.h"
#include "wa/wa.h"

static int rand_cb(uint8_t *data, size_t len, void *user)
{
	(void)user;
	wa_rand_bytes(data, len);
	return 0;
}

static int hmac_init(void **hctx, const uint8_t *key, size_t key_len, void *user)
{
	(void)user;
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (!mac)
		return SG_ERR_UNKNOWN;
	EVP_MAC_CTX *c = EVP_MAC_CTX_new(mac);
	EVP_MAC_free(mac); /* the context holds its own reference */
	if (!c)
		return SG_ERR_NOMEM;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	/* OpenSSL rejects a NULL key even with length 0 */
	static const uint8_t empty[1];
	if (!EVP_MAC_init(c, key_len ? key : empty, key_len, params)) {
		EVP_MAC_CTX_free(c);
		return SG_ERR_UNKNOWN;
	}
	*hctx = c;
	return 0;
}

static int hmac_update(void *hctx, const uint8_t *data, size_t len, void *user)
{
	(void)user;
	return EVP_MAC_update(hctx, data, len) ? 0 : SG_ERR_UNKNOWN;
}

static int hmac_final(void *hctx, signal_buffer **out, void *user)
{
	(void)user;
	uint8_t md[32];
	size_t n = 0;
	if (!EVP_MAC_final(hctx, md, &n, sizeof md) || n != sizeof md)
		return SG_ERR_UNKNOWN;
	signal_buffer *b = signal_buffer_create(md, n);
	if (!b)
		return SG_ERR_NOMEM;
	*out = b;
	return 0;
}

static void hmac_cleanup(void *hctx, void *user)
{
	(void)user;
	EVP_MAC_CTX_free(hctx);
}

static int sha512_init(void **dctx, void *user)
{
	(void)user;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	if (!c)
		return SG_ERR_NOMEM;
	if (!EVP_DigestInit_ex(c, EVP_sha512(), NULL)) {
		EVP_MD_CTX_free(c);
		return SG_ERR_UNKNOWN;
	}
	*dctx = c;
	return 0;
}

static int sha512_update(void *dctx, const uint8_t *data, size_t len, void *user)
{
	(void)user;
	return EVP_DigestUpdate(dctx, data, len) ? 0 : SG_ERR_UNKNOWN;
}

static int sha512_final(void *dctx, signal_buffer **out, void *user)
{
	(void)user;
	uint8_t md[64];
	unsigned n = 0;
	if (!EVP_DigestFinal_ex(dctx, md, &n) || n != sizeof md)
		return SG_ERR_UNKNOWN;
	/* libsignal reuses the context after final (curve signatures) */
	if (!EVP_DigestInit_ex(dctx, EVP_sha512(), NULL))
		return SG_ERR_UNKNOWN;
	signal_buffer *b = signal_buffer_create(md, n);
	if (!b)
		return SG_ERR_NOMEM;
	*out = b;
	return 0;
}

static void sha512_cleanup(void *dctx, void *user)
{
	(void)user;
	EVP_MD_CTX_free(dctx);
}

static const EVP_CIPHER *pick_cipher(int mode, size_t key_len)
{
	if (mode == SG_CIPHER_AES_CBC_PKCS5) {
		switch (key_len) {
		case 16: return EVP_aes_128_cbc();
		case 24: return EVP_aes_192_cbc();
		case 32: return EVP_aes_256_cbc();
		}
	} else if (mode == SG_CIPHER_AES_CTR_NOPADDING) {
		switch (key_len) {
		case 16: return EVP_aes_128_ctr();
		case 24: return EVP_aes_192_ctr();
		case 32: return EVP_aes_256_ctr();
		}
	}
	return NULL;
}

/* One routine for both directions: the only difference is EVP's enc flag. */
static int aes_run(signal_buffer **out, int mode, const uint8_t *key, size_t key_len,
		   const uint8_t *iv, size_t iv_len, const uint8_t *in, size_t in_len, int enc)
{
	const EVP_CIPHER *ciph = pick_cipher(mode, key_len);
	if (!ciph || iv_len != 16 || in_len > (size_t)INT32_MAX - 64)
		return SG_ERR_INVAL;
	if (!enc && mode == SG_CIPHER_AES_CBC_PKCS5 && (in_len == 0 || in_len % 16))
		return SG_ERR_INVALID_MESSAGE;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	if (!c)
		return SG_ERR_NOMEM;
	int rc = SG_ERR_UNKNOWN;
	uint8_t *buf = malloc(in_len + 32);
	int n1 = 0, n2 = 0;
	if (!buf) {
		rc = SG_ERR_NOMEM;
		goto out;
	}
	if (!EVP_CipherInit_ex(c, ciph, NULL, key, iv, enc))
		goto out;
	EVP_CIPHER_CTX_set_padding(c, mode == SG_CIPHER_AES_CBC_PKCS5);
	if (!EVP_CipherUpdate(c, buf, &n1, in, (int)in_len))
		goto out;
	if (!EVP_CipherFinal_ex(c, buf + n1, &n2)) {
		/* bad PKCS#5 padding on decrypt: the peer's bytes, not our bug */
		rc = enc ? SG_ERR_UNKNOWN : SG_ERR_INVALID_MESSAGE;
		goto out;
	}
	signal_buffer *b = signal_buffer_create(buf, (size_t)n1 + (size_t)n2);
	if (!b) {
		rc = SG_ERR_NOMEM;
		goto out;
	}
	*out = b;
	rc = 0;
out:
	if (buf) {
		OPENSSL_cleanse(buf, in_len + 32);
		free(buf);
	}
	EVP_CIPHER_CTX_free(c);
	return rc;
}

static int encrypt_cb(signal_buffer **out, int mode, const uint8_t *key, size_t key_len,
		      const uint8_t *iv, size_t iv_len, const uint8_t *pt, size_t pt_len, void *user)
{
	(void)user;
	return aes_run(out, mode, key, key_len, iv, iv_len, pt, pt_len, 1);
}

static int decrypt_cb(signal_buffer **out, int mode, const uint8_t *key, size_t key_len,
		      const uint8_t *iv, size_t iv_len, const uint8_t *ct, size_t ct_len, void *user)
{
	(void)user;
	return aes_run(out, mode, key, key_len, iv, iv_len, ct, ct_len, 0);
}

int wa_sig_provider_install(signal_context *ctx)
{
	static const signal_crypto_provider prov = {
		.random_func = rand_cb,
		.hmac_sha256_init_func = hmac_init,
		.hmac_sha256_update_func = hmac_update,
		.hmac_sha256_final_func = hmac_final,
		.hmac_sha256_cleanup_func = hmac_cleanup,
		.sha512_digest_init_func = sha512_init,
		.sha512_digest_update_func = sha512_update,
		.sha512_digest_final_func = sha512_final,
		.sha512_digest_cleanup_func = sha512_cleanup,
		.encrypt_func = encrypt_cb,
		.decrypt_func = decrypt_cb,
		.user_data = NULL,
	};
	return signal_context_set_crypto_provider(ctx, &prov) == 0 ? 0 : WA_ECRYPTO;
}
