/* wasim core internals shared by the core files (server.c, conn.c,
 * state.c, pair.c, login.c, control.c, tls.c). Messaging modules use sim.h
 * only. */
#ifndef WASIM_SIMCORE_H
#define WASIM_SIMCORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim.h"
#include "noise/frame.h"
#include "noise/handshake.h"
#include "noise/cipher.h"

struct lws;
struct lws_context;
struct lws_vhost;

/* One queued outgoing websocket message (payload at data + pre). */
struct sim_outmsg {
	struct sim_outmsg *next;
	size_t len;
	uint8_t data[]; /* LWS_PRE bytes of headroom, then len bytes */
};

struct sim_waiter {
	struct sim_waiter *next;
	char id[64];
	sim_iq_answer_fn cb;
	void *arg;
};

/* A registration (pairing) in progress on a connection. */
struct sim_pairing {
	/* from the registration ClientPayload */
	uint32_t regid;
	uint8_t identity[32];
	uint32_t spk_id;
	uint8_t spk_pub[32];
	uint8_t spk_sig[64];
	char platform[64];
	bool full_sync;
	char refs[SIM_REFS][SIM_REF_LEN + 1];
	/* pair-success sent, waiting for pair-device-sign */
	bool success_sent;
	char success_id[64];
	struct sim_account *acct;
	uint32_t device;
	uint32_t key_index;
	uint8_t *details;      /* ADVDeviceIdentity bytes */
	size_t details_len;
	/* pairing code */
	bool code_hello;       /* companion_hello received */
	char code_phone[SIM_MAX_PHONE + 1];
	uint8_t code_wrapped[80];
	uint8_t code_noise[32];
	char code_ref[32];
	bool code_primary_sent;
	wa_keypair code_p;     /* phone's pairing ephemeral */
	uint8_t code_c_pub[32];
	struct sim_account *code_acct;
};

/* Moves c to st, keeping the handshake counters of GET /_sim/conns. */
void sim_conn_set_state(struct sim_conn *c, enum sim_conn_state st);

struct sim_conn {
	struct sim *sim;
	struct lws *wsi;
	uint64_t id;
	enum sim_conn_state state;
	int hs_step;                /* 0: want client hello, 1: want finish */
	wa_frame_dec *dec;
	wa_noise_hs *hs;
	wa_noise_transport *tr;
	uint8_t client_static[32];
	struct sim_device *dev;
	struct sim_pairing *pair;
	struct sim_waiter *waiters;
	struct sim_outmsg *outq_head, *outq_tail;
	size_t outq_bytes;
	bool closing;               /* close after the queue drains */
	bool linger;                /* ...but give the client a moment to close first */
	bool hs_deadline_off;       /* handshake timeout cancelled */
	bool dead;                  /* stop processing input */
	int64_t opened_ms;
	struct sim_conn *prev, *next;
};

struct sim_handler_ent {
	char tag[48];
	sim_stanza_fn fn;
	void *user;
};
struct sim_iq_ent {
	char xmlns[48];
	char child[48]; /* "" = any */
	sim_iq_fn fn;
	void *user;
};
struct sim_route {
	char method[8];
	char prefix[128];
	sim_http_fn fn;
	void *user;
};

struct sim_core {
	struct lws_context *ctx;
	struct lws_vhost *vh_plain, *vh_tls;
	int port, tls_port;
	size_t max_conns;
	bool quiet;
	bool stopping;             /* shutdown in progress */
	int hs_timeout_s;          /* --handshake-timeout */
	bool edge_routing;         /* --edge-routing */
	wa_keypair root, inter, server_static;
	uint8_t *cert_chain;
	size_t cert_chain_len;
	struct sim_account **accounts;
	size_t n_accounts, cap_accounts;
	struct sim_handler_ent *handlers;
	size_t n_handlers;
	struct sim_iq_ent *iqs;
	size_t n_iqs;
	struct sim_route *routes;
	size_t n_routes;
	struct sim_conn *conns;
	size_t n_conns;
	size_t n_handshakes;       /* conns in SIM_CONN_HANDSHAKE (accept -> login/pairing) */
	size_t peak_handshakes;    /* most at once since start or the last peak reset */
	uint64_t next_conn_id;
	uint64_t next_stanza_id;
	void *timers;              /* list of pending timers (server.c) */
	char state_path[4096];
};

static inline struct sim_core *sim_core(struct sim *sim) { return (struct sim_core *)sim->priv; }

/* server.c */
void sim_conn_kick(struct sim_conn *c); /* ask lws for a writeable callback */
int sim_server_run(struct sim *sim);

/* conn.c: websocket events */
struct sim_conn *sim_conn_new(struct sim *sim, struct lws *wsi);
void sim_conn_on_data(struct sim_conn *c, const uint8_t *p, size_t len);
void sim_conn_on_closed(struct sim_conn *c); /* frees c */
void sim_conn_fail(struct sim_conn *c, const char *why); /* hostile input: abort */
/* Decodes one transport plaintext (flags + node) and dispatches it; < 0
 * means the connection must be dropped. (Also the dispatch fuzz entry.) */
int sim_conn_feed_plaintext(struct sim_conn *c, const uint8_t *pt, size_t len);
void sim_logf(struct sim *sim, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* login.c */
int sim_login_payload(struct sim_conn *c, const uint8_t *payload, size_t len);
int sim_login_init(struct sim *sim);
int sim_login_remove_companion(struct sim_conn *c, const wa_node *iq);

/* pair.c */
int sim_pair_start(struct sim_conn *c, const void *client_payload); /* Wa__ClientPayload* */
int sim_pair_iq(struct sim_conn *c, const wa_node *iq);              /* xmlns md, and results */
int sim_pair_scan(struct sim *sim, const char *phone, const char *qr, const char **err);
int sim_pair_code(struct sim *sim, const char *phone, const char *code, const char **err);
void sim_pairing_free(struct sim_pairing *p);

/* state.c */
int sim_state_load(struct sim *sim);
int sim_state_keys(struct sim *sim); /* root/intermediate/static + cert chain */
void sim_state_free(struct sim *sim);
uint32_t sim_rand_u32(void);

/* control.c */
int sim_control_init(struct sim *sim);
int sim_http_dispatch(struct sim *sim, const struct sim_http_req *req, struct sim_http_resp *resp);

/* tls.c */
int sim_tls_ensure_cert(const char *dir, char *cert_path, size_t cert_cap, char *key_path,
	size_t key_cap);

#endif
