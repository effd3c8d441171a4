/* The media half's shared parts (src/session, internal): media.c owns
 * media_conn and uploads (the outbox's 'M' rows), media_dl.c downloads. */
#ifndef WA_SESSION_MEDIA_H
#define WA_SESSION_MEDIA_H

#include "media/cipher.h"
#include "session/msgstate.h"
#include "transport/http.h"

#define WA_MEDIA_MAX_HOSTS 4
#define WA_MEDIA_TICK (4u << 20)          /* cipher bytes per loop turn */
#define WA_MEDIA_IO (64u << 10)           /* file read size */
#define WA_MEDIA_IDLE_MS 30000u           /* a transfer without progress this long fails */
#define WA_MEDIA_ANSWER_MS 30000u         /* the host's answer to an upload, counted from its last byte */
#define WA_MEDIA_CONN_TTL_DEFAULT_S 300
#define WA_MEDIA_RESP_MAX 8192            /* upload answer (JSON) */
#define WA_MEDIA_ORIGIN "https://web.whatsapp.com"
#define WA_MEDIA_KINDS 5

struct wa_media_up;
struct wa_media_dl;
struct wa_media_rr;

struct wa_media_state {
	char auth[512];
	char hosts[WA_MEDIA_MAX_HOSTS][256];
	size_t n_hosts;
	int64_t expires_ms; /* wa_mono_ms; 0: none */
	bool conn_waiting;  /* a media_conn iq is out */
	struct wa_media_up *up;
	struct wa_media_dl *dls;
	struct wa_media_rr *rrs; /* media-retry requests waiting for the phone */
};

/* Baileys' content names and HKDF key types of the five kinds. */
extern const char *const wa_media_kind_json[WA_MEDIA_KINDS];
extern const enum wa_media_type wa_media_kind_keys[WA_MEDIA_KINDS];
/* s->msg->media, created on first use (NULL without memory). */
struct wa_media_state *wa_media_state_of(wa_session *s);
/* read(2) of up to cap bytes, retried on EINTR. */
int wa_media_read_some(int fd, uint8_t *buf, size_t cap, size_t *n) WA_MUST_CHECK;
/* media.c: media_conn's hosts known and fresh, then fn(s, 0, user);
 * otherwise fetched first (fn gets the iq's error). fn may run before
 * this returns. */
typedef void (*wa_media_conn_fn)(wa_session *s, int err, void *user);
int wa_media_conn_ensure(wa_session *s, wa_media_conn_fn fn, void *user) WA_MUST_CHECK;

/* A blob named by a direct path and its hashes (history and app-state
 * blobs), downloaded from media_conn's first host (fetch it first) and
 * decrypted to dest_path as wa_session_download_media does, without its
 * fsync: the file is scratch, read once and deleted. */
typedef struct wa_media_blob {
	const char *direct_path;
	uint8_t media_key[32], file_sha256[32], file_enc_sha256[32];
	uint64_t file_length; /* 0: unknown */
	enum wa_media_type type;
	uint64_t max_len;
} wa_media_blob;
int wa_media_download_blob(wa_session *s, const wa_media_blob *b, const char *dest_path, wa_download_fn done,
	void *user) WA_MUST_CHECK;

/* Sends the media_conn iq unless one is out; its answer goes to the
 * upload waiting for it and to wa_media_dl_conn_done. */
int wa_media_conn_fetch(wa_session *s) WA_MUST_CHECK;
/* media_dl.c: where a received message's blob is. path: its directPath,
 * else the path of its https url (*url_only set: that url's host must then
 * be a media host); host: the url's host ("" when none). WA_EINVAL when
 * neither gives a path. Pure: no I/O. */
int wa_media_dl_where(const char *url, const char *dp, char *path, size_t path_cap, char *host, size_t host_cap,
	bool *url_only) WA_MUST_CHECK;
/* media_dl.c: media_conn answered (err 0: ms->hosts is set). */
void wa_media_dl_conn_done(wa_session *s, int err);
/* media_dl.c: ends every download with WA_ECLOSED (session free). */
void wa_media_downloads_end(wa_session *s);
/* media_rr.c: a <notification type="mediaretry"> (acked here), handed to
 * the request waiting for its id. */
int wa_media_rr_handle_notification(wa_session *s, const wa_node *n);
/* media_rr.c: ends every media-retry request with WA_ECLOSED (session free). */
void wa_media_retries_end(wa_session *s);

#endif
