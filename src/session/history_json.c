/* JSON members written straight into a writer (history_json.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session/history_json.h"
#include "session/msgstate.h"

/* Appends ,"name":value to an object being written as compact JSON, as
 * json_dumps(JSON_COMPACT) would write it; a NULL value (a string that is
 * not UTF-8, no memory) leaves the member out, as json_object_set_new did. */
void wa_hj_put_raw_member(wa_writer *wr, bool *first, const char *name, const char *raw)
{
	ign(wa_wr_bytes(wr, *first ? "{\"" : ",\"", 2));
	ign(wa_wr_bytes(wr, name, strlen(name)));
	ign(wa_wr_bytes(wr, "\":", 2));
	ign(wa_wr_bytes(wr, raw, strlen(raw)));
	*first = false;
}

void wa_hj_put_member(wa_writer *wr, bool *first, const char *name, json_t *v)
{
	char *t = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	json_decref(v);
	if (t)
		wa_hj_put_raw_member(wr, first, name, t);
	free(t);
}

/* Plain printable ASCII without quote or backslash: the JSON string is
 * the text between quotes, as jansson would write it. Anything else takes
 * jansson's path (escapes, UTF-8 checks). */
bool wa_hj_plain(const char *v)
{
	for (; *v; v++)
		if ((unsigned char)*v < 0x20 || (unsigned char)*v > 0x7e || *v == '"' || *v == '\\')
			return false;
	return true;
}

void wa_hj_put_str_member(wa_writer *wr, bool *first, const char *name, const char *v)
{
	if (!wa_hj_plain(v)) {
		wa_hj_put_member(wr, first, name, json_string(v));
		return;
	}
	ign(wa_wr_bytes(wr, *first ? "{\"" : ",\"", 2));
	ign(wa_wr_bytes(wr, name, strlen(name)));
	ign(wa_wr_bytes(wr, "\":\"", 3));
	ign(wa_wr_bytes(wr, v, strlen(v)));
	ign(wa_wr_bytes(wr, "\"", 1));
	*first = false;
}

void wa_hj_put_int_member(wa_writer *wr, bool *first, const char *name, long long v)
{
	char b[24];
	snprintf(b, sizeof b, "%lld", v);
	wa_hj_put_raw_member(wr, first, name, b);
}

/* The message's key object, written directly (one per message: jansson's
 * build and dump of it cost more than the rest of the record). */
void wa_hj_put_key(wa_writer *wr, bool *first, const char *chat, bool from_me, const Wa__MessageKey *k)
{
	if (!wa_hj_plain(chat) || !wa_hj_plain(k->id) || (k->participant && !wa_hj_plain(k->participant))) {
		json_t *key = json_pack("{s:s, s:b, s:s}", "remoteJid", chat, "fromMe", from_me, "id", k->id);
		if (k->participant && key)
			json_object_set_new(key, "participant", json_string(k->participant));
		wa_hj_put_member(wr, first, "key", key);
		return;
	}
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

