/* wasim: the test server that plays WhatsApp's chat servers and every
 * account's primary phone, on loopback, for e2e tests of libwa and of stock
 * Baileys clients. This header is the internal API between the core (W1:
 * server.c, conn.c, state.c, pair.c, login.c, control.c, tls.c) and the
 * messaging modules (W2: usync, pre-keys, routing, offline queue, receipts,
 * presence, the phone as a Signal participant).
 *
 * Everything runs on ONE libwebsockets event loop (no threads): handlers,
 * HTTP control routes and timers are called from it and must not block.
 *
 * How a messaging module plugs in (see modules.c):
 *   - add `int sim_xxx_init(struct sim *sim)` to the list in modules.c;
 *   - in it, register stanza handlers (sim_handler_register), iq handlers
 *     (sim_iq_register), HTTP routes (sim_http_register) and hooks
 *     (sim->hooks.*). A later registration for the same key replaces an
 *     earlier one, so the core's minimal fallbacks (encrypt count/upload/
 *     digest) are overridden by registering the same xmlns/child again.
 *
 * Lifetimes: accounts and devices live until the process ends (or unpair
 * frees a device: hooks.device_removed is called first). A sim_conn lives
 * until its socket closes: hooks.conn_closed is called, then the pointer is
 * invalid. Never keep a sim_conn pointer across loop iterations: keep the
 * sim_device and use dev->conn (NULL when offline). */
#ifndef WASIM_SIM_H
#define WASIM_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "binary/node.h"
#include "crypto/crypto.h"
#include "wa/wa.h"

struct sim;
struct sim_conn;
struct sim_device;
struct sim_account;

/* Limits. */
enum sim_limits {
	SIM_MAX_PHONE = 24,              /* digits of a phone number / LID user */
	SIM_REFS = 6,                    /* refs in <pair-device> (as the real server) */
	SIM_REF_LEN = 24,                /* bytes of one ref (ASCII) */
	SIM_MAX_FRAME = 4 * 1024 * 1024, /* largest noise frame accepted from a client */
	SIM_MAX_OUTQ = 32 * 1024 * 1024, /* queued bytes to one client before we drop it */
	SIM_MAX_HTTP_BODY = 64 * 1024 * 1024, /* control/media request bodies */
	SIM_HANDSHAKE_TIMEOUT_S = 20,    /* handshake must finish within this */
	SIM_DEFAULT_MAX_CONNS = 20000,
	SIM_MAX_IQ_FAULTS = 1000,        /* iq_error fault: most iqs it may answer */
};

/* Server-side fault injection for one device (POST /_sim/fault). */
struct sim_fault {
	int64_t refuse_until_ms; /* logins of this device are dropped until then (mono ms) */
	int64_t ack_delay_ms;    /* sim_send_ack delays server acks by this much */
	bool drop_acks;          /* sim_send_ack drops server acks */
	bool no_dedupe;          /* route identical copies of this device's messages again */
	/* the next iq_count iqs with this xmlns (and first child, when set)
	 * get <error code=iq_code>; code 0 = no answer at all; code 1 = handled,
	 * its answer lost (iq_lose: the next answer sent is dropped) */
	char iq_xmlns[32];
	char iq_child[32];
	int iq_code;
	int iq_count;
	bool iq_lose;
	/* the next ack_error_left message stanzas are acked with this error
	 * code and not routed (a server refusing sends: 429 rate-overlimit) */
	int ack_error_code;
	int ack_error_left;
};

/* A companion device (device number >= 1) of an account. Device 0 is the
 * simulated phone itself and has no sim_device: its keys are in the account. */
struct sim_device {
	struct sim_account *acct;
	uint32_t device;            /* device number in the JIDs */
	uint32_t key_index;         /* ADVDeviceIdentity.keyIndex */
	uint8_t noise_pub[32];      /* the companion's Noise static key */
	uint8_t identity[32];       /* its Signal identity key (raw, no 05) */
	uint32_t regid;             /* Signal registration id */
	uint32_t spk_id;            /* signed pre-key id */
	uint8_t spk_pub[32];
	uint8_t spk_sig[64];
	/* ADVSignedDeviceIdentity with the companion's deviceSignature and the
	 * phone's accountSignatureKey (malloc'd serialized bytes). */
	uint8_t *signed_identity;
	size_t signed_identity_len;
	char platform[64];          /* DeviceProps.os / browser, informative */
	bool full_sync;             /* DeviceProps.requireFullSync at pairing */
	int64_t paired_at;          /* unix seconds */
	struct sim_fault fault;
	struct sim_conn *conn;      /* current logged-in connection, or NULL */
	uint64_t logins, replaced;  /* logins; those that found another live connection (440 sent) */
	void *ext;                  /* messaging module's per-device data */
};

/* An account: phone number, LID, and the simulated phone (device 0). */
struct sim_account {
	char phone[SIM_MAX_PHONE + 1]; /* digits, e.g. "15551234567" */
	char lid[SIM_MAX_PHONE + 1];   /* LID user digits */
	char push_name[64];
	wa_keypair identity;           /* phone identity A: Signal identity of
	                                * device 0 and the ADV account key */
	uint32_t adv_raw_id;           /* ADVDeviceIdentity.rawId */
	uint32_t next_key_index;       /* for the next paired companion */
	uint32_t next_device;          /* next companion device number */
	uint32_t regid;                /* phone's Signal registration id */
	uint32_t spk_id;               /* phone's signed pre-key */
	wa_keypair spk;
	uint8_t spk_sig[64];           /* XEdDSA(identity, 05 || spk.pub) */
	struct sim_device **devices;   /* companions, in pairing order */
	size_t n_devices;
	void *ext;                     /* messaging module's per-account data
	                                * (e.g. phone one-time pre-keys, Signal store) */
};

enum sim_conn_state {
	SIM_CONN_HANDSHAKE = 0, /* Noise handshake in progress */
	SIM_CONN_PAIRING,       /* registration payload: pair-device sent */
	SIM_CONN_READY,         /* logged in: success sent, c->dev set */
	SIM_CONN_CLOSING,       /* stream:error / failure sent, closing after flush */
};

/* ---- hooks the messaging module may set (all optional) ---- */
struct sim_hooks {
	void *user;
	/* After <success> was sent on a login: deliver queued stanzas (each
	 * with offline="1") through sim_conn_send and return how many were
	 * sent (>= 0), or < 0 to drop the connection. The core then sends
	 * <ib><offline count="N"/></ib>, unless it returned SIM_OFFLINE_LATER
	 * (batched delivery: the module sends it after the last batch). */
	int (*flush_offline)(struct sim *sim, struct sim_conn *c, void *user);
#define SIM_OFFLINE_LATER 0x7fffffff
	/* A new account was created (ext may be set here). */
	int (*account_created)(struct sim *sim, struct sim_account *a, void *user);
	/* A companion finished pairing (before the 515). */
	void (*device_paired)(struct sim *sim, struct sim_device *d, void *user);
	/* A device is about to be removed (logout / unpair): free d->ext. Also
	 * called for every device at shutdown, with sim_stopping(sim) true:
	 * then free memory only, don't delete persisted data. */
	void (*device_removed)(struct sim *sim, struct sim_device *d, void *user);
	/* A logged-in connection is gone (c->dev still set during the call). */
	void (*conn_closed)(struct sim *sim, struct sim_conn *c, void *user);
	/* Persistence of ext data in the state file: save adds members to obj;
	 * load reads them back (obj may lack them: old state file). */
	int (*account_save)(struct sim *sim, const struct sim_account *a, json_t *obj, void *user);
	int (*account_load)(struct sim *sim, struct sim_account *a, const json_t *obj, void *user);
	int (*device_save)(struct sim *sim, const struct sim_device *d, json_t *obj, void *user);
	int (*device_load)(struct sim *sim, struct sim_device *d, const json_t *obj, void *user);
	/* Adds messaging details to GET /_sim/accounts/{phone} for a device
	 * (e.g. "queued": N) and for the account. */
	void (*device_info)(struct sim *sim, const struct sim_device *d, json_t *obj, void *user);
	void (*account_info)(struct sim *sim, const struct sim_account *a, json_t *obj, void *user);
	/* Called once at shutdown to free module state. */
	void (*shutdown)(struct sim *sim, void *user);
};

/* ---- stanza and iq handlers ---- */

/* A handler for a top-level stanza tag (message, receipt, ack, presence,
 * chatstate, notification, call, ib ...). n is the decoded stanza,
 * borrowed for the call. Return 0, or < 0 to drop this connection (the
 * client violated the protocol). Called only on READY connections unless
 * registered with sim_handler_register_any. */
typedef int (*sim_stanza_fn)(struct sim *sim, struct sim_conn *c, const wa_node *n, void *user);
int sim_handler_register(struct sim *sim, const char *tag, sim_stanza_fn fn, void *user) WA_MUST_CHECK;

/* An iq handler, chosen by xmlns and (optionally) the tag of the iq's first
 * child; child_tag NULL matches any child. A specific child match wins over
 * a NULL one. The handler must answer the iq (sim_iq_result / sim_iq_error)
 * unless it returns < 0 (drop the connection). READY connections only, except
 * xmlns "md" (pairing) which the core handles itself. */
typedef int (*sim_iq_fn)(struct sim *sim, struct sim_conn *c, const wa_node *iq, void *user);
int sim_iq_register(struct sim *sim, const char *xmlns, const char *child_tag, sim_iq_fn fn,
	void *user) WA_MUST_CHECK;

/* ---- connections ---- */

enum sim_conn_state sim_conn_state(const struct sim_conn *c);
/* The logged-in device (READY), else NULL. */
struct sim_device *sim_conn_device(const struct sim_conn *c);
/* Monotonic connection id (for logs and the control API). */
uint64_t sim_conn_id(const struct sim_conn *c);

/* Encodes n, encrypts it and queues it to the client. Returns 0,
 * WA_ESTATE (handshake not finished / closing), WA_ETOOBIG (out queue full:
 * the connection is then being dropped), or an encode error. Does not take
 * ownership of n. */
int sim_conn_send(struct sim_conn *c, const wa_node *n) WA_MUST_CHECK;
/* Same, and frees n in every case (convenient with sim_node()). */
int sim_conn_send_free(struct sim_conn *c, wa_node *n) WA_MUST_CHECK;

/* Sends n to the device's current connection; WA_ENOTFOUND when the device
 * is offline (the caller then queues it). Frees n in every case. */
int sim_send_to_device(struct sim *sim, struct sim_device *d, wa_node *n) WA_MUST_CHECK;

/* A server ack (e.g. <ack class="message"> for a client message) subject to
 * the device's ack faults (delayed or dropped). Frees n. */
int sim_send_ack(struct sim *sim, struct sim_conn *c, wa_node *n) WA_MUST_CHECK;

/* How to end a connection. */
enum sim_close_how {
	SIM_CLOSE_FLUSH = 0,     /* send what is queued, then a websocket close frame */
	SIM_CLOSE_ABORT = 1,     /* drop the TCP connection, no close frame */
};
/* Ends the connection (asynchronously; c stays valid until the close callback). */
void sim_conn_close(struct sim_conn *c, enum sim_close_how how);
/* Sends <stream:error code="code"/> (code 440: <conflict type="replaced"/>
 * without code; 401: code plus <conflict type="device_removed"/>), then
 * closes after flushing. */
void sim_conn_stream_error(struct sim_conn *c, int code);

/* ---- iq helpers ---- */

/* Answers iq (a client request) with <iq type="result" id=.. from=server>
 * and optional child (ownership taken, may be NULL). */
int sim_iq_result(struct sim_conn *c, const wa_node *iq, wa_node *child) WA_MUST_CHECK;
/* Answers with <iq type="error"><error code=.. text=../></iq>. */
int sim_iq_error(struct sim_conn *c, const wa_node *iq, int code, const char *text) WA_MUST_CHECK;

/* Server-initiated iq: sets id (if absent) and from, sends it and calls cb
 * with the client's answer (type result or error), or with answer NULL
 * when the connection closed first. Takes ownership of iq. */
typedef void (*sim_iq_answer_fn)(struct sim *sim, struct sim_conn *c, const wa_node *answer, void *arg);
int sim_conn_send_iq(struct sim_conn *c, wa_node *iq, sim_iq_answer_fn cb, void *arg) WA_MUST_CHECK;

/* A fresh stanza id, unique in this process ("wasim-<n>"). buf >= 32 bytes. */
void sim_new_id(struct sim *sim, char *buf, size_t cap);

/* Builds a node: tag, then key/value string pairs, terminated by NULL.
 * A NULL value skips its key. Returns NULL only when out of memory or
 * on an invalid string (asserts in debug builds). */
wa_node *sim_node(const char *tag, ...) __attribute__((sentinel));
/* Appends child to parent (takes ownership of child in every case);
 * returns parent, or NULL (and frees both) on failure. */
wa_node *sim_node_add(wa_node *parent, wa_node *child);
/* A node with bytes content. */
wa_node *sim_node_bytes(const char *tag, const void *p, size_t len);

/* ---- accounts and devices ---- */

struct sim_account *sim_account_find(struct sim *sim, const char *phone);
struct sim_account *sim_account_find_lid(struct sim *sim, const char *lid);
/* Iteration: i from 0 while it returns non-NULL. */
struct sim_account *sim_account_at(struct sim *sim, size_t i);
struct sim_device *sim_device_find(struct sim_account *a, uint32_t device);
/* Appends a verified companion d (device, key_index, keys and signed
 * identity filled in; taken over on success) to a's devices, as a pairing
 * ends: counters moved past it, hooks.device_paired called. No save. */
int sim_device_attach(struct sim *sim, struct sim_account *a, struct sim_device *d) WA_MUST_CHECK;
/* Creates an account with a fresh phone identity, LID, signed pre-key and
 * regid (the hooks.account_created callback adds messaging state). */
int sim_account_create(struct sim *sim, const char *phone, struct sim_account **out) WA_MUST_CHECK;
/* The account's phone was reinstalled: every companion is removed (as
 * sim_device_remove), then the phone gets a new identity key (also the ADV
 * account key), regid, adv raw id and signed pre-key; phone number and LID
 * stay. The messaging module resets the phone's Signal state itself. */
int sim_account_rekey(struct sim *sim, struct sim_account *a) WA_MUST_CHECK;
/* Removes a companion: sends <stream:error code=401><conflict
 * type="device_removed"/> if online, calls hooks.device_removed, frees it. */
void sim_device_remove(struct sim *sim, struct sim_device *d);
/* "<phone>:<dev>@s.whatsapp.net" / "<lid>:<dev>@lid" into buf (>= 64). */
void sim_device_pn_jid(const struct sim_account *a, uint32_t dev, char *buf, size_t cap);
void sim_device_lid_jid(const struct sim_account *a, uint32_t dev, char *buf, size_t cap);

/* Writes the state file (if --state was given). Call after changing
 * anything that must survive a restart. 0 or WA_EIO. */
int sim_save(struct sim *sim);

/* ---- timers ---- */

/* Calls fn(sim, arg) after delay_ms on the loop, exactly once. Returns 0 or
 * WA_ENOMEM. At shutdown every pending timer fires early with
 * sim_stopping(sim) true: fn must then just free arg (don't send). */
typedef void (*sim_timer_fn)(struct sim *sim, void *arg);
int sim_defer(struct sim *sim, int64_t delay_ms, sim_timer_fn fn, void *arg) WA_MUST_CHECK;
bool sim_stopping(const struct sim *sim);

/* ---- HTTP control API and media ---- */

struct sim_http_req {
	const char *method;   /* "GET", "POST", ... */
	const char *path;     /* "/_sim/accounts/155512" (no query) */
	const char *query;    /* after '?', or "" */
	const char *range;    /* the Range header, or "" */
	const uint8_t *body;  /* request body (may be NULL with body_len 0) */
	size_t body_len;
	json_t *json;         /* body parsed as JSON when it parses, else NULL (borrowed) */
	/* a media upload (POST /mms/...) is never held in memory: its body is
	 * spooled to this file (the handler may rename it; else it is removed)
	 * with its SHA-256, and body is NULL */
	const char *body_file;
	uint8_t body_sha256[32];
};
struct sim_http_resp {
	int status;                /* default 200 */
	char content_type[64];     /* default "application/json" */
	char content_range[96];    /* Content-Range header when set */
	uint8_t *body;             /* malloc'd, freed by the server */
	size_t body_len;
	int file_fd1;              /* instead of body: body_len bytes of this descriptor + 1 from file_off
	                            * (0: none; closed by the server), read as they are sent */
	off_t file_off;
	uint32_t send_kib_s;       /* with file_fd1: written at about this rate (0: at once) */
};
/* Routes match on method and path prefix (longest prefix wins). Return 0
 * after filling resp, or < 0 for a 500. */
typedef int (*sim_http_fn)(struct sim *sim, const struct sim_http_req *req, struct sim_http_resp *resp,
	void *user);
int sim_http_register(struct sim *sim, const char *method, const char *prefix, sim_http_fn fn,
	void *user) WA_MUST_CHECK;
/* sim_media.c: a new spool file for a media upload's body, in the blob
 * folder (so that it is renamed into place): its descriptor (-1: none),
 * its path in out. */
int sim_media_spool(struct sim *sim, char *out, size_t cap);
/* sim_media.c: how the media host paces an upload (POST /_sim/media/fault),
 * so that clients meet a slow host: read_kib_s reads the body at about that
 * many KiB per second (0: as fast as it comes), answer_delay_ms holds the
 * answer that long after the body, no_answer never answers (the connection
 * stays open until the client gives up). */
struct sim_media_pace {
	uint32_t read_kib_s;
	uint32_t answer_delay_ms;
	bool no_answer;
	uint32_t send_kib_s; /* downloads: blobs written at about this rate */
};
/* An upload's head arrived: counts it and gives the pacing it gets. */
void sim_media_upload_begin(struct sim *sim, struct sim_media_pace *out);
/* Sets resp to JSON (steals the reference to j). */
void sim_http_json(struct sim_http_resp *resp, int status, json_t *j);
/* Sets resp to {"error": msg} with status. */
void sim_http_error(struct sim_http_resp *resp, int status, const char *msg);

/* ---- the server ---- */

struct sim {
	struct sim_hooks hooks;
	/* set by main, read-only elsewhere */
	const char *state_dir;     /* NULL: nothing persisted */
	uint8_t root_pub[32];      /* test trust root (clients trust this) */
	bool notify_watchers_only; /* --device-notify watchers (see sim_usync.c) */
	unsigned real;             /* SIM_REAL_* switches: WASIM_REAL in the environment */
	uint64_t phone_media_inline_max; /* --phone-media-inline: larger blobs the phone
	                                  * checks a slice per loop turn (0: default) */
	void *priv;                /* core internals (server.c) */
	/* server-wide fault (POST /_sim/fault action min_version): client
	 * versions below this get <failure reason="405"/>; all 0: off */
	uint32_t min_version[3];
};

/* Real-server behaviour, off by default so tests opt in; the environment
 * variable WASIM_REAL ("all" or a comma list of the names below) turns
 * them on at start-up (modules.c). */
#define SIM_REAL_HIST_SYNC  (1u << 0) /* "hist_sync": the phone wants a hist_sync receipt */
#define SIM_REAL_TCTOKEN    (1u << 1) /* "tctoken": first-contact 1:1 sends need a privacy token */
#define SIM_REAL_OFFLINE    (1u << 2) /* "offline_batch": offline queue only in requested batches */
#define SIM_REAL_ALL        (SIM_REAL_HIST_SYNC | SIM_REAL_TCTOKEN | SIM_REAL_OFFLINE)
/* Parses a WASIM_REAL value into SIM_REAL_* bits; -1 on an unknown name. */
long sim_real_parse(const char *v);

/* Time helpers: unix seconds and monotonic ms. */
int64_t sim_now(void);
int64_t sim_mono_ms(void);

/* Module initialisers (modules.c). */
int sim_modules_init(struct sim *sim) WA_MUST_CHECK;

#endif
