/* Benchmark (issue: crypto and send rate): 1:1 Signal messages per second on
 * one core through src/signal on the SQLite store, committed per message as
 * the session layer does.
 *   a) one direction: symmetric-ratchet steps only
 *   b) alternating directions: a DH ratchet step every message
 *   c) 10,000 alternating messages: rate over the last 1,000 vs the first
 *      1,000, and the stored session record size at the end
 * Each message = encrypt on one side + decrypt on the other (both on this
 * core), 100-byte plaintext. Prints a table; writes JSON to argv[1] if given.
 * usage: bench_signal_rate [out.json] [n_alternating=10000] [n_one_way=20000] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../signal/peer.h"

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
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
	char pa[128], pb[128];
	/* the store needs WAL, so no :memory: database: tmpfs shows the cost
	 * without the disk */
	snprintf(s->dir, sizeof s->dir, "%s/wa-bench-sig-XXXXXX",
		 strcmp(mode, "tmpfs") == 0 ? "/dev/shm" : "/tmp");
	if (!mkdtemp(s->dir)) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(pa, sizeof pa, "%s/a.db", s->dir);
	snprintf(pb, sizeof pb, "%s/b.db", s->dir);
	int rc = test_peer_create(&s->a, pa, "alice", 100, 4);
	if (!rc)
		rc = test_peer_create(&s->b, pb, "bob", 200, 4);
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
};

static void run_mode(const char *mode, int n_alt, int n_one, struct result *r)
{
	struct setup s;

	setup_pair(&s, mode);
	double t0 = cpu_now();
	for (int i = 0; i < n_one; i++)
		one_message(&s.a, "alice", &s.b, "bob");
	r->one_way = n_one / (cpu_now() - t0);
	teardown_pair(&s);

	setup_pair(&s, mode);
	int window = n_alt >= 2000 ? 1000 : n_alt / 2;
	double start = cpu_now(), early_end = 0, late_start = 0;
	for (int i = 0; i < n_alt; i++) {
		if (i == window)
			early_end = cpu_now();
		if (i == n_alt - window)
			late_start = cpu_now();
		if (i % 2 == 0)
			one_message(&s.a, "alice", &s.b, "bob");
		else
			one_message(&s.b, "bob", &s.a, "alice");
	}
	double end = cpu_now();
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
}

int main(int argc, char **argv)
{
	const char *json_path = argc > 1 ? argv[1] : NULL;
	int n_alt = argc > 2 ? atoi(argv[2]) : 10000;
	int n_one = argc > 3 ? atoi(argv[3]) : 20000;
	if (n_alt < 4 || n_one < 1) {
		fprintf(stderr, "usage: bench_signal_rate [out.json] [n_alternating>=4] [n_one_way>=1]\n");
		return 2;
	}
	test_rand_seed(42);

	static const char *const modes[] = { "disk", "tmpfs" };
	struct result res[2];
	for (int m = 0; m < 2; m++)
		run_mode(modes[m], n_alt, n_one, &res[m]);

	printf("wamd (libsignal-protocol-c + SQLite, one core; msg = encrypt + decrypt + 2 commits)\n");
	printf("%-8s %14s %14s %12s %12s %10s %12s\n", "store", "one-way msg/s", "alternating/s",
	       "first 1k/s", "last 1k/s", "late/early", "record bytes");
	for (int m = 0; m < 2; m++)
		printf("%-8s %14.0f %14.0f %12.0f %12.0f %10.2f %12zu\n", modes[m], res[m].one_way,
		       res[m].alternating, res[m].early, res[m].late, res[m].late_ratio, res[m].record_len);

	if (json_path) {
		FILE *f = fopen(json_path, "w");
		if (!f) {
			perror(json_path);
			return 1;
		}
		fprintf(f, "{\"impl\":\"wamd\",\"n_alternating\":%d,\"n_one_way\":%d,\"modes\":{", n_alt, n_one);
		for (int m = 0; m < 2; m++)
			fprintf(f, "%s\"%s\":{\"one_way_per_s\":%.0f,\"alternating_per_s\":%.0f,"
				"\"first_1k_per_s\":%.0f,\"last_1k_per_s\":%.0f,\"late_over_early\":%.3f,"
				"\"session_record_bytes\":%zu}", m ? "," : "", modes[m], res[m].one_way,
				res[m].alternating, res[m].early, res[m].late, res[m].late_ratio, res[m].record_len);
		fprintf(f, "}}\n");
		fclose(f);
	}
	return 0;
}
