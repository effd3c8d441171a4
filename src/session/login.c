/* src/session/login.c: the stanzas that end or steer a connection, as
 * dispatch.c hands them over: <success> (login done: READY, pre-keys,
 * passive -> active), <failure>, <stream:error>, </stream:stream>, <ib>
 * edge routing, and <iq> (responses, pairing, pings). What they mean for
 * the FSM is decided by wa_conn_fail in conn.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session/internal.h"
#include "session/pair.h"
#include "util/log.h"
#include "util/seams.h"

#define MOD "session"

/* ---- handlers of the connection half ---- */

static void on_passive_answer(wa_session *s, int err, const wa_node *resp, void *user)
{
	(void)resp;
	(void)user;
	if (err)
		WA_DEBUG(MOD, "[%lld/%u] passive/active failed: %s", (long long)s->instance_id, s->gen,
			wa_errname(err));
}

int wa_handle_success(wa_session *s, const wa_node *n)
{
	if (s->state != WA_CONN_AUTHENTICATING)
		return WA_ESTATE;
	wa_stimer_cancel(&s->t_deadline);
	const char *t = wa_node_attr(n, "t");
	if (t) {
		long long v = strtoll(t, NULL, 10);
		if (v > 0)
			s->server_time_offset_s = v - wa_now_ms() / 1000;
	}
	const char *lid = wa_node_attr(n, "lid");
	if (lid && strlen(lid) < sizeof s->creds->me_lid && strcmp(lid, s->creds->me_lid) != 0) {
		snprintf(s->creds->me_lid, sizeof s->creds->me_lid, "%s", lid);
		int rc = wa_store_creds_save(s->store, s->instance_id, s->creds);
		if (rc)
			WA_DEBUG(MOD, "[%lld] saving own LID failed: %s", (long long)s->instance_id,
				wa_errname(rc));
	}
	s->attempt = 0;
	wa_conn_set_state(s, WA_CONN_READY, WA_DISC_NONE);
	/* §5.1: pre-key count (upload if low), then passive -> active */
	unsigned gen = s->gen;
	int rc = wa_prekeys_check(s);
	if (rc)
		WA_DEBUG(MOD, "[%lld/%u] pre-key check not sent: %s", (long long)s->instance_id, s->gen,
			wa_errname(rc));
	wa_node *iq = NULL, *active;
	rc = wa_node_new(&iq, "iq");
	if (rc == 0 && (rc = wa_node_set_attr(iq, "to", "@s.whatsapp.net")) == 0 &&
	    (rc = wa_node_set_attr(iq, "xmlns", "passive")) == 0 &&
	    (rc = wa_node_set_attr(iq, "type", "set")) == 0 &&
	    (rc = wa_node_add_new(iq, "active", &active)) == 0)
		rc = wa_iq_send(s, iq, 0, on_passive_answer, NULL);
	wa_node_free(iq);
	if (s->gen != gen || s->state != WA_CONN_READY)
		return 0;
	wa_event ev = {.type = WA_EV_CONNECTED};
	ev.u.state.state = WA_CONN_READY;
	wa_session_emit(s, &ev);
	for (const wa_session_ext *const *e = wa_session_exts; *e; e++)
		if ((*e)->on_ready && s->gen == gen && s->state == WA_CONN_READY)
			(*e)->on_ready(s);
	return rc;
}

/* <failure reason=N>: 401/403/406 mean this device is gone (whatsmeow's
 * set); 405 that our client version is refused as outdated (not retried);
 * everything else is retried. */
int wa_handle_failure(wa_session *s, const wa_node *n)
{
	const char *r = wa_node_attr(n, "reason");
	int code = r ? atoi(r) : 0;
	if (code == 401 || code == 403 || code == 406)
		wa_conn_fail(s, WA_DISC_LOGGED_OUT, WA_ELOGGED_OUT);
	else if (code == 405)
		wa_conn_fail(s, WA_DISC_CLIENT_OUTDATED, WA_EPROTO);
	else
		wa_conn_fail(s, WA_DISC_SERVER_ERROR, WA_EPROTO);
	return 0;
}

/* <stream:error> (§5.3): status = code, else 440 for a <conflict> child,
 * else 500 (Baileys' rule); device_removed is a logout. */
int wa_handle_stream_error(wa_session *s, const wa_node *n)
{
	const char *c = wa_node_attr(n, "code");
	int code = c ? atoi(c) : 0;
	const wa_node *conflict = wa_node_child(n, "conflict");
	const char *ctype = conflict ? wa_node_attr(conflict, "type") : NULL;
	if (!c)
		code = conflict ? 440 : 500;
	if (ctype && strcmp(ctype, "device_removed") == 0)
		code = 401;
	else if (ctype && strcmp(ctype, "replaced") == 0)
		code = 440;
	WA_DEBUG(MOD, "[%lld/%u] stream:error %d", (long long)s->instance_id, s->gen, code);
	switch (code) {
	case 515:
		wa_conn_fail(s, WA_DISC_RESTART_REQUIRED, WA_ECLOSED);
		break;
	case 401:
	case 516:
		wa_conn_fail(s, WA_DISC_LOGGED_OUT, WA_ELOGGED_OUT);
		break;
	case 440:
		wa_conn_fail(s, WA_DISC_REPLACED, WA_ECLOSED);
		break;
	default:
		wa_conn_fail(s, WA_DISC_SERVER_ERROR, WA_EPROTO);
		break;
	}
	return 0;
}

int wa_handle_stream_end(wa_session *s, const wa_node *n)
{
	(void)n;
	wa_conn_fail(s, WA_DISC_NETWORK, WA_ECLOSED);
	return 0;
}

int wa_handle_ib(wa_session *s, const wa_node *n)
{
	const wa_node *er = wa_node_child(n, "edge_routing");
	const wa_node *ri = er ? wa_node_child(er, "routing_info") : NULL;
	const uint8_t *p;
	size_t len;
	if (wa_msg_offline_ib(s, n))
		return 0;
	if (ri && wa_node_content_bytes(ri, &p, &len) == 0 && len <= sizeof s->creds->routing_info) {
		/* sent back in the ED prefix of the next connection's intro */
		memcpy(s->creds->routing_info, p, len);
		s->creds->routing_info_len = len;
		return wa_store_creds_save(s->store, s->instance_id, s->creds);
	}
	return 0;
}

static int answer_iq(wa_session *s, const wa_node *req)
{
	const char *id = wa_node_attr(req, "id");
	if (!id)
		return WA_EPROTO;
	wa_node *r;
	int rc = wa_node_new(&r, "iq");
	if (rc)
		return rc;
	if ((rc = wa_node_set_attr(r, "to", "@s.whatsapp.net")) == 0 &&
	    (rc = wa_node_set_attr(r, "type", "result")) == 0 && (rc = wa_node_set_attr(r, "id", id)) == 0)
		rc = wa_conn_send_node(s, r);
	wa_node_free(r);
	return rc;
}

int wa_handle_iq(wa_session *s, const wa_node *n)
{
	const char *type = wa_node_attr(n, "type");
	if (!type)
		return WA_EPROTO;
	if (strcmp(type, "result") == 0 || strcmp(type, "error") == 0) {
		(void)wa_iq_handle_response(s, n);
		return 0;
	}
	const wa_node *c = wa_node_child_at(n, 0);
	const char *ctag = c ? wa_node_tag(c) : "";
	if (strcmp(ctag, "pair-device") == 0)
		return wa_pair_handle_pair_device(s, n);
	if (strcmp(ctag, "pair-success") == 0)
		return wa_pair_handle_pair_success(s, n);
	const char *xmlns = wa_node_attr(n, "xmlns");
	if (strcmp(type, "get") == 0 && ((xmlns && strcmp(xmlns, "urn:xmpp:ping") == 0) ||
		strcmp(ctag, "ping") == 0))
		return answer_iq(s, n); /* §5.4: harmless to answer */
	WA_DEBUG(MOD, "[%lld/%u] unhandled iq <%s>", (long long)s->instance_id, s->gen, ctag);
	return 0;
}
