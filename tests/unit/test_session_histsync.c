/* The streamed HistorySync reader (src/session/histsync.c): a blob built
 * with protobuf-c and zlib is read back with the input split at every
 * byte (raw) and in many chunk sizes (compressed): the same conversations,
 * push names, mappings and scalars come out each time, other fields
 * (status messages) are skipped, only one record is ever buffered, resumed
 * reads skip conversations, and truncated, oversized or corrupt input is
 * refused. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "check.h"
#include "history_sync.pb-c.h"
#include "message.pb-c.h"
#include "session/histsync.h"

#define NCONV 12

struct got {
	uint64_t scal[8];
	char ids[NCONV][64];
	size_t nmsgs[NCONV];
	size_t n_conv, n_push, n_map;
	uint64_t first_index;
	char push[64];
};

static int on_scalar(void *u, uint32_t f, uint64_t v)
{
	struct got *g = u;
	if (f < 8)
		g->scal[f] = v;
	return 0;
}

static int on_record(void *u, uint32_t f, uint64_t index, const uint8_t *p, size_t len)
{
	struct got *g = u;
	if (f == WA_HS_F_CONVERSATION) {
		Wa__Conversation *c = wa__conversation__unpack(NULL, len, p);
		if (!c || g->n_conv >= NCONV) {
			if (c)
				wa__conversation__free_unpacked(c, NULL);
			return WA_EPROTO;
		}
		if (g->n_conv == 0)
			g->first_index = index;
		snprintf(g->ids[g->n_conv], 64, "%s", c->id ? c->id : "");
		g->nmsgs[g->n_conv] = c->n_messages;
		g->n_conv++;
		wa__conversation__free_unpacked(c, NULL);
	} else if (f == WA_HS_F_PUSHNAME) {
		Wa__Pushname *pn = wa__pushname__unpack(NULL, len, p);
		if (!pn)
			return WA_EPROTO;
		snprintf(g->push, sizeof g->push, "%s", pn->pushname ? pn->pushname : "");
		g->n_push++;
		wa__pushname__free_unpacked(pn, NULL);
	} else if (f == WA_HS_F_LID_MAPPING) {
		g->n_map++;
	}
	return 0;
}

/* A HistorySync of NCONV conversations (conversation i has i*3 texts, the
 * 3rd, 5th, 7th and 9th a 70 kB one), a status message, a push name and a mapping. */
static uint8_t *build(size_t *len_out)
{
	Wa__HistorySync hs = WA__HISTORY_SYNC__INIT;
	Wa__Conversation conv[NCONV], *cp[NCONV];
	static Wa__HistorySyncMsg hm[NCONV][40];
	static Wa__HistorySyncMsg *hmp[NCONV][40];
	static Wa__WebMessageInfo wmi[NCONV][40];
	static Wa__MessageKey key[NCONV][40];
	static Wa__Message msg[NCONV][40];
	static char ids[NCONV][40][24], jids[NCONV][32], texts[NCONV][40][64];
	static char big[70000];
	memset(big, 'x', sizeof big - 1);
	for (int i = 0; i < NCONV; i++) {
		wa__conversation__init(&conv[i]);
		snprintf(jids[i], sizeof jids[i], "1555000%04d@s.whatsapp.net", i);
		conv[i].id = jids[i];
		conv[i].n_messages = (size_t)i * 3;
		conv[i].messages = hmp[i];
		for (int m = 0; m < i * 3; m++) {
			wa__history_sync_msg__init(&hm[i][m]);
			wa__web_message_info__init(&wmi[i][m]);
			wa__message_key__init(&key[i][m]);
			wa__message__init(&msg[i][m]);
			snprintf(ids[i][m], sizeof ids[i][m], "H%02d%02d", i, m);
			snprintf(texts[i][m], sizeof texts[i][m], "text %d/%d ünï", i, m);
			key[i][m].id = ids[i][m];
			key[i][m].remote_jid = jids[i];
			msg[i][m].conversation = ((i == 3 || i == 5 || i == 7 || i == 9) && m == 0) ? big : texts[i][m];
			wmi[i][m].key = &key[i][m];
			wmi[i][m].message = &msg[i][m];
			hm[i][m].message = &wmi[i][m];
			hmp[i][m] = &hm[i][m];
		}
		cp[i] = &conv[i];
	}
	Wa__WebMessageInfo status = WA__WEB_MESSAGE_INFO__INIT, *sp = &status;
	Wa__Message smsg = WA__MESSAGE__INIT;
	smsg.conversation = (char *)"a status";
	status.message = &smsg;
	Wa__Pushname pn = WA__PUSHNAME__INIT, *pnp = &pn;
	pn.id = (char *)"15550001111@s.whatsapp.net";
	pn.pushname = (char *)"Ana ✓";
	Wa__PhoneNumberToLIDMapping map = WA__PHONE_NUMBER_TO_LIDMAPPING__INIT, *mp = &map;
	map.pn_jid = (char *)"15550001111@s.whatsapp.net";
	map.lid_jid = (char *)"99@lid";
	hs.has_sync_type = 1;
	hs.sync_type = WA__HISTORY_SYNC__HISTORY_SYNC_TYPE__FULL;
	hs.has_chunk_order = 1;
	hs.chunk_order = 3;
	hs.has_progress = 1;
	hs.progress = 42;
	hs.n_conversations = NCONV;
	hs.conversations = cp;
	hs.n_status_v3_messages = 1;
	hs.status_v3_messages = &sp;
	hs.n_pushnames = 1;
	hs.pushnames = &pnp;
	hs.n_phone_number_to_lid_mappings = 1;
	hs.phone_number_to_lid_mappings = &mp;
	hs.companion_meta_nonce = (char *)"nonce";
	size_t n = wa__history_sync__get_packed_size(&hs);
	uint8_t *b = malloc(n);
	wa__history_sync__pack(&hs, b);
	*len_out = n;
	return b;
}

static void expect_all(const struct got *g, uint64_t skip)
{
	CHECK_EQ_INT(g->scal[WA_HS_F_SYNC_TYPE], 2);
	CHECK_EQ_INT(g->scal[WA_HS_F_CHUNK_ORDER], 3);
	CHECK_EQ_INT(g->scal[WA_HS_F_PROGRESS], 42);
	CHECK_EQ_INT(g->n_conv, NCONV - skip);
	for (size_t i = 0; i < g->n_conv; i++) {
		char want[32];
		snprintf(want, sizeof want, "1555000%04d@s.whatsapp.net", (int)(i + skip));
		CHECK_EQ_STR(g->ids[i], want);
		CHECK_EQ_INT(g->nmsgs[i], (i + skip) * 3);
	}
	if (g->n_conv)
		CHECK_EQ_INT(g->first_index, skip);
	CHECK_EQ_INT(g->n_push, 1);
	CHECK_EQ_STR(g->push, "Ana ✓");
	CHECK_EQ_INT(g->n_map, 1);
}

/* raw bytes split in two: at every position of the head and tail (every
 * field boundary kind is there) and every 499th byte between */
static void every_split(const uint8_t *b, size_t n)
{
	size_t max_buf = 0;
	for (size_t cut = 0; cut <= n; cut += (cut < 1500 || cut + 1500 > n) ? 1 : 499) {
		struct got g;
		memset(&g, 0, sizeof g);
		wa_hs_cb cb = {.scalar = on_scalar, .record = on_record, .user = &g};
		wa_hs_parser *p = NULL;
		CHECK(wa_hs_parser_new(&cb, 0, &p) == 0);
		int rc = wa_hs_parser_feed(p, b, cut);
		if (rc == 0)
			rc = wa_hs_parser_feed(p, b + cut, n - cut);
		if (rc == 0)
			rc = wa_hs_parser_end(p);
		CHECK_EQ_INT(rc, 0);
		expect_all(&g, 0);
		if (wa_hs_parser_buffered(p) > max_buf)
			max_buf = wa_hs_parser_buffered(p);
		wa_hs_parser_free(p);
		if (check_failures)
			break;
	}
	/* the largest record (a 70 kB text) rounded up, never the blob (four of them) */
	CHECK(max_buf < n / 2);
	CHECK(max_buf >= 70000);
}

static int run_z(const uint8_t *z, size_t zn, size_t chunk, uint64_t skip, struct got *g)
{
	memset(g, 0, sizeof *g);
	wa_hs_cb cb = {.scalar = on_scalar, .record = on_record, .user = g};
	wa_hs_parser *p = NULL;
	wa_hs_inflate *zi = NULL;
	CHECK(wa_hs_parser_new(&cb, skip, &p) == 0);
	CHECK(wa_hs_inflate_new(p, &zi) == 0);
	int rc = 0;
	for (size_t off = 0; rc == 0 && off < zn; off += chunk)
		rc = wa_hs_inflate_feed(zi, z + off, zn - off < chunk ? zn - off : chunk);
	if (rc == 0)
		rc = wa_hs_inflate_end(zi);
	wa_hs_inflate_free(zi);
	wa_hs_parser_free(p);
	return rc;
}

static void compressed(const uint8_t *b, size_t n)
{
	uLongf zn = compressBound(n);
	uint8_t *z = malloc(zn + 8);
	CHECK(compress2(z, &zn, b, n, 6) == Z_OK);
	static const size_t chunks[] = {1, 2, 3, 7, 64, 1000, 4096, 65536, 1 << 20};
	struct got g;
	for (size_t i = 0; i < sizeof chunks / sizeof *chunks; i++) {
		CHECK_EQ_INT(run_z(z, zn, chunks[i], 0, &g), 0);
		expect_all(&g, 0);
	}
	/* resumed after 4 conversations: those are walked over, not handed over */
	CHECK_EQ_INT(run_z(z, zn, 333, 4, &g), 0);
	expect_all(&g, 4);
	/* a cut anywhere inside the stream is an error, never a silent success */
	for (size_t cut = 0; cut < zn; cut += 17)
		CHECK(run_z(z, cut, 50, 0, &g) != 0);
	/* bytes after the stream's end */
	memcpy(z + zn, "junk", 4);
	CHECK_EQ_INT(run_z(z, zn + 4, 100, 0, &g), WA_EPROTO);
	/* a flipped byte in the middle: zlib's check refuses it */
	z[zn / 2] ^= 0x55;
	CHECK(run_z(z, zn, 100, 0, &g) != 0);
	free(z);
}

static void malformed(void)
{
	struct got g;
	memset(&g, 0, sizeof g);
	wa_hs_cb cb = {.scalar = on_scalar, .record = on_record, .user = &g};
	wa_hs_parser *p = NULL;
	/* a conversation claiming 1 GiB: refused before any allocation */
	static const uint8_t huge[] = {0x12, 0x80, 0x80, 0x80, 0x80, 0x04};
	CHECK(wa_hs_parser_new(&cb, 0, &p) == 0);
	CHECK_EQ_INT(wa_hs_parser_feed(p, huge, sizeof huge), WA_ETOOBIG);
	CHECK_EQ_INT(wa_hs_parser_feed(p, huge, 1), WA_ETOOBIG); /* stays dead */
	wa_hs_parser_free(p);
	/* ... but a skipped field of that size is just walked over */
	static const uint8_t skipped[] = {0x1a, 0x80, 0x80, 0x80, 0x80, 0x04};
	CHECK(wa_hs_parser_new(&cb, 0, &p) == 0);
	CHECK_EQ_INT(wa_hs_parser_feed(p, skipped, sizeof skipped), 0);
	CHECK_EQ_INT(wa_hs_parser_end(p), WA_EPROTO); /* its bytes never came */
	wa_hs_parser_free(p);
	/* group wire types, field 0, an 11-byte varint */
	static const uint8_t bad[][12] = {{0x13}, {0x00, 0x01}, {0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}};
	static const size_t bad_len[] = {1, 2, 12};
	for (size_t i = 0; i < 3; i++) {
		CHECK(wa_hs_parser_new(&cb, 0, &p) == 0);
		CHECK_EQ_INT(wa_hs_parser_feed(p, bad[i], bad_len[i]), WA_EPROTO);
		wa_hs_parser_free(p);
	}
	/* a callback's error stops the parse with it */
	static const uint8_t conv[] = {0x12, 0x02, 0x0a, 0x00, 0x12, 0x00};
	CHECK(wa_hs_parser_new(&cb, 0, &p) == 0);
	g.n_conv = NCONV; /* on_record refuses more */
	CHECK_EQ_INT(wa_hs_parser_feed(p, conv, sizeof conv), WA_EPROTO);
	wa_hs_parser_free(p);
}

int main(void)
{
	size_t n = 0;
	uint8_t *b = build(&n);
	every_split(b, n);
	compressed(b, n);
	malformed();
	free(b);
	return check_exit("session_histsync");
}
