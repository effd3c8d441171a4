/* GET /wamd/outbox/{instance}?limit=N: the messages libwa has accepted for
 * the instance and the server has not acknowledged yet (Evolution's
 * PENDING), oldest first: queued, or sent and awaiting the ack. Read-only;
 * the operator console shows it beside the pacing queue (sends wamd holds
 * back before they reach libwa). */
#include <stdlib.h>

#include "wamd_routes.h"

#define OUTBOX_LIST_MAX 1000

static void row(void *arg, const wa_store_outbox_info *r)
{
	char created[32], updated[32];
	wamd_iso_time(r->created_ms, created);
	wamd_iso_time(r->updated_ms, updated);
	json_array_append_new(arg, json_pack("{s:I, s:s, s:s, s:s, s:i, s:s, s:s}", "row", (json_int_t)r->id, "id",
					     r->msg_id, "remoteJid", r->chat_jid, "state",
					     r->sending ? "awaiting_ack" : "queued", "attempts", r->attempts,
					     "createdAt", created, "updatedAt", updated));
}

void wamd_h_outbox(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	(void)body;
	char b[32];
	const char *l = lws_get_urlarg_by_name(c->wsi, "limit=", b, sizeof b);
	long limit = 100;
	if (l) {
		char *end = NULL;
		limit = strtol(l, &end, 10);
		if (!*l || *end || limit < 1 || limit > OUTBOX_LIST_MAX) {
			bad_request(c, "limit must be 1..1000");
			return;
		}
	}
	json_t *arr = json_array();
	int64_t total = 0;
	int rc = wa_store_outbox_pending(c->d->store, t->id, (int)limit, row, arr, &total);
	if (rc != 0) {
		json_decref(arr);
		wamd_reply_error(c, 500, msg1("outbox: %s", wa_errname(rc)));
		return;
	}
	wamd_reply_json(c, 200, json_pack("{s:I, s:o}", "pending", (json_int_t)total, "messages", arr));
}
