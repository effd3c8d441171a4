/* The media-retry exchange's codec (session/media_retry.h) against
 * tests/vectors/media_retry.json, computed once with Baileys 7.0.0-rc14:
 * our server-error receipt equals encryptMediaRetryRequest's byte for byte
 * (same IV), the phone's answers Baileys' decryptMediaRetryData accepts
 * open here, and tampering, a wrong key or a mismatched id are refused. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "check.h"
#include "session/media_retry.h"
#include "util/codec.h"

static json_t *load_vectors(const char *name)
{
	const char *root = getenv("WA_SOURCE_ROOT");
	char path[4096];
	snprintf(path, sizeof path, "%s/tests/vectors/%s", root ? root : ".", name);
	json_error_t err;
	json_t *j = json_load_file(path, 0, &err);
	if (!j) {
		fprintf(stderr, "cannot load %s: %s\n", path, err.text);
		exit(1);
	}
	return j;
}

static const char *jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* Decodes hex field k of o into exactly n bytes of out. */
static void jhex(json_t *o, const char *k, uint8_t *out, size_t n)
{
	const char *s = jstr(o, k);
	uint8_t *b = NULL;
	size_t len = 0;
	CHECK(s != NULL);
	if (!s || wa_hex_decode(s, strlen(s), &b, &len) != 0 || len != n) {
		fprintf(stderr, "bad hex %s\n", k);
		exit(1);
	}
	memcpy(out, b, n);
	free(b);
}

static uint8_t *jhex_alloc(json_t *o, const char *k, size_t *n)
{
	const char *s = jstr(o, k);
	uint8_t *b = NULL;
	if (!s || wa_hex_decode(s, strlen(s), &b, n) != 0) {
		fprintf(stderr, "bad hex %s\n", k);
		exit(1);
	}
	return b;
}

static wa_media_retry_key key_of(json_t *k)
{
	wa_media_retry_key r = {
		.id = jstr(k, "id"),
		.chat = jstr(k, "remoteJid"),
		.from_me = json_is_true(json_object_get(k, "fromMe")),
		.participant = jstr(k, "participant"),
	};
	return r;
}

static const wa_node *child_path(const wa_node *n, const char *a, const char *b)
{
	const wa_node *c = n ? wa_node_child(n, a) : NULL;
	return c && b ? wa_node_child(c, b) : c;
}

/* Flips one byte of <encrypt><enc_p>. */
static void tamper(wa_node *n)
{
	wa_node *p = (wa_node *)child_path(n, "encrypt", "enc_p");
	size_t len = 0;
	const uint8_t *b = wa_node_bytes(p, &len);
	uint8_t *c = malloc(len);
	memcpy(c, b, len);
	c[len / 2] ^= 0x01;
	CHECK_EQ_INT(wa_node_set_bytes(p, c, len), 0);
	free(c);
}

static void test_requests(json_t *v)
{
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(v, "requests"), i, r) {
		uint8_t mk[32], rk[32], want_rk[32], iv[12];
		jhex(r, "mediaKey", mk, 32);
		jhex(r, "retryKey", want_rk, 32);
		jhex(r, "iv", iv, 12);
		CHECK_EQ_INT(wa_media_retry_derive(rk, mk), 0);
		CHECK_EQ_MEM(rk, want_rk, 32);

		json_t *attrs = json_object_get(r, "attrs");
		wa_media_retry_key k = key_of(json_object_get(r, "key"));
		wa_node *n = NULL;
		CHECK_EQ_INT(wa_media_retry_request(&n, &k, jstr(attrs, "to"), mk, iv), 0);
		if (!n)
			continue;
		/* attributes: exactly Baileys' */
		CHECK_EQ_STR(wa_node_tag(n), "receipt");
		CHECK_EQ_INT(wa_node_n_attrs(n), json_object_size(attrs));
		const char *ak;
		json_t *av;
		json_object_foreach(attrs, ak, av) CHECK_EQ_STR(wa_node_attr(n, ak), json_string_value(av));
		json_t *rmr_want = json_object_get(r, "rmr");
		const wa_node *rmr = wa_node_child(n, "rmr");
		CHECK(rmr != NULL);
		CHECK_EQ_INT(wa_node_n_attrs(rmr), json_object_size(rmr_want));
		json_object_foreach(rmr_want, ak, av) CHECK_EQ_STR(wa_node_attr(rmr, ak), json_string_value(av));
		/* encrypt: children in Baileys' order, same bytes */
		const wa_node *enc = wa_node_child(n, "encrypt");
		CHECK(enc && wa_node_n_children(enc) == 2);
		CHECK_EQ_STR(wa_node_tag(wa_node_child_at(enc, 0)), "enc_p");
		CHECK_EQ_STR(wa_node_tag(wa_node_child_at(enc, 1)), "enc_iv");
		CHECK_EQ_STR(wa_node_tag(wa_node_child_at(n, 0)), "encrypt");
		CHECK_EQ_STR(wa_node_tag(wa_node_child_at(n, 1)), "rmr");
		size_t want_len = 0, got_len = 0;
		uint8_t *want = jhex_alloc(r, "enc_p", &want_len);
		const uint8_t *got = wa_node_bytes(child_path(n, "encrypt", "enc_p"), &got_len);
		CHECK_EQ_INT(got_len, want_len);
		if (got && got_len == want_len)
			CHECK_EQ_MEM(got, want, want_len);
		free(want);
		got = wa_node_bytes(child_path(n, "encrypt", "enc_iv"), &got_len);
		CHECK(got && got_len == 12 && memcmp(got, iv, 12) == 0);

		/* the phone's side opens it and recovers the message key */
		wa_media_retry_key back;
		CHECK_EQ_INT(wa_media_retry_request_open(n, mk, &back), 0);
		CHECK_EQ_STR(back.id, k.id);
		CHECK_EQ_STR(back.chat, k.chat);
		CHECK_EQ_INT(back.from_me, k.from_me);
		if (k.participant)
			CHECK_EQ_STR(back.participant, k.participant);
		else
			CHECK(back.participant == NULL);
		uint8_t other[32];
		memcpy(other, mk, 32);
		other[0] ^= 0x80;
		CHECK_EQ_INT(wa_media_retry_request_open(n, other, &back), WA_ECRYPTO);
		/* the id is the GCM associated data: another id fails to open */
		CHECK_EQ_INT(wa_node_set_attr(n, "id", "3EB0000000000000FFFF"), 0);
		CHECK_EQ_INT(wa_media_retry_request_open(n, mk, &back), WA_ECRYPTO);
		CHECK_EQ_INT(wa_node_set_attr(n, "id", k.id), 0);
		tamper(n);
		CHECK_EQ_INT(wa_media_retry_request_open(n, mk, &back), WA_ECRYPTO);
		wa_node_free(n);
	}
	CHECK(i >= 3);
}

/* Baileys' answer as a node, the shape decodeMediaRetryNode read. */
static wa_node *answer_node(json_t *a)
{
	json_t *kj = json_object_get(a, "key");
	wa_node *n = NULL, *enc = NULL, *c = NULL, *rmr = NULL;
	size_t ct_len = 0, iv_len = 0;
	uint8_t *ct = jhex_alloc(a, "enc_p", &ct_len), *iv = jhex_alloc(a, "iv", &iv_len);
	int rc = wa_node_new(&n, "notification");
	rc = rc ? rc : wa_node_set_attr(n, "from", "15550001111@s.whatsapp.net");
	rc = rc ? rc : wa_node_set_attr(n, "type", "mediaretry");
	rc = rc ? rc : wa_node_set_attr(n, "id", jstr(kj, "id"));
	rc = rc ? rc : wa_node_add_new(n, "encrypt", &enc);
	rc = rc ? rc : wa_node_add_new(enc, "enc_p", &c);
	rc = rc ? rc : wa_node_set_bytes(c, ct, ct_len);
	rc = rc ? rc : wa_node_add_new(enc, "enc_iv", &c);
	rc = rc ? rc : wa_node_set_bytes(c, iv, iv_len);
	rc = rc ? rc : wa_node_add_new(n, "rmr", &rmr);
	rc = rc ? rc : wa_node_set_attr(rmr, "jid", jstr(kj, "remoteJid"));
	rc = rc ? rc : wa_node_set_attr(rmr, "from_me", json_is_true(json_object_get(kj, "fromMe")) ? "true" : "false");
	CHECK_EQ_INT(rc, 0);
	free(ct);
	free(iv);
	return n;
}

static void test_answers(json_t *v)
{
	size_t i;
	json_t *a;
	bool saw_success = false;
	json_array_foreach(json_object_get(v, "answers"), i, a) {
		uint8_t mk[32], iv[12];
		jhex(a, "mediaKey", mk, 32);
		jhex(a, "iv", iv, 12);
		wa_media_retry_key k = key_of(json_object_get(a, "key"));
		int result = (int)json_integer_value(json_object_get(a, "result"));
		const char *dp = jstr(a, "directPath");

		wa_node *n = answer_node(a);
		CHECK_EQ_STR(wa_media_retry_answer_id(n), k.id);
		wa_media_retry_answer ans;
		CHECK_EQ_INT(wa_media_retry_answer_open(n, mk, &ans), 0);
		CHECK_EQ_STR(ans.id, k.id);
		CHECK_EQ_STR(ans.chat, k.chat);
		CHECK_EQ_INT(ans.from_me, k.from_me);
		CHECK(!ans.has_error);
		CHECK_EQ_INT(ans.result, result);
		CHECK_EQ_STR(ans.direct_path, dp);
		saw_success |= result == WA_MEDIA_RETRY_SUCCESS;

		/* ours, built with Baileys' IV, carries Baileys' exact ciphertext */
		wa_node *mine = NULL;
		CHECK_EQ_INT(wa_media_retry_answer_build(&mine, &k, "15550001111@s.whatsapp.net", mk, iv, result,
				     result == WA_MEDIA_RETRY_SUCCESS ? dp : NULL), 0);
		size_t l1 = 0, l2 = 0;
		const uint8_t *b1 = wa_node_bytes(child_path(mine, "encrypt", "enc_p"), &l1);
		const uint8_t *b2 = wa_node_bytes(child_path(n, "encrypt", "enc_p"), &l2);
		CHECK(b1 && b2 && l1 == l2 && memcmp(b1, b2, l1) == 0);
		wa_node_free(mine);

		uint8_t other[32];
		memcpy(other, mk, 32);
		other[31] ^= 0x01;
		CHECK_EQ_INT(wa_media_retry_answer_open(n, other, &ans), WA_ECRYPTO);
		/* an answer sealed for one message cannot pose as another's */
		CHECK_EQ_INT(wa_node_set_attr(n, "id", "3EB0000000000000FFFF"), 0);
		CHECK_EQ_INT(wa_media_retry_answer_open(n, mk, &ans), WA_ECRYPTO);
		CHECK_EQ_INT(wa_node_set_attr(n, "id", k.id), 0);
		tamper(n);
		CHECK_EQ_INT(wa_media_retry_answer_open(n, mk, &ans), WA_ECRYPTO);
		wa_node_free(n);
	}
	CHECK(i >= 4 && saw_success);
}

static void test_error_and_shape(void)
{
	uint8_t mk[32] = {1}, iv[12] = {2};
	wa_media_retry_key k = {.id = "3EB0ERR", .chat = "15550002222@s.whatsapp.net"};
	wa_node *n = NULL, *e = NULL;
	CHECK_EQ_INT(wa_node_new(&n, "notification"), 0);
	CHECK_EQ_INT(wa_node_set_attr(n, "type", "mediaretry"), 0);
	CHECK_EQ_INT(wa_node_set_attr(n, "id", k.id), 0);
	wa_media_retry_answer ans;
	/* no rmr: refused */
	CHECK_EQ_INT(wa_media_retry_answer_open(n, mk, &ans), WA_EPROTO);
	wa_node *rmr = NULL;
	CHECK_EQ_INT(wa_node_add_new(n, "rmr", &rmr), 0);
	CHECK_EQ_INT(wa_node_set_attr(rmr, "jid", k.chat), 0);
	/* neither error nor encrypt */
	CHECK_EQ_INT(wa_media_retry_answer_open(n, mk, &ans), WA_EPROTO);
	CHECK_EQ_INT(wa_node_add_new(n, "error", &e), 0);
	CHECK_EQ_INT(wa_node_set_attr(e, "code", "2"), 0);
	CHECK_EQ_INT(wa_media_retry_answer_open(n, mk, &ans), 0);
	CHECK(ans.has_error && ans.error_code == 2 && !ans.from_me);
	CHECK_EQ_INT(wa_node_set_attr(e, "code", "2x"), 0);
	CHECK_EQ_INT(wa_media_retry_answer_open(n, mk, &ans), WA_EPROTO);
	CHECK_EQ_INT(wa_node_set_attr(n, "type", "devices"), 0);
	CHECK(wa_media_retry_answer_id(n) == NULL);
	wa_node_free(n);

	/* a SUCCESS without a path is not built; a short IV is refused on open */
	CHECK_EQ_INT(wa_media_retry_answer_build(&n, &k, "x@s.whatsapp.net", mk, iv, WA_MEDIA_RETRY_SUCCESS, NULL),
		WA_EINVAL);
	CHECK_EQ_INT(wa_media_retry_answer_build(&n, &k, "x@s.whatsapp.net", mk, iv, WA_MEDIA_RETRY_SUCCESS, "/v/x"),
		0);
	wa_node *ivn = (wa_node *)child_path(n, "encrypt", "enc_iv");
	CHECK_EQ_INT(wa_node_set_bytes(ivn, iv, 11), 0);
	CHECK_EQ_INT(wa_media_retry_answer_open(n, mk, &ans), WA_EMALFORMED);
	wa_node_free(n);
	/* a path that is no URL path (a byte outside printable ASCII, a space)
	 * authenticates but is refused: it would not survive as the stored
	 * Message's JSON or as a request line */
	static const char *const bad_dp[] = {"/v/\xc1", "/v/a b", "/v/a\r\nHost: x", "/v/\x7f"};
	for (size_t i = 0; i < sizeof bad_dp / sizeof bad_dp[0]; i++) {
		CHECK_EQ_INT(wa_media_retry_answer_build(&n, &k, "x@s.whatsapp.net", mk, iv, WA_MEDIA_RETRY_SUCCESS,
				     bad_dp[i]), 0);
		CHECK_EQ_INT(wa_media_retry_answer_open(n, mk, &ans), WA_EPROTO);
		wa_node_free(n);
	}
	CHECK_EQ_INT(wa_media_retry_request(&n, &k, NULL, mk, iv), WA_EINVAL);
	k.id = "";
	CHECK_EQ_INT(wa_media_retry_request(&n, &k, "x@s.whatsapp.net", mk, iv), WA_EINVAL);
}

int main(void)
{
	json_t *v = load_vectors("media_retry.json");
	test_requests(v);
	test_answers(v);
	test_error_and_shape();
	json_decref(v);
	return check_exit("session_media_retry");
}
