/* The daemon's only contact with the session engine (include/wa/session.h):
 * creates, starts and stops one wa_session per tenant and forwards its
 * events through struct wamd_engine_events (wamd_events.h), which
 * wamd_main.c points at the daemon's handlers. Tests link a fake engine in its place
 * (tests/daemon/fake_session.c). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wamd.h"
#include "wamd_events.h"


const struct lws_protocols *wamd_session_protocols(size_t *n)
{
	return wa_lws_protocols(n);
}

/* Where events go: the daemon's handlers, set by wamd_main.c; the glue
 * names nothing above it. */
static const struct wamd_engine_events *ev_to;

void wamd_engine_set_events(const struct wamd_engine_events *ev)
{
	ev_to = ev;
}

/* ---- groups: libwa's structs to Evolution's JSON ---- */

static json_t *jstr_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* Evolution's group object (Baileys' GroupMetadata as Evolution returns it). */
static json_t *group_json(const wa_group_info *g, bool participants)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(g->jid));
	json_object_set_new(o, "subject", json_string(g->subject ? g->subject : ""));
	json_object_set_new(o, "subjectOwner", jstr_or_null(g->subject_owner));
	json_object_set_new(o, "subjectTime", json_integer(g->subject_time));
	json_object_set_new(o, "pictureUrl", json_null());
	json_object_set_new(o, "size", json_integer((json_int_t)g->n_participants));
	json_object_set_new(o, "creation", json_integer(g->creation));
	json_object_set_new(o, "owner", jstr_or_null(g->owner));
	json_object_set_new(o, "desc", jstr_or_null(g->desc));
	json_object_set_new(o, "descId", jstr_or_null(g->desc_id));
	/* Baileys' LID-era fields, only when the server gave them (as its
	 * undefined ones are absent from JSON) */
	const char *const opt[][2] = {{"ownerPn", g->owner_pn}, {"subjectOwnerPn", g->subject_owner_pn},
		{"descOwner", g->desc_owner}, {"descOwnerPn", g->desc_owner_pn}};
	for (size_t i = 0; i < sizeof opt / sizeof *opt; i++)
		if (opt[i][1])
			json_object_set_new(o, opt[i][0], json_string(opt[i][1]));
	if (g->desc && g->desc_time > 0)
		json_object_set_new(o, "descTime", json_integer(g->desc_time));
	json_object_set_new(o, "restrict", json_boolean(g->locked));
	json_object_set_new(o, "announce", json_boolean(g->announce));
	json_object_set_new(o, "isCommunity", json_false());
	json_object_set_new(o, "isCommunityAnnounce", json_false());
	json_object_set_new(o, "linkedParent", json_null());
	json_object_set_new(o, "addressingMode", json_string(g->addressing_mode ? g->addressing_mode : "pn"));
	if (g->ephemeral)
		json_object_set_new(o, "ephemeralDuration", json_integer(g->ephemeral));
	/* Baileys' metadata fields for the two admin settings */
	json_object_set_new(o, "joinApprovalMode", json_boolean(g->join_approval));
	json_object_set_new(o, "memberAddMode", json_boolean(g->member_add_all));
	if (participants) {
		bool lid_group = g->addressing_mode && strcmp(g->addressing_mode, "lid") == 0;
		json_t *ps = json_array();
		for (size_t i = 0; i < g->n_participants; i++) {
			const wa_group_participant *p = &g->participants[i];
			/* Baileys' participant: a LID group names members by LID
			 * with the phone number beside, a PN group the reverse */
			bool by_lid = lid_group && p->lid;
			json_t *e = json_pack("{s:s,s:o}", "id", by_lid ? p->lid : p->jid, "admin",
				p->admin == 2 ? json_string("superadmin") : p->admin == 1 ? json_string("admin") : json_null());
			if (by_lid && strcmp(p->jid, p->lid) != 0)
				json_object_set_new(e, "phoneNumber", json_string(p->jid));
			else if (!by_lid && p->lid)
				json_object_set_new(e, "lid", json_string(p->lid));
			json_array_append_new(ps, e);
		}
		json_object_set_new(o, "participants", ps);
	}
	return o;
}

static void group_event(struct wamd_tenant *t, const wa_event *ev)
{
	if (!ev_to->group)
		return;
	json_t *ps = json_array(), *pns = json_array();
	for (size_t i = 0; i < ev->u.group.n_participants; i++) {
		const char *p = ev->u.group.participants[i];
		const char *alt = ev->u.group.participants_alt ? ev->u.group.participants_alt[i] : NULL;
		json_array_append_new(ps, json_string(p));
		/* a LID's phone number, as Baileys' participant.phoneNumber */
		bool lid = strstr(p, "@lid") != NULL;
		json_array_append_new(pns, lid && alt && strstr(alt, "@s.whatsapp.net") ? json_string(alt) : json_null());
	}
	json_t *info = ev->u.group.info ? group_json(ev->u.group.info, true) : NULL;
	ev_to->group(t, ev->u.group.jid, ev->u.group.action, ev->u.group.author, ps, pns, info, ev->u.group.value);
	json_decref(ps);
	json_decref(pns);
	json_decref(info);
}

/* Baileys' call object (its `call` event, which Evolution's CALL carries):
 * date as JSON renders a Date, the offer's flags only when known. */
static void call_event(struct wamd_tenant *t, const wa_event *ev)
{
	if (!ev_to->call)
		return;
	char date[32] = "";
	time_t ts = (time_t)ev->u.call.timestamp;
	struct tm tm;
	if (ev->u.call.timestamp > 0 && gmtime_r(&ts, &tm))
		strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
	json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:b, s:s}", "chatId", ev->u.call.chat, "from", ev->u.call.from,
		"id", ev->u.call.id, "date", date[0] ? json_string(date) : json_null(), "offline",
		ev->u.call.offline, "status", ev->u.call.status);
	if (!o)
		return;
	if (ev->u.call.caller_pn)
		json_object_set_new(o, "callerPn", json_string(ev->u.call.caller_pn));
	if (ev->u.call.known) {
		json_object_set_new(o, "isVideo", json_boolean(ev->u.call.is_video));
		json_object_set_new(o, "isGroup", json_boolean(ev->u.call.is_group));
	}
	if (ev->u.call.group_jid)
		json_object_set_new(o, "groupJid", json_string(ev->u.call.group_jid));
	ev_to->call(t, o);
	json_decref(o);
}

static void on_event(wa_session *s, const wa_event *ev, void *user)
{
	(void)s;
	struct wamd_tenant *t = user;
	switch (ev->type) {
	case WA_EV_STATE:
		ev_to->state(t, ev->u.state.state, ev->u.state.reason, ev->u.state.detail);
		break;
	case WA_EV_QR:
		ev_to->qr(t, ev->u.qr.qr, ev->u.qr.index, ev->u.qr.timeout_s);
		break;
	case WA_EV_PAIRING_CODE:
		ev_to->pairing_code(t, ev->u.pairing_code.code);
		break;
	case WA_EV_PAIRED:
		ev_to->paired(t, ev->u.paired.jid, ev->u.paired.lid, ev->u.paired.push_name);
		break;
	case WA_EV_CONNECTED:
		ev_to->state(t, WA_CONN_READY, WA_DISC_NONE, NULL);
		break;
	case WA_EV_DISCONNECTED:
		/* the STATE event that follows carries the detail (logged once) */
		ev_to->state(t, wa_session_state(t->sess), ev->u.state.reason, NULL);
		break;
	case WA_EV_LOGGED_OUT:
		ev_to->logged_out(t);
		break;
	case WA_EV_MESSAGE:
		ev_to->message(t, &ev->u.message.key, ev->u.message.push_name, ev->u.message.timestamp,
			 ev->u.message.message_type, ev->u.message.text, ev->u.message.message_json);
		break;
	case WA_EV_MESSAGE_STATUS:
		ev_to->status(t, &ev->u.message_status.key, (int)ev->u.message_status.status,
			     ev->u.message_status.timestamp, ev->u.message_status.error,
			     ev->u.message_status.reason, ev->u.message_status.recorded);
		break;
	case WA_EV_PRESENCE:
		ev_to->presence(t, ev->u.presence.jid, ev->u.presence.presence, ev->u.presence.last_seen);
		break;
	case WA_EV_IDENTITY_CHANGED:
		LOGI("instance %s: identity changed for a contact", t->name);
		break;
	case WA_EV_CONTACT:
		/* an address-book name (app state) is what Evolution shows as pushName */
		ev_to->contact(t, ev->u.contact.jid, ev->u.contact.lid,
			       ev->u.contact.full_name ? ev->u.contact.full_name : ev->u.contact.push_name);
		break;
	case WA_EV_MESSAGE_WIRE:
		ev_to->wire(t, ev->u.message_status.key.id);
		break;
	case WA_EV_GROUP:
		group_event(t, ev);
		break;
	case WA_EV_CHAT_UPDATE:
		if (ev_to->chat) {
			struct wamd_chat_ev c = {
				.jid = ev->u.chat.jid, .archived = ev->u.chat.archived, .pinned = ev->u.chat.pinned,
				.pinned_at = ev->u.chat.pinned_at, .muted = ev->u.chat.muted,
				.mute_end = ev->u.chat.mute_end, .read = ev->u.chat.read, .msg_id = ev->u.chat.msg_id,
				.msg_from_me = ev->u.chat.msg_from_me, .starred = ev->u.chat.starred,
				.deleted_msg = ev->u.chat.deleted_msg, .cleared = ev->u.chat.cleared,
				.deleted = ev->u.chat.deleted,
			};
			ev_to->chat(t, &c);
		}
		break;
	case WA_EV_LABEL:
		if (ev_to->label)
			ev_to->label(t, ev->u.label.id, ev->u.label.name, ev->u.label.color, ev->u.label.predefined_id,
				     ev->u.label.deleted, ev->u.label.chat_jid, ev->u.label.msg_id, ev->u.label.labeled);
		break;
	case WA_EV_PUSH_NAME:
		if (ev_to->push_name)
			ev_to->push_name(t, ev->u.push_name.name);
		break;
	case WA_EV_HISTORY:
		if (ev_to->history)
			ev_to->history(t, ev->u.history.sync_type_name, ev->u.history.chunk_order, ev->u.history.progress,
				       ev->u.history.chats_json, ev->u.history.contacts_json,
				       ev->u.history.messages, ev->u.history.n_messages, ev->u.history.last);
		break;
	case WA_EV_CALL:
		call_event(t, ev);
		break;
	case WA_EV_APP_STATE:
		if (ev->u.app_state.error)
			LOGW("instance %s: app state %s stopped at v%llu: %s", t->name, ev->u.app_state.collection,
				(unsigned long long)ev->u.app_state.version, ev->u.app_state.detail);
		break;
	case WA_EV_HISTORY_DEMAND:
		LOGW("instance %s: fetchHistory request %s for %s: no answer from the phone (offline, or nothing older)",
			t->name, ev->u.history_demand.request_id, ev->u.history_demand.chat);
		if (ev_to->history_demand)
			ev_to->history_demand(t, ev->u.history_demand.request_id, ev->u.history_demand.chat);
		break;
	}
}

int wamd_tenant_proxy_check(const char *url)
{
	return wa_proxy_check(url);
}

int wamd_tenant_version_check(const char *version)
{
	return wa_version_check(version);
}

bool wamd_tenant_is_paired(const struct wamd_tenant *t)
{
	return t->sess && wa_session_is_paired(t->sess);
}

const char *wamd_conn_state_name(enum wa_conn_state st)
{
	return wa_conn_state_name(st);
}

static void status_in_tx(void *user, const char *id, bool from_me, enum wa_msg_status status)
{
	if (ev_to->status_in_tx)
		ev_to->status_in_tx(user, id, from_me, status);
}

int wamd_engine_init(struct wamd *d)
{
	return wa_gate_new((unsigned)d->cfg.max_handshakes, &d->gate);
}

void wamd_engine_free(struct wamd *d)
{
	wa_gate_free(d->gate);
	d->gate = NULL;
}

void wamd_engine_reconfigure(struct wamd *d)
{
	if (d->gate && wa_gate_set_max(d->gate, (unsigned)d->cfg.max_handshakes) != 0)
		LOGW("max_handshakes %ld not applied", d->cfg.max_handshakes);
}

void wamd_engine_gate_stats(struct wamd *d, wa_gate_stats *out)
{
	*out = (wa_gate_stats){0};
	if (d->gate)
		wa_gate_get_stats(d->gate, out);
}

json_t *wamd_engine_stats(struct wamd *d)
{
	wa_gate_stats st = {0};
	wa_gate_get_stats(d->gate, &st);
	return json_pack("{s:i, s:i, s:i, s:i, s:I}", "max", (int)st.max, "active", (int)st.active,
			 "peak", (int)st.peak, "waiting", (int)st.waiting, "admitted", (json_int_t)st.admitted);
}

const char *wamd_tenant_wa_version(const struct wamd_tenant *t)
{
	const char *v = json_string_value(json_object_get(json_object_get(t->doc, "settings"), "waVersion"));
	if (v && *v)
		return v;
	if (t->d->fetched_wa_version[0])
		return t->d->fetched_wa_version;
	return t->d->cfg.wa_version && *t->d->cfg.wa_version ? t->d->cfg.wa_version : NULL;
}

int wamd_tenant_start(struct wamd_tenant *t)
{
	return wamd_tenant_start_spread(t, 0);
}

int wamd_tenant_start_spread(struct wamd_tenant *t, uint32_t spread_ms)
{
	t->boot_pending = false;
	if (t->sess)
		return wa_session_state(t->sess) == WA_CONN_DISCONNECTED ? wa_session_start(t->sess) : 0;
	struct wamd *d = t->d;
	char purl[WAMD_PROXY_URL_MAX];
	if (wamd_proxy_url(json_object_get(t->doc, "proxy"), purl, sizeof purl) != 0) {
		LOGE("instance %s: stored proxy unusable; set it again with /proxy/set", t->name);
		return WA_EINVAL;
	}
	wa_session_config cfg = {
		.lws = d->ctx,
		.store = d->store,
		.instance_id = t->id,
		.url = d->cfg.wa_url,
		.trust_root_pub = d->have_trust_root ? d->trust_root : NULL,
		.tls_insecure = d->cfg.wa_tls_insecure,
		.device_name = d->cfg.device_name && *d->cfg.device_name ? d->cfg.device_name : "wamd",
		.proxy = purl[0] ? purl : NULL,
		.gate = d->gate,
		.wa_version = wamd_tenant_wa_version(t),
		/* Evolution's syncFullHistory (instance settings): read at pairing */
		.sync_full_history = json_is_true(json_object_get(json_object_get(t->doc, "settings"), "syncFullHistory")),
		/* Evolution's alwaysOnline is Baileys' markOnlineOnConnect */
		.offline_on_connect = !wamd_setting_on(t, "alwaysOnline"),
		.history_demand_timeout_ms = (uint32_t)d->cfg.history_demand_timeout_s * 1000u,
		.status_in_tx = status_in_tx,
	};
#ifdef WAMD_TEST_HOOKS
	/* tests: group device lists go stale in seconds (docs/wamd.md) */
	const char *dl = getenv("WAMD_TEST_DEVICE_LIST_REFRESH_MS");
	if (dl && *dl)
		cfg.device_list_refresh_ms = (uint32_t)strtoul(dl, NULL, 10);
#endif
	bool has_proxy = purl[0] != '\0';
	int rc = wa_session_new(&cfg, on_event, t, &t->sess);
	explicit_bzero(purl, sizeof purl); /* libwa keeps its own copy */
	if (rc != 0) {
		if (has_proxy)
			LOGE("instance %s: session not created: %s (check its proxy)", t->name, wa_strerror(rc));
		return rc;
	}
	rc = wa_session_start_spread(t->sess, spread_ms);
	if (rc != 0) {
		wa_session_free(t->sess);
		t->sess = NULL;
	}
	return rc;
}

void wamd_tenant_stop(struct wamd_tenant *t)
{
	if (!t->sess)
		return;
	wa_session_stop(t->sess);
	wa_session_free(t->sess);
	t->sess = NULL;
	t->state = WA_CONN_DISCONNECTED;
}

int wamd_tenant_pairing_code(struct wamd_tenant *t, const char *phone)
{
	return t->sess ? wa_session_request_pairing_code(t->sess, phone) : WA_ESTATE;
}

int wamd_tenant_logout(struct wamd_tenant *t)
{
	return t->sess ? wa_session_logout(t->sess) : WA_ESTATE;
}

int wamd_tenant_send_text(struct wamd_tenant *t, const char *to, const char *text, const char *quoted_id,
			  const char *quoted_jid, bool quoted_from_me, const char *quoted_text, char **id_out)
{
	if (!t->sess)
		return WA_ESTATE;
	wa_msg_key qk = { .remote_jid = quoted_jid, .from_me = quoted_from_me, .id = quoted_id };
	wa_send_opts o = { .quoted = quoted_id ? &qk : NULL, .quoted_text = quoted_text };
	return wa_session_send_text(t->sess, to, text, &o, id_out);
}

/* A chat's disappearing timer in seconds (0: off) for what we send: a
 * group's is its metadata's as libwa caches it (its setting time unknown),
 * another chat's the one its members set (wamd_on_ephemeral_setting). */
static uint32_t wamd_chat_ephemeral(const struct wamd_tenant *t, const char *chat, int64_t *setting_ts)
{
	if (setting_ts)
		*setting_ts = 0;
	if (chat && strstr(chat, "@g.us")) {
		/* the group's metadata, kept current by its w:gp2 notifications */
		uint32_t sec = 0;
		if (!t->sess || wa_group_cached_ephemeral(t->sess, chat, &sec) != 0)
			return 0;
		return sec;
	}
	json_t *e = json_object_get(json_object_get(t->doc, "ephemeral"), chat);
	if (setting_ts)
		*setting_ts = json_integer_value(json_object_get(e, "settingTimestamp"));
	return (uint32_t)json_integer_value(json_object_get(e, "expiration"));
}

uint32_t wamd_tenant_chat_timer(const struct wamd_tenant *t, const char *chat)
{
	return wamd_chat_ephemeral(t, chat, NULL);
}

int wamd_tenant_send_text_to(struct wamd_tenant *t, const char *to, const char *text,
			     const struct wamd_send_extra *x, char **id_out)
{
	if (!t->sess)
		return WA_ESTATE;
	wa_msg_key qk = { .remote_jid = x->quoted_jid, .from_me = x->quoted_from_me, .id = x->quoted_id,
			   .participant = x->quoted_participant };
	wa_send_opts o = { .id = x->id, .quoted = x->quoted_id ? &qk : NULL, .quoted_text = x->quoted_text,
		.quoted_message_json = x->quoted_message,
		.mentions = x->mentions, .n_mentions = x->n_mentions };
	o.expiration = wamd_chat_ephemeral(t, to, &o.ephemeral_setting_ts);
	o.preview_url = x->preview_url;
	o.preview_title = x->preview_title;
	o.preview_description = x->preview_description;
	o.preview_thumb = x->preview_thumb;
	o.preview_thumb_len = x->preview_thumb_len;
	o.in_tx = x->in_tx;
	o.in_tx_user = x->in_tx_user;
	return wa_session_send_text(t->sess, to, text, &o, id_out);
}

int wamd_tenant_send_group_invite(struct wamd_tenant *t, const char *to, const char *group, const char *code,
				  int64_t expiration, const char *group_name, const char *caption, char **id_out)
{
	if (!t->sess)
		return WA_ESTATE;
	wa_send_opts o = { 0 };
	o.expiration = wamd_chat_ephemeral(t, to, &o.ephemeral_setting_ts);
	return wa_session_send_group_invite(t->sess, to, group, code, expiration, group_name, caption, &o, id_out);
}

int wamd_tenant_send_location(struct wamd_tenant *t, const char *to, double lat, double lon,
			      const char *name, const char *address, const struct wamd_send_extra *x,
			      char **id_out)
{
	if (!t->sess)
		return WA_ESTATE;
	wa_msg_key qk = { .remote_jid = x->quoted_jid, .from_me = x->quoted_from_me, .id = x->quoted_id,
			   .participant = x->quoted_participant };
	wa_send_opts o = { .id = x->id, .quoted = x->quoted_id ? &qk : NULL, .quoted_text = x->quoted_text,
		.quoted_message_json = x->quoted_message };
	o.expiration = wamd_chat_ephemeral(t, to, &o.ephemeral_setting_ts);
	return wa_session_send_location(t->sess, to, lat, lon, name, address, &o, id_out);
}

int wamd_tenant_send_contacts(struct wamd_tenant *t, const char *to, const char *list_name,
			      const char *const *names, const char *const *vcards, size_t n,
			      const struct wamd_send_extra *x, char **id_out)
{
	if (!t->sess)
		return WA_ESTATE;
	wa_vcard *cards = calloc(n ? n : 1, sizeof *cards);
	if (!cards)
		return WA_ENOMEM;
	for (size_t i = 0; i < n; i++)
		cards[i] = (wa_vcard){ .display_name = names[i], .vcard = vcards[i] };
	wa_msg_key qk = { .remote_jid = x->quoted_jid, .from_me = x->quoted_from_me, .id = x->quoted_id,
			   .participant = x->quoted_participant };
	wa_send_opts o = { .id = x->id, .quoted = x->quoted_id ? &qk : NULL, .quoted_text = x->quoted_text,
		.quoted_message_json = x->quoted_message };
	o.expiration = wamd_chat_ephemeral(t, to, &o.ephemeral_setting_ts);
	int rc = wa_session_send_contacts(t->sess, to, list_name, cards, n, &o, id_out);
	free(cards);
	return rc;
}

int wamd_tenant_send_poll(struct wamd_tenant *t, const char *to, const char *name, const char *const *options,
			  size_t n, unsigned selectable, const uint8_t secret[32], const struct wamd_send_extra *x,
			  char **id_out)
{
	if (!t->sess)
		return WA_ESTATE;
	wa_msg_key qk = { .remote_jid = x->quoted_jid, .from_me = x->quoted_from_me, .id = x->quoted_id,
			   .participant = x->quoted_participant };
	wa_send_opts o = { .id = x->id, .quoted = x->quoted_id ? &qk : NULL, .quoted_text = x->quoted_text,
		.quoted_message_json = x->quoted_message };
	o.expiration = wamd_chat_ephemeral(t, to, &o.ephemeral_setting_ts);
	return wa_session_send_poll(t->sess, to, name, options, n, selectable, secret, &o, id_out);
}

int wamd_tenant_group_members(struct wamd_tenant *t, const char *group, char (**jids)[WA_STORE_JID_MAX],
			      size_t *n)
{
	if (!t->sess)
		return WA_ESTATE;
	return wa_group_cached_members(t->sess, group, jids, n);
}

int wamd_tenant_send_poll_vote(struct wamd_tenant *t, const char *to, const char *poll_id,
			       const char *const *options, size_t n, char **id_out)
{
	if (!t->sess)
		return WA_ESTATE;
	return wa_session_send_poll_vote(t->sess, to, poll_id, options, n, id_out);
}

int wamd_tenant_send_reaction_as(struct wamd_tenant *t, const char *chat, bool from_me, const char *id,
				 const char *participant, const char *emoji, const char *key_id, char **id_out)
{
	if (!t->sess)
		return WA_ESTATE;
	wa_msg_key k = { .remote_jid = chat, .from_me = from_me, .id = id, .participant = participant };
	return wa_session_send_reaction_as(t->sess, &k, emoji, key_id, id_out);
}

int wamd_tenant_send_action(struct wamd_tenant *t, enum wamd_action act, const char *chat, bool from_me,
			    const char *id, const char *participant, const char *arg, char **id_out)
{
	if (!t->sess)
		return WA_ESTATE;
	wa_msg_key k = { .remote_jid = chat, .from_me = from_me, .id = id, .participant = participant };
	switch (act) {
	case WAMD_ACT_REACT:
		return wa_session_send_reaction(t->sess, &k, arg, id_out);
	case WAMD_ACT_EDIT:
		return wa_session_send_edit(t->sess, &k, arg, id_out);
	case WAMD_ACT_REVOKE:
		return wa_session_send_revoke(t->sess, &k, id_out);
	}
	return WA_EINVAL;
}

int wamd_tenant_send_media(struct wamd_tenant *t, const char *to, const wa_media_send *m,
			   const struct wamd_send_extra *x, char **id_out)
{
	if (!t->sess)
		return WA_ESTATE;
	wa_msg_key qk = { .remote_jid = x->quoted_jid, .from_me = x->quoted_from_me, .id = x->quoted_id,
			   .participant = x->quoted_participant };
	wa_send_opts o = { .id = x->id, .quoted = x->quoted_id ? &qk : NULL, .quoted_text = x->quoted_text,
		.quoted_message_json = x->quoted_message,
		.mentions = x->mentions, .n_mentions = x->n_mentions };
	o.expiration = wamd_chat_ephemeral(t, to, &o.ephemeral_setting_ts);
	return wa_session_send_media(t->sess, to, m, &o, id_out);
}

int wamd_tenant_mark_read(struct wamd_tenant *t, const char *const *jids, const char *const *ids,
			  const bool *from_me, size_t n)
{
	if (!t->sess)
		return WA_ESTATE;
	wa_msg_key *keys = calloc(n ? n : 1, sizeof *keys);
	if (!keys)
		return WA_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		keys[i].remote_jid = jids[i];
		keys[i].id = ids[i];
		keys[i].from_me = from_me[i];
	}
	int rc = wa_session_mark_read(t->sess, keys, n);
	free(keys);
	return rc;
}

void wamd_tenant_always_online(struct wamd_tenant *t, bool on)
{
	if (!t->sess)
		return;
	wa_session_set_offline_on_connect(t->sess, !on);
	int rc = wa_session_send_presence(t->sess, NULL, on ? "available" : "unavailable");
	if (rc != 0 && rc != WA_ESTATE) /* WA_ESTATE: not connected, the next login applies it */
		LOGW("instance %s: presence not sent: %s", t->name, wa_errname(rc));
}

int wamd_tenant_mark_read_key(struct wamd_tenant *t, const wa_msg_key *key)
{
	return t->sess ? wa_session_mark_read(t->sess, key, 1) : WA_ESTATE;
}

int wamd_tenant_reject_call(struct wamd_tenant *t, const char *call_id, const char *call_from)
{
	if (!t->sess)
		return WA_ESTATE;
	return wa_session_reject_call(t->sess, call_id, call_from);
}

int wamd_tenant_presence(struct wamd_tenant *t, const char *to, const char *presence)
{
	return t->sess ? wa_session_send_presence(t->sess, to, presence) : WA_ESTATE;
}

static void numbers_done(wa_session *s, int err, const wa_number_info *infos, size_t n, void *user)
{
	(void)s;
	json_t *arr = json_array();
	for (size_t i = 0; err == 0 && i < n; i++) {
		json_t *e = json_object();
		json_object_set_new(e, "jid", json_string(infos[i].jid ? infos[i].jid : ""));
		json_object_set_new(e, "exists", json_boolean(infos[i].exists));
		json_object_set_new(e, "number", json_string(infos[i].query ? infos[i].query : ""));
		if (infos[i].lid)
			json_object_set_new(e, "lid", json_string(infos[i].lid));
		json_array_append_new(arr, e);
	}
	ev_to->numbers_done(user, err, arr);
}

int wamd_tenant_check_numbers(struct wamd_tenant *t, const char *const *numbers, size_t n, void *ticket)
{
	if (!t->sess)
		return WA_ESTATE;
	return wa_session_check_numbers(t->sess, numbers, n, numbers_done, ticket);
}

/* ---- group calls: the answer reaches the route through
 * wamd_engine_events.group_done(ticket, err, code, result) ---- */

static void groups_done(wa_session *s, int err, int code, const wa_group_info *g, size_t n, void *user)
{
	(void)s;
	json_t *arr = json_array();
	for (size_t i = 0; err == 0 && i < n; i++)
		json_array_append_new(arr, group_json(&g[i], true));
	ev_to->group_done(user, err, code, arr);
}

static void change_done(wa_session *s, int err, int code, const wa_group_change *r, size_t n, void *user)
{
	(void)s;
	json_t *arr = json_array();
	for (size_t i = 0; err == 0 && i < n; i++) {
		json_t *e = json_pack("{s:s,s:i}", "jid", r[i].jid, "status", r[i].status);
		if (r[i].add_code)
			json_object_set_new(e, "addRequest", json_pack("{s:s,s:I}", "code", r[i].add_code, "expiration",
				(json_int_t)r[i].add_expiration));
		json_array_append_new(arr, e);
	}
	ev_to->group_done(user, err, code, arr);
}

static void requests_done(wa_session *s, int err, int code, const wa_group_request *r, size_t n, void *user)
{
	(void)s;
	json_t *arr = json_array();
	for (size_t i = 0; err == 0 && i < n; i++)
		json_array_append_new(arr, json_pack("{s:s,s:I}", "jid", r[i].jid, "request_time",
			(json_int_t)r[i].request_time));
	ev_to->group_done(user, err, code, arr);
}

static void simple_done(wa_session *s, int err, int code, void *user)
{
	(void)s;
	ev_to->group_done(user, err, code, json_array());
}

static void str_done(wa_session *s, int err, int code, const char *value, void *user)
{
	(void)s;
	ev_to->group_done(user, err, code, err == 0 && value ? json_pack("[s]", value) : json_array());
}

int wamd_tenant_group_picture(struct wamd_tenant *t, const char *group, const uint8_t *jpeg, size_t len,
	void *ticket)
{
	if (!t->sess || wa_session_state(t->sess) != WA_CONN_READY)
		return WA_ESTATE;
	return wa_group_set_picture(t->sess, group, jpeg, len, simple_done, ticket);
}

int wamd_tenant_group(struct wamd_tenant *t, const char *op, const char *group, const char *text,
	const char *const *jids, size_t n, void *ticket)
{
	if (!t->sess || wa_session_state(t->sess) != WA_CONN_READY)
		return WA_ESTATE;
	if (strcmp(op, "create") == 0)
		return wa_group_create(t->sess, text, jids, n, groups_done, ticket);
	if (strcmp(op, "metadata") == 0)
		return wa_group_metadata(t->sess, group, groups_done, ticket);
	if (strcmp(op, "participating") == 0)
		return wa_group_participating(t->sess, groups_done, ticket);
	if (strcmp(op, "leave") == 0)
		return wa_group_leave(t->sess, group, simple_done, ticket);
	if (strcmp(op, "subject") == 0)
		return wa_group_set_subject(t->sess, group, text, simple_done, ticket);
	if (strcmp(op, "description") == 0)
		return wa_group_set_description(t->sess, group, text, simple_done, ticket);
	if (strcmp(op, "setting") == 0)
		return wa_group_set_setting(t->sess, group, text, simple_done, ticket);
	if (strcmp(op, "ephemeral") == 0)
		return wa_group_set_ephemeral(t->sess, group, (uint32_t)strtoul(text, NULL, 10), simple_done, ticket);
	if (strcmp(op, "invite_code") == 0 || strcmp(op, "revoke_invite") == 0)
		return wa_group_invite_code(t->sess, group, op[0] == 'r', str_done, ticket);
	if (strcmp(op, "join") == 0)
		return wa_group_join(t->sess, text, str_done, ticket);
	if (strcmp(op, "invite_info") == 0)
		return wa_group_invite_info(t->sess, text, groups_done, ticket);
	if (strcmp(op, "requests") == 0)
		return wa_group_requests(t->sess, group, requests_done, ticket);
	if (strcmp(op, "approve") == 0 || strcmp(op, "reject") == 0)
		return wa_group_request_action(t->sess, group, op, jids, n, change_done, ticket);
	/* add, remove, promote, demote */
	return wa_group_participants(t->sess, group, op, jids, n, change_done, ticket);
}

/* ---- app state: our own chat settings; the answer reaches the route
 * through wamd_engine_events.chat_mod_done(ticket, err, detail) ---- */

static void chat_mod_done(wa_session *s, int err, const char *detail, void *user)
{
	(void)s;
	ev_to->chat_mod_done(user, err, detail);
}

int wamd_tenant_chat_modify(struct wamd_tenant *t, const wa_chat_mod *m, void *ticket)
{
	if (!t->sess || wa_session_state(t->sess) != WA_CONN_READY)
		return WA_ESTATE;
	return wa_session_chat_modify(t->sess, m, chat_mod_done, ticket);
}

/* Evolution's label row: {color, name, id, predefinedId}, color and
 * predefinedId as strings (its database keeps them so); deleted labels are
 * gone from its table, so left out */
static void label_row(void *user, const wa_label *l)
{
	if (l->deleted)
		return;
	json_t *p = json_pack("{s:o,s:s,s:s,s:o}", "color", json_sprintf("%d", (int)l->color), "name", l->name, "id",
		l->id, "predefinedId", l->predefined_id ? json_sprintf("%d", (int)l->predefined_id) : json_null());
	json_array_append_new(user, p);
}

json_t *wamd_tenant_labels(struct wamd_tenant *t)
{
	json_t *arr = json_array();
	if (t->sess && wa_session_labels(t->sess, label_row, arr) != 0) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

static void chat_label_row(void *user, const char *label_id, const char *chat_jid)
{
	json_t *ids = json_object_get(user, chat_jid);
	if (!ids) {
		ids = json_array();
		json_object_set_new(user, chat_jid, ids);
	}
	json_array_append_new(ids, json_string(label_id));
}

json_t *wamd_tenant_chat_labels(struct wamd_tenant *t)
{
	json_t *o = json_object();
	if (t->sess && wa_session_chat_labels(t->sess, chat_label_row, o) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static void picture_done(wa_session *s, int err, const char *url, void *user)
{
	(void)s;
	ev_to->picture_done(user, err, url);
}

int wamd_tenant_profile_picture(struct wamd_tenant *t, const char *jid, void *ticket)
{
	if (!t->sess || wa_session_state(t->sess) != WA_CONN_READY)
		return WA_ESTATE;
	return wa_session_profile_picture_url(t->sess, jid, false, picture_done, ticket);
}

/* ---- profiles, blocklist, privacy: the answer reaches the route through
 * wamd_engine_events.profile_done(ticket, err, code, json) ---- */

static void profile_done(wa_session *s, int err, int code, const char *json, void *user)
{
	(void)s;
	ev_to->profile_done(user, err, code, json);
}

int wamd_tenant_profile(struct wamd_tenant *t, enum wamd_profile_op op, const char *a, const char *b,
	const uint8_t *bytes, size_t len, void *ticket)
{
	if (!t->sess || wa_session_state(t->sess) != WA_CONN_READY)
		return WA_ESTATE;
	switch (op) {
	case WAMD_PROFILE_FETCH:
		return wa_profile_fetch(t->sess, a, profile_done, ticket);
	case WAMD_PROFILE_ABOUT:
		return wa_profile_set_about(t->sess, a, profile_done, ticket);
	case WAMD_PROFILE_NAME:
		return wa_profile_set_name(t->sess, a, profile_done, ticket);
	case WAMD_PROFILE_PICTURE:
		return wa_profile_set_picture(t->sess, bytes, len, profile_done, ticket);
	case WAMD_PROFILE_BLOCK:
	case WAMD_PROFILE_UNBLOCK:
		return wa_profile_block(t->sess, a, op == WAMD_PROFILE_BLOCK, profile_done, ticket);
	case WAMD_PROFILE_BLOCKLIST:
		return wa_profile_blocklist(t->sess, profile_done, ticket);
	case WAMD_PROFILE_PRIVACY:
		return wa_profile_privacy(t->sess, profile_done, ticket);
	case WAMD_PROFILE_SET_PRIVACY:
		return wa_profile_set_privacy(t->sess, a, b, profile_done, ticket);
	}
	return WA_EINVAL;
}

/* on-demand history: the phone's answer arrives as an ordinary history sync */
int wamd_tenant_fetch_history(struct wamd_tenant *t, const char *chat, int count, const char *oldest_id,
	bool oldest_from_me, int64_t oldest_ts_ms, char out_id[23])
{
	if (!t->sess || wa_session_state(t->sess) != WA_CONN_READY)
		return WA_ECLOSED;
	return wa_session_fetch_history(t->sess, chat, count, oldest_id, oldest_from_me, oldest_ts_ms, out_id);
}
