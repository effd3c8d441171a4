/* Unit tests for src/util: bounded reader edges, capped writer, codecs,
 * errors, the pool of locked slots for secrets. */
#include "check.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/codec.h"
#include "util/secpool.h"

static void test_reader(void)
{
	const uint8_t data[] = { 1, 2, 3, 4, 5, 6, 7 };
	wa_reader rd;
	wa_reader_init(&rd, data, sizeof data);
	uint8_t b;
	uint16_t s;
	uint32_t v;
	CHECK_EQ_INT(wa_rd_u8(&rd, &b), 0);
	CHECK_EQ_INT(b, 1);
	CHECK_EQ_INT(wa_rd_u16be(&rd, &s), 0);
	CHECK_EQ_INT(s, 0x0203);
	CHECK_EQ_INT(wa_rd_u24be(&rd, &v), 0);
	CHECK_EQ_INT(v, 0x040506);
	/* one byte left: a 4-byte read fails and leaves the cursor alone */
	CHECK_EQ_INT(wa_rd_u32be(&rd, &v), WA_ETRUNCATED);
	CHECK_EQ_INT(rd.off, 6);
	const uint8_t *p;
	CHECK_EQ_INT(wa_rd_bytes(&rd, SIZE_MAX, &p), WA_ETRUNCATED);
	CHECK_EQ_INT(wa_rd_bytes(&rd, 1, &p), 0);
	CHECK_EQ_INT(*p, 7);
	CHECK_EQ_INT(wa_reader_left(&rd), 0);
	CHECK_EQ_INT(wa_rd_u8(&rd, &b), WA_ETRUNCATED);
}

static void test_writer(void)
{
	wa_writer wr;
	wa_writer_init(&wr, 6);
	CHECK_EQ_INT(wa_wr_u24be(&wr, 0xABCDEF), 0);
	CHECK_EQ_INT(wa_wr_u16be(&wr, 0x0102), 0);
	CHECK_EQ_INT(wa_wr_u16be(&wr, 0x0304), WA_ETOOBIG);
	/* sticky: later small writes fail too */
	CHECK_EQ_INT(wa_wr_u8(&wr, 9), WA_ETOOBIG);
	CHECK_EQ_INT(wa_wr_error(&wr), WA_ETOOBIG);
	CHECK_EQ_INT(wr.len, 5);
	const uint8_t want[] = { 0xAB, 0xCD, 0xEF, 1, 2 };
	CHECK_EQ_MEM(wr.p, want, 5);
	wa_writer_clear(&wr, true);

	wa_writer_init(&wr, 1 << 20);
	for (int i = 0; i < 100000; i++)
		(void)wa_wr_u8(&wr, (uint8_t)i);
	CHECK_EQ_INT(wa_wr_error(&wr), 0);
	size_t n;
	uint8_t *buf = wa_writer_steal(&wr, &n);
	CHECK_EQ_INT(n, 100000);
	CHECK_EQ_INT(buf[99999], (uint8_t)99999);
	free(buf);
	CHECK(wr.p == NULL);
}

static void test_codecs(void)
{
	const uint8_t raw[] = { 0x00, 0xff, 0x10, 0x80 };
	char *hex = wa_hex_encode(raw, sizeof raw);
	CHECK_EQ_STR(hex, "00ff1080");
	uint8_t *back;
	size_t n;
	CHECK_EQ_INT(wa_hex_decode(hex, strlen(hex), &back, &n), 0);
	CHECK_EQ_INT(n, 4);
	CHECK_EQ_MEM(back, raw, 4);
	free(back);
	free(hex);
	CHECK_EQ_INT(wa_hex_decode("abc", 3, &back, &n), WA_EMALFORMED);
	CHECK_EQ_INT(wa_hex_decode("zz", 2, &back, &n), WA_EMALFORMED);

	char *b64 = wa_b64_encode((const uint8_t *)"hello", 5);
	CHECK_EQ_STR(b64, "aGVsbG8=");
	CHECK_EQ_INT(wa_b64_decode(b64, strlen(b64), &back, &n), 0);
	CHECK_EQ_INT(n, 5);
	CHECK_EQ_MEM(back, "hello", 5);
	free(back);
	free(b64);
	CHECK_EQ_INT(wa_b64_decode("a$==", 4, &back, &n), WA_EMALFORMED);
	/* bytes >= 0x80 that libsodium 1.0.18 would take as digits */
	CHECK_EQ_INT(wa_b64_decode("q5Y\xafRSo=", 8, &back, &n), WA_EMALFORMED);
	for (unsigned c = 0x80; c <= 0xff; c++) {
		char bad[5] = { 'a', 'G', 'V', (char)c, 0 };
		CHECK_EQ_INT(wa_b64_decode(bad, 4, &back, &n), WA_EMALFORMED);
	}
}

static void test_errors(void)
{
	/* every code in the enum range has a name (catches codes added without one) */
	static const int codes[] = {
		WA_OK, WA_ENOMEM, WA_EINVAL, WA_EMALFORMED, WA_ETOOBIG, WA_ESTATE,
		WA_ETRUNCATED, WA_ETRAILING, WA_EDEPTH, WA_ENOTFOUND, WA_EIO, WA_ETYPE,
		WA_EEXIST, WA_ETIMEOUT, WA_EUNSUPPORTED, WA_EBIN_TOKEN, WA_EBIN_TAG, WA_EBIN_JID,
		WA_EBIN_INFLATE, WA_ENOISE_DECRYPT, WA_ENOISE_CERT, WA_ENOISE_HEADER,
		WA_ENOISE_FAILED, WA_ENOISE_NONCE, WA_ECRYPTO, WA_ESIG_VERIFY,
		WA_ESIG_NOSESSION, WA_ESIG_DUPLICATE, WA_ESIG_UNTRUSTED, WA_ESIG_INVALID,
		WA_ESIG_NOPREKEY, WA_EDB, WA_EDB_BUSY, WA_EDB_SCHEMA, WA_EDB_KEY,
		WA_EDB_CORRUPT, WA_EPROTO, WA_ECLOSED, WA_ELOGGED_OUT, WA_EPROXY,
		WA_EMEDIA_MAC, WA_EMEDIA_HASH, WA_EMEDIA_HOST, WA_EMEDIA_GONE, WA_EMEDIA_RETRY,
		WA_EMEDIA_RETRY_KEY, WA_EQR_RENDER,
	};
	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
		CHECK(strcmp(wa_errname(codes[i]), "WA_E?") != 0);
		CHECK(strcmp(wa_strerror(codes[i]), "unknown error") != 0);
	}
	CHECK_EQ_STR(wa_errname(WA_EMALFORMED), "WA_EMALFORMED");
	CHECK_EQ_STR(wa_errname(-9999), "WA_E?");
}

/* Slots share slabs (dozens per slab; test_session_mem counts the
 * mappings), are zeroed when handed out, scrubbed when freed, and a slab
 * goes once its last slot does. */
static void test_secpool(void)
{
	enum { N = 100, SIZE = 2144 };
	static wa_secpool pool = WA_SECPOOL_INIT(SIZE);
	static const uint8_t zero[SIZE];
	uint8_t *p[N];
	for (int i = 0; i < N; i++) {
		p[i] = wa_secpool_alloc(&pool);
		CHECK(p[i] != NULL);
		CHECK(memcmp(p[i], zero, SIZE) == 0);
		memset(p[i], 0xA0 + (i % 16), SIZE);
	}
	size_t slabs = wa_secpool_slabs(&pool);
	CHECK(slabs >= 2 && slabs <= N / 8); /* dozens of slots per slab */
	for (int i = 0; i < N; i++) /* no slot overlaps another */
		for (int j = 0; j < SIZE; j++)
			if (p[i][j] != 0xA0 + (i % 16)) {
				CHECK(!"slot overwritten");
				i = N;
				break;
			}
	/* freed: scrubbed (the slab is still mapped: other slots live) */
	uint8_t *gone = p[3];
	wa_secpool_free(&pool, gone);
	CHECK(memcmp(gone, zero, SIZE) == 0);
	/* and handed out again before a new slab is made */
	p[3] = wa_secpool_alloc(&pool);
	CHECK(p[3] == gone && wa_secpool_slabs(&pool) == slabs);
	for (int i = 0; i < N; i++)
		wa_secpool_free(&pool, p[i]);
	CHECK_EQ_INT(wa_secpool_slabs(&pool), 0);
	wa_secpool_free(&pool, NULL);
	static wa_secpool too_big = WA_SECPOOL_INIT(WA_SECPOOL_MAX_SLOT + 1);
	CHECK(wa_secpool_alloc(&too_big) == NULL);
}

int main(void)
{
	CHECK(sodium_init() >= 0);
	test_secpool();
	test_reader();
	test_writer();
	test_codecs();
	test_errors();
	return check_exit("test_util");
}
