/* Unit tests for src/media against Baileys-produced vectors
 * (tests/vectors/media.json from getMediaKeys / encryptedStream, and the
 * messaging.md §12.1/§12.2 worked examples), plus tamper, truncation,
 * wrong-key, padding-under-valid-MAC and every-split-offset checks. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "crypto/crypto.h"
#include "media/cipher.h"
#include "media/keys.h"
#include "util/codec.h"

static uint8_t *unhex(const char *h, size_t *n)
{
	uint8_t *b = NULL;
	*n = 0;
	if (!h || wa_hex_decode(h, strlen(h), &b, n) != 0) {
		CHECK(!"bad hex");
		return calloc(1, 1);
	}
	return b ? b : calloc(1, 1);
}

static void check_hex(const uint8_t *p, size_t n, const char *want)
{
	char *h = wa_hex_encode(p, n);
	CHECK_EQ_STR(h, want);
	free(h);
}

static json_t *load_vectors(const char *name)
{
	const char *root = getenv("WA_SOURCE_ROOT");
	char path[4096];
	snprintf(path, sizeof path, "%s/tests/vectors/%s", root ? root : ".", name);
	json_error_t err;
	json_t *j = json_load_file(path, 0, &err);
	if (!j)
		fprintf(stderr, "cannot load %s: %s\n", path, err.text);
	CHECK(j != NULL);
	return j;
}

static const char *jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static const uint8_t KEY0[32] = {
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
	16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
};

/* §12.1: full 112-byte expansions, refKey included (Baileys does not return it). */
static void test_notes_keys(void)
{
	wa_media_keys k;
	CHECK_EQ_INT(wa_media_keys_derive(&k, KEY0, WA_MEDIA_IMAGE), 0);
	check_hex(k.iv, 16, "aa6a127218397cbd2383e4ccf7176a79");
	check_hex(k.cipher_key, 32, "008c9aea9b7c5d81eb56b3f530f87d42dcc92d27b11ad6b5bd66f0560d0d8c46");
	check_hex(k.mac_key, 32, "91d09ffec108833c1699574c52657923fb6e3e161d9698bc6b3a05fbc508a515");
	check_hex(k.ref_key, 32, "4d4981725e9eb39838fcff2130508f1360cbb319f99cef163d57ab7c050a667e");
	CHECK_EQ_INT(wa_media_keys_derive(&k, KEY0, WA_MEDIA_HISTORY), 0);
	check_hex((const uint8_t *)&k, 112,
		"1bbd91064f1502e1ad57057640fd66a29dc9501b504a210bf20cf49eaa9d76f4"
		"ae29094d358c7178de23d4c4702a1eef9e46652edeb6d05209b09762f8ad479d"
		"416bd00e4998e65be81ecc5580861b2fc895440e4abc770a15ba3e77ffb36d7f"
		"65b2f1afec8c51a8e2b9baa511e6a99a");
	wa_media_keys_clear(&k);
	CHECK_EQ_INT(wa_media_keys_derive(&k, KEY0, WA_MEDIA_TYPE_COUNT), WA_EINVAL);
	CHECK(wa_media_hkdf_info(WA_MEDIA_TYPE_COUNT) == NULL);
	enum wa_media_type t;
	CHECK_EQ_INT(wa_media_type_from_name(&t, "ppic"), WA_ENOTFOUND);
	CHECK_EQ_INT(wa_media_type_from_name(&t, "ptt"), 0);
	CHECK_EQ_INT(t, WA_MEDIA_AUDIO);
}

/* §12.2: "Hello, WhatsApp media!" as an image. */
static void test_notes_encrypt(void)
{
	wa_media_keys k;
	CHECK_EQ_INT(wa_media_keys_derive(&k, KEY0, WA_MEDIA_IMAGE), 0);
	const char *pt = "Hello, WhatsApp media!";
	uint8_t *blob = NULL;
	size_t n = 0;
	wa_media_result r;
	CHECK_EQ_INT(wa_media_encrypt(&blob, &n, &r, &k, (const uint8_t *)pt, strlen(pt)), 0);
	CHECK_EQ_INT(n, 42);
	check_hex(blob, n, "2c56a9beea1e92c84fa772556c3446dcc0e2445b4f5e01398b2100b403273979"
		"71644e19f92a76c6e65e");
	check_hex(r.mac, 10, "71644e19f92a76c6e65e");
	check_hex(r.file_sha256, 32, "7d65a04fcdd9650755137d4c7209553e4db3b4eeea81814e46fb1ced8c4909ea");
	check_hex(r.file_enc_sha256, 32, "fd17ed701ff70592d36969e7741816147945061dbd75a1ebda6b0402ee23661f");
	CHECK_EQ_INT(r.file_length, 22);
	uint8_t *back = NULL;
	size_t bn = 0;
	CHECK_EQ_INT(wa_media_decrypt(&back, &bn, &k, blob, n, r.file_enc_sha256, r.file_sha256, 0), 0);
	CHECK_EQ_INT(bn, 22);
	if (back)
		CHECK_EQ_MEM(back, pt, 22);
	free(back);
	free(blob);
}

static void test_baileys_vectors(void)
{
	json_t *j = load_vectors("media.json");
	if (!j)
		return;
	size_t i;
	json_t *c;
	json_t *keys = json_object_get(j, "keys");
	CHECK(json_array_size(keys) >= 15);
	json_array_foreach(keys, i, c) {
		enum wa_media_type t;
		CHECK_EQ_INT(wa_media_type_from_name(&t, jstr(c, "type")), 0);
		CHECK_EQ_STR(wa_media_hkdf_info(t), jstr(c, "info"));
		size_t mk_len;
		uint8_t *mk = unhex(jstr(c, "mediaKey"), &mk_len);
		CHECK_EQ_INT(mk_len, 32);
		wa_media_keys k;
		if (mk_len == 32 && wa_media_keys_derive(&k, mk, t) == 0) {
			check_hex(k.iv, 16, jstr(c, "iv"));
			check_hex(k.cipher_key, 32, jstr(c, "cipherKey"));
			check_hex(k.mac_key, 32, jstr(c, "macKey"));
		} else {
			CHECK(!"derive failed");
		}
		free(mk);
	}
	json_t *enc = json_object_get(j, "encrypt");
	CHECK(json_array_size(enc) >= 8);
	json_array_foreach(enc, i, c) {
		enum wa_media_type t;
		CHECK_EQ_INT(wa_media_type_from_name(&t, jstr(c, "type")), 0);
		size_t mk_len, pt_len, blob_len, fs_len, fes_len;
		uint8_t *mk = unhex(jstr(c, "mediaKey"), &mk_len);
		uint8_t *pt = unhex(jstr(c, "plaintext"), &pt_len);
		uint8_t *want = unhex(jstr(c, "blob"), &blob_len);
		uint8_t *fs = unhex(jstr(c, "fileSha256"), &fs_len);
		uint8_t *fes = unhex(jstr(c, "fileEncSha256"), &fes_len);
		wa_media_keys k;
		CHECK_EQ_INT(wa_media_keys_derive(&k, mk, t), 0);
		uint8_t *blob = NULL;
		size_t n = 0;
		wa_media_result r;
		CHECK_EQ_INT(wa_media_encrypt(&blob, &n, &r, &k, pt, pt_len), 0);
		CHECK_EQ_INT(n, blob_len);
		CHECK_EQ_INT(n, WA_MEDIA_BLOB_LEN(pt_len));
		if (blob && n == blob_len)
			CHECK_EQ_MEM(blob, want, n);
		check_hex(r.mac, 10, jstr(c, "mac"));
		CHECK_EQ_MEM(r.file_sha256, fs, 32);
		CHECK_EQ_MEM(r.file_enc_sha256, fes, 32);
		CHECK_EQ_INT(r.file_length, json_integer_value(json_object_get(c, "fileLength")));
		uint8_t *back = NULL;
		size_t bn = 0;
		CHECK_EQ_INT(wa_media_decrypt(&back, &bn, &k, want, blob_len, fes, fs, 0), 0);
		CHECK_EQ_INT(bn, pt_len);
		if (back && bn == pt_len)
			CHECK_EQ_MEM(back, pt, pt_len);
		free(back);
		free(blob);
		free(mk);
		free(pt);
		free(want);
		free(fs);
		free(fes);
	}
	json_decref(j);
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 131 + seed * 7 + (i >> 3));
}

/* Streaming decrypt with pass 1 split at a and pass 2 split at b. */
static int dec_split(const wa_media_keys *k, const uint8_t *blob, size_t n, size_t a, size_t b,
	uint8_t *out, size_t *out_len, bool replay_mac)
{
	wa_media_dec *d = NULL;
	int rc = wa_media_dec_new(&d, k, 0);
	if (rc != 0)
		return rc;
	size_t w = 0, o = 0;
	if ((rc = wa_media_dec_verify_update(d, blob, a)) == 0 &&
	    (rc = wa_media_dec_verify_update(d, blob + a, n - a)) == 0)
		rc = wa_media_dec_verify_final(d, NULL);
	size_t m = replay_mac ? n : n - WA_MEDIA_MAC_LEN;
	if (b > m)
		b = m;
	if (rc == 0 && (rc = wa_media_dec_update(d, out, b + 16, &o, blob, b)) == 0) {
		w += o;
		rc = wa_media_dec_update(d, out + w, m - b + 16, &o, blob + b, m - b);
	}
	if (rc == 0) {
		w += o;
		rc = wa_media_dec_final(d, out + w, 16, &o, NULL, NULL);
	}
	if (rc == 0)
		*out_len = w + o;
	wa_media_dec_free(d);
	return rc;
}

static void test_every_split(void)
{
	wa_media_keys k;
	CHECK_EQ_INT(wa_media_keys_derive(&k, KEY0, WA_MEDIA_VIDEO), 0);
	uint8_t pt[49], blob[128], out[160];
	int bad = 0;
	for (size_t len = 0; len <= sizeof pt; len++) {
		fill(pt, len, (unsigned)len);
		uint8_t *ref = NULL;
		size_t ref_len = 0;
		wa_media_result rr;
		CHECK_EQ_INT(wa_media_encrypt(&ref, &ref_len, &rr, &k, pt, len), 0);
		/* encrypt split at every offset, and in 1-byte steps */
		for (size_t a = 0; a <= len + 1; a++) {
			wa_media_enc *e = NULL;
			size_t w = 0, o = 0;
			wa_media_result r;
			CHECK_EQ_INT(wa_media_enc_new(&e, &k, 0), 0);
			if (a <= len) {
				bad += wa_media_enc_update(e, blob, a + 16, &o, pt, a) != 0;
				w += o;
				bad += wa_media_enc_update(e, blob + w, len - a + 16, &o, pt + a, len - a) != 0;
				w += o;
			} else {
				for (size_t i = 0; i < len; i++) {
					bad += wa_media_enc_update(e, blob + w, 17, &o, pt + i, 1) != 0;
					w += o;
				}
			}
			bad += wa_media_enc_final(e, blob + w, sizeof blob - w, &o, &r) != 0;
			w += o;
			wa_media_enc_free(e);
			bad += w != ref_len || memcmp(blob, ref, w) != 0 ||
				memcmp(r.mac, rr.mac, sizeof r.mac) != 0 ||
				memcmp(r.file_sha256, rr.file_sha256, 32) != 0 ||
				memcmp(r.file_enc_sha256, rr.file_enc_sha256, 32) != 0 ||
				r.file_length != rr.file_length;
		}
		/* decrypt split at every offset of both passes */
		for (size_t a = 0; a <= ref_len; a++) {
			for (size_t b = 0; b <= ref_len; b += (a % 3) + 1) {
				size_t n = 0;
				int rc = dec_split(&k, ref, ref_len, a, b, out, &n, (a + b) % 2 == 0);
				bad += rc != 0 || n != len || memcmp(out, pt, len) != 0;
			}
		}
		free(ref);
	}
	CHECK_EQ_INT(bad, 0);
}

/* counts a failed expectation and says where */
#define BAD(c) do { if (c) { bad++; fprintf(stderr, "%s:%d: unexpected result\n", __FILE__, __LINE__); } } while (0)
static void test_tamper(void)
{
	wa_media_keys k, other;
	CHECK_EQ_INT(wa_media_keys_derive(&k, KEY0, WA_MEDIA_DOCUMENT), 0);
	uint8_t pt[70];
	fill(pt, sizeof pt, 3);
	uint8_t *blob = NULL;
	size_t n = 0;
	wa_media_result r;
	CHECK_EQ_INT(wa_media_encrypt(&blob, &n, &r, &k, pt, sizeof pt), 0);
	static uint8_t sentinel[1];
	uint8_t *out = sentinel;
	size_t out_len = 12345;
	int bad = 0;
	/* every byte flipped: ciphertext and MAC bytes alike fail the MAC */
	for (size_t i = 0; i < n; i++) {
		blob[i] ^= 0x01;
		BAD(wa_media_decrypt(&out, &out_len, &k, blob, n, NULL, NULL, 0) != WA_EMEDIA_MAC);
		/* with the expected fileEncSha256 the hash fails first */
		BAD(wa_media_decrypt(&out, &out_len, &k, blob, n, r.file_enc_sha256, NULL, 0) !=
			WA_EMEDIA_HASH);
		blob[i] ^= 0x01;
	}
	/* truncated anywhere; one byte appended */
	for (size_t cut = 0; cut < n; cut++) {
		int rc = wa_media_decrypt(&out, &out_len, &k, blob, cut, NULL, NULL, 0);
		if (rc != WA_EMALFORMED && rc != WA_EMEDIA_MAC) fprintf(stderr, "cut %zu rc %d\n", cut, rc);
		BAD(rc != WA_EMALFORMED && rc != WA_EMEDIA_MAC);
	}
	uint8_t *longer = malloc(n + 1);
	memcpy(longer, blob, n);
	longer[n] = 0;
	BAD(wa_media_decrypt(&out, &out_len, &k, longer, n + 1, NULL, NULL, 0) != WA_EMALFORMED);
	/* 16 bytes appended keeps the shape valid: MAC catches it */
	free(longer);
	longer = malloc(n + 16);
	memcpy(longer, blob, n);
	memset(longer + n, 0, 16);
	BAD(wa_media_decrypt(&out, &out_len, &k, longer, n + 16, NULL, NULL, 0) != WA_EMEDIA_MAC);
	free(longer);
	/* wrong key, wrong media type */
	uint8_t key1[32];
	memcpy(key1, KEY0, 32);
	key1[31] ^= 0x80;
	CHECK_EQ_INT(wa_media_keys_derive(&other, key1, WA_MEDIA_DOCUMENT), 0);
	BAD(wa_media_decrypt(&out, &out_len, &other, blob, n, NULL, NULL, 0) != WA_EMEDIA_MAC);
	CHECK_EQ_INT(wa_media_keys_derive(&other, KEY0, WA_MEDIA_IMAGE), 0);
	BAD(wa_media_decrypt(&out, &out_len, &other, blob, n, NULL, NULL, 0) != WA_EMEDIA_MAC);
	/* right bytes, wrong expected plaintext hash */
	uint8_t wrong[32];
	memcpy(wrong, r.file_sha256, 32);
	wrong[0] ^= 1;
	BAD(wa_media_decrypt(&out, &out_len, &k, blob, n, r.file_enc_sha256, wrong, 0) != WA_EMEDIA_HASH);
	CHECK_EQ_INT(bad, 0);
	/* nothing was released on any failure */
	CHECK(out == sentinel);
	CHECK_EQ_INT(out_len, 12345);

	/* a size limit below the blob */
	CHECK_EQ_INT(wa_media_decrypt(&out, &out_len, &k, blob, n, NULL, NULL, 48), WA_ETOOBIG);
	CHECK_EQ_INT(wa_media_decrypt(&out, &out_len, &k, blob, n, NULL, NULL, 70), 0);
	free(out);
	free(blob);
}

static void test_state_machine(void)
{
	wa_media_keys k;
	CHECK_EQ_INT(wa_media_keys_derive(&k, KEY0, WA_MEDIA_AUDIO), 0);
	uint8_t pt[40], out[128];
	fill(pt, sizeof pt, 9);
	uint8_t *blob = NULL;
	size_t n = 0, o = 0;
	wa_media_result r;
	CHECK_EQ_INT(wa_media_encrypt(&blob, &n, &r, &k, pt, sizeof pt), 0);

	/* pass 2 before pass 1 is refused: no plaintext without a MAC check */
	wa_media_dec *d = NULL;
	CHECK_EQ_INT(wa_media_dec_new(&d, &k, 0), 0);
	CHECK_EQ_INT(wa_media_dec_update(d, out, sizeof out, &o, blob, 16), WA_ESTATE);
	CHECK_EQ_INT(wa_media_dec_final(d, out, sizeof out, &o, NULL, NULL), WA_ESTATE);
	wa_media_dec_free(d);

	/* failure is sticky */
	CHECK_EQ_INT(wa_media_dec_new(&d, &k, 0), 0);
	blob[0] ^= 1;
	CHECK_EQ_INT(wa_media_dec_verify_update(d, blob, n), 0);
	CHECK_EQ_INT(wa_media_dec_verify_final(d, NULL), WA_EMEDIA_MAC);
	blob[0] ^= 1;
	CHECK_EQ_INT(wa_media_dec_verify_update(d, blob, n), WA_ESTATE);
	CHECK_EQ_INT(wa_media_dec_verify_final(d, NULL), WA_ESTATE);
	CHECK_EQ_INT(wa_media_dec_update(d, out, sizeof out, &o, blob, n), WA_ESTATE);
	wa_media_dec_free(d);

	/* pass 2 fed different bytes than pass 1: final refuses */
	CHECK_EQ_INT(wa_media_dec_new(&d, &k, 0), 0);
	CHECK_EQ_INT(wa_media_dec_verify_update(d, blob, n), 0);
	CHECK_EQ_INT(wa_media_dec_verify_final(d, r.file_enc_sha256), 0);
	uint8_t *copy = malloc(n);
	memcpy(copy, blob, n);
	copy[20] ^= 4;
	CHECK_EQ_INT(wa_media_dec_update(d, out, sizeof out, &o, copy, n), 0);
	CHECK_EQ_INT(wa_media_dec_final(d, out, sizeof out, &o, NULL, NULL), WA_EMEDIA_MAC);
	wa_media_dec_free(d);
	free(copy);

	/* pass 2 too long / too short */
	CHECK_EQ_INT(wa_media_dec_new(&d, &k, 0), 0);
	CHECK_EQ_INT(wa_media_dec_verify_update(d, blob, n), 0);
	CHECK_EQ_INT(wa_media_dec_verify_final(d, NULL), 0);
	CHECK_EQ_INT(wa_media_dec_update(d, out, sizeof out, &o, blob, 16), 0);
	CHECK_EQ_INT(wa_media_dec_final(d, out, sizeof out, &o, NULL, NULL), WA_ETRUNCATED);
	wa_media_dec_free(d);
	CHECK_EQ_INT(wa_media_dec_new(&d, &k, 0), 0);
	CHECK_EQ_INT(wa_media_dec_verify_update(d, blob, n), 0);
	CHECK_EQ_INT(wa_media_dec_verify_final(d, NULL), 0);
	uint8_t big[128] = { 0 };
	memcpy(big, blob, n);
	CHECK_EQ_INT(wa_media_dec_update(d, out, sizeof out, &o, big, n + 1), WA_ETRAILING);
	wa_media_dec_free(d);

	/* output room too small is a caller bug */
	CHECK_EQ_INT(wa_media_dec_new(&d, &k, 0), 0);
	CHECK_EQ_INT(wa_media_dec_verify_update(d, blob, n), 0);
	CHECK_EQ_INT(wa_media_dec_verify_final(d, NULL), 0);
	CHECK_EQ_INT(wa_media_dec_update(d, out, 16, &o, blob, 16), WA_EINVAL);
	wa_media_dec_free(d);

	/* encrypt limit and sticky failure */
	wa_media_enc *e = NULL;
	CHECK_EQ_INT(wa_media_enc_new(&e, &k, 10), 0);
	CHECK_EQ_INT(wa_media_enc_update(e, out, sizeof out, &o, pt, 10), 0);
	CHECK_EQ_INT(wa_media_enc_update(e, out, sizeof out, &o, pt, 1), WA_ETOOBIG);
	CHECK_EQ_INT(wa_media_enc_final(e, out, sizeof out, &o, &r), WA_ESTATE);
	wa_media_enc_free(e);
	CHECK_EQ_INT(wa_media_enc_new(&e, &k, 0), 0);
	CHECK_EQ_INT(wa_media_enc_update(e, out, 20, &o, pt, 5), WA_EINVAL);
	CHECK_EQ_INT(wa_media_enc_final(e, out, 25, &o, &r), WA_EINVAL);
	wa_media_enc_free(e);
	wa_media_enc_free(NULL);
	wa_media_dec_free(NULL);
	e = NULL;
	d = NULL;
	CHECK_EQ_INT(wa_media_enc_new(&e, &k, UINT64_MAX), WA_EINVAL);
	CHECK_EQ_INT(wa_media_dec_new(&d, &k, WA_MEDIA_MAX_LEN_CAP + 1), WA_EINVAL);
	CHECK(e == NULL && d == NULL);
	CHECK_EQ_INT(wa_media_dec_new(&d, &k, WA_MEDIA_MAX_LEN_CAP), 0);
	wa_media_dec_free(d);
	free(blob);
}

/* A blob whose MAC is valid but whose PKCS#7 padding is not: what a buggy
 * or hostile sender holding the key could upload. */
static void test_bad_padding_valid_mac(void)
{
	wa_media_keys k;
	CHECK_EQ_INT(wa_media_keys_derive(&k, KEY0, WA_MEDIA_IMAGE), 0);
	uint8_t pt[16];
	memset(pt, 0x41, sizeof pt);
	pt[15] = 0x00; /* as a last block: pad byte 0 is invalid */
	uint8_t *blob = NULL;
	size_t n = 0;
	wa_media_result r;
	CHECK_EQ_INT(wa_media_encrypt(&blob, &n, &r, &k, pt, sizeof pt), 0);
	CHECK_EQ_INT(n, 42);
	/* keep only the first block, re-MAC it */
	uint8_t forged[26], mac_in[32], mac[32];
	memcpy(forged, blob, 16);
	memcpy(mac_in, k.iv, 16);
	memcpy(mac_in + 16, blob, 16);
	CHECK_EQ_INT(wa_hmac_sha256(mac, k.mac_key, 32, mac_in, 32), 0);
	memcpy(forged + 16, mac, 10);
	uint8_t *out = NULL;
	size_t out_len = 0;
	CHECK_EQ_INT(wa_media_decrypt(&out, &out_len, &k, forged, sizeof forged, NULL, NULL, 0), WA_EMALFORMED);
	CHECK(out == NULL);
	/* the unmodified first block with its original padding block decrypts */
	CHECK_EQ_INT(wa_media_decrypt(&out, &out_len, &k, blob, n, NULL, NULL, 0), 0);
	CHECK_EQ_INT(out_len, 16);
	free(out);
	free(blob);
}

/* The one pass at every 2-way split: the plaintext and hashes of the
 * reference, and every kind of bad blob refused at stream_final with the
 * error the two passes give. */
static int one_pass(const wa_media_keys *k, const uint8_t *blob, size_t n, size_t a, uint8_t *out,
	size_t *out_len, const uint8_t *enc_sha, const uint8_t *file_sha, uint64_t max_len, wa_media_result *res)
{
	wa_media_dec *d = NULL;
	int rc = wa_media_dec_new(&d, k, max_len);
	size_t w = 0, o = 0;
	if (a > n)
		a = n;
	if (rc == 0 && (rc = wa_media_dec_stream_update(d, out, a + 16, &o, blob, a)) == 0) {
		w += o;
		rc = wa_media_dec_stream_update(d, out + w, n - a + 16, &o, blob + a, n - a);
	}
	if (rc == 0) {
		w += o;
		rc = wa_media_dec_stream_final(d, enc_sha, out + w, 16, &o, file_sha, res);
	}
	if (rc == 0)
		*out_len = w + o;
	/* after the end (either way) the object takes nothing more */
	uint8_t x[32];
	size_t xo = 0;
	if (rc == 0 && wa_media_dec_stream_update(d, x, sizeof x, &xo, blob, 1) != WA_ESTATE)
		rc = -1000;
	wa_media_dec_free(d);
	return rc;
}

static void test_one_pass(void)
{
	wa_media_keys k;
	CHECK_EQ_INT(wa_media_keys_derive(&k, KEY0, WA_MEDIA_AUDIO), 0);
	uint8_t pt[70], out[160];
	fill(pt, sizeof pt, 9);
	int bad = 0;
	for (size_t len = 0; len <= sizeof pt; len += 7) {
		uint8_t *blob = NULL;
		size_t n = 0, got = 0;
		wa_media_result r, rr;
		CHECK_EQ_INT(wa_media_encrypt(&blob, &n, &r, &k, pt, len), 0);
		for (size_t a = 0; a <= n; a++) {
			BAD(one_pass(&k, blob, n, a, out, &got, r.file_enc_sha256, r.file_sha256, 0, &rr) != 0);
			BAD(got != len || memcmp(out, pt, len) != 0 || rr.file_length != len ||
				memcmp(rr.file_sha256, r.file_sha256, 32) != 0 || memcmp(rr.mac, r.mac, WA_MEDIA_MAC_LEN) != 0);
		}
		for (size_t i = 0; i < n; i++) {
			blob[i] ^= 0x20;
			BAD(one_pass(&k, blob, n, i, out, &got, NULL, NULL, 0, NULL) != WA_EMEDIA_MAC);
			BAD(one_pass(&k, blob, n, n - i, out, &got, r.file_enc_sha256, NULL, 0, NULL) != WA_EMEDIA_HASH);
			blob[i] ^= 0x20;
		}
		for (size_t cut = 0; cut < n; cut++) {
			int rc = one_pass(&k, blob, cut, cut / 2, out, &got, NULL, NULL, 0, NULL);
			BAD(rc != WA_EMALFORMED && rc != WA_EMEDIA_MAC);
		}
		uint8_t wrong[32];
		memcpy(wrong, r.file_sha256, 32);
		wrong[5] ^= 1;
		BAD(one_pass(&k, blob, n, 3, out, &got, NULL, wrong, 0, NULL) != WA_EMEDIA_HASH);
		BAD(len >= 32 && one_pass(&k, blob, n, 3, out, &got, NULL, NULL, 16, NULL) != WA_ETOOBIG);
		free(blob);
	}
	/* a valid MAC over a last block with bad padding */
	uint8_t p16[16];
	memset(p16, 0x41, sizeof p16);
	p16[15] = 0;
	uint8_t *blob = NULL;
	size_t n = 0, got = 0;
	wa_media_result r;
	CHECK_EQ_INT(wa_media_encrypt(&blob, &n, &r, &k, p16, sizeof p16), 0);
	uint8_t forged[26], mac_in[32], mac[32];
	memcpy(forged, blob, 16);
	memcpy(mac_in, k.iv, 16);
	memcpy(mac_in + 16, blob, 16);
	CHECK_EQ_INT(wa_hmac_sha256(mac, k.mac_key, 32, mac_in, 32), 0);
	memcpy(forged + 16, mac, 10);
	BAD(one_pass(&k, forged, sizeof forged, 7, out, &got, NULL, NULL, 0, NULL) != WA_EMALFORMED);
	free(blob);
	/* nothing fed at all; the two passes' calls refused on a one-pass object */
	wa_media_dec *d = NULL;
	size_t o = 0;
	CHECK_EQ_INT(wa_media_dec_new(&d, &k, 0), 0);
	CHECK_EQ_INT(wa_media_dec_stream_final(d, NULL, out, 16, &o, NULL, NULL), WA_EMALFORMED);
	wa_media_dec_free(d);
	CHECK_EQ_INT(wa_media_dec_new(&d, &k, 0), 0);
	CHECK_EQ_INT(wa_media_dec_stream_update(d, out, 32, &o, pt, 16), 0);
	CHECK_EQ_INT(wa_media_dec_verify_update(d, pt, 16), WA_ESTATE);
	CHECK_EQ_INT(wa_media_dec_verify_final(d, NULL), WA_ESTATE);
	wa_media_dec_free(d);
	CHECK_EQ_INT(bad, 0);
}

int main(void)
{
	test_notes_keys();
	test_notes_encrypt();
	test_baileys_vectors();
	test_every_split();
	test_tamper();
	test_state_machine();
	test_bad_padding_valid_mac();
	test_one_pass();
	return check_exit("test_media");
}
