/* App-state sync codec: key expansion, LT-hash, MACs, patch and snapshot
 * decoding with every check, patch encoding (syncd.h says the formulas). */
#include "session/syncd.h"

#include <stdlib.h>
#include <string.h>

#include "app_state.pb-c.h"
#include "crypto/crypto.h"
#include "pb.h"
#include "sync_action.pb-c.h"

static const char mutation_info[] = "WhatsApp Mutation Keys";
static const char integrity_info[] = "WhatsApp Patch Integrity";

int wa_syncd_expand_keys(const uint8_t *key_data, size_t len, wa_syncd_keys *out)
{
	uint8_t k[160];
	if (!key_data || !len || !out)
		return WA_EINVAL;
	int rc = wa_hkdf_sha256(k, sizeof k, key_data, len, NULL, 0, mutation_info, strlen(mutation_info));
	if (rc == 0) {
		memcpy(out->index, k, 32);
		memcpy(out->value_enc, k + 32, 32);
		memcpy(out->value_mac, k + 64, 32);
		memcpy(out->snapshot_mac, k + 96, 32);
		memcpy(out->patch_mac, k + 128, 32);
	}
	wa_memzero(k, sizeof k);
	return rc;
}

int wa_syncd_lthash_mix(uint8_t hash[WA_SYNCD_HASH_LEN], const uint8_t mac[WA_SYNCD_MAC_LEN], bool subtract)
{
	uint8_t e[WA_SYNCD_HASH_LEN];
	int rc = wa_hkdf_sha256(e, sizeof e, mac, WA_SYNCD_MAC_LEN, NULL, 0, integrity_info, strlen(integrity_info));
	if (rc != 0)
		return rc;
	for (size_t i = 0; i < WA_SYNCD_HASH_LEN; i += 2) {
		uint16_t a = (uint16_t)(hash[i] | hash[i + 1] << 8), b = (uint16_t)(e[i] | e[i + 1] << 8);
		uint16_t r = subtract ? (uint16_t)(a - b) : (uint16_t)(a + b);
		hash[i] = (uint8_t)r;
		hash[i + 1] = (uint8_t)(r >> 8);
	}
	return 0;
}

static void be64(uint8_t out[8], uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		out[i] = (uint8_t)v;
}

int wa_syncd_value_mac(uint8_t out[WA_SYNCD_MAC_LEN], enum wa_syncd_op op, const uint8_t *enc, size_t enc_len,
	const uint8_t *key_id, size_t key_id_len, const uint8_t key[32])
{
	if (key_id_len > WA_SYNCD_KEY_ID_MAX || enc_len > WA_SYNCD_MAX_BYTES)
		return WA_EINVAL;
	size_t n = 1 + key_id_len + enc_len + 8;
	uint8_t *buf = malloc(n), full[WA_HMAC_SHA512_LEN];
	if (!buf)
		return WA_ENOMEM;
	buf[0] = op == WA_SYNCD_SET ? 1 : 2;
	if (key_id_len)
		memcpy(buf + 1, key_id, key_id_len);
	if (enc_len)
		memcpy(buf + 1 + key_id_len, enc, enc_len);
	be64(buf + n - 8, 1 + key_id_len);
	int rc = wa_hmac_sha512(full, key, 32, buf, n);
	free(buf);
	if (rc == 0)
		memcpy(out, full, WA_SYNCD_MAC_LEN);
	return rc;
}

int wa_syncd_snapshot_mac(uint8_t out[WA_SYNCD_MAC_LEN], const uint8_t hash[WA_SYNCD_HASH_LEN], uint64_t version,
	const char *name, const uint8_t key[32])
{
	size_t nl = strlen(name);
	uint8_t buf[WA_SYNCD_HASH_LEN + 8 + 64];
	if (nl > 64)
		return WA_EINVAL;
	memcpy(buf, hash, WA_SYNCD_HASH_LEN);
	be64(buf + WA_SYNCD_HASH_LEN, version);
	memcpy(buf + WA_SYNCD_HASH_LEN + 8, name, nl);
	return wa_hmac_sha256(out, key, 32, buf, WA_SYNCD_HASH_LEN + 8 + nl);
}

int wa_syncd_patch_mac(uint8_t out[WA_SYNCD_MAC_LEN], const uint8_t snapshot_mac[WA_SYNCD_MAC_LEN],
	const uint8_t (*value_macs)[WA_SYNCD_MAC_LEN], size_t n, uint64_t version, const char *name,
	const uint8_t key[32])
{
	size_t nl = strlen(name);
	if (nl > 64 || n > WA_SYNCD_MAX_MUTATIONS)
		return WA_EINVAL;
	size_t len = WA_SYNCD_MAC_LEN * (n + 1) + 8 + nl;
	uint8_t *buf = malloc(len);
	if (!buf)
		return WA_ENOMEM;
	memcpy(buf, snapshot_mac, WA_SYNCD_MAC_LEN);
	if (n)
		memcpy(buf + WA_SYNCD_MAC_LEN, value_macs, WA_SYNCD_MAC_LEN * n);
	be64(buf + WA_SYNCD_MAC_LEN * (n + 1), version);
	memcpy(buf + WA_SYNCD_MAC_LEN * (n + 1) + 8, name, nl);
	int rc = wa_hmac_sha256(out, key, 32, buf, len);
	free(buf);
	return rc;
}

void wa_syncd_result_clear(wa_syncd_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		free(r->muts[i].index_json);
		free(r->muts[i].value);
	}
	free(r->muts);
	r->muts = NULL;
	r->n = 0;
}

static int fail(wa_syncd_result *out, int rc, const char *why)
{
	wa_syncd_result_clear(out);
	out->error = why;
	return rc;
}

static int key_of(const Wa__KeyId *k, const uint8_t **id, size_t *len)
{
	if (!k || !k->has_id || k->id.len == 0 || k->id.len > WA_SYNCD_KEY_ID_MAX)
		return WA_EMALFORMED;
	*id = k->id.data;
	*len = k->id.len;
	return 0;
}

static int get_keys(const wa_syncd_ops *ops, const uint8_t *id, size_t len, wa_syncd_keys *k, wa_syncd_result *out)
{
	int rc = ops->get_keys(ops->user, id, len, k);
	if (rc == WA_ENOTFOUND) {
		memcpy(out->missing_key, id, len);
		out->missing_key_len = len;
		return fail(out, WA_ENOTFOUND, "sync key missing");
	}
	return rc ? fail(out, rc, "sync key unreadable") : 0;
}

/* The value an index had before this mutation: a previous mutation of the
 * same patch first (a REMOVE there means none), then the caller's map. */
static int prev_value(const wa_syncd_ops *ops, const wa_syncd_result *out, const uint8_t index_mac[32],
	uint8_t prev[32])
{
	for (size_t i = out->n; i-- > 0;) {
		if (memcmp(out->muts[i].index_mac, index_mac, 32) != 0)
			continue;
		if (out->muts[i].op == WA_SYNCD_REMOVE)
			return WA_ENOTFOUND;
		memcpy(prev, out->muts[i].value_mac, 32);
		return 0;
	}
	return ops->get_value_mac ? ops->get_value_mac(ops->user, index_mac, prev) : WA_ENOTFOUND;
}

/* Verifies, decrypts and mixes one record into out (appended). */
static int decode_record(const Wa__SyncdRecord *r, enum wa_syncd_op op, const wa_syncd_ops *ops, wa_syncd_result *out)
{
	const uint8_t *kid;
	size_t kid_len;
	if (!r || !r->index || !r->index->has_blob || r->index->blob.len != 32 || !r->value || !r->value->has_blob ||
	    key_of(r->key_id, &kid, &kid_len) != 0)
		return fail(out, WA_EMALFORMED, "malformed record");
	const uint8_t *blob = r->value->blob.data;
	size_t blen = r->value->blob.len;
	/* IV + at least one block + MAC */
	if (blen < 16 + 16 + 32 || (blen - 16 - 32) % 16 != 0)
		return fail(out, WA_EMALFORMED, "malformed value blob");
	wa_syncd_keys k;
	int rc = get_keys(ops, kid, kid_len, &k, out);
	if (rc)
		return rc;
	uint8_t mac[32];
	size_t enc_len = blen - 32;
	if ((rc = wa_syncd_value_mac(mac, op, blob, enc_len, kid, kid_len, k.value_mac)) != 0)
		return fail(out, rc, "value MAC failed");
	if (!wa_ct_equal(mac, blob + enc_len, 32))
		return fail(out, WA_ECRYPTO, "value MAC mismatch");
	uint8_t *pt = malloc(enc_len - 16);
	size_t pt_len = 0;
	if (!pt)
		return fail(out, WA_ENOMEM, "out of memory");
	if (wa_aes_cbc_decrypt(pt, &pt_len, k.value_enc, blob, blob + 16, enc_len - 16) != 0) {
		free(pt);
		return fail(out, WA_ECRYPTO, "value does not decrypt");
	}
	ProtobufCMessage *pb = NULL;
	rc = wa_pb_unpack(&pb, &wa__sync_action_data__descriptor, pt, pt_len, WA_SYNCD_MAX_BYTES);
	free(pt);
	if (rc != 0)
		return fail(out, WA_EMALFORMED, "SyncActionData does not parse");
	Wa__SyncActionData *d = (Wa__SyncActionData *)pb;
	uint8_t imac[32];
	rc = d->has_index ? wa_hmac_sha256(imac, k.index, 32, d->index.data, d->index.len) : WA_EMALFORMED;
	if (rc == 0 && !wa_ct_equal(imac, r->index->blob.data, 32))
		rc = WA_ECRYPTO;
	wa_syncd_mutation m = {.op = op, .version = d->has_version ? d->version : 0};
	memcpy(m.index_mac, r->index->blob.data, 32);
	memcpy(m.value_mac, blob + enc_len, 32);
	if (rc == 0) {
		m.index_json = malloc(d->index.len + 1);
		m.value_len = d->value ? protobuf_c_message_get_packed_size(&d->value->base) : 0;
		m.value = malloc(m.value_len ? m.value_len : 1);
		if (!m.index_json || !m.value) {
			rc = WA_ENOMEM;
		} else {
			if (d->index.len) /* an empty index has no data pointer */
				memcpy(m.index_json, d->index.data, d->index.len);
			m.index_json[d->index.len] = '\0';
			if (d->value)
				protobuf_c_message_pack(&d->value->base, m.value);
		}
	}
	protobuf_c_message_free_unpacked(pb, NULL);
	uint8_t prev[32];
	int prc = rc == 0 ? prev_value(ops, out, m.index_mac, prev) : 0;
	if (rc == 0 && prc != 0 && prc != WA_ENOTFOUND)
		rc = prc;
	if (rc == 0 && prc == 0)
		rc = wa_syncd_lthash_mix(out->hash, prev, true);
	if (rc == 0 && op == WA_SYNCD_SET)
		rc = wa_syncd_lthash_mix(out->hash, m.value_mac, false);
	wa_syncd_mutation *nm = rc == 0 ? realloc(out->muts, (out->n + 1) * sizeof(*nm)) : NULL;
	if (!nm) {
		free(m.index_json);
		free(m.value);
		return fail(out, rc ? rc : WA_ENOMEM,
			rc == WA_ECRYPTO ? "index MAC mismatch" : rc == WA_EMALFORMED ? "index missing" : "out of memory");
	}
	out->muts = nm;
	out->muts[out->n++] = m;
	return 0;
}

int wa_syncd_decode_patch(const char *name, const uint8_t *patch, size_t len, uint64_t version_hint,
	const uint8_t prev_hash[WA_SYNCD_HASH_LEN], const wa_syncd_ops *ops, wa_syncd_result *out)
{
	if (!name || !patch || !prev_hash || !ops || !ops->get_keys || !out)
		return WA_EINVAL;
	memset(out, 0, sizeof *out);
	ProtobufCMessage *pb = NULL;
	int rc = wa_pb_unpack(&pb, &wa__syncd_patch__descriptor, patch, len, WA_SYNCD_MAX_BYTES);
	if (rc != 0)
		return fail(out, WA_EMALFORMED, "SyncdPatch does not parse");
	Wa__SyncdPatch *p = (Wa__SyncdPatch *)pb;
	const uint8_t *kid;
	size_t kid_len;
	uint8_t (*vmacs)[32] = NULL;
	wa_syncd_keys k;
	out->version = p->version && p->version->has_version ? p->version->version : version_hint;
	memcpy(out->hash, prev_hash, WA_SYNCD_HASH_LEN);
	if (p->external_mutations) {
		rc = fail(out, WA_EUNSUPPORTED, "external mutations (a media download) are not supported");
		goto done;
	}
	if (p->n_mutations > WA_SYNCD_MAX_MUTATIONS) {
		rc = fail(out, WA_ETOOBIG, "too many mutations");
		goto done;
	}
	if (key_of(p->key_id, &kid, &kid_len) != 0 || !p->has_snapshot_mac || p->snapshot_mac.len != 32 ||
	    !p->has_patch_mac || p->patch_mac.len != 32) {
		rc = fail(out, WA_EMALFORMED, "patch without key id or MACs");
		goto done;
	}
	if ((rc = get_keys(ops, kid, kid_len, &k, out)) != 0)
		goto done;
	vmacs = calloc(p->n_mutations ? p->n_mutations : 1, 32);
	if (!vmacs) {
		rc = fail(out, WA_ENOMEM, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < p->n_mutations; i++) {
		const Wa__SyncdRecord *r = p->mutations[i]->record;
		if (!r || !r->value || !r->value->has_blob || r->value->blob.len < 32) {
			rc = fail(out, WA_EMALFORMED, "malformed record");
			goto done;
		}
		memcpy(vmacs[i], r->value->blob.data + r->value->blob.len - 32, 32);
	}
	uint8_t mac[32];
	if ((rc = wa_syncd_patch_mac(mac, p->snapshot_mac.data, (const uint8_t(*)[32])vmacs, p->n_mutations,
		     out->version, name, k.patch_mac)) != 0) {
		rc = fail(out, rc, "patch MAC failed");
		goto done;
	}
	if (!wa_ct_equal(mac, p->patch_mac.data, 32)) {
		rc = fail(out, WA_ECRYPTO, "patch MAC mismatch");
		goto done;
	}
	for (size_t i = 0; i < p->n_mutations; i++) {
		const Wa__SyncdMutation *m = p->mutations[i];
		enum wa_syncd_op op = m->has_operation && m->operation == WA__SYNCD_MUTATION__SYNCD_OPERATION__REMOVE
			? WA_SYNCD_REMOVE : WA_SYNCD_SET;
		if ((rc = decode_record(m->record, op, ops, out)) != 0)
			goto done;
	}
	if ((rc = wa_syncd_snapshot_mac(mac, out->hash, out->version, name, k.snapshot_mac)) != 0) {
		rc = fail(out, rc, "snapshot MAC failed");
		goto done;
	}
	if (!wa_ct_equal(mac, p->snapshot_mac.data, 32))
		rc = fail(out, WA_ECRYPTO, "LT-hash mismatch (snapshot MAC)");
done:
	free(vmacs);
	wa_memzero(&k, sizeof k);
	protobuf_c_message_free_unpacked(pb, NULL);
	return rc;
}

int wa_syncd_patch_inline(const uint8_t *patch, size_t len, const uint8_t *muts, size_t muts_len, uint8_t **out,
	size_t *out_len)
{
	if (!patch || (!muts && muts_len) || !out || !out_len)
		return WA_EINVAL;
	ProtobufCMessage *pp = NULL, *mp = NULL;
	if (wa_pb_unpack(&pp, &wa__syncd_patch__descriptor, patch, len, WA_SYNCD_MAX_BYTES) != 0)
		return WA_EMALFORMED;
	if (wa_pb_unpack(&mp, &wa__syncd_mutations__descriptor, muts ? muts : (const uint8_t *)"", muts_len,
		    WA_SYNCD_MAX_BYTES) != 0) {
		protobuf_c_message_free_unpacked(pp, NULL);
		return WA_EMALFORMED;
	}
	Wa__SyncdPatch *p = (Wa__SyncdPatch *)pp;
	Wa__SyncdMutations *m = (Wa__SyncdMutations *)mp;
	size_t n = p->n_mutations + m->n_mutations;
	Wa__SyncdMutation **all = n <= WA_SYNCD_MAX_MUTATIONS ? calloc(n ? n : 1, sizeof(*all)) : NULL;
	int rc = n > WA_SYNCD_MAX_MUTATIONS ? WA_ETOOBIG : all ? 0 : WA_ENOMEM;
	if (rc == 0) {
		if (p->n_mutations)
			memcpy(all, p->mutations, p->n_mutations * sizeof(*all));
		if (m->n_mutations)
			memcpy(all + p->n_mutations, m->mutations, m->n_mutations * sizeof(*all));
		/* borrowed pointers: restored before the frees */
		Wa__SyncdMutation **own = p->mutations;
		size_t own_n = p->n_mutations;
		Wa__ExternalBlobReference *ext = p->external_mutations;
		p->mutations = all;
		p->n_mutations = n;
		p->external_mutations = NULL;
		*out_len = protobuf_c_message_get_packed_size(pp);
		*out = malloc(*out_len ? *out_len : 1);
		if (*out)
			protobuf_c_message_pack(pp, *out);
		else
			rc = WA_ENOMEM;
		p->mutations = own;
		p->n_mutations = own_n;
		p->external_mutations = ext;
	}
	free(all);
	protobuf_c_message_free_unpacked(mp, NULL);
	protobuf_c_message_free_unpacked(pp, NULL);
	return rc;
}

static int no_prev(void *user, const uint8_t index_mac[32], uint8_t out[32])
{
	(void)user;
	(void)index_mac;
	(void)out;
	return WA_ENOTFOUND;
}

int wa_syncd_decode_snapshot(const char *name, const uint8_t *snap, size_t len, const wa_syncd_ops *ops,
	wa_syncd_result *out)
{
	if (!name || !snap || !ops || !ops->get_keys || !out)
		return WA_EINVAL;
	memset(out, 0, sizeof *out);
	ProtobufCMessage *pb = NULL;
	if (wa_pb_unpack(&pb, &wa__syncd_snapshot__descriptor, snap, len, WA_SYNCD_MAX_BYTES) != 0)
		return fail(out, WA_EMALFORMED, "SyncdSnapshot does not parse");
	Wa__SyncdSnapshot *s = (Wa__SyncdSnapshot *)pb;
	const uint8_t *kid;
	size_t kid_len;
	wa_syncd_keys k;
	int rc;
	wa_syncd_ops fresh = {.get_keys = ops->get_keys, .get_value_mac = no_prev, .user = ops->user};
	out->version = s->version && s->version->has_version ? s->version->version : 0;
	if (s->n_records > WA_SYNCD_MAX_MUTATIONS || key_of(s->key_id, &kid, &kid_len) != 0 || !s->has_mac ||
	    s->mac.len != 32) {
		rc = fail(out, WA_EMALFORMED, "snapshot without key id or MAC");
		goto done;
	}
	if ((rc = get_keys(ops, kid, kid_len, &k, out)) != 0)
		goto done;
	for (size_t i = 0; i < s->n_records; i++)
		if ((rc = decode_record(s->records[i], WA_SYNCD_SET, &fresh, out)) != 0)
			goto done;
	uint8_t mac[32];
	if ((rc = wa_syncd_snapshot_mac(mac, out->hash, out->version, name, k.snapshot_mac)) != 0)
		rc = fail(out, rc, "snapshot MAC failed");
	else if (!wa_ct_equal(mac, s->mac.data, 32))
		rc = fail(out, WA_ECRYPTO, "snapshot MAC mismatch");
done:
	wa_memzero(&k, sizeof k);
	protobuf_c_message_free_unpacked(pb, NULL);
	return rc;
}

/* ---- encoding ---- */

static int encode_one(const wa_syncd_keys *k, const uint8_t *kid, size_t kid_len, const wa_syncd_new *m,
	uint8_t index_mac[32], uint8_t value_mac[32], uint8_t **blob, size_t *blob_len)
{
	ProtobufCMessage *val = NULL;
	if (m->value_len &&
	    wa_pb_unpack(&val, &wa__sync_action_value__descriptor, m->value, m->value_len, WA_SYNCD_MAX_BYTES) != 0)
		return WA_EINVAL;
	Wa__SyncActionValue empty = WA__SYNC_ACTION_VALUE__INIT;
	Wa__SyncActionData d = WA__SYNC_ACTION_DATA__INIT;
	d.has_index = 1;
	d.index.data = (uint8_t *)m->index_json;
	d.index.len = strlen(m->index_json);
	d.value = val ? (Wa__SyncActionValue *)val : &empty;
	d.has_padding = 1;
	d.has_version = 1;
	d.version = m->version;
	size_t pl = protobuf_c_message_get_packed_size(&d.base);
	uint8_t *pt = malloc(pl ? pl : 1);
	size_t cl = wa_aes_cbc_padded_len(pl);
	uint8_t *b = malloc(16 + cl + 32);
	int rc = pt && b ? 0 : WA_ENOMEM;
	if (rc == 0) {
		protobuf_c_message_pack(&d.base, pt);
		memcpy(b, m->iv, 16);
		rc = wa_aes_cbc_encrypt(b + 16, k->value_enc, m->iv, pt, pl);
	}
	if (rc == 0)
		rc = wa_syncd_value_mac(value_mac, m->op, b, 16 + cl, kid, kid_len, k->value_mac);
	if (rc == 0)
		rc = wa_hmac_sha256(index_mac, k->index, 32, m->index_json, strlen(m->index_json));
	if (val)
		protobuf_c_message_free_unpacked(val, NULL);
	free(pt);
	if (rc != 0) {
		free(b);
		return rc;
	}
	memcpy(b + 16 + cl, value_mac, 32);
	*blob = b;
	*blob_len = 16 + cl + 32;
	return 0;
}

int wa_syncd_encode_patch(const char *name, uint64_t version, uint8_t hash[WA_SYNCD_HASH_LEN],
	const uint8_t *key_data, size_t key_data_len, const uint8_t *key_id, size_t key_id_len,
	const wa_syncd_new *muts, size_t n, const wa_syncd_ops *ops, uint8_t (*out_macs)[2][WA_SYNCD_MAC_LEN],
	uint8_t **out, size_t *out_len)
{
	if (!name || !hash || !key_id || !key_id_len || key_id_len > WA_SYNCD_KEY_ID_MAX || (!muts && n) ||
	    n > WA_SYNCD_MAX_MUTATIONS || !out || !out_len)
		return WA_EINVAL;
	wa_syncd_keys k;
	int rc = wa_syncd_expand_keys(key_data, key_data_len, &k);
	if (rc)
		return rc;
	Wa__SyncdMutation *mv = calloc(n ? n : 1, sizeof(*mv));
	Wa__SyncdMutation **mp = calloc(n ? n : 1, sizeof(*mp));
	Wa__SyncdRecord *rv = calloc(n ? n : 1, sizeof(*rv));
	Wa__SyncdIndex *iv = calloc(n ? n : 1, sizeof(*iv));
	Wa__SyncdValue *vv = calloc(n ? n : 1, sizeof(*vv));
	uint8_t (*imacs)[32] = calloc(n ? n : 1, 32), (*vmacs)[32] = calloc(n ? n : 1, 32);
	uint8_t **blobs = calloc(n ? n : 1, sizeof(*blobs));
	Wa__KeyId kidm = WA__KEY_ID__INIT;
	kidm.has_id = 1;
	kidm.id.data = (uint8_t *)key_id;
	kidm.id.len = key_id_len;
	rc = mv && mp && rv && iv && vv && imacs && vmacs && blobs ? 0 : WA_ENOMEM;
	/* the map as the mutations apply, for repeated indexes in one patch */
	wa_syncd_result seen = {0};
	seen.muts = calloc(n ? n : 1, sizeof(*seen.muts));
	if (!seen.muts)
		rc = WA_ENOMEM;
	wa_syncd_ops none = {.get_keys = NULL, .get_value_mac = no_prev, .user = NULL};
	const wa_syncd_ops *o = ops ? ops : &none;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		size_t bl;
		rc = encode_one(&k, key_id, key_id_len, &muts[i], imacs[i], vmacs[i], &blobs[i], &bl);
		uint8_t prev[32];
		int prc = rc == 0 ? prev_value(o, &seen, imacs[i], prev) : 0;
		if (rc == 0 && prc == 0)
			rc = wa_syncd_lthash_mix(hash, prev, true);
		if (rc == 0 && muts[i].op == WA_SYNCD_SET)
			rc = wa_syncd_lthash_mix(hash, vmacs[i], false);
		if (rc != 0)
			break;
		seen.muts[seen.n].op = muts[i].op;
		memcpy(seen.muts[seen.n].index_mac, imacs[i], 32);
		memcpy(seen.muts[seen.n].value_mac, vmacs[i], 32);
		seen.n++;
		wa__syncd_mutation__init(&mv[i]);
		wa__syncd_record__init(&rv[i]);
		wa__syncd_index__init(&iv[i]);
		wa__syncd_value__init(&vv[i]);
		mv[i].has_operation = 1;
		mv[i].operation = muts[i].op == WA_SYNCD_REMOVE ? WA__SYNCD_MUTATION__SYNCD_OPERATION__REMOVE
			: WA__SYNCD_MUTATION__SYNCD_OPERATION__SET;
		iv[i].has_blob = 1;
		iv[i].blob.data = imacs[i];
		iv[i].blob.len = 32;
		vv[i].has_blob = 1;
		vv[i].blob.data = blobs[i];
		vv[i].blob.len = bl;
		rv[i].index = &iv[i];
		rv[i].value = &vv[i];
		rv[i].key_id = &kidm;
		mv[i].record = &rv[i];
		mp[i] = &mv[i];
		if (out_macs) {
			memcpy(out_macs[i][0], imacs[i], 32);
			memcpy(out_macs[i][1], vmacs[i], 32);
		}
	}
	uint8_t smac[32], pmac[32];
	if (rc == 0)
		rc = wa_syncd_snapshot_mac(smac, hash, version + 1, name, k.snapshot_mac);
	if (rc == 0)
		rc = wa_syncd_patch_mac(pmac, smac, (const uint8_t(*)[32])vmacs, n, version + 1, name, k.patch_mac);
	if (rc == 0) {
		Wa__SyncdPatch p = WA__SYNCD_PATCH__INIT;
		Wa__SyncdVersion ver = WA__SYNCD_VERSION__INIT;
		ver.has_version = 1;
		ver.version = version + 1;
		p.version = &ver;
		p.n_mutations = n;
		p.mutations = mp;
		p.has_snapshot_mac = 1;
		p.snapshot_mac.data = smac;
		p.snapshot_mac.len = 32;
		p.has_patch_mac = 1;
		p.patch_mac.data = pmac;
		p.patch_mac.len = 32;
		p.key_id = &kidm;
		size_t len = protobuf_c_message_get_packed_size(&p.base);
		uint8_t *b = malloc(len ? len : 1);
		if (!b) {
			rc = WA_ENOMEM;
		} else {
			protobuf_c_message_pack(&p.base, b);
			*out = b;
			*out_len = len;
		}
	}
	for (size_t i = 0; blobs && i < n; i++)
		free(blobs[i]);
	free(blobs);
	free(seen.muts);
	free(mv);
	free(mp);
	free(rv);
	free(iv);
	free(vv);
	free(imacs);
	free(vmacs);
	wa_memzero(&k, sizeof k);
	return rc;
}
