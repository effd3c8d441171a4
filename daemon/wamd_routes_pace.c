/* wamd's pacing routes (additive to Evolution's): an instance's pacing
 * settings and state, its queue with positions and expected send times,
 * and the test clock (debug builds with WAMD_TEST_CLOCK_MS only). */
#include <stdlib.h>
#include <string.h>

#include "wamd_pace.h"
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
