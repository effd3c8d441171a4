/* src/transport/theap.h: a binary min-heap of timer deadlines (sans-IO).
 *
 * Why: every session arms several timers (keep-alive, iq deadline, ...).
 * Scheduling each as its own lws_sul costs a walk of lws's sorted list, so
 * with 10,000 sessions every re-arm walked tens of thousands of nodes
 * (measured: 16% of wamd's idle CPU at 1,200 sessions, growing as N^2).
 * ws.c keeps all of a context's timers in one of these heaps and gives lws
 * a single sul for the earliest deadline: O(log N) per re-arm.
 *
 * Nodes are embedded in their owner; a node knows its index so it can be
 * moved or removed in O(log N). Equal deadlines pop in arming order. */
#ifndef WA_TRANSPORT_THEAP_H
#define WA_TRANSPORT_THEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wa/wa.h"

#define WA_THEAP_NONE SIZE_MAX /* idx of a node that is not in the heap */

typedef struct wa_theap_node {
	int64_t due;   /* deadline, caller's clock */
	uint64_t seq;  /* arming order: ties pop first-armed first */
	size_t idx;    /* position in the heap, WA_THEAP_NONE when not armed */
} wa_theap_node;

typedef struct wa_theap {
	wa_theap_node **v;
	size_t n, cap;
	uint64_t seq;
} wa_theap;

void wa_theap_init(wa_theap *h);
/* Frees the array (nodes belong to their owners). */
void wa_theap_fini(wa_theap *h);
void wa_theap_node_init(wa_theap_node *x);
/* Makes room for `cap` nodes, so that wa_theap_set never has to allocate
 * (timer arming cannot fail). WA_ENOMEM leaves the heap as it was. */
int wa_theap_reserve(wa_theap *h, size_t cap) WA_MUST_CHECK;
/* Arms x at `due` (inserting it, or moving it if armed). Needs room:
 * the caller reserved one slot per node it may arm; returns WA_ENOMEM
 * only when it did not. */
int wa_theap_set(wa_theap *h, wa_theap_node *x, int64_t due) WA_MUST_CHECK;
/* Disarms x; no-op when not armed. */
void wa_theap_remove(wa_theap *h, wa_theap_node *x);
/* Earliest node, or NULL when empty. */
wa_theap_node *wa_theap_top(const wa_theap *h);
bool wa_theap_armed(const wa_theap_node *x);

#endif
