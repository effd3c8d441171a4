/* TEST-ONLY fake of include/wa/session.h, linked into the test program
 * wamd_fakesession and NEVER into the real wamd. It drives the daemon's API
 * and webhook tests with synthetic, scripted events until the real session
 * engine can do it against wasim:
 *   - start without "credentials": PAIRING, a QR every WAMD_FAKE_QR_MS
 *     (default 400 ms); WAMD_FAKE_AUTOPAIR_MS pairs by itself after that long;
 *   - request_pairing_code: emits "FAKE-CODE", pairs 300 ms later;
 *   - pairing writes <WAMD_FAKE_DIR>/paired-<instance id> (the fake's
 *     "credentials"), so a restarted daemon connects at once;
 *   - send_text: the wire mark and status SENT, then DELIVERED, READ 30 ms apart; a text starting
 *     with "echo " also produces an incoming message with the rest; one
 *     starting with "fail " gets ERROR (WA_ENOTFOUND, "not on WhatsApp");
 *   - send_location / _contacts / _poll / _edit / _revoke: accepted like a
 *     text (an id, then SENT, DELIVERED, READ);
 *   - check_numbers: numbers ending in 0000 do not exist (so sends to them
 *     get wamd's 400 exists:false);
 *   - logout: removes the marker, emits LOGGED_OUT;
 *   - new: WAMD_FAKE_NEW_MS blocks that long (a store slow to read the
 *     instance's credentials, so start-up tests can see instances pending);
 *     a proxy is checked with libwa's real parser (wa_tr_proxy_check)
 *     and written to <WAMD_FAKE_DIR>/proxy-<instance id> with the password
 *     part replaced by "***" (absent file: no proxy), so tests see what the
 *     daemon passed. */
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "transport/ws.h"
#include "wa/session.h"

#define FAKE_MAX_TIMERS 4096 /* scripted events in flight; more would be dropped */

struct fake_timer {
	lws_sorted_usec_list_t sul;
	struct wa_session *s;
	int kind;
	char *a, *b;
	unsigned n;
	bool used;
};

enum { K_QR = 1, K_PAIR, K_CONNECT, K_STATUS, K_ECHO, K_NUMBERS, K_FAIL };

struct wa_session {
	wa_session_config cfg;
	wa_event_fn fn;
	void *user;
	enum wa_conn_state state;
	bool paired;
	unsigned qr_index;
	char jid[128];
	struct fake_timer timers[FAKE_MAX_TIMERS];
	unsigned id_counter;
	wa_numbers_fn numbers_fn;
	void *numbers_user;
};

static const char *fake_dir(void)
{
	const char *d = getenv("WAMD_FAKE_DIR");
	return d && *d ? d : "/tmp";
}

static void marker(const wa_session *s, char *out, size_t n)
{
	snprintf(out, n, "%s/paired-%lld", fake_dir(), (long long)s->cfg.instance_id);
}

static long env_ms(const char *n, long def)
{
	const char *v = getenv(n);
	return v && *v ? atol(v) : def;
}

const char *wa_conn_state_name(enum wa_conn_state st)
{
	static const char *n[] = { "DISCONNECTED", "CONNECTING", "HANDSHAKING", "PAIRING", "AUTHENTICATING",
		"READY", "BACKOFF", "CLOSING", "LOGGED_OUT" };
	return (unsigned)st < 9 ? n[st] : "?";
}

const char *wa_disconnect_reason_name(enum wa_disconnect_reason r)
{
	(void)r;
	return "FAKE";
}

const char *wa_msg_status_name(enum wa_msg_status st)
{
	(void)st;
	return "FAKE";
}

/* wa_lws_protocols comes from the real transport (linked for the proxy
 * parser); its protocol is registered but never used by the fake. */

static void set_state(wa_session *s, enum wa_conn_state st, enum wa_disconnect_reason r)
{
	s->state = st;
	wa_event ev = { .type = WA_EV_STATE };
	ev.u.state.state = st;
	ev.u.state.reason = r;
	s->fn(s, &ev, s->user);
}

static void timer_cb(lws_sorted_usec_list_t *sul);

static void after(wa_session *s, long ms, int kind, const char *a, const char *b, unsigned n)
{
	for (int i = 0; i < FAKE_MAX_TIMERS; i++) {
		struct fake_timer *t = &s->timers[i];
		if (t->used)
			continue;
		t->used = true;
		t->s = s;
		t->kind = kind;
		t->a = a ? strdup(a) : NULL;
		t->b = b ? strdup(b) : NULL;
		t->n = n;
		lws_sul_schedule(s->cfg.lws, 0, &t->sul, timer_cb, ms * LWS_US_PER_MS);
		return;
	}
}

static void do_pair(wa_session *s, const char *phone)
{
	snprintf(s->jid, sizeof s->jid, "%s:7@s.whatsapp.net", phone && *phone ? phone : "5511999990000");
	char m[512];
	marker(s, m, sizeof m);
	FILE *f = fopen(m, "w");
	if (f) {
		fputs(s->jid, f);
		fclose(f);
	}
	s->paired = true;
	wa_event ev = { .type = WA_EV_PAIRED };
	ev.u.paired.jid = s->jid;
	ev.u.paired.lid = "99887766@lid";
	ev.u.paired.push_name = "Fake Phone";
	s->fn(s, &ev, s->user);
	/* 515 restart after pairing, then logged in */
	set_state(s, WA_CONN_CONNECTING, WA_DISC_RESTART_REQUIRED);
	after(s, 50, K_CONNECT, NULL, NULL, 0);
}

static void timer_cb(lws_sorted_usec_list_t *sul)
{
	struct fake_timer *t = lws_container_of(sul, struct fake_timer, sul);
	wa_session *s = t->s;
	t->used = false;
	char *a = t->a, *b = t->b;
	t->a = t->b = NULL;
	switch (t->kind) {
	case K_QR:
		if (s->state == WA_CONN_PAIRING && !s->paired) {
			char qr[200];
			snprintf(qr, sizeof qr, "2@fakeref%u,Zm9vbm9pc2U=,ZmFrZWlkZW50aXR5,ZmFrZWFkdg==", s->qr_index);
			wa_event ev = { .type = WA_EV_QR };
			ev.u.qr.qr = qr;
			ev.u.qr.index = s->qr_index++;
			ev.u.qr.timeout_s = 1;
			s->fn(s, &ev, s->user);
			after(s, env_ms("WAMD_FAKE_QR_MS", 400), K_QR, NULL, NULL, 0);
		}
		break;
	case K_PAIR:
		if (s->state == WA_CONN_PAIRING && !s->paired)
			do_pair(s, a);
		break;
	case K_CONNECT:
		if (s->state != WA_CONN_DISCONNECTED) {
			set_state(s, WA_CONN_READY, WA_DISC_NONE);
			wa_event ev = { .type = WA_EV_CONNECTED };
			s->fn(s, &ev, s->user);
		}
		break;
	case K_STATUS: {
		if (t->n == WA_MSG_SENT) {
			/* "written to the socket" just before the server ack (send latency) */
			wa_event w = { .type = WA_EV_MESSAGE_WIRE };
			w.u.message_status.key.remote_jid = a;
			w.u.message_status.key.id = b;
			w.u.message_status.key.from_me = true;
			w.u.message_status.status = WA_MSG_PENDING;
			s->fn(s, &w, s->user);
		}
		wa_event ev = { .type = WA_EV_MESSAGE_STATUS };
		ev.u.message_status.key.remote_jid = a;
		ev.u.message_status.key.id = b;
		ev.u.message_status.key.from_me = true;
		ev.u.message_status.status = (enum wa_msg_status)t->n;
		ev.u.message_status.timestamp = 1;
		s->fn(s, &ev, s->user);
		break;
	}
	case K_FAIL: {
		wa_event ev = { .type = WA_EV_MESSAGE_STATUS };
		ev.u.message_status.key.remote_jid = a;
		ev.u.message_status.key.id = b;
		ev.u.message_status.key.from_me = true;
		ev.u.message_status.status = WA_MSG_ERROR;
		ev.u.message_status.timestamp = 1;
		ev.u.message_status.error = WA_ENOTFOUND;
		ev.u.message_status.reason = "not on WhatsApp";
		s->fn(s, &ev, s->user);
		break;
	}
	case K_ECHO: {
		char id[32];
		snprintf(id, sizeof id, "3A%018u", ++s->id_counter);
		char json[1200];
		snprintf(json, sizeof json, "{\"conversation\":\"%s\"}", b);
		wa_event ev = { .type = WA_EV_MESSAGE };
		ev.u.message.key.remote_jid = a;
		ev.u.message.key.remote_lid = "11223344@lid";
		ev.u.message.key.id = id;
		ev.u.message.push_name = "Echo Peer";
		ev.u.message.timestamp = (int64_t)time(NULL) + 1;
		ev.u.message.message_type = "conversation";
		ev.u.message.text = b;
		ev.u.message.message_json = json;
		s->fn(s, &ev, s->user);
		break;
	}
	case K_NUMBERS: {
		/* a: numbers joined by '\n' */
		wa_number_info infos[64];
		char jids[64][80];
		size_t n = 0;
		for (char *save = NULL, *p = strtok_r(a, "\n", &save); p && n < 64; p = strtok_r(NULL, "\n", &save)) {
			size_t l = strlen(p);
			infos[n].query = p;
			infos[n].exists = !(l >= 4 && !strcmp(p + l - 4, "0000"));
			snprintf(jids[n], sizeof jids[n], "%s@s.whatsapp.net", p);
			infos[n].jid = jids[n];
			infos[n].lid = infos[n].exists ? "11223344@lid" : NULL;
			n++;
		}
		wa_numbers_fn fn = s->numbers_fn;
		s->numbers_fn = NULL;
		if (fn)
			fn(s, 0, infos, n, s->numbers_user);
		break;
	}
	}
	free(a);
	free(b);
}

int wa_proxy_check(const char *proxy)
{
	return proxy && proxy[0] ? wa_tr_proxy_check(proxy) : 0;
}

/* Records the proxy the daemon passed, password masked. */
static void record_proxy(const wa_session_config *cfg)
{
	char path[512];
	snprintf(path, sizeof path, "%s/proxy-%lld", fake_dir(), (long long)cfg->instance_id);
	if (!cfg->proxy || !cfg->proxy[0]) {
		unlink(path);
		return;
	}
	char red[1200];
	const char *at = strrchr(cfg->proxy, '@');
	const char *scheme_end = strstr(cfg->proxy, "://");
	const char *colon = scheme_end && at ? memchr(scheme_end + 3, ':', (size_t)(at - scheme_end - 3)) : NULL;
	if (colon && colon + 1 < at)
		snprintf(red, sizeof red, "%.*s:***%s", (int)(colon - cfg->proxy), cfg->proxy, at);
	else
		snprintf(red, sizeof red, "%s", cfg->proxy);
	FILE *f = fopen(path, "w");
	if (f) {
		fprintf(f, "%s\n", red);
		fclose(f);
	}
}

int wa_session_new(const wa_session_config *cfg, wa_event_fn on_event, void *user, wa_session **out)
{
	int prc = wa_proxy_check(cfg->proxy);
	if (prc)
		return prc;
	long slow = env_ms("WAMD_FAKE_NEW_MS", 0);
	if (slow > 0)
		usleep((useconds_t)slow * 1000);
	record_proxy(cfg);
	wa_session *s = calloc(1, sizeof *s);
	if (!s)
		return WA_ENOMEM;
	s->cfg = *cfg;
	s->fn = on_event;
	s->user = user;
	char m[512];
	marker(s, m, sizeof m);
	FILE *f = fopen(m, "r");
	if (f) {
		if (fgets(s->jid, sizeof s->jid, f))
			s->paired = true;
		fclose(f);
	}
	*out = s;
	return 0;
}

static void cancel_all(wa_session *s)
{
	for (int i = 0; i < FAKE_MAX_TIMERS; i++)
		if (s->timers[i].used) {
			lws_sul_cancel(&s->timers[i].sul);
			free(s->timers[i].a);
			free(s->timers[i].b);
			s->timers[i].a = s->timers[i].b = NULL;
			s->timers[i].used = false;
		}
}

void wa_session_free(wa_session *s)
{
	if (!s)
		return;
	cancel_all(s);
	free(s);
}

int wa_session_start(wa_session *s)
{
	set_state(s, WA_CONN_CONNECTING, WA_DISC_NONE);
	if (s->paired) {
		wa_event ev = { .type = WA_EV_PAIRED };
		ev.u.paired.jid = s->jid;
		ev.u.paired.push_name = "Fake Phone";
		s->fn(s, &ev, s->user);
		after(s, 30, K_CONNECT, NULL, NULL, 0);
		return 0;
	}
	set_state(s, WA_CONN_PAIRING, WA_DISC_NONE);
	after(s, 20, K_QR, NULL, NULL, 0);
	long ap = env_ms("WAMD_FAKE_AUTOPAIR_MS", 0);
	if (ap > 0)
		after(s, ap, K_PAIR, NULL, NULL, 0);
	return 0;
}

int wa_session_stop(wa_session *s)
{
	cancel_all(s);
	if (s->state != WA_CONN_DISCONNECTED)
		set_state(s, WA_CONN_DISCONNECTED, WA_DISC_BY_USER);
	return 0;
}

int wa_session_request_pairing_code(wa_session *s, const char *phone)
{
	if (s->state != WA_CONN_PAIRING)
		return WA_ESTATE;
	wa_event ev = { .type = WA_EV_PAIRING_CODE };
	ev.u.pairing_code.code = "FAKE-CODE";
	s->fn(s, &ev, s->user);
	after(s, 300, K_PAIR, phone, NULL, 0);
	return 0;
}

int wa_session_logout(wa_session *s)
{
	char m[512];
	marker(s, m, sizeof m);
	unlink(m);
	s->paired = false;
	cancel_all(s);
	set_state(s, WA_CONN_LOGGED_OUT, WA_DISC_LOGGED_OUT);
	wa_event ev = { .type = WA_EV_LOGGED_OUT };
	s->fn(s, &ev, s->user);
	return 0;
}

enum wa_conn_state wa_session_state(const wa_session *s)
{
	return s->state;
}

bool wa_session_is_paired(const wa_session *s)
{
	return s->paired;
}

const char *wa_session_jid(const wa_session *s)
{
	return s->paired ? s->jid : NULL;
}

int wa_session_send_text(wa_session *s, const char *to, const char *text, const wa_send_opts *opts, char **id_out)
{
	(void)opts;
	if (!s->paired)
		return WA_ESTATE;
	char id[32];
	snprintf(id, sizeof id, "3EB0%018u", ++s->id_counter);
	if (!strncmp(text, "fail ", 5))
		after(s, 30, K_FAIL, to, id, 0);
	else
		for (unsigned st = WA_MSG_SENT; st <= WA_MSG_READ; st++)
			after(s, 30 * (long)(st - 1), K_STATUS, to, id, st);
	if (!strncmp(text, "echo ", 5))
		after(s, 100, K_ECHO, to, text + 5, 0);
	if (id_out) {
		*id_out = strdup(id);
		if (!*id_out)
			return WA_ENOMEM;
	}
	return 0;
}

int wa_session_send_reaction(wa_session *s, const wa_msg_key *target, const char *emoji, char **id_out)
{
	(void)s, (void)target, (void)emoji, (void)id_out;
	return WA_ESTATE;
}

int wa_session_send_reaction_as(wa_session *s, const wa_msg_key *target, const char *emoji, const char *id,
				char **id_out)
{
	(void)id;
	return wa_session_send_reaction(s, target, emoji, id_out);
}

/* the other kinds: accepted like a text (an id, then SENT/DELIVERED/READ) */
static int fake_queue(wa_session *s, const char *to, char **id_out)
{
	if (!s->paired)
		return WA_ESTATE;
	char id[32];
	snprintf(id, sizeof id, "3EB0%018u", ++s->id_counter);
	for (unsigned st = WA_MSG_SENT; st <= WA_MSG_READ; st++)
		after(s, 30 * (long)(st - 1), K_STATUS, to, id, st);
	if (id_out && !(*id_out = strdup(id)))
		return WA_ENOMEM;
	return 0;
}

int wa_session_send_location(wa_session *s, const char *to, double lat, double lon, const char *name,
			     const char *address, const wa_send_opts *opts, char **id_out)
{
	(void)lat, (void)lon, (void)name, (void)address, (void)opts;
	return fake_queue(s, to, id_out);
}

int wa_session_send_contacts(wa_session *s, const char *to, const char *list_name, const wa_vcard *cards,
			     size_t n, const wa_send_opts *opts, char **id_out)
{
	(void)list_name, (void)cards, (void)n, (void)opts;
	return fake_queue(s, to, id_out);
}

int wa_session_send_poll(wa_session *s, const char *to, const char *name, const char *const *options, size_t n,
			 unsigned selectable, const uint8_t *secret, const wa_send_opts *opts, char **id_out)
{
	(void)name, (void)options, (void)n, (void)selectable, (void)secret, (void)opts;
	return fake_queue(s, to, id_out);
}

int wa_group_cached_members(wa_session *s, const char *group, char (**jids)[WA_STORE_JID_MAX], size_t *n)
{
	(void)s, (void)group;
	*jids = NULL;
	*n = 0;
	return WA_ENOTFOUND;
}

int wa_group_cached_ephemeral(wa_session *s, const char *group, uint32_t *seconds)
{
	(void)s, (void)group;
	*seconds = 0;
	return WA_ENOTFOUND;
}

int wa_session_send_poll_vote(wa_session *s, const char *to, const char *poll_id, const char *const *options,
			      size_t n, char **id_out)
{
	(void)poll_id, (void)options, (void)n;
	return fake_queue(s, to, id_out);
}

int wa_session_send_edit(wa_session *s, const wa_msg_key *target, const char *text, char **id_out)
{
	(void)text;
	return fake_queue(s, target->remote_jid, id_out);
}

int wa_session_send_revoke(wa_session *s, const wa_msg_key *target, char **id_out)
{
	return fake_queue(s, target->remote_jid, id_out);
}

/* Media is exercised against wasim with the real libwa (wamd_media.mjs). */
uint64_t wa_media_kind_max_len(enum wa_media_kind kind)
{
	return kind == WA_MEDIA_KIND_DOCUMENT ? 2ull << 30 : 16ull << 20;
}

int wa_session_send_media(wa_session *s, const char *to, const wa_media_send *m, const wa_send_opts *opts,
			  char **id_out)
{
	(void)s, (void)to, (void)m, (void)opts, (void)id_out;
	return WA_EUNSUPPORTED;
}

int wa_session_download_media(wa_session *s, const char *message_json, const char *dest_path, wa_download_fn done,
			      void *user)
{
	(void)s, (void)message_json, (void)dest_path, (void)done, (void)user;
	return WA_EUNSUPPORTED;
}

int wa_session_download_media_retry(wa_session *s, const wa_msg_key *key, const char *message_json,
				    const char *dest_path, wa_download_retry_fn done, void *user)
{
	(void)s, (void)key, (void)message_json, (void)dest_path, (void)done, (void)user;
	return WA_EUNSUPPORTED;
}

int wa_session_media_retry(wa_session *s, const wa_msg_key *key, const char *message_json, wa_media_retry_fn done,
			   void *user)
{
	(void)s, (void)key, (void)message_json, (void)done, (void)user;
	return WA_EUNSUPPORTED;
}

int wa_session_mark_read(wa_session *s, const wa_msg_key *keys, size_t n)
{
	(void)keys, (void)n;
	return s->paired ? 0 : WA_ESTATE;
}

void wa_session_set_offline_on_connect(wa_session *s, bool offline)
{
	(void)s, (void)offline;
}

/* Calls are exercised against wasim with the real libwa (wamd_calls.mjs). */
int wa_session_reject_call(wa_session *s, const char *call_id, const char *call_from)
{
	(void)call_id, (void)call_from;
	return s->paired ? 0 : WA_ESTATE;
}

int wa_session_send_presence(wa_session *s, const char *to, const char *presence)
{
	(void)to, (void)presence;
	return s->paired ? 0 : WA_ESTATE;
}

int wa_session_check_numbers(wa_session *s, const char *const *numbers, size_t n, wa_numbers_fn done, void *user)
{
	if (!s->paired || s->numbers_fn)
		return WA_ESTATE;
	size_t len = 1;
	for (size_t i = 0; i < n; i++)
		len += strlen(numbers[i]) + 1;
	char *joined = calloc(1, len);
	if (!joined)
		return WA_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		strcat(joined, numbers[i]);
		strcat(joined, "\n");
	}
	s->numbers_fn = done;
	s->numbers_user = user;
	after(s, 20, K_NUMBERS, joined, NULL, 0);
	free(joined);
	return 0;
}

/* Admission gate: the fake connects at once, so it only keeps the bound
 * for wamd's metrics route. start_spread starts at once (deterministic
 * tests). */
struct wa_gate {
	unsigned max;
};

int wa_gate_new(unsigned max_handshakes, wa_gate **out)
{
	if (!out || !max_handshakes)
		return WA_EINVAL;
	wa_gate *g = calloc(1, sizeof *g);
	if (!g)
		return WA_ENOMEM;
	g->max = max_handshakes;
	*out = g;
	return 0;
}

void wa_gate_free(wa_gate *g)
{
	free(g);
}

int wa_gate_set_max(wa_gate *g, unsigned max_handshakes)
{
	if (!g || !max_handshakes)
		return WA_EINVAL;
	g->max = max_handshakes;
	return 0;
}

void wa_gate_get_stats(const wa_gate *g, wa_gate_stats *out)
{
	if (g && out)
		*out = (wa_gate_stats){ .max = g->max };
}

int wa_session_start_spread(wa_session *s, uint32_t max_delay_ms)
{
	(void)max_delay_ms;
	return wa_session_start(s);
}

/* Same rule as libwa's: "A.B.C", decimals below 2^32. */
int wa_version_check(const char *v)
{
	if (!v || !*v)
		return 0;
	for (int i = 0; i < 3; i++) {
		unsigned long long x = 0;
		if (*v < '0' || *v > '9')
			return WA_EINVAL;
		while (*v >= '0' && *v <= '9')
			if ((x = x * 10 + (unsigned long long)(*v++ - '0')) > 0xffffffffull)
				return WA_EINVAL;
		if (i < 2 && *v++ != '.')
			return WA_EINVAL;
	}
	return *v ? WA_EINVAL : 0;
}

/* Groups are not faked: every call is refused as unsupported (the group
 * routes are tested against the real engine and wasim). */
int wa_group_create(wa_session *s, const char *subject, const char *const *participants, size_t n,
		    wa_group_fn done, void *user)
{
	(void)s, (void)subject, (void)participants, (void)n, (void)done, (void)user;
	return WA_EUNSUPPORTED;
}

int wa_group_metadata(wa_session *s, const char *group, wa_group_fn done, void *user)
{
	(void)s, (void)group, (void)done, (void)user;
	return WA_EUNSUPPORTED;
}

int wa_group_participating(wa_session *s, wa_group_fn done, void *user)
{
	(void)s, (void)done, (void)user;
	return WA_EUNSUPPORTED;
}

int wa_group_participants(wa_session *s, const char *group, const char *action,
			  const char *const *participants, size_t n, wa_group_change_fn done, void *user)
{
	(void)s, (void)group, (void)action, (void)participants, (void)n, (void)done, (void)user;
	return WA_EUNSUPPORTED;
}

int wa_group_leave(wa_session *s, const char *group, wa_group_done_fn done, void *user)
{
	(void)s, (void)group, (void)done, (void)user;
	return WA_EUNSUPPORTED;
}

int wa_group_set_subject(wa_session *s, const char *group, const char *subject, wa_group_done_fn done, void *user)
{
	(void)s, (void)group, (void)subject, (void)done, (void)user;
	return WA_EUNSUPPORTED;
}

int wa_group_set_description(wa_session *s, const char *group, const char *desc, wa_group_done_fn done, void *user)
{
	(void)s, (void)group, (void)desc, (void)done, (void)user;
	return WA_EUNSUPPORTED;
}

int wa_group_set_setting(wa_session *s, const char *group, const char *setting, wa_group_done_fn done, void *user)
{
	(void)s, (void)group, (void)setting, (void)done, (void)user;
	return WA_EUNSUPPORTED;
}

int wa_group_set_ephemeral(wa_session *s, const char *group, uint32_t seconds, wa_group_done_fn done, void *user)
{
	(void)s, (void)group, (void)seconds, (void)done, (void)user;
	return WA_EUNSUPPORTED;
}

int wa_group_set_picture(wa_session *s, const char *group, const uint8_t *jpeg, size_t len, wa_group_done_fn done,
			 void *user)
{
	(void)s, (void)group, (void)jpeg, (void)len, (void)done, (void)user;
	return WA_EUNSUPPORTED;
}

int wa_group_invite_code(wa_session *s, const char *group, bool revoke, wa_group_str_fn done, void *user)
{
	(void)s, (void)group, (void)revoke, (void)done, (void)user;
	return WA_EUNSUPPORTED;
}

int wa_group_join(wa_session *s, const char *code, wa_group_str_fn done, void *user)
{
	(void)s, (void)code, (void)done, (void)user;
	return WA_EUNSUPPORTED;
}

int wa_group_invite_info(wa_session *s, const char *code, wa_group_fn done, void *user)
{
	(void)s, (void)code, (void)done, (void)user;
	return WA_EUNSUPPORTED;
}

int wa_session_send_group_invite(wa_session *s, const char *to, const char *group, const char *code,
				 int64_t expiration, const char *group_name, const char *caption,
				 const wa_send_opts *opts, char **id_out)
{
	(void)s, (void)to, (void)group, (void)code, (void)expiration, (void)group_name, (void)caption, (void)opts,
		(void)id_out;
	return WA_EUNSUPPORTED;
}

int wa_group_requests(wa_session *s, const char *group, wa_group_requests_fn done, void *user)
{
	(void)s, (void)group, (void)done, (void)user;
	return WA_EUNSUPPORTED;
}

int wa_group_request_action(wa_session *s, const char *group, const char *action,
			    const char *const *participants, size_t n, wa_group_change_fn done, void *user)
{
	(void)s, (void)group, (void)action, (void)participants, (void)n, (void)done, (void)user;
	return WA_EUNSUPPORTED;
}

int wa_session_chat_modify(wa_session *s, const wa_chat_mod *m, wa_chat_mod_fn done, void *user)
{
	(void)s, (void)m, (void)done, (void)user;
	return WA_EUNSUPPORTED;
}

int wa_session_labels(wa_session *s, void (*fn)(void *user, const wa_label *l), void *user)
{
	(void)s, (void)fn, (void)user;
	return 0;
}

int wa_session_chat_labels(wa_session *s, void (*fn)(void *user, const char *label_id, const char *chat_jid),
	void *user)
{
	(void)s, (void)fn, (void)user;
	return 0;
}

int wa_session_profile_picture_url(wa_session *s, const char *jid, bool preview, wa_picture_fn done, void *user)
{
	(void)s, (void)jid, (void)preview, (void)done, (void)user;
	return WA_EUNSUPPORTED;
}

int wa_profile_fetch(wa_session *s, const char *jid, wa_profile_fn done, void *user)
{
	(void)s, (void)jid, (void)done, (void)user;
	return WA_EUNSUPPORTED;
}

int wa_profile_set_about(wa_session *s, const char *text, wa_profile_fn done, void *user)
{
	(void)s, (void)text, (void)done, (void)user;
	return WA_EUNSUPPORTED;
}

int wa_profile_set_picture(wa_session *s, const uint8_t *jpeg, size_t len, wa_profile_fn done, void *user)
{
	(void)s, (void)jpeg, (void)len, (void)done, (void)user;
	return WA_EUNSUPPORTED;
}

int wa_profile_set_name(wa_session *s, const char *name, wa_profile_fn done, void *user)
{
	(void)s, (void)name, (void)done, (void)user;
	return WA_EUNSUPPORTED;
}

int wa_profile_block(wa_session *s, const char *jid, bool block, wa_profile_fn done, void *user)
{
	(void)s, (void)jid, (void)block, (void)done, (void)user;
	return WA_EUNSUPPORTED;
}

int wa_profile_blocklist(wa_session *s, wa_profile_fn done, void *user)
{
	(void)s, (void)done, (void)user;
	return WA_EUNSUPPORTED;
}

int wa_profile_privacy(wa_session *s, wa_profile_fn done, void *user)
{
	(void)s, (void)done, (void)user;
	return WA_EUNSUPPORTED;
}

int wa_profile_set_privacy(wa_session *s, const char *name, const char *value, wa_profile_fn done, void *user)
{
	(void)s, (void)name, (void)value, (void)done, (void)user;
	return WA_EUNSUPPORTED;
}

int wa_session_fetch_history(wa_session *s, const char *chat, int count, const char *oldest_id, bool oldest_from_me,
	int64_t oldest_ts_ms, char out_id[23])
{
	(void)s, (void)chat, (void)count, (void)oldest_id, (void)oldest_from_me, (void)oldest_ts_ms, (void)out_id;
	return WA_EUNSUPPORTED;
}
