/* Calls: the signalling stanzas only (no media). An incoming <call> is
 * acked (the server redelivers it otherwise) and reaches the embedder as
 * WA_EV_CALL with the status Baileys derives from its first child; we can
 * reject a call as WhatsApp Web does. The offer's video/group flags are
 * remembered for the call's later statuses, which do not carry them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session/msgstate.h"

/* The status of a call child, by Baileys' names (an unknown child is a
 * status update the client shows as ringing). */
static const char *call_status(const wa_node *c)
{
	const char *tag = wa_node_tag(c);
	if (!strcmp(tag, "offer") || !strcmp(tag, "offer_notice"))
		return "offer";
	if (!strcmp(tag, "terminate")) {
		const char *why = wa_node_attr(c, "reason");
		return why && !strcmp(why, "timeout") ? "timeout" : "terminate";
	}
	static const char *const same[] = { "preaccept", "transport", "relaylatency", "reject", "accept" };
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++)
		if (!strcmp(tag, same[i]))
			return same[i];
	return "ringing";
}

/* The remembered offer of id, or NULL. */
static int offer_find(wa_msg_state *m, const char *id)
{
	for (int i = 0; m->calls && i < WA_MSG_CALL_OFFERS; i++)
		if (m->calls[i].id[0] && !strcmp(m->calls[i].id, id))
			return i;
	return -1;
}

int wa_msg_handle_call(wa_session *s, const wa_node *n)
{
	const wa_node *c = wa_node_child_at(n, 0);
	const char *chat = wa_node_attr(n, "from");
	const char *id = c ? wa_node_attr(c, "call-id") : NULL;
	const char *from = c ? wa_node_attr(c, "from") : NULL;
	if (!from && c)
		from = wa_node_attr(c, "call-creator");
	if (c && chat && id && from && s->msg) {
		wa_msg_state *m = s->msg;
		const char *t = wa_node_attr(n, "t");
		wa_event ev = { .type = WA_EV_CALL };
		ev.u.call.chat = chat;
		ev.u.call.from = from;
		ev.u.call.caller_pn = wa_node_attr(c, "caller_pn");
		ev.u.call.id = id;
		ev.u.call.status = call_status(c);
		ev.u.call.timestamp = t ? strtoll(t, NULL, 10) : 0;
		ev.u.call.offline = wa_node_attr(n, "offline") != NULL;
		int k = offer_find(m, id);
		bool end = false;
		if (!strcmp(ev.u.call.status, "offer")) {
			const char *type = wa_node_attr(c, "type");
			ev.u.call.group_jid = wa_node_attr(c, "group-jid");
			ev.u.call.is_video = wa_node_child(c, "video") != NULL;
			ev.u.call.is_group = (type && !strcmp(type, "group")) || ev.u.call.group_jid;
			ev.u.call.known = true;
			if (!m->calls)
				m->calls = calloc(WA_MSG_CALL_OFFERS, sizeof *m->calls); /* NULL: not remembered */
			if (k < 0 && m->calls && strlen(id) <= WA_MSG_CALL_ID_MAX) {
				k = (int)m->calls_next;
				m->calls_next = (m->calls_next + 1) % WA_MSG_CALL_OFFERS;
				snprintf(m->calls[k].id, sizeof(m->calls[k].id), "%s", id);
			}
			if (k >= 0) {
				m->calls[k].video = ev.u.call.is_video;
				m->calls[k].group = ev.u.call.is_group;
			}
		} else if (k >= 0) {
			ev.u.call.known = true;
			ev.u.call.is_video = m->calls[k].video;
			ev.u.call.is_group = m->calls[k].group;
			static const char *const ends[] = { "reject", "accept", "timeout", "terminate" };
			for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++)
				end |= !strcmp(ev.u.call.status, ends[i]);
		}
		wa_session_emit(s, &ev);
		if (end)
			m->calls[k].id[0] = '\0';
	}
	/* acked whatever it held, as Baileys does after a parse error too */
	ign(wa_session_send_ack(s, n));
	return 0;
}

int wa_session_reject_call(wa_session *s, const char *call_id, const char *call_from)
{
	if (!s || !call_id || !*call_id || !call_from || !strchr(call_from, '@'))
		return WA_EINVAL;
	if (!ready(s))
		return WA_ESTATE;
	const char *me = wa_session_me_jid(s);
	char id[23];
	wa_msg_new_id(me, now_s(), id);
	wa_node *n = NULL, *r;
	int rc = wa_node_new(&n, "call");
	if (rc == 0)
		rc = wa_node_set_attr(n, "id", id);
	if (rc == 0 && me)
		rc = wa_node_set_attr(n, "from", me);
	if (rc == 0)
		rc = wa_node_set_attr(n, "to", call_from);
	if (rc == 0)
		rc = wa_node_add_new(n, "reject", &r);
	if (rc == 0)
		rc = wa_node_set_attr(r, "call-id", call_id);
	if (rc == 0)
		rc = wa_node_set_attr(r, "call-creator", call_from);
	if (rc == 0)
		rc = wa_node_set_attr(r, "count", "0");
	if (rc != 0) {
		wa_node_free(n);
		return rc;
	}
	return send_node(s, n);
}
