/* Must-fail and hostile-input tests for the binary node decoder: every
 * malformed shape returns its WA_E* code (never a crash, over-read or leak),
 * every limit in limits.h holds, and zlib input is bounded. */
#include "check.h"
#include "binary_helpers.h"

#include <zlib.h>

#include "binary/limits.h"
#include "binary/tokens.h"

struct bad {
	const char *hex;
	int rc;
	const char *why;
};

static const struct bad bad[] = {
	{ "", WA_ETRUNCATED, "empty frame" },
	{ "00", WA_ETRUNCATED, "flags only" },
	{ "0000", WA_EMALFORMED, "node header LIST_EMPTY (S = 0)" },
	{ "00f800", WA_EMALFORMED, "node header LIST_8 of 0" },
	{ "00f90000", WA_EMALFORMED, "node header LIST_16 of 0" },
	{ "00f80100", WA_ETYPE, "F8 01 00: LIST_EMPTY as the tag (whatsmeow panics)" },
	{ "00f801fc00", WA_EMALFORMED, "empty tag string" },
	{ "0019", WA_ETYPE, "a string where a node header belongs" },
	{ "00fc0178", WA_ETYPE, "raw bytes where a node header belongs" },
	{ "00f0", WA_EBIN_TAG, "reserved F0 as node header" },
	{ "00f801f0", WA_EBIN_TAG, "reserved F0 as tag" },
	{ "00f801f4", WA_EBIN_TAG, "reserved F4 as tag" },
	{ "00f80319f219", WA_EBIN_TAG, "reserved F2 as attribute key" },
	{ "00f8031908f3", WA_EBIN_TAG, "reserved F3 as attribute value" },
	{ "00f80219f1", WA_EBIN_TAG, "reserved F1 as content" },
	{ "00f801f80119", WA_ETYPE, "a list as the tag" },
	{ "00f8031908f80119", WA_ETYPE, "a list as an attribute value" },
	{ "00f80319f9000108", WA_ETYPE, "LIST_16 as an attribute key" },
	{ "00f80219f80100", WA_EMALFORMED, "a child with S = 0" },
	{ "00f80219f80119", WA_ETYPE, "a child that is a string" },
	{ "00f80219f801f80100", WA_ETYPE, "a child F8 01 00" },
	{ "00f80119", WA_ETRAILING, "nothing after the node, then... (see next)" },
	{ "00f8011900", WA_ETRAILING, "one trailing byte" },
	{ "00f80219f8", WA_ETRUNCATED, "child list size missing" },
	{ "00f80219f802f80119", WA_ETRUNCATED, "second child missing" },
	{ "00f80219f90001", WA_ETRUNCATED, "LIST_16 size then nothing" },
	{ "00f80219f9ffff", WA_ETRUNCATED, "65535 children announced, none sent" },
	{ "00f80219fc05414243", WA_ETRUNCATED, "BINARY_8 short" },
	{ "00f80219fd0fffff41", WA_ETRUNCATED, "BINARY_20 of 1 MiB - 1, one byte sent" },
	{ "00f80219feffffffff41", WA_ETOOBIG, "BINARY_32 of 4 GiB" },
	{ "00f80219fe0100000141", WA_ETOOBIG, "BINARY_32 just over 16 MiB" },
	{ "00f80219fe00100000", WA_ETRUNCATED, "BINARY_32 of 1 MiB, nothing sent" },
	{ "00f80319fe7fffffff41", WA_ETOOBIG, "BINARY_32 string over the string cap" },
	{ "00f80319fc01", WA_ETRUNCATED, "attribute value missing" },
	{ "00f80319", WA_ETRUNCATED, "attribute key missing" },
	{ "00f80219ec", WA_ETRUNCATED, "dictionary index missing" },
	{ "00f80219ff81c0", WA_EMALFORMED, "nibble 0xC" },
	{ "00f80219ff81d0", WA_EMALFORMED, "nibble 0xD" },
	{ "00f80219ff81e0", WA_EMALFORMED, "nibble 0xE" },
	{ "00f80219ff02f123", WA_EMALFORMED, "pad nibble in the middle" },
	{ "00f80219ff8112", WA_EMALFORMED, "odd nibble string whose pad is not F" },
	{ "00f80219fb8112", WA_EMALFORMED, "odd hex string whose pad is not F" },
	{ "00f80219ff80", WA_EMALFORMED, "odd flag with zero bytes" },
	{ "00f80219ff05123456", WA_ETRUNCATED, "packed bytes short" },
	{ "00f80219ff", WA_ETRUNCATED, "packed length missing" },
	{ "00f80319fc02c32808", WA_EMALFORMED, "invalid UTF-8 attribute key" },
	{ "00f80319fc0100fc0100", WA_EMALFORMED, "NUL byte in a string" },
	{ "00f80319fc02c0800801", WA_EMALFORMED, "overlong UTF-8" },
	{ "00f80319fc03eda08008", WA_EMALFORMED, "UTF-8 surrogate" },
	{ "00f80319fc04f4908080", WA_EMALFORMED, "UTF-8 above U+10FFFF" },
	{ "00f805190801080102", WA_EMALFORMED, "duplicate attribute key" },
	{ "00f8031908fa0000", WA_EBIN_JID, "JID_PAIR with no server" },
	{ "00f8031908fa00fc00", WA_EBIN_JID, "JID_PAIR with an empty server" },
	{ "00f8031908fafa000303", WA_EBIN_JID, "JID nested as a JID user" },
	{ "00f8031908fa00fa0003", WA_EBIN_JID, "JID nested as a JID server" },
	{ "00f8031908f70000f70000fc00", WA_EBIN_JID, "AD_JID nested as AD user" },
	{ "00f8031908fa00f80119", WA_ETYPE, "a list as a JID server" },
	{ "00f8031908f700", WA_ETRUNCATED, "AD_JID cut after domain" },
	{ "00f8031908f6fc00", WA_ETRUNCATED, "FB_JID cut after user" },
	{ "00f8031908f6fc000001", WA_ETRUNCATED, "FB_JID without server" },
	{ "00f8031908f5fc0000010002", WA_ETRUNCATED, "INTEROP_JID without server (Baileys guesses)" },
	{ "00f8031908f5fc0000010002f0", WA_EBIN_TAG, "INTEROP_JID server reserved tag" },
	{ "02", WA_EBIN_INFLATE, "compressed flag, no data" },
	{ "020000", WA_EBIN_INFLATE, "compressed flag, garbage" },
	{ "02789cfbc13cb7e07f53603c00143e04", WA_EBIN_INFLATE, "zlib stream cut short (no checksum)" },
	{ "02789cfbc13cb7e07f53603c00143e043b", WA_EBIN_INFLATE, "zlib checksum wrong" },
	{ "02789cfbc13cb7e07f53603c00143e043a00", WA_ETRAILING, "bytes after the zlib stream" },
	{ "02789c030000000001", WA_ETRUNCATED, "zlib of an empty body" },
};

static void test_must_fail(void)
{
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		wa_node *n = NULL;
		int rc = dec_hex(bad[i].hex, &n);
		/* the "00f80119" row is valid: keep the table honest about it */
		int want = strcmp(bad[i].hex, "00f80119") == 0 ? 0 : bad[i].rc;
		if (rc != want) {
			fprintf(stderr, "%s (%s): got %s want %s\n", bad[i].why, bad[i].hex,
				wa_errname(rc), wa_errname(want));
			check_failures++;
		}
		if (rc == 0 && want != 0)
			print_node("decoded", n);
		wa_node_free(n);
	}
}

/* Every strict prefix of a valid encoding is truncated, never accepted. */
static void test_every_prefix(void)
{
	static const char *const hexes[] = {
		"00f80a1908ff8759012b31415a1f11fa000304291657f801f80156",
		"00f80a1906fa0003045a08ff061700000000a116fc026d64f801f802edeef802f802ed50fc053240416243f802ed50fc05324058795a",
		"00f8053b0cf70003ff8615551234567f76f70103ff88123456789012345f",
		"00f803fc0178fc0161f5ff02155500030005fc07696e7465726f70",
		"00f803fc0178fc0161f6ff031000420007cc",
	};
	for (size_t h = 0; h < sizeof hexes / sizeof hexes[0]; h++) {
		size_t len;
		uint8_t *b = hx(hexes[h], &len);
		wa_node *n = NULL;
		CHECK_EQ_INT(wa_bin_decode(b, len, &n), 0);
		wa_node_free(n);
		for (size_t cut = 0; cut < len; cut++) {
			n = NULL;
			/* copy so ASan sees any read past the shorter buffer */
			uint8_t *p = malloc(cut ? cut : 1);
			memcpy(p, b, cut);
			int rc = wa_bin_decode(p, cut, &n);
			if (rc != WA_ETRUNCATED) {
				fprintf(stderr, "prefix %zu of vector %zu: %s\n", cut, h, wa_errname(rc));
				check_failures++;
			}
			wa_node_free(n);
			free(p);
		}
		free(b);
	}
}

static uint8_t *zdeflate(const uint8_t *p, size_t len, size_t *out_len)
{
	uLongf cap = compressBound(len);
	uint8_t *out = malloc(cap + 1);
	out[0] = 0x02;
	if (compress2(out + 1, &cap, p, len, 9) != Z_OK)
		abort();
	*out_len = cap + 1;
	return out;
}

static void test_inflate(void)
{
	/* compressed and plain frames decode to the same node */
	static const char *const hexes[] = {
		"00f80a1908ff8759012b31415a1f11fa000304291657f801f80156",
		"00f8074c1aff0517117130125cee0476f70112ff0718234235214236",
	};
	for (size_t i = 0; i < 2; i++) {
		size_t len, zlen;
		uint8_t *b = hx(hexes[i], &len);
		uint8_t *z = zdeflate(b + 1, len - 1, &zlen);
		wa_node *x = NULL, *y = NULL;
		CHECK_EQ_INT(wa_bin_decode(b, len, &x), 0);
		CHECK_EQ_INT(wa_bin_decode(z, zlen, &y), 0);
		CHECK(x && y && wa_node_equal(x, y));
		wa_node_free(x);
		wa_node_free(y);
		free(b);
		free(z);
	}

	/* a 1 MiB payload inflates fine (BINARY_32 inside a compressed frame) */
	size_t big = (size_t)1 << 20;
	wa_node *n;
	uint8_t *payload = calloc(1, big);
	CHECK(wa_node_new(&n, "media") == 0 && wa_node_set_bytes(n, payload, big) == 0);
	uint8_t *enc;
	size_t enc_len, zlen;
	CHECK_EQ_INT(wa_bin_encode(n, &enc, &enc_len), 0);
	CHECK_EQ_INT(enc[4], 0xFE);
	uint8_t *z = zdeflate(enc + 1, enc_len - 1, &zlen);
	wa_node *back = NULL;
	CHECK_EQ_INT(wa_bin_decode(z, zlen, &back), 0);
	CHECK(back && wa_node_equal(back, n));
	wa_node_free(back);
	free(z);
	free(enc);
	wa_node_free(n);
	free(payload);

	/* a zlib bomb: 17 MiB of zeros in ~17 KiB is refused at the cap */
	size_t bomb = (size_t)WA_BIN_MAX_STANZA + (1 << 20);
	uint8_t *zeros = calloc(1, bomb);
	z = zdeflate(zeros, bomb, &zlen);
	CHECK(zlen < 64 * 1024);
	back = NULL;
	CHECK_EQ_INT(wa_bin_decode(z, zlen, &back), WA_EBIN_INFLATE);
	free(z);
	/* exactly at the cap inflates, then fails as a node (zeros are S = 0) */
	z = zdeflate(zeros, WA_BIN_MAX_STANZA, &zlen);
	CHECK_EQ_INT(wa_bin_decode(z, zlen, &back), WA_EMALFORMED);
	uint8_t *out;
	size_t out_len;
	CHECK_EQ_INT(wa_bin_inflate(z + 1, zlen - 1, WA_BIN_MAX_STANZA, &out, &out_len), 0);
	CHECK_EQ_INT(out_len, WA_BIN_MAX_STANZA);
	free(out);
	CHECK_EQ_INT(wa_bin_inflate(z + 1, zlen - 1, WA_BIN_MAX_STANZA - 1, &out, &out_len), WA_EBIN_INFLATE);
	free(z);
	free(zeros);
}

static void put(uint8_t **p, size_t *len, size_t *cap, const void *src, size_t n)
{
	while (*len + n > *cap) {
		*cap = *cap ? *cap * 2 : 1024;
		*p = realloc(*p, *cap);
	}
	memcpy(*p + *len, src, n);
	*len += n;
}

static void test_limits(void)
{
	/* depth: 128 nested nodes decode, 129 do not */
	for (int depth = WA_BIN_MAX_DEPTH; depth <= WA_BIN_MAX_DEPTH + 1; depth++) {
		uint8_t *b = NULL;
		size_t len = 0, cap = 0;
		put(&b, &len, &cap, "\x00", 1);
		for (int i = 0; i < depth - 1; i++)
			put(&b, &len, &cap, "\xf8\x02\x19\xf8\x01", 5);
		put(&b, &len, &cap, "\xf8\x01\x19", 3);
		wa_node *n = NULL;
		CHECK_EQ_INT(wa_bin_decode(b, len, &n), depth == WA_BIN_MAX_DEPTH ? 0 : WA_EDEPTH);
		wa_node_free(n);
		free(b);
	}

	/* attribute count: S = 1 + 2 * 257 */
	{
		uint8_t *b = NULL;
		size_t len = 0, cap = 0;
		uint16_t s = 1 + 2 * (WA_BIN_MAX_ATTRS + 1);
		uint8_t hdr[4] = { 0x00, 0xF9, (uint8_t)(s >> 8), (uint8_t)s };
		put(&b, &len, &cap, hdr, 4);
		put(&b, &len, &cap, "\x19", 1);
		wa_node *n = NULL;
		CHECK_EQ_INT(wa_bin_decode(b, len, &n), WA_ETOOBIG); /* refused before reading them */
		free(b);
	}

	/* duplicate keys among many attributes (the hashed path): keys are
	 * single-byte tokens 1..N, the last one repeating an earlier key */
	for (int dup = 0; dup <= 1; dup++) {
		uint8_t b[5 + 2 * 200];
		size_t len = 0;
		int na = 200;
		uint16_t sz = (uint16_t)(1 + 2 * na);
		b[len++] = 0x00;
		b[len++] = 0xF9;
		b[len++] = (uint8_t)(sz >> 8);
		b[len++] = (uint8_t)sz;
		b[len++] = 0x19;
		for (int a = 0; a < na; a++) {
			b[len++] = (uint8_t)(dup && a == na - 1 ? 17 : 1 + a); /* key */
			b[len++] = 0x19;                                       /* value "iq" */
		}
		wa_node *n = NULL;
		CHECK_EQ_INT(wa_bin_decode(b, len, &n), dup ? WA_EMALFORMED : 0);
		CHECK(dup || (n && wa_node_n_attrs(n) == (size_t)na));
		wa_node_free(n);
	}

	/* total node count: 5 children holding 65535 empty children each */
	{
		uint8_t *b = NULL;
		size_t len = 0, cap = 0;
		put(&b, &len, &cap, "\x00\xf8\x02\x19\xf8\x05", 6);
		for (int c = 0; c < 5; c++) {
			put(&b, &len, &cap, "\xf8\x02\x19\xf9\xff\xff", 6);
			for (int i = 0; i < 65535; i++)
				put(&b, &len, &cap, "\xf8\x01\x19", 3);
		}
		wa_node *n = NULL;
		CHECK_EQ_INT(wa_bin_decode(b, len, &n), WA_ETOOBIG);
		/* while 3 such children (196,609 nodes) are fine */
		b[5] = 3;
		len = 6 + 3 * (6 + 65535 * 3);
		CHECK_EQ_INT(wa_bin_decode(b, len, &n), 0);
		CHECK(n && wa_node_n_children(n) == 3 && wa_node_n_children(wa_node_child_at(n, 2)) == 65535);
		wa_node_free(n);
		free(b);
	}

	/* decoded-size budget: 2-byte tokens expand to long strings. Nodes of
	 * 256 attributes whose values are the longest double-byte token. */
	{
		int ld = 0, li = 0;
		for (int d = 0; d < WA_BIN_DICTS; d++)
			for (int i = 0; i < WA_BIN_DICT_TOKENS; i++)
				if (wa_bin_double_token_len[d][i] > wa_bin_double_token_len[ld][li])
					ld = d, li = i;
		size_t per_attr = 2 + 1 + wa_bin_double_token_len[ld][li] + 1; /* key "NN"-ish + value */
		size_t per_node = WA_BIN_MAX_ATTRS * per_attr;
		size_t nodes = (size_t)WA_BIN_MAX_DECODED / per_node + 2;
		CHECK(nodes < 65535);
		uint8_t *b = NULL;
		size_t len = 0, cap = 0;
		uint8_t hdr[8] = { 0x00, 0xF8, 0x02, 0x19, 0xF9, (uint8_t)(nodes >> 8), (uint8_t)nodes };
		put(&b, &len, &cap, hdr, 7);
		uint16_t s = 1 + 2 * WA_BIN_MAX_ATTRS;
		for (size_t k = 0; k < nodes; k++) {
			uint8_t nh[4] = { 0xF9, (uint8_t)(s >> 8), (uint8_t)s, 0x19 };
			put(&b, &len, &cap, nh, 4);
			for (int a = 0; a < WA_BIN_MAX_ATTRS; a++) {
				/* distinct keys: packed two-digit numbers "00".."255" */
				char key[4];
				int kl = snprintf(key, sizeof key, "%d", a);
				uint8_t kb[4] = { 0xFF, (uint8_t)((kl + 1) / 2 | (kl % 2 ? 0x80 : 0)) };
				uint8_t packed[8] = { 0 }; /* kl <= 3; sized for what snprintf could return */
				for (int c = 0; c < kl + (kl % 2); c++) {
					int nib = c < kl ? key[c] - '0' : 0xF;
					packed[c / 2] |= (uint8_t)(c % 2 ? nib : nib << 4);
				}
				put(&b, &len, &cap, kb, 2);
				put(&b, &len, &cap, packed, (size_t)(kl + 1) / 2);
				uint8_t vb[2] = { (uint8_t)(0xEC + ld), (uint8_t)li };
				put(&b, &len, &cap, vb, 2);
			}
		}
		CHECK(len < WA_BIN_MAX_STANZA);
		wa_node *n = NULL;
		CHECK_EQ_INT(wa_bin_decode(b, len, &n), WA_ETOOBIG);
		free(b);
	}

	/* body size cap */
	{
		size_t len = (size_t)WA_BIN_MAX_STANZA + 2;
		uint8_t *b = calloc(1, len);
		wa_node *n = NULL;
		CHECK_EQ_INT(wa_bin_decode(b, len, &n), WA_ETOOBIG);
		CHECK_EQ_INT(wa_bin_decode_body(b, len - 1, &n), WA_ETOOBIG);
		free(b);
	}
}

/* Lenient where both reference decoders are (documented in decode.c). */
static void test_tolerated(void)
{
	static const struct {
		const char *hex, *json;
	} ok[] = {
		/* BINARY_20 whose top 4 bits are set: the length uses the low 20 */
		{ "00f80219fdf00003414243", "{'tag':'iq','content':{'base64':'QUJD'}}" },
		/* non-minimal sizes */
		{ "00f90002 19fd000003414243", "{'tag':'iq','content':{'base64':'QUJD'}}" },
		{ "00f80219f800", "{'tag':'iq','content':[]}" },
		{ "00f80219f90001f80156", "{'tag':'iq','content':[{'tag':'ping'}]}" },
		/* LIST_EMPTY as an attribute value and key is the empty string */
		{ "00f803190800", "{'tag':'iq','attrs':{'id':''}}" },
		{ "00f803190008", "{'tag':'iq','attrs':{'':'id'}}" },
		/* string content as token, packed and JID; a JID tag */
		{ "00f8021956", "{'tag':'iq','content':'ping'}" },
		{ "00f80219ff0112", "{'tag':'iq','content':'12'}" },
		{ "00f80219fa0003", "{'tag':'iq','content':'@s.whatsapp.net'}" },
		{ "00f801fa0003", "{'tag':'@s.whatsapp.net'}" },
		/* HEX_8 ending in the digit F (even count) */
		{ "00f80219fb01af", "{'tag':'iq','content':'AF'}" },
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		wa_node *n = NULL, *want = js(ok[i].json);
		int rc = dec_hex(ok[i].hex, &n);
		CHECK_EQ_INT(rc, 0);
		if (n && !wa_node_equal(n, want)) {
			fprintf(stderr, "tolerated case %zu decodes differently\n", i);
			print_node("got", n);
			print_node("want", want);
			check_failures++;
		}
		wa_node_free(n);
		wa_node_free(want);
	}
}

int main(void)
{
	test_must_fail();
	test_every_prefix();
	test_inflate();
	test_limits();
	test_tolerated();
	return check_exit("test_binary_decode");
}
