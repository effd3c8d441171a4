/* tests/e2e/proxy_parse.h: the request parser of test_proxy (an HTTP
 * CONNECT proxy for e2e tests), kept apart so the fuzz target can reach it.
 * Sans-IO: it looks at the bytes received so far and says whether a whole
 * request head is there. */
#ifndef WA_TEST_PROXY_PARSE_H
#define WA_TEST_PROXY_PARSE_H

#include <stdbool.h>
#include <stddef.h>

/* Longest request head (request line + headers) accepted. */
#define TP_MAX_HEAD 8192
/* Longest host name and Proxy-Authorization credential accepted. */
#define TP_MAX_HOST 255
#define TP_MAX_CRED 512

typedef struct tp_connect_req {
	char host[TP_MAX_HOST + 1];
	int port;
	bool has_auth;                 /* a "Basic" Proxy-Authorization header came */
	char cred_b64[TP_MAX_CRED + 1]; /* its base64 credential */
} tp_connect_req;

/* Parses "CONNECT host:port HTTP/1.x\r\n" + headers + "\r\n" from buf.
 * Returns the head's length (> 0) and fills *out, 0 when more bytes are
 * needed, -1 when the bytes cannot be a valid CONNECT head (also when the
 * head is longer than TP_MAX_HEAD). Header names are case-insensitive, and
 * so is the "Basic" scheme (lws 4.1 sends "basic"). */
int tp_parse_connect(const char *buf, size_t len, tp_connect_req *out);

#endif
