/* The messaging engine of src/session (messaging.c) on a session with no
 * connection (a driver whose timers never fire), driven through the public
 * send API and the stanza dispatch table, against a real Signal peer
 * (tests/signal/peer.c):
 *  - a send while offline is persisted before the call returns: the message
 *    row (PENDING, its plaintext) and an outbox plan record, and a PENDING
 *    status event;
 *  - a received pkmsg is decrypted, stored and emitted once, with the
 *    Baileys-style JSON; the same stanza redelivered is answered from the
 *    store (no second event, no decrypt failure);
 *  - an undecryptable message leaves nothing stored and emits nothing;
 *  - sender_lid teaches the PN<->LID mapping and moves the sessions to the
 *    LID address, so the next message sent from the LID device decrypts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "peer.h"
#include "session/internal.h"
#include "session/msg.h"

static int t_new(void *ctx, wa_timer_fn fn, void *user, void **t)
{
	(void)ctx;
	(void)fn;
	(void)user;
	*t = malloc(1);
	return *t ? 0 : WA_ENOMEM;
}
static void t_set(void *t, uint32_t ms) { (void)t; (void)ms; }
static void t_cancel(void *t) { (void)t; }
static void t_free(void *t) { free(t); }
static int64_t t_now(void *ctx) { (void)ctx; return 1000; }
static int d_open(void *ctx, const wa_tr_config *c, const wa_tr_events *e, void *u, void **o)
{
	(void)ctx; (void)c; (void)e; (void)u; (void)o;
	return WA_EIO;
}
static int d_send(void *c, const uint8_t *p, size_t l) { (void)c; (void)p; (void)l; return WA_ESTATE; }
static void d_close(void *c) { (void)c; }
static const wa_tr_driver drv = {d_open, d_send, d_close, t_new, t_set, t_cancel, t_free, t_now};

#define MAX_EV 32
static struct {
	enum wa_event_type type;
	char text[256];
	char json[512];
	char id[64];
	char jid[128];
	int status;
	bool from_me;
	bool recorded;
} ev[MAX_EV];
static int n_ev;

static void on_event(wa_session *s, const wa_event *e, void *user)
{
	(void)s;
	(void)user;
	if (n_ev >= MAX_EV)
		return;
	ev[n_ev].type = e->type;
	if (e->type == WA_EV_MESSAGE) {
		snprintf(ev[n_ev].text, sizeof ev[n_ev].text, "%s", e->u.message.text ? e->u.message.text : "");
		snprintf(ev[n_ev].json, sizeof ev[n_ev].json, "%s", e->u.message.message_json);
		snprintf(ev[n_ev].id, sizeof ev[n_ev].id, "%s", e->u.message.key.id);
		snprintf(ev[n_ev].jid, sizeof ev[n_ev].jid, "%s", e->u.message.key.remote_jid);
		ev[n_ev].from_me = e->u.message.key.from_me;
	} else if (e->type == WA_EV_MESSAGE_STATUS) {
		snprintf(ev[n_ev].id, sizeof ev[n_ev].id, "%s", e->u.message_status.key.id);
		ev[n_ev].status = e->u.message_status.status;
		ev[n_ev].recorded = e->u.message_status.recorded;
	} else if (e->type == WA_EV_CONTACT) {
		snprintf(ev[n_ev].jid, sizeof ev[n_ev].jid, "%s|%s", e->u.contact.jid, e->u.contact.lid);
	}
	n_ev++;
}

static int count(enum wa_event_type t)
{
	int n = 0;
	for (int i = 0; i < n_ev; i++)
		n += ev[i].type == t;
	return n;
}

static wa_node *message(const char *from, const char *id, const char *alt, enum wa_sig_msg_type ty,
	const uint8_t *ct, size_t len)
{
	wa_node *n = NULL, *e = NULL;
	CHECK_EQ_INT(wa_node_new(&n, "message"), 0);
	CHECK_EQ_INT(wa_node_set_attr(n, "from", from), 0);
	CHECK_EQ_INT(wa_node_set_attr(n, "id", id), 0);
	CHECK_EQ_INT(wa_node_set_attr(n, "t", "1700000000"), 0);
	CHECK_EQ_INT(wa_node_set_attr(n, "type", "text"), 0);
	CHECK_EQ_INT(wa_node_set_attr(n, "notify", "Peer"), 0);
	if (alt)
		CHECK_EQ_INT(wa_node_set_attr(n, "sender_lid", alt), 0);
	CHECK_EQ_INT(wa_node_add_new(n, "enc", &e), 0);
	CHECK_EQ_INT(wa_node_set_attr(e, "v", "2"), 0);
	CHECK_EQ_INT(wa_node_set_attr(e, "type", wa_sig_type_name(ty)), 0);
	CHECK_EQ_INT(wa_node_set_bytes(e, ct, len), 0);
	return n;
}

static void peer_encrypt(test_peer *p, const char *text, enum wa_sig_msg_type *ty, uint8_t **ct, size_t *len)
{
	uint8_t *pt = NULL;
	size_t pl = 0;
	CHECK_EQ_INT(wa_msg_build_text(text, NULL, NULL, 0, NULL, &pt, &pl), 0);
	CHECK_EQ_INT(wa_sig_encrypt(p->sig, "15550001111", 2, pt, pl, ty, ct, len), 0);
	free(pt);
}

/* wa_send_opts.in_tx: records the transaction depth it ran at and writes
 * a row (an instance named after the message id) that must commit or roll
 * back with the send */
struct probe {
	wa_store *st;
	int calls, depth, rc;
	char id[64];
};

static int probe_in_tx(void *user, const char *id)
{
	struct probe *pr = user;
	pr->calls++;
	pr->depth = wa_store_tx_depth(pr->st);
	snprintf(pr->id, sizeof pr->id, "%s", id);
	char name[80];
	snprintf(name, sizeof name, "rec-%s", id);
	int64_t rid;
	CHECK_EQ_INT(wa_store_instance_create(pr->st, name, &rid), 0);
	return pr->rc;
}

/* wa_session_config.status_in_tx: the depth it ran at, and a row that must
 * commit with the status it was told about */
static struct {
	wa_store *st;
	int calls, depth, status;
	char id[64];
} sp;

static void probe_status(void *user, const char *id, bool from_me, enum wa_msg_status status)
{
	(void)user;
	CHECK(from_me);
	sp.calls++;
	sp.depth = wa_store_tx_depth(sp.st);
	sp.status = (int)status;
	snprintf(sp.id, sizeof sp.id, "%s", id);
	char name[80];
	snprintf(name, sizeof name, "st-%s-%d", id, (int)status);
	int64_t rid;
	CHECK_EQ_INT(wa_store_instance_create(sp.st, name, &rid), 0);
}

static bool probe_row(wa_store *st, const char *id)
{
	char name[80];
	snprintf(name, sizeof name, "rec-%s", id);
	int64_t rid;
	return wa_store_instance_find(st, name, &rid) == 0;
}

int main(void)
{
	char dir[] = "/tmp/wa_test_engine.XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char db[256], pdb[256];
	snprintf(db, sizeof db, "%s/c.db", dir);
	snprintf(pdb, sizeof pdb, "%s/p.db", dir);
	test_rand_seed(7);

	wa_store *st = NULL;
	int64_t iid;
	CHECK_EQ_INT(wa_store_open(db, NULL, &st), 0);
	CHECK_EQ_INT(wa_store_instance_create(st, "c", &iid), 0);
	wa_session_config cfg = {.store = st, .instance_id = iid, .url = "ws://127.0.0.1:1/"};
	wa_session *s = NULL;
	CHECK_EQ_INT(wa_session_new_with_driver(&cfg, &drv, NULL, on_event, NULL, &s), 0);
	if (!s)
		return check_exit("session_engine");
	char *id = NULL;
	CHECK_EQ_INT(wa_session_send_text(s, "15550002222", "hi", NULL, &id), WA_ESTATE); /* not paired */
	snprintf(s->creds->me_jid, sizeof s->creds->me_jid, "15550001111:2@s.whatsapp.net");

	/* ---- offline send: persisted before returning ---- */
	CHECK_EQ_INT(wa_session_send_text(s, "not a number!", "x", NULL, &id), WA_EINVAL);
	CHECK_EQ_INT(wa_session_send_text(s, "+1 555 000 2222", "hello there", NULL, &id), 0);
	CHECK(id != NULL);
	CHECK(count(WA_EV_MESSAGE_STATUS) == 1 && ev[0].status == WA_MSG_PENDING && id && strcmp(ev[0].id, id) == 0);
	wa_store_msg_row *row = NULL;
	CHECK_EQ_INT(wa_store_msg_load(st, iid, "15550002222@s.whatsapp.net", id, true, &row), 0);
	if (row) {
		CHECK_EQ_INT(row->status, WA_STORE_MSG_PENDING);
		wa_msg_view v;
		CHECK_EQ_INT(wa_msg_view_parse(row->plaintext, row->plaintext_len, &v), 0);
		CHECK(v.text && strcmp(v.text, "hello there") == 0);
		wa_msg_view_clear(&v);
	}
	wa_store_msg_row_free(row);
	int64_t orow;
	char *oid = NULL, *ochat = NULL;
	uint8_t *pl = NULL;
	size_t pll = 0;
	CHECK_EQ_INT(wa_store_outbox_next(st, iid, &orow, &oid, &ochat, &pl, &pll), 0);
	CHECK(oid && id && strcmp(oid, id) == 0 && pll > 1 && pl[0] == 'P');
	free(oid);
	free(ochat);
	free(pl);
	/* same id twice is refused, nothing doubled */
	wa_send_opts o = {.id = id};
	CHECK_EQ_INT(wa_session_send_text(s, "15550002222", "again", &o, NULL), WA_EEXIST);
	free(id);
	/* in_tx runs once, inside the send's own transaction (depth 1: the
	 * outbox row's), and its write is committed with the send */
	struct probe pr = {.st = st};
	wa_send_opts ot = {.in_tx = probe_in_tx, .in_tx_user = &pr};
	CHECK_EQ_INT(wa_session_send_text(s, "15550002222", "with a record", &ot, &id), 0);
	CHECK(pr.calls == 1 && pr.depth == 1 && id && strcmp(pr.id, id) == 0);
	CHECK(probe_row(st, pr.id));
	CHECK_EQ_INT(wa_store_tx_depth(st), 0);
	/* a delivery receipt raises the stored status and calls status_in_tx
	 * inside the same transaction (depth 1), before the ack; the event
	 * after the commit says the embedder's record is done */
	sp = (typeof(sp)){.st = st};
	s->status_in_tx = probe_status;
	wa_node *rc = NULL;
	CHECK_EQ_INT(wa_node_new(&rc, "receipt"), 0);
	CHECK_EQ_INT(wa_node_set_attr(rc, "from", "15550002222@s.whatsapp.net"), 0);
	CHECK_EQ_INT(wa_node_set_attr(rc, "id", id), 0);
	CHECK_EQ_INT(wa_node_set_attr(rc, "t", "1700000001"), 0);
	int st_before = count(WA_EV_MESSAGE_STATUS);
	CHECK_EQ_INT(wa_session_dispatch(s, rc), 0);
	wa_node_free(rc);
	CHECK(sp.calls == 1 && sp.depth == 1 && sp.status == WA_MSG_DELIVERED && strcmp(sp.id, id) == 0);
	CHECK_EQ_INT(count(WA_EV_MESSAGE_STATUS), st_before + 1);
	CHECK(ev[n_ev - 1].status == WA_MSG_DELIVERED && ev[n_ev - 1].recorded);
	char stname[80];
	snprintf(stname, sizeof stname, "st-%s-%d", id, (int)WA_MSG_DELIVERED);
	int64_t strid;
	CHECK_EQ_INT(wa_store_instance_find(st, stname, &strid), 0);
	CHECK_EQ_INT(wa_store_tx_depth(st), 0);
	CHECK_EQ_INT(wa_store_msg_load(st, iid, "15550002222@s.whatsapp.net", id, true, &row), 0);
	if (row)
		CHECK_EQ_INT(row->status, WA_STORE_MSG_DELIVERED);
	wa_store_msg_row_free(row);
	s->status_in_tx = NULL;
	free(id);
	id = NULL;
	/* its failure undoes the send (the message row went in the same
	 * transaction as the outbox row) and its own write */
	pr = (struct probe){.st = st, .rc = WA_EIO};
	wa_send_opts of = {.id = "3EB0IN7XFAIL", .in_tx = probe_in_tx, .in_tx_user = &pr};
	CHECK_EQ_INT(wa_session_send_text(s, "15550002222", "undone", &of, &id), WA_EIO);
	CHECK(pr.calls == 1 && id == NULL);
	CHECK(!probe_row(st, "3EB0IN7XFAIL"));
	CHECK_EQ_INT(wa_store_msg_load(st, iid, "15550002222@s.whatsapp.net", "3EB0IN7XFAIL", true, &row),
		     WA_ENOTFOUND);
	CHECK_EQ_INT(wa_store_tx_depth(st), 0);
	wa_msg_key k = {.remote_jid = "15550002222@s.whatsapp.net", .id = "X"};
	CHECK_EQ_INT(wa_session_mark_read(s, &k, 1), WA_ESTATE);

	/* ---- receive: decrypt + store once, emit once ---- */
	test_peer p;
	CHECK_EQ_INT(test_peer_create(&p, pdb, "peer", 1, 2), 0);
	wa_sig_bundle ours = {.registration_id = s->creds->registration_id,
		.signed_prekey_id = s->creds->signed_prekey_id};
	memcpy(ours.identity, s->creds->identity_pub, 32);
	memcpy(ours.signed_prekey, s->creds->signed_prekey_pub, 32);
	memcpy(ours.signed_prekey_sig, s->creds->signed_prekey_sig, 64);
	CHECK_EQ_INT(wa_sig_session_from_bundle(p.sig, "15550001111", 2, &ours), 0);
	enum wa_sig_msg_type ty;
	uint8_t *ct = NULL;
	size_t cl = 0;
	peer_encrypt(&p, "Привет 👋", &ty, &ct, &cl);
	CHECK(ty == WA_SIG_TYPE_PKMSG);
	wa_node *m1 = message("15550002222:3@s.whatsapp.net", "M1", NULL, ty, ct, cl);
	free(ct);
	int before = count(WA_EV_MESSAGE);
	CHECK_EQ_INT(wa_session_dispatch(s, m1), 0);
	CHECK_EQ_INT(count(WA_EV_MESSAGE), before + 1);
	CHECK(n_ev > 0 && strcmp(ev[n_ev - 1].text, "Привет 👋") == 0 &&
	      strcmp(ev[n_ev - 1].json, "{\"conversation\":\"Привет 👋\"}") == 0 &&
	      strcmp(ev[n_ev - 1].jid, "15550002222@s.whatsapp.net") == 0 && !ev[n_ev - 1].from_me);
	CHECK_EQ_INT(wa_store_msg_load(st, iid, "15550002222@s.whatsapp.net", "M1", false, &row), 0);
	if (row)
		CHECK_EQ_INT(row->status, WA_STORE_MSG_ACKED);
	wa_store_msg_row_free(row);
	/* redelivery: answered from the store, not emitted again */
	CHECK_EQ_INT(wa_session_dispatch(s, m1), 0);
	CHECK_EQ_INT(count(WA_EV_MESSAGE), before + 1);
	wa_node_free(m1);

	/* garbage under a new id: nothing stored, nothing emitted */
	static const uint8_t junk[] = {0x33, 1, 2, 3, 4, 5, 6, 7, 8, 9};
	wa_node *m2 = message("15550002222:3@s.whatsapp.net", "M2", NULL, WA_SIG_TYPE_MSG, junk, sizeof junk);
	CHECK_EQ_INT(wa_session_dispatch(s, m2), 0);
	wa_node_free(m2);
	CHECK_EQ_INT(count(WA_EV_MESSAGE), before + 1);
	CHECK_EQ_INT(wa_store_msg_load(st, iid, "15550002222@s.whatsapp.net", "M2", false, &row), WA_ENOTFOUND);

	/* ---- PN -> LID: the mapping moves the session; the LID device decrypts ---- */
	peer_encrypt(&p, "second", &ty, &ct, &cl);
	wa_node *m3 = message("15550002222:3@s.whatsapp.net", "M3", "777000111@lid", ty, ct, cl);
	free(ct);
	CHECK_EQ_INT(wa_session_dispatch(s, m3), 0);
	wa_node_free(m3);
	CHECK_EQ_INT(count(WA_EV_MESSAGE), before + 2);
	CHECK(count(WA_EV_CONTACT) == 1);
	bool ex = false;
	CHECK_EQ_INT(wa_sig_session_exists(s->sig, "777000111_1", 3, &ex), 0);
	CHECK(ex);
	CHECK_EQ_INT(wa_sig_session_exists(s->sig, "15550002222", 3, &ex), 0);
	CHECK(!ex);
	peer_encrypt(&p, "from the LID", &ty, &ct, &cl);
	wa_node *m4 = message("777000111:3@lid", "M4", NULL, ty, ct, cl);
	free(ct);
	CHECK_EQ_INT(wa_session_dispatch(s, m4), 0);
	wa_node_free(m4);
	CHECK_EQ_INT(count(WA_EV_MESSAGE), before + 3);
	CHECK(strcmp(ev[n_ev - 1].text, "from the LID") == 0 &&
	      strcmp(ev[n_ev - 1].jid, "15550002222@s.whatsapp.net") == 0);

	test_peer_close(&p);
	wa_session_free(s);
	wa_store_close(st);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	CHECK(system(cmd) == 0);
	return check_exit("session_engine");
}
