/* The route layer: what the route files (wamd_routes_<controller>.c),
 * the router (wamd_router.c, the one route table) and the waits
 * (wamd_waits.c) share. A handler answers with wamd_reply_json or
 * wamd_reply_error; it may call the tenants (wamd_tenant_core.c) and the
 * engine glue (wamd_engine.c) below it, never the HTTP layer above. */
#ifndef WAMD_ROUTES_H
#define WAMD_ROUTES_H

#include <stdarg.h>
#include <stdio.h>

#include "wamd.h"

typedef void (*handler_fn)(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);

enum { WAIT_CONNECT = 1, WAIT_CREATE = 2 };

static inline json_t *msg1(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline json_t *msg1(const char *fmt, ...)
{
	char b[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b, sizeof b, fmt, ap);
	va_end(ap);
	return json_pack("[s]", b);
}

static inline void bad_request(struct wamd_conn *c, const char *text)
{
	/* schema failures use a nested array in Evolution */
	wamd_reply_error(c, 400, json_pack("[[s]]", text));
}

static inline const char *jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* wamd_router.c */
void wamd_api_dispatch(struct wamd_conn *c);

/* wamd_routes_group.c */
void wamd_group_done(void *ticket, int err, int code, json_t *result);
void wamd_h_group_create(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_group_find(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_group_fetch_all(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_group_participants(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_group_update_participant(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_group_subject(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_group_description(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_group_leave(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_group_setting(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_group_ephemeral(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_group_invite_code(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_group_revoke_invite(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_group_accept_invite(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_group_invite_info(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_group_picture(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_group_send_invite(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_group_join_requests(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_group_update_join_requests(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);

/* wamd_routes_console.c */
void wamd_h_console(struct wamd_conn *c, struct wamd_tenant *unused, json_t *body);
void wamd_h_console_js(struct wamd_conn *c, struct wamd_tenant *unused, json_t *body);
void wamd_h_console_css(struct wamd_conn *c, struct wamd_tenant *unused, json_t *body);
void wamd_h_status(struct wamd_conn *c, struct wamd_tenant *unused, json_t *body);
void wamd_h_cluster(struct wamd_conn *c, struct wamd_tenant *unused, json_t *body);
void wamd_h_whoami(struct wamd_conn *c, struct wamd_tenant *unused, json_t *body);
void wamd_h_webhook_queue(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_webhook_replay(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);

/* wamd_routes_appstate.c */
void wamd_h_archive_chat(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_mark_chat_unread(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_find_labels(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_handle_label(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_chat_modify(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);

/* wamd_routes_profile.c */
void wamd_h_fetch_profile_picture(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
/* wamd_routes_history.c */
void wamd_h_fetch_history(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
/* wamd_routes_profile_set.c */
void wamd_h_fetch_profile(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_update_block_status(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_fetch_blocklist(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_update_profile_name(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_update_profile_status(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_update_profile_picture(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_remove_profile_picture(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_fetch_privacy(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_update_privacy(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);

/* wamd_routes_chat.c */
void wamd_numbers_done(void *ticket, int err, json_t *result);
void wamd_h_numbers(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_mark_read(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_find_messages(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_find_chats(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_find_contacts(struct wamd_conn *c, struct wamd_tenant *t, json_t *body); /* wamd_routes_contacts.c */
void wamd_h_send_presence(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);

/* wamd_routes_instance.c */
void wamd_h_create(struct wamd_conn *c, struct wamd_tenant *unused, json_t *body);
void wamd_h_connect(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_state(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_restart(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_logout(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_delete(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_fetch(struct wamd_conn *c, struct wamd_tenant *unused, json_t *body);
void wamd_h_set_presence(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);

/* wamd_routes_pace.c */
void wamd_h_pace(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_pace_queue(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_pace_cancel(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_bulk(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_bulk_action(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_outbox(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_test_clock(struct wamd_conn *c, struct wamd_tenant *unused, json_t *body);
/* A send's optional "sendAt" (ms since the epoch, or ISO-8601 with a zone)
 * into *at (0: none); false once the request is answered 400. */
bool wamd_send_at_of(struct wamd_conn *c, json_t *body, int64_t *at);
/* sendText's number, text and sendAt, checked (false: answered 400). */
bool wamd_send_text_args(struct wamd_conn *c, json_t *body, const char **text_out, char jid[WA_STORE_JID_MAX],
			 int64_t *at);

/* wamd_routes_message.c */
void wamd_h_send_text(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);

/* wamd_send_check.c: true when the send may go on now; otherwise the
 * number's lookup (and the `delay`) runs first and fn is called again with
 * the same body, or the request is answered (400 exists:false, ...). */
bool wamd_send_checked(struct wamd_conn *c, struct wamd_tenant *t, json_t *body, const char *jid, handler_fn fn);

/* wamd_routes_kinds.c */
/* body.quoted {key {id, remoteJid?, fromMe?}, message?} into x; without
 * message, the original is taken from the store (no quote when it is not
 * there). x->quoted_message is the quoted content as a reply embeds it.
 * Returns what x points into (json_decref after the send). */
json_t *wamd_quoted_of(struct wamd_tenant *t, json_t *body, const char *jid, struct wamd_send_extra *x);
void wamd_h_send_location(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_send_contact(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_send_poll(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_send_poll_vote(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_send_reaction(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_send_unavailable(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_update_message(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_delete_for_everyone(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
/* wamd_routes_media.c */
void wamd_h_send_media(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_send_audio(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_send_sticker(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_get_base64(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_media_stream(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
/* wamd_media_retry.c */
void wamd_h_media_retry(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
/* Downloads a stored record's media (its key and message) to dest, asking
 * the phone for a new upload when the blob is gone; a new direct path is
 * stored in the record before done runs. */
int wamd_tenant_download_media_rec(struct wamd_tenant *t, json_t *rec, const char *dest,
	void (*done)(void *user, int err, uint64_t len), void *user) WA_MUST_CHECK;
/* HTTP status of a download / media-retry error (404 gone, 504 no answer, ...). */
int wamd_media_err_status(int err);

/* wamd_routes_proxy.c */
json_t *wamd_proxy_parse(json_t *src, const char *const names[6], json_t *old, const char **why);
json_t *wamd_proxy_row_out(struct wamd_tenant *t, json_t *row);
void wamd_proxy_row_stamp(json_t *row, json_t *old);
void wamd_invalid_proxy(struct wamd_conn *c, const char *why);
void wamd_h_proxy_set(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_proxy_find(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);

/* wamd_routes_settings.c */
json_t *wamd_default_settings(json_t *body);
bool wamd_bad_wa_version(struct wamd_conn *c, json_t *body);
void wamd_h_settings_set(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_settings_find(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);

/* wamd_routes_wamd.c */
void wamd_h_token(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_root(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_verify(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_metrics(struct wamd_conn *c, struct wamd_tenant *unused, json_t *body);
void wamd_h_metrics_reset(struct wamd_conn *c, struct wamd_tenant *unused, json_t *body);

/* wamd_prom.c, wamd_openapi.c: operations */
void wamd_h_prom(struct wamd_conn *c, struct wamd_tenant *unused, json_t *body);
void wamd_h_live(struct wamd_conn *c, struct wamd_tenant *unused, json_t *body);
void wamd_h_ready(struct wamd_conn *c, struct wamd_tenant *unused, json_t *body);
void wamd_h_openapi_page(struct wamd_conn *c, struct wamd_tenant *unused, json_t *body);

/* wamd_routes_rabbitmq.c */
void wamd_h_rabbitmq_set(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_rabbitmq_find(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
/* wamd_routes_webhook.c */
json_t *wamd_parse_webhook(struct wamd *d, json_t *body, json_t *old, const char **err);
void wamd_h_webhook_set(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);
void wamd_h_webhook_find(struct wamd_conn *c, struct wamd_tenant *t, json_t *body);

/* wamd_mentions.c: body's `mentioned` and (groups) `mentionsEveryOne` as
 * *n JIDs in *out (to free(); NULL when none); false after answering. */
bool wamd_mentions_of(struct wamd_conn *c, struct wamd_tenant *t, json_t *body, const char *jid,
		      char (**out)[WA_STORE_JID_MAX], size_t *n);
/* Cluster: true when a send for another node's instance (t peeked) asks
 * for mentionsEveryOne in a group; its payload says so ("everyOne") and
 * the owner adds the members (wamd_mentions_everyone_add) to "mentions". */
bool wamd_mentions_everyone_later(const struct wamd_tenant *t, json_t *body, const char *jid);
int wamd_mentions_everyone_add(struct wamd_tenant *t, json_t *p, const char *jid);

/* wamd_waits.c */
void wamd_api_conn_gone(struct wamd_conn *c);
json_t *wamd_qr_object(struct wamd_tenant *t);
json_t *wamd_state_object(struct wamd_tenant *t);
void wamd_wait_start(struct wamd_conn *c, struct wamd_tenant *t, int kind, json_t *ctx, int ms);
void wamd_api_tenant_changed(struct wamd_tenant *t);

#endif
