/* What an idle session costs in memory that tests can see without a
 * profiler: its credentials share locked slabs with other sessions' (one
 * mapping per slab) instead of a sodium_malloc each (guard and header pages
 * around every object: three mappings and 8 KiB of RSS per session). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "session/internal.h"
#include "transport/ws.h"

static int f_open(void *ctx, const wa_tr_config *cfg, const wa_tr_events *ev, void *user, void **out)
{
	(void)ctx, (void)cfg, (void)ev, (void)user, (void)out;
	return WA_EIO; /* never started here */
}
static int f_send(void *conn, const uint8_t *p, size_t len)
{
	(void)conn, (void)p, (void)len;
	return WA_ESTATE;
}
static void f_close(void *conn)
{
	(void)conn;
}
static int f_timer_new(void *ctx, wa_timer_fn fn, void *user, void **t_out)
{
	(void)ctx, (void)fn, (void)user;
	*t_out = malloc(1);
	return *t_out ? 0 : WA_ENOMEM;
}
static void f_timer_set(void *t, uint32_t ms)
{
	(void)t, (void)ms;
}
static void f_timer_cancel(void *t)
{
	(void)t;
}
static void f_timer_free(void *t)
{
	free(t);
}
static int64_t f_now(void *ctx)
{
	(void)ctx;
	return 1000;
}
static const wa_tr_driver fake = {f_open, f_send, f_close, f_timer_new, f_timer_set, f_timer_cancel,
	f_timer_free, f_now};

static size_t mappings(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	CHECK(f != NULL);
	size_t n = 0;
	for (int c; f && (c = fgetc(f)) != EOF;)
		n += c == '\n';
	if (f)
		fclose(f);
	return n;
}

static void on_event(wa_session *s, const wa_event *ev, void *user)
{
	(void)s, (void)ev, (void)user;
}

int main(void)
{
	enum { N = 64 };
	char dir[] = "/tmp/wa_test_session_mem.XXXXXX", path[64];
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/s.db", dir);
	wa_store *st;
	CHECK(wa_store_open(path, NULL, &st) == 0);
	int64_t ids[N];
	for (int i = 0; i < N; i++) {
		char name[16];
		snprintf(name, sizeof name, "m%d", i);
		CHECK(wa_store_instance_create(st, name, &ids[i]) == 0);
	}
	/* a first session maps the slab the next ones share */
	wa_session *s[N + 1] = {0};
	wa_session_config cfg = {.store = st, .instance_id = ids[0], .url = "ws://127.0.0.1:1/ws/chat"};
	CHECK(wa_session_new_with_driver(&cfg, &fake, NULL, on_event, NULL, &s[N]) == 0);
	wa_session_free(s[N]);
	CHECK(wa_session_new_with_driver(&cfg, &fake, NULL, on_event, NULL, &s[N]) == 0);
	size_t maps0 = mappings();
	for (int i = 1; i < N; i++) {
		cfg.instance_id = ids[i];
		CHECK(wa_session_new_with_driver(&cfg, &fake, NULL, on_event, NULL, &s[i]) == 0);
	}
	size_t grown = mappings() - maps0;
	if (grown >= N / 4)
		fprintf(stderr, "%d sessions added %zu memory mappings\n", N - 1, grown);
	CHECK(grown < N / 4); /* a slab of ~30 sessions' credentials is a few */
	for (int i = 1; i <= N; i++)
		wa_session_free(s[i]);
	wa_store_close(st);
	char cmd[96];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	CHECK(system(cmd) == 0);
	return check_exit("session_mem");
}
