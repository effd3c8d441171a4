/* Key generation for one instance: identity key pair + registration id,
 * signed pre-key (XEdDSA by the identity key over the 33-byte 0x05-prefixed
 * public key, as Baileys signedKeyPair and libsignal's bundle check), and
 * batches of one-time pre-keys with 24-bit ids wrapping in 1..0xFFFFFF.
 * Keys leave here raw (32 bytes, the wire form, messaging.md §2); the
 * records saved in the store are libsignal's serialization. */
#ifndef WA_SIGNAL_PREKEYS_H
#define WA_SIGNAL_PREKEYS_H

#include <stddef.h>
#include <stdint.h>

#include "signal/context.h"

#define WA_SIG_KEY_LEN 32
#define WA_SIG_SIG_LEN 64
#define WA_SIG_KEY_ID_LEN 3          /* pre-key ids are 3 bytes on the wire */
#define WA_SIG_MAX_PREKEY_ID 0xFFFFFFu
#define WA_SIG_MAX_PREKEY_BATCH 1000 /* first upload is 812 */
#define WA_SIG_REGID_MASK 0x3FFFu    /* 14-bit registration ids (Baileys) */

typedef struct wa_sig_prekey {
	uint32_t id;
	uint8_t pub[WA_SIG_KEY_LEN];
} wa_sig_prekey;

typedef struct wa_sig_signed_prekey {
	uint32_t id;
	uint8_t pub[WA_SIG_KEY_LEN];
	uint8_t sig[WA_SIG_SIG_LEN];
} wa_sig_signed_prekey;

/* Fills c->identity_pub, c->identity_priv and c->registration_id (1..0x3FFF)
 * with fresh values (randomness: wa_rand_bytes). Touches nothing else; the
 * caller saves the creds. */
int wa_sig_identity_generate(wa_store_creds *c) WA_MUST_CHECK;

/* Generates signed pre-key id (1..0xFFFFFF), saves its record in the
 * signed-pre-key table and returns its wire form in *out. timestamp_ms goes
 * into the record (the codec reads no clock). The caller copies *out (and
 * nothing secret is needed) into its creds if it keeps the current one there. */
int wa_sig_signed_prekey_generate(wa_sig *s, uint32_t id, uint64_t timestamp_ms,
	wa_sig_signed_prekey *out) WA_MUST_CHECK;

/* Generates n (1..WA_SIG_MAX_PREKEY_BATCH) one-time pre-keys with ids
 * first_id, first_id+1, ... wrapping from 0xFFFFFF to 1, saves their records
 * in one transaction and writes them to out[0..n). *next_id_out (may be
 * NULL) gets the id after the last one. first_id 0 is taken as 1. On
 * failure nothing is stored and out[] holds garbage. */
int wa_sig_prekeys_generate(wa_sig *s, uint32_t first_id, size_t n, wa_sig_prekey *out,
	uint32_t *next_id_out) WA_MUST_CHECK;

/* The id after id in 1..0xFFFFFF (wraps). */
uint32_t wa_sig_prekey_next_id(uint32_t id);

/* 3-byte big-endian ids as uploaded / fetched. decode: WA_EMALFORMED for 0. */
void wa_sig_key_id_encode(uint32_t id, uint8_t out[WA_SIG_KEY_ID_LEN]);
int wa_sig_key_id_decode(const uint8_t *p, size_t len, uint32_t *id_out) WA_MUST_CHECK;

/* XEdDSA check of a signed pre-key against a raw identity key: 0 or WA_ESIG_VERIFY. */
int wa_sig_signed_prekey_verify(const uint8_t identity_pub[WA_SIG_KEY_LEN],
	const uint8_t spk_pub[WA_SIG_KEY_LEN], const uint8_t sig[WA_SIG_SIG_LEN]) WA_MUST_CHECK;

#endif
