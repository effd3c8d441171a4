/* src/transport: the byte pipe under the Noise layer (STYLE §1) and the
 * loop's timers. A "driver" is a const table of functions: the real one
 * (wa_tr_lws_driver, ws.c) opens WebSocket client connections and lws_sul
 * timers on the embedder's lws_context; unit tests substitute a fake one.
 * Nothing outside src/transport and daemon/ includes libwebsockets.h, so
 * the session engine sees only this header.
 *
 * Data: every received WebSocket message (or fragment of one) is handed up
 * as a byte chunk; boundaries mean nothing (transport-and-pairing.md §1.2).
 * Every send is one binary WebSocket message.
 *
 * Threading: loop thread only. Callbacks never run inside the driver call
 * that caused them (open/send/close report failures by return value) except
 * where noted, and never after close() returned. */
#ifndef WA_TRANSPORT_WS_H
#define WA_TRANSPORT_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wa/wa.h"

/* Bytes queued for sending on one connection before send() refuses with
 * WA_ETOOBIG (backpressure: the caller stops producing). */
#define WA_TR_MAX_QUEUED (32u * 1024 * 1024)
/* Longest URL / proxy string accepted. */
#define WA_TR_MAX_URL 1024
/* Longest "user:password" of an http:// proxy, after %-decoding: lws 4.1
 * base64-encodes it into a 128-byte field and silently drops the
 * credentials when they do not fit, so we refuse longer ones up front. */
#define WA_TR_MAX_PROXY_AUTH 90

typedef struct wa_tr_config {
	const char *url;        /* ws://host[:port]/path or wss://... (required) */
	const char *origin;     /* Origin header value, NULL for none */
	bool tls_insecure;      /* wss: accept self-signed / mismatched certs (tests) */
	const char *proxy;      /* NULL or a proxy URL (wa_tr_parse_proxy) */
} wa_tr_config;

/* A parsed proxy URL. */
typedef struct wa_tr_proxy {
	bool socks;             /* socks5:// or socks4:// (else http:// CONNECT) */
	bool socks4;            /* socks4:// (SOCKS4a: names resolved by the proxy) */
	char host[256];         /* name or IPv4 literal */
	int port;               /* 1..65535, required */
	bool has_auth;
	char user[WA_TR_MAX_PROXY_AUTH + 1]; /* %-decoded, no ':' */
	char pass[WA_TR_MAX_PROXY_AUTH + 1]; /* %-decoded (secret: never log) */
} wa_tr_proxy;

typedef struct wa_tr_events {
	/* The WebSocket is open; sends may start. */
	void (*on_open)(void *user);
	/* A chunk of received bytes (borrowed for the call). */
	void (*on_data)(void *user, const uint8_t *p, size_t len);
	/* The connection failed or closed (err: WA_ECLOSED, WA_EIO, WA_EPROXY
	 * when the proxy was unreachable or refused the tunnel, ...). No
	 * further callbacks follow; the caller must still call close(). */
	void (*on_close)(void *user, int err);
	/* Optional (NULL ok): the n-th message sent on this connection (1-based,
	 * counting every successful send) was written to the socket. Called
	 * from the driver's write path; must not close the connection. */
	void (*on_written)(void *user, uint64_t n);
	/* Optional (NULL ok): called just before on_close when the connection
	 * failed before on_open (or from inside open() just before it returns
	 * WA_EIO for a failure found at once), with the step that failed (WA_TR_STEP_*) and
	 * the transport's own words (borrowed; may be ""), so the owner can
	 * tell a user what to check. */
	void (*on_fail_detail)(void *user, int step, const char *text);
} wa_tr_events;

/* How far a connection attempt got before it failed. */
enum wa_tr_step {
	WA_TR_STEP_DNS = 1,     /* resolving the server's name */
	WA_TR_STEP_TCP,         /* opening the TCP connection */
	WA_TR_STEP_TLS,         /* the TLS handshake (wss://) */
	WA_TR_STEP_UPGRADE,     /* the HTTP request upgrading to WebSocket */
	WA_TR_STEP_PROXY,       /* reaching the proxy or opening its tunnel */
};
/* "DNS", "TCP", "TLS", "WebSocket upgrade", "proxy" (static). */
const char *wa_tr_step_name(int step);
/* The step a failed attempt stopped at, from the transport's error text
 * and whether the upgrade request was already being written (pure; for
 * tests). */
int wa_tr_classify_failure(const char *text, bool upgrade_sent, bool via_proxy);

typedef void (*wa_timer_fn)(void *user);

typedef struct wa_tr_driver {
	/* Starts connecting. On success *conn_out is the connection (callbacks
	 * follow asynchronously). On failure nothing is owned and no callback
	 * follows. Errors: WA_EINVAL (bad URL/proxy), WA_EIO, WA_ENOMEM. */
	int (*open)(void *ctx, const wa_tr_config *cfg, const wa_tr_events *ev, void *user,
		void **conn_out);
	/* Queues one binary message (copied). WA_ESTATE before on_open or after
	 * on_close, WA_ETOOBIG past WA_TR_MAX_QUEUED, WA_ENOMEM. */
	int (*send)(void *conn, const uint8_t *p, size_t len);
	/* Closes (if still open) and releases conn; no callback follows. NULL ok. */
	void (*close)(void *conn);
	/* Timers: one-shot, re-armable, owned by the caller. */
	int (*timer_new)(void *ctx, wa_timer_fn fn, void *user, void **t_out);
	void (*timer_set)(void *t, uint32_t ms);    /* (re)arms */
	void (*timer_cancel)(void *t);
	void (*timer_free)(void *t);                /* cancels; NULL ok */
	/* Monotonic milliseconds. */
	int64_t (*now_ms)(void *ctx);
} wa_tr_driver;

/* The libwebsockets driver; ctx is the struct lws_context *. */
extern const wa_tr_driver wa_tr_lws_driver;

/* Parses ws[s]://host[:port][/path] into parts (for tests and the driver).
 * host/path are written NUL-terminated into the caller's buffers. Errors:
 * WA_EINVAL (scheme, empty host, bad port), WA_ETOOBIG (buffers). */
int wa_tr_parse_url(const char *url, bool *tls, char *host, size_t host_cap, int *port,
	char *path, size_t path_cap) WA_MUST_CHECK;
/* Parses a proxy URL "http://[user:pass@]host:port[/]",
 * "socks5://[user:pass@]host:port[/]" or "socks4://[user[:]@]host:port[/]"
 * (user and pass %-decoded; control bytes, ':' in the user, a socks4
 * password and IPv6 literals refused). *out is written only on
 * success. Errors: WA_EINVAL (syntax), WA_ETOOBIG (host or credentials too
 * long). */
int wa_tr_parse_proxy(const char *proxy, wa_tr_proxy *out) WA_MUST_CHECK;
/* Whether the lws driver can use the proxy: the parse errors above (http://
 * and socks5:// both work on any lws with LWS_CLIENT_HTTP_PROXYING). */
int wa_tr_proxy_check(const char *proxy) WA_MUST_CHECK;

#endif
