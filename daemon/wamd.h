/* wamd internals shared by the daemon's files: the process state, tenants
 * (one per WhatsApp instance), configuration, the local API connection
 * state and the webhook lanes. wamd uses only the public include/wa headers of libwa. */
#ifndef WAMD_H
#define WAMD_H

#include <jansson.h>
#include <libwebsockets.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wa/session.h"
#include "wa/store.h"
#include "wa/store_daemon.h"
#include "wa/wa.h"

#define WAMD_MAX_BODY (1024 * 1024)    /* request body limit */
#define WAMD_MAX_MEDIA_BODY (96u * 1024 * 1024) /* sendMedia/sendWhatsAppAudio/sendSticker bodies (base64) */
#define WAMD_MAX_BULK_BODY (32u * 1024 * 1024) /* a bulk job: up to 100,000 recipients with variables */
#define WAMD_MAX_URI 2048
#define WAMD_MAX_KEY 256                /* apikey header */
#define WAMD_MAX_WS_QUEUE 1024          /* events buffered per WebSocket client... */
#define WAMD_MAX_WS_BYTES (8 * 1024 * 1024) /* ...and bytes: past either, the client is dropped */
#define WAMD_WS_CLOSE_GRACE_MS 5000     /* a stream being closed gets this long to take its close frame */
#define WAMD_MAX_NUMBERS 200            /* whatsappNumbers per request */
#define WAMD_TOKEN_MAX 16               /* tokens per instance */
#define WAMD_TOKEN_SALT 16              /* bytes of random salt per stored token */
#define WAMD_TOKEN_MIN_LEN 32           /* a caller's own token: a UUID's length without its dashes */
#define WAMD_TOKEN_MIN_BITS 64.0        /* ... and at least this much estimated entropy */
#define WAMD_QR_WAIT_MS 2000            /* /instance/connect waits this long for a QR */
#define WAMD_CREATE_QR_WAIT_MS 5000     /* /instance/create with qrcode:true */
#define WAMD_EVOLUTION_VERSION "2.3.6"
#define WAMD_PROXY_URL_MAX 1024         /* proxy URL handed to libwa (with %-encoded credentials) */

enum { WAMD_SCOPE_READ = 1, WAMD_SCOPE_WRITE = 2, WAMD_SCOPE_MANAGE = 4, WAMD_SCOPE_ALL = 7 };
/* Delivery targets: each (instance, target) is one FIFO lane of the
 * durable queue. The broker targets (wamd_broker.c) follow the webhooks. */
enum {
	WAMD_TARGET_INSTANCE = 0,    /* the instance's webhook */
	WAMD_TARGET_GLOBAL = 1,      /* the global webhook */
	WAMD_TARGET_AMQP_INSTANCE = 2, /* RabbitMQ, the instance's exchange (/rabbitmq/set) */
	WAMD_TARGET_AMQP_GLOBAL = 3, /* RabbitMQ, the global exchange (amqp_global) */
	WAMD_TARGET_REDIS = 4,       /* Redis Streams */
	WAMD_TARGETS = 5
};
#define WAMD_TARGET_BROKER_FIRST WAMD_TARGET_AMQP_INSTANCE

/* ---- config (wamd_config.c) ---- */
struct wamd_config {
	char *config_file;
	char *data_dir;
	char *socket_path;       /* default <data>/wamd.sock */
	char *listen;            /* "host:port" or NULL */
	char *api_key;
	char *log_level;         /* error warn info debug trace */
	char *server_url;
	char *wa_url;            /* WhatsApp (or wasim) websocket URL; NULL = real */
	char *wa_trust_root;     /* hex of a 32-byte root public key (wasim) */
	bool wa_tls_insecure;
	char *wa_version;        /* web client version claimed at login; NULL = compiled in */
	bool wa_version_fetch;   /* ask WhatsApp Web for the current version at start */
	char *wa_version_fetch_url; /* where (WhatsApp Web's service worker script) */
	char *device_name;       /* shown on the phone's linked devices */
	long qrcode_limit;       /* stop showing codes after this many (0: no limit) */
	char *master_key_file;
	bool seal_messages;      /* message bodies sealed too (store opts) */
	bool socket_trusted;     /* unix socket clients act as admin without a key */
	char *socket_group;      /* group owning the socket (NULL: the process's group) */
	/* webhooks */
	char *webhook_global_url;
	bool webhook_global_by_events;
	char *webhook_global_events;   /* comma list; empty = all */
	char *webhook_global_secret;
	long webhook_initial_delay_ms;
	long webhook_max_delay_ms;
	long webhook_max_attempts;     /* 0 = until webhook_max_age_s */
	long webhook_max_age_s;
	long webhook_timeout_ms;
	char *webhook_non_retryable;   /* comma list of HTTP codes */
	bool webhook_allow_loopback;
	bool webhook_allow_private;
	bool expose_token;             /* instance token in fetchInstances and webhook `apikey` */
	char *store;                   /* SQLite file or postgres(ql):// URI; NULL: <data>/wamd.db */
	bool store_exclusive;          /* SQLite locking_mode=EXCLUSIVE (PostgreSQL: a session lock) */
	long store_mmap_mib;           /* SQLite mmap_size in MiB */
	long store_checkpoint_pages;   /* SQLite wal_autocheckpoint; 0: its default */
	bool store_group_commit;       /* SQLite: one commit per loop turn (wa_store_turn_mode) */
	long history_demand_timeout_s; /* fetchHistory: HISTORY_DEMAND_TIMEOUT after this */
	bool cluster;                  /* cluster mode (wamd_cluster.c): PostgreSQL store only */
	char *node_id;                 /* cluster: this node's name; NULL: host name and pid */
	long lease_seconds;            /* cluster: lease length (0: WAMD_LEASE_DEFAULT_S) */
	/* connection admission (libwa's wa_gate) */
	long max_handshakes;           /* sessions between connect and ready at once */
	long startup_spread_per_instance_ms; /* startup spread = n x this ... */
	long startup_spread_max_ms;    /* ... capped here */
	/* operations (wamd_prom.c) */
	char *metrics_token;           /* also accepted on GET /metrics (Authorization: Bearer) */
	bool metrics_per_instance;     /* per-instance series on GET /metrics (cardinality!) */
	/* event outputs to brokers (wamd_broker.c) */
	char *amqp_uri;                /* amqp://user:pass@host:port/vhost; NULL: RabbitMQ off */
	char *amqp_ca_file;            /* amqps://: PEM CAs the broker's certificate must chain to; NULL: the system's */
	char *redis_ca_file;           /* rediss://: the same for Redis */
	char *amqp_exchange;           /* the global exchange */
	bool amqp_global;              /* every instance's events to amqp_exchange */
	char *amqp_global_events;      /* comma list; empty = all */
	char *amqp_prefix_key;         /* global queues <prefix>.<event>; NULL: <event> */
	char *redis_url;               /* redis[s]://[[user]:pass@]host[:port][/db]; NULL: Redis off */
	char *redis_stream;            /* stream key (prefix) */
	bool redis_stream_global;      /* one stream for every instance */
	long redis_maxlen;             /* XADD MAXLEN ~ (0: no trim) */
	char *redis_events;            /* comma list; empty = all */
	long broker_retry_max_ms;      /* back-off cap while a broker is unreachable */
	bool pacing;                   /* instances pace their sends unless their settings say otherwise */
	long pace_daemon_per_minute, pace_daemon_per_hour, pace_daemon_per_day; /* across instances; 0: off */
	char *pace_groups;             /* tenant groups' limits (pace_groups_parse) */
	long media_probe_workers;      /* probe threads of media sends (wamd_media_probe.c) */
	long webhook_base64_max;       /* largest file put inline in a webhook (webhookBase64) */
	long media_sweep_s;            /* retention sweep of stored media, seconds between turns */
};
#define WAMD_LEASE_DEFAULT_S 15
#define WAMD_LEASE_MIN_S 3
#define WAMD_LEASE_MAX_S 3600
/* Refuses cluster options without cluster mode or a PostgreSQL store, and
 * lease_seconds out of range (wamd_cluster.c). */
int wamd_config_check_cluster(const struct wamd_config *c, char *err, size_t errlen);
#define WAMD_MAX_HANDSHAKES_LIMIT 100000
#define WAMD_STARTUP_SPREAD_LIMIT_MS 600000

/* Loads defaults < file < env < argv. getenv_fn lets tests inject an
 * environment. On error returns -1 with a message in err. *want_help set
 * for --help. */
int wamd_config_load(struct wamd_config *c, int argc, char **argv,
		     const char *(*getenv_fn)(const char *name), char *err, size_t errlen,
		     bool *want_help);
void wamd_config_free(struct wamd_config *c);
/* Parses a config file's text (key = value lines or a JSON object) into c;
 * buf (n bytes, NUL-terminated) is modified. -1 with err on error. */
int wamd_config_parse_text(struct wamd_config *c, char *buf, size_t n, const char *name, char *err, size_t errlen);
void wamd_config_usage(FILE *f);
/* Sets one setting by its file key; src names the source in errors. */
int wamd_config_set(struct wamd_config *c, const char *key, const char *val, const char *src, char *err,
		    size_t errlen);
/* The process's getenv, as wamd_config_load's getenv_fn (enables the
 * listing of ignored Evolution variables from the real environment). */
const char *wamd_real_getenv(const char *name);

/* Parses "info" etc.; -1 if unknown (wamd_util.c). */
int wamd_log_level_parse(const char *s);
/* Refuses a config file others may write, or read while it holds a secret
 * (api_key, webhook_global_secret): -1 with the file and its mode in err. */
int wamd_config_check_file(const struct wamd_config *c, char *err, size_t errlen);
/* True for keys an attacker would try first ("", "changeme", Evolution's sample). */
bool wamd_key_is_weak(const char *key);

/* ---- logging (wamd_util.c) ---- */
void wamd_log(enum wa_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void wamd_log_set_level(enum wa_log_level lvl);
#define LOGE(...) wamd_log(WA_LOG_ERROR, __VA_ARGS__)
#define LOGW(...) wamd_log(WA_LOG_WARN, __VA_ARGS__)
#define LOGI(...) wamd_log(WA_LOG_INFO, __VA_ARGS__)
#define LOGD(...) wamd_log(WA_LOG_DEBUG, __VA_ARGS__)

/* ---- utilities (wamd_util.c) ---- */
void wamd_iso_time(int64_t ms, char out[32]);
int64_t wamd_now_ms(void);
void wamd_sha256(const void *p, size_t n, uint8_t out[32]);
void wamd_hex(const uint8_t *p, size_t n, char *out); /* out: 2n+1 */
int wamd_random_token(char out[37]);  /* upper-case UUID v4 */
int wamd_random_uuid(char out[37]);   /* lower-case UUID v4 */
char *wamd_b64(const uint8_t *p, size_t n);
/* Evolution's number normalizer (§1.5): writes a JID. -1 if unusable. */
int wamd_normalize_number(const char *in, char *out, size_t outlen);
/* A send's "sendAt": ms since the epoch, given as such or as an ISO-8601
 * time with a zone ("2026-01-05T09:30:00Z", "...T09:30:00.250+02:00");
 * 0 for none (NULL, null), -1 for anything else. Pure: the bulk job
 * reader's thread calls it too. */
int64_t wamd_send_at_parse(const json_t *v);
#define WAMD_SEND_AT_MAX_AHEAD_MS (366LL * 86400000LL)
#define WAMD_SEND_AT_BAD                                                                                               \
	"sendAt must be ms since the epoch or an ISO-8601 time with a zone (2026-01-05T09:30:00Z, ...+02:00)"
#define WAMD_SEND_AT_FAR "sendAt is more than 366 days ahead"
/* "web", "ios", ... from the message id format. */
const char *wamd_source_of_id(const char *id);
/* Evolution's status names. */
const char *wamd_status_name(int st);
/* Dotted payload name and by-events suffix for an UPPER_SNAKE event; NULL if unknown. */
const char *wamd_event_dotted(const char *upper);
void wamd_event_suffix(const char *upper, char *out, size_t outlen);
bool wamd_event_known(const char *upper);
/* Parses http(s)://host[:port]/path. */
struct wamd_url {
	bool tls;
	char host[256];
	int port;
	char path[1024];
};
int wamd_url_parse(const char *url, struct wamd_url *u);
/* Address classes the webhook policy refuses. A host is classified by
 * its literal form; a name is PUBLIC until resolved (except localhost and
 * *.localhost), and its resolved addresses are checked before connecting. */
enum wamd_addr_class { WAMD_ADDR_PUBLIC, WAMD_ADDR_LOOPBACK, WAMD_ADDR_PRIVATE };
struct wamd_host {
	bool numeric;            /* an IP address in any form the resolver accepts */
	int family;              /* AF_INET / AF_INET6 when numeric */
	enum wamd_addr_class cls;
	char canon[256];         /* dotted quad / RFC 5952 IPv6 / lower-case name */
};
/* Parses a URL host (IPv6 without brackets): -1 if it is neither an address
 * nor a plausible host name (bad bytes, a numeric-looking last label). */
int wamd_host_parse(const char *host, struct wamd_host *out);
enum wamd_addr_class wamd_addr_classify_host(const char *host);
enum wamd_addr_class wamd_addr_classify_sa(const struct sockaddr *sa);
/* NULL when the policy allows the class, else the reason. */
const char *wamd_addr_class_refused(const struct wamd_config *c, enum wamd_addr_class cls);
/* Set-time check of a webhook URL: NULL if acceptable, else a reason
 * (possibly written into why). Numeric hosts must be in canonical form. */
const char *wamd_webhook_url_policy(const struct wamd_config *c, const char *url, char *why, size_t whylen);

/* The libwa proxy URL of a stored proxy row {enabled, host, port, protocol,
 * username, password}: "" when absent or disabled, else
 * "<scheme>://[user:pass@]host:port" with user and password %-encoded.
 * -1 if it does not fit in cap, the protocol has no libwa scheme, or host
 * or port hold characters the API would have refused. The
 * result holds the password: callers wipe it after use. */
int wamd_proxy_url(const json_t *proxy, char *out, size_t cap);

/* QR PNG as a data URI (wamd_qr.c). NULL on failure. */
char *wamd_qr_png_data_uri(const char *text);
int wamd_qr_png(const char *text, uint8_t **out, size_t *out_len);

/* ---- tenants ---- */
struct wamd;
struct wamd_conn;
struct wamd_ticket {
	struct wamd_conn *c;         /* NULL once the connection went away */
	/* a send's number check (wamd_send_check.c) takes the lookup's answer
	 * here; NULL: whatsappNumbers answers with it */
	void (*then)(struct wamd_ticket *tk, int err, json_t *result);
	/* set: called when the connection goes away (c already NULL) */
	void (*gone)(struct wamd_ticket *tk);
};

struct wamd_token {
	uint8_t sha256[32];          /* SHA-256(salt || token) */
	uint8_t salt[WAMD_TOKEN_SALT];
	size_t salt_len;             /* 0 for tokens stored before salts */
	unsigned scopes;
};

struct wamd_lane {
	struct wamd_tenant *t;
	int target;
	struct lws *wsi;             /* in-flight request */
	lws_sorted_usec_list_t sul;  /* retry timer */
	bool timer_armed;
	int64_t row_id;
	int attempts;
	int64_t created_ms;
	char *body;
	size_t body_len, body_sent;
	char *url_path;              /* request path incl. suffix */
	char *headers_json;          /* custom headers (JSON object) */
	char *sig;                   /* x-wamd-signature of the attempt, NULL unsigned */
	int http_status;
	bool done;
	bool blocked;                /* address refused: stop until config changes */
	/* one attempt: name lookup, connect, request, response */
	struct wamd_resolve *dns;    /* lookup in flight */
	char *host;                  /* URL host (Host header, TLS name) */
	char *location;              /* Location of a 3xx answer, for the log */
	int port;
	bool tls;
	lws_sorted_usec_list_t deadline_sul; /* webhook_timeout_ms for the whole attempt */
	bool deadline_armed;
	int64_t deadline_ms;
	long timeout_ms;             /* as configured when the attempt began */
};

struct wamd_waiter {
	struct wamd_waiter *next;
	struct wamd_conn *conn;
};

struct wamd_tenant {
	struct wamd *d;
	struct wamd_tenant *next;
	int64_t id;
	json_t *doc;                 /* persisted metadata (see wamd_tenant_save) */
	struct wamd_token *tokens;   /* n_tokens of them (at most WAMD_TOKEN_MAX) */
	size_t n_tokens;
	wa_session *sess;
	enum wa_conn_state state;
	int status_reason;           /* Evolution statusReason of the last close */
	char *conn_error;            /* why the last attempt failed (libwa's words), NULL once up */
	bool conn_error_final;       /* the session gave up (not retrying) */
	int64_t qr_expires_ms;       /* wall clock when the current QR stops being valid */
	lws_sorted_usec_list_t qr_limit_sul; /* stops the session once qrcode_limit codes were shown */
	char *qr;
	unsigned qr_count;
	char *pairing_code;
	char *own_jid;
	char *own_lid;
	char *profile_name;
	struct wamd_lane lanes[WAMD_TARGETS];
	bool removed;
	bool boot_pending;           /* stored, not started yet (wamd_boot.c): reports connecting */
	bool deleting;               /* h_delete under way: its streams close after the delete events */
	char *pending_phone;         /* pairing code wanted once PAIRING */
	struct wamd_lat_pending *lat; /* sends awaiting their wire mark; NULL until the first send */
	uint64_t msgs_in, msgs_out;  /* messages received / sent (per-instance metrics) */
	struct pace_inst *pace;      /* its send pacing (wamd_pace.c), NULL until first used */
	int64_t lease_epoch;         /* cluster mode: the epoch of this node's lease on it */
	bool peeked;                 /* cluster mode: another node's, read from the store (wamd_tenant_peek) */
	char name[];                 /* its length + 1 (< WA_STORE_NAME_MAX), not the maximum */
};

/* send pacing's counters (wamd_pace.c keeps them, GET /metrics shows them) */
struct wamd_pace_stats {
	uint64_t queued;    /* gauge: held back now */
	uint64_t sent;      /* sends that left (straight or released) */
	uint64_t deferred;  /* sends a limit held back */
	uint64_t throttled; /* rate-limit signals from WhatsApp */
	/* bulk jobs (wamd_pace_bulk.c) by state: running, paused, cancelled,
	 * done; the recipients the running and paused ones have still to go */
	uint64_t jobs[4], job_pending;
	uint64_t job_storing; /* jobs whose recipients are being written */
};

struct wamd {
	struct wamd_config cfg;
	struct lws_context *ctx;
	/* vh_api serves both listeners: lws rebinds a connection to the first
	 * vhost of its port by Host header, so a unix and a TCP vhost here would
	 * let a TCP client pick the unix one. Where a connection came from is
	 * wamd_front_from_unix(). */
	struct lws_vhost *vh_client, *vh_api;
	bool listening; /* every configured listener accepts (health/ready) */
	struct ev_loop *ev_loop; /* the libev loop; NULL on lws' poll() (wamd_front.c needs it) */
	struct wamd_front *fronts; /* connections whose request head is being read (libev loop) */
	wa_store *store;
	struct wamd_tenant *tenants;
	struct wamd_conn *ws_clients;
	struct wamd_conn *waiters;   /* requests waiting for a QR / state */
	struct wamd_conn *held;      /* answers waiting for the loop turn's commit (wamd_reply.c) */
	bool held_armed;
	uint8_t api_key_sha[32];
	bool have_api_key;
	uint8_t trust_root[32];
	bool have_trust_root;
	volatile int stop;
	volatile int reload;
	lws_sorted_usec_list_t tick;
	struct wamd_tenant *boot_next; /* next stored instance wamd_boot.c starts; NULL once all are */
	int64_t webhook_sent, webhook_failed;  /* delivered; dropped or given up */
	int64_t webhook_attempt_failures;      /* failed attempts that will be retried */
	struct wamd_prom *prom;      /* counters of GET /metrics (wamd_prom.c) */
	bool ready;                  /* listeners up, instances loaded (GET /health/ready) */
	int64_t started_ms;          /* wall clock at start */
	wa_gate *gate;               /* shared by every session (max_handshakes) */
	struct wamd_lat_hist *send_lat; /* durable send latency (GET /wamd/metrics) */
	struct wamd_broker *brokers; /* RabbitMQ / Redis publishers (wamd_broker.c) */
	char fetched_wa_version[40];  /* from WhatsApp Web at start (wa_version_fetch), or "" */
	struct wamd_pace_stats pace_stats;
	void (*pace_tenant_gone)(struct wamd_tenant *t); /* wamd_pace.c, set by wamd_pace_init */
	struct wamd_cluster *cluster; /* cluster mode (wamd_cluster.c); NULL: this node is alone */
	int exit_code;               /* the process's status once the loop ends */
	/* cluster mode: in the creating transaction, this node's lease on a new
	 * instance (wamd_cluster.c sets it) */
	int (*cluster_claim)(struct wamd *d, int64_t instance_id, int64_t *epoch);
};

/* wamd_version_fetch.c: WhatsApp Web's current version, fetched on the
 * loop at start (wa_version_fetch); done(d) runs once when it ends,
 * whatever the outcome (d->fetched_wa_version set on success). */
void wamd_version_fetch_start(struct wamd *d, void (*done)(struct wamd *d));
void wamd_version_fetch_cancel(void);
int wamd_version_fetch_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len);
/* The N of "client_revision":N in WhatsApp Web's service worker; 0 if absent. */
unsigned long wamd_version_from_sw(const char *text, size_t len);

/* wamd_engine.c: the only glue to the session engine (libwa) */
int wamd_engine_init(struct wamd *d);               /* the shared gate (after config) */
void wamd_engine_free(struct wamd *d);              /* after every tenant is stopped */
void wamd_engine_reconfigure(struct wamd *d);       /* max_handshakes after a reload */
json_t *wamd_engine_stats(struct wamd *d);          /* gate counters as JSON */
void wamd_engine_gate_stats(struct wamd *d, wa_gate_stats *out); /* zeros without a gate */
int wamd_tenant_start(struct wamd_tenant *t);       /* create + start the session */
/* Startup: as wamd_tenant_start, first connect after a random delay <= spread_ms. */
int wamd_tenant_start_spread(struct wamd_tenant *t, uint32_t spread_ms);
void wamd_tenant_stop(struct wamd_tenant *t);       /* graceful stop + free */
int wamd_tenant_pairing_code(struct wamd_tenant *t, const char *phone);
int wamd_tenant_logout(struct wamd_tenant *t);
int wamd_tenant_send_text(struct wamd_tenant *t, const char *to, const char *text,
			  const char *quoted_id, const char *quoted_jid, bool quoted_from_me,
			  const char *quoted_text, char **id_out);
/* What the send routes share beyond their content: a reply's quote and
 * (text) the mentioned JIDs. */
struct wamd_send_extra {
	const char *id; /* NULL: libwa makes one */
	const char *quoted_id, *quoted_jid, *quoted_text;
	const char *quoted_participant; /* the quoted group message's author, or NULL */
	const char *quoted_message; /* the quoted message's content as JSON text (wamd_quoted_of), or NULL */
	bool quoted_from_me;
	const char *const *mentions;
	size_t n_mentions;
	/* text only: a link preview as the caller built it */
	const char *preview_url, *preview_title, *preview_description;
	const uint8_t *preview_thumb;
	size_t preview_thumb_len;
	/* text only: wa_send_opts.in_tx (a write committed with the outbox row) */
	int (*in_tx)(void *user, const char *id);
	void *in_tx_user;
};
int wamd_tenant_send_text_to(struct wamd_tenant *t, const char *to, const char *text,
			     const struct wamd_send_extra *x, char **id_out);
/* groupInviteMessage (an invite by private message) */
int wamd_tenant_send_group_invite(struct wamd_tenant *t, const char *to, const char *group, const char *code,
				  int64_t expiration, const char *group_name, const char *caption, char **id_out);
int wamd_tenant_send_location(struct wamd_tenant *t, const char *to, double lat, double lon,
			      const char *name, const char *address, const struct wamd_send_extra *x,
			      char **id_out);
int wamd_tenant_send_contacts(struct wamd_tenant *t, const char *to, const char *list_name,
			      const char *const *names, const char *const *vcards, size_t n,
			      const struct wamd_send_extra *x, char **id_out);
/* secret: the poll's messageSecret (votes are encrypted with it) */
int wamd_tenant_send_poll(struct wamd_tenant *t, const char *to, const char *name, const char *const *options,
			  size_t n, unsigned selectable, const uint8_t secret[32], const struct wamd_send_extra *x,
			  char **id_out);
/* a group's members as cached (mentionsEveryOne); *jids to free() */
int wamd_tenant_group_members(struct wamd_tenant *t, const char *group, char (**jids)[WA_STORE_JID_MAX],
			      size_t *n);
/* our vote (option names; none withdraws it) on a stored poll of chat to */
int wamd_tenant_send_poll_vote(struct wamd_tenant *t, const char *to, const char *poll_id,
			       const char *const *options, size_t n, char **id_out);
/* An action on an existing message (chat, from_me, id, participant): a
 * reaction (arg = emoji), an edit (arg = the new text), a revoke. */
enum wamd_action { WAMD_ACT_REACT = 1, WAMD_ACT_EDIT, WAMD_ACT_REVOKE };
int wamd_tenant_send_action(struct wamd_tenant *t, enum wamd_action act, const char *chat, bool from_me,
			    const char *id, const char *participant, const char *arg, char **id_out);
/* a reaction with its own message id key_id given (a held one's) */
int wamd_tenant_send_reaction_as(struct wamd_tenant *t, const char *chat, bool from_me, const char *id,
				 const char *participant, const char *emoji, const char *key_id, char **id_out);
int wamd_tenant_mark_read(struct wamd_tenant *t, const char *const *jids, const char *const *ids,
			  const bool *from_me, size_t n);
int wamd_tenant_presence(struct wamd_tenant *t, const char *to, const char *presence);
/* App state (wamd_routes_appstate.c): one of our own chat settings (the
 * answer goes to wamd_engine_events.chat_mod_done with ticket), and the
 * labels app state holds as Evolution's findLabels array (NULL: store error). */
int wamd_tenant_chat_modify(struct wamd_tenant *t, const wa_chat_mod *m, void *ticket);
json_t *wamd_tenant_labels(struct wamd_tenant *t);
/* {chat jid: [label id, ...]}: the labels on chats (NULL: unreadable). */
json_t *wamd_tenant_chat_labels(struct wamd_tenant *t);
/* (wamd_routes_profile.c) a profile picture URL; the answer goes to
 * wamd_engine_events.picture_done with ticket */
int wamd_tenant_profile_picture(struct wamd_tenant *t, const char *jid, void *ticket);
/* The same fetch for a route that needs the URL inside its own answer
 * (findGroupInfos' pictureUrl): `then` runs once with ctx, unless this
 * returns an error. */
int wamd_picture_fetch(struct wamd_tenant *t, const char *jid, void (*then)(void *ctx, int err, const char *url),
	void *ctx);
/* Profile reads and our own profile's changes (wamd_routes_profile_set.c);
 * a, b: the jid / text / privacy name and value, bytes: a JPEG (NULL
 * removes the picture). The answer comes through profile_done. */
enum wamd_profile_op {
	WAMD_PROFILE_FETCH = 1, WAMD_PROFILE_ABOUT, WAMD_PROFILE_NAME, WAMD_PROFILE_PICTURE, WAMD_PROFILE_BLOCK,
	WAMD_PROFILE_UNBLOCK, WAMD_PROFILE_BLOCKLIST, WAMD_PROFILE_PRIVACY, WAMD_PROFILE_SET_PRIVACY,
};
int wamd_tenant_profile(struct wamd_tenant *t, enum wamd_profile_op op, const char *a, const char *b,
	const uint8_t *bytes, size_t len, void *ticket);
/* Asks our phone for older messages of chat (wa_session_fetch_history).
 * WA_ECLOSED: not connected; WA_ESTATE: no session with our phone yet. */
int wamd_tenant_fetch_history(struct wamd_tenant *t, const char *chat, int count, const char *oldest_id,
	bool oldest_from_me, int64_t oldest_ts_ms, char out_id[23]);
/* alwaysOnline changed: announced now when connected, and at each login. */
void wamd_tenant_always_online(struct wamd_tenant *t, bool on);
/* Disappearing messages (wamd_expiry.c): when a record is to go (seconds,
 * 0: never; the instance's wamdExpireMessages setting and the timer the
 * record carries, or sent_timer: the chat's when we sent it), the store's earliest expiry watched from start to stop,
 * and a record stored with expires_at noted so the timer is not later. */
int64_t wamd_record_expires_at(struct wamd_tenant *t, json_t *rec, int64_t ts, uint32_t sent_timer);
/* (wamd_engine.c) the timer what we send to chat now carries (0: none) */
uint32_t wamd_tenant_chat_timer(const struct wamd_tenant *t, const char *chat);
void wamd_expiry_note(int64_t expires_at);
void wamd_expiry_start(struct wamd *d);
void wamd_expiry_stop(void);

/* Start-up of the stored instances (wamd_boot.c): all marked pending,
 * started in slices on the loop; wamd_boot_now starts a pending one at once
 * (a request names it); wamd_boot_stop before the tenants go. */
void wamd_boot_start(struct wamd *d);
void wamd_boot_now(struct wamd_tenant *t);
void wamd_boot_stop(struct wamd *d);
/* wamd_trim.c: the heap's free pages go back to the system once a burst of
 * logins is over (checked every 5 s on the loop). wamd_trim_due is the
 * decision, on the gate's counters (tests). */
void wamd_trim_start(struct wamd *d, void (*gate_stats)(struct wamd *d, wa_gate_stats *out));
void wamd_trim_stop(struct wamd *d);
bool wamd_trim_due(const wa_gate_stats *st, uint64_t *trimmed_at, uint64_t *last_seen);
/* A read receipt for one received message (its key as the event gave it). */
int wamd_tenant_mark_read_key(struct wamd_tenant *t, const wa_msg_key *key);
/* Whether the instance's Evolution setting `name` (rejectCall,
 * groupsIgnore, alwaysOnline, readMessages, readStatus, ...) is true. */
static inline bool wamd_setting_on(const struct wamd_tenant *t, const char *name)
{
	return json_is_true(json_object_get(json_object_get(t->doc, "settings"), name));
}
/* Rejects an incoming call (its id and caller, as the CALL event gives them). */
int wamd_tenant_reject_call(struct wamd_tenant *t, const char *call_id, const char *call_from);
/* ticket: see wamd_routes_chat.c (survives the HTTP connection closing first) */
int wamd_tenant_check_numbers(struct wamd_tenant *t, const char *const *numbers, size_t n, void *ticket);
/* A group call (wamd_engine.c): op is create (text = subject, jids),
 * metadata, participating, leave, subject (text), description (text), or
 * add / remove / promote / demote (jids), setting (text = announcement,
 * not_announcement, locked, unlocked, admin_add, all_member_add,
 * approval_on, approval_off), ephemeral (text = seconds), invite_code,
 * revoke_invite (answer: [code]), join (text = code; answer: [group JID],
 * code WA_GROUP_JOIN_REQUESTED when it became a join request),
 * invite_info (text = code), requests (answer: [{jid, request_time}]) or
 * approve / reject (jids; answer as add). The answer goes to
 * wamd_engine_events.group_done with ticket. */
/* The group's picture (a JPEG; len 0 removes it); answered like wamd_tenant_group. */
int wamd_tenant_group_picture(struct wamd_tenant *t, const char *group, const uint8_t *jpeg, size_t len,
	void *ticket);
int wamd_tenant_group(struct wamd_tenant *t, const char *op, const char *group, const char *text,
	const char *const *jids, size_t n, void *ticket);
/* Media (wamd_routes_media.c): a send of a staged file (libwa owns the
 * file once this returns 0), and a download to dest that calls done once
 * (err 0 and the plaintext length, else a WA_E* code). */
/* x: the caption's mentions, the reply's quote and the message id (x->id
 * NULL: libwa makes one) */
int wamd_tenant_send_media(struct wamd_tenant *t, const char *to, const wa_media_send *m,
			   const struct wamd_send_extra *x, char **id_out);
/* (wamd_media_retry.c) a message just received, so no media retry */
int wamd_tenant_download_media(struct wamd_tenant *t, const char *message_json, const char *dest,
			       void (*done)(void *user, int err, uint64_t len), void *user);
/* wamd_media_fetch.c: fetches url into fd (owned by the fetch, closed
 * before cb) under the webhook SSRF rules, at most max bytes. cb runs once,
 * later, with why NULL on success (and the bytes and Content-Type), else
 * the reason. Returns NULL when started, else the reason it was refused
 * at once (cb does not run then, fd stays the caller's). */
typedef void (*wamd_media_fetch_cb)(void *arg, const char *why, uint64_t len, const char *content_type);
const char *wamd_media_fetch_start(struct wamd *d, const char *url, int fd, uint64_t max, wamd_media_fetch_cb cb,
				   void *arg, char *why, size_t whylen);
int wamd_media_fetch_cb_lws(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len);
bool wamd_tenant_is_paired(const struct wamd_tenant *t);
/* libwa's verdict on a proxy URL (wa_proxy_check): 0, WA_EINVAL, WA_ETOOBIG, WA_EUNSUPPORTED. */
int wamd_tenant_proxy_check(const char *url);
/* libwa's verdict on a web client version "A.B.C" (wa_version_check). */
int wamd_tenant_version_check(const char *version);
const char *wamd_conn_state_name(enum wa_conn_state st);
const struct lws_protocols *wamd_session_protocols(size_t *n);

/* wamd_metrics.c: durable send latency (API accepted -> frame written) */
int64_t wamd_mono_ns(void);
void wamd_lat_accepted(struct wamd_tenant *t, const char *id, int64_t t0_ns);
void wamd_lat_on_wire(struct wamd_tenant *t, const char *id);
int64_t wamd_thread_cpu_ns(void);
void wamd_lat_call_cpu(struct wamd *d, int64_t ns); /* CPU of one send call into libwa */
void wamd_lat_tenant_free(struct wamd_tenant *t);
void wamd_lat_free(struct wamd *d);
void wamd_lat_reset(struct wamd *d);
json_t *wamd_metrics_json(struct wamd *d);  /* GET /wamd/metrics */
/* The histogram as Prometheus reads it: cum[i] = sends of at most les[i]
 * seconds (each a multiple of 10 µs), and the totals. */
struct wamd_lat_summary {
	uint64_t count, unmatched;
	double sum_s;
};
void wamd_lat_summary(struct wamd *d, const double *les, size_t n, uint64_t *cum, struct wamd_lat_summary *s);

/* wamd_prom.c: GET /metrics (Prometheus text), its counters, health */
void wamd_prom_event(struct wamd_tenant *t, const char *event, const json_t *data); /* from wamd_emit */
char *wamd_prom_text(struct wamd *d, size_t *len);
bool wamd_prom_token_ok(const struct wamd *d, const char *bearer, const char *apikey);
void wamd_prom_free(struct wamd *d);

/* wamd_openapi.c: the OpenAPI document (the route table + the embedded
 * per-route descriptions) and the page that renders it */
struct wamd_route_info {
	int methods;                 /* M_* mask */
	const char *path;            /* "/instance/connect/{instance}" */
	const char *scope;           /* "none", "admin", "metrics", "read", "write", "manage" */
};
typedef void (*wamd_route_visit)(void *arg, const struct wamd_route_info *r);
typedef void (*wamd_route_iter)(wamd_route_visit visit, void *arg);
json_t *wamd_openapi_doc(wamd_route_iter each);
const char *wamd_openapi_page(void);

/* wamd_notify.c: systemd readiness (sd_notify protocol on $NOTIFY_SOCKET) */
int wamd_notify(const char *state);

/* version string: "0.1.0" or "0.1.0 (git <describe>)" (wamd_util.c) */
const char *wamd_version(void);

/* wamd_tenant_core.c: tenant registry, state, persistence */
struct wamd_tenant *wamd_tenant_find(struct wamd *d, const char *name);
int wamd_tenant_load_all(struct wamd *d);
int wamd_tenant_create(struct wamd *d, const char *name, json_t *doc, struct wamd_tenant **out);
int wamd_tenant_save(struct wamd_tenant *t);
void wamd_tenant_remove(struct wamd_tenant *t);  /* deletes from store and frees */
/* Stops and frees the tenant, its stored rows kept (cluster: another node
 * drives it now). */
void wamd_tenant_detach(struct wamd_tenant *t);
/* Loads the stored instances want(arg, id) accepts, passing each to loaded. */
int wamd_tenant_load_some(struct wamd *d, bool (*want)(void *arg, int64_t id),
			  void (*loaded)(void *arg, struct wamd_tenant *t), void *arg);

/* A lost PostgreSQL connection: every session stops and wamd exits 1, for
 * its supervisor to start it again (wamd_dbwatch.c says why). */
void wamd_dbwatch_start(struct wamd *d);
void wamd_dbwatch_stop(void);

/* cluster mode: wamd_cluster.h */
void wamd_tenants_free(struct wamd *d);
const char *wamd_tenant_state_str(const struct wamd_tenant *t); /* open / connecting / close */
void wamd_tenant_reload_tokens(struct wamd_tenant *t);
/* The handlers of the engine's events (wamd_events_conn.c, _msg.c,
 * _contacts.c), which wamd_engine.c calls through struct
 * wamd_engine_events (wamd_events.h), with libwa's fields already mapped. */
/* detail: libwa's plain-words reason for a failed attempt, or NULL. */
void wamd_on_state(struct wamd_tenant *t, enum wa_conn_state st, enum wa_disconnect_reason r,
		   const char *detail);
void wamd_on_qr(struct wamd_tenant *t, const char *qr, unsigned index, unsigned timeout_s);
/* (wamd_engine.c) The web client version the tenant's session claims: its settings'
 * waVersion, else the version fetched at start (wa_version_fetch), else
 * wa_version; NULL = libwa's compiled-in one. */
const char *wamd_tenant_wa_version(const struct wamd_tenant *t);
/* The tenant's last connection failure as {"message", "retrying"}, or JSON null. */
json_t *wamd_tenant_reason_json(const struct wamd_tenant *t);
void wamd_on_pairing_code(struct wamd_tenant *t, const char *code);
void wamd_on_paired(struct wamd_tenant *t, const char *jid, const char *lid, const char *push_name);
void wamd_on_logged_out(struct wamd_tenant *t);
/* wamd_events_history.c: CHATS_SET, CONTACTS_UPSERT, MESSAGES_SET of a history batch */
void wamd_on_history(struct wamd_tenant *t, const char *sync_type, unsigned chunk_order, unsigned progress,
	const char *chats_json, const char *contacts_json, const wa_history_msg *msgs, size_t n_msgs, bool last);
/* HISTORY_DEMAND_TIMEOUT: a fetchHistory request the phone left unanswered */
void wamd_on_history_demand(struct wamd_tenant *t, const char *request_id, const char *chat);
/* wamd_events_msg.c: the Evolution record of a received message (msg is
 * taken), stored; NULL when it is not a plain message (edit, revoke, vote) */
json_t *wamd_message_record(struct wamd_tenant *t, const wa_msg_key *key, const char *push_name, int64_t ts,
	const char *type, json_t *msg);
void wamd_on_message(struct wamd_tenant *t, const wa_msg_key *key, const char *push_name,
		     int64_t ts, const char *type, const char *text, const char *message_json);
/* error/reason: for ERROR, the negative WA_E* code and the short reason of
 * the session's status event (0/NULL otherwise); they go to the
 * MESSAGES_UPDATE payload as "wamdError" (a key Evolution does not use). */
void wamd_on_status(struct wamd_tenant *t, const wa_msg_key *key, int status, int64_t ts, int error,
		    const char *reason, bool recorded);
/* the record's status, inside libwa's transaction (wa_session_config.status_in_tx) */
void wamd_status_in_tx(struct wamd_tenant *t, const char *id, bool from_me, enum wa_msg_status status);
void wamd_on_presence(struct wamd_tenant *t, const char *jid, const char *presence, int64_t last_seen);
void wamd_on_contact(struct wamd_tenant *t, const char *jid, const char *lid, const char *push_name);
/* wamd_events_group.c */
void wamd_on_group(struct wamd_tenant *t, const char *jid, const char *action, const char *author,
	json_t *participants, json_t *pns, json_t *info, const char *value);
/* A chat changed through app state (wa_event.u.chat; each int -1 when not touched). */
struct wamd_chat_ev {
	const char *jid;
	int archived, pinned;
	int64_t pinned_at;
	int muted;
	int64_t mute_end;
	int read;
	const char *msg_id;
	bool msg_from_me;
	int starred, deleted_msg, cleared, deleted;
};
void wamd_on_chat(struct wamd_tenant *t, const struct wamd_chat_ev *c);
void wamd_on_label(struct wamd_tenant *t, const char *id, const char *name, int32_t color, int32_t predefined_id,
		   bool deleted, const char *chat_jid, const char *msg_id, int labeled);
void wamd_chat_mod_done(void *ticket, int err, const char *detail);
void wamd_picture_done(void *ticket, int err, const char *url);
void wamd_profile_done(void *ticket, int err, int code, const char *json);
void wamd_on_push_name(struct wamd_tenant *t, const char *name);
void wamd_numbers_done(void *ticket, int err, json_t *result);
/* (wamd_events_edits.c) An edit or revoke received (or sent from our
 * other device): applies it to the stored record, emits its events.
 * Returns false when message is not one (then it is an ordinary message). */
bool wamd_on_edit_or_revoke(struct wamd_tenant *t, const wa_msg_key *key, int64_t ts, json_t *message);
/* (wamd_events_edits.c) A decrypted poll vote: the poll's stored tally
 * updated, MESSAGES_UPDATE with pollUpdates; false when the poll is unknown. */
bool wamd_on_poll_vote(struct wamd_tenant *t, const wa_msg_key *key, json_t *message);
/* wamd_media_hook.c: with the instance webhook's base64 on, holds a media
 * MESSAGES_UPSERT record (takes rec, true) until its file is downloaded and
 * emits it then with message.base64; false: emit rec now (it may carry
 * wamdBase64Omitted). */
bool wamd_media_hook_hold(struct wamd_tenant *t, json_t *rec);
/* Jobs a crash cut short (their pending-* notes in <data>/media) run again
 * once their instance is open; stop frees what is left. */
void wamd_media_hook_resume_start(struct wamd *d);
void wamd_media_hook_resume_stop(void);
/* wamd_media_store.c: received media kept on disk per instance (settings
 * mediaAutoDownload, mediaStoreMaxBytes, mediaRetentionSeconds). */
json_t *wamd_media_in(json_t *message); /* its image/video/audio/document/sticker object, or NULL */
/* The stored record (JSON, a new reference) of message id of instance inst,
 * NULL if none; from_me 0 / 1, or -1 for either; *status (may be NULL) its
 * stored status. */
json_t *wamd_stored_record(struct wamd *d, int64_t inst, const char *id, int from_me, int *status);
bool wamd_media_store_on(struct wamd_tenant *t);
long long wamd_media_store_max(struct wamd_tenant *t);
/* The stored file of media (by its fileSha256) hard-linked at dest: 0 and
 * *len, or WA_ENOTFOUND. */
int wamd_media_store_link(struct wamd_tenant *t, json_t *media, const char *dest, uint64_t *len);
bool wamd_media_store_touch(struct wamd_tenant *t, json_t *media);
/* Keeps the verified file at staged (left in place) as media's content. */
int wamd_media_store_put(struct wamd_tenant *t, json_t *media, const char *staged, uint64_t len);
void wamd_media_store_start(struct wamd *d); /* the retention timer; removes downloads a crash cut short */
void wamd_media_store_stop(void);
/* Replaces the content of stored message (id, from_me) by edited (a
 * Message's JSON), the earlier one appended to its "editHistory";
 * WA_ENOTFOUND when not stored. */
int wamd_apply_edit(struct wamd_tenant *t, const char *id, bool from_me, json_t *edited, int64_t ts);
void wamd_group_done(void *ticket, int err, int code, json_t *result);
/* (wamd_events_ephemeral.c) A protocolMessage EPHEMERAL_SETTING: the
 * chat's timer kept in the tenant's document ("ephemeral": {chat:
 * {expiration, settingTimestamp}}), CHATS_UPDATE; false when message is
 * not one. */
bool wamd_on_ephemeral_setting(struct wamd_tenant *t, const wa_msg_key *key, int64_t ts, json_t *message);
/* (wamd_events_calls.c) A call offer or status change (Baileys' call
 * object, borrowed): the settings rejectCall / msgCall applied to offers,
 * then the CALL event. */
void wamd_on_call(struct wamd_tenant *t, json_t *call);
/* Message record (Evolution §4.2) for a message we sent. */
json_t *wamd_sent_record(struct wamd_tenant *t, const char *jid, const char *id, const char *text,
			 int64_t ts);
/* The record alone, not stored (a cluster node answering for another's
 * instance); steals message. */
json_t *wamd_sent_record_json(struct wamd_tenant *t, const char *jid, const char *id, json_t *message,
			      const char *type, int64_t ts);
/* The same for any Message (steals message); type is its messageType. */
json_t *wamd_sent_record_msg(struct wamd_tenant *t, const char *jid, const char *id, json_t *message,
			     const char *type, int64_t ts);

/* ---- webhooks and event fan-out (wamd_webhook.c) ---- */
/* Emits an event (UPPER_SNAKE name); steals data. Queued durably for each
 * subscribed webhook target and pushed to WebSocket subscribers. */
void wamd_emit(struct wamd_tenant *t, const char *event, json_t *data);
/* Would wamd_emit deliver the event anywhere? (else it only counts it) */
bool wamd_emit_wanted(struct wamd_tenant *t, const char *event);
void wamd_webhook_kick(struct wamd_tenant *t);
void wamd_webhook_lane_cancel(struct wamd_lane *l);
int wamd_webhook_client_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user,
			   void *in, size_t len);
/* Validates a webhook URL against the address policy; NULL if ok, else a
 * reason (valid until the next call). */
const char *wamd_webhook_url_refused(const struct wamd *d, const char *url);

/* ---- event outputs to RabbitMQ and Redis Streams (wamd_broker.c) ---- */
/* Starts the publisher threads of the configured brokers; -1 on error. */
int wamd_broker_start(struct wamd *d);
/* Stops them (waits for a publish in progress); undelivered rows stay queued. */
void wamd_broker_shutdown(struct wamd *d);
/* SIGHUP: takes nc's broker settings (nc gets the old ones back). A
 * changed URL or CA file gets a new publisher; the old one finishes its
 * current publish in the background. -1 (logged, nothing changed) when a
 * new URL is refused. */
int wamd_broker_reload(struct wamd *d, struct wamd_config *nc);
/* Is (t, target) a configured broker output that wants event? */
bool wamd_broker_subscribed(struct wamd_tenant *t, int target, const char *event);
/* Starts the lane's next delivery (a broker target) unless one is under way. */
void wamd_broker_kick(struct wamd_lane *l);
/* Finished publishes to their lanes (LWS_CALLBACK_EVENT_WAIT_CANCELLED). */
void wamd_broker_deliver(void);
/* Figures of one broker target for GET /metrics. */
struct wamd_broker_stats {
	const char *output;          /* "amqp_instance", "amqp_global", "redis" */
	bool configured, connected;
	int64_t delivered, attempt_failures;
};
void wamd_broker_stats(struct wamd *d, int target, struct wamd_broker_stats *out);
/* Names (pure, unit-tested): the AMQP routing key of an UPPER_SNAKE event
 * (Evolution's dotted name, "messages.upsert"), the queue Evolution binds
 * to it, and the Redis stream key. -1 when out is too small. */
int wamd_broker_routing_key(const char *event, char *out, size_t n);
int wamd_broker_amqp_queue(const char *instance_or_prefix, const char *routing_key, char *out, size_t n);
int wamd_broker_stream_key(const char *prefix, bool global, const char *instance, char *out, size_t n);
/* redis://[[user]:password@]host[:port][/db]: -1 when malformed. */
struct wamd_redis_addr {
	char host[256];
	int port;                    /* 6379 when absent */
	char user[128], pass[256];   /* "" when absent */
	long db;
	bool tls;                    /* rediss:// */
};
int wamd_broker_redis_url(const char *url, struct wamd_redis_addr *out);

/* ---- local API (wamd_http.c, wamd_router.c and the route files) ---- */
enum wamd_method { M_GET = 1, M_POST = 2, M_PUT = 4, M_DELETE = 8, M_PATCH = 16, M_OTHER = 32 };

struct wamd_conn {
	struct wamd *d;
	struct lws *wsi;
	bool is_ws;
	bool trusted;               /* unix socket with socket_trusted */
	int method;
	char path[WAMD_MAX_URI];
	char apikey[WAMD_MAX_KEY];
	char *body;
	size_t body_len;
	bool body_too_big;
	bool expect_body;
	bool dispatched;
	bool http_started;          /* LWS_CALLBACK_HTTP seen on this connection */
	bool body_done;             /* LWS_CALLBACK_HTTP_BODY_COMPLETION seen */
	long long content_length;   /* declared body length (0: none) */
	int64_t t_dispatch_ns;      /* CLOCK_MONOTONIC when the request was dispatched */
	char bearer[WAMD_MAX_KEY];   /* Authorization: Bearer (GET /metrics) */
	/* response */
	int status;
	const char *resp_type;       /* Content-Type; NULL: application/json */
	const char *const *resp_headers; /* more headers: "name:", value, ..., NULL (static) */
	char *resp;
	size_t resp_len, resp_sent;
	bool resp_ready, headers_sent;
	bool resp_held;             /* ready, written after the turn's commit */
	struct wamd_conn *held_next;
	/* a file answer (wamd_reply_file): resp_len bytes of resp_fd from resp_off */
	bool resp_file;
	int resp_fd;
	uint64_t resp_off;
	char resp_ctype[128];
	char resp_range[96];        /* Content-Range value or "" */
	/* async wait (QR, numbers) */
	bool waiting;
	struct wamd_conn *wait_next;
	lws_sorted_usec_list_t wait_sul;
	struct wamd_tenant *wait_tenant;
	int wait_kind;
	json_t *wait_ctx;
	struct wamd_ticket *ticket;
	/* websocket */
	struct wamd_conn *ws_next;
	char ws_instance[WA_STORE_NAME_MAX];
	char ws_instance_id[40];     /* the instance's uuid: a later instance of the same name is another */
	bool ws_admin;               /* authorized as admin (key or trusted socket) */
	uint8_t ws_token[32];        /* else the stored digest of the token it showed */
	const char *ws_close_reason; /* set: no more events; close frame once the queue is out */
	char **ws_queue;
	size_t ws_q_head, ws_q_len;
	size_t ws_q_bytes;
};

int wamd_http_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len);
/* Sets the response (steals body json) and asks to write. */
void wamd_reply_json(struct wamd_conn *c, int status, json_t *body);
void wamd_reply_error(struct wamd_conn *c, int status, json_t *message);
/* the connection is going: its held answer no longer waits (wamd_reply.c) */
void wamd_reply_unhold(struct wamd_conn *c);
/* A non-JSON answer (metrics text, the API page): steals body (malloc'd). */
void wamd_reply_raw(struct wamd_conn *c, int status, const char *type, char *body, size_t len);
/* Answers with len bytes of fd from off (streamed in chunks; fd is closed
 * with the connection). content_range: NULL or the Content-Range value. */
void wamd_reply_file(struct wamd_conn *c, int status, int fd, uint64_t off, uint64_t len, const char *ctype,
		     const char *content_range);
/* Dispatches a complete request. */
void wamd_api_dispatch(struct wamd_conn *c);
/* Instance names wamd accepts at create (see wamd_auth.c). */
bool wamd_instance_name_ok(const char *n);
/* Called when a connection goes away (cancel waits). */
void wamd_api_conn_gone(struct wamd_conn *c);
/* Wakes requests waiting on a tenant's QR/state. */
void wamd_api_tenant_changed(struct wamd_tenant *t);
/* Queues an event (its stream form) for every stream subscribed to t. */
void wamd_ws_broadcast(struct wamd_tenant *t, const char *text);
/* cluster: an event another node relayed, to the streams of that instance id */
void wamd_ws_broadcast_id(struct wamd *d, const char *instance_id, const char *text);
/* Closes, with reason, every stream bound to t whose token no longer
 * grants read there (all of them when the instance goes: all = true). */
void wamd_ws_recheck(struct wamd_tenant *t, bool all, const char *reason);
/* cluster: the same for the streams bound to that instance id, read anew */
void wamd_ws_recheck_id(struct wamd *d, const char *instance_id);

/* auth (wamd_auth.c) */
bool wamd_auth_is_admin(struct wamd *d, const char *key);
/* Scopes the key grants on t (0 = none). */
unsigned wamd_auth_scopes(const struct wamd_tenant *t, const char *key);
/* The caller's scopes on t (all for admin), and whether a holder of these
 * scopes may see t's creation token (only who holds all it grants). */
unsigned wamd_caller_scopes(struct wamd_conn *c, struct wamd_tenant *t);
bool wamd_may_see_token(unsigned holder, struct wamd_tenant *t);
bool wamd_ct_equal(const uint8_t *a, const uint8_t *b, size_t n);
/* Scopes of the token whose stored digest is this (revocation re-checks). */
unsigned wamd_auth_digest_scopes(const struct wamd_tenant *t, const uint8_t digest[32]);
/* Index of the token matching key in t->tokens (its stored digest to
 * digest_out), -1 if none. */
int wamd_auth_match(const struct wamd_tenant *t, const char *key, uint8_t digest_out[32]);
/* SHA-256(salt || key); salt_len 0 for unsalted legacy rows. */
void wamd_token_digest(const uint8_t *salt, size_t salt_len, const char *key, uint8_t out[32]);
/* A stored token row {salt, sha256, scopes} with a fresh salt. */
int wamd_token_row(const char *key, unsigned scopes, json_t **row);
/* NULL if a caller-chosen token is acceptable, else why not. */
const char *wamd_token_refused(const char *tok);
/* Exact scope names (array, or "read,write"); unknown or empty: 0. NULL: all. */
unsigned wamd_scopes_parse(json_t *arr);
json_t *wamd_scopes_json(unsigned scopes);

#endif
