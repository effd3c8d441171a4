/* Retry receipts both ways (messaging.md §5). Out: when a message from a
 * peer device fails to decrypt we ask for it again, at most
 * WA_MSG_MAX_RETRY times, with our keys so the sender can rebuild its
 * session. In: a peer that could not decrypt ours gets it re-encrypted for
 * that one device, from its keys or a freshly fetched bundle. The stanza
 * mirrors the attributes both reference clients emit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session/msg.h"
#include "session/kinds.h"
#include "session/groups.h"
#include "session/msgstate.h"
#include "signal/prekeys.h"
#include "util/log.h"

#define MOD "msg"

typedef struct wa_msg_retry_track {
	char key[WA_MSG_ID_MAX + WA_STORE_JID_MAX + 2];
	unsigned count;
	struct wa_msg_retry_track *next;
} retry_track;

static unsigned retry_bump(wa_msg_state *m, const char *id, const char *from)
{
	char key[sizeof((retry_track *)0)->key];
	snprintf(key, sizeof key, "%s|%s", id, from);
	for (retry_track *r = m->rt; r; r = r->next)
		if (strcmp(r->key, key) == 0)
			return ++r->count;
	if (m->n_rt >= WA_MSG_MAX_RETRY_TRACK) {
		while (m->rt) {
			retry_track *x = m->rt;
			m->rt = x->next;
			free(x);
		}
		m->n_rt = 0;
	}
	retry_track *r = calloc(1, sizeof *r);
	if (!r)
		return 1;
	snprintf(r->key, sizeof r->key, "%s", key);
	r->count = 1;
	r->next = m->rt;
	m->rt = r;
	m->n_rt++;
	return 1;
}

void wa_msg_send_retry_receipt(wa_session *s, const wa_node *n, const wa_in_msg *in, int err)
{
	unsigned count = retry_bump(s->msg, in->id, in->from_s);
	if (count > WA_MSG_MAX_RETRY)
		return;
	wa_retry_keys k;
	memset(&k, 0, sizeof k);
	k.registration_id = s->creds->registration_id;
	memcpy(k.identity, s->creds->identity_pub, 32);
	k.spk_id = s->creds->signed_prekey_id;
	memcpy(k.spk, s->creds->signed_prekey_pub, 32);
	memcpy(k.spk_sig, s->creds->signed_prekey_sig, 64);
	k.device_identity = s->creds->adv_identity;
	k.device_identity_len = s->creds->adv_identity_len;
	/* Keys from the first attempt (the references wait for the second):
	 * a peer whose session state broke (Baileys can lose a write when a
	 * decrypt and an encrypt of the same session overlap) rebuilds it from
	 * them even when it cannot find the message to resend, so what it
	 * sends next is readable again. Costs one one-time pre-key per retry. */
	(void)err;
	{
		wa_sig_prekey pk;
		uint32_t next = 0;
		if (wa_sig_prekeys_generate(s->sig, s->creds->next_prekey_id, 1, &pk, &next) == 0) {
			s->creds->next_prekey_id = next;
			if (wa_store_creds_save(s->store, s->instance_id, s->creds) == 0) {
				k.prekey_id = pk.id;
				memcpy(k.prekey, pk.pub, 32);
			}
		}
	}
	wa_node *r = NULL;
	if (wa_retry_build(n, NULL, count, &k, &r) == 0)
		(void)send_node(s, r);
	WA_DEBUG(MOD, "[%lld] decrypt of %s from %s failed (%s): retry receipt %u",
		(long long)s->instance_id, in->id, in->from_s, wa_errname(err), count);
}

void wa_msg_retries_clear(wa_msg_state *m)
{
	while (m->rt) {
		retry_track *r = m->rt;
		m->rt = r->next;
		free(r);
	}
	m->n_rt = 0;
}

/* Resends our message id (stored under chat) to one device. */
static void resend_to(wa_session *s, const char *chat, const char *id, const char *dev_s, unsigned count)
{
	wa_jid dev;
	char name[WA_STORE_JID_MAX];
	if (wa_jid_parse(&dev, dev_s) != 0 || wa_msg_addr_for(s, &dev, name) != 0)
		return;
	wa_store_msg_row *row = NULL;
	if (wa_store_msg_load(s->store, s->instance_id, chat, id, true, &row) != 0)
		return;
	bool own = wa_msg_is_me(s, &dev);
	uint8_t *dsm = NULL, *ct = NULL;
	size_t dsm_len = 0, ct_len = 0;
	enum wa_sig_msg_type ty;
	int rc = 0;
	if (own)
		rc = wa_msg_wrap_dsm(row->plaintext, row->plaintext_len, chat, &dsm, &dsm_len);
	if (rc == 0)
		rc = wa_sig_encrypt(s->sig, name, dev.device, own ? dsm : row->plaintext,
			own ? dsm_len : row->plaintext_len, &ty, &ct, &ct_len);
	wa_msg_flush_identity(s);
	wa_node *st = NULL;
	if (rc == 0) {
		const wa_msg_kind *k = wa_msg_kind_of(row->plaintext, row->plaintext_len);
		wa_msg_enc e = {.jid = dev_s, .type = ty, .ct = ct, .ct_len = ct_len};
		wa_msg_stanza ms = {
			.id = id, .to = dev_s, .type = k->stanza_type, .single = true, .encs = &e, .n_encs = 1,
			.edit = wa_msg_kind_edit_attr(row->plaintext, row->plaintext_len),
			.recipient = own ? chat : NULL, .retry_count = count,
			.decrypt_fail_hide = k->hide_decrypt_fail,
			.device_identity = s->creds->adv_identity,
			.device_identity_len = s->creds->adv_identity_len, .force_identity = true,
		};
		rc = wa_msg_build_stanza(&ms, &st);
	}
	if (rc == 0)
		rc = send_node(s, st);
	WA_DEBUG(MOD, "[%lld] resend of %s to %s (retry %u): %s", (long long)s->instance_id, id, dev_s,
		count, wa_errname(rc));
	free(dsm);
	free(ct);
	wa_store_msg_row_free(row);
}

typedef struct retry_req {
	char chat[WA_STORE_JID_MAX];
	char id[WA_MSG_ID_MAX + 1];
	char dev[WA_STORE_JID_MAX];
	unsigned count;
} retry_req;

static void on_retry_bundle(wa_session *s, int err, const wa_node *resp, void *user)
{
	retry_req *r = user;
	wa_prekey_user *pu = NULL;
	size_t n = 0;
	if (err == 0 && s->msg && wa_prekey_parse(resp, &pu, &n) == 0) {
		for (size_t i = 0; i < n; i++) {
			wa_jid dj;
			char name[WA_STORE_JID_MAX];
			if (pu[i].ok && wa_jid_parse(&dj, pu[i].jid) == 0 && wa_msg_addr_for(s, &dj, name) == 0 &&
			    wa_sig_session_from_bundle(s->sig, name, dj.device, &pu[i].bundle) == 0) {
				wa_msg_flush_identity(s);
				resend_to(s, r->chat, r->id, r->dev, r->count);
				break;
			}
		}
	}
	free(pu);
	free(r);
}

void wa_msg_handle_retry(wa_session *s, const wa_node *n, const wa_in_receipt *r)
{
	char chat[WA_STORE_JID_MAX], fu[WA_STORE_JID_MAX];
	if (r->participant && wa_group_jid_norm(r->from_s, chat)) {
		wa_msg_group_retry(s, r);
		return;
	}
	const char *hint = r->recipient && wa_msg_is_me(s, &r->from) ? r->recipient : r->from_s;
	if (!wa_msg_user_of(hint, fu, NULL) || !wa_msg_find_own(s, r->ids[0], fu, chat))
		return;
	if (r->retry_count > WA_MSG_MAX_RETRY)
		return;
	wa_jid dev = r->from;
	char name[WA_STORE_JID_MAX];
	if (wa_msg_addr_for(s, &dev, name) != 0)
		return;
	if (r->keys && r->has_registration) {
		wa_sig_bundle b;
		if (wa_prekey_parse_bundle(r->keys, r->reg_node, &b) == 0 &&
		    wa_sig_session_from_bundle(s->sig, name, dev.device, &b) == 0) {
			wa_msg_flush_identity(s);
			resend_to(s, chat, r->ids[0], r->from_s, r->retry_count);
			return;
		}
	}
	/* no usable keys: fetch the device's bundle afresh (Baileys does the same) */
	retry_req *rq = calloc(1, sizeof *rq);
	if (!rq)
		return;
	snprintf(rq->chat, sizeof rq->chat, "%s", chat);
	snprintf(rq->id, sizeof rq->id, "%s", r->ids[0]);
	snprintf(rq->dev, sizeof rq->dev, "%s", r->from_s);
	rq->count = r->retry_count;
	char iq_id[WA_SESSION_ID_MAX];
	wa_session_new_id(s, iq_id);
	wa_node *iq = NULL;
	const char *jids[1] = {r->from_s};
	int rc = wa_prekey_build_fetch(iq_id, jids, 1, true, &iq);
	if (rc == 0)
		rc = wa_iq_send(s, iq, 0, on_retry_bundle, rq);
	wa_node_free(iq);
	if (rc != 0)
		free(rq);
	(void)n;
}

/* ---------------- the retry receipt ---------------- */

static int set(wa_node *n, const char *k, const char *v, int rc)
{
	return rc == 0 && v ? wa_node_set_attr(n, k, v) : rc;
}

static int bytes_child(wa_node *parent, const char *tag, const void *p, size_t n, wa_node **out)
{
	wa_node *c;
	int rc = wa_node_add_new(parent, tag, &c);
	if (rc == 0)
		rc = wa_node_set_bytes(c, p, n);
	if (rc == 0 && out)
		*out = c;
	return rc;
}

static void be(uint32_t v, uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

int wa_retry_build(const wa_node *failed, const char *own_id_for_to, unsigned count,
	const wa_retry_keys *keys, wa_node **out)
{
	(void)own_id_for_to;
	if (!failed || !out || !keys || count == 0)
		return WA_EINVAL;
	const char *id = wa_node_attr(failed, "id");
	const char *from = wa_node_attr(failed, "from");
	if (!id || !from)
		return WA_EINVAL;
	char cnt[16];
	snprintf(cnt, sizeof cnt, "%u", count);
	wa_node *r = NULL, *rt = NULL, *k = NULL, *sk = NULL, *pk = NULL;
	uint8_t reg[4], kid[3];
	be(keys->registration_id, reg, 4);
	int rc = wa_node_new(&r, "receipt");
	rc = set(r, "id", id, rc);
	rc = set(r, "type", "retry", rc);
	rc = set(r, "to", from, rc);
	rc = set(r, "recipient", wa_node_attr(failed, "recipient"), rc);
	rc = set(r, "participant", wa_node_attr(failed, "participant"), rc);
	if (rc == 0)
		rc = wa_node_add_new(r, "retry", &rt);
	rc = set(rt, "count", cnt, rc);
	rc = set(rt, "id", id, rc);
	rc = set(rt, "t", wa_node_attr(failed, "t"), rc);
	rc = set(rt, "v", "1", rc);
	rc = set(rt, "error", "0", rc);
	if (rc == 0)
		rc = bytes_child(r, "registration", reg, 4, NULL);
	if (rc == 0 && (count > 1 || keys->prekey_id)) {
		static const uint8_t type5 = 5;
		rc = wa_node_add_new(r, "keys", &k);
		if (rc == 0)
			rc = bytes_child(k, "type", &type5, 1, NULL);
		if (rc == 0)
			rc = bytes_child(k, "identity", keys->identity, 32, NULL);
		if (rc == 0 && keys->prekey_id) {
			rc = wa_node_add_new(k, "key", &pk);
			be(keys->prekey_id, kid, 3);
			if (rc == 0)
				rc = bytes_child(pk, "id", kid, 3, NULL);
			if (rc == 0)
				rc = bytes_child(pk, "value", keys->prekey, 32, NULL);
		}
		if (rc == 0)
			rc = wa_node_add_new(k, "skey", &sk);
		be(keys->spk_id, kid, 3);
		if (rc == 0)
			rc = bytes_child(sk, "id", kid, 3, NULL);
		if (rc == 0)
			rc = bytes_child(sk, "value", keys->spk, 32, NULL);
		if (rc == 0)
			rc = bytes_child(sk, "signature", keys->spk_sig, 64, NULL);
		if (rc == 0 && keys->device_identity_len)
			rc = bytes_child(k, "device-identity", keys->device_identity,
				keys->device_identity_len, NULL);
	}
	if (rc != 0) {
		wa_node_free(r);
		return rc;
	}
	*out = r;
	return 0;
}
