/* Event outputs to RabbitMQ and Redis Streams: three more targets of the
 * durable queue (wamd.h), delivered like the webhooks: one publish at a
 * time per (instance, target) lane, oldest first, and a row leaves the
 * queue only once the broker confirmed it (an AMQP publisher confirm, the
 * id of an XADD). While a broker is unreachable the lanes back off
 * (doubling up to broker_retry_max_ms) and nothing is dropped; a restart
 * delivers what is still queued. Delivery is at least once: a confirmation
 * lost with the connection sends the event again.
 *
 * The client libraries (rabbitmq-c, hiredis) are driven through their
 * blocking calls on one publisher thread per broker, so the loop never
 * waits on a broker: the loop hands a job over through a bounded list and
 * the thread posts the outcome back (lws_cancel_service, then
 * wamd_broker_deliver on the loop). A SIGHUP that changes a broker's URL
 * or CA file (wamd_broker_reload) puts a new publisher in its place; the old
 * one finishes the publish it is in and is joined once its thread says it
 * has exited, so the loop never waits for it. */
#include <ctype.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "wamd.h"
#include "wamd_broker.h"

#define JOBS_MAX 4096          /* hand-off bound (one job per lane at most) */
#define RETRY_MIN_MS 250       /* first back-off */
#define DOWN_HOLD_MS 1000      /* after a failed connect, lanes fail fast this long */

/* ---- names ---- */

int wamd_broker_routing_key(const char *event, char *out, size_t n)
{
	const char *dotted = wamd_event_dotted(event);
	size_t k = 0;
	if (dotted) {
		if (strlen(dotted) >= n)
			return -1;
		memcpy(out, dotted, strlen(dotted) + 1);
		return 0;
	}
	/* an event outside Evolution's table: the same rule, lower case with dots */
	for (const char *p = event; *p; p++) {
		if (k + 1 >= n)
			return -1;
		out[k++] = *p == '_' ? '.' : (char)tolower((unsigned char)*p);
	}
	if (n == 0)
		return -1;
	out[k] = '\0';
	return 0;
}

int wamd_broker_amqp_queue(const char *instance_or_prefix, const char *routing_key, char *out, size_t n)
{
	int w = instance_or_prefix && *instance_or_prefix
			? snprintf(out, n, "%s.%s", instance_or_prefix, routing_key)
			: snprintf(out, n, "%s", routing_key);
	/* AMQP short strings: at most 255 bytes */
	return w < 0 || (size_t)w >= n || w > 255 ? -1 : 0;
}

int wamd_broker_stream_key(const char *prefix, bool global, const char *instance, char *out, size_t n)
{
	int w = global ? snprintf(out, n, "%s", prefix) : snprintf(out, n, "%s:%s", prefix, instance);
	return w < 0 || (size_t)w >= n ? -1 : 0;
}

int wamd_broker_redis_url(const char *url, struct wamd_redis_addr *b)
{
	memset(b, 0, sizeof *b);
	b->tls = !strncmp(url, "rediss://", 9);
	if (!b->tls && strncmp(url, "redis://", 8) != 0)
		return -1;
	const char *p = url + (b->tls ? 9 : 8);
	const char *slash = strchr(p, '/');
	const char *at = memrchr(p, '@', slash ? (size_t)(slash - p) : strlen(p));
	b->port = 6379;
	if (at) {
		const char *colon = memchr(p, ':', (size_t)(at - p));
		if (!colon)
			return -1; /* a user without a password */
		if ((size_t)(colon - p) >= sizeof b->user || (size_t)(at - colon - 1) >= sizeof b->pass)
			return -1;
		memcpy(b->user, p, (size_t)(colon - p));
		memcpy(b->pass, colon + 1, (size_t)(at - colon - 1));
		p = at + 1;
	}
	const char *end = p + strcspn(p, ":/");
	if (end == p || (size_t)(end - p) >= sizeof b->host)
		return -1;
	memcpy(b->host, p, (size_t)(end - p));
	for (const char *h = b->host; *h; h++)
		if (!isalnum((unsigned char)*h) && *h != '.' && *h != '-' && *h != '_')
			return -1; /* a name or an IPv4 address */
	p = end;
	if (*p == ':') {
		char *e;
		long port = strtol(p + 1, &e, 10);
		if (e == p + 1 || port < 1 || port > 65535)
			return -1;
		b->port = (int)port;
		p = e;
	}
	if (*p == '/' && p[1]) {
		char *e;
		b->db = strtol(p + 1, &e, 10);
		if (*e || e == p + 1 || b->db < 0)
			return -1;
	} else if (*p && strcmp(p, "/") != 0)
		return -1;
	return 0;
}

/* ---- publisher threads ---- */

enum { B_AMQP = 0, B_REDIS = 1, B_N = 2 };

struct bworker {
	const struct wamd_bbackend *ops;
	void *be;
	struct lws_context *ctx;
	pthread_t th;
	struct bworker *next_retired;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct wamd_bjob *q, **q_tail;  /* to the thread */
	size_t q_n;
	struct wamd_bjob *done, **done_tail; /* back to the loop */
	bool stop;
	bool exited;                    /* under mu: the thread closed the backend and returns */
	bool connected;                 /* under mu */
	/* thread only */
	bool down;
	int64_t down_until_ms;
	char last_why[200];
};

struct wamd_broker {
	struct bworker *w[B_N];         /* NULL: that broker is off */
	struct bworker *retired;        /* replaced by a reload, finishing their publish */
	int64_t delivered[WAMD_TARGETS], failures[WAMD_TARGETS];
};

static struct wamd *g_d; /* for wamd_broker_deliver (loop thread) */

static void job_free(struct wamd_bjob *j)
{
	if (!j)
		return;
	free(j->exchange);
	free(j->queue);
	free(j->routing_key);
	if (j->body) {
		explicit_bzero(j->body, j->body_len); /* may carry the instance token */
		free(j->body);
	}
	free(j);
}

static void *worker_main(void *arg)
{
	struct bworker *w = arg;
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->stop && !w->q)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->stop)
			break;
		struct wamd_bjob *j = w->q;
		w->q = j->next;
		if (!w->q)
			w->q_tail = &w->q;
		w->q_n--;
		pthread_mutex_unlock(&w->mu);

		j->next = NULL;
		j->ok = false;
		j->permanent = false;
		int64_t now = wamd_now_ms();
		if (w->down && now < w->down_until_ms) {
			/* a connect failed a moment ago: do not hammer the broker
			 * once per lane */
			snprintf(j->why, sizeof j->why, "%s unreachable: %.160s", w->ops->name, w->last_why);
		} else {
			bool lost = false;
			char why[200] = "";
			if (w->ops->publish(w->be, j, &lost, why, sizeof why) == 0) {
				j->ok = true;
				if (w->down)
					LOGI("%s: connected again; queued events are being delivered", w->ops->name);
				w->down = false;
			} else {
				snprintf(j->why, sizeof j->why, "%s", why);
				/* a refusal of this one event says nothing of the broker */
				if (lost && !j->permanent) {
					if (!w->down)
						LOGW("%s: %s; events wait in the queue and are retried", w->ops->name, why);
					w->down = true;
					w->down_until_ms = wamd_now_ms() + DOWN_HOLD_MS;
					snprintf(w->last_why, sizeof w->last_why, "%s", why);
				}
			}
		}

		pthread_mutex_lock(&w->mu);
		w->connected = !w->down;
		*w->done_tail = j;
		w->done_tail = &j->next;
		struct lws_context *ctx = w->ctx;
		pthread_mutex_unlock(&w->mu);
		lws_cancel_service(ctx); /* wakes the loop: wamd_broker_deliver */
		pthread_mutex_lock(&w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	w->ops->close(w->be);
	w->be = NULL;
	pthread_mutex_lock(&w->mu);
	w->exited = true;
	struct lws_context *ctx = w->ctx;
	pthread_mutex_unlock(&w->mu);
	lws_cancel_service(ctx); /* a retired worker is collected by wamd_broker_deliver */
	return NULL;
}

/* A publisher for url, its thread started; NULL (logged) when the URL is
 * refused or the thread cannot start. */
static struct bworker *worker_new(const struct wamd_bbackend *ops, const char *url, const char *ca_file,
				  struct lws_context *ctx)
{
	char why[200] = "";
	struct bworker *w = calloc(1, sizeof *w);
	if (!w)
		return NULL;
	w->ops = ops;
	w->ctx = ctx;
	w->q_tail = &w->q;
	w->done_tail = &w->done;
	w->be = ops->open(url, ca_file, why, sizeof why);
	if (!w->be) {
		LOGE("%s: %s", ops->name, why);
		free(w);
		return NULL;
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	if (pthread_create(&w->th, NULL, worker_main, w) != 0) {
		LOGE("%s: cannot start the publisher thread", ops->name);
		ops->close(w->be);
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->cv);
		free(w);
		return NULL;
	}
	return w;
}

static void jobs_free(struct wamd_bjob *j)
{
	for (struct wamd_bjob *n; j; j = n) {
		n = j->next;
		job_free(j);
	}
}

/* Asks the thread to stop after its current publish; the jobs it had not
 * started are returned (their lanes must be released). */
static struct wamd_bjob *worker_signal_stop(struct bworker *w)
{
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	struct wamd_bjob *q = w->q;
	w->q = NULL;
	w->q_tail = &w->q;
	w->q_n = 0;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return q;
}

/* Joins the thread (it has exited, or is told to: at shutdown the loop may
 * wait for its current publish) and frees what is left. What was not
 * confirmed stays in the durable queue. */
static void worker_free(struct bworker *w)
{
	if (!w)
		return;
	jobs_free(worker_signal_stop(w));
	pthread_join(w->th, NULL);
	jobs_free(w->done);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w);
}

/* false when the hand-off is full (the lane tries again shortly) */
static bool worker_submit(struct bworker *w, struct wamd_bjob *j)
{
	pthread_mutex_lock(&w->mu);
	bool ok = w->q_n < JOBS_MAX;
	if (ok) {
		j->next = NULL;
		*w->q_tail = j;
		w->q_tail = &j->next;
		w->q_n++;
		pthread_cond_signal(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return ok;
}

static int target_broker(int target)
{
	return target == WAMD_TARGET_REDIS ? B_REDIS : B_AMQP;
}

static const struct wamd_bbackend *backend(int b)
{
#ifdef WAMD_HAVE_AMQP
	if (b == B_AMQP)
		return &wamd_bbackend_amqp;
#endif
#ifdef WAMD_HAVE_REDIS
	if (b == B_REDIS)
		return &wamd_bbackend_redis;
#endif
	return NULL;
}

static const char *const setting[B_N] = { "amqp_uri", "redis_url" };
static const char *const option[B_N] = { "-Damqp=enabled", "-Dredis=enabled" };

static bool str_set(const char *s)
{
	return s && *s;
}

static const char *url_of(const struct wamd_config *c, int b)
{
	return b == B_AMQP ? c->amqp_uri : c->redis_url;
}

static const char *ca_of(const struct wamd_config *c, int b)
{
	return b == B_AMQP ? c->amqp_ca_file : c->redis_ca_file;
}

/* The publisher for broker b of configuration c; *out NULL when it is off.
 * -1 (logged) when the URL is refused or the build lacks that client. */
static int worker_for(struct wamd *d, const struct wamd_config *c, int b, struct bworker **out)
{
	*out = NULL;
	if (!str_set(url_of(c, b)))
		return 0;
	if (!backend(b)) {
		LOGE("%s is set but this wamd was built without %s (meson %s)", setting[b], b == B_AMQP ? "RabbitMQ" : "Redis",
		     option[b]);
		return -1;
	}
	*out = worker_new(backend(b), url_of(c, b), ca_of(c, b), d->ctx);
	return *out ? 0 : -1;
}

static void log_output(const struct wamd_config *c, int b)
{
	if (b == B_AMQP)
		LOGI("rabbitmq: publishing to %s%s", c->amqp_global ? "the exchange " : "instance exchanges",
		     c->amqp_global ? c->amqp_exchange : "");
	else
		LOGI("redis: publishing to stream%s %s%s", c->redis_stream_global ? "" : "s", c->redis_stream,
		     c->redis_stream_global ? "" : ":<instance>");
}

int wamd_broker_start(struct wamd *d)
{
	g_d = d;
	d->brokers = calloc(1, sizeof *d->brokers);
	if (!d->brokers)
		return -1;
	for (int b = 0; b < B_N; b++) {
		if (worker_for(d, &d->cfg, b, &d->brokers->w[b]) != 0)
			return -1;
		if (d->brokers->w[b])
			log_output(&d->cfg, b);
	}
	return 0;
}

void wamd_broker_shutdown(struct wamd *d)
{
	if (!d->brokers)
		return;
	for (int i = 0; i < B_N; i++)
		worker_free(d->brokers->w[i]);
	for (struct bworker *w = d->brokers->retired, *n; w; w = n) {
		n = w->next_retired;
		worker_free(w);
	}
	free(d->brokers);
	d->brokers = NULL;
}

/* ---- what goes where ---- */

static bool list_has(json_t *list, const char *event)
{
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v) {
		const char *s = json_string_value(v);
		if (s && !strcmp(s, event))
			return true;
	}
	return false;
}

static bool csv_has(const char *csv, const char *event)
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

static bool running(const struct wamd *d, int b)
{
	return d->brokers && d->brokers->w[b];
}

/* the instance's own output (/rabbitmq/set): Evolution sends only the
 * events listed */
static json_t *instance_amqp(struct wamd_tenant *t)
{
	json_t *r = json_object_get(t->doc, "rabbitmq");
	return json_is_object(r) && json_is_true(json_object_get(r, "enabled")) ? r : NULL;
}

bool wamd_broker_subscribed(struct wamd_tenant *t, int target, const char *event)
{
	struct wamd *d = t->d;
	switch (target) {
	case WAMD_TARGET_AMQP_INSTANCE: {
		json_t *r = running(d, B_AMQP) ? instance_amqp(t) : NULL;
		return r && list_has(json_object_get(r, "events"), event);
	}
	case WAMD_TARGET_AMQP_GLOBAL:
		return running(d, B_AMQP) && d->cfg.amqp_global && csv_has(d->cfg.amqp_global_events, event);
	case WAMD_TARGET_REDIS:
		return running(d, B_REDIS) && csv_has(d->cfg.redis_events, event);
	default:
		return false;
	}
}

/* ---- lanes ---- */

static void lane_timer_cb(lws_sorted_usec_list_t *sul);

static void lane_schedule(struct wamd_lane *l, int64_t delay_ms)
{
	if (delay_ms < 0)
		delay_ms = 0;
	if (l->timer_armed)
		lws_sul_cancel(&l->sul);
	l->timer_armed = true;
	lws_sul_schedule(l->t->d->ctx, 0, &l->sul, lane_timer_cb, delay_ms * LWS_US_PER_MS);
}

static int64_t backoff_ms(const struct wamd_config *c, int attempts)
{
	int64_t cap = c->broker_retry_max_ms > RETRY_MIN_MS ? c->broker_retry_max_ms : RETRY_MIN_MS;
	int64_t d = RETRY_MIN_MS;
	for (int i = 1; i < attempts && d < cap; i++)
		d *= 2;
	if (d > cap)
		d = cap;
	uint32_t r = 0;
	if (RAND_bytes((unsigned char *)&r, sizeof r) != 1)
		r = 0;
	return d - d / 5 + (int64_t)(r % (uint32_t)(d / 5 + 1)); /* 80-100 %: lanes do not retry in step */
}

static struct wamd_bjob *job_new(struct wamd_tenant *t, int target, wa_store_wh_row *row)
{
	struct wamd *d = t->d;
	struct wamd_bjob *j = calloc(1, sizeof *j);
	if (!j)
		return NULL;
	j->instance_id = t->id;
	j->target = target;
	j->row_id = row->id;
	j->body = row->payload;
	j->body_len = row->payload_len;
	row->payload = NULL;
	char key[256], name[600];
	if (target == WAMD_TARGET_REDIS) {
		if (wamd_broker_stream_key(d->cfg.redis_stream, d->cfg.redis_stream_global, t->name, name,
					   sizeof name) != 0 ||
		    !(j->exchange = strdup(name)))
			goto fail;
		j->maxlen = d->cfg.redis_maxlen;
		return j;
	}
	/* Evolution: a topic exchange named after the instance, or the global
	 * one; a queue <instance>.<event> or [<prefix>.]<event> bound with the
	 * event's dotted name, which is also the routing key */
	if (wamd_broker_routing_key(row->event, key, sizeof key) != 0)
		goto fail;
	const char *ex = target == WAMD_TARGET_AMQP_INSTANCE ? t->name : d->cfg.amqp_exchange;
	const char *qp = target == WAMD_TARGET_AMQP_INSTANCE ? t->name : d->cfg.amqp_prefix_key;
	if (!ex || !*ex || wamd_broker_amqp_queue(qp, key, name, sizeof name) != 0)
		goto fail;
	if (!(j->exchange = strdup(ex)) || !(j->queue = strdup(name)) || !(j->routing_key = strdup(key)))
		goto fail;
	return j;
fail:
	job_free(j);
	return NULL;
}

static void lane_run(struct wamd_lane *l)
{
	struct wamd_tenant *t = l->t;
	struct wamd *d = t->d;
	if (l->row_id || l->timer_armed || d->stop || t->removed)
		return;
	wa_store_wh_row row;
	int rc = wa_store_wh_head(d->store, t->id, l->target, &row);
	if (rc == WA_ENOTFOUND)
		return;
	if (rc != 0) {
		LOGE("instance %s: event queue read failed: %s", t->name, wa_errname(rc));
		lane_schedule(l, 1000);
		return;
	}
	int64_t now = wamd_now_ms();
	if (row.next_attempt_ms > now) {
		lane_schedule(l, row.next_attempt_ms - now);
		wa_store_wh_row_clear(&row);
		return;
	}
	int b = target_broker(l->target);
	bool on = running(d, b) && (l->target != WAMD_TARGET_AMQP_INSTANCE || instance_amqp(t)) &&
		  (l->target != WAMD_TARGET_AMQP_GLOBAL || d->cfg.amqp_global);
	if (!on) {
		/* the output was switched off since the event was queued: as a
		 * webhook that is turned off, it would not have been queued */
		LOGW("instance %s: event %lld for %s dropped: output off", t->name, (long long)row.id,
		     b == B_AMQP ? "rabbitmq" : "redis");
		rc = wa_store_wh_remove(d->store, row.id);
		wa_store_wh_row_clear(&row);
		if (rc == 0)
			lane_schedule(l, 0);
		return;
	}
	struct wamd_bjob *j = job_new(t, l->target, &row);
	int attempts = row.attempts;
	int64_t id = row.id;
	wa_store_wh_row_clear(&row);
	if (!j) {
		LOGE("instance %s: event %lld: no memory or a name too long for the broker", t->name, (long long)id);
		lane_schedule(l, 1000);
		return;
	}
	if (!worker_submit(d->brokers->w[b], j)) {
		job_free(j);
		lane_schedule(l, 100);
		return;
	}
	l->row_id = id;
	l->attempts = attempts;
}

static void lane_timer_cb(lws_sorted_usec_list_t *sul)
{
	struct wamd_lane *l = lws_container_of(sul, struct wamd_lane, sul);
	l->timer_armed = false;
	lane_run(l);
}

void wamd_broker_kick(struct wamd_lane *l)
{
	if (!l->row_id && !l->timer_armed)
		lane_schedule(l, 0);
}

static void finish(struct wamd *d, struct wamd_bjob *j)
{
	struct wamd_tenant *t = d->tenants;
	while (t && t->id != j->instance_id)
		t = t->next;
	if (!t || t->removed || j->target < WAMD_TARGET_BROKER_FIRST || j->target >= WAMD_TARGETS)
		return;
	struct wamd_lane *l = &t->lanes[j->target];
	if (l->row_id != j->row_id)
		return; /* the lane was cancelled meanwhile */
	l->row_id = 0;
	int rc;
	if (j->ok) {
		d->brokers->delivered[j->target]++;
		rc = wa_store_wh_remove(d->store, j->row_id);
		lane_schedule(l, 0);
	} else if (j->permanent) {
		/* retrying cannot help and would hold the instance's later events
		 * forever: the event goes to the dead rows with its error (shown
		 * and replayable as a webhook's), the lane goes on in order */
		d->brokers->failures[j->target]++;
		LOGW("instance %s: event %lld refused for good by the broker (%s); kept as dead", t->name,
		     (long long)j->row_id, j->why);
		rc = wa_store_wh_fail(d->store, j->row_id, l->attempts + 1, 0, true, j->why);
		lane_schedule(l, 0);
	} else {
		int attempts = l->attempts + 1;
		int64_t delay = backoff_ms(&d->cfg, attempts);
		d->brokers->failures[j->target]++;
		LOGD("instance %s: event %lld attempt %d failed (%s); retry in %lld ms", t->name, (long long)j->row_id,
		     attempts, j->why, (long long)delay);
		rc = wa_store_wh_retry(d->store, j->row_id, attempts, wamd_now_ms() + delay);
		lane_schedule(l, delay);
	}
	if (rc != 0)
		LOGE("instance %s: event queue update failed: %s", t->name, wa_errname(rc));
}

/* the outcomes a publisher posted back */
static void drain(struct wamd *d, struct bworker *w)
{
	pthread_mutex_lock(&w->mu);
	struct wamd_bjob *list = w->done;
	w->done = NULL;
	w->done_tail = &w->done;
	pthread_mutex_unlock(&w->mu);
	for (struct wamd_bjob *j = list, *n; j; j = n) {
		n = j->next;
		finish(d, j);
		job_free(j);
	}
}

void wamd_broker_deliver(void)
{
	struct wamd *d = g_d;
	if (!d || !d->brokers)
		return;
	for (int b = 0; b < B_N; b++)
		if (d->brokers->w[b])
			drain(d, d->brokers->w[b]);
	/* publishers replaced by a reload: their last outcome, then the thread */
	for (struct bworker **pp = &d->brokers->retired; *pp;) {
		struct bworker *w = *pp;
		pthread_mutex_lock(&w->mu);
		bool exited = w->exited;
		pthread_mutex_unlock(&w->mu);
		drain(d, w);
		if (exited) {
			*pp = w->next_retired;
			worker_free(w); /* the thread is returning: the join does not wait */
		} else
			pp = &w->next_retired;
	}
}

/* A job handed to a publisher that will not run it: its lane takes the
 * event again (from the queue, with the settings now in force). */
static void release(struct wamd *d, struct wamd_bjob *j)
{
	for (struct wamd_tenant *t = d->tenants; t; t = t->next)
		if (t->id == j->instance_id && !t->removed && j->target >= WAMD_TARGET_BROKER_FIRST &&
		    j->target < WAMD_TARGETS && t->lanes[j->target].row_id == j->row_id) {
			t->lanes[j->target].row_id = 0;
			lane_schedule(&t->lanes[j->target], 0);
		}
}

static bool same(const char *a, const char *b)
{
	return str_set(a) == str_set(b) && (!str_set(a) || !strcmp(a, b));
}

#define SWAP_STR(f) do { char *tmp_ = d->cfg.f; d->cfg.f = nc->f; nc->f = tmp_; } while (0)

int wamd_broker_reload(struct wamd *d, struct wamd_config *nc)
{
	if (!d->brokers && !(d->brokers = calloc(1, sizeof *d->brokers)))
		return -1;
	/* the new publishers first: a refused URL keeps every broker setting */
	struct bworker *fresh[B_N] = { NULL };
	bool change[B_N];
	for (int b = 0; b < B_N; b++) {
		change[b] = !same(url_of(&d->cfg, b), url_of(nc, b)) || !same(ca_of(&d->cfg, b), ca_of(nc, b));
		if (change[b] && worker_for(d, nc, b, &fresh[b]) != 0) {
			for (int k = 0; k < b; k++)
				worker_free(fresh[k]);
			return -1;
		}
	}
	/* the old publisher finishes the publish it is in (its outcome comes
	 * back to the lane as usual) and goes; what it had not started is
	 * taken again by the lanes through the new one */
	for (int b = 0; b < B_N; b++) {
		if (!change[b])
			continue;
		struct bworker *old = d->brokers->w[b];
		d->brokers->w[b] = fresh[b];
		if (old) {
			struct wamd_bjob *q = worker_signal_stop(old);
			for (struct wamd_bjob *j = q; j; j = j->next)
				release(d, j);
			jobs_free(q);
			old->next_retired = d->brokers->retired;
			d->brokers->retired = old;
			LOGI("%s: %s", old->ops->name, fresh[b] ? "new connection settings" : "output off");
		}
	}
	SWAP_STR(amqp_uri);
	SWAP_STR(amqp_ca_file);
	SWAP_STR(amqp_exchange);
	SWAP_STR(amqp_global_events);
	SWAP_STR(amqp_prefix_key);
	SWAP_STR(redis_url);
	SWAP_STR(redis_ca_file);
	SWAP_STR(redis_stream);
	SWAP_STR(redis_events);
	d->cfg.amqp_global = nc->amqp_global;
	d->cfg.redis_stream_global = nc->redis_stream_global;
	d->cfg.redis_maxlen = nc->redis_maxlen;
	d->cfg.broker_retry_max_ms = nc->broker_retry_max_ms;
	for (int b = 0; b < B_N; b++)
		if (d->brokers->w[b])
			log_output(&d->cfg, b);
	return 0;
}

#undef SWAP_STR

void wamd_broker_stats(struct wamd *d, int target, struct wamd_broker_stats *out)
{
	static const char *const names[] = { "amqp_instance", "amqp_global", "redis" };
	memset(out, 0, sizeof *out);
	if (target < WAMD_TARGET_BROKER_FIRST || target >= WAMD_TARGETS)
		return;
	out->output = names[target - WAMD_TARGET_BROKER_FIRST];
	int b = target_broker(target);
	out->configured = running(d, b) && (target != WAMD_TARGET_AMQP_GLOBAL || d->cfg.amqp_global);
	if (!d->brokers)
		return;
	struct bworker *w = d->brokers->w[b];
	if (w) {
		pthread_mutex_lock(&w->mu);
		out->connected = w->connected;
		pthread_mutex_unlock(&w->mu);
	}
	out->delivered = d->brokers->delivered[target];
	out->attempt_failures = d->brokers->failures[target];
}
