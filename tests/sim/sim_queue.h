/* wasim: one device's delivery queue (messaging.md §3 "Offline queue").
 * Every stanza the server delivers to a device (message, receipt,
 * notification) is queued here first and stays until the device answers it:
 * an <ack class id> or, for messages, a <receipt id> (any type). A live
 * device gets it at once as well; a device that logs in gets every queued
 * item again with offline="1", then <ib><offline count/>.
 * Items are kept as encoded node bytes (the same bytes go on the wire). */
#ifndef SIM_QUEUE_H
#define SIM_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "binary/node.h"

/* Items per device; the oldest is dropped past this (a stuck device must
 * not eat the server's memory). */
#define SIM_QUEUE_MAX 10000

typedef struct sim_qitem {
	struct sim_qitem *next;
	char cls[16];  /* message | receipt | notification | ... (stanza tag) */
	char id[128];
	uint8_t *bytes; /* wa_bin_encode_body output (no flags byte) */
	uint64_t sent_epoch; /* batched offline delivery: sent on the device's login of that number */
	bool live;           /* queued while the device was online (held behind a batched backlog) */
	size_t len;
} sim_qitem;

typedef struct sim_queue {
	sim_qitem *head, *tail;
	size_t n;
} sim_queue;

/* Encodes n and appends it under (tag of n, id attribute of n). */
int sim_queue_push(sim_queue *q, const wa_node *n) WA_MUST_CHECK;
/* Removes the first item with class cls (NULL = any) and id. Returns true
 * when one was removed. */
bool sim_queue_remove(sim_queue *q, const char *cls, const char *id);
/* Decodes item it into a new node (free: wa_node_free). */
int sim_queue_item_node(const sim_qitem *it, wa_node **out) WA_MUST_CHECK;
void sim_queue_clear(sim_queue *q);

#endif
