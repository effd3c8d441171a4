/* src/session/gate.c: connection admission shared by many sessions
 * (wa_gate in include/wa/session.h). A counter of held slots and a FIFO
 * of sessions waiting for one, linked through the sessions themselves so
 * queueing never allocates. conn.c asks for a slot before opening a
 * socket and gives it back on READY, PAIRING and in teardown; a freed
 * slot goes to the head of the queue, which is woken through its own
 * zero-delay timer rather than called directly, so a synchronous failure
 * of the next session cannot recurse through the whole queue. */
#include <stdlib.h>

#include "session/internal.h"
#include "util/log.h"

#define MOD "session"

struct wa_gate {
	unsigned max;
	unsigned active;
	unsigned peak;
	unsigned waiting;
	uint64_t admitted;
	wa_session *head, *tail; /* FIFO of waiting sessions */
};

int wa_gate_new(unsigned max_handshakes, wa_gate **out)
{
	if (!out || max_handshakes == 0)
		return WA_EINVAL;
	wa_gate *g = calloc(1, sizeof *g);
	if (!g)
		return WA_ENOMEM;
	g->max = max_handshakes;
	*out = g;
	return 0;
}

void wa_gate_free(wa_gate *g)
{
	free(g);
}

void wa_gate_get_stats(const wa_gate *g, wa_gate_stats *out)
{
	if (!g || !out)
		return;
	*out = (wa_gate_stats){.max = g->max, .active = g->active, .peak = g->peak,
		.waiting = g->waiting, .admitted = g->admitted};
}

static void grant(wa_gate *g, wa_session *s)
{
	g->active++;
	g->admitted++;
	if (g->active > g->peak)
		g->peak = g->active;
	s->gate_held = true;
}

static void unlink_waiter(wa_gate *g, wa_session *s)
{
	if (s->gate_prev)
		s->gate_prev->gate_next = s->gate_next;
	else
		g->head = s->gate_next;
	if (s->gate_next)
		s->gate_next->gate_prev = s->gate_prev;
	else
		g->tail = s->gate_prev;
	s->gate_next = s->gate_prev = NULL;
	s->gate_queued = false;
	g->waiting--;
}

/* Hands free slots to the head of the queue; each admitted session
 * connects from its own timer. */
static void admit_waiters(wa_gate *g)
{
	while (g->head && g->active < g->max) {
		wa_session *s = g->head;
		unlink_waiter(g, s);
		grant(g, s);
		wa_stimer_set(&s->t_backoff, 0);
	}
}

int wa_gate_set_max(wa_gate *g, unsigned max_handshakes)
{
	if (!g || max_handshakes == 0)
		return WA_EINVAL;
	g->max = max_handshakes;
	admit_waiters(g);
	return 0;
}

bool wa_gate_acquire(wa_session *s)
{
	wa_gate *g = s->gate;
	if (!g || s->gate_held)
		return true;
	if (s->gate_queued)
		return false;
	/* FIFO: a newcomer never overtakes a waiting session */
	if (!g->head && g->active < g->max) {
		grant(g, s);
		return true;
	}
	s->gate_prev = g->tail;
	s->gate_next = NULL;
	if (g->tail)
		g->tail->gate_next = s;
	else
		g->head = s;
	g->tail = s;
	s->gate_queued = true;
	g->waiting++;
	WA_DEBUG(MOD, "[%lld] waiting for a handshake slot (%u held, %u waiting)",
		(long long)s->instance_id, g->active, g->waiting);
	return false;
}

void wa_gate_leave(wa_session *s)
{
	wa_gate *g = s->gate;
	if (!g)
		return;
	if (s->gate_queued)
		unlink_waiter(g, s);
	if (s->gate_held) {
		s->gate_held = false;
		g->active--;
		admit_waiters(g);
	}
}
