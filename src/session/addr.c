/* Addresses (messaging.md §0). Signal address names for JIDs: the user for
 * phone numbers, "user_<domain>" for LID and hosted users, as Baileys'
 * jidToSignalProtocolAddress names them, so one device has one session per
 * namespace. And what the session knows on top: PN <-> LID learning (the
 * mapping, the contact, moving sessions to the LID address), the LID-keyed
 * address of a device, our own accounts, and what a caller's "to" means. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session/groups.h"
#include "session/msg.h"
#include "session/msgstate.h"
#include "util/log.h"

#define MOD "msg"

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

/* ---------------- session side ---------------- */

/* "user@server" of any JID text; false when it does not parse. */
bool wa_msg_user_of(const char *jid, char out[WA_STORE_JID_MAX], wa_jid *parsed)
{
	wa_jid j;
	if (!jid || wa_jid_parse(&j, jid) != 0 || wa_msg_user_jid(&j, out, WA_STORE_JID_MAX) != 0)
		return false;
	if (parsed)
		*parsed = j;
	return true;
}

/* "5511..." / "+55 11..." / JID -> chat user JID. */
int wa_msg_chat_of(const char *to, char out[WA_STORE_JID_MAX])
{
	if (!to || !*to)
		return WA_EINVAL;
	if (strstr(to, "@g.us") && wa_group_jid_norm(to, out))
		return 0;
	if (strchr(to, '@')) {
		wa_jid j;
		if (!wa_msg_user_of(to, out, &j) || !(wa_msg_jid_is_pn(&j) || wa_msg_jid_is_lid(&j)))
			return WA_EINVAL;
		return 0;
	}
	char digits[40];
	size_t n = 0;
	for (const char *p = to; *p; p++) {
		if (*p >= '0' && *p <= '9') {
			if (n + 1 >= sizeof digits)
				return WA_EINVAL;
			digits[n++] = *p;
		} else if (*p != '+' && *p != ' ' && *p != '-' && *p != '(' && *p != ')') {
			return WA_EINVAL;
		}
	}
	if (n < 5)
		return WA_EINVAL;
	digits[n] = '\0';
	snprintf(out, WA_STORE_JID_MAX, "%s@s.whatsapp.net", digits);
	return 0;
}

/* The other namespace's user JID for user (malloc'd) or NULL. */
char *wa_msg_alt_user(wa_session *s, const char *user)
{
	wa_jid j;
	char *out = NULL;
	if (wa_jid_parse(&j, user) != 0)
		return NULL;
	if (wa_msg_jid_is_pn(&j)) {
		if (wa_store_lid_for_pn(s->store, s->instance_id, user, &out) != 0)
			out = NULL;
	} else if (wa_msg_jid_is_lid(&j)) {
		if (wa_store_pn_for_lid(s->store, s->instance_id, user, &out) != 0)
			out = NULL;
	}
	return out;
}

/* Moves PN-addressed sessions to the LID address (one session per device,
 * whichever namespace a stanza uses). */
static void migrate_sessions(wa_session *s, const wa_jid *pn, const wa_jid *lid)
{
	char pn_name[WA_STORE_JID_MAX], lid_name[WA_STORE_JID_MAX];
	if (wa_msg_addr_name(pn, pn_name, sizeof pn_name) != 0 ||
	    wa_msg_addr_name(lid, lid_name, sizeof lid_name) != 0)
		return;
	int32_t *ids = NULL;
	size_t n = 0;
	if (wa_store_session_devices(s->store, s->instance_id, pn_name, &ids, &n) != 0 || n == 0) {
		free(ids);
		return;
	}
	if (wa_store_begin(s->store) != 0) {
		free(ids);
		return;
	}
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		bool ex = false;
		uint8_t *rec = NULL;
		size_t rl = 0;
		rc = wa_store_session_exists(s->store, s->instance_id, lid_name, ids[i], &ex);
		if (rc == 0 && !ex) {
			rc = wa_store_session_load(s->store, s->instance_id, pn_name, ids[i], &rec, &rl);
			if (rc == 0)
				rc = wa_store_session_save(s->store, s->instance_id, lid_name, ids[i], rec, rl);
			wa_store_free(rec, rl);
		}
		if (rc == 0)
			rc = wa_store_session_delete(s->store, s->instance_id, pn_name, ids[i]);
	}
	if (rc == 0)
		rc = wa_store_commit(s->store);
	else
		wa_store_rollback(s->store);
	free(ids);
	WA_DEBUG(MOD, "[%lld] %zu session(s) of %s moved to its LID: %s", (long long)s->instance_id, n,
		pn->user, wa_errname(rc));
}

/* Learns that a and b (any devices, either order) are the same account. */
void wa_msg_learn_mapping(wa_session *s, const char *a, const char *b)
{
	wa_jid ja, jb;
	char ua[WA_STORE_JID_MAX], ub[WA_STORE_JID_MAX];
	if (!wa_msg_user_of(a, ua, &ja) || !wa_msg_user_of(b, ub, &jb))
		return;
	const char *pn = NULL, *lid = NULL;
	wa_jid jpn, jlid;
	if (wa_msg_jid_is_pn(&ja) && wa_msg_jid_is_lid(&jb)) {
		pn = ua, lid = ub, jpn = ja, jlid = jb;
	} else if (wa_msg_jid_is_lid(&ja) && wa_msg_jid_is_pn(&jb)) {
		pn = ub, lid = ua, jpn = jb, jlid = ja;
	} else {
		return;
	}
	char *known = NULL;
	if (wa_store_lid_for_pn(s->store, s->instance_id, pn, &known) == 0 && known &&
	    strcmp(known, lid) == 0) {
		free(known);
		return;
	}
	free(known);
	if (wa_store_lid_mapping_save(s->store, s->instance_id, pn, lid) != 0)
		return;
	ign(wa_store_contact_save(s->store, s->instance_id, pn, lid, NULL));
	migrate_sessions(s, &jpn, &jlid);
	if (s->msg)
		s->msg->dc_gen++; /* Signal addresses change: groups' device lists are stale */
	wa_event ev = {.type = WA_EV_CONTACT};
	ev.u.contact.jid = pn;
	ev.u.contact.lid = lid;
	wa_session_emit(s, &ev);
}

/* Signal address of a device JID: LID-keyed when the mapping is known. */
int wa_msg_addr_for(wa_session *s, const wa_jid *dev, char name[WA_STORE_JID_MAX])
{
	if (wa_msg_jid_is_pn(dev)) {
		char u[WA_STORE_JID_MAX];
		if (wa_msg_user_jid(dev, u, sizeof u) == 0) {
			char *lid = wa_msg_alt_user(s, u);
			wa_jid lj;
			if (lid && wa_jid_parse(&lj, lid) == 0) {
				free(lid);
				return wa_msg_addr_name(&lj, name, WA_STORE_JID_MAX);
			}
			free(lid);
		}
	}
	return wa_msg_addr_name(dev, name, WA_STORE_JID_MAX);
}

bool wa_msg_is_me(wa_session *s, const wa_jid *j)
{
	const char *ids[2] = {wa_session_me_jid(s), wa_session_me_lid(s)};
	for (int i = 0; i < 2; i++) {
		wa_jid me;
		if (ids[i] && wa_jid_parse(&me, ids[i]) == 0 && wa_jid_same_user(&me, j))
			return true;
	}
	return false;
}

/* Own user JID in the namespace of chat (own LID for LID chats). */
bool wa_msg_own_user(wa_session *s, const wa_jid *chat, char out[WA_STORE_JID_MAX], wa_jid *own_dev)
{
	const char *me = wa_msg_jid_is_lid(chat) ? wa_session_me_lid(s) : wa_session_me_jid(s);
	if (!me)
		me = wa_session_me_jid(s);
	return me && wa_msg_user_of(me, out, own_dev);
}
