/* Stanzas sent on the current connection and not yet acked by the server,
 * the ack deadline (resend on the live connection, then recycle it), and
 * the server's <ack class="message">: SENT, or ERROR when it refuses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session/groups.h"
#include "session/msgstate.h"
#include "util/log.h"

#define MOD "msg"

/* A stanza sent on the current connection and not yet acked. After a
 * missed deadline the entry stays (deadline INT64_MAX) while its row is
 * requeued, so the resend finds it and `resends` counts per connection. */
typedef struct wa_msg_inflight {
	char id[WA_MSG_ID_MAX + 1];
	char chat[WA_STORE_JID_MAX];
	int64_t row;
	int64_t deadline;
	unsigned resends;
	struct wa_msg_inflight *next;
} inflight;

void wa_msg_arm_ack_timer(wa_session *s)
{
	wa_msg_state *m = s->msg;
	if (!m->t_ack_ok)
		return;
	int64_t first = INT64_MAX;
	for (inflight *f = m->fl; f; f = f->next)
		if (f->deadline < first)
			first = f->deadline;
	if (first == INT64_MAX) {
		wa_stimer_cancel(&m->t_ack);
		return;
	}
	int64_t d = first - wa_mono_ms();
	wa_stimer_set(&m->t_ack, d < 1 ? 1 : (uint32_t)(d > 0x7fffffff ? 0x7fffffff : d));
}

void wa_msg_inflight_add(wa_session *s, int64_t row, const char *id, const char *chat)
{
	inflight *f = s->msg->fl;
	while (f && f->row != row)
		f = f->next;
	if (!f) {
		f = calloc(1, sizeof *f);
		if (!f)
			return; /* the ack then only updates the status; the row stays SENDING until requeued */
		f->row = row;
		f->next = s->msg->fl;
		s->msg->fl = f;
	}
	snprintf(f->id, sizeof f->id, "%s", id);
	snprintf(f->chat, sizeof f->chat, "%s", chat);
	f->deadline = wa_mono_ms() + (s->ack_timeout_ms ? s->ack_timeout_ms : WA_MSG_ACK_TIMEOUT_MS);
	wa_msg_arm_ack_timer(s);
}

static inflight *inflight_take(wa_msg_state *m, const char *id)
{
	for (inflight **pp = &m->fl; *pp; pp = &(*pp)->next) {
		if (strcmp((*pp)->id, id) == 0) {
			inflight *f = *pp;
			*pp = f->next;
			return f;
		}
	}
	return NULL;
}

bool wa_msg_inflight_take(wa_msg_state *m, const char *id, int64_t *row)
{
	inflight *f = inflight_take(m, id);
	if (!f)
		return false;
	*row = f->row;
	free(f);
	return true;
}

void wa_msg_inflight_clear(wa_msg_state *m)
{
	while (m->fl) {
		inflight *f = m->fl;
		m->fl = f->next;
		free(f);
	}
}

/* A missed ack deadline resends the recorded stanza on the same connection
 * (a lost ack or stanza on a live connection). After WA_MSG_MAX_ACK_RESENDS
 * resends of one stanza the connection itself is suspect (the keep-alive
 * may still be answered by a server that drops our messages): it is
 * recycled, and after the reconnect every unacked row goes out again from
 * the outbox. */
void wa_msg_on_ack_timer(wa_session *s)
{
	wa_msg_state *m = s->msg;
	if (!m)
		return;
	int64_t now = wa_mono_ms();
	bool any = false;
	for (inflight *f = m->fl; f; f = f->next) {
		if (f->deadline > now)
			continue;
		if (f->resends >= WA_MSG_MAX_ACK_RESENDS) {
			WA_DEBUG(MOD, "[%lld] no server ack for %s after %u resends: recycling the connection",
				(long long)s->instance_id, f->id, f->resends);
			/* tears down (msg_on_close frees m->fl); READY requeues */
			wa_conn_fail(s, WA_DISC_TIMEOUT, WA_ETIMEOUT);
			return;
		}
		WA_DEBUG(MOD, "[%lld] no server ack for %s: resending", (long long)s->instance_id, f->id);
		ign(wa_store_outbox_set_state(s->store, s->instance_id, f->row, WA_STORE_OUTBOX_QUEUED));
		f->resends++;
		f->deadline = INT64_MAX; /* until pump sends it again */
		any = true;
	}
	wa_msg_arm_ack_timer(s);
	if (any)
		wa_msg_pump(s);
}

int wa_msg_handle_ack(wa_session *s, const wa_node *n)
{
	wa_in_ack a;
	if (!s->msg || wa_in_ack_parse(n, &a) != 0 || strcmp(a.class_, "message") != 0)
		return 0;
	inflight *f = inflight_take(s->msg, a.id);
	if (!f)
		return 0;
	char gj[WA_STORE_JID_MAX];
	/* the server's participant hash differs from ours: our list is stale */
	if (wa_node_attr(n, "phash") && wa_group_jid_norm(f->chat, gj))
		wa_msg_group_stale(s, gj);
	if (a.error) {
		WA_DEBUG(MOD, "[%lld] server refused %s: error %d", (long long)s->instance_id, a.id, a.error);
		ign(wa_store_outbox_set_state(s->store, s->instance_id, f->row, WA_STORE_OUTBOX_FAILED));
		char why[48];
		snprintf(why, sizeof why, "server refused: %d", a.error);
		wa_msg_set_status_err(s, f->chat, a.id, WA_MSG_ERROR, WA_EPROTO, why);
		if (a.error == 463)
			wa_msg_tctoken_refused(s, f->chat);
	} else {
		/* one commit for both rows (each write alone would be its own);
		 * the event after it, as a handler may send from it */
		bool tx = wa_store_begin_grouped(s->store) == 0, changed = false;
		ign(wa_store_outbox_set_state(s->store, s->instance_id, f->row, WA_STORE_OUTBOX_SENT));
		wa_msg_raise_status(s, f->chat, a.id, WA_MSG_SENT, &changed);
		if (tx && wa_store_commit(s->store) != 0)
			changed = false;
		if (!changed)
			s->status_recorded = false; /* rolled back with it */
		if (changed)
			wa_msg_emit_status_committed(s, f->chat, a.id, WA_MSG_SENT);
	}
	free(f);
	wa_msg_arm_ack_timer(s);
	return 0;
}
