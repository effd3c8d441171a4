/* JSON members written straight into a writer (history_json.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session/history_json.h"
#include "session/msgstate.h"
#include "util/jsonstr.h"

/* Appends ,"name":raw to an object being written as compact JSON. */
void wa_hj_put_raw_member(wa_writer *wr, bool *first, const char *name, const char *raw)
{
	ign(wa_wr_bytes(wr, *first ? "{\"" : ",\"", 2));
	ign(wa_wr_bytes(wr, name, strlen(name)));
	ign(wa_wr_bytes(wr, "\":", 2));
	ign(wa_wr_bytes(wr, raw, strlen(raw)));
	*first = false;
}

/* A string that is not UTF-8 leaves the member out, as a NULL from
 * json_string did. */
void wa_hj_put_str_member(wa_writer *wr, bool *first, const char *name, const char *v)
{
	size_t len = wr->len;
	ign(wa_wr_bytes(wr, *first ? "{\"" : ",\"", 2));
	ign(wa_wr_bytes(wr, name, strlen(name)));
	ign(wa_wr_bytes(wr, "\":", 2));
	if (wa_json_str(wr, v) != 0) {
		if (!wa_wr_error(wr))
			wr->len = len;
		return;
	}
	*first = false;
}

void wa_hj_put_int_member(wa_writer *wr, bool *first, const char *name, long long v)
{
	char b[24];
	snprintf(b, sizeof b, "%lld", v);
	wa_hj_put_raw_member(wr, first, name, b);
}

/* The message's key object (one per message). A chat or id jansson refuses
 * left the whole key out (json_pack failed), a participant only itself. */
void wa_hj_put_key(wa_writer *wr, bool *first, const char *chat, bool from_me, const Wa__MessageKey *k)
{
	if (!wa_json_utf8_ok(chat) || !wa_json_utf8_ok(k->id))
		return;
	ign(wa_wr_bytes(wr, *first ? "{\"key\":" : ",\"key\":", 7));
	bool kf = true;
	wa_hj_put_str_member(wr, &kf, "remoteJid", chat);
	wa_hj_put_raw_member(wr, &kf, "fromMe", from_me ? "true" : "false");
	wa_hj_put_str_member(wr, &kf, "id", k->id);
	if (k->participant)
		wa_hj_put_str_member(wr, &kf, "participant", k->participant);
	ign(wa_wr_bytes(wr, "}", 1));
	*first = false;
}
