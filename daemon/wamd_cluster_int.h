/* Private to wamd_cluster*.c: a node's cluster state. */
#ifndef WAMD_CLUSTER_INT_H
#define WAMD_CLUSTER_INT_H

#include "wa/store_cluster.h"
#include "wamd.h"

/* notifications to the other nodes, sent at the end of the loop turn, a
 * turn's in one statement (wamd_cluster_relay.c) */
struct wamd_cluster_batch {
	struct wamd *d;
	const char *channel, *what; /* what: for the log line of a lost batch */
	json_t *pending;
	lws_sorted_usec_list_t sul;
};

struct wamd_cluster {
	struct wamd *d;
	char node[WA_STORE_NODE_MAX];
	char token[WA_STORE_NODE_MAX];
	int64_t lease_ms;
	int64_t last_ok_ms;   /* monotonic time before the last renewal that answered */
	int64_t live_since_ms; /* joined (or undrained), or renewed after a lapse: takes TAKE_MAX a turn for a lease */
	int64_t next_turn_ms; /* the next renewal and take */
	int64_t fenced_seen;
	lws_sorted_usec_list_t sul;
	bool timer;
	bool draining;  /* drained: takes no lease, holds none (wamd_cluster_drain) */
	bool relay_due; /* relayed sends may wait for this node (a NOTIFY, a take) */
	struct lws *listen_wsi; /* the store connection's socket on the loop */
	struct wamd_cluster_batch ev;   /* events for the other nodes' streams */
	struct wamd_cluster_batch pace; /* this node's sends in the shared pacing windows */
	uint64_t pace_n;		/* those sent so far (each notification unique) */
	uint64_t ev_relayed;		/* events NOTIFYed to the other nodes so far */
	/* whether the other nodes' streams want events (wamd_cluster_relay.c) */
	json_t *streams_at;	  /* node -> monotonic ms until its streams are assumed open */
	int64_t streams_unknown_ms; /* until then (a lease after LISTEN), every event goes */
	int64_t streams_told_ms;    /* when this node last told its own */
	bool streams_told;	  /* what it told: streams open here */
};

/* wamd_cluster_relay.c: LISTEN on the store connection, its socket on the
 * loop; what arrived is handled by wamd_cluster_relay_poll, also called at
 * every timer tick (a notification read by a query's own reads). */
int wamd_cluster_relay_start(struct wamd_cluster *k);
void wamd_cluster_relay_stop(struct wamd_cluster *k);
void wamd_cluster_relay_poll(struct wamd_cluster *k);
/* This node's tenant with that store id, or NULL. */
struct wamd_tenant *wamd_cluster_by_id(struct wamd *d, int64_t id);



#endif
