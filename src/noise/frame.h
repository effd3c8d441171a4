/* WhatsApp's frame codec: the byte stream under the Noise layer
 * (transport-and-pairing.md §1.2). The client starts with a 4-byte intro
 * header (`57 41 06 v`, optionally preceded by an `ED 00 01` routing
 * prefix); after that both directions carry frames of a 3-byte big-endian
 * length plus payload. WebSocket message boundaries mean nothing, so the
 * decoder is resumable: feed it any split of the stream. Sans-IO. */
#ifndef WA_NOISE_FRAME_H
#define WA_NOISE_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "wa/wa.h"

/* Limits. The length field is 24 bits, so no frame can exceed
 * WA_NOISE_MAX_FRAME; decoders may be built with a lower cap. */
#define WA_NOISE_MAX_FRAME 0xFFFFFFu
#define WA_NOISE_FRAME_HDR_LEN 3
#define WA_NOISE_INTRO_LEN 4
/* Routing info from <edge_routing> is a few bytes; anything past this is
 * hostile (it is skipped, never buffered, but bounds the wait). */
#define WA_NOISE_MAX_ROUTING 4096u
/* The intro header's fixed bytes and the dictionary version we speak. */
#define WA_NOISE_DICT_VERSION 3
extern const uint8_t wa_noise_intro_header[WA_NOISE_INTRO_LEN]; /* 57 41 06 03 */

/* ---- encoding (writes into a caller-owned capped writer) ---- */

/* Appends the client intro: with routing_len > 0 the `45 44 00 01`,
 * 24-bit length and routing bytes first, then `57 41 06 03`.
 * Returns 0, WA_ETOOBIG (routing too long or writer cap) or WA_ENOMEM;
 * see wa_writer for its sticky error. */
int wa_frame_write_intro(wa_writer *wr, const uint8_t *routing, size_t routing_len) WA_MUST_CHECK;
/* Appends one frame: 3-byte length then the payload. WA_ETOOBIG when
 * len > WA_NOISE_MAX_FRAME (or the writer cap). */
int wa_frame_write(wa_writer *wr, const uint8_t *payload, size_t len) WA_MUST_CHECK;

/* ---- decoding ---- */

typedef struct wa_frame_dec wa_frame_dec;

enum wa_frame_mode {
	WA_FRAME_CLIENT = 0, /* we are the client: frames only, no intro */
	WA_FRAME_SERVER = 1, /* we are the server: intro header first */
};

/* New decoder; max_frame is 1..WA_NOISE_MAX_FRAME (else WA_EINVAL).
 * *out is written only on success. Free with wa_frame_dec_free. */
int wa_frame_dec_new(wa_frame_dec **out, enum wa_frame_mode mode, size_t max_frame) WA_MUST_CHECK;
/* Frees and scrubs buffered bytes; NULL is a no-op. */
void wa_frame_dec_free(wa_frame_dec *d);

/* Consumes bytes from in[0..in_len) until one frame completes or the input
 * runs out. *consumed is always set (bytes taken). Returns:
 *   1  a frame is ready: *frame / *frame_len point at its payload, either
 *      inside `in` or in the decoder's buffer; valid until the next call to
 *      wa_frame_decode or wa_frame_dec_free. Call again with the rest of
 *      the input (in + *consumed) to get further frames of the same chunk.
 *   0  all input consumed, more is needed.
 *  <0  WA_ENOISE_HEADER (bad intro magic or ED prefix), WA_ETOOBIG (frame
 *      length over max_frame, routing over WA_NOISE_MAX_ROUTING) or
 *      WA_ENOMEM. Errors are sticky: every later call returns the same
 *      error and consumes nothing. */
int wa_frame_decode(wa_frame_dec *d, const uint8_t *in, size_t in_len, size_t *consumed,
	const uint8_t **frame, size_t *frame_len) WA_MUST_CHECK;

/* Server mode, after the intro was read: its 4th byte (the dictionary
 * version) and the length of the routing prefix (0 without one);
 * -1 / 0 before that. */
int wa_frame_dec_dict_version(const wa_frame_dec *d);
size_t wa_frame_dec_routing_len(const wa_frame_dec *d);
/* Server mode: the 4-byte intro the client sent (`57 41 06 v`), which is
 * the Noise prologue the responder must use. WA_ESTATE before it was read. */
int wa_frame_dec_intro(const wa_frame_dec *d, uint8_t out[static WA_NOISE_INTRO_LEN]) WA_MUST_CHECK;
/* Why the decoder failed (static English text), or NULL if it has not. */
const char *wa_frame_dec_error_reason(const wa_frame_dec *d);

#endif
