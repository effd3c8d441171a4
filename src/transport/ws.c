/* src/transport/ws.c: the libwebsockets driver behind wa_tr_driver — one
 * WebSocket client connection per session and timers, all on the
 * embedder's lws_context (one loop per process, DESIGN.md). Received
 * fragments go up as they arrive; the Noise frame decoder above reassembles.
 * Timers live in one min-heap per context (theap.h explains why) behind a
 * single lws_sul armed for the earliest deadline.
 *
 * Lifetime: a connection object is freed when both the owner released it
 * (close) and lws destroyed the wsi; until the wsi is gone lws may still
 * call us with it, so the object outlives the owner's interest. */
#include <libwebsockets.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "transport/socks_bridge.h"
#include "transport/theap.h"
#include "transport/ws.h"
#include "wa/session.h"
#include "util/log.h"

#define WA_TR_PROTOCOL_NAME "wa-chat"
/* lws allocates this (+ LWS_PRE) per connection as the frame buffer a
 * received WebSocket payload is gathered in before CLIENT_RECEIVE; a larger
 * payload arrives in several callbacks, which on_data's consumers (the
 * resumable frame decoder) take in any split. lws 4.1.6 reads the socket in
 * at most pt_serv_buf_size (4096 by default) bytes whatever this is, so a
 * bigger buffer buys only fewer callbacks: transport_rx (tests/e2e, release
 * build) moves 662 KB each way over wss:// in 13 ms of CPU with 4 KiB as
 * with 64 KiB (292 vs 211 callbacks). 64 KiB cost about 42 KiB of an idle
 * session's RSS (session_memory at N=300: 106.3 -> 64.6 KiB per session).
 * The stall once seen with 4 KiB in session_chat did not reproduce:
 * session_chat, the other session e2e tests and the wamd ones pass with 4
 * KiB, 1 KiB and even 16 bytes (receive and write cap), and transport_rx
 * passes with 1 byte. lws allocates the buffer at the first receive and keeps
 * it as long as the connection, idle or not: 1 KiB saved another 3 KiB per
 * idle session, 256 bytes 0.75 KiB more. The extra callbacks cost nothing
 * measurable: transport_rx's 662 KB over wss:// take 0.013-0.015 s of CPU
 * at 100, 256, 1 KiB and 64 KiB alike (release build). */
#define WA_TR_RX_BUFFER 256
/* lws 4.1.6 caps each socket write at tx_packet_size, or at rx_buffer_size
 * when that is 0 (core-net/output.c), queueing the rest until the next
 * POLLOUT: set on its own so a small receive buffer does not also chop
 * every send (with a 1-byte rx buffer and no tx size, transport_rx's wss
 * sends took 1.1 s of CPU instead of 0.1 s, ASan build). It allocates
 * nothing. */
#define WA_TR_TX_PACKET 65536
#define WA_TR_FLUSH_TIMEOUT_S 2 /* close waits this long for queued bytes */
/* lws 4.1 gives each stage of a client connection (TCP, TLS, the upgrade's
 * answer) the context's timeout_secs and, when one runs out before the
 * upgrade, frees the wsi without a callback: a server that accepted the
 * TCP connection but answered the upgrade late left a dangling wsi that
 * the session's own connect deadline then closed (SIGSEGV in lws). Until
 * the connection is established a tick pushes lws' stage timeout ahead,
 * so the owner's deadline is the only limit and the wsi lives until the
 * owner closes it. */
#define WA_TR_STAGE_PUSH_S 10
/* under a second: lws arms each new stage with timeout_secs (whole seconds,
 * at least 1), and the tick must come before any of them runs out */
#define WA_TR_STAGE_TICK_US (250 * LWS_US_PER_MS)

struct tx_buf {
	struct tx_buf *next;
	size_t len;
	uint8_t data[]; /* LWS_PRE headroom, then len bytes */
};

struct wa_tr_conn {
	struct lws_context *ctx;
	struct lws_vhost *proxy_vhost; /* per-connection vhost when a proxy is set */
	wa_socks_route *socks_route;   /* socks5: our route through the bridge */
	struct lws *wsi;
	const wa_tr_events *ev;
	void *user;
	bool released;  /* owner called close: no more callbacks */
	bool open;
	bool in_open;   /* inside lws_client_connect_via_info */
	bool failed;    /* failed while in_open */
	bool closing;   /* close requested, waiting for writable to return -1 */
	bool tunnel_up; /* with a proxy: lws got past the proxy (is writing the upgrade) */
	struct tx_buf *tx_head, *tx_tail;
	size_t tx_bytes;
	uint64_t n_written; /* messages written, for on_written */
	int fail_step;      /* a failure inside lws_client_connect_via_info */
	char *fail_text;    /* lws' words for that failure (malloc'd, NULL: none) */
	lws_sorted_usec_list_t stage_sul; /* until established: see WA_TR_STAGE_PUSH_S */
};

/* One per lws_context that has timers; freed with its last timer. The list
 * is touched only from the loop thread (one loop per process, DESIGN.md). */
struct tr_sched {
	lws_sorted_usec_list_t sul; /* the single lws timer: earliest deadline */
	struct lws_context *ctx;
	wa_theap heap;
	size_t timers;   /* live timers, armed or not (heap room reserved) */
	int64_t sul_due; /* deadline the sul is set for, 0 when not set */
	bool in_fire;
	struct tr_sched *next;
};
static struct tr_sched *g_scheds;

struct wa_tr_timer {
	wa_theap_node node;
	struct tr_sched *s;
	wa_timer_fn fn;
	void *user;
};

/* lws' default retry policy makes it re-arm a per-connection "validity"
 * sul on every received frame (another sorted-list walk per frame). The
 * session runs its own keep-alive (§5.4), so none is wanted here. */
static const lws_retry_bo_t no_validity_check = { .secs_since_valid_ping = 0,
	.secs_since_valid_hangup = 0 };

static void tx_free_all(struct wa_tr_conn *c)
{
	struct tx_buf *b = c->tx_head;
	while (b) {
		struct tx_buf *n = b->next;
		free(b);
		b = n;
	}
	c->tx_head = c->tx_tail = NULL;
	c->tx_bytes = 0;
}

static void conn_destroy(struct wa_tr_conn *c)
{
	lws_sul_cancel(&c->stage_sul);
	tx_free_all(c);
	if (c->proxy_vhost)
		lws_vhost_destroy(c->proxy_vhost);
	wa_socks_route_del(c->socks_route);
	free(c->fail_text);
	free(c);
}

/* The wsi is gone (error, close or destroy): tell the owner once, free if
 * the owner already let go. */
static void conn_wsi_gone(struct wa_tr_conn *c, struct lws *wsi, int err)
{
	if (wsi)
		lws_set_opaque_user_data(wsi, NULL);
	lws_sul_cancel(&c->stage_sul);
	c->wsi = NULL;
	c->open = false;
	if (c->in_open) {
		c->failed = true;
		return;
	}
	if (c->released) {
		conn_destroy(c);
		return;
	}
	/* The owner calls close() later (possibly from inside on_close). */
	c->released = false;
	if (c->ev && c->ev->on_close) {
		const wa_tr_events *ev = c->ev;
		c->ev = NULL; /* exactly one on_close */
		ev->on_close(c->user, err);
	}
}

const char *wa_tr_step_name(int step)
{
	switch (step) {
	case WA_TR_STEP_DNS:
		return "DNS";
	case WA_TR_STEP_TCP:
		return "TCP";
	case WA_TR_STEP_TLS:
		return "TLS";
	case WA_TR_STEP_UPGRADE:
		return "WebSocket upgrade";
	case WA_TR_STEP_PROXY:
		return "proxy";
	}
	return "?";
}

/* lws 4.1 reports a failed client connection only as a text: "HS: ..." or
 * a bad HTTP status for the upgrade, "connect SSL err"/"tls start fail"/
 * "Timed out waiting SSL" for TLS, a getaddrinfo text for names. The
 * upgrade request being written (APPEND_HANDSHAKE_HEADER) means TCP and
 * TLS were done. With a proxy, "proxy ..." (bad answer) and "Unable to
 * connect" (dead proxy) mean the proxy failed, unless the tunnel was up. */
int wa_tr_classify_failure(const char *text, bool upgrade_sent, bool via_proxy)
{
	const char *m = text ? text : "";
	if (upgrade_sent || !strncmp(m, "HS:", 3) || strcasestr(m, "bad HTTP response") ||
	    strcasestr(m, "upgrade"))
		return WA_TR_STEP_UPGRADE;
	if (strcasestr(m, "ssl") || strcasestr(m, "tls") || strcasestr(m, "cert"))
		return WA_TR_STEP_TLS;
	if (via_proxy)
		return WA_TR_STEP_PROXY;
	if (strcasestr(m, "getaddrinfo") || strcasestr(m, "dns") || strcasestr(m, "resolv") ||
	    strcasestr(m, "lookup") || strcasestr(m, "host name") || strcasestr(m, "hostname"))
		return WA_TR_STEP_DNS;
	return WA_TR_STEP_TCP;
}

/* WA_EPROXY when the proxy itself failed (on_close's err), else WA_EIO. */
static int conn_error_code(const struct wa_tr_conn *c, const void *in)
{
	if (!c->proxy_vhost)
		return WA_EIO;
	return wa_tr_classify_failure(in, c->tunnel_up, true) == WA_TR_STEP_PROXY ? WA_EPROXY : WA_EIO;
}

static int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
	size_t len)
{
	(void)user;
	struct wa_tr_conn *c = wsi ? lws_get_opaque_user_data(wsi) : NULL;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		if (!c)
			return -1;
		lws_sul_cancel(&c->stage_sul);
		c->open = true;
		if (c->released || c->closing)
			return -1;
		if (c->ev && c->ev->on_open)
			c->ev->on_open(c->user);
		return 0;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (!c || c->closing)
			return c ? -1 : 0;
		if (c->released)
			return 0; /* flushing before close: nobody listens */
		if (c->ev && c->ev->on_data && len)
			c->ev->on_data(c->user, in, len);
		return 0;
	case LWS_CALLBACK_CLIENT_WRITEABLE: {
		if (!c || c->closing)
			return -1;
		if (!c->tx_head)
			return c->released ? -1 : 0; /* released: flushed, now close */
		/* every queued frame the socket takes now, not one per writable
		 * event: a burst of acks (a big group's receipts) otherwise costs
		 * a poll round trip each. lws keeps a partial write's rest and
		 * then reports the pipe choked; the next event goes on. */
		do {
			struct tx_buf *b = c->tx_head;
			int n = lws_write(wsi, b->data + LWS_PRE, b->len, LWS_WRITE_BINARY);
			if (n < (int)b->len)
				return -1; /* lws buffers partial writes itself; < len means failure */
			c->tx_head = b->next;
			if (!c->tx_head)
				c->tx_tail = NULL;
			c->tx_bytes -= b->len;
			free(b);
			c->n_written++;
			if (!c->released && c->ev && c->ev->on_written)
				c->ev->on_written(c->user, c->n_written);
		} while (c->tx_head && !c->closing && !lws_send_pipe_choked(wsi));
		if (c->tx_head || c->released)
			lws_callback_on_writable(wsi);
		return 0;
	}
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
		if (c)
			c->tunnel_up = true;
		return 0;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		WA_DEBUG("transport", "connection error: %s", in ? (const char *)in : "(none)");
		if (c) {
			if (c->in_open) {
				c->fail_step = wa_tr_classify_failure(in, c->tunnel_up, c->proxy_vhost != NULL);
				free(c->fail_text);
				c->fail_text = in ? strndup((const char *)in, 127) : NULL;
			} else if (!c->released && c->ev && c->ev->on_fail_detail)
				c->ev->on_fail_detail(c->user,
					wa_tr_classify_failure(in, c->tunnel_up, c->proxy_vhost != NULL),
					in ? (const char *)in : "");
			conn_wsi_gone(c, wsi, conn_error_code(c, in));
		}
		return 0;
	case LWS_CALLBACK_CLIENT_CLOSED:
		if (c)
			conn_wsi_gone(c, wsi, WA_ECLOSED);
		return 0;
	case LWS_CALLBACK_WSI_DESTROY:
		if (c)
			conn_wsi_gone(c, wsi, WA_ECLOSED);
		return 0;
	default:
		break;
	}
	return 0;
}

/* http.c: media uploads and downloads */
int wa_http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len);

static const struct lws_protocols wa_protocols[] = {
	{WA_TR_PROTOCOL_NAME, ws_callback, 0, WA_TR_RX_BUFFER, 0, NULL, WA_TR_TX_PACKET},
	{"wa-http", wa_http_callback, 0, 16384, 0, NULL, WA_TR_TX_PACKET},
	{NULL, NULL, 0, 0, 0, NULL, 0},
};

const struct lws_protocols *wa_lws_protocols(size_t *n_out)
{
	if (n_out)
		*n_out = 2;
	return wa_protocols;
}

static int hexval_c(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int copy_str(char *dst, size_t cap, const char *s, size_t n)
{
	if (n >= cap)
		return WA_ETOOBIG;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return 0;
}

static int parse_hostport(const char *p, char *host, size_t host_cap, int *port, const char **rest)
{
	const char *end = p + strcspn(p, "/?#");
	const char *colon = NULL;
	if (*p == '[') { /* IPv6 literal */
		const char *rb = memchr(p, ']', (size_t)(end - p));
		if (!rb)
			return WA_EINVAL;
		int rc = copy_str(host, host_cap, p + 1, (size_t)(rb - p - 1));
		if (rc)
			return rc;
		if (rb + 1 < end && rb[1] == ':')
			colon = rb + 1;
		else if (rb + 1 != end)
			return WA_EINVAL;
	} else {
		colon = memchr(p, ':', (size_t)(end - p));
		int rc = copy_str(host, host_cap, p, (size_t)((colon ? colon : end) - p));
		if (rc)
			return rc;
	}
	if (host[0] == '\0')
		return WA_EINVAL;
	if (colon) {
		long v = 0;
		const char *q = colon + 1;
		if (q == end)
			return WA_EINVAL;
		for (; q < end; q++) {
			if (*q < '0' || *q > '9')
				return WA_EINVAL;
			v = v * 10 + (*q - '0');
			if (v > 65535)
				return WA_EINVAL;
		}
		if (v == 0)
			return WA_EINVAL;
		*port = (int)v;
	}
	*rest = end;
	return 0;
}

int wa_tr_parse_url(const char *url, bool *tls, char *host, size_t host_cap, int *port,
	char *path, size_t path_cap)
{
	if (!url || strlen(url) > WA_TR_MAX_URL)
		return WA_EINVAL;
	bool t;
	const char *p;
	if (strncmp(url, "wss://", 6) == 0) {
		t = true;
		p = url + 6;
	} else if (strncmp(url, "ws://", 5) == 0) {
		t = false;
		p = url + 5;
	} else {
		return WA_EINVAL;
	}
	int pt = t ? 443 : 80;
	const char *rest;
	int rc = parse_hostport(p, host, host_cap, &pt, &rest);
	if (rc)
		return rc;
	if (*rest == '\0')
		rc = copy_str(path, path_cap, "/", 1);
	else if (*rest == '/')
		rc = copy_str(path, path_cap, rest, strlen(rest));
	else
		rc = WA_EINVAL;
	if (rc)
		return rc;
	*tls = t;
	*port = pt;
	return 0;
}

/* %-decodes n bytes of URL userinfo into dst (NUL-terminated); control
 * bytes are refused because lws puts the credentials in a header. */
static int userinfo_decode(const char *p, size_t n, char *dst, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)p[i];
		if (c == '%') {
			if (n - i < 3)
				return WA_EINVAL;
			int h = hexval_c(p[i + 1]), l = hexval_c(p[i + 2]);
			if (h < 0 || l < 0)
				return WA_EINVAL;
			c = h << 4 | l;
			i += 2;
		}
		if (c < 0x20 || c == 0x7f)
			return WA_EINVAL;
		if (o + 1 >= cap)
			return WA_ETOOBIG;
		dst[o++] = (char)c;
	}
	dst[o] = '\0';
	return 0;
}

int wa_tr_parse_proxy(const char *proxy, wa_tr_proxy *out)
{
	if (!proxy || !out || strlen(proxy) > WA_TR_MAX_URL)
		return WA_EINVAL;
	wa_tr_proxy px;
	memset(&px, 0, sizeof px);
	const char *p;
	if (strncmp(proxy, "http://", 7) == 0) {
		p = proxy + 7;
	} else if (strncmp(proxy, "socks5://", 9) == 0) {
		px.socks = true;
		p = proxy + 9;
	} else if (strncmp(proxy, "socks4://", 9) == 0) {
		px.socks = px.socks4 = true;
		p = proxy + 9;
	} else {
		return WA_EINVAL;
	}
	/* userinfo ends at the last '@' before the path */
	size_t auth_end = strcspn(p, "/?#");
	const char *at = NULL;
	for (size_t i = 0; i < auth_end; i++)
		if (p[i] == '@')
			at = p + i;
	int rc = WA_EINVAL;
	if (at) {
		const char *colon = memchr(p, ':', (size_t)(at - p));
		if (!colon && px.socks4)
			colon = at; /* socks4 has a user id and no password */
		if (!colon || colon == p)
			goto out; /* user and password both required */
		if ((rc = userinfo_decode(p, (size_t)(colon - p), px.user, sizeof px.user)) != 0)
			goto out;
		if (colon < at && (rc = userinfo_decode(colon + 1, (size_t)(at - colon - 1), px.pass,
					   sizeof px.pass)) != 0)
			goto out;
		rc = WA_EINVAL;
		if (strchr(px.user, ':') || (px.socks4 && px.pass[0]))
			goto out;
		rc = WA_ETOOBIG;
		if (strlen(px.user) + 1 + strlen(px.pass) > WA_TR_MAX_PROXY_AUTH)
			goto out;
		px.has_auth = true;
		p = at + 1;
	}
	rc = WA_EINVAL;
	if (*p == '[')
		goto out; /* lws 4.1 splits the proxy host at its first ':' */
	const char *rest;
	rc = parse_hostport(p, px.host, sizeof px.host, &px.port, &rest);
	if (rc == 0 && (px.port == 0 || (*rest != '\0' && strcmp(rest, "/") != 0)))
		rc = WA_EINVAL;
	if (rc == 0)
		*out = px;
out:
	explicit_bzero(&px, sizeof px); /* the password, when it failed part way */
	return rc;
}

int wa_tr_proxy_check(const char *proxy)
{
	wa_tr_proxy px;
	int rc = wa_tr_parse_proxy(proxy, &px);
	explicit_bzero(&px, sizeof px);
	/* http:// rides lws' CONNECT support, socks5:// and socks4:// our
	 * bridge: all work on every lws build with LWS_CLIENT_HTTP_PROXYING */
	return rc;
}

/* lws 4.1 sets proxies per vhost, not per connection, so a connection with
 * a proxy gets its own client-only vhost carrying that proxy. Credentials go
 * in as "user:pass@host" (lws_set_proxy turns them into a Basic
 * Proxy-Authorization header); the port is passed on its own. A socks5://
 * or socks4:// proxy becomes an HTTP proxy too: the loopback bridge (socks_bridge.c)
 * with this connection's route token as credentials. lws' own SOCKS5
 * client, when built in, is not used, so every build behaves the same. */
static int make_proxy_vhost(struct lws_context *ctx, const char *proxy, struct lws_vhost **out,
	wa_socks_route **route_out)
{
	wa_tr_proxy px;
	int rc = wa_tr_parse_proxy(proxy, &px);
	if (rc)
		return rc;
	char addr[sizeof px.user + sizeof px.pass + sizeof px.host + 4];
	int port = px.port;
	wa_socks_route *route = NULL;
	if (px.socks)
		rc = wa_socks_route_add(ctx, &px, addr, sizeof addr, &port, &route);
	else if (px.has_auth)
		snprintf(addr, sizeof addr, "%s:%s@%s", px.user, px.pass, px.host);
	else
		snprintf(addr, sizeof addr, "%s", px.host);
	explicit_bzero(&px, sizeof px);
	if (rc)
		return rc;
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = wa_protocols;
	info.vhost_name = "wa-proxy";
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	info.http_proxy_address = addr;
	info.http_proxy_port = (unsigned)port;
	struct lws_vhost *vh = lws_create_vhost(ctx, &info);
	explicit_bzero(addr, sizeof addr);
	if (!vh) {
		wa_socks_route_del(route);
		return WA_EIO;
	}
	*out = vh;
	*route_out = route;
	return 0;
}

static void stage_tick(lws_sorted_usec_list_t *sul)
{
	struct wa_tr_conn *c = lws_container_of(sul, struct wa_tr_conn, stage_sul);
	if (!c->wsi || c->open)
		return;
	lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, WA_TR_STAGE_PUSH_S);
	lws_sul_schedule(c->ctx, 0, &c->stage_sul, stage_tick, WA_TR_STAGE_TICK_US);
}

static int tr_open(void *ctx, const wa_tr_config *cfg, const wa_tr_events *ev, void *user,
	void **conn_out)
{
	struct lws_context *lctx = ctx;
	if (!lctx || !cfg || !cfg->url || !ev)
		return WA_EINVAL;
	char host[256], path[WA_TR_MAX_URL + 1], hosthdr[300];
	int port;
	bool tls;
	int rc = wa_tr_parse_url(cfg->url, &tls, host, sizeof host, &port, path, sizeof path);
	if (rc)
		return rc;
	struct wa_tr_conn *c = calloc(1, sizeof *c);
	if (!c)
		return WA_ENOMEM;
	c->ctx = lctx;
	c->ev = ev;
	c->user = user;
	if (cfg->proxy && cfg->proxy[0]) {
		rc = make_proxy_vhost(lctx, cfg->proxy, &c->proxy_vhost, &c->socks_route);
		if (rc) {
			free(c);
			return rc;
		}
	}
	snprintf(hosthdr, sizeof hosthdr, "%s", host);
	struct lws_client_connect_info ci;
	memset(&ci, 0, sizeof ci);
	ci.context = lctx;
	ci.vhost = c->proxy_vhost;
	ci.address = host;
	ci.port = port;
	ci.path = path;
	ci.host = hosthdr;
	ci.origin = cfg->origin;
	ci.protocol = NULL; /* no subprotocol (§1.1) */
	ci.local_protocol_name = WA_TR_PROTOCOL_NAME;
	ci.ietf_version_or_minus_one = -1;
	if (tls) {
		ci.ssl_connection = LCCSCF_USE_SSL;
		if (cfg->tls_insecure)
			ci.ssl_connection |= LCCSCF_ALLOW_SELFSIGNED |
				LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK | LCCSCF_ALLOW_EXPIRED |
				LCCSCF_ALLOW_INSECURE;
	}
	ci.opaque_user_data = c;
	ci.pwsi = &c->wsi;
	ci.retry_and_idle_policy = &no_validity_check;
	c->in_open = true;
	struct lws *wsi = lws_client_connect_via_info(&ci);
	c->in_open = false;
	if (!wsi || c->failed) {
		/* A failure reported synchronously: the wsi (if any) is already
		 * gone or going; let it free us if it still holds us. */
		if (ev->on_fail_detail) {
			/* lws 4.1 resolves names synchronously in the call above and
			 * fails without a word when the name does not resolve; a
			 * numeric address cannot fail there that way */
			unsigned char a6[16];
			bool numeric = inet_pton(AF_INET, host, a6) == 1 || inet_pton(AF_INET6, host, a6) == 1;
			int step = c->fail_step ? c->fail_step
				: c->proxy_vhost ? WA_TR_STEP_PROXY : numeric ? WA_TR_STEP_TCP : WA_TR_STEP_DNS;
			ev->on_fail_detail(user, step, c->fail_text && c->fail_text[0] ? c->fail_text
				: step == WA_TR_STEP_DNS ? "the name did not resolve" : "");
		}
		c->released = true;
		c->ev = NULL;
		if (!c->wsi || c->failed)
			conn_destroy(c);
		return WA_EIO;
	}
	stage_tick(&c->stage_sul);
	*conn_out = c;
	return 0;
}

static int tr_send(void *conn, const uint8_t *p, size_t len)
{
	struct wa_tr_conn *c = conn;
	if (!c || !c->wsi || !c->open || c->closing || c->released)
		return WA_ESTATE;
	if (len > WA_TR_MAX_QUEUED - c->tx_bytes)
		return WA_ETOOBIG;
	struct tx_buf *b = malloc(sizeof *b + LWS_PRE + len);
	if (!b)
		return WA_ENOMEM;
	b->next = NULL;
	b->len = len;
	memcpy(b->data + LWS_PRE, p, len);
	if (c->tx_tail)
		c->tx_tail->next = b;
	else
		c->tx_head = b;
	c->tx_tail = b;
	c->tx_bytes += len;
	lws_callback_on_writable(c->wsi);
	return 0;
}

static void tr_close(void *conn)
{
	struct wa_tr_conn *c = conn;
	if (!c)
		return;
	c->released = true;
	c->ev = NULL;
	lws_sul_cancel(&c->stage_sul); /* the kill below is the wsi's last timeout */
	if (!c->wsi) {
		conn_destroy(c);
		return;
	}
	if (c->open && c->tx_head) {
		/* flush what the owner queued last (a logout iq, an ack), then
		 * close from the writable callback; bounded by a timeout */
		lws_callback_on_writable(c->wsi);
		lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, WA_TR_FLUSH_TIMEOUT_S);
		return;
	}
	/* Ask lws to close now; the kill timeout also covers a wsi that is
	 * still connecting and never becomes writable. */
	c->closing = true;
	tx_free_all(c);
	lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
	if (!c->open) {
		/* before the upgrade lws 4.1 frees a killed wsi without a
		 * callback: let go of it now, nothing will tell us later */
		lws_set_opaque_user_data(c->wsi, NULL);
		conn_destroy(c);
	}
}

static void sched_cb(lws_sorted_usec_list_t *sul);

static void sched_free(struct tr_sched *s)
{
	lws_sul_cancel(&s->sul);
	for (struct tr_sched **pp = &g_scheds; *pp; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	wa_theap_fini(&s->heap);
	free(s);
}

/* Points the lws sul at the earliest deadline when that moved earlier; a
 * sul left pointing later than needed is never set, one pointing earlier
 * (the top was cancelled) just fires and re-arms. */
static void sched_arm(struct tr_sched *s)
{
	const wa_theap_node *top = wa_theap_top(&s->heap);
	if (!top || (s->sul_due && s->sul_due <= top->due))
		return;
	int64_t now = (int64_t)lws_now_usecs();
	s->sul_due = top->due;
	lws_sul_schedule(s->ctx, 0, &s->sul, sched_cb,
		(lws_usec_t)(top->due > now ? top->due - now : 0));
}

static void sched_cb(lws_sorted_usec_list_t *sul)
{
	struct tr_sched *s = lws_container_of(sul, struct tr_sched, sul);
	s->sul_due = 0;
	s->in_fire = true;
	int64_t now = (int64_t)lws_now_usecs();
	/* bounded: a callback re-arming itself at 0 ms waits for the next round */
	for (size_t budget = s->heap.n; budget > 0; budget--) {
		wa_theap_node *top = wa_theap_top(&s->heap);
		if (!top || top->due > now)
			break;
		struct wa_tr_timer *t = lws_container_of(top, struct wa_tr_timer, node);
		wa_theap_remove(&s->heap, top);
		t->fn(t->user); /* may set, cancel or free any timer, this one too */
	}
	s->in_fire = false;
	if (s->timers == 0)
		sched_free(s);
	else
		sched_arm(s);
}

static int tr_timer_new(void *ctx, wa_timer_fn fn, void *user, void **t_out)
{
	if (!ctx || !fn)
		return WA_EINVAL;
	struct tr_sched *s = g_scheds;
	while (s && s->ctx != ctx)
		s = s->next;
	bool fresh = !s;
	if (fresh) {
		s = calloc(1, sizeof *s);
		if (!s)
			return WA_ENOMEM;
		s->ctx = ctx;
		wa_theap_init(&s->heap);
	}
	struct wa_tr_timer *t = calloc(1, sizeof *t);
	if (!t || wa_theap_reserve(&s->heap, s->timers + 1) != 0) {
		free(t);
		if (fresh) {
			wa_theap_fini(&s->heap);
			free(s);
		}
		return WA_ENOMEM;
	}
	if (fresh) {
		s->next = g_scheds;
		g_scheds = s;
	}
	s->timers++;
	wa_theap_node_init(&t->node);
	t->s = s;
	t->fn = fn;
	t->user = user;
	*t_out = t;
	return 0;
}

static void tr_timer_set(void *tp, uint32_t ms)
{
	struct wa_tr_timer *t = tp;
	int64_t due = (int64_t)lws_now_usecs() + (int64_t)ms * LWS_US_PER_MS;
	/* cannot fail: tr_timer_new reserved this timer's slot */
	if (wa_theap_set(&t->s->heap, &t->node, due) != 0)
		return;
	if (!t->s->in_fire)
		sched_arm(t->s);
}

static void tr_timer_cancel(void *tp)
{
	struct wa_tr_timer *t = tp;
	wa_theap_remove(&t->s->heap, &t->node);
}

static void tr_timer_free(void *tp)
{
	struct wa_tr_timer *t = tp;
	if (!t)
		return;
	struct tr_sched *s = t->s;
	wa_theap_remove(&s->heap, &t->node);
	free(t);
	if (--s->timers == 0 && !s->in_fire)
		sched_free(s);
}

static int64_t tr_now(void *ctx)
{
	(void)ctx;
	return (int64_t)(lws_now_usecs() / LWS_US_PER_MS);
}

const wa_tr_driver wa_tr_lws_driver = {
	.open = tr_open,
	.send = tr_send,
	.close = tr_close,
	.timer_new = tr_timer_new,
	.timer_set = tr_timer_set,
	.timer_cancel = tr_timer_cancel,
	.timer_free = tr_timer_free,
	.now_ms = tr_now,
};
