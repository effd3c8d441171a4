/* Streaming HistorySync reader (histsync.h): a byte-at-a-time state
 * machine over protobuf's wire format for the top-level message only;
 * records of interest are gathered into one reused buffer, everything else
 * is skipped as it streams past. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "session/histsync.h"

enum { S_TAG, S_VARINT, S_LEN, S_BODY, S_SKIP };

struct wa_hs_parser {
	wa_hs_cb cb;
	int state;
	int err;
	uint64_t acc;       /* varint being read */
	unsigned shift;
	uint32_t field;
	unsigned wire;
	uint64_t left;      /* S_BODY / S_SKIP: bytes still to come */
	uint8_t *buf;
	size_t cap, len;
	uint64_t counts[16]; /* records seen per field (2, 7, 15 used) */
	uint64_t skip_convs;
};

int wa_hs_parser_new(const wa_hs_cb *cb, uint64_t skip_convs, wa_hs_parser **out)
{
	if (!cb || !out)
		return WA_EINVAL;
	wa_hs_parser *p = calloc(1, sizeof *p);
	if (!p)
		return WA_ENOMEM;
	p->cb = *cb;
	p->skip_convs = skip_convs;
	*out = p;
	return 0;
}

void wa_hs_parser_free(wa_hs_parser *p)
{
	if (!p)
		return;
	free(p->buf);
	free(p);
}

uint64_t wa_hs_parser_convs(const wa_hs_parser *p)
{
	return p->counts[WA_HS_F_CONVERSATION];
}

size_t wa_hs_parser_buffered(const wa_hs_parser *p)
{
	return p->cap;
}

static bool wanted(uint32_t f)
{
	return f == WA_HS_F_CONVERSATION || f == WA_HS_F_PUSHNAME || f == WA_HS_F_LID_MAPPING;
}

/* a varint byte; 1 when the varint ended, 0 when more follow, <0 error */
static int varint_byte(wa_hs_parser *p, uint8_t b)
{
	if (p->shift >= 64 || (p->shift == 63 && (b & 0x7e)))
		return WA_EPROTO;
	p->acc |= (uint64_t)(b & 0x7f) << p->shift;
	p->shift += 7;
	return (b & 0x80) ? 0 : 1;
}

static int start_body(wa_hs_parser *p)
{
	uint64_t n = p->acc;
	uint32_t f = p->field;
	if (!wanted(f) || (f == WA_HS_F_CONVERSATION && p->counts[f] < p->skip_convs)) {
		if (f == WA_HS_F_CONVERSATION)
			p->counts[f]++;
		p->left = n;
		p->state = n ? S_SKIP : S_TAG;
		return 0;
	}
	if (n > WA_HS_MAX_RECORD)
		return WA_ETOOBIG;
	if (n > p->cap) {
		size_t c = p->cap ? p->cap : 4096;
		while (c < n)
			c *= 2;
		uint8_t *nb = realloc(p->buf, c);
		if (!nb)
			return WA_ENOMEM;
		p->buf = nb;
		p->cap = c;
	}
	p->len = 0;
	p->left = n;
	p->state = S_BODY;
	if (n == 0) {
		p->state = S_TAG;
		return p->cb.record ? p->cb.record(p->cb.user, f, p->counts[f]++, p->buf, 0) : (p->counts[f]++, 0);
	}
	return 0;
}

int wa_hs_parser_feed(wa_hs_parser *p, const uint8_t *d, size_t len)
{
	if (p->err)
		return p->err;
	size_t i = 0;
	int rc = 0;
	while (i < len && rc == 0) {
		switch (p->state) {
		case S_TAG:
		case S_VARINT:
		case S_LEN: {
			int r = varint_byte(p, d[i++]);
			if (r < 0) {
				rc = r;
				break;
			}
			if (r == 0)
				break;
			uint64_t v = p->acc;
			p->acc = 0;
			p->shift = 0;
			if (p->state == S_TAG) {
				p->field = (uint32_t)(v >> 3);
				p->wire = (unsigned)(v & 7);
				if (p->field == 0 || v >> 3 > 0x1fffffff) {
					rc = WA_EPROTO;
					break;
				}
				switch (p->wire) {
				case 0: p->state = S_VARINT; break;
				case 2: p->state = S_LEN; break;
				case 1: p->left = 8; p->state = S_SKIP; break;
				case 5: p->left = 4; p->state = S_SKIP; break;
				default: rc = WA_EPROTO; /* groups are not in this schema */
				}
			} else if (p->state == S_VARINT) {
				p->state = S_TAG;
				if (p->cb.scalar && (p->field == WA_HS_F_SYNC_TYPE || p->field == WA_HS_F_CHUNK_ORDER ||
						     p->field == WA_HS_F_PROGRESS))
					rc = p->cb.scalar(p->cb.user, p->field, v);
			} else {
				p->acc = v;
				rc = start_body(p);
				p->acc = 0;
			}
			break;
		}
		case S_SKIP: {
			size_t n = len - i;
			if (n > p->left)
				n = (size_t)p->left;
			i += n;
			p->left -= n;
			if (p->left == 0)
				p->state = S_TAG;
			break;
		}
		case S_BODY: {
			size_t n = len - i;
			if (n > p->left)
				n = (size_t)p->left;
			memcpy(p->buf + p->len, d + i, n);
			p->len += n;
			i += n;
			p->left -= n;
			if (p->left == 0) {
				p->state = S_TAG;
				uint32_t f = p->field;
				uint64_t idx = p->counts[f]++;
				if (p->cb.record)
					rc = p->cb.record(p->cb.user, f, idx, p->buf, p->len);
			}
			break;
		}
		}
	}
	if (rc)
		p->err = rc;
	return rc;
}

int wa_hs_parser_end(wa_hs_parser *p)
{
	if (p->err)
		return p->err;
	return p->state == S_TAG && p->shift == 0 ? 0 : WA_EPROTO;
}

#define HS_ZOUT (64u << 10)

struct wa_hs_inflate {
	z_stream z;
	wa_hs_parser *p;
	bool ended;
	int err;
	uint8_t out[HS_ZOUT];
};

int wa_hs_inflate_new(wa_hs_parser *p, wa_hs_inflate **out)
{
	wa_hs_inflate *z = calloc(1, sizeof *z);
	if (!z)
		return WA_ENOMEM;
	if (inflateInit(&z->z) != Z_OK) {
		free(z);
		return WA_ENOMEM;
	}
	z->p = p;
	*out = z;
	return 0;
}

void wa_hs_inflate_free(wa_hs_inflate *z)
{
	if (!z)
		return;
	inflateEnd(&z->z);
	free(z);
}

int wa_hs_inflate_feed(wa_hs_inflate *z, const uint8_t *data, size_t len)
{
	if (z->err)
		return z->err;
	if (len && z->ended)
		return z->err = WA_EPROTO;
	while (len) {
		/* zlib counts in uInt: feed at most 1 GiB at a time */
		uInt n = len > (1u << 30) ? (1u << 30) : (uInt)len;
		z->z.next_in = (Bytef *)data;
		z->z.avail_in = n;
		do {
			z->z.next_out = z->out;
			z->z.avail_out = HS_ZOUT;
			int r = inflate(&z->z, Z_NO_FLUSH);
			if (r != Z_OK && r != Z_STREAM_END && r != Z_BUF_ERROR)
				return z->err = (r == Z_MEM_ERROR ? WA_ENOMEM : WA_EPROTO);
			size_t got = HS_ZOUT - z->z.avail_out;
			if (got) {
				int rc = wa_hs_parser_feed(z->p, z->out, got);
				if (rc)
					return z->err = rc;
			}
			if (r == Z_STREAM_END) {
				z->ended = true;
				if (z->z.avail_in)
					return z->err = WA_EPROTO;
				break;
			}
			if (r == Z_BUF_ERROR && got == 0)
				break;
		} while (z->z.avail_in || z->z.avail_out == 0);
		data += n - z->z.avail_in;
		len -= n - z->z.avail_in;
		if (z->z.avail_in)
			return z->err = WA_EPROTO; /* unreachable: inflate stalled with input left */
	}
	return 0;
}

int wa_hs_inflate_end(wa_hs_inflate *z)
{
	if (z->err)
		return z->err;
	if (!z->ended)
		return WA_EPROTO;
	return wa_hs_parser_end(z->p);
}
