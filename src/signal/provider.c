/* Crypto callbacks libsignal-protocol-c needs (HMAC-SHA256, SHA-512, AES
 * CBC/CTR), implemented on OpenSSL 3 EVP with algorithms fetched once per
 * provider and HMAC contexts reused (provider.h says why). Errors map to
 * SG_ERR_UNKNOWN so libsignal unwinds cleanly; our caller translates them
 * to WA_ECRYPTO. */
#include "signal/provider.h"

/* SHA256_Init & co. (see struct hmac_ctx) */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#include "util/seams.h"
#include "wa/wa.h"

static int rand_cb(uint8_t *data, size_t len, void *user)
{
	(void)user;
	wa_rand_bytes(data, len);
	return 0;
}

#define HMAC_BLOCK 64
#define HMAC_POOL_MAX 2 /* libsignal holds at most one HMAC open at a time */

/* HMAC (RFC 2104) on OpenSSL's SHA-256 block functions. The EVP digest
 * route costs a provider dispatch per init, update and final (four
 * inits per MAC with the re-init that scrubs it): twice the time of the
 * four SHA-256 blocks of the short MACs libsignal computes (~14 per
 * message). The SHA256_* functions are deprecated in OpenSSL 3 in favour
 * of EVP but still shipped, and they run the same assembly (SHA-NI). */
struct hmac_ctx {
	SHA256_CTX inner, outer;
	struct hmac_ctx *next; /* free list */
};

/* Process-wide algorithm handles would need locking or once-init; one set
 * per provider is a few pointers and makes no fetch on the hot path. */
struct wa_sig_provider {
	EVP_MD *sha512;
	EVP_CIPHER *aes[2][3]; /* [cbc, ctr][128, 192, 256], fetched on first use */
	EVP_CIPHER_CTX *cctx;  /* reused by every AES call (reset by each init) */
	struct hmac_ctx *pool;
	unsigned n_pool;
};

static int hmac_init(void **hctx, const uint8_t *key, size_t key_len, void *user)
{
	wa_sig_provider *p = user;
	struct hmac_ctx *h = NULL;
	if (p && p->pool) {
		h = p->pool;
		p->pool = h->next;
		p->n_pool--;
	} else {
		h = malloc(sizeof *h);
		if (!h)
			return SG_ERR_NOMEM;
	}
	h->next = NULL;
	uint8_t k[HMAC_BLOCK] = { 0 }, pad[HMAC_BLOCK];
	if (key_len > HMAC_BLOCK)
		SHA256(key, key_len, k);
	else if (key_len)
		memcpy(k, key, key_len);
	for (size_t i = 0; i < HMAC_BLOCK; i++)
		pad[i] = k[i] ^ 0x36;
	int ok = SHA256_Init(&h->inner) && SHA256_Update(&h->inner, pad, HMAC_BLOCK);
	for (size_t i = 0; i < HMAC_BLOCK; i++)
		pad[i] = k[i] ^ 0x5c;
	ok = ok && SHA256_Init(&h->outer) && SHA256_Update(&h->outer, pad, HMAC_BLOCK);
	OPENSSL_cleanse(k, sizeof k);
	OPENSSL_cleanse(pad, sizeof pad);
	if (!ok) {
		OPENSSL_cleanse(h, sizeof *h);
		free(h);
		return SG_ERR_UNKNOWN;
	}
	*hctx = h;
	return 0;
}

static int hmac_update(void *hctx, const uint8_t *data, size_t len, void *user)
{
	(void)user;
	struct hmac_ctx *h = hctx;
	return SHA256_Update(&h->inner, data, len) ? 0 : SG_ERR_UNKNOWN;
}

static int hmac_final(void *hctx, signal_buffer **out, void *user)
{
	(void)user;
	struct hmac_ctx *h = hctx;
	uint8_t ih[32], md[32];
	int ok = SHA256_Final(ih, &h->inner) && SHA256_Update(&h->outer, ih, sizeof ih) &&
		 SHA256_Final(md, &h->outer);
	OPENSSL_cleanse(ih, sizeof ih);
	if (!ok)
		return SG_ERR_UNKNOWN;
	signal_buffer *b = signal_buffer_create(md, sizeof md);
	OPENSSL_cleanse(md, sizeof md); /* HKDF outputs are keys */
	if (!b)
		return SG_ERR_NOMEM;
	*out = b;
	return 0;
}

static void hmac_cleanup(void *hctx, void *user)
{
	wa_sig_provider *p = user;
	struct hmac_ctx *h = hctx;
	if (!h)
		return;
	/* no pad- or key-derived state outlives the MAC, pooled or not */
	OPENSSL_cleanse(h, sizeof *h);
	if (p && p->n_pool < HMAC_POOL_MAX) {
		h->next = p->pool;
		p->pool = h;
		p->n_pool++;
		return;
	}
	free(h);
}

static const EVP_MD *md_sha512(const wa_sig_provider *p) { return p ? p->sha512 : EVP_sha512(); }

static int sha512_init(void **dctx, void *user)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	if (!c)
		return SG_ERR_NOMEM;
	if (!EVP_DigestInit_ex(c, md_sha512(user), NULL)) {
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
	uint8_t md[64];
	unsigned n = 0;
	if (!EVP_DigestFinal_ex(dctx, md, &n) || n != sizeof md)
		return SG_ERR_UNKNOWN;
	/* libsignal reuses the context after final (curve signatures) */
	if (!EVP_DigestInit_ex(dctx, md_sha512(user), NULL))
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

/* The cipher for (mode, key length): fetched once per provider (the legacy
 * EVP_aes_*() handles make EVP_CipherInit_ex fetch on every call). */
static const EVP_CIPHER *pick_cipher(wa_sig_provider *p, int mode, size_t key_len)
{
	static const char *const names[2][3] = {
		{ "AES-128-CBC", "AES-192-CBC", "AES-256-CBC" },
		{ "AES-128-CTR", "AES-192-CTR", "AES-256-CTR" },
	};
	int m = mode == SG_CIPHER_AES_CBC_PKCS5 ? 0 : mode == SG_CIPHER_AES_CTR_NOPADDING ? 1 : -1;
	int k = key_len == 16 ? 0 : key_len == 24 ? 1 : key_len == 32 ? 2 : -1;
	if (m < 0 || k < 0)
		return NULL;
	if (!p) {
		static const EVP_CIPHER *(*const legacy[2][3])(void) = {
			{ EVP_aes_128_cbc, EVP_aes_192_cbc, EVP_aes_256_cbc },
			{ EVP_aes_128_ctr, EVP_aes_192_ctr, EVP_aes_256_ctr },
		};
		return legacy[m][k]();
	}
	if (!p->aes[m][k])
		p->aes[m][k] = EVP_CIPHER_fetch(NULL, names[m][k], NULL);
	return p->aes[m][k];
}

/* One routine for both directions: the only difference is EVP's enc flag. */
static int aes_run(wa_sig_provider *p, signal_buffer **out, int mode, const uint8_t *key, size_t key_len,
		   const uint8_t *iv, size_t iv_len, const uint8_t *in, size_t in_len, int enc)
{
	const EVP_CIPHER *ciph = pick_cipher(p, mode, key_len);
	if (!ciph || iv_len != 16 || in_len > (size_t)INT32_MAX - 64)
		return SG_ERR_INVAL;
	if (!enc && mode == SG_CIPHER_AES_CBC_PKCS5 && (in_len == 0 || in_len % 16))
		return SG_ERR_INVALID_MESSAGE;
	EVP_CIPHER_CTX *c = p ? p->cctx : EVP_CIPHER_CTX_new();
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
	if (p)
		EVP_CIPHER_CTX_reset(c); /* scrubs the key schedule */
	else
		EVP_CIPHER_CTX_free(c);
	return rc;
}

static int encrypt_cb(signal_buffer **out, int mode, const uint8_t *key, size_t key_len,
		      const uint8_t *iv, size_t iv_len, const uint8_t *pt, size_t pt_len, void *user)
{
	return aes_run(user, out, mode, key, key_len, iv, iv_len, pt, pt_len, 1);
}

static int decrypt_cb(signal_buffer **out, int mode, const uint8_t *key, size_t key_len,
		      const uint8_t *iv, size_t iv_len, const uint8_t *ct, size_t ct_len, void *user)
{
	return aes_run(user, out, mode, key, key_len, iv, iv_len, ct, ct_len, 0);
}

int wa_sig_provider_new(wa_sig_provider **out)
{
	wa_sig_provider *p = calloc(1, sizeof *p);
	if (!p)
		return WA_ENOMEM;
	p->sha512 = EVP_MD_fetch(NULL, "SHA512", NULL);
	p->cctx = EVP_CIPHER_CTX_new();
	if (!p->sha512 || !p->cctx) {
		wa_sig_provider_free(p);
		return WA_ECRYPTO;
	}
	*out = p;
	return 0;
}

void wa_sig_provider_free(wa_sig_provider *p)
{
	if (!p)
		return;
	while (p->pool) {
		struct hmac_ctx *h = p->pool;
		p->pool = h->next;
		free(h); /* scrubbed when it was pooled */
	}
	EVP_CIPHER_CTX_free(p->cctx);
	for (size_t m = 0; m < 2; m++)
		for (size_t k = 0; k < 3; k++)
			EVP_CIPHER_free(p->aes[m][k]);
	EVP_MD_free(p->sha512);
	free(p);
}

unsigned wa_sig_provider_pooled(const wa_sig_provider *p)
{
	return p ? p->n_pool : 0;
}

int wa_sig_provider_install(signal_context *ctx, wa_sig_provider *p)
{
	/* libsignal copies the struct */
	const signal_crypto_provider prov = {
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
		.user_data = p,
	};
	return signal_context_set_crypto_provider(ctx, &prov) == 0 ? 0 : WA_ECRYPTO;
}
