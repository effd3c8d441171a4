/* pkmsg/msg (1:1) and skmsg (group) encryption for one instance (layer 6).
 * Sans-IO: bytes in, bytes out; state lives in the wa_store behind the
 * wa_sig. Plaintexts here are UNPADDED Message protobufs: encrypt adds
 * WhatsApp's random padding, decrypt strips it strictly (padding.h), and a
 * bad pad fails the decrypt before any ratchet state is saved.
 *
 * Addresses: name = JID user part (e.g. "15550001111" or a LID user),
 * device = the JID's device id (0 for the primary). Group ids are the group
 * JID string ("120363...@g.us"). Names are NUL-terminated, shorter than
 * WA_STORE_JID_MAX.
 *
 * Every call that writes runs as one transaction (a savepoint when the
 * caller holds one, see context.h). Decrypt failures leave the session as
 * it was: WA_ESIG_DUPLICATE (replayed ciphertext / old counter),
 * WA_ESIG_NOSESSION (msg/skmsg without a session or sender key),
 * WA_ESIG_NOPREKEY (pkmsg names a one-time/signed pre-key we don't have),
 * WA_ESIG_INVALID (malformed, bad MAC or signature, bad padding, wrong
 * version), WA_ESIG_UNTRUSTED (never with the default trust policy),
 * WA_ESIG_VERIFY (bundle signature), or store errors (WA_EDB*).
 * Byte outputs are malloc'd (free with free()) and written only on success. */
#ifndef WA_SIGNAL_CIPHER_H
#define WA_SIGNAL_CIPHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "signal/context.h"
#include "signal/prekeys.h"

/* Ciphertexts we accept (well over any real Message). */
#define WA_SIG_MAX_CIPHERTEXT (8u * 1024 * 1024)

enum wa_sig_msg_type {
	WA_SIG_TYPE_MSG = 2,   /* SignalMessage          <enc type="msg"> */
	WA_SIG_TYPE_PKMSG = 3, /* PreKeySignalMessage    <enc type="pkmsg"> */
	WA_SIG_TYPE_SKMSG = 4, /* SenderKeyMessage       <enc type="skmsg"> */
};
/* "msg" / "pkmsg" / "skmsg"; NULL for anything else. */
const char *wa_sig_type_name(enum wa_sig_msg_type t);
/* The inverse; WA_EMALFORMED for unknown names. */
int wa_sig_type_parse(const char *name, enum wa_sig_msg_type *out) WA_MUST_CHECK;

/* A peer device's pre-key bundle as fetched (messaging.md §2), raw keys. */
typedef struct wa_sig_bundle {
	uint32_t registration_id;
	uint8_t identity[WA_SIG_KEY_LEN];
	uint32_t signed_prekey_id;
	uint8_t signed_prekey[WA_SIG_KEY_LEN];
	uint8_t signed_prekey_sig[WA_SIG_SIG_LEN];
	bool has_prekey;
	uint32_t prekey_id;
	uint8_t prekey[WA_SIG_KEY_LEN];
} wa_sig_bundle;

/* Builds (or replaces) the session with name/device from a bundle. The next
 * encrypt to it yields a pkmsg until the peer answers. */
int wa_sig_session_from_bundle(wa_sig *s, const char *name, int32_t device,
	const wa_sig_bundle *b) WA_MUST_CHECK;
/* *out = whether a session exists. */
int wa_sig_session_exists(wa_sig *s, const char *name, int32_t device, bool *out) WA_MUST_CHECK;
/* Drops the session (e.g. on a retry receipt asking for a new one). */
int wa_sig_session_delete(wa_sig *s, const char *name, int32_t device) WA_MUST_CHECK;

/* Pads pt and encrypts it for name/device: *type_out is PKMSG or MSG. */
int wa_sig_encrypt(wa_sig *s, const char *name, int32_t device, const uint8_t *pt, size_t pt_len,
	enum wa_sig_msg_type *type_out, uint8_t **ct_out, size_t *ct_len_out) WA_MUST_CHECK;
/* Decrypts a PKMSG or MSG from name/device and unpads it. */
int wa_sig_decrypt(wa_sig *s, const char *name, int32_t device, enum wa_sig_msg_type type,
	const uint8_t *ct, size_t ct_len, uint8_t **pt_out, size_t *pt_len_out) WA_MUST_CHECK;

/* ---- sender keys (groups) ----
 * (group, name, device) names a sender key: ours when sending, the
 * participant's when receiving. */

/* Creates our sender key for group if absent and returns its
 * SenderKeyDistributionMessage bytes (what goes into
 * Message.senderKeyDistributionMessage.axolotlSenderKeyDistributionMessage). */
int wa_sig_group_skdm(wa_sig *s, const char *group, const char *name, int32_t device,
	uint8_t **skdm_out, size_t *skdm_len_out) WA_MUST_CHECK;
/* Stores a participant's sender key from a received SKDM. */
int wa_sig_group_process_skdm(wa_sig *s, const char *group, const char *name, int32_t device,
	const uint8_t *skdm, size_t skdm_len) WA_MUST_CHECK;
/* Pads and encrypts with our sender key (create it first with wa_sig_group_skdm;
 * WA_ESIG_NOSESSION otherwise). */
int wa_sig_group_encrypt(wa_sig *s, const char *group, const char *name, int32_t device,
	const uint8_t *pt, size_t pt_len, uint8_t **ct_out, size_t *ct_len_out) WA_MUST_CHECK;
/* Decrypts an skmsg from participant name/device and unpads it. */
int wa_sig_group_decrypt(wa_sig *s, const char *group, const char *name, int32_t device,
	const uint8_t *ct, size_t ct_len, uint8_t **pt_out, size_t *pt_len_out) WA_MUST_CHECK;

#endif
