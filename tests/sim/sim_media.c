/* wasim media host (messaging.md §7): the upload and download endpoints
 * media_conn points clients at. Blobs are opaque (the server never sees
 * media keys), kept in memory under a random direct path, and served back
 * whole. POST /mms/<type>/<token>?auth=..&token=.. checks the auth token
 * from media_conn and that the token is the base64url SHA-256 of the body
 * (with or without '=' padding: Baileys strips it, whatsmeow keeps it), then
 * answers {url, direct_path}; the direct path carries a '?' query because
 * whatsmeow appends "&hash=...". DELETE on /mms/ answers 200 (whatsmeow
 * deletes history blobs after download). */
#include "sim_msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "simcore.h" /* the TLS port for absolute URLs */
#include "util/codec.h"
#include "util/seams.h"

#define SIM_MEDIA_AUTH "wasim-media-auth"
#define SIM_MEDIA_MAX_TOTAL (512u * 1024 * 1024) /* all blobs together */

struct blob {
	struct blob *next;
	char path[96]; /* "/v/t62.7118-24/<hex>.enc" */
	uint8_t *data;
	size_t len;
};

static struct blob *g_blobs; /* one wasim process = one media host */
static size_t g_total;

/* base64url of SHA-256(body) equals token, ignoring '=' padding. */
static bool token_matches(const uint8_t *body, size_t len, const char *token, size_t token_len)
{
	uint8_t dg[WA_SHA256_LEN];
	char *b;
	bool ok;
	wa_sha256(dg, body, len);
	b = wa_b64_encode(dg, sizeof(dg));
	if (!b)
		return false;
	for (char *p = b; *p; p++)
		*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
	size_t bl = strcspn(b, "=");
	while (token_len > 0 && token[token_len - 1] == '=')
		token_len--;
	/* url-encoded padding */
	while (token_len >= 3 && strncmp(token + token_len - 3, "%3D", 3) == 0)
		token_len -= 3;
	ok = bl == token_len && memcmp(b, token, bl) == 0;
	free(b);
	return ok;
}

static int h_upload(struct sim *sim, const struct sim_http_req *req, struct sim_http_resp *resp, void *user)
{
	/* path: /mms/<type>/<token> */
	const char *rest = req->path + strlen("/mms/");
	const char *slash = strchr(rest, '/');
	struct blob *b;
	uint8_t id[16];
	char *hex;
	(void)user;
	if (!strstr(req->query, "auth=" SIM_MEDIA_AUTH)) {
		sim_http_error(resp, 401, "bad auth");
		return 0;
	}
	if (!slash || slash == rest || !slash[1] || !req->body || req->body_len == 0) {
		sim_http_error(resp, 400, "need /mms/<type>/<token> and a body");
		return 0;
	}
	if (!token_matches(req->body, req->body_len, slash + 1, strlen(slash + 1))) {
		sim_http_error(resp, 400, "token is not the body's sha256");
		return 0;
	}
	if (req->body_len > SIM_MEDIA_MAX_TOTAL - g_total) {
		sim_http_error(resp, 507, "media store full");
		return 0;
	}
	b = calloc(1, sizeof(*b));
	if (!b || !(b->data = malloc(req->body_len))) {
		free(b);
		return WA_ENOMEM;
	}
	memcpy(b->data, req->body, req->body_len);
	b->len = req->body_len;
	wa_rand_bytes(id, sizeof(id));
	hex = wa_hex_encode(id, sizeof(id));
	if (!hex) {
		free(b->data);
		free(b);
		return WA_ENOMEM;
	}
	snprintf(b->path, sizeof(b->path), "/v/t62.7118-24/%s.enc", hex);
	free(hex);
	b->next = g_blobs;
	g_blobs = b;
	g_total += b->len;
	char direct[160], url[256];
	snprintf(direct, sizeof(direct), "%s?ccb=11-4&oh=wasim&oe=0&_nc_sid=wasim", b->path);
	int port = sim_core(sim)->tls_port > 0 ? sim_core(sim)->tls_port : sim_core(sim)->port;
	snprintf(url, sizeof(url), "https://127.0.0.1:%d%s", port, direct);
	json_t *o = json_object();
	json_object_set_new(o, "url", json_string(url));
	json_object_set_new(o, "direct_path", json_string(direct));
	sim_http_json(resp, 200, o);
	return 0;
}

static int h_download(struct sim *sim, const struct sim_http_req *req, struct sim_http_resp *resp, void *user)
{
	(void)sim;
	(void)user;
	for (struct blob *b = g_blobs; b; b = b->next) {
		if (strcmp(b->path, req->path) != 0)
			continue;
		resp->body = malloc(b->len);
		if (!resp->body)
			return WA_ENOMEM;
		memcpy(resp->body, b->data, b->len);
		resp->body_len = b->len;
		resp->status = 200;
		snprintf(resp->content_type, sizeof(resp->content_type), "application/octet-stream");
		return 0;
	}
	sim_http_error(resp, 404, "no such media");
	return 0;
}

static int h_delete(struct sim *sim, const struct sim_http_req *req, struct sim_http_resp *resp, void *user)
{
	(void)sim;
	(void)req;
	(void)user;
	sim_http_json(resp, 200, json_object());
	return 0;
}

void sim_media_shutdown(void)
{
	while (g_blobs) {
		struct blob *b = g_blobs;
		g_blobs = b->next;
		free(b->data);
		free(b);
	}
	g_total = 0;
}

int sim_media_init(struct sim *sim)
{
	int rc = sim_http_register(sim, "POST", "/mms/", h_upload, NULL);
	rc = rc ? rc : sim_http_register(sim, "GET", "/v/", h_download, NULL);
	return rc ? rc : sim_http_register(sim, "DELETE", "/mms/", h_delete, NULL);
}
