/* The status of our own messages: stored (raised only: PENDING < SENT <
 * DELIVERED < READ, or ERROR from PENDING), emitted as WA_EV_MESSAGE_STATUS
 * with both namespaces of the chat, and found again by id (the chat of a
 * receipt or ack is not always the one we stored it under). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session/msgstate.h"

void wa_msg_recent_add(wa_msg_state *m, const char *id, const char *chat)
{
	if (!m->recent && !(m->recent = calloc(WA_MSG_RECENT_IDS, sizeof *m->recent)))
		return; /* out of memory: lookups fall back to the store */
	size_t il = strnlen(id, WA_MSG_ID_MAX), cl = strnlen(chat, WA_STORE_JID_MAX - 1);
	char *e = malloc(il + cl + 2);
	if (!e)
		return;
	memcpy(e, id, il);
	e[il] = '\0';
	memcpy(e + il + 1, chat, cl);
	e[il + 1 + cl] = '\0';
	size_t i = m->recent_next++ % WA_MSG_RECENT_IDS;
	free(m->recent[i]);
	m->recent[i] = e;
}

void wa_msg_recent_clear(wa_msg_state *m)
{
	for (size_t i = 0; m->recent && i < WA_MSG_RECENT_IDS; i++)
		free(m->recent[i]);
	free(m->recent);
	m->recent = NULL;
	m->recent_next = 0;
}

static const char *recent_chat(const wa_msg_state *m, const char *id)
{
	for (size_t i = 0; m->recent && i < WA_MSG_RECENT_IDS; i++)
		if (m->recent[i] && strcmp(m->recent[i], id) == 0)
			return m->recent[i] + strlen(m->recent[i]) + 1;
	return NULL;
}

static int store_status(enum wa_msg_status st)
{
	switch (st) {
	case WA_MSG_PENDING: return WA_STORE_MSG_PENDING;
	case WA_MSG_SENT: return WA_STORE_MSG_SENT;
	case WA_MSG_DELIVERED: return WA_STORE_MSG_DELIVERED;
	case WA_MSG_READ: case WA_MSG_PLAYED: return WA_STORE_MSG_READ;
	default: return WA_STORE_MSG_FAILED;
	}
}

void wa_msg_emit_status_err(wa_session *s, const char *chat, const char *id, enum wa_msg_status st,
	int err, const char *why)
{
	char *alt = wa_msg_alt_user(s, chat);
	wa_jid cj;
	bool is_lid = wa_jid_parse(&cj, chat) == 0 && wa_msg_jid_is_lid(&cj);
	wa_event ev = {.type = WA_EV_MESSAGE_STATUS};
	ev.u.message_status.key.remote_jid = is_lid && alt ? alt : chat;
	ev.u.message_status.key.remote_lid = is_lid ? chat : alt;
	ev.u.message_status.key.from_me = true;
	ev.u.message_status.key.id = id;
	ev.u.message_status.status = st;
	ev.u.message_status.timestamp = now_s();
	if (st == WA_MSG_ERROR) {
		ev.u.message_status.error = err ? err : WA_EPROTO;
		ev.u.message_status.reason = why ? why : wa_errname(ev.u.message_status.error);
	}
	ev.u.message_status.recorded = s->status_recorded;
	s->status_recorded = false;
	wa_session_emit(s, &ev);
	free(alt);
}

void wa_msg_emit_status(wa_session *s, const char *chat, const char *id, enum wa_msg_status st)
{
	wa_msg_emit_status_err(s, chat, id, st, 0, NULL);
}

/* A status change that joined the loop turn's group commit: its event
 * waits for the commit (a handler may send from it, or tell the world). */
typedef struct status_after {
	wa_session *s;
	enum wa_msg_status st;
	bool recorded;
	char chat[WA_STORE_JID_MAX];
	char id[WA_MSG_ID_MAX + 1];
} status_after;

static void status_after_done(void *user, int rc)
{
	status_after *a = user;
	if (rc == 0) {
		a->s->status_recorded = a->recorded;
		wa_msg_emit_status(a->s, a->chat, a->id, a->st);
	}
	free(a);
}

void wa_msg_emit_status_committed(wa_session *s, const char *chat, const char *id, enum wa_msg_status st)
{
	status_after *a = wa_store_turn_pending(s->store) ? malloc(sizeof *a) : NULL;
	if (!a || strlen(chat) >= sizeof a->chat || strlen(id) >= sizeof a->id) {
		free(a);
		wa_msg_emit_status(s, chat, id, st); /* durable already (or no memory to wait) */
		return;
	}
	*a = (status_after){ .s = s, .st = st, .recorded = s->status_recorded };
	s->status_recorded = false;
	memcpy(a->chat, chat, strlen(chat) + 1);
	memcpy(a->id, id, strlen(id) + 1);
	wa_store_after_commit(s->store, status_after_done, a);
}

/* Raises the stored status of our message (never lowers it, except to
 * ERROR from PENDING). Returns whether it was found; *changed: whether the
 * caller must emit the change. */
bool wa_msg_raise_status(wa_session *s, const char *chat, const char *id, enum wa_msg_status st,
	bool *changed)
{
	*changed = false;
	s->status_recorded = false;
	wa_store_msg_row *row = NULL;
	if (wa_store_msg_load(s->store, s->instance_id, chat, id, true, &row) != 0)
		return false;
	int cur = row->status;
	wa_store_msg_row_free(row);
	int want = store_status(st);
	bool change;
	if (st == WA_MSG_ERROR)
		change = cur == WA_STORE_MSG_PENDING;
	else
		change = cur == WA_STORE_MSG_FAILED ? false : want > cur;
	if (change && wa_store_msg_set_status(s->store, s->instance_id, chat, id, true, want) == 0) {
		*changed = true;
		if (s->status_in_tx) {
			s->status_in_tx(s->user, id, true, st);
			s->status_recorded = true;
		}
	}
	return true;
}

/* wa_msg_raise_status, then emits the change (err/why: for ERROR). Returns true
 * when found. */
bool wa_msg_set_status_err(wa_session *s, const char *chat, const char *id, enum wa_msg_status st,
	int err, const char *why)
{
	bool changed = false;
	bool found = wa_msg_raise_status(s, chat, id, st, &changed);
	if (changed)
		wa_msg_emit_status_err(s, chat, id, st, err, why);
	return found;
}

bool wa_msg_set_status(wa_session *s, const char *chat, const char *id, enum wa_msg_status st)
{
	return wa_msg_set_status_err(s, chat, id, st, 0, NULL);
}

/* Finds the chat under which our message id is stored; out gets it. */
bool wa_msg_find_own(wa_session *s, const char *id, const char *hint_user, char out[WA_STORE_JID_MAX])
{
	wa_store_msg_row *row = NULL;
	const char *cands[3] = {hint_user, NULL, recent_chat(s->msg, id)};
	char *alt = hint_user ? wa_msg_alt_user(s, hint_user) : NULL;
	cands[1] = alt;
	bool ok = false;
	for (int i = 0; i < 3 && !ok; i++) {
		if (!cands[i])
			continue;
		if (wa_store_msg_load(s->store, s->instance_id, cands[i], id, true, &row) == 0) {
			snprintf(out, WA_STORE_JID_MAX, "%s", cands[i]);
			wa_store_msg_row_free(row);
			ok = true;
		}
	}
	free(alt);
	return ok;
}
