/* Unit tests for src/qr: the pairing string against Baileys' own output
 * (tests/vectors/qr_payload.json, produced by buildPairingQRData through
 * tests/vectors/gen/baileys_qr_media.mjs), strict parsing, and each
 * renderer decoded back to the module matrix. */
#include <jansson.h>
#include <png.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "qr/payload.h"
#include "qr/render.h"
#include "util/codec.h"

static void hex32(uint8_t out[32], const char *hex)
{
	uint8_t *b = NULL;
	size_t n = 0;
	int rc = wa_hex_decode(hex, strlen(hex), &b, &n);
	CHECK_EQ_INT(rc, 0);
	CHECK_EQ_INT(n, 32);
	if (rc == 0 && n == 32)
		memcpy(out, b, 32);
	free(b);
}

static json_t *load_vectors(const char *name)
{
	const char *root = getenv("WA_SOURCE_ROOT");
	char path[4096];
	snprintf(path, sizeof path, "%s/tests/vectors/%s", root ? root : ".", name);
	json_error_t err;
	json_t *j = json_load_file(path, 0, &err);
	if (!j)
		fprintf(stderr, "cannot load %s: %s\n", path, err.text);
	return j;
}

static void test_baileys_vectors(void)
{
	json_t *j = load_vectors("qr_payload.json");
	CHECK(j != NULL);
	if (!j)
		return;
	json_t *cases = json_object_get(j, "cases");
	CHECK(json_array_size(cases) >= 6);
	size_t i;
	json_t *c;
	json_array_foreach(cases, i, c) {
		uint8_t noise[32], ident[32], adv[32];
		hex32(noise, json_string_value(json_object_get(c, "noise")));
		hex32(ident, json_string_value(json_object_get(c, "identity")));
		hex32(adv, json_string_value(json_object_get(c, "adv")));
		const char *ref = json_string_value(json_object_get(c, "ref"));
		const char *plat = json_string_value(json_object_get(c, "platform"));
		const char *want = json_string_value(json_object_get(c, "qr"));
		char *s = NULL;
		size_t n = 0;
		CHECK_EQ_INT(wa_qr_payload_build(&s, &n, ref, strlen(ref), noise, ident, adv, plat), 0);
		CHECK_EQ_STR(s, want);
		CHECK_EQ_INT(n, strlen(want));
		/* and back */
		wa_qr_payload p;
		CHECK_EQ_INT(wa_qr_payload_parse(&p, want, strlen(want)), 0);
		CHECK_EQ_STR(p.ref, ref);
		CHECK_EQ_INT(p.ref_len, strlen(ref));
		CHECK_EQ_MEM(p.noise_pub, noise, 32);
		CHECK_EQ_MEM(p.identity_pub, ident, 32);
		CHECK_EQ_MEM(p.adv_secret, adv, 32);
		CHECK_EQ_STR(p.platform, plat);
		CHECK_EQ_INT(p.has_prefix, 1);
		wa_qr_payload_clear(&p);
		wa_qr_string_free(s);
	}
	json_decref(j);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint8_t rnd8(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint8_t)(rng_state >> 24);
}

static void test_round_trip(void)
{
	for (int it = 0; it < 200; it++) {
		uint8_t k[3][32];
		for (int a = 0; a < 3; a++)
			for (int b = 0; b < 32; b++)
				k[a][b] = rnd8();
		char ref[WA_QR_MAX_REF_LEN];
		size_t ref_len = 1 + rnd8() % 120;
		for (size_t b = 0; b < ref_len; b++) {
			char ch;
			do
				ch = (char)(0x21 + rnd8() % 94);
			while (ch == ',');
			ref[b] = ch;
		}
		const char *plat = (it % 3 == 0) ? NULL : (it % 3 == 1) ? "1" : "e";
		char *s = NULL;
		size_t n = 0;
		CHECK_EQ_INT(wa_qr_payload_build(&s, &n, ref, ref_len, k[0], k[1], k[2], plat), 0);
		CHECK(n <= WA_QR_MAX_PAYLOAD_LEN);
		wa_qr_payload p;
		CHECK_EQ_INT(wa_qr_payload_parse(&p, s, n), 0);
		CHECK_EQ_INT(p.ref_len, ref_len);
		CHECK_EQ_MEM(p.ref, ref, ref_len);
		CHECK_EQ_MEM(p.noise_pub, k[0], 32);
		CHECK_EQ_MEM(p.identity_pub, k[1], 32);
		CHECK_EQ_MEM(p.adv_secret, k[2], 32);
		CHECK_EQ_STR(p.platform, plat ? plat : "");
		CHECK_EQ_INT(p.has_prefix, plat ? 1 : 0);
		wa_qr_string_free(s);
	}
}

static void expect_parse(int want, const char *s)
{
	wa_qr_payload p;
	memset(&p, 0xaa, sizeof p);
	int rc = wa_qr_payload_parse(&p, s, strlen(s));
	if (rc != want)
		fprintf(stderr, "parse(\"%s\") = %d, want %d\n", s, rc, want);
	CHECK_EQ_INT(rc, want);
	if (rc != 0)
		CHECK_EQ_INT((uint8_t)p.ref[0], 0xaa); /* untouched on error */
}

#define P WA_QR_PREFIX
#define K "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
static void test_parse_rejects(void)
{
	expect_parse(0, P "ref," K "," K "," K ",1");
	expect_parse(0, "ref," K "," K "," K);                    /* legacy form */
	expect_parse(WA_EMALFORMED, P "ref," K "," K "," K);      /* prefix needs platform */
	expect_parse(WA_EMALFORMED, "ref," K "," K "," K ",1");   /* platform needs prefix */
	expect_parse(WA_EMALFORMED, P "ref," K "," K "," K ",1,x");
	expect_parse(WA_EMALFORMED, P "," K "," K "," K ",1");    /* empty ref */
	expect_parse(WA_EMALFORMED, P "ref," K "," K "," K ",");  /* empty platform */
	expect_parse(WA_EMALFORMED, P "ref," K "," K "," K ",C"); /* upper case */
	expect_parse(WA_EMALFORMED, P "ref," K "," K "," K ",123456789");
	expect_parse(WA_EMALFORMED, P "r f," K "," K "," K ",1");
	expect_parse(WA_EMALFORMED, "http://wa.me/settings/linked_devices#ref," K "," K "," K ",1");
	expect_parse(WA_EMALFORMED, P "ref," K "," K "," K " ,1");
	/* non-canonical: leftover bits set (…Hx= instead of …Hw=) */
	expect_parse(WA_EMALFORMED, P "ref,AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=," K ","
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=,1");
	/* unpadded, url-safe, too short/long */
	expect_parse(WA_EMALFORMED, P "ref,AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8," K "," K ",1");
	expect_parse(WA_EMALFORMED, P "ref," K ",AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh-_," K ",1");
	expect_parse(WA_EMALFORMED, P "ref," K ",AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==," K ",1");
	expect_parse(WA_EMALFORMED, "");
	expect_parse(WA_EMALFORMED, P);
	char big[WA_QR_MAX_PAYLOAD_LEN + 2];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	expect_parse(WA_ETOOBIG, big);
	/* a ref of exactly the maximum is fine, one more is not */
	char ref[WA_QR_MAX_REF_LEN + 1];
	memset(ref, 'r', sizeof ref);
	uint8_t z[32] = { 0 };
	char *s = NULL;
	size_t n = 0;
	CHECK_EQ_INT(wa_qr_payload_build(&s, &n, ref, WA_QR_MAX_REF_LEN, z, z, z, "9"), 0);
	CHECK_EQ_INT(n, WA_QR_MAX_PAYLOAD_LEN - (WA_QR_MAX_PLATFORM_LEN - 1));
	wa_qr_payload p;
	CHECK_EQ_INT(wa_qr_payload_parse(&p, s, n), 0);
	wa_qr_string_free(s);
	s = NULL;
	CHECK_EQ_INT(wa_qr_payload_build(&s, &n, ref, WA_QR_MAX_REF_LEN + 1, z, z, z, "9"), WA_EINVAL);
	CHECK_EQ_INT(wa_qr_payload_build(&s, &n, "a,b", 3, z, z, z, "9"), WA_EINVAL);
	CHECK_EQ_INT(wa_qr_payload_build(&s, &n, "ab", 2, z, z, z, "X"), WA_EINVAL);
	CHECK_EQ_INT(wa_qr_payload_build(&s, &n, "ab", 2, z, z, z, ""), WA_EINVAL);
	CHECK(s == NULL);
}

/* ---- renderers ---- */

static wa_qr_matrix *sample_matrix(void)
{
	json_t *j = load_vectors("qr_payload.json");
	const char *txt = json_string_value(json_object_get(json_array_get(json_object_get(j, "cases"), 0), "qr"));
	wa_qr_matrix *m = NULL;
	CHECK(txt != NULL);
	if (txt)
		CHECK_EQ_INT(wa_qr_encode(&m, txt, strlen(txt), WA_QR_ECC_L), 0);
	json_decref(j);
	return m;
}

/* Decodes one terminal line into two rows of module colours (true = dark)
 * for a style, skipping SGR escapes. Returns the column count or -1. */
static int decode_line(const char *line, size_t len, enum wa_qr_text_style style,
	bool *top, bool *bot, int max)
{
	int col = 0;
	size_t i = 0;
	while (i < len) {
		if (line[i] == '\x1b') {
			while (i < len && line[i] != 'm')
				i++;
			i++;
			continue;
		}
		bool t, b;
		if (line[i] == ' ') {
			t = b = false;
			i++;
		} else if (len - i >= 3 && memcmp(line + i, "\xe2\x96", 2) == 0) {
			unsigned char g = (unsigned char)line[i + 2];
			if (g == 0x80) {
				t = true;
				b = false;
			} else if (g == 0x84) {
				t = false;
				b = true;
			} else if (g == 0x88) {
				t = b = true;
			} else {
				return -1;
			}
			i += 3;
		} else {
			return -1;
		}
		if (col >= max)
			return -1;
		top[col] = style == WA_QR_TEXT_PLAIN_INVERTED ? !t : t;
		bot[col] = style == WA_QR_TEXT_PLAIN_INVERTED ? !b : b;
		col++;
	}
	return col;
}

static void test_text(void)
{
	wa_qr_matrix *m = sample_matrix();
	if (!m)
		return;
	int size = wa_qr_matrix_size(m);
	CHECK(size >= 21 && size <= 177 && (size - 17) % 4 == 0);
	int span = size + 2 * WA_QR_QUIET;
	for (int style = 0; style <= 2; style++) {
		char *t = NULL;
		size_t n = 0;
		CHECK_EQ_INT(wa_qr_render_text(&t, &n, m, (enum wa_qr_text_style)style), 0);
		if (!t)
			continue;
		CHECK_EQ_INT(strlen(t), n);
		CHECK(n > 0 && t[n - 1] == '\n');
		int lines = 0;
		bool top[256], bot[256];
		const char *p = t;
		while (*p) {
			const char *nl = strchr(p, '\n');
			CHECK(nl != NULL);
			if (!nl)
				break;
			if (style == WA_QR_TEXT_ANSI) {
				CHECK(strncmp(p, "\x1b[30;107m", 9) == 0);
				CHECK(nl - p >= 4 && strncmp(nl - 4, "\x1b[0m", 4) == 0);
			} else {
				CHECK(memchr(p, '\x1b', (size_t)(nl - p)) == NULL);
			}
			int cols = decode_line(p, (size_t)(nl - p), (enum wa_qr_text_style)style, top, bot, 256);
			CHECK_EQ_INT(cols, span);
			for (int c = 0; c < cols; c++) {
				int x = c - WA_QR_QUIET, y = 2 * lines - WA_QR_QUIET;
				CHECK_EQ_INT(top[c], wa_qr_matrix_dark(m, x, y));
				if (2 * lines + 1 < span)
					CHECK_EQ_INT(bot[c], wa_qr_matrix_dark(m, x, y + 1));
			}
			lines++;
			p = nl + 1;
		}
		CHECK_EQ_INT(lines, (span + 1) / 2);
		free(t);
	}
	/* finder pattern sanity: top-left 7x7 corner is dark, (1,1) light */
	CHECK(wa_qr_matrix_dark(m, 0, 0) && wa_qr_matrix_dark(m, 6, 6) && !wa_qr_matrix_dark(m, 1, 1));
	CHECK(!wa_qr_matrix_dark(m, -1, 0) && !wa_qr_matrix_dark(m, size, 0));
	wa_qr_matrix_free(m);
}

static void test_png(void)
{
	wa_qr_matrix *m = sample_matrix();
	if (!m)
		return;
	int size = wa_qr_matrix_size(m);
	for (unsigned scale = 1; scale <= 5; scale += 2) {
		uint8_t *png = NULL;
		size_t n = 0;
		CHECK_EQ_INT(wa_qr_render_png(&png, &n, m, scale), 0);
		if (!png)
			continue;
		CHECK(n > 8 && memcmp(png, "\x89PNG\r\n\x1a\n", 8) == 0);
		png_image img;
		memset(&img, 0, sizeof img);
		img.version = PNG_IMAGE_VERSION;
		CHECK(png_image_begin_read_from_memory(&img, png, n) != 0);
		img.format = PNG_FORMAT_GRAY;
		unsigned px = (unsigned)(size + 2 * WA_QR_QUIET) * scale;
		CHECK_EQ_INT(img.width, px);
		CHECK_EQ_INT(img.height, px);
		uint8_t *bmp = malloc(PNG_IMAGE_SIZE(img));
		CHECK(png_image_finish_read(&img, NULL, bmp, 0, NULL) != 0);
		int bad = 0;
		for (unsigned y = 0; y < px; y++)
			for (unsigned x = 0; x < px; x++) {
				bool dark = wa_qr_matrix_dark(m, (int)(x / scale) - WA_QR_QUIET,
					(int)(y / scale) - WA_QR_QUIET);
				uint8_t want = dark ? 0 : 255;
				if (bmp[(size_t)y * px + x] != want)
					bad++;
			}
		CHECK_EQ_INT(bad, 0);
		free(bmp);
		png_image_free(&img);
		free(png);
	}
	uint8_t *png = NULL;
	size_t n = 0;
	CHECK_EQ_INT(wa_qr_render_png(&png, &n, m, 0), WA_EINVAL);
	CHECK_EQ_INT(wa_qr_render_png(&png, &n, m, WA_QR_MAX_SCALE + 1), WA_EINVAL);
	CHECK(png == NULL);
	/* the largest symbol at the largest scale still fits the caps */
	wa_qr_matrix *big = NULL;
	char txt[2900];
	for (size_t i = 0; i < sizeof txt; i++)
		txt[i] = (char)('!' + (i * 7) % 90);
	CHECK_EQ_INT(wa_qr_encode(&big, txt, sizeof txt, WA_QR_ECC_L), 0);
	if (big) {
		CHECK_EQ_INT(wa_qr_matrix_size(big), 177);
		CHECK_EQ_INT(wa_qr_render_png(&png, &n, big, WA_QR_MAX_SCALE), 0);
		free(png);
		char *svg = NULL;
		CHECK_EQ_INT(wa_qr_render_svg(&svg, &n, big, WA_QR_MAX_SCALE), 0);
		free(svg);
		CHECK_EQ_INT(wa_qr_render_text(&svg, &n, big, WA_QR_TEXT_ANSI), 0);
		free(svg);
		wa_qr_matrix_free(big);
	}
	wa_qr_matrix_free(m);
}

/* Rebuilds the bitmap from the SVG path ("M{x} {y}h{n}v1h-{n}z" runs). */
static void test_svg(void)
{
	wa_qr_matrix *m = sample_matrix();
	if (!m)
		return;
	int size = wa_qr_matrix_size(m);
	int span = size + 2 * WA_QR_QUIET;
	char *svg = NULL;
	size_t n = 0;
	CHECK_EQ_INT(wa_qr_render_svg(&svg, &n, m, 4), 0);
	if (!svg) {
		wa_qr_matrix_free(m);
		return;
	}
	CHECK_EQ_INT(strlen(svg), n);
	char hdr[128];
	snprintf(hdr, sizeof hdr, "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\"", span * 4, span * 4, span, span);
	CHECK(strstr(svg, hdr) != NULL);
	CHECK(strstr(svg, "</svg>\n") != NULL);
	uint8_t *bmp = calloc((size_t)span * (size_t)span, 1);
	const char *d = strstr(svg, " d=\"");
	CHECK(d != NULL);
	int runs = 0, bad = 0;
	for (const char *p = d ? d + 4 : ""; *p == 'M'; ) {
		int x, y, w, w2, used = 0;
		if (sscanf(p, "M%d %dh%dv1h-%dz%n", &x, &y, &w, &w2, &used) != 4 || used == 0) {
			bad++;
			break;
		}
		if (w != w2 || x < 0 || y < 0 || w < 1 || x + w > span || y >= span)
			bad++;
		else
			for (int i = 0; i < w; i++)
				bmp[(size_t)y * (size_t)span + (size_t)(x + i)] = 1;
		runs++;
		p += used;
	}
	CHECK(runs > 0);
	CHECK_EQ_INT(bad, 0);
	for (int y = 0; y < span; y++)
		for (int x = 0; x < span; x++)
			if (bmp[(size_t)y * (size_t)span + (size_t)x] !=
			    wa_qr_matrix_dark(m, x - WA_QR_QUIET, y - WA_QR_QUIET))
				bad++;
	CHECK_EQ_INT(bad, 0);
	free(bmp);
	free(svg);
	wa_qr_matrix_free(m);
}

static void test_encode_errors(void)
{
	wa_qr_matrix *m = NULL;
	CHECK_EQ_INT(wa_qr_encode(&m, "a\0b", 3, WA_QR_ECC_L), WA_EINVAL);
	CHECK_EQ_INT(wa_qr_encode(&m, "", 0, WA_QR_ECC_L), WA_EINVAL);
	CHECK_EQ_INT(wa_qr_encode(&m, "abc", 3, (enum wa_qr_ecc)7), WA_EINVAL);
	static char huge[WA_QR_MAX_TEXT_LEN + 1];
	memset(huge, 'x', sizeof huge);
	CHECK_EQ_INT(wa_qr_encode(&m, huge, sizeof huge, WA_QR_ECC_L), WA_ETOOBIG);
	/* fits L but not H: libqrencode's ERANGE surfaces as WA_ETOOBIG */
	CHECK_EQ_INT(wa_qr_encode(&m, huge, 2000, WA_QR_ECC_H), WA_ETOOBIG);
	CHECK(m == NULL);
	/* a higher level means a bigger symbol for the same text */
	const char *t = WA_QR_PREFIX "2@abcdefghijklmnopqrstuvwxyz," K "," K "," K ",1";
	wa_qr_matrix *l = NULL, *h = NULL;
	CHECK_EQ_INT(wa_qr_encode(&l, t, strlen(t), WA_QR_ECC_L), 0);
	CHECK_EQ_INT(wa_qr_encode(&h, t, strlen(t), WA_QR_ECC_H), 0);
	if (l && h)
		CHECK(wa_qr_matrix_size(l) < wa_qr_matrix_size(h));
	wa_qr_matrix_free(l);
	wa_qr_matrix_free(h);
	wa_qr_matrix_free(NULL);
}

int main(void)
{
	test_baileys_vectors();
	test_round_trip();
	test_parse_rejects();
	test_text();
	test_png();
	test_svg();
	test_encode_errors();
	return check_exit("test_qr");
}
