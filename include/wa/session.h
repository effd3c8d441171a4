/* libwa public API: one WhatsApp companion device ("session") on the caller's
 * libwebsockets event loop. The daemon (and any embedder) uses only this
 * header, wa/wa.h and wa/store.h; it never sees src/ internals or protobuf.
 *
 * Threading: every function must be called from the loop thread; callbacks
 * run on it too and must not call wa_session_free on the session that is
 * calling them (schedule it instead). All pointers inside an event are
 * borrowed for the duration of the callback only. */
#ifndef WA_SESSION_H
#define WA_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wa/wa.h"
#include "wa/store.h"

#ifdef __cplusplus
extern "C" {
#endif

struct lws_context;
struct lws_protocols;
typedef struct wa_session wa_session;

/* Connection states (STYLE §5). */
enum wa_conn_state {
	WA_CONN_DISCONNECTED = 0, /* not started, or stopped */
	WA_CONN_CONNECTING,       /* websocket (and TLS) being opened */
	WA_CONN_HANDSHAKING,      /* Noise XX in progress */
	WA_CONN_PAIRING,          /* no credentials yet: showing QR / pairing code */
	WA_CONN_AUTHENTICATING,   /* logged-in handshake sent, waiting for <success> */
	WA_CONN_READY,            /* <success> received: can send and receive */
	WA_CONN_BACKOFF,          /* waiting before the next reconnect attempt */
	WA_CONN_CLOSING,          /* closing on request */
	WA_CONN_LOGGED_OUT,       /* credentials wiped; needs pairing again */
	WA_CONN_WAITING,          /* started, waiting for its start delay or a handshake slot (wa_gate) */
};
/* "READY", "BACKOFF", ... (static). */
const char *wa_conn_state_name(enum wa_conn_state st);

/* Why a connection ended. */
enum wa_disconnect_reason {
	WA_DISC_NONE = 0,
	WA_DISC_NETWORK,          /* socket closed or failed */
	WA_DISC_TIMEOUT,          /* keep-alive, handshake or (after resends) server-ack deadline passed */
	WA_DISC_RESTART_REQUIRED, /* stream:error 515 (after pairing): reconnect at once */
	WA_DISC_REPLACED,         /* stream:error conflict/440: another connection took over; not retried */
	WA_DISC_LOGGED_OUT,       /* 401 / device removed: credentials wiped */
	WA_DISC_SERVER_ERROR,     /* other stream:error (503, 500...): retried with backoff */
	WA_DISC_HANDSHAKE_FAILED, /* noise or certificate failure */
	WA_DISC_BY_USER,          /* wa_session_stop / logout */
	WA_DISC_PROXY,            /* the proxy was unreachable, refused the credentials or the
	                           * tunnel: retried with backoff like NETWORK */
	WA_DISC_CLIENT_OUTDATED,  /* login <failure reason=405>: the server refuses the web client
	                           * version we claim (wa_session_config.wa_version); not
	                           * retried, as every retry would be refused the same way */
};
const char *wa_disconnect_reason_name(enum wa_disconnect_reason r);

/* Outgoing message status, in order. ERROR is terminal. */
enum wa_msg_status {
	WA_MSG_ERROR = 0,
	WA_MSG_PENDING = 1,   /* persisted in the outbox, not yet acked by the server */
	WA_MSG_SENT = 2,      /* server ack */
	WA_MSG_DELIVERED = 3, /* delivery receipt from a recipient device */
	WA_MSG_READ = 4,      /* read receipt */
	WA_MSG_PLAYED = 5,    /* played receipt (voice notes) */
};
const char *wa_msg_status_name(enum wa_msg_status st);

/* Identifies a message. remote_jid is the chat as a phone-number JID when
 * known ("5511999990000@s.whatsapp.net"); remote_lid is the same chat's LID
 * ("123456789@lid") when known, else NULL. participant: sender in groups. */
typedef struct wa_msg_key {
	const char *remote_jid;
	const char *remote_lid;
	bool from_me;
	const char *id;
	const char *participant;
	const char *participant_alt; /* a group message's: the author in the other namespace (its LID for
				      * a phone-number participant, or the reverse) when the server names it */
} wa_msg_key;

enum wa_event_type {
	WA_EV_STATE = 1,          /* state changed */
	WA_EV_QR,                 /* a QR string to show (rotates) */
	WA_EV_PAIRING_CODE,       /* code to type on the phone */
	WA_EV_PAIRED,             /* pair-success handled; own JID known */
	WA_EV_CONNECTED,          /* READY */
	WA_EV_DISCONNECTED,       /* a connection ended (reason); may reconnect */
	WA_EV_LOGGED_OUT,         /* credentials wiped */
	WA_EV_MESSAGE,            /* received (or own message sent from another device) */
	WA_EV_MESSAGE_STATUS,     /* status of a message we sent changed */
	WA_EV_PRESENCE,           /* presence / chat state of a contact */
	WA_EV_IDENTITY_CHANGED,   /* a contact's identity key changed (reinstall, new phone): the new
				   * key is trusted and the session rebuilt, messaging goes on; show
				   * the user a "security code changed" notice */
	WA_EV_CONTACT,            /* push name, PN<->LID mapping or (app state) address-book name learned */
	WA_EV_GROUP,              /* a group changed (w:gp2 or picture notification): u.group */
	WA_EV_MESSAGE_WIRE,       /* a message stanza we sent was written to the socket
	                           * (after its ratchet state was committed); u.message_status
	                           * with key.id set, status PENDING. For latency figures. */
	WA_EV_CHAT_UPDATE,        /* app state (the phone, another companion, or our own accepted
	                           * wa_session_chat_modify) changed a chat's archive / pin / mute /
	                           * read setting, starred or deleted one of its messages for us,
	                           * cleared or deleted it: u.chat */
	WA_EV_PUSH_NAME,          /* our account's push name, from app state (setting_pushName):
	                           * u.push_name; stored with the credentials */
	WA_EV_APP_STATE,          /* an app-state collection was synced, or stopped on an error
	                           * (bad MAC or LT-hash, missing key, server error): u.app_state */
	WA_EV_LABEL,              /* app state: a label was created / edited / deleted, or added
	                           * to / removed from a chat or message: u.label */
	WA_EV_HISTORY,            /* one batch of a history sync from our phone: u.history. Emitted
	                           * inside the batch's store transaction, just before its commit:
	                           * what the embedder writes to the same store commits with it */
	WA_EV_CALL,               /* an incoming call's offer or status change (<call>): u.call */
	WA_EV_HISTORY_DEMAND,     /* an on-demand history request (wa_session_fetch_history) got no
	                           * answer from our phone in time (it may be offline, or hold
	                           * nothing older): u.history_demand, error WA_ETIMEOUT */
};

/* One message of a WA_EV_HISTORY batch, as its messages_json has it
 * (pointers valid during the event only). */
typedef struct wa_history_msg {
	const char *chat;         /* the conversation: key.remoteJid */
	const char *id;
	const char *participant;  /* key.participant, or NULL */
	bool from_me;
	const char *message_json; /* "message" (as WA_EV_MESSAGE's message_json), or NULL when it is left out */
	const char *message_type; /* or NULL */
	int64_t timestamp;        /* messageTimestamp, unix seconds */
	const char *push_name;    /* or NULL */
	int status;               /* WebMessageInfo.status, or -1 */
} wa_history_msg;

typedef struct wa_event {
	enum wa_event_type type;
	union {
		struct {
			enum wa_conn_state state;
			enum wa_disconnect_reason reason; /* for DISCONNECTED/BACKOFF/LOGGED_OUT */
			/* DISCONNECTED, and STATE to BACKOFF/DISCONNECTED after a failed
			 * attempt: why, in plain words for a user, or NULL. Names the
			 * host, the step that failed (DNS, TCP, TLS, WebSocket
			 * upgrade, proxy, Noise, login) and what to check, e.g.
			 * "TCP: cannot connect to 127.0.0.1:1 (...); check ...". */
			const char *detail;
		} state;
		struct {
			const char *qr;      /* "ref,noisepub_b64,identitypub_b64,advsecret_b64" */
			unsigned index;      /* 0 for the first, then 1, 2, ... as refs rotate */
			unsigned timeout_s;  /* how long this one is valid */
		} qr;
		struct {
			const char *code;    /* "ABCD-EFGH" */
		} pairing_code;
		struct {
			const char *jid;     /* own device JID, "551199...:12@s.whatsapp.net" */
			const char *lid;     /* own LID JID or NULL */
			const char *push_name;
			const char *platform;
		} paired;
		struct {
			wa_msg_key key;
			const char *push_name;     /* sender's notify name or NULL */
			int64_t timestamp;         /* seconds */
			const char *message_type;  /* Evolution/Baileys name: "conversation", "extendedTextMessage", ...;
			                            * "protocolMessage" for an edit (MESSAGE_EDIT) or a revoke
			                            * (REVOKE) of the message in its key, or a change of the
			                            * chat's disappearing-messages timer (EPHEMERAL_SETTING,
			                            * ephemeralExpiration seconds, 0 off); "unknown" for a
			                            * content our schema lacks (the JSON then has
			                            * "unknownFields": [{field, wireType, data (base64)}]) */
			const char *text;          /* text body when it has one, else NULL */
			const char *message_json;  /* the whole Message as Baileys-style JSON (Evolution's `message`) */
			bool offline;              /* delivered from the offline queue */
		} message;
		struct {
			wa_msg_key key;
			enum wa_msg_status status;
			int64_t timestamp;
			/* ERROR only (else 0 / NULL): why the message was given up,
			 * a negative WA_E* code and a short static text, e.g.
			 * "not on WhatsApp", "usync refused: 404". Transient failures
			 * (iq timeout, connection lost, server 5xx/429) never give a
			 * message up: it stays PENDING and is retried. */
			int error;
			const char *reason;
			/* cfg.status_in_tx was called with this change inside the
			 * transaction that stored it (the embedder's record is done) */
			bool recorded;
		} message_status;
		struct {
			const char *jid;
			const char *presence;      /* available, unavailable, composing, recording, paused */
			int64_t last_seen;         /* seconds or 0 */
		} presence;
		struct {
			/* the contact (user JID, no device): its LID ("...@lid") when
			 * sessions are LID-keyed (the usual case; WA_EV_CONTACT gave the
			 * phone-number mapping), else its phone-number JID. Emitted
			 * once per device whose key changed, before the message
			 * that brought the new key. */
			const char *jid;
		} identity;
		struct {
			const char *jid;           /* phone-number JID or NULL */
			const char *lid;           /* LID or NULL */
			const char *push_name;     /* or NULL */
			/* from app state's contact action (the phone's address
			 * book), else NULL */
			const char *full_name;
			const char *first_name;
		} contact;
		struct {
			const char *jid;           /* the group, "120363...@g.us" */
			/* "create", "add", "remove", "promote", "demote", "subject",
			 * "description", "announcement", "not_announcement", "locked",
			 * "unlocked", "ephemeral", "not_ephemeral", "invite" (the link
			 * changed), "member_add_mode", "membership_approval_mode",
			 * "created_membership_requests" (someone asked to join),
			 * "revoked_membership_requests" (a request withdrawn or
			 * rejected), "picture" (its icon set or removed) */
			const char *action;
			const char *author;        /* who did it (user JID) or NULL */
			const char *const *participants; /* add/remove/promote/demote: user JIDs */
			/* each participant's other address (a LID's phone number, a
			 * phone number's LID), NULL when unknown */
			const char *const *participants_alt;
			size_t n_participants;
			const struct wa_group_info *info; /* the group after the change, when known */
			/* invite: the new code; member_add_mode: "admin_add" or
			 * "all_member_add"; membership_approval_mode: "on" or "off";
			 * created_membership_requests: the request method (or NULL);
			 * revoked_membership_requests: "revoked" (by the requester)
			 * or "rejected" (by an admin); picture: the new picture's id,
			 * NULL when it was removed; else NULL */
			const char *value;
		} group;
		struct {
			/* the chat as the phone names it (phone-number or LID JID);
			 * each setting -1 when this update does not touch it */
			const char *jid;
			int archived;              /* 0 / 1 */
			int pinned;                /* 0 / 1; pinned_at: seconds when pinned */
			int64_t pinned_at;
			int muted;                 /* 0 / 1; mute_end: seconds, -1 forever, 0 unknown */
			int64_t mute_end;
			int read;                  /* 1 marked read, 0 marked unread */
			int64_t timestamp;         /* of the action, milliseconds (0 unknown) */
			/* a message of the chat: starred (1 / 0) or deleted for
			 * us (deleted_msg 1); msg_id NULL otherwise */
			const char *msg_id;
			bool msg_from_me;
			int starred;
			int deleted_msg;
			int cleared;               /* 1: the chat's messages were cleared */
			int deleted;               /* 1: the chat was deleted */
		} chat;
		struct {
			const char *id;            /* the label's id ("1", "2", ...) */
			/* edit (chat_jid NULL): name, color (index in WhatsApp's
			 * palette), predefined_id (0 none), deleted */
			const char *name;
			int32_t color;
			int32_t predefined_id;
			bool deleted;
			/* association: the chat (and msg_id for a message label);
			 * labeled 1 added, 0 removed */
			const char *chat_jid;
			const char *msg_id;
			int labeled;
		} label;
		struct {
			const char *name;
		} push_name;
		struct {
			const char *collection;    /* "critical_block", "regular_low", ... */
			uint64_t version;          /* the version we hold now */
			/* 0: synced (up to date). Else a WA_E* code and words:
			 * WA_ECRYPTO a MAC or the LT-hash did not verify (the
			 * patch is not applied and the collection stops until
			 * the next sync trigger: nothing diverges silently);
			 * WA_ENOTFOUND a sync key is missing (asked for; synced
			 * again when it arrives); WA_EUNSUPPORTED a snapshot or
			 * patch held as an external blob (needs a media
			 * download, not done yet); WA_EPROTO the server refused. */
			int error;
			const char *detail;
		} app_state;
		struct {
			/* HistorySyncType: 0 INITIAL_BOOTSTRAP, 1 INITIAL_STATUS_V3,
			 * 2 FULL, 3 RECENT, 4 PUSH_NAME, 5 NON_BLOCKING_DATA,
			 * 6 ON_DEMAND; sync_type_name is its name */
			int sync_type;
			const char *sync_type_name;
			unsigned chunk_order;      /* of this notification */
			unsigned progress;         /* percent, as the phone reports it */
			/* JSON arrays of this batch (each possibly empty):
			 * chats [{id, name?, unreadCount, conversationTimestamp,
			 * lastMessageRecvTimestamp?, archived, pinned, muteEndTime,
			 * markedAsUnread, pnJid?, lidJid?}], contacts [{id, name?,
			 * notify?}], messages [{key: {remoteJid, fromMe, id,
			 * participant?}, message, messageType, messageTimestamp,
			 * pushName?, status?}] (message as WA_EV_MESSAGE's
			 * message_json) */
			const char *chats_json, *contacts_json, *messages_json;
			/* messages_json's messages field by field, n_messages of
			 * them (NULL when none), so that an embedder need not
			 * parse the batch */
			const wa_history_msg *messages;
			size_t n_chats, n_contacts, n_messages;
			bool last;                 /* the notification's last batch */
		} history;
		struct {
			const char *request_id;    /* wa_session_fetch_history's out_id */
			const char *chat;
			int error;
		} history_demand;
		struct {
			const char *chat;          /* the <call from>: the caller's chat (or the group's) */
			const char *from;          /* the caller (call-creator) */
			const char *caller_pn;     /* the caller's phone-number JID when the call is LID-addressed, or NULL */
			const char *id;            /* call-id: what wa_session_reject_call takes */
			/* Baileys' names: "offer", "ringing", "timeout", "reject",
			 * "accept", "terminate", "preaccept", "transport", "relaylatency" */
			const char *status;
			int64_t timestamp;         /* seconds */
			bool offline;              /* delivered from the offline queue */
			/* from the offer; later statuses of a call seen in this
			 * session repeat them (known false when the offer was not seen) */
			bool known;                /* is_video / is_group hold */
			bool is_video, is_group;
			const char *group_jid;     /* offer only, or NULL */
		} call;
	} u;
} wa_event;

typedef void (*wa_event_fn)(wa_session *s, const wa_event *ev, void *user);

/* Connection admission ("gate"): bounds how many sessions sharing it are
 * between opening the socket and READY (or PAIRING, which waits for a
 * human) at once, so a daemon restart or a network blip does not turn
 * into a handshake storm against the server and a CPU spike here. A
 * session that needs a slot while all are taken waits in WA_CONN_WAITING,
 * in FIFO order; its slot is given back on READY, PAIRING, any connection
 * failure, stop, logout and free. Created by the embedder, shared by its
 * sessions (wa_session_config.gate), freed after the last of them. */
typedef struct wa_gate wa_gate;
typedef struct wa_gate_stats {
	unsigned max;          /* slots */
	unsigned active;       /* sessions holding a slot now */
	unsigned peak;         /* highest `active` seen */
	unsigned waiting;      /* sessions queued for a slot now */
	uint64_t admitted;     /* slots granted so far */
} wa_gate_stats;
/* max_handshakes >= 1. */
int wa_gate_new(unsigned max_handshakes, wa_gate **out) WA_MUST_CHECK;
/* No session may still use the gate. NULL is a no-op. */
void wa_gate_free(wa_gate *g);
/* Changes the bound (>= 1); waiting sessions are admitted if it grew. */
int wa_gate_set_max(wa_gate *g, unsigned max_handshakes) WA_MUST_CHECK;
void wa_gate_get_stats(const wa_gate *g, wa_gate_stats *out);

typedef struct wa_session_config {
	struct lws_context *lws;       /* required: the caller's loop (see wa_lws_protocols) */
	wa_store *store;               /* required: open store (borrowed, outlives the session) */
	int64_t instance_id;           /* row in the store's instance table */
	const char *url;               /* NULL: wss://web.whatsapp.com/ws/chat */
	const uint8_t *trust_root_pub; /* 32 bytes; NULL: WhatsApp's root */
	bool tls_insecure;             /* accept self-signed certificates (tests only) */
	const char *proxy;             /* NULL/"": direct. "http://[user:pass@]host:port": HTTP
	                                * CONNECT proxy, credentials sent as Basic
	                                * Proxy-Authorization (user:pass at most 90 bytes).
	                                * "socks5://[user:pass@]host:port": SOCKS5 (RFC 1928,
	                                * no-auth or RFC 1929); "socks4://[user@]host:port":
	                                * SOCKS4a with a user id. SOCKS names are resolved by
	                                * the proxy. user and pass %-encoded; no IPv6 literal
	                                * proxy hosts. The password is never logged. */
	const char *device_name;       /* shown on the phone's linked devices; NULL: "wamd" */
	const char *push_name;         /* our display name; NULL: keep stored */
	bool send_read_receipts;       /* mark incoming as read automatically (default false) */
	/* false (default): after each login send <presence type="available"
	 * name=push name> as Baileys' markOnlineOnConnect does, so delivery
	 * receipts are active ones, and "unavailable" on wa_session_stop /
	 * wa_session_free. true: stay offline; delivery receipts then carry
	 * type="inactive". Without a push name no presence is sent (as both
	 * references refuse to). */
	bool offline_on_connect;
	/* How long a sent message waits for the server's ack before the very
	 * same recorded stanza is sent again on the live connection (peers drop
	 * a byte-identical copy as an old Signal counter). 0: 30 s. Tests use
	 * a short one. */
	uint32_t ack_timeout_ms;
	wa_gate *gate;                 /* NULL: connect without admission control (borrowed) */
	/* Evolution's syncFullHistory: the DeviceProps at pairing ask the
	 * phone for its whole history (requireFullSync, with the days / size
	 * limits the real clients send); false: the recent history only. */
	bool sync_full_history;
	/* how long an on-demand history request waits for the phone's answer
	 * before WA_EV_HISTORY_DEMAND reports it; 0: 120 s. Tests use a short one. */
	uint32_t history_demand_timeout_ms;
	/* A group member's device list is kept until a devices notification
	 * changes it; one older than this is asked again in the background
	 * after a send to the group (a few members at a time), never before
	 * the send. 0: 5 minutes. Tests use a short one. */
	uint32_t device_list_refresh_ms;
	const char *wa_version;        /* web client version claimed at login, "2.3000.1043857760";
	                                * NULL/"": the compiled-in one. WhatsApp refuses versions
	                                * it considers outdated (WA_DISC_CLIENT_OUTDATED). */
	/* Called (with wa_session_new's user) inside the transaction that
	 * raises the stored status of one of our messages (a server ack, or a
	 * receipt), so what the embedder writes there (its record's status)
	 * commits with it: one commit instead of two. The WA_EV_MESSAGE_STATUS
	 * after the commit has `recorded` set. Nothing may be sent from it.
	 * NULL: none. */
	void (*status_in_tx)(void *user, const char *id, bool from_me, enum wa_msg_status status);
} wa_session_config;

/* libwebsockets protocols libwa needs on the context (NULL-terminated array
 * fragment to copy into the caller's protocol list before creating the
 * context). The context must be created with
 * LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT for wss://; server certificates are
 * then verified against the OS CA store (set client_ssl_ca_filepath to
 * override) unless the session's tls_insecure is set. A session with a
 * proxy gets its own client vhost on the context, because lws 4.1 sets
 * proxies per vhost. Both wss:// and ws:// go through the proxy's tunnel
 * (TLS is end to end; the proxy sees only the target host:port). lws 4.1
 * as Debian builds it has no SOCKS client, so the first socks session
 * starts a loopback listener on the context (127.0.0.1, kernel-chosen
 * port, vhost "wa-socks-bridge"): lws' HTTP proxying connects to it with a
 * per-connection random token and it speaks SOCKS to the real proxy on
 * the same loop. A proxy failure ends the attempt with WA_DISC_PROXY and
 * the session retries with backoff. Note that lws reads the http_proxy
 * environment variable for vhosts without a proxy, so a session without
 * one still goes through $http_proxy if it is set. */
const struct lws_protocols *wa_lws_protocols(size_t *n_out);

/* Creates an idle session; nothing happens until wa_session_start. Errors
 * include WA_EINVAL / WA_ETOOBIG for a malformed cfg->proxy. */
int wa_session_new(const wa_session_config *cfg, wa_event_fn on_event, void *user,
		   wa_session **out) WA_MUST_CHECK;
/* 0 if wa_session_new would accept this cfg->proxy (NULL and "" mean no
 * proxy); else WA_EINVAL / WA_ETOOBIG (malformed) or WA_EUNSUPPORTED (a
 * scheme this build cannot use; none today). For validating API input up
 * front. */
int wa_proxy_check(const char *proxy) WA_MUST_CHECK;
/* Closes the connection (no logout) and frees. NULL is a no-op. */
void wa_session_free(wa_session *s);

/* Connects; if the instance has no credentials, registration starts and
 * WA_EV_QR events follow. Reconnects by itself until stopped. */
int wa_session_start(wa_session *s) WA_MUST_CHECK;
/* As wa_session_start, but the first connection attempt waits a uniform
 * random delay in [0, max_delay_ms] (state WAITING): for many sessions
 * started together, e.g. at daemon startup. */
int wa_session_start_spread(wa_session *s, uint32_t max_delay_ms) WA_MUST_CHECK;
/* Graceful close; no reconnect until wa_session_start again. */
int wa_session_stop(wa_session *s);
/* Only while PAIRING: asks for a pairing code for this phone number (digits
 * only, with country code); WA_EV_PAIRING_CODE follows. */
int wa_session_request_pairing_code(wa_session *s, const char *phone) WA_MUST_CHECK;
/* Unlinks this device on the server, wipes credentials, emits LOGGED_OUT. */
int wa_session_logout(wa_session *s) WA_MUST_CHECK;

enum wa_conn_state wa_session_state(const wa_session *s);
/* 0 if wa_session_new would accept this wa_version ("A.B.C", each part a
 * decimal < 2^32; NULL and "" mean the compiled-in one), else WA_EINVAL. */
int wa_version_check(const char *version) WA_MUST_CHECK;
/* The compiled-in web client version, "2.3000.1043857760" (static). */
const char *wa_version_default(void);
bool wa_session_is_paired(const wa_session *s);
/* Own phone-number JID without device ("5511...@s.whatsapp.net") or NULL. */
const char *wa_session_jid(const wa_session *s);

typedef struct wa_send_opts {
	const char *id;              /* NULL: generate one */
	const wa_msg_key *quoted;    /* reply to this message, or NULL */
	const char *quoted_text;     /* text of the quoted message (for the preview) */
	/* the quoted message itself as Baileys' JSON of a Message (one content
	 * field, without its contextInfo), embedded whole as quotedMessage (a
	 * quoted image shows its preview); NULL: quoted_text as a conversation */
	const char *quoted_message_json;
	const char *const *mentions; /* JIDs, n_mentions of them */
	size_t n_mentions;
	/* text, media, location, contacts, polls: the chat's disappearing timer
	 * in seconds (0: off) and when it was set (unix seconds, 0: unknown),
	 * carried in contextInfo (expiration, ephemeralSettingTimestamp) as
	 * clients send it */
	uint32_t expiration;
	int64_t ephemeral_setting_ts;
	/* text: a link preview as the caller built it (nothing is fetched):
	 * the URL as it appears in the text, title, description, a JPEG
	 * thumbnail; NULL / 0 when absent. Any of them makes it an
	 * extendedTextMessage. */
	const char *preview_url, *preview_title, *preview_description;
	const uint8_t *preview_thumb;
	size_t preview_thumb_len;
	/* text: called with the message's id inside the transaction that adds
	 * it to the outbox, so what the embedder writes there (its own record
	 * of the sent message) commits with the outbox row, in one commit
	 * instead of two. Nothing may be sent from it. A non-zero return undoes
	 * the send, which returns that code. NULL: none. */
	int (*in_tx)(void *user, const char *id);
	void *in_tx_user;
} wa_send_opts;

/* Queues a text message: it is persisted in the outbox before this returns
 * and sent (now or after reconnect) until the server acks it. *id_out (may
 * be NULL) receives the message id (free()). Status events follow. `to` is
 * a JID or a bare phone number.
 * Delivery guarantees: messages to one chat leave in outbox order; once
 * encrypted, the recorded stanza is what every resend (reconnect, ack
 * deadline) sends, so a peer never gets two different copies of one
 * message. A stanza without a server ack is resent on the same connection
 * after each ack deadline, three times at most; the next missed deadline
 * recycles the connection (WA_DISC_TIMEOUT) and it goes out again after the
 * reconnect. A failed device list or pre-key fetch that may pass later
 * (timeout, lost connection, server 5xx/429) keeps the message PENDING and
 * retries it (1 s doubling to 60 s per chat, at once after a reconnect;
 * later messages to that chat wait behind it, other chats go on); only a
 * final answer (not on WhatsApp, 4xx, server ack error) makes it ERROR,
 * with the reason in the status event. */
int wa_session_send_text(wa_session *s, const char *to, const char *text,
			 const wa_send_opts *opts, char **id_out) WA_MUST_CHECK;
/* Reacts to a message; an empty emoji removes the reaction. */
int wa_session_send_reaction(wa_session *s, const wa_msg_key *target, const char *emoji,
			     char **id_out) WA_MUST_CHECK;
/* The same with the reaction's own message id given (NULL: generate one),
 * as a send held back and released later must carry the id answered. */
int wa_session_send_reaction_as(wa_session *s, const wa_msg_key *target, const char *emoji, const char *id,
				char **id_out) WA_MUST_CHECK;
/* Other kinds (1:1 or any chat JID), queued with the same guarantees as
 * wa_session_send_text. opts: id, and quoted (a reply; its contextInfo);
 * mentions are for text only. */
int wa_session_send_location(wa_session *s, const char *to, double lat, double lon,
			     const char *name, const char *address, const wa_send_opts *opts,
			     char **id_out) WA_MUST_CHECK;
/* One vCard: contactMessage {displayName, vcard}; several:
 * contactsArrayMessage {displayName = list_name, contacts}. */
typedef struct wa_vcard {
	const char *display_name;
	const char *vcard;
} wa_vcard;
int wa_session_send_contacts(wa_session *s, const char *to, const char *list_name,
			     const wa_vcard *cards, size_t n, const wa_send_opts *opts,
			     char **id_out) WA_MUST_CHECK;
/* An invite to a group by private message (groupInviteMessage): code and
 * expiration (unix seconds) as an add refused for privacy gave them
 * (wa_group_change.add_code), the group's name and a caption (or NULL). */
int wa_session_send_group_invite(wa_session *s, const char *to, const char *group, const char *code,
				 int64_t expiration, const char *group_name, const char *caption,
				 const wa_send_opts *opts, char **id_out) WA_MUST_CHECK;
/* Edits one of our messages (target->from_me must be true) to `text`:
 * protocolMessage MESSAGE_EDIT, stanza edit="1". WhatsApp's 15-minute
 * window is the caller's to check (it knows when the message was sent).
 * *id_out is the id of the edit message itself. */
int wa_session_send_edit(wa_session *s, const wa_msg_key *target, const char *text,
			 char **id_out) WA_MUST_CHECK;
/* Deletes a message for everyone (protocolMessage REVOKE; edit="7" for
 * our own message, "8" for another's, which needs target->participant). */
int wa_session_send_revoke(wa_session *s, const wa_msg_key *target, char **id_out) WA_MUST_CHECK;
/* A poll of n options (2..12, distinct); selectable: how many a voter may
 * pick, 0 = any (one: pollCreationMessageV3, else pollCreationMessage).
 * secret: its messageSecret (32 bytes, which votes are encrypted with), or
 * NULL for a random one. */
int wa_session_send_poll(wa_session *s, const char *to, const char *name, const char *const *options,
			 size_t n, unsigned selectable, const uint8_t *secret, const wa_send_opts *opts,
			 char **id_out) WA_MUST_CHECK;
/* Votes on a stored poll of chat `to` (ours or received): options are the
 * chosen option names (none: withdraw the vote), each an option of the
 * poll, at most its selectable count. Encrypted with the poll's
 * messageSecret as WhatsApp does; WA_ENOTFOUND when the poll is not
 * stored, WA_EINVAL for an option it does not have. */
int wa_session_send_poll_vote(wa_session *s, const char *to, const char *poll_id, const char *const *options,
			      size_t n, char **id_out) WA_MUST_CHECK;
/* Sends read receipts for these messages. */
int wa_session_mark_read(wa_session *s, const wa_msg_key *keys, size_t n) WA_MUST_CHECK;
/* ---- app state: our own chat settings (messaging.md §9) ----
 * Each is one mutation, encoded with the newest sync key our phone shared,
 * MAC'd and hashed on top of the collection's stored state and sent as a
 * patch. A version conflict (another device got there first) fetches the
 * collection, applies what it brings and retries (3 tries); the mutation is
 * stored and its event (WA_EV_CHAT_UPDATE / WA_EV_LABEL, as from another
 * device) emitted only once the server has accepted it. Mutations queue
 * and go one at a time. Each is stored from the moment this accepts it
 * until the server applied or refused it: after a restart or a crash the
 * next session sends the queue again (its done is gone: the events say
 * what was applied), and one the server took before the answer was lost
 * is recognised, not sent twice. */
enum wa_chat_action {
	WA_CHAT_ARCHIVE = 1, /* on: archive, off: unarchive */
	WA_CHAT_PIN,         /* on: pin, off: unpin */
	WA_CHAT_MUTE,        /* on: mute until mute_end (ms since the epoch, -1 forever), off: unmute */
	WA_CHAT_READ,        /* on: mark read, off: mark unread */
	WA_CHAT_STAR,        /* msg_id, msg_from_me; on: star, off: unstar */
	WA_CHAT_DELETE_MSG,  /* delete msg_id (msg_from_me, msg_ts) for us */
	WA_CHAT_CLEAR,       /* clear the chat's messages */
	WA_CHAT_DELETE,      /* delete the chat */
	WA_CHAT_LABEL,       /* label_id; on: add the label to the chat, off: remove it */
	WA_LABEL_EDIT,       /* label_id, label_name, label_color; on: create / edit, off: delete */
	WA_PUSH_NAME_SET,    /* push_name: our display name (setting_pushName) */
};
typedef struct wa_chat_mod {
	enum wa_chat_action action;
	const char *jid;         /* the chat (not for WA_LABEL_EDIT) */
	bool on;
	int64_t mute_end;
	const char *msg_id;
	bool msg_from_me;
	int64_t msg_ts;          /* seconds */
	int64_t last_msg_ts;     /* archive, read, clear, delete: the chat's last message (s), 0 unknown */
	const char *label_id;
	const char *label_name;
	int32_t label_color;
	const char *push_name;
} wa_chat_mod;
/* err 0 (accepted and applied), or WA_ENOTFOUND (no sync key yet),
 * WA_EPROTO (refused; detail says how), WA_ETIMEOUT, WA_ECLOSED (also when
 * the session is freed first: the change stays stored for the next one).
 * detail: static words or NULL. Runs exactly once, never before this
 * returns 0. */
typedef void (*wa_chat_mod_fn)(wa_session *s, int err, const char *detail, void *user);
/* WA_EINVAL (missing or bad field), WA_ESTATE (not paired). */
int wa_session_chat_modify(wa_session *s, const wa_chat_mod *m, wa_chat_mod_fn done, void *user) WA_MUST_CHECK;

/* The labels app state holds (the last edit of each, deleted ones
 * included, flagged), read from the store: fn runs once per label,
 * before this returns. */
typedef struct wa_label {
	const char *id;
	const char *name;
	int32_t color;
	int32_t predefined_id; /* 0: none */
	bool deleted;
} wa_label;
int wa_session_labels(wa_session *s, void (*fn)(void *user, const wa_label *l), void *user) WA_MUST_CHECK;
/* The labels on chats app state holds (label_jid associations that are on):
 * fn runs once per (label, chat), before this returns. */
int wa_session_chat_labels(wa_session *s, void (*fn)(void *user, const char *label_id, const char *chat_jid),
	void *user) WA_MUST_CHECK;

/* A contact's (or our own) profile picture URL (preview: the thumbnail).
 * `done` runs once: err 0 and the URL (borrowed for the call);
 * WA_ENOTFOUND when none is set or its owner hides it; WA_EPROTO,
 * WA_ETIMEOUT, WA_ECLOSED otherwise. WA_ESTATE when not connected. */
typedef void (*wa_picture_fn)(wa_session *s, int err, const char *url, void *user);
int wa_session_profile_picture_url(wa_session *s, const char *jid, bool preview, wa_picture_fn done,
	void *user) WA_MUST_CHECK;

/* ---- profiles, blocklist, privacy ----
 * `done` runs once: err 0 and json (borrowed for the call; NULL for plain
 * sets), or a WA_E* code with code the server's error code when it
 * answered with one (WA_EPROTO). Each returns WA_ESTATE when not connected. */
typedef void (*wa_profile_fn)(wa_session *s, int err, int code, const char *json, void *user);
/* A user's profile: {"jid", "exists", "status" (about text; null when
 * unset, "" when its owner hides it), "statusSetAt" (s), "picture" (URL or null), "business"
 * (null, or {"description", "email", "website": [..], "address",
 * "category"})}. */
int wa_profile_fetch(wa_session *s, const char *jid, wa_profile_fn done, void *user) WA_MUST_CHECK;
/* Our about text. */
int wa_profile_set_about(wa_session *s, const char *text, wa_profile_fn done, void *user) WA_MUST_CHECK;
/* Our picture: a JPEG (the server keeps it as given: clients send a square
 * one, 640 px at most); jpeg NULL removes it. json: {"id"} of the new one. */
int wa_profile_set_picture(wa_session *s, const uint8_t *jpeg, size_t len, wa_profile_fn done,
	void *user) WA_MUST_CHECK;
/* Our push name: the setting_pushName app-state mutation (our other devices
 * learn it), then a presence carrying it (what peers see). Errors as
 * wa_session_chat_modify. */
int wa_profile_set_name(wa_session *s, const char *name, wa_profile_fn done, void *user) WA_MUST_CHECK;
/* Blocks or unblocks a user (phone-number or LID JID). */
int wa_profile_block(wa_session *s, const char *jid, bool block, wa_profile_fn done, void *user) WA_MUST_CHECK;
/* json: the blocked users' JIDs (phone numbers when known). */
int wa_profile_blocklist(wa_session *s, wa_profile_fn done, void *user) WA_MUST_CHECK;
/* json: {category: value} as the server keeps them ("readreceipts",
 * "profile", "status", "online", "last", "groupadd", "calladd", ...). */
int wa_profile_privacy(wa_session *s, wa_profile_fn done, void *user) WA_MUST_CHECK;
int wa_profile_set_privacy(wa_session *s, const char *name, const char *value, wa_profile_fn done,
	void *user) WA_MUST_CHECK;

/* On-demand history (Baileys' fetchMessageHistory): asks our phone for the
 * `count` (1-500) messages of chat older than the oldest one we hold
 * (oldest_id, oldest_from_me, oldest_ts_ms: its time in ms). The phone's
 * answer is an ON_DEMAND history sync, imported and emitted as
 * WA_EV_HISTORY like any other (nothing when it has no older ones).
 * out_id (or NULL) gets the request's message id, which the answer names as
 * its peerDataRequestSessionId. No answer within the config's
 * history_demand_timeout_ms: WA_EV_HISTORY_DEMAND (once). WA_ESTATE: not connected, or no session
 * with our phone yet. */
int wa_session_fetch_history(wa_session *s, const char *chat, int count, const char *oldest_id, bool oldest_from_me,
	int64_t oldest_ts_ms, char out_id[23]) WA_MUST_CHECK;

/* Changes wa_session_config.offline_on_connect for the next logins (an
 * embedder's setting changed; the current presence is not touched). */
void wa_session_set_offline_on_connect(wa_session *s, bool offline);
/* Rejects an incoming call (WA_EV_CALL's id and from): <call to=from>
 * <reject call-id call-creator=from count="0"/>, as Baileys' rejectCall. */
int wa_session_reject_call(wa_session *s, const char *call_id, const char *call_from) WA_MUST_CHECK;
/* Own availability ("available"/"unavailable"), or a chat state to `to`
 * ("composing", "recording", "paused"). */
int wa_session_send_presence(wa_session *s, const char *to, const char *presence) WA_MUST_CHECK;

/* Media messages (image, video, audio / voice note, document, sticker). */
enum wa_media_kind {
	WA_MEDIA_KIND_IMAGE = 0,
	WA_MEDIA_KIND_VIDEO,
	WA_MEDIA_KIND_AUDIO,
	WA_MEDIA_KIND_DOCUMENT,
	WA_MEDIA_KIND_STICKER,
};
/* Largest file accepted per kind (WhatsApp's own limits). */
uint64_t wa_media_kind_max_len(enum wa_media_kind kind);
typedef struct wa_media_send {
	enum wa_media_kind kind;
	const char *path;      /* the file to send (regular file, owner-only); libwa owns it from
	                        * here and removes it once the message is sealed or failed */
	const char *mimetype;  /* required */
	const char *caption;   /* image, video, document; or NULL */
	const char *file_name; /* document; or NULL */
	bool ptt;              /* audio: a voice note */
	uint32_t seconds, width, height; /* 0: unknown */
	const uint8_t *thumbnail;  /* image, video, document: a small JPEG, or NULL */
	size_t thumbnail_len;
	const uint8_t *waveform;   /* audio: 64 samples 0..100 (voice notes), or NULL */
	size_t waveform_len;
	bool animated;             /* sticker: an animated WebP */
	uint32_t page_count;       /* document: pages, 0: unknown */
	bool view_once;            /* image, video, audio: view once (Baileys' viewOnceMessage
	                            * wrapper, the media flagged viewOnce); WA_EINVAL otherwise */
} wa_media_send;
/* Queues a media message. It is persisted PENDING before this returns; the
 * outbox encrypts and uploads the file in fixed-size chunks (never whole in
 * memory) to a media_conn host, then sends the message. A failed upload
 * (no media_conn, connection refused, 5xx, 401 after a media_conn refresh)
 * is retried like any transient failure, and a restart resumes it (the
 * same media key gives the same blob, so a second upload is harmless).
 * opts: id, the chat's disappearing timer, mentions (the caption's
 * contextInfo.mentionedJid) and quoted (a reply), in contextInfo as a
 * text's.
 * Errors: WA_EINVAL (bad kind/path/fields), WA_ETOOBIG (over the kind's
 * limit), WA_EIO (file unreadable), as wa_session_send_text otherwise. */
int wa_session_send_media(wa_session *s, const char *to, const wa_media_send *m,
			  const wa_send_opts *opts, char **id_out) WA_MUST_CHECK;
/* Downloads and decrypts the media of a message to dest_path: message_json
 * is the Message as WA_EV_MESSAGE's message_json gives it (an object with
 * imageMessage / videoMessage / audioMessage / documentMessage /
 * stickerMessage). The blob is fetched only from the hosts media_conn
 * named (fetched first when none is known): its directPath on the url's
 * host when that is one of them, else on the first, trying the next on a
 * connection failure; without a directPath, the url itself only when its
 * host is a media host (else WA_EMEDIA_HOST, and no connection is made).
 * It goes into dest_path + ".enc", its length, SHA-256 and
 * MAC are checked before any plaintext is written, then it is decrypted to
 * dest_path + ".part" (the plaintext SHA-256 checked) and renamed to
 * dest_path; on any failure nothing is left at dest_path. `done` runs
 * once: err 0, WA_EMEDIA_HASH / WA_EMEDIA_MAC (tampered), WA_ENOTFOUND
 * (HTTP 404/410: expired), WA_EMEDIA_HOST, WA_EIO, WA_ECLOSED (session
 * freed or not connected when media_conn is needed). */
typedef void (*wa_download_fn)(wa_session *s, int err, uint64_t length, void *user);
int wa_session_download_media(wa_session *s, const char *message_json, const char *dest_path,
			      wa_download_fn done, void *user) WA_MUST_CHECK;
/* The media-retry exchange (Baileys' updateMediaMessage): asks our own
 * phone to upload the media of the message `key` names again (message_json
 * as for wa_session_download_media: its mediaKey seals the request and the
 * answer). `done` runs once, later: err 0 with the Message updated to the
 * new directPath (and url, on the old url's host) for the embedder to
 * store; WA_EMEDIA_GONE (the phone no longer has it), WA_EMEDIA_RETRY_KEY
 * (the phone could not decrypt the request), WA_EMEDIA_RETRY (any other
 * failure the phone reports), WA_EMEDIA_MAC (an answer that does not
 * authenticate under the media key: refused), WA_ETIMEOUT (no answer in
 * 30 s), WA_ECLOSED (session freed). Returns WA_ESTATE when not connected,
 * WA_EINVAL without a media key. */
typedef void (*wa_media_retry_fn)(wa_session *s, int err, const char *message_json, void *user);
int wa_session_media_retry(wa_session *s, const wa_msg_key *key, const char *message_json,
			   wa_media_retry_fn done, void *user) WA_MUST_CHECK;
/* wa_session_download_media, and when the blob is gone (404/410) the
 * media-retry exchange, then one more download from the new path.
 * message_json in `done`: the updated Message when the exchange gave a new
 * path (store it, even when err says the second download failed), else
 * NULL. err as the two calls give it. */
typedef void (*wa_download_retry_fn)(wa_session *s, int err, uint64_t length, const char *message_json,
				     void *user);
int wa_session_download_media_retry(wa_session *s, const wa_msg_key *key, const char *message_json,
				    const char *dest_path, wa_download_retry_fn done, void *user) WA_MUST_CHECK;

/* Result of a number lookup (usync). */
typedef struct wa_number_info {
	const char *query;  /* as given */
	bool exists;
	const char *jid;    /* phone-number JID when it exists */
	const char *lid;    /* LID when known */
} wa_number_info;
typedef void (*wa_numbers_fn)(wa_session *s, int err, const wa_number_info *infos, size_t n,
			      void *user);
/* Checks which numbers are on WhatsApp; `done` runs once: later, or before
 * this returns when every number's answer is cached (a day for numbers on
 * WhatsApp, ten minutes for the others). */
int wa_session_check_numbers(wa_session *s, const char *const *numbers, size_t n,
			     wa_numbers_fn done, void *user) WA_MUST_CHECK;

/* ---- groups ----
 * Group metadata is cached (and persisted) per instance and kept current by
 * the server's group notifications; sends to a group JID use our sender key
 * (the distribution message goes only to devices that do not have it yet,
 * and a new key is made after a participant leaves or is removed). */
typedef struct wa_group_participant {
	const char *jid;   /* phone-number user JID */
	const char *lid;   /* LID or NULL */
	int admin;         /* 0 member, 1 admin, 2 superadmin */
} wa_group_participant;
typedef struct wa_group_info {
	const char *jid;            /* "120363...@g.us" */
	const char *subject;
	const char *subject_owner;  /* or NULL */
	int64_t subject_time;
	int64_t creation;
	const char *owner;          /* creator or NULL */
	const char *desc;           /* or NULL */
	const char *desc_id;        /* or NULL */
	/* a LID group's phone numbers beside subject_owner and owner, who set
	 * the description (its phone number beside) and when; NULL / 0 when
	 * the server did not say */
	const char *subject_owner_pn, *owner_pn;
	const char *desc_owner, *desc_owner_pn;
	int64_t desc_time;
	const char *addressing_mode; /* "pn" or "lid" */
	bool announce, locked;
	uint32_t ephemeral;         /* seconds, 0: off */
	const wa_group_participant *participants;
	size_t n_participants;
	bool member_add_all;        /* every member may add (member_add_mode all_member_add) */
	bool join_approval;         /* joining by link needs an admin's approval */
} wa_group_info;
/* err 0 or a WA_E* code; code: the server's error code when it answered
 * with one (404 unknown group, 403 not a member / not an admin, ...). */
typedef void (*wa_group_fn)(wa_session *s, int err, int code, const wa_group_info *groups, size_t n,
			    void *user);
/* Creates a group with us as superadmin; `done` gets its metadata. */
int wa_group_create(wa_session *s, const char *subject, const char *const *participants, size_t n,
		    wa_group_fn done, void *user) WA_MUST_CHECK;
/* Metadata of one group, asked from the server (and cached). */
int wa_group_metadata(wa_session *s, const char *group, wa_group_fn done, void *user) WA_MUST_CHECK;
/* The members of a group as last cached (no server round trip): n user
 * JIDs as the group names them (a LID group's LIDs; in a phone-number
 * group the phone-number JID when known, else the LID) in *jids, to free().
 * WA_ENOTFOUND when the group is not cached. */
int wa_group_cached_members(wa_session *s, const char *group, char (**jids)[WA_STORE_JID_MAX],
			    size_t *n) WA_MUST_CHECK;
/* A group's disappearing timer as last cached (seconds, 0: off; kept
 * current by the server's group notifications). WA_ENOTFOUND when the
 * group is not cached. Sends to the group carry it (the stanza's
 * expiration, as Baileys puts it from the metadata). */
int wa_group_cached_ephemeral(wa_session *s, const char *group, uint32_t *seconds) WA_MUST_CHECK;
/* Every group we are in. */
int wa_group_participating(wa_session *s, wa_group_fn done, void *user) WA_MUST_CHECK;
typedef struct wa_group_change {
	const char *jid;   /* as the server named it */
	int status;        /* 200, or the server's code for this participant (403, 404, 409, ...) */
	/* a 403 add refused for the user's privacy: the code and expiry (unix
	 * seconds) of the invite to send them instead; else NULL and 0 */
	const char *add_code;
	int64_t add_expiration;
} wa_group_change;
typedef void (*wa_group_change_fn)(wa_session *s, int err, int code, const wa_group_change *r, size_t n,
				   void *user);
/* action: "add", "remove", "promote" or "demote"; participants: JIDs or numbers. */
int wa_group_participants(wa_session *s, const char *group, const char *action,
			  const char *const *participants, size_t n, wa_group_change_fn done,
			  void *user) WA_MUST_CHECK;
typedef void (*wa_group_done_fn)(wa_session *s, int err, int code, void *user);
int wa_group_leave(wa_session *s, const char *group, wa_group_done_fn done, void *user) WA_MUST_CHECK;
int wa_group_set_subject(wa_session *s, const char *group, const char *subject, wa_group_done_fn done,
			 void *user) WA_MUST_CHECK;
/* desc NULL or "": removes the description. */
int wa_group_set_description(wa_session *s, const char *group, const char *desc, wa_group_done_fn done,
			     void *user) WA_MUST_CHECK;
/* setting: "announcement" (only admins send), "not_announcement",
 * "locked" (only admins edit the group's info), "unlocked",
 * "admin_add" / "all_member_add" (who may add members) or "approval_on" /
 * "approval_off" (joining by link needs an admin's approval). */
int wa_group_set_setting(wa_session *s, const char *group, const char *setting, wa_group_done_fn done,
			 void *user) WA_MUST_CHECK;
/* Disappearing messages in the group: seconds, 0 turns them off. */
int wa_group_set_ephemeral(wa_session *s, const char *group, uint32_t seconds, wa_group_done_fn done,
			   void *user) WA_MUST_CHECK;
/* The group's picture, a JPEG sent as given (WhatsApp's clients send 640x640;
 * the server may refuse other sizes); len 0 removes it. */
#define WA_GROUP_PICTURE_MAX (1024u * 1024u)
int wa_group_set_picture(wa_session *s, const char *group, const uint8_t *jpeg, size_t len, wa_group_done_fn done,
			 void *user) WA_MUST_CHECK;
/* value: the invite code (code get / revoke) or the group's JID (join). */
typedef void (*wa_group_str_fn)(wa_session *s, int err, int code, const char *value, void *user);
/* The group's invite code (admins only: 401 otherwise); revoke: a new one
 * replaces it (the old one stops working). */
int wa_group_invite_code(wa_session *s, const char *group, bool revoke, wa_group_str_fn done,
			 void *user) WA_MUST_CHECK;
/* code: an invite code or a "https://chat.whatsapp.com/<code>" link. Join:
 * done gets the group's JID (406 an unknown code, 410 a revoked one). Info:
 * the group's metadata without joining (not cached: we are not in it). */
int wa_group_join(wa_session *s, const char *code, wa_group_str_fn done, void *user) WA_MUST_CHECK;
/* err 0 and this code in a join's answer: the group needs an admin's
 * approval, a join request was made (value: the group's JID). */
#define WA_GROUP_JOIN_REQUESTED 202
int wa_group_invite_info(wa_session *s, const char *code, wa_group_fn done, void *user) WA_MUST_CHECK;
/* Pending join requests (admins only: 403 otherwise). */
typedef struct wa_group_request {
	const char *jid;      /* who asked, as the server named them */
	int64_t request_time; /* unix seconds, 0 when not given */
} wa_group_request;
typedef void (*wa_group_requests_fn)(wa_session *s, int err, int code, const wa_group_request *r, size_t n,
				     void *user);
int wa_group_requests(wa_session *s, const char *group, wa_group_requests_fn done, void *user) WA_MUST_CHECK;
/* action "approve" (they become members) or "reject"; per-participant
 * results as for wa_group_participants (404: no such request). */
int wa_group_request_action(wa_session *s, const char *group, const char *action,
			    const char *const *participants, size_t n, wa_group_change_fn done,
			    void *user) WA_MUST_CHECK;

#ifdef __cplusplus
}
#endif
#endif
