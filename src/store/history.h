/* History sync in the store: chats as the phone's history describes them,
 * and the history-sync notifications whose import is not committed yet. */
#ifndef WA_STORE_HISTORY_H
#define WA_STORE_HISTORY_H

#include "store/store.h"

#define WA_STORE_HIST_NOTIF_MAX 65536
#define WA_STORE_CHAT_NAME_MAX 1024
#define WA_STORE_KEEP_MUTE INT64_MIN

typedef struct wa_store_chat {
	const char *jid;            /* required */
	const char *name;           /* NULL: keep */
	int64_t unread_count;       /* -1: keep */
	int64_t last_msg_ts;        /* 0: keep (the larger one wins) */
	int64_t conversation_ts;    /* 0: keep (the larger one wins) */
	int archived, pinned, marked_unread; /* -1: keep */
	int64_t muted_until;        /* WA_STORE_KEEP_MUTE: keep; -1: muted for ever; 0: not muted */
	const char *pn_jid, *lid_jid; /* NULL: keep */
} wa_store_chat;

/* Upsert. */
int wa_store_chat_put(wa_store *st, int64_t instance_id, const wa_store_chat *c) WA_MUST_CHECK;

typedef struct wa_store_chat_row {
	char *jid, *name, *pn_jid, *lid_jid;
	int64_t unread_count, last_msg_ts, conversation_ts, muted_until;
	bool archived, marked_unread;
	int64_t pinned;
} wa_store_chat_row;
/* Chats, most recent first (conversation or last message time); jid non-NULL
 * limits to that chat. */
int wa_store_chat_list(wa_store *st, int64_t instance_id, const char *jid, int64_t offset, int64_t limit,
	wa_store_chat_row **rows_out, size_t *n_out) WA_MUST_CHECK;
void wa_store_chat_rows_free(wa_store_chat_row *rows, size_t n);
/* Deletes the chat's row (a chat deleted on any device); none is no error. */
int wa_store_chat_del(wa_store *st, int64_t instance_id, const char *jid) WA_MUST_CHECK;

/* Contacts with a push name or an address-book name. */
typedef struct wa_store_contact_row {
	char *jid, *lid, *push_name, *full_name;
} wa_store_contact_row;
int wa_store_contact_list(wa_store *st, int64_t instance_id, const char *jid, int64_t offset, int64_t limit,
	wa_store_contact_row **rows_out, size_t *n_out) WA_MUST_CHECK;
void wa_store_contact_rows_free(wa_store_contact_row *rows, size_t n);

/* A notification is recorded (INSERT OR IGNORE) in the transaction that
 * stores its message, and deleted in the one that commits its last batch. */
int wa_store_hist_add(wa_store *st, int64_t instance_id, const char *msg_id, const char *chat_jid,
	const uint8_t *notif, size_t len) WA_MUST_CHECK;
/* The oldest pending one: WA_ENOTFOUND when none. Out strings / bytes malloc'd. */
int wa_store_hist_next(wa_store *st, int64_t instance_id, char **msg_id_out, char **chat_out,
	uint8_t **notif_out, size_t *len_out, int64_t *convs_done_out) WA_MUST_CHECK;
/* The same for the n-th pending one (0: the oldest). */
int wa_store_hist_nth(wa_store *st, int64_t instance_id, int64_t n, char **msg_id_out, char **chat_out,
	uint8_t **notif_out, size_t *len_out, int64_t *convs_done_out) WA_MUST_CHECK;
int wa_store_hist_progress(wa_store *st, int64_t instance_id, const char *msg_id, int64_t convs_done) WA_MUST_CHECK;
int wa_store_hist_del(wa_store *st, int64_t instance_id, const char *msg_id) WA_MUST_CHECK;
/* *exists_out: is that notification's import still pending? */
int wa_store_hist_pending(wa_store *st, int64_t instance_id, const char *msg_id, bool *exists_out) WA_MUST_CHECK;

#endif
