/* The one route table (Evolution API v2 paths, by controller; see
 * docs/wamd.md), the dispatch of a request to its handler with the apikey
 * and scope checks, the 404 with the closest route, and GET /docs, which
 * is generated from the table. Where the Evolution docs and code disagree
 * both forms are accepted (restart via POST or PUT, webhook/set nested,
 * flat or snake_case, sendPresence fields at the top or under options).
 * Additive: scoped tokens (tokenScopes on create, POST /wamd/token/
 * {instance}), webhook secrets, pairing code. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wamd_cluster.h"
#include "wamd_routes.h"

struct route {
	int methods;
	const char *prefix;   /* "/instance/connect" */
	bool has_instance;
	unsigned scope;       /* needed from an instance token; 0 = admin only; or SCOPE_PUBLIC, SCOPE_METRICS */
	handler_fn fn;
};

/* no key at all (health probes, the API description) */
#define SCOPE_PUBLIC 0x100u
/* the admin key or the metrics_token */
#define SCOPE_METRICS 0x200u

static void wamd_h_docs(struct wamd_conn *c, struct wamd_tenant *unused, json_t *body);
static void wamd_h_openapi(struct wamd_conn *c, struct wamd_tenant *unused, json_t *body);
static const char *method_name(int m);

static const struct route routes[] = {
	{ M_POST, "/verify-creds", false, 0, wamd_h_verify },
	{ M_POST, "/instance/create", false, 0, wamd_h_create },
	{ M_GET, "/instance/fetchInstances", false, WAMD_SCOPE_READ, wamd_h_fetch },
	{ M_GET, "/instance/connect", true, WAMD_SCOPE_MANAGE, wamd_h_connect },
	{ M_GET, "/instance/connectionState", true, WAMD_SCOPE_READ, wamd_h_state },
	/* older Evolution (v1) and CodeChat integrations: same answer as connect */
	{ M_GET, "/instance/qrcode", true, WAMD_SCOPE_MANAGE, wamd_h_connect },
	{ M_POST | M_PUT, "/instance/restart", true, WAMD_SCOPE_MANAGE, wamd_h_restart },
	{ M_DELETE, "/instance/logout", true, WAMD_SCOPE_MANAGE, wamd_h_logout },
	{ M_DELETE, "/instance/delete", true, WAMD_SCOPE_MANAGE, wamd_h_delete },
	{ M_POST, "/instance/setPresence", true, WAMD_SCOPE_WRITE, wamd_h_set_presence },
	{ M_POST, "/message/sendText", true, WAMD_SCOPE_WRITE, wamd_h_send_text },
	{ M_POST, "/message/sendLocation", true, WAMD_SCOPE_WRITE, wamd_h_send_location },
	{ M_POST, "/message/sendContact", true, WAMD_SCOPE_WRITE, wamd_h_send_contact },
	{ M_POST, "/message/sendPoll", true, WAMD_SCOPE_WRITE, wamd_h_send_poll },
	{ M_POST, "/message/sendReaction", true, WAMD_SCOPE_WRITE, wamd_h_send_reaction },
	{ M_POST, "/message/sendList", true, WAMD_SCOPE_WRITE, wamd_h_send_unavailable },
	{ M_POST, "/message/sendButtons", true, WAMD_SCOPE_WRITE, wamd_h_send_unavailable },
	{ M_POST, "/chat/updateMessage", true, WAMD_SCOPE_WRITE, wamd_h_update_message },
	{ M_DELETE, "/chat/deleteMessageForEveryone", true, WAMD_SCOPE_WRITE, wamd_h_delete_for_everyone },
	{ M_POST, "/message/sendMedia", true, WAMD_SCOPE_WRITE, wamd_h_send_media },
	{ M_POST, "/message/sendWhatsAppAudio", true, WAMD_SCOPE_WRITE, wamd_h_send_audio },
	{ M_POST, "/message/sendSticker", true, WAMD_SCOPE_WRITE, wamd_h_send_sticker },
	{ M_POST, "/chat/getBase64FromMediaMessage", true, WAMD_SCOPE_READ, wamd_h_get_base64 },
	{ M_POST, "/chat/whatsappNumbers", true, WAMD_SCOPE_READ, wamd_h_numbers },
	{ M_POST, "/chat/markMessageAsRead", true, WAMD_SCOPE_WRITE, wamd_h_mark_read },
	{ M_POST, "/chat/findMessages", true, WAMD_SCOPE_READ, wamd_h_find_messages },
	{ M_POST, "/chat/findChats", true, WAMD_SCOPE_READ, wamd_h_find_chats },
	{ M_POST, "/chat/findContacts", true, WAMD_SCOPE_READ, wamd_h_find_contacts },
	{ M_POST, "/chat/sendPresence", true, WAMD_SCOPE_WRITE, wamd_h_send_presence },
	{ M_POST, "/chat/archiveChat", true, WAMD_SCOPE_WRITE, wamd_h_archive_chat },
	{ M_POST, "/chat/markChatUnread", true, WAMD_SCOPE_WRITE, wamd_h_mark_chat_unread },
	{ M_POST, "/chat/fetchProfilePictureUrl", true, WAMD_SCOPE_READ, wamd_h_fetch_profile_picture },
	/* profile, blocklist, privacy (wamd_routes_profile_set.c) */
	{ M_POST, "/chat/fetchProfile", true, WAMD_SCOPE_READ, wamd_h_fetch_profile },
	{ M_POST, "/chat/updateBlockStatus", true, WAMD_SCOPE_WRITE, wamd_h_update_block_status },
	{ M_GET, "/wamd/fetchBlocklist", true, WAMD_SCOPE_READ, wamd_h_fetch_blocklist },
	{ M_POST, "/chat/updateProfileName", true, WAMD_SCOPE_WRITE, wamd_h_update_profile_name },
	{ M_POST, "/chat/updateProfileStatus", true, WAMD_SCOPE_WRITE, wamd_h_update_profile_status },
	{ M_POST, "/chat/updateProfilePicture", true, WAMD_SCOPE_WRITE, wamd_h_update_profile_picture },
	{ M_DELETE, "/chat/removeProfilePicture", true, WAMD_SCOPE_WRITE, wamd_h_remove_profile_picture },
	{ M_GET, "/chat/fetchPrivacySettings", true, WAMD_SCOPE_READ, wamd_h_fetch_privacy },
	{ M_POST, "/chat/updatePrivacySettings", true, WAMD_SCOPE_WRITE, wamd_h_update_privacy },
	{ M_POST, "/wamd/fetchHistory", true, WAMD_SCOPE_WRITE, wamd_h_fetch_history },
	{ M_GET, "/label/findLabels", true, WAMD_SCOPE_READ, wamd_h_find_labels },
	{ M_POST, "/label/handleLabel", true, WAMD_SCOPE_WRITE, wamd_h_handle_label },
	{ M_POST, "/wamd/sendPollVote", true, WAMD_SCOPE_WRITE, wamd_h_send_poll_vote },
	{ M_POST, "/wamd/chatModify", true, WAMD_SCOPE_WRITE, wamd_h_chat_modify },
	{ M_POST, "/group/create", true, WAMD_SCOPE_WRITE, wamd_h_group_create },
	{ M_GET, "/group/findGroupInfos", true, WAMD_SCOPE_READ, wamd_h_group_find },
	{ M_GET, "/group/fetchAllGroups", true, WAMD_SCOPE_READ, wamd_h_group_fetch_all },
	{ M_GET, "/group/participants", true, WAMD_SCOPE_READ, wamd_h_group_participants },
	{ M_POST, "/group/updateParticipant", true, WAMD_SCOPE_WRITE, wamd_h_group_update_participant },
	{ M_POST, "/group/updateGroupSubject", true, WAMD_SCOPE_WRITE, wamd_h_group_subject },
	{ M_POST, "/group/updateGroupDescription", true, WAMD_SCOPE_WRITE, wamd_h_group_description },
	{ M_POST, "/group/updateGroupPicture", true, WAMD_SCOPE_WRITE, wamd_h_group_picture },
	{ M_DELETE, "/group/leaveGroup", true, WAMD_SCOPE_WRITE, wamd_h_group_leave },
	{ M_POST, "/group/updateSetting", true, WAMD_SCOPE_WRITE, wamd_h_group_setting },
	{ M_POST, "/group/toggleEphemeral", true, WAMD_SCOPE_WRITE, wamd_h_group_ephemeral },
	{ M_GET, "/group/inviteCode", true, WAMD_SCOPE_READ, wamd_h_group_invite_code },
	{ M_POST, "/group/revokeInviteCode", true, WAMD_SCOPE_WRITE, wamd_h_group_revoke_invite },
	{ M_GET, "/group/acceptInviteCode", true, WAMD_SCOPE_WRITE, wamd_h_group_accept_invite },
	{ M_GET, "/group/inviteInfo", true, WAMD_SCOPE_READ, wamd_h_group_invite_info },
	{ M_POST, "/group/sendInvite", true, WAMD_SCOPE_WRITE, wamd_h_group_send_invite },
	{ M_GET, "/group/joinRequests", true, WAMD_SCOPE_READ, wamd_h_group_join_requests },
	{ M_POST, "/group/updateJoinRequests", true, WAMD_SCOPE_WRITE, wamd_h_group_update_join_requests },
	{ M_POST, "/webhook/set", true, WAMD_SCOPE_MANAGE, wamd_h_webhook_set },
	{ M_POST, "/proxy/set", true, WAMD_SCOPE_MANAGE, wamd_h_proxy_set },
	{ M_GET, "/proxy/find", true, WAMD_SCOPE_MANAGE, wamd_h_proxy_find },
	{ M_GET, "/webhook/find", true, WAMD_SCOPE_MANAGE, wamd_h_webhook_find },
	{ M_POST, "/rabbitmq/set", true, WAMD_SCOPE_MANAGE, wamd_h_rabbitmq_set },
	{ M_GET, "/rabbitmq/find", true, WAMD_SCOPE_MANAGE, wamd_h_rabbitmq_find },
	{ M_POST, "/settings/set", true, WAMD_SCOPE_MANAGE, wamd_h_settings_set },
	{ M_GET, "/settings/find", true, WAMD_SCOPE_READ, wamd_h_settings_find },
	{ M_POST | M_DELETE, "/wamd/token", true, WAMD_SCOPE_MANAGE, wamd_h_token },
	{ M_GET, "/wamd/media", true, WAMD_SCOPE_READ, wamd_h_media_stream },
	{ M_POST, "/wamd/mediaRetry", true, WAMD_SCOPE_WRITE, wamd_h_media_retry },
	{ M_GET, "/wamd/metrics", false, 0, wamd_h_metrics },
	{ M_POST, "/wamd/metrics/reset", false, 0, wamd_h_metrics_reset },
	/* send pacing (wamd_routes_pace.c) */
	{ M_GET | M_POST, "/wamd/pace", true, WAMD_SCOPE_MANAGE, wamd_h_pace },
	{ M_GET, "/wamd/paceQueue", true, WAMD_SCOPE_READ, wamd_h_pace_queue },
	{ M_DELETE, "/wamd/paceQueue", true, WAMD_SCOPE_WRITE, wamd_h_pace_cancel },
	{ M_POST, "/wamd/bulk", true, WAMD_SCOPE_WRITE, wamd_h_bulk },
	{ M_GET, "/wamd/bulk", true, WAMD_SCOPE_READ, wamd_h_bulk },
	{ M_POST, "/wamd/bulkAction", true, WAMD_SCOPE_WRITE, wamd_h_bulk_action },
	{ M_GET, "/wamd/outbox", true, WAMD_SCOPE_READ, wamd_h_outbox }, /* wamd_routes_outbox.c */
	{ M_POST, "/wamd/testClock", false, 0, wamd_h_test_clock },
	/* operations (wamd_prom.c, wamd_openapi.c) */
	{ M_GET, "/metrics", false, SCOPE_METRICS, wamd_h_prom },
	{ M_GET, "/health/live", false, SCOPE_PUBLIC, wamd_h_live },
	{ M_GET, "/health/ready", false, SCOPE_PUBLIC, wamd_h_ready },
	{ M_GET, "/openapi.json", false, SCOPE_PUBLIC, wamd_h_openapi },
	{ M_GET, "/openapi", false, SCOPE_PUBLIC, wamd_h_openapi_page },
	/* the operator console (wamd_routes_console.c) */
	{ M_GET, "/console", false, SCOPE_PUBLIC, wamd_h_console },
	{ M_GET, "/console/app.js", false, SCOPE_PUBLIC, wamd_h_console_js },
	{ M_GET, "/console/app.css", false, SCOPE_PUBLIC, wamd_h_console_css },
	{ M_GET, "/wamd/status", false, 0, wamd_h_status },
	/* cluster mode (wamd_cluster.c) */
	{ M_GET, "/wamd/cluster", false, 0, wamd_h_cluster },
	{ M_POST, "/wamd/cluster/drain", false, 0, wamd_h_cluster },
	{ M_POST, "/wamd/cluster/undrain", false, 0, wamd_h_cluster },
	{ M_GET, "/wamd/whoami", false, WAMD_SCOPE_READ, wamd_h_whoami },
	{ M_GET, "/wamd/webhookQueue", true, WAMD_SCOPE_MANAGE, wamd_h_webhook_queue },
	{ M_POST, "/wamd/webhookReplay", true, WAMD_SCOPE_MANAGE, wamd_h_webhook_replay },
};

static const char *method_list(int m, char *out, size_t cap)
{
	static const int ms[] = { M_GET, M_POST, M_PUT, M_DELETE, M_PATCH };
	out[0] = '\0';
	for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++)
		if (m & ms[i])
			snprintf(out + strlen(out), cap - strlen(out), "%s%s", out[0] ? "|" : "", method_name(ms[i]));
	return out;
}

static const char *scope_name(unsigned scope)
{
	return scope == WAMD_SCOPE_READ ? "read" : scope == WAMD_SCOPE_WRITE ? "write" : scope == WAMD_SCOPE_MANAGE ? "manage"
	       : scope == SCOPE_PUBLIC ? "none" : scope == SCOPE_METRICS ? "metrics" : "admin";
}

/* Every route this build serves, for the OpenAPI document (handed to it
 * as a function, so that wamd_openapi.c never calls back up here). */
static void routes_each(wamd_route_visit visit, void *arg)
{
	visit(arg, &(struct wamd_route_info){ M_GET, "/", "none" });
	visit(arg, &(struct wamd_route_info){ M_GET, "/docs", "none" });
	for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		char path[128];
		snprintf(path, sizeof path, "%s%s", routes[i].prefix, routes[i].has_instance ? "/{instance}" : "");
		visit(arg, &(struct wamd_route_info){ routes[i].methods, path, scope_name(routes[i].scope) });
	}
	visit(arg, &(struct wamd_route_info){ M_GET, "/ws/events", "read" });
}

/* GET /openapi.json: OpenAPI 3.1, the route table with each route's
 * description (daemon/wamd_openapi.json); no key, as /docs. */
static void wamd_h_openapi(struct wamd_conn *c, struct wamd_tenant *unused, json_t *body)
{
	(void)unused;
	(void)body;
	json_t *doc = wamd_openapi_doc(routes_each);
	if (!doc)
		wamd_reply_error(c, 500, json_pack("[s]", "the API description is not available"));
	else
		wamd_reply_json(c, 200, doc);
}

/* GET /docs: the route table itself (what this build really serves), as
 * JSON; GET /openapi.json describes the same routes in OpenAPI 3.1. */
static void wamd_h_docs(struct wamd_conn *c, struct wamd_tenant *unused, json_t *body)
{
	(void)unused;
	(void)body;
	json_t *arr = json_array();
	json_array_append_new(arr, json_pack("{s:s, s:s, s:s}", "method", "GET", "path", "/", "scope", "none"));
	json_array_append_new(arr, json_pack("{s:s, s:s, s:s}", "method", "GET", "path", "/docs", "scope", "none"));
	for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		char ml[40], path[128];
		snprintf(path, sizeof path, "%s%s", routes[i].prefix, routes[i].has_instance ? "/{instance}" : "");
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s}", "method", method_list(routes[i].methods, ml, sizeof ml),
						     "path", path, "scope", scope_name(routes[i].scope)));
	}
	json_array_append_new(arr, json_pack("{s:s, s:s, s:s}", "method", "GET (WebSocket upgrade)", "path",
					     "/ws/events[?instance={instance}]", "scope", "read"));
	wamd_reply_json(c, 200, json_pack("{s:s, s:s, s:s, s:o}", "title", "wamd local API (Evolution API v2 compatible)",
					  "version", WAMD_EVOLUTION_VERSION "-compatible (wamd " WA_VERSION_STRING ")",
					  "description", "Routes, bodies and answers are Evolution API v2's; see docs/wamd.md. "
					  "Send the key in the apikey header.",
					  "routes", arr));
}

/* Edit distance of two short strings (a route typo), capped work. */
static size_t edit_distance(const char *a, size_t la, const char *b, size_t lb)
{
	size_t row[130];
	if (la > 128 || lb > 128)
		return (size_t)-1;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t prev = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cur = row[j];
			size_t best = prev + (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = cur;
		}
	}
	return row[lb];
}

/* The route closest to an unknown path ("GET /instance/connect/{instance}"). */
static void closest_route(const char *path, char *out, size_t cap)
{
	size_t best = (size_t)-1;
	out[0] = '\0';
	for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		size_t pl = strlen(path), rl = strlen(routes[i].prefix);
		/* compare with the instance segment cut off when the route has one */
		if (routes[i].has_instance) {
			const char *slash = strrchr(path, '/');
			if (slash && slash != path)
				pl = (size_t)(slash - path);
		}
		size_t dist = edit_distance(path, pl, routes[i].prefix, rl);
		if (dist < best) {
			best = dist;
			char ml[40];
			snprintf(out, cap, "%s %s%s", method_list(routes[i].methods, ml, sizeof ml), routes[i].prefix,
				 routes[i].has_instance ? "/{instance}" : "");
		}
	}
}

static const char *method_name(int m)
{
	switch (m) {
	case M_GET: return "GET";
	case M_POST: return "POST";
	case M_PUT: return "PUT";
	case M_DELETE: return "DELETE";
	case M_PATCH: return "PATCH";
	default: return "OPTIONS";
	}
}

/* Percent-decodes an instance name from the path. */
static bool decode_name(const char *s, char *out, size_t outlen)
{
	size_t k = 0;
	for (; *s; s++) {
		if (k + 1 >= outlen)
			return false;
		if (*s == '%' && isxdigit((unsigned char)s[1]) && isxdigit((unsigned char)s[2])) {
			char hx[3] = { s[1], s[2], 0 };
			out[k++] = (char)strtol(hx, NULL, 16);
			s += 2;
		} else if (*s == '/')
			return false;
		else
			out[k++] = *s;
	}
	out[k] = '\0';
	return k > 0;
}

/* Cluster mode: the sends any node writes for the owner of an instance
 * another node drives (the route runs with t peeked), and the reads it
 * answers from the database; the other routes answer 409 naming the
 * owner. */
static bool relayed(const struct route *r)
{
	return r->fn == wamd_h_send_text || r->fn == wamd_h_send_location || r->fn == wamd_h_send_contact ||
	       r->fn == wamd_h_send_poll || r->fn == wamd_h_send_reaction || r->fn == wamd_h_send_media ||
	       r->fn == wamd_h_send_audio || r->fn == wamd_h_send_sticker;
}

/* a bulk job's body (up to 32 MiB) is parsed off the loop by its route */
static bool raw_body(const struct route *r, int method)
{
	return r->fn == wamd_h_bulk && method == M_POST;
}

static bool db_read(const struct route *r)
{
	return r->fn == wamd_h_state || r->fn == wamd_h_find_messages || r->fn == wamd_h_find_chats ||
	       r->fn == wamd_h_find_contacts;
}

void wamd_api_dispatch(struct wamd_conn *c)
{
	struct wamd *d = c->d;
	const char *path = c->path;
	c->t_dispatch_ns = wamd_mono_ns(); /* "API accepted" of the send latency */
	if (!strcmp(path, "/") || !strcmp(path, "")) {
		wamd_h_root(c, NULL, NULL);
		return;
	}
	if ((!strcmp(path, "/docs") || !strcmp(path, "/docs/")) && c->method == M_GET) {
		wamd_h_docs(c, NULL, NULL); /* no key, as Evolution's Swagger page */
		return;
	}
	const struct route *r = NULL;
	const char *rest = NULL;
	for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		size_t pl = strlen(routes[i].prefix);
		if (strncmp(path, routes[i].prefix, pl) != 0)
			continue;
		if (routes[i].has_instance ? path[pl] != '/' : (path[pl] != '\0' && strcmp(path + pl, "/") != 0))
			continue;
		r = &routes[i];
		rest = routes[i].has_instance ? path + pl + 1 : NULL;
		if (routes[i].methods & c->method)
			break; /* else a later entry of the same path may take this method */
	}
	if (!r || !(r->methods & c->method)) {
		char m[WAMD_MAX_URI + 32], near[200], hint[256];
		snprintf(m, sizeof m, "Cannot %s %s", method_name(c->method), path);
		/* Evolution's envelope; the second line names the closest route */
		closest_route(path, near, sizeof near);
		snprintf(hint, sizeof hint, "The closest route is %s (all routes: GET /docs)", near);
		wamd_reply_error(c, 404, json_pack("[s, s]", m, hint));
		return;
	}
	bool admin = c->trusted || wamd_auth_is_admin(d, c->apikey);
	struct wamd_tenant *t = NULL;
	struct wamd_tenant *peeked = NULL; /* cluster: another node's instance, read from the database */
	if (r->has_instance) {
		char name[WA_STORE_NAME_MAX];
		if (!decode_name(rest, name, sizeof name)) {
			wamd_reply_error(c, admin ? 404 : 401,
					 admin ? json_pack("[s]", "The instance does not exist") : json_string("Unauthorized"));
			return;
		}
		t = wamd_tenant_find(d, name);
		if (!t && d->cluster && (db_read(r) || relayed(r)))
			t = peeked = wamd_cluster_peek(d, name);
		if (!admin) {
			unsigned s = t ? wamd_auth_scopes(t, c->apikey) : 0;
			if (!s || !(s & r->scope)) {
				wamd_tenant_peek_free(peeked);
				if (!s)
					wamd_reply_error(c, 401, json_string("Unauthorized"));
				else
					wamd_reply_error(c, 403, json_pack("[s]", "This token's scopes do not allow this route"));
				return;
			}
		}
		char owner[WA_STORE_NAME_MAX];
		if (!t && d->cluster && wamd_cluster_owner(d, name, owner, sizeof owner) == 0) {
			/* cluster mode: requests go to the node driving the instance */
			char m1[256], m2[160];
			snprintf(m1, sizeof m1, "The \"%s\" instance is served by another cluster node", name);
			snprintf(m2, sizeof m2, "node: %s", owner);
			wamd_reply_error(c, 409, json_pack("[s, s]", m1, m2));
			return;
		}
		if (!t) {
			wamd_reply_error(c, 404, msg1("The \"%s\" instance does not exist", name));
			return;
		}
		if (!peeked)
			wamd_boot_now(t); /* still waiting for its start: the route sees its session */
	} else if (r->scope == SCOPE_PUBLIC) {
		/* no key */
	} else if (r->scope == SCOPE_METRICS) {
		if (!admin && !wamd_prom_token_ok(d, c->bearer, c->apikey)) {
			wamd_reply_error(c, 401, json_string("Unauthorized"));
			return;
		}
	} else if (!admin && r->scope == 0) {
		wamd_reply_error(c, 401, json_string("Unauthorized"));
		return;
	} else if (!admin && !c->apikey[0]) {
		wamd_reply_error(c, 401, json_string("Unauthorized"));
		return;
	}
	json_t *body = NULL;
	if (c->body_len && !raw_body(r, c->method)) {
		json_error_t je;
		body = json_loadb(c->body, c->body_len, 0, &je);
		if (!body) {
			char m[256];
			snprintf(m, sizeof m, "invalid JSON body: %s", je.text);
			bad_request(c, m);
			wamd_tenant_peek_free(peeked);
			return;
		}
	}
	if (!body)
		body = json_object();
	LOGD("api %s %s", method_name(c->method), r->prefix);
	r->fn(c, t, body);
	wamd_tenant_peek_free(peeked); /* its routes answer at once */
	json_decref(body);
}
