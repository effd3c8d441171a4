/* tests/e2e/transport_rx.c: the lws driver's read path (ws.c) with lws
 * receive buffers from 1 byte to 64 KiB, over ws:// and wss://. An lws
 * server in the same process sends a 70 000-byte message (a 64 KiB text's
 * Noise frame is about that), a burst of BURST messages of mixed sizes
 * (an offline queue flushed after a login), one message split into
 * WebSocket continuation fragments, and a 256 KiB message; every byte must
 * reach on_data once, in order (a position-dependent pattern), before
 * DEADLINE_MS; the client sends the same plan back at once and the server
 * checks it (lws caps each socket write at the protocol's tx_packet_size,
 * or at rx_buffer_size when that is 0). The client protocol is the embedder's copy of
 * wa_lws_protocols() with rx_buffer_size overridden, which is how lws sizes
 * a client connection's frame buffer. Prints the CPU time per case. */
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "transport/ws.h"
#include "wa/session.h"
#include "wa/wa.h"

int sim_tls_ensure_cert(const char *dir, char *cert_path, size_t cert_cap, char *key_path,
	size_t key_cap);

#define BURST 200
#define BIG1 70000u
#define BIG2 (256u * 1024)
#define N_FRAGS 5
#define FRAG_MSG 30000u
#define DEADLINE_MS 20000

/* message plan: BIG1, BURST small ones, a fragmented one, BIG2 */
#define N_MSGS (1 + BURST + 1 + 1)

static size_t msg_len(int i)
{
	if (i == 0)
		return BIG1;
	if (i <= BURST)
		return (size_t)(i * 397 % 3000) + 1;
	if (i == BURST + 1)
		return FRAG_MSG;
	return BIG2;
}

static uint8_t pattern(size_t pos)
{
	return (uint8_t)(pos * 131u + (pos >> 8) * 7u + (pos >> 16));
}

struct srv_pss {
	size_t rx;     /* bytes received from the client */
	int msg;       /* next message */
	int frag;      /* next fragment of the fragmented message */
	size_t pos;    /* stream position of the next byte */
};

static size_t g_total;
static size_t g_srv_rx; /* bytes the server got in order */
static bool g_srv_bad;

static int srv_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
	size_t len)
{
	struct srv_pss *pss = user;
	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED:
		memset(pss, 0, sizeof *pss);
		lws_callback_on_writable(wsi);
		return 0;
	case LWS_CALLBACK_RECEIVE: {
		const uint8_t *p = in;
		for (size_t k = 0; k < len; k++)
			if (pss->rx + k >= g_total || p[k] != pattern(pss->rx + k)) {
				if (!g_srv_bad)
					fprintf(stderr, "  sent byte %zu wrong\n", pss->rx + k);
				g_srv_bad = true;
				break;
			}
		pss->rx += len;
		g_srv_rx = pss->rx;
		return 0;
	}
	case LWS_CALLBACK_SERVER_WRITEABLE: {
		if (pss->msg >= N_MSGS)
			return 0;
		size_t n = msg_len(pss->msg);
		int flags = LWS_WRITE_BINARY;
		if (pss->msg == BURST + 1) {
			/* N_FRAGS fragments of one message */
			size_t fl = n / N_FRAGS;
			if (pss->frag == N_FRAGS - 1)
				fl = n - fl * (N_FRAGS - 1);
			flags = lws_write_ws_flags(LWS_WRITE_BINARY, pss->frag == 0,
				pss->frag == N_FRAGS - 1);
			n = fl;
		}
		uint8_t *b = malloc(LWS_PRE + n);
		if (!b)
			return -1;
		for (size_t k = 0; k < n; k++)
			b[LWS_PRE + k] = pattern(pss->pos + k);
		int w = lws_write(wsi, b + LWS_PRE, n, (enum lws_write_protocol)flags);
		free(b);
		if (w < (int)n)
			return -1;
		pss->pos += n;
		if (pss->msg == BURST + 1 && ++pss->frag < N_FRAGS) {
			lws_callback_on_writable(wsi);
			return 0;
		}
		pss->msg++;
		if (pss->msg < N_MSGS)
			lws_callback_on_writable(wsi);
		return 0;
	}
	default:
		break;
	}
	return 0;
}

struct cli {
	void *conn;
	int send_rc;
	size_t got;
	int chunks;
	bool bad, closed, done;
	int close_err;
};

/* The same plan the other way: the client sends every message at once
 * (a burst of queued stanzas after a login). */
static void cli_open(void *user)
{
	struct cli *c = user;
	size_t pos = 0;
	for (int i = 0; i < N_MSGS && c->send_rc == 0; i++) {
		size_t n = msg_len(i);
		uint8_t *b = malloc(n);
		if (!b) {
			c->send_rc = WA_ENOMEM;
			break;
		}
		for (size_t k = 0; k < n; k++)
			b[k] = pattern(pos + k);
		c->send_rc = wa_tr_lws_driver.send(c->conn, b, n);
		free(b);
		pos += n;
	}
}

static void cli_data(void *user, const uint8_t *p, size_t len)
{
	struct cli *c = user;
	c->chunks++;
	for (size_t k = 0; k < len; k++)
		if (c->got + k >= g_total || p[k] != pattern(c->got + k)) {
			if (!c->bad)
				fprintf(stderr, "  byte %zu wrong\n", c->got + k);
			c->bad = true;
			break;
		}
	c->got += len;
	if (c->got == g_total && g_srv_rx == g_total)
		c->done = true;
}

static void cli_close(void *user, int err)
{
	struct cli *c = user;
	c->closed = true;
	c->close_err = err;
}

static const wa_tr_events cli_events = {
	.on_open = cli_open,
	.on_data = cli_data,
	.on_close = cli_close,
};

static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		(double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int run_case(size_t rx_size, bool tls, const char *cert, const char *key)
{
	size_t np;
	const struct lws_protocols *wp = wa_lws_protocols(&np);
	struct lws_protocols cli_protos[3], srv_protos[2];
	memset(cli_protos, 0, sizeof cli_protos);
	memset(srv_protos, 0, sizeof srv_protos);
	memcpy(cli_protos, wp, np * sizeof *wp);
	cli_protos[0].rx_buffer_size = rx_size;
	srv_protos[0] = (struct lws_protocols){ "rxsrv", srv_cb, sizeof(struct srv_pss), 65536, 0,
		NULL, 0 };

	struct lws_context_creation_info info;
	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = cli_protos;
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	struct lws_context *ctx = lws_create_context(&info);
	if (!ctx)
		return -1;
	memset(&info, 0, sizeof info);
	info.port = 0; /* any free port */
	info.iface = "127.0.0.1";
	info.vhost_name = "rxsrv";
	info.protocols = srv_protos;
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	if (tls) {
		info.ssl_cert_filepath = cert;
		info.ssl_private_key_filepath = key;
	}
	struct lws_vhost *vh = lws_create_vhost(ctx, &info);
	if (!vh) {
		lws_context_destroy(ctx);
		return -1;
	}
	char url[64];
	snprintf(url, sizeof url, "%s://127.0.0.1:%d/", tls ? "wss" : "ws",
		lws_get_vhost_listen_port(vh));
	struct cli c = { 0 };
	g_srv_rx = 0;
	g_srv_bad = false;
	wa_tr_config cfg = { .url = url, .tls_insecure = true };
	void *conn = NULL;
	double t0 = cpu_s();
	int rc = wa_tr_lws_driver.open(ctx, &cfg, &cli_events, &c, &conn);
	c.conn = conn;
	int64_t end = wa_tr_lws_driver.now_ms(ctx) + DEADLINE_MS;
	while (rc == 0 && !(c.got == g_total && g_srv_rx == g_total) && !c.bad && !g_srv_bad &&
		!c.closed && c.send_rc == 0 && wa_tr_lws_driver.now_ms(ctx) < end)
		lws_service(ctx, 0);
	double cpu = cpu_s() - t0;
	int ok = rc == 0 && c.got == g_total && g_srv_rx == g_total && !c.bad && !g_srv_bad &&
		c.send_rc == 0;
	printf("%s - rx buffer %zu over %s: received %zu of %zu bytes in %d chunks, sent %zu, "
	       "%.3f s CPU%s\n",
		ok ? "ok" : "not ok", rx_size, tls ? "wss" : "ws", c.got, g_total, c.chunks, g_srv_rx,
		cpu, c.closed ? " (closed)" : "");
	wa_tr_lws_driver.close(conn);
	lws_context_destroy(ctx);
	return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	lws_set_log_level(getenv("WA_LWS_LOG") ? atoi(getenv("WA_LWS_LOG")) : LLL_ERR, NULL);
	for (int i = 0; i < N_MSGS; i++)
		g_total += msg_len(i);
	char dir[] = "/tmp/wa-rx-XXXXXX", cert[256], key[256];
	if (!mkdtemp(dir) || sim_tls_ensure_cert(dir, cert, sizeof cert, key, sizeof key) != 0) {
		fprintf(stderr, "no certificate\n");
		return 1;
	}
	static const size_t sizes[] = { 1, 100, 256, 1024, 4096, 65536 };
	int fails = 0;
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
		for (int tls = 0; tls < 2; tls++)
			fails += run_case(sizes[i], tls, cert, key) != 0;
	unlink(cert);
	unlink(key);
	rmdir(dir);
	return fails ? 1 : 0;
}
