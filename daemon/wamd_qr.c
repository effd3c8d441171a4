/* QR code PNG for the API's `base64` field (Evolution: margin 3, scale 4,
 * error correction H). Uses libqrencode and libpng directly until the
 * qrmedia branch's src/qr renderer is merged and made public. */
#include <png.h>
#include <qrencode.h>
#include <stdlib.h>
#include <string.h>

#include "wamd.h"

#define QR_MARGIN 3
#define QR_SCALE 4
#define QR_TEXT_MAX 2048

struct membuf {
	uint8_t *p;
	size_t n, cap;
	bool failed;
};

static void png_write_mem(png_structp png, png_bytep data, png_size_t len)
{
	struct membuf *m = png_get_io_ptr(png);
	if (m->failed)
		return;
	if (m->n + len > m->cap) {
		size_t nc = m->cap ? m->cap * 2 : 4096;
		while (nc < m->n + len)
			nc *= 2;
		uint8_t *np = realloc(m->p, nc);
		if (!np) {
			m->failed = true;
			return;
		}
		m->p = np;
		m->cap = nc;
	}
	memcpy(m->p + m->n, data, len);
	m->n += len;
}

static void png_flush_mem(png_structp png)
{
	(void)png;
}

int wamd_qr_png(const char *text, uint8_t **out, size_t *out_len)
{
	if (!text || strlen(text) > QR_TEXT_MAX)
		return WA_EINVAL;
	QRcode *qr = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_H);
	if (!qr)
		return WA_ENOMEM;
	int side = (qr->width + 2 * QR_MARGIN) * QR_SCALE;
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info = png ? png_create_info_struct(png) : NULL;
	uint8_t *row = malloc((size_t)side);
	struct membuf m = { 0 };
	int rc = WA_ENOMEM;
	if (!png || !info || !row)
		goto done;
	if (setjmp(png_jmpbuf(png))) {
		rc = WA_EIO;
		goto done;
	}
	png_set_write_fn(png, &m, png_write_mem, png_flush_mem);
	png_set_IHDR(png, info, (png_uint_32)side, (png_uint_32)side, 8, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
		     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	for (int y = 0; y < side; y++) {
		int my = y / QR_SCALE - QR_MARGIN;
		for (int x = 0; x < side; x++) {
			int mx = x / QR_SCALE - QR_MARGIN;
			bool dark = mx >= 0 && my >= 0 && mx < qr->width && my < qr->width &&
				    (qr->data[my * qr->width + mx] & 1);
			row[x] = dark ? 0 : 255;
		}
		png_write_row(png, row);
	}
	png_write_end(png, NULL);
	if (m.failed)
		goto done;
	*out = m.p;
	*out_len = m.n;
	m.p = NULL;
	rc = 0;
done:
	if (png)
		png_destroy_write_struct(&png, info ? &info : NULL);
	free(row);
	free(m.p);
	QRcode_free(qr);
	return rc;
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
