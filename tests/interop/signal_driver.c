/* Interop driver for src/signal: one wa_sig instance on a temporary store,
 * driven by a node script (signal_interop.mjs) over stdin/stdout with one
 * JSON object per line, bytes in base64. Requests:
 *   {"op":"bundle"[,"noPrekey":true]}    -> our bundle (raw keys, next one-time key)
 *   {"op":"session","name","device","bundle":{...}}
 *   {"op":"enc","name","device","pt"}    -> {"type":"pkmsg"|"msg","ct"}
 *   {"op":"dec","name","device","type","ct"} -> {"pt"} or {"err":"WA_E..."}
 *   {"op":"skdm","group","name","device"} -> {"skdm"}
 *   {"op":"gproc","group","name","device","skdm"}
 *   {"op":"genc","group","name","device","pt"} -> {"ct"}
 *   {"op":"gdec","group","name","device","ct"} -> {"pt"} or {"err"}
 *   {"op":"quit"}
 * Every answer carries "ok": true/false. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "peer.h"
#include "util/codec.h"

#define MAX_LINE (4u * 1024 * 1024)

static test_peer me;

static int get_b64(json_t *req, const char *key, uint8_t **out, size_t *len)
{
	const char *s = json_string_value(json_object_get(req, key));
	if (!s)
		return WA_EINVAL;
	return wa_b64_decode(s, strlen(s), out, len);
}

static void put_b64(json_t *o, const char *key, const uint8_t *p, size_t n)
{
	char *s = wa_b64_encode(p, n);
	json_object_set_new(o, key, json_string(s ? s : ""));
	free(s);
}

static int get_key32(json_t *o, const char *key, uint8_t out[32])
{
	uint8_t *b;
	size_t n;
	int rc = get_b64(o, key, &b, &n);
	if (rc)
		return rc;
	size_t off = (n == 33 && b[0] == 5) ? 1 : 0; /* tolerate libsignal's typed form */
	rc = n - off == 32 ? 0 : WA_EMALFORMED;
	if (!rc)
		memcpy(out, b + off, 32);
	free(b);
	return rc;
}

static json_t *do_bundle(int with_prekey)
{
	wa_sig_bundle b;
	test_peer_bundle(&me, with_prekey, &b);
	json_t *o = json_object();
	json_object_set_new(o, "registrationId", json_integer(b.registration_id));
	put_b64(o, "identity", b.identity, 32);
	json_object_set_new(o, "signedPreKeyId", json_integer(b.signed_prekey_id));
	put_b64(o, "signedPreKey", b.signed_prekey, 32);
	put_b64(o, "signature", b.signed_prekey_sig, 64);
	if (b.has_prekey) {
		json_object_set_new(o, "preKeyId", json_integer(b.prekey_id));
		put_b64(o, "preKey", b.prekey, 32);
	}
	return o;
}

static int do_session(json_t *req, const char *name, int32_t dev)
{
	json_t *jb = json_object_get(req, "bundle");
	wa_sig_bundle b;
	memset(&b, 0, sizeof b);
	if (!json_is_object(jb))
		return WA_EINVAL;
	b.registration_id = (uint32_t)json_integer_value(json_object_get(jb, "registrationId"));
	b.signed_prekey_id = (uint32_t)json_integer_value(json_object_get(jb, "signedPreKeyId"));
	int rc = get_key32(jb, "identity", b.identity);
	if (!rc)
		rc = get_key32(jb, "signedPreKey", b.signed_prekey);
	if (!rc) {
		uint8_t *sig;
		size_t n;
		rc = get_b64(jb, "signature", &sig, &n);
		if (!rc) {
			if (n == 64)
				memcpy(b.signed_prekey_sig, sig, 64);
			else
				rc = WA_EMALFORMED;
			free(sig);
		}
	}
	if (!rc && json_object_get(jb, "preKey")) {
		b.has_prekey = true;
		b.prekey_id = (uint32_t)json_integer_value(json_object_get(jb, "preKeyId"));
		rc = get_key32(jb, "preKey", b.prekey);
	}
	return rc ? rc : wa_sig_session_from_bundle(me.sig, name, dev, &b);
}

static json_t *handle(json_t *req, int *quit)
{
	const char *op = json_string_value(json_object_get(req, "op"));
	const char *name = json_string_value(json_object_get(req, "name"));
	const char *group = json_string_value(json_object_get(req, "group"));
	int32_t dev = (int32_t)json_integer_value(json_object_get(req, "device"));
	json_t *res = json_object();
	int rc = 0;
	uint8_t *in = NULL, *out = NULL;
	size_t in_len = 0, out_len = 0;
	if (!op) {
		rc = WA_EINVAL;
	} else if (!strcmp(op, "quit")) {
		*quit = 1;
	} else if (!strcmp(op, "bundle")) {
		json_object_set_new(res, "bundle", do_bundle(!json_is_true(json_object_get(req, "noPrekey"))));
	} else if (!strcmp(op, "session")) {
		rc = do_session(req, name, dev);
	} else if (!strcmp(op, "enc")) {
		enum wa_sig_msg_type t;
		if (!(rc = get_b64(req, "pt", &in, &in_len)) &&
		    !(rc = wa_sig_encrypt(me.sig, name, dev, in, in_len, &t, &out, &out_len))) {
			json_object_set_new(res, "type", json_string(wa_sig_type_name(t)));
			put_b64(res, "ct", out, out_len);
		}
	} else if (!strcmp(op, "dec")) {
		enum wa_sig_msg_type t;
		if (!(rc = wa_sig_type_parse(json_string_value(json_object_get(req, "type")), &t)) &&
		    !(rc = get_b64(req, "ct", &in, &in_len)) &&
		    !(rc = wa_sig_decrypt(me.sig, name, dev, t, in, in_len, &out, &out_len)))
			put_b64(res, "pt", out, out_len);
	} else if (!strcmp(op, "skdm")) {
		if (!(rc = wa_sig_group_skdm(me.sig, group, name, dev, &out, &out_len)))
			put_b64(res, "skdm", out, out_len);
	} else if (!strcmp(op, "gproc")) {
		if (!(rc = get_b64(req, "skdm", &in, &in_len)))
			rc = wa_sig_group_process_skdm(me.sig, group, name, dev, in, in_len);
	} else if (!strcmp(op, "genc")) {
		if (!(rc = get_b64(req, "pt", &in, &in_len)) &&
		    !(rc = wa_sig_group_encrypt(me.sig, group, name, dev, in, in_len, &out, &out_len)))
			put_b64(res, "ct", out, out_len);
	} else if (!strcmp(op, "gdec")) {
		if (!(rc = get_b64(req, "ct", &in, &in_len)) &&
		    !(rc = wa_sig_group_decrypt(me.sig, group, name, dev, in, in_len, &out, &out_len)))
			put_b64(res, "pt", out, out_len);
	} else {
		rc = WA_EINVAL;
	}
	free(in);
	free(out);
	json_object_set_new(res, "ok", json_boolean(rc == 0));
	if (rc)
		json_object_set_new(res, "err", json_string(wa_errname(rc)));
	return res;
}

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (getenv("WA_SIG_DEBUG"))
		wa_log_set_level(WA_LOG_DEBUG);
	const char *seed_env = getenv("WA_SEED");
	test_rand_seed(seed_env ? strtoull(seed_env, NULL, 0) : 0xC0FFEE);
	char dir[] = "/tmp/wa_sig_interop.XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	char path[128];
	snprintf(path, sizeof path, "%s/c.db", dir);
	int rc = test_peer_create(&me, path, "c", 1, 8);
	if (rc) {
		fprintf(stderr, "signal_driver: setup failed: %s\n", wa_errname(rc));
		return 1;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int quit = 0;
	while (!quit && (n = getline(&line, &cap, stdin)) > 0) {
		if ((size_t)n > MAX_LINE)
			break;
		json_error_t jerr;
		json_t *req = json_loadb(line, (size_t)n, 0, &jerr);
		json_t *res = req ? handle(req, &quit) : json_pack("{s:b,s:s}", "ok", 0, "err", "json");
		char *s = json_dumps(res, JSON_COMPACT);
		if (s) {
			fputs(s, stdout);
			fputc('\n', stdout);
			fflush(stdout);
		}
		free(s);
		json_decref(res);
		json_decref(req);
	}
	free(line);
	test_peer_close(&me);
	static const char *sfx[] = { "", "-wal", "-shm", "-journal" };
	for (size_t i = 0; i < 4; i++) {
		snprintf(path, sizeof path, "%s/c.db%s", dir, sfx[i]);
		unlink(path);
	}
	rmdir(dir);
	return 0;
}
