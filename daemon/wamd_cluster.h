/* Cluster mode (wamd_cluster.c): leases on a PostgreSQL store, and the
 * reads a node answers for instances another node drives. Included by
 * wamd.h; needs only the types named here. */
#ifndef WAMD_CLUSTER_H
#define WAMD_CLUSTER_H

#include <jansson.h>
#include <libwebsockets.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wamd;
struct wamd_tenant;

/* Joins the cluster and loads the instances this node takes now (started
 * by wamd_boot_start); then a timer on the loop renews and takes leases.
 * -1 with a logged reason on failure. */
int wamd_cluster_start(struct wamd *d);
/* SIGTERM: after the sessions stopped, gives every lease up at once. */
void wamd_cluster_stop(struct wamd *d);
/* An API request names an instance this node does not have: the node
 * that holds it into node (0), or WA_ENOTFOUND. */
int wamd_cluster_owner(struct wamd *d, const char *name, char *node, size_t len);
/* Cluster mode: a read-only copy of a stored instance another node drives
 * (its document and tokens; no session, never in d->tenants), for an API
 * read answered from the database; wamd_tenant_peek_free frees it. */
struct wamd_tenant *wamd_tenant_peek(struct wamd *d, int64_t id, const char *name);
void wamd_tenant_peek_free(struct wamd_tenant *t);
/* Cluster mode: the instance another node drives (or nobody now) as a
 * peeked tenant with the state its owner wrote; NULL when no instance has
 * that name. */
struct wamd_tenant *wamd_cluster_peek(struct wamd *d, const char *name);
/* Cluster mode: every stored instance in id order, this node's own or
 * peeked (freed after fn); fn returning false stops. */
int wamd_cluster_each(struct wamd *d, bool (*fn)(void *arg, struct wamd_tenant *t), void *arg);
/* Cluster mode: a tenant's connection state as the API names it changed:
 * written beside its lease for the other nodes' reads. */
void wamd_cluster_note_state(struct wamd_tenant *t, const char *state);
/* Cluster: a send accepted here for an instance another node drives (t
 * peeked; payload as wamd_pace_enqueue takes it, message and type its
 * record's, both borrowed): written with a new id (id_out, the one it
 * leaves with) for its owner, who is woken (wamd_cluster_relay.c). */
int wamd_cluster_relay_send(struct wamd_tenant *t, const char *jid, int64_t send_at, json_t *payload,
			    json_t *message, const char *type, char id_out[32]);
/* The same for a media send whose file (at most WAMD_RELAY_MEDIA_MAX
 * bytes) is written to the database with it, in one transaction; the id
 * is payload's "id" (the held file's name has it). The owner writes it to
 * its own disk when it takes the send. */
#define WAMD_RELAY_MEDIA_MAX (16ull << 20)
int wamd_cluster_relay_send_file(struct wamd_tenant *t, const char *jid, int64_t send_at, json_t *payload,
				 json_t *message, const char *type, const char *file, char id_out[32]);
/* Pacing: a send of this node counted in the daemon-wide or group
 * ("": none) windows at at; sent to the other nodes at the end of the
 * loop turn, which count it in theirs (wamd_pace_shared_remote). */
void wamd_cluster_pace_sent(struct wamd *d, const char *group, int64_t at);
/* An event of an instance this node drives, as its streams got it: the
 * ones other nodes' streams show are relayed to them. */
void wamd_cluster_event(struct wamd_tenant *t, const char *event, const char *text);
/* Whether another node may have an event stream open (events are relayed
 * only then); this node's own streams opened or closed (told to the
 * others at once); events relayed so far. */
bool wamd_cluster_streams_elsewhere(struct wamd *d);
void wamd_cluster_streams_changed(struct wamd *d);
uint64_t wamd_cluster_events_relayed(struct wamd *d);
/* A token of that instance (its id) revoked or the instance deleted:
 * the other nodes close the streams it no longer authorizes. */
void wamd_cluster_streams_recheck(struct wamd *d, const char *instance_id);
/* Drain: hands every instance over (as SIGTERM does) and takes none
 * until undrained; the node keeps running and answering. */
void wamd_cluster_drain(struct wamd *d, bool on);
/* The cluster's nodes and this node's part, for GET /wamd/cluster. */
json_t *wamd_cluster_info(struct wamd *d);
/* The store connection's socket on the loop (a raw descriptor). */
#define WAMD_CLUSTER_PROTOCOL "wamd-cluster"
int wamd_cluster_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len);

#endif
