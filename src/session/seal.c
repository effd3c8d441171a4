/* Sealing a message: encrypt it for every recipient device (our own
 * devices get the deviceSentMessage copy), build the outgoing <message>
 * (messaging.md §3, §5) and record its encoded bytes in the outbox row in
 * the same transaction as the ratchet steps; only then it is sent.
 * The stanza: one <to> per recipient device inside <participants>
 * (fan-out), or a single direct <enc> for a one-device retry resend;
 * <device-identity> whenever any <enc> is a pkmsg (the receiver needs our
 * account signature to trust a new session). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binary/encode.h"
#include "session/groups.h"
#include "session/msg.h"
#include "session/kinds.h"
#include "session/msgstate.h"
#include "util/log.h"

#define MOD "msg"

/* Encrypts j for each of its recipients with a session and records the stanza in
 * j's outbox row (state SENDING): the ratchet steps and the record must
 * commit together, so the caller holds the transaction and sends the
 * record (*rec_out: WA_OUTBOX_STANZA + encoded stanza, free()) only after
 * its commit. */
int wa_msg_job_seal(wa_session *s, wa_msg_job *j, uint8_t **rec_out, size_t *rec_len_out)
{
	wa_msg_rcpts r = {0};
	uint8_t *dsm = NULL, *rec = NULL, *enc_bytes = NULL;
	size_t dsm_len = 0, enc_len = 0;
	wa_msg_enc *encs = NULL;
	uint8_t **cts = NULL;
	size_t ne = 0, n_peer = 0;
	wa_node *st = NULL;
	char gj[WA_STORE_JID_MAX];
	if (wa_group_jid_norm(j->chat, gj))
		return wa_msg_group_seal(s, j, rec_out, rec_len_out);
	int rc = wa_msg_recipients(s, j->chat, &r);
	const wa_msg_target *t = r.t;
	size_t n = r.n;
	if (rc == 0 && !(encs = calloc(n ? n : 1, sizeof *encs)))
		rc = WA_ENOMEM;
	if (rc == 0 && !(cts = calloc(n ? n : 1, sizeof *cts)))
		rc = WA_ENOMEM;
	if (rc == 0)
		rc = wa_msg_wrap_dsm(j->msg, j->msg_len, j->chat, &dsm, &dsm_len);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (t[i].cipher != WA_CIPHER_MSG) {
			WA_DEBUG(MOD, "[%lld] no session with %s: skipped", (long long)s->instance_id, t[i].jid);
			continue;
		}
		enum wa_sig_msg_type ty;
		size_t cl = 0;
		rc = wa_sig_encrypt(s->sig, t[i].addr, t[i].device, t[i].own ? dsm : j->msg,
			t[i].own ? dsm_len : j->msg_len, &ty, &cts[ne], &cl);
		if (rc != 0)
			break;
		encs[ne].jid = t[i].jid;
		encs[ne].type = ty;
		encs[ne].ct = cts[ne];
		encs[ne].ct_len = cl;
		ne++;
		if (!t[i].own)
			n_peer++;
	}
	if (rc == 0 && n_peer == 0)
		rc = WA_ENOTFOUND; /* nobody to deliver to */
	uint8_t rtok[WA_REPORTING_TOKEN_LEN];
	/* as Baileys: on the first send of a message with a messageSecret, not on retry resends */
	bool has_rtok = rc == 0 && wa_msg_reporting_token(j->msg, j->msg_len, j->id, j->chat, rtok) == 0;
	uint8_t *tct = NULL;
	size_t tct_len = 0;
	if (rc == 0 && wa_msg_tctoken_for(s, j->chat, &tct, &tct_len) != 0)
		tct = NULL;
	if (rc == 0) {
		const wa_msg_kind *k = wa_msg_kind_of(j->msg, j->msg_len);
		wa_msg_stanza ms = {
			.reporting_token = has_rtok ? rtok : NULL,
			.tctoken = tct, .tctoken_len = tct_len,
			.id = j->id, .to = j->chat, .type = k->stanza_type, .encs = encs, .n_encs = ne,
			.edit = wa_msg_kind_edit_attr(j->msg, j->msg_len),
			.decrypt_fail_hide = k->hide_decrypt_fail,
			.device_identity = s->creds->adv_identity,
			.device_identity_len = s->creds->adv_identity_len,
		};
		rc = wa_msg_build_stanza(&ms, &st);
	}
	if (rc == 0)
		rc = wa_bin_encode(st, &enc_bytes, &enc_len);
	if (rc == 0 && !(rec = malloc(enc_len + 1)))
		rc = WA_ENOMEM;
	if (rc == 0) {
		rec[0] = WA_OUTBOX_STANZA;
		memcpy(rec + 1, enc_bytes, enc_len);
		rc = wa_store_outbox_update(s->store, s->instance_id, j->row, WA_STORE_OUTBOX_SENDING, rec,
			enc_len + 1);
	}
	for (size_t i = 0; cts && i < ne; i++)
		free(cts[i]);
	free(cts);
	free(encs);
	wa_msg_recipients_free(&r);
	free(dsm);
	free(tct);
	free(enc_bytes);
	wa_node_free(st);
	if (rc == 0) {
		*rec_out = rec;
		*rec_len_out = enc_len + 1;
	} else {
		free(rec);
	}
	return rc;
}

/* Sends a sealed stanza (its outbox record) once the record has committed;
 * a failed write leaves the row SENDING, requeued and resent on the next
 * READY. */
void wa_msg_send_sealed(wa_session *s, const wa_msg_job *j, const uint8_t *rec, size_t rec_len)
{
	int src = wa_conn_send_message_bytes(s, rec + 1, rec_len - 1, j->id);
	if (src == 0) {
		wa_msg_inflight_add(s, j->row, j->id, j->chat);
		wa_msg_tctoken_after_send(s, j->chat, j->msg, j->msg_len);
	}
	else
		WA_DEBUG(MOD, "[%lld] %s recorded, send failed (%s): resent on reconnect",
			(long long)s->instance_id, j->id, wa_errname(src));
}

/* Encrypts for every target with a session, records the stanza with the
 * ratchet steps in one transaction, then sends it. */
void wa_msg_job_encrypt(wa_session *s, wa_msg_job *j)
{
	wa_msg_state *m = s->msg;
	m->job = NULL;
	wa_msg_hold_drop(m, j->chat);
	uint8_t *rec = NULL;
	size_t rec_len = 0;
	int rc = wa_store_begin(s->store);
	if (rc == 0) {
		rc = wa_msg_job_seal(s, j, &rec, &rec_len);
		if (rc == 0)
			rc = wa_store_commit(s->store);
		else
			wa_store_rollback(s->store);
	}
	wa_msg_flush_identity(s);
	if (rc == 0) {
		wa_msg_send_sealed(s, j, rec, rec_len);
	} else if (rc == WA_EDB || rc == WA_EDB_BUSY) {
		WA_DEBUG(MOD, "[%lld] %s: store error %s, left queued", (long long)s->instance_id, j->id,
			wa_errname(rc));
	} else {
		wa_msg_job_fail(s, j, rc);
	}
	free(rec);
	wa_msg_job_free(j);
	if (rc == 0 || (rc != WA_EDB && rc != WA_EDB_BUSY))
		wa_msg_pump(s);
}

/* ---------------- the stanza ---------------- */

static int set(wa_node *n, const char *k, const char *v, int rc)
{
	return rc == 0 && v ? wa_node_set_attr(n, k, v) : rc;
}

static int add_enc(wa_node *parent, const wa_msg_stanza *m, const wa_msg_enc *e)
{
	wa_node *enc = NULL;
	int rc = wa_node_add_new(parent, "enc", &enc);
	rc = set(enc, "v", "2", rc);
	rc = set(enc, "type", wa_sig_type_name(e->type), rc);
	if (m->retry_count) {
		char c[16];
		snprintf(c, sizeof c, "%u", m->retry_count);
		rc = set(enc, "count", c, rc);
	}
	rc = set(enc, "mediatype", m->mediatype, rc);
	if (m->decrypt_fail_hide)
		rc = set(enc, "decrypt-fail", "hide", rc);
	if (rc == 0)
		rc = wa_node_set_bytes(enc, e->ct, e->ct_len);
	return rc;
}

int wa_msg_build_stanza(const wa_msg_stanza *m, wa_node **out)
{
	if (!m || !out || !m->id || !m->to || !m->type || (m->n_encs && !m->encs) ||
	    (m->single && m->n_encs != 1))
		return WA_EINVAL;
	for (size_t i = 0; i < m->n_encs; i++)
		if (!m->encs[i].jid || !wa_sig_type_name(m->encs[i].type) || !m->encs[i].ct)
			return WA_EINVAL;
	wa_node *msg = NULL, *parts = NULL, *to = NULL, *di = NULL;
	int rc = wa_node_new(&msg, "message");
	rc = set(msg, "id", m->id, rc);
	rc = set(msg, "to", m->to, rc);
	rc = set(msg, "type", m->type, rc);
	rc = set(msg, "edit", m->edit, rc);
	rc = set(msg, "recipient", m->recipient, rc);
	if (m->single)
		rc = set(msg, "device_fanout", "false", rc);
	bool any_pk = false;
	if (rc == 0 && m->single) {
		rc = add_enc(msg, m, &m->encs[0]);
		any_pk = m->encs[0].type == WA_SIG_TYPE_PKMSG;
	} else if (rc == 0 && m->n_encs) {
		rc = wa_node_add_new(msg, "participants", &parts);
		for (size_t i = 0; rc == 0 && i < m->n_encs; i++) {
			rc = wa_node_add_new(parts, "to", &to);
			rc = set(to, "jid", m->encs[i].jid, rc);
			if (rc == 0)
				rc = add_enc(to, m, &m->encs[i]);
			any_pk |= m->encs[i].type == WA_SIG_TYPE_PKMSG;
		}
	}
	if (rc == 0 && (any_pk || m->force_identity) && m->device_identity_len) {
		rc = wa_node_add_new(msg, "device-identity", &di);
		if (rc == 0)
			rc = wa_node_set_bytes(di, m->device_identity, m->device_identity_len);
	}
	if (rc == 0 && m->reporting_token) {
		wa_node *rep = NULL, *tok = NULL;
		rc = wa_node_add_new(msg, "reporting", &rep);
		if (rc == 0)
			rc = wa_node_add_new(rep, "reporting_token", &tok);
		rc = set(tok, "v", "2", rc);
		if (rc == 0)
			rc = wa_node_set_bytes(tok, m->reporting_token, WA_REPORTING_TOKEN_LEN);
	}
	if (rc == 0 && m->tctoken && m->tctoken_len) {
		wa_node *tc = NULL;
		rc = wa_node_add_new(msg, "tctoken", &tc);
		if (rc == 0)
			rc = wa_node_set_bytes(tc, m->tctoken, m->tctoken_len);
	}
	if (rc != 0) {
		wa_node_free(msg);
		return rc;
	}
	*out = msg;
	return 0;
}

const char *wa_msg_stanza_type(const uint8_t *msg, size_t len)
{
	return wa_msg_kind_of(msg, len)->stanza_type;
}
