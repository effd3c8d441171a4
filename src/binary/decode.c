/* Binary node decoder (see decode.h for the contract). The layout follows
 * Baileys' decodeDecompressedBinaryNode and whatsmeow's binary/decoder.go;
 * unlike both, every count, length and depth is bounded, every item's type is
 * checked (whatsmeow panics on F8 01 00), and arrays grow only as items
 * actually arrive, never from a count read off the wire. */
#include "binary/decode.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "binary/jid.h"
#include "binary/limits.h"
#include "binary/node_priv.h"
#include "binary/tags.h"
#include "binary/tokens.h"
#include "util/buf.h"


struct dec {
	wa_reader rd;
	size_t budget; /* heap bytes still allowed for strings and payloads */
	size_t nodes;  /* nodes started so far */
};

/* A decoded string: heap, NUL-terminated, counted against the budget. */
struct str {
	char *s;
	size_t len;
};

static int str_alloc(struct dec *d, size_t len, struct str *out)
{
	if (len > WA_BIN_MAX_STRING)
		return WA_ETOOBIG;
	if (len + 1 > d->budget)
		return WA_ETOOBIG;
	char *s = malloc(len + 1);
	if (!s)
		return WA_ENOMEM;
	d->budget -= len + 1;
	s[len] = '\0';
	out->s = s;
	out->len = len;
	return 0;
}

static int str_copy(struct dec *d, const char *p, size_t len, struct str *out)
{
	int rc = str_alloc(d, len, out);
	if (rc == 0 && len)
		memcpy(out->s, p, len);
	return rc;
}

/* Reads the length that follows a BINARY_8/20/32 tag. */
static int read_binary_len(struct dec *d, uint8_t tag, size_t *len)
{
	int rc;
	if (tag == TAG_BINARY_8) {
		uint8_t v;
		rc = wa_rd_u8(&d->rd, &v);
		*len = v;
	} else if (tag == TAG_BINARY_20) {
		uint32_t v;
		/* 20-bit length; the top 4 bits are ignored, as both reference
		 * decoders do (encoders write them as 0) */
		rc = wa_rd_u24be(&d->rd, &v);
		*len = v & 0xFFFFF;
	} else {
		uint32_t v;
		rc = wa_rd_u32be(&d->rd, &v);
		*len = v;
	}
	return rc;
}

static int read_packed(struct dec *d, uint8_t tag, struct str *out)
{
	uint8_t start;
	int rc = wa_rd_u8(&d->rd, &start);
	if (rc)
		return rc;
	size_t k = start & 0x7F;
	bool odd = start & 0x80;
	if (odd && k == 0)
		return WA_EMALFORMED; /* an odd count of zero characters */
	const uint8_t *p;
	rc = wa_rd_bytes(&d->rd, k, &p);
	if (rc)
		return rc;
	size_t n = 2 * k - (odd ? 1 : 0);
	char buf[2 * WA_BIN_MAX_PACKED + 2];
	for (size_t i = 0; i < 2 * k; i++) {
		uint8_t v = (i % 2) ? (p[i / 2] & 0x0F) : (p[i / 2] >> 4);
		if (i == n) {
			/* the dropped last nibble must be the pad (0xF): in HEX_8 it is
			 * otherwise indistinguishable from the digit F */
			if (v != 0xF)
				return WA_EMALFORMED;
			break;
		}
		if (v < 10)
			buf[i] = (char)('0' + v);
		else if (tag == TAG_HEX_8)
			buf[i] = (char)('A' + v - 10);
		else if (v == 10)
			buf[i] = '-';
		else if (v == 11)
			buf[i] = '.';
		else
			return WA_EMALFORMED; /* 0xC-0xE, or a pad in the middle */
	}
	return str_copy(d, buf, n, out);
}

static int read_string(struct dec *d, uint8_t tag, bool allow_jid, struct str *out);

/* A JID part: any string form except a list or another JID. */
static int read_part(struct dec *d, struct str *out)
{
	uint8_t tag;
	int rc = wa_rd_u8(&d->rd, &tag);
	return rc ? rc : read_string(d, tag, false, out);
}

static int read_jid(struct dec *d, uint8_t tag, struct str *out)
{
	struct str user = { 0 }, server = { 0 };
	struct wa_bin_jid_view v = { 0 };
	uint8_t b = 0;
	uint16_t u16 = 0;
	int rc;

	switch (tag) {
	case TAG_JID_PAIR:
		v.kind = WA_JID_PAIR;
		rc = read_part(d, &user);
		if (rc == 0)
			rc = read_part(d, &server);
		if (rc == 0 && server.len == 0)
			rc = WA_EBIN_JID; /* Baileys: "invalid jid pair" */
		break;
	case TAG_AD_JID:
		v.kind = WA_JID_AD;
		rc = wa_rd_u8(&d->rd, &b);
		v.domain = b;
		if (rc == 0)
			rc = wa_rd_u8(&d->rd, &b);
		v.device = b;
		if (rc == 0)
			rc = read_part(d, &user);
		break;
	case TAG_FB_JID:
		v.kind = WA_JID_FB;
		rc = read_part(d, &user);
		if (rc == 0)
			rc = wa_rd_u16be(&d->rd, &u16);
		v.device = u16;
		if (rc == 0)
			rc = read_part(d, &server);
		break;
	default: /* TAG_INTEROP_JID */
		v.kind = WA_JID_INTEROP;
		rc = read_part(d, &user);
		if (rc == 0)
			rc = wa_rd_u16be(&d->rd, &u16);
		v.device = u16;
		if (rc == 0)
			rc = wa_rd_u16be(&d->rd, &u16);
		v.integrator = u16;
		/* Baileys falls back to "interop" when the server string fails to
		 * read; that guess would swallow whatever item follows, so we
		 * require the server. */
		if (rc == 0)
			rc = read_part(d, &server);
		break;
	}
	if (rc)
		goto done;
	v.user = user.s;
	v.user_len = user.len;
	if (v.kind == WA_JID_AD) {
		v.server = wa_jid_domain_server(v.domain);
		v.server_len = strlen(v.server);
	} else {
		v.server = server.s;
		v.server_len = server.len;
	}
	struct str text;
	rc = str_alloc(d, wa_bin_jid_text_len(&v), &text);
	if (rc)
		goto done;
	wa_bin_jid_render(&v, text.s);
	*out = text;
done:
	free(user.s);
	free(server.s);
	return rc;
}

static int read_string(struct dec *d, uint8_t tag, bool allow_jid, struct str *out)
{
	int rc;
	if (tag == TAG_LIST_EMPTY)
		return str_copy(d, "", 0, out); /* "empty / absent" */
	if (tag < WA_BIN_SINGLE_TOKENS)
		return str_copy(d, wa_bin_single_tokens[tag], wa_bin_single_token_len[tag], out);
	if (tag >= TAG_DICTIONARY_0 && tag <= TAG_DICTIONARY_3) {
		uint8_t i;
		rc = wa_rd_u8(&d->rd, &i);
		if (rc)
			return rc;
		int dict = tag - TAG_DICTIONARY_0;
		return str_copy(d, wa_bin_double_tokens[dict][i], wa_bin_double_token_len[dict][i], out);
	}
	switch (tag) {
	case TAG_LIST_8:
	case TAG_LIST_16:
		return WA_ETYPE;
	case TAG_HEX_8:
	case TAG_NIBBLE_8:
		return read_packed(d, tag, out);
	case TAG_BINARY_8:
	case TAG_BINARY_20:
	case TAG_BINARY_32: {
		size_t len;
		const uint8_t *p;
		rc = read_binary_len(d, tag, &len);
		if (rc)
			return rc;
		if (len > WA_BIN_MAX_STRING)
			return WA_ETOOBIG;
		rc = wa_rd_bytes(&d->rd, len, &p);
		if (rc)
			return rc;
		if (!wa_bin_valid_string((const char *)p, len))
			return WA_EMALFORMED;
		return str_copy(d, (const char *)p, len, out);
	}
	case TAG_JID_PAIR:
	case TAG_AD_JID:
	case TAG_FB_JID:
	case TAG_INTEROP_JID:
		return allow_jid ? read_jid(d, tag, out) : WA_EBIN_JID;
	default:
		return WA_EBIN_TAG; /* F0-F4 */
	}
}

static int read_list_size(struct dec *d, uint8_t tag, size_t *size)
{
	int rc;
	if (tag == TAG_LIST_EMPTY) {
		*size = 0;
		return 0;
	}
	if (tag == TAG_LIST_8) {
		uint8_t v;
		rc = wa_rd_u8(&d->rd, &v);
		*size = v;
		return rc;
	}
	if (tag == TAG_LIST_16) {
		uint16_t v;
		rc = wa_rd_u16be(&d->rd, &v);
		*size = v;
		return rc;
	}
	return tag >= TAG_RESERVED_FIRST && tag <= TAG_RESERVED_LAST ? WA_EBIN_TAG : WA_ETYPE;
}

static int read_node(struct dec *d, int depth, wa_node **out);

static int read_children(struct dec *d, wa_node *n, size_t count, int depth)
{
	n->kind = WA_NODE_LIST;
	for (size_t i = 0; i < count; i++) {
		wa_node *child;
		int rc = read_node(d, depth + 1, &child);
		if (rc)
			return rc;
		/* wa_node_add_child grows the array as children arrive */
		rc = wa_node_add_child(n, child);
		if (rc) {
			wa_node_free(child);
			return rc;
		}
	}
	return 0;
}

static int read_content(struct dec *d, wa_node *n, int depth)
{
	uint8_t tag;
	int rc = wa_rd_u8(&d->rd, &tag);
	if (rc)
		return rc;
	if (tag == TAG_LIST_EMPTY || tag == TAG_LIST_8 || tag == TAG_LIST_16) {
		size_t count;
		rc = read_list_size(d, tag, &count);
		return rc ? rc : read_children(d, n, count, depth);
	}
	if (tag == TAG_BINARY_8 || tag == TAG_BINARY_20 || tag == TAG_BINARY_32) {
		size_t len;
		const uint8_t *p;
		rc = read_binary_len(d, tag, &len);
		if (rc)
			return rc;
		if (len > WA_BIN_MAX_STANZA)
			return WA_ETOOBIG;
		rc = wa_rd_bytes(&d->rd, len, &p);
		if (rc)
			return rc;
		if (len > d->budget)
			return WA_ETOOBIG;
		uint8_t *copy = NULL;
		if (len) {
			copy = malloc(len);
			if (!copy)
				return WA_ENOMEM;
			memcpy(copy, p, len);
		}
		d->budget -= len;
		n->kind = WA_NODE_BYTES;
		n->c.bytes.p = copy;
		n->c.bytes.len = len;
		return 0;
	}
	struct str s;
	rc = read_string(d, tag, true, &s);
	if (rc)
		return rc;
	n->kind = WA_NODE_STRING;
	n->c.str.s = s.s;
	n->c.str.len = s.len;
	return 0;
}

/* FNV-1a: only spreads keys over the duplicate table, no security role. */
static uint32_t key_hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)s[i]) * 16777619u;
	return h;
}

/* Rejects a key already present: a repeated key would mean different things
 * to different parsers (Baileys keeps the last value, wa_node_attr the
 * first). Few attributes: a linear scan. Many: an open-addressing table, so a
 * stanza of many wide nodes costs linear time, not quadratic. */
struct key_set {
	uint16_t slot[2 * WA_BIN_MAX_ATTRS]; /* attribute index + 1; 0 = empty */
	size_t mask;
};

static bool key_seen(const wa_node *n, struct key_set *ks, const char *k, size_t klen)
{
	if (!ks) {
		for (size_t j = 0; j < n->n_attrs; j++)
			if (n->attrs[j].key_len == klen && memcmp(n->attrs[j].key, k, klen) == 0)
				return true;
		return false;
	}
	for (size_t i = key_hash(k, klen) & ks->mask;; i = (i + 1) & ks->mask) {
		uint16_t v = ks->slot[i];
		if (v == 0) {
			ks->slot[i] = (uint16_t)(n->n_attrs + 1); /* the index it is about to get */
			return false;
		}
		const struct wa_node_attr *a = &n->attrs[v - 1];
		if (a->key_len == klen && memcmp(a->key, k, klen) == 0)
			return true;
	}
}

enum { LINEAR_KEY_SCAN_MAX = 8 };

static int read_attrs(struct dec *d, wa_node *n, size_t count)
{
	if (count > WA_BIN_MAX_ATTRS)
		return WA_ETOOBIG;
	struct key_set table, *ks = NULL;
	if (count > LINEAR_KEY_SCAN_MAX) {
		size_t size = 16;
		while (size < 2 * count)
			size *= 2;
		memset(table.slot, 0, size * sizeof table.slot[0]);
		table.mask = size - 1;
		ks = &table;
	}
	for (size_t i = 0; i < count; i++) {
		struct str k, v;
		uint8_t tag;
		int rc = wa_rd_u8(&d->rd, &tag);
		if (rc == 0)
			rc = read_string(d, tag, true, &k);
		if (rc)
			return rc;
		if (key_seen(n, ks, k.s, k.len)) {
			free(k.s);
			return WA_EMALFORMED;
		}
		rc = wa_rd_u8(&d->rd, &tag);
		if (rc == 0)
			rc = read_string(d, tag, true, &v);
		if (rc) {
			free(k.s);
			return rc;
		}
		rc = wa_node_push_attr_owned(n, k.s, k.len, v.s, v.len);
		if (rc) {
			free(k.s);
			free(v.s);
			return rc;
		}
	}
	return 0;
}

static int read_node(struct dec *d, int depth, wa_node **out)
{
	if (depth > WA_BIN_MAX_DEPTH)
		return WA_EDEPTH;
	if (++d->nodes > WA_BIN_MAX_NODES)
		return WA_ETOOBIG;
	uint8_t tag;
	size_t size;
	int rc = wa_rd_u8(&d->rd, &tag);
	if (rc)
		return rc;
	if (tag == TAG_LIST_EMPTY)
		return WA_EMALFORMED; /* a node header of size 0 */
	rc = read_list_size(d, tag, &size);
	if (rc)
		return rc;
	if (size == 0)
		return WA_EMALFORMED;

	rc = wa_rd_u8(&d->rd, &tag);
	if (rc)
		return rc;
	if (tag == TAG_LIST_EMPTY)
		return WA_ETYPE; /* F8 01 00: LIST_EMPTY where the tag belongs */
	struct str t;
	rc = read_string(d, tag, true, &t);
	if (rc)
		return rc;
	if (t.len == 0) {
		free(t.s);
		return WA_EMALFORMED;
	}
	wa_node *n = calloc(1, sizeof *n);
	if (!n) {
		free(t.s);
		return WA_ENOMEM;
	}
	n->tag = t.s;
	n->tag_len = t.len;

	rc = read_attrs(d, n, (size - 1) / 2);
	if (rc == 0 && size % 2 == 0)
		rc = read_content(d, n, depth);
	if (rc) {
		wa_node_free(n);
		return rc;
	}
	*out = n;
	return 0;
}

int wa_bin_decode_body(const uint8_t *p, size_t len, wa_node **out)
{
	if (len > WA_BIN_MAX_STANZA)
		return WA_ETOOBIG;
	struct dec d = { .budget = WA_BIN_MAX_DECODED };
	wa_reader_init(&d.rd, p, len);
	wa_node *n;
	int rc = read_node(&d, 1, &n);
	if (rc)
		return rc;
	if (wa_reader_left(&d.rd) != 0) {
		wa_node_free(n);
		return WA_ETRAILING;
	}
	*out = n;
	return 0;
}

int wa_bin_inflate(const uint8_t *p, size_t len, size_t max, uint8_t **out, size_t *out_len)
{
	if (len > UINT32_MAX || max > UINT32_MAX - 1)
		return WA_ETOOBIG;
	z_stream zs;
	memset(&zs, 0, sizeof zs);
	if (inflateInit(&zs) != Z_OK)
		return WA_ENOMEM;
	/* Room for max + 1 bytes: producing the extra byte proves the stream
	 * is over the limit (a zlib bomb) without inflating any further. */
	size_t limit = max + 1;
	size_t cap = len * 4 < 4096 ? 4096 : len * 4;
	if (cap > limit)
		cap = limit;
	uint8_t *buf = malloc(cap);
	int rc = 0;
	if (!buf) {
		rc = WA_ENOMEM;
		goto done;
	}
	zs.next_in = (Bytef *)(uintptr_t)p;
	zs.avail_in = (uInt)len;
	zs.next_out = buf;
	zs.avail_out = (uInt)cap;
	for (;;) {
		int zr = inflate(&zs, Z_NO_FLUSH);
		if (zr == Z_STREAM_END)
			break;
		if (zr == Z_MEM_ERROR) {
			rc = WA_ENOMEM;
			goto done;
		}
		if (zr != Z_OK && zr != Z_BUF_ERROR) {
			rc = WA_EBIN_INFLATE; /* data error, or a preset dictionary */
			goto done;
		}
		if (zs.avail_out == 0) {
			if (cap == limit) {
				rc = WA_EBIN_INFLATE; /* over max */
				goto done;
			}
			size_t ncap = cap * 2 > limit ? limit : cap * 2;
			uint8_t *nb = realloc(buf, ncap);
			if (!nb) {
				rc = WA_ENOMEM;
				goto done;
			}
			buf = nb;
			zs.next_out = buf + cap;
			zs.avail_out = (uInt)(ncap - cap);
			cap = ncap;
		} else if (zs.avail_in == 0) {
			rc = WA_EBIN_INFLATE; /* the stream is cut short */
			goto done;
		}
	}
	if (zs.total_out > max) {
		rc = WA_EBIN_INFLATE;
		goto done;
	}
	if (zs.avail_in != 0) {
		rc = WA_ETRAILING;
		goto done;
	}
	*out = buf;
	*out_len = zs.total_out;
	buf = NULL;
done:
	free(buf);
	inflateEnd(&zs);
	return rc;
}

int wa_bin_decode(const uint8_t *frame, size_t len, wa_node **out)
{
	if (len == 0)
		return WA_ETRUNCATED;
	if (len - 1 > WA_BIN_MAX_STANZA)
		return WA_ETOOBIG;
	if (!(frame[0] & 0x02))
		return wa_bin_decode_body(frame + 1, len - 1, out);
	uint8_t *body;
	size_t body_len;
	int rc = wa_bin_inflate(frame + 1, len - 1, WA_BIN_MAX_STANZA, &body, &body_len);
	if (rc)
		return rc;
	rc = wa_bin_decode_body(body, body_len, out);
	free(body);
	return rc;
}
