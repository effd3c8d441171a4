/* include/wa/qr.h on top of the matrix encoder and renderers. */
#include "wa/qr.h"

#include <string.h>

#include "qr/render.h"

int wa_qr_png(const char *text, unsigned scale, uint8_t **png, size_t *png_len)
{
	if (!text || !png || !png_len)
		return WA_EINVAL;
	wa_qr_matrix *m = NULL;
	int rc = wa_qr_encode(&m, text, strlen(text), WA_QR_ECC_L);
	if (rc == 0)
		rc = wa_qr_render_png(png, png_len, m, scale);
	wa_qr_matrix_free(m);
	return rc;
}

int wa_qr_terminal(const char *text, char **out)
{
	if (!text || !out)
		return WA_EINVAL;
	wa_qr_matrix *m = NULL;
	size_t len;
	int rc = wa_qr_encode(&m, text, strlen(text), WA_QR_ECC_L);
	if (rc == 0)
		rc = wa_qr_render_text(out, &len, m, WA_QR_TEXT_ANSI);
	wa_qr_matrix_free(m);
	return rc;
}
