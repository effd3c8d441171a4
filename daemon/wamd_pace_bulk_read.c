/* A bulk job's body read off the event loop (see wamd_pace_bulk_read.h).
 * jansson's parse of 100,000 recipients and their checks take hundreds of
 * milliseconds of CPU: on the loop, every other instance's sends and
 * requests waited for them. One worker thread reads the bodies in the
 * order they came; its result goes back to the loop through
 * lws_cancel_service (wamd_bulk_read_deliver), as name lookups and media
 * probes do. The JSON values it makes never leave it (jansson is safe for
 * separate values on separate threads; its hash seed is set in main before
 * any thread starts). */
#include <ctype.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "wamd.h"
#include "wamd_pace_bulk_read.h"

#define TEMPLATE_MAX 65536
#define HALT_EVERY 1024 /* recipients between looks at the halt flag */
#define WORKER_NICE 10


char *wamd_bulk_render(const char *tpl, json_t *vars, char *missing, size_t mcap)
{
	size_t cap = strlen(tpl) + 64, n = 0;
	char *out = malloc(cap);
	if (mcap)
		missing[0] = '\0';
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

/* ---- the list (pure) ---- */

struct growbuf {
	char *p;
	size_t n, cap;
	bool oom;
};

static int put(const char *s, size_t len, void *arg)
{
	struct growbuf *b = arg;
	if (b->oom)
		return -1;
	if (len + 1 > b->cap - b->n) {
		size_t cap = b->cap ? b->cap : 1 << 16;
		while (len + 1 > cap - b->n)
			cap *= 2;
		char *g = realloc(b->p, cap);
		if (!g) {
			b->oom = true;
			return -1;
		}
		b->p = g;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, len);
	b->n += len;
	return 0;
}

static int fail(struct wamd_bulk_list *l, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct wamd_bulk_list *l, int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(l->err, sizeof l->err, fmt, ap);
	va_end(ap);
	l->status = status;
	return status;
}

/* recipient i of rs into l (b: its text) */
static int one(struct wamd_bulk_list *l, struct growbuf *b, json_t *rs, size_t i)
{
	json_t *r = json_array_get(rs, i);
	const char *num = json_is_string(r) ? json_string_value(r) : json_string_value(json_object_get(r, "number"));
	json_t *vars = json_is_object(r) ? json_object_get(r, "variables") : NULL;
	char jid[WA_STORE_JID_MAX], missing[64];
	if (!num || wamd_normalize_number(num, jid, sizeof jid) != 0)
		return fail(l, 400, "recipients[%zu]: not a number or JID", i);
	if (vars && !json_is_object(vars))
		return fail(l, 400, "recipients[%zu].variables must be an object", i);
	char *text = wamd_bulk_render(l->tpl, vars, missing, sizeof missing);
	if (!text)
		return missing[0] ? fail(l, 400, "recipients[%zu]: no variable \"%s\" for the template", i, missing)
				  : fail(l, 500, "out of memory");
	free(text);
	l->off[i] = b->n;
	(void)put(jid, strlen(jid) + 1, b);
	if (vars)
		(void)json_dump_callback(vars, put, b, JSON_COMPACT);
	else
		(void)put("{}", 2, b);
	(void)put("", 1, b);
	return b->oom ? fail(l, 500, "out of memory") : 0;
}

void wamd_bulk_list_read(const char *body, size_t len, struct wamd_bulk_list *l, const atomic_bool *halt)
{
	memset(l, 0, sizeof *l);
	json_error_t je;
	json_t *doc = len ? json_loadb(body, len, 0, &je) : json_object();
	if (!doc) {
		fail(l, 400, "invalid JSON body: %s", je.text);
		return;
	}
	const char *tpl = json_string_value(json_object_get(doc, "template"));
	json_t *rs = json_object_get(doc, "recipients");
	size_t n = json_array_size(rs);
	bool blank = true;
	for (const char *p = tpl ? tpl : ""; *p && blank; p++)
		blank = isspace((unsigned char)*p);
	struct growbuf b = { 0 };
	if (blank || strlen(tpl) > TEMPLATE_MAX) {
		fail(l, 400, "template must be a text of 1..%d characters", TEMPLATE_MAX);
	} else if (!json_is_array(rs) || n == 0 || n > WAMD_BULK_MAX_RECIPIENTS) {
		fail(l, 400, "recipients must be an array of 1..%d numbers or {number, variables}",
		     WAMD_BULK_MAX_RECIPIENTS);
	} else if (!(l->tpl = strdup(tpl)) || !(l->off = malloc(n * sizeof *l->off))) {
		fail(l, 500, "out of memory");
	} else {
		l->n = n;
		for (size_t i = 0; i < n && !l->status; i++)
			if (halt && i % HALT_EVERY == 0 && atomic_load(halt))
				fail(l, 500, "the daemon is stopping");
			else
				(void)one(l, &b, rs, i);
	}
	if (!l->status && (l->send_at = wamd_send_at_parse(json_object_get(doc, "sendAt"))) < 0)
		fail(l, 400, "%s", WAMD_SEND_AT_BAD);
	l->buf = b.p;
	json_decref(doc);
	if (l->status) {
		int st = l->status;
		char err[sizeof l->err];
		memcpy(err, l->err, sizeof err);
		wamd_bulk_list_free(l);
		l->status = st;
		memcpy(l->err, err, sizeof err);
	}
}

void wamd_bulk_list_free(struct wamd_bulk_list *l)
{
	free(l->tpl);
	free(l->buf);
	free(l->off);
	memset(l, 0, sizeof *l);
}

/* ---- the worker thread ---- */

struct wamd_bulk_read {
	struct wamd_bulk_read *next;
	char *body; /* the thread's: freed once read */
	size_t len;
	struct wamd_bulk_list list; /* the thread's until it is done */
	wamd_bulk_read_cb cb;       /* the loop's: NULL once abandoned */
	void *arg;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct wamd_bulk_read *todo, *done; /* todo oldest first, done newest first */
	unsigned count; /* todo and the one being read */
	pthread_t th;
	bool started, stop;
	atomic_bool halt;
	struct lws_context *ctx;
} R = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static void *worker(void *unused)
{
	(void)unused;
	/* background work: the event loop's thread first when both want a CPU */
	errno = 0;
	int nice = getpriority(PRIO_PROCESS, 0);
	if (errno == 0)
		(void)setpriority(PRIO_PROCESS, (id_t)gettid(), nice + WORKER_NICE < 19 ? nice + WORKER_NICE : 19);
	pthread_mutex_lock(&R.lock);
	for (;;) {
		while (!R.stop && !R.todo)
			pthread_cond_wait(&R.cond, &R.lock);
		if (R.stop)
			break;
		struct wamd_bulk_read *r = R.todo;
		R.todo = r->next;
		pthread_mutex_unlock(&R.lock);
		wamd_bulk_list_read(r->body, r->len, &r->list, &R.halt);
		free(r->body);
		r->body = NULL;
		malloc_trim(0); /* the parsed document's many small blocks: their pages back to the system */
		pthread_mutex_lock(&R.lock);
		R.count--;
		r->next = R.done;
		R.done = r;
		if (R.ctx)
			lws_cancel_service(R.ctx);
	}
	pthread_mutex_unlock(&R.lock);
	return NULL;
}

static void read_free(struct wamd_bulk_read *r)
{
	free(r->body);
	wamd_bulk_list_free(&r->list);
	free(r);
}

struct wamd_bulk_read *wamd_bulk_read_start(struct lws_context *ctx, char *body, size_t len, wamd_bulk_read_cb cb,
					    void *arg)
{
	struct wamd_bulk_read *r = calloc(1, sizeof *r);
	if (!r) {
		free(body);
		return NULL;
	}
	r->body = body;
	r->len = len;
	r->cb = cb;
	r->arg = arg;
	pthread_mutex_lock(&R.lock);
	if (!R.started && !R.stop) {
		atomic_store(&R.halt, false);
		R.started = pthread_create(&R.th, NULL, worker, NULL) == 0;
	}
	if (!R.started || R.stop || R.count >= WAMD_BULK_READS_MAX) {
		pthread_mutex_unlock(&R.lock);
		read_free(r);
		return NULL;
	}
	R.ctx = ctx;
	struct wamd_bulk_read **pp = &R.todo;
	while (*pp)
		pp = &(*pp)->next;
	*pp = r;
	R.count++;
	pthread_cond_signal(&R.cond);
	pthread_mutex_unlock(&R.lock);
	return r;
}

void wamd_bulk_read_abandon(struct wamd_bulk_read *r)
{
	pthread_mutex_lock(&R.lock);
	r->cb = NULL;
	for (struct wamd_bulk_read **pp = &R.todo; *pp; pp = &(*pp)->next)
		if (*pp == r) { /* not started: dropped unread */
			*pp = r->next;
			R.count--;
			pthread_mutex_unlock(&R.lock);
			read_free(r);
			return;
		}
	pthread_mutex_unlock(&R.lock); /* running or done: wamd_bulk_read_deliver drops it */
}

unsigned wamd_bulk_read_count(void)
{
	pthread_mutex_lock(&R.lock);
	unsigned n = R.count;
	pthread_mutex_unlock(&R.lock);
	return n;
}

void wamd_bulk_read_deliver(void)
{
	pthread_mutex_lock(&R.lock);
	struct wamd_bulk_read *list = R.done, *rev = NULL;
	R.done = NULL;
	pthread_mutex_unlock(&R.lock);
	while (list) { /* oldest first */
		struct wamd_bulk_read *r = list;
		list = r->next;
		r->next = rev;
		rev = r;
	}
	while (rev) {
		struct wamd_bulk_read *r = rev;
		rev = r->next;
		if (r->cb) {
			struct wamd_bulk_list l = r->list;
			memset(&r->list, 0, sizeof r->list);
			r->cb(r->arg, &l);
		}
		read_free(r);
	}
}

void wamd_bulk_read_shutdown(void)
{
	pthread_mutex_lock(&R.lock);
	bool joined = R.started;
	R.stop = true;
	atomic_store(&R.halt, true);
	R.ctx = NULL;
	pthread_cond_broadcast(&R.cond);
	pthread_mutex_unlock(&R.lock);
	if (joined)
		pthread_join(R.th, NULL);
	for (int k = 0; k < 2; k++) {
		struct wamd_bulk_read **l = k ? &R.done : &R.todo;
		while (*l) {
			struct wamd_bulk_read *r = *l;
			*l = r->next;
			read_free(r);
		}
	}
	R.count = 0;
	R.started = R.stop = false; /* a next start (tests) begins anew */
}
