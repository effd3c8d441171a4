/* Signal address names for JIDs (messaging.md §0): the user for phone
 * numbers, "user_<domain>" for LID and hosted users, as Baileys'
 * jidToSignalProtocolAddress names them, so one device has one session per
 * namespace and the caller can key sessions by LID once the mapping is known. */
#include <stdio.h>
#include <string.h>

#include "session/msg.h"

bool wa_msg_jid_is_lid(const wa_jid *j)
{
	return j && (j->kind == WA_JID_PAIR || j->kind == WA_JID_AD) && strcmp(j->server, "lid") == 0;
}

bool wa_msg_jid_is_pn(const wa_jid *j)
{
	return j && (j->kind == WA_JID_PAIR || j->kind == WA_JID_AD) &&
	       strcmp(j->server, "s.whatsapp.net") == 0 && j->user[0] != '\0';
}

int wa_msg_addr_name(const wa_jid *j, char *out, size_t cap)
{
	if (!j || !out || j->user[0] == '\0')
		return WA_EINVAL;
	int n;
	if (wa_msg_jid_is_pn(j))
		n = snprintf(out, cap, "%s", j->user);
	else if (wa_msg_jid_is_lid(j))
		n = snprintf(out, cap, "%s_1", j->user);
	else if (strcmp(j->server, "hosted") == 0)
		n = snprintf(out, cap, "%s_128", j->user);
	else if (strcmp(j->server, "hosted.lid") == 0)
		n = snprintf(out, cap, "%s_129", j->user);
	else
		return WA_EINVAL;
	if (n < 0 || (size_t)n >= cap)
		return WA_ETOOBIG;
	return 0;
}

int wa_msg_user_jid(const wa_jid *j, char *out, size_t cap)
{
	if (!j || !out)
		return WA_EINVAL;
	int n = snprintf(out, cap, "%s@%s", j->user, j->server);
	if (n < 0 || (size_t)n >= cap)
		return WA_ETOOBIG;
	return 0;
}
