/* Bounded byte reader and capped growable writer: the only way libwa code
 * touches bytes from the network, disk or API. Reads never pass the end;
 * writes never grow past the cap given at init. */
#ifndef WA_UTIL_BUF_H
#define WA_UTIL_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wa/wa.h"

/* A read cursor over borrowed bytes (caller keeps them alive). */
typedef struct wa_reader {
	const uint8_t *p;
	size_t len;
	size_t off;
} wa_reader;

static inline void wa_reader_init(wa_reader *rd, const void *p, size_t len)
{
	rd->p = (const uint8_t *)p;
	rd->len = len;
	rd->off = 0;
}

static inline size_t wa_reader_left(const wa_reader *rd) { return rd->len - rd->off; }

/* Each getter returns 0, or WA_ETRUNCATED leaving the cursor where it was. */
int wa_rd_u8(wa_reader *rd, uint8_t *out) WA_MUST_CHECK;
int wa_rd_u16be(wa_reader *rd, uint16_t *out) WA_MUST_CHECK;
int wa_rd_u24be(wa_reader *rd, uint32_t *out) WA_MUST_CHECK;
int wa_rd_u32be(wa_reader *rd, uint32_t *out) WA_MUST_CHECK;
/* *out points into the reader's buffer (borrowed). */
int wa_rd_bytes(wa_reader *rd, size_t n, const uint8_t **out) WA_MUST_CHECK;
int wa_rd_copy(wa_reader *rd, void *dst, size_t n) WA_MUST_CHECK;
int wa_rd_skip(wa_reader *rd, size_t n) WA_MUST_CHECK;

/* A growable output buffer with a hard cap. After any failed write the
 * writer is "failed" (sticky): later writes are no-ops and wa_wr_error()
 * returns the first error, so encoders may check once at the end. */
typedef struct wa_writer {
	uint8_t *p;
	size_t len;
	size_t cap;     /* allocated */
	size_t max;     /* hard limit on len */
	int err;        /* first error, sticky */
} wa_writer;

void wa_writer_init(wa_writer *wr, size_t max);
/* Frees the buffer (scrubbing it first when scrub is true). */
void wa_writer_clear(wa_writer *wr, bool scrub);
/* Hands the buffer to the caller (free with free()); the writer is reset. */
uint8_t *wa_writer_steal(wa_writer *wr, size_t *len_out);

int wa_wr_u8(wa_writer *wr, uint8_t v);
int wa_wr_u16be(wa_writer *wr, uint16_t v);
int wa_wr_u24be(wa_writer *wr, uint32_t v);
int wa_wr_u32be(wa_writer *wr, uint32_t v);
int wa_wr_bytes(wa_writer *wr, const void *p, size_t n);
/* Reserves n bytes and returns a pointer to them (NULL on failure). */
uint8_t *wa_wr_reserve(wa_writer *wr, size_t n);
static inline int wa_wr_error(const wa_writer *wr) { return wr->err; }

#endif
