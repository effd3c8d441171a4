/* wasim's simulated primary phones as real Signal participants (device 0 of
 * every account). Each phone is one instance in a shared wa_store file (the
 * state dir's phones.db, or a temporary one): identity = the account key
 * that signed the companions' pairing, its registration id and signed
 * pre-key, and one-time pre-keys it publishes in the server's directory.
 * It decrypts what is routed to it (pkmsg/msg, own companions' DSM copies),
 * records it for GET /_sim/accounts/{phone}/messages and answers with
 * receipts; POST /_sim/phone/send makes it send text like a client would
 * (sessions from bundles in the server's own tables, fan-out to the peer's
 * devices plus DSM copies to its own companions). In groups it decrypts
 * sender-key messages and POST /_sim/phone/pollvote votes in a group poll
 * it received. It also sends each new
 * companion the initial history-sync notification (empty inline payload),
 * which ends Baileys' 20 s wait for history on a first login. */
#include "sim_msg.h"
#include "sim_appstate.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <signal_protocol.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "session/msg.h"
#include "message.pb-c.h"
#include "pb.h"
#include "signal/cipher.h"
#include "signal/context.h"
#include "signal/padding.h"
#include "signal/prekeys.h"
#include "store/store.h"
#include "util/codec.h"
#include "util/seams.h"

#define SIM_PHONE_MAX_RECORDED 20000 /* messages kept per phone for the control API */
#define SIM_PHONE_MAX_TEXT 65536

#define SIM_PHONE_RETRIES 64 /* message ids whose retry count the phone remembers */
#define SIM_PHONE_MAX_HELD 4096 /* messages an offline phone keeps for later */

struct sim_phone {
	struct sim_account *acct;
	struct {
		uint64_t id_hash;
		unsigned count;
	} retries[SIM_PHONE_RETRIES];
	size_t retry_next;
	int64_t inst;
	wa_sig *sig;
	json_t *msgs; /* recorded messages, oldest first */
	bool offline;  /* POST /_sim/phone/offline: messages wait in held[] */
	wa_node **held;
	size_t n_held;
};

/* the shared phones store (sim->hooks.user is not ours alone: keep it here) */
struct phones {
	wa_store *st;
	char dir[256]; /* temp dir to remove at shutdown, "" with a state dir */
	char path[512];
};
static struct phones g_phones; /* one wasim process = one set of phones */

static void remove_tmp(void)
{
	if (g_phones.dir[0]) {
		char p[600];
		static const char *const sfx[] = { "", "-wal", "-shm", "-journal" };
		for (size_t i = 0; i < 4; i++) {
			snprintf(p, sizeof(p), "%s%s", g_phones.path, sfx[i]);
			(void)unlink(p);
		}
		(void)rmdir(g_phones.dir);
		g_phones.dir[0] = '\0';
	}
}

/* A wasim killed with SIGKILL leaves its temporary phones dir behind: the
 * next one removes those whose process is gone (names carry the pid). */
static void sweep_stale(void)
{
	DIR *dir = opendir("/tmp");
	struct dirent *e;
	if (!dir)
		return;
	while ((e = readdir(dir)) != NULL) {
		long pid;
		char path[512], f[600];
		if (strncmp(e->d_name, "wasim-phones-", 13) != 0)
			continue;
		pid = strtol(e->d_name + 13, NULL, 10);
		if (pid <= 0 || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(path, sizeof(path), "/tmp/%s", e->d_name);
		static const char *const sfx[] = { "", "-wal", "-shm", "-journal" };
		for (size_t i = 0; i < 4; i++) {
			snprintf(f, sizeof(f), "%s/phones.db%s", path, sfx[i]);
			(void)unlink(f);
		}
		(void)rmdir(path);
	}
	closedir(dir);
}

static int open_store(struct sim *sim)
{
	static bool at_exit;
	if (g_phones.st)
		return 0;
	/* harnesses that never call the shutdown hook (fuzzing) still clean up */
	if (!at_exit && atexit(remove_tmp) == 0)
		at_exit = true;
	if (sim->state_dir) {
		snprintf(g_phones.path, sizeof(g_phones.path), "%s/phones.db", sim->state_dir);
	} else {
		sweep_stale();
		snprintf(g_phones.dir, sizeof(g_phones.dir), "/tmp/wasim-phones-%ld-XXXXXX", (long)getpid());
		if (!mkdtemp(g_phones.dir))
			return WA_EIO;
		snprintf(g_phones.path, sizeof(g_phones.path), "%s/phones.db", g_phones.dir);
	}
	return wa_store_open(g_phones.path, NULL, &g_phones.st);
}

static void close_store(void)
{
	wa_store_close(g_phones.st);
	g_phones.st = NULL;
	remove_tmp();
}

/* libsignal record of the account's signed pre-key (W1 made the key pair
 * and the signature; the phone must decrypt pkmsgs built on it). */
static int import_spk(struct sim_phone *p, const struct sim_account *a)
{
	ec_public_key *pub = NULL;
	ec_private_key *priv = NULL;
	ec_key_pair *kp = NULL;
	session_signed_pre_key *spk = NULL;
	signal_buffer *ser = NULL;
	uint8_t pub33[33];
	bool exists = false;
	int rc = wa_store_signed_prekey_exists(g_phones.st, p->inst, a->spk_id, &exists);
	if (rc || exists)
		return rc;
	pub33[0] = 0x05;
	memcpy(pub33 + 1, a->spk.pub, 32);
	rc = WA_ECRYPTO;
	if (curve_decode_point(&pub, pub33, sizeof(pub33), NULL) < 0 ||
	    curve_decode_private_point(&priv, a->spk.priv, 32, NULL) < 0 || ec_key_pair_create(&kp, pub, priv) < 0 ||
	    session_signed_pre_key_create(&spk, a->spk_id, (uint64_t)wa_now_ms(), kp, a->spk_sig, 64) < 0 ||
	    session_signed_pre_key_serialize(&ser, spk) < 0)
		goto out;
	rc = wa_store_signed_prekey_save(g_phones.st, p->inst, a->spk_id, signal_buffer_data(ser), signal_buffer_len(ser));
out:
	signal_buffer_bzero_free(ser);
	SIGNAL_UNREF(spk);
	SIGNAL_UNREF(kp);
	SIGNAL_UNREF(pub);
	SIGNAL_UNREF(priv);
	return rc;
}

static int setup_creds(struct sim_phone *p, const struct sim_account *a)
{
	wa_store_creds c;
	int rc = wa_store_creds_load(g_phones.st, p->inst, &c);
	if (rc == 0 && memcmp(c.identity_pub, a->identity.pub, 32) == 0 && c.registration_id == a->regid) {
		wa_memzero(&c, sizeof(c));
		return 0;
	}
	if (rc != 0 && rc != WA_ENOTFOUND)
		return rc;
	memset(&c, 0, sizeof(c));
	memcpy(c.identity_pub, a->identity.pub, 32);
	memcpy(c.identity_priv, a->identity.priv, 32);
	c.registration_id = a->regid;
	c.signed_prekey_id = a->spk_id;
	memcpy(c.signed_prekey_pub, a->spk.pub, 32);
	memcpy(c.signed_prekey_priv, a->spk.priv, 32);
	memcpy(c.signed_prekey_sig, a->spk_sig, 64);
	c.next_prekey_id = 1;
	snprintf(c.me_jid, sizeof(c.me_jid), "%s@s.whatsapp.net", a->phone);
	snprintf(c.me_lid, sizeof(c.me_lid), "%s@lid", a->lid);
	rc = wa_store_creds_save(g_phones.st, p->inst, &c);
	wa_memzero(&c, sizeof(c));
	return rc;
}

static int h_messages(struct sim *sim, const struct sim_http_req *req, struct sim_http_resp *resp, void *user);

int sim_phone_create(struct sim *sim, struct sim_account *a)
{
	struct sim_acct_ext *x = a->ext;
	struct sim_phone *p;
	char name[64], route[128];
	int rc = open_store(sim);
	if (rc)
		return rc;
	p = calloc(1, sizeof(*p));
	if (!p)
		return WA_ENOMEM;
	p->acct = a;
	p->msgs = json_array();
	snprintf(name, sizeof(name), "phone-%s", a->phone);
	rc = wa_store_instance_find(g_phones.st, name, &p->inst);
	if (rc == WA_ENOTFOUND)
		rc = wa_store_instance_create(g_phones.st, name, &p->inst);
	if (rc == 0)
		rc = setup_creds(p, a);
	if (rc == 0)
		rc = import_spk(p, a);
	if (rc == 0)
		rc = wa_sig_new(g_phones.st, p->inst, &p->sig);
	if (rc == 0 && !p->msgs)
		rc = WA_ENOMEM;
	if (rc) {
		sim_phone_free(p);
		return rc;
	}
	x->phone = p;
	/* a fresh batch on every start: published keys need no persistence */
	if ((rc = sim_phone_refill(sim, a)))
		return rc;
	snprintf(route, sizeof(route), "/_sim/accounts/%s/messages", a->phone);
	return sim_http_register(sim, "GET", route, h_messages, NULL);
}

void sim_phone_free(struct sim_phone *p)
{
	if (!p)
		return;
	wa_sig_free(p->sig);
	json_decref(p->msgs);
	for (size_t i = 0; i < p->n_held; i++)
		wa_node_free(p->held[i]);
	free(p->held);
	free(p);
}

int sim_phone_refill(struct sim *sim, struct sim_account *a)
{
	struct sim_acct_ext *x = a->ext;
	wa_sig_prekey keys[SIM_PHONE_OTK_BATCH];
	wa_store_creds c;
	uint32_t next;
	int rc;
	(void)sim;
	if (!x || !x->phone)
		return WA_ESTATE;
	if ((rc = wa_store_creds_load(g_phones.st, x->phone->inst, &c)))
		return rc;
	rc = wa_sig_prekeys_generate(x->phone->sig, c.next_prekey_id, SIM_PHONE_OTK_BATCH, keys, &next);
	if (rc == 0) {
		c.next_prekey_id = next;
		rc = wa_store_creds_save(g_phones.st, x->phone->inst, &c);
	}
	wa_memzero(&c, sizeof(c));
	for (size_t i = 0; rc == 0 && i < SIM_PHONE_OTK_BATCH; i++)
		rc = sim_keys_add_otk(&x->phone_keys, keys[i].id, keys[i].pub);
	if (rc == 0 && !x->phone_keys.has_bundle)
		sim_keys_set_bundle(&x->phone_keys, a->regid, a->identity.pub, a->spk_id, a->spk.pub, a->spk_sig);
	return rc;
}

/* ---- receiving ---- */

static const char *message_text(const Wa__Message *m)
{
	if (!m)
		return NULL;
	if (m->conversation)
		return m->conversation;
	if (m->extended_text_message && m->extended_text_message->text)
		return m->extended_text_message->text;
	return NULL;
}

static json_t *record(struct sim_phone *p, const char *id, const char *from, const char *chat, bool from_me,
	const char *t, const char *text, const char *kind)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	if (json_array_size(p->msgs) >= SIM_PHONE_MAX_RECORDED)
		json_array_remove(p->msgs, 0);
	json_object_set_new(o, "id", json_string(id ? id : ""));
	json_object_set_new(o, "from", json_string(from ? from : ""));
	json_object_set_new(o, "chat", json_string(chat ? chat : ""));
	json_object_set_new(o, "from_me", json_boolean(from_me));
	json_object_set_new(o, "t", json_integer(t ? atoll(t) : 0));
	json_object_set_new(o, "kind", json_string(kind));
	if (text)
		json_object_set_new(o, "text", json_string(text));
	json_array_append_new(p->msgs, o);
	return o;
}

/* The <reporting> token of a message with a messageSecret, checked the way
 * the sender derives it (from = to = the chat it addressed: this account
 * in the sender's namespace): "ok", "bad", "missing", or "none" when the
 * message gets no token (no secret, a reaction). */
static const char *reporting_check(struct sim_account *a, bool lid, const wa_node *st, const char *id,
	const uint8_t *pt, size_t pt_len)
{
	char chat[SIM_MSG_JID_MAX];
	uint8_t want[WA_REPORTING_TOKEN_LEN];
	const uint8_t *got;
	size_t got_len;
	sim_jid_user(a, lid, chat, sizeof(chat));
	if (wa_msg_reporting_token(pt, pt_len, id, chat, want) != 0)
		return "none";
	const wa_node *rep = wa_node_child(st, "reporting");
	const wa_node *tok = rep ? wa_node_child(rep, "reporting_token") : NULL;
	if (!tok)
		return "missing";
	const char *v = wa_node_attr(tok, "v");
	if (!v || strcmp(v, "2") != 0 || wa_node_content_bytes(tok, &got, &got_len) != 0 ||
	    got_len != sizeof(want) || memcmp(got, want, sizeof(want)) != 0)
		return "bad";
	return "ok";
}

static void send_receipt(struct sim *sim, struct sim_account *a, const char *id, const char *to, const char *type,
	const char *recipient)
{
	wa_node *r = sim_node("receipt", "id", id, "to", to, "type", type, "recipient", recipient, NULL);
	if (!r)
		return;
	SIM_IGNORE(sim_route_receipt(sim, a, 0, r));
	wa_node_free(r);
}

/* Retry count for a message id: 1, 2, ... (as Baileys counts per id). */
static unsigned next_retry_count(struct sim_phone *p, const char *id)
{
	uint64_t h = sim_msg_id_hash(id);
	for (size_t i = 0; i < SIM_PHONE_RETRIES; i++)
		if (p->retries[i].id_hash == h)
			return ++p->retries[i].count;
	p->retries[p->retry_next].id_hash = h;
	p->retries[p->retry_next].count = 1;
	p->retry_next = (p->retry_next + 1) % SIM_PHONE_RETRIES;
	return 1;
}

/* From the second retry on, the receipt carries a fresh bundle in <keys>
 * so the sender can rebuild the session without a fetch (both clients). */
static wa_node *retry_keys(struct sim *sim, struct sim_account *a)
{
	struct sim_acct_ext *x = sim_ax(sim, a);
	static const uint8_t type = 5;
	sim_otk otk;
	wa_node *k = sim_node("keys", NULL);
	if (!k || !x)
		return k;
	if (sim_node_add_bytes(k, "type", &type, 1) || sim_node_add_bytes(k, "identity", a->identity.pub, 32) ||
	    (x->phone_keys.n_otk < SIM_PHONE_OTK_LOW && sim_phone_refill(sim, a) != 0) ||
	    (sim_keys_take_otk(&x->phone_keys, &otk) && sim_node_add_key(k, "key", otk.id, otk.pub, NULL)) ||
	    sim_node_add_key(k, "skey", a->spk_id, a->spk.pub, a->spk_sig)) {
		wa_node_free(k);
		return NULL;
	}
	return k;
}

static void send_retry(struct sim *sim, struct sim_account *a, const wa_node *msg)
{
	char t[32], cnt[16];
	uint8_t reg[4] = { (uint8_t)(a->regid >> 24), (uint8_t)(a->regid >> 16), (uint8_t)(a->regid >> 8),
		(uint8_t)a->regid };
	const char *id = wa_node_attr(msg, "id");
	unsigned count = next_retry_count(sim_ax(sim, a)->phone, id);
	if (count > 5)
		return; /* give up, as both clients do */
	snprintf(cnt, sizeof(cnt), "%u", count);
	sim_msg_tstr(t, sizeof(t), sim_now());
	wa_node *r = sim_node("receipt", "id", id, "to", wa_node_attr(msg, "from"), "type", "retry", NULL);
	r = sim_node_add(r, sim_node("retry", "count", cnt, "id", id, "t", wa_node_attr(msg, "t") ? wa_node_attr(msg, "t") : t,
		"v", "1", NULL));
	r = sim_node_add(r, sim_node_bytes("registration", reg, 4));
	if (r && count >= 2)
		r = sim_node_add(r, retry_keys(sim, a));
	if (!r)
		return;
	SIM_IGNORE(sim_route_receipt(sim, a, 0, r));
	wa_node_free(r);
}

/* A companion's peer data operation: an on-demand history request is
 * answered (the others are not simulated); its fields go on the phone's
 * record o, for the tests to check field by field. */
static void peer_data_request(struct sim *sim, struct sim_account *a, uint32_t dev, const char *id,
	const Wa__Message *m, json_t *o)
{
	const Wa__Message__PeerDataOperationRequestMessage *pdo =
		m && m->protocol_message ? m->protocol_message->peer_data_operation_request_message : NULL;
	if (!pdo || pdo->peer_data_operation_request_type !=
		WA__MESSAGE__PEER_DATA_OPERATION_REQUEST_TYPE__HISTORY_SYNC_ON_DEMAND || !pdo->history_sync_on_demand_request)
		return;
	const Wa__Message__PeerDataOperationRequestMessage__HistorySyncOnDemandRequest *hr =
		pdo->history_sync_on_demand_request;
	if (o)
		json_object_set_new(o, "history_request", json_pack("{s:s?, s:s?, s:b, s:I, s:i}", "chat", hr->chat_jid,
			"oldest_id", hr->oldest_msg_id, "oldest_from_me", hr->oldest_msg_from_me, "oldest_ts_ms",
			(json_int_t)hr->oldest_msg_timestamp_ms, "count", hr->on_demand_msg_count));
	int rc = sim_history_on_demand(sim, a, dev, id, hr->chat_jid, hr->oldest_msg_id, hr->oldest_msg_timestamp_ms,
		hr->on_demand_msg_count);
	if (rc != 0)
		fprintf(stderr, "wasim: on-demand history for %s: %s\n", hr->chat_jid ? hr->chat_jid : "?", wa_strerror(rc));
}

/* A group copy (from = the group, participant = the sending device): the
 * per-device pkmsg/msg carries the sender's key distribution, the skmsg the
 * message. Recorded with chat = the group and from = the sender's user JID;
 * a poll keeps its messageSecret (hex, "poll_secret") for the phone's vote.
 * The phone asks no retry, and sends no receipt for group copies unless
 * POST /_sim/groups/receipts {"phones": true} asked it to (a delivery
 * receipt to the group naming the author, as a real member's phone sends:
 * what a sender to a big group gets back per message). */
static bool group_receipts;

void sim_phone_group_receipts(bool on)
{
	group_receipts = on;
}

static void group_receive(struct sim *sim, struct sim_phone *p, const struct sim_addr *ad, const wa_node *n)
{
	const char *group = wa_node_attr(n, "from"), *id = wa_node_attr(n, "id");
	char sender[SIM_MSG_JID_MAX];
	sim_jid_user(ad->acct, false, sender, sizeof(sender));
	for (size_t i = 0; i < wa_node_n_children(n); i++) {
		const wa_node *e = wa_node_child_at(n, i);
		enum wa_sig_msg_type type;
		const uint8_t *ct;
		size_t ct_len, pt_len;
		uint8_t *pt = NULL;
		ProtobufCMessage *pm = NULL;
		if (strcmp(wa_node_tag(e), "enc") != 0 || wa_sig_type_parse(wa_node_attr(e, "type"), &type) != 0 ||
		    wa_node_content_bytes(e, &ct, &ct_len) != 0)
			continue;
		int drc = type == WA_SIG_TYPE_SKMSG ?
			wa_sig_group_decrypt(p->sig, group, ad->acct->lid, (int32_t)ad->device, ct, ct_len, &pt, &pt_len) :
			wa_sig_decrypt(p->sig, ad->acct->lid, (int32_t)ad->device, type, ct, ct_len, &pt, &pt_len);
		if (drc != 0) {
			record(p, id, sender, group, ad->acct == p->acct, wa_node_attr(n, "t"), wa_strerror(drc),
				drc == WA_ESIG_DUPLICATE ? "duplicate" : "undecryptable");
			continue;
		}
		int rc = wa_pb_unpack(&pm, &wa__message__descriptor, pt, pt_len, WA_SIG_MAX_PLAINTEXT);
		free(pt);
		if (rc != 0)
			continue;
		const Wa__Message *m = (const Wa__Message *)pm;
		const Wa__Message__SenderKeyDistributionMessage *sk = m->sender_key_distribution_message;
		if (sk && sk->has_axolotl_sender_key_distribution_message &&
		    wa_sig_group_process_skdm(p->sig, group, ad->acct->lid, (int32_t)ad->device,
			    sk->axolotl_sender_key_distribution_message.data,
			    sk->axolotl_sender_key_distribution_message.len) != 0)
			record(p, id, sender, group, false, wa_node_attr(n, "t"), "bad sender key", "undecryptable");
		if (type == WA_SIG_TYPE_SKMSG) {
			json_t *o = record(p, id, sender, group, ad->acct == p->acct, wa_node_attr(n, "t"), message_text(m),
				m->protocol_message ? "protocol" : "message");
			wa_node *r = group_receipts && ad->acct != p->acct ?
				sim_node("receipt", "id", id, "to", group, "participant", wa_node_attr(n, "participant"), NULL) : NULL;
			if (r)
				SIM_IGNORE(sim_route_receipt(sim, p->acct, 0, r));
			wa_node_free(r);
			const ProtobufCBinaryData *sec = m->message_context_info && m->message_context_info->has_message_secret ?
				&m->message_context_info->message_secret : NULL;
			if (o && sec && (m->poll_creation_message || m->poll_creation_message_v3)) {
				char *hex = wa_hex_encode(sec->data, sec->len);
				if (hex)
					json_object_set_new(o, "poll_secret", json_string(hex));
				free(hex);
			}
		}
		protobuf_c_message_free_unpacked(pm, NULL);
	}
}

void sim_phone_receive(struct sim *sim, struct sim_account *a, wa_node *n)
{
	struct sim_acct_ext *x = a->ext;
	struct sim_phone *p = x ? x->phone : NULL;
	const char *from = wa_node_attr(n, "from");
	const char *id = wa_node_attr(n, "id");
	struct sim_addr ad;
	bool any = false, failed = false;
	bool group = from && strstr(from, "@g.us");
	if (!p || !p->sig || strcmp(wa_node_tag(n), "message") != 0 || !id ||
	    sim_addr_parse(sim, group ? wa_node_attr(n, "participant") : from, &ad) != 0) {
		wa_node_free(n); /* receipts and notifications: the phone needs none */
		return;
	}
	if (p->offline) {
		/* the server keeps it until the phone is back (no receipt meanwhile) */
		if (!p->held)
			p->held = calloc(SIM_PHONE_MAX_HELD, sizeof(*p->held));
		if (p->held && p->n_held < SIM_PHONE_MAX_HELD)
			p->held[p->n_held++] = n;
		else
			wa_node_free(n);
		return;
	}
	if (group) {
		group_receive(sim, p, &ad, n);
		wa_node_free(n);
		return;
	}
	for (size_t i = 0; i < wa_node_n_children(n); i++) {
		const wa_node *e = wa_node_child_at(n, i);
		enum wa_sig_msg_type type;
		const uint8_t *ct;
		size_t ct_len, pt_len;
		uint8_t *pt;
		ProtobufCMessage *pm = NULL;
		if (strcmp(wa_node_tag(e), "enc") != 0 || wa_sig_type_parse(wa_node_attr(e, "type"), &type) != 0 ||
		    type == WA_SIG_TYPE_SKMSG || wa_node_content_bytes(e, &ct, &ct_len) != 0)
			continue;
		/* the phone keys every peer by its LID, whatever namespace it wrote in */
		int drc = wa_sig_decrypt(p->sig, ad.acct->lid, (int32_t)ad.device, type, ct, ct_len, &pt, &pt_len);
		if (drc == WA_ESIG_DUPLICATE) {
			/* an old counter: a copy already decrypted (a resend whose first
			 * copy got through). Real clients drop it without a retry
			 * receipt (whatsmeow: "Ignoring message ... old counter";
			 * Baileys nacks it); so does the phone, recording it. */
			record(p, id, from, NULL, ad.acct == a, wa_node_attr(n, "t"), wa_strerror(drc), "duplicate");
			continue;
		}
		if (drc != 0) {
			/* kept for the control API: a test can tell "never arrived"
			 * from "arrived but did not decrypt" */
			record(p, id, from, NULL, ad.acct == a, wa_node_attr(n, "t"), wa_strerror(drc), "undecryptable");
			failed = true;
			continue;
		}
		int rc = wa_pb_unpack(&pm, &wa__message__descriptor, pt, pt_len, WA_SIG_MAX_PLAINTEXT);
		const char *rep = rc == 0 && !((const Wa__Message *)pm)->device_sent_message && ad.acct != a ?
			reporting_check(a, ad.lid, n, id, pt, pt_len) : NULL;
		free(pt);
		if (rc != 0) {
			failed = true;
			continue;
		}
		const Wa__Message *m = (const Wa__Message *)pm;
		const char *recipient = wa_node_attr(n, "recipient");
		sim_mretry_note(a, id, m->device_sent_message ? m->device_sent_message->message : m);
		char chat[SIM_MSG_JID_MAX];
		any = true;
		if (m->device_sent_message) {
			/* an own companion's copy of what it sent */
			json_t *o = record(p, id, from, m->device_sent_message->destination_jid, true, wa_node_attr(n, "t"),
				message_text(m->device_sent_message->message), "dsm");
			sim_phone_media_check(sim, m->device_sent_message->message, o);
			/* Baileys wraps its peer requests, addressed to our own JID, this way */
			if (ad.acct == a)
				peer_data_request(sim, a, ad.device, id, m->device_sent_message->message, o);
			send_receipt(sim, a, id, from, "sender",
				recipient ? recipient : m->device_sent_message->destination_jid);
		} else {
			sim_jid_user(ad.acct, ad.lid, chat, sizeof(chat));
			json_t *o = record(p, id, from, recipient ? recipient : chat, ad.acct == a, wa_node_attr(n, "t"),
				message_text(m), m->protocol_message ? "protocol" : "message");
			sim_phone_media_check(sim, m, o);
			if (o && rep)
				json_object_set_new(o, "reporting", json_string(rep));
			if (ad.acct == a && m->protocol_message && m->protocol_message->app_state_sync_key_request)
				sim_appstate_key_request(sim, a, ad.device);
			if (ad.acct == a)
				peer_data_request(sim, a, ad.device, id, m, o);
			const char *cat = wa_node_attr(n, "category");
			if (!(cat && strcmp(cat, "peer") == 0))
				send_receipt(sim, a, id, from, ad.acct == a ? "sender" : NULL, ad.acct == a ? recipient : NULL);
		}
		protobuf_c_message_free_unpacked(pm, NULL);
	}
	if (failed && !any)
		send_retry(sim, a, n);
	wa_node_free(n);
}

/* ---- sending ---- */

static int ensure_session(struct sim *sim, struct sim_phone *p, struct sim_account *peer, uint32_t dev)
{
	bool exists = false;
	wa_sig_bundle b;
	sim_otk otk;
	int rc = wa_sig_session_exists(p->sig, peer->lid, (int32_t)dev, &exists);
	if (rc || exists)
		return rc;
	memset(&b, 0, sizeof(b));
	rc = sim_prekeys_take_bundle(sim, peer, dev, &b.registration_id, b.identity, &b.signed_prekey_id,
		b.signed_prekey, b.signed_prekey_sig, &b.has_prekey, &otk);
	if (rc)
		return rc;
	if (b.has_prekey) {
		b.prekey_id = otk.id;
		memcpy(b.prekey, otk.pub, 32);
	}
	return wa_sig_session_from_bundle(p->sig, peer->lid, (int32_t)dev, &b);
}

/* Appends <to jid><enc/></to> for device dev of acct, encrypting pt. */
static wa_node *add_to(struct sim *sim, struct sim_phone *p, wa_node *parts, struct sim_account *acct, uint32_t dev,
	const uint8_t *pt, size_t pt_len, const char *mediatype)
{
	enum wa_sig_msg_type type;
	uint8_t *ct;
	size_t ct_len;
	char jid[SIM_MSG_JID_MAX];
	if (ensure_session(sim, p, acct, dev) != 0)
		return parts; /* a device without keys gets nothing, as with any client */
	if (wa_sig_encrypt(p->sig, acct->lid, (int32_t)dev, pt, pt_len, &type, &ct, &ct_len) != 0)
		return parts;
	sim_jid_device(acct, false, dev, jid, sizeof(jid));
	wa_node *enc = sim_node_bytes("enc", ct, ct_len);
	free(ct);
	if (enc && (wa_node_set_attr(enc, "v", "2") || wa_node_set_attr(enc, "type", wa_sig_type_name(type)) ||
		    (mediatype && wa_node_set_attr(enc, "mediatype", mediatype)))) {
		wa_node_free(enc);
		enc = NULL;
	}
	return sim_node_add(parts, sim_node_add(sim_node("to", "jid", jid, NULL), enc));
}

static void new_msg_id(char *buf, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	uint8_t r[16];
	size_t k = 0;
	wa_rand_bytes(r, sizeof(r));
	for (size_t i = 0; i < sizeof(r) && k + 2 < cap; i++) {
		buf[k++] = hex[r[i] >> 4];
		buf[k++] = hex[r[i] & 15];
	}
	buf[k] = '\0';
}

static int pack(const ProtobufCMessage *m, uint8_t **out, size_t *len)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *b = malloc(n ? n : 1);
	if (!b)
		return WA_ENOMEM;
	protobuf_c_message_pack(m, b);
	*out = b;
	*len = n;
	return 0;
}

int sim_phone_send_msg(struct sim *sim, struct sim_account *a, struct sim_account *peer, bool lid,
	const struct Wa__Message *m, const char *mediatype, char *id_out, size_t id_cap, json_t **rec_out)
{
	struct sim_phone *p = sim_ax(sim, a) ? sim_ax(sim, a)->phone : NULL;
	Wa__Message dsm = WA__MESSAGE__INIT;
	Wa__Message__DeviceSentMessage ds = WA__MESSAGE__DEVICE_SENT_MESSAGE__INIT;
	char chat[SIM_MSG_JID_MAX], t[32];
	uint8_t *pt = NULL, *dpt = NULL;
	size_t pt_len, dpt_len;
	int rc;
	if (rec_out)
		*rec_out = NULL;
	if (!p || !p->sig || !sim_ax(sim, peer))
		return WA_ESTATE;
	sim_jid_user(peer, lid, chat, sizeof(chat));
	ds.destination_jid = chat;
	ds.message = (Wa__Message *)m;
	dsm.device_sent_message = &ds;
	if ((rc = pack(&m->base, &pt, &pt_len)) || (rc = pack(&dsm.base, &dpt, &dpt_len)))
		goto out;
	new_msg_id(id_out, id_cap);
	wa_node *parts = sim_node("participants", NULL);
	for (size_t i = 0; i <= peer->n_devices && parts; i++) {
		uint32_t dev = i == 0 ? 0 : peer->devices[i - 1]->device;
		if (peer == a && dev == 0)
			continue;
		parts = add_to(sim, p, parts, peer, dev, pt, pt_len, mediatype);
	}
	for (size_t i = 0; peer != a && i < a->n_devices && parts; i++)
		parts = add_to(sim, p, parts, a, a->devices[i]->device, dpt, dpt_len, mediatype);
	wa_node *st = sim_node("message", "id", id_out, "to", chat, "type", mediatype ? "media" : "text", NULL);
	st = sim_node_add(st, parts);
	if (!st) {
		rc = WA_ENOMEM;
		goto out;
	}
	rc = sim_route_message(sim, NULL, a, 0, st);
	wa_node_free(st);
	sim_msg_tstr(t, sizeof(t), sim_now());
	if (rc == 0) {
		json_t *o = record(p, id_out, NULL, chat, true, t, message_text(m), "sent");
		if (rec_out)
			*rec_out = o;
	}
out:
	free(pt);
	free(dpt);
	return rc;
}

/* ---- the phone in groups: a poll vote ---- */

#define SIM_PHONE_MAX_VOTE_OPTIONS 12
#define SIM_PHONE_GROUP_MAX 1024

/* Sends pt to group as the phone does: its sender key distribution to every
 * device of every member (its own companions included) in per-device
 * pkmsg/msg, the message itself once as skmsg under its sender key. */
static int phone_group_send(struct sim *sim, struct sim_phone *p, const char *group, const char *type,
	const uint8_t *pt, size_t pt_len, const char *id)
{
	struct sim_account *members[SIM_PHONE_GROUP_MAX];
	size_t n = 0, skdm_len = 0, dpt_len = 0, ct_len = 0;
	uint8_t *skdm = NULL, *dpt = NULL, *ct = NULL;
	Wa__Message dm = WA__MESSAGE__INIT;
	Wa__Message__SenderKeyDistributionMessage sk = WA__MESSAGE__SENDER_KEY_DISTRIBUTION_MESSAGE__INIT;
	int rc = sim_groups_members(group, members, SIM_PHONE_GROUP_MAX, &n);
	if (rc == 0)
		rc = wa_sig_group_skdm(p->sig, group, p->acct->lid, 0, &skdm, &skdm_len);
	if (rc)
		return rc;
	sk.group_id = (char *)group;
	sk.has_axolotl_sender_key_distribution_message = true;
	sk.axolotl_sender_key_distribution_message.data = skdm;
	sk.axolotl_sender_key_distribution_message.len = skdm_len;
	dm.sender_key_distribution_message = &sk;
	if ((rc = pack(&dm.base, &dpt, &dpt_len)) ||
	    (rc = wa_sig_group_encrypt(p->sig, group, p->acct->lid, 0, pt, pt_len, &ct, &ct_len)))
		goto out;
	wa_node *parts = sim_node("participants", NULL);
	for (size_t i = 0; i < n && parts; i++)
		for (size_t d = 0; d <= members[i]->n_devices && parts; d++) {
			uint32_t dev = d == 0 ? 0 : members[i]->devices[d - 1]->device;
			if (members[i] != p->acct || dev != 0)
				parts = add_to(sim, p, parts, members[i], dev, dpt, dpt_len, NULL);
		}
	wa_node *enc = sim_node_bytes("enc", ct, ct_len);
	if (enc && (wa_node_set_attr(enc, "v", "2") || wa_node_set_attr(enc, "type", "skmsg"))) {
		wa_node_free(enc);
		enc = NULL;
	}
	wa_node *st = sim_node_add(sim_node_add(sim_node("message", "id", id, "to", group, "type", type, NULL), parts), enc);
	rc = st ? sim_groups_route(sim, NULL, p->acct, 0, st) : WA_ENOMEM;
	wa_node_free(st);
out:
	free(skdm);
	free(dpt);
	free(ct);
	return rc;
}

/* The phone votes in a group poll it received (its recorded poll_secret):
 * the choices' SHA-256 hashes in a PollVoteMessage under AES-256-GCM, key
 * HMAC-SHA256(HMAC-SHA256(32 zero bytes, secret), poll id ‖ creator ‖ voter
 * ‖ "Poll Vote" ‖ 0x01), aad poll id ‖ 0 ‖ voter (bare phone-number JIDs),
 * as WhatsApp clients encrypt a vote; sent to the group as a pollUpdateMessage. */
static int phone_poll_vote(struct sim *sim, struct sim_phone *p, const json_t *poll, const char *const *opts,
	size_t n_opts, char *id_out, size_t id_cap)
{
	static const uint8_t zeros[32];
	const char *pid = json_string_value(json_object_get(poll, "id"));
	const char *group = json_string_value(json_object_get(poll, "chat"));
	const char *creator = json_string_value(json_object_get(poll, "from"));
	const char *hex = json_string_value(json_object_get(poll, "poll_secret"));
	char voter[SIM_MSG_JID_MAX];
	uint8_t *secret = NULL, *pt = NULL, *ct = NULL, *mpt = NULL, *sign = NULL;
	size_t secret_len = 0, pt_len = 0, mpt_len = 0;
	uint8_t k0[WA_HMAC_SHA256_LEN], key[WA_HMAC_SHA256_LEN], iv[WA_GCM_IV_LEN];
	uint8_t hashes[SIM_PHONE_MAX_VOTE_OPTIONS][WA_SHA256_LEN];
	ProtobufCBinaryData sel[SIM_PHONE_MAX_VOTE_OPTIONS];
	char *aad = NULL;
	int rc;
	if (!pid || !group || !creator || !hex || n_opts > SIM_PHONE_MAX_VOTE_OPTIONS)
		return WA_EINVAL;
	sim_jid_user(p->acct, false, voter, sizeof(voter));
	if ((rc = wa_hex_decode(hex, strlen(hex), &secret, &secret_len)))
		return rc;
	Wa__Message__PollVoteMessage v = WA__MESSAGE__POLL_VOTE_MESSAGE__INIT;
	for (size_t i = 0; i < n_opts; i++) {
		wa_sha256(hashes[i], opts[i], strlen(opts[i]));
		sel[i].data = hashes[i];
		sel[i].len = WA_SHA256_LEN;
	}
	v.n_selected_options = n_opts;
	v.selected_options = sel;
	size_t li = strlen(pid), lc = strlen(creator), lv = strlen(voter);
	sign = malloc(li + lc + lv + 10);
	aad = malloc(li + 1 + lv);
	if (rc == 0 && (!sign || !aad))
		rc = WA_ENOMEM;
	if (rc == 0) {
		memcpy(sign, pid, li);
		memcpy(sign + li, creator, lc);
		memcpy(sign + li + lc, voter, lv);
		memcpy(sign + li + lc + lv, "Poll Vote\x01", 10);
		memcpy(aad, pid, li + 1);
		memcpy(aad + li + 1, voter, lv);
		rc = wa_hmac_sha256(k0, zeros, sizeof(zeros), secret, secret_len);
	}
	if (rc == 0)
		rc = wa_hmac_sha256(key, k0, sizeof(k0), sign, li + lc + lv + 10);
	if (rc == 0)
		rc = pack(&v.base, &pt, &pt_len);
	if (rc == 0 && !(ct = malloc(pt_len + WA_GCM_TAG_LEN)))
		rc = WA_ENOMEM;
	if (rc == 0) {
		wa_rand_bytes(iv, sizeof(iv));
		rc = wa_aes_gcm_encrypt(ct, key, iv, aad, li + 1 + lv, pt, pt_len);
	}
	if (rc == 0) {
		Wa__Message m = WA__MESSAGE__INIT;
		Wa__Message__PollUpdateMessage u = WA__MESSAGE__POLL_UPDATE_MESSAGE__INIT;
		Wa__MessageKey k = WA__MESSAGE_KEY__INIT;
		Wa__Message__PollEncValue ev = WA__MESSAGE__POLL_ENC_VALUE__INIT;
		k.remote_jid = (char *)group;
		k.has_from_me = true;
		k.from_me = strcmp(creator, voter) == 0;
		k.id = (char *)pid;
		k.participant = (char *)creator;
		ev.has_enc_payload = ev.has_enc_iv = true;
		ev.enc_payload.data = ct;
		ev.enc_payload.len = pt_len + WA_GCM_TAG_LEN;
		ev.enc_iv.data = iv;
		ev.enc_iv.len = sizeof(iv);
		u.poll_creation_message_key = &k;
		u.vote = &ev;
		u.has_sender_timestamp_ms = true;
		u.sender_timestamp_ms = sim_now() * 1000;
		m.poll_update_message = &u;
		rc = pack(&m.base, &mpt, &mpt_len);
	}
	if (rc == 0) {
		new_msg_id(id_out, id_cap);
		rc = phone_group_send(sim, p, group, "poll", mpt, mpt_len, id_out);
	}
	wa_memzero(key, sizeof(key));
	wa_memzero(k0, sizeof(k0));
	free(secret);
	free(sign);
	free(aad);
	free(pt);
	free(ct);
	free(mpt);
	return rc;
}

/* {"phone", "poll": id of a group poll the phone received, "options": [names]} */
static int h_poll_vote(struct sim *sim, const struct sim_http_req *req, struct sim_http_resp *resp, void *user)
{
	const char *phone = json_string_value(json_object_get(req->json, "phone"));
	const char *pid = json_string_value(json_object_get(req->json, "poll"));
	const json_t *ja = json_object_get(req->json, "options");
	const char *opts[SIM_PHONE_MAX_VOTE_OPTIONS];
	struct sim_account *a = phone ? sim_account_find(sim, phone) : NULL;
	struct sim_phone *p = a && sim_ax(sim, a) ? sim_ax(sim, a)->phone : NULL;
	const json_t *poll = NULL, *o;
	char id[40];
	size_t i;
	(void)user;
	if (!pid || !json_is_array(ja) || json_array_size(ja) > SIM_PHONE_MAX_VOTE_OPTIONS) {
		sim_http_error(resp, 400, "need phone, poll, options (at most 12)");
		return 0;
	}
	json_array_foreach(ja, i, o) {
		if (!(opts[i] = json_string_value(o))) {
			sim_http_error(resp, 400, "options are strings");
			return 0;
		}
	}
	if (!p || !p->sig) {
		sim_http_error(resp, 404, "no such account");
		return 0;
	}
	json_array_foreach(p->msgs, i, o)
		if (json_object_get(o, "poll_secret") && strcmp(json_string_value(json_object_get(o, "id")), pid) == 0)
			poll = o;
	if (!poll) {
		sim_http_error(resp, 404, "the phone has no such group poll");
		return 0;
	}
	int rc = phone_poll_vote(sim, p, poll, opts, json_array_size(ja), id, sizeof(id));
	if (rc) {
		sim_http_error(resp, 500, wa_strerror(rc));
		return 0;
	}
	sim_http_json(resp, 200, json_pack("{s:s}", "id", id));
	return 0;
}

int sim_phone_send_text(struct sim *sim, struct sim_account *a, struct sim_account *peer, bool lid, const char *text,
	char *id_out, size_t id_cap)
{
	Wa__Message msg = WA__MESSAGE__INIT;
	msg.conversation = (char *)text;
	return sim_phone_send_msg(sim, a, peer, lid, &msg, NULL, id_out, id_cap, NULL);
}

/* The first login of a companion: an INITIAL_BOOTSTRAP history-sync
 * notification whose inline payload is an empty HistorySync (zlib). */
struct hist_arg {
	char phone[SIM_MAX_PHONE + 1];
	uint32_t device;
};

static void send_history(struct sim *sim, void *argp);

/* With SIM_REAL_HIST_SYNC the phone wants the companion's hist_sync
 * receipt for the notification, as the real phone does; without it the
 * notification is sent again (new id, every SIM_HIST_RESEND_MS, at most
 * SIM_HIST_MAX_SENDS in all). */
#define SIM_HIST_RESEND_MS 2000
#define SIM_HIST_MAX_SENDS 5

static bool hist_receipted(const struct sim_dev_ext *x)
{
	for (size_t i = 0; i < x->n_rcpts; i++)
		if (strcmp(x->rcpt_log[i].id, x->hist_id) == 0 && strcmp(x->rcpt_log[i].type, "hist_sync") == 0)
			return true;
	return false;
}

static void check_history(struct sim *sim, void *argp)
{
	struct hist_arg *arg = argp;
	struct sim_account *a = sim_stopping(sim) ? NULL : sim_account_find(sim, arg->phone);
	struct sim_device *d = a ? sim_device_find(a, arg->device) : NULL;
	struct sim_dev_ext *x = d ? sim_dx(d) : NULL;
	if (!x || hist_receipted(x) || x->hist_sends >= SIM_HIST_MAX_SENDS) {
		if (x && hist_receipted(x))
			x->hist_acked = true;
		free(arg);
		return;
	}
	send_history(sim, arg);
}

static void send_history(struct sim *sim, void *argp)
{
	struct hist_arg *arg = argp;
	static const uint8_t empty_zlib[] = { 0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01 };
	struct sim_account *a = sim_account_find(sim, arg->phone);
	uint32_t dev = arg->device;
	struct sim_device *sd = a ? sim_device_find(a, dev) : NULL;
	struct sim_dev_ext *x = sd ? sim_dx(sd) : NULL;
	if (sim_stopping(sim) || !x || !sim_ax(sim, a) || !(sim->real & SIM_REAL_HIST_SYNC) ||
	    sim_defer(sim, SIM_HIST_RESEND_MS, check_history, arg) != 0)
		free(arg);
	if (sim_stopping(sim))
		return; /* fired early at shutdown: nothing may be sent */
	if (!x || !sim_ax(sim, a))
		return;
	Wa__Message msg = WA__MESSAGE__INIT;
	Wa__Message__ProtocolMessage pm = WA__MESSAGE__PROTOCOL_MESSAGE__INIT;
	Wa__Message__HistorySyncNotification hs = WA__MESSAGE__HISTORY_SYNC_NOTIFICATION__INIT;
	uint8_t *pt;
	size_t pt_len;
	char id[40];
	if (sim_history_has(a)) {
		/* a seeded history: its notifications and blobs (sim_history.c) */
		if (x->hist_sends == 0)
			sim_appstate_share_key(sim, a, dev);
		if (sim_history_send(sim, a, dev, id, sizeof(id)) == 0) {
			snprintf(x->hist_id, sizeof(x->hist_id), "%s", id);
			x->hist_sends++;
		}
		return;
	}
	hs.has_sync_type = 1;
	hs.sync_type = 0; /* INITIAL_BOOTSTRAP */
	hs.has_initial_hist_bootstrap_inline_payload = 1;
	hs.initial_hist_bootstrap_inline_payload.data = (uint8_t *)empty_zlib;
	hs.initial_hist_bootstrap_inline_payload.len = sizeof(empty_zlib);
	hs.has_progress = 1;
	hs.progress = 100;
	pm.has_type = 1;
	pm.type = WA__MESSAGE__PROTOCOL_MESSAGE__TYPE__HISTORY_SYNC_NOTIFICATION;
	pm.history_sync_notification = &hs;
	msg.protocol_message = &pm;
	if (pack(&msg.base, &pt, &pt_len) != 0)
		return;
	/* the phone shares the app-state sync key first, as the real one does */
	if (x->hist_sends == 0)
		sim_appstate_share_key(sim, a, dev);
	if (sim_phone_send_peer(sim, a, dev, pt, pt_len, id, sizeof(id)) == 0) {
		snprintf(x->hist_id, sizeof(x->hist_id), "%s", id);
		x->hist_sends++;
	}
	free(pt);
}

int sim_phone_send_peer(struct sim *sim, struct sim_account *a, uint32_t dev, const uint8_t *pt, size_t pt_len,
	char *id, size_t id_cap)
{
	struct sim_phone *p = sim_ax(sim, a) ? sim_ax(sim, a)->phone : NULL;
	if (!p || !p->sig)
		return WA_ESTATE;
	new_msg_id(id, id_cap);
	char to[SIM_MSG_JID_MAX];
	sim_jid_device(a, false, dev, to, sizeof(to));
	wa_node *parts = add_to(sim, p, sim_node("participants", NULL), a, dev, pt, pt_len, NULL);
	wa_node *enc = parts && wa_node_n_children(parts) ? wa_node_child(wa_node_child_at(parts, 0), "enc") : NULL;
	/* a peer message: the single <enc> is a direct child */
	wa_node *st = sim_node("message", "id", id, "to", to, "type", "text", "category", "peer", "push_priority",
		"high_force", NULL);
	int rc = WA_ESTATE;
	if (st && enc) {
		wa_node *e2 = sim_node_bytes("enc", "", 0);
		const uint8_t *b;
		size_t bl;
		if (e2 && wa_node_content_bytes(enc, &b, &bl) == 0 && wa_node_set_bytes(e2, b, bl) == 0 &&
		    wa_node_set_attr(e2, "v", "2") == 0 && wa_node_set_attr(e2, "type", wa_node_attr(enc, "type")) == 0) {
			st = sim_node_add(st, e2);
			if (st)
				rc = sim_route_message(sim, NULL, a, 0, st);
		} else {
			wa_node_free(e2);
		}
	}
	wa_node_free(st);
	wa_node_free(parts);
	return rc;
}

int sim_phone_history_later(struct sim *sim, struct sim_device *d)
{
	struct hist_arg *arg = calloc(1, sizeof(*arg));
	if (!arg)
		return WA_ENOMEM;
	snprintf(arg->phone, sizeof(arg->phone), "%s", d->acct->phone);
	arg->device = d->device;
	/* after <ib><offline/> and Baileys' switch to AwaitingInitialSync */
	int rc = sim_defer(sim, 1000, send_history, arg);
	if (rc)
		free(arg);
	return rc;
}

/* ---- control API ---- */

static int h_messages(struct sim *sim, const struct sim_http_req *req, struct sim_http_resp *resp, void *user)
{
	char phone[SIM_MAX_PHONE + 1];
	const char *s = req->path + strlen("/_sim/accounts/");
	size_t n = strcspn(s, "/");
	struct sim_account *a;
	(void)user;
	if (n == 0 || n > SIM_MAX_PHONE) {
		sim_http_error(resp, 404, "no such account");
		return 0;
	}
	memcpy(phone, s, n);
	phone[n] = '\0';
	a = sim_account_find(sim, phone);
	if (!a || !sim_ax(sim, a) || strcmp(s + n, "/messages") != 0) {
		sim_http_error(resp, 404, "no such account");
		return 0;
	}
	json_t *o = json_object();
	json_object_set_new(o, "messages", json_deep_copy(sim_ax(sim, a)->phone->msgs));
	sim_http_json(resp, 200, o);
	return 0;
}

/* {"phone": "<sender account>", "to": "<phone number or JID>", "text": "..."} */
static int h_send(struct sim *sim, const struct sim_http_req *req, struct sim_http_resp *resp, void *user)
{
	const char *phone = json_string_value(json_object_get(req->json, "phone"));
	const char *to = json_string_value(json_object_get(req->json, "to"));
	const char *text = json_string_value(json_object_get(req->json, "text"));
	json_t *media = json_object_get(req->json, "media");
	struct sim_account *a;
	struct sim_addr ad;
	char jid[SIM_MSG_JID_MAX], id[40];
	(void)user;
	if (!phone || !to || (media ? !json_is_object(media) : !text || strlen(text) > SIM_PHONE_MAX_TEXT)) {
		sim_http_error(resp, 400, "need phone, to, text (or media)");
		return 0;
	}
	if (!strchr(to, '@'))
		snprintf(jid, sizeof(jid), "%s@s.whatsapp.net", to);
	else
		snprintf(jid, sizeof(jid), "%s", to);
	if (!(a = sim_account_find(sim, phone)) || sim_addr_parse(sim, jid, &ad) != 0) {
		sim_http_error(resp, 404, "no such account");
		return 0;
	}
	const char *why = NULL;
	int rc = media ? sim_phone_media_send(sim, a, ad.acct, ad.lid, media, id, sizeof(id), &why)
		       : sim_phone_send_text(sim, a, ad.acct, ad.lid, text, id, sizeof(id));
	if (rc == WA_EINVAL && why) {
		sim_http_error(resp, 400, why);
		return 0;
	}
	if (rc) {
		sim_http_error(resp, 500, wa_strerror(rc));
		return 0;
	}
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(id));
	sim_http_json(resp, 200, o);
	return 0;
}

void sim_phone_shutdown(void)
{
	sim_appstate_shutdown();
	close_store();
}

/* {"phone", "ids": [...]}: the phone reads messages it received: a read
 * receipt (with t) goes to the device each came from. */
static int h_read(struct sim *sim, const struct sim_http_req *req, struct sim_http_resp *resp, void *user)
{
	const char *phone = json_string_value(json_object_get(req->json, "phone"));
	json_t *ids = json_object_get(req->json, "ids");
	struct sim_account *a = phone ? sim_account_find(sim, phone) : NULL;
	size_t i, n = 0;
	json_t *v;
	char t[32];
	(void)user;
	if (!a || !sim_ax(sim, a) || !json_is_array(ids)) {
		sim_http_error(resp, a ? 400 : 404, a ? "need ids" : "no such account");
		return 0;
	}
	sim_msg_tstr(t, sizeof(t), sim_now());
	json_array_foreach(ids, i, v) {
		const char *id = json_string_value(v);
		size_t k;
		json_t *m;
		if (!id)
			continue;
		json_array_foreach(sim_ax(sim, a)->phone->msgs, k, m) {
			const char *kind = json_string_value(json_object_get(m, "kind"));
			const char *from = json_string_value(json_object_get(m, "from"));
			if (!kind || strcmp(kind, "message") != 0 || json_is_true(json_object_get(m, "from_me")) ||
			    strcmp(json_string_value(json_object_get(m, "id")), id) != 0 || !from)
				continue;
			wa_node *r = sim_node("receipt", "id", id, "to", from, "type", "read", "t", t, NULL);
			if (r) {
				SIM_IGNORE(sim_route_receipt(sim, a, 0, r));
				wa_node_free(r);
				n++;
			}
			break;
		}
	}
	json_t *o = json_object();
	json_object_set_new(o, "read", json_integer((json_int_t)n));
	sim_http_json(resp, 200, o);
	return 0;
}

/* {"phone", "peer"}: the phone drops its Signal sessions with every device
 * of peer, as after a reinstall; the peer's next message to it fails to
 * decrypt and the phone asks for it again with a retry receipt. */
static int h_forget(struct sim *sim, const struct sim_http_req *req, struct sim_http_resp *resp, void *user)
{
	const char *phone = json_string_value(json_object_get(req->json, "phone"));
	const char *peer = json_string_value(json_object_get(req->json, "peer"));
	struct sim_account *a = phone ? sim_account_find(sim, phone) : NULL;
	struct sim_account *b = peer ? sim_account_find(sim, peer) : NULL;
	size_t n = 0;
	(void)user;
	if (!a || !b || !sim_ax(sim, a)) {
		sim_http_error(resp, 404, "no such account");
		return 0;
	}
	struct sim_phone *p = sim_ax(sim, a)->phone;
	for (size_t i = 0; p->sig && i <= b->n_devices; i++) {
		uint32_t dev = i == 0 ? 0 : b->devices[i - 1]->device;
		bool exists = false;
		if (wa_sig_session_exists(p->sig, b->lid, (int32_t)dev, &exists) == 0 && exists &&
		    wa_sig_session_delete(p->sig, b->lid, (int32_t)dev) == 0)
			n++;
	}
	json_t *o = json_object();
	json_object_set_new(o, "deleted", json_integer((json_int_t)n));
	sim_http_json(resp, 200, o);
	return 0;
}

/* {"phone", "on": bool}: an offline phone neither decrypts nor answers what
 * is routed to it (no delivery receipts); back online it processes the held
 * messages in arrival order. Answers {"held": n} (messages waiting). */
static int h_offline(struct sim *sim, const struct sim_http_req *req, struct sim_http_resp *resp, void *user)
{
	const char *phone = json_string_value(json_object_get(req->json, "phone"));
	json_t *on = json_object_get(req->json, "on");
	struct sim_account *a = phone ? sim_account_find(sim, phone) : NULL;
	(void)user;
	if (!a || !sim_ax(sim, a) || !sim_ax(sim, a)->phone) {
		sim_http_error(resp, 404, "no such account");
		return 0;
	}
	if (!json_is_boolean(on)) {
		sim_http_error(resp, 400, "need \"on\": true|false");
		return 0;
	}
	struct sim_phone *p = sim_ax(sim, a)->phone;
	size_t held = p->n_held;
	p->offline = json_is_true(on);
	if (!p->offline && p->n_held) {
		wa_node **list = p->held;
		size_t n = p->n_held;
		p->held = NULL;
		p->n_held = 0;
		for (size_t i = 0; i < n; i++)
			sim_phone_receive(sim, a, list[i]);
		free(list);
	}
	json_t *o = json_object();
	json_object_set_new(o, "held", json_integer((json_int_t)held));
	sim_http_json(resp, 200, o);
	return 0;
}

/* A reinstalled phone starts its Signal state afresh: a new store instance
 * (sessions, identities and pre-keys of the old install are gone) on the
 * account's new keys, a new batch of one-time pre-keys. */
static int phone_reset(struct sim *sim, struct sim_account *a)
{
	struct sim_acct_ext *x = sim_ax(sim, a);
	struct sim_phone *p = x->phone;
	char name[64];
	wa_sig_free(p->sig);
	p->sig = NULL;
	memset(p->retries, 0, sizeof(p->retries));
	p->retry_next = 0;
	sim_keys_clear(&x->phone_keys);
	int rc = wa_store_instance_delete(g_phones.st, p->inst);
	snprintf(name, sizeof(name), "phone-%s", a->phone);
	if (rc == 0)
		rc = wa_store_instance_create(g_phones.st, name, &p->inst);
	if (rc == 0)
		rc = setup_creds(p, a);
	if (rc == 0)
		rc = import_spk(p, a);
	if (rc == 0)
		rc = wa_sig_new(g_phones.st, p->inst, &p->sig);
	if (rc == 0)
		rc = sim_phone_refill(sim, a);
	return rc;
}

/* {"phone"}: the account's phone is reinstalled (new identity key; its
 * companions are logged out). Peers see an identity change on their next
 * message exchange with it. Answers {"identity": hex}. */
static int h_reinstall(struct sim *sim, const struct sim_http_req *req, struct sim_http_resp *resp, void *user)
{
	const char *phone = json_string_value(json_object_get(req->json, "phone"));
	struct sim_account *a = phone ? sim_account_find(sim, phone) : NULL;
	(void)user;
	if (!a || !sim_ax(sim, a) || !sim_ax(sim, a)->phone) {
		sim_http_error(resp, 404, "no such account");
		return 0;
	}
	int rc = sim_account_rekey(sim, a);
	if (rc == 0)
		rc = phone_reset(sim, a);
	if (rc) {
		sim_http_error(resp, 500, wa_strerror(rc));
		return 0;
	}
	char hex[65];
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", a->identity.pub[i]);
	json_t *o = json_object();
	json_object_set_new(o, "identity", json_string(hex));
	sim_http_json(resp, 200, o);
	return 0;
}

int sim_phone_init(struct sim *sim)
{
	int rc = sim_http_register(sim, "POST", "/_sim/phone/send", h_send, NULL);
	rc = rc ? rc : sim_http_register(sim, "POST", "/_sim/phone/read", h_read, NULL);
	rc = rc ? rc : sim_http_register(sim, "POST", "/_sim/phone/offline", h_offline, NULL);
	rc = rc ? rc : sim_http_register(sim, "POST", "/_sim/phone/reinstall", h_reinstall, NULL);
	rc = rc ? rc : sim_http_register(sim, "POST", "/_sim/phone/pollvote", h_poll_vote, NULL);
	return rc ? rc : sim_http_register(sim, "POST", "/_sim/phone/forget", h_forget, NULL);
}
