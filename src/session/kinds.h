/* Message kinds as data (src/session, internal). Everything that differs
 * between a text, a reply, a reaction, a protocol message (and later an
 * image, a poll, ...) is one row of wa_msg_kinds[] in kinds.c: the Message
 * field that carries it, the protobuf we build to send it, the <message
 * type> and <enc decrypt-fail> of its stanza, its messageType and text on
 * receive, and whether it reaches the embedder as WA_EV_MESSAGE. The
 * pipeline (outbox.c, seal.c, retries.c, receive.c via msgjson.c) only
 * consults the table; adding a kind adds a row (and its builder), nothing
 * else. What is the same for every kind today, and so not a column: every
 * received plaintext is stored (before it is parsed, in the decrypt's
 * transaction), and every message we send gets the same status events. */
#ifndef WA_SESSION_KINDS_H
#define WA_SESSION_KINDS_H

#include "message.pb-c.h"
#include "session/msg.h"
#include "wa/session.h"

/* The rows of wa_msg_kinds[], in the order their text is preferred. */
enum wa_msg_kind_id {
	WA_KIND_CONVERSATION = 0, /* plain text */
	WA_KIND_EXTENDED_TEXT,    /* text with a quote (reply) or mentions */
	WA_KIND_IMAGE,            /* media kinds: built by media.c after the upload */
	WA_KIND_VIDEO,
	WA_KIND_DOCUMENT,
	WA_KIND_AUDIO,
	WA_KIND_STICKER,
	WA_KIND_REACTION,
	WA_KIND_PROTOCOL,         /* history sync notices, key shares; edits and revokes (emitted) */
	WA_KIND_LOCATION,
	WA_KIND_LIVE_LOCATION,    /* received only */
	WA_KIND_CONTACT,          /* one vCard */
	WA_KIND_CONTACTS_ARRAY,   /* several vCards */
	WA_KIND_POLL,             /* several choices (pollCreationMessage) */
	WA_KIND_POLL_V3,          /* one choice */
	WA_KIND_POLL_UPDATE,      /* a vote, received only (encrypted) */
	WA_KIND_GROUP_INVITE,     /* groupInviteMessage */
	WA_KIND_OTHER,            /* every other content (field NULL); ends the table */
};

/* A media message's fields (messaging.md §7): what the upload gave and
 * what the caller described. Byte fields are NULL until known (a message
 * queued before its upload carries only the media key). */
typedef struct wa_msg_media {
	const char *url, *direct_path, *mimetype, *caption, *file_name;
	const uint8_t *media_key;        /* 32 bytes */
	const uint8_t *file_sha256;      /* 32 bytes or NULL */
	const uint8_t *file_enc_sha256;  /* 32 bytes or NULL */
	uint64_t file_length;            /* with the hashes */
	int64_t media_key_timestamp;     /* seconds */
	uint32_t seconds, width, height; /* 0: absent */
	bool ptt;                        /* audio: a voice note */
	const uint8_t *thumbnail;        /* jpegThumbnail (image, video, document) or NULL */
	size_t thumbnail_len;
	const uint8_t *waveform;         /* audio, or NULL */
	size_t waveform_len;
	bool animated;                   /* sticker: isAnimated */
	uint32_t page_count;             /* document: pageCount, 0: absent */
	bool view_once;                  /* image, video, audio: sent in a viewOnceMessage */
} wa_msg_media;

/* What a caller asks to send; each kind's builder reads its own fields. */
typedef struct wa_msg_content {
	const wa_msg_media *media;        /* the media kinds */
	/* conversation, extendedTextMessage */
	const char *text;
	const wa_msg_quote *quote;        /* a reply: text, media, location, contacts, polls */
	const char *const *mentions;      /* extendedTextMessage, and a media caption's */
	size_t n_mentions;
	const uint8_t *secret;            /* messageContextInfo.messageSecret (WA_MSG_SECRET_LEN) or NULL */
	uint32_t expiration;              /* contextInfo.expiration, the chat's timer (0: none): text, media, location, contacts, polls */
	int64_t ephemeral_ts;             /* and ephemeralSettingTimestamp (0: unknown) */
	const wa_send_opts *preview;      /* extendedTextMessage: its link-preview fields, or NULL */
	/* reactionMessage: the message reacted to, and the emoji ("" removes) */
	const char *target_chat;          /* key.remoteJid */
	bool target_from_me;
	const char *target_id;
	const char *target_participant;   /* or NULL */
	const char *emoji;
	int64_t ts_ms;                    /* senderTimestampMs; protocolMessage.timestampMs */
	/* protocolMessage (edits.c): REVOKE of the target, or MESSAGE_EDIT
	 * replacing it with `text` */
	bool edit;
	/* locationMessage */
	double lat, lon;
	const char *name, *address;       /* or NULL */
	/* contactMessage (n_cards == 1), contactsArrayMessage */
	const char *display_name;         /* contactsArrayMessage's, or NULL */
	const char *const *card_names;    /* per vCard: displayName */
	const char *const *vcards;
	size_t n_cards;
	/* poll: name in `name`, its options, selectable (0: any) */
	const char *const *options;
	size_t n_options;
	unsigned selectable;
	/* groupInviteMessage: the group, the code and its expiry, the group's
	 * name in `name`, caption in `text` (or NULL) */
	const char *invite_group, *invite_code;
	int64_t invite_expiration;
} wa_msg_content;

typedef struct wa_msg_kind {
	const char *field;         /* the Message field carrying it (protobuf-c name); NULL: any other */
	const char *message_type;  /* Baileys' getContentType name: messageType on receive */
	const char *stanza_type;   /* <message type> when we send it */
	bool hide_decrypt_fail;    /* <enc decrypt-fail="hide">: nothing shown if the peer cannot decrypt */
	bool emit;                 /* reaches the embedder (WA_EV_MESSAGE); false: below the API */
	/* When emit is false: whether this Message is emitted all the same
	 * (edits and revokes ride in protocolMessage beside key shares). */
	bool (*emit_if)(const Wa__Message *m);
	/* The <message edit> attribute of this Message, or NULL (edits.c). */
	const char *(*edit_attr)(const Wa__Message *m);
	/* The event's text from the Message, NULL when none. The first row (in
	 * table order) with a text gives it, whatever the content type. */
	const char *(*text)(const Wa__Message *m);
	/* Builds the serialized Message; NULL: we do not send this kind yet. */
	int (*build)(const wa_msg_content *c, uint8_t **out, size_t *out_len);
} wa_msg_kind;

/* The table, indexed by enum wa_msg_kind_id. */
extern const wa_msg_kind wa_msg_kinds[WA_KIND_OTHER + 1];

/* The row of a content field name (as content_type gives it); the final
 * row for unknown or NULL. */
const wa_msg_kind *wa_msg_kind_of_field(const char *field);
/* The row of a serialized Message (its content type, inside a view-once
 * wrapper: what the stanza's type follows); the final row when it does
 * not parse or has no content. */
const wa_msg_kind *wa_msg_kind_of(const uint8_t *msg, size_t len);
/* The content type of a Message as Baileys' getContentType: the first
 * present field (in field-number order) that is not
 * senderKeyDistributionMessage or messageContextInfo; NULL when none. */
const char *wa_msg_content_field(const Wa__Message *m);
/* Whether the embedder gets m: it has a content type and carries no
 * field of a kind that is not emitted (a protocol message rides below the
 * API even next to other content). */
bool wa_msg_kind_emitted(const Wa__Message *m);
/* The event's text (see wa_msg_kind.text). */
const char *wa_msg_kind_text(const Wa__Message *m);
/* The <message edit> attribute for a serialized Message ("1" edit, "7"
 * revoke of our own, "8" revoke of another's), or NULL. */
const char *wa_msg_kind_edit_attr(const uint8_t *msg, size_t len);
/* Builders of edits.c (protocol and location/contact rows). */
/* The contextInfo every kind we send carries the same way: the reply's
 * quote (stanzaId, participant, quotedMessage), the mentions and the
 * chat's disappearing timer, from c into the caller's ci and quoted (both
 * zero-initialised); NULL when c has none of them. */
Wa__ContextInfo *wa_msg_context_info(const wa_msg_content *c, Wa__ContextInfo *ci, Wa__Message *quoted);
/* q is NULL or a quote the builders accept (id, participant, text bounds). */
bool wa_msg_quote_ok(const wa_msg_quote *q);
/* The quote of a send's opts->quoted into q (its author's bare JID into
 * qpart: the key's participant, else us when fromMe, else the chat); NULL
 * when opts has none (outbox.c, for every send that can be a reply). */
const wa_msg_quote *wa_msg_opts_quote(wa_session *s, const wa_send_opts *opts, wa_msg_quote *q,
	char qpart[WA_STORE_JID_MAX]);
/* Frees what wa_msg_opts_quote put in q (q zeroed first by the caller). */
void wa_msg_quote_clear(wa_msg_quote *q);
int wa_msg_build_protocol(const wa_msg_content *c, uint8_t **out, size_t *out_len) WA_MUST_CHECK;
int wa_msg_build_location(const wa_msg_content *c, uint8_t **out, size_t *out_len) WA_MUST_CHECK;
int wa_msg_build_contacts(const wa_msg_content *c, uint8_t **out, size_t *out_len) WA_MUST_CHECK;
int wa_msg_build_group_invite(const wa_msg_content *c, uint8_t **out, size_t *out_len) WA_MUST_CHECK;
int wa_msg_build_poll(const wa_msg_content *c, uint8_t **out, size_t *out_len) WA_MUST_CHECK;
bool wa_msg_protocol_emitted(const Wa__Message *m);
const char *wa_msg_protocol_edit_attr(const Wa__Message *m);
/* Builds kind id from c; WA_EINVAL for a kind we do not send. */
int wa_msg_kind_build(enum wa_msg_kind_id id, const wa_msg_content *c, uint8_t **out,
	size_t *out_len) WA_MUST_CHECK;

#endif
