/* Binary node decoder: WhatsApp binary bytes -> wa_node tree. Strict and
 * bounded: it never reads past the input, enforces every limit in limits.h,
 * checks the type of each item, and rejects trailing bytes. Sans-IO. */
#ifndef WA_BINARY_DECODE_H
#define WA_BINARY_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "wa/wa.h"
#include "binary/node.h"

/* Decodes a transport plaintext: a flags byte, then the node, zlib-inflated
 * first when flags & 0x02 (the other flag bits are ignored, as Baileys and
 * whatsmeow do). On success *out is a new tree (free with wa_node_free); on
 * error *out is untouched. Errors:
 *   WA_ETRUNCATED   input ends inside an item (or is empty)
 *   WA_ETRAILING    bytes after the node (or after the zlib stream)
 *   WA_EMALFORMED   list size 0 as a node, empty tag, bad UTF-8 or NUL in a
 *                   string, invalid packed nibble or pad, duplicate attribute
 *   WA_ETYPE        an item of the wrong kind (a list where a string belongs,
 *                   LIST_EMPTY as a node tag, a string where a node belongs)
 *   WA_EBIN_TAG     reserved tag byte F0-F4
 *   WA_EBIN_JID     malformed JID (no server, a JID nested in a JID)
 *   WA_EBIN_INFLATE bad zlib data, or more than WA_BIN_MAX_STANZA inflated
 *   WA_EDEPTH       nesting deeper than WA_BIN_MAX_DEPTH
 *   WA_ETOOBIG      a limit from limits.h exceeded
 *   WA_ENOMEM */
int wa_bin_decode(const uint8_t *frame, size_t len, wa_node **out) WA_MUST_CHECK;

/* Decodes one node with no flags byte and no compression. Same errors. */
int wa_bin_decode_body(const uint8_t *p, size_t len, wa_node **out) WA_MUST_CHECK;

/* Inflates a zlib (RFC 1950) stream of at most max output bytes into a new
 * malloc'd buffer. Errors: WA_EBIN_INFLATE (bad or truncated data, or output
 * over max), WA_ETRAILING (bytes after the stream), WA_ENOMEM. */
int wa_bin_inflate(const uint8_t *p, size_t len, size_t max, uint8_t **out, size_t *out_len) WA_MUST_CHECK;

#endif
