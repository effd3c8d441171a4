/* Deterministic key material and seams shared by fuzz_noise_handshake and
 * its seed generator (gen_noise_seeds.c), so committed seeds stay valid:
 * fixed keys, a counter-based "random" source and a fixed clock. */
#ifndef WA_NOISE_FUZZ_COMMON_H
#define WA_NOISE_FUZZ_COMMON_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "noise/cert.h"
#include "noise/handshake.h"
#include "util/seams.h"

enum { FZ_SERVER_HELLO = 0, FZ_CLIENT_HELLO = 1, FZ_CLIENT_FINISH = 2, FZ_CERT_CHAIN = 3, FZ_MODES = 4 };

#define FZ_NOW_MS 1700000000000LL

static uint8_t fz_counter;
static void fz_rand(void *buf, size_t n, void *user)
{
	(void)user;
	memset(buf, 0x50 + (fz_counter++ & 0x0f), n);
}
static int64_t fz_clock(void *user)
{
	(void)user;
	return FZ_NOW_MS;
}

struct fz_keys {
	wa_keypair root, inter, server, client;
	wa_noise_trust trust;
	uint8_t *chain;
	size_t chain_len;
};

/* Same keys and chain on every call; free with fz_keys_clear. */
static void fz_keys_init(struct fz_keys *k)
{
	uint8_t raw[32];
	wa_rand_override(fz_rand, NULL);
	wa_clock_override(fz_clock, NULL);
	fz_counter = 0;
	memset(raw, 0x01, 32);
	wa_keypair_from_private(&k->root, raw);
	memset(raw, 0x02, 32);
	wa_keypair_from_private(&k->inter, raw);
	memset(raw, 0x03, 32);
	wa_keypair_from_private(&k->server, raw);
	memset(raw, 0x04, 32);
	wa_keypair_from_private(&k->client, raw);
	memcpy(k->trust.root_pub, k->root.pub, 32);
	k->trust.root_serial = 0;
	uint64_t now = FZ_NOW_MS / 1000;
	wa_noise_cert_spec is = { .serial = 1, .issuer_serial = 0, .not_before = now - 10, .not_after = now + 10 };
	wa_noise_cert_spec ls = { .serial = 2, .issuer_serial = 1, .not_before = now - 10, .not_after = now + 10 };
	memcpy(is.key, k->inter.pub, 32);
	memcpy(ls.key, k->server.pub, 32);
	if (wa_noise_cert_chain_build(&k->chain, &k->chain_len, k->root.priv, &is, k->inter.priv, &ls) != 0)
		abort();
	fz_counter = 0; /* handshakes start from the same "random" state */
}

static void fz_keys_clear(struct fz_keys *k)
{
	free(k->chain);
	k->chain = NULL;
}

#endif
