/* Frame codec (frame.h): intro header and 3-byte-length framing, with a
 * resumable decoder. Every partial item (header bytes, length bytes, body)
 * keeps its own count, so a split at any offset resumes exactly where it
 * stopped; whatsmeow's framesocket.go miscounts a split right after the
 * length prefix, which is the bug this layout rules out. */
#include "noise/frame.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

const uint8_t wa_noise_intro_header[WA_NOISE_INTRO_LEN] = { 'W', 'A', 6, WA_NOISE_DICT_VERSION };
/* Baileys' routing prefix: "ED", then 00 01 (as Baileys noise-handler.ts). */
static const uint8_t ed_magic[4] = { 'E', 'D', 0, 1 };

enum dec_state {
	D_INTRO,    /* server: first 4 bytes, WA header or ED prefix */
	D_ED_LEN,   /* server: 24-bit routing length after ED 00 01 */
	D_ROUTING,  /* server: skipping routing bytes */
	D_INTRO2,   /* server: WA header after the routing bytes */
	D_LEN,      /* 3-byte frame length */
	D_BODY,     /* frame payload */
	D_FAILED,
};

struct wa_frame_dec {
	enum dec_state state;
	int err;
	const char *reason;
	size_t max_frame;
	uint8_t small[WA_NOISE_INTRO_LEN]; /* partial intro / length bytes */
	size_t small_have;
	size_t routing_len, routing_left;
	int dict_version;
	uint8_t *buf;      /* body being reassembled; grows as bytes arrive */
	size_t cap, have, need;
	bool buf_holds_frame; /* buf's content was returned and may be reused */
};

int wa_frame_write_intro(wa_writer *wr, const uint8_t *routing, size_t routing_len)
{
	if (routing_len > WA_NOISE_MAX_ROUTING)
		return WA_ETOOBIG;
	if (routing_len) {
		wa_wr_bytes(wr, ed_magic, sizeof ed_magic);
		wa_wr_u24be(wr, (uint32_t)routing_len);
		wa_wr_bytes(wr, routing, routing_len);
	}
	wa_wr_bytes(wr, wa_noise_intro_header, sizeof wa_noise_intro_header);
	return wa_wr_error(wr);
}

int wa_frame_write(wa_writer *wr, const uint8_t *payload, size_t len)
{
	if (len > WA_NOISE_MAX_FRAME)
		return WA_ETOOBIG;
	wa_wr_u24be(wr, (uint32_t)len);
	wa_wr_bytes(wr, payload, len);
	return wa_wr_error(wr);
}

int wa_frame_dec_new(wa_frame_dec **out, enum wa_frame_mode mode, size_t max_frame)
{
	if (max_frame == 0 || max_frame > WA_NOISE_MAX_FRAME ||
	    (mode != WA_FRAME_CLIENT && mode != WA_FRAME_SERVER))
		return WA_EINVAL;
	wa_frame_dec *d = calloc(1, sizeof *d);
	if (!d)
		return WA_ENOMEM;
	d->state = mode == WA_FRAME_SERVER ? D_INTRO : D_LEN;
	d->max_frame = max_frame;
	d->dict_version = -1;
	*out = d;
	return 0;
}

void wa_frame_dec_free(wa_frame_dec *d)
{
	if (!d)
		return;
	if (d->buf) {
		sodium_memzero(d->buf, d->cap);
		free(d->buf);
	}
	sodium_memzero(d, sizeof *d);
	free(d);
}

int wa_frame_dec_dict_version(const wa_frame_dec *d) { return d->dict_version; }
size_t wa_frame_dec_routing_len(const wa_frame_dec *d) { return d->routing_len; }
int wa_frame_dec_intro(const wa_frame_dec *d, uint8_t out[static WA_NOISE_INTRO_LEN])
{
	if (d->dict_version < 0)
		return WA_ESTATE;
	out[0] = 'W';
	out[1] = 'A';
	out[2] = 6;
	out[3] = (uint8_t)d->dict_version;
	return 0;
}

const char *wa_frame_dec_error_reason(const wa_frame_dec *d) { return d->state == D_FAILED ? d->reason : NULL; }

static int fail(wa_frame_dec *d, int err, const char *reason)
{
	d->state = D_FAILED;
	d->err = err;
	d->reason = reason;
	return err;
}

/* Moves up to want - small_have bytes into d->small; true when full. */
static bool fill_small(wa_frame_dec *d, size_t want, const uint8_t *in, size_t in_len, size_t *pos)
{
	size_t take = want - d->small_have;
	if (take > in_len - *pos)
		take = in_len - *pos;
	memcpy(d->small + d->small_have, in + *pos, take);
	d->small_have += take;
	*pos += take;
	if (d->small_have < want)
		return false;
	d->small_have = 0;
	return true;
}

static bool is_wa_header(const uint8_t b[4])
{
	/* any dictionary version is accepted here; the caller decides */
	return b[0] == 'W' && b[1] == 'A' && b[2] == 6;
}

int wa_frame_decode(wa_frame_dec *d, const uint8_t *in, size_t in_len, size_t *consumed,
	const uint8_t **frame, size_t *frame_len)
{
	size_t pos = 0;
	*consumed = 0;
	if (d->state == D_FAILED)
		return d->err;
	if (d->buf_holds_frame) {
		d->buf_holds_frame = false;
		d->have = 0;
	}
	while (pos < in_len) {
		switch (d->state) {
		case D_INTRO:
			if (!fill_small(d, 4, in, in_len, &pos))
				break;
			if (memcmp(d->small, ed_magic, 4) == 0) {
				d->state = D_ED_LEN;
			} else if (is_wa_header(d->small)) {
				d->dict_version = d->small[3];
				d->state = D_LEN;
			} else {
				*consumed = pos;
				return fail(d, WA_ENOISE_HEADER, "intro is neither 'WA' 06 nor 'ED' 00 01");
			}
			break;
		case D_ED_LEN:
			if (!fill_small(d, 3, in, in_len, &pos))
				break;
			d->routing_len = (size_t)d->small[0] << 16 | (size_t)d->small[1] << 8 | d->small[2];
			if (d->routing_len > WA_NOISE_MAX_ROUTING) {
				*consumed = pos;
				return fail(d, WA_ETOOBIG, "routing prefix longer than WA_NOISE_MAX_ROUTING");
			}
			d->routing_left = d->routing_len;
			d->state = d->routing_left ? D_ROUTING : D_INTRO2;
			break;
		case D_ROUTING: {
			size_t take = in_len - pos < d->routing_left ? in_len - pos : d->routing_left;
			pos += take;
			d->routing_left -= take;
			if (!d->routing_left)
				d->state = D_INTRO2;
			break;
		}
		case D_INTRO2:
			if (!fill_small(d, 4, in, in_len, &pos))
				break;
			if (!is_wa_header(d->small)) {
				*consumed = pos;
				return fail(d, WA_ENOISE_HEADER, "no 'WA' 06 header after the routing prefix");
			}
			d->dict_version = d->small[3];
			d->state = D_LEN;
			break;
		case D_LEN: {
			if (!fill_small(d, 3, in, in_len, &pos))
				break;
			size_t n = (size_t)d->small[0] << 16 | (size_t)d->small[1] << 8 | d->small[2];
			if (n > d->max_frame) {
				*consumed = pos;
				return fail(d, WA_ETOOBIG, "frame length over the decoder's limit");
			}
			d->need = n;
			d->have = 0;
			d->state = D_BODY;
			/* Whole frame present in this chunk: hand it out in place. */
			if (n <= in_len - pos) {
				*frame = in + pos;
				*frame_len = n;
				pos += n;
				*consumed = pos;
				d->state = D_LEN;
				return 1;
			}
			break;
		}
		case D_BODY: {
			size_t left = d->need - d->have;
			size_t take = in_len - pos < left ? in_len - pos : left;
			if (d->have + take > d->cap) {
				/* Grow with the bytes that actually arrived, never from
				 * the peer's length alone (STYLE §4). */
				size_t ncap = d->cap ? d->cap : 256;
				while (ncap < d->have + take)
					ncap *= 2;
				if (ncap > d->need)
					ncap = d->need;
				uint8_t *nb = malloc(ncap);
				if (!nb) {
					*consumed = pos;
					return fail(d, WA_ENOMEM, "out of memory buffering a frame");
				}
				if (d->buf) {
					memcpy(nb, d->buf, d->have);
					sodium_memzero(d->buf, d->cap);
					free(d->buf);
				}
				d->buf = nb;
				d->cap = ncap;
			}
			if (take)
				memcpy(d->buf + d->have, in + pos, take);
			d->have += take;
			pos += take;
			if (d->have == d->need) {
				*frame = d->buf; /* need > 0 here: empty frames return from D_LEN */
				*frame_len = d->need;
				*consumed = pos;
				d->state = D_LEN;
				d->buf_holds_frame = true;
				return 1;
			}
			break;
		}
		case D_FAILED:
			*consumed = pos;
			return d->err;
		}
	}
	*consumed = pos;
	return 0;
}
