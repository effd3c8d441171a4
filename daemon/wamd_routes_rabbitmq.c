/* Evolution's RabbitMQ controller: /rabbitmq/set and /rabbitmq/find. The
 * row lives in the instance document as "rabbitmq" {enabled, events[]}; the
 * output itself is wamd_broker.c. As in Evolution, only the events listed
 * are published to the instance's exchange. */
#include <stdio.h>
#include <string.h>

#include "wamd_routes.h"

static json_t *row_out(struct wamd_tenant *t, json_t *r)
{
	json_t *o = json_deep_copy(r);
	json_object_set(o, "instanceId", json_object_get(t->doc, "id"));
	return o;
}

void wamd_h_rabbitmq_set(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	if (!c->d->cfg.amqp_uri || !*c->d->cfg.amqp_uri) {
		wamd_reply_error(c, 400, json_pack("[s]", "Rabbitmq is disabled"));
		return;
	}
	/* Evolution's body nests the row under "rabbitmq"; a flat one is accepted */
	json_t *in = json_object_get(body, "rabbitmq");
	if (!json_is_object(in))
		in = body;
	json_t *en = json_object_get(in, "enabled"), *ev = json_object_get(in, "events");
	if (!json_is_boolean(en)) {
		wamd_reply_error(c, 400, json_pack("[s]", "rabbitmq.enabled must be a boolean"));
		return;
	}
	if (ev && !json_is_array(ev)) {
		wamd_reply_error(c, 400, json_pack("[s]", "rabbitmq.events must be an array of event names"));
		return;
	}
	json_t *events = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(json_is_true(en) ? ev : NULL, i, v) {
		const char *s = json_string_value(v);
		if (!s || !wamd_event_known(s)) {
			char msg[160];
			snprintf(msg, sizeof msg, "unknown event %.100s", s ? s : "(not a string)");
			json_decref(events);
			wamd_reply_error(c, 400, json_pack("[s]", msg));
			return;
		}
		json_array_append(events, v);
	}
	char ts[32];
	wamd_iso_time(wamd_now_ms(), ts);
	json_t *old = json_object_get(t->doc, "rabbitmq");
	json_t *created = json_is_object(old) ? json_object_get(old, "createdAt") : NULL;
	json_t *row = json_object();
	json_object_set_new(row, "enabled", json_boolean(json_is_true(en)));
	json_object_set_new(row, "events", events);
	json_object_set_new(row, "createdAt", created ? json_incref(created) : json_string(ts));
	json_object_set_new(row, "updatedAt", json_string(ts));
	json_object_set_new(t->doc, "rabbitmq", row);
	if (wamd_tenant_save(t) != 0) {
		wamd_reply_error(c, 500, json_string("could not store the rabbitmq settings"));
		return;
	}
	wamd_webhook_kick(t);
	wamd_reply_json(c, 201, row_out(t, row));
}

void wamd_h_rabbitmq_find(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	(void)body;
	json_t *r = json_object_get(t->doc, "rabbitmq");
	wamd_reply_json(c, 200, json_is_object(r) ? row_out(t, r) : json_null());
}
