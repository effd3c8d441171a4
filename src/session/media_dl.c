/* Media downloads (messaging.md §7): GET the blob and decrypt it as it
 * comes into <dest>.part (owner-only, never served: the cipher's one pass),
 * then check length, fileEncSha256 and the MAC, the padding and fileSha256;
 * only then is it renamed to <dest>, and on any failure it is removed, so
 * no byte of unauthenticated plaintext is ever released. One pass over the
 * bytes instead of writing the blob and reading it back. The blob is asked only of
 * the hosts media_conn named: a message chooses the path, never the host,
 * so a forged url cannot make us connect anywhere. A connection that ends
 * before any byte of the body is asked again (on the next host), twice at
 * most. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "session/media.h"
#include "transport/ws.h"
#include "util/codec.h"
#include "util/log.h"

#define MOD "media"

typedef struct wa_media_dl {
	struct wa_media_dl *next;
	wa_session *s;
	wa_download_fn done;
	void *user;
	char *dest, *part_path;
	uint8_t *obuf; /* WA_MEDIA_UPDATE_OUT(WA_MEDIA_IO) bytes of plaintext out */
	wa_media_keys keys;
	uint8_t enc_sha[32], file_sha[32];
	bool has_enc_sha, has_file_sha;
	uint64_t expect_len;
	wa_media_dec *dec;
	int fd_part;
	wa_http_req *http;
	void *timer;
	int status;
	uint64_t blob_len;
	unsigned tries;
	char url[WA_TR_MAX_URL + 1];
	uint64_t max_len;
	bool no_fsync;     /* a scratch file (history blobs): its import starts over after a crash */
	uint64_t part_len, wb_started; /* bytes in the .part; bytes handed to write-back */
	/* where the blob is: a path on a media_conn host, first the url's
	 * host when it is one of them; a url elsewhere is never asked */
	char path[WA_TR_MAX_URL + 1];
	char url_host[256];
	bool url_only;  /* no directPath: the url's own host must be a media host */
	bool conn_wait; /* waiting for media_conn */
	size_t host_i, hosts_tried;
} dl_job;


static void dl_free(dl_job *d)
{
	wa_http_cancel(d->http);
	if (d->timer)
		d->s->drv->timer_free(d->timer);
	if (d->fd_part >= 0)
		close(d->fd_part);
	wa_media_dec_free(d->dec);
	wa_media_keys_clear(&d->keys);
	free(d->dest);
	free(d->part_path);
	if (d->obuf)
		wa_memzero(d->obuf, WA_MEDIA_UPDATE_OUT(WA_MEDIA_IO));
	free(d->obuf);
	free(d);
}

static void dl_end(dl_job *d, int err, uint64_t len)
{
	wa_session *s = d->s;
	struct wa_media_state *ms = s->msg->media;
	for (dl_job **pp = &ms->dls; *pp; pp = &(*pp)->next)
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	if (err && d->part_path)
		unlink(d->part_path);
	wa_download_fn done = d->done;
	void *user = d->user;
	dl_free(d);
	if (done)
		done(s, err, len, user);
}

static int dl_get(dl_job *d);

static int dl_url(dl_job *d)
{
	const char *h = d->s->msg->media->hosts[d->host_i];
	size_t hl = strlen(h), pl = strlen(d->path);
	if (8 + hl + pl >= sizeof d->url)
		return WA_ETOOBIG;
	memcpy(d->url, "https://", 8);
	memcpy(d->url + 8, h, hl);
	memcpy(d->url + 8 + hl, d->path, pl + 1);
	return 0;
}

/* Picks the first host (the url's when it is a media host) and builds the
 * url; WA_EMEDIA_HOST when the message names no media host at all. */
static int dl_resolve(dl_job *d)
{
	struct wa_media_state *ms = d->s->msg->media;
	size_t i = 0;
	bool found = false;
	for (; d->url_host[0] && i < ms->n_hosts; i++)
		if (strcasecmp(ms->hosts[i], d->url_host) == 0) {
			found = true;
			break;
		}
	if (d->url_only && !found) {
		WA_DEBUG(MOD, "[%lld] refusing a media url on %s: not a media host", (long long)d->s->instance_id,
			d->url_host);
		return WA_EMEDIA_HOST;
	}
	d->host_i = found ? i : 0;
	d->hosts_tried = 1;
	return dl_url(d);
}

int wa_media_dl_where(const char *url, const char *dp, char *path, size_t path_cap, char *host, size_t host_cap,
	bool *url_only)
{
	*url_only = false;
	host[0] = path[0] = '\0';
	/* the url's host matters only to pick among the media hosts */
	if (url && strncasecmp(url, "https://", 8) == 0) {
		size_t hl = strcspn(url + 8, "/?#");
		if (hl && hl < host_cap)
			snprintf(host, host_cap, "%.*s", (int)hl, url + 8);
		if (!(dp && dp[0] == '/') && host[0] && url[8 + hl] == '/') {
			*url_only = true;
			dp = url + 8 + hl;
		}
	}
	if (!dp || dp[0] != '/' || dp[1] == '/' || strlen(dp) >= path_cap || strpbrk(dp, " \r\n\t"))
		return WA_EINVAL;
	snprintf(path, path_cap, "%s", dp);
	return 0;
}

void wa_media_dl_conn_done(wa_session *s, int err)
{
	struct wa_media_state *ms = s->msg ? s->msg->media : NULL;
	for (;;) {
		dl_job *d = ms ? ms->dls : NULL;
		while (d && !d->conn_wait)
			d = d->next;
		if (!d)
			return;
		d->conn_wait = false;
		int rc = err ? err : dl_resolve(d);
		if (rc == 0)
			rc = dl_get(d);
		if (rc)
			dl_end(d, rc, 0);
	}
}

static void on_dl_timer(void *user)
{
	dl_end(user, WA_ETIMEOUT, 0);
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return WA_EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Write-back as the file lands: each full window is handed to the disk at
 * once (SYNC_FILE_RANGE_WRITE starts the I/O and does not wait for it), so
 * the fsync before the rename finds at most a window or two still dirty
 * instead of the whole file. Without it a 1 GiB download ended in a fsync
 * that held the event loop for seconds. */
#define DL_WRITEBACK_WINDOW (8u << 20)

static void dl_write_back(dl_job *d)
{
	if (d->no_fsync)
		return;
	while (d->part_len - d->wb_started >= DL_WRITEBACK_WINDOW) {
		/* advisory: a failure leaves the work to the final fsync */
		(void)sync_file_range(d->fd_part, (off_t)d->wb_started, DL_WRITEBACK_WINDOW, SYNC_FILE_RANGE_WRITE);
		d->wb_started += DL_WRITEBACK_WINDOW;
	}
}

static void dl_on_status(void *user, int status)
{
	dl_job *d = user;
	d->status = status;
}

static int dl_on_data(void *user, const uint8_t *p, size_t len)
{
	dl_job *d = user;
	if (d->status != 200)
		return 0;
	d->s->drv->timer_set(d->timer, WA_MEDIA_IDLE_MS);
	d->blob_len += len;
	while (len) {
		size_t n = len < WA_MEDIA_IO ? len : WA_MEDIA_IO, o = 0;
		int rc = wa_media_dec_stream_update(d->dec, d->obuf, WA_MEDIA_UPDATE_OUT(WA_MEDIA_IO), &o, p, n);
		if (rc == 0)
			rc = write_all(d->fd_part, d->obuf, o);
		if (rc)
			return rc;
		d->part_len += o;
		p += n;
		len -= n;
	}
	dl_write_back(d);
	return 0;
}

static void dl_on_done(void *user, int err, int status)
{
	dl_job *d = user;
	d->http = NULL;
	/* a connection that ended before any byte of the body (reset, or
	 * closed by the server as it answered): ask again, twice at most */
	if ((err == WA_ECLOSED || err == WA_EIO) && d->blob_len == 0 && d->tries < 3) {
		WA_DEBUG(MOD, "download: %s before the body, asking again", wa_errname(err));
		/* the next media host, if there is one not tried yet */
		struct wa_media_state *ms = d->s->msg->media;
		if (!d->url_only && d->hosts_tried < ms->n_hosts) {
			size_t was = d->host_i;
			d->host_i = (d->host_i + 1) % ms->n_hosts;
			d->hosts_tried++;
			if (dl_url(d) != 0)
				d->host_i = was; /* too long there: the url is unchanged */
		}
		wa_media_dec_free(d->dec);
		d->dec = NULL;
		int rc = wa_media_dec_new(&d->dec, &d->keys, d->max_len);
		if (rc == 0 && (ftruncate(d->fd_part, 0) != 0 || lseek(d->fd_part, 0, SEEK_SET) != 0))
			rc = WA_EIO;
		d->part_len = d->wb_started = 0;
		if (rc == 0)
			rc = dl_get(d);
		if (rc)
			dl_end(d, rc, 0);
		return;
	}
	if (err) {
		dl_end(d, err, 0);
		return;
	}
	if (status == 404 || status == 410 || status == 403) {
		dl_end(d, WA_ENOTFOUND, 0);
		return;
	}
	if (status != 200) {
		dl_end(d, WA_EIO, 0);
		return;
	}
	if (d->expect_len && d->blob_len != WA_MEDIA_BLOB_LEN(d->expect_len)) {
		dl_end(d, WA_EMEDIA_HASH, 0);
		return;
	}
	wa_media_result res;
	size_t o = 0;
	int rc = wa_media_dec_stream_final(d->dec, d->has_enc_sha ? d->enc_sha : NULL, d->obuf,
		WA_MEDIA_UPDATE_OUT(WA_MEDIA_IO), &o, d->has_file_sha ? d->file_sha : NULL, &res);
	if (rc == 0)
		rc = write_all(d->fd_part, d->obuf, o);
	if (rc == 0 && !d->no_fsync && fsync(d->fd_part) != 0)
		rc = WA_EIO;
	if (rc == 0 && rename(d->part_path, d->dest) != 0)
		rc = WA_EIO;
	dl_end(d, rc, rc ? 0 : res.file_length);
}

static const wa_http_events dl_events = {
	.on_status = dl_on_status, .on_data = dl_on_data, .on_done = dl_on_done,
};

static int dl_get(dl_job *d)
{
	wa_session *s = d->s;
	wa_http_opts o = {.method = "GET", .url = d->url, .origin = WA_MEDIA_ORIGIN, .tls_insecure = s->tls_insecure};
	d->tries++;
	d->status = 0;
	d->blob_len = 0;
	int rc = wa_http_start(s->drv_ctx, &o, &dl_events, d, &d->http);
	if (rc == 0)
		s->drv->timer_set(d->timer, WA_MEDIA_IDLE_MS);
	return rc;
}

static bool b64_32(json_t *o, const char *k, uint8_t out[32])
{
	const char *v = json_string_value(json_object_get(o, k));
	uint8_t *b = NULL;
	size_t n = 0;
	if (!v || wa_b64_decode(v, strlen(v), &b, &n) != 0)
		return false;
	bool ok = n == 32;
	if (ok)
		memcpy(out, b, 32);
	free(b);
	return ok;
}

static char *strcat3(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *r = malloc(la + lb + 1);
	if (r) {
		memcpy(r, a, la);
		memcpy(r + la, b, lb + 1);
	}
	return r;
}

/* Starts a job whose keys, hashes, path and limit are filled in; frees it
 * on error. The blob is asked of a media host: media_conn's hosts when
 * known (even past their ttl: a download needs no auth), else media_conn
 * is fetched first and wa_media_dl_conn_done goes on. */
static int dl_start(wa_session *s, struct wa_media_state *ms, dl_job *d, const char *dest_path)
{
	int rc = wa_media_dec_new(&d->dec, &d->keys, d->max_len);
	if (rc == 0 && (!(d->dest = strdup(dest_path)) || !(d->part_path = strcat3(dest_path, ".part")) ||
			   !(d->obuf = malloc(WA_MEDIA_UPDATE_OUT(WA_MEDIA_IO)))))
		rc = WA_ENOMEM;
	if (rc == 0) {
		d->fd_part = open(d->part_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (d->fd_part < 0)
			rc = WA_EIO;
	}
	if (rc == 0)
		rc = s->drv->timer_new(s->drv_ctx, on_dl_timer, d, &d->timer);
	d->conn_wait = rc == 0 && ms->n_hosts == 0;
	if (rc == 0 && d->conn_wait)
		rc = wa_media_conn_fetch(s);
	else if (rc == 0)
		rc = dl_resolve(d);
	if (rc == 0 && !d->conn_wait)
		rc = dl_get(d);
	if (rc) {
		if (d->part_path && d->fd_part >= 0)
			unlink(d->part_path);
		dl_free(d);
		return rc;
	}
	d->next = ms->dls;
	ms->dls = d;
	return 0;
}

static dl_job *dl_new(wa_session *s, wa_download_fn done, void *user)
{
	dl_job *d = calloc(1, sizeof *d);
	if (!d)
		return NULL;
	d->s = s;
	d->fd_part = -1;
	d->done = done;
	d->user = user;
	return d;
}

int wa_session_download_media(wa_session *s, const char *message_json, const char *dest_path,
	wa_download_fn done, void *user)
{
	if (!s || !message_json || !dest_path || !*dest_path || !done)
		return WA_EINVAL;
	struct wa_media_state *ms = wa_media_state_of(s);
	if (!ms)
		return WA_ENOMEM;
	json_t *root = json_loads(message_json, 0, NULL);
	json_t *m = NULL;
	int kind = -1;
	for (int k = 0; root && k < WA_MEDIA_KINDS && !m; k++)
		if ((m = json_object_get(root, wa_media_kind_json[k])) != NULL && json_is_object(m))
			kind = k;
		else
			m = NULL;
	uint8_t mk[32];
	if (!m || !b64_32(m, "mediaKey", mk)) {
		json_decref(root);
		return WA_EINVAL;
	}
	dl_job *d = dl_new(s, done, user);
	if (!d) {
		json_decref(root);
		return WA_ENOMEM;
	}
	d->has_enc_sha = b64_32(m, "fileEncSha256", d->enc_sha);
	d->has_file_sha = b64_32(m, "fileSha256", d->file_sha);
	json_t *fl = json_object_get(m, "fileLength");
	d->expect_len = json_is_string(fl) ? strtoull(json_string_value(fl), NULL, 10)
		: json_is_integer(fl) ? (uint64_t)json_integer_value(fl) : 0;
	const char *url = json_string_value(json_object_get(m, "url"));
	const char *dp = json_string_value(json_object_get(m, "directPath"));
	int rc = wa_media_dl_where(url, dp, d->path, sizeof d->path, d->url_host, sizeof d->url_host, &d->url_only);
	if (rc == 0)
		rc = wa_media_keys_derive(&d->keys, mk, wa_media_kind_keys[kind]);
	wa_memzero(mk, sizeof mk);
	json_decref(root);
	d->max_len = wa_media_kind_max_len((enum wa_media_kind)kind);
	if (rc) {
		dl_free(d);
		return rc;
	}
	return dl_start(s, ms, d, dest_path);
}

int wa_media_download_blob(wa_session *s, const wa_media_blob *b, const char *dest_path, wa_download_fn done,
	void *user)
{
	if (!s || !b || !b->direct_path || b->direct_path[0] != '/' || !dest_path || !*dest_path || !done)
		return WA_EINVAL;
	struct wa_media_state *ms = wa_media_state_of(s);
	if (!ms)
		return WA_ENOMEM;
	dl_job *d = dl_new(s, done, user);
	if (!d)
		return WA_ENOMEM;
	memcpy(d->enc_sha, b->file_enc_sha256, 32);
	memcpy(d->file_sha, b->file_sha256, 32);
	d->has_enc_sha = d->has_file_sha = true;
	d->no_fsync = true;
	d->expect_len = b->file_length;
	d->max_len = b->max_len;
	if (strlen(b->direct_path) >= sizeof d->path || b->direct_path[1] == '/') {
		dl_free(d);
		return WA_EINVAL;
	}
	snprintf(d->path, sizeof d->path, "%s", b->direct_path);
	int rc = wa_media_keys_derive(&d->keys, b->media_key, b->type);
	if (rc) {
		dl_free(d);
		return rc;
	}
	return dl_start(s, ms, d, dest_path);
}

void wa_media_downloads_end(wa_session *s)
{
	struct wa_media_state *ms = s->msg ? s->msg->media : NULL;
	while (ms && ms->dls)
		dl_end(ms->dls, WA_ECLOSED, 0);
}
