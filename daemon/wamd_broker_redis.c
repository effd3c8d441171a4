/* Redis Streams on the publisher thread of wamd_broker.c: each event is one
 * XADD to the instance's stream (or the global one) with the fields event,
 * instance and data (the envelope's data as JSON), trimmed with MAXLEN ~
 * redis_maxlen. The entry id in the reply is the confirmation.
 *
 * wamd owns the socket (and, for rediss://, the OpenSSL session over it);
 * hiredis only writes the commands and parses the replies (its reader),
 * because Debian 12's hiredis (0.14) cannot speak TLS itself. Blocking
 * calls: connect, every send and every read are bounded by
 * WAMD_BROKER_IO_TIMEOUT_S; any error drops the connection. rediss:// always
 * verifies the server's certificate and host name, against redis_ca_file or
 * the system's CAs. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "wamd.h"
#include "wamd_broker.h"

struct redis_be {
	struct wamd_redis_addr a;
	char *ca_file;       /* rediss://: the CAs to trust; NULL: the system's */
	SSL_CTX *tls_ctx;    /* rediss:// only */
	int fd;              /* -1: not connected */
	SSL *ssl;
	redisReader *rd;
};

static void *redis_open(const char *url, const char *ca_file, char *why, size_t n)
{
	struct redis_be *b = calloc(1, sizeof *b);
	if (!b) {
		snprintf(why, n, "out of memory");
		return NULL;
	}
	b->fd = -1;
	if (wamd_broker_redis_url(url, &b->a) != 0) {
		snprintf(why, n, "redis_url is not a redis[s]://[[user]:password@]host[:port][/db] URL");
		free(b);
		return NULL;
	}
	if (b->a.tls) {
		if ((ca_file && *ca_file && !(b->ca_file = strdup(ca_file))) ||
		    !(b->tls_ctx = SSL_CTX_new(TLS_client_method()))) {
			snprintf(why, n, "out of memory");
			goto fail;
		}
		SSL_CTX_set_min_proto_version(b->tls_ctx, TLS1_2_VERSION);
		/* there is no setting that turns the check off */
		SSL_CTX_set_verify(b->tls_ctx, SSL_VERIFY_PEER, NULL);
		if (b->ca_file ? SSL_CTX_load_verify_locations(b->tls_ctx, b->ca_file, NULL) != 1
			       : SSL_CTX_set_default_verify_paths(b->tls_ctx) != 1) {
			snprintf(why, n, "cannot load the CA certificates %s", b->ca_file ? b->ca_file : "of the system");
			goto fail;
		}
	}
	return b;
fail:
	SSL_CTX_free(b->tls_ctx);
	free(b->ca_file);
	explicit_bzero(b->a.pass, sizeof b->a.pass);
	free(b);
	return NULL;
}

static void be_disconnect(struct redis_be *b)
{
	if (b->ssl) {
		SSL_free(b->ssl); /* no close_notify: the connection is dropped or broken */
		b->ssl = NULL;
	}
	if (b->fd >= 0) {
		close(b->fd);
		b->fd = -1;
	}
	if (b->rd) {
		redisReaderFree(b->rd);
		b->rd = NULL;
	}
}

static void redis_close_be(void *be)
{
	struct redis_be *b = be;
	be_disconnect(b);
	SSL_CTX_free(b->tls_ctx);
	free(b->ca_file);
	explicit_bzero(b->a.pass, sizeof b->a.pass);
	free(b);
}

/* the first error OpenSSL queued, or the certificate check that failed */
static void tls_why(struct redis_be *b, char *why, size_t n, const char *what)
{
	long vr = b->ssl ? SSL_get_verify_result(b->ssl) : X509_V_OK;
	unsigned long e = ERR_get_error();
	if (vr != X509_V_OK)
		snprintf(why, n, "%s: certificate verify failed: %s", what, X509_verify_cert_error_string(vr));
	else if (e)
		snprintf(why, n, "%s: %s", what, ERR_reason_error_string(e) ? ERR_reason_error_string(e) : "TLS error");
	else
		snprintf(why, n, "%s: %s", what, errno ? strerror(errno) : "connection closed");
	ERR_clear_error();
}

/* A TCP connection within the time limit, then blocking with the same
 * limit on every send and receive. */
static int tcp_connect(struct redis_be *b, char *why, size_t n)
{
	char port[8];
	snprintf(port, sizeof port, "%d", b->a.port);
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res = NULL;
	int rc = getaddrinfo(b->a.host, port, &hints, &res);
	if (rc != 0) {
		snprintf(why, n, "cannot resolve %s: %s", b->a.host, gai_strerror(rc));
		return -1;
	}
	struct timeval tv = { .tv_sec = WAMD_BROKER_IO_TIMEOUT_S };
	int err = ECONNREFUSED;
	for (struct addrinfo *ai = res; ai && b->fd < 0; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		err = 0;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
			err = errno;
			if (err == EINPROGRESS) {
				struct pollfd p = { .fd = fd, .events = POLLOUT };
				int pr = poll(&p, 1, WAMD_BROKER_IO_TIMEOUT_S * 1000);
				socklen_t l = sizeof err;
				if (pr == 0)
					err = ETIMEDOUT;
				else if (pr < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) != 0)
					err = errno;
			}
		}
		int fl = fcntl(fd, F_GETFL);
		if (!err && (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0 ||
			     setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
			     setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0))
			err = errno;
		if (err)
			close(fd);
		else
			b->fd = fd;
	}
	freeaddrinfo(res);
	if (b->fd < 0) {
		snprintf(why, n, "cannot connect to %s:%d: %s", b->a.host, b->a.port, strerror(err));
		return -1;
	}
	return 0;
}

static int tls_start(struct redis_be *b, char *why, size_t n)
{
	ERR_clear_error();
	if (!(b->ssl = SSL_new(b->tls_ctx)) || SSL_set_fd(b->ssl, b->fd) != 1) {
		snprintf(why, n, "TLS: out of memory");
		return -1;
	}
	/* the certificate must name the host of the URL: a DNS name, or an
	 * IP address when the URL gives one */
	unsigned char ip[16];
	bool is_ip = inet_pton(AF_INET, b->a.host, ip) == 1 || inet_pton(AF_INET6, b->a.host, ip) == 1;
	X509_VERIFY_PARAM *vp = SSL_get0_param(b->ssl);
	if (is_ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, b->a.host) != 1
		  : SSL_set_tlsext_host_name(b->ssl, b->a.host) != 1 || SSL_set1_host(b->ssl, b->a.host) != 1) {
		snprintf(why, n, "TLS: cannot set the host name to verify");
		return -1;
	}
	errno = 0;
	if (SSL_connect(b->ssl) != 1) {
		char what[300];
		snprintf(what, sizeof what, "TLS handshake with %s:%d", b->a.host, b->a.port);
		tls_why(b, why, n, what);
		return -1;
	}
	return 0;
}

static int send_all(struct redis_be *b, const char *p, size_t len, char *why, size_t n)
{
	while (len > 0) {
		errno = 0;
		ssize_t w;
		if (b->ssl) {
			size_t done = 0;
			w = SSL_write_ex(b->ssl, p, len, &done) == 1 ? (ssize_t)done : -1;
		} else
			w = send(b->fd, p, len, MSG_NOSIGNAL);
		if (w < 0 && !b->ssl && errno == EINTR)
			continue;
		if (w <= 0) {
			if (b->ssl)
				tls_why(b, why, n, "send");
			else
				snprintf(why, n, "send: %s", errno == EAGAIN ? "timed out" : strerror(errno));
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Sends one command and waits for its reply (NULL with why on any error:
 * the caller drops the connection). */
static redisReply *command(struct redis_be *b, int argc, const char **argv, const size_t *lens, char *why, size_t n)
{
	char *cmd = NULL;
	int len = redisFormatCommandArgv(&cmd, argc, argv, lens);
	if (len < 0) {
		snprintf(why, n, "%s: out of memory", argv[0]);
		return NULL;
	}
	int rc = send_all(b, cmd, (size_t)len, why, n);
	redisFreeCommand(cmd);
	if (rc != 0)
		return NULL;
	for (;;) {
		void *reply = NULL;
		if (redisReaderGetReply(b->rd, &reply) != REDIS_OK) {
			snprintf(why, n, "%s: bad reply: %s", argv[0], b->rd->errstr);
			return NULL;
		}
		if (reply)
			return reply;
		char buf[4096];
		ssize_t r;
		errno = 0;
		if (b->ssl) {
			size_t got = 0;
			r = SSL_read_ex(b->ssl, buf, sizeof buf, &got) == 1 ? (ssize_t)got : -1;
		} else {
			do
				r = recv(b->fd, buf, sizeof buf, 0);
			while (r < 0 && errno == EINTR);
		}
		if (r <= 0) {
			char what[40];
			snprintf(what, sizeof what, "%s", argv[0]);
			if (b->ssl && !(errno == EAGAIN || errno == EWOULDBLOCK))
				tls_why(b, why, n, what);
			else
				snprintf(why, n, "%s: %s", what,
					 r == 0 ? "connection closed by the server"
						: errno == EAGAIN || errno == EWOULDBLOCK ? "no answer (timed out)" : strerror(errno));
			return NULL;
		}
		if (redisReaderFeed(b->rd, buf, (size_t)r) != REDIS_OK) {
			snprintf(why, n, "%s: out of memory", argv[0]);
			return NULL;
		}
	}
}

/* A reply that must be a status "OK" (AUTH, SELECT). */
static int command_ok(struct redis_be *b, char *why, size_t n, int argc, const char **argv)
{
	redisReply *r = command(b, argc, argv, NULL, why, n);
	if (!r)
		return -1;
	int rc = r->type == REDIS_REPLY_STATUS ? 0 : -1;
	if (rc != 0)
		snprintf(why, n, "%s: %s", argv[0], r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
	freeReplyObject(r);
	return rc;
}

static int be_connect(struct redis_be *b, char *why, size_t n)
{
	if (tcp_connect(b, why, n) != 0 || (b->a.tls && tls_start(b, why, n) != 0))
		goto fail;
	if (!(b->rd = redisReaderCreate())) {
		snprintf(why, n, "out of memory");
		goto fail;
	}
	if (b->a.pass[0]) {
		int rc = b->a.user[0] ? command_ok(b, why, n, 3, (const char *[]){ "AUTH", b->a.user, b->a.pass })
				      : command_ok(b, why, n, 2, (const char *[]){ "AUTH", b->a.pass });
		if (rc != 0)
			goto fail;
	}
	if (b->a.db) {
		char db[24];
		snprintf(db, sizeof db, "%ld", b->a.db);
		if (command_ok(b, why, n, 2, (const char *[]){ "SELECT", db }) != 0)
			goto fail;
	}
	LOGI("redis: connected to %s:%d%s", b->a.host, b->a.port,
	     b->a.tls ? " over TLS (certificate verified)" : "");
	return 0;
fail:
	be_disconnect(b);
	return -1;
}

static int redis_publish_job(void *be, struct wamd_bjob *j, bool *lost, char *why, size_t n)
{
	struct redis_be *b = be;
	*lost = false;
	/* the queued body is the JSON envelope: its event, instance and data */
	json_error_t jerr;
	json_t *env = json_loadb(j->body, j->body_len, 0, &jerr);
	const char *event = json_string_value(json_object_get(env, "event"));
	const char *instance = json_string_value(json_object_get(env, "instance"));
	char *data = env ? json_dumps(json_object_get(env, "data"), JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	if (!event || !instance || !data) {
		/* never happens with what wamd_emit queues; retried like any
		 * failure rather than dropped */
		snprintf(why, n, "queued event is not an envelope");
		json_decref(env);
		free(data);
		return -1;
	}
	int rc = -1;
	if (b->fd < 0 && be_connect(b, why, n) != 0) {
		*lost = true;
		goto out;
	}
	char maxlen[24];
	snprintf(maxlen, sizeof maxlen, "%ld", j->maxlen);
	const char *argv[12];
	size_t lens[12];
	int argc = 0;
	argv[argc++] = "XADD";
	argv[argc++] = j->exchange;
	if (j->maxlen > 0) {
		argv[argc++] = "MAXLEN";
		argv[argc++] = "~";
		argv[argc++] = maxlen;
	}
	argv[argc++] = "*";
	argv[argc++] = "event";
	argv[argc++] = event;
	argv[argc++] = "instance";
	argv[argc++] = instance;
	argv[argc++] = "data";
	argv[argc++] = data;
	for (int i = 0; i < argc; i++)
		lens[i] = strlen(argv[i]);
	redisReply *r = command(b, argc, argv, lens, why, n);
	if (!r) {
		be_disconnect(b);
		*lost = true;
		goto out;
	}
	if (r->type == REDIS_REPLY_STRING)
		rc = 0;
	else
		snprintf(why, n, "XADD: %s", r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
	freeReplyObject(r);
out:
	json_decref(env);
	free(data);
	return rc;
}

const struct wamd_bbackend wamd_bbackend_redis = {
	.name = "redis",
	.open = redis_open,
	.publish = redis_publish_job,
	.close = redis_close_be,
};
