/* Group events of a session: Evolution's GROUPS_UPSERT (a group we were
 * put in or created), GROUP_UPDATE (subject, description, settings, the
 * invite link, member-add mode, join approval; sent when GROUP_UPDATE is
 * subscribed, which Evolution 2.3.6 never manages) and
 * GROUP_PARTICIPANTS_UPDATE (add, remove, promote, demote, and join
 * requests, which Evolution does not forward at all: action "join_request"
 * with Baileys' group.join-request action and method beside). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wamd.h"
#include "wamd_events.h"

static bool is(const char *a, const char *b)
{
	return a && strcmp(a, b) == 0;
}

/* Evolution's CONTACTS_UPDATE for a group whose picture changed (Baileys
 * reports it as contacts.update of the group; Evolution asks for the
 * picture's URL and sends [{remoteJid, profilePicUrl, instanceId}]). The
 * URL is asked of the server first; the instance is found again by name
 * and id when it answers (it may be gone by then). */
struct gpic {
	struct wamd *d;
	char name[WA_STORE_NAME_MAX];
	char uuid[64];
	char jid[WA_STORE_JID_MAX];
};

static void gpic_emit(struct wamd_tenant *t, const char *jid, const char *url)
{
	wamd_emit(t, "CONTACTS_UPDATE", json_pack("[{s:s,s:o,s:s}]", "remoteJid", jid, "profilePicUrl",
		url ? json_string(url) : json_null(), "instanceId", wamd_instance_uuid(t)));
}

static void gpic_done(void *ctx, int err, const char *url)
{
	struct gpic *p = ctx;
	struct wamd_tenant *t = wamd_tenant_find(p->d, p->name);
	if (t && strcmp(wamd_instance_uuid(t), p->uuid) == 0)
		gpic_emit(t, p->jid, err == 0 ? url : NULL);
	free(p);
}

static void group_picture_contact(struct wamd_tenant *t, const char *jid, bool removed)
{
	struct gpic *p = removed ? NULL : calloc(1, sizeof *p);
	if (p) {
		p->d = t->d;
		snprintf(p->name, sizeof p->name, "%s", t->name);
		snprintf(p->uuid, sizeof p->uuid, "%s", wamd_instance_uuid(t));
		snprintf(p->jid, sizeof p->jid, "%s", jid);
		if (wamd_picture_fetch(t, jid, gpic_done, p) == 0)
			return;
		free(p);
	}
	gpic_emit(t, jid, NULL); /* removed, or not asked: no URL */
}

void wamd_on_group(struct wamd_tenant *t, const char *jid, const char *action, const char *author,
	json_t *participants, json_t *pns, json_t *info, const char *value)
{
	if (wamd_setting_on(t, "groupsIgnore"))
		return; /* Evolution ignores every stanza from a group then */
	if (is(action, "create")) {
		json_t *g = info ? json_deep_copy(info) : json_pack("{s:s}", "id", jid);
		if (author)
			json_object_set_new(g, "author", json_string(author));
		wamd_emit(t, "GROUPS_UPSERT", json_pack("[o]", g));
		return;
	}
	if (is(action, "add") || is(action, "remove") || is(action, "promote") || is(action, "demote")) {
		json_t *pd = json_array();
		size_t i;
		json_t *p;
		json_array_foreach(participants, i, p) {
			/* Evolution's: the member's phoneNumber from the group's
			 * metadata (a LID's phone-number JID), else the JID's digits */
			const char *pj = json_string_value(p), *pn = json_string_value(json_array_get(pns, i));
			char num[WA_STORE_JID_MAX];
			snprintf(num, sizeof num, "%.*s", (int)strcspn(pj, "@:"), pj);
			json_array_append_new(pd, json_pack("{s:s,s:s}", "jid", pj, "phoneNumber", pn ? pn : num));
		}
		wamd_emit(t, "GROUP_PARTICIPANTS_UPDATE",
			json_pack("{s:s,s:o,s:O,s:s,s:o}", "id", jid, "author",
				author ? json_string(author) : json_null(), "participants", participants, "action",
				action, "participantsData", pd));
		return;
	}
	if (is(action, "created_membership_requests") || is(action, "revoked_membership_requests")) {
		json_t *o = json_pack("{s:s,s:o,s:O,s:s,s:s}", "id", jid, "author", author ? json_string(author) : json_null(),
			"participants", participants, "action", "join_request", "requestAction",
			is(action, "created_membership_requests") ? "created" : value ? value : "rejected");
		if (is(action, "created_membership_requests"))
			json_object_set_new(o, "method", value ? json_string(value) : json_null());
		wamd_emit(t, "GROUP_PARTICIPANTS_UPDATE", o);
		return;
	}
	/* subject, description, settings: Baileys' groups.update entry */
	json_t *u = json_pack("{s:s,s:o}", "id", jid, "author", author ? json_string(author) : json_null());
	if (is(action, "subject") && info)
		json_object_set(u, "subject", json_object_get(info, "subject"));
	else if (is(action, "description") && info) {
		json_object_set(u, "desc", json_object_get(info, "desc"));
		json_object_set(u, "descId", json_object_get(info, "descId"));
	} else if (is(action, "announcement") || is(action, "not_announcement"))
		json_object_set_new(u, "announce", json_boolean(is(action, "announcement")));
	else if (is(action, "locked") || is(action, "unlocked"))
		json_object_set_new(u, "restrict", json_boolean(is(action, "locked")));
	else if (is(action, "invite"))
		json_object_set_new(u, "inviteCode", value ? json_string(value) : json_null());
	else if (is(action, "member_add_mode"))
		json_object_set_new(u, "memberAddMode", json_boolean(is(value, "all_member_add")));
	else if (is(action, "membership_approval_mode"))
		json_object_set_new(u, "joinApprovalMode", json_boolean(is(value, "on")));
	else if (is(action, "picture")) {
		/* Baileys' word for it (its contacts.update of the group), and the new id */
		json_object_set_new(u, "imgUrl", json_string(value ? "changed" : "removed"));
		json_object_set_new(u, "pictureId", value ? json_string(value) : json_null());
		group_picture_contact(t, jid, value == NULL);
	} else if (is(action, "not_ephemeral"))
		json_object_set_new(u, "ephemeralDuration", json_integer(0));
	else if (info && json_object_get(info, "ephemeralDuration"))
		json_object_set(u, "ephemeralDuration", json_object_get(info, "ephemeralDuration"));
	wamd_emit(t, "GROUP_UPDATE", json_pack("[o]", u));
}
