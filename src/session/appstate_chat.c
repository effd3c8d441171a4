/* src/session/appstate_chat.c: the chats row of an applied chat mutation
 * (appstate_chat.h). */
#include <string.h>

#include "session/appstate_chat.h"
#include "store/history.h"

int wa_appstate_chat_row(wa_store *st, int64_t instance_id, const char *t, const char *jid,
	const Wa__SyncActionValue *v)
{
	if (!t || !jid || !v)
		return 0;
	wa_store_chat c = {.jid = jid, .unread_count = -1, .archived = -1, .pinned = -1, .marked_unread = -1,
		.muted_until = WA_STORE_KEEP_MUTE};
	if (strcmp(t, "archive") == 0 && v->archive_chat_action) {
		c.archived = v->archive_chat_action->archived;
	} else if (strcmp(t, "pin_v1") == 0 && v->pin_action) {
		int64_t at = v->has_timestamp ? v->timestamp / 1000 : 1;
		c.pinned = v->pin_action->pinned ? (int)(at > 0 ? at : 1) : 0;
	} else if (strcmp(t, "mute") == 0 && v->mute_action) {
		const Wa__SyncActionValue__MuteAction *m = v->mute_action;
		/* muted with no end (or WhatsApp's -1): for ever */
		c.muted_until = !m->muted ? 0 : m->has_mute_end_timestamp && m->mute_end_timestamp > 0
			? m->mute_end_timestamp : -1;
	} else if (strcmp(t, "markChatAsRead") == 0 && v->mark_chat_as_read_action) {
		bool read = v->mark_chat_as_read_action->read;
		c.marked_unread = !read;
		if (read)
			c.unread_count = 0;
	} else if (strcmp(t, "clearChat") == 0) {
		c.unread_count = 0;
		c.marked_unread = 0;
	} else if (strcmp(t, "deleteChat") == 0) {
		return wa_store_chat_del(st, instance_id, jid);
	} else {
		return 0;
	}
	int rc = wa_store_chat_put(st, instance_id, &c);
	/* a jid the store refuses (too long, NUL) is the phone's business,
	 * not a reason to stop the collection: the mutation itself is kept */
	return rc == WA_EINVAL ? 0 : rc;
}
