/* Groups inside src/session: the w:g2 codec (sans-IO: iq builders and the
 * <group> parser, unit-tested without a socket), the metadata cache (the
 * store's groups table, the encoded <group> node) and the calls between
 * groups.c (iqs, notifications) and groups_msg.c (sending with our sender
 * key, receiving skmsg). */
#ifndef WA_SESSION_GROUPS_H
#define WA_SESSION_GROUPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "binary/node.h"
#include "wa/session.h"
#include "wa/store.h"

#define WA_GROUP_MAX_PARTICIPANTS 1024  /* the server's cap */
#define WA_GROUP_SUBJECT_MAX 512
#define WA_GROUP_DESC_MAX 4096

typedef struct wa_gpart {
	char jid[WA_STORE_JID_MAX]; /* PN user JID ("" when only the LID is known) */
	char lid[WA_STORE_JID_MAX]; /* "" when unknown */
	int admin;                  /* 0, 1 admin, 2 superadmin */
} wa_gpart;

typedef struct wa_gmeta {
	char jid[WA_STORE_JID_MAX];
	char subject[WA_GROUP_SUBJECT_MAX];
	char s_o[WA_STORE_JID_MAX], owner[WA_STORE_JID_MAX];
	/* the phone numbers beside s_o and creator (a LID group's), and who
	 * set the description (LID or PN, its phone number beside) */
	char s_o_pn[WA_STORE_JID_MAX], owner_pn[WA_STORE_JID_MAX];
	char desc_owner[WA_STORE_JID_MAX], desc_owner_pn[WA_STORE_JID_MAX];
	char desc_id[64];
	int64_t desc_t;
	char mode[8];
	char *desc;
	int64_t s_t, creation;
	bool announce, locked;
	bool add_all, approval; /* member_add_mode all_member_add; membership_approval_mode on */
	uint32_t ephemeral;
	wa_gpart *p;
	size_t n;
	wa_group_participant *pub; /* for wa_gmeta_info */
} wa_gmeta;

/* Parses a <group> node (untrusted): WA_EMALFORMED when id is missing or
 * a field is too long; participants beyond the cap are refused. */
int wa_gmeta_parse(const wa_node *group, wa_gmeta **out) WA_MUST_CHECK;
void wa_gmeta_free(wa_gmeta *g);
/* Public view (pointers into g, valid while g lives). */
int wa_gmeta_info(wa_gmeta *g, wa_group_info *out) WA_MUST_CHECK;
/* "120363…" or "120363…@g.us" -> "120363…@g.us"; false when it is not one. */
bool wa_group_jid_norm(const char *in, char out[WA_STORE_JID_MAX]);

/* Sends iq (or returns rc when not 0, freeing iq) and answers fn with the
 * server's error code. */
int wa_group_simple(wa_session *s, wa_node *iq, int rc, wa_group_done_fn fn, void *user) WA_MUST_CHECK;
/* iq builders (id set by wa_iq_send). */
int wa_group_build_create(const char *subject, const char *key, const char *const *jids, size_t n,
	wa_node **out) WA_MUST_CHECK;
int wa_group_build_query(const char *group, wa_node **out) WA_MUST_CHECK;
int wa_group_build_participating(wa_node **out) WA_MUST_CHECK;
int wa_group_build_members(const char *group, const char *action, const char *const *jids, size_t n,
	wa_node **out) WA_MUST_CHECK;
int wa_group_build_leave(const char *group, wa_node **out) WA_MUST_CHECK;
int wa_group_build_subject(const char *group, const char *subject, wa_node **out) WA_MUST_CHECK;
int wa_group_build_description(const char *group, const char *desc, const char *id, const char *prev,
	wa_node **out) WA_MUST_CHECK;
/* setting: announcement, not_announcement, locked, unlocked, admin_add,
 * all_member_add (<member_add_mode>), approval_on or approval_off
 * (<membership_approval_mode><group_join state/>). */
int wa_group_build_setting(const char *group, const char *setting, wa_node **out) WA_MUST_CHECK;
/* seconds 0: <not_ephemeral/>. */
int wa_group_build_ephemeral(const char *group, uint32_t seconds, wa_node **out) WA_MUST_CHECK;
/* The group's picture: <iq xmlns="w:profile:picture" to="s.whatsapp.net"
 * target=group type="set"><picture type="image">jpeg</picture></iq>;
 * len 0: no <picture>, which removes it. */
int wa_group_build_picture(const char *group, const uint8_t *jpeg, size_t len, wa_node **out) WA_MUST_CHECK;
/* <invite/> to the group: get (revoke false) or set (a new code). */
int wa_group_build_invite(const char *group, bool revoke, wa_node **out) WA_MUST_CHECK;
/* <invite code/> to g.us: set joins, get (info) asks for the metadata. */
int wa_group_build_invite_code(const char *code, bool join, wa_node **out) WA_MUST_CHECK;
/* <membership_approval_requests/> (get) and <membership_requests_action>
 * <approve|reject><participant jid/>…</…></…> (set) to the group. */
int wa_group_build_requests(const char *group, wa_node **out) WA_MUST_CHECK;
int wa_group_build_request_action(const char *group, const char *action, const char *const *jids, size_t n,
	wa_node **out) WA_MUST_CHECK;
/* An invite code or link -> the code; false when it is not one. */
bool wa_group_invite_norm(const char *in, char out[64]);

/* ---- a group's devices for sending (groups_devs.c) ---- */
typedef struct wa_gdev {
	char jid[WA_STORE_JID_MAX];
	const char *addr; /* Signal address (the user's, in the view's addrs) */
	int32_t device;
	bool me;      /* this very device */
	bool holder;  /* wa_gstate_holders: holds our current key */
	bool session; /* wa_gstate_holders: a session, looked up for non-holders only */
} wa_gdev;
typedef struct wa_gview {
	wa_gdev *v; /* every member's devices, this one included */
	size_t n;
	char (*addrs)[WA_STORE_JID_MAX]; /* one per member */
	char phash[16];
	char mode[8];
	uint32_t ephemeral;
	bool complete; /* every device but this one held our key at the last wa_gstate_holders */
} wa_gview;
/* The member user JID a group's sends address (the LID in a LID group). */
const char *wa_group_member(const wa_gmeta *g, size_t i);
/* The group's current device view (owned by the session; valid until the
 * next call that may change device lists or group metadata), built from g
 * (NULL: the cached metadata) and the device cache when not current. */
int wa_gstate_get(wa_session *s, const char *group, const wa_gmeta *g, wa_gview **out) WA_MUST_CHECK;
/* Whether the group's view is current and every device holds our key. */
bool wa_gstate_ready(wa_session *s, const char *group);
/* Reads the holders of our key into view's devices (and sessions for the
 * others); sets view->complete. */
int wa_gstate_holders(wa_session *s, const char *group, wa_gview *view) WA_MUST_CHECK;
void wa_gstate_drop(wa_session *s, const char *group);
/* After a send: asks the device lists of a few of group's members whose
 * lists are older than the refresh age (one usync in flight per session,
 * batches spaced); the answer updates the device cache. */
void wa_gstate_refresh(wa_session *s, const char *group);
/* How old a group member's device list gets before the refresh asks again. */
int64_t wa_devlist_refresh_ms(const wa_session *s);
/* The group's timer from its view, when it has one (no store read). */
bool wa_gstate_ephemeral(wa_session *s, const char *group, uint32_t *seconds);

/* Cached metadata of a group (store), or WA_ENOTFOUND. */
int wa_group_cached(wa_session *s, const char *group, wa_gmeta **out) WA_MUST_CHECK;
/* Stores the <group> node as the group's metadata. */
int wa_group_cache_put(wa_session *s, const wa_node *group) WA_MUST_CHECK;
/* Forgets the group's metadata (store) and device view. */
void wa_group_cache_drop(wa_session *s, const char *group);

/* Helpers shared by groups.c and groups_notify.c: a decimal attribute (0
 * when absent or not a number); a node's string or bytes content as a new
 * string (NULL when longer than max). */
int64_t wa_group_num(const char *s);
char *wa_group_content_str(const wa_node *n, size_t max);

/* w:gp2 notifications (groups_notify.c; recipients.c's notification handler hands them over). */
void wa_msg_group_notification(wa_session *s, const wa_node *n);
/* <notification type="picture"> from a group: a "picture" group event. */
void wa_msg_group_picture_notification(wa_session *s, const wa_node *n);
/* A received <message> from a group (receive.c hands it over). */
int wa_msg_group_message(wa_session *s, const wa_node *n);
/* Drops our sender key for group: the next send makes a new one. */
void wa_msg_group_rotate(wa_session *s, const char *group);
struct wa_msg_job;
/* The preparation of an outbox job to a group (metadata, device lists,
 * bundles), ending in wa_msg_job_encrypt, _defer or _fail. */
void wa_msg_group_job_start(wa_session *s, struct wa_msg_job *j);
/* wa_msg_job_seal for a group job. */
int wa_msg_group_seal(wa_session *s, struct wa_msg_job *j, uint8_t **rec_out, size_t *rec_len_out) WA_MUST_CHECK;
/* A retry receipt for our group message (from = group, participant = the
 * device): that device gets the message again, with our key. */
struct wa_in_receipt;
void wa_msg_group_retry(wa_session *s, const struct wa_in_receipt *r);
/* An ack's phash for a group send differs from ours: our cached list is stale. */
void wa_msg_group_stale(wa_session *s, const char *group);

#endif
