/* The windows several instances share (wamd_pace_shared.c): the
 * daemon-wide limits (pace_daemon_per_*) over the sends of every instance
 * whose pacing is on, and one window set per tenant group (an instance's
 * "group" setting; limits from the daemon setting pace_groups, none for a
 * group it does not name) over the sends of the instances naming it.
 * wamd_pace.c asks them before a send and records each send in them. */
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
/* The group named name ("": none), created on first use; NULL without memory. */
struct pace_group *pace_group_of(const char *name);
/* The zone named name, read from the zoneinfo folder once; NULL when
 * there is no such zone. */
const struct wamd_tz *pace_tz_of(const char *name);
/* A group's limits and its sends in each window (GET /wamd/pace's state.group). */
json_t *pace_group_json(const struct pace_group *g, int64_t now);

#endif
