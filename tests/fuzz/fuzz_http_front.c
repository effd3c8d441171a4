/* Fuzz target over wamd's HTTP front end, the real one: an lws context
 * (lws' own poll loop) with wamd's own accept and request-head check
 * (wamd_front.c: a unix socket listened on by wamd, heads read and checked
 * before lws sees them, malformed ones answered there, good ones handed to
 * lws with the bytes read) and wamd's "wamd-api" protocol (wamd_http_cb,
 * the framing checks, body collection, routing, auth refusals, the answer
 * and close path, the /ws/events upgrade filter), with no instances and an
 * admin key no input can know. The session engine is
 * tests/daemon/fake_session.c, linked but never reached.
 *
 * Input: byte 0 holds flags: bits 0-2 the number of split points (0-7),
 * bit 3 half-closes the connection after the last chunk, bit 4 closes it
 * without reading any answer. The next bytes (one per split point) each
 * pick where to cut the rest (b * len / 256); the rest is the byte stream
 * sent on one connection, chunk by chunk, with a few loop iterations
 * between chunks (several requests per connection come from the stream
 * itself). Then a fresh connection's "GET /" must get its whole 200 answer
 * within PROBE_ITERS loop iterations, or the target aborts: the
 * daemon stopped answering. A spin inside lws never returns from
 * lws_service(); libFuzzer's -timeout reports that (run-fuzzer.sh uses
 * 10 s), and the corpus replay in the test build hangs into the test's
 * timeout. Everything is non-blocking and paced by loop iterations, not by
 * time, so an input replays the same way (lws' own timers count seconds
 * and do not fire within an input). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "wamd.h"
#include "wamd_front.h"

#define CHUNK_ITERS 3    /* loop iterations after each chunk */
#define DRAIN_ITERS 30   /* after the last chunk */
#define PROBE_ITERS 400  /* for the probe's answer */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct wamd g_d;
static struct lws_context *g_ctx;
static struct sockaddr_un g_addr;
static struct lws_protocols g_protos[3];

static void cleanup(void)
{
	if (g_ctx)
		lws_context_destroy(g_ctx);
	g_ctx = NULL;
	unlink(g_addr.sun_path);
}

static int init(void)
{
	if (g_ctx)
		return 0;
	signal(SIGPIPE, SIG_IGN);
	lws_set_log_level(0, NULL);
	wamd_log_set_level(WA_LOG_ERROR);
	memset(&g_d, 0, sizeof g_d);
	const char *key = "fuzz-http-front: an admin key that no input can reach";
	wamd_sha256(key, strlen(key), g_d.api_key_sha);
	g_d.have_api_key = true;
	g_addr.sun_family = AF_UNIX;
	snprintf(g_addr.sun_path, sizeof g_addr.sun_path, "/tmp/wamd-fuzz-http-%d.sock", (int)getpid());
	unlink(g_addr.sun_path);

	g_protos[0] = (struct lws_protocols){ "wamd-api", wamd_http_cb, sizeof(struct wamd_conn), 4096, 0, NULL, 0 };
	g_protos[1] = (struct lws_protocols){ WAMD_FRONT_PROTOCOL, wamd_front_cb, 0, 0, 0, NULL, 0 };
	struct lws_context_creation_info ci;
	memset(&ci, 0, sizeof ci);
	ci.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
	ci.max_http_header_data = WAMD_FRONT_LWS_HEADER_DATA; /* as wamd */
	ci.user = &g_d;
	g_ctx = lws_create_context(&ci);
	if (!g_ctx)
		return -1;
	g_d.ctx = g_ctx;
	struct lws_context_creation_info vi;
	memset(&vi, 0, sizeof vi);
	vi.port = CONTEXT_PORT_NO_LISTEN_SERVER; /* wamd listens (as wamd) */
	vi.protocols = g_protos;
	vi.vhost_name = "api";
	vi.keepalive_timeout = 5; /* as wamd */
	g_d.vh_api = lws_create_vhost(g_ctx, &vi);
	if (!g_d.vh_api)
		return -1;
	int lfd = wamd_front_socket_unix(g_addr.sun_path);
	if (lfd < 0 || wamd_front_listen(&g_d, g_d.vh_api, lfd, true) != 0)
		return -1;
	atexit(cleanup);
	return 0;
}

static void service(int n)
{
	while (n-- > 0)
		lws_service(g_ctx, -1); /* lws 4.1.6: negative = poll without waiting */
}

static int dial(void)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&g_addr, sizeof g_addr) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads what is there; 1 once the peer closed (EOF or reset). */
static int drain(int fd, char *keep, size_t cap, size_t *kept)
{
	char b[4096];
	for (;;) {
		ssize_t r = recv(fd, b, sizeof b, 0);
		if (r > 0) {
			if (keep) {
				size_t n = (size_t)r < cap - *kept ? (size_t)r : cap - *kept;
				memcpy(keep + *kept, b, n);
				*kept += n;
			}
			continue;
		}
		if (r == 0)
			return 1;
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : 1;
	}
}

static void send_all(int fd, const uint8_t *p, size_t n)
{
	for (int tries = 0; n && tries < 1000; tries++) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return; /* the daemon closed: fine */
		service(1);
	}
}

/* A whole "200" answer (head and the body its content-length announces). */
static int answered(const char *buf, size_t got)
{
	const char *eoh = strstr(buf, "\r\n\r\n");
	if (!eoh || strncmp(buf, "HTTP/1.1 200", 12) != 0)
		return 0;
	const char *cl = strstr(buf, "content-length:");
	if (!cl || cl > eoh)
		return 0;
	size_t want = (size_t)strtoul(cl + 15, NULL, 10);
	return got >= (size_t)(eoh + 4 - buf) + want;
}

/* Another client's request is answered. */
static void probe(void)
{
	int fd = dial();
	if (fd < 0) {
		fprintf(stderr, "fuzz_http_front: cannot connect to the daemon\n");
		abort();
	}
	static const char req[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	send_all(fd, (const uint8_t *)req, sizeof req - 1);
	char buf[2048];
	size_t got = 0;
	int closed = 0, ok = 0;
	for (int i = 0; i < PROBE_ITERS && !ok && !closed; i++) {
		service(1);
		closed = drain(fd, buf, sizeof buf - 1, &got);
		buf[got] = '\0';
		ok = answered(buf, got);
	}
	close(fd);
	if (!ok) {
		fprintf(stderr, "fuzz_http_front: daemon unresponsive after the input (%zu bytes: %.60s)\n", got, buf);
		abort();
	}
	service(2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 65536)
		return 0;
	if (init() != 0) {
		fprintf(stderr, "fuzz_http_front: lws context setup failed\n");
		abort();
	}
	unsigned flags = data[0];
	size_t nsplit = flags & 7;
	if (size < 1 + nsplit)
		return 0;
	const uint8_t *stream = data + 1 + nsplit;
	size_t len = size - 1 - nsplit;
	size_t cuts[9];
	size_t nc = 0;
	cuts[nc++] = 0;
	for (size_t i = 0; i < nsplit; i++)
		cuts[nc++] = (size_t)data[1 + i] * len / 256;
	cuts[nc++] = len;
	for (size_t i = 1; i < nc; i++) /* insertion sort: at most 9 */
		for (size_t j = i; j > 0 && cuts[j] < cuts[j - 1]; j--) {
			size_t t = cuts[j];
			cuts[j] = cuts[j - 1];
			cuts[j - 1] = t;
		}

	int fd = dial();
	if (fd < 0) {
		fprintf(stderr, "fuzz_http_front: cannot connect to the daemon\n");
		abort();
	}
	int closed = 0;
	for (size_t i = 0; i + 1 < nc; i++) {
		if (cuts[i + 1] > cuts[i])
			send_all(fd, stream + cuts[i], cuts[i + 1] - cuts[i]);
		for (int k = 0; k < CHUNK_ITERS; k++) {
			service(1);
			if (!(flags & 16) && !closed)
				closed = drain(fd, NULL, 0, NULL);
		}
	}
	if (flags & 8)
		shutdown(fd, SHUT_WR);
	if (flags & 16) {
		close(fd);
		fd = -1;
	}
	for (int k = 0; k < DRAIN_ITERS; k++) {
		service(1);
		if (fd >= 0 && !closed)
			closed = drain(fd, NULL, 0, NULL);
	}
	probe();
	if (fd >= 0)
		close(fd);
	service(5); /* lws sees the close and frees the connection */
	return 0;
}
