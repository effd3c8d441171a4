/* Media encryption (messaging.md §7, §12.2): AES-256-CBC with PKCS#7 under
 * cipherKey/iv, then the first 10 bytes of HMAC-SHA256(macKey, iv ‖ ct)
 * appended. The uploaded blob is ct ‖ mac; fileSha256 = SHA-256(plaintext),
 * fileEncSha256 = SHA-256(blob), fileLength = plaintext length.
 *
 * Streaming, sans-IO: the session layer feeds chunks as HTTP delivers or
 * accepts them. Decryption authenticates before it releases anything:
 *   pass 1  wa_media_dec_verify_update (whole blob, any chunking), then
 *           wa_media_dec_verify_final checks length, fileEncSha256 (if
 *           given) and the MAC in constant time;
 *   pass 2  wa_media_dec_update / wa_media_dec_final decrypt the same blob
 *           again (e.g. from the temp file pass 1 wrote) and release
 *           plaintext. Pass 2 recomputes the MAC and fails at final if the
 *           bytes changed, but plaintext handed out before that came from
 *           the caller's own storage: keep it where nobody else writes.
 * wa_media_decrypt does both passes over one in-memory blob.
 * One pass, for a caller that keeps its output private until the end (a
 * temp file only the caller can reach, removed unless final succeeds):
 * wa_media_dec_stream_update MACs, hashes and decrypts each chunk as it
 * comes; its output is unauthenticated. wa_media_dec_stream_final checks
 * length, fileEncSha256 and the MAC first, then the padding and
 * fileSha256; only its success makes the output trustworthy.
 * Any error makes the object failed (sticky): later calls give WA_ESTATE.
 * Objects are single-threaded; keys are copied in and scrubbed by _free. */
#ifndef WA_MEDIA_CIPHER_H
#define WA_MEDIA_CIPHER_H

#include <stddef.h>
#include <stdint.h>

#include "media/keys.h"
#include "wa/wa.h"

#define WA_MEDIA_MAC_LEN 10
#define WA_MEDIA_SHA256_LEN 32
/* Default plaintext size limit (WhatsApp's own limit for documents is 2 GB). */
#define WA_MEDIA_DEFAULT_MAX_LEN ((uint64_t)2 << 30)
/* Largest max_len a caller may configure (keeps the blob arithmetic far
 * from overflow); above it _new returns WA_EINVAL. */
#define WA_MEDIA_MAX_LEN_CAP ((uint64_t)1 << 40)
/* Blob length for n plaintext bytes: padded ciphertext plus the MAC. */
#define WA_MEDIA_BLOB_LEN(n) ((uint64_t)(n) / 16 * 16 + 16 + WA_MEDIA_MAC_LEN)
/* Output room an update needs for in_len input bytes, and final's output. */
#define WA_MEDIA_UPDATE_OUT(in_len) ((size_t)(in_len) + 16)
#define WA_MEDIA_ENC_FINAL_OUT (16 + WA_MEDIA_MAC_LEN)
#define WA_MEDIA_DEC_FINAL_OUT 16

typedef struct wa_media_result {
	uint8_t file_sha256[WA_MEDIA_SHA256_LEN];
	uint8_t file_enc_sha256[WA_MEDIA_SHA256_LEN];
	uint8_t mac[WA_MEDIA_MAC_LEN];
	uint64_t file_length;
} wa_media_result;

typedef struct wa_media_enc wa_media_enc;
typedef struct wa_media_dec wa_media_dec;

/* max_len: plaintext limit in bytes, 0 for WA_MEDIA_DEFAULT_MAX_LEN, at
 * most WA_MEDIA_MAX_LEN_CAP. Errors: WA_EINVAL, WA_ENOMEM, WA_ECRYPTO. */
int wa_media_enc_new(wa_media_enc **out, const wa_media_keys *keys, uint64_t max_len) WA_MUST_CHECK;
/* Encrypts in_len bytes; writes *out_len (<= in_len + 15) bytes of blob to
 * out, which must hold WA_MEDIA_UPDATE_OUT(in_len) (else WA_EINVAL).
 * WA_ETOOBIG once the total passes max_len. */
int wa_media_enc_update(wa_media_enc *e, uint8_t *out, size_t out_cap, size_t *out_len,
	const uint8_t *in, size_t in_len) WA_MUST_CHECK;
/* Writes the last padded block and the MAC (*out_len <= 26) and fills
 * *res. After success the object accepts only _free. */
int wa_media_enc_final(wa_media_enc *e, uint8_t *out, size_t out_cap, size_t *out_len,
	wa_media_result *res) WA_MUST_CHECK;
void wa_media_enc_free(wa_media_enc *e);

/* One-shot: *blob is malloc'd (free()), WA_MEDIA_BLOB_LEN(pt_len) bytes. */
int wa_media_encrypt(uint8_t **blob, size_t *blob_len, wa_media_result *res,
	const wa_media_keys *keys, const uint8_t *pt, size_t pt_len) WA_MUST_CHECK;

/* max_len as for wa_media_enc_new (bounds the blob at WA_MEDIA_BLOB_LEN). */
int wa_media_dec_new(wa_media_dec **out, const wa_media_keys *keys, uint64_t max_len) WA_MUST_CHECK;
/* Pass 1. WA_ETOOBIG past the limit. */
int wa_media_dec_verify_update(wa_media_dec *d, const uint8_t *blob, size_t len) WA_MUST_CHECK;
/* End of pass 1. expect_enc_sha256 (fileEncSha256) may be NULL.
 * Errors: WA_EMALFORMED (length is not 16k + 26), WA_EMEDIA_HASH,
 * WA_EMEDIA_MAC. */
int wa_media_dec_verify_final(wa_media_dec *d, const uint8_t *expect_enc_sha256) WA_MUST_CHECK;
/* Pass 2, only after verify_final succeeded (else WA_ESTATE): the same blob
 * again, any chunking, with or without its 10 MAC bytes. Writes *out_len
 * plaintext bytes; out must hold WA_MEDIA_UPDATE_OUT(len). More bytes than
 * pass 1 saw: WA_ETRAILING. */
int wa_media_dec_update(wa_media_dec *d, uint8_t *out, size_t out_cap, size_t *out_len,
	const uint8_t *blob, size_t len) WA_MUST_CHECK;
/* Writes the last plaintext bytes (<= 16) without padding. Errors:
 * WA_ETRUNCATED (pass 2 ended early), WA_EMEDIA_MAC (pass 2 bytes differ
 * from pass 1), WA_EMALFORMED (bad PKCS#7 padding under a valid MAC: the
 * sender encrypted garbage), WA_EMEDIA_HASH (expect_file_sha256, may be
 * NULL, differs). On success *res (may be NULL) gets the hashes, MAC and
 * plaintext length. */
int wa_media_dec_final(wa_media_dec *d, uint8_t *out, size_t out_cap, size_t *out_len,
	const uint8_t *expect_file_sha256, wa_media_result *res) WA_MUST_CHECK;
void wa_media_dec_free(wa_media_dec *d);

/* One pass (instead of both passes above, on a fresh object): writes
 * *out_len unauthenticated plaintext bytes; out must hold
 * WA_MEDIA_UPDATE_OUT(len). WA_ETOOBIG past the limit. */
int wa_media_dec_stream_update(wa_media_dec *d, uint8_t *out, size_t out_cap, size_t *out_len,
	const uint8_t *blob, size_t len) WA_MUST_CHECK;
/* End of the one pass: WA_EMALFORMED (length, or bad padding under a valid
 * MAC), WA_EMEDIA_HASH (either hash differs; expectations may be NULL),
 * WA_EMEDIA_MAC. On success writes the last plaintext bytes (<= 15) and
 * fills *res (may be NULL); on failure everything written so far must be
 * thrown away. */
int wa_media_dec_stream_final(wa_media_dec *d, const uint8_t *expect_enc_sha256, uint8_t *out, size_t out_cap,
	size_t *out_len, const uint8_t *expect_file_sha256, wa_media_result *res) WA_MUST_CHECK;

/* One-shot over an in-memory blob: both passes. *pt is malloc'd (free();
 * non-NULL even for an empty plaintext). Hash expectations may be NULL;
 * max_len 0 = default. Nothing is written to *pt unless every check passed. */
int wa_media_decrypt(uint8_t **pt, size_t *pt_len, const wa_media_keys *keys,
	const uint8_t *blob, size_t blob_len, const uint8_t *expect_enc_sha256,
	const uint8_t *expect_file_sha256, uint64_t max_len) WA_MUST_CHECK;

#endif
