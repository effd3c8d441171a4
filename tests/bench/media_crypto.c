/* bench_media_crypto [out.json or -] [MiB=256] [chunk_KiB=64]: the media crypto
 * alone (src/media, what wamd runs on every byte of a media file), on one
 * core, from memory to memory in the chunk size the session layer uses:
 *   encrypt: AES-256-CBC + HMAC-SHA256 + SHA-256 of plaintext and blob
 *            (wa_media_enc_update/_final, what an upload computes);
 *   verify:  pass 1 of a download, HMAC + SHA-256 over the blob;
 *   decrypt: pass 2, AES-256-CBC decryption + the MAC again + SHA-256 of
 *            the plaintext;
 *   verify+decrypt: both passes, what a download costs.
 * MB/s = plaintext MB (10^6 bytes) per CPU second of this process
 * (CLOCK_PROCESS_CPUTIME_ID: other load on the machine changes it little).
 * The best of three rounds is printed, and the decrypted bytes are checked
 * against the plaintext so the figures are of real work. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "media/cipher.h"
#include "media/keys.h"

static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "bench_media_crypto: %s failed (%d)\n", what, rc);
	exit(1);
}

int main(int argc, char **argv)
{
	const char *out_path = argc > 1 && argv[1][0] && strcmp(argv[1], "-") != 0 ? argv[1] : NULL;
	size_t mib = argc > 2 ? strtoul(argv[2], NULL, 10) : 256;
	size_t chunk = (argc > 3 ? strtoul(argv[3], NULL, 10) : 64) * 1024;
	if (mib == 0 || mib > 4096 || chunk == 0 || chunk > (64u << 20)) {
		fprintf(stderr, "usage: bench_media_crypto [out.json] [MiB 1..4096] [chunk_KiB]\n");
		return 2;
	}
	size_t n = mib << 20;
	size_t blob_cap = (size_t)WA_MEDIA_BLOB_LEN(n);
	uint8_t *pt = malloc(n), *blob = malloc(blob_cap), *back = malloc(n + 32);
	uint8_t mk[WA_MEDIA_KEY_LEN];
	if (!pt || !blob || !back)
		die("malloc", -1);
	/* cheap non-constant plaintext (the ciphers do not care what it is) */
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (size_t i = 0; i < n; i += 8) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		memcpy(pt + i, &x, n - i < 8 ? n - i : 8);
	}
	for (size_t i = 0; i < sizeof(mk); i++)
		mk[i] = (uint8_t)(i * 7 + 1);
	wa_media_keys keys;
	int rc = wa_media_keys_derive(&keys, mk, WA_MEDIA_DOCUMENT);
	if (rc)
		die("keys", rc);
	double best[4] = { 1e9, 1e9, 1e9, 1e9 };
	size_t blob_len = 0;
	for (int round = 0; round < 3; round++) {
		/* encrypt */
		double t0 = cpu_s();
		wa_media_enc *e;
		wa_media_result res;
		size_t o = 0, w;
		if ((rc = wa_media_enc_new(&e, &keys, 0)))
			die("enc_new", rc);
		for (size_t off = 0; off < n; off += chunk) {
			size_t len = n - off < chunk ? n - off : chunk;
			if ((rc = wa_media_enc_update(e, blob + o, blob_cap - o, &w, pt + off, len)))
				die("enc_update", rc);
			o += w;
		}
		if ((rc = wa_media_enc_final(e, blob + o, blob_cap - o, &w, &res)))
			die("enc_final", rc);
		o += w;
		wa_media_enc_free(e);
		double t1 = cpu_s();
		blob_len = o;
		/* pass 1: verify */
		wa_media_dec *d;
		if ((rc = wa_media_dec_new(&d, &keys, 0)))
			die("dec_new", rc);
		for (size_t off = 0; off < blob_len; off += chunk)
			if ((rc = wa_media_dec_verify_update(d, blob + off, blob_len - off < chunk ? blob_len - off : chunk)))
				die("verify_update", rc);
		if ((rc = wa_media_dec_verify_final(d, res.file_enc_sha256)))
			die("verify_final", rc);
		double t2 = cpu_s();
		/* pass 2: decrypt */
		size_t p = 0;
		for (size_t off = 0; off < blob_len; off += chunk) {
			size_t len = blob_len - off < chunk ? blob_len - off : chunk;
			if ((rc = wa_media_dec_update(d, back + p, n + 32 - p, &w, blob + off, len)))
				die("dec_update", rc);
			p += w;
		}
		if ((rc = wa_media_dec_final(d, back + p, n + 32 - p, &w, res.file_sha256, NULL)))
			die("dec_final", rc);
		p += w;
		wa_media_dec_free(d);
		double t3 = cpu_s();
		if (p != n || memcmp(back, pt, n) != 0)
			die("round trip", -1);
		double f[4] = { t1 - t0, t2 - t1, t3 - t2, t3 - t1 };
		for (int i = 0; i < 4; i++)
			if (f[i] < best[i])
				best[i] = f[i];
	}
	wa_media_keys_clear(&keys);
	static const char *names[4] = { "encrypt", "verify", "decrypt", "verify_decrypt" };
	static const char *what[4] = { "encrypt (AES-CBC + HMAC + both SHA-256)", "verify (pass 1: HMAC + SHA-256 of the blob)",
		"decrypt (pass 2: AES-CBC + HMAC + SHA-256)", "download = verify + decrypt" };
	double mb = (double)n / 1e6;
	printf("media crypto, one core, %zu MiB in %zu KiB chunks (best of 3, CPU time)\n", mib, chunk / 1024);
	for (int i = 0; i < 4; i++)
		printf("  %-45s %8.1f MB/s  (%.3f s)\n", what[i], mb / best[i], best[i]);
	if (out_path) {
		FILE *f = fopen(out_path, "w");
		if (!f)
			die("open out.json", -1);
		fprintf(f, "{\"bench\":\"media_crypto\",\"mib\":%zu,\"chunk_kib\":%zu", mib, chunk / 1024);
		for (int i = 0; i < 4; i++)
			fprintf(f, ",\"%s_mb_s\":%.1f", names[i], mb / best[i]);
		fprintf(f, "}\n");
		fclose(f);
	}
	free(pt);
	free(blob);
	free(back);
	return 0;
}
