/* src/transport/socks5.h: sans-IO SOCKS client handshake: SOCKS5 (RFC 1928,
 * with RFC 1929 username/password) and SOCKS4a (one request with a user id,
 * the name resolved by the proxy). The caller moves the bytes: start()
 * gives the first message, feed() takes what the server sent and gives the
 * next message to send, until the tunnel is up. Used by the SOCKS bridge
 * (socks_bridge.c) because Debian's lws 4.1 has no SOCKS client. */
#ifndef WA_TRANSPORT_SOCKS5_H
#define WA_TRANSPORT_SOCKS5_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wa/wa.h"

/* Longest message we send (connect with a 255-byte name, or auth with two
 * 255-byte fields) and longest server reply we buffer (connect reply with a
 * 255-byte bound name). */
#define WA_SOCKS5_MAX_OUT 515
#define WA_SOCKS5_MAX_REPLY 262

enum wa_socks5_state {
	WA_S5_GREETING = 1, /* greeting sent, waiting for the method choice */
	WA_S5_AUTH,         /* credentials sent, waiting for their verdict */
	WA_S5_CONNECT,      /* connect sent, waiting for its reply */
	WA_S5_DONE,         /* tunnel up */
	WA_S5_FAILED,
};

/* Why a handshake failed (for logs; never holds the credentials). */
enum wa_socks5_fail {
	WA_S5_OK = 0,
	WA_S5_BAD_REPLY,       /* not a SOCKS5 answer */
	WA_S5_NO_METHOD,       /* server accepts none of our methods (needs credentials?) */
	WA_S5_AUTH_REFUSED,    /* username/password refused */
	WA_S5_CONNECT_REFUSED, /* the server could not open the target (rep code kept) */
};

/* SOCKS4 reply codes (CD). */
#define WA_SOCKS4_GRANTED 0x5a

typedef struct wa_socks5 {
	enum wa_socks5_state state;
	enum wa_socks5_fail fail;
	uint8_t rep;           /* connect reply code when CONNECT_REFUSED */
	bool v4;               /* SOCKS4a */
	bool has_auth;
	char user[256], pass[256]; /* secret: wiped by wa_socks5_clear */
	char host[256];
	uint16_t port;
	uint8_t in[WA_SOCKS5_MAX_REPLY];
	size_t in_len;
} wa_socks5;

/* Prepares a handshake to host:port (user NULL: no credentials; user and
 * pass at most 255 bytes each, host 1..255) and writes the greeting into
 * out (cap >= WA_SOCKS5_MAX_OUT). Errors: WA_EINVAL, WA_ETOOBIG. */
int wa_socks5_start(wa_socks5 *s, const char *host, int port, const char *user, const char *pass,
	uint8_t *out, size_t cap, size_t *out_len) WA_MUST_CHECK;
/* Same for SOCKS4a: writes the whole request (user id may be NULL; host
 * 1..255 bytes) into out; the reply is fed like SOCKS5's. */
int wa_socks4_start(wa_socks5 *s, const char *host, int port, const char *user, uint8_t *out,
	size_t cap, size_t *out_len) WA_MUST_CHECK;
/* Feeds n received bytes. Returns 0 (need more bytes, or a reply was
 * handled and *out_len > 0 bytes in out are to be sent; feed the rest of p,
 * from *consumed, again), 1 when the tunnel is up (*consumed bytes were the
 * handshake; the rest of p is tunnel data), or WA_EPROXY when the server
 * refused (s->fail says why), WA_EMALFORMED for a non-SOCKS5 answer,
 * WA_ESTATE when not in a waiting state. *consumed and *out_len are
 * written only on success. */
int wa_socks5_feed(wa_socks5 *s, const uint8_t *p, size_t n, size_t *consumed, uint8_t *out,
	size_t cap, size_t *out_len) WA_MUST_CHECK;
/* Wipes the credentials. */
void wa_socks5_clear(wa_socks5 *s);
/* "connection refused" etc. for a SOCKS5 reply code, or a SOCKS4 one
 * (0x5a..0x5d). */
const char *wa_socks5_rep_name(uint8_t rep);

#endif
