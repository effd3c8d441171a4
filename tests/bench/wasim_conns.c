/* Benchmark: how much memory wasim needs per connection. One client process
 * (one lws loop) opens N websocket connections to a running wasim, completes
 * the Noise handshake on each (checking wasim's certificate chain under its
 * test root) with a registration ClientPayload, so every connection ends up
 * idle in the PAIRING state, then reports wasim's RSS (and its own) as JSON.
 *
 * usage: bench_wasim_conns PORT ROOT_HEX WASIM_PID [N] [PARALLEL] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <libwebsockets.h>

#include "client_payload.pb-c.h"
#include "crypto/crypto.h"
#include "noise/frame.h"
#include "noise/handshake.h"
#include "util/codec.h"

struct bench {
	struct lws_context *ctx;
	int port;
	int n, parallel;
	int started, done, failed, in_flight;
	wa_noise_trust trust;
	wa_keypair noise_static;
	uint8_t *payload;
	size_t payload_len;
};

struct conn {
	wa_frame_dec *dec;
	wa_noise_hs *hs;
	uint8_t *out;
	size_t out_len;
	int step; /* 0 hello pending, 1 waiting server hello, 2 done */
};

static struct bench B;

static long rss_kb(const char *pid)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%s/status", pid);
	FILE *f = fopen(path, "r");
	long kb = -1;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			kb = atol(line + 6);
	fclose(f);
	return kb;
}

static void conn_free(struct conn *c)
{
	wa_frame_dec_free(c->dec);
	wa_noise_hs_free(c->hs);
	free(c->out);
	memset(c, 0, sizeof(*c));
}

static int queue_out(struct lws *wsi, struct conn *c, wa_writer *wr)
{
	free(c->out);
	c->out = malloc(LWS_PRE + wr->len);
	if (!c->out)
		return -1;
	memcpy(c->out + LWS_PRE, wr->p, wr->len);
	c->out_len = wr->len;
	lws_callback_on_writable(wsi);
	return 0;
}

static void connect_more(void);

static void finished(struct conn *c, bool ok)
{
	if (c->step == 2)
		return;
	c->step = 2;
	B.in_flight--;
	if (ok)
		B.done++;
	else
		B.failed++;
	connect_more();
}

static int on_frame(struct lws *wsi, struct conn *c, const uint8_t *f, size_t len)
{
	if (c->step != 1)
		return 0; /* pair-device etc.: ignored, the connection just idles */
	if (wa_noise_hs_read_server_hello(c->hs, f, len))
		return -1;
	wa_writer wr, msg;
	int rc;
	wa_writer_init(&msg, 1 << 16);
	if (wa_noise_hs_write_client_finish(c->hs, &msg)) {
		wa_writer_clear(&msg, true);
		return -1;
	}
	wa_writer_init(&wr, 1 << 16);
	rc = wa_frame_write(&wr, msg.p, msg.len);
	wa_writer_clear(&msg, true);
	if (!rc)
		rc = queue_out(wsi, c, &wr);
	wa_writer_clear(&wr, true);
	wa_noise_hs_free(c->hs);
	c->hs = NULL;
	finished(c, rc == 0);
	return rc;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct conn *c = user;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_ESTABLISHED: {
		if (wa_frame_dec_new(&c->dec, WA_FRAME_CLIENT, WA_NOISE_MAX_FRAME) ||
		    wa_noise_hs_new_initiator(&c->hs, &B.noise_static, B.payload, B.payload_len, &B.trust, NULL))
			return -1;
		wa_writer msg, wr;
		wa_writer_init(&msg, 1 << 16);
		wa_writer_init(&wr, 1 << 16);
		int rc = wa_noise_hs_write_client_hello(c->hs, &msg);
		if (!rc)
			rc = wa_frame_write_intro(&wr, NULL, 0);
		if (!rc)
			rc = wa_frame_write(&wr, msg.p, msg.len);
		if (!rc)
			rc = queue_out(wsi, c, &wr);
		wa_writer_clear(&msg, false);
		wa_writer_clear(&wr, false);
		c->step = 1;
		return rc ? -1 : 0;
	}
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (c->out) {
			int n = lws_write(wsi, c->out + LWS_PRE, c->out_len, LWS_WRITE_BINARY);
			free(c->out);
			c->out = NULL;
			if (n < 0)
				return -1;
		}
		return 0;
	case LWS_CALLBACK_CLIENT_RECEIVE: {
		const uint8_t *p = in;
		while (len) {
			size_t used = 0;
			const uint8_t *f;
			size_t flen;
			int rc = wa_frame_decode(c->dec, p, len, &used, &f, &flen);
			if (rc < 0)
				return -1;
			p += used;
			len -= used;
			if (rc == 0)
				break;
			if (on_frame(wsi, c, f, flen))
				return -1;
		}
		return 0;
	}
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
	case LWS_CALLBACK_CLIENT_CLOSED:
		if (c) {
			if (c->step != 2) {
				c->step = 1; /* make finished() count it */
				finished(c, false);
			}
			conn_free(c);
		} else {
			B.in_flight--;
			B.failed++;
			connect_more();
		}
		return 0;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
	{ "bench", callback, sizeof(struct conn), 65536, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

static void connect_more(void)
{
	while (B.started < B.n && B.in_flight < B.parallel) {
		struct lws_client_connect_info ci;
		memset(&ci, 0, sizeof(ci));
		ci.context = B.ctx;
		ci.address = "127.0.0.1";
		ci.port = B.port;
		ci.path = "/ws/chat";
		ci.host = "127.0.0.1";
		ci.origin = "https://web.whatsapp.com";
		ci.local_protocol_name = "bench";
		B.started++;
		B.in_flight++;
		if (!lws_client_connect_via_info(&ci)) {
			B.in_flight--;
			B.failed++;
		}
	}
}

static int make_payload(void)
{
	wa_keypair ident, spk;
	wa_keypair_generate(&ident);
	wa_keypair_generate(&spk);
	uint8_t msg[33] = { 5 }, sig[64];
	memcpy(msg + 1, spk.pub, 32);
	if (wa_xeddsa_sign(sig, ident.priv, msg, sizeof(msg)))
		return -1;
	uint8_t regid[4] = { 0, 0, 0x12, 0x34 }, kt[1] = { 5 }, skid[3] = { 0, 0, 1 };
	Wa__ClientPayload__DevicePairingRegistrationData dp = WA__CLIENT_PAYLOAD__DEVICE_PAIRING_REGISTRATION_DATA__INIT;
	dp.has_e_regid = dp.has_e_keytype = dp.has_e_ident = dp.has_e_skey_id = 1;
	dp.has_e_skey_val = dp.has_e_skey_sig = 1;
	dp.e_regid = (ProtobufCBinaryData){ 4, regid };
	dp.e_keytype = (ProtobufCBinaryData){ 1, kt };
	dp.e_ident = (ProtobufCBinaryData){ 32, ident.pub };
	dp.e_skey_id = (ProtobufCBinaryData){ 3, skid };
	dp.e_skey_val = (ProtobufCBinaryData){ 32, spk.pub };
	dp.e_skey_sig = (ProtobufCBinaryData){ 64, sig };
	Wa__ClientPayload cp = WA__CLIENT_PAYLOAD__INIT;
	cp.device_pairing_data = &dp;
	cp.has_passive = 1;
	B.payload_len = protobuf_c_message_get_packed_size(&cp.base);
	B.payload = malloc(B.payload_len);
	if (!B.payload)
		return -1;
	protobuf_c_message_pack(&cp.base, B.payload);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: %s PORT ROOT_HEX WASIM_PID [N] [PARALLEL]\n", argv[0]);
		return 2;
	}
	B.port = atoi(argv[1]);
	B.n = argc > 4 ? atoi(argv[4]) : 1000;
	B.parallel = argc > 5 ? atoi(argv[5]) : 200;
	uint8_t *root = NULL;
	size_t root_len = 0;
	if (wa_hex_decode(argv[2], strlen(argv[2]), &root, &root_len) || root_len != 32) {
		fprintf(stderr, "bad root\n");
		return 2;
	}
	memcpy(B.trust.root_pub, root, 32);
	free(root);
	B.trust.root_serial = 0;
	wa_keypair_generate(&B.noise_static);
	if (make_payload())
		return 1;
	struct rlimit rl;
	if (!getrlimit(RLIMIT_NOFILE, &rl)) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	long before = rss_kb(argv[3]);
	lws_set_log_level(LLL_ERR, NULL);
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.fd_limit_per_thread = (unsigned)B.n + 64;
	B.ctx = lws_create_context(&info);
	if (!B.ctx)
		return 1;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	connect_more();
	while (B.done + B.failed < B.n) {
		if (lws_service(B.ctx, 0) < 0)
			break;
		if (getenv("BENCH_DEBUG"))
			fprintf(stderr, "started %d done %d failed %d in flight %d\n", B.started, B.done, B.failed, B.in_flight);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* let wasim settle (pair-device sent to everyone); lws 4's
	 * lws_service ignores its timeout, so just sleep */
	struct timespec settle = { 1, 0 };
	nanosleep(&settle, NULL);
	long after = rss_kb(argv[3]);
	long self = rss_kb("self");
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("{\"n\":%d,\"connected\":%d,\"failed\":%d,\"seconds\":%.2f,\"wasim_rss_kb_before\":%ld,"
	       "\"wasim_rss_kb_after\":%ld,\"wasim_kb_per_conn\":%.1f,\"client_rss_kb\":%ld}\n",
		B.n, B.done, B.failed, secs, before, after,
		B.done ? (double)(after - before) / B.done : 0.0, self);
	lws_context_destroy(B.ctx);
	free(B.payload);
	return B.failed ? 1 : 0;
}
