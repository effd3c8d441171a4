/* src/session/prekeys.c: one-time pre-key upkeep on the server
 * (transport-and-pairing.md §8): after every <success> ask for the count,
 * upload 812 keys the first time and 50 when fewer than 5 are left (the
 * whatsmeow sizes), and react to the server's "encrypt" count
 * notification the same way. Keys are generated and their next id saved
 * before the upload goes out, so an id is never handed out twice. */
#include <stdlib.h>
#include <string.h>

#include "session/internal.h"
#include "session/msgstate.h"
#include "signal/prekeys.h"
#include "util/log.h"

#define MOD "session"

static int add_bytes(wa_node *parent, const char *tag, const void *p, size_t len, wa_node **out)
{
	wa_node *c;
	int rc = wa_node_add_new(parent, tag, &c);
	if (rc == 0)
		rc = wa_node_set_bytes(c, p, len);
	if (rc == 0 && out)
		*out = c;
	return rc;
}

struct upload_ctx {
	uint32_t next_id;
};

static void on_upload_answer(wa_session *s, int err, const wa_node *resp, void *user)
{
	(void)resp;
	struct upload_ctx *u = user;
	s->prekey_uploading = false;
	if (err == 0) {
		s->creds->first_unuploaded_prekey_id = u->next_id;
		int rc = wa_store_creds_save(s->store, s->instance_id, s->creds);
		if (rc)
			WA_DEBUG(MOD, "[%lld] saving pre-key state failed: %s", (long long)s->instance_id,
				wa_errname(rc));
	} else {
		WA_DEBUG(MOD, "[%lld/%u] pre-key upload failed: %s", (long long)s->instance_id, s->gen,
			wa_errname(err));
	}
	free(u);
}

int wa_prekeys_build_upload(wa_node **out, uint32_t regid, const uint8_t identity_pub[static 32],
	const wa_sig_prekey *keys, size_t n, uint32_t spk_id, const uint8_t spk_pub[static 32],
	const uint8_t spk_sig[static 64])
{
	wa_node *iq, *list, *key, *skey;
	int rc = wa_node_new(&iq, "iq");
	if (rc)
		return rc;
	uint8_t reg[4] = {(uint8_t)(regid >> 24), (uint8_t)(regid >> 16), (uint8_t)(regid >> 8),
		(uint8_t)regid};
	uint8_t type = 0x05, id3[3];
	if ((rc = wa_node_set_attr(iq, "xmlns", "encrypt")) || (rc = wa_node_set_attr(iq, "type", "set")) ||
	    (rc = wa_node_set_attr(iq, "to", "@s.whatsapp.net")) ||
	    (rc = add_bytes(iq, "registration", reg, 4, NULL)) || (rc = add_bytes(iq, "type", &type, 1, NULL)) ||
	    (rc = add_bytes(iq, "identity", identity_pub, 32, NULL)) ||
	    (rc = wa_node_add_new(iq, "list", &list)))
		goto fail;
	wa_node_set_list(list);
	for (size_t i = 0; i < n; i++) {
		wa_sig_key_id_encode(keys[i].id, id3);
		if ((rc = wa_node_add_new(list, "key", &key)) || (rc = add_bytes(key, "id", id3, 3, NULL)) ||
		    (rc = add_bytes(key, "value", keys[i].pub, 32, NULL)))
			goto fail;
	}
	wa_sig_key_id_encode(spk_id, id3);
	if ((rc = wa_node_add_new(iq, "skey", &skey)) || (rc = add_bytes(skey, "id", id3, 3, NULL)) ||
	    (rc = add_bytes(skey, "value", spk_pub, 32, NULL)) ||
	    (rc = add_bytes(skey, "signature", spk_sig, 64, NULL)))
		goto fail;
	*out = iq;
	return 0;
fail:
	wa_node_free(iq);
	return rc;
}

int wa_prekeys_upload(wa_session *s, size_t n)
{
	if (s->prekey_uploading)
		return 0;
	if (n == 0 || n > WA_SIG_MAX_PREKEY_BATCH)
		return WA_EINVAL;
	if (!s->sig || !s->nt)
		return WA_ESTATE;
	wa_sig_prekey *keys = calloc(n, sizeof *keys);
	struct upload_ctx *u = calloc(1, sizeof *u);
	wa_node *iq = NULL;
	int rc = WA_ENOMEM;
	if (!keys || !u)
		goto done;
	uint32_t next = 0;
	rc = wa_sig_prekeys_generate(s->sig, s->creds->next_prekey_id, n, keys, &next);
	if (rc)
		goto done;
	s->creds->next_prekey_id = next;
	if ((rc = wa_store_creds_save(s->store, s->instance_id, s->creds)) != 0)
		goto done;
	rc = wa_prekeys_build_upload(&iq, s->creds->registration_id, s->creds->identity_pub, keys, n,
		s->creds->signed_prekey_id, s->creds->signed_prekey_pub, s->creds->signed_prekey_sig);
	if (rc)
		goto done;
	u->next_id = next;
	rc = wa_iq_send(s, iq, 0, on_upload_answer, u);
	if (rc == 0) {
		u = NULL;
		s->prekey_uploading = true;
		WA_DEBUG(MOD, "[%lld/%u] uploading %zu pre-keys", (long long)s->instance_id, s->gen, n);
	}
done:
	wa_node_free(iq);
	free(keys);
	free(u);
	return rc;
}

/* Parses <count value="N"/> under n; -1 when absent or malformed. */
static long count_of(const wa_node *n)
{
	const wa_node *c = n ? wa_node_child(n, "count") : NULL;
	const char *v = c ? wa_node_attr(c, "value") : NULL;
	if (!v || !*v || strlen(v) > 9)
		return -1;
	long x = 0;
	for (const char *p = v; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		x = x * 10 + (*p - '0');
	}
	return x;
}

size_t wa_prekeys_wanted(long server_count, bool ever_uploaded)
{
	if (server_count < 0 || server_count >= (long)WA_SESSION_PREKEY_MIN)
		return 0;
	return ever_uploaded ? WA_SESSION_PREKEY_TOPUP : WA_SESSION_PREKEY_INITIAL;
}

static void on_count_answer(wa_session *s, int err, const wa_node *resp, void *user)
{
	(void)user;
	if (err) {
		WA_DEBUG(MOD, "[%lld/%u] pre-key count failed: %s", (long long)s->instance_id, s->gen,
			wa_errname(err));
		return;
	}
	long cnt = count_of(resp);
	bool ever = s->creds->first_unuploaded_prekey_id > 1;
	size_t want = wa_prekeys_wanted(cnt, ever);
	WA_DEBUG(MOD, "[%lld/%u] server has %ld pre-keys", (long long)s->instance_id, s->gen, cnt);
	if (want) {
		int rc = wa_prekeys_upload(s, want);
		if (rc)
			WA_DEBUG(MOD, "[%lld/%u] pre-key upload not sent: %s", (long long)s->instance_id,
				s->gen, wa_errname(rc));
	}
}

int wa_prekeys_check(wa_session *s)
{
	wa_node *iq, *c;
	int rc = wa_node_new(&iq, "iq");
	if (rc)
		return rc;
	if ((rc = wa_node_set_attr(iq, "xmlns", "encrypt")) == 0 &&
	    (rc = wa_node_set_attr(iq, "type", "get")) == 0 &&
	    (rc = wa_node_set_attr(iq, "to", "@s.whatsapp.net")) == 0 &&
	    (rc = wa_node_add_new(iq, "count", &c)) == 0)
		rc = wa_iq_send(s, iq, 0, on_count_answer, NULL);
	wa_node_free(iq);
	return rc;
}

int wa_prekeys_handle_notification(wa_session *s, const wa_node *n)
{
	long cnt = count_of(n);
	/* other encrypt notifications (identity changes) belong to messaging,
	 * which acks them itself */
	if (cnt < 0)
		return wa_msg_handle_notification(s, n);
	int rc = wa_session_send_ack(s, n);
	if (cnt >= 0 && cnt < (long)WA_SESSION_PREKEY_MIN && s->state == WA_CONN_READY) {
		int urc = wa_prekeys_upload(s, WA_SESSION_PREKEY_TOPUP);
		if (urc)
			return urc;
	}
	return rc;
}
