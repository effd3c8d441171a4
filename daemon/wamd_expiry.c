/* Disappearing messages kept no longer than the chat allows: for an
 * instance with the setting wamdExpireMessages, a message record that
 * carries a timer (contextInfo.expiration, the chat's as the sender set
 * it; ours carry the chat's or the group's) is stored with expires_at =
 * its timestamp + the timer, i.e. counted from its send (ours) or the
 * sender's send time (received), as WhatsApp's clients count it. One
 * timer, at the earliest expiry in the store, removes the due records (and
 * the session engine's copies) in batches of EXPIRE_BATCH per loop turn,
 * so a day's worth coming due at once never holds the loop. wamd keeps no
 * media bytes (staged uploads go once sent, downloads are not kept), so a
 * record is all there is to remove. */
#include <stdio.h>
#include <string.h>

#include "wamd.h"

#define EXPIRE_BATCH 200
/* checked at least this often all the same: the wall clock may be moved */
#define EXPIRE_MAX_WAIT_S 3600
#define EXPIRE_RETRY_S 60
/* a timer far beyond any WhatsApp offers (90 days) is clamped to this */
#define EXPIRE_TIMER_MAX_S (10LL * 366 * 86400)

static struct {
	struct wamd *d;
	lws_sorted_usec_list_t sul;
	bool armed;
	int64_t at_ms;
} X;

static void on_timer(lws_sorted_usec_list_t *sul);

static void arm_ms(int64_t at_ms)
{
	int64_t now = wamd_now_ms();
	int64_t wait = at_ms - now;
	if (wait < 0)
		wait = 0;
	if (wait > EXPIRE_MAX_WAIT_S * 1000)
		wait = EXPIRE_MAX_WAIT_S * 1000;
	X.armed = true;
	X.at_ms = now + wait;
	lws_sul_schedule(X.d->ctx, 0, &X.sul, on_timer, (lws_usec_t)wait * LWS_US_PER_MS);
}

static void arm_next(void)
{
	int64_t at = 0;
	int rc = wa_store_msgrec_next_expiry(X.d->store, &at);
	if (rc != 0) {
		LOGW("disappearing messages: next expiry not read: %s", wa_errname(rc));
		arm_ms(wamd_now_ms() + EXPIRE_RETRY_S * 1000);
	} else if (at > 0) {
		arm_ms(at * 1000);
	}
}

static void on_timer(lws_sorted_usec_list_t *sul)
{
	(void)sul;
	X.armed = false;
	int n = 0;
	int rc = wa_store_msgrec_expire(X.d->store, wamd_now_ms() / 1000, EXPIRE_BATCH, &n);
	if (rc != 0) {
		LOGW("disappearing messages: expired records not removed: %s", wa_errname(rc));
		arm_ms(wamd_now_ms() + EXPIRE_RETRY_S * 1000);
		return;
	}
	if (n > 0)
		LOGD("disappearing messages: %d expired records removed", n);
	if (n == EXPIRE_BATCH)
		arm_ms(wamd_now_ms() + 1); /* more are due: after the loop's other work */
	else
		arm_next();
}

/* contextInfo.expiration of the record's content: lifted to the top for
 * texts, in the kind's own object otherwise, one wrapper deep for view
 * once (and the ephemeral wrapper if a sender kept it). */
static int64_t content_timer(json_t *msg, int depth)
{
	const char *k;
	json_t *v;
	json_object_foreach(msg, k, v) {
		if (!json_is_object(v))
			continue;
		json_t *e = json_object_get(json_object_get(v, "contextInfo"), "expiration");
		if (json_is_integer(e) && json_integer_value(e) > 0)
			return json_integer_value(e);
		json_t *inner = json_object_get(v, "message");
		if (depth < 2 && json_is_object(inner)) {
			int64_t t = content_timer(inner, depth + 1);
			if (t > 0)
				return t;
		}
	}
	return 0;
}

int64_t wamd_record_expires_at(struct wamd_tenant *t, json_t *rec, int64_t ts, uint32_t sent_timer)
{
	if (!wamd_setting_on(t, "wamdExpireMessages") || ts <= 0)
		return 0;
	json_t *e = json_object_get(json_object_get(rec, "contextInfo"), "expiration");
	int64_t timer = json_is_integer(e) ? json_integer_value(e) : 0;
	if (timer <= 0)
		timer = content_timer(json_object_get(rec, "message"), 0);
	if (timer <= 0)
		timer = sent_timer;
	if (timer <= 0)
		return 0;
	if (timer > EXPIRE_TIMER_MAX_S)
		timer = EXPIRE_TIMER_MAX_S;
	return ts + timer;
}

void wamd_expiry_note(int64_t expires_at)
{
	if (!X.d || expires_at <= 0)
		return;
	if (!X.armed || expires_at * 1000 < X.at_ms)
		arm_ms(expires_at * 1000);
}

void wamd_expiry_start(struct wamd *d)
{
	X.d = d;
	arm_next();
}

void wamd_expiry_stop(void)
{
	if (X.d)
		lws_sul_cancel(&X.sul);
	X.d = NULL;
	X.armed = false;
}
