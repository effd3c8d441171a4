/* Name lookups off the event loop (wamd_resolve.c): getaddrinfo on worker
 * threads, results delivered on the loop. */
#ifndef WAMD_RESOLVE_H
#define WAMD_RESOLVE_H

struct wamd;
struct addrinfo;
struct wamd_resolve;
/* Runs on the loop thread with getaddrinfo's rc and list (owned by the resolver). */
typedef void (*wamd_resolve_cb)(void *arg, int rc, const struct addrinfo *res);
/* Queues a lookup; NULL if it could not be queued. */
struct wamd_resolve *wamd_resolve_start(struct wamd *d, const char *host, wamd_resolve_cb cb, void *arg);
/* The callback will not run; the request is freed when its lookup ends. */
void wamd_resolve_cancel(struct wamd_resolve *q);
/* Runs the callbacks of finished lookups (LWS_CALLBACK_EVENT_WAIT_CANCELLED). */
void wamd_resolve_deliver(void);
/* Stops the workers (waits for a lookup in progress) and frees everything. */
void wamd_resolve_shutdown(void);

#endif
