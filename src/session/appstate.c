/* App-state sync, the read side (messaging.md §9): the sync keys our phone
 * shares (appStateSyncKeyShare, only from our own account), fetching the
 * five collections with <iq xmlns="w:sync:app:state"> from the stored
 * versions (a snapshot asked for at version 0), verifying every patch
 * (syncd.c) and applying it in one transaction with its version and
 * LT-hash, then the events (each mutation's rows and event:
 * appstate_action.c). Triggers: login, a key share, a server_sync
 * notification. A patch that fails a check is not applied and stops its
 * collection (WA_EV_APP_STATE with the error); when the check was a MAC or
 * the LT-hash, our state of it cannot be trusted: it is dropped and fetched
 * again from version 0 (a snapshot), once per trigger; failing again, the
 * collection stays stopped (a second event says so) until the next
 * trigger. A missing key parks the collection, asks our phone for it
 * (appStateSyncKeyRequest) and waits for its key share.
 * The write side (our own mutations) is appstate_push.c; the state both
 * share is in appstate_int.h, and this file owns its lifecycle.
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
#include "session/appstate_int.h"
#include "session/media.h"
#include "session/msgstate.h"
#include "session/syncd.h"
#include "util/log.h"

#define AS_ALL ((1u << AS_N) - 1)

const char *const wa_as_names[AS_N] = {
	"critical_block", "critical_unblock_low", "regular_high", "regular_low", "regular",
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

static int as_index(const char *name)
{
	for (int i = 0; i < AS_N; i++)
		if (name && strcmp(name, wa_as_names[i]) == 0)
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

/* A patch or snapshot of collection ci failed a MAC or LT-hash check. The
 * first time since the last trigger, the stored state goes and the
 * collection is fetched from version 0; the second, it stops. */
static void resync(wa_session *s, int ci)
{
	struct wa_appstate *as = s->appstate;
	const char *coll = wa_as_names[ci];
	unsigned bit = 1u << ci;
	int rc = as->resynced & bit ? WA_ECRYPTO : wa_store_app_state_drop(s->store, s->instance_id, coll);
	if (rc != 0) {
		as->dead |= bit;
		as->want &= ~bit;
		emit_state(s, coll, stored_version(s, coll), rc, rc == WA_ECRYPTO ?
			"stopped: refused again after a full resync" : "stopped: the full resync could not drop the state");
		return;
	}
	as->resynced |= bit;
	as->want |= bit;
	as->rounds = 0;
	WA_DEBUG("appstate", "[%lld] %s: state dropped, fetching it again from a snapshot", (long long)s->instance_id,
		coll);
}

/* Stores a verified patch or snapshot (its mutations, version and LT-hash)
 * in one transaction, then announces its mutations. */
static int apply_result(wa_session *s, int ci, const wa_syncd_result *r)
{
	const char *coll = wa_as_names[ci];
	uint64_t ver = stored_version(s, coll);
	int rc;
	json_t **idx = calloc(r->n ? r->n : 1, sizeof(*idx));
	wa_as_action *acts = calloc(r->n ? r->n : 1, sizeof(*acts));
	bool name_set = false;
	char old_name[WA_STORE_PUSH_NAME_MAX] = "";
	if (s->creds)
		memcpy(old_name, s->creds->push_name, sizeof old_name);
	rc = idx && acts ? wa_store_begin(s->store) : WA_ENOMEM;
	for (size_t i = 0; rc == 0 && i < r->n; i++) {
		wa_as_action_parse(&r->muts[i], &idx[i], &acts[i]);
		rc = wa_as_apply_store(s, coll, &r->muts[i], &acts[i], &name_set);
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
			wa_as_emit_action(s, coll, &r->muts[i], &acts[i]);
	}
	for (size_t i = 0; idx && acts && i < r->n; i++)
		wa_as_action_free(idx[i], &acts[i]);
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
	const char *coll = wa_as_names[ci];
	uint64_t ver = 0;
	uint8_t hash[WA_SYNCD_HASH_LEN] = {0};
	int rc = wa_store_app_state_version_load(s->store, s->instance_id, coll, &ver, hash);
	if (rc == WA_ENOTFOUND)
		rc = 0;
	if (rc != 0) {
		emit_state(s, coll, ver, rc, "stored version unreadable");
		return rc;
	}
	struct wa_as_mac_ctx mc = {s, coll};
	wa_syncd_ops ops = {.get_keys = wa_as_get_keys, .get_value_mac = wa_as_get_value_mac, .user = &mc};
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
		} else if (rc == WA_ECRYPTO) {
			resync(s, ci);
		}
		return rc;
	}
	rc = apply_result(s, ci, &r);
	wa_syncd_result_clear(&r);
	return rc;
}

/* ---- fetching ---- */

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
	const char *coll = wa_as_names[ci];
	uint64_t ver = stored_version(s, coll);
	struct wa_as_mac_ctx mc = {s, coll};
	wa_syncd_ops ops = {.get_keys = wa_as_get_keys, .get_value_mac = wa_as_get_value_mac, .user = &mc};
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
		} else if (rc == WA_ECRYPTO) {
			resync(s, ci);
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
	const char *coll = wa_as_names[w->ci];
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
		const char *coll = wa_as_names[w->ci];
		if (as->stopped & (1u << w->ci)) {
			work_pop(as);
			continue;
		}
		if (w->kind == AS_W_END) {
			if (w->more) {
				as->want |= 1u << w->ci;
			} else {
				as->resynced &= ~(1u << w->ci); /* whole again */
				emit_state(s, coll, stored_version(s, coll), 0, NULL);
			}
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
	wa_as_kick(s);
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
				emit_state(s, wa_as_names[i], stored_version(s, wa_as_names[i]), err ? err : WA_EPROTO,
					err == WA_ETIMEOUT ? "sync timed out" : err == WA_ECLOSED ? "connection closed"
					: "server refused the sync");
		as->inflight = 0;
		wa_as_kick(s);
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

void wa_as_sync_start(wa_session *s)
{
	struct wa_appstate *as = s->appstate;
	if (!as || as->busy || !ready(s))
		return;
	unsigned todo = as->want & ~as->blocked & ~as->dead;
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
		uint64_t ver = stored_version(s, wa_as_names[i]);
		snprintf(v, sizeof v, "%llu", (unsigned long long)ver);
		rc = wa_node_add_new(sync, "collection", &c);
		rc = rc ? rc : wa_node_set_attr(c, "name", wa_as_names[i]);
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
	as->dead &= ~which;
	as->resynced &= ~which;
	as->rounds = 0;
	wa_as_kick(s);
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
	/* an unreadable queue is not fatal: its rows stay for the next run */
	int rc = wa_as_push_load(s);
	if (rc != 0)
		WA_DEBUG("appstate", "[%lld] pending own mutations unreadable: %s", (long long)s->instance_id,
			wa_errname(rc));
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
	wa_as_push_drop(s);
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
