/* Between the broker outputs on the loop (wamd_broker.c) and the client
 * libraries that speak to the brokers (wamd_broker_amqp.c: rabbitmq-c,
 * wamd_broker_redis.c: hiredis). Both client libraries are used through
 * their blocking calls, on one publisher thread per broker: a backend's
 * functions run on that thread only. */
#ifndef WAMD_BROKER_H
#define WAMD_BROKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One publish: built on the loop, done on the publisher thread, its
 * outcome handed back to the loop. */
struct wamd_bjob {
	struct wamd_bjob *next;
	int64_t instance_id;
	int target;
	int64_t row_id;
	/* AMQP: exchange, queue bound to it with routing_key, message body.
	 * Redis: stream key in exchange; the body's event, instance and data
	 * become the entry's fields. */
	char *exchange;
	char *queue;
	char *routing_key;
	char *body;
	size_t body_len;
	long maxlen;                 /* Redis: MAXLEN ~ (0: none) */
	/* outcome */
	bool ok;
	bool permanent;              /* refused for good (see wamd_broker_amqp.c): dead, not retried */
	char why[200];
};

struct wamd_bbackend {
	const char *name; /* "rabbitmq", "redis" (logs, metrics) */
	/* url: the configured URI; ca_file: PEM CA certificates a TLS
	 * broker's certificate must chain to (NULL: the system's); NULL with
	 * why on a malformed or unsupported URI */
	void *(*open)(const char *url, const char *ca_file, char *why, size_t n);
	/* Connects if needed, publishes and waits for the broker's
	 * confirmation. 0 on confirmation; else -1 with why, and *lost set
	 * when the connection is gone (the next publish reconnects). */
	int (*publish)(void *be, struct wamd_bjob *j, bool *lost, char *why, size_t n);
	void (*close)(void *be);
};

#ifdef WAMD_HAVE_AMQP
extern const struct wamd_bbackend wamd_bbackend_amqp;
#endif
#ifdef WAMD_HAVE_REDIS
extern const struct wamd_bbackend wamd_bbackend_redis;
#endif

/* Seconds the backends wait for a connect or a broker's answer before
 * they count the attempt failed and drop the connection. */
#define WAMD_BROKER_IO_TIMEOUT_S 10

#endif
