/* Cluster leases and the write fence (wa/store_cluster.h). On SQLite every
 * call is refused (WA_EUNSUPPORTED) and nothing changes. On PostgreSQL two
 * handles of one schema play two nodes: fair-share taking, writes refused
 * for an instance another node holds, refused once the own lease expired,
 * refused after a takeover (the epoch grew), allowed for the new owner;
 * renewal reports the loss; a claim of a held instance fails; the owner's
 * name for the API; release frees every lease at once; an instance without
 * a lease row (a store never run in cluster mode) is not fenced; expiry
 * removes another node's due records; the pacing tables (held sends,
 * bulk jobs) fenced alike, the prune of old sent rows not; the holder's
 * connection state beside its lease, for the other nodes' reads; the
 * settled nodes counted for rebalancing (a lapsed heartbeat starts
 * again); a
 * connection idle inside a transaction for half a lease is ended; a send
 * relayed by any node, listed and moved only by the holder, its NOTIFY
 * received by a listening connection (and marked as its own by the
 * sender's). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "store_backend.h"
#include "store/store.h"
#include "wa/store_cluster.h"
#include "wa/store_daemon.h"
#include "wa/store_pace.h"

static const uint8_t REC[4] = { 1, 2, 3, 4 };

static int put(wa_store *st, int64_t id)
{
	return wa_store_session_save(st, id, "15550001111", 0, REC, sizeof REC);
}

struct seen {
	int64_t id;
	char node[WA_STORE_NODE_MAX], state[WA_STORE_CONN_STATE_MAX];
	int n;
};

static int seen_fn(void *arg, int64_t id, const char *node, const char *state)
{
	struct seen *v = arg;
	v->id = id;
	snprintf(v->node, sizeof v->node, "%s", node);
	snprintf(v->state, sizeof v->state, "%s", state);
	v->n++;
	return 0;
}

/* the one instance's holder and state as any node reads them */
static bool state_is(wa_store *st, int64_t id, const char *node, const char *state)
{
	struct seen v = { 0 };
	return wa_store_cluster_states(st, id, seen_fn, &v) == 0 && v.n == 1 && v.id == id && !strcmp(v.node, node) &&
	       !strcmp(v.state, state);
}

struct notes {
	int n, self;
	char channel[64], payload[64];
};

static void note_fn(void *arg, const char *channel, const char *payload, bool self)
{
	struct notes *g = arg;
	g->n++;
	g->self += self;
	snprintf(g->channel, sizeof g->channel, "%s", channel);
	snprintf(g->payload, sizeof g->payload, "%s", payload);
}

/* the notifications that reach st within two seconds (at least want) */
static struct notes wait_n(wa_store *st, int want)
{
	struct notes g = { 0 };
	for (int i = 0; i < 200 && g.n < want; i++) {
		if (wa_store_cluster_notifications(st, note_fn, &g) < 0)
			break;
		if (g.n < want)
			usleep(10 * 1000);
	}
	return g;
}

static struct notes wait_notes(wa_store *st)
{
	return wait_n(st, 1);
}

static bool held(const wa_store_lease *v, size_t n, int64_t id, int64_t epoch)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].instance_id == id && v[i].epoch == epoch)
			return true;
	return false;
}

int main(void)
{
	char path[] = "/tmp/wa_test_store_cluster_XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	unlink(path);
	const char *db = store_backend_path(path);
	wa_store_opts o = { .busy_timeout_ms = 2000 };
	wa_store *a = NULL, *b = NULL;
	CHECK(wa_store_open(db, &o, &a) == 0);
	wa_store_lease *v = NULL;
	size_t n = 0;
	int64_t ep = 0;
	char who[WA_STORE_NODE_MAX];

	if (!store_backend_pg()) {
		CHECK(wa_store_cluster_join(a, "n1", "t1", 1000) == WA_EUNSUPPORTED);
		CHECK(wa_store_cluster_renew(a, "t1", 1000, &v, &n) == WA_EUNSUPPORTED);
		CHECK(wa_store_cluster_acquire(a, "n1", "t1", 1000, 8, &v, &n) == WA_EUNSUPPORTED);
		CHECK(wa_store_cluster_claim(a, 1, "n1", "t1", 1000, &ep) == WA_EUNSUPPORTED);
		CHECK(wa_store_cluster_release(a, "t1", -1) == WA_EUNSUPPORTED);
		CHECK(wa_store_cluster_owner(a, "x", who) == WA_EUNSUPPORTED);
		CHECK(wa_store_cluster_fenced(a) == 0);
		CHECK(wa_store_cluster_set_state(a, "t1", 1, "open") == WA_EUNSUPPORTED);
		CHECK(wa_store_cluster_counts(a, 0, &(int64_t){ 0 }, &(int64_t){ 0 }) == WA_EUNSUPPORTED);
		CHECK(wa_store_cluster_states(a, -1, seen_fn, &(struct seen){ 0 }) == WA_EUNSUPPORTED);
		CHECK(wa_store_cluster_listen(a, "wamd_relay") == WA_EUNSUPPORTED);
		CHECK(wa_store_cluster_socket(a) == -1);
		CHECK(wa_store_cluster_notify(a, "wamd_relay", "1") == WA_EUNSUPPORTED);
		CHECK(wa_store_cluster_notify_many(a, "wamd_relay", "[]") == WA_EUNSUPPORTED);
		CHECK(wa_store_relay_push(a, 1, "3EB0AA", "1@s.whatsapp.net", 0, "{}", "wamd_relay") == WA_EUNSUPPORTED);
		CHECK(wa_store_relay_done(a, 1) == WA_EUNSUPPORTED);
		uint64_t none = 0;
		CHECK(wa_store_relay_push_file(a, 1, "3EB0AA", "1@s.whatsapp.net", 0, "{}", "wamd_relay", 0, 1) ==
		      WA_EUNSUPPORTED);
		CHECK(wa_store_relay_media_get(a, 1, 1, &none) == WA_EUNSUPPORTED);
		wa_store_close(a);
		unlink(path);
		return check_exit("store_cluster");
	}

	CHECK(wa_store_open(db, &o, &b) == 0);
	int64_t x = 0, y = 0, z = 0, w = 0;
	CHECK(wa_store_instance_create(a, "x", &x) == 0 && wa_store_instance_create(a, "y", &y) == 0);
	CHECK(put(a, x) == 0); /* no lease rows yet: not fenced */

	CHECK(wa_store_cluster_join(a, "node-a", "tok-a", 60000) == 0);
	CHECK(wa_store_cluster_join(b, "node-b", "tok-b", 60000) == 0);
	/* both live; neither settled for a minute yet */
	int64_t ni = 0, nn = 0;
	CHECK(wa_store_cluster_counts(a, 0, &ni, &nn) == 0 && ni == 2 && nn == 2);
	CHECK(wa_store_cluster_counts(a, 60000, &ni, &nn) == 0 && ni == 2 && nn == 0);
	/* the first turn gives the instances their (free) rows */
	CHECK(wa_store_cluster_acquire(a, "node-a", "tok-a", 60000, 8, &v, &n) == 0 && n == 0);
	free(v);
	CHECK(put(a, x) != 0); /* a lease row nobody holds: fenced */
	/* two live nodes, two instances: one each */
	CHECK(wa_store_cluster_acquire(a, "node-a", "tok-a", 60000, 8, &v, &n) == 0 && n == 1);
	CHECK(v[0].instance_id == x && v[0].epoch == 1);
	free(v);
	CHECK(wa_store_cluster_acquire(b, "node-b", "tok-b", 60000, 8, &v, &n) == 0 && n == 1);
	CHECK(v[0].instance_id == y && v[0].epoch == 1);
	free(v);
	CHECK(wa_store_cluster_acquire(a, "node-a", "tok-a", 60000, 8, &v, &n) == 0 && n == 0); /* share taken */
	free(v);

	int64_t fa = wa_store_cluster_fenced(a);
	CHECK(put(a, x) == 0);
	CHECK(put(a, y) != 0);
	CHECK(wa_store_cluster_fenced(a) == fa + 1);
	CHECK(put(b, x) != 0 && put(b, y) == 0);
	/* a refused write inside a transaction rolls all of it back */
	CHECK(wa_store_begin(a) == 0);
	CHECK(put(a, x) == 0);
	CHECK(put(a, y) != 0);
	CHECK(wa_store_commit(a) != 0);
	CHECK(wa_store_tx_depth(a) == 0);

	/* a record of b's instance: a may not write it, but any node's expiry
	 * removes it when due */
	wa_store_mrec r = { .key_id = "K1", .remote_jid = "15550002222@s.whatsapp.net", .message_type = "conversation",
		.timestamp = 100, .record = "{}", .record_len = 2, .expires_at = 200 };
	CHECK(wa_store_msgrec_put(a, y, &r) != 0);
	CHECK(wa_store_msgrec_put(b, y, &r) == 0);
	wa_store_msg m = { .chat_jid = r.remote_jid, .msg_id = "K1", .timestamp = 100, .plaintext = REC,
		.plaintext_len = sizeof REC };
	bool existed = false;
	CHECK(wa_store_msg_insert(a, y, &m, &existed) != 0);
	CHECK(wa_store_msg_insert(b, y, &m, &existed) == 0 && !existed);
	int expired = 0;
	CHECK(wa_store_msgrec_expire(a, 300, 10, &expired) == 0 && expired == 1);
	CHECK(store_backend_pg_int(path, "SELECT count(*) FROM messages WHERE msg_id = 'K1'") == 0);

	/* the pacing tables: held sends, sent-send notes and bulk jobs of y
	 * are written by b only; a's prune still drops y's old sent rows */
	wa_store_pace_row pr = { .key_id = "P1", .jid = "15550002222@s.whatsapp.net", .created_ms = 1,
		.not_before_ms = 5 };
	int64_t seq = 0, seq2 = 0, jrow = 0;
	int64_t fp = wa_store_cluster_fenced(a);
	CHECK(wa_store_pace_put(a, y, &pr, "{}", 2, &seq) != 0);
	CHECK(wa_store_pace_put(b, y, &pr, "{}", 2, &seq) == 0);
	CHECK(wa_store_pace_note(a, y, pr.jid, false, 10) != 0);
	CHECK(wa_store_pace_note(b, y, pr.jid, false, 10) == 0);
	CHECK(wa_store_pace_released(a, seq, 20) != 0);
	CHECK(wa_store_pace_set_first(a, seq, true) != 0);
	CHECK(wa_store_pace_delete(a, seq) != 0);
	CHECK(wa_store_pace_find(b, y, "P1", &seq2) == 0 && seq2 == seq);
	CHECK(wa_store_pace_prune(a, 100) == 0);
	CHECK(store_backend_pg_int(path, "SELECT count(*) FROM wamd_pace WHERE state = 1") == 0);
	wa_store_pace_job pj = { .key = "J1", .total = 2, .created_ms = 1 };
	CHECK(wa_store_pace_job_put(a, y, &pj, "{}", 2, &jrow) != 0);
	CHECK(wa_store_pace_job_put(b, y, &pj, "{}", 2, &jrow) == 0);
	pj.row = jrow;
	pj.next = 1;
	CHECK(wa_store_pace_job_update(a, &pj) != 0);
	CHECK(wa_store_cluster_fenced(a) == fp + 7); /* each refused by the fence */
	CHECK(store_backend_pg_int(path, "SELECT count(*) FROM wamd_pace_jobs WHERE next_index = 1") == 0);
	CHECK(wa_store_pace_job_update(b, &pj) == 0 && wa_store_pace_delete(b, seq) == 0);
	/* our own pending app-state mutations of y: b's alone, both ways */
	uint8_t iv[WA_STORE_APP_IV_LEN] = {0};
	wa_store_as_pending ap = { .name = "regular", .index_json = "[]", .value = iv, .value_len = 1, .api = 2,
		.iv = iv };
	int64_t prow = 0, fq = wa_store_cluster_fenced(a);
	CHECK(wa_store_app_state_pending_add(a, y, &ap, &prow) != 0);
	CHECK(wa_store_app_state_pending_add(b, y, &ap, &prow) == 0);
	CHECK(wa_store_app_state_pending_del(a, y, prow) != 0);
	CHECK(wa_store_cluster_fenced(a) == fq + 2);
	CHECK(wa_store_app_state_pending_del(b, y, prow) == 0);
	CHECK(store_backend_pg_int(path, "SELECT count(*) FROM app_state_pending") == 0);

	CHECK(wa_store_cluster_owner(b, "x", who) == 0 && strcmp(who, "node-a") == 0);
	CHECK(wa_store_cluster_owner(b, "nope", who) == WA_ENOTFOUND);

	/* a's lease (and heartbeat) run out: it writes nothing, b takes x */
	CHECK(wa_store_cluster_renew(a, "tok-a", 1, &v, &n) == 0 && n == 1 && held(v, n, x, 1));
	free(v);
	usleep(30 * 1000);
	CHECK(put(a, x) != 0);
	CHECK(wa_store_cluster_owner(b, "x", who) == WA_ENOTFOUND);
	CHECK(wa_store_cluster_acquire(b, "node-b", "tok-b", 60000, 8, &v, &n) == 0 && n == 1);
	CHECK(v[0].instance_id == x && v[0].epoch == 2);
	free(v);
	CHECK(put(b, x) == 0);
	/* a wakes: its renewal no longer returns x; its writes stay refused */
	CHECK(wa_store_cluster_renew(a, "tok-a", 60000, &v, &n) == 0 && n == 0);
	free(v);
	CHECK(put(a, x) != 0);
	/* a's heartbeat had lapsed: it is live again, settled only from now */
	CHECK(wa_store_cluster_counts(b, 0, &ni, &nn) == 0 && nn == 2);
	CHECK(wa_store_cluster_counts(b, 25, &ni, &nn) == 0 && nn == 1);
	CHECK(wa_store_cluster_renew(b, "tok-b", 60000, &v, &n) == 0 && n == 2 && held(v, n, x, 2) && held(v, n, y, 1));
	free(v);

	/* a new instance: its creator claims it in the creating transaction */
	CHECK(wa_store_begin(b) == 0);
	CHECK(wa_store_instance_create(b, "z", &z) == 0);
	CHECK(wa_store_cluster_claim(b, z, "node-b", "tok-b", 60000, &ep) == 0 && ep == 1);
	CHECK(put(b, z) == 0);
	CHECK(wa_store_commit(b) == 0);
	CHECK(wa_store_cluster_claim(a, z, "node-a", "tok-a", 60000, &ep) == WA_EEXIST);

	/* the holder's word on its state, read by any node; only the holder
	 * writes it; a taken lease starts "connecting" */
	CHECK(state_is(a, z, "node-b", "close"));
	CHECK(wa_store_cluster_set_state(b, "tok-b", z, "open") == 0);
	CHECK(wa_store_cluster_set_state(a, "tok-a", z, "close") == 0); /* not a's: no row changes */
	CHECK(state_is(a, z, "node-b", "open"));
	CHECK(state_is(b, x, "node-b", "connecting"));
	struct seen all = { 0 };
	CHECK(wa_store_cluster_states(a, -1, seen_fn, &all) == 0 && all.n == 3 && all.id == z); /* id order */
	CHECK(wa_store_cluster_set_state(b, "tok-b", z, "") == WA_EINVAL);

	/* release (SIGTERM): free at once; a takes all three (b's node row gone) */
	CHECK(wa_store_cluster_release(b, "tok-b", -1) == 0);
	CHECK(put(b, x) != 0);
	CHECK(wa_store_cluster_owner(a, "z", who) == WA_ENOTFOUND);
	CHECK(state_is(a, z, "", "")); /* nobody holds it now */
	CHECK(wa_store_cluster_acquire(a, "node-a", "tok-a", 60000, 8, &v, &n) == 0 && n == 3);
	CHECK(held(v, n, x, 3) && held(v, n, y, 2) && held(v, n, z, 2));
	free(v);
	CHECK(put(a, x) == 0 && put(a, y) == 0 && put(a, z) == 0);
	/* b's renewal does not bring a released lease back */
	CHECK(wa_store_cluster_renew(b, "tok-b", 60000, &v, &n) == 0 && n == 0);
	free(v);

	/* no lease row: a write is not fenced (deleting the instance drops its row) */
	CHECK(wa_store_instance_create(b, "w", &w) == 0);
	CHECK(store_backend_pg_exec(path, "DELETE FROM wamd_leases WHERE instance_id = (SELECT id FROM instances WHERE name = 'w')"));
	CHECK(put(b, w) == 0);
	CHECK(wa_store_instance_delete(a, x) == 0);
	CHECK(store_backend_pg_int(path, "SELECT count(*) FROM wamd_leases") == 2);

	/* a send any node accepted for y (a holds it now): b writes it, a is
	 * woken, only a lists and moves it */
	CHECK(wa_store_cluster_listen(a, "wamd_relay") == 0 && wa_store_cluster_listen(a, "wamd_events") == 0);
	CHECK(wa_store_cluster_listen(b, "wamd_events") == 0);
	CHECK(wa_store_cluster_listen(a, "Bad-Name") == WA_EINVAL && wa_store_cluster_listen(a, "x; DROP") == WA_EINVAL);
	CHECK(wa_store_cluster_socket(a) >= 0);
	CHECK(wa_store_relay_push(b, y, "3EB0RELAY1", "15550002222@s.whatsapp.net", 0, "{\"kind\":\"text\"}",
				  "wamd_relay") == 0);
	struct notes g = wait_notes(a);
	char yid[32];
	snprintf(yid, sizeof yid, "%lld", (long long)y);
	CHECK(g.n == 1 && g.self == 0 && !strcmp(g.channel, "wamd_relay") && !strcmp(g.payload, yid));
	wa_store_relay_row *rr = NULL;
	size_t rn = 0;
	CHECK(wa_store_relay_list(b, "tok-b", 8, &rr, &rn) == 0 && rn == 0);
	wa_store_relay_free(rr, rn);
	CHECK(wa_store_relay_list(a, "tok-a", 8, &rr, &rn) == 0 && rn == 1);
	CHECK(rr[0].instance_id == y && !strcmp(rr[0].key_id, "3EB0RELAY1") && rr[0].send_at == 0 &&
	      !strcmp(rr[0].jid, "15550002222@s.whatsapp.net") && !strcmp(rr[0].payload, "{\"kind\":\"text\"}"));
	int64_t fenced0 = wa_store_cluster_fenced(b);
	CHECK(wa_store_relay_done(b, rr[0].seq) != 0); /* not b's to move */
	CHECK(wa_store_cluster_fenced(b) == fenced0 + 1);
	CHECK(wa_store_relay_done(a, rr[0].seq) == 0);
	CHECK(wa_store_relay_done(a, rr[0].seq) == WA_ENOTFOUND);
	wa_store_relay_free(rr, rn);
	/* a media send's file: written with its row in parts, read back whole
	 * by the holder, gone with the row; over the cap nothing is written */
	{
		size_t len = WA_STORE_RELAY_PART + 1000;
		uint8_t *buf = malloc(len);
		CHECK(buf != NULL);
		for (size_t i = 0; buf && i < len; i++)
			buf[i] = (uint8_t)(i * 7 + (i >> 11));
		FILE *f = tmpfile();
		CHECK(f && fwrite(buf, 1, len, f) == len && fflush(f) == 0);
		int ffd = fileno(f);
		CHECK(lseek(ffd, 0, SEEK_SET) == 0);
		CHECK(wa_store_relay_push_file(b, y, "3EB0MEDIA1", "15550002222@s.whatsapp.net", 0, "{}", "wamd_relay", ffd,
					       len - 1) == WA_ETOOBIG);
		CHECK(store_backend_pg_int(path, "SELECT count(*) FROM wamd_relay") == 0);
		CHECK(lseek(ffd, 0, SEEK_SET) == 0);
		CHECK(wa_store_relay_push_file(b, y, "3EB0MEDIA1", "15550002222@s.whatsapp.net", 0, "{}", "wamd_relay", ffd,
					       len) == 0);
		CHECK(store_backend_pg_int(path, "SELECT count(*) FROM wamd_relay_media") == 2);
		CHECK(wa_store_relay_list(a, "tok-a", 8, &rr, &rn) == 0 && rn == 1);
		FILE *out = tmpfile();
		uint64_t got = 0;
		CHECK(out && wa_store_relay_media_get(a, rr[0].seq, fileno(out), &got) == 0 && got == len);
		uint8_t *back = malloc(len);
		CHECK(back && out && fseek(out, 0, SEEK_SET) == 0 && fread(back, 1, len, out) == len &&
		      memcmp(back, buf, len) == 0);
		CHECK(wa_store_relay_done(a, rr[0].seq) == 0);
		CHECK(store_backend_pg_int(path, "SELECT count(*) FROM wamd_relay_media") == 0);
		CHECK(out && wa_store_relay_media_get(a, rr[0].seq, fileno(out), &got) == WA_ENOTFOUND);
		wa_store_relay_free(rr, rn);
		free(back);
		free(buf);
		if (out)
			fclose(out);
		if (f)
			fclose(f);
		(void)wait_notes(a); /* the row's NOTIFY */
	}
	/* an event notification: both listeners get it, the sender's marked */
	CHECK(wa_store_cluster_notify(a, "wamd_events", "id\n{}") == 0);
	g = wait_notes(b);
	CHECK(g.n == 1 && g.self == 0 && !strcmp(g.payload, "id\n{}"));
	g = wait_notes(a);
	CHECK(g.n == 1 && g.self == 1);
	/* many in one statement, in order */
	CHECK(wa_store_cluster_notify_many(a, "wamd_events", "[\"one\", \"two\", \"three\"]") == 0);
	g = wait_n(b, 3);
	CHECK(g.n == 3 && !strcmp(g.payload, "three"));
	g = wait_n(a, 3);
	CHECK(g.n == 3 && g.self == 3);
	char big[WA_STORE_NOTIFY_MAX + 1];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	CHECK(wa_store_cluster_notify(a, "wamd_events", big) == WA_EINVAL);

	/* a node paused inside a transaction: the server ends its session
	 * after half a lease, so it cannot hold the writer lock from the others */
	wa_store *c = NULL;
	CHECK(wa_store_open(db, &o, &c) == 0);
	CHECK(wa_store_cluster_join(c, "node-c", "tok-c", 2000) == 0);
	CHECK(wa_store_begin(c) == 0);
	usleep(1500 * 1000);
	CHECK(wa_store_commit(c) != 0);
	CHECK(wa_store_begin(b) == 0); /* the writer lock is free */
	CHECK(wa_store_commit(b) == 0);
	wa_store_close(c);

	wa_store_close(a);
	wa_store_close(b);
	unlink(path);
	store_backend_cleanup();
	return check_exit("store_cluster");
}
