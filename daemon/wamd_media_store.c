/* Received media kept on disk, per instance (its settings
 * mediaAutoDownload, mediaStoreMaxBytes, mediaRetentionSeconds):
 * <data>/media/store/<instance id>/<SHA-256 of the plaintext, hex>, files
 * 0600 in 0700 folders. libwa checked the plaintext against the message's
 * fileSha256 before the file exists, so the name is the content's: the same
 * media received twice is stored once. The file's mtime is when it was
 * (last) received: retention counts from it, and since it lives in the file
 * system, a restart loses nothing. Over the size cap the oldest files are
 * evicted (a CRM wants the newest media); a file bigger than the cap alone is
 * not stored. A loop timer (media_sweep_s) removes expired files and the
 * folders of deleted instances, at most SWEEP_BATCH files per turn. At
 * start, what downloads cut short by a crash left in <data>/media goes. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/codec.h"
#include "wamd.h"
#include "wamd_events.h"

#define SWEEP_BATCH 1000 /* files removed per timer turn; more: the next turn comes in 1 s */
#define DEFAULT_MAX_BYTES (1ll << 30)
#define DEFAULT_RETENTION_S (30ll * 86400)

static const char *const media_types[] = {"imageMessage", "videoMessage", "audioMessage", "documentMessage",
	"stickerMessage"};

static struct {
	struct wamd *d;
	lws_sorted_usec_list_t sul;
	bool armed;
} S;

static long long setting_int(struct wamd_tenant *t, const char *name, long long def)
{
	json_t *v = json_object_get(json_object_get(t->doc, "settings"), name);
	return json_is_integer(v) && json_integer_value(v) >= 0 ? (long long)json_integer_value(v) : def;
}

bool wamd_media_store_on(struct wamd_tenant *t)
{
	return wamd_setting_on(t, "mediaAutoDownload");
}

long long wamd_media_store_max(struct wamd_tenant *t)
{
	return setting_int(t, "mediaStoreMaxBytes", DEFAULT_MAX_BYTES);
}

static long long retention_s(struct wamd_tenant *t)
{
	return setting_int(t, "mediaRetentionSeconds", DEFAULT_RETENTION_S);
}

static int store_root(struct wamd *d, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s/media/store", d->cfg.data_dir);
	return n > 0 && (size_t)n < cap ? 0 : WA_ETOOBIG;
}

/* <root>/<instance id>, created (owner-only) when mk. */
static int inst_dir(struct wamd_tenant *t, bool mk, char *out, size_t cap)
{
	char root[1100];
	if (store_root(t->d, root, sizeof root) != 0)
		return WA_ETOOBIG;
	int n = snprintf(out, cap, "%s/%s", root, wamd_instance_uuid(t));
	if (n <= 0 || (size_t)n >= cap)
		return WA_ETOOBIG;
	if (mk) {
		char media[1100];
		snprintf(media, sizeof media, "%s/media", t->d->cfg.data_dir);
		if ((mkdir(media, 0700) != 0 && errno != EEXIST) || (mkdir(root, 0700) != 0 && errno != EEXIST) ||
		    (mkdir(out, 0700) != 0 && errno != EEXIST))
			return WA_EIO;
	}
	return 0;
}

json_t *wamd_media_in(json_t *message)
{
	for (size_t i = 0; i < sizeof media_types / sizeof *media_types; i++) {
		json_t *m = json_object_get(message, media_types[i]);
		if (json_is_object(m))
			return m;
	}
	return NULL;
}

/* The stored file's path for a media message object (its fileSha256). */
static int file_path(struct wamd_tenant *t, json_t *media, bool mk, char *out, size_t cap)
{
	const char *b64 = json_string_value(json_object_get(media, "fileSha256"));
	uint8_t *sha = NULL;
	size_t n = 0;
	if (!b64 || wa_b64_decode(b64, strlen(b64), &sha, &n) != 0 || n != 32) {
		free(sha);
		return WA_EINVAL;
	}
	char hex[65], dir[1200];
	wamd_hex(sha, 32, hex);
	free(sha);
	int rc = inst_dir(t, mk, dir, sizeof dir);
	if (rc)
		return rc;
	int k = snprintf(out, cap, "%s/%s", dir, hex);
	return k > 0 && (size_t)k < cap ? 0 : WA_ETOOBIG;
}

int wamd_media_store_link(struct wamd_tenant *t, json_t *media, const char *dest, uint64_t *len)
{
	char p[1300];
	struct stat st;
	if (file_path(t, media, false, p, sizeof p) != 0 || stat(p, &st) != 0 || !S_ISREG(st.st_mode))
		return WA_ENOTFOUND;
	if (link(p, dest) != 0)
		return WA_EIO;
	*len = (uint64_t)st.st_size;
	return 0;
}

bool wamd_media_store_touch(struct wamd_tenant *t, json_t *media)
{
	char p[1300];
	if (file_path(t, media, false, p, sizeof p) != 0)
		return false;
	return utimensat(AT_FDCWD, p, NULL, 0) == 0;
}

struct ent {
	char name[72];
	long long mtime_ns;
	long long size;
};

static int by_age(const void *a, const void *b)
{
	const struct ent *x = a, *y = b;
	return x->mtime_ns < y->mtime_ns ? -1 : x->mtime_ns > y->mtime_ns;
}

/* Removes the oldest files of dir until `need` more bytes fit under max
 * (the files the folder holds are counted afresh: eviction is rare). */
static void make_room(const char *dir, long long max, long long need, const char *keep)
{
	DIR *dh = opendir(dir);
	if (!dh)
		return;
	struct ent *v = NULL;
	size_t n = 0, cap = 0;
	long long total = 0;
	struct dirent *e;
	while ((e = readdir(dh))) {
		struct stat st;
		if (e->d_name[0] == '.' || strlen(e->d_name) >= sizeof v->name || fstatat(dirfd(dh), e->d_name, &st, 0) != 0 ||
		    !S_ISREG(st.st_mode) || (keep && !strcmp(e->d_name, keep)))
			continue;
		if (n == cap) {
			struct ent *nv = realloc(v, (cap = cap ? 2 * cap : 64) * sizeof *v);
			if (!nv)
				break;
			v = nv;
		}
		snprintf(v[n].name, sizeof v[n].name, "%s", e->d_name);
		v[n].mtime_ns = (long long)st.st_mtim.tv_sec * 1000000000ll + st.st_mtim.tv_nsec;
		v[n].size = (long long)st.st_size;
		total += v[n].size;
		n++;
	}
	if (v && total + need > max) {
		qsort(v, n, sizeof *v, by_age);
		for (size_t i = 0; i < n && total + need > max; i++)
			if (unlinkat(dirfd(dh), v[i].name, 0) == 0)
				total -= v[i].size;
	}
	closedir(dh);
	free(v);
}

int wamd_media_store_put(struct wamd_tenant *t, json_t *media, const char *staged, uint64_t len)
{
	long long max = wamd_media_store_max(t);
	if ((long long)len > max) {
		LOGW("[%s] received media of %llu bytes not kept: over mediaStoreMaxBytes (%lld)", t->name,
		     (unsigned long long)len, max);
		return WA_ETOOBIG;
	}
	char p[1300], dir[1200];
	int rc = file_path(t, media, true, p, sizeof p);
	if (rc == 0)
		rc = inst_dir(t, false, dir, sizeof dir);
	if (rc)
		return rc;
	struct stat st;
	if (stat(p, &st) == 0) /* the same media again: stored once */
		return utimensat(AT_FDCWD, p, NULL, 0) == 0 ? 0 : WA_EIO;
	make_room(dir, max, (long long)len, NULL);
	if (link(staged, p) != 0 && errno != EEXIST)
		return WA_EIO;
	return chmod(p, 0600) == 0 ? 0 : WA_EIO;
}

/* ---- retention ---- */

static struct wamd_tenant *tenant_by_uuid(struct wamd *d, const char *id)
{
	for (struct wamd_tenant *t = d->tenants; t; t = t->next)
		if (!t->removed && !strcmp(wamd_instance_uuid(t), id))
			return t;
	return NULL;
}

/* Removes expired files (all of a deleted instance's) in dir, at most
 * *budget of them; removes the folder once a deleted instance's is empty. */
static void sweep_dir(struct wamd *d, const char *root, const char *id, int *budget)
{
	struct wamd_tenant *t = tenant_by_uuid(d, id);
	long long keep_s = t ? retention_s(t) : 0;
	if (t && keep_s == 0)
		return; /* 0: kept until evicted */
	char dir[1400];
	snprintf(dir, sizeof dir, "%s/%s", root, id);
	DIR *dh = opendir(dir);
	if (!dh)
		return;
	long long cutoff = wamd_now_ms() / 1000 - keep_s;
	struct dirent *e;
	bool left = false;
	while ((e = readdir(dh))) {
		struct stat st;
		if (e->d_name[0] == '.' || fstatat(dirfd(dh), e->d_name, &st, 0) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (t && (long long)st.st_mtim.tv_sec > cutoff)
			continue;
		if (*budget <= 0) {
			left = true;
			break;
		}
		if (unlinkat(dirfd(dh), e->d_name, 0) == 0)
			(*budget)--;
	}
	closedir(dh);
	if (!t && !left)
		rmdir(dir);
}

static void sweep(lws_sorted_usec_list_t *sul)
{
	(void)sul;
	S.armed = false;
	struct wamd *d = S.d;
	char root[1100];
	int budget = SWEEP_BATCH;
	DIR *dh = store_root(d, root, sizeof root) == 0 ? opendir(root) : NULL;
	struct dirent *e;
	while (dh && budget > 0 && (e = readdir(dh)))
		if (e->d_name[0] != '.')
			sweep_dir(d, root, e->d_name, &budget);
	if (dh)
		closedir(dh);
	long long next_s = budget > 0 ? d->cfg.media_sweep_s : 1;
	lws_sul_schedule(d->ctx, 0, &S.sul, sweep, (lws_usec_t)next_s * LWS_US_PER_SEC);
	S.armed = true;
}

/* Downloads in flight when the last process died (dl-: a client's request,
 * hook-: mediaAutoDownload or webhook base64, each a .part; older
 * versions also left a .enc) are never resumed: a new request downloads afresh. Only complete,
 * verified files ever reach the store, so these are removed unread. */
static void remove_stale_downloads(struct wamd *d)
{
	char dir[1100];
	snprintf(dir, sizeof dir, "%s/media", d->cfg.data_dir);
	DIR *dh = opendir(dir);
	if (!dh)
		return;
	size_t gone = 0;
	struct dirent *e;
	while ((e = readdir(dh)))
		if ((!strncmp(e->d_name, "dl-", 3) || !strncmp(e->d_name, "hook-", 5)) && unlinkat(dirfd(dh), e->d_name, 0) == 0)
			gone++;
	closedir(dh);
	if (gone)
		LOGI("removed %zu files of downloads cut short by the last exit", gone);
}

void wamd_media_store_start(struct wamd *d)
{
	S.d = d;
	remove_stale_downloads(d);
	/* a first turn soon after start: what expired while wamd was down goes now */
	lws_sul_schedule(d->ctx, 0, &S.sul, sweep, 2 * LWS_US_PER_SEC);
	S.armed = true;
}

void wamd_media_store_stop(void)
{
	if (S.armed)
		lws_sul_cancel(&S.sul);
	S.armed = false;
}

json_t *wamd_stored_record(struct wamd *d, int64_t inst, const char *id, int from_me, int *status)
{
	wa_store_mrec_query q;
	memset(&q, 0, sizeof q);
	q.from_me = from_me;
	q.key_id = id;
	q.limit = 1;
	wa_store_mrec_row *rows = NULL;
	size_t n = 0;
	int64_t total = 0;
	json_t *rec = NULL;
	if (wa_store_msgrec_find(d->store, inst, &q, &rows, &n, &total) == 0 && n == 1) {
		rec = json_loadb(rows[0].record, rows[0].record_len, 0, NULL);
		if (status)
			*status = rows[0].status;
	}
	wa_store_mrec_rows_free(rows, n);
	return rec;
}
