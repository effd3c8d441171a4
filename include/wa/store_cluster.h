/* libwa public store API, part 3: leases of cluster mode, where several
 * wamd nodes share one PostgreSQL store and each instance is driven by one
 * node at a time (see docs/wamd.md, "Cluster mode").
 *
 * A lease is a row per instance: owner (node id and the token of one run of
 * that node), expiry (the database's clock, ms) and an epoch that grows by
 * one at each change of owner. The fence is in the database: a trigger on
 * the Signal, message, outbox and webhook tables refuses a write for an
 * instance whose lease this connection's token does not hold unexpired, so
 * a node that lost a lease can write nothing more for it.
 *
 * Every function is PostgreSQL only (WA_EUNSUPPORTED on SQLite) and is one
 * statement, one round trip. Same conventions as wa/store.h. */
#ifndef WA_STORE_CLUSTER_H
#define WA_STORE_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include "wa/store.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WA_STORE_NODE_MAX 128 /* node id or token, with its NUL */

typedef struct wa_store_lease {
	int64_t instance_id;
	int64_t epoch;
} wa_store_lease;

/* Sets this connection's owner token (what the fence compares), makes the
 * server end it when idle inside a transaction for half a lease, and
 * writes the node's heartbeat row. node_id and token: 1..127 bytes. */
int wa_store_cluster_join(wa_store *st, const char *node_id, const char *token, int64_t lease_ms) WA_MUST_CHECK;
/* Extends the heartbeat and every lease this token holds to now +
 * lease_ms (an expired one too, as long as nobody took it) and returns
 * them (*out to free(); *n may be 0). */
int wa_store_cluster_renew(wa_store *st, const char *token, int64_t lease_ms, wa_store_lease **out,
	size_t *n) WA_MUST_CHECK;
/* Takes free (expired or never held) leases, up to this node's fair share
 * (instances / live nodes, rounded up, less what it holds) and at most
 * max; returns those taken with their new epochs. Instances without a
 * lease row get one (free), taken from the next call on. */
int wa_store_cluster_acquire(wa_store *st, const char *node_id, const char *token, int64_t lease_ms, size_t max,
	wa_store_lease **out, size_t *n) WA_MUST_CHECK;
/* Claims a lease for an instance just created (or one without an owner
 * yet), in the caller's transaction: *epoch is the new epoch. WA_EEXIST
 * when another node holds it. */
int wa_store_cluster_claim(wa_store *st, int64_t instance_id, const char *node_id, const char *token,
	int64_t lease_ms, int64_t *epoch) WA_MUST_CHECK;
/* Gives leases up at once: one instance, or all of the token's
 * (instance_id < 0), and (all) its heartbeat row. */
int wa_store_cluster_release(wa_store *st, const char *token, int64_t instance_id) WA_MUST_CHECK;
/* The node holding the named instance's unexpired lease: 0 and node_out;
 * WA_ENOTFOUND when there is no such instance or nobody holds it now. */
int wa_store_cluster_owner(wa_store *st, const char *name, char node_out[WA_STORE_NODE_MAX]) WA_MUST_CHECK;
/* The owner's connection state of an instance, as the API names it
 * ("open", "connecting", "close": 1..15 bytes), kept beside its lease for
 * the other nodes' reads; written only while token holds the lease (a
 * taken lease starts "connecting", a claimed one "close"). */
#define WA_STORE_CONN_STATE_MAX 16
int wa_store_cluster_set_state(wa_store *st, const char *token, int64_t instance_id,
	const char *state) WA_MUST_CHECK;
/* Every instance (instance_id < 0) or one, in id order: fn gets its id,
 * the node holding its unexpired lease and that node's word on its state
 * (both "" when nobody holds it now). A non-zero return of fn stops the
 * walk and is returned. */
typedef int (*wa_store_cluster_state_fn)(void *arg, int64_t instance_id, const char *node, const char *state);
int wa_store_cluster_states(wa_store *st, int64_t instance_id, wa_store_cluster_state_fn fn,
	void *arg) WA_MUST_CHECK;
/* How many instances there are and how many nodes are settled: live (an
 * unexpired heartbeat) for settled_ms at least, without a lapse (a node
 * renewing after its heartbeat ran out, e.g. woken from a pause, starts
 * again). A node above its share of these gives some up (rebalancing). */
int wa_store_cluster_counts(wa_store *st, int64_t settled_ms, int64_t *instances, int64_t *nodes) WA_MUST_CHECK;
/* Writes the fence refused on this connection so far. */
int64_t wa_store_cluster_fenced(const wa_store *st);

#ifdef __cplusplus
}
#endif
#endif
