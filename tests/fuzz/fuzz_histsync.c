/* Fuzz target: the streamed HistorySync reader (src/session/histsync.c).
 * First byte: bit 0 picks zlib input (through the inflater) or raw
 * HistorySync bytes; the second byte picks where the input is split. The
 * split read must give exactly what the one-piece read gives (result,
 * records, their bytes, scalars), and a buffered record is never larger
 * than the limit. */
#include <stdlib.h>
#include <string.h>

#include "session/histsync.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct acc {
	uint64_t h, n, scal;
};

static int on_scalar(void *u, uint32_t f, uint64_t v)
{
	struct acc *a = u;
	a->scal = a->scal * 31 + f * 1000003u + v;
	return 0;
}

static int on_record(void *u, uint32_t f, uint64_t index, const uint8_t *p, size_t len)
{
	struct acc *a = u;
	if (len > WA_HS_MAX_RECORD)
		abort();
	a->n++;
	a->h = a->h * 131 + f + index;
	for (size_t i = 0; i < len; i++)
		a->h = a->h * 257 + p[i];
	return 0;
}

static int run(bool z, unsigned skip, const uint8_t *d, size_t n, size_t cut, struct acc *a)
{
	memset(a, 0, sizeof *a);
	wa_hs_cb cb = {.scalar = on_scalar, .record = on_record, .user = a};
	wa_hs_parser *p = NULL;
	wa_hs_inflate *zi = NULL;
	if (wa_hs_parser_new(&cb, skip, &p) != 0)
		return WA_ENOMEM;
	int rc = z ? wa_hs_inflate_new(p, &zi) : 0;
	if (rc == 0)
		rc = z ? wa_hs_inflate_feed(zi, d, cut) : wa_hs_parser_feed(p, d, cut);
	if (rc == 0)
		rc = z ? wa_hs_inflate_feed(zi, d + cut, n - cut) : wa_hs_parser_feed(p, d + cut, n - cut);
	if (rc == 0)
		rc = z ? wa_hs_inflate_end(zi) : wa_hs_parser_end(p);
	wa_hs_inflate_free(zi);
	wa_hs_parser_free(p);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2 || size > 262144)
		return 0;
	bool z = data[0] & 1;
	const uint8_t *d = data + 2;
	size_t n = size - 2;
	size_t cut = n ? (size_t)data[1] * n / 255 : 0;
	unsigned skip = data[0] >> 4;
	struct acc a, b;
	int ra = run(z, skip, data, 0, 0, &a); /* empty input: never a success for zlib */
	if (z && ra == 0)
		abort();
	ra = run(z, skip, d, n, 0, &a);
	int rb = run(z, skip, d, n, cut, &b);
	/* the skip count comes from data[0]'s high bits, outside the fed bytes
	 * (which may be empty): the same in both runs */
	/* a refused input may be refused for a different reason when cut
	 * (a record's declared length seen before its bytes): both must refuse */
	if ((ra == 0) != (rb == 0) || (ra == 0 && (a.h != b.h || a.n != b.n || a.scal != b.scal)))
		abort();
	return 0;
}
