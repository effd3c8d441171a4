/* Noise transport phase (transport-and-pairing.md §2.4): after Split, one
 * AES-256-GCM key and one 32-bit frame counter per direction, empty AAD,
 * iv = 00×8 ‖ u32be(counter). Sans-IO: frame payloads in, frame payloads
 * out, on caller buffers. */
#ifndef WA_NOISE_CIPHER_H
#define WA_NOISE_CIPHER_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"
#include "wa/wa.h"

/* Bytes a transport frame adds to its plaintext (the GCM tag). */
#define WA_NOISE_TAG_LEN WA_GCM_TAG_LEN

typedef struct wa_noise_transport wa_noise_transport;

/* New transport state with send/recv keys (copied); counters start at 0.
 * *out written only on success (WA_ENOMEM otherwise). Normally made by
 * wa_noise_hs_split. */
int wa_noise_transport_new(wa_noise_transport **out, const uint8_t send_key[static 32],
	const uint8_t recv_key[static 32]) WA_MUST_CHECK;
/* Scrubs the keys and frees; NULL is a no-op. */
void wa_noise_transport_free(wa_noise_transport *t);

/* Encrypts one frame payload: writes pt_len + WA_NOISE_TAG_LEN bytes to
 * out (may equal pt only if out has room for the tag after it). Returns 0,
 * WA_ENOISE_NONCE once 2^32 frames were sent (the counter never wraps),
 * WA_ENOISE_FAILED after a receive failure, or WA_ECRYPTO. */
int wa_noise_transport_encrypt(wa_noise_transport *t, uint8_t *out, const uint8_t *pt,
	size_t pt_len) WA_MUST_CHECK;
/* Decrypts one frame payload: writes ct_len - WA_NOISE_TAG_LEN bytes to out
 * (may equal ct). Returns 0, WA_EMALFORMED (shorter than a tag),
 * WA_ENOISE_DECRYPT (authentication failed), WA_ENOISE_NONCE (2^32 frames
 * received). Any failure is sticky: the counters are out of step with the
 * peer, so every later call on the object returns WA_ENOISE_FAILED. */
int wa_noise_transport_decrypt(wa_noise_transport *t, uint8_t *out, const uint8_t *ct,
	size_t ct_len) WA_MUST_CHECK;

/* Counters of the next frame in each direction (for tests and metrics). */
uint64_t wa_noise_transport_send_count(const wa_noise_transport *t);
uint64_t wa_noise_transport_recv_count(const wa_noise_transport *t);
/* Test hook: jump the counters (to exercise exhaustion without 2^32
 * frames). Values above 2^32 are clamped to 2^32 (exhausted). */
void wa_noise_transport_set_counts(wa_noise_transport *t, uint64_t send, uint64_t recv);

#endif
