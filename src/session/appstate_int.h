/* The calls between the files of app-state sync (internal to src/session):
 * appstate.c, the read side (sync keys, fetches, verified patches and
 * snapshots, external blobs, inputs, lifecycle); appstate_push.c, the write
 * side (our own mutations, and wa_as_kick, the next step when idle);
 * appstate_action.c, what both apply (the store as the syncd codec sees it,
 * one mutation's rows and event). The state behind s->appstate is here. */
#ifndef WA_SESSION_APPSTATE_INT_H
#define WA_SESSION_APPSTATE_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "session/msgstate.h"
#include "session/syncd.h"
#include "sync_action.pb-c.h"

#define AS_N 5
/* the collections, by index (a bit each in the masks below) */
extern const char *const wa_as_names[AS_N];

struct wa_appstate {
	unsigned want;     /* collections to fetch */
	unsigned inflight; /* asked in the iq now in flight */
	unsigned blocked;  /* waiting for a sync key */
	unsigned resynced; /* state dropped after a failed check, fetched again */
	unsigned dead;     /* failed again after that: not fetched until a trigger */
	unsigned rounds;
	bool busy;
	/* the answer being worked through: items, collections stopped by a
	 * refusal, a download in flight, the connection generation */
	struct as_work *work, **work_tail;
	unsigned stopped;
	bool downloading;
	unsigned gen, dl_seq;
	/* the last key we asked our phone for, once per connection */
	uint8_t asked[WA_SYNCD_KEY_ID_MAX];
	size_t asked_len;
	/* the write side: the queue (head in flight while pushing) and what the
	 * head's patch brings the collection to */
	struct as_push *q;
	bool pushing;
	uint64_t push_ver;
	uint8_t push_hash[WA_SYNCD_HASH_LEN];
	uint8_t push_macs[1][2][WA_SYNCD_MAC_LEN];
};

/* appstate.c: sends the fetch of the wanted collections (when idle) */
void wa_as_sync_start(wa_session *s);

/* appstate_push.c: the next step when idle (a wanted fetch, else the
 * queue's head); the head taken off the queue, its caller told err */
void wa_as_kick(wa_session *s);
void wa_as_push_done(wa_session *s, int err, const char *detail);
/* the queue a previous run left in the store, appended (at init); the
 * queue emptied at free, its stored rows kept */
int wa_as_push_load(wa_session *s);
void wa_as_push_drop(wa_session *s);

/* appstate_action.c: the syncd codec's view of the store (user: a
 * struct wa_as_mac_ctx) */
struct wa_as_mac_ctx {
	wa_session *s;
	const char *name;
};
int wa_as_get_keys(void *user, const uint8_t *id, size_t len, wa_syncd_keys *out);
int wa_as_get_value_mac(void *user, const uint8_t index_mac[32], uint8_t out[32]);

/* What one mutation means, for the store and the events. */
typedef struct wa_as_action {
	const char *type;        /* index[0] */
	const char *jid;         /* index[1] or NULL */
	const char *msg_id;      /* star / deleteMessageForMe: index[2]; label_message: index[3] */
	bool from_me;            /* star / deleteMessageForMe: index[3] == "1" */
	const char *arg2;        /* index[2] (a label association's chat) */
	Wa__SyncActionValue *v;  /* NULL when it does not parse */
} wa_as_action;

void wa_as_action_parse(const wa_syncd_mutation *m, json_t **idx, wa_as_action *a);
void wa_as_action_free(json_t *idx, wa_as_action *a);
/* Store side of one mutation (inside the patch's transaction). *name_set:
 * the push name changed. */
int wa_as_apply_store(wa_session *s, const char *coll, const wa_syncd_mutation *m, const wa_as_action *a,
	bool *name_set);
void wa_as_emit_action(wa_session *s, const char *coll, const wa_syncd_mutation *m, const wa_as_action *a);

#endif
