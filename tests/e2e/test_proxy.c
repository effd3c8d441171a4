/* tests/e2e/test_proxy.c: a small HTTP CONNECT proxy for e2e tests of
 * libwa's proxy support. One poll loop, 127.0.0.1, kernel-chosen port.
 *
 *   test_proxy [--user U --pass P] [--refuse]
 *
 * stdout (line-buffered, read by the tests):
 *   PORT <n>                               once listening
 *   CONNECT <host>:<port> auth=<none|ok|bad> <result>
 * where result is "tunnel", "refused" (--refuse: 403), "auth-required"
 * (407) or "upstream-failed" (502). The password is never printed.
 * With --user/--pass a request needs "Proxy-Authorization: Basic" with
 * exactly those credentials. Runs until killed. */
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
#include <unistd.h>

#include "proxy_parse.h"

#define TP_MAX_CONNS 64
#define TP_RELAY_CHUNK 16384

typedef struct tp_conn {
	int cfd;                /* client side, -1 when the slot is free */
	int ufd;                /* upstream, -1 until the tunnel is up */
	size_t hlen;            /* bytes of request head collected */
	char head[TP_MAX_HEAD];
} tp_conn;

static tp_conn conns[TP_MAX_CONNS];
static char want_cred[TP_MAX_CRED + 1]; /* base64("user:pass"), "" = no auth */
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

static void on_head(tp_conn *c)
{
	tp_connect_req req;
	int n = tp_parse_connect(c->head, c->hlen, &req);
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
	if (user && pass) {
		char up[2 * TP_MAX_CRED];
		int n = snprintf(up, sizeof up, "%s:%s", user, pass);
		if (n < 0 || (size_t)n * 4 / 3 + 4 > TP_MAX_CRED) {
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
