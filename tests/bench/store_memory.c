/* bench_store_memory: memory per idle instance for the two store layouts the
 * daemon could use, to decide between them (DESIGN.md, "Daemon -> tenants"):
 *   per-file: one SQLite file and one connection per instance;
 *   shared:   one file with N instance rows behind one connection.
 * Each layout runs in a forked child so RSS starts from the same baseline.
 * Every instance gets creds, 50 pre-keys, a signed pre-key, 4 sessions and 4
 * identity keys, then sits idle while we read VmRSS from /proc/self/status
 * and sqlite3_memory_used().
 * Usage: bench_store_memory [out.json] [n_instances]   (default 1000).
 * Figures mean something only in a build without sanitizers. */
#include <dirent.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"

#define N_PREKEYS 50
#define N_SESSIONS 4
#define PREKEY_RECORD_LEN 75    /* PreKeyRecordStructure: id + 33-byte pub + 32-byte priv */
#define SIGNED_PREKEY_LEN 150   /* + signature and timestamp */
#define SESSION_RECORD_LEN 1200 /* one current state with a few receiving chains */

enum layout { PER_FILE, SHARED };

struct config {
	const char *name;
	enum layout layout;
	int cache_kib; /* 0 = store default */
	bool release;  /* wa_store_release_memory on every idle instance */
	bool low_memory;
};

struct result {
	int ok;
	long rss_base_kib, rss_idle_kib;
	long long sqlite_base, sqlite_idle, sqlite_high;
	int fds;
	double open_write_s;
	long long disk_bytes;
};

static const struct config configs[] = {
	{ "per-file, default cache (2 MiB)", PER_FILE, 0, false },
	{ "per-file, cache 64 KiB", PER_FILE, 64, false },
	{ "per-file, cache 64 KiB + release", PER_FILE, 64, true },
	/* low_memory also turns off the lookaside allocator, but Debian's
	 * libsqlite3 is built with SQLITE_OMIT_LOOKASIDE, so there it equals the
	 * row above. */
	{ "per-file, low_memory + release", PER_FILE, 0, true, true },
	{ "shared file, default cache (2 MiB)", SHARED, 0, false },
	{ "shared file, cache 8 MiB", SHARED, 8192, false },
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static void rnd(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		rng_state ^= rng_state << 13;
		rng_state ^= rng_state >> 7;
		rng_state ^= rng_state << 17;
		p[i] = (uint8_t)rng_state;
	}
}

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "VmRSS: %ld kB", &v) == 1)
			break;
	if (f)
		fclose(f);
	return v;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	if (d)
		closedir(d);
	return n - 1; /* the DIR's own fd */
}

static long long dir_bytes(const char *dir)
{
	DIR *d = opendir(dir);
	long long sum = 0;
	struct dirent *e;
	char p[1024];
	struct stat sb;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		if (stat(p, &sb) == 0)
			sum += sb.st_size;
	}
	if (d)
		closedir(d);
	return sum;
}

static void rm_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[1024];
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Writes one instance's realistic pairing-time data in one transaction. */
static int populate(wa_store *st, int64_t inst, int i)
{
	wa_store_creds c;
	memset(&c, 0, sizeof c);
	rnd(c.noise_pub, 32);
	rnd(c.noise_priv, 32);
	rnd(c.identity_pub, 32);
	rnd(c.identity_priv, 32);
	rnd(c.adv_secret, 32);
	rnd(c.signed_prekey_pub, 32);
	rnd(c.signed_prekey_priv, 32);
	rnd(c.signed_prekey_sig, 64);
	c.registration_id = (uint32_t)(i + 1);
	c.signed_prekey_id = 1;
	c.next_prekey_id = N_PREKEYS + 1;
	snprintf(c.me_jid, sizeof c.me_jid, "55119%08d:3@s.whatsapp.net", i);
	snprintf(c.platform, sizeof c.platform, "android");
	snprintf(c.push_name, sizeof c.push_name, "Tenant %d", i);
	c.adv_identity_len = 250;
	rnd(c.adv_identity, c.adv_identity_len);

	uint8_t rec[SESSION_RECORD_LEN];
	int rc = wa_store_begin(st);
	if (rc == 0)
		rc = wa_store_creds_save(st, inst, &c);
	for (uint32_t k = 1; rc == 0 && k <= N_PREKEYS; k++) {
		rnd(rec, PREKEY_RECORD_LEN);
		rc = wa_store_prekey_save(st, inst, k, rec, PREKEY_RECORD_LEN);
	}
	if (rc == 0) {
		rnd(rec, SIGNED_PREKEY_LEN);
		rc = wa_store_signed_prekey_save(st, inst, 1, rec, SIGNED_PREKEY_LEN);
	}
	for (int k = 0; rc == 0 && k < N_SESSIONS; k++) {
		char name[32];
		snprintf(name, sizeof name, "55219%08d", k);
		rnd(rec, SESSION_RECORD_LEN);
		rc = wa_store_session_save(st, inst, name, k % 2, rec, SESSION_RECORD_LEN);
		rnd(rec, 33);
		if (rc == 0)
			rc = wa_store_identity_save(st, inst, name, k % 2, rec, 33, NULL);
	}
	if (rc != 0) {
		(void)wa_store_rollback(st);
		return rc;
	}
	return wa_store_commit(st);
}

static int run_config(const struct config *cfg, int n, struct result *r)
{
	char dir[] = "/tmp/wa_bench_store.XXXXXX";
	if (!mkdtemp(dir))
		return -1;
	wa_store_opts o = { .cache_kib = cfg->cache_kib, .low_memory = cfg->low_memory };
	wa_store **stores = calloc((size_t)n, sizeof *stores);
	if (!stores)
		return -1;
	int rc = 0;
	/* Baseline after the first open: libsqlite3 and libsodium initialised,
	 * so what follows is the cost of instances, not of the libraries. */
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", dir, cfg->layout == SHARED ? "shared.db" : "warmup.db");
	wa_store *first = NULL;
	if (wa_store_open(path, &o, &first) != 0)
		return -1;
	if (cfg->layout == PER_FILE) {
		wa_store_close(first);
		unlink(path);
		first = NULL;
	}
	r->rss_base_kib = rss_kib();
	r->sqlite_base = sqlite3_memory_used();
	double t0 = now_s();
	for (int i = 0; i < n && rc == 0; i++) {
		char name[32];
		snprintf(name, sizeof name, "tenant-%d", i);
		wa_store *st = first;
		if (cfg->layout == PER_FILE) {
			snprintf(path, sizeof path, "%s/%s.db", dir, name);
			rc = wa_store_open(path, &o, &stores[i]);
			if (rc != 0)
				break;
			st = stores[i];
		}
		int64_t inst = 0;
		rc = wa_store_instance_create(st, name, &inst);
		if (rc == 0)
			rc = populate(st, inst, i);
		/* A loaded credential set per instance is what a live tenant keeps in
		 * memory anyway; read one session back so the read path is warm too. */
		uint8_t *p = NULL;
		size_t len = 0;
		if (rc == 0)
			rc = wa_store_session_load(st, inst, "5521900000000", 0, &p, &len);
		wa_store_free(p, len);
		if (rc == 0 && cfg->release)
			wa_store_release_memory(st);
	}
	r->open_write_s = now_s() - t0;
	if (rc == 0 && cfg->release && first)
		wa_store_release_memory(first);
	r->rss_idle_kib = rss_kib();
	r->sqlite_idle = sqlite3_memory_used();
	r->sqlite_high = sqlite3_memory_highwater(0);
	r->fds = count_fds();
	r->disk_bytes = dir_bytes(dir);
	r->ok = rc == 0;
	if (rc != 0)
		fprintf(stderr, "%s: %s\n", cfg->name, wa_errname(rc));
	for (int i = 0; i < n; i++)
		wa_store_close(stores[i]);
	wa_store_close(first);
	free(stores);
	rm_dir(dir);
	return rc == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	const char *json_path = argc > 1 ? argv[1] : NULL;
	int n = argc > 2 ? atoi(argv[2]) : 1000;
	if (n <= 0 || n > 100000) {
		fprintf(stderr, "usage: %s [out.json] [n_instances 1..100000]\n", argv[0]);
		return 2;
	}
	/* per-file keeps ~3 descriptors per instance (db, wal, shm). */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
#if defined(__SANITIZE_ADDRESS__)
	fprintf(stderr, "warning: built with AddressSanitizer; RSS figures are inflated\n");
#endif
	size_t nc = sizeof configs / sizeof configs[0];
	struct result res[sizeof configs / sizeof configs[0]];
	memset(res, 0, sizeof res);
	for (size_t c = 0; c < nc; c++) {
		int fds[2];
		if (pipe(fds) != 0)
			return 1;
		pid_t pid = fork();
		if (pid < 0)
			return 1;
		if (pid == 0) {
			close(fds[0]);
			struct result r;
			memset(&r, 0, sizeof r);
			(void)run_config(&configs[c], n, &r);
			ssize_t w = write(fds[1], &r, sizeof r);
			_exit(w == (ssize_t)sizeof r ? 0 : 1);
		}
		close(fds[1]);
		ssize_t got = read(fds[0], &res[c], sizeof res[c]);
		close(fds[0]);
		int status = 0;
		waitpid(pid, &status, 0);
		if (got != (ssize_t)sizeof res[c])
			res[c].ok = 0;
	}

	printf("store memory, %d idle instances (creds, %d pre-keys, 1 signed pre-key, %d sessions, %d identities)\n",
		n, N_PREKEYS, N_SESSIONS, N_SESSIONS);
	printf("%-36s %12s %14s %12s %6s %9s %10s\n", "layout", "RSS/inst KiB", "sqlite/inst KiB",
		"RSS total MiB", "fds", "write s", "disk MiB");
	for (size_t c = 0; c < nc; c++) {
		const struct result *r = &res[c];
		if (!r->ok) {
			printf("%-36s failed\n", configs[c].name);
			continue;
		}
		printf("%-36s %12.1f %14.1f %12.1f %6d %9.2f %10.1f\n", configs[c].name,
			(double)(r->rss_idle_kib - r->rss_base_kib) / n,
			(double)(r->sqlite_idle - r->sqlite_base) / 1024.0 / n,
			(double)(r->rss_idle_kib - r->rss_base_kib) / 1024.0, r->fds, r->open_write_s,
			(double)r->disk_bytes / (1024.0 * 1024.0));
	}
	if (json_path) {
		FILE *f = fopen(json_path, "w");
		if (!f) {
			perror(json_path);
			return 1;
		}
		fprintf(f, "{\n  \"instances\": %d,\n  \"prekeys_per_instance\": %d,\n  \"sessions_per_instance\": %d,\n"
			   "  \"results\": [\n", n, N_PREKEYS, N_SESSIONS);
		for (size_t c = 0; c < nc; c++) {
			const struct result *r = &res[c];
			fprintf(f, "    {\"layout\": \"%s\", \"cache_kib\": %d, \"release\": %s, \"low_memory\": %s, \"ok\": %s, "
				   "\"rss_base_kib\": %ld, \"rss_idle_kib\": %ld, \"rss_per_instance_kib\": %.2f, "
				   "\"sqlite_base_bytes\": %lld, \"sqlite_idle_bytes\": %lld, "
				   "\"sqlite_per_instance_bytes\": %.0f, \"sqlite_highwater_bytes\": %lld, "
				   "\"open_fds\": %d, \"open_and_write_seconds\": %.3f, \"disk_bytes\": %lld}%s\n",
				configs[c].layout == SHARED ? "shared" : "per-file", configs[c].cache_kib,
				configs[c].release ? "true" : "false", configs[c].low_memory ? "true" : "false", r->ok ? "true" : "false", r->rss_base_kib,
				r->rss_idle_kib, (double)(r->rss_idle_kib - r->rss_base_kib) / n, r->sqlite_base,
				r->sqlite_idle, (double)(r->sqlite_idle - r->sqlite_base) / n, r->sqlite_high, r->fds,
				r->open_write_s, r->disk_bytes, c + 1 < nc ? "," : "");
		}
		fprintf(f, "  ]\n}\n");
		fclose(f);
	}
	for (size_t c = 0; c < nc; c++)
		if (!res[c].ok)
			return 1;
	return 0;
}
