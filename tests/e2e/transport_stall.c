/* tests/e2e/transport_stall.c: both client kinds of src/transport against
 * a server that takes the TCP connection (the kernel completes it into the
 * listen backlog) and never answers. The lws context's stage timeout
 * (timeout_secs) is 1 s, far under the owners' deadlines, and the
 * embedder's own protocol comes first in the list, as wamd's HTTP API does
 * (lws hands a client connection's early callbacks to protocols[0]):
 *   - the chat WebSocket over ws:// (wa_tr_lws_driver): the upgrade is sent
 *     and never answered; lws 4.1 frees such a connection at its stage
 *     timeout without a callback, and the owner's close then touched freed
 *     memory (SEGV in lws, or a leak). It must stay alive until the owner
 *     closes it, and close cleanly;
 *   - the HTTP client over https:// (wa_http_start): TLS is never answered;
 *     wa_http_cancel after lws' stage timeout must be safe too.
 * The owner closes after STALL_MS, then, in a second round, at once. Each
 * round must neither crash nor leak (ASan), and neither connection may
 * report an open socket or a status. */
#include <arpa/inet.h>
#include <libwebsockets.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "transport/http.h"
#include "transport/ws.h"
#include "wa/session.h"
#include "wa/wa.h"

#define STALL_MS 3500

static int g_fail;
#define CHECK(c, ...)                                  \
	do {                                           \
		if (!(c)) {                            \
			fprintf(stderr, "FAIL: " __VA_ARGS__); \
			fprintf(stderr, "\n");         \
			g_fail = 1;                    \
		}                                      \
	} while (0)

static int ws_opened, ws_closed, http_status, http_done;

static void on_open(void *u)
{
	(void)u;
	ws_opened++;
}
static void on_data(void *u, const uint8_t *p, size_t n)
{
	(void)u;
	(void)p;
	(void)n;
}
static void on_close(void *u, int err)
{
	(void)u;
	(void)err;
	ws_closed++;
}
static void h_status(void *u, int st)
{
	(void)u;
	http_status = st;
}
static int h_data(void *u, const uint8_t *p, size_t n)
{
	(void)u;
	(void)p;
	(void)n;
	return 0;
}
static void h_done(void *u, int err, int st)
{
	(void)u;
	(void)err;
	(void)st;
	http_done++;
}

/* lws_service waits for the next lws event or timer, whatever its timeout
 * argument: a 20 ms tick bounds each wait. */
static lws_sorted_usec_list_t tick_sul;
static void tick(lws_sorted_usec_list_t *sul)
{
	(void)sul;
}

static void run(struct lws_context *ctx, int ms)
{
	lws_usec_t end = lws_now_usecs() + (lws_usec_t)ms * LWS_US_PER_MS;
	do {
		lws_sul_schedule(ctx, 0, &tick_sul, tick, 20 * LWS_US_PER_MS);
		lws_service(ctx, 0);
	} while (lws_now_usecs() < end);
}

static void one_round(struct lws_context *ctx, int port, int wait_ms)
{
	char url[128];
	static const wa_tr_events ev = { .on_open = on_open, .on_data = on_data, .on_close = on_close };
	snprintf(url, sizeof url, "ws://127.0.0.1:%d/ws/chat", port);
	wa_tr_config cfg = { .url = url, .tls_insecure = true };
	void *conn = NULL;
	int rc = wa_tr_lws_driver.open(ctx, &cfg, &ev, NULL, &conn);
	CHECK(rc == 0 && conn, "ws open: %d", rc);

	static const wa_http_events hev = { .on_status = h_status, .on_data = h_data, .on_done = h_done };
	snprintf(url, sizeof url, "https://127.0.0.1:%d/v/x", port);
	wa_http_opts o = { .method = "GET", .url = url, .tls_insecure = true, .answer_ms = 60000 };
	wa_http_req *req = NULL;
	rc = wa_http_start(ctx, &o, &hev, NULL, &req);
	CHECK(rc == 0 && req, "http start: %d", rc);

	run(ctx, wait_ms);
	printf("after %d ms: chat closed %d, http done %d\n", wait_ms, ws_closed, http_done);
	if (conn)
		wa_tr_lws_driver.close(conn);
	if (req && !http_done)
		wa_http_cancel(req);
	run(ctx, 500);
	CHECK(ws_opened == 0, "the stalled chat connection never opened (%d)", ws_opened);
	CHECK(http_status == 0, "the stalled request got no status (%d)", http_status);
}

int main(void)
{
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof a;
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) || listen(lfd, 64) ||
	    getsockname(lfd, (struct sockaddr *)&a, &al)) {
		perror("listen");
		return 1;
	}
	int port = ntohs(a.sin_port);

	size_t n_protos = 0;
	const struct lws_protocols *wa = wa_lws_protocols(&n_protos);
	/* the embedder's own protocol first, as wamd's HTTP API is: lws hands a
	 * client connection's early callbacks to protocols[0] */
	struct lws_protocols protos[5];
	memset(protos, 0, sizeof protos);
	protos[0] = (struct lws_protocols){ "embedder-http", lws_callback_http_dummy, 0, 0, 0, NULL, 0 };
	for (size_t i = 0; i < n_protos && i < 3; i++)
		protos[1 + i] = wa[i];
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protos;
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	info.timeout_secs = 1; /* lws' stage timeout, far under the owners' */
	lws_set_log_level(LLL_ERR, NULL);
	struct lws_context *ctx = lws_create_context(&info);
	if (!ctx) {
		fprintf(stderr, "no lws context\n");
		return 1;
	}
	/* the owner closes after lws' stage timeout has run out, then at once */
	one_round(ctx, port, STALL_MS);
	one_round(ctx, port, 0);
	lws_sul_cancel(&tick_sul);
	lws_context_destroy(ctx);
	close(lfd);
	if (!g_fail)
		printf("ok: a stalled server, closed by the owner after %d ms and at once: no crash, no leak\n",
			STALL_MS);
	return g_fail;
}
