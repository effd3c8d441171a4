/* src/transport/socks_bridge.h: SOCKS5 for lws builds without
 * LWS_WITH_SOCKS5 (Debian's 4.1). lws can tunnel a client connection
 * through an HTTP CONNECT proxy, so each lws_context gets one loopback
 * "bridge" on its own loop: lws' HTTP proxying connects to it, it reads the
 * CONNECT, opens the connection to the real SOCKS5 proxy, does the SOCKS5
 * handshake (socks5.c), answers 200 and relays bytes both ways. TLS stays
 * end to end between lws and the server.
 *
 * Each connection registers a route with a random token; lws presents the
 * token as its Basic proxy credentials, so other local processes cannot
 * use the bridge as an open relay, and the bridge knows which SOCKS proxy
 * (and credentials) the connection wants. Loop thread only. */
#ifndef WA_TRANSPORT_SOCKS_BRIDGE_H
#define WA_TRANSPORT_SOCKS_BRIDGE_H

#include <stddef.h>

#include "transport/ws.h"

struct lws_context;
typedef struct wa_socks_route wa_socks_route;

/* Registers a route to the SOCKS5 proxy px (starting the bridge on first
 * use). Writes the HTTP proxy address to give lws ("wa:<token>@127.0.0.1",
 * a secret) into addr and the bridge's port into *port. Errors: WA_EIO
 * (listener), WA_ENOMEM, WA_ETOOBIG (addr_cap). */
int wa_socks_route_add(struct lws_context *ctx, const wa_tr_proxy *px, char *addr, size_t addr_cap,
	int *port, wa_socks_route **out) WA_MUST_CHECK;
/* Forgets a route (tunnels already open keep running). NULL ok. */
void wa_socks_route_del(wa_socks_route *r);

#endif
