/* The HTTP front end: accept, check the request head, hand it to lws.
 *
 * lws 4.1.6 never calls wamd while it parses a head, and its parser cannot
 * end some malformed ones (a line without a colon, a NUL, obs-fold, CR-only
 * lines): such a connection got no answer and closed at lws' 10 s header
 * timeout. So wamd accepts on its own listening sockets (adopted into lws
 * as raw descriptors, one event loop as before) and reads each new
 * connection's head itself: a bounded buffer (WAMD_FRONT_HEAD_MAX), a
 * deadline (WAMD_FRONT_HEAD_SECS), and wamd_front_check(). A malformed head
 * gets its 400 (431 when too large) with "connection: close" at once; the
 * connection then lingers until the client closes (or 2 s), so the answer is
 * not lost to a reset over unread bytes. A good head goes to lws with
 * lws_adopt_socket_vhost_readbuf(), and lws parses the same bytes.
 *
 * Only the head minus its final LF is handed over as "already read"; that
 * LF (and any body) stays in the socket for lws to read itself. lws keeps
 * pre-read bytes on its buflist, and when a head completes out of the
 * buflist, lws_http_action() feeds that buffer to lws_read_h1() again from
 * its start (the head becomes the body: the pipelining freeze described in
 * wamd_http.c). With the last byte left in the socket the buflist is
 * consumed while the head is still incomplete, and the head completes out
 * of a socket read, the path every request took before.
 *
 * Peeked bytes are consumed as soon as they are checked, so a slow client
 * costs one wakeup per packet, never a busy loop; each connection has its
 * own watcher and deadline, so slow clients hold no one else. A connection
 * being read is watched by the loop lws runs on: with the libev loop (the
 * default) a libev watcher of ours, and the same descriptor goes to lws;
 * on lws' own poll() loop a raw lws descriptor, and since lws closes that
 * one when it is dropped, lws gets a duplicate (dup) of the socket. (With
 * epoll the duplicate would leave the dropped number's registration alive:
 * libev removes registrations lazily, and the socket outlives the number.) */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <ev.h>

#include "wamd.h"
#include "wamd_front.h"

#define FRONT_LINGER_SECS 2
#define FRONT_ACCEPTS_PER_WAKEUP 64

struct wamd_front {
	struct wamd *d;
	struct lws_vhost *vh;
	int fd;
	bool listener;
	bool from_unix; /* accepted on the unix socket */
	bool linger;   /* answered: read and drop until the client closes */
	ev_io io;      /* libev loop: our watcher */
	ev_timer tm;   /* libev loop: the deadline */
	struct wamd_front *next, **pprev; /* libev loop: d->fronts */
	size_t len;    /* head bytes consumed */
	char buf[WAMD_FRONT_HEAD_MAX];
};

enum { RX_WAIT, RX_CLOSE, RX_HEAD };

/* The opaque user data of a connection handed over from the unix socket. */
static const char from_unix_mark = 'u';

bool wamd_front_from_unix(struct lws *wsi)
{
	return lws_get_opaque_user_data(wsi) == &from_unix_mark;
}

static struct wamd_front *front_new(struct wamd *d, struct lws_vhost *vh, int fd, bool listener)
{
	struct wamd_front *f = calloc(1, sizeof *f);
	if (!f)
		return NULL;
	f->d = d;
	f->vh = vh;
	f->fd = fd;
	f->listener = listener;
	return f;
}

/* lws' poll() loop (and the listeners on both loops): a raw lws descriptor. */
static int adopt_raw(struct wamd_front *f)
{
	lws_adopt_desc_t info;
	memset(&info, 0, sizeof info);
	info.vh = f->vh;
	info.type = LWS_ADOPT_RAW_FILE_DESC;
	info.fd.filefd = f->fd;
	info.vh_prot_name = WAMD_FRONT_PROTOCOL;
	info.opaque = f;
	struct lws *w = lws_adopt_descriptor_vhost_via_info(&info); /* closes fd on failure */
	if (!w) {
		free(f);
		return -1;
	}
	if (!f->listener)
		lws_set_timeout(w, PENDING_TIMEOUT_USER_OK, WAMD_FRONT_HEAD_SECS);
	return 0;
}

/* The libev loop: our own watcher. */
static void ev_drop(struct wamd_front *f, bool close_fd)
{
	struct ev_loop *loop = f->d->ev_loop;
	ev_io_stop(loop, &f->io);
	ev_timer_stop(loop, &f->tm);
	if ((*f->pprev = f->next))
		f->next->pprev = f->pprev;
	if (close_fd)
		close(f->fd);
	free(f);
}

static int head_rx(struct wamd_front *f, int *status, const char **why);
static void hand_over(struct wamd_front *f, int fd);
static void refuse(struct wamd_front *f, int status, const char *why);

static void ev_deadline(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	ev_drop(t->data, true);
}

static void ev_readable(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	struct wamd_front *f = w->data;
	int st = 0;
	const char *why = NULL;
	switch (head_rx(f, &st, &why)) {
	case RX_WAIT:
		if (st) {
			refuse(f, st, why);
			ev_timer_stop(f->d->ev_loop, &f->tm);
			ev_timer_set(&f->tm, FRONT_LINGER_SECS, 0);
			ev_timer_start(f->d->ev_loop, &f->tm);
		}
		return;
	case RX_HEAD: {
		int fd = f->fd;
		ev_io_stop(f->d->ev_loop, &f->io); /* lws watches the same descriptor now */
		hand_over(f, fd);
		ev_drop(f, false);
		return;
	}
	default:
		ev_drop(f, true);
	}
}

static void ev_watch(struct wamd_front *f)
{
	struct ev_loop *loop = f->d->ev_loop;
	ev_io_init(&f->io, ev_readable, f->fd, EV_READ);
	f->io.data = f;
	ev_timer_init(&f->tm, ev_deadline, WAMD_FRONT_HEAD_SECS, 0);
	f->tm.data = f;
	f->next = f->d->fronts;
	if (f->next)
		f->next->pprev = &f->next;
	f->pprev = &f->d->fronts;
	f->d->fronts = f;
	ev_io_start(loop, &f->io);
	ev_timer_start(loop, &f->tm);
}

void wamd_front_shutdown(struct wamd *d)
{
	while (d->fronts)
		ev_drop(d->fronts, true);
}

int wamd_front_listen(struct wamd *d, struct lws_vhost *vh, int fd, bool from_unix)
{
	struct wamd_front *f = front_new(d, vh, fd, true);
	if (!f) {
		close(fd);
		return -1;
	}
	f->from_unix = from_unix;
	return adopt_raw(f);
}

static void accept_all(struct wamd_front *l)
{
	for (int i = 0; i < FRONT_ACCEPTS_PER_WAKEUP; i++) {
		int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
				LOGW("http: accept: %s", strerror(errno));
			return;
		}
		int one = 1;
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* fails on unix: fine */
		struct wamd_front *f = front_new(l->d, l->vh, fd, false);
		if (f)
			f->from_unix = l->from_unix;
		if (!f)
			close(fd);
		else if (l->d->ev_loop)
			ev_watch(f);
		else
			(void)adopt_raw(f);
	}
}

/* Reads exactly n bytes that a peek already saw. */
static int consume(int fd, char *dst, size_t n)
{
	while (n) {
		ssize_t r = recv(fd, dst, n, 0);
		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			return -1;
		}
		dst += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Writes the refusal and half-closes; the caller arms the linger deadline. */
static void refuse(struct wamd_front *f, int status, const char *why)
{
	const char *text = status == 431 ? "Request Header Fields Too Large" : "Bad Request";
	char body[256], msg[512];
	int bn = snprintf(body, sizeof body, "{\"status\":%d,\"error\":\"%s\",\"response\":{\"message\":[\"%s\"]}}",
			  status, text, why);
	int n = snprintf(msg, sizeof msg,
			 "HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
			 "connection: close\r\n\r\n%s",
			 status, text, bn, body);
	LOGD("http: %d %s", status, why);
	(void)send(f->fd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	shutdown(f->fd, SHUT_WR);
	f->linger = true;
}

/* The head is good: lws takes fd and the bytes read so far (f->buf, all
 * of the head but its final LF). One line is added before the blank line:
 * lws 4.1.6 never ends a head whose last field name is a strict prefix of
 * a name it knows ("Acc", "Hos", "X-A": no answer, ever), and a last line
 * it surely knows how to end avoids that. wamd reads no such header. */
static void hand_over(struct wamd_front *f, int fd)
{
	static const char end[] = "wamd-front: 1\r\n\r";
	char b[WAMD_FRONT_HEAD_MAX + sizeof end];
	size_t n = f->len - 1; /* without the blank line's CR */
	memcpy(b, f->buf, n);
	memcpy(b + n, end, sizeof end - 1);
	/* lws closes fd itself if it cannot take it. Its head is not complete
	 * yet (the last LF is still in the socket), so no callback of
	 * wamd_http.c has run before the mark is set. */
	struct lws *w = lws_adopt_socket_vhost_readbuf(f->vh, fd, b, n + sizeof end - 1);
	if (w)
		lws_set_opaque_user_data(w, f->from_unix ? (void *)&from_unix_mark : NULL);
}

/* Reads what arrived. RX_WAIT (with *status set: answer it and linger),
 * RX_HEAD (a good head, all of it but its last LF consumed), RX_CLOSE. */
static int head_rx(struct wamd_front *f, int *status, const char **why)
{
	*status = 0;
	if (f->linger) {
		char b[4096];
		for (;;) {
			ssize_t r = recv(f->fd, b, sizeof b, 0);
			if (r > 0)
				continue;
			return r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? RX_WAIT : RX_CLOSE;
		}
	}
	ssize_t r = recv(f->fd, f->buf + f->len, sizeof f->buf - f->len, MSG_PEEK);
	if (r < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? RX_WAIT : RX_CLOSE;
	if (r == 0)
		return RX_CLOSE; /* closed before a whole head: nothing to answer */
	size_t avail = f->len + (size_t)r, head = 0;
	int st = wamd_front_check(f->buf, avail, &head, why);
	if (st == WAMD_FRONT_HEAD_OK) {
		size_t keep = head - 1; /* the last LF stays in the socket (top of the file) */
		if (consume(f->fd, f->buf + f->len, keep - f->len) != 0)
			return RX_CLOSE;
		f->len = keep;
		return RX_HEAD;
	}
	if (consume(f->fd, f->buf + f->len, (size_t)r) != 0)
		return RX_CLOSE;
	f->len = avail;
	if (st != WAMD_FRONT_HEAD_MORE)
		*status = st;
	return RX_WAIT;
}

int wamd_front_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	(void)user;
	(void)in;
	(void)len;
	struct wamd_front *f = lws_get_opaque_user_data(wsi);
	switch (reason) {
	case LWS_CALLBACK_RAW_RX_FILE: {
		if (!f)
			return -1;
		if (f->listener) {
			accept_all(f);
			return 0;
		}
		int st = 0;
		const char *why = NULL;
		switch (head_rx(f, &st, &why)) {
		case RX_WAIT:
			if (st) {
				refuse(f, st, why);
				lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, FRONT_LINGER_SECS);
			}
			return 0;
		case RX_HEAD: {
			/* lws closes f->fd with this descriptor: it gets a duplicate */
			int nfd = fcntl(f->fd, F_DUPFD_CLOEXEC, 0);
			if (nfd < 0)
				LOGW("http: cannot hand a connection over: %s", strerror(errno));
			else
				hand_over(f, nfd);
			return -1;
		}
		default:
			return -1;
		}
	}
	case LWS_CALLBACK_RAW_CLOSE_FILE:
		lws_set_opaque_user_data(wsi, NULL);
		free(f);
		return 0;
	default:
		return 0;
	}
}

int wamd_front_socket_unix(const char *path)
{
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sa.sun_path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, SOMAXCONN) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int listen_on(const struct addrinfo *ai, bool dual)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0)
		return -1;
	int one = 1, zero = 0;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (dual && ai->ai_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, SOMAXCONN) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int wamd_front_socket_tcp(const char *host, int port)
{
	char ps[16];
	snprintf(ps, sizeof ps, "%d", port);
	bool any = !host || !*host;
	/* every interface: IPv6 and IPv4 on one socket, else IPv4 */
	static const int any_families[] = { AF_INET6, AF_INET };
	int fd = -1, e = EADDRNOTAVAIL;
	for (size_t k = 0; k < (any ? 2u : 1u) && fd < 0; k++) {
		struct addrinfo hints, *res = NULL;
		memset(&hints, 0, sizeof hints);
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
		hints.ai_family = any ? any_families[k] : AF_UNSPEC;
		if (getaddrinfo(any ? NULL : host, ps, &hints, &res) != 0)
			continue;
		for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next)
			if ((fd = listen_on(ai, any)) < 0)
				e = errno;
		freeaddrinfo(res);
	}
	if (fd < 0)
		errno = e;
	return fd;
}
