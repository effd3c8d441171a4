/* The w:g2 codec of src/session (groups.h), without a socket: the iq
 * builders' shapes (messaging.md §6), the <group> parser on the shapes
 * the server sends (PN and LID addressing, description, settings) and on
 * hostile input (bad id, oversized fields, too many participants), the
 * admin settings and join requests (Baileys' groupMemberAddMode,
 * groupJoinApprovalMode, groupRequestParticipantsList / Update), and the
 * group JID normalisation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "session/groups.h"

static wa_node *n_(const char *tag)
{
	wa_node *n = NULL;
	CHECK_EQ_INT(wa_node_new(&n, tag), 0);
	return n;
}

static void attr(wa_node *n, const char *k, const char *v)
{
	CHECK_EQ_INT(wa_node_set_attr(n, k, v), 0);
}

static wa_node *child(wa_node *p, const char *tag)
{
	wa_node *c = NULL;
	CHECK_EQ_INT(wa_node_add_new(p, tag, &c), 0);
	return c;
}

static void test_builders(void)
{
	wa_node *iq = NULL;
	const char *jids[2] = {"15550001111@s.whatsapp.net", "15550002222@s.whatsapp.net"};
	CHECK_EQ_INT(wa_group_build_create("Team", "k1", jids, 2, &iq), 0);
	CHECK_EQ_STR(wa_node_attr(iq, "xmlns"), "w:g2");
	CHECK_EQ_STR(wa_node_attr(iq, "type"), "set");
	CHECK_EQ_STR(wa_node_attr(iq, "to"), "g.us");
	const wa_node *c = wa_node_child(iq, "create");
	CHECK(c && strcmp(wa_node_attr(c, "subject"), "Team") == 0 && strcmp(wa_node_attr(c, "key"), "k1") == 0);
	CHECK(c && wa_node_n_children(c) == 2);
	CHECK(c && strcmp(wa_node_attr(wa_node_child_at(c, 1), "jid"), jids[1]) == 0);
	wa_node_free(iq);
	CHECK_EQ_INT(wa_group_build_create("", "k1", jids, 2, &iq), WA_EINVAL);

	CHECK_EQ_INT(wa_group_build_query("1203@g.us", &iq), 0);
	CHECK_EQ_STR(wa_node_attr(iq, "type"), "get");
	CHECK_EQ_STR(wa_node_attr(wa_node_child(iq, "query"), "request"), "interactive");
	wa_node_free(iq);

	CHECK_EQ_INT(wa_group_build_participating(&iq), 0);
	CHECK(wa_node_child(wa_node_child(iq, "participating"), "participants") != NULL);
	CHECK(wa_node_child(wa_node_child(iq, "participating"), "description") != NULL);
	wa_node_free(iq);

	CHECK_EQ_INT(wa_group_build_members("1203@g.us", "promote", jids, 1, &iq), 0);
	CHECK_EQ_STR(wa_node_attr(wa_node_child(wa_node_child(iq, "promote"), "participant"), "jid"), jids[0]);
	wa_node_free(iq);
	CHECK_EQ_INT(wa_group_build_members("1203@g.us", "kick", jids, 1, &iq), WA_EINVAL);

	CHECK_EQ_INT(wa_group_build_leave("1203@g.us", &iq), 0);
	CHECK_EQ_STR(wa_node_attr(iq, "to"), "g.us");
	CHECK_EQ_STR(wa_node_attr(wa_node_child(wa_node_child(iq, "leave"), "group"), "id"), "1203@g.us");
	wa_node_free(iq);

	CHECK_EQ_INT(wa_group_build_subject("1203@g.us", "New ✓", &iq), 0);
	const uint8_t *p;
	size_t l;
	CHECK_EQ_INT(wa_node_content_bytes(wa_node_child(iq, "subject"), &p, &l), 0);
	CHECK(l == strlen("New ✓") && memcmp(p, "New ✓", l) == 0);
	wa_node_free(iq);

	CHECK_EQ_INT(wa_group_build_description("1203@g.us", "about", "d2", "d1", &iq), 0);
	const wa_node *d = wa_node_child(iq, "description");
	CHECK_EQ_STR(wa_node_attr(d, "id"), "d2");
	CHECK_EQ_STR(wa_node_attr(d, "prev"), "d1");
	CHECK(wa_node_child(d, "body") != NULL && !wa_node_attr(d, "delete"));
	wa_node_free(iq);
	CHECK_EQ_INT(wa_group_build_description("1203@g.us", "", "d3", NULL, &iq), 0);
	d = wa_node_child(iq, "description");
	CHECK_EQ_STR(wa_node_attr(d, "delete"), "true");
	CHECK(!wa_node_child(d, "body"));
	wa_node_free(iq);
}

static wa_node *sample(bool lid)
{
	wa_node *g = n_("group");
	attr(g, "id", "120363000000000001");
	attr(g, "subject", "Team");
	attr(g, "s_t", "1700000001");
	attr(g, "s_o", "15550001111@s.whatsapp.net");
	attr(g, "creation", "1700000000");
	attr(g, "creator", "15550001111@s.whatsapp.net");
	attr(g, "addressing_mode", lid ? "lid" : "pn");
	wa_node *p = child(g, "participant");
	attr(p, "jid", lid ? "111@lid" : "15550001111@s.whatsapp.net");
	attr(p, lid ? "phone_number" : "lid", lid ? "15550001111@s.whatsapp.net" : "111@lid");
	attr(p, "type", "superadmin");
	p = child(g, "participant");
	attr(p, "jid", lid ? "222@lid" : "15550002222@s.whatsapp.net");
	attr(p, "type", "admin");
	p = child(g, "participant");
	attr(p, "jid", lid ? "333@lid" : "15550003333:4@s.whatsapp.net");
	wa_node *d = child(g, "description");
	attr(d, "id", "D1");
	CHECK_EQ_INT(wa_node_set_string(child(d, "body"), "about us"), 0);
	child(g, "announcement");
	wa_node *e = child(g, "ephemeral");
	attr(e, "expiration", "604800");
	return g;
}

static void test_parse(void)
{
	wa_gmeta *m = NULL;
	wa_node *g = sample(false);
	CHECK_EQ_INT(wa_gmeta_parse(g, &m), 0);
	if (m) {
		CHECK_EQ_STR(m->jid, "120363000000000001@g.us");
		CHECK_EQ_STR(m->subject, "Team");
		CHECK(m->s_t == 1700000001 && m->creation == 1700000000);
		CHECK_EQ_STR(m->owner, "15550001111@s.whatsapp.net");
		CHECK(m->n == 3 && m->p[0].admin == 2 && m->p[1].admin == 1 && m->p[2].admin == 0);
		CHECK_EQ_STR(m->p[0].lid, "111@lid");
		CHECK_EQ_STR(m->p[2].jid, "15550003333@s.whatsapp.net"); /* device suffix dropped */
		CHECK(m->desc && strcmp(m->desc, "about us") == 0);
		CHECK_EQ_STR(m->desc_id, "D1");
		CHECK(m->announce && !m->locked && m->ephemeral == 604800);
		CHECK_EQ_STR(m->mode, "pn");
		wa_group_info info;
		CHECK_EQ_INT(wa_gmeta_info(m, &info), 0);
		CHECK(info.n_participants == 3 && strcmp(info.participants[1].jid, "15550002222@s.whatsapp.net") == 0);
		CHECK(info.participants[1].lid == NULL && strcmp(info.addressing_mode, "pn") == 0);
	}
	wa_gmeta_free(m);
	wa_node_free(g);

	/* LID addressing: jid is the LID, phone_number the PN */
	g = sample(true);
	m = NULL;
	CHECK_EQ_INT(wa_gmeta_parse(g, &m), 0);
	if (m) {
		CHECK_EQ_STR(m->mode, "lid");
		CHECK_EQ_STR(m->p[0].jid, "15550001111@s.whatsapp.net");
		CHECK_EQ_STR(m->p[0].lid, "111@lid");
		CHECK(m->p[1].jid[0] == 0 && strcmp(m->p[1].lid, "222@lid") == 0);
	}
	wa_gmeta_free(m);
	wa_node_free(g);

	/* hostile shapes */
	g = sample(false);
	attr(g, "id", "12@s.whatsapp.net");
	CHECK_EQ_INT(wa_gmeta_parse(g, &m), WA_EMALFORMED);
	attr(g, "id", "1203");
	char big[700];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = 0;
	attr(g, "subject", big);
	CHECK_EQ_INT(wa_gmeta_parse(g, &m), WA_EMALFORMED);
	wa_node_free(g);
	g = n_("group");
	attr(g, "id", "1203");
	for (int i = 0; i <= WA_GROUP_MAX_PARTICIPANTS; i++) {
		char j[64];
		snprintf(j, sizeof j, "1555%07d@s.whatsapp.net", i);
		attr(child(g, "participant"), "jid", j);
	}
	CHECK_EQ_INT(wa_gmeta_parse(g, &m), WA_EMALFORMED); /* over the server's cap */
	wa_node_free(g);
	wa_node *x = n_("groups");
	CHECK_EQ_INT(wa_gmeta_parse(x, &m), WA_EINVAL);
	wa_node_free(x);
}

/* Settings, the timer and invite links (Baileys' groupSettingUpdate,
 * groupToggleEphemeral, groupInviteCode / RevokeInvite / AcceptInvite /
 * GetInviteInfo shapes). */
static void test_builders_invite(void)
{
	wa_node *iq = NULL;
	CHECK_EQ_INT(wa_group_build_setting("1203@g.us", "announcement", &iq), 0);
	CHECK_EQ_STR(wa_node_attr(iq, "type"), "set");
	CHECK_EQ_STR(wa_node_attr(iq, "to"), "1203@g.us");
	CHECK(wa_node_n_children(iq) == 1 && wa_node_child(iq, "announcement") != NULL);
	wa_node_free(iq);
	CHECK_EQ_INT(wa_group_build_setting("1203@g.us", "not_announcement", &iq), 0);
	CHECK(wa_node_child(iq, "not_announcement") != NULL);
	wa_node_free(iq);
	CHECK_EQ_INT(wa_group_build_setting("1203@g.us", "admins", &iq), WA_EINVAL);

	CHECK_EQ_INT(wa_group_build_ephemeral("1203@g.us", 604800, &iq), 0);
	CHECK_EQ_STR(wa_node_attr(wa_node_child(iq, "ephemeral"), "expiration"), "604800");
	wa_node_free(iq);
	CHECK_EQ_INT(wa_group_build_ephemeral("1203@g.us", 0, &iq), 0);
	CHECK(wa_node_child(iq, "not_ephemeral") != NULL && !wa_node_child(iq, "ephemeral"));
	wa_node_free(iq);

	CHECK_EQ_INT(wa_group_build_invite("1203@g.us", false, &iq), 0);
	CHECK_EQ_STR(wa_node_attr(iq, "type"), "get");
	CHECK(wa_node_child(iq, "invite") != NULL && !wa_node_attr(wa_node_child(iq, "invite"), "code"));
	wa_node_free(iq);
	CHECK_EQ_INT(wa_group_build_invite("1203@g.us", true, &iq), 0);
	CHECK_EQ_STR(wa_node_attr(iq, "type"), "set");
	wa_node_free(iq);

	CHECK_EQ_INT(wa_group_build_invite_code("https://chat.whatsapp.com/AbC123xyz", true, &iq), 0);
	CHECK_EQ_STR(wa_node_attr(iq, "to"), "g.us");
	CHECK_EQ_STR(wa_node_attr(iq, "type"), "set");
	CHECK_EQ_STR(wa_node_attr(wa_node_child(iq, "invite"), "code"), "AbC123xyz");
	wa_node_free(iq);
	CHECK_EQ_INT(wa_group_build_invite_code("AbC123xyz", false, &iq), 0);
	CHECK_EQ_STR(wa_node_attr(iq, "type"), "get");
	wa_node_free(iq);
	char k[64];
	CHECK(!wa_group_invite_norm("", k));
	CHECK(!wa_group_invite_norm("https://chat.whatsapp.com/", k));
	CHECK(!wa_group_invite_norm("a b", k));
	CHECK(!wa_group_invite_norm("../x", k));
	CHECK(!wa_group_invite_norm("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", k));
	CHECK_EQ_INT(wa_group_build_invite_code("x\"y", true, &iq), WA_EINVAL);

	/* the picture goes to the server with the group as target, as Baileys'
	 * updateProfilePicture sends it; none: no <picture> (removed) */
	static const uint8_t jpeg[] = {0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10};
	CHECK_EQ_INT(wa_group_build_picture("1203@g.us", jpeg, sizeof jpeg, &iq), 0);
	CHECK_EQ_STR(wa_node_attr(iq, "xmlns"), "w:profile:picture");
	CHECK_EQ_STR(wa_node_attr(iq, "type"), "set");
	CHECK_EQ_STR(wa_node_attr(iq, "to"), "s.whatsapp.net");
	CHECK_EQ_STR(wa_node_attr(iq, "target"), "1203@g.us");
	const wa_node *pic = wa_node_child(iq, "picture");
	const uint8_t *pb = NULL;
	size_t pl = 0;
	CHECK(pic && wa_node_content_bytes(pic, &pb, &pl) == 0 && pl == sizeof jpeg && memcmp(pb, jpeg, pl) == 0);
	CHECK_EQ_STR(wa_node_attr(pic, "type"), "image");
	wa_node_free(iq);
	CHECK_EQ_INT(wa_group_build_picture("1203@g.us", NULL, 0, &iq), 0);
	CHECK(wa_node_n_children(iq) == 0);
	wa_node_free(iq);
	CHECK_EQ_INT(wa_group_build_picture("1203@g.us", jpeg, WA_GROUP_PICTURE_MAX + 1, &iq), WA_EINVAL);
}

static const char *text(const wa_node *n)
{
	static char buf[64];
	const uint8_t *p;
	size_t l = 0;
	if (!n || wa_node_content_bytes(n, &p, &l) != 0 || l >= sizeof buf)
		return "";
	memcpy(buf, p, l);
	buf[l] = 0;
	return buf;
}

static void test_admin(void)
{
	wa_node *iq = NULL;
	CHECK_EQ_INT(wa_group_build_setting("1203@g.us", "all_member_add", &iq), 0);
	CHECK(wa_node_n_children(iq) == 1);
	CHECK_EQ_STR(text(wa_node_child(iq, "member_add_mode")), "all_member_add");
	wa_node_free(iq);
	CHECK_EQ_INT(wa_group_build_setting("1203@g.us", "admin_add", &iq), 0);
	CHECK_EQ_STR(text(wa_node_child(iq, "member_add_mode")), "admin_add");
	wa_node_free(iq);
	CHECK_EQ_INT(wa_group_build_setting("1203@g.us", "approval_on", &iq), 0);
	const wa_node *j = wa_node_child(wa_node_child(iq, "membership_approval_mode"), "group_join");
	CHECK(j && strcmp(wa_node_attr(j, "state"), "on") == 0);
	wa_node_free(iq);
	CHECK_EQ_INT(wa_group_build_setting("1203@g.us", "approval_off", &iq), 0);
	j = wa_node_child(wa_node_child(iq, "membership_approval_mode"), "group_join");
	CHECK(j && strcmp(wa_node_attr(j, "state"), "off") == 0);
	wa_node_free(iq);
	CHECK_EQ_INT(wa_group_build_setting("1203@g.us", "approval", &iq), WA_EINVAL);

	CHECK_EQ_INT(wa_group_build_requests("1203@g.us", &iq), 0);
	CHECK_EQ_STR(wa_node_attr(iq, "type"), "get");
	CHECK(wa_node_child(iq, "membership_approval_requests") != NULL);
	wa_node_free(iq);
	const char *who[] = {"15550002222@s.whatsapp.net", "15550003333@s.whatsapp.net"};
	CHECK_EQ_INT(wa_group_build_request_action("1203@g.us", "reject", who, 2, &iq), 0);
	CHECK_EQ_STR(wa_node_attr(iq, "type"), "set");
	const wa_node *r = wa_node_child(wa_node_child(iq, "membership_requests_action"), "reject");
	CHECK(r && wa_node_n_children(r) == 2);
	CHECK_EQ_STR(wa_node_attr(wa_node_child_at(r, 1), "jid"), "15550003333@s.whatsapp.net");
	wa_node_free(iq);
	CHECK_EQ_INT(wa_group_build_request_action("1203@g.us", "add", who, 2, &iq), WA_EINVAL);
	CHECK_EQ_INT(wa_group_build_request_action("1203@g.us", "approve", who, 0, &iq), WA_EINVAL);

	/* the modes in a <group>: member_add_mode as text, approval by presence */
	wa_node *g = n_("group");
	attr(g, "id", "1203");
	wa_node *m = child(g, "member_add_mode");
	CHECK_EQ_INT(wa_node_set_bytes(m, (const uint8_t *)"all_member_add", 14), 0);
	child(child(g, "membership_approval_mode"), "group_join");
	wa_gmeta *gm = NULL;
	CHECK_EQ_INT(wa_gmeta_parse(g, &gm), 0);
	if (gm) {
		wa_group_info info;
		CHECK_EQ_INT(wa_gmeta_info(gm, &info), 0);
		CHECK(info.member_add_all && info.join_approval);
	}
	wa_gmeta_free(gm);
	wa_node_free(g);
	g = n_("group");
	attr(g, "id", "1203");
	CHECK_EQ_INT(wa_node_set_bytes(child(g, "member_add_mode"), (const uint8_t *)"admin_add", 9), 0);
	attr(child(child(g, "membership_approval_mode"), "group_join"), "state", "off");
	gm = NULL;
	CHECK_EQ_INT(wa_gmeta_parse(g, &gm), 0);
	CHECK(gm && !gm->add_all && !gm->approval);
	wa_gmeta_free(gm);
	wa_node_free(g);
	/* bare, as the cache keeps it after a notification */
	g = n_("group");
	attr(g, "id", "1203");
	child(g, "membership_approval_mode");
	gm = NULL;
	CHECK_EQ_INT(wa_gmeta_parse(g, &gm), 0);
	CHECK(gm && gm->approval && !gm->add_all);
	wa_gmeta_free(gm);
	wa_node_free(g);
}

static void test_jid(void)
{
	char o[WA_STORE_JID_MAX];
	CHECK(wa_group_jid_norm("120363000000000001", o) && strcmp(o, "120363000000000001@g.us") == 0);
	CHECK(wa_group_jid_norm("120363000000000001@g.us", o) && strcmp(o, "120363000000000001@g.us") == 0);
	CHECK(wa_group_jid_norm("5511999-1600000000@g.us", o)); /* old-style creator-time ids */
	CHECK(!wa_group_jid_norm("15550001111@s.whatsapp.net", o));
	CHECK(!wa_group_jid_norm("abc@g.us", o));
	CHECK(!wa_group_jid_norm("@g.us", o));
	CHECK(!wa_group_jid_norm("", o));
}

int main(void)
{
	test_builders();
	test_admin();
	test_builders_invite();
	test_parse();
	test_jid();
	return check_exit("session_groups");
}
