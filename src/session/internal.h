/* src/session internals shared by the connection half (S1: conn.c, iq.c,
 * pair.c, prekeys.c, dispatch.c) and the messaging half (S2: msgstate.h;
 * README.md maps every file to what it owns). The
 * wa_session struct is defined here so handler files can reach the store,
 * the Signal context and the send path; embedders only see the opaque
 * handle in include/wa/session.h.
 *
 * Stanza flow: transport bytes -> frame decoder -> Noise transport ->
 * wa_bin_decode -> wa_session_dispatch(), which looks the node up in
 * wa_stanza_handlers[] (dispatch.c: one table from tag [+ type attribute]
 * to handler, STYLE §1) — messaging plugs its handlers in there.
 * Everything runs on the loop thread. */
#ifndef WA_SESSION_INTERNAL_H
#define WA_SESSION_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wa/session.h"
#include "binary/node.h"
#include "crypto/crypto.h"
#include "noise/cert.h"
#include "signal/context.h"
#include "store/store.h"
#include "transport/ws.h"
#include "session/iq.h"

struct wa_frame_dec;
struct wa_noise_hs;
struct wa_noise_transport;

/* ---- limits and timings (ms) ---- */
#define WA_SESSION_CONNECT_TIMEOUT_MS 20000u   /* open + Noise handshake (whatsmeow, Baileys: 20 s) */
#define WA_SESSION_AUTH_TIMEOUT_MS 20000u      /* ClientFinish -> success / pair-device */
#define WA_SESSION_KEEPALIVE_MS 25000u         /* ping interval (Baileys 30 s, whatsmeow 20-30 s) */
#define WA_SESSION_DEAD_MS 40000u              /* nothing received for this long: reconnect */
#define WA_SESSION_PING_TIMEOUT_MS 10000u      /* ping answer deadline (whatsmeow) */
#define WA_SESSION_IQ_TIMEOUT_MS 30000u        /* default iq answer deadline */
#define WA_SESSION_QR_FIRST_S 60u              /* first ref shown 60 s, then 20 s each (§6.3) */
#define WA_SESSION_QR_NEXT_S 20u
#define WA_SESSION_MAX_REFS 16u                /* refs kept from one pair-device */
#define WA_SESSION_MAX_FRAME 0xFFFFFFu            /* incoming frame cap: the 24-bit length field */
#define WA_SESSION_ID_MAX 48                   /* stanza id buffer incl. NUL */
#define WA_SESSION_PREKEY_INITIAL 812u         /* first upload (both libraries) */
#define WA_SESSION_PREKEY_MIN 5u               /* server count below this: top up */
#define WA_SESSION_PREKEY_TOPUP 50u            /* whatsmeow's top-up size */
#define WA_SESSION_WIRE_MARKS 64u              /* message ids awaiting their socket write */

/* ---- stanza dispatch ----
 * A handler gets a borrowed node (valid for the call). Return 0, or a
 * negative WA_E*: the stanza is dropped and the error logged at DEBUG; a
 * handler that finds the connection unusable calls wa_conn_fail itself. */
typedef int (*wa_stanza_fn)(wa_session *s, const wa_node *n);
typedef struct wa_stanza_handler {
	const char *tag;   /* top-level tag */
	const char *type;  /* value of the "type" attribute to match, NULL = any */
	wa_stanza_fn fn;
} wa_stanza_handler;
/* The table (dispatch.c); first match wins, so specific (tag, type) rows
 * come before the (tag, NULL) catch-all. Terminated by a {NULL} row. */
extern const wa_stanza_handler wa_stanza_handlers[];
/* Looks n up and calls its handler; unknown stanzas are logged and ignored.
 * Exposed for the dispatch fuzz target and unit tests. */
int wa_session_dispatch(wa_session *s, const wa_node *n);

/* Lifecycle hooks of the other halves (messaging). dispatch.c lists them;
 * each pointer may be NULL. init runs in wa_session_new after the creds and
 * wa_sig exist (or are created), on_ready after <success> and the pre-key
 * check, on_close when a connection ends (pending work must not assume the
 * socket), free in wa_session_free. */
typedef struct wa_session_ext {
	const char *name;
	int (*init)(wa_session *s);
	void (*on_ready)(wa_session *s);
	void (*on_close)(wa_session *s);
	void (*free)(wa_session *s);
} wa_session_ext;
extern const wa_session_ext *const wa_session_exts[]; /* NULL-terminated */
/* presence.c: a clean stop / free tells the server we are "unavailable"
 * (queued before the close; the transport flushes it) */
void wa_msg_presence_goodbye(wa_session *s);
/* offline.c: <ib><offline_preview> / <ib><offline>; true when it was one */
bool wa_msg_offline_ib(wa_session *s, const wa_node *ib);

/* ---- timers (transport driver timers bound to the session) ---- */
typedef struct wa_stimer {
	void *t;                    /* driver timer */
	wa_session *s;
	void (*fn)(wa_session *s);
} wa_stimer;
int wa_stimer_init(wa_session *s, wa_stimer *t, void (*fn)(wa_session *s)) WA_MUST_CHECK;
void wa_stimer_set(wa_stimer *t, uint32_t ms);
void wa_stimer_cancel(wa_stimer *t);
void wa_stimer_clear(wa_stimer *t);

/* Pairing state of one registration connection (pair.c). */
typedef struct wa_pair_state {
	char *refs[WA_SESSION_MAX_REFS];
	size_t n_refs;
	size_t next_ref;
	/* pairing code (§7) */
	bool code_active;
	char code[9];                   /* 8 chars + NUL; secret */
	char phone[32];
	wa_keypair code_ephemeral;      /* C */
	uint8_t *code_ref;              /* link_code_pairing_ref from the server */
	size_t code_ref_len;
	bool code_adv_set;              /* adv secret replaced by the §7.4 derivation */
	bool done;                      /* pair-success handled: no second one */
} wa_pair_state;

struct wa_session {
	/* configuration (strings owned, copied in wa_session_new) */
	wa_store *store;
	int64_t instance_id;
	char *url;
	char *proxy;
	char *device_name;
	char *push_name;
	bool tls_insecure;
	bool send_read_receipts;
	bool offline_on_connect;    /* no presence "available" after login */
	bool online;                /* "available" sent on this connection (presence.c) */
	uint32_t ack_timeout_ms;    /* server ack deadline (0 in config: WA_MSG_ACK_TIMEOUT_MS) */
	void (*status_in_tx)(void *user, const char *id, bool from_me, enum wa_msg_status status);
	bool status_recorded;       /* status_in_tx ran for the change about to be emitted */
	uint32_t hist_demand_ms;    /* on-demand history answer deadline (0 in config: 120 s) */
	uint32_t devlist_refresh_ms; /* group device lists' refresh age (0: WA_MSG_DEVCACHE_TTL_MS) */
	wa_noise_trust trust;
	wa_event_fn on_event;
	void *user;

	/* transport */
	const wa_tr_driver *drv;
	void *drv_ctx;
	void *conn;                 /* driver connection or NULL */
	unsigned gen;               /* connection generation, for logs */

	/* state machine */
	enum wa_conn_state state;
	bool started;               /* start called and not stopped */
	bool registering;           /* this connection sent a registration payload */
	unsigned attempt;           /* consecutive failed attempts (backoff index) */
	enum wa_disconnect_reason last_reason;
	int in_event;               /* >0 while inside on_event */
	uint32_t version[3];        /* web client version claimed (cfg wa_version or compiled in) */
	bool sync_full_history;     /* cfg: DeviceProps ask for the whole history */
	int fail_step;              /* WA_TR_STEP_* the transport reported for this attempt, or 0 */
	char *fail_text;            /* the transport's words for it (malloc'd, NULL: none) */
	char *last_error;           /* the last failure in plain words, WA_LAST_ERROR_MAX bytes;
	                             * NULL until one and again after READY (most sessions never fail) */

	/* credentials: always loaded (generated on first start) */
	wa_store_creds *creds;      /* sodium-allocated, scrubbed on free */
	wa_sig *sig;

	/* per-connection Noise state */
	struct wa_frame_dec *fdec;
	struct wa_noise_hs *hs;
	struct wa_noise_transport *nt;
	int64_t last_rx_ms;
	int64_t server_time_offset_s;

	/* timers */
	wa_stimer t_deadline;       /* connect / handshake / auth deadline */
	wa_stimer t_keepalive;
	wa_stimer t_backoff;
	wa_stimer t_qr;
	wa_stimer t_iq;              /* earliest iq deadline */

	wa_iq_table iq;
	wa_pair_state pair;

	/* pre-keys: an upload in flight */
	bool prekey_uploading;

	/* stanza ids: "<u16>.<u16>-<counter>" as Baileys */
	char id_prefix[16];
	uint64_t id_counter;

	char me_bare[WA_STORE_JID_MAX]; /* wa_session_jid's answer */

	/* connection admission (gate.c): borrowed gate, this session's place */
	wa_gate *gate;
	bool gate_held;             /* holds one of the gate's slots */
	bool gate_queued;           /* in the gate's FIFO */
	wa_session *gate_next, *gate_prev;

	/* wire marks: frames handed to the driver on this connection, and the
	 * <message> ids among them waiting for the driver's on_written: a ring
	 * of WA_SESSION_WIRE_MARKS allocated while marks wait (3.5 KiB an idle
	 * session does not keep) */
	uint64_t tx_frames;
	struct wa_wire_mark {
		uint64_t frame;         /* 1-based frame number on this connection */
		char id[WA_SESSION_ID_MAX];
	} *wire;
	unsigned wire_head, wire_n;

	/* messaging half (S2) keeps its state here */
	struct wa_msg_state *msg;
	/* app-state sync (appstate.c) */
	struct wa_appstate *appstate;
	/* history sync imports (history.c) */
	struct wa_history *history;
};

/* ---- used by handlers ---- */

/* Emits an event to the embedder (guards against re-entry into free). */
void wa_session_emit(wa_session *s, const wa_event *ev);
/* A new stanza id into buf (WA_SESSION_ID_MAX). */
void wa_session_new_id(wa_session *s, char buf[static WA_SESSION_ID_MAX]);
/* Encodes, encrypts and sends one node. WA_ESTATE when no transport
 * session is up (before the handshake finished or after close). */
int wa_conn_send_node(wa_session *s, const wa_node *n) WA_MUST_CHECK;
/* Sends a <message> stanza already in binary form (the bytes the outbox
 * recorded with its ratchet steps: no second encode); id: its message id,
 * for WA_EV_MESSAGE_WIRE. WA_ESTATE as wa_conn_send_node. */
int wa_conn_send_message_bytes(wa_session *s, const uint8_t *enc, size_t len, const char *id) WA_MUST_CHECK;
/* Ends the current connection for reason (err for logs) and lets the FSM
 * decide: reconnect now (515), back off, stop (replaced), or log out. */
void wa_conn_fail(wa_session *s, enum wa_disconnect_reason reason, int err);
/* The FSM's state change with its event (conn.c), for login.c. */
void wa_conn_set_state(wa_session *s, enum wa_conn_state st, enum wa_disconnect_reason why);
#define WA_LAST_ERROR_MAX 512
/* Fills s->last_error for a failed attempt (failure.c). */
void wa_conn_describe_failure(wa_session *s, enum wa_disconnect_reason reason, int err);
/* The t_keepalive timer's callback (keepalive.c). */
void wa_conn_on_keepalive(wa_session *s);
/* Own JIDs (NULL until paired / unknown). */
const char *wa_session_me_jid(const wa_session *s);
const char *wa_session_me_lid(const wa_session *s);
/* Sends <ack id to class [type]> for a stanza (§5.5). */
int wa_session_send_ack(wa_session *s, const wa_node *stanza) WA_MUST_CHECK;
/* The ack after the commit of what the stanza changed: at once when that
 * was durable, else when the loop turn's group commits (never if it is
 * lost: the server redelivers). */
int wa_session_send_ack_committed(wa_session *s, const wa_node *stanza) WA_MUST_CHECK;

/* ---- handlers of the connection half ---- */
int wa_handle_iq(wa_session *s, const wa_node *n);
int wa_handle_success(wa_session *s, const wa_node *n);
int wa_handle_failure(wa_session *s, const wa_node *n);
int wa_handle_stream_error(wa_session *s, const wa_node *n);
int wa_handle_stream_end(wa_session *s, const wa_node *n);
int wa_handle_ib(wa_session *s, const wa_node *n);
int wa_pair_handle_pair_device(wa_session *s, const wa_node *iq);
int wa_pair_handle_pair_success(wa_session *s, const wa_node *iq);
int wa_pair_handle_code_notification(wa_session *s, const wa_node *n);
int wa_prekeys_handle_notification(wa_session *s, const wa_node *n);
/* After <success>: count query, upload when low (prekeys.c). */
int wa_prekeys_check(wa_session *s) WA_MUST_CHECK;
/* Builds and sends the upload iq for n new keys. */
int wa_prekeys_upload(wa_session *s, size_t n) WA_MUST_CHECK;
/* How many keys to upload for a server count (-1 = unknown): 0, the
 * initial 812 or the top-up 50. */
size_t wa_prekeys_wanted(long server_count, bool ever_uploaded);
struct wa_sig_prekey;
/* The §8.2 upload iq (no id yet). *out: new tree. */
int wa_prekeys_build_upload(wa_node **out, uint32_t regid, const uint8_t identity_pub[static 32],
	const struct wa_sig_prekey *keys, size_t n, uint32_t spk_id, const uint8_t spk_pub[static 32],
	const uint8_t spk_sig[static 64]) WA_MUST_CHECK;
void wa_pair_reset(wa_session *s);
/* QR ref rotation timer (pair.c). */
void wa_pair_on_qr_timer(wa_session *s);

/* Credentials (creds.c): load, or generate and save a fresh set. */
int wa_session_creds_ensure(wa_session *s) WA_MUST_CHECK;
/* Wipes the instance's credentials and Signal state (logged out) and
 * generates a fresh unpaired set. */
int wa_session_creds_wipe(wa_session *s) WA_MUST_CHECK;
bool wa_creds_paired(const wa_store_creds *c);

/* The ClientPayload for this connection (conn.c / payload.c): registration
 * when unpaired, login otherwise. *out malloc'd (free()). */
int wa_session_build_client_payload(const wa_session *s, uint8_t **out, size_t *out_len) WA_MUST_CHECK;

/* Session constructor with an explicit transport driver (unit tests). */
int wa_session_new_with_driver(const wa_session_config *cfg, const wa_tr_driver *drv,
	void *drv_ctx, wa_event_fn on_event, void *user, wa_session **out) WA_MUST_CHECK;

/* Admission (gate.c). acquire: true when the session may connect now
 * (it holds a slot, or has no gate); false when it was queued (its
 * t_backoff fires once a slot is granted). leave: gives back the slot and
 * leaves the queue; idempotent. */
bool wa_gate_acquire(wa_session *s);
void wa_gate_leave(wa_session *s);

/* Reconnect delay for attempt n (0-based) with jitter from wa_rand_bytes:
 * the const table in conn.c, ±20 %. */
uint32_t wa_conn_backoff_ms(unsigned attempt);

#endif
