/* wamd's pacing routes (additive to Evolution's): an instance's pacing
 * settings and state, its queue with positions and expected send times,
 * the cancel of a held send, the sends' "sendAt", bulk jobs, and the test clock
 * (debug builds with WAMD_TEST_CLOCK_MS only). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wamd_pace.h"
#include "wamd_pace_bulk.h"
#include "wamd_pace_bulk_read.h"
#include "wamd_routes.h"

#define QUEUE_LIST_MAX 1000

/* GET: settings and state; POST: changes the settings given */
void wamd_h_pace(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	if (c->method == M_POST) {
		char err[160] = "";
		int rc = wamd_pace_configure(t, body, err, sizeof err);
		if (rc == WA_EINVAL) {
			bad_request(c, err);
			return;
		}
		if (rc != 0) {
			wamd_reply_error(c, 500, json_pack("[s]", err));
			return;
		}
	}
	json_t *o = wamd_pace_info(t);
	if (!o) {
		wamd_reply_error(c, 500, json_string("out of memory"));
		return;
	}
	wamd_reply_json(c, c->method == M_POST ? 201 : 200, o);
}

/* DELETE /wamd/paceQueue/{instance}?id=<message id>: cancels a held send */
void wamd_h_pace_cancel(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	char b[64];
	const char *id = lws_get_urlarg_by_name(c->wsi, "id=", b, sizeof b);
	if (!id)
		id = jstr(body, "id");
	if (!id || !*id) {
		bad_request(c, "give the held send's message id (?id=)");
		return;
	}
	json_t *o = NULL;
	int rc = wamd_pace_cancel(t, id, &o);
	if (rc == WA_ENOTFOUND || rc == WA_EINVAL)
		wamd_reply_error(c, 404, msg1("No held send with id \"%s\" (unknown, or it has left)", id));
	else if (rc != 0)
		wamd_reply_error(c, 500, json_pack("[s]", wa_strerror(rc)));
	else
		wamd_reply_json(c, 200, o);
}

/* GET /wamd/paceQueue/{instance}?limit=N */
void wamd_h_pace_queue(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	(void)body;
	char b[32];
	const char *l = lws_get_urlarg_by_name(c->wsi, "limit=", b, sizeof b);
	long limit = 100;
	if (l) {
		char *end = NULL;
		limit = strtol(l, &end, 10);
		if (!*l || *end || limit < 1 || limit > QUEUE_LIST_MAX) {
			bad_request(c, "limit must be 1..1000");
			return;
		}
	}
	json_t *o = wamd_pace_queue(t, (size_t)limit);
	if (!o) {
		wamd_reply_error(c, 500, json_string("out of memory"));
		return;
	}
	wamd_reply_json(c, 200, o);
}

/* POST /wamd/bulk/{instance}: a bulk job; GET [?id=]: its progress, or every job's */
void wamd_h_bulk(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	json_t *o = NULL;
	(void)body; /* a POST's is read off the loop, from c->body */
	if (c->method == M_POST) {
		static const char *const retry[] = { "retry-after:", "1", NULL };
		char *raw = c->body;
		size_t len = c->body_len;
		c->body = NULL; /* the job's now */
		c->body_len = 0;
		int rc = wamd_pace_bulk_create(c, t, raw, len); /* 0: it answers */
		if (rc == WA_ETOOBIG) {
			c->resp_headers = retry;
			wamd_reply_error(c, 503, msg1("The daemon is reading %d bulk job lists already: try again in a moment",
						      WAMD_BULK_READS_MAX));
		} else if (rc != 0) {
			wamd_reply_error(c, 500, json_pack("[s]", wa_strerror(rc)));
		}
		return;
	}
	char b[64];
	const char *id = lws_get_urlarg_by_name(c->wsi, "id=", b, sizeof b);
	o = wamd_pace_bulk_get(t, id);
	if (!o)
		wamd_reply_error(c, 404, msg1("No bulk job \"%s\"", id ? id : ""));
	else
		wamd_reply_json(c, 200, o);
}

/* POST /wamd/bulkAction/{instance} {"id", "action": "pause"|"resume"|"cancel"} */
void wamd_h_bulk_action(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	const char *id = jstr(body, "id"), *action = jstr(body, "action");
	if (!id || !action) {
		bad_request(c, "give the job's id and an action: pause, resume or cancel");
		return;
	}
	json_t *o = NULL;
	int rc = wamd_pace_bulk_action(t, id, action, &o);
	if (rc == WA_ENOTFOUND)
		wamd_reply_error(c, 404, msg1("No bulk job \"%s\"", id));
	else if (rc == WA_EINVAL)
		bad_request(c, "action must be pause, resume or cancel");
	else if (rc == WA_ESTATE)
		bad_request(c, "the job is over (cancelled or done)");
	else if (rc != 0)
		wamd_reply_error(c, 500, json_pack("[s]", wa_strerror(rc)));
	else
		wamd_reply_json(c, 200, o);
}

/* POST /wamd/testClock {"nowMs"} or {"advanceMs"}: tests only */
void wamd_h_test_clock(struct wamd_conn *c, struct wamd_tenant *unused, json_t *body)
{
	(void)unused;
	json_t *now = json_object_get(body, "nowMs"), *adv = json_object_get(body, "advanceMs");
	if ((now && !json_is_integer(now)) || (adv && !json_is_integer(adv)) || (!now == !adv) ||
	    (adv && json_integer_value(adv) < 0)) {
		bad_request(c, "give nowMs or advanceMs (a non-negative integer)");
		return;
	}
	int64_t to = now ? json_integer_value(now) : wamd_pace_now(c->d) + json_integer_value(adv);
	json_t *rel = NULL;
	if (wamd_pace_clock_set(c->d, to, &rel) != 0) {
		wamd_reply_error(c, 404, json_pack("[s]", "the test clock is off (debug builds, WAMD_TEST_CLOCK_MS)"));
		return;
	}
	wamd_reply_json(c, 200, json_pack("{s:I, s:o}", "nowMs", (json_int_t)wamd_pace_now(c->d), "released", rel));
}

bool wamd_send_at_of(struct wamd_conn *c, json_t *body, int64_t *at)
{
	*at = 0;
	int64_t ms = wamd_send_at_parse(json_object_get(body, "sendAt"));
	if (ms < 0) {
		bad_request(c, WAMD_SEND_AT_BAD);
		return false;
	}
	if (ms > wamd_pace_now(c->d) + WAMD_SEND_AT_MAX_AHEAD_MS) {
		bad_request(c, WAMD_SEND_AT_FAR);
		return false;
	}
	*at = ms; /* the past or now: it leaves as a send without one */
	return true;
}
