/* The messaging half of a wa_session: the state behind s->msg and the calls
 * between the files of the send and receive pipelines (internal to
 * src/session; README.md there maps each file to its concern).
 *
 * Send: wa_session_send_* (outbox.c) build the Message for its kind
 * (kinds.c), persist it with an outbox row, and pump the outbox one row
 * at a time in order: recipients.c decides who gets a copy and with which
 * cipher and fetches what is missing (device lists, pre-key bundles),
 * seal.c encrypts for every device and records the stanza, inflight.c
 * waits for the server's ack. Receive: receive.c decrypts, commits, emits
 * and sends the receipt; receipts.c and retries.c handle what comes back.
 *
 * Crash safety (the pattern of tests/unit/test_signal_crash.c):
 *  - wa_session_send_text persists the Message (messages table, PENDING)
 *    and an outbox row 'P' before returning;
 *  - the encryption of all devices and the record of the resulting stanza
 *    ('S' + encoded bytes, state SENDING) commit in ONE transaction, and only
 *    then the bytes go out; after a restart or reconnect SENDING rows are
 *    requeued and the recorded bytes are sent again (never a new ratchet
 *    step), until the server acks. When nothing has to be fetched first
 *    (device lists cached, sessions with every device) and the message is
 *    next in outbox order, both steps share the one commit of
 *    wa_session_send_text (seal_now), which still precedes the send;
 *  - an incoming ciphertext is decrypted and its plaintext stored in ONE
 *    transaction, and only then the delivery receipt is sent; a redelivery
 *    is answered from the stored row.
 * Serialisation: everything runs on the loop thread and every crypto step
 * is synchronous, so no two operations on one peer device interleave; the
 * only awaits (usync, pre-key fetch) happen before the encrypt step, which
 * re-checks session existence, and sends are prepared one at a time in
 * outbox order. */
#ifndef WA_SESSION_MSGSTATE_H
#define WA_SESSION_MSGSTATE_H

#include "session/drain.h"
#include "session/internal.h"
#include "session/msg.h"
#include "util/seams.h"

/* ---- timings and limits ---- */
#define WA_MSG_ACK_TIMEOUT_MS 30000u      /* server ack deadline before a resend (config ack_timeout_ms) */
#define WA_MSG_MAX_ACK_RESENDS 3u         /* resends of one stanza on one connection; one more deadline recycles it */
#define WA_MSG_PREP_BACKOFF_MS 1000u      /* first wait after a transient usync / pre-key failure (doubles) */
#define WA_MSG_PREP_BACKOFF_MAX_MS 60000u /* longest such wait */
#define WA_MSG_DEVCACHE_TTL_MS (5 * 60 * 1000) /* device list cache (Baileys: 5 min) */
#define WA_MSG_MAX_RETRY 5                /* retry receipts per message (both clients) */
#define WA_MSG_MAX_DEVCACHE 4096          /* users whose device lists we cache */
#define WA_MSG_DEVCACHE_BUCKETS 1024      /* its hash table */
#define WA_MSG_MAX_GSTATES 16             /* groups whose device lists we keep ready (groups_devs.c) */
#define WA_MSG_MAX_RETRY_TRACK 1024       /* failed incoming ids we count retries for */
#define WA_MSG_MAX_PENDING_EVENTS 64      /* identity changes queued during a crypto step */
#define WA_MSG_MAX_TC_RECOVERING 16u /* 463 token issuances in flight at once (more: skipped) */
#define WA_MSG_MAX_HELD_CHATS WA_STORE_OUTBOX_MAX_SKIP /* chats in a send backoff skipped at once; more hold all */
#define WA_MSG_RECENT_IDS 512             /* our recent message ids -> chat (status.c) */
#define WA_MSG_CALL_OFFERS 16            /* call offers remembered (calls.c) */
#define WA_MSG_CALL_ID_MAX 64

/* Outbox payload records (first byte). */
#define WA_OUTBOX_PLAN 'P'    /* 'P' type-byte Message: not yet encrypted */
#define WA_OUTBOX_STANZA 'S'  /* 'S' encoded stanza: encrypted, resend as is */
#define WA_OUTBOX_MEDIA 'M'   /* 'M' media send before its upload (media.c has the layout) */

/* One outbox row being prepared and sealed (outbox.c owns it). */
typedef struct wa_msg_job {
	int64_t row;
	char id[WA_MSG_ID_MAX + 1];
	char chat[WA_STORE_JID_MAX];
	uint8_t *msg; /* unpadded Message */
	size_t msg_len;
	unsigned gen;
	char why[64]; /* reason for an ERROR status when the job fails */
} wa_msg_job;

struct wa_msg_call_offer {
	char id[WA_MSG_CALL_ID_MAX + 1];
	bool video, group;
};

typedef struct wa_msg_state {
	/* device lists by user (recipients.c): a hash table allocated on the
	 * first list; dc_gen counts changes to any list or LID mapping, so a
	 * group's cached device list (groups_devs.c) knows it is stale */
	struct wa_msg_devcache **dc;
	size_t n_dc;
	uint64_t dc_gen;
	struct wa_gstate *gs;            /* groups_devs.c: groups' device lists */
	size_t n_gs;
	bool grefresh;                   /* groups_refresh.c: a refresh usync in flight */
	struct wa_msg_inflight *fl;      /* inflight.c */
	struct wa_msg_retry_track *rt;   /* retries.c */
	size_t n_rt;
	wa_msg_job *job;                 /* the row being prepared (outbox.c) */
	bool ready;
	unsigned gen;
	wa_stimer t_ack;
	bool t_ack_ok;
	wa_drain *drain; /* group commit of offline messages (drain.h) */
	/* a transient usync / pre-key failure holds its chat (in order) and
	 * retries after a backoff on the same connection, other chats go on;
	 * READY retries at once. `hold` stops the whole outbox only when more
	 * than WA_MSG_MAX_HELD_CHATS chats wait (outbox.c). */
	wa_stimer t_prep;
	bool t_prep_ok;
	bool hold;
	struct wa_msg_chat_hold *holds;
	size_t n_holds;
	/* identity changes seen during a crypto step (user JIDs, malloc'd);
	 * wa_msg_pending_drop forgets them (the step rolled back). The slots
	 * (WA_MSG_MAX_PENDING_EVENTS) exist only while some are queued: 512
	 * bytes an idle session does not need. */
	char **pending_ident;
	size_t n_pending;
	/* our recent message ids -> chat: a ring of "id\0chat" strings, the
	 * array allocated on the first send (an idle session keeps none: fixed
	 * slots of both maxima were 131 KiB per session) */
	char **recent;
	size_t recent_next;
	/* offline batches (offline.c) */
	bool off_active;                 /* preview seen, <ib><offline> not yet */
	unsigned off_total, off_got, off_left, off_batches;
	wa_stimer t_off;
	bool t_off_ok;
	struct wa_num_cache *num_cache;  /* number lookups (numbers.c) */
	/* our token being issued after a 463, one per contact (tctoken.c;
	 * the entries belong to their iq) */
	struct wa_tc_recovery *tc_recovering;
	size_t n_tc_recovering;
	struct wa_media_state *media;    /* media.c: media_conn, the upload, downloads */
	/* the last call offers seen (calls.c), so later statuses carry their
	 * flags: WA_MSG_CALL_OFFERS slots allocated at the first offer, so a
	 * session that never gets a call does not carry them (1 KiB) */
	struct wa_msg_call_offer *calls;
	size_t calls_next;
} wa_msg_state;
void wa_msg_numbers_clear(wa_msg_state *m);
/* polls.c: a received vote's JSON (chat: the chat as a phone-number JID
 * or the group; voter: who sent the vote, us included) with
 * "wamdPollVote": {pollId, voter, pollFromMe, selectedOptions (names)}
 * added when it decrypts with its stored poll; NULL otherwise (free()). */
char *wa_msg_poll_attach(wa_session *s, const char *chat, const char *voter_jid, const uint8_t *pt, size_t pt_len,
	const char *json);

/* ---- small shared helpers ---- */

/* Best-effort store writes whose failure only costs a status update or a
 * resend (the next READY or redelivery repeats them). */
static inline void ign(int rc)
{
	(void)rc;
}

static inline int64_t now_s(void)
{
	return wa_now_ms() / 1000;
}

static inline bool ready(const wa_session *s)
{
	return s->msg && s->msg->ready && s->state == WA_CONN_READY;
}

static inline int send_node(wa_session *s, wa_node *n)
{
	int rc = wa_conn_send_node(s, n);
	wa_node_free(n);
	return rc;
}

/* ---- dispatch rows (dispatch.c) ---- */
int wa_msg_handle_message(wa_session *s, const wa_node *n);      /* receive.c */
int wa_msg_handle_receipt(wa_session *s, const wa_node *n);      /* receipts.c */
int wa_msg_handle_ack(wa_session *s, const wa_node *n);          /* inflight.c */
int wa_msg_handle_notification(wa_session *s, const wa_node *n); /* recipients.c */
int wa_msg_handle_presence(wa_session *s, const wa_node *n);     /* presence.c */
void wa_msg_presence_on_ready(wa_session *s);                     /* presence.c */
int wa_msg_handle_privacy_token(wa_session *s, const wa_node *n); /* tctoken.c */
/* history.c: history sync. record: in the transaction that stores a
 * message from our phone, its historySyncNotification (if any) is kept
 * for import; kick after the commit starts it. pending: is that
 * notification's import still to finish (its hist_sync receipt waits)? */
int wa_history_record(wa_session *s, const char *msg_id, const char *chat, const uint8_t *pt,
	size_t len) WA_MUST_CHECK;
bool wa_history_pending(wa_session *s, const char *msg_id);
/* An on-demand history request went out: its answer (a notification naming
 * it as peerDataRequestSessionId) is waited for s->hist_demand_ms. */
void wa_history_demand_sent(wa_session *s, const char *request_id, const char *chat);
void wa_history_kick(wa_session *s);
extern const wa_session_ext wa_history_ext;

/* appstate.c: app-state sync (read side) */
int wa_appstate_handle_server_sync(wa_session *s, const wa_node *n);
void wa_appstate_on_plaintext(wa_session *s, bool from_me, const uint8_t *pt, size_t len);
extern const wa_session_ext wa_appstate_ext;
/* offline.c: batches of the offline backlog */
#define WA_OFFLINE_BATCH 100
#define WA_OFFLINE_STALL_MS 5000
void wa_msg_offline_seen(wa_session *s);
void wa_msg_on_offline_timer(wa_session *s);
/* tctoken.c: the fresh token chat issued to us (malloc'd) or WA_ENOTFOUND;
 * after a 1:1 send, issue ours to chat when due */
int wa_msg_tctoken_for(wa_session *s, const char *chat, uint8_t **tok_out, size_t *len_out);
void wa_msg_tctoken_after_send(wa_session *s, const char *chat, const uint8_t *msg, size_t msg_len);
/* a send to chat was refused with 463: issue ours to it now (as Baileys) */
void wa_msg_tctoken_refused(wa_session *s, const char *chat);
int wa_msg_handle_chatstate(wa_session *s, const wa_node *n);    /* presence.c */
int wa_msg_handle_call(wa_session *s, const wa_node *n);         /* calls.c */

/* lifecycle (wa_session_exts; messaging.c) */
extern const wa_session_ext wa_msg_ext;

/* ---- messaging.c: identity-change events ---- */
/* Emits identity changes queued during a crypto step (the callback must not
 * re-enter wa_sig, and an embedder may send from its event handler). */
void wa_msg_flush_identity(wa_session *s);

/* ---- addr.c: JIDs, PN <-> LID ---- */
/* "user@server" of any JID text; false when it does not parse. */
/* Queues a serialized Message to chat (outbox.c): persisted with its outbox
 * row before it returns, as every public send. id: NULL generates one. */
int wa_msg_queue(wa_session *s, const char *chat, const char *id, const uint8_t *msg, size_t len,
	char **id_out) WA_MUST_CHECK;
bool wa_msg_user_of(const char *jid, char out[WA_STORE_JID_MAX], wa_jid *parsed);
/* "5511..." / "+55 11..." / JID -> chat user JID. */
int wa_msg_chat_of(const char *to, char out[WA_STORE_JID_MAX]);
/* The other namespace's user JID for user (malloc'd) or NULL. */
char *wa_msg_alt_user(wa_session *s, const char *user);
/* Learns that a and b (any devices, either order) are the same account. */
void wa_msg_learn_mapping(wa_session *s, const char *a, const char *b);
/* Signal address of a device JID: LID-keyed when the mapping is known. */
int wa_msg_addr_for(wa_session *s, const wa_jid *dev, char name[WA_STORE_JID_MAX]);
/* Whether j is one of our own accounts (PN or LID, any device). */
bool wa_msg_is_me(wa_session *s, const wa_jid *j);
/* Own user JID in the namespace of chat (own LID for LID chats). */
bool wa_msg_own_user(wa_session *s, const wa_jid *chat, char out[WA_STORE_JID_MAX], wa_jid *own_dev);

/* ---- status.c: the status of our own messages ---- */
void wa_msg_emit_status_err(wa_session *s, const char *chat, const char *id, enum wa_msg_status st,
	int err, const char *why);
void wa_msg_emit_status(wa_session *s, const char *chat, const char *id, enum wa_msg_status st);
/* The same, after the commit that recorded it: at once when that commit
 * was durable, else when the loop turn's group commits (dropped if the
 * group is lost). Takes s->status_recorded along. */
void wa_msg_emit_status_committed(wa_session *s, const char *chat, const char *id, enum wa_msg_status st);
/* Raises the stored status of our message (never lowers it, except to
 * ERROR from PENDING). Returns whether it was found; *changed: whether the
 * caller must emit the change. */
bool wa_msg_raise_status(wa_session *s, const char *chat, const char *id, enum wa_msg_status st,
	bool *changed);
/* raise_status, then emits the change (err/why: for ERROR). Returns true
 * when found. */
bool wa_msg_set_status_err(wa_session *s, const char *chat, const char *id, enum wa_msg_status st,
	int err, const char *why);
bool wa_msg_set_status(wa_session *s, const char *chat, const char *id, enum wa_msg_status st);
/* Finds the chat under which our message id is stored; out gets it. */
bool wa_msg_find_own(wa_session *s, const char *id, const char *hint_user, char out[WA_STORE_JID_MAX]);
void wa_msg_recent_add(wa_msg_state *m, const char *id, const char *chat);
void wa_msg_recent_clear(wa_msg_state *m);
/* messaging.c: forgets queued identity-change events (rolled back) */
void wa_msg_pending_drop(wa_msg_state *m);

/* ---- outbox.c: the outbox and its pump ---- */
/* Sends recorded stanzas and starts the next preparation, in outbox order
 * per chat: chats waiting out a backoff are skipped. */
void wa_msg_pump(wa_session *s);
void wa_msg_job_free(wa_msg_job *j);
/* j failed for good: row FAILED, status ERROR with j->why or err. */
void wa_msg_job_fail(wa_session *s, wa_msg_job *j, int err);
/* A transient failure while preparing j (see outbox.c). */
void wa_msg_job_defer(wa_session *s, wa_msg_job *j, int err, int code, const char *what);
void wa_msg_hold_drop(wa_msg_state *m, const char *chat);
/* A transient failure of what chat's first queued row needed: that chat
 * waits out a backoff (err WA_ECLOSED: until the next READY). */
void wa_msg_chat_defer(wa_session *s, const char *chat, int err);

/* ---- media.c: media uploads (the outbox's 'M' rows) and downloads ---- */
/* The chat whose media is being uploaded (the outbox skips it), or NULL. */
const char *wa_media_upload_chat(const wa_msg_state *m);
/* Starts uploading outbox row `row` ('M' record pl); false when it could
 * not start now (the row stays queued). A row that can never be sent is
 * failed here (and true returned, so the pump goes on). */
bool wa_media_upload_start(wa_session *s, int64_t row, const char *id, const char *chat,
	const uint8_t *pl, size_t pl_len);
/* Cancels transfers and frees the media state (session free). */
void wa_media_free(wa_session *s);
void wa_msg_holds_clear(wa_msg_state *m);
void wa_msg_on_prep_timer(wa_session *s);

/* ---- recipients.c: who gets a copy, and getting ready to encrypt ----
 *
 * The recipients step: from a chat JID to the users whose device lists are
 * needed and every device that gets a copy, each with the cipher it gets.
 * Only 1:1 chats are implemented: the peer's devices get the message, our
 * other devices its deviceSentMessage copy, all pairwise. A group fills in
 * WA_RCPT_GROUP here (users: the participants and us; devices: WA_CIPHER_SKDM
 * for those still without our sender key) and the pump, the preparation and
 * the sealing stay as they are. */
enum wa_msg_rcpt_mode {
	WA_RCPT_DIRECT = 0,  /* 1:1: every copy pairwise (pkmsg or msg) */
};
enum wa_msg_cipher {
	WA_CIPHER_MSG = 0,   /* a session exists: msg (pkmsg until the peer has answered, as the ratchet says) */
	WA_CIPHER_PKMSG,     /* no session yet: its pre-key bundle is fetched first, then a pkmsg */
	WA_CIPHER_UNKNOWN,   /* the session could not be read now (store error): left out this time */
};
typedef struct wa_msg_rcpt_user {
	char jid[WA_STORE_JID_MAX]; /* user JID */
	bool own;                   /* our own account (its devices get the deviceSentMessage copy) */
	bool listed;                /* its device list is cached (else a usync is needed) */
} wa_msg_rcpt_user;
typedef struct wa_msg_target {
	char jid[WA_STORE_JID_MAX];  /* device JID, <to jid> */
	char addr[WA_STORE_JID_MAX]; /* its Signal address name (LID-keyed when known) */
	int32_t device;
	bool own;                    /* one of our other devices: gets the deviceSentMessage copy */
	enum wa_msg_cipher cipher;
} wa_msg_target;
typedef struct wa_msg_rcpts {
	enum wa_msg_rcpt_mode mode;
	wa_msg_rcpt_user users[2];   /* in usync order: our account, then the chat's */
	size_t n_users;
	size_t n_unlisted;           /* users whose device list must be fetched first */
	wa_msg_target *t;            /* listed users' devices: the chat's first, then ours (not this one) */
	size_t n;
	size_t n_pkmsg;              /* devices with cipher WA_CIPHER_PKMSG */
} wa_msg_rcpts;
/* Who gets a copy of a message to chat (a user JID) and with which
 * cipher, from the cached device lists and the Signal sessions. WA_EINVAL
 * when chat does not parse or our own JID is unknown. Free: wa_msg_recipients_free. */
int wa_msg_recipients(wa_session *s, const char *chat, wa_msg_rcpts *out) WA_MUST_CHECK;
void wa_msg_recipients_free(wa_msg_rcpts *r);
/* Starts the preparation of j (device lists, then sessions), which ends in
 * wa_msg_job_encrypt, wa_msg_job_defer or wa_msg_job_fail. */
void wa_msg_job_start(wa_session *s, wa_msg_job *j);
/* The cached device list of user (NULL: unknown or expired). */
struct wa_msg_devcache *wa_msg_devcache_get(wa_msg_state *m, const char *user);
void wa_msg_devcache_clear(wa_msg_state *m);
void wa_gstate_clear(wa_msg_state *m); /* groups_devs.c */
/* For the group pipeline (groups_msg.c): store / forget a user's device
 * list, and read a cached one. */
void wa_msg_devcache_put(wa_msg_state *m, const char *user, const uint16_t *dev, size_t n);
void wa_msg_devcache_drop(wa_msg_state *m, const char *user);
/* Stores a usync answer's device lists and LIDs in the device cache;
 * empty_too: a user listed without devices (not on WhatsApp) is cached
 * empty (group members), else left out. WA_EPROTO etc. from the parser. */
int wa_msg_usync_apply(wa_session *s, const wa_node *resp, bool empty_too) WA_MUST_CHECK;
/* A cached list whatever its age (groups: refreshed in the background,
 * groups_refresh.c; changes arrive as devices notifications). */
struct wa_msg_devcache *wa_msg_devcache_any(wa_msg_state *m, const char *user);
size_t wa_msg_devcache_n(const struct wa_msg_devcache *d);
int64_t wa_msg_devcache_at(const struct wa_msg_devcache *d); /* when listed (wa_mono_ms) */
uint16_t wa_msg_devcache_dev(const struct wa_msg_devcache *d, size_t i);

/* ---- seal.c: encryption for every device, the stanza, its record ---- */
int wa_msg_job_seal(wa_session *s, wa_msg_job *j, uint8_t **rec_out, size_t *rec_len_out);
void wa_msg_send_sealed(wa_session *s, const wa_msg_job *j, const uint8_t *rec, size_t rec_len);
/* Seals j in its own transaction and sends it (or fails it); pumps on. */
void wa_msg_job_encrypt(wa_session *s, wa_msg_job *j);

/* ---- inflight.c: stanzas awaiting the server's ack ---- */
void wa_msg_inflight_add(wa_session *s, int64_t row, const char *id, const char *chat);
/* Removes id from the table; *row: its outbox row. false when not in flight. */
bool wa_msg_inflight_take(wa_msg_state *m, const char *id, int64_t *row);
void wa_msg_inflight_clear(wa_msg_state *m);
void wa_msg_arm_ack_timer(wa_session *s);
void wa_msg_on_ack_timer(wa_session *s);

/* ---- retries.c: retry receipts both ways ---- */
void wa_msg_send_retry_receipt(wa_session *s, const wa_node *n, const wa_in_msg *in, int err);
void wa_msg_handle_retry(wa_session *s, const wa_node *n, const wa_in_receipt *r);
void wa_msg_retries_clear(wa_msg_state *m);

#endif
