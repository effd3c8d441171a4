/* Our own app-state mutations (the write side of src/session/appstate.c),
 * sans-IO: each wa_chat_mod built and encoded on top of a collection at
 * version 3 (empty LT-hash) must be byte for byte the SyncdPatch Baileys
 * 7.0.0-rc14 sends for the same change (chatModificationToAppPatch +
 * encodeSyncdPatch, key 00..1f with id 000000000001, action timestamp
 * 1765000000000, derived once; the IV, random in Baileys, is taken from its
 * patch). That pins the index JSON, collection, SyncActionValue,
 * SyncActionData, the encryption and every MAC. Each also round-trips
 * through our decoder. */
#include <stdlib.h>
#include <string.h>

#include "app_state.pb-c.h"
#include "check.h"
#include "pb.h"
#include "session/appstate_mod.h"
#include "session/syncd.h"
#include "util/codec.h"

static const uint8_t key_data[32] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
	20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31};
static const uint8_t key_id[6] = {0, 0, 0, 0, 0, 1};
#define JID "5511988887777@s.whatsapp.net"

struct vec {
	wa_chat_mod mod;
	const char *collection, *index, *baileys_hex;
};

static const struct vec vecs[] = {
	{{.action = WA_CHAT_ARCHIVE, .jid = JID, .on = true}, "regular_low", "[\"archive\",\"" JID "\"]",
		"12a701080012a2010a220a20657a56e670a9c0699f57e9aec82ddeebc4c05795d4b425094a21b038772a80c712720a70e49a5d"
		"50a4bfaef36802611ca2a227328dc3a87b01f767cc307f413d11ba7122dd45ed8fd88859dc4a5e2aa8579d542fd028c7cac6855"
		"f78352fead04ec0d74f9f3af8ee35809af064bc7687b8ce4b8164c77a9b8c09b40bfe0cf6ef4d7d50cc4a06a9f5bbc52cb1fb82"
		"dde127c65dc61a080a0600000000000122208067da5f5f09add6f16be298074396aaa2a8a1b8cef08192d98b8f687bbaca002a"
		"205bcaef7c29b1ec7f8236f65cf5efcb08ad1ed516a4aa9271cc4579c92e51a54532080a06000000000001"},
	{{.action = WA_CHAT_MUTE, .jid = JID, .on = true, .mute_end = 1893456000000}, "regular_high",
		"[\"mute\",\"" JID "\"]",
		"12b901080012b4010a220a201cd17e1ab1b231b0f4f2c39f6c47b9133c842ceead82a2b0f2317ead3811de7e1283010a8001de"
		"e56a124dcf3b215ca2627373c5f48008ad3a45f4109aefd6236024517b1e6c4b0aa9dd8de0ce8ddc3681989ea834dd55c21f1a"
		"13629b5178d1eb79363dac240d69270e10d5fb19568ec5907d39a5d4a3bb5bea9e09def82edd3f3e2a208cc290b70cbaef3650"
		"bd4e5859824f3e6b5adad9d6784f79e167b9f0357bda7790961a080a0600000000000122205bf72bd1fe465446a865269bd385"
		"1862537b110f6c0d76f18ca31c487cc78acd2a208bbe53e9cf6d2d353490d9b0ab7831bc9992a4e14c721629c37ea470e40654"
		"c832080a06000000000001"},
	{{.action = WA_CHAT_STAR, .jid = JID, .on = true, .msg_id = "3EB0AA11", .msg_from_me = true}, "regular_low",
		"[\"star\",\"" JID "\",\"3EB0AA11\",\"1\",\"0\"]",
		"12b901080012b4010a220a2035c085e9bcec617003d87a5f16be32a2263cba7e023ae1280db4f930628b3b921283010a8001aa"
		"e5f6149046b6846cc145fab6d4064c0925736e59e13e0bac5f8bfa8d14ad86d4bc8ebedd698cba70237b6e4b6bd797f6ab5934"
		"2785d9923e503f291115294a96f089367b227b57da8f415b3a617f156b1045ba973588622f30c839fa54a8d992083a151d92a4"
		"2c65da7e8eb2e89d712f8be0d69f61d5112413ba4b5cfa88711a080a06000000000001222003fb6dc5ed75dc6d96e252edec0c"
		"0425e0b577d420e4b820b1092e10ddf8adc62a202c1a5e3e674c1dcbfc80bcb92f6a19d5fad61fa945dc538ab3785d6b7ff552"
		"bc32080a06000000000001"},
	{{.action = WA_CHAT_LABEL, .jid = JID, .on = true, .label_id = "7"}, "regular",
		"[\"label_jid\",\"7\",\"" JID "\"]",
		"12b901080012b4010a220a20169c52323955b46d31b62e321a03ff84d643d9b81fc748d53b4eb9789e00dca51283010a800135"
		"204482c018b20b484e75d9a44a909eb95a3cb8c58c6db877d9b39e360fb222b610415e67fb8e9b331b04743a206aab98f9614d"
		"611c6450c6b9037455dba1a099bdbc1abdf3f5c6c0420a28f23e3da966a9d3771b64bc379a2f870e37e66a34406da64472648a"
		"40decd5de7bdd71f459ed54e5b140e877f90275ae57e5a8c1b1a080a06000000000001222036a8d035954031c3446736c24015"
		"a548529d829ee37d50656a45d3b8e41abc472a20800f3706b85c603aa2fc68d8319bb2bba8be0bbebfd144acb45e2cc3d1b592"
		"e632080a06000000000001"},
	{{.action = WA_LABEL_EDIT, .on = true, .label_id = "8", .label_name = "Pago", .label_color = 5}, "regular",
		"[\"label_edit\",\"8\"]",
		"12970108001292010a220a204d8b4a9d05cb2527a496f60c7f7de2dcd67c539acf11806600388ca4406e3cd212620a609aacaa"
		"27bef12bf70794229fa459645cb65b12ae1659153b34f54067b388ced9cf9391f49754c494df161dd63414a4fee645fac870dc"
		"ae9d73fcf0d801c9150afe78ced6689ae6d18b4022f49222c3f3a2d0c4ffd1792c6d51482cd912758d6d1a080a060000000000"
		"012220a60dd5d0b31c8017b8d0aa3e77c0e8b8f523b2e9984208168a5cf9bdb5dcd6f42a20ff632201c8f9d1b47d608216ab06"
		"d85ff0ec9760c03aa96982300fc660a2e17132080a06000000000001"},
};

static int keys(void *u, const uint8_t *id, size_t len, wa_syncd_keys *out)
{
	(void)u;
	if (len != sizeof key_id || memcmp(id, key_id, len) != 0)
		return WA_ENOTFOUND;
	return wa_syncd_expand_keys(key_data, sizeof key_data, out);
}

static int no_mac(void *u, const uint8_t i[32], uint8_t out[32])
{
	(void)u, (void)i, (void)out;
	return WA_ENOTFOUND;
}

static void one(const struct vec *v)
{
	uint8_t *want = NULL;
	size_t wl = 0;
	CHECK(wa_hex_decode(v->baileys_hex, strlen(v->baileys_hex), &want, &wl) == 0);
	/* Baileys' IV: the first 16 bytes of its value blob */
	ProtobufCMessage *pb = NULL;
	CHECK(wa_pb_unpack(&pb, &wa__syncd_patch__descriptor, want, wl, 1 << 20) == 0);
	const Wa__SyncdPatch *bp = (const Wa__SyncdPatch *)pb;
	CHECK(bp && bp->n_mutations == 1 && !bp->version);
	wa_appstate_mod m;
	CHECK(wa_appstate_mod_build(&v->mod, 1765000000000, &m) == 0);
	CHECK_EQ_STR(m.collection, v->collection);
	CHECK_EQ_STR(m.index_json, v->index);
	wa_syncd_new n = {.op = WA_SYNCD_SET, .index_json = m.index_json, .value = m.value, .value_len = m.value_len,
		.version = m.api};
	memcpy(n.iv, bp->mutations[0]->record->value->blob.data, 16);
	uint8_t hash[WA_SYNCD_HASH_LEN] = {0}, zero[WA_SYNCD_HASH_LEN] = {0};
	uint8_t *out = NULL;
	size_t ol = 0;
	CHECK(wa_syncd_encode_patch(m.collection, 3, hash, key_data, sizeof key_data, key_id, sizeof key_id, &n, 1,
		NULL, NULL, &out, &ol) == 0);
	CHECK(wa_appstate_strip_version(&out, &ol) == 0);
	CHECK_EQ_INT(ol, wl);
	if (ol == wl)
		CHECK_EQ_MEM(out, want, wl);
	/* and our decoder takes it as the collection's version 4 */
	wa_syncd_ops ops = {.get_keys = keys, .get_value_mac = no_mac, .user = NULL};
	wa_syncd_result r;
	CHECK(wa_syncd_decode_patch(m.collection, out, ol, 4, zero, &ops, &r) == 0);
	CHECK_EQ_INT(r.version, 4);
	CHECK_EQ_MEM(r.hash, hash, sizeof hash);
	if (r.n == 1) {
		CHECK_EQ_STR(r.muts[0].index_json, v->index);
		CHECK_EQ_INT(r.muts[0].value_len, m.value_len);
		CHECK_EQ_MEM(r.muts[0].value, m.value, m.value_len);
		CHECK_EQ_INT(r.muts[0].version, m.api);
	}
	wa_syncd_result_clear(&r);
	free(out);
	wa_appstate_mod_clear(&m);
	protobuf_c_message_free_unpacked(pb, NULL);
	free(want);
}

static void bad_input(void)
{
	wa_appstate_mod m;
	wa_chat_mod no_jid = {.action = WA_CHAT_ARCHIVE, .on = true};
	wa_chat_mod no_msg = {.action = WA_CHAT_STAR, .jid = JID, .on = true};
	wa_chat_mod no_label = {.action = WA_CHAT_LABEL, .jid = JID, .on = true};
	wa_chat_mod no_name = {.action = WA_LABEL_EDIT, .label_id = "1", .on = true};
	wa_chat_mod bad_kind = {.action = (enum wa_chat_action)99, .jid = JID};
	CHECK(wa_appstate_mod_build(&no_jid, 1, &m) == WA_EINVAL);
	CHECK(wa_appstate_mod_build(&no_msg, 1, &m) == WA_EINVAL);
	CHECK(wa_appstate_mod_build(&no_label, 1, &m) == WA_EINVAL);
	CHECK(wa_appstate_mod_build(&no_name, 1, &m) == WA_EINVAL);
	CHECK(wa_appstate_mod_build(&bad_kind, 1, &m) == WA_EINVAL);
}

int main(void)
{
	for (size_t i = 0; i < sizeof vecs / sizeof vecs[0]; i++)
		one(&vecs[i]);
	bad_input();
	return check_exit("session_appstate_mod");
}
