/* src/session/appstate_push.c: app state, the write side
 * (wa_session_chat_modify; messaging.md §9): our own mutations, queued and
 * sent one at a time as patches on top of the stored state, with
 * fetch-and-retry on a version conflict, applied once accepted; one whose
 * answer never came (timeout, connection lost) is kept, the collection
 * fetched (after the reconnect), and it is sent again only if the fetch
 * does not show it accepted: applied exactly once. Each is kept in the
 * store (app_state_pending, with its IV) from the moment it is accepted
 * until the server applied or refused it, so that the same holds across a
 * restart or a crash: the queue is loaded again, every loaded mutation
 * taken as possibly sent. wa_as_kick, the next step when app state is
 * idle, lives here: a fetch the read side (appstate.c) wants goes first,
 * then the queue's head. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "message.pb-c.h"
#include "pb.h"
#include "session/appstate_int.h"
#include "session/appstate_mod.h"
#include "util/log.h"

#define AS_MAX_ROUNDS 50 /* has_more_patches rounds per trigger */
#define AS_MAX_LOST 5    /* sends of one mutation without an answer before giving up */

/* One of our own mutations waiting to be sent (queue order). */
struct as_push {
	struct as_push *next;
	int64_t row; /* its app_state_pending row (0: gone already) */
	int ci;
	char *index_json;
	uint8_t *value; /* serialized SyncActionValue */
	size_t value_len;
	int32_t api;    /* SyncActionData.version */
	unsigned tries; /* conflicts met */
	unsigned lost;  /* sends that got no answer (timeout, connection lost) */
	/* one IV for every send: the same encoding each time, so a send whose
	 * answer was lost is recognised in the fetched state (its value MAC) */
	uint8_t iv[16];
	wa_chat_mod_fn done;
	void *user;
};

static void push_next(wa_session *s);

static void push_append(struct wa_appstate *as, struct as_push *p)
{
	struct as_push **tail = &as->q;
	while (*tail)
		tail = &(*tail)->next;
	*tail = p;
}

/* Next step when idle: fetches first (a conflict asked for one), then the
 * queue's head. */
void wa_as_kick(wa_session *s)
{
	struct wa_appstate *as = s->appstate;
	if (!as || as->busy || as->pushing || !ready(s))
		return;
	if ((as->want & ~as->blocked & ~as->dead) && as->rounds < AS_MAX_ROUNDS)
		wa_as_sync_start(s);
	else
		push_next(s);
}

static void push_free(struct as_push *p)
{
	free(p->index_json);
	free(p->value);
	free(p);
}

/* Takes the head off the queue and its row out of the store (it was
 * applied, or refused for good), and reports how it ended. */
void wa_as_push_done(wa_session *s, int err, const char *detail)
{
	struct wa_appstate *as = s->appstate;
	struct as_push *p = as->q;
	if (!p)
		return;
	as->q = p->next;
	if (p->row && wa_store_app_state_pending_del(s->store, s->instance_id, p->row) != 0)
		WA_DEBUG("appstate", "[%lld] own %s: pending row %lld not deleted", (long long)s->instance_id,
			p->index_json, (long long)p->row);
	if (err)
		WA_DEBUG("appstate", "[%lld] own %s not applied: %s", (long long)s->instance_id, p->index_json,
			detail ? detail : wa_errname(err));
	if (p->done)
		p->done(s, err, detail, p->user);
	push_free(p);
}

/* The raw 32 bytes of the key our patches are encoded with, and its id. */
static int latest_key(wa_session *s, uint8_t id[WA_SYNCD_KEY_ID_MAX], size_t *id_len, uint8_t data[32])
{
	int rc = wa_store_app_state_key_latest(s->store, s->instance_id, id, id_len);
	uint8_t *d = NULL;
	size_t dl = 0;
	if (rc == 0)
		rc = wa_store_app_state_key_load(s->store, s->instance_id, id, *id_len, &d, &dl);
	if (rc != 0)
		return rc;
	ProtobufCMessage *pb = NULL;
	rc = wa_pb_unpack(&pb, &wa__message__app_state_sync_key_data__descriptor, d, dl, 4096);
	wa_memzero(d, dl);
	free(d);
	if (rc != 0)
		return WA_EMALFORMED;
	const Wa__Message__AppStateSyncKeyData *kd = (const Wa__Message__AppStateSyncKeyData *)pb;
	rc = kd->has_key_data && kd->key_data.len == 32 ? 0 : WA_EMALFORMED;
	if (rc == 0)
		memcpy(data, kd->key_data.data, 32);
	protobuf_c_message_free_unpacked(pb, NULL);
	return rc;
}

static void on_push(wa_session *s, int err, const wa_node *resp, void *user);

static void push_next(wa_session *s)
{
	struct wa_appstate *as = s->appstate;
	struct as_push *p = as->q;
	if (!p)
		return;
	const char *coll = wa_as_names[p->ci];
	if (as->blocked & (1u << p->ci)) {
		wa_as_push_done(s, WA_ENOTFOUND, "the collection waits for a sync key");
		wa_as_kick(s);
		return;
	}
	if (as->dead & (1u << p->ci)) {
		wa_as_push_done(s, WA_EPROTO, "the collection is stopped (refused again after a full resync)");
		wa_as_kick(s);
		return;
	}
	uint64_t ver = 0;
	int rc = wa_store_app_state_version_load(s->store, s->instance_id, coll, &ver, as->push_hash);
	if (rc == WA_ENOTFOUND) {
		memset(as->push_hash, 0, sizeof as->push_hash);
		rc = 0;
	}
	uint8_t kid[WA_SYNCD_KEY_ID_MAX], kdata[32];
	size_t kid_len = 0;
	if (rc == 0) {
		rc = latest_key(s, kid, &kid_len, kdata);
		if (rc == WA_ENOTFOUND) {
			wa_as_push_done(s, rc, "no sync key from our phone yet");
			wa_as_kick(s);
			return;
		}
	}
	wa_syncd_new m = {.op = WA_SYNCD_SET, .index_json = p->index_json, .value = p->value,
		.value_len = p->value_len, .version = p->api};
	memcpy(m.iv, p->iv, sizeof m.iv);
	struct wa_as_mac_ctx mc = {s, coll};
	wa_syncd_ops ops = {.get_keys = wa_as_get_keys, .get_value_mac = wa_as_get_value_mac, .user = &mc};
	uint8_t *patch = NULL;
	size_t plen = 0;
	if (rc == 0)
		rc = wa_syncd_encode_patch(coll, ver, as->push_hash, kdata, 32, kid, kid_len, &m, 1, &ops, as->push_macs,
			&patch, &plen);
	wa_memzero(kdata, sizeof kdata);
	uint8_t have[WA_SYNCD_MAC_LEN];
	if (rc == 0 && p->lost && wa_as_get_value_mac(&mc, as->push_macs[0][0], have) == 0 &&
	    memcmp(have, as->push_macs[0][1], sizeof have) == 0) {
		/* an earlier send whose answer was lost was accepted: the fetch
		 * applied it (and announced it) */
		free(patch);
		WA_DEBUG("appstate", "[%lld] own %s was accepted before the answer was lost", (long long)s->instance_id,
			p->index_json);
		wa_as_push_done(s, 0, NULL);
		wa_as_kick(s);
		return;
	}
	if (rc == 0)
		rc = wa_appstate_strip_version(&patch, &plen);
	wa_node *iq = NULL, *sync = NULL, *c = NULL, *pn = NULL;
	char v[24];
	snprintf(v, sizeof v, "%llu", (unsigned long long)ver);
	rc = rc ? rc : wa_node_new(&iq, "iq");
	rc = rc ? rc : wa_node_set_attr(iq, "to", "s.whatsapp.net");
	rc = rc ? rc : wa_node_set_attr(iq, "xmlns", "w:sync:app:state");
	rc = rc ? rc : wa_node_set_attr(iq, "type", "set");
	rc = rc ? rc : wa_node_add_new(iq, "sync", &sync);
	rc = rc ? rc : wa_node_add_new(sync, "collection", &c);
	rc = rc ? rc : wa_node_set_attr(c, "name", coll);
	rc = rc ? rc : wa_node_set_attr(c, "version", v);
	rc = rc ? rc : wa_node_set_attr(c, "return_snapshot", "false");
	rc = rc ? rc : wa_node_add_new(c, "patch", &pn);
	rc = rc ? rc : wa_node_set_bytes(pn, patch, plen);
	free(patch);
	if (rc == 0)
		rc = wa_iq_send(s, iq, 0, on_push, NULL);
	wa_node_free(iq);
	if (rc != 0) {
		wa_as_push_done(s, rc, "patch not sent");
		wa_as_kick(s);
		return;
	}
	as->push_ver = ver;
	as->busy = as->pushing = true;
}

/* Stores and announces the head, which the server accepted. */
static int push_apply(wa_session *s)
{
	struct wa_appstate *as = s->appstate;
	struct as_push *p = as->q;
	const char *coll = wa_as_names[p->ci];
	wa_syncd_mutation m = {.op = WA_SYNCD_SET, .index_json = p->index_json, .value = p->value,
		.value_len = p->value_len, .version = p->api};
	memcpy(m.index_mac, as->push_macs[0][0], WA_SYNCD_MAC_LEN);
	memcpy(m.value_mac, as->push_macs[0][1], WA_SYNCD_MAC_LEN);
	json_t *idx = NULL;
	wa_as_action a;
	wa_as_action_parse(&m, &idx, &a);
	bool name_set = false;
	int rc = wa_store_begin(s->store);
	if (rc == 0)
		rc = wa_as_apply_store(s, coll, &m, &a, &name_set);
	if (rc == 0)
		rc = wa_store_app_state_version_save(s->store, s->instance_id, coll, as->push_ver + 1, as->push_hash);
	if (rc == 0 && p->row)
		rc = wa_store_app_state_pending_del(s->store, s->instance_id, p->row);
	if (rc == 0)
		rc = wa_store_commit(s->store);
	else
		wa_store_rollback(s->store);
	if (rc == 0) {
		p->row = 0;
		wa_as_emit_action(s, coll, &m, &a);
	}
	wa_as_action_free(idx, &a);
	return rc;
}

static void on_push(wa_session *s, int err, const wa_node *resp, void *user)
{
	(void)user;
	struct wa_appstate *as = s->appstate;
	if (!as || !as->pushing || !as->q)
		return;
	as->busy = as->pushing = false;
	struct as_push *p = as->q;
	const wa_node *sync = err == 0 && resp ? wa_node_child(resp, "sync") : NULL;
	const wa_node *c = sync ? wa_node_child(sync, "collection") : NULL;
	const char *type = c ? wa_node_attr(c, "type") : NULL;
	if ((err == WA_ETIMEOUT || err == WA_ECLOSED) && ++p->lost < AS_MAX_LOST) {
		/* the server may or may not have it: fetch first (after the
		 * reconnect when the connection went), then send again unless the
		 * fetch brought it */
		WA_DEBUG("appstate", "[%lld] own %s: %s, sending again", (long long)s->instance_id, p->index_json,
			err == WA_ETIMEOUT ? "no answer" : "connection lost");
		as->want |= 1u << p->ci;
		as->rounds = 0;
	} else if (err) {
		wa_as_push_done(s, err, err == WA_ETIMEOUT ? "no answer from the server" : err == WA_ECLOSED ?
			"connection closed" : "server refused the iq");
	} else if (!c) {
		wa_as_push_done(s, WA_EPROTO, "answer without the collection");
	} else if (type && strcmp(type, "error") == 0) {
		const wa_node *e = wa_node_child(c, "error");
		const char *code = e ? wa_node_attr(e, "code") : NULL;
		if (code && strcmp(code, "409") == 0 && ++p->tries < 3) {
			/* another device got there first: catch up, then encode again */
			WA_DEBUG("appstate", "[%lld] %s: version conflict, fetching", (long long)s->instance_id,
				wa_as_names[p->ci]);
			as->want |= 1u << p->ci;
			as->rounds = 0;
		} else {
			wa_as_push_done(s, WA_EPROTO, code && strcmp(code, "409") == 0 ? "version conflict persisted"
				: "server refused the patch");
		}
	} else {
		int rc = push_apply(s);
		wa_as_push_done(s, rc, rc ? "accepted but not stored" : NULL);
	}
	wa_as_kick(s);
}

int wa_session_chat_modify(wa_session *s, const wa_chat_mod *md, wa_chat_mod_fn done, void *user)
{
	if (!s || !md)
		return WA_EINVAL;
	if (!s->appstate || !wa_session_jid(s))
		return WA_ESTATE;
	wa_appstate_mod b;
	int rc = wa_appstate_mod_build(md, wa_now_ms(), &b);
	if (rc != 0)
		return rc;
	struct as_push *p = calloc(1, sizeof *p);
	if (!p) {
		wa_appstate_mod_clear(&b);
		return WA_ENOMEM;
	}
	p->index_json = b.index_json;
	p->value = b.value;
	p->value_len = b.value_len;
	p->ci = b.ci;
	p->api = b.api;
	wa_rand_bytes(p->iv, sizeof p->iv);
	struct wa_appstate *as = s->appstate;
	unsigned bit = 1u << p->ci;
	if (as->dead & bit) {
		/* a new change is a new attempt: fetched first, from version 0 */
		as->dead &= ~bit;
		as->resynced &= ~bit;
		as->want |= bit;
		as->rounds = 0;
	}
	/* accepted once stored: from here on it is sent after a restart too */
	wa_store_as_pending row = {.name = wa_as_names[p->ci], .index_json = p->index_json, .value = p->value,
		.value_len = p->value_len, .api = p->api, .iv = p->iv};
	rc = wa_store_app_state_pending_add(s->store, s->instance_id, &row, &p->row);
	if (rc != 0) {
		push_free(p);
		return rc;
	}
	p->done = done;
	p->user = user;
	push_append(s->appstate, p);
	WA_DEBUG("appstate", "[%lld] own %s stored (pending %lld)", (long long)s->instance_id, p->index_json,
		(long long)p->row);
	wa_as_kick(s);
	return 0;
}

static int load_one(void *user, const wa_store_as_pending *r)
{
	wa_session *s = user;
	int ci = -1;
	for (int i = 0; i < AS_N; i++)
		if (strcmp(r->name, wa_as_names[i]) == 0)
			ci = i;
	if (ci < 0)
		return 0; /* not a collection of ours: left alone */
	for (struct as_push *q = s->appstate->q; q; q = q->next)
		if (q->row == r->id)
			return 0;
	struct as_push *p = calloc(1, sizeof *p);
	if (!p || !(p->index_json = strdup(r->index_json)) || !(p->value = malloc(r->value_len ? r->value_len : 1))) {
		if (p)
			push_free(p);
		return WA_ENOMEM;
	}
	memcpy(p->value, r->value, r->value_len);
	p->value_len = r->value_len;
	p->row = r->id;
	p->ci = ci;
	p->api = r->api;
	memcpy(p->iv, r->iv, sizeof p->iv);
	p->lost = 1; /* it may have reached the server before we went */
	push_append(s->appstate, p);
	return 0;
}

/* The mutations a previous run accepted and did not see through, queued
 * again in their order (no one waits for their answer now). */
int wa_as_push_load(wa_session *s)
{
	int rc = wa_store_app_state_pending_each(s->store, s->instance_id, load_one, s);
	if (rc == 0 && s->appstate->q)
		WA_DEBUG("appstate", "[%lld] own mutations from before the restart queued again", (long long)s->instance_id);
	return rc;
}

/* Empties the queue, telling each caller; the stored rows stay for the
 * next run. */
void wa_as_push_drop(wa_session *s)
{
	for (struct as_push *p = s->appstate->q; p; p = p->next)
		p->row = 0;
	while (s->appstate->q)
		wa_as_push_done(s, WA_ECLOSED, "session freed before the server answered: stored, sent by the next one");
}

