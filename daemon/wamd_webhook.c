/* Event fan-out and webhook delivery. Each event is written to the durable
 * queue (SQLite) once per subscribed target before anything is sent, so a
 * crash or a receiver that is down loses nothing. Delivery runs one request
 * at a time per (instance, target) lane, oldest first: order per instance is
 * kept, and a failing receiver only holds back its own lane. Retries back
 * off exponentially (initial delay doubling up to the cap, +-20 % jitter).
 * Requests use the lws HTTP client on the daemon's loop; nothing blocks.
 *
 * Each request carries X-Wamd-Event-Id and, when the webhook has a secret,
 * X-Wamd-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>.
 *
 * An attempt: the host name is resolved off the loop (wamd_resolve.c),
 * every address it has is checked against the policy, and lws connects to
 * the checked numeric address (Host header and TLS name stay the name), so
 * a refused address never sees a connection. Redirects are never followed:
 * a 3xx is a failed attempt. webhook_timeout_ms bounds the whole attempt. */
#include <arpa/inet.h>
#include <netdb.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "wamd.h"
#include "wamd_resolve.h"
#include "wamd_events.h"
#include "wamd_media_probe.h"
#include "wamd_pace_bulk_read.h"

static bool events_match(json_t *list, const char *event)
{
	if (!list || !json_is_array(list) || json_array_size(list) == 0)
		return true;
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v) {
		const char *s = json_string_value(v);
		if (s && !strcmp(s, event))
			return true;
	}
	return false;
}

static bool csv_match(const char *csv, const char *event)
{
	if (!csv || !*csv)
		return true;
	size_t el = strlen(event);
	for (const char *p = csv; *p;) {
		while (*p == ' ' || *p == ',')
			p++;
		const char *e = p;
		while (*e && *e != ',' && *e != ' ')
			e++;
		if ((size_t)(e - p) == el && !strncmp(p, event, el))
			return true;
		p = e;
	}
	return false;
}

static json_t *instance_webhook(struct wamd_tenant *t)
{
	json_t *w = json_object_get(t->doc, "webhook");
	if (!json_is_object(w) || !json_is_true(json_object_get(w, "enabled")) ||
	    !json_string_value(json_object_get(w, "url")))
		return NULL;
	return w;
}

static bool subscribed(struct wamd_tenant *t, int target, const char *event)
{
	if (target >= WAMD_TARGET_BROKER_FIRST)
		return wamd_broker_subscribed(t, target, event);
	if (target == WAMD_TARGET_INSTANCE) {
		json_t *w = instance_webhook(t);
		return w && events_match(json_object_get(w, "events"), event);
	}
	struct wamd_config *c = &t->d->cfg;
	/* Evolution's global switches have no per-instance lifecycle events */
	if (!strcmp(event, "STATUS_INSTANCE") || !strcmp(event, "LOGOUT_INSTANCE") || !strcmp(event, "REMOVE_INSTANCE"))
		return false;
	return c->webhook_global_url && *c->webhook_global_url && csv_match(c->webhook_global_events, event);
}

/* An event raised while the store's loop-turn group is open may tell of
 * rows that are not durable yet (a sent message, a status): it goes out
 * after the commit, or not at all if the group is lost. */
struct emit_after {
	struct wamd_tenant *t;
	char *event;
	json_t *data;
};

static void emit_after_done(void *user, int rc)
{
	struct emit_after *e = user;
	if (rc == 0)
		wamd_emit(e->t, e->event, e->data);
	else
		json_decref(e->data);
	free(e->event);
	free(e);
}

bool wamd_emit_wanted(struct wamd_tenant *t, const char *event)
{
	struct wamd *d = t->d;
	bool wanted = d->ws_clients != NULL || wamd_streams_elsewhere(d);
	for (int target = 0; !wanted && target < WAMD_TARGETS; target++)
		wanted = subscribed(t, target, event);
	return wanted;
}

void wamd_emit(struct wamd_tenant *t, const char *event, json_t *data)
{
	struct wamd *d = t->d;
	if (wa_store_turn_pending(d->store)) {
		struct emit_after *e = malloc(sizeof *e);
		char *ev = e ? strdup(event) : NULL;
		if (ev) {
			*e = (struct emit_after){ .t = t, .event = ev, .data = data };
			wa_store_after_commit(d->store, emit_after_done, e);
			return;
		}
		free(e); /* no memory to wait: out now */
	}
	wamd_prom_event(t, event, data); /* counted whether anybody listens or not */
	/* nobody listens (no webhook wants it, no event-stream client): skip
	 * building and serialising the envelope, a few µs per message and
	 * status at 1,000 messages/s */
	if (!wamd_emit_wanted(t, event)) {
		json_decref(data);
		return;
	}
	const char *dotted = wamd_event_dotted(event);
	if (!dotted)
		dotted = event;
	char ts[32], suffix[64];
	wamd_iso_time(wamd_now_ms(), ts);
	wamd_event_suffix(event, suffix, sizeof suffix);
	json_t *env = json_object();
	json_object_set_new(env, "event", json_string(dotted));
	json_object_set_new(env, "instance", json_string(t->name));
	json_object_set_new(env, "data", data ? data : json_null());
	json_t *w = instance_webhook(t);
	if (w)
		json_object_set(env, "destination", json_object_get(w, "url"));
	else if (d->cfg.webhook_global_url && *d->cfg.webhook_global_url) {
		char dest[2048];
		snprintf(dest, sizeof dest, "%s/%s", d->cfg.webhook_global_url, suffix);
		json_object_set_new(env, "destination", json_string(dest));
	}
	json_object_set_new(env, "date_time", json_string(ts));
	if (t->own_jid)
		json_object_set_new(env, "sender", json_string(t->own_jid));
	json_object_set_new(env, "server_url", json_string(d->cfg.server_url ? d->cfg.server_url : ""));
	/* apikey (expose_token) carries the instance token only to a receiver
	 * that holds it already: the global webhook (the admin's) and an
	 * instance webhook set by a holder of every scope the token has.
	 * Streams never carry it: a read-only token must not learn it. */
	const char *tok = d->cfg.expose_token ? json_string_value(json_object_get(t->doc, "token")) : NULL;
	json_object_set_new(env, "apikey", json_null());
	char *sbody = json_dumps(env, JSON_COMPACT);
	char *body = NULL;
	if (tok) {
		json_object_set_new(env, "apikey", json_string(tok));
		body = json_dumps(env, JSON_COMPACT);
	}
	/* brokers get Evolution's envelope without destination, with apikey
	 * as the global webhook has it (the broker is the admin's) */
	char *bbody = NULL;
	for (int target = WAMD_TARGET_BROKER_FIRST; !bbody && target < WAMD_TARGETS; target++)
		if (subscribed(t, target, event)) {
			json_object_del(env, "destination");
			bbody = json_dumps(env, JSON_COMPACT);
			if (!bbody)
				break;
		}
	json_decref(env);
	if (!sbody || (tok && !body)) {
		free(body);
		free(sbody);
		free(bbody);
		return;
	}
	size_t len = body ? strlen(body) : 0, slen = strlen(sbody);
	for (int target = 0; target < WAMD_TARGETS; target++) {
		if (!subscribed(t, target, event))
			continue;
		int rc;
		if (target >= WAMD_TARGET_BROKER_FIRST) {
			rc = bbody ? wa_store_wh_push(d->store, t->id, target, event, bbody, strlen(bbody), NULL)
				   : WA_ENOMEM;
		} else {
			bool with_key = body && (target == WAMD_TARGET_GLOBAL ||
						 json_is_true(json_object_get(t->doc, "webhookApikey")));
			rc = wa_store_wh_push(d->store, t->id, target, event, with_key ? body : sbody,
					      with_key ? len : slen, NULL);
		}
		if (rc != 0)
			LOGE("instance %s: webhook event %s not queued: %s", t->name, event, wa_errname(rc));
	}
	wamd_stream_broadcast(t, sbody);
	wamd_stream_relay(t, event, sbody); /* cluster: the other nodes' streams */
	if (body) {
		explicit_bzero(body, len);
		free(body);
	}
	if (bbody) {
		explicit_bzero(bbody, strlen(bbody));
		free(bbody);
	}
	free(sbody);
	wamd_webhook_kick(t);
}

const char *wamd_webhook_url_refused(const struct wamd *d, const char *url)
{
	static char why[320]; /* loop thread only */
	return wamd_webhook_url_policy(&d->cfg, url, why, sizeof why);
}

static void lane_reset(struct wamd_lane *l)
{
	if (l->deadline_armed) {
		lws_sul_cancel(&l->deadline_sul);
		l->deadline_armed = false;
	}
	if (l->dns) {
		wamd_resolve_cancel(l->dns);
		l->dns = NULL;
	}
	free(l->host);
	free(l->location);
	l->host = NULL;
	l->location = NULL;
	free(l->body);
	free(l->url_path);
	free(l->headers_json);
	free(l->sig);
	l->sig = NULL;
	l->body = NULL;
	l->url_path = NULL;
	l->headers_json = NULL;
	l->body_len = l->body_sent = 0;
	l->wsi = NULL;
	l->done = false;
	l->http_status = 0;
}

void wamd_webhook_lane_cancel(struct wamd_lane *l)
{
	if (l->timer_armed) {
		lws_sul_cancel(&l->sul);
		l->timer_armed = false;
	}
	if (l->wsi) {
		lws_set_opaque_user_data(l->wsi, NULL);
		lws_set_timeout(l->wsi, PENDING_TIMEOUT_KILLED_BY_PARENT, LWS_TO_KILL_ASYNC);
	}
	lane_reset(l);
	l->row_id = 0;
}

static void lane_run(struct wamd_lane *l);

static void lane_timer_cb(lws_sorted_usec_list_t *sul)
{
	struct wamd_lane *l = lws_container_of(sul, struct wamd_lane, sul);
	l->timer_armed = false;
	lane_run(l);
}

static void lane_schedule(struct wamd_lane *l, int64_t delay_ms)
{
	if (delay_ms < 0)
		delay_ms = 0;
	if (l->timer_armed)
		lws_sul_cancel(&l->sul);
	l->timer_armed = true;
	lws_sul_schedule(l->t->d->ctx, 0, &l->sul, lane_timer_cb, delay_ms * LWS_US_PER_MS);
}

static bool code_in(const char *csv, int code)
{
	char s[16];
	snprintf(s, sizeof s, "%d", code);
	return csv && *csv && csv_match(csv, s);
}

static int64_t backoff_ms(const struct wamd_config *c, int attempts)
{
	int64_t d = c->webhook_initial_delay_ms;
	for (int i = 1; i < attempts && d < c->webhook_max_delay_ms; i++)
		d *= 2;
	if (d > c->webhook_max_delay_ms)
		d = c->webhook_max_delay_ms;
	uint32_t r = 0;
	if (RAND_bytes((unsigned char *)&r, sizeof r) != 1)
		r = 0;
	int64_t jitter = d / 5;
	if (jitter > 0)
		d += (int64_t)(r % (uint32_t)(2 * jitter + 1)) - jitter;
	if (d < c->webhook_initial_delay_ms)
		d = c->webhook_initial_delay_ms;
	return d;
}

/* Called once per request with the outcome (status 0 = network failure). */
static void lane_finish(struct wamd_lane *l, int status, const char *why)
{
	struct wamd_tenant *t = l->t;
	struct wamd *d = t->d;
	const struct wamd_config *c = &d->cfg;
	int64_t row = l->row_id;
	if (row == 0)
		return; /* already finished (error reported during connect) */
	l->row_id = 0;
	int attempts = l->attempts + 1;
	lane_reset(l);
	int rc = 0;
	if (status >= 200 && status < 300) {
		d->webhook_sent++;
		LOGD("instance %s: webhook %lld delivered (%d)", t->name, (long long)row, status);
		rc = wa_store_wh_remove(d->store, row);
		lane_schedule(l, 0);
	} else if (status && code_in(c->webhook_non_retryable, status)) {
		d->webhook_failed++;
		LOGW("instance %s: webhook %lld refused (%s); kept as dead", t->name, (long long)row, why);
		rc = wa_store_wh_fail(d->store, row, attempts, 0, true, why);
		lane_schedule(l, 0);
	} else if ((c->webhook_max_attempts > 0 && attempts >= c->webhook_max_attempts) ||
		   (c->webhook_max_age_s > 0 && wamd_now_ms() - l->created_ms > c->webhook_max_age_s * 1000)) {
		d->webhook_failed++;
		LOGW("instance %s: webhook %lld gave up after %d attempts (%s)", t->name, (long long)row, attempts,
		     why);
		rc = wa_store_wh_fail(d->store, row, attempts, 0, true, why);
		lane_schedule(l, 0);
	} else {
		int64_t delay = backoff_ms(c, attempts);
		d->webhook_attempt_failures++;
		LOGI("instance %s: webhook %lld attempt %d failed (%s); retry in %lld ms", t->name, (long long)row,
		     attempts, why, (long long)delay);
		rc = wa_store_wh_fail(d->store, row, attempts, wamd_now_ms() + delay, false, why);
		lane_schedule(l, delay);
	}
	if (rc != 0)
		LOGE("instance %s: webhook queue update failed: %s", t->name, wa_errname(rc));
}

/* false: a secret is set but the signature could not be made (out of memory) */
static bool sign(struct wamd_lane *l, const char *secret)
{
	free(l->sig); /* held only while an attempt is under way: 5 lanes of every idle instance */
	l->sig = NULL;
	if (!secret || !*secret)
		return true;
	char t[24];
	snprintf(t, sizeof t, "%lld", (long long)(wamd_now_ms() / 1000));
	unsigned char mac[32];
	unsigned int maclen = 0;
	size_t tl = strlen(t);
	unsigned char *msg = malloc(tl + 1 + l->body_len);
	if (!msg)
		return false;
	memcpy(msg, t, tl);
	msg[tl] = '.';
	memcpy(msg + tl + 1, l->body, l->body_len);
	HMAC(EVP_sha256(), secret, (int)strlen(secret), msg, tl + 1 + l->body_len, mac, &maclen);
	free(msg);
	char hx[65];
	wamd_hex(mac, 32, hx);
	size_t cap = 3 + strlen(t) + 4 + sizeof hx;
	if ((l->sig = malloc(cap)) == NULL)
		return false;
	snprintf(l->sig, cap, "t=%s,v1=%s", t, hx);
	return true;
}

static long c_timeout_ms(const struct wamd *d)
{
	return d->cfg.webhook_timeout_ms > 0 ? d->cfg.webhook_timeout_ms : 1;
}

/* lws re-arms its own per-stage timeouts (the context's timeout_secs, 5 s)
 * as a request goes through connect, send and wait: a receiver answering
 * in 8 s was cut at 5 s whatever webhook_timeout_ms said. The attempt timer
 * below is the only limit: it fires at the deadline, and before that wakes
 * every 3 s to push lws' stage timeout past the deadline. */
#define DEADLINE_TICK_MS 3000

static void lane_deadline_cb(lws_sorted_usec_list_t *sul);

static void deadline_arm(struct wamd_lane *l)
{
	int64_t left = l->deadline_ms - wamd_now_ms();
	if (left < 0)
		left = 0;
	if (left > DEADLINE_TICK_MS)
		left = DEADLINE_TICK_MS;
	if (l->deadline_armed)
		lws_sul_cancel(&l->deadline_sul);
	l->deadline_armed = true;
	lws_sul_schedule(l->t->d->ctx, 0, &l->deadline_sul, lane_deadline_cb, left * LWS_US_PER_MS);
}

static void stage_timeout_push(struct wamd_lane *l)
{
	int64_t left = l->deadline_ms - wamd_now_ms();
	if (l->wsi && left > 0)
		lws_set_timeout(l->wsi, PENDING_TIMEOUT_USER_OK, (int)(left / 1000) + 2);
}

static void lane_deadline_cb(lws_sorted_usec_list_t *sul)
{
	struct wamd_lane *l = lws_container_of(sul, struct wamd_lane, deadline_sul);
	l->deadline_armed = false;
	if (!l->row_id)
		return;
	if (wamd_now_ms() < l->deadline_ms) {
		stage_timeout_push(l);
		deadline_arm(l);
		return;
	}
	if (l->wsi) {
		lws_set_opaque_user_data(l->wsi, NULL);
		lws_set_timeout(l->wsi, PENDING_TIMEOUT_KILLED_BY_PARENT, LWS_TO_KILL_ASYNC);
		l->wsi = NULL;
	}
	char why[96];
	snprintf(why, sizeof why, "timed out after %ld ms%s", l->timeout_ms, l->dns ? " (name lookup)" : "");
	lane_finish(l, 0, why);
}

static void lane_connect(struct wamd_lane *l, const char *addr)
{
	struct wamd *d = l->t->d;
	struct lws_client_connect_info ci;
	memset(&ci, 0, sizeof ci);
	ci.context = d->ctx;
	ci.vhost = d->vh_client;
	ci.address = addr; /* checked; lws' own lookup of a numeric address stays local */
	ci.port = l->port;
	/* never follow a redirect: it would carry the event, its id, signature
	 * and custom headers to wherever the receiver points (and lws turns a
	 * 303 into a GET) */
	ci.ssl_connection = (l->tls ? LCCSCF_USE_SSL : 0) | LCCSCF_HTTP_NO_FOLLOW_REDIRECT;
	ci.path = l->url_path;
	ci.host = l->host;
	ci.origin = l->host;
	ci.method = "POST";
	ci.protocol = "wamd-webhook";
	ci.local_protocol_name = "wamd-webhook";
	ci.alpn = "http/1.1";
	ci.opaque_user_data = l;
	ci.pwsi = &l->wsi;
	if (!lws_client_connect_via_info(&ci)) {
		l->wsi = NULL;
		if (l->row_id)
			lane_finish(l, 0, "connect failed");
		return;
	}
	stage_timeout_push(l);
}

static void lane_resolved(void *arg, int rc, const struct addrinfo *res)
{
	struct wamd_lane *l = arg;
	struct wamd *d = l->t->d;
	l->dns = NULL;
	if (!l->row_id)
		return;
	char why[400];
	if (rc != 0) {
		snprintf(why, sizeof why, "cannot resolve %s: %s", l->host, gai_strerror(rc));
		lane_finish(l, 0, why);
		return;
	}
	/* every address must pass: a name mixing a public address with a
	 * private one is refused rather than tried address by address */
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
		const char *refused = wamd_addr_class_refused(&d->cfg, wamd_addr_classify_sa(ai->ai_addr));
		if (refused) {
			snprintf(why, sizeof why, "%s resolves to %s: %s; not connected", l->host, txt, refused);
			LOGW("instance %s: webhook %lld: %s", l->t->name, (long long)l->row_id, why);
			lane_finish(l, 0, why);
			return;
		}
		if (!first[0])
			snprintf(first, sizeof first, "%s", txt);
	}
	if (!first[0]) {
		snprintf(why, sizeof why, "%s has no IPv4 or IPv6 address", l->host);
		lane_finish(l, 0, why);
		return;
	}
	lane_connect(l, first);
}

static void lane_run(struct wamd_lane *l)
{
	struct wamd_tenant *t = l->t;
	struct wamd *d = t->d;
	if (l->row_id || l->wsi || l->timer_armed || d->stop || t->removed)
		return; /* an attempt is in flight, or one is scheduled */
	wa_store_wh_row row;
	int rc = wa_store_wh_head(d->store, t->id, l->target, &row);
	if (rc == WA_ENOTFOUND)
		return;
	if (rc != 0) {
		LOGE("instance %s: webhook queue read failed: %s", t->name, wa_errname(rc));
		lane_schedule(l, 1000);
		return;
	}
	int64_t now = wamd_now_ms();
	if (row.next_attempt_ms > now) {
		lane_schedule(l, row.next_attempt_ms - now);
		wa_store_wh_row_clear(&row);
		return;
	}
	/* target configuration as of now */
	const char *url = NULL, *secret = NULL;
	bool by_events = false;
	json_t *headers = NULL;
	if (l->target == WAMD_TARGET_INSTANCE) {
		json_t *w = instance_webhook(t);
		if (w) {
			url = json_string_value(json_object_get(w, "url"));
			secret = json_string_value(json_object_get(w, "secret"));
			by_events = json_is_true(json_object_get(w, "webhookByEvents"));
			headers = json_object_get(w, "headers");
		}
	} else if (d->cfg.webhook_global_url && *d->cfg.webhook_global_url) {
		url = d->cfg.webhook_global_url;
		secret = d->cfg.webhook_global_secret;
		by_events = d->cfg.webhook_global_by_events;
	}
	const char *refused = url ? wamd_webhook_url_refused(d, url) : "webhook disabled";
	struct wamd_url u;
	if (!refused && wamd_url_parse(url, &u) != 0)
		refused = "bad URL";
	if (refused) {
		/* config changed since the event was queued: drop it, as a
		 * disabled webhook would not have queued it */
		LOGW("instance %s: webhook %lld dropped: %s", t->name, (long long)row.id, refused);
		rc = wa_store_wh_remove(d->store, row.id);
		wa_store_wh_row_clear(&row);
		if (rc == 0)
			lane_schedule(l, 0);
		return;
	}
	lane_reset(l);
	l->row_id = row.id;
	l->attempts = row.attempts;
	l->created_ms = row.created_ms;
	l->body = row.payload;
	l->body_len = row.payload_len;
	row.payload = NULL;
	char path[1200];
	if (by_events) {
		char suffix[64];
		wamd_event_suffix(row.event, suffix, sizeof suffix);
		snprintf(path, sizeof path, "%s/%s", u.path, suffix);
	} else
		snprintf(path, sizeof path, "%s", u.path);
	l->url_path = strdup(path);
	l->headers_json = headers ? json_dumps(headers, JSON_COMPACT) : NULL;
	bool signed_ok = sign(l, secret);
	wa_store_wh_row_clear(&row);

	struct wamd_host h;
	l->host = strdup(u.host);
	l->port = u.port;
	l->tls = u.tls;
	l->timeout_ms = c_timeout_ms(d);
	l->deadline_ms = wamd_now_ms() + l->timeout_ms;
	deadline_arm(l);
	if (!l->host || !l->url_path || !signed_ok || wamd_host_parse(u.host, &h) != 0) {
		lane_finish(l, 0, "out of memory or bad host");
		return;
	}
	if (h.numeric) {
		lane_connect(l, h.canon); /* the class was checked with the URL */
		return;
	}
	l->dns = wamd_resolve_start(d, h.canon, lane_resolved, l);
	if (!l->dns)
		lane_finish(l, 0, "name lookup could not start");
}

void wamd_webhook_kick(struct wamd_tenant *t)
{
	for (int i = WAMD_TARGET_BROKER_FIRST; i < WAMD_TARGETS; i++)
		wamd_broker_kick(&t->lanes[i]);
	for (int i = 0; i < WAMD_TARGET_BROKER_FIRST; i++)
		if (!t->lanes[i].row_id && !t->lanes[i].wsi && !t->lanes[i].timer_armed)
			lane_schedule(&t->lanes[i], 0);
}

static bool peer_allowed(struct lws *wsi, struct wamd *d)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	int fd = lws_get_socket_fd(wsi);
	if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &sl) != 0)
		return false;
	enum wamd_addr_class c = wamd_addr_classify_sa((struct sockaddr *)&ss);
	if (c == WAMD_ADDR_LOOPBACK)
		return d->cfg.webhook_allow_loopback;
	if (c == WAMD_ADDR_PRIVATE)
		return d->cfg.webhook_allow_private;
	return true;
}

int wamd_webhook_client_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	(void)user;
	struct wamd_lane *l = lws_get_opaque_user_data(wsi);
	switch (reason) {
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		wamd_resolve_deliver();
		wamd_broker_deliver();
		wamd_probe_deliver();
		wamd_bulk_read_deliver();
		return 0;
	case LWS_CALLBACK_CLIENT_HTTP_REDIRECT:
		return 1; /* not reached with LCCSCF_HTTP_NO_FOLLOW_REDIRECT; refuse anyway */
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		if (l && !l->done) {
			l->done = true;
			char why[128];
			snprintf(why, sizeof why, "%.100s", in ? (const char *)in : "connection error");
			lws_set_opaque_user_data(wsi, NULL);
			lane_finish(l, 0, why);
		}
		return 0;
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
		if (!l)
			return -1;
		/* the name behind the URL may resolve anywhere: check the real peer */
		if (!peer_allowed(wsi, l->t->d)) {
			LOGW("instance %s: webhook peer address refused by policy", l->t->name);
			return -1;
		}
		unsigned char **p = (unsigned char **)in, *end = (*p) + len;
		char cl[24], event_id[24]; /* the queue row's id */
		snprintf(cl, sizeof cl, "%zu", l->body_len);
		snprintf(event_id, sizeof event_id, "%lld", (long long)l->row_id);
		if (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE,
						 (const unsigned char *)"application/json", 16, p, end) ||
		    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH, (const unsigned char *)cl,
						 (int)strlen(cl), p, end) ||
		    lws_add_http_header_by_name(wsi, (const unsigned char *)"x-wamd-event-id:",
						(const unsigned char *)event_id, (int)strlen(event_id), p, end))
			return -1;
		if (l->sig && lws_add_http_header_by_name(wsi, (const unsigned char *)"x-wamd-signature:",
							     (const unsigned char *)l->sig, (int)strlen(l->sig), p, end))
			return -1;
		if (l->headers_json) {
			json_t *h = json_loads(l->headers_json, 0, NULL);
			const char *k;
			json_t *v;
			json_object_foreach(h, k, v) {
				const char *sv = json_string_value(v);
				if (!sv || !strcasecmp(k, "content-type") || !strcasecmp(k, "content-length") ||
				    !strcasecmp(k, "host") || !strcasecmp(k, "jwt_key") || strpbrk(k, ":\r\n ") ||
				    strpbrk(sv, "\r\n") || strlen(k) > 100)
					continue;
				char name[104];
				snprintf(name, sizeof name, "%s:", k);
				if (lws_add_http_header_by_name(wsi, (const unsigned char *)name, (const unsigned char *)sv,
								(int)strlen(sv), p, end)) {
					json_decref(h);
					return -1;
				}
			}
			json_decref(h);
		}
		lws_client_http_body_pending(wsi, 1);
		lws_callback_on_writable(wsi);
		return 0;
	}
	case LWS_CALLBACK_CLIENT_HTTP_WRITEABLE: {
		if (!l)
			return -1;
		size_t left = l->body_len - l->body_sent;
		size_t chunk = left > 16384 ? 16384 : left;
		unsigned char *buf = malloc(LWS_PRE + chunk + 1);
		if (!buf)
			return -1;
		memcpy(buf + LWS_PRE, l->body + l->body_sent, chunk);
		bool last = chunk == left;
		int n = lws_write(wsi, buf + LWS_PRE, chunk, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP);
		free(buf);
		if (n < 0)
			return -1;
		l->body_sent += chunk;
		if (last)
			lws_client_http_body_pending(wsi, 0);
		else
			lws_callback_on_writable(wsi);
		return 0;
	}
	case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
		if (l) {
			l->http_status = (int)lws_http_client_http_response(wsi);
			if (l->http_status >= 300 && l->http_status < 400) {
				char loc[512] = "";
				if (lws_hdr_copy(wsi, loc, sizeof loc, WSI_TOKEN_HTTP_LOCATION) < 0)
					snprintf(loc, sizeof loc, "(too long)");
				free(l->location);
				l->location = strdup(loc[0] ? loc : "(none)");
			}
		}
		return 0;
	case LWS_CALLBACK_RECEIVE_CLIENT_HTTP: {
		char buf[LWS_PRE + 1024];
		char *px = buf + LWS_PRE;
		int lenx = sizeof buf - LWS_PRE;
		if (lws_http_client_read(wsi, &px, &lenx) < 0)
			return -1;
		return 0;
	}
	case LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ:
		return 0; /* response bodies are ignored */
	case LWS_CALLBACK_COMPLETED_CLIENT_HTTP:
		if (l && !l->done) {
			l->done = true;
			lws_set_opaque_user_data(wsi, NULL);
			char why[600];
			if (l->location)
				snprintf(why, sizeof why, "HTTP %d, redirect to %.500s not followed", l->http_status,
					 l->location);
			else
				snprintf(why, sizeof why, "HTTP %d", l->http_status);
			lane_finish(l, l->http_status, why);
		}
		return -1;
	case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
		if (l && !l->done) {
			l->done = true;
			lws_set_opaque_user_data(wsi, NULL);
			/* a status line without a completed body still counts */
			char why[600];
			if (l->location)
				snprintf(why, sizeof why, "HTTP %d, redirect to %.500s not followed", l->http_status,
					 l->location);
			else
				snprintf(why, sizeof why, "%s", l->http_status ? "closed early" : "closed");
			lane_finish(l, l->http_status >= 200 && l->http_status < 300 ? l->http_status : 0, why);
		}
		return 0;
	default:
		return 0;
	}
}
