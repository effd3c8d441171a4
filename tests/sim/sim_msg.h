/* wasim messaging modules (usync, pre-keys, routing, delivery queue,
 * receipts, presence, misc iqs, the simulated phone): their shared state and
 * helpers. Everything here sits on top of the core API in sim.h; the core
 * never includes this file. Entry point: sim_msg_init (modules.c). */
#ifndef WASIM_SIM_MSG_H
#define WASIM_SIM_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim.h"
#include "sim_keys.h"
#include "sim_queue.h"

/* Best-effort calls whose failure changes nothing for the caller (a live
 * copy that stays queued, a forward to an offline device...). */
#define SIM_IGNORE(x) do { if ((x) != 0) { /* best effort */ } } while (0)

#define SIM_MSG_DEDUP 1024     /* recent deliveries (id, target, ciphertext) remembered per sending device */
#define SIM_MSG_RECENT 256     /* recent (id -> sending device) per account, for sender receipts */
#define SIM_MSG_MAX_SUBS 64    /* presence subscriptions per connection */
#define SIM_MSG_RCPT_LOG 64   /* receipts remembered per device (GET /_sim/accounts) */
#define SIM_MSG_JID_MAX 96     /* any JID we format */
#define SIM_MSG_ID_MAX 128     /* message ids we accept */
#define SIM_PHONE_OTK_LOW 20   /* the phone refills its one-time pre-keys below this */
#define SIM_PHONE_OTK_BATCH 100

struct sim_phone; /* sim_phone.c */

struct sim_sub {
	struct sim_account *acct;
	bool lid;
};

/* d->ext */
struct sim_dev_ext {
	sim_keys keys;
	sim_queue q;
	uint64_t seen[SIM_MSG_DEDUP]; /* ring of delivery hashes of what this device sent */
	size_t seen_next;
	struct sim_sub subs[SIM_MSG_MAX_SUBS];    /* presence subscriptions of the live connection */
	size_t n_subs;
	bool history_sent;                        /* the phone sent the initial history notification */
	uint64_t msgs_in;    /* <message> stanzas this device sent (resends included; not persisted) */
	uint64_t dup_copies; /* copies of them not delivered again (same id, target, ciphertext) */
	/* what the device said on its current connection (reset at login):
	 * its last <presence type> ("" none) and the receipts it sent, last
	 * SIM_MSG_RCPT_LOG of them (not persisted) */
	bool batching;       /* SIM_REAL_OFFLINE: login backlog handed out in requested batches */
	uint64_t epoch;      /* logins with batching (items sent in this one carry it) */
	unsigned batch_sent; /* backlog items sent in this login */
	unsigned batches;    /* <offline_batch> requests answered in this login */
	char hist_id[40];    /* the phone's last history-sync notification to it */
	unsigned hist_sends; /* how many it sent (several when hist_sync receipts are missing) */
	bool hist_acked;     /* its hist_sync receipt arrived (checked with SIM_REAL_HIST_SYNC) */
	char presence[16];
	char presence_name[64];
	struct { char id[SIM_MSG_ID_MAX + 1]; char type[16]; } rcpt_log[SIM_MSG_RCPT_LOG];
	size_t rcpt_next, n_rcpts;
};

struct sim_recent {
	uint64_t id_hash;
	uint32_t device;
};

/* a privacy token an account issued to another (sim_tctoken.c) */
struct sim_grant {
	struct sim_account *to;
	int64_t t;
	unsigned issues; /* privacy iqs that issued it (re-issues count) */
	char note_id[40]; /* id of the privacy_token notification of the last issue */
};

/* a->ext */
struct sim_acct_ext {
	struct sim_phone *phone;
	sim_keys phone_keys;          /* device 0's published one-time pre-keys */
	bool available;               /* last global presence */
	int64_t last_seen;            /* unix s of the last unavailable */
	struct sim_recent recent[SIM_MSG_RECENT];
	size_t recent_next;
	/* accounts that fetched this account's device list (usync): they
	 * cache it, so they are the ones told when it changes. In memory only:
	 * after a wasim restart peers are told again once they ask again. */
	struct sim_account **watchers;
	size_t n_watchers, cap_watchers;
	struct sim_grant *grants;     /* privacy tokens it issued (in memory) */
	size_t n_grants, cap_grants;
	uint64_t tctoken_refused;     /* its companions' messages refused with 463 */
};

/* The module's data of a device / an account, created on first use (the
 * core may load accounts without calling account_created). NULL only when
 * out of memory (or, for an account, when its phone cannot be set up). */
struct sim_dev_ext *sim_dx(struct sim_device *d);
struct sim_acct_ext *sim_ax(struct sim *sim, struct sim_account *a);

/* A JID resolved against the accounts. */
struct sim_addr {
	struct sim_account *acct; /* NULL: not one of our users */
	bool lid;                 /* written in the LID namespace */
	bool has_device;          /* the JID named a device (user:dev@...) */
	uint32_t device;
};
/* WA_EBIN_JID for text that is not a user JID (groups, server, ...),
 * WA_ENOTFOUND for an unknown user (out->acct untouched then). */
int sim_addr_parse(struct sim *sim, const char *jid, struct sim_addr *out) WA_MUST_CHECK;
/* The user JID (no device) or device JID (device 0 without ":0") of a. */
void sim_jid_user(const struct sim_account *a, bool lid, char *buf, size_t cap);
void sim_jid_device(const struct sim_account *a, bool lid, uint32_t device, char *buf, size_t cap);
/* Whether device dev (0 = the phone) currently exists. */
bool sim_device_exists(struct sim_account *a, uint32_t dev);

/* sim_msg.c: answers <ib><offline_batch count> (SIM_REAL_OFFLINE) */
void sim_msg_offline_batch(struct sim *sim, struct sim_conn *c, unsigned count);

/* sim_tctoken.c: <iq xmlns="privacy"><tokens>: grant and notify; whether a
 * 1:1 message from -> to, sent on connection c, must be refused (463) for
 * its missing token */
int sim_tctoken_issue(struct sim *sim, struct sim_conn *c, const wa_node *iq);
bool sim_tctoken_refuse(struct sim *sim, struct sim_conn *c, struct sim_account *from, struct sim_account *to, const wa_node *st,
	bool single);

/* Delivers a server->client stanza to one device of a (device 0 = the
 * phone): queued until the device answers it, sent at once when it is
 * online. Takes ownership of n. */
int sim_msg_deliver(struct sim *sim, struct sim_account *a, uint32_t dev, wa_node *n) WA_MUST_CHECK;
/* Sends n to every live connection of a (not queued; presence, chatstate).
 * except may be NULL. Frees n. */
void sim_msg_send_live(struct sim *sim, struct sim_account *a, const struct sim_device *except, wa_node *n);
/* Schedules a state-file save soon (coalesced). */
void sim_msg_dirty(struct sim *sim);
/* Remembers that id was sent by device dev of a (for sender receipts). */
void sim_msg_recent_add(struct sim_account *a, const char *id, uint32_t dev);
bool sim_msg_recent_find(const struct sim_account *a, const char *id, uint32_t *dev_out);
/* 64-bit FNV-1a of a message id (dedup rings). */
uint64_t sim_msg_id_hash(const char *id);
/* "t" value now. */
void sim_msg_tstr(char *buf, size_t cap, int64_t t);

/* Per-file initialisers (called by sim_msg_init). */
int sim_usync_init(struct sim *sim) WA_MUST_CHECK;
int sim_prekeys_init(struct sim *sim) WA_MUST_CHECK;
int sim_route_init(struct sim *sim) WA_MUST_CHECK;
int sim_receipts_init(struct sim *sim) WA_MUST_CHECK;
int sim_presence_init(struct sim *sim) WA_MUST_CHECK;
int sim_iq_misc_init(struct sim *sim) WA_MUST_CHECK;
/* sim_profile.c: profile picture, status privacy, business profile, contact QR, push config */
int sim_profile_init(struct sim *sim) WA_MUST_CHECK;
void sim_profile_shutdown(void);
/* sim_profile.c: owner blocked other (other's messages to owner are dropped) */
bool sim_profile_blocks(const struct sim_account *owner, const struct sim_account *other);
/* the <status> of target's usync answer as asker may see it */
wa_node *sim_profile_status_node(struct sim_account *target, struct sim_account *asker);
int sim_phone_init(struct sim *sim) WA_MUST_CHECK;
int sim_media_init(struct sim *sim) WA_MUST_CHECK;
/* sim_history.c: seeded histories and the phone's history sync. send:
 * every notification of a's history to companion dev, in order; last_id
 * gets the last one's id. */
int sim_history_init(struct sim *sim) WA_MUST_CHECK;
int sim_seed_init(struct sim *sim) WA_MUST_CHECK; /* test-only fast provisioning (sim_seed.c) */
void sim_history_shutdown(void);
bool sim_history_has(const struct sim_account *a);
int sim_history_send(struct sim *sim, struct sim_account *a, uint32_t dev, char *last_id, size_t id_cap) WA_MUST_CHECK;
/* A companion asked for `count` messages of chat older than oldest_id (or
 * than oldest_ts_ms): sends them as an ON_DEMAND history notification.
 * WA_ENOTFOUND: no seed, or the chat is not seeded. */
int sim_history_on_demand(struct sim *sim, struct sim_account *a, uint32_t dev, const char *request_id,
	const char *chat, const char *oldest_id, int64_t oldest_ts_ms, int count) WA_MUST_CHECK;
/* Stores a blob as an upload would; direct gets its direct path.
 * WA_ETOOBIG when the store is full, WA_EIO. */
int sim_media_store(struct sim *sim, const uint8_t *body, size_t len, char *direct, size_t cap) WA_MUST_CHECK;
void sim_media_shutdown(void);
/* Copies the blob at direct_path (expired or not) to a new one, as a phone
 * uploading it again; new_dp gets its direct path. WA_ENOTFOUND when the
 * blob's file is gone. */
int sim_media_copy(struct sim *sim, const char *direct_path, char *new_dp, size_t cap) WA_MUST_CHECK;
/* The blob a direct path (or a url on the media host) names, opened for
 * reading as a download would get it: 0 and *fd, or the HTTP status a GET
 * would answer instead (404, or the expiry fault's 404/410). */
int sim_media_open(struct sim *sim, const char *where, int *fd) WA_MUST_CHECK;
/* The url a client is given for direct path direct. */
void sim_media_url(struct sim *sim, const char *direct, char *url, size_t cap);
/* sim_mretry.c: the phone's media-retry answers. note: a media message the
 * phone of a decrypted; receipt: a companion's server-error receipt. */
int sim_mretry_init(struct sim *sim) WA_MUST_CHECK;
void sim_mretry_shutdown(void);
struct Wa__Message;
void sim_mretry_note(struct sim_account *a, const char *id, const struct Wa__Message *m);
int sim_mretry_receipt(struct sim *sim, struct sim_account *a, uint32_t rdev, const wa_node *n) WA_MUST_CHECK;
int sim_msg_init(struct sim *sim) WA_MUST_CHECK;

/* sim_usync.c: <notification type="devices"> about a's device dev to every
 * account's devices (they drop or extend their cached lists). */
void sim_usync_notify_devices(struct sim *sim, struct sim_account *a, uint32_t dev, bool added);

/* sim_route.c: routes a <message> stanza sent by device sdev (0 = phone) of
 * account from, as the server does for a client's message. When c is set
 * the server ack goes to it. */
int sim_route_message(struct sim *sim, struct sim_conn *c, struct sim_account *from, uint32_t sdev,
	const wa_node *n) WA_MUST_CHECK;
/* sim_groups.c: the w:g2 iqs; a <message> / <receipt> to a group */
int sim_groups_init(struct sim *sim) WA_MUST_CHECK;
/* A w:profile:picture iq whose target is a group; 1 when it is not one. */
int sim_groups_picture_iq(struct sim *sim, struct sim_conn *c, const wa_node *iq);
int sim_groups_route(struct sim *sim, struct sim_conn *c, struct sim_account *from, uint32_t sdev,
	const wa_node *n) WA_MUST_CHECK;
int sim_groups_route_receipt(struct sim *sim, struct sim_account *from, uint32_t rdev, const wa_node *n) WA_MUST_CHECK;
/* The member accounts of group jid (at most cap); WA_ENOTFOUND for no such group. */
int sim_groups_members(const char *jid, struct sim_account **out, size_t cap, size_t *n) WA_MUST_CHECK;
/* sim_receipts.c: routes a <receipt> from device rdev (0 = phone) of from. */
int sim_route_receipt(struct sim *sim, struct sim_account *from, uint32_t rdev, const wa_node *n) WA_MUST_CHECK;

/* sim_phone.c */
int sim_phone_create(struct sim *sim, struct sim_account *a) WA_MUST_CHECK;
void sim_phone_free(struct sim_phone *p);
int sim_phone_refill(struct sim *sim, struct sim_account *a) WA_MUST_CHECK;
/* Sends the initial history-sync notification to companion d a moment later. */
int sim_phone_history_later(struct sim *sim, struct sim_device *d) WA_MUST_CHECK;
/* The phone of a sends text to peer's chat (PN or LID JID); *id_out = message id. */
int sim_phone_send_text(struct sim *sim, struct sim_account *a, struct sim_account *peer, bool lid,
	const char *text, char *id_out, size_t id_cap) WA_MUST_CHECK;
/* The phone of a sends m to peer's chat, with device-sent copies to its own
 * companions (mediatype: the <enc> attribute of a media message, or NULL);
 * *rec_out (may be NULL) = its record in the phone's messages list. */
int sim_phone_send_msg(struct sim *sim, struct sim_account *a, struct sim_account *peer, bool lid,
	const struct Wa__Message *m, const char *mediatype, char *id_out, size_t id_cap, json_t **rec_out) WA_MUST_CHECK;
/* sim_phone_media.c: the phone's media. send: encrypts and stores the file
 * a /_sim/phone/send "media" object describes and sends it (*why: a 400
 * reason on WA_EINVAL). check: a received message's media downloaded from
 * the media host, verified (MAC, fileEncSha256, fileSha256, length) and
 * described in rec's "media" (nothing for a message without media). */
int sim_phone_media_send(struct sim *sim, struct sim_account *a, struct sim_account *peer, bool lid,
	json_t *media, char *id_out, size_t id_cap, const char **why) WA_MUST_CHECK;
void sim_phone_media_check(struct sim *sim, const struct Wa__Message *m, json_t *rec);
/* Closes the phones' store (after every phone was freed). */
void sim_phone_shutdown(void);
/* A stanza delivered to device 0 (takes ownership of n). */
void sim_phone_receive(struct sim *sim, struct sim_account *a, wa_node *n);
/* Whether phones send delivery receipts for group messages (default off). */
void sim_phone_group_receipts(bool on);
/* Bundle of device dev of a for a fetch (consumes a one-time key):
 * appends <user jid=jid>; WA_ENOTFOUND when that device has no keys. */
int sim_prekeys_user_node(struct sim *sim, struct sim_account *a, uint32_t dev, wa_node *parent,
	const char *jid) WA_MUST_CHECK;
/* Same as a struct for the phone's own session building. */
int sim_prekeys_take_bundle(struct sim *sim, struct sim_account *a, uint32_t dev, uint32_t *regid,
	uint8_t identity[32], uint32_t *spk_id, uint8_t spk[32], uint8_t sig[64], bool *has_otk,
	sim_otk *otk) WA_MUST_CHECK;

#endif
