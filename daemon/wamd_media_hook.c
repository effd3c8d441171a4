/* Received media: kept on disk (mediaAutoDownload, wamd_media_store.c)
 * and Evolution's webhook base64 (webhookBase64), one download for both.
 * With base64 on, the
 * MESSAGES_UPSERT of a media message carries the file in
 * data.message.base64. The event is held back while libwa downloads the
 * blob (asynchronously, on the loop's own I/O, MAC and both hashes checked
 * before the file exists), then goes out with the file; a file over
 * webhook_base64_max, or a download that fails twice, goes out without it
 * and data.wamdBase64Omitted says why. Every output of the event (webhooks,
 * the event stream, brokers) gets the same data, as in Evolution. The
 * stored record never holds the base64. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "wamd.h"
#include "wamd_events.h"

struct hook_job {
	struct wamd *d;
	char tenant[WA_STORE_NAME_MAX];
	json_t *rec;   /* held for base64, or NULL */
	json_t *media; /* a reference: the message's media object */
	json_t *message;
	bool keep;     /* store the file (mediaAutoDownload) */
	char path[1200];
	int attempts;
};

static uint64_t file_length(json_t *media)
{
	json_t *v = json_object_get(media, "fileLength");
	if (json_is_integer(v))
		return json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
	return json_is_string(v) ? strtoull(json_string_value(v), NULL, 10) : 0;
}

static void over_cap(json_t *rec, uint64_t len, long cap)
{
	char why[160];
	snprintf(why, sizeof why, "the file has %llu bytes, over webhook_base64_max (%ld)", (unsigned long long)len, cap);
	json_object_set_new(rec, "wamdBase64Omitted", json_string(why));
}

/* The file at path (len bytes, at most the cap) as bare base64, or NULL. */
static char *read_b64(const char *path, uint64_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	uint8_t *buf = fd >= 0 ? malloc(len ? len : 1) : NULL;
	uint64_t got = 0;
	while (buf && got < len) {
		ssize_t r = read(fd, buf + got, len - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (uint64_t)r;
	}
	if (fd >= 0)
		close(fd);
	char *b64 = buf && got == len ? wamd_b64(buf, len) : NULL;
	free(buf);
	return b64;
}

static int start(struct wamd_tenant *t, struct hook_job *j);

static void job_free(struct hook_job *j)
{
	json_decref(j->media);
	json_decref(j->message);
	free(j);
}

/* The file is at j->path (len bytes): message.base64, or the reason. */
static void attach(struct wamd *d, json_t *rec, const char *path, uint64_t len)
{
	if (len > (uint64_t)d->cfg.webhook_base64_max) {
		over_cap(rec, len, d->cfg.webhook_base64_max);
		return;
	}
	char *b64 = read_b64(path, len);
	if (b64)
		json_object_set_new(json_object_get(rec, "message"), "base64", json_string(b64));
	else
		json_object_set_new(rec, "wamdBase64Omitted", json_string("the downloaded file could not be read"));
	free(b64);
}

static void downloaded(void *user, int err, uint64_t len)
{
	struct hook_job *j = user;
	struct wamd_tenant *t = wamd_tenant_find(j->d, j->tenant);
	/* Evolution tries twice; a tampered or expired blob will not change */
	if (err == WA_EIO && t && t->sess && ++j->attempts < 2) {
		unlink(j->path);
		if (start(t, j) == 0)
			return;
	}
	if (err == 0 && j->keep && t) {
		int rc = wamd_media_store_put(t, j->media, j->path, len);
		if (rc != 0 && rc != WA_ETOOBIG)
			LOGW("[%s] received media not kept: %s", t->name, wa_strerror(rc));
	} else if (err != 0 && j->keep && !j->rec) {
		LOGW("[%s] received media not downloaded: %s", j->tenant, wa_strerror(err));
	}
	if (j->rec && err == 0) {
		attach(j->d, j->rec, j->path, len);
	} else if (j->rec) {
		char why[200];
		snprintf(why, sizeof why, "media download failed: %s", wa_strerror(err));
		json_object_set_new(j->rec, "wamdBase64Omitted", json_string(why));
	}
	unlink(j->path);
	if (j->rec && t)
		wamd_emit(t, "MESSAGES_UPSERT", j->rec);
	else if (j->rec) {
		LOGW("instance %s is gone: a media MESSAGES_UPSERT held for its base64 is dropped", j->tenant);
		json_decref(j->rec);
	}
	job_free(j);
}

/* A new owner-only file name under <data>/media for the download. */
static int stage(struct wamd *d, char *path, size_t cap)
{
	char dir[1024];
	snprintf(dir, sizeof dir, "%s/media", d->cfg.data_dir);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return WA_EIO;
	uint8_t r[12];
	if (RAND_bytes(r, sizeof r) != 1)
		return WA_EIO;
	char hex[25];
	wamd_hex(r, sizeof r, hex);
	int n = snprintf(path, cap, "%s/hook-%s", dir, hex);
	return n > 0 && (size_t)n < cap ? 0 : WA_ETOOBIG;
}

static int start(struct wamd_tenant *t, struct hook_job *j)
{
	char *mj = json_dumps(j->message, JSON_COMPACT);
	if (!mj)
		return WA_ENOMEM;
	int rc = stage(t->d, j->path, sizeof j->path);
	if (rc == 0)
		rc = wamd_tenant_download_media(t, mj, j->path, downloaded, j);
	free(mj);
	return rc;
}

bool wamd_media_hook_hold(struct wamd_tenant *t, json_t *rec)
{
	json_t *message = json_object_get(rec, "message");
	json_t *media = wamd_media_in(message);
	if (!media)
		return false;
	json_t *w = json_object_get(t->doc, "webhook");
	bool b64 = json_is_true(json_object_get(w, "webhookBase64")) && json_is_true(json_object_get(w, "enabled"));
	bool keep = wamd_media_store_on(t);
	uint64_t want = file_length(media);
	if (b64 && want > (uint64_t)t->d->cfg.webhook_base64_max) {
		/* never downloaded whole into memory: the CRM streams it instead */
		over_cap(rec, want, t->d->cfg.webhook_base64_max);
		b64 = false;
	}
	if (keep && (long long)want > wamd_media_store_max(t)) {
		LOGW("[%s] received media of %llu bytes not kept: over mediaStoreMaxBytes (%lld)", t->name,
		     (unsigned long long)want, wamd_media_store_max(t));
		keep = false;
	}
	if (!b64 && !keep)
		return false;
	char path[1200];
	uint64_t len = 0;
	if (stage(t->d, path, sizeof path) == 0 && wamd_media_store_link(t, media, path, &len) == 0) {
		/* stored already (the same media again): nothing to download */
		if (keep)
			(void)wamd_media_store_touch(t, media);
		if (b64)
			attach(t->d, rec, path, len);
		unlink(path);
		return false;
	}
	if (!t->sess) {
		if (b64)
			json_object_set_new(rec, "wamdBase64Omitted", json_string("media download failed: not connected"));
		return false;
	}
	struct hook_job *j = calloc(1, sizeof *j);
	if (!j)
		return false;
	j->d = t->d;
	snprintf(j->tenant, sizeof j->tenant, "%s", t->name);
	j->rec = b64 ? rec : NULL;
	j->media = json_incref(media);
	j->message = json_incref(message);
	j->keep = keep;
	int rc = start(t, j);
	if (rc != 0) {
		unlink(j->path);
		if (b64) {
			char why[200];
			snprintf(why, sizeof why, "media download failed: %s", wa_strerror(rc));
			json_object_set_new(rec, "wamdBase64Omitted", json_string(why));
		}
		j->rec = NULL;
		job_free(j);
		return false;
	}
	return b64;
}
