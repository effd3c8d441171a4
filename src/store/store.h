/* src/store: the SQLite persistence layer under src/signal and src/session.
 * One wa_store handle is one open database file; every row carries an
 * instance_id so one file can hold one or many WhatsApp instances (tenants).
 * Everything that must survive a crash together is written inside one
 * wa_store_begin()/wa_store_commit() pair.
 *
 * Threading: a handle is used from one thread (the event loop) only.
 * Errors: 0 or a negative WA_E* (include/wa/wa.h): WA_EDB (other SQLite
 * error), WA_EDB_BUSY, WA_EDB_SCHEMA, WA_EDB_KEY, WA_EDB_CORRUPT, WA_ENOMEM,
 * WA_EINVAL (our bug: bad argument), WA_ETOOBIG (value over a WA_STORE_MAX_*),
 * WA_ENOTFOUND (load of an absent row), WA_EEXIST.
 * Out-parameters are written only on success.
 * Blobs returned through (uint8_t **out, size_t *out_len) are malloc'd and
 * owned by the caller; free them with wa_store_free(p, len), which scrubs. */
#ifndef WA_STORE_STORE_H
#define WA_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wa/wa.h"

/* The handle, options, open/close, transactions and instances are public:
 * include/wa/store.h. Everything below is internal to libwa. */
#include "wa/store.h"

/* ---- group commit ----
 * Many units of work (e.g. the messages of an offline-queue drain) in one
 * durable transaction, with what must follow durability (receipts) sent by
 * the caller's flush_fn after the one commit. Safe by construction: while
 * a group is open, any store write or wa_store_begin outside a unit first
 * flushes the group (commit + flush_fn), so no other operation (a send
 * whose ratchet step must be durable before its frame leaves) ever runs
 * inside the uncommitted group. Reads do not flush; they see the group's
 * rows. One group per handle; units do not nest (wa_store_begin inside a
 * unit nests as usual).
 * flush_fn(user, rc): rc 0 = committed; otherwise the group's work is gone
 * (rolled back) and whatever waited for it must be dropped, not sent. */
typedef void (*wa_store_group_flush_fn)(void *user, int rc);
/* Opens the group (BEGIN IMMEDIATE) if none is open; the transaction depth
 * must be 0 (else WA_ESTATE). A group already open with another flush_fn
 * or user is flushed first. */
int wa_store_group_open(wa_store *st, wa_store_group_flush_fn fn, void *user) WA_MUST_CHECK;
/* A unit inside the open group (a savepoint): WA_ESTATE without a group or
 * inside a unit. */
int wa_store_unit_begin(wa_store *st) WA_MUST_CHECK;
/* rc == 0 keeps the unit's writes in the group, otherwise undoes them.
 * Returns rc, or the store error. If SQLite dropped the whole transaction
 * (I/O error, out of memory) the group is flushed with that error. */
int wa_store_unit_end(wa_store *st, int rc);
/* Commits the open group and calls its flush_fn; no-op without a group.
 * Returns the commit result. */
int wa_store_group_flush(wa_store *st);
bool wa_store_group_active(const wa_store *st);
/* A transaction that may join the open group (turn mode, include/wa/
 * store.h): at depth 0 or directly inside an open group with no unit, a
 * unit of the group (opened first if needed) that the matching
 * wa_store_commit / wa_store_rollback ends; otherwise wa_store_begin. Its
 * side effects go through wa_store_after_commit. */
int wa_store_begin_grouped(wa_store *st) WA_MUST_CHECK;
/* The caller's transaction is the outermost of its own (depth 1, or the
 * unit of a group). */
bool wa_store_tx_outermost(const wa_store *st);

/* ---- device credentials (one row per instance) ---- */
typedef struct wa_store_creds {
	uint8_t noise_pub[WA_STORE_KEY_LEN];
	uint8_t noise_priv[WA_STORE_KEY_LEN];          /* encrypted at rest */
	uint8_t identity_pub[WA_STORE_KEY_LEN];
	uint8_t identity_priv[WA_STORE_KEY_LEN];       /* encrypted at rest */
	uint32_t registration_id;
	uint8_t adv_secret[WA_STORE_KEY_LEN];          /* encrypted at rest */
	uint32_t signed_prekey_id;
	uint8_t signed_prekey_pub[WA_STORE_KEY_LEN];
	uint8_t signed_prekey_priv[WA_STORE_KEY_LEN];  /* encrypted at rest */
	uint8_t signed_prekey_sig[WA_STORE_SIG_LEN];
	uint32_t next_prekey_id;                       /* next id to generate */
	uint32_t first_unuploaded_prekey_id;
	char me_jid[WA_STORE_JID_MAX];                 /* "" until paired */
	char me_lid[WA_STORE_JID_MAX];                 /* "" if unknown */
	uint8_t adv_identity[WA_STORE_ADV_IDENTITY_MAX]; /* ADVSignedDeviceIdentity bytes */
	size_t adv_identity_len;                       /* 0 until paired */
	char platform[WA_STORE_PLATFORM_MAX];
	char push_name[WA_STORE_PUSH_NAME_MAX];
	uint8_t routing_info[WA_STORE_ROUTING_MAX];
	size_t routing_info_len;
} wa_store_creds;

/* A zeroed wa_store_creds in locked memory shared with other credentials
 * (util/secpool.h), NULL when out of memory; wa_store_creds_free scrubs and
 * releases it (NULL ok). */
wa_store_creds *wa_store_creds_new(void);
void wa_store_creds_free(wa_store_creds *c);

/* Insert or replace. Strings must be NUL-terminated within their arrays and
 * lengths within caps, else WA_EINVAL. */
int wa_store_creds_save(wa_store *st, int64_t instance_id, const wa_store_creds *c) WA_MUST_CHECK;
/* WA_ENOTFOUND if never saved. *out is written only on success. Scrub with
 * sodium_memzero when done. */
int wa_store_creds_load(wa_store *st, int64_t instance_id, wa_store_creds *out) WA_MUST_CHECK;
/* Deletes the credentials and all Signal/app-state key material of the
 * instance in one transaction (device logged out); messages, contacts and
 * queues stay. Wiping an instance without creds is not an error. */
int wa_store_creds_wipe(wa_store *st, int64_t instance_id) WA_MUST_CHECK;

/* ---- Signal: peer identity keys (address name + device id -> public key) ----
 * key is what libsignal serializes (33 bytes, 0x05 prefix), up to
 * WA_STORE_MAX_IDENTITY_KEY. */
enum wa_store_identity_result {
	WA_STORE_IDENTITY_NEW = 0,       /* no key was stored for this address */
	WA_STORE_IDENTITY_SAME = 1,      /* the same key was already stored */
	WA_STORE_IDENTITY_CHANGED = 2,   /* a DIFFERENT key was stored and is now replaced:
	                                  * emit an identity-changed event */
};
/* Saves (trust on first use, replace on change). *result_out (may be NULL)
 * says what was there before. */
int wa_store_identity_save(wa_store *st, int64_t instance_id, const char *name, int32_t device_id,
	const uint8_t *key, size_t key_len, enum wa_store_identity_result *result_out) WA_MUST_CHECK;
int wa_store_identity_load(wa_store *st, int64_t instance_id, const char *name, int32_t device_id,
	uint8_t **out, size_t *out_len) WA_MUST_CHECK;
/* TOFU check without writing: *trusted_out = true when no key is stored or
 * the stored key equals key. */
int wa_store_identity_is_trusted(wa_store *st, int64_t instance_id, const char *name, int32_t device_id,
	const uint8_t *key, size_t key_len, bool *trusted_out) WA_MUST_CHECK;
int wa_store_identity_delete(wa_store *st, int64_t instance_id, const char *name, int32_t device_id) WA_MUST_CHECK;

/* ---- Signal: one-time pre-keys (id -> serialized record; encrypted at rest) ---- */
int wa_store_prekey_save(wa_store *st, int64_t instance_id, uint32_t id,
	const uint8_t *record, size_t record_len) WA_MUST_CHECK;
int wa_store_prekey_load(wa_store *st, int64_t instance_id, uint32_t id,
	uint8_t **out, size_t *out_len) WA_MUST_CHECK;
int wa_store_prekey_exists(wa_store *st, int64_t instance_id, uint32_t id, bool *exists_out) WA_MUST_CHECK;
/* Removing an absent id is not an error. */
int wa_store_prekey_remove(wa_store *st, int64_t instance_id, uint32_t id) WA_MUST_CHECK;
int wa_store_prekey_count(wa_store *st, int64_t instance_id, size_t *n_out) WA_MUST_CHECK;

/* ---- Signal: signed pre-keys (id -> serialized record; encrypted at rest) ---- */
int wa_store_signed_prekey_save(wa_store *st, int64_t instance_id, uint32_t id,
	const uint8_t *record, size_t record_len) WA_MUST_CHECK;
int wa_store_signed_prekey_load(wa_store *st, int64_t instance_id, uint32_t id,
	uint8_t **out, size_t *out_len) WA_MUST_CHECK;
int wa_store_signed_prekey_exists(wa_store *st, int64_t instance_id, uint32_t id, bool *exists_out) WA_MUST_CHECK;
int wa_store_signed_prekey_remove(wa_store *st, int64_t instance_id, uint32_t id) WA_MUST_CHECK;

/* ---- Signal: sessions (name + device -> serialized record; encrypted at rest) ---- */
int wa_store_session_save(wa_store *st, int64_t instance_id, const char *name, int32_t device_id,
	const uint8_t *record, size_t record_len) WA_MUST_CHECK;
int wa_store_session_load(wa_store *st, int64_t instance_id, const char *name, int32_t device_id,
	uint8_t **out, size_t *out_len) WA_MUST_CHECK;
int wa_store_session_exists(wa_store *st, int64_t instance_id, const char *name, int32_t device_id,
	bool *exists_out) WA_MUST_CHECK;
/* All device ids with a session for name, ascending (includes every device
 * id; the libsignal adapter filters as it needs). *ids_out: malloc'd
 * (free()), NULL when *n_out == 0. */
int wa_store_session_devices(wa_store *st, int64_t instance_id, const char *name,
	int32_t **ids_out, size_t *n_out) WA_MUST_CHECK;
/* Deleting an absent session is not an error. For delete_all,
 * *n_deleted_out (may be NULL) is the number of sessions removed. */
int wa_store_session_delete(wa_store *st, int64_t instance_id, const char *name, int32_t device_id) WA_MUST_CHECK;
int wa_store_session_delete_all(wa_store *st, int64_t instance_id, const char *name, size_t *n_deleted_out) WA_MUST_CHECK;

/* ---- Signal: sender keys (group id + sender name + device -> record; encrypted at rest) ---- */
int wa_store_sender_key_save(wa_store *st, int64_t instance_id, const char *group_id,
	const char *sender_name, int32_t device_id, const uint8_t *record, size_t record_len) WA_MUST_CHECK;
int wa_store_sender_key_load(wa_store *st, int64_t instance_id, const char *group_id,
	const char *sender_name, int32_t device_id, uint8_t **out, size_t *out_len) WA_MUST_CHECK;
int wa_store_sender_key_delete(wa_store *st, int64_t instance_id, const char *group_id,
	const char *sender_name, int32_t device_id) WA_MUST_CHECK;

/* ---- groups: metadata (the encoded <group> node) and who holds our sender key ---- */
int wa_store_gmeta_put(wa_store *st, int64_t instance_id, const char *jid, const uint8_t *meta,
	size_t len) WA_MUST_CHECK;
/* WA_ENOTFOUND when unknown; *meta_out: free(). */
int wa_store_gmeta_get(wa_store *st, int64_t instance_id, const char *jid, uint8_t **meta_out,
	size_t *len_out) WA_MUST_CHECK;
int wa_store_gmeta_delete(wa_store *st, int64_t instance_id, const char *jid) WA_MUST_CHECK;
int wa_store_gsk_add(wa_store *st, int64_t instance_id, const char *group, const char *device) WA_MUST_CHECK;
int wa_store_gsk_has(wa_store *st, int64_t instance_id, const char *group, const char *device,
	bool *out) WA_MUST_CHECK;
/* Every device holding our current key, sorted (strcmp order); *out to free(). */
int wa_store_gsk_list(wa_store *st, int64_t instance_id, const char *group, char (**out)[WA_STORE_JID_MAX],
	size_t *n_out) WA_MUST_CHECK;
/* Nobody holds our key any more (it was replaced). */
int wa_store_gsk_clear(wa_store *st, int64_t instance_id, const char *group) WA_MUST_CHECK;

/* ---- messages (decrypted plaintext, for dedupe on redelivery) ----
 * Crash-safe receive: begin; decrypt (session save); wa_store_msg_insert;
 * commit; then ack. On redelivery of the same (chat, id, from_me) look up
 * the stored plaintext with wa_store_msg_load before touching the ratchet. */
enum wa_store_msg_status {
	WA_STORE_MSG_RECEIVED = 0,  /* stored, not yet acked to the server */
	WA_STORE_MSG_ACKED = 1,     /* receipt/ack sent */
	WA_STORE_MSG_PENDING = 2,   /* outgoing, not yet acked by server */
	WA_STORE_MSG_SENT = 3,      /* outgoing, server ack received */
	WA_STORE_MSG_DELIVERED = 4,
	WA_STORE_MSG_READ = 5,
	WA_STORE_MSG_FAILED = 6,
};

typedef struct wa_store_msg {
	const char *chat_jid;       /* required */
	const char *msg_id;         /* required */
	bool from_me;
	const char *sender_jid;     /* may be NULL (1:1 incoming: chat) */
	int64_t timestamp;          /* seconds since epoch, as in the stanza */
	int status;                 /* enum wa_store_msg_status */
	const uint8_t *plaintext;   /* serialized Message protobuf; may be NULL if len 0 */
	size_t plaintext_len;       /* <= WA_STORE_MAX_PLAINTEXT */
} wa_store_msg;

/* A loaded message: owns its strings and plaintext. free: wa_store_msg_row_free. */
typedef struct wa_store_msg_row {
	int64_t row_id;
	char *chat_jid;
	char *msg_id;
	bool from_me;
	char *sender_jid;           /* NULL when not stored */
	int64_t timestamp;
	int status;
	uint8_t *plaintext;         /* NULL when plaintext_len == 0 */
	size_t plaintext_len;
} wa_store_msg_row;

/* Inserts unless (instance, chat, id, from_me) exists. *existed_out = true
 * when it already existed (nothing written). */
int wa_store_msg_insert(wa_store *st, int64_t instance_id, const wa_store_msg *m, bool *existed_out) WA_MUST_CHECK;
/* WA_ENOTFOUND if absent. */
int wa_store_msg_load(wa_store *st, int64_t instance_id, const char *chat_jid, const char *msg_id,
	bool from_me, wa_store_msg_row **out) WA_MUST_CHECK;
int wa_store_msg_set_status(wa_store *st, int64_t instance_id, const char *chat_jid, const char *msg_id,
	bool from_me, int status) WA_MUST_CHECK;
/* Replaces the stored body (a media send gets its url and hashes after the
 * upload). WA_ENOTFOUND if absent. */
int wa_store_msg_set_plaintext(wa_store *st, int64_t instance_id, const char *chat_jid, const char *msg_id,
	bool from_me, const uint8_t *plaintext, size_t plaintext_len) WA_MUST_CHECK;
void wa_store_msg_row_free(wa_store_msg_row *row);

/* ---- outbox (queued outgoing messages) ---- */
enum wa_store_outbox_state {
	WA_STORE_OUTBOX_QUEUED = 0,
	WA_STORE_OUTBOX_SENDING = 1,
	WA_STORE_OUTBOX_SENT = 2,
	WA_STORE_OUTBOX_FAILED = 3,
};
int wa_store_outbox_add(wa_store *st, int64_t instance_id, const char *chat_jid, const char *msg_id,
	const uint8_t *payload, size_t payload_len, int64_t *row_id_out) WA_MUST_CHECK;
int wa_store_outbox_set_state(wa_store *st, int64_t instance_id, int64_t row_id, int state) WA_MUST_CHECK;
/* Oldest queued entry: WA_ENOTFOUND when the queue is empty. Strings/payload malloc'd (free()). */
int wa_store_outbox_next(wa_store *st, int64_t instance_id, int64_t *row_id_out, char **msg_id_out,
	char **chat_jid_out, uint8_t **payload_out, size_t *payload_len_out) WA_MUST_CHECK;
/* Most chats one wa_store_outbox_next_skip call can skip. */
#define WA_STORE_OUTBOX_MAX_SKIP 32
/* Oldest queued entry whose chat_jid is none of skip[0..n_skip) (the sender
 * skips chats waiting out a backoff, so their order is kept while other
 * chats proceed). WA_ENOTFOUND when nothing else is queued; WA_EINVAL for
 * more than WA_STORE_OUTBOX_MAX_SKIP chats or an empty/invalid JID. */
int wa_store_outbox_next_skip(wa_store *st, int64_t instance_id, const char *const *skip, size_t n_skip,
	int64_t *row_id_out, char **msg_id_out, char **chat_jid_out, uint8_t **payload_out,
	size_t *payload_len_out) WA_MUST_CHECK;
/* Replaces the payload of a row and sets its state in one statement (the
 * sender records the encrypted stanza together with the ratchet step, then
 * marks it SENDING). WA_ENOTFOUND if absent. */
int wa_store_outbox_update(wa_store *st, int64_t instance_id, int64_t row_id, int state,
	const uint8_t *payload, size_t payload_len) WA_MUST_CHECK;
/* Puts every SENDING row back to QUEUED (after a reconnect or restart: the
 * server never acked them). *n_out (may be NULL) = rows changed. */
int wa_store_outbox_requeue(wa_store *st, int64_t instance_id, size_t *n_out) WA_MUST_CHECK;

/* ---- contacts and LID mapping ---- */
/* Upsert; lid and push_name may be NULL (kept as they were). */
int wa_store_contact_save(wa_store *st, int64_t instance_id, const char *jid, const char *lid,
	const char *push_name) WA_MUST_CHECK;
/* *lid_out / *push_name_out: malloc'd strings (free()), NULL when not stored. */
int wa_store_contact_load(wa_store *st, int64_t instance_id, const char *jid, char **lid_out,
	char **push_name_out) WA_MUST_CHECK;
/* pn and lid are user parts or JIDs as the caller chooses (consistently). */
int wa_store_lid_mapping_save(wa_store *st, int64_t instance_id, const char *pn, const char *lid) WA_MUST_CHECK;
int wa_store_lid_for_pn(wa_store *st, int64_t instance_id, const char *pn, char **lid_out) WA_MUST_CHECK;
int wa_store_pn_for_lid(wa_store *st, int64_t instance_id, const char *lid, char **pn_out) WA_MUST_CHECK;

/* Privacy tokens (tctoken) per contact user JID. get: the token the
 * contact issued to us (*token_out NULL when none; free()) and its
 * timestamp, and when we issued ours (0: never); WA_ENOTFOUND without a
 * row. put: stores its token unless the stored one is newer. issued:
 * records that we issued ours at sender_t. */
#define WA_STORE_TCTOKEN_MAX 1024
int wa_store_tctoken_get(wa_store *st, int64_t instance_id, const char *jid, uint8_t **token_out,
	size_t *token_len_out, int64_t *token_t_out, int64_t *sender_t_out) WA_MUST_CHECK;
int wa_store_tctoken_put(wa_store *st, int64_t instance_id, const char *jid, const uint8_t *token,
	size_t len, int64_t token_t) WA_MUST_CHECK;
int wa_store_tctoken_issued(wa_store *st, int64_t instance_id, const char *jid, int64_t sender_t) WA_MUST_CHECK;

/* ---- app state sync ---- */
/* key_id: opaque bytes; key_data: serialized AppStateSyncKeyData (encrypted at rest). */
int wa_store_app_state_key_save(wa_store *st, int64_t instance_id, const uint8_t *key_id, size_t key_id_len,
	const uint8_t *key_data, size_t key_data_len) WA_MUST_CHECK;
int wa_store_app_state_key_load(wa_store *st, int64_t instance_id, const uint8_t *key_id, size_t key_id_len,
	uint8_t **out, size_t *out_len) WA_MUST_CHECK;
/* The id of the newest key (what our own patches are encoded with);
 * WA_ENOTFOUND when none was shared yet. */
int wa_store_app_state_key_latest(wa_store *st, int64_t instance_id, uint8_t id_out[64], size_t *len_out) WA_MUST_CHECK;
#define WA_STORE_LTHASH_LEN 128
int wa_store_app_state_version_save(wa_store *st, int64_t instance_id, const char *name, uint64_t version,
	const uint8_t hash[WA_STORE_LTHASH_LEN]) WA_MUST_CHECK;
int wa_store_app_state_version_load(wa_store *st, int64_t instance_id, const char *name, uint64_t *version_out,
	uint8_t hash_out[WA_STORE_LTHASH_LEN]) WA_MUST_CHECK;
/* Applied mutations per collection, keyed by index MAC: the value MAC it
 * holds (for the LT-hash), its index JSON and serialized SyncActionValue
 * (kept whether or not we act on it). get: WA_ENOTFOUND when absent. */
#define WA_STORE_APP_MAC_LEN 32
int wa_store_app_state_mac_get(wa_store *st, int64_t instance_id, const char *name,
	const uint8_t index_mac[WA_STORE_APP_MAC_LEN], uint8_t value_mac_out[WA_STORE_APP_MAC_LEN]) WA_MUST_CHECK;
int wa_store_app_state_mutation_put(wa_store *st, int64_t instance_id, const char *name,
	const uint8_t index_mac[WA_STORE_APP_MAC_LEN], const uint8_t value_mac[WA_STORE_APP_MAC_LEN],
	const char *index_json, const uint8_t *value, size_t value_len) WA_MUST_CHECK;
int wa_store_app_state_mutation_del(wa_store *st, int64_t instance_id, const char *name,
	const uint8_t index_mac[WA_STORE_APP_MAC_LEN]) WA_MUST_CHECK;
/* Calls fn for each kept mutation of collection name whose index JSON
 * starts with prefix; a non-zero return from fn stops and is returned. */
int wa_store_app_state_mutation_each(wa_store *st, int64_t instance_id, const char *name, const char *prefix,
	int (*fn)(void *user, const char *index_json, const uint8_t *value, size_t value_len), void *user) WA_MUST_CHECK;
int wa_store_app_state_mutation_count(wa_store *st, int64_t instance_id, const char *name,
	size_t *n_out) WA_MUST_CHECK;
/* Drops a collection's version, LT-hash and applied mutations in one
 * transaction (a full resync from a snapshot follows). */
int wa_store_app_state_drop(wa_store *st, int64_t instance_id, const char *name) WA_MUST_CHECK;
/* Our own mutations from the moment they are accepted until the server
 * applied or refused them: the collection, index JSON, serialized
 * SyncActionValue, its action version and the IV every encoding of it uses.
 * each: queue order (id); the row is borrowed for the call. */
#define WA_STORE_APP_IV_LEN 16
typedef struct wa_store_as_pending {
	int64_t id;
	const char *name;
	const char *index_json;
	const uint8_t *value;
	size_t value_len;
	int32_t api;
	const uint8_t *iv; /* WA_STORE_APP_IV_LEN bytes */
} wa_store_as_pending;
int wa_store_app_state_pending_add(wa_store *st, int64_t instance_id, const wa_store_as_pending *p,
	int64_t *id_out) WA_MUST_CHECK;
int wa_store_app_state_pending_del(wa_store *st, int64_t instance_id, int64_t id) WA_MUST_CHECK;
int wa_store_app_state_pending_each(wa_store *st, int64_t instance_id,
	int (*fn)(void *user, const wa_store_as_pending *p), void *user) WA_MUST_CHECK;
/* Upsert of a contact's address-book name (app state's contact action);
 * NULL clears it. */
int wa_store_contact_set_full_name(wa_store *st, int64_t instance_id, const char *jid,
	const char *full_name) WA_MUST_CHECK;

#endif
