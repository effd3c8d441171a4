/* Bulk jobs (see wamd_pace_bulk.h). A running job has at most one message
 * in the instance's pacing queue (its "inflight" one); when that one
 * leaves, the next recipient's text is rendered and queued, in the same
 * loop turn. So the job needs no scheduler of its own: it is paced by the
 * instance's limits, fair to the instance's other sends (they queue beside
 * it) and to other instances (the scheduler's heap), and a pause or a
 * cancel only has to take that one message back. A job's row (progress,
 * inflight id) and its next message are written in one transaction, so a
 * restart continues where it was, on the same schedule. */
#include <ctype.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wa/store_pace.h"
#include "wamd_pace.h"
#include "wamd_pace_bulk.h"

/* JOB_LOADING: its recipients are being stored (never listed: at start
 * such a job was cut short by a stop and is cancelled) */
enum { JOB_RUNNING, JOB_PAUSED, JOB_CANCELLED, JOB_DONE, JOB_LOADING };
static const char *const state_names[] = { "running", "paused", "cancelled", "done" };

#define TEMPLATE_MAX 65536
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

/* template with each {{name}} replaced by vars' value (a string or a
 * number); NULL with *missing set to the first name vars lacks */
static char *render(const char *tpl, json_t *vars, char *missing, size_t mcap)
{
	size_t cap = strlen(tpl) + 64, n = 0;
	char *out = malloc(cap);
	for (const char *p = tpl; out && *p;) {
		const char *end = p[0] == '{' && p[1] == '{' ? strstr(p + 2, "}}") : NULL;
		char name[64];
		const char *val = NULL;
		char num[32];
		if (end && (size_t)(end - p - 2) < sizeof name) {
			snprintf(name, sizeof name, "%.*s", (int)(end - p - 2), p + 2);
			json_t *v = json_object_get(vars, name);
			if (json_is_string(v))
				val = json_string_value(v);
			else if (json_is_integer(v))
				snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v)), val = num;
			else if (json_is_real(v))
				snprintf(num, sizeof num, "%g", json_real_value(v)), val = num;
			if (!val) {
				snprintf(missing, mcap, "%s", name);
				free(out);
				return NULL;
			}
		}
		size_t add = val ? strlen(val) : 1;
		if (n + add + 1 > cap) {
			cap = (n + add + 1) * 2;
			char *g = realloc(out, cap);
			if (!g) {
				free(out);
				return NULL;
			}
			out = g;
		}
		if (val) {
			memcpy(out + n, val, add);
			p = end + 2;
		} else {
			out[n] = *p++;
		}
		n += add;
	}
	if (out)
		out[n] = '\0';
	return out;
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
		char *text = jid ? render(json_string_value(json_object_get(x->spec, "template")),
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

/* a job being stored, a batch of recipients per loop turn */
struct loading {
	struct wamd_ticket tk; /* first: the HTTP layer clears tk.c when the client goes */
	struct loading *next;
	struct wamd_tenant *t;
	wa_store_pace_job j;
	json_t *spec, *rs; /* rs: the request's recipients */
	size_t done;
	lws_sorted_usec_list_t sul;
};

static struct loading *loads;

static void load_free(struct loading *L, int status, const char *why)
{
	for (struct loading **pp = &loads; *pp; pp = &(*pp)->next)
		if (*pp == L) {
			*pp = L->next;
			break;
		}
	lws_sul_cancel(&L->sul);
	if (L->tk.c) {
		L->tk.c->ticket = NULL;
		if (status)
			wamd_reply_error(L->tk.c, status, json_pack("[s]", why));
	}
	bool big = json_array_size(L->rs) > LOAD_BATCH;
	json_decref(L->spec);
	json_decref(L->rs);
	free(L);
	if (big)
		malloc_trim(0); /* the parsed list's many small blocks: their pages back to the system */
}

/* recipient i of the request: its JID and its variables as JSON text */
static int put_rcpt(wa_store *st, const struct loading *L, size_t i)
{
	json_t *r = json_array_get(L->rs, i);
	const char *num = json_is_string(r) ? json_string_value(r) : json_string_value(json_object_get(r, "number"));
	json_t *vars = json_is_object(r) ? json_object_get(r, "variables") : NULL;
	char jid[WA_STORE_JID_MAX];
	char *vs = vars ? json_dumps(vars, JSON_COMPACT) : strdup("{}");
	int rc = !vs ? WA_ENOMEM : wamd_normalize_number(num, jid, sizeof jid) != 0 ? WA_EINVAL
		 : wa_store_pace_job_rcpt_put(st, L->j.row, (int64_t)i, jid, vs, strlen(vs));
	free(vs);
	return rc;
}

/* stores the next batch; the last one turns the job on, in its transaction */
static void load_step(lws_sorted_usec_list_t *sul)
{
	struct loading *L = lws_container_of(sul, struct loading, sul);
	wa_store *st = L->t->d->store;
	size_t n = json_array_size(L->rs), end = L->done + LOAD_BATCH < n ? L->done + LOAD_BATCH : n;
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

int wamd_pace_bulk_create(struct wamd_conn *c, struct wamd_tenant *t, json_t *body, int64_t send_at, char *err,
			  size_t errlen)
{
	const char *tpl = json_string_value(json_object_get(body, "template"));
	json_t *rs = json_object_get(body, "recipients");
	size_t n = json_array_size(rs);
	bool blank = true;
	for (const char *p = tpl ? tpl : ""; *p && blank; p++)
		blank = isspace((unsigned char)*p);
	if (blank || strlen(tpl) > TEMPLATE_MAX) {
		snprintf(err, errlen, "template must be a text of 1..%d characters", TEMPLATE_MAX);
		return WA_EINVAL;
	}
	if (!json_is_array(rs) || n == 0 || n > WAMD_BULK_MAX_RECIPIENTS) {
		snprintf(err, errlen, "recipients must be an array of 1..%d numbers or {number, variables}",
			 WAMD_BULK_MAX_RECIPIENTS);
		return WA_EINVAL;
	}
	/* all checked first (no I/O), then stored a batch per loop turn */
	for (size_t i = 0; i < n; i++) {
		json_t *r = json_array_get(rs, i);
		const char *num = json_is_string(r) ? json_string_value(r) : json_string_value(json_object_get(r, "number"));
		json_t *vars = json_is_object(r) ? json_object_get(r, "variables") : NULL;
		char jid[WA_STORE_JID_MAX], missing[64] = "";
		if (!num || wamd_normalize_number(num, jid, sizeof jid) != 0) {
			snprintf(err, errlen, "recipients[%zu]: not a number or JID", i);
			return WA_EINVAL;
		}
		if (vars && !json_is_object(vars)) {
			snprintf(err, errlen, "recipients[%zu].variables must be an object", i);
			return WA_EINVAL;
		}
		char *text = render(tpl, vars, missing, sizeof missing);
		if (!text) {
			snprintf(err, errlen, "recipients[%zu]: no variable \"%s\" for the template", i, missing);
			return missing[0] ? WA_EINVAL : WA_ENOMEM;
		}
		free(text);
	}
	struct loading *L = calloc(1, sizeof *L);
	json_t *spec = json_pack("{s:s}", "template", tpl);
	char *s = spec ? json_dumps(spec, JSON_COMPACT) : NULL;
	int rc = !L || !s ? WA_ENOMEM : 0;
	if (rc == 0) {
		L->t = t;
		L->spec = spec;
		L->rs = json_incref(rs);
		L->j = (wa_store_pace_job){ .state = JOB_LOADING, .total = (int64_t)n, .created_ms = wamd_pace_now(t->d) };
		L->j.not_before_ms = send_at > L->j.created_ms ? send_at : L->j.created_ms;
		char key[37];
		rc = wamd_random_uuid(key);
		snprintf(L->j.key, sizeof L->j.key, "%s", key);
	}
	if (rc == 0)
		rc = wa_store_pace_job_put(t->d->store, t->id, &L->j, s, strlen(s), &L->j.row);
	free(s);
	if (rc != 0) {
		snprintf(err, errlen, "not stored: %s", wa_errname(rc));
		if (L) {
			L->spec = json_incref(spec);
			load_free(L, 0, NULL);
		}
		json_decref(spec);
		return rc;
	}
	if (n > LOAD_BATCH)
		LOGI("instance %s: bulk job %s: storing %zu recipients, %d a loop turn", t->name, L->j.key, n, LOAD_BATCH);
	L->tk.c = c;
	c->ticket = &L->tk;
	L->next = loads;
	loads = L;
	load_step(&L->sul);
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
