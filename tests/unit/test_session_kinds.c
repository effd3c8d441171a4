/* The message kinds table of src/session (kinds.h): every row names a real
 * Message field and its messageType is that field as Baileys names it; the
 * pipeline's questions (which row a Message is, what its stanza looks like,
 * its text, whether it reaches the embedder) answered from the table. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "message.pb-c.h"
#include "session/kinds.h"

static void lower_camel(const char *in, char *out, size_t cap)
{
	size_t o = 0;
	bool up = false;
	for (const char *p = in; *p && o + 1 < cap; p++) {
		if (*p == '_') {
			up = true;
			continue;
		}
		out[o++] = up ? (char)toupper((unsigned char)*p) : *p;
		up = false;
	}
	out[o] = '\0';
}

/* the message's JSON (as the pipeline renders it), for field checks */
static const char *json_of(const uint8_t *b, size_t len)
{
	static char buf[8192];
	wa_msg_view v;
	buf[0] = 0;
	if (wa_msg_view_parse(b, len, &v) == 0) {
		snprintf(buf, sizeof buf, "%s", v.json ? v.json : "");
		wa_msg_view_clear(&v);
	}
	return buf;
}

static void test_rows(void)
{
	size_t n = 0;
	for (const wa_msg_kind *k = wa_msg_kinds; k->field; k++, n++) {
		const ProtobufCFieldDescriptor *f =
			protobuf_c_message_descriptor_get_field_by_name(&wa__message__descriptor, k->field);
		CHECK(f != NULL);
		char camel[96];
		lower_camel(k->field, camel, sizeof camel);
		CHECK_EQ_STR(k->message_type, camel);
		CHECK(k->stanza_type != NULL);
		CHECK(wa_msg_kind_of_field(k->field) == k);
	}
	/* the enum indexes the table, which ends with the catch-all row */
	CHECK_EQ_INT(n, WA_KIND_OTHER);
	CHECK(wa_msg_kinds[WA_KIND_OTHER].field == NULL && wa_msg_kinds[WA_KIND_OTHER].emit);
	CHECK(wa_msg_kind_of_field("pin_in_chat_message") == &wa_msg_kinds[WA_KIND_OTHER]);
	CHECK(wa_msg_kind_of_field(NULL) == &wa_msg_kinds[WA_KIND_OTHER]);
}

static void test_build(void)
{
	uint8_t *b = NULL;
	size_t len = 0;
	wa_msg_content c = {.text = "Hello"};
	CHECK_EQ_INT(wa_msg_kind_build(WA_KIND_CONVERSATION, &c, &b, &len), 0);
	CHECK(wa_msg_kind_of(b, len) == &wa_msg_kinds[WA_KIND_CONVERSATION]);
	CHECK_EQ_STR(wa_msg_stanza_type(b, len), "text");
	free(b);
	wa_msg_quote q = {.id = "3EB0ABCDEF", .participant = "15550001111@s.whatsapp.net", .text = "Hi"};
	c.quote = &q;
	CHECK_EQ_INT(wa_msg_kind_build(WA_KIND_EXTENDED_TEXT, &c, &b, &len), 0);
	CHECK(wa_msg_kind_of(b, len) == &wa_msg_kinds[WA_KIND_EXTENDED_TEXT]);
	free(b);
	wa_msg_content r = {.target_chat = "15550001111@s.whatsapp.net", .target_id = "3EB0ABCDEF",
		.emoji = "\xf0\x9f\x91\x8d", .ts_ms = 1700000000000LL};
	CHECK_EQ_INT(wa_msg_kind_build(WA_KIND_REACTION, &r, &b, &len), 0);
	const wa_msg_kind *k = wa_msg_kind_of(b, len);
	CHECK(k == &wa_msg_kinds[WA_KIND_REACTION]);
	CHECK_EQ_STR(k->stanza_type, "reaction");
	CHECK(k->hide_decrypt_fail);
	free(b);
	/* kinds we do not send yet, and garbage */
	CHECK_EQ_INT(wa_msg_kind_build(WA_KIND_IMAGE, &c, &b, &len), WA_EINVAL);
	CHECK_EQ_INT(wa_msg_kind_build(WA_KIND_PROTOCOL, &c, &b, &len), WA_EINVAL);
	CHECK(wa_msg_kind_of((const uint8_t *)"\xff\xff", 2) == &wa_msg_kinds[WA_KIND_OTHER]);
}

/* m serialized, then seen the way WA_EV_MESSAGE sees it. */
static void view_of(const Wa__Message *m, wa_msg_view *v)
{
	size_t n = protobuf_c_message_get_packed_size(&m->base);
	uint8_t *b = malloc(n ? n : 1);
	CHECK(b != NULL);
	if (!b)
		return;
	protobuf_c_message_pack(&m->base, b);
	CHECK_EQ_INT(wa_msg_view_parse(b, n, v), 0);
	free(b);
}

static void test_receive(void)
{
	wa_msg_view v;
	/* an image: its messageType and caption */
	Wa__Message m = WA__MESSAGE__INIT;
	Wa__Message__ImageMessage img = WA__MESSAGE__IMAGE_MESSAGE__INIT;
	img.caption = "a cat";
	m.image_message = &img;
	view_of(&m, &v);
	CHECK_EQ_STR(v.message_type, "imageMessage");
	CHECK_EQ_STR(v.text, "a cat");
	CHECK(v.emit);
	wa_msg_view_clear(&v);
	/* the text comes from the first row with one, whatever the content type:
	 * an image (field 3) with an extended text (field 6) is an imageMessage
	 * whose text is the extended text */
	Wa__Message__ExtendedTextMessage ext = WA__MESSAGE__EXTENDED_TEXT_MESSAGE__INIT;
	ext.text = "the text";
	m.extended_text_message = &ext;
	view_of(&m, &v);
	CHECK_EQ_STR(v.message_type, "imageMessage");
	CHECK_EQ_STR(v.text, "the text");
	wa_msg_view_clear(&v);
	/* a protocol message stays below the API, even next to content */
	Wa__Message p = WA__MESSAGE__INIT;
	Wa__Message__ProtocolMessage pm = WA__MESSAGE__PROTOCOL_MESSAGE__INIT;
	p.protocol_message = &pm;
	view_of(&p, &v);
	CHECK_EQ_STR(v.message_type, "protocolMessage");
	CHECK(!v.emit && v.is_protocol);
	wa_msg_view_clear(&v);
	p.conversation = "hi";
	view_of(&p, &v);
	CHECK_EQ_STR(v.message_type, "conversation");
	CHECK(!v.emit);
	wa_msg_view_clear(&v);
	p.conversation = NULL;
	/* but a chat's disappearing-messages timer change reaches the embedder
	 * (it has no key) */
	pm.has_type = true;
	pm.type = WA__MESSAGE__PROTOCOL_MESSAGE__TYPE__EPHEMERAL_SETTING;
	pm.has_ephemeral_expiration = true;
	pm.ephemeral_expiration = 604800;
	view_of(&p, &v);
	CHECK(v.emit && v.json && strstr(v.json, "\"type\":\"EPHEMERAL_SETTING\"") &&
	      strstr(v.json, "\"ephemeralExpiration\":604800"));
	wa_msg_view_clear(&v);
	pm.has_type = false;
	pm.has_ephemeral_expiration = false;
	/* no content at all (only a sender key distribution): not emitted */
	Wa__Message e = WA__MESSAGE__INIT;
	Wa__Message__SenderKeyDistributionMessage skdm = WA__MESSAGE__SENDER_KEY_DISTRIBUTION_MESSAGE__INIT;
	e.sender_key_distribution_message = &skdm;
	view_of(&e, &v);
	CHECK(v.message_type == NULL && !v.emit && v.has_skdm);
	wa_msg_view_clear(&v);
	/* a kind without a row: lowerCamel of its field, emitted, no text */
	Wa__Message o = WA__MESSAGE__INIT;
	Wa__Message__PinInChatMessage pin = WA__MESSAGE__PIN_IN_CHAT_MESSAGE__INIT;
	o.pin_in_chat_message = &pin;
	view_of(&o, &v);
	CHECK_EQ_STR(v.message_type, "pinInChatMessage");
	CHECK(v.emit && v.text == NULL);
	wa_msg_view_clear(&v);
}

/* edits and revokes: built, their edit attribute, and emitted (unlike the
 * protocol messages that stay below the API) */
static void test_edits(void)
{
	uint8_t *b = NULL;
	size_t len = 0;
	wa_msg_view v;
	wa_msg_content e = {.edit = true, .text = "fixed", .target_chat = "15550001111@s.whatsapp.net",
		.target_from_me = true, .target_id = "3EB0ABCDEF", .ts_ms = 1700000000000LL};
	CHECK_EQ_INT(wa_msg_kind_build(WA_KIND_PROTOCOL, &e, &b, &len), 0);
	CHECK(wa_msg_kind_of(b, len) == &wa_msg_kinds[WA_KIND_PROTOCOL]);
	CHECK_EQ_STR(wa_msg_kind_edit_attr(b, len), "1");
	CHECK_EQ_INT(wa_msg_view_parse(b, len, &v), 0);
	CHECK(v.emit);
	CHECK(v.json && strstr(v.json, "\"type\":\"MESSAGE_EDIT\"") && strstr(v.json, "\"editedMessage\":{\"conversation\":\"fixed\"}"));
	wa_msg_view_clear(&v);
	free(b);
	wa_msg_content r = {.target_chat = "15550001111@s.whatsapp.net", .target_from_me = true, .target_id = "3EB0ABCDEF"};
	CHECK_EQ_INT(wa_msg_kind_build(WA_KIND_PROTOCOL, &r, &b, &len), 0);
	CHECK_EQ_STR(wa_msg_kind_edit_attr(b, len), "7");
	CHECK_EQ_INT(wa_msg_view_parse(b, len, &v), 0);
	CHECK(v.emit && strstr(v.json, "\"type\":\"REVOKE\""));
	wa_msg_view_clear(&v);
	free(b);
	r.target_from_me = false;
	r.target_participant = "15550002222@s.whatsapp.net";
	CHECK_EQ_INT(wa_msg_kind_build(WA_KIND_PROTOCOL, &r, &b, &len), 0);
	CHECK_EQ_STR(wa_msg_kind_edit_attr(b, len), "8");
	free(b);
	/* an edit without text, a revoke without a target: refused */
	e.text = NULL;
	CHECK_EQ_INT(wa_msg_kind_build(WA_KIND_PROTOCOL, &e, &b, &len), WA_EINVAL);
	r.target_id = NULL;
	CHECK_EQ_INT(wa_msg_kind_build(WA_KIND_PROTOCOL, &r, &b, &len), WA_EINVAL);
	/* a text has no edit attribute */
	wa_msg_content t = {.text = "Hello"};
	CHECK_EQ_INT(wa_msg_kind_build(WA_KIND_CONVERSATION, &t, &b, &len), 0);
	CHECK(wa_msg_kind_edit_attr(b, len) == NULL);
	free(b);
}

static void test_location_contacts(void)
{
	uint8_t *b = NULL;
	size_t len = 0;
	wa_msg_view v;
	wa_msg_content l = {.lat = -19.5, .lon = -43.25, .name = "P", .address = "A"};
	CHECK_EQ_INT(wa_msg_kind_build(WA_KIND_LOCATION, &l, &b, &len), 0);
	CHECK_EQ_INT(wa_msg_view_parse(b, len, &v), 0);
	CHECK_EQ_STR(v.message_type, "locationMessage");
	CHECK(strstr(v.json, "\"degreesLatitude\":-19.5") && strstr(v.json, "\"degreesLongitude\":-43.25"));
	wa_msg_view_clear(&v);
	free(b);
	l.expiration = 604800;
	CHECK_EQ_INT(wa_msg_kind_build(WA_KIND_LOCATION, &l, &b, &len), 0);
	CHECK(strstr(json_of(b, len), "\"contextInfo\":{\"expiration\":604800"));
	free(b);
	l.lat = 91;
	CHECK_EQ_INT(wa_msg_kind_build(WA_KIND_LOCATION, &l, &b, &len), WA_EINVAL);
	const char *names[2] = {"Ana", "Bia"}, *cards[2] = {"BEGIN:VCARD\nEND:VCARD", "BEGIN:VCARD\nEND:VCARD"};
	wa_msg_content c = {.display_name = "2 contacts", .card_names = names, .vcards = cards, .n_cards = 1};
	CHECK_EQ_INT(wa_msg_kind_build(WA_KIND_CONTACT, &c, &b, &len), 0);
	CHECK(wa_msg_kind_of(b, len) == &wa_msg_kinds[WA_KIND_CONTACT]);
	free(b);
	c.n_cards = 2;
	c.expiration = 86400;
	CHECK_EQ_INT(wa_msg_kind_build(WA_KIND_CONTACTS_ARRAY, &c, &b, &len), 0);
	CHECK(strstr(json_of(b, len), "\"contextInfo\":{\"expiration\":86400"));
	free(b);
	c.expiration = 0;
	CHECK_EQ_INT(wa_msg_kind_build(WA_KIND_CONTACTS_ARRAY, &c, &b, &len), 0);
	CHECK_EQ_INT(wa_msg_view_parse(b, len, &v), 0);
	CHECK_EQ_STR(v.message_type, "contactsArrayMessage");
	CHECK(strstr(v.json, "\"displayName\":\"2 contacts\"") && strstr(v.json, "\"displayName\":\"Bia\""));
	wa_msg_view_clear(&v);
	free(b);

	/* groupInviteMessage: Baileys' field names, the expiry as a string */
	wa_msg_content gi = {.invite_group = "120363000000000001", .invite_code = "AbC123", .invite_expiration = 1800000000,
		.name = "Team", .text = "join"};
	CHECK_EQ_INT(wa_msg_kind_build(WA_KIND_GROUP_INVITE, &gi, &b, &len), 0);
	CHECK_EQ_INT(wa_msg_view_parse(b, len, &v), 0);
	CHECK_EQ_STR(v.message_type, "groupInviteMessage");
	CHECK(v.json && strcmp(v.json, "{\"groupInviteMessage\":{\"groupJid\":\"120363000000000001@g.us\",\"inviteCode\":"
		"\"AbC123\",\"inviteExpiration\":\"1800000000\",\"groupName\":\"Team\",\"caption\":\"join\"}}") == 0);
	wa_msg_view_clear(&v);
	free(b);
	gi.invite_group = "15550001111@s.whatsapp.net";
	CHECK_EQ_INT(wa_msg_kind_build(WA_KIND_GROUP_INVITE, &gi, &b, &len), WA_EINVAL);
	gi.invite_group = "120363000000000001@g.us";
	gi.invite_code = "";
	CHECK_EQ_INT(wa_msg_kind_build(WA_KIND_GROUP_INVITE, &gi, &b, &len), WA_EINVAL);
}

static void test_poll(void)
{
	uint8_t *b = NULL;
	size_t len = 0;
	wa_msg_view v;
	uint8_t secret[WA_MSG_SECRET_LEN];
	memset(secret, 7, sizeof secret);
	const char *opts[3] = {"Mon", "Tue", "Wed"};
	wa_msg_content p = {.name = "Best day?", .options = opts, .n_options = 3, .selectable = 1, .secret = secret};
	CHECK_EQ_INT(wa_msg_kind_build(WA_KIND_POLL_V3, &p, &b, &len), 0);
	CHECK(wa_msg_kind_of(b, len) == &wa_msg_kinds[WA_KIND_POLL_V3]);
	CHECK_EQ_STR(wa_msg_stanza_type(b, len), "poll");
	CHECK_EQ_INT(wa_msg_view_parse(b, len, &v), 0);
	CHECK_EQ_STR(v.message_type, "pollCreationMessageV3");
	CHECK(strstr(v.json, "\"options\":[{\"optionName\":\"Mon\"},{\"optionName\":\"Tue\"},{\"optionName\":\"Wed\"}]") &&
	      strstr(v.json, "\"messageSecret\":\"BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\""));
	wa_msg_view_clear(&v);
	free(b);
	p.selectable = 0; /* any number: pollCreationMessage */
	CHECK_EQ_INT(wa_msg_kind_build(WA_KIND_POLL, &p, &b, &len), 0);
	CHECK(wa_msg_kind_of(b, len) == &wa_msg_kinds[WA_KIND_POLL]);
	free(b);
	opts[2] = "Mon"; /* votes name options by hash: no repeats */
	CHECK_EQ_INT(wa_msg_kind_build(WA_KIND_POLL, &p, &b, &len), WA_EINVAL);
	p.n_options = 1;
	CHECK_EQ_INT(wa_msg_kind_build(WA_KIND_POLL, &p, &b, &len), WA_EINVAL);
}

/* content our schema lacks (field 75, a future kind): emitted raw */
static void test_unknown(void)
{
	/* field 75, length-delimited, 3 bytes {0x0a 0x01 'x'} */
	static const uint8_t raw[] = {0xda, 0x04, 0x03, 0x0a, 0x01, 'x'};
	wa_msg_view v;
	CHECK_EQ_INT(wa_msg_view_parse(raw, sizeof raw, &v), 0);
	CHECK_EQ_STR(v.message_type, "unknown");
	CHECK(v.emit);
	CHECK_EQ_STR(v.json, "{\"unknownFields\":[{\"field\":75,\"wireType\":2,\"data\":\"CgF4\"}]}");
	wa_msg_view_clear(&v);
}

/* The media builders: the fields of messaging.md §7 at their numbers, the
 * upload fields only once known, the stanza type "media" (as Baileys). */
static void test_build_media(void)
{
	uint8_t key[32], fsha[32], esha[32];
	memset(key, 1, sizeof key);
	memset(fsha, 2, sizeof fsha);
	memset(esha, 3, sizeof esha);
	wa_msg_media md = {
		.mimetype = "application/pdf", .caption = "the report", .file_name = "r.pdf", .media_key = key,
		.media_key_timestamp = 1761212800,
	};
	wa_msg_content c = {.media = &md};
	uint8_t *b = NULL;
	size_t len = 0;
	/* queued before the upload: no url, hashes or length yet */
	CHECK_EQ_INT(wa_msg_kind_build(WA_KIND_DOCUMENT, &c, &b, &len), 0);
	CHECK(wa_msg_kind_of(b, len) == &wa_msg_kinds[WA_KIND_DOCUMENT]);
	CHECK_EQ_STR(wa_msg_stanza_type(b, len), "media");
	Wa__Message *m = wa__message__unpack(NULL, len, b);
	CHECK(m && m->document_message);
	if (m && m->document_message) {
		Wa__Message__DocumentMessage *d = m->document_message;
		CHECK(d->url == NULL && !d->has_file_sha256 && !d->has_file_length && !d->has_file_enc_sha256);
		CHECK(d->has_media_key && d->media_key.len == 32 && d->media_key.data[0] == 1);
		CHECK_EQ_STR(d->file_name, "r.pdf");
		CHECK_EQ_STR(d->caption, "the report");
		CHECK_EQ_STR(d->mimetype, "application/pdf");
		CHECK(d->has_media_key_timestamp && d->media_key_timestamp == 1761212800);
	}
	wa__message__free_unpacked(m, NULL);
	free(b);
	/* a voice note after its upload */
	md = (wa_msg_media){
		.url = "https://mmg.whatsapp.net/v/x.enc?a=1", .direct_path = "/v/x.enc?a=1", .mimetype = "audio/ogg; codecs=opus",
		.media_key = key, .file_sha256 = fsha, .file_enc_sha256 = esha, .file_length = 4242,
		.media_key_timestamp = 1761212800, .seconds = 7, .ptt = true,
	};
	CHECK_EQ_INT(wa_msg_kind_build(WA_KIND_AUDIO, &c, &b, &len), 0);
	CHECK(wa_msg_kind_of(b, len) == &wa_msg_kinds[WA_KIND_AUDIO]);
	m = wa__message__unpack(NULL, len, b);
	CHECK(m && m->audio_message);
	if (m && m->audio_message) {
		Wa__Message__AudioMessage *a = m->audio_message;
		CHECK_EQ_STR(a->url, "https://mmg.whatsapp.net/v/x.enc?a=1");
		CHECK_EQ_STR(a->direct_path, "/v/x.enc?a=1");
		CHECK(a->has_ptt && a->ptt && a->has_seconds && a->seconds == 7);
		CHECK(a->has_file_length && a->file_length == 4242);
		CHECK(a->has_file_sha256 && a->file_sha256.data[0] == 2 && a->has_file_enc_sha256 &&
		      a->file_enc_sha256.data[0] == 3);
	}
	wa__message__free_unpacked(m, NULL);
	free(b);
	/* every media row builds; a missing key or mimetype is refused */
	const enum wa_msg_kind_id rows[] = {WA_KIND_IMAGE, WA_KIND_VIDEO, WA_KIND_AUDIO, WA_KIND_DOCUMENT, WA_KIND_STICKER};
	for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
		CHECK_EQ_INT(wa_msg_kind_build(rows[i], &c, &b, &len), 0);
		CHECK(wa_msg_kind_of(b, len) == &wa_msg_kinds[rows[i]]);
		CHECK(wa_msg_kinds[rows[i]].emit);
		CHECK(!strstr(json_of(b, len), "\"expiration\""));
		free(b);
		/* in a disappearing chat each carries the timer in its contextInfo */
		c.expiration = 86400;
		c.ephemeral_ts = 1761212000;
		CHECK_EQ_INT(wa_msg_kind_build(rows[i], &c, &b, &len), 0);
		CHECK(strstr(json_of(b, len), "\"contextInfo\":{\"expiration\":86400,\"ephemeralSettingTimestamp\":\"1761212000\"}"));
		free(b);
		c.expiration = 0;
		c.ephemeral_ts = 0;
	}
	md.media_key = NULL;
	CHECK_EQ_INT(wa_msg_kind_build(WA_KIND_IMAGE, &c, &b, &len), WA_EINVAL);
	md.media_key = key;
	md.mimetype = NULL;
	CHECK_EQ_INT(wa_msg_kind_build(WA_KIND_STICKER, &c, &b, &len), WA_EINVAL);
	wa_msg_content none = {0};
	CHECK_EQ_INT(wa_msg_kind_build(WA_KIND_VIDEO, &none, &b, &len), WA_EINVAL);
}

/* view once: Baileys' viewOnceMessage around the media (flagged viewOnce),
 * still a media stanza; a caption's mentions in the media's contextInfo */
static void test_view_once_mentions(void)
{
	uint8_t key[32];
	memset(key, 1, sizeof key);
	wa_msg_media md = {.mimetype = "image/jpeg", .caption = "once", .media_key = key, .view_once = true};
	const char *const who[] = {"15550001111@s.whatsapp.net", "15550002222@s.whatsapp.net"};
	wa_msg_content c = {.media = &md, .mentions = who, .n_mentions = 2};
	uint8_t *b = NULL;
	size_t len = 0;
	CHECK_EQ_INT(wa_msg_kind_build(WA_KIND_IMAGE, &c, &b, &len), 0);
	CHECK_EQ_STR(wa_msg_stanza_type(b, len), "media");
	CHECK(wa_msg_kind_of(b, len) == &wa_msg_kinds[WA_KIND_IMAGE]);
	Wa__Message *m = wa__message__unpack(NULL, len, b);
	CHECK(m && !m->image_message && m->view_once_message && m->view_once_message->message &&
	      m->view_once_message->message->image_message);
	if (m && m->view_once_message && m->view_once_message->message && m->view_once_message->message->image_message) {
		Wa__Message__ImageMessage *x = m->view_once_message->message->image_message;
		CHECK(x->has_view_once && x->view_once);
		CHECK_EQ_STR(x->caption, "once");
		CHECK(x->context_info && x->context_info->n_mentioned_jid == 2 &&
		      !strcmp(x->context_info->mentioned_jid[1], who[1]) && !x->context_info->has_expiration);
	}
	wa__message__free_unpacked(m, NULL);
	free(b);
	/* without: the bare media, no viewOnce, no contextInfo */
	md.view_once = false;
	c.n_mentions = 0;
	CHECK_EQ_INT(wa_msg_kind_build(WA_KIND_VIDEO, &c, &b, &len), 0);
	m = wa__message__unpack(NULL, len, b);
	CHECK(m && m->video_message && !m->view_once_message && !m->video_message->has_view_once &&
	      !m->video_message->context_info);
	wa__message__free_unpacked(m, NULL);
	free(b);
	/* a bad mention is refused */
	const char *const bad[] = {NULL};
	c.mentions = bad;
	c.n_mentions = 1;
	CHECK_EQ_INT(wa_msg_kind_build(WA_KIND_IMAGE, &c, &b, &len), WA_EINVAL);
}

/* a reply's quote on every media kind: the contextInfo of a text reply
 * (stanzaId, participant, quotedMessage), beside mentions and the timer */
static void test_media_quote(void)
{
	uint8_t key[32];
	memset(key, 1, sizeof key);
	wa_msg_media md = {.mimetype = "image/jpeg", .caption = "see", .media_key = key};
	const char *const who[] = {"15550002222@s.whatsapp.net"};
	wa_msg_quote q = {.id = "3EB0ABCDEF", .participant = "15550001111@s.whatsapp.net", .text = "Hi"};
	wa_msg_content c = {.media = &md, .quote = &q};
	const enum wa_msg_kind_id rows[] = {WA_KIND_IMAGE, WA_KIND_VIDEO, WA_KIND_AUDIO, WA_KIND_DOCUMENT, WA_KIND_STICKER};
	for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
		uint8_t *b = NULL;
		size_t len = 0;
		CHECK_EQ_INT(wa_msg_kind_build(rows[i], &c, &b, &len), 0);
		CHECK(strstr(json_of(b, len), "\"contextInfo\":{\"stanzaId\":\"3EB0ABCDEF\",\"participant\":"
					      "\"15550001111@s.whatsapp.net\",\"quotedMessage\":{\"conversation\":\"Hi\"}}"));
		free(b);
		/* with the caption's mentions and the chat's timer: all in one contextInfo */
		c.mentions = who;
		c.n_mentions = 1;
		c.expiration = 604800;
		CHECK_EQ_INT(wa_msg_kind_build(rows[i], &c, &b, &len), 0);
		Wa__Message *m = wa__message__unpack(NULL, len, b);
		const Wa__ContextInfo *ci = !m ? NULL
			: m->image_message ? m->image_message->context_info
			: m->video_message ? m->video_message->context_info
			: m->audio_message ? m->audio_message->context_info
			: m->document_message ? m->document_message->context_info
			: m->sticker_message ? m->sticker_message->context_info : NULL;
		CHECK(ci && ci->stanza_id && !strcmp(ci->stanza_id, "3EB0ABCDEF") && ci->participant &&
		      !strcmp(ci->participant, q.participant) && ci->quoted_message &&
		      ci->quoted_message->conversation && !strcmp(ci->quoted_message->conversation, "Hi") &&
		      ci->n_mentioned_jid == 1 && !strcmp(ci->mentioned_jid[0], who[0]) && ci->has_expiration &&
		      ci->expiration == 604800);
		wa__message__free_unpacked(m, NULL);
		free(b);
		c.mentions = NULL;
		c.n_mentions = 0;
		c.expiration = 0;
	}
	/* a quote without an id is refused, as a text's */
	q.id = NULL;
	uint8_t *b = NULL;
	size_t len = 0;
	int rc = wa_msg_kind_build(WA_KIND_IMAGE, &c, &b, &len);
	CHECK_EQ_INT(rc, WA_EINVAL);
	if (rc == 0)
		free(b);
}

/* JSON -> protobuf (wa_msg_pb_from_json) is the inverse of the pipeline's
 * protobuf -> JSON: a Message with every kind of field comes back to the same
 * bytes; snake_case keys, unknown keys and nulls as protobufjs takes them;
 * a wrong type, an unknown enum name and too many bytes refused. A quote
 * with the whole message embeds it as quotedMessage. */
static void test_json_in(void)
{
	static uint8_t sha[32], thumb[] = { 0xff, 0xd8, 0xff, 0xd9 };
	memset(sha, 7, sizeof sha);
	Wa__Message m = WA__MESSAGE__INIT, quoted = WA__MESSAGE__INIT;
	Wa__Message__ImageMessage im = WA__MESSAGE__IMAGE_MESSAGE__INIT;
	Wa__ContextInfo ci = WA__CONTEXT_INFO__INIT;
	Wa__Message__LocationMessage loc = WA__MESSAGE__LOCATION_MESSAGE__INIT;
	Wa__Message__ProtocolMessage pm = WA__MESSAGE__PROTOCOL_MESSAGE__INIT;
	Wa__MessageKey key = WA__MESSAGE_KEY__INIT;
	char *jids[] = { "1@s.whatsapp.net", "2@s.whatsapp.net" };
	im.url = "https://mmg.whatsapp.net/x.enc";
	im.caption = "çaption ✓";
	im.has_file_sha256 = im.has_file_length = im.has_height = im.has_media_key_timestamp = im.has_view_once = 1;
	im.file_sha256 = (ProtobufCBinaryData){ sizeof sha, sha };
	im.file_length = 18446744073709551000ull;
	im.height = 4000000000u;
	im.media_key_timestamp = -5;
	im.view_once = 1;
	im.has_jpeg_thumbnail = 1;
	im.jpeg_thumbnail = (ProtobufCBinaryData){ sizeof thumb, thumb };
	quoted.conversation = "the quoted one";
	ci.stanza_id = "ABC";
	ci.quoted_message = &quoted;
	ci.n_mentioned_jid = 2;
	ci.mentioned_jid = jids;
	ci.has_expiration = 1;
	ci.expiration = 86400;
	im.context_info = &ci;
	loc.has_degrees_latitude = loc.has_degrees_longitude = loc.has_speed_in_mps = 1;
	loc.degrees_latitude = -19.933590000000001;
	loc.degrees_longitude = 1e-300;
	loc.speed_in_mps = 1.5f;
	key.remote_jid = "1@s.whatsapp.net";
	key.has_from_me = 1;
	key.id = "K1";
	pm.key = &key;
	pm.has_type = 1;
	pm.type = WA__MESSAGE__PROTOCOL_MESSAGE__TYPE__MESSAGE_EDIT;
	pm.has_timestamp_ms = 1;
	pm.timestamp_ms = 1790000000123;
	m.image_message = &im;
	m.location_message = &loc;
	m.protocol_message = &pm;
	size_t n = wa__message__get_packed_size(&m);
	uint8_t *want = malloc(n);
	CHECK(want != NULL);
	if (!want)
		return;
	wa__message__pack(&m, want);
	char *json = NULL;
	CHECK_EQ_INT(wa_msg_pb_to_json(&m, &json), 0);
	uint8_t *got = NULL;
	size_t got_len = 0;
	CHECK_EQ_INT(wa_msg_pb_from_json(&wa__message__descriptor, json, 1 << 20, &got, &got_len), 0);
	CHECK(got && got_len == n && memcmp(got, want, n) == 0);
	free(got);
	got = NULL;
	/* the same bytes are too many for a smaller bound */
	CHECK_EQ_INT(wa_msg_pb_from_json(&wa__message__descriptor, json, n - 1, &got, &got_len), WA_ETOOBIG);
	free(json);
	free(want);

	/* snake_case, unknown keys, nulls, numbers for longs and enums */
	const char *loose = "{\"image_message\": {\"caption\": \"c\", \"fileLength\": 12, \"mediaUrl\": \"x\", \"url\": null},"
			    " \"base64\": \"AAAA\", \"protocolMessage\": {\"type\": 14}}";
	CHECK_EQ_INT(wa_msg_pb_from_json(&wa__message__descriptor, loose, 4096, &got, &got_len), 0);
	Wa__Message *back = got ? wa__message__unpack(NULL, got_len, got) : NULL;
	CHECK(back && back->image_message && strcmp(back->image_message->caption, "c") == 0 &&
	      back->image_message->file_length == 12 && !back->image_message->url && back->protocol_message &&
	      back->protocol_message->type == WA__MESSAGE__PROTOCOL_MESSAGE__TYPE__MESSAGE_EDIT);
	if (back)
		wa__message__free_unpacked(back, NULL);
	free(got);
	got = NULL;
	static const char *const bad[] = {
		"{\"conversation\": 5}", "{\"imageMessage\": {\"height\": \"-1\"}}",
		"{\"protocolMessage\": {\"type\": \"NO_SUCH_TYPE\"}}", "{\"imageMessage\": {\"fileSha256\": \"%%%\"}}",
		"{\"imageMessage\": \"x\"}", "{\"imageMessage\": {\"contextInfo\": {\"mentionedJid\": \"1@s\"}}}", "[1]",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		int rc = wa_msg_pb_from_json(&wa__message__descriptor, bad[i], 4096, &got, &got_len);
		CHECK_EQ_INT(rc, WA_EINVAL);
		if (rc == 0)
			free(got);
		got = NULL;
	}

	/* a quote carrying the message itself embeds it whole */
	Wa__Message qimg = WA__MESSAGE__INIT;
	Wa__Message__ImageMessage qim = WA__MESSAGE__IMAGE_MESSAGE__INIT;
	qim.caption = "look";
	qim.has_jpeg_thumbnail = 1;
	qim.jpeg_thumbnail = (ProtobufCBinaryData){ sizeof thumb, thumb };
	qimg.image_message = &qim;
	wa_msg_quote q = { .id = "Q1", .participant = "9@s.whatsapp.net", .text = "ignored", .message = &qimg };
	wa_msg_content c = { .text = "reply", .quote = &q };
	uint8_t *b = NULL;
	size_t blen = 0;
	CHECK_EQ_INT(wa_msg_kind_build(WA_KIND_EXTENDED_TEXT, &c, &b, &blen), 0);
	Wa__Message *r = b ? wa__message__unpack(NULL, blen, b) : NULL;
	const Wa__ContextInfo *qc = r && r->extended_text_message ? r->extended_text_message->context_info : NULL;
	CHECK(qc && strcmp(qc->stanza_id, "Q1") == 0 && qc->quoted_message && !qc->quoted_message->conversation &&
	      qc->quoted_message->image_message && strcmp(qc->quoted_message->image_message->caption, "look") == 0 &&
	      qc->quoted_message->image_message->jpeg_thumbnail.len == sizeof thumb);
	if (r)
		wa__message__free_unpacked(r, NULL);
	free(b);
}

/* The message JSON written directly equals jansson's tree and dump: every
 * kind of field, strings needing escapes, multi-byte and invalid UTF-8,
 * an enum value the schema lacks; and a float falls back to the tree. */
static void test_json_direct(void)
{
	Wa__Message m = WA__MESSAGE__INIT;
	Wa__Message__ImageMessage im = WA__MESSAGE__IMAGE_MESSAGE__INIT;
	Wa__ContextInfo ci = WA__CONTEXT_INFO__INIT;
	Wa__Message quoted = WA__MESSAGE__INIT;
	Wa__Message__ProtocolMessage pm = WA__MESSAGE__PROTOCOL_MESSAGE__INIT;
	Wa__MessageKey key = WA__MESSAGE_KEY__INIT;
	Wa__Message__ExtendedTextMessage ext = WA__MESSAGE__EXTENDED_TEXT_MESSAGE__INIT;
	uint8_t sha[32] = {0xff, 0x00, 0x3e};
	char *jids[] = { "1@s.whatsapp.net", "a \"q\" \\ /", "tab\there\n\r\b\f\x01\x1f\x7f", "ol\xc3\xa1 \xe2\x9c\x93 \xf0\x9f\x98\x80",
		"bad \xc3\x28 utf8", "" };
	im.url = "https://mmg.whatsapp.net/x.enc?a=1&b=<2>";
	im.caption = "\xed\xa0\x80 surrogate";
	im.has_file_sha256 = im.has_file_length = im.has_height = im.has_media_key_timestamp = im.has_view_once = 1;
	im.file_sha256 = (ProtobufCBinaryData){ sizeof sha, sha };
	im.file_length = 18446744073709551000ull;
	im.height = 4000000000u;
	im.media_key_timestamp = -5;
	im.view_once = 0;
	quoted.conversation = "quoted \"one\"\u2028";
	ci.stanza_id = "ABC";
	ci.quoted_message = &quoted;
	ci.n_mentioned_jid = sizeof jids / sizeof *jids;
	ci.mentioned_jid = jids;
	ci.has_expiration = 1;
	ci.expiration = 86400;
	im.context_info = &ci;
	key.remote_jid = "1@s.whatsapp.net";
	key.has_from_me = 1;
	key.id = "K1";
	pm.key = &key;
	pm.has_type = 1;
	pm.type = (Wa__Message__ProtocolMessage__Type)12345; /* not in the schema: a number */
	pm.has_timestamp_ms = 1;
	pm.timestamp_ms = -1790000000123;
	ext.text = "";
	m.image_message = &im;
	m.protocol_message = &pm;
	m.extended_text_message = &ext;
	m.conversation = "plain";
	for (int pass = 0; pass < 2; pass++) {
		Wa__Message__LocationMessage loc = WA__MESSAGE__LOCATION_MESSAGE__INIT;
		if (pass) {
			loc.has_degrees_latitude = 1;
			loc.degrees_latitude = -19.933590000000001;
			m.location_message = &loc;
		}
		char *direct = NULL, *tree = NULL;
		CHECK_EQ_INT(wa_msg_pb_to_json(&m, &direct), 0);
		CHECK_EQ_INT(wa_msg_pb_to_json_tree(&m, &tree), 0);
		CHECK(direct && tree && strcmp(direct, tree) == 0);
		if (direct && tree && strcmp(direct, tree) != 0)
			fprintf(stderr, "direct %s\ntree   %s\n", direct, tree);
		free(direct);
		free(tree);
	}
	Wa__Message empty = WA__MESSAGE__INIT;
	char *e = NULL;
	CHECK_EQ_INT(wa_msg_pb_to_json(&empty, &e), 0);
	CHECK(e && strcmp(e, "{}") == 0);
	free(e);
}

int main(void)
{
	test_json_direct();
	test_json_in();
	test_rows();
	test_build();
	test_build_media();
	test_view_once_mentions();
	test_media_quote();
	test_receive();
	test_edits();
	test_location_contacts();
	test_unknown();
	test_poll();
	return check_exit("session_kinds");
}
