/* GET /metrics in Prometheus' text exposition format (version 0.0.4), the
 * counters behind it, and the health probes GET /health/live and
 * /health/ready. Daemon-wide series only, unless metrics_per_instance is
 * on: a label per instance would make 10,000 instances 10,000 series per
 * metric. Label values come from closed sets (states, message kinds from
 * a fixed list, statuses), so a peer cannot grow the series count. The
 * scrape runs on the loop: one COUNT over the webhook queue, a stat of
 * the store files and a read of /proc/self/statm; with per-instance
 * series one COUNT per instance too. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wamd_events.h"
#include "wamd_pace_bulk_read.h"
#include "wamd_routes.h"

/* messageType values counted under their own name; anything else is "other" */
static const char *const kinds[] = {
	"conversation", "extendedTextMessage", "imageMessage", "videoMessage", "audioMessage", "documentMessage",
	"stickerMessage", "reactionMessage", "locationMessage", "liveLocationMessage", "contactMessage",
	"contactsArrayMessage", "pollCreationMessage", "pollUpdateMessage", "protocolMessage", "other",
};
#define N_KINDS (sizeof kinds / sizeof kinds[0])
#define N_STATUS 6 /* wamd_status_name: ERROR .. PLAYED */
enum { DIR_IN, DIR_OUT };

struct wamd_prom {
	uint64_t msgs[2][N_KINDS];
	uint64_t status[2][N_STATUS];
};

static size_t kind_index(const char *k)
{
	for (size_t i = 0; k && i + 1 < N_KINDS; i++)
		if (!strcmp(kinds[i], k))
			return i;
	return N_KINDS - 1;
}

/* Counts message events as wamd_emit sees them: MESSAGES_UPSERT (received,
 * or sent from the account's other devices), SEND_MESSAGE (sent through
 * the API) and MESSAGES_UPDATE (a status). */
void wamd_prom_event(struct wamd_tenant *t, const char *event, const json_t *data)
{
	struct wamd *d = t->d;
	bool upsert = !strcmp(event, "MESSAGES_UPSERT"), sent = !strcmp(event, "SEND_MESSAGE");
	bool update = !strcmp(event, "MESSAGES_UPDATE");
	if (!upsert && !sent && !update)
		return;
	if (!d->prom && !(d->prom = calloc(1, sizeof *d->prom)))
		return;
	if (update) {
		const char *st = json_string_value(json_object_get(data, "status"));
		int dir = json_is_true(json_object_get(data, "fromMe")) ? DIR_OUT : DIR_IN;
		for (int i = 0; st && i < N_STATUS; i++)
			if (!strcmp(st, wamd_status_name(i)))
				d->prom->status[dir][i]++;
		return;
	}
	int dir = sent || json_is_true(json_object_get(json_object_get(data, "key"), "fromMe")) ? DIR_OUT : DIR_IN;
	d->prom->msgs[dir][kind_index(json_string_value(json_object_get(data, "messageType")))]++;
	if (dir == DIR_IN)
		t->msgs_in++;
	else
		t->msgs_out++;
}

void wamd_prom_free(struct wamd *d)
{
	free(d->prom);
	d->prom = NULL;
}

bool wamd_prom_token_ok(const struct wamd *d, const char *bearer, const char *apikey)
{
	const char *tok = d->cfg.metrics_token;
	if (!tok || !*tok)
		return false;
	uint8_t want[32], got[32];
	wamd_sha256(tok, strlen(tok), want);
	bool ok = false;
	const char *cands[2] = { bearer, apikey };
	for (int i = 0; i < 2; i++) {
		if (!cands[i] || !*cands[i])
			continue;
		wamd_sha256(cands[i], strlen(cands[i]), got);
		ok |= wamd_ct_equal(want, got, 32);
	}
	return ok;
}

/* ---- the text ---- */

struct buf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct buf *b, const char *fmt, ...)
{
	for (;;) {
		if (b->oom)
			return;
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		size_t nc = b->cap * 2 + (size_t)n;
		char *np = realloc(b->p, nc);
		if (!np) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = nc;
	}
}

static void head(struct buf *b, const char *name, const char *type, const char *help)
{
	put(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value: backslash, double quote and newline escaped. */
static void put_label(struct buf *b, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			put(b, "\\%c", *v);
		else if (*v == '\n')
			put(b, "\\n");
		else
			put(b, "%c", *v);
	}
}

static int64_t file_size(const char *dir, const char *name)
{
	char path[4096];
	struct stat st;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	return stat(path, &st) == 0 ? (int64_t)st.st_size : 0;
}

static int64_t rss_bytes(void)
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

static void put_latency(struct buf *b, struct wamd *d)
{
	/* bucket edges in seconds, each a multiple of the 10 µs resolution
	 * of the histogram behind /wamd/metrics, so every count is exact */
	static const double les[] = { 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
		0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60 };
	uint64_t cum[sizeof les / sizeof les[0]];
	struct wamd_lat_summary s;
	wamd_lat_summary(d, les, sizeof les / sizeof les[0], cum, &s);
	head(b, "wamd_send_latency_seconds", "histogram",
	     "Durable send latency: API accepted to the stanza written after its outbox row and ratchet state "
	     "were committed (POST /wamd/metrics/reset empties it)");
	for (size_t i = 0; i < sizeof les / sizeof les[0]; i++)
		put(b, "wamd_send_latency_seconds_bucket{le=\"%g\"} %llu\n", les[i], (unsigned long long)cum[i]);
	put(b, "wamd_send_latency_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)s.count);
	put(b, "wamd_send_latency_seconds_sum %.9f\n", s.sum_s);
	put(b, "wamd_send_latency_seconds_count %llu\n", (unsigned long long)s.count);
	head(b, "wamd_send_latency_unmatched_total", "counter",
	     "Accepted sends whose wire mark was not seen (more than 32 in flight on an instance)");
	put(b, "wamd_send_latency_unmatched_total %llu\n", (unsigned long long)s.unmatched);
}

static void put_instances(struct buf *b, struct wamd *d)
{
	/* libwa's states (enum wa_conn_state), as label values */
	static const char *const names[] = { "disconnected", "connecting", "handshaking", "pairing", "authenticating",
		"ready", "backoff", "closing", "logged_out", "waiting" };
	enum { N_STATES = sizeof names / sizeof names[0] };
	_Static_assert(WA_CONN_WAITING + 1 == N_STATES, "a connection state without a label");
	uint64_t by_state[N_STATES] = { 0 };
	for (struct wamd_tenant *t = d->tenants; t; t = t->next)
		if ((unsigned)t->state < N_STATES)
			by_state[t->state]++;
	head(b, "wamd_sessions", "gauge", "Instances by the connection state of their session");
	for (int s = 0; s < N_STATES; s++)
		put(b, "wamd_sessions{state=\"%s\"} %llu\n", names[s], (unsigned long long)by_state[s]);
	if (!d->cfg.metrics_per_instance)
		return;
	head(b, "wamd_instance_state", "gauge", "1 for the instance's current connection state");
	for (struct wamd_tenant *t = d->tenants; t; t = t->next) {
		put(b, "wamd_instance_state{instance=\"");
		put_label(b, t->name);
		put(b, "\",state=\"%s\"} 1\n", (unsigned)t->state < N_STATES ? names[t->state] : "unknown");
	}
	head(b, "wamd_instance_messages_total", "counter", "Messages of the instance since start, by direction");
	for (struct wamd_tenant *t = d->tenants; t; t = t->next)
		for (int dir = 0; dir < 2; dir++) {
			put(b, "wamd_instance_messages_total{instance=\"");
			put_label(b, t->name);
			put(b, "\",direction=\"%s\"} %llu\n", dir ? "out" : "in",
			    (unsigned long long)(dir ? t->msgs_out : t->msgs_in));
		}
	head(b, "wamd_instance_webhook_queue_depth", "gauge", "Webhook events of the instance waiting for delivery");
	for (struct wamd_tenant *t = d->tenants; t; t = t->next) {
		int64_t n = 0, m = 0;
		if (wa_store_wh_count(d->store, t->id, WAMD_TARGET_INSTANCE, &n) != 0 ||
		    wa_store_wh_count(d->store, t->id, WAMD_TARGET_GLOBAL, &m) != 0)
			continue;
		n += m;
		put(b, "wamd_instance_webhook_queue_depth{instance=\"");
		put_label(b, t->name);
		put(b, "\"} %lld\n", (long long)n);
	}
}

/* RabbitMQ and Redis outputs (wamd_broker.c): one series per output */
static void put_brokers(struct buf *b, struct wamd *d)
{
	struct wamd_broker_stats st[WAMD_TARGETS - WAMD_TARGET_BROKER_FIRST];
	for (int i = WAMD_TARGET_BROKER_FIRST; i < WAMD_TARGETS; i++)
		wamd_broker_stats(d, i, &st[i - WAMD_TARGET_BROKER_FIRST]);
	const size_t n = sizeof st / sizeof st[0];
	head(b, "wamd_broker_queue_depth", "gauge",
	     "Events stored and waiting for the broker's confirmation, by output (-1: unknown)");
	for (size_t i = 0; i < n; i++) {
		int64_t depth = 0;
		if (wa_store_wh_count(d->store, -1, WAMD_TARGET_BROKER_FIRST + (int)i, &depth) != 0)
			depth = -1;
		put(b, "wamd_broker_queue_depth{output=\"%s\"} %lld\n", st[i].output, (long long)depth);
	}
	head(b, "wamd_broker_delivered_total", "counter", "Events the broker confirmed, by output");
	for (size_t i = 0; i < n; i++)
		put(b, "wamd_broker_delivered_total{output=\"%s\"} %lld\n", st[i].output, (long long)st[i].delivered);
	head(b, "wamd_broker_attempt_failures_total", "counter",
	     "Failed publishes, retried (events are never dropped while the output is on), by output");
	for (size_t i = 0; i < n; i++)
		put(b, "wamd_broker_attempt_failures_total{output=\"%s\"} %lld\n", st[i].output,
		    (long long)st[i].attempt_failures);
	head(b, "wamd_broker_up", "gauge",
	     "1 when the output is on and its last publish was confirmed, 0 otherwise, by output");
	for (size_t i = 0; i < n; i++)
		put(b, "wamd_broker_up{output=\"%s\"} %d\n", st[i].output, st[i].configured && st[i].connected);
}

char *wamd_prom_text(struct wamd *d, size_t *len)
{
	struct buf b = { .cap = 8192 };
	if (!(b.p = malloc(b.cap)))
		return NULL;
	head(&b, "wamd_build_info", "gauge", "wamd's version");
	put(&b, "wamd_build_info{version=\"");
	put_label(&b, wamd_version());
	put(&b, "\"} 1\n");
	head(&b, "process_start_time_seconds", "gauge", "Start time of the process, seconds since the epoch");
	put(&b, "process_start_time_seconds %.3f\n", (double)d->started_ms / 1000.0);
	head(&b, "process_resident_memory_bytes", "gauge", "Resident memory of the process");
	put(&b, "process_resident_memory_bytes %lld\n", (long long)rss_bytes());

	put_instances(&b, d);

	const struct wamd_prom *p = d->prom;
	head(&b, "wamd_messages_total", "counter",
	     "Messages by direction (in: received; out: sent through the API or from the account's other devices) "
	     "and kind (Evolution's messageType)");
	for (int dir = 0; dir < 2; dir++)
		for (size_t k = 0; k < N_KINDS; k++)
			put(&b, "wamd_messages_total{direction=\"%s\",kind=\"%s\"} %llu\n", dir ? "out" : "in", kinds[k],
			    (unsigned long long)(p ? p->msgs[dir][k] : 0));
	head(&b, "wamd_message_status_total", "counter",
	     "Message status updates (MESSAGES_UPDATE) by direction and status");
	for (int dir = 0; dir < 2; dir++)
		for (int s = 0; s < N_STATUS; s++)
			put(&b, "wamd_message_status_total{direction=\"%s\",status=\"%s\"} %llu\n", dir ? "out" : "in",
			    wamd_status_name(s), (unsigned long long)(p ? p->status[dir][s] : 0));

	put_latency(&b, d);

	int64_t depth = 0, n = 0;
	for (int target = 0; target < WAMD_TARGET_BROKER_FIRST; target++) {
		if (wa_store_wh_count(d->store, -1, target, &n) != 0) {
			depth = -1;
			break;
		}
		depth += n;
	}
	head(&b, "wamd_webhook_queue_depth", "gauge", "Webhook events stored and waiting for delivery (-1: unknown)");
	put(&b, "wamd_webhook_queue_depth %lld\n", (long long)depth);
	head(&b, "wamd_webhook_delivered_total", "counter", "Webhook events delivered (2xx)");
	put(&b, "wamd_webhook_delivered_total %lld\n", (long long)d->webhook_sent);
	head(&b, "wamd_webhook_dropped_total", "counter",
	     "Webhook events given up: a non-retryable status, or webhook_max_attempts / webhook_max_age_s reached");
	put(&b, "wamd_webhook_dropped_total %lld\n", (long long)d->webhook_failed);
	head(&b, "wamd_webhook_attempt_failures_total", "counter", "Failed webhook attempts that are retried");
	put(&b, "wamd_webhook_attempt_failures_total %lld\n", (long long)d->webhook_attempt_failures);

	put_brokers(&b, d);

	json_t *g = wamd_engine_stats(d);
	static const char *const gate[][4] = {
		{ "active", "wamd_handshakes_active", "gauge", "Sessions holding a handshake slot (max_handshakes)" },
		{ "waiting", "wamd_handshakes_waiting", "gauge", "Sessions waiting for a handshake slot" },
		{ "max", "wamd_handshakes_max", "gauge", "max_handshakes" },
		{ "peak", "wamd_handshakes_peak", "gauge", "Most handshake slots held at once since start" },
		{ "admitted", "wamd_handshakes_admitted_total", "counter", "Handshake slots granted" },
	};
	for (size_t i = 0; i < sizeof gate / sizeof gate[0]; i++) {
		head(&b, gate[i][1], gate[i][2], gate[i][3]);
		put(&b, "%s %lld\n", gate[i][1], (long long)json_integer_value(json_object_get(g, gate[i][0])));
	}
	json_decref(g);

	const struct wamd_pace_stats ps = d->pace_stats;
	head(&b, "wamd_pace_queued", "gauge", "Sends held back by pacing limits now");
	put(&b, "wamd_pace_queued %llu\n", (unsigned long long)ps.queued);
	head(&b, "wamd_pace_sent_total", "counter", "Paced sends that left (at once or released from the queue)");
	put(&b, "wamd_pace_sent_total %llu\n", (unsigned long long)ps.sent);
	head(&b, "wamd_pace_deferred_total", "counter", "Sends a pacing limit held back");
	put(&b, "wamd_pace_deferred_total %llu\n", (unsigned long long)ps.deferred);
	head(&b, "wamd_pace_throttled_total", "counter", "Rate-limit answers from WhatsApp (429, 463) that slowed an instance down");
	put(&b, "wamd_pace_throttled_total %llu\n", (unsigned long long)ps.throttled);
	const uint64_t *js = ps.jobs, pending = ps.job_pending;
	head(&b, "wamd_pace_jobs", "gauge", "Bulk jobs by state");
	static const char *const jstate[4] = { "running", "paused", "cancelled", "done" };
	for (int k = 0; k < 4; k++)
		put(&b, "wamd_pace_jobs{state=\"%s\"} %llu\n", jstate[k], (unsigned long long)js[k]);
	head(&b, "wamd_pace_job_pending", "gauge", "Recipients the running and paused bulk jobs have still to send to");
	put(&b, "wamd_pace_job_pending %llu\n", (unsigned long long)pending);
	head(&b, "wamd_pace_job_lists", "gauge",
	     "Bulk job requests whose recipients are being read (off the event loop) or stored");
	put(&b, "wamd_pace_job_lists{stage=\"reading\"} %u\n", wamd_bulk_read_count());
	put(&b, "wamd_pace_job_lists{stage=\"storing\"} %llu\n", (unsigned long long)ps.job_storing);

	size_t streams = 0;
	for (struct wamd_conn *c = d->ws_clients; c; c = c->ws_next)
		streams++;
	head(&b, "wamd_event_streams", "gauge", "Open /ws/events streams");
	put(&b, "wamd_event_streams %zu\n", streams);
	if (d->cluster) {
		head(&b, "wamd_cluster_events_relayed_total", "counter",
		     "Events NOTIFYed to the other cluster nodes' streams");
		put(&b, "wamd_cluster_events_relayed_total %llu\n", (unsigned long long)wamd_events_relayed(d));
	}
	head(&b, "wamd_store_size_bytes", "gauge", "Size of the store: wamd.db with its WAL and shared-memory files");
	put(&b, "wamd_store_size_bytes %lld\n",
	    (long long)(file_size(d->cfg.data_dir, "wamd.db") + file_size(d->cfg.data_dir, "wamd.db-wal") +
			file_size(d->cfg.data_dir, "wamd.db-shm")));
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}

/* GET /metrics (admin key or metrics_token; see wamd_router.c) */
void wamd_h_prom(struct wamd_conn *c, struct wamd_tenant *unused, json_t *body)
{
	(void)unused;
	(void)body;
	size_t len = 0;
	char *text = wamd_prom_text(c->d, &len);
	if (!text) {
		wamd_reply_error(c, 500, json_pack("[s]", "out of memory"));
		return;
	}
	wamd_reply_raw(c, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
}

/* GET /health/live: the loop answers. */
void wamd_h_live(struct wamd_conn *c, struct wamd_tenant *unused, json_t *body)
{
	(void)unused;
	(void)body;
	wamd_reply_json(c, 200, json_pack("{s:s}", "status", "ok"));
}

/* GET /health/ready: the store is open, every configured listener is up,
 * the instances are loaded, and wamd is not shutting down. */
void wamd_h_ready(struct wamd_conn *c, struct wamd_tenant *unused, json_t *body)
{
	(void)unused;
	(void)body;
	struct wamd *d = c->d;
	bool store = d->store != NULL;
	bool listeners = d->listening;
	bool ready = store && listeners && d->ready && !d->stop;
	wamd_reply_json(c, ready ? 200 : 503,
			json_pack("{s:s, s:b, s:b, s:b, s:b}", "status", ready ? "ready" : "not ready", "store", store,
				  "listeners", listeners, "started", d->ready, "stopping", d->stop != 0));
}
