/* src/transport/connect_head.h: parser of an HTTP CONNECT request head.
 * The SOCKS bridge (socks_bridge.c) reads the CONNECT that lws' HTTP
 * proxying sends it; tests/e2e/test_proxy uses it too. Sans-IO: it looks at
 * the bytes received so far and says whether a whole request head is
 * there. */
#ifndef WA_TRANSPORT_CONNECT_HEAD_H
#define WA_TRANSPORT_CONNECT_HEAD_H

#include <stdbool.h>
#include <stddef.h>

/* Longest request head (request line + headers) accepted. */
#define WA_CONNECT_MAX_HEAD 8192
/* Longest host name and Proxy-Authorization credential accepted. */
#define WA_CONNECT_MAX_HOST 255
#define WA_CONNECT_MAX_CRED 512

typedef struct wa_connect_req {
	char host[WA_CONNECT_MAX_HOST + 1];
	int port;
	bool has_auth;                 /* a "Basic" Proxy-Authorization header came */
	char cred_b64[WA_CONNECT_MAX_CRED + 1]; /* its base64 credential */
} wa_connect_req;

/* Parses "CONNECT host:port HTTP/1.x\r\n" + headers + "\r\n" from buf.
 * Returns the head's length (> 0) and fills *out, 0 when more bytes are
 * needed, -1 when the bytes cannot be a valid CONNECT head (also when the
 * head is longer than WA_CONNECT_MAX_HEAD). Header names are case-insensitive, and
 * so is the "Basic" scheme (lws 4.1 sends "basic"). */
int wa_connect_head_parse(const char *buf, size_t len, wa_connect_req *out);

#endif
