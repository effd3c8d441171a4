/* App-state sync codec (sans-IO; messaging.md §9 "App state"): the keys a
 * 32-byte sync key expands to, the LT-hash, the index / value / snapshot /
 * patch MACs, and the decoding (with every check) and encoding of patches.
 * Depends on crypto and proto only, so wasim builds it too (as it builds
 * reporting.c) and encodes what libwa decodes; Baileys is the independent
 * check of both (tests/sim/e2e_appstate.mjs).
 *
 * Derivation, as Baileys rc14 and whatsmeow do it:
 *  - keys: HKDF-SHA256(key_data, no salt, "WhatsApp Mutation Keys", 160) cut
 *    into index, value-encryption, value-MAC, snapshot-MAC, patch-MAC keys;
 *  - index MAC: HMAC-SHA256(index key, index JSON);
 *  - value blob: IV(16) || AES-256-CBC(SyncActionData) || value MAC, where the
 *    value MAC is the first 32 bytes of HMAC-SHA512(value-MAC key,
 *    op || key id || IV || ciphertext || 8-byte big-endian length of
 *    op || key id), op 1 for SET and 2 for REMOVE;
 *  - LT-hash: 128 bytes seen as 64 little-endian uint16; a value MAC is
 *    added (SET) or subtracted (the value it replaces or removes) as its
 *    HKDF-SHA256(mac, no salt, "WhatsApp Patch Integrity", 128) expansion,
 *    element-wise modulo 2^16;
 *  - snapshot MAC: HMAC-SHA256(snapshot key, hash || version (8, BE) || name);
 *  - patch MAC: HMAC-SHA256(patch key, snapshot MAC || value MACs ||
 *    version (8, BE) || name). */
#ifndef WA_SESSION_SYNCD_H
#define WA_SESSION_SYNCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wa/wa.h"

#define WA_SYNCD_HASH_LEN 128
#define WA_SYNCD_MAC_LEN 32
#define WA_SYNCD_KEY_ID_MAX 64
#define WA_SYNCD_MAX_MUTATIONS 10000  /* per patch or snapshot */
#define WA_SYNCD_MAX_BYTES (8u << 20) /* a patch / snapshot we decode */

enum wa_syncd_op { WA_SYNCD_SET = 0, WA_SYNCD_REMOVE = 1 };

typedef struct wa_syncd_keys {
	uint8_t index[32], value_enc[32], value_mac[32], snapshot_mac[32], patch_mac[32];
} wa_syncd_keys;

int wa_syncd_expand_keys(const uint8_t *key_data, size_t len, wa_syncd_keys *out) WA_MUST_CHECK;
/* Adds (subtract false) or subtracts one value MAC. */
int wa_syncd_lthash_mix(uint8_t hash[WA_SYNCD_HASH_LEN], const uint8_t mac[WA_SYNCD_MAC_LEN],
	bool subtract) WA_MUST_CHECK;
int wa_syncd_value_mac(uint8_t out[WA_SYNCD_MAC_LEN], enum wa_syncd_op op, const uint8_t *enc, size_t enc_len,
	const uint8_t *key_id, size_t key_id_len, const uint8_t key[32]) WA_MUST_CHECK;
int wa_syncd_snapshot_mac(uint8_t out[WA_SYNCD_MAC_LEN], const uint8_t hash[WA_SYNCD_HASH_LEN], uint64_t version,
	const char *name, const uint8_t key[32]) WA_MUST_CHECK;
int wa_syncd_patch_mac(uint8_t out[WA_SYNCD_MAC_LEN], const uint8_t snapshot_mac[WA_SYNCD_MAC_LEN],
	const uint8_t (*value_macs)[WA_SYNCD_MAC_LEN], size_t n, uint64_t version, const char *name,
	const uint8_t key[32]) WA_MUST_CHECK;

/* What decoding needs from the caller's state. get_keys: the expanded keys of
 * a key id, WA_ENOTFOUND when we do not have it. get_value_mac: the value MAC
 * stored under an index MAC (the value a SET replaces or a REMOVE removes),
 * WA_ENOTFOUND when none. */
typedef struct wa_syncd_ops {
	int (*get_keys)(void *user, const uint8_t *key_id, size_t key_id_len, wa_syncd_keys *out);
	int (*get_value_mac)(void *user, const uint8_t index_mac[WA_SYNCD_MAC_LEN], uint8_t out[WA_SYNCD_MAC_LEN]);
	void *user;
} wa_syncd_ops;

/* One verified, decrypted mutation. */
typedef struct wa_syncd_mutation {
	enum wa_syncd_op op;
	uint8_t index_mac[WA_SYNCD_MAC_LEN];
	uint8_t value_mac[WA_SYNCD_MAC_LEN];
	char *index_json;   /* the index, e.g. ["archive","1555...@s.whatsapp.net"] */
	uint8_t *value;     /* serialized SyncActionValue (may be empty) */
	size_t value_len;
	int32_t version;    /* SyncActionData.version */
} wa_syncd_mutation;

typedef struct wa_syncd_result {
	uint64_t version;                  /* the version the patch brings the collection to */
	uint8_t hash[WA_SYNCD_HASH_LEN];   /* the LT-hash after it */
	wa_syncd_mutation *muts;
	size_t n;
	/* on failure: what failed, in words (static), e.g. "patch MAC mismatch";
	 * for WA_ENOTFOUND the key id that is missing */
	const char *error;
	uint8_t missing_key[WA_SYNCD_KEY_ID_MAX];
	size_t missing_key_len;
} wa_syncd_result;

/* Decodes and verifies a SyncdPatch of collection `name` on top of prev_hash
 * (the stored LT-hash; the version must be the patch's minus one, the caller
 * checks). version_hint: used when the patch carries no version (Baileys
 * takes the collection's). Checks the patch MAC, every value MAC, decrypts,
 * checks every index MAC, mixes the LT-hash and checks the snapshot MAC
 * against it. Returns 0; WA_ENOTFOUND (a key is missing: missing_key);
 * WA_ECRYPTO (a MAC or the LT-hash does not match: error says which);
 * WA_EMALFORMED / WA_ETOOBIG / WA_EUNSUPPORTED (external mutations not
 * inlined yet: wa_syncd_patch_inline). On
 * failure out->muts is empty; error is set in every failure. */
int wa_syncd_decode_patch(const char *name, const uint8_t *patch, size_t len, uint64_t version_hint,
	const uint8_t prev_hash[WA_SYNCD_HASH_LEN], const wa_syncd_ops *ops, wa_syncd_result *out) WA_MUST_CHECK;
/* A patch whose mutations came as an external blob (SyncdPatch.
 * external_mutations, a media download): *out is the same patch with the
 * blob's SyncdMutations appended to its inline ones and the reference
 * dropped, ready for wa_syncd_decode_patch (the MACs cover the mutations,
 * not the encoding). *out: malloc'd. WA_EMALFORMED when either does not
 * parse, WA_ETOOBIG past WA_SYNCD_MAX_MUTATIONS. */
int wa_syncd_patch_inline(const uint8_t *patch, size_t len, const uint8_t *muts, size_t muts_len, uint8_t **out,
	size_t *out_len) WA_MUST_CHECK;
/* A SyncdSnapshot: every record a SET on an empty hash, then the MAC. */
int wa_syncd_decode_snapshot(const char *name, const uint8_t *snap, size_t len, const wa_syncd_ops *ops,
	wa_syncd_result *out) WA_MUST_CHECK;
void wa_syncd_result_clear(wa_syncd_result *r);

/* ---- encoding (wasim's phone; our own mutations later) ---- */

/* One mutation to encode: index JSON and a serialized SyncActionValue. */
typedef struct wa_syncd_new {
	enum wa_syncd_op op;
	const char *index_json;
	const uint8_t *value;
	size_t value_len;
	int32_t version;
	uint8_t iv[16];
} wa_syncd_new;

/* Encodes a SyncdPatch with mutations muts[0..n) that takes the collection
 * from `version` (hash *hash, updated in place) to version + 1. get_value_mac
 * in ops tells which value each index replaces; out_macs (n entries, may be
 * NULL) receives each mutation's index and value MACs for the caller's map.
 * *out: malloc'd bytes. */
int wa_syncd_encode_patch(const char *name, uint64_t version, uint8_t hash[WA_SYNCD_HASH_LEN],
	const uint8_t *key_data, size_t key_data_len, const uint8_t *key_id, size_t key_id_len,
	const wa_syncd_new *muts, size_t n, const wa_syncd_ops *ops, uint8_t (*out_macs)[2][WA_SYNCD_MAC_LEN],
	uint8_t **out, size_t *out_len) WA_MUST_CHECK;

#endif
