/* Fuzz target: hostile pkmsg/msg/skmsg ciphertexts into wa_sig. First byte
 * picks the type (0 msg, 1 pkmsg, 2 skmsg), the rest is the ciphertext, fed
 * to peer B from sender A. Any result is allowed except a crash, and after
 * every input the sessions must still work: a fresh message and a fresh
 * group message from A decrypt on B, and B's answer decrypts on A (abort
 * otherwise). State is built once per process from a fixed seed, so the
 * committed seeds (real ciphertexts from the same deterministic setup:
 * WA_FUZZ_SIGNAL_CORPUS_OUT=dir writes them) match it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "peer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define GROUP "120363000000000001@g.us"

static test_peer a, b;
static char dir[64];
static int ready;

static void die(const char *what, int rc)
{
	fprintf(stderr, "fuzz_signal_decrypt: %s: %s\n", what, wa_errname(rc));
	abort();
}

static void cleanup(void)
{
	test_peer_close(&a);
	test_peer_close(&b);
	static const char *names[] = { "a", "b" };
	static const char *sfx[] = { ".db", ".db-wal", ".db-shm", ".db-journal" };
	char p[128];
	for (size_t i = 0; i < 2; i++)
		for (size_t j = 0; j < 4; j++) {
			snprintf(p, sizeof p, "%s/%s%s", dir, names[i], sfx[j]);
			unlink(p);
		}
	rmdir(dir);
}

static void seed_file(const char *out, const char *name, uint8_t type, const uint8_t *p, size_t n)
{
	if (!out)
		return;
	char path[512];
	snprintf(path, sizeof path, "%s/%s", out, name);
	FILE *f = fopen(path, "wb");
	if (!f)
		return;
	fwrite(&type, 1, 1, f);
	fwrite(p, 1, n, f);
	fclose(f);
}

/* a -> b 1:1 and group, b -> a: all must decrypt. */
static void check_alive(const char *corpus_out)
{
	enum wa_sig_msg_type t;
	uint8_t *ct, *pt;
	size_t ct_len, pt_len;
	static const uint8_t msg[] = "still alive";
	int rc = wa_sig_encrypt(a.sig, "b", 1, msg, sizeof msg, &t, &ct, &ct_len);
	if (rc)
		die("encrypt a->b", rc);
	seed_file(corpus_out, "msg", 0, ct, ct_len);
	if ((rc = wa_sig_decrypt(b.sig, "a", 1, t, ct, ct_len, &pt, &pt_len)))
		die("decrypt a->b after input", rc);
	if (pt_len != sizeof msg || memcmp(pt, msg, pt_len))
		die("plaintext a->b", WA_ECRYPTO);
	free(ct);
	free(pt);
	if ((rc = wa_sig_group_encrypt(a.sig, GROUP, "a", 1, msg, sizeof msg, &ct, &ct_len)))
		die("group encrypt", rc);
	seed_file(corpus_out, "skmsg", 2, ct, ct_len);
	if ((rc = wa_sig_group_decrypt(b.sig, GROUP, "a", 1, ct, ct_len, &pt, &pt_len)))
		die("group decrypt after input", rc);
	free(ct);
	free(pt);
	if ((rc = wa_sig_encrypt(b.sig, "a", 1, msg, sizeof msg, &t, &ct, &ct_len)) ||
	    (rc = wa_sig_decrypt(a.sig, "b", 1, t, ct, ct_len, &pt, &pt_len)))
		die("b->a after input", rc);
	free(ct);
	free(pt);
}

static void setup(void)
{
	const char *out = getenv("WA_FUZZ_SIGNAL_CORPUS_OUT");
	test_rand_seed(0xF022);
	snprintf(dir, sizeof dir, "/tmp/wa_fuzz_signal.XXXXXX");
	if (!mkdtemp(dir))
		abort();
	char pa[128], pb[128];
	snprintf(pa, sizeof pa, "%s/a.db", dir);
	snprintf(pb, sizeof pb, "%s/b.db", dir);
	int rc;
	if ((rc = test_peer_create(&a, pa, "a", 1, 1)) || (rc = test_peer_create(&b, pb, "b", 1, 2)))
		die("setup", rc);
	atexit(cleanup);
	wa_sig_bundle bundle;
	test_peer_bundle(&b, 1, &bundle);
	if ((rc = wa_sig_session_from_bundle(a.sig, "b", 1, &bundle)))
		die("bundle", rc);
	enum wa_sig_msg_type t;
	uint8_t *ct, *pt;
	size_t ct_len, pt_len;
	static const uint8_t hello[] = "hello";
	if ((rc = wa_sig_encrypt(a.sig, "b", 1, hello, sizeof hello, &t, &ct, &ct_len)))
		die("pkmsg", rc);
	seed_file(out, "pkmsg", 1, ct, ct_len);
	if ((rc = wa_sig_decrypt(b.sig, "a", 1, t, ct, ct_len, &pt, &pt_len)))
		die("pkmsg decrypt", rc);
	free(ct);
	free(pt);
	uint8_t *skdm;
	size_t skdm_len;
	if ((rc = wa_sig_group_skdm(a.sig, GROUP, "a", 1, &skdm, &skdm_len)) ||
	    (rc = wa_sig_group_process_skdm(b.sig, GROUP, "a", 1, skdm, skdm_len)))
		die("skdm", rc);
	free(skdm);
	/* b answers once, so a's next messages are plain msg */
	if ((rc = wa_sig_encrypt(b.sig, "a", 1, hello, sizeof hello, &t, &ct, &ct_len)) ||
	    (rc = wa_sig_decrypt(a.sig, "b", 1, t, ct, ct_len, &pt, &pt_len)))
		die("answer", rc);
	free(ct);
	free(pt);
	check_alive(out);
	if (out) {
		static const uint8_t junk[] = { 0x33, 0x0a, 0x21, 0x05, 0xff, 0x00, 0x12, 0x80 };
		seed_file(out, "junk-msg", 0, junk, sizeof junk);
		seed_file(out, "junk-pkmsg", 1, junk, sizeof junk);
		seed_file(out, "junk-skmsg", 2, junk, sizeof junk);
		seed_file(out, "empty", 0, junk, 0);
	}
	ready = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!ready)
		setup();
	if (size < 1)
		return 0;
	uint8_t *pt = NULL;
	size_t pt_len = 0;
	int rc;
	switch (data[0] % 3) {
	case 0:
		rc = wa_sig_decrypt(b.sig, "a", 1, WA_SIG_TYPE_MSG, data + 1, size - 1, &pt, &pt_len);
		break;
	case 1:
		rc = wa_sig_decrypt(b.sig, "a", 1, WA_SIG_TYPE_PKMSG, data + 1, size - 1, &pt, &pt_len);
		break;
	default:
		rc = wa_sig_group_decrypt(b.sig, GROUP, "a", 1, data + 1, size - 1, &pt, &pt_len);
		break;
	}
	if (rc == 0)
		free(pt);
	else if (pt)
		abort(); /* out-parameter written on failure */
	check_alive(NULL);
	return 0;
}
