/* src/session/iq.c: iq id -> waiter correlation with deadlines (one file,
 * as whatsmeow request.go). The table is a short singly linked list: a
 * session has a handful of iqs in flight (pre-key count, passive, pings),
 * so linear search beats any index here. */
#include <stdlib.h>
#include <string.h>

#include "session/internal.h"
#include "util/log.h"

void wa_iq_table_init(wa_iq_table *t)
{
	t->head = NULL;
	t->n = 0;
}

int wa_iq_table_add(wa_iq_table *t, const char *id, int64_t deadline_ms, wa_iq_fn fn, void *user)
{
	size_t idlen = strlen(id);
	if (idlen == 0 || idlen >= WA_IQ_ID_MAX || t->n >= WA_IQ_MAX_PENDING)
		return WA_ETOOBIG;
	for (wa_iq_pending *p = t->head; p; p = p->next)
		if (strcmp(p->id, id) == 0)
			return WA_EEXIST;
	wa_iq_pending *p = calloc(1, sizeof *p);
	if (!p)
		return WA_ENOMEM;
	memcpy(p->id, id, idlen + 1);
	p->deadline_ms = deadline_ms;
	p->fn = fn;
	p->user = user;
	p->next = t->head;
	t->head = p;
	t->n++;
	return 0;
}

static wa_iq_pending *take_where(wa_iq_table *t, const char *id, int64_t now_ms, bool any)
{
	for (wa_iq_pending **pp = &t->head; *pp; pp = &(*pp)->next) {
		wa_iq_pending *p = *pp;
		bool hit = any || (id ? strcmp(p->id, id) == 0 : p->deadline_ms <= now_ms);
		if (hit) {
			*pp = p->next;
			p->next = NULL;
			t->n--;
			return p;
		}
	}
	return NULL;
}

wa_iq_pending *wa_iq_table_take(wa_iq_table *t, const char *id)
{
	return id ? take_where(t, id, 0, false) : NULL;
}

wa_iq_pending *wa_iq_table_take_expired(wa_iq_table *t, int64_t now_ms)
{
	return take_where(t, NULL, now_ms, false);
}

wa_iq_pending *wa_iq_table_take_any(wa_iq_table *t)
{
	return take_where(t, NULL, 0, true);
}

int64_t wa_iq_table_next_deadline(const wa_iq_table *t)
{
	int64_t d = INT64_MAX;
	for (const wa_iq_pending *p = t->head; p; p = p->next)
		if (p->deadline_ms < d)
			d = p->deadline_ms;
	return d;
}

static void rearm(wa_session *s)
{
	int64_t next = wa_iq_table_next_deadline(&s->iq);
	if (next == INT64_MAX) {
		wa_stimer_cancel(&s->t_iq);
		return;
	}
	int64_t now = s->drv->now_ms(s->drv_ctx);
	int64_t d = next > now ? next - now : 0;
	wa_stimer_set(&s->t_iq, (uint32_t)(d > UINT32_MAX ? UINT32_MAX : d));
}

int wa_iq_send(wa_session *s, wa_node *iq, uint32_t timeout_ms, wa_iq_fn fn, void *user)
{
	const char *type = wa_node_attr(iq, "type");
	if (strcmp(wa_node_tag(iq), "iq") != 0 || !type ||
	    (strcmp(type, "get") != 0 && strcmp(type, "set") != 0))
		return WA_EINVAL;
	if (!s->nt)
		return WA_ESTATE;
	int rc;
	if (!wa_node_attr(iq, "id")) {
		char id[WA_SESSION_ID_MAX];
		wa_session_new_id(s, id);
		if ((rc = wa_node_set_attr(iq, "id", id)) != 0)
			return rc;
	}
	const char *id = wa_node_attr(iq, "id");
	if (fn) {
		int64_t now = s->drv->now_ms(s->drv_ctx);
		rc = wa_iq_table_add(&s->iq, id, now + (timeout_ms ? timeout_ms : WA_SESSION_IQ_TIMEOUT_MS),
			fn, user);
		if (rc)
			return rc;
	}
	rc = wa_conn_send_node(s, iq);
	if (rc) {
		free(wa_iq_table_take(&s->iq, id));
		return rc;
	}
	if (fn)
		rearm(s);
	return 0;
}

int wa_iq_handle_response(wa_session *s, const wa_node *iq)
{
	const char *id = wa_node_attr(iq, "id");
	const char *type = wa_node_attr(iq, "type");
	wa_iq_pending *p = wa_iq_table_take(&s->iq, id);
	if (!p)
		return 0;
	int err = (type && strcmp(type, "result") == 0) ? 0 : WA_EPROTO;
	p->fn(s, err, iq, p->user);
	free(p);
	rearm(s);
	return 1;
}

void wa_iq_fail_all(wa_session *s, int err)
{
	wa_iq_pending *p;
	while ((p = wa_iq_table_take_any(&s->iq)) != NULL) {
		p->fn(s, err, NULL, p->user);
		free(p);
	}
	wa_stimer_cancel(&s->t_iq);
}

void wa_iq_on_timer(wa_session *s)
{
	int64_t now = s->drv->now_ms(s->drv_ctx);
	wa_iq_pending *p;
	while ((p = wa_iq_table_take_expired(&s->iq, now)) != NULL) {
		WA_DEBUG("session", "[%lld/%u] iq %s timed out", (long long)s->instance_id, s->gen, p->id);
		p->fn(s, WA_ETIMEOUT, NULL, p->user);
		free(p);
	}
	rearm(s);
}
