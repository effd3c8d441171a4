/* Message kinds (kinds.h): the table the pipeline consults, and the
 * protobufs we build for the kinds we send on 1:1 chats (messaging.md §3,
 * §8, vectors §12.3): plain text, replies/mentions, reactions, and the
 * deviceSentMessage copy for our own other devices. Built with protobuf-c
 * over stack structs that point at the caller's strings (nothing here owns
 * them). */
#include <stdlib.h>
#include <string.h>

#include "message.pb-c.h"
#include "pb.h"
#include "session/kinds.h"

static int pack(const ProtobufCMessage *m, uint8_t **out, size_t *out_len)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *b = malloc(n ? n : 1);
	if (!b)
		return WA_ENOMEM;
	protobuf_c_message_pack(m, b);
	*out = b;
	*out_len = n;
	return 0;
}

/* protobuf-c wants char * in its structs; we never write through them. */
static char *unconst(const char *s)
{
	return (char *)(uintptr_t)s;
}

static bool str_ok(const char *s, size_t max)
{
	return s && strlen(s) <= max && wa_bin_valid_string(s, strlen(s));
}

bool wa_msg_quote_ok(const wa_msg_quote *q)
{
	return !q || (str_ok(q->id, WA_MSG_ID_MAX) && (!q->participant || str_ok(q->participant, WA_STORE_JID_MAX)) &&
			     (!q->text || str_ok(q->text, WA_MSG_MAX_TEXT)));
}

Wa__ContextInfo *wa_msg_context_info(const wa_msg_content *c, Wa__ContextInfo *ci, Wa__Message *quoted)
{
	const wa_msg_quote *q = c->quote;
	if (!q && !c->n_mentions && !c->expiration)
		return NULL;
	if (c->expiration) {
		ci->has_expiration = 1;
		ci->expiration = c->expiration;
		ci->has_ephemeral_setting_timestamp = c->ephemeral_ts > 0;
		ci->ephemeral_setting_timestamp = c->ephemeral_ts;
	}
	if (q) {
		ci->stanza_id = unconst(q->id);
		ci->participant = unconst(q->participant);
		if (q->message) {
			ci->quoted_message = q->message;
		} else {
			quoted->conversation = unconst(q->text ? q->text : "");
			ci->quoted_message = quoted;
		}
	}
	ci->n_mentioned_jid = c->n_mentions;
	ci->mentioned_jid = (char **)(uintptr_t)c->mentions;
	return ci;
}

/* expiration: the chat's disappearing-messages timer (0: none), set with
 * the setting's time (when known) in contextInfo as clients do; it makes
 * the text an extendedTextMessage. */
static int build_text(const char *text, const wa_msg_quote *quote, const char *const *mentions,
	size_t n_mentions, const uint8_t *secret, uint32_t expiration, int64_t eph_ts, const wa_send_opts *pv,
	uint8_t **out, size_t *out_len)
{
	bool preview = pv && (pv->preview_url || pv->preview_title || pv->preview_description || pv->preview_thumb);
	if (preview && ((pv->preview_url && !str_ok(pv->preview_url, WA_MSG_MAX_TEXT)) ||
			(pv->preview_title && !str_ok(pv->preview_title, WA_MSG_MAX_TEXT)) ||
			(pv->preview_description && !str_ok(pv->preview_description, WA_MSG_MAX_TEXT)) ||
			(pv->preview_thumb && pv->preview_thumb_len > WA_MSG_MAX_THUMB)))
		return WA_EINVAL;
	if (!out || !out_len || !str_ok(text, WA_MSG_MAX_TEXT) || (n_mentions && !mentions))
		return WA_EINVAL;
	if (!wa_msg_quote_ok(quote))
		return WA_EINVAL;
	for (size_t i = 0; i < n_mentions; i++)
		if (!str_ok(mentions[i], WA_STORE_JID_MAX))
			return WA_EINVAL;

	Wa__Message msg = WA__MESSAGE__INIT;
	Wa__Message__ExtendedTextMessage ext = WA__MESSAGE__EXTENDED_TEXT_MESSAGE__INIT;
	Wa__ContextInfo ci = WA__CONTEXT_INFO__INIT;
	Wa__Message quoted = WA__MESSAGE__INIT;
	Wa__MessageContextInfo mci = WA__MESSAGE_CONTEXT_INFO__INIT;

	if (preview) {
		ext.matched_text = unconst(pv->preview_url);
		ext.title = unconst(pv->preview_title);
		ext.description = unconst(pv->preview_description);
		if (pv->preview_thumb) {
			ext.has_jpeg_thumbnail = 1;
			ext.jpeg_thumbnail.data = (uint8_t *)(uintptr_t)pv->preview_thumb;
			ext.jpeg_thumbnail.len = pv->preview_thumb_len;
		}
	}
	if (quote || n_mentions || expiration || preview) {
		ext.text = unconst(text);
		wa_msg_content cc = {.quote = quote, .mentions = mentions, .n_mentions = n_mentions,
			.expiration = expiration, .ephemeral_ts = eph_ts};
		ext.context_info = wa_msg_context_info(&cc, &ci, &quoted);
		msg.extended_text_message = &ext;
	} else {
		msg.conversation = unconst(text);
	}
	if (secret) {
		mci.has_message_secret = 1;
		mci.message_secret.data = (uint8_t *)(uintptr_t)secret;
		mci.message_secret.len = WA_MSG_SECRET_LEN;
		msg.message_context_info = &mci;
	}
	return pack(&msg.base, out, out_len);
}

int wa_msg_build_text(const char *text, const wa_msg_quote *quote, const char *const *mentions,
	size_t n_mentions, const uint8_t *secret, uint8_t **out, size_t *out_len)
{
	return build_text(text, quote, mentions, n_mentions, secret, 0, 0, NULL, out, out_len);
}

int wa_msg_build_reaction(const char *remote_jid, bool from_me, const char *id,
	const char *participant, const char *emoji, int64_t ts_ms, uint8_t **out, size_t *out_len)
{
	if (!out || !out_len || !str_ok(remote_jid, WA_STORE_JID_MAX) || !str_ok(id, WA_MSG_ID_MAX) ||
	    !emoji || !str_ok(emoji, 64) || (participant && !str_ok(participant, WA_STORE_JID_MAX)))
		return WA_EINVAL;
	Wa__Message msg = WA__MESSAGE__INIT;
	Wa__Message__ReactionMessage r = WA__MESSAGE__REACTION_MESSAGE__INIT;
	Wa__MessageKey key = WA__MESSAGE_KEY__INIT;
	key.remote_jid = unconst(remote_jid);
	key.has_from_me = 1;
	key.from_me = from_me;
	key.id = unconst(id);
	key.participant = unconst(participant);
	r.key = &key;
	r.text = unconst(emoji);
	r.has_sender_timestamp_ms = 1;
	r.sender_timestamp_ms = ts_ms;
	msg.reaction_message = &r;
	return pack(&msg.base, out, out_len);
}

int wa_msg_wrap_dsm(const uint8_t *msg, size_t msg_len, const char *dest_jid, uint8_t **out,
	size_t *out_len)
{
	if (!out || !out_len || (!msg && msg_len) || !str_ok(dest_jid, WA_STORE_JID_MAX))
		return WA_EINVAL;
	ProtobufCMessage *inner_pb = NULL;
	int rc = wa_pb_unpack(&inner_pb, &wa__message__descriptor, msg, msg_len, WA_SIG_MAX_PLAINTEXT);
	if (rc != 0)
		return rc;
	Wa__Message *inner = (Wa__Message *)inner_pb;
	Wa__Message outer = WA__MESSAGE__INIT;
	Wa__Message__DeviceSentMessage dsm = WA__MESSAGE__DEVICE_SENT_MESSAGE__INIT;
	dsm.destination_jid = unconst(dest_jid);
	dsm.message = inner;
	outer.device_sent_message = &dsm;
	/* Baileys copies messageContextInfo to the top level too (§12.3 vector) */
	outer.message_context_info = inner->message_context_info;
	rc = pack(&outer.base, out, out_len);
	protobuf_c_message_free_unpacked(inner_pb, NULL);
	return rc;
}

/* ---------------- the table ---------------- */

static const char *text_conversation(const Wa__Message *m)
{
	return m->conversation;
}

static const char *text_extended(const Wa__Message *m)
{
	return m->extended_text_message ? m->extended_text_message->text : NULL;
}

static const char *text_image(const Wa__Message *m)
{
	return m->image_message ? m->image_message->caption : NULL;
}

static const char *text_video(const Wa__Message *m)
{
	return m->video_message ? m->video_message->caption : NULL;
}

static const char *text_document(const Wa__Message *m)
{
	return m->document_message ? m->document_message->caption : NULL;
}

static ProtobufCBinaryData bin(const uint8_t *p, size_t n, protobuf_c_boolean *has)
{
	*has = p != NULL;
	return (ProtobufCBinaryData){.len = p ? n : 0, .data = (uint8_t *)(uintptr_t)p};
}

/* The media builders: every kind carries the same core fields under its
 * own field numbers (messaging.md §7), set from c->media. */
#define MEDIA_CORE(x, md)                                                                  \
	do {                                                                               \
		(x).url = unconst((md)->url);                                              \
		(x).direct_path = unconst((md)->direct_path);                              \
		(x).mimetype = unconst((md)->mimetype);                                    \
		(x).media_key = bin((md)->media_key, 32, &(x).has_media_key);              \
		(x).file_sha256 = bin((md)->file_sha256, 32, &(x).has_file_sha256);        \
		(x).file_enc_sha256 = bin((md)->file_enc_sha256, 32, &(x).has_file_enc_sha256); \
		(x).has_file_length = (md)->file_sha256 != NULL;                           \
		(x).file_length = (md)->file_length;                                       \
		(x).has_media_key_timestamp = (md)->media_key_timestamp != 0;              \
		(x).media_key_timestamp = (md)->media_key_timestamp;                       \
	} while (0)

static bool media_ok(const wa_msg_media *md)
{
	return md && md->media_key && str_ok(md->mimetype, 255) &&
	       (!md->url || str_ok(md->url, 2048)) && (!md->direct_path || str_ok(md->direct_path, 2048)) &&
	       (!md->caption || str_ok(md->caption, WA_MSG_MAX_TEXT)) &&
	       (!md->file_name || str_ok(md->file_name, 1024)) && md->thumbnail_len <= 65536 &&
	       md->waveform_len <= 256;
}

static bool mentions_ok(const wa_msg_content *c)
{
	if (c->n_mentions && !c->mentions)
		return false;
	for (size_t i = 0; i < c->n_mentions; i++)
		if (!str_ok(c->mentions[i], WA_STORE_JID_MAX))
			return false;
	return true;
}

/* Packs msg, in a viewOnceMessage wrapper when c->media->view_once (as
 * Baileys wraps it; the media inside is flagged viewOnce as phones do). */
static int pack_media(const wa_msg_media *md, Wa__Message *msg, uint8_t **out, size_t *out_len)
{
	if (!md->view_once)
		return pack(&msg->base, out, out_len);
	Wa__Message outer = WA__MESSAGE__INIT;
	Wa__Message__FutureProofMessage fp = WA__MESSAGE__FUTURE_PROOF_MESSAGE__INIT;
	fp.message = msg;
	outer.view_once_message = &fp;
	return pack(&outer.base, out, out_len);
}

#define THUMB(x, md)                                                                  \
	do {                                                                          \
		(x).has_jpeg_thumbnail = (md)->thumbnail && (md)->thumbnail_len;      \
		(x).jpeg_thumbnail.data = (uint8_t *)(uintptr_t)(md)->thumbnail;      \
		(x).jpeg_thumbnail.len = (md)->thumbnail ? (md)->thumbnail_len : 0;   \
	} while (0)

static int build_image(const wa_msg_content *c, uint8_t **out, size_t *out_len)
{
	const wa_msg_media *md = c->media;
	if (!media_ok(md) || !mentions_ok(c) || !wa_msg_quote_ok(c->quote))
		return WA_EINVAL;
	Wa__Message msg = WA__MESSAGE__INIT;
	Wa__Message__ImageMessage x = WA__MESSAGE__IMAGE_MESSAGE__INIT;
	Wa__ContextInfo ci = WA__CONTEXT_INFO__INIT;
	Wa__Message quoted = WA__MESSAGE__INIT;
	MEDIA_CORE(x, md);
	x.context_info = wa_msg_context_info(c, &ci, &quoted);
	x.caption = unconst(md->caption);
	x.has_width = md->width != 0;
	x.width = md->width;
	x.has_height = md->height != 0;
	x.height = md->height;
	THUMB(x, md);
	x.has_view_once = x.view_once = md->view_once;
	msg.image_message = &x;
	return pack_media(md, &msg, out, out_len);
}

static int build_video(const wa_msg_content *c, uint8_t **out, size_t *out_len)
{
	const wa_msg_media *md = c->media;
	if (!media_ok(md) || !mentions_ok(c) || !wa_msg_quote_ok(c->quote))
		return WA_EINVAL;
	Wa__Message msg = WA__MESSAGE__INIT;
	Wa__Message__VideoMessage x = WA__MESSAGE__VIDEO_MESSAGE__INIT;
	Wa__ContextInfo ci = WA__CONTEXT_INFO__INIT;
	Wa__Message quoted = WA__MESSAGE__INIT;
	MEDIA_CORE(x, md);
	x.context_info = wa_msg_context_info(c, &ci, &quoted);
	x.caption = unconst(md->caption);
	x.has_seconds = md->seconds != 0;
	x.seconds = md->seconds;
	x.has_width = md->width != 0;
	x.width = md->width;
	x.has_height = md->height != 0;
	x.height = md->height;
	x.has_gif_playback = 1; /* Evolution sends videos with gifPlayback false */
	THUMB(x, md);
	x.has_view_once = x.view_once = md->view_once;
	msg.video_message = &x;
	return pack_media(md, &msg, out, out_len);
}

static int build_audio(const wa_msg_content *c, uint8_t **out, size_t *out_len)
{
	const wa_msg_media *md = c->media;
	if (!media_ok(md) || !mentions_ok(c) || !wa_msg_quote_ok(c->quote))
		return WA_EINVAL;
	Wa__Message msg = WA__MESSAGE__INIT;
	Wa__Message__AudioMessage x = WA__MESSAGE__AUDIO_MESSAGE__INIT;
	Wa__ContextInfo ci = WA__CONTEXT_INFO__INIT;
	Wa__Message quoted = WA__MESSAGE__INIT;
	MEDIA_CORE(x, md);
	x.context_info = wa_msg_context_info(c, &ci, &quoted);
	x.has_seconds = md->seconds != 0;
	x.seconds = md->seconds;
	x.has_ptt = 1;
	x.ptt = md->ptt;
	x.has_waveform = md->waveform && md->waveform_len;
	x.waveform.data = (uint8_t *)(uintptr_t)md->waveform;
	x.waveform.len = md->waveform ? md->waveform_len : 0;
	x.has_view_once = x.view_once = md->view_once;
	msg.audio_message = &x;
	return pack_media(md, &msg, out, out_len);
}

static int build_document(const wa_msg_content *c, uint8_t **out, size_t *out_len)
{
	const wa_msg_media *md = c->media;
	if (!media_ok(md) || !mentions_ok(c) || !wa_msg_quote_ok(c->quote))
		return WA_EINVAL;
	Wa__Message msg = WA__MESSAGE__INIT;
	Wa__Message__DocumentMessage x = WA__MESSAGE__DOCUMENT_MESSAGE__INIT;
	Wa__ContextInfo ci = WA__CONTEXT_INFO__INIT;
	Wa__Message quoted = WA__MESSAGE__INIT;
	MEDIA_CORE(x, md);
	x.context_info = wa_msg_context_info(c, &ci, &quoted);
	x.caption = unconst(md->caption);
	x.file_name = unconst(md->file_name);
	x.title = unconst(md->file_name);
	THUMB(x, md);
	x.has_page_count = md->page_count != 0;
	x.page_count = md->page_count;
	msg.document_message = &x;
	return pack(&msg.base, out, out_len);
}

static int build_sticker(const wa_msg_content *c, uint8_t **out, size_t *out_len)
{
	const wa_msg_media *md = c->media;
	if (!media_ok(md) || !mentions_ok(c) || !wa_msg_quote_ok(c->quote))
		return WA_EINVAL;
	Wa__Message msg = WA__MESSAGE__INIT;
	Wa__Message__StickerMessage x = WA__MESSAGE__STICKER_MESSAGE__INIT;
	Wa__ContextInfo ci = WA__CONTEXT_INFO__INIT;
	Wa__Message quoted = WA__MESSAGE__INIT;
	MEDIA_CORE(x, md);
	x.context_info = wa_msg_context_info(c, &ci, &quoted);
	x.has_width = md->width != 0;
	x.width = md->width;
	x.has_height = md->height != 0;
	x.height = md->height;
	x.has_is_animated = 1;
	x.is_animated = md->animated;
	msg.sticker_message = &x;
	return pack(&msg.base, out, out_len);
}

static const char *text_reaction(const Wa__Message *m)
{
	return m->reaction_message ? m->reaction_message->text : NULL;
}

static int build_conversation(const wa_msg_content *c, uint8_t **out, size_t *out_len)
{
	return wa_msg_build_text(c->text, NULL, NULL, 0, c->secret, out, out_len);
}

static int build_extended(const wa_msg_content *c, uint8_t **out, size_t *out_len)
{
	return build_text(c->text, c->quote, c->mentions, c->n_mentions, c->secret, c->expiration, c->ephemeral_ts,
		c->preview, out, out_len);
}

static int build_reaction(const wa_msg_content *c, uint8_t **out, size_t *out_len)
{
	return wa_msg_build_reaction(c->target_chat, c->target_from_me, c->target_id,
		c->target_participant, c->emoji, c->ts_ms, out, out_len);
}

/* Rows with a text come in the order their text is preferred (enum
 * wa_msg_kind_id); a kind we do not send yet has no builder, and its
 * stanza type is the default "text" until it gets one. */
const wa_msg_kind wa_msg_kinds[WA_KIND_OTHER + 1] = {
	[WA_KIND_CONVERSATION] = {
		.field = "conversation", .message_type = "conversation", .stanza_type = "text",
		.emit = true, .text = text_conversation, .build = build_conversation,
	},
	[WA_KIND_EXTENDED_TEXT] = {
		.field = "extended_text_message", .message_type = "extendedTextMessage",
		.stanza_type = "text", .emit = true, .text = text_extended, .build = build_extended,
	},
	[WA_KIND_IMAGE] = {
		.field = "image_message", .message_type = "imageMessage", .stanza_type = "media",
		.emit = true, .text = text_image, .build = build_image,
	},
	[WA_KIND_VIDEO] = {
		.field = "video_message", .message_type = "videoMessage", .stanza_type = "media",
		.emit = true, .text = text_video, .build = build_video,
	},
	[WA_KIND_DOCUMENT] = {
		.field = "document_message", .message_type = "documentMessage", .stanza_type = "media",
		.emit = true, .text = text_document, .build = build_document,
	},
	[WA_KIND_AUDIO] = {
		.field = "audio_message", .message_type = "audioMessage", .stanza_type = "media",
		.emit = true, .build = build_audio,
	},
	[WA_KIND_STICKER] = {
		.field = "sticker_message", .message_type = "stickerMessage", .stanza_type = "media",
		.emit = true, .build = build_sticker,
	},
	[WA_KIND_REACTION] = {
		.field = "reaction_message", .message_type = "reactionMessage", .stanza_type = "reaction",
		.hide_decrypt_fail = true, .emit = true, .text = text_reaction, .build = build_reaction,
	},
	[WA_KIND_PROTOCOL] = {
		.field = "protocol_message", .message_type = "protocolMessage", .stanza_type = "text",
		.emit = false, .emit_if = wa_msg_protocol_emitted, .edit_attr = wa_msg_protocol_edit_attr,
		.build = wa_msg_build_protocol,
	},
	[WA_KIND_LOCATION] = {
		.field = "location_message", .message_type = "locationMessage", .stanza_type = "text",
		.emit = true, .build = wa_msg_build_location,
	},
	[WA_KIND_LIVE_LOCATION] = {
		.field = "live_location_message", .message_type = "liveLocationMessage",
		.stanza_type = "text", .emit = true,
	},
	[WA_KIND_CONTACT] = {
		.field = "contact_message", .message_type = "contactMessage", .stanza_type = "text",
		.emit = true, .build = wa_msg_build_contacts,
	},
	[WA_KIND_CONTACTS_ARRAY] = {
		.field = "contacts_array_message", .message_type = "contactsArrayMessage",
		.stanza_type = "text", .emit = true, .build = wa_msg_build_contacts,
	},
	[WA_KIND_POLL] = {
		.field = "poll_creation_message", .message_type = "pollCreationMessage", .stanza_type = "poll",
		.emit = true, .build = wa_msg_build_poll,
	},
	[WA_KIND_POLL_V3] = {
		.field = "poll_creation_message_v3", .message_type = "pollCreationMessageV3",
		.stanza_type = "poll", .emit = true, .build = wa_msg_build_poll,
	},
	[WA_KIND_POLL_UPDATE] = {
		.field = "poll_update_message", .message_type = "pollUpdateMessage", .stanza_type = "poll",
		.emit = true,
	},
	[WA_KIND_GROUP_INVITE] = {
		.field = "group_invite_message", .message_type = "groupInviteMessage", .stanza_type = "text",
		.emit = true, .build = wa_msg_build_group_invite,
	},
	/* its messageType is the content field's name in lowerCamel */
	[WA_KIND_OTHER] = {.field = NULL, .message_type = NULL, .stanza_type = "text", .emit = true},
};

static bool field_present(const Wa__Message *m, const ProtobufCFieldDescriptor *f)
{
	const char *base = (const char *)m;
	if (f->label == PROTOBUF_C_LABEL_REPEATED)
		return false;
	if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE)
		return *(void *const *)(base + f->offset) != NULL;
	return f->quantifier_offset && *(const protobuf_c_boolean *)(base + f->quantifier_offset);
}

const char *wa_msg_content_field(const Wa__Message *m)
{
	const ProtobufCMessageDescriptor *d = &wa__message__descriptor;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		if (strcmp(f->name, "sender_key_distribution_message") == 0 ||
		    strcmp(f->name, "message_context_info") == 0)
			continue;
		if (field_present(m, f))
			return f->name;
	}
	return NULL;
}

const wa_msg_kind *wa_msg_kind_of_field(const char *field)
{
	const wa_msg_kind *k = wa_msg_kinds;
	for (; k->field; k++)
		if (field && strcmp(k->field, field) == 0)
			return k;
	return k;
}

const wa_msg_kind *wa_msg_kind_of(const uint8_t *msg, size_t len)
{
	ProtobufCMessage *pb = NULL;
	if (wa_pb_unpack(&pb, &wa__message__descriptor, msg, len, WA_SIG_MAX_PLAINTEXT) != 0)
		return wa_msg_kind_of_field(NULL);
	const Wa__Message *m = (const Wa__Message *)pb;
	/* a view-once media goes as media (Baileys' message type) */
	if (m->view_once_message && m->view_once_message->message)
		m = m->view_once_message->message;
	const wa_msg_kind *k = wa_msg_kind_of_field(wa_msg_content_field(m));
	protobuf_c_message_free_unpacked(pb, NULL);
	return k;
}

bool wa_msg_kind_emitted(const Wa__Message *m)
{
	/* content our schema does not know (a future kind) is emitted raw */
	if (!wa_msg_content_field(m))
		return m->base.n_unknown_fields > 0;
	for (const wa_msg_kind *k = wa_msg_kinds; k->field; k++) {
		if (k->emit)
			continue;
		const ProtobufCFieldDescriptor *f =
			protobuf_c_message_descriptor_get_field_by_name(&wa__message__descriptor, k->field);
		if (f && field_present(m, f) && !(k->emit_if && k->emit_if(m)))
			return false;
	}
	return true;
}

const char *wa_msg_kind_edit_attr(const uint8_t *msg, size_t len)
{
	ProtobufCMessage *pb = NULL;
	if (wa_pb_unpack(&pb, &wa__message__descriptor, msg, len, WA_SIG_MAX_PLAINTEXT) != 0)
		return NULL;
	const Wa__Message *m = (const Wa__Message *)pb;
	const wa_msg_kind *k = wa_msg_kind_of_field(wa_msg_content_field(m));
	const char *a = k->edit_attr ? k->edit_attr(m) : NULL;
	protobuf_c_message_free_unpacked(pb, NULL);
	return a;
}

const char *wa_msg_kind_text(const Wa__Message *m)
{
	for (const wa_msg_kind *k = wa_msg_kinds; k->field; k++) {
		const char *t = k->text ? k->text(m) : NULL;
		if (t)
			return t;
	}
	return NULL;
}

int wa_msg_kind_build(enum wa_msg_kind_id id, const wa_msg_content *c, uint8_t **out, size_t *out_len)
{
	if (!c || (unsigned)id > WA_KIND_OTHER || !wa_msg_kinds[id].build)
		return WA_EINVAL;
	return wa_msg_kinds[id].build(c, out, out_len);
}
