/* Evolution's group controller: create, findGroupInfos, fetchAllGroups,
 * participants, updateParticipant, updateGroupSubject,
 * updateGroupDescription, updateGroupPicture, leaveGroup, updateSetting, toggleEphemeral,
 * inviteCode, revokeInviteCode, acceptInviteCode, inviteInfo, sendInvite, and wamd's
 * joinRequests / updateJoinRequests (Evolution has no route for join
 * requests; the stanzas are Baileys' groupRequestParticipantsList and
 * groupRequestParticipantsUpdate). Each asks the session
 * (wamd_tenant_group) and answers when the server has; the group is
 * `?groupJid=` (or `groupJid` in the body), `@g.us` appended when missing.
 * Nothing is applied before the server has accepted it. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/codec.h"
#include "wamd_routes.h"

enum gop { G_CREATE = 1, G_FIND, G_FETCH_ALL, G_PARTICIPANTS, G_UPDATE_PART, G_SUBJECT, G_DESC, G_CREATE_DESC, G_LEAVE, G_SETTING, G_EPHEMERAL,
	G_INVITE, G_REVOKE, G_JOIN, G_INFO, G_REQUESTS, G_REQ_ACTION, G_SEND_INVITE, G_PICTURE };

struct gticket {
	struct wamd_ticket tk; /* first: the HTTP layer clears tk.c when the client goes */
	struct wamd_tenant *t;
	enum gop op;
	bool with_participants;
	char group[WA_STORE_JID_MAX];
	char code[64];      /* inviteInfo: the code asked, for the error */
	char *desc;         /* create: the description to set afterwards */
	json_t *created;    /* create: the metadata, answered after the description */
	json_t *asked;      /* updateParticipant: the JIDs asked, for the answer */
	json_t *numbers;    /* sendInvite: the recipients' JIDs */
	char *v4_code;      /* sendInvite: an add_request code (groupInviteMessage) or NULL */
	int64_t v4_expiration;
};

static void gt_free(struct gticket *g)
{
	free(g->desc);
	json_decref(g->created);
	json_decref(g->asked);
	json_decref(g->numbers);
	free(g->v4_code);
	free(g);
}

/* The groupJid query argument (or body field) as a group JID; false (and
 * Evolution's 400) when missing. */
static bool group_arg(struct wamd_conn *c, json_t *body, char out[WA_STORE_JID_MAX])
{
	char q[WA_STORE_JID_MAX + 16]; /* lws copies "name=value" */
	const char *v = lws_get_urlarg_by_name(c->wsi, "groupJid=", q, sizeof q);
	if (!v || !*v)
		v = jstr(body, "groupJid");
	if (!v || !*v) {
		wamd_reply_error(c, 400, json_pack("[s,s]", "The group id needs to be informed in the query",
			"ex: \"groupJid=120362@g.us\""));
		return false;
	}
	size_t l = strcspn(v, "@");
	if (l == 0 || l > 64 || (v[l] && strcmp(v + l, "@g.us") != 0)) {
		wamd_reply_error(c, 400, json_pack("[{s:s,s:s}]", "property", "groupJid", "message", "invalid group JID"));
		return false;
	}
	snprintf(out, WA_STORE_JID_MAX, "%.*s@g.us", (int)l, v);
	return true;
}

static const char *why(int err, int code)
{
	switch (code) {
	case 401:
		return "not-authorized";
	case 403:
		return "forbidden";
	case 410:
		return "gone";
	case 404:
		return "item-not-found";
	case 406:
		return "not-acceptable";
	case 409:
		return "conflict";
	default:
		return err == WA_ESTATE ? "Connection Closed" : wa_strerror(err);
	}
}

static void call(struct wamd_conn *c, struct gticket *g, const char *op, const char *text, const char *const *jids,
	size_t n, const char *fail_title, int fail_status)
{
	g->tk.c = c;
	c->ticket = &g->tk;
	int rc = wamd_tenant_group(g->t, op, g->group, text, jids, n, g);
	if (rc != 0) {
		c->ticket = NULL;
		gt_free(g);
		if (rc == WA_ESTATE)
			wamd_reply_error(c, 500, json_pack("[s]", "Connection Closed"));
		else
			wamd_reply_error(c, fail_status, json_pack("[s,s]", fail_title, wa_strerror(rc)));
	}
}

static struct gticket *gt_new(struct wamd_conn *c, struct wamd_tenant *t, enum gop op)
{
	struct gticket *g = calloc(1, sizeof *g);
	if (!g)
		wamd_reply_error(c, 500, json_string("out of memory"));
	else {
		g->t = t;
		g->op = op;
	}
	return g;
}

static json_t *participants_only(json_t *g)
{
	json_t *out = json_array();
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(g, "participants"), i, p) {
		json_t *e = json_deep_copy(p);
		json_object_set_new(e, "name", json_null());
		json_object_set_new(e, "imgUrl", json_null());
		json_array_append_new(out, e);
	}
	return out;
}

/* sendInvite once the server answered: Evolution's text (description, a
 * blank line, the link) to every number; with an add_request code, a
 * groupInviteMessage instead (answered by metadata, for the group's name).
 * Each send is a SEND_MESSAGE; the first refusal ends it. */
static void send_invite_done(struct wamd_conn *c, struct gticket *g, int err, int code, json_t *first)
{
	const char *v = json_string_value(first);
	const char *subject = json_string_value(json_object_get(first, "subject"));
	if (err || (g->v4_code ? !json_is_object(first) : !v)) {
		wamd_reply_error(c, 404, json_pack("[s,s]", "No send invite", why(err, code)));
		return;
	}
	char url[128];
	snprintf(url, sizeof url, "https://chat.whatsapp.com/%s", v ? v : "");
	char *text = NULL;
	if (!g->v4_code && asprintf(&text, "%s\n\n%s", g->desc ? g->desc : "", url) < 0)
		text = NULL;
	if (!g->v4_code && !text) {
		wamd_reply_error(c, 500, json_string("out of memory"));
		return;
	}
	size_t i;
	json_t *n;
	json_array_foreach(g->numbers, i, n) {
		const char *to = json_string_value(n);
		char *id = NULL;
		struct wamd_send_extra x = { 0 };
		int rc = g->v4_code ? wamd_tenant_send_group_invite(g->t, to, g->group, g->v4_code, g->v4_expiration,
			subject, g->desc, &id) : wamd_tenant_send_text_to(g->t, to, text, &x, &id);
		if (rc != 0 || !id) {
			free(id);
			free(text);
			wamd_reply_error(c, 400, json_pack("[s,s]", "No send invite", wa_strerror(rc ? rc : WA_ENOMEM)));
			return;
		}
		json_t *rec;
		if (g->v4_code) {
			/* as libwa encoded it (protobufjs' toJSON: the int64 as a string) */
			json_t *gi = json_pack("{s:s,s:s,s:o}", "groupJid", g->group, "inviteCode", g->v4_code,
				"inviteExpiration", json_sprintf("%" PRId64, g->v4_expiration));
			if (subject)
				json_object_set_new(gi, "groupName", json_string(subject));
			if (g->desc)
				json_object_set_new(gi, "caption", json_string(g->desc));
			rec = wamd_sent_record_msg(g->t, to, id, json_pack("{s:o}", "groupInviteMessage", gi),
				"groupInviteMessage", wamd_now_ms() / 1000);
		} else
			rec = wamd_sent_record(g->t, to, id, text, wamd_now_ms() / 1000);
		free(id);
		wamd_emit(g->t, "SEND_MESSAGE", rec);
	}
	free(text);
	if (g->v4_code)
		wamd_reply_json(c, 200, json_pack("{s:b,s:s}", "send", 1, "inviteCode", g->v4_code));
	else
		wamd_reply_json(c, 200, json_pack("{s:b,s:s}", "send", 1, "inviteUrl", url));
}

/* findGroupInfos once the picture's URL is known (null: none, hidden, or
 * the server did not say) */
static void find_picture_done(void *ctx, int err, const char *url)
{
	struct gticket *g = ctx;
	struct wamd_conn *c = g->tk.c;
	if (c) {
		c->ticket = NULL;
		json_object_set_new(g->created, "pictureUrl", err == 0 && url ? json_string(url) : json_null());
		wamd_reply_json(c, 200, json_incref(g->created));
	}
	gt_free(g);
}

void wamd_group_done(void *ticket, int err, int code, json_t *result)
{
	struct gticket *g = ticket;
	struct wamd_conn *c = g->tk.c;
	if (c)
		c->ticket = NULL;
	if (!c) {
		json_decref(result);
		gt_free(g);
		return;
	}
	json_t *first = json_array_get(result, 0);
	switch (g->op) {
	case G_CREATE:
		if (err || !first) {
			wamd_reply_error(c, 500, json_pack("[s,s]", "Error creating group", why(err, code)));
			break;
		}
		if (g->desc && *g->desc) {
			/* the description is a second request, answered with the metadata */
			g->created = json_incref(first);
			snprintf(g->group, sizeof g->group, "%s", json_string_value(json_object_get(first, "id")));
			g->op = G_CREATE_DESC;
			json_decref(result);
			call(c, g, "description", g->desc, NULL, 0, "Error creating group", 500);
			return;
		}
		wamd_reply_json(c, 201, json_incref(first));
		break;
	case G_CREATE_DESC:
		json_object_set_new(g->created, "desc", json_string(g->desc));
		wamd_reply_json(c, 201, json_incref(g->created));
		break;
	case G_FIND:
		if (err || !first) {
			wamd_reply_error(c, 404, json_pack("[s,s]", "Error fetching group", why(err, code)));
			break;
		}
		/* Evolution's findGroup asks for the group's picture too */
		g->created = json_incref(first);
		g->tk.c = c;
		c->ticket = &g->tk;
		if (wamd_picture_fetch(g->t, g->group, find_picture_done, g) == 0) {
			json_decref(result);
			return;
		}
		c->ticket = NULL;
		wamd_reply_json(c, 200, json_incref(first));
		break;
	case G_PARTICIPANTS:
		if (err || !first)
			wamd_reply_error(c, 404, json_pack("[s,s]", "Error fetching group", why(err, code)));
		else
			wamd_reply_json(c, 200, json_pack("{s:o}", "participants", participants_only(first)));
		break;
	case G_FETCH_ALL: {
		if (err) {
			wamd_reply_error(c, 400, json_pack("[s,s]", "Error fetching groups", why(err, code)));
			break;
		}
		size_t i;
		json_t *e;
		json_array_foreach(result, i, e) if (!g->with_participants) json_object_del(e, "participants");
		wamd_reply_json(c, 200, json_incref(result));
		break;
	}
	case G_UPDATE_PART: {
		if (err) {
			wamd_reply_error(c, 400, json_pack("[s,s]", "Error updating participants", why(err, code)));
			break;
		}
		json_t *arr = json_array();
		size_t i;
		json_t *e;
		json_array_foreach(result, i, e) {
			char st[16];
			snprintf(st, sizeof st, "%d", (int)json_integer_value(json_object_get(e, "status")));
			json_t *attrs = json_pack("{s:O}", "jid", json_object_get(e, "jid"));
			if (strcmp(st, "200") != 0)
				json_object_set_new(attrs, "error", json_string(st));
			json_t *content = json_pack("{s:s,s:o}", "tag", "participant", "attrs", attrs);
			/* a 403 for privacy: the raw node's <add_request code expiration/>,
			 * as Baileys hands it over, so an invite can be sent instead */
			json_t *ar = json_object_get(e, "addRequest");
			if (ar)
				json_object_set_new(content, "content", json_pack("[{s:s,s:{s:O,s:o}}]", "tag", "add_request",
					"attrs", "code", json_object_get(ar, "code"), "expiration",
					json_sprintf("%" JSON_INTEGER_FORMAT, json_integer_value(json_object_get(ar, "expiration")))));
			json_array_append_new(arr, json_pack("{s:s,s:O,s:o}", "status", st, "jid",
				json_object_get(e, "jid"), "content", content));
		}
		wamd_reply_json(c, 201, json_pack("{s:o}", "updateParticipants", arr));
		break;
	}
	case G_SUBJECT:
	case G_DESC:
	case G_PICTURE:
		if (err)
			wamd_reply_error(c, 400, json_pack("[s,s]", g->op == G_SUBJECT ? "Error updating group subject" :
				g->op == G_DESC ? "Error updating group description" : "Error update group picture",
				why(err, code)));
		else
			wamd_reply_json(c, 201, json_pack("{s:s}", "update", "success"));
		break;
	case G_LEAVE:
		if (err)
			wamd_reply_error(c, 400, json_pack("[s,s]", "Error leaving group", why(err, code)));
		else
			wamd_reply_json(c, 200, json_pack("{s:s,s:b}", "groupJid", g->group, "leave", 1));
		break;
	case G_SETTING:
	case G_EPHEMERAL:
		if (err)
			wamd_reply_error(c, 400, json_pack("[s,s]", "Error updating setting", why(err, code)));
		else if (g->op == G_SETTING) /* Evolution's {updateSetting: undefined} */
			wamd_reply_json(c, 201, json_object());
		else
			wamd_reply_json(c, 201, json_pack("{s:b}", "success", 1));
		break;
	case G_INVITE:
	case G_REVOKE: {
		const char *v = json_string_value(first);
		if (err || !v)
			wamd_reply_error(c, 404, json_pack("[s,s]", g->op == G_INVITE ? "No invite code" : "Revoke error",
				why(err, code)));
		else if (g->op == G_INVITE)
			wamd_reply_json(c, 200, json_pack("{s:o,s:s}", "inviteUrl",
				json_sprintf("https://chat.whatsapp.com/%s", v), "inviteCode", v));
		else
			wamd_reply_json(c, 201, json_pack("{s:b,s:s}", "revoked", 1, "inviteCode", v));
		break;
	}
	case G_JOIN:
		if (err || !json_string_value(first))
			wamd_reply_error(c, 404, json_pack("[s,s]", "Accept invite error", why(err, code)));
		else if (code == WA_GROUP_JOIN_REQUESTED) /* the admins must approve first */
			wamd_reply_json(c, 200, json_pack("{s:b,s:b,s:O}", "accepted", 0, "joinRequest", 1, "groupJid", first));
		else
			wamd_reply_json(c, 200, json_pack("{s:b,s:O}", "accepted", 1, "groupJid", first));
		break;
	case G_SEND_INVITE:
		send_invite_done(c, g, err, code, first);
		break;
	case G_REQUESTS:
		if (err)
			wamd_reply_error(c, 400, json_pack("[s,s]", "Error fetching join requests", why(err, code)));
		else /* Baileys' groupRequestParticipantsList: the request nodes' attributes */
			wamd_reply_json(c, 200, json_pack("{s:O}", "joinRequests", result));
		break;
	case G_REQ_ACTION: {
		if (err) {
			wamd_reply_error(c, 400, json_pack("[s,s]", "Error updating join requests", why(err, code)));
			break;
		}
		json_t *arr = json_array();
		size_t i;
		json_t *e;
		json_array_foreach(result, i, e) /* Baileys' groupRequestParticipantsUpdate: {status, jid} */
			json_array_append_new(arr, json_pack("{s:o,s:O}", "status",
				json_sprintf("%d", (int)json_integer_value(json_object_get(e, "status"))), "jid",
				json_object_get(e, "jid")));
		wamd_reply_json(c, 201, json_pack("{s:o}", "updateJoinRequests", arr));
		break;
	}
	case G_INFO:
		if (err || !first)
			wamd_reply_error(c, 404, json_pack("[s,s]", "No invite info", g->code));
		else
			wamd_reply_json(c, 200, json_incref(first));
		break;
	}
	json_decref(result);
	gt_free(g);
}

/* Digit strings (Evolution: at least 10 digits) or JIDs into a list. */
static const char **numbers(struct wamd_conn *c, json_t *arr, size_t *n_out, char (**buf)[WA_STORE_JID_MAX])
{
	size_t n = json_array_size(arr);
	if (!json_is_array(arr) || n == 0 || n > 1024) {
		bad_request(c, "participants must be a non-empty array of numbers");
		return NULL;
	}
	const char **list = calloc(n, sizeof *list);
	*buf = calloc(n, WA_STORE_JID_MAX);
	for (size_t i = 0; list && *buf && i < n; i++) {
		const char *v = json_string_value(json_array_get(arr, i));
		if (!v || wamd_normalize_number(v, (*buf)[i], WA_STORE_JID_MAX) != 0 ||
		    strstr((*buf)[i], "@g.us")) {
			free(list);
			free(*buf);
			*buf = NULL;
			wamd_reply_error(c, 400, json_pack("[{s:s,s:s}]", "property", "participants", "message",
				"each participant must be a phone number"));
			return NULL;
		}
		list[i] = (*buf)[i];
	}
	if (!list || !*buf) {
		free(list);
		free(*buf);
		wamd_reply_error(c, 500, json_string("out of memory"));
		return NULL;
	}
	*n_out = n;
	return list;
}

void wamd_h_group_create(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	const char *subject = jstr(body, "subject");
	if (!subject || !*subject) {
		bad_request(c, "instance requires property \"subject\"");
		return;
	}
	size_t n = 0;
	char(*buf)[WA_STORE_JID_MAX] = NULL;
	const char **list = numbers(c, json_object_get(body, "participants"), &n, &buf);
	if (!list)
		return;
	struct gticket *g = gt_new(c, t, G_CREATE);
	if (g && jstr(body, "description") && !(g->desc = strdup(jstr(body, "description")))) {
		gt_free(g);
		g = NULL;
		wamd_reply_error(c, 500, json_string("out of memory"));
	}
	if (g)
		call(c, g, "create", subject, list, n, "Error creating group", 500);
	free(list);
	free(buf);
}

void wamd_h_group_find(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	struct gticket *g;
	char gj[WA_STORE_JID_MAX];
	if (group_arg(c, body, gj) && (g = gt_new(c, t, G_FIND))) {
		snprintf(g->group, sizeof g->group, "%s", gj);
		call(c, g, "metadata", NULL, NULL, 0, "Error fetching group", 404);
	}
}

void wamd_h_group_participants(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	struct gticket *g;
	char gj[WA_STORE_JID_MAX];
	if (group_arg(c, body, gj) && (g = gt_new(c, t, G_PARTICIPANTS))) {
		snprintf(g->group, sizeof g->group, "%s", gj);
		call(c, g, "metadata", NULL, NULL, 0, "Error fetching group", 404);
	}
}

void wamd_h_group_fetch_all(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	char v[64]; /* lws copies "name=value" */
	(void)body;
	const char *gp = lws_get_urlarg_by_name(c->wsi, "getParticipants=", v, sizeof v);
	if (!gp || (strcmp(gp, "true") != 0 && strcmp(gp, "false") != 0)) {
		wamd_reply_error(c, 400, json_pack("[{s:s,s:s}]", "property", "getParticipants", "message",
			"getParticipants must be \"true\" or \"false\""));
		return;
	}
	struct gticket *g = gt_new(c, t, G_FETCH_ALL);
	if (g) {
		g->with_participants = strcmp(gp, "true") == 0;
		call(c, g, "participating", NULL, NULL, 0, "Error fetching groups", 400);
	}
}

void wamd_h_group_update_participant(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	char gj[WA_STORE_JID_MAX];
	if (!group_arg(c, body, gj))
		return;
	const char *action = jstr(body, "action");
	if (!action || (strcmp(action, "add") && strcmp(action, "remove") && strcmp(action, "promote") &&
			strcmp(action, "demote"))) {
		wamd_reply_error(c, 400, json_pack("[{s:s,s:s}]", "property", "action", "message",
			"action must be one of add, remove, promote, demote"));
		return;
	}
	size_t n = 0;
	char(*buf)[WA_STORE_JID_MAX] = NULL;
	const char **list = numbers(c, json_object_get(body, "participants"), &n, &buf);
	if (!list)
		return;
	struct gticket *g = gt_new(c, t, G_UPDATE_PART);
	if (g) {
		snprintf(g->group, sizeof g->group, "%s", gj);
		call(c, g, action, NULL, list, n, "Error updating participants", 400);
	}
	free(list);
	free(buf);
}

void wamd_h_group_subject(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	char gj[WA_STORE_JID_MAX];
	if (!group_arg(c, body, gj))
		return;
	const char *s = jstr(body, "subject");
	if (!s || !*s) {
		bad_request(c, "instance requires property \"subject\"");
		return;
	}
	struct gticket *g = gt_new(c, t, G_SUBJECT);
	if (g) {
		snprintf(g->group, sizeof g->group, "%s", gj);
		call(c, g, "subject", s, NULL, 0, "Error updating group subject", 400);
	}
}

void wamd_h_group_description(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	char gj[WA_STORE_JID_MAX];
	if (!group_arg(c, body, gj))
		return;
	const char *s = jstr(body, "description");
	if (!s) {
		bad_request(c, "instance requires property \"description\"");
		return;
	}
	struct gticket *g = gt_new(c, t, G_DESC);
	if (g) {
		snprintf(g->group, sizeof g->group, "%s", gj);
		call(c, g, "description", s, NULL, 0, "Error updating group description", 400);
	}
}

/* Evolution's {image}: here the JPEG as base64 (a data: URL's prefix
 * allowed), sent as given; Evolution also fetches a URL and converts any
 * image to a 640x640 JPEG, which wamd does not. */
void wamd_h_group_picture(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	char gj[WA_STORE_JID_MAX];
	if (!group_arg(c, body, gj))
		return;
	const char *img = jstr(body, "image");
	if (!img || !*img) {
		bad_request(c, "instance requires property \"image\"");
		return;
	}
	const char *comma = strncmp(img, "data:", 5) == 0 ? strstr(img, ";base64,") : NULL;
	if (comma)
		img = comma + 8;
	uint8_t *jpeg = NULL;
	size_t len = 0;
	if (wa_b64_decode(img, strlen(img), &jpeg, &len) != 0 || len < 4 || len > WA_GROUP_PICTURE_MAX ||
	    jpeg[0] != 0xff || jpeg[1] != 0xd8 || jpeg[2] != 0xff) {
		free(jpeg);
		bad_request(c, "image must be a JPEG, base64");
		return;
	}
	struct gticket *g = gt_new(c, t, G_PICTURE);
	if (!g) {
		free(jpeg);
		return;
	}
	snprintf(g->group, sizeof g->group, "%s", gj);
	g->tk.c = c;
	c->ticket = &g->tk;
	int rc = wamd_tenant_group_picture(t, gj, jpeg, len, g);
	free(jpeg);
	if (rc != 0) {
		c->ticket = NULL;
		gt_free(g);
		if (rc == WA_ESTATE)
			wamd_reply_error(c, 500, json_pack("[s]", "Connection Closed"));
		else
			wamd_reply_error(c, 400, json_pack("[s,s]", "Error update group picture", wa_strerror(rc)));
	}
}

void wamd_h_group_leave(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	struct gticket *g;
	char gj[WA_STORE_JID_MAX];
	if (group_arg(c, body, gj) && (g = gt_new(c, t, G_LEAVE))) {
		snprintf(g->group, sizeof g->group, "%s", gj);
		call(c, g, "leave", NULL, NULL, 0, "Error leaving group", 400);
	}
}

void wamd_h_group_setting(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	char gj[WA_STORE_JID_MAX];
	if (!group_arg(c, body, gj))
		return;
	const char *a = jstr(body, "action");
	/* Evolution's four, and wamd's member-add mode and join approval */
	if (!a || (strcmp(a, "announcement") && strcmp(a, "not_announcement") && strcmp(a, "locked") &&
		      strcmp(a, "unlocked") && strcmp(a, "admin_add") && strcmp(a, "all_member_add") &&
		      strcmp(a, "approval_on") && strcmp(a, "approval_off"))) {
		wamd_reply_error(c, 400, json_pack("[{s:s,s:s}]", "property", "action", "message",
			"action must be one of announcement, not_announcement, locked, unlocked, admin_add, "
			"all_member_add, approval_on, approval_off"));
		return;
	}
	struct gticket *g = gt_new(c, t, G_SETTING);
	if (g) {
		snprintf(g->group, sizeof g->group, "%s", gj);
		call(c, g, "setting", a, NULL, 0, "Error updating setting", 400);
	}
}

void wamd_h_group_ephemeral(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	char gj[WA_STORE_JID_MAX], e[16];
	if (!group_arg(c, body, gj))
		return;
	json_t *x = json_object_get(body, "expiration");
	json_int_t v = json_is_integer(x) ? json_integer_value(x) : -1;
	/* the timers WhatsApp offers (Evolution's enum) */
	if (v != 0 && v != 86400 && v != 604800 && v != 7776000) {
		wamd_reply_error(c, 400, json_pack("[{s:s,s:s}]", "property", "expiration", "message",
			"expiration must be one of 0, 86400, 604800, 7776000"));
		return;
	}
	snprintf(e, sizeof e, "%d", (int)v);
	struct gticket *g = gt_new(c, t, G_EPHEMERAL);
	if (g) {
		snprintf(g->group, sizeof g->group, "%s", gj);
		call(c, g, "ephemeral", e, NULL, 0, "Error updating setting", 400);
	}
}

static void invite(struct wamd_conn *c, struct wamd_tenant *t, json_t *body, enum gop op)
{
	struct gticket *g;
	char gj[WA_STORE_JID_MAX];
	if (group_arg(c, body, gj) && (g = gt_new(c, t, op))) {
		snprintf(g->group, sizeof g->group, "%s", gj);
		call(c, g, op == G_INVITE ? "invite_code" : "revoke_invite", NULL, NULL, 0,
			op == G_INVITE ? "No invite code" : "Revoke error", 404);
	}
}

void wamd_h_group_invite_code(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	invite(c, t, body, G_INVITE);
}

void wamd_h_group_revoke_invite(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	invite(c, t, body, G_REVOKE);
}

/* ?inviteCode= (a code or a chat.whatsapp.com link), as libwa accepts it. */
static void by_code(struct wamd_conn *c, struct wamd_tenant *t, json_t *body, enum gop op)
{
	char q[160]; /* lws copies "name=value" */
	const char *v = lws_get_urlarg_by_name(c->wsi, "inviteCode=", q, sizeof q);
	if (!v || !*v)
		v = jstr(body, "inviteCode");
	if (!v || !*v || strlen(v) >= 128) {
		wamd_reply_error(c, 400, json_pack("[{s:s,s:s}]", "property", "inviteCode", "message",
			"inviteCode is required"));
		return;
	}
	struct gticket *g = gt_new(c, t, op);
	if (!g)
		return;
	snprintf(g->code, sizeof g->code, "%.*s", (int)(sizeof g->code - 1), v);
	/* libwa refuses a malformed code before asking: answered as the server's 406 */
	g->tk.c = c;
	c->ticket = &g->tk;
	int rc = wamd_tenant_group(t, op == G_JOIN ? "join" : "invite_info", NULL, v, NULL, 0, g);
	if (rc != 0) {
		c->ticket = NULL;
		gt_free(g);
		if (rc == WA_ESTATE)
			wamd_reply_error(c, 500, json_pack("[s]", "Connection Closed"));
		else if (op == G_JOIN)
			wamd_reply_error(c, 404, json_pack("[s,s]", "Accept invite error", "not-acceptable"));
		else
			wamd_reply_error(c, 404, json_pack("[s,s]", "No invite info", v));
	}
}

void wamd_h_group_accept_invite(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	by_code(c, t, body, G_JOIN);
}

void wamd_h_group_invite_info(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	by_code(c, t, body, G_INFO);
}

void wamd_h_group_join_requests(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	struct gticket *g;
	char gj[WA_STORE_JID_MAX];
	if (group_arg(c, body, gj) && (g = gt_new(c, t, G_REQUESTS))) {
		snprintf(g->group, sizeof g->group, "%s", gj);
		call(c, g, "requests", NULL, NULL, 0, "Error fetching join requests", 400);
	}
}

/* {action: approve|reject, participants: [numbers]} */
void wamd_h_group_update_join_requests(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	char gj[WA_STORE_JID_MAX];
	if (!group_arg(c, body, gj))
		return;
	const char *action = jstr(body, "action");
	if (!action || (strcmp(action, "approve") && strcmp(action, "reject"))) {
		wamd_reply_error(c, 400, json_pack("[{s:s,s:s}]", "property", "action", "message",
			"action must be one of approve, reject"));
		return;
	}
	size_t n = 0;
	char(*buf)[WA_STORE_JID_MAX] = NULL;
	const char **list = numbers(c, json_object_get(body, "participants"), &n, &buf);
	if (!list)
		return;
	struct gticket *g = gt_new(c, t, G_REQ_ACTION);
	if (g) {
		snprintf(g->group, sizeof g->group, "%s", gj);
		call(c, g, action, NULL, list, n, "Error updating join requests", 400);
	}
	free(list);
	free(buf);
}

/* Evolution's {groupJid, description, numbers}; wamd also takes an
 * add_request's inviteCode and inviteExpiration (an add refused for
 * privacy) to send WhatsApp's invite message instead of the link. */
void wamd_h_group_send_invite(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	char gj[WA_STORE_JID_MAX];
	if (!group_arg(c, body, gj))
		return;
	json_t *d = json_object_get(body, "description");
	if (d && !json_is_string(d)) {
		bad_request(c, "description must be a string");
		return;
	}
	const char *v4 = jstr(body, "inviteCode");
	json_t *exp = json_object_get(body, "inviteExpiration");
	json_int_t ev = json_is_integer(exp) ? json_integer_value(exp) :
		json_is_string(exp) ? strtoll(json_string_value(exp), NULL, 10) : -1;
	if (v4 && (!*v4 || strlen(v4) >= 64 || ev <= 0)) {
		wamd_reply_error(c, 400, json_pack("[{s:s,s:s}]", "property", "inviteExpiration", "message",
			"inviteCode needs inviteExpiration (unix seconds)"));
		return;
	}
	size_t n = 0;
	char(*buf)[WA_STORE_JID_MAX] = NULL;
	const char **list = numbers(c, json_object_get(body, "numbers"), &n, &buf);
	if (!list)
		return;
	struct gticket *g = gt_new(c, t, G_SEND_INVITE);
	if (g) {
		snprintf(g->group, sizeof g->group, "%s", gj);
		g->numbers = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(g->numbers, json_string(list[i]));
		g->desc = d ? strdup(json_string_value(d)) : NULL;
		g->v4_code = v4 ? strdup(v4) : NULL;
		g->v4_expiration = ev;
		if ((d && !g->desc) || (v4 && !g->v4_code)) {
			gt_free(g);
			wamd_reply_error(c, 500, json_string("out of memory"));
		} else
			call(c, g, v4 ? "metadata" : "invite_code", NULL, NULL, 0, "No send invite", 404);
	}
	free(list);
	free(buf);
}
