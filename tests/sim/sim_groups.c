/* wasim groups (messaging.md §6, §10): the w:g2 iqs (create, metadata,
 * participating, add / remove / promote / demote, leave, subject,
 * description, settings, ephemeral, invite code get / revoke / join /
 * info, member-add mode, join approval and its requests), the group's
 * picture (w:profile:picture with the group as target, served over HTTP
 * at /pps/), membership and admin rules, w:gp2 notifications
 * to members, fan-out of a group <message> (the skmsg to every device of
 * every member, each per-device <to> copy before it), phash in the ack, and
 * group receipts forwarded to the author. Groups are kept in memory (a
 * wasim restart forgets them); a group is PN-addressed, or LID-addressed
 * when created after POST /_sim/groups/addressing {"mode":"lid"} (as
 * WhatsApp creates them now): members, authors and actors named by their
 * LIDs with the phone number beside (phone_number, participant_pn, …). Each member's phone (device 0)
 * gets its copy like the companions (sim_phone.c decrypts it). */
#include "sim_msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "simcore.h" /* the media (TLS) port for picture URLs */
#include "util/codec.h"

#define SIM_GROUP_MAX_MEMBERS 1024
#define SIM_GROUP_MAX 4096
#define SIM_GROUP_MAX_REQUESTS 64

struct gmember {
	struct sim_account *acct;
	int type; /* 0 member, 1 admin, 2 superadmin */
};

struct sgroup {
	char id[32];                 /* user part, "120363..." */
	char subject[256];
	char desc[1024];
	char desc_id[40];
	struct sim_account *creator;
	struct sim_account *s_o;
	int64_t creation, s_t;
	bool announce, locked;
	uint32_t ephemeral;
	char invite[24];             /* "" until an admin asks for it */
	char revoked[8][24];         /* the last codes revoked: 410 gone */
	size_t n_revoked;
	bool add_all;                /* member_add_mode all_member_add (default admin_add) */
	bool approval;               /* membership_approval_mode: joins by link wait for an admin */
	struct {
		struct sim_account *acct;
		int64_t t;
	} req[SIM_GROUP_MAX_REQUESTS]; /* pending join requests */
	size_t n_req;
	uint8_t *pic;                /* the picture (JPEG) or NULL */
	size_t pic_len;
	char pic_id[24];
	bool lid;                    /* addressing_mode lid */
	struct gmember m[SIM_GROUP_MAX_MEMBERS];
	size_t n;
	/* the last message routed: its id and the devices that got a
	 * per-device copy (the sender's key) with it, for the tests */
	char last_id[SIM_MSG_ID_MAX];
	char last_copies[64][SIM_MSG_JID_MAX];
	size_t n_last_copies;
};

static struct sgroup *groups[SIM_GROUP_MAX];
static size_t n_groups;
static uint64_t next_gid = 1;
static bool lid_default; /* the addressing of groups created from now on */

static struct sgroup *gfind(const char *jid)
{
	if (!jid)
		return NULL;
	size_t l = strcspn(jid, "@");
	if (jid[l] && strcmp(jid + l, "@g.us") != 0)
		return NULL;
	for (size_t i = 0; i < n_groups; i++)
		if (strlen(groups[i]->id) == l && strncmp(groups[i]->id, jid, l) == 0)
			return groups[i];
	return NULL;
}

static int mfind(const struct sgroup *g, const struct sim_account *a)
{
	for (size_t i = 0; i < g->n; i++)
		if (g->m[i].acct == a)
			return (int)i;
	return -1;
}

static void gjid(const struct sgroup *g, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s@g.us", g->id);
}

/* An account as the group names it: its LID in a LID group, else its
 * phone number; pn gets the phone number either way. */
static void mjid(const struct sgroup *g, const struct sim_account *a, char *buf, char *pn)
{
	sim_jid_user(a, g->lid, buf, SIM_MSG_JID_MAX);
	sim_jid_user(a, false, pn, SIM_MSG_JID_MAX);
}

/* <participant jid=…> in a notification: the LID with phone_number beside
 * in a LID group (what Baileys and whatsmeow read there). */
static wa_node *pref(const struct sgroup *g, const struct sim_account *a)
{
	char j[SIM_MSG_JID_MAX], pn[SIM_MSG_JID_MAX];
	mjid(g, a, j, pn);
	return sim_node("participant", "jid", j, "phone_number", g->lid ? pn : NULL, NULL);
}

static wa_node *participant_node(const struct sgroup *g, const struct gmember *m)
{
	char pn[SIM_MSG_JID_MAX], lid[SIM_MSG_JID_MAX];
	sim_jid_user(m->acct, false, pn, sizeof(pn));
	sim_jid_user(m->acct, true, lid, sizeof(lid));
	const char *type = m->type == 2 ? "superadmin" : m->type == 1 ? "admin" : NULL;
	if (g->lid)
		return sim_node("participant", "jid", lid, "phone_number", pn, "type", type, NULL);
	return sim_node("participant", "jid", pn, "lid", lid, "type", type, NULL);
}

/* <member_add_mode>admin_add|all_member_add</member_add_mode> (text) */
static wa_node *add_mode_node(const struct sgroup *g)
{
	wa_node *m = sim_node("member_add_mode", NULL);
	const char *v = g->add_all ? "all_member_add" : "admin_add";
	if (m && wa_node_set_bytes(m, (const uint8_t *)v, strlen(v)) != 0) {
		wa_node_free(m);
		return NULL;
	}
	return m;
}

static wa_node *approval_node(bool on)
{
	return sim_node_add(sim_node("membership_approval_mode", NULL),
		sim_node("group_join", "state", on ? "on" : "off", NULL));
}

/* <group …> as the server describes it (whatsmeow's parseGroupNode,
 * Baileys' extractGroupMetadata). */
static wa_node *group_node(const struct sgroup *g, bool with_participants)
{
	char cr[SIM_MSG_JID_MAX], so[SIM_MSG_JID_MAX], ct[32], st[32], sz[16], crp[SIM_MSG_JID_MAX],
		sop[SIM_MSG_JID_MAX];
	mjid(g, g->creator, cr, crp);
	mjid(g, g->s_o, so, sop);
	sim_msg_tstr(ct, sizeof(ct), g->creation);
	sim_msg_tstr(st, sizeof(st), g->s_t);
	snprintf(sz, sizeof(sz), "%zu", g->n);
	wa_node *n = sim_node("group", "id", g->id, "subject", g->subject, "s_t", st, "s_o", so, "creation", ct,
		"creator", cr, "addressing_mode", g->lid ? "lid" : "pn", "size", sz, NULL);
	if (n && g->lid && (wa_node_set_attr(n, "creator_pn", crp) || wa_node_set_attr(n, "s_o_pn", sop))) {
		wa_node_free(n);
		return NULL;
	}
	for (size_t i = 0; n && with_participants && i < g->n; i++)
		n = sim_node_add(n, participant_node(g, &g->m[i]));
	if (n && g->desc_id[0]) {
		wa_node *d = sim_node("description", "id", g->desc_id, "participant", so, "participant_pn",
			g->lid ? sop : NULL, "t", st, NULL);
		wa_node *b = sim_node("body", NULL);
		if (b && wa_node_set_string(b, g->desc) != 0) {
			wa_node_free(b);
			b = NULL;
		}
		n = sim_node_add(n, sim_node_add(d, b));
	}
	if (n && g->announce)
		n = sim_node_add(n, sim_node("announcement", NULL));
	if (n && g->locked)
		n = sim_node_add(n, sim_node("locked", NULL));
	if (n && g->ephemeral) {
		char e[16];
		snprintf(e, sizeof(e), "%u", g->ephemeral);
		n = sim_node_add(n, sim_node("ephemeral", "expiration", e, NULL));
	}
	if (n)
		n = sim_node_add(n, add_mode_node(g));
	/* listed only when on (what both clients expect) */
	if (n && g->approval)
		n = sim_node_add(n, approval_node(true));
	return n;
}

/* Delivers a clone of n to every companion of every account in accts. */
static void deliver_accts(struct sim *sim, struct sim_account **accts, size_t na, const wa_node *n);

/* A w:gp2 notification with child `body` (owned) to every member (and to
 * `extra`, e.g. who was just removed); admins_only: to the admins (and
 * `extra`) alone, as join requests go. */
static void notify_to(struct sim *sim, const struct sgroup *g, struct sim_account *actor, wa_node *body,
	struct sim_account *const *extra, size_t n_extra, bool admins_only)
{
	char id[32], t[32], gj[SIM_MSG_JID_MAX], aj[SIM_MSG_JID_MAX], al[SIM_MSG_JID_MAX];
	sim_new_id(sim, id, sizeof(id));
	sim_msg_tstr(t, sizeof(t), sim_now());
	gjid(g, gj, sizeof(gj));
	sim_jid_user(actor, g->lid, aj, sizeof(aj));
	sim_jid_user(actor, !g->lid, al, sizeof(al));
	wa_node *n = sim_node("notification", "from", gj, "type", "w:gp2", "id", id, "t", t, "participant", aj,
		g->lid ? "participant_pn" : "participant_lid", al, "addressing_mode", g->lid ? "lid" : "pn",
		actor->push_name[0] ? "notify" : NULL, actor->push_name, NULL);
	n = sim_node_add(n, body);
	if (!n)
		return;
	struct sim_account **to = calloc(g->n + n_extra + 1, sizeof(*to));
	size_t k = 0;
	for (size_t i = 0; to && i < g->n; i++)
		if (!admins_only || g->m[i].type > 0)
			to[k++] = g->m[i].acct;
	for (size_t i = 0; to && i < n_extra; i++)
		to[k++] = extra[i];
	if (to)
		deliver_accts(sim, to, k, n);
	free(to);
	wa_node_free(n);
}

static void notify(struct sim *sim, const struct sgroup *g, struct sim_account *actor, wa_node *body,
	struct sim_account *const *extra, size_t n_extra)
{
	notify_to(sim, g, actor, body, extra, n_extra, false);
}

static wa_node *gclone(const wa_node *n);

static void deliver_accts(struct sim *sim, struct sim_account **accts, size_t na, const wa_node *n)
{
	for (size_t i = 0; i < na; i++)
		for (size_t d = 0; d < accts[i]->n_devices; d++) {
			wa_node *c = gclone(n);
			if (c)
				SIM_IGNORE(sim_msg_deliver(sim, accts[i], accts[i]->devices[d]->device, c));
		}
}

static wa_node *gclone(const wa_node *n)
{
	wa_node *c = sim_node(wa_node_tag(n), NULL);
	const uint8_t *p;
	size_t len;
	if (!c)
		return NULL;
	for (size_t i = 0; i < wa_node_n_attrs(n); i++)
		if (wa_node_set_attr(c, wa_node_attr_key(n, i), wa_node_attr_value(n, i))) {
			wa_node_free(c);
			return NULL;
		}
	switch (wa_node_content_kind(n)) {
	case WA_NODE_LIST:
		wa_node_set_list(c);
		for (size_t i = 0; c && i < wa_node_n_children(n); i++)
			c = sim_node_add(c, gclone(wa_node_child_at(n, i)));
		return c;
	case WA_NODE_BYTES:
		p = wa_node_bytes(n, &len);
		if (wa_node_set_bytes(c, p, len)) {
			wa_node_free(c);
			return NULL;
		}
		return c;
	case WA_NODE_STRING:
		if (wa_node_set_string(c, wa_node_string(n))) {
			wa_node_free(c);
			return NULL;
		}
		return c;
	default:
		return c;
	}
}

static struct sim_account *acct_of(struct sim *sim, const char *jid)
{
	struct sim_addr ad;
	return jid && sim_addr_parse(sim, jid, &ad) == 0 ? ad.acct : NULL;
}

static bool is_admin(const struct sgroup *g, const struct sim_account *a)
{
	int i = mfind(g, a);
	return i >= 0 && g->m[i].type > 0;
}

/* 22 letters and digits (an invite code's shape); cap >= 23. */
static void rand_code(char *out, size_t cap)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	uint8_t r[22];
	if (cap < sizeof(r) + 1)
		return;
	if (RAND_bytes(r, sizeof(r)) != 1)
		memset(r, 7, sizeof(r));
	for (size_t i = 0; i < sizeof(r); i++)
		out[i] = al[r[i] % (sizeof(al) - 1)];
	out[sizeof(r)] = 0;
}

/* Accounts whose privacy ("who can add me to groups") refuses adds: set
 * by the tests through POST /_sim/groups/refuse-adds. */
static struct sim_account *refusing[64];
static size_t n_refusing;

static bool refuses_adds(const struct sim_account *a)
{
	for (size_t i = 0; i < n_refusing; i++)
		if (refusing[i] == a)
			return true;
	return false;
}

static int rfind(const struct sgroup *g, const struct sim_account *a);

/* ---- iqs ---- */

static int iq_create(struct sim *sim, struct sim_conn *c, const wa_node *iq, const wa_node *cr,
	struct sim_account *me)
{
	const char *subject = wa_node_attr(cr, "subject");
	if (!subject || !*subject || strlen(subject) >= sizeof(((struct sgroup *)0)->subject))
		return sim_iq_error(c, iq, 400, "bad-request");
	if (n_groups >= SIM_GROUP_MAX)
		return sim_iq_error(c, iq, 500, "internal-server-error");
	size_t np = 0;
	for (size_t i = 0; i < wa_node_n_children(cr); i++)
		np += strcmp(wa_node_tag(wa_node_child_at(cr, i)), "participant") == 0;
	if (np + 1 > SIM_GROUP_MAX_MEMBERS)
		return sim_iq_error(c, iq, 406, "not-acceptable");
	struct sgroup *g = calloc(1, sizeof(*g));
	if (!g)
		return WA_ENOMEM;
	snprintf(g->id, sizeof(g->id), "120363%012llu", (unsigned long long)next_gid++);
	snprintf(g->subject, sizeof(g->subject), "%s", subject);
	g->lid = lid_default;
	g->creator = g->s_o = me;
	g->creation = g->s_t = sim_now();
	g->m[g->n++] = (struct gmember){me, 2};
	for (size_t i = 0; i < wa_node_n_children(cr); i++) {
		const wa_node *p = wa_node_child_at(cr, i);
		struct sim_account *a = strcmp(wa_node_tag(p), "participant") == 0 ? acct_of(sim, wa_node_attr(p, "jid")) : NULL;
		if (a && mfind(g, a) < 0) /* unknown numbers are left out, as the server does */
			g->m[g->n++] = (struct gmember){a, 0};
	}
	groups[n_groups++] = g;
	int rc = sim_iq_result(c, iq, group_node(g, true));
	wa_node *body = sim_node("create", "reason", "create", "key", wa_node_attr(cr, "key"), NULL);
	body = sim_node_add(body, group_node(g, true));
	if (body)
		notify(sim, g, me, body, NULL, 0);
	return rc;
}

/* add / remove / promote / demote: per-participant codes in the answer,
 * one notification naming those it applied to. */
static int iq_members(struct sim *sim, struct sim_conn *c, const wa_node *iq, struct sgroup *g,
	const wa_node *act, struct sim_account *me)
{
	const char *tag = wa_node_tag(act);
	bool add = strcmp(tag, "add") == 0, rem = strcmp(tag, "remove") == 0;
	bool pro = strcmp(tag, "promote") == 0;
	/* members may add when the group's mode lets them; the rest is for admins */
	if (!is_admin(g, me) && !(add && g->add_all))
		return sim_iq_error(c, iq, 403, "forbidden");
	wa_node *ans = sim_node(tag, NULL), *note = sim_node(tag, NULL);
	struct sim_account *gone[SIM_GROUP_MAX_MEMBERS];
	size_t n_gone = 0, applied = 0;
	for (size_t i = 0; ans && note && i < wa_node_n_children(act); i++) {
		const wa_node *p = wa_node_child_at(act, i);
		const char *jid = wa_node_attr(p, "jid");
		if (strcmp(wa_node_tag(p), "participant") != 0 || !jid)
			continue;
		struct sim_account *a = acct_of(sim, jid);
		int k = a ? mfind(g, a) : -1;
		const char *err = NULL;
		if (!a)
			err = add ? "403" : "404"; /* not on WhatsApp: the server cannot add it */
		else if (add && k >= 0)
			err = "409";
		else if (add && g->n >= SIM_GROUP_MAX_MEMBERS)
			err = "406";
		else if (!add && k < 0)
			err = "404";
		else if (!add && g->m[k].type == 2 && a != me)
			err = "406"; /* the creator cannot be removed or demoted */
		else if (add && refuses_adds(a))
			err = "403"; /* their privacy: the answer says how to invite them instead */
		if (!err) {
			if (add)
				g->m[g->n++] = (struct gmember){a, 0};
			else if (rem) {
				gone[n_gone++] = a;
				g->m[k] = g->m[--g->n];
			} else
				g->m[k].type = pro ? 1 : 0;
			applied++;
			note = sim_node_add(note, pref(g, a));
		}
		wa_node *pa = sim_node("participant", "jid", jid, "error", err, NULL);
		if (pa && add && a && err && strcmp(err, "403") == 0) {
			/* the invite the admin may send instead (whatsmeow's
			 * GroupParticipantAddRequest): a code valid for three days */
			char code[24], exp[32];
			rand_code(code, sizeof(code));
			sim_msg_tstr(exp, sizeof(exp), sim_now() + 3 * 86400);
			pa = sim_node_add(pa, sim_node("add_request", "code", code, "expiration", exp, NULL));
		}
		ans = sim_node_add(ans, pa);
	}
	if (!ans || !note) {
		wa_node_free(ans);
		wa_node_free(note);
		return WA_ENOMEM;
	}
	int rc = sim_iq_result(c, iq, ans);
	if (applied)
		notify(sim, g, me, note, gone, n_gone);
	else
		wa_node_free(note);
	return rc;
}

static int iq_leave(struct sim *sim, struct sim_conn *c, const wa_node *iq, const wa_node *lv,
	struct sim_account *me)
{
	for (size_t i = 0; i < wa_node_n_children(lv); i++) {
		struct sgroup *g = gfind(wa_node_attr(wa_node_child_at(lv, i), "id"));
		int k = g ? mfind(g, me) : -1;
		if (k < 0)
			continue;
		g->m[k] = g->m[--g->n];
		wa_node *note = sim_node_add(sim_node("remove", NULL), pref(g, me));
		struct sim_account *ex[1] = {me};
		if (note)
			notify(sim, g, me, note, ex, 1);
	}
	return sim_iq_result(c, iq, NULL);
}

/* ---- invite links ---- */

static void new_code(struct sgroup *g)
{
	rand_code(g->invite, sizeof(g->invite));
}

/* The group a code opens; *gone when it is one revoked since. */
static struct sgroup *gfind_code(const char *code, bool *gone)
{
	*gone = false;
	for (size_t i = 0; code && *code && i < n_groups; i++) {
		if (strcmp(groups[i]->invite, code) == 0)
			return groups[i];
		for (size_t k = 0; k < groups[i]->n_revoked && k < 8; k++)
			*gone |= strcmp(groups[i]->revoked[k], code) == 0;
	}
	return NULL;
}

/* <invite/> to a group: get the code (made on first ask) or, set, revoke
 * it for a new one; admins only (whatsmeow's 401 for the link). */
static int iq_invite(struct sim *sim, struct sim_conn *c, const wa_node *iq, struct sgroup *g,
	struct sim_account *me)
{
	if (!is_admin(g, me))
		return sim_iq_error(c, iq, 401, "not-authorized");
	const char *type = wa_node_attr(iq, "type");
	bool revoked = false;
	if (type && strcmp(type, "set") == 0 && g->invite[0]) {
		snprintf(g->revoked[g->n_revoked++ % 8], sizeof(g->revoked[0]), "%s", g->invite);
		g->invite[0] = 0;
		revoked = true;
	}
	if (!g->invite[0])
		new_code(g);
	int rc = sim_iq_result(c, iq, sim_node("invite", "code", g->invite, NULL));
	/* the link changed: members learn the new code (whatsmeow's NewInviteLink) */
	if (revoked)
		notify(sim, g, me, sim_node("invite", "code", g->invite, NULL), NULL, 0);
	return rc;
}

/* <invite code/> to g.us: get answers the group, set joins it (every
 * member, the newcomer included, gets <add reason="invite">). */
static int iq_join(struct sim *sim, struct sim_conn *c, const wa_node *iq, const wa_node *inv, struct sim_account *me)
{
	bool gone;
	struct sgroup *g = gfind_code(wa_node_attr(inv, "code"), &gone);
	if (!g)
		return gone ? sim_iq_error(c, iq, 410, "gone") : sim_iq_error(c, iq, 406, "not-acceptable");
	const char *type = wa_node_attr(iq, "type");
	if (!type || strcmp(type, "set") != 0)
		return sim_iq_result(c, iq, group_node(g, true));
	char gj[SIM_MSG_JID_MAX], pn[SIM_MSG_JID_MAX];
	gjid(g, gj, sizeof(gj));
	if (mfind(g, me) >= 0)
		return sim_iq_result(c, iq, sim_node("group", "jid", gj, NULL));
	if (g->n >= SIM_GROUP_MAX_MEMBERS)
		return sim_iq_error(c, iq, 406, "not-acceptable");
	if (g->approval) {
		/* the join becomes a request the admins see (and the requester,
		 * on its other devices) */
		if (rfind(g, me) < 0) {
			if (g->n_req >= SIM_GROUP_MAX_REQUESTS)
				return sim_iq_error(c, iq, 406, "not-acceptable");
			g->req[g->n_req].acct = me;
			g->req[g->n_req++].t = sim_now();
			sim_jid_user(me, false, pn, sizeof(pn));
			struct sim_account *ex[1] = {me};
			int rc = sim_iq_result(c, iq, sim_node("membership_approval_request", "jid", gj, NULL));
			notify_to(sim, g, me, sim_node_add(sim_node("created_membership_requests", "request_method", "invite_link",
				NULL), sim_node("participant", "jid", pn, NULL)), ex, 1, true);
			return rc;
		}
		return sim_iq_result(c, iq, sim_node("membership_approval_request", "jid", gj, NULL));
	}
	g->m[g->n++] = (struct gmember){me, 0};
	int rc = sim_iq_result(c, iq, sim_node("group", "jid", gj, NULL));
	wa_node *note = sim_node_add(sim_node("add", "reason", "invite", NULL), pref(g, me));
	if (note)
		notify(sim, g, me, note, NULL, 0);
	return rc;
}

static int rfind(const struct sgroup *g, const struct sim_account *a)
{
	for (size_t i = 0; i < g->n_req; i++)
		if (g->req[i].acct == a)
			return (int)i;
	return -1;
}

/* <member_add_mode>…</member_add_mode> and <membership_approval_mode>
 * <group_join state/></…>: admins only, notified to every member. */
static int iq_admin_mode(struct sim *sim, struct sim_conn *c, const wa_node *iq, struct sgroup *g, const wa_node *ch,
	struct sim_account *me)
{
	if (!is_admin(g, me))
		return sim_iq_error(c, iq, 403, "forbidden");
	if (strcmp(wa_node_tag(ch), "member_add_mode") == 0) {
		const uint8_t *p;
		size_t l = 0;
		const char *s = wa_node_string(ch);
		char buf[32];
		if (!s && wa_node_content_bytes(ch, &p, &l) == 0 && l < sizeof(buf)) {
			memcpy(buf, p, l);
			buf[l] = 0;
			s = buf;
		}
		if (!s || (strcmp(s, "admin_add") != 0 && strcmp(s, "all_member_add") != 0))
			return sim_iq_error(c, iq, 400, "bad-request");
		g->add_all = strcmp(s, "all_member_add") == 0;
		int rc = sim_iq_result(c, iq, NULL);
		notify(sim, g, me, add_mode_node(g), NULL, 0);
		return rc;
	}
	const wa_node *gjn = wa_node_child(ch, "group_join");
	const char *st = gjn ? wa_node_attr(gjn, "state") : NULL;
	if (!st || (strcmp(st, "on") != 0 && strcmp(st, "off") != 0))
		return sim_iq_error(c, iq, 400, "bad-request");
	g->approval = strcmp(st, "on") == 0;
	int rc = sim_iq_result(c, iq, NULL);
	notify(sim, g, me, approval_node(g->approval), NULL, 0);
	return rc;
}

/* The pending requests (admins only). */
static int iq_requests(struct sim_conn *c, const wa_node *iq, struct sgroup *g, struct sim_account *me)
{
	if (!is_admin(g, me))
		return sim_iq_error(c, iq, 403, "forbidden");
	wa_node *l = sim_node("membership_approval_requests", NULL);
	if (l)
		wa_node_set_list(l);
	for (size_t i = 0; l && i < g->n_req; i++) {
		char pn[SIM_MSG_JID_MAX], t[32];
		sim_jid_user(g->req[i].acct, false, pn, sizeof(pn));
		sim_msg_tstr(t, sizeof(t), g->req[i].t);
		l = sim_node_add(l, sim_node("membership_approval_request", "jid", pn, "request_time", t, NULL));
	}
	return l ? sim_iq_result(c, iq, l) : WA_ENOMEM;
}

/* <membership_requests_action><approve|reject><participant jid/>…: per
 * participant 404 when there is no such request; approved ones become
 * members (<add> to every member), rejected ones are told with the admins
 * (<revoked_membership_requests>, the admin as actor). */
static int iq_request_action(struct sim *sim, struct sim_conn *c, const wa_node *iq, struct sgroup *g,
	const wa_node *ch, struct sim_account *me)
{
	if (!is_admin(g, me))
		return sim_iq_error(c, iq, 403, "forbidden");
	const wa_node *act = wa_node_child_at(ch, 0);
	const char *tag = act ? wa_node_tag(act) : "";
	bool approve = strcmp(tag, "approve") == 0;
	if (!approve && strcmp(tag, "reject") != 0)
		return sim_iq_error(c, iq, 400, "bad-request");
	wa_node *ans = sim_node(tag, NULL), *note = sim_node(approve ? "add" : "revoked_membership_requests", NULL);
	struct sim_account *told[SIM_GROUP_MAX_REQUESTS];
	size_t n_told = 0;
	for (size_t i = 0; ans && note && i < wa_node_n_children(act); i++) {
		const wa_node *p = wa_node_child_at(act, i);
		const char *jid = wa_node_attr(p, "jid");
		if (strcmp(wa_node_tag(p), "participant") != 0 || !jid)
			continue;
		struct sim_account *a = acct_of(sim, jid);
		int k = a ? rfind(g, a) : -1;
		const char *err = k < 0 ? "404" : approve && g->n >= SIM_GROUP_MAX_MEMBERS ? "406" : NULL;
		if (!err) {
			g->req[k] = g->req[--g->n_req];
			if (approve)
				g->m[g->n++] = (struct gmember){a, 0};
			else if (n_told < SIM_GROUP_MAX_REQUESTS)
				told[n_told++] = a;
			char pn[SIM_MSG_JID_MAX];
			sim_jid_user(a, false, pn, sizeof(pn));
			note = sim_node_add(note, sim_node("participant", "jid", pn, NULL));
		}
		ans = sim_node_add(ans, sim_node("participant", "jid", jid, "error", err, NULL));
	}
	wa_node *wrap = sim_node_add(sim_node("membership_requests_action", NULL), ans);
	if (!wrap || !note) {
		wa_node_free(wrap);
		wa_node_free(note);
		return WA_ENOMEM;
	}
	bool any = wa_node_n_children(note) > 0;
	int rc = sim_iq_result(c, iq, wrap);
	if (any)
		notify_to(sim, g, me, note, told, n_told, !approve);
	else
		wa_node_free(note);
	return rc;
}

static int iq_participating(struct sim_conn *c, const wa_node *iq, struct sim_account *me)
{
	wa_node *gs = sim_node("groups", NULL);
	if (gs)
		wa_node_set_list(gs);
	for (size_t i = 0; gs && i < n_groups; i++)
		if (mfind(groups[i], me) >= 0)
			gs = sim_node_add(gs, group_node(groups[i], true));
	return gs ? sim_iq_result(c, iq, gs) : WA_ENOMEM;
}

static int iq_w_g2(struct sim *sim, struct sim_conn *c, const wa_node *iq, void *user)
{
	struct sim_device *d = sim_conn_device(c);
	const wa_node *ch = wa_node_child_at(iq, 0);
	const char *to = wa_node_attr(iq, "to");
	(void)user;
	if (!d || !ch || !to)
		return sim_iq_error(c, iq, 400, "bad-request");
	struct sim_account *me = d->acct;
	const char *tag = wa_node_tag(ch);
	if (strcmp(to, "g.us") == 0 || strcmp(to, "@g.us") == 0) {
		if (strcmp(tag, "create") == 0)
			return iq_create(sim, c, iq, ch, me);
		if (strcmp(tag, "participating") == 0)
			return iq_participating(c, iq, me);
		if (strcmp(tag, "leave") == 0)
			return iq_leave(sim, c, iq, ch, me);
		if (strcmp(tag, "invite") == 0)
			return iq_join(sim, c, iq, ch, me);
		return sim_iq_error(c, iq, 501, "feature-not-implemented");
	}
	struct sgroup *g = gfind(to);
	if (!g)
		return sim_iq_error(c, iq, 404, "item-not-found");
	if (mfind(g, me) < 0)
		return sim_iq_error(c, iq, 403, "forbidden");
	if (strcmp(tag, "query") == 0)
		return sim_iq_result(c, iq, group_node(g, true));
	if (strcmp(tag, "add") == 0 || strcmp(tag, "remove") == 0 || strcmp(tag, "promote") == 0 ||
	    strcmp(tag, "demote") == 0)
		return iq_members(sim, c, iq, g, ch, me);
	if (strcmp(tag, "subject") == 0) {
		const char *s = wa_node_string(ch);
		const uint8_t *p;
		size_t l = 0;
		char buf[256];
		if (!s && wa_node_content_bytes(ch, &p, &l) == 0 && l < sizeof(buf)) {
			memcpy(buf, p, l);
			buf[l] = 0;
			s = buf;
		}
		if (!s || !*s || strlen(s) >= sizeof(g->subject))
			return sim_iq_error(c, iq, 400, "bad-request");
		if (g->locked && !is_admin(g, me))
			return sim_iq_error(c, iq, 403, "forbidden");
		snprintf(g->subject, sizeof(g->subject), "%s", s);
		g->s_o = me;
		g->s_t = sim_now();
		char st[32], so[SIM_MSG_JID_MAX], sop[SIM_MSG_JID_MAX];
		sim_msg_tstr(st, sizeof(st), g->s_t);
		mjid(g, me, so, sop);
		int rc = sim_iq_result(c, iq, NULL);
		notify(sim, g, me, sim_node("subject", "subject", g->subject, "s_t", st, "s_o", so, "s_o_pn",
			g->lid ? sop : NULL, NULL), NULL, 0);
		return rc;
	}
	if (strcmp(tag, "description") == 0) {
		if (g->locked && !is_admin(g, me))
			return sim_iq_error(c, iq, 403, "forbidden");
		const wa_node *b = wa_node_child(ch, "body");
		const char *id = wa_node_attr(ch, "id");
		const char *prev = wa_node_attr(ch, "prev");
		const char *txt = NULL;
		const uint8_t *p;
		size_t l = 0;
		char buf[1024];
		if (b && !(txt = wa_node_string(b)) && wa_node_content_bytes(b, &p, &l) == 0 && l < sizeof(buf)) {
			memcpy(buf, p, l);
			buf[l] = 0;
			txt = buf;
		}
		bool del = wa_node_attr(ch, "delete") != NULL;
		if ((!del && (!txt || !id)) || (txt && strlen(txt) >= sizeof(g->desc)) ||
		    (id && strlen(id) >= sizeof(g->desc_id)))
			return sim_iq_error(c, iq, 400, "bad-request");
		/* a stale prev: someone changed it meanwhile */
		if (prev && g->desc_id[0] && strcmp(prev, g->desc_id) != 0)
			return sim_iq_error(c, iq, 409, "conflict");
		snprintf(g->desc, sizeof(g->desc), "%s", del ? "" : txt);
		snprintf(g->desc_id, sizeof(g->desc_id), "%s", del ? "" : id);
		int rc = sim_iq_result(c, iq, NULL);
		wa_node *nd = sim_node("description", "id", id, NULL);
		if (del)
			nd = sim_node_add(nd, sim_node("delete", NULL));
		else {
			wa_node *bn = sim_node("body", NULL);
			if (bn && wa_node_set_string(bn, g->desc) != 0) {
				wa_node_free(bn);
				bn = NULL;
			}
			nd = sim_node_add(nd, bn);
		}
		if (nd)
			notify(sim, g, me, nd, NULL, 0);
		return rc;
	}
	if (strcmp(tag, "announcement") == 0 || strcmp(tag, "not_announcement") == 0 ||
	    strcmp(tag, "locked") == 0 || strcmp(tag, "unlocked") == 0) {
		if (!is_admin(g, me))
			return sim_iq_error(c, iq, 403, "forbidden");
		if (tag[0] == 'a' || tag[0] == 'n')
			g->announce = tag[0] == 'a';
		else
			g->locked = tag[0] == 'l';
		int rc = sim_iq_result(c, iq, NULL);
		notify(sim, g, me, sim_node(tag, NULL), NULL, 0);
		return rc;
	}
	if (strcmp(tag, "invite") == 0)
		return iq_invite(sim, c, iq, g, me);
	if (strcmp(tag, "member_add_mode") == 0 || strcmp(tag, "membership_approval_mode") == 0)
		return iq_admin_mode(sim, c, iq, g, ch, me);
	if (strcmp(tag, "membership_approval_requests") == 0)
		return iq_requests(c, iq, g, me);
	if (strcmp(tag, "membership_requests_action") == 0)
		return iq_request_action(sim, c, iq, g, ch, me);
	if (strcmp(tag, "ephemeral") == 0 || strcmp(tag, "not_ephemeral") == 0) {
		/* the timer is group info: admins only once the group is locked */
		if (g->locked && !is_admin(g, me))
			return sim_iq_error(c, iq, 403, "forbidden");
		const char *e = tag[0] == 'e' ? wa_node_attr(ch, "expiration") : "0";
		char *end = NULL;
		unsigned long v = e ? strtoul(e, &end, 10) : 0;
		if (!e || !*e || *end || v > 31536000 || (tag[0] == 'e' && v == 0))
			return sim_iq_error(c, iq, 400, "bad-request");
		g->ephemeral = (uint32_t)v;
		int rc = sim_iq_result(c, iq, NULL);
		notify(sim, g, me, tag[0] == 'e' ? sim_node("ephemeral", "expiration", e, NULL) : sim_node("not_ephemeral", NULL),
			NULL, 0);
		return rc;
	}
	return sim_iq_error(c, iq, 501, "feature-not-implemented");
}

/* ---- messages ---- */

/* whatsmeow's participantListHashV2 over every device of every member:
 * "2:" + base64 of the first 6 bytes of SHA-256 of the sorted AD strings. */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void phash(const struct sgroup *g, char out[16])
{
	size_t cap = 0;
	for (size_t i = 0; i < g->n; i++)
		cap += g->m[i].acct->n_devices + 1;
	char **v = calloc(cap ? cap : 1, sizeof(*v));
	size_t k = 0;
	for (size_t i = 0; v && i < g->n; i++)
		for (size_t d = 0; d <= g->m[i].acct->n_devices; d++) {
			uint32_t dev = d == 0 ? 0 : g->m[i].acct->devices[d - 1]->device;
			char *s = malloc(64);
			if (!s)
				continue;
			snprintf(s, 64, "%s.0:%u@%s", g->lid ? g->m[i].acct->lid : g->m[i].acct->phone, dev,
				g->lid ? "lid" : "s.whatsapp.net");
			v[k++] = s;
		}
	qsort(v, k, sizeof(*v), cmp_str);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t h[32] = {0};
	if (ctx)
		SIM_IGNORE(!EVP_DigestInit_ex(ctx, EVP_sha256(), NULL));
	for (size_t i = 0; i < k; i++) {
		if (ctx)
			SIM_IGNORE(!EVP_DigestUpdate(ctx, v[i], strlen(v[i])));
		free(v[i]);
	}
	free(v);
	if (ctx)
		SIM_IGNORE(!EVP_DigestFinal_ex(ctx, h, NULL));
	EVP_MD_CTX_free(ctx);
	char *b64 = wa_b64_encode(h, 6); /* 6 bytes: 8 characters, no padding */
	snprintf(out, 16, "2:%s", b64 ? b64 : "");
	free(b64);
}

static int gack(struct sim *sim, struct sim_conn *c, const wa_node *st, const char *t, const char *error,
	const char *ph)
{
	if (!c)
		return 0;
	wa_node *ack = sim_node("ack", "class", "message", "id", wa_node_attr(st, "id"), "from",
		wa_node_attr(st, "to"), "t", t, "error", error, "phash", ph, NULL);
	return ack ? sim_send_ack(sim, c, ack) : WA_ENOMEM;
}

/* One device's copy of a group message resent after its retry receipt:
 * from the group, the author as participant, the per-device enc as sent. */
static int route_direct_resend(struct sim *sim, struct sim_conn *c, const struct sgroup *g,
	struct sim_account *from, uint32_t sdev, const wa_node *n, const wa_node *enc, const struct sim_addr *to,
	const char *t)
{
	int rc = gack(sim, c, n, t, NULL, NULL);
	if (rc)
		return rc;
	char gj[SIM_MSG_JID_MAX], pj[SIM_MSG_JID_MAX], pl[SIM_MSG_JID_MAX];
	gjid(g, gj, sizeof(gj));
	sim_jid_device(from, g->lid, sdev, pj, sizeof(pj));
	sim_jid_user(from, !g->lid, pl, sizeof(pl));
	wa_node *m = sim_node("message", "from", gj, "participant", pj, g->lid ? "participant_pn" : "participant_lid", pl,
		"id", wa_node_attr(n, "id"), "t", t, "type", wa_node_attr(n, "type") ? wa_node_attr(n, "type") : "text",
		"addressing_mode", g->lid ? "lid" : "pn", from->push_name[0] ? "notify" : NULL, from->push_name, NULL);
	if (m)
		m = sim_node_add(m, gclone(enc));
	const wa_node *di = wa_node_child(n, "device-identity");
	if (m && di)
		m = sim_node_add(m, gclone(di));
	if (m)
		SIM_IGNORE(sim_msg_deliver(sim, to->acct, to->has_device ? to->device : 0, m));
	return 0;
}

int sim_groups_route(struct sim *sim, struct sim_conn *c, struct sim_account *from, uint32_t sdev, const wa_node *n)
{
	char t[32];
	sim_msg_tstr(t, sizeof(t), sim_now());
	struct sgroup *g = gfind(wa_node_attr(n, "to"));
	const char *id = wa_node_attr(n, "id");
	if (!g)
		return gack(sim, c, n, t, "404", NULL);
	int k = mfind(g, from);
	if (k < 0)
		return gack(sim, c, n, t, "403", NULL); /* not (or no longer) a member */
	if (g->announce && g->m[k].type == 0)
		return gack(sim, c, n, t, "403", NULL); /* announcement group: admins only */
	const wa_node *sk = NULL, *direct = NULL;
	for (size_t i = 0; i < wa_node_n_children(n); i++) {
		const wa_node *e = wa_node_child_at(n, i);
		const char *ty = wa_node_attr(e, "type");
		if (strcmp(wa_node_tag(e), "enc") != 0 || !ty)
			continue;
		if (strcmp(ty, "skmsg") == 0)
			sk = e;
		else if (strcmp(ty, "pkmsg") == 0 || strcmp(ty, "msg") == 0)
			direct = e;
	}
	/* Baileys answers a group retry receipt with the message encrypted to
	 * the one device named in participant (the sender key distribution
	 * inside), no skmsg: WhatsApp relays it to that device */
	struct sim_addr only;
	bool single = wa_node_attr(n, "participant") && sim_addr_parse(sim, wa_node_attr(n, "participant"), &only) == 0;
	if (!sk && direct && single && id && strlen(id) < SIM_MSG_ID_MAX && mfind(g, only.acct) >= 0)
		return route_direct_resend(sim, c, g, from, sdev, n, direct, &only, t);
	if (!sk || !id || strlen(id) >= SIM_MSG_ID_MAX)
		return gack(sim, c, n, t, "479", NULL);
	/* a stale participant list: the ack carries the current phash, so the
	 * client refreshes its list (whatsmeow's reaction); delivered anyway */
	char ph[16];
	phash(g, ph);
	const char *sent_ph = wa_node_attr(n, "phash");
	int rc = gack(sim, c, n, t, NULL, sent_ph && strcmp(sent_ph, ph) != 0 ? ph : NULL);
	if (rc)
		return rc;
	sim_msg_recent_add(from, id, sdev);
	const wa_node *parts = wa_node_child(n, "participants");
	snprintf(g->last_id, sizeof(g->last_id), "%s", id);
	g->n_last_copies = 0;
	for (size_t p = 0; parts && p < wa_node_n_children(parts) && g->n_last_copies < 64; p++) {
		const char *tj = wa_node_attr(wa_node_child_at(parts, p), "jid");
		if (tj && strlen(tj) < SIM_MSG_JID_MAX)
			snprintf(g->last_copies[g->n_last_copies++], SIM_MSG_JID_MAX, "%s", tj);
	}
	char gj[SIM_MSG_JID_MAX], pj[SIM_MSG_JID_MAX], pl[SIM_MSG_JID_MAX];
	gjid(g, gj, sizeof(gj));
	sim_jid_device(from, g->lid, sdev, pj, sizeof(pj));
	sim_jid_user(from, !g->lid, pl, sizeof(pl));
	/* a retry resend (libwa's, with the skmsg) names the one device it is for */
	for (size_t i = 0; i < g->n; i++) {
		struct sim_account *a = g->m[i].acct;
		for (size_t d = 0; d <= a->n_devices; d++) {
			uint32_t dev = d == 0 ? 0 : a->devices[d - 1]->device; /* 0: the phone */
			if (a == from && dev == sdev)
				continue;
			if (single && (only.acct != a || (only.has_device ? only.device : 0) != dev))
				continue;
			wa_node *m = sim_node("message", "from", gj, "participant", pj,
				g->lid ? "participant_pn" : "participant_lid", pl, "id", id,
				"t", t, "type", wa_node_attr(n, "type") ? wa_node_attr(n, "type") : "text",
				"addressing_mode", g->lid ? "lid" : "pn", from->push_name[0] ? "notify" : NULL,
				from->push_name, NULL);
			/* this device's pkmsg/msg (the distribution message) first */
			for (size_t p = 0; m && parts && p < wa_node_n_children(parts); p++) {
				const wa_node *tn = wa_node_child_at(parts, p);
				struct sim_addr ad;
				if (sim_addr_parse(sim, wa_node_attr(tn, "jid"), &ad) != 0 || ad.acct != a ||
				    (ad.has_device ? ad.device : 0) != dev)
					continue;
				for (size_t e = 0; m && e < wa_node_n_children(tn); e++)
					if (strcmp(wa_node_tag(wa_node_child_at(tn, e)), "enc") == 0)
						m = sim_node_add(m, gclone(wa_node_child_at(tn, e)));
			}
			if (m)
				m = sim_node_add(m, gclone(sk));
			const wa_node *di = wa_node_child(n, "device-identity");
			if (m && di)
				m = sim_node_add(m, gclone(di));
			if (m)
				SIM_IGNORE(sim_msg_deliver(sim, a, dev, m));
		}
	}
	return 0;
}

int sim_groups_members(const char *jid, struct sim_account **out, size_t cap, size_t *n)
{
	const struct sgroup *g = gfind(jid);
	if (!g)
		return WA_ENOTFOUND;
	*n = 0;
	for (size_t i = 0; i < g->n && *n < cap; i++)
		out[(*n)++] = g->m[i].acct;
	return 0;
}

/* A receipt to a group names the author in participant: forwarded to the
 * author's devices (a retry only to the device named) with from = group,
 * participant = the reader. */
int sim_groups_route_receipt(struct sim *sim, struct sim_account *from, uint32_t rdev, const wa_node *n)
{
	struct sgroup *g = gfind(wa_node_attr(n, "to"));
	struct sim_addr ad;
	const char *type = wa_node_attr(n, "type");
	if (!g || sim_addr_parse(sim, wa_node_attr(n, "participant"), &ad) != 0 || mfind(g, from) < 0)
		return 0;
	char gj[SIM_MSG_JID_MAX], rj[SIM_MSG_JID_MAX], t[32];
	gjid(g, gj, sizeof(gj));
	sim_jid_device(from, g->lid, rdev, rj, sizeof(rj));
	sim_msg_tstr(t, sizeof(t), sim_now());
	bool retry = type && strcmp(type, "retry") == 0;
	for (size_t d = 0; d < ad.acct->n_devices; d++) {
		uint32_t dev = ad.acct->devices[d]->device;
		if ((retry && ad.has_device && dev != ad.device) || (ad.acct == from && dev == rdev))
			continue;
		wa_node *fw = gclone(n);
		if (!fw || wa_node_set_attr(fw, "from", gj) || wa_node_set_attr(fw, "participant", rj) ||
		    wa_node_set_attr(fw, "t", wa_node_attr(n, "t") ? wa_node_attr(n, "t") : t)) {
			wa_node_free(fw);
			continue;
		}
		SIM_IGNORE(sim_msg_deliver(sim, ad.acct, dev, fw));
	}
	return 0;
}

static void groups_free(void)
{
	for (size_t i = 0; i < n_groups; i++) {
		free(groups[i]->pic);
		free(groups[i]);
	}
	n_groups = 0;
	lid_default = false;
}

/* GET /_sim/groups: every group with its members, and the devices that got
 * a per-device copy of its last message (tests). */
static int h_groups(struct sim *sim, const struct sim_http_req *req, struct sim_http_resp *resp, void *user)
{
	(void)sim;
	(void)req;
	(void)user;
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < n_groups; i++) {
		const struct sgroup *g = groups[i];
		json_t *ms = json_array();
		for (size_t k = 0; ms && k < g->n; k++)
			json_array_append_new(ms, json_pack("{s:s,s:i}", "phone", g->m[k].acct->phone, "type",
				g->m[k].type));
		json_t *lc = json_array();
		for (size_t k = 0; lc && k < g->n_last_copies; k++)
			json_array_append_new(lc, json_string(g->last_copies[k]));
		json_t *rq = json_array();
		for (size_t k = 0; rq && k < g->n_req; k++)
			json_array_append_new(rq, json_string(g->req[k].acct->phone));
		json_t *o = json_pack("{s:s,s:s,s:s,s:b,s:b,s:i,s:s,s:o,s:s,s:o}", "id", g->id, "subject",
			g->subject, "desc", g->desc, "announce", g->announce, "locked", g->locked, "ephemeral",
			(int)g->ephemeral, "invite", g->invite, "members", ms, "last_id", g->last_id, "last_copies", lc);
		json_object_set_new(o, "add_all", json_boolean(g->add_all));
		json_object_set_new(o, "approval", json_boolean(g->approval));
		json_object_set_new(o, "requests", rq);
		json_object_set_new(o, "picture_id", g->pic ? json_string(g->pic_id) : json_null());
		json_object_set_new(o, "addressing_mode", json_string(g->lid ? "lid" : "pn"));
		json_array_append_new(arr, o);
	}
	sim_http_json(resp, 200, json_pack("{s:o}", "groups", arr));
	return 0;
}

/* POST /_sim/groups/refuse-adds {"phone": "…"}: that account's privacy
 * refuses being added to groups (adds answer 403 with an add_request). */
static int h_refuse_adds(struct sim *sim, const struct sim_http_req *req, struct sim_http_resp *resp, void *user)
{
	(void)user;
	const char *phone = json_string_value(json_object_get(req->json, "phone"));
	struct sim_account *a = phone ? sim_account_find(sim, phone) : NULL;
	if (!a || n_refusing >= sizeof(refusing) / sizeof(refusing[0])) {
		sim_http_json(resp, 400, json_pack("{s:s}", "error", "unknown phone"));
		return 0;
	}
	if (!refuses_adds(a))
		refusing[n_refusing++] = a;
	sim_http_json(resp, 200, json_pack("{s:b}", "ok", 1));
	return 0;
}

/* POST /_sim/groups/addressing {"mode": "lid"|"pn"}: how groups created
 * from now on are addressed (existing groups keep theirs). */
static int h_addressing(struct sim *sim, const struct sim_http_req *req, struct sim_http_resp *resp, void *user)
{
	(void)sim;
	(void)user;
	const char *m = json_string_value(json_object_get(req->json, "mode"));
	if (!m || (strcmp(m, "lid") != 0 && strcmp(m, "pn") != 0)) {
		sim_http_json(resp, 400, json_pack("{s:s}", "error", "mode is lid or pn"));
		return 0;
	}
	lid_default = strcmp(m, "lid") == 0;
	sim_http_json(resp, 200, json_pack("{s:s}", "mode", m));
	return 0;
}

/* POST /_sim/groups/receipts {"phones": true|false}: whether members'
 * phones send a delivery receipt for each group message (sim_phone.c). */
static int h_receipts(struct sim *sim, const struct sim_http_req *req, struct sim_http_resp *resp, void *user)
{
	(void)sim;
	(void)user;
	json_t *on = json_object_get(req->json, "phones");
	if (!json_is_boolean(on)) {
		sim_http_json(resp, 400, json_pack("{s:s}", "error", "phones is true or false"));
		return 0;
	}
	sim_phone_group_receipts(json_is_true(on));
	sim_http_json(resp, 200, json_pack("{s:b}", "phones", json_is_true(on)));
	return 0;
}

/* The picture's URL: wasim's media (TLS) port, as media_conn names it. */
static void pic_url(struct sim *sim, const struct sgroup *g, char *out, size_t cap, char *path, size_t pcap)
{
	int port = sim_core(sim)->tls_port > 0 ? sim_core(sim)->tls_port : sim_core(sim)->port;
	snprintf(path, pcap, "/pps/%s-%s.jpg", g->id, g->pic_id);
	snprintf(out, cap, "https://127.0.0.1:%d%s", port, path);
}

/* <iq xmlns="w:profile:picture" target="<group>">: get answers the
 * picture's URL (404 when none; members only), set stores it (a JPEG;
 * none removes it; admins only once the group is locked) and tells every
 * member with <notification type="picture"><set|delete jid author id/>.
 * 1: the target is not a group. */
int sim_groups_picture_iq(struct sim *sim, struct sim_conn *c, const wa_node *iq)
{
	struct sgroup *g = gfind(wa_node_attr(iq, "target"));
	const char *type = wa_node_attr(iq, "type");
	struct sim_device *d = sim_conn_device(c);
	if (!g)
		return 1;
	if (!d || !type || mfind(g, d->acct) < 0)
		return sim_iq_error(c, iq, 401, "not-authorized");
	struct sim_account *me = d->acct;
	if (strcmp(type, "get") == 0) {
		if (!g->pic)
			return sim_iq_error(c, iq, 404, "item-not-found");
		const wa_node *q = wa_node_child(iq, "picture");
		const char *pt = q ? wa_node_attr(q, "type") : NULL;
		char url[160], path[96];
		pic_url(sim, g, url, sizeof(url), path, sizeof(path));
		wa_node *p = sim_node("picture", "id", g->pic_id, "type", pt ? pt : "image", "url", url, "direct_path",
			path, NULL);
		return p ? sim_iq_result(c, iq, p) : sim_iq_error(c, iq, 500, "internal-error");
	}
	if (g->locked && !is_admin(g, me))
		return sim_iq_error(c, iq, 403, "forbidden");
	const wa_node *p = wa_node_child(iq, "picture");
	const uint8_t *b = NULL;
	size_t len = 0;
	if (p && (wa_node_content_bytes(p, &b, &len) != 0 || len < 3 || len > 1024 * 1024 || b[0] != 0xff ||
		    b[1] != 0xd8 || b[2] != 0xff))
		return sim_iq_error(c, iq, 400, "bad-request");
	uint8_t *copy = p ? malloc(len) : NULL;
	if (p && !copy)
		return sim_iq_error(c, iq, 500, "internal-error");
	if (copy)
		memcpy(copy, b, len);
	free(g->pic);
	g->pic = copy;
	g->pic_len = copy ? len : 0;
	static unsigned pic_seq;
	snprintf(g->pic_id, sizeof(g->pic_id), "%u", 1000000000u + ++pic_seq);
	char id[32], t[32], gj[SIM_MSG_JID_MAX], aj[SIM_MSG_JID_MAX];
	sim_new_id(sim, id, sizeof(id));
	sim_msg_tstr(t, sizeof(t), sim_now());
	gjid(g, gj, sizeof(gj));
	sim_jid_user(me, g->lid, aj, sizeof(aj));
	int rc = sim_iq_result(c, iq, copy ? sim_node("picture", "id", g->pic_id, NULL) : NULL);
	wa_node *n = sim_node_add(sim_node("notification", "from", gj, "type", "picture", "id", id, "t", t, NULL),
		copy ? sim_node("set", "jid", gj, "id", g->pic_id, "author", aj, NULL) :
		       sim_node("delete", "jid", gj, "author", aj, NULL));
	struct sim_account **to = n ? calloc(g->n + 1, sizeof(*to)) : NULL;
	for (size_t i = 0; to && i < g->n; i++)
		to[i] = g->m[i].acct;
	if (to)
		deliver_accts(sim, to, g->n, n);
	free(to);
	wa_node_free(n);
	return rc;
}

/* GET /pps/<group>-<id>.jpg: a group's picture (any other id: 404) */
static int h_picture(struct sim *sim, const struct sim_http_req *req, struct sim_http_resp *resp, void *user)
{
	(void)user;
	for (size_t i = 0; i < n_groups; i++) {
		const struct sgroup *g = groups[i];
		char url[160], path[96];
		if (!g->pic)
			continue;
		pic_url(sim, g, url, sizeof(url), path, sizeof(path));
		if (strcmp(req->path, path) != 0)
			continue;
		resp->body = malloc(g->pic_len);
		if (!resp->body)
			return -1;
		memcpy(resp->body, g->pic, g->pic_len);
		resp->body_len = g->pic_len;
		resp->status = 200;
		snprintf(resp->content_type, sizeof(resp->content_type), "image/jpeg");
		return 0;
	}
	sim_http_error(resp, 404, "no such picture");
	return 0;
}

int sim_groups_init(struct sim *sim)
{
	atexit(groups_free);
	int rc = sim_iq_register(sim, "w:g2", NULL, iq_w_g2, NULL);
	rc = rc ? rc : sim_http_register(sim, "POST", "/_sim/groups/refuse-adds", h_refuse_adds, NULL);
	rc = rc ? rc : sim_http_register(sim, "POST", "/_sim/groups/addressing", h_addressing, NULL);
	rc = rc ? rc : sim_http_register(sim, "POST", "/_sim/groups/receipts", h_receipts, NULL);
	rc = rc ? rc : sim_http_register(sim, "GET", "/pps/", h_picture, NULL);
	return rc ? rc : sim_http_register(sim, "GET", "/_sim/groups", h_groups, NULL);
}
