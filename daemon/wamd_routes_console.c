/* The operator console and the routes only it needed:
 *   GET /console, /console/app.js, /console/app.css: the page (no key; it
 *     asks for one and then uses the API like any client). The files are
 *     files of daemon/console, built into the binary.
 *   GET /wamd/status: the daemon at a glance (admin).
 *   GET /wamd/whoami: what the key presented may do (so the page asks for
 *     nothing it would be refused).
 *   GET /wamd/webhookQueue/{instance}: the instance's webhook events still
 *     pending and those given up on ("dead"), with their last error.
 *   POST /wamd/webhookReplay/{instance}: dead events back to the queue. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wamd_routes.h"

extern const char wamd_console_html[];
extern const char wamd_console_js[];
extern const char wamd_console_css[];

/* The page runs only its own files: no inline script or style, nothing
 * from elsewhere (the console works offline), no framing (clickjacking),
 * no form posted anywhere. img-src data: is for the QR (a data: PNG from
 * the API); connect-src 'self' covers the same-origin WebSocket. */
static const char *const page_headers[] = {
	"content-security-policy:",
	"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
	"x-content-type-options:", "nosniff",
	"referrer-policy:", "no-referrer",
	"x-frame-options:", "DENY",
	"cross-origin-opener-policy:", "same-origin",
	NULL,
};

static void serve(struct wamd_conn *c, const char *type, const char *text)
{
	c->resp_headers = page_headers;
	char *copy = strdup(text);
	if (!copy) {
		wamd_reply_error(c, 500, json_pack("[s]", "out of memory"));
		return;
	}
	wamd_reply_raw(c, 200, type, copy, strlen(copy));
}

void wamd_h_console(struct wamd_conn *c, struct wamd_tenant *unused, json_t *body)
{
	(void)unused;
	(void)body;
	serve(c, "text/html; charset=utf-8", wamd_console_html);
}

void wamd_h_console_js(struct wamd_conn *c, struct wamd_tenant *unused, json_t *body)
{
	(void)unused;
	(void)body;
	serve(c, "text/javascript; charset=utf-8", wamd_console_js);
}

void wamd_h_console_css(struct wamd_conn *c, struct wamd_tenant *unused, json_t *body)
{
	(void)unused;
	(void)body;
	serve(c, "text/css; charset=utf-8", wamd_console_css);
}

static int64_t size_of(const char *dir, const char *name)
{
	char path[4096];
	struct stat st;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	return stat(path, &st) == 0 ? (int64_t)st.st_size : 0;
}

static int64_t rss(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long long size = 0, res = 0;
	if (!f)
		return 0;
	if (fscanf(f, "%lld %lld", &size, &res) != 2)
		res = 0;
	fclose(f);
	return res * (int64_t)sysconf(_SC_PAGESIZE);
}

/* GET /wamd/status */
void wamd_h_status(struct wamd_conn *c, struct wamd_tenant *unused, json_t *body)
{
	(void)unused;
	(void)body;
	struct wamd *d = c->d;
	/* libwa's states (enum wa_conn_state), as /metrics labels them */
	static const char *const names[] = { "disconnected", "connecting", "handshaking", "pairing", "authenticating",
		"ready", "backoff", "closing", "logged_out", "waiting" };
	_Static_assert(WA_CONN_WAITING + 1 == sizeof names / sizeof names[0], "a connection state without a name");
	json_t *by_state = json_object(), *by_conn = json_object();
	size_t n = 0;
	for (struct wamd_tenant *t = d->tenants; t; t = t->next, n++) {
		const char *s = wamd_tenant_state_str(t);
		json_object_set_new(by_state, s, json_integer(json_integer_value(json_object_get(by_state, s)) + 1));
		s = (unsigned)t->state < sizeof names / sizeof names[0] ? names[t->state] : "unknown";
		json_object_set_new(by_conn, s, json_integer(json_integer_value(json_object_get(by_conn, s)) + 1));
	}
	int64_t pending = 0, dead = 0;
	if (wa_store_wh_count(d->store, -1, -1, &pending) != 0)
		pending = -1;
	for (struct wamd_tenant *t = d->tenants; t && dead >= 0; t = t->next) {
		int64_t k = 0;
		dead = wa_store_wh_count_state(d->store, t->id, WA_STORE_WH_DEAD, &k) == 0 ? dead + k : -1;
	}
	size_t streams = 0;
	for (struct wamd_conn *w = d->ws_clients; w; w = w->ws_next)
		streams++;
	int64_t now = wamd_now_ms();
	const char *dir = d->cfg.data_dir;
	json_t *o = json_object();
	json_object_set_new(o, "version", json_string(wamd_version()));
	json_object_set_new(o, "startedAt", json_integer(d->started_ms));
	json_object_set_new(o, "uptimeS", json_integer((now - d->started_ms) / 1000));
	json_object_set_new(o, "instances", json_integer((json_int_t)n));
	json_object_set_new(o, "sessions", by_state);
	json_object_set_new(o, "sessionStates", by_conn);
	json_object_set_new(o, "handshakes", wamd_engine_stats(d));
	json_object_set_new(o, "storeBytes", json_integer(size_of(dir, "wamd.db") + size_of(dir, "wamd.db-wal") +
							   size_of(dir, "wamd.db-shm")));
	json_object_set_new(o, "rssBytes", json_integer(rss()));
	json_object_set_new(o, "webhookQueue", json_pack("{s:I, s:I}", "pending", (json_int_t)pending, "dead",
							 (json_int_t)dead));
	json_object_set_new(o, "eventStreams", json_integer((json_int_t)streams));
	json_object_set_new(o, "cluster", json_boolean(d->cluster != NULL)); /* GET /wamd/cluster says more */
	wamd_reply_json(c, 200, o);
}

static void list_row(void *arg, const wa_store_wh_info *r)
{
	json_t *a = arg, *e = json_object();
	char ts[32];
	json_object_set_new(e, "id", json_integer(r->id));
	/* the broker outputs' events share the queue (and its dead rows) */
	static const char *const targets[] = { "instance", "global", "amqp_instance", "amqp_global", "redis" };
	_Static_assert(sizeof targets / sizeof targets[0] == WAMD_TARGETS, "a target without a name");
	json_object_set_new(e, "target", json_string(r->target >= 0 && r->target < WAMD_TARGETS ? targets[r->target]
											    : "instance"));
	json_object_set_new(e, "state", json_string(r->state == WA_STORE_WH_DEAD ? "dead" : "pending"));
	const char *dotted = wamd_event_dotted(r->event);
	json_object_set_new(e, "event", json_string(dotted ? dotted : r->event));
	json_object_set_new(e, "attempts", json_integer(r->attempts));
	wamd_iso_time(r->created_ms, ts);
	json_object_set_new(e, "createdAt", json_string(ts));
	if (r->state != WA_STORE_WH_DEAD && r->next_attempt_ms) {
		wamd_iso_time(r->next_attempt_ms, ts);
		json_object_set_new(e, "nextAttemptAt", json_string(ts));
	} else
		json_object_set_new(e, "nextAttemptAt", json_null());
	json_object_set_new(e, "lastError", r->last_error[0] ? json_string(r->last_error) : json_null());
	json_object_set_new(e, "bytes", json_integer((json_int_t)r->payload_len));
	json_array_append_new(a, e);
}

/* GET /wamd/webhookQueue/{instance} */
void wamd_h_webhook_queue(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	(void)body;
	struct wamd *d = c->d;
	int64_t pending = 0, dead = 0;
	json_t *events = json_array();
	int rc = wa_store_wh_count_state(d->store, t->id, WA_STORE_WH_PENDING, &pending);
	if (rc == 0)
		rc = wa_store_wh_count_state(d->store, t->id, WA_STORE_WH_DEAD, &dead);
	if (rc == 0)
		rc = wa_store_wh_list(d->store, t->id, -1, 200, list_row, events);
	if (rc != 0) {
		json_decref(events);
		wamd_reply_error(c, 500, msg1("webhook queue: %s", wa_errname(rc)));
		return;
	}
	wamd_reply_json(c, 200, json_pack("{s:I, s:I, s:o}", "pending", (json_int_t)pending, "dead", (json_int_t)dead,
					  "events", events));
}

/* POST /wamd/webhookReplay/{instance} {"id": N} (one) or {} (every dead one) */
void wamd_h_webhook_replay(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	json_t *idv = json_object_get(body, "id");
	if (idv && (!json_is_integer(idv) || json_integer_value(idv) <= 0)) {
		bad_request(c, "id must be a positive integer (an event id of GET /wamd/webhookQueue)");
		return;
	}
	int64_t n = 0;
	int rc = wa_store_wh_replay(c->d->store, t->id, idv ? json_integer_value(idv) : 0, &n);
	if (rc == WA_ENOTFOUND) {
		wamd_reply_error(c, 404, json_pack("[s]", "No dead event with this id on this instance"));
		return;
	}
	if (rc != 0) {
		wamd_reply_error(c, 500, msg1("webhook replay: %s", wa_errname(rc)));
		return;
	}
	LOGI("instance %s: %lld dead webhook event(s) replayed", t->name, (long long)n);
	wamd_webhook_kick(t);
	wamd_reply_json(c, 200, json_pack("{s:I}", "replayed", (json_int_t)n));
}

/* GET /wamd/whoami: admin, or the instances this token has scopes on. */
void wamd_h_whoami(struct wamd_conn *c, struct wamd_tenant *unused, json_t *body)
{
	(void)unused;
	(void)body;
	struct wamd *d = c->d;
	bool admin = c->trusted || wamd_auth_is_admin(d, c->apikey);
	json_t *arr = json_array();
	for (struct wamd_tenant *t = d->tenants; t; t = t->next) {
		unsigned s = admin ? WAMD_SCOPE_ALL : wamd_auth_scopes(t, c->apikey);
		if (s)
			json_array_append_new(arr, json_pack("{s:s, s:o}", "name", t->name, "scopes", wamd_scopes_json(s)));
	}
	if (!admin && json_array_size(arr) == 0) {
		json_decref(arr);
		wamd_reply_error(c, 401, json_string("Unauthorized"));
		return;
	}
	wamd_reply_json(c, 200, json_pack("{s:b, s:o}", "admin", admin, "instances", arr));
}
