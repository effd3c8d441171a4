/* The windows several instances share (wamd_pace_shared.c): the
 * daemon-wide limits (pace_daemon_per_*) over the sends of every instance
 * whose pacing is on, and one window set per tenant group (an instance's
 * "group" setting; limits from the daemon setting pace_groups, none for a
 * group it does not name) over the sends of the instances naming it.
 * wamd_pace.c asks them before a send and records each send in them. In
 * cluster mode each node sends the others its sends in them (NOTIFY,
 * wamd_cluster_relay.c) and records theirs: the windows count the sends
 * of every node. */
#ifndef WAMD_PACE_SHARED_H
#define WAMD_PACE_SHARED_H

#include "wamd.h"
#include "wamd_pace_sched.h"

/* The limits from cfg (at start, and on SIGHUP); WA_EINVAL with err when
 * pace_groups does not parse (nothing changed then). */
int pace_shared_config(const struct wamd_config *cfg, char *err, size_t errlen);
/* Every window emptied and refilled from the store's sends after
 * since_ms, each by its instance's group now (d's tenants with pacing
 * state). The caller recomputes the instances' ready times. */
void pace_shared_rebuild(struct wamd *d, int64_t since_ms);
void pace_shared_free(void);
/* The daemon-wide limits and windows; false when they are off. */
bool wamd_pace_global(const struct pace_cfg **cfg, const struct pace_state **st);
/* The earliest time >= now the daemon-wide windows allow a send. */
int64_t pace_global_next(int64_t now);
/* A send of in at now, in the daemon-wide and its group's windows (not
 * when its pacing is off). */
void pace_shared_record(struct pace_inst *in, int64_t now);
/* Cluster mode (set by wamd_cluster.c while it runs, NULL clears): sent
 * tells the other nodes of a send counted in the daemon-wide or group
 * ("": none) windows; each visits every stored instance, this node's and
 * the others' (wamd_cluster_each), for the windows' rebuild. */
struct wamd_pace_cluster_hooks {
	void (*sent)(struct wamd *d, const char *group, int64_t at);
	int (*each)(struct wamd *d, bool (*fn)(void *arg, struct wamd_tenant *t), void *arg);
};
void wamd_pace_set_cluster_hooks(const struct wamd_pace_cluster_hooks *h);
/* Cluster: another node's send at at (ms, its pacing clock) of an
 * instance in group ("": none) recorded in this node's daemon-wide and
 * group windows (then wamd_pace_shared_settle). */
void pace_shared_remote(const char *group, int64_t at);
/* true once after pace_shared_remote counted a send */
bool pace_shared_dirty_take(void);
/* The group named name ("": none), created on first use; NULL without memory. */
struct pace_group *pace_group_of(const char *name);
/* The zone named name, read from the zoneinfo folder once; NULL when
 * there is no such zone. */
const struct wamd_tz *pace_tz_of(const char *name);
/* A group's limits and its sends in each window (GET /wamd/pace's state.group). */
json_t *pace_group_json(const struct pace_group *g, int64_t now);

#endif
