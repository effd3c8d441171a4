/* wasim: the profile iqs, with what each account set kept per account (in
 * memory: a wasim restart forgets it) and served to every client as the
 * real server does:
 *  - picture (w:profile:picture): set with JPEG content, removed by a set
 *    without content, read as a URL this server serves (GET /pp/...);
 *    404 item-not-found when none (a group's picture is sim_groups.c's), 401 not-authorized when the owner's
 *    "profile" privacy is "none" or the owner blocked the asker;
 *  - about text (xmlns "status" set, read through usync's status protocol:
 *    sim_profile_status_node), hidden the same way by "status" privacy;
 *  - blocklist (xmlns "blocklist" get / set with items naming a LID or a
 *    phone number): the server refuses nothing but drops a blocked user's
 *    messages to the blocker after acking them (sim_profile_blocks: one
 *    tick for the sender, as on WhatsApp);
 *  - privacy (xmlns "privacy" categories) with WhatsApp's defaults and its
 *    allowed values per category; "contacts" is treated as "all" (wasim
 *    keeps no address books);
 *  - business profile (w:biz): none unless set by POST /_sim/business;
 *  - contact QR link (a stable code per account, a new one on revoke) and
 *    push config (accepted). */
#include "sim_msg.h"
#include "simcore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/seams.h"

enum {
	PROF_MAX_BLOCKED = 256,
	PROF_MAX_PICTURE = 1024 * 1024,
	PROF_MAX_ABOUT = 1024,
};

static const struct {
	const char *name, *def, *allowed[5];
} cats[] = {
	{"readreceipts", "all", {"all", "none"}},
	{"profile", "all", {"all", "contacts", "contact_blacklist", "none"}},
	{"status", "contacts", {"all", "contacts", "contact_blacklist", "none"}},
	{"online", "all", {"all", "match_last_seen"}},
	{"last", "all", {"all", "contacts", "contact_blacklist", "none"}},
	{"groupadd", "all", {"all", "contacts", "contact_blacklist", "none"}},
	{"calladd", "all", {"all", "known"}},
	{"messages", "all", {"all", "contacts"}},
};
#define N_CATS (sizeof cats / sizeof cats[0])

struct prof {
	struct prof *next;
	char phone[SIM_MAX_PHONE + 1];
	char *about;
	int64_t about_t;
	uint8_t *pic;
	size_t pic_len;
	unsigned pic_id;
	char blocked[PROF_MAX_BLOCKED][SIM_MAX_PHONE + 1]; /* phone numbers */
	size_t n_blocked;
	char priv[N_CATS][24];
	json_t *biz;
};

static struct prof *profs;
static unsigned qr_revokes, pic_ids;

static struct prof *prof_find(const struct sim_account *a)
{
	for (struct prof *p = profs; p; p = p->next)
		if (strcmp(p->phone, a->phone) == 0)
			return p;
	return NULL;
}

static struct prof *prof_get(const struct sim_account *a)
{
	struct prof *p = prof_find(a);
	if (p)
		return p;
	p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	snprintf(p->phone, sizeof p->phone, "%s", a->phone);
	for (size_t i = 0; i < N_CATS; i++)
		snprintf(p->priv[i], sizeof p->priv[i], "%s", cats[i].def);
	p->next = profs;
	profs = p;
	return p;
}

static const char *priv_of(const struct sim_account *a, const char *cat)
{
	const struct prof *p = prof_find(a);
	for (size_t i = 0; i < N_CATS; i++)
		if (strcmp(cats[i].name, cat) == 0)
			return p ? p->priv[i] : cats[i].def;
	return "all";
}

bool sim_profile_blocks(const struct sim_account *owner, const struct sim_account *other)
{
	const struct prof *p = owner && other ? prof_find(owner) : NULL;
	for (size_t i = 0; p && i < p->n_blocked; i++)
		if (strcmp(p->blocked[i], other->phone) == 0)
			return true;
	return false;
}

/* Whether asker may see owner's item guarded by privacy category cat. */
static bool visible(const struct sim_account *owner, const struct sim_account *asker, const char *cat)
{
	if (owner == asker)
		return true;
	return strcmp(priv_of(owner, cat), "none") != 0 && !sim_profile_blocks(owner, asker);
}

wa_node *sim_profile_status_node(struct sim_account *target, struct sim_account *asker)
{
	const struct prof *p = prof_find(target);
	if (!visible(target, asker, "status"))
		return sim_node("status", "code", "401", NULL);
	char t[24];
	snprintf(t, sizeof t, "%lld", p && p->about ? (long long)p->about_t : 0LL);
	wa_node *n = sim_node("status", "t", t, NULL);
	if (n && p && p->about && *p->about && wa_node_set_bytes(n, p->about, strlen(p->about)) != 0) {
		wa_node_free(n);
		return NULL;
	}
	return n;
}

static struct sim_account *asker_of(struct sim_conn *c)
{
	struct sim_device *d = sim_conn_device(c);
	return d ? d->acct : NULL;
}

static void pic_url(struct sim *sim, const struct prof *p, char *url, size_t cap, char *direct, size_t dcap)
{
	int port = sim_core(sim)->tls_port > 0 ? sim_core(sim)->tls_port : sim_core(sim)->port;
	snprintf(direct, dcap, "/pp/%s/%u.jpg", p->phone, p->pic_id);
	snprintf(url, cap, "https://127.0.0.1:%d%s", port, direct);
}

static int iq_picture(struct sim *sim, struct sim_conn *c, const wa_node *iq, void *user)
{
	(void)user;
	int rc = sim_groups_picture_iq(sim, c, iq);
	if (rc != 1)
		return rc;
	struct sim_account *asker = asker_of(c), *owner = asker;
	const char *type = wa_node_attr(iq, "type");
	const char *target = wa_node_attr(iq, "target");
	if (!asker || !type)
		return sim_iq_error(c, iq, 400, "bad-request");
	if (target) {
		struct sim_addr ad;
		if (sim_addr_parse(sim, target, &ad) != 0)
			return sim_iq_error(c, iq, 404, "item-not-found");
		owner = ad.acct;
	}
	if (strcmp(type, "get") == 0) {
		struct prof *p = prof_find(owner);
		if (!p || !p->pic)
			return sim_iq_error(c, iq, 404, "item-not-found");
		if (!visible(owner, asker, "profile"))
			return sim_iq_error(c, iq, 401, "not-authorized");
		const wa_node *q = wa_node_child(iq, "picture");
		const char *pt = q ? wa_node_attr(q, "type") : NULL;
		char url[256], direct[128], id[16];
		pic_url(sim, p, url, sizeof url, direct, sizeof direct);
		snprintf(id, sizeof id, "%u", p->pic_id);
		wa_node *out = sim_node("picture", "id", id, "type", pt ? pt : "image", "url", url, "direct_path",
			direct, NULL);
		return out ? sim_iq_result(c, iq, out) : sim_iq_error(c, iq, 500, "internal-error");
	}
	if (owner != asker)
		return sim_iq_error(c, iq, 403, "forbidden"); /* only our own picture */
	struct prof *p = prof_get(owner);
	if (!p)
		return sim_iq_error(c, iq, 500, "internal-error");
	const wa_node *pic = wa_node_child(iq, "picture");
	if (!pic) {
		free(p->pic);
		p->pic = NULL;
		p->pic_len = 0;
		return sim_iq_result(c, iq, NULL);
	}
	const uint8_t *b;
	size_t len;
	if (wa_node_content_bytes(pic, &b, &len) != 0 || len < 4 || b[0] != 0xff || b[1] != 0xd8)
		return sim_iq_error(c, iq, 400, "bad-request"); /* not a JPEG */
	if (len > PROF_MAX_PICTURE)
		return sim_iq_error(c, iq, 406, "not-acceptable");
	uint8_t *copy = malloc(len);
	if (!copy)
		return sim_iq_error(c, iq, 500, "internal-error");
	memcpy(copy, b, len);
	free(p->pic);
	p->pic = copy;
	p->pic_len = len;
	p->pic_id = ++pic_ids;
	char id[16];
	snprintf(id, sizeof id, "%u", p->pic_id);
	wa_node *out = sim_node("picture", "id", id, NULL);
	return out ? sim_iq_result(c, iq, out) : sim_iq_error(c, iq, 500, "internal-error");
}

/* GET /pp/<phone>/<id>.jpg: the picture as set (404 once replaced) */
static int h_pp(struct sim *sim, const struct sim_http_req *req, struct sim_http_resp *resp, void *user)
{
	(void)user;
	char phone[SIM_MAX_PHONE + 1];
	unsigned id;
	struct sim_account *a = NULL;
	if (sscanf(req->path, "/pp/%24[0-9]/%u.jpg", phone, &id) == 2)
		a = sim_account_find(sim, phone);
	struct prof *p = a ? prof_find(a) : NULL;
	if (!p || !p->pic || p->pic_id != id) {
		sim_http_error(resp, 404, "no such picture");
		return 0;
	}
	resp->body = malloc(p->pic_len);
	if (!resp->body)
		return WA_ENOMEM;
	memcpy(resp->body, p->pic, p->pic_len);
	resp->body_len = p->pic_len;
	snprintf(resp->content_type, sizeof resp->content_type, "image/jpeg");
	return 0;
}

/* xmlns="status": get <privacy/> (whatsmeow's GetStatusPrivacy); set
 * <status>text</status> (our about text) */
static int iq_status(struct sim *sim, struct sim_conn *c, const wa_node *iq, void *user)
{
	(void)sim;
	(void)user;
	struct sim_account *me = asker_of(c);
	const char *type = wa_node_attr(iq, "type");
	if (!me)
		return sim_iq_error(c, iq, 400, "bad-request");
	if (type && strcmp(type, "set") == 0) {
		const wa_node *st = wa_node_child(iq, "status");
		const uint8_t *b = NULL;
		size_t len = 0;
		if (!st || (wa_node_content_kind(st) != WA_NODE_NONE && wa_node_content_bytes(st, &b, &len) != 0))
			return sim_iq_error(c, iq, 400, "bad-request");
		if (len > PROF_MAX_ABOUT)
			return sim_iq_error(c, iq, 406, "not-acceptable");
		struct prof *p = prof_get(me);
		char *t = p ? malloc(len + 1) : NULL;
		if (!t)
			return sim_iq_error(c, iq, 500, "internal-error");
		if (len)
			memcpy(t, b, len);
		t[len] = '\0';
		free(p->about);
		p->about = t;
		p->about_t = sim_now();
		return sim_iq_result(c, iq, NULL);
	}
	if (!wa_node_child(iq, "privacy"))
		return sim_iq_error(c, iq, 400, "bad-request");
	const char *v = priv_of(me, "status");
	wa_node *p = sim_node_add(sim_node("privacy", NULL),
		sim_node("list", "type", v, "default", strcmp(v, "contacts") == 0 ? "true" : NULL, NULL));
	return p ? sim_iq_result(c, iq, p) : sim_iq_error(c, iq, 500, "internal-error");
}

/* xmlns="blocklist": get -> <list><item jid=LID pn_jid/></list>; set
 * <item action="block|unblock" jid (LID or phone number) [pn_jid]/> */
static int iq_blocklist(struct sim *sim, struct sim_conn *c, const wa_node *iq, void *user)
{
	(void)user;
	struct sim_account *me = asker_of(c);
	const char *type = wa_node_attr(iq, "type");
	if (!me || !type)
		return sim_iq_error(c, iq, 400, "bad-request");
	struct prof *p = prof_get(me);
	if (!p)
		return sim_iq_error(c, iq, 500, "internal-error");
	if (strcmp(type, "get") == 0) {
		wa_node *list = sim_node("list", NULL);
		if (list)
			wa_node_set_list(list); /* an empty list is still a list */
		for (size_t i = 0; list && i < p->n_blocked; i++) {
			struct sim_account *b = sim_account_find(sim, p->blocked[i]);
			char lid[SIM_MSG_JID_MAX], pn[SIM_MSG_JID_MAX];
			if (!b)
				continue;
			sim_jid_user(b, true, lid, sizeof lid);
			sim_jid_user(b, false, pn, sizeof pn);
			list = sim_node_add(list, sim_node("item", "jid", lid, "pn_jid", pn, NULL));
		}
		return list ? sim_iq_result(c, iq, list) : sim_iq_error(c, iq, 500, "internal-error");
	}
	const wa_node *it = wa_node_child(iq, "item");
	const char *action = it ? wa_node_attr(it, "action") : NULL;
	struct sim_addr ad;
	if (!action || (strcmp(action, "block") != 0 && strcmp(action, "unblock") != 0))
		return sim_iq_error(c, iq, 400, "bad-request");
	if (sim_addr_parse(sim, wa_node_attr(it, "jid"), &ad) != 0 || ad.acct == me)
		return sim_iq_error(c, iq, 404, "item-not-found");
	size_t i;
	for (i = 0; i < p->n_blocked; i++)
		if (strcmp(p->blocked[i], ad.acct->phone) == 0)
			break;
	if (strcmp(action, "block") == 0 && i == p->n_blocked) {
		if (p->n_blocked == PROF_MAX_BLOCKED)
			return sim_iq_error(c, iq, 406, "not-acceptable");
		snprintf(p->blocked[p->n_blocked++], sizeof p->blocked[0], "%s", ad.acct->phone);
	} else if (strcmp(action, "unblock") == 0 && i < p->n_blocked) {
		memmove(p->blocked[i], p->blocked[i + 1], (p->n_blocked - i - 1) * sizeof p->blocked[0]);
		p->n_blocked--;
	}
	return sim_iq_result(c, iq, NULL);
}

/* xmlns="privacy": get <privacy/> -> every category; set <privacy><category
 * name value/>...: each checked against the values WhatsApp allows */
static int iq_privacy(struct sim *sim, struct sim_conn *c, const wa_node *iq, void *user)
{
	(void)user;
	struct sim_account *me = asker_of(c);
	const char *type = wa_node_attr(iq, "type");
	const wa_node *pv = wa_node_child(iq, "privacy");
	struct prof *p = me ? prof_get(me) : NULL;
	if (type && strcmp(type, "set") == 0 && wa_node_child(iq, "tokens"))
		return sim_tctoken_issue(sim, c, iq); /* privacy tokens: sim_tctoken.c */
	if (!p || !type || !pv)
		return sim_iq_error(c, iq, p ? 400 : 500, p ? "bad-request" : "internal-error");
	if (strcmp(type, "get") == 0) {
		wa_node *out = sim_node("privacy", NULL);
		for (size_t i = 0; out && i < N_CATS; i++)
			out = sim_node_add(out, sim_node("category", "name", cats[i].name, "value", p->priv[i], NULL));
		return out ? sim_iq_result(c, iq, out) : sim_iq_error(c, iq, 500, "internal-error");
	}
	size_t idx[N_CATS];
	const char *val[N_CATS];
	size_t n = 0;
	for (size_t k = 0; k < wa_node_n_children(pv); k++) {
		const wa_node *cat = wa_node_child_at(pv, k);
		const char *name = wa_node_attr(cat, "name"), *value = wa_node_attr(cat, "value");
		size_t i;
		for (i = 0; name && i < N_CATS && strcmp(cats[i].name, name) != 0; i++)
			;
		bool ok = false;
		for (size_t v = 0; name && value && i < N_CATS && v < 5 && cats[i].allowed[v]; v++)
			ok = ok || strcmp(cats[i].allowed[v], value) == 0;
		if (!ok || n == N_CATS)
			return sim_iq_error(c, iq, 400, "bad-request");
		idx[n] = i;
		val[n++] = value;
	}
	for (size_t k = 0; k < n; k++)
		snprintf(p->priv[idx[k]], sizeof p->priv[0], "%s", val[k]);
	return sim_iq_result(c, iq, NULL);
}

static wa_node *text_node(const char *tag, json_t *v)
{
	const char *s = json_string_value(v);
	wa_node *n = s ? sim_node(tag, NULL) : NULL;
	if (n && wa_node_set_bytes(n, s, strlen(s)) != 0) {
		wa_node_free(n);
		return NULL;
	}
	return n;
}

/* <business_profile v><profile jid/>...: the profile when the account was
 * made a business (POST /_sim/business), else no profile child */
static int iq_biz(struct sim *sim, struct sim_conn *c, const wa_node *iq, void *user)
{
	(void)user;
	const wa_node *bp = wa_node_child(iq, "business_profile");
	if (!bp)
		return sim_iq_error(c, iq, 501, "feature-not-implemented");
	const char *v = wa_node_attr(bp, "v");
	wa_node *out = sim_node("business_profile", "v", v ? v : "244", NULL);
	const wa_node *q = wa_node_child(bp, "profile");
	const char *jid = q ? wa_node_attr(q, "jid") : NULL;
	struct sim_addr ad;
	struct prof *p = jid && sim_addr_parse(sim, jid, &ad) == 0 ? prof_find(ad.acct) : NULL;
	if (out && p && p->biz) {
		wa_node *pr = sim_node("profile", "jid", jid, NULL);
		static const char *const fields[] = {"address", "description", "website", "email"};
		for (size_t i = 0; pr && i < sizeof fields / sizeof fields[0]; i++) {
			json_t *f = json_object_get(p->biz, fields[i]);
			if (json_is_string(f))
				pr = sim_node_add(pr, text_node(fields[i], f));
		}
		json_t *cat = json_object_get(p->biz, "category");
		if (pr && json_is_string(cat)) {
			wa_node *cn = text_node("category", cat);
			if (cn && wa_node_set_attr(cn, "id", "1") != 0) {
				wa_node_free(cn);
				cn = NULL;
			}
			pr = sim_node_add(pr, sim_node_add(sim_node("categories", NULL), cn));
		}
		out = sim_node_add(out, pr);
	}
	return out ? sim_iq_result(c, iq, out) : sim_iq_error(c, iq, 500, "internal-error");
}

/* POST /_sim/business {"phone", "profile": {description, email, website,
 * address, category} or null}: makes the account a business (or not) */
static int h_business(struct sim *sim, const struct sim_http_req *req, struct sim_http_resp *resp, void *user)
{
	(void)user;
	const char *phone = json_string_value(json_object_get(req->json, "phone"));
	json_t *pr = json_object_get(req->json, "profile");
	struct sim_account *a = phone ? sim_account_find(sim, phone) : NULL;
	struct prof *p = a ? prof_get(a) : NULL;
	if (!p || (pr && !json_is_object(pr) && !json_is_null(pr))) {
		sim_http_error(resp, a ? 400 : 404, a ? "profile must be an object or null" : "no such account");
		return 0;
	}
	json_decref(p->biz);
	p->biz = json_is_object(pr) ? json_deep_copy(pr) : NULL;
	sim_http_json(resp, 200, json_pack("{s:b}", "business", p->biz != NULL));
	return 0;
}

/* GET /_sim/profile/<phone>: what the account set, for tests */
static int h_profile(struct sim *sim, const struct sim_http_req *req, struct sim_http_resp *resp, void *user)
{
	(void)user;
	struct sim_account *a = sim_account_find(sim, req->path + strlen("/_sim/profile/"));
	if (!a) {
		sim_http_error(resp, 404, "no such account");
		return 0;
	}
	struct prof *p = prof_find(a);
	json_t *blocked = json_array(), *priv = json_object();
	for (size_t i = 0; p && i < p->n_blocked; i++)
		json_array_append_new(blocked, json_string(p->blocked[i]));
	for (size_t i = 0; i < N_CATS; i++)
		json_object_set_new(priv, cats[i].name, json_string(p ? p->priv[i] : cats[i].def));
	sim_http_json(resp, 200, json_pack("{s:s,s:o,s:I,s:o,s:o}", "pushName", a->push_name, "about",
		p && p->about ? json_string(p->about) : json_null(), "pictureBytes",
		(json_int_t)(p && p->pic ? p->pic_len : 0), "blocked", blocked, "privacy", priv));
	return 0;
}

/* <qr type="contact" action="get|revoke"/> -> <qr type="contact" code/>: the
 * code derives from the account and a revoke counter */
static int iq_qr(struct sim *sim, struct sim_conn *c, const wa_node *iq, void *user)
{
	(void)sim;
	(void)user;
	const wa_node *q = wa_node_child(iq, "qr");
	struct sim_device *d = sim_conn_device(c);
	const char *action = q ? wa_node_attr(q, "action") : NULL;
	const char *qt = q ? wa_node_attr(q, "type") : NULL;
	if (!d || !q || !qt || strcmp(qt, "contact") != 0)
		return sim_iq_error(c, iq, 400, "bad-request");
	if (action && strcmp(action, "revoke") == 0)
		qr_revokes++;
	char code[40];
	snprintf(code, sizeof code, "WASIM%sR%u", d->acct->phone, qr_revokes);
	wa_node *out = sim_node("qr", "type", "contact", "code", code, NULL);
	return out ? sim_iq_result(c, iq, out) : sim_iq_error(c, iq, 500, "internal-error");
}

static int iq_push(struct sim *sim, struct sim_conn *c, const wa_node *iq, void *user)
{
	(void)sim;
	(void)user;
	return sim_iq_result(c, iq, NULL);
}

void sim_profile_shutdown(void)
{
	while (profs) {
		struct prof *p = profs;
		profs = p->next;
		free(p->about);
		free(p->pic);
		json_decref(p->biz);
		free(p);
	}
}

int sim_profile_init(struct sim *sim)
{
	int rc = sim_iq_register(sim, "w:profile:picture", NULL, iq_picture, NULL);
	rc = rc ? rc : sim_iq_register(sim, "status", NULL, iq_status, NULL);
	rc = rc ? rc : sim_iq_register(sim, "blocklist", NULL, iq_blocklist, NULL);
	rc = rc ? rc : sim_iq_register(sim, "privacy", NULL, iq_privacy, NULL);
	rc = rc ? rc : sim_iq_register(sim, "w:biz", NULL, iq_biz, NULL);
	rc = rc ? rc : sim_iq_register(sim, "w:qr", NULL, iq_qr, NULL);
	rc = rc ? rc : sim_iq_register(sim, "urn:xmpp:whatsapp:push", NULL, iq_push, NULL);
	rc = rc ? rc : sim_http_register(sim, "GET", "/pp/", h_pp, NULL);
	rc = rc ? rc : sim_http_register(sim, "POST", "/_sim/business", h_business, NULL);
	return rc ? rc : sim_http_register(sim, "GET", "/_sim/profile/", h_profile, NULL);
}
