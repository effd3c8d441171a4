/* Group messages (messaging.md §6, §10): sending with our sender key and
 * receiving skmsg.
 *
 * Send (an outbox job whose chat is a group): the members from the cached
 * metadata (asked from the server when absent), their device lists by usync
 * in batches, pre-key bundles for the devices that need our distribution
 * message and have no session, then one transaction: the skmsg, the
 * distribution message (SKDM) pairwise to every device not yet holding our
 * current key, those devices recorded as holders, the stanza recorded in
 * the outbox row; only then it is sent. After a participant leaves our
 * key is dropped (wa_msg_group_rotate) and nobody holds the new one.
 *
 * Receive: the pairwise copy (SKDM) first, then the skmsg, in one
 * transaction with the stored row; only then the receipt. A skmsg whose key
 * we do not have asks for the message again (retry receipt naming the
 * participant), and the sender's resend carries the key. Sender keys of
 * others are named by the participant's user and device as the stanza
 * gives them (as Baileys does), ours by our own phone-number user. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binary/encode.h"
#include "crypto/crypto.h"
#include "message.pb-c.h"
#include "pb.h"
#include "session/drain.h"
#include "session/groups.h"
#include "session/iq.h"
#include "session/msg.h"
#include "session/msgstate.h"
#include "store/store.h"
#include "util/codec.h"
#include "util/log.h"

#define MOD "msg"
#define USYNC_BATCH 100

/* ---------------- SKDM Message ---------------- */

static int skdm_message(const char *group, const uint8_t *skdm, size_t len, uint8_t **out, size_t *out_len)
{
	Wa__Message m = WA__MESSAGE__INIT;
	Wa__Message__SenderKeyDistributionMessage d = WA__MESSAGE__SENDER_KEY_DISTRIBUTION_MESSAGE__INIT;
	d.group_id = (char *)(uintptr_t)group;
	d.has_axolotl_sender_key_distribution_message = true;
	d.axolotl_sender_key_distribution_message.data = (uint8_t *)(uintptr_t)skdm;
	d.axolotl_sender_key_distribution_message.len = len;
	m.sender_key_distribution_message = &d;
	size_t n = protobuf_c_message_get_packed_size(&m.base);
	uint8_t *b = malloc(n ? n : 1);
	if (!b)
		return WA_ENOMEM;
	protobuf_c_message_pack(&m.base, b);
	*out = b;
	*out_len = n;
	return 0;
}

/* The SKDM a pairwise plaintext carries, if any (copied); whether the
 * plaintext has anything else (content sent pairwise). */
static int skdm_of(const uint8_t *pt, size_t len, uint8_t **skdm, size_t *skdm_len, bool *content)
{
	ProtobufCMessage *pb = NULL;
	int rc = wa_pb_unpack(&pb, &wa__message__descriptor, pt, len, WA_SIG_MAX_PLAINTEXT);
	if (rc != 0)
		return rc;
	Wa__Message *m = (Wa__Message *)pb;
	*skdm = NULL;
	*skdm_len = 0;
	Wa__Message__SenderKeyDistributionMessage *d = m->sender_key_distribution_message;
	if (d && d->has_axolotl_sender_key_distribution_message && d->axolotl_sender_key_distribution_message.len) {
		*skdm_len = d->axolotl_sender_key_distribution_message.len;
		if (!(*skdm = malloc(*skdm_len)))
			rc = WA_ENOMEM;
		else
			memcpy(*skdm, d->axolotl_sender_key_distribution_message.data, *skdm_len);
	}
	m->sender_key_distribution_message = NULL;
	m->message_context_info = NULL;
	*content = protobuf_c_message_get_packed_size(&m->base) > 0;
	m->sender_key_distribution_message = d;
	protobuf_c_message_free_unpacked(pb, NULL);
	return rc;
}

/* ---------------- our sender key ---------------- */

/* Our sender-key address: own phone-number user and this device. */
static bool own_sk(wa_session *s, char name[WA_STORE_JID_MAX], int32_t *dev)
{
	wa_jid me;
	const char *mej = wa_session_me_jid(s);
	if (!mej || wa_jid_parse(&me, mej) != 0 || strlen(me.user) >= WA_STORE_JID_MAX)
		return false;
	snprintf(name, WA_STORE_JID_MAX, "%s", me.user);
	*dev = me.device;
	return true;
}

void wa_msg_group_rotate(wa_session *s, const char *group)
{
	char name[WA_STORE_JID_MAX];
	int32_t dev;
	if (own_sk(s, name, &dev))
		ign(wa_store_sender_key_delete(s->store, s->instance_id, group, name, dev));
	wa_gstate_drop(s, group); /* nobody holds the next key */
}

void wa_msg_group_stale(wa_session *s, const char *group)
{
	wa_gmeta *g = NULL;
	/* the next send asks the metadata and every member's devices again */
	wa_log(WA_LOG_INFO, MOD, "[%lld] %s: the server's participant hash differs, lists refreshed",
		(long long)s->instance_id, group);
	if (wa_group_cached(s, group, &g) == 0) {
		for (size_t i = 0; i < g->n; i++) {
			if (g->p[i].jid[0])
				wa_msg_devcache_drop(s->msg, g->p[i].jid);
			if (g->p[i].lid[0])
				wa_msg_devcache_drop(s->msg, g->p[i].lid);
		}
		wa_gmeta_free(g);
	}
	wa_group_cache_drop(s, group);
}

/* ---------------- send: preparation ---------------- */

typedef struct gjob {
	wa_msg_job *j;
	wa_gmeta *g;
	size_t next; /* next participant to look at for usync */
	/* devices whose pre-key bundles are asked, a batch at a time (an
	 * answer carries at most WA_PREKEY_MAX_USERS); one that gets none is
	 * not asked again by this send */
	char (*miss)[WA_STORE_JID_MAX];
	size_t n_miss, next_miss;
} gjob;

static void gjob_free(gjob *gj)
{
	wa_gmeta_free(gj->g);
	free(gj->miss);
	free(gj);
}

static void gjob_end(wa_session *s, gjob *gj, int err, const char *why)
{
	wa_msg_job *j = gj->j;
	gjob_free(gj);
	s->msg->job = NULL;
	if (why)
		snprintf(j->why, sizeof j->why, "%s", why);
	wa_msg_job_fail(s, j, err);
	wa_msg_job_free(j);
	wa_msg_pump(s);
}

static void step(wa_session *s, gjob *gj);

/* Seals and sends j, then (the stanza gone) lets the group's stale device
 * lists be asked for in the background. */
static void encrypt(wa_session *s, wa_msg_job *j)
{
	char group[WA_STORE_JID_MAX];
	snprintf(group, sizeof group, "%s", j->chat);
	wa_msg_job_encrypt(s, j);
	if (s->msg)
		wa_gstate_refresh(s, group);
}

static bool transient(int err, int code)
{
	return err == WA_ECLOSED || err == WA_ETIMEOUT || err == WA_ESTATE ||
	       (err == WA_EPROTO && (code <= 0 || code >= 500 || code == 429 || code == 408));
}

static int iq_code(int err, const wa_node *resp)
{
	const wa_node *e = err == WA_EPROTO && resp ? wa_node_child(resp, "error") : NULL;
	const char *c = e ? wa_node_attr(e, "code") : NULL;
	return c ? atoi(c) : 0;
}

static void on_meta(wa_session *s, int err, const wa_node *resp, void *user)
{
	gjob *gj = user;
	if (!s->msg || s->msg->job != gj->j) {
		gjob_free(gj);
		return;
	}
	int code = iq_code(err, resp);
	if (err != 0 && transient(err, code)) {
		wa_msg_job *j = gj->j;
		gjob_free(gj);
		wa_msg_job_defer(s, j, err, code, "group metadata");
		return;
	}
	if (err == 0 && resp && wa_node_child(resp, "group") && wa_group_cache_put(s, wa_node_child(resp, "group")) == 0 &&
	    wa_group_cached(s, gj->j->chat, &gj->g) == 0) {
		step(s, gj);
		return;
	}
	gjob_end(s, gj, err ? err : WA_EMALFORMED,
		code == 404 ? "group not found" : code == 403 ? "not a group member" : "group metadata refused");
}

static void on_usync(wa_session *s, int err, const wa_node *resp, void *user)
{
	gjob *gj = user;
	if (!s->msg || s->msg->job != gj->j) {
		gjob_free(gj);
		return;
	}
	int code = iq_code(err, resp);
	if (err != 0 && transient(err, code)) {
		wa_msg_job *j = gj->j;
		gjob_free(gj);
		wa_msg_job_defer(s, j, err, code, "usync");
		return;
	}
	if (err == 0)
		ign(wa_msg_usync_apply(s, resp, true));
	step(s, gj);
}

static void fetch_batch(wa_session *s, gjob *gj);

static void on_prekeys(wa_session *s, int err, const wa_node *resp, void *user)
{
	gjob *gj = user;
	if (!s->msg || s->msg->job != gj->j) {
		gjob_free(gj);
		return;
	}
	int code = iq_code(err, resp);
	if (err != 0 && transient(err, code)) {
		wa_msg_job *j = gj->j;
		gjob_free(gj);
		wa_msg_job_defer(s, j, err, code, "pre-key fetch");
		return;
	}
	wa_prekey_user *pu = NULL;
	size_t n = 0;
	if (err == 0 && wa_prekey_parse(resp, &pu, &n) == 0) {
		/* the batch's sessions in one commit (one each: a tenth of a
		 * first send to 2,000 devices); lost with it, they are asked
		 * again by the next send */
		int depth = wa_store_tx_depth(s->store);
		bool tx = wa_store_begin(s->store) == 0;
		for (size_t i = 0; i < n; i++) {
			wa_jid dj;
			char name[WA_STORE_JID_MAX];
			bool ex = true;
			if (!pu[i].ok || wa_jid_parse(&dj, pu[i].jid) != 0 || wa_msg_addr_for(s, &dj, name) != 0)
				continue;
			if (wa_sig_session_exists(s->sig, name, dj.device, &ex) == 0 && !ex)
				ign(wa_sig_session_from_bundle(s->sig, name, dj.device, &pu[i].bundle));
		}
		if (tx && wa_store_commit(s->store) != 0) {
			if (wa_store_tx_depth(s->store) > depth)
				wa_store_rollback(s->store);
			wa_msg_pending_drop(s->msg);
		}
		wa_msg_flush_identity(s);
	}
	free(pu);
	if (gj->next_miss < gj->n_miss) {
		fetch_batch(s, gj); /* the next batch of bundles */
		return;
	}
	wa_msg_job *j = gj->j;
	gjob_free(gj);
	s->msg->job = NULL;
	encrypt(s, j);
}

/* metadata -> device lists (batches) -> bundles -> seal. */
static void step(wa_session *s, gjob *gj)
{
	char iq_id[WA_SESSION_ID_MAX];
	wa_node *iq = NULL;
	int rc;
	/* device lists still missing, a batch at a time */
	const char *users[USYNC_BATCH];
	size_t nu = 0;
	for (; gj->next < gj->g->n && nu < USYNC_BATCH; gj->next++)
		if (!wa_msg_devcache_any(s->msg, wa_group_member(gj->g, gj->next)))
			users[nu++] = wa_group_member(gj->g, gj->next);
	if (nu) {
		wa_session_new_id(s, iq_id);
		rc = wa_usync_build_devices(iq_id, iq_id, users, nu, &iq);
		if (rc == 0)
			rc = wa_iq_send(s, iq, 0, on_usync, gj);
		wa_node_free(iq);
		if (rc != 0) {
			/* connection gone: the row stays QUEUED for the next READY */
			s->msg->job = NULL;
			wa_msg_job_free(gj->j);
			gjob_free(gj);
		}
		return;
	}
	wa_gview *v = NULL;
	if ((rc = wa_gstate_get(s, gj->j->chat, gj->g, &v)) != 0 || (rc = wa_gstate_holders(s, gj->j->chat, v)) != 0) {
		gjob_end(s, gj, rc, NULL);
		return;
	}
	if (!(gj->miss = calloc(v->n ? v->n : 1, sizeof *gj->miss))) {
		gjob_end(s, gj, WA_ENOMEM, NULL);
		return;
	}
	for (size_t i = 0; i < v->n; i++)
		if (!v->v[i].me && !v->v[i].holder && !v->v[i].session)
			memcpy(gj->miss[gj->n_miss++], v->v[i].jid, sizeof v->v[i].jid);
	if (gj->n_miss == 0) {
		wa_msg_job *j = gj->j;
		gjob_free(gj);
		s->msg->job = NULL;
		encrypt(s, j);
		return;
	}
	fetch_batch(s, gj);
}

/* Bundles for the next WA_PREKEY_MAX_USERS devices of gj->miss. */
static void fetch_batch(wa_session *s, gjob *gj)
{
	char iq_id[WA_SESSION_ID_MAX];
	wa_node *iq = NULL;
	size_t nb = gj->n_miss - gj->next_miss;
	if (nb > WA_PREKEY_MAX_USERS)
		nb = WA_PREKEY_MAX_USERS;
	const char **jids = calloc(nb, sizeof *jids);
	if (!jids) {
		gjob_end(s, gj, WA_ENOMEM, NULL);
		return;
	}
	for (size_t i = 0; i < nb; i++)
		jids[i] = gj->miss[gj->next_miss + i];
	gj->next_miss += nb;
	wa_session_new_id(s, iq_id);
	int rc = wa_prekey_build_fetch(iq_id, jids, nb, false, &iq);
	free(jids);
	if (rc == 0)
		rc = wa_iq_send(s, iq, 0, on_prekeys, gj);
	wa_node_free(iq);
	if (rc != 0) {
		/* connection gone: the row stays QUEUED for the next READY */
		s->msg->job = NULL;
		wa_msg_job_free(gj->j);
		gjob_free(gj);
	}
}

void wa_msg_group_job_start(wa_session *s, wa_msg_job *j)
{
	gjob *gj = calloc(1, sizeof *gj);
	if (!gj) {
		s->msg->job = NULL;
		wa_msg_job_free(j);
		return;
	}
	gj->j = j;
	/* every device holds our key and nothing changed since: nothing to
	 * look at before sealing */
	if (wa_gstate_ready(s, j->chat)) {
		gjob_free(gj);
		encrypt(s, j);
		return;
	}
	if (wa_group_cached(s, j->chat, &gj->g) == 0) {
		step(s, gj);
		return;
	}
	wa_node *iq = NULL;
	int rc = wa_group_build_query(j->chat, &iq);
	if (rc == 0)
		rc = wa_iq_send(s, iq, 0, on_meta, gj);
	wa_node_free(iq);
	if (rc != 0) {
		s->msg->job = NULL;
		wa_msg_job_free(j);
		gjob_free(gj);
	}
}

/* ---------------- send: sealing ---------------- */

int wa_msg_group_seal(wa_session *s, wa_msg_job *j, uint8_t **rec_out, size_t *rec_len_out)
{
	wa_gview *v = NULL;
	size_t ne = 0;
	char name[WA_STORE_JID_MAX];
	int32_t dev;
	uint8_t *skdm = NULL, *skmsg_pt = NULL, *sk = NULL, *enc_bytes = NULL, *rec = NULL;
	size_t skdm_len = 0, skmsg_pt_len = 0, sk_len = 0, enc_len = 0;
	wa_msg_enc *encs = NULL;
	uint8_t **cts = NULL;
	wa_node *st = NULL, *e = NULL;
	int rc = own_sk(s, name, &dev) ? wa_gstate_get(s, j->chat, NULL, &v) : WA_ESTATE;
	/* every device holds our key: the skmsg alone (when our key is gone
	 * after all, the full path below makes one and hands it out) */
	bool warm = rc == 0 && v->complete &&
		    wa_sig_group_encrypt(s->sig, j->chat, name, dev, j->msg, j->msg_len, &sk, &sk_len) == 0;
	if (rc == 0 && !warm)
		rc = wa_gstate_holders(s, j->chat, v);
	if (rc == 0 && !warm &&
	    (!(encs = calloc(v->n ? v->n : 1, sizeof *encs)) || !(cts = calloc(v->n ? v->n : 1, sizeof *cts))))
		rc = WA_ENOMEM;
	if (rc == 0 && !warm)
		rc = wa_sig_group_skdm(s->sig, j->chat, name, dev, &skdm, &skdm_len);
	if (rc == 0 && !warm)
		rc = skdm_message(j->chat, skdm, skdm_len, &skmsg_pt, &skmsg_pt_len);
	if (rc == 0 && !warm)
		rc = wa_sig_group_encrypt(s->sig, j->chat, name, dev, j->msg, j->msg_len, &sk, &sk_len);
	for (size_t i = 0; rc == 0 && !warm && i < v->n; i++) {
		const wa_gdev *x = &v->v[i];
		bool ex = false;
		if (x->me || x->holder)
			continue;
		if (wa_sig_session_exists(s->sig, x->addr, x->device, &ex) != 0 || !ex) {
			WA_DEBUG(MOD, "[%lld] no session with %s: no key for it this time", (long long)s->instance_id,
				x->jid);
			continue;
		}
		enum wa_sig_msg_type ty;
		size_t cl = 0;
		rc = wa_sig_encrypt(s->sig, x->addr, x->device, skmsg_pt, skmsg_pt_len, &ty, &cts[ne], &cl);
		if (rc != 0)
			break;
		encs[ne] = (wa_msg_enc){.jid = x->jid, .type = ty, .ct = cts[ne], .ct_len = cl};
		ne++;
		rc = wa_store_gsk_add(s->store, s->instance_id, j->chat, x->jid);
	}
	if (rc == 0) {
		const char *type = wa_msg_stanza_type(j->msg, j->msg_len);
		wa_msg_stanza ms = {
			.id = j->id, .to = j->chat, .type = type, .encs = encs, .n_encs = ne,
			.device_identity = s->creds->adv_identity,
			.device_identity_len = s->creds->adv_identity_len,
		};
		rc = wa_msg_build_stanza(&ms, &st);
	}
	if (rc == 0)
		rc = wa_node_set_attr(st, "phash", v->phash);
	if (rc == 0)
		rc = wa_node_set_attr(st, "addressing_mode", v->mode);
	/* the group's disappearing timer, on the stanza as Baileys sends it */
	if (rc == 0 && v->ephemeral) {
		char ex[16];
		snprintf(ex, sizeof ex, "%u", (unsigned)v->ephemeral);
		rc = wa_node_set_attr(st, "expiration", ex);
	}
	if (rc == 0)
		rc = wa_node_add_new(st, "enc", &e);
	if (rc == 0)
		rc = wa_node_set_attr(e, "v", "2");
	if (rc == 0)
		rc = wa_node_set_attr(e, "type", "skmsg");
	if (rc == 0)
		rc = wa_node_set_bytes(e, sk, sk_len);
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
	free(skdm);
	free(skmsg_pt);
	free(sk);
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

/* ---------------- receive ---------------- */

static void emit(wa_session *s, const char *group, const wa_in_msg *in, const char *author, bool from_me,
	const uint8_t *pt, size_t len)
{
	wa_msg_view v;
	if (wa_msg_view_parse(pt, len, &v) != 0)
		return;
	if (v.emit) {
		wa_event ev = {.type = WA_EV_MESSAGE};
		char alt[WA_STORE_JID_MAX];
		if (in->sender_alt && wa_msg_user_of(in->sender_alt, alt, NULL))
			ev.u.message.key.participant_alt = alt;
		ev.u.message.key.remote_jid = group;
		ev.u.message.key.from_me = from_me;
		ev.u.message.key.id = in->id;
		ev.u.message.key.participant = author;
		ev.u.message.push_name = in->notify;
		ev.u.message.timestamp = in->t ? in->t : now_s();
		ev.u.message.message_type = v.message_type;
		ev.u.message.text = v.text;
		ev.u.message.message_json = v.json;
		ev.u.message.offline = in->offline;
		/* a vote: decrypted with the poll's secret, the member who sent it the voter */
		char *poll = v.message_type && strcmp(v.message_type, "pollUpdateMessage") == 0
				     ? wa_msg_poll_attach(s, group, from_me ? wa_session_me_jid(s) : author, pt, len, v.json)
				     : NULL;
		if (poll)
			ev.u.message.message_json = poll;
		wa_session_emit(s, &ev);
		free(poll);
	}
	wa_msg_view_clear(&v);
}

static void receipt(wa_session *s, const wa_in_msg *in, const char *group, bool from_me)
{
	const char *ids[1] = {in->id};
	wa_node *r = NULL;
	const char *type = from_me ? "sender" : s->online ? NULL : "inactive";
	if (wa_receipt_build(ids, 1, group, in->participant_s, NULL, type, 0, &r) == 0)
		(void)send_node(s, r);
	if (s->send_read_receipts && !from_me &&
	    wa_receipt_build(ids, 1, group, in->participant_s, NULL, "read", now_s(), &r) == 0)
		(void)send_node(s, r);
}

static void gack(wa_session *s, const wa_node *n, int error)
{
	wa_node *a = NULL;
	if (wa_ack_build(n, wa_session_me_jid(s), error, &a) == 0)
		(void)send_node(s, a);
}

int wa_msg_group_message(wa_session *s, const wa_node *n)
{
	wa_in_msg in;
	char group[WA_STORE_JID_MAX], author[WA_STORE_JID_MAX], pair[WA_STORE_JID_MAX];
	if (wa_in_msg_parse(n, &in) != 0 || !in.has_participant || !wa_group_jid_norm(in.from_s, group) ||
	    !wa_msg_user_of(in.participant_s, author, NULL) || wa_msg_addr_for(s, &in.participant, pair) != 0 ||
	    strlen(in.participant.user) >= WA_STORE_JID_MAX) {
		gack(s, n, 487);
		return WA_EPROTO;
	}
	bool from_me = wa_msg_is_me(s, &in.participant);
	/* offline 1:1 messages may sit in an open group commit (drain.h): make
	 * them durable first, so that our own commit below is a real one and
	 * precedes the receipt */
	wa_drain_flush(s->msg->drain);
	if (in.sender_alt)
		wa_msg_learn_mapping(s, author, in.sender_alt);
	wa_store_msg_row *row = NULL;
	if (wa_store_msg_load(s->store, s->instance_id, group, in.id, from_me, &row) == 0) {
		if (row->status == WA_STORE_MSG_RECEIVED)
			emit(s, group, &in, author, from_me, row->plaintext, row->plaintext_len);
		receipt(s, &in, group, from_me);
		wa_store_msg_row_free(row);
		ign(wa_store_msg_set_status(s->store, s->instance_id, group, in.id, from_me, WA_STORE_MSG_ACKED));
		return 0;
	}
	const char *skname = in.participant.user;
	int32_t dev = in.participant.device;
	uint8_t *pt = NULL;
	size_t pt_len = 0;
	int rc = wa_store_begin(s->store);
	for (size_t i = 0; rc == 0 && i < in.n_encs && !pt; i++) {
		const wa_in_enc *e = &in.encs[i];
		if (e->type == WA_SIG_TYPE_SKMSG) {
			rc = wa_sig_group_decrypt(s->sig, group, skname, dev, e->ct, e->ct_len, &pt, &pt_len);
			continue;
		}
		uint8_t *p1 = NULL, *skdm = NULL;
		size_t l1 = 0, sl = 0;
		bool content = false;
		rc = wa_sig_decrypt(s->sig, pair, dev, e->type, e->ct, e->ct_len, &p1, &l1);
		if (rc == 0)
			rc = skdm_of(p1, l1, &skdm, &sl, &content);
		if (rc == 0 && skdm)
			rc = wa_sig_group_process_skdm(s->sig, group, skname, dev, skdm, sl);
		if (rc == 0 && content) {
			pt = p1; /* the content came pairwise */
			pt_len = l1;
			p1 = NULL;
		}
		free(p1);
		free(skdm);
	}
	if (rc == 0 && !pt)
		rc = WA_ESIG_NOSESSION; /* only a key, or nothing we can read */
	if (rc == 0) {
		wa_store_msg m = {
			.chat_jid = group, .msg_id = in.id, .from_me = from_me, .sender_jid = in.participant_s,
			.timestamp = in.t ? in.t : now_s(), .status = WA_STORE_MSG_RECEIVED,
			.plaintext = pt, .plaintext_len = pt_len,
		};
		rc = wa_store_msg_insert(s->store, s->instance_id, &m, NULL);
	}
	if (rc == 0)
		rc = wa_store_commit(s->store);
	else
		wa_store_rollback(s->store);
	if (rc != 0)
		wa_msg_pending_drop(s->msg);
	wa_msg_flush_identity(s);
	if (rc == WA_EDB || rc == WA_EDB_BUSY) {
		free(pt);
		return rc; /* no receipt: redelivered and tried again */
	}
	if (rc != 0) {
		WA_DEBUG(MOD, "[%lld] group message %s from %s (%zu enc, first %s, session name %s): %s, asking again",
			(long long)s->instance_id, in.id, in.participant_s, in.n_encs,
			in.n_encs ? wa_sig_type_name(in.encs[0].type) : "-", pair, wa_errname(rc));
		wa_msg_send_retry_receipt(s, n, &in, rc);
		gack(s, n, 0);
		free(pt);
		return 0;
	}
	emit(s, group, &in, author, from_me, pt, pt_len);
	free(pt);
	receipt(s, &in, group, from_me);
	ign(wa_store_msg_set_status(s->store, s->instance_id, group, in.id, from_me, WA_STORE_MSG_ACKED));
	return 0;
}

/* ---------------- retry receipts for our group messages ---------------- */

/* As Baileys does: a group stanza naming the device in participant, our
 * key pairwise to it, and the message encrypted afresh with our key. */
static void group_resend(wa_session *s, const char *group, const char *id, const char *dev_s, unsigned count)
{
	wa_jid dev;
	char pair[WA_STORE_JID_MAX], name[WA_STORE_JID_MAX];
	int32_t mydev;
	wa_store_msg_row *row = NULL;
	if (wa_jid_parse(&dev, dev_s) != 0 || wa_msg_addr_for(s, &dev, pair) != 0 || !own_sk(s, name, &mydev) ||
	    wa_store_msg_load(s->store, s->instance_id, group, id, true, &row) != 0)
		return;
	uint8_t *skdm = NULL, *skm = NULL, *ct = NULL, *sk = NULL;
	size_t skdm_len = 0, skm_len = 0, ct_len = 0, sk_len = 0;
	enum wa_sig_msg_type ty;
	wa_node *st = NULL, *e = NULL;
	int rc = wa_store_begin(s->store);
	bool tx = rc == 0;
	if (rc == 0)
		rc = wa_sig_group_skdm(s->sig, group, name, mydev, &skdm, &skdm_len);
	if (rc == 0)
		rc = skdm_message(group, skdm, skdm_len, &skm, &skm_len);
	if (rc == 0)
		rc = wa_sig_encrypt(s->sig, pair, dev.device, skm, skm_len, &ty, &ct, &ct_len);
	if (rc == 0)
		rc = wa_sig_group_encrypt(s->sig, group, name, mydev, row->plaintext, row->plaintext_len, &sk, &sk_len);
	if (rc == 0)
		rc = wa_store_gsk_add(s->store, s->instance_id, group, dev_s);
	if (tx && rc == 0)
		rc = wa_store_commit(s->store);
	else if (tx)
		wa_store_rollback(s->store);
	wa_msg_flush_identity(s);
	if (rc == 0) {
		wa_msg_enc en = {.jid = dev_s, .type = ty, .ct = ct, .ct_len = ct_len};
		wa_msg_stanza ms = {
			.id = id, .to = group, .type = wa_msg_stanza_type(row->plaintext, row->plaintext_len),
			.encs = &en, .n_encs = 1, .retry_count = count,
			.device_identity = s->creds->adv_identity, .device_identity_len = s->creds->adv_identity_len,
			.force_identity = true,
		};
		rc = wa_msg_build_stanza(&ms, &st);
	}
	if (rc == 0)
		rc = wa_node_set_attr(st, "participant", dev_s);
	if (rc == 0)
		rc = wa_node_add_new(st, "enc", &e);
	if (rc == 0)
		rc = wa_node_set_attr(e, "v", "2");
	if (rc == 0)
		rc = wa_node_set_attr(e, "type", "skmsg");
	if (rc == 0)
		rc = wa_node_set_bytes(e, sk, sk_len);
	if (rc == 0)
		rc = send_node(s, st);
	else
		wa_node_free(st);
	WA_DEBUG(MOD, "[%lld] group resend of %s to %s (retry %u): %s", (long long)s->instance_id, id, dev_s, count,
		wa_errname(rc));
	free(skdm);
	free(skm);
	free(ct);
	free(sk);
	wa_store_msg_row_free(row);
}

typedef struct gretry {
	char group[WA_STORE_JID_MAX], id[WA_MSG_ID_MAX + 1], dev[WA_STORE_JID_MAX];
	unsigned count;
} gretry;

static void on_retry_bundle(wa_session *s, int err, const wa_node *resp, void *user)
{
	gretry *r = user;
	wa_prekey_user *pu = NULL;
	size_t n = 0;
	if (err == 0 && s->msg && wa_prekey_parse(resp, &pu, &n) == 0) {
		for (size_t i = 0; i < n; i++) {
			wa_jid dj;
			char name[WA_STORE_JID_MAX];
			if (pu[i].ok && wa_jid_parse(&dj, pu[i].jid) == 0 && wa_msg_addr_for(s, &dj, name) == 0 &&
			    wa_sig_session_from_bundle(s->sig, name, dj.device, &pu[i].bundle) == 0) {
				wa_msg_flush_identity(s);
				group_resend(s, r->group, r->id, r->dev, r->count);
				break;
			}
		}
	}
	free(pu);
	free(r);
}

void wa_msg_group_retry(wa_session *s, const wa_in_receipt *r)
{
	char group[WA_STORE_JID_MAX], pair[WA_STORE_JID_MAX];
	wa_jid dev;
	if (!r->n_ids || r->retry_count > WA_MSG_MAX_RETRY || !wa_group_jid_norm(r->from_s, group) ||
	    wa_jid_parse(&dev, r->participant) != 0 || wa_msg_addr_for(s, &dev, pair) != 0)
		return;
	if (r->keys && r->has_registration) {
		wa_sig_bundle b;
		if (wa_prekey_parse_bundle(r->keys, r->reg_node, &b) == 0 &&
		    wa_sig_session_from_bundle(s->sig, pair, dev.device, &b) == 0) {
			wa_msg_flush_identity(s);
			group_resend(s, group, r->ids[0], r->participant, r->retry_count);
			return;
		}
	}
	bool ex = false;
	if (wa_sig_session_exists(s->sig, pair, dev.device, &ex) == 0 && ex && r->retry_count < 2) {
		group_resend(s, group, r->ids[0], r->participant, r->retry_count);
		return;
	}
	/* no usable session: the device's bundle afresh */
	gretry *q = calloc(1, sizeof *q);
	if (!q || strlen(r->ids[0]) > WA_MSG_ID_MAX) {
		free(q);
		return;
	}
	snprintf(q->group, sizeof q->group, "%s", group);
	snprintf(q->id, sizeof q->id, "%s", r->ids[0]);
	snprintf(q->dev, sizeof q->dev, "%s", r->participant);
	q->count = r->retry_count;
	char iq_id[WA_SESSION_ID_MAX];
	wa_session_new_id(s, iq_id);
	wa_node *iq = NULL;
	const char *jids[1] = {r->participant};
	int rc = wa_prekey_build_fetch(iq_id, jids, 1, true, &iq);
	if (rc == 0)
		rc = wa_iq_send(s, iq, 0, on_retry_bundle, q);
	wa_node_free(iq);
	if (rc != 0)
		free(q);
}
