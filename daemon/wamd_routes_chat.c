/* Evolution's chat controller: /chat/whatsappNumbers, markMessageAsRead,
 * findMessages, findChats, sendPresence. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/history.h"
#include "wamd_routes.h"

/* ---- chat ---- */

void wamd_numbers_done(void *ticket, int err, json_t *result)
{
	struct wamd_ticket *tk = ticket;
	if (tk->then) {
		tk->then(tk, err, result);
		return;
	}
	struct wamd_conn *c = tk->c;
	free(tk);
	if (!c) {
		json_decref(result);
		return;
	}
	c->ticket = NULL;
	if (err != 0) {
		json_decref(result);
		wamd_reply_error(c, 400, json_pack("[s]", wa_strerror(err)));
		return;
	}
	wamd_reply_json(c, 200, result);
}

void wamd_h_numbers(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	json_t *nums = json_object_get(body, "numbers");
	if (!json_is_array(nums)) {
		bad_request(c, "instance requires property \"numbers\"");
		return;
	}
	size_t n = json_array_size(nums);
	if (n > WAMD_MAX_NUMBERS) {
		wamd_reply_error(c, 400, json_pack("[s]", "too many numbers in one request"));
		return;
	}
	const char **list = calloc(n ? n : 1, sizeof *list);
	if (!list) {
		wamd_reply_error(c, 500, json_string("out of memory"));
		return;
	}
	for (size_t i = 0; i < n; i++) {
		list[i] = json_string_value(json_array_get(nums, i));
		if (!list[i]) {
			free(list);
			bad_request(c, "numbers must be strings");
			return;
		}
	}
	struct wamd_ticket *tk = calloc(1, sizeof *tk);
	if (!tk) {
		free(list);
		wamd_reply_error(c, 500, json_string("out of memory"));
		return;
	}
	tk->c = c;
	c->ticket = tk;
	int rc = wamd_tenant_check_numbers(t, list, n, tk);
	free(list);
	if (rc != 0) {
		c->ticket = NULL;
		free(tk);
		wamd_reply_error(c, 500, json_string(rc == WA_ESTATE ? "Connection Closed" : wa_strerror(rc)));
	}
}

void wamd_h_mark_read(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	json_t *arr = json_object_get(body, "readMessages");
	if (!json_is_array(arr)) {
		bad_request(c, "instance requires property \"readMessages\"");
		return;
	}
	size_t n = json_array_size(arr), k = 0;
	const char **jids = calloc(n ? n : 1, sizeof *jids), **ids = calloc(n ? n : 1, sizeof *ids);
	bool *fm = calloc(n ? n : 1, sizeof *fm);
	if (!jids || !ids || !fm) {
		free(jids), free(ids), free(fm);
		wamd_reply_error(c, 500, json_string("out of memory"));
		return;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *it = json_array_get(arr, i);
		const char *j = jstr(it, "remoteJid"), *id = jstr(it, "id");
		if (!j || !id || !json_is_boolean(json_object_get(it, "fromMe"))) {
			free(jids), free(ids), free(fm);
			bad_request(c, "readMessages items require remoteJid, fromMe and id");
			return;
		}
		if (!strstr(j, "@s.whatsapp.net") && !strstr(j, "@g.us") && !strstr(j, "@lid"))
			continue; /* skipped silently, as Evolution does */
		jids[k] = j;
		ids[k] = id;
		fm[k] = json_is_true(json_object_get(it, "fromMe"));
		k++;
	}
	int rc = k ? wamd_tenant_mark_read(t, jids, ids, fm, k) : 0;
	free(jids), free(ids), free(fm);
	if (rc != 0) {
		wamd_reply_error(c, 500, json_pack("[s, s]", "Read messages fail", wa_strerror(rc)));
		return;
	}
	wamd_reply_json(c, 201, json_pack("{s:s, s:s}", "message", "Read messages", "read", "success"));
}

static int64_t parse_time(json_t *v)
{
	if (json_is_integer(v))
		return json_integer_value(v) > 100000000000LL ? json_integer_value(v) / 1000 : json_integer_value(v);
	const char *s = json_string_value(v);
	if (!s)
		return 0;
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	if (strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) || strptime(s, "%Y-%m-%d", &tm))
		return (int64_t)timegm(&tm);
	return atoll(s);
}

static void fill_query(json_t *where, wa_store_mrec_query *q, char *jidbuf, size_t jl)
{
	memset(q, 0, sizeof *q);
	q->from_me = -1;
	json_t *key = json_object_get(where, "key");
	const char *rj = jstr(key, "remoteJid");
	if (!rj)
		rj = jstr(where, "remoteJid");
	if (rj && wamd_normalize_number(rj, jidbuf, jl) == 0)
		q->remote_jid = jidbuf;
	q->key_id = jstr(key, "id");
	json_t *fm = json_object_get(key, "fromMe");
	if (json_is_boolean(fm))
		q->from_me = json_is_true(fm) ? 1 : 0;
	q->message_type = jstr(where, "messageType");
	json_t *mt = json_object_get(where, "messageTimestamp");
	q->ts_min = parse_time(json_object_get(mt, "gte"));
	q->ts_max = parse_time(json_object_get(mt, "lte"));
}

static json_t *row_record(const wa_store_mrec_row *r)
{
	json_t *rec = json_loadb(r->record, r->record_len, 0, NULL);
	if (!rec)
		return json_null();
	/* a revoked message stays DELETED (Evolution's logical delete) */
	if (!json_object_get(rec, "deletedAt"))
		json_object_set_new(rec, "status", json_string(wamd_status_name(r->status)));
	json_object_set(rec, "id", json_object_get(json_object_get(rec, "key"), "id"));
	return rec;
}

void wamd_h_find_messages(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	wa_store_mrec_query q;
	char jid[WA_STORE_JID_MAX];
	fill_query(json_object_get(body, "where"), &q, jid, sizeof jid);
	json_int_t page = json_integer_value(json_object_get(body, "page"));
	json_int_t size = json_integer_value(json_object_get(body, "offset"));
	if (page < 1)
		page = 1;
	if (size < 1)
		size = 50;
	if (size > WA_STORE_QUERY_MAX_ROWS)
		size = WA_STORE_QUERY_MAX_ROWS;
	q.limit = size;
	q.offset = (page - 1) * size;
	wa_store_mrec_row *rows = NULL;
	size_t n = 0;
	int64_t total = 0;
	int rc = wa_store_msgrec_find(c->d->store, t->id, &q, &rows, &n, &total);
	if (rc != 0) {
		wamd_reply_error(c, 500, json_string(wa_strerror(rc)));
		return;
	}
	json_t *recs = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *r = row_record(&rows[i]);
		json_object_set_new(r, "MessageUpdate",
				    json_pack("[{s:s}]", "status", wamd_status_name(rows[i].status)));
		json_array_append_new(recs, r);
	}
	wa_store_mrec_rows_free(rows, n);
	wamd_reply_json(c, 200,
			json_pack("{s:{s:I, s:I, s:I, s:o}}", "messages", "total", (json_int_t)total, "pages",
				  (json_int_t)((total + size - 1) / size), "currentPage", page, "records", recs));
}

/* What the chats row (history sync, app state) says of a chat, beside
 * Evolution's fields: archived, pinned, muteEndTime (null: not muted; -1:
 * for ever), markedAsUnread. A chat with no row has them all off. */
static int chat_flags(struct wamd_conn *c, struct wamd_tenant *t, const char *jid, json_t *chat)
{
	wa_store_chat_row *rows = NULL;
	size_t n = 0;
	int rc = jid ? wa_store_chat_list(c->d->store, t->id, jid, 0, 1, &rows, &n) : 0;
	if (rc != 0)
		return rc;
	const wa_store_chat_row *r = n ? &rows[0] : NULL;
	json_object_set_new(chat, "archived", json_boolean(r && r->archived));
	json_object_set_new(chat, "pinned", json_boolean(r && r->pinned));
	json_object_set_new(chat, "muteEndTime", r && r->muted_until ? json_integer(r->muted_until) : json_null());
	json_object_set_new(chat, "markedAsUnread", json_boolean(r && r->marked_unread));
	wa_store_chat_rows_free(rows, n);
	return 0;
}

void wamd_h_find_chats(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	wa_store_mrec_query q;
	char jid[WA_STORE_JID_MAX];
	fill_query(json_object_get(body, "where"), &q, jid, sizeof jid);
	json_int_t take = json_integer_value(json_object_get(body, "take"));
	q.limit = take > 0 ? take : WA_STORE_QUERY_MAX_ROWS;
	q.offset = json_integer_value(json_object_get(body, "skip"));
	wa_store_mrec_row *rows = NULL;
	size_t n = 0;
	int rc = wa_store_msgrec_chats(c->d->store, t->id, &q, &rows, &n);
	if (rc != 0) {
		wamd_reply_error(c, 500, json_string(wa_strerror(rc)));
		return;
	}
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *last = row_record(&rows[i]);
		json_t *key = json_object_get(last, "key");
		char ts[32];
		wamd_iso_time(json_integer_value(json_object_get(last, "messageTimestamp")) * 1000, ts);
		json_t *chat = json_object();
		json_object_set_new(chat, "id", json_null());
		json_object_set(chat, "remoteJid", json_object_get(key, "remoteJid"));
		json_object_set(chat, "pushName", json_is_true(json_object_get(key, "fromMe")) ? json_null()
										     : json_object_get(last, "pushName"));
		json_object_set_new(chat, "profilePicUrl", json_null());
		json_object_set_new(chat, "updatedAt", json_string(ts));
		json_object_set_new(chat, "windowStart", json_null());
		json_object_set_new(chat, "windowExpires", json_null());
		json_object_set_new(chat, "windowActive", json_false());
		json_object_set_new(chat, "lastMessage", last);
		json_object_set_new(chat, "unreadCount", json_integer(rows[i].unread));
		json_object_set_new(chat, "isSaved", json_false());
		json_array_append_new(arr, chat);
		if (rc == 0)
			rc = chat_flags(c, t, json_string_value(json_object_get(key, "remoteJid")), chat);
	}
	wa_store_mrec_rows_free(rows, n);
	if (rc != 0) {
		json_decref(arr);
		wamd_reply_error(c, 500, json_string(wa_strerror(rc)));
		return;
	}
	wamd_reply_json(c, 200, arr);
}

void wamd_h_send_presence(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	json_t *o = json_object_get(body, "options");
	const char *number = jstr(body, "number");
	const char *presence = jstr(body, "presence");
	if (!number)
		number = jstr(o, "number");
	if (!presence)
		presence = jstr(o, "presence");
	if (!number || !presence) {
		bad_request(c, "instance requires property \"number\" and \"presence\"");
		return;
	}
	char jid[WA_STORE_JID_MAX];
	if (wamd_normalize_number(number, jid, sizeof jid) != 0) {
		bad_request(c, "invalid number");
		return;
	}
	int rc = wamd_tenant_presence(t, jid, presence);
	if (rc != 0) {
		wamd_reply_error(c, 400, json_pack("[s]", wa_strerror(rc)));
		return;
	}
	/* the delay is not waited for: the answer is the same, and the
	 * loop never blocks (the session sends "paused" itself) */
	wamd_reply_json(c, 201, json_pack("{s:s}", "presence", presence));
}
