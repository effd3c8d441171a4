/* What Evolution does before every send to a number: look it up ("on
 * WhatsApp?", answered by libwa's cache most of the time) and answer 400
 * with the lookup object when it is not, before anything is queued (while
 * the instance is not connected, the outbox takes it unchecked); then
 * show "composing" for `delay` ms, and only then run the send route. The
 * request waits meanwhile (a ticket that outlives the connection, as
 * whatsappNumbers'). */
#include <stdlib.h>
#include <string.h>

#include "wamd_routes.h"

#define MAX_DELAY_MS (10 * 60 * 1000)

struct send_wait {
	struct wamd_ticket tk; /* first: the engine's answer comes back with it */
	struct wamd *d;
	char tenant[WA_STORE_NAME_MAX];
	handler_fn fn;
	json_t *body;
	char jid[WA_STORE_JID_MAX];
	int64_t delay_ms;
	lws_sorted_usec_list_t sul;
};

/* the body whose send has passed its check (one event loop: at most one) */
static json_t *checked_body;

static void sw_free(struct send_wait *sw)
{
	if (sw->tk.c)
		sw->tk.c->ticket = NULL;
	json_decref(sw->body);
	free(sw);
}

static void run(struct send_wait *sw)
{
	struct wamd_conn *c = sw->tk.c;
	struct wamd_tenant *t = c ? wamd_tenant_find(sw->d, sw->tenant) : NULL;
	if (c && sw->delay_ms && t && wamd_tenant_presence(t, sw->jid, "paused") != 0)
		LOGD("instance %s: paused not sent", sw->tenant);
	if (c) {
		c->ticket = NULL;
		sw->tk.c = NULL;
		if (!t) {
			wamd_reply_error(c, 404, msg1("The \"%s\" instance does not exist", sw->tenant));
		} else {
			checked_body = sw->body;
			sw->fn(c, t, sw->body);
			checked_body = NULL;
		}
	}
	sw_free(sw);
}

static void delay_done(lws_sorted_usec_list_t *sul)
{
	run(lws_container_of(sul, struct send_wait, sul));
}

static void on_checked(struct wamd_ticket *tk, int err, json_t *result)
{
	struct send_wait *sw = (struct send_wait *)tk;
	struct wamd_conn *c = tk->c;
	json_t *r0 = json_array_get(result, 0);
	bool exists = json_is_true(json_object_get(r0, "exists"));
	json_decref(result);
	if (!c) {
		sw_free(sw);
		return;
	}
	/* only a definite "not on WhatsApp" refuses the send; a lookup that
	 * failed (timeout, lost connection) leaves it to the outbox, which
	 * retries and reports through the message's status */
	if (err == 0 && !exists) {
		sw->tk.c = NULL;
		c->ticket = NULL;
		wamd_reply_error(c, 400, json_pack("[{s:s, s:b, s:s}]", "jid", sw->jid, "exists", 0, "number",
						   jstr(sw->body, "number")));
		sw_free(sw);
		return;
	}
	struct wamd_tenant *t = wamd_tenant_find(sw->d, sw->tenant);
	if (sw->delay_ms > 0 && t) {
		if (wamd_tenant_presence(t, sw->jid, "composing") != 0)
			LOGD("instance %s: composing not sent", sw->tenant);
		lws_sul_schedule(sw->d->ctx, 0, &sw->sul, delay_done, (lws_usec_t)sw->delay_ms * LWS_US_PER_MS);
		return;
	}
	run(sw);
}

bool wamd_send_checked(struct wamd_conn *c, struct wamd_tenant *t, json_t *body, const char *jid, handler_fn fn)
{
	if (body == checked_body || t->peeked)
		return true; /* checked, or another node's (cluster): its owner's outbox gives a number up */
	json_int_t delay = json_integer_value(json_object_get(body, "delay"));
	bool phone = strstr(jid, "@s.whatsapp.net") != NULL;
	if (!phone && delay <= 0)
		return true; /* groups and LIDs: no lookup (as Evolution), no wait */
	struct send_wait *sw = calloc(1, sizeof *sw);
	if (!sw) {
		wamd_reply_error(c, 500, json_string("out of memory"));
		return false;
	}
	sw->d = c->d;
	snprintf(sw->tenant, sizeof sw->tenant, "%s", t->name);
	sw->fn = fn;
	sw->body = json_incref(body);
	snprintf(sw->jid, sizeof sw->jid, "%s", jid);
	sw->delay_ms = delay < 0 ? 0 : delay > MAX_DELAY_MS ? MAX_DELAY_MS : delay;
	sw->tk.c = c;
	sw->tk.then = on_checked;
	c->ticket = &sw->tk;
	if (!phone) {
		on_checked(&sw->tk, 0, json_pack("[{s:b}]", "exists", 1));
		return false;
	}
	char digits[WA_STORE_JID_MAX];
	snprintf(digits, sizeof digits, "%.*s", (int)strcspn(jid, "@"), jid);
	const char *list[1] = { digits };
	int rc = wamd_tenant_check_numbers(t, list, 1, &sw->tk); /* may answer at once (cached) */
	if (rc != 0) {
		/* not connected right now: the durable outbox takes the send
		 * unchecked (it gives a number not on WhatsApp up later, as ERROR) */
		sw->tk.c = NULL;
		c->ticket = NULL;
		sw_free(sw);
		return true;
	}
	return false;
}
