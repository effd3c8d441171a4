/* The WhatsApp binary-node token dictionaries (version 3). The tables are
 * generated at build time from the files in tokens/ (one token per line, data taken
 * from Baileys' WABinary/constants.js) by gen_tokens.py into tokens.c. */
#ifndef WA_BINARY_TOKENS_H
#define WA_BINARY_TOKENS_H

#include <stddef.h>
#include <stdint.h>

#include "wa/wa.h"

enum {
	WA_BIN_SINGLE_TOKENS = 236, /* index 0 is the empty string, never emitted */
	WA_BIN_DICTS = 4,
	WA_BIN_DICT_TOKENS = 256,
	WA_BIN_TOKEN_SINGLE = -1,   /* "dict" value of a single-byte token */
};

/* Static strings, never NULL; lengths in the matching _len tables. */
extern const char *const wa_bin_single_tokens[WA_BIN_SINGLE_TOKENS];
extern const uint8_t wa_bin_single_token_len[WA_BIN_SINGLE_TOKENS];
extern const char *const wa_bin_double_tokens[WA_BIN_DICTS][WA_BIN_DICT_TOKENS];
extern const uint8_t wa_bin_double_token_len[WA_BIN_DICTS][WA_BIN_DICT_TOKENS];

/* Finds the token spelled s[0..len). On success writes *dict (0..3, or
 * WA_BIN_TOKEN_SINGLE) and *index and returns 0; otherwise WA_ENOTFOUND.
 * The empty string is never a token. */
int wa_bin_token_lookup(const char *s, size_t len, int *dict, uint8_t *index) WA_MUST_CHECK;

#endif
