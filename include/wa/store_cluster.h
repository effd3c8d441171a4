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

#include <stdbool.h>
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

/* Notifications between nodes (LISTEN/NOTIFY on the store's connection;
 * channel: 1..63 of a-z, _ and digits after the first). */
#define WA_STORE_NOTIFY_MAX 8000 /* the server's payload limit, with its NUL */
int wa_store_cluster_listen(wa_store *st, const char *channel) WA_MUST_CHECK;
/* The connection's socket: readable when the server sent something while
 * the connection was idle (watch it, then call
 * wa_store_cluster_notifications). -1 on SQLite. */
int wa_store_cluster_socket(const wa_store *st);
/* Reads what arrived without waiting and hands every notification to fn
 * (self: sent on this connection). The count, or a negative WA_E* code
 * (the connection failed). */
typedef void (*wa_store_notify_fn)(void *arg, const char *channel, const char *payload, bool self);
int wa_store_cluster_notifications(wa_store *st, wa_store_notify_fn fn, void *arg);
/* NOTIFY channel with payload (under WA_STORE_NOTIFY_MAX bytes); sent at
 * the commit of the caller's transaction, if one is open. */
int wa_store_cluster_notify(wa_store *st, const char *channel, const char *payload) WA_MUST_CHECK;
/* The same for many payloads in one statement: payloads_json is a JSON
 * array of strings (each under WA_STORE_NOTIFY_MAX bytes), sent in order. */
int wa_store_cluster_notify_many(wa_store *st, const char *channel, const char *payloads_json) WA_MUST_CHECK;

/* Sends a node accepted for an instance another node drives (wamd_relay):
 * any node pushes; only the lease holder lists and moves them. */
#define WA_STORE_RELAY_ID_MAX 64
#define WA_STORE_RELAY_PAYLOAD_MAX (16u << 20)
typedef struct wa_store_relay_row {
	int64_t seq;
	int64_t instance_id;
	int64_t send_at; /* ms since the epoch; 0: none */
	char key_id[WA_STORE_RELAY_ID_MAX];
	char jid[WA_STORE_JID_MAX];
	char *payload; /* the caller's, opaque */
} wa_store_relay_row;
/* Writes a send and NOTIFY channel with the instance id, one statement. */
int wa_store_relay_push(wa_store *st, int64_t instance_id, const char *key_id, const char *jid, int64_t send_at,
	const char *payload, const char *channel) WA_MUST_CHECK;
/* The same with a media send's file: read from fd to its end (at most max
 * bytes, else WA_ETOOBIG and nothing written) into wamd_relay_media in
 * parts of WA_STORE_RELAY_PART bytes, in one transaction with the row. */
#define WA_STORE_RELAY_PART (1u << 20)
int wa_store_relay_push_file(wa_store *st, int64_t instance_id, const char *key_id, const char *jid,
	int64_t send_at, const char *payload, const char *channel, int fd, uint64_t max) WA_MUST_CHECK;
/* The file of relayed send seq written to fd (*len its bytes);
 * WA_ENOTFOUND when it has none. */
int wa_store_relay_media_get(wa_store *st, int64_t seq, int fd, uint64_t *len) WA_MUST_CHECK;
/* Up to max rows of the instances token holds, oldest first (*out to
 * wa_store_relay_free). */
int wa_store_relay_list(wa_store *st, const char *token, size_t max, wa_store_relay_row **out,
	size_t *n) WA_MUST_CHECK;
void wa_store_relay_free(wa_store_relay_row *v, size_t n);
/* Deletes a moved row (fenced: only the instance's lease holder);
 * WA_ENOTFOUND when it is gone already. */
int wa_store_relay_done(wa_store *st, int64_t seq) WA_MUST_CHECK;

#ifdef __cplusplus
}
#endif
#endif
