/* Unit tests of the connection half of src/session with a fake transport
 * driver and a fake clock: the backoff table, the iq table, the ClientPayload
 * fields, and the whole FSM against an in-process server built from
 * src/noise's responder — handshake, pair-device and QR rotation,
 * pair-success (bad HMAC refused; good one signed and verified here),
 * 515 -> immediate login, success -> pre-key upload, keep-alive and the
 * dead-connection timeout, and each stream error's effect. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adv.pb-c.h"
#include "client_payload.pb-c.h"
#include "binary/decode.h"
#include "binary/encode.h"
#include "check.h"
#include "crypto/crypto.h"
#include "transport/ws.h"
#include "noise/frame.h"
#include "noise/handshake.h"
#include "session/internal.h"
#include "session/pair.h"
#include "session/payload.h"
#include "util/seams.h"

/* ---- fake driver ---- */

#define MAX_TIMERS 16
struct ftimer {
	wa_timer_fn fn;
	void *user;
	bool armed;
	int64_t due;
	bool used;
};
static struct ftimer timers[MAX_TIMERS];
static int64_t fake_now = 1000000;
static int n_opens;
static bool conn_open_flag, conn_closed;
static const wa_tr_events *cev;
static void *cuser;
static wa_writer cli_out; /* bytes the client sent on the current conn */
static int conn_token;

static int f_open(void *ctx, const wa_tr_config *cfg, const wa_tr_events *ev, void *user, void **out)
{
	(void)ctx;
	CHECK(strcmp(cfg->origin, "https://web.whatsapp.com") == 0);
	n_opens++;
	cev = ev;
	cuser = user;
	conn_open_flag = false;
	conn_closed = false;
	wa_writer_clear(&cli_out, false);
	wa_writer_init(&cli_out, 64u << 20);
	*out = &conn_token;
	return 0;
}
static int f_send(void *conn, const uint8_t *p, size_t len)
{
	CHECK(conn == &conn_token && !conn_closed);
	return wa_wr_bytes(&cli_out, p, len);
}
static void f_close(void *conn)
{
	if (conn)
		conn_closed = true;
}
static int f_timer_new(void *ctx, wa_timer_fn fn, void *user, void **t)
{
	(void)ctx;
	for (int i = 0; i < MAX_TIMERS; i++)
		if (!timers[i].used) {
			timers[i] = (struct ftimer){fn, user, false, 0, true};
			*t = &timers[i];
			return 0;
		}
	return WA_ENOMEM;
}
static void f_timer_set(void *t, uint32_t ms)
{
	struct ftimer *x = t;
	x->armed = true;
	x->due = fake_now + ms;
}
static void f_timer_cancel(void *t) { ((struct ftimer *)t)->armed = false; }
static void f_timer_free(void *t)
{
	if (t)
		memset(t, 0, sizeof(struct ftimer));
}
static int64_t f_now(void *ctx)
{
	(void)ctx;
	return fake_now;
}
static const wa_tr_driver fake = {f_open, f_send, f_close, f_timer_new, f_timer_set,
	f_timer_cancel, f_timer_free, f_now};

/* Moves the clock forward, firing due timers in order. */
static void advance(int64_t ms)
{
	int64_t end = fake_now + ms;
	for (;;) {
		struct ftimer *next = NULL;
		for (int i = 0; i < MAX_TIMERS; i++)
			if (timers[i].used && timers[i].armed && timers[i].due <= end &&
			    (!next || timers[i].due < next->due))
				next = &timers[i];
		if (!next)
			break;
		fake_now = next->due;
		next->armed = false;
		next->fn(next->user);
	}
	fake_now = end;
}

/* ---- events ---- */
#define MAX_EV 256
struct rec {
	enum wa_event_type type;
	enum wa_conn_state state;
	enum wa_disconnect_reason reason;
	unsigned index, timeout;
	char text[512];
};
static struct rec evs[MAX_EV];
static int n_ev;
static void on_event(wa_session *s, const wa_event *ev, void *user)
{
	(void)s;
	(void)user;
	if (n_ev >= MAX_EV)
		return;
	struct rec *r = &evs[n_ev++];
	memset(r, 0, sizeof *r);
	r->type = ev->type;
	if (ev->type == WA_EV_STATE || ev->type == WA_EV_DISCONNECTED || ev->type == WA_EV_LOGGED_OUT) {
		r->state = ev->u.state.state;
		r->reason = ev->u.state.reason;
	} else if (ev->type == WA_EV_QR) {
		r->index = ev->u.qr.index;
		r->timeout = ev->u.qr.timeout_s;
		snprintf(r->text, sizeof r->text, "%s", ev->u.qr.qr);
	} else if (ev->type == WA_EV_PAIRED) {
		snprintf(r->text, sizeof r->text, "%s", ev->u.paired.jid);
	} else if (ev->type == WA_EV_PAIRING_CODE) {
		snprintf(r->text, sizeof r->text, "%s", ev->u.pairing_code.code);
	}
}
static int count_ev(enum wa_event_type t, int from)
{
	int n = 0;
	for (int i = from; i < n_ev; i++)
		n += evs[i].type == t;
	return n;
}
static const struct rec *last_ev(enum wa_event_type t)
{
	for (int i = n_ev - 1; i >= 0; i--)
		if (evs[i].type == t)
			return &evs[i];
	return NULL;
}

/* ---- in-process server ---- */
static wa_keypair root_kp, int_kp, srv_kp;
static uint8_t *chain;
static size_t chain_len;
static wa_frame_dec *sdec;
static wa_noise_hs *shs;
static wa_noise_transport *snt;
static uint8_t *last_payload;
static size_t last_payload_len;
static size_t consumed; /* of cli_out */
#define MAX_RX 2048
static wa_node *rx[MAX_RX];
static int n_rx;
static int answered_upto;

static void srv_reset(void)
{
	wa_frame_dec_free(sdec);
	sdec = NULL;
	wa_noise_hs_free(shs);
	shs = NULL;
	wa_noise_transport_free(snt);
	snt = NULL;
	consumed = 0;
	for (int i = 0; i < n_rx; i++)
		wa_node_free(rx[i]);
	n_rx = 0;
	answered_upto = 0;
	CHECK(wa_frame_dec_new(&sdec, WA_FRAME_SERVER, WA_NOISE_MAX_FRAME) == 0);
}

static void deliver(const uint8_t *p, size_t len)
{
	cev->on_data(cuser, p, len);
}

static void srv_pump(void)
{
	for (;;) {
		size_t used = 0;
		const uint8_t *f;
		size_t flen;
		int rc = wa_frame_decode(sdec, cli_out.p + consumed, cli_out.len - consumed, &used, &f,
			&flen);
		consumed += used;
		CHECK(rc >= 0);
		if (rc <= 0)
			return;
		if (!shs && !snt) {
			uint8_t intro[4];
			CHECK(wa_frame_dec_intro(sdec, intro) == 0);
			CHECK(wa_noise_hs_new_responder(&shs, &srv_kp, chain, chain_len, intro) == 0);
			CHECK(wa_noise_hs_read_client_hello(shs, f, flen) == 0);
			wa_writer m, fr;
			wa_writer_init(&m, 1 << 16);
			wa_writer_init(&fr, 1 << 16);
			CHECK(wa_noise_hs_write_server_hello(shs, &m) == 0);
			CHECK(wa_frame_write(&fr, m.p, m.len) == 0);
			deliver(fr.p, fr.len);
			wa_writer_clear(&m, false);
			wa_writer_clear(&fr, false);
		} else if (shs) {
			CHECK(wa_noise_hs_read_client_finish(shs, f, flen) == 0);
			const uint8_t *pp;
			size_t pl;
			CHECK(wa_noise_hs_client_payload(shs, &pp, &pl) == 0);
			free(last_payload);
			last_payload = malloc(pl);
			memcpy(last_payload, pp, pl);
			last_payload_len = pl;
			CHECK(wa_noise_hs_split(shs, &snt) == 0);
			wa_noise_hs_free(shs);
			shs = NULL;
		} else {
			uint8_t *pt = malloc(flen);
			CHECK(wa_noise_transport_decrypt(snt, pt, f, flen) == 0);
			wa_node *n = NULL;
			CHECK(wa_bin_decode(pt, flen - 16, &n) == 0);
			free(pt);
			if (n && n_rx < MAX_RX)
				rx[n_rx++] = n;
			else
				wa_node_free(n);
		}
	}
}

static void srv_send(wa_node *n)
{
	uint8_t *pt;
	size_t len;
	CHECK(wa_bin_encode(n, &pt, &len) == 0);
	uint8_t *ct = malloc(len + 16);
	CHECK(wa_noise_transport_encrypt(snt, ct, pt, len) == 0);
	wa_writer fr;
	wa_writer_init(&fr, 1 << 24);
	CHECK(wa_frame_write(&fr, ct, len + 16) == 0);
	/* split in two chunks: boundaries carry no meaning */
	size_t half = fr.len / 2;
	deliver(fr.p, half);
	deliver(fr.p + half, fr.len - half);
	wa_writer_clear(&fr, false);
	free(pt);
	free(ct);
	wa_node_free(n);
}

static wa_node *mk(const char *tag, const char *const *attrs);
/* Like advance, but the server is alive: it answers every ping. */
static void advance_live(int64_t ms)
{
	for (int64_t t = 0; t < ms; t += 1000) {
		advance(ms - t < 1000 ? ms - t : 1000);
		if (!snt || conn_closed)
			continue;
		srv_pump();
		for (; answered_upto < n_rx; answered_upto++) {
			const wa_node *n = rx[answered_upto];
			const char *x = wa_node_attr(n, "xmlns");
			if (x && strcmp(x, "w:p") == 0)
				srv_send(mk("iq", (const char *[]){"from", "@s.whatsapp.net", "type", "result",
					"id", wa_node_attr(n, "id"), NULL}));
		}
	}
}

static wa_node *mk(const char *tag, const char *const *attrs)
{
	wa_node *n;
	CHECK(wa_node_new(&n, tag) == 0);
	for (int i = 0; attrs && attrs[i]; i += 2)
		CHECK(wa_node_set_attr(n, attrs[i], attrs[i + 1]) == 0);
	return n;
}
static wa_node *kid(wa_node *parent, const char *tag)
{
	wa_node *c;
	CHECK(wa_node_add_new(parent, tag, &c) == 0);
	return c;
}

/* Finds a received node by tag and first-child tag; NULL if none. */
static const wa_node *find_rx(const char *tag, const char *type, const char *child)
{
	for (int i = 0; i < n_rx; i++) {
		const wa_node *n = rx[i];
		if (strcmp(wa_node_tag(n), tag) != 0)
			continue;
		if (type && (!wa_node_attr(n, "type") || strcmp(wa_node_attr(n, "type"), type) != 0))
			continue;
		if (child && !wa_node_child(n, child))
			continue;
		return n;
	}
	return NULL;
}

/* Opens the current connection and runs the handshake to the end. */
static void connect_and_handshake(wa_session *s)
{
	CHECK(wa_session_state(s) == WA_CONN_CONNECTING);
	srv_reset();
	cev->on_open(cuser);
	CHECK(wa_session_state(s) == WA_CONN_HANDSHAKING);
	srv_pump(); /* client hello -> server hello -> client finish */
	srv_pump();
	CHECK(snt != NULL);
}

/* ---- tests ---- */

static void test_backoff(void)
{
	static const uint32_t base[] = {1000, 2000, 4000, 8000, 15000, 30000, 60000, 60000, 60000};
	for (unsigned a = 0; a < 9; a++)
		for (int k = 0; k < 50; k++) {
			uint32_t v = wa_conn_backoff_ms(a);
			CHECK(v >= base[a] - base[a] / 5 && v <= base[a] + base[a] / 5);
		}
	CHECK(wa_conn_backoff_ms(100000) <= 72000);
	CHECK(strcmp(wa_conn_state_name(WA_CONN_AUTHENTICATING), "AUTHENTICATING") == 0);
	CHECK(strcmp(wa_conn_state_name(WA_CONN_LOGGED_OUT), "LOGGED_OUT") == 0);
	CHECK(strcmp(wa_conn_state_name((enum wa_conn_state)99), "?") == 0);
	CHECK(strcmp(wa_disconnect_reason_name(WA_DISC_REPLACED), "REPLACED") == 0);
	CHECK(strcmp(wa_msg_status_name(WA_MSG_DELIVERED), "DELIVERED") == 0);
	CHECK(strcmp(wa_msg_status_name((enum wa_msg_status)42), "?") == 0);
}

static int iq_calls, iq_last_err;
static void iq_cb(wa_session *s, int err, const wa_node *r, void *u)
{
	(void)s;
	(void)r;
	(void)u;
	iq_calls++;
	iq_last_err = err;
}

static void test_iq_table(void)
{
	wa_iq_table t;
	wa_iq_table_init(&t);
	CHECK(wa_iq_table_next_deadline(&t) == INT64_MAX);
	CHECK(wa_iq_table_add(&t, "a", 100, iq_cb, NULL) == 0);
	CHECK(wa_iq_table_add(&t, "b", 50, iq_cb, NULL) == 0);
	CHECK(wa_iq_table_add(&t, "a", 10, iq_cb, NULL) == WA_EEXIST);
	CHECK(wa_iq_table_add(&t, "", 10, iq_cb, NULL) == WA_ETOOBIG);
	CHECK(wa_iq_table_next_deadline(&t) == 50);
	CHECK(wa_iq_table_take_expired(&t, 49) == NULL);
	wa_iq_pending *p = wa_iq_table_take_expired(&t, 50);
	CHECK(p && strcmp(p->id, "b") == 0);
	free(p);
	CHECK(wa_iq_table_take(&t, "zz") == NULL);
	p = wa_iq_table_take(&t, "a");
	CHECK(p && strcmp(p->id, "a") == 0 && t.n == 0);
	free(p);
	char id[16];
	int rc = 0;
	for (unsigned i = 0; i <= WA_IQ_MAX_PENDING && rc == 0; i++) {
		snprintf(id, sizeof id, "%u", i);
		rc = wa_iq_table_add(&t, id, i, iq_cb, NULL);
	}
	CHECK(rc == WA_ETOOBIG && t.n == WA_IQ_MAX_PENDING);
	while ((p = wa_iq_table_take_any(&t)) != NULL)
		free(p);
	CHECK(t.n == 0);
}

static void test_payload(void)
{
	wa_store_creds c;
	memset(&c, 0, sizeof c);
	c.registration_id = 0x1234;
	c.signed_prekey_id = 1;
	memset(c.identity_pub, 0xAA, 32);
	memset(c.signed_prekey_pub, 0xBB, 32);
	memset(c.signed_prekey_sig, 0xCC, 64);
	wa_payload_params pp = {.creds = &c};
	uint8_t *b;
	size_t len;
	CHECK(wa_payload_build(&pp, &b, &len) == 0);
	Wa__ClientPayload *cp = wa__client_payload__unpack(NULL, len, b);
	CHECK(cp && !cp->has_username && cp->has_passive && !cp->passive && cp->has_pull && !cp->pull);
	CHECK(cp->user_agent && cp->user_agent->platform == WA__CLIENT_PAYLOAD__USER_AGENT__PLATFORM__WEB);
	CHECK(cp->user_agent->app_version && cp->user_agent->app_version->secondary == 3000);
	Wa__ClientPayload__DevicePairingRegistrationData *r = cp->device_pairing_data;
	CHECK(r && r->e_regid.len == 4 && memcmp(r->e_regid.data, "\x00\x00\x12\x34", 4) == 0);
	CHECK(r->e_keytype.len == 1 && r->e_keytype.data[0] == 5);
	CHECK(r->e_skey_id.len == 3 && memcmp(r->e_skey_id.data, "\x00\x00\x01", 3) == 0);
	CHECK(r->e_ident.len == 32 && r->e_ident.data[0] == 0xAA && r->e_skey_sig.len == 64);
	CHECK(r->build_hash.len == 16 && r->device_props.len > 0);
	wa__client_payload__free_unpacked(cp, NULL);
	free(b);

	/* buildHash = MD5("2.3000.1043857760") per transport-and-pairing.md §4.2 */
	static const uint8_t want[16] = {0xf6, 0xf6, 0x5c, 0x06, 0x07, 0xa1, 0xcd, 0xff, 0xd8, 0x75,
		0x2b, 0x05, 0x1f, 0xc9, 0x5e, 0xdf};
	CHECK_EQ_MEM(wa_session_build_hash, want, 16);

	uint64_t u;
	uint32_t d;
	CHECK(wa_session_parse_own_jid("15551234567:3@s.whatsapp.net", &u, &d) == 0);
	CHECK(u == 15551234567ull && d == 3);
	CHECK(wa_session_parse_own_jid("abc:3@s.whatsapp.net", &u, &d) != 0);
	pp = (wa_payload_params){.login = true, .username = 15551234567ull, .device = 3};
	CHECK(wa_payload_build(&pp, &b, &len) == 0);
	cp = wa__client_payload__unpack(NULL, len, b);
	CHECK(cp && cp->username == 15551234567ull && cp->device == 3 && cp->passive && cp->pull &&
	      !cp->device_pairing_data);
	wa__client_payload__free_unpacked(cp, NULL);
	free(b);
}

/* The claimed web client version: parsing, the payload's AppVersion and
 * buildHash (MD5 of the version text); and which step a failed transport
 * attempt is reported at (what a user is told to check). */
static void test_version_and_failure_steps(void)
{
	uint32_t v[3];
	CHECK(wa_version_parse("2.3000.1099999999", v) == 0 && v[0] == 2 && v[1] == 3000 && v[2] == 1099999999u);
	CHECK(wa_version_parse("2.3000", v) == WA_EINVAL);
	CHECK(wa_version_parse("2.3000.x", v) == WA_EINVAL);
	CHECK(wa_version_parse("2.3000.99999999999", v) == WA_EINVAL);
	CHECK(wa_version_parse("2.3000.1.", v) == WA_EINVAL);
	CHECK(wa_version_parse("", v) == WA_EINVAL);
	CHECK(wa_version_check(NULL) == 0 && wa_version_check("") == 0 && wa_version_check("1.2") == WA_EINVAL);
	CHECK(strcmp(wa_version_default(), "2.3000.1043857760") == 0);
	uint8_t h[16];
	CHECK(wa_md5(h, "2.3000.1043857760", 17) == 0);
	CHECK_EQ_MEM(h, wa_session_build_hash, 16);

	wa_store_creds c;
	memset(&c, 0, sizeof c);
	const uint32_t nv[3] = {2, 3000, 1099999999u};
	wa_payload_params pp = {.creds = &c, .version = nv};
	uint8_t *b;
	size_t len;
	CHECK(wa_payload_build(&pp, &b, &len) == 0);
	Wa__ClientPayload *cp = wa__client_payload__unpack(NULL, len, b);
	CHECK(cp && cp->user_agent && cp->user_agent->app_version);
	CHECK(cp->user_agent->app_version->primary == 2 && cp->user_agent->app_version->secondary == 3000 &&
	      cp->user_agent->app_version->tertiary == 1099999999u);
	CHECK(wa_md5(h, "2.3000.1099999999", 17) == 0);
	CHECK(cp->device_pairing_data && cp->device_pairing_data->build_hash.len == 16 &&
	      memcmp(cp->device_pairing_data->build_hash.data, h, 16) == 0);
	wa__client_payload__free_unpacked(cp, NULL);
	free(b);

	CHECK(wa_tr_classify_failure("Unable to connect", false, false) == WA_TR_STEP_TCP);
	CHECK(wa_tr_classify_failure("closed before established", false, false) == WA_TR_STEP_TCP);
	CHECK(wa_tr_classify_failure("getaddrinfo failed", false, false) == WA_TR_STEP_DNS);
	CHECK(wa_tr_classify_failure("connect SSL err 1: error:0A000086", false, false) == WA_TR_STEP_TLS);
	CHECK(wa_tr_classify_failure("Timed out waiting SSL", false, false) == WA_TR_STEP_TLS);
	CHECK(wa_tr_classify_failure("HS: ws upgrade response not 101", false, false) == WA_TR_STEP_UPGRADE);
	CHECK(wa_tr_classify_failure(NULL, true, false) == WA_TR_STEP_UPGRADE);
	CHECK(wa_tr_classify_failure("Unable to connect", false, true) == WA_TR_STEP_PROXY);
	CHECK(wa_tr_classify_failure("connect SSL err 1", false, true) == WA_TR_STEP_TLS);
	CHECK(strcmp(wa_tr_step_name(WA_TR_STEP_UPGRADE), "WebSocket upgrade") == 0);
}

static void test_url(void)
{
	char host[64], path[64];
	int port;
	bool tls;
	CHECK(wa_tr_parse_url("wss://web.whatsapp.com/ws/chat", &tls, host, sizeof host, &port, path,
		sizeof path) == 0);
	CHECK(tls && port == 443 && strcmp(host, "web.whatsapp.com") == 0 && strcmp(path, "/ws/chat") == 0);
	CHECK(wa_tr_parse_url("ws://127.0.0.1:8080", &tls, host, sizeof host, &port, path, sizeof path) == 0);
	CHECK(!tls && port == 8080 && strcmp(path, "/") == 0);
	CHECK(wa_tr_parse_url("ws://[::1]:9/x", &tls, host, sizeof host, &port, path, sizeof path) == 0);
	CHECK(strcmp(host, "::1") == 0 && port == 9);
	CHECK(wa_tr_parse_url("http://x/", &tls, host, sizeof host, &port, path, sizeof path) == WA_EINVAL);
	CHECK(wa_tr_parse_url("ws://:80/", &tls, host, sizeof host, &port, path, sizeof path) == WA_EINVAL);
	CHECK(wa_tr_parse_url("ws://h:0/", &tls, host, sizeof host, &port, path, sizeof path) == WA_EINVAL);
	CHECK(wa_tr_parse_url("ws://h:65536/", &tls, host, sizeof host, &port, path, sizeof path) == WA_EINVAL);
	CHECK(wa_tr_parse_url("ws://h:8x/", &tls, host, sizeof host, &port, path, sizeof path) == WA_EINVAL);
	CHECK(wa_tr_parse_url("ws://hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh/", &tls,
		host, sizeof host, &port, path, sizeof path) == WA_ETOOBIG);
	wa_tr_proxy px;
	CHECK(wa_tr_parse_proxy("http://proxy:3128", &px) == 0);
	CHECK(!px.socks && px.port == 3128 && strcmp(px.host, "proxy") == 0 && !px.has_auth);
	CHECK(wa_tr_parse_proxy("socks5://127.0.0.1:1080/", &px) == 0 && px.socks && px.port == 1080);
	CHECK(wa_tr_parse_proxy("http://u%3As:p%40ss:w@h:8080", &px) == WA_EINVAL); /* ':' in user */
	CHECK(wa_tr_parse_proxy("http://bob:p%40ss:w@h:8080", &px) == 0);
	CHECK(px.has_auth && strcmp(px.user, "bob") == 0 && strcmp(px.pass, "p@ss:w") == 0 &&
		strcmp(px.host, "h") == 0 && px.port == 8080);
	CHECK(wa_tr_parse_proxy("http://a:b@c@h:1", &px) == 0 && strcmp(px.pass, "b@c") == 0);
	CHECK(wa_tr_parse_proxy("http://bob:@h:1", &px) == 0 && px.pass[0] == '\0');
	CHECK(wa_tr_parse_proxy("http://:pw@h:1", &px) == WA_EINVAL);
	CHECK(wa_tr_parse_proxy("http://bob@h:1", &px) == WA_EINVAL);
	CHECK(wa_tr_parse_proxy("http://bob:a%0d%0ab@h:1", &px) == WA_EINVAL);
	CHECK(wa_tr_parse_proxy("http://bob:a%4@h:1", &px) == WA_EINVAL);
	CHECK(wa_tr_parse_proxy("http://bob:a%@h:1", &px) == WA_EINVAL);
	CHECK(wa_tr_parse_proxy("http://[::1]:3128", &px) == WA_EINVAL);
	CHECK(wa_tr_parse_proxy("socks4://alice@h:1080", &px) == 0 && px.socks && px.socks4 &&
		px.has_auth && strcmp(px.user, "alice") == 0 && px.pass[0] == '\0');
	CHECK(wa_tr_parse_proxy("socks4://alice:@h:1080", &px) == 0 && px.socks4);
	CHECK(wa_tr_parse_proxy("socks4://alice:pw@h:1080", &px) == WA_EINVAL); /* no passwords */
	CHECK(wa_tr_parse_proxy("socks5://alice@h:1080", &px) == WA_EINVAL);
	CHECK(wa_tr_parse_proxy("http://proxy", &px) == WA_EINVAL);
	CHECK(wa_tr_parse_proxy("http://proxy:0", &px) == WA_EINVAL);
	CHECK(wa_tr_parse_proxy("http://proxy:1/x", &px) == WA_EINVAL);
	CHECK(wa_tr_parse_proxy("ftp://p:1", &px) == WA_EINVAL);
	char longauth[200];
	snprintf(longauth, sizeof longauth, "http://%.45s:%.45s@h:1",
		"uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu",
		"pppppppppppppppppppppppppppppppppppppppppppppppppppp");
	CHECK(wa_tr_parse_proxy(longauth, &px) == WA_ETOOBIG); /* 45+1+45 > 90 */
	snprintf(longauth, sizeof longauth, "http://%.44s:%.45s@h:1",
		"uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu",
		"pppppppppppppppppppppppppppppppppppppppppppppppppppp");
	CHECK(wa_tr_parse_proxy(longauth, &px) == 0); /* exactly 90 */
	CHECK(wa_tr_proxy_check("http://h:1") == 0);
	CHECK(wa_tr_proxy_check("socks5://h:1") == 0); /* through the bridge on any lws */
	CHECK(wa_tr_proxy_check("gopher://h:1") == WA_EINVAL);
}

static void test_pair_code_primitives(void)
{
	char code[9];
	uint8_t zero[5] = {0}, ff[5] = {0xff, 0xff, 0xff, 0xff, 0xff};
	wa_pair_code_from_bytes(zero, code);
	CHECK_EQ_STR(code, "11111111");
	wa_pair_code_from_bytes(ff, code);
	CHECK_EQ_STR(code, "ZZZZZZZZ");
	uint8_t key[32], salt[32], iv[16], w[80], back[32];
	memset(key, 7, 32);
	memset(salt, 1, 32);
	memset(iv, 2, 16);
	CHECK(wa_pair_code_wrap("ABCDEFGH", key, salt, iv, w) == 0);
	CHECK(memcmp(w, salt, 32) == 0 && memcmp(w + 32, iv, 16) == 0 && memcmp(w + 48, key, 32) != 0);
	CHECK(wa_pair_code_unwrap("ABCDEFGH", w, 80, back) == 0);
	CHECK_EQ_MEM(back, key, 32);
	CHECK(wa_pair_code_unwrap("ABCDEFGX", w, 80, back) == 0);
	CHECK(memcmp(back, key, 32) != 0);
	CHECK(wa_pair_code_unwrap("ABCDEFGH", w, 79, back) == WA_EMALFORMED);
}

/* pair-success bytes as the phone builds them (§6.8 step 3). */
static void build_pair_success(const wa_keypair *A, const uint8_t ident_pub[32], const uint8_t adv[32],
	bool bad_hmac, uint8_t **out, size_t *out_len, uint8_t **D_out, size_t *D_len)
{
	Wa__ADVDeviceIdentity di = WA__ADVDEVICE_IDENTITY__INIT;
	di.has_raw_id = di.has_timestamp = di.has_key_index = 1;
	di.raw_id = 777;
	di.timestamp = 1700000000;
	di.key_index = 3;
	size_t dl = wa__advdevice_identity__get_packed_size(&di);
	uint8_t *D = malloc(dl);
	wa__advdevice_identity__pack(&di, D);
	uint8_t *msg = malloc(2 + dl + 32), sig[64];
	msg[0] = 6;
	msg[1] = 0;
	memcpy(msg + 2, D, dl);
	memcpy(msg + 2 + dl, ident_pub, 32);
	CHECK(wa_xeddsa_sign(sig, A->priv, msg, 2 + dl + 32) == 0);
	free(msg);
	Wa__ADVSignedDeviceIdentity sdi = WA__ADVSIGNED_DEVICE_IDENTITY__INIT;
	sdi.has_details = sdi.has_account_signature_key = sdi.has_account_signature = 1;
	sdi.details = (ProtobufCBinaryData){dl, D};
	sdi.account_signature_key = (ProtobufCBinaryData){32, (uint8_t *)A->pub};
	sdi.account_signature = (ProtobufCBinaryData){64, sig};
	size_t sl = wa__advsigned_device_identity__get_packed_size(&sdi);
	uint8_t *S = malloc(sl), mac[32];
	wa__advsigned_device_identity__pack(&sdi, S);
	CHECK(wa_hmac_sha256(mac, adv, 32, S, sl) == 0);
	if (bad_hmac)
		mac[0] ^= 1;
	Wa__ADVSignedDeviceIdentityHMAC h = WA__ADVSIGNED_DEVICE_IDENTITY_HMAC__INIT;
	h.has_details = h.has_hmac = 1;
	h.details = (ProtobufCBinaryData){sl, S};
	h.hmac = (ProtobufCBinaryData){32, mac};
	*out_len = wa__advsigned_device_identity_hmac__get_packed_size(&h);
	*out = malloc(*out_len);
	wa__advsigned_device_identity_hmac__pack(&h, *out);
	free(S);
	*D_out = D;
	*D_len = dl;
}

static void send_pair_success(const char *id, const uint8_t *b, size_t len)
{
	wa_node *iq = mk("iq", (const char *[]){"from", "@s.whatsapp.net", "type", "set", "id", id,
		"xmlns", "md", NULL});
	wa_node *ps = kid(iq, "pair-success");
	CHECK(wa_node_set_bytes(kid(ps, "device-identity"), b, len) == 0);
	CHECK(wa_node_set_attr(kid(ps, "platform"), "name", "android") == 0);
	wa_node *dev = kid(ps, "device");
	CHECK(wa_node_set_attr(dev, "jid", "15551234567:3@s.whatsapp.net") == 0);
	CHECK(wa_node_set_attr(dev, "lid", "99887766:3@lid") == 0);
	srv_send(iq);
}

/* The phone's primary_hello for a code pairing (§7.3). */
static void send_primary_hello(const char *id, const uint8_t A_pub[32], const uint8_t wrapped[80])
{
	wa_node *n = mk("notification", (const char *[]){"from", "@s.whatsapp.net", "type",
		"link_code_companion_reg", "id", id, NULL});
	wa_node *reg = kid(n, "link_code_companion_reg");
	CHECK(wa_node_set_attr(reg, "stage", "primary_hello") == 0);
	CHECK(wa_node_set_bytes(kid(reg, "link_code_pairing_ref"), "REF-1", 5) == 0);
	CHECK(wa_node_set_bytes(kid(reg, "primary_identity_pub"), A_pub, 32) == 0);
	CHECK(wa_node_set_bytes(kid(reg, "link_code_pairing_wrapped_primary_ephemeral_pub"), wrapped, 80) == 0);
	srv_send(n);
}

static int count_stage(const char *stage)
{
	int k = 0;
	for (int i = 0; i < n_rx; i++) {
		const wa_node *r = wa_node_child(rx[i], "link_code_companion_reg");
		const char *st = r ? wa_node_attr(r, "stage") : NULL;
		k += st && strcmp(st, stage) == 0;
	}
	return k;
}

static void send_stream_error(const char *code, const char *conflict)
{
	wa_node *n = mk("stream:error", NULL);
	if (code)
		CHECK(wa_node_set_attr(n, "code", code) == 0);
	if (conflict)
		CHECK(wa_node_set_attr(kid(n, "conflict"), "type", conflict) == 0);
	srv_send(n);
}

static void login_to_ready(wa_session *s)
{
	connect_and_handshake(s);
	CHECK(wa_session_state(s) == WA_CONN_AUTHENTICATING);
	Wa__ClientPayload *cp = wa__client_payload__unpack(NULL, last_payload_len, last_payload);
	CHECK(cp && cp->has_username && cp->username == 15551234567ull && cp->device == 3 &&
	      !cp->device_pairing_data);
	wa__client_payload__free_unpacked(cp, NULL);
	srv_send(mk("success", (const char *[]){"t", "1700000000", "lid", "99887766:3@lid", NULL}));
	CHECK(wa_session_state(s) == WA_CONN_READY);
}

static void test_fsm(const char *dbpath)
{
	wa_store *st;
	int64_t iid;
	CHECK(wa_store_open(dbpath, NULL, &st) == 0);
	CHECK(wa_store_instance_create(st, "t", &iid) == 0);
	wa_noise_trust tr;
	(void)tr;
	wa_session_config cfg = {.store = st, .instance_id = iid, .url = "ws://127.0.0.1:1/ws/chat",
		.trust_root_pub = root_kp.pub};
	wa_session *s = NULL;
	/* proxies this build cannot use are refused up front, not retried */
	cfg.proxy = "http://nohost";
	CHECK(wa_session_new_with_driver(&cfg, &fake, NULL, on_event, NULL, &s) == WA_EINVAL && !s);
	cfg.proxy = "socks5://bob:pw@127.0.0.1:1080";
	CHECK(wa_session_new_with_driver(&cfg, &fake, NULL, on_event, NULL, &s) == 0 && s);
	wa_session_free(s);
	s = NULL;
	cfg.proxy = "http://a:b@[::1]:1";
	CHECK(wa_session_new_with_driver(&cfg, &fake, NULL, on_event, NULL, &s) == WA_EINVAL && !s);
	cfg.proxy = "";
	CHECK(wa_session_new_with_driver(&cfg, &fake, NULL, on_event, NULL, &s) == 0);
	CHECK(!wa_session_is_paired(s) && wa_session_jid(s) == NULL);
	wa_store_creds creds;
	CHECK(wa_store_creds_load(st, iid, &creds) == 0);
	CHECK(wa_session_start(s) == 0);
	CHECK(n_opens == 1);

	/* registration handshake -> PAIRING */
	connect_and_handshake(s);
	CHECK(wa_session_state(s) == WA_CONN_PAIRING);
	Wa__ClientPayload *cp = wa__client_payload__unpack(NULL, last_payload_len, last_payload);
	CHECK(cp && cp->device_pairing_data && !cp->has_username);
	CHECK(cp->device_pairing_data->e_ident.len == 32 &&
	      memcmp(cp->device_pairing_data->e_ident.data, creds.identity_pub, 32) == 0);
	wa__client_payload__free_unpacked(cp, NULL);
	CHECK(wa_session_request_pairing_code(s, "15551234567") == WA_ESTATE); /* no refs yet */

	/* pair-device: ack, QR 0 for 60 s, then 20 s each, then the connection ends */
	wa_node *iq = mk("iq", (const char *[]){"from", "@s.whatsapp.net", "type", "set", "id", "pd-1",
		"xmlns", "md", NULL});
	wa_node *pd = kid(iq, "pair-device");
	CHECK(wa_node_set_bytes(kid(pd, "ref"), "2@AAA", 5) == 0);
	CHECK(wa_node_set_bytes(kid(pd, "ref"), "2@BBB", 5) == 0);
	srv_send(iq);
	srv_pump();
	const wa_node *ack = find_rx("iq", "result", NULL);
	CHECK(ack && strcmp(wa_node_attr(ack, "id"), "pd-1") == 0);
	const struct rec *q = last_ev(WA_EV_QR);
	CHECK(q && q->index == 0 && q->timeout == 60 &&
	      strncmp(q->text, "https://wa.me/settings/linked_devices#2@AAA,", 43) == 0);
	advance_live(59000);
	CHECK(count_ev(WA_EV_QR, 0) == 1 && wa_session_state(s) == WA_CONN_PAIRING);
	advance_live(1000);
	q = last_ev(WA_EV_QR);
	CHECK(count_ev(WA_EV_QR, 0) == 2 && q->index == 1 && q->timeout == 20 && strstr(q->text, "#2@BBB,"));
	int mark = n_ev;
	advance_live(20000);
	CHECK(wa_session_state(s) == WA_CONN_BACKOFF && conn_closed);
	CHECK(count_ev(WA_EV_DISCONNECTED, mark) == 1 && last_ev(WA_EV_DISCONNECTED)->reason == WA_DISC_TIMEOUT);
	advance(1300); /* backoff attempt 0: 800..1200 ms */
	CHECK(n_opens == 2 && wa_session_state(s) == WA_CONN_CONNECTING);
	connect_and_handshake(s);
	iq = mk("iq", (const char *[]){"from", "@s.whatsapp.net", "type", "set", "id", "pd-2", NULL});
	CHECK(wa_node_set_bytes(kid(kid(iq, "pair-device"), "ref"), "2@CCC", 5) == 0);
	srv_send(iq);

	/* pairing by code: companion_hello, its answer with the ref, the phone's
	 * primary_hello (adv secret derived and saved, companion_finish sent);
	 * a repeated primary_hello is refused: nothing saved changes */
	srv_pump();
	CHECK(wa_session_request_pairing_code(s, "15551234567") == 0);
	srv_pump();
	const wa_node *hello = NULL;
	for (int i = 0; i < n_rx; i++) {
		const wa_node *r = wa_node_child(rx[i], "link_code_companion_reg");
		if (r && wa_node_attr(r, "stage") && strcmp(wa_node_attr(r, "stage"), "companion_hello") == 0)
			hello = rx[i];
	}
	CHECK(hello != NULL);
	if (hello) {
		wa_node *res = mk("iq", (const char *[]){"from", "@s.whatsapp.net", "type", "result", "id",
			wa_node_attr(hello, "id"), NULL});
		CHECK(wa_node_set_bytes(kid(kid(res, "link_code_companion_reg"), "link_code_pairing_ref"), "REF-1",
			5) == 0);
		srv_send(res);
	}
	const struct rec *pc = last_ev(WA_EV_PAIRING_CODE);
	CHECK(pc && strlen(pc->text) == 9 && pc->text[4] == '-');
	char code[9] = {0};
	if (pc) {
		memcpy(code, pc->text, 4);
		memcpy(code + 4, pc->text + 5, 4);
	}
	wa_keypair P, Aprim;
	wa_keypair_generate(&P);
	wa_keypair_generate(&Aprim);
	uint8_t wsalt[32], wiv[16], wrapped[80];
	memset(wsalt, 0x5a, sizeof wsalt);
	memset(wiv, 0xa5, sizeof wiv);
	CHECK(wa_pair_code_wrap(code, P.pub, wsalt, wiv, wrapped) == 0);
	send_primary_hello("n-1", Aprim.pub, wrapped);
	srv_pump();
	CHECK(count_stage("companion_finish") == 1);
	wa_store_creds cc1, cc2;
	CHECK(wa_store_creds_load(st, iid, &cc1) == 0 && memcmp(cc1.adv_secret, creds.adv_secret, 32) != 0);
	send_primary_hello("n-2", Aprim.pub, wrapped);
	srv_pump();
	CHECK(count_stage("companion_finish") == 1);
	CHECK(wa_store_creds_load(st, iid, &cc2) == 0 && memcmp(cc2.adv_secret, cc1.adv_secret, 32) == 0);
	/* the pair-success that follows is checked with the derived secret */
	memcpy(creds.adv_secret, cc1.adv_secret, 32);

	/* pair-success with a bad HMAC: refused with 401 hmac-mismatch */
	wa_keypair A;
	wa_keypair_generate(&A);
	uint8_t *ps, *D;
	size_t psl, dl;
	build_pair_success(&A, creds.identity_pub, creds.adv_secret, true, &ps, &psl, &D, &dl);
	send_pair_success("ps-1", ps, psl);
	free(ps);
	free(D);
	srv_pump();
	const wa_node *err = find_rx("iq", "error", "error");
	CHECK(err && strcmp(wa_node_attr(err, "id"), "ps-1") == 0 &&
	      strcmp(wa_node_attr(wa_node_child(err, "error"), "text"), "hmac-mismatch") == 0);
	CHECK(!wa_session_is_paired(s) && count_ev(WA_EV_PAIRED, 0) == 0);

	/* a good one: paired, device signature verifies */
	build_pair_success(&A, creds.identity_pub, creds.adv_secret, false, &ps, &psl, &D, &dl);
	send_pair_success("ps-2", ps, psl);
	free(ps);
	srv_pump();
	const wa_node *sign = NULL;
	for (int i = 0; i < n_rx; i++)
		if (wa_node_child(rx[i], "pair-device-sign"))
			sign = rx[i];
	CHECK(sign && strcmp(wa_node_attr(sign, "id"), "ps-2") == 0);
	const wa_node *dn = sign ? wa_node_child(wa_node_child(sign, "pair-device-sign"), "device-identity") : NULL;
	const uint8_t *rb;
	size_t rl;
	CHECK(dn && strcmp(wa_node_attr(dn, "key-index"), "3") == 0 && wa_node_content_bytes(dn, &rb, &rl) == 0);
	Wa__ADVSignedDeviceIdentity *back = dn ? wa__advsigned_device_identity__unpack(NULL, rl, rb) : NULL;
	CHECK(back && !back->has_account_signature_key && back->has_device_signature &&
	      back->device_signature.len == 64 && back->details.len == dl);
	if (back) {
		uint8_t *m = malloc(2 + dl + 64);
		m[0] = 6;
		m[1] = 1;
		memcpy(m + 2, D, dl);
		memcpy(m + 2 + dl, creds.identity_pub, 32);
		memcpy(m + 2 + dl + 32, A.pub, 32);
		CHECK(wa_xeddsa_verify(creds.identity_pub, m, 2 + dl + 64, back->device_signature.data) == 0);
		free(m);
		wa__advsigned_device_identity__free_unpacked(back, NULL);
	}
	free(D);
	CHECK(wa_session_is_paired(s) && strcmp(wa_session_jid(s), "15551234567@s.whatsapp.net") == 0);
	CHECK(last_ev(WA_EV_PAIRED) && strcmp(last_ev(WA_EV_PAIRED)->text, "15551234567:3@s.whatsapp.net") == 0);
	wa_store_creds c2;
	CHECK(wa_store_creds_load(st, iid, &c2) == 0 && strcmp(c2.me_jid, "15551234567:3@s.whatsapp.net") == 0 &&
	      strcmp(c2.platform, "android") == 0 && c2.adv_identity_len > 0);

	/* a second pair-success (another account key, another JID, a valid
	 * HMAC) before the 515: refused, the saved credentials unchanged */
	{
		wa_keypair A2;
		wa_keypair_generate(&A2);
		uint8_t *ps2, *D2;
		size_t psl2, dl2;
		build_pair_success(&A2, creds.identity_pub, creds.adv_secret, false, &ps2, &psl2, &D2, &dl2);
		wa_node *iq2 = mk("iq", (const char *[]){"from", "@s.whatsapp.net", "type", "set", "id", "ps-3",
			"xmlns", "md", NULL});
		wa_node *ps3 = kid(iq2, "pair-success");
		CHECK(wa_node_set_bytes(kid(ps3, "device-identity"), ps2, psl2) == 0);
		CHECK(wa_node_set_attr(kid(ps3, "platform"), "name", "ios") == 0);
		CHECK(wa_node_set_attr(kid(ps3, "device"), "jid", "15559999999:7@s.whatsapp.net") == 0);
		srv_send(iq2);
		free(ps2);
		free(D2);
		srv_pump();
		const wa_node *refused = NULL;
		for (int i = 0; i < n_rx; i++)
			if (wa_node_attr(rx[i], "id") && strcmp(wa_node_attr(rx[i], "id"), "ps-3") == 0)
				refused = rx[i];
		CHECK(refused && strcmp(wa_node_attr(refused, "type"), "error") == 0 &&
		      !wa_node_child(refused, "pair-device-sign"));
		CHECK(count_ev(WA_EV_PAIRED, 0) == 1);
		wa_store_creds c3;
		CHECK(wa_store_creds_load(st, iid, &c3) == 0 && strcmp(c3.me_jid, c2.me_jid) == 0 &&
		      strcmp(c3.me_lid, c2.me_lid) == 0 && strcmp(c3.platform, "android") == 0 &&
		      c3.adv_identity_len == c2.adv_identity_len &&
		      memcmp(c3.adv_identity, c2.adv_identity, c2.adv_identity_len) == 0);
		uint8_t *k1 = NULL, *k2 = NULL;
		size_t l1 = 0, l2 = 0;
		CHECK(wa_store_identity_load(st, iid, "15551234567", 0, &k1, &l1) == 0 && l1 == 33 &&
		      memcmp(k1 + 1, A.pub, 32) == 0);
		CHECK(wa_store_identity_load(st, iid, "15559999999", 0, &k2, &l2) == WA_ENOTFOUND);
		wa_store_free(k1, l1);
		wa_store_free(k2, l2);
		CHECK(wa_session_is_paired(s) && strcmp(wa_session_jid(s), "15551234567@s.whatsapp.net") == 0);
	}

	/* 515: reconnect at once (no BACKOFF), log in */
	mark = n_ev;
	send_stream_error("515", NULL);
	CHECK(n_opens == 3 && wa_session_state(s) == WA_CONN_CONNECTING);
	for (int i = mark; i < n_ev; i++)
		CHECK(!(evs[i].type == WA_EV_STATE && evs[i].state == WA_CONN_BACKOFF));
	login_to_ready(s);
	CHECK(count_ev(WA_EV_CONNECTED, 0) == 1);
	srv_pump();
	const wa_node *cnt = find_rx("iq", "get", "count");
	CHECK(cnt && strcmp(wa_node_attr(cnt, "xmlns"), "encrypt") == 0);
	CHECK(find_rx("iq", "set", "active") != NULL);
	/* server has 0 pre-keys -> the first upload carries 812 */
	wa_node *res = mk("iq", (const char *[]){"from", "@s.whatsapp.net", "type", "result", "id",
		wa_node_attr(cnt, "id"), NULL});
	CHECK(wa_node_set_attr(kid(res, "count"), "value", "0") == 0);
	srv_send(res);
	srv_pump();
	const wa_node *up = find_rx("iq", "set", "list");
	CHECK(up && wa_node_n_children(wa_node_child(up, "list")) == 812);
	const wa_node *sk = up ? wa_node_child(up, "skey") : NULL;
	CHECK(sk && wa_node_child(sk, "signature"));
	res = mk("iq", (const char *[]){"from", "@s.whatsapp.net", "type", "result", "id",
		wa_node_attr(up, "id"), NULL});
	srv_send(res);
	CHECK(wa_store_creds_load(st, iid, &c2) == 0 && c2.first_unuploaded_prekey_id == 813 &&
	      c2.next_prekey_id == 813);

	/* keep-alive: a ping every 25 s; answered pings keep it alive */
	int pings_before = n_rx;
	advance(25000);
	srv_pump();
	const wa_node *ping = NULL;
	for (int i = pings_before; i < n_rx; i++)
		if (wa_node_attr(rx[i], "xmlns") && strcmp(wa_node_attr(rx[i], "xmlns"), "w:p") == 0)
			ping = rx[i];
	CHECK(ping && wa_node_child(ping, "ping"));
	srv_send(mk("iq", (const char *[]){"from", "@s.whatsapp.net", "type", "result", "id",
		wa_node_attr(ping, "id"), NULL}));
	CHECK(wa_session_state(s) == WA_CONN_READY);
	/* then silence: dead after 40 s without bytes -> TIMEOUT, backoff */
	mark = n_ev;
	advance(40500); /* dead at +40 s; the first backoff is >= 800 ms */
	CHECK(wa_session_state(s) == WA_CONN_BACKOFF);
	CHECK(last_ev(WA_EV_DISCONNECTED)->reason == WA_DISC_TIMEOUT);
	advance(1300);
	login_to_ready(s);

	/* <ib><edge_routing>: the next connection starts with the ED prefix */
	wa_node *ib = mk("ib", (const char *[]){"from", "@s.whatsapp.net", NULL});
	CHECK(wa_node_set_bytes(kid(kid(ib, "edge_routing"), "routing_info"), "\x08\x05\x08\x02", 4) == 0);
	srv_send(ib);
	CHECK(wa_frame_dec_routing_len(sdec) == 0);

	/* 503 -> backoff and retry */
	send_stream_error("503", NULL);
	CHECK(wa_session_state(s) == WA_CONN_BACKOFF && last_ev(WA_EV_DISCONNECTED)->reason == WA_DISC_SERVER_ERROR);
	advance(1300);
	login_to_ready(s);
	CHECK(wa_frame_dec_routing_len(sdec) == 4);

	/* 440 replaced: stop, no timer brings it back */
	int opens = n_opens;
	send_stream_error(NULL, "replaced");
	CHECK(wa_session_state(s) == WA_CONN_DISCONNECTED && last_ev(WA_EV_DISCONNECTED)->reason == WA_DISC_REPLACED);
	advance(300000);
	CHECK(n_opens == opens);

	/* start again; device_removed -> logged out, creds wiped */
	CHECK(wa_session_start(s) == 0);
	login_to_ready(s);
	send_stream_error("401", "device_removed");
	CHECK(wa_session_state(s) == WA_CONN_LOGGED_OUT && count_ev(WA_EV_LOGGED_OUT, 0) == 1);
	CHECK(!wa_session_is_paired(s));
	CHECK(wa_store_creds_load(st, iid, &c2) == 0 && c2.me_jid[0] == '\0' &&
	      memcmp(c2.identity_pub, creds.identity_pub, 32) != 0);
	advance(300000);
	CHECK(n_opens == opens + 1);

	/* stop while connecting: DISCONNECTED, nothing scheduled */
	CHECK(wa_session_start(s) == 0);
	CHECK(wa_session_stop(s) == 0);
	CHECK(wa_session_state(s) == WA_CONN_DISCONNECTED && conn_closed);
	advance(300000);
	CHECK(n_opens == opens + 2);

	wa_keypair_clear(&A);
	wa_session_free(s);
	srv_reset();
	wa_frame_dec_free(sdec);
	sdec = NULL;
	wa_store_close(st);
}

int main(void)
{
	test_backoff();
	test_iq_table();
	test_payload();
	test_pair_code_primitives();
	test_url();
	test_version_and_failure_steps();

	wa_keypair_generate(&root_kp);
	wa_keypair_generate(&int_kp);
	wa_keypair_generate(&srv_kp);
	wa_noise_cert_spec ispec = {.serial = 1, .issuer_serial = 0, .not_before = 0,
		.not_after = 4102444800ull};
	memcpy(ispec.key, int_kp.pub, 32);
	wa_noise_cert_spec lspec = {.serial = 2, .issuer_serial = 1, .not_before = 0,
		.not_after = 4102444800ull};
	memcpy(lspec.key, srv_kp.pub, 32);
	CHECK(wa_noise_cert_chain_build(&chain, &chain_len, root_kp.priv, &ispec, int_kp.priv, &lspec) == 0);
	char path[] = "/tmp/wa_test_session_XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	unlink(path);
	test_fsm(path);
	char side[sizeof path + 8];
	unlink(path);
	snprintf(side, sizeof side, "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof side, "%s-shm", path);
	unlink(side);
	free(chain);
	free(last_payload);
	wa_writer_clear(&cli_out, false);
	return check_exit("session_conn");
}
