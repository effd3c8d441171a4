/* src/session/names.c: the name tables of session.h's enums (connection
 * states, disconnect reasons, message statuses), for logs and the daemon. */
#include "session/internal.h"

static const char *const state_names[] = {
	[WA_CONN_DISCONNECTED] = "DISCONNECTED",
	[WA_CONN_CONNECTING] = "CONNECTING",
	[WA_CONN_HANDSHAKING] = "HANDSHAKING",
	[WA_CONN_PAIRING] = "PAIRING",
	[WA_CONN_AUTHENTICATING] = "AUTHENTICATING",
	[WA_CONN_READY] = "READY",
	[WA_CONN_BACKOFF] = "BACKOFF",
	[WA_CONN_CLOSING] = "CLOSING",
	[WA_CONN_LOGGED_OUT] = "LOGGED_OUT",
	[WA_CONN_WAITING] = "WAITING",
};

const char *wa_conn_state_name(enum wa_conn_state st)
{
	if ((unsigned)st < sizeof state_names / sizeof state_names[0] && state_names[st])
		return state_names[st];
	return "?";
}

static const char *const reason_names[] = {
	[WA_DISC_NONE] = "NONE",
	[WA_DISC_NETWORK] = "NETWORK",
	[WA_DISC_TIMEOUT] = "TIMEOUT",
	[WA_DISC_RESTART_REQUIRED] = "RESTART_REQUIRED",
	[WA_DISC_REPLACED] = "REPLACED",
	[WA_DISC_LOGGED_OUT] = "LOGGED_OUT",
	[WA_DISC_SERVER_ERROR] = "SERVER_ERROR",
	[WA_DISC_HANDSHAKE_FAILED] = "HANDSHAKE_FAILED",
	[WA_DISC_BY_USER] = "BY_USER",
	[WA_DISC_PROXY] = "PROXY",
	[WA_DISC_CLIENT_OUTDATED] = "CLIENT_OUTDATED",
};

const char *wa_disconnect_reason_name(enum wa_disconnect_reason r)
{
	if ((unsigned)r < sizeof reason_names / sizeof reason_names[0] && reason_names[r])
		return reason_names[r];
	return "?";
}

static const char *const msg_status_names[] = {
	[WA_MSG_ERROR] = "ERROR",
	[WA_MSG_PENDING] = "PENDING",
	[WA_MSG_SENT] = "SENT",
	[WA_MSG_DELIVERED] = "DELIVERED",
	[WA_MSG_READ] = "READ",
	[WA_MSG_PLAYED] = "PLAYED",
};

/* Beside the other name tables of session.h (the daemon maps these to
 * Evolution's status strings itself). */
const char *wa_msg_status_name(enum wa_msg_status st)
{
	if ((unsigned)st < sizeof msg_status_names / sizeof msg_status_names[0] && msg_status_names[st])
		return msg_status_names[st];
	return "?";
}
