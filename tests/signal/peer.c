/* Test fixture (peer.h). */
#include "peer.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "util/seams.h"

static uint64_t rand_state;

uint64_t test_rand_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static void rand_fill(void *buf, size_t n, void *user)
{
	uint64_t *s = user;
	uint8_t *p = buf;
	while (n) {
		uint64_t v = test_rand_next(s);
		size_t k = n < 8 ? n : 8;
		memcpy(p, &v, k);
		p += k;
		n -= k;
	}
}

void test_rand_seed(uint64_t seed)
{
	rand_state = seed;
	wa_rand_override(rand_fill, &rand_state);
}

int test_peer_open(test_peer *p, const char *path, const char *name)
{
	memset(p, 0, sizeof *p);
	int rc = wa_store_open(path, NULL, &p->st);
	if (rc)
		return rc;
	wa_store_creds *c = calloc(1, sizeof *c);
	if (!c)
		rc = WA_ENOMEM;
	if (rc || (rc = wa_store_instance_find(p->st, name, &p->inst)) ||
	    (rc = wa_sig_new(p->st, p->inst, &p->sig)) || (rc = wa_store_creds_load(p->st, p->inst, c))) {
		free(c);
		test_peer_close(p);
		return rc;
	}
	p->spk.id = c->signed_prekey_id;
	memcpy(p->spk.pub, c->signed_prekey_pub, 32);
	memcpy(p->spk.sig, c->signed_prekey_sig, 64);
	sodium_memzero(c, sizeof *c);
	free(c);
	return 0;
}

/* WA_TEST_PEER_EXCLUSIVE=1 opens the peers' stores as wamd does (exclusive,
 * so the session-record cache is on): meson runs the Signal tests both ways. */
int test_peer_create(test_peer *p, const char *path, const char *name, uint32_t first_pk, size_t n_pk)
{
	static const wa_store_opts xo = { .exclusive = true };
	const char *x = getenv("WA_TEST_PEER_EXCLUSIVE");
	return test_peer_create_opts(p, path, x && strcmp(x, "1") == 0 ? &xo : NULL, name, first_pk, n_pk);
}

int test_peer_create_opts(test_peer *p, const char *path, const wa_store_opts *o, const char *name,
	uint32_t first_pk, size_t n_pk)
{
	memset(p, 0, sizeof *p);
	if (n_pk > sizeof p->pk / sizeof p->pk[0])
		return WA_EINVAL;
	wa_store_creds *c = calloc(1, sizeof *c);
	if (!c)
		return WA_ENOMEM;
	int rc = wa_store_open(path, o, &p->st);
	if (rc)
		goto out;
	if ((rc = wa_store_instance_create(p->st, name, &p->inst)) || (rc = wa_sig_identity_generate(c)) ||
	    (rc = wa_store_creds_save(p->st, p->inst, c)) || (rc = wa_sig_new(p->st, p->inst, &p->sig)) ||
	    (rc = wa_sig_signed_prekey_generate(p->sig, 1, 1700000000000ull, &p->spk)))
		goto out;
	if (n_pk && (rc = wa_sig_prekeys_generate(p->sig, first_pk, n_pk, p->pk, NULL)))
		goto out;
	p->n_pk = n_pk;
	/* keep the creds' copy of the signed pre-key in step, as the session layer will */
	c->signed_prekey_id = p->spk.id;
	memcpy(c->signed_prekey_pub, p->spk.pub, 32);
	memcpy(c->signed_prekey_sig, p->spk.sig, 64);
	rc = wa_store_creds_save(p->st, p->inst, c);
out:
	sodium_memzero(c, sizeof *c);
	free(c);
	if (rc)
		test_peer_close(p);
	return rc;
}

void test_peer_close(test_peer *p)
{
	wa_sig_free(p->sig);
	wa_store_close(p->st);
	memset(p, 0, sizeof *p);
}

void test_peer_bundle(test_peer *p, int with_prekey, wa_sig_bundle *b)
{
	memset(b, 0, sizeof *b);
	b->registration_id = wa_sig_registration_id(p->sig);
	wa_sig_identity_public(p->sig, b->identity);
	b->signed_prekey_id = p->spk.id;
	memcpy(b->signed_prekey, p->spk.pub, 32);
	memcpy(b->signed_prekey_sig, p->spk.sig, 64);
	if (with_prekey && p->next_pk < p->n_pk) {
		b->has_prekey = true;
		b->prekey_id = p->pk[p->next_pk].id;
		memcpy(b->prekey, p->pk[p->next_pk].pub, 32);
		p->next_pk++;
	}
}
