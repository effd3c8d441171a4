/* The chats row of one applied app-state chat mutation (archive, pin_v1,
 * mute, markChatAsRead, clearChat, deleteChat), called inside the
 * transaction that applies it, so that findChats shows what the phone,
 * another companion or our own accepted patch set; a chat not seen so far
 * gets a row, a deleted one loses it. pinned holds the pin time in seconds
 * as history sync does; a mute with no end is -1 (for ever). Other types:
 * nothing. A jid the store refuses is not an error (the mutation itself is
 * kept in app_state_mutations). */
#ifndef WA_SESSION_APPSTATE_CHAT_H
#define WA_SESSION_APPSTATE_CHAT_H

#include "store/store.h"
#include "sync_action.pb-c.h"

int wa_appstate_chat_row(wa_store *st, int64_t instance_id, const char *type, const char *jid,
	const Wa__SyncActionValue *v) WA_MUST_CHECK;

#endif
