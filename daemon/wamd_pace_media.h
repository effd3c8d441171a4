/* Held media sends (wamd_pace_media.c): the staged file waits owner-only
 * under <data>/media with a held name until the pacing scheduler releases
 * the send to libwa (which owns the file from then). */
#ifndef WAMD_PACE_MEDIA_H
#define WAMD_PACE_MEDIA_H

#include "wamd.h"

/* Moves m's staged file to its held name, "held-<instance id>-<id>" (held:
 * its path), and returns the "media" payload for wamd_pace_enqueue with id
 * (wamd_pace_new_id; x's mentions and quote kept), or NULL (the file not
 * moved, or removed). A send not queued after all must unlink held. */
json_t *wamd_pace_media_hold(struct wamd_tenant *t, const wa_media_send *m, const struct wamd_send_extra *x,
			      const char *id, char *held, size_t cap);
/* The path of a "media" payload's held file in d's media folder (made
 * when missing); WA_EDB_CORRUPT for a name that is not a held one. */
int wamd_pace_media_file(struct wamd *d, json_t *p, char *path, size_t cap);
/* A cancelled send's payload: its held file, if any, is removed. */
void wamd_pace_media_drop(struct wamd *d, json_t *p);
/* At start-up: removes, a batch per loop turn, the held files no send owns
 * any more (no paced row nor libwa outbox row with the id they are named
 * after: a crash between the file's move and its row's commit, or between
 * a cancel's commit and the file's removal). */
void wamd_pace_media_sweep(struct wamd *d);
void wamd_pace_media_sweep_stop(void);
/* Releases a held "media" payload with id; the file is removed when the
 * send is dropped. */
int wamd_pace_send_media(struct wamd_tenant *t, const char *jid, const char *id, json_t *p);
/* Removes a deleted instance's held media files. */
void wamd_pace_media_purge(struct wamd *d, int64_t instance_id);

#endif
