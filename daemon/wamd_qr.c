/* QR code PNG for the API's `base64` field, through libwa's renderer
 * (include/wa/qr.h). Evolution draws error correction H at 4 px per module;
 * we use L (larger modules for the same string, what WhatsApp's own clients
 * print) at 6 px, which phones read better off a screen. */
#include <stdlib.h>
#include <string.h>

#include "wa/qr.h"
#include "wamd.h"

int wamd_qr_png(const char *text, uint8_t **out, size_t *out_len)
{
	return wa_qr_png(text, 6, out, out_len);
}

char *wamd_qr_png_data_uri(const char *text)
{
	uint8_t *p;
	size_t n;
	if (wamd_qr_png(text, &p, &n) != 0)
		return NULL;
	char *b = wamd_b64(p, n);
	free(p);
	if (!b)
		return NULL;
	static const char pre[] = "data:image/png;base64,";
	char *o = malloc(sizeof pre + strlen(b));
	if (o) {
		memcpy(o, pre, sizeof pre - 1);
		strcpy(o + sizeof pre - 1, b);
	}
	free(b);
	return o;
}
