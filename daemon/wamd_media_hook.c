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
#include <dirent.h>
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
	char marker[1200]; /* pending-<hex>: the job outlives a crash (resume below) */
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
	/* after the event is queued (durably): a crash before this line resumes
	 * the job and may send the event twice, never lose it */
	if (j->marker[0])
		unlink(j->marker);
	job_free(j);
}

/* A new owner-only file name under <data>/media for the download. */
static int stage_as(struct wamd *d, const char *prefix, char *path, size_t cap)
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
	int n = snprintf(path, cap, "%s/%s%s", dir, prefix, hex);
	return n > 0 && (size_t)n < cap ? 0 : WA_ETOOBIG;
}

static int stage(struct wamd *d, char *path, size_t cap)
{
	return stage_as(d, "hook-", path, cap);
}

/* Notes a job on disk: {"instance", "id", "base64"}: the message whose
 * download it is and whether its MESSAGES_UPSERT is held. Written whole
 * (temp file, rename) so a crash leaves either nothing or all of it. Not
 * fsynced, on purpose: the store's commits (synchronous=NORMAL) survive a
 * killed process but not a power failure, and the note promises no more
 * than the message row it stands for; a sync here would stall the loop. */
static void marker_write(struct wamd_tenant *t, struct hook_job *j, const char *id, bool b64)
{
	char tmp[1300];
	j->marker[0] = '\0';
	if (!id || stage_as(t->d, "pending-", j->marker, sizeof j->marker) != 0)
		return;
	snprintf(tmp, sizeof tmp, "%s.tmp", j->marker);
	json_t *o = json_pack("{s:s, s:s, s:b}", "instance", t->name, "id", id, "base64", b64);
	int rc = o ? json_dump_file(o, tmp, JSON_COMPACT) : -1;
	json_decref(o);
	if (rc != 0 || rename(tmp, j->marker) != 0) {
		unlink(tmp);
		LOGW("[%s] media download of %s not noted on disk: a crash would lose it", t->name, id);
		j->marker[0] = '\0';
	}
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

static bool hold(struct wamd_tenant *t, json_t *rec, bool allow_b64)
{
	json_t *message = json_object_get(rec, "message");
	json_t *media = wamd_media_in(message);
	if (!media)
		return false;
	json_t *w = json_object_get(t->doc, "webhook");
	bool b64 = allow_b64 && json_is_true(json_object_get(w, "webhookBase64")) &&
		   json_is_true(json_object_get(w, "enabled"));
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
	marker_write(t, j, json_string_value(json_object_get(json_object_get(rec, "key"), "id")), b64);
	int rc = start(t, j);
	if (rc != 0) {
		unlink(j->path);
		if (j->marker[0])
			unlink(j->marker);
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

bool wamd_media_hook_hold(struct wamd_tenant *t, json_t *rec)
{
	return hold(t, rec, true);
}

/* ---- jobs a crash cut short ----
 * The pending-* markers found at start are the previous process's jobs
 * (this one has started none yet). Each is run again once its instance
 * is open: the stored record's media downloaded again (kept, when
 * mediaAutoDownload is on) and, when its MESSAGES_UPSERT was held for
 * base64, the event sent now, with the file. Markers whose instance never
 * opens within RESUME_TICKS seconds are left for the next start. */
#define RESUME_TICKS 300

static struct {
	struct wamd *d;
	char **paths;
	size_t n;
	int ticks;
	lws_sorted_usec_list_t sul;
	bool armed;
} R;

/* true when the marker at path is dealt with (resumed or void) */
static bool resume_one(struct wamd *d, const char *path)
{
	json_t *o = json_load_file(path, 0, NULL);
	const char *name = json_string_value(json_object_get(o, "instance"));
	const char *id = json_string_value(json_object_get(o, "id"));
	bool b64 = json_is_true(json_object_get(o, "base64"));
	struct wamd_tenant *t = name ? wamd_tenant_find(d, name) : NULL;
	if (t && !t->removed && (!t->sess || t->state != WA_CONN_READY)) {
		json_decref(o);
		return false; /* not open yet */
	}
	json_t *rec = t && !t->removed && id ? wamd_stored_record(d, t->id, id, -1, NULL) : NULL;
	unlink(path); /* the job run now writes its own */
	if (rec) {
		LOGI("[%s] media download of %s cut short by the last exit: downloading it again", t->name, id);
		if (!hold(t, rec, b64)) {
			if (b64)
				wamd_emit(t, "MESSAGES_UPSERT", rec); /* held before, never sent */
			else
				json_decref(rec);
		}
	}
	json_decref(o);
	return true;
}

static void resume_tick(lws_sorted_usec_list_t *sul)
{
	(void)sul;
	R.armed = false;
	size_t k = 0;
	for (size_t i = 0; i < R.n; i++) {
		if (resume_one(R.d, R.paths[i]))
			free(R.paths[i]);
		else
			R.paths[k++] = R.paths[i];
	}
	R.n = k;
	if (R.n && ++R.ticks < RESUME_TICKS) {
		lws_sul_schedule(R.d->ctx, 0, &R.sul, resume_tick, LWS_US_PER_SEC);
		R.armed = true;
	}
}

void wamd_media_hook_resume_start(struct wamd *d)
{
	char dir[1100];
	snprintf(dir, sizeof dir, "%s/media", d->cfg.data_dir);
	R.d = d;
	DIR *dh = opendir(dir);
	struct dirent *e;
	while (dh && (e = readdir(dh))) {
		size_t len = strlen(e->d_name);
		if (strncmp(e->d_name, "pending-", 8) != 0)
			continue;
		char path[1400];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if (len > 4 && !strcmp(e->d_name + len - 4, ".tmp")) {
			unlink(path); /* never renamed: the job had not started */
			continue;
		}
		char **np = realloc(R.paths, (R.n + 1) * sizeof *np);
		if (!np || !(np[R.n] = strdup(path))) {
			R.paths = np ? np : R.paths;
			break;
		}
		R.paths = np;
		R.n++;
	}
	if (dh)
		closedir(dh);
	if (R.n) {
		lws_sul_schedule(d->ctx, 0, &R.sul, resume_tick, LWS_US_PER_SEC);
		R.armed = true;
	}
}

void wamd_media_hook_resume_stop(void)
{
	if (R.armed)
		lws_sul_cancel(&R.sul);
	R.armed = false;
	for (size_t i = 0; i < R.n; i++)
		free(R.paths[i]);
	free(R.paths);
	R.paths = NULL;
	R.n = 0;
}
