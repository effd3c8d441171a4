/* Group commit of an offline-queue drain (drain.h says what and why). */
#include "session/drain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

#define MOD "drain"

typedef struct item {
	wa_node *delivery, *read, *hist;
	char chat[WA_STORE_JID_MAX];
	char id[WA_SESSION_ID_MAX];
	bool from_me;
	struct item *next;
} item;

struct wa_drain {
	wa_session *s;
	wa_stimer t_idle;
	bool t_ok;
	item *head, **tail;
	size_t n;
};

/* Best-effort sends and status updates, as on the one-commit path: a lost
 * receipt or status only means a redelivery is answered again. */
static void ign(int rc)
{
	(void)rc;
}

static void items_free(wa_drain *d)
{
	while (d->head) {
		item *it = d->head;
		d->head = it->next;
		wa_node_free(it->delivery);
		wa_node_free(it->read);
		wa_node_free(it->hist);
		free(it);
	}
	d->tail = &d->head;
	d->n = 0;
}

/* The store calls this once the group is committed (rc 0) or lost. */
static void on_group_end(void *user, int rc)
{
	wa_drain *d = user;
	wa_session *s = d->s;
	if (d->t_ok)
		wa_stimer_cancel(&d->t_idle);
	if (rc != 0) {
		WA_DEBUG(MOD, "[%lld] group commit of %zu message(s) failed (%s): no receipts, the server redelivers",
			(long long)s->instance_id, d->n, wa_errname(rc));
		items_free(d);
		return;
	}
	size_t n = d->n;
	while (d->head) {
		item *it = d->head;
		d->head = it->next;
		/* as on the one-commit path, ACKED follows the send attempt
		 * (a send on a closing connection fails; the redelivery after
		 * the reconnect is then answered from the stored row) */
		if (it->delivery)
			ign(wa_conn_send_node(s, it->delivery));
		if (it->read)
			ign(wa_conn_send_node(s, it->read));
		if (it->hist)
			ign(wa_conn_send_node(s, it->hist));
		ign(wa_store_msg_set_status(s->store, s->instance_id, it->chat, it->id, it->from_me,
			WA_STORE_MSG_ACKED));
		wa_node_free(it->delivery);
		wa_node_free(it->read);
		wa_node_free(it->hist);
		free(it);
	}
	d->tail = &d->head;
	d->n = 0;
	WA_DEBUG(MOD, "[%lld] group commit: %zu message(s)", (long long)s->instance_id, n);
}

static void on_idle(wa_session *s)
{
	wa_drain_flush(wa_msg_drain(s));
}

int wa_drain_new(wa_session *s, wa_drain **out)
{
	wa_drain *d = calloc(1, sizeof *d);
	if (!d)
		return WA_ENOMEM;
	d->s = s;
	d->tail = &d->head;
	int rc = wa_stimer_init(s, &d->t_idle, on_idle);
	if (rc != 0) {
		free(d);
		return rc;
	}
	d->t_ok = true;
	*out = d;
	return 0;
}

void wa_drain_free(wa_drain *d)
{
	if (!d)
		return;
	wa_drain_close(d);
	if (d->t_ok)
		wa_stimer_clear(&d->t_idle);
	items_free(d);
	free(d);
}

int wa_drain_unit_begin(wa_drain *d)
{
	wa_store *st = d->s->store;
	if (wa_store_group_active(st) && wa_store_tx_depth(st) != 1)
		return WA_ESTATE;
	int rc = wa_store_group_open(st, on_group_end, d);
	return rc ? rc : wa_store_unit_begin(st);
}

int wa_drain_unit_end(wa_drain *d, int rc)
{
	return wa_store_unit_end(d->s->store, rc);
}

void wa_drain_defer(wa_drain *d, wa_node *delivery, wa_node *read, wa_node *hist, const char *chat,
	const char *id, bool from_me)
{
	item *it = calloc(1, sizeof *it);
	if (!it || !wa_store_group_active(d->s->store)) {
		/* no group to wait for (it was flushed inside the unit's own
		 * writes, or memory ran out): the message is durable, send now */
		if (delivery)
			ign(wa_conn_send_node(d->s, delivery));
		if (read)
			ign(wa_conn_send_node(d->s, read));
		if (hist)
			ign(wa_conn_send_node(d->s, hist));
		ign(wa_store_msg_set_status(d->s->store, d->s->instance_id, chat, id, from_me, WA_STORE_MSG_ACKED));
		wa_node_free(delivery);
		wa_node_free(read);
		wa_node_free(hist);
		free(it);
		return;
	}
	it->delivery = delivery;
	it->read = read;
	it->hist = hist;
	snprintf(it->chat, sizeof it->chat, "%s", chat);
	snprintf(it->id, sizeof it->id, "%s", id);
	it->from_me = from_me;
	*d->tail = it;
	d->tail = &it->next;
	d->n++;
}

void wa_drain_after(wa_drain *d)
{
	if (!wa_store_group_active(d->s->store))
		return;
	if (d->n >= WA_DRAIN_MAX)
		wa_drain_flush(d);
	else if (d->t_ok)
		wa_stimer_set(&d->t_idle, WA_DRAIN_IDLE_MS);
}

void wa_drain_flush(wa_drain *d)
{
	if (d && wa_store_group_active(d->s->store))
		(void)wa_store_group_flush(d->s->store);
}

void wa_drain_close(wa_drain *d)
{
	if (!d)
		return;
	wa_drain_flush(d);
	if (d->t_ok)
		wa_stimer_cancel(&d->t_idle);
}

bool wa_drain_active(const wa_drain *d)
{
	return d && wa_store_group_active(d->s->store);
}

size_t wa_drain_waiting(const wa_drain *d)
{
	return d ? d->n : 0;
}
