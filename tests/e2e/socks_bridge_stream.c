/* tests/e2e/socks_bridge_stream.c: the SOCKS bridge under load, without
 * WebSocket on top. The lws loop (main thread) runs the bridge; threads
 * with blocking sockets play a no-auth SOCKS5 server, an echo server behind
 * it, and the client that lws' HTTP proxying would be (CONNECT with a
 * route's token). Phases:
 *   1. a wrong token gets 407;
 *   2. a SOCKS server that never answers: when the client gives up, the
 *      bridge closes its side too (no tunnel left behind);
 *   3. one tunnel, WA_STREAM_BYTES each way, the reader starting late so
 *      the bridge's queues pass WA_BRIDGE_MAX_QUEUED and reading is paused
 *      and resumed;
 *   4. N_PARALLEL tunnels at once, PARALLEL_BYTES each way.
 * Every byte is checked; ASan's leak check covers the bridge's cleanup.
 * Prints the CPU time used. */
#include <arpa/inet.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "transport/socks_bridge.h"
#include "util/codec.h"
#include "wa/wa.h"

#define WA_STREAM_BYTES (6u * 1024 * 1024)
#define READER_DELAY_US 400000
#define N_PARALLEL 16
#define PARALLEL_BYTES (512u * 1024)
#define MAX_THREADS 64

static atomic_int done;
static atomic_int failures;
static int socks_port, echo_port, stall_port, bridge_port;
static char token_addr[128], stall_addr[128];
static atomic_int stall_eof; /* the stalled SOCKS server saw the bridge hang up */

static uint8_t pattern(size_t i)
{
	return (uint8_t)(i * 7 % 251);
}

static int listen_any(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof sa;
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) || listen(fd, 8) ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl))
		return -1;
	*port = ntohs(sa.sin_port);
	return fd;
}

static int dial(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int read_full(int fd, void *p, size_t n)
{
	for (size_t got = 0; got < n;) {
		ssize_t r = read(fd, (char *)p + got, n - got);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

static int write_full(int fd, const void *p, size_t n)
{
	for (size_t put = 0; put < n;) {
		ssize_t w = write(fd, (const char *)p + put, n - put);
		if (w <= 0)
			return -1;
		put += (size_t)w;
	}
	return 0;
}

static void relay(int a, int b)
{
	char buf[16384];
	for (;;) {
		ssize_t r = read(a, buf, sizeof buf);
		if (r <= 0 || write_full(b, buf, (size_t)r))
			break;
	}
	shutdown(b, SHUT_WR);
}

struct pair { int a, b; };

static void *relay_thread(void *arg)
{
	struct pair *p = arg;
	relay(p->a, p->b);
	return NULL;
}

/* One no-auth SOCKS5 connection to 127.0.0.1:echo_port, then relay. */
static void *socks_conn(void *arg)
{
	int c = (int)(intptr_t)arg;
	uint8_t b[300];
	if (read_full(c, b, 2) || read_full(c, b + 2, b[1]) || write_full(c, "\x05\x00", 2) ||
	    read_full(c, b, 5)) {
		failures++;
		close(c);
		return NULL;
	}
	size_t rest = b[3] == 1 ? 4 + 2 - 1 : b[3] == 3 ? (size_t)b[4] + 2 : 0;
	int u = -1;
	if (!rest || read_full(c, b + 5, rest) || (u = dial(echo_port)) < 0) {
		failures++;
		close(c);
		return NULL;
	}
	static const uint8_t ok[10] = {5, 0, 0, 1, 0, 0, 0, 0, 0, 0};
	if (write_full(c, ok, sizeof ok) == 0) {
		struct pair back = {u, c};
		pthread_t t;
		pthread_create(&t, NULL, relay_thread, &back);
		relay(c, u);
		pthread_join(t, NULL);
	}
	close(u);
	close(c);
	return NULL;
}

static void *echo_conn(void *arg)
{
	int c = (int)(intptr_t)arg;
	relay(c, c);
	close(c);
	return NULL;
}

struct server {
	int lfd;
	void *(*conn)(void *);
	pthread_t threads[MAX_THREADS];
	int n;
};

/* Accepts until the listener is shut down, a thread per connection. */
static void *accept_loop(void *arg)
{
	struct server *sv = arg;
	for (;;) {
		int c = accept(sv->lfd, NULL, NULL);
		if (c < 0)
			break;
		if (sv->n == MAX_THREADS) {
			close(c);
			failures++;
			continue;
		}
		pthread_create(&sv->threads[sv->n++], NULL, sv->conn, (void *)(intptr_t)c);
	}
	for (int i = 0; i < sv->n; i++)
		pthread_join(sv->threads[i], NULL);
	return NULL;
}

/* A SOCKS server that reads the greeting and never answers. */
static void *stall_thread(void *arg)
{
	int lfd = *(int *)arg;
	int c = accept(lfd, NULL, NULL);
	char b[64];
	while (c >= 0 && read(c, b, sizeof b) > 0)
		;
	if (c >= 0) {
		atomic_store(&stall_eof, 1);
		close(c);
	}
	return NULL;
}

static int connect_via_bridge(const char *cred)
{
	int fd = dial(bridge_port);
	if (fd < 0)
		return -1;
	char *b64 = wa_b64_encode((const uint8_t *)cred, strlen(cred));
	char req[512];
	int n = snprintf(req, sizeof req, "CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
		"Proxy-authorization: basic %s\r\n\r\n", echo_port, echo_port, b64 ? b64 : "");
	free(b64);
	if (write_full(fd, req, (size_t)n)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int read_status(int fd)
{
	char b[256];
	size_t n = 0;
	while (n < sizeof b - 1) {
		if (read(fd, b + n, 1) != 1)
			return -1;
		n++;
		b[n] = '\0';
		if (n >= 4 && strcmp(b + n - 4, "\r\n\r\n") == 0)
			break;
	}
	return strncmp(b, "HTTP/1.1 ", 9) == 0 ? atoi(b + 9) : -1;
}

struct stream {
	int fd;
	size_t bytes;
	useconds_t reader_delay;
};

static void *reader_thread(void *arg)
{
	struct stream *st = arg;
	usleep(st->reader_delay);
	uint8_t *buf = malloc(65536);
	size_t got = 0;
	while (buf && got < st->bytes) {
		ssize_t r = read(st->fd, buf, 65536);
		if (r <= 0)
			break;
		for (ssize_t i = 0; i < r; i++)
			if (buf[i] != pattern(got + (size_t)i)) {
				fprintf(stderr, "byte %zu differs\n", got + (size_t)i);
				failures++;
				got = st->bytes;
				break;
			}
		got += (size_t)r;
	}
	if (got != st->bytes) {
		fprintf(stderr, "echo: %zu of %zu bytes\n", got, st->bytes);
		failures++;
	}
	free(buf);
	return NULL;
}

static char *cred_of(const char *addr, char *out, size_t cap)
{
	snprintf(out, cap, "%.*s", (int)(strchr(addr, '@') - addr), addr);
	return out;
}

/* A tunnel through the bridge carrying `bytes` each way. */
static void *stream_thread(void *arg)
{
	struct stream *st = arg;
	char cred[128];
	st->fd = connect_via_bridge(cred_of(token_addr, cred, sizeof cred));
	int code = st->fd >= 0 ? read_status(st->fd) : -1;
	if (code != 200) {
		fprintf(stderr, "tunnel: status %d, want 200\n", code);
		failures++;
		if (st->fd >= 0)
			close(st->fd);
		return NULL;
	}
	pthread_t rt;
	pthread_create(&rt, NULL, reader_thread, st);
	uint8_t *buf = malloc(st->bytes);
	for (size_t i = 0; buf && i < st->bytes; i++)
		buf[i] = pattern(i);
	if (!buf || write_full(st->fd, buf, st->bytes))
		failures++;
	free(buf);
	pthread_join(rt, NULL);
	close(st->fd);
	return NULL;
}

static void *client_thread(void *arg)
{
	(void)arg;
	char cred[128];
	/* 1: a wrong token */
	int bad = connect_via_bridge("wa:0000");
	int code = bad >= 0 ? read_status(bad) : -1;
	if (code != 407) {
		fprintf(stderr, "wrong token: status %d, want 407\n", code);
		failures++;
	}
	if (bad >= 0)
		close(bad);
	/* 2: the SOCKS server never answers; we give up */
	int sfd = connect_via_bridge(cred_of(stall_addr, cred, sizeof cred));
	usleep(200000);
	if (sfd >= 0)
		close(sfd);
	for (int i = 0; i < 100 && !atomic_load(&stall_eof); i++)
		usleep(20000);
	if (!atomic_load(&stall_eof)) {
		fprintf(stderr, "the bridge kept the stalled SOCKS connection open\n");
		failures++;
	}
	/* 3: one big stream with a late reader */
	struct stream big = {.bytes = WA_STREAM_BYTES, .reader_delay = READER_DELAY_US};
	stream_thread(&big);
	/* 4: many at once */
	struct stream par[N_PARALLEL];
	pthread_t pt[N_PARALLEL];
	for (int i = 0; i < N_PARALLEL; i++) {
		par[i] = (struct stream){.bytes = PARALLEL_BYTES, .reader_delay = 0};
		pthread_create(&pt[i], NULL, stream_thread, &par[i]);
	}
	for (int i = 0; i < N_PARALLEL; i++)
		pthread_join(pt[i], NULL);
	atomic_store(&done, 1);
	return NULL;
}

/* lws_service sleeps until the next fd event or timer: a ticker makes it
 * look at `done` at least every 20 ms. */
static lws_sorted_usec_list_t tick_sul;
static struct lws_context *tick_ctx;

static void tick(lws_sorted_usec_list_t *sul)
{
	lws_sul_schedule(tick_ctx, 0, sul, tick, 20 * LWS_US_PER_MS);
}

static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
		ru.ru_stime.tv_usec / 1e6;
}

int main(void)
{
	lws_set_log_level(getenv("WA_LWS_LOG") ? atoi(getenv("WA_LWS_LOG")) : LLL_ERR, NULL);
	if (getenv("WA_DEBUG"))
		wa_log_set_level(WA_LOG_DEBUG);
	int sfd = listen_any(&socks_port), efd = listen_any(&echo_port), tfd = listen_any(&stall_port);
	if (sfd < 0 || efd < 0 || tfd < 0)
		return 1;
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	static const struct lws_protocols none[] = {
		{"dummy", lws_callback_http_dummy, 0, 0, 0, NULL, 0},
		{NULL, NULL, 0, 0, 0, NULL, 0},
	};
	info.protocols = none;
	struct lws_context *ctx = lws_create_context(&info);
	wa_tr_proxy px;
	memset(&px, 0, sizeof px);
	px.socks = true;
	snprintf(px.host, sizeof px.host, "127.0.0.1");
	px.port = socks_port;
	wa_socks_route *route = NULL, *stall_route = NULL;
	if (!ctx || wa_socks_route_add(ctx, &px, token_addr, sizeof token_addr, &bridge_port, &route)) {
		fprintf(stderr, "bridge did not start\n");
		return 1;
	}
	px.port = stall_port;
	int p2 = 0;
	if (wa_socks_route_add(ctx, &px, stall_addr, sizeof stall_addr, &p2, &stall_route) || p2 != bridge_port) {
		fprintf(stderr, "second route: one bridge per context expected\n");
		return 1;
	}
	tick_ctx = ctx;
	tick(&tick_sul);
	pthread_t ts, te, tt, tc;
	static struct server socks_sv, echo_sv;
	socks_sv.lfd = sfd;
	socks_sv.conn = socks_conn;
	echo_sv.lfd = efd;
	echo_sv.conn = echo_conn;
	pthread_create(&ts, NULL, accept_loop, &socks_sv);
	pthread_create(&te, NULL, accept_loop, &echo_sv);
	pthread_create(&tt, NULL, stall_thread, &tfd);
	double c0 = cpu_s();
	struct timespec w0, w1;
	clock_gettime(CLOCK_MONOTONIC, &w0);
	pthread_create(&tc, NULL, client_thread, NULL);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &w1);
		if (atomic_load(&done) || w1.tv_sec - w0.tv_sec > 50)
			break;
		lws_service(ctx, 0);
	}
	if (!atomic_load(&done)) {
		fprintf(stderr, "streams did not finish in 50 s\n");
		return 1;
	}
	double cpu = cpu_s() - c0;
	pthread_join(tc, NULL);
	/* the tunnels close: serve until the SOCKS side has gone too */
	for (int i = 0; i < 20; i++)
		lws_service(ctx, 10);
	shutdown(sfd, SHUT_RDWR);
	shutdown(efd, SHUT_RDWR);
	pthread_join(ts, NULL);
	pthread_join(te, NULL);
	pthread_join(tt, NULL);
	lws_sul_cancel(&tick_sul);
	wa_socks_route_del(route);
	wa_socks_route_del(stall_route);
	lws_context_destroy(ctx);
	close(sfd);
	close(efd);
	close(tfd);
	double wall = (double)(w1.tv_sec - w0.tv_sec) + (w1.tv_nsec - w0.tv_nsec) / 1e9;
	printf("# %u + %d x %u bytes each way through the bridge: %.2f s wall, %.2f s CPU "
		"(whole process, test threads included)\n", WA_STREAM_BYTES, N_PARALLEL, PARALLEL_BYTES, wall, cpu);
	int f = atomic_load(&failures);
	if (f)
		fprintf(stderr, "%d failure(s)\n", f);
	return f ? 1 : 0;
}
