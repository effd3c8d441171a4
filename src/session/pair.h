/* Pairing primitives of pair.c exposed for unit tests (the handlers
 * themselves are declared in internal.h). */
#ifndef WA_SESSION_PAIR_H
#define WA_SESSION_PAIR_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"
#include "store/store.h"
#include "wa/wa.h"

typedef struct wa_pair_result {
	uint8_t adv_identity[WA_STORE_ADV_IDENTITY_MAX]; /* full ADVSignedDeviceIdentity */
	size_t adv_identity_len;
	uint8_t *reply;          /* reply form (no accountSignatureKey); malloc'd */
	size_t reply_len;
	uint32_t key_index;
	uint8_t account_key[32]; /* the primary's identity key A */
	const char *why;         /* on failure: "hmac-mismatch" / "signature-mismatch" */
} wa_pair_result;

/* §6.5 steps 1-4 on the <device-identity> bytes of pair-success. On
 * success fills *out (caller frees out->reply). Errors: WA_EMALFORMED,
 * WA_ETOOBIG, WA_ESIG_VERIFY (HMAC or account signature; out->why set),
 * WA_ECRYPTO, WA_ENOMEM. */
int wa_pair_verify_and_sign(const uint8_t *hmac_container, size_t len,
	const uint8_t adv_secret[static 32], const wa_keypair *identity,
	wa_pair_result *out) WA_MUST_CHECK;

/* 5 random bytes -> the 8-character code (§7.1 alphabet). */
void wa_pair_code_from_bytes(const uint8_t in[5], char out[9]);
/* §7.1 key wrap / unwrap (80 bytes: salt ‖ iv ‖ ciphertext). */
int wa_pair_code_wrap(const char *code, const uint8_t key[static 32], const uint8_t salt[static 32],
	const uint8_t iv[static 16], uint8_t out[static 80]) WA_MUST_CHECK;
int wa_pair_code_unwrap(const char *code, const uint8_t *w, size_t len,
	uint8_t out[static 32]) WA_MUST_CHECK;

#endif
