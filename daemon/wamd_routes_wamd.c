/* Routes that are not Evolution controllers: GET / and /verify-creds
 * (Evolution's own), and wamd's additions: /wamd/token, /wamd/metrics. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wamd_cluster.h"
#include "wamd_events.h"
#include "wamd_routes.h"

/* POST /wamd/token/{instance} {"scopes":["read"]} -> {"token","scopes"}: a
 * token mints only a subset of its own scopes.
 * DELETE /wamd/token/{instance} {"token":"..."}: revokes that token (a
 * token may revoke only one whose scopes are a subset of its own); the
 * streams it opened close. */
void wamd_h_token(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	unsigned mine = wamd_caller_scopes(c, t);
	json_t *arr = json_object_get(t->doc, "tokens");
	if (c->method == M_DELETE) {
		const char *tok = jstr(body, "token");
		if (!tok || !*tok) {
			bad_request(c, "token/revoke requires property \"token\"");
			return;
		}
		int i = wamd_auth_match(t, tok, NULL);
		if (i < 0) {
			wamd_reply_error(c, 404, json_pack("[s]", "No such token for this instance"));
			return;
		}
		unsigned theirs = t->tokens[i].scopes;
		if ((theirs & mine) != theirs) {
			wamd_reply_error(c, 403, json_pack("[s]", "A token may revoke only tokens with a subset of its scopes"));
			return;
		}
		/* the stored row is the one with this digest */
		uint8_t dig[32];
		memcpy(dig, t->tokens[i].sha256, 32);
		char hx[65];
		wamd_hex(dig, 32, hx);
		size_t k;
		json_t *v;
		json_array_foreach(arr, k, v) {
			const char *h = jstr(v, "sha256");
			if (h && !strcasecmp(h, hx)) {
				json_array_remove(arr, k);
				break;
			}
		}
		const char *ct = jstr(t->doc, "token");
		if (ct && wamd_auth_match(t, ct, NULL) == i)
			json_object_del(t->doc, "token");
		if (wamd_tenant_save(t) != 0) {
			wamd_reply_error(c, 500, json_string("could not store the tokens"));
			return;
		}
		wamd_tenant_reload_tokens(t);
		wamd_stream_recheck(t, false, "token revoked");
		wamd_cluster_streams_recheck(t->d, jstr(t->doc, "id"));
		LOGI("instance %s: a token was revoked", t->name);
		wamd_reply_json(c, 200, json_pack("{s:b, s:o}", "revoked", 1, "scopes", wamd_scopes_json(theirs)));
		return;
	}
	unsigned scopes = wamd_scopes_parse(json_object_get(body, "scopes"));
	if (!scopes) {
		bad_request(c, "scopes must list read, write and/or manage");
		return;
	}
	if ((scopes & mine) != scopes) {
		wamd_reply_error(c, 403, json_pack("[s]", "A token may grant only scopes it has itself"));
		return;
	}
	if (!json_is_array(arr) || json_array_size(arr) >= WAMD_TOKEN_MAX) {
		wamd_reply_error(c, 400, json_pack("[s]", "too many tokens for this instance"));
		return;
	}
	char tok[37];
	json_t *row = NULL;
	if (wamd_random_token(tok) != 0 || wamd_token_row(tok, scopes, &row) != 0) {
		wamd_reply_error(c, 500, json_string("no randomness"));
		return;
	}
	json_array_append_new(arr, row);
	if (wamd_tenant_save(t) != 0) {
		wamd_reply_error(c, 500, json_string("could not store the token"));
		return;
	}
	wamd_tenant_reload_tokens(t);
	wamd_reply_json(c, 201, json_pack("{s:s, s:o}", "token", tok, "scopes", wamd_scopes_json(scopes)));
}

void wamd_h_root(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	(void)t;
	(void)body;
	wamd_reply_json(c, 200,
			json_pack("{s:i, s:s, s:s, s:s, s:s, s:s}", "status", 200, "message",
				  "Welcome to the Evolution API, it is working!", "version",
				  WAMD_EVOLUTION_VERSION "-compatible (wamd " WA_VERSION_STRING ")", "clientName", "wamd",
				  "documentation", "docs/wamd.md", "whatsappWebVersion", "wamd"));
}

void wamd_h_verify(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	(void)t;
	(void)body;
	wamd_reply_json(c, 200, json_pack("{s:i, s:s}", "status", 200, "message", "Credentials are valid"));
}

/* GET /wamd/metrics: send latency histogram figures, admission gate
 * counters, instance counts (benchmarks; admin only). */
void wamd_h_metrics(struct wamd_conn *c, struct wamd_tenant *unused, json_t *body)
{
	(void)unused;
	(void)body;
	wamd_reply_json(c, 200, wamd_metrics_json(c->d));
}

/* POST /wamd/metrics/reset: empties the latency histogram (after a warm-up). */
void wamd_h_metrics_reset(struct wamd_conn *c, struct wamd_tenant *unused, json_t *body)
{
	(void)unused;
	(void)body;
	wamd_lat_reset(c->d);
	wamd_reply_json(c, 200, json_pack("{s:b}", "reset", 1));
}

/* GET /wamd/cluster: this node, whether it is drained, the instances it
 * drives and how many each node holds; POST /wamd/cluster/drain hands them
 * all over (as SIGTERM, the node keeps running and takes none) and
 * /wamd/cluster/undrain makes it take its share again. Admin only. */
void wamd_h_cluster(struct wamd_conn *c, struct wamd_tenant *unused, json_t *body)
{
	(void)unused;
	(void)body;
	if (!c->d->cluster) {
		wamd_reply_error(c, 400, json_pack("[s]", "This node is not in cluster mode"));
		return;
	}
	const char *path = c->path;
	if (c->method == M_POST)
		wamd_cluster_drain(c->d, strstr(path, "/undrain") == NULL);
	json_t *info = wamd_cluster_info(c->d);
	if (!info) {
		wamd_reply_error(c, 500, json_pack("[s]", "the cluster's state could not be read"));
		return;
	}
	wamd_reply_json(c, 200, info);
}
