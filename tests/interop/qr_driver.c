/* Interop driver for tests/interop/qr.mjs: builds and parses pairing QR
 * strings on request, one text line in, one line out.
 *   B <ref> <noise hex> <identity hex> <adv hex> <platform|->  -> the string
 *   P <string>        -> "<ref> <noise> <identity> <adv> <platform|->"
 *   T <string>        -> "<modules per side> <png bytes> <text lines>"
 *                        (renders at ECC L: sanity only, decoding is the
 *                        unit test's job)
 * Errors answer "ERR <WA_E name>". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qr/payload.h"
#include "qr/render.h"
#include "util/codec.h"

static int unhex32(uint8_t out[32], const char *h)
{
	uint8_t *b = NULL;
	size_t n = 0;
	if (!h || wa_hex_decode(h, strlen(h), &b, &n) != 0)
		return -1;
	int ok = n == 32;
	if (ok)
		memcpy(out, b, 32);
	free(b);
	return ok ? 0 : -1;
}

static void put_hex(const uint8_t *p, size_t n)
{
	char *h = wa_hex_encode(p, n);
	fputs(h ? h : "?", stdout);
	free(h);
}

int main(void)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	setvbuf(stdout, NULL, _IOLBF, 0); /* one answer per line, never held back */
	while ((len = getline(&line, &cap, stdin)) > 0) {
		if (line[len - 1] == '\n')
			line[--len] = '\0';
		if (len < 2)
			continue;
		char *arg = line + 2;
		if (line[0] == 'B') {
			char *save = NULL;
			char *ref = strtok_r(arg, " ", &save);
			char *k[3] = { strtok_r(NULL, " ", &save), strtok_r(NULL, " ", &save),
				strtok_r(NULL, " ", &save) };
			char *plat = strtok_r(NULL, " ", &save);
			uint8_t key[3][32];
			if (!ref || !plat || unhex32(key[0], k[0]) || unhex32(key[1], k[1]) ||
			    unhex32(key[2], k[2])) {
				puts("ERR usage");
				continue;
			}
			char *s = NULL;
			size_t n = 0;
			int rc = wa_qr_payload_build(&s, &n, ref, strlen(ref), key[0], key[1], key[2],
				strcmp(plat, "-") == 0 ? NULL : plat);
			if (rc != 0) {
				printf("ERR %s\n", wa_errname(rc));
				continue;
			}
			puts(s);
			wa_qr_string_free(s);
		} else if (line[0] == 'P') {
			wa_qr_payload p;
			int rc = wa_qr_payload_parse(&p, arg, (size_t)len - 2);
			if (rc != 0) {
				printf("ERR %s\n", wa_errname(rc));
				continue;
			}
			printf("%s ", p.ref);
			put_hex(p.noise_pub, 32);
			putchar(' ');
			put_hex(p.identity_pub, 32);
			putchar(' ');
			put_hex(p.adv_secret, 32);
			printf(" %s\n", p.platform[0] ? p.platform : "-");
			wa_qr_payload_clear(&p);
		} else if (line[0] == 'T') {
			wa_qr_matrix *m = NULL;
			uint8_t *png = NULL;
			char *txt = NULL;
			size_t pn = 0, tn = 0;
			int rc = wa_qr_encode(&m, arg, (size_t)len - 2, WA_QR_ECC_L);
			if (rc == 0)
				rc = wa_qr_render_png(&png, &pn, m, 4);
			if (rc == 0)
				rc = wa_qr_render_text(&txt, &tn, m, WA_QR_TEXT_PLAIN);
			if (rc != 0) {
				printf("ERR %s\n", wa_errname(rc));
			} else {
				size_t lines = 0;
				for (size_t i = 0; i < tn; i++)
					lines += txt[i] == '\n';
				printf("%d %zu %zu\n", wa_qr_matrix_size(m), pn, lines);
			}
			free(png);
			free(txt);
			wa_qr_matrix_free(m);
		} else {
			puts("ERR command");
		}
	}
	free(line);
	return 0;
}
