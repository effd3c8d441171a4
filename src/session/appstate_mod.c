/* The sans-IO part of app state's write side (appstate_mod.h): our own
 * mutations as WhatsApp's clients encode them (index, collection,
 * SyncActionValue, SyncActionData version; Baileys'
 * chatModificationToAppPatch agrees byte for byte, see
 * tests/unit/test_session_appstate_mod.c), the patch without a version as
 * clients send it, and the labels read back from the kept mutations. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "app_state.pb-c.h"
#include "pb.h"
#include "session/appstate_mod.h"
#include "session/internal.h"
#include "session/syncd.h"
#include "store/store.h"
#include "sync_action.pb-c.h"

/* appstate.c's collection order */
static const char *const mod_colls[] = {
	"critical_block", "critical_unblock_low", "regular_high", "regular_low", "regular",
};

static int mod_range(Wa__SyncActionValue__SyncActionMessageRange *r, int64_t last_ts)
{
	if (last_ts <= 0)
		return 0;
	r->has_last_message_timestamp = 1;
	r->last_message_timestamp = last_ts;
	return 1;
}

int wa_appstate_mod_build(const wa_chat_mod *md, int64_t now_ms, wa_appstate_mod *out)
{
	if (!md || !out)
		return WA_EINVAL;
	memset(out, 0, sizeof *out);
	bool need_msg = md->action == WA_CHAT_STAR || md->action == WA_CHAT_DELETE_MSG;
	bool need_label = md->action == WA_CHAT_LABEL || md->action == WA_LABEL_EDIT;
	bool no_chat = md->action == WA_LABEL_EDIT || md->action == WA_PUSH_NAME_SET;
	if ((md->action == WA_PUSH_NAME_SET && (!md->push_name || !*md->push_name ||
		strlen(md->push_name) >= WA_STORE_PUSH_NAME_MAX)) ||
	    (!no_chat && (!md->jid || !*md->jid || strlen(md->jid) >= WA_STORE_JID_MAX)) ||
	    (need_msg && (!md->msg_id || !*md->msg_id || strlen(md->msg_id) > 128)) ||
	    (need_label && (!md->label_id || !*md->label_id || strlen(md->label_id) > 64)) ||
	    (md->action == WA_LABEL_EDIT && md->on && (!md->label_name || strlen(md->label_name) > 256)))
		return WA_EINVAL;
	Wa__SyncActionValue v = WA__SYNC_ACTION_VALUE__INIT;
	Wa__SyncActionValue__ArchiveChatAction ar = WA__SYNC_ACTION_VALUE__ARCHIVE_CHAT_ACTION__INIT;
	Wa__SyncActionValue__PinAction pin = WA__SYNC_ACTION_VALUE__PIN_ACTION__INIT;
	Wa__SyncActionValue__MuteAction mu = WA__SYNC_ACTION_VALUE__MUTE_ACTION__INIT;
	Wa__SyncActionValue__MarkChatAsReadAction rd = WA__SYNC_ACTION_VALUE__MARK_CHAT_AS_READ_ACTION__INIT;
	Wa__SyncActionValue__StarAction st = WA__SYNC_ACTION_VALUE__STAR_ACTION__INIT;
	Wa__SyncActionValue__DeleteMessageForMeAction dm = WA__SYNC_ACTION_VALUE__DELETE_MESSAGE_FOR_ME_ACTION__INIT;
	Wa__SyncActionValue__ClearChatAction cl = WA__SYNC_ACTION_VALUE__CLEAR_CHAT_ACTION__INIT;
	Wa__SyncActionValue__DeleteChatAction dc = WA__SYNC_ACTION_VALUE__DELETE_CHAT_ACTION__INIT;
	Wa__SyncActionValue__LabelAssociationAction la = WA__SYNC_ACTION_VALUE__LABEL_ASSOCIATION_ACTION__INIT;
	Wa__SyncActionValue__LabelEditAction le = WA__SYNC_ACTION_VALUE__LABEL_EDIT_ACTION__INIT;
	Wa__SyncActionValue__PushNameSetting pn = WA__SYNC_ACTION_VALUE__PUSH_NAME_SETTING__INIT;
	Wa__SyncActionValue__SyncActionMessageRange rg = WA__SYNC_ACTION_VALUE__SYNC_ACTION_MESSAGE_RANGE__INIT;
	v.has_timestamp = 1;
	v.timestamp = now_ms;
	json_t *idx = NULL;
	int ci, api;
	/* index, collection and SyncActionData version as the official
	 * clients use them (Baileys' chatModificationToAppPatch agrees) */
	switch (md->action) {
	case WA_CHAT_ARCHIVE:
		ar.has_archived = 1, ar.archived = md->on;
		ar.message_range = mod_range(&rg, md->last_msg_ts) ? &rg : NULL;
		v.archive_chat_action = &ar;
		idx = json_pack("[ss]", "archive", md->jid), ci = 3, api = 3;
		break;
	case WA_CHAT_PIN:
		pin.has_pinned = 1, pin.pinned = md->on;
		v.pin_action = &pin;
		idx = json_pack("[ss]", "pin_v1", md->jid), ci = 3, api = 5;
		break;
	case WA_CHAT_MUTE:
		mu.has_muted = 1, mu.muted = md->on;
		if (md->on && md->mute_end)
			mu.has_mute_end_timestamp = 1, mu.mute_end_timestamp = md->mute_end;
		v.mute_action = &mu;
		idx = json_pack("[ss]", "mute", md->jid), ci = 2, api = 2;
		break;
	case WA_CHAT_READ:
		rd.has_read = 1, rd.read = md->on;
		rd.message_range = mod_range(&rg, md->last_msg_ts) ? &rg : NULL;
		v.mark_chat_as_read_action = &rd;
		idx = json_pack("[ss]", "markChatAsRead", md->jid), ci = 3, api = 3;
		break;
	case WA_CHAT_STAR:
		st.has_starred = 1, st.starred = md->on;
		v.star_action = &st;
		idx = json_pack("[sssss]", "star", md->jid, md->msg_id, md->msg_from_me ? "1" : "0", "0"), ci = 3,
		api = 2;
		break;
	case WA_CHAT_DELETE_MSG:
		dm.has_delete_media = 1, dm.delete_media = true;
		if (md->msg_ts > 0)
			dm.has_message_timestamp = 1, dm.message_timestamp = md->msg_ts;
		v.delete_message_for_me_action = &dm;
		idx = json_pack("[sssss]", "deleteMessageForMe", md->jid, md->msg_id, md->msg_from_me ? "1" : "0", "0"),
		ci = 2, api = 3;
		break;
	case WA_CHAT_CLEAR:
		cl.message_range = mod_range(&rg, md->last_msg_ts) ? &rg : NULL;
		v.clear_chat_action = &cl;
		idx = json_pack("[ssss]", "clearChat", md->jid, "1", "0"), ci = 2, api = 6;
		break;
	case WA_CHAT_DELETE:
		dc.message_range = mod_range(&rg, md->last_msg_ts) ? &rg : NULL;
		v.delete_chat_action = &dc;
		idx = json_pack("[sss]", "deleteChat", md->jid, "1"), ci = 2, api = 6;
		break;
	case WA_CHAT_LABEL:
		la.has_labeled = 1, la.labeled = md->on;
		v.label_association_action = &la;
		idx = json_pack("[sss]", "label_jid", md->label_id, md->jid), ci = 4, api = 3;
		break;
	case WA_LABEL_EDIT:
		le.name = (char *)(md->label_name ? md->label_name : "");
		le.has_color = 1, le.color = md->label_color;
		le.has_deleted = 1, le.deleted = !md->on;
		v.label_edit_action = &le;
		idx = json_pack("[ss]", "label_edit", md->label_id), ci = 4, api = 3;
		break;
	case WA_PUSH_NAME_SET:
		pn.name = (char *)md->push_name;
		v.push_name_setting = &pn;
		idx = json_pack("[s]", "setting_pushName"), ci = 0, api = 1;
		break;
	default:
		return WA_EINVAL;
	}
	if (!idx)
		return WA_ENOMEM;
	out->index_json = json_dumps(idx, JSON_COMPACT);
	json_decref(idx);
	out->value_len = protobuf_c_message_get_packed_size(&v.base);
	out->value = malloc(out->value_len ? out->value_len : 1);
	if (!out->index_json || !out->value) {
		wa_appstate_mod_clear(out);
		return WA_ENOMEM;
	}
	protobuf_c_message_pack(&v.base, out->value);
	out->ci = ci;
	out->collection = mod_colls[ci];
	out->api = api;
	return 0;
}

void wa_appstate_mod_clear(wa_appstate_mod *m)
{
	free(m->index_json);
	free(m->value);
	memset(m, 0, sizeof *m);
}

/* The patch as real clients send it: without a version (the server gives
 * it one from the collection's version attribute). */
int wa_appstate_strip_version(uint8_t **b, size_t *len)
{
	ProtobufCMessage *pb = NULL;
	if (wa_pb_unpack(&pb, &wa__syncd_patch__descriptor, *b, *len, WA_SYNCD_MAX_BYTES) != 0)
		return WA_EMALFORMED;
	Wa__SyncdPatch *p = (Wa__SyncdPatch *)pb;
	Wa__SyncdVersion *v = p->version;
	p->version = NULL;
	size_t n = protobuf_c_message_get_packed_size(pb);
	uint8_t *o = malloc(n ? n : 1);
	if (o) {
		protobuf_c_message_pack(pb, o);
		free(*b);
		*b = o;
		*len = n;
	}
	p->version = v;
	protobuf_c_message_free_unpacked(pb, NULL);
	return o ? 0 : WA_ENOMEM;
}

struct label_ctx {
	void (*fn)(void *user, const wa_label *l);
	void *user;
};

static int label_row(void *user, const char *index_json, const uint8_t *value, size_t value_len)
{
	struct label_ctx *c = user;
	json_t *idx = json_loads(index_json, 0, NULL);
	const char *id = json_string_value(json_array_get(idx, 1));
	ProtobufCMessage *pb = NULL;
	if (id && wa_pb_unpack(&pb, &wa__sync_action_value__descriptor, value, value_len, WA_SYNCD_MAX_BYTES) == 0) {
		const Wa__SyncActionValue__LabelEditAction *le = ((Wa__SyncActionValue *)pb)->label_edit_action;
		if (le) {
			wa_label l = {.id = id, .name = le->name ? le->name : "", .color = le->has_color ? le->color : 0,
				.predefined_id = le->has_predefined_id ? le->predefined_id : 0, .deleted = le->deleted};
			c->fn(c->user, &l);
		}
		protobuf_c_message_free_unpacked(pb, NULL);
	}
	json_decref(idx);
	return 0;
}

int wa_session_labels(wa_session *s, void (*fn)(void *user, const wa_label *l), void *user)
{
	if (!s || !fn)
		return WA_EINVAL;
	struct label_ctx c = {fn, user};
	return wa_store_app_state_mutation_each(s->store, s->instance_id, "regular", "[\"label_edit\",", label_row, &c);
}


struct chat_label_ctx {
	void (*fn)(void *user, const char *label_id, const char *chat_jid);
	void *user;
};

/* ["label_jid", label, chat] kept with labeled true */
static int chat_label_row(void *user, const char *index_json, const uint8_t *value, size_t value_len)
{
	struct chat_label_ctx *c = user;
	json_t *idx = json_loads(index_json, 0, NULL);
	const char *id = json_string_value(json_array_get(idx, 1));
	const char *chat = json_string_value(json_array_get(idx, 2));
	ProtobufCMessage *pb = NULL;
	if (id && chat &&
	    wa_pb_unpack(&pb, &wa__sync_action_value__descriptor, value, value_len, WA_SYNCD_MAX_BYTES) == 0) {
		const Wa__SyncActionValue__LabelAssociationAction *la = ((Wa__SyncActionValue *)pb)->label_association_action;
		if (la && la->labeled)
			c->fn(c->user, id, chat);
		protobuf_c_message_free_unpacked(pb, NULL);
	}
	json_decref(idx);
	return 0;
}

int wa_session_chat_labels(wa_session *s, void (*fn)(void *user, const char *label_id, const char *chat_jid),
	void *user)
{
	if (!s || !fn)
		return WA_EINVAL;
	struct chat_label_ctx c = {fn, user};
	return wa_store_app_state_mutation_each(s->store, s->instance_id, "regular", "[\"label_jid\",", chat_label_row,
		&c);
}
