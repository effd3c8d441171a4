/* The windows that several instances share (see wamd_pace_shared.h): the
 * daemon-wide limits over every instance's sends, and one set per tenant
 * group over the sends of the instances that name it. */
#include "wamd_pace_shared.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wa/store_pace.h"

static struct {
	bool global;
	struct pace_cfg gcfg;
	struct pace_state gst;
	struct pace_group **groups;
	size_t n_groups;
	struct pace_group_limits *glim; /* pace_groups, parsed */
	size_t n_glim;
	struct zone {
		char name[WAMD_TZ_NAME_MAX + 1];
		struct wamd_tz *tz;
	} *zones; /* the business hours' zones, each read once */
	size_t n_zones;
	bool dirty; /* another node's send counted: ready times to redo */
} S;

static struct wamd_pace_cluster_hooks H; /* cluster mode (unset: one node) */

void wamd_pace_set_cluster_hooks(const struct wamd_pace_cluster_hooks *h)
{
	if (h)
		H = *h;
	else
		memset(&H, 0, sizeof H);
}

const struct wamd_tz *pace_tz_of(const char *name)
{
	for (size_t i = 0; i < S.n_zones; i++)
		if (!strcmp(S.zones[i].name, name))
			return S.zones[i].tz;
	struct zone *v = realloc(S.zones, (S.n_zones + 1) * sizeof *v);
	if (!v)
		return NULL;
	S.zones = v;
	struct wamd_tz *tz = wamd_tz_load(name); /* a small local file, once per zone */
	if (!tz)
		return NULL;
	snprintf(v[S.n_zones].name, sizeof v[S.n_zones].name, "%s", name);
	v[S.n_zones++].tz = tz;
	return tz;
}

int64_t pace_global_next(int64_t now)
{
	return S.global ? pace_next(&S.gcfg, &S.gst, false, now) : now;
}

bool wamd_pace_global(const struct pace_cfg **cfg, const struct pace_state **st)
{
	*cfg = &S.gcfg;
	*st = &S.gst;
	return S.global;
}

void pace_shared_record(struct pace_inst *in, int64_t now)
{
	if (!in->cfg.enabled)
		return; /* an instance with pacing off is outside them */
	if (S.global && pace_record(&S.gcfg, &S.gst, false, now, 0) != 0)
		LOGE("pacing: a send not recorded in the daemon-wide windows");
	if (in->grp && pace_record(&in->grp->cfg, &in->grp->st, false, now, 0) != 0)
		LOGE("pacing: a send not recorded in group %s's windows", in->grp->name);
	/* cluster: the other nodes count it too (each node has the same limits) */
	if (H.sent && (S.global || (in->grp && in->grp->cfg.enabled)))
		H.sent(in->t->d, in->grp && in->grp->cfg.enabled ? in->grp->name : "", now);
}

bool pace_shared_dirty_take(void)
{
	bool was = S.dirty;
	S.dirty = false;
	return was;
}

void pace_shared_remote(const char *group, int64_t at)
{
	bool any = false;
	if (S.global) {
		if (pace_record_shared(&S.gcfg, &S.gst, at) != 0)
			LOGE("pacing: another node's send not recorded in the cluster-wide windows");
		any = true;
	}
	struct pace_group *g = *group ? pace_group_of(group) : NULL;
	if (g && g->cfg.enabled) {
		if (pace_record_shared(&g->cfg, &g->st, at) != 0)
			LOGE("pacing: another node's send not recorded in group %s's windows", g->name);
		any = true;
	}
	S.dirty = S.dirty || any;
}

/* a group's limits from pace_groups (none when it does not name it) */
static void group_set_limits(struct pace_group *g)
{
	struct pace_cfg c = { 0 };
	for (size_t i = 0; i < S.n_glim; i++)
		if (!strcmp(S.glim[i].name, g->name)) {
			c.per_min = S.glim[i].per_min;
			c.per_hour = S.glim[i].per_hour;
			c.per_day = S.glim[i].per_day;
		}
	c.enabled = c.per_min || c.per_hour || c.per_day;
	g->cfg = c;
}

struct pace_group *pace_group_of(const char *name)
{
	if (!*name)
		return NULL;
	for (size_t i = 0; i < S.n_groups; i++)
		if (!strcmp(S.groups[i]->name, name))
			return S.groups[i];
	struct pace_group **v = realloc(S.groups, (S.n_groups + 1) * sizeof *v);
	if (!v)
		return NULL;
	S.groups = v;
	struct pace_group *g = calloc(1, sizeof *g);
	if (!g)
		return NULL;
	snprintf(g->name, sizeof g->name, "%s", name);
	group_set_limits(g);
	S.groups[S.n_groups++] = g;
	return g;
}

int pace_shared_config(const struct wamd_config *cfg, char *err, size_t errlen)
{
	struct pace_group_limits *gl = NULL;
	size_t ngl = 0;
	if (pace_groups_parse(cfg->pace_groups, &gl, &ngl, err, errlen) != 0)
		return WA_EINVAL;
	free(S.glim);
	S.glim = gl;
	S.n_glim = ngl;
	for (size_t i = 0; i < S.n_groups; i++)
		group_set_limits(S.groups[i]);
	S.global = cfg->pace_daemon_per_minute || cfg->pace_daemon_per_hour || cfg->pace_daemon_per_day;
	S.gcfg = (struct pace_cfg){ .enabled = true, .per_min = (uint32_t)cfg->pace_daemon_per_minute,
				    .per_hour = (uint32_t)cfg->pace_daemon_per_hour,
				    .per_day = (uint32_t)cfg->pace_daemon_per_day };
	return 0;
}

/* ---- the windows from the store's last day of sends ---- */

struct by_id {
	int64_t id;
	struct pace_group *grp; /* NULL: in none, or its pacing is off */
};

static int by_id_cmp(const void *a, const void *b)
{
	const struct by_id *x = a, *y = b;
	return (x->id > y->id) - (x->id < y->id);
}

struct rebuild {
	struct by_id *v;
	size_t n, cap;
};

static void rebuild_add(struct rebuild *r, int64_t id, struct pace_group *grp)
{
	if (r->n == r->cap) {
		size_t nc = r->cap ? r->cap * 2 : 64;
		struct by_id *v = realloc(r->v, nc * sizeof *v);
		if (!v)
			return; /* its sends count in no group */
		r->v = v;
		r->cap = nc;
	}
	r->v[r->n++] = (struct by_id){ .id = id, .grp = grp };
}

/* cluster: another node's instance, by the pacing settings in its document */
static bool add_other(void *arg, struct wamd_tenant *t)
{
	if (!t->peeked)
		return true; /* this node's: added from its pacing state */
	struct pace_cfg c;
	pace_cfg_defaults(&c);
	c.enabled = t->d->cfg.pacing;
	json_t *doc = json_object_get(t->doc, "pacing");
	char err[160];
	if (json_is_object(doc) && pace_cfg_apply(&c, doc, err, sizeof err) != 0)
		return true;
	if (c.enabled && c.group[0])
		rebuild_add(arg, t->id, pace_group_of(c.group));
	return true;
}

static int load_one(void *arg, int64_t instance_id, int64_t sent_ms)
{
	struct rebuild *r = arg;
	int rc = S.global ? pace_record(&S.gcfg, &S.gst, false, sent_ms, 0) : 0;
	struct by_id key = { .id = instance_id };
	struct by_id *e = r->n ? bsearch(&key, r->v, r->n, sizeof *r->v, by_id_cmp) : NULL;
	if (rc == 0 && e && e->grp)
		rc = pace_record(&e->grp->cfg, &e->grp->st, false, sent_ms, 0);
	return rc;
}

void pace_shared_rebuild(struct wamd *d, int64_t since_ms)
{
	pace_state_free(&S.gst);
	memset(&S.gst, 0, sizeof S.gst);
	bool any = S.global;
	for (size_t i = 0; i < S.n_groups; i++) {
		pace_state_free(&S.groups[i]->st);
		memset(&S.groups[i]->st, 0, sizeof S.groups[i]->st);
		any = any || S.groups[i]->cfg.enabled;
	}
	if (!any && !S.n_glim)
		return; /* the rings keep nothing without a limit */
	/* each row's instance by id, to its group now */
	struct rebuild r = { 0 };
	for (struct wamd_tenant *t = d->tenants; t; t = t->next)
		if (t->pace)
			rebuild_add(&r, t->id, t->pace->cfg.enabled ? t->pace->grp : NULL);
	/* cluster: every node's instances (one read of each other one's
	 * document, at start and on SIGHUP) */
	if (H.each && S.n_glim && H.each(d, add_other, &r) != 0)
		LOGW("pacing: the groups of other nodes' instances not all read");
	if (r.n)
		qsort(r.v, r.n, sizeof *r.v, by_id_cmp);
	if (wa_store_pace_sent_since(d->store, since_ms, load_one, &r) != 0)
		LOGW("pacing: the daemon-wide and group windows not fully rebuilt");
	free(r.v);
}

json_t *pace_group_json(const struct pace_group *g, int64_t now)
{
	return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "name", g->name, "perMinute", (json_int_t)g->cfg.per_min,
			 "perHour", (json_int_t)g->cfg.per_hour, "perDay", (json_int_t)g->cfg.per_day,
			 "sentLastMinute", (json_int_t)pace_win_count(&g->st.min, PACE_MIN_MS, now),
			 "sentLastHour", (json_int_t)pace_win_count(&g->st.hour, PACE_HOUR_MS, now),
			 "sentLastDay", (json_int_t)pace_win_count(&g->st.day, PACE_DAY_MS, now));
}

void pace_shared_free(void)
{
	pace_state_free(&S.gst);
	for (size_t i = 0; i < S.n_groups; i++) {
		pace_state_free(&S.groups[i]->st);
		free(S.groups[i]);
	}
	free(S.groups);
	free(S.glim);
	for (size_t i = 0; i < S.n_zones; i++)
		wamd_tz_free(S.zones[i].tz);
	free(S.zones);
	memset(&S, 0, sizeof S);
}
