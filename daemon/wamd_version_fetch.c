/* wa_version_fetch: at start, ask WhatsApp Web which web client version
 * is current (its service worker script carries "client_revision":N, the
 * version being 2.3000.N, as Baileys' fetchLatestWaWebVersion reads it),
 * so a daemon that starts after WhatsApp bumped its minimum still logs in.
 * Off by default. It never blocks the loop and never fails the start: the
 * request runs on the loop with a short deadline, the instances start when
 * it ends either way (the API answers meanwhile), and on any failure they
 * claim wa_version (or the built-in version) as without it. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wamd.h"

#define FETCH_MAX_BODY (4u * 1024 * 1024)
#define FETCH_DEADLINE_MS 3000

struct vfetch {
	struct wamd *d;
	void (*done)(struct wamd *d);
	struct lws *wsi;
	lws_sorted_usec_list_t sul;
	char *body;
	size_t len;
	int status;
	bool finished;
};
static struct vfetch g_vf;

/* "...\"client_revision\":1023223821..." -> 1023223821; 0 when absent. */
unsigned long wamd_version_from_sw(const char *text, size_t len)
{
	static const char key[] = "client_revision";
	const size_t kl = sizeof key - 1;
	for (size_t i = 0; i + kl < len; i++) {
		if (memcmp(text + i, key, kl) != 0)
			continue;
		size_t j = i + kl;
		while (j < len && (text[j] == '\\' || text[j] == '"'))
			j++;
		if (j >= len || text[j] != ':')
			continue;
		j++;
		while (j < len && isspace((unsigned char)text[j]))
			j++;
		unsigned long v = 0;
		size_t digits = 0;
		while (j < len && isdigit((unsigned char)text[j]) && digits < 10) {
			v = v * 10 + (unsigned long)(text[j++] - '0');
			digits++;
		}
		if (digits && v <= 0xffffffffUL && (j >= len || !isdigit((unsigned char)text[j])))
			return v;
	}
	return 0;
}

static void finish(const char *why)
{
	struct vfetch *f = &g_vf;
	if (f->finished)
		return;
	f->finished = true;
	lws_sul_cancel(&f->sul);
	if (f->wsi) {
		lws_set_opaque_user_data(f->wsi, NULL);
		lws_set_timeout(f->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
		f->wsi = NULL;
	}
	unsigned long rev = f->status == 200 && f->body ? wamd_version_from_sw(f->body, f->len) : 0;
	if (rev) {
		snprintf(f->d->fetched_wa_version, sizeof f->d->fetched_wa_version, "2.3000.%lu", rev);
		LOGI("WhatsApp Web's current version is %s (wa_version_fetch); instances claim it",
		     f->d->fetched_wa_version);
	} else {
		LOGW("wa_version_fetch: no version from %s (%s); instances claim %s", f->d->cfg.wa_version_fetch_url,
		     why ? why : f->status != 200 ? "HTTP status" : "no client_revision in the answer",
		     f->d->cfg.wa_version && *f->d->cfg.wa_version ? f->d->cfg.wa_version : "the built-in version");
	}
	free(f->body);
	f->body = NULL;
	f->len = 0;
	f->done(f->d);
}

static void on_deadline(lws_sorted_usec_list_t *sul)
{
	(void)sul;
	finish("timed out");
}

int wamd_version_fetch_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	(void)user;
	struct vfetch *f = lws_get_opaque_user_data(wsi);
	switch (reason) {
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		if (f) {
			char why[128];
			snprintf(why, sizeof why, "%.100s", in ? (const char *)in : "connection error");
			f->wsi = NULL;
			lws_set_opaque_user_data(wsi, NULL);
			finish(why);
		}
		return 0;
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
		if (!f)
			return -1;
		/* what a browser sends; WhatsApp Web refuses bare clients */
		static const char ua[] = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
					 "Chrome/131.0.0.0 Safari/537.36";
		unsigned char **p = (unsigned char **)in, *end = (*p) + len;
		if (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_USER_AGENT, (const unsigned char *)ua,
						 (int)strlen(ua), p, end) ||
		    lws_add_http_header_by_name(wsi, (const unsigned char *)"sec-fetch-site:", (const unsigned char *)"none",
						4, p, end))
			return -1;
		return 0;
	}
	case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
		if (f)
			f->status = (int)lws_http_client_http_response(wsi);
		return 0;
	case LWS_CALLBACK_RECEIVE_CLIENT_HTTP: {
		char buf[LWS_PRE + 4096];
		char *px = buf + LWS_PRE;
		int lenx = sizeof buf - LWS_PRE;
		if (lws_http_client_read(wsi, &px, &lenx) < 0)
			return -1;
		return 0;
	}
	case LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ:
		if (!f)
			return -1;
		if (f->len + len > FETCH_MAX_BODY)
			return -1;
		char *nb = realloc(f->body, f->len + len + 1);
		if (!nb)
			return -1;
		memcpy(nb + f->len, in, len);
		f->body = nb;
		f->len += len;
		f->body[f->len] = '\0';
		return 0;
	case LWS_CALLBACK_COMPLETED_CLIENT_HTTP:
		if (f) {
			f->wsi = NULL;
			lws_set_opaque_user_data(wsi, NULL);
			finish(NULL);
		}
		return -1;
	case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
		if (f) {
			f->wsi = NULL;
			lws_set_opaque_user_data(wsi, NULL);
			finish("closed early");
		}
		return 0;
	default:
		return 0;
	}
}

void wamd_version_fetch_start(struct wamd *d, void (*done)(struct wamd *d))
{
	struct vfetch *f = &g_vf;
	memset(f, 0, sizeof *f);
	f->d = d;
	f->done = done;
	struct wamd_url u;
	if (wamd_url_parse(d->cfg.wa_version_fetch_url, &u) != 0) {
		finish("not an http(s) URL");
		return;
	}
	struct lws_client_connect_info ci;
	memset(&ci, 0, sizeof ci);
	ci.context = d->ctx;
	ci.vhost = d->vh_client;
	ci.address = u.host;
	ci.port = u.port;
	ci.ssl_connection = u.tls ? LCCSCF_USE_SSL : 0;
	ci.path = u.path;
	ci.host = u.host;
	ci.origin = u.host;
	ci.method = "GET";
	ci.protocol = "wamd-version-fetch";
	ci.local_protocol_name = "wamd-version-fetch";
	ci.alpn = "http/1.1";
	ci.opaque_user_data = f;
	ci.pwsi = &f->wsi;
	lws_sul_schedule(d->ctx, 0, &f->sul, on_deadline, (lws_usec_t)FETCH_DEADLINE_MS * LWS_US_PER_MS);
	if (!lws_client_connect_via_info(&ci) && !f->finished) {
		f->wsi = NULL;
		finish("cannot connect");
	}
}

void wamd_version_fetch_cancel(void)
{
	struct vfetch *f = &g_vf;
	if (f->d && !f->finished) {
		f->finished = true;
		lws_sul_cancel(&f->sul);
		if (f->wsi)
			lws_set_opaque_user_data(f->wsi, NULL);
		f->wsi = NULL;
	}
	free(f->body);
	f->body = NULL;
}
