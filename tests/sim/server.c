/* wasim's libwebsockets glue: one context, a plain vhost (ws:// chat and
 * the HTTP control API on --port) and a TLS vhost (wss:// and https:// on
 * --tls-port). One protocol handles both the websocket and the HTTP
 * callbacks, because Baileys and whatsmeow offer no subprotocol (lws then
 * binds the upgrade to protocols[0]). Timers are lws sorted-usec lists. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <ev.h>
#include <libwebsockets.h>

#include "simcore.h"

/* lws 4.1.6's libev glue re-arms its timer with ev_timer_set() on a
 * watcher that may be active, which libev ignores: an lws timer scheduled
 * earlier than the armed one fires late. Its ripe timers are also run after
 * every descriptor event, so a 10 ms nudge through lws' event pipe bounds
 * the lateness (100 pipe wakeups/s, negligible). */
#define WA_EV_NUDGE_S 0.01
static void ev_nudge_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)l;
	(void)revents;
	lws_cancel_service(w->data);
}

/* Per-wsi data: either a chat connection or an HTTP request in progress. */
struct pss {
	struct sim_conn *conn;
	/* HTTP */
	char method[8];
	char path[512];
	char query[1024];
	char range[96];
	uint8_t *body;
	size_t body_len, body_cap;
	bool body_too_big;
	/* a media upload's body, spooled (SIM_SPOOL_PREFIX) */
	int spool_fd;            /* + 1; 0: none */
	char spool_path[4400];
	EVP_MD_CTX *spool_sha;
	bool spool_failed;
	struct lws *wsi;
	struct sim_http_resp resp;
	bool have_resp;
	size_t resp_sent;
	/* a paced upload (POST /_sim/media/fault): the timer resumes reading
	 * or, once the body is in, gives the held answer */
	struct sim_media_pace pace;
	lws_sorted_usec_list_t pace_sul;
	lws_usec_t pace_t0;
	bool pace_armed;
	bool pace_answer;
	bool pace_write; /* the timer resumes a paced download's writes */
	lws_usec_t resp_t0;
};

struct sim_timer {
	lws_sorted_usec_list_t sul; /* first: container_of by cast */
	struct sim *sim;
	sim_timer_fn fn;
	void *arg;
	struct sim_timer *prev, *next;
};

static void timer_fire(lws_sorted_usec_list_t *sul)
{
	struct sim_timer *t = (struct sim_timer *)sul;
	struct sim_core *core = sim_core(t->sim);
	if (t->prev)
		t->prev->next = t->next;
	else
		core->timers = t->next;
	if (t->next)
		t->next->prev = t->prev;
	t->fn(t->sim, t->arg);
	free(t);
}

int sim_defer(struct sim *sim, int64_t delay_ms, sim_timer_fn fn, void *arg)
{
	struct sim_core *core = sim_core(sim);
	if (!core->ctx)
		return WA_ESTATE; /* no loop (the dispatch fuzz target) */
	struct sim_timer *t = calloc(1, sizeof(*t));
	if (!t)
		return WA_ENOMEM;
	t->sim = sim;
	t->fn = fn;
	t->arg = arg;
	t->next = core->timers;
	if (t->next)
		t->next->prev = t;
	core->timers = t;
	lws_sul_schedule(core->ctx, 0, &t->sul, timer_fire,
		(lws_usec_t)(delay_ms < 0 ? 0 : delay_ms) * LWS_US_PER_MS);
	return 0;
}

/* At shutdown every pending timer fires once, early, with sim_stopping()
 * true, so its owner can free its argument. Timers scheduled meanwhile are
 * handled by the same loop. */
static void timers_fire_all(struct sim *sim)
{
	struct sim_core *core = sim_core(sim);
	core->stopping = true;
	while (core->timers) {
		struct sim_timer *t = core->timers;
		lws_sul_cancel(&t->sul);
		timer_fire(&t->sul);
	}
}

bool sim_stopping(const struct sim *sim)
{
	return sim_core((struct sim *)sim)->stopping;
}

void sim_conn_kick(struct sim_conn *c)
{
	if (c->wsi)
		lws_callback_on_writable(c->wsi);
}

void sim_conn_close(struct sim_conn *c, enum sim_close_how how)
{
	if (!c->wsi || c->dead)
		return;
	if (how == SIM_CLOSE_ABORT) {
		/* No close frame: the peer sees the TCP connection die. */
		c->dead = true;
		int fd = lws_get_socket_fd(c->wsi);
		if (fd >= 0)
			shutdown(fd, SHUT_RDWR);
		lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
		return;
	}
	if (c->state != SIM_CONN_HANDSHAKE)
		sim_conn_set_state(c, SIM_CONN_CLOSING);
	c->closing = true;
	lws_callback_on_writable(c->wsi);
}

/* ---- HTTP ---- */

#define SIM_SPOOL_PREFIX "/mms/"
#define SIM_SPOOL_MAX (4ull << 30) /* a 2 GiB document's blob with room */
#define SIM_HTTP_PROGRESS_S 60     /* a transfer without progress this long is dropped */

static void http_resp_clear(struct sim_http_resp *r)
{
	if (r->file_fd1)
		close(r->file_fd1 - 1);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

static int http_respond(struct lws *wsi, struct pss *pss)
{
	uint8_t buf[LWS_PRE + 1024];
	uint8_t *start = buf + LWS_PRE, *p = start, *end = buf + sizeof(buf) - 1;
	const char *ctype = pss->resp.content_type[0] ? pss->resp.content_type : "application/json";
	if (lws_add_http_common_headers(wsi, (unsigned)pss->resp.status, ctype,
		    (lws_filepos_t)pss->resp.body_len, &p, end))
		return -1;
	if (pss->resp.content_range[0] &&
	    lws_add_http_header_by_name(wsi, (const unsigned char *)"content-range:",
		    (const unsigned char *)pss->resp.content_range, (int)strlen(pss->resp.content_range), &p, end))
		return -1;
	if (lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	pss->have_resp = true;
	pss->resp_t0 = lws_now_usecs();
	lws_callback_on_writable(wsi);
	return 0;
}

static int http_dispatch(struct lws *wsi, struct pss *pss)
{
	struct sim *sim = lws_context_user(lws_get_context(wsi));
	struct sim_http_req req = {
		.method = pss->method,
		.path = pss->path,
		.query = pss->query,
		.range = pss->range,
		.body = pss->body,
		.body_len = pss->body_len,
	};
	if (pss->spool_fd) {
		unsigned dl = 0;
		bool ok = !pss->spool_failed && EVP_DigestFinal_ex(pss->spool_sha, req.body_sha256, &dl) == 1;
		close(pss->spool_fd - 1);
		pss->spool_fd = 0;
		if (!ok) {
			http_resp_clear(&pss->resp);
			sim_http_error(&pss->resp, 500, "cannot spool the body");
			unlink(pss->spool_path);
			return http_respond(wsi, pss);
		}
		req.body_file = pss->spool_path;
	}
	json_error_t jerr;
	json_t *j = NULL;
	if (pss->body_len && !req.body_file)
		j = json_loadb((const char *)pss->body, pss->body_len, 0, &jerr);
	req.json = j;
	http_resp_clear(&pss->resp);
	pss->resp.status = 200;
	if (pss->body_too_big)
		sim_http_error(&pss->resp, 413, "body too large");
	else if (sim_http_dispatch(sim, &req, &pss->resp) < 0) {
		http_resp_clear(&pss->resp);
		sim_http_error(&pss->resp, 500, "internal error");
	}
	json_decref(j);
	if (req.body_file)
		unlink(pss->spool_path); /* unless the handler took it */
	return http_respond(wsi, pss);
}

static void pace_cancel(struct pss *pss)
{
	if (pss->pace_armed)
		lws_sul_cancel(&pss->pace_sul);
	pss->pace_armed = false;
}

static void pss_http_clear(struct pss *pss)
{
	pace_cancel(pss);
	memset(&pss->pace, 0, sizeof(pss->pace));
	pss->pace_answer = false;
	pss->pace_write = false;
	if (pss->spool_fd) {
		close(pss->spool_fd - 1);
		unlink(pss->spool_path);
		pss->spool_fd = 0;
	}
	EVP_MD_CTX_free(pss->spool_sha);
	pss->spool_sha = NULL;
	pss->spool_failed = false;
	free(pss->body);
	pss->body = NULL;
	pss->body_len = pss->body_cap = 0;
	pss->body_too_big = false;
	http_resp_clear(&pss->resp);
	pss->have_resp = false;
	pss->resp_sent = 0;
}

static int http_begin(struct lws *wsi, struct pss *pss, const char *uri)
{
	static const struct { enum lws_token_indexes tok; const char *name; } methods[] = {
		{ WSI_TOKEN_GET_URI, "GET" },
		{ WSI_TOKEN_POST_URI, "POST" },
#if defined(LWS_WITH_HTTP_UNCOMMON_HEADERS) || defined(LWS_HTTP_HEADERS_ALL)
		{ WSI_TOKEN_PUT_URI, "PUT" },
		{ WSI_TOKEN_DELETE_URI, "DELETE" },
#endif
	};
	pss_http_clear(pss);
	pss->method[0] = 0;
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (lws_hdr_total_length(wsi, methods[i].tok) > 0) {
			snprintf(pss->method, sizeof(pss->method), "%s", methods[i].name);
			break;
		}
	snprintf(pss->path, sizeof(pss->path), "%s", uri ? uri : "/");
	pss->query[0] = 0;
	if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_URI_ARGS) > 0 &&
	    lws_hdr_copy(wsi, pss->query, sizeof(pss->query), WSI_TOKEN_HTTP_URI_ARGS) < 0)
		pss->query[0] = 0;
	if (lws_hdr_copy(wsi, pss->range, sizeof(pss->range), WSI_TOKEN_HTTP_RANGE) < 0)
		pss->range[0] = 0;
	char cl[32];
	long long clen = 0;
	if (lws_hdr_copy(wsi, cl, sizeof(cl), WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0)
		clen = atoll(cl);
	pss->wsi = wsi;
	bool spool = strcmp(pss->method, "POST") == 0 && strncmp(pss->path, SIM_SPOOL_PREFIX, strlen(SIM_SPOOL_PREFIX)) == 0;
	if (clen > (spool ? (long long)SIM_SPOOL_MAX : SIM_MAX_HTTP_BODY))
		pss->body_too_big = true;
	if (spool && clen > 0 && !pss->body_too_big) {
		struct sim *sim = lws_context_user(lws_get_context(wsi));
		int fd = sim_media_spool(sim, pss->spool_path, sizeof(pss->spool_path));
		pss->spool_sha = EVP_MD_CTX_new();
		if (fd >= 0)
			pss->spool_fd = fd + 1;
		if (fd < 0 || !pss->spool_sha || EVP_DigestInit_ex(pss->spool_sha, EVP_sha256(), NULL) != 1)
			pss->spool_failed = true;
		sim_media_upload_begin(sim, &pss->pace);
		pss->pace_t0 = lws_now_usecs();
	}
	if (clen > 0 && strcmp(pss->method, "GET") != 0)
		return 0; /* wait for the body */
	return http_dispatch(wsi, pss);
}

static void pace_fire(lws_sorted_usec_list_t *sul)
{
	struct pss *pss = lws_container_of(sul, struct pss, pace_sul);
	pss->pace_armed = false;
	if (pss->pace_write) {
		pss->pace_write = false;
		lws_callback_on_writable(pss->wsi);
		return;
	}
	if (!pss->pace_answer) {
		lws_rx_flow_control(pss->wsi, 1);
		return;
	}
	pss->pace_answer = false;
	if (http_dispatch(pss->wsi, pss) < 0)
		lws_set_timeout(pss->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
}

static void pace_arm(struct pss *pss, lws_usec_t in_us)
{
	pss->pace_armed = true;
	lws_sul_schedule(lws_get_context(pss->wsi), 0, &pss->pace_sul, pace_fire, in_us);
}

/* A paced upload reads no faster than read_kib_s: past its due, reading
 * stops until the timer resumes it. */
static void pace_read(struct pss *pss)
{
	if (!pss->pace.read_kib_s)
		return;
	lws_usec_t due = pss->pace_t0 +
		(lws_usec_t)((uint64_t)pss->body_len * LWS_US_PER_SEC / ((uint64_t)pss->pace.read_kib_s * 1024));
	lws_usec_t now = lws_now_usecs();
	if (due <= now)
		return;
	lws_rx_flow_control(pss->wsi, 0);
	pss->pace_answer = false;
	pace_arm(pss, due - now);
}

/* The body is in: answer now, later, or never (the paced host). */
static int http_body_done(struct lws *wsi, struct pss *pss)
{
	if (pss->spool_fd && (pss->pace.no_answer || pss->pace.answer_delay_ms)) {
		if (pss->pace_armed) {
			pace_cancel(pss);
			lws_rx_flow_control(wsi, 1);
		}
		uint32_t hold_ms = pss->pace.no_answer ? 3600000u : pss->pace.answer_delay_ms;
		lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_CONTENT, (int)(hold_ms / 1000) + SIM_HTTP_PROGRESS_S);
		if (!pss->pace.no_answer) {
			pss->pace_answer = true;
			pace_arm(pss, (lws_usec_t)hold_ms * LWS_US_PER_MS);
		}
		return 0;
	}
	return http_dispatch(wsi, pss);
}

static int http_body(struct pss *pss, const void *in, size_t len)
{
	if (pss->body_too_big || len == 0 || !in)
		return 0; /* lws may report an empty chunk (in == NULL) for a bodiless POST */
	if (pss->spool_fd || pss->spool_failed) {
		if (pss->spool_failed)
			return 0;
		pss->body_len += len;
		const uint8_t *p = in;
		for (size_t off = 0; off < len;) {
			ssize_t w = write(pss->spool_fd - 1, p + off, len - off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				pss->spool_failed = true;
				return 0;
			}
			off += (size_t)w;
		}
		if (EVP_DigestUpdate(pss->spool_sha, in, len) != 1)
			pss->spool_failed = true;
		lws_set_timeout(pss->wsi, PENDING_TIMEOUT_HTTP_CONTENT, SIM_HTTP_PROGRESS_S); /* as for downloads */
		pace_read(pss);
		return 0;
	}
	if (len > SIM_MAX_HTTP_BODY - pss->body_len) {
		pss->body_too_big = true;
		return 0;
	}
	if (pss->body_len + len > pss->body_cap) {
		size_t ncap = pss->body_cap ? pss->body_cap * 2 : 4096;
		while (ncap < pss->body_len + len)
			ncap *= 2;
		uint8_t *nb = realloc(pss->body, ncap);
		if (!nb)
			return -1;
		pss->body = nb;
		pss->body_cap = ncap;
	}
	memcpy(pss->body + pss->body_len, in, len);
	pss->body_len += len;
	return 0;
}

/* The body goes out in 64 KiB writes, one per writeable callback, and the
 * transaction ends only once lws has flushed all of it: one huge write
 * left megabytes buffered in lws while the transaction (and its keep-alive
 * or close) went on, and a slow reader of a large media blob saw the
 * connection closed partway (Baileys downloading 24 MiB on a busy machine). */
static int http_writeable(struct lws *wsi, struct pss *pss)
{
	if (!pss->have_resp)
		return 0;
	if (lws_partial_buffered(wsi)) {
		lws_callback_on_writable(wsi);
		return 0;
	}
	size_t left = pss->resp.body_len - pss->resp_sent;
	if (left && pss->resp.file_fd1 && pss->resp.send_kib_s) {
		/* a paced download (POST /_sim/media/fault send_kib_s) */
		if (pss->pace_armed)
			return 0;
		lws_usec_t due = pss->resp_t0 +
			(lws_usec_t)((uint64_t)pss->resp_sent * LWS_US_PER_SEC / ((uint64_t)pss->resp.send_kib_s * 1024));
		lws_usec_t now = lws_now_usecs();
		if (due > now) {
			pss->pace_write = true;
			lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_CONTENT, SIM_HTTP_PROGRESS_S);
			pace_arm(pss, due - now);
			return 0;
		}
	}
	if (left) {
		size_t chunk = left > 65536 ? 65536 : left;
		static uint8_t buf[LWS_PRE + 65536]; /* one loop thread; lws copies what it cannot send */
		if (pss->resp.file_fd1) {
			/* a blob: read as it goes out, never whole in memory */
			if (pread(pss->resp.file_fd1 - 1, buf + LWS_PRE, chunk, pss->resp.file_off + (off_t)pss->resp_sent) !=
			    (ssize_t)chunk)
				return -1;
		} else {
			memcpy(buf + LWS_PRE, pss->resp.body + pss->resp_sent, chunk);
		}
		int n = lws_write(wsi, buf + LWS_PRE, chunk, chunk == left ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP);
		if (n < 0)
			return -1;
		/* lws' transaction deadline (20 s) counts from its start: a large
		 * blob to a slow reader outlives it, so each chunk out renews it */
		lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_CONTENT, SIM_HTTP_PROGRESS_S);
		pss->resp_sent += chunk;
		lws_callback_on_writable(wsi);
		return 0;
	}
	pss_http_clear(pss);
	if (lws_http_transaction_completed(wsi))
		return -1;
	return 0;
}

/* ---- websocket ---- */

static int ws_writeable(struct sim_conn *c)
{
	struct sim_outmsg *m = c->outq_head;
	if (c->dead)
		return -1;
	if (m) {
		c->outq_head = m->next;
		if (!c->outq_head)
			c->outq_tail = NULL;
		c->outq_bytes -= m->len;
		int n = lws_write(c->wsi, m->data + LWS_PRE, m->len, LWS_WRITE_BINARY);
		free(m);
		if (n < 0)
			return -1;
		if (c->outq_head || c->closing)
			lws_callback_on_writable(c->wsi);
		return 0;
	}
	if (c->closing) {
		if (c->linger) {
			/* After a stream:error or failure the client closes by itself
			 * (Baileys may still be decoding the last frame when a close
			 * frame arrives and would report 428 instead of the error). */
			c->linger = false;
			lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, 1);
			return 0;
		}
		lws_close_reason(c->wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
		return -1;
	}
	return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
	size_t len)
{
	struct pss *pss = user;
	struct sim *sim = lws_context_user(lws_get_context(wsi));

	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED: {
		struct sim_core *core = sim_core(sim);
		if (core->n_conns >= core->max_conns) {
			lws_close_reason(wsi, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION, NULL, 0);
			return -1;
		}
		pss->conn = sim_conn_new(sim, wsi);
		if (!pss->conn)
			return -1;
		lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK,
			core->hs_timeout_s > 0 ? core->hs_timeout_s : SIM_HANDSHAKE_TIMEOUT_S);
		return 0;
	}
	case LWS_CALLBACK_RECEIVE:
		if (!pss->conn || pss->conn->dead)
			return 0;
		sim_conn_on_data(pss->conn, in, len);
		/* the handshake deadline ends with the handshake; never cancel
		 * the linger deadline of a closing connection */
		if (pss->conn->hs_step == 2 && !pss->conn->hs_deadline_off && !pss->conn->closing &&
		    !pss->conn->dead) {
			pss->conn->hs_deadline_off = true;
			lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
		}
		return 0;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (!pss->conn)
			return -1;
		return ws_writeable(pss->conn);
	case LWS_CALLBACK_CLOSED:
		if (pss->conn) {
			sim_conn_on_closed(pss->conn);
			pss->conn = NULL;
		}
		return 0;

	case LWS_CALLBACK_HTTP:
		if (!pss)
			return -1;
		return http_begin(wsi, pss, in);
	case LWS_CALLBACK_HTTP_BODY:
		return http_body(pss, in, len);
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		return http_body_done(wsi, pss);
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return http_writeable(wsi, pss);
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
	case LWS_CALLBACK_CLOSED_HTTP:
		if (pss)
			pss_http_clear(pss);
		return 0;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
	{ "wasim", callback, sizeof(struct pss), 65536, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

static volatile int interrupted;
static struct lws_context *signal_ctx; /* woken by a signal */
static struct ev_loop *ev_loop_g;      /* our libev loop, NULL with poll() */
static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
	if (signal_ctx)
		lws_cancel_service(signal_ctx); /* a pipe write: wakes the loop */
}

static struct lws_vhost *make_vhost(struct lws_context *ctx, const char *name, int port,
	const char *cert, const char *key)
{
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof(info));
	info.vhost_name = name;
	info.port = port;
	info.iface = "127.0.0.1";
	info.protocols = protocols;
	info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
	if (cert)
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	info.ssl_cert_filepath = cert;
	info.ssl_private_key_filepath = key;
	return lws_create_vhost(ctx, &info);
}

int sim_server_start(struct sim *sim, int port, int tls_port, const char *tls_dir);
int sim_server_start(struct sim *sim, int port, int tls_port, const char *tls_dir)
{
	struct sim_core *core = sim_core(sim);
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof(info));
	lws_set_log_level(core->quiet ? LLL_ERR : (LLL_ERR | LLL_WARN), NULL);
	info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	info.user = sim;
	info.fd_limit_per_thread = (unsigned)(core->max_conns + 64);
	info.count_threads = 1;
	/* epoll through lws' libev plugin (lws' own loop is poll(): every
	 * wakeup scans all descriptors, which dominates at thousands of
	 * connections); WA_EVENT_LOOP=poll or a missing plugin: poll().
	 * The libev loop is ours: lws' own run of it never returns. */
	const char *evl = getenv("WA_EVENT_LOOP");
	ev_loop_g = (evl && !strcmp(evl, "poll")) ? NULL : ev_loop_new(EVFLAG_AUTO);
	void *foreign[1] = { ev_loop_g };
	if (ev_loop_g) {
		info.options |= LWS_SERVER_OPTION_LIBEV;
		info.foreign_loops = foreign;
	}
	core->ctx = lws_create_context(&info);
	if (!core->ctx && ev_loop_g) {
		ev_loop_destroy(ev_loop_g);
		ev_loop_g = NULL;
		info.options &= ~(uint64_t)LWS_SERVER_OPTION_LIBEV;
		info.foreign_loops = NULL;
		core->ctx = lws_create_context(&info);
	}
	if (!core->ctx)
		return WA_EIO;
	core->vh_plain = make_vhost(core->ctx, "plain", port, NULL, NULL);
	if (!core->vh_plain)
		return WA_EIO;
	core->port = lws_get_vhost_listen_port(core->vh_plain);
	if (tls_port >= 0) {
		char cert[4200], key[4200];
		int rc = sim_tls_ensure_cert(tls_dir, cert, sizeof(cert), key, sizeof(key));
		if (rc)
			return rc;
		core->vh_tls = make_vhost(core->ctx, "tls", tls_port, cert, key);
		if (!core->vh_tls)
			return WA_EIO;
		core->tls_port = lws_get_vhost_listen_port(core->vh_tls);
	} else {
		core->tls_port = -1;
	}
	return 0;
}

int sim_server_run(struct sim *sim)
{
	struct sim_core *core = sim_core(sim);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	signal_ctx = core->ctx;
	ev_timer nudge;
	if (ev_loop_g) {
		ev_timer_init(&nudge, ev_nudge_cb, WA_EV_NUDGE_S, WA_EV_NUDGE_S);
		nudge.data = core->ctx;
		ev_timer_start(ev_loop_g, &nudge);
	}
	while (!interrupted) {
		if (ev_loop_g)
			ev_run(ev_loop_g, EVRUN_ONCE);
		else if (lws_service(core->ctx, 0) < 0)
			break;
	}
	signal_ctx = NULL;
	if (ev_loop_g)
		ev_timer_stop(ev_loop_g, &nudge);
	return 0;
}

void sim_server_stop(struct sim *sim);
void sim_server_stop(struct sim *sim)
{
	struct sim_core *core = sim_core(sim);
	timers_fire_all(sim);
	if (core->ctx)
		lws_context_destroy(core->ctx);
	core->ctx = NULL;
	if (ev_loop_g)
		ev_loop_destroy(ev_loop_g);
	ev_loop_g = NULL;
}
