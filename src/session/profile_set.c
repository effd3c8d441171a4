/* Our profile and a contact's, the blocklist and the privacy settings, as
 * Baileys 7.0.0-rc14 asks for them (chats.js): about text by usync's
 * status protocol and <status> set, the picture by w:profile:picture set
 * (JPEG content; no content removes it), the blocklist by xmlns
 * "blocklist" (an item names the LID, with pn_jid when blocking), privacy
 * by xmlns "privacy" categories, business profiles by w:biz, and our push
 * name by the setting_pushName app-state mutation followed by a presence
 * carrying the new name (what the server shows peers as `notify`). Every
 * answer reaches `done` as JSON built here, so embedders read no nodes. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session/iq.h"
#include "session/msgstate.h"

struct pctx {
	wa_profile_fn done;
	void *user;
	/* wa_profile_fetch: answers still outstanding and what came so far */
	int pending;
	int err;
	json_t *out;
	char name[WA_STORE_PUSH_NAME_MAX];
};

static int error_code(const wa_node *resp)
{
	const wa_node *e = resp ? wa_node_child(resp, "error") : NULL;
	const char *code = e ? wa_node_attr(e, "code") : NULL;
	return code ? atoi(code) : 0;
}

static int new_iq(const char *xmlns, const char *type, wa_node **out)
{
	wa_node *iq = NULL;
	int rc = wa_node_new(&iq, "iq");
	rc = rc ? rc : wa_node_set_attr(iq, "to", "s.whatsapp.net");
	rc = rc ? rc : wa_node_set_attr(iq, "type", type);
	rc = rc ? rc : wa_node_set_attr(iq, "xmlns", xmlns);
	if (rc != 0) {
		wa_node_free(iq);
		return rc;
	}
	*out = iq;
	return 0;
}

/* Sends iq (freed here) with a context for fn; ctx freed on failure. */
static int send_iq(wa_session *s, wa_node *iq, wa_iq_fn fn, struct pctx *c, int rc)
{
	if (rc == 0)
		rc = wa_iq_send(s, iq, 0, fn, c);
	wa_node_free(iq);
	if (rc != 0) {
		json_decref(c->out);
		free(c);
	}
	return rc;
}

static struct pctx *pctx_new(wa_session *s, wa_profile_fn done, void *user, int *rc)
{
	*rc = !s || !done ? WA_EINVAL : !ready(s) ? WA_ESTATE : 0;
	if (*rc)
		return NULL;
	struct pctx *c = calloc(1, sizeof *c);
	if (!c) {
		*rc = WA_ENOMEM;
		return NULL;
	}
	c->done = done;
	c->user = user;
	return c;
}

static void finish(wa_session *s, struct pctx *c, int err, int code, json_t *j)
{
	char *txt = j && err == 0 ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	if (j && err == 0 && !txt)
		err = WA_ENOMEM;
	c->done(s, err, code, txt, c->user);
	free(txt);
	json_decref(j);
	json_decref(c->out);
	free(c);
}

/* A plain set: the answer carries nothing we need. */
static void on_plain(wa_session *s, int err, const wa_node *resp, void *user)
{
	finish(s, user, err, err == WA_EPROTO ? error_code(resp) : 0, NULL);
}

/* ---- a contact's profile: three iqs in parallel ---- */

static json_t *node_text(const wa_node *n)
{
	const uint8_t *p;
	size_t len;
	if (!n || wa_node_content_bytes(n, &p, &len) != 0)
		return json_null();
	return json_stringn((const char *)p, len) ?: json_null();
}

static void fetch_part_done(wa_session *s, struct pctx *c)
{
	if (--c->pending > 0)
		return;
	json_t *o = c->out;
	c->out = NULL;
	finish(s, c, c->err, 0, o);
}

static void on_fetch_usync(wa_session *s, int err, const wa_node *resp, void *user)
{
	struct pctx *c = user;
	const wa_node *us = err == 0 && resp ? wa_node_child(resp, "usync") : NULL;
	const wa_node *list = us ? wa_node_child(us, "list") : NULL;
	const wa_node *u = list ? wa_node_child(list, "user") : NULL;
	if (!u) {
		c->err = err ? err : WA_EPROTO;
	} else {
		const wa_node *ct = wa_node_child(u, "contact");
		const char *type = ct ? wa_node_attr(ct, "type") : NULL;
		json_object_set_new(c->out, "exists", json_boolean(type && strcmp(type, "in") == 0));
		const wa_node *st = wa_node_child(u, "status");
		const char *t = st ? wa_node_attr(st, "t") : NULL;
		/* as Baileys reads it: hidden (401) is "", unset or empty null */
		const char *code = st ? wa_node_attr(st, "code") : NULL;
		json_t *txt = !st ? json_null() : code ? (strcmp(code, "401") == 0 ? json_string("") : json_null())
			: node_text(st);
		if (!code && json_is_string(txt) && json_string_length(txt) == 0) {
			json_decref(txt);
			txt = json_null();
		}
		json_object_set_new(c->out, "status", txt);
		json_object_set_new(c->out, "statusSetAt", json_integer(t ? strtoll(t, NULL, 10) : 0));
	}
	fetch_part_done(s, c);
}

static void on_fetch_picture(wa_session *s, int err, const wa_node *resp, void *user)
{
	struct pctx *c = user;
	const wa_node *p = err == 0 && resp ? wa_node_child(resp, "picture") : NULL;
	const char *url = p ? wa_node_attr(p, "url") : NULL;
	json_object_set_new(c->out, "picture", url ? json_string(url) : json_null());
	fetch_part_done(s, c);
}

static void on_fetch_biz(wa_session *s, int err, const wa_node *resp, void *user)
{
	struct pctx *c = user;
	const wa_node *bp = err == 0 && resp ? wa_node_child(resp, "business_profile") : NULL;
	const wa_node *p = bp ? wa_node_child(bp, "profile") : NULL;
	json_t *b = json_null();
	if (p) {
		const wa_node *cats = wa_node_child(p, "categories");
		const wa_node *w = wa_node_child(p, "website");
		json_t *site = json_array();
		if (w)
			json_array_append_new(site, node_text(w));
		b = json_pack("{s:o,s:o,s:o,s:o,s:o}", "description", node_text(wa_node_child(p, "description")),
			"email", node_text(wa_node_child(p, "email")), "website", site, "address",
			node_text(wa_node_child(p, "address")), "category",
			node_text(cats ? wa_node_child(cats, "category") : NULL));
		if (!b)
			b = json_null();
	}
	json_object_set_new(c->out, "business", b);
	fetch_part_done(s, c);
}

int wa_profile_fetch(wa_session *s, const char *jid, wa_profile_fn done, void *user)
{
	wa_jid j;
	int rc;
	if (!jid || wa_jid_parse(&j, jid) != 0)
		return WA_EINVAL;
	struct pctx *c = pctx_new(s, done, user, &rc);
	if (!c)
		return rc;
	c->out = json_pack("{s:s,s:b,s:n,s:i,s:n,s:n}", "jid", jid, "exists", 0, "status", "statusSetAt", 0,
		"picture", "business");
	if (!c->out) {
		free(c);
		return WA_ENOMEM;
	}
	/* usync: is it on WhatsApp, and its about text */
	wa_node *iq = NULL, *us = NULL, *q = NULL, *l = NULL, *x = NULL;
	char sid[32];
	snprintf(sid, sizeof sid, "%lld", (long long)wa_now_ms());
	rc = new_iq("usync", "get", &iq);
	rc = rc ? rc : wa_node_add_new(iq, "usync", &us);
	rc = rc ? rc : wa_node_set_attr(us, "context", "interactive");
	rc = rc ? rc : wa_node_set_attr(us, "mode", "query");
	rc = rc ? rc : wa_node_set_attr(us, "sid", sid);
	rc = rc ? rc : wa_node_set_attr(us, "last", "true");
	rc = rc ? rc : wa_node_set_attr(us, "index", "0");
	rc = rc ? rc : wa_node_add_new(us, "query", &q);
	rc = rc ? rc : wa_node_add_new(q, "contact", &x);
	rc = rc ? rc : wa_node_add_new(q, "status", &x);
	rc = rc ? rc : wa_node_add_new(us, "list", &l);
	rc = rc ? rc : wa_node_add_new(l, "user", &x);
	rc = rc ? rc : wa_node_set_attr(x, "jid", jid);
	if (rc == 0)
		rc = wa_iq_send(s, iq, 0, on_fetch_usync, c);
	wa_node_free(iq);
	if (rc != 0) {
		json_decref(c->out);
		free(c);
		return rc;
	}
	c->pending = 1;
	/* the picture and the business profile: a failure only leaves them null */
	iq = NULL;
	rc = new_iq("w:profile:picture", "get", &iq);
	rc = rc ? rc : wa_node_set_attr(iq, "target", jid);
	rc = rc ? rc : wa_node_add_new(iq, "picture", &x);
	rc = rc ? rc : wa_node_set_attr(x, "type", "image");
	rc = rc ? rc : wa_node_set_attr(x, "query", "url");
	if (rc == 0 && wa_iq_send(s, iq, 0, on_fetch_picture, c) == 0)
		c->pending++;
	wa_node_free(iq);
	iq = NULL;
	rc = new_iq("w:biz", "get", &iq);
	rc = rc ? rc : wa_node_add_new(iq, "business_profile", &x);
	rc = rc ? rc : wa_node_set_attr(x, "v", "244");
	rc = rc ? rc : wa_node_add_new(x, "profile", &x);
	rc = rc ? rc : wa_node_set_attr(x, "jid", jid);
	if (rc == 0 && wa_iq_send(s, iq, 0, on_fetch_biz, c) == 0)
		c->pending++;
	wa_node_free(iq);
	return 0;
}

/* ---- our own profile ---- */

int wa_profile_set_about(wa_session *s, const char *text, wa_profile_fn done, void *user)
{
	int rc;
	if (!text || strlen(text) > 4096)
		return WA_EINVAL;
	struct pctx *c = pctx_new(s, done, user, &rc);
	if (!c)
		return rc;
	wa_node *iq = NULL, *st = NULL;
	rc = new_iq("status", "set", &iq);
	rc = rc ? rc : wa_node_add_new(iq, "status", &st);
	rc = rc ? rc : wa_node_set_bytes(st, text, strlen(text));
	return send_iq(s, iq, on_plain, c, rc);
}

static void on_picture_set(wa_session *s, int err, const wa_node *resp, void *user)
{
	const wa_node *p = err == 0 && resp ? wa_node_child(resp, "picture") : NULL;
	const char *id = p ? wa_node_attr(p, "id") : NULL;
	finish(s, user, err, err == WA_EPROTO ? error_code(resp) : 0,
		err == 0 ? json_pack("{s:o}", "id", id ? json_string(id) : json_null()) : NULL);
}

int wa_profile_set_picture(wa_session *s, const uint8_t *jpeg, size_t len, wa_profile_fn done, void *user)
{
	int rc;
	/* a JPEG starts with SOI (FF D8) */
	if (jpeg && (len < 4 || jpeg[0] != 0xff || jpeg[1] != 0xd8))
		return WA_EINVAL;
	struct pctx *c = pctx_new(s, done, user, &rc);
	if (!c)
		return rc;
	wa_node *iq = NULL, *p = NULL;
	rc = new_iq("w:profile:picture", "set", &iq);
	if (jpeg) {
		rc = rc ? rc : wa_node_add_new(iq, "picture", &p);
		rc = rc ? rc : wa_node_set_attr(p, "type", "image");
		rc = rc ? rc : wa_node_set_bytes(p, jpeg, len);
	}
	return send_iq(s, iq, on_picture_set, c, rc);
}

static void on_name_mod(wa_session *s, int err, const char *detail, void *user)
{
	struct pctx *c = user;
	(void)detail;
	if (err == 0) {
		/* the configured name would override the new one in presences */
		char *dup = strdup(c->name);
		if (dup) {
			free(s->push_name);
			s->push_name = dup;
		}
		/* the server shows peers the name of our last presence */
		if (ready(s))
			ign(wa_session_send_presence(s, NULL, s->online ? "available" : "unavailable"));
	}
	finish(s, c, err, 0, NULL);
}

int wa_profile_set_name(wa_session *s, const char *name, wa_profile_fn done, void *user)
{
	if (!s || !done || !name || !*name || strlen(name) >= WA_STORE_PUSH_NAME_MAX)
		return WA_EINVAL;
	struct pctx *c = calloc(1, sizeof *c);
	if (!c)
		return WA_ENOMEM;
	c->done = done;
	c->user = user;
	snprintf(c->name, sizeof c->name, "%s", name);
	wa_chat_mod m = {.action = WA_PUSH_NAME_SET, .push_name = c->name};
	int rc = wa_session_chat_modify(s, &m, on_name_mod, c);
	if (rc != 0)
		free(c);
	return rc;
}

/* ---- blocklist ---- */

int wa_profile_block(wa_session *s, const char *jid, bool block, wa_profile_fn done, void *user)
{
	wa_jid j;
	int rc;
	if (!jid || wa_jid_parse(&j, jid) != 0 || (!wa_msg_jid_is_pn(&j) && !wa_msg_jid_is_lid(&j)))
		return WA_EINVAL;
	struct pctx *c = pctx_new(s, done, user, &rc);
	if (!c)
		return rc;
	/* the item names the LID when we know it, the phone number as pn_jid */
	char *alt = wa_msg_alt_user(s, jid);
	bool lid = wa_msg_jid_is_lid(&j);
	const char *lid_jid = lid ? jid : alt ? alt : jid;
	const char *pn_jid = lid ? alt : jid;
	wa_node *iq = NULL, *it = NULL;
	rc = new_iq("blocklist", "set", &iq);
	rc = rc ? rc : wa_node_add_new(iq, "item", &it);
	rc = rc ? rc : wa_node_set_attr(it, "action", block ? "block" : "unblock");
	rc = rc ? rc : wa_node_set_attr(it, "jid", lid_jid);
	if (rc == 0 && block && pn_jid && strcmp(pn_jid, lid_jid) != 0)
		rc = wa_node_set_attr(it, "pn_jid", pn_jid);
	free(alt);
	return send_iq(s, iq, on_plain, c, rc);
}

static void on_blocklist(wa_session *s, int err, const wa_node *resp, void *user)
{
	const wa_node *list = err == 0 && resp ? wa_node_child(resp, "list") : NULL;
	json_t *a = json_array();
	for (size_t i = 0; list && a && i < wa_node_n_children(list); i++) {
		const wa_node *it = wa_node_child_at(list, i);
		if (strcmp(wa_node_tag(it), "item") != 0)
			continue;
		const char *jid = wa_node_attr(it, "jid"), *pn = wa_node_attr(it, "pn_jid");
		char *alt = !pn && jid && strstr(jid, "@lid") ? wa_msg_alt_user(s, jid) : NULL;
		const char *show = pn ? pn : alt ? alt : jid;
		if (show)
			json_array_append_new(a, json_string(show));
		free(alt);
	}
	finish(s, user, err, err == WA_EPROTO ? error_code(resp) : 0, err == 0 ? a : (json_decref(a), NULL));
}

int wa_profile_blocklist(wa_session *s, wa_profile_fn done, void *user)
{
	int rc;
	struct pctx *c = pctx_new(s, done, user, &rc);
	if (!c)
		return rc;
	wa_node *iq = NULL;
	rc = new_iq("blocklist", "get", &iq);
	return send_iq(s, iq, on_blocklist, c, rc);
}

/* ---- privacy ---- */

static void on_privacy(wa_session *s, int err, const wa_node *resp, void *user)
{
	const wa_node *p = err == 0 && resp ? wa_node_child(resp, "privacy") : NULL;
	json_t *o = json_object();
	for (size_t i = 0; p && o && i < wa_node_n_children(p); i++) {
		const wa_node *cat = wa_node_child_at(p, i);
		const char *name = wa_node_attr(cat, "name"), *value = wa_node_attr(cat, "value");
		if (strcmp(wa_node_tag(cat), "category") == 0 && name && value)
			json_object_set_new(o, name, json_string(value));
	}
	if (err == 0 && !p)
		err = WA_EPROTO;
	finish(s, user, err, err == WA_EPROTO ? error_code(resp) : 0, err == 0 ? o : (json_decref(o), NULL));
}

int wa_profile_privacy(wa_session *s, wa_profile_fn done, void *user)
{
	int rc;
	struct pctx *c = pctx_new(s, done, user, &rc);
	if (!c)
		return rc;
	wa_node *iq = NULL, *p = NULL;
	rc = new_iq("privacy", "get", &iq);
	rc = rc ? rc : wa_node_add_new(iq, "privacy", &p);
	return send_iq(s, iq, on_privacy, c, rc);
}

int wa_profile_set_privacy(wa_session *s, const char *name, const char *value, wa_profile_fn done, void *user)
{
	int rc;
	if (!name || !*name || !value || !*value || strlen(name) > 32 || strlen(value) > 32)
		return WA_EINVAL;
	struct pctx *c = pctx_new(s, done, user, &rc);
	if (!c)
		return rc;
	wa_node *iq = NULL, *p = NULL, *cat = NULL;
	rc = new_iq("privacy", "set", &iq);
	rc = rc ? rc : wa_node_add_new(iq, "privacy", &p);
	rc = rc ? rc : wa_node_add_new(p, "category", &cat);
	rc = rc ? rc : wa_node_set_attr(cat, "name", name);
	rc = rc ? rc : wa_node_set_attr(cat, "value", value);
	return send_iq(s, iq, on_plain, c, rc);
}
