/* Group commit of offline messages (src/session/drain.c) on a session with
 * no connection (timers never fire), against a real Signal peer:
 *  - offline messages are decrypted and emitted at once, but nothing is
 *    durable and nothing is marked ACKED (the receipt follows the ACKED
 *    mark) until the group commits: another connection to the same file
 *    sees no row;
 *  - any other store write (here: a send, whose ratchet step must be
 *    durable before its frame leaves) commits the group first, and the
 *    rows are then durable and ACKED;
 *  - a crash before the group commit (a child process that exits with the
 *    group open) leaves no row and no ratchet step: the same stanzas
 *    decrypt again after the restart;
 *  - the group commits by itself at WA_DRAIN_MAX messages, when the idle
 *    timer fires, and when the session closes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "peer.h"
#include "session/drain.h"
#include "session/internal.h"
#include "session/msg.h"
#include "store_backend.h"

/* Timers never fire by themselves; the test fires the one armed last with
 * the drain's idle delay. */
struct ftimer {
	wa_timer_fn fn;
	void *user;
	uint32_t ms; /* 0 = not armed */
};
static struct ftimer *last_idle;

static int t_new(void *ctx, wa_timer_fn fn, void *user, void **t)
{
	(void)ctx;
	struct ftimer *f = calloc(1, sizeof *f);
	if (!f)
		return WA_ENOMEM;
	f->fn = fn;
	f->user = user;
	*t = f;
	return 0;
}
static void t_set(void *t, uint32_t ms)
{
	struct ftimer *f = t;
	f->ms = ms;
	if (ms == WA_DRAIN_IDLE_MS)
		last_idle = f;
}
static void t_cancel(void *t) { ((struct ftimer *)t)->ms = 0; }
static void t_free(void *t)
{
	if (t == last_idle)
		last_idle = NULL;
	free(t);
}
static int64_t t_now(void *ctx) { (void)ctx; return 1000; }
static int d_open(void *ctx, const wa_tr_config *c, const wa_tr_events *e, void *u, void **o)
{
	(void)ctx; (void)c; (void)e; (void)u; (void)o;
	return WA_EIO;
}
static int d_send(void *c, const uint8_t *p, size_t l) { (void)c; (void)p; (void)l; return WA_ESTATE; }
static void d_close(void *c) { (void)c; }
static const wa_tr_driver drv = {d_open, d_send, d_close, t_new, t_set, t_cancel, t_free, t_now};

static int n_msg_ev;
static void on_event(wa_session *s, const wa_event *e, void *user)
{
	(void)s;
	(void)user;
	n_msg_ev += e->type == WA_EV_MESSAGE;
}

#define PEER_CHAT "15550002222@s.whatsapp.net"
#define N_CT 110

static char db[256], pdb[256];
static int64_t iid;
static wa_node *stanzas[N_CT];

static wa_node *message(const char *id, enum wa_sig_msg_type ty, const uint8_t *ct, size_t len)
{
	wa_node *n = NULL, *e = NULL;
	CHECK_EQ_INT(wa_node_new(&n, "message"), 0);
	CHECK_EQ_INT(wa_node_set_attr(n, "from", "15550002222:3@s.whatsapp.net"), 0);
	CHECK_EQ_INT(wa_node_set_attr(n, "id", id), 0);
	CHECK_EQ_INT(wa_node_set_attr(n, "t", "1700000000"), 0);
	CHECK_EQ_INT(wa_node_set_attr(n, "type", "text"), 0);
	CHECK_EQ_INT(wa_node_set_attr(n, "offline", "1"), 0);
	CHECK_EQ_INT(wa_node_add_new(n, "enc", &e), 0);
	CHECK_EQ_INT(wa_node_set_attr(e, "v", "2"), 0);
	CHECK_EQ_INT(wa_node_set_attr(e, "type", wa_sig_type_name(ty)), 0);
	CHECK_EQ_INT(wa_node_set_bytes(e, ct, len), 0);
	return n;
}

static int open_client(wa_store **st, wa_session **s)
{
	int rc = wa_store_open(store_backend_path(db), NULL, st);
	if (rc)
		return rc;
	wa_session_config cfg = {.store = *st, .instance_id = iid, .url = "ws://127.0.0.1:1/"};
	rc = wa_session_new_with_driver(&cfg, &drv, NULL, on_event, NULL, s);
	if (rc) {
		wa_store_close(*st);
		return rc;
	}
	snprintf((*s)->creds->me_jid, sizeof (*s)->creds->me_jid, "15550001111:2@s.whatsapp.net");
	return 0;
}

static void close_client(wa_store *st, wa_session *s)
{
	wa_session_free(s);
	wa_store_close(st);
}

/* Row status through a second, read-only connection (what another process
 * or a restart would see), or -1 when absent. */
static int durable_status(const char *id)
{
	if (store_backend_pg()) {
		char sql[256];
		snprintf(sql, sizeof sql, "SELECT coalesce((SELECT status FROM messages WHERE instance_id = %lld"
			" AND msg_id = '%s'), -5)", (long long)iid, id);
		long long v = store_backend_pg_int(db, sql);
		return v == -5 ? -1 : v == -1 ? -3 : (int)v;
	}
	sqlite3 *o = NULL;
	sqlite3_stmt *q = NULL;
	int st = -2;
	if (sqlite3_open_v2(db, &o, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(o, "SELECT status FROM messages WHERE instance_id = ?1 AND msg_id = ?2", -1, &q,
			       NULL) == SQLITE_OK) {
		sqlite3_bind_int64(q, 1, iid);
		sqlite3_bind_text(q, 2, id, -1, SQLITE_STATIC);
		int rc = sqlite3_step(q);
		st = rc == SQLITE_ROW ? sqlite3_column_int(q, 0) : rc == SQLITE_DONE ? -1 : -3;
	}
	sqlite3_finalize(q);
	sqlite3_close(o);
	return st;
}

/* Setup: the client instance, a peer with a session to it and N_CT
 * stanzas from the peer, encrypted in order (the first is a pkmsg). */
static void setup(void)
{
	wa_store *st = NULL;
	wa_session *s = NULL;
	CHECK_EQ_INT(wa_store_open(store_backend_path(db), NULL, &st), 0);
	CHECK_EQ_INT(wa_store_instance_create(st, "c", &iid), 0);
	wa_store_close(st);
	CHECK_EQ_INT(open_client(&st, &s), 0);
	if (!s)
		exit(check_exit("session_drain"));
	test_peer p;
	CHECK_EQ_INT(test_peer_create(&p, pdb, "peer", 1, 2), 0);
	wa_sig_bundle ours = {.registration_id = s->creds->registration_id,
		.signed_prekey_id = s->creds->signed_prekey_id};
	memcpy(ours.identity, s->creds->identity_pub, 32);
	memcpy(ours.signed_prekey, s->creds->signed_prekey_pub, 32);
	memcpy(ours.signed_prekey_sig, s->creds->signed_prekey_sig, 64);
	CHECK_EQ_INT(wa_sig_session_from_bundle(p.sig, "15550001111", 2, &ours), 0);
	for (int i = 0; i < N_CT; i++) {
		uint8_t *pt = NULL, *ct = NULL;
		size_t pl = 0, cl = 0;
		enum wa_sig_msg_type ty;
		char text[32], id[32];
		snprintf(text, sizeof text, "offline %d", i);
		snprintf(id, sizeof id, "OFF%03d", i);
		CHECK_EQ_INT(wa_msg_build_text(text, NULL, NULL, 0, NULL, &pt, &pl), 0);
		CHECK_EQ_INT(wa_sig_encrypt(p.sig, "15550001111", 2, pt, pl, &ty, &ct, &cl), 0);
		CHECK(i == 0 ? ty == WA_SIG_TYPE_PKMSG : 1);
		stanzas[i] = message(id, ty, ct, cl);
		free(pt);
		free(ct);
	}
	test_peer_close(&p);
	close_client(st, s);
}

/* Crash before the group commit: a child drains 3 messages and dies with
 * the group open; nothing of it may survive. */
static void test_crash(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		wa_store *st = NULL;
		wa_session *s = NULL;
		if (open_client(&st, &s) != 0)
			_exit(2);
		for (int i = 0; i < 3; i++)
			if (wa_session_dispatch(s, stanzas[i]) != 0)
				_exit(3);
		if (n_msg_ev != 3 || !wa_store_group_active(st) || wa_drain_waiting(wa_msg_drain(s)) != 3)
			_exit(4);
		_exit(0); /* the crash: no flush, no close */
	}
	int status = 0;
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	for (int i = 0; i < 3; i++) {
		char id[32];
		snprintf(id, sizeof id, "OFF%03d", i);
		CHECK_EQ_INT(durable_status(id), -1);
	}
}

int main(void)
{
	char dir[] = "/tmp/wa_test_drain.XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	snprintf(db, sizeof db, "%s/c.db", dir);
	snprintf(pdb, sizeof pdb, "%s/p.db", dir);
	test_rand_seed(11);
	if (getenv("WA_TEST_DEBUG"))
		wa_log_set_level(WA_LOG_DEBUG);
	setup();
	test_crash();

	/* after the "restart": the same stanzas decrypt (no ratchet step or
	 * pre-key use survived the crash), in one group */
	wa_store *st = NULL;
	wa_session *s = NULL;
	CHECK_EQ_INT(open_client(&st, &s), 0);
	if (!s)
		return check_exit("session_drain");
	n_msg_ev = 0;
	for (int i = 0; i < 5; i++)
		CHECK_EQ_INT(wa_session_dispatch(s, stanzas[i]), 0);
	CHECK_EQ_INT(n_msg_ev, 5);
	CHECK(wa_store_group_active(st));
	CHECK_EQ_INT(wa_drain_waiting(wa_msg_drain(s)), 5);
	/* visible to this connection, not yet ACKED (no receipt went out) */
	wa_store_msg_row *row = NULL;
	CHECK_EQ_INT(wa_store_msg_load(st, iid, PEER_CHAT, "OFF004", false, &row), 0);
	if (row)
		CHECK_EQ_INT(row->status, WA_STORE_MSG_RECEIVED);
	wa_store_msg_row_free(row);
	/* not durable */
	CHECK_EQ_INT(durable_status("OFF000"), -1);
	CHECK_EQ_INT(durable_status("OFF004"), -1);

	/* a send writes its outbox row: the group commits first */
	char *id = NULL;
	CHECK_EQ_INT(wa_session_send_text(s, "15550002222", "reply", NULL, &id), 0);
	CHECK(!wa_store_group_active(st));
	CHECK_EQ_INT(wa_drain_waiting(wa_msg_drain(s)), 0);
	for (int i = 0; i < 5; i++) {
		char mid[32];
		snprintf(mid, sizeof mid, "OFF%03d", i);
		CHECK_EQ_INT(durable_status(mid), WA_STORE_MSG_ACKED);
	}
	CHECK(id && durable_status(id) == WA_STORE_MSG_PENDING); /* the reply's own row */
	free(id);

	/* a redelivered stanza is answered from the row, nothing new emitted */
	CHECK_EQ_INT(wa_session_dispatch(s, stanzas[2]), 0);
	CHECK_EQ_INT(n_msg_ev, 5);

	/* WA_DRAIN_MAX messages commit by themselves */
	for (int i = 5; i < 5 + (int)WA_DRAIN_MAX; i++) {
		CHECK_EQ_INT(wa_session_dispatch(s, stanzas[i]), 0);
		CHECK(wa_store_group_active(st) == (i < 4 + (int)WA_DRAIN_MAX));
	}
	char last[32];
	snprintf(last, sizeof last, "OFF%03d", 4 + (int)WA_DRAIN_MAX);
	CHECK_EQ_INT(durable_status(last), WA_STORE_MSG_ACKED);
	/* a burst that pauses: the idle timer is armed and commits the group */
	CHECK_EQ_INT(wa_session_dispatch(s, stanzas[5 + WA_DRAIN_MAX]), 0);
	CHECK(wa_store_group_active(st));
	CHECK(last_idle && last_idle->ms == WA_DRAIN_IDLE_MS);
	if (last_idle && last_idle->ms) {
		last_idle->ms = 0;
		last_idle->fn(last_idle->user);
	}
	CHECK(!wa_store_group_active(st));
	snprintf(last, sizeof last, "OFF%03d", 5 + (int)WA_DRAIN_MAX);
	CHECK_EQ_INT(durable_status(last), WA_STORE_MSG_ACKED);

	/* the next ones open a new group; a single write outside any
	 * transaction (no begin: the statement guard) commits it first */
	CHECK_EQ_INT(wa_session_dispatch(s, stanzas[6 + WA_DRAIN_MAX]), 0);
	CHECK(wa_store_group_active(st));
	snprintf(last, sizeof last, "OFF%03d", 6 + (int)WA_DRAIN_MAX);
	CHECK_EQ_INT(durable_status(last), -1);
	CHECK_EQ_INT(wa_store_contact_save(st, iid, "15550003333@s.whatsapp.net", NULL, "x"), 0);
	CHECK(!wa_store_group_active(st));
	CHECK_EQ_INT(durable_status(last), WA_STORE_MSG_ACKED);
	/* and closing the session commits an open group */
	CHECK_EQ_INT(wa_session_dispatch(s, stanzas[7 + WA_DRAIN_MAX]), 0);
	CHECK(wa_store_group_active(st));
	CHECK_EQ_INT(n_msg_ev, 8 + (int)WA_DRAIN_MAX);
	close_client(st, s);
	snprintf(last, sizeof last, "OFF%03d", 7 + (int)WA_DRAIN_MAX);
	CHECK_EQ_INT(durable_status(last), WA_STORE_MSG_ACKED);

	for (int i = 0; i < N_CT; i++)
		wa_node_free(stanzas[i]);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	CHECK(system(cmd) == 0);
	store_backend_cleanup();
	return check_exit("session_drain");
}
