/* Bulk jobs (wamd_pace_bulk.c): one template with {{variables}}, a list of
 * recipients, sent through the instance's pacing queue one message at a
 * time, so the job goes at the pace the limits allow and the instance's
 * other sends interleave with it. Durable: a job's progress row and the
 * message it has in the queue survive a restart. */
#ifndef WAMD_PACE_BULK_H
#define WAMD_PACE_BULK_H

#include "wamd.h"

/* Creates a job from body (taken), {template, recipients: [number |
 * {number, variables}], sendAt?}: the body is read and every recipient
 * checked off the loop (wamd_pace_bulk_read.h), then the job's row is
 * stored and its recipients a batch per loop turn, each batch one
 * transaction, so a list of 100,000 does not hold the loop. c gets 400 for
 * a bad body (nothing stored), else 201 with the job (as
 * wamd_pace_bulk_get) once the last batch is stored (500 if one fails). A
 * client gone before its body is read leaves nothing; one gone later, a
 * job. 0: c is answered later; WA_ETOOBIG: WAMD_BULK_READS_MAX bodies are
 * being read (nothing answered); WA_ENOMEM. */
int wamd_pace_bulk_create(struct wamd_conn *c, struct wamd_tenant *t, char *body, size_t len);
/* The job with id, or every job of the instance ({jobs: [...]}); NULL for
 * an unknown id. */
json_t *wamd_pace_bulk_get(struct wamd_tenant *t, const char *id);
/* action: "pause", "resume" or "cancel". WA_ENOTFOUND (no such job),
 * WA_EINVAL (no such action), WA_ESTATE (the job is over). */
int wamd_pace_bulk_action(struct wamd_tenant *t, const char *id, const char *action, json_t **out);

/* Registers the jobs' side with pacing (wamd_pace_set_job_hooks); before
 * wamd_pace_init. */
void wamd_pace_bulk_init(void);

#endif
