/* Durable send latency, for benchmark 3 (tests/bench/README.md): from the
 * moment the API dispatches a sendText request to the moment libwa reports
 * (WA_EV_MESSAGE_WIRE) that the stanza carrying it was written to the
 * socket, which happens after the outbox row and the ratchet state were
 * committed. CLOCK_MONOTONIC. A tenant that has sent anything holds a
 * small ring of (id, accept time) until the wire mark arrives; the
 * figures go into one histogram per daemon, 10 µs buckets up to 200 ms
 * (fine enough for p99 near a millisecond) then 10 ms ones up to a
 * minute, served by GET /wamd/metrics. Beside it, the CPU time of the
 * send call into libwa itself for sends that leave at once (outbox row,
 * encryption, stanza, write, the record committed with them): the
 * library's own cost per message, without HTTP, JSON or the loop. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wamd.h"
#include "wamd_pace_bulk_read.h"

#define LAT_BUCKET_NS 10000LL        /* 10 µs ... */
#define LAT_BUCKETS 20000            /* ... up to 200 ms */
#define LAT_COARSE_NS 10000000LL     /* then 10 ms ... */
#define LAT_COARSE 6000              /* ... up to 60.2 s, then one overflow bucket */
#define LAT_PENDING 32               /* sends per tenant awaiting their wire mark */
#define LAT_ID_MAX 64
#define CPU_BUCKETS 5000             /* send-call CPU: 1 µs buckets up to 5 ms */

struct wamd_lat_hist {
	uint64_t b[LAT_BUCKETS];
	uint64_t coarse[LAT_COARSE];
	uint64_t over;
	uint64_t n;
	int64_t max_ns;
	double sum_ns;
	uint64_t unmatched;          /* accepted sends whose mark was lost (ring full) */
	uint32_t cpu_b[CPU_BUCKETS];   /* send calls by CPU time, 1 µs buckets (last: more) */
	uint64_t cpu_n;              /* send calls timed (wamd_lat_call_cpu) */
	double cpu_sum_ns;
	int64_t cpu_max_ns;
};

struct wamd_lat_pending {
	struct {
		char id[LAT_ID_MAX];
		int64_t t0_ns;
	} e[LAT_PENDING];
	unsigned next;
};

int64_t wamd_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t wamd_thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void wamd_lat_call_cpu(struct wamd *d, int64_t ns)
{
	if (!d->send_lat && !(d->send_lat = calloc(1, sizeof *d->send_lat)))
		return;
	struct wamd_lat_hist *h = d->send_lat;
	int64_t k = ns / 1000;
	h->cpu_b[k < CPU_BUCKETS ? k : CPU_BUCKETS - 1]++;
	h->cpu_n++;
	h->cpu_sum_ns += (double)ns;
	if (ns > h->cpu_max_ns)
		h->cpu_max_ns = ns;
}

void wamd_lat_accepted(struct wamd_tenant *t, const char *id, int64_t t0_ns)
{
	struct wamd *d = t->d;
	size_t len = strlen(id);
	if (len >= LAT_ID_MAX)
		return;
	if (!d->send_lat && !(d->send_lat = calloc(1, sizeof *d->send_lat)))
		return;
	if (!t->lat && !(t->lat = calloc(1, sizeof *t->lat)))
		return;
	struct wamd_lat_pending *p = t->lat;
	unsigned i = p->next;
	p->next = (p->next + 1) % LAT_PENDING;
	if (p->e[i].id[0])
		d->send_lat->unmatched++;
	memcpy(p->e[i].id, id, len + 1);
	p->e[i].t0_ns = t0_ns;
}

void wamd_lat_on_wire(struct wamd_tenant *t, const char *id)
{
	int64_t now = wamd_mono_ns();
	struct wamd_lat_pending *p = t->lat;
	struct wamd_lat_hist *h = t->d->send_lat;
	if (!p || !h || !id)
		return;
	for (unsigned i = 0; i < LAT_PENDING; i++) {
		if (strcmp(p->e[i].id, id) != 0)
			continue;
		int64_t dt = now - p->e[i].t0_ns;
		p->e[i].id[0] = '\0';
		if (dt < 0)
			dt = 0;
		int64_t k = dt / LAT_BUCKET_NS;
		int64_t kc = (dt - LAT_BUCKETS * LAT_BUCKET_NS) / LAT_COARSE_NS;
		if (k < LAT_BUCKETS)
			h->b[k]++;
		else if (kc < LAT_COARSE)
			h->coarse[kc]++;
		else
			h->over++;
		h->n++;
		h->sum_ns += (double)dt;
		if (dt > h->max_ns)
			h->max_ns = dt;
		return;
	}
}

void wamd_lat_tenant_free(struct wamd_tenant *t)
{
	free(t->lat);
	t->lat = NULL;
}

void wamd_lat_free(struct wamd *d)
{
	free(d->send_lat);
	d->send_lat = NULL;
}

void wamd_lat_reset(struct wamd *d)
{
	if (d->send_lat)
		memset(d->send_lat, 0, sizeof *d->send_lat);
}

void wamd_lat_summary(struct wamd *d, const double *les, size_t n, uint64_t *cum, struct wamd_lat_summary *s)
{
	const struct wamd_lat_hist *h = d->send_lat;
	memset(s, 0, sizeof *s);
	memset(cum, 0, n * sizeof *cum);
	if (!h)
		return;
	s->count = h->n;
	s->unmatched = h->unmatched;
	s->sum_s = h->sum_ns / 1e9;
	for (size_t i = 0; i < n; i++) {
		/* the buckets whose upper edge is at most le */
		int64_t le_ns = (int64_t)(les[i] * 1e9 + 0.5);
		uint64_t c = 0;
		for (int64_t k = 0; k < LAT_BUCKETS && (k + 1) * LAT_BUCKET_NS <= le_ns; k++)
			c += h->b[k];
		for (int64_t k = 0; k < LAT_COARSE && LAT_BUCKETS * LAT_BUCKET_NS + (k + 1) * LAT_COARSE_NS <= le_ns; k++)
			c += h->coarse[k];
		cum[i] = c;
	}
}

/* Upper edge of the bucket holding quantile q, in ms. */
static double quantile_ms(const struct wamd_lat_hist *h, double q)
{
	uint64_t want = (uint64_t)(q * (double)h->n);
	if (want >= h->n)
		want = h->n - 1;
	uint64_t seen = 0;
	for (int k = 0; k < LAT_BUCKETS; k++) {
		seen += h->b[k];
		if (seen > want)
			return (double)((k + 1) * LAT_BUCKET_NS) / 1e6;
	}
	for (int k = 0; k < LAT_COARSE; k++) {
		seen += h->coarse[k];
		if (seen > want)
			return (double)(LAT_BUCKETS * LAT_BUCKET_NS + (k + 1) * LAT_COARSE_NS) / 1e6;
	}
	return (double)h->max_ns / 1e6;
}

json_t *wamd_metrics_json(struct wamd *d)
{
	json_t *o = json_object();
	const struct wamd_lat_hist *h = d->send_lat;
	json_t *l = json_object();
	json_object_set_new(l, "count", json_integer(h ? (json_int_t)h->n : 0));
	json_object_set_new(l, "bucket_ms", json_real((double)LAT_BUCKET_NS / 1e6));
	if (h && h->n) {
		json_object_set_new(l, "p50_ms", json_real(quantile_ms(h, 0.50)));
		json_object_set_new(l, "p90_ms", json_real(quantile_ms(h, 0.90)));
		json_object_set_new(l, "p99_ms", json_real(quantile_ms(h, 0.99)));
		json_object_set_new(l, "p999_ms", json_real(quantile_ms(h, 0.999)));
		json_object_set_new(l, "max_ms", json_real((double)h->max_ns / 1e6));
		json_object_set_new(l, "mean_ms", json_real(h->sum_ns / (double)h->n / 1e6));
		uint64_t slow = h->over;
		for (int k = 0; k < LAT_COARSE; k++)
			slow += h->coarse[k];
		json_object_set_new(l, "over_200ms", json_integer((json_int_t)slow));
	}
	json_object_set_new(l, "unmatched", json_integer(h ? (json_int_t)h->unmatched : 0));
	json_object_set_new(o, "send_latency", l);
	if (h && h->cpu_n) {
		/* the median beside the mean: a commit that checkpoints the WAL
		 * now and then weighs on the mean */
		uint64_t seen = 0;
		int k = 0;
		while (k < CPU_BUCKETS - 1 && (seen += h->cpu_b[k]) <= h->cpu_n / 2)
			k++;
		json_object_set_new(o, "send_call_cpu", json_pack("{s:I, s:f, s:i, s:f}", "count", (json_int_t)h->cpu_n,
			"mean_us", h->cpu_sum_ns / (double)h->cpu_n / 1e3, "p50_us", k + 1, "max_us",
			(double)h->cpu_max_ns / 1e3));
	}
	json_object_set_new(o, "handshakes", wamd_engine_stats(d));
	size_t n = 0, open = 0, starting = 0;
	for (struct wamd_tenant *t = d->tenants; t; t = t->next, n++) {
		open += t->state == WA_CONN_READY;
		starting += t->boot_pending; /* stored, session not created yet (wamd_boot.c) */
	}
	json_object_set_new(o, "instances", json_pack("{s:I, s:I, s:I}", "total", (json_int_t)n, "open", (json_int_t)open,
						      "starting", (json_int_t)starting));
	const struct wamd_pace_stats *ps = &d->pace_stats;
	const uint64_t *js = ps->jobs, pending = ps->job_pending;
	json_object_set_new(o, "pacing", json_pack("{s:I, s:I, s:I, s:I, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I}}",
		"queued", (json_int_t)ps->queued, "sent", (json_int_t)ps->sent, "deferred", (json_int_t)ps->deferred,
		"throttled", (json_int_t)ps->throttled, "jobs", "running", (json_int_t)js[0], "paused", (json_int_t)js[1],
		"cancelled", (json_int_t)js[2], "done", (json_int_t)js[3], "pendingRecipients", (json_int_t)pending,
		"reading", (json_int_t)wamd_bulk_read_count(), "storing", (json_int_t)ps->job_storing));
	return o;
}
