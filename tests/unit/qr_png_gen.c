/* Writes PNGs of pairing QR strings for tests/unit/qr_zbar.sh, which reads
 * them back with zbarimg (ZBar, an independent QR decoder). For each case
 * i: DIR/i.png and DIR/i.txt (the expected text). Cases: random keys and
 * refs through wa_qr_payload_build, at every ECC level and scales 2..4.
 * usage: qr_png_gen DIR COUNT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qr/payload.h"
#include "qr/render.h"

static uint64_t st = 0x2545f4914f6cdd1dull;
static uint8_t rnd(void)
{
	st ^= st << 13;
	st ^= st >> 7;
	st ^= st << 17;
	return (uint8_t)(st >> 32);
}

static int write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	size_t w = fwrite(p, 1, n, f);
	return (fclose(f) == 0 && w == n) ? 0 : -1;
}

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	int count = atoi(argv[2]);
	char path[4096];
	for (int i = 0; i < count; i++) {
		uint8_t k[3][32];
		for (int a = 0; a < 3; a++)
			for (int b = 0; b < 32; b++)
				k[a][b] = rnd();
		char ref[100];
		size_t ref_len = 20 + rnd() % 80;
		static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=@";
		for (size_t j = 0; j < ref_len; j++)
			ref[j] = alpha[rnd() % (sizeof alpha - 1)];
		char *s = NULL;
		size_t n = 0;
		wa_qr_matrix *m = NULL;
		uint8_t *png = NULL;
		size_t pn = 0;
		if (wa_qr_payload_build(&s, &n, ref, ref_len, k[0], k[1], k[2], i % 2 ? "1" : "7") != 0 ||
		    wa_qr_encode(&m, s, n, (enum wa_qr_ecc)(i % 4)) != 0 ||
		    wa_qr_render_png(&png, &pn, m, 2 + (unsigned)(i % 3)) != 0) {
			fprintf(stderr, "case %d: render failed\n", i);
			return 1;
		}
		snprintf(path, sizeof path, "%s/%d.png", argv[1], i);
		if (write_file(path, png, pn) != 0)
			return 1;
		snprintf(path, sizeof path, "%s/%d.txt", argv[1], i);
		if (write_file(path, s, n) != 0)
			return 1;
		free(png);
		wa_qr_matrix_free(m);
		wa_qr_string_free(s);
	}
	return 0;
}
