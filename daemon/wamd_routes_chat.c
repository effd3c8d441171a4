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

/* Evolution's fields from a chat's row: archived, pinned, muteEndTime
 * (null: not muted; -1: for ever), markedAsUnread; no row: all off. */
static void chat_row_flags(const wa_store_chat_row *r, json_t *chat)
{
	json_object_set_new(chat, "archived", json_boolean(r && r->archived));
	json_object_set_new(chat, "pinned", json_boolean(r && r->pinned));
	json_object_set_new(chat, "muteEndTime", r && r->muted_until ? json_integer(r->muted_until) : json_null());
	json_object_set_new(chat, "markedAsUnread", json_boolean(r && r->marked_unread));
}

/* One findChats entry in Evolution's layout. last: the latest message
 * record (NULL for a chat known only from history or app state). */
static json_t *chat_entry(const char *jid, json_t *push_name, int64_t ts, json_t *last, int64_t unread,
	json_t *labels)
{
	char iso[32];
	wamd_iso_time(ts * 1000, iso);
	json_t *chat = json_object();
	json_object_set_new(chat, "id", json_null());
	json_object_set_new(chat, "remoteJid", json_string(jid));
	json_object_set(chat, "pushName", push_name ? push_name : json_null());
	json_object_set_new(chat, "profilePicUrl", json_null());
	json_object_set_new(chat, "updatedAt", json_string(iso));
	json_object_set_new(chat, "windowStart", json_null());
	json_object_set_new(chat, "windowExpires", json_null());
	json_object_set_new(chat, "windowActive", json_false());
	json_object_set_new(chat, "lastMessage", last ? last : json_null());
	json_object_set_new(chat, "unreadCount", json_integer(unread));
	json_object_set_new(chat, "isSaved", json_false());
	/* the label ids on the chat (app state's label associations) */
	json_object_set_new(chat, "labels", labels ? json_incref(labels) : json_array());
	return chat;
}

struct sorted_chat {
	json_t *chat;
	size_t i; /* the store's order among equal times */
};

static int by_updated_desc(const void *a, const void *b)
{
	const struct sorted_chat *x = a, *y = b;
	const char *tx = json_string_value(json_object_get(x->chat, "updatedAt"));
	const char *ty = json_string_value(json_object_get(y->chat, "updatedAt"));
	int d = strcmp(ty ? ty : "", tx ? tx : ""); /* ISO times sort as text */
	return d ? d : x->i < y->i ? -1 : x->i > y->i;
}

/* Chats with a message (from their latest one) and, unless the query
 * bounds message times, chats known only from history or app state; most
 * recent first, then skip / take. */
void wamd_h_find_chats(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	wa_store_mrec_query q;
	char jid[WA_STORE_JID_MAX];
	fill_query(json_object_get(body, "where"), &q, jid, sizeof jid);
	json_int_t take = json_integer_value(json_object_get(body, "take"));
	json_int_t skip = json_integer_value(json_object_get(body, "skip"));
	if (take <= 0 || take > WA_STORE_QUERY_MAX_ROWS)
		take = WA_STORE_QUERY_MAX_ROWS;
	if (skip < 0)
		skip = 0;
	q.limit = WA_STORE_QUERY_MAX_ROWS;
	q.offset = 0;
	wa_store_mrec_row *rows = NULL;
	wa_store_chat_row *crows = NULL;
	size_t n = 0, cn = 0;
	json_t *labels = wamd_tenant_chat_labels(t);
	int rc = labels ? wa_store_msgrec_chats(c->d->store, t->id, &q, &rows, &n) : WA_EDB;
	if (rc == 0)
		rc = wa_store_chat_list(c->d->store, t->id, q.remote_jid, 0, WA_STORE_QUERY_MAX_ROWS, &crows, &cn);
	json_t *all = json_array(), *seen = json_object();
	for (size_t i = 0; rc == 0 && i < n; i++) {
		json_t *last = row_record(&rows[i]);
		json_t *key = json_object_get(last, "key");
		const char *rj = json_string_value(json_object_get(key, "remoteJid"));
		if (!rj) {
			json_decref(last);
			continue;
		}
		json_t *pn = json_is_true(json_object_get(key, "fromMe")) ? NULL : json_object_get(last, "pushName");
		json_t *chat = chat_entry(rj, pn, json_integer_value(json_object_get(last, "messageTimestamp")), last,
			rows[i].unread, json_object_get(labels, rj));
		const wa_store_chat_row *r = NULL;
		for (size_t k = 0; k < cn && !r; k++)
			if (strcmp(crows[k].jid, rj) == 0 || (crows[k].pn_jid && strcmp(crows[k].pn_jid, rj) == 0) ||
			    (crows[k].lid_jid && strcmp(crows[k].lid_jid, rj) == 0))
				r = &crows[k];
		chat_row_flags(r, chat);
		if (!r && !q.remote_jid) {
			/* a chat row outside the listed ones: looked up alone */
			wa_store_chat_row *one = NULL;
			size_t on = 0;
			rc = wa_store_chat_list(c->d->store, t->id, rj, 0, 1, &one, &on);
			if (rc == 0 && on)
				chat_row_flags(&one[0], chat);
			wa_store_chat_rows_free(one, on);
		}
		if (r)
			json_object_set_new(seen, r->jid, json_true());
		json_object_set_new(seen, rj, json_true());
		json_array_append_new(all, chat);
	}
	for (size_t k = 0; rc == 0 && !q.ts_min && !q.ts_max && !q.key_id && !q.message_type && q.from_me < 0 && k < cn;
	     k++) {
		const wa_store_chat_row *r = &crows[k];
		if (json_object_get(seen, r->jid) || (r->pn_jid && json_object_get(seen, r->pn_jid)) ||
		    (r->lid_jid && json_object_get(seen, r->lid_jid)))
			continue;
		int64_t ts = r->conversation_ts > r->last_msg_ts ? r->conversation_ts : r->last_msg_ts;
		json_t *name = r->name && *r->name ? json_string(r->name) : NULL;
		json_t *chat = chat_entry(r->jid, name, ts, NULL, r->unread_count > 0 ? r->unread_count : 0,
			json_object_get(labels, r->jid));
		json_decref(name);
		chat_row_flags(r, chat);
		json_array_append_new(all, chat);
	}
	wa_store_mrec_rows_free(rows, n);
	wa_store_chat_rows_free(crows, cn);
	json_decref(seen);
	json_decref(labels);
	if (rc != 0) {
		json_decref(all);
		wamd_reply_error(c, 500, json_string(wa_strerror(rc)));
		return;
	}
	size_t total = json_array_size(all);
	struct sorted_chat *v = malloc((total ? total : 1) * sizeof(*v));
	json_t *arr = json_array();
	if (!v) {
		json_decref(all);
		json_decref(arr);
		wamd_reply_error(c, 500, json_string(wa_strerror(WA_ENOMEM)));
		return;
	}
	for (size_t i = 0; i < total; i++)
		v[i] = (struct sorted_chat){json_array_get(all, i), i};
	qsort(v, total, sizeof(*v), by_updated_desc);
	for (size_t i = (size_t)skip; i < total && json_array_size(arr) < (size_t)take; i++)
		json_array_append(arr, v[i].chat);
	free(v);
	json_decref(all);
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
