/* wasim: the app-state server and the phone's part in it (messaging.md §9).
 * Per account (in memory, lost on restart) the phone's sync key and, per
 * collection, the patches the phone made, with versions, the LT-hash and the
 * index -> value MAC map they produce (libwa's src/session/syncd.c encodes,
 * Baileys checks it independently). The phone shares its key with each new
 * companion (appStateSyncKeyShare over Signal, before the history
 * notification) and its first patch sets the account's push name
 * (critical_block, setting_pushName). <iq xmlns="w:sync:app:state"> serves
 * the patches after the version asked; what is too big to go inline goes
 * out as a media blob (an ExternalBlobReference) as on the real server: a
 * companion starting from version 0 gets a snapshot of a collection with
 * many patches, a big patch carries its mutations externally (thresholds:
 * POST /_sim/appstate/config). A companion's own patch is taken only on top
 * of the current version (else the conflict answer, <collection
 * type="error"><error code="409"/>), checked with the account's keys (MACs
 * and LT-hash; a bad one is refused with 400), stored with its version and
 * announced to the account's other devices (server_sync).
 * POST /_sim/appstate/mutate makes the phone change a setting: a new patch
 * and <notification type="server_sync"> to the account's companions ("quiet":
 * no notification, so the companions fall behind and meet a conflict).
 * POST /_sim/appstate/fault tampers with every patch (or snapshot) served
 * while on;
 * POST /_sim/appstate/rotate makes the phone encode with a new key it does
 * not share until a companion asks (appStateSyncKeyRequest), when it shares
 * every key it has. */
#include "sim_appstate.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_state.pb-c.h"
#include "media/cipher.h"
#include "media/keys.h"
#include "message.pb-c.h"
#include "pb.h"
#include "session/syncd.h"
#include "sim_msg.h"
#include "sync_action.pb-c.h"
#include "util/seams.h"

#define AS_N 5
static const char *const as_names[AS_N] = {
	"critical_block", "critical_unblock_low", "regular_high", "regular_low", "regular",
};

struct as_blob {
	uint8_t *b;
	size_t n;
};

struct as_map {
	uint8_t imac[32], vmac[32];
	uint8_t *rec; /* the packed SyncdRecord that set it (a snapshot's record) */
	size_t rec_n;
};

struct as_coll {
	uint64_t version;
	uint8_t hash[WA_SYNCD_HASH_LEN];
	struct as_blob *patches; /* patches[v - 1] takes version v - 1 to v */
	struct as_map *map;
	size_t n_map;
};

enum as_fault { AS_FAULT_NONE = 0, AS_FAULT_PATCH_MAC, AS_FAULT_LTHASH, AS_FAULT_VALUE, AS_FAULT_SNAPSHOT };

/* What is too big to go inline (the real server's choice; ours, settable):
 * a companion starting from version 0 gets a snapshot once the collection
 * has this many patches, and a patch larger than this many bytes carries
 * its mutations as an external blob. Both are media blobs. */
#define AS_SNAPSHOT_MIN_DEFAULT 64
#define AS_INLINE_MAX_DEFAULT (64u << 10)

#define AS_MAX_KEYS 8

struct as_key {
	uint8_t data[32];
	uint8_t id[6];
	int64_t ts;
};

struct as_acct {
	char phone[SIM_MAX_PHONE + 1];
	struct as_key keys[AS_MAX_KEYS]; /* keys[n_keys - 1] encodes new patches */
	size_t n_keys;
	uint64_t key_requests;           /* appStateSyncKeyRequests the phone answered */
	struct as_coll c[AS_N];
	enum as_fault fault;
	uint64_t snapshot_min;
	size_t inline_max;
	uint64_t served, tampered, snapshots, external; /* external: patches served as blobs */
	uint64_t accepted, conflicts, refused; /* companions' own patches */
	/* how companions' patches are answered: 0 as the server does;
	 * AS_SILENT taken without an answer (the answer lost on the way);
	 * AS_SWALLOW neither taken nor answered (the iq lost); unanswered
	 * counts both */
	int patch_answer;
	uint64_t unanswered;
	struct as_acct *next;
};

enum { AS_ANSWER = 0, AS_SILENT, AS_SWALLOW };

static struct as_acct *accts;

static int coll_index(const char *name)
{
	for (int i = 0; i < AS_N; i++)
		if (name && strcmp(name, as_names[i]) == 0)
			return i;
	return -1;
}

static int map_get(void *user, const uint8_t imac[32], uint8_t out[32])
{
	struct as_coll *c = user;
	for (size_t i = 0; i < c->n_map; i++)
		if (memcmp(c->map[i].imac, imac, 32) == 0) {
			memcpy(out, c->map[i].vmac, 32);
			return 0;
		}
	return WA_ENOTFOUND;
}

/* rec: the mutation's SyncdRecord (kept for snapshots), NULL for a remove. */
static int map_set(struct as_coll *c, const uint8_t imac[32], const uint8_t vmac[32], const Wa__SyncdRecord *rec)
{
	uint8_t *rb = NULL;
	size_t rn = 0;
	if (rec) {
		rn = protobuf_c_message_get_packed_size(&rec->base);
		if (!(rb = malloc(rn ? rn : 1)))
			return WA_ENOMEM;
		protobuf_c_message_pack(&rec->base, rb);
	}
	for (size_t i = 0; i < c->n_map; i++)
		if (memcmp(c->map[i].imac, imac, 32) == 0) {
			free(c->map[i].rec);
			if (!rec) {
				c->map[i] = c->map[--c->n_map];
			} else {
				memcpy(c->map[i].vmac, vmac, 32);
				c->map[i].rec = rb;
				c->map[i].rec_n = rn;
			}
			return 0;
		}
	if (!rec)
		return 0;
	struct as_map *m = realloc(c->map, (c->n_map + 1) * sizeof(*m));
	if (!m) {
		free(rb);
		return WA_ENOMEM;
	}
	c->map = m;
	memcpy(m[c->n_map].imac, imac, 32);
	memcpy(m[c->n_map].vmac, vmac, 32);
	m[c->n_map].rec = rb;
	m[c->n_map].rec_n = rn;
	c->n_map++;
	return 0;
}

/* The record of the first mutation of an encoded patch. */
static int map_set_from(struct as_coll *c, const uint8_t macs[2][32], const uint8_t *patch, size_t n)
{
	ProtobufCMessage *pb = NULL;
	if (wa_pb_unpack(&pb, &wa__syncd_patch__descriptor, patch, n, WA_SYNCD_MAX_BYTES) != 0)
		return WA_EMALFORMED;
	Wa__SyncdPatch *sp = (Wa__SyncdPatch *)pb;
	int rc = sp->n_mutations && sp->mutations[0]->record ? map_set(c, macs[0], macs[1], sp->mutations[0]->record)
		: WA_EMALFORMED;
	protobuf_c_message_free_unpacked(pb, NULL);
	return rc;
}

/* The phone makes one mutation: a new patch in collection ci. */
static int add_patch(struct as_acct *x, int ci, const char *index_json, const Wa__SyncActionValue *v,
	int32_t api_version)
{
	struct as_coll *c = &x->c[ci];
	size_t vl = protobuf_c_message_get_packed_size(&v->base);
	uint8_t *vb = malloc(vl ? vl : 1);
	if (!vb)
		return WA_ENOMEM;
	protobuf_c_message_pack(&v->base, vb);
	wa_syncd_new m = {.op = WA_SYNCD_SET, .index_json = index_json, .value = vb, .value_len = vl,
		.version = api_version};
	wa_rand_bytes(m.iv, sizeof m.iv);
	wa_syncd_ops ops = {.get_value_mac = map_get, .user = c};
	uint8_t macs[1][2][32], hash[WA_SYNCD_HASH_LEN];
	uint8_t *out = NULL;
	size_t out_len = 0;
	memcpy(hash, c->hash, sizeof hash);
	const struct as_key *k = &x->keys[x->n_keys - 1];
	int rc = wa_syncd_encode_patch(as_names[ci], c->version, hash, k->data, sizeof k->data, k->id, sizeof k->id, &m,
		1, &ops, macs, &out, &out_len);
	free(vb);
	if (rc)
		return rc;
	struct as_blob *p = realloc(c->patches, (c->version + 1) * sizeof(*p));
	if (!p || map_set_from(c, macs[0], out, out_len) != 0) {
		if (p)
			c->patches = p;
		free(out);
		return WA_ENOMEM;
	}
	c->patches = p;
	p[c->version].b = out;
	p[c->version].n = out_len;
	c->version++;
	memcpy(c->hash, hash, sizeof hash);
	return 0;
}

static int push_name_patch(struct as_acct *x, const char *name)
{
	Wa__SyncActionValue v = WA__SYNC_ACTION_VALUE__INIT;
	Wa__SyncActionValue__PushNameSetting pn = WA__SYNC_ACTION_VALUE__PUSH_NAME_SETTING__INIT;
	pn.name = (char *)name;
	v.push_name_setting = &pn;
	v.has_timestamp = 1;
	v.timestamp = sim_now() * 1000;
	return add_patch(x, 0, "[\"setting_pushName\"]", &v, 1);
}

/* A new key (the phone rotates it): id 00 00 00 00 00 n, as the real phone counts. */
static int new_key(struct as_acct *x)
{
	if (x->n_keys >= AS_MAX_KEYS)
		return WA_ETOOBIG;
	struct as_key *k = &x->keys[x->n_keys];
	wa_rand_bytes(k->data, sizeof k->data);
	memset(k->id, 0, sizeof k->id);
	k->id[5] = (uint8_t)(x->n_keys + 1);
	k->ts = sim_now() * 1000;
	x->n_keys++;
	return 0;
}

/* The account's app state, created on first use with its sync key and,
 * when it has one, the push-name patch (as at account creation). */
static struct as_acct *acct_get(struct sim_account *a)
{
	for (struct as_acct *x = accts; x; x = x->next)
		if (strcmp(x->phone, a->phone) == 0)
			return x;
	struct as_acct *x = calloc(1, sizeof(*x));
	if (!x)
		return NULL;
	snprintf(x->phone, sizeof x->phone, "%s", a->phone);
	x->snapshot_min = AS_SNAPSHOT_MIN_DEFAULT;
	x->inline_max = AS_INLINE_MAX_DEFAULT;
	if (new_key(x) != 0 || (a->push_name[0] && push_name_patch(x, a->push_name) != 0)) {
		free(x);
		return NULL;
	}
	x->next = accts;
	accts = x;
	return x;
}

void sim_appstate_shutdown(void)
{
	while (accts) {
		struct as_acct *x = accts;
		accts = x->next;
		for (int i = 0; i < AS_N; i++) {
			for (uint64_t v = 0; v < x->c[i].version; v++)
				free(x->c[i].patches[v].b);
			free(x->c[i].patches);
			for (size_t m = 0; m < x->c[i].n_map; m++)
				free(x->c[i].map[m].rec);
			free(x->c[i].map);
		}
		free(x);
	}
}

void sim_appstate_share_key(struct sim *sim, struct sim_account *a, uint32_t dev)
{
	struct as_acct *x = acct_get(a);
	if (!x)
		return;
	Wa__Message msg = WA__MESSAGE__INIT;
	Wa__Message__ProtocolMessage pm = WA__MESSAGE__PROTOCOL_MESSAGE__INIT;
	Wa__Message__AppStateSyncKeyShare ks = WA__MESSAGE__APP_STATE_SYNC_KEY_SHARE__INIT;
	Wa__Message__AppStateSyncKey k[AS_MAX_KEYS];
	Wa__Message__AppStateSyncKeyId kid[AS_MAX_KEYS];
	Wa__Message__AppStateSyncKeyData kd[AS_MAX_KEYS];
	Wa__Message__AppStateSyncKeyFingerprint fp = WA__MESSAGE__APP_STATE_SYNC_KEY_FINGERPRINT__INIT;
	Wa__Message__AppStateSyncKey *keys[AS_MAX_KEYS];
	fp.has_raw_id = 1;
	fp.raw_id = a->adv_raw_id;
	fp.has_current_index = 1;
	fp.current_index = 0;
	for (size_t i = 0; i < x->n_keys; i++) {
		wa__message__app_state_sync_key__init(&k[i]);
		wa__message__app_state_sync_key_id__init(&kid[i]);
		wa__message__app_state_sync_key_data__init(&kd[i]);
		kid[i].has_key_id = 1;
		kid[i].key_id.data = x->keys[i].id;
		kid[i].key_id.len = sizeof x->keys[i].id;
		kd[i].has_key_data = 1;
		kd[i].key_data.data = x->keys[i].data;
		kd[i].key_data.len = sizeof x->keys[i].data;
		kd[i].fingerprint = &fp;
		kd[i].has_timestamp = 1;
		kd[i].timestamp = x->keys[i].ts;
		k[i].key_id = &kid[i];
		k[i].key_data = &kd[i];
		keys[i] = &k[i];
	}
	ks.n_keys = x->n_keys;
	ks.keys = keys;
	pm.has_type = 1;
	pm.type = WA__MESSAGE__PROTOCOL_MESSAGE__TYPE__APP_STATE_SYNC_KEY_SHARE;
	pm.app_state_sync_key_share = &ks;
	msg.protocol_message = &pm;
	size_t n = protobuf_c_message_get_packed_size(&msg.base);
	uint8_t *b = malloc(n);
	char id[40];
	if (!b)
		return;
	protobuf_c_message_pack(&msg.base, b);
	SIM_IGNORE(sim_phone_send_peer(sim, a, dev, b, n, id, sizeof id));
	free(b);
}

static void notify_companions(struct sim *sim, struct sim_account *a, int ci, uint64_t version,
	const struct sim_device *except);

/* ---- serving ---- */

/* A copy of patch p as the fault wants it (NULL: serve p as is). */
static struct as_blob tamper(const struct as_acct *x, int ci, const struct as_blob *p)
{
	struct as_blob out = {0};
	if (x->fault == AS_FAULT_NONE || x->fault == AS_FAULT_SNAPSHOT)
		return out;
	ProtobufCMessage *pb = NULL;
	if (wa_pb_unpack(&pb, &wa__syncd_patch__descriptor, p->b, p->n, WA_SYNCD_MAX_BYTES) != 0)
		return out;
	Wa__SyncdPatch *sp = (Wa__SyncdPatch *)pb;
	wa_syncd_keys k;
	bool ok = wa_syncd_expand_keys(x->keys[x->n_keys - 1].data, 32, &k) == 0 && sp->has_patch_mac && sp->has_snapshot_mac &&
		sp->n_mutations > 0;
	if (ok && x->fault == AS_FAULT_PATCH_MAC) {
		sp->patch_mac.data[0] ^= 1;
	} else if (ok) {
		if (x->fault == AS_FAULT_LTHASH) {
			/* a snapshot MAC over another hash, with a patch MAC that matches it:
			 * only the LT-hash check can tell */
			sp->snapshot_mac.data[0] ^= 1;
		} else {
			/* a flipped value MAC, the patch MAC recomputed over it */
			ProtobufCBinaryData *vb = &sp->mutations[0]->record->value->blob;
			vb->data[vb->len - 1] ^= 1;
		}
		uint8_t(*vm)[32] = calloc(sp->n_mutations, 32);
		ok = vm != NULL;
		for (size_t i = 0; ok && i < sp->n_mutations; i++) {
			ProtobufCBinaryData *b = &sp->mutations[i]->record->value->blob;
			memcpy(vm[i], b->data + b->len - 32, 32);
		}
		ok = ok && wa_syncd_patch_mac(sp->patch_mac.data, sp->snapshot_mac.data, (const uint8_t(*)[32])vm,
			sp->n_mutations, sp->version->version, as_names[ci], k.patch_mac) == 0;
		free(vm);
	}
	if (ok) {
		out.n = protobuf_c_message_get_packed_size(pb);
		out.b = malloc(out.n);
		if (out.b)
			protobuf_c_message_pack(pb, out.b);
	}
	protobuf_c_message_free_unpacked(pb, NULL);
	return out;
}

static int keys_get(void *user, const uint8_t *id, size_t len, wa_syncd_keys *out)
{
	const struct as_acct *x = user;
	for (size_t i = 0; i < x->n_keys; i++)
		if (len == sizeof x->keys[i].id && memcmp(id, x->keys[i].id, len) == 0)
			return wa_syncd_expand_keys(x->keys[i].data, sizeof x->keys[i].data, out);
	return WA_ENOTFOUND;
}

struct take_ctx {
	struct as_acct *x;
	struct as_coll *c;
};

static int take_keys(void *user, const uint8_t *id, size_t len, wa_syncd_keys *out)
{
	return keys_get(((struct take_ctx *)user)->x, id, len, out);
}

static int take_mac(void *user, const uint8_t imac[32], uint8_t out[32])
{
	return map_get(((struct take_ctx *)user)->c, imac, out);
}

/* A companion's own patch on top of version `from` of collection ci: the
 * answer's <collection>. */
static wa_node *take_patch(struct sim *sim, struct as_acct *x, struct sim_device *d, int ci, uint64_t from,
	const wa_node *pn)
{
	struct as_coll *c = &x->c[ci];
	char v[24];
	const uint8_t *b;
	size_t bl;
	if (from != c->version) {
		x->conflicts++;
		snprintf(v, sizeof v, "%llu", (unsigned long long)c->version);
		return sim_node_add(sim_node("collection", "name", as_names[ci], "version", v, "type", "error", NULL),
			sim_node("error", "code", "409", "text", "conflict", NULL));
	}
	snprintf(v, sizeof v, "%llu", (unsigned long long)from);
	struct take_ctx tc = {x, c};
	wa_syncd_ops ops = {.get_keys = take_keys, .get_value_mac = take_mac, .user = &tc};
	wa_syncd_result r = {0};
	int rc = wa_node_content_bytes(pn, &b, &bl) == 0 ? wa_syncd_decode_patch(as_names[ci], b, bl, from + 1, c->hash,
		&ops, &r) : WA_EMALFORMED;
	if (rc == 0 && r.version != from + 1)
		rc = WA_EPROTO;
	/* stored as the server serves it: with its version */
	ProtobufCMessage *pb = NULL;
	struct as_blob blob = {0};
	struct as_blob *np = NULL;
	if (rc == 0 && wa_pb_unpack(&pb, &wa__syncd_patch__descriptor, b, bl, WA_SYNCD_MAX_BYTES) == 0) {
		Wa__SyncdPatch *sp = (Wa__SyncdPatch *)pb;
		Wa__SyncdVersion ver = WA__SYNCD_VERSION__INIT, *old = sp->version;
		ver.has_version = 1;
		ver.version = from + 1;
		sp->version = &ver;
		blob.n = protobuf_c_message_get_packed_size(pb);
		blob.b = malloc(blob.n ? blob.n : 1);
		if (blob.b)
			protobuf_c_message_pack(pb, blob.b);
		sp->version = old;
		np = blob.b ? realloc(c->patches, (c->version + 1) * sizeof(*np)) : NULL;
		if (np)
			c->patches = np;
		/* decoding checked r.n == n_mutations, in order */
		for (size_t i = 0; np && i < r.n && i < sp->n_mutations; i++)
			if (map_set(c, r.muts[i].index_mac, r.muts[i].value_mac,
				    r.muts[i].op == WA_SYNCD_REMOVE ? NULL : sp->mutations[i]->record) != 0)
				np = NULL;
		protobuf_c_message_free_unpacked(pb, NULL);
	}
	if (rc != 0 || !np) {
		x->refused++;
		fprintf(stderr, "wasim: app-state patch from %s.%u refused: %s\n", x->phone, d ? d->device : 0,
			r.error ? r.error : wa_strerror(rc ? rc : WA_ENOMEM));
		free(blob.b);
		wa_syncd_result_clear(&r);
		return sim_node_add(sim_node("collection", "name", as_names[ci], "version", v, "type", "error", NULL),
			sim_node("error", "code", "400", "text", "bad-request", NULL));
	}
	c->patches = np;
	np[c->version] = blob;
	c->version++;
	memcpy(c->hash, r.hash, sizeof c->hash);
	wa_syncd_result_clear(&r);
	x->accepted++;
	snprintf(v, sizeof v, "%llu", (unsigned long long)c->version);
	struct sim_account *a = d ? d->acct : NULL;
	if (a)
		notify_companions(sim, a, ci, c->version, d);
	return sim_node("collection", "name", as_names[ci], "version", v, NULL);
}

/* ---- what goes out as a media blob ---- */

/* An ExternalBlobReference to pt encrypted and stored as a media upload
 * ("WhatsApp App State Keys"); malloc'd bytes in *out. */
static int blob_ref(struct sim *sim, const uint8_t *pt, size_t n, uint8_t **out, size_t *out_len)
{
	uint8_t mk[32], *blob = NULL;
	size_t bn = 0;
	char direct[160];
	wa_media_result res;
	wa_media_keys keys;
	wa_rand_bytes(mk, sizeof mk);
	int rc = wa_media_keys_derive(&keys, mk, WA_MEDIA_APP_STATE);
	if (rc == 0)
		rc = wa_media_encrypt(&blob, &bn, &res, &keys, pt, n);
	wa_media_keys_clear(&keys);
	if (rc == 0)
		rc = sim_media_store(sim, blob, bn, direct, sizeof direct);
	free(blob);
	if (rc)
		return rc;
	Wa__ExternalBlobReference r = WA__EXTERNAL_BLOB_REFERENCE__INIT;
	r.has_media_key = r.has_file_sha256 = r.has_file_enc_sha256 = r.has_file_size_bytes = 1;
	r.media_key.data = mk;
	r.media_key.len = sizeof mk;
	r.direct_path = direct;
	r.file_size_bytes = res.file_length;
	r.file_sha256.data = res.file_sha256;
	r.file_sha256.len = 32;
	r.file_enc_sha256.data = res.file_enc_sha256;
	r.file_enc_sha256.len = 32;
	*out_len = protobuf_c_message_get_packed_size(&r.base);
	if (!(*out = malloc(*out_len)))
		return WA_ENOMEM;
	protobuf_c_message_pack(&r.base, *out);
	return 0;
}

/* The collection as a SyncdSnapshot (every record the map holds, the MAC
 * over the current LT-hash), uploaded: the <snapshot> node's content. */
static wa_node *snapshot_node(struct sim *sim, struct as_acct *x, int ci)
{
	struct as_coll *c = &x->c[ci];
	const struct as_key *k = &x->keys[x->n_keys - 1];
	Wa__SyncdSnapshot sn = WA__SYNCD_SNAPSHOT__INIT;
	Wa__SyncdVersion ver = WA__SYNCD_VERSION__INIT;
	Wa__KeyId kid = WA__KEY_ID__INIT;
	Wa__SyncdRecord **recs = calloc(c->n_map ? c->n_map : 1, sizeof(*recs));
	uint8_t mac[32], *pt = NULL, *ref = NULL;
	size_t n = 0, rn = 0;
	wa_syncd_keys sk;
	int rc = recs ? wa_syncd_expand_keys(k->data, sizeof k->data, &sk) : WA_ENOMEM;
	if (rc == 0)
		rc = wa_syncd_snapshot_mac(mac, c->hash, c->version, as_names[ci], sk.snapshot_mac);
	wa_memzero(&sk, sizeof sk);
	if (rc == 0 && x->fault == AS_FAULT_SNAPSHOT)
		mac[0] ^= 1;
	for (size_t i = 0; rc == 0 && i < c->n_map; i++) {
		ProtobufCMessage *pb = NULL;
		rc = wa_pb_unpack(&pb, &wa__syncd_record__descriptor, c->map[i].rec, c->map[i].rec_n, WA_SYNCD_MAX_BYTES);
		recs[sn.n_records++] = (Wa__SyncdRecord *)pb;
	}
	if (rc == 0) {
		ver.has_version = 1;
		ver.version = c->version;
		kid.has_id = 1;
		kid.id.data = (uint8_t *)k->id;
		kid.id.len = sizeof k->id;
		sn.version = &ver;
		sn.key_id = &kid;
		sn.records = recs;
		sn.has_mac = 1;
		sn.mac.data = mac;
		sn.mac.len = sizeof mac;
		n = protobuf_c_message_get_packed_size(&sn.base);
		rc = (pt = malloc(n ? n : 1)) ? 0 : WA_ENOMEM;
	}
	if (rc == 0) {
		protobuf_c_message_pack(&sn.base, pt);
		rc = blob_ref(sim, pt, n, &ref, &rn);
	}
	for (size_t i = 0; recs && i < sn.n_records; i++)
		if (recs[i])
			protobuf_c_message_free_unpacked(&recs[i]->base, NULL);
	free(recs);
	free(pt);
	wa_node *out = rc == 0 ? sim_node_bytes("snapshot", ref, rn) : NULL;
	free(ref);
	if (rc)
		fprintf(stderr, "wasim: app-state snapshot of %s not built: %s\n", as_names[ci], wa_strerror(rc));
	return out;
}

/* Patch p with its mutations moved to an external blob (SyncdMutations),
 * as the server sends a patch too big to go inline. */
static struct as_blob externalize(struct sim *sim, const struct as_blob *p)
{
	struct as_blob out = {0};
	ProtobufCMessage *pb = NULL;
	if (wa_pb_unpack(&pb, &wa__syncd_patch__descriptor, p->b, p->n, WA_SYNCD_MAX_BYTES) != 0)
		return out;
	Wa__SyncdPatch *sp = (Wa__SyncdPatch *)pb;
	Wa__SyncdMutations ms = WA__SYNCD_MUTATIONS__INIT;
	ms.n_mutations = sp->n_mutations;
	ms.mutations = sp->mutations;
	size_t n = protobuf_c_message_get_packed_size(&ms.base), rn = 0;
	uint8_t *pt = malloc(n ? n : 1), *ref = NULL;
	ProtobufCMessage *rp = NULL;
	if (pt) {
		protobuf_c_message_pack(&ms.base, pt);
		if (blob_ref(sim, pt, n, &ref, &rn) == 0 &&
		    wa_pb_unpack(&rp, &wa__external_blob_reference__descriptor, ref, rn, 4096) == 0) {
			size_t nm = sp->n_mutations;
			Wa__SyncdMutation **keep = sp->mutations;
			sp->n_mutations = 0;
			sp->mutations = NULL;
			sp->external_mutations = (Wa__ExternalBlobReference *)rp;
			out.n = protobuf_c_message_get_packed_size(pb);
			if ((out.b = malloc(out.n)))
				protobuf_c_message_pack(pb, out.b);
			sp->external_mutations = NULL;
			sp->n_mutations = nm;
			sp->mutations = keep;
			protobuf_c_message_free_unpacked(rp, NULL);
		}
	}
	free(pt);
	free(ref);
	protobuf_c_message_free_unpacked(pb, NULL);
	return out;
}

static int iq_app_state(struct sim *sim, struct sim_conn *c, const wa_node *iq, void *user)
{
	(void)user;
	struct sim_device *d = sim_conn_device(c);
	struct as_acct *x = d ? acct_get(d->acct) : NULL;
	const wa_node *sync = wa_node_child(iq, "sync");
	wa_node *out = sim_node("sync", NULL);
	bool took = false;
	if (!x)
		goto fail;
	for (size_t i = 0; x->patch_answer == AS_SWALLOW && sync && i < wa_node_n_children(sync); i++)
		if (wa_node_child(wa_node_child_at(sync, i), "patch")) {
			x->unanswered++;
			wa_node_free(out);
			return 0;
		}
	for (size_t i = 0; out && sync && i < wa_node_n_children(sync); i++) {
		const wa_node *col = wa_node_child_at(sync, i);
		const char *name = wa_node_attr(col, "name");
		int ci = coll_index(name);
		if (strcmp(wa_node_tag(col), "collection") != 0 || !name)
			continue;
		if (ci < 0) {
			out = sim_node_add(out, sim_node("collection", "name", name, "type", "error", NULL));
			continue;
		}
		const char *vs = wa_node_attr(col, "version");
		uint64_t from = vs ? strtoull(vs, NULL, 10) : 0;
		struct as_coll *cc = &x->c[ci];
		char v[24];
		snprintf(v, sizeof v, "%llu", (unsigned long long)cc->version);
		wa_node *cn = sim_node("collection", "name", name, "version", v, "has_more_patches", "false", NULL);
		if (wa_node_child(col, "patch")) {
			wa_node_free(cn);
			out = sim_node_add(out, take_patch(sim, x, d, ci, from, wa_node_child(col, "patch")));
			took = true;
			continue;
		}
		const char *rs = wa_node_attr(col, "return_snapshot");
		if (from == 0 && cc->version > 0 && cc->version >= x->snapshot_min && rs && strcmp(rs, "true") == 0) {
			/* everything in one snapshot blob, no patches */
			wa_node *sn = snapshot_node(sim, x, ci);
			if (!sn) {
				wa_node_free(cn);
				goto fail;
			}
			x->snapshots++;
			if (x->fault == AS_FAULT_SNAPSHOT)
				x->tampered++;
			out = sim_node_add(out, sim_node_add(cn, sn));
			continue;
		}
		wa_node *ps = sim_node("patches", NULL);
		for (uint64_t pv = from; ps && pv < cc->version; pv++) {
			struct as_blob t = tamper(x, ci, &cc->patches[pv]);
			const struct as_blob *p = t.b ? &t : &cc->patches[pv];
			struct as_blob e = {0};
			if (p->n > x->inline_max && (e = externalize(sim, p)).b) {
				p = &e;
				x->external++;
			}
			ps = sim_node_add(ps, sim_node_bytes("patch", p->b, p->n));
			x->served++;
			if (t.b)
				x->tampered++;
			free(t.b);
			free(e.b);
		}
		out = sim_node_add(out, sim_node_add(cn, ps));
	}
	if (out && took && x->patch_answer == AS_SILENT) {
		x->unanswered++;
		wa_node_free(out);
		return 0;
	}
	if (out)
		return sim_iq_result(c, iq, out);
fail:
	wa_node_free(out);
	return sim_iq_error(c, iq, 500, "internal-error");
}

/* ---- control ---- */

static void notify_companions(struct sim *sim, struct sim_account *a, int ci, uint64_t version,
	const struct sim_device *except)
{
	char v[24], id[40], t[24];
	snprintf(v, sizeof v, "%llu", (unsigned long long)version);
	snprintf(t, sizeof t, "%lld", (long long)sim_now());
	for (size_t i = 0; i < a->n_devices; i++) {
		if (a->devices[i] == except)
			continue;
		sim_new_id(sim, id, sizeof id);
		wa_node *n = sim_node("notification", "from", "s.whatsapp.net", "type", "server_sync", "id", id, "t", t,
			NULL);
		n = sim_node_add(n, sim_node("collection", "name", as_names[ci], "version", v, NULL));
		if (n)
			SIM_IGNORE(sim_send_to_device(sim, a->devices[i], n));
	}
}

/* {"phone", "action": archive|pin|mute|read|contact|push_name|label_edit|label,
 *  "jid" (the chat; label_edit: the label id), "value": bool (archive, pin,
 *  mute, read, label), "mute_end": ms (mute), "full_name", "first_name"
 *  (contact), "name" (push_name, label_edit), "color", "deleted"
 *  (label_edit), "label": id (label), "quiet": no server_sync} */
static int h_mutate(struct sim *sim, const struct sim_http_req *req, struct sim_http_resp *resp, void *user)
{
	(void)user;
	json_t *j = req->json;
	const char *phone = json_string_value(json_object_get(j, "phone"));
	const char *action = json_string_value(json_object_get(j, "action"));
	const char *jid = json_string_value(json_object_get(j, "jid"));
	bool val = json_is_true(json_object_get(j, "value"));
	struct sim_account *a = phone ? sim_account_find(sim, phone) : NULL;
	struct as_acct *x = a ? acct_get(a) : NULL;
	if (!a || !x) {
		sim_http_error(resp, 404, "no such account");
		return 0;
	}
	if (!action) {
		sim_http_error(resp, 400, "action required");
		return 0;
	}
	Wa__SyncActionValue v = WA__SYNC_ACTION_VALUE__INIT;
	Wa__SyncActionValue__ArchiveChatAction ar = WA__SYNC_ACTION_VALUE__ARCHIVE_CHAT_ACTION__INIT;
	Wa__SyncActionValue__PinAction pin = WA__SYNC_ACTION_VALUE__PIN_ACTION__INIT;
	Wa__SyncActionValue__MuteAction mu = WA__SYNC_ACTION_VALUE__MUTE_ACTION__INIT;
	Wa__SyncActionValue__MarkChatAsReadAction rd = WA__SYNC_ACTION_VALUE__MARK_CHAT_AS_READ_ACTION__INIT;
	Wa__SyncActionValue__ContactAction ct = WA__SYNC_ACTION_VALUE__CONTACT_ACTION__INIT;
	Wa__SyncActionValue__PushNameSetting pn = WA__SYNC_ACTION_VALUE__PUSH_NAME_SETTING__INIT;
	Wa__SyncActionValue__LabelEditAction le = WA__SYNC_ACTION_VALUE__LABEL_EDIT_ACTION__INIT;
	Wa__SyncActionValue__LabelAssociationAction la = WA__SYNC_ACTION_VALUE__LABEL_ASSOCIATION_ACTION__INIT;
	const char *label = NULL;
	v.has_timestamp = 1;
	v.timestamp = sim_now() * 1000;
	int ci, api;
	const char *kind;
	if (strcmp(action, "push_name") == 0) {
		pn.name = (char *)json_string_value(json_object_get(j, "name"));
		if (!pn.name) {
			sim_http_error(resp, 400, "name required");
			return 0;
		}
		v.push_name_setting = &pn;
		kind = "setting_pushName", ci = 0, api = 1;
		jid = NULL;
	} else if (!jid) {
		sim_http_error(resp, 400, "jid required");
		return 0;
	} else if (strcmp(action, "archive") == 0) {
		ar.has_archived = 1, ar.archived = val;
		v.archive_chat_action = &ar;
		kind = "archive", ci = 3, api = 3;
	} else if (strcmp(action, "pin") == 0) {
		pin.has_pinned = 1, pin.pinned = val;
		v.pin_action = &pin;
		kind = "pin_v1", ci = 3, api = 5;
	} else if (strcmp(action, "mute") == 0) {
		json_t *me = json_object_get(j, "mute_end");
		mu.has_muted = 1, mu.muted = val;
		if (val && json_is_integer(me))
			mu.has_mute_end_timestamp = 1, mu.mute_end_timestamp = json_integer_value(me);
		v.mute_action = &mu;
		kind = "mute", ci = 2, api = 2;
	} else if (strcmp(action, "read") == 0) {
		rd.has_read = 1, rd.read = val;
		v.mark_chat_as_read_action = &rd;
		kind = "markChatAsRead", ci = 3, api = 3;
	} else if (strcmp(action, "contact") == 0) {
		ct.full_name = (char *)json_string_value(json_object_get(j, "full_name"));
		ct.first_name = (char *)json_string_value(json_object_get(j, "first_name"));
		v.contact_action = &ct;
		kind = "contact", ci = 1, api = 2;
	} else if (strcmp(action, "label_edit") == 0) {
		/* jid holds the label id: ["label_edit", id] */
		le.name = (char *)json_string_value(json_object_get(j, "name"));
		le.has_color = 1, le.color = (int32_t)json_integer_value(json_object_get(j, "color"));
		le.has_deleted = 1, le.deleted = json_is_true(json_object_get(j, "deleted"));
		v.label_edit_action = &le;
		kind = "label_edit", ci = 4, api = 3;
	} else if (strcmp(action, "label") == 0) {
		label = json_string_value(json_object_get(j, "label"));
		if (!label) {
			sim_http_error(resp, 400, "label required");
			return 0;
		}
		la.has_labeled = 1, la.labeled = val;
		v.label_association_action = &la;
		kind = "label_jid", ci = 4, api = 3;
	} else {
		sim_http_error(resp, 400, "unknown action");
		return 0;
	}
	json_t *idx = label ? json_pack("[sss]", kind, label, jid) : jid ? json_pack("[ss]", kind, jid)
		: json_pack("[s]", kind);
	char *ij = idx ? json_dumps(idx, JSON_COMPACT) : NULL;
	json_decref(idx);
	int rc = ij ? add_patch(x, ci, ij, &v, api) : WA_ENOMEM;
	free(ij);
	if (rc) {
		sim_http_error(resp, 500, wa_strerror(rc));
		return 0;
	}
	if (pn.name)
		snprintf(a->push_name, sizeof a->push_name, "%s", pn.name);
	if (!json_is_true(json_object_get(j, "quiet")))
		notify_companions(sim, a, ci, x->c[ci].version, NULL);
	sim_http_json(resp, 200, json_pack("{s:s,s:I}", "collection", as_names[ci], "version",
		(json_int_t)x->c[ci].version));
	return 0;
}

/* {"phone", "tamper": "none"|"patch_mac"|"lthash"|"value_mac"|"snapshot_mac"} */
static int h_fault(struct sim *sim, const struct sim_http_req *req, struct sim_http_resp *resp, void *user)
{
	(void)user;
	const char *phone = json_string_value(json_object_get(req->json, "phone"));
	const char *t = json_string_value(json_object_get(req->json, "tamper"));
	struct sim_account *a = phone ? sim_account_find(sim, phone) : NULL;
	struct as_acct *x = a ? acct_get(a) : NULL;
	if (!x) {
		sim_http_error(resp, 404, "no such account");
		return 0;
	}
	if (!t || strcmp(t, "none") == 0)
		x->fault = AS_FAULT_NONE;
	else if (strcmp(t, "patch_mac") == 0)
		x->fault = AS_FAULT_PATCH_MAC;
	else if (strcmp(t, "lthash") == 0)
		x->fault = AS_FAULT_LTHASH;
	else if (strcmp(t, "value_mac") == 0)
		x->fault = AS_FAULT_VALUE;
	else if (strcmp(t, "snapshot_mac") == 0)
		x->fault = AS_FAULT_SNAPSHOT;
	else {
		sim_http_error(resp, 400, "unknown tamper");
		return 0;
	}
	sim_http_json(resp, 200, json_pack("{s:b}", "ok", 1));
	return 0;
}

/* {"phone", "snapshot_min": patches, "inline_max": bytes, "patch_answer":
 * "answer"|"silent"|"swallow"}: from how many patches a companion syncing
 * from version 0 gets a snapshot blob, the size above which a patch's
 * mutations go out as a blob (0: every patch), and how companions' patches
 * are answered from now on */
static int h_config(struct sim *sim, const struct sim_http_req *req, struct sim_http_resp *resp, void *user)
{
	(void)user;
	const char *phone = json_string_value(json_object_get(req->json, "phone"));
	struct sim_account *a = phone ? sim_account_find(sim, phone) : NULL;
	struct as_acct *x = a ? acct_get(a) : NULL;
	json_t *sm = json_object_get(req->json, "snapshot_min"), *im = json_object_get(req->json, "inline_max");
	const char *pa = json_string_value(json_object_get(req->json, "patch_answer"));
	int mode = !pa || strcmp(pa, "answer") == 0 ? AS_ANSWER : strcmp(pa, "silent") == 0 ? AS_SILENT
		: strcmp(pa, "swallow") == 0 ? AS_SWALLOW : -1;
	if (!x) {
		sim_http_error(resp, 404, "no such account");
		return 0;
	}
	if ((sm && (!json_is_integer(sm) || json_integer_value(sm) < 1)) ||
	    (im && (!json_is_integer(im) || json_integer_value(im) < 0)) || mode < 0) {
		sim_http_error(resp, 400, "snapshot_min >= 1 and inline_max >= 0 (integers), patch_answer answer, silent "
			"or swallow");
		return 0;
	}
	if (pa)
		x->patch_answer = mode;
	if (sm)
		x->snapshot_min = (uint64_t)json_integer_value(sm);
	if (im)
		x->inline_max = (size_t)json_integer_value(im);
	sim_http_json(resp, 200, json_pack("{s:I,s:I,s:s}", "snapshot_min", (json_int_t)x->snapshot_min, "inline_max",
		(json_int_t)x->inline_max, "patch_answer", x->patch_answer == AS_SILENT ? "silent" :
		x->patch_answer == AS_SWALLOW ? "swallow" : "answer"));
	return 0;
}

/* GET /_sim/appstate/{phone}: versions, LT-hashes (hex), patches served and
 * tampered, snapshots and external patches served, companions' patches accepted, met with a conflict and refused */
static int h_info(struct sim *sim, const struct sim_http_req *req, struct sim_http_resp *resp, void *user)
{
	(void)user;
	struct sim_account *a = sim_account_find(sim, req->path + strlen("/_sim/appstate/"));
	struct as_acct *x = a ? acct_get(a) : NULL;
	if (!x) {
		sim_http_error(resp, 404, "no such account");
		return 0;
	}
	json_t *cols = json_object(), *hashes = json_object();
	for (int i = 0; i < AS_N; i++) {
		char hex[2 * WA_SYNCD_HASH_LEN + 1];
		for (size_t k = 0; k < WA_SYNCD_HASH_LEN; k++)
			snprintf(hex + 2 * k, 3, "%02x", x->c[i].hash[k]);
		json_object_set_new(cols, as_names[i], json_integer((json_int_t)x->c[i].version));
		json_object_set_new(hashes, as_names[i], json_string(hex));
	}
	sim_http_json(resp, 200, json_pack("{s:o,s:o,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "collections", cols, "hashes",
		hashes, "served", (json_int_t)x->served, "tampered", (json_int_t)x->tampered, "snapshots",
		(json_int_t)x->snapshots, "external", (json_int_t)x->external, "keys", (json_int_t)x->n_keys,
		"key_requests", (json_int_t)x->key_requests, "accepted", (json_int_t)x->accepted, "conflicts",
		(json_int_t)x->conflicts, "refused", (json_int_t)x->refused, "unanswered", (json_int_t)x->unanswered));
	return 0;
}

/* {"phone"}: the phone starts encoding with a new key it has not shared:
 * companions have to ask for it (appStateSyncKeyRequest) */
static int h_rotate(struct sim *sim, const struct sim_http_req *req, struct sim_http_resp *resp, void *user)
{
	(void)user;
	const char *phone = json_string_value(json_object_get(req->json, "phone"));
	struct sim_account *a = phone ? sim_account_find(sim, phone) : NULL;
	struct as_acct *x = a ? acct_get(a) : NULL;
	if (!x) {
		sim_http_error(resp, 404, "no such account");
		return 0;
	}
	if (new_key(x) != 0) {
		sim_http_error(resp, 409, "too many keys");
		return 0;
	}
	sim_http_json(resp, 200, json_pack("{s:I}", "keys", (json_int_t)x->n_keys));
	return 0;
}

void sim_appstate_key_request(struct sim *sim, struct sim_account *a, uint32_t dev)
{
	struct as_acct *x = acct_get(a);
	if (!x || dev == 0)
		return;
	x->key_requests++;
	sim_appstate_share_key(sim, a, dev);
}

int sim_appstate_init(struct sim *sim)
{
	int rc = sim_iq_register(sim, "w:sync:app:state", NULL, iq_app_state, NULL);
	rc = rc ? rc : sim_http_register(sim, "POST", "/_sim/appstate/mutate", h_mutate, NULL);
	rc = rc ? rc : sim_http_register(sim, "POST", "/_sim/appstate/fault", h_fault, NULL);
	rc = rc ? rc : sim_http_register(sim, "POST", "/_sim/appstate/rotate", h_rotate, NULL);
	rc = rc ? rc : sim_http_register(sim, "POST", "/_sim/appstate/config", h_config, NULL);
	return rc ? rc : sim_http_register(sim, "GET", "/_sim/appstate/", h_info, NULL);
}
