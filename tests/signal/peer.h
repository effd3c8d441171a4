/* Test fixture shared by the signal unit, interop, crash and fuzz programs:
 * one instance on its own store file with fresh keys, its bundle, and a
 * seeded deterministic wa_rand_bytes. */
#ifndef WA_TEST_SIGNAL_PEER_H
#define WA_TEST_SIGNAL_PEER_H

#include <stdint.h>

#include "signal/cipher.h"
#include "signal/context.h"
#include "signal/prekeys.h"
#include "store/store.h"

typedef struct test_peer {
	wa_store *st;
	int64_t inst;
	wa_sig *sig;
	wa_sig_signed_prekey spk;
	wa_sig_prekey pk[8];
	size_t n_pk;
	size_t next_pk; /* next one-time key to hand out in a bundle */
} test_peer;

/* Installs a splitmix64 stream as wa_rand_bytes. */
void test_rand_seed(uint64_t seed);
/* A non-crypto PRNG for test decisions (same generator, separate state). */
uint64_t test_rand_next(uint64_t *state);

/* Opens path (created), instance "name", new identity + signed pre-key 1 +
 * n_pk (<= 8) one-time pre-keys starting at first_pk. 0 or WA_E*. */
int test_peer_create(test_peer *p, const char *path, const char *name, uint32_t first_pk, size_t n_pk);
/* The same with store options (NULL: the defaults). */
int test_peer_create_opts(test_peer *p, const char *path, const wa_store_opts *o, const char *name,
	uint32_t first_pk, size_t n_pk);
/* Reopens an existing store at path (instance "name") after a restart. */
int test_peer_open(test_peer *p, const char *path, const char *name);
void test_peer_close(test_peer *p);
/* The bundle this peer would publish; with_prekey uses the next unused one-time key. */
void test_peer_bundle(test_peer *p, int with_prekey, wa_sig_bundle *b);

#endif
