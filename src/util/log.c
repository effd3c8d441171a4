/* The process-wide log sink: the one global libwa keeps (DESIGN.md). */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>

static wa_log_fn sink_fn;
static void *sink_user;
static enum wa_log_level max_level = WA_LOG_INFO;

static const char *const level_names[] = { "ERROR", "WARN", "INFO", "DEBUG", "TRACE" };

void wa_log_set_sink(wa_log_fn fn, void *user)
{
	sink_fn = fn;
	sink_user = user;
}

void wa_log_set_level(enum wa_log_level lvl) { max_level = lvl; }

int wa_log_enabled(enum wa_log_level level) { return level <= max_level; }

void wa_log(enum wa_log_level level, const char *module, const char *fmt, ...)
{
	if (level > max_level)
		return;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (sink_fn)
		sink_fn(level, module, msg, sink_user);
	else
		fprintf(stderr, "%s %s: %s\n", level_names[level], module, msg);
}
