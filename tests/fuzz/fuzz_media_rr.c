/* Fuzz target: the mediaretry notification as a live session takes it
 * (src/session/media_rr.c, wa_media_rr_handle_notification) while a
 * media-retry request waits for it: the answer's id matched against the
 * waiting requests, opened under the media key, its result mapped to an
 * error and, on success, its direct path written into the stored Message
 * (directPath, and url on the old url's host). The session runs on a fake
 * transport as in fuzz_session_dispatch.
 * Input: first byte even: the rest is a binary node body; the request
 * waits under the node's own id, so every input reaches the decryption.
 * First byte odd: the rest is the decrypted MediaRetryNotification, sealed
 * here under the request's key and id so the result and path checks are
 * reached. Bits 1-2 of the first byte pick the stored url (a media host,
 * one with a port, an overlong host, none). Properties checked: the
 * request ends exactly once with a known error; a success gives a path
 * starting with '/' and a url ending with it on the old url's host. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "binary/decode.h"
#include "crypto/crypto.h"
#include "noise/cipher.h"
#include "session/internal.h"
#include "session/media.h"
#include "session/media_retry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t MK[32] = {7, 7, 7};
static const char MK_B64[] = "BwcHAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
static const char ID[] = "3EB0FUZZ";

static int tok;
static int f_open(void *ctx, const wa_tr_config *cfg, const wa_tr_events *ev, void *user, void **out)
{
	(void)ctx; (void)cfg; (void)ev; (void)user;
	*out = &tok;
	return 0;
}
static int f_send(void *conn, const uint8_t *p, size_t len) { (void)conn; (void)p; (void)len; return 0; }
static void f_close(void *conn) { (void)conn; }
static int dummy_timer;
static int f_timer_new(void *ctx, wa_timer_fn fn, void *user, void **t)
{
	(void)ctx; (void)fn; (void)user;
	*t = &dummy_timer;
	return 0;
}
static void f_timer_set(void *t, uint32_t ms) { (void)t; (void)ms; }
static void f_timer_cancel(void *t) { (void)t; }
static void f_timer_free(void *t) { (void)t; }
static int64_t f_now(void *ctx) { (void)ctx; return 1000; }
static const wa_tr_driver fake = {f_open, f_send, f_close, f_timer_new, f_timer_set,
	f_timer_cancel, f_timer_free, f_now};

static void on_event(wa_session *s, const wa_event *ev, void *user) { (void)s; (void)ev; (void)user; }

static wa_store *st;
static wa_session *sess;

static void cleanup(void)
{
	wa_session_free(sess);
	wa_store_close(st);
}

static void setup(void)
{
	char path[] = "/tmp/wa_fuzz_media_rr_XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		abort();
	close(fd);
	unlink(path);
	int64_t iid;
	if (wa_store_open(path, NULL, &st) != 0 || wa_store_instance_create(st, "f", &iid) != 0)
		abort();
	unlink(path); /* the open handle keeps it alive */
	wa_session_config cfg = {.store = st, .instance_id = iid, .url = "ws://127.0.0.1:1/"};
	if (wa_session_new_with_driver(&cfg, &fake, NULL, on_event, NULL, &sess) != 0)
		abort();
	snprintf(sess->creds->me_jid, sizeof sess->creds->me_jid, "%s", "15550001111:3@s.whatsapp.net");
	atexit(cleanup);
}

static const char *const urls[4] = {
	"https://mmg.whatsapp.net/v/t62.7118-24/old.enc?ccb=11-4",
	"https://media-x.cdn.whatsapp.net:8443/o1/v/old?x=1",
	"https://hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh"
	"hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh"
	"hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh.net/v/old",
	NULL,
};
static const char *cur_url;
static int ends;

static void on_done(wa_session *s, int err, const char *message_json, void *user)
{
	(void)s; (void)user;
	ends++;
	switch (err) {
	case 0:
		break;
	case WA_EMEDIA_GONE: case WA_EMEDIA_RETRY: case WA_EMEDIA_RETRY_KEY: case WA_EMEDIA_MAC:
	case WA_EPROTO: case WA_EMALFORMED: case WA_ETOOBIG: case WA_ECLOSED: case WA_ENOMEM:
		if (message_json)
			abort();
		return;
	default:
		abort();
	}
	json_t *root = json_loads(message_json, 0, NULL);
	json_t *im = json_object_get(root, "imageMessage");
	const char *dp = json_string_value(json_object_get(im, "directPath"));
	const char *url = json_string_value(json_object_get(im, "url"));
	if (!dp || dp[0] != '/' || !url || strncmp(url, "https://", 8) != 0)
		abort();
	size_t ul = strlen(url), dl = strlen(dp);
	if (ul < 8 + dl || strcmp(url + ul - dl, dp) != 0)
		abort();
	/* the host is the old url's when it has one that fits, else Baileys' default */
	const char *exp = "mmg.whatsapp.net";
	size_t el = 16;
	if (cur_url) {
		size_t h = strcspn(cur_url + 8, "/?#");
		if (h && h < 256) {
			exp = cur_url + 8;
			el = h;
		}
	}
	if (ul - 8 - dl != el || strncmp(url + 8, exp, el) != 0)
		abort();
	json_decref(root);
}

/* A mediaretry notification for ID whose enc_p is pt sealed under MK. */
static wa_node *sealed(const uint8_t *pt, size_t len)
{
	static const uint8_t iv[12] = {9};
	uint8_t key[32];
	if (wa_media_retry_derive(key, MK) != 0)
		abort();
	uint8_t *ct = malloc(len + 16);
	if (!ct || wa_aes_gcm_encrypt(ct, key, iv, ID, strlen(ID), pt, len) != 0)
		abort();
	wa_media_retry_key k = {.id = ID, .chat = "1@s.whatsapp.net"};
	wa_node *n = NULL;
	if (wa_media_retry_answer_build(&n, &k, "15550001111@s.whatsapp.net", MK, iv, 0, NULL) != 0)
		abort();
	if (wa_node_set_bytes(wa_node_child(wa_node_child(n, "encrypt"), "enc_p"), ct, len + 16) != 0)
		abort();
	free(ct);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (!sess)
		setup();
	wa_session *s = sess;
	static const uint8_t k1[32] = {1}, k2[32] = {2};
	if (!s->nt && wa_noise_transport_new(&s->nt, k1, k2) != 0)
		abort();
	s->conn = &tok;
	s->state = WA_CONN_READY;

	wa_node *n = NULL;
	const char *id = ID;
	if (data[0] & 1) {
		n = sealed(data + 1, size - 1);
	} else {
		if (wa_bin_decode_body(data + 1, size - 1, &n) != 0)
			return 0;
		const char *nid = wa_media_retry_answer_id(n);
		if (nid && nid[0] && strlen(nid) < WA_MEDIA_RETRY_ID_MAX)
			id = nid;
	}
	cur_url = urls[(data[0] >> 1) & 3];
	json_t *msg = json_pack("{s:{s:s, s:s, s:s}}", "imageMessage", "mediaKey", MK_B64, "directPath",
		"/v/t62.7118-24/old.enc", "mimetype", "image/jpeg");
	if (!msg)
		abort();
	if (cur_url)
		json_object_set_new(json_object_get(msg, "imageMessage"), "url", json_string(cur_url));
	char *mj = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	wa_msg_key key = {.remote_jid = "1@s.whatsapp.net", .id = id};
	ends = 0;
	if (!mj || wa_session_media_retry(s, &key, mj, on_done, NULL) != 0)
		abort();
	free(mj);
	(void)wa_media_rr_handle_notification(s, n);
	wa_node_free(n);
	/* whatever the notification was, the request ends once: now, or here */
	wa_media_retries_end(s);
	if (ends != 1)
		abort();
	return 0;
}
