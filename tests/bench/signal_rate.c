/* Benchmark (issue: crypto and send rate): 1:1 Signal messages per second on
 * one core through src/signal on the SQLite store.
 *   a) one direction: symmetric-ratchet steps only
 *   b) alternating directions: a DH ratchet step every message
 *   c) 10,000 alternating messages: rate over the last 1,000 vs the first
 *      1,000, and the stored session record size at the end
 * Each message = encrypt on one side + decrypt on the other (both on this
 * core), 100-byte plaintext. Two commit policies, printed apart:
 *   per message: every encrypt and every decrypt is its own committed
 *     transaction, as the session layer does for a live message;
 *   batched: GROUP messages per transaction on each side (each wa_sig call
 *     then runs as a savepoint inside it), as an offline-queue drain can do
 *     when its receipts go out after the one commit.
 * Also: X25519 operations per alternating message (curve_fast.c counter),
 * and the rate those three operations alone allow (two variable-base, one
 * base-point, timed in the same run): the alternating rate as a share of
 * it is what the rest of a DH-step message costs. And the CPU of one
 * sender-key (group) message.
 * With WA_TEST_PG_URI set (run under tests/unit/store_pg.py, a private
 * server on a unix socket) a third store, "postgres": both sides in that
 * database, each its own store connection, as two wamd instances there
 * (one commit per message only: the batched mode's two open transactions
 * would wait on each other for the schema's writer lock).
 * Prints a table; writes JSON to argv[1] if given.
 * usage: bench_signal_rate [out.json] [n_alternating=10000] [n_one_way=20000] [group=100] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../signal/peer.h"
#include "signal/curve_fast.h"

/* the process's CPU time; for the postgres store the wall clock, since
 * each statement waits on the server process (its CPU, the round trip) */
static clockid_t rate_clock = CLOCK_PROCESS_CPUTIME_ID;

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(rate_clock, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "bench_signal_rate: %s: %s\n", what, wa_strerror(rc));
	exit(1);
}

/* One message from -> to: encrypt, decrypt, check the plaintext. */
static void one_message(test_peer *from, const char *from_name, test_peer *to, const char *to_name)
{
	static uint8_t pt[100];
	static unsigned counter;
	counter++;
	memcpy(pt, &counter, sizeof counter);
	enum wa_sig_msg_type type;
	uint8_t *ct = NULL, *back = NULL;
	size_t ct_len, back_len;
	int rc = wa_sig_encrypt(from->sig, to_name, 0, pt, sizeof pt, &type, &ct, &ct_len);
	if (rc)
		die("encrypt", rc);
	rc = wa_sig_decrypt(to->sig, from_name, 0, type, ct, ct_len, &back, &back_len);
	if (rc)
		die("decrypt", rc);
	if (back_len != sizeof pt || memcmp(back, pt, sizeof pt) != 0) {
		fprintf(stderr, "bench_signal_rate: plaintext mismatch\n");
		exit(1);
	}
	free(ct);
	free(back);
}

struct setup {
	test_peer a, b;
	char dir[64];
};

static void setup_pair(struct setup *s, const char *mode)
{
	char pa[1024], pb[1024];
	/* the store as wamd opens it (store_exclusive, its default): the
	 * WAL index in heap memory, no fcntl lock per transaction */
	static const wa_store_opts xo = { .exclusive = true };
	const wa_store_opts *o = &xo;
	if (strcmp(mode, "postgres") == 0) {
		/* two connections to one database: shared, as cluster nodes */
		const char *uri = getenv("WA_TEST_PG_URI");
		snprintf(pa, sizeof pa, "%s", uri);
		snprintf(pb, sizeof pb, "%s", uri);
		s->dir[0] = '\0';
		o = NULL;
	} else {
		/* the store needs WAL, so no :memory: database: tmpfs shows the
		 * cost without the disk */
		snprintf(s->dir, sizeof s->dir, "%s/wa-bench-sig-XXXXXX",
			 strcmp(mode, "tmpfs") == 0 ? "/dev/shm" : "/tmp");
		if (!mkdtemp(s->dir)) {
			perror("mkdtemp");
			exit(1);
		}
		snprintf(pa, sizeof pa, "%s/a.db", s->dir);
		snprintf(pb, sizeof pb, "%s/b.db", s->dir);
	}
	int rc = test_peer_create_opts(&s->a, pa, o, "alice", 100, 4);
	if (!rc)
		rc = test_peer_create_opts(&s->b, pb, o, "bob", 200, 4);
	if (rc)
		die("peer create", rc);
	wa_sig_bundle bb;
	test_peer_bundle(&s->b, 1, &bb);
	rc = wa_sig_session_from_bundle(s->a.sig, "bob", 0, &bb);
	if (rc)
		die("session from bundle", rc);
	/* pkmsg, then a reply: both sides have a full session */
	one_message(&s->a, "alice", &s->b, "bob");
	one_message(&s->b, "bob", &s->a, "alice");
}

static void teardown_pair(struct setup *s)
{
	if (!s->dir[0]) {
		/* one database for every run: the next pair's names are free again */
		if (wa_store_instance_delete(s->a.st, s->a.inst) != 0 || wa_store_instance_delete(s->b.st, s->b.inst) != 0)
			die("instance delete", WA_EDB);
		test_peer_close(&s->a);
		test_peer_close(&s->b);
		return;
	}
	test_peer_close(&s->a);
	test_peer_close(&s->b);
	char cmd[160];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", s->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_signal_rate: could not remove %s\n", s->dir);
}

struct result {
	double one_way, alternating, early, late, late_ratio;
	size_t record_len;
	double x25519_per_msg;
};

/* Opens a transaction on both stores every `group` messages (group > 1). */
static void group_edge(struct setup *s, int i, int group, int n)
{
	if (group <= 1)
		return;
	if (i > 0 && (i % group == 0 || i == n)) {
		int rc = wa_store_commit(s->a.st);
		if (!rc)
			rc = wa_store_commit(s->b.st);
		if (rc)
			die("group commit", rc);
	}
	if (i < n && i % group == 0) {
		int rc = wa_store_begin(s->a.st);
		if (!rc)
			rc = wa_store_begin(s->b.st);
		if (rc)
			die("group begin", rc);
	}
}

static void run_mode(const char *mode, int n_alt, int n_one, int group, struct result *r)
{
	struct setup s;

	rate_clock = strcmp(mode, "postgres") == 0 ? CLOCK_MONOTONIC : CLOCK_PROCESS_CPUTIME_ID;
	setup_pair(&s, mode);
	double t0 = cpu_now();
	for (int i = 0; i < n_one; i++) {
		group_edge(&s, i, group, n_one);
		one_message(&s.a, "alice", &s.b, "bob");
	}
	group_edge(&s, n_one, group, n_one);
	r->one_way = n_one / (cpu_now() - t0);
	teardown_pair(&s);

	setup_pair(&s, mode);
	int window = n_alt >= 2000 ? 1000 : n_alt / 2;
	unsigned long x0 = wa_sig_curve_fast_calls();
	double start = cpu_now(), early_end = 0, late_start = 0;
	for (int i = 0; i < n_alt; i++) {
		if (i == window)
			early_end = cpu_now();
		if (i == n_alt - window)
			late_start = cpu_now();
		group_edge(&s, i, group, n_alt);
		if (i % 2 == 0)
			one_message(&s.a, "alice", &s.b, "bob");
		else
			one_message(&s.b, "bob", &s.a, "alice");
	}
	group_edge(&s, n_alt, group, n_alt);
	double end = cpu_now();
	r->x25519_per_msg = (double)(wa_sig_curve_fast_calls() - x0) / n_alt;
	r->alternating = n_alt / (end - start);
	r->early = window / (early_end - start);
	r->late = window / (end - late_start);
	r->late_ratio = r->late / r->early;
	uint8_t *rec;
	size_t len;
	int rc = wa_store_session_load(s.a.st, s.a.inst, "bob", 0, &rec, &len);
	if (rc)
		die("session load", rc);
	r->record_len = len;
	wa_store_free(rec, len);
	teardown_pair(&s);
	rate_clock = CLOCK_PROCESS_CPUTIME_ID;
}

/* CPU time of n X25519 scalar multiplications as libsignal issues them
 * (through curve25519_donna), microseconds each: variable base, base point. */
static void x25519_cost(double *var_us, double *base_us)
{
	uint8_t k[32], pub[32], out[32];
	static const uint8_t nine[32] = { 9 };
	for (int i = 0; i < 32; i++)
		k[i] = (uint8_t)(i * 7 + 1);
	k[0] &= 248;
	k[31] = (k[31] & 127) | 64;
	curve25519_donna(pub, k, nine);
	const int n = 2000;
	double t0 = cpu_now();
	for (int i = 0; i < n; i++)
		curve25519_donna(out, k, pub);
	double t1 = cpu_now();
	for (int i = 0; i < n; i++)
		curve25519_donna(out, k, nine);
	double t2 = cpu_now();
	*var_us = (t1 - t0) / n * 1e6;
	*base_us = (t2 - t1) / n * 1e6;
}

static double dh_bound; /* messages/s the three X25519 of a DH step allow */

/* CPU time of one sender-key (group) message as a warm group send makes
 * it, microseconds: wa_sig_group_encrypt in its own committed transaction
 * on tmpfs (the chain step, the XEdDSA signature, the record read and
 * written), 100-byte plaintext. */
static double sender_key_cost(void)
{
	struct setup s;
	setup_pair(&s, "tmpfs");
	uint8_t pt[100] = { 1 }, *out = NULL;
	size_t len = 0;
	int rc = wa_sig_group_skdm(s.a.sig, "120363000000000001@g.us", "alice", 0, &out, &len);
	if (rc)
		die("skdm", rc);
	free(out);
	const int n = 2000;
	double t0 = cpu_now();
	for (int i = 0; i < n; i++) {
		rc = wa_store_begin(s.a.st);
		if (!rc)
			rc = wa_sig_group_encrypt(s.a.sig, "120363000000000001@g.us", "alice", 0, pt, sizeof pt, &out, &len);
		if (!rc)
			rc = wa_store_commit(s.a.st);
		if (rc)
			die("sender-key encrypt", rc);
		free(out);
	}
	double us = (cpu_now() - t0) / n * 1e6;
	teardown_pair(&s);
	return us;
}

static void json_modes(FILE *f, const char *const modes[], const struct result res[], int n)
{
	for (int m = 0; m < n; m++)
		fprintf(f, "%s\"%s\":{\"one_way_per_s\":%.0f,\"alternating_per_s\":%.0f,"
			"\"first_1k_per_s\":%.0f,\"last_1k_per_s\":%.0f,\"late_over_early\":%.3f,"
			"\"session_record_bytes\":%zu,\"x25519_per_alternating_msg\":%.2f,"
			"\"alternating_over_x25519_bound\":%.3f}", m ? "," : "", modes[m],
			res[m].one_way, res[m].alternating, res[m].early, res[m].late, res[m].late_ratio,
			res[m].record_len, res[m].x25519_per_msg, res[m].alternating / dh_bound);
}

static void print_table(const char *title, const char *const modes[], const struct result res[], int n)
{
	printf("%s\n", title);
	printf("%-8s %14s %14s %12s %12s %10s %12s %8s %9s\n", "store", "one-way msg/s", "alternating/s",
	       "first 1k/s", "last 1k/s", "late/early", "record bytes", "X25519", "of bound");
	for (int m = 0; m < n; m++)
		printf("%-8s %14.0f %14.0f %12.0f %12.0f %10.2f %12zu %8.2f %8.0f%%\n", modes[m], res[m].one_way,
		       res[m].alternating, res[m].early, res[m].late, res[m].late_ratio, res[m].record_len,
		       res[m].x25519_per_msg, 100 * res[m].alternating / dh_bound);
}

int main(int argc, char **argv)
{
	const char *json_path = argc > 1 ? argv[1] : NULL;
	int n_alt = argc > 2 ? atoi(argv[2]) : 10000;
	int n_one = argc > 3 ? atoi(argv[3]) : 20000;
	int group = argc > 4 ? atoi(argv[4]) : 100;
	if (n_alt < 4 || n_one < 1 || group < 2) {
		fprintf(stderr, "usage: bench_signal_rate [out.json] [n_alternating>=4] [n_one_way>=1] [group>=2]\n");
		return 2;
	}
	test_rand_seed(42);
	if (!wa_sig_curve_fast_active())
		fprintf(stderr, "bench_signal_rate: libsodium X25519 is NOT active (curve_fast.c)\n");

	static const char *const modes[] = { "disk", "tmpfs", "postgres" };
	int n_modes = getenv("WA_TEST_PG_URI") ? 3 : 2;
	struct result res[3], bat[3];
	/* batched: SQLite only; on PostgreSQL both sides' open transactions
	 * would wait on each other for the schema's one writer lock */
	for (int m = 0; m < n_modes; m++) {
		run_mode(modes[m], n_alt, n_one, 1, &res[m]);
		if (m < 2)
			run_mode(modes[m], n_alt, n_one, group, &bat[m]);
	}
	double var_us, base_us;
	x25519_cost(&var_us, &base_us);
	dh_bound = 1e6 / (2 * var_us + base_us);
	double sk_us = sender_key_cost();

	print_table("wamd (libsignal-protocol-c + SQLite, one core; msg = encrypt + decrypt, one commit per "
		    "message on each side; postgres: wall clock, the server on the same machine)", modes, res, n_modes);
	char title[160];
	snprintf(title, sizeof title, "wamd batched: %d messages per transaction on each side (offline-queue drain)",
		 group);
	print_table(title, modes, bat, 2);
	printf("X25519 (libsodium via curve25519_donna): %.1f us variable base, %.1f us base point; "
	       "a DH step's three alone allow %.0f msg/s (\"of bound\" above)\n", var_us, base_us, dh_bound);
	printf("sender-key message (group encrypt + signature, one commit, tmpfs): %.1f us\n", sk_us);

	if (json_path) {
		FILE *f = fopen(json_path, "w");
		if (!f) {
			perror(json_path);
			return 1;
		}
		fprintf(f, "{\"impl\":\"wamd\",\"n_alternating\":%d,\"n_one_way\":%d,\"group\":%d,"
			"\"x25519_us\":%.2f,\"x25519_base_us\":%.2f,\"x25519_bound_per_s\":%.0f,\"sender_key_msg_us\":%.2f,"
			"\"modes\":{", n_alt, n_one, group, var_us, base_us, dh_bound, sk_us);
		json_modes(f, modes, res, n_modes);
		fprintf(f, "},\"batched\":{");
		json_modes(f, modes, bat, 2);
		fprintf(f, "}}\n");
		fclose(f);
	}
	return 0;
}
