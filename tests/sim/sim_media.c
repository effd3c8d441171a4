/* wasim media host (messaging.md §7): the upload and download endpoints
 * media_conn points clients at. Blobs are opaque (the server never sees
 * media keys). Each is a file <state>/media/<hex>.enc (a temp folder when
 * wasim has no state folder), so blobs outlive a wasim restart; their total
 * size is capped. POST /mms/<type>/<token>?auth=..&token=.. checks the auth
 * token from media_conn and that the token is the base64url SHA-256 of the
 * body (with or without '=' padding: Baileys strips it, whatsmeow keeps
 * it), then answers {url, direct_path}; the direct path carries a '?' query
 * because whatsmeow appends "&hash=...". GET serves the blob, or one
 * "bytes=a-b" / "a-" / "-n" Range of it (206). POST /_sim/media/expire
 * makes a blob answer 404 or 410 from then on (what an expired blob does,
 * for media-retry work). DELETE on /mms/ answers 200 (whatsmeow deletes
 * history blobs after download). POST /_sim/media/fault paces uploads (a
 * slow host, one that never answers; server.c applies it) and counts them. */
#include "sim_msg.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "simcore.h" /* the TLS port for absolute URLs */
#include "util/codec.h"
#include "util/seams.h"

#define SIM_MEDIA_AUTH "wasim-media-auth"
#define SIM_MEDIA_MAX_TOTAL (8ull << 30) /* all blobs together (on disk; 1 GiB benchmarks send two) */
#define SIM_MEDIA_PREFIX "/v/t62.7118-24/"

struct expired {
	struct expired *next;
	char id[40];
	int status;
};

static char g_dir[4200];     /* where blob files live */
static bool g_dir_tmp;       /* a temp folder removed at shutdown */
static size_t g_total;       /* bytes of all blob files */
static struct expired *g_expired;
static struct sim_media_pace g_pace;
static unsigned g_uploads_begun, g_uploads_stored, g_downloads_begun;

void sim_media_upload_begin(struct sim *sim, struct sim_media_pace *out)
{
	(void)sim;
	g_uploads_begun++;
	*out = g_pace;
}

/* "<hex>" of "/v/t62.7118-24/<hex>.enc": false for anything else. */
static bool blob_id(const char *path, char id[40])
{
	if (strncmp(path, SIM_MEDIA_PREFIX, strlen(SIM_MEDIA_PREFIX)) != 0)
		return false;
	const char *h = path + strlen(SIM_MEDIA_PREFIX);
	size_t n = strspn(h, "0123456789abcdef");
	if (n != 32 || strcmp(h + n, ".enc") != 0)
		return false;
	memcpy(id, h, n);
	id[n] = '\0';
	return true;
}

static void blob_file(const char *id, char *out, size_t cap)
{
	snprintf(out, cap, "%s/%s.enc", g_dir, id);
}

static int dir_init(struct sim *sim)
{
	if (g_dir[0])
		return 0;
	if (sim->state_dir) {
		snprintf(g_dir, sizeof(g_dir), "%s/media", sim->state_dir);
		if (mkdir(g_dir, 0700) != 0 && errno != EEXIST)
			return WA_EIO;
	} else {
		snprintf(g_dir, sizeof(g_dir), "/tmp/wasim-media-XXXXXX");
		if (!mkdtemp(g_dir))
			return WA_EIO;
		g_dir_tmp = true;
	}
	/* blobs kept from an earlier run count against the cap */
	DIR *d = opendir(g_dir);
	struct dirent *e;
	while (d && (e = readdir(d)) != NULL) {
		char path[4500];
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", g_dir, e->d_name);
		if (e->d_name[0] != '.' && stat(path, &st) == 0 && S_ISREG(st.st_mode))
			g_total += (size_t)st.st_size;
	}
	if (d)
		closedir(d);
	return 0;
}

static bool token_matches_digest(const uint8_t dg[32], const char *token, size_t token_len)
{
	char *b = wa_b64_encode(dg, WA_SHA256_LEN);
	bool ok;
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

/* base64url of SHA-256(body) equals token, ignoring '=' padding. */
static bool token_matches(const uint8_t *body, size_t len, const char *token, size_t token_len)
{
	uint8_t dg[WA_SHA256_LEN];
	wa_sha256(dg, body, len);
	return token_matches_digest(dg, token, token_len);
}

int sim_media_store(struct sim *sim, const uint8_t *body, size_t len, char *direct, size_t cap)
{
	uint8_t id[16];
	if (dir_init(sim) != 0)
		return WA_EIO;
	if (len > SIM_MEDIA_MAX_TOTAL - g_total)
		return WA_ETOOBIG;
	wa_rand_bytes(id, sizeof(id));
	char *hex = wa_hex_encode(id, sizeof(id));
	if (!hex)
		return WA_ENOMEM;
	char file[4300], tmp[4310];
	blob_file(hex, file, sizeof(file));
	snprintf(tmp, sizeof(tmp), "%s.tmp", file);
	FILE *f = fopen(tmp, "wb");
	bool ok = f && fwrite(body, 1, len, f) == len;
	if (f && fclose(f) != 0)
		ok = false;
	if (!ok || rename(tmp, file) != 0) {
		unlink(tmp);
		free(hex);
		return WA_EIO;
	}
	g_total += len;
	snprintf(direct, cap, SIM_MEDIA_PREFIX "%s.enc?ccb=11-4&oh=wasim&oe=0&_nc_sid=wasim", hex);
	free(hex);
	return 0;
}

int sim_media_spool(struct sim *sim, char *out, size_t cap)
{
	if (dir_init(sim) != 0)
		return -1;
	int n = snprintf(out, cap, "%s/upload-XXXXXX", g_dir);
	if (n <= 0 || (size_t)n >= cap)
		return -1;
	return mkostemp(out, O_CLOEXEC);
}

/* A spooled upload (its SHA-256 known) renamed into place. */
static int store_spooled(const struct sim_http_req *req, char *direct, size_t cap)
{
	if (req->body_len > SIM_MEDIA_MAX_TOTAL - g_total)
		return WA_ETOOBIG;
	uint8_t id[16];
	wa_rand_bytes(id, sizeof(id));
	char *hex = wa_hex_encode(id, sizeof(id));
	if (!hex)
		return WA_ENOMEM;
	char file[4300];
	blob_file(hex, file, sizeof(file));
	if (rename(req->body_file, file) != 0) {
		free(hex);
		return WA_EIO;
	}
	g_total += req->body_len;
	snprintf(direct, cap, SIM_MEDIA_PREFIX "%s.enc?ccb=11-4&oh=wasim&oe=0&_nc_sid=wasim", hex);
	free(hex);
	return 0;
}

static int h_upload(struct sim *sim, const struct sim_http_req *req, struct sim_http_resp *resp, void *user)
{
	/* path: /mms/<type>/<token> */
	const char *rest = req->path + strlen("/mms/");
	const char *slash = strchr(rest, '/');
	(void)user;
	if (!strstr(req->query, "auth=" SIM_MEDIA_AUTH)) {
		sim_http_error(resp, 401, "bad auth");
		return 0;
	}
	if (!slash || slash == rest || !slash[1] || (!req->body && !req->body_file) || req->body_len == 0) {
		sim_http_error(resp, 400, "need /mms/<type>/<token> and a body");
		return 0;
	}
	if (req->body_file ? !token_matches_digest(req->body_sha256, slash + 1, strlen(slash + 1))
			   : !token_matches(req->body, req->body_len, slash + 1, strlen(slash + 1))) {
		sim_http_error(resp, 400, "token is not the body's sha256");
		return 0;
	}
	if (dir_init(sim) != 0)
		return WA_EIO;
	if (req->body_len > SIM_MEDIA_MAX_TOTAL - g_total) {
		sim_http_error(resp, 507, "media store full");
		return 0;
	}
	char direct[160], url[256];
	int rc = req->body_file ? store_spooled(req, direct, sizeof(direct))
				: sim_media_store(sim, req->body, req->body_len, direct, sizeof(direct));
	if (rc == WA_ENOMEM)
		return rc;
	if (rc) {
		sim_http_error(resp, 500, "cannot store the blob");
		return 0;
	}
	int port = sim_core(sim)->tls_port > 0 ? sim_core(sim)->tls_port : sim_core(sim)->port;
	snprintf(url, sizeof(url), "https://127.0.0.1:%d%s", port, direct);
	json_t *o = json_object();
	json_object_set_new(o, "url", json_string(url));
	json_object_set_new(o, "direct_path", json_string(direct));
	sim_http_json(resp, 200, o);
	g_uploads_stored++;
	return 0;
}

/* One Range "bytes=a-b" | "a-" | "-n" over total: 1 and [*off, *off+*n),
 * 0 for none (or one we do not honour), -1 unsatisfiable. */
static int parse_range(const char *h, size_t total, size_t *off, size_t *n)
{
	if (!h || strncmp(h, "bytes=", 6) != 0 || strchr(h, ','))
		return 0;
	const char *p = h + 6, *dash = strchr(p, '-');
	char *e;
	if (!dash)
		return 0;
	if (p == dash) {
		unsigned long long k = strtoull(dash + 1, &e, 10);
		if (*e || k == 0 || total == 0)
			return -1;
		*n = k > total ? total : (size_t)k;
		*off = total - *n;
		return 1;
	}
	unsigned long long a = strtoull(p, &e, 10), b = total ? total - 1 : 0;
	if (e != dash)
		return 0;
	if (dash[1]) {
		b = strtoull(dash + 1, &e, 10);
		if (*e || b < a)
			return 0;
		if (b >= total)
			b = total - 1;
	}
	if (a >= total)
		return -1;
	*off = (size_t)a;
	*n = (size_t)(b - a + 1);
	return 1;
}

static int h_download(struct sim *sim, const struct sim_http_req *req, struct sim_http_resp *resp, void *user)
{
	char id[40], file[4300];
	(void)user;
	if (!blob_id(req->path, id) || dir_init(sim) != 0) {
		sim_http_error(resp, 404, "no such media");
		return 0;
	}
	for (struct expired *x = g_expired; x; x = x->next)
		if (strcmp(x->id, id) == 0) {
			sim_http_error(resp, x->status, "media expired");
			return 0;
		}
	blob_file(id, file, sizeof(file));
	FILE *f = fopen(file, "rb");
	struct stat st;
	if (!f || fstat(fileno(f), &st) != 0) {
		if (f)
			fclose(f);
		sim_http_error(resp, 404, "no such media");
		return 0;
	}
	size_t total = (size_t)st.st_size, off = 0, n = total;
	int r = parse_range(req->range, total, &off, &n);
	if (r < 0) {
		fclose(f);
		snprintf(resp->content_range, sizeof(resp->content_range), "bytes */%zu", total);
		sim_http_error(resp, 416, "range not satisfiable");
		return 0;
	}
	/* sent from the file as it goes out (server.c), never read whole */
	int fd = dup(fileno(f));
	fclose(f);
	if (fd < 0)
		return WA_EIO;
	resp->file_fd1 = fd + 1;
	resp->send_kib_s = g_pace.send_kib_s;
	g_downloads_begun++;
	resp->file_off = (off_t)off;
	resp->body_len = n;
	resp->status = r ? 206 : 200;
	if (r)
		snprintf(resp->content_range, sizeof(resp->content_range), "bytes %zu-%zu/%zu", off, off + n - 1, total);
	snprintf(resp->content_type, sizeof(resp->content_type), "application/octet-stream");
	return 0;
}

int sim_media_copy(struct sim *sim, const char *direct_path, char *new_dp, size_t cap)
{
	char path[512], id[40], file[4300];
	snprintf(path, sizeof(path), "%s", direct_path);
	path[strcspn(path, "?")] = '\0';
	if (!blob_id(path, id) || dir_init(sim) != 0)
		return WA_ENOTFOUND;
	blob_file(id, file, sizeof(file));
	FILE *f = fopen(file, "rb");
	struct stat st;
	if (!f)
		return WA_ENOTFOUND;
	if (fstat(fileno(f), &st) != 0 || st.st_size <= 0 || (size_t)st.st_size > SIM_MEDIA_MAX_TOTAL) {
		fclose(f);
		return WA_EIO;
	}
	size_t n = (size_t)st.st_size;
	uint8_t *b = malloc(n);
	bool ok = b && fread(b, 1, n, f) == n;
	fclose(f);
	int rc = ok ? sim_media_store(sim, b, n, new_dp, cap) : b ? WA_EIO : WA_ENOMEM;
	free(b);
	return rc;
}

int sim_media_open(struct sim *sim, const char *where, int *fd)
{
	char path[512], id[40], file[4300];
	*fd = -1;
	if (where && strncmp(where, "https://", 8) == 0)
		where = strchr(where + 8, '/');
	snprintf(path, sizeof(path), "%s", where ? where : "");
	path[strcspn(path, "?")] = '\0';
	if (!blob_id(path, id) || dir_init(sim) != 0)
		return 404;
	for (struct expired *x = g_expired; x; x = x->next)
		if (strcmp(x->id, id) == 0)
			return x->status;
	blob_file(id, file, sizeof(file));
	*fd = open(file, O_RDONLY | O_CLOEXEC);
	return *fd < 0 ? 404 : 0;
}

void sim_media_url(struct sim *sim, const char *direct, char *url, size_t cap)
{
	int port = sim_core(sim)->tls_port > 0 ? sim_core(sim)->tls_port : sim_core(sim)->port;
	snprintf(url, cap, "https://127.0.0.1:%d%s", port, direct);
}

/* POST /_sim/media/expire {"direct_path" (or "url"), "status": 404|410,
 * "delete"?: bool}: the blob answers that status from now on; its file
 * stays (what the phone uploads again) unless "delete" removes it. */
static int h_expire(struct sim *sim, const struct sim_http_req *req, struct sim_http_resp *resp, void *user)
{
	(void)user;
	const char *p = json_string_value(json_object_get(req->json, "direct_path"));
	const char *u = json_string_value(json_object_get(req->json, "url"));
	if (!p && u && strncmp(u, "https://", 8) == 0)
		p = strchr(u + 8, '/');
	json_int_t st = json_integer_value(json_object_get(req->json, "status"));
	char path[512], id[40];
	snprintf(path, sizeof(path), "%s", p ? p : "");
	path[strcspn(path, "?")] = '\0';
	if (!blob_id(path, id) || (st != 0 && st != 404 && st != 410)) {
		sim_http_error(resp, 400, "need direct_path (or url) of a blob and status 404 or 410");
		return 0;
	}
	if (json_is_true(json_object_get(req->json, "delete")) && dir_init(sim) == 0) {
		char file[4300];
		struct stat fst;
		blob_file(id, file, sizeof(file));
		if (stat(file, &fst) == 0 && unlink(file) == 0)
			g_total -= (size_t)fst.st_size < g_total ? (size_t)fst.st_size : g_total;
	}
	struct expired *x = calloc(1, sizeof(*x));
	if (!x)
		return WA_ENOMEM;
	snprintf(x->id, sizeof(x->id), "%s", id);
	x->status = st ? (int)st : 410;
	x->next = g_expired;
	g_expired = x;
	sim_http_json(resp, 200, json_pack("{s:b, s:i}", "ok", 1, "status", x->status));
	return 0;
}

/* POST /_sim/media/fault {"read_kib_s"?, "answer_delay_ms"?, "no_answer"?}:
 * the pacing of uploads that begin from now on (a field left out keeps its
 * value; {} changes nothing). Answers the pacing and the uploads counted
 * so far: "begun" (heads received), "stored" (answered with a url). */
static int h_fault(struct sim *sim, const struct sim_http_req *req, struct sim_http_resp *resp, void *user)
{
	(void)sim;
	(void)user;
	json_t *rk = json_object_get(req->json, "read_kib_s"), *ad = json_object_get(req->json, "answer_delay_ms");
	json_t *na = json_object_get(req->json, "no_answer"), *sk = json_object_get(req->json, "send_kib_s");
	if ((rk && (!json_is_integer(rk) || json_integer_value(rk) < 0 || json_integer_value(rk) > 1048576)) ||
	    (sk && (!json_is_integer(sk) || json_integer_value(sk) < 0 || json_integer_value(sk) > 1048576)) ||
	    (ad && (!json_is_integer(ad) || json_integer_value(ad) < 0 || json_integer_value(ad) > 600000)) ||
	    (na && !json_is_boolean(na))) {
		sim_http_error(resp, 400, "read_kib_s and send_kib_s 0..1048576, answer_delay_ms 0..600000, no_answer bool");
		return 0;
	}
	if (rk)
		g_pace.read_kib_s = (uint32_t)json_integer_value(rk);
	if (ad)
		g_pace.answer_delay_ms = (uint32_t)json_integer_value(ad);
	if (na)
		g_pace.no_answer = json_is_true(na);
	if (sk)
		g_pace.send_kib_s = (uint32_t)json_integer_value(sk);
	sim_http_json(resp, 200, json_pack("{s:i, s:i, s:b, s:i, s:i, s:i, s:i}", "read_kib_s", (json_int_t)g_pace.read_kib_s,
		"answer_delay_ms", (json_int_t)g_pace.answer_delay_ms, "no_answer", g_pace.no_answer,
		"send_kib_s", (json_int_t)g_pace.send_kib_s, "begun", (json_int_t)g_uploads_begun,
		"stored", (json_int_t)g_uploads_stored, "downloads", (json_int_t)g_downloads_begun));
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
	while (g_expired) {
		struct expired *x = g_expired;
		g_expired = x->next;
		free(x);
	}
	if (g_dir_tmp) {
		DIR *d = opendir(g_dir);
		struct dirent *e;
		while (d && (e = readdir(d)) != NULL) {
			char path[4500];
			snprintf(path, sizeof(path), "%s/%s", g_dir, e->d_name);
			if (e->d_name[0] != '.')
				unlink(path);
		}
		if (d)
			closedir(d);
		rmdir(g_dir);
	}
	g_dir[0] = '\0';
	g_dir_tmp = false;
	g_total = 0;
	memset(&g_pace, 0, sizeof(g_pace));
	g_uploads_begun = g_uploads_stored = g_downloads_begun = 0;
}

int sim_media_init(struct sim *sim)
{
	int rc = sim_http_register(sim, "POST", "/mms/", h_upload, NULL);
	rc = rc ? rc : sim_http_register(sim, "GET", "/v/", h_download, NULL);
	rc = rc ? rc : sim_http_register(sim, "POST", "/_sim/media/expire", h_expire, NULL);
	rc = rc ? rc : sim_http_register(sim, "POST", "/_sim/media/fault", h_fault, NULL);
	return rc ? rc : sim_http_register(sim, "DELETE", "/mms/", h_delete, NULL);
}
