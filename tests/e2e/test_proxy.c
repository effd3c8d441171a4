/* tests/e2e/test_proxy.c: a small HTTP CONNECT and SOCKS5 proxy for e2e
 * tests of libwa's proxy support. One poll loop, 127.0.0.1, kernel-chosen
 * port; a connection whose first byte is 5 speaks SOCKS5 (RFC 1928, with
 * RFC 1929 username/password), 4 SOCKS4/4a, anything else HTTP CONNECT.
 *
 *   test_proxy [--user U --pass P] [--refuse]
 *
 * stdout (line-buffered, read by the tests):
 *   PORT <n>                               once listening
 *   CONNECT <host>:<port> auth=<none|ok|bad> <result>
 *   SOCKS5 <host>:<port> auth=<none|ok|bad> <result>
 *   SOCKS4 <host>:<port> auth=<none|ok|bad> <result>
 * where result is "tunnel", "refused" (--refuse: 403 / SOCKS rep 2),
 * "auth-required" (407 / SOCKS: no acceptable method or credentials
 * refused) or "upstream-failed" (502 / SOCKS rep 5). The password is never
 * printed. With --user/--pass a client must present exactly those
 * credentials (HTTP: "Proxy-Authorization: Basic"; SOCKS5: method 2;
 * SOCKS4: the user id alone, answered 0x5d when it differs).
 * The SOCKS5 handshake is read with blocking reads (5 s timeout): a test
 * tool, not a server. Runs until killed. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "transport/connect_head.h"

#define TP_MAX_CONNS 64
#define TP_RELAY_CHUNK 16384

typedef struct tp_conn {
	int cfd;                /* client side, -1 when the slot is free */
	int ufd;                /* upstream, -1 until the tunnel is up */
	size_t hlen;            /* bytes of request head collected */
	char head[WA_CONNECT_MAX_HEAD];
} tp_conn;

static tp_conn conns[TP_MAX_CONNS];
static char want_cred[WA_CONNECT_MAX_CRED + 1]; /* base64("user:pass"), "" = no auth */
static const char *want_user, *want_pass;
static bool refuse;

static void b64(const unsigned char *in, size_t n, char *out, size_t cap)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;
	for (size_t i = 0; i < n && o + 5 < cap; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0) |
			(i + 2 < n ? in[i + 2] : 0);
		out[o++] = a[v >> 18 & 63];
		out[o++] = a[v >> 12 & 63];
		out[o++] = i + 1 < n ? a[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? a[v & 63] : '=';
	}
	out[o] = '\0';
}

static void conn_close(tp_conn *c)
{
	if (c->cfd >= 0)
		close(c->cfd);
	if (c->ufd >= 0)
		close(c->ufd);
	c->cfd = c->ufd = -1;
	c->hlen = 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Blocking connect: the tests only tunnel to loopback. */
static int dial(const char *host, int port)
{
	char ps[8];
	snprintf(ps, sizeof ps, "%d", port);
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
	if (getaddrinfo(host, ps, &hints, &res) != 0)
		return -1;
	int fd = -1;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype, 0);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/* The whole reply goes out in one write: lws 4.1 reads the proxy's answer
 * with a single recv and would take a later fragment for the server's. */
static void reply(tp_conn *c, const char *status)
{
	char r[256];
	int n = snprintf(r, sizeof r, "HTTP/1.1 %s\r\nContent-Length: 0\r\n\r\n", status);
	(void)write_all(c->cfd, r, (size_t)n);
}

/* n bytes for the SOCKS5 handshake: first what was already read into
 * c->head, then blocking reads. */
static int socks_read(tp_conn *c, size_t *off, uint8_t *dst, size_t n)
{
	size_t have = c->hlen - *off;
	size_t take = have < n ? have : n;
	memcpy(dst, c->head + *off, take);
	*off += take;
	while (take < n) {
		ssize_t r = read(c->cfd, dst + take, n - take);
		if (r <= 0)
			return -1;
		take += (size_t)r;
	}
	return 0;
}

static void socks_session(tp_conn *c)
{
	struct timeval tv = {.tv_sec = 5};
	setsockopt(c->cfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	size_t off = 0;
	uint8_t b[512];
	char host[256] = "?";
	int port = 0;
	const char *auth = "none", *result = "bad-request";
	if (socks_read(c, &off, b, 2) || b[0] != 5 || socks_read(c, &off, b + 2, b[1]))
		goto out;
	bool has_none = false, has_up = false;
	for (int i = 0; i < b[1]; i++) {
		has_none |= b[2 + i] == 0;
		has_up |= b[2 + i] == 2;
	}
	if (want_user) {
		if (!has_up) {
			result = "auth-required";
			(void)write_all(c->cfd, "\x05\xff", 2);
			goto out;
		}
		(void)write_all(c->cfd, "\x05\x02", 2);
		uint8_t ul, pl;
		char u[256], pw[256];
		if (socks_read(c, &off, b, 2) || b[0] != 1)
			goto out;
		ul = b[1];
		if (socks_read(c, &off, (uint8_t *)u, ul) || socks_read(c, &off, &pl, 1) ||
		    socks_read(c, &off, (uint8_t *)pw, pl))
			goto out;
		u[ul] = pw[pl] = '\0';
		bool ok = !strcmp(u, want_user) && !strcmp(pw, want_pass);
		explicit_bzero(pw, sizeof pw);
		auth = ok ? "ok" : "bad";
		(void)write_all(c->cfd, ok ? "\x01\x00" : "\x01\x01", 2);
		if (!ok) {
			result = "auth-required";
			goto out;
		}
	} else {
		if (!has_none) {
			result = "auth-required";
			(void)write_all(c->cfd, "\x05\xff", 2);
			goto out;
		}
		(void)write_all(c->cfd, "\x05\x00", 2);
	}
	if (socks_read(c, &off, b, 4) || b[0] != 5 || b[1] != 1)
		goto out;
	if (b[3] == 1) {
		if (socks_read(c, &off, b + 4, 4))
			goto out;
		inet_ntop(AF_INET, b + 4, host, sizeof host);
	} else if (b[3] == 3) {
		uint8_t hl;
		if (socks_read(c, &off, &hl, 1) || socks_read(c, &off, (uint8_t *)host, hl))
			goto out;
		host[hl] = '\0';
	} else if (b[3] == 4) {
		if (socks_read(c, &off, b + 4, 16))
			goto out;
		inet_ntop(AF_INET6, b + 4, host, sizeof host);
	} else {
		goto out;
	}
	uint8_t pb[2];
	if (socks_read(c, &off, pb, 2))
		goto out;
	port = pb[0] << 8 | pb[1];
	static const uint8_t ok[10] = {5, 0, 0, 1, 0, 0, 0, 0, 0, 0};
	uint8_t rep[10];
	memcpy(rep, ok, sizeof rep);
	if (refuse) {
		result = "refused";
		rep[1] = 2;
	} else if ((c->ufd = dial(host, port)) < 0) {
		result = "upstream-failed";
		rep[1] = 5;
	} else {
		result = "tunnel";
	}
	(void)write_all(c->cfd, (const char *)rep, sizeof rep);
	if (c->ufd >= 0 && off < c->hlen)
		(void)write_all(c->ufd, c->head + off, c->hlen - off);
out:
	printf("SOCKS5 %s:%d auth=%s %s\n", host, port, auth, result);
	tv.tv_sec = 0;
	setsockopt(c->cfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (c->ufd < 0)
		conn_close(c);
}

/* SOCKS4/4a: VN CD PORT IP USERID\0 [HOST\0] -> 0 CD PORT IP. */
static void socks4_session(tp_conn *c)
{
	struct timeval tv = {.tv_sec = 5};
	setsockopt(c->cfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	size_t off = 0;
	uint8_t b[8];
	char host[256] = "?", user[256];
	int port = 0;
	const char *auth = "none", *result = "bad-request";
	size_t ul = 0, hl = 0;
	if (socks_read(c, &off, b, 8) || b[0] != 4 || b[1] != 1)
		goto out;
	port = b[2] << 8 | b[3];
	do {
		if (ul == sizeof user || socks_read(c, &off, (uint8_t *)user + ul, 1))
			goto out;
	} while (user[ul++] != '\0');
	if (b[4] == 0 && b[5] == 0 && b[6] == 0 && b[7] != 0) {
		do {
			if (hl == sizeof host || socks_read(c, &off, (uint8_t *)host + hl, 1))
				goto out;
		} while (host[hl++] != '\0');
	} else {
		inet_ntop(AF_INET, b + 4, host, sizeof host);
	}
	uint8_t rep[8] = {0, 0x5a, 0, 0, 0, 0, 0, 0};
	if (user[0])
		auth = want_user && !strcmp(user, want_user) ? "ok" : "bad";
	if (want_user && strcmp(auth, "ok") != 0) {
		result = "auth-required";
		rep[1] = 0x5d;
	} else if (refuse) {
		result = "refused";
		rep[1] = 0x5b;
	} else if ((c->ufd = dial(host, port)) < 0) {
		result = "upstream-failed";
		rep[1] = 0x5b;
	} else {
		result = "tunnel";
	}
	(void)write_all(c->cfd, (const char *)rep, sizeof rep);
	if (c->ufd >= 0 && off < c->hlen)
		(void)write_all(c->ufd, c->head + off, c->hlen - off);
out:
	printf("SOCKS4 %s:%d auth=%s %s\n", host, port, auth, result);
	tv.tv_sec = 0;
	setsockopt(c->cfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (c->ufd < 0)
		conn_close(c);
}

static void on_head(tp_conn *c)
{
	if (c->hlen > 0 && c->head[0] == 4) {
		socks4_session(c);
		return;
	}
	if (c->hlen > 0 && c->head[0] == 5) {
		socks_session(c);
		return;
	}
	wa_connect_req req;
	int n = wa_connect_head_parse(c->head, c->hlen, &req);
	if (n == 0)
		return;
	if (n < 0) {
		printf("BAD-REQUEST\n");
		reply(c, "400 Bad Request");
		conn_close(c);
		return;
	}
	const char *auth = !req.has_auth ? "none" :
		(want_cred[0] && strcmp(req.cred_b64, want_cred) == 0) ? "ok" : "bad";
	const char *result;
	if (refuse) {
		result = "refused";
		reply(c, "403 Forbidden");
	} else if (want_cred[0] && strcmp(auth, "ok") != 0) {
		result = "auth-required";
		reply(c, "407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"t\"");
	} else if ((c->ufd = dial(req.host, req.port)) < 0) {
		result = "upstream-failed";
		reply(c, "502 Bad Gateway");
	} else {
		result = "tunnel";
		const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
		if (write_all(c->cfd, ok, sizeof ok - 1) == 0 && (size_t)n < c->hlen)
			(void)write_all(c->ufd, c->head + n, c->hlen - (size_t)n);
	}
	printf("CONNECT %s:%d auth=%s %s\n", req.host, req.port, auth, result);
	if (c->ufd < 0)
		conn_close(c);
}

static int pump(int from, int to)
{
	char buf[TP_RELAY_CHUNK];
	ssize_t r = read(from, buf, sizeof buf);
	if (r <= 0)
		return -1;
	return write_all(to, buf, (size_t)r);
}

int main(int argc, char **argv)
{
	const char *user = NULL, *pass = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--user") == 0 && i + 1 < argc)
			user = argv[++i];
		else if (strcmp(argv[i], "--pass") == 0 && i + 1 < argc)
			pass = argv[++i];
		else if (strcmp(argv[i], "--refuse") == 0)
			refuse = true;
		else {
			fprintf(stderr, "usage: test_proxy [--user U --pass P] [--refuse]\n");
			return 2;
		}
	}
	want_user = user && pass ? user : NULL;
	want_pass = pass;
	if (user && pass) {
		char up[2 * WA_CONNECT_MAX_CRED];
		int n = snprintf(up, sizeof up, "%s:%s", user, pass);
		if (n < 0 || (size_t)n * 4 / 3 + 4 > WA_CONNECT_MAX_CRED) {
			fprintf(stderr, "test_proxy: credentials too long\n");
			return 2;
		}
		b64((const unsigned char *)up, (size_t)n, want_cred, sizeof want_cred);
	}
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof sa;
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) || listen(lfd, 64) ||
	    getsockname(lfd, (struct sockaddr *)&sa, &sl)) {
		perror("test_proxy: listen");
		return 1;
	}
	printf("PORT %d\n", ntohs(sa.sin_port));
	for (int i = 0; i < TP_MAX_CONNS; i++)
		conns[i].cfd = conns[i].ufd = -1;
	for (;;) {
		struct pollfd pf[1 + 2 * TP_MAX_CONNS];
		tp_conn *owner[1 + 2 * TP_MAX_CONNS];
		int np = 0;
		pf[np++] = (struct pollfd){.fd = lfd, .events = POLLIN};
		for (int i = 0; i < TP_MAX_CONNS; i++) {
			if (conns[i].cfd < 0)
				continue;
			owner[np] = &conns[i];
			pf[np++] = (struct pollfd){.fd = conns[i].cfd, .events = POLLIN};
			if (conns[i].ufd >= 0) {
				owner[np] = &conns[i];
				pf[np++] = (struct pollfd){.fd = conns[i].ufd, .events = POLLIN};
			}
		}
		if (poll(pf, (nfds_t)np, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		for (int k = 1; k < np; k++) {
			tp_conn *c = owner[k];
			if (!pf[k].revents || c->cfd < 0)
				continue;
			if (pf[k].fd == c->cfd && c->ufd < 0) {
				ssize_t r = read(c->cfd, c->head + c->hlen, sizeof c->head - c->hlen);
				if (r <= 0) {
					conn_close(c);
					continue;
				}
				c->hlen += (size_t)r;
				on_head(c);
			} else if (pf[k].fd == c->cfd) {
				if (pump(c->cfd, c->ufd))
					conn_close(c);
			} else if (pf[k].fd == c->ufd) {
				if (pump(c->ufd, c->cfd))
					conn_close(c);
			}
		}
		if (pf[0].revents & POLLIN) {
			int fd = accept(lfd, NULL, NULL);
			int i = 0;
			while (fd >= 0 && i < TP_MAX_CONNS && conns[i].cfd >= 0)
				i++;
			if (fd >= 0 && i == TP_MAX_CONNS)
				close(fd);
			else if (fd >= 0)
				conns[i].cfd = fd;
		}
	}
}
