/* bench_pace_sched [out.json] [instances] [messages]: the send-pacing
 * scheduler's cost (daemon/wamd_pace_sched.c and wamd_pace_limits.c, the
 * code wamd runs) with many instances and a large queue, on simulated
 * time: memory per queued message and per instance, CPU per enqueue, per
 * scheduling decision (heap top, lane pick, window check, record, heap
 * update) and per straight-through admission check (an empty queue: the
 * only cost a send that no limit holds back pays). Half the messages sit
 * on one instance (a bulk job) to show that a decision does not depend on
 * queue lengths. Instances use the shipped defaults for a fresh number.
 * Last, what a send that goes straight through adds in the store (wamd's
 * store options, a file under /tmp): the "never talked to?" lookup and the
 * row that keeps the windows across a restart.
 * Not part of the test suite. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wa/store_pace.h"
#include "wamd_pace_sched.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = 0, res = 0;
	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &res) != 2)
			res = 0;
		fclose(f);
	}
	return res * (sysconf(_SC_PAGESIZE) / 1024);
}

static uint64_t rng = 88172645463325252ull;
static uint64_t xr(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

int main(int argc, char **argv)
{
	const char *out = argc > 1 ? argv[1] : NULL;
	size_t ni = argc > 2 ? strtoul(argv[2], NULL, 10) : 10000;
	size_t nm = argc > 3 ? strtoul(argv[3], NULL, 10) : 1000000;
	const int64_t t0 = 1767600000000LL;
	long rss0 = rss_kib();
	struct pace_inst *ins = calloc(ni, sizeof *ins);
	struct pace_heap H = { 0 };
	if (!ins)
		return 1;
	for (size_t i = 0; i < ni; i++) {
		pace_cfg_defaults(&ins[i].cfg);
		ins[i].cfg.warm_from_ms = t0 - 30 * PACE_DAY_MS; /* warmed up */
	}
	long rss1 = rss_kib();
	/* enqueue: half on instance 0, the rest spread; 200 numbers each,
	 * a number's first message is a first contact */
	double c0 = cpu_s(), w0 = now_s();
	int64_t seq = 0;
	for (size_t k = 0; k < nm; k++) {
		size_t i = (k & 1) ? 0 : 1 + (size_t)(xr() % (ni > 1 ? ni - 1 : 1));
		if (i >= ni)
			i = 0;
		struct pace_msg *m = calloc(1, sizeof *m);
		if (!m)
			return 1;
		m->seq = ++seq;
		m->not_before = t0;
		uint64_t num = xr() % 200;
		m->jh = num + 1;
		m->first = (xr() % 20) == 0; /* 5% first contacts */
		if (pace_inst_add(&ins[i], m) != 0 || pace_inst_update(&H, &ins[i], t0) != 0)
			return 1;
	}
	double enq_cpu = cpu_s() - c0, enq_wall = now_s() - w0;
	long rss2 = rss_kib();
	/* decisions on simulated time */
	size_t decisions = nm < 2000000 ? nm : 2000000;
	size_t done = 0;
	int64_t now = t0;
	uint64_t tick = 0;
	c0 = cpu_s();
	w0 = now_s();
	while (H.n && done < decisions) {
		struct pace_inst *in = H.v[0];
		if (in->ready > now)
			now = in->ready;
		int64_t r;
		struct pace_lane *lane = pace_pick(in, now, &r);
		if (lane && r <= now) {
			struct pace_msg *m = pace_take(in, lane);
			if (pace_record(&in->cfg, &in->st, m->first, now, (uint32_t)xr()) != 0)
				return 1;
			free(m);
			done++;
		}
		in->served = ++tick;
		if (pace_inst_update(&H, in, now) != 0)
			return 1;
	}
	double dec_cpu = cpu_s() - c0, dec_wall = now_s() - w0;
	long rss3 = rss_kib();
	/* straight-through admission: an empty queue, one window check */
	size_t na = 1000000;
	struct pace_inst fresh = { 0 };
	pace_cfg_defaults(&fresh.cfg);
	volatile int64_t sink = 0;
	c0 = cpu_s();
	for (size_t k = 0; k < na; k++)
		sink += pace_next(&fresh.cfg, &ins[k % ni].st, (k & 15) == 0, now);
	double adm_cpu = cpu_s() - c0;
	(void)sink;
	double per_msg = (double)(rss2 - rss1) * 1024.0 / (double)nm;
	double per_inst = (double)(rss1 - rss0) * 1024.0 / (double)ni;
	printf("pace scheduler: %zu instances, %zu queued (half on one instance), shipped defaults\n", ni, nm);
	printf("  memory: %.0f bytes per queued message, %.0f bytes per idle instance, windows after %zu sends: %.0f bytes per instance\n",
	       per_msg, per_inst, done, (double)(rss3 - rss1) * 1024.0 / (double)ni - per_msg * (double)(nm - done) / (double)ni);
	printf("  enqueue: %.0f ns CPU per message (%.2f s wall for all)\n", enq_cpu * 1e9 / (double)nm, enq_wall);
	printf("  decision: %.0f ns CPU per scheduling decision (%zu decisions, %.2f s wall; simulated span %.1f days)\n",
	       dec_cpu * 1e9 / (double)(done ? done : 1), done, dec_wall, (double)(now - t0) / (double)PACE_DAY_MS);
	printf("  admission check (empty queue, send goes straight through): %.0f ns CPU\n", adm_cpu * 1e9 / (double)na);
	printf("  rss: start %ld KiB, instances %ld KiB, queued %ld KiB, after decisions %ld KiB\n", rss0, rss1, rss2, rss3);
	/* the store's share of a straight-through send */
	char dir[] = "/tmp/bench-pace-XXXXXX";
	char path[512];
	double store_us = -1, lookup_us = -1;
	if (mkdtemp(dir)) {
		snprintf(path, sizeof path, "%s/wamd.db", dir);
		wa_store *st = NULL;
		wa_store_opts o = { .exclusive = true };
		int64_t iid = 0;
		if (wa_store_open(path, &o, &st) == 0 && wa_store_instance_create(st, "b", &iid) == 0) {
			/* on the send's path: the lookup; off it, the rows in
			 * one transaction per batch (wamd: every 100 ms) */
			size_t ns = 20000, batch = 20;
			double w = now_s(), wl = 0;
			for (size_t k = 0; k < ns; k += batch) {
				bool fst[64];
				char jid[64];
				double a = now_s();
				for (size_t j = 0; j < batch; j++) {
					snprintf(jid, sizeof jid, "1555%07zu@s.whatsapp.net", (k + j) % 2000);
					bool known = false;
					if (wa_store_pace_known(st, iid, jid, &known) != 0)
						return 1;
					fst[j] = !known;
				}
				wl += now_s() - a;
				if (wa_store_begin(st) != 0)
					return 1;
				for (size_t j = 0; j < batch; j++) {
					snprintf(jid, sizeof jid, "1555%07zu@s.whatsapp.net", (k + j) % 2000);
					if (wa_store_pace_note(st, iid, jid, fst[j], t0 + (int64_t)(k + j)) != 0)
						return 1;
				}
				if (wa_store_commit(st) != 0)
					return 1;
			}
			lookup_us = wl * 1e6 / (double)ns;
			store_us = (now_s() - w) * 1e6 / (double)ns - lookup_us;
		}
		wa_store_close(st);
		char f2[600];
		static const char *const sfx[] = { "", "-wal", "-shm" };
		for (int k = 0; k < 3; k++) {
			snprintf(f2, sizeof f2, "%s%s", path, sfx[k]);
			unlink(f2);
		}
		rmdir(dir);
	}
	printf("  straight-through send, store share: %.1f us wall on its path (\"never talked to?\" lookup), "
	       "%.1f us per send off it (window rows, 20 per transaction)\n", lookup_us, store_us);
	if (out) {
		FILE *f = fopen(out, "w");
		if (f) {
			fprintf(f, "{\"instances\":%zu,\"messages\":%zu,\"bytes_per_message\":%.1f,\"bytes_per_instance\":%.1f,"
				   "\"enqueue_ns\":%.1f,\"decision_ns\":%.1f,\"admission_ns\":%.1f,\"decisions\":%zu,\"straight_lookup_us\":%.1f,\"straight_rows_us\":%.1f}\n",
				ni, nm, per_msg, per_inst, enq_cpu * 1e9 / (double)nm, dec_cpu * 1e9 / (double)(done ? done : 1),
				adm_cpu * 1e9 / (double)na, done, lookup_us, store_us);
			fclose(f);
		}
	}
	for (size_t i = 0; i < ni; i++) {
		pace_inst_clear(&ins[i]);
		pace_state_free(&ins[i].st);
	}
	free(ins);
	free(H.v);
	return 0;
}
