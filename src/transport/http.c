/* src/transport/http.c: HTTP client requests on the embedder's lws_context
 * (http.h). The protocol "wa-http" is one of wa_lws_protocols(); its
 * callback is wa_http_callback. TLS is lws' client TLS with the context's
 * trust store, as for the chat WebSocket (ws.c).
 *
 * Lifetime: the request object lives until both the owner is done with it
 * (on_done delivered, or wa_http_cancel) and lws let go of the wsi. */
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transport/http.h"
#include "transport/ws.h"
#include "util/log.h"

#define WA_HTTP_PROTOCOL_NAME "wa-http"

/* lws arms a stage timeout (the context's timeout_secs, a few seconds) once
 * the request head is out and does not renew it while the body streams, so
 * a large upload was cut every few seconds and retried from scratch. Each
 * chunk written or read pushes it this far: a request that makes progress
 * lives; the owner's own idle timer decides when a stall is a failure. */
#define WA_HTTP_PROGRESS_S 60

/* Once the request is out, lws re-arms the same few-second stage timeout
 * for the answer, and a host still reading megabytes out of the socket
 * buffers (or slow to answer) was cut there, the upload retried from zero.
 * A per-request tick pushes that timeout past the answer deadline every
 * WA_HTTP_TICK_MS until the status line arrives; at the deadline the request
 * fails with WA_ETIMEOUT. */
#define WA_HTTP_TICK_MS 2000

int wa_http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len);

struct wa_http_req {
	struct lws *wsi;
	const wa_http_events *ev;
	void *user;
	char *origin, *content_type, *range;
	uint64_t content_length, sent;
	int status;
	int64_t resp_len; /* the answer's Content-Length, -1 when none */
	uint64_t received;
	bool released; /* owner gone (cancel or on_done): no more callbacks */
	bool done;     /* on_done delivered or cancelled */
	bool failed_in_start;
	bool in_start;
	/* waiting for the answer: the tick below, armed until the status */
	struct lws_context *ctx;
	lws_sorted_usec_list_t answer_sul;
	lws_usec_t answer_due;
	uint32_t answer_ms;
	bool answer_armed;
};

int wa_http_parse_url(const char *url, bool *tls, char *host, size_t host_cap, int *port, char *path,
	size_t path_cap)
{
	if (!url || strlen(url) > WA_TR_MAX_URL)
		return WA_EINVAL;
	char ws[WA_TR_MAX_URL + 8];
	if (strncmp(url, "https://", 8) == 0)
		snprintf(ws, sizeof ws, "wss://%s", url + 8);
	else if (strncmp(url, "http://", 7) == 0)
		snprintf(ws, sizeof ws, "ws://%s", url + 7);
	else
		return WA_EINVAL;
	return wa_tr_parse_url(ws, tls, host, host_cap, port, path, path_cap);
}

static void answer_stop(struct wa_http_req *r)
{
	if (r->answer_armed)
		lws_sul_cancel(&r->answer_sul);
	r->answer_armed = false;
}

static void req_free(struct wa_http_req *r)
{
	answer_stop(r);
	free(r->origin);
	free(r->content_type);
	free(r->range);
	free(r);
}

/* The request ended (err 0: response complete). */
static void finish(struct wa_http_req *r, int err)
{
	if (r->done)
		return;
	r->done = true;
	if (r->in_start) {
		r->failed_in_start = true;
		return;
	}
	if (!r->released && r->ev->on_done) {
		r->released = true;
		r->ev->on_done(r->user, err, r->status);
	}
}

static void answer_tick(lws_sorted_usec_list_t *sul);

static void answer_arm(struct wa_http_req *r, lws_usec_t in_us)
{
	r->answer_armed = true;
	lws_sul_schedule(r->ctx, 0, &r->answer_sul, answer_tick, in_us);
}

static void answer_tick(lws_sorted_usec_list_t *sul)
{
	struct wa_http_req *r = lws_container_of(sul, struct wa_http_req, answer_sul);
	r->answer_armed = false;
	if (!r->wsi || r->done)
		return;
	lws_usec_t left = r->answer_due - lws_now_usecs();
	if (left <= 0) {
		WA_DEBUG("http", "no answer within %u ms of the request's last byte (%llu sent)", r->answer_ms,
			(unsigned long long)r->sent);
		struct lws *wsi = r->wsi;
		finish(r, WA_ETIMEOUT);
		/* lws closes it on its next service; wsi_gone then frees r */
		lws_set_timeout(wsi, PENDING_TIMEOUT_KILLED_BY_PARENT, LWS_TO_KILL_ASYNC);
		return;
	}
	lws_set_timeout(r->wsi, PENDING_TIMEOUT_AWAITING_SERVER_RESPONSE,
		(int)(left / LWS_US_PER_SEC) + WA_HTTP_TICK_MS / 1000 + 1);
	lws_usec_t tick = (lws_usec_t)WA_HTTP_TICK_MS * LWS_US_PER_MS;
	answer_arm(r, left < tick ? left : tick);
}

/* The request is out: the answer is due within answer_ms. The first tick
 * runs on the next loop turn, after lws re-armed its own timeout. */
static void answer_start(struct wa_http_req *r)
{
	if (r->answer_armed || r->status)
		return;
	r->answer_due = lws_now_usecs() + (lws_usec_t)r->answer_ms * LWS_US_PER_MS;
	answer_arm(r, 1);
}

static void wsi_gone(struct wa_http_req *r, struct lws *wsi, int err)
{
	answer_stop(r);
	lws_set_opaque_user_data(wsi, NULL);
	r->wsi = NULL;
	/* the server may close right after the last byte, before lws saw the
	 * end of the body: a body that arrived whole is a complete answer */
	if (err == WA_ECLOSED && r->status && r->resp_len >= 0 && r->received == (uint64_t)r->resp_len)
		err = 0;
	if (err && !r->done)
		WA_DEBUG("http", "connection ended (%s): status %d, %llu of %lld bytes, %llu sent", wa_errname(err),
			r->status, (unsigned long long)r->received, (long long)r->resp_len,
			(unsigned long long)r->sent);
	finish(r, err);
	if (r->released && !r->in_start)
		req_free(r);
}

static int add_header(struct lws *wsi, const char *name, const char *val, unsigned char **p,
	unsigned char *end)
{
	return lws_add_http_header_by_name(wsi, (const unsigned char *)name, (const unsigned char *)val,
		(int)strlen(val), p, end);
}

int wa_http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	(void)user;
	struct wa_http_req *r = wsi ? lws_get_opaque_user_data(wsi) : NULL;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_HTTP_REDIRECT:
		return 1;
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
		if (!r || r->released)
			return -1;
		unsigned char **p = (unsigned char **)in, *end = (*p) + len;
		if (r->origin && add_header(wsi, "origin:", r->origin, p, end))
			return -1;
		if (r->range && add_header(wsi, "range:", r->range, p, end))
			return -1;
		if (r->content_type && add_header(wsi, "content-type:", r->content_type, p, end))
			return -1;
		if (r->ev->body_read) {
			char cl[24];
			snprintf(cl, sizeof cl, "%llu", (unsigned long long)r->content_length);
			if (add_header(wsi, "content-length:", cl, p, end))
				return -1;
			if (r->content_length) {
				lws_client_http_body_pending(wsi, 1);
				lws_callback_on_writable(wsi);
			}
		}
		if (!r->content_length)
			answer_start(r);
		return 0;
	}
	case LWS_CALLBACK_CLIENT_HTTP_WRITEABLE: {
		if (!r || r->released)
			return -1;
		/* lws also calls this once the request is out (and the answer
		 * may be on its way): nothing to write then, which is fine */
		uint64_t left = r->ev->body_read ? r->content_length - r->sent : 0;
		if (!left)
			return 0;
		size_t want = left > WA_HTTP_CHUNK ? WA_HTTP_CHUNK : (size_t)left;
		unsigned char *buf = malloc(LWS_PRE + want);
		if (!buf)
			return -1;
		size_t n = 0;
		int rc = r->ev->body_read(r->user, buf + LWS_PRE, want, &n);
		if (rc != 0 || n == 0 || n > want) {
			free(buf);
			WA_DEBUG("http", "request body source failed: %s", wa_errname(rc ? rc : WA_EIO));
			return -1;
		}
		bool last = n == left;
		int w = lws_write(wsi, buf + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP);
		free(buf);
		if (w < 0)
			return -1;
		r->sent += n;
		lws_set_timeout(wsi, PENDING_TIMEOUT_AWAITING_SERVER_RESPONSE, WA_HTTP_PROGRESS_S);
		if (last) {
			lws_client_http_body_pending(wsi, 0);
			answer_start(r);
		} else {
			lws_callback_on_writable(wsi);
		}
		return 0;
	}
	case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
		if (!r || r->released)
			return -1;
		answer_stop(r);
		lws_set_timeout(wsi, PENDING_TIMEOUT_AWAITING_SERVER_RESPONSE, WA_HTTP_PROGRESS_S);
		r->status = (int)lws_http_client_http_response(wsi);
		{
			char cl[32];
			r->resp_len = lws_hdr_copy(wsi, cl, sizeof cl, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0
				? strtoll(cl, NULL, 10) : -1;
		}
		if (r->ev->on_status)
			r->ev->on_status(r->user, r->status);
		return r->released ? -1 : 0;
	case LWS_CALLBACK_RECEIVE_CLIENT_HTTP: {
		char buf[LWS_PRE + 16384];
		char *px = buf + LWS_PRE;
		int lenx = (int)(sizeof buf - LWS_PRE);
		if (lws_http_client_read(wsi, &px, &lenx) < 0)
			return -1; /* also how a complete answer ends (we close after it) */
		return 0;
	}
	case LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ:
		if (!r || r->released)
			return -1;
		r->received += len;
		lws_set_timeout(wsi, PENDING_TIMEOUT_AWAITING_SERVER_RESPONSE, WA_HTTP_PROGRESS_S);
		if (r->ev->on_data && len) {
			int rc = r->ev->on_data(r->user, in, len);
			if (rc != 0) {
				finish(r, rc);
				return -1;
			}
		}
		return 0;
	case LWS_CALLBACK_COMPLETED_CLIENT_HTTP:
		if (r)
			finish(r, 0);
		return -1; /* one request per connection */
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		WA_DEBUG("http", "connection error: %s", in ? (const char *)in : "(none)");
		if (r)
			wsi_gone(r, wsi, WA_EIO);
		return 0;
	case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
	case LWS_CALLBACK_WSI_DESTROY:
		if (r)
			wsi_gone(r, wsi, WA_ECLOSED);
		return 0;
	default:
		break;
	}
	return 0;
}

static char *dup_or_null(const char *s, bool *oom)
{
	if (!s)
		return NULL;
	char *d = strdup(s);
	if (!d)
		*oom = true;
	return d;
}

int wa_http_start(void *ctx, const wa_http_opts *o, const wa_http_events *ev, void *user, wa_http_req **out)
{
	if (!ctx || !o || !o->method || !ev || !ev->on_done || !out || (o->content_length && !ev->body_read))
		return WA_EINVAL;
	char host[256], path[WA_TR_MAX_URL + 1];
	int port;
	bool tls;
	int rc = wa_http_parse_url(o->url, &tls, host, sizeof host, &port, path, sizeof path);
	if (rc)
		return rc;
	struct wa_http_req *r = calloc(1, sizeof *r);
	if (!r)
		return WA_ENOMEM;
	bool oom = false;
	r->origin = dup_or_null(o->origin, &oom);
	r->content_type = dup_or_null(o->content_type, &oom);
	r->range = dup_or_null(o->range, &oom);
	if (oom) {
		req_free(r);
		return WA_ENOMEM;
	}
	r->ev = ev;
	r->user = user;
	r->content_length = o->content_length;
	r->ctx = ctx;
	r->answer_ms = o->answer_ms ? o->answer_ms : WA_HTTP_ANSWER_MS;
	struct lws_client_connect_info ci;
	memset(&ci, 0, sizeof ci);
	ci.context = ctx;
	ci.address = host;
	ci.port = port;
	ci.path = path;
	ci.host = host;
	ci.method = o->method;
	ci.protocol = WA_HTTP_PROTOCOL_NAME;
	ci.local_protocol_name = WA_HTTP_PROTOCOL_NAME;
	ci.ssl_connection = LCCSCF_HTTP_NO_FOLLOW_REDIRECT; /* lws sends "connection: close" */
	ci.alpn = "http/1.1"; /* our body writes are HTTP/1.1 ones */
	if (tls) {
		ci.ssl_connection |= LCCSCF_USE_SSL;
		if (o->tls_insecure)
			ci.ssl_connection |= LCCSCF_ALLOW_SELFSIGNED | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK |
				LCCSCF_ALLOW_EXPIRED | LCCSCF_ALLOW_INSECURE;
	}
	ci.opaque_user_data = r;
	ci.pwsi = &r->wsi;
	r->in_start = true;
	struct lws *wsi = lws_client_connect_via_info(&ci);
	r->in_start = false;
	if (!wsi || r->failed_in_start) {
		/* failed at once: if lws still holds the wsi it frees us later */
		r->released = true;
		if (!r->wsi || r->failed_in_start) {
			if (r->wsi)
				lws_set_opaque_user_data(r->wsi, NULL);
			req_free(r);
		}
		return WA_EIO;
	}
	*out = r;
	return 0;
}

void wa_http_cancel(wa_http_req *r)
{
	if (!r || r->released)
		return;
	r->released = true;
	r->done = true;
	answer_stop(r);
	if (!r->wsi) {
		req_free(r);
		return;
	}
	/* lws closes it on its next service of the wsi */
	lws_set_timeout(r->wsi, PENDING_TIMEOUT_KILLED_BY_PARENT, LWS_TO_KILL_ASYNC);
}
