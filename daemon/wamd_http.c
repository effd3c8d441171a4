/* Local API transport: HTTP/1.1 requests and the /ws/events WebSocket on the
 * unix socket and the optional TCP listener. Bodies are capped at
 * WAMD_MAX_BODY (413 beyond it); responses are JSON written in chunks from
 * the writeable callback; a request may wait (QR, number lookup) without
 * blocking the loop. WebSocket clients get every event as one text frame,
 * filtered by ?instance=; a client that falls WAMD_MAX_WS_QUEUE events or
 * WAMD_MAX_WS_BYTES bytes behind is disconnected rather than buffered
 * without bound. A stream for one instance is bound to that instance's id
 * and to the token it showed: it closes (close frame with the reason) when
 * the instance is deleted or logged out or the token loses read there.
 *
 * One request per connection: every answer says "connection: close" and
 * the connection closes once it is written, so lws never parses a second
 * request out of bytes it has buffered. The reason is lws 4.1.6 itself:
 * when a request's headers come out of that buffer (a request pipelined
 * behind another), lws_http_action() drains the buffer through
 * lws_read_h1() from its start again, so the request's own header bytes are
 * handed to LWS_CALLBACK_HTTP_BODY as its body; once the declared length is
 * reached every further pass consumes nothing and calls
 * LWS_CALLBACK_HTTP_BODY_COMPLETION, and the drain loop never ends (100% CPU,
 * no system call, signals never seen: one 80-byte packet froze the daemon).
 * When the buffered rest is shorter than the body, the outer reader goes on
 * with a pointer into the buffer that loop has freed. Our callbacks cannot
 * steer that loop, so it must never start. Bytes that follow a complete
 * request still come back to us before the answer is out, in one of two
 * ways: a second LWS_CALLBACK_HTTP for the same headers (lws re-runs a
 * parser that already finished) or a second BODY_COMPLETION (lws is still
 * in its body state); either means "pipelined": http_pipelined() writes the
 * answer if it is ready and closes. (lws' rx flow control cannot hold the
 * bytes back instead: a flow-controlled h1 connection gets no writeable
 * callback in 4.1.6, so the answer would never go out.) Framing is strict
 * (see http_framing()). The request head was checked before lws saw it
 * (wamd_front.c): what reaches these callbacks is a well-formed head. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "wamd.h"
#include "wamd_cluster.h"
#include "wamd_front.h"

#define RESP_CHUNK 16384
/* lws does not renew its stage timeout (the context's timeout_secs) while
 * an answer's body goes out, so a large file (GET /wamd/media) was cut after
 * a few seconds; each chunk written pushes it this far instead, so only a
 * client that stops reading is dropped. */
#define RESP_PROGRESS_S 60
/* A body over WAMD_MAX_BODY is read and dropped up to this length, so the
 * client gets its 413 instead of a reset while it still sends; beyond it the
 * 413 goes out at once and the connection closes. */
#define HTTP_DISCARD_MAX (8 * 1024 * 1024)

/* The media send routes carry a file as base64: their bodies may be up to
 * WAMD_MAX_MEDIA_BODY; a bulk job's list of recipients up to
 * WAMD_MAX_BULK_BODY; every other route's WAMD_MAX_BODY. */
static size_t body_limit(const struct wamd_conn *c)
{
	static const char *const media[] = {"/message/sendMedia/", "/message/sendWhatsAppAudio/",
		"/message/sendSticker/"};
	for (size_t i = 0; i < sizeof media / sizeof *media; i++)
		if (strncmp(c->path, media[i], strlen(media[i])) == 0)
			return WAMD_MAX_MEDIA_BODY;
	if (strncmp(c->path, "/wamd/bulk/", 11) == 0)
		return WAMD_MAX_BULK_BODY;
	return WAMD_MAX_BODY;
}

static int method_of(struct lws *wsi)
{
	char *uri;
	int ul;
	int m = lws_http_get_uri_and_method(wsi, &uri, &ul);
	switch (m) {
	case LWSHUMETH_GET: return M_GET;
	case LWSHUMETH_POST: return M_POST;
	case LWSHUMETH_PUT: return M_PUT;
	case LWSHUMETH_DELETE: return M_DELETE;
	case LWSHUMETH_PATCH: return M_PATCH;
	default: return M_OTHER;
	}
}

static void read_apikey(struct lws *wsi, struct wamd_conn *c)
{
	c->apikey[0] = '\0';
	int n = lws_hdr_custom_length(wsi, "apikey:", 7);
	if (n > 0 && n < (int)sizeof c->apikey)
		lws_hdr_custom_copy(wsi, c->apikey, sizeof c->apikey, "apikey:", 7);
	else if (n >= (int)sizeof c->apikey)
		c->apikey[0] = '\0';
	/* Authorization: Bearer <token>, what Prometheus sends (GET /metrics) */
	char auth[WAMD_MAX_KEY + 7];
	c->bearer[0] = '\0';
	int an = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
	if (an > 7 && an < (int)sizeof auth && lws_hdr_copy(wsi, auth, sizeof auth, WSI_TOKEN_HTTP_AUTHORIZATION) == an &&
	    !strncasecmp(auth, "Bearer ", 7))
		memcpy(c->bearer, auth + 7, (size_t)an - 7 + 1);
}

static void ws_queue_free(struct wamd_conn *c)
{
	if (c->ws_queue)
		for (size_t i = 0; i < c->ws_q_len; i++) {
			size_t k = (c->ws_q_head + i) % WAMD_MAX_WS_QUEUE;
			free(c->ws_queue[k]);
			c->ws_queue[k] = NULL;
		}
	c->ws_q_len = 0;
	c->ws_q_head = 0;
	c->ws_q_bytes = 0;
}

static void ws_unlink(struct wamd_conn *c)
{
	for (struct wamd_conn **pp = &c->d->ws_clients; *pp; pp = &(*pp)->ws_next)
		if (*pp == c) {
			*pp = c->ws_next;
			break;
		}
	ws_queue_free(c);
	free(c->ws_queue);
	c->ws_queue = NULL;
	wamd_cluster_streams_changed(c->d);
}

/* Drops a stream that fell too far behind: its backlog is freed now, the
 * connection goes on the next loop turn. */
static void ws_drop_slow(struct wamd_conn *c, const char *why)
{
	LOGW("ws: events client dropped: %s behind (%zu events, %zu bytes)", why, c->ws_q_len, c->ws_q_bytes);
	ws_queue_free(c);
	c->ws_close_reason = "too slow";
	lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

/* Ends a stream with a close frame carrying reason once what is queued has
 * gone; no event is queued after this. A reader that does not take it
 * within WAMD_WS_CLOSE_GRACE_MS is cut. */
static void ws_close(struct wamd_conn *c, const char *reason)
{
	if (c->ws_close_reason)
		return;
	LOGI("ws: closing the events stream of instance %s: %s", c->ws_instance, reason);
	c->ws_close_reason = reason;
	lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, (WAMD_WS_CLOSE_GRACE_MS + 999) / 1000);
	lws_callback_on_writable(c->wsi);
}

/* Does the stream's authorization still hold on t? */
static bool ws_still_authorized(const struct wamd_conn *c, const struct wamd_tenant *t)
{
	return c->ws_admin || (wamd_auth_digest_scopes(t, c->ws_token) & WAMD_SCOPE_READ);
}

static bool ws_bound_to(const struct wamd_conn *c, const struct wamd_tenant *t)
{
	const char *id = json_string_value(json_object_get(t->doc, "id"));
	return c->ws_instance_id[0] && id && !strcmp(c->ws_instance_id, id);
}

void wamd_ws_recheck(struct wamd_tenant *t, bool all, const char *reason)
{
	for (struct wamd_conn *c = t->d->ws_clients; c; c = c->ws_next)
		if (ws_bound_to(c, t) && (all || !ws_still_authorized(c, t)))
			ws_close(c, reason);
}

void wamd_ws_recheck_id(struct wamd *d, const char *instance_id)
{
	for (struct wamd_conn *c = d->ws_clients; c; c = c->ws_next) {
		if (c->ws_close_reason || !c->ws_instance[0] || strcmp(c->ws_instance_id, instance_id) != 0)
			continue;
		/* the instance as the database has it now (or as this node drives it) */
		struct wamd_tenant *t = wamd_tenant_find(d, c->ws_instance);
		struct wamd_tenant *peeked = !t ? wamd_cluster_peek(d, c->ws_instance) : NULL;
		if (peeked)
			t = peeked;
		int64_t sid = 0;
		/* not read at all (a store error): kept until the next change */
		bool gone = t ? !ws_bound_to(c, t) : wa_store_instance_find(d->store, c->ws_instance, &sid) == WA_ENOTFOUND;
		if (gone)
			ws_close(c, "instance deleted");
		else if (t && !ws_still_authorized(c, t))
			ws_close(c, "token revoked");
		wamd_tenant_peek_free(peeked);
	}
}

/* queues text on each stream that shows the instance with this id (every
 * stream without an instance shows all) */
static void ws_fan_out(struct wamd *d, const char *instance_id, const char *text)
{
	size_t len = strlen(text);
	for (struct wamd_conn *c = d->ws_clients; c; c = c->ws_next) {
		if (c->ws_close_reason)
			continue;
		/* a stream for one instance: that instance (by id), not a later one of the same name */
		if (c->ws_instance[0] && (!c->ws_instance_id[0] || strcmp(c->ws_instance_id, instance_id) != 0))
			continue;
		if (c->ws_q_len >= WAMD_MAX_WS_QUEUE) {
			ws_drop_slow(c, "1024 events");
			continue;
		}
		if (c->ws_q_len && c->ws_q_bytes + len > WAMD_MAX_WS_BYTES) {
			ws_drop_slow(c, "8 MiB");
			continue;
		}
		char *copy = malloc(len + 1);
		if (!copy)
			continue;
		memcpy(copy, text, len + 1);
		c->ws_queue[(c->ws_q_head + c->ws_q_len) % WAMD_MAX_WS_QUEUE] = copy;
		c->ws_q_len++;
		c->ws_q_bytes += len;
		lws_callback_on_writable(c->wsi);
	}
}

void wamd_ws_broadcast(struct wamd_tenant *t, const char *text)
{
	const char *id = json_string_value(json_object_get(t->doc, "id"));
	ws_fan_out(t->d, id ? id : "", text);
}

void wamd_ws_broadcast_id(struct wamd *d, const char *instance_id, const char *text)
{
	ws_fan_out(d, instance_id, text);
}

static void conn_clear(struct wamd_conn *c)
{
	wamd_api_conn_gone(c);
	free(c->body);
	free(c->resp);
	c->body = NULL;
	c->resp = NULL;
	if (c->resp_file) {
		close(c->resp_fd);
		c->resp_file = false;
	}
}

/* Authorizes an upgrade and binds the stream: to the instance's id, and to
 * the digest of the token shown (re-checked when tokens are revoked). A
 * stream for an instance that does not exist is refused, even for admin. */
static bool ws_authorize(struct wamd *d, struct wamd_conn *c)
{
	c->ws_admin = c->trusted || wamd_auth_is_admin(d, c->apikey);
	if (!c->ws_instance[0])
		return c->ws_admin;
	struct wamd_tenant *t = wamd_tenant_find(d, c->ws_instance);
	/* cluster: another node's instance; its events come relayed */
	struct wamd_tenant *peeked = !t && d->cluster ? wamd_cluster_peek(d, c->ws_instance) : NULL;
	if (peeked)
		t = peeked;
	const char *id = t ? json_string_value(json_object_get(t->doc, "id")) : NULL;
	bool ok = id && *id && strlen(id) < sizeof c->ws_instance_id;
	if (ok && !c->ws_admin) {
		int i = wamd_auth_match(t, c->apikey, c->ws_token);
		ok = i >= 0 && (t->tokens[i].scopes & WAMD_SCOPE_READ);
	}
	if (ok)
		snprintf(c->ws_instance_id, sizeof c->ws_instance_id, "%s", id);
	wamd_tenant_peek_free(peeked);
	return ok;
}

/* Request framing (RFC 9112 section 6), checked before any body byte is
 * read. A body is announced by Content-Length only: digits, optional
 * surrounding blanks; repeated fields (or a list) must all agree.
 * Transfer-Encoding is refused: without a length it means a chunked body,
 * which wamd does not take (411); beside a length it is the request
 * smuggling ambiguity (400). A length over HTTP_DISCARD_MAX (or one that
 * does not fit a number) is a 413 at once. Sets c->content_length and
 * returns 0, or returns the status to answer with (the connection closes
 * after it). */
static int http_framing(struct lws *wsi, struct wamd_conn *c, const char **why)
{
	char v[32];
	c->content_length = 0;
	bool te = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0 ||
		  lws_hdr_copy_fragment(wsi, v, sizeof v, WSI_TOKEN_HTTP_TRANSFER_ENCODING, 0) >= 0;
	bool cl = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0 ||
		  lws_hdr_copy_fragment(wsi, v, sizeof v, WSI_TOKEN_HTTP_CONTENT_LENGTH, 0) >= 0;
	if (te && cl) {
		*why = "Transfer-Encoding and Content-Length together";
		return 400;
	}
	if (te) {
		*why = "Transfer-Encoding (chunked) request bodies are not accepted: send Content-Length";
		return 411;
	}
	if (!cl)
		return 0;
	*why = "Invalid Content-Length";
	/* the same bound as lws' own copy (31 characters): a longer value is
	 * no length to lws, so it must not be one to us either */
	if (lws_hdr_copy(wsi, v, 31, WSI_TOKEN_HTTP_CONTENT_LENGTH) < 0)
		return 400;
	/* lws joins repeated fields with ','; each item must be the same number */
	long long val = -1;
	bool big = false;
	for (const char *p = v;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p < '0' || *p > '9')
			return 400;
		long long n = 0;
		for (; *p >= '0' && *p <= '9'; p++) {
			if (n > (long long)body_limit(c) + HTTP_DISCARD_MAX)
				big = true; /* keep scanning the digits, stop growing */
			else
				n = n * 10 + (*p - '0');
		}
		while (*p == ' ' || *p == '\t')
			p++;
		if (val >= 0 && n != val) {
			*why = "Conflicting Content-Length values";
			return 400;
		}
		val = n;
		if (*p == '\0')
			break;
		if (*p != ',')
			return 400;
		p++;
	}
	if (big || val > (long long)(body_limit(c) > HTTP_DISCARD_MAX ? body_limit(c) : HTTP_DISCARD_MAX)) {
		*why = body_limit(c) == WAMD_MAX_MEDIA_BODY  ? "Request body larger than the media limit"
		       : body_limit(c) == WAMD_MAX_BULK_BODY ? "Request body larger than the bulk job limit (32 MiB)"
							     : "Request body larger than 1 MiB";
		return 413;
	}
	c->content_length = val;
	return 0;
}

static int http_write_headers(struct lws *wsi, struct wamd_conn *c)
{
	unsigned char hbuf[LWS_PRE + 2048];
	unsigned char *start = hbuf + LWS_PRE, *p = start, *end = hbuf + sizeof hbuf - 1;
	if (lws_add_http_common_headers(wsi, (unsigned)c->status, c->resp_file ? c->resp_ctype : c->resp_type ? c->resp_type : "application/json",
					c->resp_len, &p, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION, (const unsigned char *)"close", 5, &p, end))
		return -1;
	if (c->resp_file &&
	    (lws_add_http_header_by_name(wsi, (const unsigned char *)"accept-ranges:", (const unsigned char *)"bytes", 5,
					 &p, end) ||
	     (c->resp_range[0] &&
	      lws_add_http_header_by_name(wsi, (const unsigned char *)"content-range:",
					  (const unsigned char *)c->resp_range, (int)strlen(c->resp_range), &p, end))))
		return -1;
	for (const char *const *h = c->resp_headers; h && h[0]; h += 2)
		if (lws_add_http_header_by_name(wsi, (const unsigned char *)h[0], (const unsigned char *)h[1],
						(int)strlen(h[1]), &p, end))
			return -1;
	if (lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	c->headers_sent = true;
	return 0;
}

/* lws handed us bytes that follow the request (see the top of the file):
 * write the whole answer now if there is one (lws keeps what the kernel
 * does not take and flushes it before closing), then close. An answer
 * still being computed (QR or number waits) is dropped with the
 * connection. Known cost: while lws flushes such a kept rest, the unread
 * pipelined bytes keep its loop from sleeping, so a client that pipelines,
 * asks for an answer larger than the socket buffer and does not read it
 * costs busy polling until lws' flush timeout (5 s) closes it. */
static int http_pipelined(struct lws *wsi, struct wamd_conn *c)
{
	LOGD("http: bytes after the request on one connection: answering and closing");
	if (!c->resp_ready || c->resp_file || c->resp_held)
		return -1;
	if (!c->headers_sent && http_write_headers(wsi, c) != 0)
		return -1;
	if (c->resp_sent < c->resp_len) {
		size_t left = c->resp_len - c->resp_sent;
		unsigned char *buf = malloc(LWS_PRE + left);
		if (!buf)
			return -1;
		memcpy(buf + LWS_PRE, c->resp + c->resp_sent, left);
		(void)lws_write(wsi, buf + LWS_PRE, left, LWS_WRITE_HTTP_FINAL);
		free(buf);
		c->resp_sent = c->resp_len;
	}
	return -1;
}

static void http_dispatch(struct wamd_conn *c)
{
	c->dispatched = true;
	wamd_api_dispatch(c);
}

/* Refuses a request before its body: the answer, then close. */
static void http_refuse(struct wamd_conn *c, int status, const char *why)
{
	c->dispatched = true;
	wamd_reply_error(c, status, json_pack("[s]", why));
}

int wamd_http_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct wamd *d = lws_context_user(lws_get_context(wsi));
	struct wamd_conn *c = user;
	switch (reason) {
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		return 0;
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
		/* WebSocket upgrade: only /ws/events, authorized */
		memset(c, 0, sizeof *c);
		c->d = d;
		c->wsi = wsi;
		c->trusted = d->cfg.socket_trusted && wamd_front_from_unix(wsi);
		char uri[256];
		if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) <= 0 || strcmp(uri, "/ws/events") != 0)
			return 1;
		read_apikey(wsi, c);
		char inst[WA_STORE_NAME_MAX + 16];
		const char *v = lws_get_urlarg_by_name(wsi, "instance=", inst, sizeof inst);
		if (v)
			snprintf(c->ws_instance, sizeof c->ws_instance, "%s", v);
		if (c->apikey[0] == '\0') {
			char k[WAMD_MAX_KEY + 8];
			const char *kv = lws_get_urlarg_by_name(wsi, "apikey=", k, sizeof k);
			if (kv)
				snprintf(c->apikey, sizeof c->apikey, "%s", kv);
		}
		if (!ws_authorize(d, c)) {
			LOGI("ws: unauthorized events subscription refused");
			return 1;
		}
		return 0;
	}
	case LWS_CALLBACK_ESTABLISHED:
		c->is_ws = true;
		c->ws_queue = calloc(WAMD_MAX_WS_QUEUE, sizeof *c->ws_queue);
		if (!c->ws_queue)
			return -1;
		c->ws_next = d->ws_clients;
		d->ws_clients = c;
		wamd_cluster_streams_changed(d); /* the other nodes relay their events from now */
		explicit_bzero(c->apikey, sizeof c->apikey);
		explicit_bzero(c->bearer, sizeof c->bearer);
		return 0;
	case LWS_CALLBACK_SERVER_WRITEABLE: {
		if (!c->ws_q_len) {
			if (c->ws_close_reason) {
				lws_close_reason(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, (unsigned char *)c->ws_close_reason,
						 strlen(c->ws_close_reason));
				return -1;
			}
			return 0;
		}
		char *msg = c->ws_queue[c->ws_q_head];
		size_t ml = strlen(msg);
		unsigned char *buf = malloc(LWS_PRE + ml);
		if (!buf)
			return -1;
		memcpy(buf + LWS_PRE, msg, ml);
		int n = lws_write(wsi, buf + LWS_PRE, ml, LWS_WRITE_TEXT);
		free(buf);
		free(msg);
		c->ws_queue[c->ws_q_head] = NULL;
		c->ws_q_head = (c->ws_q_head + 1) % WAMD_MAX_WS_QUEUE;
		c->ws_q_len--;
		c->ws_q_bytes -= ml;
		if (n < (int)ml)
			return -1;
		if (c->ws_q_len || c->ws_close_reason)
			lws_callback_on_writable(wsi);
		return 0;
	}
	case LWS_CALLBACK_RECEIVE:
		return 0; /* the stream is one-way */
	case LWS_CALLBACK_CLOSED:
		ws_unlink(c);
		return 0;

	case LWS_CALLBACK_HTTP: {
		if (c->http_started)
			return http_pipelined(wsi, c);
		memset(c, 0, sizeof *c);
		c->http_started = true;
		c->d = d;
		c->wsi = wsi;
		c->trusted = d->cfg.socket_trusted && wamd_front_from_unix(wsi);
		c->method = method_of(wsi);
		snprintf(c->path, sizeof c->path, "%s", (const char *)in);
		read_apikey(wsi, c);
		const char *why = NULL;
		int st = http_framing(wsi, c, &why);
		if (st) {
			LOGD("http: %d %s", st, why);
			http_refuse(c, st, why);
			return 0;
		}
		if (c->content_length > 0) {
			c->expect_body = true;
			c->body_too_big = c->content_length > (long long)body_limit(c); /* 413 once read */
			return 0; /* wait for the body */
		}
		/* no Content-Length: no body (lws itself may wait for one on
		 * POST/PUT/PATCH; whatever it reads is ignored, the connection
		 * closes after the answer) */
		http_dispatch(c);
		return 0;
	}
	case LWS_CALLBACK_HTTP_BODY:
		if (c->dispatched || c->body_too_big || !len)
			return 0;
		if (c->body_len + len > (size_t)c->content_length || c->body_len + len > body_limit(c)) {
			c->body_too_big = true;
			free(c->body);
			c->body = NULL;
			return 0;
		}
		{
			/* the whole declared length at once (large media bodies) */
			char *nb = c->body ? c->body : malloc((size_t)c->content_length + 1);
			if (!nb)
				return -1;
			c->body = nb;
			memcpy(c->body + c->body_len, in, len);
			c->body_len += len;
			c->body[c->body_len] = '\0';
		}
		return 0;
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		if (c->body_done)
			return http_pipelined(wsi, c);
		c->body_done = true;
		if (c->dispatched)
			return 0;
		if (c->body_too_big) {
			http_refuse(c, 413, "Request body larger than 1 MiB");
			return 0;
		}
		http_dispatch(c);
		return 0;
	case LWS_CALLBACK_HTTP_WRITEABLE: {
		if (!c || !c->resp_ready || c->resp_held)
			return 0;
		if (!c->headers_sent) {
			if (http_write_headers(wsi, c) != 0)
				return -1;
			if (c->resp_len) {
				lws_callback_on_writable(wsi);
				return 0;
			}
		}
		if (c->resp_sent < c->resp_len) {
			size_t left = c->resp_len - c->resp_sent;
			size_t chunk = left > RESP_CHUNK ? RESP_CHUNK : left;
			unsigned char *buf = malloc(LWS_PRE + chunk);
			if (!buf)
				return -1;
			if (c->resp_file) {
				ssize_t r = pread(c->resp_fd, buf + LWS_PRE, chunk, (off_t)(c->resp_off + c->resp_sent));
				if (r != (ssize_t)chunk) {
					free(buf);
					return -1;
				}
			} else {
				memcpy(buf + LWS_PRE, c->resp + c->resp_sent, chunk);
			}
			int n = lws_write(wsi, buf + LWS_PRE, chunk,
					  chunk == left ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP);
			free(buf);
			if (n < 0)
				return -1;
			c->resp_sent += chunk;
			lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_CONTENT, RESP_PROGRESS_S);
			if (c->resp_sent < c->resp_len) {
				lws_callback_on_writable(wsi);
				return 0;
			}
		}
		/* answered: close once lws has flushed what the kernel did not take
		 * (one request per connection, see the top of the file) */
		if (lws_partial_buffered(wsi)) {
			lws_callback_on_writable(wsi);
			return 0;
		}
		return -1;
	}
	case LWS_CALLBACK_CLOSED_HTTP:
		if (c && c->d)
			conn_clear(c);
		return 0;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}
