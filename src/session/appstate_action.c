/* src/session/appstate_action.c: app state as the store holds it, shared by
 * both sides of app-state sync (appstate_int.h): the sync keys and value
 * MACs the syncd codec asks for, and what one mutation means: its rows
 * (inside the transaction that applies it) and its event. The read side
 * (appstate.c) runs it for each mutation of a verified patch or snapshot,
 * the write side (appstate_push.c) for our own mutation once accepted. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "message.pb-c.h"
#include "pb.h"
#include "session/appstate_chat.h"
#include "session/appstate_int.h"
#include "util/log.h"

/* ---- the decoder's view of the store ---- */

static int get_keys(void *user, const uint8_t *id, size_t len, wa_syncd_keys *out)
{
	wa_session *s = user;
	uint8_t *d = NULL;
	size_t dl = 0;
	int rc = wa_store_app_state_key_load(s->store, s->instance_id, id, len, &d, &dl);
	if (rc != 0)
		return rc;
	ProtobufCMessage *pb = NULL;
	rc = wa_pb_unpack(&pb, &wa__message__app_state_sync_key_data__descriptor, d, dl, 4096);
	wa_memzero(d, dl);
	free(d);
	if (rc != 0)
		return WA_EMALFORMED;
	const Wa__Message__AppStateSyncKeyData *kd = (const Wa__Message__AppStateSyncKeyData *)pb;
	rc = kd->has_key_data && kd->key_data.len ? wa_syncd_expand_keys(kd->key_data.data, kd->key_data.len, out)
		: WA_EMALFORMED;
	protobuf_c_message_free_unpacked(pb, NULL);
	return rc;
}

int wa_as_get_value_mac(void *user, const uint8_t index_mac[32], uint8_t out[32])
{
	struct wa_as_mac_ctx *c = user;
	return wa_store_app_state_mac_get(c->s->store, c->s->instance_id, c->name, index_mac, out);
}

int wa_as_get_keys(void *user, const uint8_t *id, size_t len, wa_syncd_keys *out)
{
	return get_keys(((struct wa_as_mac_ctx *)user)->s, id, len, out);
}

/* ---- applying ---- */

void wa_as_action_parse(const wa_syncd_mutation *m, json_t **idx, wa_as_action *a)
{
	memset(a, 0, sizeof *a);
	*idx = json_loads(m->index_json, 0, NULL);
	if (json_is_array(*idx)) {
		a->type = json_string_value(json_array_get(*idx, 0));
		a->jid = json_string_value(json_array_get(*idx, 1));
		a->arg2 = json_string_value(json_array_get(*idx, 2));
		bool lm = a->type && strcmp(a->type, "label_message") == 0;
		a->msg_id = json_string_value(json_array_get(*idx, lm ? 3 : 2));
		const char *fm = json_string_value(json_array_get(*idx, 3));
		a->from_me = !lm && fm && strcmp(fm, "1") == 0;
	}
	ProtobufCMessage *pb = NULL;
	if (wa_pb_unpack(&pb, &wa__sync_action_value__descriptor, m->value, m->value_len, WA_SYNCD_MAX_BYTES) == 0)
		a->v = (Wa__SyncActionValue *)pb;
}

void wa_as_action_free(json_t *idx, wa_as_action *a)
{
	json_decref(idx);
	if (a->v)
		protobuf_c_message_free_unpacked(&a->v->base, NULL);
}

/* Store side of one mutation (inside the patch's transaction). *name_set:
 * the push name changed. */
int wa_as_apply_store(wa_session *s, const char *coll, const wa_syncd_mutation *m, const wa_as_action *a,
	bool *name_set)
{
	int rc = m->op == WA_SYNCD_SET
		? wa_store_app_state_mutation_put(s->store, s->instance_id, coll, m->index_mac, m->value_mac,
			  m->index_json, m->value, m->value_len)
		: wa_store_app_state_mutation_del(s->store, s->instance_id, coll, m->index_mac);
	if (rc != 0 || m->op != WA_SYNCD_SET || !a->type || !a->v)
		return rc;
	if (strcmp(a->type, "setting_pushName") == 0 && a->v->push_name_setting &&
	    a->v->push_name_setting->name && s->creds) {
		const char *n = a->v->push_name_setting->name;
		if (strlen(n) < sizeof s->creds->push_name && strcmp(n, s->creds->push_name) != 0) {
			snprintf(s->creds->push_name, sizeof s->creds->push_name, "%s", n);
			rc = wa_store_creds_save(s->store, s->instance_id, s->creds);
			*name_set = true;
		}
	} else if (strcmp(a->type, "contact") == 0 && a->jid && a->v->contact_action) {
		const char *fn = a->v->contact_action->full_name;
		rc = wa_store_contact_set_full_name(s->store, s->instance_id, a->jid, fn && *fn ? fn : NULL);
	} else if (a->jid) {
		rc = wa_appstate_chat_row(s->store, s->instance_id, a->type, a->jid, a->v);
	}
	return rc;
}

void wa_as_emit_action(wa_session *s, const char *coll, const wa_syncd_mutation *m, const wa_as_action *a)
{
	const Wa__SyncActionValue *v = a->v;
	if (m->op != WA_SYNCD_SET || !a->type || !v) {
		WA_DEBUG("appstate", "[%lld] %s: %s %s kept", (long long)s->instance_id, coll,
			m->op == WA_SYNCD_SET ? "set" : "remove", m->index_json);
		return;
	}
	wa_event ev = {.type = WA_EV_CHAT_UPDATE};
	ev.u.chat.jid = a->jid;
	ev.u.chat.archived = ev.u.chat.pinned = ev.u.chat.muted = ev.u.chat.read = -1;
	ev.u.chat.starred = -1;
	ev.u.chat.timestamp = v->has_timestamp ? v->timestamp : 0;
	const char *t = a->type;
	if (strcmp(t, "setting_pushName") == 0 && v->push_name_setting && v->push_name_setting->name) {
		ev.type = WA_EV_PUSH_NAME;
		ev.u.push_name.name = v->push_name_setting->name;
	} else if (strcmp(t, "contact") == 0 && a->jid && v->contact_action) {
		bool lid = strstr(a->jid, "@lid") != NULL;
		ev.type = WA_EV_CONTACT;
		memset(&ev.u.contact, 0, sizeof ev.u.contact);
		ev.u.contact.jid = lid ? v->contact_action->pn_jid : a->jid;
		ev.u.contact.lid = lid ? a->jid : v->contact_action->lid_jid;
		ev.u.contact.full_name = v->contact_action->full_name;
		ev.u.contact.first_name = v->contact_action->first_name;
	} else if (strcmp(t, "archive") == 0 && a->jid && v->archive_chat_action) {
		ev.u.chat.archived = v->archive_chat_action->archived;
	} else if (strcmp(t, "pin_v1") == 0 && a->jid && v->pin_action) {
		ev.u.chat.pinned = v->pin_action->pinned;
		ev.u.chat.pinned_at = v->pin_action->pinned && v->has_timestamp ? v->timestamp / 1000 : 0;
	} else if (strcmp(t, "mute") == 0 && a->jid && v->mute_action) {
		ev.u.chat.muted = v->mute_action->muted;
		ev.u.chat.mute_end = v->mute_action->muted && v->mute_action->has_mute_end_timestamp
			? v->mute_action->mute_end_timestamp : 0;
	} else if (strcmp(t, "markChatAsRead") == 0 && a->jid && v->mark_chat_as_read_action) {
		ev.u.chat.read = v->mark_chat_as_read_action->read;
	} else if (strcmp(t, "star") == 0 && a->jid && a->msg_id && v->star_action) {
		ev.u.chat.msg_id = a->msg_id;
		ev.u.chat.msg_from_me = a->from_me;
		ev.u.chat.starred = v->star_action->starred;
	} else if (strcmp(t, "deleteMessageForMe") == 0 && a->jid && a->msg_id) {
		ev.u.chat.msg_id = a->msg_id;
		ev.u.chat.msg_from_me = a->from_me;
		ev.u.chat.deleted_msg = 1;
	} else if (strcmp(t, "clearChat") == 0 && a->jid) {
		ev.u.chat.cleared = 1;
	} else if (strcmp(t, "deleteChat") == 0 && a->jid) {
		ev.u.chat.deleted = 1;
	} else if (strcmp(t, "label_edit") == 0 && a->jid && v->label_edit_action) {
		/* index ["label_edit", id]: a->jid holds the label id */
		const Wa__SyncActionValue__LabelEditAction *le = v->label_edit_action;
		ev.type = WA_EV_LABEL;
		memset(&ev.u.label, 0, sizeof ev.u.label);
		ev.u.label.id = a->jid;
		ev.u.label.name = le->name;
		ev.u.label.color = le->has_color ? le->color : 0;
		ev.u.label.predefined_id = le->has_predefined_id ? le->predefined_id : 0;
		ev.u.label.deleted = le->deleted;
		ev.u.label.labeled = -1;
	} else if ((strcmp(t, "label_jid") == 0 || strcmp(t, "label_message") == 0) && a->jid && a->arg2 &&
		   v->label_association_action) {
		/* ["label_jid", label, chat] / ["label_message", label, chat, msg, ...] */
		ev.type = WA_EV_LABEL;
		memset(&ev.u.label, 0, sizeof ev.u.label);
		ev.u.label.id = a->jid;
		ev.u.label.chat_jid = a->arg2;
		ev.u.label.msg_id = t[6] == 'm' ? a->msg_id : NULL;
		ev.u.label.labeled = v->label_association_action->labeled;
	} else {
		WA_DEBUG("appstate", "[%lld] %s: %s kept, not acted on", (long long)s->instance_id, coll,
			m->index_json);
		return;
	}
	wa_session_emit(s, &ev);
}
