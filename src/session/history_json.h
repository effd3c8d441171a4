/* The batch's message records written as compact JSON straight into a
 * writer (history_json.c), the way json_dumps wrote the jansson objects
 * they replace, members left out where jansson refused a string. */
#ifndef WA_SESSION_HISTORY_JSON_H
#define WA_SESSION_HISTORY_JSON_H

#include <stdbool.h>

#include "message.pb-c.h"
#include "util/buf.h"

void wa_hj_put_raw_member(wa_writer *wr, bool *first, const char *name, const char *raw);
void wa_hj_put_str_member(wa_writer *wr, bool *first, const char *name, const char *v);
void wa_hj_put_int_member(wa_writer *wr, bool *first, const char *name, long long v);
void wa_hj_put_key(wa_writer *wr, bool *first, const char *chat, bool from_me, const Wa__MessageKey *k);

#endif
