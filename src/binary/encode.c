/* Binary node encoder. Every choice below mirrors Baileys 7.0.0-rc14
 * (lib/WABinary/encode.js, encodeBinaryNode), so that our bytes are the bytes
 * Baileys would send; tests/interop checks it over a large random corpus.
 *
 * String choice order (writeString): "" -> BINARY_8 of length 0; a token ->
 * its index (EC+d, index for the double-byte dictionaries); 1-127 chars of
 * [0-9.-] -> NIBBLE_8; 1-127 chars of [0-9A-F] -> HEX_8; a JID (jid.h) ->
 * its JID form; anything else -> BINARY_8/20/32 of the UTF-8 bytes. */
#include "binary/encode.h"

#include <stdlib.h>
#include <string.h>

#include "binary/jid.h"
#include "binary/limits.h"
#include "binary/node_priv.h"
#include "binary/tags.h"
#include "binary/tokens.h"


static void write_byte_length(wa_writer *wr, size_t len)
{
	if (len >= (size_t)1 << 20) {
		(void)wa_wr_u8(wr, TAG_BINARY_32);
		(void)wa_wr_u32be(wr, (uint32_t)len); /* len <= WA_BIN_MAX_STANZA */
	} else if (len >= 256) {
		(void)wa_wr_u8(wr, TAG_BINARY_20);
		(void)wa_wr_u24be(wr, (uint32_t)len); /* top 4 bits 0, as Baileys */
	} else {
		(void)wa_wr_u8(wr, TAG_BINARY_8);
		(void)wa_wr_u8(wr, (uint8_t)len);
	}
}

static void write_raw(wa_writer *wr, const void *p, size_t len)
{
	write_byte_length(wr, len);
	(void)wa_wr_bytes(wr, p, len);
}

static int nibble_of(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c == '-')
		return 10;
	if (c == '.')
		return 11;
	return -1;
}

static int hex_of(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	/* uppercase only: Baileys' isHex refuses lowercase (its packHex would
	 * take it, but is never reached for it) */
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Packs s as NIBBLE_8 or HEX_8 if every character fits; returns whether it did. */
static bool try_packed(wa_writer *wr, const char *s, size_t len, uint8_t tag, int (*val)(char))
{
	if (len == 0 || len > WA_BIN_MAX_PACKED)
		return false;
	for (size_t i = 0; i < len; i++)
		if (val(s[i]) < 0)
			return false;
	size_t k = (len + 1) / 2;
	(void)wa_wr_u8(wr, tag);
	(void)wa_wr_u8(wr, (uint8_t)(k | (len % 2 ? 0x80 : 0)));
	uint8_t *d = wa_wr_reserve(wr, k);
	if (!d)
		return true;
	for (size_t i = 0; i < k; i++) {
		int hi = val(s[2 * i]);
		int lo = 2 * i + 1 < len ? val(s[2 * i + 1]) : 0xF; /* pad nibble */
		d[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

static bool try_token(wa_writer *wr, const char *s, size_t len)
{
	int dict;
	uint8_t index;
	if (wa_bin_token_lookup(s, len, &dict, &index) != 0)
		return false;
	if (dict != WA_BIN_TOKEN_SINGLE)
		(void)wa_wr_u8(wr, (uint8_t)(TAG_DICTIONARY_0 + dict));
	(void)wa_wr_u8(wr, index);
	return true;
}

/* A string that is never a JID (JID parts, which hold no '@'). */
static void write_plain(wa_writer *wr, const char *s, size_t len)
{
	if (len == 0) {
		write_raw(wr, s, 0);
		return;
	}
	if (try_token(wr, s, len) || try_packed(wr, s, len, TAG_NIBBLE_8, nibble_of) ||
	    try_packed(wr, s, len, TAG_HEX_8, hex_of))
		return;
	write_raw(wr, s, len);
}

static void write_jid(wa_writer *wr, const struct wa_bin_jid_view *v)
{
	switch (v->kind) {
	case WA_JID_PAIR:
		(void)wa_wr_u8(wr, TAG_JID_PAIR);
		if (v->user_len)
			write_plain(wr, v->user, v->user_len);
		else
			(void)wa_wr_u8(wr, TAG_LIST_EMPTY);
		write_plain(wr, v->server, v->server_len);
		break;
	case WA_JID_AD:
		/* any explicit device, even 0, selects AD_JID (Baileys' writeJid);
		 * the user goes through writeString, so "" is FC 00 here */
		(void)wa_wr_u8(wr, TAG_AD_JID);
		(void)wa_wr_u8(wr, v->domain);
		(void)wa_wr_u8(wr, (uint8_t)v->device);
		write_plain(wr, v->user, v->user_len);
		break;
	case WA_JID_FB:
		(void)wa_wr_u8(wr, TAG_FB_JID);
		write_plain(wr, v->user, v->user_len);
		(void)wa_wr_u16be(wr, v->device);
		write_plain(wr, v->server, v->server_len);
		break;
	case WA_JID_INTEROP:
		(void)wa_wr_u8(wr, TAG_INTEROP_JID);
		write_plain(wr, v->user, v->user_len);
		(void)wa_wr_u16be(wr, v->device);
		(void)wa_wr_u16be(wr, v->integrator);
		write_plain(wr, v->server, v->server_len);
		break;
	}
}

static void write_string(wa_writer *wr, const char *s, size_t len)
{
	int dict;
	uint8_t index;
	struct wa_bin_jid_view v;
	/* a string with '@' never packs, so only the token test comes first */
	if (len && memchr(s, '@', len) && wa_bin_token_lookup(s, len, &dict, &index) != 0 &&
	    wa_bin_jid_scan(s, len, &v) == 0)
		write_jid(wr, &v);
	else
		write_plain(wr, s, len);
}

static void write_list_start(wa_writer *wr, size_t n)
{
	if (n == 0) {
		(void)wa_wr_u8(wr, TAG_LIST_EMPTY);
	} else if (n < 256) {
		(void)wa_wr_u8(wr, TAG_LIST_8);
		(void)wa_wr_u8(wr, (uint8_t)n);
	} else {
		(void)wa_wr_u8(wr, TAG_LIST_16);
		(void)wa_wr_u16be(wr, (uint16_t)n);
	}
}

static int encode_node(wa_writer *wr, const wa_node *n, int depth)
{
	if (depth > WA_BIN_MAX_DEPTH)
		return WA_EDEPTH;
	/* the builders keep these within the wire's reach; check anyway since
	 * a silent truncation would corrupt the stream */
	if (n->n_attrs > WA_BIN_MAX_ATTRS ||
	    (n->kind == WA_NODE_LIST && n->c.list.n > WA_BIN_MAX_CHILDREN))
		return WA_ETOOBIG;
	write_list_start(wr, 1 + 2 * n->n_attrs + (n->kind != WA_NODE_NONE));
	write_string(wr, n->tag, n->tag_len);
	for (size_t i = 0; i < n->n_attrs; i++) {
		write_string(wr, n->attrs[i].key, n->attrs[i].key_len);
		write_string(wr, n->attrs[i].value, n->attrs[i].value_len);
	}
	switch (n->kind) {
	case WA_NODE_NONE:
		break;
	case WA_NODE_STRING:
		write_string(wr, n->c.str.s, n->c.str.len);
		break;
	case WA_NODE_BYTES:
		write_raw(wr, n->c.bytes.p, n->c.bytes.len);
		break;
	case WA_NODE_LIST:
		write_list_start(wr, n->c.list.n);
		for (size_t i = 0; i < n->c.list.n; i++) {
			int rc = encode_node(wr, n->c.list.v[i], depth + 1);
			if (rc)
				return rc;
		}
		break;
	}
	return wa_wr_error(wr);
}

int wa_bin_encode_body(wa_writer *wr, const wa_node *n)
{
	int rc = encode_node(wr, n, 1);
	return rc ? rc : wa_wr_error(wr);
}

int wa_bin_encode(const wa_node *n, uint8_t **out, size_t *out_len)
{
	wa_writer wr;
	wa_writer_init(&wr, (size_t)WA_BIN_MAX_STANZA + 1);
	(void)wa_wr_u8(&wr, 0x00); /* flags: uncompressed, as both clients send */
	int rc = wa_bin_encode_body(&wr, n);
	if (rc) {
		wa_writer_clear(&wr, false);
		return rc;
	}
	*out = wa_writer_steal(&wr, out_len);
	return 0;
}
