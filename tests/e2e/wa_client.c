/* tests/e2e/wa_client.c: a tiny embedder of libwa for end-to-end tests and
 * benchmarks — one lws loop, one store, one session. Commands arrive on
 * stdin as JSON lines, events and command results leave on stdout as JSON
 * lines, logs go to stderr. Shell or Node harnesses drive it against wasim.
 *
 *   wa_client --db PATH [--instance NAME] [--url ws://...] [--root HEX32]
 *             [--insecure] [--log debug] [--ack-timeout-ms MS] [--hist-demand-timeout-ms MS]
 *             [--no-start] [--proxy URL]
 *
 * Commands: {"cmd":"start"} {"cmd":"stop"} {"cmd":"logout"} {"cmd":"state"}
 *   {"cmd":"pair_code","phone":"15551234567"} {"cmd":"quit"}
 *   (messaging commands are added in the marked section below)
 * Events: {"ev":"state","state":"READY","reason":"NONE"} {"ev":"qr","qr":..,
 *   "index":0,"timeout":60,"ms":T} {"ev":"pairing_code","code":..}
 *   {"ev":"paired","jid":..,"lid":..,"platform":..} {"ev":"connected"}
 *   {"ev":"disconnected","reason":..} {"ev":"logged_out"} and message events.
 * "ms" is milliseconds since process start (main). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wa/session.h"
#include "wa/store.h"

#define LINE_MAX_LEN (1024 * 1024)

struct app {
	struct lws_context *ctx;
	wa_store *store;
	wa_session *s;
	bool quit;
	char *line;
	size_t line_len;
	lws_sorted_usec_list_t stdin_sul;
	int64_t t0_ms;
	bool stdin_eof;
};

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void out(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);
	if (s) {
		fputs(s, stdout);
		fputc('\n', stdout);
		fflush(stdout);
		free(s);
	}
	json_decref(j);
}

static json_t *key_json(const wa_msg_key *k)
{
	return json_pack("{s:s?,s:s?,s:b,s:s?,s:s?}", "remote_jid", k->remote_jid, "remote_lid",
		k->remote_lid, "from_me", k->from_me, "id", k->id, "participant", k->participant);
}

static void on_event(wa_session *s, const wa_event *ev, void *user)
{
	(void)s;
	struct app *a = user;
	int64_t ms = mono_ms() - a->t0_ms;
	switch (ev->type) {
	case WA_EV_STATE:
		out(json_pack("{s:s,s:s,s:s,s:I}", "ev", "state", "state",
			wa_conn_state_name(ev->u.state.state), "reason",
			wa_disconnect_reason_name(ev->u.state.reason), "ms", (json_int_t)ms));
		break;
	case WA_EV_QR:
		out(json_pack("{s:s,s:s,s:i,s:i,s:I}", "ev", "qr", "qr", ev->u.qr.qr, "index",
			(int)ev->u.qr.index, "timeout", (int)ev->u.qr.timeout_s, "ms", (json_int_t)ms));
		break;
	case WA_EV_PAIRING_CODE:
		out(json_pack("{s:s,s:s,s:I}", "ev", "pairing_code", "code", ev->u.pairing_code.code,
			"ms", (json_int_t)ms));
		break;
	case WA_EV_PAIRED:
		out(json_pack("{s:s,s:s?,s:s?,s:s?,s:s?}", "ev", "paired", "jid", ev->u.paired.jid,
			"lid", ev->u.paired.lid, "push_name", ev->u.paired.push_name, "platform",
			ev->u.paired.platform));
		break;
	case WA_EV_CONNECTED:
		out(json_pack("{s:s,s:s?,s:I}", "ev", "connected", "jid", wa_session_jid(s), "ms",
			(json_int_t)ms));
		break;
	case WA_EV_DISCONNECTED:
		out(json_pack("{s:s,s:s,s:I}", "ev", "disconnected", "reason",
			wa_disconnect_reason_name(ev->u.state.reason), "ms", (json_int_t)ms));
		break;
	case WA_EV_LOGGED_OUT:
		out(json_pack("{s:s,s:s}", "ev", "logged_out", "reason",
			wa_disconnect_reason_name(ev->u.state.reason)));
		break;
	case WA_EV_MESSAGE: {
		json_t *m = ev->u.message.message_json ? json_loads(ev->u.message.message_json, 0, NULL)
						       : NULL;
		out(json_pack("{s:s,s:o,s:s?,s:I,s:s?,s:s?,s:o,s:b}", "ev", "message", "key",
			key_json(&ev->u.message.key), "push_name", ev->u.message.push_name, "timestamp",
			(json_int_t)ev->u.message.timestamp, "type", ev->u.message.message_type, "text",
			ev->u.message.text, "message", m ? m : json_null(), "offline",
			ev->u.message.offline));
		break;
	}
	case WA_EV_MESSAGE_STATUS:
		out(json_pack("{s:s,s:o,s:i,s:I,s:s?,s:s?,s:I}", "ev", "message_status", "key",
			key_json(&ev->u.message_status.key), "status", (int)ev->u.message_status.status,
			"timestamp", (json_int_t)ev->u.message_status.timestamp, "error",
			ev->u.message_status.error ? wa_errname(ev->u.message_status.error) : NULL,
			"reason", ev->u.message_status.reason, "ms", (json_int_t)ms));
		break;
	case WA_EV_PRESENCE:
		out(json_pack("{s:s,s:s?,s:s?,s:I}", "ev", "presence", "jid", ev->u.presence.jid,
			"presence", ev->u.presence.presence, "last_seen",
			(json_int_t)ev->u.presence.last_seen));
		break;
	case WA_EV_IDENTITY_CHANGED:
		out(json_pack("{s:s,s:s?}", "ev", "identity_changed", "jid", ev->u.identity.jid));
		break;
	case WA_EV_CONTACT:
		out(json_pack("{s:s,s:s?,s:s?,s:s?,s:s?,s:s?}", "ev", "contact", "jid", ev->u.contact.jid, "lid",
			ev->u.contact.lid, "push_name", ev->u.contact.push_name, "full_name", ev->u.contact.full_name,
			"first_name", ev->u.contact.first_name));
		break;
	case WA_EV_MESSAGE_WIRE:
		break; /* latency figures only (wamd's bench) */
	case WA_EV_GROUP:
		out(json_pack("{s:s,s:s,s:s,s:s?,s:I}", "ev", "group", "jid", ev->u.group.jid, "action",
			ev->u.group.action, "author", ev->u.group.author, "n", (json_int_t)ev->u.group.n_participants));
		break;
	case WA_EV_CHAT_UPDATE:
		out(json_pack("{s:s,s:s?,s:i,s:i,s:I,s:i,s:I,s:i,s:I}", "ev", "chat_update", "jid", ev->u.chat.jid,
			"archived", ev->u.chat.archived, "pinned", ev->u.chat.pinned, "pinned_at",
			(json_int_t)ev->u.chat.pinned_at, "muted", ev->u.chat.muted, "mute_end",
			(json_int_t)ev->u.chat.mute_end, "read", ev->u.chat.read, "timestamp",
			(json_int_t)ev->u.chat.timestamp));
		break;
	case WA_EV_PUSH_NAME:
		out(json_pack("{s:s,s:s?}", "ev", "push_name", "name", ev->u.push_name.name));
		break;
	case WA_EV_APP_STATE:
		out(json_pack("{s:s,s:s?,s:I,s:i,s:s?}", "ev", "app_state", "collection", ev->u.app_state.collection,
			"version", (json_int_t)ev->u.app_state.version, "error", ev->u.app_state.error, "detail",
			ev->u.app_state.detail));
		break;
	case WA_EV_LABEL:
		out(json_pack("{s:s,s:s,s:s?,s:s?,s:i,s:b}", "ev", "label", "id", ev->u.label.id, "name", ev->u.label.name,
			"chat", ev->u.label.chat_jid, "labeled", ev->u.label.labeled, "deleted", ev->u.label.deleted));
		break;
	case WA_EV_HISTORY:
		out(json_pack("{s:s,s:s?,s:i,s:i,s:I,s:I,s:I,s:b}", "ev", "history", "sync_type",
			ev->u.history.sync_type_name, "chunk_order", (int)ev->u.history.chunk_order, "progress",
			(int)ev->u.history.progress, "chats", (json_int_t)ev->u.history.n_chats, "contacts",
			(json_int_t)ev->u.history.n_contacts, "messages", (json_int_t)ev->u.history.n_messages, "last",
			ev->u.history.last));
		break;
	case WA_EV_HISTORY_DEMAND:
		out(json_pack("{s:s,s:s,s:s,s:i}", "ev", "history_demand", "request_id", ev->u.history_demand.request_id,
			"chat", ev->u.history_demand.chat, "error", ev->u.history_demand.error));
		break;
	case WA_EV_CALL: {
		json_t *c = json_pack("{s:s,s:s,s:s,s:s?,s:s,s:s,s:I,s:b}", "ev", "call", "chat", ev->u.call.chat, "from",
			ev->u.call.from, "caller_pn", ev->u.call.caller_pn, "id", ev->u.call.id, "status",
			ev->u.call.status, "timestamp", (json_int_t)ev->u.call.timestamp, "offline", ev->u.call.offline);
		if (c && ev->u.call.known) {
			json_object_set_new(c, "is_video", json_boolean(ev->u.call.is_video));
			json_object_set_new(c, "is_group", json_boolean(ev->u.call.is_group));
		}
		out(c);
		break;
	}
	}
}

/* --- messaging helpers (S2) --- */
/* Borrows the strings of j (valid while the command's JSON lives). */
static void key_from_json(json_t *j, wa_msg_key *k)
{
	memset(k, 0, sizeof *k);
	k->remote_jid = json_string_value(json_object_get(j, "remote_jid"));
	k->remote_lid = json_string_value(json_object_get(j, "remote_lid"));
	k->from_me = json_is_true(json_object_get(j, "from_me"));
	k->id = json_string_value(json_object_get(j, "id"));
	k->participant = json_string_value(json_object_get(j, "participant"));
}

static void on_numbers(wa_session *s, int err, const wa_number_info *infos, size_t n, void *user)
{
	(void)s;
	(void)user;
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_pack("{s:s?,s:b,s:s?,s:s?}", "query", infos[i].query,
			"exists", infos[i].exists, "jid", infos[i].jid, "lid", infos[i].lid));
	out(json_pack("{s:s,s:b,s:o}", "ev", "numbers", "ok", err == 0, "results", arr));
}

static void reply(const char *cmd, int rc, json_t *extra)
{
	json_t *j = json_pack("{s:s,s:s,s:b}", "ev", "result", "cmd", cmd, "ok", rc == 0);
	if (rc)
		json_object_set_new(j, "err", json_string(wa_errname(rc)));
	if (extra) {
		json_object_update(j, extra);
		json_decref(extra);
	}
	out(j);
}

static void run_command(struct app *a, const char *line)
{
	json_error_t jerr;
	json_t *j = json_loads(line, 0, &jerr);
	const char *cmd = j ? json_string_value(json_object_get(j, "cmd")) : NULL;
	if (!cmd) {
		out(json_pack("{s:s,s:s}", "ev", "error", "error", "bad command line"));
		json_decref(j);
		return;
	}
	int rc = 0;
	if (strcmp(cmd, "start") == 0) {
		rc = wa_session_start(a->s);
		reply(cmd, rc, NULL);
	} else if (strcmp(cmd, "stop") == 0) {
		rc = wa_session_stop(a->s);
		reply(cmd, rc, NULL);
	} else if (strcmp(cmd, "logout") == 0) {
		rc = wa_session_logout(a->s);
		reply(cmd, rc, NULL);
	} else if (strcmp(cmd, "state") == 0) {
		reply(cmd, 0, json_pack("{s:s,s:b,s:s?}", "state",
			wa_conn_state_name(wa_session_state(a->s)), "paired", wa_session_is_paired(a->s),
			"jid", wa_session_jid(a->s)));
	} else if (strcmp(cmd, "pair_code") == 0) {
		const char *phone = json_string_value(json_object_get(j, "phone"));
		rc = phone ? wa_session_request_pairing_code(a->s, phone) : WA_EINVAL;
		reply(cmd, rc, NULL);
	} else if (strcmp(cmd, "quit") == 0) {
		a->quit = true;
		lws_cancel_service(a->ctx); /* wake the poll so the loop sees quit */
		reply(cmd, 0, NULL);
	}
	/* --- messaging commands (S2) --- */
	else if (strcmp(cmd, "send_text") == 0) {
		const char *to = json_string_value(json_object_get(j, "to"));
		const char *text = json_string_value(json_object_get(j, "text"));
		wa_send_opts o = {0};
		wa_msg_key qk;
		o.id = json_string_value(json_object_get(j, "id"));
		json_t *q = json_object_get(j, "quoted");
		if (json_is_object(q)) {
			key_from_json(q, &qk);
			o.quoted = &qk;
			o.quoted_text = json_string_value(json_object_get(j, "quoted_text"));
		}
		char *id = NULL;
		rc = to && text ? wa_session_send_text(a->s, to, text, &o, &id) : WA_EINVAL;
		reply(cmd, rc, id ? json_pack("{s:s}", "id", id) : NULL);
		free(id);
	} else if (strcmp(cmd, "fetch_history") == 0) {
		const char *chat = json_string_value(json_object_get(j, "chat"));
		const char *oid = json_string_value(json_object_get(j, "oldest_id"));
		char rid[23] = "";
		rc = chat && oid ? wa_session_fetch_history(a->s, chat, (int)json_integer_value(json_object_get(j, "count")), oid,
			json_is_true(json_object_get(j, "oldest_from_me")),
			json_integer_value(json_object_get(j, "oldest_ts_ms")), rid) : WA_EINVAL;
		reply(cmd, rc, rc == 0 ? json_pack("{s:s}", "id", rid) : NULL);
	} else if (strcmp(cmd, "send_reaction") == 0) {
		json_t *k = json_object_get(j, "key");
		const char *emoji = json_string_value(json_object_get(j, "emoji"));
		wa_msg_key key;
		char *id = NULL;
		if (json_is_object(k) && emoji) {
			key_from_json(k, &key);
			rc = wa_session_send_reaction(a->s, &key, emoji, &id);
		} else {
			rc = WA_EINVAL;
		}
		reply(cmd, rc, id ? json_pack("{s:s}", "id", id) : NULL);
		free(id);
	} else if (strcmp(cmd, "mark_read") == 0) {
		json_t *ks = json_object_get(j, "keys");
		size_t n = json_array_size(ks);
		wa_msg_key *keys = calloc(n ? n : 1, sizeof *keys);
		for (size_t i = 0; keys && i < n; i++)
			key_from_json(json_array_get(ks, i), &keys[i]);
		rc = keys ? wa_session_mark_read(a->s, keys, n) : WA_ENOMEM;
		free(keys);
		reply(cmd, rc, NULL);
	} else if (strcmp(cmd, "presence") == 0) {
		const char *p = json_string_value(json_object_get(j, "presence"));
		rc = p ? wa_session_send_presence(a->s, json_string_value(json_object_get(j, "to")), p)
		       : WA_EINVAL;
		reply(cmd, rc, NULL);
	} else if (strcmp(cmd, "reject_call") == 0) {
		rc = wa_session_reject_call(a->s, json_string_value(json_object_get(j, "id")),
			json_string_value(json_object_get(j, "from")));
		reply(cmd, rc, NULL);
	} else if (strcmp(cmd, "check_numbers") == 0) {
		json_t *ns = json_object_get(j, "numbers");
		size_t n = json_array_size(ns);
		const char **nums = calloc(n ? n : 1, sizeof *nums);
		for (size_t i = 0; nums && i < n; i++)
			nums[i] = json_string_value(json_array_get(ns, i));
		rc = nums ? wa_session_check_numbers(a->s, nums, n, on_numbers, a) : WA_ENOMEM;
		free(nums);
		reply(cmd, rc, NULL);
	} else {
		out(json_pack("{s:s,s:s,s:s}", "ev", "error", "error", "unknown command", "cmd", cmd));
	}
	json_decref(j);
}

static void stdin_poll(lws_sorted_usec_list_t *sul)
{
	struct app *a = lws_container_of(sul, struct app, stdin_sul);
	char buf[4096];
	for (;;) {
		ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
		if (n == 0) {
			a->stdin_eof = true;
			a->quit = true;
			lws_cancel_service(a->ctx);
			return;
		}
		if (n < 0)
			break;
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n') {
				a->line[a->line_len] = '\0';
				if (a->line_len)
					run_command(a, a->line);
				a->line_len = 0;
				if (a->quit)
					return;
			} else if (a->line_len + 1 < LINE_MAX_LEN) {
				a->line[a->line_len++] = buf[i];
			}
		}
	}
	lws_sul_schedule(a->ctx, 0, &a->stdin_sul, stdin_poll, 10 * LWS_US_PER_MS);
}

static enum wa_log_level parse_level(const char *s)
{
	if (strcmp(s, "trace") == 0)
		return WA_LOG_TRACE;
	if (strcmp(s, "debug") == 0)
		return WA_LOG_DEBUG;
	if (strcmp(s, "warn") == 0)
		return WA_LOG_WARN;
	if (strcmp(s, "error") == 0)
		return WA_LOG_ERROR;
	return WA_LOG_INFO;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int main(int argc, char **argv)
{
	struct app a;
	memset(&a, 0, sizeof a);
	a.t0_ms = mono_ms();
	const char *db = NULL, *inst = "default", *url = NULL, *root_hex = NULL, *level = "info";
	const char *push = NULL, *proxy = NULL;
	uint32_t ack_timeout_ms = 0, hist_demand_ms = 0;
	bool insecure = false, autostart = true, offline = false;
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(o, "--db") == 0 && v)
			db = argv[++i];
		else if (strcmp(o, "--instance") == 0 && v)
			inst = argv[++i];
		else if (strcmp(o, "--url") == 0 && v)
			url = argv[++i];
		else if (strcmp(o, "--root") == 0 && v)
			root_hex = argv[++i];
		else if (strcmp(o, "--log") == 0 && v)
			level = argv[++i];
		else if (strcmp(o, "--push-name") == 0 && v)
			push = argv[++i];
		else if (strcmp(o, "--proxy") == 0 && v)
			proxy = argv[++i];
		else if (strcmp(o, "--hist-demand-timeout-ms") == 0 && v)
			hist_demand_ms = (uint32_t)strtoul(argv[++i], NULL, 10);
		else if (strcmp(o, "--ack-timeout-ms") == 0 && v)
			ack_timeout_ms = (uint32_t)strtoul(argv[++i], NULL, 10);
		else if (strcmp(o, "--insecure") == 0)
			insecure = true;
		else if (strcmp(o, "--offline-on-connect") == 0)
			offline = true;
		else if (strcmp(o, "--no-start") == 0)
			autostart = false;
		else {
			fprintf(stderr, "usage: wa_client --db PATH [--instance N] [--url U] [--root HEX] "
					"[--insecure] [--log LEVEL] [--push-name N] [--ack-timeout-ms MS] "
					"[--no-start] [--proxy U] [--offline-on-connect]\n");
			return 2;
		}
	}
	if (!db) {
		fprintf(stderr, "wa_client: --db is required\n");
		return 2;
	}
	uint8_t root[32];
	if (root_hex) {
		if (strlen(root_hex) != 64) {
			fprintf(stderr, "wa_client: --root needs 64 hex chars\n");
			return 2;
		}
		for (int i = 0; i < 32; i++) {
			int h = hexval(root_hex[2 * i]), l = hexval(root_hex[2 * i + 1]);
			if (h < 0 || l < 0) {
				fprintf(stderr, "wa_client: bad --root\n");
				return 2;
			}
			root[i] = (uint8_t)(h << 4 | l);
		}
	}
	wa_log_set_level(parse_level(level));
	lws_set_log_level(getenv("WA_LWS_LOG") ? atoi(getenv("WA_LWS_LOG")) : LLL_ERR, NULL);

	size_t np;
	const struct lws_protocols *wp = wa_lws_protocols(&np);
	struct lws_protocols protos[4];
	memset(protos, 0, sizeof protos);
	memcpy(protos, wp, np * sizeof *wp);
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protos;
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	info.fd_limit_per_thread = 64;
	a.ctx = lws_create_context(&info);
	if (!a.ctx) {
		fprintf(stderr, "wa_client: lws context failed\n");
		return 1;
	}
	int rc = wa_store_open(db, NULL, &a.store);
	int64_t iid = 0;
	if (rc == 0) {
		rc = wa_store_instance_find(a.store, inst, &iid);
		if (rc == WA_ENOTFOUND)
			rc = wa_store_instance_create(a.store, inst, &iid);
	}
	wa_session_config cfg = {
		.lws = a.ctx,
		.store = a.store,
		.instance_id = iid,
		.url = url,
		.trust_root_pub = root_hex ? root : NULL,
		.tls_insecure = insecure,
		.push_name = push,
		.proxy = proxy,
		.ack_timeout_ms = ack_timeout_ms,
		.history_demand_timeout_ms = hist_demand_ms,
		.offline_on_connect = offline,
	};
	if (rc == 0)
		rc = wa_session_new(&cfg, on_event, &a, &a.s);
	if (rc == 0 && autostart)
		rc = wa_session_start(a.s);
	if (rc) {
		fprintf(stderr, "wa_client: %s\n", wa_strerror(rc));
		wa_session_free(a.s);
		wa_store_close(a.store);
		lws_context_destroy(a.ctx);
		return 1;
	}
	a.line = malloc(LINE_MAX_LEN);
	if (!a.line)
		return 1;
	fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL) | O_NONBLOCK);
	lws_sul_schedule(a.ctx, 0, &a.stdin_sul, stdin_poll, 1);
	while (!a.quit)
		if (lws_service(a.ctx, 0) < 0)
			break;
	lws_sul_cancel(&a.stdin_sul);
	wa_session_free(a.s);
	/* let lws close the websocket before the context goes */
	lws_context_destroy(a.ctx);
	wa_store_close(a.store);
	free(a.line);
	return 0;
}
