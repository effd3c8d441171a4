/* The media-retry exchange (Baileys' updateMediaMessage), sans-IO: a
 * receiver whose download finds the blob gone (404/410) sends
 *   <receipt id=MSGID to=OWN-JID type="server-error">
 *     <encrypt><enc_p>GCM(ServerErrorReceipt{stanza_id})</enc_p><enc_iv>12B</enc_iv></encrypt>
 *     <rmr jid=CHAT from_me="true|false" [participant=SENDER]/>
 *   </receipt>
 * (addressed to our own bare JID, as Baileys does: our phone, which holds
 * the media too, uploads it again), and that phone answers with
 *   <notification type="mediaretry" id=MSGID ...>
 *     <encrypt><enc_p>GCM(MediaRetryNotification)</enc_p><enc_iv/></encrypt> | <error code=N/>
 *     <rmr .../>
 *   </notification>
 * Both payloads are AES-256-GCM under HKDF-SHA256(mediaKey, no salt,
 * "WhatsApp Media Retry Notification"), the message id as associated data.
 * No I/O here: the caller sends the node, then feeds the notification. */
#ifndef WA_SESSION_MEDIA_RETRY_H
#define WA_SESSION_MEDIA_RETRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "binary/node.h"
#include "wa/wa.h"

#define WA_MEDIA_RETRY_INFO "WhatsApp Media Retry Notification"
#define WA_MEDIA_RETRY_IV_LEN 12
#define WA_MEDIA_RETRY_ID_MAX 128
#define WA_MEDIA_RETRY_PATH_MAX 1024
/* Largest enc_p accepted: a stanza id plus a direct path, with room. */
#define WA_MEDIA_RETRY_CT_MAX 4096

/* MediaRetryNotification.ResultType (also the <error code> numbers). */
enum wa_media_retry_result {
	WA_MEDIA_RETRY_GENERAL_ERROR = 0,
	WA_MEDIA_RETRY_SUCCESS = 1,
	WA_MEDIA_RETRY_NOT_FOUND = 2,
	WA_MEDIA_RETRY_DECRYPTION_ERROR = 3,
};

/* The message whose blob is asked for again. */
typedef struct wa_media_retry_key {
	const char *id;          /* message (stanza) id */
	const char *chat;        /* remote JID of the chat */
	bool from_me;
	const char *participant; /* group sender, or NULL */
} wa_media_retry_key;

/* out = HKDF-SHA256(media_key, "", WA_MEDIA_RETRY_INFO, 32). */
int wa_media_retry_derive(uint8_t out[32], const uint8_t media_key[32]) WA_MUST_CHECK;

/* Builds the server-error receipt. own_jid: our bare JID (device part is
 * the caller's to strip). iv: 12 random bytes (a parameter so tests are
 * deterministic). WA_EINVAL on a NULL or over-long id/chat. */
int wa_media_retry_request(wa_node **out, const wa_media_retry_key *k, const char *own_jid,
	const uint8_t media_key[32], const uint8_t iv[static WA_MEDIA_RETRY_IV_LEN]) WA_MUST_CHECK;

/* The phone's side of a request: checks the receipt's shape and decrypts
 * its ServerErrorReceipt, which must name the receipt's own id. Fills *k
 * with pointers into `receipt` (participant NULL when absent).
 * WA_EPROTO (shape), WA_ECRYPTO (wrong key / tampered), WA_EMALFORMED. */
int wa_media_retry_request_open(const wa_node *receipt, const uint8_t media_key[32], wa_media_retry_key *k)
	WA_MUST_CHECK;

/* A parsed and decrypted mediaretry notification. */
typedef struct wa_media_retry_answer {
	char id[WA_MEDIA_RETRY_ID_MAX];   /* the notification's id = the message id */
	char chat[WA_MEDIA_RETRY_ID_MAX]; /* rmr jid */
	bool from_me;
	bool has_error;                   /* an <error code> instead of <encrypt> */
	int error_code;
	int result;                       /* enum wa_media_retry_result; valid unless has_error */
	char direct_path[WA_MEDIA_RETRY_PATH_MAX]; /* "" unless SUCCESS */
} wa_media_retry_answer;

/* The message id a mediaretry notification answers (its id attribute),
 * to find the message and its mediaKey before wa_media_retry_answer_open.
 * NULL when the node is no mediaretry notification. */
const char *wa_media_retry_answer_id(const wa_node *notif);

/* Parses and (without <error>) decrypts the notification under media_key.
 * The decrypted stanza_id must equal the notification id, and SUCCESS
 * must carry a direct path: '/' then printable ASCII, no space. WA_EPROTO (shape or
 * mismatch), WA_ECRYPTO (authentication), WA_EMALFORMED, WA_ETOOBIG. */
int wa_media_retry_answer_open(const wa_node *notif, const uint8_t media_key[32], wa_media_retry_answer *out)
	WA_MUST_CHECK;

/* The phone's answer: a mediaretry notification from `from` for k, with
 * result and (SUCCESS) direct_path encrypted under iv. */
int wa_media_retry_answer_build(wa_node **out, const wa_media_retry_key *k, const char *from,
	const uint8_t media_key[32], const uint8_t iv[static WA_MEDIA_RETRY_IV_LEN], int result,
	const char *direct_path) WA_MUST_CHECK;

#endif
