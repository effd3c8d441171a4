/* QR symbol rendering: text -> module matrix (libqrencode) -> terminal
 * text, PNG bytes or SVG text, all in memory (sans-IO; the daemon and
 * wamctl decide where the bytes go). Part of src/qr; used by session (QR
 * events), daemon (API PNG/SVG) and wamctl (terminal). */
#ifndef WA_QR_RENDER_H
#define WA_QR_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wa/wa.h"

/* Error correction. WhatsApp QR printers (Baileys 6 via qrcode-terminal
 * small mode, whatsmeow's mdtest via qrterminal.L) use L: the largest
 * modules for a given string, which phones scan best off a screen. */
enum wa_qr_ecc {
	WA_QR_ECC_L = 0,
	WA_QR_ECC_M = 1,
	WA_QR_ECC_Q = 2,
	WA_QR_ECC_H = 3,
};

/* QR text limit (a pairing string is < 500 bytes; version 40-L holds 2953). */
#define WA_QR_MAX_TEXT_LEN 2953
/* Quiet zone (light border) in modules: 4 is what ISO/IEC 18004 requires. */
#define WA_QR_QUIET 4
/* PNG/SVG pixels per module, 1..WA_QR_MAX_SCALE. */
#define WA_QR_MAX_SCALE 32

typedef struct wa_qr_matrix wa_qr_matrix;

/* Encodes len bytes of text (no NUL bytes) at the given ECC level, choosing
 * the smallest version. On success *out is a new matrix (free with
 * wa_qr_matrix_free). Errors: WA_EINVAL (bad args, NUL in text),
 * WA_ETOOBIG (does not fit a QR code), WA_ENOMEM, WA_EQR_RENDER. */
int wa_qr_encode(wa_qr_matrix **out, const char *text, size_t len, enum wa_qr_ecc ecc) WA_MUST_CHECK;
void wa_qr_matrix_free(wa_qr_matrix *m);
/* Modules per side (21..177), and whether module (x, y) is dark; x, y
 * outside the symbol read as light (the quiet zone). */
int wa_qr_matrix_size(const wa_qr_matrix *m);
bool wa_qr_matrix_dark(const wa_qr_matrix *m, int x, int y);

/* Terminal text: two module rows per line with U+2580/U+2584/U+2588 half
 * blocks and a WA_QR_QUIET quiet zone, so each line has size + 8 columns
 * and there are (size + 8 + 1) / 2 lines, each ending in '\n'.
 *  WA_QR_TEXT_ANSI (default): every line sets black-on-white (SGR 30;107)
 *    and resets at its end, so the code scans on dark and light terminals
 *    alike; blocks draw the dark modules.
 *  WA_QR_TEXT_PLAIN: no escapes, blocks draw dark modules (for dark text
 *    on a light background, e.g. a file or a printed page).
 *  WA_QR_TEXT_PLAIN_INVERTED: no escapes, blocks draw light modules (light
 *    text on a dark background). */
enum wa_qr_text_style {
	WA_QR_TEXT_ANSI = 0,
	WA_QR_TEXT_PLAIN = 1,
	WA_QR_TEXT_PLAIN_INVERTED = 2,
};
/* *out: malloc'd NUL-terminated UTF-8 (free()), *out_len without the NUL. */
int wa_qr_render_text(char **out, size_t *out_len, const wa_qr_matrix *m,
	enum wa_qr_text_style style) WA_MUST_CHECK;

/* PNG: 1-bit greyscale, (size + 2*WA_QR_QUIET) * scale pixels square,
 * black modules on white. *out: malloc'd bytes (free()). Errors:
 * WA_EINVAL (scale outside 1..WA_QR_MAX_SCALE), WA_ENOMEM, WA_EQR_RENDER
 * (libpng failed). */
int wa_qr_render_png(uint8_t **out, size_t *out_len, const wa_qr_matrix *m,
	unsigned scale) WA_MUST_CHECK;

/* SVG: a white rect plus one black path of horizontal runs (one path unit
 * = one module, quiet zone included in the viewBox); width/height are
 * (size + 2*WA_QR_QUIET) * scale. *out: malloc'd NUL-terminated text. */
int wa_qr_render_svg(char **out, size_t *out_len, const wa_qr_matrix *m,
	unsigned scale) WA_MUST_CHECK;

#endif
