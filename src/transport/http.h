/* src/transport: one HTTPS (or HTTP) client request on the embedder's
 * lws_context, for media uploads and downloads. The request body is pulled
 * from the caller in chunks as the socket accepts them, the response body
 * is pushed to the caller as it arrives, so nothing is held whole. No
 * redirects are followed. Loop thread only; callbacks never run inside
 * wa_http_start, and none follows wa_http_cancel. */
#ifndef WA_TRANSPORT_HTTP_H
#define WA_TRANSPORT_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wa/wa.h"

/* Default for wa_http_opts.answer_ms. */
#define WA_HTTP_ANSWER_MS 30000u

/* Bytes asked of body_read per write (one lws_write). */
#define WA_HTTP_CHUNK 65536

typedef struct wa_http_req wa_http_req;

typedef struct wa_http_events {
	/* Request body: fill buf (cap bytes) with the next *n bytes; 0 ok,
	 * else the request fails with that error. Called until content_length
	 * bytes were given. NULL when there is no body. */
	int (*body_read)(void *user, uint8_t *buf, size_t cap, size_t *n);
	/* The response status, before any data. */
	void (*on_status)(void *user, int status);
	/* A chunk of the response body (borrowed); nonzero aborts with it. */
	int (*on_data)(void *user, const uint8_t *p, size_t len);
	/* The end: err 0 when the response was read to its end (any status),
	 * else why it stopped. The request is released right after; do not
	 * call wa_http_cancel on it. */
	void (*on_done)(void *user, int err, int status);
} wa_http_events;

typedef struct wa_http_opts {
	const char *method;          /* "GET", "POST" */
	const char *url;             /* http[s]://host[:port]/path?query */
	const char *origin;          /* Origin header or NULL */
	const char *content_type;    /* for a body, or NULL */
	const char *range;           /* "bytes=a-b" or NULL */
	uint64_t content_length;     /* body bytes (POST) */
	bool tls_insecure;           /* accept self-signed certificates (tests) */
	uint32_t answer_ms;          /* the status line must arrive this long after the
	                              * request's last byte went to the socket, else
	                              * on_done(WA_ETIMEOUT); 0: WA_HTTP_ANSWER_MS. Body
	                              * chunks each way are bounded by progress, not by it */
} wa_http_opts;

/* Starts a request on ctx (a struct lws_context *). Errors: WA_EINVAL (bad
 * URL), WA_ENOMEM, WA_EIO (could not start). */
int wa_http_start(void *ctx, const wa_http_opts *o, const wa_http_events *ev, void *user,
	wa_http_req **out) WA_MUST_CHECK;
/* Aborts a running request; no callback follows. NULL ok. */
void wa_http_cancel(wa_http_req *r);

/* Parses http[s]://host[:port]/rest (pure, for tests and the driver). */
int wa_http_parse_url(const char *url, bool *tls, char *host, size_t host_cap, int *port, char *path,
	size_t path_cap) WA_MUST_CHECK;

#endif
