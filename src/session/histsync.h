/* History-sync blobs, streamed (sans-IO, also built into the fuzz target).
 * A HistorySync is zlib-compressed and can be tens of MB: it is inflated
 * as a stream and its top-level wire format walked field by field, so
 * each Conversation / Pushname is handed over alone (peak memory is one
 * record, never the blob). The caller unpacks each record with protobuf-c. */
#ifndef WA_SESSION_HISTSYNC_H
#define WA_SESSION_HISTSYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wa/wa.h"

/* HistorySync top-level fields (WAProto numbers) */
#define WA_HS_F_SYNC_TYPE 1
#define WA_HS_F_CONVERSATION 2
#define WA_HS_F_CHUNK_ORDER 5
#define WA_HS_F_PROGRESS 6
#define WA_HS_F_PUSHNAME 7
#define WA_HS_F_LID_MAPPING 15

/* One record larger than this is refused (WA_ETOOBIG). */
#define WA_HS_MAX_RECORD (64u << 20)

typedef struct wa_hs_cb {
	/* a varint top-level field (sync type, chunk order, progress) */
	int (*scalar)(void *user, uint32_t field, uint64_t value);
	/* one whole length-delimited record of field 2, 7 or 15; `index` counts
	 * records of that field from 0. Non-zero stops the parse with it. */
	int (*record)(void *user, uint32_t field, uint64_t index, const uint8_t *p, size_t len);
	void *user;
} wa_hs_cb;

typedef struct wa_hs_parser wa_hs_parser;

/* skip_convs: the first skip_convs conversations are walked over without
 * being buffered or handed over (an import resumed after a restart). */
int wa_hs_parser_new(const wa_hs_cb *cb, uint64_t skip_convs, wa_hs_parser **out) WA_MUST_CHECK;
void wa_hs_parser_free(wa_hs_parser *p);
/* Feeds inflated bytes, any split. Returns 0, WA_EPROTO (malformed),
 * WA_ETOOBIG, WA_ENOMEM or a callback's error (the parser is then dead). */
int wa_hs_parser_feed(wa_hs_parser *p, const uint8_t *data, size_t len) WA_MUST_CHECK;
/* End of input: WA_EPROTO when it stopped inside a field. */
int wa_hs_parser_end(wa_hs_parser *p) WA_MUST_CHECK;
/* Conversations seen so far (skipped ones included). */
uint64_t wa_hs_parser_convs(const wa_hs_parser *p);
/* The record buffer's size: what the parser holds at most. */
size_t wa_hs_parser_buffered(const wa_hs_parser *p);

/* zlib stream in front of a parser: compressed bytes in, any split. */
typedef struct wa_hs_inflate wa_hs_inflate;
int wa_hs_inflate_new(wa_hs_parser *p, wa_hs_inflate **out) WA_MUST_CHECK;
void wa_hs_inflate_free(wa_hs_inflate *z);
/* WA_EPROTO for a corrupt stream or bytes after its end. */
int wa_hs_inflate_feed(wa_hs_inflate *z, const uint8_t *data, size_t len) WA_MUST_CHECK;
/* The zlib stream and the parser both ended cleanly? 0 or WA_EPROTO. */
int wa_hs_inflate_end(wa_hs_inflate *z) WA_MUST_CHECK;

#endif
