/* Unit tests for src/binary: token tables (counts, digests, spot checks),
 * the Baileys-produced vectors of the protocol notes (§3.8) in both
 * directions, every JID form, string packing edges, and the node API. */
#include "check.h"
#include "binary_helpers.h"

#include <sodium.h>

#include "binary/jid.h"
#include "binary/limits.h"
#include "binary/tokens.h"

/* ---- token dictionaries ---- */

static void digest_hex(const char *const *toks, size_t n, crypto_hash_sha256_state *all, char out[65])
{
	crypto_hash_sha256_state st;
	crypto_hash_sha256_init(&st);
	for (size_t i = 0; i < n; i++) {
		crypto_hash_sha256_update(&st, (const uint8_t *)toks[i], strlen(toks[i]));
		crypto_hash_sha256_update(&st, (const uint8_t *)"\n", 1);
		crypto_hash_sha256_update(all, (const uint8_t *)toks[i], strlen(toks[i]));
		crypto_hash_sha256_update(all, (const uint8_t *)"\n", 1);
	}
	uint8_t h[32];
	crypto_hash_sha256_final(&st, h);
	sodium_bin2hex(out, 65, h, 32);
}

static void test_tokens(void)
{
	/* the table sizes are part of the type, so count what the data gives */
	CHECK_EQ_INT(sizeof wa_bin_single_tokens / sizeof wa_bin_single_tokens[0], 236);
	CHECK_EQ_INT(sizeof wa_bin_double_tokens[0] / sizeof wa_bin_double_tokens[0][0], 256);
	CHECK_EQ_STR(wa_bin_single_tokens[0], "");

	/* digests from the protocol notes §3.7 (each token followed by LF) */
	static const char *const want[5] = {
		"34af7d0ba6b51a2a59091374163c9fc6be56ee7957781d6ec4cda91c4ae09cc0",
		"9caea4f9c169762e49bbe19e6af8cf9a04a9e0ebb76584f202ebd7b59c87d769",
		"7c99ed9e1ae1c8a3274dc560664a5d7b808396ba3aaafe5b11da8e838de6750b",
		"ee7425b329885fcf5aaaf4a184f30e1fed21fcf0bbdcf98bd8cef1fe3dd66803",
		"056e3944ba065b904089f490a3f0fc588248825e3d84768c849436515fc7661a",
	};
	crypto_hash_sha256_state all;
	crypto_hash_sha256_init(&all);
	char hex[65];
	digest_hex(wa_bin_single_tokens, WA_BIN_SINGLE_TOKENS, &all, hex);
	CHECK_EQ_STR(hex, want[0]);
	for (int d = 0; d < WA_BIN_DICTS; d++) {
		digest_hex(wa_bin_double_tokens[d], WA_BIN_DICT_TOKENS, &all, hex);
		CHECK_EQ_STR(hex, want[1 + d]);
	}
	uint8_t h[32];
	crypto_hash_sha256_final(&all, h);
	sodium_bin2hex(hex, sizeof hex, h, 32);
	CHECK_EQ_STR(hex, "dce2ff462a48a33e39a47064ff98bd98c2786230dc1959c00631bfdbb6ded6af");

	/* spot checks */
	CHECK_EQ_STR(wa_bin_single_tokens[3], "s.whatsapp.net");
	CHECK_EQ_STR(wa_bin_single_tokens[25], "iq");
	CHECK_EQ_STR(wa_bin_single_tokens[86], "ping");
	CHECK_EQ_STR(wa_bin_single_tokens[87], "w:p");
	CHECK_EQ_STR(wa_bin_single_tokens[157], "stream:error");
	CHECK_EQ_STR(wa_bin_single_tokens[230], "device-identity");
	CHECK_EQ_STR(wa_bin_single_tokens[235], "screen_height");
	CHECK_EQ_STR(wa_bin_double_tokens[0][1], "active");
	CHECK_EQ_STR(wa_bin_double_tokens[0][24], "passive");
	CHECK_EQ_STR(wa_bin_double_tokens[1][80], "ref");
	CHECK_EQ_STR(wa_bin_double_tokens[1][238], "pair-device");
	CHECK_EQ_STR(wa_bin_double_tokens[2][60], "failure");

	/* the lookup finds every token at its own slot, and lengths agree */
	int dict;
	uint8_t idx;
	for (int i = 1; i < WA_BIN_SINGLE_TOKENS; i++) {
		const char *t = wa_bin_single_tokens[i];
		CHECK_EQ_INT(wa_bin_single_token_len[i], strlen(t));
		CHECK(wa_bin_token_lookup(t, strlen(t), &dict, &idx) == 0 && dict == WA_BIN_TOKEN_SINGLE && idx == i);
	}
	for (int d = 0; d < WA_BIN_DICTS; d++) {
		for (int i = 0; i < WA_BIN_DICT_TOKENS; i++) {
			const char *t = wa_bin_double_tokens[d][i];
			CHECK_EQ_INT(wa_bin_double_token_len[d][i], strlen(t));
			CHECK(wa_bin_token_lookup(t, strlen(t), &dict, &idx) == 0 && dict == d && idx == i);
		}
	}
	CHECK_EQ_INT(wa_bin_token_lookup("", 0, &dict, &idx), WA_ENOTFOUND);
	CHECK_EQ_INT(wa_bin_token_lookup("pingx", 5, &dict, &idx), WA_ENOTFOUND);
	CHECK_EQ_INT(wa_bin_token_lookup("pin", 3, &dict, &idx), WA_ENOTFOUND);
	CHECK_EQ_INT(wa_bin_token_lookup("ping", 3, &dict, &idx), WA_ENOTFOUND); /* "pin" */
	CHECK_EQ_INT(wa_bin_token_lookup("zzzzzz", 6, &dict, &idx), WA_ENOTFOUND);
	CHECK_EQ_INT(wa_bin_token_lookup("\x01", 1, &dict, &idx), WA_ENOTFOUND);
}

/* The data files themselves: line counts and the same digests (the tables
 * above are generated from them; this pins the committed files). */
static void test_token_files(void)
{
	static const struct {
		const char *name;
		size_t lines;
		const char *sha256;
	} files[] = {
		{ "single.txt", 236, "34af7d0ba6b51a2a59091374163c9fc6be56ee7957781d6ec4cda91c4ae09cc0" },
		{ "dict0.txt", 256, "9caea4f9c169762e49bbe19e6af8cf9a04a9e0ebb76584f202ebd7b59c87d769" },
		{ "dict1.txt", 256, "7c99ed9e1ae1c8a3274dc560664a5d7b808396ba3aaafe5b11da8e838de6750b" },
		{ "dict2.txt", 256, "ee7425b329885fcf5aaaf4a184f30e1fed21fcf0bbdcf98bd8cef1fe3dd66803" },
		{ "dict3.txt", 256, "056e3944ba065b904089f490a3f0fc588248825e3d84768c849436515fc7661a" },
	};
	const char *root = getenv("WA_SOURCE_ROOT");
	CHECK(root != NULL); /* set by meson test */
	if (!root)
		return;
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/src/binary/tokens/%s", root, files[i].name);
		FILE *f = fopen(path, "rb");
		CHECK(f != NULL);
		if (!f)
			continue;
		uint8_t buf[65536];
		size_t n = fread(buf, 1, sizeof buf, f);
		fclose(f);
		size_t lines = 0;
		for (size_t k = 0; k < n; k++)
			lines += buf[k] == '\n';
		CHECK_EQ_INT(lines, files[i].lines);
		CHECK(n > 0 && buf[n - 1] == '\n');
		uint8_t h[32];
		char hex[65];
		crypto_hash_sha256(h, buf, n);
		sodium_bin2hex(hex, sizeof hex, h, 32);
		CHECK_EQ_STR(hex, files[i].sha256);
	}
}

/* ---- vectors: Baileys 7.0.0-rc14 output from the protocol notes §3.8 ---- */

struct vec {
	const char *json;
	const char *hex;
};

static const struct vec vectors[] = {
	/* A: keep-alive ping */
	{ "{'tag':'iq','attrs':{'id':'59012.31415-1','to':'@s.whatsapp.net','type':'get','xmlns':'w:p'},"
	  "'content':[{'tag':'ping'}]}",
	  "00f80a1908ff8759012b31415a1f11fa000304291657f801f80156" },
	/* B: server pair-device with two refs (refs are bytes) */
	{ "{'tag':'iq','attrs':{'from':'@s.whatsapp.net','type':'set','id':'1700000000-1','xmlns':'md'},"
	  "'content':[{'tag':'pair-device','content':[{'tag':'ref','content':{'base64':'MkBBYkM='}},"
	  "{'tag':'ref','content':{'base64':'MkBYeVo='}}]}]}",
	  "00f80a1906fa0003045a08ff061700000000a116fc026d64f801f802edeef802f802ed50fc053240416243f802ed50fc05324058795a" },
	/* C: success with a LID AD_JID */
	{ "{'tag':'success','attrs':{'t':'1711713012','props':'27','lid':'18234235214236:18@lid'}}",
	  "00f8074c1aff0517117130125cee0476f70112ff0718234235214236" },
	/* D: device with PN and LID device JIDs */
	{ "{'tag':'device','attrs':{'jid':'15551234567:3@s.whatsapp.net','lid':'123456789012345:3@lid'}}",
	  "00f8053b0cf70003ff8615551234567f76f70103ff88123456789012345f" },
	{ "{'tag':'iq','attrs':{'to':'@s.whatsapp.net','type':'result','id':'1234567'}}",
	  "00f8071911fa0003041408ff841234567f" },
	{ "{'tag':'iq','attrs':{'to':'@s.whatsapp.net','xmlns':'passive','type':'set','id':'59012.31415-2'},"
	  "'content':[{'tag':'active'}]}",
	  "00f80a1911fa000316ec18045a08ff8759012b31415a2ff801f801ec01" },
	{ "{'tag':'ack','attrs':{'id':'3EB0C0FFEE','to':'@s.whatsapp.net','class':'notification','type':'encrypt'}}",
	  "00f8091b08fb053eb0c0ffee11fa0003150904cb" },
	{ "{'tag':'ack','attrs':{'id':'3EB0C0FFEE','to':'15551234567@s.whatsapp.net','class':'receipt','type':'read'}}",
	  "00f8091b08fb053eb0c0ffee11faff8615551234567f031507042a" },
	{ "{'tag':'stream:error','attrs':{'code':'515'}}", "00f8039d70ff82515f" },
	{ "{'tag':'stream:error','content':[{'tag':'conflict','attrs':{'type':'replaced'}}]}",
	  "00f8029df801f803ec0e04ec11" },
	{ "{'tag':'failure','attrs':{'reason':'401','location':'frc'}}", "00f805ee3cec2e8d3dfc03667263" },
	{ "{'tag':'xmlstreamend'}", "00f80102" },
	{ "{'tag':'iq','attrs':{'from':'@s.whatsapp.net','type':'result','id':'1'},"
	  "'content':[{'tag':'count','attrs':{'value':'812'}}]}",
	  "00f8081906fa000304140855f801f803416cee44" },
	{ "{'tag':'enc','attrs':{'v':'2','type':'pkmsg','jid':'123456789012345:7@lid'},'content':{'base64':'AQIDBAU='}}",
	  "00f8081d514504530cf70107ff88123456789012345ffc050102030405" },
	{ "{'tag':'presence','attrs':{'name':'','to':'120363012345678901@g.us','from':'s.whatsapp.net'}}",
	  "00f8071f89fc0011faff091203630123456789011c0603" },
	{ "{'tag':'x','attrs':{'a':'1234567','b':'','c':'0'}}", "00f807fc0178fc0161ff841234567ffc0162fc00ee252d" },
};

static void test_vectors(void)
{
	for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
		wa_node *want = js(vectors[i].json);
		int rc;
		char *got = enc_hex(want, &rc);
		CHECK_EQ_INT(rc, 0);
		if (got && strcmp(got, vectors[i].hex) != 0) {
			fprintf(stderr, "vector %zu encodes to\n  %s\nwant\n  %s\n", i, got, vectors[i].hex);
			check_failures++;
		}
		free(got);
		wa_node *dec = NULL;
		CHECK_EQ_INT(dec_hex(vectors[i].hex, &dec), 0);
		if (dec && !wa_node_equal(dec, want)) {
			fprintf(stderr, "vector %zu decodes differently\n", i);
			print_node("got", dec);
			print_node("want", want);
			check_failures++;
		}
		wa_node_free(dec);
		wa_node_free(want);
	}

	/* the <skey> vector: bytes contents of 3, 32 and 64 bytes */
	wa_node *skey = NULL, *id = NULL, *value = NULL, *sig = NULL;
	uint8_t aa[32], bb[64];
	memset(aa, 0xaa, sizeof aa);
	memset(bb, 0xbb, sizeof bb);
	CHECK(wa_node_new(&skey, "skey") == 0 && wa_node_new(&id, "id") == 0 &&
	      wa_node_new(&value, "value") == 0 && wa_node_new(&sig, "signature") == 0);
	CHECK(wa_node_set_bytes(id, "\x00\x00\x01", 3) == 0 && wa_node_set_bytes(value, aa, 32) == 0 &&
	      wa_node_set_bytes(sig, bb, 64) == 0);
	CHECK(wa_node_add_child(skey, id) == 0 && wa_node_add_child(skey, value) == 0 &&
	      wa_node_add_child(skey, sig) == 0);
	char want[300] = "00f802ec2df803f80208fc03000001f8026cfc20";
	for (int i = 0; i < 32; i++)
		strcat(want, "aa");
	strcat(want, "f802d4fc40");
	for (int i = 0; i < 64; i++)
		strcat(want, "bb");
	int rc;
	char *got = enc_hex(skey, &rc);
	CHECK_EQ_STR(got, want);
	CHECK_EQ_INT(strlen(want) / 2, 121);
	free(got);
	wa_node *back;
	CHECK_EQ_INT(dec_hex(want, &back), 0);
	CHECK(back && wa_node_equal(back, skey));
	wa_node_free(back);
	wa_node_free(skey);

	/* 300 children -> LIST_16; 300 bytes -> BINARY_20 */
	wa_node *many;
	CHECK(wa_node_new(&many, "list") == 0);
	for (int i = 0; i < 300; i++) {
		wa_node *k;
		CHECK(wa_node_new(&k, "key") == 0 && wa_node_add_child(many, k) == 0);
	}
	got = enc_hex(many, &rc);
	CHECK(got && strncmp(got, "00f80271f9012cf8019e", 20) == 0);
	free(got);
	wa_node_free(many);
	wa_node *big;
	uint8_t b300[300] = { 0 };
	CHECK(wa_node_new(&big, "value") == 0 && wa_node_set_bytes(big, b300, 300) == 0);
	got = enc_hex(big, &rc);
	CHECK(got && strncmp(got, "00f8026cfd00012c", 16) == 0 && strlen(got) == 2 * (8 + 300));
	free(got);
	wa_node_free(big);

	/* §3.1: a compressed <stream:error code="515"/> */
	wa_node *se = NULL, *want_se = js("{'tag':'stream:error','attrs':{'code':'515'}}");
	CHECK_EQ_INT(dec_hex("02789cfbc13cb7e07f53603c00143e043a", &se), 0);
	CHECK(se && wa_node_equal(se, want_se));
	wa_node_free(se);
	/* other flag bits are ignored, as by both reference decoders */
	CHECK_EQ_INT(dec_hex("f8f8039d70ff82515f", &se), 0);
	CHECK(se && wa_node_equal(se, want_se));
	wa_node_free(se);
	wa_node_free(want_se);
}

/* ---- JIDs ---- */

/* Encodes <x a=value/> and checks the bytes of the value, then decodes back
 * and checks the text (want_text NULL means: the same as value). */
static void jid_case(const char *value, const char *want_value_hex, const char *want_text)
{
	wa_node *n;
	CHECK(wa_node_new(&n, "x") == 0 && wa_node_set_attr(n, "a", value) == 0);
	int rc;
	char *got = enc_hex(n, &rc);
	/* 00 f8 03 fc 01 78 fc 01 61 <value> */
	const char *prefix = "00f803fc0178fc0161";
	if (!got || strncmp(got, prefix, strlen(prefix)) != 0 || strcmp(got + strlen(prefix), want_value_hex) != 0) {
		fprintf(stderr, "%s: value encodes as %s, want %s\n", value,
			got ? got + strlen(prefix) : wa_errname(rc), want_value_hex);
		check_failures++;
	}
	wa_node *back = NULL;
	if (got)
		CHECK_EQ_INT(dec_hex(got, &back), 0);
	if (back)
		CHECK_EQ_STR(wa_node_attr(back, "a"), want_text ? want_text : value);
	wa_node_free(back);
	free(got);
	wa_node_free(n);
}

static void test_jid_wire(void)
{
	/* JID_PAIR */
	jid_case("@s.whatsapp.net", "fa0003", NULL);
	jid_case("15551234567@s.whatsapp.net", "faff8615551234567f03", NULL);
	jid_case("120363012345678901@g.us", "faff091203630123456789011c", NULL);
	jid_case("status@broadcast", "fa0b0d", NULL);
	jid_case("1555@hosted", "faff021555fc06686f73746564", NULL);     /* no device: JID_PAIR */
	jid_case("1555@c.us", "faff021555fc04632e7573", NULL);
	jid_case("abc@a:b", "fafc03616263fc03613a62", NULL);             /* ':' in the server is fine */
	/* AD_JID: every domain; any explicit device including 0 */
	jid_case("1555:0@s.whatsapp.net", "f70000ff021555", NULL);
	jid_case("1555:2@s.whatsapp.net", "f70002ff021555", NULL);
	jid_case("18234235214236:18@lid", "f70112ff0718234235214236", NULL);
	jid_case("1555:2@hosted", "f78002ff021555", NULL);
	jid_case("1555:0@hosted.lid", "f78100ff021555", NULL);
	jid_case("1555_5:3@s.whatsapp.net", "f70503ff021555", NULL);     /* legacy agent */
	jid_case("1555_255:255@s.whatsapp.net", "f7ffffff021555", NULL);
	jid_case(":3@lid", "f70103fc00", NULL);                          /* empty user is FC 00 */
	/* FB_JID and INTEROP_JID */
	jid_case("100042:7@msgr", "f6ff031000420007cc", NULL);
	jid_case("100042:65535@msgr", "f6ff03100042ffffcc", NULL);
	jid_case("5-1555:3@interop", "f5ff02155500030005fc07696e7465726f70", NULL);
	/* not JIDs: Baileys would encode them lossily, we send them raw */
	jid_case("a:b:c@x", "fc07613a623a634078", NULL);
	jid_case("abc@", "fc0461626340", NULL);
	jid_case("a@b@c", "fc056140624063", NULL);
	jid_case("1555:03@lid", "fc0b313535353a3033406c6964", NULL);
	jid_case("1555:256@lid", "fc0c313535353a323536406c6964", NULL);
	jid_case("1555_1@s.whatsapp.net", "fc15313535355f314073" "2e77686174736170702e6e6574", NULL);
	jid_case("1555_128:2@s.whatsapp.net", "fc19313535355f3132383a324073" "2e77686174736170702e6e6574", NULL);
	jid_case("1555_5:2@lid", "fc0c313535355f353a32406c6964", NULL);
	jid_case("1555:2@g.us", "fc0b313535353a324067" "2e7573", NULL);
	jid_case("x-1:2@interop", "fc0d782d313a3240696e7465726f70", NULL);
	/* a token that contains no '@' but looks like a JID part stays a token */
	jid_case("s.whatsapp.net", "03", NULL);

	/* decoder: domain bytes and wire forms Baileys does not write */
	static const struct {
		const char *hex, *text;
	} dec[] = {
		{ "00f803fc0178fc0161f70000ff021555", "1555:0@s.whatsapp.net" }, /* Baileys drops ":0" */
		{ "00f803fc0178fc0161f70503ff021555", "1555_5:3@s.whatsapp.net" },
		{ "00f803fc0178fc0161f78101ff021555", "1555:1@hosted.lid" },
		{ "00f803fc0178fc0161fa0003", "@s.whatsapp.net" },
		{ "00f803fc0178fc0161fafc0003", "@s.whatsapp.net" },               /* FC 00 user */
		{ "00f803fc0178fc0161f7000100", ":1@s.whatsapp.net" },           /* AD user 00 is "" */
		{ "00f803fc0178fc0161f6ff031000420007fc036d7367", "100042:7@msg" }, /* FB with any server */
		{ "00f803fc0178fc0161f5ff02155500030005fc07696e7465726f70", "5-1555:3@interop" },
	};
	for (size_t i = 0; i < sizeof dec / sizeof dec[0]; i++) {
		wa_node *n = NULL;
		int rc = dec_hex(dec[i].hex, &n);
		if (rc)
			fprintf(stderr, "decode %s: %s\n", dec[i].hex, wa_errname(rc));
		CHECK_EQ_INT(rc, 0);
		if (n)
			CHECK_EQ_STR(wa_node_attr(n, "a"), dec[i].text);
		wa_node_free(n);
	}
}

static void test_jid_api(void)
{
	wa_jid j, k;
	char buf[WA_JID_TEXT_MAX + 1];
	static const char *const good[] = {
		"@s.whatsapp.net", "15551234567@s.whatsapp.net", "1555:0@s.whatsapp.net",
		"18234235214236:18@lid", "1555:2@hosted", "1555:2@hosted.lid", "1555_5:3@s.whatsapp.net",
		"100042:7@msgr", "5-1555:3@interop", "120363012345678901@g.us", "status@broadcast",
		"1555@lid",
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		CHECK_EQ_INT(wa_jid_parse(&j, good[i]), 0);
		int n = wa_jid_format(&j, buf, sizeof buf);
		CHECK(n == (int)strlen(good[i]));
		CHECK_EQ_STR(buf, good[i]);
	}
	CHECK_EQ_INT(wa_jid_parse(&j, "18234235214236:18@lid"), 0);
	CHECK_EQ_INT(j.kind, WA_JID_AD);
	CHECK_EQ_INT(j.domain, WA_JID_DOMAIN_LID);
	CHECK_EQ_INT(j.device, 18);
	CHECK_EQ_STR(j.user, "18234235214236");
	CHECK_EQ_STR(j.server, "lid");
	CHECK_EQ_INT(wa_jid_parse(&j, "1555_7:3@s.whatsapp.net"), 0);
	CHECK(j.kind == WA_JID_AD && j.domain == 7 && j.device == 3 && strcmp(j.user, "1555") == 0 &&
	      strcmp(j.server, "s.whatsapp.net") == 0);
	CHECK_EQ_INT(wa_jid_parse(&j, "9-77:5@interop"), 0);
	CHECK(j.kind == WA_JID_INTEROP && j.integrator == 9 && j.device == 5 && strcmp(j.user, "77") == 0);
	CHECK_EQ_INT(wa_jid_parse(&j, "42:5@msgr"), 0);
	CHECK(j.kind == WA_JID_FB && j.device == 5 && strcmp(j.server, "msgr") == 0);

	static const char *const bad[] = {
		"nobody", "abc@", "a@b@c", "a:b:c@x", "1555:03@lid", "1555:256@lid", "1555:-1@lid",
		"1555:@lid", "1555_1@s.whatsapp.net", "1555_0:1@s.whatsapp.net", "1555_1:1@s.whatsapp.net",
		"1555_128:1@s.whatsapp.net", "1555_129:1@s.whatsapp.net", "1555_256:1@s.whatsapp.net",
		"1555_5:1@lid", "1555_5_6:1@s.whatsapp.net", "1555:1@g.us", "1:65536@msgr",
		"x-1:2@interop", "65536-1:2@interop", "1:2@interop", "1555: 1@lid", "1555:+1@lid",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (wa_jid_parse(&j, bad[i]) != WA_EBIN_JID) {
			fprintf(stderr, "jid parse accepted %s\n", bad[i]);
			check_failures++;
		}
	}
	char longuser[WA_JID_USER_MAX + 40];
	memset(longuser, '1', WA_JID_USER_MAX + 1);
	strcpy(longuser + WA_JID_USER_MAX + 1, "@lid");
	CHECK_EQ_INT(wa_jid_parse(&j, longuser), WA_ETOOBIG);

	CHECK_EQ_INT(wa_jid_make_pair(&j, "", "s.whatsapp.net"), 0);
	CHECK(wa_jid_format(&j, buf, sizeof buf) > 0 && strcmp(buf, "@s.whatsapp.net") == 0);
	CHECK_EQ_INT(wa_jid_make_pair(&j, "a:b", "lid"), WA_EBIN_JID);
	CHECK_EQ_INT(wa_jid_make_pair(&j, "a", ""), WA_EBIN_JID);
	CHECK_EQ_INT(wa_jid_make_ad(&j, "1555", WA_JID_DOMAIN_HOSTED_LID, 4), 0);
	CHECK(wa_jid_format(&j, buf, sizeof buf) > 0 && strcmp(buf, "1555:4@hosted.lid") == 0);
	CHECK_EQ_INT(wa_jid_format(&j, buf, 5), WA_ETOOBIG);
	for (int d = 0; d < 256; d++) {
		/* every domain byte survives text -> parse */
		CHECK_EQ_INT(wa_jid_make_ad(&j, "77", (uint8_t)d, 9), 0);
		CHECK(wa_jid_format(&j, buf, sizeof buf) > 0);
		CHECK(wa_jid_parse(&k, buf) == 0 && k.domain == d && k.device == 9);
	}

	wa_node *dev = js("{'tag':'device','attrs':{'jid':'15551234567:3@s.whatsapp.net','name':'x'}}");
	CHECK_EQ_INT(wa_jid_from_attr(&j, dev, "jid"), 0);
	CHECK(j.kind == WA_JID_AD && j.device == 3 && strcmp(j.user, "15551234567") == 0);
	CHECK_EQ_INT(wa_jid_from_attr(&j, dev, "lid"), WA_ENOTFOUND);
	CHECK_EQ_INT(wa_jid_from_attr(&j, dev, "name"), WA_EBIN_JID);
	wa_node_free(dev);

	CHECK(wa_jid_parse(&j, "1555@s.whatsapp.net") == 0 && wa_jid_parse(&k, "1555:0@s.whatsapp.net") == 0);
	CHECK(wa_jid_equal(&j, &k));
	CHECK(wa_jid_parse(&k, "1555:3@s.whatsapp.net") == 0);
	CHECK(!wa_jid_equal(&j, &k) && wa_jid_same_user(&j, &k));
	CHECK(wa_jid_parse(&k, "1555:3@lid") == 0);
	CHECK(!wa_jid_same_user(&j, &k));
	CHECK(wa_jid_parse(&k, "1555_5:0@s.whatsapp.net") == 0);
	CHECK(!wa_jid_same_user(&j, &k));
}

/* ---- string packing ---- */

static void str_case(const char *s, const char *want_hex)
{
	jid_case(s, want_hex, NULL);
}

static void test_packing(void)
{
	str_case("1234567", "ff841234567f");         /* odd: pad F */
	str_case("123456", "ff03123456");
	str_case("1.2-3", "ff831b2a3f");
	str_case("3EB0C0FFEE", "fb053eb0c0ffee");
	str_case("ABF", "fb82abff");                 /* HEX ending in F, odd */
	str_case("ABCF", "fb02abcf");
	str_case("3eb0c0ffee", "fc0a33656230633066666565"); /* lowercase hex goes raw */
	str_case("3EB0c0FFEE", "fc0a33454230633046464545"); /* mixed case too */
	str_case("ABC-1", "fc054142432d31");         /* neither alphabet */
	str_case("0", "2d");                         /* tokens win over packing */
	str_case("1", "55");
	str_case("401", "8d");
	str_case("500", "eca4");
	str_case("04", "ec17");
	str_case("", "fc00");
	str_case("-", "edf7");                       /* a token (dict 1) */
	str_case("--", "ff01aa");
	/* 127 digits pack, 128 go raw */
	char s[200], want[600];
	memset(s, '7', 127);
	s[127] = '\0';
	strcpy(want, "ffc0");
	for (int i = 0; i < 63; i++)
		strcat(want, "77");
	strcat(want, "7f");
	str_case(s, want);
	memset(s, '7', 128);
	s[128] = '\0';
	strcpy(want, "fc80");
	for (int i = 0; i < 128; i++)
		strcat(want, "37");
	str_case(s, want);
	memset(s, 'A', 127);
	s[127] = '\0';
	strcpy(want, "fbc0");
	for (int i = 0; i < 63; i++)
		strcat(want, "aa");
	strcat(want, "af");
	str_case(s, want);
	/* raw lengths: BINARY_8 up to 255, BINARY_20 from 256 */
	memset(s, 'x', 199);
	s[199] = '\0';
	wa_node *n;
	CHECK(wa_node_new(&n, s) == 0);
	int rc;
	char *got = enc_hex(n, &rc);
	CHECK(got && strncmp(got, "00f801fcc7", 10) == 0);
	free(got);
	wa_node_free(n);
	/* non-ASCII text is raw UTF-8 */
	str_case("\xc3\xa9t\xc3\xa9", "fc05c3a974c3a9");
	/* packed decoding: a zero-length packed string is "" (whatsmeow's empty content) */
	wa_node *d = NULL;
	CHECK_EQ_INT(dec_hex("00f802fc0178ff00", &d), 0);
	CHECK(d && wa_node_string(d) && strcmp(wa_node_string(d), "") == 0);
	wa_node_free(d);
}

/* ---- node API ---- */

static void test_node_api(void)
{
	wa_node *n = NULL, *c1 = NULL, *c2 = NULL;
	CHECK_EQ_INT(wa_node_new(&n, ""), WA_EMALFORMED);
	CHECK_EQ_INT(wa_node_new(&n, "\xff"), WA_EMALFORMED);
	CHECK_EQ_INT(wa_node_new(&n, "iq"), 0);
	CHECK_EQ_INT(wa_node_set_attr(n, "id", "1"), 0);
	CHECK_EQ_INT(wa_node_set_attr(n, "type", "get"), 0);
	CHECK_EQ_INT(wa_node_set_attr(n, "id", "2"), 0); /* replaces in place */
	CHECK_EQ_INT(wa_node_n_attrs(n), 2);
	CHECK_EQ_STR(wa_node_attr_key(n, 0), "id");
	CHECK_EQ_STR(wa_node_attr_value(n, 0), "2");
	CHECK_EQ_STR(wa_node_attr(n, "type"), "get");
	CHECK(wa_node_attr(n, "nope") == NULL);
	CHECK(wa_node_attr_key(n, 2) == NULL);
	CHECK_EQ_INT(wa_node_set_attr(n, "bad", "a\xc0\x80"), WA_EMALFORMED); /* overlong NUL */
	CHECK_EQ_INT(wa_node_set_attr(n, "bad", "\xed\xa0\x80"), WA_EMALFORMED); /* surrogate */
	CHECK_EQ_INT(wa_node_n_attrs(n), 2);
	CHECK_EQ_INT(wa_node_del_attr(n, "id"), 0);
	CHECK_EQ_INT(wa_node_del_attr(n, "id"), WA_ENOTFOUND);
	CHECK_EQ_STR(wa_node_attr_key(n, 0), "type");

	CHECK_EQ_INT(wa_node_content_kind(n), WA_NODE_NONE);
	CHECK(wa_node_new(&c1, "a") == 0 && wa_node_new(&c2, "b") == 0);
	CHECK_EQ_INT(wa_node_add_child(n, c1), 0);
	CHECK_EQ_INT(wa_node_add_child(n, c2), 0);
	CHECK_EQ_INT(wa_node_add_child(n, n), WA_EINVAL);
	CHECK(wa_node_child(n, "b") == c2 && wa_node_child(n, "c") == NULL);
	wa_node *c4 = NULL;
	CHECK_EQ_INT(wa_node_add_new(n, "d", &c4), 0);
	CHECK(c4 && wa_node_child_at(n, 2) == c4 && strcmp(wa_node_tag(c4), "d") == 0);
	CHECK_EQ_INT(wa_node_add_new(n, "", &c4), WA_EMALFORMED);
	CHECK_EQ_INT(wa_node_n_children(n), 3);
	CHECK(wa_node_child_at(n, 1) == c2 && wa_node_child_at(n, 3) == NULL);
	CHECK_EQ_INT(wa_node_set_string(c1, "hello"), 0);
	const uint8_t *p;
	size_t len;
	CHECK(wa_node_content_bytes(c1, &p, &len) == 0 && len == 5 && memcmp(p, "hello", 5) == 0);
	CHECK(wa_node_bytes(c1, &len) == NULL);
	CHECK_EQ_INT(wa_node_content_bytes(n, &p, &len), WA_ETYPE);
	wa_node *c3;
	CHECK(wa_node_new(&c3, "c") == 0);
	CHECK_EQ_INT(wa_node_add_child(c1, c3), WA_ETYPE); /* c1 holds a string */
	wa_node_free(c3);
	CHECK_EQ_INT(wa_node_set_bytes(c2, "", 0), 0);
	CHECK(wa_node_bytes(c2, &len) != NULL && len == 0);
	wa_node_set_list(c2);
	CHECK(wa_node_content_kind(c2) == WA_NODE_LIST && wa_node_n_children(c2) == 0);

	/* equal vs equal_wire: string and bytes content with the same bytes */
	wa_node *x = NULL, *y = NULL;
	CHECK(wa_node_new(&x, "t") == 0 && wa_node_new(&y, "t") == 0);
	CHECK(wa_node_set_string(x, "abc") == 0 && wa_node_set_bytes(y, "abc", 3) == 0);
	CHECK(!wa_node_equal(x, y) && wa_node_equal_wire(x, y));
	CHECK(wa_node_set_bytes(y, "abd", 3) == 0);
	CHECK(!wa_node_equal_wire(x, y));
	wa_node_set_list(y);
	CHECK(!wa_node_equal_wire(x, y));
	wa_node_free(x);
	wa_node_free(y);

	/* attribute cap */
	wa_node *m;
	CHECK(wa_node_new(&m, "m") == 0);
	char key[16];
	int rc = 0;
	for (int i = 0; i <= WA_BIN_MAX_ATTRS && rc == 0; i++) {
		snprintf(key, sizeof key, "k%d", i);
		rc = wa_node_set_attr(m, key, "v");
	}
	CHECK_EQ_INT(rc, WA_ETOOBIG);
	CHECK_EQ_INT(wa_node_n_attrs(m), WA_BIN_MAX_ATTRS);
	wa_node_free(m);

	wa_node_free(n);
	wa_node_free(NULL);

	/* a builder-made chain far deeper than the codec allows: the encoder
	 * refuses it and wa_node_free copes without recursion */
	wa_node *root, *cur;
	CHECK(wa_node_new(&root, "d") == 0);
	cur = root;
	for (int i = 1; i < 200000; i++) {
		wa_node *ch;
		if (wa_node_new(&ch, "d") != 0 || wa_node_add_child(cur, ch) != 0)
			break;
		cur = ch;
	}
	uint8_t *b;
	CHECK_EQ_INT(wa_bin_encode(root, &b, &len), WA_EDEPTH);
	wa_node *other;
	CHECK(wa_node_new(&other, "d") == 0);
	CHECK(!wa_node_equal(root, root)); /* deeper than comparable */
	wa_node_free(other);
	wa_node_free(root);

	/* exactly WA_BIN_MAX_DEPTH levels encode and decode; one more does not */
	CHECK(wa_node_new(&root, "d") == 0);
	cur = root;
	for (int i = 1; i < WA_BIN_MAX_DEPTH; i++) {
		wa_node *ch;
		CHECK(wa_node_new(&ch, "d") == 0 && wa_node_add_child(cur, ch) == 0);
		cur = ch;
	}
	CHECK_EQ_INT(wa_bin_encode(root, &b, &len), 0);
	wa_node *back = NULL;
	CHECK_EQ_INT(wa_bin_decode(b, len, &back), 0);
	CHECK(back && wa_node_equal(back, root));
	wa_node_free(back);
	free(b);
	wa_node *ch;
	CHECK(wa_node_new(&ch, "d") == 0 && wa_node_add_child(cur, ch) == 0);
	CHECK_EQ_INT(wa_bin_encode(root, &b, &len), WA_EDEPTH);
	wa_node_free(root);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_tokens();
	test_token_files();
	test_vectors();
	test_jid_wire();
	test_jid_api();
	test_packing();
	test_node_api();
	return check_exit("test_binary");
}
