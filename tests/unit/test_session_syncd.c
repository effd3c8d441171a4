/* App-state codec (src/session/syncd.c) without a socket: key expansion and
 * value MAC against vectors computed with Node's crypto (the formulas as
 * Baileys writes them), LT-hash algebra, encode -> decode round trips with
 * repeated indexes and REMOVE, and each check failing on its own tampering
 * (Baileys checks our encoding end to end in tests/sim/e2e_appstate.mjs). */
#include <stdlib.h>
#include <string.h>

#include "app_state.pb-c.h"
#include "check.h"
#include "crypto/crypto.h"
#include "pb.h"
#include "session/syncd.h"
#include "sync_action.pb-c.h"
#include "util/codec.h"

static const uint8_t key_data[32] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
	20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31};
static const uint8_t key_id[6] = {0, 0, 0, 0, 0, 1};

static void hexeq(const uint8_t *b, size_t n, const char *hex)
{
	uint8_t *want = NULL;
	size_t wl = 0;
	CHECK(wa_hex_decode(hex, strlen(hex), &want, &wl) == 0);
	CHECK_EQ_INT(wl, n);
	if (want && wl == n)
		CHECK_EQ_MEM(b, want, n);
	free(want);
}

static void vectors(void)
{
	wa_syncd_keys k;
	CHECK(wa_syncd_expand_keys(key_data, sizeof key_data, &k) == 0);
	hexeq(k.index, 32, "61387bcf643616a68bd611a45516b3980418323087d78bf08c615645549434b4");
	hexeq(k.value_enc, 32, "900ba2843ba5fb0cee55cf2a4de9503dce68187d3f6b95b420b008bde66f5a20");
	hexeq(k.value_mac, 32, "d0879f6b61f0bcba79faad3f47a8a768fd7fc04a6cc8b3ecefedfa087413226f");
	hexeq(k.snapshot_mac, 32, "69b2e91be6587307c43c29b027a71fdd55be25f07ca726714115430d23093071");
	hexeq(k.patch_mac, 32, "693845bdd996652aca9ca0b96d0f081abf29943303c5eb19bdb84f38b24c32ab");
	uint8_t enc[48], mac[32];
	memset(enc, 0x11, sizeof enc);
	CHECK(wa_syncd_value_mac(mac, WA_SYNCD_SET, enc, sizeof enc, key_id, sizeof key_id, k.value_mac) == 0);
	hexeq(mac, 32, "cd36170a648438be3e03374586d7b734b2e3712927f718b5c9e793d5457a6196");
	/* LT-hash of one MAC from zero is its 128-byte expansion */
	uint8_t h[WA_SYNCD_HASH_LEN] = {0}, m[32];
	memset(m, 0xaa, sizeof m);
	CHECK(wa_syncd_lthash_mix(h, m, false) == 0);
	hexeq(h, 8, "5d3c1b691739565e");
}

static void lthash_algebra(void)
{
	uint8_t a[32], b[32], h1[WA_SYNCD_HASH_LEN] = {0}, h2[WA_SYNCD_HASH_LEN] = {0}, zero[WA_SYNCD_HASH_LEN] = {0};
	memset(a, 1, sizeof a);
	memset(b, 2, sizeof b);
	CHECK(wa_syncd_lthash_mix(h1, a, false) == 0 && wa_syncd_lthash_mix(h1, b, false) == 0);
	CHECK(wa_syncd_lthash_mix(h2, b, false) == 0 && wa_syncd_lthash_mix(h2, a, false) == 0);
	CHECK_EQ_MEM(h1, h2, sizeof h1); /* order does not matter */
	CHECK(wa_syncd_lthash_mix(h1, a, true) == 0 && wa_syncd_lthash_mix(h1, b, true) == 0);
	CHECK_EQ_MEM(h1, zero, sizeof h1); /* subtracting undoes adding */
}

/* A caller's state: the key and an index -> value MAC map. */
struct st {
	bool have_key;
	struct { uint8_t i[32], v[32]; } map[16];
	size_t n;
	uint8_t hash[WA_SYNCD_HASH_LEN];
	uint64_t version;
};

static int st_keys(void *u, const uint8_t *id, size_t len, wa_syncd_keys *out)
{
	struct st *s = u;
	if (!s->have_key || len != sizeof key_id || memcmp(id, key_id, len) != 0)
		return WA_ENOTFOUND;
	return wa_syncd_expand_keys(key_data, sizeof key_data, out);
}

static int st_mac(void *u, const uint8_t i[32], uint8_t out[32])
{
	struct st *s = u;
	for (size_t k = 0; k < s->n; k++)
		if (memcmp(s->map[k].i, i, 32) == 0) {
			memcpy(out, s->map[k].v, 32);
			return 0;
		}
	return WA_ENOTFOUND;
}

static void st_apply(struct st *s, const wa_syncd_result *r)
{
	for (size_t k = 0; k < r->n; k++) {
		size_t j;
		for (j = 0; j < s->n && memcmp(s->map[j].i, r->muts[k].index_mac, 32) != 0; j++)
			;
		if (r->muts[k].op == WA_SYNCD_REMOVE) {
			if (j < s->n)
				s->map[j] = s->map[--s->n];
			continue;
		}
		if (j == s->n && s->n < 16)
			s->n++;
		memcpy(s->map[j].i, r->muts[k].index_mac, 32);
		memcpy(s->map[j].v, r->muts[k].value_mac, 32);
	}
	memcpy(s->hash, r->hash, sizeof s->hash);
	s->version = r->version;
}

static uint8_t *archive_value(bool archived, size_t *len)
{
	Wa__SyncActionValue v = WA__SYNC_ACTION_VALUE__INIT;
	Wa__SyncActionValue__ArchiveChatAction a = WA__SYNC_ACTION_VALUE__ARCHIVE_CHAT_ACTION__INIT;
	a.has_archived = 1;
	a.archived = archived;
	v.archive_chat_action = &a;
	v.has_timestamp = 1;
	v.timestamp = 1765000000000;
	*len = protobuf_c_message_get_packed_size(&v.base);
	uint8_t *b = malloc(*len);
	protobuf_c_message_pack(&v.base, b);
	return b;
}

/* server (enc) and client (dec) keep their own maps and must agree */
static void round_trip(void)
{
	struct st srv = {.have_key = true}, cli = {.have_key = true};
	wa_syncd_ops so = {.get_keys = st_keys, .get_value_mac = st_mac, .user = &srv};
	wa_syncd_ops co = {.get_keys = st_keys, .get_value_mac = st_mac, .user = &cli};
	const char *idx = "[\"archive\",\"15551234567@s.whatsapp.net\"]";
	size_t l1, l2;
	uint8_t *v1 = archive_value(true, &l1), *v2 = archive_value(false, &l2);
	/* patch 1: SET, then the same index SET again in one patch; patch 2:
	 * another SET of it (replaces); patch 3: REMOVE */
	wa_syncd_new p1[2] = {
		{.op = WA_SYNCD_SET, .index_json = idx, .value = v1, .value_len = l1, .version = 3},
		{.op = WA_SYNCD_SET, .index_json = idx, .value = v2, .value_len = l2, .version = 3},
	};
	wa_syncd_new p2[1] = {{.op = WA_SYNCD_SET, .index_json = idx, .value = v1, .value_len = l1, .version = 3}};
	wa_syncd_new p3[1] = {{.op = WA_SYNCD_REMOVE, .index_json = idx, .value = v1, .value_len = l1, .version = 3}};
	struct { wa_syncd_new *m; size_t n; } patches[3] = {{p1, 2}, {p2, 1}, {p3, 1}};
	for (int i = 0; i < 3; i++) {
		uint8_t macs[2][2][32], *b = NULL;
		size_t bl = 0;
		for (size_t k = 0; k < patches[i].n; k++)
			memset(patches[i].m[k].iv, 0x40 + i, 16);
		uint8_t h[WA_SYNCD_HASH_LEN];
		memcpy(h, srv.hash, sizeof h);
		CHECK(wa_syncd_encode_patch("regular_low", srv.version, h, key_data, sizeof key_data, key_id,
			sizeof key_id, patches[i].m, patches[i].n, &so, macs, &b, &bl) == 0);
		/* the server's map follows the mutations too */
		wa_syncd_result sr = {.version = srv.version + 1};
		wa_syncd_mutation sm[2];
		for (size_t k = 0; k < patches[i].n; k++) {
			sm[k].op = patches[i].m[k].op;
			memcpy(sm[k].index_mac, macs[k][0], 32);
			memcpy(sm[k].value_mac, macs[k][1], 32);
		}
		sr.muts = sm;
		sr.n = patches[i].n;
		memcpy(sr.hash, h, sizeof h);
		wa_syncd_result r;
		CHECK(wa_syncd_decode_patch("regular_low", b, bl, 0, cli.hash, &co, &r) == 0);
		CHECK_EQ_INT(r.version, (uint64_t)i + 1);
		CHECK_EQ_INT(r.n, patches[i].n);
		CHECK_EQ_MEM(r.hash, h, sizeof h);
		if (r.n) {
			CHECK_EQ_STR(r.muts[0].index_json, idx);
			CHECK_EQ_INT(r.muts[0].version, 3);
			CHECK_EQ_INT(r.muts[0].value_len, l1);
		}
		st_apply(&srv, &sr);
		st_apply(&cli, &r);
		wa_syncd_result_clear(&r);
		/* the same patch under another collection name fails its MAC */
		CHECK(wa_syncd_decode_patch("regular", b, bl, 0, cli.hash, &co, &r) == WA_ECRYPTO);
		free(b);
	}
	uint8_t zero[WA_SYNCD_HASH_LEN] = {0};
	CHECK_EQ_MEM(cli.hash, zero, sizeof zero); /* everything removed: back to the empty hash */
	CHECK_EQ_INT(cli.n, 0);
	free(v1);
	free(v2);
}

/* one patch, re-packed with one field changed */
enum tamper { T_PATCH_MAC, T_SNAPSHOT_MAC_FIXED, T_VALUE_MAC_FIXED, T_INDEX, T_CIPHERTEXT_FIXED, T_VERSION,
	T_NKINDS };

static void tampering(void)
{
	static const char *const want[T_NKINDS] = {"patch MAC mismatch", "LT-hash mismatch (snapshot MAC)",
		"value MAC mismatch", "index MAC mismatch", "value MAC mismatch", "patch MAC mismatch"};
	size_t vl;
	uint8_t *v = archive_value(true, &vl);
	wa_syncd_new m = {.op = WA_SYNCD_SET, .index_json = "[\"archive\",\"1@s.whatsapp.net\"]", .value = v,
		.value_len = vl, .version = 3};
	memset(m.iv, 7, 16);
	wa_syncd_keys k;
	CHECK(wa_syncd_expand_keys(key_data, sizeof key_data, &k) == 0);
	for (int t = 0; t < T_NKINDS; t++) {
		struct st cli = {.have_key = true};
		wa_syncd_ops co = {.get_keys = st_keys, .get_value_mac = st_mac, .user = &cli};
		uint8_t h[WA_SYNCD_HASH_LEN] = {0}, *b = NULL;
		size_t bl = 0;
		CHECK(wa_syncd_encode_patch("regular_low", 0, h, key_data, sizeof key_data, key_id, sizeof key_id, &m, 1,
			NULL, NULL, &b, &bl) == 0);
		ProtobufCMessage *pb = NULL;
		CHECK(wa_pb_unpack(&pb, &wa__syncd_patch__descriptor, b, bl, 1 << 20) == 0);
		Wa__SyncdPatch *p = (Wa__SyncdPatch *)pb;
		ProtobufCBinaryData *val = &p->mutations[0]->record->value->blob;
		bool fix = false;
		switch (t) {
		case T_PATCH_MAC: p->patch_mac.data[3] ^= 1; break;
		case T_SNAPSHOT_MAC_FIXED: p->snapshot_mac.data[0] ^= 1; fix = true; break;
		case T_VALUE_MAC_FIXED: val->data[val->len - 1] ^= 1; fix = true; break;
		case T_INDEX: {
			/* an index MAC for another index: value and patch MACs still hold */
			uint8_t other[32];
			CHECK(wa_hmac_sha256(other, k.index, 32, "[\"archive\",\"2@s.whatsapp.net\"]", 31) == 0);
			memcpy(p->mutations[0]->record->index->blob.data, other, 32);
			break;
		}
		case T_CIPHERTEXT_FIXED: val->data[20] ^= 1; fix = true; break;
		case T_VERSION: p->version->version = 2; break;
		}
		if (fix) {
			uint8_t vm[1][32];
			memcpy(vm[0], val->data + val->len - 32, 32);
			CHECK(wa_syncd_patch_mac(p->patch_mac.data, p->snapshot_mac.data, (const uint8_t(*)[32])vm, 1,
				p->version->version, "regular_low", k.patch_mac) == 0);
		}
		size_t nl = protobuf_c_message_get_packed_size(pb);
		uint8_t *nb = malloc(nl);
		protobuf_c_message_pack(pb, nb);
		protobuf_c_message_free_unpacked(pb, NULL);
		wa_syncd_result r;
		int rc = wa_syncd_decode_patch("regular_low", nb, nl, 0, cli.hash, &co, &r);
		if (rc != WA_ECRYPTO || !r.error || strcmp(r.error, want[t]) != 0)
			fprintf(stderr, "tamper %d: rc %d error %s\n", t, rc, r.error ? r.error : "-");
		CHECK_EQ_INT(rc, WA_ECRYPTO);
		CHECK_EQ_STR(r.error, want[t]);
		CHECK_EQ_INT(r.n, 0);
		/* untampered, it decodes */
		CHECK(wa_syncd_decode_patch("regular_low", b, bl, 0, cli.hash, &co, &r) == 0);
		wa_syncd_result_clear(&r);
		/* without the key: WA_ENOTFOUND naming it */
		cli.have_key = false;
		CHECK(wa_syncd_decode_patch("regular_low", b, bl, 0, cli.hash, &co, &r) == WA_ENOTFOUND);
		CHECK_EQ_INT(r.missing_key_len, sizeof key_id);
		CHECK_EQ_MEM(r.missing_key, key_id, sizeof key_id);
		free(nb);
		free(b);
	}
	/* garbage and external mutations */
	struct st cli = {.have_key = true};
	wa_syncd_ops co = {.get_keys = st_keys, .get_value_mac = st_mac, .user = &cli};
	wa_syncd_result r;
	static const uint8_t junk[] = {0xff, 0xff, 0xff};
	CHECK(wa_syncd_decode_patch("regular_low", junk, sizeof junk, 0, cli.hash, &co, &r) == WA_EMALFORMED);
	Wa__SyncdPatch p = WA__SYNCD_PATCH__INIT;
	Wa__ExternalBlobReference ext = WA__EXTERNAL_BLOB_REFERENCE__INIT;
	p.external_mutations = &ext;
	uint8_t eb[64];
	size_t el = protobuf_c_message_pack(&p.base, eb);
	CHECK(wa_syncd_decode_patch("regular_low", eb, el, 0, cli.hash, &co, &r) == WA_EUNSUPPORTED);
	free(v);
}

/* A patch whose second mutation went to an external blob: refused until the
 * blob's SyncdMutations are inlined, then it verifies as the whole patch
 * (the MACs cover both, in order); a blob that does not parse is refused. */
static void external(void)
{
	struct st cli = {.have_key = true};
	wa_syncd_ops co = {.get_keys = st_keys, .get_value_mac = st_mac, .user = &cli};
	size_t l1, l2;
	uint8_t *v1 = archive_value(true, &l1), *v2 = archive_value(false, &l2);
	wa_syncd_new m[2] = {
		{.op = WA_SYNCD_SET, .index_json = "[\"archive\",\"1@s.whatsapp.net\"]", .value = v1, .value_len = l1,
			.version = 3},
		{.op = WA_SYNCD_SET, .index_json = "[\"archive\",\"2@s.whatsapp.net\"]", .value = v2, .value_len = l2,
			.version = 3},
	};
	uint8_t h[WA_SYNCD_HASH_LEN] = {0}, *b = NULL, *ext = NULL, *ms = NULL, *full = NULL;
	size_t bl = 0, el = 0, msl = 0, fl = 0;
	CHECK(wa_syncd_encode_patch("regular_low", 0, h, key_data, sizeof key_data, key_id, sizeof key_id, m, 2, &co,
		NULL, &b, &bl) == 0);
	/* split: mutation 0 stays inline, mutation 1 goes to the blob */
	ProtobufCMessage *pb = NULL;
	CHECK(wa_pb_unpack(&pb, &wa__syncd_patch__descriptor, b, bl, WA_SYNCD_MAX_BYTES) == 0);
	Wa__SyncdPatch *sp = (Wa__SyncdPatch *)pb;
	CHECK_EQ_INT(sp->n_mutations, 2);
	Wa__SyncdMutations sm = WA__SYNCD_MUTATIONS__INIT;
	sm.n_mutations = 1;
	sm.mutations = &sp->mutations[1];
	msl = protobuf_c_message_get_packed_size(&sm.base);
	ms = malloc(msl);
	protobuf_c_message_pack(&sm.base, ms);
	Wa__ExternalBlobReference ref = WA__EXTERNAL_BLOB_REFERENCE__INIT;
	ref.direct_path = "/mms/md-app-state/x";
	sp->external_mutations = &ref;
	sp->n_mutations = 1;
	el = protobuf_c_message_get_packed_size(pb);
	ext = malloc(el);
	protobuf_c_message_pack(pb, ext);
	sp->external_mutations = NULL;
	sp->n_mutations = 2;
	protobuf_c_message_free_unpacked(pb, NULL);
	uint8_t zero[WA_SYNCD_HASH_LEN] = {0};
	wa_syncd_result r;
	CHECK(wa_syncd_decode_patch("regular_low", ext, el, 0, zero, &co, &r) == WA_EUNSUPPORTED);
	CHECK(wa_syncd_patch_inline(ext, el, ms, msl, &full, &fl) == 0);
	CHECK(wa_syncd_decode_patch("regular_low", full, fl, 0, zero, &co, &r) == 0);
	CHECK_EQ_INT(r.n, 2);
	CHECK_EQ_MEM(r.hash, h, sizeof h);
	if (r.n == 2)
		CHECK_EQ_STR(r.muts[1].index_json, "[\"archive\",\"2@s.whatsapp.net\"]");
	wa_syncd_result_clear(&r);
	free(full);
	full = NULL;
	/* the inline mutations alone: the patch MAC no longer matches */
	CHECK(wa_syncd_patch_inline(ext, el, NULL, 0, &full, &fl) == 0);
	CHECK(wa_syncd_decode_patch("regular_low", full, fl, 0, zero, &co, &r) == WA_ECRYPTO);
	free(full);
	static const uint8_t junk[] = {0x0a, 0xff};
	CHECK(wa_syncd_patch_inline(ext, el, junk, sizeof junk, &full, &fl) == WA_EMALFORMED);
	free(b);
	free(ext);
	free(ms);
	free(v1);
	free(v2);
}

int main(void)
{
	vectors();
	lthash_algebra();
	round_trip();
	tampering();
	external();
	return check_exit("session_syncd");
}
