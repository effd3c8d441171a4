/* App-state sync, the read side (messaging.md §9): the sync keys our phone
 * shares (appStateSyncKeyShare, only from our own account), fetching the
 * five collections with <iq xmlns="w:sync:app:state"> from the stored
 * versions (a snapshot asked for at version 0), verifying every patch
 * (syncd.c) and applying it in one transaction with its version and
 * LT-hash, then the events. Triggers: login, a key share, a server_sync
 * notification. A patch that fails a check is not applied and stops its
 * collection (WA_EV_APP_STATE with the error) until the next trigger; a
 * missing key parks the collection, asks our phone for it
 * (appStateSyncKeyRequest) and waits for its key share.
 * The write side (wa_session_chat_modify): our own mutations, queued and
 * sent one at a time as patches on top of the stored state, with
 * fetch-and-retry on a version conflict, applied once accepted; one whose
 * answer never came (timeout, connection lost) is kept, the collection
 * fetched (after the reconnect), and it is sent again only if the fetch
 * does not show it accepted: applied exactly once.
 * What the server holds as external blobs (a snapshot, a big patch's
 * mutations: ExternalBlobReference) is downloaded as media ("WhatsApp App
 * State Keys"), then verified and applied like inline data: a sync answer
 * becomes a queue of work items run in order, one download at a time. */
#include <fcntl.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app_state.pb-c.h"
#include "message.pb-c.h"
#include "pb.h"
#include "session/appstate_chat.h"
#include "session/appstate_mod.h"
#include "session/media.h"
#include "session/msgstate.h"
#include "session/syncd.h"
#include "sync_action.pb-c.h"
#include "util/log.h"

#define AS_N 5
#define AS_ALL ((1u << AS_N) - 1)
#define AS_MAX_ROUNDS 50 /* has_more_patches rounds per trigger */
#define AS_MAX_LOST 5    /* sends of one mutation without an answer before giving up */

static const char *const as_names[AS_N] = {
	"critical_block", "critical_unblock_low", "regular_high", "regular_low", "regular",
};

/* One of our own mutations waiting to be sent (queue order). */
struct as_push {
	struct as_push *next;
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

/* One step of a sync answer, in answer order. */
enum as_wkind { AS_W_SNAPSHOT, AS_W_PATCH, AS_W_END };
struct as_work {
	struct as_work *next;
	int ci;
	enum as_wkind kind;
	uint8_t *b; /* snapshot: its ExternalBlobReference; patch: the SyncdPatch */
	size_t n;
	uint64_t hint; /* patch: the version when it carries none */
	bool more;     /* end: has_more_patches */
};

/* A blob download in flight (the user of its callbacks). gen: the
 * connection it belongs to; a stale one is only cleaned up. */
struct as_dl {
	unsigned gen;
	char path[512];
};

struct wa_appstate {
	unsigned want;     /* collections to fetch */
	unsigned inflight; /* asked in the iq now in flight */
	unsigned blocked;  /* waiting for a sync key */
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

static int as_index(const char *name)
{
	for (int i = 0; i < AS_N; i++)
		if (name && strcmp(name, as_names[i]) == 0)
			return i;
	return -1;
}

static void emit_state(wa_session *s, const char *name, uint64_t version, int err, const char *detail)
{
	wa_event ev = {.type = WA_EV_APP_STATE};
	ev.u.app_state.collection = name;
	ev.u.app_state.version = version;
	ev.u.app_state.error = err;
	ev.u.app_state.detail = detail;
	WA_DEBUG("appstate", "[%lld] %s v%llu: %s", (long long)s->instance_id, name, (unsigned long long)version,
		err ? detail : "synced");
	wa_session_emit(s, &ev);
}

/* ---- the decoder's view of the store ---- */

static int get_keys(void *user, const uint8_t *id, size_t len, wa_syncd_keys *out)
{
	wa_session *s = user;
	uint8_t *d = NULL;
	size_t dl = 0;
	int rc = wa_store_app_state_key_load(s->store, s->instance_id, id, len, &d, &dl);
	if (rc != 0)
		return rc;
	ProtobufCMessage *pb = NULL;
	rc = wa_pb_unpack(&pb, &wa__message__app_state_sync_key_data__descriptor, d, dl, 4096);
	wa_memzero(d, dl);
	free(d);
	if (rc != 0)
		return WA_EMALFORMED;
	const Wa__Message__AppStateSyncKeyData *kd = (const Wa__Message__AppStateSyncKeyData *)pb;
	rc = kd->has_key_data && kd->key_data.len ? wa_syncd_expand_keys(kd->key_data.data, kd->key_data.len, out)
		: WA_EMALFORMED;
	protobuf_c_message_free_unpacked(pb, NULL);
	return rc;
}

struct mac_ctx {
	wa_session *s;
	const char *name;
};

static int get_value_mac(void *user, const uint8_t index_mac[32], uint8_t out[32])
{
	struct mac_ctx *c = user;
	return wa_store_app_state_mac_get(c->s->store, c->s->instance_id, c->name, index_mac, out);
}

static int get_keys_c(void *user, const uint8_t *id, size_t len, wa_syncd_keys *out)
{
	return get_keys(((struct mac_ctx *)user)->s, id, len, out);
}

/* ---- applying ---- */

/* What one mutation means, for the store and the events. */
typedef struct as_action {
	const char *type;        /* index[0] */
	const char *jid;         /* index[1] or NULL */
	const char *msg_id;      /* star / deleteMessageForMe: index[2]; label_message: index[3] */
	bool from_me;            /* star / deleteMessageForMe: index[3] == "1" */
	const char *arg2;        /* index[2] (a label association's chat) */
	Wa__SyncActionValue *v;  /* NULL when it does not parse */
} as_action;

static void action_parse(const wa_syncd_mutation *m, json_t **idx, as_action *a)
{
	memset(a, 0, sizeof *a);
	*idx = json_loads(m->index_json, 0, NULL);
	if (json_is_array(*idx)) {
		a->type = json_string_value(json_array_get(*idx, 0));
		a->jid = json_string_value(json_array_get(*idx, 1));
		a->arg2 = json_string_value(json_array_get(*idx, 2));
		bool lm = a->type && strcmp(a->type, "label_message") == 0;
		a->msg_id = json_string_value(json_array_get(*idx, lm ? 3 : 2));
		const char *fm = json_string_value(json_array_get(*idx, 3));
		a->from_me = !lm && fm && strcmp(fm, "1") == 0;
	}
	ProtobufCMessage *pb = NULL;
	if (wa_pb_unpack(&pb, &wa__sync_action_value__descriptor, m->value, m->value_len, WA_SYNCD_MAX_BYTES) == 0)
		a->v = (Wa__SyncActionValue *)pb;
}

static void action_free(json_t *idx, as_action *a)
{
	json_decref(idx);
	if (a->v)
		protobuf_c_message_free_unpacked(&a->v->base, NULL);
}

/* Store side of one mutation (inside the patch's transaction). *name_set:
 * the push name changed. */
static int apply_store(wa_session *s, const char *coll, const wa_syncd_mutation *m, const as_action *a,
	bool *name_set)
{
	int rc = m->op == WA_SYNCD_SET
		? wa_store_app_state_mutation_put(s->store, s->instance_id, coll, m->index_mac, m->value_mac,
			  m->index_json, m->value, m->value_len)
		: wa_store_app_state_mutation_del(s->store, s->instance_id, coll, m->index_mac);
	if (rc != 0 || m->op != WA_SYNCD_SET || !a->type || !a->v)
		return rc;
	if (strcmp(a->type, "setting_pushName") == 0 && a->v->push_name_setting &&
	    a->v->push_name_setting->name && s->creds) {
		const char *n = a->v->push_name_setting->name;
		if (strlen(n) < sizeof s->creds->push_name && strcmp(n, s->creds->push_name) != 0) {
			snprintf(s->creds->push_name, sizeof s->creds->push_name, "%s", n);
			rc = wa_store_creds_save(s->store, s->instance_id, s->creds);
			*name_set = true;
		}
	} else if (strcmp(a->type, "contact") == 0 && a->jid && a->v->contact_action) {
		const char *fn = a->v->contact_action->full_name;
		rc = wa_store_contact_set_full_name(s->store, s->instance_id, a->jid, fn && *fn ? fn : NULL);
	} else if (a->jid) {
		rc = wa_appstate_chat_row(s->store, s->instance_id, a->type, a->jid, a->v);
	}
	return rc;
}

static void emit_action(wa_session *s, const char *coll, const wa_syncd_mutation *m, const as_action *a)
{
	const Wa__SyncActionValue *v = a->v;
	if (m->op != WA_SYNCD_SET || !a->type || !v) {
		WA_DEBUG("appstate", "[%lld] %s: %s %s kept", (long long)s->instance_id, coll,
			m->op == WA_SYNCD_SET ? "set" : "remove", m->index_json);
		return;
	}
	wa_event ev = {.type = WA_EV_CHAT_UPDATE};
	ev.u.chat.jid = a->jid;
	ev.u.chat.archived = ev.u.chat.pinned = ev.u.chat.muted = ev.u.chat.read = -1;
	ev.u.chat.starred = -1;
	ev.u.chat.timestamp = v->has_timestamp ? v->timestamp : 0;
	const char *t = a->type;
	if (strcmp(t, "setting_pushName") == 0 && v->push_name_setting && v->push_name_setting->name) {
		ev.type = WA_EV_PUSH_NAME;
		ev.u.push_name.name = v->push_name_setting->name;
	} else if (strcmp(t, "contact") == 0 && a->jid && v->contact_action) {
		bool lid = strstr(a->jid, "@lid") != NULL;
		ev.type = WA_EV_CONTACT;
		memset(&ev.u.contact, 0, sizeof ev.u.contact);
		ev.u.contact.jid = lid ? v->contact_action->pn_jid : a->jid;
		ev.u.contact.lid = lid ? a->jid : v->contact_action->lid_jid;
		ev.u.contact.full_name = v->contact_action->full_name;
		ev.u.contact.first_name = v->contact_action->first_name;
	} else if (strcmp(t, "archive") == 0 && a->jid && v->archive_chat_action) {
		ev.u.chat.archived = v->archive_chat_action->archived;
	} else if (strcmp(t, "pin_v1") == 0 && a->jid && v->pin_action) {
		ev.u.chat.pinned = v->pin_action->pinned;
		ev.u.chat.pinned_at = v->pin_action->pinned && v->has_timestamp ? v->timestamp / 1000 : 0;
	} else if (strcmp(t, "mute") == 0 && a->jid && v->mute_action) {
		ev.u.chat.muted = v->mute_action->muted;
		ev.u.chat.mute_end = v->mute_action->muted && v->mute_action->has_mute_end_timestamp
			? v->mute_action->mute_end_timestamp : 0;
	} else if (strcmp(t, "markChatAsRead") == 0 && a->jid && v->mark_chat_as_read_action) {
		ev.u.chat.read = v->mark_chat_as_read_action->read;
	} else if (strcmp(t, "star") == 0 && a->jid && a->msg_id && v->star_action) {
		ev.u.chat.msg_id = a->msg_id;
		ev.u.chat.msg_from_me = a->from_me;
		ev.u.chat.starred = v->star_action->starred;
	} else if (strcmp(t, "deleteMessageForMe") == 0 && a->jid && a->msg_id) {
		ev.u.chat.msg_id = a->msg_id;
		ev.u.chat.msg_from_me = a->from_me;
		ev.u.chat.deleted_msg = 1;
	} else if (strcmp(t, "clearChat") == 0 && a->jid) {
		ev.u.chat.cleared = 1;
	} else if (strcmp(t, "deleteChat") == 0 && a->jid) {
		ev.u.chat.deleted = 1;
	} else if (strcmp(t, "label_edit") == 0 && a->jid && v->label_edit_action) {
		/* index ["label_edit", id]: a->jid holds the label id */
		const Wa__SyncActionValue__LabelEditAction *le = v->label_edit_action;
		ev.type = WA_EV_LABEL;
		memset(&ev.u.label, 0, sizeof ev.u.label);
		ev.u.label.id = a->jid;
		ev.u.label.name = le->name;
		ev.u.label.color = le->has_color ? le->color : 0;
		ev.u.label.predefined_id = le->has_predefined_id ? le->predefined_id : 0;
		ev.u.label.deleted = le->deleted;
		ev.u.label.labeled = -1;
	} else if ((strcmp(t, "label_jid") == 0 || strcmp(t, "label_message") == 0) && a->jid && a->arg2 &&
		   v->label_association_action) {
		/* ["label_jid", label, chat] / ["label_message", label, chat, msg, ...] */
		ev.type = WA_EV_LABEL;
		memset(&ev.u.label, 0, sizeof ev.u.label);
		ev.u.label.id = a->jid;
		ev.u.label.chat_jid = a->arg2;
		ev.u.label.msg_id = t[6] == 'm' ? a->msg_id : NULL;
		ev.u.label.labeled = v->label_association_action->labeled;
	} else {
		WA_DEBUG("appstate", "[%lld] %s: %s kept, not acted on", (long long)s->instance_id, coll,
			m->index_json);
		return;
	}
	wa_session_emit(s, &ev);
}

/* Asks our phone for a sync key we lack (appStateSyncKeyRequest, a peer
 * message to device 0), as whatsmeow does; its key share then triggers a
 * sync. Needs a Signal session with the phone: before its first message
 * (which is the key share itself after pairing) there is nothing to ask. */
static void request_key(wa_session *s, const uint8_t *kid, size_t kid_len)
{
	struct wa_appstate *as = s->appstate;
	const char *me = wa_session_jid(s);
	wa_jid phone;
	char name[WA_STORE_JID_MAX];
	bool exists = false;
	if (!as || !kid_len || (as->asked_len == kid_len && memcmp(as->asked, kid, kid_len) == 0) || !me ||
	    wa_jid_parse(&phone, me) != 0 || wa_msg_addr_for(s, &phone, name) != 0)
		return;
	if (wa_sig_session_exists(s->sig, name, 0, &exists) != 0 || !exists) {
		WA_DEBUG("appstate", "[%lld] sync key missing; no session with our phone yet, waiting for its share",
			(long long)s->instance_id);
		return;
	}
	Wa__Message m = WA__MESSAGE__INIT;
	Wa__Message__ProtocolMessage pm = WA__MESSAGE__PROTOCOL_MESSAGE__INIT;
	Wa__Message__AppStateSyncKeyRequest rq = WA__MESSAGE__APP_STATE_SYNC_KEY_REQUEST__INIT;
	Wa__Message__AppStateSyncKeyId id = WA__MESSAGE__APP_STATE_SYNC_KEY_ID__INIT;
	Wa__Message__AppStateSyncKeyId *ids[1] = {&id};
	id.has_key_id = 1;
	id.key_id.data = (uint8_t *)kid;
	id.key_id.len = kid_len;
	rq.n_key_ids = 1;
	rq.key_ids = ids;
	pm.has_type = 1;
	pm.type = WA__MESSAGE__PROTOCOL_MESSAGE__TYPE__APP_STATE_SYNC_KEY_REQUEST;
	pm.app_state_sync_key_request = &rq;
	m.protocol_message = &pm;
	size_t n = protobuf_c_message_get_packed_size(&m.base);
	uint8_t *pt = malloc(n), *ct = NULL;
	size_t ct_len = 0;
	enum wa_sig_msg_type type;
	if (!pt)
		return;
	protobuf_c_message_pack(&m.base, pt);
	int rc = wa_sig_encrypt(s->sig, name, 0, pt, n, &type, &ct, &ct_len);
	free(pt);
	if (rc != 0)
		return;
	char mid[23];
	wa_msg_new_id(me, now_s(), mid);
	wa_node *st = NULL, *enc = NULL;
	rc = wa_node_new(&st, "message");
	rc = rc ? rc : wa_node_set_attr(st, "to", me);
	rc = rc ? rc : wa_node_set_attr(st, "id", mid);
	rc = rc ? rc : wa_node_set_attr(st, "type", "text");
	rc = rc ? rc : wa_node_set_attr(st, "category", "peer");
	rc = rc ? rc : wa_node_set_attr(st, "push_priority", "high_force");
	rc = rc ? rc : wa_node_add_new(st, "enc", &enc);
	rc = rc ? rc : wa_node_set_attr(enc, "v", "2");
	rc = rc ? rc : wa_node_set_attr(enc, "type", wa_sig_type_name(type));
	rc = rc ? rc : wa_node_set_bytes(enc, ct, ct_len);
	free(ct);
	if (rc != 0) {
		wa_node_free(st);
		return;
	}
	if (send_node(s, st) == 0) {
		memcpy(as->asked, kid, kid_len);
		as->asked_len = kid_len;
		WA_DEBUG("appstate", "[%lld] asked our phone for a missing sync key", (long long)s->instance_id);
	}
}

/* Announces availability once the push name is known (both references
 * refuse to before). */
static void name_learned(wa_session *s)
{
	if (!s->online && !s->offline_on_connect && ready(s))
		ign(wa_session_send_presence(s, NULL, "available"));
}

static uint64_t stored_version(wa_session *s, const char *name)
{
	uint64_t v = 0;
	uint8_t h[WA_SYNCD_HASH_LEN];
	return wa_store_app_state_version_load(s->store, s->instance_id, name, &v, h) == 0 ? v : 0;
}

/* Stores a verified patch or snapshot (its mutations, version and LT-hash)
 * in one transaction, then announces its mutations. */
static int apply_result(wa_session *s, int ci, const wa_syncd_result *r)
{
	const char *coll = as_names[ci];
	uint64_t ver = stored_version(s, coll);
	int rc;
	json_t **idx = calloc(r->n ? r->n : 1, sizeof(*idx));
	as_action *acts = calloc(r->n ? r->n : 1, sizeof(*acts));
	bool name_set = false;
	char old_name[WA_STORE_PUSH_NAME_MAX] = "";
	if (s->creds)
		memcpy(old_name, s->creds->push_name, sizeof old_name);
	rc = idx && acts ? wa_store_begin(s->store) : WA_ENOMEM;
	for (size_t i = 0; rc == 0 && i < r->n; i++) {
		action_parse(&r->muts[i], &idx[i], &acts[i]);
		rc = apply_store(s, coll, &r->muts[i], &acts[i], &name_set);
	}
	if (rc == 0)
		rc = wa_store_app_state_version_save(s->store, s->instance_id, coll, r->version, r->hash);
	if (idx && acts) {
		if (rc == 0)
			rc = wa_store_commit(s->store);
		else
			wa_store_rollback(s->store);
	}
	if (rc != 0) {
		if (s->creds && name_set)
			memcpy(s->creds->push_name, old_name, sizeof old_name);
		emit_state(s, coll, ver, rc, "store failed");
	} else {
		for (size_t i = 0; i < r->n; i++)
			emit_action(s, coll, &r->muts[i], &acts[i]);
	}
	for (size_t i = 0; idx && acts && i < r->n; i++)
		action_free(idx[i], &acts[i]);
	free(idx);
	free(acts);
	if (rc == 0 && name_set)
		name_learned(s);
	return rc;
}

/* Verifies and applies one patch. Returns 0 (applied or already had it),
 * or the error that stops the collection (event emitted). */
static int apply_patch(wa_session *s, int ci, const uint8_t *b, size_t len, uint64_t hint)
{
	const char *coll = as_names[ci];
	uint64_t ver = 0;
	uint8_t hash[WA_SYNCD_HASH_LEN] = {0};
	int rc = wa_store_app_state_version_load(s->store, s->instance_id, coll, &ver, hash);
	if (rc == WA_ENOTFOUND)
		rc = 0;
	if (rc != 0) {
		emit_state(s, coll, ver, rc, "stored version unreadable");
		return rc;
	}
	struct mac_ctx mc = {s, coll};
	wa_syncd_ops ops = {.get_keys = get_keys_c, .get_value_mac = get_value_mac, .user = &mc};
	wa_syncd_result r;
	rc = wa_syncd_decode_patch(coll, b, len, hint, hash, &ops, &r);
	if (r.version != 0 && r.version <= ver) {
		/* had it (its checks ran against our newer hash, so they say nothing) */
		wa_syncd_result_clear(&r);
		return 0;
	}
	if (rc == 0 && r.version != ver + 1) {
		wa_syncd_result_clear(&r);
		rc = WA_EPROTO;
		r.error = "patch version gap";
	}
	if (rc != 0) {
		char why[160];
		snprintf(why, sizeof why, "patch v%llu refused: %s", (unsigned long long)r.version, r.error);
		emit_state(s, coll, ver, rc, why);
		if (rc == WA_ENOTFOUND) {
			s->appstate->blocked |= 1u << ci;
			request_key(s, r.missing_key, r.missing_key_len);
		}
		return rc;
	}
	rc = apply_result(s, ci, &r);
	wa_syncd_result_clear(&r);
	return rc;
}

/* ---- fetching ---- */

static void sync_start(wa_session *s);
static void kick(wa_session *s);

static int work_add(struct wa_appstate *as, int ci, enum as_wkind kind, const uint8_t *b, size_t n, uint64_t hint,
	bool more)
{
	struct as_work *w = calloc(1, sizeof *w);
	if (!w || (n && !(w->b = malloc(n)))) {
		free(w);
		return WA_ENOMEM;
	}
	if (n)
		memcpy(w->b, b, n);
	w->n = n;
	w->ci = ci;
	w->kind = kind;
	w->hint = hint;
	w->more = more;
	*as->work_tail = w;
	as->work_tail = &w->next;
	return 0;
}

static void work_pop(struct wa_appstate *as)
{
	struct as_work *w = as->work;
	if (!w)
		return;
	as->work = w->next;
	if (!as->work)
		as->work_tail = &as->work;
	free(w->b);
	free(w);
}

static void work_clear(struct wa_appstate *as)
{
	while (as->work)
		work_pop(as);
	as->downloading = false;
}

/* Queues one <collection> of the answer: its snapshot, its patches, then
 * its end. */
static void handle_collection(wa_session *s, const wa_node *c)
{
	struct wa_appstate *as = s->appstate;
	const char *name = wa_node_attr(c, "name");
	int ci = as_index(name);
	if (ci < 0 || !(as->inflight & (1u << ci)))
		return;
	const char *type = wa_node_attr(c, "type");
	if (type && strcmp(type, "error") == 0) {
		emit_state(s, name, stored_version(s, name), WA_EPROTO, "server answered an error");
		return;
	}
	const char *cv = wa_node_attr(c, "version");
	uint64_t hint = cv ? strtoull(cv, NULL, 10) : 0;
	const wa_node *sn = wa_node_child(c, "snapshot");
	const uint8_t *b;
	size_t bl;
	int rc = 0;
	if (sn && wa_node_content_bytes(sn, &b, &bl) == 0 && bl)
		rc = work_add(as, ci, AS_W_SNAPSHOT, b, bl, 0, false);
	const wa_node *holder = wa_node_child(c, "patches");
	if (!holder)
		holder = c;
	for (size_t i = 0; rc == 0 && i < wa_node_n_children(holder); i++) {
		const wa_node *p = wa_node_child_at(holder, i);
		if (strcmp(wa_node_tag(p), "patch") == 0 && wa_node_content_bytes(p, &b, &bl) == 0)
			rc = work_add(as, ci, AS_W_PATCH, b, bl, hint + 1, false);
	}
	const char *more = wa_node_attr(c, "has_more_patches");
	if (rc == 0)
		rc = work_add(as, ci, AS_W_END, NULL, 0, 0, more && strcmp(more, "true") == 0);
	if (rc != 0) {
		/* nothing of it applies: the items queued so far are skipped */
		as->stopped |= 1u << ci;
		emit_state(s, name, stored_version(s, name), rc, "out of memory");
	}
}

/* Verifies and applies a snapshot (the collection's whole state at its
 * version). Only over an empty collection: we ask for one at version 0. */
static int apply_snapshot(wa_session *s, int ci, const uint8_t *b, size_t len)
{
	const char *coll = as_names[ci];
	uint64_t ver = stored_version(s, coll);
	struct mac_ctx mc = {s, coll};
	wa_syncd_ops ops = {.get_keys = get_keys_c, .get_value_mac = get_value_mac, .user = &mc};
	wa_syncd_result r;
	int rc = wa_syncd_decode_snapshot(coll, b, len, &ops, &r);
	if (rc == 0 && r.version <= ver) {
		wa_syncd_result_clear(&r);
		return 0;
	}
	if (rc == 0 && ver != 0) {
		wa_syncd_result_clear(&r);
		rc = WA_EPROTO;
		r.error = "a snapshot over a stored state";
	}
	if (rc != 0) {
		char why[160];
		snprintf(why, sizeof why, "snapshot v%llu refused: %s", (unsigned long long)r.version, r.error);
		emit_state(s, coll, ver, rc, why);
		if (rc == WA_ENOTFOUND) {
			s->appstate->blocked |= 1u << ci;
			request_key(s, r.missing_key, r.missing_key_len);
		}
		return rc;
	}
	rc = apply_result(s, ci, &r);
	wa_syncd_result_clear(&r);
	return rc;
}

static void work_run(wa_session *s);

/* A downloaded blob for the head item: applied, then the queue goes on. */
static void blob_ready(wa_session *s, int err, const uint8_t *b, size_t n)
{
	struct wa_appstate *as = s->appstate;
	struct as_work *w = as->work;
	const char *coll = as_names[w->ci];
	int rc = err;
	char why[160];
	if (rc != 0) {
		snprintf(why, sizeof why, "%s blob not downloaded: %s", w->kind == AS_W_SNAPSHOT ? "snapshot" : "patch",
			wa_errname(rc));
		emit_state(s, coll, stored_version(s, coll), rc, why);
	} else if (w->kind == AS_W_SNAPSHOT) {
		rc = apply_snapshot(s, w->ci, b, n);
	} else {
		uint8_t *full = NULL;
		size_t fl = 0;
		rc = wa_syncd_patch_inline(w->b, w->n, b, n, &full, &fl);
		if (rc == 0)
			rc = apply_patch(s, w->ci, full, fl, w->hint);
		else
			emit_state(s, coll, stored_version(s, coll), rc, "external mutations do not parse");
		free(full);
	}
	if (rc != 0)
		as->stopped |= 1u << w->ci;
	work_pop(as);
	work_run(s);
}

/* Reads the downloaded file (the download bounded its size). */
static int dl_read(const char *path, uint8_t **out, size_t *n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return WA_EIO;
	struct stat st;
	int rc = fstat(fd, &st) == 0 ? 0 : WA_EIO;
	if (rc == 0 && (uint64_t)st.st_size > WA_SYNCD_MAX_BYTES)
		rc = WA_ETOOBIG;
	size_t len = rc == 0 ? (size_t)st.st_size : 0, off = 0;
	uint8_t *b = rc == 0 ? malloc(len ? len : 1) : NULL;
	if (rc == 0 && !b)
		rc = WA_ENOMEM;
	while (rc == 0 && off < len) {
		size_t got = 0;
		rc = wa_media_read_some(fd, b + off, len - off, &got);
		if (rc == 0 && got == 0)
			rc = WA_EIO; /* shorter than it was */
		off += got;
	}
	close(fd);
	if (rc) {
		free(b);
		return rc;
	}
	*out = b;
	*n = len;
	return 0;
}

static void on_blob(wa_session *s, int err, uint64_t length, void *user)
{
	(void)length;
	struct as_dl *d = user;
	struct wa_appstate *as = s->appstate;
	uint8_t *b = NULL;
	size_t n = 0;
	if (err == 0)
		err = dl_read(d->path, &b, &n);
	unlink(d->path);
	bool mine = as && as->downloading && as->work && d->gen == as->gen;
	free(d);
	if (mine) {
		as->downloading = false;
		blob_ready(s, err, b, n);
	}
	free(b);
}

static bool copy32(uint8_t out[32], const ProtobufCBinaryData *b, protobuf_c_boolean has)
{
	if (!has || b->len != 32)
		return false;
	memcpy(out, b->data, 32);
	return true;
}

/* The head item's blob reference, from a snapshot node's content or a
 * patch's external_mutations (NULL: none; *err set when it is malformed). */
static ProtobufCMessage *blob_ref_of(const struct as_work *w, int *err)
{
	ProtobufCMessage *pb = NULL;
	*err = 0;
	if (w->kind == AS_W_SNAPSHOT) {
		if (wa_pb_unpack(&pb, &wa__external_blob_reference__descriptor, w->b, w->n, 4096) != 0)
			*err = WA_EMALFORMED;
		return pb;
	}
	if (wa_pb_unpack(&pb, &wa__syncd_patch__descriptor, w->b, w->n, WA_SYNCD_MAX_BYTES) != 0)
		return NULL; /* apply_patch says why */
	Wa__SyncdPatch *p = (Wa__SyncdPatch *)pb;
	ProtobufCMessage *ref = NULL;
	if (p->external_mutations) {
		size_t n = protobuf_c_message_get_packed_size(&p->external_mutations->base);
		uint8_t *tmp = malloc(n ? n : 1);
		if (!tmp)
			*err = WA_ENOMEM;
		else {
			protobuf_c_message_pack(&p->external_mutations->base, tmp);
			if (wa_pb_unpack(&ref, &wa__external_blob_reference__descriptor, tmp, n, 4096) != 0)
				*err = WA_EMALFORMED;
			free(tmp);
		}
	}
	protobuf_c_message_free_unpacked(pb, NULL);
	return ref;
}

static void on_blob_conn(wa_session *s, int err, void *user)
{
	struct as_dl *d = user;
	struct wa_appstate *as = s->appstate;
	if (!as || !as->downloading || !as->work || d->gen != as->gen) {
		free(d);
		return;
	}
	int rc = err;
	ProtobufCMessage *pb = rc == 0 ? blob_ref_of(as->work, &rc) : NULL;
	const Wa__ExternalBlobReference *r = (const Wa__ExternalBlobReference *)pb;
	wa_media_blob b = {.type = WA_MEDIA_APP_STATE, .max_len = WA_SYNCD_MAX_BYTES};
	if (rc == 0 && (!r || !r->direct_path || !copy32(b.media_key, &r->media_key, r->has_media_key) ||
			       !copy32(b.file_sha256, &r->file_sha256, r->has_file_sha256) ||
			       !copy32(b.file_enc_sha256, &r->file_enc_sha256, r->has_file_enc_sha256)))
		rc = WA_EMALFORMED;
	if (rc == 0) {
		b.direct_path = r->direct_path;
		b.file_length = r->has_file_size_bytes ? r->file_size_bytes : 0;
		rc = wa_media_download_blob(s, &b, d->path, on_blob, d);
	}
	wa_memzero(b.media_key, sizeof b.media_key);
	if (pb)
		protobuf_c_message_free_unpacked(pb, NULL);
	if (rc != 0) {
		free(d);
		as->downloading = false;
		blob_ready(s, rc, NULL, 0);
	}
}

/* Starts the head item's download (media hosts first). */
static void blob_fetch(wa_session *s)
{
	struct wa_appstate *as = s->appstate;
	struct as_dl *d = calloc(1, sizeof *d);
	if (!d) {
		blob_ready(s, WA_ENOMEM, NULL, 0);
		return;
	}
	const char *tmp = getenv("TMPDIR");
	d->gen = as->gen;
	snprintf(d->path, sizeof d->path, "%s/wa-appstate-%lld-%u-%u", tmp && *tmp ? tmp : "/tmp",
		(long long)s->instance_id, (unsigned)getpid(), ++as->dl_seq);
	as->downloading = true;
	int rc = wa_media_conn_ensure(s, on_blob_conn, d);
	if (rc != 0 && as->downloading && as->work) {
		free(d);
		as->downloading = false;
		blob_ready(s, rc, NULL, 0);
	}
}

/* Works through the answer's items until a download has to wait or none
 * is left; then the next fetch or push. */
static void work_run(wa_session *s)
{
	struct wa_appstate *as = s->appstate;
	while (as->work && !as->downloading) {
		struct as_work *w = as->work;
		const char *coll = as_names[w->ci];
		if (as->stopped & (1u << w->ci)) {
			work_pop(as);
			continue;
		}
		if (w->kind == AS_W_END) {
			if (w->more)
				as->want |= 1u << w->ci;
			else
				emit_state(s, coll, stored_version(s, coll), 0, NULL);
			work_pop(as);
			continue;
		}
		int err = 0;
		ProtobufCMessage *ref = blob_ref_of(w, &err);
		if (ref)
			protobuf_c_message_free_unpacked(ref, NULL);
		if (ref || err) {
			if (err)
				blob_ready(s, err, NULL, 0);
			else
				blob_fetch(s);
			return; /* blob_ready ran the rest */
		}
		if (w->kind == AS_W_SNAPSHOT) {
			as->stopped |= 1u << w->ci;
			emit_state(s, coll, stored_version(s, coll), WA_EMALFORMED, "snapshot without a blob reference");
		} else if (apply_patch(s, w->ci, w->b, w->n, w->hint) != 0) {
			as->stopped |= 1u << w->ci; /* nothing after a refused patch is applied */
		}
		work_pop(as);
	}
	if (as->work || as->downloading)
		return;
	as->busy = false;
	as->stopped = 0;
	if (as->want)
		++as->rounds;
	kick(s);
}

static void on_sync(wa_session *s, int err, const wa_node *resp, void *user)
{
	(void)user;
	struct wa_appstate *as = s->appstate;
	if (!as)
		return;
	const wa_node *sync = err == 0 && resp ? wa_node_child(resp, "sync") : NULL;
	if (!sync) {
		as->busy = false;
		for (int i = 0; i < AS_N; i++)
			if (as->inflight & (1u << i))
				emit_state(s, as_names[i], stored_version(s, as_names[i]), err ? err : WA_EPROTO,
					err == WA_ETIMEOUT ? "sync timed out" : err == WA_ECLOSED ? "connection closed"
					: "server refused the sync");
		as->inflight = 0;
		kick(s);
		return;
	}
	work_clear(as);
	as->stopped = 0;
	for (size_t i = 0; i < wa_node_n_children(sync); i++) {
		const wa_node *c = wa_node_child_at(sync, i);
		if (strcmp(wa_node_tag(c), "collection") == 0)
			handle_collection(s, c);
	}
	as->inflight = 0;
	work_run(s); /* busy until the items are through */
}

static void sync_start(wa_session *s)
{
	struct wa_appstate *as = s->appstate;
	if (!as || as->busy || !ready(s))
		return;
	unsigned todo = as->want & ~as->blocked;
	if (!todo)
		return;
	wa_node *iq = NULL, *sync = NULL, *c;
	int rc = wa_node_new(&iq, "iq");
	rc = rc ? rc : wa_node_set_attr(iq, "to", "s.whatsapp.net");
	rc = rc ? rc : wa_node_set_attr(iq, "xmlns", "w:sync:app:state");
	rc = rc ? rc : wa_node_set_attr(iq, "type", "set");
	rc = rc ? rc : wa_node_add_new(iq, "sync", &sync);
	for (int i = 0; rc == 0 && i < AS_N; i++) {
		if (!(todo & (1u << i)))
			continue;
		char v[24];
		uint64_t ver = stored_version(s, as_names[i]);
		snprintf(v, sizeof v, "%llu", (unsigned long long)ver);
		rc = wa_node_add_new(sync, "collection", &c);
		rc = rc ? rc : wa_node_set_attr(c, "name", as_names[i]);
		rc = rc ? rc : wa_node_set_attr(c, "version", v);
		rc = rc ? rc : wa_node_set_attr(c, "return_snapshot", ver == 0 ? "true" : "false");
	}
	if (rc == 0)
		rc = wa_iq_send(s, iq, 0, on_sync, NULL);
	wa_node_free(iq);
	if (rc != 0) {
		WA_DEBUG("appstate", "[%lld] sync iq not sent: %s", (long long)s->instance_id, wa_errname(rc));
		return;
	}
	as->busy = true;
	as->inflight = todo;
	as->want &= ~todo;
}

static void trigger(wa_session *s, unsigned which)
{
	struct wa_appstate *as = s->appstate;
	if (!as)
		return;
	as->want |= which;
	as->rounds = 0;
	kick(s);
}

/* ---- the write side: our own mutations ---- */

static void push_next(wa_session *s);

/* Next step when idle: fetches first (a conflict asked for one), then the
 * queue's head. */
static void kick(wa_session *s)
{
	struct wa_appstate *as = s->appstate;
	if (!as || as->busy || as->pushing || !ready(s))
		return;
	if ((as->want & ~as->blocked) && as->rounds < AS_MAX_ROUNDS)
		sync_start(s);
	else
		push_next(s);
}

static void push_free(struct as_push *p)
{
	free(p->index_json);
	free(p->value);
	free(p);
}

/* Takes the head off the queue and reports how it ended. */
static void push_done(wa_session *s, int err, const char *detail)
{
	struct wa_appstate *as = s->appstate;
	struct as_push *p = as->q;
	if (!p)
		return;
	as->q = p->next;
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
	const char *coll = as_names[p->ci];
	if (as->blocked & (1u << p->ci)) {
		push_done(s, WA_ENOTFOUND, "the collection waits for a sync key");
		kick(s);
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
			push_done(s, rc, "no sync key from our phone yet");
			kick(s);
			return;
		}
	}
	wa_syncd_new m = {.op = WA_SYNCD_SET, .index_json = p->index_json, .value = p->value,
		.value_len = p->value_len, .version = p->api};
	memcpy(m.iv, p->iv, sizeof m.iv);
	struct mac_ctx mc = {s, coll};
	wa_syncd_ops ops = {.get_keys = get_keys_c, .get_value_mac = get_value_mac, .user = &mc};
	uint8_t *patch = NULL;
	size_t plen = 0;
	if (rc == 0)
		rc = wa_syncd_encode_patch(coll, ver, as->push_hash, kdata, 32, kid, kid_len, &m, 1, &ops, as->push_macs,
			&patch, &plen);
	wa_memzero(kdata, sizeof kdata);
	uint8_t have[WA_SYNCD_MAC_LEN];
	if (rc == 0 && p->lost && get_value_mac(&mc, as->push_macs[0][0], have) == 0 &&
	    memcmp(have, as->push_macs[0][1], sizeof have) == 0) {
		/* an earlier send whose answer was lost was accepted: the fetch
		 * applied it (and announced it) */
		free(patch);
		WA_DEBUG("appstate", "[%lld] own %s was accepted before the answer was lost", (long long)s->instance_id,
			p->index_json);
		push_done(s, 0, NULL);
		kick(s);
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
		push_done(s, rc, "patch not sent");
		kick(s);
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
	const char *coll = as_names[p->ci];
	wa_syncd_mutation m = {.op = WA_SYNCD_SET, .index_json = p->index_json, .value = p->value,
		.value_len = p->value_len, .version = p->api};
	memcpy(m.index_mac, as->push_macs[0][0], WA_SYNCD_MAC_LEN);
	memcpy(m.value_mac, as->push_macs[0][1], WA_SYNCD_MAC_LEN);
	json_t *idx = NULL;
	as_action a;
	action_parse(&m, &idx, &a);
	bool name_set = false;
	int rc = wa_store_begin(s->store);
	if (rc == 0)
		rc = apply_store(s, coll, &m, &a, &name_set);
	if (rc == 0)
		rc = wa_store_app_state_version_save(s->store, s->instance_id, coll, as->push_ver + 1, as->push_hash);
	if (rc == 0)
		rc = wa_store_commit(s->store);
	else
		wa_store_rollback(s->store);
	if (rc == 0)
		emit_action(s, coll, &m, &a);
	action_free(idx, &a);
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
		push_done(s, err, err == WA_ETIMEOUT ? "no answer from the server" : err == WA_ECLOSED ?
			"connection closed" : "server refused the iq");
	} else if (!c) {
		push_done(s, WA_EPROTO, "answer without the collection");
	} else if (type && strcmp(type, "error") == 0) {
		const wa_node *e = wa_node_child(c, "error");
		const char *code = e ? wa_node_attr(e, "code") : NULL;
		if (code && strcmp(code, "409") == 0 && ++p->tries < 3) {
			/* another device got there first: catch up, then encode again */
			WA_DEBUG("appstate", "[%lld] %s: version conflict, fetching", (long long)s->instance_id,
				as_names[p->ci]);
			as->want |= 1u << p->ci;
			as->rounds = 0;
		} else {
			push_done(s, WA_EPROTO, code && strcmp(code, "409") == 0 ? "version conflict persisted"
				: "server refused the patch");
		}
	} else {
		int rc = push_apply(s);
		push_done(s, rc, rc ? "accepted but not stored" : NULL);
	}
	kick(s);
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
	p->done = done;
	p->user = user;
	wa_rand_bytes(p->iv, sizeof p->iv);
	struct as_push **tail = &s->appstate->q;
	while (*tail)
		tail = &(*tail)->next;
	*tail = p;
	kick(s);
	return 0;
}

/* ---- inputs ---- */

void wa_appstate_on_plaintext(wa_session *s, bool from_me, const uint8_t *pt, size_t len)
{
	if (!from_me || !s->appstate || !pt)
		return;
	ProtobufCMessage *pb = NULL;
	if (wa_pb_unpack(&pb, &wa__message__descriptor, pt, len, WA_SIG_MAX_PLAINTEXT) != 0)
		return;
	const Wa__Message *m = (const Wa__Message *)pb;
	const Wa__Message__ProtocolMessage *p = m->protocol_message;
	size_t saved = 0;
	if (p && p->app_state_sync_key_share) {
		const Wa__Message__AppStateSyncKeyShare *ks = p->app_state_sync_key_share;
		for (size_t i = 0; i < ks->n_keys; i++) {
			const Wa__Message__AppStateSyncKey *k = ks->keys[i];
			if (!k || !k->key_id || !k->key_id->has_key_id || !k->key_data || !k->key_data->has_key_data)
				continue;
			size_t n = protobuf_c_message_get_packed_size(&k->key_data->base);
			uint8_t *b = malloc(n ? n : 1);
			if (!b)
				continue;
			protobuf_c_message_pack(&k->key_data->base, b);
			if (wa_store_app_state_key_save(s->store, s->instance_id, k->key_id->key_id.data,
				    k->key_id->key_id.len, b, n) == 0)
				saved++;
			wa_memzero(b, n);
			free(b);
		}
	}
	protobuf_c_message_free_unpacked(pb, NULL);
	if (saved) {
		WA_DEBUG("appstate", "[%lld] %zu sync key(s) from our phone", (long long)s->instance_id, saved);
		s->appstate->blocked = 0;
		s->appstate->asked_len = 0;
		trigger(s, AS_ALL);
	}
}

/* <notification type="server_sync"><collection name version/>...: another
 * device of ours changed those collections. */
int wa_appstate_handle_server_sync(wa_session *s, const wa_node *n)
{
	unsigned which = 0;
	for (size_t i = 0; i < wa_node_n_children(n); i++) {
		const wa_node *c = wa_node_child_at(n, i);
		int ci = strcmp(wa_node_tag(c), "collection") == 0 ? as_index(wa_node_attr(c, "name")) : -1;
		if (ci >= 0)
			which |= 1u << ci;
	}
	wa_node *a = NULL;
	if (wa_ack_build(n, wa_session_me_jid(s), 0, &a) == 0)
		ign(send_node(s, a));
	if (which)
		trigger(s, which);
	return 0;
}

/* ---- lifecycle (an extension of the messaging half) ---- */

static int as_init(wa_session *s)
{
	s->appstate = calloc(1, sizeof(*s->appstate));
	if (!s->appstate)
		return WA_ENOMEM;
	s->appstate->work_tail = &s->appstate->work;
	return 0;
}

static void as_on_ready(wa_session *s)
{
	/* catch up with what changed while we were away; until the phone
	 * shared a key, patches park their collection as blocked */
	if (s->appstate) {
		s->appstate->busy = false;
		s->appstate->blocked = 0;
		s->appstate->asked_len = 0;
		trigger(s, AS_ALL);
	}
}

static void as_on_close(wa_session *s)
{
	if (s->appstate) {
		s->appstate->busy = false;
		s->appstate->inflight = 0;
		/* an answer half worked through is fetched again from the stored
		 * versions; a download still running is ignored when it ends */
		work_clear(s->appstate);
		s->appstate->gen++;
	}
}

static void as_free(wa_session *s)
{
	if (!s->appstate)
		return;
	while (s->appstate->q)
		push_done(s, WA_ECLOSED, "session freed");
	work_clear(s->appstate);
	free(s->appstate);
	s->appstate = NULL;
}

const wa_session_ext wa_appstate_ext = {
	.name = "appstate",
	.init = as_init,
	.on_ready = as_on_ready,
	.on_close = as_on_close,
	.free = as_free,
};
