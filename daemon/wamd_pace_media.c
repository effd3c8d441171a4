/* Held media sends (wamd_pace.h): the staged file stays on disk under
 * <data>/media as "held-<instance id>-<message id>" (owner-only, as staged) and
 * the queue row keeps only its name and the message's fields, so a held
 * video does not sit base64 in the store and survives a restart. libwa owns
 * the file once the scheduler hands it over (it removes it once sealed); a
 * send dropped at release or an instance deleted removes it here. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/codec.h"
#include "wa/store_pace.h"
#include "wamd_pace_media.h"

#define HELD_PREFIX "held-"
#define SWEEP_BATCH 64 /* directory entries per loop turn */

static int held_path(struct wamd *d, const char *name, char *path, size_t cap)
{
	/* a name from the store never leaves the media folder */
	if (!name || strncmp(name, HELD_PREFIX, strlen(HELD_PREFIX)) != 0 || strchr(name, '/'))
		return WA_EDB_CORRUPT;
	int n = snprintf(path, cap, "%s/media/%s", d->cfg.data_dir, name);
	return n > 0 && (size_t)n < cap ? 0 : WA_ETOOBIG;
}

int wamd_pace_media_file(struct wamd *d, json_t *p, char *path, size_t cap)
{
	char dir[1024];
	snprintf(dir, sizeof dir, "%s/media", d->cfg.data_dir);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return WA_EIO;
	return held_path(d, json_string_value(json_object_get(p, "file")), path, cap);
}

static void set_b64(json_t *o, const char *key, const uint8_t *b, size_t n)
{
	char *s = b && n ? wa_b64_encode(b, n) : NULL;
	if (s)
		json_object_set_new(o, key, json_string(s));
	free(s);
}

json_t *wamd_pace_media_hold(struct wamd_tenant *t, const wa_media_send *m, const struct wamd_send_extra *x,
			      const char *id, char *held, size_t cap)
{
	char name[256];
	snprintf(name, sizeof name, HELD_PREFIX "%lld-%s", (long long)t->id, id);
	if (held_path(t->d, name, held, cap) != 0 || rename(m->path, held) != 0)
		return NULL;
	json_t *p = json_pack("{s:s, s:s, s:i, s:s, s:s, s:b, s:b, s:I, s:I, s:I, s:b, s:I}", "kind", "media", "id", id,
			      "mediaKind",
			      (int)m->kind, "file", name, "mimetype", m->mimetype, "ptt", m->ptt, "viewOnce",
			      m->view_once, "seconds", (json_int_t)m->seconds, "width", (json_int_t)m->width, "height",
			      (json_int_t)m->height, "animated", m->animated, "pageCount", (json_int_t)m->page_count);
	if (!p) {
		unlink(held);
		return NULL;
	}
	if (m->caption)
		json_object_set_new(p, "caption", json_string(m->caption));
	if (m->file_name)
		json_object_set_new(p, "fileName", json_string(m->file_name));
	set_b64(p, "thumbnail", m->thumbnail, m->thumbnail_len);
	set_b64(p, "waveform", m->waveform, m->waveform_len);
	if (x->n_mentions) {
		json_t *mj = json_array();
		for (size_t i = 0; i < x->n_mentions; i++)
			json_array_append_new(mj, json_string(x->mentions[i]));
		json_object_set_new(p, "mentions", mj);
	}
	if (x->quoted_id) {
		json_t *q = json_pack("{s:s, s:b}", "id", x->quoted_id, "fromMe", x->quoted_from_me);
		if (q && x->quoted_jid)
			json_object_set_new(q, "remoteJid", json_string(x->quoted_jid));
		if (q && x->quoted_text)
			json_object_set_new(q, "text", json_string(x->quoted_text));
		if (q && x->quoted_participant)
			json_object_set_new(q, "participant", json_string(x->quoted_participant));
		if (q && x->quoted_message)
			json_object_set_new(q, "message", json_string(x->quoted_message));
		json_object_set_new(p, "quoted", q);
	}
	return p;
}

int wamd_pace_send_media(struct wamd_tenant *t, const char *jid, const char *id, json_t *p)
{
	char path[1200];
	int rc = held_path(t->d, json_string_value(json_object_get(p, "file")), path, sizeof path);
	if (rc != 0)
		return rc;
	json_int_t kind = json_integer_value(json_object_get(p, "mediaKind"));
	wa_media_send m = {
		.kind = (enum wa_media_kind)kind, .path = path,
		.mimetype = json_string_value(json_object_get(p, "mimetype")),
		.caption = json_string_value(json_object_get(p, "caption")),
		.file_name = json_string_value(json_object_get(p, "fileName")),
		.ptt = json_is_true(json_object_get(p, "ptt")),
		.view_once = json_is_true(json_object_get(p, "viewOnce")),
		.seconds = (uint32_t)json_integer_value(json_object_get(p, "seconds")),
		.width = (uint32_t)json_integer_value(json_object_get(p, "width")),
		.height = (uint32_t)json_integer_value(json_object_get(p, "height")),
		.animated = json_is_true(json_object_get(p, "animated")),
		.page_count = (uint32_t)json_integer_value(json_object_get(p, "pageCount")),
	};
	uint8_t *thumb = NULL, *wave = NULL;
	const char *tb = json_string_value(json_object_get(p, "thumbnail"));
	const char *wb = json_string_value(json_object_get(p, "waveform"));
	if (tb && wa_b64_decode(tb, strlen(tb), &thumb, &m.thumbnail_len) == 0)
		m.thumbnail = thumb;
	if (wb && wa_b64_decode(wb, strlen(wb), &wave, &m.waveform_len) == 0)
		m.waveform = wave;
	json_t *mj = json_object_get(p, "mentions");
	size_t nm = json_array_size(mj);
	const char **mp = nm ? calloc(nm, sizeof *mp) : NULL;
	for (size_t i = 0; mp && i < nm; i++)
		mp[i] = json_string_value(json_array_get(mj, i));
	char *out = NULL;
	if (kind < WA_MEDIA_KIND_IMAGE || kind > WA_MEDIA_KIND_STICKER || !m.mimetype)
		rc = WA_EDB_CORRUPT;
	else if (nm && !mp)
		rc = WA_ENOMEM;
	else {
		json_t *q = json_object_get(p, "quoted");
		struct wamd_send_extra x = { .id = id, .mentions = mp, .n_mentions = nm,
			.quoted_id = json_string_value(json_object_get(q, "id")),
			.quoted_jid = json_string_value(json_object_get(q, "remoteJid")),
			.quoted_text = json_string_value(json_object_get(q, "text")),
			.quoted_participant = json_string_value(json_object_get(q, "participant")),
			.quoted_message = json_string_value(json_object_get(q, "message")),
			.quoted_from_me = json_is_true(json_object_get(q, "fromMe")) };
		rc = wamd_tenant_send_media(t, jid, &m, &x, &out);
	}
	/* libwa took the file (or had it already, before a crash); anything
	 * else drops the send, and the file with it */
	if (rc != 0 && rc != WA_EEXIST)
		unlink(path);
	free(out);
	free(mp);
	free(thumb);
	free(wave);
	return rc;
}

void wamd_pace_media_purge(struct wamd *d, int64_t instance_id)
{
	char dir[1024], prefix[64];
	snprintf(dir, sizeof dir, "%s/media", d->cfg.data_dir);
	snprintf(prefix, sizeof prefix, HELD_PREFIX "%lld-", (long long)instance_id);
	DIR *dp = opendir(dir);
	if (!dp)
		return;
	size_t pl = strlen(prefix), gone = 0;
	struct dirent *e;
	while ((e = readdir(dp)) != NULL) {
		char path[1200];
		if (strncmp(e->d_name, prefix, pl) != 0 ||
		    snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path)
			continue;
		if (unlink(path) == 0)
			gone++;
		else if (errno != ENOENT)
			LOGW("pacing: held media %s not removed: %s", path, strerror(errno));
	}
	closedir(dp);
	if (gone)
		LOGI("pacing: %zu held media files of a deleted instance removed", gone);
}

void wamd_pace_media_drop(struct wamd *d, json_t *p)
{
	const char *kind = json_string_value(json_object_get(p, "kind"));
	char path[1200];
	if (!kind || strcmp(kind, "media") ||
	    held_path(d, json_string_value(json_object_get(p, "file")), path, sizeof path) != 0)
		return;
	if (unlink(path) != 0 && errno != ENOENT)
		LOGW("pacing: held media %s not removed: %s", path, strerror(errno));
}

/* ---- the start-up sweep ---- */

static struct {
	struct wamd *d;
	DIR *dp;
	lws_sorted_usec_list_t sul;
	size_t seen, gone;
} S;

/* "held-<instance id>-<message id>" with an id of wamd_pace_new_id's
 * shape ("3EB0" + 18 upper-case hex digits); false for any other name */
static bool held_name(const char *name, int64_t *iid, char id[32])
{
	size_t pl = strlen(HELD_PREFIX);
	if (strncmp(name, HELD_PREFIX, pl) != 0 || !isdigit((unsigned char)name[pl]))
		return false;
	char *end = NULL;
	long long v = strtoll(name + pl, &end, 10);
	if (*end != '-' || strlen(end + 1) != 22 || strncmp(end + 1, "3EB0", 4) != 0)
		return false;
	for (const char *c = end + 5; *c; c++)
		if (!isdigit((unsigned char)*c) && !(*c >= 'A' && *c <= 'F'))
			return false;
	*iid = v;
	snprintf(id, 32, "%s", end + 1);
	return true;
}

static void sweep_end(void)
{
	if (S.dp)
		closedir(S.dp);
	S.dp = NULL;
	if (S.gone)
		LOGI("pacing: %zu held media files no send owns removed (of %zu)", S.gone, S.seen);
}

static void sweep_turn(lws_sorted_usec_list_t *sul)
{
	(void)sul;
	struct dirent *e = NULL;
	for (int k = 0; k < SWEEP_BATCH && (e = readdir(S.dp)) != NULL; k++) {
		int64_t iid;
		char id[32], path[1200];
		if (!held_name(e->d_name, &iid, id) || held_path(S.d, e->d_name, path, sizeof path) != 0)
			continue; /* not a held file, or one named before ids named them: left alone */
		S.seen++;
		bool used = true;
		if (wa_store_pace_id_in_use(S.d->store, iid, id, &used) != 0 || used)
			continue;
		if (unlink(path) == 0)
			S.gone++;
		else if (errno != ENOENT)
			LOGW("pacing: held media %s not removed: %s", path, strerror(errno));
	}
	if (!e) {
		sweep_end();
		return;
	}
	lws_sul_schedule(S.d->ctx, 0, &S.sul, sweep_turn, 1); /* the rest on a later turn */
}

void wamd_pace_media_sweep(struct wamd *d)
{
	char dir[1024];
	snprintf(dir, sizeof dir, "%s/media", d->cfg.data_dir);
	memset(&S, 0, sizeof S);
	S.d = d;
	S.dp = opendir(dir);
	if (S.dp)
		lws_sul_schedule(d->ctx, 0, &S.sul, sweep_turn, 1);
}

void wamd_pace_media_sweep_stop(void)
{
	if (!S.d)
		return;
	lws_sul_cancel(&S.sul);
	sweep_end();
	S.d = NULL;
}
