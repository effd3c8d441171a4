/* Fuzz target: media blob decryption (bytes from a media server). Input
 * byte 0 picks a chunk size; the rest is the blob, decrypted under fixed
 * keys (mediaKey 00..1f, image) once in one shot, once streamed in
 * chunks through both passes and once through the one pass. All must
 * agree on the result and, on success, on the plaintext. Seeds include valid blobs so the decrypt path
 * past the MAC is reached (libFuzzer cannot forge HMACs). */
#include <stdlib.h>
#include <string.h>

#include "media/cipher.h"
#include "media/keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int streamed(const wa_media_keys *k, const uint8_t *blob, size_t n, size_t chunk,
	uint8_t **pt, size_t *pt_len)
{
	wa_media_dec *d = NULL;
	uint8_t *out = NULL;
	size_t w = 0, o = 0;
	int rc = wa_media_dec_new(&d, k, 1u << 20);
	for (size_t off = 0; rc == 0 && off < n; off += chunk)
		rc = wa_media_dec_verify_update(d, blob + off, n - off < chunk ? n - off : chunk);
	if (rc == 0)
		rc = wa_media_dec_verify_final(d, NULL);
	if (rc == 0 && !(out = malloc(n + 16)))
		abort();
	for (size_t off = 0; rc == 0 && off < n; off += chunk) {
		size_t c = n - off < chunk ? n - off : chunk;
		rc = wa_media_dec_update(d, out + w, c + 16, &o, blob + off, c);
		w += rc == 0 ? o : 0;
	}
	if (rc == 0)
		rc = wa_media_dec_final(d, out + w, 16, &o, NULL, NULL);
	wa_media_dec_free(d);
	if (rc != 0) {
		free(out);
		return rc;
	}
	*pt = out;
	*pt_len = w + o;
	return 0;
}

static int one_pass(const wa_media_keys *k, const uint8_t *blob, size_t n, size_t chunk,
	uint8_t **pt, size_t *pt_len)
{
	wa_media_dec *d = NULL;
	uint8_t *out = malloc(n + 32);
	size_t w = 0, o = 0;
	if (!out)
		abort();
	int rc = wa_media_dec_new(&d, k, 1u << 20);
	for (size_t off = 0; rc == 0 && off < n; off += chunk) {
		size_t c = n - off < chunk ? n - off : chunk;
		rc = wa_media_dec_stream_update(d, out + w, c + 16, &o, blob + off, c);
		w += rc == 0 ? o : 0;
	}
	if (rc == 0)
		rc = wa_media_dec_stream_final(d, NULL, out + w, 16, &o, NULL, NULL);
	wa_media_dec_free(d);
	if (rc != 0) {
		free(out);
		return rc;
	}
	*pt = out;
	*pt_len = w + o;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t media_key[32] = {
		0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
		16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
	};
	if (size < 1)
		return 0;
	size_t chunk = 1 + data[0] % 37;
	const uint8_t *blob = data + 1;
	size_t n = size - 1;
	wa_media_keys k;
	if (wa_media_keys_derive(&k, media_key, WA_MEDIA_IMAGE) != 0)
		abort();
	uint8_t *a = NULL, *b = NULL;
	size_t an = 0, bn = 0;
	int ra = wa_media_decrypt(&a, &an, &k, blob, n, NULL, NULL, 1u << 20);
	int rb = streamed(&k, blob, n, chunk, &b, &bn);
	if (ra != rb)
		abort();
	if (ra == 0 && (an != bn || memcmp(a, b, an) != 0 || an + 16 + WA_MEDIA_MAC_LEN < n))
		abort();
	/* the one pass: the same verdict (an empty blob is malformed in both) */
	uint8_t *c = NULL;
	size_t cn = 0;
	int rc1 = one_pass(&k, blob, n, chunk, &c, &cn);
	if (rc1 != ra)
		abort();
	if (ra == 0 && (cn != an || memcmp(a, c, an) != 0))
		abort();
	free(a);
	free(b);
	free(c);
	return 0;
}
