/* Streaming media encryption/decryption (AES-256-CBC + truncated
 * HMAC-SHA256). Layout and order of checks as messaging.md §7 (whatsmeow
 * download.go verifies length, fileEncSha256, MAC, then decrypts; Baileys
 * checks nothing, we do not copy that). Streaming CBC, HMAC and SHA-256 use
 * OpenSSL EVP directly: src/crypto has only one-shot forms, and media blobs
 * are too large to hold whole. */
#include "media/cipher.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "crypto/crypto.h"

/* EVP takes int lengths: feed big chunks in slices. */
#define SLICE ((size_t)1 << 20)

enum state { ST_OPEN, ST_VERIFIED, ST_DECRYPTING, ST_STREAMING, ST_DONE, ST_FAILED };

struct hmac {
	EVP_MAC *mac;
	EVP_MAC_CTX *ctx;
};

static int hmac_start(struct hmac *h, const uint8_t key[static 32], const uint8_t iv[static 16])
{
	char digest[] = "SHA256";
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
		OSSL_PARAM_construct_end(),
	};
	if (!h->mac && !(h->mac = EVP_MAC_fetch(NULL, "HMAC", NULL)))
		return WA_ECRYPTO;
	if (!h->ctx && !(h->ctx = EVP_MAC_CTX_new(h->mac)))
		return WA_ENOMEM;
	if (EVP_MAC_init(h->ctx, key, 32, params) != 1 || EVP_MAC_update(h->ctx, iv, 16) != 1)
		return WA_ECRYPTO;
	return 0;
}

static int hmac_update(struct hmac *h, const uint8_t *p, size_t n)
{
	return n == 0 || EVP_MAC_update(h->ctx, p, n) == 1 ? 0 : WA_ECRYPTO;
}

static int hmac_final(struct hmac *h, uint8_t out[static 32])
{
	size_t n = 0;
	return EVP_MAC_final(h->ctx, out, &n, 32) == 1 && n == 32 ? 0 : WA_ECRYPTO;
}

static void hmac_free(struct hmac *h)
{
	EVP_MAC_CTX_free(h->ctx);
	EVP_MAC_free(h->mac);
	h->ctx = NULL;
	h->mac = NULL;
}

static int sha_start(EVP_MD_CTX **ctx)
{
	if (!*ctx && !(*ctx = EVP_MD_CTX_new()))
		return WA_ENOMEM;
	return EVP_DigestInit_ex(*ctx, EVP_sha256(), NULL) == 1 ? 0 : WA_ECRYPTO;
}

static int sha_update(EVP_MD_CTX *ctx, const uint8_t *p, size_t n)
{
	return n == 0 || EVP_DigestUpdate(ctx, p, n) == 1 ? 0 : WA_ECRYPTO;
}

static int sha_final(EVP_MD_CTX *ctx, uint8_t out[static 32])
{
	unsigned n = 0;
	return EVP_DigestFinal_ex(ctx, out, &n) == 1 && n == 32 ? 0 : WA_ECRYPTO;
}

/* Runs CBC over n bytes in int-sized slices; *out_len = bytes written. */
static int cbc_update(EVP_CIPHER_CTX *c, bool enc, uint8_t *out, size_t *out_len,
	const uint8_t *in, size_t n)
{
	size_t done = 0, w = 0;
	while (done < n) {
		size_t k = n - done < SLICE ? n - done : SLICE;
		int ol = 0;
		int ok = enc ? EVP_EncryptUpdate(c, out + w, &ol, in + done, (int)k)
			     : EVP_DecryptUpdate(c, out + w, &ol, in + done, (int)k);
		if (ok != 1 || ol < 0)
			return WA_ECRYPTO;
		w += (size_t)ol;
		done += k;
	}
	*out_len = w;
	return 0;
}

static uint64_t limit_or_default(uint64_t max_len)
{
	return max_len ? max_len : WA_MEDIA_DEFAULT_MAX_LEN;
}

/* ---------------- encryption ---------------- */

struct wa_media_enc {
	enum state st;
	wa_media_keys keys;
	uint64_t max_len;
	uint64_t n_in;
	EVP_CIPHER_CTX *cbc;
	struct hmac mac;
	EVP_MD_CTX *sha_plain;
	EVP_MD_CTX *sha_enc;
};

void wa_media_enc_free(wa_media_enc *e)
{
	if (!e)
		return;
	EVP_CIPHER_CTX_free(e->cbc);
	hmac_free(&e->mac);
	EVP_MD_CTX_free(e->sha_plain);
	EVP_MD_CTX_free(e->sha_enc);
	wa_memzero(e, sizeof *e);
	free(e);
}

int wa_media_enc_new(wa_media_enc **out, const wa_media_keys *keys, uint64_t max_len)
{
	if (!out || !keys || max_len > WA_MEDIA_MAX_LEN_CAP)
		return WA_EINVAL;
	wa_media_enc *e = calloc(1, sizeof *e);
	if (!e)
		return WA_ENOMEM;
	e->keys = *keys;
	e->max_len = limit_or_default(max_len);
	int rc = WA_ENOMEM;
	if (!(e->cbc = EVP_CIPHER_CTX_new()))
		goto fail;
	rc = WA_ECRYPTO;
	if (EVP_EncryptInit_ex(e->cbc, EVP_aes_256_cbc(), NULL, e->keys.cipher_key, e->keys.iv) != 1)
		goto fail;
	if ((rc = hmac_start(&e->mac, e->keys.mac_key, e->keys.iv)) != 0 ||
	    (rc = sha_start(&e->sha_plain)) != 0 || (rc = sha_start(&e->sha_enc)) != 0)
		goto fail;
	*out = e;
	return 0;
fail:
	wa_media_enc_free(e);
	return rc;
}

int wa_media_enc_update(wa_media_enc *e, uint8_t *out, size_t out_cap, size_t *out_len,
	const uint8_t *in, size_t in_len)
{
	if (!e || !out_len || (in_len && (!in || !out)) || out_cap < WA_MEDIA_UPDATE_OUT(in_len))
		return WA_EINVAL;
	if (e->st != ST_OPEN)
		return WA_ESTATE;
	int rc = WA_ETOOBIG;
	if (in_len > e->max_len - e->n_in)
		goto fail;
	size_t w = 0;
	if ((rc = sha_update(e->sha_plain, in, in_len)) != 0 ||
	    (rc = cbc_update(e->cbc, true, out, &w, in, in_len)) != 0 ||
	    (rc = hmac_update(&e->mac, out, w)) != 0 || (rc = sha_update(e->sha_enc, out, w)) != 0)
		goto fail;
	e->n_in += in_len;
	*out_len = w;
	return 0;
fail:
	e->st = ST_FAILED;
	return rc;
}

int wa_media_enc_final(wa_media_enc *e, uint8_t *out, size_t out_cap, size_t *out_len,
	wa_media_result *res)
{
	if (!e || !out || !out_len || !res || out_cap < WA_MEDIA_ENC_FINAL_OUT)
		return WA_EINVAL;
	if (e->st != ST_OPEN)
		return WA_ESTATE;
	int rc = WA_ECRYPTO;
	int ol = 0;
	uint8_t full[32];
	wa_media_result r;
	if (EVP_EncryptFinal_ex(e->cbc, out, &ol) != 1 || ol != 16)
		goto fail;
	if ((rc = hmac_update(&e->mac, out, 16)) != 0 || (rc = hmac_final(&e->mac, full)) != 0)
		goto fail;
	memcpy(out + 16, full, WA_MEDIA_MAC_LEN);
	memcpy(r.mac, full, WA_MEDIA_MAC_LEN);
	if ((rc = sha_update(e->sha_enc, out, 16 + WA_MEDIA_MAC_LEN)) != 0 ||
	    (rc = sha_final(e->sha_enc, r.file_enc_sha256)) != 0 ||
	    (rc = sha_final(e->sha_plain, r.file_sha256)) != 0)
		goto fail;
	r.file_length = e->n_in;
	*res = r;
	*out_len = 16 + WA_MEDIA_MAC_LEN;
	e->st = ST_DONE;
	return 0;
fail:
	e->st = ST_FAILED;
	return rc;
}

int wa_media_encrypt(uint8_t **blob, size_t *blob_len, wa_media_result *res,
	const wa_media_keys *keys, const uint8_t *pt, size_t pt_len)
{
	if (!blob || !blob_len || !res || !keys || (pt_len && !pt))
		return WA_EINVAL;
	if (pt_len > WA_MEDIA_DEFAULT_MAX_LEN)
		return WA_ETOOBIG;
	/* room for update's worst case plus final's output */
	size_t cap = pt_len + 16 + WA_MEDIA_ENC_FINAL_OUT;
	uint8_t *b = malloc(cap);
	if (!b)
		return WA_ENOMEM;
	wa_media_enc *e = NULL;
	size_t n1 = 0, n2 = 0;
	int rc = wa_media_enc_new(&e, keys, 0);
	if (rc == 0)
		rc = wa_media_enc_update(e, b, cap, &n1, pt, pt_len);
	if (rc == 0)
		rc = wa_media_enc_final(e, b + n1, cap - n1, &n2, res);
	wa_media_enc_free(e);
	if (rc != 0) {
		free(b);
		return rc;
	}
	*blob = b;
	*blob_len = n1 + n2;
	return 0;
}

/* ---------------- decryption ---------------- */

struct wa_media_dec {
	enum state st;
	wa_media_keys keys;
	uint64_t max_blob;
	/* pass 1 */
	uint64_t blob_len;
	uint8_t tail[WA_MEDIA_MAC_LEN]; /* the last bytes seen: the MAC candidate */
	size_t tail_len;
	uint8_t full_mac[32];           /* HMAC over iv ‖ ct from pass 1 */
	/* pass 2 */
	uint64_t seen2;
	EVP_CIPHER_CTX *cbc;
	struct hmac mac;
	EVP_MD_CTX *sha;       /* pass 1: blob; pass 2: plaintext */
	EVP_MD_CTX *sha_plain; /* one pass: the plaintext, beside sha over the blob */
	uint8_t file_enc_sha256[32];
	uint64_t n_out;
};

void wa_media_dec_free(wa_media_dec *d)
{
	if (!d)
		return;
	EVP_CIPHER_CTX_free(d->cbc);
	hmac_free(&d->mac);
	EVP_MD_CTX_free(d->sha);
	EVP_MD_CTX_free(d->sha_plain);
	wa_memzero(d, sizeof *d);
	free(d);
}

int wa_media_dec_new(wa_media_dec **out, const wa_media_keys *keys, uint64_t max_len)
{
	if (!out || !keys || max_len > WA_MEDIA_MAX_LEN_CAP)
		return WA_EINVAL;
	wa_media_dec *d = calloc(1, sizeof *d);
	if (!d)
		return WA_ENOMEM;
	d->keys = *keys;
	d->max_blob = WA_MEDIA_BLOB_LEN(limit_or_default(max_len));
	int rc;
	if ((rc = hmac_start(&d->mac, d->keys.mac_key, d->keys.iv)) != 0 ||
	    (rc = sha_start(&d->sha)) != 0) {
		wa_media_dec_free(d);
		return rc;
	}
	*out = d;
	return 0;
}

/* The end of a decryption whose MAC checked out: the last block and its
 * padding, the plaintext's hash (plain_sha) against the expected one, the
 * result. Any failure leaves the object failed and out's block wiped. */
static int dec_finish(wa_media_dec *d, EVP_MD_CTX *plain_sha, uint8_t *out, size_t out_cap, size_t *out_len,
	const uint8_t *expect_file_sha256, wa_media_result *res)
{
	uint8_t file_sha[32];
	int ol = 0;
	int rc = WA_EMALFORMED;
	if (EVP_DecryptFinal_ex(d->cbc, out, &ol) != 1 || ol < 0 || ol > 15)
		goto fail;
	if ((rc = sha_update(plain_sha, out, (size_t)ol)) != 0 || (rc = sha_final(plain_sha, file_sha)) != 0)
		goto fail;
	rc = WA_EMEDIA_HASH;
	if (expect_file_sha256 && !wa_ct_equal(file_sha, expect_file_sha256, 32))
		goto fail;
	if (res) {
		memcpy(res->file_sha256, file_sha, 32);
		memcpy(res->file_enc_sha256, d->file_enc_sha256, 32);
		memcpy(res->mac, d->full_mac, WA_MEDIA_MAC_LEN);
		res->file_length = d->n_out + (uint64_t)ol;
	}
	*out_len = (size_t)ol;
	d->st = ST_DONE;
	return 0;
fail:
	wa_memzero(out, out_cap < 16 ? out_cap : 16);
	d->st = ST_FAILED;
	return rc;
}

/* Ciphertext in blob order: MACed, and in one-pass mode decrypted to out
 * (*w grows) with the plaintext hashed. */
static int dec_ct(wa_media_dec *d, const uint8_t *ct, size_t n, uint8_t *out, size_t *w)
{
	int rc = hmac_update(&d->mac, ct, n);
	if (rc || !out || !n)
		return rc;
	size_t o = 0;
	if ((rc = cbc_update(d->cbc, false, out + *w, &o, ct, n)) != 0 || (rc = sha_update(d->sha_plain, out + *w, o)) != 0)
		return rc;
	*w += o;
	d->n_out += o;
	return 0;
}

/* Pass 1's bookkeeping (and the one pass's): the blob hashed, everything
 * but the newest 10 bytes (the MAC candidate) taken as ciphertext. */
static int dec_feed(wa_media_dec *d, const uint8_t *blob, size_t len, uint8_t *out, size_t *w)
{
	int rc = WA_ETOOBIG;
	if (len > d->max_blob - d->blob_len)
		return rc;
	if ((rc = sha_update(d->sha, blob, len)) != 0)
		return rc;
	if (len >= WA_MEDIA_MAC_LEN) {
		uint8_t held[WA_MEDIA_MAC_LEN];
		size_t held_len = d->tail_len;
		memcpy(held, d->tail, held_len);
		if ((rc = dec_ct(d, held, held_len, out, w)) != 0 ||
		    (rc = dec_ct(d, blob, len - WA_MEDIA_MAC_LEN, out, w)) != 0)
			return rc;
		memcpy(d->tail, blob + len - WA_MEDIA_MAC_LEN, WA_MEDIA_MAC_LEN);
		d->tail_len = WA_MEDIA_MAC_LEN;
	} else {
		size_t spill = d->tail_len + len > WA_MEDIA_MAC_LEN
			? d->tail_len + len - WA_MEDIA_MAC_LEN : 0;
		if ((rc = dec_ct(d, d->tail, spill, out, w)) != 0)
			return rc;
		memmove(d->tail, d->tail + spill, d->tail_len - spill);
		memcpy(d->tail + d->tail_len - spill, blob, len);
		d->tail_len = d->tail_len - spill + len;
	}
	d->blob_len += len;
	return 0;
}

int wa_media_dec_verify_update(wa_media_dec *d, const uint8_t *blob, size_t len)
{
	if (!d || (len && !blob))
		return WA_EINVAL;
	if (d->st != ST_OPEN)
		return WA_ESTATE;
	size_t w = 0;
	int rc = dec_feed(d, blob, len, NULL, &w);
	if (rc)
		d->st = ST_FAILED;
	return rc;
}

/* Length, fileEncSha256 and the MAC of what was fed (pass 1, or the one
 * pass); d->full_mac holds the HMAC after. */
static int dec_check_blob(wa_media_dec *d, const uint8_t *expect_enc_sha256)
{
	/* at least one block; whole blocks before the MAC */
	if (d->blob_len < 16 + WA_MEDIA_MAC_LEN || (d->blob_len - WA_MEDIA_MAC_LEN) % 16 != 0)
		return WA_EMALFORMED;
	int rc = sha_final(d->sha, d->file_enc_sha256);
	if (rc)
		return rc;
	if (expect_enc_sha256 && !wa_ct_equal(d->file_enc_sha256, expect_enc_sha256, 32))
		return WA_EMEDIA_HASH;
	if ((rc = hmac_final(&d->mac, d->full_mac)) != 0)
		return rc;
	return wa_ct_equal(d->full_mac, d->tail, WA_MEDIA_MAC_LEN) ? 0 : WA_EMEDIA_MAC;
}

int wa_media_dec_stream_update(wa_media_dec *d, uint8_t *out, size_t out_cap, size_t *out_len,
	const uint8_t *blob, size_t len)
{
	if (!d || !out || !out_len || (len && !blob) || out_cap < WA_MEDIA_UPDATE_OUT(len))
		return WA_EINVAL;
	if (d->st != ST_OPEN && d->st != ST_STREAMING)
		return WA_ESTATE;
	int rc = 0;
	if (d->st == ST_OPEN) {
		rc = WA_ENOMEM;
		if (!(d->cbc = EVP_CIPHER_CTX_new()))
			goto fail;
		rc = WA_ECRYPTO;
		if (EVP_DecryptInit_ex(d->cbc, EVP_aes_256_cbc(), NULL, d->keys.cipher_key, d->keys.iv) != 1)
			goto fail;
		if ((rc = sha_start(&d->sha_plain)) != 0)
			goto fail;
		d->st = ST_STREAMING;
	}
	size_t w = 0;
	if ((rc = dec_feed(d, blob, len, out, &w)) != 0)
		goto fail;
	*out_len = w;
	return 0;
fail:
	d->st = ST_FAILED;
	return rc;
}

int wa_media_dec_stream_final(wa_media_dec *d, const uint8_t *expect_enc_sha256, uint8_t *out, size_t out_cap,
	size_t *out_len, const uint8_t *expect_file_sha256, wa_media_result *res)
{
	if (!d || !out || !out_len || out_cap < WA_MEDIA_DEC_FINAL_OUT)
		return WA_EINVAL;
	if (d->st != ST_STREAMING)
		return d->st == ST_OPEN ? WA_EMALFORMED : WA_ESTATE; /* nothing came */
	int rc = dec_check_blob(d, expect_enc_sha256);
	if (rc)
		goto fail;
	/* the padding is looked at only under a valid MAC */
	return dec_finish(d, d->sha_plain, out, out_cap, out_len, expect_file_sha256, res);
fail:
	wa_memzero(out, out_cap < 16 ? out_cap : 16);
	d->st = ST_FAILED;
	return rc;
}

int wa_media_dec_verify_final(wa_media_dec *d, const uint8_t *expect_enc_sha256)
{
	if (!d)
		return WA_EINVAL;
	if (d->st != ST_OPEN)
		return WA_ESTATE;
	int rc = dec_check_blob(d, expect_enc_sha256);
	if (rc)
		goto fail;
	/* arm pass 2 */
	rc = WA_ENOMEM;
	if (!(d->cbc = EVP_CIPHER_CTX_new()))
		goto fail;
	rc = WA_ECRYPTO;
	if (EVP_DecryptInit_ex(d->cbc, EVP_aes_256_cbc(), NULL, d->keys.cipher_key, d->keys.iv) != 1)
		goto fail;
	if ((rc = hmac_start(&d->mac, d->keys.mac_key, d->keys.iv)) != 0 ||
	    (rc = sha_start(&d->sha)) != 0)
		goto fail;
	d->st = ST_VERIFIED;
	return 0;
fail:
	d->st = ST_FAILED;
	return rc;
}

int wa_media_dec_update(wa_media_dec *d, uint8_t *out, size_t out_cap, size_t *out_len,
	const uint8_t *blob, size_t len)
{
	if (!d || !out_len || (len && (!blob || !out)) || out_cap < WA_MEDIA_UPDATE_OUT(len))
		return WA_EINVAL;
	if (d->st != ST_VERIFIED && d->st != ST_DECRYPTING)
		return WA_ESTATE;
	d->st = ST_DECRYPTING;
	int rc = WA_ETRAILING;
	if (len > d->blob_len - d->seen2)
		goto fail;
	/* only ciphertext goes to CBC; the MAC tail, if the caller replays it,
	 * was checked in pass 1 and is skipped */
	uint64_t ct_len = d->blob_len - WA_MEDIA_MAC_LEN;
	size_t use = d->seen2 >= ct_len ? 0
		: (uint64_t)len < ct_len - d->seen2 ? len : (size_t)(ct_len - d->seen2);
	size_t w = 0;
	if ((rc = hmac_update(&d->mac, blob, use)) != 0 ||
	    (rc = cbc_update(d->cbc, false, out, &w, blob, use)) != 0 ||
	    (rc = sha_update(d->sha, out, w)) != 0)
		goto fail;
	d->seen2 += len;
	d->n_out += w;
	*out_len = w;
	return 0;
fail:
	d->st = ST_FAILED;
	return rc;
}

int wa_media_dec_final(wa_media_dec *d, uint8_t *out, size_t out_cap, size_t *out_len,
	const uint8_t *expect_file_sha256, wa_media_result *res)
{
	if (!d || !out || !out_len || out_cap < WA_MEDIA_DEC_FINAL_OUT)
		return WA_EINVAL;
	if (d->st != ST_VERIFIED && d->st != ST_DECRYPTING)
		return WA_ESTATE;
	int rc = WA_ETRUNCATED;
	uint8_t again[32];
	if (d->seen2 < d->blob_len - WA_MEDIA_MAC_LEN)
		goto fail;
	if ((rc = hmac_final(&d->mac, again)) != 0)
		goto fail;
	rc = WA_EMEDIA_MAC;
	if (!wa_ct_equal(again, d->full_mac, 32))
		goto fail;
	return dec_finish(d, d->sha, out, out_cap, out_len, expect_file_sha256, res);
fail:
	wa_memzero(out, out_cap < 16 ? out_cap : 16);
	d->st = ST_FAILED;
	return rc;
}

int wa_media_decrypt(uint8_t **pt, size_t *pt_len, const wa_media_keys *keys,
	const uint8_t *blob, size_t blob_len, const uint8_t *expect_enc_sha256,
	const uint8_t *expect_file_sha256, uint64_t max_len)
{
	if (!pt || !pt_len || !keys || (blob_len && !blob))
		return WA_EINVAL;
	wa_media_dec *d = NULL;
	uint8_t *b = NULL;
	size_t cap = 0, n1 = 0, n2 = 0;
	int rc = wa_media_dec_new(&d, keys, max_len);
	if (rc == 0)
		rc = wa_media_dec_verify_update(d, blob, blob_len);
	if (rc == 0)
		rc = wa_media_dec_verify_final(d, expect_enc_sha256);
	if (rc != 0)
		goto done;
	/* verified: the length is now trusted to be within max_len */
	cap = WA_MEDIA_UPDATE_OUT(blob_len);
	rc = WA_ENOMEM;
	if (!(b = malloc(cap)))
		goto done;
	rc = wa_media_dec_update(d, b, cap, &n1, blob, blob_len);
	if (rc == 0)
		rc = wa_media_dec_final(d, b + n1, cap - n1, &n2, expect_file_sha256, NULL);
	if (rc == 0) {
		*pt = b;
		*pt_len = n1 + n2;
		b = NULL;
	}
done:
	if (b) {
		wa_memzero(b, cap);
		free(b);
	}
	wa_media_dec_free(d);
	return rc;
}
