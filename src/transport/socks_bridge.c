/* src/transport/socks_bridge.c: the loopback HTTP-CONNECT-to-SOCKS5 bridge
 * (see socks_bridge.h). One listening raw vhost per lws_context, created on
 * first use and destroyed with the context. A "tunnel" is one link: the
 * accepted connection from lws' HTTP proxying ("down") and our raw client
 * connection to the SOCKS proxy ("up"). Each side has an outgoing queue;
 * reading stops while the other side's queue is over WA_BRIDGE_MAX_QUEUED. */
#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

#include "transport/connect_head.h"
#include "transport/socks5.h"
#include "transport/socks_bridge.h"
#include "util/codec.h"
#include "util/log.h"
#include "util/seams.h"

#define MOD "transport"
#define BRIDGE_VHOST "wa-socks-bridge"
#define BRIDGE_PROTOCOL "wa-socks-bridge"
#define WA_BRIDGE_MAX_QUEUED (1024u * 1024)
#define WA_BRIDGE_HANDSHAKE_S 15 /* CONNECT head + SOCKS handshake deadline */
#define WA_BRIDGE_FLUSH_S 2
#define TOKEN_BYTES 16

struct wa_socks_route {
	struct wa_socks_route *next, **pprev;
	char cred_b64[64];       /* base64("wa:<token hex>"): what lws sends */
	wa_tr_proxy px;          /* the SOCKS proxy (secret: credentials) */
};

typedef struct bridge {
	struct lws_vhost *vh;
	int port;
	struct wa_socks_route *routes;
} bridge;

struct chunk {
	struct chunk *next;
	size_t len;
	bool secret;    /* SOCKS credentials: wiped before free */
	uint8_t data[]; /* LWS_PRE headroom, then len bytes */
};

struct side {
	struct lws *wsi;
	struct chunk *head, *tail; /* bytes to write to this side */
	size_t queued;
	bool closing;              /* close once the queue is written */
	bool throttled;            /* we stopped reading the other side */
};

enum link_state { L_HEAD, L_SOCKS, L_RELAY, L_DEAD };

typedef struct tunnel {
	enum link_state st;
	struct side down, up;
	char *head;                /* WA_CONNECT_MAX_HEAD bytes: the CONNECT head, then
	                            * the SOCKS greeting; freed once the greeting is
	                            * queued (a relaying tunnel keeps no buffer) */
	size_t hlen;
	wa_socks5 s5;
	char proxy_name[300];      /* host:port of the SOCKS proxy, for logs */
} tunnel;

static void chunk_free(struct chunk *c)
{
	if (c->secret)
		explicit_bzero(c->data + LWS_PRE, c->len);
	free(c);
}

static void side_free_queue(struct side *sd)
{
	struct chunk *c = sd->head;
	while (c) {
		struct chunk *n = c->next;
		chunk_free(c);
		c = n;
	}
	sd->head = sd->tail = NULL;
	sd->queued = 0;
}

static void head_release(tunnel *l)
{
	if (l->head) {
		explicit_bzero(l->head, WA_CONNECT_MAX_HEAD);
		free(l->head);
		l->head = NULL;
	}
	l->hlen = 0;
}

static void tunnel_maybe_free(tunnel *l)
{
	if (l->down.wsi || l->up.wsi)
		return;
	side_free_queue(&l->down);
	side_free_queue(&l->up);
	wa_socks5_clear(&l->s5);
	head_release(l);
	free(l);
}

static int side_queue_x(struct side *sd, const void *p, size_t n, bool secret)
{
	if (!sd->wsi || n == 0)
		return 0;
	struct chunk *c = malloc(sizeof *c + LWS_PRE + n);
	if (!c)
		return WA_ENOMEM;
	c->next = NULL;
	c->len = n;
	c->secret = secret;
	memcpy(c->data + LWS_PRE, p, n);
	if (sd->tail)
		sd->tail->next = c;
	else
		sd->head = c;
	sd->tail = c;
	sd->queued += n;
	lws_callback_on_writable(sd->wsi);
	return 0;
}

static int side_queue(struct side *sd, const void *p, size_t n)
{
	return side_queue_x(sd, p, n, false);
}

/* Closes a side after its queue is written (bounded by a timeout). */
static void side_close(struct side *sd)
{
	if (!sd->wsi)
		return;
	sd->closing = true;
	if (sd->head) {
		lws_callback_on_writable(sd->wsi);
		lws_set_timeout(sd->wsi, PENDING_TIMEOUT_CLOSE_SEND, WA_BRIDGE_FLUSH_S);
	} else {
		lws_set_timeout(sd->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
	}
}

/* Tells lws (down) the tunnel failed: one write, as lws reads the answer
 * with a single recv. */
static void fail_down(tunnel *l, const char *status)
{
	char r[96];
	int n = snprintf(r, sizeof r, "HTTP/1.1 %s\r\nContent-Length: 0\r\n\r\n", status);
	l->st = L_DEAD;
	(void)side_queue(&l->down, r, (size_t)n);
	side_close(&l->down);
	side_close(&l->up);
}

static bridge *bridge_of(struct lws_vhost *vh)
{
	const struct lws_protocols *pr = lws_vhost_name_to_protocol(vh, BRIDGE_PROTOCOL);
	return pr ? lws_protocol_vh_priv_get(vh, pr) : NULL;
}

static bool ct_streq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned d = (unsigned)(la ^ lb);
	for (size_t i = 0; i < la && i < lb; i++)
		d |= (unsigned)(a[i] ^ b[i]);
	return d == 0;
}

/* A whole CONNECT head from lws: find the route, dial the SOCKS proxy. */
static void on_connect_head(tunnel *l, struct lws *down, const wa_connect_req *req, size_t head_len)
{
	bridge *b = bridge_of(lws_get_vhost(down));
	struct wa_socks_route *r = NULL;
	for (struct wa_socks_route *it = b ? b->routes : NULL; it; it = it->next)
		if (req->has_auth && ct_streq(req->cred_b64, it->cred_b64))
			r = it;
	if (!r) {
		WA_DEBUG(MOD, "socks bridge: CONNECT without a known route refused");
		fail_down(l, "407 Proxy Authentication Required");
		return;
	}
	uint8_t greet[WA_SOCKS5_MAX_OUT];
	size_t glen;
	int rc = r->px.socks4 ?
		wa_socks4_start(&l->s5, req->host, req->port, r->px.has_auth ? r->px.user : NULL, greet,
			sizeof greet, &glen) :
		wa_socks5_start(&l->s5, req->host, req->port, r->px.has_auth ? r->px.user : NULL,
			r->px.has_auth ? r->px.pass : NULL, greet, sizeof greet, &glen);
	if (rc) {
		fail_down(l, "502 Bad Gateway");
		return;
	}
	snprintf(l->proxy_name, sizeof l->proxy_name, "%s %s:%d", r->px.socks4 ? "socks4" : "socks5",
		r->px.host, r->px.port);
	/* bytes after the head (none expected: lws waits for our 200) go up */
	if (head_len < l->hlen)
		(void)side_queue(&l->up, l->head + head_len, l->hlen - head_len);
	explicit_bzero(l->head, WA_CONNECT_MAX_HEAD);
	l->hlen = 0;
	struct lws_client_connect_info ci;
	memset(&ci, 0, sizeof ci);
	ci.context = lws_get_context(down);
	ci.vhost = lws_get_vhost(down);
	ci.address = r->px.host;
	ci.port = r->px.port;
	ci.method = "RAW";
	ci.local_protocol_name = BRIDGE_PROTOCOL;
	ci.opaque_user_data = l;
	ci.pwsi = &l->up.wsi;
	l->st = L_SOCKS;
	struct lws *up = lws_client_connect_via_info(&ci);
	if (l->st == L_DEAD)
		return; /* failed synchronously: side_gone answered lws already */
	if (!up) {
		l->up.wsi = NULL;
		fail_down(l, "502 Bad Gateway");
		return;
	}
	lws_set_timeout(up, PENDING_TIMEOUT_AWAITING_PROXY_RESPONSE, WA_BRIDGE_HANDSHAKE_S);
	/* the greeting goes out once connected (RAW_CONNECTED) */
	memcpy(l->head, greet, glen);
	l->hlen = glen;
}

static void socks_rx(tunnel *l, const uint8_t *p, size_t n)
{
	while (n && l->st == L_SOCKS) {
		uint8_t out[WA_SOCKS5_MAX_OUT];
		size_t used = 0, olen = 0;
		int rc = wa_socks5_feed(&l->s5, p, n, &used, out, sizeof out, &olen);
		if (rc < 0) {
			if (l->s5.fail == WA_S5_CONNECT_REFUSED)
				wa_log(WA_LOG_WARN, MOD, "%s proxy refused the connection: %s",
					l->proxy_name, wa_socks5_rep_name(l->s5.rep));
			else
				wa_log(WA_LOG_WARN, MOD, "%s proxy: %s", l->proxy_name,
					l->s5.fail == WA_S5_AUTH_REFUSED ? "username/password refused" :
					l->s5.fail == WA_S5_NO_METHOD ? "no acceptable authentication method" :
					"not a SOCKS answer");
			fail_down(l, "502 Bad Gateway");
			return;
		}
		if (olen)
			(void)side_queue_x(&l->up, out, olen, true); /* may hold the password */
		explicit_bzero(out, sizeof out);
		p += used;
		n -= used;
		if (rc == 1) {
			static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
			l->st = L_RELAY;
			lws_set_timeout(l->up.wsi, NO_PENDING_TIMEOUT, 0);
			lws_set_timeout(l->down.wsi, NO_PENDING_TIMEOUT, 0);
			(void)side_queue(&l->down, ok, sizeof ok - 1);
			if (n)
				(void)side_queue(&l->down, p, n);
			return;
		}
	}
}

/* Relay rx from one side into the other's queue, throttling the reader. */
static int relay_rx(struct lws *from, struct side *to, const void *p, size_t n)
{
	if (!to->wsi)
		return -1;
	if (side_queue(to, p, n))
		return -1;
	if (to->queued > WA_BRIDGE_MAX_QUEUED && !to->throttled) {
		to->throttled = true;
		lws_rx_flow_control(from, 0);
	}
	return 0;
}

static int side_writable(tunnel *l, struct side *sd, struct side *other)
{
	struct chunk *c = sd->head;
	if (!c)
		return sd->closing ? -1 : 0;
	int w = lws_write(sd->wsi, c->data + LWS_PRE, c->len, LWS_WRITE_RAW);
	if (w < (int)c->len)
		return -1;
	sd->head = c->next;
	if (!sd->head)
		sd->tail = NULL;
	sd->queued -= c->len;
	chunk_free(c);
	if (sd->throttled && sd->queued < WA_BRIDGE_MAX_QUEUED / 2) {
		sd->throttled = false;
		if (other->wsi)
			lws_rx_flow_control(other->wsi, 1);
	}
	(void)l;
	if (sd->head || sd->closing)
		lws_callback_on_writable(sd->wsi);
	return 0;
}

/* A side's wsi is gone: close the other after its queue drains. */
static void side_gone(tunnel *l, struct lws *wsi)
{
	struct side *sd = l->down.wsi == wsi ? &l->down : l->up.wsi == wsi ? &l->up : NULL;
	if (!sd)
		return;
	lws_set_opaque_user_data(wsi, NULL);
	sd->wsi = NULL;
	side_free_queue(sd);
	struct side *other = sd == &l->down ? &l->up : &l->down;
	if (sd == &l->up && l->st == L_SOCKS)
		fail_down(l, "502 Bad Gateway"); /* the SOCKS proxy is unreachable or hung up */
	else
		side_close(other);
	l->st = L_DEAD;
	tunnel_maybe_free(l);
}

static int bridge_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
	size_t len)
{
	(void)user;
	tunnel *l = wsi ? lws_get_opaque_user_data(wsi) : NULL;
	switch (reason) {
	case LWS_CALLBACK_RAW_ADOPT: {
		/* lws' HTTP proxying connected to us */
		l = calloc(1, sizeof *l);
		if (l)
			l->head = malloc(WA_CONNECT_MAX_HEAD);
		if (!l || !l->head) {
			free(l);
			return -1;
		}
		l->st = L_HEAD;
		l->down.wsi = wsi;
		lws_set_opaque_user_data(wsi, l);
		lws_set_timeout(wsi, PENDING_TIMEOUT_AWAITING_PROXY_RESPONSE, WA_BRIDGE_HANDSHAKE_S);
		return 0;
	}
	case LWS_CALLBACK_RAW_CONNECTED:
		/* up: connected to the SOCKS proxy, send the greeting */
		if (!l || l->up.wsi != wsi)
			return -1;
		if (!l->head || side_queue(&l->up, l->head, l->hlen))
			return -1;
		head_release(l);
		return 0;
	case LWS_CALLBACK_RAW_RX:
		if (!l)
			return -1;
		if (wsi == l->down.wsi) {
			if (l->st == L_RELAY)
				return relay_rx(wsi, &l->up, in, len);
			if (l->st != L_HEAD)
				return 0; /* nothing is expected before our answer */
			if (!l->head || len > WA_CONNECT_MAX_HEAD - l->hlen) {
				fail_down(l, "400 Bad Request");
				return 0;
			}
			memcpy(l->head + l->hlen, in, len);
			l->hlen += len;
			wa_connect_req req;
			int h = wa_connect_head_parse(l->head, l->hlen, &req);
			if (h < 0)
				fail_down(l, "400 Bad Request");
			else if (h > 0)
				on_connect_head(l, wsi, &req, (size_t)h);
			explicit_bzero(&req, sizeof req);
			return 0;
		}
		if (wsi == l->up.wsi) {
			if (l->st == L_SOCKS) {
				socks_rx(l, in, len);
				return 0;
			}
			if (l->st == L_RELAY)
				return relay_rx(wsi, &l->down, in, len);
		}
		return 0;
	case LWS_CALLBACK_RAW_WRITEABLE:
		if (!l)
			return -1;
		if (wsi == l->down.wsi)
			return side_writable(l, &l->down, &l->up);
		if (wsi == l->up.wsi)
			return side_writable(l, &l->up, &l->down);
		return 0;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		WA_DEBUG(MOD, "socks bridge: SOCKS proxy connection failed: %s",
			in ? (const char *)in : "(none)");
		if (l)
			side_gone(l, wsi);
		return 0;
	case LWS_CALLBACK_RAW_CLOSE:
	case LWS_CALLBACK_WSI_DESTROY:
		if (l)
			side_gone(l, wsi);
		return 0;
	case LWS_CALLBACK_PROTOCOL_DESTROY: {
		/* the context is going: routes still registered are orphans */
		bridge *b = lws_protocol_vh_priv_get(lws_get_vhost(wsi), lws_get_protocol(wsi));
		while (b && b->routes) {
			/* orphaned: their owners still free them (route_del) */
			struct wa_socks_route *r = b->routes;
			b->routes = r->next;
			r->next = NULL;
			r->pprev = NULL;
		}
		return 0;
	}
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols bridge_protocols[] = {
	{BRIDGE_PROTOCOL, bridge_cb, 0, 0, 0, NULL, 0},
	{NULL, NULL, 0, 0, 0, NULL, 0},
};

static bridge *bridge_get(struct lws_context *ctx)
{
	struct lws_vhost *vh = lws_get_vhost_by_name(ctx, BRIDGE_VHOST);
	if (vh)
		return bridge_of(vh);
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof info);
	info.vhost_name = BRIDGE_VHOST;
	info.iface = "127.0.0.1";
	info.port = 0; /* the kernel picks */
	info.protocols = bridge_protocols;
	info.options = LWS_SERVER_OPTION_ADOPT_APPLY_LISTEN_ACCEPT_CONFIG;
	info.listen_accept_role = "raw-skt";
	info.listen_accept_protocol = BRIDGE_PROTOCOL;
	vh = lws_create_vhost(ctx, &info);
	if (!vh)
		return NULL;
	bridge *b = lws_protocol_vh_priv_zalloc(vh, lws_vhost_name_to_protocol(vh, BRIDGE_PROTOCOL),
		(int)sizeof *b);
	if (!b) {
		lws_vhost_destroy(vh);
		return NULL;
	}
	b->vh = vh;
	b->port = lws_get_vhost_listen_port(vh);
	if (b->port <= 0) {
		lws_vhost_destroy(vh);
		return NULL;
	}
	WA_DEBUG(MOD, "socks bridge listening on 127.0.0.1:%d", b->port);
	return b;
}

int wa_socks_route_add(struct lws_context *ctx, const wa_tr_proxy *px, char *addr, size_t addr_cap,
	int *port, wa_socks_route **out)
{
	bridge *b = bridge_get(ctx);
	if (!b)
		return WA_EIO;
	uint8_t tok[TOKEN_BYTES];
	wa_rand_bytes(tok, sizeof tok);
	char *hx = wa_hex_encode(tok, sizeof tok);
	explicit_bzero(tok, sizeof tok);
	if (!hx)
		return WA_ENOMEM;
	char cred[8 + 2 * TOKEN_BYTES];
	snprintf(cred, sizeof cred, "wa:%s", hx);
	int n = snprintf(addr, addr_cap, "%s@127.0.0.1", cred);
	explicit_bzero(hx, strlen(hx));
	free(hx);
	struct wa_socks_route *r = calloc(1, sizeof *r);
	char *b64 = r ? wa_b64_encode((const uint8_t *)cred, strlen(cred)) : NULL;
	explicit_bzero(cred, sizeof cred);
	if (n < 0 || (size_t)n >= addr_cap || !b64 || strlen(b64) >= sizeof r->cred_b64) {
		explicit_bzero(addr, addr_cap);
		free(b64);
		free(r);
		return n < 0 || (size_t)n >= addr_cap ? WA_ETOOBIG : WA_ENOMEM;
	}
	memcpy(r->cred_b64, b64, strlen(b64) + 1);
	explicit_bzero(b64, strlen(b64));
	free(b64);
	r->px = *px;
	r->next = b->routes;
	if (b->routes)
		b->routes->pprev = &r->next;
	r->pprev = &b->routes;
	b->routes = r;
	*port = b->port;
	*out = r;
	return 0;
}

void wa_socks_route_del(wa_socks_route *r)
{
	if (!r)
		return;
	if (r->pprev) {
		*r->pprev = r->next;
		if (r->next)
			r->next->pprev = r->pprev;
	}
	explicit_bzero(r, sizeof *r);
	free(r);
}
