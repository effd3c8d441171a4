/* Interop driver for tests/interop/media.mjs: media encryption and
 * decryption on request through the streaming API, one text line in, one
 * out (hex; "-" stands for empty bytes).
 *   E <type> <mediaKey> <plaintext> <chunk>
 *       -> "<blob> <mac> <fileSha256> <fileEncSha256> <fileLength>"
 *   D <type> <mediaKey> <blob> <fileEncSha256|-> <fileSha256|-> <chunk>
 *       -> "OK <plaintext>"
 * <type> is a Baileys media type name. Errors answer "ERR <WA_E name>". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "media/cipher.h"
#include "media/keys.h"
#include "util/codec.h"

static uint8_t *unhex(const char *h, size_t *n)
{
	uint8_t *b = NULL;
	if (!h)
		return NULL;
	if (strcmp(h, "-") == 0) {
		*n = 0;
		return calloc(1, 1);
	}
	if (wa_hex_decode(h, strlen(h), &b, n) != 0)
		return NULL;
	return b ? b : calloc(1, 1);
}

static void put_hex(const uint8_t *p, size_t n)
{
	if (n == 0) {
		fputs("-", stdout);
		return;
	}
	char *h = wa_hex_encode(p, n);
	fputs(h ? h : "?", stdout);
	free(h);
}

static int keys_for(wa_media_keys *k, const char *type, const char *mk_hex)
{
	enum wa_media_type t;
	size_t n = 0;
	int rc = type ? wa_media_type_from_name(&t, type) : WA_EINVAL;
	if (rc != 0)
		return rc;
	uint8_t *mk = unhex(mk_hex, &n);
	if (!mk || n != WA_MEDIA_KEY_LEN) {
		free(mk);
		return WA_EINVAL;
	}
	rc = wa_media_keys_derive(k, mk, t);
	free(mk);
	return rc;
}

static int do_encrypt(char **f)
{
	wa_media_keys k;
	size_t pn = 0, chunk = f[3] ? strtoul(f[3], NULL, 10) : 0;
	int rc = keys_for(&k, f[0], f[1]);
	uint8_t *pt = unhex(f[2], &pn);
	if (rc == 0 && (!pt || chunk == 0))
		rc = WA_EINVAL;
	uint8_t *blob = rc == 0 ? malloc(pn + 16 + chunk + WA_MEDIA_ENC_FINAL_OUT) : NULL;
	wa_media_enc *e = NULL;
	wa_media_result r;
	size_t w = 0, o = 0;
	if (rc == 0 && !blob)
		rc = WA_ENOMEM;
	if (rc == 0)
		rc = wa_media_enc_new(&e, &k, 0);
	for (size_t off = 0; rc == 0 && off < pn; off += chunk) {
		size_t c = pn - off < chunk ? pn - off : chunk;
		rc = wa_media_enc_update(e, blob + w, c + 16, &o, pt + off, c);
		w += rc == 0 ? o : 0;
	}
	if (rc == 0)
		rc = wa_media_enc_final(e, blob + w, WA_MEDIA_ENC_FINAL_OUT, &o, &r);
	if (rc == 0) {
		w += o;
		put_hex(blob, w);
		putchar(' ');
		put_hex(r.mac, sizeof r.mac);
		putchar(' ');
		put_hex(r.file_sha256, 32);
		putchar(' ');
		put_hex(r.file_enc_sha256, 32);
		printf(" %llu\n", (unsigned long long)r.file_length);
	}
	wa_media_enc_free(e);
	wa_media_keys_clear(&k);
	free(pt);
	free(blob);
	return rc;
}

static int do_decrypt(char **f)
{
	wa_media_keys k;
	size_t bn = 0, en = 0, fn = 0, chunk = f[5] ? strtoul(f[5], NULL, 10) : 0;
	int rc = keys_for(&k, f[0], f[1]);
	uint8_t *blob = unhex(f[2], &bn), *enc = unhex(f[3], &en), *fsh = unhex(f[4], &fn);
	if (rc == 0 && (!blob || !enc || !fsh || chunk == 0 || (en && en != 32) || (fn && fn != 32)))
		rc = WA_EINVAL;
	wa_media_dec *d = NULL;
	uint8_t *out = NULL;
	size_t w = 0, o = 0;
	if (rc == 0)
		rc = wa_media_dec_new(&d, &k, 0);
	for (size_t off = 0; rc == 0 && off < bn; off += chunk)
		rc = wa_media_dec_verify_update(d, blob + off, bn - off < chunk ? bn - off : chunk);
	if (rc == 0)
		rc = wa_media_dec_verify_final(d, en ? enc : NULL);
	if (rc == 0 && !(out = malloc(bn + 16 + chunk)))
		rc = WA_ENOMEM;
	for (size_t off = 0; rc == 0 && off < bn; off += chunk) {
		size_t c = bn - off < chunk ? bn - off : chunk;
		rc = wa_media_dec_update(d, out + w, c + 16, &o, blob + off, c);
		w += rc == 0 ? o : 0;
	}
	if (rc == 0)
		rc = wa_media_dec_final(d, out + w, 16, &o, fn ? fsh : NULL, NULL);
	if (rc == 0) {
		fputs("OK ", stdout);
		put_hex(out, w + o);
		putchar('\n');
	}
	wa_media_dec_free(d);
	wa_media_keys_clear(&k);
	free(blob);
	free(enc);
	free(fsh);
	free(out);
	return rc;
}

int main(void)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	while ((len = getline(&line, &cap, stdin)) > 0) {
		if (line[len - 1] == '\n')
			line[--len] = '\0';
		char *f[7] = { 0 };
		char *save = NULL;
		char *cmd = strtok_r(line, " ", &save);
		for (int i = 0; i < 7; i++)
			f[i] = strtok_r(NULL, " ", &save);
		int rc = WA_EINVAL;
		if (cmd && strcmp(cmd, "E") == 0)
			rc = do_encrypt(f);
		else if (cmd && strcmp(cmd, "D") == 0)
			rc = do_decrypt(f);
		if (rc != 0)
			printf("ERR %s\n", wa_errname(rc));
		fflush(stdout);
	}
	free(line);
	return 0;
}
