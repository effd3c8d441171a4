/* QR rendering: libqrencode for the matrix, then terminal half blocks, a
 * 1-bit PNG written through libpng into memory, or SVG text. Nothing here
 * touches files or the terminal; callers get malloc'd buffers. */
#include "qr/render.h"

#include <errno.h>
#include <png.h>
#include <qrencode.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

/* Output caps: far above the largest symbol at the largest scale, so they
 * only guard against our own arithmetic going wrong. */
#define TEXT_MAX (1u << 20)
#define SVG_MAX (4u << 20)
#define PNG_MAX (16u << 20)

struct wa_qr_matrix {
	int size;
	uint8_t *dark; /* size*size, 1 = dark */
};

int wa_qr_encode(wa_qr_matrix **out, const char *text, size_t len, enum wa_qr_ecc ecc)
{
	static const QRecLevel levels[] = { QR_ECLEVEL_L, QR_ECLEVEL_M, QR_ECLEVEL_Q, QR_ECLEVEL_H };
	if (!out || !text || len == 0 || (unsigned)ecc > WA_QR_ECC_H)
		return WA_EINVAL;
	if (len > WA_QR_MAX_TEXT_LEN)
		return WA_ETOOBIG;
	if (memchr(text, '\0', len))
		return WA_EINVAL;
	char *z = malloc(len + 1);
	if (!z)
		return WA_ENOMEM;
	memcpy(z, text, len);
	z[len] = '\0';
	/* QR_MODE_8 hint + case-sensitive: libqrencode splits the text into the
	 * cheapest mix of numeric/alphanumeric/8-bit segments; any decoder
	 * gives back the same bytes. */
	errno = 0;
	QRcode *qr = QRcode_encodeString(z, 0, levels[ecc], QR_MODE_8, 1);
	int err = errno;
	free(z);
	if (!qr)
		return err == ERANGE ? WA_ETOOBIG : err == ENOMEM ? WA_ENOMEM : WA_EQR_RENDER;

	int rc = WA_ENOMEM;
	wa_qr_matrix *m = calloc(1, sizeof *m);
	if (!m)
		goto done;
	m->size = qr->width;
	m->dark = malloc((size_t)qr->width * (size_t)qr->width);
	if (!m->dark) {
		free(m);
		goto done;
	}
	for (size_t i = 0; i < (size_t)qr->width * (size_t)qr->width; i++)
		m->dark[i] = qr->data[i] & 1; /* bit 0 is the colour; the rest is metadata */
	*out = m;
	rc = 0;
done:
	QRcode_free(qr);
	return rc;
}

void wa_qr_matrix_free(wa_qr_matrix *m)
{
	if (!m)
		return;
	free(m->dark);
	free(m);
}

int wa_qr_matrix_size(const wa_qr_matrix *m)
{
	return m->size;
}

bool wa_qr_matrix_dark(const wa_qr_matrix *m, int x, int y)
{
	if (x < 0 || y < 0 || x >= m->size || y >= m->size)
		return false;
	return m->dark[(size_t)y * (size_t)m->size + (size_t)x] != 0;
}

/* ---- terminal ---- */

static const char UPPER[] = "\xe2\x96\x80"; /* U+2580 upper half block */
static const char LOWER[] = "\xe2\x96\x84"; /* U+2584 lower half block */
static const char FULL[] = "\xe2\x96\x88";  /* U+2588 full block */

int wa_qr_render_text(char **out, size_t *out_len, const wa_qr_matrix *m,
	enum wa_qr_text_style style)
{
	if (!out || !out_len || !m || (unsigned)style > WA_QR_TEXT_PLAIN_INVERTED)
		return WA_EINVAL;
	/* black on bright white: explicit colours make the symbol independent
	 * of the terminal's own scheme */
	static const char sgr_on[] = "\x1b[30;107m";
	static const char sgr_off[] = "\x1b[0m";
	const int span = m->size + 2 * WA_QR_QUIET;
	wa_writer wr;
	wa_writer_init(&wr, TEXT_MAX);
	for (int row = 0; row < span; row += 2) {
		if (style == WA_QR_TEXT_ANSI)
			wa_wr_bytes(&wr, sgr_on, sizeof sgr_on - 1);
		for (int col = 0; col < span; col++) {
			int x = col - WA_QR_QUIET, y = row - WA_QR_QUIET;
			bool top = wa_qr_matrix_dark(m, x, y);
			/* an odd span leaves the last line's lower half outside: light */
			bool bot = row + 1 < span && wa_qr_matrix_dark(m, x, y + 1);
			if (style == WA_QR_TEXT_PLAIN_INVERTED) {
				top = !top;
				bot = row + 1 < span ? !bot : false;
			}
			const char *g = top && bot ? FULL : top ? UPPER : bot ? LOWER : " ";
			wa_wr_bytes(&wr, g, strlen(g));
		}
		if (style == WA_QR_TEXT_ANSI)
			wa_wr_bytes(&wr, sgr_off, sizeof sgr_off - 1);
		wa_wr_u8(&wr, '\n');
	}
	wa_wr_u8(&wr, '\0');
	int rc = wa_wr_error(&wr);
	if (rc != 0) {
		wa_writer_clear(&wr, false);
		return rc;
	}
	size_t n = 0;
	*out = (char *)wa_writer_steal(&wr, &n);
	*out_len = n - 1;
	return 0;
}

/* ---- PNG ---- */

struct png_sink {
	wa_writer wr;
};

static void png_write_cb(png_structp png, png_bytep data, size_t len)
{
	struct png_sink *s = png_get_io_ptr(png);
	if (wa_wr_bytes(&s->wr, data, len) != 0)
		png_error(png, "output cap");
}

static void png_flush_cb(png_structp png)
{
	(void)png;
}

/* libpng's default error handler prints to stderr; we report through the
 * return code instead. */
static void png_error_cb(png_structp png, png_const_charp msg)
{
	(void)msg;
	png_longjmp(png, 1);
}

static void png_warn_cb(png_structp png, png_const_charp msg)
{
	(void)png;
	(void)msg;
}

int wa_qr_render_png(uint8_t **out, size_t *out_len, const wa_qr_matrix *m, unsigned scale)
{
	if (!out || !out_len || !m || scale < 1 || scale > WA_QR_MAX_SCALE)
		return WA_EINVAL;
	const size_t span = (size_t)(m->size + 2 * WA_QR_QUIET);
	const size_t px = span * scale;
	const size_t row_bytes = (px + 7) / 8;

	struct png_sink sink;
	wa_writer_init(&sink.wr, PNG_MAX);
	png_bytep row = malloc(row_bytes);
	if (!row)
		return WA_ENOMEM;
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL,
		png_error_cb, png_warn_cb);
	png_infop info = png ? png_create_info_struct(png) : NULL;
	if (!png || !info) {
		png_destroy_write_struct(png ? &png : NULL, NULL);
		free(row);
		return WA_ENOMEM;
	}
	/* Nothing assigned between here and png_longjmp is read after it
	 * except through memory (sink, row), so no volatile is needed. */
	if (setjmp(png_jmpbuf(png))) {
		int rc = sink.wr.err ? sink.wr.err : WA_EQR_RENDER;
		png_destroy_write_struct(&png, &info);
		free(row);
		wa_writer_clear(&sink.wr, false);
		return rc;
	}
	png_set_write_fn(png, &sink, png_write_cb, png_flush_cb);
	png_set_IHDR(png, info, (png_uint_32)px, (png_uint_32)px, 1, PNG_COLOR_TYPE_GRAY,
		PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	for (size_t py = 0; py < px; py++) {
		/* 1-bit grey: a set bit is white */
		memset(row, 0xff, row_bytes);
		int y = (int)(py / scale) - WA_QR_QUIET;
		for (size_t pxx = 0; pxx < px; pxx++) {
			int x = (int)(pxx / scale) - WA_QR_QUIET;
			if (wa_qr_matrix_dark(m, x, y))
				row[pxx / 8] &= (png_byte)~(0x80u >> (pxx % 8));
		}
		png_write_row(png, row);
	}
	png_write_end(png, info);
	png_destroy_write_struct(&png, &info);
	free(row);
	int rc = wa_wr_error(&sink.wr);
	if (rc != 0) {
		wa_writer_clear(&sink.wr, false);
		return rc;
	}
	*out = wa_writer_steal(&sink.wr, out_len);
	return 0;
}

/* ---- SVG ---- */

__attribute__((format(printf, 2, 3)))
static void wr_fmt(wa_writer *wr, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof tmp) {
		wr->err = wr->err ? wr->err : WA_EQR_RENDER;
		return;
	}
	wa_wr_bytes(wr, tmp, (size_t)n);
}

int wa_qr_render_svg(char **out, size_t *out_len, const wa_qr_matrix *m, unsigned scale)
{
	if (!out || !out_len || !m || scale < 1 || scale > WA_QR_MAX_SCALE)
		return WA_EINVAL;
	const long span = m->size + 2 * WA_QR_QUIET;
	const long px = span * (long)scale;
	wa_writer wr;
	wa_writer_init(&wr, SVG_MAX);
	wr_fmt(&wr, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
		"width=\"%ld\" height=\"%ld\" viewBox=\"0 0 %ld ", px, px, span);
	/* crispEdges: no anti-aliased seams between adjacent runs */
	wr_fmt(&wr, "%ld\" shape-rendering=\"crispEdges\">\n"
		"<rect width=\"%ld\" height=\"%ld\" fill=\"#ffffff\"/>\n<path fill=\"#000000\" d=\"",
		span, span, span);
	for (int y = 0; y < m->size; y++) {
		int x = 0;
		while (x < m->size) {
			if (!wa_qr_matrix_dark(m, x, y)) {
				x++;
				continue;
			}
			int run = 1;
			while (x + run < m->size && wa_qr_matrix_dark(m, x + run, y))
				run++;
			wr_fmt(&wr, "M%d %dh%d", x + WA_QR_QUIET, y + WA_QR_QUIET, run);
			wr_fmt(&wr, "v1h-%dz", run);
			x += run;
		}
	}
	static const char tail[] = "\"/>\n</svg>\n";
	wa_wr_bytes(&wr, tail, sizeof tail); /* with the NUL */
	int rc = wa_wr_error(&wr);
	if (rc != 0) {
		wa_writer_clear(&wr, false);
		return rc;
	}
	size_t n = 0;
	*out = (char *)wa_writer_steal(&wr, &n);
	*out_len = n - 1;
	return 0;
}
