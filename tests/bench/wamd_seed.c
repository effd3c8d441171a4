/* wamd_seed: test-only fast provisioning of paired wamd instances, the
 * companion half of wasim's /_sim/seed (tests/sim/sim_seed.c). It writes
 * into a wamd store that no wamd has open what a QR pairing writes there,
 * with libwa's own code: fresh credentials (noise key, Signal identity and
 * registration id, signed pre-key 1, ADV secret, as session/creds.c), K
 * one-time pre-keys marked uploaded, then wa_pair_verify_and_sign on the
 * phone's ADVSignedDeviceIdentityHMAC (the pair-success check and device
 * signature) and the paired creds with the primary's identity key. wamd
 * then starts, finds the instances and logs them in like any restart.
 * Benchmark tool only: built under tests/bench, never installed; wamd has
 * no route that imports credentials.
 *
 * usage: wamd_seed (DATA/wamd.db | postgresql://URI) [master-key-file]
 * stdin/stdout: one JSON object per line, one answer line per request:
 *   {"op":"new","name":N,"prekeys":K}  -> {"name","noise_pub","identity",
 *       "adv_secret","regid","spk_id","spk_pub","spk_sig","prekeys":[{id,pub}]}
 *   {"op":"pair","name":N,"device_identity","jid","lid","platform"}
 *       -> {"name","signed_identity"} (pair-device-sign's reply form)
 *   {"op":"commit"}                     -> {"ok":true}
 * Binary fields are base64. Writes are one transaction until "commit" (or
 * end of input, which commits too); an error answers {"error"} and exits 1
 * without committing. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "session/pair.h"
#include "signal/prekeys.h"
#include "store/store.h"
#include "util/codec.h"
#include "util/seams.h"

static wa_store *st;

static void fail(const char *what, int rc)
{
	json_t *e = json_pack("{s:s, s:s}", "error", what, "code", rc ? wa_errname(rc) : "");
	char *s = json_dumps(e, JSON_COMPACT);
	printf("%s\n", s ? s : "{\"error\":\"out of memory\"}");
	fflush(stdout);
	free(s);
	json_decref(e);
	wa_store_close(st); /* rolls back */
	exit(1);
}

static json_t *b64(const uint8_t *p, size_t n)
{
	char *s = wa_b64_encode(p, n);
	if (!s)
		fail("out of memory", WA_ENOMEM);
	json_t *j = json_string(s);
	free(s);
	return j;
}

static void answer(json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	if (!s)
		fail("out of memory", WA_ENOMEM);
	printf("%s\n", s);
	fflush(stdout);
	free(s);
	json_decref(j);
}

static void op_new(json_t *req)
{
	const char *name = json_string_value(json_object_get(req, "name"));
	json_int_t k = json_integer_value(json_object_get(req, "prekeys"));
	if (!name || k < 0 || k > WA_SIG_MAX_PREKEY_BATCH)
		fail("new: need name and prekeys (0..1000)", WA_EINVAL);
	int64_t id;
	int rc = wa_store_instance_create(st, name, &id);
	if (rc)
		fail("new: instance_create", rc);
	wa_store_creds c;
	memset(&c, 0, sizeof c);
	wa_keypair nk;
	wa_keypair_generate(&nk);
	memcpy(c.noise_pub, nk.pub, 32);
	memcpy(c.noise_priv, nk.priv, 32);
	wa_keypair_clear(&nk);
	if ((rc = wa_sig_identity_generate(&c)) != 0)
		fail("new: identity", rc);
	wa_rand_bytes(c.adv_secret, sizeof c.adv_secret);
	c.next_prekey_id = 1;
	c.first_unuploaded_prekey_id = 1;
	if ((rc = wa_store_creds_save(st, id, &c)) != 0)
		fail("new: creds_save", rc);
	wa_sig *sig = NULL;
	wa_sig_signed_prekey spk;
	if ((rc = wa_sig_new(st, id, &sig)) != 0 ||
	    (rc = wa_sig_signed_prekey_generate(sig, 1, (uint64_t)wa_now_ms(), &spk)) != 0)
		fail("new: signed pre-key", rc);
	c.signed_prekey_id = spk.id;
	memcpy(c.signed_prekey_pub, spk.pub, 32);
	memcpy(c.signed_prekey_sig, spk.sig, 64);
	json_t *pks = json_array();
	if (k > 0) {
		wa_sig_prekey *keys = calloc((size_t)k, sizeof *keys);
		uint32_t next = 1;
		if (!keys)
			fail("out of memory", WA_ENOMEM);
		if ((rc = wa_sig_prekeys_generate(sig, 1, (size_t)k, keys, &next)) != 0)
			fail("new: pre-keys", rc);
		for (json_int_t i = 0; i < k; i++)
			json_array_append_new(pks, json_pack("{s:I, s:o}", "id", (json_int_t)keys[i].id, "pub",
				b64(keys[i].pub, 32)));
		free(keys);
		/* as after the upload's result (session/prekeys.c) */
		c.next_prekey_id = next;
		c.first_unuploaded_prekey_id = next;
	}
	wa_sig_free(sig);
	if ((rc = wa_store_creds_save(st, id, &c)) != 0)
		fail("new: creds_save", rc);
	answer(json_pack("{s:s, s:o, s:o, s:o, s:I, s:I, s:o, s:o, s:o}", "name", name, "noise_pub",
		b64(c.noise_pub, 32), "identity", b64(c.identity_pub, 32), "adv_secret", b64(c.adv_secret, 32),
		"regid", (json_int_t)c.registration_id, "spk_id", (json_int_t)c.signed_prekey_id, "spk_pub",
		b64(c.signed_prekey_pub, 32), "spk_sig", b64(c.signed_prekey_sig, 64), "prekeys", pks));
	wa_memzero(&c, sizeof c);
}

static void op_pair(json_t *req)
{
	const char *name = json_string_value(json_object_get(req, "name"));
	const char *dis = json_string_value(json_object_get(req, "device_identity"));
	const char *jid = json_string_value(json_object_get(req, "jid"));
	const char *lid = json_string_value(json_object_get(req, "lid"));
	const char *plat = json_string_value(json_object_get(req, "platform"));
	if (!name || !dis || !jid || strlen(jid) >= WA_STORE_JID_MAX || (lid && strlen(lid) >= WA_STORE_JID_MAX))
		fail("pair: need name, device_identity, jid", WA_EINVAL);
	int64_t id;
	int rc = wa_store_instance_find(st, name, &id);
	if (rc)
		fail("pair: no such instance", rc);
	wa_store_creds c;
	if ((rc = wa_store_creds_load(st, id, &c)) != 0)
		fail("pair: creds_load", rc);
	uint8_t *di = NULL;
	size_t dl = 0;
	if (wa_b64_decode(dis, strlen(dis), &di, &dl) != 0)
		fail("pair: device_identity is not base64", WA_EMALFORMED);
	wa_keypair ik;
	memcpy(ik.pub, c.identity_pub, 32);
	memcpy(ik.priv, c.identity_priv, 32);
	wa_pair_result *r = calloc(1, sizeof *r);
	if (!r)
		fail("out of memory", WA_ENOMEM);
	rc = wa_pair_verify_and_sign(di, dl, c.adv_secret, &ik, r);
	wa_keypair_clear(&ik);
	free(di);
	if (rc)
		fail(r->why ? r->why : "pair: verify_and_sign", rc);
	snprintf(c.me_jid, sizeof c.me_jid, "%s", jid);
	snprintf(c.me_lid, sizeof c.me_lid, "%s", lid ? lid : "");
	memcpy(c.adv_identity, r->adv_identity, r->adv_identity_len);
	c.adv_identity_len = r->adv_identity_len;
	snprintf(c.platform, sizeof c.platform, "%s", plat ? plat : "");
	if ((rc = wa_store_creds_save(st, id, &c)) != 0)
		fail("pair: creds_save", rc);
	/* the primary's identity is device 0's Signal identity (as pair.c) */
	uint8_t key33[33];
	key33[0] = 0x05;
	memcpy(key33 + 1, r->account_key, 32);
	char user[32];
	size_t n = strspn(jid, "0123456789");
	if (n == 0 || n >= sizeof user)
		fail("pair: jid has no user", WA_EINVAL);
	memcpy(user, jid, n);
	user[n] = '\0';
	if ((rc = wa_store_identity_save(st, id, user, 0, key33, sizeof key33, NULL)) != 0)
		fail("pair: identity_save", rc);
	answer(json_pack("{s:s, s:o}", "name", name, "signed_identity", b64(r->reply, r->reply_len)));
	free(r->reply);
	free(r);
	wa_memzero(&c, sizeof c);
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: wamd_seed (DATA/wamd.db | postgresql://URI) [master-key-file] (JSON lines on stdin)\n");
		return 2;
	}
	char err[256] = "";
	wa_store_opts so = { .master_key_file = argc == 3 ? argv[2] : NULL, .key_from_env = true,
		.exclusive = true, .errbuf = err, .errbuf_len = sizeof err };
	int rc = wa_store_open(argv[1], &so, &st);
	if (rc) {
		fprintf(stderr, "wamd_seed: cannot open %s: %s %s\n", argv[1], wa_errname(rc), err);
		return 1;
	}
	if ((rc = wa_store_begin(st)) != 0)
		fail("begin", rc);
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, stdin) > 0) {
		json_t *req = json_loads(line, 0, NULL);
		const char *op = json_string_value(json_object_get(req, "op"));
		if (!op)
			fail("need {\"op\"}", WA_EINVAL);
		if (!strcmp(op, "new")) {
			op_new(req);
		} else if (!strcmp(op, "pair")) {
			op_pair(req);
		} else if (!strcmp(op, "commit")) {
			if ((rc = wa_store_commit(st)) != 0 || (rc = wa_store_begin(st)) != 0)
				fail("commit", rc);
			answer(json_pack("{s:b}", "ok", 1));
		} else {
			fail("unknown op", WA_EINVAL);
		}
		json_decref(req);
	}
	free(line);
	if ((rc = wa_store_commit(st)) != 0)
		fail("commit", rc);
	wa_store_close(st);
	return 0;
}
