/* Evolution's routes for the message kinds beyond text: sendLocation,
 * sendContact, sendPoll, sendReaction, sendList / sendButtons (refused as
 * Evolution refuses them on Baileys), and the chat controller's
 * updateMessage (edit) and deleteMessageForEveryone (revoke). */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "wamd_cluster.h"
#include "wamd_pace.h"
#include "wamd_routes.h"

/* WhatsApp's edit window */
#define EDIT_WINDOW_S (15 * 60)
#define MAX_CONTACTS 50

static void required(struct wamd_conn *c, const char *field)
{
	char b[128];
	snprintf(b, sizeof b, "instance requires property \"%s\"", field);
	bad_request(c, b);
}

/* body.number -> jid; false after answering. */
static bool number_of(struct wamd_conn *c, struct wamd_tenant *t, json_t *body, char jid[WA_STORE_JID_MAX])
{
	const char *number = jstr(body, "number");
	if (!number) {
		required(c, "number");
		return false;
	}
	if (wamd_normalize_number(number, jid, WA_STORE_JID_MAX) != 0) {
		wamd_reply_error(c, 400, json_pack("[{s:s, s:b, s:s}]", "jid", number, "exists", 0, "number", number));
		return false;
	}
	if (!t->peeked && !wamd_tenant_is_paired(t)) { /* another node's: its owner tells */
		wamd_reply_error(c, 500, json_string("Connection Closed"));
		return false;
	}
	return true;
}

/* The text a quote shows of its message. */
static const char *content_text(json_t *m)
{
	const char *t = jstr(m, "conversation");
	if (!t)
		t = jstr(json_object_get(m, "extendedTextMessage"), "text");
	static const char *const captioned[] = { "imageMessage", "videoMessage", "documentMessage" };
	for (size_t i = 0; !t && i < 3; i++)
		t = jstr(json_object_get(m, captioned[i]), "caption");
	return t;
}

/* What a reply embeds of the message it quotes, as Baileys does: the
 * content inside view-once / ephemeral / edit wrappers, only its content
 * field (Baileys' getContentType), without that content's contextInfo;
 * NULL when m has no content. */
static json_t *quoted_content(json_t *m)
{
	static const char *const wrappers[] = { "ephemeralMessage", "viewOnceMessage", "viewOnceMessageV2",
		"viewOnceMessageV2Extension", "documentWithCaptionMessage", "editedMessage" };
	for (int depth = 0; json_is_object(m) && depth < 4; depth++) {
		json_t *inner = NULL;
		for (size_t i = 0; !inner && i < sizeof wrappers / sizeof *wrappers; i++)
			inner = json_object_get(json_object_get(m, wrappers[i]), "message");
		if (!json_is_object(inner))
			break;
		m = inner;
	}
	const char *k;
	json_t *v;
	json_object_foreach(m, k, v) {
		if ((strcmp(k, "conversation") == 0 || strstr(k, "Message")) && strcmp(k, "senderKeyDistributionMessage") != 0) {
			json_t *c = json_deep_copy(v);
			if (json_is_object(c))
				json_object_del(c, "contextInfo");
			return c ? json_pack("{s:o}", k, c) : NULL;
		}
	}
	return NULL;
}

json_t *wamd_quoted_of(struct wamd_tenant *t, json_t *body, const char *jid, struct wamd_send_extra *x)
{
	json_t *quoted = json_object_get(body, "quoted");
	json_t *qkey = json_object_get(quoted, "key");
	const char *qid = jstr(qkey, "id");
	if (!qid)
		return NULL;
	json_t *qmsg = json_object_get(quoted, "message");
	json_t *hold = NULL;
	bool from_me = json_is_true(json_object_get(qkey, "fromMe"));
	const char *qjid = jstr(qkey, "remoteJid") ? jstr(qkey, "remoteJid") : jid;
	const char *qpart = jstr(qkey, "participant"); /* a group message's author */
	if (!qmsg) {
		/* as Evolution: the original from the store by its id; when it is
		 * not there, the message goes without the quote */
		wa_store_mrec_query q = { .key_id = qid, .from_me = -1, .limit = 1 };
		wa_store_mrec_row *rows = NULL;
		size_t n = 0;
		int64_t total = 0;
		if (wa_store_msgrec_find(t->d->store, t->id, &q, &rows, &n, &total) == 0 && n == 1)
			hold = json_loadb(rows[0].record, rows[0].record_len, 0, NULL);
		wa_store_mrec_rows_free(rows, n);
		if (!hold)
			return NULL;
		qmsg = json_object_get(hold, "message");
		json_t *k = json_object_get(hold, "key");
		from_me = json_is_true(json_object_get(k, "fromMe"));
		if (jstr(k, "remoteJid"))
			qjid = jstr(k, "remoteJid");
		qpart = jstr(k, "participant");
	}
	x->quoted_id = qid;
	x->quoted_jid = qjid;
	x->quoted_participant = qpart;
	x->quoted_from_me = from_me;
	x->quoted_text = content_text(qmsg);
	/* the quoted message itself goes with the reply (kept alive by the
	 * holder the caller frees, with the stored record it may point into) */
	json_t *holder = json_object();
	if (!holder) {
		json_decref(hold);
		return NULL;
	}
	if (hold)
		json_object_set_new(holder, "record", hold);
	json_t *qc = quoted_content(qmsg);
	char *qs = qc ? json_dumps(qc, JSON_COMPACT) : NULL;
	json_decref(qc);
	if (qs && json_object_set_new(holder, "message", json_string(qs)) == 0)
		x->quoted_message = json_string_value(json_object_get(holder, "message"));
	free(qs);
	return holder;
}

/* cluster: the send held for another node's instance until its record is
 * known (sent() writes it for the owner); loop thread only, one request */
static struct {
	json_t *payload;
	char jid[WA_STORE_JID_MAX];
	int64_t at;
} relay;

/* A send the limits hold back: payload (what the route's send function
 * needs, see wamd_pace_enqueue) stored; *id_out the id it will leave with. */
static int pace_hold(struct wamd_tenant *t, const char *jid, bool first, int64_t at, json_t *payload,
		     const struct wamd_send_extra *x, char **id_out)
{
	if (!payload)
		return WA_ENOMEM;
	wamd_pace_quoted(payload, x);
	if (t->peeked) {
		json_decref(relay.payload);
		relay.payload = payload;
		snprintf(relay.jid, sizeof relay.jid, "%s", jid);
		relay.at = at;
		return (*id_out = strdup("")) ? 0 : WA_ENOMEM;
	}
	char id[32];
	int rc = wamd_pace_enqueue(t, jid, first, at, payload, id);
	json_decref(payload);
	if (rc == 0 && !(*id_out = strdup(id)))
		rc = WA_ENOMEM;
	return rc;
}

/* paced: 0 not paced, 1 left now, 2 held back */
static void sent(struct wamd_conn *c, struct wamd_tenant *t, int rc, char *id, const char *jid,
		 json_t *message, const char *type, int paced, bool first)
{
	if (rc == 0 && id && t->peeked) {
		/* cluster: written for the owner, answered as it will send it */
		free(id);
		char rid[32];
		rc = relay.payload && message ? wamd_cluster_relay_send(t, relay.jid, relay.at, relay.payload, message, type, rid)
					      : WA_ENOMEM;
		json_decref(relay.payload);
		relay.payload = NULL;
		if (rc != 0) {
			json_decref(message);
			wamd_reply_error(c, 500, json_pack("[s]", wa_strerror(rc)));
			return;
		}
		wamd_reply_json(c, 201, wamd_sent_record_json(t, jid, rid, message, type, wamd_now_ms() / 1000));
		return;
	}
	if (rc != 0 || !id) {
		free(id);
		json_decref(message);
		json_decref(relay.payload);
		relay.payload = NULL;
		wamd_reply_error(c, 400, json_pack("[s]", wa_strerror(rc ? rc : WA_ENOMEM)));
		return;
	}
	if (paced != 2)
		wamd_lat_accepted(t, id, c->t_dispatch_ns);
	if (paced == 1)
		wamd_pace_sent_now(t, jid, first); /* before the record: it decides "first contact" */
	json_t *rec = wamd_sent_record_msg(t, jid, id, message, type, wamd_now_ms() / 1000);
	free(id);
	wamd_emit(t, "SEND_MESSAGE", json_deep_copy(rec));
	wamd_reply_json(c, 201, rec);
}

void wamd_h_send_location(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	static const char *const need[] = { "latitude", "longitude", "name", "address" };
	for (size_t i = 0; i < 4; i++)
		if (!json_object_get(body, need[i])) {
			required(c, need[i]);
			return;
		}
	json_t *la = json_object_get(body, "latitude"), *lo = json_object_get(body, "longitude");
	const char *name = jstr(body, "name"), *address = jstr(body, "address");
	double lat = json_number_value(la), lon = json_number_value(lo);
	if (!json_is_number(la) || !json_is_number(lo) || !name || !address || !(fabs(lat) <= 90) ||
	    !(fabs(lon) <= 180)) {
		bad_request(c, "latitude and longitude must be numbers in range; name and address strings");
		return;
	}
	char jid[WA_STORE_JID_MAX];
	int64_t at = 0; /* sendAt: held until then */
	if (!wamd_send_at_of(c, body, &at))
		return;
	if (!number_of(c, t, body, jid) || !wamd_send_checked(c, t, body, jid, wamd_h_send_location))
		return;
	struct wamd_send_extra x = { 0 };
	json_t *qhold = wamd_quoted_of(t, body, jid, &x);
	char *id = NULL;
	bool first = false, now = wamd_pace_admit(t, jid, at, &first);
	int rc = now ? wamd_tenant_send_location(t, jid, lat, lon, name, address, &x, &id)
		     : pace_hold(t, jid, first, at,
				 json_pack("{s:s, s:f, s:f, s:s, s:s}", "kind", "location", "latitude", lat, "longitude",
					   lon, "name", name, "address", address),
				 &x, &id);
	json_decref(qhold);
	sent(c, t, rc, id, jid,
	     json_pack("{s:{s:f, s:f, s:s, s:s}}", "locationMessage", "degreesLatitude", lat, "degreesLongitude", lon,
		       "name", name, "address", address),
	     "locationMessage", now ? 1 : 2, first);
}

/* Evolution's vCard 3.0 for one contact entry. */
static char *vcard_of(json_t *ct)
{
	const char *full = jstr(ct, "fullName"), *phone = jstr(ct, "phoneNumber");
	const char *org = jstr(ct, "organization"), *email = jstr(ct, "email"), *url = jstr(ct, "url");
	char waid[64];
	const char *wuid = jstr(ct, "wuid");
	size_t o = 0;
	for (const char *p = wuid ? wuid : phone; *p && *p != '@' && o + 1 < sizeof waid; p++)
		if (isdigit((unsigned char)*p))
			waid[o++] = *p;
	waid[o] = '\0';
	char *v = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&v, &len);
	if (!f)
		return NULL;
	fprintf(f, "BEGIN:VCARD\nVERSION:3.0\nN:%s\nFN:%s\n", full, full);
	if (org)
		fprintf(f, "ORG:%s;\n", org);
	if (email)
		fprintf(f, "EMAIL:%s\n", email);
	if (url)
		fprintf(f, "URL:%s\n", url);
	fprintf(f, "item1.TEL;waid=%s:%s\nitem1.X-ABLabel:Celular\nEND:VCARD", waid, phone);
	if (fclose(f) != 0) {
		free(v);
		return NULL;
	}
	return v;
}

void wamd_h_send_contact(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	json_t *list = json_object_get(body, "contact");
	if (!json_is_array(list) || json_array_size(list) == 0) {
		required(c, "contact");
		return;
	}
	size_t n = json_array_size(list);
	if (n > MAX_CONTACTS) {
		bad_request(c, "contact must have at most 50 items");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *ct = json_array_get(list, i);
		const char *phone = jstr(ct, "phoneNumber");
		if (!jstr(ct, "fullName")) {
			required(c, "fullName");
			return;
		}
		if (!phone || strlen(phone) < 10) {
			bad_request(c, "phoneNumber must have at least 10 characters");
			return;
		}
	}
	char jid[WA_STORE_JID_MAX];
	int64_t at = 0; /* sendAt: held until then */
	if (!wamd_send_at_of(c, body, &at))
		return;
	if (!number_of(c, t, body, jid) || !wamd_send_checked(c, t, body, jid, wamd_h_send_contact))
		return;
	const char *names[MAX_CONTACTS];
	char *vcards[MAX_CONTACTS] = { 0 };
	json_t *cards = json_array();
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		json_t *ct = json_array_get(list, i);
		names[i] = jstr(ct, "fullName");
		if (!(vcards[i] = vcard_of(ct)))
			rc = WA_ENOMEM;
		else
			json_array_append_new(cards, json_pack("{s:s, s:s}", "displayName", names[i], "vcard", vcards[i]));
	}
	char list_name[32];
	snprintf(list_name, sizeof list_name, "%zu contacts", n);
	struct wamd_send_extra x = { 0 };
	json_t *qhold = wamd_quoted_of(t, body, jid, &x);
	char *id = NULL;
	bool first = false, now = wamd_pace_admit(t, jid, at, &first);
	if (rc == 0 && now) {
		rc = wamd_tenant_send_contacts(t, jid, list_name, names, (const char *const *)vcards, n, &x, &id);
	} else if (rc == 0) {
		json_t *nm = json_array(), *vc = json_array();
		for (size_t i = 0; i < n; i++) {
			json_array_append_new(nm, json_string(names[i]));
			json_array_append_new(vc, json_string(vcards[i]));
		}
		rc = pace_hold(t, jid, first, at,
			       json_pack("{s:s, s:s, s:o, s:o}", "kind", "contacts", "listName", list_name, "names", nm,
					 "vcards", vc),
			       &x, &id);
	}
	json_decref(qhold);
	json_t *msg = n == 1 ? json_pack("{s:O}", "contactMessage", json_array_get(cards, 0))
			     : json_pack("{s:{s:s, s:O}}", "contactsArrayMessage", "displayName", list_name, "contacts",
					 cards);
	json_decref(cards);
	for (size_t i = 0; i < n; i++)
		free(vcards[i]);
	sent(c, t, rc, id, jid, msg, n == 1 ? "contactMessage" : "contactsArrayMessage", now ? 1 : 2, first);
}

#define MAX_POLL_VALUES 10

void wamd_h_send_poll(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	const char *name = jstr(body, "name");
	json_t *values = json_object_get(body, "values"), *sc = json_object_get(body, "selectableCount");
	if (!name || !json_is_array(values) || !json_is_integer(sc)) {
		required(c, !name ? "name" : !json_is_array(values) ? "values" : "selectableCount");
		return;
	}
	size_t n = json_array_size(values);
	json_int_t sel = json_integer_value(sc);
	if (n < 2 || n > MAX_POLL_VALUES || sel < 0 || sel > MAX_POLL_VALUES) {
		bad_request(c, "values must have 2 to 10 items and selectableCount be 0 to 10");
		return;
	}
	const char *opts[MAX_POLL_VALUES];
	for (size_t i = 0; i < n; i++) {
		opts[i] = json_string_value(json_array_get(values, i));
		for (size_t k = 0; opts[i] && k < i; k++)
			if (!strcmp(opts[k], opts[i]))
				opts[i] = NULL;
		if (!opts[i]) {
			bad_request(c, "values must be unique strings");
			return;
		}
	}
	char jid[WA_STORE_JID_MAX];
	int64_t at = 0; /* sendAt: held until then */
	if (!wamd_send_at_of(c, body, &at))
		return;
	if (!number_of(c, t, body, jid) || !wamd_send_checked(c, t, body, jid, wamd_h_send_poll))
		return;
	uint8_t secret[32];
	if (RAND_bytes(secret, sizeof secret) != 1) {
		wamd_reply_error(c, 500, json_string("no randomness"));
		return;
	}
	struct wamd_send_extra x = { 0 };
	json_t *qhold = wamd_quoted_of(t, body, jid, &x);
	char *id = NULL;
	unsigned us = (unsigned)(sel > (json_int_t)n ? (json_int_t)n : sel);
	char *b64 = wamd_b64(secret, sizeof secret);
	bool first = false, now = wamd_pace_admit(t, jid, at, &first);
	int rc;
	if (now) {
		rc = wamd_tenant_send_poll(t, jid, name, opts, n, us, secret, &x, &id);
	} else {
		json_t *ol = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(ol, json_string(opts[i]));
		rc = pace_hold(t, jid, first, at,
			       json_pack("{s:s, s:s, s:o, s:i, s:s?}", "kind", "poll", "name", name, "options", ol,
					 "selectable", (int)us, "secret", b64),
			       &x, &id);
	}
	json_decref(qhold);
	json_t *options = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(options, json_pack("{s:s}", "optionName", opts[i]));
	const char *type = us == 1 ? "pollCreationMessageV3" : "pollCreationMessage";
	json_t *msg = json_pack("{s:{s:s, s:o, s:i}, s:{s:s?}}", type, "name", name, "options", options,
				"selectableOptionsCount", (int)us, "messageContextInfo", "messageSecret", b64);
	free(b64);
	sent(c, t, rc, id, jid, msg, type, now ? 1 : 2, first);
}

/* wamd's own: our vote on a stored poll (Evolution has no route for it).
 * libwa encrypts it with the poll's secret; our tally takes it at once, as
 * a received vote would (MESSAGES_UPDATE with pollUpdates). */
void wamd_h_send_poll_vote(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	const char *pid = jstr(body, "pollMessageId");
	json_t *sel = json_object_get(body, "selectedOptions");
	if (!pid || !json_is_array(sel)) {
		required(c, !pid ? "pollMessageId" : "selectedOptions");
		return;
	}
	size_t n = json_array_size(sel);
	const char *opts[MAX_POLL_VALUES];
	if (n > MAX_POLL_VALUES) {
		bad_request(c, "selectedOptions has too many items");
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (!(opts[i] = json_string_value(json_array_get(sel, i)))) {
			bad_request(c, "selectedOptions must be strings");
			return;
		}
	char jid[WA_STORE_JID_MAX], me[WA_STORE_JID_MAX];
	if (!number_of(c, t, body, jid))
		return;
	char *id = NULL;
	int rc = wamd_tenant_send_poll_vote(t, jid, pid, opts, n, &id);
	if (rc != 0 || !id) {
		free(id);
		wamd_reply_error(c, rc == WA_ENOTFOUND ? 404 : 400,
				 json_pack("[s]", rc == WA_ENOTFOUND ? "Poll not found" : wa_strerror(rc ? rc : WA_ENOMEM)));
		return;
	}
	json_t *vote = json_pack("{s:{s:s, s:s, s:b, s:O}}", "wamdPollVote", "pollId", pid, "voter",
				 t->own_jid && wamd_normalize_number(t->own_jid, me, sizeof me) == 0 ? me : "",
				 "pollFromMe", 1, "selectedOptions", sel);
	wa_msg_key k = { .remote_jid = jid, .id = id };
	if (!wamd_on_poll_vote(t, &k, vote)) {
		json_object_set_new(json_object_get(vote, "wamdPollVote"), "pollFromMe", json_false());
		(void)wamd_on_poll_vote(t, &k, vote);
	}
	json_decref(vote);
	wamd_reply_json(c, 201, json_pack("{s:{s:s, s:b, s:s}, s:s, s:s, s:O}", "key", "remoteJid", jid, "fromMe", 1,
					  "id", id, "messageType", "pollUpdateMessage", "pollMessageId", pid,
					  "selectedOptions", sel));
	free(id);
}

/* One emoji (one grapheme of non-ASCII code points, joiners and selectors
 * included), or "" to remove a reaction. */
static bool reaction_ok(const char *r)
{
	size_t n = strlen(r);
	if (n == 0)
		return true;
	if (n > 32)
		return false;
	for (const char *p = r; *p; p++)
		if ((unsigned char)*p < 0x80 && !strchr("#*0123456789", *p))
			return false;
	return true;
}

void wamd_h_send_reaction(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	json_t *key = json_object_get(body, "key");
	const char *rjid = jstr(key, "remoteJid"), *mid = jstr(key, "id"), *reaction = jstr(body, "reaction");
	json_t *fm = json_object_get(key, "fromMe");
	if (!key || !rjid || !mid || !json_is_boolean(fm)) {
		required(c, !key ? "key" : !rjid ? "remoteJid" : !mid ? "id" : "fromMe");
		return;
	}
	if (!reaction || !reaction_ok(reaction)) {
		wamd_reply_error(c, 400, json_pack("[s]", "Reaction must be a single emoji or empty string"));
		return;
	}
	int64_t at = 0; /* sendAt: held until then */
	if (!wamd_send_at_of(c, body, &at))
		return;
	char jid[WA_STORE_JID_MAX];
	if (wamd_normalize_number(rjid, jid, sizeof jid) != 0) {
		bad_request(c, "key.remoteJid is not a JID");
		return;
	}
	if (!t->peeked && !wamd_tenant_is_paired(t)) {
		wamd_reply_error(c, 500, json_string("Connection Closed"));
		return;
	}
	const char *part = jstr(key, "participant");
	json_t *k = json_pack("{s:s, s:O, s:s}", "remoteJid", jid, "fromMe", fm, "id", mid);
	if (part)
		json_object_set_new(k, "participant", json_string(part));
	char *id = NULL;
	bool first = false, now = wamd_pace_admit(t, jid, at, &first);
	struct wamd_send_extra none = { 0 };
	int rc = now ? wamd_tenant_send_action(t, WAMD_ACT_REACT, jid, json_is_true(fm), mid, part, reaction, &id)
		     : pace_hold(t, jid, first, at, json_pack("{s:s, s:O, s:s}", "kind", "reaction", "key", k, "text",
							  reaction),
				 &none, &id);
	char ts[32];
	snprintf(ts, sizeof ts, "%lld", (long long)wamd_now_ms());
	sent(c, t, rc, id, jid, json_pack("{s:{s:o, s:s, s:s}}", "reactionMessage", "key", k, "text", reaction,
					  "senderTimestampMs", ts),
	     "reactionMessage", now ? 1 : 2, first);
}

/* Interactive formats WhatsApp no longer delivers to Baileys clients. */
void wamd_h_send_unavailable(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	(void)t, (void)body;
	wamd_reply_error(c, 400, json_pack("[s]", "Method not available on WhatsApp Baileys"));
}

/* The stored record of one of our messages, or NULL. */
static json_t *own_record(struct wamd_tenant *t, const char *id)
{
	wa_store_mrec_query q = { .key_id = id, .from_me = 1, .limit = 1 };
	wa_store_mrec_row *rows = NULL;
	size_t n = 0;
	int64_t total = 0;
	json_t *rec = NULL;
	if (wa_store_msgrec_find(t->d->store, t->id, &q, &rows, &n, &total) == 0 && n == 1)
		rec = json_loadb(rows[0].record, rows[0].record_len, 0, NULL);
	wa_store_mrec_rows_free(rows, n);
	return rec;
}

void wamd_h_update_message(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	json_t *key = json_object_get(body, "key");
	const char *mid = jstr(key, "id"), *text = jstr(body, "text");
	if (!mid || !text) {
		required(c, !mid ? "key.id" : "text");
		return;
	}
	char jid[WA_STORE_JID_MAX];
	if (!number_of(c, t, body, jid))
		return;
	json_t *rec = own_record(t, mid);
	const char *type = json_string_value(json_object_get(rec, "messageType"));
	json_int_t sent_at = json_integer_value(json_object_get(rec, "messageTimestamp"));
	/* Evolution edits only texts it has stored (else "not compatible") */
	bool text_kind = type && (!strcmp(type, "conversation") || !strcmp(type, "extendedTextMessage"));
	json_decref(rec);
	if (!text_kind) {
		wamd_reply_error(c, 400, json_pack("[s]", "Message not compatible"));
		return;
	}
	int64_t now = wamd_now_ms();
	if (now / 1000 - sent_at > EDIT_WINDOW_S) {
		wamd_reply_error(c, 400, json_pack("[s]", "Message is older than 15 minutes"));
		return;
	}
	char *id = NULL;
	int rc = wamd_tenant_send_action(t, WAMD_ACT_EDIT, jid, true, mid, NULL, text, &id);
	if (rc != 0 || !id) {
		free(id);
		wamd_reply_error(c, 400, json_pack("[s]", wa_strerror(rc ? rc : WA_ENOMEM)));
		return;
	}
	char tms[32], ts[32];
	snprintf(tms, sizeof tms, "%lld", (long long)now);
	snprintf(ts, sizeof ts, "%lld", (long long)(now / 1000));
	json_t *pm = json_pack("{s:{s:s, s:b, s:s}, s:s, s:{s:s}, s:s}", "key", "remoteJid", jid, "fromMe", 1, "id",
			       mid, "type", "MESSAGE_EDIT", "editedMessage", "conversation", text, "timestampMs", tms);
	json_t *edited = json_object_get(pm, "editedMessage");
	if (wamd_apply_edit(t, mid, true, edited, now / 1000) != 0)
		LOGW("instance %s: edited message %s not in the store", t->name, mid);
	wamd_emit(t, "SEND_MESSAGE_UPDATE", json_deep_copy(pm));
	json_t *out = json_pack("{s:{s:s, s:b, s:s}, s:{s:o}, s:s, s:s}", "key", "remoteJid", jid, "fromMe", 1, "id",
				id, "message", "protocolMessage", pm, "messageTimestamp", ts, "status", "PENDING");
	free(id);
	wamd_reply_json(c, 200, out);
}

void wamd_h_delete_for_everyone(struct wamd_conn *c, struct wamd_tenant *t, json_t *body)
{
	const char *mid = jstr(body, "id"), *rjid = jstr(body, "remoteJid"), *part = jstr(body, "participant");
	json_t *fm = json_object_get(body, "fromMe");
	if (!mid || !rjid || !json_is_boolean(fm)) {
		required(c, !mid ? "id" : !rjid ? "remoteJid" : "fromMe");
		return;
	}
	char jid[WA_STORE_JID_MAX];
	if (wamd_normalize_number(rjid, jid, sizeof jid) != 0) {
		bad_request(c, "remoteJid is not a JID");
		return;
	}
	if (!wamd_tenant_is_paired(t)) {
		wamd_reply_error(c, 500, json_string("Connection Closed"));
		return;
	}
	char *id = NULL;
	int rc = wamd_tenant_send_action(t, WAMD_ACT_REVOKE, jid, json_is_true(fm), mid, part, NULL, &id);
	if (rc != 0 || !id) {
		free(id);
		wamd_reply_error(c, 400, json_pack("[s]", wa_strerror(rc ? rc : WA_ENOMEM)));
		return;
	}
	json_t *target = json_pack("{s:s, s:O, s:s}", "remoteJid", jid, "fromMe", fm, "id", mid);
	if (part)
		json_object_set_new(target, "participant", json_string(part));
	/* the stored copy is marked DELETED; MESSAGES_DELETE carries it */
	wa_msg_key k = { .remote_jid = jid, .from_me = json_is_true(fm), .id = mid, .participant = part };
	json_t *pmsg = json_pack("{s:{s:O, s:s}}", "protocolMessage", "key", target, "type", "REVOKE");
	if (!wamd_on_edit_or_revoke(t, &k, wamd_now_ms() / 1000, pmsg))
		LOGW("instance %s: revoke of %s not applied to the store", t->name, mid);
	json_decref(pmsg);
	char ts[32];
	snprintf(ts, sizeof ts, "%lld", (long long)(wamd_now_ms() / 1000));
	json_t *out = json_pack("{s:{s:s, s:b, s:s}, s:{s:{s:o, s:s}}, s:s, s:s}", "key", "remoteJid", jid, "fromMe",
				1, "id", id, "message", "protocolMessage", "key", target, "type", "REVOKE",
				"messageTimestamp", ts, "status", "PENDING");
	free(id);
	wamd_reply_json(c, 201, out);
}
