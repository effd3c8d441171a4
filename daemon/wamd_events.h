/* How events flow back up the daemon, each through one interface that
 * wamd_main.c wires at start (so no lower file names a higher one):
 *  - the engine glue (wamd_engine.c) reports a session's events through
 *    struct wamd_engine_events, which wamd_main.c fills with the
 *    handlers of wamd_events_conn.c, wamd_events_msg.c and
 *    wamd_events_contacts.c (tenant state, Evolution payloads, webhooks),
 *    the metrics and the number-lookup route;
 *  - tenants, routes and webhooks tell the /ws/events streams
 *    (wamd_http.c) and the waiting requests (wamd_waits.c) through
 *    the sinks below (wamd_sinks.c). */
#ifndef WAMD_EVENTS_H
#define WAMD_EVENTS_H

#include <string.h>

#include "wamd.h"

struct wamd_engine_events {
	void (*state)(struct wamd_tenant *t, enum wa_conn_state st, enum wa_disconnect_reason r, const char *detail);
	void (*qr)(struct wamd_tenant *t, const char *qr, unsigned index, unsigned timeout_s);
	void (*pairing_code)(struct wamd_tenant *t, const char *code);
	void (*paired)(struct wamd_tenant *t, const char *jid, const char *lid, const char *push_name);
	void (*logged_out)(struct wamd_tenant *t);
	void (*message)(struct wamd_tenant *t, const wa_msg_key *key, const char *push_name, int64_t ts,
			const char *message_type, const char *text, const char *message_json);
	void (*status)(struct wamd_tenant *t, const wa_msg_key *key, int status, int64_t ts, int error,
		       const char *reason, bool recorded);
	/* inside libwa's transaction (wa_session_config.status_in_tx) */
	void (*status_in_tx)(struct wamd_tenant *t, const char *id, bool from_me, enum wa_msg_status status);
	void (*presence)(struct wamd_tenant *t, const char *jid, const char *presence, int64_t last_seen);
	void (*contact)(struct wamd_tenant *t, const char *jid, const char *lid, const char *push_name);
	void (*wire)(struct wamd_tenant *t, const char *id);               /* a send reached the socket */
	/* app state: a chat setting changed on another device (each -1 when not
	 * touched; wa_event.u.chat), our push name learned */
	void (*chat)(struct wamd_tenant *t, const struct wamd_chat_ev *c);
	/* app state: a label edited (chat_jid NULL) or (un)assigned (labeled 1 / 0) */
	void (*label)(struct wamd_tenant *t, const char *id, const char *name, int32_t color, int32_t predefined_id,
		      bool deleted, const char *chat_jid, const char *msg_id, int labeled);
	/* wamd_tenant_chat_modify answered: err 0 applied, else a WA_E* code and words */
	void (*chat_mod_done)(void *ticket, int err, const char *detail);
	/* wamd_tenant_profile_picture answered: url NULL when none (or err) */
	void (*picture_done)(void *ticket, int err, const char *url);
	/* wamd_tenant_profile answered: json (borrowed) as libwa's wa_profile_fn */
	void (*profile_done)(void *ticket, int err, int code, const char *json);
	void (*push_name)(struct wamd_tenant *t, const char *name);
	/* a committed history-sync batch (wa_event.u.history); runs inside
	 * libwa's transaction, so the records it stores commit with it */
	void (*history)(struct wamd_tenant *t, const char *sync_type, unsigned chunk_order, unsigned progress,
		const char *chats_json, const char *contacts_json, const wa_history_msg *msgs, size_t n_msgs, bool last);
	/* an on-demand history request (wamd_tenant_fetch_history) the phone
	 * did not answer in time */
	void (*history_demand)(struct wamd_tenant *t, const char *request_id, const char *chat);
	void (*numbers_done)(void *ticket, int err, json_t *result);        /* wamd_tenant_check_numbers */
	/* a group changed: participants (array of user JIDs, borrowed), pns
	 * (beside each, a LID's phone-number JID or null; borrowed), info
	 * (Evolution's group object, borrowed) or NULL, value: the change's
	 * detail (wa_event.u.group.value) or NULL */
	void (*group)(struct wamd_tenant *t, const char *jid, const char *action, const char *author,
		      json_t *participants, json_t *pns, json_t *info, const char *value);
	/* wamd_tenant_group answered: result (owned) is an array of group
	 * objects or of {jid, status}; code: the server's error code */
	void (*group_done)(void *ticket, int err, int code, json_t *result);
	/* a call offer or status change: Baileys' call object (borrowed) */
	void (*call)(struct wamd_tenant *t, json_t *call);
};
/* Where wamd_engine.c sends events (wamd_main.c sets it before any tenant starts). */
void wamd_engine_set_events(const struct wamd_engine_events *ev);

/* For the event files, from wamd_tenant_core.c: replaces a tenant's string
 * field with a copy of v (NULL clears it); the instance's uuid ("" if none). */
void wamd_tenant_set_str(char **dst, const char *v);
const char *wamd_instance_uuid(struct wamd_tenant *t);

struct wamd_sinks {
	void (*stream_broadcast)(struct wamd_tenant *t, const char *text); /* wamd_ws_broadcast */
	void (*stream_recheck)(struct wamd_tenant *t, bool all, const char *reason); /* wamd_ws_recheck */
	void (*tenant_changed)(struct wamd_tenant *t);                      /* wamd_api_tenant_changed */
	/* cluster mode: an event to the other nodes' streams, and one they relayed here */
	void (*stream_relay)(struct wamd_tenant *t, const char *event, const char *text); /* wamd_cluster_event */
	void (*stream_relayed)(struct wamd *d, const char *instance_id, const char *text); /* wamd_ws_broadcast_id */
	/* another node revoked a token of that instance or deleted it */
	void (*stream_recheck_id)(struct wamd *d, const char *instance_id); /* wamd_ws_recheck_id */
	bool (*streams_elsewhere)(struct wamd *d);     /* wamd_cluster_streams_elsewhere */
	uint64_t (*events_relayed)(struct wamd *d);    /* wamd_cluster_events_relayed */
};
void wamd_sinks_set(const struct wamd_sinks *s);
/* Each does nothing while its sink is unset (the unit tests). */
void wamd_stream_broadcast(struct wamd_tenant *t, const char *text);
void wamd_stream_recheck(struct wamd_tenant *t, bool all, const char *reason);
void wamd_waiters_changed(struct wamd_tenant *t);
void wamd_stream_relay(struct wamd_tenant *t, const char *event, const char *text);
void wamd_stream_relayed(struct wamd *d, const char *instance_id, const char *text);
void wamd_stream_recheck_id(struct wamd *d, const char *instance_id);
bool wamd_streams_elsewhere(struct wamd *d); /* false while unset */
uint64_t wamd_events_relayed(struct wamd *d);

/* Baileys' key.addressingMode: "lid" for a LID chat, or for a group message
 * whose author the server named by LID (a LID-addressed group). */
static inline bool wamd_key_is_lid(const wa_msg_key *key)
{
	if (key->participant)
		return strstr(key->participant, "@lid") != NULL;
	return key->remote_jid == NULL;
}

#endif
