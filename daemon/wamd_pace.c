/* Send pacing: the queues of the sends held back by an instance's limits
 * (wamd_pace_limits.c), kept durable in the store (wa/store_pace.h), and
 * one scheduler for all instances.
 *
 * Each instance has two FIFO lanes: first contacts (numbers it never
 * talked to, under the lower first-contact budget) and the rest. A send to
 * a number whose first contact is still queued waits behind it (a
 * follower), so one chat's messages never overtake each other. The
 * instance's ready time is the earliest time one of its lane heads may
 * leave; instances sit in a min-heap by (ready time, last served), so the
 * scheduler's decision is O(log n) in the instance count and independent of
 * the queue lengths, and instances that are ready together are served
 * round robin: a big queue on one never delays another's sends beyond
 * that one's own limits. One timer, at the heap's top.
 *
 * The test clock (compiled in debug builds only, on with WAMD_TEST_CLOCK_MS
 * in the environment) freezes pacing time at that value; POST
 * /wamd/testClock moves it forward, releasing what falls due on the way at
 * its own time, so tests run a day of schedule in seconds. */
#include "wamd_pace.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wa/store_pace.h"
#include "util/codec.h"
#include "util/seams.h"
#include "wamd_pace_int.h"
#include "wamd_pace_media.h"
#include "wamd_pace_shared.h"

#define RELEASE_BATCH 256     /* releases per loop turn before yielding */
#define NO_SESSION_RETRY_MS 5000
#define KEEP_SENT_MS PACE_DAY_MS
/* straight-through sends are written to the store in batches this far
 * apart, off the send's path (a crash forgets at most this long of them:
 * the windows after a restart may count a few sends too few) */
#define NOTE_FLUSH_MS 100
/* a release this long after the instance's last send starts a burst */
#define BURST_IDLE_MS 60000

struct note {
	int64_t instance_id, at;
	bool first;
	char jid[WA_STORE_JID_MAX];
};

struct wamd_pacer {
	struct wamd *d;
	struct pace_heap h;
	lws_sorted_usec_list_t sul;
	bool test_clock;
	int64_t vnow;
	uint64_t tick;
	json_t *released; /* test clock: what clock_set released */
	struct note *notes; /* straight-through sends not yet in the store */
	size_t n_notes, cap_notes;
	lws_sorted_usec_list_t note_sul;
};

static struct wamd_pacer *P; /* one daemon per process */
static struct wamd_pace_job_hooks J; /* bulk jobs (unset: none) */

void wamd_pace_set_job_hooks(const struct wamd_pace_job_hooks *h)
{
	J = *h;
}

int64_t wamd_pace_now(struct wamd *d)
{
	(void)d;
	return P && P->test_clock ? P->vnow : wamd_now_ms();
}

static uint64_t jid_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h ? h : 1;
}

/* ---- instances ---- */

static struct pace_inst *inst_of(struct wamd_tenant *t);

static void inst_free(struct pace_inst *in)
{
	pace_heap_remove(&P->h, in);
	pace_inst_clear(in);
	pace_state_free(&in->st);
	free(in);
}

static void schedule(void);
static void notes_flush(void);

static void inst_update(struct pace_inst *in, int64_t now)
{
	if (pace_inst_update(&P->h, in, now) != 0)
		LOGE("pacing: out of memory (instance %s)", in->t->name);
}

static int inst_load(struct pace_inst *in)
{
	struct wamd *d = in->t->d;
	wa_store_pace_row *rows = NULL;
	size_t n = 0;
	int64_t now = wamd_pace_now(d);
	int rc = wa_store_pace_load(d->store, in->t->id, now - KEEP_SENT_MS, &rows, &n);
	if (rc != 0)
		return rc;
	/* sends that left: the windows again, in time order */
	int64_t *sent = malloc((n ? n : 1) * sizeof *sent * 2);
	size_t ns = 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (rows[i].state == 1) {
			if (sent) {
				sent[2 * ns] = rows[i].sent_ms;
				sent[2 * ns + 1] = rows[i].first;
				ns++;
			}
			continue;
		}
		struct pace_msg *m = calloc(1, sizeof *m);
		if (!m) {
			rc = WA_ENOMEM;
			break;
		}
		m->seq = rows[i].seq;
		m->not_before = rows[i].not_before_ms;
		m->first = rows[i].first;
		m->scheduled = rows[i].not_before_ms > rows[i].created_ms;
		m->jh = jid_hash(rows[i].jid);
		rc = m->not_before > now ? pace_inst_hold(in, m) : pace_inst_add(in, m);
		if (rc != 0)
			free(m);
	}
	/* insertion sort is enough: rows come in seq order, nearly time order */
	for (size_t i = 1; sent && i < ns; i++)
		for (size_t j = i; j > 0 && sent[2 * j] < sent[2 * (j - 1)]; j--) {
			int64_t a = sent[2 * j], b = sent[2 * j + 1];
			sent[2 * j] = sent[2 * (j - 1)];
			sent[2 * j + 1] = sent[2 * (j - 1) + 1];
			sent[2 * (j - 1)] = a;
			sent[2 * (j - 1) + 1] = b;
		}
	for (size_t i = 0; sent && rc == 0 && i < ns; i++)
		rc = pace_record(&in->cfg, &in->st, sent[2 * i + 1] != 0, sent[2 * i], 0);
	if (ns)
		in->st.next_gap_ms = in->cfg.gap_ms; /* the drawn jitter is not kept */
	free(sent);
	free(rows);
	return rc;
}

struct pace_inst *wamd_pace_inst(struct wamd_tenant *t)
{
	return inst_of(t);
}

static struct pace_inst *inst_of(struct wamd_tenant *t)
{
	if (t->pace || !P)
		return t->pace;
	struct pace_inst *in = calloc(1, sizeof *in);
	if (!in)
		return NULL;
	in->t = t;
	pace_cfg_defaults(&in->cfg);
	in->cfg.enabled = t->d->cfg.pacing;
	json_t *doc = json_object_get(t->doc, "pacing");
	char err[160];
	if (json_is_object(doc) && pace_cfg_apply(&in->cfg, doc, err, sizeof err) != 0)
		LOGW("instance %s: stored pacing settings ignored: %s", t->name, err);
	in->grp = pace_group_of(in->cfg.group);
	if (in->cfg.hours.n && !(in->tz = pace_tz_of(in->cfg.tz)))
		LOGW("instance %s: time zone %s not found (is tzdata installed?): business hours in UTC", t->name, in->cfg.tz);
	if (in->cfg.warm_from_ms == 0 && in->cfg.enabled) {
		/* warm-up counts from the first time pacing sees the instance
		 * (its pairing, for new ones); kept in its document */
		in->cfg.warm_from_ms = wamd_pace_now(t->d);
		json_t *pd = json_is_object(doc) ? doc : json_object();
		json_object_set_new(pd, "warmupFrom", json_integer(in->cfg.warm_from_ms));
		if (pd != doc)
			json_object_set_new(t->doc, "pacing", pd);
		if (wamd_tenant_save(t) != 0)
			LOGW("instance %s: warm-up start not saved", t->name);
	}
	t->pace = in;
	if (inst_load(in) != 0)
		LOGE("instance %s: pacing queue not fully loaded", t->name);
	inst_update(in, wamd_pace_now(t->d));
	P->d->pace_stats.queued += pace_inst_queued(in);
	if (J.load)
		J.load(t);
	return in;
}

/* A tenant's straight sends not yet written, as it goes: written now when
 * the daemon stops (in cluster mode before its leases are given up, after
 * which the fence refuses them); dropped when it was deleted or moved to
 * another node (refused too, and one refused row aborts the whole batch). */
static void notes_settle(struct wamd_tenant *t)
{
	if (!t->removed) {
		notes_flush();
		return;
	}
	size_t k = 0;
	for (size_t i = 0; i < P->n_notes; i++)
		if (P->notes[i].instance_id != t->id)
			P->notes[k++] = P->notes[i];
	P->n_notes = k;
}

void wamd_pace_tenant_free(struct wamd_tenant *t)
{
	if (!t->pace)
		return;
	if (P) {
		P->d->pace_stats.queued -= pace_inst_queued(t->pace);
		notes_settle(t);
	}
	if (t->removed) /* its rows went with it; their held files go now */
		wamd_pace_media_purge(t->d, t->id);
	if (J.tenant_free)
		J.tenant_free(t);
	inst_free(t->pace);
	t->pace = NULL;
	if (P)
		schedule();
}

/* ---- release ---- */

void wamd_pace_quoted(json_t *p, const struct wamd_send_extra *x)
{
	if (x->quoted_id)
		json_object_set_new(p, "quoted", json_pack("{s:s, s:s?, s:b, s:s?, s:s?, s:s?}", "id", x->quoted_id, "jid",
							   x->quoted_jid, "fromMe", x->quoted_from_me, "text",
							   x->quoted_text, "participant", x->quoted_participant, "message",
							   x->quoted_message));
}

/* a held send's quote, as the route resolved it */
static void quoted_of(json_t *p, struct wamd_send_extra *x)
{
	json_t *q = json_object_get(p, "quoted");
	x->quoted_id = json_string_value(json_object_get(q, "id"));
	x->quoted_jid = json_string_value(json_object_get(q, "jid"));
	x->quoted_text = json_string_value(json_object_get(q, "text"));
	x->quoted_participant = json_string_value(json_object_get(q, "participant"));
	x->quoted_message = json_string_value(json_object_get(q, "message"));
	x->quoted_from_me = json_is_true(json_object_get(q, "fromMe"));
}

/* strings of a JSON array (NULL for a non-string), or NULL when empty */
static const char **strings_of(json_t *a, size_t *n)
{
	*n = json_array_size(a);
	const char **v = *n ? calloc(*n, sizeof *v) : NULL;
	for (size_t i = 0; v && i < *n; i++)
		v[i] = json_string_value(json_array_get(a, i));
	return v;
}

int wamd_pace_send_text(struct wamd_tenant *t, const char *jid, json_t *p, struct wamd_send_extra *x, char **out)
{
	quoted_of(p, x);
	size_t nm = 0;
	const char **mp = strings_of(json_object_get(p, "mentions"), &nm);
	if (nm && !mp)
		return WA_ENOMEM;
	x->mentions = mp;
	x->n_mentions = nm;
	json_t *pv = json_object_get(p, "preview");
	uint8_t *thumb = NULL;
	if (pv) {
		x->preview_url = json_string_value(json_object_get(pv, "matchedText"));
		x->preview_title = json_string_value(json_object_get(pv, "title"));
		x->preview_description = json_string_value(json_object_get(pv, "description"));
		const char *tb = json_string_value(json_object_get(pv, "jpegThumbnail"));
		if (tb && wa_b64_decode(tb, strlen(tb), &thumb, &x->preview_thumb_len) == 0)
			x->preview_thumb = thumb;
	}
	int rc = wamd_tenant_send_text_to(t, jid, json_string_value(json_object_get(p, "text")), x, out);
	free(thumb);
	free(mp);
	return rc;
}

/* sends a held payload through the function its route uses, with the id
 * its answer carried */
static int send_payload(struct wamd_tenant *t, const char *jid, const char *id, json_t *p)
{
	const char *kind = json_string_value(json_object_get(p, "kind"));
	struct wamd_send_extra x = { .id = id };
	quoted_of(p, &x);
	char *out = NULL;
	int rc = WA_EINVAL;
	if (!kind) {
		rc = WA_EDB_CORRUPT;
	} else if (!strcmp(kind, "text")) {
		rc = wamd_pace_send_text(t, jid, p, &x, &out);
	} else if (!strcmp(kind, "location")) {
		rc = wamd_tenant_send_location(t, jid, json_number_value(json_object_get(p, "latitude")),
					       json_number_value(json_object_get(p, "longitude")),
					       json_string_value(json_object_get(p, "name")),
					       json_string_value(json_object_get(p, "address")), &x, &out);
	} else if (!strcmp(kind, "contacts")) {
		size_t n = 0, nv = 0;
		const char **names = strings_of(json_object_get(p, "names"), &n);
		const char **cards = strings_of(json_object_get(p, "vcards"), &nv);
		rc = !names || !cards || n != nv ? WA_EDB_CORRUPT
			: wamd_tenant_send_contacts(t, jid, json_string_value(json_object_get(p, "listName")), names,
						    cards, n, &x, &out);
		free(names);
		free(cards);
	} else if (!strcmp(kind, "media")) {
		rc = wamd_pace_send_media(t, jid, id, p);
	} else if (!strcmp(kind, "reaction")) {
		json_t *k = json_object_get(p, "key");
		const char *mid = json_string_value(json_object_get(k, "id"));
		const char *emoji = json_string_value(json_object_get(p, "text"));
		rc = !mid || !emoji ? WA_EDB_CORRUPT
			: wamd_tenant_send_reaction_as(t, jid, json_is_true(json_object_get(k, "fromMe")), mid,
						       json_string_value(json_object_get(k, "participant")), emoji,
						       id, &out);
	} else if (!strcmp(kind, "poll")) {
		size_t n = 0;
		const char **opts = strings_of(json_object_get(p, "options"), &n);
		const char *sb = json_string_value(json_object_get(p, "secret"));
		uint8_t *secret = NULL;
		size_t slen = 0;
		if (!opts || !sb || wa_b64_decode(sb, strlen(sb), &secret, &slen) != 0 || slen != 32)
			rc = WA_EDB_CORRUPT;
		else
			rc = wamd_tenant_send_poll(t, jid, json_string_value(json_object_get(p, "name")), opts, n,
						   (unsigned)json_integer_value(json_object_get(p, "selectable")), secret,
						   &x, &out);
		free(secret);
		free(opts);
	}
	free(out);
	return rc;
}

json_t *wamd_pace_payload(struct wamd_tenant *t, int64_t seq, int *rc)
{
	char *raw = NULL;
	size_t len = 0;
	*rc = wa_store_pace_payload(t->d->store, seq, &raw, &len);
	json_t *p = *rc == 0 ? json_loadb(raw, len, 0, NULL) : NULL;
	if (raw)
		wa_store_free(raw, len);
	return p;
}

/* sends in's next message (the lane head that is ready first) at now; a
 * text first shows "composing" (and a burst's first send "available"),
 * and leaves when that time is over */
static void release_one(struct pace_inst *in, int64_t now)
{
	struct wamd_tenant *t = in->t;
	if (pace_inst_promote(in, now) != 0)
		LOGE("instance %s: pacing: out of memory (scheduled sends)", t->name);
	int64_t best;
	struct pace_lane *lane = pace_pick(in, now, &best);
	if (!lane || best > now || pace_group_next(in, now) > now) {
		inst_update(in, now); /* another of its group took the slot: later */
		return;
	}
	if (!t->sess) {
		in->retry_at = now + NO_SESSION_RETRY_MS;
		inst_update(in, now);
		return;
	}
	in->retry_at = 0;
	int rc;
	json_t *p = wamd_pace_payload(t, lane->head->seq, &rc);
	const char *jid = json_string_value(json_object_get(p, "jid"));
	const char *id = json_string_value(json_object_get(p, "id"));
	if (in->typing_seq != lane->head->seq && jid) {
		bool burst = !in->st.has_last || now - in->st.last_ms >= BURST_IDLE_MS;
		if (in->cfg.available && burst && wamd_tenant_presence(t, NULL, "available") != 0)
			LOGD("instance %s: available not sent", t->name);
		int64_t typing = pace_typing_of(&in->cfg, p);
		if (typing > 0) {
			if (wamd_tenant_presence(t, jid, "composing") != 0)
				LOGD("instance %s: composing not sent", t->name);
			in->typing_seq = lane->head->seq;
			in->typing_until = now + typing;
			json_decref(p);
			inst_update(in, now);
			return;
		}
	}
	in->typing_seq = in->typing_until = 0;
	struct pace_msg *m = pace_take(in, lane);
	if (rc == 0)
		rc = jid && id ? send_payload(t, jid, id, p) : WA_EDB_CORRUPT;
	if (rc == WA_EEXIST)
		rc = 0; /* it left before a crash: libwa's outbox has it */
	if (rc != 0)
		LOGE("instance %s: paced send %s not queued: %s (dropped)", t->name, id ? id : "?", wa_errname(rc));
	else
		P->d->pace_stats.sent++;
	uint32_t rnd = 0;
	wa_rand_bytes(&rnd, sizeof rnd);
	if (rc == 0 && pace_record(&in->cfg, &in->st, m->first, now, rnd) != 0)
		LOGE("instance %s: pacing window not recorded", t->name);
	if (rc == 0)
		pace_shared_record(in, now);
	if (wa_store_pace_released(t->d->store, m->seq, now) != 0)
		LOGE("instance %s: paced send %s not marked released", t->name, id ? id : "?");
	if (P->released && id)
		json_array_append_new(P->released, json_pack("{s:s, s:s, s:s, s:I}", "instance", t->name, "id", id,
							     "remoteJid", jid ? jid : "", "atMs", (json_int_t)now));
	P->d->pace_stats.queued--;
	free(m);
	in->served = ++P->tick;
	inst_update(in, now);
	const char *job = json_string_value(json_object_get(p, "job"));
	if (job && id && J.left)
		J.left(t, job, id, rc == 0); /* its next message joins the queue */
	json_decref(p);
}

/* releases everything due at or before now, instance by instance */
static size_t run_until(int64_t now, size_t max)
{
	size_t k = 0;
	while (P->h.n && P->h.v[0]->ready <= now && k < max) {
		struct pace_inst *in = P->h.v[0];
		int64_t at = P->test_clock ? in->ready : now;
		int64_t g = in->cfg.enabled ? pace_global_next(at) : at; /* an instance with pacing off is outside them */
		if (g > now)
			break; /* the daemon-wide limits hold every instance until g */
		if (g > at)
			at = g;
		if (P->test_clock && at > P->vnow)
			P->vnow = at; /* the test clock passes through each due time */
		release_one(in, P->test_clock ? P->vnow : now);
		k++;
	}
	return k;
}

static void on_timer(lws_sorted_usec_list_t *sul)
{
	(void)sul;
	run_until(wamd_now_ms(), RELEASE_BATCH);
	schedule();
}

static void schedule(void)
{
	if (!P || P->test_clock)
		return;
	if (!P->h.n) {
		lws_sul_cancel(&P->sul);
		return;
	}
	int64_t now = wamd_now_ms(), at = P->h.v[0]->ready, g = P->h.v[0]->cfg.enabled ? pace_global_next(now) : now;
	int64_t wait = (at > g ? at : g) - now;
	if (wait < 0)
		wait = 0;
	lws_sul_schedule(P->d->ctx, 0, &P->sul, on_timer, (lws_usec_t)wait * LWS_US_PER_MS);
}

/* the shared windows from the store, then every instance's ready time with them */
static void shared_rebuild(void)
{
	struct wamd *d = P->d;
	int64_t now = wamd_pace_now(d);
	pace_shared_rebuild(d, now - KEEP_SENT_MS);
	for (struct wamd_tenant *t = d->tenants; t; t = t->next)
		if (t->pace)
			inst_update(t->pace, now);
}

void wamd_pace_shared_settle(struct wamd *d)
{
	if (!P || !pace_shared_dirty_take())
		return;
	int64_t now = wamd_pace_now(d);
	for (struct wamd_tenant *t = d->tenants; t; t = t->next)
		if (t->pace)
			inst_update(t->pace, now);
	schedule();
}

/* ---- API ---- */

int wamd_pace_init(struct wamd *d)
{
	P = calloc(1, sizeof *P);
	if (!P)
		return WA_ENOMEM;
	P->d = d;
	d->pace_tenant_gone = wamd_pace_tenant_free;
#ifdef WAMD_TEST_HOOKS
	const char *tc = getenv("WAMD_TEST_CLOCK_MS");
	if (tc && *tc) {
		P->test_clock = true;
		P->vnow = strtoll(tc, NULL, 10);
		LOGW("pacing runs on the test clock (WAMD_TEST_CLOCK_MS=%lld)", (long long)P->vnow);
	}
#endif
	if (wa_store_pace_prune(d->store, wamd_pace_now(d) - KEEP_SENT_MS) != 0)
		LOGW("pacing: old rows not pruned");
	char err[256];
	if (pace_shared_config(&d->cfg, err, sizeof err) != 0)
		LOGE("pacing: %s (no group limits)", err); /* the config check refused it already */
	for (struct wamd_tenant *t = d->tenants; t; t = t->next)
		(void)inst_of(t);
	shared_rebuild();
	schedule();
	wamd_pace_media_sweep(d); /* the queues are loaded: what they name is known */
	return 0;
}

int wamd_pace_reload(struct wamd *d, char *err, size_t errlen)
{
	if (!P)
		return 0;
	int rc = pace_shared_config(&d->cfg, err, errlen);
	if (rc != 0)
		return rc;
	/* the windows' rings are as long as their limits: a raised limit needs
	 * the history again, which the store has (the straight sends' notes
	 * written first) */
	notes_flush();
	shared_rebuild();
	schedule();
	return 0;
}

void wamd_pace_tenant_loaded(struct wamd_tenant *t)
{
	if (!P)
		return;
	(void)inst_of(t);
	schedule();
}

void wamd_pace_free(struct wamd *d)
{
	if (!P)
		return;
	for (struct wamd_tenant *t = d->tenants; t; t = t->next)
		if (t->pace) {
			inst_free(t->pace);
			t->pace = NULL;
		}
	wamd_pace_media_sweep_stop();
	if (J.free_all)
		J.free_all();
	lws_sul_cancel(&P->sul);
	lws_sul_cancel(&P->note_sul);
	notes_flush();
	free(P->notes);
	free(P->h.v);
	pace_shared_free();
	d->pace_tenant_gone = NULL;
	free(P);
	P = NULL;
}

bool wamd_pace_admit(struct wamd_tenant *t, const char *jid, int64_t send_at, bool *first)
{
	*first = false;
	if (t->peeked)
		return false; /* cluster: another node's; its owner paces it (wamd_cluster_relay.c) */
	struct pace_inst *in = inst_of(t);
	if (!in)
		return true;
	int64_t now = wamd_pace_now(t->d);
	/* held until then, pacing on or off; an operator's hours too */
	bool later = send_at > now, closed = pace_hours_next(in, now) > now;
	if (!in->cfg.enabled && !later && !closed)
		return true;
	/* a first contact is a person's number; groups are not strangers */
	bool known = !strstr(jid, "@s.whatsapp.net") && !strstr(jid, "@lid");
	if (!known && wa_store_pace_known(t->d->store, t->id, jid, &known) != 0)
		known = true; /* cannot tell: do not spend the first-contact budget */
	*first = !known;
	/* scheduled sends not due yet hold nothing up */
	if (later || closed || in->known.n + in->first.n + in->followers)
		return false;
	return pace_next(&in->cfg, &in->st, *first, now) <= now && pace_global_next(now) <= now &&
	       pace_group_next(in, now) <= now && pace_hours_next(in, now) <= now;
}

static void notes_flush(void)
{
	if (!P->n_notes)
		return;
	wa_store *st = P->d->store;
	bool tx = wa_store_begin(st) == 0;
	size_t lost = 0;
	for (size_t i = 0; i < P->n_notes; i++) {
		const struct note *n = &P->notes[i];
		if (wa_store_pace_note(st, n->instance_id, n->jid, n->first, n->at) != 0)
			lost++; /* e.g. the instance was deleted meanwhile */
	}
	if (tx && wa_store_commit(st) != 0) {
		(void)wa_store_rollback(st);
		lost = P->n_notes;
	}
	if (lost)
		LOGW("pacing: %zu of %zu sends not recorded in the store", lost, P->n_notes);
	P->n_notes = 0;
}

void wamd_pace_flush(void)
{
	if (P)
		notes_flush();
}

static void on_notes(lws_sorted_usec_list_t *sul)
{
	(void)sul;
	notes_flush();
}

void wamd_pace_sent_now(struct wamd_tenant *t, const char *jid, bool first)
{
	struct pace_inst *in = inst_of(t);
	if (!in || !in->cfg.enabled)
		return;
	int64_t now = wamd_pace_now(t->d);
	uint32_t rnd = 0;
	wa_rand_bytes(&rnd, sizeof rnd);
	if (pace_record(&in->cfg, &in->st, first, now, rnd) != 0)
		LOGE("instance %s: a send not recorded for pacing", t->name);
	pace_shared_record(in, now);
	if (P->n_notes == P->cap_notes) {
		size_t nc = P->cap_notes ? P->cap_notes * 2 : 64;
		struct note *g = realloc(P->notes, nc * sizeof *g);
		if (g) {
			P->notes = g;
			P->cap_notes = nc;
		}
	}
	if (P->n_notes < P->cap_notes) {
		struct note *n = &P->notes[P->n_notes++];
		*n = (struct note){ .instance_id = t->id, .at = now, .first = first };
		snprintf(n->jid, sizeof n->jid, "%s", jid);
		if (P->n_notes == 1)
			lws_sul_schedule(t->d->ctx, 0, &P->note_sul, on_notes, NOTE_FLUSH_MS * LWS_US_PER_MS);
	} else {
		LOGE("instance %s: a send not recorded for pacing (out of memory)", t->name);
	}
	P->d->pace_stats.sent++;
	in->served = ++P->tick;
}

void wamd_pace_new_id(char out[32])
{
	/* the shape of libwa's ids: "3EB0" + 18 upper-case hex digits */
	uint8_t r[9];
	wa_rand_bytes(r, sizeof r);
	static const char hx[] = "0123456789ABCDEF";
	memcpy(out, "3EB0", 4);
	for (int i = 0; i < 9; i++) {
		out[4 + 2 * i] = hx[r[i] >> 4];
		out[5 + 2 * i] = hx[r[i] & 15];
	}
	out[22] = '\0';
}

int wamd_pace_enqueue(struct wamd_tenant *t, const char *jid, bool first, int64_t send_at, json_t *payload,
		      char id_out[32])
{
	struct pace_inst *in = inst_of(t);
	if (!in)
		return WA_ENOMEM;
	char id[32];
	const char *given = json_string_value(json_object_get(payload, "id"));
	if (given && strlen(given) < sizeof id)
		snprintf(id, sizeof id, "%s", given);
	else
		wamd_pace_new_id(id);
	int64_t now = wamd_pace_now(t->d);
	bool scheduled = send_at > now;
	json_object_set_new(payload, "jid", json_string(jid));
	json_object_set_new(payload, "id", json_string(id));
	char *s = json_dumps(payload, JSON_COMPACT);
	if (!s)
		return WA_ENOMEM;
	wa_store_pace_row r = { .first = first, .created_ms = now, .not_before_ms = scheduled ? send_at : now };
	snprintf(r.key_id, sizeof r.key_id, "%s", id);
	snprintf(r.jid, sizeof r.jid, "%s", jid);
	struct pace_msg *m = calloc(1, sizeof *m);
	int rc = m ? wa_store_pace_put(t->d->store, t->id, &r, s, strlen(s), &m->seq) : WA_ENOMEM;
	free(s);
	if (rc == 0) {
		m->not_before = r.not_before_ms;
		m->first = first;
		m->scheduled = scheduled;
		m->jh = jid_hash(jid);
		rc = scheduled ? pace_inst_hold(in, m) : pace_inst_add(in, m);
		if (rc != 0 && wa_store_pace_delete(t->d->store, m->seq) != 0)
			LOGE("instance %s: a send not queued is still stored (it leaves after a restart)", t->name);
	}
	if (rc != 0) {
		free(m);
		return rc;
	}
	P->d->pace_stats.queued++;
	if (!scheduled)
		P->d->pace_stats.deferred++;
	inst_update(in, now);
	schedule();
	memcpy(id_out, id, sizeof id);
	return 0;
}

/* why an instance is paused (pace_signal pauses for this reason only) */
#define PAUSE_WHY "WhatsApp answered with rate-limit errors 3 times within 10 minutes"

void wamd_pace_signal(struct wamd_tenant *t, int code)
{
	struct pace_inst *in = inst_of(t);
	if (!in || !in->cfg.enabled)
		return;
	int64_t now = wamd_pace_now(t->d);
	bool paused = pace_signal(&in->st, now);
	P->d->pace_stats.throttled++;
	double f = pace_factor(&in->st, now);
	LOGW("instance %s: WhatsApp rate-limit signal (%d): limits x%.2f%s", t->name, code, f,
	     paused ? ", paused for 30 minutes" : "");
	json_t *ev = json_pack("{s:s, s:i, s:f, s:b}", "reason", paused ? "paused" : "throttled", "code", code,
			       "factor", f, "paused", paused);
	if (paused) {
		char iso[32];
		wamd_iso_time(in->st.paused_until_ms, iso);
		json_object_set_new(ev, "pausedUntil", json_string(iso));
		json_object_set_new(ev, "why", json_string(PAUSE_WHY));
	}
	wamd_emit(t, "PACING_UPDATE", ev);
	if (pace_inst_queued(in)) {
		inst_update(in, now);
		schedule();
	}
}

json_t *wamd_pace_info(struct wamd_tenant *t)
{
	struct pace_inst *in = inst_of(t);
	if (!in)
		return NULL;
	int64_t now = wamd_pace_now(t->d);
	json_t *o = pace_cfg_json(&in->cfg);
	json_t *st = json_pack("{s:I, s:I, s:I, s:I, s:I, s:f, s:I, s:I}",
		"queued", (json_int_t)pace_inst_queued(in),
		"sentLastMinute", (json_int_t)pace_win_count(&in->st.min, PACE_MIN_MS, now),
		"sentLastHour", (json_int_t)pace_win_count(&in->st.hour, PACE_HOUR_MS, now),
		"sentLastDay", (json_int_t)pace_win_count(&in->st.day, PACE_DAY_MS, now),
		"firstContactsLastDay", (json_int_t)pace_win_count(&in->st.first, PACE_DAY_MS, now),
		"factor", pace_factor(&in->st, now),
		"dayBudget", (json_int_t)pace_day_budget(&in->cfg, now),
		"pausedUntil", (json_int_t)(in->st.paused_until_ms > now ? in->st.paused_until_ms : 0));
	if (in->st.paused_until_ms > now)
		json_object_set_new(st, "pausedWhy", json_string(PAUSE_WHY));
	if (in->grp)
		json_object_set_new(st, "group", pace_group_json(in->grp, now));
	if (in->cfg.hours.n) {
		int64_t open = pace_hours_next(in, now);
		json_object_set_new(st, "hoursOpen", json_boolean(open <= now));
		if (open > now)
			json_object_set_new(st, "hoursOpenAtMs", json_integer(open));
	}
	json_object_set_new(o, "state", st);
	json_object_set_new(o, "nowMs", json_integer(now));
	return o;
}

int wamd_pace_configure(struct wamd_tenant *t, json_t *in_json, char *err, size_t errlen)
{
	struct pace_inst *in = inst_of(t);
	if (!in) {
		snprintf(err, errlen, "out of memory");
		return WA_ENOMEM;
	}
	struct pace_cfg c = in->cfg;
	if (!json_is_object(in_json) || pace_cfg_apply(&c, in_json, err, errlen) != 0) {
		if (!json_is_object(in_json))
			snprintf(err, errlen, "the body must be an object of pacing settings");
		return WA_EINVAL;
	}
	const struct wamd_tz *tz = c.hours.n ? pace_tz_of(c.tz) : NULL;
	if (c.hours.n && !tz) {
		snprintf(err, errlen, "businessHours: no time zone \"%s\" in the zoneinfo folder", c.tz);
		return WA_EINVAL;
	}
	json_t *doc = pace_cfg_json(&c);
	json_object_set_new(t->doc, "pacing", doc);
	int rc = wamd_tenant_save(t);
	if (rc != 0) {
		snprintf(err, errlen, "not saved: %s", wa_errname(rc));
		return rc;
	}
	struct pace_group *was = in->cfg.enabled ? in->grp : NULL;
	in->cfg = c; /* off: what is queued leaves now (its hours kept), in order */
	in->grp = pace_group_of(c.group);
	in->tz = tz;
	if (was != (c.enabled ? in->grp : NULL)) {
		/* its past sends move to the new group's windows at once (the
		 * rings keep no owner: both rebuilt from the store, as SIGHUP does) */
		notes_flush();
		shared_rebuild();
	}
	inst_update(in, wamd_pace_now(t->d));
	schedule();
	return 0;
}

int wamd_pace_cancel(struct wamd_tenant *t, const char *id, json_t **out)
{
	struct pace_inst *in = inst_of(t);
	if (!in)
		return WA_ENOMEM;
	wa_store *st = t->d->store;
	int64_t seq = 0;
	int rc = wa_store_pace_find(st, t->id, id, &seq);
	if (rc != 0)
		return rc; /* unknown, or it has left */
	int prc;
	json_t *p = wamd_pace_payload(t, seq, &prc);
	/* the store first: memory changes only once the row is gone */
	struct pace_msg *heir = pace_inst_heir(in, seq);
	rc = wa_store_begin(st);
	if (rc == 0) {
		rc = wa_store_pace_delete(st, seq);
		if (rc == 0 && heir)
			rc = wa_store_pace_set_first(st, heir->seq, true);
		if (rc == 0)
			rc = wa_store_commit(st);
		if (rc != 0)
			(void)wa_store_rollback(st);
	}
	if (rc != 0) {
		json_decref(p);
		return rc;
	}
	const char *jid = json_string_value(json_object_get(p, "jid"));
	bool typing = in->typing_seq == seq;
	struct pace_msg *promoted = NULL, *m = pace_inst_remove(in, seq, &promoted);
	if (m)
		P->d->pace_stats.queued--;
	else
		LOGW("instance %s: cancelled send %s was not in the pacing queue", t->name, id);
	if (typing && jid && wamd_tenant_presence(t, jid, "paused") != 0)
		LOGD("instance %s: paused not sent", t->name);
	wamd_pace_media_drop(t->d, p); /* a held file goes with its row */
	const char *job = json_string_value(json_object_get(p, "job"));
	if (job && J.left)
		J.left(t, job, id, false); /* its job goes on with the next recipient */
	json_t *o = json_pack("{s:b, s:s, s:s, s:s}", "cancelled", 1, "id", id, "remoteJid", jid ? jid : "", "kind",
			      json_string_value(json_object_get(p, "kind")) ? json_string_value(json_object_get(p, "kind")) : "");
	if (m && m->scheduled) {
		char iso[32];
		wamd_iso_time(m->not_before, iso);
		json_object_set_new(o, "sendAtMs", json_integer(m->not_before));
		json_object_set_new(o, "sendAt", json_string(iso));
	}
	wamd_emit(t, "PACING_CANCELLED", json_deep_copy(o));
	json_decref(p);
	free(m);
	inst_update(in, wamd_pace_now(t->d));
	schedule();
	*out = o;
	return 0;
}

int wamd_pace_clock_set(struct wamd *d, int64_t now_ms, json_t **released)
{
	(void)d;
	if (!P || !P->test_clock)
		return WA_ESTATE;
	P->released = json_array();
	run_until(now_ms, SIZE_MAX); /* until nothing is due by now_ms */
	if (now_ms > P->vnow)
		P->vnow = now_ms;
	*released = P->released;
	P->released = NULL;
	return 0;
}
