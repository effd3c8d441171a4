/* Evolution's profile routes beyond the picture URL: chat/fetchProfile,
 * chat/updateBlockStatus, chat/updateProfileName, updateProfileStatus,
 * updateProfilePicture, removeProfilePicture, fetchPrivacySettings and
 * updatePrivacySettings, plus wamd/fetchBlocklist (Evolution has no route
 * for the list). Each waits for the server's answer (wamd_tenant_profile ->
 * wamd_profile_done) and answers in Evolution's layout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/history.h"
#include "util/codec.h"
#include "wamd_routes.h"

/* the categories Evolution's privacy routes read and write, in its order */
static const char *const priv_names[] = {"readreceipts", "profile", "status", "online", "last", "groupadd"};
#define N_PRIV (sizeof priv_names / sizeof priv_names[0])

struct prticket {
	struct wamd_ticket tk; /* first: the HTTP layer clears tk.c when the client goes */
	struct wamd_tenant *t;
	enum wamd_profile_op op;
	bool own;              /* fetchProfile of our own number */
	char jid[WA_STORE_JID_MAX];
	char *name;            /* fetchProfile: the contact's name as stored; own: profile name */
	json_t *privacy;       /* updatePrivacySettings: what is still to set, and what was asked */
	json_t *asked;
};

static void pr_free(struct prticket *p)
{
	free(p->name);
	json_decref(p->privacy);
	json_decref(p->asked);
	free(p);
}

static void start_fail(struct wamd_conn *c, struct prticket *p, int rc)
{
	c->ticket = NULL;
	pr_free(p);
	if (rc == WA_ESTATE)
		wamd_reply_error(c, 500, json_pack("[s]", "Connection Closed"));
	else
		wamd_reply_error(c, 400, json_pack("[s]", wa_strerror(rc)));
}

static int start(struct wamd_conn *c, struct prticket *p, const char *a, const char *b, const uint8_t *bytes,
	size_t len)
{
	p->tk.c = c;
	c->ticket = &p->tk;
	int rc = wamd_tenant_profile(p->t, p->op, a, b, bytes, len, p);
	if (rc != 0)
		start_fail(c, p, rc);
	return rc;
}

static struct prticket *pr_new(struct wamd_conn *c, struct wamd_tenant *t, enum wamd_profile_op op)
{
	struct prticket *p = calloc(1, sizeof *p);
	if (!p)
		wamd_reply_error(c, 500, json_string("out of memory"));
	else
		p->t = t, p->op = op;
	return p;
}

/* the next privacy category still to set; false when none is left */
static bool privacy_next(struct wamd_conn *c, struct prticket *p)
{
	const char *k = NULL;
	json_t *v;
	void *tmp;
	json_object_foreach_safe(p->privacy, tmp, k, v)
	{
		char name[32], value[32];
		snprintf(name, sizeof name, "%s", k);
		snprintf(value, sizeof value, "%s", json_string_value(v));
		json_object_del(p->privacy, k);
		start(c, p, name, value, NULL, 0);
		return true;
	}
	return false;
}

static json_t *fetch_answer(struct prticket *p, json_t *r)
{
	json_t *biz = json_object_get(r, "business");
	json_t *site = json_array_get(json_object_get(biz, "website"), 0);
	json_t *st = json_object_get(r, "status");
	json_t *status;
	if (p->own) {
		status = json_string("open"); /* Evolution answers its connection state here */
	} else {
		/* Baileys' fetchStatus entry, as Evolution passes it on */
		char when[40] = "";
		time_t at = (time_t)json_integer_value(json_object_get(r, "statusSetAt"));
		struct tm tm;
		if (gmtime_r(&at, &tm))
			strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
		status = json_pack("{s:O,s:s}", "status", st ? st : json_null(), "setAt", when);
	}
	return json_pack("{s:s,s:o,s:O,s:O,s:o,s:b,s:O,s:O,s:O}", "wuid", p->jid, "name",
		p->name ? json_string(p->name) : json_null(), "numberExists",
		p->own ? json_true() : json_object_get(r, "exists"), "picture", json_object_get(r, "picture"), "status",
		status ? status : json_null(), "isBusiness", json_is_object(biz), "email",
		json_is_object(biz) ? json_object_get(biz, "email") : json_null(), "description",
		json_is_object(biz) ? json_object_get(biz, "description") : json_null(), "website",
		site ? site : json_null());
}

void wamd_profile_done(void *ticket, int err, int code, const char *json)
{
	struct prticket *p = ticket;
	struct wamd_conn *c = p->tk.c;
	if (c)
		c->ticket = NULL;
	if (!c) {
		pr_free(p);
		return;
	}
	if (err != 0) {
		char why[96];
		snprintf(why, sizeof why, "%s%s%d", wa_strerror(err), code ? ": server answered " : "", code);
		if (!code)
			snprintf(why, sizeof why, "%s", wa_strerror(err));
		wamd_reply_error(c, err == WA_EPROTO && code >= 400 && code < 500 ? 400 : 500, json_pack("[s]", why));
		pr_free(p);
		return;
	}
	json_t *r = json ? json_loads(json, JSON_DECODE_ANY, NULL) : NULL;
	switch (p->op) {
	case WAMD_PROFILE_FETCH:
		if (!p->own && !json_is_true(json_object_get(r, "exists"))) {
			/* Evolution refuses a number that is not on WhatsApp */
			char num[WA_STORE_JID_MAX];
			snprintf(num, sizeof num, "%.*s", (int)strcspn(p->jid, "@"), p->jid);
			wamd_reply_error(c, 400, json_pack("[{s:b,s:s,s:s}]", "exists", 0, "jid", p->jid, "number", num));
			break;
		}
		wamd_reply_json(c, 200, fetch_answer(p, r));
		break;
	case WAMD_PROFILE_BLOCK:
	case WAMD_PROFILE_UNBLOCK:
		wamd_reply_json(c, 201, json_pack("{s:s}", "block", "success"));
		break;
	case WAMD_PROFILE_BLOCKLIST:
		wamd_reply_json(c, 200, r ? json_incref(r) : json_array());
		break;
	case WAMD_PROFILE_PRIVACY: {
		json_t *o = json_object();
		for (size_t i = 0; i < N_PRIV; i++) {
			json_t *v = json_object_get(r, priv_names[i]);
			json_object_set_new(o, priv_names[i], v ? json_incref(v) : json_null());
		}
		wamd_reply_json(c, 200, o);
		break;
	}
	case WAMD_PROFILE_SET_PRIVACY:
		if (privacy_next(c, p)) {
			json_decref(r);
			return; /* p now belongs to the next iq */
		}
		wamd_reply_json(c, 201, json_pack("{s:s,s:O}", "update", "success", "data", p->asked));
		break;
	default:
		wamd_reply_json(c, 200, json_pack("{s:s}", "update", "success"));
		break;
	}
	json_decref(r);
	pr_free(p);
}

/* POST chat/fetchProfile {"number"?}: without a number, our own */
void wamd_h_fetch_profile(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	const char *number = jstr(body, "number");
	struct prticket *p = pr_new(c, t, WAMD_PROFILE_FETCH);
	if (!p)
		return;
	if (!number || !*number) {
		if (!t->own_jid) {
			pr_free(p);
			wamd_reply_error(c, 500, json_pack("[s]", "Connection Closed"));
			return;
		}
		snprintf(p->jid, sizeof p->jid, "%s", t->own_jid);
		p->own = true;
	} else if (wamd_normalize_number(number, p->jid, sizeof p->jid) != 0) {
		pr_free(p);
		bad_request(c, "invalid number");
		return;
	}
	p->own = p->own || (t->own_jid && strcmp(p->jid, t->own_jid) == 0);
	if (p->own) {
		p->name = t->profile_name ? strdup(t->profile_name) : NULL;
	} else {
		/* the name Evolution's number check gives: its contact row's */
		wa_store_contact_row *rows = NULL;
		size_t n = 0;
		if (wa_store_contact_list(c->d->store, t->id, p->jid, 0, 1, &rows, &n) == 0 && n == 1) {
			const char *nm = rows[0].full_name ? rows[0].full_name : rows[0].push_name;
			p->name = nm ? strdup(nm) : NULL;
		}
		wa_store_contact_rows_free(rows, n);
	}
	start(c, p, p->jid, NULL, NULL, 0);
}

/* POST chat/updateBlockStatus {"number", "status": "block"|"unblock"} */
void wamd_h_update_block_status(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	const char *number = jstr(body, "number"), *status = jstr(body, "status");
	if (!number || !status || (strcmp(status, "block") != 0 && strcmp(status, "unblock") != 0)) {
		bad_request(c, "instance requires property \"number\" and \"status\" (block or unblock)");
		return;
	}
	struct prticket *p = pr_new(c, t, strcmp(status, "block") == 0 ? WAMD_PROFILE_BLOCK : WAMD_PROFILE_UNBLOCK);
	if (!p)
		return;
	if (wamd_normalize_number(number, p->jid, sizeof p->jid) != 0 || strstr(p->jid, "@g.us")) {
		pr_free(p);
		bad_request(c, "invalid number");
		return;
	}
	start(c, p, p->jid, NULL, NULL, 0);
}

void wamd_h_fetch_blocklist(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	(void)body;
	struct prticket *p = pr_new(c, t, WAMD_PROFILE_BLOCKLIST);
	if (p)
		start(c, p, NULL, NULL, NULL, 0);
}

/* POST chat/updateProfileName {"name"} */
void wamd_h_update_profile_name(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	const char *name = jstr(body, "name");
	if (!name || !*name) {
		bad_request(c, "instance requires property \"name\"");
		return;
	}
	struct prticket *p = pr_new(c, t, WAMD_PROFILE_NAME);
	if (p)
		start(c, p, name, NULL, NULL, 0);
}

/* POST chat/updateProfileStatus {"status"} (the about text) */
void wamd_h_update_profile_status(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	const char *status = jstr(body, "status");
	if (!status) {
		bad_request(c, "instance requires property \"status\"");
		return;
	}
	struct prticket *p = pr_new(c, t, WAMD_PROFILE_ABOUT);
	if (p)
		start(c, p, status, NULL, NULL, 0);
}

/* POST chat/updateProfilePicture {"picture"}: a JPEG in base64 (a data: URL
 * prefix is accepted); wamd does not fetch URLs or convert images here */
void wamd_h_update_profile_picture(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	const char *pic = jstr(body, "picture");
	if (!pic || !*pic) {
		bad_request(c, "instance requires property \"picture\"");
		return;
	}
	const char *comma = strncmp(pic, "data:", 5) == 0 ? strchr(pic, ',') : NULL;
	if (comma)
		pic = comma + 1;
	uint8_t *jpeg = NULL;
	size_t len = 0;
	if (strncmp(pic, "http://", 7) == 0 || strncmp(pic, "https://", 8) == 0 ||
	    wa_b64_decode(pic, strlen(pic), &jpeg, &len) != 0 || len < 4 || jpeg[0] != 0xff || jpeg[1] != 0xd8) {
		free(jpeg);
		bad_request(c, "picture must be a JPEG image in base64");
		return;
	}
	struct prticket *p = pr_new(c, t, WAMD_PROFILE_PICTURE);
	if (p)
		start(c, p, NULL, NULL, jpeg, len);
	free(jpeg);
}

/* DELETE chat/removeProfilePicture */
void wamd_h_remove_profile_picture(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	(void)body;
	struct prticket *p = pr_new(c, t, WAMD_PROFILE_PICTURE);
	if (p)
		start(c, p, NULL, NULL, NULL, 0);
}

/* GET chat/fetchPrivacySettings */
void wamd_h_fetch_privacy(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	(void)body;
	struct prticket *p = pr_new(c, t, WAMD_PROFILE_PRIVACY);
	if (p)
		start(c, p, NULL, NULL, NULL, 0);
}

/* POST chat/updatePrivacySettings {readreceipts, profile, status, online,
 * last, groupadd} (calladd too): one privacy iq per category, in turn */
void wamd_h_update_privacy(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	json_t *todo = json_object(), *asked = json_object();
	static const char *const extra[] = {"calladd"};
	for (size_t i = 0; i < N_PRIV + 1; i++) {
		const char *k = i < N_PRIV ? priv_names[i] : extra[0];
		const char *v = jstr(body, k);
		if (v && *v && strlen(v) < 32) {
			json_object_set_new(todo, k, json_string(v));
			json_object_set_new(asked, k, json_string(v));
		}
	}
	if (json_object_size(todo) == 0) {
		json_decref(todo);
		json_decref(asked);
		bad_request(c, "instance requires at least one of readreceipts, profile, status, online, last, groupadd");
		return;
	}
	struct prticket *p = pr_new(c, t, WAMD_PROFILE_SET_PRIVACY);
	if (!p) {
		json_decref(todo);
		json_decref(asked);
		return;
	}
	p->privacy = todo;
	p->asked = asked;
	privacy_next(c, p);
}
