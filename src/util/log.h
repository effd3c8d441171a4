/* Internal logging front-end onto the sink in wa.h. src/ logs at DEBUG at
 * most (library code returns errors; the daemon logs them). */
#ifndef WA_UTIL_LOG_H
#define WA_UTIL_LOG_H

#include "wa/wa.h"

void wa_log(enum wa_log_level level, const char *module, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int wa_log_enabled(enum wa_log_level level);

#define WA_DEBUG(mod, ...) do { if (wa_log_enabled(WA_LOG_DEBUG)) wa_log(WA_LOG_DEBUG, mod, __VA_ARGS__); } while (0)

#endif
