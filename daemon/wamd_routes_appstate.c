/* Chat settings and labels through app state: Evolution's chat/archiveChat,
 * chat/markChatUnread, label/findLabels and label/handleLabel, and
 * wamd/chatModify for what Evolution has no route for (pin, mute, star,
 * read, clear, delete, delete for me, label edits). Each change is one
 * app-state mutation (wamd_tenant_chat_modify): the answer waits for the
 * server to accept it, and our other devices (the phone) see it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wamd_routes.h"

enum aop { A_ARCHIVE = 1, A_UNREAD, A_LABEL, A_MODIFY };

struct aticket {
	struct wamd_ticket tk; /* first: the HTTP layer clears tk.c when the client goes */
	enum aop op;
	bool flag;             /* archive: archived; label: add */
	char chat[WA_STORE_JID_MAX];
	char label[72];
	char action[24];
};

static void call(struct wamd_conn *c, struct wamd_tenant *t, struct aticket *a, const wa_chat_mod *m)
{
	a->tk.c = c;
	c->ticket = &a->tk;
	int rc = wamd_tenant_chat_modify(t, m, a);
	if (rc == 0)
		return;
	c->ticket = NULL;
	free(a);
	if (rc == WA_ESTATE)
		wamd_reply_error(c, 500, json_pack("[s]", "Connection Closed"));
	else
		wamd_reply_error(c, 400, json_pack("[s,s]", "Invalid chat modification", wa_strerror(rc)));
}

static struct aticket *at_new(struct wamd_conn *c, enum aop op)
{
	struct aticket *a = calloc(1, sizeof *a);
	if (!a)
		wamd_reply_error(c, 500, json_string("out of memory"));
	else
		a->op = op;
	return a;
}

void wamd_chat_mod_done(void *ticket, int err, const char *detail)
{
	struct aticket *a = ticket;
	struct wamd_conn *c = a->tk.c;
	if (c)
		c->ticket = NULL;
	if (!c) {
		free(a);
		return;
	}
	const char *why = detail ? detail : wa_strerror(err);
	switch (a->op) {
	case A_ARCHIVE:
		if (err)
			wamd_reply_error(c, 500, json_pack("[s,s]",
				"An error occurred while archiving the chat. Open a calling.", why));
		else
			wamd_reply_json(c, 201, json_pack("{s:s,s:b}", "chatId", a->chat, "archived", 1));
		break;
	case A_UNREAD:
		if (err)
			wamd_reply_error(c, 500, json_pack("[s,s]",
				"An error occurred while marked unread the chat. Open a calling.", why));
		else
			wamd_reply_json(c, 201, json_pack("{s:s,s:b}", "chatId", a->chat, "markedChatUnread", 1));
		break;
	case A_LABEL:
		if (err)
			wamd_reply_error(c, 400, json_pack("[s,s]", a->flag ? "Unable to add label to chat"
				: "Unable to remove label to chat", why));
		else
			wamd_reply_json(c, 200, json_pack("{s:s,s:s,s:b}", "numberJid", a->chat, "labelId", a->label,
				a->flag ? "add" : "remove", 1));
		break;
	case A_MODIFY:
		if (err)
			wamd_reply_error(c, 400, json_pack("[s,s]", "Chat modification refused", why));
		else
			wamd_reply_json(c, 201, json_pack("{s:s,s:s,s:b}", "chatId", a->chat, "action", a->action,
				"applied", 1));
		break;
	}
	free(a);
}

/* The chat of {"chat"} or {"lastMessage": {"key": {"remoteJid"}, "messageTimestamp"}}
 * (Evolution accepts either), and the last message's time when given. */
static bool chat_arg(struct wamd_conn *c, json_t *body, const char *field, char out[WA_STORE_JID_MAX],
	int64_t *last_ts)
{
	json_t *lm = json_object_get(body, "lastMessage");
	const char *v = jstr(body, field);
	if (!v)
		v = jstr(json_object_get(lm, "key"), "remoteJid");
	json_t *ts = json_object_get(lm, "messageTimestamp");
	*last_ts = json_is_integer(ts) ? json_integer_value(ts) : json_is_string(ts) ?
		strtoll(json_string_value(ts), NULL, 10) : 0;
	if (!v || wamd_normalize_number(v, out, WA_STORE_JID_MAX) != 0) {
		bad_request(c, !v ? "instance requires property \"chat\" or \"lastMessage\"" : "invalid chat");
		return false;
	}
	return true;
}

void wamd_h_archive_chat(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	json_t *ar = json_object_get(body, "archive");
	if (!json_is_boolean(ar)) {
		bad_request(c, "instance requires property \"archive\"");
		return;
	}
	wa_chat_mod m = {.action = WA_CHAT_ARCHIVE, .on = json_is_true(ar)};
	struct aticket *a = at_new(c, A_ARCHIVE);
	if (!a || !chat_arg(c, body, "chat", a->chat, &m.last_msg_ts)) {
		free(a);
		return;
	}
	m.jid = a->chat;
	call(c, t, a, &m);
}

void wamd_h_mark_chat_unread(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	wa_chat_mod m = {.action = WA_CHAT_READ, .on = false};
	struct aticket *a = at_new(c, A_UNREAD);
	if (!a || !chat_arg(c, body, "chat", a->chat, &m.last_msg_ts)) {
		free(a);
		return;
	}
	m.jid = a->chat;
	call(c, t, a, &m);
}

void wamd_h_find_labels(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	(void)body;
	json_t *arr = wamd_tenant_labels(t);
	if (!arr)
		wamd_reply_error(c, 500, json_pack("[s]", "labels unreadable"));
	else
		wamd_reply_json(c, 200, arr);
}

void wamd_h_handle_label(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	const char *number = jstr(body, "number"), *label = jstr(body, "labelId"), *action = jstr(body, "action");
	if (!number || !label || !action || (strcmp(action, "add") != 0 && strcmp(action, "remove") != 0)) {
		bad_request(c, "instance requires property \"number\", \"labelId\" and \"action\" (add or remove)");
		return;
	}
	struct aticket *a = at_new(c, A_LABEL);
	if (!a)
		return;
	if (wamd_normalize_number(number, a->chat, sizeof a->chat) != 0 || strlen(label) >= sizeof a->label) {
		free(a);
		bad_request(c, "invalid number or labelId");
		return;
	}
	snprintf(a->label, sizeof a->label, "%s", label);
	a->flag = strcmp(action, "add") == 0;
	wa_chat_mod m = {.action = WA_CHAT_LABEL, .jid = a->chat, .on = a->flag, .label_id = a->label};
	call(c, t, a, &m);
}

/* {"chat", "action": archive|unarchive|pin|unpin|mute|unmute|read|unread|
 *  star|unstar|deleteForMe|clear|delete|labelEdit|labelDelete,
 *  "muteEnd" (ms, -1 forever), "messageId", "fromMe", "messageTimestamp"
 *  (star, deleteForMe), "labelId", "name", "color" (labelEdit)} */
void wamd_h_chat_modify(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	static const struct {
		const char *name;
		enum wa_chat_action act;
		bool on;
	} acts[] = {
		{"archive", WA_CHAT_ARCHIVE, true}, {"unarchive", WA_CHAT_ARCHIVE, false},
		{"pin", WA_CHAT_PIN, true}, {"unpin", WA_CHAT_PIN, false},
		{"mute", WA_CHAT_MUTE, true}, {"unmute", WA_CHAT_MUTE, false},
		{"read", WA_CHAT_READ, true}, {"unread", WA_CHAT_READ, false},
		{"star", WA_CHAT_STAR, true}, {"unstar", WA_CHAT_STAR, false},
		{"deleteForMe", WA_CHAT_DELETE_MSG, true}, {"clear", WA_CHAT_CLEAR, true},
		{"delete", WA_CHAT_DELETE, true}, {"labelEdit", WA_LABEL_EDIT, true},
		{"labelDelete", WA_LABEL_EDIT, false},
	};
	const char *action = jstr(body, "action");
	size_t i = 0;
	while (action && i < sizeof acts / sizeof acts[0] && strcmp(acts[i].name, action) != 0)
		i++;
	if (!action || i == sizeof acts / sizeof acts[0]) {
		bad_request(c, "instance requires property \"action\" (archive, unarchive, pin, unpin, mute, unmute, "
			"read, unread, star, unstar, deleteForMe, clear, delete, labelEdit, labelDelete)");
		return;
	}
	struct aticket *a = at_new(c, A_MODIFY);
	if (!a)
		return;
	snprintf(a->action, sizeof a->action, "%s", action);
	wa_chat_mod m = {.action = acts[i].act, .on = acts[i].on};
	json_t *me = json_object_get(body, "muteEnd");
	m.mute_end = json_is_integer(me) ? json_integer_value(me) : -1;
	m.msg_id = jstr(body, "messageId");
	m.msg_from_me = json_is_true(json_object_get(body, "fromMe"));
	m.msg_ts = json_integer_value(json_object_get(body, "messageTimestamp"));
	m.label_id = jstr(body, "labelId");
	m.label_name = jstr(body, "name");
	m.label_color = (int32_t)json_integer_value(json_object_get(body, "color"));
	if (m.action != WA_LABEL_EDIT) {
		if (!chat_arg(c, body, "chat", a->chat, &m.last_msg_ts)) {
			free(a);
			return;
		}
		m.jid = a->chat;
	}
	call(c, t, a, &m);
}
