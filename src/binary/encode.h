/* Binary node encoder: wa_node tree -> WhatsApp binary bytes, making exactly
 * the choices Baileys 7.0.0-rc14's encodeBinaryNode makes (see encode.c). Sans-IO. */
#ifndef WA_BINARY_ENCODE_H
#define WA_BINARY_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "wa/wa.h"
#include "binary/node.h"
#include "util/buf.h"

/* Encodes n as a transport plaintext: the flags byte 00 followed by the node.
 * On success *out is a malloc'd buffer (free with free()) of *out_len bytes;
 * on error both are untouched. Errors: WA_EDEPTH (deeper than
 * WA_BIN_MAX_DEPTH), WA_ETOOBIG (more than WA_BIN_MAX_STANZA bytes), WA_ENOMEM. */
int wa_bin_encode(const wa_node *n, uint8_t **out, size_t *out_len) WA_MUST_CHECK;

/* Appends the node alone (no flags byte) to wr. Same errors; on error wr is
 * left failed (its sticky error set) or with a partial node appended. */
int wa_bin_encode_body(wa_writer *wr, const wa_node *n) WA_MUST_CHECK;

#endif
