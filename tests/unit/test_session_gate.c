/* Unit tests of connection admission (src/session/gate.c and its use in
 * conn.c) with a fake multi-connection transport, a fake clock and an
 * in-process Noise responder per connection:
 *  - at most max sessions between connect and PAIRING/READY; the rest wait
 *    in WAITING, in FIFO order;
 *  - a slot comes back on every exit path: handshake done (PAIRING),
 *    server close, handshake failure, deadline timeout, stop and free of a
 *    holder; a stopped or freed waiter leaves the queue;
 *  - a random walk over those events (seeded by WA_SEED) never lets the
 *    slots exceed max, and ends with no slot held;
 *  - wa_session_start_spread waits a bounded random delay before
 *    connecting;
 *  - a <message> frame is reported (WA_EV_MESSAGE_WIRE) only once the
 *    driver says that frame was written. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "binary/encode.h"
#include "check.h"
#include "noise/frame.h"
#include "noise/handshake.h"
#include "session/internal.h"
#include "util/seams.h"

#define NS 24        /* sessions */
#define MAX_CONNS 512
#define MAX_TIMERS 1024

/* ---- fake clock and timers ---- */
struct ftimer {
	wa_timer_fn fn;
	void *user;
	bool armed, used;
	int64_t due;
	uint64_t seq; /* arming order breaks ties: FIFO for equal due times */
};
static struct ftimer timers[MAX_TIMERS];
static int64_t fake_now = 1000000;
static uint64_t arm_seq;

static int f_timer_new(void *ctx, wa_timer_fn fn, void *user, void **t)
{
	(void)ctx;
	for (int i = 0; i < MAX_TIMERS; i++)
		if (!timers[i].used) {
			timers[i] = (struct ftimer){.fn = fn, .user = user, .used = true};
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
	x->seq = ++arm_seq;
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

static void advance(int64_t ms)
{
	int64_t end = fake_now + ms;
	for (;;) {
		struct ftimer *next = NULL;
		for (int i = 0; i < MAX_TIMERS; i++)
			if (timers[i].used && timers[i].armed && timers[i].due <= end &&
			    (!next || timers[i].due < next->due ||
				    (timers[i].due == next->due && timers[i].seq < next->seq)))
				next = &timers[i];
		if (!next)
			break;
		fake_now = next->due;
		next->armed = false;
		next->fn(next->user);
	}
	fake_now = end;
}

/* ---- fake connections, each with its own server side ---- */
struct fconn {
	bool used, closed, opened;
	const wa_tr_events *ev;
	void *user;      /* the session */
	wa_writer out;   /* bytes the client sent */
	size_t consumed;
	uint64_t n_sent;
	wa_frame_dec *sdec;
	wa_noise_hs *shs;
	wa_noise_transport *snt;
};
static struct fconn conns[MAX_CONNS];
static int n_conns;
static wa_keypair root_kp, int_kp, srv_kp;
static uint8_t *chain;
static size_t chain_len;

static int f_open(void *ctx, const wa_tr_config *cfg, const wa_tr_events *ev, void *user, void **out)
{
	(void)ctx;
	(void)cfg;
	CHECK(n_conns < MAX_CONNS);
	if (n_conns >= MAX_CONNS)
		return WA_ENOMEM;
	struct fconn *c = &conns[n_conns++];
	memset(c, 0, sizeof *c);
	c->used = true;
	c->ev = ev;
	c->user = user;
	wa_writer_init(&c->out, 1u << 20);
	CHECK(wa_frame_dec_new(&c->sdec, WA_FRAME_SERVER, WA_NOISE_MAX_FRAME) == 0);
	*out = c;
	return 0;
}
static int f_send(void *conn, const uint8_t *p, size_t len)
{
	struct fconn *c = conn;
	CHECK(!c->closed);
	c->n_sent++;
	return wa_wr_bytes(&c->out, p, len);
}
static void conn_free_server(struct fconn *c)
{
	wa_frame_dec_free(c->sdec);
	c->sdec = NULL;
	wa_noise_hs_free(c->shs);
	c->shs = NULL;
	wa_noise_transport_free(c->snt);
	c->snt = NULL;
	wa_writer_clear(&c->out, false);
}
static void f_close(void *conn)
{
	struct fconn *c = conn;
	if (!c)
		return;
	c->closed = true;
	conn_free_server(c);
}
static const wa_tr_driver fake = {f_open, f_send, f_close, f_timer_new, f_timer_set,
	f_timer_cancel, f_timer_free, f_now};

static struct fconn *conn_of(wa_session *s)
{
	for (int i = n_conns - 1; i >= 0; i--)
		if (conns[i].used && !conns[i].closed && conns[i].user == s)
			return &conns[i];
	return NULL;
}

/* Runs the server half of the Noise XX handshake over what the client sent. */
static void srv_pump(struct fconn *c)
{
	while (!c->closed) {
		size_t used = 0;
		const uint8_t *f;
		size_t flen;
		int rc = wa_frame_decode(c->sdec, c->out.p + c->consumed, c->out.len - c->consumed,
			&used, &f, &flen);
		c->consumed += used;
		CHECK(rc >= 0);
		if (rc <= 0)
			return;
		if (!c->shs && !c->snt) {
			uint8_t intro[4];
			CHECK(wa_frame_dec_intro(c->sdec, intro) == 0);
			CHECK(wa_noise_hs_new_responder(&c->shs, &srv_kp, chain, chain_len, intro) == 0);
			CHECK(wa_noise_hs_read_client_hello(c->shs, f, flen) == 0);
			wa_writer m, fr;
			wa_writer_init(&m, 1 << 16);
			wa_writer_init(&fr, 1 << 16);
			CHECK(wa_noise_hs_write_server_hello(c->shs, &m) == 0);
			CHECK(wa_frame_write(&fr, m.p, m.len) == 0);
			c->ev->on_data(c->user, fr.p, fr.len); /* may end in client finish */
			wa_writer_clear(&m, false);
			wa_writer_clear(&fr, false);
		} else if (c->shs) {
			CHECK(wa_noise_hs_read_client_finish(c->shs, f, flen) == 0);
			CHECK(wa_noise_hs_split(c->shs, &c->snt) == 0);
			wa_noise_hs_free(c->shs);
			c->shs = NULL;
		} else {
			return; /* transport frames: not needed here */
		}
	}
}

/* Opens the session's socket and runs the handshake: registration -> PAIRING. */
static void handshake(wa_session *s)
{
	struct fconn *c = conn_of(s);
	CHECK(c && wa_session_state(s) == WA_CONN_CONNECTING);
	if (!c)
		return;
	c->opened = true;
	c->ev->on_open(c->user);
	CHECK(wa_session_state(s) == WA_CONN_HANDSHAKING);
	srv_pump(c);
	srv_pump(c);
	CHECK(wa_session_state(s) == WA_CONN_PAIRING);
}

/* The server drops the socket. */
static void server_close(wa_session *s)
{
	struct fconn *c = conn_of(s);
	CHECK(c != NULL);
	if (c)
		c->ev->on_close(c->user, WA_ECLOSED);
}

/* ---- events ---- */
static char wire_ids[8][WA_SESSION_ID_MAX];
static int n_wire;
static void on_event(wa_session *s, const wa_event *ev, void *user)
{
	(void)s;
	(void)user;
	if (ev->type == WA_EV_MESSAGE_WIRE && n_wire < 8) {
		CHECK(ev->u.message_status.key.id != NULL);
		snprintf(wire_ids[n_wire++], WA_SESSION_ID_MAX, "%s", ev->u.message_status.key.id);
	}
}

/* ---- helpers ---- */
static wa_store *st;
static wa_session *sess[NS];
static wa_gate *gate;

static bool in_handshake(const wa_session *s)
{
	enum wa_conn_state x = wa_session_state(s);
	return x == WA_CONN_CONNECTING || x == WA_CONN_HANDSHAKING || x == WA_CONN_AUTHENTICATING;
}

/* The invariants: slots held == sessions holding one <= max; every session
 * mid-handshake holds one; the queue length matches the WAITING queued. */
static void check_invariants(unsigned max)
{
	wa_gate_stats gs;
	wa_gate_get_stats(gate, &gs);
	unsigned held = 0, queued = 0, hs = 0;
	for (int i = 0; i < NS; i++) {
		if (!sess[i])
			continue;
		held += sess[i]->gate_held;
		queued += sess[i]->gate_queued;
		if (in_handshake(sess[i])) {
			hs++;
			CHECK(sess[i]->gate_held);
		}
		if (sess[i]->gate_queued)
			CHECK(wa_session_state(sess[i]) == WA_CONN_WAITING);
	}
	CHECK(gs.max == max);
	CHECK(gs.active == held);
	CHECK(gs.active <= max && gs.peak <= max && hs <= max);
	CHECK(gs.waiting == queued);
}

static int n_names;
static void new_sessions(void)
{
	for (int i = 0; i < NS; i++) {
		char name[16];
		int64_t iid;
		snprintf(name, sizeof name, "g%d", n_names++);
		CHECK(wa_store_instance_create(st, name, &iid) == 0);
		wa_session_config cfg = {.store = st, .instance_id = iid, .url = "ws://127.0.0.1:1/ws/chat",
			.trust_root_pub = root_kp.pub, .gate = gate};
		CHECK(wa_session_new_with_driver(&cfg, &fake, NULL, on_event, NULL, &sess[i]) == 0);
	}
}

static void free_sessions(void)
{
	for (int i = 0; i < NS; i++) {
		wa_session_free(sess[i]);
		sess[i] = NULL;
	}
	wa_gate_stats gs;
	wa_gate_get_stats(gate, &gs);
	CHECK(gs.active == 0 && gs.waiting == 0);
}

/* ---- tests ---- */

static void test_api(void)
{
	wa_gate *g = NULL;
	CHECK(wa_gate_new(0, &g) == WA_EINVAL && g == NULL);
	CHECK(wa_gate_new(3, NULL) == WA_EINVAL);
	CHECK(wa_gate_new(3, &g) == 0 && g);
	wa_gate_stats gs;
	wa_gate_get_stats(g, &gs);
	CHECK(gs.max == 3 && gs.active == 0 && gs.peak == 0 && gs.waiting == 0 && gs.admitted == 0);
	CHECK(wa_gate_set_max(g, 0) == WA_EINVAL);
	CHECK(wa_gate_set_max(g, 5) == 0);
	wa_gate_get_stats(g, &gs);
	CHECK(gs.max == 5);
	wa_gate_free(g);
	wa_gate_free(NULL);
}

/* Deterministic: FIFO admission and a slot back on every exit path. */
static void test_exit_paths(void)
{
	const unsigned max = 3;
	CHECK(wa_gate_new(max, &gate) == 0);
	new_sessions();
	for (int i = 0; i < 10; i++)
		CHECK(wa_session_start(sess[i]) == 0);
	check_invariants(max);
	CHECK(n_conns == 3);
	for (int i = 0; i < 3; i++)
		CHECK(wa_session_state(sess[i]) == WA_CONN_CONNECTING);
	for (int i = 3; i < 10; i++)
		CHECK(wa_session_state(sess[i]) == WA_CONN_WAITING);
	CHECK(strcmp(wa_conn_state_name(WA_CONN_WAITING), "WAITING") == 0);
	wa_gate_stats gs;
	wa_gate_get_stats(gate, &gs);
	CHECK(gs.active == 3 && gs.waiting == 7 && gs.peak == 3 && gs.admitted == 3);

	/* 1. handshake done (PAIRING): the slot goes to the first waiter, s3,
	 * which connects from its own timer, not inside s0's call */
	handshake(sess[0]);
	CHECK(wa_session_state(sess[3]) == WA_CONN_WAITING && n_conns == 3);
	advance(0);
	CHECK(wa_session_state(sess[3]) == WA_CONN_CONNECTING && n_conns == 4 && conn_of(sess[3]));
	check_invariants(max);

	/* 2. the server closes mid-handshake: s1 backs off, s4 admitted */
	server_close(sess[1]);
	CHECK(wa_session_state(sess[1]) == WA_CONN_BACKOFF && !sess[1]->gate_held);
	advance(0);
	CHECK(wa_session_state(sess[4]) == WA_CONN_CONNECTING);
	check_invariants(max);

	/* 3. stop of a holder (s2) -> s5; 4. free of a holder (s3) -> s6 */
	CHECK(wa_session_stop(sess[2]) == 0);
	CHECK(wa_session_state(sess[2]) == WA_CONN_DISCONNECTED);
	wa_session_free(sess[3]);
	sess[3] = NULL;
	advance(0);
	CHECK(wa_session_state(sess[5]) == WA_CONN_CONNECTING);
	CHECK(wa_session_state(sess[6]) == WA_CONN_CONNECTING);
	check_invariants(max);

	/* 5. a stopped waiter and a freed waiter leave the queue, never connect */
	CHECK(wa_session_stop(sess[8]) == 0);
	CHECK(!sess[8]->gate_queued && wa_session_state(sess[8]) == WA_CONN_DISCONNECTED);
	wa_session_free(sess[9]);
	sess[9] = NULL;
	wa_gate_get_stats(gate, &gs);
	CHECK(gs.waiting == 1); /* s7 */
	check_invariants(max);

	/* 6. handshake failure (garbage server hello) on s4 -> s7 */
	struct fconn *c = conn_of(sess[4]);
	c->ev->on_open(c->user);
	static const uint8_t junk[] = {0, 0, 5, 1, 2, 3, 4, 5};
	c->ev->on_data(c->user, junk, sizeof junk);
	CHECK(wa_session_state(sess[4]) == WA_CONN_BACKOFF && !sess[4]->gate_held);
	advance(0);
	CHECK(wa_session_state(sess[7]) == WA_CONN_CONNECTING);
	check_invariants(max);

	/* 7. s1's backoff ends while every slot is taken: it queues again */
	advance(1500);
	CHECK(wa_session_state(sess[1]) == WA_CONN_WAITING && sess[1]->gate_queued);
	check_invariants(max);

	/* 8. the connect deadline passes on the holders (s5, s6, s7): they
	 * back off, s1 gets a slot */
	advance(WA_SESSION_CONNECT_TIMEOUT_MS);
	check_invariants(max);
	wa_gate_get_stats(gate, &gs);
	CHECK(gs.peak == 3 && gs.admitted > 8); /* s1 and the timed-out ones again */

	/* everyone stops: nothing held, nothing queued */
	for (int i = 0; i < NS; i++)
		if (sess[i])
			CHECK(wa_session_stop(sess[i]) == 0);
	wa_gate_get_stats(gate, &gs);
	CHECK(gs.active == 0 && gs.waiting == 0);
	free_sessions();
	wa_gate_free(gate);
	gate = NULL;
}

/* Random walk over every event a session can meet; invariants after each. */
static void test_random_walk(unsigned seed)
{
	const unsigned max = 4;
	CHECK(wa_gate_new(max, &gate) == 0);
	new_sessions();
	srand(seed);
	for (int step = 0; step < 1500 && n_conns < MAX_CONNS - NS; step++) {
		int i = rand() % NS;
		wa_session *s = sess[i];
		switch (rand() % 7) {
		case 0:
			if (s && !s->started)
				CHECK(wa_session_start(s) == 0);
			break;
		case 1:
			if (s && wa_session_state(s) == WA_CONN_CONNECTING && conn_of(s))
				handshake(s);
			break;
		case 2:
			if (s && conn_of(s) && wa_session_state(s) != WA_CONN_WAITING)
				server_close(s);
			break;
		case 3:
			if (s && rand() % 4 == 0)
				CHECK(wa_session_stop(s) == 0);
			break;
		case 4:
			if (s && rand() % 8 == 0) {
				wa_session_free(s);
				sess[i] = NULL;
			} else if (!s && rand() % 2 == 0) {
				int64_t iid;
				char name[24];
				snprintf(name, sizeof name, "r%d", step);
				CHECK(wa_store_instance_create(st, name, &iid) == 0);
				wa_session_config cfg = {.store = st, .instance_id = iid,
					.url = "ws://127.0.0.1:1/ws/chat", .trust_root_pub = root_kp.pub,
					.gate = gate};
				CHECK(wa_session_new_with_driver(&cfg, &fake, NULL, on_event, NULL,
					&sess[i]) == 0);
			}
			break;
		case 5:
			advance(rand() % 3000);
			break;
		default:
			if (rand() % 20 == 0)
				CHECK(wa_gate_set_max(gate, max) == 0);
			advance(0);
			break;
		}
		check_invariants(max);
	}
	wa_gate_stats gs;
	wa_gate_get_stats(gate, &gs);
	CHECK(gs.peak == max); /* the walk did fill the gate */
	CHECK(gs.admitted > 3 * max);
	free_sessions();
	wa_gate_free(gate);
	gate = NULL;
}

/* Growing the bound admits waiters at once. */
static void test_set_max(void)
{
	CHECK(wa_gate_new(1, &gate) == 0);
	new_sessions();
	for (int i = 0; i < 4; i++)
		CHECK(wa_session_start(sess[i]) == 0);
	check_invariants(1);
	CHECK(wa_gate_set_max(gate, 3) == 0);
	advance(0);
	check_invariants(3);
	int connecting = 0;
	for (int i = 0; i < 4; i++)
		connecting += wa_session_state(sess[i]) == WA_CONN_CONNECTING;
	CHECK(connecting == 3 && wa_session_state(sess[3]) == WA_CONN_WAITING);
	free_sessions();
	wa_gate_free(gate);
	gate = NULL;
}

/* Start spread: WAITING, then a connection within [0, max]. */
static void test_spread(void)
{
	CHECK(wa_gate_new(NS, &gate) == 0);
	new_sessions();
	int before = n_conns;
	for (int i = 0; i < NS; i++) {
		CHECK(wa_session_start_spread(sess[i], 5000) == 0);
		CHECK(wa_session_state(sess[i]) == WA_CONN_WAITING);
	}
	CHECK(n_conns == before);
	advance(2500);
	int mid = n_conns - before;
	CHECK(mid > 0 && mid < NS); /* 24 uniform draws: all on one side is ~1e-7 */
	advance(2500);
	CHECK(n_conns - before == NS);
	for (int i = 0; i < NS; i++)
		CHECK(wa_session_state(sess[i]) == WA_CONN_CONNECTING);
	/* stop during the delay: never connects */
	wa_session *s = sess[0];
	CHECK(wa_session_stop(s) == 0);
	CHECK(wa_session_start_spread(s, 1000) == 0 && wa_session_state(s) == WA_CONN_WAITING);
	CHECK(wa_session_stop(s) == 0);
	int n = n_conns;
	advance(2000);
	CHECK(n_conns == n && wa_session_state(s) == WA_CONN_DISCONNECTED);
	free_sessions();
	wa_gate_free(gate);
	gate = NULL;
}

/* Wire marks: WA_EV_MESSAGE_WIRE only when the driver reports the frame. */
static void test_wire_marks(void)
{
	CHECK(wa_gate_new(1, &gate) == 0);
	new_sessions();
	wa_session *s = sess[0];
	CHECK(wa_session_start(s) == 0);
	handshake(s);
	struct fconn *c = conn_of(s);
	CHECK(c != NULL);
	wa_node *m;
	CHECK(wa_node_new(&m, "message") == 0);
	CHECK(wa_node_set_attr(m, "id", "MSG-1") == 0);
	CHECK(wa_node_set_attr(m, "to", "1555@s.whatsapp.net") == 0);
	wa_node *other;
	CHECK(wa_node_new(&other, "presence") == 0);
	CHECK(wa_node_set_attr(other, "id", "P-1") == 0);
	CHECK(wa_conn_send_node(s, other) == 0);
	CHECK(wa_conn_send_node(s, m) == 0);
	uint64_t msg_frame = c->n_sent;
	CHECK(wa_node_set_attr(m, "id", "MSG-2") == 0);
	CHECK(wa_conn_send_node(s, m) == 0);
	wa_node_free(m);
	wa_node_free(other);
	CHECK(n_wire == 0);
	c->ev->on_written(c->user, msg_frame - 1); /* the presence: no event */
	CHECK(n_wire == 0);
	c->ev->on_written(c->user, msg_frame);
	CHECK(n_wire == 1 && strcmp(wire_ids[0], "MSG-1") == 0);
	c->ev->on_written(c->user, msg_frame + 1);
	CHECK(n_wire == 2 && strcmp(wire_ids[1], "MSG-2") == 0);
	c->ev->on_written(c->user, msg_frame + 1); /* repeated report: nothing new */
	CHECK(n_wire == 2);
	free_sessions();
	wa_gate_free(gate);
	gate = NULL;
}

int main(void)
{
	test_api();
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
	char path[] = "/tmp/wa_test_gate_XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	unlink(path);
	CHECK(wa_store_open(path, NULL, &st) == 0);

	test_exit_paths();
	const char *seed = getenv("WA_SEED");
	test_random_walk(seed ? (unsigned)strtoul(seed, NULL, 10) : 1234u);
	test_set_max();
	test_spread();
	test_wire_marks();

	wa_store_close(st);
	char side[sizeof path + 8];
	unlink(path);
	snprintf(side, sizeof side, "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof side, "%s-shm", path);
	unlink(side);
	for (int i = 0; i < n_conns; i++)
		if (!conns[i].closed)
			conn_free_server(&conns[i]);
	free(chain);
	return check_exit("session_gate");
}
