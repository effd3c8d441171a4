/* The stanza dispatch table: top-level tag (and optionally the "type"
 * attribute) -> handler, STYLE §1 (whatsmeow client.go nodeHandlers).
 * The connection half owns iq/success/failure/stream:error/ib and the
 * pairing-code and pre-key notifications; the messaging half plugs
 * message/receipt/notification/presence/ack/call rows in here. */
#include <string.h>

#include "session/internal.h"
#include "session/media.h"
#include "session/msgstate.h"
#include "util/log.h"

const wa_stanza_handler wa_stanza_handlers[] = {
	{"iq", NULL, wa_handle_iq},
	{"success", NULL, wa_handle_success},
	{"failure", NULL, wa_handle_failure},
	{"stream:error", NULL, wa_handle_stream_error},
	{"xmlstreamend", NULL, wa_handle_stream_end},
	{"ib", NULL, wa_handle_ib},
	{"notification", "link_code_companion_reg", wa_pair_handle_code_notification},
	{"notification", "encrypt", wa_prekeys_handle_notification},
	/* --- messaging (S2): message, receipt, notification (other types),
	 * presence, chatstate, ack, call --- */
	{"message", NULL, wa_msg_handle_message},
	{"receipt", NULL, wa_msg_handle_receipt},
	{"ack", NULL, wa_msg_handle_ack},
	{"notification", "privacy_token", wa_msg_handle_privacy_token},
	{"notification", "server_sync", wa_appstate_handle_server_sync},
	{"notification", "mediaretry", wa_media_rr_handle_notification},
	{"notification", NULL, wa_msg_handle_notification},
	{"presence", NULL, wa_msg_handle_presence},
	{"chatstate", NULL, wa_msg_handle_chatstate},
	{"call", NULL, wa_msg_handle_call},
	{NULL, NULL, NULL},
};

const wa_session_ext *const wa_session_exts[] = {
	/* --- messaging (S2) --- */
	&wa_msg_ext,
	&wa_appstate_ext, /* after messaging: its on_ready needs the half ready */
	&wa_history_ext,
	NULL,
};

int wa_session_dispatch(wa_session *s, const wa_node *n)
{
	const char *tag = wa_node_tag(n);
	const char *type = wa_node_attr(n, "type");
	for (const wa_stanza_handler *h = wa_stanza_handlers; h->tag; h++) {
		if (strcmp(h->tag, tag) != 0)
			continue;
		if (h->type && (!type || strcmp(h->type, type) != 0))
			continue;
		int rc = h->fn(s, n);
		/* counted once handled: the next offline batch is asked for then */
		if (wa_node_attr(n, "offline"))
			wa_msg_offline_seen(s);
		if (rc < 0)
			WA_DEBUG("session", "[%lld/%u] <%s type=%s> handler failed: %s",
				(long long)s->instance_id, s->gen, tag, type ? type : "-",
				wa_errname(rc));
		return rc;
	}
	WA_DEBUG("session", "[%lld/%u] unhandled <%s type=%s>", (long long)s->instance_id, s->gen,
		tag, type ? type : "-");
	return 0;
}
