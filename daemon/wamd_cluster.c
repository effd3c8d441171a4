/* Cluster mode: several wamd nodes on one PostgreSQL store, each instance
 * driven by the one node holding its lease (wa/store_cluster.h).
 *
 * A node joins with a token new at every start (so a node restarted under
 * the same node_id is a new owner), takes its fair share of the free
 * leases, and starts only those sessions. A timer on the loop renews them
 * every lease/3 and takes free ones (a dead node's, once expired), each a
 * single statement. A lease the renewal no longer returns, or returns with
 * another epoch, was taken: that session stops at once. The database
 * fences every write of an instance whose lease this node does not hold
 * (migration 0011's trigger), so a node paused past its lease writes
 * nothing after it wakes, even before its timer runs; a refused write
 * makes the timer renew at once. SIGTERM stops the sessions, then gives
 * every lease up so the other nodes take them at their next turn.
 *
 * Any node answers reads of any instance from the database: the owner
 * writes each change of an instance's connection state beside its lease,
 * and a node without the instance answers from a peeked copy (its stored
 * document, that state). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wa/store_cluster.h"
#include "wamd.h"
#include "wamd_cluster.h"
#include "wamd_cluster_int.h"
#include "wamd_pace.h"
#include "wamd_pace_shared.h"

#define CHECK_US (250 * 1000) /* how often the fence counter is looked at */
#define TAKE_MAX 16           /* leases taken per turn by a node live less than a lease */
#define TAKE_MAX_SETTLED 512  /* ... and at most this many by one live longer */
#define TAKE_SPREAD_MS 1000   /* first connects of those taken, spread at least this long */
#define LOST_LEASES 3         /* renewals failing this many leases long: the node stops */
#define SHED_MAX 8            /* leases handed over per turn when above the fair share */

static int64_t mono_ms(void)
{
	return wamd_mono_ns() / 1000000;
}

struct wamd_tenant *wamd_cluster_by_id(struct wamd *d, int64_t id)
{
	for (struct wamd_tenant *t = d->tenants; t; t = t->next)
		if (t->id == id)
			return t;
	return NULL;
}

static void drop(struct wamd_tenant *t, const char *why)
{
	LOGW("cluster: instance %s (lease epoch %" PRId64 ") %s: its session stops here", t->name, t->lease_epoch,
	     why);
	wamd_tenant_detach(t);
}

/* Renews; stops every local session whose lease is not returned as held
 * at the same epoch. false when the database did not answer. */
static bool renew(struct wamd_cluster *k)
{
	struct wamd *d = k->d;
	int64_t t0 = mono_ms();
	wa_store_lease *held = NULL;
	size_t n = 0;
	int rc = wa_store_cluster_renew(d->store, k->token, k->lease_ms, &held, &n);
	if (rc != 0) {
		LOGW("cluster: lease renewal failed: %s (%s)", wa_errname(rc), wa_store_errmsg(d->store));
		if (t0 - k->last_ok_ms >= k->lease_ms) {
			/* another node may hold them now: drive none of them */
			while (d->tenants)
				drop(d->tenants, "lost: no renewal within the lease time");
		}
		if (t0 - k->last_ok_ms >= LOST_LEASES * k->lease_ms && !d->stop) {
			/* the connection is not coming back (the server ended it):
			 * a supervisor's restart makes this a node again */
			LOGE("cluster: no answer from the database for %" PRId64 " s: stopping", (t0 - k->last_ok_ms) / 1000);
			d->exit_code = 1;
			d->stop = 1;
		}
		return false;
	}
	if (t0 - k->last_ok_ms >= k->lease_ms)
		k->live_since_ms = t0; /* back from a stall: counted again from now */
	k->last_ok_ms = t0;
	struct wamd_tenant *next;
	for (struct wamd_tenant *t = d->tenants; t; t = next) {
		next = t->next;
		bool ok = false;
		for (size_t i = 0; i < n && !ok; i++)
			ok = held[i].instance_id == t->id && held[i].epoch == t->lease_epoch;
		if (!ok)
			drop(t, "lost its lease to another node");
	}
	/* a lease held without its session here (giving it up failed): give it up */
	for (size_t i = 0; i < n; i++)
		if (!wamd_cluster_by_id(d, held[i].instance_id) && wa_store_cluster_release(d->store, k->token, held[i].instance_id) != 0)
			LOGW("cluster: giving up the lease of instance id %" PRId64 " failed", held[i].instance_id);
	free(held);
	return true;
}

struct taken {
	const wa_store_lease *v;
	size_t n;
	bool start; /* start each session now (else wamd_boot_start will) */
	uint32_t spread_ms;
};

static bool taken_want(void *arg, int64_t id)
{
	struct taken *tk = arg;
	for (size_t i = 0; i < tk->n; i++)
		if (tk->v[i].instance_id == id)
			return true;
	return false;
}

static void taken_loaded(void *arg, struct wamd_tenant *t)
{
	struct taken *tk = arg;
	for (size_t i = 0; i < tk->n; i++)
		if (tk->v[i].instance_id == t->id)
			t->lease_epoch = tk->v[i].epoch;
	LOGI("cluster: took instance %s (lease epoch %" PRId64 ")", t->name, t->lease_epoch);
	if (!tk->start)
		return;
	wamd_pace_tenant_loaded(t); /* its held sends go on from here */
	/* through the handshake gate like every connect */
	int rc = wamd_tenant_start_spread(t, tk->spread_ms);
	if (rc != 0)
		LOGW("instance %s: session start failed: %s", t->name, wa_errname(rc));
	wamd_webhook_kick(t);
}

/* How many leases a turn may take. A node live for a whole lease has seen
 * the heartbeat of every node counted in its share, so it takes what it
 * needs (a dead node's instances) at a restart's pace: as many as the
 * start spread (startup_spread_per_instance_ms each) fits in a turn, their
 * first connects spread like a restart's and gated by max_handshakes. A
 * node just started takes TAKE_MAX a turn: the others starting with it may
 * not have written their heartbeat yet, and it would take their share. */
static size_t take_max(const struct wamd_cluster *k)
{
	long per = k->d->cfg.startup_spread_per_instance_ms;
	if (mono_ms() - k->live_since_ms < k->lease_ms || per <= 0)
		return TAKE_MAX;
	int64_t fit = k->lease_ms / 3 / per;
	return fit < TAKE_MAX ? TAKE_MAX : fit > TAKE_MAX_SETTLED ? TAKE_MAX_SETTLED : (size_t)fit;
}

static void take(struct wamd_cluster *k, bool start)
{
	struct wamd *d = k->d;
	wa_store_lease *got = NULL;
	size_t n = 0;
	int rc = wa_store_cluster_acquire(d->store, k->node, k->token, k->lease_ms, take_max(k), &got, &n);
	if (rc != 0) {
		LOGW("cluster: taking leases failed: %s (%s)", wa_errname(rc), wa_store_errmsg(d->store));
		return;
	}
	if (n == 0) {
		free(got);
		return;
	}
	/* one of them still here (its stop left it behind): it is ours again */
	uint64_t spread = (uint64_t)n * (uint64_t)(d->cfg.startup_spread_per_instance_ms > 0 ? d->cfg.startup_spread_per_instance_ms : 0);
	if (spread > (uint64_t)d->cfg.startup_spread_max_ms)
		spread = (uint64_t)d->cfg.startup_spread_max_ms;
	struct taken tk = { got, n, start, spread < TAKE_SPREAD_MS ? TAKE_SPREAD_MS : (uint32_t)spread };
	for (size_t i = 0; i < n; i++) {
		struct wamd_tenant *t = wamd_cluster_by_id(d, got[i].instance_id);
		if (t)
			drop(t, "came back under a new lease");
	}
	rc = wamd_tenant_load_some(d, taken_want, taken_loaded, &tk);
	if (rc != 0)
		LOGE("cluster: loading taken instances failed: %s", wa_errname(rc));
	free(got);
}

/* Rebalancing: a node holding more than its fair share among the settled
 * nodes (a node joined, or came back, and has been live for a lease: a
 * node that keeps stalling is not given instances back at each wake)
 * hands the excess over, at most SHED_MAX a turn, each as SIGTERM does:
 * its session stops, then its lease is given up, and the node below its
 * share takes it at its next turn (through its handshake gate). The most
 * recently taken paired ones go first; one still to be paired stays (its
 * QR was given out here). This node never takes above its share, so a
 * lease it gave up goes elsewhere. */
static void shed(struct wamd_cluster *k)
{
	struct wamd *d = k->d;
	int64_t total = 0, nodes = 0;
	int rc = wa_store_cluster_counts(d->store, k->lease_ms, &total, &nodes);
	if (rc != 0) {
		LOGW("cluster: counting the nodes failed: %s", wa_errname(rc));
		return;
	}
	if (nodes < 1)
		nodes = 1;
	int64_t share = (total + nodes - 1) / nodes, mine = 0;
	for (struct wamd_tenant *t = d->tenants; t; t = t->next)
		mine++;
	for (int64_t n = 0; mine > share && n < SHED_MAX; n++, mine--) {
		/* never one still to be paired: its QR was given out by this node */
		struct wamd_tenant *last = NULL;
		for (struct wamd_tenant *t = d->tenants; t; t = t->next)
			if (wamd_tenant_is_paired(t))
				last = t;
		if (!last)
			return;
		int64_t id = last->id;
		char name[WA_STORE_NAME_MAX];
		snprintf(name, sizeof name, "%s", last->name);
		LOGI("cluster: instance %s: handed over (this node holds %" PRId64 " of %" PRId64
		     " instances, %" PRId64 " node(s) settled)", name, mine, total, nodes);
		wamd_pace_flush(); /* its last sends count in the new owner's windows */
		wamd_tenant_detach(last); /* its session stops before the lease goes */
		rc = wa_store_cluster_release(d->store, k->token, id);
		if (rc != 0) /* it expires instead; this node no longer renews it */
			LOGW("cluster: instance %s: giving its lease up failed: %s", name, wa_errname(rc));
	}
}

static void turn(struct wamd_cluster *k)
{
	k->next_turn_ms = mono_ms() + k->lease_ms / 3;
	if (renew(k) && !k->draining) {
		shed(k);
		take(k, true);
		k->relay_due = true; /* a missed notification costs a turn at most */
	}
}

static void on_timer(lws_sorted_usec_list_t *sul)
{
	struct wamd_cluster *k = lws_container_of(sul, struct wamd_cluster, sul);
	if (k->d->stop)
		return; /* shutting down: take nothing more (wamd_cluster_stop releases) */
	int64_t fenced = wa_store_cluster_fenced(k->d->store);
	if (fenced != k->fenced_seen) {
		LOGW("cluster: the database refused %" PRId64 " write(s) of an instance not leased to this node",
		     fenced - k->fenced_seen);
		k->fenced_seen = fenced;
		turn(k);
	} else if (mono_ms() >= k->next_turn_ms) {
		turn(k);
	}
	wamd_cluster_relay_poll(k);
	lws_sul_schedule(k->d->ctx, 0, &k->sul, on_timer, CHECK_US);
}

static int claim(struct wamd *d, int64_t instance_id, int64_t *epoch);

int wamd_cluster_start(struct wamd *d)
{
	struct wamd_cluster *k = calloc(1, sizeof *k);
	if (!k)
		return -1;
	k->d = d;
	k->lease_ms = (d->cfg.lease_seconds ? d->cfg.lease_seconds : WAMD_LEASE_DEFAULT_S) * 1000;
	if (d->cfg.node_id && *d->cfg.node_id) {
		snprintf(k->node, sizeof k->node, "%s", d->cfg.node_id);
	} else {
		char host[64] = "";
		if (gethostname(host, sizeof host) != 0 || !host[0])
			snprintf(host, sizeof host, "wamd");
		host[sizeof host - 1] = '\0';
		snprintf(k->node, sizeof k->node, "%s-%ld", host, (long)getpid());
	}
	char uuid[37];
	if (wamd_random_uuid(uuid) != 0) {
		free(k);
		return -1;
	}
	snprintf(k->token, sizeof k->token, "%.80s/%s", k->node, uuid); /* a new owner at every start */
	int rc = wa_store_cluster_join(d->store, k->node, k->token, k->lease_ms);
	if (rc != 0) {
		LOGE("cluster: joining failed: %s (%s)", wa_errname(rc), wa_store_errmsg(d->store));
		free(k);
		return -1;
	}
	if (wamd_cluster_relay_start(k) != 0) {
		free(k);
		return -1;
	}
	d->cluster = k;
	d->cluster_claim = claim;
	/* the shared pacing windows count every node's sends */
	wamd_pace_set_cluster_hooks(&(struct wamd_pace_cluster_hooks){ .sent = wamd_cluster_pace_sent,
									.each = wamd_cluster_each });
	k->last_ok_ms = mono_ms();
	k->live_since_ms = k->last_ok_ms;
	k->fenced_seen = wa_store_cluster_fenced(d->store);
	k->next_turn_ms = mono_ms() + k->lease_ms / 3;
	take(k, false); /* wamd_boot_start starts these */
	size_t n = 0;
	for (struct wamd_tenant *t = d->tenants; t; t = t->next)
		n++;
	LOGI("cluster: node %s joined (lease %" PRId64 " s), %zu instance(s) taken", k->node, k->lease_ms / 1000, n);
	lws_sul_schedule(d->ctx, 0, &k->sul, on_timer, CHECK_US);
	k->timer = true;
	return 0;
}

void wamd_cluster_stop(struct wamd *d)
{
	struct wamd_cluster *k = d->cluster;
	if (!k)
		return;
	if (k->timer)
		lws_sul_cancel(&k->sul);
	wamd_cluster_relay_stop(k);
	int rc = wa_store_cluster_release(d->store, k->token, -1);
	if (rc != 0)
		LOGW("cluster: giving the leases up failed: %s (they expire in %" PRId64 " s)", wa_errname(rc),
		     k->lease_ms / 1000);
	else
		LOGI("cluster: node %s gave its leases up", k->node);
	d->cluster = NULL;
	d->cluster_claim = NULL;
	free(k);
}

void wamd_cluster_drain(struct wamd *d, bool on)
{
	struct wamd_cluster *k = d->cluster;
	if (!k || k->draining == on)
		return;
	if (!on) {
		/* a node again: its heartbeat back, so the others shed to it once it settled */
		int rc = wa_store_cluster_join(d->store, k->node, k->token, k->lease_ms);
		if (rc != 0) {
			LOGW("cluster: undrain: the heartbeat not written: %s (the next turn renews it)", wa_errname(rc));
			return;
		}
		k->draining = false;
		k->next_turn_ms = mono_ms() + k->lease_ms / 3;
		k->live_since_ms = mono_ms();
		LOGI("cluster: node %s undrained: takes its share again", k->node);
		return;
	}
	k->draining = true;
	/* as SIGTERM: each session stops before the leases go, its last sends written */
	wamd_pace_flush();
	size_t n = 0;
	while (d->tenants) {
		LOGI("cluster: instance %s: handed over (drain)", d->tenants->name);
		wamd_tenant_detach(d->tenants);
		n++;
	}
	/* every lease and the heartbeat: the others count this node out */
	int rc = wa_store_cluster_release(d->store, k->token, -1);
	if (rc != 0)
		LOGW("cluster: drain: giving the leases up failed: %s (they expire in %" PRId64 " s)", wa_errname(rc),
		     k->lease_ms / 1000);
	LOGI("cluster: node %s drained: %zu instance(s) handed over, none taken until undrained", k->node, n);
}

struct info {
	wa_store_instance_info *list; /* ordered by id (wa_store_instance_list) */
	size_t n;
	json_t *owners, *counts;
};

static int by_id_cmp(const void *a, const void *b);

static int info_fn(void *arg, int64_t id, const char *node, const char *state)
{
	(void)state;
	struct info *in = arg;
	wa_store_instance_info key = { .id = id };
	const wa_store_instance_info *i = bsearch(&key, in->list, in->n, sizeof *in->list, by_id_cmp);
	if (!i)
		return 0; /* created after the list was read */
	json_object_set_new(in->owners, i->name, *node ? json_string(node) : json_null());
	if (*node)
		json_object_set_new(in->counts, node, json_integer(json_integer_value(json_object_get(in->counts, node)) + 1));
	return 0;
}

json_t *wamd_cluster_info(struct wamd *d)
{
	struct wamd_cluster *k = d->cluster;
	if (!k)
		return NULL;
	struct info in = { .owners = json_object(), .counts = json_object() };
	int rc = wa_store_instance_list(d->store, &in.list, &in.n);
	if (rc == 0)
		rc = wa_store_cluster_states(d->store, -1, info_fn, &in);
	free(in.list);
	if (rc != 0) {
		json_decref(in.owners);
		json_decref(in.counts);
		return NULL;
	}
	json_t *mine = json_array();
	for (struct wamd_tenant *t = d->tenants; t; t = t->next)
		json_array_append_new(mine, json_string(t->name));
	return json_pack("{s:s, s:b, s:I, s:o, s:o, s:o}", "node", k->node, "draining", k->draining, "leaseSeconds",
			 (json_int_t)(k->lease_ms / 1000), "instances", mine, "nodes", in.counts, "owners", in.owners);
}

static int claim(struct wamd *d, int64_t instance_id, int64_t *epoch)
{
	struct wamd_cluster *k = d->cluster;
	return wa_store_cluster_claim(d->store, instance_id, k->node, k->token, k->lease_ms, epoch);
}

int wamd_cluster_owner(struct wamd *d, const char *name, char *node, size_t len)
{
	char who[WA_STORE_NODE_MAX];
	int rc = wa_store_cluster_owner(d->store, name, who);
	if (rc == 0)
		snprintf(node, len, "%s", who);
	return rc;
}

void wamd_cluster_note_state(struct wamd_tenant *t, const char *state)
{
	struct wamd_cluster *k = t->d->cluster;
	if (!k)
		return;
	int rc = wa_store_cluster_set_state(t->d->store, k->token, t->id, state);
	if (rc != 0)
		LOGW("cluster: instance %s: its state not written for the other nodes: %s", t->name, wa_errname(rc));
}

static void set_peeked_state(struct wamd_tenant *t, const char *state)
{
	/* the three words of wamd_tenant_state_str, back */
	t->state = !strcmp(state, "open")	  ? WA_CONN_READY
		   : !strcmp(state, "connecting") ? WA_CONN_CONNECTING
						  : WA_CONN_DISCONNECTED;
}

struct peek_one {
	char state[WA_STORE_CONN_STATE_MAX];
	bool found;
};

static int peek_one_fn(void *arg, int64_t id, const char *node, const char *state)
{
	(void)id;
	(void)node;
	struct peek_one *p = arg;
	snprintf(p->state, sizeof p->state, "%s", state);
	p->found = true;
	return 0;
}

struct wamd_tenant *wamd_cluster_peek(struct wamd *d, const char *name)
{
	int64_t id = 0;
	if (!d->cluster || wa_store_instance_find(d->store, name, &id) != 0)
		return NULL;
	struct peek_one p = { .found = false };
	if (wa_store_cluster_states(d->store, id, peek_one_fn, &p) != 0 || !p.found)
		return NULL;
	struct wamd_tenant *t = wamd_tenant_peek(d, id, name);
	if (t)
		set_peeked_state(t, p.state);
	return t;
}

struct each {
	struct wamd *d;
	wa_store_instance_info *list; /* ordered by id (wa_store_instance_list) */
	size_t n;
	bool (*fn)(void *arg, struct wamd_tenant *t);
	void *arg;
};

static int by_id_cmp(const void *a, const void *b)
{
	int64_t x = ((const wa_store_instance_info *)a)->id, y = ((const wa_store_instance_info *)b)->id;
	return x < y ? -1 : x > y;
}

static int each_fn(void *arg, int64_t id, const char *node, const char *state)
{
	(void)node;
	struct each *e = arg;
	struct wamd_tenant *t = wamd_cluster_by_id(e->d, id);
	if (t)
		return e->fn(e->arg, t) ? 0 : 1;
	wa_store_instance_info key = { .id = id };
	const wa_store_instance_info *info = bsearch(&key, e->list, e->n, sizeof *e->list, by_id_cmp);
	if (!info)
		return 0; /* created after the list was read */
	t = wamd_tenant_peek(e->d, id, info->name);
	if (!t)
		return WA_ENOMEM;
	set_peeked_state(t, state);
	bool more = e->fn(e->arg, t);
	wamd_tenant_peek_free(t);
	return more ? 0 : 1;
}

int wamd_cluster_each(struct wamd *d, bool (*fn)(void *arg, struct wamd_tenant *t), void *arg)
{
	struct each e = { .d = d, .fn = fn, .arg = arg };
	int rc = wa_store_instance_list(d->store, &e.list, &e.n);
	if (rc != 0)
		return rc;
	rc = wa_store_cluster_states(d->store, -1, each_fn, &e);
	free(e.list);
	return rc == 1 ? 0 : rc;
}
