/* wamd/fetchHistory (Evolution has no route for it; Baileys calls it
 * fetchMessageHistory): asks our phone for older messages of one chat. The
 * answer comes later, as the phone sends it: an ON_DEMAND history sync,
 * stored for findMessages and reported as MESSAGES_SET like any other. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/history.h"
#include "wamd_routes.h"

/* seconds; the request carries milliseconds, which must not overflow */
#define WAMD_HIST_TS_MAX 100000000000LL

/* The oldest message stored of chat (its key and time), read from the
 * stored record. */
static bool oldest_stored(struct wamd_conn *c, struct wamd_tenant *t, const char *chat, char *id, size_t id_cap,
	bool *from_me, int64_t *ts)
{
	wa_store_mrec_query q = {.remote_jid = chat, .from_me = -1, .limit = 1};
	wa_store_mrec_row *rows = NULL;
	size_t n = 0;
	int64_t total = 0;
	if (wa_store_msgrec_find(c->d->store, t->id, &q, &rows, &n, &total) != 0)
		return false;
	wa_store_mrec_rows_free(rows, n);
	rows = NULL;
	n = 0;
	q.offset = total - 1; /* newest first: the last row is the oldest */
	bool ok = false;
	if (total > 0 && wa_store_msgrec_find(c->d->store, t->id, &q, &rows, &n, &total) == 0 && n == 1) {
		json_t *rec = json_loadb(rows[0].record, rows[0].record_len, 0, NULL);
		json_t *key = json_object_get(rec, "key");
		json_t *mt = json_object_get(rec, "messageTimestamp");
		const char *kid = jstr(key, "id");
		if (kid && strlen(kid) < id_cap) {
			snprintf(id, id_cap, "%s", kid);
			*from_me = json_is_true(json_object_get(key, "fromMe"));
			*ts = json_is_integer(mt) ? json_integer_value(mt) : json_is_string(mt) ? strtoll(json_string_value(mt), NULL, 10) : 0;
			ok = *ts > 0 && *ts <= WAMD_HIST_TS_MAX;
		}
		json_decref(rec);
	}
	wa_store_mrec_rows_free(rows, n);
	return ok;
}

/* {"chat" (a number or JID), "count"? (1-500, default 50), "oldestMessage"?
 * {"key": {"id", "fromMe"}, "messageTimestamp" (s)}: without it, the
 * oldest message stored of the chat} -> 201 {"requestId", "chat", "count",
 * "oldestMessage"} */
void wamd_h_fetch_history(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	const char *chat_in = jstr(body, "chat");
	if (!chat_in)
		chat_in = jstr(body, "remoteJid");
	char chat[WA_STORE_JID_MAX];
	if (!chat_in || wamd_normalize_number(chat_in, chat, sizeof chat) != 0) {
		bad_request(c, "instance requires property \"chat\"");
		return;
	}
	json_t *cnt = json_object_get(body, "count");
	json_int_t count = cnt ? json_integer_value(cnt) : 50;
	if (count < 1 || count > 500 || (cnt && !json_is_integer(cnt))) {
		bad_request(c, "count must be an integer from 1 to 500");
		return;
	}
	json_t *om = json_object_get(body, "oldestMessage");
	char id[160] = "";
	bool from_me = false;
	int64_t ts = 0;
	if (om) {
		json_t *key = json_object_get(om, "key"), *mt = json_object_get(om, "messageTimestamp");
		const char *kid = jstr(key, "id");
		if (kid && strlen(kid) < sizeof id)
			snprintf(id, sizeof id, "%s", kid);
		from_me = json_is_true(json_object_get(key, "fromMe"));
		ts = json_is_integer(mt) ? json_integer_value(mt) : json_is_string(mt) ? strtoll(json_string_value(mt), NULL, 10) : 0;
		if (!*id || ts <= 0 || ts > WAMD_HIST_TS_MAX) {
			bad_request(c, "oldestMessage needs key.id and messageTimestamp");
			return;
		}
	} else if (!oldest_stored(c, t, chat, id, sizeof id, &from_me, &ts)) {
		wamd_reply_error(c, 404, json_pack("[s]", "No message of that chat is stored: give oldestMessage"));
		return;
	}
	char rid[23];
	int rc = wamd_tenant_fetch_history(t, chat, (int)count, id, from_me, ts * 1000, rid);
	if (rc == WA_ECLOSED || rc == WA_ESTATE) {
		/* before the phone's first message there is no session to ask it on */
		wamd_reply_error(c, 500, json_pack("[s]", rc == WA_ECLOSED ? "Connection Closed" :
			"No session with our phone yet"));
		return;
	}
	if (rc != 0) {
		wamd_reply_error(c, 400, json_pack("[s]", wa_strerror(rc)));
		return;
	}
	wamd_reply_json(c, 201, json_pack("{s:s,s:s,s:I,s:{s:{s:s,s:b},s:I}}", "requestId", rid, "chat", chat, "count",
		count, "oldestMessage", "key", "id", id, "fromMe", from_me, "messageTimestamp", (json_int_t)ts));
}
