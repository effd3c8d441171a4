/* The messaging half of a wa_session (msgstate.h has the map): its state
 * and lifecycle (created with the session, READY requeues the outbox and
 * pumps, close drops what assumed the socket, free), the offline drain's
 * handle, and the queue of identity-change events raised inside crypto
 * steps. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session/msgstate.h"
#include "util/log.h"

#define MOD "msg"

/* ---------------- identity-change events ---------------- */

/* wa_sig's callback: queued (by user JID) until the crypto step ends. */
static void on_identity_changed(const char *name, int32_t device, void *user)
{
	wa_session *s = user;
	wa_msg_state *m = s->msg;
	(void)device;
	if (!m || m->n_pending >= WA_MSG_MAX_PENDING_EVENTS)
		return;
	char dst[WA_STORE_JID_MAX + 8];
	size_t nl = strlen(name);
	if (nl > 2 && strcmp(name + nl - 2, "_1") == 0)
		snprintf(dst, sizeof dst, "%.*s@lid", (int)(nl - 2), name);
	else if (!strchr(name, '_'))
		snprintf(dst, sizeof dst, "%s@s.whatsapp.net", name);
	else
		return;
	if (!m->pending_ident && !(m->pending_ident = malloc(WA_MSG_MAX_PENDING_EVENTS * sizeof *m->pending_ident)))
		return;
	if ((m->pending_ident[m->n_pending] = strdup(dst)) != NULL)
		m->n_pending++;
}

void wa_msg_pending_drop(wa_msg_state *m)
{
	for (size_t i = 0; i < m->n_pending; i++)
		free(m->pending_ident[i]);
	m->n_pending = 0;
	free(m->pending_ident);
	m->pending_ident = NULL;
}

/* Emits identity changes queued during a crypto step (the callback must not
 * re-enter wa_sig, and an embedder may send from its event handler). */
void wa_msg_flush_identity(wa_session *s)
{
	wa_msg_state *m = s->msg;
	for (size_t i = 0; m && i < m->n_pending; i++) {
		wa_event ev = {.type = WA_EV_IDENTITY_CHANGED};
		ev.u.identity.jid = m->pending_ident[i];
		wa_session_emit(s, &ev);
	}
	if (m)
		wa_msg_pending_drop(m);
}

/* ---------------- lifecycle ---------------- */

wa_drain *wa_msg_drain(wa_session *s)
{
	return s && s->msg ? s->msg->drain : NULL;
}

static int msg_init(wa_session *s)
{
	wa_msg_state *m = calloc(1, sizeof *m);
	if (!m)
		return WA_ENOMEM;
	s->msg = m;
	int rc = wa_stimer_init(s, &m->t_ack, wa_msg_on_ack_timer);
	if (rc != 0)
		return rc;
	m->t_ack_ok = true;
	rc = wa_stimer_init(s, &m->t_prep, wa_msg_on_prep_timer);
	if (rc != 0)
		return rc;
	m->t_prep_ok = true;
	rc = wa_stimer_init(s, &m->t_off, wa_msg_on_offline_timer);
	if (rc != 0)
		return rc;
	m->t_off_ok = true;
	return wa_drain_new(s, &m->drain);
}

static void msg_on_ready(wa_session *s)
{
	wa_msg_state *m = s->msg;
	if (!m)
		return;
	wa_sig_set_identity_callback(s->sig, on_identity_changed, s);
	if (wa_session_me_jid(s) && wa_session_me_lid(s))
		wa_msg_learn_mapping(s, wa_session_me_jid(s), wa_session_me_lid(s));
	size_t n = 0;
	ign(wa_store_outbox_requeue(s->store, s->instance_id, &n));
	if (n)
		WA_DEBUG(MOD, "[%lld] %zu unacked message(s) requeued", (long long)s->instance_id, n);
	wa_msg_inflight_clear(m);
	m->ready = true;
	m->gen++;
	wa_msg_holds_clear(m);
	if (m->t_prep_ok)
		wa_stimer_cancel(&m->t_prep);
	wa_msg_presence_on_ready(s);
	wa_msg_pump(s);
}

static void msg_on_close(wa_session *s)
{
	wa_msg_state *m = s->msg;
	if (!m)
		return;
	m->ready = false;
	s->online = false;
	m->off_active = false;
	if (m->t_off_ok)
		wa_stimer_cancel(&m->t_off);
	wa_drain_close(m->drain); /* commit the open group now */
	wa_msg_inflight_clear(m);
	if (m->t_ack_ok)
		wa_stimer_cancel(&m->t_ack);
	wa_msg_holds_clear(m);
	if (m->t_prep_ok)
		wa_stimer_cancel(&m->t_prep);
	if (m->job) {
		wa_msg_job_free(m->job);
		m->job = NULL;
	}
}

static void msg_free(wa_session *s)
{
	wa_msg_state *m = s->msg;
	if (!m)
		return;
	msg_on_close(s);
	wa_media_free(s);
	wa_drain_free(m->drain);
	m->drain = NULL;
	if (m->t_ack_ok)
		wa_stimer_clear(&m->t_ack);
	if (m->t_prep_ok)
		wa_stimer_clear(&m->t_prep);
	if (m->t_off_ok)
		wa_stimer_clear(&m->t_off);
	wa_msg_devcache_clear(m);
	wa_gstate_clear(m);
	wa_msg_retries_clear(m);
	wa_msg_numbers_clear(m);
	wa_msg_recent_clear(m);
	wa_msg_pending_drop(m);
	if (s->sig)
		wa_sig_set_identity_callback(s->sig, NULL, NULL);
	free(m->calls);
	free(m);
	s->msg = NULL;
}

const wa_session_ext wa_msg_ext = {
	.name = "messaging",
	.init = msg_init,
	.on_ready = msg_on_ready,
	.on_close = msg_on_close,
	.free = msg_free,
};
