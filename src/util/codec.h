/* Hex and base64 helpers (libsodium's constant-time encoders: the QR string
 * carries secrets). Outputs are NUL-terminated heap strings or caller buffers. */
#ifndef WA_UTIL_CODEC_H
#define WA_UTIL_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "wa/wa.h"

/* Returns a malloc'd NUL-terminated string, or NULL on allocation failure. */
char *wa_hex_encode(const uint8_t *p, size_t n);
char *wa_b64_encode(const uint8_t *p, size_t n);
/* Decode into a malloc'd buffer; *out and *out_len written only on success.
 * Returns WA_EMALFORMED on bad input. */
int wa_hex_decode(const char *s, size_t slen, uint8_t **out, size_t *out_len) WA_MUST_CHECK;
int wa_b64_decode(const char *s, size_t slen, uint8_t **out, size_t *out_len) WA_MUST_CHECK;

#endif
