/* src/session/failure.c: why a connection attempt failed, in words a user
 * can act on (s->last_error); wa_conn_fail in conn.c calls it before the
 * FSM decides what comes next. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session/internal.h"
#include "transport/ws.h"
#include "util/log.h"

/* Puts why an attempt failed into s->last_error, in words a user can act
 * on: the host, the step (DNS, TCP, TLS, WebSocket upgrade, proxy, Noise,
 * login) and what to check. Failures of a working connection (READY) are
 * left to the reason name. */
void wa_conn_describe_failure(wa_session *s, enum wa_disconnect_reason reason, int err)
{
	char host[256] = "?", path[WA_TR_MAX_URL + 1];
	int port = 0;
	bool tls = false;
	if (wa_tr_parse_url(s->url, &tls, host, sizeof host, &port, path, sizeof path) != 0)
		snprintf(host, sizeof host, "?");
	if (!s->last_error && !(s->last_error = malloc(WA_LAST_ERROR_MAX)))
		return; /* out of memory: the event carries the reason alone */
	char *e = s->last_error;
	size_t n = WA_LAST_ERROR_MAX;
	const char *t = s->fail_text && s->fail_text[0] ? s->fail_text : wa_errname(err);
	const unsigned tmo = WA_SESSION_CONNECT_TIMEOUT_MS / 1000;
	if (reason == WA_DISC_CLIENT_OUTDATED) {
		snprintf(e, n,
			"login: WhatsApp refused the client version %u.%u.%u as outdated (failure 405); claim "
			"the current WhatsApp Web version (wa_version) and start again",
			s->version[0], s->version[1], s->version[2]);
		return;
	}
	if (s->state == WA_CONN_READY || reason == WA_DISC_BY_USER || reason == WA_DISC_REPLACED ||
	    reason == WA_DISC_LOGGED_OUT || reason == WA_DISC_RESTART_REQUIRED) {
		e[0] = '\0';
		return;
	}
	switch (s->fail_step) {
	case WA_TR_STEP_DNS:
		snprintf(e, n, "DNS: cannot resolve %s (%s); check this machine's DNS and network, and the "
			"host name in wa_url", host, t);
		return;
	case WA_TR_STEP_TCP:
		snprintf(e, n, "TCP: cannot connect to %s:%d (%s); check that the server is running and "
			"reachable from here (firewall, wa_url, a proxy)", host, port, t);
		return;
	case WA_TR_STEP_TLS:
		snprintf(e, n, "TLS: the TLS handshake with %s:%d failed (%s); check the system CA "
			"certificates and clock, or a TLS-intercepting proxy", host, port, t);
		return;
	case WA_TR_STEP_UPGRADE:
		snprintf(e, n, "WebSocket upgrade: %s:%d answered but did not accept the WebSocket (%s); "
			"check the scheme and path of wa_url, or an HTTP proxy in between", host, port, t);
		return;
	case WA_TR_STEP_PROXY:
		snprintf(e, n, "proxy: the instance's proxy failed on the way to %s:%d (%s); check the "
			"proxy's host, port and credentials", host, port, t);
		return;
	default:
		break;
	}
	if (reason == WA_DISC_HANDSHAKE_FAILED) {
		snprintf(e, n, "Noise: the handshake with %s:%d failed (%s); check that wa_url is a WhatsApp "
			"server and, for a test server, wa_trust_root", host, port, wa_errname(err));
	} else if (s->state == WA_CONN_HANDSHAKING) {
		if (reason == WA_DISC_TIMEOUT)
			snprintf(e, n, "Noise: %s:%d did not answer the Noise handshake within %u s; check that "
				"wa_url is a WhatsApp server", host, port, tmo);
		else
			snprintf(e, n, "Noise: %s:%d closed the connection during the Noise handshake (%s); "
				"check that wa_url is a WhatsApp server", host, port, wa_errname(err));
	} else if (s->state == WA_CONN_CONNECTING) {
		if (reason == WA_DISC_TIMEOUT)
			snprintf(e, n, "TCP: no answer from %s:%d within %u s; check the network path to it "
				"(a firewall dropping packets, an unroutable address)", host, port, tmo);
		else
			snprintf(e, n, "TCP: connecting to %s:%d failed (%s); check that the server is running "
				"and reachable from here", host, port, t);
	} else if (s->state == WA_CONN_AUTHENTICATING) {
		snprintf(e, n, "login: %s:%d ended the connection before accepting the login (%s)", host,
			port, wa_disconnect_reason_name(reason));
	} else {
		e[0] = '\0';
	}
}
