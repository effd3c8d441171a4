/* Edits and revokes of messages (a protocolMessage, bare as Baileys sends
 * it or wrapped in editedMessage as whatsmeow does): the stored record is
 * changed in place, its earlier contents kept in "editHistory", and the
 * events Evolution emits for them go out: MESSAGES_EDITED (the protocol
 * message) and MESSAGES_UPDATE for an edit, MESSAGES_DELETE (the key) for
 * a revoke. */
#include <stdlib.h>
#include <string.h>

#include "wamd.h"
#include "wamd_events.h"

/* The stored record of (id, from_me), or NULL. */
static json_t *load_record(struct wamd_tenant *t, const char *id, bool from_me, int *status_out)
{
	wa_store_mrec_query q = { .key_id = id, .from_me = from_me ? 1 : 0, .limit = 1 };
	wa_store_mrec_row *rows = NULL;
	size_t n = 0;
	int64_t total = 0;
	if (wa_store_msgrec_find(t->d->store, t->id, &q, &rows, &n, &total) != 0 || n == 0) {
		wa_store_mrec_rows_free(rows, n);
		return NULL;
	}
	json_t *rec = json_loadb(rows[0].record, rows[0].record_len, 0, NULL);
	*status_out = rows[0].status;
	wa_store_mrec_rows_free(rows, n);
	if (rec && !json_is_object(rec)) {
		json_decref(rec);
		rec = NULL;
	}
	return rec;
}

static void save_record(struct wamd_tenant *t, json_t *rec, int status)
{
	json_t *k = json_object_get(rec, "key");
	const char *id = json_string_value(json_object_get(k, "id"));
	const char *jid = json_string_value(json_object_get(k, "remoteJid"));
	const char *lid = json_string_value(json_object_get(k, "remoteJidAlt"));
	const char *type = json_string_value(json_object_get(rec, "messageType"));
	char *s = json_dumps(rec, JSON_COMPACT);
	if (!s || !id || !jid)
		goto out;
	wa_store_mrec r = { .key_id = id, .remote_jid = jid, .remote_lid = lid,
		.from_me = json_is_true(json_object_get(k, "fromMe")), .message_type = type ? type : "unknown",
		.timestamp = json_integer_value(json_object_get(rec, "messageTimestamp")), .status = status,
		.record = s, .record_len = strlen(s) };
	r.expires_at = wamd_record_expires_at(t, rec, r.timestamp, 0);
	int rc = wa_store_msgrec_put(t->d->store, t->id, &r);
	if (rc != 0)
		LOGW("instance %s: edited record not stored: %s", t->name, wa_errname(rc));
	else
		wamd_expiry_note(r.expires_at);
out:
	free(s);
}

/* The content as the record keeps it (Evolution's normalization): an
 * extendedTextMessage becomes a conversation. Returns a new reference. */
static json_t *record_content(json_t *m, const char **type_out)
{
	json_t *ext = json_object_get(m, "extendedTextMessage");
	if (ext) {
		json_t *text = json_object_get(ext, "text");
		*type_out = "conversation";
		return json_pack("{s:O}", "conversation", text ? text : json_string(""));
	}
	const char *it;
	json_t *v;
	json_object_foreach(m, it, v) {
		if (strcmp(it, "messageContextInfo") != 0) {
			*type_out = it;
			break;
		}
	}
	return json_deep_copy(m);
}

int wamd_apply_edit(struct wamd_tenant *t, const char *id, bool from_me, json_t *edited, int64_t ts)
{
	int status = 0;
	json_t *rec = load_record(t, id, from_me, &status);
	if (!rec)
		return WA_ENOTFOUND;
	json_t *hist = json_object_get(rec, "editHistory");
	if (!json_is_array(hist)) {
		hist = json_array();
		json_object_set_new(rec, "editHistory", hist);
	}
	/* what the message said until now, and since when */
	json_t *since = json_object_get(rec, "editedAt");
	json_array_append_new(hist, json_pack("{s:O, s:O}", "message", json_object_get(rec, "message"),
					      "messageTimestamp",
					      since ? since : json_object_get(rec, "messageTimestamp")));
	const char *type = json_string_value(json_object_get(rec, "messageType"));
	json_t *content = record_content(edited, &type);
	json_object_set_new(rec, "messageType", json_string(type ? type : "unknown"));
	json_object_set_new(rec, "message", content);
	json_object_set_new(rec, "editedAt", json_integer(ts));
	save_record(t, rec, status);
	json_decref(rec);
	return 0;
}

/* Whether JIDs a and b name the same user (device and agent aside). */
static bool same_user(const char *a, const char *b)
{
	if (!a || !b)
		return false;
	size_t la = strcspn(a, ":@"), lb = strcspn(b, ":@");
	const char *sa = strchr(a, '@'), *sb = strchr(b, '@');
	return la == lb && !strncmp(a, b, la) && sa && sb && !strcmp(sa, sb);
}

static json_t *update_json(const wa_msg_key *key, const char *id)
{
	const char *jid = key->remote_jid ? key->remote_jid : key->remote_lid;
	json_t *d = json_object();
	json_object_set_new(d, "keyId", json_string(id));
	json_object_set_new(d, "remoteJid", json_string(jid ? jid : ""));
	if (key->remote_lid && key->remote_jid)
		json_object_set_new(d, "remoteJidAlt", json_string(key->remote_lid));
	json_object_set_new(d, "fromMe", json_boolean(key->from_me));
	json_object_set_new(d, "participant", json_string(key->participant ? key->participant : jid ? jid : ""));
	return d;
}

bool wamd_on_edit_or_revoke(struct wamd_tenant *t, const wa_msg_key *key, int64_t ts, json_t *message)
{
	json_t *pm = json_object_get(message, "protocolMessage");
	if (!pm)
		pm = json_object_get(json_object_get(json_object_get(message, "editedMessage"), "message"),
				     "protocolMessage");
	const char *type = json_string_value(json_object_get(pm, "type"));
	json_t *target = json_object_get(pm, "key");
	const char *tid = json_string_value(json_object_get(target, "id"));
	if (!type || !tid)
		return false;
	/* in a chat of two, the author of the change is the author of the
	 * message: its fromMe, seen from here, is the change's */
	bool from_me = key->from_me;
	const char *jid = key->remote_jid ? key->remote_jid : key->remote_lid;
	if (!strcmp(type, "MESSAGE_EDIT")) {
		json_t *edited = json_object_get(pm, "editedMessage");
		if (!json_is_object(edited))
			return false;
		const char *tms = json_string_value(json_object_get(pm, "timestampMs"));
		int64_t ets = tms ? strtoll(tms, NULL, 10) / 1000 : ts;
		int rc = wamd_apply_edit(t, tid, from_me, edited, ets);
		wamd_emit(t, "MESSAGES_EDITED", json_deep_copy(pm));
		if (rc == 0) {
			/* Evolution (up to 2.3.4) reports an update without a numeric
			 * status as DELETED; the new content rides as Baileys' update */
			json_t *d = update_json(key, tid);
			json_object_set_new(d, "status", json_string("DELETED"));
			json_object_set_new(d, "message", json_pack("{s:{s:O}}", "editedMessage", "message", edited));
			json_object_set_new(d, "messageTimestamp", json_integer(ets));
			json_object_set_new(d, "instanceId", json_string(wamd_instance_uuid(t)));
			json_object_set_new(d, "messageId", json_string(tid));
			wamd_emit(t, "MESSAGES_UPDATE", d);
		} else {
			LOGI("instance %s: edit of unknown message %s", t->name, tid);
		}
		return true;
	}
	if (!strcmp(type, "REVOKE")) {
		/* a group admin's revoke of another member's message (edit="8"):
		 * the target's author is its key's participant, and the message
		 * is ours when that is us */
		const char *author = json_string_value(json_object_get(target, "participant"));
		bool target_mine = from_me;
		if (author && key->participant && !same_user(author, key->participant))
			target_mine = same_user(author, t->own_jid) || same_user(author, t->own_lid);
		int status = 0;
		json_t *rec = load_record(t, tid, target_mine, &status);
		if (rec) {
			json_object_set_new(rec, "status", json_string("DELETED"));
			json_object_set_new(rec, "deletedAt", json_integer(ts));
			save_record(t, rec, status);
			json_decref(rec);
		}
		/* Baileys' key: the revoke's own (its sender's fromMe and
		 * participant, their other addresses) with the target's id */
		json_t *k = json_pack("{s:s, s:b, s:s}", "remoteJid", jid ? jid : "", "fromMe", from_me, "id", tid);
		if (key->remote_lid && key->remote_jid)
			json_object_set_new(k, "remoteJidAlt", json_string(key->remote_lid));
		if (key->participant)
			json_object_set_new(k, "participant", json_string(key->participant));
		if (key->participant && key->participant_alt)
			json_object_set_new(k, "participantAlt", json_string(key->participant_alt));
		/* a group's is its author's namespace (Baileys: the stanza's addressing_mode) */
		json_object_set_new(k, "addressingMode", json_string(wamd_key_is_lid(key) ? "lid" : "pn"));
		wamd_emit(t, "MESSAGES_DELETE", k);
		return true;
	}
	return false;
}

/* A decrypted poll vote (libwa adds "wamdPollVote" to the vote's JSON):
 * the voter's latest choice kept in the poll's record ("pollVotes"), the
 * tally per option ("pollUpdates", Evolution 2.3.4's
 * [{name, voters}]) stored and sent as MESSAGES_UPDATE. false when the
 * poll is not stored. */
bool wamd_on_poll_vote(struct wamd_tenant *t, const wa_msg_key *key, json_t *message)
{
	json_t *v = json_object_get(message, "wamdPollVote");
	const char *pid = json_string_value(json_object_get(v, "pollId"));
	const char *voter = json_string_value(json_object_get(v, "voter"));
	json_t *sel = json_object_get(v, "selectedOptions");
	bool pfm = json_is_true(json_object_get(v, "pollFromMe"));
	if (!pid || !voter || !json_is_array(sel))
		return false;
	int status = 0;
	json_t *rec = load_record(t, pid, pfm, &status);
	if (!rec)
		return false;
	json_t *m = json_object_get(rec, "message");
	json_t *poll = json_object_get(m, "pollCreationMessage");
	if (!poll)
		poll = json_object_get(m, "pollCreationMessageV3");
	json_t *votes = json_object_get(rec, "pollVotes");
	if (!json_is_object(votes)) {
		votes = json_object();
		json_object_set_new(rec, "pollVotes", votes);
	}
	json_object_set(votes, voter, sel);
	json_t *tally = json_array();
	size_t i;
	json_t *opt;
	json_array_foreach(json_object_get(poll, "options"), i, opt) {
		const char *name = json_string_value(json_object_get(opt, "optionName"));
		json_t *voters = json_array();
		const char *who;
		json_t *chosen;
		json_object_foreach(votes, who, chosen) {
			size_t k;
			json_t *c;
			json_array_foreach(chosen, k, c) {
				if (name && json_string_value(c) && !strcmp(json_string_value(c), name)) {
					json_array_append_new(voters, json_string(who));
					break;
				}
			}
		}
		json_array_append_new(tally, json_pack("{s:s, s:o}", "name", name ? name : "", "voters", voters));
	}
	json_object_set(rec, "pollUpdates", tally);
	save_record(t, rec, status);
	json_decref(rec);
	wa_msg_key pk = { .remote_jid = key->remote_jid, .remote_lid = key->remote_lid, .from_me = pfm,
		.id = pid, .participant = key->participant };
	json_t *d = update_json(&pk, pid);
	json_object_set_new(d, "status", json_string("DELETED"));
	json_object_set_new(d, "pollUpdates", tally);
	json_object_set_new(d, "instanceId", json_string(wamd_instance_uuid(t)));
	json_object_set_new(d, "messageId", json_string(pid));
	wamd_emit(t, "MESSAGES_UPDATE", d);
	return true;
}
