/* The media-retry exchange's stanzas and crypto (media_retry.h): pure, so
 * the receiver (session), the phone (wasim) and the tests share it. */
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "media_retry.pb-c.h"
#include "pb.h"
#include "session/media_retry.h"

int wa_media_retry_derive(uint8_t out[32], const uint8_t media_key[32])
{
	if (!out || !media_key)
		return WA_EINVAL;
	return wa_hkdf_sha256(out, 32, media_key, 32, NULL, 0, WA_MEDIA_RETRY_INFO,
		strlen(WA_MEDIA_RETRY_INFO));
}

static bool id_ok(const char *s, size_t max)
{
	return s && s[0] && strlen(s) < max;
}

/* GCM-seals pb (len n) under the retry key, aad = id, into
 * <encrypt><enc_p/><enc_iv/></encrypt> added to parent. */
static int add_encrypt(wa_node *parent, const uint8_t media_key[32], const char *id,
	const uint8_t iv[static WA_MEDIA_RETRY_IV_LEN], const uint8_t *pb, size_t n)
{
	uint8_t key[32];
	uint8_t *ct = malloc(n + WA_GCM_TAG_LEN);
	if (!ct)
		return WA_ENOMEM;
	int rc = wa_media_retry_derive(key, media_key);
	if (rc == 0)
		rc = wa_aes_gcm_encrypt(ct, key, iv, id, strlen(id), pb, n);
	wa_memzero(key, sizeof key);
	wa_node *enc = NULL, *c = NULL;
	if (rc == 0)
		rc = wa_node_add_new(parent, "encrypt", &enc);
	if (rc == 0)
		rc = wa_node_add_new(enc, "enc_p", &c);
	if (rc == 0)
		rc = wa_node_set_bytes(c, ct, n + WA_GCM_TAG_LEN);
	if (rc == 0)
		rc = wa_node_add_new(enc, "enc_iv", &c);
	if (rc == 0)
		rc = wa_node_set_bytes(c, iv, WA_MEDIA_RETRY_IV_LEN);
	free(ct);
	return rc;
}

static int add_rmr(wa_node *parent, const wa_media_retry_key *k)
{
	wa_node *rmr = NULL;
	int rc = wa_node_add_new(parent, "rmr", &rmr);
	if (rc == 0)
		rc = wa_node_set_attr(rmr, "jid", k->chat);
	if (rc == 0)
		rc = wa_node_set_attr(rmr, "from_me", k->from_me ? "true" : "false");
	if (rc == 0 && k->participant && k->participant[0])
		rc = wa_node_set_attr(rmr, "participant", k->participant);
	return rc;
}

static bool key_ok(const wa_media_retry_key *k)
{
	return k && id_ok(k->id, WA_MEDIA_RETRY_ID_MAX) && id_ok(k->chat, WA_MEDIA_RETRY_ID_MAX) &&
	       (!k->participant || strlen(k->participant) < WA_MEDIA_RETRY_ID_MAX);
}

int wa_media_retry_request(wa_node **out, const wa_media_retry_key *k, const char *own_jid,
	const uint8_t media_key[32], const uint8_t iv[static WA_MEDIA_RETRY_IV_LEN])
{
	if (!out || !key_ok(k) || !id_ok(own_jid, WA_MEDIA_RETRY_ID_MAX) || !media_key || !iv)
		return WA_EINVAL;
	Wa__ServerErrorReceipt r = WA__SERVER_ERROR_RECEIPT__INIT;
	r.stanza_id = (char *)k->id;
	size_t n = wa__server_error_receipt__get_packed_size(&r);
	uint8_t *pb = malloc(n ? n : 1);
	if (!pb)
		return WA_ENOMEM;
	wa__server_error_receipt__pack(&r, pb);
	wa_node *n_r = NULL;
	int rc = wa_node_new(&n_r, "receipt");
	if (rc == 0)
		rc = wa_node_set_attr(n_r, "id", k->id);
	if (rc == 0)
		rc = wa_node_set_attr(n_r, "to", own_jid);
	if (rc == 0)
		rc = wa_node_set_attr(n_r, "type", "server-error");
	if (rc == 0)
		rc = add_encrypt(n_r, media_key, k->id, iv, pb, n);
	if (rc == 0)
		rc = add_rmr(n_r, k);
	free(pb);
	if (rc != 0) {
		wa_node_free(n_r);
		return rc;
	}
	*out = n_r;
	return 0;
}

/* Opens <encrypt> of `n` into a freshly unpacked message of desc. */
static int open_encrypt(const wa_node *n, const uint8_t media_key[32], const char *id,
	const ProtobufCMessageDescriptor *desc, ProtobufCMessage **msg)
{
	const wa_node *enc = wa_node_child(n, "encrypt");
	const wa_node *p = enc ? wa_node_child(enc, "enc_p") : NULL;
	const wa_node *v = enc ? wa_node_child(enc, "enc_iv") : NULL;
	const uint8_t *ct = NULL, *iv = NULL;
	size_t ct_len = 0, iv_len = 0;
	if (!p || !v || wa_node_content_bytes(p, &ct, &ct_len) != 0 || wa_node_content_bytes(v, &iv, &iv_len) != 0)
		return WA_EPROTO;
	if (iv_len != WA_MEDIA_RETRY_IV_LEN || ct_len < WA_GCM_TAG_LEN)
		return WA_EMALFORMED;
	if (ct_len > WA_MEDIA_RETRY_CT_MAX)
		return WA_ETOOBIG;
	uint8_t key[32];
	uint8_t *pt = malloc(ct_len);
	if (!pt)
		return WA_ENOMEM;
	int rc = wa_media_retry_derive(key, media_key);
	if (rc == 0)
		rc = wa_aes_gcm_decrypt(pt, key, iv, id, strlen(id), ct, ct_len);
	wa_memzero(key, sizeof key);
	if (rc == 0)
		rc = wa_pb_unpack(msg, desc, pt, ct_len - WA_GCM_TAG_LEN, WA_MEDIA_RETRY_CT_MAX);
	free(pt);
	return rc;
}

static int read_rmr(const wa_node *n, const char **chat, bool *from_me, const char **participant)
{
	const wa_node *rmr = wa_node_child(n, "rmr");
	const char *jid = rmr ? wa_node_attr(rmr, "jid") : NULL;
	const char *fm = rmr ? wa_node_attr(rmr, "from_me") : NULL;
	if (!id_ok(jid, WA_MEDIA_RETRY_ID_MAX))
		return WA_EPROTO;
	*chat = jid;
	*from_me = fm && strcmp(fm, "true") == 0;
	if (participant) {
		const char *pa = wa_node_attr(rmr, "participant");
		*participant = pa && pa[0] ? pa : NULL;
	}
	return 0;
}

int wa_media_retry_request_open(const wa_node *receipt, const uint8_t media_key[32], wa_media_retry_key *k)
{
	if (!receipt || !media_key || !k)
		return WA_EINVAL;
	const char *type = wa_node_attr(receipt, "type");
	const char *id = wa_node_attr(receipt, "id");
	if (strcmp(wa_node_tag(receipt), "receipt") != 0 || !type || strcmp(type, "server-error") != 0 ||
	    !id_ok(id, WA_MEDIA_RETRY_ID_MAX))
		return WA_EPROTO;
	wa_media_retry_key got = {.id = id};
	int rc = read_rmr(receipt, &got.chat, &got.from_me, &got.participant);
	if (rc != 0)
		return rc;
	ProtobufCMessage *m = NULL;
	rc = open_encrypt(receipt, media_key, id, &wa__server_error_receipt__descriptor, &m);
	if (rc != 0)
		return rc;
	const Wa__ServerErrorReceipt *r = (const Wa__ServerErrorReceipt *)m;
	if (!r->stanza_id || strcmp(r->stanza_id, id) != 0)
		rc = WA_EPROTO;
	protobuf_c_message_free_unpacked(m, NULL);
	if (rc == 0)
		*k = got;
	return rc;
}

const char *wa_media_retry_answer_id(const wa_node *notif)
{
	if (!notif || strcmp(wa_node_tag(notif), "notification") != 0)
		return NULL;
	const char *type = wa_node_attr(notif, "type");
	const char *id = wa_node_attr(notif, "id");
	if (!type || strcmp(type, "mediaretry") != 0 || !id_ok(id, WA_MEDIA_RETRY_ID_MAX))
		return NULL;
	return id;
}

/* Strict decimal in [0, 65535]. */
/* A direct path the embedder can store in JSON and put in a request line:
 * '/' then printable ASCII only (real ones are /v/t62...?ccb=...&oh=...). */
static bool url_path_ok(const char *dp)
{
	if (!dp || dp[0] != '/')
		return false;
	for (const unsigned char *p = (const unsigned char *)dp; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f)
			return false;
	return true;
}

static int parse_code(const char *s, int *out)
{
	if (!s || !s[0])
		return WA_EPROTO;
	long v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9' || v > 65535)
			return WA_EPROTO;
		v = v * 10 + (*p - '0');
	}
	if (v > 65535)
		return WA_EPROTO;
	*out = (int)v;
	return 0;
}

int wa_media_retry_answer_open(const wa_node *notif, const uint8_t media_key[32], wa_media_retry_answer *out)
{
	if (!notif || !media_key || !out)
		return WA_EINVAL;
	const char *id = wa_media_retry_answer_id(notif);
	if (!id)
		return WA_EPROTO;
	wa_media_retry_answer a;
	memset(&a, 0, sizeof a);
	const char *chat = NULL;
	int rc = read_rmr(notif, &chat, &a.from_me, NULL);
	if (rc != 0)
		return rc;
	memcpy(a.id, id, strlen(id) + 1);
	memcpy(a.chat, chat, strlen(chat) + 1);
	const wa_node *err = wa_node_child(notif, "error");
	if (err) {
		rc = parse_code(wa_node_attr(err, "code"), &a.error_code);
		if (rc != 0)
			return rc;
		a.has_error = true;
		a.result = WA_MEDIA_RETRY_GENERAL_ERROR;
		*out = a;
		return 0;
	}
	ProtobufCMessage *m = NULL;
	rc = open_encrypt(notif, media_key, id, &wa__media_retry_notification__descriptor, &m);
	if (rc != 0)
		return rc;
	const Wa__MediaRetryNotification *r = (const Wa__MediaRetryNotification *)m;
	/* an absent result is proto3's default, GENERAL_ERROR */
	a.result = r->has_result ? (int)r->result : WA_MEDIA_RETRY_GENERAL_ERROR;
	if (!r->stanza_id || strcmp(r->stanza_id, id) != 0)
		rc = WA_EPROTO;
	else if (a.result == WA_MEDIA_RETRY_SUCCESS) {
		const char *dp = r->direct_path;
		if (!url_path_ok(dp))
			rc = WA_EPROTO;
		else if (strlen(dp) >= sizeof a.direct_path)
			rc = WA_ETOOBIG;
		else
			memcpy(a.direct_path, dp, strlen(dp) + 1);
	}
	protobuf_c_message_free_unpacked(m, NULL);
	if (rc == 0)
		*out = a;
	return rc;
}

int wa_media_retry_answer_build(wa_node **out, const wa_media_retry_key *k, const char *from,
	const uint8_t media_key[32], const uint8_t iv[static WA_MEDIA_RETRY_IV_LEN], int result,
	const char *direct_path)
{
	if (!out || !key_ok(k) || !id_ok(from, WA_MEDIA_RETRY_ID_MAX) || !media_key || !iv || result < 0 ||
	    result > WA_MEDIA_RETRY_DECRYPTION_ERROR ||
	    (result == WA_MEDIA_RETRY_SUCCESS && (!direct_path || direct_path[0] != '/')))
		return WA_EINVAL;
	Wa__MediaRetryNotification r = WA__MEDIA_RETRY_NOTIFICATION__INIT;
	r.stanza_id = (char *)k->id;
	r.has_result = true;
	r.result = (Wa__MediaRetryNotification__ResultType)result;
	if (result == WA_MEDIA_RETRY_SUCCESS)
		r.direct_path = (char *)direct_path;
	size_t n = wa__media_retry_notification__get_packed_size(&r);
	uint8_t *pb = malloc(n ? n : 1);
	if (!pb)
		return WA_ENOMEM;
	wa__media_retry_notification__pack(&r, pb);
	wa_node *nn = NULL;
	int rc = wa_node_new(&nn, "notification");
	if (rc == 0)
		rc = wa_node_set_attr(nn, "from", from);
	if (rc == 0)
		rc = wa_node_set_attr(nn, "type", "mediaretry");
	if (rc == 0)
		rc = wa_node_set_attr(nn, "id", k->id);
	if (rc == 0)
		rc = add_encrypt(nn, media_key, k->id, iv, pb, n);
	if (rc == 0)
		rc = add_rmr(nn, k);
	free(pb);
	if (rc != 0) {
		wa_node_free(nn);
		return rc;
	}
	*out = nn;
	return 0;
}
