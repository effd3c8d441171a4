/* Fuzz target: the frame decoder, intro header included. Input byte 0
 * picks client/server mode and a chunk size; the rest is decoded once
 * whole and once in chunks, and both runs must agree on every frame and on
 * the final error (a differential check of resumability). */
#include <stdlib.h>
#include <string.h>

#include "noise/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct result {
	wa_writer frames;
	int err;
};

static void decode(const uint8_t *in, size_t len, enum wa_frame_mode mode, size_t chunk,
	struct result *res)
{
	wa_frame_dec *d = NULL;
	wa_writer_init(&res->frames, 1u << 25);
	res->err = 0;
	/* a small cap so the over-limit path is reachable */
	if (wa_frame_dec_new(&d, mode, 4096) != 0)
		abort();
	size_t off = 0;
	while (off < len && res->err == 0) {
		size_t n = len - off < chunk ? len - off : chunk;
		const uint8_t *p = in + off;
		off += n;
		while (n) {
			size_t used = 0;
			const uint8_t *f;
			size_t fl;
			int rc = wa_frame_decode(d, p, n, &used, &f, &fl);
			if (used > n)
				abort();
			if (rc < 0) {
				res->err = rc;
				if (wa_frame_dec_error_reason(d) == NULL)
					abort();
				break;
			}
			if (rc == 0 && used != n)
				abort();
			if (rc == 1 && (fl > 4096 || wa_frame_write(&res->frames, f, fl) != 0))
				abort();
			p += used;
			n -= used;
		}
	}
	wa_frame_dec_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	enum wa_frame_mode mode = (data[0] & 1) ? WA_FRAME_SERVER : WA_FRAME_CLIENT;
	size_t chunk = 1 + (data[0] >> 1);
	data++;
	size--;
	struct result whole, chunked;
	decode(data, size, mode, size ? size : 1, &whole);
	decode(data, size, mode, chunk, &chunked);
	if (whole.err != chunked.err || whole.frames.len != chunked.frames.len ||
	    (whole.frames.len && memcmp(whole.frames.p, chunked.frames.p, whole.frames.len) != 0))
		abort();
	wa_writer_clear(&whole.frames, false);
	wa_writer_clear(&chunked.frames, false);
	return 0;
}
