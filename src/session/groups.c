/* Group management (messaging.md §6): the w:g2 iqs and their codec; the
 * metadata cache is in groups_cache.c, the w:gp2 notifications in
 * groups_notify.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binary/decode.h"
#include "binary/encode.h"
#include "session/groups.h"
#include "session/iq.h"
#include "session/msg.h"
#include "session/msgstate.h"
#include "store/store.h"

/* ---------------- codec ---------------- */

bool wa_group_jid_norm(const char *in, char out[WA_STORE_JID_MAX])
{
	if (!in || !*in)
		return false;
	size_t l = strcspn(in, "@");
	if (l == 0 || l > 64 || (in[l] && strcmp(in + l, "@g.us") != 0))
		return false;
	for (size_t i = 0; i < l; i++)
		if ((in[i] < '0' || in[i] > '9') && in[i] != '-')
			return false;
	snprintf(out, WA_STORE_JID_MAX, "%.*s@g.us", (int)l, in);
	return true;
}

static bool cp(char *dst, size_t cap, const char *src)
{
	if (!src) {
		dst[0] = 0;
		return true;
	}
	if (strlen(src) >= cap)
		return false;
	memcpy(dst, src, strlen(src) + 1);
	return true;
}

int64_t wa_group_num(const char *s)
{
	int64_t v = 0;
	if (!s || strlen(s) > 18)
		return 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return 0;
		v = v * 10 + (*s - '0');
	}
	return v;
}

char *wa_group_content_str(const wa_node *n, size_t max)
{
	const char *s = n ? wa_node_string(n) : NULL;
	if (s)
		return strlen(s) <= max ? strdup(s) : NULL;
	const uint8_t *p;
	size_t l;
	if (!n || wa_node_content_bytes(n, &p, &l) != 0 || l > max)
		return NULL;
	char *o = malloc(l + 1);
	if (o) {
		memcpy(o, p, l);
		o[l] = 0;
	}
	return o;
}

void wa_gmeta_free(wa_gmeta *g)
{
	if (!g)
		return;
	free(g->desc);
	free(g->p);
	free(g->pub);
	free(g);
}

int wa_gmeta_parse(const wa_node *gn, wa_gmeta **out)
{
	if (!gn || !out || strcmp(wa_node_tag(gn), "group") != 0)
		return WA_EINVAL;
	wa_gmeta *g = calloc(1, sizeof *g);
	if (!g)
		return WA_ENOMEM;
	int rc = WA_EMALFORMED;
	size_t nc = wa_node_n_children(gn);
	const char *mode = wa_node_attr(gn, "addressing_mode");
	bool lid = mode && strcmp(mode, "lid") == 0;
	if (!wa_group_jid_norm(wa_node_attr(gn, "id"), g->jid) ||
	    !cp(g->subject, sizeof g->subject, wa_node_attr(gn, "subject")) ||
	    !cp(g->s_o, sizeof g->s_o, wa_node_attr(gn, "s_o")) ||
	    !cp(g->owner, sizeof g->owner, wa_node_attr(gn, "creator")) ||
	    !cp(g->s_o_pn, sizeof g->s_o_pn, wa_node_attr(gn, "s_o_pn")) ||
	    !cp(g->owner_pn, sizeof g->owner_pn, wa_node_attr(gn, "creator_pn")))
		goto fail;
	snprintf(g->mode, sizeof g->mode, "%s", lid ? "lid" : "pn");
	g->s_t = wa_group_num(wa_node_attr(gn, "s_t"));
	g->creation = wa_group_num(wa_node_attr(gn, "creation"));
	if (!(g->p = calloc(nc ? nc : 1, sizeof *g->p))) {
		rc = WA_ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < nc; i++) {
		const wa_node *c = wa_node_child_at(gn, i);
		const char *tag = wa_node_tag(c);
		if (strcmp(tag, "participant") == 0) {
			if (g->n >= WA_GROUP_MAX_PARTICIPANTS)
				goto fail;
			wa_gpart *p = &g->p[g->n];
			const char *j = wa_node_attr(c, "jid"), *ty = wa_node_attr(c, "type");
			const char *alt = wa_node_attr(c, lid ? "phone_number" : "lid");
			char u[WA_STORE_JID_MAX];
			if (!wa_msg_user_of(j, u, NULL))
				continue;
			if (!cp(lid ? p->lid : p->jid, WA_STORE_JID_MAX, u))
				goto fail;
			if (alt && wa_msg_user_of(alt, u, NULL) && !cp(lid ? p->jid : p->lid, WA_STORE_JID_MAX, u))
				goto fail;
			p->admin = ty && strcmp(ty, "superadmin") == 0 ? 2 : ty && strcmp(ty, "admin") == 0 ? 1 : 0;
			g->n++;
		} else if (strcmp(tag, "description") == 0) {
			if (!cp(g->desc_id, sizeof g->desc_id, wa_node_attr(c, "id")) ||
			    !cp(g->desc_owner, sizeof g->desc_owner, wa_node_attr(c, "participant")) ||
			    !cp(g->desc_owner_pn, sizeof g->desc_owner_pn, wa_node_attr(c, "participant_pn")))
				goto fail;
			g->desc_t = wa_group_num(wa_node_attr(c, "t"));
			const wa_node *b = wa_node_child(c, "body");
			if (b && !(g->desc = wa_group_content_str(b, WA_GROUP_DESC_MAX)))
				goto fail;
		} else if (strcmp(tag, "announcement") == 0) {
			g->announce = true;
		} else if (strcmp(tag, "locked") == 0) {
			g->locked = true;
		} else if (strcmp(tag, "ephemeral") == 0) {
			g->ephemeral = (uint32_t)wa_group_num(wa_node_attr(c, "expiration"));
		} else if (strcmp(tag, "member_add_mode") == 0) {
			char *m = wa_group_content_str(c, 32);
			g->add_all = m && strcmp(m, "all_member_add") == 0;
			free(m);
		} else if (strcmp(tag, "membership_approval_mode") == 0) {
			/* the server lists it only when on (both clients read its
			 * presence); an explicit state="off" is honoured */
			const wa_node *j = wa_node_child(c, "group_join");
			const char *st = j ? wa_node_attr(j, "state") : NULL;
			g->approval = !st || strcmp(st, "off") != 0;
		}
	}
	*out = g;
	return 0;
fail:
	wa_gmeta_free(g);
	return rc;
}

static const char *nz(const char *s)
{
	return s && *s ? s : NULL;
}

int wa_gmeta_info(wa_gmeta *g, wa_group_info *o)
{
	free(g->pub);
	if (!(g->pub = calloc(g->n ? g->n : 1, sizeof *g->pub)))
		return WA_ENOMEM;
	for (size_t i = 0; i < g->n; i++) {
		g->pub[i].jid = g->p[i].jid[0] ? g->p[i].jid : g->p[i].lid;
		g->pub[i].lid = nz(g->p[i].lid);
		g->pub[i].admin = g->p[i].admin;
	}
	*o = (wa_group_info){
		.jid = g->jid, .subject = g->subject, .subject_owner = nz(g->s_o), .subject_time = g->s_t,
		.creation = g->creation, .owner = nz(g->owner), .desc = g->desc, .desc_id = nz(g->desc_id),
		.subject_owner_pn = nz(g->s_o_pn), .owner_pn = nz(g->owner_pn), .desc_owner = nz(g->desc_owner),
		.desc_owner_pn = nz(g->desc_owner_pn), .desc_time = g->desc_t,
		.addressing_mode = g->mode, .announce = g->announce, .locked = g->locked,
		.ephemeral = g->ephemeral, .participants = g->pub, .n_participants = g->n,
		.member_add_all = g->add_all, .join_approval = g->approval,
	};
	return 0;
}

static int iq_new(const char *to, const char *type, wa_node **iq)
{
	int rc = wa_node_new(iq, "iq");
	if (rc == 0)
		rc = wa_node_set_attr(*iq, "xmlns", "w:g2");
	if (rc == 0)
		rc = wa_node_set_attr(*iq, "type", type);
	if (rc == 0)
		rc = wa_node_set_attr(*iq, "to", to);
	return rc;
}

static int done(int rc, wa_node *iq, wa_node **out)
{
	if (rc != 0) {
		wa_node_free(iq);
		return rc;
	}
	*out = iq;
	return 0;
}

static int add_parts(wa_node *parent, const char *const *jids, size_t n)
{
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		wa_node *p = NULL;
		rc = wa_node_add_new(parent, "participant", &p);
		if (rc == 0)
			rc = wa_node_set_attr(p, "jid", jids[i]);
	}
	return rc;
}

int wa_group_build_create(const char *subject, const char *key, const char *const *jids, size_t n,
	wa_node **out)
{
	if (!subject || !*subject || strlen(subject) >= WA_GROUP_SUBJECT_MAX || !key || (n && !jids) ||
	    n >= WA_GROUP_MAX_PARTICIPANTS || !out)
		return WA_EINVAL;
	wa_node *iq = NULL, *c = NULL;
	int rc = iq_new("g.us", "set", &iq);
	if (rc == 0)
		rc = wa_node_add_new(iq, "create", &c);
	if (rc == 0)
		rc = wa_node_set_attr(c, "subject", subject);
	if (rc == 0)
		rc = wa_node_set_attr(c, "key", key);
	if (rc == 0)
		rc = add_parts(c, jids, n);
	return done(rc, iq, out);
}

int wa_group_build_query(const char *group, wa_node **out)
{
	wa_node *iq = NULL, *q = NULL;
	if (!group || !out)
		return WA_EINVAL;
	int rc = iq_new(group, "get", &iq);
	if (rc == 0)
		rc = wa_node_add_new(iq, "query", &q);
	if (rc == 0)
		rc = wa_node_set_attr(q, "request", "interactive");
	return done(rc, iq, out);
}

int wa_group_build_participating(wa_node **out)
{
	wa_node *iq = NULL, *p = NULL, *c = NULL;
	if (!out)
		return WA_EINVAL;
	int rc = iq_new("g.us", "get", &iq);
	if (rc == 0)
		rc = wa_node_add_new(iq, "participating", &p);
	if (rc == 0)
		rc = wa_node_add_new(p, "participants", &c);
	if (rc == 0)
		rc = wa_node_add_new(p, "description", &c);
	return done(rc, iq, out);
}

int wa_group_build_members(const char *group, const char *action, const char *const *jids, size_t n,
	wa_node **out)
{
	if (!group || !action || !jids || n == 0 || n > WA_GROUP_MAX_PARTICIPANTS || !out ||
	    (strcmp(action, "add") && strcmp(action, "remove") && strcmp(action, "promote") &&
	     strcmp(action, "demote")))
		return WA_EINVAL;
	wa_node *iq = NULL, *a = NULL;
	int rc = iq_new(group, "set", &iq);
	if (rc == 0)
		rc = wa_node_add_new(iq, action, &a);
	if (rc == 0)
		rc = add_parts(a, jids, n);
	return done(rc, iq, out);
}

int wa_group_build_leave(const char *group, wa_node **out)
{
	wa_node *iq = NULL, *l = NULL, *g = NULL;
	if (!group || !out)
		return WA_EINVAL;
	int rc = iq_new("g.us", "set", &iq);
	if (rc == 0)
		rc = wa_node_add_new(iq, "leave", &l);
	if (rc == 0)
		rc = wa_node_add_new(l, "group", &g);
	if (rc == 0)
		rc = wa_node_set_attr(g, "id", group);
	return done(rc, iq, out);
}

int wa_group_build_subject(const char *group, const char *subject, wa_node **out)
{
	wa_node *iq = NULL, *sn = NULL;
	if (!group || !subject || !*subject || strlen(subject) >= WA_GROUP_SUBJECT_MAX || !out)
		return WA_EINVAL;
	int rc = iq_new(group, "set", &iq);
	if (rc == 0)
		rc = wa_node_add_new(iq, "subject", &sn);
	if (rc == 0)
		rc = wa_node_set_bytes(sn, (const uint8_t *)subject, strlen(subject));
	return done(rc, iq, out);
}

int wa_group_build_description(const char *group, const char *desc, const char *id, const char *prev,
	wa_node **out)
{
	wa_node *iq = NULL, *d = NULL, *b = NULL;
	if (!group || !id || !out || (desc && strlen(desc) > WA_GROUP_DESC_MAX))
		return WA_EINVAL;
	int rc = iq_new(group, "set", &iq);
	if (rc == 0)
		rc = wa_node_add_new(iq, "description", &d);
	if (rc == 0)
		rc = wa_node_set_attr(d, "id", id);
	if (rc == 0 && prev && *prev)
		rc = wa_node_set_attr(d, "prev", prev);
	if (rc == 0 && (!desc || !*desc))
		rc = wa_node_set_attr(d, "delete", "true");
	else if (rc == 0)
		rc = wa_node_add_new(d, "body", &b);
	if (rc == 0 && b)
		rc = wa_node_set_bytes(b, (const uint8_t *)desc, strlen(desc));
	return done(rc, iq, out);
}

static bool is_setting(const char *s)
{
	return s && (!strcmp(s, "announcement") || !strcmp(s, "not_announcement") || !strcmp(s, "locked") ||
		     !strcmp(s, "unlocked"));
}

int wa_group_build_setting(const char *group, const char *setting, wa_node **out)
{
	wa_node *iq = NULL, *c = NULL, *j = NULL;
	bool add = setting && (!strcmp(setting, "admin_add") || !strcmp(setting, "all_member_add"));
	bool appr = setting && (!strcmp(setting, "approval_on") || !strcmp(setting, "approval_off"));
	if (!group || !(is_setting(setting) || add || appr) || !out)
		return WA_EINVAL;
	int rc = iq_new(group, "set", &iq);
	if (rc == 0 && add) {
		/* the mode as the node's text (Baileys, whatsmeow) */
		rc = wa_node_add_new(iq, "member_add_mode", &c);
		if (rc == 0)
			rc = wa_node_set_bytes(c, (const uint8_t *)setting, strlen(setting));
	} else if (rc == 0 && appr) {
		rc = wa_node_add_new(iq, "membership_approval_mode", &c);
		if (rc == 0)
			rc = wa_node_add_new(c, "group_join", &j);
		if (rc == 0)
			rc = wa_node_set_attr(j, "state", setting[10] == 'n' ? "on" : "off");
	} else if (rc == 0)
		rc = wa_node_add_new(iq, setting, &c);
	return done(rc, iq, out);
}

int wa_group_build_requests(const char *group, wa_node **out)
{
	wa_node *iq = NULL, *c = NULL;
	if (!group || !out)
		return WA_EINVAL;
	int rc = iq_new(group, "get", &iq);
	if (rc == 0)
		rc = wa_node_add_new(iq, "membership_approval_requests", &c);
	return done(rc, iq, out);
}

int wa_group_build_request_action(const char *group, const char *action, const char *const *jids, size_t n,
	wa_node **out)
{
	if (!group || !action || !jids || n == 0 || n > WA_GROUP_MAX_PARTICIPANTS || !out ||
	    (strcmp(action, "approve") && strcmp(action, "reject")))
		return WA_EINVAL;
	wa_node *iq = NULL, *r = NULL, *a = NULL;
	int rc = iq_new(group, "set", &iq);
	if (rc == 0)
		rc = wa_node_add_new(iq, "membership_requests_action", &r);
	if (rc == 0)
		rc = wa_node_add_new(r, action, &a);
	if (rc == 0)
		rc = add_parts(a, jids, n);
	return done(rc, iq, out);
}

int wa_group_build_ephemeral(const char *group, uint32_t seconds, wa_node **out)
{
	wa_node *iq = NULL, *c = NULL;
	char e[16];
	if (!group || !out)
		return WA_EINVAL;
	int rc = iq_new(group, "set", &iq);
	if (rc == 0)
		rc = wa_node_add_new(iq, seconds ? "ephemeral" : "not_ephemeral", &c);
	snprintf(e, sizeof e, "%u", (unsigned)seconds);
	if (rc == 0 && seconds)
		rc = wa_node_set_attr(c, "expiration", e);
	return done(rc, iq, out);
}

int wa_group_build_invite(const char *group, bool revoke, wa_node **out)
{
	wa_node *iq = NULL, *c = NULL;
	if (!group || !out)
		return WA_EINVAL;
	int rc = iq_new(group, revoke ? "set" : "get", &iq);
	if (rc == 0)
		rc = wa_node_add_new(iq, "invite", &c);
	return done(rc, iq, out);
}

bool wa_group_invite_norm(const char *in, char out[64])
{
	static const char pre[] = "https://chat.whatsapp.com/";
	if (!in)
		return false;
	if (strncmp(in, pre, sizeof pre - 1) == 0)
		in += sizeof pre - 1;
	size_t l = strlen(in);
	if (l == 0 || l >= 64)
		return false;
	for (size_t i = 0; i < l; i++)
		if (!((in[i] >= '0' && in[i] <= '9') || (in[i] >= 'a' && in[i] <= 'z') ||
		      (in[i] >= 'A' && in[i] <= 'Z') || in[i] == '_' || in[i] == '-'))
			return false;
	memcpy(out, in, l + 1);
	return true;
}

int wa_group_build_invite_code(const char *code, bool join, wa_node **out)
{
	wa_node *iq = NULL, *c = NULL;
	char k[64];
	if (!wa_group_invite_norm(code, k) || !out)
		return WA_EINVAL;
	int rc = iq_new("g.us", join ? "set" : "get", &iq);
	if (rc == 0)
		rc = wa_node_add_new(iq, "invite", &c);
	if (rc == 0)
		rc = wa_node_set_attr(c, "code", k);
	return done(rc, iq, out);
}

/* ---------------- the calls ---------------- */

typedef struct gcall {
	wa_group_fn fn;
	wa_group_change_fn cfn;
	wa_group_done_fn dfn;
	wa_group_str_fn sfn;
	void *user;
	char group[WA_STORE_JID_MAX];
	char action[16];
	bool list;
	bool nocache; /* invite info: a group we are not in */
	bool requests; /* membership_requests_action wraps the action */
	wa_group_requests_fn rfn;
} gcall;

static int err_code(int err, const wa_node *resp)
{
	if (err != WA_EPROTO || !resp)
		return 0;
	const wa_node *e = wa_node_child(resp, "error");
	return e ? (int)wa_group_num(wa_node_attr(e, "code")) : 0;
}

/* Answers with <group> children (create, query, participating). */
static void on_groups(wa_session *s, int err, const wa_node *resp, void *user)
{
	gcall *c = user;
	int code = err_code(err, resp);
	const wa_node *holder = resp && c->list ? wa_node_child(resp, "groups") : resp;
	size_t nc = err == 0 && holder ? wa_node_n_children(holder) : 0;
	wa_gmeta **gs = calloc(nc ? nc : 1, sizeof *gs);
	wa_group_info *info = calloc(nc ? nc : 1, sizeof *info);
	size_t n = 0;
	if (!gs || !info)
		err = WA_ENOMEM;
	for (size_t i = 0; err == 0 && i < nc; i++) {
		const wa_node *gn = wa_node_child_at(holder, i);
		if (strcmp(wa_node_tag(gn), "group") != 0 || wa_gmeta_parse(gn, &gs[n]) != 0)
			continue;
		if (!c->nocache)
			ign(wa_group_cache_put(s, gn));
		if (wa_gmeta_info(gs[n], &info[n]) == 0)
			n++;
		else
			wa_gmeta_free(gs[n]);
	}
	if (err == 0 && !c->list && n == 0)
		err = WA_EMALFORMED;
	if (err == WA_EPROTO && code == 404 && c->group[0])
		wa_group_cache_drop(s, c->group);
	c->fn(s, err, code, info, n, c->user);
	for (size_t i = 0; i < n; i++)
		wa_gmeta_free(gs[i]);
	free(gs);
	free(info);
	free(c);
}

static int send(wa_session *s, wa_node *iq, wa_iq_fn fn, gcall *c, int rc)
{
	if (rc == 0)
		rc = wa_iq_send(s, iq, 0, fn, c);
	wa_node_free(iq);
	if (rc != 0)
		free(c);
	return rc;
}

static gcall *gc(void *user)
{
	gcall *c = calloc(1, sizeof *c);
	if (c)
		c->user = user;
	return c;
}

/* Numbers and JIDs to user JIDs ("5511…@s.whatsapp.net"). */
static char **to_jids(const char *const *in, size_t n)
{
	char **o = calloc(n ? n : 1, sizeof *o);
	for (size_t i = 0; o && i < n; i++) {
		char u[WA_STORE_JID_MAX];
		if (wa_msg_chat_of(in[i], u) != 0 || !(o[i] = strdup(u))) {
			for (size_t k = 0; k < i; k++)
				free(o[k]);
			free(o);
			return NULL;
		}
	}
	return o;
}

static void free_jids(char **j, size_t n)
{
	for (size_t i = 0; j && i < n; i++)
		free(j[i]);
	free(j);
}

int wa_group_create(wa_session *s, const char *subject, const char *const *participants, size_t n,
	wa_group_fn fn, void *user)
{
	if (!s || !fn || (n && !participants))
		return WA_EINVAL;
	char **j = to_jids(participants, n);
	if (!j)
		return WA_EINVAL;
	gcall *c = gc(user);
	wa_node *iq = NULL;
	char key[WA_SESSION_ID_MAX];
	wa_session_new_id(s, key);
	int rc = c ? wa_group_build_create(subject, key, (const char *const *)j, n, &iq) : WA_ENOMEM;
	free_jids(j, n);
	if (c)
		c->fn = fn;
	return c ? send(s, iq, on_groups, c, rc) : rc;
}

int wa_group_metadata(wa_session *s, const char *group, wa_group_fn fn, void *user)
{
	char g[WA_STORE_JID_MAX];
	if (!s || !fn || !wa_group_jid_norm(group, g))
		return WA_EINVAL;
	gcall *c = gc(user);
	wa_node *iq = NULL;
	if (!c)
		return WA_ENOMEM;
	c->fn = fn;
	snprintf(c->group, sizeof c->group, "%s", g);
	return send(s, iq, on_groups, c, wa_group_build_query(g, &iq));
}

int wa_group_participating(wa_session *s, wa_group_fn fn, void *user)
{
	if (!s || !fn)
		return WA_EINVAL;
	gcall *c = gc(user);
	wa_node *iq = NULL;
	if (!c)
		return WA_ENOMEM;
	c->fn = fn;
	c->list = true;
	return send(s, iq, on_groups, c, wa_group_build_participating(&iq));
}

static void on_members(wa_session *s, int err, const wa_node *resp, void *user)
{
	gcall *c = user;
	int code = err_code(err, resp);
	const wa_node *a = err == 0 && resp ? wa_node_child(resp, c->requests ? "membership_requests_action" : c->action) : NULL;
	if (a && c->requests)
		a = wa_node_child(a, c->action);
	size_t nc = a ? wa_node_n_children(a) : 0;
	wa_group_change *r = calloc(nc ? nc : 1, sizeof *r);
	size_t n = 0;
	if (!r)
		err = WA_ENOMEM;
	for (size_t i = 0; r && i < nc; i++) {
		const wa_node *p = wa_node_child_at(a, i);
		if (strcmp(wa_node_tag(p), "participant") != 0 || !wa_node_attr(p, "jid"))
			continue;
		const char *e = wa_node_attr(p, "error");
		r[n].jid = wa_node_attr(p, "jid");
		r[n].status = e ? (int)wa_group_num(e) : 200;
		/* refused for privacy: what an invite message needs instead */
		const wa_node *ar = e ? wa_node_child(p, "add_request") : NULL;
		r[n].add_code = ar ? wa_node_attr(ar, "code") : NULL;
		r[n].add_expiration = ar ? wa_group_num(wa_node_attr(ar, "expiration")) : 0;
		n++;
	}
	c->cfn(s, err, code, r, n, c->user);
	free(r);
	free(c);
}

int wa_group_participants(wa_session *s, const char *group, const char *action,
	const char *const *participants, size_t n, wa_group_change_fn fn, void *user)
{
	char g[WA_STORE_JID_MAX];
	if (!s || !fn || !action || !wa_group_jid_norm(group, g) || strlen(action) >= 16)
		return WA_EINVAL;
	char **j = to_jids(participants, n);
	if (!j)
		return WA_EINVAL;
	gcall *c = gc(user);
	wa_node *iq = NULL;
	int rc = c ? wa_group_build_members(g, action, (const char *const *)j, n, &iq) : WA_ENOMEM;
	free_jids(j, n);
	if (!c)
		return rc;
	c->cfn = fn;
	snprintf(c->action, sizeof c->action, "%s", action);
	snprintf(c->group, sizeof c->group, "%s", g);
	return send(s, iq, on_members, c, rc);
}

static void on_done(wa_session *s, int err, const wa_node *resp, void *user)
{
	gcall *c = user;
	c->dfn(s, err, err_code(err, resp), c->user);
	free(c);
}

int wa_group_simple(wa_session *s, wa_node *iq, int rc, wa_group_done_fn fn, void *user)
{
	gcall *c = rc == 0 ? gc(user) : NULL;
	if (!c) {
		wa_node_free(iq);
		return rc ? rc : WA_ENOMEM;
	}
	c->dfn = fn;
	return send(s, iq, on_done, c, 0);
}

int wa_group_leave(wa_session *s, const char *group, wa_group_done_fn fn, void *user)
{
	char g[WA_STORE_JID_MAX];
	wa_node *iq = NULL;
	if (!s || !fn || !wa_group_jid_norm(group, g))
		return WA_EINVAL;
	return wa_group_simple(s, iq, wa_group_build_leave(g, &iq), fn, user);
}

int wa_group_set_subject(wa_session *s, const char *group, const char *subject, wa_group_done_fn fn,
	void *user)
{
	char g[WA_STORE_JID_MAX];
	wa_node *iq = NULL;
	if (!s || !fn || !wa_group_jid_norm(group, g))
		return WA_EINVAL;
	return wa_group_simple(s, iq, wa_group_build_subject(g, subject, &iq), fn, user);
}

int wa_group_set_description(wa_session *s, const char *group, const char *desc, wa_group_done_fn fn,
	void *user)
{
	char g[WA_STORE_JID_MAX], id[WA_SESSION_ID_MAX];
	wa_node *iq = NULL;
	wa_gmeta *m = NULL;
	if (!s || !fn || !wa_group_jid_norm(group, g))
		return WA_EINVAL;
	wa_session_new_id(s, id);
	ign(wa_group_cached(s, g, &m));
	int rc = wa_group_build_description(g, desc, id, m ? m->desc_id : NULL, &iq);
	wa_gmeta_free(m);
	return wa_group_simple(s, iq, rc, fn, user);
}

int wa_group_set_setting(wa_session *s, const char *group, const char *setting, wa_group_done_fn fn,
	void *user)
{
	char g[WA_STORE_JID_MAX];
	wa_node *iq = NULL;
	if (!s || !fn || !wa_group_jid_norm(group, g))
		return WA_EINVAL;
	return wa_group_simple(s, iq, wa_group_build_setting(g, setting, &iq), fn, user);
}

int wa_group_set_ephemeral(wa_session *s, const char *group, uint32_t seconds, wa_group_done_fn fn, void *user)
{
	char g[WA_STORE_JID_MAX];
	wa_node *iq = NULL;
	if (!s || !fn || !wa_group_jid_norm(group, g))
		return WA_EINVAL;
	return wa_group_simple(s, iq, wa_group_build_ephemeral(g, seconds, &iq), fn, user);
}

/* <invite code/> (code get, revoke) or <group jid/> (join) in the answer. */
static void on_str(wa_session *s, int err, const wa_node *resp, void *user)
{
	gcall *c = user;
	int code = err_code(err, resp);
	const char *v = NULL;
	char gj[WA_STORE_JID_MAX], k[64];
	const wa_node *req = err == 0 && c->list ? wa_node_child(resp, "membership_approval_request") : NULL;
	if (req) { /* a group with join approval: a request was made */
		v = wa_group_jid_norm(wa_node_attr(req, "jid"), gj) ? gj : NULL;
		code = WA_GROUP_JOIN_REQUESTED;
	} else if (err == 0) {
		/* join: <group jid/>; code get / revoke: <invite code/> (either may be missing) */
		const wa_node *ch = wa_node_child(resp, c->list ? "group" : "invite");
		const char *a = ch ? wa_node_attr(ch, c->list ? "jid" : "code") : NULL;
		if (c->list)
			v = wa_group_jid_norm(a, gj) ? gj : NULL;
		else
			v = wa_group_invite_norm(a, k) ? k : NULL;
	}
	if (err == 0 && !v)
		err = WA_EMALFORMED;
	c->sfn(s, err, code, v, c->user);
	free(c);
}

int wa_group_invite_code(wa_session *s, const char *group, bool revoke, wa_group_str_fn fn, void *user)
{
	char g[WA_STORE_JID_MAX];
	if (!s || !fn || !wa_group_jid_norm(group, g))
		return WA_EINVAL;
	gcall *c = gc(user);
	wa_node *iq = NULL;
	if (!c)
		return WA_ENOMEM;
	c->sfn = fn;
	return send(s, iq, on_str, c, wa_group_build_invite(g, revoke, &iq));
}

int wa_group_join(wa_session *s, const char *code, wa_group_str_fn fn, void *user)
{
	if (!s || !fn)
		return WA_EINVAL;
	gcall *c = gc(user);
	wa_node *iq = NULL;
	if (!c)
		return WA_ENOMEM;
	c->sfn = fn;
	c->list = true;
	return send(s, iq, on_str, c, wa_group_build_invite_code(code, true, &iq));
}

int wa_group_invite_info(wa_session *s, const char *code, wa_group_fn fn, void *user)
{
	if (!s || !fn)
		return WA_EINVAL;
	gcall *c = gc(user);
	wa_node *iq = NULL;
	if (!c)
		return WA_ENOMEM;
	c->fn = fn;
	c->nocache = true;
	return send(s, iq, on_groups, c, wa_group_build_invite_code(code, false, &iq));
}

static void on_requests(wa_session *s, int err, const wa_node *resp, void *user)
{
	gcall *c = user;
	int code = err_code(err, resp);
	const wa_node *l = err == 0 && resp ? wa_node_child(resp, "membership_approval_requests") : NULL;
	size_t nc = l ? wa_node_n_children(l) : 0;
	wa_group_request *r = calloc(nc ? nc : 1, sizeof *r);
	size_t n = 0;
	if (err == 0 && !l)
		err = WA_EMALFORMED;
	if (!r)
		err = WA_ENOMEM;
	for (size_t i = 0; r && err == 0 && i < nc; i++) {
		const wa_node *q = wa_node_child_at(l, i);
		if (strcmp(wa_node_tag(q), "membership_approval_request") != 0 || !wa_node_attr(q, "jid"))
			continue;
		r[n].jid = wa_node_attr(q, "jid");
		r[n].request_time = wa_group_num(wa_node_attr(q, "request_time"));
		n++;
	}
	c->rfn(s, err, code, r, n, c->user);
	free(r);
	free(c);
}

int wa_group_requests(wa_session *s, const char *group, wa_group_requests_fn fn, void *user)
{
	char g[WA_STORE_JID_MAX];
	if (!s || !fn || !wa_group_jid_norm(group, g))
		return WA_EINVAL;
	gcall *c = gc(user);
	wa_node *iq = NULL;
	if (!c)
		return WA_ENOMEM;
	c->rfn = fn;
	return send(s, iq, on_requests, c, wa_group_build_requests(g, &iq));
}

int wa_group_request_action(wa_session *s, const char *group, const char *action,
	const char *const *participants, size_t n, wa_group_change_fn fn, void *user)
{
	char g[WA_STORE_JID_MAX];
	if (!s || !fn || !action || !wa_group_jid_norm(group, g) || strlen(action) >= 16)
		return WA_EINVAL;
	char **j = to_jids(participants, n);
	if (!j)
		return WA_EINVAL;
	gcall *c = gc(user);
	wa_node *iq = NULL;
	int rc = c ? wa_group_build_request_action(g, action, (const char *const *)j, n, &iq) : WA_ENOMEM;
	free_jids(j, n);
	if (!c)
		return rc;
	c->cfn = fn;
	c->requests = true;
	snprintf(c->action, sizeof c->action, "%s", action);
	snprintf(c->group, sizeof c->group, "%s", g);
	return send(s, iq, on_members, c, rc);
}
