/* src/session messaging codecs (sans-IO, unit-testable without a socket):
 * Message protobuf builders (text, reply, reaction, the deviceSentMessage
 * wrapper), the Baileys-style JSON rendering of a received Message, message
 * ids, and the stanzas of 1:1 messaging (messaging.md §1-§5, §8, §10):
 * usync device/contact queries, pre-key fetch, the outgoing <message>,
 * receipts, acks and retry receipts, and parsers for what comes back.
 *
 * Every builder returns a new wa_node tree (free: wa_node_free) or malloc'd
 * bytes (free()). Every parser takes an untrusted node, checks each
 * attribute and length it uses, and writes its outputs only on success. */
#ifndef WA_SESSION_MSG_H
#define WA_SESSION_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "binary/jid.h"
#include "binary/node.h"
#include "signal/cipher.h"
#include "signal/padding.h"
#include "wa/wa.h"

/* ---- limits ---- */
#define WA_MSG_ID_MAX 128          /* message ids we accept (opaque strings) */
#define WA_MSG_SECRET_LEN 32       /* MessageContextInfo.messageSecret */
#define WA_MSG_MAX_TEXT (1024 * 1024) /* text we send (64 KiB tested; WhatsApp caps ~65k chars) */
#define WA_MSG_MAX_QUOTED (1024 * 1024) /* a quoted message embedded whole */
#define WA_MSG_MAX_THUMB (256 * 1024) /* a link preview's JPEG thumbnail we send */
#define WA_USYNC_MAX_USERS 512     /* users in one usync answer we look at */
#define WA_USYNC_MAX_DEVICES 64    /* devices per user we keep */
#define WA_PREKEY_MAX_USERS 512    /* bundles in one pre-key answer */
#define WA_RECEIPT_MAX_IDS 256     /* ids in one receipt (<list><item/>) */

/* ---- Message protobuf builders (kinds.c; the pipeline builds through kinds.h) ---- */

typedef struct wa_msg_quote {
	const char *id;          /* quoted message id (stanzaId) */
	const char *participant; /* quoted author, bare JID (ContextInfo.participant) */
	const char *text;        /* quoted text, rendered as quotedMessage.conversation; may be NULL */
	struct Wa__Message *message; /* the quoted message itself as quotedMessage (owned, see
				      * wa_msg_quote_clear), or NULL: text */
} wa_msg_quote;

/* Text message. Without quote and mentions: {conversation}; otherwise
 * {extendedTextMessage {text, contextInfo}} (conversation cannot carry
 * context). secret (may be NULL) goes to messageContextInfo.messageSecret. */
int wa_msg_build_text(const char *text, const wa_msg_quote *quote, const char *const *mentions,
	size_t n_mentions, const uint8_t *secret, uint8_t **out, size_t *out_len) WA_MUST_CHECK;
/* {reactionMessage {key {remoteJid, fromMe, id, [participant]}, text, senderTimestampMs}}. */
int wa_msg_build_reaction(const char *remote_jid, bool from_me, const char *id,
	const char *participant, const char *emoji, int64_t ts_ms, uint8_t **out,
	size_t *out_len) WA_MUST_CHECK;
/* Own-device copy: {deviceSentMessage {destinationJid, message}, messageContextInfo
 * copied from msg}. msg is an unpadded serialized Message. */
int wa_msg_wrap_dsm(const uint8_t *msg, size_t msg_len, const char *dest_jid, uint8_t **out,
	size_t *out_len) WA_MUST_CHECK;

/* ---- received Message (msgjson.c) ---- */

/* What an incoming plaintext is after unwrapping deviceSentMessage. */
typedef struct wa_msg_view {
	char *dsm_dest;      /* destinationJid when it was a deviceSentMessage, else NULL */
	char *message_type;  /* Baileys content type ("conversation", ...) or NULL (empty) */
	char *text;          /* body text when it has one, else NULL */
	char *json;          /* the inner Message as Baileys-style JSON (never NULL) */
	bool is_reaction;
	bool is_protocol;    /* protocolMessage (history sync, key share, revoke, ...) */
	bool has_skdm;       /* carries a senderKeyDistributionMessage */
	bool emit;           /* for the embedder (WA_EV_MESSAGE): its kind says so (kinds.h) */
} wa_msg_view;
/* Parses an unpadded Message (through wa_pb_unpack) and fills *out
 * (free: wa_msg_view_clear). WA_EMALFORMED if it is not a Message. */
int wa_msg_view_parse(const uint8_t *pt, size_t len, wa_msg_view *out) WA_MUST_CHECK;
/* The same from a Message already unpacked (m stays the caller's). */
int wa_msg_view_of(const struct Wa__Message *m, wa_msg_view *out) WA_MUST_CHECK;
void wa_msg_view_clear(wa_msg_view *v);
/* Does this unpadded Message (or the Message a deviceSentMessage wraps)
 * carry protocolMessage.historySyncNotification? */
bool wa_msg_is_history_sync(const uint8_t *pt, size_t len);
/* Any protobuf-c message as JSON the way protobufjs' toJSON writes it:
 * lowerCamel names, bytes base64, enums by name, int64 as numbers. */
int wa_msg_pb_to_json(const void *pb_message, char **out) WA_MUST_CHECK;
/* The same through a jansson tree and its dump: what wa_msg_pb_to_json
 * writes directly must equal it (the unit tests compare them). */
int wa_msg_pb_to_json_tree(const void *pb_message, char **out) WA_MUST_CHECK;
/* The inverse (msgjson_in.c): JSON in that form (snake_case names too) to
 * the wire bytes of message type d, at most max bytes. Unknown keys and
 * nulls are skipped; a value of the wrong type is WA_EINVAL. */
int wa_msg_pb_from_json(const ProtobufCMessageDescriptor *d, const char *json, size_t max, uint8_t **out,
	size_t *out_len) WA_MUST_CHECK;

/* ---- privacy tokens (tctoken.c) ---- */
#define WA_TCTOKEN_BUCKET_S 604800 /* 7 days */
#define WA_TCTOKEN_BUCKETS 4       /* a token lives in the current and the 3 previous buckets */
/* A contact's token with timestamp token_t is expired at now (unix s). */
bool wa_tctoken_expired(int64_t token_t, int64_t now);
/* Issue ours again: never issued (0) or issued in an earlier bucket. */
bool wa_tctoken_should_issue(int64_t sender_t, int64_t now);

/* ---- reporting tokens (reporting.c) ---- */
#define WA_REPORTING_TOKEN_LEN 16
/* The token of an unpadded Message we send to chat (from = to = chat),
 * from its messageContextInfo.messageSecret. WA_ENOTFOUND: the message
 * gets none (no secret, a reaction, nothing to cover); WA_EMALFORMED: the
 * walk failed (no token either). */
int wa_msg_reporting_token(const uint8_t *msg, size_t len, const char *id, const char *chat,
	uint8_t out[WA_REPORTING_TOKEN_LEN]) WA_MUST_CHECK;
/* The same with explicit secret and from / to (vectors, interop). */
int wa_msg_reporting_token_raw(const uint8_t *msg, size_t len, const uint8_t *secret, size_t secret_len,
	const char *id, const char *from, const char *to, uint8_t out[WA_REPORTING_TOKEN_LEN]) WA_MUST_CHECK;
/* The covered content alone (malloc'd; may be empty). */
int wa_msg_reporting_content(const uint8_t *msg, size_t len, uint8_t **out, size_t *out_len) WA_MUST_CHECK;

/* ---- ids (msgid.c) ---- */
/* "3EB0" + 18 upper hex: SHA-256(8-byte BE seconds || own user || "@c.us" ||
 * 16 random bytes) as Baileys generateMessageIDV2 lays it out (44 bytes).
 * me may be NULL. out must hold 23 bytes. */
void wa_msg_new_id(const char *me, int64_t unix_s, char out[23]);
/* Same with explicit random bytes (vectors). */
void wa_msg_id_from(const char *me, int64_t unix_s, const uint8_t rnd[16], char out[23]);

/* ---- Signal addresses (addr.c) ---- */
/* Address name of a JID: user for PN ("15550001111"), "user_1" for LID
 * (Baileys' jidToSignalProtocolAddress), "user_128"/"user_129" hosted.
 * Returns WA_EINVAL for groups and other servers. cap >= WA_STORE_JID_MAX. */
int wa_msg_addr_name(const wa_jid *j, char *out, size_t cap) WA_MUST_CHECK;
bool wa_msg_jid_is_lid(const wa_jid *j);
bool wa_msg_jid_is_pn(const wa_jid *j);
/* The user JID (no device) as text. */
int wa_msg_user_jid(const wa_jid *j, char *out, size_t cap) WA_MUST_CHECK;

/* ---- usync (usync.c) ---- */
/* Device query: <iq xmlns=usync type=get><usync context=message ...><query>
 * <devices version=2/><lid/></query><list><user jid/>...</list></usync></iq>. */
int wa_usync_build_devices(const char *iq_id, const char *sid, const char *const *users,
	size_t n, wa_node **out) WA_MUST_CHECK;
/* Contact query for phone numbers (digits, optionally with '+'). */
int wa_usync_build_contacts(const char *iq_id, const char *sid, const char *const *phones,
	size_t n, wa_node **out) WA_MUST_CHECK;

typedef struct wa_usync_user {
	char jid[WA_STORE_JID_MAX];  /* as echoed */
	char lid[WA_STORE_JID_MAX];  /* <lid val> or "" */
	bool has_devices;
	size_t n_devices;
	uint16_t devices[WA_USYNC_MAX_DEVICES]; /* device ids (0 = phone); ones Baileys would drop are dropped */
	int contact;                 /* -1 no <contact>, 0 out, 1 in */
} wa_usync_user;
/* Parses a usync result iq. *users_out: malloc'd array (free()). WA_EPROTO
 * for an iq of type error. */
int wa_usync_parse(const wa_node *iq, wa_usync_user **users_out, size_t *n_out) WA_MUST_CHECK;

/* ---- pre-key fetch (recipients.c) ---- */
/* <iq xmlns=encrypt type=get><key><user jid [reason=identity]/>...</key></iq>. */
int wa_prekey_build_fetch(const char *iq_id, const char *const *jids, size_t n, bool force,
	wa_node **out) WA_MUST_CHECK;
typedef struct wa_prekey_user {
	char jid[WA_STORE_JID_MAX];
	bool ok;                     /* false: <error> or bad sizes (skipped) */
	wa_sig_bundle bundle;
} wa_prekey_user;
int wa_prekey_parse(const wa_node *iq, wa_prekey_user **users_out, size_t *n_out) WA_MUST_CHECK;
/* Bundle from the children of a node holding <identity>, <skey>, optional <key>
 * (a pre-key <user> or a retry receipt's <keys>), registration from reg_node. */
int wa_prekey_parse_bundle(const wa_node *keys, const wa_node *reg_node, wa_sig_bundle *out) WA_MUST_CHECK;

/* ---- outgoing message stanza (seal.c) ---- */
typedef struct wa_msg_enc {
	const char *jid;           /* device JID for <to> */
	enum wa_sig_msg_type type;
	const uint8_t *ct;
	size_t ct_len;
} wa_msg_enc;
typedef struct wa_msg_stanza {
	const char *id;
	const char *to;            /* chat JID (fan-out) or device JID (single) */
	const char *type;          /* "text", "reaction" */
	const char *edit;          /* or NULL */
	const char *mediatype;     /* or NULL */
	bool decrypt_fail_hide;
	bool single;               /* device_fanout=false, enc is a direct child */
	const char *recipient;     /* single-device resend to an own device: peer chat */
	unsigned retry_count;      /* count on <enc> (retry resends), 0 = none */
	const wa_msg_enc *encs;
	size_t n_encs;
	const uint8_t *reporting_token; /* WA_REPORTING_TOKEN_LEN bytes or NULL: <reporting> */
	const uint8_t *tctoken;         /* the recipient's privacy token or NULL: <tctoken> */
	size_t tctoken_len;
	const uint8_t *device_identity; /* attached when any enc is pkmsg (or always if force_identity) */
	size_t device_identity_len;
	bool force_identity;
} wa_msg_stanza;
int wa_msg_build_stanza(const wa_msg_stanza *m, wa_node **out) WA_MUST_CHECK;
/* The message type attribute for a content: "reaction" or "text". */
const char *wa_msg_stanza_type(const uint8_t *msg, size_t len);

/* ---- incoming <message> (receive.c) ---- */
typedef struct wa_in_enc {
	enum wa_sig_msg_type type;
	const uint8_t *ct;         /* borrowed from the node */
	size_t ct_len;
	unsigned count;            /* retry count attribute or 0 */
} wa_in_enc;
#define WA_IN_MAX_ENCS 4
typedef struct wa_in_msg {
	const char *id;            /* borrowed */
	wa_jid from;               /* sending device (1:1) or group */
	wa_jid participant;        /* group author device; kind PAIR with empty user if absent */
	bool has_participant;
	const char *from_s;        /* borrowed attribute texts */
	const char *participant_s;
	const char *recipient;     /* own-device copy: peer chat, or NULL */
	const char *notify;
	const char *type;
	const char *category;
	const char *sender_alt;    /* sender_lid / sender_pn / participant_lid / participant_pn */
	const char *recipient_alt; /* peer_recipient_lid / peer_recipient_pn */
	int64_t t;
	bool offline;
	size_t n_encs;
	wa_in_enc encs[WA_IN_MAX_ENCS];
	bool has_unknown_enc;      /* an <enc> of a type we do not decrypt (msmsg, v=3) */
} wa_in_msg;
/* Parses (borrows from n: valid while n lives). WA_EMALFORMED when id/from
 * is missing or a JID is bad. */
int wa_in_msg_parse(const wa_node *n, wa_in_msg *out) WA_MUST_CHECK;

/* ---- receipts and acks (receipts.c) ---- */
/* <receipt id to [participant] [recipient] [type] [t]>[<list><item id/>...]</receipt> */
int wa_receipt_build(const char *const *ids, size_t n, const char *to, const char *participant,
	const char *recipient, const char *type, int64_t t, wa_node **out) WA_MUST_CHECK;
/* <ack id to class [type] [participant] [recipient] [from] [error]/> for a received stanza. */
int wa_ack_build(const wa_node *stanza, const char *own_jid, int error_code, wa_node **out) WA_MUST_CHECK;

typedef struct wa_in_receipt {
	const char *from_s;        /* borrowed */
	wa_jid from;
	const char *participant;
	const char *recipient;
	const char *type;          /* NULL = delivery */
	int64_t t;
	size_t n_ids;
	const char *ids[WA_RECEIPT_MAX_IDS];
	/* retry receipts */
	bool is_retry;
	unsigned retry_count;
	bool has_registration;
	uint32_t registration_id;
	const wa_node *keys;       /* <keys> or NULL */
	const wa_node *reg_node;
} wa_in_receipt;
int wa_in_receipt_parse(const wa_node *n, wa_in_receipt *out) WA_MUST_CHECK;
/* Status a receipt type means for our outgoing message; 0 when none
 * (retry, sender, peer_msg, inactive... handled elsewhere or ignored). */
int wa_receipt_status(const char *type);

typedef struct wa_in_ack {
	const char *id;
	const char *class_;
	const char *from;
	int error;                 /* 0 or the error code */
	int64_t t;
} wa_in_ack;
int wa_in_ack_parse(const wa_node *n, wa_in_ack *out) WA_MUST_CHECK;

/* ---- retry receipts (retries.c) ---- */
typedef struct wa_retry_keys {
	uint32_t registration_id;
	uint8_t identity[32];
	uint32_t prekey_id;        /* 0 = no one-time key */
	uint8_t prekey[32];
	uint32_t spk_id;
	uint8_t spk[32];
	uint8_t spk_sig[64];
	const uint8_t *device_identity;
	size_t device_identity_len;
} wa_retry_keys;
/* Retry receipt for a failed stanza (messaging.md §5): to = its from,
 * participant/recipient copied, <retry count id t v=1 error=0>, <registration>,
 * and <keys> when keys != NULL. */
int wa_retry_build(const wa_node *failed, const char *own_id_for_to, unsigned count,
	const wa_retry_keys *keys, wa_node **out) WA_MUST_CHECK;

#endif
