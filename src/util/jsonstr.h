/* A JSON string written the way jansson's json_dumps writes json_string(s)
 * (no jansson object for it): UTF-8 as it is, '"', '\\' and control
 * characters escaped. Used where JSON is assembled as text. */
#ifndef WA_UTIL_JSONSTR_H
#define WA_UTIL_JSONSTR_H

#include <stdbool.h>

#include "util/buf.h"
#include "wa/wa.h"

/* 0, or WA_EMALFORMED when s is not UTF-8 as jansson checks it (overlong,
 * surrogates, past U+10FFFF): nothing is written then. */
int wa_json_str(wa_writer *w, const char *s) WA_MUST_CHECK;
/* Would wa_json_str take s? */
bool wa_json_utf8_ok(const char *s);

#endif
