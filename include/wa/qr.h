/* libwa public QR rendering, for embedders that show the pairing QR string
 * (WA_EV_QR) to a person: PNG bytes for an API or a file, UTF-8 text for a
 * terminal. Error correction L, 4-module quiet zone (src/qr/render.h).
 * Called by wamd (the QR route's PNG) and wamctl (the terminal). */
#ifndef WA_QR_H
#define WA_QR_H

#include <stddef.h>
#include <stdint.h>

#include "wa/wa.h"

#ifdef __cplusplus
extern "C" {
#endif

/* PNG of text, scale pixels per module (1..32). *png: malloc'd (free()).
 * Errors: WA_EINVAL, WA_ETOOBIG (text does not fit a QR code), WA_ENOMEM,
 * WA_EQR_RENDER. Outputs written only on success. */
int wa_qr_png(const char *text, unsigned scale, uint8_t **png, size_t *png_len) WA_MUST_CHECK;

/* Terminal text with half blocks, black on white via ANSI colours so it
 * scans on dark and light terminals. *out: malloc'd NUL-terminated (free()). */
int wa_qr_terminal(const char *text, char **out) WA_MUST_CHECK;

#ifdef __cplusplus
}
#endif
#endif
