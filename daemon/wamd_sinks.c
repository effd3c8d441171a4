/* The sinks of wamd_events.h: the streams and waiting requests above,
 * reached from the tenants, routes and webhooks below them. */
#include "wamd_events.h"

static struct wamd_sinks sinks;

void wamd_sinks_set(const struct wamd_sinks *s)
{
	sinks = *s;
}

void wamd_stream_broadcast(struct wamd_tenant *t, const char *text)
{
	if (sinks.stream_broadcast)
		sinks.stream_broadcast(t, text);
}

void wamd_stream_recheck(struct wamd_tenant *t, bool all, const char *reason)
{
	if (sinks.stream_recheck)
		sinks.stream_recheck(t, all, reason);
}

void wamd_waiters_changed(struct wamd_tenant *t)
{
	if (sinks.tenant_changed)
		sinks.tenant_changed(t);
}

void wamd_stream_relay(struct wamd_tenant *t, const char *event, const char *text)
{
	if (sinks.stream_relay)
		sinks.stream_relay(t, event, text);
}

void wamd_stream_relayed(struct wamd *d, const char *instance_id, const char *text)
{
	if (sinks.stream_relayed)
		sinks.stream_relayed(d, instance_id, text);
}

void wamd_stream_recheck_id(struct wamd *d, const char *instance_id)
{
	if (sinks.stream_recheck_id)
		sinks.stream_recheck_id(d, instance_id);
}

bool wamd_streams_elsewhere(struct wamd *d)
{
	return sinks.streams_elsewhere && sinks.streams_elsewhere(d);
}

uint64_t wamd_events_relayed(struct wamd *d)
{
	return sinks.events_relayed ? sinks.events_relayed(d) : 0;
}
