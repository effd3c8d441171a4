/* Incoming calls (Evolution's `call` handler): an offer is rejected when
 * the instance's rejectCall setting is on, and msgCall (when not blank) is
 * sent to the caller as a text, which goes out as MESSAGES_UPSERT with
 * fromMe as Evolution re-emits it; every status change is a CALL event. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "wamd.h"
#include "wamd_events.h"

static bool blank(const char *s)
{
	for (; s && *s; s++)
		if (!isspace((unsigned char)*s))
			return false;
	return true;
}

void wamd_on_call(struct wamd_tenant *t, json_t *call)
{
	json_t *set = json_object_get(t->doc, "settings");
	const char *status = json_string_value(json_object_get(call, "status"));
	const char *id = json_string_value(json_object_get(call, "id"));
	const char *from = json_string_value(json_object_get(call, "from"));
	if (status && !strcmp(status, "offer") && id && from) {
		if (json_is_true(json_object_get(set, "rejectCall"))) {
			int rc = wamd_tenant_reject_call(t, id, from);
			if (rc != 0)
				LOGW("instance %s: call %s not rejected: %s", t->name, id, wa_errname(rc));
		}
		const char *text = json_string_value(json_object_get(set, "msgCall"));
		/* Evolution texts the caller's phone number; a LID caller's
		 * callerPn gives it when the offer carries it */
		const char *pn = json_string_value(json_object_get(call, "callerPn"));
		const char *to = strstr(from, "@lid") && pn ? pn : from;
		char *mid = NULL;
		if (!blank(text)) {
			int rc = wamd_tenant_send_text(t, to, text, NULL, NULL, false, NULL, &mid);
			if (rc == 0 && mid)
				wamd_emit(t, "MESSAGES_UPSERT", wamd_sent_record(t, to, mid, text, wamd_now_ms() / 1000));
			else
				LOGW("instance %s: msgCall not sent: %s", t->name, wa_errname(rc));
			free(mid);
		}
	}
	wamd_emit(t, "CALL", json_incref(call));
}
