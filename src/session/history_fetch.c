/* History blobs fetched ahead of their import (history_fetch.h). A slot
 * goes CONN (media_conn's hosts fetched) -> DL (download and decrypt to its
 * scratch file) -> DONE or FAILED, and is freed when taken or dropped. A
 * callback names its slot by index and generation, so one that outlived
 * its slot (dropped, reused) is recognised and ignored. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "session/history_fetch.h"
#include "session/internal.h"
#include "session/media.h"
#include "store/history.h"

#define HIST_BLOB_MAX (1ull << 30)

enum { SL_FREE, SL_CONN, SL_DL, SL_DONE, SL_FAILED };

struct hslot {
	int state;
	bool dropped;       /* CONN / DL: nobody wants it any more */
	bool transient;     /* FAILED: may do better later */
	int err;
	unsigned gen;
	char msg_id[WA_STORE_JID_MAX];
	char path[512];
	char *direct_path;
	wa_media_blob b;
};

struct wa_hist_fetch {
	struct hslot slot[WA_HIST_AHEAD];
	unsigned gen;
};

wa_hist_fetch *wa_hist_fetch_new(void)
{
	return calloc(1, sizeof(wa_hist_fetch));
}

static void slot_clear(struct hslot *sl)
{
	free(sl->direct_path);
	wa_memzero(&sl->b, sizeof sl->b);
	unsigned gen = sl->gen;
	memset(sl, 0, sizeof *sl);
	sl->gen = gen;
}

void wa_hist_fetch_free(wa_hist_fetch *f)
{
	if (!f)
		return;
	for (int i = 0; i < WA_HIST_AHEAD; i++) {
		if (f->slot[i].state == SL_DONE)
			unlink(f->slot[i].path);
		slot_clear(&f->slot[i]);
	}
	free(f);
}

static void *user_of(const wa_hist_fetch *f, const struct hslot *sl)
{
	return (void *)(uintptr_t)(((uintptr_t)sl->gen << 4) | (uintptr_t)(sl - f->slot));
}

static struct hslot *slot_of(wa_session *s, void *user)
{
	wa_hist_fetch *f = wa_history_fetcher(s);
	uintptr_t u = (uintptr_t)user;
	size_t i = u & 15;
	if (!f || i >= WA_HIST_AHEAD || f->slot[i].gen != (unsigned)(u >> 4) || f->slot[i].state == SL_FREE)
		return NULL;
	return &f->slot[i];
}

static void finish(wa_session *s, struct hslot *sl, int err, bool transient)
{
	if (sl->dropped) {
		if (err == 0)
			unlink(sl->path);
		slot_clear(sl);
		return;
	}
	sl->state = err ? SL_FAILED : SL_DONE;
	sl->err = err;
	sl->transient = transient;
	char id[WA_STORE_JID_MAX];
	snprintf(id, sizeof id, "%s", sl->msg_id);
	wa_history_fetched(s, id);
}

static void on_download(wa_session *s, int err, uint64_t length, void *user)
{
	(void)length;
	struct hslot *sl = slot_of(s, user);
	if (!sl || sl->state != SL_DL)
		return;
	/* expired or tampered blobs never come back; the rest is retried */
	finish(s, sl, err, err == WA_EIO || err == WA_ECLOSED || err == WA_ETIMEOUT || err == WA_ENOMEM);
}

static void on_conn(wa_session *s, int err, void *user)
{
	struct hslot *sl = slot_of(s, user);
	if (!sl || sl->state != SL_CONN)
		return;
	if (sl->dropped) {
		slot_clear(sl);
		return;
	}
	sl->state = SL_DL;
	if (err == 0)
		err = wa_media_download_blob(s, &sl->b, sl->path, on_download, user);
	wa_memzero(sl->b.media_key, sizeof sl->b.media_key);
	if (err)
		finish(s, sl, err, err != WA_EPROTO && err != WA_EINVAL);
}

static struct hslot *find(wa_hist_fetch *f, const char *msg_id)
{
	for (int i = 0; i < WA_HIST_AHEAD; i++)
		if (f->slot[i].state != SL_FREE && !f->slot[i].dropped && strcmp(f->slot[i].msg_id, msg_id) == 0)
			return &f->slot[i];
	return NULL;
}

static bool copy32(uint8_t out[32], const ProtobufCBinaryData *b, protobuf_c_boolean has)
{
	if (!has || b->len != 32)
		return false;
	memcpy(out, b->data, 32);
	return true;
}

int wa_hist_fetch_start(wa_session *s, wa_hist_fetch *f, const char *msg_id,
	const Wa__Message__HistorySyncNotification *n)
{
	if (!f || !msg_id || strlen(msg_id) >= WA_STORE_JID_MAX || !n->direct_path || n->direct_path[0] != '/')
		return WA_EINVAL;
	if (find(f, msg_id))
		return 0;
	struct hslot *sl = NULL;
	for (int i = 0; !sl && i < WA_HIST_AHEAD; i++)
		if (f->slot[i].state == SL_FREE)
			sl = &f->slot[i];
	if (!sl)
		return WA_ESTATE;
	sl->gen = ++f->gen & 0x0fffffffu;
	snprintf(sl->msg_id, sizeof sl->msg_id, "%s", msg_id);
	const char *tmp = getenv("TMPDIR");
	snprintf(sl->path, sizeof sl->path, "%s/wa-hist-%lld-%s", tmp && *tmp ? tmp : "/tmp",
		(long long)s->instance_id, msg_id);
	sl->direct_path = strdup(n->direct_path);
	sl->b = (wa_media_blob){.direct_path = sl->direct_path, .type = WA_MEDIA_HISTORY, .max_len = HIST_BLOB_MAX,
		.file_length = n->has_file_length ? n->file_length : 0};
	sl->state = SL_CONN;
	void *user = user_of(f, sl);
	if (!sl->direct_path) {
		finish(s, sl, WA_ENOMEM, true);
		return 0;
	}
	if (!copy32(sl->b.media_key, &n->media_key, n->has_media_key) ||
	    !copy32(sl->b.file_sha256, &n->file_sha256, n->has_file_sha256) ||
	    !copy32(sl->b.file_enc_sha256, &n->file_enc_sha256, n->has_file_enc_sha256)) {
		finish(s, sl, WA_EPROTO, false);
		return 0;
	}
	/* on_conn may run before this returns */
	int rc = wa_media_conn_ensure(s, on_conn, user);
	if (rc) {
		sl = slot_of(s, user);
		if (sl && sl->state == SL_CONN)
			finish(s, sl, rc, true);
	}
	return 0;
}

int wa_hist_fetch_take(wa_hist_fetch *f, const char *msg_id, char *path, size_t cap, bool *transient)
{
	struct hslot *sl = f ? find(f, msg_id) : NULL;
	if (!sl)
		return WA_ENOTFOUND;
	if (sl->state == SL_CONN || sl->state == SL_DL)
		return 0;
	int rc = sl->state == SL_DONE ? 1 : sl->err;
	*transient = sl->transient;
	if (rc == 1)
		snprintf(path, cap, "%s", sl->path);
	slot_clear(sl);
	return rc;
}

void wa_hist_fetch_keep(wa_hist_fetch *f, const char *const *keep, size_t n)
{
	for (int i = 0; f && i < WA_HIST_AHEAD; i++) {
		struct hslot *sl = &f->slot[i];
		/* a download that failed for now (the connection closed) is
		 * tried again rather than handed to its import as a failure */
		bool kept = sl->state == SL_FREE || sl->dropped;
		for (size_t k = 0; !kept && k < n && !(sl->state == SL_FAILED && sl->transient); k++)
			kept = strcmp(sl->msg_id, keep[k]) == 0;
		if (kept)
			continue;
		if (sl->state == SL_CONN || sl->state == SL_DL) {
			sl->dropped = true;
		} else {
			if (sl->state == SL_DONE)
				unlink(sl->path);
			slot_clear(sl);
		}
	}
}
