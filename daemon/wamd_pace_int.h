/* Between wamd_pace.c and the files that read its state (wamd_pace_queue.c). */
#ifndef WAMD_PACE_INT_H
#define WAMD_PACE_INT_H

#include "wamd.h"
#include "wamd_pace_sched.h"

/* The instance's pacing state (created when first used), NULL without memory. */
struct pace_inst *wamd_pace_inst(struct wamd_tenant *t);
/* A queued send's payload (NULL with *rc set when unreadable). */
json_t *wamd_pace_payload(struct wamd_tenant *t, int64_t seq, int *rc);

#endif
