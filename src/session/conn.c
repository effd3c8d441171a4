/* src/session/conn.c: the connection state machine of one session (STYLE
 * §5): DISCONNECTED -> CONNECTING -> HANDSHAKING -> PAIRING | AUTHENTICATING
 * -> READY, plus BACKOFF, CLOSING and LOGGED_OUT. Owns the transport
 * connection, the Noise handshake and transport cipher, frame reassembly,
 * and the reconnect policy (a const backoff table with jitter). Beside it:
 * keepalive.c (the ping timer), login.c (<success>, <failure>, stream
 * errors, <ib>, <iq>), failure.c (why an attempt failed, in words),
 * names.c (enum names). Decoded stanzas go to dispatch.c; what a stream
 * error means for the FSM is decided in wa_conn_fail. Runs on the loop
 * thread only. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "binary/decode.h"
#include "binary/encode.h"
#include "noise/frame.h"
#include "noise/handshake.h"
#include "session/internal.h"
#include "session/payload.h"
#include "transport/ws.h"
#include "util/log.h"
#include "util/seams.h"

#define MOD "session"
#define WA_DEFAULT_URL "wss://web.whatsapp.com/ws/chat"
#define WA_ORIGIN "https://web.whatsapp.com"

/* Reconnect delays (ms) by consecutive failure, capped at the last entry;
 * ±20 % jitter so many sessions of one daemon do not reconnect in step
 * (the lws_retry_bo_t idea of minimal-ws-client.c). */
static const uint32_t backoff_table_ms[] = {1000, 2000, 4000, 8000, 15000, 30000, 60000};
#define BACKOFF_JITTER_PCT 20

uint32_t wa_conn_backoff_ms(unsigned attempt)
{
	size_t n = sizeof backoff_table_ms / sizeof backoff_table_ms[0];
	uint32_t base = backoff_table_ms[attempt < n ? attempt : n - 1];
	uint32_t r;
	wa_rand_bytes(&r, sizeof r);
	uint32_t span = base / 100 * BACKOFF_JITTER_PCT; /* ± span */
	return base - span + (uint32_t)(r % (2u * span + 1u));
}

/* ---- timers ---- */

static void stimer_fire(void *user)
{
	wa_stimer *t = user;
	t->fn(t->s);
}

int wa_stimer_init(wa_session *s, wa_stimer *t, void (*fn)(wa_session *s))
{
	t->s = s;
	t->fn = fn;
	return s->drv->timer_new(s->drv_ctx, stimer_fire, t, &t->t);
}

void wa_stimer_set(wa_stimer *t, uint32_t ms)
{
	if (t->t)
		t->s->drv->timer_set(t->t, ms);
}

void wa_stimer_cancel(wa_stimer *t)
{
	if (t->t)
		t->s->drv->timer_cancel(t->t);
}

void wa_stimer_clear(wa_stimer *t)
{
	if (t->t && t->s)
		t->s->drv->timer_free(t->t);
	t->t = NULL;
}

/* ---- events and state ---- */

void wa_session_emit(wa_session *s, const wa_event *ev)
{
	if (!s->on_event)
		return;
	s->in_event++;
	s->on_event(s, ev, s->user);
	s->in_event--;
}

static void set_state(wa_session *s, enum wa_conn_state st, enum wa_disconnect_reason why)
{
	if (s->state == st)
		return;
	/* the handshake is over: READY, or PAIRING (waits for a human, who
	 * must not hold up everyone else's reconnects) */
	if (st == WA_CONN_READY || st == WA_CONN_PAIRING)
		wa_gate_leave(s);
	WA_DEBUG(MOD, "[%lld/%u] %s -> %s", (long long)s->instance_id, s->gen,
		wa_conn_state_name(s->state), wa_conn_state_name(st));
	s->state = st;
	if (st == WA_CONN_READY || st == WA_CONN_PAIRING) {
		free(s->last_error);
		s->last_error = NULL;
	}
	wa_event ev = {.type = WA_EV_STATE};
	ev.u.state.state = st;
	ev.u.state.reason = why;
	if ((st == WA_CONN_BACKOFF || st == WA_CONN_DISCONNECTED) && why != WA_DISC_NONE && s->last_error && s->last_error[0])
		ev.u.state.detail = s->last_error;
	wa_session_emit(s, &ev);
}

/* set_state for the handlers in login.c */
void wa_conn_set_state(wa_session *s, enum wa_conn_state st, enum wa_disconnect_reason why)
{
	set_state(s, st, why);
}

void wa_session_new_id(wa_session *s, char buf[static WA_SESSION_ID_MAX])
{
	snprintf(buf, WA_SESSION_ID_MAX, "%s-%llu", s->id_prefix,
		(unsigned long long)++s->id_counter);
}

const char *wa_session_me_jid(const wa_session *s)
{
	return s->creds && s->creds->me_jid[0] ? s->creds->me_jid : NULL;
}

const char *wa_session_me_lid(const wa_session *s)
{
	return s->creds && s->creds->me_lid[0] ? s->creds->me_lid : NULL;
}

/* ---- connection teardown and the reconnect policy ---- */

static void begin_connect(wa_session *s);

static void teardown_conn(wa_session *s)
{
	if (s->conn) {
		s->drv->close(s->conn);
		s->conn = NULL;
	}
	wa_noise_hs_free(s->hs);
	s->hs = NULL;
	wa_noise_transport_free(s->nt);
	s->nt = NULL;
	wa_frame_dec_free(s->fdec);
	s->fdec = NULL;
	wa_stimer_cancel(&s->t_deadline);
	wa_stimer_cancel(&s->t_keepalive);
	wa_stimer_cancel(&s->t_qr);
	wa_pair_reset(s);
	s->prekey_uploading = false;
	wa_iq_fail_all(s, WA_ECLOSED);
	s->tx_frames = 0;
	s->wire_head = s->wire_n = 0;
	free(s->wire);
	s->wire = NULL;
	for (const wa_session_ext *const *e = wa_session_exts; *e; e++)
		if ((*e)->on_close)
			(*e)->on_close(s);
}

/* Ends the connection and gives back the admission slot (or the place in
 * the queue): every exit path of a connection attempt goes through here. */
static void teardown(wa_session *s)
{
	teardown_conn(s);
	wa_gate_leave(s);
}

static void emit_disconnected(wa_session *s, enum wa_disconnect_reason why)
{
	wa_event ev = {.type = WA_EV_DISCONNECTED};
	ev.u.state.state = s->state;
	ev.u.state.reason = why;
	ev.u.state.detail = s->last_error && s->last_error[0] ? s->last_error : NULL;
	wa_session_emit(s, &ev);
}

void wa_conn_fail(wa_session *s, enum wa_disconnect_reason reason, int err)
{
	bool had_conn = s->conn || s->nt || s->hs;
	WA_DEBUG(MOD, "[%lld/%u] connection ends in %s: %s (%s)", (long long)s->instance_id, s->gen,
		wa_conn_state_name(s->state), wa_disconnect_reason_name(reason), wa_errname(err));
	wa_conn_describe_failure(s, reason, err);
	s->fail_step = 0;
	free(s->fail_text);
	s->fail_text = NULL;
	teardown(s);
	s->last_reason = reason;
	if (had_conn)
		emit_disconnected(s, reason);
	switch (reason) {
	case WA_DISC_BY_USER:
		s->started = false;
		set_state(s, WA_CONN_DISCONNECTED, reason);
		return;
	case WA_DISC_CLIENT_OUTDATED:
		/* every retry would be refused the same way until the version
		 * is changed: stop and say so (the embedder restarts it) */
		s->started = false;
		set_state(s, WA_CONN_DISCONNECTED, reason);
		return;
	case WA_DISC_REPLACED:
		/* another connection of this device took over: fighting it
		 * would make the two kick each other forever (whatsmeow does
		 * not retry either) */
		s->started = false;
		set_state(s, WA_CONN_DISCONNECTED, reason);
		return;
	case WA_DISC_LOGGED_OUT: {
		s->started = false;
		int rc = wa_session_creds_wipe(s);
		if (rc)
			WA_DEBUG(MOD, "[%lld] wiping credentials failed: %s", (long long)s->instance_id,
				wa_errname(rc));
		set_state(s, WA_CONN_LOGGED_OUT, reason);
		wa_event ev = {.type = WA_EV_LOGGED_OUT};
		ev.u.state.state = WA_CONN_LOGGED_OUT;
		ev.u.state.reason = reason;
		wa_session_emit(s, &ev);
		return;
	}
	case WA_DISC_RESTART_REQUIRED:
		if (!s->started)
			break;
		s->attempt = 0;
		begin_connect(s);
		return;
	default:
		break;
	}
	if (!s->started) {
		set_state(s, WA_CONN_DISCONNECTED, reason);
		return;
	}
	uint32_t ms = wa_conn_backoff_ms(s->attempt);
	if (s->attempt < 1000)
		s->attempt++;
	WA_DEBUG(MOD, "[%lld/%u] reconnecting in %u ms (attempt %u)", (long long)s->instance_id,
		s->gen, ms, s->attempt);
	set_state(s, WA_CONN_BACKOFF, reason);
	wa_stimer_set(&s->t_backoff, ms);
}

static void start_connect(wa_session *s);

/* t_backoff: the reconnect delay, the start spread, or (WAITING with a
 * slot granted by the gate) the wake-up of an admitted session. */
static void on_backoff(wa_session *s)
{
	if (!s->started)
		return;
	if (s->state == WA_CONN_BACKOFF)
		begin_connect(s);
	else if (s->state == WA_CONN_WAITING && s->gate_held && !s->conn)
		start_connect(s);
	else if (s->state == WA_CONN_WAITING && !s->gate_queued && !s->conn)
		begin_connect(s); /* start spread over */
}

static void on_deadline(wa_session *s)
{
	wa_conn_fail(s, WA_DISC_TIMEOUT, WA_ETIMEOUT);
}

/* ---- sending ---- */

static int send_frame(wa_session *s, const uint8_t *payload, size_t len, bool intro)
{
	wa_writer wr;
	wa_writer_init(&wr, WA_NOISE_MAX_FRAME + 16);
	/* with stored routing info the intro carries the ED prefix, as Baileys
	 * sends it (§1.2); the Noise prologue stays the plain header */
	int rc = intro ? wa_frame_write_intro(&wr, s->creds->routing_info_len ? s->creds->routing_info : NULL,
				 s->creds->routing_info_len)
		       : 0;
	if (rc == 0)
		rc = wa_frame_write(&wr, payload, len);
	if (rc == 0)
		rc = s->drv->send(s->conn, wr.p, wr.len);
	if (rc == 0)
		s->tx_frames++;
	wa_writer_clear(&wr, false);
	return rc;
}

/* Remembers that frame number s->tx_frames carries message `id`, so
 * tr_on_written can report when it reached the socket. A full ring drops
 * the oldest mark (only a latency figure is lost). */
static void wire_mark(wa_session *s, const char *id)
{
	size_t len = strlen(id);
	if (len >= WA_SESSION_ID_MAX)
		return;
	if (!s->wire) {
		s->wire = malloc(WA_SESSION_WIRE_MARKS * sizeof *s->wire);
		if (!s->wire)
			return;
		s->wire_head = s->wire_n = 0;
	}
	if (s->wire_n == WA_SESSION_WIRE_MARKS) {
		s->wire_head = (s->wire_head + 1) % WA_SESSION_WIRE_MARKS;
		s->wire_n--;
	}
	struct wa_wire_mark *m = &s->wire[(s->wire_head + s->wire_n) % WA_SESSION_WIRE_MARKS];
	m->frame = s->tx_frames;
	memcpy(m->id, id, len + 1);
	s->wire_n++;
}

/* Encrypts and sends one encoded stanza; message_id: the id of a
 * <message> whose write is reported as WA_EV_MESSAGE_WIRE (NULL: none). */
static int send_encoded(wa_session *s, const uint8_t *pt, size_t len, const char *message_id)
{
	uint8_t *ct = malloc(len + WA_NOISE_TAG_LEN);
	if (!ct)
		return WA_ENOMEM;
	int rc = wa_noise_transport_encrypt(s->nt, ct, pt, len);
	if (rc == 0)
		rc = send_frame(s, ct, len + WA_NOISE_TAG_LEN, false);
	free(ct);
	if (rc == 0 && message_id)
		wire_mark(s, message_id);
	return rc;
}

int wa_conn_send_node(wa_session *s, const wa_node *n)
{
	if (!s->nt || !s->conn)
		return WA_ESTATE;
	uint8_t *pt;
	size_t len;
	int rc = wa_bin_encode(n, &pt, &len);
	if (rc)
		return rc;
	rc = send_encoded(s, pt, len, strcmp(wa_node_tag(n), "message") == 0 ? wa_node_attr(n, "id") : NULL);
	sodium_memzero(pt, len);
	free(pt);
	if (rc == 0)
		WA_DEBUG(MOD, "[%lld/%u] -> <%s id=%s type=%s>", (long long)s->instance_id, s->gen,
			wa_node_tag(n), wa_node_attr(n, "id") ? wa_node_attr(n, "id") : "-",
			wa_node_attr(n, "type") ? wa_node_attr(n, "type") : "-");
	return rc;
}

int wa_conn_send_message_bytes(wa_session *s, const uint8_t *enc, size_t len, const char *id)
{
	if (!s->nt || !s->conn)
		return WA_ESTATE;
	if (!enc || !len || !id)
		return WA_EINVAL;
	int rc = send_encoded(s, enc, len, id);
	if (rc == 0)
		WA_DEBUG(MOD, "[%lld/%u] -> <message id=%s> (recorded bytes)", (long long)s->instance_id, s->gen,
			id);
	return rc;
}

static int ack_node(const wa_node *stanza, wa_node **out)
{
	*out = NULL; /* callers free it whatever the outcome */
	const char *id = wa_node_attr(stanza, "id");
	const char *from = wa_node_attr(stanza, "from");
	if (!id || !from)
		return WA_EPROTO;
	wa_node *ack;
	int rc = wa_node_new(&ack, "ack");
	if (rc)
		return rc;
	const char *type = wa_node_attr(stanza, "type");
	const char *participant = wa_node_attr(stanza, "participant");
	if ((rc = wa_node_set_attr(ack, "id", id)) == 0 && (rc = wa_node_set_attr(ack, "to", from)) == 0 &&
	    (rc = wa_node_set_attr(ack, "class", wa_node_tag(stanza))) == 0 &&
	    (!type || (rc = wa_node_set_attr(ack, "type", type)) == 0) &&
	    (!participant || (rc = wa_node_set_attr(ack, "participant", participant)) == 0)) {
		*out = ack;
		return 0;
	}
	wa_node_free(ack);
	return rc;
}

int wa_session_send_ack(wa_session *s, const wa_node *stanza)
{
	wa_node *ack;
	int rc = ack_node(stanza, &ack);
	if (rc == 0)
		rc = wa_conn_send_node(s, ack);
	wa_node_free(ack);
	return rc;
}

typedef struct ack_after {
	wa_session *s;
	wa_node *ack;
} ack_after;

static void ack_after_done(void *user, int rc)
{
	ack_after *a = user;
	/* else the server redelivers: nothing of it is stored */
	if (rc == 0 && wa_conn_send_node(a->s, a->ack) != 0)
		WA_DEBUG(MOD, "[%lld] ack after the group commit not sent", (long long)a->s->instance_id);
	wa_node_free(a->ack);
	free(a);
}

int wa_session_send_ack_committed(wa_session *s, const wa_node *stanza)
{
	if (!wa_store_turn_pending(s->store))
		return wa_session_send_ack(s, stanza);
	ack_after *a = malloc(sizeof *a);
	if (!a)
		return WA_ENOMEM; /* no ack: the server redelivers */
	int rc = ack_node(stanza, &a->ack);
	if (rc != 0) {
		free(a);
		return rc;
	}
	a->s = s;
	wa_store_after_commit(s->store, ack_after_done, a);
	return 0;
}
/* ---- receiving ---- */

static int handle_handshake_frame(wa_session *s, const uint8_t *f, size_t len)
{
	int rc = wa_noise_hs_read_server_hello(s->hs, f, len);
	if (rc) {
		const char *why = wa_noise_hs_error_reason(s->hs);
		WA_DEBUG(MOD, "[%lld/%u] server hello rejected: %s (%s)", (long long)s->instance_id,
			s->gen, wa_errname(rc), why ? why : "-");
		return rc;
	}
	wa_writer wr;
	wa_writer_init(&wr, WA_NOISE_MAX_HS_MSG);
	rc = wa_noise_hs_write_client_finish(s->hs, &wr);
	if (rc == 0)
		rc = send_frame(s, wr.p, wr.len, false);
	wa_writer_clear(&wr, true);
	if (rc == 0)
		rc = wa_noise_hs_split(s->hs, &s->nt);
	wa_noise_hs_free(s->hs);
	s->hs = NULL;
	if (rc)
		return rc;
	/* Registration waits for <pair-device>, login for <success>. */
	wa_stimer_set(&s->t_deadline, WA_SESSION_AUTH_TIMEOUT_MS);
	wa_stimer_set(&s->t_keepalive, WA_SESSION_KEEPALIVE_MS);
	set_state(s, s->registering ? WA_CONN_PAIRING : WA_CONN_AUTHENTICATING, WA_DISC_NONE);
	return 0;
}

/* Returns false when the connection went away while handling. */
static bool handle_transport_frame(wa_session *s, const uint8_t *f, size_t len)
{
	if (len < WA_NOISE_TAG_LEN) {
		wa_conn_fail(s, WA_DISC_NETWORK, WA_EMALFORMED);
		return false;
	}
	uint8_t *pt = malloc(len);
	if (!pt) {
		wa_conn_fail(s, WA_DISC_NETWORK, WA_ENOMEM);
		return false;
	}
	int rc = wa_noise_transport_decrypt(s->nt, pt, f, len);
	if (rc) {
		free(pt);
		/* counters are out of step now: the connection is unusable */
		wa_conn_fail(s, WA_DISC_NETWORK, rc);
		return false;
	}
	wa_node *n = NULL;
	rc = wa_bin_decode(pt, len - WA_NOISE_TAG_LEN, &n);
	sodium_memzero(pt, len);
	free(pt);
	if (rc) {
		/* a stanza we cannot parse is the server's problem, not fatal */
		WA_DEBUG(MOD, "[%lld/%u] undecodable stanza dropped: %s", (long long)s->instance_id,
			s->gen, wa_errname(rc));
		return true;
	}
	WA_DEBUG(MOD, "[%lld/%u] <- <%s id=%s type=%s>", (long long)s->instance_id, s->gen,
		wa_node_tag(n), wa_node_attr(n, "id") ? wa_node_attr(n, "id") : "-",
		wa_node_attr(n, "type") ? wa_node_attr(n, "type") : "-");
	unsigned gen = s->gen;
	(void)wa_session_dispatch(s, n);
	wa_node_free(n);
	return s->gen == gen && s->nt != NULL;
}

static void tr_on_data(void *user, const uint8_t *p, size_t len)
{
	wa_session *s = user;
	s->last_rx_ms = s->drv->now_ms(s->drv_ctx);
	while (s->fdec) {
		size_t used = 0;
		const uint8_t *f;
		size_t flen;
		int rc = wa_frame_decode(s->fdec, p, len, &used, &f, &flen);
		if (rc < 0) {
			wa_conn_fail(s, WA_DISC_NETWORK, rc);
			return;
		}
		p += used;
		len -= used;
		if (rc == 0)
			return;
		if (s->hs) {
			rc = handle_handshake_frame(s, f, flen);
			if (rc) {
				wa_conn_fail(s, WA_DISC_HANDSHAKE_FAILED, rc);
				return;
			}
		} else if (s->nt) {
			if (!handle_transport_frame(s, f, flen))
				return;
		} else {
			return;
		}
	}
}

static void tr_on_open(void *user)
{
	wa_session *s = user;
	wa_writer wr;
	wa_writer_init(&wr, WA_NOISE_MAX_HS_MSG);
	int rc = wa_noise_hs_write_client_hello(s->hs, &wr);
	if (rc == 0)
		rc = send_frame(s, wr.p, wr.len, true);
	wa_writer_clear(&wr, false);
	if (rc) {
		wa_conn_fail(s, WA_DISC_HANDSHAKE_FAILED, rc);
		return;
	}
	set_state(s, WA_CONN_HANDSHAKING, WA_DISC_NONE);
}

static void tr_on_fail_detail(void *user, int step, const char *text)
{
	wa_session *s = user;
	s->fail_step = step;
	free(s->fail_text);
	s->fail_text = strndup(text && text[0] ? text : "no details", 127);
}

static void tr_on_close(void *user, int err)
{
	wa_session *s = user;
	wa_conn_fail(s, err == WA_EPROXY ? WA_DISC_PROXY : WA_DISC_NETWORK, err);
}

/* The driver wrote frame n: report the message ids it carried. */
static void tr_on_written(void *user, uint64_t n)
{
	wa_session *s = user;
	while (s->wire && s->wire_n && s->wire[s->wire_head].frame <= n) {
		/* a copy: the handler may send (a new mark) or close (ring freed) */
		struct wa_wire_mark m = s->wire[s->wire_head];
		s->wire_head = (s->wire_head + 1) % WA_SESSION_WIRE_MARKS;
		s->wire_n--;
		if (m.frame != n)
			continue; /* written earlier without a report: stale */
		wa_event ev = {.type = WA_EV_MESSAGE_WIRE};
		ev.u.message_status.key.id = m.id;
		ev.u.message_status.key.from_me = true;
		ev.u.message_status.status = WA_MSG_PENDING;
		wa_session_emit(s, &ev);
	}
	if (s->wire && s->wire_n == 0) {
		free(s->wire);
		s->wire = NULL;
	}
}

static const wa_tr_events tr_events = {
	.on_open = tr_on_open,
	.on_data = tr_on_data,
	.on_close = tr_on_close,
	.on_written = tr_on_written,
	.on_fail_detail = tr_on_fail_detail,
};

/* Every connection attempt starts here: drop what is left of the last
 * one, then take an admission slot or wait in the gate's queue. */
static void begin_connect(wa_session *s)
{
	teardown(s);
	if (!wa_gate_acquire(s)) {
		wa_stimer_cancel(&s->t_backoff);
		set_state(s, WA_CONN_WAITING, WA_DISC_NONE);
		return;
	}
	start_connect(s);
}

/* Opens the socket; the caller holds an admission slot (or has no gate). */
static void start_connect(wa_session *s)
{
	teardown_conn(s);
	s->gen++;
	set_state(s, WA_CONN_CONNECTING, WA_DISC_NONE);
	s->registering = !wa_creds_paired(s->creds);
	uint8_t *payload = NULL;
	size_t plen = 0;
	wa_keypair nk;
	memcpy(nk.pub, s->creds->noise_pub, 32);
	memcpy(nk.priv, s->creds->noise_priv, 32);
	int rc = wa_session_build_client_payload(s, &payload, &plen);
	if (rc == 0)
		rc = wa_noise_hs_new_initiator(&s->hs, &nk, payload, plen, &s->trust, NULL);
	wa_keypair_clear(&nk);
	free(payload);
	if (rc == 0)
		rc = wa_frame_dec_new(&s->fdec, WA_FRAME_CLIENT, WA_SESSION_MAX_FRAME);
	if (rc) {
		wa_conn_fail(s, WA_DISC_HANDSHAKE_FAILED, rc);
		return;
	}
	wa_tr_config tc = {
		.url = s->url,
		.origin = WA_ORIGIN,
		.tls_insecure = s->tls_insecure,
		.proxy = s->proxy,
	};
	s->last_rx_ms = s->drv->now_ms(s->drv_ctx);
	rc = s->drv->open(s->drv_ctx, &tc, &tr_events, s, &s->conn);
	if (rc) {
		s->conn = NULL;
		wa_conn_fail(s, WA_DISC_NETWORK, rc);
		return;
	}
	wa_stimer_set(&s->t_deadline, WA_SESSION_CONNECT_TIMEOUT_MS);
}

/* ---- public API ---- */

int wa_proxy_check(const char *proxy)
{
	return proxy && proxy[0] ? wa_tr_proxy_check(proxy) : 0;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

int wa_session_new_with_driver(const wa_session_config *cfg, const wa_tr_driver *drv,
	void *drv_ctx, wa_event_fn on_event, void *user, wa_session **out)
{
	if (!cfg || !cfg->store || !drv || !out)
		return WA_EINVAL;
	if (cfg->proxy && cfg->proxy[0]) {
		/* refuse a proxy we could never use now, not on every retry */
		int prc = wa_proxy_check(cfg->proxy);
		if (prc) {
			wa_log(WA_LOG_ERROR, MOD, "[%lld] unusable proxy URL (%s)", (long long)cfg->instance_id,
				wa_errname(prc));
			return prc;
		}
	}
	wa_session *s = calloc(1, sizeof *s);
	if (!s)
		return WA_ENOMEM;
	int rc = WA_ENOMEM;
	s->store = cfg->store;
	s->instance_id = cfg->instance_id;
	s->drv = drv;
	s->drv_ctx = drv_ctx;
	s->on_event = on_event;
	s->user = user;
	s->tls_insecure = cfg->tls_insecure;
	s->gate = cfg->gate;
	s->send_read_receipts = cfg->send_read_receipts;
	s->offline_on_connect = cfg->offline_on_connect;
	s->ack_timeout_ms = cfg->ack_timeout_ms;
	s->devlist_refresh_ms = cfg->device_list_refresh_ms;
	s->status_in_tx = cfg->status_in_tx;
	s->hist_demand_ms = cfg->history_demand_timeout_ms ? cfg->history_demand_timeout_ms : 120000;
	s->sync_full_history = cfg->sync_full_history;
	s->url = strdup(cfg->url ? cfg->url : WA_DEFAULT_URL);
	s->proxy = cfg->proxy && cfg->proxy[0] ? strdup(cfg->proxy) : NULL;
	s->device_name = strdup(cfg->device_name ? cfg->device_name : "wamd");
	memcpy(s->version, wa_session_app_version, sizeof s->version);
	if (cfg->wa_version && cfg->wa_version[0] && wa_version_parse(cfg->wa_version, s->version) != 0) {
		rc = WA_EINVAL;
		goto fail;
	}
	s->push_name = dup_or_null(cfg->push_name);
	if (!s->url || !s->device_name || (cfg->proxy && cfg->proxy[0] && !s->proxy) ||
	    (cfg->push_name && !s->push_name))
		goto fail;
	wa_noise_trust_default(&s->trust);
	if (cfg->trust_root_pub)
		memcpy(s->trust.root_pub, cfg->trust_root_pub, 32);
	wa_iq_table_init(&s->iq);
	uint16_t pfx[2];
	wa_rand_bytes(pfx, sizeof pfx);
	snprintf(s->id_prefix, sizeof s->id_prefix, "%u.%u", pfx[0], pfx[1]);
	s->creds = wa_store_creds_new();
	if (!s->creds)
		goto fail;
	if ((rc = wa_stimer_init(s, &s->t_deadline, on_deadline)) != 0 ||
	    (rc = wa_stimer_init(s, &s->t_keepalive, wa_conn_on_keepalive)) != 0 ||
	    (rc = wa_stimer_init(s, &s->t_backoff, on_backoff)) != 0 ||
	    (rc = wa_stimer_init(s, &s->t_qr, wa_pair_on_qr_timer)) != 0 ||
	    (rc = wa_stimer_init(s, &s->t_iq, wa_iq_on_timer)) != 0)
		goto fail;
	if ((rc = wa_session_creds_ensure(s)) != 0)
		goto fail;
	for (const wa_session_ext *const *e = wa_session_exts; *e; e++)
		if ((*e)->init && (rc = (*e)->init(s)) != 0)
			goto fail;
	*out = s;
	return 0;
fail:
	wa_session_free(s);
	return rc;
}

int wa_session_new(const wa_session_config *cfg, wa_event_fn on_event, void *user, wa_session **out)
{
	if (!cfg || !cfg->lws)
		return WA_EINVAL;
	return wa_session_new_with_driver(cfg, &wa_tr_lws_driver, cfg->lws, on_event, user, out);
}

void wa_session_free(wa_session *s)
{
	if (!s)
		return;
	/* what of ours waits for the loop turn's commit runs while we exist */
	if (s->store && wa_store_turn_pending(s->store))
		(void)wa_store_turn_flush(s->store);
	s->on_event = NULL; /* no events while dying */
	s->started = false;
	wa_msg_presence_goodbye(s);
	if (s->drv) {
		teardown(s);
		for (const wa_session_ext *const *e = wa_session_exts; *e; e++)
			if ((*e)->free)
				(*e)->free(s);
		wa_stimer_clear(&s->t_deadline);
		wa_stimer_clear(&s->t_keepalive);
		wa_stimer_clear(&s->t_backoff);
		wa_stimer_clear(&s->t_qr);
		wa_stimer_clear(&s->t_iq);
	}
	wa_pair_reset(s);
	wa_sig_free(s->sig);
	free(s->wire);
	free(s->last_error);
	free(s->fail_text);
	wa_store_creds_free(s->creds);
	free(s->url);
	free(s->proxy);
	free(s->device_name);
	free(s->push_name);
	free(s);
}

int wa_session_start(wa_session *s)
{
	if (!s)
		return WA_EINVAL;
	if (s->started)
		return 0;
	if (s->state == WA_CONN_LOGGED_OUT || !s->sig) {
		int rc = wa_session_creds_ensure(s);
		if (rc)
			return rc;
	}
	s->started = true;
	s->attempt = 0;
	begin_connect(s);
	return 0;
}

int wa_session_start_spread(wa_session *s, uint32_t max_delay_ms)
{
	if (!s)
		return WA_EINVAL;
	if (s->started || max_delay_ms == 0)
		return wa_session_start(s);
	if (s->state == WA_CONN_LOGGED_OUT || !s->sig) {
		int rc = wa_session_creds_ensure(s);
		if (rc)
			return rc;
	}
	uint32_t r;
	wa_rand_bytes(&r, sizeof r);
	s->started = true;
	s->attempt = 0;
	set_state(s, WA_CONN_WAITING, WA_DISC_NONE);
	wa_stimer_set(&s->t_backoff, (uint32_t)(r % ((uint64_t)max_delay_ms + 1)));
	return 0;
}

int wa_session_stop(wa_session *s)
{
	if (!s)
		return WA_EINVAL;
	wa_stimer_cancel(&s->t_backoff);
	if (!s->started && !s->conn)
		return 0;
	s->started = false;
	wa_msg_presence_goodbye(s);
	set_state(s, WA_CONN_CLOSING, WA_DISC_BY_USER);
	wa_conn_fail(s, WA_DISC_BY_USER, 0);
	return 0;
}

int wa_session_logout(wa_session *s)
{
	if (!s)
		return WA_EINVAL;
	if (s->state == WA_CONN_READY && wa_session_me_jid(s)) {
		/* as Baileys logout(): tell the server to unlink us; no need to
		 * wait for the answer, the credentials are void either way */
		wa_node *iq = NULL, *rm;
		int rc = wa_node_new(&iq, "iq");
		if (rc == 0 && (rc = wa_node_set_attr(iq, "to", "@s.whatsapp.net")) == 0 &&
		    (rc = wa_node_set_attr(iq, "type", "set")) == 0 &&
		    (rc = wa_node_set_attr(iq, "xmlns", "md")) == 0 &&
		    (rc = wa_node_add_new(iq, "remove-companion-device", &rm)) == 0 &&
		    (rc = wa_node_set_attr(rm, "jid", wa_session_me_jid(s))) == 0 &&
		    (rc = wa_node_set_attr(rm, "reason", "user_initiated")) == 0)
			rc = wa_iq_send(s, iq, 0, NULL, NULL);
		wa_node_free(iq);
	}
	s->started = false;
	wa_stimer_cancel(&s->t_backoff);
	wa_conn_fail(s, WA_DISC_LOGGED_OUT, WA_ELOGGED_OUT);
	return 0;
}

enum wa_conn_state wa_session_state(const wa_session *s)
{
	return s ? s->state : WA_CONN_DISCONNECTED;
}

bool wa_session_is_paired(const wa_session *s)
{
	return s && wa_creds_paired(s->creds);
}

const char *wa_session_jid(const wa_session *s)
{
	/* own PN JID without the device part, kept beside the creds */
	if (!s || !wa_session_me_jid(s))
		return NULL;
	wa_session *m = (wa_session *)s;
	const char *jid = s->creds->me_jid;
	const char *colon = strchr(jid, ':');
	const char *at = strchr(jid, '@');
	if (!colon || !at || colon > at)
		snprintf(m->me_bare, sizeof m->me_bare, "%s", jid);
	else
		snprintf(m->me_bare, sizeof m->me_bare, "%.*s%s", (int)(colon - jid), jid, at);
	return m->me_bare;
}
