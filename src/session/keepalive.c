/* src/session/keepalive.c: the keep-alive timer of a connection (its
 * t_keepalive, armed by conn.c once the transport is up). */
#include "session/internal.h"
#include "util/log.h"

#define MOD "session"


/* ---- keep-alive (§5.4): a w:p ping every WA_SESSION_KEEPALIVE_MS; a
 * connection that stayed silent for WA_SESSION_DEAD_MS is dead ---- */

static void on_ping_answer(wa_session *s, int err, const wa_node *resp, void *user)
{
	(void)resp;
	(void)user;
	if (err == WA_ETIMEOUT)
		WA_DEBUG(MOD, "[%lld/%u] ping unanswered", (long long)s->instance_id, s->gen);
}

void wa_conn_on_keepalive(wa_session *s)
{
	if (!s->nt)
		return;
	int64_t now = s->drv->now_ms(s->drv_ctx);
	if (now - s->last_rx_ms >= (int64_t)WA_SESSION_DEAD_MS) {
		wa_conn_fail(s, WA_DISC_TIMEOUT, WA_ETIMEOUT);
		return;
	}
	wa_node *iq = NULL, *ping;
	int rc = wa_node_new(&iq, "iq");
	if (rc == 0 && (rc = wa_node_set_attr(iq, "to", "@s.whatsapp.net")) == 0 &&
	    (rc = wa_node_set_attr(iq, "type", "get")) == 0 &&
	    (rc = wa_node_set_attr(iq, "xmlns", "w:p")) == 0 &&
	    (rc = wa_node_add_new(iq, "ping", &ping)) == 0)
		rc = wa_iq_send(s, iq, WA_SESSION_PING_TIMEOUT_MS, on_ping_answer, NULL);
	wa_node_free(iq);
	if (rc)
		WA_DEBUG(MOD, "[%lld/%u] ping not sent: %s", (long long)s->instance_id, s->gen,
			wa_errname(rc));
	/* the dead check runs at the next tick or earlier if silence would
	 * pass the limit before it */
	int64_t left = s->last_rx_ms + WA_SESSION_DEAD_MS - now;
	wa_stimer_set(&s->t_keepalive,
		left > 0 && left < WA_SESSION_KEEPALIVE_MS ? (uint32_t)left : WA_SESSION_KEEPALIVE_MS);
}
