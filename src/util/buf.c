/* Bounded reader / capped writer (see buf.h). Length checks are written as
 * `n > len - off` so they cannot overflow. */
#include "util/buf.h"

#include <stdlib.h>
#include <string.h>
#include <sodium.h>

int wa_rd_bytes(wa_reader *rd, size_t n, const uint8_t **out)
{
	if (n > rd->len - rd->off)
		return WA_ETRUNCATED;
	*out = rd->p + rd->off;
	rd->off += n;
	return 0;
}

int wa_rd_copy(wa_reader *rd, void *dst, size_t n)
{
	const uint8_t *p;
	int rc = wa_rd_bytes(rd, n, &p);
	if (rc == 0 && n)
		memcpy(dst, p, n);
	return rc;
}

int wa_rd_skip(wa_reader *rd, size_t n)
{
	const uint8_t *p;
	return wa_rd_bytes(rd, n, &p);
}

static int rd_be(wa_reader *rd, size_t n, uint32_t *out)
{
	const uint8_t *p;
	int rc = wa_rd_bytes(rd, n, &p);
	if (rc)
		return rc;
	uint32_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = (v << 8) | p[i];
	*out = v;
	return 0;
}

int wa_rd_u8(wa_reader *rd, uint8_t *out)
{
	uint32_t v;
	int rc = rd_be(rd, 1, &v);
	if (!rc)
		*out = (uint8_t)v;
	return rc;
}

int wa_rd_u16be(wa_reader *rd, uint16_t *out)
{
	uint32_t v;
	int rc = rd_be(rd, 2, &v);
	if (!rc)
		*out = (uint16_t)v;
	return rc;
}

int wa_rd_u24be(wa_reader *rd, uint32_t *out) { return rd_be(rd, 3, out); }
int wa_rd_u32be(wa_reader *rd, uint32_t *out) { return rd_be(rd, 4, out); }

void wa_writer_init(wa_writer *wr, size_t max)
{
	memset(wr, 0, sizeof *wr);
	wr->max = max;
}

void wa_writer_clear(wa_writer *wr, bool scrub)
{
	if (wr->p && scrub)
		sodium_memzero(wr->p, wr->cap);
	free(wr->p);
	size_t max = wr->max;
	memset(wr, 0, sizeof *wr);
	wr->max = max;
}

uint8_t *wa_writer_steal(wa_writer *wr, size_t *len_out)
{
	uint8_t *p = wr->p;
	*len_out = wr->len;
	size_t max = wr->max;
	memset(wr, 0, sizeof *wr);
	wr->max = max;
	return p;
}

uint8_t *wa_wr_reserve(wa_writer *wr, size_t n)
{
	if (wr->err)
		return NULL;
	if (n > wr->max - wr->len) {
		wr->err = WA_ETOOBIG;
		return NULL;
	}
	if (n > wr->cap - wr->len) {
		size_t need = wr->len + n;
		size_t cap = wr->cap ? wr->cap : 64;
		while (cap < need)
			cap = cap > SIZE_MAX / 2 ? need : cap * 2;
		if (cap > wr->max)
			cap = wr->max;
		uint8_t *np = realloc(wr->p, cap);
		if (!np) {
			wr->err = WA_ENOMEM;
			return NULL;
		}
		wr->p = np;
		wr->cap = cap;
	}
	uint8_t *at = wr->p + wr->len;
	wr->len += n;
	return at;
}

int wa_wr_bytes(wa_writer *wr, const void *p, size_t n)
{
	uint8_t *at = wa_wr_reserve(wr, n);
	if (!at)
		return wr->err;
	if (n)
		memcpy(at, p, n);
	return 0;
}

static int wr_be(wa_writer *wr, uint32_t v, size_t n)
{
	uint8_t *at = wa_wr_reserve(wr, n);
	if (!at)
		return wr->err;
	for (size_t i = 0; i < n; i++)
		at[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	return 0;
}

int wa_wr_u8(wa_writer *wr, uint8_t v) { return wr_be(wr, v, 1); }
int wa_wr_u16be(wa_writer *wr, uint16_t v) { return wr_be(wr, v, 2); }
int wa_wr_u24be(wa_writer *wr, uint32_t v) { return wr_be(wr, v, 3); }
int wa_wr_u32be(wa_writer *wr, uint32_t v) { return wr_be(wr, v, 4); }
