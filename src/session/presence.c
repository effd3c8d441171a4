/* Presence and chat state, both ways: our availability and typing /
 * recording / paused in a chat, and the peers' as WA_EV_PRESENCE. Incoming
 * calls are only acked (calls are not handled). As Baileys
 * (markOnlineOnConnect) we announce "available" after each login unless
 * configured not to, and "unavailable" on a clean stop; while we are not
 * available our delivery receipts say type="inactive" (receive.c). */
#include <stdlib.h>
#include <string.h>

#include "session/msgstate.h"

static const char *our_name(const wa_session *s)
{
	const char *name = s->push_name ? s->push_name : s->creds ? s->creds->push_name : NULL;
	return name && *name ? name : NULL;
}

int wa_session_send_presence(wa_session *s, const char *to, const char *presence)
{
	if (!s || !presence)
		return WA_EINVAL;
	if (!ready(s))
		return WA_ESTATE;
	wa_node *n = NULL, *c;
	int rc;
	if (!to) {
		if (strcmp(presence, "available") != 0 && strcmp(presence, "unavailable") != 0)
			return WA_EINVAL;
		rc = wa_node_new(&n, "presence");
		if (rc == 0)
			rc = wa_node_set_attr(n, "type", presence);
		const char *name = our_name(s);
		if (rc == 0 && name)
			rc = wa_node_set_attr(n, "name", name);
	} else {
		char chat[WA_STORE_JID_MAX];
		bool rec = strcmp(presence, "recording") == 0;
		if (wa_msg_chat_of(to, chat) != 0 ||
		    (!rec && strcmp(presence, "composing") != 0 && strcmp(presence, "paused") != 0))
			return WA_EINVAL;
		rc = wa_node_new(&n, "chatstate");
		if (rc == 0)
			rc = wa_node_set_attr(n, "to", chat);
		if (rc == 0)
			rc = wa_node_add_new(n, rec ? "composing" : presence, &c);
		if (rc == 0 && rec)
			rc = wa_node_set_attr(c, "media", "audio");
	}
	if (rc != 0) {
		wa_node_free(n);
		return rc;
	}
	rc = send_node(s, n);
	if (rc == 0 && !to)
		s->online = strcmp(presence, "available") == 0;
	return rc;
}

void wa_session_set_offline_on_connect(wa_session *s, bool offline)
{
	if (s)
		s->offline_on_connect = offline;
}

void wa_msg_presence_on_ready(wa_session *s)
{
	s->online = false;
	/* both references refuse availability without a push name */
	if (s->offline_on_connect || !our_name(s))
		return;
	ign(wa_session_send_presence(s, NULL, "available"));
}

void wa_msg_presence_goodbye(wa_session *s)
{
	if (s->online && ready(s))
		ign(wa_session_send_presence(s, NULL, "unavailable"));
	s->online = false;
}

int wa_msg_handle_presence(wa_session *s, const wa_node *n)
{
	const char *from = wa_node_attr(n, "from");
	if (!from)
		return 0;
	const char *type = wa_node_attr(n, "type");
	const char *last = wa_node_attr(n, "last");
	int64_t ls = 0;
	if (last && strcmp(last, "deny") != 0)
		ls = strtoll(last, NULL, 10);
	wa_event ev = {.type = WA_EV_PRESENCE};
	ev.u.presence.jid = from;
	ev.u.presence.presence = type && strcmp(type, "unavailable") == 0 ? "unavailable" : "available";
	ev.u.presence.last_seen = ls > 0 ? ls : 0;
	if (!type || strcmp(type, "unavailable") == 0 || strcmp(type, "available") == 0)
		wa_session_emit(s, &ev);
	return 0;
}

int wa_msg_handle_chatstate(wa_session *s, const wa_node *n)
{
	const char *from = wa_node_attr(n, "from");
	const wa_node *c = wa_node_child_at(n, 0);
	if (!from || !c)
		return 0;
	const char *tag = wa_node_tag(c);
	const char *p;
	if (strcmp(tag, "composing") == 0) {
		const char *media = wa_node_attr(c, "media");
		p = media && strcmp(media, "audio") == 0 ? "recording" : "composing";
	} else if (strcmp(tag, "paused") == 0) {
		p = "paused";
	} else {
		return 0;
	}
	const char *who = wa_node_attr(n, "participant");
	wa_event ev = {.type = WA_EV_PRESENCE};
	ev.u.presence.jid = who ? who : from;
	ev.u.presence.presence = p;
	wa_session_emit(s, &ev);
	return 0;
}
