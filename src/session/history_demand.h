/* The on-demand history request (history_demand.c), sans-IO so the unit
 * tests can check it byte for byte against Baileys' encoding. */
#ifndef WA_SESSION_HISTORY_DEMAND_H
#define WA_SESSION_HISTORY_DEMAND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wa/session.h"

#define WA_HIST_DEMAND_MAX 500 /* messages per request, as wamd caps it */

/* The Message (protocolMessage PEER_DATA_OPERATION_REQUEST_MESSAGE,
 * HISTORY_SYNC_ON_DEMAND) asking for `count` messages of chat older than
 * the one named (id, fromMe, time in ms). *out is malloc'd. WA_EINVAL: a
 * chat that is no JID, count out of 1..WA_HIST_DEMAND_MAX, no id (or one
 * longer than WA_MSG_ID_MAX), a time <= 0. */
int wa_hist_demand_build(const char *chat, int count, const char *oldest_id, bool oldest_from_me,
	int64_t oldest_ts_ms, uint8_t **out, size_t *out_len) WA_MUST_CHECK;

#endif
