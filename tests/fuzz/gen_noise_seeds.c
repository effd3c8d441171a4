/* Writes seed inputs for fuzz_noise_handshake into the directory given as
 * argv[1]: a valid message for each mode (made with the same fixed keys the
 * target uses) plus a few broken ones. Run by hand when the target's setup
 * changes: build/…/tests/fuzz/gen_noise_seeds tests/fuzz/corpus/noise_handshake */
#include <stdio.h>

#include "noise_fuzz_common.h"

static void put(const char *dir, const char *name, uint8_t mode, const uint8_t *p, size_t n)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f) {
		perror(path);
		exit(1);
	}
	fputc(mode, f);
	if (n)
		fwrite(p, 1, n, f);
	fclose(f);
}

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	struct fz_keys k;
	fz_keys_init(&k);
	wa_noise_hs *i = NULL, *r = NULL;
	wa_writer w1, w2, w3;
	wa_writer_init(&w1, WA_NOISE_MAX_HS_MSG);
	wa_writer_init(&w2, WA_NOISE_MAX_HS_MSG);
	wa_writer_init(&w3, WA_NOISE_MAX_HS_MSG);
	const uint8_t pl[] = { 0x08, 0x01 };
	/* creation order and calls mirror the target so the "random" ephemerals match */
	if (wa_noise_hs_new_initiator(&i, &k.client, pl, sizeof pl, &k.trust, NULL) ||
	    wa_noise_hs_new_responder(&r, &k.server, k.chain, k.chain_len, NULL) ||
	    wa_noise_hs_write_client_hello(i, &w1) || wa_noise_hs_read_client_hello(r, w1.p, w1.len) ||
	    wa_noise_hs_write_server_hello(r, &w2) || wa_noise_hs_read_server_hello(i, w2.p, w2.len) ||
	    wa_noise_hs_write_client_finish(i, &w3) || wa_noise_hs_read_client_finish(r, w3.p, w3.len)) {
		fprintf(stderr, "handshake failed: %s\n", wa_noise_hs_error_reason(i) ? wa_noise_hs_error_reason(i) : "?");
		return 1;
	}
	put(argv[1], "server-hello-valid", FZ_SERVER_HELLO, w2.p, w2.len);
	put(argv[1], "client-hello-valid", FZ_CLIENT_HELLO, w1.p, w1.len);
	put(argv[1], "client-finish-valid", FZ_CLIENT_FINISH, w3.p, w3.len);
	put(argv[1], "cert-chain-valid", FZ_CERT_CHAIN, k.chain, k.chain_len);
	put(argv[1], "server-hello-truncated", FZ_SERVER_HELLO, w2.p, w2.len / 2);
	put(argv[1], "client-hello-empty", FZ_CLIENT_HELLO, NULL, 0);
	const uint8_t fake_chain[] = { 0x0a, 0x00, 0x12 };
	put(argv[1], "cert-chain-truncated", FZ_CERT_CHAIN, fake_chain, sizeof fake_chain);
	wa_noise_hs_free(i);
	wa_noise_hs_free(r);
	wa_writer_clear(&w1, false);
	wa_writer_clear(&w2, false);
	wa_writer_clear(&w3, false);
	fz_keys_clear(&k);
	return 0;
}
