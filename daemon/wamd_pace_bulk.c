/* Bulk jobs (see wamd_pace_bulk.h). A running job has at most one message
 * in the instance's pacing queue (its "inflight" one); when that one
 * leaves, the next recipient's text is rendered and queued, in the same
 * loop turn. So the job needs no scheduler of its own: it is paced by the
 * instance's limits, fair to the instance's other sends (they queue beside
 * it) and to other instances (the scheduler's heap), and a pause or a
 * cancel only has to take that one message back. A job's row (progress,
 * inflight id) and its next message are written in one transaction, so a
 * restart continues where it was, on the same schedule. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wa/store_pace.h"
#include "wamd_pace.h"
#include "wamd_pace_bulk.h"
#include "wamd_pace_bulk_read.h"

/* JOB_LOADING: its recipients are being stored (never listed: at start
 * such a job was cut short by a stop and is cancelled) */
enum { JOB_RUNNING, JOB_PAUSED, JOB_CANCELLED, JOB_DONE, JOB_LOADING };
static const char *const state_names[] = { "running", "paused", "cancelled", "done" };

#define PAGE 256 /* recipients read from the store at a time */
#define LOAD_BATCH 2000 /* recipients stored per loop turn, one transaction each */

struct job {
	struct job *next;
	struct wamd_tenant *t;
	wa_store_pace_job j;
	json_t *spec; /* {template}; NULL once over */
	/* recipients page_from.. of the list, [{jid, variables}]: a page
	 * read from wamd_pace_job_rcpt, or the whole list of a job stored
	 * before that table (in its spec; paged false) */
	json_t *page;
	int64_t page_from;
	bool paged;
	bool rows; /* over, its recipients' rows not all dropped yet */
	int64_t dropped;
};

static struct job *jobs; /* every instance's, oldest first */

/* A job that is over needs its list no more: its rows are dropped a batch
 * at a time, a pause between batches (the loop's other work first). */
#define DROP_BATCH 2000
#define DROP_GAP_US 5000
static lws_sorted_usec_list_t drop_sul;

static void drop_step(lws_sorted_usec_list_t *sul)
{
	(void)sul;
	struct job *x = jobs;
	while (x && !x->rows)
		x = x->next;
	if (!x)
		return;
	int64_t n = 0;
	if (wa_store_pace_job_rcpt_drop(x->t->d->store, x->j.row, DROP_BATCH, &n) != 0) {
		LOGW("instance %s: bulk job %s: its recipients not dropped (tried again at the next start)", x->t->name,
		     x->j.key);
		x->rows = false;
	} else if ((x->dropped += n, n < DROP_BATCH)) {
		x->rows = false;
		if (x->dropped)
			LOGI("instance %s: bulk job %s is over: its %lld recipients dropped from the store", x->t->name,
			     x->j.key, (long long)x->dropped);
	}
	for (x = jobs; x && !x->rows; x = x->next)
		;
	if (x)
		lws_sul_schedule(x->t->d->ctx, 0, &drop_sul, drop_step, DROP_GAP_US);
}

static void drop_later(struct job *x)
{
	x->rows = x->paged; /* a job stored before the rows table has none */
	if (x->rows)
		lws_sul_schedule(x->t->d->ctx, 0, &drop_sul, drop_step, DROP_GAP_US);
}

/* d->pace_stats' job counts again, from the list (at each step of a job:
 * the list holds the jobs, not their recipients) */
static void counts(struct wamd *d)
{
	struct wamd_pace_stats *ps = &d->pace_stats;
	memset(ps->jobs, 0, sizeof ps->jobs);
	ps->job_pending = 0;
	for (const struct job *j = jobs; j; j = j->next) {
		if (j->j.state >= 0 && j->j.state < 4)
			ps->jobs[j->j.state]++;
		if (j->j.state == JOB_RUNNING || j->j.state == JOB_PAUSED)
			ps->job_pending += (uint64_t)(j->j.total - j->j.sent - j->j.failed);
	}
}

static struct job *find(struct wamd_tenant *t, const char *key)
{
	for (struct job *x = jobs; x; x = x->next)
		if (x->t == t && !strcmp(x->j.key, key))
			return x;
	return NULL;
}

static json_t *job_json(const struct job *x)
{
	const wa_store_pace_job *j = &x->j;
	json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "id", j->key, "state",
			      state_names[j->state >= 0 && j->state <= JOB_DONE ? j->state : JOB_DONE], "total",
			      (json_int_t)j->total, "sent", (json_int_t)j->sent, "failed", (json_int_t)j->failed,
			      "pending", (json_int_t)(j->total - j->sent - j->failed), "createdAtMs",
			      (json_int_t)j->created_ms);
	if (j->not_before_ms > j->created_ms)
		json_object_set_new(o, "sendAtMs", json_integer(j->not_before_ms));
	if (j->inflight[0])
		json_object_set_new(o, "queuedId", json_string(j->inflight));
	return o;
}

static void emit(struct job *x)
{
	wamd_emit(x->t, "PACING_JOB", job_json(x));
	counts(x->t->d);
}

static int save(struct job *x)
{
	int rc = wa_store_pace_job_update(x->t->d->store, &x->j);
	if (rc != 0)
		LOGE("instance %s: bulk job %s not saved: %s", x->t->name, x->j.key, wa_errname(rc));
	return rc;
}

/* the job is over: its spec is not needed any more */
static void finish(struct job *x, int state)
{
	x->j.state = state;
	json_decref(x->spec);
	x->spec = NULL;
	json_decref(x->page);
	x->page = NULL;
	drop_later(x);
}

struct page_read {
	json_t *v;
	int64_t want; /* the next index: the rows of a page follow each other */
};

static int page_one(void *arg, int64_t idx, const char *jid, const char *vars, size_t len)
{
	struct page_read *pr = arg;
	if (idx != pr->want++)
		return WA_EDB_CORRUPT;
	json_t *v = json_loadb(vars, len, 0, NULL);
	json_t *r = json_pack("{s:s, s:o}", "jid", jid, "variables", v ? v : json_object());
	return r && !json_array_append_new(pr->v, r) ? 0 : WA_ENOMEM;
}

/* recipient i of the job ({jid, variables}), its page read when it is not
 * the one in memory; NULL with *rc set on a store error (0: no such one) */
static json_t *recipient(struct job *x, int64_t i, int *rc)
{
	*rc = 0;
	if (x->page && i >= x->page_from && i - x->page_from < (int64_t)json_array_size(x->page))
		return json_array_get(x->page, (size_t)(i - x->page_from));
	if (!x->paged)
		return NULL;
	struct page_read pr = { .v = json_array(), .want = i };
	*rc = pr.v ? wa_store_pace_job_rcpt_page(x->t->d->store, x->j.row, i, PAGE, page_one, &pr) : WA_ENOMEM;
	if (*rc != 0) {
		json_decref(pr.v);
		return NULL;
	}
	json_decref(x->page);
	x->page = pr.v;
	x->page_from = i;
	return json_array_get(pr.v, 0); /* NULL: the row is missing, the recipient fails */
}

/* queues the job's next message when it runs and has none in the queue;
 * a job with nothing left is done */
static void feed(struct job *x)
{
	struct wamd_tenant *t = x->t;
	wa_store *st = t->d->store;
	while (x->j.state == JOB_RUNNING && !x->j.inflight[0]) {
		if (x->j.next >= x->j.total || !x->spec) {
			finish(x, JOB_DONE);
			(void)save(x);
			emit(x);
			return;
		}
		int prc;
		json_t *r = recipient(x, x->j.next, &prc);
		if (prc != 0) { /* nothing changed: the job goes on at its next event (resume, restart) */
			LOGE("instance %s: bulk job %s stalls: recipients not read: %s", t->name, x->j.key, wa_errname(prc));
			return;
		}
		const char *jid = json_string_value(json_object_get(r, "jid"));
		char missing[64];
		char *text = jid ? wamd_bulk_render(json_string_value(json_object_get(x->spec, "template")),
					   json_object_get(r, "variables"), missing, sizeof missing) : NULL;
		int rc = WA_EDB_CORRUPT;
		char id[32] = "";
		if (text) {
			bool first = false;
			(void)wamd_pace_admit(t, jid, 0, &first); /* only to know whether it is a first contact */
			json_t *p = json_pack("{s:s, s:s, s:i, s:s}", "kind", "text", "text", text, "delay", 0, "job",
					      x->j.key);
			rc = p ? wa_store_begin(st) : WA_ENOMEM;
			if (rc != 0) { /* nothing changed: the job goes on at its next event (resume, restart) */
				LOGE("instance %s: bulk job %s stalls: %s", t->name, x->j.key, wa_errname(rc));
				json_decref(p);
				free(text);
				return;
			}
			{
				rc = wamd_pace_enqueue(t, jid, first, x->j.not_before_ms, p, id);
				x->j.next++;
				if (rc == 0)
					snprintf(x->j.inflight, sizeof x->j.inflight, "%s", id);
				else
					x->j.failed++;
				int src = wa_store_pace_job_update(st, &x->j);
				if (src == 0)
					src = wa_store_commit(st);
				if (src != 0) {
					(void)wa_store_rollback(st);
					LOGE("instance %s: bulk job %s: progress not saved: %s", t->name, x->j.key,
					     wa_errname(src));
				}
			}
			json_decref(p);
		} else {
			x->j.next++;
			x->j.failed++;
			(void)save(x);
		}
		if (rc == 0) {
			json_t *rec = wamd_sent_record(t, jid, id, text, wamd_now_ms() / 1000);
			wamd_emit(t, "SEND_MESSAGE", rec);
		} else {
			LOGE("instance %s: bulk job %s: recipient %lld not queued: %s", t->name, x->j.key,
			     (long long)x->j.next - 1, wa_errname(rc));
		}
		free(text);
	}
}

static void bulk_left(struct wamd_tenant *t, const char *job, const char *id, bool sent)
{
	struct job *x = find(t, job);
	if (!x || strcmp(x->j.inflight, id) != 0)
		return; /* the job took it back itself (pause, cancel) */
	x->j.inflight[0] = '\0';
	if (sent)
		x->j.sent++;
	else
		x->j.failed++;
	if (x->j.state == JOB_RUNNING && x->j.next < x->j.total) {
		emit(x);
		feed(x); /* saves the progress with the next message */
		return;
	}
	if (x->j.state == JOB_RUNNING)
		finish(x, JOB_DONE);
	(void)save(x);
	emit(x);
}

/* takes the job's queued message back; it is sent again on resume */
static int take_back(struct job *x)
{
	if (!x->j.inflight[0])
		return 0;
	char id[32];
	snprintf(id, sizeof id, "%s", x->j.inflight);
	x->j.inflight[0] = '\0'; /* before: the cancel's notice must not count it */
	json_t *o = NULL;
	int rc = wamd_pace_cancel(x->t, id, &o);
	json_decref(o);
	if (rc == 0 || rc == WA_ENOTFOUND) {
		if (rc == 0)
			x->j.next--; /* not sent: it goes again on resume */
		else
			x->j.sent++; /* it had left already */
		return 0;
	}
	snprintf(x->j.inflight, sizeof x->j.inflight, "%s", id);
	return rc;
}

int wamd_pace_bulk_action(struct wamd_tenant *t, const char *id, const char *action, json_t **out)
{
	struct job *x = find(t, id);
	if (!x)
		return WA_ENOTFOUND;
	bool pause = !strcmp(action, "pause"), resume = !strcmp(action, "resume"), cancel = !strcmp(action, "cancel");
	if (!pause && !resume && !cancel)
		return WA_EINVAL;
	if (x->j.state == JOB_CANCELLED || x->j.state == JOB_DONE)
		return WA_ESTATE;
	int rc = 0;
	if (pause || cancel) {
		rc = take_back(x);
		if (rc != 0)
			return rc;
		if (cancel)
			finish(x, JOB_CANCELLED);
		else
			x->j.state = JOB_PAUSED;
		(void)save(x);
		emit(x);
	} else if (x->j.state == JOB_PAUSED) {
		x->j.state = JOB_RUNNING;
		(void)save(x);
		emit(x);
		feed(x);
	}
	*out = job_json(x);
	return 0;
}

json_t *wamd_pace_bulk_get(struct wamd_tenant *t, const char *id)
{
	if (id) {
		struct job *x = find(t, id);
		return x ? job_json(x) : NULL;
	}
	json_t *a = json_array();
	for (struct job *x = jobs; x; x = x->next)
		if (x->t == t)
			json_array_append_new(a, job_json(x));
	return json_pack("{s:o}", "jobs", a);
}

static struct job *add(struct wamd_tenant *t, const wa_store_pace_job *j, json_t *spec)
{
	struct job *x = calloc(1, sizeof *x);
	if (!x)
		return NULL;
	x->t = t;
	x->j = *j;
	x->spec = spec;
	json_t *legacy = json_object_get(spec, "recipients");
	x->paged = !json_is_array(legacy);
	x->page = x->paged ? NULL : json_incref(legacy);
	struct job **pp = &jobs;
	while (*pp)
		pp = &(*pp)->next;
	*pp = x;
	return x;
}

/* A job being created: its body read off the loop (rd), then its
 * recipients stored a batch per loop turn. */
struct loading {
	struct wamd_ticket tk; /* first: the HTTP layer clears tk.c when the client goes */
	struct loading *next;
	struct wamd_tenant *t;
	struct wamd_bulk_read *rd; /* the body being read; NULL once read */
	wa_store_pace_job j;
	json_t *spec;
	struct wamd_bulk_list list;
	size_t done;
	lws_sorted_usec_list_t sul;
};

static struct loading *loads;

/* jobs whose recipients are being stored, for /wamd/metrics */
static void loads_count(struct wamd *d)
{
	d->pace_stats.job_storing = 0;
	for (const struct loading *L = loads; L; L = L->next)
		d->pace_stats.job_storing += !L->rd;
}

static void load_free(struct loading *L, int status, const char *why)
{
	for (struct loading **pp = &loads; *pp; pp = &(*pp)->next)
		if (*pp == L) {
			*pp = L->next;
			break;
		}
	lws_sul_cancel(&L->sul);
	if (L->rd)
		wamd_bulk_read_abandon(L->rd);
	if (L->tk.c) {
		L->tk.c->ticket = NULL;
		if (status) /* a 400's message: Evolution's nested array */
			wamd_reply_error(L->tk.c, status, json_pack(status == 400 ? "[[s]]" : "[s]", why));
	}
	struct wamd *d = L->t->d;
	json_decref(L->spec);
	wamd_bulk_list_free(&L->list);
	free(L);
	loads_count(d);
}

/* recipient i of the list: its JID and its variables as JSON text */
static int put_rcpt(wa_store *st, const struct loading *L, size_t i)
{
	const char *vs = wamd_bulk_list_vars(&L->list, i);
	return wa_store_pace_job_rcpt_put(st, L->j.row, (int64_t)i, wamd_bulk_list_jid(&L->list, i), vs, strlen(vs));
}

/* stores the next batch; the last one turns the job on, in its transaction */
static void load_step(lws_sorted_usec_list_t *sul)
{
	struct loading *L = lws_container_of(sul, struct loading, sul);
	wa_store *st = L->t->d->store;
	size_t n = L->list.n, end = L->done + LOAD_BATCH < n ? L->done + LOAD_BATCH : n;
	int rc = wa_store_begin(st);
	for (size_t i = L->done; rc == 0 && i < end; i++)
		rc = put_rcpt(st, L, i);
	if (rc == 0 && end == n) {
		L->j.state = JOB_RUNNING;
		rc = wa_store_pace_job_update(st, &L->j);
	}
	if (rc == 0)
		rc = wa_store_commit(st);
	if (rc != 0) {
		(void)wa_store_rollback(st);
		LOGE("instance %s: bulk job %s not stored: %s", L->t->name, L->j.key, wa_errname(rc));
		L->j.state = JOB_CANCELLED; /* never listed; nothing of it is sent */
		if (wa_store_pace_job_update(st, &L->j) != 0)
			LOGW("instance %s: bulk job %s stays \"loading\" until the next start", L->t->name, L->j.key);
		char why[80];
		snprintf(why, sizeof why, "not stored: %s", wa_errname(rc));
		load_free(L, 500, why);
		return;
	}
	L->done = end;
	if (end < n) {
		lws_sul_schedule(L->t->d->ctx, 0, &L->sul, load_step, 1); /* the loop's other work first */
		return;
	}
	struct job *x = add(L->t, &L->j, L->spec);
	if (!x) {
		load_free(L, 500, "out of memory");
		return;
	}
	L->spec = NULL;
	emit(x);
	feed(x);
	if (L->tk.c) {
		L->tk.c->ticket = NULL;
		wamd_reply_json(L->tk.c, 201, job_json(x));
		L->tk.c = NULL;
	}
	load_free(L, 0, NULL);
}

/* the client went while its body was being read: nothing was stored */
static void read_gone(struct wamd_ticket *tk)
{
	struct loading *L = (struct loading *)tk;
	LOGI("instance %s: a bulk job's request dropped: the client went before its recipients were read", L->t->name);
	load_free(L, 0, NULL);
}

/* the body is read (on the loop): a bad one is answered 400, a good one
 * stored as a job, a batch per loop turn */
static void read_done(void *arg, struct wamd_bulk_list *l)
{
	struct loading *L = arg;
	struct wamd_tenant *t = L->t;
	L->rd = NULL;
	L->tk.gone = NULL; /* from now on the job is stored even if the client goes */
	L->list = *l;
	if (L->list.status) {
		load_free(L, L->list.status, L->list.err);
		return;
	}
	int64_t send_at = L->list.send_at;
	if (send_at > wamd_pace_now(t->d) + WAMD_SEND_AT_MAX_AHEAD_MS) {
		load_free(L, 400, WAMD_SEND_AT_FAR);
		return;
	}
	L->spec = json_pack("{s:s}", "template", L->list.tpl);
	char *s = L->spec ? json_dumps(L->spec, JSON_COMPACT) : NULL;
	int rc = s ? 0 : WA_ENOMEM;
	if (rc == 0) {
		L->j = (wa_store_pace_job){ .state = JOB_LOADING, .total = (int64_t)L->list.n,
					    .created_ms = wamd_pace_now(t->d) };
		L->j.not_before_ms = send_at > L->j.created_ms ? send_at : L->j.created_ms;
		char key[37];
		rc = wamd_random_uuid(key);
		snprintf(L->j.key, sizeof L->j.key, "%s", key);
	}
	if (rc == 0)
		rc = wa_store_pace_job_put(t->d->store, t->id, &L->j, s, strlen(s), &L->j.row);
	free(s);
	if (rc != 0) {
		char why[80];
		snprintf(why, sizeof why, "not stored: %s", wa_errname(rc));
		load_free(L, 500, why);
		return;
	}
	if (L->list.n > LOAD_BATCH)
		LOGI("instance %s: bulk job %s: storing %zu recipients, %d a loop turn", t->name, L->j.key, L->list.n,
		     LOAD_BATCH);
	loads_count(t->d);
	load_step(&L->sul);
}

int wamd_pace_bulk_create(struct wamd_conn *c, struct wamd_tenant *t, char *body, size_t len)
{
	struct loading *L = calloc(1, sizeof *L);
	if (!L) {
		free(body);
		return WA_ENOMEM;
	}
	L->t = t;
	L->rd = wamd_bulk_read_start(t->d->ctx, body, len, read_done, L);
	if (!L->rd) {
		free(L);
		return WA_ETOOBIG;
	}
	L->tk.c = c;
	L->tk.gone = read_gone;
	c->ticket = &L->tk;
	L->next = loads;
	loads = L;
	return 0;
}

static void bulk_load(struct wamd_tenant *t)
{
	wa_store *st = t->d->store;
	wa_store_pace_job *v = NULL;
	size_t n = 0;
	if (wa_store_pace_job_load(st, t->id, &v, &n) != 0) {
		LOGE("instance %s: bulk jobs not loaded", t->name);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *spec = NULL;
		if (v[i].state == JOB_LOADING) { /* a stop came while its recipients were stored */
			LOGW("instance %s: bulk job %s was not fully stored: cancelled", t->name, v[i].key);
			v[i].state = JOB_CANCELLED;
			if (wa_store_pace_job_update(st, &v[i]) != 0)
				LOGE("instance %s: bulk job %s not saved", t->name, v[i].key);
		}
		if (v[i].state == JOB_RUNNING || v[i].state == JOB_PAUSED) {
			char *raw = NULL;
			size_t len = 0;
			if (wa_store_pace_job_spec(st, v[i].row, &raw, &len) == 0)
				spec = json_loadb(raw, len, 0, NULL);
			if (raw)
				wa_store_free(raw, len);
			if (!spec)
				LOGE("instance %s: bulk job %s: spec unreadable", t->name, v[i].key);
		}
		struct job *x = add(t, &v[i], spec);
		if (!x) {
			json_decref(spec);
			continue;
		}
		int64_t seq;
		if (x->j.inflight[0] && wa_store_pace_find(st, t->id, x->j.inflight, &seq) == WA_ENOTFOUND) {
			/* it left before the crash, the job's row not yet told */
			x->j.inflight[0] = '\0';
			x->j.sent++;
			(void)save(x);
		}
		if (x->j.state == JOB_RUNNING && !x->spec) {
			finish(x, JOB_CANCELLED);
			(void)save(x);
		}
		if (x->j.state == JOB_CANCELLED || x->j.state == JOB_DONE)
			drop_later(x); /* the rows of one over before a stop */
		feed(x);
	}
	free(v);
	counts(t->d);
}

static void bulk_tenant_free(struct wamd_tenant *t)
{
	for (struct loading *L = loads, *next; L; L = next) {
		next = L->next;
		if (L->t == t)
			load_free(L, 404, "instance removed");
	}
	for (struct job **pp = &jobs; *pp;) {
		struct job *x = *pp;
		if (x->t != t) {
			pp = &x->next;
			continue;
		}
		*pp = x->next;
		json_decref(x->spec);
		json_decref(x->page);
		free(x);
	}
	counts(t->d);
}

static void bulk_free(void)
{
	lws_sul_cancel(&drop_sul);
	while (loads)
		load_free(loads, 0, NULL); /* its row stays "loading": cancelled at the next start */
	wamd_bulk_read_shutdown(); /* after: every read is abandoned */
	while (jobs) {
		struct job *x = jobs;
		jobs = x->next;
		json_decref(x->spec);
		json_decref(x->page);
		free(x);
	}
}

void wamd_pace_bulk_init(void)
{
	wamd_pace_set_job_hooks(&(struct wamd_pace_job_hooks){ .load = bulk_load, .left = bulk_left,
							       .tenant_free = bulk_tenant_free, .free_all = bulk_free });
}
