/* Offline batches. A server that has a backlog for us may announce it with
 * <ib><offline_preview count message receipt notification .../> and then
 * deliver it only in batches we ask for with <ib><offline_batch count/>
 * (Baileys asks once for 100); after the last batch it sends
 * <ib><offline count/>. We ask for WA_OFFLINE_BATCH at a time, and for the
 * next batch once the current one has been handled (each offline stanza is
 * counted after its handler ran), so the server never waits on us; should
 * nothing arrive for WA_OFFLINE_STALL_MS while the backlog is not over, we
 * ask again. Progress is logged (debug, as all of libwa) per batch:
 * "offline: R/N received, batch B". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session/msgstate.h"
#include "util/log.h"

#define MOD "msg"

static void request(wa_session *s)
{
	wa_msg_state *m = s->msg;
	char n[16];
	snprintf(n, sizeof n, "%u", WA_OFFLINE_BATCH);
	wa_node *ib = NULL, *b;
	int rc = wa_node_new(&ib, "ib");
	if (rc == 0)
		rc = wa_node_add_new(ib, "offline_batch", &b);
	if (rc == 0)
		rc = wa_node_set_attr(b, "count", n);
	if (rc == 0)
		rc = wa_conn_send_node(s, ib);
	wa_node_free(ib);
	if (rc == 0) {
		m->off_left = WA_OFFLINE_BATCH;
		m->off_batches++;
	}
	if (m->t_off_ok)
		wa_stimer_set(&m->t_off, WA_OFFLINE_STALL_MS);
}

static unsigned attr_u(const wa_node *n, const char *k)
{
	const char *v = wa_node_attr(n, k);
	long long x = v ? strtoll(v, NULL, 10) : 0;
	return x > 0 && x < 100000000 ? (unsigned)x : 0;
}

bool wa_msg_offline_ib(wa_session *s, const wa_node *ib)
{
	wa_msg_state *m = s->msg;
	const wa_node *pv = wa_node_child(ib, "offline_preview");
	const wa_node *done = wa_node_child(ib, "offline");
	if (!m || (!pv && !done))
		return false;
	if (pv) {
		m->off_active = true;
		m->off_total = attr_u(pv, "count");
		m->off_got = 0;
		m->off_batches = 0;
		WA_DEBUG(MOD, "[%lld] offline: %u queued (messages %u, receipts %u, notifications %u)",
			(long long)s->instance_id, m->off_total, attr_u(pv, "message"), attr_u(pv, "receipt"),
			attr_u(pv, "notification"));
		request(s);
	} else {
		if (m->off_active || m->off_got)
			WA_DEBUG(MOD, "[%lld] offline: done, %u received in %u batch(es)", (long long)s->instance_id,
				m->off_got, m->off_batches);
		m->off_active = false;
		if (m->t_off_ok)
			wa_stimer_cancel(&m->t_off);
	}
	return true;
}

void wa_msg_offline_seen(wa_session *s)
{
	wa_msg_state *m = s->msg;
	if (!m || !m->off_active)
		return;
	m->off_got++;
	if (m->off_left)
		m->off_left--;
	if (m->off_left == 0) {
		WA_DEBUG(MOD, "[%lld] offline: %u/%u received, batch %u", (long long)s->instance_id, m->off_got,
			m->off_total, m->off_batches);
		request(s);
	} else if (m->t_off_ok) {
		wa_stimer_set(&m->t_off, WA_OFFLINE_STALL_MS);
	}
}

void wa_msg_on_offline_timer(wa_session *s)
{
	wa_msg_state *m = s->msg;
	if (!m || !m->off_active || !ready(s))
		return;
	WA_DEBUG(MOD, "[%lld] offline: nothing for %u ms at %u/%u, asking again", (long long)s->instance_id,
		WA_OFFLINE_STALL_MS, m->off_got, m->off_total);
	request(s);
}
