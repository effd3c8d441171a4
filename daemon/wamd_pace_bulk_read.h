/* A bulk job's request body read off the event loop (wamd_pace_bulk_read.c):
 * the JSON of up to 100,000 recipients parsed and every recipient checked
 * by a worker thread, which hands the loop a plain list (each recipient's
 * JID and its variables as JSON text) and wakes it with lws_cancel_service.
 * The thread sees only the body's bytes and its own JSON: no session, store
 * or lws object. At most WAMD_BULK_READS_MAX bodies are queued or read at
 * once (each holds its body, up to 32 MiB). */
#ifndef WAMD_PACE_BULK_READ_H
#define WAMD_PACE_BULK_READ_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct lws_context;

#define WAMD_BULK_MAX_RECIPIENTS 100000
#define WAMD_BULK_READS_MAX 4

struct wamd_bulk_list {
	int status;      /* 0: read; 400: a bad body (err says why); 500: out of memory */
	char err[200];
	char *tpl;       /* the template */
	int64_t send_at; /* the body's "sendAt" (wamd_send_at_parse; 0: none), its horizon the caller's to check */
	size_t n;
	/* recipient i: its JID at buf + off[i], its NUL, then its variables
	 * as compact JSON text ("{}" for none) and a NUL */
	char *buf;
	size_t *off;
};

/* Reads {template, recipients: [number | {number, variables}], sendAt?}:
 * every recipient's number is normalized and the template rendered with
 * its variables once (a variable it names missing: 400 naming the
 * recipient); a bad "sendAt" is 400 too. halt (may be NULL) set: stops early with status 500. Pure:
 * no I/O. Free with wamd_bulk_list_free. */
void wamd_bulk_list_read(const char *body, size_t len, struct wamd_bulk_list *l, const atomic_bool *halt);
void wamd_bulk_list_free(struct wamd_bulk_list *l);
/* recipient i's JID and variables (JSON text) */
static inline const char *wamd_bulk_list_jid(const struct wamd_bulk_list *l, size_t i)
{
	return l->buf + l->off[i];
}
static inline const char *wamd_bulk_list_vars(const struct wamd_bulk_list *l, size_t i)
{
	const char *j = l->buf + l->off[i];
	return j + strlen(j) + 1;
}

/* template with each {{name}} replaced by vars' value (a string or a
 * number); NULL with *missing set to the first name vars lacks ("" when
 * out of memory) */
char *wamd_bulk_render(const char *tpl, json_t *vars, char *missing, size_t mcap);

/* the loop's callback: the list is the callee's (wamd_bulk_list_free) */
typedef void (*wamd_bulk_read_cb)(void *arg, struct wamd_bulk_list *l);
struct wamd_bulk_read;

/* Queues body (taken: freed by the thread) for the worker thread, started
 * on first use; cb(arg, list) runs on the loop once it is read. NULL when
 * WAMD_BULK_READS_MAX are queued or being read, or out of memory (body
 * freed then too). */
struct wamd_bulk_read *wamd_bulk_read_start(struct lws_context *ctx, char *body, size_t len, wamd_bulk_read_cb cb,
					    void *arg);
/* Its owner is gone: cb never runs. A queued body is dropped unread, a
 * running read's result when it comes. */
void wamd_bulk_read_abandon(struct wamd_bulk_read *r);
/* Bodies queued or being read now. */
unsigned wamd_bulk_read_count(void);
/* Runs the callbacks of the reads done (on the loop, at
 * LWS_CALLBACK_EVENT_WAIT_CANCELLED). */
void wamd_bulk_read_deliver(void);
/* Stops the thread (a read under way ends at its next recipient, or after
 * jansson's parse) and frees every read left; their callbacks never run.
 * Idempotent. */
void wamd_bulk_read_shutdown(void);

#endif
