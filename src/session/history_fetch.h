/* History blobs fetched ahead of their import (history_fetch.c): while one
 * notification is imported, the blobs of the next ones download, so an
 * import of many chunks does not wait a media round trip per chunk. Each
 * blob is decrypted to a scratch file; at most WA_HIST_AHEAD are on disk or
 * on their way, so memory stays what one import needs. */
#ifndef WA_SESSION_HISTORY_FETCH_H
#define WA_SESSION_HISTORY_FETCH_H

#include <stdbool.h>
#include <stddef.h>

#include "message.pb-c.h"
#include "wa/session.h"

#define WA_HIST_AHEAD 4

typedef struct wa_hist_fetch wa_hist_fetch;

wa_hist_fetch *wa_hist_fetch_new(void);
/* Deletes the downloaded files; downloads still running end unheard. */
void wa_hist_fetch_free(wa_hist_fetch *f);
/* Starts the blob of notification msg_id (to a scratch file named after
 * instance_id and msg_id) unless it is on its way or there already.
 * WA_ESTATE: every slot is taken. */
int wa_hist_fetch_start(wa_session *s, wa_hist_fetch *f, const char *msg_id,
	const Wa__Message__HistorySyncNotification *n) WA_MUST_CHECK;
/* 1: downloaded, its path in path (the file is the caller's now); 0: on its
 * way (wa_history_fetched follows); WA_ENOTFOUND: never started; another
 * error: the download failed, *transient says whether a later try may do
 * better. The slot is freed unless on its way. */
int wa_hist_fetch_take(wa_hist_fetch *f, const char *msg_id, char *path, size_t cap, bool *transient) WA_MUST_CHECK;
/* Drops the blobs of notifications not in keep[0..n) (one still on its way
 * is deleted when it arrives), and the downloads that failed for now, so
 * that they are tried again. */
void wa_hist_fetch_keep(wa_hist_fetch *f, const char *const *keep, size_t n);

/* history.c: the fetcher of s's history (NULL once it is gone), and the
 * news that the blob of msg_id arrived or failed. */
wa_hist_fetch *wa_history_fetcher(wa_session *s);
void wa_history_fetched(wa_session *s, const char *msg_id);

#endif
