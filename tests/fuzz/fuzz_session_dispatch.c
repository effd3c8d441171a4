/* Fuzz target: stanza dispatch of a live session (STYLE §9: the first input
 * byte picks the connection state, the rest is one binary node body). The
 * session runs on a fake transport with a real Noise transport state, so
 * handlers get as far as sending their answers; every handler of the
 * dispatch table (connection and messaging) is reachable. One session is
 * built once and repaired between inputs when a handler ended the
 * connection. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "binary/decode.h"
#include "noise/cipher.h"
#include "session/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int tok;
static int f_open(void *ctx, const wa_tr_config *cfg, const wa_tr_events *ev, void *user, void **out)
{
	(void)ctx; (void)cfg; (void)ev; (void)user;
	*out = &tok;
	return 0;
}
static int f_send(void *conn, const uint8_t *p, size_t len) { (void)conn; (void)p; (void)len; return 0; }
static void f_close(void *conn) { (void)conn; }
static int dummy_timer;
static int f_timer_new(void *ctx, wa_timer_fn fn, void *user, void **t)
{
	(void)ctx; (void)fn; (void)user;
	*t = &dummy_timer;
	return 0;
}
static void f_timer_set(void *t, uint32_t ms) { (void)t; (void)ms; }
static void f_timer_cancel(void *t) { (void)t; }
static void f_timer_free(void *t) { (void)t; }
static int64_t f_now(void *ctx) { (void)ctx; return 1000; }
static const wa_tr_driver fake = {f_open, f_send, f_close, f_timer_new, f_timer_set,
	f_timer_cancel, f_timer_free, f_now};

static void on_event(wa_session *s, const wa_event *ev, void *user) { (void)s; (void)ev; (void)user; }

static wa_store *st;
static wa_session *sess;

static void cleanup(void)
{
	wa_session_free(sess);
	wa_store_close(st);
}

static void setup(void)
{
	char path[] = "/tmp/wa_fuzz_dispatch_XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		abort();
	close(fd);
	unlink(path);
	int64_t iid;
	if (wa_store_open(path, NULL, &st) != 0 || wa_store_instance_create(st, "f", &iid) != 0)
		abort();
	unlink(path); /* the open handle keeps it alive */
	wa_session_config cfg = {.store = st, .instance_id = iid, .url = "ws://127.0.0.1:1/"};
	if (wa_session_new_with_driver(&cfg, &fake, NULL, on_event, NULL, &sess) != 0)
		abort();
	atexit(cleanup);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (!sess)
		setup();
	wa_session *s = sess;
	static const uint8_t k1[32] = {1}, k2[32] = {2};
	if (!s->nt && wa_noise_transport_new(&s->nt, k1, k2) != 0)
		abort();
	s->conn = &tok;
	s->started = true;
	static const enum wa_conn_state states[] = {WA_CONN_PAIRING, WA_CONN_AUTHENTICATING,
		WA_CONN_READY, WA_CONN_HANDSHAKING};
	s->state = states[data[0] % 4];
	s->registering = s->state == WA_CONN_PAIRING;
	wa_node *n = NULL;
	if (wa_bin_decode_body(data + 1, size - 1, &n) == 0) {
		(void)wa_session_dispatch(s, n);
		wa_node_free(n);
	}
	/* a handler may have logged us out or stopped us: keep the instance
	 * usable for the next input without reconnect timers firing */
	s->started = false;
	wa_iq_fail_all(s, WA_ECLOSED);
	return 0;
}
