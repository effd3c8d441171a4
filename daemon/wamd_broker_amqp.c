/* RabbitMQ (AMQP 0-9-1) through rabbitmq-c, on the publisher thread of
 * wamd_broker.c. One connection, channel 1 in confirm mode: a publish
 * counts only once the broker acked it (basic.ack with its delivery tag).
 * Before the first publish to a queue the exchange and queue are declared
 * as Evolution declares them (a durable topic exchange, a durable quorum
 * queue bound with the routing key); messages are persistent JSON. Any
 * error drops the connection: the next publish reconnects and declares
 * again. A channel closed for a reason that retrying cannot change (406
 * PRECONDITION_FAILED: a queue declared elsewhere with other arguments;
 * 403, 404) marks the job permanent: wamd_broker.c moves it to the dead
 * rows instead of blocking the lane. Every wait is bounded (WAMD_BROKER_IO_TIMEOUT_S). amqps:// is TLS
 * (rabbitmq-c's OpenSSL socket) with the certificate and host name always
 * verified, against amqp_ca_file or the system's CAs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <amqp.h>
#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>
#include <openssl/ssl.h>

#include "wamd.h"
#include "wamd_broker.h"

struct declared {
	struct declared *next;
	char key[]; /* "<exchange>\n<queue>\n<routing key>" */
};

struct amqp_be {
	char *url;               /* the URI as configured (amqp_parse_url cuts a copy) */
	char *ca_file;           /* amqps://: the CAs to trust; NULL: the system's */
	amqp_connection_state_t conn;
	uint64_t next_tag;       /* delivery tag of the next publish */
	struct declared *declared;
};

static void be_disconnect(struct amqp_be *b)
{
	if (b->conn) {
		amqp_connection_close(b->conn, AMQP_REPLY_SUCCESS);
		amqp_destroy_connection(b->conn);
		b->conn = NULL;
	}
	for (struct declared *p = b->declared, *n; p; p = n) {
		n = p->next;
		free(p);
	}
	b->declared = NULL;
}

static void *amqp_open(const char *url, const char *ca_file, char *why, size_t n)
{
	struct amqp_connection_info ci;
	char *copy = strdup(url);
	if (!copy || amqp_parse_url(copy, &ci) != AMQP_STATUS_OK) {
		snprintf(why, n, "amqp_uri is not an amqp://user:password@host:port/vhost URI");
		free(copy);
		return NULL;
	}
	free(copy);
	struct amqp_be *b = calloc(1, sizeof *b);
	if (!b || !(b->url = strdup(url)) || (ca_file && *ca_file && !(b->ca_file = strdup(ca_file)))) {
		if (b)
			free(b->url);
		free(b);
		snprintf(why, n, "out of memory");
		return NULL;
	}
	return b;
}

static void amqp_close_be(void *be)
{
	struct amqp_be *b = be;
	be_disconnect(b);
	explicit_bzero(b->url, strlen(b->url)); /* holds the password */
	free(b->url);
	free(b->ca_file);
	free(b);
}

/* A channel closed with one of these refuses this publish for good (its
 * exchange or queue exists with other properties or arguments, access is
 * refused, a name does not exist): retrying the same event cannot succeed.
 * Everything else (connection errors, timeouts, a nack, a connection
 * closed by the broker) may pass later. */
static bool permanent_code(unsigned code)
{
	return code == AMQP_ACCESS_REFUSED || code == AMQP_NOT_FOUND || code == AMQP_PRECONDITION_FAILED;
}

static int reply_ok(amqp_rpc_reply_t r, const char *what, char *why, size_t n, bool *permanent)
{
	switch (r.reply_type) {
	case AMQP_RESPONSE_NORMAL:
		return 0;
	case AMQP_RESPONSE_LIBRARY_EXCEPTION:
		snprintf(why, n, "%s: %s", what, amqp_error_string2(r.library_error));
		return -1;
	case AMQP_RESPONSE_SERVER_EXCEPTION:
		if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
			amqp_connection_close_t *m = r.reply.decoded;
			snprintf(why, n, "%s: connection closed by the broker: %u %.*s", what, m->reply_code,
				 (int)m->reply_text.len, (const char *)m->reply_text.bytes);
		} else if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
			amqp_channel_close_t *m = r.reply.decoded;
			snprintf(why, n, "%s: channel closed by the broker: %u %.*s", what, m->reply_code,
				 (int)m->reply_text.len, (const char *)m->reply_text.bytes);
			if (permanent && permanent_code(m->reply_code))
				*permanent = true;
		} else
			snprintf(why, n, "%s: broker error (method %08x)", what, r.reply.id);
		return -1;
	default:
		snprintf(why, n, "%s: no answer", what);
		return -1;
	}
}

static int be_connect(struct amqp_be *b, char *why, size_t n)
{
	struct amqp_connection_info ci;
	char *copy = strdup(b->url);
	if (!copy || amqp_parse_url(copy, &ci) != AMQP_STATUS_OK) {
		free(copy);
		snprintf(why, n, "bad amqp_uri");
		return -1;
	}
	/* "amqp://host/" names the vhost "", which no broker has: take it
	 * as the default vhost, as "amqp://host" is */
	if (!ci.vhost || !*ci.vhost)
		ci.vhost = "/";
	struct timeval tv = { .tv_sec = WAMD_BROKER_IO_TIMEOUT_S };
	int rc = -1;
	b->conn = amqp_new_connection();
	amqp_socket_t *s = !b->conn ? NULL : ci.ssl ? amqp_ssl_socket_new(b->conn) : amqp_tcp_socket_new(b->conn);
	if (!s) {
		snprintf(why, n, "out of memory");
		goto out;
	}
	if (ci.ssl) {
		/* the broker's certificate must chain to a trusted CA and name the
		 * host of the URI; there is no setting to turn that off */
		amqp_ssl_socket_set_verify_peer(s, 1);
		amqp_ssl_socket_set_verify_hostname(s, 1);
		if (b->ca_file ? amqp_ssl_socket_set_cacert(s, b->ca_file) != AMQP_STATUS_OK
			       : SSL_CTX_set_default_verify_paths(amqp_ssl_socket_get_context(s)) != 1) {
			snprintf(why, n, "cannot load the CA certificates %s", b->ca_file ? b->ca_file : "of the system");
			goto out;
		}
	}
	amqp_set_rpc_timeout(b->conn, &tv);
	amqp_set_handshake_timeout(b->conn, &tv);
	int st = amqp_socket_open_noblock(s, ci.host, ci.port, &tv);
	if (st != AMQP_STATUS_OK) {
		snprintf(why, n, "cannot connect to %s:%d%s: %s", ci.host, ci.port, ci.ssl ? " (TLS)" : "",
			 amqp_error_string2(st));
		goto out;
	}
	if (reply_ok(amqp_login(b->conn, ci.vhost, 0, AMQP_DEFAULT_FRAME_SIZE, 0, AMQP_SASL_METHOD_PLAIN, ci.user,
				ci.password),
		     "login", why, n, NULL) != 0)
		goto out;
	amqp_channel_open(b->conn, 1);
	if (reply_ok(amqp_get_rpc_reply(b->conn), "channel.open", why, n, NULL) != 0)
		goto out;
	amqp_confirm_select(b->conn, 1);
	if (reply_ok(amqp_get_rpc_reply(b->conn), "confirm.select", why, n, NULL) != 0)
		goto out;
	b->next_tag = 1;
	LOGI("rabbitmq: connected to %s:%d%s vhost %s", ci.host, ci.port, ci.ssl ? " over TLS (certificate verified)" : "",
	     ci.vhost);
	rc = 0;
out:
	explicit_bzero(copy, strlen(b->url));
	free(copy);
	if (rc != 0)
		be_disconnect(b);
	return rc;
}

static int declare(struct amqp_be *b, struct wamd_bjob *j, char *why, size_t n)
{
	size_t kl = strlen(j->exchange) + strlen(j->queue) + strlen(j->routing_key) + 3;
	char *want = malloc(kl);
	if (!want) {
		snprintf(why, n, "out of memory");
		return -1;
	}
	snprintf(want, kl, "%s\n%s\n%s", j->exchange, j->queue, j->routing_key);
	for (struct declared *p = b->declared; p; p = p->next)
		if (!strcmp(p->key, want)) {
			free(want);
			return 0;
		}
	free(want);
	amqp_exchange_declare(b->conn, 1, amqp_cstring_bytes(j->exchange), amqp_cstring_bytes("topic"), 0, 1, 0, 0,
			      amqp_empty_table);
	if (reply_ok(amqp_get_rpc_reply(b->conn), "exchange.declare", why, n, &j->permanent) != 0)
		return -1;
	amqp_table_entry_t qt = { .key = amqp_cstring_bytes("x-queue-type"),
				  .value = { .kind = AMQP_FIELD_KIND_UTF8,
					     .value = { .bytes = amqp_cstring_bytes("quorum") } } };
	amqp_table_t args = { .num_entries = 1, .entries = &qt };
	amqp_queue_declare(b->conn, 1, amqp_cstring_bytes(j->queue), 0, 1, 0, 0, args);
	if (reply_ok(amqp_get_rpc_reply(b->conn), "queue.declare", why, n, &j->permanent) != 0)
		return -1;
	amqp_queue_bind(b->conn, 1, amqp_cstring_bytes(j->queue), amqp_cstring_bytes(j->exchange),
			amqp_cstring_bytes(j->routing_key), amqp_empty_table);
	if (reply_ok(amqp_get_rpc_reply(b->conn), "queue.bind", why, n, &j->permanent) != 0)
		return -1;
	struct declared *p = malloc(sizeof *p + kl);
	if (p) {
		snprintf(p->key, kl, "%s\n%s\n%s", j->exchange, j->queue, j->routing_key);
		p->next = b->declared;
		b->declared = p;
	}
	return 0;
}

/* Waits for the broker's ack (or nack) of tag. */
static int wait_confirm(struct amqp_be *b, uint64_t tag, bool *permanent, char *why, size_t n)
{
	struct timeval deadline, now;
	gettimeofday(&deadline, NULL);
	deadline.tv_sec += WAMD_BROKER_IO_TIMEOUT_S;
	for (;;) {
		gettimeofday(&now, NULL);
		struct timeval left;
		timersub(&deadline, &now, &left);
		if (left.tv_sec < 0) {
			snprintf(why, n, "no publisher confirm within %d s", WAMD_BROKER_IO_TIMEOUT_S);
			return -1;
		}
		amqp_frame_t f;
		amqp_maybe_release_buffers(b->conn);
		int st = amqp_simple_wait_frame_noblock(b->conn, &f, &left);
		if (st == AMQP_STATUS_TIMEOUT)
			continue;
		if (st != AMQP_STATUS_OK) {
			snprintf(why, n, "waiting for the confirm: %s", amqp_error_string2(st));
			return -1;
		}
		if (f.frame_type != AMQP_FRAME_METHOD)
			continue;
		switch (f.payload.method.id) {
		case AMQP_BASIC_ACK_METHOD: {
			amqp_basic_ack_t *a = f.payload.method.decoded;
			if (a->delivery_tag == tag || (a->multiple && a->delivery_tag >= tag))
				return 0;
			continue; /* an earlier one (not expected: one publish at a time) */
		}
		case AMQP_BASIC_NACK_METHOD: {
			amqp_basic_nack_t *a = f.payload.method.decoded;
			if (a->delivery_tag == tag || (a->multiple && a->delivery_tag >= tag)) {
				snprintf(why, n, "the broker refused the message (basic.nack)");
				return -1;
			}
			continue;
		}
		case AMQP_CHANNEL_CLOSE_METHOD: {
			amqp_channel_close_t *m = f.payload.method.decoded;
			snprintf(why, n, "publish: channel closed by the broker: %u %.*s", m->reply_code,
				 (int)m->reply_text.len, (const char *)m->reply_text.bytes);
			*permanent = permanent_code(m->reply_code);
			return -1;
		}
		case AMQP_CONNECTION_CLOSE_METHOD:
			snprintf(why, n, "the broker closed the connection");
			return -1;
		default:
			continue;
		}
	}
}

static int amqp_publish_job(void *be, struct wamd_bjob *j, bool *lost, char *why, size_t n)
{
	struct amqp_be *b = be;
	*lost = false;
	if (!b->conn && be_connect(b, why, n) != 0) {
		*lost = true;
		return -1;
	}
	if (declare(b, j, why, n) != 0)
		goto drop;
	amqp_basic_properties_t props;
	memset(&props, 0, sizeof props);
	props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
	props.content_type = amqp_cstring_bytes("application/json");
	props.delivery_mode = AMQP_DELIVERY_PERSISTENT;
	amqp_bytes_t body = { .len = j->body_len, .bytes = j->body };
	int st = amqp_basic_publish(b->conn, 1, amqp_cstring_bytes(j->exchange), amqp_cstring_bytes(j->routing_key), 0,
				    0, &props, body);
	uint64_t tag = b->next_tag++;
	if (st != AMQP_STATUS_OK) {
		snprintf(why, n, "publish: %s", amqp_error_string2(st));
		goto drop;
	}
	if (wait_confirm(b, tag, &j->permanent, why, n) != 0)
		goto drop;
	return 0;
drop:
	/* a closed channel or a lost confirm leaves the connection unusable
	 * or out of step: start over */
	be_disconnect(b);
	*lost = true;
	return -1;
}

const struct wamd_bbackend wamd_bbackend_amqp = {
	.name = "rabbitmq",
	.open = amqp_open,
	.publish = amqp_publish_job,
	.close = amqp_close_be,
};
