/* Kinds beyond text and reactions (messaging.md §8): edits and revokes
 * (protocolMessage), locations and contact cards. Their builders and the
 * predicates the protocol row of the kinds table uses, and the public send
 * calls, which queue through the outbox like any message. */
#include <stdlib.h>
#include <string.h>

#include "message.pb-c.h"
#include "pb.h"
#include "session/groups.h"
#include "session/kinds.h"
#include "session/msgstate.h"

#define MAX_CARDS 50
#define MAX_VCARD (64 * 1024)

static char *unconst(const char *s)
{
	return (char *)(uintptr_t)s;
}

static bool str_ok(const char *s, size_t max)
{
	return s && strlen(s) <= max && wa_bin_valid_string(s, strlen(s));
}

static bool opt_ok(const char *s, size_t max)
{
	return !s || str_ok(s, max);
}

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

/* ---- the protocol row ---- */

bool wa_msg_protocol_emitted(const Wa__Message *m)
{
	const Wa__Message__ProtocolMessage *p = m->protocol_message;
	/* a chat's disappearing-messages setting changed (no key) */
	if (p && p->has_type && p->type == WA__MESSAGE__PROTOCOL_MESSAGE__TYPE__EPHEMERAL_SETTING)
		return true;
	return p && p->key && p->has_type &&
	       (p->type == WA__MESSAGE__PROTOCOL_MESSAGE__TYPE__REVOKE ||
		(p->type == WA__MESSAGE__PROTOCOL_MESSAGE__TYPE__MESSAGE_EDIT && p->edited_message));
}

const char *wa_msg_protocol_edit_attr(const Wa__Message *m)
{
	const Wa__Message__ProtocolMessage *p = m->protocol_message;
	if (!p || !p->has_type || !p->key)
		return NULL;
	if (p->type == WA__MESSAGE__PROTOCOL_MESSAGE__TYPE__MESSAGE_EDIT)
		return "1";
	if (p->type == WA__MESSAGE__PROTOCOL_MESSAGE__TYPE__REVOKE)
		return p->key->has_from_me && p->key->from_me ? "7" : "8";
	return NULL;
}

int wa_msg_build_protocol(const wa_msg_content *c, uint8_t **out, size_t *out_len)
{
	if (!out || !out_len || !str_ok(c->target_chat, WA_STORE_JID_MAX) ||
	    !str_ok(c->target_id, WA_MSG_ID_MAX) || !opt_ok(c->target_participant, WA_STORE_JID_MAX) ||
	    (c->edit && !str_ok(c->text, WA_MSG_MAX_TEXT)))
		return WA_EINVAL;
	Wa__Message msg = WA__MESSAGE__INIT, edited = WA__MESSAGE__INIT;
	Wa__Message__ProtocolMessage p = WA__MESSAGE__PROTOCOL_MESSAGE__INIT;
	Wa__MessageKey key = WA__MESSAGE_KEY__INIT;
	key.remote_jid = unconst(c->target_chat);
	key.has_from_me = 1;
	key.from_me = c->target_from_me;
	key.id = unconst(c->target_id);
	key.participant = unconst(c->target_participant);
	p.key = &key;
	p.has_type = 1;
	if (c->edit) {
		/* as Baileys: the bare protocolMessage (whatsmeow wraps it in editedMessage) */
		p.type = WA__MESSAGE__PROTOCOL_MESSAGE__TYPE__MESSAGE_EDIT;
		edited.conversation = unconst(c->text);
		p.edited_message = &edited;
		p.has_timestamp_ms = 1;
		p.timestamp_ms = c->ts_ms;
	} else {
		p.type = WA__MESSAGE__PROTOCOL_MESSAGE__TYPE__REVOKE;
	}
	msg.protocol_message = &p;
	return pack(&msg.base, out, out_len);
}

/* ---- locations and contact cards ---- */

int wa_msg_build_location(const wa_msg_content *c, uint8_t **out, size_t *out_len)
{
	if (!out || !out_len || !wa_msg_quote_ok(c->quote) || !opt_ok(c->name, 1024) ||
	    !opt_ok(c->address, 1024) || !(c->lat >= -90 && c->lat <= 90) || !(c->lon >= -180 && c->lon <= 180))
		return WA_EINVAL;
	Wa__Message msg = WA__MESSAGE__INIT, quoted = WA__MESSAGE__INIT;
	Wa__Message__LocationMessage l = WA__MESSAGE__LOCATION_MESSAGE__INIT;
	Wa__ContextInfo ci = WA__CONTEXT_INFO__INIT;
	l.has_degrees_latitude = l.has_degrees_longitude = 1;
	l.degrees_latitude = c->lat;
	l.degrees_longitude = c->lon;
	l.name = unconst(c->name);
	l.address = unconst(c->address);
	l.context_info = wa_msg_context_info(c, &ci, &quoted);
	msg.location_message = &l;
	return pack(&msg.base, out, out_len);
}

int wa_msg_build_group_invite(const wa_msg_content *c, uint8_t **out, size_t *out_len)
{
	char g[WA_STORE_JID_MAX];
	if (!out || !out_len || !wa_msg_quote_ok(c->quote) || !c->invite_group || !wa_group_jid_norm(c->invite_group, g) ||
	    !str_ok(c->invite_code, 64) || !*c->invite_code || c->invite_expiration < 0 || !opt_ok(c->name, 1024) ||
	    !opt_ok(c->text, WA_MSG_MAX_TEXT))
		return WA_EINVAL;
	Wa__Message msg = WA__MESSAGE__INIT, quoted = WA__MESSAGE__INIT;
	Wa__Message__GroupInviteMessage gi = WA__MESSAGE__GROUP_INVITE_MESSAGE__INIT;
	Wa__ContextInfo ci = WA__CONTEXT_INFO__INIT;
	gi.group_jid = g;
	gi.invite_code = unconst(c->invite_code);
	gi.has_invite_expiration = 1;
	gi.invite_expiration = c->invite_expiration;
	gi.group_name = unconst(c->name);
	gi.caption = unconst(c->text);
	gi.context_info = wa_msg_context_info(c, &ci, &quoted);
	msg.group_invite_message = &gi;
	return pack(&msg.base, out, out_len);
}

int wa_msg_build_contacts(const wa_msg_content *c, uint8_t **out, size_t *out_len)
{
	if (!out || !out_len || !wa_msg_quote_ok(c->quote) || !c->n_cards || c->n_cards > MAX_CARDS || !c->vcards ||
	    !opt_ok(c->display_name, 1024))
		return WA_EINVAL;
	for (size_t i = 0; i < c->n_cards; i++)
		if (!str_ok(c->vcards[i], MAX_VCARD) || (c->card_names && !opt_ok(c->card_names[i], 1024)))
			return WA_EINVAL;
	Wa__Message msg = WA__MESSAGE__INIT, quoted = WA__MESSAGE__INIT;
	Wa__ContextInfo ci = WA__CONTEXT_INFO__INIT;
	Wa__Message__ContactMessage cards[MAX_CARDS];
	Wa__Message__ContactMessage *ptrs[MAX_CARDS];
	for (size_t i = 0; i < c->n_cards; i++) {
		wa__message__contact_message__init(&cards[i]);
		cards[i].display_name = c->card_names ? unconst(c->card_names[i]) : NULL;
		cards[i].vcard = unconst(c->vcards[i]);
		ptrs[i] = &cards[i];
	}
	Wa__Message__ContactsArrayMessage arr = WA__MESSAGE__CONTACTS_ARRAY_MESSAGE__INIT;
	if (c->n_cards == 1) {
		cards[0].context_info = wa_msg_context_info(c, &ci, &quoted);
		msg.contact_message = &cards[0];
	} else {
		arr.display_name = unconst(c->display_name);
		arr.n_contacts = c->n_cards;
		arr.contacts = ptrs;
		arr.context_info = wa_msg_context_info(c, &ci, &quoted);
		msg.contacts_array_message = &arr;
	}
	return pack(&msg.base, out, out_len);
}

#define MAX_POLL_OPTIONS 12

/* Baileys' poll: the options by name, V3 for a single choice; the vote
 * key is the messageSecret (c->secret) */
int wa_msg_build_poll(const wa_msg_content *c, uint8_t **out, size_t *out_len)
{
	if (!out || !out_len || !str_ok(c->name, 1024) || c->n_options < 2 || c->n_options > MAX_POLL_OPTIONS ||
	    !c->options || !c->secret || c->selectable > c->n_options || !wa_msg_quote_ok(c->quote))
		return WA_EINVAL;
	Wa__Message msg = WA__MESSAGE__INIT, quoted = WA__MESSAGE__INIT;
	Wa__Message__PollCreationMessage p = WA__MESSAGE__POLL_CREATION_MESSAGE__INIT;
	Wa__Message__PollCreationMessage__Option opts[MAX_POLL_OPTIONS];
	Wa__Message__PollCreationMessage__Option *ptrs[MAX_POLL_OPTIONS];
	Wa__ContextInfo ci = WA__CONTEXT_INFO__INIT;
	Wa__MessageContextInfo mci = WA__MESSAGE_CONTEXT_INFO__INIT;
	for (size_t i = 0; i < c->n_options; i++) {
		if (!str_ok(c->options[i], 1024))
			return WA_EINVAL;
		for (size_t k = 0; k < i; k++)
			if (strcmp(c->options[k], c->options[i]) == 0)
				return WA_EINVAL; /* votes name options by their hash */
		wa__message__poll_creation_message__option__init(&opts[i]);
		opts[i].option_name = unconst(c->options[i]);
		ptrs[i] = &opts[i];
	}
	p.name = unconst(c->name);
	p.n_options = c->n_options;
	p.options = ptrs;
	p.has_selectable_options_count = 1;
	p.selectable_options_count = c->selectable;
	p.context_info = wa_msg_context_info(c, &ci, &quoted);
	if (c->selectable == 1)
		msg.poll_creation_message_v3 = &p;
	else
		msg.poll_creation_message = &p;
	mci.has_message_secret = 1;
	mci.message_secret.data = (uint8_t *)(uintptr_t)c->secret;
	mci.message_secret.len = WA_MSG_SECRET_LEN;
	msg.message_context_info = &mci;
	return pack(&msg.base, out, out_len);
}

/* ---- the public calls ---- */

static int send_kind(wa_session *s, const char *to, enum wa_msg_kind_id kind, wa_msg_content *c,
	const wa_send_opts *opts, char **id_out)
{
	if (!s || !s->msg)
		return WA_EINVAL;
	if (!wa_session_me_jid(s))
		return WA_ESTATE;
	char chat[WA_STORE_JID_MAX];
	int rc = wa_msg_chat_of(to, chat);
	if (rc != 0)
		return rc;
	wa_msg_quote q = {0};
	char qpart[WA_STORE_JID_MAX];
	c->quote = wa_msg_opts_quote(s, opts, &q, qpart);
	if (kind != WA_KIND_PROTOCOL && opts) {
		c->expiration = opts->expiration;
		c->ephemeral_ts = opts->ephemeral_setting_ts;
	}
	if (kind == WA_KIND_PROTOCOL)
		c->target_chat = chat;
	uint8_t *msg = NULL;
	size_t len = 0;
	rc = wa_msg_kind_build(kind, c, &msg, &len);
	wa_msg_quote_clear(&q);
	c->quote = NULL;
	if (rc != 0)
		return rc;
	rc = wa_msg_queue(s, chat, opts ? opts->id : NULL, msg, len, id_out);
	free(msg);
	return rc;
}

int wa_session_send_location(wa_session *s, const char *to, double lat, double lon, const char *name,
	const char *address, const wa_send_opts *opts, char **id_out)
{
	wa_msg_content c = {.lat = lat, .lon = lon, .name = name, .address = address};
	return send_kind(s, to, WA_KIND_LOCATION, &c, opts, id_out);
}

int wa_session_send_contacts(wa_session *s, const char *to, const char *list_name, const wa_vcard *cards,
	size_t n, const wa_send_opts *opts, char **id_out)
{
	if (!cards || !n || n > MAX_CARDS)
		return WA_EINVAL;
	const char *names[MAX_CARDS], *vcards[MAX_CARDS];
	for (size_t i = 0; i < n; i++) {
		names[i] = cards[i].display_name;
		vcards[i] = cards[i].vcard;
	}
	wa_msg_content c = {.display_name = list_name, .card_names = names, .vcards = vcards, .n_cards = n};
	return send_kind(s, to, n == 1 ? WA_KIND_CONTACT : WA_KIND_CONTACTS_ARRAY, &c, opts, id_out);
}

int wa_session_send_group_invite(wa_session *s, const char *to, const char *group, const char *code,
	int64_t expiration, const char *group_name, const char *caption, const wa_send_opts *opts, char **id_out)
{
	wa_msg_content c = {.invite_group = group, .invite_code = code, .invite_expiration = expiration,
		.name = group_name, .text = caption};
	return send_kind(s, to, WA_KIND_GROUP_INVITE, &c, opts, id_out);
}

int wa_session_send_edit(wa_session *s, const wa_msg_key *target, const char *text, char **id_out)
{
	if (!target || !target->id || !target->from_me || !text)
		return WA_EINVAL;
	wa_msg_content c = {.edit = true, .text = text, .target_from_me = true, .target_id = target->id,
		.ts_ms = wa_now_ms()};
	return send_kind(s, target->remote_jid, WA_KIND_PROTOCOL, &c, NULL, id_out);
}

int wa_session_send_revoke(wa_session *s, const wa_msg_key *target, char **id_out)
{
	if (!target || !target->id || (!target->from_me && !target->participant))
		return WA_EINVAL;
	wa_msg_content c = {.target_from_me = target->from_me, .target_id = target->id,
		.target_participant = target->participant};
	return send_kind(s, target->remote_jid, WA_KIND_PROTOCOL, &c, NULL, id_out);
}

int wa_session_send_poll(wa_session *s, const char *to, const char *name, const char *const *options, size_t n,
	unsigned selectable, const uint8_t *secret_in, const wa_send_opts *opts, char **id_out)
{
	uint8_t secret[WA_MSG_SECRET_LEN];
	if (secret_in)
		memcpy(secret, secret_in, sizeof secret);
	else
		wa_rand_bytes(secret, sizeof secret);
	wa_msg_content c = {.name = name, .options = options, .n_options = n, .selectable = selectable,
		.secret = secret};
	return send_kind(s, to, selectable == 1 ? WA_KIND_POLL_V3 : WA_KIND_POLL, &c, opts, id_out);
}
