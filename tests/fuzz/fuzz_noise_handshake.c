/* Fuzz target: the Noise handshake message parsers. The first input byte
 * picks what the rest is fed to:
 *   0  a ServerHello to an initiator that has sent its ClientHello
 *   1  a ClientHello to a fresh responder (then the server hello is written)
 *   2  a ClientFinish to a responder that has sent a real ServerHello
 *   3  a serialized CertChain to the chain verifier
 * Keys and randomness are fixed (noise_fuzz_common.h), so seeds made by
 * gen_noise_seeds.c reach the success paths. */
#include "noise_fuzz_common.h"

#include "noise/cipher.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int mode = data[0] % FZ_MODES;
	data++;
	size--;
	struct fz_keys k;
	fz_keys_init(&k);
	wa_noise_hs *i = NULL, *r = NULL;
	wa_writer w1, w2, w3;
	wa_writer_init(&w1, WA_NOISE_MAX_HS_MSG);
	wa_writer_init(&w2, WA_NOISE_MAX_HS_MSG);
	wa_writer_init(&w3, WA_NOISE_MAX_HS_MSG);
	const uint8_t pl[] = { 0x08, 0x01 };
	if (wa_noise_hs_new_initiator(&i, &k.client, pl, sizeof pl, &k.trust, NULL) != 0 ||
	    wa_noise_hs_new_responder(&r, &k.server, k.chain, k.chain_len, NULL) != 0)
		abort();
	wa_noise_transport *t = NULL;
	switch (mode) {
	case FZ_SERVER_HELLO:
		if (wa_noise_hs_write_client_hello(i, &w1) != 0)
			abort();
		if (wa_noise_hs_read_server_hello(i, data, size) == 0 &&
		    wa_noise_hs_write_client_finish(i, &w3) == 0 && wa_noise_hs_split(i, &t) == 0)
			wa_noise_transport_free(t);
		break;
	case FZ_CLIENT_HELLO:
		if (wa_noise_hs_read_client_hello(r, data, size) == 0)
			(void)!wa_noise_hs_write_server_hello(r, &w2);
		break;
	case FZ_CLIENT_FINISH:
		if (wa_noise_hs_write_client_hello(i, &w1) != 0 ||
		    wa_noise_hs_read_client_hello(r, w1.p, w1.len) != 0 ||
		    wa_noise_hs_write_server_hello(r, &w2) != 0)
			abort();
		if (wa_noise_hs_read_client_finish(r, data, size) == 0) {
			const uint8_t *p;
			size_t n;
			if (wa_noise_hs_client_payload(r, &p, &n) != 0)
				abort();
			if (wa_noise_hs_split(r, &t) == 0)
				wa_noise_transport_free(t);
		}
		break;
	case FZ_CERT_CHAIN: {
		const char *why = NULL;
		int rc = wa_noise_cert_chain_verify(data, size, k.server.pub, &k.trust, FZ_NOW_MS, &why);
		if ((rc == 0) != (why == NULL))
			abort(); /* a failure always comes with its reason */
		break;
	}
	}
	wa_noise_hs_free(i);
	wa_noise_hs_free(r);
	wa_writer_clear(&w1, false);
	wa_writer_clear(&w2, false);
	wa_writer_clear(&w3, false);
	fz_keys_clear(&k);
	wa_rand_override(NULL, NULL);
	wa_clock_override(NULL, NULL);
	return 0;
}
