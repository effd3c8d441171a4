/* Fetching a media URL given in a send request into a staged file, under
 * the webhook SSRF rules: the URL's literal host class and every address
 * its name resolves to must be allowed (webhook_allow_loopback /
 * webhook_allow_private), the connected peer is checked again, redirects
 * are not followed, and the body is capped (the kind's limit) and the
 * whole fetch bounded in time (WAMD_MEDIA_FETCH_MS). The lookup runs off
 * the loop (wamd_resolve.c). The body is written to the file as it
 * arrives. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "wamd.h"
#include "wamd_resolve.h"

#define WAMD_MEDIA_FETCH_MS 60000

struct wamd_media_fetch {
	struct wamd *d;
	struct lws *wsi;
	struct wamd_resolve *dns;
	lws_sorted_usec_list_t sul;
	struct wamd_url u;
	int fd;
	uint64_t max, got;
	int status;
	char ctype[128];
	bool finished;
	bool *gone; /* set while lws_client_connect_via_info runs: it may fail through our callback, which frees f */
	wamd_media_fetch_cb cb;
	void *arg;
};

static void fetch_finish(struct wamd_media_fetch *f, const char *why)
{
	if (f->finished)
		return;
	f->finished = true;
	lws_sul_cancel(&f->sul);
	if (f->dns) {
		wamd_resolve_cancel(f->dns);
		f->dns = NULL;
	}
	if (f->wsi) {
		lws_set_opaque_user_data(f->wsi, NULL);
		lws_set_timeout(f->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
		f->wsi = NULL;
	}
	if (close(f->fd) != 0 && !why)
		why = "cannot write the staged file";
	if (f->gone)
		*f->gone = true;
	f->cb(f->arg, why, f->got, f->ctype[0] ? f->ctype : NULL);
	free(f);
}

static void on_deadline(lws_sorted_usec_list_t *sul)
{
	struct wamd_media_fetch *f = lws_container_of(sul, struct wamd_media_fetch, sul);
	fetch_finish(f, "the media URL did not answer in time");
}

static bool peer_ok(struct lws *wsi, const struct wamd *d)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	int fd = lws_get_socket_fd(wsi);
	if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &sl) != 0)
		return false;
	return !wamd_addr_class_refused(&d->cfg, wamd_addr_classify_sa((struct sockaddr *)&ss));
}

int wamd_media_fetch_cb_lws(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	(void)user;
	struct wamd_media_fetch *f = wsi ? lws_get_opaque_user_data(wsi) : NULL;
	char why[200];
	switch (reason) {
	case LWS_CALLBACK_CLIENT_HTTP_REDIRECT:
		return 1;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		if (f) {
			f->wsi = NULL;
			lws_set_opaque_user_data(wsi, NULL);
			snprintf(why, sizeof why, "cannot fetch the media URL: %.120s", in ? (const char *)in : "connection error");
			fetch_finish(f, why);
		}
		return 0;
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
		if (!f)
			return -1;
		if (!peer_ok(wsi, f->d)) {
			f->wsi = NULL;
			lws_set_opaque_user_data(wsi, NULL);
			fetch_finish(f, "the media URL's address is refused by policy");
			return -1;
		}
		return 0;
	case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
		if (!f)
			return -1;
		f->status = (int)lws_http_client_http_response(wsi);
		if (lws_hdr_copy(wsi, f->ctype, sizeof f->ctype, WSI_TOKEN_HTTP_CONTENT_TYPE) < 0 ||
		    strpbrk(f->ctype, "\r\n"))
			f->ctype[0] = '\0';
		if (f->status != 200) {
			f->wsi = NULL;
			lws_set_opaque_user_data(wsi, NULL);
			snprintf(why, sizeof why, "the media URL answered HTTP %d%s", f->status,
				 f->status >= 300 && f->status < 400 ? " (redirects are not followed)" : "");
			fetch_finish(f, why);
			return -1;
		}
		return 0;
	case LWS_CALLBACK_RECEIVE_CLIENT_HTTP: {
		char buf[LWS_PRE + 16384];
		char *px = buf + LWS_PRE;
		int lenx = (int)(sizeof buf - LWS_PRE);
		return lws_http_client_read(wsi, &px, &lenx) < 0 ? -1 : 0;
	}
	case LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ:
		if (!f)
			return -1;
		if (len > f->max - f->got) {
			f->wsi = NULL;
			lws_set_opaque_user_data(wsi, NULL);
			snprintf(why, sizeof why, "the media is over WhatsApp's limit of %llu bytes",
				 (unsigned long long)f->max);
			fetch_finish(f, why);
			return -1;
		}
		for (size_t off = 0; off < len;) {
			ssize_t w = write(f->fd, (const char *)in + off, len - off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				f->wsi = NULL;
				lws_set_opaque_user_data(wsi, NULL);
				fetch_finish(f, "cannot write the staged file");
				return -1;
			}
			off += (size_t)w;
		}
		f->got += len;
		return 0;
	case LWS_CALLBACK_COMPLETED_CLIENT_HTTP:
		if (f) {
			f->wsi = NULL;
			lws_set_opaque_user_data(wsi, NULL);
			fetch_finish(f, NULL);
		}
		return -1;
	case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
		if (f) {
			f->wsi = NULL;
			lws_set_opaque_user_data(wsi, NULL);
			fetch_finish(f, "the media URL closed the connection before the end");
		}
		return 0;
	default:
		return 0;
	}
}

static void connect_to(struct wamd_media_fetch *f, const char *addr)
{
	struct lws_client_connect_info ci;
	memset(&ci, 0, sizeof ci);
	ci.context = f->d->ctx;
	ci.vhost = f->d->vh_client;
	ci.address = addr; /* checked; lws' lookup of a numeric address stays local */
	ci.port = f->u.port;
	ci.ssl_connection = (f->u.tls ? LCCSCF_USE_SSL : 0) | LCCSCF_HTTP_NO_FOLLOW_REDIRECT;
	ci.path = f->u.path;
	ci.host = f->u.host;
	ci.origin = f->u.host;
	ci.method = "GET";
	ci.protocol = "wamd-media-fetch";
	ci.local_protocol_name = "wamd-media-fetch";
	ci.alpn = "http/1.1";
	ci.opaque_user_data = f;
	ci.pwsi = &f->wsi;
	bool gone = false;
	f->gone = &gone;
	struct lws *wsi = lws_client_connect_via_info(&ci);
	if (gone) /* finished (and freed) from inside the call */
		return;
	f->gone = NULL;
	if (!wsi && !f->finished) {
		f->wsi = NULL;
		fetch_finish(f, "cannot connect to the media URL");
	}
}

static void on_resolved(void *arg, int rc, const struct addrinfo *res)
{
	struct wamd_media_fetch *f = arg;
	f->dns = NULL;
	char why[400];
	if (rc != 0) {
		snprintf(why, sizeof why, "cannot resolve %s: %s", f->u.host, gai_strerror(rc));
		fetch_finish(f, why);
		return;
	}
	char first[INET6_ADDRSTRLEN] = "";
	for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		const void *a;
		if (ai->ai_family == AF_INET)
			a = &((const struct sockaddr_in *)(const void *)ai->ai_addr)->sin_addr;
		else if (ai->ai_family == AF_INET6)
			a = &((const struct sockaddr_in6 *)(const void *)ai->ai_addr)->sin6_addr;
		else
			continue;
		char txt[INET6_ADDRSTRLEN];
		inet_ntop(ai->ai_family, a, txt, sizeof txt);
		const char *refused = wamd_addr_class_refused(&f->d->cfg, wamd_addr_classify_sa(ai->ai_addr));
		if (refused) {
			snprintf(why, sizeof why, "%s resolves to %s: %s", f->u.host, txt, refused);
			fetch_finish(f, why);
			return;
		}
		if (!first[0])
			snprintf(first, sizeof first, "%s", txt);
	}
	if (!first[0]) {
		snprintf(why, sizeof why, "%s has no IPv4 or IPv6 address", f->u.host);
		fetch_finish(f, why);
		return;
	}
	connect_to(f, first);
}

const char *wamd_media_fetch_start(struct wamd *d, const char *url, int fd, uint64_t max, wamd_media_fetch_cb cb,
				   void *arg, char *why, size_t whylen)
{
	const char *refused = wamd_webhook_url_policy(&d->cfg, url, why, whylen);
	if (refused)
		return refused;
	struct wamd_host h;
	struct wamd_media_fetch *f = calloc(1, sizeof *f);
	if (!f)
		return "out of memory";
	if (wamd_url_parse(url, &f->u) != 0 || wamd_host_parse(f->u.host, &h) != 0) {
		free(f);
		return "not an http(s) URL";
	}
	f->d = d;
	f->fd = fd;
	f->max = max;
	f->cb = cb;
	f->arg = arg;
	lws_sul_schedule(d->ctx, 0, &f->sul, on_deadline, (lws_usec_t)WAMD_MEDIA_FETCH_MS * LWS_US_PER_MS);
	if (h.numeric) {
		connect_to(f, h.canon); /* its class was checked with the URL */
		return NULL;
	}
	f->dns = wamd_resolve_start(d, h.canon, on_resolved, f);
	if (!f->dns)
		fetch_finish(f, "name lookup could not start");
	return NULL;
}
