/* Group notifications (messaging.md §6): each w:gp2 child updates the
 * cached <group> node (members, subject, description, settings, timer,
 * member-add mode, join approval),
 * marks our sender key for replacement when someone leaves, and becomes a
 * WA_EV_GROUP event. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binary/decode.h"
#include "session/groups.h"
#include "session/msg.h"
#include "session/msgstate.h"
#include "store/store.h"

/* A copy of n without its child number skip (SIZE_MAX: none). */
static wa_node *clone_skip(const wa_node *n, size_t skip)
{
	wa_node *c = NULL;
	if (wa_node_new(&c, wa_node_tag(n)) != 0)
		return NULL;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < wa_node_n_attrs(n); i++)
		rc = wa_node_set_attr(c, wa_node_attr_key(n, i), wa_node_attr_value(n, i));
	const uint8_t *p;
	size_t l;
	switch (wa_node_content_kind(n)) {
	case WA_NODE_LIST:
		wa_node_set_list(c);
		for (size_t i = 0; rc == 0 && i < wa_node_n_children(n); i++) {
			if (i == skip)
				continue;
			wa_node *k = clone_skip(wa_node_child_at(n, i), SIZE_MAX);
			rc = k ? wa_node_add_child(c, k) : WA_ENOMEM;
			if (rc != 0)
				wa_node_free(k);
		}
		break;
	case WA_NODE_BYTES:
		p = wa_node_bytes(n, &l);
		if (rc == 0)
			rc = wa_node_set_bytes(c, p, l);
		break;
	case WA_NODE_STRING:
		if (rc == 0)
			rc = wa_node_set_string(c, wa_node_string(n));
		break;
	default:
		break;
	}
	if (rc != 0) {
		wa_node_free(c);
		return NULL;
	}
	return c;
}

static int remove_child(wa_node **gn, size_t k)
{
	wa_node *c = clone_skip(*gn, k);
	if (!c)
		return WA_ENOMEM;
	wa_node_free(*gn);
	*gn = c;
	return 0;
}

/* <membership_approval_mode><group_join state="off"/>: turned off. */
static bool is_off(const wa_node *ch)
{
	const wa_node *j = wa_node_child(ch, "group_join");
	const char *st = j ? wa_node_attr(j, "state") : NULL;
	return st && strcmp(st, "off") == 0;
}

/* Applies a w:gp2 child to the cached <group> node (when we have one) so
 * that sends see the current members; a create stores the whole group. */
static void apply(wa_session *s, const wa_node *n, const char *gj, const wa_node *ch, const char *tag)
{
	if (strcmp(tag, "create") == 0) {
		const wa_node *gn = wa_node_child(ch, "group");
		if (gn)
			ign(wa_group_cache_put(s, gn));
		return;
	}
	uint8_t *b = NULL;
	size_t l = 0;
	wa_node *gn = NULL;
	if (wa_store_gmeta_get(s->store, s->instance_id, gj, &b, &l) != 0 || wa_bin_decode_body(b, l, &gn) != 0) {
		free(b);
		return;
	}
	free(b);
	bool rem = strcmp(tag, "remove") == 0, add = strcmp(tag, "add") == 0;
	bool pro = strcmp(tag, "promote") == 0, dem = strcmp(tag, "demote") == 0;
	int rc = 0;
	for (size_t i = 0; rc == 0 && (rem || add || pro || dem) && i < wa_node_n_children(ch); i++) {
		const wa_node *p = wa_node_child_at(ch, i);
		char u[WA_STORE_JID_MAX];
		if (strcmp(wa_node_tag(p), "participant") != 0 || !wa_msg_user_of(wa_node_attr(p, "jid"), u, NULL))
			continue;
		for (size_t k = 0; k < wa_node_n_children(gn); k++) {
			wa_node *q = (wa_node *)wa_node_child_at(gn, k);
			char qu[WA_STORE_JID_MAX];
			if (strcmp(wa_node_tag(q), "participant") != 0 ||
			    !wa_msg_user_of(wa_node_attr(q, "jid"), qu, NULL) || strcmp(qu, u) != 0)
				continue;
			if (rem)
				rc = remove_child(&gn, k);
			else if (pro)
				rc = wa_node_set_attr(q, "type", "admin");
			else if (dem)
				wa_node_del_attr(q, "type");
			add = false; /* already there */
			break;
		}
		if (add) {
			wa_node *np = NULL;
			rc = wa_node_add_new(gn, "participant", &np);
			if (rc == 0)
				rc = wa_node_set_attr(np, "jid", u);
			/* the other address beside (phone_number in a LID group) */
			for (int a = 0; a < 2 && rc == 0; a++) {
				const char *k = a ? "phone_number" : "lid", *v = wa_node_attr(p, k);
				if (v)
					rc = wa_node_set_attr(np, k, v);
			}
		}
		add = strcmp(tag, "add") == 0;
	}
	if (rc == 0 && strcmp(tag, "subject") == 0 && wa_node_attr(ch, "subject")) {
		/* who set it and when (a LID group names the phone number beside) */
		const char *const ks[] = {"subject", "s_o", "s_o_pn", "s_t"};
		for (size_t k = 0; rc == 0 && k < sizeof ks / sizeof *ks; k++)
			if (wa_node_attr(ch, ks[k]))
				rc = wa_node_set_attr(gn, ks[k], wa_node_attr(ch, ks[k]));
	}
	if (rc == 0 && strcmp(tag, "description") == 0) {
		for (size_t k = 0; k < wa_node_n_children(gn); k++)
			if (strcmp(wa_node_tag(wa_node_child_at(gn, k)), "description") == 0) {
				rc = remove_child(&gn, k);
				break;
			}
		if (rc == 0 && !wa_node_child(ch, "delete")) {
			wa_node *d = NULL, *bn = NULL;
			char *txt = wa_group_content_str(wa_node_child(ch, "body"), WA_GROUP_DESC_MAX);
			rc = wa_node_add_new(gn, "description", &d);
			if (rc == 0 && wa_node_attr(ch, "id"))
				rc = wa_node_set_attr(d, "id", wa_node_attr(ch, "id"));
			/* its author is the notification's, as the metadata names it */
			const char *const ks[] = {"participant", "participant_pn", "t"};
			for (size_t k = 0; rc == 0 && k < sizeof ks / sizeof *ks; k++)
				if (wa_node_attr(n, ks[k]))
					rc = wa_node_set_attr(d, ks[k], wa_node_attr(n, ks[k]));
			if (rc == 0 && txt)
				rc = wa_node_add_new(d, "body", &bn);
			if (rc == 0 && txt)
				rc = wa_node_set_string(bn, txt);
			free(txt);
		}
	}
	/* settings and the timer: the cached node gets or loses the flag child */
	const char *flag = NULL;
	bool on = false;
	if (!strcmp(tag, "announcement") || !strcmp(tag, "not_announcement"))
		flag = "announcement", on = tag[0] == 'a';
	else if (!strcmp(tag, "locked") || !strcmp(tag, "unlocked"))
		flag = "locked", on = tag[0] == 'l';
	else if (!strcmp(tag, "ephemeral") || !strcmp(tag, "not_ephemeral"))
		flag = "ephemeral", on = tag[0] == 'e' && wa_group_num(wa_node_attr(ch, "expiration")) > 0;
	else if (!strcmp(tag, "member_add_mode"))
		flag = tag, on = true; /* replaced by the new mode */
	else if (!strcmp(tag, "membership_approval_mode"))
		flag = tag, on = !is_off(ch);
	for (size_t k = 0; rc == 0 && flag && k < wa_node_n_children(gn); k++)
		if (strcmp(wa_node_tag(wa_node_child_at(gn, k)), flag) == 0) {
			rc = remove_child(&gn, k);
			break;
		}
	if (rc == 0 && flag && on) {
		wa_node *f = NULL;
		rc = wa_node_add_new(gn, flag, &f);
		if (rc == 0 && tag[0] == 'e')
			rc = wa_node_set_attr(f, "expiration", wa_node_attr(ch, "expiration"));
		char *mode = !strcmp(tag, "member_add_mode") ? wa_group_content_str(ch, 32) : NULL;
		if (rc == 0 && mode)
			rc = wa_node_set_bytes(f, (const uint8_t *)mode, strlen(mode));
		free(mode);
	}
	if (rc == 0)
		ign(wa_group_cache_put(s, gn));
	wa_node_free(gn);
}

void wa_msg_group_notification(wa_session *s, const wa_node *n)
{
	char gj[WA_STORE_JID_MAX], au[WA_STORE_JID_MAX];
	if (!wa_group_jid_norm(wa_node_attr(n, "from"), gj))
		return;
	const char *actor = wa_node_attr(n, "participant");
	bool has_actor = wa_msg_user_of(actor, au, NULL);
	for (size_t i = 0; i < wa_node_n_children(n); i++) {
		const wa_node *ch = wa_node_child_at(n, i);
		const char *tag = wa_node_tag(ch);
		bool req = !strcmp(tag, "created_membership_requests") || !strcmp(tag, "revoked_membership_requests");
		bool members = !strcmp(tag, "add") || !strcmp(tag, "remove") || !strcmp(tag, "promote") ||
			       !strcmp(tag, "demote") || req;
		size_t nc = wa_node_n_children(ch);
		const char **parts = calloc(nc ? nc : 1, sizeof *parts);
		const char **alts = calloc(nc ? nc : 1, sizeof *alts);
		char (*pu)[WA_STORE_JID_MAX] = calloc(nc ? nc : 1, WA_STORE_JID_MAX);
		char (*pa)[WA_STORE_JID_MAX] = calloc(nc ? nc : 1, WA_STORE_JID_MAX);
		size_t np = 0;
		bool me_removed = false;
		for (size_t k = 0; members && parts && alts && pu && pa && k < nc; k++) {
			const wa_node *p = wa_node_child_at(ch, k);
			wa_jid pj;
			if (strcmp(wa_node_tag(p), "participant") != 0 || !wa_msg_user_of(wa_node_attr(p, "jid"), pu[np], &pj))
				continue;
			if (wa_msg_is_me(s, &pj))
				me_removed = !strcmp(tag, "remove");
			parts[np] = pu[np];
			/* the other address beside (a LID group's phone_number), else
			 * the mapping we know */
			const char *beside = wa_node_attr(p, wa_msg_jid_is_lid(&pj) ? "phone_number" : "lid");
			if (beside && wa_msg_user_of(beside, pa[np], NULL)) {
				wa_msg_learn_mapping(s, pu[np], pa[np]);
				alts[np] = pa[np];
			} else {
				char *alt = wa_msg_alt_user(s, pu[np]);
				if (alt && strlen(alt) < WA_STORE_JID_MAX) {
					memcpy(pa[np], alt, strlen(alt) + 1);
					alts[np] = pa[np];
				}
				free(alt);
			}
			np++;
		}
		/* a request names no participant when the actor is the one asking */
		if (req && np == 0 && has_actor && parts && pu) {
			snprintf(pu[0], WA_STORE_JID_MAX, "%s", au);
			parts[np++] = pu[0];
		}
		/* the detail the event carries (see wa_event.u.group.value) */
		char mode[32] = "";
		const char *value = NULL;
		if (!strcmp(tag, "invite"))
			value = wa_node_attr(ch, "code");
		else if (!strcmp(tag, "member_add_mode")) {
			char *m = wa_group_content_str(ch, sizeof mode - 1);
			snprintf(mode, sizeof mode, "%s", m ? m : "");
			free(m);
			value = mode[0] ? mode : NULL;
		} else if (!strcmp(tag, "membership_approval_mode"))
			value = is_off(ch) ? "off" : "on";
		else if (!strcmp(tag, "created_membership_requests"))
			value = wa_node_attr(ch, "request_method");
		else if (!strcmp(tag, "revoked_membership_requests"))
			/* withdrawn by the requester (the actor) or rejected by an admin */
			value = np > 0 && has_actor && strcmp(parts[0], au) == 0 ? "revoked" : "rejected";
		apply(s, n, gj, ch, tag);
		/* someone left: our sender key must change before our next send
		 * (they must not read what follows) */
		if (!strcmp(tag, "remove")) {
			ign(wa_store_gsk_clear(s->store, s->instance_id, gj));
			wa_msg_group_rotate(s, gj);
		}
		if (me_removed)
			wa_group_cache_drop(s, gj);
		wa_gmeta *m = NULL;
		wa_group_info info;
		bool have = !me_removed && wa_group_cached(s, gj, &m) == 0 && wa_gmeta_info(m, &info) == 0;
		wa_event ev = {.type = WA_EV_GROUP};
		ev.u.group.jid = gj;
		ev.u.group.action = tag;
		ev.u.group.author = has_actor ? au : NULL;
		ev.u.group.participants = parts;
		ev.u.group.participants_alt = alts;
		ev.u.group.n_participants = np;
		ev.u.group.info = have ? &info : NULL;
		ev.u.group.value = value;
		wa_session_emit(s, &ev);
		wa_gmeta_free(m);
		free(parts);
		free(alts);
		free(pu);
		free(pa);
	}
}
